/* test_init.c — weight initialisation schemes (nn_net_init):
 * uniform and normal schemes have mean 0 and the documented variance
 * (tolerances from the sample size: 5 standard errors), uniform draws stay in
 * their bounds, biases are zeroed, draws are a pure function of the seed;
 * orthogonal init gives W^T W = I (tall / square) or W W^T = I (wide) to
 * 1e-12; an invalid scheme or a failed allocation changes nothing. */
#include "testutil.h"

#include <string.h>

#define NI 400
#define NO 300

static nn_net_t *make_net(size_t n_in, size_t n_out, const nn_allocator *al)
{
    nn_layer_spec spec = {n_out, NN_ACT_IDENTITY, 0.0};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, n_in, 1, &spec, NN_LOSS_MSE, al));
    return net;
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
    double *b = nn_net_bias(net, 0);
    for (size_t j = 0; j < NO; j++) b[j] = 1.5; /* must be cleared */
    NN_OK_OR_FAIL(nn_net_init(net, sc.init, 12345));
    const double *W = nn_net_weights(net, 0);
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
    ck_assert(memcmp(nn_net_weights(a, 0), nn_net_weights(b, 0), bytes) == 0);
    NN_OK_OR_FAIL(nn_net_init(b, init, 100));
    ck_assert(memcmp(nn_net_weights(a, 0), nn_net_weights(b, 0), bytes) != 0);
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
    ck_assert(memcmp(nn_net_weights(a, 0), nn_net_weights(b, 0),
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
        nn_net_bias(net, 0)[0] = 3.0;
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, seed));
        const double *W = nn_net_weights(net, 0);
        double e = orth_err(W, r, c);
        ck_assert_msg(e < 1e-12, "%zux%zu seed %d: err %g", r, c, (int)seed, e);
        for (size_t j = 0; j < c; j++) ck_assert(nn_net_bias(net, 0)[j] == 0);
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
        pos += nn_net_weights(net, 0)[0] > 0;
    }
    ck_assert_msg(pos > 60 && pos < 140, "positive %d / %d", pos, n);
    nn_net_destroy(net);

    /* 3x3: the mean of W_00 over many seeds is ~0 (sd of W_00 is 1/sqrt(3)) */
    net = make_net(3, 3, NULL);
    double sum = 0;
    n = 2000;
    for (int s = 0; s < n; s++) {
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, (uint64_t)s));
        sum += nn_net_weights(net, 0)[0];
    }
    ck_assert_msg(fabs(sum / n) < 5 / sqrt(3.0 * n), "mean W00 %g", sum / n);
    nn_net_destroy(net);
}
END_TEST

/* A deeper net: every layer orthogonal, and the net trains. */
START_TEST(orthogonal_net_works)
{
    nn_layer_spec specs[3] = {{16, NN_ACT_TANH, 0},
                              {6, NN_ACT_TANH, 0},
                              {1, NN_ACT_IDENTITY, 0}};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, 8, 3, specs, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, 7));
    for (size_t l = 0; l < 3; l++)
        ck_assert(orth_err(nn_net_weights(net, l), nn_net_layer_n_in(net, l),
                           nn_net_layer_n_out(net, l)) < 1e-12);
    enum { M = 64 };
    double X[M * 8], Y[M];
    tu_rng r = {3};
    tu_fill(&r, X, M * 8, -1, 1);
    for (int i = 0; i < M; i++) Y[i] = 0.5 * X[i * 8] - 0.3 * X[i * 8 + 3];
    double l0 = 0, l1 = 0;
    NN_OK_OR_FAIL(nn_net_loss(net, M, NN_ROW_MAJOR, X, 8, Y, 1, &l0));
    for (int it = 0; it < 200; it++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, 8, Y, 1, NULL));
        NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.05));
    }
    NN_OK_OR_FAIL(nn_net_loss(net, M, NN_ROW_MAJOR, X, 8, Y, 1, &l1));
    ck_assert(isfinite(l1) && l1 < 0.5 * l0);
    nn_net_destroy(net);
}
END_TEST

START_TEST(invalid_scheme_changes_nothing)
{
    nn_net_t *net = make_net(5, 4, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_HE_NORMAL, 1));
    double before[20];
    memcpy(before, nn_net_weights(net, 0), sizeof before);
    ck_assert_int_eq(nn_net_init(net, (nn_init)7, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(net, (nn_init)-1, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(NULL, NN_INIT_ORTHOGONAL, 1), NN_ERR_INVALID);
    ck_assert(memcmp(before, nn_net_weights(net, 0), sizeof before) == 0);
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
        nn_layer_spec specs[2] = {{6, NN_ACT_TANH, 0}, {3, NN_ACT_IDENTITY, 0}};
        nn_net_t *net = NULL;
        NN_OK_OR_FAIL(nn_net_create(&net, 4, 2, specs, NN_LOSS_MSE, &al));
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_NORMAL, 2));
        nn_net_bias(net, 1)[2] = 0.25;
        double before[2][64], after[2][64], bb[2][8], ba[2][8];
        for (size_t l = 0; l < 2; l++)
            NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, before[l],
                                            nn_net_layer_n_out(net, l),
                                            bb[l]));
        c.fail_at = c.attempts + k;
        nn_status st = nn_net_init(net, NN_INIT_ORTHOGONAL, 3);
        c.fail_at = 0;
        ck_assert_int_eq(st, NN_ERR_NOMEM);
        for (size_t l = 0; l < 2; l++) {
            size_t no = nn_net_layer_n_out(net, l);
            NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, after[l], no,
                                            ba[l]));
            size_t nw = nn_net_layer_n_in(net, l) * no;
            ck_assert(memcmp(before[l], after[l], nw * sizeof(double)) == 0);
            ck_assert(memcmp(bb[l], ba[l], no * sizeof(double)) == 0);
        }
        NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, 3));
        nn_net_destroy(net);
        TU_ASSERT_BALANCED(&c);
    }
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
    return s;
}

int main(void) { return tu_run(suite()); }
