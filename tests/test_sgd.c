/* test_sgd.c — the update path and the gradient seam.
 * nn_net_train_step*: for plain SGD (no clipping, no decay, check-finite
 * off) the fused one-call step equals nn_net_gradient* + nn_optim_step up to
 * rounding (~1e-14 relative after one step), for every loss, with dropout, in
 * both orders; for any other optimizer setting it is exactly the two calls.
 * The flat views nn_net_params / nn_net_grads: layout (layer by layer, W
 * row-major then b), writes through them, nn_net_set_grads, and when a
 * gradient is current (nn_net_has_grads). */
#include "testutil.h"

#include <float.h>
#include <string.h>

enum { M = 37, NIN = 11, STEPS = 6 };

static nn_net_t *make_net(nn_loss loss, size_t k, double drop)
{
    nn_activation out = loss == NN_LOSS_SOFTMAX_CE ? NN_ACT_SOFTMAX
                        : loss == NN_LOSS_BCE      ? NN_ACT_SIGMOID
                                                   : NN_ACT_TANH;
    const tu_layer specs[] = {{40, NN_ACT_RELU, 0, drop},
                              {9, NN_ACT_LEAKY_RELU, 0.1, 0},
                              {k, out, 0, 0}};
    nn_net_t *net = tu_net_layers(NIN, 3, specs, loss, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 5));
    return net;
}

static void data(double *X, double *Y, int32_t *lab, size_t k, nn_loss loss)
{
    tu_rng r = {9};
    tu_fill(&r, X, (size_t)M * NIN, -1, 1);
    for (size_t i = 0; i < M; i++) {
        lab[i] = (int32_t)(tu_next(&r) % (k == 1 ? 2 : k));
        for (size_t j = 0; j < k; j++)
            Y[i * k + j] = loss == NN_LOSS_MSE ? tu_uniform(&r, -0.5, 0.5)
                           : k == 1            ? (double)lab[i]
                                               : (double)(lab[i] == (int32_t)j);
    }
}

/* The parameters, copied out layer by layer through nn_net_get_params (so
 * that a comparison does not lean on the flat view alone). */
static void params(nn_net_t *net, double *p)
{
    size_t o = 0;
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        size_t no = nn_net_layer_n_out(net, l);
        size_t nw = nn_net_layer_n_in(net, l) * no;
        NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, p + o, no, p + o + nw));
        o += nw + no;
    }
    ck_assert_uint_eq(o, nn_net_n_params(net));
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
    int32_t lab[M];
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
    nn_optim_t *oa = tu_sgd(a, 0.05), *ob = tu_sgd(b, 0.05);
    for (int s = 0; s < STEPS; s++) {
        double la, lb;
        if (cases[c].labels) {
            NN_OK_OR_FAIL(nn_net_gradient_labels(a, M, order, x, ldx, lab, &la));
            NN_OK_OR_FAIL(nn_net_train_step_labels(b, ob, M, order, x, ldx, lab, &lb));
        } else {
            NN_OK_OR_FAIL(nn_net_gradient(a, M, order, x, ldx, y, ldy, &la));
            NN_OK_OR_FAIL(nn_net_train_step(b, ob, M, order, x, ldx, y, ldy, &lb));
        }
        NN_OK_OR_FAIL(nn_optim_step(oa, a));
        /* the loss is of the parameters before the step: equal up to the
         * rounding the earlier steps accumulated (bitwise at the first) */
        if (s == 0) ck_assert(la == lb);
        ck_assert_msg(tu_relerr(la, lb, 1e-12) < 1e-11, "step %d loss %.17g vs %.17g", s, la, lb);
        if (s == 0) {
            /* one step: the products round once instead of twice */
            params(a, pa);
            params(b, pb);
            double w1 = 0;
            for (size_t i = 0; i < np; i++) w1 = fmax(w1, tu_relerr(pa[i], pb[i], 1e-3));
            ck_assert_msg(w1 < 1e-14, "case %d: one step differs by %g", _i, w1);
        }
    }
    int64_t steps = -1;
    NN_OK_OR_FAIL(nn_optim_get_int(ob, NN_OPTIM_STEPS, &steps));
    ck_assert_int_eq(steps, STEPS); /* the fused path counts its steps too */
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    params(a, pa);
    params(b, pb);
    double worst = 0;
    for (size_t i = 0; i < np; i++) worst = fmax(worst, tu_relerr(pa[i], pb[i], 1e-3));
    ck_assert_msg(worst < 1e-11, "case %d: parameters differ by %g", _i, worst);
    /* the fused step keeps no dW: a plain step must refuse */
    ck_assert_int_eq(nn_net_has_grads(b), 0);
    ck_assert_int_eq(tu_sgd_step(b, 0.05), NN_ERR_STATE);
    ck_assert_int_eq(nn_net_get_grads(b, 0, NN_ROW_MAJOR, pa, 40, pa + 40 * NIN),
                     NN_ERR_STATE);
    free(pa);
    free(pb);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* Every setting that keeps the fused path off (momentum kinds, Adam, SGD
 * with clipping or weight decay, check-finite on) makes the one-call step
 * exactly the two calls, bitwise, for several steps. */
typedef struct {
    const char *name;
    nn_optim_kind kind;
    double clip, decay;
    int check_finite;
} nonfused_case;
static const nonfused_case NONFUSED[] = {
    {"momentum", NN_OPTIM_MOMENTUM, 0, 0, 0},
    {"nesterov", NN_OPTIM_NESTEROV, 0, 0, 0},
    {"adam", NN_OPTIM_ADAM, 0, 0, 0},
    {"sgd + clip", NN_OPTIM_SGD, 0.05, 0, 0},
    {"sgd + decay", NN_OPTIM_SGD, 0, 1e-3, 0},
    {"sgd + check-finite", NN_OPTIM_SGD, 0, 0, 1},
};

static nn_optim_t *make_opt(const nn_net_t *net, const nonfused_case *c)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, c->kind, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, 0.05));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_CLIP_NORM, c->clip));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_WEIGHT_DECAY, c->decay));
    return o;
}

START_TEST(nonfused_equals_two_calls_exactly)
{
    const nonfused_case *c = &NONFUSED[_i / 2];
    double drop = _i % 2 ? 0.3 : 0.0;
    double X[M * NIN], Y[M * 5];
    int32_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *a = make_net(NN_LOSS_SOFTMAX_CE, 5, drop);
    nn_net_t *b = make_net(NN_LOSS_SOFTMAX_CE, 5, drop);
    NN_OK_OR_FAIL(nn_net_set_int(a, NN_NET_CHECK_FINITE, c->check_finite));
    NN_OK_OR_FAIL(nn_net_set_int(b, NN_NET_CHECK_FINITE, c->check_finite));
    nn_optim_t *oa = make_opt(a, c), *ob = make_opt(b, c);
    for (int s = 0; s < 4; s++) {
        double la = NAN, lb = NAN;
        if (s % 2) {
            NN_OK_OR_FAIL(nn_net_gradient_labels(a, M, NN_ROW_MAJOR, X, NIN, lab, &la));
            NN_OK_OR_FAIL(nn_net_train_step_labels(b, ob, M, NN_ROW_MAJOR, X, NIN,
                                                   lab, &lb));
        } else {
            NN_OK_OR_FAIL(nn_net_gradient(a, M, NN_ROW_MAJOR, X, NIN, Y, 5, &la));
            NN_OK_OR_FAIL(nn_net_train_step(b, ob, M, NN_ROW_MAJOR, X, NIN, Y, 5,
                                            &lb));
        }
        NN_OK_OR_FAIL(nn_optim_step(oa, a));
        ck_assert_msg(la == lb, "%s step %d: loss %.17g vs %.17g", c->name, s, la, lb);
        ck_assert_int_eq(nn_net_has_grads(b), 0);
    }
    size_t np = nn_net_n_params(a);
    double *pa = tu_dalloc(np), *pb = tu_dalloc(np);
    params(a, pa);
    params(b, pb);
    ck_assert_msg(memcmp(pa, pb, np * sizeof(double)) == 0, "%s: parameters differ",
                  c->name);
    size_t sl = nn_optim_state_len(oa);
    ck_assert_uint_eq(sl, nn_optim_state_len(ob));
    double *sa = tu_dalloc(sl), *sb = tu_dalloc(sl);
    uint64_t ta = 0, tb = 0;
    NN_OK_OR_FAIL(nn_optim_get_state(oa, &ta, sa, sl));
    NN_OK_OR_FAIL(nn_optim_get_state(ob, &tb, sb, sl));
    ck_assert(ta == 4 && tb == 4);
    ck_assert_msg(memcmp(sa, sb, sl * sizeof(double)) == 0, "%s: state differs",
                  c->name);
    free(sa); free(sb); free(pa); free(pb);
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* With check-finite on, a NaN batch makes the one-call step fail with
 * NN_ERR_NUMERIC and change nothing (parameters, optimizer state). */
START_TEST(check_finite_path)
{
    double X[M * NIN], Y[M * 5];
    int32_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *b = make_net(NN_LOSS_SOFTMAX_CE, 5, 0);
    NN_OK_OR_FAIL(nn_net_set_int(b, NN_NET_CHECK_FINITE, 1));
    nn_optim_t *ob = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&ob, b, NN_OPTIM_MOMENTUM, NULL));
    for (int s = 0; s < 3; s++)
        NN_OK_OR_FAIL(nn_net_train_step_labels(b, ob, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
    size_t np = nn_net_n_params(b), sl = nn_optim_state_len(ob);
    double *pa = tu_dalloc(np), *pb = tu_dalloc(np);
    double *sa = tu_dalloc(sl), *sb = tu_dalloc(sl);
    uint64_t ta = 0, tb = 0;
    params(b, pb);
    NN_OK_OR_FAIL(nn_optim_get_state(ob, &tb, sb, sl));
    X[3] = NAN;
    double loss = 42.0;
    ck_assert_int_eq(nn_net_train_step_labels(b, ob, M, NN_ROW_MAJOR, X, NIN, lab, &loss),
                     NN_ERR_NUMERIC);
    ck_assert(loss == 42.0);
    ck_assert_int_eq(nn_net_has_grads(b), 0);
    params(b, pa);
    ck_assert_mem_eq(pa, pb, np * sizeof(double));
    NN_OK_OR_FAIL(nn_optim_get_state(ob, &ta, sa, sl));
    ck_assert(ta == tb && ta == 3);
    ck_assert_mem_eq(sa, sb, sl * sizeof(double));
    /* plain SGD too (check-finite keeps it off the fused path) */
    nn_optim_t *sgd = tu_sgd(b, 0.1);
    ck_assert_int_eq(nn_net_train_step(b, sgd, M, NN_ROW_MAJOR, X, NIN, Y, 5, &loss),
                     NN_ERR_NUMERIC);
    params(b, pa);
    ck_assert_mem_eq(pa, pb, np * sizeof(double));
    nn_optim_destroy(sgd);
    free(pa); free(pb); free(sa); free(sb);
    nn_optim_destroy(ob);
    nn_net_destroy(b);
}
END_TEST

START_TEST(errors_change_nothing)
{
    double X[M * NIN], Y[M * 5];
    int32_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *net = make_net(NN_LOSS_SOFTMAX_CE, 5, 0);
    nn_net_t *other = make_net(NN_LOSS_SOFTMAX_CE, 4, 0);
    nn_optim_t *opt = tu_sgd(net, 0.1), *wrong = tu_sgd(other, 0.1);
    size_t np = nn_net_n_params(net);
    double *before = malloc(np * sizeof(double)), *after = malloc(np * sizeof(double));
    params(net, before);
    double loss = 9.0;
    ck_assert_int_eq(nn_net_train_step_labels(NULL, opt, M, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step_labels(net, NULL, M, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X, NIN, NULL, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step_labels(net, opt, 0, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step_labels(net, opt, M, (nn_order)2, X, NIN, lab, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, NULL, NIN, Y, 5, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, X, NIN, NULL, 5, &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, X, NIN - 1, Y, 5, &loss), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, X, NIN, Y, 4, &loss), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_train_step(net, wrong, M, NN_ROW_MAJOR, X, NIN, Y, 5, &loss), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_train_step_labels(net, wrong, M, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_SHAPE);
    lab[0] = 5;
    ck_assert_int_eq(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_INVALID);
    lab[0] = -1;
    ck_assert_int_eq(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X, NIN, lab, &loss), NN_ERR_INVALID);
    ck_assert(loss == 9.0);
    /* a refused learning rate leaves the old one */
    ck_assert_int_eq(nn_optim_set_real(opt, NN_OPTIM_LR, NAN), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_set_real(opt, NN_OPTIM_LR, 0.0), NN_ERR_INVALID);
    double lr = 0;
    NN_OK_OR_FAIL(nn_optim_get_real(opt, NN_OPTIM_LR, &lr));
    ck_assert(lr == 0.1);
    params(net, after);
    ck_assert_mem_eq(before, after, np * sizeof(double));
    int64_t steps = -1;
    NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_STEPS, &steps));
    ck_assert_int_eq(steps, 0);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    free(before);
    free(after);
    nn_optim_destroy(opt);
    nn_optim_destroy(wrong);
    nn_net_destroy(net);
    nn_net_destroy(other);
}
END_TEST

/* ------------------------------------------------------------ the seam */
/* Layout of the flat arrays: layer by layer, W (n_in x n_out, row-major)
 * then b, at the offsets nn_net_layer_offset reports, the same numbers the
 * per-layer copies give; the gradient array has the same layout. */
START_TEST(flat_layout)
{
    nn_net_t *net = make_net(NN_LOSS_BCE, 3, 0.0);
    size_t np = nn_net_n_params(net);
    ck_assert_uint_eq(np, NIN * 40 + 40 + 40 * 9 + 9 + 9 * 3 + 3);
    double *P = nn_net_params(net), *G = nn_net_grads(net);
    ck_assert_ptr_nonnull(P);
    ck_assert_ptr_nonnull(G);
    ck_assert(P != G);
    ck_assert_ptr_null(nn_net_params(NULL));
    ck_assert_ptr_null(nn_net_grads(NULL));
    double X[M * NIN], Y[M * 3];
    int32_t lab[M];
    data(X, Y, lab, 3, NN_LOSS_BCE);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 3, NULL));
    size_t off = 0;
    double W[40 * 40], b[40];
    for (size_t l = 0; l < 3; l++) {
        size_t ni = nn_net_layer_n_in(net, l), no = nn_net_layer_n_out(net, l);
        size_t wo = 99, bo = 99;
        NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &wo, &bo));
        ck_assert_uint_eq(wo, off);
        ck_assert_uint_eq(bo, off + ni * no);
        /* column-major copies with a padded ld, to read W's layout */
        NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_COL_MAJOR, W, ni + 1, b));
        for (size_t i = 0; i < ni; i++)
            for (size_t j = 0; j < no; j++)
                ck_assert(P[wo + i * no + j] == W[j * (ni + 1) + i]);
        for (size_t j = 0; j < no; j++) ck_assert(P[bo + j] == b[j]);
        NN_OK_OR_FAIL(nn_net_get_grads(net, l, NN_COL_MAJOR, W, ni + 1, b));
        for (size_t i = 0; i < ni; i++)
            for (size_t j = 0; j < no; j++)
                ck_assert(G[wo + i * no + j] == W[j * (ni + 1) + i]);
        for (size_t j = 0; j < no; j++) ck_assert(G[bo + j] == b[j]);
        off += ni * no + no;
    }
    ck_assert_uint_eq(off, np);
    size_t wo = 5, bo = 6;
    ck_assert_int_eq(nn_net_layer_offset(net, 3, &wo, &bo), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_layer_offset(NULL, 0, &wo, &bo), NN_ERR_INVALID);
    ck_assert(wo == 5 && bo == 6);
    /* storage never moves */
    NN_OK_OR_FAIL(nn_net_reserve(net, 500));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_HE_NORMAL, 3));
    ck_assert_ptr_eq(nn_net_params(net), P);
    ck_assert_ptr_eq(nn_net_grads(net), G);
    nn_net_destroy(net);
}
END_TEST

/* Writing through nn_net_params changes what the network computes: a 2-2-1
 * identity net set by hand gives y = (x W1 + b1) W2 + b2 exactly. */
START_TEST(flat_params_writable)
{
    const size_t units[2] = {2, 1};
    const nn_activation acts[2] = {NN_ACT_IDENTITY, NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(2, 2, units, acts, NN_LOSS_MSE, NULL);
    ck_assert_uint_eq(nn_net_n_params(net), 9);
    /* W1 = [1 2; -1 0.5], b1 = [0.25 -1], W2 = [2; -4], b2 = 0.5 */
    const double p[9] = {1, 2, -1, 0.5, 0.25, -1, 2, -4, 0.5};
    memcpy(nn_net_params(net), p, sizeof p);
    const double X[4] = {1, 1, 2, -3};
    /* row 0: h = (1 - 1 + 0.25, 2 + 0.5 - 1) = (0.25, 1.5): y = 0.5 - 6 + 0.5 = -5
     * row 1: h = (2 + 3 + 0.25, 4 - 1.5 - 1) = (5.25, 1.5): y = 10.5 - 6 + 0.5 = 5 */
    double Yh[2];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 2, NN_ROW_MAJOR, X, 2, Yh, 1));
    ck_assert_msg(Yh[0] == -5.0 && Yh[1] == 5.0, "got %g %g", Yh[0], Yh[1]);
    nn_net_params(net)[8] = 1.5; /* b2 */
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 2, NN_ROW_MAJOR, X, 2, Yh, 1));
    ck_assert(Yh[0] == -4.0 && Yh[1] == 6.0);
    double W2[2], b2;
    NN_OK_OR_FAIL(nn_net_get_params(net, 1, NN_ROW_MAJOR, W2, 1, &b2));
    ck_assert(W2[0] == 2 && W2[1] == -4 && b2 == 1.5);
    nn_net_destroy(net);
}
END_TEST

/* nn_net_set_grads + nn_optim_step applies exactly the gradients given
 * (dyadic values, so w - lr g is exact); a gradient written in place and
 * declared with set_grads(net, nn_net_grads(net)) as well. */
START_TEST(set_grads_then_step)
{
    const size_t units[2] = {2, 1};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(2, 2, units, acts, NN_LOSS_MSE, NULL);
    enum { NP = 9 };
    ck_assert_uint_eq(nn_net_n_params(net), NP);
    double p0[NP], g[NP], want[NP], got[NP];
    for (int i = 0; i < NP; i++) {
        p0[i] = 0.25 * (i - 4);
        g[i] = 0.5 * (i % 3) - 0.75;
        want[i] = p0[i] - 0.5 * g[i];
    }
    memcpy(nn_net_params(net), p0, sizeof p0);
    nn_optim_t *opt = tu_sgd(net, 0.5);
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE); /* none yet */
    /* refused: wrong length, NULL */
    ck_assert_int_eq(nn_net_set_grads(net, g, NP - 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_set_grads(net, g, NP + 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_set_grads(net, NULL, NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_grads(NULL, g, NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    NN_OK_OR_FAIL(nn_net_set_grads(net, g, NP));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    ck_assert(memcmp(nn_net_grads(net), g, sizeof g) == 0);
    double dW2[2], db2;
    NN_OK_OR_FAIL(nn_net_get_grads(net, 1, NN_ROW_MAJOR, dW2, 1, &db2));
    ck_assert(dW2[0] == g[6] && dW2[1] == g[7] && db2 == g[8]);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    memcpy(got, nn_net_params(net), sizeof got);
    for (int i = 0; i < NP; i++)
        ck_assert_msg(got[i] == want[i], "p[%d] = %g, want %g", i, got[i], want[i]);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
    /* in place: write the array, then declare it */
    for (int i = 0; i < NP; i++) nn_net_grads(net)[i] = 2.0 * g[i];
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE); /* not declared */
    NN_OK_OR_FAIL(nn_net_set_grads(net, nn_net_grads(net), NP));
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    for (int i = 0; i < NP; i++)
        ck_assert(nn_net_params(net)[i] == want[i] - g[i]);
    /* a gradient from nn_net_gradient, scaled in place (an allreduce's
     * average of two equal halves), then applied */
    const double X[4] = {0.5, -1, 1, 0.25}, Y[2] = {0.5, -0.5};
    NN_OK_OR_FAIL(nn_net_gradient(net, 2, NN_ROW_MAJOR, X, 2, Y, 1, NULL));
    double *G = nn_net_grads(net), gc[NP], pc[NP];
    memcpy(gc, G, sizeof gc);
    memcpy(pc, nn_net_params(net), sizeof pc);
    for (int i = 0; i < NP; i++) G[i] = (G[i] + G[i]) * 0.5;
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    for (int i = 0; i < NP; i++)
        ck_assert(nn_net_params(net)[i] == pc[i] - 0.5 * gc[i]);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* When a gradient is current: 0 at creation, 1 after nn_net_gradient*, 0
 * after an optimizer step, 1 after set_grads, 0 after nn_net_init, 0 after a
 * one-call step, 0 after a check-finite failure. */
START_TEST(has_grads_transitions)
{
    double X[M * NIN], Y[M * 5];
    int32_t lab[M];
    data(X, Y, lab, 5, NN_LOSS_SOFTMAX_CE);
    nn_net_t *net = make_net(NN_LOSS_SOFTMAX_CE, 5, 0);
    nn_optim_t *opt = tu_sgd(net, 0.05);
    size_t np = nn_net_n_params(net);
    double dW[40 * NIN], db[40];
    ck_assert_int_eq(nn_net_has_grads(NULL), 0);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW, 40, db), NN_ERR_STATE);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW, 40, db));
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW, 40, db), NN_ERR_STATE);
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    /* inference does not touch the gradient state */
    double P[M * 5], loss;
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, X, NIN, P, 5));
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, X, NIN, Y, 5, &loss));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 2));
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
    double *z = calloc(np, sizeof(double));
    ck_assert_ptr_nonnull(z);
    NN_OK_OR_FAIL(nn_net_set_grads(net, z, np));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    NN_OK_OR_FAIL(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL));
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL));
    NN_OK_OR_FAIL(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    /* a check-finite failure, from a state with a current gradient */
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL));
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    X[7] = INFINITY;
    ck_assert_int_eq(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL),
                     NN_ERR_NUMERIC);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
    /* a refused gradient call (bad shape) changes nothing either way */
    X[7] = 0.5;
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 5, NULL));
    ck_assert_int_eq(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, 4, NULL),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    free(z);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sgd");
    TCase *tc = tcase_create("sgd");
    tcase_add_loop_test(tc, fused_equals_two_calls, 0, 20);
    tcase_add_loop_test(tc, nonfused_equals_two_calls_exactly, 0,
                        2 * (int)(sizeof NONFUSED / sizeof NONFUSED[0]));
    tcase_add_test(tc, check_finite_path);
    tcase_add_test(tc, errors_change_nothing);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("seam");
    tcase_add_test(ts, flat_layout);
    tcase_add_test(ts, flat_params_writable);
    tcase_add_test(ts, set_grads_then_step);
    tcase_add_test(ts, has_grads_transitions);
    suite_add_tcase(s, ts);
    return tu_run(s);
}
