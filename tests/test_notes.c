/* test_notes.c — the network of the original notes (docs: derivation.md):
 * X (m x 2) -> W1 (2 x 4), activation g -> W2 (4 x 1), sigmoid -> BCE (mean).
 * Forward values, loss and every gradient are checked against a plain-loop
 * reference written from the notes' formulas:
 *   a1 = g(X W1 + b1), a2 = sigmoid(a1 W2 + b2),
 *   J  = -(1/m) sum [y log a2 + (1-y) log(1-a2)],
 *   dz2 = a2 - y, dW2 = (1/m) a1^T dz2, db2 = (1/m) sum dz2,
 *   dz1 = (dz2 W2^T) o g'(z1), dW1 = (1/m) X^T dz1, db1 = (1/m) sum_rows dz1,
 * and the update w <- w - alpha dw. With NN_REDUCE_SUM the 1/m factors go
 * (J and every gradient are m times the mean ones). Then the notes' two
 * learning examples: logistic regression on a separable set, and XOR with
 * the 2-4-1 network; and inference through execution contexts (chunks of a
 * context's capacity, contexts in caller memory, shape checks). */
#include "testutil.h"

#include <string.h>

#define M 5
#define NI 2
#define NH 4

/* Relative tolerance for exact-formula comparisons; the floor keeps values
 * that cancel to ~0 from demanding more than ~1e-14 absolute accuracy. */
#define TOL 1e-12
#define FLOOR 1e-2

static const double X0[M][NI] = {
    {0.5, -1.2}, {-0.3, 0.8}, {1.5, 0.4}, {-1.1, -0.7}, {0.2, 1.9}};
static const double Y0[M] = {0, 1, 1, 0, 1};
static const double W1_0[NI][NH] = {{0.4, -0.7, 0.25, 1.1},
                                    {-0.6, 0.3, 0.9, -0.45}};
static const double B1_0[NH] = {0.1, -0.2, 0.05, 0.3};
static const double W2_0[NH] = {0.8, -1.3, 0.6, 1.05};
static const double B2_0 = -0.15;

static const nn_activation HIDDEN[3] = {NN_ACT_TANH, NN_ACT_RELU,
                                        NN_ACT_SIGMOID};

/* ------------------------------------------------ reference (long double) */
static long double ref_g(nn_activation g, long double z)
{
    switch (g) {
    case NN_ACT_TANH: return tanhl(z);
    case NN_ACT_RELU: return z > 0 ? z : 0;
    case NN_ACT_SIGMOID: return 1.0L / (1.0L + expl(-z));
    default: return NAN;
    }
}

/* g'(z); relu'(0) = 0 as documented. */
static long double ref_dg(nn_activation g, long double z)
{
    switch (g) {
    case NN_ACT_TANH: { long double t = tanhl(z); return 1 - t * t; }
    case NN_ACT_RELU: return z > 0 ? 1 : 0;
    case NN_ACT_SIGMOID: {
        long double s = 1.0L / (1.0L + expl(-z));
        return s * (1 - s);
    }
    default: return NAN;
    }
}

typedef struct {
    double a2[M], loss;
    double dW1[NI][NH], db1[NH], dW2[NH], db2;
} ref_out;

/* sum: NN_REDUCE_SUM (no 1/m), else the mean. */
static void reference_red(nn_activation g, const double X[M][NI],
                          const double *Y, int sum, ref_out *r)
{
    const long double dm = sum ? 1.0L : (long double)M;
    long double z1[M][NH], a1[M][NH], a2[M], dz2[M], dz1[M][NH];
    long double J = 0;
    for (int i = 0; i < M; i++) {
        long double z2 = B2_0;
        for (int j = 0; j < NH; j++) {
            long double z = B1_0[j];
            for (int k = 0; k < NI; k++) z += (long double)X[i][k] * W1_0[k][j];
            z1[i][j] = z;
            a1[i][j] = ref_g(g, z);
            z2 += a1[i][j] * W2_0[j];
        }
        a2[i] = 1.0L / (1.0L + expl(-z2));
        J += Y[i] * logl(a2[i]) + (1 - Y[i]) * logl(1 - a2[i]);
        r->a2[i] = (double)a2[i];
    }
    r->loss = (double)(-J / dm);
    for (int i = 0; i < M; i++) dz2[i] = a2[i] - Y[i];
    long double db2 = 0;
    for (int i = 0; i < M; i++) db2 += dz2[i];
    r->db2 = (double)(db2 / dm);
    for (int j = 0; j < NH; j++) {
        long double s = 0;
        for (int i = 0; i < M; i++) s += a1[i][j] * dz2[i];
        r->dW2[j] = (double)(s / dm);
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < NH; j++)
            dz1[i][j] = dz2[i] * W2_0[j] * ref_dg(g, z1[i][j]);
    for (int j = 0; j < NH; j++) {
        long double s = 0;
        for (int i = 0; i < M; i++) s += dz1[i][j];
        r->db1[j] = (double)(s / dm);
        for (int k = 0; k < NI; k++) {
            long double t = 0;
            for (int i = 0; i < M; i++) t += (long double)X[i][k] * dz1[i][j];
            r->dW1[k][j] = (double)(t / dm);
        }
    }
}

static void reference(nn_activation g, const double X[M][NI], const double *Y,
                      ref_out *r)
{
    reference_red(g, X, Y, 0, r);
}

/* ------------------------------------------------ helpers */
static nn_net_t *make_notes_net_al(nn_activation g, const nn_allocator *al)
{
    const size_t units[2] = {NH, 1};
    const nn_activation acts[2] = {g, NN_ACT_SIGMOID};
    nn_net_t *net = tu_net(NI, 2, units, acts, NN_LOSS_BCE, al);
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, &W1_0[0][0], NH,
                                    B1_0));
    NN_OK_OR_FAIL(nn_net_set_params(net, 1, NN_ROW_MAJOR, W2_0, 1, &B2_0));
    return net;
}

static nn_net_t *make_notes_net(nn_activation g)
{
    return make_notes_net_al(g, NULL);
}

#define CHECK_CLOSE(got, want, what, g, idx)                                  \
    do {                                                                      \
        double got_ = (got), want_ = (want);                                  \
        ck_assert_msg(tu_relerr(got_, want_, FLOOR) <= TOL,                   \
                      "%s[%d] (g=%d): got %.17g, want %.17g", what, (int)(idx), \
                      (int)(g), got_, want_);                                 \
    } while (0)

static void check_grads_against(nn_net_t *net, nn_activation g,
                                const ref_out *r)
{
    double dW1[NI * NH], db1[NH], dW2[NH], db2;
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW1, NH, db1));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 1, NN_ROW_MAJOR, dW2, 1, &db2));
    /* the flat gradient view: W1, b1, W2, b2 */
    const double *flat = nn_net_grads(net);
    ck_assert_ptr_nonnull(flat);
    const double *bW1 = flat, *bb1 = flat + NI * NH;
    const double *bW2 = bb1 + NH, *bb2 = bW2 + NH;
    ck_assert_ptr_eq(bW1, tu_net_dW(net, 0));
    ck_assert_ptr_eq(bb1, tu_net_db(net, 0));
    ck_assert_ptr_eq(bW2, tu_net_dW(net, 1));
    ck_assert_ptr_eq(bb2, tu_net_db(net, 1));
    ck_assert_ptr_nonnull(bW1);
    ck_assert_ptr_nonnull(bb1);
    ck_assert_ptr_nonnull(bW2);
    ck_assert_ptr_nonnull(bb2);
    for (int k = 0; k < NI; k++)
        for (int j = 0; j < NH; j++) {
            CHECK_CLOSE(dW1[k * NH + j], r->dW1[k][j], "dW1", g, k * NH + j);
            CHECK_CLOSE(bW1[k * NH + j], r->dW1[k][j], "borrowed dW1", g,
                        k * NH + j);
        }
    for (int j = 0; j < NH; j++) {
        CHECK_CLOSE(db1[j], r->db1[j], "db1", g, j);
        CHECK_CLOSE(bb1[j], r->db1[j], "borrowed db1", g, j);
        CHECK_CLOSE(dW2[j], r->dW2[j], "dW2", g, j);
        CHECK_CLOSE(bW2[j], r->dW2[j], "borrowed dW2", g, j);
    }
    CHECK_CLOSE(db2, r->db2, "db2", g, 0);
    CHECK_CLOSE(bb2[0], r->db2, "borrowed db2", g, 0);
}

/* ------------------------------------------------ tests */
/* Forward, loss and all four gradients match the notes, for each g. */
START_TEST(test_forward_loss_grads)
{
    nn_activation g = HIDDEN[_i];
    ref_out r;
    reference(g, X0, Y0, &r);
    nn_net_t *net = make_notes_net(g);

    double A[M];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI, A, 1));
    for (int i = 0; i < M; i++) CHECK_CLOSE(A[i], r.a2[i], "a2", g, i);

    double loss = NAN;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                              &loss));
    CHECK_CLOSE(loss, r.loss, "loss", g, 0);

    double gloss = NAN;
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                                  &gloss));
    CHECK_CLOSE(gloss, r.loss, "gradient loss", g, 0);
    check_grads_against(net, g, &r);
    nn_net_destroy(net);
}
END_TEST

/* The relu case really exercises both branches of relu' (else the test of
 * g'(z) = [z > 0] would be vacuous): some z1 are negative, some positive.
 * The library's own hidden layer shows it: the notes' first layer alone
 * (2 -> 4 relu) gives a1 = 0 exactly where the fixture's z1 < 0 and
 * a1 = z1 where z1 > 0. And every unit is on for some row and off for
 * another, so no column of dW1 is all-zero or relu-free. */
START_TEST(test_relu_case_has_both_signs)
{
    const size_t units = NH;
    const nn_activation relu = NN_ACT_RELU;
    nn_net_t *layer = tu_net(NI, 1, &units, &relu, NN_LOSS_MSE, NULL);
    NN_OK_OR_FAIL(nn_net_set_params(layer, 0, NN_ROW_MAJOR, &W1_0[0][0], NH,
                                    B1_0));
    double A1[M * NH];
    NN_OK_OR_FAIL(nn_net_predict(layer, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI,
                                 A1, NH));
    int neg = 0, pos = 0, on[NH] = {0};
    for (int i = 0; i < M; i++)
        for (int j = 0; j < NH; j++) {
            long double z = B1_0[j];
            for (int k = 0; k < NI; k++) z += (long double)X0[i][k] * W1_0[k][j];
            ck_assert(fabsl(z) > 1e-3);
            double a = A1[i * NH + j];
            if (z < 0) {
                ck_assert_msg(a == 0.0, "a1(%d,%d) = %g for z1 = %Lg", i, j, a,
                              z);
                neg++;
            } else {
                CHECK_CLOSE(a, (double)z, "a1", NN_ACT_RELU, i * NH + j);
                pos++;
                on[j]++;
            }
        }
    ck_assert_int_gt(neg, 2);
    ck_assert_int_gt(pos, 2);
    nn_net_destroy(layer);
    for (int j = 0; j < NH; j++) ck_assert(on[j] > 0 && on[j] < M);
}
END_TEST

/* One step of plain gradient descent: w <- w - alpha dw, every parameter. */
START_TEST(test_sgd_step)
{
    nn_activation g = HIDDEN[_i];
    const double alpha = 0.7;
    ref_out r;
    reference(g, X0, Y0, &r);
    nn_net_t *net = make_notes_net(g);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                                  NULL));
    NN_OK_OR_FAIL(tu_sgd_step(net, alpha));

    double W1[NI * NH], b1[NH], W2[NH], b2;
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, W1, NH, b1));
    NN_OK_OR_FAIL(nn_net_get_params(net, 1, NN_ROW_MAJOR, W2, 1, &b2));
    const double *pW1 = tu_net_W(net, 0), *pb1 = tu_net_b(net, 0);
    const double *pW2 = tu_net_W(net, 1), *pb2 = tu_net_b(net, 1);
    for (int k = 0; k < NI; k++)
        for (int j = 0; j < NH; j++) {
            double want = W1_0[k][j] - alpha * r.dW1[k][j];
            CHECK_CLOSE(W1[k * NH + j], want, "W1 after step", g, k * NH + j);
            CHECK_CLOSE(pW1[k * NH + j], want, "borrowed W1 after step", g,
                        k * NH + j);
        }
    for (int j = 0; j < NH; j++) {
        double wb1 = B1_0[j] - alpha * r.db1[j];
        double wW2 = W2_0[j] - alpha * r.dW2[j];
        CHECK_CLOSE(b1[j], wb1, "b1 after step", g, j);
        CHECK_CLOSE(pb1[j], wb1, "borrowed b1 after step", g, j);
        CHECK_CLOSE(W2[j], wW2, "W2 after step", g, j);
        CHECK_CLOSE(pW2[j], wW2, "borrowed W2 after step", g, j);
    }
    CHECK_CLOSE(b2, B2_0 - alpha * r.db2, "b2 after step", g, 0);
    CHECK_CLOSE(pb2[0], B2_0 - alpha * r.db2, "borrowed b2 after step", g, 0);
    nn_net_destroy(net);
}
END_TEST

/* Labels 0/1 for the single output give the same loss and gradients as the
 * dense 0/1 targets (and both match the notes). */
START_TEST(test_labels_equal_dense)
{
    nn_activation g = HIDDEN[_i];
    ref_out r;
    reference(g, X0, Y0, &r);
    nn_net_t *net = make_notes_net(g);
    int32_t labels[M];
    for (int i = 0; i < M; i++) labels[i] = (int32_t)Y0[i];

    double ld = NAN, ll = NAN, lloss = NAN;
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                                  &ld));
    double dense[NI * NH + NH + NH + 1];
    ck_assert_uint_eq(nn_net_n_params(net), NI * NH + 2 * NH + 1);
    memcpy(dense, nn_net_grads(net), sizeof dense);

    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, &X0[0][0], NI,
                                         labels, &ll));
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI,
                                     labels, &lloss));
    ck_assert_msg(ll == ld, "labels loss %.17g != dense loss %.17g", ll, ld);
    ck_assert_msg(lloss == ld, "loss_labels %.17g != dense loss %.17g", lloss,
                  ld);
    CHECK_CLOSE(ll, r.loss, "labels loss", g, 0);
    const double *gW1 = tu_net_dW(net, 0);
    const double *gb1 = tu_net_db(net, 0);
    const double *gW2 = tu_net_dW(net, 1);
    const double *gb2 = tu_net_db(net, 1);
    for (int q = 0; q < NI * NH; q++)
        ck_assert_msg(gW1[q] == dense[q], "dW1[%d]", q);
    for (int j = 0; j < NH; j++) {
        ck_assert_msg(gb1[j] == dense[NI * NH + j], "db1[%d]", j);
        ck_assert_msg(gW2[j] == dense[NI * NH + NH + j], "dW2[%d]", j);
    }
    ck_assert(gb2[0] == dense[NI * NH + 2 * NH]);
    check_grads_against(net, g, &r);
    nn_net_destroy(net);
}
END_TEST

/* A NaN in one row of X gives NaN in that row of the prediction only; the
 * other rows keep their reference values. */
START_TEST(test_nan_row_propagates)
{
    nn_activation g = HIDDEN[_i];
    ref_out r;
    reference(g, X0, Y0, &r);
    nn_net_t *net = make_notes_net(g);
    for (int bad = 0; bad < M; bad++) {
        for (int col = 0; col < NI; col++) {
            double X[M][NI];
            memcpy(X, X0, sizeof X);
            X[bad][col] = NAN;
            double A[M];
            NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, &X[0][0],
                                         NI, A, 1));
            for (int i = 0; i < M; i++) {
                if (i == bad)
                    ck_assert_msg(isnan(A[i]),
                                  "g=%d row %d col %d: got %g, want NaN",
                                  (int)g, bad, col, A[i]);
                else
                    CHECK_CLOSE(A[i], r.a2[i], "a2 beside NaN row", g, i);
            }
        }
    }
    nn_net_destroy(net);
}
END_TEST

/* Logistic regression (the notes' first model, n_in = 2 -> 1 sigmoid, BCE)
 * learns a linearly separable set with plain gradient descent. */
START_TEST(test_logistic_regression_separable)
{
    enum { N = 40 };
    double X[N][2], Y[N];
    tu_rng rng = {12345};
    int npos = 0;
    for (int i = 0; i < N;) {
        double x1 = tu_uniform(&rng, -1, 1), x2 = tu_uniform(&rng, -1, 1);
        double s = 0.8 * x1 - 0.6 * x2 + 0.1; /* unit normal: s = distance */
        if (fabs(s) < 0.1) continue;          /* keep a margin */
        X[i][0] = x1;
        X[i][1] = x2;
        Y[i] = s > 0 ? 1.0 : 0.0;
        npos += s > 0;
        i++;
    }
    ck_assert(npos > 5 && npos < N - 5); /* both classes well represented */

    const size_t one = 1;
    const nn_activation sig = NN_ACT_SIGMOID;
    nn_net_t *net = tu_net(2, 1, &one, &sig, NN_LOSS_BCE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ZERO, 1)); /* starts at a = 0.5 */
    double loss0 = NAN, loss = NAN;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, N, NN_ROW_MAJOR, &X[0][0], 2, Y, 1,
                              &loss0));
    ck_assert(fabs(loss0 - log(2.0)) < 1e-12);
    nn_optim_t *opt = tu_sgd(net, 2.0);
    for (int it = 0; it < 2000; it++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, N, NN_ROW_MAJOR, &X[0][0], 2, Y, 1,
                                      NULL));
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
    }
    nn_optim_destroy(opt);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, N, NN_ROW_MAJOR, &X[0][0], 2, Y, 1,
                              &loss));
    ck_assert_msg(loss < 0.5 * loss0, "loss %g (from %g)", loss, loss0);
    double A[N];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, N, NN_ROW_MAJOR, &X[0][0], 2, A, 1));
    int correct = 0;
    for (int i = 0; i < N; i++) correct += (A[i] > 0.5) == (Y[i] > 0.5);
    ck_assert_int_eq(correct, N);
    nn_net_destroy(net);
}
END_TEST

/* The notes' 2-4-1 network (tanh hidden, sigmoid out, BCE) learns XOR. */
START_TEST(test_xor)
{
    static const double X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    static const double Y[4] = {0, 1, 1, 0};
    const size_t units[2] = {4, 1};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    nn_net_t *net = tu_net(2, 2, units, acts, NN_LOSS_BCE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 7));
    nn_optim_t *opt = tu_sgd(net, 0.5);
    for (int it = 0; it < 5000; it++) /* the one-call step (fused SGD) */
        NN_OK_OR_FAIL(nn_net_train_step(net, opt, 4, NN_ROW_MAJOR, &X[0][0], 2,
                                        Y, 1, NULL));
    nn_optim_destroy(opt);
    double A[4];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 4, NN_ROW_MAJOR, &X[0][0], 2, A, 1));
    for (int i = 0; i < 4; i++) {
        if (Y[i] > 0.5)
            ck_assert_msg(A[i] > 0.9, "xor(%g,%g) -> %g", X[i][0], X[i][1], A[i]);
        else
            ck_assert_msg(A[i] < 0.1, "xor(%g,%g) -> %g", X[i][0], X[i][1], A[i]);
    }
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------ reduction */
/* NN_REDUCE_SUM: the loss and every gradient are those of the notes without
 * the 1/m, i.e. m times the mean ones; the SGD step moves m times as far. */
START_TEST(test_sum_reduction)
{
    nn_activation g = HIDDEN[_i];
    ref_out rs, rm;
    reference_red(g, X0, Y0, 1, &rs);
    reference(g, X0, Y0, &rm);
    CHECK_CLOSE(rs.loss, M * rm.loss, "reference sum loss", g, 0);
    nn_net_t *net = make_notes_net(g);
    int64_t red = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &red));
    ck_assert_int_eq(red, NN_REDUCE_MEAN); /* the default */
    double lmean = NAN, lsum = NAN, gsum = NAN;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                              &lmean));
    size_t np = nn_net_n_params(net);
    double *gmean = tu_dalloc(np);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                                  NULL));
    memcpy(gmean, nn_net_grads(net), np * sizeof(double));

    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &red));
    ck_assert_int_eq(red, NN_REDUCE_SUM);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                              &lsum));
    CHECK_CLOSE(lsum, rs.loss, "sum loss", g, 0);
    CHECK_CLOSE(lsum, M * lmean, "sum loss = m * mean loss", g, 0);
    int32_t labels[M];
    for (int i = 0; i < M; i++) labels[i] = (int32_t)Y0[i];
    double llab = NAN;
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, &X0[0][0], NI,
                                     labels, &llab));
    CHECK_CLOSE(llab, rs.loss, "sum loss (labels)", g, 0);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                                  &gsum));
    CHECK_CLOSE(gsum, rs.loss, "sum gradient loss", g, 0);
    check_grads_against(net, g, &rs);
    for (size_t q = 0; q < np; q++)
        CHECK_CLOSE(nn_net_grads(net)[q], M * gmean[q], "sum = m * mean grad",
                    g, q);
    /* one step: w <- w - alpha * (m * dw_mean) */
    const double alpha = 0.05;
    NN_OK_OR_FAIL(tu_sgd_step(net, alpha));
    double W2[NH], b2;
    NN_OK_OR_FAIL(nn_net_get_params(net, 1, NN_ROW_MAJOR, W2, 1, &b2));
    for (int j = 0; j < NH; j++)
        CHECK_CLOSE(W2[j], W2_0[j] - alpha * M * rm.dW2[j], "W2 after sum step",
                    g, j);
    CHECK_CLOSE(b2, B2_0 - alpha * M * rm.db2, "b2 after sum step", g, 0);
    /* the spec can ask for it from the start */
    nn_netspec_t *sp = NULL;
    NN_OK_OR_FAIL(nn_netspec_from_net(&sp, net, NULL));
    nn_net_t *twin = NULL;
    NN_OK_OR_FAIL(nn_net_create(&twin, sp, NULL));
    NN_OK_OR_FAIL(nn_net_get_int(twin, NN_NET_REDUCTION, &red));
    ck_assert_int_eq(red, NN_REDUCE_SUM);
    nn_net_destroy(twin);
    nn_netspec_destroy(sp);
    free(gmean);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------ contexts */
/* A context of capacity 2 < m = 5 works in chunks (2 + 2 + 1 rows): the
 * predictions are the notes' values row by row, the loss is still the mean
 * (or sum) over all m rows, and with a context nothing is allocated. */
START_TEST(test_ctx_chunks)
{
    nn_activation g = HIDDEN[_i];
    ref_out r, rs;
    reference(g, X0, Y0, &r);
    reference_red(g, X0, Y0, 1, &rs);
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net = make_notes_net_al(g, &al);
    for (size_t cap = 1; cap <= M + 1; cap++) {
        nn_ctx_t *ctx = NULL;
        NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, cap, NULL));
        ck_assert_uint_eq(nn_ctx_capacity(ctx), cap);
        long before = c.attempts;
        double A[M], loss = NAN, lloss = NAN;
        tu_fill_value(A, M, NAN);
        NN_OK_OR_FAIL(nn_net_predict(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI,
                                     A, 1));
        for (int i = 0; i < M; i++) CHECK_CLOSE(A[i], r.a2[i], "chunked a2", g, i);
        /* row by row through the same context */
        for (int i = 0; i < M; i++) {
            double a = NAN;
            NN_OK_OR_FAIL(nn_net_predict(net, ctx, 1, NN_ROW_MAJOR, X0[i], NI,
                                         &a, 1));
            CHECK_CLOSE(a, r.a2[i], "row-by-row a2", g, i);
            CHECK_CLOSE(a, A[i], "row-by-row = chunked", g, i);
        }
        NN_OK_OR_FAIL(nn_net_loss(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0,
                                  1, &loss));
        CHECK_CLOSE(loss, r.loss, "chunked loss", g, (int)cap);
        int32_t labels[M];
        for (int i = 0; i < M; i++) labels[i] = (int32_t)Y0[i];
        NN_OK_OR_FAIL(nn_net_loss_labels(net, ctx, M, NN_ROW_MAJOR, &X0[0][0],
                                         NI, labels, &lloss));
        CHECK_CLOSE(lloss, r.loss, "chunked labels loss", g, (int)cap);
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
        NN_OK_OR_FAIL(nn_net_loss(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0,
                                  1, &loss));
        CHECK_CLOSE(loss, rs.loss, "chunked sum loss", g, (int)cap);
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_MEAN));
        ck_assert_msg(c.attempts == before,
                      "inference with a context allocated %ld time(s)",
                      c.attempts - before);
        nn_ctx_destroy(ctx);
    }
    nn_ctx_destroy(NULL);
    ck_assert_uint_eq(nn_ctx_capacity(NULL), 0);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* A context serves networks of its network's shape (a clone) and refuses
 * any other with NN_ERR_SHAPE, writing nothing. */
START_TEST(test_ctx_shape_checked)
{
    ref_out r;
    reference(NN_ACT_TANH, X0, Y0, &r);
    nn_net_t *net = make_notes_net(NN_ACT_TANH), *cl = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&cl, net, NULL));
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 3, NULL));
    double A[M];
    NN_OK_OR_FAIL(nn_net_predict(cl, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, A, 1));
    for (int i = 0; i < M; i++) CHECK_CLOSE(A[i], r.a2[i], "clone via ctx", 0, i);
    static const struct { size_t n_in, n_l, units[2]; } other[] = {
        {2, 2, {3, 1}}, {3, 2, {4, 1}}, {2, 1, {1, 0}}, {2, 2, {4, 2}}};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        nn_net_t *o = tu_net(other[k].n_in, other[k].n_l, other[k].units,
                             other[k].n_l == 1 ? acts + 1 : acts,
                             NN_LOSS_MSE, NULL);
        double X[M * 3] = {0}, Y[M * 2] = {0}, P[M * 2], loss = -3.0;
        int32_t lab[M] = {0};
        tu_fill_value(P, M * 2, -7.0);
        ck_assert_int_eq(nn_net_predict(o, ctx, M, NN_ROW_MAJOR, X,
                                        other[k].n_in, P, nn_net_n_out(o)),
                         NN_ERR_SHAPE);
        for (size_t q = 0; q < M * 2; q++) ck_assert(P[q] == -7.0);
        ck_assert_int_eq(nn_net_loss(o, ctx, M, NN_ROW_MAJOR, X, other[k].n_in,
                                     Y, nn_net_n_out(o), &loss),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_loss_labels(o, ctx, M, NN_ROW_MAJOR, X,
                                            other[k].n_in, lab, &loss),
                         NN_ERR_SHAPE);
        ck_assert(loss == -3.0);
        nn_net_destroy(o);
    }
    /* the context still works for its own network afterwards */
    NN_OK_OR_FAIL(nn_net_predict(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, A, 1));
    for (int i = 0; i < M; i++) CHECK_CLOSE(A[i], r.a2[i], "after refusals", 0, i);
    nn_ctx_destroy(ctx);
    nn_net_destroy(cl);
    nn_net_destroy(net);
}
END_TEST

/* nn_ctx_create_in: exactly nn_ctx_size bytes of caller memory suffice (a
 * heap block of that size, so a sanitizer sees any overrun); fewer bytes,
 * misaligned memory and bad arguments are refused with *out untouched. */
START_TEST(test_ctx_in_caller_memory)
{
    ref_out r;
    reference(NN_ACT_RELU, X0, Y0, &r);
    nn_net_t *net = make_notes_net(NN_ACT_RELU);
    size_t bytes = 0, bytes_big = 0;
    NN_OK_OR_FAIL(nn_ctx_size(net, 2, &bytes));
    NN_OK_OR_FAIL(nn_ctx_size(net, 200, &bytes_big));
    ck_assert_uint_gt(bytes, 0);
    ck_assert_uint_gt(bytes_big, bytes); /* the workspace grows with m_max */
    unsigned char *mem = malloc(bytes + 16);
    ck_assert_ptr_nonnull(mem);
    nn_ctx_t *ctx = (nn_ctx_t *)&bytes, *const sent = ctx;
    /* too small, misaligned, bad arguments */
    /* nn.h does not name the status of a too-small block: a refusal it is */
    nn_status small = nn_ctx_create_in(&ctx, net, 2, mem, bytes - 1);
    ck_assert_msg(small == NN_ERR_INVALID || small == NN_ERR_SHAPE,
                  "too small a block -> %d", (int)small);
    small = nn_ctx_create_in(&ctx, net, 2, mem, bytes / 2);
    ck_assert(small == NN_ERR_INVALID || small == NN_ERR_SHAPE);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 2, mem + 1, bytes + 8),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 2, mem + 4, bytes + 8),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 2, NULL, bytes), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 0, mem, bytes), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, NULL, 2, mem, bytes), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(NULL, net, 2, mem, bytes), NN_ERR_INVALID);
    ck_assert_ptr_eq(ctx, sent);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, 0, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, NULL, 2, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(ctx, sent);
    size_t b2 = 77;
    ck_assert_int_eq(nn_ctx_size(NULL, 2, &b2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_size(net, 0, &b2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_size(net, 2, NULL), NN_ERR_INVALID);
    ck_assert_uint_eq(b2, 77);
    free(mem);

    /* exactly `bytes` */
    mem = malloc(bytes);
    ck_assert_ptr_nonnull(mem);
    NN_OK_OR_FAIL(nn_ctx_create_in(&ctx, net, 2, mem, bytes));
    ck_assert_uint_eq(nn_ctx_capacity(ctx), 2);
    double A[M], loss = NAN;
    NN_OK_OR_FAIL(nn_net_predict(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, A, 1));
    for (int i = 0; i < M; i++)
        CHECK_CLOSE(A[i], r.a2[i], "caller-memory a2", NN_ACT_RELU, i);
    NN_OK_OR_FAIL(nn_net_loss(net, ctx, M, NN_ROW_MAJOR, &X0[0][0], NI, Y0, 1,
                              &loss));
    CHECK_CLOSE(loss, r.loss, "caller-memory loss", NN_ACT_RELU, 0);
    nn_ctx_destroy(ctx); /* forgets it; the memory is ours */
    free(mem);
    nn_net_destroy(net);
}
END_TEST

static Suite *notes_suite(void)
{
    Suite *s = suite_create("notes");
    TCase *tc = tcase_create("network");
    tcase_add_loop_test(tc, test_forward_loss_grads, 0, 3);
    tcase_add_test(tc, test_relu_case_has_both_signs);
    tcase_add_loop_test(tc, test_sgd_step, 0, 3);
    tcase_add_loop_test(tc, test_labels_equal_dense, 0, 3);
    tcase_add_loop_test(tc, test_nan_row_propagates, 0, 3);
    tcase_add_loop_test(tc, test_sum_reduction, 0, 3);
    suite_add_tcase(s, tc);
    TCase *tx = tcase_create("contexts");
    tcase_add_loop_test(tx, test_ctx_chunks, 0, 3);
    tcase_add_test(tx, test_ctx_shape_checked);
    tcase_add_test(tx, test_ctx_in_caller_memory);
    suite_add_tcase(s, tx);
    TCase *tl = tcase_create("learning");
    tcase_add_test(tl, test_logistic_regression_separable);
    tcase_add_test(tl, test_xor);
    suite_add_tcase(s, tl);
    return s;
}

int main(void)
{
    return tu_run(notes_suite());
}
