/* test_train.c — nn_train: learning-rate schedules against their closed forms
 *   STEP:   lr(e) = lr0 * gamma^floor(e / step_epochs)     (e 0-based epoch)
 *   COSINE: lr(t) = lr_min + (lr0 - lr_min)(1 + cos(pi t/T))/2
 *           (t 0-based step, T = epochs * ceil(m / batch); the report holds
 *           the rate of the epoch's last step, t = (e+1)*steps - 1),
 * step counts (the last partial batch is used), early stopping and the
 * restoration of the best weights, callback stop, reproducibility, the
 * validation split, an end-to-end run, allocation counts, error paths and
 * rollback of a run that fails part way. Data sets are written as CSV files
 * (features with %.17g, label last) and loaded back. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------ helpers */
static nn_data_t *make_data(const double *X, size_t m, size_t n,
                            const size_t *labels)
{
    return tu_data(X, m, n, labels, NULL);
}

/* Blobs: class c of `k` centred at centres[c], uniform noise in +-noise. */
static const double CENTRES[3][2] = {{0.0, 0.0}, {3.0, 0.0}, {0.0, 3.0}};
static nn_data_t *blobs(size_t m, size_t k, double noise, uint64_t seed,
                        bool flip)
{
    double *X = malloc(m * 2 * sizeof(double));
    size_t *y = malloc(m * sizeof(size_t));
    tu_rng r = {seed};
    for (size_t i = 0; i < m; i++) {
        size_t c = i % k;
        X[2 * i] = CENTRES[c][0] + tu_uniform(&r, -noise, noise);
        X[2 * i + 1] = CENTRES[c][1] + tu_uniform(&r, -noise, noise);
        y[i] = flip ? k - 1 - c : c;
    }
    nn_data_t *d = make_data(X, m, 2, y);
    free(X);
    free(y);
    return d;
}

static nn_net_t *make_net(size_t hidden, size_t k, const nn_allocator *al)
{
    nn_layer_spec specs[2] = {{.n_out = hidden, .act = NN_ACT_TANH},
                              {.n_out = k, .act = NN_ACT_SOFTMAX}};
    nn_net_t *net = NULL;
    size_t nl = hidden ? 2 : 1;
    NN_OK_OR_FAIL(nn_net_create(&net, 2, nl, hidden ? specs : &specs[1],
                                NN_LOSS_SOFTMAX_CE, al));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 7));
    return net;
}

static nn_optim_t *make_opt(nn_net_t *net, nn_optim_kind kind, double lr,
                            const nn_allocator *al)
{
    nn_optim_config c;
    NN_OK_OR_FAIL(nn_optim_config_default(&c, kind));
    c.lr = lr;
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, &c, al));
    return opt;
}

#define NPMAX 64
#define EMAX 64

/* All parameters, layer by layer (W row-major, then b). */
static size_t get_all(const nn_net_t *net, double *p)
{
    size_t off = 0;
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        size_t ni = nn_net_layer_n_in(net, l), no = nn_net_layer_n_out(net, l);
        NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, p + off, no,
                                        p + off + ni * no));
        off += ni * no + no;
    }
    ck_assert_uint_le(off, NPMAX);
    return off;
}

static uint64_t steps_of(const nn_optim_t *opt)
{
    uint64_t s = 0;
    size_t len = nn_optim_state_len(opt);
    double *st = malloc((len ? len : 1) * sizeof(double));
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &s, st, len));
    free(st);
    return s;
}

/* What the callback records, epoch by epoch. */
typedef struct rec {
    nn_net_t *net;
    size_t calls, stop_at; /* stop_at: return 1 at this epoch (0: never) */
    double lr[EMAX], train_loss[EMAX], val_loss[EMAX], val_acc[EMAX];
    double params[EMAX][NPMAX];
    size_t np;
} rec;

static int record(const nn_epoch_report *r, void *ctx)
{
    rec *c = ctx;
    ck_assert_uint_lt(c->calls, EMAX);
    ck_assert_uint_eq(r->epoch, c->calls + 1);
    ck_assert(r->seconds >= 0);
    c->lr[c->calls] = r->lr;
    c->train_loss[c->calls] = r->train_loss;
    c->val_loss[c->calls] = r->val_loss;
    c->val_acc[c->calls] = r->val_accuracy;
    if (c->net) c->np = get_all(c->net, c->params[c->calls]);
    c->calls++;
    return c->stop_at && r->epoch == c->stop_at;
}

static nn_train_config cfg_with(size_t epochs, size_t batch, rec *r)
{
    nn_train_config c;
    NN_OK_OR_FAIL(nn_train_config_default(&c));
    c.epochs = epochs;
    c.batch_size = batch;
    c.callback = r ? record : NULL;
    c.callback_ctx = r;
    return c;
}

/* ------------------------------------------------------------ tests */
START_TEST(defaults)
{
    nn_train_config c;
    memset(&c, 0xFF, sizeof c);
    NN_OK_OR_FAIL(nn_train_config_default(&c));
    ck_assert_uint_eq(c.epochs, 10);
    ck_assert_uint_eq(c.batch_size, 64);
    ck_assert(c.shuffle && c.restore_best);
    ck_assert(c.seed == 0 && c.val_fraction == 0 && c.patience == 0);
    ck_assert(c.schedule == NN_SCHED_CONSTANT && c.gamma == 0.1 &&
              c.step_epochs == 10 && c.lr_min == 0);
    ck_assert(c.callback == NULL && c.callback_ctx == NULL);
    ck_assert_int_eq(nn_train_config_default(NULL), NN_ERR_INVALID);
}
END_TEST

START_TEST(schedules)
{
    nn_data_t *d = blobs(10, 2, 0.5, 1, false);
    const double lr0 = 0.1;
    for (int s = 0; s < 3; s++) {
        nn_net_t *net = make_net(0, 2, NULL);
        nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, lr0, NULL);
        rec r = {0};
        nn_train_config c = cfg_with(6, 4, &r); /* 3 steps per epoch, T = 18 */
        c.schedule = (nn_schedule)s;
        c.gamma = 0.5;
        c.step_epochs = 2;
        c.lr_min = 0.01;
        nn_train_result res;
        NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, &res));
        ck_assert_uint_eq(r.calls, 6);
        ck_assert_uint_eq(res.epochs_run, 6);
        ck_assert(!res.stopped_early);
        ck_assert_uint_eq(res.best_epoch, 0);
        ck_assert(isnan(res.best_val_loss));
        ck_assert(res.final_train_loss == r.train_loss[5]);
        for (size_t e = 0; e < 6; e++) {
            double want = lr0;
            if (s == NN_SCHED_STEP) want = lr0 * pow(0.5, (double)(e / 2));
            if (s == NN_SCHED_COSINE) {
                double t = (double)(3 * e + 2);
                want = 0.01 + (lr0 - 0.01) * (1 + cos(PI * t / 18.0)) / 2;
            }
            ck_assert_msg(tu_relerr(r.lr[e], want, 1e-300) < 1e-14,
                          "schedule %d epoch %zu: %.17g vs %.17g", s, e,
                          r.lr[e], want);
            ck_assert(isnan(r.val_loss[e]) && isnan(r.val_acc[e]));
        }
        ck_assert(nn_optim_get_lr(opt) == lr0);
        ck_assert_uint_eq(steps_of(opt), 18);
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
        nn_train_config c = cfg_with(5, batch[i], NULL);
        NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, NULL));
        ck_assert_uint_eq(steps_of(opt), 5 * per_epoch[i]);
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
        nn_train_config c = cfg_with(40, 8, &r);
        c.patience = 3;
        c.restore_best = restore;
        nn_train_result res;
        NN_OK_OR_FAIL(nn_train(net, opt, tr, va, &c, NULL, &res));
        ck_assert(res.stopped_early);
        ck_assert_uint_ge(res.best_epoch, 1);
        ck_assert_uint_eq(res.epochs_run, res.best_epoch + 3);
        ck_assert_uint_eq(r.calls, res.epochs_run);
        /* the best epoch has the smallest loss, strictly before it */
        size_t b = res.best_epoch - 1;
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
    nn_train_config c = cfg_with(10, 8, &r);
    c.val_fraction = 0.2;
    nn_train_result res;
    NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, &res));
    ck_assert_uint_eq(res.epochs_run, 3);
    ck_assert_uint_eq(r.calls, 3);
    ck_assert(res.stopped_early);
    ck_assert(res.final_train_loss == r.train_loss[2]);
    ck_assert_uint_eq(steps_of(opt), 3 * 3); /* 24 training rows, batch 8 */
    /* a stop asked at the last planned epoch is not early */
    rec r2 = {.stop_at = 2};
    nn_train_config c2 = cfg_with(2, 8, &r2);
    NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c2, NULL, &res));
    ck_assert_uint_eq(res.epochs_run, 2);
    ck_assert(!res.stopped_early);
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
    nn_train_config c = cfg_with(5, 7, r);
    c.seed = seed;
    c.val_fraction = 0.25;
    NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, NULL));
    get_all(net, p);
    r->net = NULL;
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

START_TEST(reproducible)
{
    NN_OK_OR_FAIL(nn_set_num_threads(1));
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
 * mean of some 3 of them (the split holds out round(0.3 * 10) = 3 rows). */
typedef struct split_ctx {
    nn_net_t *net;
    const double *X;
    const size_t *y;
    size_t calls, matched;
} split_ctx;

static int check_split(const nn_epoch_report *r, void *ctx)
{
    split_ctx *s = ctx;
    double l[10];
    for (size_t i = 0; i < 10; i++)
        NN_OK_OR_FAIL(nn_net_loss_labels(s->net, 1, NN_ROW_MAJOR,
                                         s->X + 2 * i, 2, s->y + i, &l[i]));
    bool found = false;
    for (size_t a = 0; a < 10 && !found; a++)
        for (size_t b = a + 1; b < 10 && !found; b++)
            for (size_t c = b + 1; c < 10 && !found; c++)
                found = tu_relerr((l[a] + l[b] + l[c]) / 3, r->val_loss,
                                  1e-300) < 1e-12;
    s->matched += found;
    double k = r->val_accuracy * 3;
    ck_assert_msg(fabs(k - nearbyint(k)) < 1e-12, "accuracy %.17g",
                  r->val_accuracy);
    s->calls++;
    return 0;
}

START_TEST(validation_split)
{
    nn_data_t *d = blobs(10, 2, 1.5, 8, false);
    nn_net_t *net = make_net(3, 2, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_SGD, 0.1, NULL);
    split_ctx s = {net, nn_data_x(d), nn_data_labels(d), 0, 0};
    nn_train_config c = cfg_with(3, 2, NULL);
    c.val_fraction = 0.3;
    c.callback = check_split;
    c.callback_ctx = &s;
    c.restore_best = false;
    nn_train_result res;
    NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, &res));
    ck_assert_uint_eq(s.calls, 3);
    ck_assert_uint_eq(s.matched, 3);
    ck_assert_uint_eq(steps_of(opt), 3 * 4); /* 7 training rows, batch 2 */
    ck_assert_uint_ge(res.best_epoch, 1);
    ck_assert(isfinite(res.best_val_loss));

    /* too few rows on one side */
    uint64_t before = steps_of(opt);
    const double bad[] = {0.01, 0.04, 0.96, 0.99};
    for (size_t i = 0; i < 4; i++) {
        c.val_fraction = bad[i];
        ck_assert_int_eq(nn_train(net, opt, d, NULL, &c, NULL, &res),
                         NN_ERR_INVALID);
    }
    /* 0.9 leaves one training row: fine */
    c.val_fraction = 0.9;
    c.callback = NULL;
    NN_OK_OR_FAIL(nn_train(net, opt, d, NULL, &c, NULL, &res));
    ck_assert_uint_eq(steps_of(opt), before + 3);
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
    nn_train_config c = cfg_with(40, 16, NULL);
    c.seed = 3;
    c.val_fraction = 0.2;
    c.schedule = NN_SCHED_COSINE;
    nn_train_result res;
    NN_OK_OR_FAIL(nn_train(net, opt, tr, NULL, &c, NULL, &res));
    double loss, acc;
    NN_OK_OR_FAIL(nn_net_evaluate(net, te, 32, &loss, &acc));
    ck_assert_msg(acc >= 0.95, "accuracy %g, loss %g", acc, loss);
    ck_assert(res.seconds >= 0 && res.seconds < 5);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(te);
    nn_data_destroy(tr);
}
END_TEST

static size_t allocs_for(size_t epochs, nn_data_t *d, nn_data_t *val)
{
    /* one counting allocator shared by the net, the optimizer and nn_train */
    tu_counter k = {0};
    nn_allocator al = tu_allocator(&k);
    nn_net_t *net = make_net(6, 3, &al);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, 0.01, &al);
    nn_train_config c = cfg_with(epochs, 5, NULL);
    c.val_fraction = val ? 0 : 0.2;
    c.patience = 100;
    long before = k.attempts;
    NN_OK_OR_FAIL(nn_train(net, opt, d, val, &c, &al, NULL));
    size_t n = (size_t)(k.attempts - before);
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

START_TEST(errors_change_nothing)
{
    nn_data_t *d = blobs(12, 3, 1.0, 14, false);
    nn_data_t *v = blobs(6, 3, 1.0, 15, false);
    double X[12 * 3];
    size_t y3[12];
    for (size_t i = 0; i < 36; i++) X[i] = 0.1 * (double)i;
    for (size_t i = 0; i < 12; i++) y3[i] = i % 3;
    nn_data_t *wide = make_data(X, 12, 3, y3);
    nn_data_t *nolab = make_data(X, 18, 2, NULL);
    const size_t y4[6] = {0, 1, 2, 3, 0, 1};
    nn_data_t *biglab = make_data(X, 6, 2, y4);

    nn_net_t *net = make_net(4, 3, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, 0.05, NULL);
    nn_net_t *other = make_net(5, 3, NULL);
    double p0[NPMAX], p1[NPMAX];
    size_t np = get_all(net, p0);
    nn_train_result res, res0;
    memset(&res, 0x5A, sizeof res);
    res0 = res;
    tu_counter hc = {0};
    nn_allocator half = tu_allocator(&hc);
    half.free = NULL;

    nn_train_config ok = cfg_with(3, 4, NULL), c;
#define EXPECT(st, call)                                                      \
    do {                                                                      \
        ck_assert_int_eq((call), (st));                                       \
        get_all(net, p1);                                                     \
        ck_assert(memcmp(p0, p1, np * sizeof(double)) == 0);                  \
        ck_assert(memcmp(&res, &res0, sizeof res) == 0);                      \
        ck_assert(nn_optim_get_lr(opt) == 0.05);                              \
        ck_assert_uint_eq(steps_of(opt), 0);                                  \
    } while (0)

    EXPECT(NN_ERR_INVALID, nn_train(NULL, opt, d, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, NULL, d, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, NULL, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, NULL, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &ok, &half, &res));
    ck_assert_int_eq(hc.attempts, 0);
    c = ok; c.epochs = 0;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.batch_size = 0;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.val_fraction = 1.0;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.val_fraction = -0.1;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.val_fraction = NAN;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.schedule = (nn_schedule)7;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.schedule = NN_SCHED_STEP; c.gamma = 0;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c.gamma = 1.5;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c.gamma = NAN;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c.gamma = 0.5; c.step_epochs = 0;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.schedule = NN_SCHED_COSINE; c.lr_min = -1;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c.lr_min = INFINITY;
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    c = ok; c.patience = 2; /* early stopping needs validation data */
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, NULL, &c, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, nolab, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_INVALID, nn_train(net, opt, d, nolab, &ok, NULL, &res));
    EXPECT(NN_ERR_SHAPE, nn_train(net, opt, wide, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_SHAPE, nn_train(net, opt, d, wide, &ok, NULL, &res));
    EXPECT(NN_ERR_SHAPE, nn_train(net, opt, biglab, NULL, &ok, NULL, &res));
    EXPECT(NN_ERR_SHAPE, nn_train(net, opt, d, biglab, &ok, NULL, &res));
    /* an optimizer made for another network fails at its first step, and
     * the run is undone */
    EXPECT(NN_ERR_SHAPE, nn_train(other, opt, d, v, &ok, NULL, &res));
#undef EXPECT
    /* and everything still works afterwards */
    NN_OK_OR_FAIL(nn_train(net, opt, d, v, &ok, NULL, &res));
    ck_assert_uint_eq(res.epochs_run, 3);
    nn_net_destroy(other);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
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
    const size_t y[6] = {0, 1, 0, 1, 1, 0};
    nn_data_t *d = make_data(X, 6, 1, y);
    nn_layer_spec spec = {.n_out = 1, .act = NN_ACT_IDENTITY};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, 1, 1, &spec, NN_LOSS_MSE, NULL));
    const double w = 0.5, b = 0.1;
    NN_OK_OR_FAIL(nn_net_set_params(net, 0, NN_ROW_MAJOR, &w, 1, &b));
    NN_OK_OR_FAIL(nn_net_set_check_finite(net, true));
    nn_optim_t *opt = NULL;
    nn_optim_config oc;
    NN_OK_OR_FAIL(nn_optim_config_default(&oc, NN_OPTIM_MOMENTUM));
    oc.lr = 0.1;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, &oc, NULL));
    rec r = {0};
    nn_train_config c = cfg_with(3, 2, &r);
    c.shuffle = false;
    c.schedule = NN_SCHED_COSINE;
    nn_train_result res;
    ck_assert_int_eq(nn_train(net, opt, d, NULL, &c, NULL, &res),
                     NN_ERR_NUMERIC);
    ck_assert_uint_eq(r.calls, 0);
    double w1, b1, v[2];
    uint64_t steps;
    NN_OK_OR_FAIL(nn_net_get_params(net, 0, NN_ROW_MAJOR, &w1, 1, &b1));
    ck_assert(w1 == w && b1 == b);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, v, 2));
    ck_assert(steps == 0 && v[0] == 0 && v[1] == 0);
    ck_assert(nn_optim_get_lr(opt) == 0.1);
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
    const nn_layer_spec spec[] = {{1, NN_ACT_IDENTITY, 0, 0}};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, 1, 1, spec, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ZERO, 0));
    NN_OK_OR_FAIL(nn_net_set_check_finite(net, true));
    nn_optim_config oc;
    NN_OK_OR_FAIL(nn_optim_config_default(&oc, NN_OPTIM_ADAM));
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, &oc, NULL));
    nn_train_config tc;
    NN_OK_OR_FAIL(nn_train_config_default(&tc));
    tc.epochs = 1;
    tc.batch_size = 1;
    tc.shuffle = false;
    /* one huge input: the gradient is finite, its square overflows v */
    const double big[1] = {1e160};
    const size_t one[1] = {1};
    nn_data_t *d1 = tu_data(big, 1, 1, one, NULL);
    NN_OK_OR_FAIL(nn_train(net, opt, d1, NULL, &tc, NULL, NULL));
    double state0[4];
    uint64_t steps0 = 0;
    ck_assert_uint_eq(nn_optim_state_len(opt), 4);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps0, state0, 4));
    ck_assert(isinf(state0[2])); /* second moment of the weight */
    /* a run that fails on its second batch (NaN input) */
    const double bad[2] = {1, NAN};
    const size_t lab[2] = {1, 1};
    nn_data_t *d2 = tu_data(bad, 2, 1, lab, NULL);
    ck_assert_int_eq(nn_train(net, opt, d2, NULL, &tc, NULL, NULL), NN_ERR_NUMERIC);
    double state1[4];
    uint64_t steps1 = 0;
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps1, state1, 4));
    ck_assert_uint_eq(steps1, steps0);
    ck_assert_mem_eq(state1, state0, sizeof state0);
    nn_data_destroy(d1);
    nn_data_destroy(d2);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, partial_batch_counts);
    tcase_add_test(tc, early_stopping_restores_best);
    tcase_add_test(tc, callback_stops);
    tcase_add_test(tc, reproducible);
    tcase_add_test(tc, validation_split);
    tcase_add_test(tc, end_to_end_blobs);
    tcase_add_test(tc, allocations_per_run);
    tcase_add_test(tc, errors_change_nothing);
    tcase_add_test(tc, numeric_failure_rolls_back);
    tcase_add_test(tc, rollback_keeps_nonfinite_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(train_suite()); }
