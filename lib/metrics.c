/* metrics.c — loss, accuracy, regression metrics and the confusion matrix
 * of a network over a whole data set, in batches of a context's capacity.
 *
 * Each batch goes forward once (inference: no dropout). The loss is taken
 * from the output buffer first (logits under BCE / softmax CE, as a SUM over
 * the batch); then the output activation is applied in place (the numbers
 * nn_net_predict gives) and everything else is read from there. Nothing is
 * allocated beyond the context: the per-output sums live in its 4 x n_out
 * accumulator block.
 *
 * Targets: dense rows, or labels standing for the one-hot row e_c (for a
 * single output, the value c), so MSE / MAE / R2 apply to both.
 * Loss: the mean per row, sum_i l_i / m, whatever the net's reduction.
 * Predicted class: arg-max of the outputs (first maximum on ties); for a
 * single output, class 1 when p > 0.5.
 * R2_j = 1 - SS_res_j / SS_tot_j with SS_tot_j about the data's own mean of
 * target j (computed in a first pass over the targets only); SS_tot_j = 0
 * gives 1 when SS_res_j = 0, else 0 (scikit-learn's convention); NN_METRIC_R2
 * is the mean over outputs (scikit-learn's "uniform_average"). */
#include "nn_private.h"

#include <math.h>
#include <string.h>

size_t nn__net_n_classes(const nn_net_t *net)
{
    size_t k = nn_net_n_out(net);
    return k == 1 ? 2 : k;
}

nn_status nn__check_fit(const nn_net_t *net, const nn__dview *v)
{
    if (v->m == 0 || (!v->labels && !v->Y)) return NN_ERR_INVALID;
    if (v->n != nn_net_n_in(net)) return NN_ERR_SHAPE;
    if (v->Y && v->k != nn_net_n_out(net)) return NN_ERR_SHAPE;
    size_t k = nn__net_n_classes(net);
    for (size_t i = 0; v->labels && i < v->m; i++)
        if (v->labels[i] < 0 || (size_t)v->labels[i] >= k) return NN_ERR_SHAPE;
    return NN_OK;
}

/* Predicted class of one output row o (n_out values). */
static size_t predict_class(const double *o, size_t n_out)
{
    if (n_out == 1) return o[0] > 0.5 ? 1 : 0;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (o[j] > o[best]) best = j;
    return best;
}

/* What one pass accumulates. Per-output arrays may be NULL when unused. */
typedef struct sums {
    double loss;
    size_t correct;
    double *sse, *sae; /* n_out each */
    size_t *counts;    /* k x k confusion counts, or NULL */
} sums;

static void add_batch(const nn_net_t *net, size_t mb, const double *O,
                      const nn_targets *t, sums *s)
{
    size_t k = nn_net_n_out(net), kc = nn__net_n_classes(net);
    for (size_t i = 0; i < mb; i++) {
        const double *o = O + i * k;
        if (t->labels) {
            size_t p = predict_class(o, k), c = (size_t)t->labels[i];
            s->correct += p == c;
            if (s->counts) s->counts[c * kc + p]++;
        }
        for (size_t j = 0; s->sse && j < k; j++) {
            double d = o[j] - nn__target(t, i, j, k);
            s->sse[j] += d * d;
            s->sae[j] += fabs(d);
        }
    }
}

/* One batch of rows r0.. (or gathered rows) forward, into the sums. */
static void eval_batch(const nn_net_t *net, nn_ctx_t *ctx, const double *X,
                       const nn_targets *t, size_t mb, sums *s)
{
    size_t n = nn_net_n_in(net), k = nn_net_n_out(net);
    double *O = nn__net_forward(net, ctx, mb, NN_ROW_MAJOR, X, n, NULL);
    s->loss += nn__loss(nn__net_loss_kind(net), NN_REDUCE_SUM, mb, k, O, t,
                        NULL, NULL, true);
    nn__net_finish_outputs(net, mb, O);
    add_batch(net, mb, O, t, s);
}

/* The pass over `count` rows (all, or rows[] gathered into gx / gt). */
static void eval_pass(const nn_net_t *net, nn_ctx_t *ctx, const nn__dview *v,
                      const size_t *rows, size_t count, double *gx, void *gt,
                      sums *s)
{
    size_t n = v->n, k = v->k, cap = nn__ctx_cap(ctx);
    for (size_t r0 = 0; r0 < count; r0 += cap) {
        size_t mb = count - r0 < cap ? count - r0 : cap;
        const double *X = v->X + r0 * n;
        nn_targets t = {.rs = k, .cs = 1};
        if (v->labels) t.labels = v->labels + r0;
        else t.Y = v->Y + r0 * k;
        if (rows) {
            nn__gather_rows(v, rows + r0, mb, gx, gt);
            X = gx;
            if (v->labels) t.labels = gt;
            else t.Y = gt;
        }
        eval_batch(net, ctx, X, &t, mb, s);
    }
}

void nn__gather_rows(const nn__dview *v, const size_t *rows, size_t mb,
                     double *gx, void *gt)
{
    const size_t n = v->n, k = v->k;
    for (size_t i = 0; i < mb; i++) {
        size_t r = rows[i];
        memcpy(gx + i * n, v->X + r * n, n * sizeof(double));
        if (v->labels) ((int32_t *)gt)[i] = v->labels[r];
        else memcpy((double *)gt + i * k, v->Y + r * k, k * sizeof(double));
    }
}

nn_status nn__eval_sums(const nn_net_t *net, nn_ctx_t *ctx,
                        const nn__dview *v, const size_t *rows, size_t count,
                        double *gx, void *gt, double *loss_sum,
                        double *correct)
{
    if (!nn__ctx_fits(ctx, net)) return NN_ERR_SHAPE;
    sums s = {0};
    eval_pass(net, ctx, v, rows, count, gx, gt, &s);
    *loss_sum = s.loss;
    *correct = (double)s.correct;
    return NN_OK;
}

nn_status nn__eval_rows(const nn_net_t *net, nn_ctx_t *ctx,
                        const nn__dview *v, const size_t *rows, size_t count,
                        double *gx, void *gt, double *loss, double *acc)
{
    double sum, correct;
    nn_status st = nn__eval_sums(net, ctx, v, rows, count, gx, gt, &sum,
                                 &correct);
    if (st) return st;
    if (loss) *loss = sum / (double)count;
    if (acc) *acc = v->labels ? correct / (double)count : NAN;
    return NN_OK;
}

/* ------------------------------------------------------------ evaluate */
/* Values a metric writes, or 0 for an unknown one. */
static size_t metric_width(int32_t metric, size_t k)
{
    switch (metric) {
    case NN_METRIC_LOSS: case NN_METRIC_ACCURACY: case NN_METRIC_MSE:
    case NN_METRIC_MAE: case NN_METRIC_R2: return 1;
    case NN_METRIC_MSE_OUTPUTS: case NN_METRIC_MAE_OUTPUTS:
    case NN_METRIC_R2_OUTPUTS: return k;
    }
    return 0;
}

/* Mean and total sum of squares about it of every target column. */
static void target_moments(const nn__dview *v, size_t k, double *mean,
                           double *sst)
{
    nn_targets t = {.labels = v->labels, .Y = v->Y, .rs = k, .cs = 1};
    for (size_t j = 0; j < k; j++) mean[j] = sst[j] = 0.0;
    for (size_t i = 0; i < v->m; i++)
        for (size_t j = 0; j < k; j++) mean[j] += nn__target(&t, i, j, k);
    for (size_t j = 0; j < k; j++) mean[j] /= (double)v->m;
    for (size_t i = 0; i < v->m; i++)
        for (size_t j = 0; j < k; j++) {
            double d = nn__target(&t, i, j, k) - mean[j];
            sst[j] += d * d;
        }
}

static double r2_of(double sse, double sst)
{
    if (sst == 0.0) return sse == 0.0 ? 1.0 : 0.0;
    return 1.0 - sse / sst;
}

/* Write metric `metric` (checked) to out from the pass's sums. */
static size_t write_metric(int32_t metric, const sums *s, const double *sst,
                           size_t m, size_t k, double *out)
{
    double dm = (double)m, mse = 0, mae = 0, r2 = 0;
    for (size_t j = 0; j < k; j++) {
        mse += s->sse[j];
        mae += s->sae[j];
        r2 += r2_of(s->sse[j], sst[j]);
    }
    switch (metric) {
    case NN_METRIC_LOSS: *out = s->loss / dm; return 1;
    case NN_METRIC_ACCURACY: *out = (double)s->correct / dm; return 1;
    case NN_METRIC_MSE: *out = mse / (dm * (double)k); return 1;
    case NN_METRIC_MAE: *out = mae / (dm * (double)k); return 1;
    case NN_METRIC_R2: *out = r2 / (double)k; return 1;
    }
    for (size_t j = 0; j < k; j++)
        out[j] = metric == NN_METRIC_MSE_OUTPUTS   ? s->sse[j] / dm
                 : metric == NN_METRIC_MAE_OUTPUTS ? s->sae[j] / dm
                                                   : r2_of(s->sse[j], sst[j]);
    return k;
}

static nn_status check_eval(const nn_net_t *net, const nn_data_t *data,
                            nn__dview *v)
{
    if (!net || !data) return NN_ERR_INVALID;
    nn__data_view(data, v);
    return nn__check_fit(net, v);
}

nn_status nn_net_evaluate(const nn_net_t *net, nn_ctx_t *ctx,
                          const nn_data_t *data, size_t n_metrics,
                          const int32_t *metrics, double *values)
{
    if (n_metrics == 0 || !metrics || !values) return NN_ERR_INVALID;
    nn__dview v;
    nn_status st = check_eval(net, data, &v);
    if (st) return st;
    size_t k = nn_net_n_out(net);
    for (size_t i = 0; i < n_metrics; i++)
        if (!metric_width(metrics[i], k) ||
            (metrics[i] == NN_METRIC_ACCURACY && !v.labels))
            return NN_ERR_INVALID;
    nn_ctx_t *c;
    st = nn__ctx_begin(net, ctx, v.m, &c);
    if (st) return st;
    double *acc = nn__ctx_acc(c), *mean = acc + 2 * k, *sst = acc + 3 * k;
    sums s = {.sse = acc, .sae = acc + k};
    memset(acc, 0, 2 * k * sizeof(double));
    target_moments(&v, k, mean, sst);
    eval_pass(net, c, &v, NULL, v.m, NULL, NULL, &s);
    for (size_t i = 0, at = 0; i < n_metrics; i++)
        at += write_metric(metrics[i], &s, sst, v.m, k, values + at);
    nn__ctx_end(ctx, c);
    return NN_OK;
}

nn_status nn_net_confusion(const nn_net_t *net, nn_ctx_t *ctx,
                           const nn_data_t *data, size_t *counts)
{
    if (!counts) return NN_ERR_INVALID;
    nn__dview v;
    nn_status st = check_eval(net, data, &v);
    if (st) return st;
    if (!v.labels) return NN_ERR_INVALID;
    size_t k = nn__net_n_classes(net), cells, bytes;
    if (!nn__mul(k, k, &cells) || !nn__mul(cells, sizeof(size_t), &bytes))
        return NN_ERR_TOO_LARGE;
    nn_ctx_t *c;
    st = nn__ctx_begin(net, ctx, v.m, &c);
    if (st) return st;
    memset(counts, 0, bytes);
    sums s = {.counts = counts};
    eval_pass(net, c, &v, NULL, v.m, NULL, NULL, &s);
    nn__ctx_end(ctx, c);
    return NN_OK;
}
