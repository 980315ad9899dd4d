/* test_metrics.c — nn_net_evaluate and nn_net_confusion against plain-loop
 * references on tiny networks with hand-set weights:
 *   softmax CE:  z = x.W + b, p = softmax(z), l = -log p_y, class = argmax p
 *   BCE (1 out): z = x.w + b, p = 1/(1+e^-z), l = -[y log p + (1-y) log(1-p)],
 *                class = [p > 0.5]
 *   MSE:         a = x.W + b (identity), l = sum_j (a_j - e_y,j)^2
 * loss = mean over the rows, accuracy = fraction of rows whose class is the
 * label; every batch size gives the same numbers. Data sets are written as
 * CSV files (features with %.17g, label last) and loaded back. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

/* ------------------------------------------------------------ helpers */
/* A data set of m rows x n features (row-major) with labels (NULL: none). */
static nn_data_t *make_data(const double *X, size_t m, size_t n,
                            const size_t *labels, const nn_allocator *al)
{
    return tu_data(X, m, n, labels, al);
}

#define M 7
#define NI 2
#define K 3

static const double XS[M * NI] = {1.0, -2.0, 0.5,  3.0,  -1.5, 0.25, 2.0,
                                  2.0, -0.3, -0.7, 0.1,  1.9,  -2.2, -1.0};
static const size_t LS[M] = {0, 2, 1, 0, 1, 2, 2};
static const double W3[NI * K] = {0.8, -0.4, 0.3, -0.6, 0.9, 0.2};
static const double B3[K] = {0.1, -0.2, 0.05};

static nn_net_t *make_net(size_t k, nn_activation act, nn_loss loss,
                          const double *W, const double *b)
{
    nn_layer_spec spec = {.n_out = k, .act = act};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NI, 1, &spec, loss, NULL));
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, W, k, b));
    return net;
}

/* z = x.W + b for one row, k outputs. */
static void logits(const double *x, const double *W, const double *b, size_t k,
                   double *z)
{
    for (size_t j = 0; j < k; j++) {
        z[j] = b[j];
        for (size_t i = 0; i < NI; i++) z[j] += x[i] * W[i * k + j];
    }
}

/* ------------------------------------------------------------ tests */
START_TEST(softmax_matches_reference)
{
    nn_net_t *net = make_net(K, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W3, B3);
    nn_data_t *d = make_data(XS, M, NI, LS, NULL);
    double ref_loss = 0;
    size_t ref_correct = 0, ref_counts[K * K] = {0};
    for (size_t i = 0; i < M; i++) {
        double z[K], mx = -INFINITY, s = 0;
        logits(&XS[i * NI], W3, B3, K, z);
        for (size_t j = 0; j < K; j++) mx = fmax(mx, z[j]);
        for (size_t j = 0; j < K; j++) s += exp(z[j] - mx);
        ref_loss += -(z[LS[i]] - mx - log(s));
        size_t p = 0;
        for (size_t j = 1; j < K; j++)
            if (z[j] > z[p]) p = j;
        ref_correct += p == LS[i];
        ref_counts[LS[i] * K + p]++;
    }
    ref_loss /= M;
    double ref_acc = (double)ref_correct / M;
    /* the reference classifies some rows wrong: accuracy is informative */
    ck_assert(ref_correct > 0 && ref_correct < M);

    double loss, acc;
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 3, &loss, &acc));
    ck_assert_msg(tu_relerr(loss, ref_loss, 1e-300) < 1e-13, "%.17g vs %.17g",
                  loss, ref_loss);
    ck_assert(acc == ref_acc);

    size_t counts[K * K];
    memset(counts, 0xAB, sizeof counts);
    NN_OK_OR_FAIL(nn_net_confusion(net, d, 2, counts));
    size_t total = 0, diag = 0;
    for (size_t t = 0; t < K; t++)
        for (size_t p = 0; p < K; p++) {
            ck_assert_uint_eq(counts[t * K + p], ref_counts[t * K + p]);
            total += counts[t * K + p];
            if (t == p) diag += counts[t * K + p];
        }
    ck_assert_uint_eq(total, M);
    ck_assert_uint_eq(diag, ref_correct);

    /* one output pointer may be NULL */
    double l2 = 0, a2 = 0;
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 4, &l2, NULL));
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 4, NULL, &a2));
    ck_assert(fabs(l2 - loss) <= 1e-12 && a2 == acc);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(batch_sizes_agree)
{
    /* two layers (tanh hidden) so that batching goes through the workspace */
    nn_layer_spec specs[2] = {{.n_out = 4, .act = NN_ACT_TANH},
                              {.n_out = K, .act = NN_ACT_SOFTMAX}};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NI, 2, specs, NN_LOSS_SOFTMAX_CE, NULL));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 42));
    nn_data_t *d = make_data(XS, M, NI, LS, NULL);
    /* reference: one whole-batch loss call and a predict call */
    double ref_loss, Y[M * K];
    NN_OK_OR_FAIL(nn_net_loss_labels(net, M, NN_ROW_MAJOR, XS, NI, LS,
                                     &ref_loss));
    NN_OK_OR_FAIL(nn_net_predict(net, M, NN_ROW_MAJOR, XS, NI, Y, K));
    size_t correct = 0, ref_counts[K * K] = {0};
    for (size_t i = 0; i < M; i++) {
        size_t p = 0;
        for (size_t j = 1; j < K; j++)
            if (Y[i * K + j] > Y[i * K + p]) p = j;
        correct += p == LS[i];
        ref_counts[LS[i] * K + p]++;
    }
    const size_t batches[] = {1, 3, M, M + 5, (size_t)-1};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        double loss, acc;
        size_t counts[K * K];
        NN_OK_OR_FAIL(nn_net_evaluate(net, d, batches[b], &loss, &acc));
        NN_OK_OR_FAIL(nn_net_confusion(net, d, batches[b], counts));
        ck_assert_msg(fabs(loss - ref_loss) <= 1e-12, "batch %zu: %.17g vs %.17g",
                      batches[b], loss, ref_loss);
        ck_assert(acc == (double)correct / M);
        ck_assert(memcmp(counts, ref_counts, sizeof counts) == 0);
    }
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(single_sigmoid_output)
{
    const double w[NI] = {1.2, -0.7}, b = 0.3;
    const size_t lab[M] = {1, 0, 0, 1, 1, 0, 1};
    nn_net_t *net = make_net(1, NN_ACT_SIGMOID, NN_LOSS_BCE, w, &b);
    nn_data_t *d = make_data(XS, M, NI, lab, NULL);
    double ref_loss = 0;
    size_t correct = 0, ref_counts[4] = {0};
    for (size_t i = 0; i < M; i++) {
        double z;
        logits(&XS[i * NI], w, &b, 1, &z);
        double p = 1.0 / (1.0 + exp(-z)), y = (double)lab[i];
        ref_loss += -(y * log(p) + (1 - y) * log(1 - p));
        size_t c = p > 0.5;
        correct += c == lab[i];
        ref_counts[lab[i] * 2 + c]++;
    }
    ref_loss /= M;
    double loss, acc;
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 2, &loss, &acc));
    ck_assert_msg(tu_relerr(loss, ref_loss, 1e-300) < 1e-12, "%.17g vs %.17g",
                  loss, ref_loss);
    ck_assert(acc == (double)correct / M);
    size_t counts[4];
    NN_OK_OR_FAIL(nn_net_confusion(net, d, 5, counts));
    ck_assert(memcmp(counts, ref_counts, sizeof counts) == 0);
    ck_assert_uint_eq(counts[0] + counts[1] + counts[2] + counts[3], M);

    /* a label of 2 does not fit a single output */
    const size_t bad[M] = {1, 0, 2, 1, 1, 0, 1};
    nn_data_t *d2 = make_data(XS, M, NI, bad, NULL);
    ck_assert_int_eq(nn_net_evaluate(net, d2, 2, &loss, &acc), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, d2, 2, counts), NN_ERR_SHAPE);
    nn_data_destroy(d2);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(mse_identity_outputs)
{
    nn_net_t *net = make_net(K, NN_ACT_IDENTITY, NN_LOSS_MSE, W3, B3);
    nn_data_t *d = make_data(XS, M, NI, LS, NULL);
    double ref_loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < M; i++) {
        double a[K];
        logits(&XS[i * NI], W3, B3, K, a);
        size_t p = 0;
        for (size_t j = 0; j < K; j++) {
            double dlt = a[j] - (LS[i] == j ? 1.0 : 0.0);
            ref_loss += dlt * dlt;
            if (a[j] > a[p]) p = j;
        }
        correct += p == LS[i];
    }
    ref_loss /= M;
    double loss, acc;
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 3, &loss, &acc));
    ck_assert_msg(tu_relerr(loss, ref_loss, 1e-300) < 1e-13, "%.17g vs %.17g",
                  loss, ref_loss);
    ck_assert(acc == (double)correct / M);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(no_allocation_beyond_reserve)
{
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_layer_spec spec = {.n_out = K, .act = NN_ACT_SOFTMAX};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NI, 1, &spec, NN_LOSS_SOFTMAX_CE, &al));
    nn_data_t *d = make_data(XS, M, NI, LS, NULL);
    NN_OK_OR_FAIL(nn_net_reserve(net, 3));
    size_t counts[K * K];
    long before = c.attempts;
    double loss;
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 3, &loss, NULL));
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 2, &loss, NULL));
    NN_OK_OR_FAIL(nn_net_confusion(net, d, 1, counts));
    ck_assert_int_eq(c.attempts, before);
    /* a batch larger than the data reserves only m rows, once */
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 1000, &loss, NULL));
    ck_assert_int_eq(c.attempts, before + 1);
    NN_OK_OR_FAIL(nn_net_evaluate(net, d, 1000, &loss, NULL));
    ck_assert_int_eq(c.attempts, before + 1);
    nn_net_destroy(net);
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

START_TEST(errors)
{
    nn_net_t *net = make_net(K, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W3, B3);
    nn_data_t *d = make_data(XS, M, NI, LS, NULL);
    nn_data_t *nolab = make_data(XS, M, NI, NULL, NULL);
    /* 3 feature columns for a 2-input net */
    double X3[M * 3];
    for (size_t i = 0; i < M * 3; i++) X3[i] = 0.1 * (double)i;
    nn_data_t *wide = make_data(X3, M, 3, LS, NULL);
    const size_t big[M] = {0, 1, 2, 3, 0, 1, 2};
    nn_data_t *biglab = make_data(XS, M, NI, big, NULL);
    double loss = 123, acc = 456;
    size_t counts[K * K];
    for (size_t i = 0; i < K * K; i++) counts[i] = 77;

    ck_assert_int_eq(nn_net_evaluate(NULL, d, 2, &loss, &acc), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, 2, &loss, &acc), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, d, 0, &loss, &acc), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, d, 2, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, nolab, 2, &loss, &acc),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, wide, 2, &loss, &acc), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_evaluate(net, biglab, 2, &loss, &acc),
                     NN_ERR_SHAPE);
    ck_assert(loss == 123 && acc == 456);

    ck_assert_int_eq(nn_net_confusion(NULL, d, 2, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, 2, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, d, 0, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, d, 2, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, nolab, 2, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, wide, 2, counts), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, biglab, 2, counts), NN_ERR_SHAPE);
    for (size_t i = 0; i < K * K; i++) ck_assert_uint_eq(counts[i], 77);

    nn_data_destroy(biglab);
    nn_data_destroy(wide);
    nn_data_destroy(nolab);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, softmax_matches_reference);
    tcase_add_test(tc, batch_sizes_agree);
    tcase_add_test(tc, single_sigmoid_output);
    tcase_add_test(tc, mse_identity_outputs);
    tcase_add_test(tc, no_allocation_beyond_reserve);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(metrics_suite()); }
