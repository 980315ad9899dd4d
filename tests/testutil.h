/* testutil.h — small helpers shared by the Check suites (header-only). */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn.h"

/* Assert a libnn call returned NN_OK, printing the message otherwise. */
#define NN_OK_OR_FAIL(call)                                                   \
    do {                                                                      \
        nn_status st_ = (call);                                               \
        ck_assert_msg(st_ == NN_OK, "%s -> %d (%s)", #call, (int)st_,         \
                      nn_strerror(st_));                                      \
    } while (0)

/* Test-local deterministic generator (independent of the library's). */
typedef struct { uint64_t s; } tu_rng;
static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi). */
static inline double tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(tu_next(r) >> 11) * 0x1.0p-53);
}
static inline void tu_fill(tu_rng *r, double *p, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) p[i] = tu_uniform(r, lo, hi);
}

/* |a - b| / max(|a|, |b|, floor): relative error with an absolute floor. */
static inline double tu_relerr(double a, double b, double floor_)
{
    double s = fmax(fmax(fabs(a), fabs(b)), floor_);
    return fabs(a - b) / s;
}

/* Run one suite; exit status is the number of failures (0 = pass). */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

#endif
