/* benchutil.h — the helpers every bench shares (header-only: each bench is
 * its own program): a monotonic clock, the median of a few timings, the
 * load average. The includer defines the POSIX feature macro clock_gettime
 * needs before its first #include. */
#ifndef NN_BENCHUTIL_H
#define NN_BENCHUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* KANN's headers (kannbench) redefine inline: keep unused ones quiet */
#if defined(__GNUC__)
#define BENCH_FN static inline __attribute__((unused))
#else
#define BENCH_FN static inline
#endif

/* Seconds on the monotonic clock. */
BENCH_FN double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* qsort's order of doubles. */
BENCH_FN int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (n >= 1); sorts v. */
BENCH_FN double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A deterministic uniform in [0, 1) (xorshift64, 53 bits): the benches'
 * data, the same from run to run. */
static uint64_t bench_rng_state = 0x9e3779b97f4a7c15u;
BENCH_FN double urand(void)
{
    bench_rng_state ^= bench_rng_state << 13;
    bench_rng_state ^= bench_rng_state >> 7;
    bench_rng_state ^= bench_rng_state << 17;
    return (double)(bench_rng_state >> 11) * 0x1.0p-53;
}

/* "# load average WHEN: ..." from /proc/loadavg ("?" where there is none):
 * other processes make a bench's numbers noisy. */
BENCH_FN void print_load(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
    printf("# load average %s: %s\n", when, buf);
}

#endif
