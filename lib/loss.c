/* loss.c — output losses, each a sum over the outputs per sample, reduced
 * over the batch by a mean (1/m, NN_REDUCE_MEAN) or a sum (NN_REDUCE_SUM),
 * and their gradients fused into the same pass over the outputs. The divisor
 * dm is m or 1, so the mean path divides exactly as it always has. */
#include "nn_private.h"

#include <math.h>

nn_status nn__check_targets(const nn_targets *t, size_t m, size_t k)
{
    if (t->labels) {
        /* a single sigmoid/MSE output takes the label as its 0/1 value */
        /* a single output is never softmax (refused at creation) */
        size_t limit = k == 1 ? 2 : k;
        for (size_t i = 0; i < m; i++)
            if (t->labels[i] < 0 || (size_t)t->labels[i] >= limit)
                return NN_ERR_INVALID;
    }
    return NN_OK;
}

/* The targets of row i: Y's row with its column stride, or for labels the
 * one-hot row e_c as its class c (y NULL). A single output's label (0 or 1)
 * is its value, i.e. the one-hot row of class 0 or of no class. Decided
 * once per row, so that the element loops below test no target kind. */
typedef struct {
    const double *y; /* dense: row i of Y, stride cs */
    size_t cs;
    size_t cls;      /* labels: the class whose target is 1 (or none) */
} trow;

#define NO_CLASS ((size_t)-1)

static inline trow target_row(const nn_targets *t, size_t i, size_t k)
{
    trow r = {.y = NULL, .cs = t->cs, .cls = NO_CLASS};
    if (!t->labels) r.y = t->Y + i * t->rs;
    else if (k > 1) r.cls = (size_t)t->labels[i];
    else if (t->labels[i] == 1) r.cls = 0;
    return r;
}

/* y_j of a label row. */
static inline double onehot(const trow *r, size_t j)
{
    return j == r->cls ? 1.0 : 0.0;
}

/* l = (a - y)^2, dl/da = 2 (a - y); G = dL/dA = 2 (A - Y) / m. The dense
 * and the label rows are separate loops. */
static double mse(size_t m, double dm, size_t k, const double *A,
                  const nn_targets *t, double *G)
{
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *a = A + i * k;
        double *g = G ? G + i * k : NULL;
        trow r = target_row(t, i, k);
        if (r.y) {
            for (size_t j = 0; j < k; j++) {
                double d = a[j] - r.y[j * r.cs];
                sum += d * d;
                if (g) g[j] = 2.0 * d / dm;
            }
        } else {
            for (size_t j = 0; j < k; j++) {
                double d = a[j] - onehot(&r, j);
                sum += d * d;
                if (g) g[j] = 2.0 * d / dm;
            }
        }
    }
    return sum / dm;
}

/* l = -[y log s(z) + (1-y) log(1-s(z))] from the logit z, written so that it is
 * finite for every finite z and has the right limit at z = +-inf:
 *   z >= 0: l = (1-y) z + log1p(exp(-z))
 *   z <  0: l = -y z + log1p(exp(z))
 * (a zero coefficient skips its term, so 0*inf never makes a NaN). */
static inline double bce_term(double z, double y)
{
    if (z >= 0.0) return (y != 1.0 ? (1.0 - y) * z : 0.0) + log1p(exp(-z));
    return (y != 0.0 ? -y * z : 0.0) + log1p(exp(z));
}

/* G = dZ = (s(Z) - Y) / m, db = colsum(G): s(Z) for the whole batch by the
 * vector kernel first (G is contiguous like Z), then one pass per row. */
static double bce(size_t m, double dm, size_t k, const double *Z,
                  const nn_targets *t, double *G, double *db, bool value)
{
    double sum = 0.0;
    if (G) {
        for (size_t j = 0; j < k; j++) db[j] = 0.0;
        nn__vm_map(NN_VM_SIGMOID, m * k, Z, G);
    }
    for (size_t i = 0; i < m; i++) {
        const double *z = Z + i * k;
        trow r = target_row(t, i, k);
        if (value && r.y) /* log1p+exp: skipped when unused */
            for (size_t j = 0; j < k; j++) sum += bce_term(z[j], r.y[j * r.cs]);
        else if (value)
            for (size_t j = 0; j < k; j++) sum += bce_term(z[j], onehot(&r, j));
        if (!G) continue;
        double *g = G + i * k;
        if (r.y)
            for (size_t j = 0; j < k; j++) {
                double v = (g[j] - r.y[j * r.cs]) / dm;
                g[j] = v;
                db[j] += v;
            }
        else
            for (size_t j = 0; j < k; j++) {
                double v = (g[j] - onehot(&r, j)) / dm;
                g[j] = v;
                db[j] += v;
            }
    }
    return sum / dm;
}

/* Per row, with e_j = exp(z_j - max) (one exp per element, kept in the
 * gradient row) and s = sum_j e_j: lse = max + log s;
 *   l = sum_j y_j (lse - z_j)        (terms with y_j = 0 skipped)
 *   dZ_j = (e_j / s * sum_j y_j - y_j) / m. */
static double softmax_ce(size_t m, double dm, size_t k, const double *Z,
                         const nn_targets *t, double *G, double *db)
{
    double sum = 0.0;
    if (G)
        for (size_t j = 0; j < k; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *z = Z + i * k;
        double *g = G ? G + i * k : NULL;
        double mx = z[0];
        for (size_t j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        double s = nn__vm_exp_shift_sum(k, z, mx, g);
        double lse = mx + log(s), ysum = 0.0;
        trow r = target_row(t, i, k);
        if (!r.y) { /* labels: one-hot rows (k > 1: softmax) */
            sum += lse - z[r.cls];
            ysum = 1.0;
        } else {
            for (size_t j = 0; j < k; j++) {
                double y = r.y[j * r.cs];
                if (y != 0.0) sum += y * (lse - z[j]);
                ysum += y;
            }
        }
        if (!g) continue;
        double scale = ysum / s;
        if (r.y)
            for (size_t j = 0; j < k; j++) {
                double v = (g[j] * scale - r.y[j * r.cs]) / dm;
                g[j] = v;
                db[j] += v;
            }
        else
            for (size_t j = 0; j < k; j++) {
                double v = (g[j] * scale - onehot(&r, j)) / dm;
                g[j] = v;
                db[j] += v;
            }
    }
    return sum / dm;
}

double nn__loss(nn_loss loss, int32_t reduce, size_t m, size_t k,
                const double *O, const nn_targets *t, double *G, double *db,
                bool value)
{
    double dm = reduce == NN_REDUCE_SUM ? 1.0 : (double)m;
    switch (loss) {
    case NN_LOSS_MSE: return mse(m, dm, k, O, t, G);
    case NN_LOSS_BCE: return bce(m, dm, k, O, t, G, db, value);
    case NN_LOSS_SOFTMAX_CE: return softmax_ce(m, dm, k, O, t, G, db);
    }
    return NAN;
}
