/* test_metrics.c — nn_net_evaluate and nn_net_confusion against plain-loop
 * references on tiny networks with hand-set weights:
 *   softmax CE:  z = x.W + b, p = softmax(z), l = -log p_y, class = argmax p
 *   BCE (1 out): z = x.w + b, p = 1/(1+e^-z), l = -[y log p + (1-y) log(1-p)],
 *                class = [p > 0.5]
 *   MSE:         a = x.W + b (identity), l = sum_j (a_j - e_y,j)^2
 * loss = mean over the rows, accuracy = fraction of rows whose class is the
 * label; every context capacity gives the same numbers. On dense targets
 * MSE/MAE/R2 (and their per-output forms) are checked against long double
 * loops over predictions the test computes itself from the weights it set.
 * Exact ties: the arg-max takes the first index, and a single output of
 * exactly 0.5 is class 0. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

/* ------------------------------------------------------------ helpers */
#define M 7
#define NI 2
#define K 3

static const double XS[M * NI] = {1.0, -2.0, 0.5,  3.0,  -1.5, 0.25, 2.0,
                                  2.0, -0.3, -0.7, 0.1,  1.9,  -2.2, -1.0};
static const int32_t LS[M] = {0, 2, 1, 0, 1, 2, 2};
static const double W3[NI * K] = {0.8, -0.4, 0.3, -0.6, 0.9, 0.2};
static const double B3[K] = {0.1, -0.2, 0.05};

/* A one-layer network on n_in inputs with k outputs and weights W, b. */
static nn_net_t *make_net_in(size_t n_in, size_t k, nn_activation act,
                             nn_loss loss, const double *W, const double *b,
                             const nn_allocator *al)
{
    nn_net_t *net = tu_net(n_in, 1, &k, &act, loss, al);
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, W, k, b));
    return net;
}

static nn_net_t *make_net(size_t k, nn_activation act, nn_loss loss,
                          const double *W, const double *b)
{
    return make_net_in(NI, k, act, loss, W, b, NULL);
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

static const int32_t LOSS_ACC[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};

/* ------------------------------------------------------------ labels */
START_TEST(softmax_matches_reference)
{
    nn_net_t *net = make_net(K, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W3, B3);
    nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
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
        ref_correct += p == (size_t)LS[i];
        ref_counts[(size_t)LS[i] * K + p]++;
    }
    ref_loss /= M;
    double ref_acc = (double)ref_correct / M;
    /* the reference classifies some rows wrong: accuracy is informative */
    ck_assert(ref_correct > 0 && ref_correct < M);

    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 3, NULL));
    double v[2];
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 2, LOSS_ACC, v));
    ck_assert_msg(tu_relerr(v[0], ref_loss, 1e-300) < 1e-13, "%.17g vs %.17g",
                  v[0], ref_loss);
    ck_assert(v[1] == ref_acc);

    size_t counts[K * K];
    memset(counts, 0xAB, sizeof counts);
    NN_OK_OR_FAIL(nn_net_confusion(net, ctx, d, counts));
    size_t total = 0, diag = 0;
    for (size_t t = 0; t < K; t++)
        for (size_t p = 0; p < K; p++) {
            ck_assert_uint_eq(counts[t * K + p], ref_counts[t * K + p]);
            total += counts[t * K + p];
            if (t == p) diag += counts[t * K + p];
        }
    ck_assert_uint_eq(total, M);
    ck_assert_uint_eq(diag, ref_correct);

    /* one metric at a time gives the same values */
    double l2 = 0, a2 = 0;
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 1, &LOSS_ACC[0], &l2));
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 1, &LOSS_ACC[1], &a2));
    ck_assert(fabs(l2 - v[0]) <= 1e-12 && a2 == v[1]);
    nn_ctx_destroy(ctx);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

/* By hand: 1 input, 2 identity outputs, W = [1 -1], b = [0 0.5], so
 * a = (x, 0.5 - x); MSE loss against the one-hot rows of the labels.
 *   x  label  a            e_y    sq. errors    |errors|  argmax
 *   0    1    (0, 0.5)     (0,1)  0, 0.25       0, 0.5    1 ok
 *   1    0    (1, -0.5)    (1,0)  0, 0.25       0, 0.5    0 ok
 *   2    0    (2, -1.5)    (1,0)  1, 2.25       1, 1.5    0 ok
 *  -1    0    (-1, 1.5)    (1,0)  4, 2.25       2, 1.5    1 wrong
 * loss = 10/4 = 2.5 per row (either reduction), accuracy 3/4, MSE = 10/8,
 * MAE = 7/8; per output: MSE (5/4, 5/4), MAE (3/4, 1). */
START_TEST(hand_computed_labels)
{
    const double X[4] = {0, 1, 2, -1}, W[2] = {1, -1}, b[2] = {0, 0.5};
    const int32_t lab[4] = {1, 0, 0, 0};
    nn_net_t *net = make_net_in(1, 2, NN_ACT_IDENTITY, NN_LOSS_MSE, W, b, NULL);
    nn_data_t *d = tu_data(X, 4, 1, lab, NULL);
    const int32_t keys[6] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY, NN_METRIC_MSE,
                             NN_METRIC_MAE, NN_METRIC_MSE_OUTPUTS,
                             NN_METRIC_MAE_OUTPUTS};
    const double want[8] = {2.5, 0.75, 1.25, 0.875, 1.25, 1.25, 0.75, 1.0};
    for (int red = 0; red < 2; red++) {
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION,
                                     red ? NN_REDUCE_SUM : NN_REDUCE_MEAN));
        double v[8];
        NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 6, keys, v));
        for (int i = 0; i < 8; i++)
            ck_assert_msg(fabs(v[i] - want[i]) < 1e-15, "red %d value %d: %.17g",
                          red, i, v[i]);
    }
    size_t counts[4];
    NN_OK_OR_FAIL(nn_net_confusion(net, NULL, d, counts));
    ck_assert_uint_eq(counts[0], 2); /* true 0 -> 0 */
    ck_assert_uint_eq(counts[1], 1); /* true 0 -> 1 */
    ck_assert_uint_eq(counts[2], 0);
    ck_assert_uint_eq(counts[3], 1);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(capacities_agree)
{
    /* two layers (tanh hidden) so that batching goes through the workspace */
    const size_t units[2] = {4, K};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_SOFTMAX};
    nn_net_t *net = tu_net(NI, 2, units, acts, NN_LOSS_SOFTMAX_CE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 42));
    nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
    /* reference: one whole-batch loss call and a predict call */
    double ref_loss, Y[M * K];
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, XS, NI, LS,
                                     &ref_loss));
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, XS, NI, Y, K));
    size_t correct = 0, ref_counts[K * K] = {0};
    for (size_t i = 0; i < M; i++) {
        size_t p = 0;
        for (size_t j = 1; j < K; j++)
            if (Y[i * K + j] > Y[i * K + p]) p = j;
        correct += p == (size_t)LS[i];
        ref_counts[(size_t)LS[i] * K + p]++;
    }
    const size_t caps[] = {1, 3, M, M + 5, 0 /* ctx NULL */};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        nn_ctx_t *ctx = NULL;
        if (caps[c]) NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, caps[c], NULL));
        double v[2];
        size_t counts[K * K];
        NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 2, LOSS_ACC, v));
        NN_OK_OR_FAIL(nn_net_confusion(net, ctx, d, counts));
        ck_assert_msg(fabs(v[0] - ref_loss) <= 1e-12,
                      "capacity %zu: %.17g vs %.17g", caps[c], v[0], ref_loss);
        ck_assert(v[1] == (double)correct / M);
        ck_assert(memcmp(counts, ref_counts, sizeof counts) == 0);
        nn_ctx_destroy(ctx);
    }
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(single_sigmoid_output)
{
    const double w[NI] = {1.2, -0.7}, b = 0.3;
    const int32_t lab[M] = {1, 0, 0, 1, 1, 0, 1};
    nn_net_t *net = make_net(1, NN_ACT_SIGMOID, NN_LOSS_BCE, w, &b);
    nn_data_t *d = tu_data(XS, M, NI, lab, NULL);
    double ref_loss = 0;
    size_t correct = 0, ref_counts[4] = {0};
    for (size_t i = 0; i < M; i++) {
        double z;
        logits(&XS[i * NI], w, &b, 1, &z);
        double p = 1.0 / (1.0 + exp(-z)), y = (double)lab[i];
        ref_loss += -(y * log(p) + (1 - y) * log(1 - p));
        size_t c = p > 0.5;
        correct += c == (size_t)lab[i];
        ref_counts[(size_t)lab[i] * 2 + c]++;
    }
    ref_loss /= M;
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 2, NULL));
    double v[2];
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 2, LOSS_ACC, v));
    ck_assert_msg(tu_relerr(v[0], ref_loss, 1e-300) < 1e-12, "%.17g vs %.17g",
                  v[0], ref_loss);
    ck_assert(v[1] == (double)correct / M);
    size_t counts[4];
    NN_OK_OR_FAIL(nn_net_confusion(net, ctx, d, counts));
    ck_assert(memcmp(counts, ref_counts, sizeof counts) == 0);
    ck_assert_uint_eq(counts[0] + counts[1] + counts[2] + counts[3], M);

    /* a label of 2 does not fit a single output */
    const int32_t bad[M] = {1, 0, 2, 1, 1, 0, 1};
    nn_data_t *d2 = tu_data(XS, M, NI, bad, NULL);
    double keep[2] = {-5, -6};
    size_t ckeep[4] = {9, 9, 9, 9};
    ck_assert_int_eq(nn_net_evaluate(net, ctx, d2, 2, LOSS_ACC, keep),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, ctx, d2, ckeep), NN_ERR_SHAPE);
    ck_assert(keep[0] == -5 && keep[1] == -6);
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(ckeep[i], 9);
    nn_ctx_destroy(ctx);
    nn_data_destroy(d2);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

START_TEST(mse_identity_outputs)
{
    nn_net_t *net = make_net(K, NN_ACT_IDENTITY, NN_LOSS_MSE, W3, B3);
    nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
    double ref_loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < M; i++) {
        double a[K];
        logits(&XS[i * NI], W3, B3, K, a);
        size_t p = 0;
        for (size_t j = 0; j < K; j++) {
            double dlt = a[j] - ((size_t)LS[i] == j ? 1.0 : 0.0);
            ref_loss += dlt * dlt;
            if (a[j] > a[p]) p = j;
        }
        correct += p == (size_t)LS[i];
    }
    ref_loss /= M;
    double v[3];
    const int32_t keys[3] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY, NN_METRIC_MSE};
    NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 3, keys, v));
    ck_assert_msg(tu_relerr(v[0], ref_loss, 1e-300) < 1e-13, "%.17g vs %.17g",
                  v[0], ref_loss);
    ck_assert(v[1] == (double)correct / M);
    /* MSE is the mean over rows and outputs: the per-row loss over K */
    ck_assert(tu_relerr(v[2], ref_loss / K, 1e-300) < 1e-13);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ dense targets
 * A 2-layer regression network 3 -> 4 (tanh) -> 2 (identity) with hand-set
 * weights, on R rows of random inputs and targets. */
#define R 10
#define RI 3
#define RH 4
#define RK 2

static const double RW1[RI * RH] = {0.5, -0.3, 0.8,  0.1,  -0.7, 0.2,
                                    0.4, -0.9, 0.25, 0.6,  -0.1, 0.3};
static const double RB1[RH] = {0.05, -0.1, 0.2, 0.0};
static const double RW2[RH * RK] = {1.1, -0.4, 0.7, 0.9, -0.5, 0.3, 0.2, -1.2};
static const double RB2[RK] = {0.3, -0.2};

static nn_net_t *make_reg_net(const nn_allocator *al)
{
    const size_t units[2] = {RH, RK};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(RI, 2, units, acts, NN_LOSS_MSE, al);
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, RW1, RH, RB1));
    NN_OK_OR_FAIL(nn_net_set_params(net, 1, NN_ROW_MAJOR, RW2, RK, RB2));
    return net;
}

/* The network's output for each row, in long double, from the weights above. */
static void reg_predict(const double *X, long double *A)
{
    for (size_t i = 0; i < R; i++) {
        long double h[RH];
        for (size_t j = 0; j < RH; j++) {
            long double z = RB1[j];
            for (size_t p = 0; p < RI; p++) z += (long double)X[i * RI + p] * RW1[p * RH + j];
            h[j] = tanhl(z);
        }
        for (size_t j = 0; j < RK; j++) {
            long double z = RB2[j];
            for (size_t p = 0; p < RH; p++) z += h[p] * RW2[p * RK + j];
            A[i * RK + j] = z;
        }
    }
}

/* Reference metrics per output: mse[j], mae[j], r2[j] from predictions A. */
static void reg_reference(const long double *A, const double *Y, double *mse,
                          double *mae, double *r2)
{
    for (size_t j = 0; j < RK; j++) {
        long double se = 0, ae = 0, mean = 0, tot = 0;
        for (size_t i = 0; i < R; i++) mean += Y[i * RK + j];
        mean /= R;
        for (size_t i = 0; i < R; i++) {
            long double e = A[i * RK + j] - Y[i * RK + j];
            long double c = Y[i * RK + j] - mean;
            se += e * e;
            ae += fabsl(e);
            tot += c * c;
        }
        mse[j] = (double)(se / R);
        mae[j] = (double)(ae / R);
        r2[j] = (double)(1 - se / tot);
    }
}

static void reg_data(double *X, double *Y)
{
    tu_rng r = {2024};
    tu_fill(&r, X, R * RI, -1.5, 1.5);
    tu_fill(&r, Y, R * RK, -2, 2);
}

START_TEST(dense_targets_match_reference)
{
    double X[R * RI], Y[R * RK];
    reg_data(X, Y);
    nn_net_t *net = make_reg_net(NULL);
    nn_data_t *d = tu_data_targets(X, R, RI, Y, RK, NULL);
    long double A[R * RK];
    reg_predict(X, A);
    double mse[RK], mae[RK], r2[RK];
    reg_reference(A, Y, mse, mae, r2);
    const double want_mse = (mse[0] + mse[1]) / 2,
                 want_mae = (mae[0] + mae[1]) / 2, want_r2 = (r2[0] + r2[1]) / 2;
    /* the per-row loss is the sum over the outputs of the squared errors */
    const double want_loss = mse[0] + mse[1];

    /* several metrics in one call, in the order given; the *_OUTPUTS keys
     * take RK slots each */
    const int32_t keys[7] = {NN_METRIC_R2, NN_METRIC_MSE_OUTPUTS,
                             NN_METRIC_LOSS, NN_METRIC_MAE,
                             NN_METRIC_R2_OUTPUTS, NN_METRIC_MSE,
                             NN_METRIC_MAE_OUTPUTS};
    const double want[10] = {want_r2, mse[0], mse[1], want_loss, want_mae,
                             r2[0],   r2[1],  want_mse, mae[0], mae[1]};
    double v[11], vc[11];
    v[10] = vc[10] = 12345; /* one past the end: never written */
    NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 7, keys, v));
    for (int i = 0; i < 10; i++)
        ck_assert_msg(tu_relerr(v[i], want[i], 1e-12) < 1e-12,
                      "value %d: %.17g vs %.17g", i, v[i], want[i]);
    ck_assert(v[10] == 12345);
    /* R^2 is informative here: neither perfect nor trivial */
    ck_assert(r2[0] < 0.99 && r2[1] < 0.99);

    /* a context of capacity 3 on 10 rows (chunks 3, 3, 3, 1) agrees with the
     * temporary context of ctx NULL */
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 3, NULL));
    ck_assert_uint_eq(nn_ctx_capacity(ctx), 3);
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 7, keys, vc));
    for (int i = 0; i < 10; i++)
        ck_assert_msg(tu_relerr(vc[i], v[i], 1e-300) < 1e-14,
                      "value %d: capacity 3 %.17g vs NULL %.17g", i, vc[i], v[i]);
    ck_assert(vc[10] == 12345);
    nn_ctx_destroy(ctx);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

/* A constant target column has SS_tot = 0: R^2 is 1 when the network
 * reproduces it exactly, else 0. A 1-layer identity net whose second output
 * has zero weights and bias c outputs exactly c. */
START_TEST(r2_constant_column)
{
    const double c = 1.75;
    double X[R * NI], Y[R * 2];
    tu_rng r = {77};
    tu_fill(&r, X, R * NI, -1, 1);
    const double W[NI * 2] = {0.6, 0.0, -0.8, 0.0};
    for (size_t i = 0; i < R; i++) {
        /* column 0: the net's own output plus a known residual of +-0.5 */
        Y[i * 2] = 0.6 * X[i * NI] - 0.8 * X[i * NI + 1] + 0.1 +
                   (i % 2 ? 0.5 : -0.5);
        Y[i * 2 + 1] = c;
    }
    const int32_t keys[2] = {NN_METRIC_R2_OUTPUTS, NN_METRIC_MSE_OUTPUTS};
    for (int exact = 1; exact >= 0; exact--) {
        const double b[2] = {0.1, exact ? c : c + 0.5};
        nn_net_t *net = make_net(2, NN_ACT_IDENTITY, NN_LOSS_MSE, W, b);
        nn_data_t *d = tu_data_targets(X, R, NI, Y, 2, NULL);
        double v[4], r2;
        NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 2, keys, v));
        ck_assert_msg(v[1] == (exact ? 1.0 : 0.0), "exact %d: R2 %.17g", exact,
                      v[1]);
        ck_assert_msg(fabs(v[3] - (exact ? 0.0 : 0.25)) < 1e-15, "mse %.17g", v[3]);
        /* column 0: every residual is +-0.5 (up to rounding of the targets) */
        ck_assert(fabs(v[2] - 0.25) < 1e-12);
        long double mean = 0, tot = 0;
        for (size_t i = 0; i < R; i++) mean += Y[i * 2];
        mean /= R;
        for (size_t i = 0; i < R; i++)
            tot += (Y[i * 2] - mean) * (Y[i * 2] - mean);
        ck_assert(fabs(v[0] - (double)(1 - 0.25L * R / tot)) < 1e-12);
        /* NN_METRIC_R2 is the mean over the outputs */
        const int32_t k2 = NN_METRIC_R2;
        NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 1, &k2, &r2));
        ck_assert(fabs(r2 - (v[0] + v[1]) / 2) < 1e-14);
        nn_data_destroy(d);
        nn_net_destroy(net);
    }
}
END_TEST

START_TEST(dense_targets_errors)
{
    double X[R * RI], Y[R * RK];
    reg_data(X, Y);
    nn_net_t *net = make_reg_net(NULL);
    nn_data_t *d = tu_data_targets(X, R, RI, Y, RK, NULL);
    double v[4] = {1, 2, 3, 4};
#define UNTOUCHED() ck_assert(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4)
    /* accuracy needs labels, also after metrics that would succeed */
    const int32_t acc[2] = {NN_METRIC_MSE, NN_METRIC_ACCURACY};
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 2, acc, v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 1, &acc[1], v), NN_ERR_INVALID);
    UNTOUCHED();
    /* an unknown metric anywhere in the list: nothing written */
    const int32_t unk[3][2] = {{NN_METRIC_MSE, 9999},
                               {NN_METRIC_MAE, NN_METRIC_LOSS - 1},
                               {NN_METRIC_R2, NN_KEY_EXPERIMENTAL}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 2, unk[i], v),
                         NN_ERR_INVALID);
    const int32_t k505 = 505;
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 1, &k505, v), NN_ERR_INVALID);
    UNTOUCHED();
    /* nn_net_confusion needs labels */
    size_t counts[RK * RK] = {5, 5, 5, 5};
    ck_assert_int_eq(nn_net_confusion(net, NULL, d, counts), NN_ERR_INVALID);
    for (int i = 0; i < RK * RK; i++) ck_assert_uint_eq(counts[i], 5);
    /* targets of the wrong width */
    nn_data_t *d3 = tu_data_targets(X, R, RI, X, 3, NULL);
    const int32_t mse = NN_METRIC_MSE;
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d3, 1, &mse, v), NN_ERR_SHAPE);
    UNTOUCHED();
#undef UNTOUCHED
    nn_data_destroy(d3);
    nn_data_destroy(d);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ memory */
START_TEST(no_allocation_with_ctx)
{
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net = make_net_in(NI, K, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W3,
                                B3, &al);
    nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 3, NULL));
    size_t counts[K * K];
    long before = c.attempts;
    size_t live = c.live;
    double v[2];
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 2, LOSS_ACC, v));
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 1, LOSS_ACC, v));
    NN_OK_OR_FAIL(nn_net_confusion(net, ctx, d, counts));
    ck_assert_int_eq(c.attempts, before);
    /* without a context: a temporary one through the net's allocator, freed */
    NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 2, LOSS_ACC, v));
    NN_OK_OR_FAIL(nn_net_confusion(net, NULL, d, counts));
    ck_assert_int_gt(c.attempts, before);
    ck_assert_uint_eq(c.live, live);
    nn_ctx_destroy(ctx);
    nn_net_destroy(net);
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* ------------------------------------------------------------ ties */
/* Ties in the arg-max go to the FIRST (lowest) index. Zero weights and
 * equal biases make every output of every row bitwise equal, so each row is
 * predicted class 0: accuracy = the share of label 0, and the confusion
 * matrix has everything in column 0. Then b = (0, 1, 1): outputs 1 and 2
 * tie above output 0, and class 1 wins. For softmax (probabilities) and
 * identity outputs alike. */
START_TEST(argmax_ties_first_index)
{
    static const struct { nn_activation act; nn_loss loss; } kinds[2] = {
        {NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE}, {NN_ACT_IDENTITY, NN_LOSS_MSE}};
    const double W0[NI * K] = {0};
    const double b_all[K] = {0.25, 0.25, 0.25}, b_12[K] = {0, 1, 1};
    size_t n_lab[K] = {0};
    for (size_t i = 0; i < M; i++) n_lab[LS[i]]++;
    for (int q = 0; q < 2; q++)
        for (int tie12 = 0; tie12 < 2; tie12++) {
            const size_t want = tie12 ? 1 : 0; /* the predicted class */
            nn_net_t *net = make_net(K, kinds[q].act, kinds[q].loss, W0,
                                     tie12 ? b_12 : b_all);
            nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
            double P[M * K];
            NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, XS, NI,
                                         P, K));
            for (size_t i = 0; i < M; i++) /* the setup: exact ties */
                ck_assert(P[i * K + 1] == P[i * K + 2] &&
                          (tie12 ? P[i * K] < P[i * K + 1]
                                 : P[i * K] == P[i * K + 1]));
            double acc = -1;
            NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 1, &LOSS_ACC[1], &acc));
            ck_assert_msg(acc == (double)n_lab[want] / M,
                          "act %d, tie %d: accuracy %g, want %zu/%d", q, tie12,
                          acc, n_lab[want], M);
            size_t counts[K * K];
            NN_OK_OR_FAIL(nn_net_confusion(net, NULL, d, counts));
            for (size_t t = 0; t < K; t++)
                for (size_t p = 0; p < K; p++)
                    ck_assert_uint_eq(counts[t * K + p],
                                      p == want ? n_lab[t] : 0);
            nn_data_destroy(d);
            nn_net_destroy(net);
        }
}
END_TEST

/* A single output is class 1 only when p > 0.5: p exactly 0.5 (sigmoid of
 * 0, or an identity output of 0.5) is class 0, the next double above 0.5 is
 * class 1. */
START_TEST(single_output_threshold_strict)
{
    const double w0[NI] = {0, 0};
    const int32_t lab[M] = {1, 0, 0, 1, 1, 0, 1}; /* 3 zeros, 4 ones */
    const struct { nn_activation act; nn_loss loss; double b; size_t cls; }
    cases[] = {
        {NN_ACT_SIGMOID, NN_LOSS_BCE, 0.0, 0},  /* 1/(1+e^0) = 0.5 */
        {NN_ACT_IDENTITY, NN_LOSS_MSE, 0.5, 0},
        {NN_ACT_IDENTITY, NN_LOSS_MSE, 0x1.0000000000001p-1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_net_t *net = make_net(1, cases[c].act, cases[c].loss, w0,
                                 &cases[c].b);
        nn_data_t *d = tu_data(XS, M, NI, lab, NULL);
        double P[M];
        NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, XS, NI, P, 1));
        for (size_t i = 0; i < M; i++)
            ck_assert(P[i] == (cases[c].cls ? cases[c].b : 0.5));
        double acc = -1;
        NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 1, &LOSS_ACC[1], &acc));
        ck_assert_msg(acc == (cases[c].cls ? 4.0 : 3.0) / M,
                      "case %zu: accuracy %g", c, acc);
        size_t counts[4];
        NN_OK_OR_FAIL(nn_net_confusion(net, NULL, d, counts));
        size_t p = cases[c].cls, o = 1 - p;
        ck_assert_uint_eq(counts[0 * 2 + p], 3);
        ck_assert_uint_eq(counts[1 * 2 + p], 4);
        ck_assert_uint_eq(counts[0 * 2 + o], 0);
        ck_assert_uint_eq(counts[1 * 2 + o], 0);
        nn_data_destroy(d);
        nn_net_destroy(net);
    }
}
END_TEST

/* ------------------------------------------------------------ errors */
START_TEST(errors)
{
    nn_net_t *net = make_net(K, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W3, B3);
    nn_data_t *d = tu_data(XS, M, NI, LS, NULL);
    nn_data_t *nolab = tu_data(XS, M, NI, NULL, NULL);
    /* 3 feature columns for a 2-input net */
    double X3[M * 3];
    for (size_t i = 0; i < M * 3; i++) X3[i] = 0.1 * (double)i;
    nn_data_t *wide = tu_data(X3, M, 3, LS, NULL);
    const int32_t big[M] = {0, 1, 2, 3, 0, 1, 2};
    nn_data_t *biglab = tu_data(XS, M, NI, big, NULL);
    /* a context made for a network of another shape */
    const size_t u4 = 4;
    const nn_activation sm = NN_ACT_SOFTMAX;
    nn_net_t *other = tu_net(NI, 1, &u4, &sm, NN_LOSS_SOFTMAX_CE, NULL);
    nn_ctx_t *octx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&octx, other, 4, NULL));
    double v[2] = {123, 456};
    size_t counts[K * K];
    for (size_t i = 0; i < K * K; i++) counts[i] = 77;

    ck_assert_int_eq(nn_net_evaluate(NULL, NULL, d, 2, LOSS_ACC, v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, NULL, 2, LOSS_ACC, v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 0, LOSS_ACC, v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 2, NULL, v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 2, LOSS_ACC, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, nolab, 2, LOSS_ACC, v),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, wide, 2, LOSS_ACC, v), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_evaluate(net, NULL, biglab, 2, LOSS_ACC, v),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_evaluate(net, octx, d, 2, LOSS_ACC, v), NN_ERR_SHAPE);
    ck_assert(v[0] == 123 && v[1] == 456);

    ck_assert_int_eq(nn_net_confusion(NULL, NULL, d, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, NULL, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, d, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, nolab, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, wide, counts), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, NULL, biglab, counts), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, octx, d, counts), NN_ERR_SHAPE);
    for (size_t i = 0; i < K * K; i++) ck_assert_uint_eq(counts[i], 77);

    nn_ctx_destroy(octx);
    nn_net_destroy(other);
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
    TCase *tc = tcase_create("labels");
    tcase_add_test(tc, softmax_matches_reference);
    tcase_add_test(tc, hand_computed_labels);
    tcase_add_test(tc, capacities_agree);
    tcase_add_test(tc, single_sigmoid_output);
    tcase_add_test(tc, mse_identity_outputs);
    tcase_add_test(tc, argmax_ties_first_index);
    tcase_add_test(tc, single_output_threshold_strict);
    suite_add_tcase(s, tc);
    tc = tcase_create("targets");
    tcase_add_test(tc, dense_targets_match_reference);
    tcase_add_test(tc, r2_constant_column);
    tcase_add_test(tc, dense_targets_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("core");
    tcase_add_test(tc, no_allocation_with_ctx);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(metrics_suite()); }
