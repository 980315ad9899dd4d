/* test_optim.c — the optimizers (nn_optim_*), checked against plain-loop
 * references written from the formulas of nn.h:
 *   SGD:       w -= lr*g
 *   MOMENTUM:  v = mu*v + g;  w -= lr*v                (PyTorch)
 *   NESTEROV:  v = mu*v + g;  w -= lr*(g + mu*v)       (PyTorch)
 *   ADAM:      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *              w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 *   coupled decay (weights only): g += wd*w;  AdamW: w *= 1 - lr*wd first;
 *   clipping: g *= clip / max(||g||, clip) over all gradients.
 * The network is 2 -> 1, identity output, MSE, with hand-set W, b and one
 * fixed batch, so that its gradient is known in closed form:
 *   r_i = x_i.W + b - y_i,  dW = (2/m) X^T r,  db = (2/m) sum_i r_i. */
#include "testutil.h"

#include <float.h>
#include <string.h>

#define M 3
#define NP 3 /* W[0], W[1], b */

static const double X[M][2] = {{1.0, -2.0}, {0.5, 3.0}, {-1.5, 0.25}};
static const double Y[M] = {0.7, -1.1, 2.3};
static const double P0[NP] = {0.3, -0.8, 0.2}; /* W[0], W[1], b */
static const bool IS_W[NP] = {true, true, false};

#define TOL 1e-13
#define FLOOR 1e-3

/* ------------------------------------------------------------ helpers */
/* Closed-form gradient of the test net at parameters p. */
static void ref_grad(const double p[NP], double g[NP])
{
    g[0] = g[1] = g[2] = 0;
    for (int i = 0; i < M; i++) {
        double r = X[i][0] * p[0] + X[i][1] * p[1] + p[2] - Y[i];
        g[0] += 2.0 / M * X[i][0] * r;
        g[1] += 2.0 / M * X[i][1] * r;
        g[2] += 2.0 / M * r;
    }
}

static nn_net_t *make_net(const double p[NP], const nn_allocator *al)
{
    const size_t units[1] = {1};
    const nn_activation acts[1] = {NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(2, 1, units, acts, NN_LOSS_MSE, al);
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, p, 1, &p[2]));
    return net;
}

static void get_p(nn_net_t *net, double p[NP])
{
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, p, 1, &p[2]));
}

static void get_g(nn_net_t *net, double g[NP])
{
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, g, 1, &g[2]));
}

static void gradient(nn_net_t *net)
{
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &X[0][0], 2, Y, 1,
                                  NULL));
}

static void expect_params(nn_net_t *net, const double want[NP], const char *what,
                          int step)
{
    double p[NP];
    get_p(net, p);
    for (int j = 0; j < NP; j++)
        ck_assert_msg(tu_relerr(p[j], want[j], FLOOR) < TOL,
                      "%s step %d p[%d]: %.17g vs %.17g", what, step, j, p[j],
                      want[j]);
}

/* The settings of one optimizer, as the test's own record (the library's
 * are keys): the defaults written out from nn.h. */
typedef struct ocfg {
    nn_optim_kind kind;
    double lr, momentum, beta1, beta2, eps, weight_decay, clip_norm;
    bool decoupled;
} ocfg;

static ocfg cfg_of(nn_optim_kind k, double lr)
{
    ocfg c = {k, lr, 0.9, 0.9, 0.999, 1e-8, 0.0, 0.0, false};
    return c;
}

/* An optimizer for net with every setting of c, through the keys. */
static nn_optim_t *make_opt(const nn_net_t *net, const ocfg *c,
                            const nn_allocator *al)
{
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, c->kind, al));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_LR, c->lr));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_MOMENTUM_COEF, c->momentum));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_BETA1, c->beta1));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_BETA2, c->beta2));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_EPS, c->eps));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY,
                                    c->weight_decay));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_CLIP_NORM, c->clip_norm));
    NN_OK_OR_FAIL(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, c->decoupled));
    return opt;
}

static double get_real(const nn_optim_t *opt, int32_t key)
{
    double v = NAN;
    NN_OK_OR_FAIL(nn_optim_get_real(opt, key, &v));
    return v;
}

static int64_t get_int(const nn_optim_t *opt, int32_t key)
{
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_optim_get_int(opt, key, &v));
    return v;
}

/* Reference optimizer over the NP parameters: one step, from the closed-form
 * gradient at p; vel / m / v are the state, t the step count after the step. */
typedef struct {
    double vel[NP], m[NP], v[NP];
    int t;
} ref_state;

static void ref_step(const ocfg *c, double p[NP], ref_state *st)
{
    double g[NP];
    ref_grad(p, g);
    if (c->clip_norm > 0) {
        double norm = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        double s = c->clip_norm / fmax(norm, c->clip_norm);
        for (int j = 0; j < NP; j++) g[j] *= s;
    }
    st->t++;
    for (int j = 0; j < NP; j++) {
        double wd = IS_W[j] ? c->weight_decay : 0.0;
        if (!c->decoupled) g[j] += wd * p[j];
        switch (c->kind) {
        case NN_OPTIM_SGD: p[j] -= c->lr * g[j]; break;
        case NN_OPTIM_MOMENTUM:
            st->vel[j] = c->momentum * st->vel[j] + g[j];
            p[j] -= c->lr * st->vel[j];
            break;
        case NN_OPTIM_NESTEROV:
            st->vel[j] = c->momentum * st->vel[j] + g[j];
            p[j] -= c->lr * (g[j] + c->momentum * st->vel[j]);
            break;
        case NN_OPTIM_ADAM: {
            if (c->decoupled) p[j] = p[j] * (1 - c->lr * wd); /* PyTorch AdamW */
            st->m[j] = c->beta1 * st->m[j] + (1 - c->beta1) * g[j];
            st->v[j] = c->beta2 * st->v[j] + (1 - c->beta2) * g[j] * g[j];
            double mhat = st->m[j] / (1 - pow(c->beta1, st->t));
            double vhat = st->v[j] / (1 - pow(c->beta2, st->t));
            p[j] -= c->lr * mhat / (sqrt(vhat) + c->eps);
            break;
        }
        }
    }
}

/* Run `steps` library steps and reference steps side by side. */
static void run_against_ref(const ocfg *c, int steps,
                            const char *what)
{
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, c, NULL);
    double p[NP];
    memcpy(p, P0, sizeof p);
    ref_state st;
    memset(&st, 0, sizeof st);
    for (int k = 1; k <= steps; k++) {
        gradient(net);
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
        ref_step(c, p, &st);
        expect_params(net, p, what, k);
    }
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* ------------------------------------------------------------ tests */
START_TEST(test_gradient_is_closed_form)
{
    nn_net_t *net = make_net(P0, NULL);
    gradient(net);
    double g[NP], want[NP];
    get_g(net, g);
    ref_grad(P0, want);
    for (int j = 0; j < NP; j++)
        ck_assert_msg(tu_relerr(g[j], want[j], FLOOR) < TOL, "g[%d]", j);
    nn_net_destroy(net);
}
END_TEST

/* Defaults of every key, per kind (nn.h): lr 0.01 (Adam 0.001), momentum
 * 0.9, beta1 0.9, beta2 0.999, eps 1e-8, no decay, coupled, no clipping, no
 * steps. */
START_TEST(test_defaults)
{
    nn_net_t *net = make_net(P0, NULL);
    static const nn_optim_kind K[4] = {NN_OPTIM_SGD, NN_OPTIM_MOMENTUM,
                                       NN_OPTIM_NESTEROV, NN_OPTIM_ADAM};
    for (int k = 0; k < 4; k++) {
        nn_optim_t *opt = NULL;
        NN_OK_OR_FAIL(nn_optim_create(&opt, net, K[k], NULL));
        ck_assert_int_eq(get_int(opt, NN_OPTIM_KIND), K[k]);
        ck_assert(get_real(opt, NN_OPTIM_LR) ==
                  (K[k] == NN_OPTIM_ADAM ? 0.001 : 0.01));
        ck_assert(get_real(opt, NN_OPTIM_MOMENTUM_COEF) == 0.9);
        ck_assert(get_real(opt, NN_OPTIM_BETA1) == 0.9);
        ck_assert(get_real(opt, NN_OPTIM_BETA2) == 0.999);
        ck_assert(get_real(opt, NN_OPTIM_EPS) == 1e-8);
        ck_assert(get_real(opt, NN_OPTIM_WEIGHT_DECAY) == 0.0);
        ck_assert(get_real(opt, NN_OPTIM_CLIP_NORM) == 0.0);
        ck_assert_int_eq(get_int(opt, NN_OPTIM_DECOUPLED), 0);
        ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), 0);
        nn_optim_destroy(opt);
    }
    nn_net_destroy(net);
}
END_TEST

/* SGD, one step, numbers written out: w1 = w0 - lr*g(w0). */
START_TEST(test_sgd_one_step)
{
    const double lr = 0.05;
    ocfg c = cfg_of(NN_OPTIM_SGD, lr);
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    ck_assert_uint_eq(nn_optim_state_len(opt), 0);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    double g[NP], want[NP];
    ref_grad(P0, g);
    for (int j = 0; j < NP; j++) want[j] = P0[j] - lr * g[j];
    expect_params(net, want, "sgd", 1);
    ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), 1);
    /* the gradient was used up: a second step needs a new one */
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
    ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), 1);
    expect_params(net, want, "sgd (refused step)", 1);

    /* bitwise the loop w[i] -= lr*g[i] over the flat arrays */
    nn_net_t *net2 = make_net(P0, NULL);
    gradient(net2);
    double flat[NP];
    const double *gr = nn_net_grads(net2), *pr = nn_net_params(net2);
    for (int j = 0; j < NP; j++) flat[j] = pr[j] - lr * gr[j];
    NN_OK_OR_FAIL(nn_optim_step(opt, net2));
    ck_assert(memcmp(flat, nn_net_params(net2), sizeof flat) == 0);

    /* the one-call step (fused for plain SGD) gives the same update up to
     * rounding, counts one step and leaves no gradient current */
    nn_net_t *net3 = make_net(P0, NULL);
    nn_optim_t *opt3 = make_opt(net3, &c, NULL);
    NN_OK_OR_FAIL(nn_net_train_step(net3, opt3, M, NN_ROW_MAJOR, &X[0][0], 2,
                                    Y, 1, NULL));
    expect_params(net3, want, "fused sgd", 1);
    ck_assert_int_eq(get_int(opt3, NN_OPTIM_STEPS), 1);
    ck_assert_int_eq(nn_net_has_grads(net3), 0);
    nn_optim_destroy(opt3);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_net_destroy(net2);
    nn_net_destroy(net3);
}
END_TEST

/* Momentum, two steps by hand: v1 = g0, w1 = w0 - lr v1;
 * v2 = mu v1 + g1, w2 = w1 - lr v2. */
START_TEST(test_momentum_two_steps)
{
    const double lr = 0.05, mu = 0.8;
    ocfg c = cfg_of(NN_OPTIM_MOMENTUM, lr);
    c.momentum = mu;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    ck_assert_uint_eq(nn_optim_state_len(opt), NP);
    double g0[NP], g1[NP], v[NP], w1[NP], w2[NP];
    ref_grad(P0, g0);
    for (int j = 0; j < NP; j++) { v[j] = g0[j]; w1[j] = P0[j] - lr * v[j]; }
    ref_grad(w1, g1);
    for (int j = 0; j < NP; j++) {
        v[j] = mu * v[j] + g1[j];
        w2[j] = w1[j] - lr * v[j];
    }
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w1, "momentum", 1);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w2, "momentum", 2);
    double s[NP];
    uint64_t t;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, s, NP));
    ck_assert_uint_eq(t, 2);
    for (int j = 0; j < NP; j++)
        ck_assert(tu_relerr(s[j], v[j], FLOOR) < TOL);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* Nesterov, two steps by hand: v1 = g0, w1 = w0 - lr (g0 + mu v1);
 * v2 = mu v1 + g1, w2 = w1 - lr (g1 + mu v2). */
START_TEST(test_nesterov_two_steps)
{
    const double lr = 0.05, mu = 0.8;
    ocfg c = cfg_of(NN_OPTIM_NESTEROV, lr);
    c.momentum = mu;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    double g0[NP], g1[NP], v[NP], w1[NP], w2[NP];
    ref_grad(P0, g0);
    for (int j = 0; j < NP; j++) {
        v[j] = g0[j];
        w1[j] = P0[j] - lr * (g0[j] + mu * v[j]);
    }
    ref_grad(w1, g1);
    for (int j = 0; j < NP; j++) {
        v[j] = mu * v[j] + g1[j];
        w2[j] = w1[j] - lr * (g1[j] + mu * v[j]);
    }
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w1, "nesterov", 1);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w2, "nesterov", 2);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* Adam, two steps by hand. Step 1: m1 = (1-b1) g0, v1 = (1-b2) g0^2, so
 * mhat = g0, vhat = g0^2 and w1 = w0 - lr g0/(|g0| + eps) (~ lr sign(g0)).
 * Step 2: m2 = b1 m1 + (1-b1) g1, v2 = b2 v1 + (1-b2) g1^2,
 * w2 = w1 - lr (m2/(1-b1^2)) / (sqrt(v2/(1-b2^2)) + eps). */
START_TEST(test_adam_two_steps)
{
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    ocfg c = cfg_of(NN_OPTIM_ADAM, lr);
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    ck_assert_uint_eq(nn_optim_state_len(opt), 2 * NP);
    double g0[NP], g1[NP], m[NP], v[NP], w1[NP], w2[NP];
    ref_grad(P0, g0);
    for (int j = 0; j < NP; j++) {
        ck_assert(fabs(g0[j]) > 1e-3); /* sign step is meaningful */
        w1[j] = P0[j] - lr * g0[j] / (fabs(g0[j]) + eps);
        ck_assert(fabs((P0[j] - w1[j]) - lr * (g0[j] > 0 ? 1 : -1)) < 1e-7);
        m[j] = (1 - b1) * g0[j];
        v[j] = (1 - b2) * g0[j] * g0[j];
    }
    ref_grad(w1, g1);
    for (int j = 0; j < NP; j++) {
        m[j] = b1 * m[j] + (1 - b1) * g1[j];
        v[j] = b2 * v[j] + (1 - b2) * g1[j] * g1[j];
        w2[j] = w1[j] - lr * (m[j] / (1 - b1 * b1)) /
                            (sqrt(v[j] / (1 - b2 * b2)) + eps);
    }
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w1, "adam", 1);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w2, "adam", 2);
    double s[2 * NP];
    uint64_t t;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, s, 2 * NP));
    ck_assert_uint_eq(t, 2);
    /* the borrowed view holds the same moments, in place */
    const double *view = nn_optim_state_view(opt);
    ck_assert_ptr_nonnull(view);
    for (int j = 0; j < NP; j++) {
        ck_assert(tu_relerr(s[j], m[j], FLOOR) < TOL);
        ck_assert(tu_relerr(s[NP + j], v[j], 1e-6) < TOL);
        ck_assert(view[j] == s[j] && view[NP + j] == s[NP + j]);
    }
    ck_assert_ptr_null(nn_optim_state_view(NULL));
    nn_optim_t *sgd = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&sgd, net, NN_OPTIM_SGD, NULL));
    ck_assert_ptr_null(nn_optim_state_view(sgd)); /* no state */
    nn_optim_destroy(sgd);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* AdamW: the weights are first shrunk by (1 - lr wd) (PyTorch), the bias is
 * not; the Adam part uses the undecayed gradient. Step 1 by hand. */
START_TEST(test_adamw_decoupled)
{
    const double lr = 0.01, wd = 0.5, eps = 1e-8;
    ocfg c = cfg_of(NN_OPTIM_ADAM, lr);
    c.weight_decay = wd;
    c.decoupled = true;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    double g0[NP], w1[NP];
    ref_grad(P0, g0);
    for (int j = 0; j < NP; j++) {
        double d = IS_W[j] ? wd : 0.0;
        w1[j] = P0[j] * (1 - lr * d) - lr * g0[j] / (fabs(g0[j]) + eps);
    }
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w1, "adamw", 1);
    /* bias: bitwise what plain Adam gives */
    ocfg c0 = cfg_of(NN_OPTIM_ADAM, lr);
    nn_net_t *net0 = make_net(P0, NULL);
    nn_optim_t *opt0 = NULL;
    opt0 = make_opt(net0, &c0, NULL);
    gradient(net0);
    NN_OK_OR_FAIL(nn_optim_step(opt0, net0));
    double a[NP], b[NP];
    get_p(net, a);
    get_p(net0, b);
    ck_assert(a[2] == b[2]);
    ck_assert(a[0] != b[0] && a[1] != b[1]);
    nn_optim_destroy(opt);
    nn_optim_destroy(opt0);
    nn_net_destroy(net);
    nn_net_destroy(net0);
    /* and three steps against the reference */
    run_against_ref(&c, 3, "adamw x3");
}
END_TEST

/* Coupled L2 decay, SGD by hand: w -= lr (g + wd w) for weights, b -= lr g. */
START_TEST(test_coupled_decay_weights_only)
{
    const double lr = 0.05, wd = 0.3;
    ocfg c = cfg_of(NN_OPTIM_SGD, lr);
    c.weight_decay = wd;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    double g0[NP], w1[NP];
    ref_grad(P0, g0);
    w1[0] = P0[0] - lr * (g0[0] + wd * P0[0]);
    w1[1] = P0[1] - lr * (g0[1] + wd * P0[1]);
    w1[2] = P0[2] - lr * g0[2];
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    expect_params(net, w1, "sgd+wd", 1);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    /* every kind, three steps, against the reference */
    static const nn_optim_kind K[4] = {NN_OPTIM_SGD, NN_OPTIM_MOMENTUM,
                                       NN_OPTIM_NESTEROV, NN_OPTIM_ADAM};
    for (int k = 0; k < 4; k++) {
        ocfg ck = cfg_of(K[k], 0.02);
        ck.weight_decay = wd;
        run_against_ref(&ck, 3, "coupled decay");
    }
}
END_TEST

/* Clipping: with clip < ||g||, the SGD step is lr * clip * g/||g||, so the
 * parameter move has norm lr*clip; the stored gradients are untouched. With
 * clip >= ||g|| nothing changes. */
START_TEST(test_clipping)
{
    const double lr = 0.1;
    double g0[NP];
    ref_grad(P0, g0);
    double norm = sqrt(g0[0] * g0[0] + g0[1] * g0[1] + g0[2] * g0[2]);
    ck_assert(norm > 1.0);
    const double clip = norm / 4;
    ocfg c = cfg_of(NN_OPTIM_SGD, lr);
    c.clip_norm = clip;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    gradient(net);
    double before[NP], after[NP], p[NP], w1[NP];
    get_g(net, before);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    /* no longer current, but the array itself was not written */
    memcpy(after, nn_net_grads(net), sizeof after);
    ck_assert(memcmp(before, after, sizeof before) == 0);
    for (int j = 0; j < NP; j++) w1[j] = P0[j] - lr * g0[j] * (clip / norm);
    expect_params(net, w1, "clip", 1);
    get_p(net, p);
    double d2 = 0;
    for (int j = 0; j < NP; j++) d2 += (p[j] - P0[j]) * (p[j] - P0[j]);
    ck_assert(tu_relerr(sqrt(d2), lr * clip, 1e-12) < 1e-12);
    nn_optim_destroy(opt);
    nn_net_destroy(net);

    /* clip above the norm: bitwise the unclipped step */
    c.clip_norm = norm * 2;
    ocfg c0 = cfg_of(NN_OPTIM_SGD, lr);
    nn_net_t *n1 = make_net(P0, NULL), *n2 = make_net(P0, NULL);
    nn_optim_t *o1 = NULL, *o2 = NULL;
    o1 = make_opt(n1, &c, NULL);
    o2 = make_opt(n2, &c0, NULL);
    gradient(n1);
    gradient(n2);
    NN_OK_OR_FAIL(nn_optim_step(o1, n1));
    NN_OK_OR_FAIL(nn_optim_step(o2, n2));
    double a[NP], b[NP];
    get_p(n1, a);
    get_p(n2, b);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    nn_optim_destroy(o1);
    nn_optim_destroy(o2);
    nn_net_destroy(n1);
    nn_net_destroy(n2);

    /* clipping before decay, for every kind, against the reference */
    static const nn_optim_kind K[4] = {NN_OPTIM_SGD, NN_OPTIM_MOMENTUM,
                                       NN_OPTIM_NESTEROV, NN_OPTIM_ADAM};
    for (int k = 0; k < 4; k++) {
        ocfg ck = cfg_of(K[k], 0.02);
        ck.clip_norm = 0.5;
        ck.weight_decay = 0.1;
        run_against_ref(&ck, 3, "clip+decay");
    }
}
END_TEST

/* Save after step 1; a new optimizer on a copy of the net, given that state,
 * takes a step bitwise equal to the original's step 2. */
START_TEST(test_state_round_trip)
{
    static const nn_optim_kind K[4] = {NN_OPTIM_SGD, NN_OPTIM_MOMENTUM,
                                       NN_OPTIM_NESTEROV, NN_OPTIM_ADAM};
    ocfg c = cfg_of(K[_i], 0.03);
    c.weight_decay = 0.05;
    c.clip_norm = 1.0;
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    size_t len = nn_optim_state_len(opt);
    double saved[2 * NP], p1[NP];
    uint64_t t = 99;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, len ? saved : NULL, len));
    ck_assert_uint_eq(t, 1);
    get_p(net, p1);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    double p2[NP];
    get_p(net, p2);

    nn_net_t *net2 = make_net(p1, NULL);
    nn_optim_t *opt2 = NULL;
    opt2 = make_opt(net2, &c, NULL);
    NN_OK_OR_FAIL(nn_optim_set_state(opt2, t, len ? saved : NULL, len));
    gradient(net2);
    NN_OK_OR_FAIL(nn_optim_step(opt2, net2));
    double q2[NP];
    get_p(net2, q2);
    ck_assert(memcmp(p2, q2, sizeof p2) == 0);
    double s1[2 * NP], s2[2 * NP];
    uint64_t t1, t2;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t1, s1, len));
    NN_OK_OR_FAIL(nn_optim_get_state(opt2, &t2, s2, len));
    ck_assert_uint_eq(t1, 2);
    ck_assert_uint_eq(t2, 2);
    ck_assert(memcmp(s1, s2, len * sizeof(double)) == 0);
    nn_optim_destroy(opt);
    nn_optim_destroy(opt2);
    nn_net_destroy(net);
    nn_net_destroy(net2);
}
END_TEST

/* One allocation at create; none in step (net and optimizer share a counting
 * allocator); everything freed with the sizes allocated. */
START_TEST(test_step_allocates_nothing)
{
    static const nn_optim_kind K[4] = {NN_OPTIM_SGD, NN_OPTIM_MOMENTUM,
                                       NN_OPTIM_NESTEROV, NN_OPTIM_ADAM};
    tu_counter cnt = {0};
    nn_allocator al = tu_allocator(&cnt);
    nn_net_t *net = make_net(P0, &al);
    NN_OK_OR_FAIL(nn_net_reserve(net, M));
    gradient(net);
    for (int k = 0; k < 4; k++) {
        ocfg c = cfg_of(K[k], 0.01);
        c.clip_norm = 0.5;
        c.weight_decay = 0.1;
        c.decoupled = K[k] == NN_OPTIM_ADAM;
        long a0 = cnt.attempts;
        nn_optim_t *opt = NULL;
        opt = make_opt(net, &c, &al);
        ck_assert_int_eq(cnt.attempts, a0 + 1);
        for (int it = 0; it < 5; it++) {
            gradient(net);
            tu_counter was = cnt;
            NN_OK_OR_FAIL(nn_optim_step(opt, net));
            ck_assert_int_eq(cnt.attempts, was.attempts);
            ck_assert_int_eq(cnt.frees, was.frees);
            ck_assert_uint_eq(cnt.live, was.live);
        }
        long f0 = cnt.frees;
        nn_optim_destroy(opt);
        ck_assert_int_eq(cnt.frees, f0 + 1);
    }
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&cnt);
}
END_TEST

START_TEST(test_errors_create)
{
    nn_net_t *net = make_net(P0, NULL);
    int dummy;
    nn_optim_t *sentinel = (nn_optim_t *)&dummy, *opt = sentinel;

    ck_assert_int_eq(nn_optim_create(NULL, net, NN_OPTIM_SGD, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_create(&opt, NULL, NN_OPTIM_SGD, NULL),
                     NN_ERR_INVALID);
    static const nn_optim_kind bad_kinds[] = {4, 7, -1, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_kinds / sizeof *bad_kinds; i++)
        ck_assert_int_eq(nn_optim_create(&opt, net, bad_kinds[i], NULL),
                         NN_ERR_INVALID);
    tu_counter hc = {0};
    nn_allocator half = tu_allocator(&hc);
    half.free = NULL;
    ck_assert_int_eq(nn_optim_create(&opt, net, NN_OPTIM_ADAM, &half),
                     NN_ERR_INVALID);
    half = tu_allocator(&hc);
    half.alloc = NULL;
    ck_assert_int_eq(nn_optim_create(&opt, net, NN_OPTIM_ADAM, &half),
                     NN_ERR_INVALID);
    ck_assert_int_eq(hc.attempts, 0);
    ck_assert(opt == sentinel); /* *out untouched on every failure */

    /* allocation failure */
    tu_counter cnt = {.fail_at = 1, .fail_rest = true}; /* refuses all */
    nn_allocator al = tu_allocator(&cnt);
    ck_assert_int_eq(nn_optim_create(&opt, net, NN_OPTIM_ADAM, &al),
                     NN_ERR_NOMEM);
    ck_assert(opt == sentinel);
    ck_assert_int_ge(cnt.refused, 1);
    TU_ASSERT_BALANCED(&cnt);

    /* edge values accepted */
    ocfg cfg = cfg_of(NN_OPTIM_ADAM, 0.01);
    cfg.beta1 = 0;
    cfg.beta2 = 0;
    cfg.momentum = 0;
    cfg.weight_decay = 0;
    cfg.clip_norm = 0;
    opt = make_opt(net, &cfg, NULL);
    nn_optim_destroy(opt);
    nn_optim_destroy(NULL); /* no-op */
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ keys */
/* The real keys and their inclusive bounds, from nn.h: lr > 0 finite,
 * momentum / betas in [0, 1), eps > 0 finite, decay and clip >= 0 finite. */
typedef struct rkey {
    int32_t key;
    double lo, hi;
} rkey;
#define NRK 7
static rkey real_keys(int i)
{
    const double below1 = nextafter(1.0, 0.0);
    const rkey k[NRK] = {{NN_OPTIM_LR, DBL_TRUE_MIN, DBL_MAX},
                         {NN_OPTIM_MOMENTUM_COEF, 0.0, below1},
                         {NN_OPTIM_BETA1, 0.0, below1},
                         {NN_OPTIM_BETA2, 0.0, below1},
                         {NN_OPTIM_EPS, DBL_TRUE_MIN, DBL_MAX},
                         {NN_OPTIM_WEIGHT_DECAY, 0.0, DBL_MAX},
                         {NN_OPTIM_CLIP_NORM, 0.0, DBL_MAX}};
    return k[i];
}

/* Every setting, to check that a refused call changed none of them. */
typedef struct snap {
    double r[NRK];
    int64_t kind, decoupled, steps;
} snap;
static snap snapshot(const nn_optim_t *opt)
{
    snap s;
    for (int i = 0; i < NRK; i++) s.r[i] = get_real(opt, real_keys(i).key);
    s.kind = get_int(opt, NN_OPTIM_KIND);
    s.decoupled = get_int(opt, NN_OPTIM_DECOUPLED);
    s.steps = get_int(opt, NN_OPTIM_STEPS);
    return s;
}
#define SAME(a, b) ck_assert(memcmp(&(a), &(b), sizeof(snap)) == 0)

#define REFUSED(opt, call)                                                    \
    do {                                                                      \
        snap before_ = snapshot(opt);                                         \
        ck_assert_msg((call) == NN_ERR_INVALID, "%s accepted", #call);        \
        snap after_ = snapshot(opt);                                          \
        SAME(before_, after_);                                                \
    } while (0)

/* Each real key: both bounds accepted and read back, the next double outside
 * each bound refused, and NaN / +-Inf refused, on every kind (keys of
 * another kind are kept). */
START_TEST(test_real_key_bounds)
{
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, (nn_optim_kind)_i, NULL));
    for (int i = 0; i < NRK; i++) {
        rkey k = real_keys(i);
        NN_OK_OR_FAIL(nn_optim_set_real(opt, k.key, k.lo));
        ck_assert(get_real(opt, k.key) == k.lo);
        NN_OK_OR_FAIL(nn_optim_set_real(opt, k.key, k.hi));
        ck_assert(get_real(opt, k.key) == k.hi);
        NN_OK_OR_FAIL(nn_optim_set_real(opt, k.key, 0.5));
        ck_assert(get_real(opt, k.key) == 0.5);
        const double bad[] = {nextafter(k.lo, -INFINITY),
                              nextafter(k.hi, INFINITY), NAN, -NAN, INFINITY,
                              -INFINITY, -1.0};
        for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
            REFUSED(opt, nn_optim_set_real(opt, k.key, bad[j]));
            ck_assert(get_real(opt, k.key) == 0.5);
        }
        if (k.hi < 1.0) REFUSED(opt, nn_optim_set_real(opt, k.key, 1.0));
        if (k.lo > 0.0) REFUSED(opt, nn_optim_set_real(opt, k.key, 0.0));
        /* the wrong type, both ways */
        int64_t iv = 77;
        REFUSED(opt, nn_optim_set_int(opt, k.key, 0));
        REFUSED(opt, nn_optim_set_int(opt, k.key, 1));
        ck_assert_int_eq(nn_optim_get_int(opt, k.key, &iv), NN_ERR_INVALID);
        ck_assert_int_eq(iv, 77);
        ck_assert_int_eq(nn_optim_get_real(opt, k.key, NULL), NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_set_real(NULL, k.key, 0.5), NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_get_real(NULL, k.key, &(double){0}),
                         NN_ERR_INVALID);
    }
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

START_TEST(test_int_keys)
{
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_MOMENTUM, NULL));
    /* DECOUPLED: 0 / 1, kept on any kind */
    NN_OK_OR_FAIL(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 1));
    ck_assert_int_eq(get_int(opt, NN_OPTIM_DECOUPLED), 1);
    const int64_t bad[] = {-1, 2, INT64_MAX, INT64_MIN};
    for (size_t j = 0; j < 4; j++)
        REFUSED(opt, nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, bad[j]));
    REFUSED(opt, nn_optim_set_real(opt, NN_OPTIM_DECOUPLED, 0.0));
    NN_OK_OR_FAIL(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 0));
    ck_assert_int_eq(get_int(opt, NN_OPTIM_DECOUPLED), 0);
    /* KIND and STEPS are read-only, and ints */
    const int32_t ro[2] = {NN_OPTIM_KIND, NN_OPTIM_STEPS};
    for (int i = 0; i < 2; i++) {
        REFUSED(opt, nn_optim_set_int(opt, ro[i], 0));
        REFUSED(opt, nn_optim_set_int(opt, ro[i], 1));
        REFUSED(opt, nn_optim_set_real(opt, ro[i], 0.0));
        double rv = 77;
        ck_assert_int_eq(nn_optim_get_real(opt, ro[i], &rv), NN_ERR_INVALID);
        ck_assert(rv == 77);
    }
    ck_assert_int_eq(get_int(opt, NN_OPTIM_KIND), NN_OPTIM_MOMENTUM);
    ck_assert_int_eq(nn_optim_get_int(opt, NN_OPTIM_KIND, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_get_int(NULL, NN_OPTIM_KIND, &(int64_t){0}),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_set_int(NULL, NN_OPTIM_DECOUPLED, 0),
                     NN_ERR_INVALID);
    /* unknown keys: other objects' keys, gaps, the experimental range */
    const int32_t unknown[] = {0,   -1,  299, 310, NN_NET_LOSS, NN_TRAIN_EPOCHS,
                               NN_LAYER_UNITS, NN_METRIC_LOSS,
                               NN_KEY_EXPERIMENTAL, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        int64_t iv = 5;
        double rv = 5;
        REFUSED(opt, nn_optim_set_int(opt, unknown[i], 0));
        REFUSED(opt, nn_optim_set_real(opt, unknown[i], 0.5));
        ck_assert_int_eq(nn_optim_get_int(opt, unknown[i], &iv),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_get_real(opt, unknown[i], &rv),
                         NN_ERR_INVALID);
        ck_assert(iv == 5 && rv == 5);
    }
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* nn_param_info reports the bounds the setters enforce. */
START_TEST(test_param_info_agrees)
{
    for (int i = 0; i < NRK; i++) {
        rkey k = real_keys(i);
        int32_t type = 0, w = -1;
        double lo = NAN, hi = NAN;
        NN_OK_OR_FAIL(nn_param_info(k.key, &type, &lo, &hi, &w));
        ck_assert_int_eq(type, NN_PARAM_REAL);
        ck_assert_msg(lo == k.lo && hi == k.hi, "key %d: [%.17g, %.17g]",
                      (int)k.key, lo, hi);
        ck_assert_int_eq(w, 1);
    }
    int32_t type = 0, w = -1;
    double lo = NAN, hi = NAN;
    NN_OK_OR_FAIL(nn_param_info(NN_OPTIM_DECOUPLED, &type, &lo, &hi, &w));
    ck_assert(type == NN_PARAM_INT && lo == 0 && hi == 1 && w == 1);
    NN_OK_OR_FAIL(nn_param_info(NN_OPTIM_KIND, &type, NULL, NULL, &w));
    ck_assert(type == NN_PARAM_INT && w == 0);
    NN_OK_OR_FAIL(nn_param_info(NN_OPTIM_STEPS, &type, NULL, NULL, &w));
    ck_assert(type == NN_PARAM_INT && w == 0);
}
END_TEST

/* NN_OPTIM_DECOUPLED changes Adam only: SGD with decay and DECOUPLED 1 takes
 * the coupled step w -= lr (g + wd w), bitwise as with DECOUPLED 0. */
START_TEST(test_decoupled_is_adam_only)
{
    const double lr = 0.05, wd = 0.3;
    ocfg c = cfg_of(NN_OPTIM_MOMENTUM, lr);
    c.weight_decay = wd;
    nn_net_t *n0 = make_net(P0, NULL), *n1 = make_net(P0, NULL);
    nn_optim_t *o0 = make_opt(n0, &c, NULL);
    c.decoupled = true;
    nn_optim_t *o1 = make_opt(n1, &c, NULL);
    for (int k = 0; k < 3; k++) {
        gradient(n0);
        gradient(n1);
        NN_OK_OR_FAIL(nn_optim_step(o0, n0));
        NN_OK_OR_FAIL(nn_optim_step(o1, n1));
    }
    ck_assert(memcmp(nn_net_params(n0), nn_net_params(n1),
                     NP * sizeof(double)) == 0);
    c.decoupled = false;
    run_against_ref(&c, 3, "momentum+wd");
    nn_optim_destroy(o0);
    nn_optim_destroy(o1);
    nn_net_destroy(n0);
    nn_net_destroy(n1);
}
END_TEST

/* The step count saturates at UINT64_MAX (and reads as INT64_MAX through the
 * signed key); Adam's bias corrections are then 1 - beta^t = 1. */
START_TEST(test_steps_saturate)
{
    nn_net_t *net = make_net(P0, NULL);
    ocfg c = cfg_of(NN_OPTIM_ADAM, 0.01);
    nn_optim_t *opt = make_opt(net, &c, NULL);
    double zero[2 * NP] = {0};
    NN_OK_OR_FAIL(nn_optim_set_state(opt, UINT64_MAX - 1, zero, 2 * NP));
    ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), INT64_MAX);
    uint64_t t;
    for (int k = 0; k < 2; k++) {
        gradient(net);
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
        NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, zero, 2 * NP));
        ck_assert(t == UINT64_MAX);
    }
    ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), INT64_MAX);
    nn_optim_destroy(opt);
    /* the fused SGD path counts its steps the same way */
    c = cfg_of(NN_OPTIM_SGD, 0.01);
    opt = make_opt(net, &c, NULL);
    NN_OK_OR_FAIL(nn_optim_set_state(opt, UINT64_MAX - 1, NULL, 0));
    for (int k = 0; k < 2; k++) {
        NN_OK_OR_FAIL(nn_net_train_step(net, opt, M, NN_ROW_MAJOR, &X[0][0],
                                        2, Y, 1, NULL));
        NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, NULL, 0));
        ck_assert(t == UINT64_MAX);
    }
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

START_TEST(test_errors_step)
{
    ocfg c = cfg_of(NN_OPTIM_ADAM, 0.01);
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);

    ck_assert_int_eq(nn_optim_step(NULL, net), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_step(opt, NULL), NN_ERR_INVALID);
    /* no gradient yet */
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
    /* a net of another size */
    const size_t two[1] = {2};
    const nn_activation id[1] = {NN_ACT_IDENTITY};
    nn_net_t *other = tu_net(2, 1, two, id, NN_LOSS_MSE, NULL);
    double Y2[M][2] = {{0}};
    NN_OK_OR_FAIL(nn_net_gradient(other, M, NN_ROW_MAJOR, &X[0][0], 2,
                                  &Y2[0][0], 2, NULL));
    ck_assert_int_eq(nn_optim_step(opt, other), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_has_grads(other), 1); /* nothing changed */
    ck_assert_int_eq(get_int(opt, NN_OPTIM_STEPS), 0);

    /* one good step, then a NaN gradient with check-finite on */
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    double Xn[M][2];
    memcpy(Xn, X, sizeof Xn);
    Xn[1][0] = NAN;
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, &Xn[0][0], 2, Y, 1,
                                  NULL));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    double p_before[NP], p_after[NP], s_before[2 * NP], s_after[2 * NP];
    uint64_t t_before, t_after;
    get_p(net, p_before);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t_before, s_before, 2 * NP));
    ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_NUMERIC);
    get_p(net, p_after);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t_after, s_after, 2 * NP));
    ck_assert(memcmp(p_before, p_after, sizeof p_before) == 0);
    ck_assert(memcmp(s_before, s_after, sizeof s_before) == 0);
    ck_assert_uint_eq(t_before, 1);
    ck_assert_uint_eq(t_after, 1);
    ck_assert_int_eq(nn_net_has_grads(net), 1); /* still current */
    /* failed steps left the state alone: the next good step is step 2 */
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t_after, s_after, 2 * NP));
    ck_assert_uint_eq(t_after, 2);

    nn_optim_destroy(opt);
    nn_net_destroy(other);
    nn_net_destroy(net);
}
END_TEST

START_TEST(test_errors_lr_and_state)
{
    ocfg c = cfg_of(NN_OPTIM_ADAM, 0.01);
    nn_net_t *net = make_net(P0, NULL);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);

    /* learning rate */
    ck_assert(get_real(opt, NN_OPTIM_LR) == 0.01);
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_LR, 0.5));
    ck_assert(get_real(opt, NN_OPTIM_LR) == 0.5);
    ck_assert_int_eq(nn_optim_set_real(NULL, NN_OPTIM_LR, 0.1),
                     NN_ERR_INVALID);
    const double bad_lr[] = {0.0, -0.1, NAN, INFINITY};
    for (int i = 0; i < 4; i++)
        REFUSED(opt, nn_optim_set_real(opt, NN_OPTIM_LR, bad_lr[i]));
    ck_assert(get_real(opt, NN_OPTIM_LR) == 0.5);

    /* state */
    ck_assert_uint_eq(nn_optim_state_len(NULL), 0);
    ck_assert_uint_eq(nn_optim_state_len(opt), 2 * NP);
    gradient(net);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    double s[2 * NP], s0[2 * NP], bad[2 * NP];
    uint64_t t = 0, t0;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t0, s0, 2 * NP));
    ck_assert_int_eq(nn_optim_get_state(NULL, &t, s, 2 * NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_get_state(opt, NULL, s, 2 * NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_get_state(opt, &t, NULL, 2 * NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_get_state(opt, &t, s, 2 * NP - 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_optim_get_state(opt, &t, s, 2 * NP + 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_optim_get_state(opt, &t, s, 0), NN_ERR_SHAPE);

    memcpy(bad, s0, sizeof bad);
    for (int j = 0; j < 2 * NP; j++) bad[j] += 1.0;
    ck_assert_int_eq(nn_optim_set_state(NULL, 5, bad, 2 * NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_set_state(opt, 5, NULL, 2 * NP), NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_set_state(opt, 5, bad, 2 * NP - 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_optim_set_state(opt, 5, bad, 0), NN_ERR_SHAPE);
    bad[1] = NAN;
    ck_assert_int_eq(nn_optim_set_state(opt, 5, bad, 2 * NP), NN_ERR_INVALID);
    bad[1] = 0.0;
    bad[NP + 1] = -1e-3; /* negative second moment */
    ck_assert_int_eq(nn_optim_set_state(opt, 5, bad, 2 * NP), NN_ERR_INVALID);
    bad[NP + 1] = INFINITY;
    ck_assert_int_eq(nn_optim_set_state(opt, 5, bad, 2 * NP), NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, s, 2 * NP));
    ck_assert_uint_eq(t, t0);
    ck_assert(memcmp(s, s0, sizeof s) == 0);
    /* a valid set takes effect */
    bad[NP + 1] = 0.25;
    NN_OK_OR_FAIL(nn_optim_set_state(opt, 5, bad, 2 * NP));
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, s, 2 * NP));
    ck_assert_uint_eq(t, 5);
    ck_assert(memcmp(s, bad, sizeof s) == 0);
    nn_optim_destroy(opt);

    /* SGD: no state; NULL with len 0 is fine, anything else is a shape error */
    ocfg cs = cfg_of(NN_OPTIM_SGD, 0.01);
    opt = make_opt(net, &cs, NULL);
    ck_assert_uint_eq(nn_optim_state_len(opt), 0);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, NULL, 0));
    ck_assert_uint_eq(t, 0);
    NN_OK_OR_FAIL(nn_optim_set_state(opt, 3, NULL, 0));
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t, NULL, 0));
    ck_assert_uint_eq(t, 3);
    ck_assert_int_eq(nn_optim_get_state(opt, &t, s, 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_optim_set_state(opt, 3, s0, 1), NN_ERR_SHAPE);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ end to end */
static const double XX[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const double XY[4] = {0, 1, 1, 0};

/* Steps of kind k at rate lr until the XOR loss is < target (max_steps + 1
 * if never), from the notes' 2-4-1 tanh/sigmoid/BCE net, seed 7. */
static int xor_steps(nn_optim_kind k, double lr, double target, int max_steps)
{
    const size_t units[2] = {4, 1};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    nn_net_t *net = tu_net(2, 2, units, acts, NN_LOSS_BCE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 7));
    ocfg c = cfg_of(k, lr);
    nn_optim_t *opt = NULL;
    opt = make_opt(net, &c, NULL);
    int it;
    for (it = 0; it < max_steps; it++) {
        double loss;
        NN_OK_OR_FAIL(nn_net_gradient(net, 4, NN_ROW_MAJOR, &XX[0][0], 2, XY,
                                      1, &loss));
        if (loss < target) break;
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
    }
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return it < max_steps ? it : max_steps + 1;
}

START_TEST(test_xor_adam_beats_sgd)
{
    const double lr = 0.05, target = 0.05;
    const int max_steps = 5000;
    int adam = xor_steps(NN_OPTIM_ADAM, lr, target, max_steps);
    int sgd = xor_steps(NN_OPTIM_SGD, lr, target, max_steps);
    ck_assert_msg(adam <= max_steps, "adam never reached loss %g", target);
    ck_assert_msg(adam < sgd, "adam %d steps, sgd %d steps", adam, sgd);
}
END_TEST

/* An optimizer belongs to the network shape it was made for, not just to
 * its parameter count: 1->2 and 3->1 both have 4 parameters. */
START_TEST(test_shape_not_just_count)
{
    const size_t two[1] = {2}, one[1] = {1};
    const nn_activation id[1] = {NN_ACT_IDENTITY};
    nn_net_t *a = tu_net(1, 1, two, id, NN_LOSS_MSE, NULL);
    nn_net_t *b = tu_net(3, 1, one, id, NN_LOSS_MSE, NULL);
    ck_assert_uint_eq(nn_net_n_params(a), nn_net_n_params(b));
    nn_optim_t *oa = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&oa, a, NN_OPTIM_ADAM, NULL));
    const double xb[3] = {1, 2, 3}, yb[1] = {1};
    NN_OK_OR_FAIL(nn_net_gradient(b, 1, NN_ROW_MAJOR, xb, 3, yb, 1, NULL));
    double before[4], after[4];
    memcpy(before, nn_net_params(b), sizeof before);
    ck_assert_int_eq(nn_optim_step(oa, b), NN_ERR_SHAPE);
    memcpy(after, nn_net_params(b), sizeof after);
    ck_assert_mem_eq(before, after, sizeof before);
    size_t size = 0;
    ck_assert_int_eq(nn_model_save_mem(b, oa, NULL, 0, &size), NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_model_save_mem(a, oa, NULL, 0, &size));
    nn_optim_destroy(oa);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* Adam's update on a wider layer (the vectorised paths, whatever the CPU
 * offers: SSE2, AVX2 or AVX-512) gives exactly the bits of the scalar
 * formula as lib/optim.c writes it, w -= a1 m / (sqrt(v) a2 + eps) with
 * a1 = lr/(1-b1^t), a2 = 1/sqrt(1-b2^t): the paths do the same rounded
 * operations. Coupled decay, AdamW and none, three steps, gradients set
 * through the seam. */
START_TEST(test_adam_bitwise_any_isa)
{
    enum { NI = 21, NO = 13, NW = NI * NO, NPW = NW + NO };
    const size_t units[1] = {NO};
    const nn_activation acts[1] = {NN_ACT_IDENTITY};
    for (int mode = 0; mode < 3; mode++) {
        nn_net_t *net = tu_net(NI, 1, units, acts, NN_LOSS_MSE, NULL);
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 9));
        nn_optim_t *o = NULL;
        NN_OK_OR_FAIL(nn_optim_create(&o, net, NN_OPTIM_ADAM, NULL));
        const double lr = 3e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_WEIGHT_DECAY,
                                        mode ? wd : 0.0));
        NN_OK_OR_FAIL(nn_optim_set_int(o, NN_OPTIM_DECOUPLED, mode == 2));
        double w[NPW], m[NPW] = {0}, v[NPW] = {0}, g[NPW];
        memcpy(w, nn_net_params(net), sizeof w);
        tu_rng r = {31};
        for (int t = 1; t <= 3; t++) {
            tu_fill(&r, g, NPW, -2.0, 2.0);
            NN_OK_OR_FAIL(nn_net_set_grads(net, g, NPW));
            NN_OK_OR_FAIL(nn_optim_step(o, net));
            double a1 = lr / (1.0 - pow(b1, t)), a2 = 1.0 / sqrt(1.0 - pow(b2, t));
            for (int i = 0; i < NPW; i++) {
                double d = mode && i < NW ? wd : 0.0, gi = g[i];
                if (mode == 2) w[i] *= 1.0 - lr * d;
                else gi += d * w[i];
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                w[i] -= a1 * m[i] / (sqrt(v[i]) * a2 + eps);
            }
            ck_assert_msg(memcmp(w, nn_net_params(net), sizeof w) == 0,
                          "mode %d step %d: parameters not bitwise", mode, t);
            const double *st = nn_optim_state_view(o);
            ck_assert(memcmp(m, st, sizeof m) == 0);
            ck_assert(memcmp(v, st + NPW, sizeof v) == 0);
        }
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tu = tcase_create("updates");
    tcase_add_test(tu, test_gradient_is_closed_form);
    tcase_add_test(tu, test_defaults);
    tcase_add_test(tu, test_sgd_one_step);
    tcase_add_test(tu, test_momentum_two_steps);
    tcase_add_test(tu, test_nesterov_two_steps);
    tcase_add_test(tu, test_adam_two_steps);
    tcase_add_test(tu, test_adamw_decoupled);
    tcase_add_test(tu, test_adam_bitwise_any_isa);
    tcase_add_test(tu, test_coupled_decay_weights_only);
    tcase_add_test(tu, test_clipping);
    tcase_add_loop_test(tu, test_state_round_trip, 0, 4);
    tcase_add_test(tu, test_step_allocates_nothing);
    suite_add_tcase(s, tu);
    TCase *te = tcase_create("errors");
    tcase_add_test(te, test_errors_create);
    tcase_add_test(te, test_errors_step);
    tcase_add_test(te, test_errors_lr_and_state);
    tcase_add_test(te, test_shape_not_just_count);
    suite_add_tcase(s, te);
    TCase *tk = tcase_create("keys");
    tcase_add_loop_test(tk, test_real_key_bounds, 0, 4);
    tcase_add_test(tk, test_int_keys);
    tcase_add_test(tk, test_param_info_agrees);
    tcase_add_test(tk, test_decoupled_is_adam_only);
    tcase_add_test(tk, test_steps_saturate);
    suite_add_tcase(s, tk);
    TCase *tl = tcase_create("learning");
    tcase_add_test(tl, test_xor_adam_beats_sgd);
    suite_add_tcase(s, tl);
    return s;
}

int main(void)
{
    return tu_run(optim_suite());
}
