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

/* l = (a - y)^2, dl/da = 2 (a - y); G = dL/dA = 2 (A - Y) / m. */
static double mse(size_t m, double dm, size_t k, const double *A,
                  const nn_targets *t, double *G)
{
    double sum = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) {
            double d = A[i * k + j] - nn__target(t, i, j, k);
            sum += d * d;
            if (G) G[i * k + j] = 2.0 * d / dm;
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

/* G = dZ = (s(Z) - Y) / m, db = colsum(G). */
static double bce(size_t m, double dm, size_t k, const double *Z,
                  const nn_targets *t, double *G, double *db, bool value)
{
    double sum = 0.0;
    if (G)
        for (size_t j = 0; j < k; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) {
            double z = Z[i * k + j], y = nn__target(t, i, j, k);
            if (value) sum += bce_term(z, y); /* log1p+exp: skip if unused */
            if (G) {
                double g = (1.0 / (1.0 + exp(-z)) - y) / dm;
                G[i * k + j] = g;
                db[j] += g;
            }
        }
    return sum / dm;
}

/* Per row: lse = max + log sum_j exp(z_j - max);
 *   l = sum_j y_j (lse - z_j)        (terms with y_j = 0 skipped)
 *   dZ_j = (exp(z_j - lse) sum_j y_j - y_j) / m. */
static double softmax_ce(size_t m, double dm, size_t k, const double *Z,
                         const nn_targets *t, double *G, double *db)
{
    double sum = 0.0;
    if (G)
        for (size_t j = 0; j < k; j++) db[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *z = Z + i * k;
        double mx = z[0];
        for (size_t j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        double s = 0.0;
        for (size_t j = 0; j < k; j++) s += exp(z[j] - mx);
        double lse = mx + log(s), ysum = 0.0;
        if (t->labels) {
            sum += lse - z[t->labels[i]];
            ysum = 1.0;
        } else {
            for (size_t j = 0; j < k; j++) {
                double y = nn__target(t, i, j, k);
                if (y != 0.0) sum += y * (lse - z[j]);
                ysum += y;
            }
        }
        if (G) {
            double *g = G + i * k;
            for (size_t j = 0; j < k; j++) {
                double v = (exp(z[j] - lse) * ysum - nn__target(t, i, j, k)) / dm;
                g[j] = v;
                db[j] += v;
            }
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
