/* test_vmath.c — lib/vmath.c's vectorised exp, tanh and sigmoid (compiled
 * into this test: the kernels are internal) against long-double expl and
 * tanhl, on every instruction set this CPU has (baseline, AVX2+FMA,
 * AVX-512):
 *   - at most 2 ulp (VM_MAX_ULP) over random bit patterns of the whole double
 *     range, uniform samples of the ranges that matter, the thresholds of
 *     the kernels (overflow, the subnormal range, tanh's clamp) and special
 *     values, where an ulp is that of the double nearest the reference
 *     (2^-1074 in the subnormal range);
 *   - exact limits: exp(-inf) = 0, exp(x) = +inf from overflow on,
 *     tanh(+-inf) = +-1, tanh(+-0) = +-0, sigmoid(-inf) = 0,
 *     sigmoid(+inf) = 1; NaN in gives NaN out;
 *   - exp_shift_sum returns the same sum whether or not it stores, and its
 *     values equal the map's.
 * The worst error seen per function is printed (docs/PERFORMANCE.md quotes
 * it). */
#include "testutil.h"

#include "nn_private.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#define VM_MAX_ULP 2.0
#define N_RANDOM 60000

static const char *fn_name[3] = {"exp", "tanh", "sigmoid"};

static long double reference(int f, double x)
{
    long double X = x;
    if (f == NN_VM_EXP) return expl(X);
    if (f == NN_VM_TANH) return tanhl(X);
    return 1.0L / (1.0L + expl(-X));
}

/* ulp of the double nearest r (r finite, |r| <= DBL_MAX) */
static long double ulp_of(long double r)
{
    r = fabsl(r);
    if (r < 0x1p-1022L) return 0x1p-1074L;
    int e;
    frexpl(r, &e);
    return ldexpl(1.0L, e - 53);
}

/* The error of y in ulps of the reference; INFINITY for a wrong special
 * value (NaN, a wrong infinity, a finite value where inf is due). */
static double ulp_error(double y, long double ref)
{
    if (isnan(ref)) return isnan(y) ? 0.0 : INFINITY;
    if (isnan(y)) return INFINITY;
    /* references beyond DBL_MAX + half an ulp round to infinity */
    if (fabsl(ref) >= (long double)DBL_MAX + 0x1p970L)
        return isinf(y) && (y > 0) == (ref > 0) ? 0.0 : INFINITY;
    if (isinf(y)) return INFINITY;
    return (double)(fabsl((long double)y - ref) / ulp_of(ref));
}

typedef struct {
    double worst[3];
    double at[3];
} stats;

/* Run f over x[0..n-1] through nn__vm_map and record the worst error. */
static void sweep(int f, const double *x, size_t n, stats *s)
{
    double *y = tu_dalloc(n);
    nn__vm_map((nn__vm_fn)f, n, x, y);
    for (size_t i = 0; i < n; i++) {
        double e = ulp_error(y[i], reference(f, x[i]));
        if (e > s->worst[f]) {
            s->worst[f] = e;
            s->at[f] = x[i];
        }
        ck_assert_msg(e <= VM_MAX_ULP,
                      "%s %s(%a = %.17g) = %.17g, reference %.21Lg: %.3g ulp",
                      nn__vm_isa(), fn_name[f], x[i], x[i], y[i],
                      reference(f, x[i]), e);
    }
    free(y);
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Random bit patterns (every exponent, both signs, NaNs included). */
static void fill_bits(tu_rng *r, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = from_bits(tu_next(r));
}

/* Values around each threshold t: t * (1 + k 2^-52) for |k| <= 64, and a
 * uniform spread of +-1% around it. */
static size_t fill_near(tu_rng *r, double *x, const double *t, size_t nt)
{
    size_t n = 0;
    for (size_t i = 0; i < nt; i++) {
        for (int k = -64; k <= 64; k++) x[n++] = t[i] * (1.0 + k * 0x1p-52);
        for (int k = 0; k < 500; k++) x[n++] = t[i] * tu_uniform(r, 0.99, 1.01);
    }
    return n;
}

static void run_level(int level, stats *s)
{
    ck_assert_int_eq(nn__vm_force(level), level);
    tu_rng r = {(uint64_t)level * 7919u + 1u};
    double *x = tu_dalloc(N_RANDOM);
    /* the reachable extents of each function's interesting range */
    static const double span[3] = {745.5, 25.0, 745.5};
    for (int f = 0; f < 3; f++) {
        fill_bits(&r, x, N_RANDOM);
        sweep(f, x, N_RANDOM, s);
        tu_fill(&r, x, N_RANDOM, -span[f], span[f]);
        sweep(f, x, N_RANDOM, s);
        tu_fill(&r, x, N_RANDOM, -2.0, 2.0);
        sweep(f, x, N_RANDOM, s);
    }
    /* thresholds: exp's overflow and subnormal range, the reduction's
     * half-ln2 steps, tanh's clamp, small arguments */
    static const double th[] = {
        709.782712893384, 709.0,   -708.3964185322641, -709.089565712824,
        -744.4400719213812, -745.1332191019411, 0.34657359027997264,
        -0.34657359027997264, 0.17328679513998632, 0.55, 1.0, 22.0, -22.0,
        19.06, 1e-8, -1e-8, 0x1p-27, 1e-300, 5e-324, 36.7368005696771,
        -36.7368005696771};
    double *xt = tu_dalloc(sizeof th / sizeof th[0] * 629);
    size_t nt = fill_near(&r, xt, th, sizeof th / sizeof th[0]);
    for (int f = 0; f < 3; f++) sweep(f, xt, nt, s);
    free(xt);
    free(x);
}

/* The references need long double's 64-bit significand; valgrind emulates
 * x87 arithmetic in double precision, which would make them (not the
 * kernels) 1-3 ulp off: there the sweep is skipped (the plain and the
 * sanitizer runs assert it). */
static bool long_double_is_extended(void)
{
    volatile long double one = 1.0L, tiny = 0x1p-60L;
    return one + tiny != one;
}

START_TEST(test_ulp_bound)
{
    stats s = {{0}, {0}};
    if (!long_double_is_extended()) {
        printf("vmath: long double has no extended precision here (valgrind?): "
               "ulp sweep skipped\n");
        return;
    }
    int best = nn__vm_force(99);
    for (int level = 0; level <= best; level++) {
        stats sl = {{0}, {0}};
        run_level(level, &sl);
        for (int f = 0; f < 3; f++) {
            printf("vmath %-6s %-7s worst %.3f ulp at %.17g\n",
                   nn__vm_isa(), fn_name[f], sl.worst[f], sl.at[f]);
            if (sl.worst[f] > s.worst[f]) s.worst[f] = sl.worst[f];
        }
    }
    nn__vm_force(best);
}
END_TEST

/* f at x, through the map, at the current level */
static double one(int f, double x)
{
    double y;
    nn__vm_map((nn__vm_fn)f, 1, &x, &y);
    return y;
}

START_TEST(test_limits_and_specials)
{
    int best = nn__vm_force(99);
    for (int level = 0; level <= best; level++) {
        nn__vm_force(level);
        const char *isa = nn__vm_isa();
        ck_assert_msg(one(NN_VM_EXP, -INFINITY) == 0.0, "%s exp(-inf)", isa);
        ck_assert_msg(one(NN_VM_EXP, -1e300) == 0.0, "%s exp(-1e300)", isa);
        ck_assert_msg(one(NN_VM_EXP, -746.0) == 0.0, "%s exp(-746)", isa);
        ck_assert_msg(one(NN_VM_EXP, -745.0) == 5e-324, "%s exp(-745)", isa);
        ck_assert_msg(isinf(one(NN_VM_EXP, 710.0)), "%s exp(710)", isa);
        ck_assert_msg(isinf(one(NN_VM_EXP, INFINITY)), "%s exp(inf)", isa);
        ck_assert_msg(isinf(one(NN_VM_EXP, DBL_MAX)), "%s exp(DBL_MAX)", isa);
        ck_assert_msg(one(NN_VM_EXP, 0.0) == 1.0, "%s exp(0)", isa);
        ck_assert_msg(one(NN_VM_EXP, -0.0) == 1.0, "%s exp(-0)", isa);
        ck_assert_msg(one(NN_VM_TANH, INFINITY) == 1.0, "%s tanh(inf)", isa);
        ck_assert_msg(one(NN_VM_TANH, -INFINITY) == -1.0, "%s tanh(-inf)", isa);
        ck_assert_msg(one(NN_VM_TANH, 30.0) == 1.0, "%s tanh(30)", isa);
        double z = one(NN_VM_TANH, -0.0);
        ck_assert_msg(z == 0.0 && signbit(z), "%s tanh(-0) = %g", isa, z);
        z = one(NN_VM_TANH, 0.0);
        ck_assert_msg(z == 0.0 && !signbit(z), "%s tanh(+0) = %g", isa, z);
        ck_assert_msg(one(NN_VM_TANH, 5e-324) == 5e-324, "%s tanh(tiny)", isa);
        ck_assert_msg(one(NN_VM_TANH, -1e-310) == -1e-310, "%s tanh(subnormal)",
                      isa);
        ck_assert_msg(one(NN_VM_SIGMOID, -INFINITY) == 0.0, "%s sigmoid(-inf)",
                      isa);
        ck_assert_msg(one(NN_VM_SIGMOID, INFINITY) == 1.0, "%s sigmoid(inf)",
                      isa);
        ck_assert_msg(one(NN_VM_SIGMOID, 0.0) == 0.5, "%s sigmoid(0)", isa);
        ck_assert_msg(one(NN_VM_SIGMOID, 40.0) == 1.0, "%s sigmoid(40)", isa);
        for (int f = 0; f < 3; f++) {
            ck_assert_msg(isnan(one(f, NAN)), "%s %s(NaN)", isa, fn_name[f]);
            ck_assert_msg(isnan(one(f, -NAN)), "%s %s(-NaN)", isa, fn_name[f]);
        }
    }
    nn__vm_force(best);
}
END_TEST

/* The fused form with a bias and a row stride computes f(z + b) at every
 * element it should, and nothing else. */
START_TEST(test_apply_bias_and_stride)
{
    enum { M = 5, N = 13, LD = 16 };
    double Z[M * LD], Z0[M * LD], b[N];
    tu_rng r = {3};
    tu_fill(&r, Z0, M * LD, -3.0, 3.0);
    tu_fill(&r, b, N, -1.0, 1.0);
    for (int f = 0; f < 3; f++) {
        memcpy(Z, Z0, sizeof Z);
        nn__vm_apply((nn__vm_fn)f, M, N, Z, LD, b);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < LD; j++) {
                double want = j < N ? one(f, Z0[i * LD + j] + b[j])
                                    : Z0[i * LD + j];
                ck_assert_msg(Z[i * LD + j] == want, "%s (%zu,%zu)",
                              fn_name[f], i, j);
            }
    }
}
END_TEST

START_TEST(test_exp_shift_sum)
{
    enum { N = 37 };
    double x[N], y[N], e[N];
    tu_rng r = {5};
    tu_fill(&r, x, N, -20.0, 5.0);
    double s1 = nn__vm_exp_shift_sum(N, x, 5.0, y);
    double s2 = nn__vm_exp_shift_sum(N, x, 5.0, NULL);
    ck_assert_msg(s1 == s2, "sum with y %.17g, without %.17g", s1, s2);
    long double ref = 0.0L;
    for (size_t j = 0; j < N; j++) {
        e[j] = x[j] - 5.0;
        ref += expl((long double)x[j] - 5.0L);
    }
    nn__vm_map(NN_VM_EXP, N, e, e);
    for (size_t j = 0; j < N; j++) ck_assert(y[j] == e[j]);
    ck_assert(fabsl((long double)s1 - ref) <= 4 * DBL_EPSILON * ref);
}
END_TEST

static Suite *vmath_suite(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_ulp_bound);
    tcase_add_test(tc, test_limits_and_specials);
    tcase_add_test(tc, test_apply_bias_and_stride);
    tcase_add_test(tc, test_exp_shift_sum);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(vmath_suite()); }
