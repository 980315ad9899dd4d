/* naive.c — reference math for nnbench. Built at -O2 without BLAS: the
 * products here are the "naive" reference of the issue. */
#include "naive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void naive_gemm_ijk(int ta, int tb, size_t M, size_t N, size_t K,
                    const double *A, size_t lda, const double *B, size_t ldb,
                    double *C, size_t ldc)
{
    /* op(A)(i,k) = A[i*ars + k*acs], op(B)(k,j) = B[k*brs + j*bcs] */
    size_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
    size_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0.0;
            for (size_t k = 0; k < K; k++)
                s += A[i * ars + k * acs] * B[k * brs + j * bcs];
            C[i * ldc + j] = s;
        }
}

void naive_gemm_reordered(int ta, int tb, size_t M, size_t N, size_t K,
                          const double *A, size_t lda, const double *B,
                          size_t ldb, double *C, size_t ldc)
{
    if (tb) { /* A.B^T (and A^T.B^T): dot products of contiguous rows */
        naive_gemm_ijk(ta, tb, M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) C[i * ldc + j] = 0.0;
    if (!ta) { /* A.B: i, k, j */
        for (size_t i = 0; i < M; i++)
            for (size_t k = 0; k < K; k++) {
                double a = A[i * lda + k];
                const double *b = B + k * ldb;
                double *c = C + i * ldc;
                for (size_t j = 0; j < N; j++) c[j] += a * b[j];
            }
    } else { /* A^T.B: k, i, j */
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < M; i++) {
                double a = A[k * lda + i];
                const double *b = B + k * ldb;
                double *c = C + i * ldc;
                for (size_t j = 0; j < N; j++) c[j] += a * b[j];
            }
    }
}

/* ------------------------------------------------ elementwise (as libnn) */
static double act_fwd(nn_activation act, double z)
{
    switch (act) {
    case NN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case NN_ACT_TANH: return tanh(z);
    case NN_ACT_RELU: return z < 0.0 ? 0.0 : z;
    default: return z;
    }
}

/* dz from da and a = g(z) */
static double act_bwd(nn_activation act, double a, double da)
{
    switch (act) {
    case NN_ACT_SIGMOID: return da * a * (1.0 - a);
    case NN_ACT_TANH: return da * (1.0 - a * a);
    case NN_ACT_RELU: return a > 0.0 ? da : 0.0;
    default: return da;
    }
}

static void bias_act(nn_activation act, size_t m, size_t n, const double *b,
                     double *Z)
{
    for (size_t i = 0; i < m; i++) {
        double *r = Z + i * n;
        for (size_t j = 0; j < n; j++) r[j] += b[j];
        for (size_t j = 0; j < n; j++) r[j] = act_fwd(act, r[j]);
    }
}

static void act_back(nn_activation act, size_t m, size_t n, const double *A,
                     const double *dA, double *dZ, double *db)
{
    for (size_t j = 0; j < n; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double v = act_bwd(act, A[i * n + j], dA[i * n + j]);
            dZ[i * n + j] = v;
            db[j] += v;
        }
}

void ref_dense_step(bench_gemm_fn gemm, nn_activation act, size_t m,
                    size_t n_in, size_t n_out, const double *X,
                    const double *W, const double *b, const double *dA,
                    double *A, double *dZ, double *dW, double *db, double *dX)
{
    gemm(0, 0, m, n_out, n_in, X, n_in, W, n_out, A, n_out);
    bias_act(act, m, n_out, b, A);
    act_back(act, m, n_out, A, dA, dZ, db);
    gemm(1, 0, n_in, n_out, m, X, n_in, dZ, n_out, dW, n_out);
    gemm(0, 1, m, n_in, n_out, dZ, n_out, W, n_out, dX, n_in);
}

/* ------------------------------------------------ network */
int ref_net_alloc(ref_net *r, size_t L, const size_t *n,
                  const nn_activation *act, nn_loss loss, size_t m)
{
    memset(r, 0, sizeof *r);
    if (L == 0 || L > REF_MAX_LAYERS) return -1;
    r->L = L;
    r->m = m;
    r->loss = loss;
    size_t mx = 0;
    for (size_t l = 0; l <= L; l++) r->n[l] = n[l];
    for (size_t l = 0; l < L; l++) {
        r->act[l] = act[l];
        size_t nw = n[l] * n[l + 1];
        r->W[l] = malloc(nw * sizeof(double));
        r->dW[l] = malloc(nw * sizeof(double));
        r->b[l] = malloc(n[l + 1] * sizeof(double));
        r->db[l] = malloc(n[l + 1] * sizeof(double));
        r->A[l] = malloc(m * n[l + 1] * sizeof(double));
        if (!r->W[l] || !r->dW[l] || !r->b[l] || !r->db[l] || !r->A[l])
            return -1;
        mx = n[l + 1] > mx ? n[l + 1] : mx;
    }
    r->G0 = malloc(m * mx * sizeof(double));
    r->G1 = malloc(m * mx * sizeof(double));
    return r->G0 && r->G1 ? 0 : -1;
}

void ref_net_free(ref_net *r)
{
    for (size_t l = 0; l < r->L; l++) {
        free(r->W[l]);
        free(r->dW[l]);
        free(r->b[l]);
        free(r->db[l]);
        free(r->A[l]);
    }
    free(r->G0);
    free(r->G1);
    memset(r, 0, sizeof *r);
}

static double loss_grad(const ref_net *r, const double *Z,
                        const int32_t *labels, const double *Y, double *G,
                        double *db)
{
    size_t m = r->m, k = r->n[r->L];
    double sum = 0.0, dm = (double)m;
    for (size_t j = 0; j < k; j++) db[j] = 0.0;
    if (r->loss == NN_LOSS_SOFTMAX_CE) {
        for (size_t i = 0; i < m; i++) {
            const double *z = Z + i * k;
            double mx = z[0];
            for (size_t j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
            double s = 0.0;
            for (size_t j = 0; j < k; j++) s += exp(z[j] - mx);
            double lse = mx + log(s);
            sum += lse - z[labels[i]];
            for (size_t j = 0; j < k; j++) {
                double y = (size_t)labels[i] == j ? 1.0 : 0.0;
                double v = (exp(z[j] - lse) * 1.0 - y) / dm;
                G[i * k + j] = v;
                db[j] += v;
            }
        }
    } else { /* BCE from logits */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) {
                double z = Z[i * k + j], y = Y[i * k + j];
                if (z >= 0.0)
                    sum += (y != 1.0 ? (1.0 - y) * z : 0.0) + log1p(exp(-z));
                else
                    sum += (y != 0.0 ? -y * z : 0.0) + log1p(exp(z));
                double g = (1.0 / (1.0 + exp(-z)) - y) / dm;
                G[i * k + j] = g;
                db[j] += g;
            }
    }
    return sum / dm;
}

double ref_net_gradient(ref_net *r, bench_gemm_fn gemm, const double *X,
                        const int32_t *labels, const double *Y)
{
    size_t m = r->m, L = r->L;
    const double *in = X;
    for (size_t l = 0; l < L; l++) {
        gemm(0, 0, m, r->n[l + 1], r->n[l], in, r->n[l], r->W[l], r->n[l + 1],
             r->A[l], r->n[l + 1]);
        /* the output layer keeps its logits: the loss applies g */
        bias_act(l + 1 == L ? NN_ACT_IDENTITY : r->act[l], m, r->n[l + 1],
                 r->b[l], r->A[l]);
        in = r->A[l];
    }
    double *G = r->G0, *Gn = r->G1;
    double loss = loss_grad(r, r->A[L - 1], labels, Y, G, r->db[L - 1]);
    for (size_t l = L; l-- > 0;) {
        const double *inp = l ? r->A[l - 1] : X;
        gemm(1, 0, r->n[l], r->n[l + 1], m, inp, r->n[l], G, r->n[l + 1],
             r->dW[l], r->n[l + 1]);
        if (l == 0) break;
        gemm(0, 1, m, r->n[l], r->n[l + 1], G, r->n[l + 1], r->W[l],
             r->n[l + 1], Gn, r->n[l]);
        act_back(r->act[l - 1], m, r->n[l], r->A[l - 1], Gn, Gn,
                 r->db[l - 1]);
        double *t = G;
        G = Gn;
        Gn = t;
    }
    return loss;
}

void ref_net_sgd(ref_net *r, double alpha)
{
    for (size_t l = 0; l < r->L; l++) {
        size_t nw = r->n[l] * r->n[l + 1];
        for (size_t i = 0; i < nw; i++) r->W[l][i] -= alpha * r->dW[l][i];
        for (size_t j = 0; j < r->n[l + 1]; j++)
            r->b[l][j] -= alpha * r->db[l][j];
    }
}
