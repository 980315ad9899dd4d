/* net.c — a network: a stack of dense layers with an output loss, its
 * workspace, and forward / loss / backward / gradient-descent passes.
 *
 * Memory: one block holds the struct, the layer table, all parameters (flat,
 * layer by layer: W then b) and all gradients (same layout). One workspace
 * block holds, for the current batch capacity m_cap, each layer's output
 * A_l (m_cap x n_l, row-major) and two gradient buffers of m_cap x max_l n_l
 * used in turn by the backward pass; then, for each layer with dropout, its
 * mask M_l (0 or 1/(1-p)) and dropped output D_l = A_l o M_l (m_cap x n_l
 * each). Nothing is allocated per step. */
#include "nn_private.h"

#include <math.h>
#include <string.h>

struct nn_net {
    nn_allocator al;
    size_t block_bytes;
    size_t n_in, n_layers, n_params;
    size_t sum_width, max_width; /* sum and max of the layers' n_out */
    size_t drop_width;           /* sum of n_out over dropout layers */
    nn_rng drop_rng;             /* draws the dropout masks */
    nn_loss loss;
    bool check_finite;
    bool have_grad;
    nn_layer *layers;
    double *params, *grads;
    size_t m_cap;
    double *ws;
};

/* ------------------------------------------------------------ creation */
static bool loss_valid(nn_loss loss)
{
    return (unsigned)loss <= (unsigned)NN_LOSS_SOFTMAX_CE;
}

/* BCE is computed from sigmoid logits and softmax CE from softmax logits. */
static bool loss_fits_output(nn_loss loss, nn_activation out_act)
{
    if (loss == NN_LOSS_BCE) return out_act == NN_ACT_SIGMOID;
    if (loss == NN_LOSS_SOFTMAX_CE) return out_act == NN_ACT_SOFTMAX;
    return true;
}

/* Validate the architecture and count parameters and widths. */
static nn_status check_specs(size_t n_in, size_t n_layers,
                             const nn_layer_spec *specs, nn_loss loss,
                             size_t *n_params, size_t *sum_w, size_t *max_w,
                             size_t *drop_w)
{
    if (n_in == 0 || n_layers == 0 || !specs || !loss_valid(loss))
        return NN_ERR_INVALID;
    size_t prev = n_in, np = 0, sw = 0, mw = 0, dw = 0;
    for (size_t l = 0; l < n_layers; l++) {
        const nn_layer_spec *s = &specs[l];
        nn_status st = nn__check_layer_shape(prev, s->n_out, s->act,
                                             s->act_param);
        if (st) return st;
        /* !(p >= 0 && p < 1) also refuses NaN */
        if (!(s->dropout >= 0.0 && s->dropout < 1.0) ||
            (l + 1 == n_layers && s->dropout != 0.0))
            return NN_ERR_INVALID;
        if (s->dropout > 0.0) dw += s->n_out;
        /* prev*n_out is known not to overflow from the shape check */
        if (!nn__add(np, prev * s->n_out, &np) || !nn__add(np, s->n_out, &np) ||
            !nn__add(sw, s->n_out, &sw))
            return NN_ERR_TOO_LARGE;
        mw = s->n_out > mw ? s->n_out : mw;
        prev = s->n_out;
    }
    if (!loss_fits_output(loss, specs[n_layers - 1].act)) return NN_ERR_INVALID;
    *n_params = np;
    *sum_w = sw;
    *max_w = mw;
    *drop_w = dw;
    return NN_OK;
}

static nn_status block_size(size_t n_layers, size_t n_params, size_t *bytes)
{
    size_t table, values;
    if (!nn__mul(n_layers, sizeof(nn_layer), &table) ||
        !nn__mul(n_params, 2 * sizeof(double), &values) ||
        !nn__add(table, values, bytes) ||
        !nn__add(*bytes, sizeof(struct nn_net), bytes))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

/* Point each layer at its slice of the flat parameter and gradient arrays. */
static void lay_out(nn_net_t *net, const nn_layer_spec *specs)
{
    size_t prev = net->n_in, off = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t n = specs[l].n_out, nw = prev * n;
        net->layers[l] = (nn_layer){.n_in = prev, .n_out = n,
                                    .act = specs[l].act,
                                    .slope = specs[l].act_param,
                                    .dropout = specs[l].dropout,
                                    .W = net->params + off,
                                    .b = net->params + off + nw,
                                    .dW = net->grads + off,
                                    .db = net->grads + off + nw};
        off += nw + n;
        prev = n;
    }
}

nn_status nn_net_create(nn_net_t **out, size_t n_in, size_t n_layers,
                        const nn_layer_spec *specs, nn_loss loss,
                        const nn_allocator *alloc)
{
    if (!out) return NN_ERR_INVALID;
    if (alloc && (!alloc->alloc || !alloc->free)) return NN_ERR_INVALID;
    size_t np, sw, mw, dw, bytes;
    nn_status st = check_specs(n_in, n_layers, specs, loss, &np, &sw, &mw, &dw);
    if (!st) st = block_size(n_layers, np, &bytes);
    if (st) return st;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_net_t *net = nn__alloc(&al, bytes);
    if (!net) return NN_ERR_NOMEM;
    memset(net, 0, bytes);
    net->al = al;
    net->block_bytes = bytes;
    net->n_in = n_in;
    net->n_layers = n_layers;
    net->n_params = np;
    net->sum_width = sw;
    net->max_width = mw;
    net->drop_width = dw;
    net->loss = loss;
    net->layers = (nn_layer *)(net + 1);
    net->params = (double *)(net->layers + n_layers);
    net->grads = net->params + np;
    lay_out(net, specs);
    nn_net_init(net, NN_INIT_DEFAULT, 0);
    *out = net;
    return NN_OK;
}

static size_t ws_doubles(const nn_net_t *net, size_t m)
{
    return m * (net->sum_width + 2 * net->max_width + 2 * net->drop_width);
}

void nn_net_destroy(nn_net_t *net)
{
    if (!net) return;
    nn_allocator al = net->al;
    nn__free(&al, net->ws, ws_doubles(net, net->m_cap) * sizeof(double));
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

nn_status nn_net_get_loss(const nn_net_t *net, nn_loss *loss)
{
    if (!net || !loss) return NN_ERR_INVALID;
    *loss = net->loss;
    return NN_OK;
}

nn_status nn_net_get_layer_spec(const nn_net_t *net, size_t l,
                                nn_layer_spec *spec)
{
    const nn_layer *L = layer_at(net, l);
    if (!L || !spec) return NN_ERR_INVALID;
    *spec = (nn_layer_spec){.n_out = L->n_out, .act = L->act,
                            .act_param = L->slope, .dropout = L->dropout};
    return NN_OK;
}

/* ------------------------------------------------------------ settings */
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
    /* a stream of its own, so masks do not repeat the weights' draws */
    nn__rng_seed(&net->drop_rng, seed ^ 0xD5A61266F0C9392Cull);
    return NN_OK;
}

nn_status nn_net_reserve(nn_net_t *net, size_t m_max)
{
    if (!net || m_max == 0) return NN_ERR_INVALID;
    if (m_max <= net->m_cap) return NN_OK;
    size_t per_row, bytes;
    if (!nn__fits_blas(m_max) ||
        !nn__add(net->sum_width, 2 * net->max_width, &per_row) ||
        !nn__add(per_row, 2 * net->drop_width, &per_row) ||
        !nn__mul(m_max, per_row, &bytes) ||
        !nn__mul(bytes, sizeof(double), &bytes))
        return NN_ERR_TOO_LARGE;
    double *ws = nn__alloc(&net->al, bytes);
    if (!ws) return NN_ERR_NOMEM;
    nn__free(&net->al, net->ws, ws_doubles(net, net->m_cap) * sizeof(double));
    net->ws = ws;
    net->m_cap = m_max;
    return NN_OK;
}

nn_status nn_net_set_check_finite(nn_net_t *net, bool on)
{
    if (!net) return NN_ERR_INVALID;
    net->check_finite = on;
    return NN_OK;
}

/* ------------------------------------------------------------ passes */
/* Output buffer A_l of layer l in the workspace (row-major m_cap x n_l). */
static double *act_buf(const nn_net_t *net, size_t l)
{
    size_t off = 0;
    for (size_t i = 0; i < l; i++) off += net->layers[i].n_out;
    return net->ws + net->m_cap * off;
}

static double *grad_buf(const nn_net_t *net, int which)
{
    return net->ws + net->m_cap * (net->sum_width + (size_t)which *
                                                        net->max_width);
}

/* Dropout buffers of layer l (which has dropout): mask M_l, output D_l. */
static double *drop_mask(const nn_net_t *net, size_t l)
{
    size_t off = 0;
    for (size_t i = 0; i < l; i++)
        if (net->layers[i].dropout > 0.0) off += 2 * net->layers[i].n_out;
    return net->ws + net->m_cap * (net->sum_width + 2 * net->max_width + off);
}

static double *drop_out(const nn_net_t *net, size_t l)
{
    return drop_mask(net, l) + net->m_cap * net->layers[l].n_out;
}

/* Inverted dropout: M = [u >= p] / (1 - p), D = A o M, in one pass. */
static void dropout_forward(nn_rng *r, double p, size_t count,
                            const double *A, double *M, double *D)
{
    double keep_scale = 1.0 / (1.0 - p);
    for (size_t i = 0; i < count; i++) {
        M[i] = nn__rng_uniform(r) >= p ? keep_scale : 0.0;
        D[i] = A[i] * M[i];
    }
}

/* True when layer l's output goes through dropout in this pass. */
static bool drops(const nn_layer *L, bool training)
{
    return training && L->dropout > 0.0;
}

/* True when the output layer keeps logits and the loss applies g. */
static bool logits_out(const nn_net_t *net)
{
    return net->loss != NN_LOSS_MSE;
}

/* Forward through every layer (with dropout when training); returns the
 * output layer's buffer. */
static double *forward_all(nn_net_t *net, size_t m, nn_order order,
                           const double *X, size_t ldx, bool training)
{
    const double *in = X;
    size_t ld = ldx;
    double *A = NULL;
    for (size_t l = 0; l < net->n_layers; l++) {
        const nn_layer *L = &net->layers[l];
        bool last = l + 1 == net->n_layers;
        A = act_buf(net, l);
        nn__layer_forward(L, m, l == 0 ? order : NN_ROW_MAJOR, in, ld, A,
                          last && logits_out(net));
        in = A;
        ld = L->n_out;
        if (drops(L, training)) {
            double *D = drop_out(net, l);
            dropout_forward(&net->drop_rng, L->dropout, m * L->n_out, A,
                            drop_mask(net, l), D);
            in = D;
        }
    }
    return A;
}

/* The input layer l saw in the last forward: X, A_{l-1}, or D_{l-1}. */
static const double *layer_input(const nn_net_t *net, size_t l,
                                 const double *X, bool training)
{
    if (l == 0) return X;
    if (drops(&net->layers[l - 1], training)) return drop_out(net, l - 1);
    return act_buf(net, l - 1);
}

/* Common validation of a batch call: X and the targets (if any); then make
 * room for m rows. Nothing is written before everything is checked. */
static nn_status begin_batch(nn_net_t *net, size_t m, nn_order order,
                             const double *X, size_t ldx,
                             const nn_targets *t, const double *Y, size_t ldy)
{
    if (!net) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, net->n_in, order, ldx);
    if (st) return st;
    size_t k = nn_net_n_out(net);
    if (t) {
        if (t->labels) {
            st = nn__check_targets(t, m, k, net->loss);
        } else {
            st = nn__check_matrix(Y, m, k, order, ldy);
        }
        if (st) return st;
    }
    return nn_net_reserve(net, m);
}

static nn_targets make_targets(nn_order order, const double *Y, size_t ldy,
                               const size_t *labels)
{
    nn_targets t = {.Y = Y, .labels = labels};
    nn__strides(order, ldy, &t.rs, &t.cs);
    return t;
}

nn_status nn_net_predict(nn_net_t *net, size_t m, nn_order order,
                         const double *X, size_t ldx, double *Y, size_t ldy)
{
    if (!net) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(Y, m, nn_net_n_out(net), order, ldy);
    if (!st) st = begin_batch(net, m, order, X, ldx, NULL, NULL, 0);
    if (st) return st;
    const double *O = forward_all(net, m, order, X, ldx, false);
    const nn_layer *L = &net->layers[net->n_layers - 1];
    size_t rs, cs;
    nn__strides(order, ldy, &rs, &cs);
    /* the output keeps logits under BCE / softmax CE: apply g on the way out */
    nn__act_apply(logits_out(net) ? L->act : NN_ACT_IDENTITY, L->slope, m,
                  L->n_out, O, Y, rs, cs);
    return NN_OK;
}

static nn_status loss_common(nn_net_t *net, size_t m, nn_order order,
                             const double *X, size_t ldx, const double *Y,
                             size_t ldy, const size_t *labels, double *loss)
{
    if (!loss || (!Y && !labels)) return NN_ERR_INVALID;
    nn_targets t = make_targets(order, Y, ldy, labels);
    nn_status st = begin_batch(net, m, order, X, ldx, &t, Y, ldy);
    if (st) return st;
    const double *O = forward_all(net, m, order, X, ldx, false);
    *loss = nn__loss(net->loss, m, nn_net_n_out(net), O, &t, NULL, NULL, true);
    return NN_OK;
}

nn_status nn_net_loss(nn_net_t *net, size_t m, nn_order order,
                      const double *X, size_t ldx, const double *Y,
                      size_t ldy, double *loss)
{
    return loss_common(net, m, order, X, ldx, Y, ldy, NULL, loss);
}

nn_status nn_net_loss_labels(nn_net_t *net, size_t m, nn_order order,
                             const double *X, size_t ldx,
                             const size_t *labels, double *loss)
{
    return loss_common(net, m, order, X, ldx, NULL, 0, labels, loss);
}

/* Backward through every layer, starting from the loss's gradient. */
static void backward_all(nn_net_t *net, size_t m, nn_order order,
                         const double *X, size_t ldx, const double *O,
                         const nn_targets *t, double *loss, bool want_loss,
                         double step)
{
    size_t last = net->n_layers - 1;
    nn_layer *Lo = &net->layers[last];
    double *G = grad_buf(net, 0), *Gnext = grad_buf(net, 1);
    *loss = nn__loss(net->loss, m, Lo->n_out, O, t, G, Lo->db, want_loss);
    if (!logits_out(net)) /* MSE gave dL/dA: dZ = dA o g'(Z), db = colsum */
        nn__act_backward(Lo->act, Lo->slope, m, Lo->n_out, O, G, Lo->n_out, 1,
                         G, Lo->db);
    for (size_t l = last + 1; l-- > 0;) {
        const nn_layer *L = &net->layers[l];
        const double *in = layer_input(net, l, X, true);
        nn_order in_order = l == 0 ? order : NN_ROW_MAJOR;
        size_t in_ld = l == 0 ? ldx : L->n_in;
        /* dW_l = A_{l-1}^T.dZ_l; dA_{l-1} = dZ_l.W_l^T (not for the input) */
        nn__layer_backward(L, m, in_order, in, in_ld, G, l ? Gnext : NULL,
                           L->n_in, step);
        if (l == 0) break;
        const nn_layer *P = &net->layers[l - 1];
        if (drops(P, true)) { /* dA_{l-1} = dD_{l-1} o M_{l-1} */
            const double *M = drop_mask(net, l - 1);
            for (size_t i = 0; i < m * P->n_out; i++) Gnext[i] *= M[i];
        }
        /* dZ_{l-1} = dA_{l-1} o g'(Z_{l-1}), db_{l-1} = colsum, in place */
        nn__act_backward(P->act, P->slope, m, P->n_out, act_buf(net, l - 1),
                         Gnext, P->n_out, 1, Gnext, P->db);
        double *tmp = G;
        G = Gnext;
        Gnext = tmp;
    }
}

/* Validate the batch, then forward + loss + backward (dropout on). With
 * step != 0 the SGD update W -= step*dW is fused into the dW products and no
 * dW is stored; with step == 0 the gradients are stored. *value: the loss
 * (may be NaN when want_loss is false). */
static nn_status train_pass(nn_net_t *net, size_t m, nn_order order,
                            const double *X, size_t ldx, const double *Y,
                            size_t ldy, const size_t *labels, double step,
                            bool want_loss, double *value)
{
    if (!Y && !labels) return NN_ERR_INVALID;
    nn_targets t = make_targets(order, Y, ldy, labels);
    nn_status st = begin_batch(net, m, order, X, ldx, &t, Y, ldy);
    if (st) return st;
    const double *O = forward_all(net, m, order, X, ldx, true);
    backward_all(net, m, order, X, ldx, O, &t, value, want_loss, step);
    return NN_OK;
}

static nn_status gradient_common(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx, const double *Y,
                                 size_t ldy, const size_t *labels,
                                 double *loss)
{
    double value;
    nn_status st = train_pass(net, m, order, X, ldx, Y, ldy, labels, 0.0,
                              loss != NULL || (net && net->check_finite),
                              &value);
    if (st) return st;
    /* a non-finite result under check-finite: report it, write no loss, and
     * mark the stored (non-finite) gradients unusable so no step applies
     * them, whatever the check-finite setting at that step */
    bool bad = net->check_finite &&
               (!isfinite(value) || !nn__all_finite(net->grads, net->n_params));
    net->have_grad = !bad;
    if (bad) return NN_ERR_NUMERIC;
    if (loss) *loss = value;
    return NN_OK;
}

nn_status nn_net_gradient(nn_net_t *net, size_t m, nn_order order,
                          const double *X, size_t ldx, const double *Y,
                          size_t ldy, double *loss)
{
    return gradient_common(net, m, order, X, ldx, Y, ldy, NULL, loss);
}

nn_status nn_net_gradient_labels(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx,
                                 const size_t *labels, double *loss)
{
    return gradient_common(net, m, order, X, ldx, NULL, 0, labels, loss);
}

/* Forward, loss, backward and SGD update in one pass: the update is fused
 * into the dW products. With check-finite on, the gradients must be seen
 * before anything changes, so the two-call path is taken instead. */
static nn_status train_sgd_common(nn_net_t *net, size_t m, nn_order order,
                                  const double *X, size_t ldx,
                                  const double *Y, size_t ldy,
                                  const size_t *labels, double alpha,
                                  double *loss)
{
    if (!net || !isfinite(alpha)) return NN_ERR_INVALID;
    if (net->check_finite) {
        nn_status st = gradient_common(net, m, order, X, ldx, Y, ldy, labels,
                                       loss);
        return st ? st : nn_net_sgd_step(net, alpha);
    }
    double value;
    /* alpha == 0 changes nothing and takes the plain (storing) path */
    nn_status st = train_pass(net, m, order, X, ldx, Y, ldy, labels, alpha,
                              loss != NULL, &value);
    if (st) return st;
    net->have_grad = alpha == 0.0; /* the fused path stores no dW */
    if (loss) *loss = value;
    return NN_OK;
}

nn_status nn_net_train_sgd(nn_net_t *net, size_t m, nn_order order,
                           const double *X, size_t ldx, const double *Y,
                           size_t ldy, double alpha, double *loss)
{
    return train_sgd_common(net, m, order, X, ldx, Y, ldy, NULL, alpha, loss);
}

nn_status nn_net_train_sgd_labels(nn_net_t *net, size_t m, nn_order order,
                                  const double *X, size_t ldx,
                                  const size_t *labels, double alpha,
                                  double *loss)
{
    return train_sgd_common(net, m, order, X, ldx, NULL, 0, labels, alpha,
                            loss);
}

nn_status nn_net_sgd_step(nn_net_t *net, double alpha)
{
    if (!net || !isfinite(alpha)) return NN_ERR_INVALID;
    if (!net->have_grad) return NN_ERR_STATE;
    if (net->check_finite && !nn__all_finite(net->grads, net->n_params))
        return NN_ERR_NUMERIC;
    /* W -= alpha*dW, b -= alpha*db: one pass over the flat arrays */
    double *restrict p = net->params;
    const double *restrict g = net->grads;
    for (size_t i = 0; i < net->n_params; i++) p[i] -= alpha * g[i];
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
    return L ? nn__layer_get(L, true, order, dW, ldw, db) : NN_ERR_INVALID;
}

double *nn_net_weights(nn_net_t *net, size_t l)
{
    return layer_at(net, l) ? net->layers[l].W : NULL;
}

double *nn_net_bias(nn_net_t *net, size_t l)
{
    return layer_at(net, l) ? net->layers[l].b : NULL;
}

const double *nn_net_grad_weights(const nn_net_t *net, size_t l)
{
    const nn_layer *L = layer_at(net, l);
    return L ? L->dW : NULL;
}

const double *nn_net_grad_bias(const nn_net_t *net, size_t l)
{
    const nn_layer *L = layer_at(net, l);
    return L ? L->db : NULL;
}

/* ------------------------------------------------------------ internals */
size_t nn__net_n_params(const nn_net_t *net) { return net->n_params; }
double *nn__net_params(nn_net_t *net) { return net->params; }
const double *nn__net_grads(const nn_net_t *net) { return net->grads; }
bool nn__net_has_grad(const nn_net_t *net) { return net->have_grad; }
bool nn__net_check_finite(const nn_net_t *net) { return net->check_finite; }

const nn_layer *nn__net_layer(const nn_net_t *net, size_t l, size_t *w_off)
{
    const nn_layer *L = layer_at(net, l);
    if (L && w_off) *w_off = (size_t)(L->W - net->params);
    return L;
}

/* ------------------------------------------------------------ metrics */
/* For metrics.c / train.c: the output activations of the last forward pass
 * over m rows (a predict / loss call): the workspace's output buffer, row-major
 * m x n_out. Under BCE / softmax CE that buffer holds logits, and the output
 * activation is applied to it in place (the same numbers nn_net_predict
 * returns), so call this once per forward pass. */
const double *nn__net_outputs(nn_net_t *net, size_t m)
{
    size_t last = net->n_layers - 1;
    const nn_layer *L = &net->layers[last];
    double *O = act_buf(net, last);
    if (logits_out(net))
        nn__act_apply(L->act, L->slope, m, L->n_out, O, O, L->n_out, 1);
    return O;
}

/* The net's output loss (for the label range the metrics accept). */
nn_loss nn__net_loss_kind(const nn_net_t *net) { return net->loss; }

/* ------------------------------------------------------------ model files
 * (model.c) The dropout generator's state and the net's allocator. */
void nn__net_get_drop_rng(const nn_net_t *net, nn_rng *r) { *r = net->drop_rng; }
void nn__net_set_drop_rng(nn_net_t *net, const nn_rng *r) { net->drop_rng = *r; }
const nn_allocator *nn__net_allocator(const nn_net_t *net) { return &net->al; }

/* A fingerprint of the architecture's shapes (n_in, then each layer's n_out;
 * FNV-1a): optimizers keep it to recognise the network they belong to, since
 * two networks can have the same parameter count and different layouts. */
uint64_t nn__net_shape_id(const nn_net_t *net)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (uint64_t)net->n_in) * 0x100000001b3ull;
    for (size_t l = 0; l < net->n_layers; l++)
        h = (h ^ (uint64_t)net->layers[l].n_out) * 0x100000001b3ull;
    return h;
}
