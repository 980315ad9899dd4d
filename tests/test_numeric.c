/* test_numeric.c — numeric edge cases of the activations: saturation of
 * sigmoid / tanh / softmax at large |z| (finite values, exact limits, zero
 * derivatives, no NaN), softmax at logits of 800..1000 (the row maximum is
 * subtracted: the closed-form probabilities and loss, not inf/inf), and
 * subnormal inputs (kept, not flushed, and propagated like any other
 * number). */
#include "testutil.h"

#include <float.h>
#include <string.h>

/* A 1-input layer with W = 1, b = 0, so Z = X exactly. */
static nn_dense_t *identity_layer(nn_activation act, size_t n_out)
{
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, 1, n_out, act, 0, NULL));
    double W[8], b[8] = {0};
    for (size_t j = 0; j < n_out; j++) W[j] = 1.0;
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, W, n_out, b));
    return d;
}

START_TEST(sigmoid_and_tanh_saturate)
{
    const double z[] = {-1e308, -1e3, -800, -40, 40, 800, 1e3, 1e308};
    enum { M = sizeof z / sizeof z[0] };
    for (int which = 0; which < 2; which++) {
        nn_activation act = which ? NN_ACT_TANH : NN_ACT_SIGMOID;
        nn_dense_t *d = identity_layer(act, 1);
        double A[M], dA[M], dX[M];
        NN_OK_OR_FAIL(nn_dense_forward(d, M, NN_ROW_MAJOR, z, 1, A, 1));
        for (int i = 0; i < M; i++) {
            double lo = which ? -1.0 : 0.0;
            ck_assert_msg(isfinite(A[i]) && A[i] >= lo && A[i] <= 1.0,
                          "g(%g) = %g", z[i], A[i]);
            /* exact limits where the true value rounds to them */
            if (fabs(z[i]) >= 800) ck_assert(A[i] == (z[i] > 0 ? 1.0 : lo));
            dA[i] = 1.0;
        }
        /* 40 is not yet saturated for sigmoid from below: 4.2e-18 */
        if (!which) ck_assert(A[3] > 0 && A[3] < 1e-17);
        NN_OK_OR_FAIL(nn_dense_backward(d, M, NN_ROW_MAJOR, z, 1, dA, 1, dX, 1));
        for (int i = 0; i < M; i++) {
            ck_assert(isfinite(dX[i]));
            if (fabs(z[i]) >= 800) ck_assert(dX[i] == 0.0); /* g' = 0 */
        }
        double dW, db;
        NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, &dW, 1, &db));
        ck_assert(isfinite(dW) && isfinite(db));
        nn_dense_destroy(d);
    }
}
END_TEST

START_TEST(softmax_saturates)
{
    /* one row, logits z = x * (1, 1, 1) + b with b = (0, -1e3, -2e3) */
    nn_dense_t *d = identity_layer(NN_ACT_SOFTMAX, 3);
    const double W[3] = {1, 1, 1}, b[3] = {0, -1e3, -2e3};
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, W, 3, b));
    const double x[2] = {0.0, 1e3};
    double A[6], dA[6] = {1, 2, 3, 4, 5, 6}, dX[2];
    NN_OK_OR_FAIL(nn_dense_forward(d, 2, NN_ROW_MAJOR, x, 1, A, 3));
    /* row 0: (1, e^-1000, e^-2000) = (1, 0, 0); row 1: (1, 0, 0) */
    for (int i = 0; i < 2; i++) {
        ck_assert(A[3 * i] == 1.0);
        ck_assert(A[3 * i + 1] == 0.0 && A[3 * i + 2] == 0.0);
    }
    NN_OK_OR_FAIL(nn_dense_backward(d, 2, NN_ROW_MAJOR, x, 1, dA, 3, dX, 1));
    /* dZ = A o (dA - sum(dA o A)) = 0 for a one-hot A: no NaN from 0*inf */
    ck_assert(dX[0] == 0.0 && dX[1] == 0.0);
    nn_dense_destroy(d);
}
END_TEST

/* Softmax subtracts each row's maximum before exp: logits around 800..1000
 * (exp overflows beyond 709.78) still give finite probabilities equal to the
 * closed form p_j = exp(z_j - max) / sum_k exp(z_k - max), in inference
 * (nn_net_predict in both orders, nn_net_evaluate) and in the loss. Two
 * networks with Z = X exactly (3 inputs, W = I, b = 0): softmax CE, whose
 * outputs are logits turned into probabilities at the end, and MSE on a
 * softmax output, where softmax runs inside the forward pass. */
#define SM_M 4
static const double SM_Z[SM_M][3] = {
    {1000, 999, 800}, {800, 1000, 900}, {950, 950, 1000}, {900, 900, 900}};

static void softmax_closed_form(const double *z, long double *p)
{
    long double mx = fmaxl(fmaxl(z[0], z[1]), z[2]), s = 0;
    for (int j = 0; j < 3; j++) s += expl((long double)z[j] - mx);
    for (int j = 0; j < 3; j++) p[j] = expl((long double)z[j] - mx) / s;
}

START_TEST(softmax_large_logits)
{
    const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, b0[3] = {0, 0, 0};
    const int32_t lab[SM_M] = {0, 2, 1, 1};
    const nn_loss losses[2] = {NN_LOSS_SOFTMAX_CE, NN_LOSS_MSE};
    double Xc[3 * SM_M], Y[SM_M * 3];
    for (int i = 0; i < SM_M; i++)
        for (int j = 0; j < 3; j++) {
            Xc[j * SM_M + i] = SM_Z[i][j];
            Y[i * 3 + j] = lab[i] == j;
        }
    for (int q = 0; q < 2; q++) {
        const size_t three = 3;
        const nn_activation sm = NN_ACT_SOFTMAX;
        nn_net_t *net = tu_net(3, 1, &three, &sm, losses[q], NULL);
        NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, I3, 3, b0));
        long double p[SM_M][3], want_loss = 0, want_mse = 0;
        for (int i = 0; i < SM_M; i++) {
            softmax_closed_form(SM_Z[i], p[i]);
            for (int j = 0; j < 3; j++) {
                long double d = p[i][j] - Y[i * 3 + j];
                want_mse += d * d;
            }
            want_loss += q ? 0 : -logl(p[i][lab[i]]);
        }
        if (q) want_loss = want_mse;
        want_loss /= SM_M;
        double A[SM_M * 3], Ac[3 * SM_M];
        NN_OK_OR_FAIL(nn_net_predict(net, NULL, SM_M, NN_ROW_MAJOR, &SM_Z[0][0],
                                     3, A, 3));
        NN_OK_OR_FAIL(nn_net_predict(net, NULL, SM_M, NN_COL_MAJOR, Xc, SM_M,
                                     Ac, SM_M));
        for (int i = 0; i < SM_M; i++)
            for (int j = 0; j < 3; j++) {
                double w = (double)p[i][j];
                ck_assert_msg(isfinite(A[i * 3 + j]) &&
                                  tu_relerr(A[i * 3 + j], w, 1e-300) <= 1e-14,
                              "loss %d: p(%d,%d) = %.17g, closed form %.17g", q,
                              i, j, A[i * 3 + j], w);
                ck_assert(tu_relerr(Ac[j * SM_M + i], w, 1e-300) <= 1e-14);
            }
        double loss = NAN;
        if (q)
            NN_OK_OR_FAIL(nn_net_loss(net, NULL, SM_M, NN_ROW_MAJOR,
                                      &SM_Z[0][0], 3, Y, 3, &loss));
        else
            NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, SM_M, NN_ROW_MAJOR,
                                             &SM_Z[0][0], 3, lab, &loss));
        ck_assert_msg(isfinite(loss) &&
                          tu_relerr(loss, (double)want_loss, 1e-300) <= 1e-13,
                      "loss %d: %.17g, closed form %.17Lg", q, loss, want_loss);
        /* over a data set: the loss and the MSE of the probabilities */
        nn_data_t *d = tu_data(&SM_Z[0][0], SM_M, 3, lab, NULL);
        const int32_t keys[2] = {NN_METRIC_LOSS, NN_METRIC_MSE};
        double v[2] = {NAN, NAN};
        NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, d, 2, keys, v));
        ck_assert(tu_relerr(v[0], (double)want_loss, 1e-300) <= 1e-13);
        ck_assert_msg(tu_relerr(v[1], (double)(want_mse / (3 * SM_M)), 1e-300)
                          <= 1e-13,
                      "loss %d: MSE metric %.17g", q, v[1]);
        /* and the gradient pass stays finite */
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, SM_M, NN_ROW_MAJOR,
                                             &SM_Z[0][0], 3, lab, &loss));
        ck_assert(tu_relerr(loss, (double)want_loss, 1e-300) <= 1e-13);
        nn_data_destroy(d);
        nn_net_destroy(net);
    }
}
END_TEST

/* Subnormal inputs are used as they are (no flush to zero): the layer's
 * products equal the plain-loop values, and nothing turns into NaN/Inf. */
START_TEST(subnormal_inputs)
{
    enum { M = 5, NIN = 4, NOUT = 3 };
    double X[M * NIN], W[NIN * NOUT], b[NOUT] = {0, 0, 0};
    tu_rng r = {3};
    for (size_t i = 0; i < M * NIN; i++)
        X[i] = tu_uniform(&r, 1.0, 4.0) * DBL_TRUE_MIN * 1e6 * (i % 2 ? -1 : 1);
    tu_fill(&r, W, NIN * NOUT, 0.5, 2.0);
    for (size_t i = 0; i < M * NIN; i++) ck_assert(fpclassify(X[i]) == FP_SUBNORMAL);
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, NIN, NOUT, NN_ACT_IDENTITY, 0, NULL));
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, W, NOUT, b));
    double A[M * NOUT], dA[M * NOUT], dX[M * NIN];
    NN_OK_OR_FAIL(nn_dense_forward(d, M, NN_ROW_MAJOR, X, NIN, A, NOUT));
    int nonzero = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < NOUT; j++) {
            long double ref = 0;
            for (size_t k = 0; k < NIN; k++)
                ref += (long double)X[i * NIN + k] * W[k * NOUT + j];
            double got = A[i * NOUT + j];
            ck_assert(isfinite(got));
            /* subnormal results carry fewer bits: compare at their own
             * precision (a few units of DBL_TRUE_MIN) */
            ck_assert_msg(fabsl((long double)got - ref) <= 8 * DBL_TRUE_MIN,
                          "A(%zu,%zu) = %g, reference %Lg", i, j, got, ref);
            nonzero |= got != 0.0;
            dA[i * NOUT + j] = 1.0;
        }
    ck_assert_msg(nonzero, "subnormal inputs were flushed to zero");
    NN_OK_OR_FAIL(nn_dense_backward(d, M, NN_ROW_MAJOR, X, NIN, dA, NOUT, dX, NIN));
    double dW[NIN * NOUT], db[NOUT];
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, dW, NOUT, db));
    for (size_t k = 0; k < NIN; k++)
        for (size_t j = 0; j < NOUT; j++) {
            long double ref = 0; /* dW = X^T dA with dA = 1: column sums of X */
            for (size_t i = 0; i < M; i++) ref += X[i * NIN + k];
            ck_assert(fabsl((long double)dW[k * NOUT + j] - ref) <= 8 * DBL_TRUE_MIN);
        }
    for (size_t j = 0; j < NOUT; j++) ck_assert(db[j] == (double)M);
    nn_dense_destroy(d);

    /* a whole network trained on subnormal data stays finite */
    const tu_layer specs[] = {{6, NN_ACT_TANH, 0, 0}, {2, NN_ACT_SOFTMAX, 0, 0}};
    nn_net_t *net = tu_net_layers(NIN, 2, specs, NN_LOSS_SOFTMAX_CE, NULL);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    nn_optim_t *opt = tu_sgd(net, 0.1);
    int32_t lab[M] = {0, 1, 0, 1, 1};
    double loss;
    for (int s = 0; s < 5; s++) {
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
    }
    ck_assert(isfinite(loss));
    /* the one-call step takes the same values (check-finite: non-fused) */
    NN_OK_OR_FAIL(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X, NIN,
                                           lab, &loss));
    ck_assert(isfinite(loss));
    for (size_t q = 0; q < nn_net_n_params(net); q++)
        ck_assert(isfinite(nn_net_params(net)[q]));
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* tanh through the layer is within 3 ulp of a long-double reference over
 * the whole range (libm below |z| = 0.55, one exp above), and odd. */
START_TEST(tanh_accuracy)
{
    enum { M = 4096 };
    static double z[M], A[M];
    for (int i = 0; i < M; i++) /* -24 .. 24, denser near the 0.55 switch */
        z[i] = (i % 2 ? -1 : 1) * (i < M / 2 ? 0.45 + 0.2 * i / (M / 2)
                                             : 24.0 * (i - M / 2) / (M / 2));
    nn_dense_t *d = identity_layer(NN_ACT_TANH, 1);
    NN_OK_OR_FAIL(nn_dense_forward(d, M, NN_ROW_MAJOR, z, 1, A, 1));
    double worst = 0;
    for (int i = 0; i < M; i++) {
        long double ref = tanhl((long double)z[i]);
        double r = (double)ref;
        double ulp = nextafter(fabs(r), INFINITY) - fabs(r);
        double err = (double)(fabsl((long double)A[i] - ref) / ulp);
        worst = fmax(worst, err);
        ck_assert(fabs(A[i]) <= 1.0);
    }
    ck_assert_msg(worst <= 3.0, "tanh worst error %.3f ulp", worst);
    for (int i = 0; i + 1 < M; i += 2)
        if (z[i] == -z[i + 1]) ck_assert(A[i] == -A[i + 1]);
    nn_dense_destroy(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("numeric");
    tcase_add_test(tc, sigmoid_and_tanh_saturate);
    tcase_add_test(tc, softmax_saturates);
    tcase_add_test(tc, softmax_large_logits);
    tcase_add_test(tc, subnormal_inputs);
    tcase_add_test(tc, tanh_accuracy);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
