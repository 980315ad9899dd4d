/* test_sgd.c — nn_net_train_sgd*: the fused one-call SGD step equals
 * gradient + sgd_step up to rounding, for every loss, with dropout, in both
 * orders; with check-finite it is exactly the two calls. */
#include "testutil.h"

#include <string.h>

enum { M = 37, NIN = 11, STEPS = 6 };

static nn_net_t *make_net(nn_loss loss, size_t k, double drop)
{
    nn_activation out = loss == NN_LOSS_SOFTMAX_CE ? NN_ACT_SOFTMAX
                        : loss == NN_LOSS_BCE      ? NN_ACT_SIGMOID
                                                   : NN_ACT_TANH;
    const nn_layer_spec specs[] = {{40, NN_ACT_RELU, 0, drop},
                                   {9, NN_ACT_LEAKY_RELU, 0.1, 0},
                                   {k, out, 0, 0}};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NIN, 3, specs, loss, NULL));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 5));
    return net;
}

static void data(double *X, double *Y, size_t *lab, size_t k, nn_loss loss)
{
    tu_rng r = {9};
    tu_fill(&r, X, (size_t)M * NIN, -1, 1);
    for (size_t i = 0; i < M; i++) {
        lab[i] = tu_next(&r) % (k == 1 ? 2 : k);
        for (size_t j = 0; j < k; j++)
            Y[i * k + j] = loss == NN_LOSS_MSE ? tu_uniform(&r, -0.5, 0.5)
                           : k == 1            ? (double)lab[i]
                                               : (double)(lab[i] == j);
    }
}

static void params(nn_net_t *net, double *p)
{
    size_t o = 0;
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        size_t nw = nn_net_layer_n_in(net, l) * nn_net_layer_n_out(net, l);
        memcpy(p + o, nn_net_weights(net, l), nw * sizeof(double));
        o += nw;
        memcpy(p + o, nn_net_bias(net, l), nn_net_layer_n_out(net, l) * sizeof(double));
        o += nn_net_layer_n_out(net, l);
    }
}

/* _i: loss (0 MSE, 1 BCE single, 2 BCE multi, 3 softmax CE dense, 4 labels)
 * x order x dropout */
START_TEST(fused_equals_two_calls)
{
    static const struct { nn_loss loss; size_t k; int labels; } cases[] = {
        {NN_LOSS_MSE, 3, 0}, {NN_LOSS_BCE, 1, 0}, {NN_LOSS_BCE, 4, 0},
        {NN_LOSS_SOFTMAX_CE, 5, 0}, {NN_LOSS_SOFTMAX_CE, 5, 1}};
    int c = _i % 5;
    nn_order order = (_i / 5) % 2 ? NN_COL_MAJOR : NN_ROW_MAJOR;
    double drop = _i >= 10 ? 0.3 : 0.0;
    size_t k = cases[c].k;
    double X[M * NIN], Xc[M * NIN], Y[M * 5], Yc[M * 5];
    size_t lab[M];
    data(X, Y, lab, k, cases[c].loss);
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < NIN; j++) Xc[j * M + i] = X[i * NIN + j];
        for (size_t j = 0; j < k; j++) Yc[j * M + i] = Y[i * k + j];
    }
    const double *x = order == NN_ROW_MAJOR ? X : Xc;
    const double *y = order == NN_ROW_MAJOR ? Y : Yc;
    size_t ldx = order == NN_ROW_MAJOR ? NIN : M, ldy = order == NN_ROW_MAJOR ? k : M;
    nn_net_t *a = make_net(cases[c].loss, k, drop), *b = make_net(cases[c].loss, k, drop);
    size_t np = nn_net_n_params(a);
    double *pa = malloc(np * sizeof(double)), *pb = malloc(np * sizeof(double));
    for (int s = 0; s < STEPS; s++) {
        double la, lb;
        if (cases[c].labels) {
            NN_OK_OR_FAIL(nn_net_gradient_labels(a, M, order, x, ldx, lab, &la));
            NN_OK_OR_FAIL(nn_net_train_sgd_labels(b, M, order, x, ldx, lab, 0.05, &lb));
        } else {
            NN_OK_OR_FAIL(nn_net_gradient(a, M, order, x, ldx, y, ldy, &la));
            NN_OK_OR_FAIL(nn_net_train_sgd(b, M, order, x, ldx, y, ldy, 0.05, &lb));
        }
        NN_OK_OR_FAIL(nn_net_sgd_step(a, 0.05));
        /* the loss is of the parameters before the step: equal up to the
         * rounding the earlier steps accumulated */
        ck_assert_msg(tu_relerr(la, lb, 1e-12) < 1e-11, "step %d loss %.17g vs %.17g", s, la, lb);
    }
    params(a, pa);
    params(b, pb);
    double worst = 0;
    for (size_t i = 0; i < np; i++) worst = fmax(worst, tu_relerr(pa[i], pb[i], 1e-3));
    ck_assert_msg(worst < 1e-11, "case %d: parameters differ by %g", _i, worst);
    /* the fused step keeps no dW: a plain step must refuse */
    ck_assert_int_eq(nn_net_sgd_step(b, 0.05), NN_ERR_STATE);
    free(pa);
    free(pb);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* With check-finite on, the call is exactly gradient + step (bitwise), and a
 * NaN batch changes nothing. */
START_TEST(check_finite_path)
{
    double X[M * NIN], Y[M * 5];
    size_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *a = make_net(NN_LOSS_SOFTMAX_CE, 5, 0), *b = make_net(NN_LOSS_SOFTMAX_CE, 5, 0);
    NN_OK_OR_FAIL(nn_net_set_check_finite(b, true));
    for (int s = 0; s < 3; s++) {
        NN_OK_OR_FAIL(nn_net_gradient_labels(a, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
        NN_OK_OR_FAIL(nn_net_sgd_step(a, 0.1));
        NN_OK_OR_FAIL(nn_net_train_sgd_labels(b, M, NN_ROW_MAJOR, X, NIN, lab, 0.1, NULL));
    }
    size_t np = nn_net_n_params(a);
    double *pa = malloc(np * sizeof(double)), *pb = malloc(np * sizeof(double));
    params(a, pa);
    params(b, pb);
    ck_assert_mem_eq(pa, pb, np * sizeof(double));
    X[3] = NAN;
    ck_assert_int_eq(nn_net_train_sgd_labels(b, M, NN_ROW_MAJOR, X, NIN, lab, 0.1, NULL),
                     NN_ERR_NUMERIC);
    params(b, pa);
    ck_assert_mem_eq(pa, pb, np * sizeof(double));
    free(pa);
    free(pb);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

START_TEST(errors_change_nothing)
{
    double X[M * NIN], Y[M * 5];
    size_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *net = make_net(NN_LOSS_SOFTMAX_CE, 5, 0);
    size_t np = nn_net_n_params(net);
    double *before = malloc(np * sizeof(double)), *after = malloc(np * sizeof(double));
    params(net, before);
    ck_assert_int_eq(nn_net_train_sgd_labels(NULL, M, NN_ROW_MAJOR, X, NIN, lab, 0.1, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_sgd_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NAN, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_sgd_labels(net, M, NN_ROW_MAJOR, X, NIN, NULL, 0.1, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_sgd(net, M, NN_ROW_MAJOR, X, NIN - 1, Y, 5, 0.1, NULL), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_train_sgd(net, M, NN_ROW_MAJOR, X, NIN, Y, 4, 0.1, NULL), NN_ERR_SHAPE);
    lab[0] = 5;
    ck_assert_int_eq(nn_net_train_sgd_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, 0.1, NULL), NN_ERR_INVALID);
    params(net, after);
    ck_assert_mem_eq(before, after, np * sizeof(double));
    free(before);
    free(after);
    nn_net_destroy(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sgd");
    TCase *tc = tcase_create("sgd");
    tcase_add_loop_test(tc, fused_equals_two_calls, 0, 20);
    tcase_add_test(tc, check_finite_path);
    tcase_add_test(tc, errors_change_nothing);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
