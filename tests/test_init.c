/* test_init.c — weight initialisation schemes (nn_net_init):
 * uniform and normal schemes have mean 0 and the documented variance
 * (tolerances from the sample size: 5 standard errors), uniform draws stay in
 * their bounds, biases are zeroed, draws are a pure function of the seed;
 * orthogonal init gives W^T W = I (tall / square) or W W^T = I (wide) to
 * 1e-12; an invalid scheme or a failed allocation changes nothing.
 * Construction: network specs validate every call and change nothing when
 * they refuse one; nn_netspec_from_net gives back the architecture and the
 * current settings; nn_net_clone is a deep, independent copy. */
#include "testutil.h"

#include <string.h>

#define NI 400
#define NO 300

static nn_net_t *make_net(size_t n_in, size_t n_out, const nn_allocator *al)
{
    const nn_activation act = NN_ACT_IDENTITY;
    return tu_net(n_in, 1, &n_out, &act, NN_LOSS_MSE, al);
}

typedef struct {
    nn_init init;
    double var;   /* target variance */
    double bound; /* uniform half-width, 0 for normal */
} scheme;

static scheme scheme_at(int i)
{
    double gu = sqrt(6.0 / (NI + NO)), hu = sqrt(6.0 / NI);
    switch (i) {
    case 0: return (scheme){NN_INIT_GLOROT_UNIFORM, gu * gu / 3, gu};
    case 1: return (scheme){NN_INIT_HE_UNIFORM, hu * hu / 3, hu};
    case 2: return (scheme){NN_INIT_GLOROT_NORMAL, 2.0 / (NI + NO), 0};
    default: return (scheme){NN_INIT_HE_NORMAL, 2.0 / NI, 0};
    }
}

START_TEST(moments_bounds_biases)
{
    scheme sc = scheme_at(_i);
    nn_net_t *net = make_net(NI, NO, NULL);
    double *b = tu_net_b(net, 0);
    for (size_t j = 0; j < NO; j++) b[j] = 1.5; /* must be cleared */
    NN_OK_OR_FAIL(nn_net_init(net, sc.init, 12345));
    const double *W = tu_net_W(net, 0);
    const size_t N = (size_t)NI * NO;
    double sum = 0, sum2 = 0, sum4 = 0;
    size_t within1 = 0;
    for (size_t i = 0; i < N; i++) {
        ck_assert(isfinite(W[i]));
        sum += W[i];
        sum2 += W[i] * W[i];
        sum4 += W[i] * W[i] * W[i] * W[i];
        if (fabs(W[i]) <= sqrt(sc.var)) within1++;
        if (sc.bound > 0) ck_assert(fabs(W[i]) <= sc.bound);
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    double sd = sqrt(sc.var);
    /* mean: standard error sd/sqrt(N); variance: relative standard error
     * sqrt((kurtosis - 1)/N) <= sqrt(2/N) for both laws (kurtosis 1.8, 3) */
    ck_assert_msg(fabs(mean) < 5 * sd / sqrt((double)N), "mean %g", mean);
    ck_assert_msg(fabs(var / sc.var - 1) < 5 * sqrt(2.0 / N),
                  "var %g target %g", var, sc.var);
    /* the law's shape: kurtosis 3 (normal) / 1.8 (uniform); P(|w|<=sd)
     * 0.6827 (normal) / 1/sqrt(3) (uniform) */
    double kurt = sum4 / N / (var * var);
    double p1 = (double)within1 / N;
    if (sc.bound > 0) {
        ck_assert_msg(fabs(kurt - 1.8) < 0.05, "kurtosis %g", kurt);
        ck_assert_msg(fabs(p1 - 1 / sqrt(3.0)) < 0.01, "p1 %g", p1);
    } else {
        ck_assert_msg(fabs(kurt - 3.0) < 0.1, "kurtosis %g", kurt);
        ck_assert_msg(fabs(p1 - 0.682689492) < 0.01, "p1 %g", p1);
    }
    for (size_t j = 0; j < NO; j++) ck_assert(b[j] == 0.0);
    nn_net_destroy(net);
}
END_TEST

static const nn_init ALL[] = {NN_INIT_DEFAULT,       NN_INIT_GLOROT_UNIFORM,
                              NN_INIT_HE_UNIFORM,    NN_INIT_GLOROT_NORMAL,
                              NN_INIT_HE_NORMAL,     NN_INIT_ORTHOGONAL};

START_TEST(seed_determines_weights)
{
    nn_init init = ALL[_i];
    nn_net_t *a = make_net(37, 23, NULL), *b = make_net(37, 23, NULL);
    size_t bytes = 37 * 23 * sizeof(double);
    NN_OK_OR_FAIL(nn_net_init(a, init, 99));
    NN_OK_OR_FAIL(nn_net_init(b, NN_INIT_ZERO, 0));
    NN_OK_OR_FAIL(nn_net_init(b, init, 99));
    ck_assert(memcmp(tu_net_W(a, 0), tu_net_W(b, 0), bytes) == 0);
    NN_OK_OR_FAIL(nn_net_init(b, init, 100));
    ck_assert(memcmp(tu_net_W(a, 0), tu_net_W(b, 0), bytes) != 0);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* NN_INIT_DEFAULT for an identity layer is Glorot uniform, bit for bit. */
START_TEST(default_is_glorot_uniform_for_identity)
{
    nn_net_t *a = make_net(13, 7, NULL), *b = make_net(13, 7, NULL);
    NN_OK_OR_FAIL(nn_net_init(a, NN_INIT_DEFAULT, 5));
    NN_OK_OR_FAIL(nn_net_init(b, NN_INIT_GLOROT_UNIFORM, 5));
    ck_assert(memcmp(tu_net_W(a, 0), tu_net_W(b, 0),
                     13 * 7 * sizeof(double)) == 0);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* max |W^T W - I| (tall/square) or |W W^T - I| (wide); W row-major r x c. */
static double orth_err(const double *W, size_t r, size_t c)
{
    double err = 0;
    if (r >= c) {
        for (size_t j = 0; j < c; j++)
            for (size_t k = 0; k < c; k++) {
                double s = 0;
                for (size_t i = 0; i < r; i++) s += W[i * c + j] * W[i * c + k];
                err = fmax(err, fabs(s - (j == k)));
            }
    } else {
        for (size_t i = 0; i < r; i++)
            for (size_t k = 0; k < r; k++) {
                double s = 0;
                for (size_t j = 0; j < c; j++) s += W[i * c + j] * W[k * c + j];
                err = fmax(err, fabs(s - (i == k)));
            }
    }
    return err;
}

static const size_t SHAPES[][2] = {{50, 30}, {40, 40}, {20, 35}, {1, 1},
                                   {9, 1},   {1, 6},   {2, 2}};

START_TEST(orthogonal_shapes)
{
    size_t r = SHAPES[_i][0], c = SHAPES[_i][1];
    nn_net_t *net = make_net(r, c, NULL);
    for (uint64_t seed = 0; seed < 4; seed++) {
        tu_net_b(net, 0)[0] = 3.0;
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, seed));
        const double *W = tu_net_W(net, 0);
        double e = orth_err(W, r, c);
        ck_assert_msg(e < 1e-12, "%zux%zu seed %d: err %g", r, c, (int)seed, e);
        for (size_t j = 0; j < c; j++) ck_assert(tu_net_b(net, 0)[j] == 0);
        if (r == 1 && c == 1) ck_assert(fabs(W[0]) == 1.0);
    }
    nn_net_destroy(net);
}
END_TEST

/* Sign correction: the law is Haar, so for 1x1 both signs occur and for a
 * square matrix E[W_ij] = 0 (without the correction R_jj > 0 would bias
 * the diagonal-related entries: a 1x1 layer would always be +1). */
START_TEST(orthogonal_signs)
{
    nn_net_t *net = make_net(1, 1, NULL);
    int pos = 0, n = 200;
    for (int s = 0; s < n; s++) {
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, (uint64_t)s));
        pos += tu_net_W(net, 0)[0] > 0;
    }
    ck_assert_msg(pos > 60 && pos < 140, "positive %d / %d", pos, n);
    nn_net_destroy(net);

    /* 3x3: the mean of W_00 over many seeds is ~0 (sd of W_00 is 1/sqrt(3)) */
    net = make_net(3, 3, NULL);
    double sum = 0;
    n = 2000;
    for (int s = 0; s < n; s++) {
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, (uint64_t)s));
        sum += tu_net_W(net, 0)[0];
    }
    ck_assert_msg(fabs(sum / n) < 5 / sqrt(3.0 * n), "mean W00 %g", sum / n);
    nn_net_destroy(net);
}
END_TEST

/* A deeper net: every layer orthogonal, and the net trains. */
START_TEST(orthogonal_net_works)
{
    const size_t units[3] = {16, 6, 1};
    const nn_activation acts[3] = {NN_ACT_TANH, NN_ACT_TANH, NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(8, 3, units, acts, NN_LOSS_MSE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, 7));
    for (size_t l = 0; l < 3; l++)
        ck_assert(orth_err(tu_net_W(net, l), nn_net_layer_n_in(net, l),
                           nn_net_layer_n_out(net, l)) < 1e-12);
    enum { M = 64 };
    double X[M * 8], Y[M];
    tu_rng r = {3};
    tu_fill(&r, X, M * 8, -1, 1);
    for (int i = 0; i < M; i++) Y[i] = 0.5 * X[i * 8] - 0.3 * X[i * 8 + 3];
    double l0 = 0, l1 = 0;
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, X, 8, Y, 1, &l0));
    nn_optim_t *opt = tu_sgd(net, 0.05);
    for (int it = 0; it < 200; it++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, 8, Y, 1, NULL));
        NN_OK_OR_FAIL(nn_optim_step(opt, net));
    }
    nn_optim_destroy(opt);
    NN_OK_OR_FAIL(nn_net_loss(net, NULL, M, NN_ROW_MAJOR, X, 8, Y, 1, &l1));
    ck_assert(isfinite(l1) && l1 < 0.5 * l0);
    nn_net_destroy(net);
}
END_TEST

START_TEST(invalid_scheme_changes_nothing)
{
    nn_net_t *net = make_net(5, 4, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_HE_NORMAL, 1));
    double before[20];
    memcpy(before, tu_net_W(net, 0), sizeof before);
    ck_assert_int_eq(nn_net_init(net, (nn_init)7, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(net, (nn_init)-1, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(NULL, NN_INIT_ORTHOGONAL, 1), NN_ERR_INVALID);
    ck_assert(memcmp(before, tu_net_W(net, 0), sizeof before) == 0);
    nn_net_destroy(net);
}
END_TEST

/* Orthogonal init allocates scratch through the net's allocator; a failure
 * at any of its allocations gives NN_ERR_NOMEM and leaves every weight,
 * bias and gradient as it was, and leaks nothing. */
START_TEST(orthogonal_nomem_changes_nothing)
{
    for (long k = 1; k <= 3; k++) {
        tu_counter c = {.fail_rest = true}; /* fail_at: fail from then on */
        nn_allocator al = tu_allocator(&c);
        const size_t units[2] = {6, 3};
        const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_IDENTITY};
        nn_net_t *net = tu_net(4, 2, units, acts, NN_LOSS_MSE, &al);
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_NORMAL, 2));
        tu_net_b(net, 1)[2] = 0.25;
        /* a current gradient, which the failed call must keep too */
        const double X[8] = {0.5, -1, 0.25, 2, -0.75, 1.5, 0, -0.5};
        const double Y[6] = {0.1, -0.2, 0.3, 0.4, 0, -1};
        NN_OK_OR_FAIL(nn_net_gradient(net, 2, NN_ROW_MAJOR, X, 4, Y, 3, NULL));
        size_t np = nn_net_n_params(net);
        double *g0 = tu_dalloc(np);
        memcpy(g0, nn_net_grads(net), np * sizeof(double));
        double before[2][64], after[2][64], bb[2][8], ba[2][8];
        for (size_t l = 0; l < 2; l++)
            NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, before[l],
                                            nn_net_layer_n_out(net, l),
                                            bb[l]));
        c.fail_at = c.attempts + k;
        nn_status st = nn_net_init(net, NN_INIT_ORTHOGONAL, 3);
        c.fail_at = 0;
        ck_assert_int_eq(st, NN_ERR_NOMEM);
        ck_assert_int_eq(nn_net_has_grads(net), 1);
        ck_assert(memcmp(g0, nn_net_grads(net), np * sizeof(double)) == 0);
        free(g0);
        for (size_t l = 0; l < 2; l++) {
            size_t no = nn_net_layer_n_out(net, l);
            NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, after[l], no,
                                            ba[l]));
            size_t nw = nn_net_layer_n_in(net, l) * no;
            ck_assert(memcmp(before[l], after[l], nw * sizeof(double)) == 0);
            ck_assert(memcmp(bb[l], ba[l], no * sizeof(double)) == 0);
        }
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, 3));
        ck_assert_int_eq(nn_net_has_grads(net), 0); /* init clears them */
        nn_net_destroy(net);
        TU_ASSERT_BALANCED(&c);
    }
}
END_TEST

/* ------------------------------------------------------------ construction */
/* Every layer and network setting of net, as the getters report it. */
typedef struct {
    size_t n_layers, n_params;
    int64_t loss, reduction, check_finite, seed;
    int64_t kind[4], units[4], act[4];
    double slope[4], drop[4];
} net_settings;

static net_settings settings_of(const nn_net_t *net)
{
    net_settings v = {.n_layers = nn_net_n_layers(net),
                      .n_params = nn_net_n_params(net)};
    ck_assert_uint_le(v.n_layers, 4);
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &v.loss));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &v.reduction));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_CHECK_FINITE, &v.check_finite));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_SEED, &v.seed));
    for (size_t l = 0; l < v.n_layers; l++) {
        NN_OK_OR_FAIL(nn_net_get_layer_int(net, l, NN_LAYER_KIND, &v.kind[l]));
        NN_OK_OR_FAIL(nn_net_get_layer_int(net, l, NN_LAYER_UNITS, &v.units[l]));
        NN_OK_OR_FAIL(nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &v.act[l]));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &v.slope[l]));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, NN_LAYER_DROPOUT, &v.drop[l]));
    }
    return v;
}

static void assert_settings_eq(const net_settings *a, const net_settings *b)
{
    ck_assert_uint_eq(a->n_layers, b->n_layers);
    ck_assert_uint_eq(a->n_params, b->n_params);
    ck_assert(a->loss == b->loss && a->reduction == b->reduction);
    ck_assert(a->check_finite == b->check_finite && a->seed == b->seed);
    for (size_t l = 0; l < a->n_layers; l++) {
        ck_assert(a->kind[l] == b->kind[l] && a->units[l] == b->units[l]);
        ck_assert(a->act[l] == b->act[l]);
        ck_assert(a->slope[l] == b->slope[l] && a->drop[l] == b->drop[l]);
    }
}

/* The spec used below: 3 -> 5 leaky (slope 0.2, dropout 0.25) -> 4 tanh
 * (dropout 0.1) -> 2 softmax, softmax CE, sum reduction, check-finite on,
 * dropout seed 77. */
static nn_netspec_t *rich_spec(void)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, 3, NN_LOSS_SOFTMAX_CE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 5, NN_ACT_LEAKY_RELU));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 4, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 2, NN_ACT_SOFTMAX));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_ACT_PARAM, 0.2));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.25));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 1, NN_LAYER_DROPOUT, 0.1));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_REDUCTION,
                                     NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_CHECK_FINITE, 1));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 77));
    return s;
}

/* What rich_spec describes, written out by hand (and the defaults of a new
 * layer: slope 0.01, no dropout). */
static const net_settings RICH = {
    3, 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2,
    NN_LOSS_SOFTMAX_CE, NN_REDUCE_SUM, 1, 77,
    {NN_LAYER_DENSE, NN_LAYER_DENSE, NN_LAYER_DENSE}, {5, 4, 2},
    {NN_ACT_LEAKY_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX}, {0.2, 0.01, 0.01},
    {0.25, 0.1, 0.0}};

START_TEST(spec_settings_reach_the_net)
{
    nn_netspec_t *s = rich_spec();
    ck_assert_uint_eq(nn_netspec_n_layers(s), 3);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s); /* the net keeps its own copy */
    net_settings v = settings_of(net);
    assert_settings_eq(&v, &RICH);
    ck_assert_uint_eq(nn_net_n_in(net), 3);
    ck_assert_uint_eq(nn_net_n_out(net), 2);
    /* a fresh layer's defaults */
    nn_netspec_t *d = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&d, 2, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(d, 1, NN_ACT_IDENTITY));
    nn_net_t *dn = NULL;
    NN_OK_OR_FAIL(nn_net_create(&dn, d, NULL));
    v = settings_of(dn);
    ck_assert(v.reduction == NN_REDUCE_MEAN && v.check_finite == 0 &&
              v.seed == 0 && v.slope[0] == 0.01 && v.drop[0] == 0.0);
    nn_netspec_destroy(d);
    nn_net_destroy(dn);
    nn_net_destroy(net);
}
END_TEST

/* Every refused spec call returns NN_ERR_INVALID and changes nothing: the
 * network built afterwards is exactly RICH. */
START_TEST(spec_validation_changes_nothing)
{
    nn_netspec_t *s = rich_spec();
    /* bad activations, zero units */
    ck_assert_int_eq(nn_netspec_add_dense(s, 3, (nn_activation)6), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_add_dense(s, 3, (nn_activation)-1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_add_dense(s, 0, NN_ACT_TANH), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_add_dense(NULL, 3, NN_ACT_TANH), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 1, NN_LAYER_ACTIVATION, 6), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 1, NN_LAYER_ACTIVATION, -1), NN_ERR_INVALID);
    /* NaN / Inf / negative slope, dropout out of [0, 1) */
    const double bad_slope[] = {NAN, INFINITY, -INFINITY, -0.5};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(nn_netspec_set_real(s, 0, NN_LAYER_ACT_PARAM, bad_slope[i]),
                         NN_ERR_INVALID);
    const double bad_drop[] = {NAN, 1.0, -0.1, INFINITY};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(nn_netspec_set_real(s, 1, NN_LAYER_DROPOUT, bad_drop[i]),
                         NN_ERR_INVALID);
    /* wrong key types */
    ck_assert_int_eq(nn_netspec_set_int(s, 0, NN_LAYER_ACT_PARAM, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 0, NN_LAYER_DROPOUT, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_real(s, 0, NN_LAYER_ACTIVATION, 1.0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_real(s, NN_NET_WIDE, NN_NET_REDUCTION, 0.0),
                     NN_ERR_INVALID);
    /* unknown keys, keys of another object, keys at the wrong level */
    const int32_t unknown[] = {0, 199, 205, 299, NN_OPTIM_LR, NN_TRAIN_EPOCHS,
                               NN_KEY_EXPERIMENTAL + 12345, -1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_int_eq(nn_netspec_set_int(s, 0, unknown[i], 0), NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_real(s, 0, unknown[i], 0.5), NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, unknown[i], 0),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_real(s, NN_NET_WIDE, unknown[i], 0.5),
                         NN_ERR_INVALID);
    }
    ck_assert_int_eq(nn_netspec_set_int(s, 0, NN_NET_REDUCTION, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_real(s, NN_NET_WIDE, NN_LAYER_DROPOUT, 0.0),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, NN_LAYER_ACTIVATION, 1),
                     NN_ERR_INVALID);
    /* read-only keys */
    ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_LOSS, NN_LOSS_MSE),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 0, NN_LAYER_UNITS, 7), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 0, NN_LAYER_KIND, 0), NN_ERR_INVALID);
    /* out-of-range layers */
    ck_assert_int_eq(nn_netspec_set_real(s, 3, NN_LAYER_DROPOUT, 0.1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, 3, NN_LAYER_ACTIVATION, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_real(s, NN_NET_WIDE - 1, NN_LAYER_ACT_PARAM, 0.1),
                     NN_ERR_INVALID);
    /* a softmax of one unit cannot be made by changing an activation */
    ck_assert_uint_eq(nn_netspec_n_layers(s), 3);
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 1, NN_ACT_SIGMOID));
    ck_assert_int_eq(nn_netspec_set_int(s, 3, NN_LAYER_ACTIVATION, NN_ACT_SOFTMAX),
                     NN_ERR_INVALID);
    /* network values out of bounds */
    ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_REDUCTION, 2),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_CHECK_FINITE, -1),
                     NN_ERR_INVALID);
    /* NULL spec */
    ck_assert_int_eq(nn_netspec_set_int(NULL, NN_NET_WIDE, NN_NET_REDUCTION, 0),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_real(NULL, 0, NN_LAYER_DROPOUT, 0.0),
                     NN_ERR_INVALID);
    ck_assert_uint_eq(nn_netspec_n_layers(NULL), 0);

    /* what the spec holds: RICH plus the sigmoid layer added on purpose
     * (BCE would need it; softmax CE refuses a sigmoid output) */
    nn_net_t *net = (nn_net_t *)&s;
    ck_assert_int_eq(nn_net_create(&net, s, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(net, (nn_net_t *)&s);
    nn_netspec_destroy(s);
    s = rich_spec();
    net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    net_settings v = settings_of(net);
    assert_settings_eq(&v, &RICH);
    nn_net_destroy(net);
    nn_netspec_destroy(s);
}
END_TEST

/* Rules over several layers are checked by nn_net_create: dropout on the
 * output layer, a loss that does not fit the output, no layers. */
START_TEST(net_create_refuses_bad_specs)
{
    nn_netspec_t *s = rich_spec();
    nn_net_t *net = (nn_net_t *)&s; /* sentinel: must stay */
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 2, NN_LAYER_DROPOUT, 0.2));
    ck_assert_int_eq(nn_net_create(&net, s, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(net, (nn_net_t *)&s);
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 2, NN_LAYER_DROPOUT, 0.0));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, 2, NN_LAYER_ACTIVATION, NN_ACT_SIGMOID));
    ck_assert_int_eq(nn_net_create(&net, s, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(net, (nn_net_t *)&s);
    NN_OK_OR_FAIL(nn_netspec_set_int(s, 2, NN_LAYER_ACTIVATION, NN_ACT_SOFTMAX));
    net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_net_destroy(net);
    nn_netspec_destroy(s);

    nn_netspec_t *e = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&e, 2, NN_LOSS_MSE, NULL));
    net = (nn_net_t *)&e;
    ck_assert_int_eq(nn_net_create(&net, e, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_create(&net, NULL, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(net, (nn_net_t *)&e);
    ck_assert_int_eq(nn_net_create(NULL, e, NULL), NN_ERR_INVALID);
    nn_netspec_destroy(e);
    nn_netspec_t *bad = (nn_netspec_t *)&e;
    ck_assert_int_eq(nn_netspec_create(&bad, 0, NN_LOSS_MSE, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&bad, 2, (nn_loss)3, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&bad, 2, (nn_loss)-1, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(bad, (nn_netspec_t *)&e);
}
END_TEST

/* Getters: wrong type, unknown key, out-of-range layer: NN_ERR_INVALID and
 * nothing written; nn_net_set_int refuses read-only and bad values. */
START_TEST(net_getters_and_setters_refuse)
{
    nn_netspec_t *s = rich_spec();
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    int64_t iv = -99;
    double rv = -99;
    ck_assert_int_eq(nn_net_get_layer_int(net, 0, NN_LAYER_DROPOUT, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_layer_real(net, 0, NN_LAYER_UNITS, &rv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_layer_int(net, 3, NN_LAYER_UNITS, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_layer_real(net, 3, NN_LAYER_DROPOUT, &rv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_layer_int(net, 0, NN_NET_LOSS, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_int(net, NN_LAYER_UNITS, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_int(net, 106, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_int(NULL, NN_NET_LOSS, &iv), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_int(net, NN_NET_LOSS, NULL), NN_ERR_INVALID);
    ck_assert(iv == -99 && rv == -99);
    ck_assert_int_eq(nn_net_set_int(net, NN_NET_LOSS, NN_LOSS_MSE), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(net, NN_NET_REDUCTION, 2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(net, NN_NET_CHECK_FINITE, 2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(net, NN_LAYER_ACTIVATION, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(net, 106, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(NULL, NN_NET_REDUCTION, 0), NN_ERR_INVALID);
    net_settings v = settings_of(net);
    assert_settings_eq(&v, &RICH);
    /* the writable ones change */
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_MEAN));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 0));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_SEED, -5));
    v = settings_of(net);
    ck_assert(v.reduction == NN_REDUCE_MEAN && v.check_finite == 0 && v.seed == -5);
    nn_net_destroy(net);
}
END_TEST

/* nn_netspec_from_net: the architecture and the CURRENT settings; a net
 * built from it is the same net (same settings, and the same default
 * weights, as both are NN_INIT_DEFAULT seed 0 at creation). */
START_TEST(spec_from_net_round_trip)
{
    nn_netspec_t *s = rich_spec();
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 0));
    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_netspec_t *back = NULL;
    NN_OK_OR_FAIL(nn_netspec_from_net(&back, net, &al));
    ck_assert_int_gt(c.allocs, 0);
    ck_assert_uint_eq(nn_netspec_n_layers(back), 3);
    nn_net_t *twin = NULL;
    NN_OK_OR_FAIL(nn_net_create(&twin, back, NULL));
    nn_netspec_destroy(back);
    TU_ASSERT_BALANCED(&c);
    net_settings want = RICH, got = settings_of(twin);
    want.check_finite = 0;
    assert_settings_eq(&got, &want);
    for (size_t l = 0; l < 3; l++) {
        ck_assert_uint_eq(nn_net_layer_n_in(twin, l), nn_net_layer_n_in(net, l));
        ck_assert_uint_eq(nn_net_layer_n_out(twin, l), nn_net_layer_n_out(net, l));
    }
    ck_assert(memcmp(nn_net_params(net), nn_net_params(twin),
                     RICH.n_params * sizeof(double)) == 0);
    nn_netspec_t *none = (nn_netspec_t *)&c;
    ck_assert_int_eq(nn_netspec_from_net(&none, NULL, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(none, (nn_netspec_t *)&c);
    ck_assert_int_eq(nn_netspec_from_net(NULL, net, NULL), NN_ERR_INVALID);
    nn_net_destroy(twin);
    nn_net_destroy(net);
}
END_TEST

/* nn_net_clone: bitwise-equal predictions and gradients (dropout generator
 * copied too), the same settings, and parameters of its own. */
START_TEST(clone_is_deep_and_independent)
{
    nn_netspec_t *s = rich_spec();
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_HE_NORMAL, 8));
    enum { M = 6 };
    double X[M * 3];
    int32_t lab[M] = {0, 1, 1, 0, 1, 0};
    tu_rng r = {21};
    tu_fill(&r, X, M * 3, -1, 1);
    /* advance the dropout stream so that the clone must copy its state */
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, 3, lab, NULL));

    tu_counter c = {0};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *cl = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&cl, net, &al));
    ck_assert_int_gt(c.allocs, 0);
    net_settings a = settings_of(net), b = settings_of(cl);
    assert_settings_eq(&a, &b);
    size_t np = nn_net_n_params(net);
    ck_assert(nn_net_params(cl) != nn_net_params(net));
    ck_assert(memcmp(nn_net_params(net), nn_net_params(cl), np * sizeof(double)) == 0);
    double Pa[M * 2], Pb[M * 2];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, X, 3, Pa, 2));
    NN_OK_OR_FAIL(nn_net_predict(cl, NULL, M, NN_ROW_MAJOR, X, 3, Pb, 2));
    ck_assert(memcmp(Pa, Pb, sizeof Pa) == 0);
    /* same dropout masks from here on */
    double *ga = tu_dalloc(np);
    for (int t = 0; t < 3; t++) {
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, 3, lab, NULL));
        NN_OK_OR_FAIL(nn_net_gradient_labels(cl, M, NN_ROW_MAJOR, X, 3, lab, NULL));
        ck_assert(memcmp(nn_net_grads(net), nn_net_grads(cl), np * sizeof(double)) == 0);
    }
    /* independent: changing the clone leaves the original alone and back */
    double *p0 = tu_dalloc(np);
    memcpy(p0, nn_net_params(net), np * sizeof(double));
    memcpy(ga, nn_net_grads(net), np * sizeof(double));
    nn_net_params(cl)[0] += 1.0;
    NN_OK_OR_FAIL(nn_net_init(cl, NN_INIT_GLOROT_UNIFORM, 1));
    NN_OK_OR_FAIL(nn_net_set_int(cl, NN_NET_REDUCTION, NN_REDUCE_MEAN));
    ck_assert(memcmp(p0, nn_net_params(net), np * sizeof(double)) == 0);
    ck_assert(memcmp(ga, nn_net_grads(net), np * sizeof(double)) == 0);
    ck_assert_int_eq(nn_net_has_grads(net), 1);
    a = settings_of(net);
    ck_assert(a.reduction == NN_REDUCE_SUM);
    NN_OK_OR_FAIL(tu_sgd_step(net, 0.1));
    ck_assert(memcmp(nn_net_params(cl), nn_net_params(net), np * sizeof(double)) != 0);
    double Pc[M * 2];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, X, 3, Pc, 2));
    ck_assert(memcmp(Pa, Pc, sizeof Pa) != 0);
    /* the clone outlives the original */
    nn_net_destroy(net);
    NN_OK_OR_FAIL(nn_net_predict(cl, NULL, M, NN_ROW_MAJOR, X, 3, Pb, 2));
    nn_net_destroy(cl);
    TU_ASSERT_BALANCED(&c);
    nn_net_t *none = (nn_net_t *)&c;
    ck_assert_int_eq(nn_net_clone(&none, NULL, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(none, (nn_net_t *)&c);
    free(ga);
    free(p0);
}
END_TEST

/* A softmax layer of one unit is refused at creation (issue 9, item 9: its
 * loss would be 0 with non-zero gradients), as the output or hidden. */
START_TEST(single_softmax_unit_refused)
{
    static const struct { size_t n; tu_layer l[2]; nn_loss loss; } cases[] = {
        {1, {{1, NN_ACT_SOFTMAX, 0, 0}}, NN_LOSS_SOFTMAX_CE},
        {1, {{1, NN_ACT_SOFTMAX, 0, 0}}, NN_LOSS_MSE},
        {2, {{3, NN_ACT_TANH, 0, 0}, {1, NN_ACT_SOFTMAX, 0, 0}}, NN_LOSS_SOFTMAX_CE},
        {2, {{1, NN_ACT_SOFTMAX, 0, 0}, {2, NN_ACT_SOFTMAX, 0, 0}}, NN_LOSS_SOFTMAX_CE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net_t *net = (nn_net_t *)&cases; /* sentinel: must stay */
        ck_assert_int_eq(tu_net_try(&net, 2, cases[i].n, cases[i].l, cases[i].loss, NULL),
                         NN_ERR_INVALID);
        ck_assert_ptr_eq(net, (nn_net_t *)&cases);
    }
    /* two units are fine */
    const tu_layer ok = {2, NN_ACT_SOFTMAX, 0, 0};
    nn_net_t *net = tu_net_layers(2, 1, &ok, NN_LOSS_SOFTMAX_CE, NULL);
    nn_net_destroy(net);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("init");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, moments_bounds_biases, 0, 4);
    tcase_add_loop_test(tc, seed_determines_weights, 0,
                        (int)(sizeof ALL / sizeof ALL[0]));
    tcase_add_test(tc, default_is_glorot_uniform_for_identity);
    tcase_add_loop_test(tc, orthogonal_shapes, 0,
                        (int)(sizeof SHAPES / sizeof SHAPES[0]));
    tcase_add_test(tc, orthogonal_signs);
    tcase_add_test(tc, orthogonal_net_works);
    tcase_add_test(tc, invalid_scheme_changes_nothing);
    tcase_add_test(tc, orthogonal_nomem_changes_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("construction");
    tcase_add_test(tc, spec_settings_reach_the_net);
    tcase_add_test(tc, spec_validation_changes_nothing);
    tcase_add_test(tc, net_create_refuses_bad_specs);
    tcase_add_test(tc, net_getters_and_setters_refuse);
    tcase_add_test(tc, spec_from_net_round_trip);
    tcase_add_test(tc, clone_is_deep_and_independent);
    tcase_add_test(tc, single_softmax_unit_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
