/* test_lstsq.c — nn_lstsq (closed-form least squares via LAPACKE dgelsd):
 * exact recovery from noiseless data in both orders and with padded leading
 * dimensions, fits without intercept, minimum-norm solutions for
 * rank-deficient and underdetermined problems (hand values), the normal
 * equations on noisy data, the error paths (nothing written), and that
 * gradient descent on a 1-layer identity network with MSE converges to the
 * same solution. */
#include "testutil.h"

#include <limits.h>
#include <string.h>

/* Fill X (m x n, order, ld) from a row-major dense array. */
static void put(nn_order order, size_t m, size_t n, const double *src,
                double *X, size_t ld)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            if (order == NN_ROW_MAJOR) X[i * ld + j] = src[i * n + j];
            else X[i + j * ld] = src[i * n + j];
        }
}

enum { M = 30, N = 5 };

START_TEST(exact_recovery)
{
    nn_order order = (_i & 1) ? NN_COL_MAJOR : NN_ROW_MAJOR;
    size_t pad = (_i & 2) ? 3 : 0;
    bool icpt = !(_i & 4);
    const double wt[N] = {1.5, -2.0, 0.25, 3.0, -0.75}, bt = icpt ? 0.6 : 0;
    double D[M * N], y[M];
    tu_rng r = {42};
    tu_fill(&r, D, M * N, -2, 2);
    for (int i = 0; i < M; i++) {
        y[i] = bt;
        for (int j = 0; j < N; j++) y[i] += D[i * N + j] * wt[j];
    }
    size_t ld = (order == NN_ROW_MAJOR ? N : M) + pad;
    double X[(M + 3) * (N + 3)];
    for (size_t i = 0; i < sizeof X / sizeof X[0]; i++) X[i] = NAN; /* pads */
    put(order, M, N, D, X, ld);
    double w[N], b = 99;
    NN_OK_OR_FAIL(nn_lstsq(M, N, order, X, ld, y, w, icpt ? &b : NULL));
    for (int j = 0; j < N; j++)
        ck_assert_msg(fabs(w[j] - wt[j]) < 1e-10, "w[%d] %g", j, w[j]);
    if (icpt) ck_assert_msg(fabs(b - bt) < 1e-10, "b %g", b);
    else ck_assert(b == 99); /* untouched */
}
END_TEST

/* Duplicate column: X = [x x], y = 2x (+3). Every w1 + w2 = 2 fits exactly;
 * the minimum-norm one is w = (1, 1) (and b = 3). */
START_TEST(rank_deficient_min_norm)
{
    enum { m = 8 };
    double X[m * 2], y[m], y3[m];
    for (int i = 0; i < m; i++) {
        double x = 0.5 * i - 1.3 + 0.1 * i * i;
        X[2 * i] = X[2 * i + 1] = x;
        y[i] = 2 * x;
        y3[i] = 2 * x + 3;
    }
    double w[2], b;
    NN_OK_OR_FAIL(nn_lstsq(m, 2, NN_ROW_MAJOR, X, 2, y, w, NULL));
    ck_assert(fabs(w[0] - 1) < 1e-10 && fabs(w[1] - 1) < 1e-10);
    NN_OK_OR_FAIL(nn_lstsq(m, 2, NN_ROW_MAJOR, X, 2, y3, w, &b));
    ck_assert(fabs(w[0] - 1) < 1e-10 && fabs(w[1] - 1) < 1e-10);
    ck_assert(fabs(b - 3) < 1e-10);
}
END_TEST

/* m < n: one equation 3 w1 + 4 w2 = 10 -> w = 10 (3,4) / 25 = (1.2, 1.6);
 * with intercept [3 4 1].[w;b] = 10 -> 10 (3,4,1) / 26. */
START_TEST(underdetermined_min_norm)
{
    const double X[2] = {3, 4}, y = 10;
    double w[2], b;
    NN_OK_OR_FAIL(nn_lstsq(1, 2, NN_ROW_MAJOR, X, 2, &y, w, NULL));
    ck_assert(fabs(w[0] - 1.2) < 1e-12 && fabs(w[1] - 1.6) < 1e-12);
    NN_OK_OR_FAIL(nn_lstsq(1, 2, NN_COL_MAJOR, X, 1, &y, w, &b));
    ck_assert(fabs(w[0] - 30.0 / 26) < 1e-12);
    ck_assert(fabs(w[1] - 40.0 / 26) < 1e-12);
    ck_assert(fabs(b - 10.0 / 26) < 1e-12);

    /* 2 equations, 4 unknowns: fits exactly and w lies in the row space
     * (w = X^T lambda), i.e. is orthogonal to the null space of X. */
    const double X2[8] = {1, 2, 0, -1, 0, 1, 3, 2}, y2[2] = {4, -1};
    double w2[4];
    NN_OK_OR_FAIL(nn_lstsq(2, 4, NN_ROW_MAJOR, X2, 4, y2, w2, NULL));
    for (int i = 0; i < 2; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += X2[i * 4 + j] * w2[j];
        ck_assert(fabs(s - y2[i]) < 1e-12);
    }
    /* null-space vectors of X2: n1 = (2,-1,0,0)+(…); check via projection:
     * w - X^T (X X^T)^-1 X w = 0 */
    double G[4] = {0}, Xw[2] = {0};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 4; j++) G[i * 2 + k] += X2[i * 4 + j] * X2[k * 4 + j];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) Xw[i] += X2[i * 4 + j] * w2[j];
    double det = G[0] * G[3] - G[1] * G[2];
    double lam[2] = {(G[3] * Xw[0] - G[1] * Xw[1]) / det,
                     (-G[2] * Xw[0] + G[0] * Xw[1]) / det};
    for (int j = 0; j < 4; j++) {
        double p = lam[0] * X2[j] + lam[1] * X2[4 + j];
        ck_assert_msg(fabs(p - w2[j]) < 1e-12, "w2[%d] %g vs %g", j, w2[j], p);
    }
}
END_TEST

/* Noisy data: the residual r = Xw + b - y satisfies X^T r = 0, sum r = 0. */
START_TEST(normal_equations)
{
    enum { m = 60, n = 4 };
    double X[m * n], y[m], w[n], b;
    tu_rng r = {7};
    tu_fill(&r, X, m * n, -3, 3);
    tu_fill(&r, y, m, -5, 5);
    NN_OK_OR_FAIL(nn_lstsq(m, n, NN_ROW_MAJOR, X, n, y, w, &b));
    double res[m], scale = 0;
    for (int i = 0; i < m; i++) {
        res[i] = b - y[i];
        for (int j = 0; j < n; j++) res[i] += X[i * n + j] * w[j];
        scale = fmax(scale, fabs(y[i]));
    }
    for (int j = 0; j <= n; j++) {
        double s = 0;
        for (int i = 0; i < m; i++) s += (j < n ? X[i * n + j] : 1.0) * res[i];
        ck_assert_msg(fabs(s) < 1e-10 * m * scale * 3, "col %d: %g", j, s);
    }
}
END_TEST

START_TEST(error_paths)
{
    const double X[6] = {1, 2, 3, 4, 5, 6}, y[3] = {1, 2, 3};
    double w[2] = {7, 7}, b = 7;
#define UNCHANGED() ck_assert(w[0] == 7 && w[1] == 7 && b == 7)
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, NULL, 2, y, w, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, X, 2, NULL, w, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, X, 2, y, NULL, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(0, 2, NN_ROW_MAJOR, X, 2, y, w, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(3, 0, NN_ROW_MAJOR, X, 2, y, w, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(3, 2, (nn_order)5, X, 2, y, w, &b), NN_ERR_INVALID);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, X, 1, y, w, &b), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_COL_MAJOR, X, 2, y, w, &b), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, X, (size_t)INT_MAX + 1, y, w, &b),
                     NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_lstsq((size_t)INT_MAX + 1, 2, NN_ROW_MAJOR, X, 2, y, w, &b),
                     NN_ERR_TOO_LARGE);
    UNCHANGED();
    const double Xn[6] = {1, 2, NAN, 4, 5, 6}, yn[3] = {1, INFINITY, 3};
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, Xn, 2, y, w, &b), NN_ERR_NUMERIC);
    ck_assert_int_eq(nn_lstsq(3, 2, NN_ROW_MAJOR, X, 2, yn, w, &b), NN_ERR_NUMERIC);
    UNCHANGED();
#undef UNCHANGED
}
END_TEST

/* The key test: gradient descent with MSE on a 1-layer identity
 * network converges to the closed-form solution. Features are standardised
 * (mean 0, variance 1), so the MSE Hessian (2/m)[X 1]^T[X 1] has eigenvalues
 * near 2 and a step of 0.25 contracts the error geometrically. */
START_TEST(gradient_descent_matches_lstsq)
{
    enum { m = 200, n = 3 };
    double X[m * n], y[m];
    tu_rng r = {11};
    tu_fill(&r, X, m * n, -1, 1);
    for (int j = 0; j < n; j++) {
        double mu = 0, var = 0;
        for (int i = 0; i < m; i++) mu += X[i * n + j];
        mu /= m;
        for (int i = 0; i < m; i++) {
            X[i * n + j] -= mu;
            var += X[i * n + j] * X[i * n + j];
        }
        double sd = sqrt(var / m);
        for (int i = 0; i < m; i++) X[i * n + j] /= sd;
    }
    for (int i = 0; i < m; i++)
        y[i] = 0.7 * X[i * n] - 1.2 * X[i * n + 1] + 0.3 * X[i * n + 2] + 2.0 +
               tu_uniform(&r, -0.5, 0.5);
    double w[n], b;
    NN_OK_OR_FAIL(nn_lstsq(m, n, NN_ROW_MAJOR, X, n, y, w, &b));

    const size_t units = 1;
    const nn_activation act = NN_ACT_IDENTITY;
    nn_net_t *net = tu_net(n, 1, &units, &act, NN_LOSS_MSE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ZERO, 0));
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_SGD, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_LR, 0.25));
    for (int it = 0; it < 1000; it++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, X, n, y, 1, NULL));
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
    }
    double gw[n], gb;
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, gw, 1, &gb));
    for (int j = 0; j < n; j++)
        ck_assert_msg(fabs(gw[j] - w[j]) < 1e-6, "w[%d]: gd %.12g lstsq %.12g",
                      j, gw[j], w[j]);
    ck_assert_msg(fabs(gb - b) < 1e-6, "b: gd %.12g lstsq %.12g", gb, b);

    /* the one-call step (the fused dgemm path for plain SGD) converges to
     * the same solution */
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ZERO, 0));
    for (int it = 0; it < 1000; it++)
        NN_OK_OR_FAIL(nn_net_train_step(net, opt, m, NN_ROW_MAJOR, X, n, y, 1,
                                        NULL));
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, gw, 1, &gb));
    for (int j = 0; j < n; j++)
        ck_assert_msg(fabs(gw[j] - w[j]) < 1e-6, "w[%d]: fused %.12g lstsq %.12g",
                      j, gw[j], w[j]);
    ck_assert_msg(fabs(gb - b) < 1e-6, "b: fused %.12g lstsq %.12g", gb, b);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lstsq");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, exact_recovery, 0, 8);
    tcase_add_test(tc, rank_deficient_min_norm);
    tcase_add_test(tc, underdetermined_min_norm);
    tcase_add_test(tc, normal_equations);
    tcase_add_test(tc, error_paths);
    tcase_add_test(tc, gradient_descent_matches_lstsq);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
