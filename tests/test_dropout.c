/* test_dropout.c — inverted dropout: only in training passes, masks drawn with
 * probability p, kept units scaled by 1/(1-p), gradients through the mask;
 * masks come from the network's own counter-based stream, seeded by
 * NN_NET_DROPOUT_SEED and independent of the weight seed of nn_net_init, and
 * depend on each row's global index (NN_NET_DROPOUT_ROW0 + i), not on how a
 * batch is split. */
#include "testutil.h"

#include <math.h>

#include <string.h>

enum { NIN = 3, H = 4, NOUT = 2 };

/* 3 -> 4 (tanh, dropout p) -> 2 (sigmoid, BCE), fixed weights. */
static nn_net_t *make_net(double p)
{
    const tu_layer specs[] = {{H, NN_ACT_TANH, 0, p},
                              {NOUT, NN_ACT_SIGMOID, 0, 0}};
    nn_net_t *net = tu_net_layers(NIN, 2, specs, NN_LOSS_BCE, NULL);
    tu_rng r = {7};
    double W1[NIN * H], b1[H], W2[H * NOUT], b2[NOUT];
    tu_fill(&r, W1, NIN * H, -1, 1);
    tu_fill(&r, b1, H, -0.5, 0.5);
    tu_fill(&r, W2, H * NOUT, -1, 1);
    tu_fill(&r, b2, NOUT, -0.5, 0.5);
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, W1, H, b1));
    NN_OK_OR_FAIL(nn_net_set_params(net, 1, NN_ROW_MAJOR, W2, NOUT, b2));
    return net;
}

static const double X1[NIN] = {0.3, -1.2, 0.8};
static const double Y1[NOUT] = {1.0, 0.0};

/* Reference gradients for one sample and a given keep pattern (bit j set =
 * unit j kept), written out from the formulas:
 *   a1 = tanh(x W1 + b1), d = a1 o s, s_j = kept ? 1/(1-p) : 0
 *   z2 = d W2 + b2, dz2 = sigmoid(z2) - y
 *   dW2 = d^T dz2, db2 = dz2, dd = dz2 W2^T, dz1 = dd o s o (1 - a1^2)
 *   dW1 = x^T dz1, db1 = dz1 */
static void reference(nn_net_t *net, double p, unsigned kept, double *g)
{
    const double *W1 = tu_net_W(net, 0), *b1 = tu_net_b(net, 0);
    const double *W2 = tu_net_W(net, 1), *b2 = tu_net_b(net, 1);
    double a1[H], s[H], d[H], dz2[NOUT], dz1[H];
    for (int j = 0; j < H; j++) {
        double z = b1[j];
        for (int i = 0; i < NIN; i++) z += X1[i] * W1[i * H + j];
        a1[j] = tanh(z);
        s[j] = (kept >> j) & 1 ? 1.0 / (1.0 - p) : 0.0;
        d[j] = a1[j] * s[j];
    }
    for (int k = 0; k < NOUT; k++) {
        double z = b2[k];
        for (int j = 0; j < H; j++) z += d[j] * W2[j * NOUT + k];
        dz2[k] = 1.0 / (1.0 + exp(-z)) - Y1[k];
    }
    for (int j = 0; j < H; j++) {
        double dd = 0;
        for (int k = 0; k < NOUT; k++) dd += dz2[k] * W2[j * NOUT + k];
        dz1[j] = dd * s[j] * (1.0 - a1[j] * a1[j]);
    }
    /* flat layout of the library: W1, b1, W2, b2 */
    size_t o = 0;
    for (int i = 0; i < NIN; i++)
        for (int j = 0; j < H; j++) g[o++] = X1[i] * dz1[j];
    for (int j = 0; j < H; j++) g[o++] = dz1[j];
    for (int j = 0; j < H; j++)
        for (int k = 0; k < NOUT; k++) g[o++] = d[j] * dz2[k];
    for (int k = 0; k < NOUT; k++) g[o++] = dz2[k];
}

static void library_grads(nn_net_t *net, double *g)
{
    memcpy(g, nn_net_grads(net), nn_net_n_params(net) * sizeof(double));
}

/* Every gradient equals the reference for exactly one keep pattern, and the
 * patterns drop units at rate p. */
START_TEST(gradients_follow_a_mask)
{
    const double p = 0.3;
    nn_net_t *net = make_net(p);
    size_t np = nn_net_n_params(net);
    double got[64], ref[64];
    ck_assert_uint_le(np, 64);
    long dropped = 0, trials = 600;
    int seen_all_kept = 0, seen_some_dropped = 0;
    for (long t = 0; t < trials; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        library_grads(net, got);
        int match = -1;
        for (unsigned kept = 0; kept < (1u << H) && match < 0; kept++) {
            reference(net, p, kept, ref);
            int ok = 1;
            for (size_t i = 0; i < np && ok; i++)
                ok = tu_relerr(got[i], ref[i], 1e-12) <= 1e-12;
            if (ok) match = (int)kept;
        }
        ck_assert_msg(match >= 0, "gradient %ld matches no dropout mask", t);
        dropped += H - __builtin_popcount((unsigned)match);
        seen_all_kept |= match == (1 << H) - 1;
        seen_some_dropped |= match != (1 << H) - 1;
    }
    /* rate of dropped units: binomial(600*4, 0.3), sd ~ 0.0094 */
    double rate = (double)dropped / (double)(trials * H);
    ck_assert_msg(fabs(rate - p) < 5 * sqrt(p * (1 - p) / (double)(trials * H)),
                  "dropout rate %g, expected %g", rate, p);
    ck_assert(seen_all_kept && seen_some_dropped);
    nn_net_destroy(net);
}
END_TEST

/* Inference (predict, loss) ignores dropout; p = 0 is exactly no dropout. */
START_TEST(inference_untouched)
{
    nn_net_t *a = make_net(0.5), *b = make_net(0.0);
    double Pa[NOUT], Pb[NOUT], la, lb;
    NN_OK_OR_FAIL(nn_net_predict(a, NULL, 1, NN_ROW_MAJOR, X1, NIN, Pa, NOUT));
    NN_OK_OR_FAIL(nn_net_predict(b, NULL, 1, NN_ROW_MAJOR, X1, NIN, Pb, NOUT));
    ck_assert_mem_eq(Pa, Pb, sizeof Pa);
    NN_OK_OR_FAIL(nn_net_loss(a, NULL, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, &la));
    NN_OK_OR_FAIL(nn_net_loss(b, NULL, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, &lb));
    ck_assert(la == lb);
    /* p = 0: gradient is the all-kept reference */
    double got[64], ref[64];
    NN_OK_OR_FAIL(nn_net_gradient(b, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
    library_grads(b, got);
    reference(b, 0.0, (1u << H) - 1, ref);
    for (size_t i = 0; i < nn_net_n_params(b); i++)
        ck_assert(tu_relerr(got[i], ref[i], 1e-12) <= 1e-12);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* Masks come from the network's own generator: two nets with the same
 * dropout seed draw the same masks, step after step, whatever nn_net_init
 * does to the weights in between (it does not touch the generator). */
START_TEST(masks_reproducible)
{
    nn_net_t *a = make_net(0.5), *b = make_net(0.5);
    int64_t seed = -1;
    NN_OK_OR_FAIL(nn_net_get_int(a, NN_NET_DROPOUT_SEED, &seed));
    ck_assert_int_eq(seed, 0); /* the default */
    double ga[64], gb[64];
    size_t np = nn_net_n_params(a);
    int differ = 0;
    for (int t = 0; t < 20; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(a, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        NN_OK_OR_FAIL(nn_net_gradient(b, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        library_grads(a, ga);
        library_grads(b, gb);
        ck_assert_mem_eq(ga, gb, np * sizeof(double));
        static double first[64];
        if (t == 0) memcpy(first, ga, sizeof first);
        else differ |= memcmp(first, ga, np * sizeof(double)) != 0;
    }
    ck_assert_msg(differ, "masks never changed between steps");
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* The keep pattern of one gradient of make_net's net (p = 0.5), found by
 * matching the reference (the weights are those of make_net). */
static unsigned mask_of(nn_net_t *net)
{
    double got[64], ref[64];
    size_t np = nn_net_n_params(net);
    library_grads(net, got);
    for (unsigned kept = 0; kept < (1u << H); kept++) {
        reference(net, 0.5, kept, ref);
        int ok = 1;
        for (size_t i = 0; i < np && ok; i++)
            ok = tu_relerr(got[i], ref[i], 1e-12) <= 1e-12;
        if (ok) return kept;
    }
    ck_abort_msg("gradient matches no dropout mask");
    return 0;
}

/* NN_NET_DROPOUT_SEED reseeds the generator when set (the sequence starts
 * over), reads back as the seed last set, and nn_net_init leaves it alone;
 * a different seed gives a different sequence. */
START_TEST(dropout_seed_is_separate)
{
    enum { T = 24 };
    nn_net_t *a = make_net(0.5);
    NN_OK_OR_FAIL(nn_net_set_int(a, NN_NET_DROPOUT_SEED, 1234567));
    unsigned first[T], again[T], other[T];
    for (int t = 0; t < T; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(a, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        first[t] = mask_of(a);
    }
    int64_t seed = 0;
    NN_OK_OR_FAIL(nn_net_get_int(a, NN_NET_DROPOUT_SEED, &seed));
    ck_assert_int_eq(seed, 1234567); /* the seed last set, not the state */
    /* re-init the weights with another seed (then restore make_net's, so
     * that mask_of can match): the generator is untouched, so the stream
     * goes on rather than restarting */
    size_t np = nn_net_n_params(a);
    double *w = tu_dalloc(np);
    memcpy(w, nn_net_params(a), np * sizeof(double));
    NN_OK_OR_FAIL(nn_net_init(a, NN_INIT_HE_UNIFORM, 1234567));
    memcpy(nn_net_params(a), w, np * sizeof(double));
    nn_net_t *ref = make_net(0.5); /* same seed, drawn T masks ahead */
    NN_OK_OR_FAIL(nn_net_set_int(ref, NN_NET_DROPOUT_SEED, 1234567));
    for (int t = 0; t < T; t++)
        NN_OK_OR_FAIL(nn_net_gradient(ref, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
    for (int t = 0; t < 8; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(a, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        NN_OK_OR_FAIL(nn_net_gradient(ref, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        ck_assert_uint_eq(mask_of(a), mask_of(ref));
    }
    /* setting the seed again starts the sequence over */
    NN_OK_OR_FAIL(nn_net_set_int(a, NN_NET_DROPOUT_SEED, 1234567));
    for (int t = 0; t < T; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(a, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        again[t] = mask_of(a);
    }
    ck_assert(memcmp(first, again, sizeof first) == 0);
    /* another seed: another sequence (24 masks of 4 fair bits agree by
     * chance with probability 2^-96) */
    NN_OK_OR_FAIL(nn_net_set_int(a, NN_NET_DROPOUT_SEED, -1));
    NN_OK_OR_FAIL(nn_net_get_int(a, NN_NET_DROPOUT_SEED, &seed));
    ck_assert_int_eq(seed, -1);
    for (int t = 0; t < T; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(a, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        other[t] = mask_of(a);
    }
    ck_assert(memcmp(first, other, sizeof first) != 0);
    /* the seed from the spec is the same as the seed set later */
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_from_net(&s, a, NULL));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 1234567));
    nn_net_t *c = NULL;
    NN_OK_OR_FAIL(nn_net_create(&c, s, NULL));
    nn_netspec_destroy(s);
    memcpy(nn_net_params(c), w, np * sizeof(double));
    for (int t = 0; t < T; t++) {
        NN_OK_OR_FAIL(nn_net_gradient(c, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT, NULL));
        ck_assert_uint_eq(mask_of(c), first[t]);
    }
    free(w);
    nn_net_destroy(c);
    nn_net_destroy(ref);
    nn_net_destroy(a);
}
END_TEST

/* A gradient that fails under check-finite (NaN input: NN_ERR_NUMERIC) draws
 * no masks: the masks that follow are those of an untouched copy, found by
 * matching the hand-derived reference gradient of each of the 16 masks. */
START_TEST(failed_gradient_keeps_the_masks)
{
    nn_net_t *net = make_net(0.5);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    nn_net_t *twin = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&twin, net, NULL));
    const double bad[NIN] = {NAN, 0.0, 1.0};
    double loss = -1.0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(nn_net_gradient(net, 1, NN_ROW_MAJOR, bad, NIN, Y1,
                                         NOUT, &loss),
                         NN_ERR_NUMERIC);
        ck_assert(loss == -1.0);
    }
    for (int i = 0; i < 8; i++) {
        NN_OK_OR_FAIL(nn_net_gradient(net, 1, NN_ROW_MAJOR, X1, NIN, Y1, NOUT,
                                      NULL));
        NN_OK_OR_FAIL(nn_net_gradient(twin, 1, NN_ROW_MAJOR, X1, NIN, Y1,
                                      NOUT, NULL));
        ck_assert_uint_eq(mask_of(net), mask_of(twin));
    }
    nn_net_destroy(twin);
    nn_net_destroy(net);
}
END_TEST

/* Masks are a function of the row's global index: a batch's summed
 * gradient equals the sum of its parts' gradients when each part is drawn
 * at the same NN_NET_DROPOUT_STEP with NN_NET_DROPOUT_ROW0 = its first
 * row's index (what the shards of a data-parallel step do), and differs
 * when a part claims the wrong rows. Every pass adds one to the step. */
START_TEST(masks_follow_the_global_row)
{
    enum { M = 7 };
    nn_net_t *net = make_net(0.5);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_SEED, 99));
    double X[M * NIN], Y[M * NOUT], whole[64], part[64], wrong[64];
    tu_rng r = {5};
    tu_fill(&r, X, M * NIN, -1, 1);
    for (int i = 0; i < M * NOUT; i++) Y[i] = (double)(i % 3 == 0);
    size_t np = nn_net_n_params(net);
    const int64_t step0 = 11;
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_STEP, step0));
    NN_OK_OR_FAIL(nn_net_gradient(net, M, NN_ROW_MAJOR, X, NIN, Y, NOUT, NULL));
    memcpy(whole, nn_net_grads(net), np * sizeof(double));
    int64_t step = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_STEP, &step));
    ck_assert_int_eq(step, step0 + 1);
    for (size_t cut = 1; cut < M; cut++) {
        for (size_t i = 0; i < np; i++) part[i] = wrong[i] = 0.0;
        const size_t lo[2] = {0, cut}, hi[2] = {cut, M};
        for (int k = 0; k < 2; k++) {
            for (int w = 0; w < 2; w++) { /* w = 1: every part claims row 0 */
                NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_STEP, step0));
                NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_ROW0,
                                             w ? 0 : (int64_t)lo[k]));
                NN_OK_OR_FAIL(nn_net_gradient(net, hi[k] - lo[k], NN_ROW_MAJOR,
                                              X + lo[k] * NIN, NIN,
                                              Y + lo[k] * NOUT, NOUT, NULL));
                double *acc = w ? wrong : part;
                for (size_t i = 0; i < np; i++) acc[i] += nn_net_grads(net)[i];
            }
        }
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_ROW0, 0));
        int same_wrong = 1;
        for (size_t i = 0; i < np; i++) {
            ck_assert_msg(fabs(part[i] - whole[i]) <=
                              1e-14 * fmax(1.0, fabs(whole[i])),
                          "cut %zu [%zu]: %g vs %g", cut, i, part[i], whole[i]);
            same_wrong &= fabs(wrong[i] - whole[i]) <=
                          1e-14 * fmax(1.0, fabs(whole[i]));
        }
        ck_assert_msg(!same_wrong, "cut %zu: row offsets do not matter", cut);
    }
    int64_t row0 = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_ROW0, &row0));
    ck_assert_int_eq(row0, 0);
    ck_assert_int_eq(nn_net_set_int(net, NN_NET_DROPOUT_STEP, -1),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(net, NN_NET_DROPOUT_ROW0, -1),
                     NN_ERR_INVALID);
    nn_net_destroy(net);
}
END_TEST

START_TEST(bad_rates_refused)
{
    const double bad[] = {-0.1, 1.0, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const tu_layer specs[] = {{H, NN_ACT_RELU, 0, bad[i]},
                                  {1, NN_ACT_SIGMOID, 0, 0}};
        nn_net_t *net = (nn_net_t *)&specs; /* sentinel: must stay */
        ck_assert_int_eq(tu_net_try(&net, NIN, 2, specs, NN_LOSS_BCE, NULL),
                         NN_ERR_INVALID);
        ck_assert_ptr_eq(net, (nn_net_t *)&specs);
    }
    /* dropout on the output layer is refused */
    const tu_layer out_drop[] = {{H, NN_ACT_RELU, 0, 0.2},
                                 {1, NN_ACT_SIGMOID, 0, 0.2}};
    nn_net_t *net = NULL;
    ck_assert_int_eq(tu_net_try(&net, NIN, 2, out_drop, NN_LOSS_BCE, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_null(net);
    /* the largest rate below 1 is accepted */
    const tu_layer top[] = {{H, NN_ACT_RELU, 0, nextafter(1.0, 0.0)},
                            {1, NN_ACT_SIGMOID, 0, 0}};
    NN_OK_OR_FAIL(tu_net_try(&net, NIN, 2, top, NN_LOSS_BCE, NULL));
    double p = 0;
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, 0, NN_LAYER_DROPOUT, &p));
    ck_assert(p == nextafter(1.0, 0.0));
    nn_net_destroy(net);
}
END_TEST

/* A wider dropout net with every step allocation-free still trains: the loss
 * of a fixed batch falls. */
START_TEST(dropout_net_trains)
{
    enum { M = 64, N = 8 };
    const tu_layer specs[] = {{32, NN_ACT_RELU, 0, 0.2},
                              {16, NN_ACT_TANH, 0, 0.1},
                              {3, NN_ACT_SOFTMAX, 0, 0}};
    nn_net_t *net = tu_net_layers(N, 3, specs, NN_LOSS_SOFTMAX_CE, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_DEFAULT, 3));
    double X[M * N];
    int32_t lab[M];
    tu_rng r = {11};
    for (size_t i = 0; i < M; i++) {
        lab[i] = i % 3;
        for (size_t j = 0; j < N; j++)
            X[i * N + j] = tu_uniform(&r, -0.5, 0.5) +
                           ((int32_t)(j % 3) == lab[i] ? 1.5 : 0.0);
    }
    double before, after;
    NN_OK_OR_FAIL(nn_net_reserve(net, M));
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, X, N, lab, &before));
    nn_optim_t *opt = tu_sgd(net, 0.1);
    for (int s = 0; s < 300; s++) {
        if (s % 2)
            NN_OK_OR_FAIL(nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X,
                                                   N, lab, NULL));
        else {
            NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, N, lab,
                                                 NULL));
            NN_OK_OR_FAIL(nn_optim_step(opt, net));
        }
    }
    nn_optim_destroy(opt);
    NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, X, N, lab, &after));
    ck_assert_msg(after < 0.2 * before, "loss %g -> %g", before, after);
    nn_net_destroy(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("dropout");
    tcase_add_test(tc, gradients_follow_a_mask);
    tcase_add_test(tc, inference_untouched);
    tcase_add_test(tc, masks_reproducible);
    tcase_add_test(tc, dropout_seed_is_separate);
    tcase_add_test(tc, failed_gradient_keeps_the_masks);
    tcase_add_test(tc, masks_follow_the_global_row);
    tcase_add_test(tc, bad_rates_refused);
    tcase_add_test(tc, dropout_net_trains);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
