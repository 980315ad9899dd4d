/* vmathbench_sleef.c — SLEEF's vector exp and tanh over arrays, for
 * bench/vmathbench (Debian's libsleef-dev: its AVX2 and AVX-512F entry
 * points, 1.0-ulp "u10" versions). This file is compiled with -mavx2 -mfma
 * -mavx512f so that sleef.h declares them; vmathbench calls each only on a
 * CPU that has the instructions. */
#include <immintrin.h>
#include <sleef.h>
#include <stddef.h>

void sleef_exp_avx2(size_t n, double *x);
void sleef_tanh_avx2(size_t n, double *x);
void sleef_exp_avx512(size_t n, double *x);
void sleef_tanh_avx512(size_t n, double *x);
void sleef_sigmoid_avx512(size_t n, double *x);

/* n a multiple of the vector width (the bench's sizes are) */
void sleef_exp_avx2(size_t n, double *x)
{
    for (size_t i = 0; i + 4 <= n; i += 4)
        _mm256_storeu_pd(x + i, Sleef_expd4_u10avx2(_mm256_loadu_pd(x + i)));
}

void sleef_tanh_avx2(size_t n, double *x)
{
    for (size_t i = 0; i + 4 <= n; i += 4)
        _mm256_storeu_pd(x + i, Sleef_tanhd4_u10avx2(_mm256_loadu_pd(x + i)));
}

void sleef_exp_avx512(size_t n, double *x)
{
    for (size_t i = 0; i + 8 <= n; i += 8)
        _mm512_storeu_pd(x + i, Sleef_expd8_u10avx512f(_mm512_loadu_pd(x + i)));
}

void sleef_tanh_avx512(size_t n, double *x)
{
    for (size_t i = 0; i + 8 <= n; i += 8)
        _mm512_storeu_pd(x + i, Sleef_tanhd8_u10avx512f(_mm512_loadu_pd(x + i)));
}

/* SLEEF has no sigmoid: 1 / (1 + exp(-x)) from its exp */
void sleef_sigmoid_avx512(size_t n, double *x)
{
    __m512d one = _mm512_set1_pd(1.0);
    for (size_t i = 0; i + 8 <= n; i += 8) {
        __m512d e = Sleef_expd8_u10avx512f(
            _mm512_sub_pd(_mm512_setzero_pd(), _mm512_loadu_pd(x + i)));
        _mm512_storeu_pd(x + i, _mm512_div_pd(one, _mm512_add_pd(one, e)));
    }
}
