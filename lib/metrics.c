/* metrics.c — loss, accuracy and confusion matrix of a network over a whole
 * labelled data set, in batches.
 *
 * Each batch goes through nn_net_loss_labels (inference: no dropout), which
 * leaves the batch's outputs in the net's workspace; nn__net_outputs turns
 * them into output activations in place (the numbers nn_net_predict gives)
 * and the predicted classes are read from there. So nothing is allocated
 * beyond the net's workspace for min(batch, m) rows (nn_net_reserve, which
 * allocates only if the workspace is smaller).
 *
 * Loss: the mean over all rows, sum_b loss_b * m_b / m (batch b's mean loss
 * weighted by its m_b rows, so a smaller last batch counts for what it is).
 * Predicted class: arg-max of the outputs (first maximum on ties); for a
 * single output whose label is a 0/1 target (any loss but softmax CE), class 1
 * when the output p > 0.5; for a single softmax-CE output, always class 0.
 * Labels must be < k = nn__net_n_classes(net) (NN_ERR_SHAPE otherwise). */
#include "nn_private.h"

#include <string.h>

size_t nn__net_n_classes(const nn_net_t *net)
{
    size_t k = nn_net_n_out(net);
    return (k == 1 && nn__net_loss_kind(net) != NN_LOSS_SOFTMAX_CE) ? 2 : k;
}

nn_status nn__check_labelled(const nn_net_t *net, const nn_data_t *data)
{
    if (!net || !data) return NN_ERR_INVALID;
    size_t m = nn_data_rows(data);
    const size_t *labels = nn_data_labels(data);
    if (m == 0 || !labels) return NN_ERR_INVALID;
    if (nn_data_cols(data) != nn_net_n_in(net)) return NN_ERR_SHAPE;
    size_t k = nn__net_n_classes(net);
    for (size_t i = 0; i < m; i++)
        if (labels[i] >= k) return NN_ERR_SHAPE;
    return NN_OK;
}

/* Predicted class of one output row o (n_out values), k classes. */
static size_t predict_class(const double *o, size_t n_out, size_t k)
{
    if (n_out == 1) return k == 2 && o[0] > 0.5 ? 1 : 0;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (o[j] > o[best]) best = j;
    return best;
}

nn_status nn__eval_rows(nn_net_t *net, const double *X, const size_t *labels,
                        const size_t *rows, size_t count, size_t batch,
                        double *gx, size_t *gl, double *loss, double *acc,
                        size_t *counts)
{
    size_t n = nn_net_n_in(net), n_out = nn_net_n_out(net);
    size_t k = nn__net_n_classes(net);
    double loss_sum = 0.0;
    size_t correct = 0;
    for (size_t start = 0; start < count; start += batch) {
        size_t mb = count - start < batch ? count - start : batch;
        const double *bx;
        const size_t *bl;
        if (rows) {
            for (size_t i = 0; i < mb; i++) {
                size_t r = rows[start + i];
                memcpy(gx + i * n, X + r * n, n * sizeof(double));
                gl[i] = labels[r];
            }
            bx = gx;
            bl = gl;
        } else {
            bx = X + start * n;
            bl = labels + start;
        }
        double lb;
        nn_status st = nn_net_loss_labels(net, mb, NN_ROW_MAJOR, bx, n, bl,
                                          &lb);
        if (st) return st;
        loss_sum += lb * (double)mb;
        const double *O = nn__net_outputs(net, mb);
        for (size_t i = 0; i < mb; i++) {
            size_t p = predict_class(O + i * n_out, n_out, k);
            correct += p == bl[i];
            if (counts) counts[bl[i] * k + p]++;
        }
    }
    if (loss) *loss = loss_sum / (double)count;
    if (acc) *acc = (double)correct / (double)count;
    return NN_OK;
}

/* Validation common to evaluate and confusion; reserves the workspace. */
static nn_status begin_eval(nn_net_t *net, const nn_data_t *data, size_t batch)
{
    if (!net || !data || batch == 0) return NN_ERR_INVALID;
    nn_status st = nn__check_labelled(net, data);
    if (st) return st;
    size_t m = nn_data_rows(data);
    st = nn__check_matrix(nn__data_x(data), m, nn_net_n_in(net), NN_ROW_MAJOR,
                          nn_net_n_in(net));
    if (st) return st;
    return nn_net_reserve(net, batch < m ? batch : m);
}

nn_status nn_net_evaluate(nn_net_t *net, const nn_data_t *data, size_t batch,
                          double *loss, double *accuracy)
{
    if (!loss && !accuracy) return NN_ERR_INVALID;
    nn_status st = begin_eval(net, data, batch);
    if (st) return st;
    double l, a;
    st = nn__eval_rows(net, nn__data_x(data), nn_data_labels(data), NULL,
                       nn_data_rows(data), batch, NULL, NULL, &l, &a, NULL);
    if (st) return st;
    if (loss) *loss = l;
    if (accuracy) *accuracy = a;
    return NN_OK;
}

nn_status nn_net_confusion(nn_net_t *net, const nn_data_t *data, size_t batch,
                           size_t *counts)
{
    if (!counts) return NN_ERR_INVALID;
    nn_status st = begin_eval(net, data, batch);
    if (st) return st;
    size_t k = nn__net_n_classes(net), cells, bytes;
    if (!nn__mul(k, k, &cells) || !nn__mul(cells, sizeof(size_t), &bytes))
        return NN_ERR_TOO_LARGE;
    memset(counts, 0, bytes);
    /* cannot fail after begin_eval: the batches were all checked */
    return nn__eval_rows(net, nn__data_x(data), nn_data_labels(data), NULL,
                         nn_data_rows(data), batch, NULL, NULL, NULL, NULL,
                         counts);
}
