/* gemm.c — the one place libnn calls BLAS, and the BLAS thread setting. */
#include "nn_private.h"

#ifdef NN_CBLAS_MKL_H
#include <mkl_cblas.h> /* MKL ships no cblas.h (meson.build, BLAS) */
#else
#include <cblas.h>
#endif
#include <limits.h>

/* Products with at most this many multiply-adds skip BLAS: at such sizes a
 * cblas_dgemm call costs more in dispatch (argument checks, buffer and
 * thread set-up, ~100 ns) than the arithmetic, e.g. the notes' 2-4-1 network
 * at batch 1. Measured crossover on the bench machine: see PERFORMANCE.md.
 * Building with -Dsmall_gemm=false (meson defines NN_NO_SMALL_GEMM) sends
 * every product to BLAS, so that the test suites' small networks exercise
 * cblas_dgemm too (CI runs the notes and gradient-check suites so). */
#ifndef NN_NO_SMALL_GEMM
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
#endif

void nn__gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K,
              double alpha, const double *A, size_t lda, const double *B,
              size_t ldb, double beta, double *C, size_t ldc)
{
    /* C = alpha * op(A) . op(B) + beta * C (row-major). Every size was checked
     * against INT_MAX by the caller's validation, so the casts are exact. */
#ifndef NN_NO_SMALL_GEMM
    /* each factor bounded first, so the product cannot wrap around */
    if (M <= NN_SMALL_GEMM_MADDS && N <= NN_SMALL_GEMM_MADDS &&
        K <= NN_SMALL_GEMM_MADDS && M * N * K <= NN_SMALL_GEMM_MADDS) {
        small_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                   ldc);
        return;
    }
#endif
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Thread control goes to the BLAS's own call; meson defines NN_BLAS_<name>
 * after checking that the call links (meson.build, "Thread control"). */
#if defined(NN_BLAS_OPENBLAS)
/* declared by OpenBLAS's cblas.h */
static void blas_set_threads(int n) { openblas_set_num_threads(n); }
static int blas_get_threads(void) { return openblas_get_num_threads(); }
#elif defined(NN_BLAS_BLIS)
#include <blis.h>
static void blas_set_threads(int n) { bli_thread_set_num_threads((dim_t)n); }
/* BLIS reports -1 until a count is set (its default then is one thread) */
static int blas_get_threads(void)
{
    dim_t n = bli_thread_get_num_threads();
    return n > 0 && n <= INT_MAX ? (int)n : 1;
}
#elif defined(NN_BLAS_MKL)
/* MKL's service calls (mkl_service.h), declared here so that only <cblas.h>
 * is needed */
void MKL_Set_Num_Threads(int nth);
int MKL_Get_Max_Threads(void);
static void blas_set_threads(int n) { MKL_Set_Num_Threads(n); }
static int blas_get_threads(void) { return MKL_Get_Max_Threads(); }
#endif
#if defined(NN_BLAS_OPENBLAS) || defined(NN_BLAS_BLIS) || defined(NN_BLAS_MKL)
#define NN_BLAS_THREADS 1
#endif

/* Arguments are checked first in every build, so an error path reads the
 * same whichever BLAS is linked. */
nn_status nn_set_num_threads(size_t n)
{
    if (n == 0) return NN_ERR_INVALID;
    if (n > (size_t)INT_MAX) return NN_ERR_TOO_LARGE;
#ifdef NN_BLAS_THREADS
    blas_set_threads((int)n);
    return NN_OK;
#else
    return NN_ERR_UNSUPPORTED; /* a generic CBLAS has no thread control */
#endif
}

nn_status nn_get_num_threads(size_t *n)
{
    if (!n) return NN_ERR_INVALID;
#ifdef NN_BLAS_THREADS
    int t = blas_get_threads();
    *n = t > 0 ? (size_t)t : 1;
    return NN_OK;
#else
    return NN_ERR_UNSUPPORTED;
#endif
}
