/* ctx.c — execution contexts: the workspace of the passes over a network,
 * kept out of the network so that one network can be read by many threads,
 * each with a context of its own; and the inference calls that use them.
 *
 * Memory: one block holds the struct, three tables of n_layers sizes, 4 x
 * n_out accumulators for the metrics (so evaluation allocates nothing), and
 * the buffers (see nn_private.h): for m_cap rows, each layer's output A_l; for a
 * training context also two gradient buffers and, per dropout layer, its mask
 * and dropped output. Offsets are in units of m_cap doubles. A context fits
 * every network with the same shape fingerprint (nn__net_shape_id). */
#define NN_EXPERIMENTAL /* nn_ctx_layer_output */
#include "nn_private.h"

#include <stdalign.h>
#include <string.h>

struct nn_ctx {
    nn_allocator al;
    bool owned;      /* allocated through al (else in caller memory) */
    size_t bytes;    /* of the whole block */
    uint64_t shape_id;
    size_t n_layers, m_cap, rows_last;
    size_t sum_width, max_width;
    size_t *act_off;  /* n_layers: where A_l starts                     */
    size_t *drop_off; /* n_layers: where M_l starts (D_l follows), or 0 */
    size_t *width;    /* n_layers: n_l                                  */
    double *acc;      /* 4 x n_out: per-output sums of the metrics       */
    double *ws;
};

/* Total bytes of a context for m_max rows. */
static nn_status ctx_bytes(const nn_net_t *net, size_t m_max, bool training,
                           size_t *bytes)
{
    size_t L = nn_net_n_layers(net), sum = 0, mx = 0, drop = 0;
    for (size_t l = 0; l < L; l++) {
        const nn_layer *ly = nn__net_layer(net, l, NULL);
        sum += ly->n_out; /* the net's own size checks keep these in range */
        mx = ly->n_out > mx ? ly->n_out : mx;
        if (ly->dropout > 0.0) drop += 2 * ly->n_out;
    }
    size_t per_row = sum, tables, vals;
    if (training && (!nn__add(per_row, 2 * mx, &per_row) ||
                     !nn__add(per_row, drop, &per_row)))
        return NN_ERR_TOO_LARGE;
    size_t n_out = nn_net_n_out(net);
    if (!nn__fits_blas(m_max) || !nn__mul(L, 3 * sizeof(size_t), &tables) ||
        !nn__mul(per_row, m_max, &vals) || !nn__add(vals, 4 * n_out, &vals) ||
        !nn__mul(vals, sizeof(double), &vals) ||
        !nn__add(vals, tables, bytes) ||
        !nn__add(*bytes, sizeof(struct nn_ctx), bytes))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

/* Lay a context out in `mem` (bytes long, already checked). */
static nn_ctx_t *ctx_place(void *mem, size_t bytes, const nn_net_t *net,
                           size_t m_max, bool training)
{
    nn_ctx_t *c = mem;
    size_t L = nn_net_n_layers(net);
    *c = (struct nn_ctx){.bytes = bytes,
                         .shape_id = nn__net_shape_id(net), .n_layers = L,
                         .m_cap = m_max};
    c->act_off = (size_t *)(c + 1);
    c->drop_off = c->act_off + L;
    c->width = c->drop_off + L;
    c->acc = (double *)(c->width + L);
    c->ws = c->acc + 4 * nn_net_n_out(net);
    size_t off = 0;
    for (size_t l = 0; l < L; l++) {
        size_t n = nn__net_layer(net, l, NULL)->n_out;
        c->width[l] = n;
        c->act_off[l] = off;
        off += n;
        c->max_width = n > c->max_width ? n : c->max_width;
    }
    c->sum_width = off;
    off += 2 * c->max_width; /* the gradient buffers (used in training) */
    for (size_t l = 0; l < L; l++) {
        const nn_layer *ly = nn__net_layer(net, l, NULL);
        c->drop_off[l] = 0;
        if (training && ly->dropout > 0.0) {
            c->drop_off[l] = off;
            off += 2 * ly->n_out;
        }
    }
    return c;
}

nn_status nn__ctx_make(nn_ctx_t **out, const nn_net_t *net, size_t m_max,
                       bool training, const nn_allocator *al)
{
    size_t bytes;
    nn_status st = ctx_bytes(net, m_max, training, &bytes);
    if (st) return st;
    void *mem = nn__alloc(al, bytes);
    if (!mem) return NN_ERR_NOMEM;
    nn_ctx_t *c = ctx_place(mem, bytes, net, m_max, training);
    c->al = *al;
    c->owned = true;
    *out = c;
    return NN_OK;
}

nn_status nn_ctx_size(const nn_net_t *net, size_t m_max, size_t *bytes)
{
    if (!net || m_max == 0 || !bytes) return NN_ERR_INVALID;
    return ctx_bytes(net, m_max, false, bytes);
}

nn_status nn_ctx_create(nn_ctx_t **out, const nn_net_t *net, size_t m_max,
                        const nn_allocator *alloc)
{
    if (!out || !net || m_max == 0) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    return nn__ctx_make(out, net, m_max, false, &al);
}

nn_status nn_ctx_create_in(nn_ctx_t **out, const nn_net_t *net, size_t m_max,
                           void *mem, size_t bytes)
{
    if (!out || !net || m_max == 0 || !mem) return NN_ERR_INVALID;
    if ((uintptr_t)mem % alignof(double) != 0) return NN_ERR_INVALID;
    size_t need;
    nn_status st = ctx_bytes(net, m_max, false, &need);
    if (st) return st;
    if (bytes < need) return NN_ERR_SHAPE;
    *out = ctx_place(mem, need, net, m_max, false);
    return NN_OK;
}

void nn_ctx_destroy(nn_ctx_t *c)
{
    if (!c || !c->owned) return;
    nn_allocator al = c->al;
    nn__free(&al, c, c->bytes);
}

size_t nn_ctx_capacity(const nn_ctx_t *c) { return c ? c->m_cap : 0; }

/* ------------------------------------------------------------ internals */
/* Exact, not by fingerprint alone: a collision would let a pass write past
 * the buffers. The outputs' width also sizes the accumulators. */
bool nn__ctx_fits(const nn_ctx_t *c, const nn_net_t *net)
{
    if (c->shape_id != nn__net_shape_id(net) ||
        c->n_layers != nn_net_n_layers(net))
        return false;
    for (size_t l = 0; l < c->n_layers; l++)
        if (c->width[l] != nn_net_layer_n_out(net, l)) return false;
    return true;
}

size_t nn__ctx_cap(const nn_ctx_t *c) { return c->m_cap; }

double *nn__ctx_act(nn_ctx_t *c, size_t l)
{
    return c->ws + c->m_cap * c->act_off[l];
}

double *nn__ctx_grad(nn_ctx_t *c, int which)
{
    return c->ws + c->m_cap * (c->sum_width + (size_t)which * c->max_width);
}

double *nn__ctx_mask(nn_ctx_t *c, size_t l)
{
    return c->ws + c->m_cap * c->drop_off[l];
}

double *nn__ctx_dropped(nn_ctx_t *c, size_t l)
{
    return nn__ctx_mask(c, l) + c->m_cap * c->width[l];
}

void nn__ctx_set_rows(nn_ctx_t *c, size_t rows) { c->rows_last = rows; }

double *nn__ctx_acc(nn_ctx_t *c) { return c->acc; }

const double *nn_ctx_layer_output(const nn_ctx_t *c, size_t layer)
{
    if (!c || c->rows_last == 0 || layer + 1 >= c->n_layers) return NULL;
    return c->ws + c->m_cap * c->act_off[layer];
}

/* ------------------------------------------------------------ inference */
/* Rows of the temporary context of a call given no context: enough to keep
 * dgemm efficient, small enough that memory stays bounded for any m. */
#define TEMP_ROWS 256

nn_status nn__ctx_begin(const nn_net_t *net, nn_ctx_t *user, size_t m,
                        nn_ctx_t **c)
{
    if (user) {
        if (!nn__ctx_fits(user, net)) return NN_ERR_SHAPE;
        *c = user;
        return NN_OK;
    }
    size_t cap = m < TEMP_ROWS ? m : TEMP_ROWS;
    return nn__ctx_make(c, net, cap, false, nn__net_allocator(net));
}

void nn__ctx_end(nn_ctx_t *user, nn_ctx_t *c)
{
    if (c != user) nn_ctx_destroy(c);
}

nn_status nn_net_predict(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                         nn_order order, const double *X, size_t ldx,
                         double *Y, size_t ldy)
{
    if (!net) return NN_ERR_INVALID;
    size_t n = nn_net_n_in(net), k = nn_net_n_out(net);
    nn_status st = nn__check_matrix(X, m, n, order, ldx);
    if (!st) st = nn__check_matrix(Y, m, k, order, ldy);
    nn_ctx_t *c = NULL;
    if (!st) st = nn__ctx_begin(net, ctx, m, &c);
    if (st) return st;
    size_t xrs, xcs, yrs, ycs, cap = c->m_cap;
    nn__strides(order, ldx, &xrs, &xcs);
    nn__strides(order, ldy, &yrs, &ycs);
    for (size_t r0 = 0; r0 < m; r0 += cap) {
        size_t mb = m - r0 < cap ? m - r0 : cap;
        double *O = nn__net_forward(net, c, mb, order, X + r0 * xrs, ldx, NULL);
        nn__net_finish_outputs(net, mb, O);
        nn__copy_matrix(mb, k, O, k, 1, Y + r0 * yrs, yrs, ycs);
    }
    nn__ctx_end(ctx, c);
    return NN_OK;
}

/* Loss over m rows in chunks: each chunk's SUM of per-row losses is added
 * up, and the total is divided by m under NN_REDUCE_MEAN. */
static nn_status loss_common(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                             nn_order order, const double *X, size_t ldx,
                             const double *Y, size_t ldy,
                             const int32_t *labels, double *loss)
{
    if (!net || !loss || (!Y && !labels)) return NN_ERR_INVALID;
    size_t n = nn_net_n_in(net), k = nn_net_n_out(net);
    nn_targets t = {.Y = Y, .labels = labels};
    nn__strides(order, ldy, &t.rs, &t.cs);
    nn_status st = nn__check_matrix(X, m, n, order, ldx);
    if (!st) st = labels ? nn__check_targets(&t, m, k)
                         : nn__check_matrix(Y, m, k, order, ldy);
    nn_ctx_t *c = NULL;
    if (!st) st = nn__ctx_begin(net, ctx, m, &c);
    if (st) return st;
    size_t xrs, xcs, cap = c->m_cap;
    nn__strides(order, ldx, &xrs, &xcs);
    bool one = m <= cap; /* one chunk: reduce exactly as a gradient pass */
    double sum = 0.0;
    for (size_t r0 = 0; r0 < m; r0 += cap) {
        size_t mb = m - r0 < cap ? m - r0 : cap;
        nn_targets tc = t;
        if (labels) tc.labels = labels + r0;
        else tc.Y = Y + r0 * t.rs;
        const double *O = nn__net_forward(net, c, mb, order, X + r0 * xrs,
                                          ldx, NULL);
        sum += nn__loss(nn__net_loss_kind(net),
                        one ? nn__net_reduction(net) : NN_REDUCE_SUM, mb, k, O,
                        &tc, NULL, NULL, true);
    }
    nn__ctx_end(ctx, c);
    if (!one && nn__net_reduction(net) == NN_REDUCE_MEAN) sum /= (double)m;
    *loss = sum;
    return NN_OK;
}

nn_status nn_net_loss(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                      nn_order order, const double *X, size_t ldx,
                      const double *Y, size_t ldy, double *loss)
{
    return loss_common(net, ctx, m, order, X, ldx, Y, ldy, NULL, loss);
}

nn_status nn_net_loss_labels(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                             nn_order order, const double *X, size_t ldx,
                             const int32_t *labels, double *loss)
{
    return loss_common(net, ctx, m, order, X, ldx, NULL, 0, labels, loss);
}
