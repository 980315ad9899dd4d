/* test_gradcheck.c — analytic gradients against central finite differences.
 *
 * Networks: for every valid (output activation, loss) pair and every kind of
 * target (dense, class labels, fractional / soft rows), a network of >= 4
 * layers with odd shapes (n_in = 1, m = 1, width-1 layers, non-square W) whose
 * hidden layers cycle through all activations (softmax and leaky relu
 * included) is checked in both orders with padded leading dimensions whose
 * padding holds NaN (so it must never be read). The derivative of the loss
 * nn_net_loss w.r.t. each parameter is estimated with the 4-point central
 * stencil  f' ~ [8(f(w+h) - f(w-h)) - (f(w+2h) - f(w-2h))] / 12h,
 * h = 1e-3 max(1, |w|)  (truncation O(h^4) ~ 1e-13, rounding ~ eps f / h),
 * parameters being set through the flat view nn_net_params. Every case runs
 * under both reductions: NN_REDUCE_MEAN and NN_REDUCE_SUM (no 1/m; its
 * gradients are also checked to be m times the mean ones).
 * The loss itself is first checked against a plain-loop reference forward
 * pass written in this file, which also verifies that no relu / leaky relu
 * pre-activation changes sign between the stencil points (no kink crossed).
 *
 * Above the small-product threshold (2048 multiply-adds, lib/gemm.c): a
 * 40-30-20 network at batch 16, whose products all go through BLAS, on a
 * sample of its parameters (the small cases reach BLAS only in a
 * -Dsmall_gemm=false build, which CI also runs).
 *
 * Dense layer: L = sum(R o A) for a fixed random R, so dL/dA = R; dW, db and
 * dX from nn_dense_backward are checked against finite differences of L. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define MAXL 5  /* layers */
#define MAXW 8  /* width (and n_in) */
#define MAXM 6  /* batch rows */
#define SLOPE 0.1

#define FD_REL 1e-3   /* h = FD_REL * max(1, |w|) */
#define FD_TOL 1e-6   /* max relative error allowed */
#define FD_FLOOR 1e-6 /* absolute floor of the relative error */
#define MARGIN 0.02   /* min |z| wanted at relu / leaky relu units */

static const char *act_name(nn_activation a)
{
    static const char *names[] = {"identity", "sigmoid", "tanh",
                                  "relu",     "leaky",   "softmax"};
    return (unsigned)a < 6 ? names[a] : "?";
}

static bool kinked(nn_activation a)
{
    return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU;
}

/* Reference activation of one row z[0..n-1] into a[0..n-1]. */
static void ref_act(nn_activation act, const long double *z, long double *a,
                    size_t n)
{
    if (act == NN_ACT_SOFTMAX) {
        long double mx = z[0], s = 0;
        for (size_t j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
        for (size_t j = 0; j < n; j++) s += expl(z[j] - mx);
        for (size_t j = 0; j < n; j++) a[j] = expl(z[j] - mx) / s;
        return;
    }
    for (size_t j = 0; j < n; j++) {
        long double v = z[j];
        switch (act) {
        case NN_ACT_IDENTITY: a[j] = v; break;
        case NN_ACT_SIGMOID: a[j] = 1.0L / (1.0L + expl(-v)); break;
        case NN_ACT_TANH: a[j] = tanhl(v); break;
        case NN_ACT_RELU: a[j] = v > 0 ? v : 0; break;
        case NN_ACT_LEAKY_RELU: a[j] = v > 0 ? v : SLOPE * v; break;
        default: a[j] = NAN; break;
        }
    }
}

/* ================================================================ networks */
typedef enum {
    T_REAL,        /* MSE: real targets in [-1, 1]                      */
    T_01,          /* dense 0/1                                          */
    T_FRAC,        /* dense fractional in [0, 1]                         */
    T_ONEHOT,      /* dense one-hot rows                                 */
    T_LABELS,      /* class indices (0/1 for a single output)           */
    T_SOFT,        /* soft-label rows: non-negative, each sums to 1      */
    T_SOFT_UNNORM  /* non-negative rows not summing to 1 (documented)    */
} target_kind;

typedef struct {
    const char *name;
    size_t n_in, m, nl;
    size_t w[MAXL];
    nn_activation act[MAXL];
    nn_loss loss;
    target_kind tk;
} gc_case;

#define I NN_ACT_IDENTITY
#define S NN_ACT_SIGMOID
#define T NN_ACT_TANH
#define R NN_ACT_RELU
#define LK NN_ACT_LEAKY_RELU
#define SM NN_ACT_SOFTMAX
static const gc_case CASES[] = {
    {"mse/identity", 3, 4, 4, {5, 1, 4, 3}, {S, T, R, I}, NN_LOSS_MSE, T_REAL},
    {"mse/sigmoid m=1 n_in=1", 1, 1, 4, {4, 3, 2, 2}, {LK, SM, I, S},
     NN_LOSS_MSE, T_REAL},
    {"mse/tanh", 3, 3, 4, {2, 5, 1, 3}, {SM, R, S, T}, NN_LOSS_MSE, T_REAL},
    {"mse/relu", 2, 5, 4, {6, 3, 2, 4}, {T, LK, I, R}, NN_LOSS_MSE, T_REAL},
    {"mse/leaky", 4, 2, 4, {3, 1, 5, 3}, {R, I, SM, LK}, NN_LOSS_MSE, T_REAL},
    {"mse/softmax", 3, 3, 4, {5, 2, 4, 3}, {LK, S, T, SM}, NN_LOSS_MSE,
     T_REAL},
    {"bce/1 out dense 0/1", 2, 4, 4, {3, 4, 2, 1}, {I, SM, R, S}, NN_LOSS_BCE,
     T_01},
    {"bce/1 out labels m=1 n_in=1", 1, 1, 4, {3, 1, 2, 1}, {T, LK, S, S},
     NN_LOSS_BCE, T_LABELS},
    {"bce/1 out labels", 3, 5, 4, {4, 2, 3, 1}, {SM, T, LK, S}, NN_LOSS_BCE,
     T_LABELS},
    {"bce/multi-label 0/1", 3, 4, 4, {4, 5, 3, 4}, {S, R, SM, S}, NN_LOSS_BCE,
     T_01},
    {"bce/multi-label fractional", 2, 3, 4, {5, 1, 3, 3}, {LK, T, I, S},
     NN_LOSS_BCE, T_FRAC},
    {"sce/one-hot dense", 3, 4, 4, {5, 1, 4, 4}, {R, S, LK, SM},
     NN_LOSS_SOFTMAX_CE, T_ONEHOT},
    {"sce/labels m=1 n_in=1", 1, 1, 4, {2, 3, 4, 3}, {I, T, SM, SM},
     NN_LOSS_SOFTMAX_CE, T_LABELS},
    {"sce/labels", 3, 5, 4, {4, 2, 5, 3}, {SM, LK, S, SM}, NN_LOSS_SOFTMAX_CE,
     T_LABELS},
    {"sce/soft rows", 2, 4, 4, {3, 4, 2, 4}, {T, I, R, SM}, NN_LOSS_SOFTMAX_CE,
     T_SOFT},
    {"sce/unnormalised rows", 3, 3, 5, {4, 3, 5, 2, 3}, {S, SM, R, LK, SM},
     NN_LOSS_SOFTMAX_CE, T_SOFT_UNNORM},
};
#undef I
#undef S
#undef T
#undef R
#undef LK
#undef SM
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

typedef struct {
    const gc_case *c;
    nn_order order;
    size_t k, ldx, ldy;
    double X[MAXW * (MAXM + 3) + 8];
    double Y[MAXW * (MAXM + 3) + 8];
    int32_t labels[MAXM];
    int sum; /* NN_REDUCE_SUM */
    nn_net_t *net;
} problem;

static double *xat(problem *p, size_t i, size_t j)
{
    return p->order == NN_ROW_MAJOR ? &p->X[i * p->ldx + j]
                                    : &p->X[j * p->ldx + i];
}

static double *yat(problem *p, size_t i, size_t j)
{
    return p->order == NN_ROW_MAJOR ? &p->Y[i * p->ldy + j]
                                    : &p->Y[j * p->ldy + i];
}

static long double target(problem *p, size_t i, size_t j)
{
    if (p->c->tk == T_LABELS)
        return p->k == 1 ? (long double)p->labels[i]
                         : (p->labels[i] == (int32_t)j ? 1.0L : 0.0L);
    return *yat(p, i, j);
}

/* Plain-loop forward pass and loss from the network's current parameters.
 * Writes the signs of every relu / leaky relu pre-activation to signs[] and
 * the smallest |z| among them to *min_abs. */
static long double ref_loss(problem *p, signed char *signs, size_t *nsigns,
                            double *min_abs)
{
    const gc_case *c = p->c;
    long double in[MAXM][MAXW], z[MAXM][MAXW], a[MAXM][MAXW];
    size_t n_prev = c->n_in, ns = 0;
    double mn = INFINITY;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n_in; j++) in[i][j] = *xat(p, i, j);
    for (size_t l = 0; l < c->nl; l++) {
        const double *W = tu_net_W(p->net, l);
        const double *b = tu_net_b(p->net, l);
        size_t n = c->w[l];
        for (size_t i = 0; i < c->m; i++) {
            for (size_t j = 0; j < n; j++) {
                long double s = b[j];
                for (size_t q = 0; q < n_prev; q++) s += in[i][q] * W[q * n + j];
                z[i][j] = s;
                if (kinked(c->act[l])) {
                    signs[ns++] = s > 0 ? 1 : (s < 0 ? -1 : 0);
                    mn = fmin(mn, fabs((double)s));
                }
            }
            ref_act(c->act[l], z[i], a[i], n);
        }
        if (l + 1 < c->nl)
            for (size_t i = 0; i < c->m; i++)
                for (size_t j = 0; j < n; j++) in[i][j] = a[i][j];
        n_prev = n;
    }
    long double L = 0;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < p->k; j++) {
            long double y = target(p, i, j), v = a[i][j];
            switch (c->loss) {
            case NN_LOSS_MSE: L += (v - y) * (v - y); break;
            case NN_LOSS_BCE: L -= y * logl(v) + (1 - y) * logl(1 - v); break;
            case NN_LOSS_SOFTMAX_CE: L -= y * logl(v); break;
            }
        }
    *nsigns = ns;
    *min_abs = mn;
    return p->sum ? L : L / (long double)c->m;
}

static double lib_loss(problem *p)
{
    double L = NAN;
    if (p->c->tk == T_LABELS)
        NN_OK_OR_FAIL(nn_net_loss_labels(p->net, NULL, p->c->m, p->order, p->X,
                                         p->ldx, p->labels, &L));
    else
        NN_OK_OR_FAIL(nn_net_loss(p->net, NULL, p->c->m, p->order, p->X, p->ldx,
                                  p->Y, p->ldy, &L));
    return L;
}

/* Fill X, targets and biases from one seed; weights from nn_net_init. */
static void fill_problem(problem *p, uint64_t seed)
{
    const gc_case *c = p->c;
    tu_rng r = {seed * 7919 + 17};
    NN_OK_OR_FAIL(nn_net_init(p->net, NN_INIT_DEFAULT, seed));
    for (size_t l = 0; l < c->nl; l++)
        tu_fill(&r, tu_net_b(p->net, l), c->w[l], -0.5, 0.5);
    for (size_t q = 0; q < sizeof p->X / sizeof p->X[0]; q++) p->X[q] = NAN;
    for (size_t q = 0; q < sizeof p->Y / sizeof p->Y[0]; q++) p->Y[q] = NAN;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n_in; j++) *xat(p, i, j) = tu_uniform(&r, -1, 1);
    for (size_t i = 0; i < c->m; i++) {
        size_t cls = (size_t)tu_uniform(&r, 0, (double)(p->k == 1 ? 2 : p->k));
        p->labels[i] = (int32_t)cls;
        double sum = 0;
        for (size_t j = 0; j < p->k; j++) {
            double v;
            switch (c->tk) {
            case T_REAL: v = tu_uniform(&r, -1, 1); break;
            case T_01: v = tu_uniform(&r, 0, 1) < 0.5 ? 0.0 : 1.0; break;
            case T_FRAC: v = tu_uniform(&r, 0, 1); break;
            case T_ONEHOT: v = j == cls ? 1.0 : 0.0; break;
            case T_SOFT:
            case T_SOFT_UNNORM: v = tu_uniform(&r, 0.05, 1); break;
            default: v = NAN; break; /* labels: Y is not used */
            }
            if (c->tk != T_LABELS) *yat(p, i, j) = v;
            sum += v;
        }
        if (c->tk == T_SOFT)
            for (size_t j = 0; j < p->k; j++) *yat(p, i, j) /= sum;
        if (c->tk == T_SOFT_UNNORM) /* row sums 0.5, 1.5, 2.5, ... */
            for (size_t j = 0; j < p->k; j++)
                *yat(p, i, j) *= (0.5 + (double)i) / sum;
    }
}

START_TEST(test_net_gradcheck)
{
    problem *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    const gc_case *c = &CASES[_i / 4];
    p->c = c;
    p->order = _i % 2 ? NN_COL_MAJOR : NN_ROW_MAJOR;
    p->sum = (_i / 2) % 2;
    p->k = c->w[c->nl - 1];
    /* leading dimensions beyond the width; the padding holds NaN */
    p->ldx = p->order == NN_ROW_MAJOR ? c->n_in + 2 : c->m + 2;
    p->ldy = p->order == NN_ROW_MAJOR ? p->k + 3 : c->m + 3;

    tu_layer specs[MAXL];
    for (size_t l = 0; l < c->nl; l++)
        specs[l] = (tu_layer){c->w[l], c->act[l], SLOPE, 0.0};
    p->net = tu_net_layers(c->n_in, c->nl, specs, c->loss, NULL);
    if (p->sum)
        NN_OK_OR_FAIL(nn_net_set_int(p->net, NN_NET_REDUCTION, NN_REDUCE_SUM));

    /* first seed whose relu / leaky pre-activations keep away from the kink */
    signed char base[MAXL * MAXM * MAXW], now[MAXL * MAXM * MAXW];
    size_t nbase = 0, nnow = 0;
    double min_abs = 0;
    long double Lref = 0;
    uint64_t seed = 1;
    for (; seed <= 500; seed++) {
        fill_problem(p, seed);
        Lref = ref_loss(p, base, &nbase, &min_abs);
        if (min_abs > MARGIN) break;
    }
    ck_assert_msg(seed <= 500, "%s: no seed keeps |z| > %g", c->name, MARGIN);

    /* the loss is the documented one: reference, nn_net_loss, gradient */
    double L0 = lib_loss(p), Lg = NAN;
    ck_assert_msg(tu_relerr(L0, (double)Lref, 1e-3) <= 1e-12,
                  "%s: loss %.17g, reference %.17Lg", c->name, L0, Lref);
    if (c->tk == T_LABELS)
        NN_OK_OR_FAIL(nn_net_gradient_labels(p->net, c->m, p->order, p->X,
                                             p->ldx, p->labels, &Lg));
    else
        NN_OK_OR_FAIL(nn_net_gradient(p->net, c->m, p->order, p->X, p->ldx,
                                      p->Y, p->ldy, &Lg));
    ck_assert_msg(tu_relerr(Lg, L0, 1e-3) <= 1e-14,
                  "%s: gradient loss %.17g, nn_net_loss %.17g", c->name, Lg, L0);

    /* copy the analytic gradients out before the loss calls below */
    size_t np = nn_net_n_params(p->net);
    double *an = malloc(np * sizeof *an);
    ck_assert_ptr_nonnull(an);
    size_t off = 0, n_prev = c->n_in;
    memcpy(an, nn_net_grads(p->net), np * sizeof(double));
    for (size_t l = 0; l < c->nl; l++) {
        /* the flat layout: layer by layer, W row-major then b */
        size_t nw = n_prev * c->w[l], wo = 0, bo = 0;
        NN_OK_OR_FAIL(nn_net_layer_offset(p->net, l, &wo, &bo));
        ck_assert_uint_eq(wo, off);
        ck_assert_uint_eq(bo, off + nw);
        off += nw + c->w[l];
        n_prev = c->w[l];
    }
    ck_assert_uint_eq(off, np);
    if (p->sum) {
        /* the sum gradients are m times the mean ones */
        double *mean = malloc(np * sizeof *mean);
        ck_assert_ptr_nonnull(mean);
        NN_OK_OR_FAIL(nn_net_set_int(p->net, NN_NET_REDUCTION, NN_REDUCE_MEAN));
        double Lm = NAN;
        if (c->tk == T_LABELS)
            NN_OK_OR_FAIL(nn_net_gradient_labels(p->net, c->m, p->order, p->X,
                                                 p->ldx, p->labels, &Lm));
        else
            NN_OK_OR_FAIL(nn_net_gradient(p->net, c->m, p->order, p->X, p->ldx,
                                          p->Y, p->ldy, &Lm));
        memcpy(mean, nn_net_grads(p->net), np * sizeof(double));
        NN_OK_OR_FAIL(nn_net_set_int(p->net, NN_NET_REDUCTION, NN_REDUCE_SUM));
        ck_assert(tu_relerr(Lg, (double)c->m * Lm, 1e-3) <= 1e-13);
        for (size_t q = 0; q < np; q++)
            ck_assert_msg(tu_relerr(an[q], (double)c->m * mean[q], 1e-9) <= 1e-13,
                          "%s: sum grad[%zu] %.17g, m * mean %.17g", c->name, q,
                          an[q], (double)c->m * mean[q]);
        free(mean);
    }

    double worst = 0, nonzero = 0;
    off = 0;
    n_prev = c->n_in;
    for (size_t l = 0; l < c->nl; l++) {
        size_t nw = n_prev * c->w[l], n = nw + c->w[l];
        double *W = tu_net_W(p->net, l), *b = tu_net_b(p->net, l);
        for (size_t q = 0; q < n; q++) {
            double *w = q < nw ? &W[q] : &b[q - nw];
            double w0 = *w, h = FD_REL * fmax(1.0, fabs(w0)), f[4];
            static const double steps[4] = {1, -1, 2, -2};
            for (int s = 0; s < 4; s++) {
                *w = w0 + steps[s] * h;
                double mn;
                ref_loss(p, now, &nnow, &mn);
                ck_assert_msg(nnow == nbase && !memcmp(now, base, nnow),
                              "%s: a relu kink was crossed (test setup)",
                              c->name);
                f[s] = lib_loss(p);
            }
            *w = w0;
            double fd = (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * h);
            double e = tu_relerr(an[off + q], fd, FD_FLOOR);
            ck_assert_msg(e <= FD_TOL,
                          "%s (%s, %s): layer %zu %s[%zu]: analytic %.12g, "
                          "finite difference %.12g (relerr %.3g)",
                          c->name, p->order ? "col" : "row",
                          p->sum ? "sum" : "mean", l,
                          q < nw ? "dW" : "db", q < nw ? q : q - nw,
                          an[off + q], fd, e);
            worst = fmax(worst, e);
            nonzero = fmax(nonzero, fabs(fd));
        }
        off += n;
        n_prev = c->w[l];
    }
    /* the check compared something: the gradient is not identically zero */
    ck_assert_msg(nonzero > 1e-3, "%s: all gradients ~0", c->name);
    if (getenv("GRADCHECK_VERBOSE"))
        printf("%-30s %s %s seed %2u min|z| %.3f worst relerr %.2e\n",
               c->name, p->order ? "col" : "row", p->sum ? "sum " : "mean",
               (unsigned)seed, min_abs, worst);
    free(an);
    nn_net_destroy(p->net);
    free(p);
}
END_TEST

/* ================================================================ above the
 * small-product threshold */
/* Products of at most 2048 multiply-adds bypass BLAS (lib/gemm.c), so the
 * small networks above never reach cblas_dgemm in a default build. Here a
 * 40-30-20 network at batch 16 (every product 9600 or 19200 multiply-adds)
 * goes through BLAS in both orders with padded leading dimensions: the loss
 * against a long-double reference, the analytic gradient against finite
 * differences on a sample of the parameters (every 37th, in both layers),
 * and the fused SGD step (the update folded into the dW products, dgemm
 * with beta = 1) against w - lr * g. Cases: tanh -> softmax with softmax CE
 * on labels; sigmoid -> identity with MSE on dense targets. */
#define BN 40
#define BH 30
#define BK 20
#define BM 16

typedef struct {
    nn_order order;
    int mse;
    size_t ldx, ldy;
    double X[(BN + 2) * (BM + 2)], Y[(BK + 3) * (BM + 3)];
    int32_t labels[BM];
    nn_net_t *net;
} big_problem;

static double big_x(const big_problem *p, size_t i, size_t j)
{
    return p->order == NN_ROW_MAJOR ? p->X[i * p->ldx + j]
                                    : p->X[j * p->ldx + i];
}

static double big_y(const big_problem *p, size_t i, size_t j)
{
    return p->order == NN_ROW_MAJOR ? p->Y[i * p->ldy + j]
                                    : p->Y[j * p->ldy + i];
}

/* The mean loss by plain loops from the network's current parameters. */
static long double big_ref_loss(big_problem *p)
{
    const double *W1 = tu_net_W(p->net, 0), *b1 = tu_net_b(p->net, 0);
    const double *W2 = tu_net_W(p->net, 1), *b2 = tu_net_b(p->net, 1);
    nn_activation g = p->mse ? NN_ACT_SIGMOID : NN_ACT_TANH;
    nn_activation out = p->mse ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX;
    long double L = 0;
    for (size_t i = 0; i < BM; i++) {
        long double z[BH], a1[BH], z2[BK], a2[BK];
        for (size_t j = 0; j < BH; j++) {
            z[j] = b1[j];
            for (size_t q = 0; q < BN; q++)
                z[j] += (long double)big_x(p, i, q) * W1[q * BH + j];
        }
        ref_act(g, z, a1, BH);
        for (size_t j = 0; j < BK; j++) {
            z2[j] = b2[j];
            for (size_t q = 0; q < BH; q++) z2[j] += a1[q] * W2[q * BK + j];
        }
        ref_act(out, z2, a2, BK);
        if (p->mse)
            for (size_t j = 0; j < BK; j++) {
                long double d = a2[j] - big_y(p, i, j);
                L += d * d;
            }
        else
            L -= logl(a2[p->labels[i]]);
    }
    return L / BM;
}

static double big_loss(big_problem *p)
{
    double L = NAN;
    if (p->mse)
        NN_OK_OR_FAIL(nn_net_loss(p->net, NULL, BM, p->order, p->X, p->ldx,
                                  p->Y, p->ldy, &L));
    else
        NN_OK_OR_FAIL(nn_net_loss_labels(p->net, NULL, BM, p->order, p->X,
                                         p->ldx, p->labels, &L));
    return L;
}

static void big_gradient(big_problem *p, double *L)
{
    if (p->mse)
        NN_OK_OR_FAIL(nn_net_gradient(p->net, BM, p->order, p->X, p->ldx, p->Y,
                                      p->ldy, L));
    else
        NN_OK_OR_FAIL(nn_net_gradient_labels(p->net, BM, p->order, p->X,
                                             p->ldx, p->labels, L));
}

static void big_setup(big_problem *p, int which)
{
    p->order = which % 2 ? NN_COL_MAJOR : NN_ROW_MAJOR;
    p->mse = which / 2;
    p->ldx = p->order == NN_ROW_MAJOR ? BN + 2 : BM + 2;
    p->ldy = p->order == NN_ROW_MAJOR ? BK + 3 : BM + 3;
    const tu_layer specs[2] = {
        {BH, p->mse ? NN_ACT_SIGMOID : NN_ACT_TANH, 0, 0},
        {BK, p->mse ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX, 0, 0}};
    p->net = tu_net_layers(BN, 2, specs,
                           p->mse ? NN_LOSS_MSE : NN_LOSS_SOFTMAX_CE, NULL);
    NN_OK_OR_FAIL(nn_net_init(p->net, NN_INIT_GLOROT_UNIFORM, 40 + which));
    tu_rng r = {977 + (uint64_t)which};
    tu_fill(&r, tu_net_b(p->net, 0), BH, -0.3, 0.3);
    tu_fill(&r, tu_net_b(p->net, 1), BK, -0.3, 0.3);
    /* the padding holds NaN: it must never be read */
    tu_fill_value(p->X, sizeof p->X / sizeof p->X[0], NAN);
    tu_fill_value(p->Y, sizeof p->Y / sizeof p->Y[0], NAN);
    for (size_t i = 0; i < BM; i++) {
        for (size_t j = 0; j < BN; j++) {
            double v = tu_uniform(&r, -1, 1);
            if (p->order == NN_ROW_MAJOR) p->X[i * p->ldx + j] = v;
            else p->X[j * p->ldx + i] = v;
        }
        for (size_t j = 0; j < BK; j++) {
            double v = tu_uniform(&r, -1, 1);
            if (p->order == NN_ROW_MAJOR) p->Y[i * p->ldy + j] = v;
            else p->Y[j * p->ldy + i] = v;
        }
        p->labels[i] = (int32_t)(tu_next(&r) % BK);
    }
}

START_TEST(test_net_gradcheck_blas)
{
    big_problem *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    big_setup(p, _i);
    const char *name = p->mse ? "40-30-20 mse" : "40-30-20 softmax CE";
    const char *ord = p->order == NN_ROW_MAJOR ? "row" : "col";
    long double Lref = big_ref_loss(p);
    double L0 = big_loss(p), Lg = NAN;
    ck_assert_msg(tu_relerr(L0, (double)Lref, 1e-3) <= 1e-12,
                  "%s (%s): loss %.17g, reference %.17Lg", name, ord, L0, Lref);
    big_gradient(p, &Lg);
    ck_assert(tu_relerr(Lg, L0, 1e-3) <= 1e-14);
    size_t np = nn_net_n_params(p->net);
    ck_assert_uint_eq(np, BN * BH + BH + BH * BK + BK);
    double *an = tu_dalloc(np), *p0 = tu_dalloc(np);
    memcpy(an, nn_net_grads(p->net), np * sizeof(double));
    memcpy(p0, nn_net_params(p->net), np * sizeof(double));
    double *w = nn_net_params(p->net), nonzero = 0;
    size_t checked = 0, in_out_layer = 0;
    for (size_t q = 0; q < np; q += 37, checked++) {
        double w0 = w[q], h = FD_REL * fmax(1.0, fabs(w0)), f[4];
        static const double steps[4] = {1, -1, 2, -2};
        for (int s = 0; s < 4; s++) {
            w[q] = w0 + steps[s] * h;
            f[s] = big_loss(p);
        }
        w[q] = w0;
        double fd = (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * h);
        double e = tu_relerr(an[q], fd, FD_FLOOR);
        ck_assert_msg(e <= FD_TOL,
                      "%s (%s): param %zu: analytic %.12g, finite difference "
                      "%.12g (relerr %.3g)", name, ord, q, an[q], fd, e);
        nonzero = fmax(nonzero, fabs(fd));
        in_out_layer += q >= BN * BH + BH;
    }
    ck_assert(checked >= 50 && in_out_layer >= 15);
    ck_assert_msg(nonzero > 1e-3, "%s: all gradients ~0", name);

    /* the fused SGD step (dgemm accumulating into W) is w - lr * g */
    const double lr = 0.05;
    nn_optim_t *opt = tu_sgd(p->net, lr);
    double Ls = NAN;
    if (p->mse)
        NN_OK_OR_FAIL(nn_net_train_step(p->net, opt, BM, p->order, p->X,
                                        p->ldx, p->Y, p->ldy, &Ls));
    else
        NN_OK_OR_FAIL(nn_net_train_step_labels(p->net, opt, BM, p->order, p->X,
                                               p->ldx, p->labels, &Ls));
    ck_assert(tu_relerr(Ls, L0, 1e-3) <= 1e-14);
    for (size_t q = 0; q < np; q++)
        ck_assert_msg(tu_relerr(w[q], p0[q] - lr * an[q], 1e-3) <= 1e-13,
                      "%s (%s): fused step param %zu: %.17g, want %.17g", name,
                      ord, q, w[q], p0[q] - lr * an[q]);
    nn_optim_destroy(opt);
    free(p0);
    free(an);
    nn_net_destroy(p->net);
    free(p);
}
END_TEST

/* ================================================================ dense layer */
typedef struct {
    size_t n_in, n_out, m;
} dense_shape;
static const dense_shape DSHAPES[] = {{3, 4, 5}, {1, 3, 1}, {5, 2, 3}};
#define NDSHAPES ((int)(sizeof DSHAPES / sizeof DSHAPES[0]))
static const nn_activation DACTS[6] = {NN_ACT_IDENTITY, NN_ACT_SIGMOID,
                                       NN_ACT_TANH,     NN_ACT_RELU,
                                       NN_ACT_LEAKY_RELU, NN_ACT_SOFTMAX};

#define DBUF (MAXW * (MAXM + 4))
typedef struct {
    nn_dense_t *d;
    nn_activation act;
    nn_order order;
    size_t n_in, n_out, m, ldx, lda;
    double X[DBUF], Rm[DBUF], A[DBUF];
} dense_problem;

static size_t at(nn_order o, size_t ld, size_t i, size_t j)
{
    return o == NN_ROW_MAJOR ? i * ld + j : j * ld + i;
}

/* Reference L = sum R o g(X W + b) with plain loops; signs of the kinked
 * pre-activations into signs[], smallest |z| into *min_abs. */
static long double dense_ref(dense_problem *p, signed char *signs,
                             double *min_abs)
{
    const double *W = nn_dense_weights(p->d), *b = nn_dense_bias(p->d);
    long double z[MAXW], a[MAXW], L = 0;
    double mn = INFINITY;
    size_t ns = 0;
    for (size_t i = 0; i < p->m; i++) {
        for (size_t j = 0; j < p->n_out; j++) {
            long double s = b[j];
            for (size_t q = 0; q < p->n_in; q++)
                s += (long double)p->X[at(p->order, p->ldx, i, q)] *
                     W[q * p->n_out + j];
            z[j] = s;
            if (kinked(p->act)) {
                signs[ns++] = s > 0 ? 1 : -1;
                mn = fmin(mn, fabs((double)s));
            }
        }
        ref_act(p->act, z, a, p->n_out);
        for (size_t j = 0; j < p->n_out; j++)
            L += p->Rm[at(p->order, p->lda, i, j)] * a[j];
    }
    *min_abs = mn;
    return L;
}

/* L = sum R o A with A from nn_dense_forward. */
static double dense_obj(dense_problem *p)
{
    NN_OK_OR_FAIL(nn_dense_forward(p->d, p->m, p->order, p->X, p->ldx, p->A,
                                   p->lda));
    long double L = 0;
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = 0; j < p->n_out; j++)
            L += (long double)p->Rm[at(p->order, p->lda, i, j)] *
                 p->A[at(p->order, p->lda, i, j)];
    return (double)L;
}

START_TEST(test_dense_gradcheck)
{
    dense_problem *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    const dense_shape *sh = &DSHAPES[_i / 12];
    p->act = DACTS[_i % 6];
    p->order = (_i / 6) % 2 ? NN_COL_MAJOR : NN_ROW_MAJOR;
    p->n_in = sh->n_in;
    p->n_out = sh->n_out;
    p->m = sh->m;
    p->ldx = p->order == NN_ROW_MAJOR ? p->n_in + 2 : p->m + 2;
    p->lda = p->order == NN_ROW_MAJOR ? p->n_out + 1 : p->m + 3;
    NN_OK_OR_FAIL(nn_dense_create(&p->d, p->n_in, p->n_out, p->act, SLOPE,
                                  NULL));
    double *W = nn_dense_weights(p->d), *b = nn_dense_bias(p->d);
    size_t nw = p->n_in * p->n_out;

    signed char base[MAXM * MAXW], now[MAXM * MAXW];
    double min_abs = 0;
    uint64_t seed = 1;
    for (; seed <= 500; seed++) {
        tu_rng r = {seed * 104729 + 3};
        tu_fill(&r, W, nw, -1, 1);
        tu_fill(&r, b, p->n_out, -0.5, 0.5);
        for (size_t q = 0; q < DBUF; q++) p->X[q] = p->Rm[q] = NAN;
        for (size_t i = 0; i < p->m; i++) {
            for (size_t j = 0; j < p->n_in; j++)
                p->X[at(p->order, p->ldx, i, j)] = tu_uniform(&r, -1, 1);
            for (size_t j = 0; j < p->n_out; j++)
                p->Rm[at(p->order, p->lda, i, j)] = tu_uniform(&r, -1, 1);
        }
        dense_ref(p, base, &min_abs);
        /* relu: at least one unit active, or every gradient would be 0 */
        bool active = !kinked(p->act);
        for (size_t q = 0; !active && q < p->m * p->n_out; q++)
            active = base[q] > 0;
        if (min_abs > MARGIN && active) break;
    }
    ck_assert_msg(seed <= 500, "dense %s: no seed keeps |z| > %g",
                  act_name(p->act), MARGIN);

    /* analytic: forward, then backward with dA = R (NaN in R's padding) */
    const double SENT = 12345.0;
    for (size_t q = 0; q < DBUF; q++) p->A[q] = SENT;
    double dX[DBUF];
    for (size_t q = 0; q < DBUF; q++) dX[q] = SENT;
    double L0 = dense_obj(p);
    double mn;
    long double Lref = dense_ref(p, now, &mn);
    ck_assert_msg(tu_relerr(L0, (double)Lref, 1e-3) <= 1e-12,
                  "dense %s: L %.17g, reference %.17Lg", act_name(p->act), L0,
                  Lref);
    NN_OK_OR_FAIL(nn_dense_backward(p->d, p->m, p->order, p->X, p->ldx, p->Rm,
                                    p->lda, dX, p->ldx));
    /* outputs leave their padding alone */
    for (size_t i = 0; i < (p->order == NN_ROW_MAJOR ? p->m : p->n_out); i++)
        for (size_t j = 0; j < p->lda; j++) {
            size_t inner = p->order == NN_ROW_MAJOR ? p->n_out : p->m;
            if (j >= inner) ck_assert(p->A[i * p->lda + j] == SENT);
        }
    for (size_t i = 0; i < (p->order == NN_ROW_MAJOR ? p->m : p->n_in); i++)
        for (size_t j = 0; j < p->ldx; j++) {
            size_t inner = p->order == NN_ROW_MAJOR ? p->n_in : p->m;
            if (j >= inner) ck_assert(dX[i * p->ldx + j] == SENT);
        }
    double dW[MAXW * MAXW], db[MAXW];
    NN_OK_OR_FAIL(nn_dense_get_grads(p->d, NN_ROW_MAJOR, dW, p->n_out, db));
    const double *bdW = nn_dense_grad_weights(p->d);
    const double *bdb = nn_dense_grad_bias(p->d);
    for (size_t q = 0; q < nw; q++) ck_assert(bdW[q] == dW[q]);
    for (size_t j = 0; j < p->n_out; j++) ck_assert(bdb[j] == db[j]);

    /* finite differences over W, b and X */
    size_t nx = p->m * p->n_in;
    double worst = 0, nonzero = 0;
    for (size_t q = 0; q < nw + p->n_out + nx; q++) {
        double *w, an;
        const char *what;
        size_t idx;
        if (q < nw) {
            w = &W[q]; an = dW[q]; what = "dW"; idx = q;
        } else if (q < nw + p->n_out) {
            idx = q - nw; w = &b[idx]; an = db[idx]; what = "db";
        } else {
            idx = q - nw - p->n_out; /* row-major index into X */
            size_t pos = at(p->order, p->ldx, idx / p->n_in, idx % p->n_in);
            w = &p->X[pos]; an = dX[pos]; what = "dX";
        }
        double w0 = *w, h = FD_REL * fmax(1.0, fabs(w0)), f[4];
        static const double steps[4] = {1, -1, 2, -2};
        for (int s = 0; s < 4; s++) {
            *w = w0 + steps[s] * h;
            dense_ref(p, now, &mn);
            if (kinked(p->act))
                ck_assert_msg(!memcmp(now, base, p->m * p->n_out),
                              "dense %s: a kink was crossed (test setup)",
                              act_name(p->act));
            f[s] = dense_obj(p);
        }
        *w = w0;
        double fd = (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * h);
        double e = tu_relerr(an, fd, FD_FLOOR);
        ck_assert_msg(e <= FD_TOL,
                      "dense %s (%s, %zux%zu m=%zu): %s[%zu] analytic %.12g, "
                      "finite difference %.12g (relerr %.3g)",
                      act_name(p->act), p->order ? "col" : "row", p->n_in,
                      p->n_out, p->m, what, idx, an, fd, e);
        worst = fmax(worst, e);
        nonzero = fmax(nonzero, fabs(fd));
    }
    ck_assert_msg(nonzero > 1e-3, "dense %s: all gradients ~0",
                  act_name(p->act));
    if (getenv("GRADCHECK_VERBOSE"))
        printf("dense %-8s %s %zux%zu m=%zu seed %2u worst relerr %.2e\n",
               act_name(p->act), p->order ? "col" : "row", p->n_in, p->n_out,
               p->m, (unsigned)seed, worst);
    nn_dense_destroy(p->d);
    free(p);
}
END_TEST

static Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tn = tcase_create("network");
    tcase_add_loop_test(tn, test_net_gradcheck, 0, 4 * NCASES);
    tcase_add_loop_test(tn, test_net_gradcheck_blas, 0, 4);
    suite_add_tcase(s, tn);
    TCase *td = tcase_create("dense");
    tcase_add_loop_test(td, test_dense_gradcheck, 0, 12 * NDSHAPES);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    return tu_run(gradcheck_suite());
}
