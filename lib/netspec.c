/* netspec.c — network specifications: the inputs, the loss, layers added one
 * by one and keyed settings per layer or for the whole network. A spec is a
 * growable array of layer descriptions; nn_net_create copies what it needs,
 * so the caller never allocates anything the library indexes. */
#include "nn_private.h"

#include <string.h>

struct nn_netspec {
    nn_allocator al;
    nn__net_desc d;
    size_t cap;             /* layers the array holds */
    nn__layer_desc *layers; /* d.layers points here */
};

/* The defaults of a new layer's settings (as documented at the keys). */
static const double DEFAULT_SLOPE = 0.01;

static bool loss_valid(nn_loss loss)
{
    return loss >= NN_LOSS_MSE && loss <= NN_LOSS_SOFTMAX_CE;
}

nn_status nn_netspec_create(nn_netspec_t **out, size_t n_in, nn_loss loss,
                            const nn_allocator *alloc)
{
    if (!out || n_in == 0 || !loss_valid(loss)) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    if (!nn__fits_blas(n_in)) return NN_ERR_TOO_LARGE;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_netspec_t *s = nn__alloc(&al, sizeof *s);
    if (!s) return NN_ERR_NOMEM;
    *s = (nn_netspec_t){.al = al};
    s->d = (nn__net_desc){.n_in = n_in, .loss = loss,
                          .reduction = NN_REDUCE_MEAN};
    *out = s;
    return NN_OK;
}

void nn_netspec_destroy(nn_netspec_t *s)
{
    if (!s) return;
    nn_allocator al = s->al;
    nn__free(&al, s->layers, s->cap * sizeof(nn__layer_desc));
    nn__free(&al, s, sizeof *s);
}

/* Room for one more layer: the array doubles, the old one is released only
 * after the new one exists (a failure leaves the spec as it was). */
static nn_status grow(nn_netspec_t *s)
{
    if (s->d.n_layers < s->cap) return NN_OK;
    size_t cap = s->cap ? 2 * s->cap : 4, bytes;
    if (!nn__mul(cap, sizeof(nn__layer_desc), &bytes)) return NN_ERR_TOO_LARGE;
    nn__layer_desc *p = nn__alloc(&s->al, bytes);
    if (!p) return NN_ERR_NOMEM;
    if (s->d.n_layers)
        memcpy(p, s->layers, s->d.n_layers * sizeof(nn__layer_desc));
    nn__free(&s->al, s->layers, s->cap * sizeof(nn__layer_desc));
    s->layers = p;
    s->d.layers = p;
    s->cap = cap;
    return NN_OK;
}

/* Shape of a new layer: its input width is the previous layer's output. */
static nn_status check_new_layer(const nn_netspec_t *s, size_t n_out,
                                 nn_activation act)
{
    size_t n_in = s->d.n_layers ? s->layers[s->d.n_layers - 1].n_out
                                : s->d.n_in;
    return nn__check_layer_shape(n_in, n_out, act, DEFAULT_SLOPE);
}

nn_status nn_netspec_add_dense(nn_netspec_t *s, size_t n_out,
                               nn_activation act)
{
    if (!s) return NN_ERR_INVALID;
    nn_status st = check_new_layer(s, n_out, act);
    if (!st) st = grow(s);
    if (st) return st;
    s->layers[s->d.n_layers++] = (nn__layer_desc){
        .n_out = n_out, .kind = NN_LAYER_DENSE, .act = act,
        .slope = DEFAULT_SLOPE, .dropout = 0.0};
    return NN_OK;
}

size_t nn_netspec_n_layers(const nn_netspec_t *s) { return s ? s->d.n_layers : 0; }

static nn_status set_net_int(nn__net_desc *d, int32_t key, int64_t v)
{
    /* the dropout position is a network's running state, not a design */
    if (key == NN_NET_DROPOUT_STEP || key == NN_NET_DROPOUT_ROW0)
        return NN_ERR_INVALID;
    nn_status st = nn__param_check_int(NN_NET_LOSS, key, v);
    if (st) return st;
    if (key == NN_NET_REDUCTION) d->reduction = (int32_t)v;
    else if (key == NN_NET_CHECK_FINITE) d->check_finite = (int32_t)v;
    else d->dropout_seed = (uint64_t)v; /* NN_NET_DROPOUT_SEED */
    return NN_OK;
}

nn_status nn_netspec_set_int(nn_netspec_t *s, size_t layer, int32_t key,
                             int64_t value)
{
    if (!s) return NN_ERR_INVALID;
    if (layer == NN_NET_WIDE) return set_net_int(&s->d, key, value);
    if (layer >= s->d.n_layers) return NN_ERR_INVALID;
    nn_status st = nn__param_check_int(NN_LAYER_KIND, key, value);
    if (st) return st;
    /* the only writable integer layer key: the activation, which must suit
     * the layer's width (softmax needs two units) */
    nn__layer_desc *L = &s->layers[layer];
    size_t n_in = layer ? s->layers[layer - 1].n_out : s->d.n_in;
    st = nn__check_layer_shape(n_in, L->n_out, (int32_t)value, L->slope);
    if (st) return st;
    L->act = (int32_t)value;
    return NN_OK;
}

nn_status nn_netspec_set_real(nn_netspec_t *s, size_t layer, int32_t key,
                              double value)
{
    if (!s || layer >= s->d.n_layers) return NN_ERR_INVALID;
    nn_status st = nn__param_check_real(NN_LAYER_KIND, key, value);
    if (st) return st;
    if (key == NN_LAYER_ACT_PARAM) s->layers[layer].slope = value;
    else s->layers[layer].dropout = value; /* NN_LAYER_DROPOUT */
    return NN_OK;
}

void nn__netspec_desc(const nn_netspec_t *s, nn__net_desc *d) { *d = s->d; }

/* The spec of an existing network: its layers and current settings. */
nn_status nn_netspec_from_net(nn_netspec_t **out, const nn_net_t *net,
                              const nn_allocator *alloc)
{
    if (!out || !net) return NN_ERR_INVALID;
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, nn_net_n_in(net),
                                     nn__net_loss_kind(net), alloc);
    for (size_t l = 0; !st && l < nn_net_n_layers(net); l++) {
        const nn_layer *L = nn__net_layer(net, l, NULL);
        st = nn_netspec_add_dense(s, L->n_out, L->act);
        if (!st) {
            s->layers[l].slope = L->slope;
            s->layers[l].dropout = L->dropout;
        }
    }
    if (st) {
        nn_netspec_destroy(s);
        return st;
    }
    uint64_t seed, step;
    nn__net_get_drop_state(net, &seed, &step);
    s->d.reduction = nn__net_reduction(net);
    s->d.check_finite = nn__net_check_finite(net);
    s->d.dropout_seed = seed;
    *out = s;
    return NN_OK;
}
