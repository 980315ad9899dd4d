/* gemm_small.c — libnn's own kernel for the small products where a
 * cblas_dgemm call costs more than its arithmetic (lib/gemm.c decides
 * which products come here): C = alpha op(A) B + beta C with B not
 * transposed, register-tiled (4 rows x two vectors, or one row x four
 * vectors for matrix-vector shapes) in GNU C vector types
 * (lib/gemm_small_kernels.h), built for the baseline and, on
 * x86-64 with GCC or Clang, for AVX2+FMA and AVX-512, chosen at load time
 * like lib/vmath.c's kernels. Why own kernels and not LIBXSMM:
 * docs/PERFORMANCE.md ("Small products"). */
#include "nn_private.h"

#include <stddef.h>
#include <string.h>

typedef void (*gs_fn)(size_t M, size_t N, size_t K, double alpha,
                      const double *A, size_t ars, size_t acs,
                      const double *B, size_t ldb, double beta, double *C,
                      size_t ldc);

#if defined(__GNUC__) || defined(__clang__)
#include <string.h>
/* ---- the baseline (SSE2 on x86-64): 16-byte vectors, no fused
 * multiply-add (so its results are the plain loops' bit for bit) */
#define GS_NAME(f) f##_base
#define GS_VB 16
#define GS_FMA(a, b, c) ((a) * (b) + (c))
/* an edge of two-lane vectors is one column wide */
#define GS_MASK_T int
#define GS_MASK(w) 0
#define GS_LDM(p, m) ((vec_base){(p)[0], 0.0})
#include "gemm_small_kernels.h"
#undef GS_NAME
#undef GS_VB
#undef GS_FMA
#undef GS_MASK_T
#undef GS_MASK
#undef GS_LDM
#else
/* another compiler: the plain loops, k innermost */
static void gemm_nb_base(size_t M, size_t N, size_t K, double alpha,
                         const double *A, size_t ars, size_t acs,
                         const double *B, size_t ldb, double beta, double *C,
                         size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0.0;
            for (size_t k = 0; k < K; k++)
                s += A[i * ars + k * acs] * B[k * ldb + j];
            double *c = C + i * ldc + j;
            *c = beta == 0.0 ? alpha * s : alpha * s + beta * *c;
        }
}
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GS_X86 1
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define GS_NAME(f) f##_avx2
#define GS_VB 32
#define GS_FMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define GS_MASK_T __m256i
#define GS_MASK(w) _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(w)), \
                                      _mm256_set_epi64x(3, 2, 1, 0))
#define GS_LDM(p, m) _mm256_maskload_pd((p), (m))
#include "gemm_small_kernels.h"
#undef GS_NAME
#undef GS_VB
#undef GS_FMA
#undef GS_MASK_T
#undef GS_MASK
#undef GS_LDM
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,fma"))), \
                             apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma,prefer-vector-width=512")
#endif
#define GS_NAME(f) f##_avx512
#define GS_VB 64
#define GS_FMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define GS_MASK_T __mmask8
#define GS_MASK(w) ((__mmask8)((1u << (w)) - 1u))
#define GS_LDM(p, m) _mm512_maskz_loadu_pd((m), (p))
#include "gemm_small_kernels.h"
#undef GS_NAME
#undef GS_VB
#undef GS_FMA
#undef GS_MASK_T
#undef GS_MASK
#undef GS_LDM
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

/* Chosen once at load time (a constructor: no call races to set it). */
static gs_fn gs = gemm_nb_base;
static int gs_best;

#ifdef GS_X86
__attribute__((constructor)) static void gs_init(void)
{
    gs_best = nn__cpu_level();
    nn__gemm_small_force(gs_best);
}
#endif

int nn__gemm_small_force(int level)
{
    if (level < 0 || level > gs_best) level = gs_best;
#ifdef GS_X86
    gs = level == 2 ? gemm_nb_avx512 : level == 1 ? gemm_nb_avx2 : gemm_nb_base;
#endif
    return level;
}

void nn__gemm_small(bool trans_a, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb,
                    double beta, double *C, size_t ldc)
{
    gs(M, N, K, alpha, A, trans_a ? 1 : lda, trans_a ? lda : 1, B, ldb, beta,
       C, ldc);
}
