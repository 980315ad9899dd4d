/* gemm.c — the one place libnn calls BLAS, and the BLAS thread setting. */
#include "nn_private.h"

#include <cblas.h>
#include <limits.h>

void nn__gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K,
              double alpha, const double *A, size_t lda, const double *B,
              size_t ldb, double beta, double *C, size_t ldc)
{
    /* C = alpha * op(A) . op(B) + beta * C (row-major). Every size was checked
     * against INT_MAX by the caller's validation, so the casts are exact. */
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
