/* naive.h — reference implementations for nnbench: a row-major matrix
 * product in two plain-C forms (compiled at -O2, no BLAS) and the dense-layer
 * and network math written once over any product, so the same code gives the
 * naive reference (naive products) and the checking reference (cblas_dgemm).
 */
#ifndef NNBENCH_NAIVE_H
#define NNBENCH_NAIVE_H

#include <nn.h>
#include <stddef.h>
#include <stdint.h>

/* C = op(A).op(B), row-major, C is M x N, op(A) M x K, op(B) K x N;
 * op(X) = X^T when the flag is set. */
typedef void (*bench_gemm_fn)(int ta, int tb, size_t M, size_t N, size_t K,
                              const double *A, size_t lda, const double *B,
                              size_t ldb, double *C, size_t ldc);

/* Textbook triple loop i, j, k with the sum over k innermost. */
void naive_gemm_ijk(int ta, int tb, size_t M, size_t N, size_t K,
                    const double *A, size_t lda, const double *B, size_t ldb,
                    double *C, size_t ldc);
/* The same triple loop with the loop order chosen per case so that the
 * innermost loop runs over contiguous memory (i,k,j for A.B; k,i,j for
 * A^T.B; i,j,k for A.B^T). Still plain C, no blocking. */
void naive_gemm_reordered(int ta, int tb, size_t M, size_t N, size_t K,
                          const double *A, size_t lda, const double *B,
                          size_t ldb, double *C, size_t ldc);

/* One dense layer forward + backward (same math as nn_dense_forward then
 * nn_dense_backward with dX), X m x n_in, W n_in x n_out, all row-major,
 * contiguous: A = g(X.W + b); dZ = dA o g'(Z) (in dZ); db = colsum(dZ);
 * dW = X^T.dZ; dX = dZ.W^T. */
void ref_dense_step(bench_gemm_fn gemm, nn_activation act, size_t m,
                    size_t n_in, size_t n_out, const double *X,
                    const double *W, const double *b, const double *dA,
                    double *A, double *dZ, double *dW, double *db, double *dX);

#define REF_MAX_LAYERS 8
/* A network for the reference: n[0] inputs, layers l = 0..L-1 with n[l+1]
 * units, W[l] row-major n[l] x n[l+1]. Output loss softmax CE (labels) or
 * BCE (dense Y, single or multiple sigmoid outputs). */
typedef struct ref_net {
    size_t L, m;
    size_t n[REF_MAX_LAYERS + 1];
    nn_activation act[REF_MAX_LAYERS];
    nn_loss loss;
    double *W[REF_MAX_LAYERS], *b[REF_MAX_LAYERS];
    double *dW[REF_MAX_LAYERS], *db[REF_MAX_LAYERS];
    double *A[REF_MAX_LAYERS]; /* layer outputs (the last one: logits) */
    double *G0, *G1;           /* m x max width, used in turn */
} ref_net;

int ref_net_alloc(ref_net *r, size_t L, const size_t *n,
                  const nn_activation *act, nn_loss loss, size_t m);
void ref_net_free(ref_net *r);
/* Forward, loss (mean over the batch) and gradients dW, db; X is m x n[0];
 * targets as class labels (softmax CE) or dense Y (m x n[L], BCE).
 * Returns the loss. */
double ref_net_gradient(ref_net *r, bench_gemm_fn gemm, const double *X,
                        const int32_t *labels, const double *Y);
/* W -= alpha dW, b -= alpha db. */
void ref_net_sgd(ref_net *r, double alpha);

#endif
