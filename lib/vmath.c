/* vmath.c — vectorised exp, tanh and sigmoid over arrays of doubles, for the
 * fused activation passes and the losses. Own kernels in portable C that the
 * compiler vectorises (lib/vmath_kernels.h), built once for the baseline
 * instruction set and, on x86-64 with GCC or Clang, once more for AVX2+FMA
 * and for AVX-512, chosen at run time from what the CPU supports (no -march
 * anywhere: the library stays portable). Why own kernels and not SLEEF:
 * docs/PERFORMANCE.md ("Vectorised transcendental functions").
 *
 * Error bound, tested by tests/test_vmath.c against long-double expl/tanhl
 * over random bit patterns of the whole double range, special values and
 * the kernels' thresholds, on every instruction set this CPU has: at most
 * 2 ulp (measured worst: docs/PERFORMANCE.md); exact limits (exp(-inf) = 0,
 * exp overflows to +inf, tanh(+-inf) = +-1, sigmoid(-inf) = 0,
 * sigmoid(+inf) = 1), subnormal results rounded once, signed zeros kept by
 * tanh, NaN in gives NaN out. */
#include "nn_private.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* the tables of one instruction set */
typedef struct nn__vm_table {
    void (*apply[3])(size_t m, size_t n, double *Z, size_t ld,
                     const double *b);
    double (*exp_shift_sum)(size_t n, const double *x, double shift,
                            double *y);
} nn__vm_table;

/* 1.5 * 2^52: adding it rounds a double of magnitude < 2^51 to an integer */
#define VM_SHIFT 0x1.8p52
#define VM_SHIFT_BIAS (0x1.8p52 + 1023.0)
#define VM_LOG2E 0x1.71547652b82fep0
/* ln 2 = LN2HI + LN2LO; LN2HI has 11 trailing zero bits, so n * LN2HI is
 * exact for |n| < 2048 */
#define VM_LN2HI 0x1.62e42fefa3800p-1
#define VM_LN2LO 0x1.ef35793c7673p-45
/* P(r) ~ (exp(r) - 1 - r) / r^2 on |r| <= 1.02 ln2/2: degree-9 minimax
 * (Remez, 50 digits); |r^2 (P - exact)| <= 0.14 * 2^-53 there */
#define VM_P0 0x1.0000000000001p-1
#define VM_P1 0x1.5555555555559p-3
#define VM_P2 0x1.555555555394bp-5
#define VM_P3 0x1.111111110f3bbp-7
#define VM_P4 0x1.6c16c17a1c7bep-10
#define VM_P5 0x1.a01a01b20d041p-13
#define VM_P6 0x1.a019b317dca3ap-16
#define VM_P7 0x1.71ddf12674e51p-19
#define VM_P8 0x1.289877568ec2fp-22
#define VM_P9 0x1.af6d6cf53d787p-26

/* ---- the baseline: whatever the compiler targets (SSE2 on x86-64), no
 * fused multiply-add (a libm fma() call would be slow without it) */
#define VM_NAME(f) f##_base
#define VM_MADD(a, b, c) ((a) * (b) + (c))
#include "vmath_kernels.h"
#undef VM_NAME
#undef VM_MADD

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VM_X86 1
/* ---- AVX2 + FMA, and AVX-512 (512-bit vectors), for this file's kernels
 * only; the dispatch below calls them only where the CPU has them */
#define VM_MADD(a, b, c) __builtin_fma((a), (b), (c))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define VM_NAME(f) f##_avx2
#include "vmath_kernels.h"
#undef VM_NAME
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,fma"))), \
                             apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma,prefer-vector-width=512")
#endif
#define VM_NAME(f) f##_avx512
#include "vmath_kernels.h"
#undef VM_NAME
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef VM_MADD
#endif

/* ------------------------------------------------------------ dispatch */
/* Chosen once, when the library is loaded (a constructor, so that no call
 * races to set it); nn__vm_force (tests, benches) may lower it. */
static const nn__vm_table *vm = &table_base;
static int vm_best, vm_level;

#ifdef VM_X86
__attribute__((constructor)) static void vm_init(void)
{
    vm_best = nn__cpu_level();
    nn__vm_force(vm_best);
}
#endif

static const char *const vm_names[3] = {
#ifdef VM_X86
    "sse2", "avx2", "avx512"
#else
    "generic", "generic", "generic"
#endif
};

int nn__vm_force(int level)
{
    if (level < 0 || level > vm_best) level = vm_best;
    vm_level = level;
#ifdef VM_X86
    vm = level == 2 ? &table_avx512 : level == 1 ? &table_avx2 : &table_base;
#endif
    return level;
}

const char *nn__vm_isa(void) { return vm_names[vm_level]; }

void nn__vm_apply(nn__vm_fn f, size_t m, size_t n, double *Z, size_t ld,
                  const double *b)
{
    vm->apply[f](m, n, Z, ld, b);
}

void nn__vm_map(nn__vm_fn f, size_t n, const double *x, double *y)
{
    if (y != x) memcpy(y, x, n * sizeof *y);
    vm->apply[f](1, n, y, n, NULL);
}

double nn__vm_exp_shift_sum(size_t n, const double *x, double shift,
                            double *y)
{
    return vm->exp_shift_sum(n, x, shift, y);
}
