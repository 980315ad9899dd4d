/* test_loss.c — the output losses, through a one-layer network n_in -> k
 * whose logits are Z = X.W + b with W, b set by the test. Every loss is a
 * MEAN OVER THE BATCH of a SUM OVER THE OUTPUTS (nn.h):
 *   MSE         l = sum_j (a_j - y_j)^2,          dZ = 2 (A - Y)/m o g'(Z)
 *   BCE         l = -sum_j [y log a + (1-y) log(1-a)], a = sigmoid(z),
 *                                                  dZ = (A - Y)/m
 *   softmax CE  l = -sum_j y_j log softmax(z)_j,   dZ = (A sum_j y_j - Y)/m
 * and dW = X^T.dZ, db = colsum(dZ). References are naive loops in long
 * double; a value passes when |got - ref| <= 1e-12 * max(|ref|, mag), mag
 * being the magnitude the value is conditioned by. Labels: the range
 * [0, n_out) ({0, 1} for one output) is enforced by every call taking them. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define TOL 1e-12L

/* ------------------------------------------------------------ helpers */
static void expect_close1(const char *ctx, const char *what, double got,
                          long double ref, long double mag)
{
    long double s = fabsl(ref) > mag ? fabsl(ref) : mag;
    long double e = fabsl((long double)got - ref);
    if (!(e <= TOL * s))
        ck_abort_msg("%s: %s = %.17g, expected %.17Lg (err %.3Lg, scale %.3Lg)",
                     ctx, what, got, ref, e, s);
}

static void expect_close(const char *ctx, const char *what, size_t cnt,
                         const double *got, const long double *ref,
                         const long double *mag)
{
    char name[64];
    for (size_t i = 0; i < cnt; i++) {
        snprintf(name, sizeof name, "%s[%zu]", what, i);
        expect_close1(ctx, name, got[i], ref[i], mag[i]);
    }
}

/* Exact (closed-form) expectation, to a last-bit tolerance. */
static void expect_exact(const char *what, double got, double want)
{
    ck_assert_msg(tu_relerr(got, want, 1e-300) <= 4e-16,
                  "%s = %.17g, expected %.17g", what, got, want);
}

static long double sigmoid_l(long double z) { return 1.0L / (1.0L + expl(-z)); }

/* One-layer network n_in -> k with activation act and loss, W, b set. */
static nn_net_t *make_net(size_t nin, size_t k, nn_activation act, nn_loss loss,
                          const double *W, const double *b)
{
    nn_net_t *net = tu_net(nin, 1, &k, &act, loss, NULL);
    if (W || b) NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, W, k, b));
    return net;
}

/* ------------------------------------------------------------ reference */
typedef struct {
    size_t m, nin, k;
    const double *X, *W, *b; /* compact row-major */
} problem;

typedef struct {
    long double loss, lossmag;
    long double *A;          /* m x k: g(Z) (predictions) */
    long double *dW, *dWmag; /* nin x k */
    long double *db, *dbmag; /* k */
} ref_t;

static void ref_free(ref_t *r)
{
    free(r->A); free(r->dW); free(r->dWmag); free(r->db); free(r->dbmag);
}

/* Z = X.W + b and its magnitude sum |x w| + |b|. */
static void ref_logits(const problem *p, long double *Z, long double *Zmag)
{
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = 0; j < p->k; j++) {
            long double z = p->b[j], mg = fabsl((long double)p->b[j]);
            for (size_t q = 0; q < p->nin; q++) {
                long double t = (long double)p->X[i * p->nin + q] * p->W[q * p->k + j];
                z += t;
                mg += fabsl(t);
            }
            Z[i * p->k + j] = z;
            Zmag[i * p->k + j] = mg;
        }
}

/* dW = X^T.dZ, db = colsum(dZ), with magnitudes carried from dZmag. */
static void ref_param_grads(const problem *p, const long double *dZ,
                            const long double *dZmag, ref_t *r)
{
    r->dW = tu_lalloc(p->nin * p->k); r->dWmag = tu_lalloc(p->nin * p->k);
    r->db = tu_lalloc(p->k); r->dbmag = tu_lalloc(p->k);
    for (size_t q = 0; q < p->nin; q++)
        for (size_t j = 0; j < p->k; j++)
            for (size_t i = 0; i < p->m; i++) {
                long double x = p->X[i * p->nin + q];
                r->dW[q * p->k + j] += x * dZ[i * p->k + j];
                r->dWmag[q * p->k + j] += fabsl(x) * dZmag[i * p->k + j];
            }
    for (size_t j = 0; j < p->k; j++)
        for (size_t i = 0; i < p->m; i++) {
            r->db[j] += dZ[i * p->k + j];
            r->dbmag[j] += dZmag[i * p->k + j];
        }
}

/* MSE with output activation act (identity, sigmoid or tanh). */
static void ref_mse(const problem *p, nn_activation act, const double *Y,
                    ref_t *r)
{
    size_t n = p->m * p->k;
    long double *Z = tu_lalloc(n), *Zm = tu_lalloc(n), *dZ = tu_lalloc(n), *dZm = tu_lalloc(n);
    long double dm = (long double)p->m;
    ref_logits(p, Z, Zm);
    r->A = tu_lalloc(n);
    r->loss = r->lossmag = 0;
    for (size_t i = 0; i < n; i++) {
        long double z = Z[i], a, gp, smooth;
        if (act == NN_ACT_SIGMOID) {
            a = sigmoid_l(z); gp = a * (1 - a); smooth = Zm[i];
        } else if (act == NN_ACT_TANH) {
            a = tanhl(z); gp = 1 - a * a; smooth = Zm[i];
        } else {
            a = z; gp = 1; smooth = 0;
        }
        long double d = a - Y[i], y = fabsl((long double)Y[i]);
        r->A[i] = a;
        r->loss += d * d / dm;
        r->lossmag += (d * d + 2 * fabsl(d) * (Zm[i] + y)) / dm;
        dZ[i] = 2 * d / dm * gp;
        dZm[i] = 2 * (fabsl(d) + Zm[i] + y) / dm * (fabsl(gp) + smooth);
    }
    ref_param_grads(p, dZ, dZm, r);
    free(Z); free(Zm); free(dZ); free(dZm);
}

/* BCE from the naive formula on a = sigmoid(z) in long double (accurate
 * for the moderate logits it is used with). */
static void ref_bce(const problem *p, const double *Y, ref_t *r)
{
    size_t n = p->m * p->k;
    long double *Z = tu_lalloc(n), *Zm = tu_lalloc(n), *dZ = tu_lalloc(n), *dZm = tu_lalloc(n);
    long double dm = (long double)p->m;
    ref_logits(p, Z, Zm);
    r->A = tu_lalloc(n);
    r->loss = r->lossmag = 0;
    for (size_t i = 0; i < n; i++) {
        long double a = sigmoid_l(Z[i]), y = Y[i];
        long double l = -(y * logl(a) + (1 - y) * logl(1 - a));
        r->A[i] = a;
        r->loss += l / dm;
        r->lossmag += (l + fabsl(a - y) * Zm[i]) / dm;
        dZ[i] = (a - y) / dm;
        dZm[i] = (fabsl(a - y) + a + Zm[i]) / dm;
    }
    ref_param_grads(p, dZ, dZm, r);
    free(Z); free(Zm); free(dZ); free(dZm);
}

/* Softmax cross-entropy with dense non-negative targets Y. Logits of -inf
 * (with y = 0) are allowed: they contribute nothing. */
static void ref_softmax_ce(const problem *p, const double *Y, ref_t *r)
{
    size_t n = p->m * p->k, k = p->k;
    long double *Z = tu_lalloc(n), *Zm = tu_lalloc(n), *dZ = tu_lalloc(n), *dZm = tu_lalloc(n);
    long double dm = (long double)p->m;
    ref_logits(p, Z, Zm);
    r->A = tu_lalloc(n);
    r->loss = r->lossmag = 0;
    for (size_t i = 0; i < p->m; i++) {
        const long double *z = Z + i * k, *zm = Zm + i * k;
        long double mx = -INFINITY, s = 0, zmax = 0, ysum = 0;
        for (size_t j = 0; j < k; j++) {
            mx = z[j] > mx ? z[j] : mx;
            if (isfinite(zm[j])) zmax = zm[j] > zmax ? zm[j] : zmax;
            ysum += Y[i * k + j];
        }
        for (size_t j = 0; j < k; j++) s += expl(z[j] - mx);
        long double lse = mx + logl(s);
        for (size_t j = 0; j < k; j++) {
            long double y = Y[i * k + j], a = expl(z[j] - lse);
            r->A[i * k + j] = a;
            if (y != 0) {
                r->loss += y * (lse - z[j]) / dm;
                r->lossmag += y * (lse - z[j] + fabsl(lse) + fabsl(z[j]) +
                                   2 * zmax) / dm;
            }
            dZ[i * k + j] = (a * ysum - y) / dm;
            dZm[i * k + j] = (a * ysum * (1 + 2 * zmax) + fabsl(y)) / dm;
        }
    }
    ref_param_grads(p, dZ, dZm, r);
    free(Z); free(Zm); free(dZ); free(dZm);
}

/* Compare a net's loss (from nn_net_loss and nn_net_gradient) and gradients
 * with a reference. */
static void check_net(const char *ctx, nn_net_t *net, const problem *p,
                      const double *Y, const ref_t *r)
{
    double loss = NAN, loss2 = NAN;
    double *dW = tu_dalloc(p->nin * p->k), *db = tu_dalloc(p->k);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, p->m, NN_ROW_MAJOR, p->X, p->nin, Y, p->k,
                              &loss));
    expect_close1(ctx, "loss (nn_net_loss)", loss, r->loss, r->lossmag);
    NN_OK_OR_FAIL(nn_net_gradient(net, p->m, NN_ROW_MAJOR, p->X, p->nin, Y,
                                  p->k, &loss2));
    expect_close1(ctx, "loss (nn_net_gradient)", loss2, r->loss, r->lossmag);
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW, p->k, db));
    expect_close(ctx, "dW", p->nin * p->k, dW, r->dW, r->dWmag);
    expect_close(ctx, "db", p->k, db, r->db, r->dbmag);
    /* the borrowed gradient storage holds the same numbers */
    ck_assert(memcmp(dW, tu_net_dW(net, 0),
                     p->nin * p->k * sizeof(double)) == 0);
    ck_assert(memcmp(db, tu_net_db(net, 0), p->k * sizeof(double)) == 0);
    free(dW); free(db);
}

/* Random problem: X in [-1,1), W scaled to keep |z| moderate, b. */
typedef struct {
    problem p;
    double *X, *W, *b, *Y;
} owned;

static owned make_problem(uint64_t seed, size_t m, size_t nin, size_t k,
                          double wscale)
{
    tu_rng r = {seed};
    owned o;
    o.X = tu_dalloc(m * nin); o.W = tu_dalloc(nin * k); o.b = tu_dalloc(k);
    o.Y = tu_dalloc(m * k);
    double w = wscale * sqrt(3.0 / (double)nin);
    tu_fill(&r, o.X, m * nin, -1, 1);
    tu_fill(&r, o.W, nin * k, -w, w);
    tu_fill(&r, o.b, k, -0.5, 0.5);
    tu_fill(&r, o.Y, m * k, 0, 1);
    o.p = (problem){m, nin, k, o.X, o.W, o.b};
    return o;
}

static void free_owned(owned *o)
{
    free(o->X); free(o->W); free(o->b); free(o->Y);
}

typedef struct {
    size_t m, nin, k;
} shape_t;

static const shape_t SHAPES[] = {
    {1, 1, 1}, {1, 4, 3}, {7, 5, 3}, {20, 9, 4}, {33, 2, 1}, {64, 30, 10},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* ------------------------------------------------------------ MSE */
START_TEST(test_mse_reference)
{
    static const nn_activation acts[] = {NN_ACT_IDENTITY, NN_ACT_SIGMOID,
                                         NN_ACT_TANH};
    const shape_t *s = &SHAPES[_i];
    for (size_t a = 0; a < 3; a++) {
        owned o = make_problem(10 + 7 * (uint64_t)_i + a, s->m, s->nin, s->k, 2.0);
        tu_rng r = {99 + a};
        tu_fill(&r, o.Y, s->m * s->k, -1, 1); /* targets on both sides */
        nn_net_t *net = make_net(s->nin, s->k, acts[a], NN_LOSS_MSE, o.W, o.b);
        ref_t ref;
        ref_mse(&o.p, acts[a], o.Y, &ref);
        char ctx[80];
        snprintf(ctx, sizeof ctx, "MSE act=%d m=%zu n_in=%zu k=%zu", (int)acts[a],
                 s->m, s->nin, s->k);
        check_net(ctx, net, &o.p, o.Y, &ref);
        /* predict gives g(z) once (the loss does not re-apply g) */
        double *P = tu_dalloc(s->m * s->k);
        long double *Pm = tu_lalloc(s->m * s->k);
        for (size_t i = 0; i < s->m * s->k; i++) Pm[i] = 4 * s->nin;
        NN_OK_OR_FAIL(nn_net_predict(net, NULL, s->m, NN_ROW_MAJOR, o.X, s->nin, P, s->k));
        expect_close(ctx, "predict", s->m * s->k, P, ref.A, Pm);
        free(P); free(Pm);
        ref_free(&ref);
        nn_net_destroy(net);
        free_owned(&o);
    }
}
END_TEST

/* ------------------------------------------------------------ BCE */
START_TEST(test_bce_moderate_logits)
{
    const shape_t *s = &SHAPES[_i];
    for (int soft = 0; soft < 2; soft++) {
        /* wscale 4: |z| up to ~6, where the naive long double form is exact
         * enough */
        owned o = make_problem(300 + 5 * (uint64_t)_i + soft, s->m, s->nin, s->k, 4.0);
        if (!soft)
            for (size_t i = 0; i < s->m * s->k; i++) o.Y[i] = o.Y[i] < 0.5 ? 0 : 1;
        nn_net_t *net = make_net(s->nin, s->k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
        ref_t ref;
        ref_bce(&o.p, o.Y, &ref);
        char ctx[80];
        snprintf(ctx, sizeof ctx, "BCE %s m=%zu n_in=%zu k=%zu",
                 soft ? "soft" : "0/1", s->m, s->nin, s->k);
        check_net(ctx, net, &o.p, o.Y, &ref);
        ref_free(&ref);
        nn_net_destroy(net);
        free_owned(&o);
    }
}
END_TEST

/* Labels c stand for e_c (k > 1) or for the value c (k == 1): the same
 * numbers as the dense targets, bitwise. */
START_TEST(test_bce_labels_equal_dense_targets)
{
    static const size_t ks[] = {1, 3};
    for (size_t t = 0; t < 2; t++) {
        size_t m = 9, nin = 4, k = ks[t];
        owned o = make_problem(400 + t, m, nin, k, 3.0);
        int32_t labels[9];
        tu_rng r = {401 + t};
        for (size_t i = 0; i < m; i++) {
            labels[i] = (int32_t)(tu_next(&r) % (k == 1 ? 2 : k));
            for (size_t j = 0; j < k; j++)
                o.Y[i * k + j] = k == 1 ? (double)labels[i] : (labels[i] == (int32_t)j);
        }
        nn_net_t *net = make_net(nin, k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
        ref_t ref;
        ref_bce(&o.p, o.Y, &ref);
        check_net(k == 1 ? "BCE k=1 labels" : "BCE k=3 labels", net, &o.p, o.Y, &ref);
        double ld, ll, gd, gl, dWd[12], dWl[12], dbd[3], dbl[3];
        NN_OK_OR_FAIL(nn_net_loss(net, NULL, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &ld));
        NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, m, NN_ROW_MAJOR, o.X, nin, labels, &ll));
        ck_assert(memcmp(&ld, &ll, sizeof ld) == 0);
        NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &gd));
        NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWd, k, dbd));
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, m, NN_ROW_MAJOR, o.X, nin, labels, &gl));
        NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWl, k, dbl));
        ck_assert(memcmp(&gd, &gl, sizeof gd) == 0);
        ck_assert(memcmp(dWd, dWl, nin * k * sizeof(double)) == 0);
        ck_assert(memcmp(dbd, dbl, k * sizeof(double)) == 0);
        ref_free(&ref);
        nn_net_destroy(net);
        free_owned(&o);
    }
}
END_TEST

/* Logits +-1000: the loss is the closed form, nothing overflows. One input
 * x, W = 500, b = 0, so z = 500 x. */
START_TEST(test_bce_large_logits_closed_form)
{
    double W = 500.0, b = 0.0, loss;
    nn_net_t *net = make_net(1, 1, NN_ACT_SIGMOID, NN_LOSS_BCE, &W, &b);
    /* single samples: l = max(z,0) - z y + log1p(exp(-|z|)) */
    static const struct { double x, y, l; } one[] = {
        {2, 0, 1000}, {-2, 1, 1000}, {2, 1, 0}, {-2, 0, 0},
        {2, 0.25, 750}, {-2, 0.25, 250},
    };
    for (size_t c = 0; c < sizeof one / sizeof one[0]; c++) {
        NN_OK_OR_FAIL(nn_net_loss(net, NULL, 1, NN_ROW_MAJOR, &one[c].x, 1, &one[c].y,
                                  1, &loss));
        ck_assert_msg(loss == one[c].l, "z=%g y=%g: loss %.17g, expected %g",
                      500 * one[c].x, one[c].y, loss, one[c].l);
    }
    /* a batch: z = [1000, -1000, 1000, -1000], y = [0, 1, 1, 0]
     * loss = (1000 + 1000 + 0 + 0)/4; dZ = (sigmoid(z) - y)/4 =
     * [1/4, -1/4, 0, 0]; dW = sum x dZ = 2/4 + 2/4 = 1; db = 0 */
    double X[4] = {2, -2, 2, -2}, Y[4] = {0, 1, 1, 0}, dW, db;
    NN_OK_OR_FAIL(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, 1, Y, 1, &loss));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, &dW, 1, &db));
    expect_exact("loss", loss, 500.0);
    expect_exact("dW", dW, 1.0);
    ck_assert_msg(db == 0.0, "db = %g", db);
    nn_net_destroy(net);
}
END_TEST

/* Logits of +-inf. nn.h promises a finite loss for every finite logit; at
 * z = +-inf the documented behaviour is the limit: a matching target
 * (y = 1 at +inf, y = 0 at -inf) contributes 0, a mismatching one +inf,
 * and the gradient sigmoid(z) - y stays finite (sigmoid(+-inf) = 1, 0). */
START_TEST(test_bce_infinite_logits)
{
    /* (a) z = x * 1e308 with x = +-10 overflows to +-inf inside the product */
    double W = 1e308, b = 0.0, loss, dW, db, P[2];
    nn_net_t *net = make_net(1, 1, NN_ACT_SIGMOID, NN_LOSS_BCE, &W, &b);
    double X[2] = {10, -10}, Ymatch[2] = {1, 0}, Ymiss[2] = {0, 1};
    NN_OK_OR_FAIL(nn_net_gradient(net, 2, NN_ROW_MAJOR, X, 1, Ymatch, 1, &loss));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, &dW, 1, &db));
    ck_assert_msg(loss == 0.0, "matching targets at +-inf: loss %g", loss);
    ck_assert_msg(dW == 0.0 && db == 0.0, "dW %g db %g", dW, db);
    NN_OK_OR_FAIL(nn_net_gradient(net, 2, NN_ROW_MAJOR, X, 1, Ymiss, 1, &loss));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, &dW, 1, &db));
    ck_assert_msg(isinf(loss) && loss > 0, "mismatching targets: loss %g", loss);
    /* dZ = [(1-0)/2, (0-1)/2]; dW = 10/2 + (-10)(-1/2) = 10; db = 0 */
    expect_exact("dW", dW, 10.0);
    ck_assert_msg(db == 0.0, "db = %g", db);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 2, NN_ROW_MAJOR, X, 1, P, 1));
    ck_assert_msg(P[0] == 1.0 && P[1] == 0.0, "sigmoid(+-inf) = %g, %g", P[0], P[1]);
    /* labels follow the same rules */
    int32_t lab_match[2] = {1, 0}, lab_miss[2] = {0, 1};
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 2, NN_ROW_MAJOR, X, 1, lab_match, &loss));
    ck_assert(loss == 0.0);
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 2, NN_ROW_MAJOR, X, 1, lab_miss, &loss));
    ck_assert(isinf(loss) && loss > 0);
    nn_net_destroy(net);

    /* (b) bias = +-inf written through the borrowed pointer; k = 2 outputs:
     * column 0 at +inf, column 1 at -inf */
    double W2[2] = {0.5, -0.25};
    net = make_net(1, 2, NN_ACT_SIGMOID, NN_LOSS_BCE, W2, NULL);
    double *bp = tu_net_b(net, 0);
    ck_assert_ptr_nonnull(bp);
    bp[0] = INFINITY;
    bp[1] = -INFINITY;
    double X3[3] = {1, 2, 3}, dW2[2], db2[2];
    double Yok[6] = {1, 0, 1, 0, 1, 0};
    double Ybad[6] = {1, 0, 0, 0, 1, 1}; /* row 1 col 0 and row 2 col 1 miss */
    NN_OK_OR_FAIL(nn_net_gradient(net, 3, NN_ROW_MAJOR, X3, 1, Yok, 2, &loss));
    ck_assert_msg(loss == 0.0, "loss %g", loss);
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW2, 2, db2));
    for (int j = 0; j < 2; j++) ck_assert(dW2[j] == 0.0 && db2[j] == 0.0);
    NN_OK_OR_FAIL(nn_net_gradient(net, 3, NN_ROW_MAJOR, X3, 1, Ybad, 2, &loss));
    ck_assert_msg(isinf(loss) && loss > 0, "loss %g", loss);
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW2, 2, db2));
    /* dZ col 0 = [0, 1/3, 0], col 1 = [0, 0, -1/3] */
    expect_exact("dW[0]", dW2[0], 2.0 / 3.0);
    expect_exact("dW[1]", dW2[1], -1.0);
    expect_exact("db[0]", db2[0], 1.0 / 3.0);
    expect_exact("db[1]", db2[1], -1.0 / 3.0);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ softmax CE */
START_TEST(test_softmax_labels_equal_one_hot)
{
    const shape_t *s = &SHAPES[_i];
    size_t m = s->m, nin = s->nin, k = s->k + 1; /* k >= 2 */
    owned o = make_problem(500 + (uint64_t)_i, m, nin, k, 3.0);
    tu_rng r = {501 + (uint64_t)_i};
    int32_t *labels = malloc(m * sizeof(int32_t));
    ck_assert_ptr_nonnull(labels);
    for (size_t i = 0; i < m; i++) {
        labels[i] = (int32_t)(tu_next(&r) % k);
        for (size_t j = 0; j < k; j++) o.Y[i * k + j] = labels[i] == (int32_t)j;
    }
    nn_net_t *net = make_net(nin, k, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, o.W, o.b);
    ref_t ref;
    ref_softmax_ce(&o.p, o.Y, &ref);
    char ctx[80];
    snprintf(ctx, sizeof ctx, "softmax CE one-hot m=%zu n_in=%zu k=%zu", m, nin, k);
    check_net(ctx, net, &o.p, o.Y, &ref);

    double ld, ll, gd, gl;
    double *dWd = tu_dalloc(nin * k), *dWl = tu_dalloc(nin * k);
    double *dbd = tu_dalloc(k), *dbl = tu_dalloc(k);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &ld));
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, m, NN_ROW_MAJOR, o.X, nin, labels, &ll));
    ck_assert_msg(memcmp(&ld, &ll, sizeof ld) == 0, "%.17g vs %.17g", ld, ll);
    NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &gd));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWd, k, dbd));
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, m, NN_ROW_MAJOR, o.X, nin, labels, &gl));
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWl, k, dbl));
    ck_assert(memcmp(&gd, &gl, sizeof gd) == 0);
    ck_assert(memcmp(&gd, &ld, sizeof gd) == 0);
    ck_assert(memcmp(dWd, dWl, nin * k * sizeof(double)) == 0);
    ck_assert(memcmp(dbd, dbl, k * sizeof(double)) == 0);
    free(dWd); free(dWl); free(dbd); free(dbl); free(labels);
    ref_free(&ref);
    nn_net_destroy(net);
    free_owned(&o);
}
END_TEST

/* Soft targets: rows summing to 1, and (nn.h: "any non-negative rows")
 * rows with other sums, where dZ = (A sum_j y_j - Y)/m. */
START_TEST(test_softmax_soft_targets)
{
    for (int norm = 0; norm < 2; norm++) {
        size_t m = 12, nin = 6, k = 5;
        owned o = make_problem(600 + norm, m, nin, k, 3.0);
        for (size_t i = 0; i < m; i++) {
            double s = 0;
            for (size_t j = 0; j < k; j++) s += o.Y[i * k + j];
            /* normalised rows, or rows summing to 0.5 .. 2.5 */
            double want = norm ? 1.0 : 0.5 + (double)(i % 5) * 0.5;
            for (size_t j = 0; j < k; j++) o.Y[i * k + j] *= want / s;
        }
        o.Y[3 * k + 2] = 0.0; /* a zero entry in a soft row */
        nn_net_t *net = make_net(nin, k, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, o.W, o.b);
        ref_t ref;
        ref_softmax_ce(&o.p, o.Y, &ref);
        check_net(norm ? "soft targets" : "unnormalised targets", net, &o.p, o.Y,
                  &ref);
        ref_free(&ref);
        nn_net_destroy(net);
        free_owned(&o);
    }
}
END_TEST

/* Logits of +-1000 through the identity: W = I (3x3), b = 0, X = logits. */
START_TEST(test_softmax_stable_large_logits)
{
    double W[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, b[3] = {0, 0, 0};
    nn_net_t *net = make_net(3, 3, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, W, b);
    double X[3] = {1000, -1000, 0}, loss, dW[9], db[3];
    int32_t lab;
    lab = 0;
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 1, NN_ROW_MAJOR, X, 3, &lab, &loss));
    ck_assert_msg(fabs(loss) < 1e-12, "label 0: loss %g, expected ~0", loss);
    lab = 2;
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 1, NN_ROW_MAJOR, X, 3, &lab, &loss));
    expect_exact("label 2 loss", loss, 1000.0);
    lab = 1;
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, 1, NN_ROW_MAJOR, X, 3, &lab, &loss));
    expect_exact("label 1 loss", loss, 2000.0);
    /* softmax = [1, 0, 0] (to double), dZ = [1, -1, 0], dW = x dZ^T */
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dW, 3, db));
    static const double dW_want[9] = {1000, -1000, 0, -1000, 1000, 0, 0, 0, 0};
    static const double db_want[3] = {1, -1, 0};
    for (int i = 0; i < 9; i++) ck_assert_msg(dW[i] == dW_want[i], "dW[%d] = %g", i, dW[i]);
    for (int i = 0; i < 3; i++) ck_assert_msg(db[i] == db_want[i], "db[%d] = %g", i, db[i]);
    /* dense one-hot target, two rows: mean of 0 and 2000 */
    double X2[6] = {1000, -1000, 0, 1000, -1000, 0};
    double Y2[6] = {1, 0, 0, 0, 1, 0};
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, 2, NN_ROW_MAJOR, X2, 3, Y2, 3, &loss));
    expect_exact("batch loss", loss, 1000.0);
    nn_net_destroy(net);
}
END_TEST

/* A logit of -inf with a zero target: finite loss and gradient (the class
 * simply has probability 0). A row of only -inf, or a NaN logit: NaN loss
 * (documented in lib: no probability distribution exists). */
START_TEST(test_softmax_infinite_and_nan_logits)
{
    size_t m = 4, nin = 2, k = 3;
    owned o = make_problem(700, m, nin, k, 2.0);
    nn_net_t *net = make_net(nin, k, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, o.W, o.b);
    tu_net_b(net, 0)[0] = -INFINITY;
    o.b[0] = -INFINITY; /* the reference sees the same logits */
    for (size_t i = 0; i < m; i++) {
        o.Y[i * k + 0] = 0.0;
        o.Y[i * k + 1] = 0.3;
        o.Y[i * k + 2] = 0.7;
    }
    ref_t ref;
    ref_softmax_ce(&o.p, o.Y, &ref);
    ck_assert(isfinite((double)ref.loss));
    /* the magnitudes of the -inf column are not finite: use the others' */
    for (size_t q = 0; q < nin; q++) ref.dWmag[q * k] = 0;
    ref.dbmag[0] = 0;
    check_net("softmax with a -inf logit", net, &o.p, o.Y, &ref);
    double loss, P[12];
    int32_t labels[4] = {1, 2, 2, 1};
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, m, NN_ROW_MAJOR, o.X, nin, labels, &loss));
    ck_assert(isfinite(loss));
    for (size_t i = 0; i < nin * k; i++) ck_assert(isfinite(tu_net_dW(net, 0)[i]));
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, m, NN_ROW_MAJOR, o.X, nin, P, k));
    for (size_t i = 0; i < m; i++) {
        ck_assert(P[i * k] == 0.0);
        ck_assert(fabs(P[i * k + 1] + P[i * k + 2] - 1.0) < 1e-15);
    }

    /* every logit -inf: NaN */
    for (size_t j = 0; j < k; j++) tu_net_b(net, 0)[j] = -INFINITY;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &loss));
    ck_assert_msg(isnan(loss), "all -inf row: loss %g, expected NaN", loss);
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, m, NN_ROW_MAJOR, o.X, nin, labels, &loss));
    ck_assert_msg(isnan(loss), "all -inf row (labels): loss %g", loss);

    /* a NaN logit */
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, o.W, k, NULL));
    for (size_t j = 0; j < k; j++) tu_net_b(net, 0)[j] = 0.0;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &loss));
    ck_assert(isfinite(loss));
    tu_net_b(net, 0)[1] = NAN;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &loss));
    ck_assert_msg(isnan(loss), "NaN logit: loss %g, expected NaN", loss);
    ref_free(&ref);
    nn_net_destroy(net);
    free_owned(&o);
}
END_TEST

/* ------------------------------------------------------------ predict */
START_TEST(test_predict_probabilities)
{
    size_t m = 10, nin = 7, k = 4;
    owned o = make_problem(800, m, nin, k, 3.0);
    double P[40], Pc[60], Pt[40];
    long double *mag = tu_lalloc(m * k);
    for (size_t i = 0; i < m * k; i++) mag[i] = 4 * nin;
    ref_t ref;

    nn_net_t *net = make_net(nin, k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
    ref_bce(&o.p, o.Y, &ref);
    tu_fill_value(P, 40, NAN);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, m, NN_ROW_MAJOR, o.X, nin, P, k));
    expect_close("BCE predict = sigmoid(z)", "P", m * k, P, ref.A, mag);
    ref_free(&ref);
    nn_net_destroy(net);

    net = make_net(nin, k, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, o.W, o.b);
    ref_softmax_ce(&o.p, o.Y, &ref);
    tu_fill_value(P, 40, NAN);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, m, NN_ROW_MAJOR, o.X, nin, P, k));
    expect_close("softmax predict", "P", m * k, P, ref.A, mag);
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t j = 0; j < k; j++) s += P[i * k + j];
        ck_assert_msg(fabs(s - 1.0) < 1e-14, "row %zu sums to %.17g", i, s);
    }
    /* column-major, ld > m: bitwise the same numbers */
    double *Xc = tu_dalloc(nin * 13);
    for (size_t i = 0; i < m; i++)
        for (size_t q = 0; q < nin; q++) Xc[q * 13 + i] = o.X[i * nin + q];
    tu_fill_value(Pc, 60, NAN);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, m, NN_COL_MAJOR, Xc, 13, Pc, 15));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) Pt[i * k + j] = Pc[j * 15 + i];
    ck_assert(memcmp(Pt, P, sizeof Pt) == 0);
    for (size_t j = 0; j < k; j++)
        for (size_t i = m; i < 15; i++) ck_assert(isnan(Pc[j * 15 + i]));
    free(Xc);
    free(mag);
    ref_free(&ref);
    nn_net_destroy(net);
    free_owned(&o);
}
END_TEST

/* ------------------------------------------------------------ check_finite */
START_TEST(test_check_finite)
{
    size_t m = 5, nin = 3, k = 2;
    owned o = make_problem(900, m, nin, k, 1.0);
    for (size_t i = 0; i < m * k; i++) o.Y[i] = o.Y[i] < 0.5 ? 0 : 1;
    nn_net_t *net = make_net(nin, k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
    size_t np = nn_net_n_params(net);
    ck_assert_uint_eq(np, nin * k + k);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));

    /* a clean batch passes, and a step moves the parameters */
    double loss, before[8], after[8];
    NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &loss));
    ck_assert(isfinite(loss));
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, before, k, before + 6));
    double g[8];
    NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, g, k, g + 6));
    NN_OK_OR_FAIL(tu_sgd_step(net, 0.5));
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, after, k, after + 6));
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(fabs(after[i] - (before[i] - 0.5 * g[i])) <=
                          4e-16 * (fabs(before[i]) + fabs(0.5 * g[i])),
                      "param %zu: %.17g, expected %.17g - 0.5 * %.17g", i,
                      after[i], before[i], g[i]);
    ck_assert(memcmp(before, after, np * sizeof(double)) != 0);

    /* a NaN in X: gradient and step report NN_ERR_NUMERIC, params kept */
    double *Xn = tu_dalloc(m * nin);
    memcpy(Xn, o.X, m * nin * sizeof(double));
    Xn[2 * nin + 1] = NAN;
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, before, k, before + 6));
    loss = 12345.0;
    ck_assert_int_eq(nn_net_gradient(net, m, NN_ROW_MAJOR, Xn, nin, o.Y, k, &loss),
                     NN_ERR_NUMERIC);
    ck_assert(loss == 12345.0); /* a failed call writes no loss */
    /* the gradient array holds the non-finite values, and is not current */
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    {
        int nonfinite = 0;
        for (size_t i = 0; i < np; i++) nonfinite |= !isfinite(nn_net_grads(net)[i]);
        ck_assert(nonfinite);
    }
    /* the non-finite gradients are marked unusable: no step applies them,
     * even with check-finite turned off in between */
    ck_assert_int_eq(tu_sgd_step(net, 0.5), NN_ERR_STATE);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 0));
    ck_assert_int_eq(tu_sgd_step(net, 0.5), NN_ERR_STATE);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, after, k, after + 6));
    ck_assert(memcmp(before, after, np * sizeof(double)) == 0);

    /* a NaN gradient declared current by hand: the step refuses it
     * (NN_ERR_NUMERIC) and changes nothing */
    {
        double gnan[8];
        for (size_t i = 0; i < np; i++) gnan[i] = 0.25;
        gnan[3] = NAN;
        NN_OK_OR_FAIL(nn_net_set_grads(net, gnan, np));
        ck_assert_int_eq(nn_net_has_grads(net), 1);
        ck_assert_int_eq(tu_sgd_step(net, 0.5), NN_ERR_NUMERIC);
        NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, after, k, after + 6));
        ck_assert(memcmp(before, after, np * sizeof(double)) == 0);
    }
    nn_net_destroy(net);

    /* the same on a fresh net that never had a finite gradient */
    net = make_net(nin, k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    ck_assert_int_eq(nn_net_gradient(net, m, NN_ROW_MAJOR, Xn, nin, o.Y, k, &loss),
                     NN_ERR_NUMERIC);
    ck_assert_int_eq(tu_sgd_step(net, 0.5), NN_ERR_STATE);
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, after, k, after + 6));
    ck_assert(memcmp(o.W, after, nin * k * sizeof(double)) == 0);
    ck_assert(memcmp(o.b, after + 6, k * sizeof(double)) == 0);

    /* off (the default behaviour): NN_OK and a NaN loss */
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 0));
    loss = 0.0;
    NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, Xn, nin, o.Y, k, &loss));
    ck_assert_msg(isnan(loss), "loss %g, expected NaN", loss);
    nn_net_destroy(net);
    net = make_net(nin, k, NN_ACT_SIGMOID, NN_LOSS_BCE, o.W, o.b);
    NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, Xn, nin, o.Y, k, &loss));
    ck_assert(isnan(loss));
    free(Xn);
    nn_net_destroy(net);
    free_owned(&o);
}
END_TEST

/* ------------------------------------------------------------ labels */
START_TEST(test_labels_out_of_range)
{
    double X[8] = {0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8}, loss;
    static const struct { size_t k; nn_activation act; nn_loss loss; int32_t bad; }
    cases[] = {
        {3, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, 3},
        {3, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, 1000},
        {1, NN_ACT_SIGMOID, NN_LOSS_BCE, 2},  /* single output: 0 or 1 */
        {3, NN_ACT_SIGMOID, NN_LOSS_BCE, 3},  /* multi-label: < k */
        {1, NN_ACT_IDENTITY, NN_LOSS_MSE, 2},
        {2, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, -1},
        {3, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE, INT32_MIN},
        {1, NN_ACT_SIGMOID, NN_LOSS_BCE, -1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_net_t *net = make_net(2, cases[c].k, cases[c].act, cases[c].loss, NULL, NULL);
        int32_t good[4] = {0, 1, 0, 1}, bad[4] = {0, 1, 0, 1};
        bad[2] = cases[c].bad;
        NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 4, NN_ROW_MAJOR, X, 2, good, &loss));
        ck_assert(isfinite(loss));
        loss = -7.0;
        ck_assert_int_eq(nn_net_loss_labels(net, NULL, 4, NN_ROW_MAJOR, X, 2, bad, &loss),
                         NN_ERR_INVALID);
        ck_assert(loss == -7.0); /* nothing written on failure */
        ck_assert_int_eq(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, 2, bad, &loss),
                         NN_ERR_INVALID);
        ck_assert(loss == -7.0);
        /* no gradient was computed: a step is out of order, and there is
         * no gradient to read */
        ck_assert_int_eq(nn_net_has_grads(net), 0);
        ck_assert_int_eq(tu_sgd_step(net, 0.1), NN_ERR_STATE);
        double gw[6] = {5, 5, 5, 5, 5, 5}, gb[3] = {5, 5, 5};
        ck_assert_int_eq(nn_net_get_grads(net, 0, NN_ROW_MAJOR, gw, cases[c].k, gb),
                         NN_ERR_STATE);
        for (int q = 0; q < 6; q++) ck_assert(gw[q] == 5);
        for (int q = 0; q < 3; q++) ck_assert(gb[q] == 5);
        nn_net_destroy(net);
    }
    /* the single-output label is the target value: label 1 == y = 1 */
    double W[2] = {0.3, -0.2}, b = 0.1, Y1[4] = {1, 0, 1, 1}, ld, ll;
    int32_t l1[4] = {1, 0, 1, 1};
    nn_net_t *net = make_net(2, 1, NN_ACT_SIGMOID, NN_LOSS_BCE, W, &b);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, 4, NN_ROW_MAJOR, X, 2, Y1, 1, &ld));
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 4, NN_ROW_MAJOR, X, 2, l1, &ll));
    ck_assert(memcmp(&ld, &ll, sizeof ld) == 0);
    nn_net_destroy(net);
}
END_TEST

/* The label range [0, n_out) (for one output: {0, 1}, the target value) is
 * enforced by every call that takes labels, at both ends: the largest valid
 * label is accepted and the next one, or -1, refused, with nothing changed.
 * Batch calls answer NN_ERR_INVALID; calls on a data set NN_ERR_SHAPE (the
 * labels do not fit the net); nn_data_set_labels refuses a negative label. */
static void expect_labels_refused(nn_net_t *net, const double *X,
                                  const int32_t *bad)
{
    size_t np = nn_net_n_params(net);
    double *p0 = tu_dalloc(np), loss = -7.0;
    memcpy(p0, nn_net_params(net), np * sizeof(double));
    ck_assert_int_eq(nn_net_loss_labels(net, NULL, 4, NN_ROW_MAJOR, X, 2, bad,
                                        &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, 2, bad,
                                            &loss), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    /* plain SGD takes the fused step, Adam gradient + update */
    const nn_optim_kind kinds[2] = {NN_OPTIM_SGD, NN_OPTIM_ADAM};
    for (int q = 0; q < 2; q++) {
        nn_optim_t *opt = NULL;
        NN_OK_OR_FAIL(nn_optim_create(&opt, net, kinds[q], NULL));
        ck_assert_int_eq(nn_net_train_step_labels(net, opt, 4, NN_ROW_MAJOR, X,
                                                  2, bad, &loss),
                         NN_ERR_INVALID);
        int64_t steps = -1;
        NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_STEPS, &steps));
        ck_assert_int_eq(steps, 0);
        nn_optim_destroy(opt);
    }
    ck_assert(loss == -7.0);
    ck_assert(memcmp(p0, nn_net_params(net), np * sizeof(double)) == 0);
    free(p0);
}

/* The data-set calls on labels lab (all valid for the data set): NN_OK when
 * want == NN_OK, else that status and nothing changed. */
static void expect_data_calls(nn_net_t *net, const double *X,
                              const int32_t *lab, nn_status want)
{
    nn_data_t *d = tu_data(X, 4, 2, lab, NULL);
    size_t np = nn_net_n_params(net);
    double *p0 = tu_dalloc(np);
    memcpy(p0, nn_net_params(net), np * sizeof(double));
    const int32_t acc_key = NN_METRIC_ACCURACY;
    double acc = -1;
    size_t counts[9] = {0};
    ck_assert_int_eq(nn_net_evaluate(net, NULL, d, 1, &acc_key, &acc), want);
    ck_assert_int_eq(nn_net_confusion(net, NULL, d, counts), want);
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_SGD, NULL));
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_EPOCHS, 1));
    ck_assert_int_eq(nn_train(t, net, opt, d, NULL), want);
    if (want) {
        ck_assert(acc == -1);
        for (int i = 0; i < 9; i++) ck_assert_uint_eq(counts[i], 0);
        ck_assert(memcmp(p0, nn_net_params(net), np * sizeof(double)) == 0);
    } else {
        size_t k = nn_net_n_out(net) == 1 ? 2 : nn_net_n_out(net), total = 0;
        for (size_t i = 0; i < k * k; i++) total += counts[i];
        ck_assert_uint_eq(total, 4);
        ck_assert(acc >= 0 && acc <= 1);
    }
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_data_destroy(d);
    free(p0);
}

START_TEST(test_label_range_every_call)
{
    const double X[8] = {0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8};
    static const struct { size_t k; nn_activation act; nn_loss loss; } nets[] = {
        {3, NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE},
        {1, NN_ACT_SIGMOID, NN_LOSS_BCE},
        {1, NN_ACT_IDENTITY, NN_LOSS_MSE},
    };
    for (size_t c = 0; c < sizeof nets / sizeof nets[0]; c++) {
        nn_net_t *net = make_net(2, nets[c].k, nets[c].act, nets[c].loss, NULL,
                                 NULL);
        /* the largest label: n_out - 1, or 1 for one output */
        const int32_t top = nets[c].k == 1 ? 1 : (int32_t)nets[c].k - 1;
        const int32_t good[4] = {0, top, top, 0};
        double loss = NAN;
        NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, 4, NN_ROW_MAJOR, X, 2, good,
                                         &loss));
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, 2, good,
                                             &loss));
        nn_optim_t *opt = tu_sgd(net, 0.01);
        NN_OK_OR_FAIL(nn_net_train_step_labels(net, opt, 4, NN_ROW_MAJOR, X, 2,
                                               good, &loss));
        nn_optim_destroy(opt);
        expect_data_calls(net, X, good, NN_OK);

        const int32_t bads[2] = {top + 1, -1};
        for (int b = 0; b < 2; b++) {
            const int32_t bad[4] = {0, top, bads[b], 0};
            expect_labels_refused(net, X, bad);
            if (bads[b] >= 0) {
                expect_data_calls(net, X, bad, NN_ERR_SHAPE);
                continue;
            }
            nn_data_t *d = tu_data(X, 4, 2, good, NULL);
            ck_assert_int_eq(nn_data_set_labels(d, bad), NN_ERR_INVALID);
            ck_assert(memcmp(nn_data_labels(d), good, sizeof good) == 0);
            nn_data_destroy(d);
        }
        nn_net_destroy(net);
    }
}
END_TEST

/* BCE needs a sigmoid output, softmax CE a softmax output. */
START_TEST(test_loss_requires_matching_output)
{
    tu_layer spec = {3, NN_ACT_IDENTITY, 0, 0};
    nn_net_t *net = NULL;
    ck_assert_int_eq(tu_net_try(&net, 2, 1, &spec, NN_LOSS_BCE, NULL), NN_ERR_INVALID);
    spec.act = NN_ACT_SOFTMAX;
    ck_assert_int_eq(tu_net_try(&net, 2, 1, &spec, NN_LOSS_BCE, NULL), NN_ERR_INVALID);
    spec.act = NN_ACT_SIGMOID;
    ck_assert_int_eq(tu_net_try(&net, 2, 1, &spec, NN_LOSS_SOFTMAX_CE, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_null(net);
    NN_OK_OR_FAIL(tu_net_try(&net, 2, 1, &spec, NN_LOSS_BCE, NULL));
    int64_t loss = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &loss));
    ck_assert_int_eq(loss, NN_LOSS_BCE);
    nn_net_destroy(net);
    net = NULL;
    spec.act = NN_ACT_SOFTMAX;
    NN_OK_OR_FAIL(tu_net_try(&net, 2, 1, &spec, NN_LOSS_SOFTMAX_CE, NULL));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &loss));
    ck_assert_int_eq(loss, NN_LOSS_SOFTMAX_CE);
    nn_net_destroy(net);
    net = NULL;
    NN_OK_OR_FAIL(tu_net_try(&net, 2, 1, &spec, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &loss));
    ck_assert_int_eq(loss, NN_LOSS_MSE);
    nn_net_destroy(net);
}
END_TEST

/* Issue 9, item 9: a single softmax output (loss 0 whatever the weights)
 * is refused at creation, with labels or dense targets in mind alike. */
START_TEST(test_single_softmax_output_refused)
{
    const nn_loss losses[] = {NN_LOSS_SOFTMAX_CE, NN_LOSS_MSE};
    for (size_t i = 0; i < 2; i++) {
        const tu_layer l[2] = {{4, NN_ACT_TANH, 0, 0}, {1, NN_ACT_SOFTMAX, 0, 0}};
        nn_net_t *net = (nn_net_t *)&l; /* sentinel: must stay */
        ck_assert_int_eq(tu_net_try(&net, 3, 2, l, losses[i], NULL), NN_ERR_INVALID);
        ck_assert_int_eq(tu_net_try(&net, 3, 1, l + 1, losses[i], NULL),
                         NN_ERR_INVALID);
        ck_assert_ptr_eq(net, (nn_net_t *)&l);
    }
}
END_TEST

/* Column-major X and Y (ld > m) give the row-major loss and gradients
 * bitwise, for every loss. */
START_TEST(test_col_major_loss_bitwise)
{
    static const struct { nn_activation act; nn_loss loss; } cases[] = {
        {NN_ACT_SIGMOID, NN_LOSS_MSE},
        {NN_ACT_SIGMOID, NN_LOSS_BCE},
        {NN_ACT_SOFTMAX, NN_LOSS_SOFTMAX_CE},
    };
    size_t m = 23, nin = 11, k = 4, ldx = 26, ldy = 24;
    for (size_t c = 0; c < 3; c++) {
        owned o = make_problem(1000 + c, m, nin, k, 2.0);
        nn_net_t *net = make_net(nin, k, cases[c].act, cases[c].loss, o.W, o.b);
        double *Xc = tu_dalloc(nin * ldx), *Yc = tu_dalloc(k * ldy);
        tu_fill_value(Xc, nin * ldx, NAN);
        tu_fill_value(Yc, k * ldy, NAN);
        for (size_t i = 0; i < m; i++) {
            for (size_t q = 0; q < nin; q++) Xc[q * ldx + i] = o.X[i * nin + q];
            for (size_t j = 0; j < k; j++) Yc[j * ldy + i] = o.Y[i * k + j];
        }
        double lr, lc, dWr[44], dbr[4], dWc[44], dbc[4];
        NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_ROW_MAJOR, o.X, nin, o.Y, k, &lr));
        NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWr, k, dbr));
        NN_OK_OR_FAIL(nn_net_gradient(net, m, NN_COL_MAJOR, Xc, ldx, Yc, ldy, &lc));
        NN_OK_OR_FAIL(nn_net_get_grads(net, 0, NN_ROW_MAJOR, dWc, k, dbc));
        ck_assert(isfinite(lr));
        ck_assert_msg(memcmp(&lr, &lc, sizeof lr) == 0, "loss %d: %.17g vs %.17g",
                      (int)cases[c].loss, lr, lc);
        ck_assert_msg(memcmp(dWr, dWc, sizeof dWr) == 0, "dW, loss %d",
                      (int)cases[c].loss);
        ck_assert_msg(memcmp(dbr, dbc, sizeof dbr) == 0, "db, loss %d",
                      (int)cases[c].loss);
        free(Xc); free(Yc);
        nn_net_destroy(net);
        free_owned(&o);
    }
}
END_TEST

static Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("values");
    tcase_add_loop_test(tc, test_mse_reference, 0, (int)N_SHAPES);
    tcase_add_loop_test(tc, test_bce_moderate_logits, 0, (int)N_SHAPES);
    tcase_add_test(tc, test_bce_labels_equal_dense_targets);
    tcase_add_test(tc, test_bce_large_logits_closed_form);
    tcase_add_test(tc, test_bce_infinite_logits);
    tcase_add_loop_test(tc, test_softmax_labels_equal_one_hot, 0, (int)N_SHAPES);
    tcase_add_test(tc, test_softmax_soft_targets);
    tcase_add_test(tc, test_softmax_stable_large_logits);
    tcase_add_test(tc, test_softmax_infinite_and_nan_logits);
    tcase_add_test(tc, test_predict_probabilities);
    tcase_add_test(tc, test_col_major_loss_bitwise);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("errors");
    tcase_add_test(te, test_check_finite);
    tcase_add_test(te, test_labels_out_of_range);
    tcase_add_test(te, test_label_range_every_call);
    tcase_add_test(te, test_loss_requires_matching_output);
    tcase_add_test(te, test_single_softmax_output_refused);
    suite_add_tcase(s, te);
    return s;
}

int main(void) { return tu_run(loss_suite()); }
