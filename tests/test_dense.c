/* test_dense.c — the standalone dense layer nn_dense_t and the layer products
 * it computes:
 *   forward   A  = g(X.W + b)
 *   backward  dZ = dA o g'(Z)   (softmax: dZ = A o (dA - rowsum(dA o A)))
 *             dW = X^T.dZ, db = colsum(dZ), dX = dZ.W^T   (no 1/m here)
 * Every expected value comes from naive loops in this file, evaluated in long
 * double from the formulas of nn.h. A result passes when
 *   |got - ref| <= 1e-12 * max(|ref|, mag)
 * where mag is the magnitude the value is conditioned by (the sum of the
 * absolute values of the terms that make it up, carried through g'), so a
 * wrong formula fails by O(1) while rounding passes by orders of magnitude. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define TOL 1e-12L

/* ------------------------------------------------------------ helpers */
typedef struct {
    nn_activation act;
    double slope;
    const char *name;
} act_case;

static const act_case ACTS[] = {
    {NN_ACT_IDENTITY, 0.0, "identity"},
    {NN_ACT_SIGMOID, 0.0, "sigmoid"},
    {NN_ACT_TANH, 0.0, "tanh"},
    {NN_ACT_RELU, 0.0, "relu"},
    {NN_ACT_LEAKY_RELU, 0.1, "leaky(0.1)"},
    {NN_ACT_LEAKY_RELU, 0.2, "leaky(0.2)"},
    {NN_ACT_LEAKY_RELU, 0.0, "leaky(0)"},
    {NN_ACT_SOFTMAX, 0.0, "softmax"},
};
#define N_ACTS (sizeof ACTS / sizeof ACTS[0])

/* Softmax needs at least 2 units (nn.h): a width-1 softmax layer is refused
 * (test_softmax_needs_two_units), so the sweeps leave that pair out. */
static bool act_fits(const act_case *ac, size_t nout)
{
    return ac->act != NN_ACT_SOFTMAX || nout >= 2;
}

typedef struct {
    size_t m, nin, nout;
} shape_t;

/* A quiet NaN with a payload: marks output padding, compared bitwise. */
static double sentinel(void)
{
    uint64_t u = 0x7ff8dead0000beefull;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static bool is_sentinel(double d)
{
    double s = sentinel();
    return memcmp(&d, &s, sizeof d) == 0;
}

/* Elements an m x n matrix with leading dimension ld occupies in `order`. */
static size_t span(nn_order o, size_t m, size_t n, size_t ld)
{
    return (o == NN_ROW_MAJOR ? m : n) * ld;
}

/* dst (order o, ld) <- src (compact row-major m x n). */
static void pack(nn_order o, size_t m, size_t n, const double *src,
                 double *dst, size_t ld)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            dst[o == NN_ROW_MAJOR ? i * ld + j : j * ld + i] = src[i * n + j];
}

/* dst (compact row-major m x n) <- src (order o, ld). */
static void unpack(nn_order o, size_t m, size_t n, const double *src,
                   size_t ld, double *dst)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            dst[i * n + j] = src[o == NN_ROW_MAJOR ? i * ld + j : j * ld + i];
}

/* True when every padding element (beyond the width of each line) of a
 * buffer pre-filled with sentinel() is still the sentinel. */
static bool padding_intact(nn_order o, size_t m, size_t n, const double *buf,
                           size_t ld)
{
    size_t lines = o == NN_ROW_MAJOR ? m : n, width = o == NN_ROW_MAJOR ? n : m;
    for (size_t l = 0; l < lines; l++)
        for (size_t c = width; c < ld; c++)
            if (!is_sentinel(buf[l * ld + c])) return false;
    return true;
}

static void expect_close(const char *ctx, const char *what, size_t cnt,
                         const double *got, const long double *ref,
                         const long double *mag)
{
    for (size_t i = 0; i < cnt; i++) {
        long double r = ref[i];
        long double s = fabsl(r) > mag[i] ? fabsl(r) : mag[i];
        long double e = fabsl((long double)got[i] - r);
        if (!(e <= TOL * s))
            ck_abort_msg("%s: %s[%zu] = %.17g, expected %.17Lg (err %.3Lg, "
                         "scale %.3Lg)",
                         ctx, what, i, got[i], r, e, s);
    }
}

/* ------------------------------------------------------------ reference */
/* g and g' in long double, straight from the definitions in nn.h. */
static long double g_ref(const act_case *ac, long double z)
{
    switch (ac->act) {
    case NN_ACT_SIGMOID: return 1.0L / (1.0L + expl(-z));
    case NN_ACT_TANH: return tanhl(z);
    case NN_ACT_RELU: return z > 0 ? z : 0.0L;
    case NN_ACT_LEAKY_RELU: return z > 0 ? z : (long double)ac->slope * z;
    default: return z;
    }
}

static long double gprime_ref(const act_case *ac, long double z)
{
    switch (ac->act) {
    case NN_ACT_SIGMOID: {
        long double s = 1.0L / (1.0L + expl(-z));
        return s * (1.0L - s);
    }
    case NN_ACT_TANH: {
        long double t = tanhl(z);
        return 1.0L - t * t;
    }
    case NN_ACT_RELU: return z > 0 ? 1.0L : 0.0L;
    case NN_ACT_LEAKY_RELU: return z > 0 ? 1.0L : (long double)ac->slope;
    default: return 1.0L;
    }
}

typedef struct {
    long double *A, *Amag;   /* m x nout */
    long double *dW, *dWmag; /* nin x nout */
    long double *db, *dbmag; /* nout */
    long double *dX, *dXmag; /* m x nin */
} ref_t;

static void ref_free(ref_t *r)
{
    free(r->A); free(r->Amag); free(r->dW); free(r->dWmag);
    free(r->db); free(r->dbmag); free(r->dX); free(r->dXmag);
}

/* Naive forward and backward of one layer; all inputs compact row-major.
 * dA may be NULL (forward only). */
static void ref_layer(ref_t *r, const act_case *ac, size_t m, size_t nin,
                      size_t nout, const double *X, const double *W,
                      const double *b, const double *dA)
{
    long double *Z = tu_lalloc(m * nout), *Zmag = tu_lalloc(m * nout);
    long double *dZ = tu_lalloc(m * nout), *dZmag = tu_lalloc(m * nout);
    r->A = tu_lalloc(m * nout); r->Amag = tu_lalloc(m * nout);
    r->dW = tu_lalloc(nin * nout); r->dWmag = tu_lalloc(nin * nout);
    r->db = tu_lalloc(nout); r->dbmag = tu_lalloc(nout);
    r->dX = tu_lalloc(m * nin); r->dXmag = tu_lalloc(m * nin);

    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < nout; j++) {
            long double z = b[j], mg = fabsl((long double)b[j]);
            for (size_t k = 0; k < nin; k++) {
                long double t = (long double)X[i * nin + k] * W[k * nout + j];
                z += t;
                mg += fabsl(t);
            }
            Z[i * nout + j] = z;
            Zmag[i * nout + j] = mg;
        }

    for (size_t i = 0; i < m; i++) {
        const long double *z = Z + i * nout, *zm = Zmag + i * nout;
        long double *a = r->A + i * nout, *am = r->Amag + i * nout;
        if (ac->act == NN_ACT_SOFTMAX) {
            long double mx = z[0], sum = 0, zmax = 0;
            for (size_t j = 0; j < nout; j++) {
                mx = z[j] > mx ? z[j] : mx;
                zmax = zm[j] > zmax ? zm[j] : zmax;
            }
            for (size_t j = 0; j < nout; j++) sum += expl(z[j] - mx);
            for (size_t j = 0; j < nout; j++) {
                a[j] = expl(z[j] - mx) / sum;
                am[j] = a[j] * 2.0L * zmax;
            }
        } else {
            for (size_t j = 0; j < nout; j++) {
                a[j] = g_ref(ac, z[j]);
                am[j] = zm[j];
            }
        }
    }
    if (!dA) goto done;

    for (size_t i = 0; i < m; i++) {
        const long double *z = Z + i * nout, *zm = Zmag + i * nout;
        const long double *a = r->A + i * nout;
        const double *da = dA + i * nout;
        long double *dz = dZ + i * nout, *dzm = dZmag + i * nout;
        if (ac->act == NN_ACT_SOFTMAX) {
            long double s = 0, sabs = 0, zmax = 0;
            for (size_t j = 0; j < nout; j++) {
                s += da[j] * a[j];
                sabs += fabsl(da[j] * a[j]);
                zmax = zm[j] > zmax ? zm[j] : zmax;
            }
            for (size_t j = 0; j < nout; j++) {
                dz[j] = a[j] * (da[j] - s);
                dzm[j] = a[j] * (fabsl((long double)da[j]) + sabs) *
                         (1.0L + 2.0L * zmax);
            }
        } else {
            for (size_t j = 0; j < nout; j++) {
                long double gp = gprime_ref(ac, z[j]);
                dz[j] = da[j] * gp;
                /* smooth g' moves with the rounding of z: |g''| <= 1 */
                bool smooth = ac->act == NN_ACT_SIGMOID || ac->act == NN_ACT_TANH;
                dzm[j] = fabsl((long double)da[j]) *
                         (fabsl(gp) + (smooth ? zm[j] : 0.0L));
            }
        }
    }
    for (size_t k = 0; k < nin; k++)
        for (size_t j = 0; j < nout; j++) {
            long double s = 0, mg = 0;
            for (size_t i = 0; i < m; i++) {
                s += X[i * nin + k] * dZ[i * nout + j];
                mg += fabsl((long double)X[i * nin + k]) * dZmag[i * nout + j];
            }
            r->dW[k * nout + j] = s;
            r->dWmag[k * nout + j] = mg;
        }
    for (size_t j = 0; j < nout; j++) {
        long double s = 0, mg = 0;
        for (size_t i = 0; i < m; i++) {
            s += dZ[i * nout + j];
            mg += dZmag[i * nout + j];
        }
        r->db[j] = s;
        r->dbmag[j] = mg;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < nin; k++) {
            long double s = 0, mg = 0;
            for (size_t j = 0; j < nout; j++) {
                s += dZ[i * nout + j] * W[k * nout + j];
                mg += dZmag[i * nout + j] * fabsl((long double)W[k * nout + j]);
            }
            r->dX[i * nin + k] = s;
            r->dXmag[i * nin + k] = mg;
        }
done:
    free(Z); free(Zmag); free(dZ); free(dZmag);
}

/* Random problem: X, dA in [-1,1), W scaled so that |z| stays moderate, b. */
typedef struct {
    size_t m, nin, nout;
    double *X, *W, *b, *dA;
} problem;

static problem make_problem(uint64_t seed, size_t m, size_t nin, size_t nout)
{
    tu_rng r = {seed};
    problem p = {m, nin, nout, tu_dalloc(m * nin), tu_dalloc(nin * nout),
                 tu_dalloc(nout), tu_dalloc(m * nout)};
    double w = sqrt(3.0 / (double)nin);
    tu_fill(&r, p.X, m * nin, -1.0, 1.0);
    tu_fill(&r, p.W, nin * nout, -w, w);
    tu_fill(&r, p.b, nout, -0.5, 0.5);
    tu_fill(&r, p.dA, m * nout, -1.0, 1.0);
    return p;
}

static void free_problem(problem *p)
{
    free(p->X); free(p->W); free(p->b); free(p->dA);
}

static nn_dense_t *make_layer(const act_case *ac, const problem *p)
{
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, p->nin, p->nout, ac->act, ac->slope, NULL));
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, p->W, p->nout, p->b));
    return d;
}

/* Results of one forward + backward, as compact row-major arrays. */
typedef struct {
    double *A, *dW, *db, *dX;
} result;

static result alloc_result(const problem *p)
{
    result r = {tu_dalloc(p->m * p->nout), tu_dalloc(p->nin * p->nout),
                tu_dalloc(p->nout), tu_dalloc(p->m * p->nin)};
    return r;
}

static void free_result(result *r)
{
    free(r->A); free(r->dW); free(r->db); free(r->dX);
}

typedef struct {
    size_t x, a, da, dx; /* leading dimension minus width */
} pads_t;

/* Forward + backward on d in `order` with ld = width + pad. Inputs X and dA
 * are NaN in their padding; the outputs A and dX are pre-filled with the
 * sentinel everywhere (so a result read before being written stays NaN), and
 * their padding must come back untouched. */
static void run_layer(nn_dense_t *d, nn_order o, const problem *p, pads_t pd,
                      result *out)
{
    size_t m = p->m, nin = p->nin, nout = p->nout;
    size_t ldx = (o == NN_ROW_MAJOR ? nin : m) + pd.x;
    size_t lda = (o == NN_ROW_MAJOR ? nout : m) + pd.a;
    size_t ldda = (o == NN_ROW_MAJOR ? nout : m) + pd.da;
    size_t lddx = (o == NN_ROW_MAJOR ? nin : m) + pd.dx;
    double *X = tu_dalloc(span(o, m, nin, ldx)), *A = tu_dalloc(span(o, m, nout, lda));
    double *dA = tu_dalloc(span(o, m, nout, ldda));
    double *dX = tu_dalloc(span(o, m, nin, lddx));
    tu_fill_value(X, span(o, m, nin, ldx), NAN);
    tu_fill_value(dA, span(o, m, nout, ldda), NAN);
    tu_fill_value(A, span(o, m, nout, lda), sentinel());
    tu_fill_value(dX, span(o, m, nin, lddx), sentinel());
    pack(o, m, nin, p->X, X, ldx);
    pack(o, m, nout, p->dA, dA, ldda);

    NN_OK_OR_FAIL(nn_dense_forward(d, m, o, X, ldx, A, lda));
    NN_OK_OR_FAIL(nn_dense_backward(d, m, o, X, ldx, dA, ldda, dX, lddx));
    ck_assert_msg(padding_intact(o, m, nout, A, lda), "A padding written");
    ck_assert_msg(padding_intact(o, m, nin, dX, lddx), "dX padding written");
    unpack(o, m, nout, A, lda, out->A);
    unpack(o, m, nin, dX, lddx, out->dX);
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, out->dW, nout, out->db));
    free(X); free(A); free(dA); free(dX);
}

static void check_against_ref(const char *ctx, const act_case *ac,
                              const problem *p, const result *res)
{
    ref_t r;
    ref_layer(&r, ac, p->m, p->nin, p->nout, p->X, p->W, p->b, p->dA);
    expect_close(ctx, "A", p->m * p->nout, res->A, r.A, r.Amag);
    expect_close(ctx, "dW", p->nin * p->nout, res->dW, r.dW, r.dWmag);
    expect_close(ctx, "db", p->nout, res->db, r.db, r.dbmag);
    expect_close(ctx, "dX", p->m * p->nin, res->dX, r.dX, r.dXmag);
    ref_free(&r);
}

/* ------------------------------------------------------------ sweep */
static const shape_t SWEEP[] = {
    {1, 1, 1},    {1, 7, 3},    {5, 1, 4},     {6, 5, 1},    {1, 1, 9},
    {3, 17, 9},   {16, 16, 16}, {33, 20, 7},   {2, 64, 70},  {70, 45, 64},
    {64, 70, 13}, {9, 130, 128}, {40, 129, 131}, {131, 3, 2},
};
#define N_SWEEP (sizeof SWEEP / sizeof SWEEP[0])

START_TEST(test_products_match_naive_reference)
{
    const shape_t *s = &SWEEP[_i];
    for (size_t a = 0; a < N_ACTS; a++) {
        if (!act_fits(&ACTS[a], s->nout)) continue;
        problem p = make_problem(100 + 17 * (uint64_t)_i + a, s->m, s->nin,
                                 s->nout);
        nn_dense_t *d = make_layer(&ACTS[a], &p);
        result res = alloc_result(&p);
        pads_t none = {0, 0, 0, 0};
        run_layer(d, NN_ROW_MAJOR, &p, none, &res);
        char ctx[96];
        snprintf(ctx, sizeof ctx, "m=%zu n_in=%zu n_out=%zu %s", s->m, s->nin,
                 s->nout, ACTS[a].name);
        check_against_ref(ctx, &ACTS[a], &p, &res);
        free_result(&res);
        nn_dense_destroy(d);
        free_problem(&p);
    }
}
END_TEST

/* ld > width for X, A, dA, dX in both orders: NaN input padding is never
 * read, output padding is never written, results match the reference. */
START_TEST(test_leading_dimensions_with_nan_padding)
{
    static const shape_t shapes[] = {{13, 9, 6}, {1, 4, 1}, {5, 130, 70}};
    static const pads_t pads[] = {{3, 2, 5, 4}, {1, 1, 1, 1}, {7, 0, 2, 9}};
    for (size_t si = 0; si < 3; si++)
        for (size_t a = 0; a < N_ACTS; a++)
            for (int o = 0; o < 2; o++) {
                const shape_t *s = &shapes[si];
                if (!act_fits(&ACTS[a], s->nout)) continue;
                problem p = make_problem(900 + 31 * si + a, s->m, s->nin, s->nout);
                nn_dense_t *d = make_layer(&ACTS[a], &p);
                result res = alloc_result(&p);
                run_layer(d, (nn_order)o, &p, pads[si], &res);
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s m=%zu n_in=%zu n_out=%zu %s",
                         o ? "col" : "row", s->m, s->nin, s->nout,
                         ACTS[a].name);
                check_against_ref(ctx, &ACTS[a], &p, &res);
                free_result(&res);
                nn_dense_destroy(d);
                free_problem(&p);
            }
}
END_TEST

/* beta = 0 everywhere: output buffers full of NaN, and a layer whose own
 * workspace and gradients hold NaN from a previous NaN batch, still give
 * finite, correct results. */
START_TEST(test_outputs_never_read_stale_memory)
{
    for (size_t a = 0; a < N_ACTS; a++) {
        problem p = make_problem(4242 + a, 11, 8, 6);
        nn_dense_t *d = make_layer(&ACTS[a], &p);
        /* poison the layer: a batch of NaN through forward and backward */
        double *Xn = tu_dalloc(p.m * p.nin), *An = tu_dalloc(p.m * p.nout);
        double *dAn = tu_dalloc(p.m * p.nout), *dXn = tu_dalloc(p.m * p.nin);
        tu_fill_value(Xn, p.m * p.nin, NAN);
        tu_fill_value(dAn, p.m * p.nout, NAN);
        NN_OK_OR_FAIL(nn_dense_forward(d, p.m, NN_ROW_MAJOR, Xn, p.nin, An, p.nout));
        NN_OK_OR_FAIL(nn_dense_backward(d, p.m, NN_ROW_MAJOR, Xn, p.nin, dAn,
                                        p.nout, dXn, p.nin));
        ck_assert(isnan(nn_dense_grad_weights(d)[0]));
        /* now a clean batch into NaN-filled output buffers */
        result res = alloc_result(&p);
        tu_fill_value(res.A, p.m * p.nout, NAN);
        tu_fill_value(res.dX, p.m * p.nin, NAN);
        NN_OK_OR_FAIL(nn_dense_forward(d, p.m, NN_ROW_MAJOR, p.X, p.nin, res.A,
                                       p.nout));
        NN_OK_OR_FAIL(nn_dense_backward(d, p.m, NN_ROW_MAJOR, p.X, p.nin, p.dA,
                                        p.nout, res.dX, p.nin));
        NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, res.dW, p.nout, res.db));
        for (size_t i = 0; i < p.m * p.nout; i++) ck_assert(isfinite(res.A[i]));
        for (size_t i = 0; i < p.m * p.nin; i++) ck_assert(isfinite(res.dX[i]));
        for (size_t i = 0; i < p.nin * p.nout; i++) ck_assert(isfinite(res.dW[i]));
        for (size_t i = 0; i < p.nout; i++) ck_assert(isfinite(res.db[i]));
        check_against_ref(ACTS[a].name, &ACTS[a], &p, &res);
        free(Xn); free(An); free(dAn); free(dXn);
        free_result(&res);
        nn_dense_destroy(d);
        free_problem(&p);
    }
}
END_TEST

/* Column-major calls give results bitwise equal to row-major ones. */
START_TEST(test_col_major_bitwise_equals_row_major)
{
    static const shape_t shapes[] = {{1, 1, 1},    {5, 3, 4},   {17, 33, 8},
                                     {64, 70, 50}, {40, 129, 131}, {128, 64, 10},
                                     {3, 100, 1}};
    static const pads_t pads[] = {{0, 0, 0, 0}, {2, 3, 1, 5}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (size_t a = 0; a < N_ACTS; a++)
            for (size_t pi = 0; pi < 2; pi++) {
                const shape_t *s = &shapes[si];
                if (!act_fits(&ACTS[a], s->nout)) continue;
                problem p = make_problem(77 + 13 * si + a, s->m, s->nin, s->nout);
                nn_dense_t *d = make_layer(&ACTS[a], &p);
                result rr = alloc_result(&p), rc = alloc_result(&p);
                run_layer(d, NN_ROW_MAJOR, &p, pads[pi], &rr);
                run_layer(d, NN_COL_MAJOR, &p, pads[pi], &rc);
                const char *what = NULL;
                if (memcmp(rr.A, rc.A, p.m * p.nout * sizeof(double))) what = "A";
                else if (memcmp(rr.dW, rc.dW, p.nin * p.nout * sizeof(double)))
                    what = "dW";
                else if (memcmp(rr.db, rc.db, p.nout * sizeof(double))) what = "db";
                else if (memcmp(rr.dX, rc.dX, p.m * p.nin * sizeof(double)))
                    what = "dX";
                ck_assert_msg(what == NULL,
                              "%s differs between orders: m=%zu n_in=%zu "
                              "n_out=%zu %s pads=%zu",
                              what ? what : "", s->m, s->nin, s->nout,
                              ACTS[a].name, pi);
                free_result(&rr); free_result(&rc);
                nn_dense_destroy(d);
                free_problem(&p);
            }
}
END_TEST

/* ------------------------------------------------------------ parameters */
START_TEST(test_params_round_trip_and_borrowed_pointers)
{
    const size_t nin = 5, nout = 7;
    tu_rng r = {31337};
    double W0[35], b0[7], W1[35], b1[7];
    tu_fill(&r, W0, 35, -2, 2); tu_fill(&r, b0, 7, -1, 1);
    tu_fill(&r, W1, 35, -2, 2); tu_fill(&r, b1, 7, -1, 1);
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, nin, nout, NN_ACT_TANH, 0.0, NULL));
    ck_assert_uint_eq(nn_dense_n_in(d), nin);
    ck_assert_uint_eq(nn_dense_n_out(d), nout);

    /* gradients are zero before any backward */
    double g[80], gb[7];
    tu_fill_value(g, 80, NAN); tu_fill_value(gb, 7, NAN);
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, g, nout, gb));
    for (size_t i = 0; i < 35; i++) ck_assert(g[i] == 0.0);
    for (size_t j = 0; j < 7; j++) ck_assert(gb[j] == 0.0);

    /* set row-major with ldw = 10 (NaN padding), get in both orders */
    double in[80], out[80], bout[7];
    tu_fill_value(in, 80, NAN);
    pack(NN_ROW_MAJOR, nin, nout, W0, in, 10);
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, in, 10, b0));
    tu_fill_value(out, 80, sentinel());
    NN_OK_OR_FAIL(nn_dense_get_params(d, NN_ROW_MAJOR, out, 9, bout));
    ck_assert(padding_intact(NN_ROW_MAJOR, nin, nout, out, 9));
    double cmp[35];
    unpack(NN_ROW_MAJOR, nin, nout, out, 9, cmp);
    ck_assert(memcmp(cmp, W0, sizeof cmp) == 0);
    ck_assert(memcmp(bout, b0, sizeof bout) == 0);
    tu_fill_value(out, 80, sentinel());
    NN_OK_OR_FAIL(nn_dense_get_params(d, NN_COL_MAJOR, out, 8, NULL));
    ck_assert(padding_intact(NN_COL_MAJOR, nin, nout, out, 8));
    unpack(NN_COL_MAJOR, nin, nout, out, 8, cmp);
    ck_assert(memcmp(cmp, W0, sizeof cmp) == 0);

    /* set column-major with ldw = 6 > n_in, read back both ways */
    tu_fill_value(in, 80, NAN);
    pack(NN_COL_MAJOR, nin, nout, W1, in, 6);
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_COL_MAJOR, in, 6, NULL));
    NN_OK_OR_FAIL(nn_dense_get_params(d, NN_ROW_MAJOR, cmp, nout, bout));
    ck_assert(memcmp(cmp, W1, sizeof cmp) == 0);
    ck_assert(memcmp(bout, b0, sizeof bout) == 0); /* b untouched (NULL) */
    NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, NULL, 0, b1));
    tu_fill_value(out, 80, sentinel());
    NN_OK_OR_FAIL(nn_dense_get_params(d, NN_COL_MAJOR, out, 11, bout));
    ck_assert(padding_intact(NN_COL_MAJOR, nin, nout, out, 11));
    unpack(NN_COL_MAJOR, nin, nout, out, 11, cmp);
    ck_assert(memcmp(cmp, W1, sizeof cmp) == 0);
    ck_assert(memcmp(bout, b1, sizeof bout) == 0);

    /* borrowed pointers: row-major, ld n_out */
    double *Wp = nn_dense_weights(d), *bp = nn_dense_bias(d);
    const double *dWp = nn_dense_grad_weights(d), *dbp = nn_dense_grad_bias(d);
    ck_assert_ptr_nonnull(Wp); ck_assert_ptr_nonnull(bp);
    ck_assert_ptr_nonnull(dWp); ck_assert_ptr_nonnull(dbp);
    ck_assert(memcmp(Wp, W1, sizeof W1) == 0);
    ck_assert(memcmp(bp, b1, sizeof b1) == 0);

    /* write-through: new W, b via the pointers drive the forward pass */
    problem p = make_problem(555, 4, nin, nout);
    memcpy(Wp, p.W, nin * nout * sizeof(double));
    memcpy(bp, p.b, nout * sizeof(double));
    const act_case tanh_case = {NN_ACT_TANH, 0.0, "tanh"};
    result res = alloc_result(&p);
    pads_t none = {0, 0, 0, 0};
    run_layer(d, NN_ROW_MAJOR, &p, none, &res);
    check_against_ref("write-through", &tanh_case, &p, &res);

    /* get_grads == borrowed gradient storage, in both orders */
    ck_assert(memcmp(res.dW, dWp, nin * nout * sizeof(double)) == 0);
    ck_assert(memcmp(res.db, dbp, nout * sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_COL_MAJOR, out, nin, NULL));
    unpack(NN_COL_MAJOR, nin, nout, out, nin, cmp);
    ck_assert(memcmp(cmp, dWp, sizeof cmp) == 0);

    /* a much larger batch grows the workspace: pointers do not move and
     * still see the new gradients */
    problem big = make_problem(556, 300, nin, nout);
    memcpy(big.W, p.W, nin * nout * sizeof(double));
    memcpy(big.b, p.b, nout * sizeof(double));
    result rb = alloc_result(&big);
    run_layer(d, NN_COL_MAJOR, &big, none, &rb);
    check_against_ref("after growth", &tanh_case, &big, &rb);
    ck_assert_ptr_eq(nn_dense_weights(d), Wp);
    ck_assert_ptr_eq(nn_dense_bias(d), bp);
    ck_assert_ptr_eq(nn_dense_grad_weights(d), dWp);
    ck_assert_ptr_eq(nn_dense_grad_bias(d), dbp);
    ck_assert(memcmp(rb.dW, dWp, nin * nout * sizeof(double)) == 0);
    ck_assert(memcmp(rb.db, dbp, nout * sizeof(double)) == 0);

    free_result(&res); free_result(&rb);
    free_problem(&p); free_problem(&big);
    nn_dense_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ allocator */
START_TEST(test_counting_allocator_balances)
{
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, 6, 5, NN_ACT_SIGMOID, 0.0, &al));
    ck_assert_int_gt(c.allocs, 0);
    /* exercise every buffer: reserve, growth, both orders, dX in both */
    NN_OK_OR_FAIL(nn_dense_reserve(d, 4));
    static const size_t ms[] = {4, 3, 20, 50};
    for (size_t t = 0; t < 4; t++)
        for (int o = 0; o < 2; o++) {
            problem p = make_problem(60 + t, ms[t], 6, 5);
            result res = alloc_result(&p);
            pads_t pd = {1, 0, 2, 3};
            run_layer(d, (nn_order)o, &p, pd, &res);
            free_result(&res);
            free_problem(&p);
        }
    ck_assert_uint_gt(c.bytes_in, 0);
    nn_dense_destroy(d);
    TU_ASSERT_BALANCED(&c);

    /* an allocator missing a callback is rejected, *out untouched */
    nn_allocator half = {al.alloc, NULL, &c};
    nn_dense_t *sentinel_ptr = (nn_dense_t *)&c;
    d = sentinel_ptr;
    ck_assert_int_eq(nn_dense_create(&d, 2, 2, NN_ACT_RELU, 0.0, &half),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(d, sentinel_ptr);
}
END_TEST

/* ------------------------------------------------------------ state */
/* reserve pre-sizes: calls with m <= m_max work and allocate nothing (in
 * either order, dX included: nn.h says "never allocate"). */
START_TEST(test_reserve_then_smaller_batches)
{
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    const act_case *ac = &ACTS[4]; /* leaky 0.1 */
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, 9, 4, ac->act, ac->slope, &al));
    ck_assert_int_eq(nn_dense_reserve(d, 0), NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_dense_reserve(d, 50));
    NN_OK_OR_FAIL(nn_dense_reserve(d, 10)); /* smaller: no-op */
    long attempts = c.attempts;
    static const size_t ms[] = {50, 10, 1, 37};
    for (size_t t = 0; t < 4; t++)
        for (int o = 0; o < 2; o++) {
            problem p = make_problem(70 + t, ms[t], 9, 4);
            NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, p.W, 4, p.b));
            result res = alloc_result(&p);
            pads_t pd = {0, 1, 0, 2};
            run_layer(d, (nn_order)o, &p, pd, &res);
            check_against_ref(o ? "reserved col" : "reserved row", ac, &p, &res);
            ck_assert_msg(c.attempts == attempts,
                          "%s m=%zu <= reserved 50 allocated %ld time(s)",
                          o ? "column-major" : "row-major", ms[t],
                          c.attempts - attempts);
            free_result(&res);
            free_problem(&p);
        }
    nn_dense_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

START_TEST(test_backward_state_and_shape_errors)
{
    problem p = make_problem(81, 6, 3, 4);
    nn_dense_t *d = make_layer(&ACTS[2], &p);
    double dX[18], A[24];
    /* backward before any forward */
    ck_assert_int_eq(nn_dense_backward(d, 6, NN_ROW_MAJOR, p.X, 3, p.dA, 4, dX, 3),
                     NN_ERR_STATE);
    ck_assert_int_eq(nn_dense_backward(d, 6, NN_COL_MAJOR, p.X, 6, p.dA, 6, NULL, 0),
                     NN_ERR_STATE);
    /* even after reserve, there is still no forward */
    NN_OK_OR_FAIL(nn_dense_reserve(d, 8));
    ck_assert_int_eq(nn_dense_backward(d, 6, NN_ROW_MAJOR, p.X, 3, p.dA, 4, NULL, 0),
                     NN_ERR_STATE);

    /* forward with m = 6, backward with m = 5 or 2: shape mismatch, nothing
     * written: gradients keep their values, dX untouched */
    NN_OK_OR_FAIL(nn_dense_forward(d, 6, NN_ROW_MAJOR, p.X, 3, A, 4));
    tu_fill_value(dX, 18, sentinel());
    ck_assert_int_eq(nn_dense_backward(d, 5, NN_ROW_MAJOR, p.X, 3, p.dA, 4, dX, 3),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_dense_backward(d, 2, NN_COL_MAJOR, p.X, 6, p.dA, 6, dX, 6),
                     NN_ERR_SHAPE);
    for (size_t i = 0; i < 18; i++) ck_assert(is_sentinel(dX[i]));
    for (size_t i = 0; i < 12; i++) ck_assert(nn_dense_grad_weights(d)[i] == 0.0);
    for (size_t i = 0; i < 4; i++) ck_assert(nn_dense_grad_bias(d)[i] == 0.0);

    /* and the layer is still usable with the right m */
    result res = alloc_result(&p);
    pads_t none = {0, 0, 0, 0};
    run_layer(d, NN_ROW_MAJOR, &p, none, &res);
    check_against_ref("after errors", &ACTS[2], &p, &res);
    free_result(&res);
    nn_dense_destroy(d);
    free_problem(&p);
}
END_TEST

/* A reserve that grows the workspace between forward and backward is not a
 * forward: the backward still refers to the last forward's batch. */
START_TEST(test_backward_after_growing_reserve)
{
    problem p = make_problem(85, 5, 4, 3);
    nn_dense_t *d = make_layer(&ACTS[1], &p);
    result res = alloc_result(&p);
    NN_OK_OR_FAIL(nn_dense_forward(d, 5, NN_ROW_MAJOR, p.X, 4, res.A, 3));
    NN_OK_OR_FAIL(nn_dense_reserve(d, 500));
    NN_OK_OR_FAIL(nn_dense_backward(d, 5, NN_ROW_MAJOR, p.X, 4, p.dA, 3, res.dX, 4));
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, res.dW, 3, res.db));
    check_against_ref("backward after reserve", &ACTS[1], &p, &res);
    free_result(&res);
    nn_dense_destroy(d);
    free_problem(&p);
}
END_TEST

/* NaN in X reaches A for every activation (relu/leaky must not mask it);
 * rows without NaN stay finite. */
START_TEST(test_nan_in_x_propagates)
{
    for (size_t a = 0; a < N_ACTS; a++) {
        problem p = make_problem(91 + a, 3, 4, 5);
        nn_dense_t *d = make_layer(&ACTS[a], &p);
        double A[15];
        p.X[1 * 4 + 2] = NAN;
        NN_OK_OR_FAIL(nn_dense_forward(d, 3, NN_ROW_MAJOR, p.X, 4, A, 5));
        for (size_t j = 0; j < 5; j++) {
            ck_assert_msg(isnan(A[5 + j]), "%s: A[1][%zu] = %g, expected NaN",
                          ACTS[a].name, j, A[5 + j]);
            ck_assert(isfinite(A[j]) && isfinite(A[10 + j]));
        }
        /* a NaN that meets only zero weights and makes z negative for relu */
        double X1[4] = {NAN, 1, 1, 1}, W[20], b[5], A1[5];
        tu_fill_value(W, 20, 0.0);
        tu_fill_value(b, 5, -1.0);
        NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, W, 5, b));
        NN_OK_OR_FAIL(nn_dense_forward(d, 1, NN_ROW_MAJOR, X1, 4, A1, 5));
        for (size_t j = 0; j < 5; j++)
            ck_assert_msg(isnan(A1[j]), "%s: NaN*0 masked, A[%zu] = %g",
                          ACTS[a].name, j, A1[j]);
        nn_dense_destroy(d);
        free_problem(&p);
    }
}
END_TEST

/* Leaky relu in closed form: z = -2 -> slope*z, g' = slope; z = 3 -> 3, 1. */
START_TEST(test_leaky_relu_closed_form)
{
    static const double slopes[] = {0.2, 0.0};
    for (size_t s = 0; s < 2; s++) {
        double sl = slopes[s];
        nn_dense_t *d = NULL;
        NN_OK_OR_FAIL(nn_dense_create(&d, 1, 1, NN_ACT_LEAKY_RELU, sl, NULL));
        double W = 1.0, b = 0.0, X[2] = {-2.0, 3.0}, A[2], dA[2] = {1.0, 1.0};
        double dX[2], dW, db;
        NN_OK_OR_FAIL(nn_dense_set_params(d, NN_ROW_MAJOR, &W, 1, &b));
        NN_OK_OR_FAIL(nn_dense_forward(d, 2, NN_ROW_MAJOR, X, 1, A, 1));
        ck_assert(A[0] == -2.0 * sl);
        ck_assert(A[1] == 3.0);
        NN_OK_OR_FAIL(nn_dense_backward(d, 2, NN_ROW_MAJOR, X, 1, dA, 1, dX, 1));
        NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, &dW, 1, &db));
        ck_assert(dX[0] == sl);
        ck_assert(dX[1] == 1.0);
        ck_assert(tu_relerr(dW, -2.0 * sl + 3.0, 1e-300) < 1e-15);
        ck_assert(tu_relerr(db, sl + 1.0, 1e-300) < 1e-15);
        nn_dense_destroy(d);
    }
    /* a negative slope is rejected */
    nn_dense_t *d = NULL;
    ck_assert_int_eq(nn_dense_create(&d, 2, 2, NN_ACT_LEAKY_RELU, -0.1, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_null(d);
}
END_TEST

/* NN_INIT_DEFAULT: He uniform for (leaky) relu, Glorot uniform otherwise;
 * b = 0. 2000 draws: all within r, the largest near r, mean |w| ~ r/2. */
START_TEST(test_default_init_bounds)
{
    const size_t nin = 50, nout = 40;
    for (size_t a = 0; a < N_ACTS; a++) {
        nn_dense_t *d = NULL;
        NN_OK_OR_FAIL(nn_dense_create(&d, nin, nout, ACTS[a].act, ACTS[a].slope,
                                      NULL));
        bool he = ACTS[a].act == NN_ACT_RELU || ACTS[a].act == NN_ACT_LEAKY_RELU;
        double r = he ? sqrt(6.0 / (double)nin)
                      : sqrt(6.0 / (double)(nin + nout));
        double W[2000], b[40], mx = 0, sum = 0;
        NN_OK_OR_FAIL(nn_dense_get_params(d, NN_ROW_MAJOR, W, nout, b));
        for (size_t i = 0; i < nin * nout; i++) {
            ck_assert_msg(fabs(W[i]) <= r, "%s: |W| = %g > %g", ACTS[a].name,
                          fabs(W[i]), r);
            mx = fmax(mx, fabs(W[i]));
            sum += fabs(W[i]);
        }
        ck_assert_msg(mx > 0.95 * r, "%s: max |W| = %g, bound %g", ACTS[a].name,
                      mx, r);
        ck_assert_msg(fabs(sum / 2000.0 - r / 2) < 0.05 * r,
                      "%s: mean |W| = %g, expected ~%g", ACTS[a].name,
                      sum / 2000.0, r / 2);
        for (size_t j = 0; j < nout; j++) ck_assert(b[j] == 0.0);
        nn_dense_destroy(d);
    }
}
END_TEST

/* A softmax over one unit is the constant 1 (its gradient is always 0):
 * refused with NN_ERR_INVALID, *out untouched; two units are fine. */
START_TEST(test_softmax_needs_two_units)
{
    nn_dense_t *d = (nn_dense_t *)&d; /* sentinel: must stay */
    nn_dense_t *const sent = d;
    ck_assert_int_eq(nn_dense_create(&d, 3, 1, NN_ACT_SOFTMAX, 0.0, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_create(&d, 1, 1, NN_ACT_SOFTMAX, 0.0, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(d, sent);
    d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, 3, 2, NN_ACT_SOFTMAX, 0.0, NULL));
    /* two units: rows of A sum to 1 */
    const double X[3] = {0.5, -1.0, 2.0};
    double A[2];
    NN_OK_OR_FAIL(nn_dense_forward(d, 1, NN_ROW_MAJOR, X, 3, A, 2));
    ck_assert(fabs(A[0] + A[1] - 1.0) < 1e-15 && A[0] > 0 && A[1] > 0);
    nn_dense_destroy(d);
}
END_TEST

static Suite *dense_suite(void)
{
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("products");
    tcase_add_loop_test(tc, test_products_match_naive_reference, 0, (int)N_SWEEP);
    tcase_add_test(tc, test_leading_dimensions_with_nan_padding);
    tcase_add_test(tc, test_outputs_never_read_stale_memory);
    tcase_add_test(tc, test_col_major_bitwise_equals_row_major);
    tcase_add_test(tc, test_nan_in_x_propagates);
    tcase_add_test(tc, test_leaky_relu_closed_form);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("object");
    tcase_add_test(tp, test_params_round_trip_and_borrowed_pointers);
    tcase_add_test(tp, test_counting_allocator_balances);
    tcase_add_test(tp, test_reserve_then_smaller_batches);
    tcase_add_test(tp, test_backward_state_and_shape_errors);
    tcase_add_test(tp, test_backward_after_growing_reserve);
    tcase_add_test(tp, test_default_init_bounds);
    tcase_add_test(tp, test_softmax_needs_two_units);
    suite_add_tcase(s, tp);
    return s;
}

int main(void) { return tu_run(dense_suite()); }
