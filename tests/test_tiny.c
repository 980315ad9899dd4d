/* test_tiny.c — the one-sample SGD step of tiny networks (lib/tiny.c).
 *
 * nn_net_train_step at m = 1 with plain SGD takes lib/tiny.c's straight
 * loops when every layer has at most 64 weights and none drops out. Two
 * checks hold it:
 *  - against the notes' 2-4-1 network written out by hand here (forward,
 *    BCE from the logit, backward, update: an independent derivation), to
 *    1e-12 over 2000 samples;
 *  - against the general path, reached through nn_net_gradient (which
 *    stores dW and never takes the tiny path) and nn_optim_step: the same
 *    operations in the same order, so parameters and losses must be
 *    bitwise equal after every step, on every activation, loss, target
 *    kind (dense and labels), input order, leading dimension and
 *    reduction, at 1 to 3 layers, with layers of exactly 64 weights and
 *    of 65 (the general path on both sides). In a -Dsmall_gemm=false build
 *    (TU_BLAS_ONLY: every product through BLAS, the tiny path off) the two
 *    sides are BLAS's fused and unfused products: equal to 1e-13. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ by hand */
typedef struct {
    double W1[8], b1[4], w2[4], b2;
} hand241;

/* h = tanh(x.W1 + b1), p = sigmoid(h.w2 + b2), l = BCE(p, y); dl/dz = p - y */
static void hand_step(hand241 *q, const double *x, double y, double lr)
{
    double h[4], z = q->b2;
    for (int j = 0; j < 4; j++) {
        h[j] = tanh(q->b1[j] + x[0] * q->W1[j] + x[1] * q->W1[4 + j]);
        z += h[j] * q->w2[j];
    }
    double d = 1.0 / (1.0 + exp(-z)) - y;
    for (int j = 0; j < 4; j++) {
        double dh = d * q->w2[j] * (1.0 - h[j] * h[j]);
        q->w2[j] -= lr * d * h[j];
        q->W1[j] -= lr * dh * x[0];
        q->W1[4 + j] -= lr * dh * x[1];
        q->b1[j] -= lr * dh;
    }
    q->b2 -= lr * d;
}

static nn_net_t *make_net(size_t n_in, nn_loss loss, size_t n_layers,
                          const size_t *width, const nn_activation *act,
                          uint64_t seed)
{
    nn_net_t *net = tu_net(n_in, n_layers, width, act, loss, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, seed));
    return net;
}

static nn_optim_t *make_sgd(const nn_net_t *net, double lr)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, NN_OPTIM_SGD, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
    return o;
}

START_TEST(test_hand_241)
{
    const size_t w[2] = {4, 1};
    const nn_activation a[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    nn_net_t *net = make_net(2, NN_LOSS_BCE, 2, w, a, 11);
    nn_optim_t *o = make_sgd(net, 0.3);
    hand241 q;
    const double *p = nn_net_params(net); /* W1, b1, W2, b2 */
    memcpy(q.W1, p, sizeof q.W1);
    memcpy(q.b1, p + 8, sizeof q.b1);
    memcpy(q.w2, p + 12, sizeof q.w2);
    q.b2 = p[16];
    static const double X4[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y4[4] = {0, 1, 1, 0};
    for (int i = 0; i < 2000; i++) {
        int r = i & 3;
        NN_OK_OR_FAIL(nn_net_train_step(net, o, 1, NN_ROW_MAJOR, X4 + 2 * r, 2,
                                        Y4 + r, 1, NULL));
        hand_step(&q, X4 + 2 * r, Y4[r], 0.3);
    }
    const double *ref[4] = {q.W1, q.b1, q.w2, &q.b2};
    const size_t len[4] = {8, 4, 4, 1};
    p = nn_net_params(net);
    double moved = 0.0;
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < len[k]; i++, p++) {
            ck_assert_msg(tu_relerr(*p, ref[k][i], 1.0) < 1e-12,
                          "param %d.%zu: %.17g vs %.17g", k, i, *p, ref[k][i]);
            moved = fmax(moved, fabs(*p));
        }
    ck_assert(moved > 1.0); /* it trained (XOR needs large weights) */
    nn_optim_destroy(o);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ vs general */
typedef struct {
    size_t n_in, n_layers, width[3];
    nn_activation act[3];
    nn_loss loss;
} shape;

static const shape SHAPES[] = {
    {3, 1, {1}, {NN_ACT_SIGMOID}, NN_LOSS_BCE},         /* logistic regr. */
    {4, 1, {1}, {NN_ACT_IDENTITY}, NN_LOSS_MSE},        /* linear regr. */
    {2, 2, {4, 1}, {NN_ACT_TANH, NN_ACT_SIGMOID}, NN_LOSS_BCE},
    {3, 2, {5, 3}, {NN_ACT_RELU, NN_ACT_SOFTMAX}, NN_LOSS_SOFTMAX_CE},
    {3, 2, {4, 3}, {NN_ACT_LEAKY_RELU, NN_ACT_SIGMOID}, NN_LOSS_BCE},
    {2, 3, {6, 5, 2}, {NN_ACT_SIGMOID, NN_ACT_TANH, NN_ACT_IDENTITY},
     NN_LOSS_MSE},
    {3, 3, {4, 4, 3}, {NN_ACT_IDENTITY, NN_ACT_SOFTMAX, NN_ACT_TANH},
     NN_LOSS_MSE},
    {2, 2, {3, 2}, {NN_ACT_TANH, NN_ACT_SIGMOID}, NN_LOSS_MSE},
    {2, 2, {3, 2}, {NN_ACT_SIGMOID, NN_ACT_RELU}, NN_LOSS_MSE},
    {8, 2, {8, 8}, {NN_ACT_TANH, NN_ACT_SOFTMAX}, NN_LOSS_SOFTMAX_CE},
    {5, 2, {13, 2}, {NN_ACT_TANH, NN_ACT_SIGMOID}, NN_LOSS_BCE}, /* 65 */
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* The step's variant: labels or dense targets, input order and its
 * leading dimension's padding, reduction, whether the loss is asked. */
typedef struct {
    bool labels, col;
    size_t pad;
    int32_t reduce;
} variant;

static void expect_same(const nn_net_t *a, const nn_net_t *b, double la,
                        double lb, const char *where, int step)
{
    const double *pa = nn_net_params((nn_net_t *)a);
    const double *pb = nn_net_params((nn_net_t *)b);
    size_t n = nn_net_n_params(a);
#ifdef TU_BLAS_ONLY
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(tu_relerr(pa[i], pb[i], 1.0) < 1e-13, "%s step %d", where,
                      step);
    ck_assert_msg(tu_relerr(la, lb, 1.0) < 1e-13, "%s step %d loss", where,
                  step);
#else
    ck_assert_msg(memcmp(pa, pb, n * sizeof *pa) == 0, "%s step %d: params",
                  where, step);
    ck_assert_msg(memcmp(&la, &lb, sizeof la) == 0,
                  "%s step %d: loss %.17g vs %.17g", where, step, la, lb);
#endif
}

/* One sample (x with the variant's order and padding) and its target. */
static void draw(tu_rng *r, const shape *s, const variant *v, double *x,
                 double *y, int32_t *lab)
{
    size_t ld = v->col ? 1 + v->pad : s->n_in + v->pad;
    size_t k = s->width[s->n_layers - 1];
    tu_fill_value(x, s->n_in * ld + 4, NAN); /* padding never read */
    for (size_t j = 0; j < s->n_in; j++)
        x[v->col ? j * ld : j] = tu_uniform(r, -2.0, 2.0);
    bool binary = s->loss == NN_LOSS_BCE || k == 1;
    *lab = (int32_t)(tu_next(r) % (binary && k == 1 ? 2 : k));
    for (size_t j = 0; j < k; j++)
        y[j] = s->loss == NN_LOSS_MSE ? tu_uniform(r, -1.0, 1.0)
                                      : tu_uniform(r, 0.0, 1.0);
    if (s->loss == NN_LOSS_SOFTMAX_CE) { /* a distribution */
        double t = 0.0;
        for (size_t j = 0; j < k; j++) t += y[j];
        for (size_t j = 0; j < k; j++) y[j] /= t;
    }
}

static void run_pair(const shape *s, const variant *v, uint64_t seed)
{
    nn_net_t *a = make_net(s->n_in, s->loss, s->n_layers, s->width, s->act,
                           seed);
    NN_OK_OR_FAIL(nn_net_set_int(a, NN_NET_REDUCTION, v->reduce));
    nn_net_t *b = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&b, a, NULL));
    nn_optim_t *oa = make_sgd(a, 0.05), *ob = make_sgd(b, 0.05);
    nn_order order = v->col ? NN_COL_MAJOR : NN_ROW_MAJOR;
    size_t ld = v->col ? 1 + v->pad : s->n_in + v->pad;
    size_t ldy = v->col ? 1 : s->width[s->n_layers - 1]; /* one row of Y */
    tu_rng r = {seed * 7 + 1};
    double x[64 * 4], y[8];
    int32_t lab;
    char where[96];
    snprintf(where, sizeof where, "shape %d labels %d col %d pad %zu red %d",
             (int)(s - SHAPES), v->labels, v->col, v->pad, (int)v->reduce);
    for (int step = 0; step < 40; step++) {
        draw(&r, s, v, x, y, &lab);
        double la = 0.0, lb = 0.0;
        double *pla = step % 5 == 4 ? NULL : &la; /* loss not asked */
        if (v->labels) {
            NN_OK_OR_FAIL(nn_net_train_step_labels(a, oa, 1, order, x, ld,
                                                   &lab, pla));
            NN_OK_OR_FAIL(nn_net_gradient_labels(b, 1, order, x, ld, &lab,
                                                 &lb));
        } else {
            NN_OK_OR_FAIL(nn_net_train_step(a, oa, 1, order, x, ld, y, ldy,
                                            pla));
            NN_OK_OR_FAIL(nn_net_gradient(b, 1, order, x, ld, y, ldy, &lb));
        }
        NN_OK_OR_FAIL(nn_optim_step(ob, b));
        expect_same(a, b, pla ? la : lb, lb, where, step);
    }
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
}

START_TEST(test_vs_general)
{
    const shape *s = &SHAPES[_i];
    for (int labels = 0; labels < 2; labels++)
        for (int col = 0; col < 2; col++)
            for (size_t pad = 0; pad < 3; pad += 2)
                for (int32_t red = NN_REDUCE_MEAN; red <= NN_REDUCE_SUM;
                     red++) {
                    variant v = {labels != 0, col != 0, pad, red};
                    run_pair(s, &v, 100 + (uint64_t)_i);
                }
}
END_TEST

/* A net that drops out never takes the tiny path (its masks are drawn by
 * the general one): its steps still equal nn_net_gradient's with the same
 * dropout generator state, and the generator advances once per step. */
START_TEST(test_dropout_general)
{
    nn_netspec_t *s = NULL;
    nn_net_t *a = NULL, *b = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, 2, NN_LOSS_BCE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 4, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.5));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 1, NN_ACT_SIGMOID));
    NN_OK_OR_FAIL(nn_net_create(&a, s, NULL));
    nn_netspec_destroy(s);
    NN_OK_OR_FAIL(nn_net_init(a, NN_INIT_GLOROT_UNIFORM, 5));
    NN_OK_OR_FAIL(nn_net_clone(&b, a, NULL));
    nn_optim_t *oa = make_sgd(a, 0.1), *ob = make_sgd(b, 0.1);
    const double x[2] = {0.5, -1.0}, y = 1.0;
    for (int step = 0; step < 20; step++) {
        double la, lb;
        NN_OK_OR_FAIL(nn_net_train_step(a, oa, 1, NN_ROW_MAJOR, x, 2, &y, 1,
                                        &la));
        NN_OK_OR_FAIL(nn_net_gradient(b, 1, NN_ROW_MAJOR, x, 2, &y, 1, &lb));
        NN_OK_OR_FAIL(nn_optim_step(ob, b));
        expect_same(a, b, la, lb, "dropout", step);
    }
    int64_t da, db;
    NN_OK_OR_FAIL(nn_net_get_int(a, NN_NET_DROPOUT_STEP, &da));
    NN_OK_OR_FAIL(nn_net_get_int(b, NN_NET_DROPOUT_STEP, &db));
    ck_assert_int_eq(da, 20);
    ck_assert_int_eq(db, 20);
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* The tiny path counts its steps in the dropout generator too (a net's
 * NN_NET_DROPOUT_STEP is the passes drawn, whichever path ran them). */
START_TEST(test_counts_steps)
{
    const size_t w[2] = {4, 1};
    const nn_activation act[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    nn_net_t *net = make_net(2, NN_LOSS_BCE, 2, w, act, 3);
    nn_optim_t *o = make_sgd(net, 0.1);
    const double x[2] = {1.0, 2.0}, y = 0.0;
    for (int i = 0; i < 7; i++)
        NN_OK_OR_FAIL(nn_net_train_step(net, o, 1, NN_ROW_MAJOR, x, 2, &y, 1,
                                        NULL));
    int64_t steps;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_STEP, &steps));
    ck_assert_int_eq(steps, 7);
    nn_optim_destroy(o);
    nn_net_destroy(net);
}
END_TEST

static Suite *tiny_suite(void)
{
    Suite *s = suite_create("tiny");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hand_241);
    tcase_add_loop_test(tc, test_vs_general, 0, (int)N_SHAPES);
    tcase_add_test(tc, test_dropout_general);
    tcase_add_test(tc, test_counts_steps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(tiny_suite()); }
