/* gemm.c — the one place libnn calls BLAS, and the BLAS thread setting. */
#include "nn_private.h"

#include <cblas.h>
#include <limits.h>

/* Products with at most this many multiply-adds skip BLAS: at such sizes a
 * cblas_dgemm call costs more in dispatch (argument checks, buffer and
 * thread set-up, ~100 ns) than the arithmetic, e.g. the notes' 2-4-1 network
 * at batch 1. Measured crossover on the bench machine: see PERFORMANCE.md. */
#define NN_SMALL_GEMM_MADDS 2048

/* C = alpha * op(A) . op(B) + beta * C by plain loops. Each C(i,j) is summed
 * over k in increasing order whatever the transpose flags, so transposed and
 * plain operands give bitwise-equal results (the column-major promise). The
 * flags become strides: op(A)(i,k) = A[i*ars + k*acs]. */
static void small_gemm(bool ta, bool tb, size_t M, size_t N, size_t K,
                       double alpha, const double *A, size_t lda,
                       const double *B, size_t ldb, double beta, double *C,
                       size_t ldc)
{
    size_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
    size_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
    for (size_t i = 0; i < M; i++) {
        double *c = C + i * ldc;
        const double *a = A + i * ars;
        for (size_t j = 0; j < N; j++) {
            const double *b = B + j * bcs;
            double s = 0.0;
            for (size_t k = 0; k < K; k++) s += a[k * acs] * b[k * brs];
            /* beta == 0: C is not read (it may hold NaN) */
            c[j] = beta == 0.0 ? alpha * s : alpha * s + beta * c[j];
        }
    }
}

void nn__gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K,
              double alpha, const double *A, size_t lda, const double *B,
              size_t ldb, double beta, double *C, size_t ldc)
{
    /* C = alpha * op(A) . op(B) + beta * C (row-major). Every size was checked
     * against INT_MAX by the caller's validation, so the casts are exact. */
    /* each factor bounded first, so the product cannot wrap around */
    if (M <= NN_SMALL_GEMM_MADDS && N <= NN_SMALL_GEMM_MADDS &&
        K <= NN_SMALL_GEMM_MADDS && M * N * K <= NN_SMALL_GEMM_MADDS) {
        small_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                   ldc);
        return;
    }
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

nn_status nn_set_num_threads(size_t n)
{
    if (n == 0) return NN_ERR_INVALID;
    if (n > (size_t)INT_MAX) return NN_ERR_TOO_LARGE;
    openblas_set_num_threads((int)n);
    return NN_OK;
}

size_t nn_get_num_threads(void)
{
    int n = openblas_get_num_threads();
    return n > 0 ? (size_t)n : 1;
}
