/* net.c — a network: a stack of dense layers with an output loss, its
 * settings, the gradient seam, and the forward / loss / backward passes of
 * training (inference on a const network is in ctx.c).
 *
 * Memory: one block holds the struct, the layer table, all parameters (flat,
 * layer by layer: W then b) and all gradients (same layout). The training
 * workspace is a training context (ctx.c) owned by the network, sized by
 * nn_net_reserve: each layer's output, two gradient buffers used in turn by
 * the backward pass, and per dropout layer its mask M_l (0 or 1/(1-p)) and
 * dropped output D_l = A_l o M_l. Nothing is allocated per step. */
#include "nn_private.h"

#include <math.h>
#include <string.h>

struct nn_net {
    nn_allocator al;
    size_t block_bytes;
    size_t n_in, n_layers, n_params;
    uint64_t drop_seed;    /* NN_NET_DROPOUT_SEED, as last set   */
    uint64_t drop_step;    /* NN_NET_DROPOUT_STEP: passes drawn  */
    uint64_t drop_row0;    /* NN_NET_DROPOUT_ROW0                */
    nn_loss loss;
    int32_t reduction;     /* NN_REDUCE_MEAN / NN_REDUCE_SUM     */
    bool check_finite;
    bool have_grad;        /* the gradient array is current      */
    nn_layer *layers;
    double *params, *grads;
    nn_ctx_t *train;       /* training workspace, or NULL        */
    uint64_t shape_id;     /* nn__net_shape_id, made once        */
    nn_scaler_t *scalers[2]; /* NN_SCALER_INPUT, NN_SCALER_TARGET */
};

/* ------------------------------------------------------------ creation */
/* BCE is computed from sigmoid logits and softmax CE from softmax logits. */
static bool loss_fits_output(nn_loss loss, nn_activation out_act)
{
    if (loss == NN_LOSS_BCE) return out_act == NN_ACT_SIGMOID;
    if (loss == NN_LOSS_SOFTMAX_CE) return out_act == NN_ACT_SOFTMAX;
    return true;
}

/* Validate the architecture as a whole (each layer was checked when it was
 * added to the spec) and count the parameters. */
static nn_status check_desc(const nn__net_desc *d, size_t *n_params)
{
    if (d->n_layers == 0) return NN_ERR_INVALID;
    size_t prev = d->n_in, np = 0;
    for (size_t l = 0; l < d->n_layers; l++) {
        const nn__layer_desc *s = &d->layers[l];
        nn_status st = nn__check_layer_shape(prev, s->n_out, s->act, s->slope);
        if (st) return st;
        if (l + 1 == d->n_layers && s->dropout != 0.0) return NN_ERR_INVALID;
        /* prev*n_out is known not to overflow from the shape check */
        if (!nn__add(np, prev * s->n_out, &np) || !nn__add(np, s->n_out, &np))
            return NN_ERR_TOO_LARGE;
        prev = s->n_out;
    }
    if (!loss_fits_output(d->loss, d->layers[d->n_layers - 1].act))
        return NN_ERR_INVALID;
    *n_params = np;
    return NN_OK;
}

static nn_status block_size(size_t n_layers, size_t n_params, size_t *bytes)
{
    size_t table, values;
    if (!nn__mul(n_layers, sizeof(nn_layer), &table) ||
        !nn__add(n_params, n_params, &values) ||
        !nn__add(values, NN_GRAD_SPARE, &values) ||
        !nn__mul(values, sizeof(double), &values) ||
        !nn__add(table, values, bytes) ||
        !nn__add(*bytes, sizeof(struct nn_net), bytes))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

/* A fingerprint of the architecture's shapes (n_in, then each layer's n_out;
 * FNV-1a): optimizers and contexts keep it to recognise the networks they
 * fit, since two networks can have the same parameter count and different
 * layouts. */
static uint64_t shape_fingerprint(const nn_net_t *net)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (uint64_t)net->n_in) * 0x100000001b3ull;
    for (size_t l = 0; l < net->n_layers; l++)
        h = (h ^ (uint64_t)net->layers[l].n_out) * 0x100000001b3ull;
    return h;
}

/* Point each layer at its slice of the flat parameter and gradient arrays. */
static void lay_out(nn_net_t *net, const nn__layer_desc *specs)
{
    size_t prev = net->n_in, off = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t n = specs[l].n_out, nw = prev * n;
        net->layers[l] = (nn_layer){.n_in = prev, .n_out = n,
                                    .act = specs[l].act,
                                    .slope = specs[l].slope,
                                    .dropout = specs[l].dropout,
                                    .W = net->params + off,
                                    .b = net->params + off + nw,
                                    .dW = net->grads + off,
                                    .db = net->grads + off + nw};
        off += nw + n;
        prev = n;
    }
}

/* Setting the seed starts the mask stream over (rng.c keys the masks so
 * that they never repeat the weights' draws, even for equal seeds). */
static void seed_dropout(nn_net_t *net, uint64_t seed)
{
    net->drop_seed = seed;
    net->drop_step = 0;
}

/* The one block of a network described by d (checked), with zero params. */
static nn_status net_alloc(nn_net_t **out, const nn__net_desc *d,
                           const nn_allocator *al)
{
    size_t np, bytes;
    nn_status st = check_desc(d, &np);
    if (!st) st = block_size(d->n_layers, np, &bytes);
    if (st) return st;
    nn_net_t *net = nn__alloc(al, bytes);
    if (!net) return NN_ERR_NOMEM;
    memset(net, 0, bytes);
    net->al = *al;
    net->block_bytes = bytes;
    net->n_in = d->n_in;
    net->n_layers = d->n_layers;
    net->n_params = np;
    net->loss = d->loss;
    net->reduction = d->reduction;
    net->check_finite = d->check_finite != 0;
    net->layers = (nn_layer *)(net + 1);
    net->params = (double *)(net->layers + d->n_layers);
    net->grads = net->params + np;
    lay_out(net, d->layers);
    net->shape_id = shape_fingerprint(net);
    seed_dropout(net, d->dropout_seed);
    *out = net;
    return NN_OK;
}

nn_status nn_net_create(nn_net_t **out, const nn_netspec_t *spec,
                        const nn_allocator *alloc)
{
    if (!out || !spec) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn__net_desc d;
    nn__netspec_desc(spec, &d);
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_net_t *net;
    nn_status st = net_alloc(&net, &d, &al);
    if (st) return st;
    nn_rng r;
    nn__rng_seed(&r, 0);
    for (size_t l = 0; l < net->n_layers; l++) /* the default cannot fail */
        (void)nn__init_layer(&net->layers[l], NN_INIT_DEFAULT, &r, &net->al);
    *out = net;
    return NN_OK;
}

/* The spec-shaped description of an existing network, for cloning. */
static void desc_of(const nn_net_t *net, nn__layer_desc *ls,
                    nn__net_desc *d)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        const nn_layer *L = &net->layers[l];
        ls[l] = (nn__layer_desc){.n_out = L->n_out, .kind = NN_LAYER_DENSE,
                                 .act = L->act, .slope = L->slope,
                                 .dropout = L->dropout};
    }
    *d = (nn__net_desc){.n_in = net->n_in, .n_layers = net->n_layers,
                        .loss = net->loss, .reduction = net->reduction,
                        .check_finite = net->check_finite,
                        .dropout_seed = net->drop_seed, .layers = ls};
}

static nn_status clone_scalers(nn_net_t *dst, const nn_net_t *src)
{
    for (int i = 0; i < 2; i++)
        if (src->scalers[i]) {
            nn_status st = nn__scaler_clone(&dst->scalers[i], src->scalers[i],
                                            &dst->al);
            if (st) return st;
        }
    return NN_OK;
}

nn_status nn_net_clone(nn_net_t **out, const nn_net_t *net,
                       const nn_allocator *alloc)
{
    if (!out || !net) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    size_t table;
    if (!nn__mul(net->n_layers, sizeof(nn__layer_desc), &table))
        return NN_ERR_TOO_LARGE;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn__layer_desc *ls = nn__alloc(&al, table);
    if (!ls) return NN_ERR_NOMEM;
    nn__net_desc d;
    desc_of(net, ls, &d);
    nn_net_t *c = NULL;
    nn_status st = net_alloc(&c, &d, &al);
    nn__free(&al, ls, table);
    if (!st) st = clone_scalers(c, net);
    if (st) {
        nn_net_destroy(c);
        return st;
    }
    memcpy(c->params, net->params, 2 * net->n_params * sizeof(double));
    c->drop_step = net->drop_step;
    c->drop_row0 = net->drop_row0;
    c->have_grad = net->have_grad;
    *out = c;
    return NN_OK;
}

void nn_net_destroy(nn_net_t *net)
{
    if (!net) return;
    nn_allocator al = net->al;
    nn_ctx_destroy(net->train);
    nn_scaler_destroy(net->scalers[0]);
    nn_scaler_destroy(net->scalers[1]);
    nn__free(&al, net, net->block_bytes);
}

/* ------------------------------------------------------------ queries */
static const nn_layer *layer_at(const nn_net_t *net, size_t l)
{
    return net && l < net->n_layers ? &net->layers[l] : NULL;
}

size_t nn_net_n_in(const nn_net_t *net) { return net ? net->n_in : 0; }
size_t nn_net_n_layers(const nn_net_t *net) { return net ? net->n_layers : 0; }
size_t nn_net_n_params(const nn_net_t *net) { return net ? net->n_params : 0; }

size_t nn_net_n_out(const nn_net_t *net)
{
    return net ? net->layers[net->n_layers - 1].n_out : 0;
}

size_t nn_net_layer_n_in(const nn_net_t *net, size_t l)
{
    const nn_layer *L = layer_at(net, l);
    return L ? L->n_in : 0;
}

size_t nn_net_layer_n_out(const nn_net_t *net, size_t l)
{
    const nn_layer *L = layer_at(net, l);
    return L ? L->n_out : 0;
}

/* ------------------------------------------------------------ settings */
nn_status nn_net_set_int(nn_net_t *net, int32_t key, int64_t value)
{
    if (!net) return NN_ERR_INVALID;
    nn_status st = nn__param_check_int(NN_NET_LOSS, key, value);
    if (st) return st;
    if (key == NN_NET_REDUCTION) net->reduction = (int32_t)value;
    else if (key == NN_NET_CHECK_FINITE) net->check_finite = value != 0;
    else if (key == NN_NET_DROPOUT_STEP) net->drop_step = (uint64_t)value;
    else if (key == NN_NET_DROPOUT_ROW0) net->drop_row0 = (uint64_t)value;
    else seed_dropout(net, (uint64_t)value); /* NN_NET_DROPOUT_SEED */
    return NN_OK;
}

nn_status nn_net_get_int(const nn_net_t *net, int32_t key, int64_t *value)
{
    if (!net || !value) return NN_ERR_INVALID;
    switch (key) {
    case NN_NET_LOSS: *value = net->loss; return NN_OK;
    case NN_NET_REDUCTION: *value = net->reduction; return NN_OK;
    case NN_NET_CHECK_FINITE: *value = net->check_finite; return NN_OK;
    case NN_NET_DROPOUT_SEED: *value = (int64_t)net->drop_seed; return NN_OK;
    case NN_NET_DROPOUT_STEP: *value = (int64_t)net->drop_step; return NN_OK;
    case NN_NET_DROPOUT_ROW0: *value = (int64_t)net->drop_row0; return NN_OK;
    }
    return NN_ERR_INVALID;
}

nn_status nn_net_get_layer_int(const nn_net_t *net, size_t l, int32_t key,
                               int64_t *value)
{
    const nn_layer *L = layer_at(net, l);
    if (!L || !value) return NN_ERR_INVALID;
    switch (key) {
    case NN_LAYER_KIND: *value = NN_LAYER_DENSE; return NN_OK;
    case NN_LAYER_UNITS: *value = (int64_t)L->n_out; return NN_OK;
    case NN_LAYER_ACTIVATION: *value = L->act; return NN_OK;
    }
    return NN_ERR_INVALID;
}

nn_status nn_net_get_layer_real(const nn_net_t *net, size_t l, int32_t key,
                                double *value)
{
    const nn_layer *L = layer_at(net, l);
    if (!L || !value) return NN_ERR_INVALID;
    switch (key) {
    case NN_LAYER_ACT_PARAM: *value = L->slope; return NN_OK;
    case NN_LAYER_DROPOUT: *value = L->dropout; return NN_OK;
    }
    return NN_ERR_INVALID;
}

nn_status nn_net_init(nn_net_t *net, nn_init init, uint64_t seed)
{
    if (!net || !nn__init_valid(init)) return NN_ERR_INVALID;
    nn_rng r;
    nn__rng_seed(&r, seed);
    /* Only the orthogonal scheme can fail (scratch memory, LAPACK); for it,
     * keep a copy of the parameters so that a failed call changes nothing. */
    double *backup = NULL;
    size_t backup_bytes = net->n_params * sizeof(double);
    if (init == NN_INIT_ORTHOGONAL) {
        backup = nn__alloc(&net->al, backup_bytes);
        if (!backup) return NN_ERR_NOMEM;
        memcpy(backup, net->params, backup_bytes);
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        nn_status st = nn__init_layer(&net->layers[l], init, &r, &net->al);
        if (st != NN_OK) {
            if (backup) memcpy(net->params, backup, backup_bytes);
            nn__free(&net->al, backup, backup_bytes);
            return st;
        }
    }
    if (backup) nn__free(&net->al, backup, backup_bytes);
    memset(net->grads, 0, net->n_params * sizeof(double));
    net->have_grad = false;
    return NN_OK;
}

nn_status nn_net_reserve(nn_net_t *net, size_t m_max)
{
    if (!net || m_max == 0) return NN_ERR_INVALID;
    if (net->train && m_max <= nn__ctx_cap(net->train)) return NN_OK;
    nn_ctx_t *c;
    nn_status st = nn__ctx_make(&c, net, m_max, true, &net->al);
    if (st) return st;
    nn_ctx_destroy(net->train);
    net->train = c;
    return NN_OK;
}

/* ------------------------------------------------------------ passes */
/* Inverted dropout of layer l's m x n output: M = [u >= p] / (1 - p),
 * D = A o M, in one pass; u of row i, unit j is a function of
 * (seed, pass, l, row0 + i, j) alone. */
static void dropout_forward(const nn__drop_pass *dp, size_t l, double p,
                            size_t m, size_t n, const double *A, double *M,
                            double *D)
{
    double keep_scale = 1.0 / (1.0 - p);
    for (size_t i = 0; i < m; i++) {
        uint64_t key = nn__drop_row_key(dp->seed, dp->step, l, dp->row0 + i);
        for (size_t j = 0; j < n; j++) {
            size_t e = i * n + j;
            M[e] = nn__drop_uniform(key, j) >= p ? keep_scale : 0.0;
            D[e] = A[e] * M[e];
        }
    }
}

/* True when layer L's output goes through dropout in this pass. */
static bool drops(const nn_layer *L, bool training)
{
    return training && L->dropout > 0.0;
}

/* True when the output layer keeps logits and the loss applies g. */
static bool logits_out(const nn_net_t *net)
{
    return net->loss != NN_LOSS_MSE;
}

double *nn__net_forward(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                        nn_order order, const double *X, size_t ldx,
                        const nn__drop_pass *dp)
{
    const double *in = X;
    size_t ld = ldx;
    double *A = NULL;
    for (size_t l = 0; l < net->n_layers; l++) {
        const nn_layer *L = &net->layers[l];
        bool last = l + 1 == net->n_layers;
        A = nn__ctx_act(ctx, l);
        nn__layer_forward(L, m, l == 0 ? order : NN_ROW_MAJOR, in, ld, A,
                          last && logits_out(net));
        in = A;
        ld = L->n_out;
        if (drops(L, dp != NULL)) {
            double *D = nn__ctx_dropped(ctx, l);
            dropout_forward(dp, l, L->dropout, m, L->n_out, A,
                            nn__ctx_mask(ctx, l), D);
            in = D;
        }
    }
    nn__ctx_set_rows(ctx, m);
    return A;
}

void nn__net_finish_outputs(const nn_net_t *net, size_t m, double *O)
{
    const nn_layer *L = &net->layers[net->n_layers - 1];
    if (logits_out(net))
        nn__act_apply(L->act, L->slope, m, L->n_out, O, O, L->n_out, 1);
}

/* The input layer l saw in the last training forward: X, A_{l-1} or
 * D_{l-1}. */
static const double *layer_input(const nn_net_t *net, size_t l,
                                 const double *X)
{
    if (l == 0) return X;
    if (drops(&net->layers[l - 1], true))
        return nn__ctx_dropped(net->train, l - 1);
    return nn__ctx_act(net->train, l - 1);
}

/* Backward through every layer, starting from the loss's gradient; returns
 * the loss. With step != 0 the SGD update is fused into the dW products. */
static double backward_all(nn_net_t *net, size_t m, nn_order order,
                           const double *X, size_t ldx, const double *O,
                           const nn_targets *t, bool want_loss, double step)
{
    nn_ctx_t *c = net->train;
    size_t last = net->n_layers - 1;
    nn_layer *Lo = &net->layers[last];
    double *G = nn__ctx_grad(c, 0), *Gnext = nn__ctx_grad(c, 1);
    double loss = nn__loss(net->loss, net->reduction, m, Lo->n_out, O, t, G,
                           Lo->db, want_loss);
    if (!logits_out(net)) /* MSE gave dL/dA: dZ = dA o g'(Z), db = colsum */
        nn__act_backward(Lo->act, Lo->slope, m, Lo->n_out, O, NULL, G,
                         Lo->n_out, 1, G, Lo->db);
    for (size_t l = last + 1; l-- > 0;) {
        const nn_layer *L = &net->layers[l];
        const double *in = layer_input(net, l, X);
        nn_order in_order = l == 0 ? order : NN_ROW_MAJOR;
        size_t in_ld = l == 0 ? ldx : L->n_in;
        /* dW_l = A_{l-1}^T.dZ_l; dA_{l-1} = dZ_l.W_l^T (not for the input) */
        nn__layer_backward(L, m, in_order, in, in_ld, G, l ? Gnext : NULL,
                           L->n_in, step);
        if (l == 0) break;
        const nn_layer *P = &net->layers[l - 1];
        /* dZ_{l-1} = dD_{l-1} o M_{l-1} o g'(Z_{l-1}) (M: dropout, if any),
         * db_{l-1} = colsum, in place, in one pass */
        nn__act_backward(P->act, P->slope, m, P->n_out, nn__ctx_act(c, l - 1),
                         drops(P, true) ? nn__ctx_mask(c, l - 1) : NULL, Gnext,
                         P->n_out, 1, Gnext, P->db);
        double *tmp = G;
        G = Gnext;
        Gnext = tmp;
    }
    return loss;
}

/* Validate a training batch (X and its targets), then make room for m rows.
 * Nothing is written before everything is checked. */
static nn_status begin_train(nn_net_t *net, size_t m, nn_order order,
                             const double *X, size_t ldx, const nn_targets *t,
                             size_t ldy)
{
    if (!net || (!t->Y && !t->labels)) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, net->n_in, order, ldx);
    if (st) return st;
    size_t k = nn_net_n_out(net);
    st = t->labels ? nn__check_targets(t, m, k)
                   : nn__check_matrix(t->Y, m, k, order, ldy);
    return st ? st : nn_net_reserve(net, m);
}

static nn_targets make_targets(nn_order order, const double *Y, size_t ldy,
                               const int32_t *labels)
{
    nn_targets t = {.Y = Y, .labels = labels};
    nn__strides(order, ldy, &t.rs, &t.cs);
    return t;
}

/* Forward + loss + backward (dropout on) of a checked batch; the pass
 * counts as one dropout step. With step != 0 the SGD update W -= step*dW is
 * fused into the dW products and no dW is stored (one row through a tiny
 * network: lib/tiny.c, the same bits in straight loops); with step == 0
 * the gradients are stored. */
static double train_pass(nn_net_t *net, size_t m, nn_order order,
                         const double *X, size_t ldx, const nn_targets *t,
                         double step, bool want_loss)
{
    if (step != 0.0 && nn__tiny_fits(net->layers, net->n_layers, m)) {
        nn__tiny_net tn = {net->layers, net->n_layers,  net->loss,
                           net->reduction, logits_out(net), net->train};
        net->drop_step++;
        return nn__tiny_step(&tn, X, order == NN_ROW_MAJOR ? 1 : ldx, t, step,
                             want_loss);
    }
    nn__drop_pass dp = {net->drop_seed, net->drop_step, net->drop_row0};
    const double *O = nn__net_forward(net, net->train, m, order, X, ldx, &dp);
    net->drop_step++;
    return backward_all(net, m, order, X, ldx, O, t, want_loss, step);
}

static nn_status gradient_common(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx, const double *Y,
                                 size_t ldy, const int32_t *labels,
                                 double *loss)
{
    nn_targets t = make_targets(order, Y, ldy, labels);
    nn_status st = begin_train(net, m, order, X, ldx, &t, ldy);
    if (st) return st;
    uint64_t step_before = net->drop_step;
    double value = train_pass(net, m, order, X, ldx, &t, 0.0,
                              loss != NULL || net->check_finite);
    /* a non-finite result under check-finite: report it, write no loss, put
     * the dropout generator back (the failed call draws no masks), and mark
     * the stored (non-finite) gradients unusable so no step applies them,
     * whatever the check-finite setting at that step */
    bool bad = net->check_finite &&
               (!isfinite(value) || !nn__all_finite(net->grads, net->n_params));
    net->have_grad = !bad;
    if (bad) {
        net->drop_step = step_before;
        return NN_ERR_NUMERIC;
    }
    if (loss) *loss = value;
    return NN_OK;
}

nn_status nn_net_gradient(nn_net_t *net, size_t m, nn_order order,
                          const double *X, size_t ldx, const double *Y,
                          size_t ldy, double *loss)
{
    if (!Y) return NN_ERR_INVALID;
    return gradient_common(net, m, order, X, ldx, Y, ldy, NULL, loss);
}

nn_status nn_net_gradient_labels(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx,
                                 const int32_t *labels, double *loss)
{
    if (!labels) return NN_ERR_INVALID;
    return gradient_common(net, m, order, X, ldx, NULL, 0, labels, loss);
}

/* Gradient then update. Plain SGD (and check-finite off, which must see the
 * gradients before anything changes) takes the fused path. */
static nn_status train_step_common(nn_net_t *net, nn_optim_t *opt, size_t m,
                                   nn_order order, const double *X,
                                   size_t ldx, const double *Y, size_t ldy,
                                   const int32_t *labels, double *loss)
{
    if (!net || !opt) return NN_ERR_INVALID;
    if (!nn__optim_fits(opt, net)) return NN_ERR_SHAPE;
    double lr;
    if (!nn__optim_plain_sgd(opt, &lr) || net->check_finite) {
        nn_status st = gradient_common(net, m, order, X, ldx, Y, ldy, labels,
                                       loss);
        return st ? st : nn_optim_step(opt, net);
    }
    nn_targets t = make_targets(order, Y, ldy, labels);
    nn_status st = begin_train(net, m, order, X, ldx, &t, ldy);
    if (st) return st;
    double value = train_pass(net, m, order, X, ldx, &t, lr, loss != NULL);
    nn__optim_count_step(opt);
    net->have_grad = false; /* the fused path stores no dW */
    if (loss) *loss = value;
    return NN_OK;
}

nn_status nn_net_train_step(nn_net_t *net, nn_optim_t *opt, size_t m,
                            nn_order order, const double *X, size_t ldx,
                            const double *Y, size_t ldy, double *loss)
{
    if (!Y) return NN_ERR_INVALID;
    return train_step_common(net, opt, m, order, X, ldx, Y, ldy, NULL, loss);
}

nn_status nn_net_train_step_labels(nn_net_t *net, nn_optim_t *opt, size_t m,
                                   nn_order order, const double *X,
                                   size_t ldx, const int32_t *labels,
                                   double *loss)
{
    if (!labels) return NN_ERR_INVALID;
    return train_step_common(net, opt, m, order, X, ldx, NULL, 0, labels,
                             loss);
}

/* ------------------------------------------------------------ the seam */
double *nn_net_params(nn_net_t *net) { return net ? net->params : NULL; }
double *nn_net_grads(nn_net_t *net) { return net ? net->grads : NULL; }

nn_status nn_net_layer_offset(const nn_net_t *net, size_t l, size_t *w_off,
                              size_t *b_off)
{
    const nn_layer *L = layer_at(net, l);
    if (!L || (!w_off && !b_off)) return NN_ERR_INVALID;
    if (w_off) *w_off = (size_t)(L->W - net->params);
    if (b_off) *b_off = (size_t)(L->b - net->params);
    return NN_OK;
}

int32_t nn_net_has_grads(const nn_net_t *net)
{
    return net && net->have_grad ? 1 : 0;
}

nn_status nn_net_set_grads(nn_net_t *net, const double *grad, size_t len)
{
    if (!net || !grad) return NN_ERR_INVALID;
    if (len != net->n_params) return NN_ERR_SHAPE;
    if (grad != net->grads)
        memmove(net->grads, grad, len * sizeof(double));
    net->have_grad = true;
    return NN_OK;
}

/* ------------------------------------------------------------ parameters */
nn_status nn_net_get_params(const nn_net_t *net, size_t l, nn_order order,
                            double *W, size_t ldw, double *b)
{
    const nn_layer *L = layer_at(net, l);
    return L ? nn__layer_get(L, false, order, W, ldw, b) : NN_ERR_INVALID;
}

nn_status nn_net_set_params(nn_net_t *net, size_t l, nn_order order,
                            const double *W, size_t ldw, const double *b)
{
    if (!layer_at(net, l)) return NN_ERR_INVALID;
    return nn__layer_set(&net->layers[l], order, W, ldw, b);
}

nn_status nn_net_get_grads(const nn_net_t *net, size_t l, nn_order order,
                           double *dW, size_t ldw, double *db)
{
    const nn_layer *L = layer_at(net, l);
    if (!L || (!dW && !db)) return NN_ERR_INVALID;
    /* stale values are never handed out as if they were a gradient */
    if (!net->have_grad) return NN_ERR_STATE;
    return nn__layer_get(L, true, order, dW, ldw, db);
}

/* ------------------------------------------------------------ scalers */
nn_status nn_net_set_scaler(nn_net_t *net, int32_t role,
                            const nn_scaler_t *scaler)
{
    if (!net || (role != NN_SCALER_INPUT && role != NN_SCALER_TARGET))
        return NN_ERR_INVALID;
    nn_scaler_t *copy = NULL;
    if (scaler) {
        size_t want = role == NN_SCALER_INPUT ? net->n_in : nn_net_n_out(net);
        if (nn_scaler_n(scaler) != want) return NN_ERR_SHAPE;
        nn_status st = nn__scaler_clone(&copy, scaler, &net->al);
        if (st) return st;
    }
    nn_scaler_destroy(net->scalers[role]);
    net->scalers[role] = copy;
    return NN_OK;
}

const nn_scaler_t *nn_net_get_scaler(const nn_net_t *net, int32_t role)
{
    if (!net || (role != NN_SCALER_INPUT && role != NN_SCALER_TARGET))
        return NULL;
    return net->scalers[role];
}

/* ------------------------------------------------------------ internals */
bool nn__net_has_grad(const nn_net_t *net) { return net->have_grad; }
void nn__net_set_has_grad(nn_net_t *net, bool on) { net->have_grad = on; }
bool nn__net_check_finite(const nn_net_t *net) { return net->check_finite; }
int32_t nn__net_reduction(const nn_net_t *net) { return net->reduction; }
nn_loss nn__net_loss_kind(const nn_net_t *net) { return net->loss; }
const nn_allocator *nn__net_allocator(const nn_net_t *net) { return &net->al; }

const nn_layer *nn__net_layer(const nn_net_t *net, size_t l, size_t *w_off)
{
    const nn_layer *L = layer_at(net, l);
    if (L && w_off) *w_off = (size_t)(L->W - net->params);
    return L;
}

void nn__net_get_drop_state(const nn_net_t *net, uint64_t *seed,
                            uint64_t *step)
{
    *seed = net->drop_seed;
    *step = net->drop_step;
}

void nn__net_set_drop_state(nn_net_t *net, uint64_t seed, uint64_t step)
{
    net->drop_seed = seed;
    net->drop_step = step;
}

/* Made once per network (every step checks it: its optimizer's and its
 * contexts' fit). */
uint64_t nn__net_shape_id(const nn_net_t *net) { return net->shape_id; }

/* ------------------------------------------------------------ batch parts
 * (batchpar.c) A training pass over one part of a batch, the part's rows
 * of every buffer given by the caller: forward (dropout on), the loss, and
 * the backward pass without the dW products, keeping every layer's dZ, so
 * that each worker can then compute the products of its own parameters
 * over all the rows. */
static double part_forward(const nn_net_t *net, const nn__part *p,
                           bool want_loss)
{
    const size_t last = net->n_layers - 1;
    const double *in = p->X;
    for (size_t l = 0; l <= last; l++) {
        const nn_layer *L = &net->layers[l];
        nn__layer_forward(L, p->m, NN_ROW_MAJOR, in, L->n_in, p->A[l],
                          l == last && logits_out(net));
        in = p->A[l];
        if (drops(L, true)) {
            dropout_forward(&p->dp, l, L->dropout, p->m, L->n_out, p->A[l],
                            p->M[l], p->D[l]);
            in = p->D[l];
        }
    }
    const nn_layer *Lo = &net->layers[last];
    return nn__loss(net->loss, NN_REDUCE_SUM, p->m, Lo->n_out, p->A[last],
                    p->t, p->dZ[last], p->db[last], want_loss);
}

double nn__net_part_backprop(const nn_net_t *net, const nn__part *p,
                             bool want_loss)
{
    const size_t m = p->m, last = net->n_layers - 1;
    double loss = part_forward(net, p, want_loss);
    const nn_layer *Lo = &net->layers[last];
    if (!logits_out(net)) /* MSE gave dL/dA: dZ = dA o g'(Z), db = colsum */
        nn__act_backward(Lo->act, Lo->slope, m, Lo->n_out, p->A[last], NULL,
                         p->dZ[last], Lo->n_out, 1, p->dZ[last], p->db[last]);
    for (size_t l = last; l > 0; l--) {
        const nn_layer *L = &net->layers[l], *P = &net->layers[l - 1];
        double *G = p->dZ[l - 1];
        /* dA_{l-1} = dZ_l.W_l^T */
        nn__gemm(false, true, m, L->n_in, L->n_out, 1.0, p->dZ[l], L->n_out,
                 L->W, L->n_out, 0.0, G, L->n_in);
        /* dZ_{l-1} = dD_{l-1} o M_{l-1} o g'(Z_{l-1}) (M: dropout, if any),
         * db_{l-1} = colsum, in place, in one pass */
        nn__act_backward(P->act, P->slope, m, P->n_out, p->A[l - 1],
                         drops(P, true) ? p->M[l - 1] : NULL, G, P->n_out, 1,
                         G, p->db[l - 1]);
    }
    return loss;
}
