/* tiny.c — the one-sample SGD step of a tiny network (every layer at most
 * NN__TINY_GEMM_MADDS = 64 weights, no dropout): the notes' 2-4-1 network
 * trained sample by sample, the case FANN's fann_train is made for. There
 * the general path (net.c's forward and backward_all) spends more time in
 * its per-layer calls — nn__gemm's size tests, the layer and context
 * look-ups — than in its 20-odd multiply-adds (docs/PERFORMANCE.md, "2-4-1
 * at batch 1"), so this file does the same step in straight loops over the
 * same buffers.
 *
 * Same bits as the general path: for such layers lib/gemm.c's plain loops
 * compute every product (each sum over k in increasing order from 0.0,
 * then alpha * s + beta * c, no fused multiply-add: ISO C contracts
 * nothing), and the loops below do exactly those operations in the same
 * order per element; the activations, their derivatives and the loss are
 * the general path's own functions. tests/test_tiny.c holds the two paths
 * to bitwise equality on every activation, loss, target kind and order.
 * With -Dsmall_gemm=false (every product through BLAS) this path is off. */
#include "nn_private.h"

#include <stdbool.h>

bool nn__tiny_fits(const nn_layer *layers, size_t n_layers, size_t m)
{
#ifdef NN_NO_SMALL_GEMM
    (void)layers, (void)n_layers, (void)m;
    return false; /* every product through BLAS: the general path only */
#else
    if (m != 1) return false;
    for (size_t l = 0; l < n_layers; l++)
        if (layers[l].dropout != 0.0 ||
            layers[l].n_in * layers[l].n_out > NN__TINY_GEMM_MADDS)
            return false;
    return true;
#endif
}

/* A = g(x.W + b) for one row x (element stride xs); logits_only: A = x.W +
 * b. Each A_j is summed in a register over increasing k, from 0.0, as the
 * plain-loop product does (a sum kept in A itself would chain every term
 * through a store and a load). */
static void tiny_forward(const nn_layer *L, const double *x, size_t xs,
                         double *restrict A, bool logits_only)
{
    size_t n = L->n_out;
    for (size_t j = 0; j < n; j++) {
        const double *w = L->W + j;
        double s = 0.0;
        for (size_t k = 0; k < L->n_in; k++) s += x[k * xs] * w[k * n];
        A[j] = s;
    }
    nn__act_forward(logits_only ? NN_ACT_IDENTITY : L->act, L->slope, 1, n,
                    L->b, A);
}

/* The layer's backward with the SGD update fused, for one row: dx = dz.W^T
 * (before W changes; dx NULL for the input layer), then
 * W -= step * x^T.dz and b -= step * db (db = dz, already summed). */
static void tiny_backward(nn_layer *L, const double *x, size_t xs,
                          const double *restrict dz, double *restrict dx,
                          double step)
{
    size_t n = L->n_out;
    if (dx)
        for (size_t i = 0; i < L->n_in; i++) {
            const double *w = L->W + i * n;
            double s = 0.0;
            for (size_t j = 0; j < n; j++) s += dz[j] * w[j];
            dx[i] = s;
        }
    for (size_t i = 0; i < L->n_in; i++) {
        double xi = x[i * xs], *restrict w = L->W + i * n;
        for (size_t j = 0; j < n; j++) {
            double s = 0.0 + xi * dz[j]; /* the product's one term */
            w[j] += -step * s; /* alpha s + beta w, alpha = -step, beta = 1 */
        }
    }
    for (size_t j = 0; j < n; j++) L->b[j] -= step * L->db[j];
}

double nn__tiny_step(const nn__tiny_net *t, const double *X, size_t xs,
                     const nn_targets *y, double step, bool want_loss)
{
    size_t last = t->n_layers - 1;
    nn_layer *Lo = &t->layers[last];
    const double *in = X;
    size_t ins = xs;
    for (size_t l = 0; l <= last; l++) {
        double *A = nn__ctx_act(t->ctx, l);
        tiny_forward(&t->layers[l], in, ins, A, l == last && t->logits);
        in = A;
        ins = 1;
    }
    nn__ctx_set_rows(t->ctx, 1);
    const double *O = nn__ctx_act(t->ctx, last);
    double *G = nn__ctx_grad(t->ctx, 0), *Gnext = nn__ctx_grad(t->ctx, 1);
    double loss = nn__loss(t->loss, t->reduction, 1, Lo->n_out, O, y, G,
                           Lo->db, want_loss);
    if (!t->logits) /* MSE gave dL/dA */
        nn__act_backward(Lo->act, Lo->slope, 1, Lo->n_out, O, NULL, G,
                         Lo->n_out, 1, G, Lo->db);
    for (size_t l = last + 1; l-- > 0;) {
        nn_layer *L = &t->layers[l];
        const double *x = l ? nn__ctx_act(t->ctx, l - 1) : X;
        tiny_backward(L, x, l ? 1 : xs, G, l ? Gnext : NULL, step);
        if (l == 0) break;
        const nn_layer *P = &t->layers[l - 1];
        nn__act_backward(P->act, P->slope, 1, P->n_out, x, NULL, Gnext,
                         P->n_out, 1, Gnext, P->db);
        double *tmp = G;
        G = Gnext;
        Gnext = tmp;
    }
    return loss;
}
