/* test_gemm.c — lib/gemm_small.c's own product kernel (compiled into this
 * test: it is internal), on every instruction set this CPU has, against
 * cblas_dgemm: C = alpha op(A) B + beta C for shapes that reach every tile
 * (4 x 2 vectors, 8 x 1, 1 x 4, 1 x 1, the masked right edge), both
 * transposes of A, leading dimensions wider than the matrices, beta = 0
 * over a C full of NaN (C must not be read) and beta != 0; and the
 * column-major promise: A transposed gives bitwise the same C as A. The
 * whole-library paths (the routing in lib/gemm.c, -Dsmall_gemm=false) are
 * covered by the reference suites (notes, gradcheck, dense, ...). */
/* BLIS's cblas.h needs POSIX 2001 (pthread barriers) */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "nn_private.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    size_t M, N, K;
} shape;

/* |C - ref| <= 1e-14 (sum_k |alpha a b| + |beta c|) elementwise */
static void compare(const char *what, size_t M, size_t N, const double *C,
                    const double *R, const double *mag, size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double c = C[i * ldc + j], r = R[i * ldc + j];
            double tol = 1e-14 * mag[i * N + j] + 1e-300;
            ck_assert_msg(fabs(c - r) <= tol,
                          "%s: C(%zu,%zu) = %.17g, BLAS %.17g", what, i, j, c, r);
        }
}

static void one_case(const shape *s, bool ta, double alpha, double beta,
                     tu_rng *r)
{
    size_t M = s->M, N = s->N, K = s->K;
    size_t lda = (ta ? M : K) + 3, ldb = N + 2, ldc = N + 1;
    size_t arows = ta ? K : M;
    double *A = tu_dalloc(arows * lda + 1), *At = tu_dalloc((M + 1) * (K + 1));
    double *B = tu_dalloc(K * ldb + 1), *C = tu_dalloc(M * ldc + 1);
    double *R = tu_dalloc(M * ldc + 1), *C2 = tu_dalloc(M * ldc + 1);
    double *mag = tu_dalloc(M * N + 1);
    tu_fill(r, A, arows * lda, -1.0, 1.0);
    tu_fill(r, B, K * ldb, -1.0, 1.0);
    tu_fill(r, C, M * ldc, -1.0, 1.0);
    memcpy(R, C, M * ldc * sizeof *C);
    if (beta == 0.0) tu_fill_value(C, M * ldc, NAN); /* never read */
    memcpy(C2, C, M * ldc * sizeof *C);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double m = fabs(beta * R[i * ldc + j]);
            for (size_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                m += fabs(alpha * a * B[k * ldb + j]);
            }
            mag[i * N + j] = m;
        }
    nn__gemm_small(ta, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta,
                R, (int)ldc);
    char what[96];
    snprintf(what, sizeof what, "%zux%zux%zu ta=%d alpha=%g beta=%g", M, N, K,
             (int)ta, alpha, beta);
    compare(what, M, N, C, R, mag, ldc);
    /* the other transpose of the same values: bitwise equal */
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < K; k++)
            At[ta ? i * (K + 1) + k : k * (M + 1) + i] =
                ta ? A[k * lda + i] : A[i * lda + k];
    if (!ta) { /* At is A^T stored K x M with ld M+1: pass it transposed */
        nn__gemm_small(true, M, N, K, alpha, At, M + 1, B, ldb, beta, C2, ldc);
    } else {   /* At is A stored M x K with ld K+1 */
        nn__gemm_small(false, M, N, K, alpha, At, K + 1, B, ldb, beta, C2, ldc);
    }
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++)
            ck_assert_msg(memcmp(&C[i * ldc + j], &C2[i * ldc + j],
                                 sizeof(double)) == 0,
                          "%s: transposed A not bitwise equal at (%zu,%zu)",
                          what, i, j);
    free(A); free(At); free(B); free(C); free(R); free(C2); free(mag);
}

START_TEST(test_against_blas)
{
    static const size_t Ms[] = {1, 2, 3, 4, 5, 8, 9, 13};
    static const size_t Ns[] = {1, 3, 4, 7, 8, 9, 16, 17, 33, 64};
    static const size_t Ks[] = {1, 2, 5, 64};
    static const shape big[] = {{1, 64, 600}, {9, 17, 600}, {70, 40, 30},
                                {33, 130, 7}};
    int best = nn__gemm_small_force(99);
    for (int level = 0; level <= best; level++) {
        ck_assert_int_eq(nn__gemm_small_force(level), level);
        tu_rng r = {(uint64_t)level + 11u};
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                    shape s = {Ms[a], Ns[b], Ks[c]};
                    one_case(&s, (a + b + c) % 2 == 0, 1.0, 0.0, &r);
                    one_case(&s, (a + b + c) % 2 == 1, -0.5, 0.25, &r);
                }
        for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
            one_case(&big[i], false, 1.0, 0.0, &r);
            one_case(&big[i], true, -0.01, 1.0, &r);
        }
    }
    nn__gemm_small_force(best);
}
END_TEST

/* The baseline kernel (no fused multiply-add) gives bitwise what the
 * plain loops give: sum over k in increasing order, then alpha s + beta c. */
START_TEST(test_baseline_is_the_plain_loop)
{
    int best = nn__gemm_small_force(99);
    nn__gemm_small_force(0);
    enum { M = 6, N = 19, K = 11 };
    double A[M * K], B[K * N], C[M * N], P[M * N];
    tu_rng r = {17};
    tu_fill(&r, A, M * K, -1.0, 1.0);
    tu_fill(&r, B, K * N, -1.0, 1.0);
    tu_fill(&r, C, M * N, -1.0, 1.0);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0.0;
            for (size_t k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
            P[i * N + j] = 0.5 * s + 2.0 * C[i * N + j];
        }
    nn__gemm_small(false, M, N, K, 0.5, A, K, B, N, 2.0, C, N);
    ck_assert(memcmp(C, P, sizeof C) == 0);
    nn__gemm_small_force(best);
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_against_blas);
    tcase_add_test(tc, test_baseline_is_the_plain_loop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(gemm_suite()); }
