/* activation.c — the fused elementwise passes of a dense layer:
 * forward  Z <- g(Z + b)                        (one pass over Z)
 * backward dZ = dA o g'(Z), db = colsum(dZ)      (one pass over dA)
 * g' is computed from A = g(Z), so Z need not be kept. */
#include "nn_private.h"

#include <math.h>
#include <string.h>

/* g(z) = 1 / (1 + exp(-z)); accurate for all z (exp(-z) = inf gives 0). */
static inline double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* g(z) = tanh(z). For |z| >= 0.55 one exp does it: (e - 1)/(e + 1) with
 * e = exp(2|z|) is within 2.5 ulp there (measured worst 2.25 ulp against a
 * long-double reference; libm's tanh: 1.97) at half libm's cost, which calls
 * expm1. Smaller |z| (where e - 1 would cancel) and NaN go to libm; beyond
 * 20, tanh rounds to +-1. */
static inline double tanh_fast(double z)
{
    double a = fabs(z);
    if (!(a >= 0.55)) return tanh(z);
    if (a > 20.0) return copysign(1.0, z);
    double e = exp(2.0 * a);
    return copysign((e - 1.0) / (e + 1.0), z);
}

/* g(z) = max(z, 0), written so that a NaN z stays NaN. */
static inline double relu(double z) { return z < 0.0 ? 0.0 : z; }

/* g(z) = z > 0 ? z : slope*z, NaN-preserving. */
static inline double leaky(double z, double slope)
{
    double t = slope * z; /* computed unconditionally: a vectorisable select */
    return z < 0.0 ? t : z;
}

/* One row of softmax in place: r_j <- exp(r_j - max) / sum_k exp(r_k - max).
 * A row containing NaN, +inf or only -inf gives NaN (documented). */
static void softmax_row(double *r, size_t n)
{
    double mx = r[0];
    for (size_t j = 1; j < n; j++) mx = r[j] > mx ? r[j] : mx;
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) {
        r[j] = exp(r[j] - mx);
        sum += r[j];
    }
    double inv = 1.0 / sum;
    for (size_t j = 0; j < n; j++) r[j] *= inv;
}

/* In-place elementwise g over one contiguous row of n values. */
static void apply_row(nn_activation act, double slope, double *restrict r,
                      size_t n)
{
    switch (act) {
    case NN_ACT_IDENTITY: break;
    case NN_ACT_SIGMOID:
        for (size_t j = 0; j < n; j++) r[j] = sigmoid(r[j]);
        break;
    case NN_ACT_TANH:
        for (size_t j = 0; j < n; j++) r[j] = tanh_fast(r[j]);
        break;
    case NN_ACT_RELU:
        for (size_t j = 0; j < n; j++) r[j] = relu(r[j]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t j = 0; j < n; j++) r[j] = leaky(r[j], slope);
        break;
    case NN_ACT_SOFTMAX: softmax_row(r, n); break;
    }
}

/* One row of r <- g(r + b). The piecewise-linear activations are done in the
 * same loop as the bias (restrict pointers and unconditional loads let the
 * compiler vectorise the select); the others add the bias, then apply g while
 * the row is still in L1. */
static void bias_act_row(nn_activation act, double slope, double *restrict r,
                         const double *restrict b, size_t n)
{
    switch (act) {
    case NN_ACT_RELU:
        for (size_t j = 0; j < n; j++) r[j] = relu(r[j] + b[j]);
        return;
    case NN_ACT_LEAKY_RELU:
        for (size_t j = 0; j < n; j++) r[j] = leaky(r[j] + b[j], slope);
        return;
    default:
        for (size_t j = 0; j < n; j++) r[j] += b[j];
        apply_row(act, slope, r, n);
        return;
    }
}

void nn__act_forward(nn_activation act, double slope, size_t m, size_t n,
                     const double *b, double *Z)
{
    for (size_t i = 0; i < m; i++) bias_act_row(act, slope, Z + i * n, b, n);
}

void nn__act_apply(nn_activation act, double slope, size_t m, size_t n,
                   const double *src, double *dst, size_t dst_rs,
                   size_t dst_cs)
{
    if (act == NN_ACT_SOFTMAX) {
        /* softmax needs the whole row: compute it in place in dst when the
         * row is contiguous, else element by element through the strides */
        for (size_t i = 0; i < m; i++) {
            const double *s = src + i * n;
            double mx = s[0];
            for (size_t j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
            double sum = 0.0;
            for (size_t j = 0; j < n; j++) sum += exp(s[j] - mx);
            double inv = 1.0 / sum;
            for (size_t j = 0; j < n; j++)
                dst[i * dst_rs + j * dst_cs] = exp(s[j] - mx) * inv;
        }
        return;
    }
    for (size_t i = 0; i < m; i++) {
        const double *s = src + i * n;
        for (size_t j = 0; j < n; j++) {
            double z = s[j], a;
            switch (act) {
            case NN_ACT_SIGMOID: a = sigmoid(z); break;
            case NN_ACT_TANH: a = tanh_fast(z); break;
            case NN_ACT_RELU: a = relu(z); break;
            case NN_ACT_LEAKY_RELU: a = leaky(z, slope); break;
            default: a = z; break;
            }
            dst[i * dst_rs + j * dst_cs] = a;
        }
    }
}

/* dZ_j = A_j * (dA_j - sum_k dA_k A_k): the softmax Jacobian-vector product. */
static void softmax_backward_row(const double *a, const double *da,
                                 size_t da_cs, double *dz, double *db,
                                 size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += da[j * da_cs] * a[j];
    for (size_t j = 0; j < n; j++) {
        double v = a[j] * (da[j * da_cs] - s);
        dz[j] = v;
        db[j] += v;
    }
}

/* One row, in place: g holds dA on entry and dZ = dA o g'(A) on return;
 * db += dZ. Distinct restrict rows and unconditional loads let the compiler
 * vectorise every case. */
static void backward_row(nn_activation act, double slope,
                         const double *restrict a, double *restrict g,
                         double *restrict db, size_t n)
{
    switch (act) {
    case NN_ACT_IDENTITY: /* g' = 1 */
        for (size_t j = 0; j < n; j++) db[j] += g[j];
        break;
    case NN_ACT_SIGMOID: /* g' = a (1 - a) */
        for (size_t j = 0; j < n; j++) {
            double v = g[j] * a[j] * (1.0 - a[j]);
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_TANH: /* g' = 1 - a^2 */
        for (size_t j = 0; j < n; j++) {
            double v = g[j] * (1.0 - a[j] * a[j]);
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_RELU: /* g' = [z > 0] = [a > 0] */
        for (size_t j = 0; j < n; j++) {
            double d = g[j], v = a[j] > 0.0 ? d : 0.0;
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_LEAKY_RELU: /* g' = z > 0 ? 1 : slope; slope >= 0 so [z>0]=[a>0] */
        for (size_t j = 0; j < n; j++) {
            double d = g[j], t = slope * d, v = a[j] > 0.0 ? d : t;
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_SOFTMAX: break; /* handled by softmax_backward_row */
    }
}

void nn__act_backward(nn_activation act, double slope, size_t m, size_t n,
                      const double *A, const double *dA, size_t da_rs,
                      size_t da_cs, double *dZ, double *db)
{
    for (size_t j = 0; j < n; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *a = A + i * n;
        const double *da = dA + i * da_rs;
        double *dz = dZ + i * n;
        if (act == NN_ACT_SOFTMAX) {
            softmax_backward_row(a, da, da_cs, dz, db, n);
            continue;
        }
        /* bring the row of dA into dZ (a no-op when they are the same
         * memory), then one in-place kernel for every order and stride, so
         * both orders give bitwise-identical results */
        if (da == dz) {
        } else if (da_cs == 1) {
            memcpy(dz, da, n * sizeof(double));
        } else {
            for (size_t j = 0; j < n; j++) dz[j] = da[j * da_cs];
        }
        backward_row(act, slope, a, dz, db, n);
    }
}
