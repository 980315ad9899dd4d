/* activation.c — the fused elementwise passes of a dense layer:
 * forward  Z <- g(Z + b)                        (one pass over Z)
 * backward dZ = dA o M o g'(Z), db = colsum(dZ)  (one pass over dA; M the
 *                                                dropout mask, if any)
 * g' is computed from A = g(Z), so Z need not be kept. sigmoid, tanh and
 * softmax's exp are lib/vmath.c's vectorised kernels (within 2 ulp). */
#include "nn_private.h"

#include <math.h>
#include <string.h>

/* g(z) = max(z, 0), written so that a NaN z stays NaN. */
static inline double relu(double z) { return z < 0.0 ? 0.0 : z; }

/* g(z) = z > 0 ? z : slope*z, NaN-preserving. */
static inline double leaky(double z, double slope)
{
    double t = slope * z; /* computed unconditionally: a vectorisable select */
    return z < 0.0 ? t : z;
}

/* One row of softmax in place, the bias added in the same pass as the
 * maximum: r_j <- exp(r_j + b_j - max) / sum_k exp(r_k + b_k - max), one exp
 * per element. A row containing NaN, +inf or only -inf gives NaN
 * (documented): the maximum is then NaN, +inf or -inf, and every r_j - max
 * NaN or the sum NaN. */
static void softmax_row(double *restrict r, const double *restrict b,
                        size_t n)
{
    if (b) r[0] += b[0];
    double mx = r[0];
    for (size_t j = 1; j < n; j++) {
        double v = b ? r[j] + b[j] : r[j];
        r[j] = v;
        mx = v > mx ? v : mx;
    }
    double inv = 1.0 / nn__vm_exp_shift_sum(n, r, mx, r);
    for (size_t j = 0; j < n; j++) r[j] *= inv;
}

/* Z <- g(Z + b) over m rows of n (contiguous), b NULL: no bias. relu and
 * leaky relu are vectorisable selects (restrict pointers, unconditional
 * loads); sigmoid and tanh go to the vector kernels over the whole block,
 * softmax row by row. */
static void bias_act(nn_activation act, double slope, size_t m, size_t n,
                     const double *restrict b, double *restrict Z)
{
    switch (act) {
    case NN_ACT_IDENTITY:
        if (b)
            for (size_t i = 0; i < m; i++) {
                double *restrict r = Z + i * n;
                for (size_t j = 0; j < n; j++) r[j] += b[j];
            }
        return;
    case NN_ACT_SIGMOID: nn__vm_apply(NN_VM_SIGMOID, m, n, Z, n, b); return;
    case NN_ACT_TANH: nn__vm_apply(NN_VM_TANH, m, n, Z, n, b); return;
    case NN_ACT_RELU:
        for (size_t i = 0; i < m; i++) {
            double *restrict r = Z + i * n;
            if (b) for (size_t j = 0; j < n; j++) r[j] = relu(r[j] + b[j]);
            else for (size_t j = 0; j < n; j++) r[j] = relu(r[j]);
        }
        return;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < m; i++) {
            double *restrict r = Z + i * n;
            if (b)
                for (size_t j = 0; j < n; j++)
                    r[j] = leaky(r[j] + b[j], slope);
            else for (size_t j = 0; j < n; j++) r[j] = leaky(r[j], slope);
        }
        return;
    case NN_ACT_SOFTMAX:
        for (size_t i = 0; i < m; i++) softmax_row(Z + i * n, b, n);
        return;
    }
}

void nn__act_forward(nn_activation act, double slope, size_t m, size_t n,
                     const double *b, double *Z)
{
    bias_act(act, slope, m, n, b, Z);
}

/* Rows of the scratch a strided nn__act_apply goes through. */
#define APPLY_CHUNK 256

void nn__act_apply(nn_activation act, double slope, size_t m, size_t n,
                   const double *src, double *dst, size_t dst_rs,
                   size_t dst_cs)
{
    if (dst_cs == 1 && dst_rs == n) { /* contiguous: in place in dst */
        if (dst != src) memcpy(dst, src, m * n * sizeof *dst);
        bias_act(act, slope, m, n, NULL, dst);
        return;
    }
    /* strided: each row in chunks through a bounded scratch; softmax takes
     * its row's maximum and sum first (the same values as in place) */
    double tmp[APPLY_CHUNK];
    for (size_t i = 0; i < m; i++) {
        const double *s = src + i * n;
        double mx = s[0], inv = 1.0;
        if (act == NN_ACT_SOFTMAX) {
            for (size_t j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
            inv = 1.0 / nn__vm_exp_shift_sum(n, s, mx, NULL);
        }
        for (size_t j0 = 0; j0 < n; j0 += APPLY_CHUNK) {
            size_t c = n - j0 < APPLY_CHUNK ? n - j0 : APPLY_CHUNK;
            if (act == NN_ACT_SOFTMAX) {
                nn__vm_exp_shift_sum(c, s + j0, mx, tmp);
                for (size_t j = 0; j < c; j++) tmp[j] *= inv;
            } else {
                memcpy(tmp, s + j0, c * sizeof *tmp);
                bias_act(act, slope, 1, c, NULL, tmp);
            }
            for (size_t j = 0; j < c; j++)
                dst[i * dst_rs + (j0 + j) * dst_cs] = tmp[j];
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

/* One row, in place: g holds dA on entry and dZ = dA o M o g'(A) on return
 * (mk: the row of the dropout mask M, or NULL); db += dZ. Distinct restrict
 * rows and unconditional loads let the compiler vectorise every case (and
 * take the mask test out of the loops). */
static void backward_row(nn_activation act, double slope,
                         const double *restrict a, const double *restrict mk,
                         double *restrict g, double *restrict db, size_t n)
{
#define DA(j) (mk ? g[j] * mk[j] : g[j])
    switch (act) {
    case NN_ACT_IDENTITY: /* g' = 1 */
        for (size_t j = 0; j < n; j++) {
            double v = DA(j);
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_SIGMOID: /* g' = a (1 - a) */
        for (size_t j = 0; j < n; j++) {
            double v = DA(j) * a[j] * (1.0 - a[j]);
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_TANH: /* g' = 1 - a^2 */
        for (size_t j = 0; j < n; j++) {
            double v = DA(j) * (1.0 - a[j] * a[j]);
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_RELU: /* g' = [z > 0] = [a > 0] */
        for (size_t j = 0; j < n; j++) {
            double d = DA(j), v = a[j] > 0.0 ? d : 0.0;
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_LEAKY_RELU: /* g' = z > 0 ? 1 : slope; slope >= 0 so [z>0]=[a>0] */
        for (size_t j = 0; j < n; j++) {
            double d = DA(j), t = slope * d, v = a[j] > 0.0 ? d : t;
            g[j] = v;
            db[j] += v;
        }
        break;
    case NN_ACT_SOFTMAX: break; /* handled by softmax_backward_row */
    }
#undef DA
}

void nn__act_backward(nn_activation act, double slope, size_t m, size_t n,
                      const double *A, const double *M, const double *dA,
                      size_t da_rs, size_t da_cs, double *dZ, double *db)
{
    for (size_t j = 0; j < n; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *a = A + i * n;
        const double *da = dA + i * da_rs;
        double *dz = dZ + i * n;
        if (act == NN_ACT_SOFTMAX) { /* (an output layer: no dropout) */
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
        backward_row(act, slope, a, M ? M + i * n : NULL, dz, db, n);
    }
}
