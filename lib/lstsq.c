/* lstsq.c — closed-form least squares (linear regression) through LAPACKE's
 * SVD-based dgelsd: min ||[X 1] [w; b] - y||_2, minimum-norm solution when
 * [X 1] (or X, without intercept) is rank-deficient or m < n. */
#include "nn_private.h"

#include <float.h>

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

nn_status nn_lstsq(size_t m, size_t n, nn_order order, const double *X,
                   size_t ldx, const double *y, double *w, double *b)
{
    nn_status st = nn__check_matrix(X, m, n, order, ldx);
    if (st != NN_OK) return st;
    if (!y || !w) return NN_ERR_INVALID;

    /* A = [X 1] (or X): m x nc, column-major, lda = m; B: ldb x 1. */
    size_t nc = n + (b ? 1 : 0); /* n fits an int: no overflow */
    size_t ldb = m > nc ? m : nc;
    size_t mn = m < nc ? m : nc;
    if (!nn__fits_blas(nc) || !nn__fits_blas(ldb)) return NN_ERR_TOO_LARGE;
    size_t a_len, total, bytes;
    if (!nn__mul(m, nc, &a_len) || !nn__add(a_len, ldb, &total) ||
        !nn__add(total, mn, &total) ||
        !nn__mul(total, sizeof(double), &bytes))
        return NN_ERR_TOO_LARGE;
    double *A = malloc(bytes);
    if (!A) return NN_ERR_NOMEM;
    double *B = A + a_len, *s = B + ldb;

    size_t rs, cs;
    nn__strides(order, ldx, &rs, &cs);
    nn__copy_matrix(m, n, X, rs, cs, A, 1, m);
    if (b)
        for (size_t i = 0; i < m; i++) A[i + n * m] = 1.0;
    memcpy(B, y, m * sizeof(double));
    for (size_t i = m; i < ldb; i++) B[i] = 0.0;
    /* NaN/Inf in X or y: no meaningful solution (and LAPACKE's own NaN check
     * is a build option), so say so whatever LAPACK would do. */
    for (size_t i = 0; i < a_len + m; i++)
        if (!isfinite(A[i])) { /* A, then B = A + a_len */
            free(A);
            return NN_ERR_NUMERIC;
        }

    /* Singular values below max(m, n) * eps * s_max count as zero (numpy's
     * lstsq default). LAPACK's rcond = -1 (plain eps) is too tight: a value
     * that is zero in exact arithmetic comes out at 1e-15..3e-15 of s_max
     * depending on the BLAS, and a different BLAS would give a different
     * rank and solution. */
    double rcond = (double)(m > nc ? m : nc) * DBL_EPSILON;
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)m,
                                     (lapack_int)nc, 1, A, (lapack_int)m, B,
                                     (lapack_int)ldb, s, rcond, &rank);
    if (info == LAPACK_WORK_MEMORY_ERROR) st = NN_ERR_NOMEM;
    else if (info != 0) st = NN_ERR_NUMERIC;
    else {
        memcpy(w, B, n * sizeof(double));
        if (b) *b = B[n];
    }
    free(A);
    return st;
}
