/* vmath_kernels.h — the loop bodies of lib/vmath.c, included once per
 * instruction set (no include guard, on purpose): the includer defines
 *   VM_NAME(f)       the name of each function for this instruction set
 *   VM_MADD(a, b, c) a*b + c, fused where the target has FMA
 * and selects the target (#pragma GCC target) around the inclusion. Every
 * loop below is branch-free and written with plain arrays so that the
 * compiler vectorises it for that target; the math and its error budget are
 * in lib/vmath.c and docs/PERFORMANCE.md ("Vectorised transcendental
 * functions").
 *
 * Shared core, for any x:
 *   n = round(x / ln2)         (the shift trick: x*log2(e) + 1.5*2^52)
 *   r = x - n*ln2              (Cody-Waite: ln2 = LN2HI + LN2LO, n*LN2HI exact)
 *   exp(r) = 1 + r + r^2 P(r) on |r| <= 0.354 (P: degree-9 minimax)
 * kept as an unevaluated sum h + lo, so that exp(x) = 2^n (h + lo). */

static inline double VM_NAME(bits_to_pow2)(double k)
{
    /* 2^k for an integral k in [-1022, 1023]: k + SHIFT_BIAS holds k + 1023
     * in its low mantissa bits; shifted left by 52 they become the exponent
     * field of a double (the bits above fall off the top). */
    uint64_t u;
    double t = k + VM_SHIFT_BIAS;
    memcpy(&u, &t, sizeof u);
    u <<= 52;
    double s;
    memcpy(&s, &u, sizeof s);
    return s;
}

/* r^2 P(r) ~ exp(r) - 1 - r for |r| <= 0.354 (r rounded from r_hi + r_lo:
 * its rounding error enters only through this small term). Estrin's scheme:
 * a shorter dependency chain than Horner's (6-8% faster measured). */
static inline double VM_NAME(exp_tail)(double r)
{
    double r2 = r * r, r4 = r2 * r2;
    double c01 = VM_MADD(VM_P1, r, VM_P0), c23 = VM_MADD(VM_P3, r, VM_P2);
    double c45 = VM_MADD(VM_P5, r, VM_P4), c67 = VM_MADD(VM_P7, r, VM_P6);
    double c89 = VM_MADD(VM_P9, r, VM_P8);
    double c03 = VM_MADD(c23, r2, c01), c47 = VM_MADD(c67, r2, c45);
    double c07 = VM_MADD(c47, r4, c03);
    double q = VM_MADD(c89, r4 * r4, c07);
    return r2 * q;
}

/* The reduction x = n ln2 + r_hi + r_lo (|x| <= 1100, or NaN): r_hi =
 * x - n LN2HI is exact (Sterbenz), r_lo = -n LN2LO carries the rest; then
 * exp(r_hi + r_lo) = 1 + r_hi + tail is summed by two Fast2Sums into
 * hi + lo with |lo| <= ulp(hi), so that a caller's last addition (or its
 * division) is the only rounding that matters. Returns hi; *lo, *n. */
static inline double VM_NAME(exp_core)(double x, double *lo, double *n_out)
{
    double t = VM_MADD(x, VM_LOG2E, VM_SHIFT);
    double n = t - VM_SHIFT;
    double r_hi = VM_MADD(-n, VM_LN2HI, x), r_lo = -n * VM_LN2LO;
    double tail = r_lo + VM_NAME(exp_tail)(r_hi + r_lo);
    double h = 1.0 + r_hi, l = (1.0 - h) + r_hi; /* |r_hi| < 1 */
    double hi = h + tail;                        /* |tail| < 0.07 < h */
    *lo = ((h - hi) + tail) + l;
    *n_out = n;
    return hi;
}

/* 2^n as two factors 2^n1 2^n2 (n1 = round(n/2)), each normal for
 * |n| <= 1600, so that a product that overflows or is subnormal rounds only
 * in its last multiplication. */
static inline void VM_NAME(pow2_split)(double n, double *s1, double *s2)
{
    double n1 = (n * 0.5 + VM_SHIFT) - VM_SHIFT;
    *s1 = VM_NAME(bits_to_pow2)(n1);
    *s2 = VM_NAME(bits_to_pow2)(n - n1);
}

/* exp(x) over the whole double range: 2^n (h + lo). Arguments are clamped
 * to [-1100, 1100] (where exp is already 0 or inf); NaN stays NaN (the
 * comparisons are false for it, and h is NaN). */
static inline double VM_NAME(exp1)(double x)
{
    x = x < -1100.0 ? -1100.0 : x;
    x = x > 1100.0 ? 1100.0 : x;
    double lo, n, h = VM_NAME(exp_core)(x, &lo, &n), s1, s2;
    VM_NAME(pow2_split)(n, &s1, &s2);
    return ((h + lo) * s1) * s2;
}

/* tanh(x) = sign(x) tanh(a), a = |x| clamped to 22 (tanh(22) rounds to 1),
 * as em / (em + 2) with em = expm1(2a) = 2^n hi - 1 + 2^n lo: 2^n hi - 1 is
 * exact (the product is, and the difference keeps within its ulp), so em is
 * an exact sum em_hi + em_lo and loses nothing to cancellation for small a.
 * The denominator is summed by Fast2Sum (larger part first: max/min) to
 * d_hi + d_lo, and the quotient q0 = em_hi / d_hi corrected by
 * (em_lo - q0 d_lo) / d_hi, with 1 / d_hi taken as (1 - q0) / 2: the
 * division and the last addition are the only roundings that matter. For
 * tiny a, em_hi = 0 and the correction gives em_lo / 2 = a exactly. */
static inline double VM_NAME(tanh1)(double x)
{
    double a = fabs(x);
    a = a > 22.0 ? 22.0 : a;
    double lo, n, hi = VM_NAME(exp_core)(a + a, &lo, &n);
    double s = VM_NAME(bits_to_pow2)(n);
    double em_hi = s * hi - 1.0, em_lo = s * lo;
    double big = em_hi > 2.0 ? em_hi : 2.0, sml = em_hi > 2.0 ? 2.0 : em_hi;
    double d_hi = big + sml, d_lo = ((big - d_hi) + sml) + em_lo;
    double q0 = em_hi / d_hi;
    double q = q0 + (em_lo - q0 * d_lo) * ((1.0 - q0) * 0.5);
    return copysign(q, x);
}

/* sigmoid(x) = 1 / (1 + exp(-x)) from e = exp(-|x|) = e_hi + e_lo <= 1,
 * without cancellation on either side: x >= 0: 1 / (1 + e); x < 0:
 * e / (1 + e). The denominator 1 + e_hi is summed exactly (Fast2Sum) to
 * d_hi + d_lo, and the quotient q0 = num_hi / d_hi corrected by
 * (num_lo - q0 d_lo) / d_hi, with 1/d_hi taken as q0 (x >= 0) or 1 - q0
 * (x < 0): only the division rounds. NaN: e is NaN. */
static inline double VM_NAME(sigmoid1)(double x)
{
    double m = -fabs(x);
    m = m < -1100.0 ? -1100.0 : m;
    double lo, n, h = VM_NAME(exp_core)(m, &lo, &n), s1, s2;
    VM_NAME(pow2_split)(n, &s1, &s2);
    double e_hi = (h * s1) * s2, e_lo = (lo * s1) * s2;
    double d_hi = 1.0 + e_hi, d_lo = ((1.0 - d_hi) + e_hi) + e_lo;
    bool neg = x < 0.0;
    double num_hi = neg ? e_hi : 1.0, num_lo = neg ? e_lo : 0.0;
    double q0 = num_hi / d_hi, inv = neg ? 1.0 - q0 : q0;
    return q0 + (num_lo - q0 * d_lo) * inv;
}

/* Z(i,j) <- f(Z(i,j) + b(j)) over m rows of n (row stride ld); b may be
 * NULL. One loop per function and bias case, so that each is a plain
 * vectorisable loop. */
#define VM_APPLY_LOOP(f)                                                   \
    for (size_t i = 0; i < m; i++) {                                       \
        double *restrict z = Z + i * ld;                                   \
        if (b)                                                             \
            for (size_t j = 0; j < n; j++) z[j] = f(z[j] + b[j]);          \
        else                                                               \
            for (size_t j = 0; j < n; j++) z[j] = f(z[j]);                 \
    }

static void VM_NAME(apply_exp)(size_t m, size_t n, double *Z, size_t ld,
                               const double *restrict b)
{
    VM_APPLY_LOOP(VM_NAME(exp1))
}

static void VM_NAME(apply_tanh)(size_t m, size_t n, double *Z, size_t ld,
                                const double *restrict b)
{
    VM_APPLY_LOOP(VM_NAME(tanh1))
}

static void VM_NAME(apply_sigmoid)(size_t m, size_t n, double *Z, size_t ld,
                                   const double *restrict b)
{
    VM_APPLY_LOOP(VM_NAME(sigmoid1))
}
#undef VM_APPLY_LOOP

/* y = exp(x - shift) for n values (y may be x, or NULL: not stored),
 * returning their sum, added in eight interleaved partial sums: a fixed
 * order, the same on every target and with or without y. */
#define VM_EXP_SUM_LOOP(store)                                             \
    for (; j + 8 <= n; j += 8)                                             \
        for (size_t l = 0; l < 8; l++) {                                   \
            size_t e = j + l;                                              \
            double v = VM_NAME(exp1)(x[e] - shift);                        \
            store;                                                         \
            acc[l] += v;                                                   \
        }                                                                  \
    for (size_t l = 0; j < n; j++, l++) {                                  \
        size_t e = j;                                                      \
        double v = VM_NAME(exp1)(x[e] - shift);                            \
        store;                                                             \
        acc[l] += v;                                                       \
    }

static double VM_NAME(exp_shift_sum)(size_t n, const double *x,
                                     double shift, double *y)
{
    double acc[8] = {0};
    size_t j = 0;
    if (y) {
        VM_EXP_SUM_LOOP(y[e] = v)
    } else {
        VM_EXP_SUM_LOOP((void)e)
    }
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) +
           ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}
#undef VM_EXP_SUM_LOOP

static const nn__vm_table VM_NAME(table) = {
    .apply = {VM_NAME(apply_exp), VM_NAME(apply_tanh),
              VM_NAME(apply_sigmoid)},
    .exp_shift_sum = VM_NAME(exp_shift_sum),
};
