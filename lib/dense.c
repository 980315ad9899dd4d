/* dense.c — the dense layer: its two BLAS-backed passes (used by networks
 * too) and the standalone nn_dense_t object. */
#include "nn_private.h"

#include <string.h>

void nn__layer_forward(const nn_layer *L, size_t m, nn_order order,
                       const double *X, size_t ldx, double *A,
                       bool logits_only)
{
    /* Z = X.W  (m x n_out); a column-major X is X^T in row-major terms */
    nn__gemm(order == NN_COL_MAJOR, false, m, L->n_out, L->n_in, 1.0, X, ldx,
             L->W, L->n_out, 0.0, A, L->n_out);
    nn__act_forward(logits_only ? NN_ACT_IDENTITY : L->act, L->slope, m,
                    L->n_out, L->b, A);
}

void nn__layer_backward(const nn_layer *L, size_t m, nn_order order,
                        const double *X, size_t ldx, const double *dZ,
                        double *dX, size_t lddx, double step)
{
    /* dX = dZ.W^T  (m x n_in, row-major), first: it needs W before any
     * fused update */
    if (dX)
        nn__gemm(false, true, m, L->n_in, L->n_out, 1.0, dZ, L->n_out, L->W,
                 L->n_out, 0.0, dX, lddx);
    bool x_trans = order == NN_ROW_MAJOR; /* column-major X is X^T row-major */
    if (step == 0.0) {
        /* dW = X^T.dZ  (n_in x n_out) */
        nn__gemm(x_trans, false, L->n_in, L->n_out, m, 1.0, X, ldx, dZ,
                 L->n_out, 0.0, L->dW, L->n_out);
        return;
    }
    /* fused SGD: W = W - step * X^T.dZ inside the product (beta = 1), so the
     * update runs in the threads that computed it; b -= step * db */
    nn__gemm(x_trans, false, L->n_in, L->n_out, m, -step, X, ldx, dZ,
             L->n_out, 1.0, L->W, L->n_out);
    for (size_t j = 0; j < L->n_out; j++) L->b[j] -= step * L->db[j];
}

/* ------------------------------------------------------------ the object */
struct nn_dense {
    nn_allocator al;
    nn_layer L;
    size_t block_bytes; /* this struct + parameters + gradients */
    size_t m_cap;       /* rows the workspace holds */
    size_t m_last;      /* rows of the last forward, 0 if none */
    /* workspace for m_cap rows: H (activations, m_cap x n_out), G (dZ,
     * m_cap x n_out), then a row-major dX (m_cap x n_in) that is transposed
     * out when the caller asks for a column-major dX */
    double *ws;
};

nn_status nn_dense_create(nn_dense_t **out, size_t n_in, size_t n_out,
                          nn_activation act, double act_param,
                          const nn_allocator *alloc)
{
    if (!out) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_status st = nn__check_layer_shape(n_in, n_out, act, act_param);
    if (st) return st;
    /* one block: struct, W, b, dW, db */
    size_t nw = n_in * n_out, nvals, bytes;
    if (!nn__add(nw, n_out, &nvals) || !nn__mul(nvals, 2, &nvals) ||
        !nn__mul(nvals, sizeof(double), &bytes) ||
        !nn__add(bytes, sizeof(nn_dense_t), &bytes))
        return NN_ERR_TOO_LARGE;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_dense_t *d = nn__alloc(&al, bytes);
    if (!d) return NN_ERR_NOMEM;
    memset(d, 0, bytes);
    d->al = al;
    d->block_bytes = bytes;
    double *p = (double *)(d + 1);
    d->L = (nn_layer){.n_in = n_in, .n_out = n_out, .act = act,
                      .slope = act_param, .W = p, .b = p + nw,
                      .dW = p + nw + n_out, .db = p + 2 * nw + n_out};
    nn_rng r;
    nn__rng_seed(&r, 0);
    (void)nn__init_layer(&d->L, NN_INIT_DEFAULT, &r, &d->al); /* cannot fail */
    *out = d;
    return NN_OK;
}

static size_t ws_bytes(const nn_layer *L, size_t m)
{
    return m * (2 * L->n_out + L->n_in) * sizeof(double);
}

void nn_dense_destroy(nn_dense_t *d)
{
    if (!d) return;
    nn_allocator al = d->al;
    nn__free(&al, d->ws, ws_bytes(&d->L, d->m_cap));
    nn__free(&al, d, d->block_bytes);
}

size_t nn_dense_n_in(const nn_dense_t *d) { return d ? d->L.n_in : 0; }
size_t nn_dense_n_out(const nn_dense_t *d) { return d ? d->L.n_out : 0; }

nn_status nn_dense_reserve(nn_dense_t *d, size_t m_max)
{
    if (!d || m_max == 0) return NN_ERR_INVALID;
    if (m_max <= d->m_cap) return NN_OK;
    size_t per_row, bytes;
    if (!nn__fits_blas(m_max) ||
        !nn__add(2 * d->L.n_out, d->L.n_in, &per_row) ||
        !nn__mul(m_max, per_row, &bytes) ||
        !nn__mul(bytes, sizeof(double), &bytes))
        return NN_ERR_TOO_LARGE;
    double *ws = nn__alloc(&d->al, bytes);
    if (!ws) return NN_ERR_NOMEM;
    /* keep the cached activations of the last forward (H is the first
     * m_last x n_out values) so a backward may still follow */
    if (d->m_last)
        memcpy(ws, d->ws, d->m_last * d->L.n_out * sizeof(double));
    nn__free(&d->al, d->ws, ws_bytes(&d->L, d->m_cap));
    d->ws = ws;
    d->m_cap = m_max;
    return NN_OK;
}

nn_status nn_dense_forward(nn_dense_t *d, size_t m, nn_order order,
                           const double *X, size_t ldx, double *A, size_t lda)
{
    if (!d) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, d->L.n_in, order, ldx);
    if (!st) st = nn__check_matrix(A, m, d->L.n_out, order, lda);
    if (!st) st = nn_dense_reserve(d, m);
    if (st) return st;
    double *H = d->ws;
    nn__layer_forward(&d->L, m, order, X, ldx, H, false);
    size_t rs, cs;
    nn__strides(order, lda, &rs, &cs);
    nn__copy_matrix(m, d->L.n_out, H, d->L.n_out, 1, A, rs, cs);
    d->m_last = m;
    return NN_OK;
}

nn_status nn_dense_backward(nn_dense_t *d, size_t m, nn_order order,
                            const double *X, size_t ldx, const double *dA,
                            size_t ldda, double *dX, size_t lddx)
{
    if (!d) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, d->L.n_in, order, ldx);
    if (!st) st = nn__check_matrix(dA, m, d->L.n_out, order, ldda);
    if (!st && dX) st = nn__check_matrix(dX, m, d->L.n_in, order, lddx);
    if (st) return st;
    if (d->m_last == 0) return NN_ERR_STATE;
    if (m != d->m_last) return NN_ERR_SHAPE;
    const double *H = d->ws;
    double *G = d->ws + d->m_cap * d->L.n_out;
    size_t rs, cs;
    nn__strides(order, ldda, &rs, &cs);
    nn__act_backward(d->L.act, d->L.slope, m, d->L.n_out, H, NULL, dA, rs,
                     cs, G, d->L.db);
    if (dX && order == NN_COL_MAJOR) {
        /* dgemm writing dX^T rounds differently from dgemm writing dX, so a
         * column-major dX is computed row-major and transposed out: the
         * promise is bitwise-equal results in both orders */
        double *dX_rm = G + d->m_cap * d->L.n_out;
        nn__layer_backward(&d->L, m, order, X, ldx, G, dX_rm, d->L.n_in, 0.0);
        nn__copy_matrix(m, d->L.n_in, dX_rm, d->L.n_in, 1, dX, 1, lddx);
    } else {
        nn__layer_backward(&d->L, m, order, X, ldx, G, dX, lddx, 0.0);
    }
    return NN_OK;
}

/* ------------------------------------------------------------ parameters */
/* Copy an n_in x n_out row-major block to/from a caller matrix in `order`. */
static nn_status check_param_args(const nn_layer *L, nn_order order,
                                  const void *W, size_t ldw, const void *b)
{
    if (!W && !b) return NN_ERR_INVALID;
    if (order != NN_ROW_MAJOR && order != NN_COL_MAJOR) return NN_ERR_INVALID;
    if (W) return nn__check_matrix(W, L->n_in, L->n_out, order, ldw);
    return NN_OK;
}

static void copy_out(const nn_layer *L, const double *srcW,
                     const double *srcb, nn_order order, double *W,
                     size_t ldw, double *b)
{
    if (W) {
        size_t rs, cs;
        nn__strides(order, ldw, &rs, &cs);
        nn__copy_matrix(L->n_in, L->n_out, srcW, L->n_out, 1, W, rs, cs);
    }
    if (b) memcpy(b, srcb, L->n_out * sizeof(double));
}

nn_status nn__layer_get(const nn_layer *L, bool grads, nn_order order,
                        double *W, size_t ldw, double *b)
{
    nn_status st = check_param_args(L, order, W, ldw, b);
    if (st) return st;
    copy_out(L, grads ? L->dW : L->W, grads ? L->db : L->b, order, W, ldw, b);
    return NN_OK;
}

nn_status nn__layer_set(nn_layer *L, nn_order order, const double *W,
                        size_t ldw, const double *b)
{
    nn_status st = check_param_args(L, order, W, ldw, b);
    if (st) return st;
    if (W) {
        size_t rs, cs;
        nn__strides(order, ldw, &rs, &cs);
        nn__copy_matrix(L->n_in, L->n_out, W, rs, cs, L->W, L->n_out, 1);
    }
    if (b) memcpy(L->b, b, L->n_out * sizeof(double));
    return NN_OK;
}

nn_status nn_dense_get_params(const nn_dense_t *d, nn_order order, double *W,
                              size_t ldw, double *b)
{
    return d ? nn__layer_get(&d->L, false, order, W, ldw, b) : NN_ERR_INVALID;
}

nn_status nn_dense_set_params(nn_dense_t *d, nn_order order, const double *W,
                              size_t ldw, const double *b)
{
    return d ? nn__layer_set(&d->L, order, W, ldw, b) : NN_ERR_INVALID;
}

nn_status nn_dense_get_grads(const nn_dense_t *d, nn_order order, double *dW,
                             size_t ldw, double *db)
{
    return d ? nn__layer_get(&d->L, true, order, dW, ldw, db) : NN_ERR_INVALID;
}

double *nn_dense_weights(nn_dense_t *d) { return d ? d->L.W : NULL; }
double *nn_dense_bias(nn_dense_t *d) { return d ? d->L.b : NULL; }
const double *nn_dense_grad_weights(const nn_dense_t *d)
{
    return d ? d->L.dW : NULL;
}
const double *nn_dense_grad_bias(const nn_dense_t *d)
{
    return d ? d->L.db : NULL;
}
