/* test_train.c — the trainer (nn_trainer_*, nn_train): learning-rate
 * schedules against their closed forms
 *   STEP:   lr(e) = lr0 * gamma^floor(e / step_epochs)     (e 0-based epoch)
 *   COSINE: lr(t) = lr_min + (lr0 - lr_min)(1 + cos(pi t/T))/2
 *           (t 0-based step, T = epochs * ceil(m / batch); the report holds
 *           the rate of the epoch's last step, t = (e+1)*steps - 1)
 *   warm-up: the rate of step t times min(1, (t+1)/W),
 * step counts (the last partial batch is used), early stopping and the
 * restoration of the best weights, report callbacks (epoch and batch
 * reports, stopping), reproducibility, the validation split, the gradient
 * hook (a simulated two-worker allreduce against full-batch training), dense
 * targets (regression converging to the nn_lstsq solution), SUM against
 * MEAN reduction, an end-to-end run, allocation counts, key bounds, error
 * paths and rollback of a run that fails part way. Through a hook that
 * names each one-row batch by its loss: a fresh shuffle in every epoch, a
 * validation split disjoint from the training rows, and early stopping that
 * needs a strict decrease. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <float.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------ helpers */
static nn_data_t *make_data(const double *X, size_t m, size_t n,
                            const int32_t *labels)
{
    return tu_data(X, m, n, labels, NULL);
}

/* Blobs: class c of `k` centred at centres[c], uniform noise in +-noise. */
static const double CENTRES[3][2] = {{0.0, 0.0}, {3.0, 0.0}, {0.0, 3.0}};
static nn_data_t *blobs(size_t m, size_t k, double noise, uint64_t seed,
                        bool flip)
{
    double *X = tu_dalloc(m * 2);
    int32_t *y = malloc(m * sizeof(int32_t));
    ck_assert_ptr_nonnull(y);
    tu_rng r = {seed};
    for (size_t i = 0; i < m; i++) {
        size_t c = i % k;
        X[2 * i] = CENTRES[c][0] + tu_uniform(&r, -noise, noise);
        X[2 * i + 1] = CENTRES[c][1] + tu_uniform(&r, -noise, noise);
        y[i] = (int32_t)(flip ? k - 1 - c : c);
    }
    nn_data_t *d = make_data(X, m, 2, y);
    free(X);
    free(y);
    return d;
}

static nn_net_t *make_net(size_t hidden, size_t k, const nn_allocator *al)
{
    const size_t units[2] = {hidden, k};
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_SOFTMAX};
    nn_net_t *net = hidden ? tu_net(2, 2, units, acts, NN_LOSS_SOFTMAX_CE, al)
                           : tu_net(2, 1, units + 1, acts + 1,
                                    NN_LOSS_SOFTMAX_CE, al);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 7));
    return net;
}

/* n_in -> 1, identity output, MSE: y = x.w + b. */
static nn_net_t *linear_net(size_t n_in, const nn_allocator *al)
{
    const size_t one[1] = {1};
    const nn_activation id[1] = {NN_ACT_IDENTITY};
    nn_net_t *net = tu_net(n_in, 1, one, id, NN_LOSS_MSE, al);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 3));
    return net;
}

static nn_optim_t *make_opt(nn_net_t *net, nn_optim_kind kind, double lr,
                            const nn_allocator *al)
{
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, kind, al));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_LR, lr));
    return opt;
}

static double lr_of(const nn_optim_t *opt)
{
    double lr = NAN;
    NN_OK_OR_FAIL(nn_optim_get_real(opt, NN_OPTIM_LR, &lr));
    return lr;
}

#define NPMAX 64
#define EMAX 64

/* All parameters, through the flat array (layer by layer, W then b). */
static size_t get_all(nn_net_t *net, double *p)
{
    size_t np = nn_net_n_params(net);
    ck_assert_uint_le(np, NPMAX);
    memcpy(p, nn_net_params(net), np * sizeof(double));
    return np;
}

static uint64_t steps_of(const nn_optim_t *opt)
{
    int64_t s = -1;
    NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_STEPS, &s));
    return (uint64_t)s;
}

static void seti(nn_trainer_t *t, int32_t key, int64_t v)
{
    NN_OK_OR_FAIL(nn_trainer_set_int(t, key, v));
}

static void setr(nn_trainer_t *t, int32_t key, double v)
{
    NN_OK_OR_FAIL(nn_trainer_set_real(t, key, v));
}

/* The results of the last run, as one struct. */
typedef struct tres {
    int64_t epochs_run, best_epoch, stopped_early, steps_run;
    double best_val_loss, final_loss, seconds;
} tres;

static tres results(const nn_trainer_t *t)
{
    tres r = {tu_geti(t, NN_TRAIN_EPOCHS_RUN), tu_geti(t, NN_TRAIN_BEST_EPOCH),
              tu_geti(t, NN_TRAIN_STOPPED_EARLY), tu_geti(t, NN_TRAIN_STEPS_RUN),
              tu_getr(t, NN_TRAIN_BEST_VAL_LOSS), tu_getr(t, NN_TRAIN_FINAL_LOSS),
              tu_getr(t, NN_TRAIN_SECONDS)};
    return r;
}

/* Bitwise equal, NaN included. */
static bool same_res(const tres *a, const tres *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* What the callback records, epoch by epoch (batch reports are counted). */
typedef struct rec {
    nn_net_t *net;
    size_t calls, stop_at; /* stop_at: return 1 at this epoch (0: never) */
    size_t batch_calls;
    double lr[EMAX], train_loss[EMAX], val_loss[EMAX], val_acc[EMAX];
    double params[EMAX][NPMAX];
    size_t np;
} rec;

static int32_t record(const nn_report *r, void *ctx)
{
    rec *c = ctx;
    ck_assert_uint_eq(r->size, sizeof(nn_report));
    ck_assert_int_eq(r->reserved, 0);
    if (r->kind == NN_REPORT_BATCH) {
        c->batch_calls++;
        return 0;
    }
    ck_assert_int_eq(r->kind, NN_REPORT_EPOCH);
    ck_assert_uint_lt(c->calls, EMAX);
    ck_assert_uint_eq(r->epoch, c->calls + 1);
    ck_assert_uint_eq(r->batch, r->batches);
    ck_assert(r->seconds >= 0);
    c->lr[c->calls] = r->lr;
    c->train_loss[c->calls] = r->train_loss;
    c->val_loss[c->calls] = r->val_loss;
    c->val_acc[c->calls] = r->val_accuracy;
    if (c->net) c->np = get_all(c->net, c->params[c->calls]);
    c->calls++;
    return c->stop_at && r->epoch == c->stop_at;
}

static nn_trainer_t *make_trainer(size_t epochs, size_t batch, rec *r)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    seti(t, NN_TRAIN_EPOCHS, (int64_t)epochs);
    seti(t, NN_TRAIN_BATCH_SIZE, (int64_t)batch);
    if (r) NN_OK_OR_FAIL(nn_trainer_set_report(t, record, r));
    return t;
}

/* ------------------------------------------------------------ settings */
START_TEST(defaults)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_EPOCHS), 10);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_BATCH_SIZE), 64);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_SHUFFLE), 1);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_SEED), 0);
    ck_assert(tu_getr(t, NN_TRAIN_VAL_FRACTION) == 0);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_PATIENCE), 0);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_RESTORE_BEST), 1);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_SCHEDULE), NN_SCHED_CONSTANT);
    ck_assert(tu_getr(t, NN_TRAIN_GAMMA) == 0.1);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_STEP_EPOCHS), 10);
    ck_assert(tu_getr(t, NN_TRAIN_LR_MIN) == 0);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_WARMUP_STEPS), 0);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_REPORT_EVERY), 0);
    /* results before any run: 0 / NaN */
    tres r = results(t);
    ck_assert(r.epochs_run == 0 && r.best_epoch == 0 && r.stopped_early == 0 &&
              r.steps_run == 0);
    ck_assert(isnan(r.best_val_loss) && isnan(r.final_loss) &&
              isnan(r.seconds));
    nn_trainer_destroy(t);
    nn_trainer_destroy(NULL); /* no-op */
}
END_TEST

/* The int keys and their inclusive bounds, from nn.h. */
typedef struct ikey {
    int32_t key;
    int64_t lo, hi;
} ikey;
static const ikey IKEYS[] = {
    {NN_TRAIN_EPOCHS, 1, INT64_MAX},     {NN_TRAIN_BATCH_SIZE, 1, INT64_MAX},
    {NN_TRAIN_SHUFFLE, 0, 1},            {NN_TRAIN_SEED, INT64_MIN, INT64_MAX},
    {NN_TRAIN_PATIENCE, 0, INT64_MAX},   {NN_TRAIN_RESTORE_BEST, 0, 1},
    {NN_TRAIN_SCHEDULE, 0, 2},           {NN_TRAIN_STEP_EPOCHS, 1, INT64_MAX},
    {NN_TRAIN_WARMUP_STEPS, 0, INT64_MAX},
    {NN_TRAIN_REPORT_EVERY, 0, INT64_MAX}};
#define NIK (sizeof IKEYS / sizeof *IKEYS)
static const int32_t RKEYS[3] = {NN_TRAIN_VAL_FRACTION, NN_TRAIN_GAMMA,
                                 NN_TRAIN_LR_MIN};
static const int32_t RESULT_INT[4] = {NN_TRAIN_EPOCHS_RUN, NN_TRAIN_BEST_EPOCH,
                                      NN_TRAIN_STOPPED_EARLY,
                                      NN_TRAIN_STEPS_RUN};
static const int32_t RESULT_REAL[3] = {NN_TRAIN_BEST_VAL_LOSS,
                                       NN_TRAIN_FINAL_LOSS, NN_TRAIN_SECONDS};

static void rkey_bounds(int32_t key, double *lo, double *hi)
{
    switch (key) {
    case NN_TRAIN_VAL_FRACTION: *lo = 0; *hi = nextafter(1.0, 0.0); break;
    case NN_TRAIN_GAMMA: *lo = DBL_TRUE_MIN; *hi = 1.0; break;
    default: *lo = 0; *hi = DBL_MAX; /* lr_min */
    }
}

/* Every setting, to check that a refused call changed none of them. */
typedef struct tsnap {
    int64_t i[NIK];
    double r[3];
} tsnap;
static tsnap tsnapshot(const nn_trainer_t *t)
{
    tsnap s;
    for (size_t k = 0; k < NIK; k++) s.i[k] = tu_geti(t, IKEYS[k].key);
    for (size_t k = 0; k < 3; k++) s.r[k] = tu_getr(t, RKEYS[k]);
    return s;
}
#define TREFUSED(t, call)                                                     \
    do {                                                                      \
        tsnap b_ = tsnapshot(t);                                              \
        ck_assert_msg((call) == NN_ERR_INVALID, "%s accepted", #call);        \
        tsnap a_ = tsnapshot(t);                                              \
        ck_assert(memcmp(&a_, &b_, sizeof a_) == 0);                          \
    } while (0)

START_TEST(key_bounds)
{
    nn_trainer_t *t = make_trainer(10, 64, NULL);
    for (size_t k = 0; k < NIK; k++) {
        ikey ik = IKEYS[k];
        seti(t, ik.key, ik.lo);
        ck_assert_int_eq(tu_geti(t, ik.key), ik.lo);
        seti(t, ik.key, ik.hi);
        ck_assert_int_eq(tu_geti(t, ik.key), ik.hi);
        if (ik.lo > INT64_MIN) TREFUSED(t, nn_trainer_set_int(t, ik.key, ik.lo - 1));
        if (ik.hi < INT64_MAX) TREFUSED(t, nn_trainer_set_int(t, ik.key, ik.hi + 1));
        TREFUSED(t, nn_trainer_set_real(t, ik.key, 1.0));
        double rv = 5;
        ck_assert_int_eq(nn_trainer_get_real(t, ik.key, &rv), NN_ERR_INVALID);
        ck_assert(rv == 5);
        int32_t type = 0, w = -1;
        double lo = NAN, hi = NAN;
        NN_OK_OR_FAIL(nn_param_info(ik.key, &type, &lo, &hi, &w));
        ck_assert_msg(type == NN_PARAM_INT && w == 1 && lo == (double)ik.lo &&
                          hi == (double)ik.hi,
                      "key %d: type %d [%.17g, %.17g]", (int)ik.key,
                      (int)type, lo, hi);
    }
    for (size_t k = 0; k < 3; k++) {
        double lo, hi;
        rkey_bounds(RKEYS[k], &lo, &hi);
        setr(t, RKEYS[k], lo);
        ck_assert(tu_getr(t, RKEYS[k]) == lo);
        setr(t, RKEYS[k], hi);
        ck_assert(tu_getr(t, RKEYS[k]) == hi);
        const double bad[] = {nextafter(lo, -INFINITY), nextafter(hi, INFINITY),
                              NAN, INFINITY, -INFINITY};
        for (size_t j = 0; j < 5; j++)
            TREFUSED(t, nn_trainer_set_real(t, RKEYS[k], bad[j]));
        TREFUSED(t, nn_trainer_set_int(t, RKEYS[k], 0));
        int64_t iv = 5;
        ck_assert_int_eq(nn_trainer_get_int(t, RKEYS[k], &iv), NN_ERR_INVALID);
        ck_assert(iv == 5);
        int32_t type = 0, w = -1;
        double plo = NAN, phi = NAN;
        NN_OK_OR_FAIL(nn_param_info(RKEYS[k], &type, &plo, &phi, &w));
        ck_assert_msg(type == NN_PARAM_REAL && w == 1 && plo == lo && phi == hi,
                      "key %d: [%.17g, %.17g]", (int)RKEYS[k], plo, phi);
    }
    /* results: read-only, of their own type */
    for (size_t k = 0; k < 4; k++) {
        TREFUSED(t, nn_trainer_set_int(t, RESULT_INT[k], 0));
        double rv = 5;
        ck_assert_int_eq(nn_trainer_get_real(t, RESULT_INT[k], &rv),
                         NN_ERR_INVALID);
        int32_t w = -1;
        NN_OK_OR_FAIL(nn_param_info(RESULT_INT[k], NULL, NULL, NULL, &w));
        ck_assert_int_eq(w, 0);
    }
    for (size_t k = 0; k < 3; k++) {
        TREFUSED(t, nn_trainer_set_real(t, RESULT_REAL[k], 0.0));
        int64_t iv = 5;
        ck_assert_int_eq(nn_trainer_get_int(t, RESULT_REAL[k], &iv),
                         NN_ERR_INVALID);
    }
    /* unknown keys, NULLs */
    const int32_t unknown[] = {399, 415, 449, 455, 459, 463, NN_OPTIM_LR,
                               NN_NET_REDUCTION, NN_KEY_EXPERIMENTAL, -1};
    for (size_t k = 0; k < sizeof unknown / sizeof *unknown; k++) {
        int64_t iv;
        double rv;
        TREFUSED(t, nn_trainer_set_int(t, unknown[k], 1));
        TREFUSED(t, nn_trainer_set_real(t, unknown[k], 0.5));
        ck_assert_int_eq(nn_trainer_get_int(t, unknown[k], &iv), NN_ERR_INVALID);
        ck_assert_int_eq(nn_trainer_get_real(t, unknown[k], &rv),
                         NN_ERR_INVALID);
    }
    ck_assert_int_eq(nn_trainer_set_int(NULL, NN_TRAIN_EPOCHS, 1),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_real(NULL, NN_TRAIN_GAMMA, 0.5),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_int(NULL, NN_TRAIN_EPOCHS, &(int64_t){0}),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_real(NULL, NN_TRAIN_GAMMA, &(double){0}),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_int(t, NN_TRAIN_EPOCHS, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_real(t, NN_TRAIN_GAMMA, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_report(NULL, record, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_grad_hook(NULL, NULL, NULL),
                     NN_ERR_INVALID);
    nn_trainer_destroy(t);
}
END_TEST

START_TEST(create_errors)
{
    int dummy;
    nn_trainer_t *sentinel = (nn_trainer_t *)&dummy, *t = sentinel;
    ck_assert_int_eq(nn_trainer_create(NULL, NULL), NN_ERR_INVALID);
    tu_counter hc = {0};
    nn_allocator half = tu_allocator(&hc);
    half.free = NULL;
    ck_assert_int_eq(nn_trainer_create(&t, &half), NN_ERR_INVALID);
    half = tu_allocator(&hc);
    half.alloc = NULL;
    ck_assert_int_eq(nn_trainer_create(&t, &half), NN_ERR_INVALID);
    ck_assert_int_eq(hc.attempts, 0);
    tu_counter cnt = {.fail_at = 1, .fail_rest = true};
    nn_allocator al = tu_allocator(&cnt);
    ck_assert_int_eq(nn_trainer_create(&t, &al), NN_ERR_NOMEM);
    ck_assert(t == sentinel);
    TU_ASSERT_BALANCED(&cnt);
    /* with its allocator: one block, freed with its size */
    tu_counter ok = {0};
    al = tu_allocator(&ok);
    NN_OK_OR_FAIL(nn_trainer_create(&t, &al));
    ck_assert_int_eq(ok.allocs, 1);
    nn_trainer_destroy(t);
    TU_ASSERT_BALANCED(&ok);
}
END_TEST

/* ------------------------------------------------------------ the loop */
START_TEST(schedules)
{
    nn_data_t *d = blobs(10, 2, 0.5, 1, false);
    const double lr0 = 0.1;
    for (int s = 0; s < 3; s++) {
        nn_net_t *net = make_net(0, 2, NULL);
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, lr0, NULL);
        rec r = {0};
        nn_trainer_t *t = make_trainer(6, 4, &r); /* 3 steps/epoch, T = 18 */
        seti(t, NN_TRAIN_SCHEDULE, s);
        setr(t, NN_TRAIN_GAMMA, 0.5);
        seti(t, NN_TRAIN_STEP_EPOCHS, 2);
        setr(t, NN_TRAIN_LR_MIN, 0.01);
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        tres res = results(t);
        ck_assert_uint_eq(r.calls, 6);
        ck_assert_int_eq(res.epochs_run, 6);
        ck_assert_int_eq(res.steps_run, 18);
        ck_assert(!res.stopped_early);
        ck_assert_int_eq(res.best_epoch, 0);
        ck_assert(isnan(res.best_val_loss));
        ck_assert(res.final_loss == r.train_loss[5]);
        ck_assert(res.seconds >= 0);
        for (size_t e = 0; e < 6; e++) {
            double want = lr0;
            if (s == NN_SCHED_STEP) want = lr0 * pow(0.5, (double)(e / 2));
            if (s == NN_SCHED_COSINE) {
                double tt = (double)(3 * e + 2);
                want = 0.01 + (lr0 - 0.01) * (1 + cos(PI * tt / 18.0)) / 2;
            }
            ck_assert_msg(tu_relerr(r.lr[e], want, 1e-300) < 1e-14,
                          "schedule %d epoch %zu: %.17g vs %.17g", s, e,
                          r.lr[e], want);
            ck_assert(isnan(r.val_loss[e]) && isnan(r.val_acc[e]));
        }
        ck_assert(lr_of(opt) == lr0);
        ck_assert_uint_eq(steps_of(opt), 18);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_data_destroy(d);
}
END_TEST

START_TEST(partial_batch_counts)
{
    nn_data_t *d = blobs(10, 2, 0.5, 2, false);
    const size_t batch[] = {4, 1, 10, 64, 3};
    const uint64_t per_epoch[] = {3, 10, 1, 1, 4};
    for (size_t i = 0; i < 5; i++) {
        nn_net_t *net = make_net(3, 2, NULL);
        nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.05, NULL);
        nn_trainer_t *t = make_trainer(5, batch[i], NULL);
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        ck_assert_uint_eq(steps_of(opt), 5 * per_epoch[i]);
        ck_assert_int_eq(tu_geti(t, NN_TRAIN_STEPS_RUN), 5 * per_epoch[i]);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_data_destroy(d);
}
END_TEST

/* Validation labels are the opposite of training's: the better the net fits
 * the training data, the worse the validation loss gets. */
START_TEST(early_stopping_restores_best)
{
    nn_data_t *tr = blobs(40, 2, 1.0, 3, false);
    nn_data_t *va = blobs(20, 2, 1.0, 4, true);
    for (int restore = 0; restore < 2; restore++) {
        nn_net_t *net = make_net(4, 2, NULL);
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.2, NULL);
        rec r = {.net = net};
        nn_trainer_t *t = make_trainer(40, 8, &r);
        seti(t, NN_TRAIN_PATIENCE, 3);
        seti(t, NN_TRAIN_RESTORE_BEST, restore);
        NN_OK_OR_FAIL(nn_train(t, net, opt, tr, va));
        tres res = results(t);
        ck_assert(res.stopped_early);
        ck_assert_int_ge(res.best_epoch, 1);
        ck_assert_int_eq(res.epochs_run, res.best_epoch + 3);
        ck_assert_uint_eq(r.calls, (size_t)res.epochs_run);
        /* the best epoch has the smallest loss, strictly before it */
        size_t b = (size_t)res.best_epoch - 1;
        ck_assert(res.best_val_loss == r.val_loss[b]);
        for (size_t e = 0; e < r.calls; e++)
            ck_assert(e < b ? r.val_loss[e] > r.val_loss[b]
                            : r.val_loss[e] >= r.val_loss[b]);
        double p[NPMAX];
        size_t np = get_all(net, p);
        const double *want = restore ? r.params[b] : r.params[r.calls - 1];
        ck_assert(memcmp(p, want, np * sizeof(double)) == 0);
        if (restore) /* the last epoch's weights really were different */
            ck_assert(memcmp(p, r.params[r.calls - 1],
                             np * sizeof(double)) != 0);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_data_destroy(va);
    nn_data_destroy(tr);
}
END_TEST

START_TEST(callback_stops)
{
    nn_data_t *d = blobs(30, 3, 0.5, 5, false);
    nn_net_t *net = make_net(4, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.01, NULL);
    rec r = {.net = net, .stop_at = 3};
    nn_trainer_t *t = make_trainer(10, 8, &r);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.2);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    tres res = results(t);
    ck_assert_int_eq(res.epochs_run, 3);
    ck_assert_uint_eq(r.calls, 3);
    ck_assert(res.stopped_early);
    ck_assert(res.final_loss == r.train_loss[2]);
    ck_assert_uint_eq(steps_of(opt), 3 * 3); /* 24 training rows, batch 8 */
    nn_trainer_destroy(t);
    /* a stop asked at the last planned epoch is not early */
    rec r2 = {.stop_at = 2};
    t = make_trainer(2, 8, &r2);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    res = results(t);
    ck_assert_int_eq(res.epochs_run, 2);
    ck_assert(!res.stopped_early);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

static void run_seeded(nn_data_t *d, uint64_t seed, rec *r, double *p)
{
    nn_net_t *net = make_net(5, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.02, NULL);
    r->net = net;
    nn_trainer_t *t = make_trainer(5, 7, r);
    seti(t, NN_TRAIN_SEED, (int64_t)seed);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.25);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    get_all(net, p);
    r->net = NULL;
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

START_TEST(reproducible)
{
    nn_status st = nn_set_num_threads(1);
    ck_assert(st == NN_OK || st == NN_ERR_UNSUPPORTED);
    nn_data_t *d = blobs(60, 3, 1.0, 6, false);
    static rec a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    double pa[NPMAX], pb[NPMAX], pc[NPMAX];
    run_seeded(d, 11, &a, pa);
    run_seeded(d, 11, &b, pb);
    run_seeded(d, 12, &c, pc);
    size_t np = a.np;
    ck_assert(memcmp(pa, pb, np * sizeof(double)) == 0);
    ck_assert(memcmp(a.train_loss, b.train_loss, 5 * sizeof(double)) == 0);
    ck_assert(memcmp(a.val_loss, b.val_loss, 5 * sizeof(double)) == 0);
    ck_assert(memcmp(a.val_acc, b.val_acc, 5 * sizeof(double)) == 0);
    ck_assert(memcmp(pa, pc, np * sizeof(double)) != 0);
    ck_assert(memcmp(a.val_loss, c.val_loss, 5 * sizeof(double)) != 0);
    nn_data_destroy(d);
}
END_TEST

/* Per-row losses of the whole set; the reported validation loss must be the
 * mean of some 3 of them (the split holds out round(0.3 * 10) = 3 rows).
 * With dense targets (Y != NULL), the same through nn_net_loss, and the
 * accuracy is NaN. */
typedef struct split_ctx {
    const nn_net_t *net;
    const double *X, *Y;
    const int32_t *y;
    size_t n, calls, matched;
} split_ctx;

static int32_t check_split(const nn_report *r, void *ctx)
{
    split_ctx *s = ctx;
    double l[10];
    for (size_t i = 0; i < 10; i++) {
        const double *x = s->X + s->n * i;
        if (s->Y)
            NN_OK_OR_FAIL(nn_net_loss(s->net, NULL, 1, NN_ROW_MAJOR, x, s->n,
                                      s->Y + i, 1, &l[i]));
        else
            NN_OK_OR_FAIL(nn_net_loss_labels(s->net, NULL, 1, NN_ROW_MAJOR, x,
                                             s->n, s->y + i, &l[i]));
    }
    bool found = false;
    for (size_t a = 0; a < 10 && !found; a++)
        for (size_t b = a + 1; b < 10 && !found; b++)
            for (size_t c = b + 1; c < 10 && !found; c++)
                found = tu_relerr((l[a] + l[b] + l[c]) / 3, r->val_loss,
                                  1e-300) < 1e-12;
    s->matched += found;
    if (s->Y) {
        ck_assert(isnan(r->val_accuracy));
    } else {
        double k = r->val_accuracy * 3;
        ck_assert_msg(fabs(k - nearbyint(k)) < 1e-12, "accuracy %.17g",
                      r->val_accuracy);
    }
    s->calls++;
    return 0;
}

START_TEST(validation_split)
{
    nn_data_t *d = blobs(10, 2, 1.5, 8, false);
    nn_net_t *net = make_net(3, 2, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    split_ctx s = {net, nn_data_x(d), NULL, nn_data_labels(d), 2, 0, 0};
    nn_trainer_t *t = make_trainer(3, 2, NULL);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.3);
    seti(t, NN_TRAIN_RESTORE_BEST, 0);
    NN_OK_OR_FAIL(nn_trainer_set_report(t, check_split, &s));
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    tres res = results(t);
    ck_assert_uint_eq(s.calls, 3);
    ck_assert_uint_eq(s.matched, 3);
    ck_assert_uint_eq(steps_of(opt), 3 * 4); /* 7 training rows, batch 2 */
    ck_assert_int_ge(res.best_epoch, 1);
    ck_assert(isfinite(res.best_val_loss));

    /* too few rows on one side: refused, nothing changes */
    uint64_t before = steps_of(opt);
    double p0[NPMAX], p1[NPMAX];
    size_t np = get_all(net, p0);
    const double bad[] = {0.01, 0.04, 0.96, 0.99};
    for (size_t i = 0; i < 4; i++) {
        setr(t, NN_TRAIN_VAL_FRACTION, bad[i]);
        ck_assert_int_eq(nn_train(t, net, opt, d, NULL), NN_ERR_INVALID);
        tres now = results(t);
        ck_assert(same_res(&now, &res));
    }
    get_all(net, p1);
    ck_assert(memcmp(p0, p1, np * sizeof(double)) == 0);
    ck_assert_uint_eq(steps_of(opt), before);
    /* 0.9 leaves one training row: fine */
    setr(t, NN_TRAIN_VAL_FRACTION, 0.9);
    NN_OK_OR_FAIL(nn_trainer_set_report(t, NULL, NULL));
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    ck_assert_uint_eq(steps_of(opt), before + 3);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

START_TEST(end_to_end_blobs)
{
    nn_data_t *tr = blobs(150, 3, 1.2, 9, false);
    nn_data_t *te = blobs(90, 3, 1.2, 10, false);
    nn_net_t *net = make_net(8, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.05, NULL);
    nn_trainer_t *t = make_trainer(40, 16, NULL);
    seti(t, NN_TRAIN_SEED, 3);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.2);
    seti(t, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE);
    NN_OK_OR_FAIL(nn_train(t, net, opt, tr, NULL));
    const int32_t metrics[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
    double v[2];
    NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, te, 2, metrics, v));
    ck_assert_msg(v[1] >= 0.95, "accuracy %g, loss %g", v[1], v[0]);
    double secs = tu_getr(t, NN_TRAIN_SECONDS);
    ck_assert(secs >= 0 && secs < 5);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(te);
    nn_data_destroy(tr);
}
END_TEST

static size_t allocs_for(size_t epochs, nn_data_t *d, nn_data_t *val)
{
    /* one counting allocator shared by the net, the optimizer, the trainer */
    tu_counter k = {0};
    nn_allocator al = tu_allocator(&k);
    nn_net_t *net = make_net(6, 3, &al);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.01, &al);
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, &al));
    seti(t, NN_TRAIN_EPOCHS, (int64_t)epochs);
    seti(t, NN_TRAIN_BATCH_SIZE, 5);
    setr(t, NN_TRAIN_VAL_FRACTION, val ? 0 : 0.2);
    seti(t, NN_TRAIN_PATIENCE, 100);
    long before = k.attempts;
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, val));
    size_t n = (size_t)(k.attempts - before);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&k);
    return n;
}

START_TEST(allocations_per_run)
{
    nn_data_t *d = blobs(33, 3, 1.0, 12, false);
    nn_data_t *v = blobs(12, 3, 1.0, 13, false);
    size_t a1 = allocs_for(1, d, NULL), a5 = allocs_for(5, d, NULL);
    ck_assert_uint_eq(a1, a5);
    ck_assert_uint_le(a1, 2); /* the net's workspace and our one block */
    ck_assert_uint_eq(allocs_for(1, d, v), allocs_for(6, d, v));
    nn_data_destroy(v);
    nn_data_destroy(d);
}
END_TEST

/* A trainer whose allocator refuses the one request of a run (the net's
 * workspace is already reserved): NN_ERR_NOMEM, nothing changed, nothing
 * leaked; with the next request allowed, the same run succeeds. */
START_TEST(nomem_changes_nothing)
{
    nn_data_t *d = blobs(12, 3, 1.0, 16, false);
    nn_net_t *net = make_net(4, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.05, NULL);
    NN_OK_OR_FAIL(nn_net_reserve(net, 4));
    double p0[NPMAX], p1[NPMAX];
    size_t np = get_all(net, p0);
    tu_counter k = {0};
    nn_allocator al = tu_allocator(&k);
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, &al));
    seti(t, NN_TRAIN_BATCH_SIZE, 4);
    long a0 = k.attempts;
    k.fail_at = a0 + 1;
    ck_assert_int_eq(nn_train(t, net, opt, d, NULL), NN_ERR_NOMEM);
    ck_assert_int_eq(k.attempts, a0 + 1);
    get_all(net, p1);
    ck_assert(memcmp(p0, p1, np * sizeof(double)) == 0);
    ck_assert_uint_eq(steps_of(opt), 0);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_EPOCHS_RUN), 0);
    /* the same run with the request allowed: one allocation, released */
    size_t live = k.live;
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    ck_assert_int_eq(k.attempts, a0 + 2);
    ck_assert_uint_eq(k.live, live);
    ck_assert_uint_eq(steps_of(opt), 30);
    nn_trainer_destroy(t);
    TU_ASSERT_BALANCED(&k);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

START_TEST(errors_change_nothing)
{
    nn_data_t *d = blobs(12, 3, 1.0, 14, false);
    nn_data_t *v = blobs(6, 3, 1.0, 15, false);
    double X[12 * 3], Y3[12 * 3] = {0};
    int32_t y3[12];
    for (size_t i = 0; i < 36; i++) X[i] = 0.1 * (double)i;
    for (size_t i = 0; i < 12; i++) y3[i] = (int32_t)(i % 3);
    nn_data_t *wide = make_data(X, 12, 3, y3);
    nn_data_t *nolab = make_data(X, 18, 2, NULL);
    const int32_t y4[6] = {0, 1, 2, 3, 0, 1};
    nn_data_t *biglab = make_data(X, 6, 2, y4);
    nn_data_t *dense = tu_data_targets(X, 12, 2, Y3, 3, NULL);
    nn_data_t *dense2 = tu_data_targets(X, 12, 2, Y3, 2, NULL);

    nn_net_t *net = make_net(4, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.05, NULL);
    nn_net_t *other = make_net(5, 3, NULL);
    double p0[NPMAX], p1[NPMAX];
    size_t np = get_all(net, p0);
    nn_trainer_t *t = make_trainer(3, 4, NULL);
    const tres res0 = results(t);

#define EXPECT(st, call)                                                      \
    do {                                                                      \
        ck_assert_int_eq((call), (st));                                       \
        get_all(net, p1);                                                     \
        ck_assert(memcmp(p0, p1, np * sizeof(double)) == 0);                  \
        tres now_ = results(t);                                               \
        ck_assert(same_res(&now_, &res0));                                    \
        ck_assert(lr_of(opt) == 0.05);                                        \
        ck_assert_uint_eq(steps_of(opt), 0);                                  \
    } while (0)

    EXPECT(NN_ERR_INVALID, nn_train(NULL, net, opt, d, NULL));
    EXPECT(NN_ERR_INVALID, nn_train(t, NULL, opt, d, NULL));
    EXPECT(NN_ERR_INVALID, nn_train(t, net, NULL, d, NULL));
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, NULL, NULL));
    seti(t, NN_TRAIN_PATIENCE, 2); /* early stopping needs validation data */
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, d, NULL));
    seti(t, NN_TRAIN_PATIENCE, 0);
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, nolab, NULL));
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, d, nolab));
    EXPECT(NN_ERR_SHAPE, nn_train(t, net, opt, wide, NULL));
    EXPECT(NN_ERR_SHAPE, nn_train(t, net, opt, d, wide));
    EXPECT(NN_ERR_SHAPE, nn_train(t, net, opt, biglab, NULL));
    EXPECT(NN_ERR_SHAPE, nn_train(t, net, opt, d, biglab));
    /* targets of the wrong width; labels and targets mixed */
    EXPECT(NN_ERR_SHAPE, nn_train(t, net, opt, dense2, NULL));
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, d, dense));
    EXPECT(NN_ERR_INVALID, nn_train(t, net, opt, dense, d));
    /* an optimizer made for another network */
    EXPECT(NN_ERR_SHAPE, nn_train(t, other, opt, d, v));
#undef EXPECT
    /* and everything still works afterwards, dense targets too */
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, v));
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_EPOCHS_RUN), 3);
    NN_OK_OR_FAIL(nn_train(t, net, opt, dense, dense));
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_STEPS_RUN), 9);
    nn_trainer_destroy(t);
    nn_net_destroy(other);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(dense2);
    nn_data_destroy(dense);
    nn_data_destroy(biglab);
    nn_data_destroy(nolab);
    nn_data_destroy(wide);
    nn_data_destroy(v);
    nn_data_destroy(d);
}
END_TEST

/* check-finite on: a batch whose loss overflows stops the run with
 * NN_ERR_NUMERIC after two good steps, and the run is undone. */
START_TEST(numeric_failure_rolls_back)
{
    const double X[6] = {0.1, 0.2, -0.3, 0.4, 1e200, 1e200};
    const int32_t y[6] = {0, 1, 0, 1, 1, 0};
    nn_data_t *d = make_data(X, 6, 1, y);
    nn_net_t *net = linear_net(1, NULL);
    const double w = 0.5, b = 0.1;
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, &w, 1, &b));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.1, NULL);
    rec r = {0};
    nn_trainer_t *t = make_trainer(3, 2, &r);
    seti(t, NN_TRAIN_SHUFFLE, 0);
    seti(t, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE);
    ck_assert_int_eq(nn_train(t, net, opt, d, NULL), NN_ERR_NUMERIC);
    ck_assert_uint_eq(r.calls, 0);
    double w1, b1, v[2];
    uint64_t steps;
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, &w1, 1, &b1));
    ck_assert(w1 == w && b1 == b);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, v, 2));
    ck_assert(steps == 0 && v[0] == 0 && v[1] == 0);
    ck_assert(lr_of(opt) == 0.1);
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_EPOCHS_RUN), 0);
    ck_assert(isnan(tu_getr(t, NN_TRAIN_FINAL_LOSS)));
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

/* A failed run restores the optimizer exactly even when its state at the
 * call was not finite (an overflowed Adam moment), which nn_optim_set_state
 * itself would refuse. */
START_TEST(rollback_keeps_nonfinite_state)
{
    nn_net_t *net = linear_net(1, NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ZERO, 0));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, 1));
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_ADAM, NULL));
    nn_trainer_t *t = make_trainer(1, 1, NULL);
    seti(t, NN_TRAIN_SHUFFLE, 0);
    /* one huge input: the gradient is finite, its square overflows v */
    const double big[1] = {1e160};
    const int32_t one[1] = {1};
    nn_data_t *d1 = tu_data(big, 1, 1, one, NULL);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d1, NULL));
    double state0[4];
    uint64_t steps0 = 0;
    ck_assert_uint_eq(nn_optim_state_len(opt), 4);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps0, state0, 4));
    ck_assert(isinf(state0[2])); /* second moment of the weight */
    /* a run that fails on its second batch (NaN input) */
    const double bad[2] = {1, NAN};
    const int32_t lab[2] = {1, 1};
    nn_data_t *d2 = tu_data(bad, 2, 1, lab, NULL);
    ck_assert_int_eq(nn_train(t, net, opt, d2, NULL), NN_ERR_NUMERIC);
    double state1[4];
    uint64_t steps1 = 0;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps1, state1, 4));
    ck_assert_uint_eq(steps1, steps0);
    ck_assert_mem_eq(state1, state0, sizeof state0);
    nn_data_destroy(d1);
    nn_data_destroy(d2);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ gradient hook */
/* The linear test set: 8 rows, 3 features, y = x.w + b + small noise. */
#define HM 8
static void hook_data(double X[HM][3], double Y[HM])
{
    tu_rng r = {21};
    for (int i = 0; i < HM; i++) {
        for (int j = 0; j < 3; j++) X[i][j] = tu_uniform(&r, -1, 1);
        Y[i] = 1.5 * X[i][0] - 2 * X[i][1] + 0.5 * X[i][2] + 0.3 +
               tu_uniform(&r, -0.1, 0.1);
    }
}

/* Closed form for the linear MSE net at params p (W[0..2], b): the
 * full-batch mean gradient (2/m) sum_i r_i (x_i, 1), r_i = x_i.w + b - y_i. */
static void lin_grad(const double *p, const double *X, const double *Y,
                     size_t m, double g[4])
{
    for (int j = 0; j < 4; j++) g[j] = 0;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + 3 * i;
        double r = x[0] * p[0] + x[1] * p[1] + x[2] * p[2] + p[3] - Y[i];
        for (int j = 0; j < 3; j++) g[j] += 2.0 / (double)m * r * x[j];
        g[3] += 2.0 / (double)m * r;
    }
}

/* The test through the seam: under NN_REDUCE_SUM, the gradients of
 * two halves (3 and 5 rows) added and divided by m = 8 are the full-batch
 * mean gradient, and one SGD step from them matches the closed-form
 * full-batch step to 1e-12. */
START_TEST(hook_half_batches_sum)
{
    double X[HM][3], Y[HM];
    hook_data(X, Y);
    nn_net_t *net = linear_net(3, NULL);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    double p0[4], g1[4], g[4], want[4], l1, l2;
    memcpy(p0, nn_net_params(net), sizeof p0);
    NN_OK_OR_FAIL(nn_net_gradient(net, 3, NN_ROW_MAJOR, &X[0][0], 3, Y, 1,
                                  &l1));
    memcpy(g1, nn_net_grads(net), sizeof g1);
    NN_OK_OR_FAIL(nn_net_gradient(net, 5, NN_ROW_MAJOR, &X[3][0], 3, Y + 3, 1,
                                  &l2));
    for (int j = 0; j < 4; j++) g[j] = (g1[j] + nn_net_grads(net)[j]) / HM;
    NN_OK_OR_FAIL(nn_net_set_grads(net, g, 4));
    lin_grad(p0, &X[0][0], Y, HM, want);
    for (int j = 0; j < 4; j++)
        ck_assert_msg(tu_relerr(g[j], want[j], 1e-3) < 1e-12, "g[%d]", j);
    /* the SUM losses add up to m times the mean loss */
    double full = 0;
    for (int i = 0; i < HM; i++) {
        double r = X[i][0] * p0[0] + X[i][1] * p0[1] + X[i][2] * p0[2] +
                   p0[3] - Y[i];
        full += r * r;
    }
    ck_assert(tu_relerr(l1 + l2, full, 1e-12) < 1e-12);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    for (int j = 0; j < 4; j++)
        ck_assert(tu_relerr(nn_net_params(net)[j], p0[j] - 0.1 * want[j],
                            1e-3) < 1e-12);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* A simulated two-worker allreduce inside the trainer's hook: the trainer
 * sees rows 0..2 (SUM reduction), the hook adds the SUM gradient of rows
 * 3..7 computed on a peer copy of the net and divides by the global m = 8.
 * The trajectory equals full-batch mean-gradient SGD (closed form). */
typedef struct worker {
    nn_net_t *net, *peer;
    const double *X2, *Y2;
    size_t m2, m_total, calls, len, m_seen;
} worker;

static nn_status allreduce_hook(double *grad, size_t len, size_t m,
                                double *loss, void *ctx)
{
    worker *w = ctx;
    w->calls++;
    w->len = len;
    w->m_seen = m;
    ck_assert(grad == nn_net_grads(w->net));
    memcpy(nn_net_params(w->peer), nn_net_params(w->net),
           len * sizeof(double));
    double l2;
    NN_OK_OR_FAIL(nn_net_gradient(w->peer, w->m2, NN_ROW_MAJOR, w->X2, 3,
                                  w->Y2, 1, &l2));
    const double *g2 = nn_net_grads(w->peer);
    for (size_t i = 0; i < len; i++)
        grad[i] = (grad[i] + g2[i]) / (double)w->m_total;
    *loss += l2;
    return NN_OK;
}

START_TEST(hook_allreduce_trainer)
{
    double X[HM][3], Y[HM];
    hook_data(X, Y);
    nn_data_t *local = tu_data_targets(&X[0][0], 3, 3, Y, 1, NULL);
    nn_net_t *net = linear_net(3, NULL), *peer = NULL;
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_net_clone(&peer, net, NULL));
    double p[4];
    memcpy(p, nn_net_params(net), sizeof p);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    worker w = {net, peer, &X[3][0], Y + 3, 5, HM, 0, 0, 0};
    nn_trainer_t *t = make_trainer(6, 3, NULL);
    seti(t, NN_TRAIN_SHUFFLE, 0);
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, allreduce_hook, &w));
    NN_OK_OR_FAIL(nn_train(t, net, opt, local, NULL));
    ck_assert_uint_eq(w.calls, 6);
    ck_assert_uint_eq(w.len, 4);
    ck_assert_uint_eq(w.m_seen, 3);
    for (int s = 0; s < 6; s++) {
        double g[4];
        lin_grad(p, &X[0][0], Y, HM, g);
        for (int j = 0; j < 4; j++) p[j] -= 0.1 * g[j];
    }
    for (int j = 0; j < 4; j++)
        ck_assert_msg(tu_relerr(nn_net_params(net)[j], p[j], 1e-3) < 1e-12,
                      "p[%d]: %.17g vs %.17g", j, nn_net_params(net)[j], p[j]);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(peer);
    nn_net_destroy(net);
    nn_data_destroy(local);
}
END_TEST

/* A hook that inspects (m of every batch: 4, 4, 2) and scales the gradient
 * by 2: the run equals plain SGD at twice the rate without a hook. */
typedef struct scaler_ctx {
    double factor;
    size_t calls, ms[64];
    long fail_at; /* return NN_ERR_IO at this call (1-based; 0: never) */
} scaler_ctx;

static nn_status scale_hook(double *grad, size_t len, size_t m, double *loss,
                            void *ctx)
{
    scaler_ctx *s = ctx;
    ck_assert(isfinite(*loss));
    if (s->calls < 64) s->ms[s->calls] = m;
    s->calls++;
    if (s->fail_at && (long)s->calls == s->fail_at) return NN_ERR_IO;
    for (size_t i = 0; i < len; i++) grad[i] *= s->factor;
    return NN_OK;
}

START_TEST(hook_scales_and_inspects)
{
    nn_data_t *d = blobs(10, 2, 0.5, 17, false);
    nn_net_t *a = make_net(3, 2, NULL), *b = make_net(3, 2, NULL);
    nn_optim_t *oa = make_opt(a, NN_OPTIM_SGD, 0.05, NULL);
    nn_optim_t *ob = make_opt(b, NN_OPTIM_SGD, 0.1, NULL);
    scaler_ctx s = {.factor = 2.0};
    nn_trainer_t *t = make_trainer(3, 4, NULL);
    seti(t, NN_TRAIN_SEED, 5);
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, scale_hook, &s));
    NN_OK_OR_FAIL(nn_train(t, a, oa, d, NULL));
    ck_assert_uint_eq(s.calls, 9);
    for (size_t i = 0; i < 9; i++) ck_assert_uint_eq(s.ms[i], i % 3 < 2 ? 4 : 2);
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, NULL, NULL));
    NN_OK_OR_FAIL(nn_train(t, b, ob, d, NULL));
    ck_assert_uint_eq(s.calls, 9); /* removed */
    double pa[NPMAX], pb[NPMAX];
    size_t np = get_all(a, pa);
    get_all(b, pb);
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(tu_relerr(pa[i], pb[i], 1.0) < 1e-12, "p[%zu]", i);
    nn_trainer_destroy(t);
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_data_destroy(d);
}
END_TEST

/* A hook failing on the 5th step (second epoch) fails the run with its own
 * status; parameters, optimizer state, steps and rate, and the trainer's
 * results are as before the call. */
START_TEST(hook_error_rolls_back)
{
    nn_data_t *d = blobs(10, 2, 0.5, 18, false);
    nn_net_t *net = make_net(3, 2, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.05, NULL);
    nn_trainer_t *t = make_trainer(3, 4, NULL);
    seti(t, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL)); /* some history */
    const tres res0 = results(t);
    ck_assert_int_eq(res0.steps_run, 9);
    double p0[NPMAX], p1[NPMAX], s0[2 * NPMAX], s1[2 * NPMAX];
    size_t np = get_all(net, p0), sl = nn_optim_state_len(opt);
    uint64_t t0, t1;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t0, s0, sl));
    scaler_ctx s = {.factor = 1.0, .fail_at = 5};
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, scale_hook, &s));
    ck_assert_int_eq(nn_train(t, net, opt, d, NULL), NN_ERR_IO);
    ck_assert_uint_eq(s.calls, 5);
    get_all(net, p1);
    ck_assert(memcmp(p0, p1, np * sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &t1, s1, sl));
    ck_assert(t0 == t1 && t0 == 9);
    ck_assert(memcmp(s0, s1, sl * sizeof(double)) == 0);
    ck_assert(lr_of(opt) == 0.05);
    tres now = results(t);
    ck_assert(same_res(&now, &res0));
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ dense targets */
#define RM 200
static void regression_data(double *X, double *Y, size_t m, uint64_t seed,
                            double sign)
{
    tu_rng r = {seed};
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < 3; j++) X[3 * i + j] = tu_uniform(&r, -1, 1);
        Y[i] = sign * (1.5 * X[3 * i] - 2 * X[3 * i + 1] + 0.5 * X[3 * i + 2] +
                       0.3 + tu_uniform(&r, -0.01, 0.01));
    }
}

/* The notes' first line: gradient descent on y = x.w + b with squared error
 * (full batches, 200 rows, 3 features) converges to the least-squares
 * solution of nn_lstsq. */
START_TEST(dense_regression_matches_lstsq)
{
    double *X = tu_dalloc(RM * 3), *Y = tu_dalloc(RM), w[3], b;
    regression_data(X, Y, RM, 31, 1.0);
    NN_OK_OR_FAIL(nn_lstsq(RM, 3, NN_ROW_MAJOR, X, 3, Y, w, &b));
    ck_assert(fabs(w[0] - 1.5) < 0.01 && fabs(b - 0.3) < 0.01);
    nn_data_t *d = tu_data_targets(X, RM, 3, Y, 1, NULL);
    nn_net_t *net = linear_net(3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.4, NULL);
    nn_trainer_t *t = make_trainer(300, RM, NULL);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    const double *p = nn_net_params(net);
    for (int j = 0; j < 3; j++)
        ck_assert_msg(tu_relerr(p[j], w[j], 1e-3) < 1e-9, "w[%d] %.17g vs %.17g",
                      j, p[j], w[j]);
    ck_assert_msg(tu_relerr(p[3], b, 1e-3) < 1e-9, "b %.17g vs %.17g", p[3], b);
    /* the last epoch's loss is the least-squares residual per row */
    double ss = 0;
    for (size_t i = 0; i < RM; i++) {
        double r = X[3 * i] * w[0] + X[3 * i + 1] * w[1] + X[3 * i + 2] * w[2] +
                   b - Y[i];
        ss += r * r;
    }
    ck_assert(tu_relerr(tu_getr(t, NN_TRAIN_FINAL_LOSS), ss / RM, 1e-300) < 1e-6);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
    free(X);
    free(Y);
}
END_TEST

/* Validation and early stopping on dense targets: validation targets of the
 * opposite sign get worse as the fit improves. Every reported validation
 * loss is the MSE of the recorded weights on the validation set (by hand),
 * the accuracy is NaN, and the best weights come back. */
START_TEST(dense_early_stopping)
{
    double *X = tu_dalloc(100 * 3), *Y = tu_dalloc(100);
    double *XV = tu_dalloc(40 * 3), *YV = tu_dalloc(40);
    regression_data(X, Y, 100, 32, 1.0);
    regression_data(XV, YV, 40, 33, -1.0);
    nn_data_t *d = tu_data_targets(X, 100, 3, Y, 1, NULL);
    nn_data_t *v = tu_data_targets(XV, 40, 3, YV, 1, NULL);
    nn_net_t *net = linear_net(3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    rec r = {.net = net};
    nn_trainer_t *t = make_trainer(50, 20, &r);
    seti(t, NN_TRAIN_PATIENCE, 4);
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, v));
    tres res = results(t);
    ck_assert(res.stopped_early);
    ck_assert_int_ge(res.best_epoch, 1);
    ck_assert_int_eq(res.epochs_run, res.best_epoch + 4);
    for (size_t e = 0; e < r.calls; e++) {
        const double *p = r.params[e];
        double ss = 0;
        for (size_t i = 0; i < 40; i++) {
            double q = XV[3 * i] * p[0] + XV[3 * i + 1] * p[1] +
                       XV[3 * i + 2] * p[2] + p[3] - YV[i];
            ss += q * q;
        }
        ck_assert_msg(tu_relerr(r.val_loss[e], ss / 40, 1e-300) < 1e-12,
                      "epoch %zu: %.17g vs %.17g", e, r.val_loss[e], ss / 40);
        ck_assert(isnan(r.val_acc[e]));
    }
    size_t b = (size_t)res.best_epoch - 1;
    ck_assert(res.best_val_loss == r.val_loss[b]);
    ck_assert(memcmp(nn_net_params(net), r.params[b], 4 * sizeof(double)) == 0);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(v);
    nn_data_destroy(d);
    free(X);
    free(Y);
    free(XV);
    free(YV);
}
END_TEST

/* The split on dense targets: each validation loss is the mean of 3 of the
 * 10 per-row losses. */
START_TEST(dense_validation_split)
{
    double X[30], Y[10];
    regression_data(X, Y, 10, 34, 1.0);
    nn_data_t *d = tu_data_targets(X, 10, 3, Y, 1, NULL);
    nn_net_t *net = linear_net(3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.05, NULL);
    split_ctx s = {net, X, Y, NULL, 3, 0, 0};
    nn_trainer_t *t = make_trainer(4, 3, NULL);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.3);
    seti(t, NN_TRAIN_RESTORE_BEST, 0);
    NN_OK_OR_FAIL(nn_trainer_set_report(t, check_split, &s));
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    ck_assert_uint_eq(s.calls, 4);
    ck_assert_uint_eq(s.matched, 4);
    ck_assert_uint_eq(steps_of(opt), 4 * 3); /* 7 training rows, batch 3 */
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ reports */
typedef struct brec {
    size_t n, stop_at; /* stop_at: return 1 at this report (1-based) */
    nn_report reps[64];
} brec;

static int32_t record_all(const nn_report *r, void *ctx)
{
    brec *b = ctx;
    ck_assert_uint_lt(b->n, 64);
    ck_assert_uint_eq(r->size, sizeof(nn_report));
    b->reps[b->n++] = *r;
    return b->stop_at && b->n == b->stop_at;
}

/* Warm-up over W = 7 of 15 steps (one batch report per step): the rate of
 * step t is the schedule's times min(1, (t+1)/7). */
START_TEST(warmup_rates)
{
    nn_data_t *d = blobs(10, 2, 0.5, 19, false);
    const double lr0 = 0.1, lr_min = 0.01;
    for (int cosine = 0; cosine < 2; cosine++) {
        nn_net_t *net = make_net(0, 2, NULL);
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, lr0, NULL);
        static brec b;
        memset(&b, 0, sizeof b);
        nn_trainer_t *t = make_trainer(3, 2, NULL);
        seti(t, NN_TRAIN_WARMUP_STEPS, 7);
        seti(t, NN_TRAIN_REPORT_EVERY, 1);
        if (cosine) {
            seti(t, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE);
            setr(t, NN_TRAIN_LR_MIN, lr_min);
        }
        NN_OK_OR_FAIL(nn_trainer_set_report(t, record_all, &b));
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        ck_assert_uint_eq(b.n, 15 + 3);
        size_t step = 0;
        for (size_t i = 0; i < b.n; i++) {
            if (b.reps[i].kind != NN_REPORT_BATCH) continue;
            double s = (double)step;
            double want = cosine ? lr_min + (lr0 - lr_min) *
                                                (1 + cos(PI * s / 15.0)) / 2
                                 : lr0;
            want *= fmin(1.0, (s + 1) / 7.0);
            ck_assert_msg(tu_relerr(b.reps[i].lr, want, 1e-300) < 1e-14,
                          "step %zu: %.17g vs %.17g", step, b.reps[i].lr, want);
            step++;
        }
        ck_assert_uint_eq(step, 15);
        ck_assert(lr_of(opt) == lr0);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_data_destroy(d);
}
END_TEST

/* 10 rows in batches of 3 (3, 3, 3, 1), a report every 2 batches: per epoch
 * batch reports after batches 2 and 4, then the epoch report. Their
 * train_loss is the running mean per row of the batch losses the hook saw:
 * sum(l_b m_b)/rows under MEAN, sum(l_b)/rows under SUM. */
typedef struct loss_log {
    size_t n;
    double loss[64];
    size_t m[64];
} loss_log;

static nn_status log_hook(double *grad, size_t len, size_t m, double *loss,
                          void *ctx)
{
    (void)grad;
    (void)len;
    loss_log *l = ctx;
    ck_assert_uint_lt(l->n, 64);
    l->loss[l->n] = *loss;
    l->m[l->n++] = m;
    return NN_OK;
}

START_TEST(batch_reports)
{
    nn_data_t *d = blobs(10, 2, 0.5, 20, false);
    for (int32_t red = 0; red < 2; red++) {
        nn_net_t *net = make_net(3, 2, NULL);
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, red));
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.05, NULL);
        static brec b;
        memset(&b, 0, sizeof b);
        loss_log ll = {0};
        nn_trainer_t *t = make_trainer(3, 3, NULL);
        seti(t, NN_TRAIN_REPORT_EVERY, 2);
        NN_OK_OR_FAIL(nn_trainer_set_report(t, record_all, &b));
        NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, log_hook, &ll));
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        ck_assert_uint_eq(b.n, 9);
        ck_assert_uint_eq(ll.n, 12);
        for (size_t e = 0; e < 3; e++) {
            const size_t at[3] = {2, 4, 4}, rows[3] = {6, 10, 10};
            double sum = 0;
            size_t k = 0;
            for (size_t i = 0; i < 3; i++) {
                const nn_report *r = &b.reps[3 * e + i];
                ck_assert_int_eq(r->kind, i < 2 ? NN_REPORT_BATCH
                                                : NN_REPORT_EPOCH);
                ck_assert_uint_eq(r->epoch, e + 1);
                ck_assert_uint_eq(r->epochs, 3);
                ck_assert_uint_eq(r->batch, at[i]);
                ck_assert_uint_eq(r->batches, 4);
                ck_assert_uint_eq(r->rows, rows[i]);
                ck_assert(isnan(r->val_loss) && isnan(r->val_accuracy));
                ck_assert(r->lr == 0.05 && r->seconds >= 0);
                for (; k < at[i]; k++) {
                    const double l = ll.loss[4 * e + k];
                    sum += red == NN_REDUCE_SUM ? l : l * (double)ll.m[4 * e + k];
                }
                ck_assert_msg(tu_relerr(r->train_loss, sum / (double)rows[i],
                                        1e-300) < 1e-14,
                              "epoch %zu report %zu", e, i);
            }
        }
        ck_assert(tu_getr(t, NN_TRAIN_FINAL_LOSS) == b.reps[8].train_loss);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_data_destroy(d);
}
END_TEST

/* A non-zero answer to a batch report stops at once: the 3rd report is
 * epoch 2's first (after its batch 2), so 4 + 2 steps ran and no epoch
 * report follows. */
START_TEST(batch_report_stops)
{
    nn_data_t *d = blobs(10, 2, 0.5, 20, false);
    nn_net_t *net = make_net(3, 2, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.05, NULL);
    static brec b;
    memset(&b, 0, sizeof b);
    b.stop_at = 4; /* B B E B */
    nn_trainer_t *t = make_trainer(3, 3, NULL);
    seti(t, NN_TRAIN_REPORT_EVERY, 2);
    NN_OK_OR_FAIL(nn_trainer_set_report(t, record_all, &b));
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    ck_assert_uint_eq(b.n, 4);
    ck_assert_int_eq(b.reps[3].kind, NN_REPORT_BATCH);
    tres res = results(t);
    ck_assert_int_eq(res.steps_run, 6);
    ck_assert_uint_eq(steps_of(opt), 6);
    ck_assert_int_eq(res.epochs_run, 2);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert(res.final_loss == b.reps[3].train_loss);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

/* NN_REDUCE_SUM with lr/B trains like NN_REDUCE_MEAN with lr for plain SGD
 * and equal batches (12 rows, batch 4): same weights to 1e-12, and the same
 * train loss per row. */
START_TEST(sum_matches_mean)
{
    nn_data_t *d = blobs(12, 3, 1.0, 22, false);
    nn_net_t *a = make_net(4, 3, NULL), *b = make_net(4, 3, NULL);
    NN_OK_OR_FAIL(nn_net_set_int(b, NN_NET_REDUCTION, NN_REDUCE_SUM));
    nn_optim_t *oa = make_opt(a, NN_OPTIM_SGD, 0.2, NULL);
    nn_optim_t *ob = make_opt(b, NN_OPTIM_SGD, 0.2 / 4, NULL);
    nn_trainer_t *t = make_trainer(5, 4, NULL);
    seti(t, NN_TRAIN_SEED, 3);
    NN_OK_OR_FAIL(nn_train(t, a, oa, d, NULL));
    double la = tu_getr(t, NN_TRAIN_FINAL_LOSS);
    NN_OK_OR_FAIL(nn_train(t, b, ob, d, NULL));
    double lb = tu_getr(t, NN_TRAIN_FINAL_LOSS);
    ck_assert_msg(tu_relerr(la, lb, 1e-300) < 1e-12, "%.17g vs %.17g", la, lb);
    double pa[NPMAX], pb[NPMAX], p0[NPMAX];
    size_t np = get_all(a, pa);
    get_all(b, pb);
    nn_net_t *c = make_net(4, 3, NULL);
    get_all(c, p0);
    ck_assert(memcmp(pa, p0, np * sizeof(double)) != 0); /* it did train */
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(tu_relerr(pa[i], pb[i], 1.0) < 1e-12, "p[%zu]", i);
    nn_net_destroy(c);
    nn_trainer_destroy(t);
    nn_optim_destroy(oa);
    nn_optim_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_data_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ row order
 * y = x (one input, identity output, W = 1, b = 0, MSE, target 0) on the
 * rows x_i = 2^i: row i's loss is exactly 4^i, so the loss of a batch of one
 * row names the row, and the mean loss of a set of rows names the set (sums
 * of distinct powers of 4 are distinct). A hook that zeroes the gradient
 * keeps the weights, and so every loss, fixed for the whole run. The targets
 * are dense zeros or labels 0 (for one output, label c is the value c). */
#define OM 10
typedef struct order_rec {
    size_t n, rows[EMAX * OM];
} order_rec;

static nn_status order_hook(double *grad, size_t len, size_t m, double *loss,
                            void *ctx)
{
    order_rec *o = ctx;
    ck_assert_uint_eq(m, 1);
    ck_assert_uint_lt(o->n, EMAX * OM);
    size_t row = OM;
    for (size_t i = 0; i < OM; i++)
        if (*loss == ldexp(1.0, 2 * (int)i)) row = i;
    ck_assert_msg(row < OM, "batch loss %.17g names no row", *loss);
    o->rows[o->n++] = row;
    for (size_t q = 0; q < len; q++) grad[q] = 0.0;
    return NN_OK;
}

static nn_data_t *pow2_data(bool labels)
{
    double X[OM], Y[OM] = {0};
    int32_t lab[OM] = {0};
    for (size_t i = 0; i < OM; i++) X[i] = ldexp(1.0, (int)i);
    return labels ? make_data(X, OM, 1, lab)
                  : tu_data_targets(X, OM, 1, Y, 1, NULL);
}

static nn_net_t *pow2_net(void)
{
    nn_net_t *net = linear_net(1, NULL);
    const double w = 1.0, b = 0.0;
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, &w, 1, &b));
    return net;
}

/* rows[0..n-1] are n distinct rows of 0..OM-1; their flags go to seen[]. */
static void expect_distinct(const size_t *rows, size_t n, bool seen[OM])
{
    for (size_t i = 0; i < OM; i++) seen[i] = false;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(rows[i], OM);
        ck_assert_msg(!seen[rows[i]], "row %zu seen twice in an epoch",
                      rows[i]);
        seen[rows[i]] = true;
    }
}

/* Shuffling reorders the rows in EVERY epoch (a fresh Fisher-Yates pass
 * each time, not only the first): seen through the hook with batches of one
 * row, each epoch is a permutation of all rows and epochs 1, 2, 3 come in
 * three different orders; without shuffling every epoch is 0, 1, ..., 9. */
START_TEST(shuffle_every_epoch)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        nn_data_t *d = pow2_data(shuffle);
        nn_net_t *net = pow2_net();
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
        static order_rec o;
        memset(&o, 0, sizeof o);
        nn_trainer_t *t = make_trainer(3, 1, NULL);
        seti(t, NN_TRAIN_SHUFFLE, shuffle);
        seti(t, NN_TRAIN_SEED, 21);
        NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, order_hook, &o));
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        ck_assert_uint_eq(o.n, 3 * OM);
        bool seen[OM];
        for (size_t e = 0; e < 3; e++) {
            const size_t *ord = o.rows + e * OM;
            expect_distinct(ord, OM, seen); /* OM distinct: all rows */
            bool identity = true;
            for (size_t i = 0; i < OM; i++) identity &= ord[i] == i;
            ck_assert_msg(identity == !shuffle, "epoch %zu: %s order",
                          e + 1, shuffle ? "unshuffled" : "shuffled");
        }
        if (shuffle)
            for (size_t a = 0; a < 3; a++)
                for (size_t b = a + 1; b < 3; b++)
                    ck_assert_msg(memcmp(o.rows + a * OM, o.rows + b * OM,
                                         OM * sizeof(size_t)) != 0,
                                  "epochs %zu and %zu in the same order",
                                  a + 1, b + 1);
        /* the zeroed gradients kept the weights */
        ck_assert(nn_net_params(net)[0] == 1.0 && nn_net_params(net)[1] == 0.0);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        nn_data_destroy(d);
    }
}
END_TEST

/* The validation split is disjoint from the training rows: with 0.3 of 10
 * rows held out, every epoch trains on the same 7 distinct rows, and the
 * validation loss reported is the mean loss, computed here by hand, of
 * exactly the other 3 (any other set of rows would give another mean). With
 * dense targets and with labels. */
START_TEST(validation_split_disjoint)
{
    for (int labels = 0; labels < 2; labels++) {
        nn_data_t *d = pow2_data(labels);
        nn_net_t *net = pow2_net();
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
        static order_rec o;
        memset(&o, 0, sizeof o);
        rec r = {0};
        nn_trainer_t *t = make_trainer(2, 1, &r);
        setr(t, NN_TRAIN_VAL_FRACTION, 0.3);
        seti(t, NN_TRAIN_SEED, 4);
        NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, order_hook, &o));
        NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
        ck_assert_uint_eq(r.calls, 2);
        ck_assert_uint_eq(o.n, 2 * 7);
        bool seen[OM], again[OM];
        expect_distinct(o.rows, 7, seen);
        expect_distinct(o.rows + 7, 7, again);
        ck_assert(memcmp(seen, again, sizeof seen) == 0);
        double sum = 0;
        size_t n_val = 0;
        for (size_t i = 0; i < OM; i++)
            if (!seen[i]) {
                sum += ldexp(1.0, 2 * (int)i); /* row i's loss: 4^i */
                n_val++;
            }
        ck_assert_uint_eq(n_val, 3);
        for (size_t e = 0; e < 2; e++)
            ck_assert_msg(tu_relerr(r.val_loss[e], sum / 3.0, 1e-300) <= 1e-15,
                          "epoch %zu: validation loss %.17g, mean over the "
                          "rows not trained on %.17g", e + 1, r.val_loss[e],
                          sum / 3.0);
        nn_trainer_destroy(t);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        nn_data_destroy(d);
    }
}
END_TEST

/* Early stopping counts an epoch as better only when the validation loss
 * strictly decreases: with the weights held fixed (zeroed gradients) the
 * loss stays exactly equal, so epoch 1 stays the best and the run stops
 * after `patience` = 3 more epochs. */
START_TEST(early_stopping_needs_strict_decrease)
{
    nn_data_t *d = pow2_data(false);
    nn_net_t *net = pow2_net();
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    static order_rec o;
    memset(&o, 0, sizeof o);
    rec r = {0};
    nn_trainer_t *t = make_trainer(10, 1, &r);
    setr(t, NN_TRAIN_VAL_FRACTION, 0.3);
    seti(t, NN_TRAIN_PATIENCE, 3);
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, order_hook, &o));
    NN_OK_OR_FAIL(nn_train(t, net, opt, d, NULL));
    tres res = results(t);
    ck_assert_uint_eq(r.calls, 4);
    for (size_t e = 1; e < r.calls; e++) /* the setup: equal losses */
        ck_assert(memcmp(&r.val_loss[e], &r.val_loss[0], sizeof(double)) == 0);
    ck_assert_int_eq(res.epochs_run, 4);
    ck_assert_int_eq(res.best_epoch, 1);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert(res.best_val_loss == r.val_loss[0]);
    ck_assert_uint_eq(steps_of(opt), 4 * 7);
    nn_trainer_destroy(t);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tk = tcase_create("settings");
    tcase_add_test(tk, defaults);
    tcase_add_test(tk, key_bounds);
    tcase_add_test(tk, create_errors);
    suite_add_tcase(s, tk);
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, partial_batch_counts);
    tcase_add_test(tc, early_stopping_restores_best);
    tcase_add_test(tc, callback_stops);
    tcase_add_test(tc, reproducible);
    tcase_add_test(tc, validation_split);
    tcase_add_test(tc, end_to_end_blobs);
    tcase_add_test(tc, allocations_per_run);
    tcase_add_test(tc, nomem_changes_nothing);
    tcase_add_test(tc, errors_change_nothing);
    tcase_add_test(tc, numeric_failure_rolls_back);
    tcase_add_test(tc, rollback_keeps_nonfinite_state);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hook");
    tcase_add_test(th, hook_half_batches_sum);
    tcase_add_test(th, hook_allreduce_trainer);
    tcase_add_test(th, hook_scales_and_inspects);
    tcase_add_test(th, hook_error_rolls_back);
    tcase_add_test(th, shuffle_every_epoch);
    tcase_add_test(th, validation_split_disjoint);
    tcase_add_test(th, early_stopping_needs_strict_decrease);
    suite_add_tcase(s, th);
    TCase *td = tcase_create("dense");
    tcase_add_test(td, dense_regression_matches_lstsq);
    tcase_add_test(td, dense_early_stopping);
    tcase_add_test(td, dense_validation_split);
    suite_add_tcase(s, td);
    TCase *tr = tcase_create("reports");
    tcase_add_test(tr, warmup_rates);
    tcase_add_test(tr, batch_reports);
    tcase_add_test(tr, batch_report_stops);
    tcase_add_test(tr, sum_matches_mean);
    suite_add_tcase(s, tr);
    return s;
}

int main(void) { return tu_run(train_suite()); }
