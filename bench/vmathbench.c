/* vmathbench.c — lib/vmath.c's own vector kernels (compiled in: they are
 * internal) against libm and, where Debian's libsleef-dev is found, SLEEF's
 * AVX2 and AVX-512F u10 kernels (bench/vmathbench_sleef.c): ns per element
 * over n = 64 (one hidden layer's row, in L1) and n = 262144 (4096 x 64),
 * and the worst error in ulps (long-double reference) over 200000 values
 * uniform in [-30, 30] (exp: [-700, 700]). All variants run alternately in
 * this process; medians of 7 runs. The choice it informs:
 * docs/PERFORMANCE.md ("Vectorised transcendental functions"). */
#define _POSIX_C_SOURCE 200809L
#include "nn_private.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#ifdef VMATHBENCH_SLEEF
void sleef_exp_avx2(size_t n, double *x);
void sleef_tanh_avx2(size_t n, double *x);
void sleef_exp_avx512(size_t n, double *x);
void sleef_tanh_avx512(size_t n, double *x);
void sleef_sigmoid_avx512(size_t n, double *x);
#endif

typedef void (*kernel)(size_t n, double *x);
typedef struct {
    const char *name;
    int fn;    /* 0 exp, 1 tanh, 2 sigmoid */
    int level; /* own kernels: vmath level; -1 otherwise */
    int needs; /* 0 none, 1 AVX2+FMA, 2 AVX-512F */
    kernel k;
} variant;

static int own_level;
static void own(size_t n, double *x, int f)
{
    nn__vm_force(own_level);
    nn__vm_apply((nn__vm_fn)f, 1, n, x, n, NULL);
}
static void own_exp(size_t n, double *x) { own(n, x, 0); }
static void own_tanh(size_t n, double *x) { own(n, x, 1); }
static void own_sig(size_t n, double *x) { own(n, x, 2); }
static void libm_exp(size_t n, double *x)
{
    for (size_t i = 0; i < n; i++) x[i] = exp(x[i]);
}
static void libm_tanh(size_t n, double *x)
{
    for (size_t i = 0; i < n; i++) x[i] = tanh(x[i]);
}
static void libm_sig(size_t n, double *x)
{
    for (size_t i = 0; i < n; i++) x[i] = 1.0 / (1.0 + exp(-x[i]));
}

static long double ref(int f, double x)
{
    if (f == 0) return expl(x);
    if (f == 1) return tanhl(x);
    return 1.0L / (1.0L + expl(-(long double)x));
}

static double ulps(double y, long double r)
{
    long double a = fabsl(r);
    int e;
    frexpl(a, &e);
    long double u = a < 0x1p-1022L ? 0x1p-1074L : ldexpl(1.0L, e - 53);
    return (double)(fabsl((long double)y - r) / u);
}

static double worst_ulp(const variant *v, int level)
{
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), w = 0.0;
    double span = v->fn == 0 ? 700.0 : 30.0;
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = ((double)(s >> 11) * 0x1p-53 * 2.0 - 1.0) * span;
    }
    memcpy(y, x, N * sizeof *x);
    own_level = level;
    v->k(N, y);
    for (size_t i = 0; i < N; i++) {
        double e = ulps(y[i], ref(v->fn, x[i]));
        if (e > w) w = e;
    }
    free(x);
    free(y);
    return w;
}

static double time_ns(const variant *v, int level, size_t n, const double *src,
                      double *buf)
{
    double t[7];
    long reps = (long)(4e6 / (double)n) + 1;
    own_level = level;
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        for (long k = 0; k < reps; k++) {
            memcpy(buf, src, n * sizeof *buf);
            v->k(n, buf);
        }
        double t1 = now();
        for (long k = 0; k < reps; k++) memcpy(buf, src, n * sizeof *buf);
        t[r] = ((t1 - t0) - (now() - t1)) / (double)reps / (double)n * 1e9;
    }
    qsort(t, 7, sizeof *t, cmp_double);
    return t[3];
}

int main(void)
{
    static const variant vs[] = {
        {"libm exp", 0, -1, 0, libm_exp},
        {"libm tanh", 1, -1, 0, libm_tanh},
        {"libm 1/(1+exp(-x))", 2, -1, 0, libm_sig},
        {"own exp", 0, 0, 0, own_exp},
        {"own tanh", 1, 0, 0, own_tanh},
        {"own sigmoid", 2, 0, 0, own_sig},
#ifdef VMATHBENCH_SLEEF
        {"SLEEF exp u10 avx2", 0, -1, 1, sleef_exp_avx2},
        {"SLEEF tanh u10 avx2", 1, -1, 1, sleef_tanh_avx2},
        {"SLEEF exp u10 avx512f", 0, -1, 2, sleef_exp_avx512},
        {"SLEEF tanh u10 avx512f", 1, -1, 2, sleef_tanh_avx512},
        {"SLEEF 1/(1+exp) avx512f", 2, -1, 2, sleef_sigmoid_avx512},
#endif
    };
    int best = nn__vm_force(99);
    size_t N = 262144;
    double *src = malloc(N * sizeof *src), *buf = malloc(N * sizeof *buf);
    for (size_t i = 0; i < N; i++) src[i] = 6.0 * (double)(i % 1000) / 1000.0 - 3.0;
    printf("# vmathbench: ns/element (medians of 7), worst ulp over 200000 "
           "samples; own kernels at each instruction set up to %s\n",
           nn__vm_isa());
    printf("%-26s %-7s %10s %10s %10s\n", "kernel", "isa", "n=64", "n=262144",
           "worst ulp");
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        const variant *v = &vs[i];
        int top = v->level < 0 ? 0 : best;
        if (v->needs > best) continue;
        for (int level = 0; level <= top; level++) {
            const char *isa = v->level < 0 ? (v->needs == 2 ? "avx512"
                                             : v->needs ? "avx2" : "scalar")
                                           : (nn__vm_force(level), nn__vm_isa());
            printf("%-26s %-7s %10.3f %10.3f %10.3f\n", v->name, isa,
                   time_ns(v, level, 64, src, buf), time_ns(v, level, N, src, buf),
                   worst_ulp(v, level));
            fflush(stdout);
        }
    }
    nn__vm_force(best);
    free(src);
    free(buf);
    return 0;
}
