/* test_checkpoint.c — pausing, resuming and checkpoints (nn_train with
 * NN_REPORT_PAUSE and NN_TRAIN_RESUME, nn_checkpoint_*): a run paused at
 * any report and resumed, in place or through a checkpoint in memory or on
 * disk loaded into fresh objects, or resumed from a checkpoint written by
 * the callback of a run that went on, ends with the model bytes, results
 * and report sequence of the run never paused (bitwise, one BLAS thread):
 * SGD, momentum, Nesterov and Adam; constant, step and cosine schedules
 * with warm-up; a validation split or set with patience and restore-best
 * (pauses before and after the best epoch, at the report where patience
 * runs out, at the last epoch); dropout; labels and dense targets; a
 * one-shard sharded run. Then what a resume refuses (no progress; another
 * seed, batch size, data, rate, optimizer or network: NN_ERR_INVALID with
 * nothing changed), the checkpoint calls' argument errors, truncated,
 * corrupted and hand-edited checkpoints (NN_ERR_FORMAT at the offending
 * field's offset), allocation failures and the memory a paused trainer
 * holds. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ fixtures */
typedef struct cfg {
    const char *name;
    nn_optim_kind kind;
    double lr;
    int32_t schedule;
    int64_t warmup;
    double val_frac;  /* a split of the training data */
    bool val_set;     /* a separate validation set */
    int64_t patience, restore;
    int64_t epochs, batch;
    bool dropout, targets, shard1;
    int64_t seed;
} cfg;

static const cfg CFGS[] = {
    {"sgd constant", NN_OPTIM_SGD, 0.1, NN_SCHED_CONSTANT, 0, 0, false, 0,
     1, 4, 4, false, false, false, 3},
    {"adam cosine warm-up, split, patience", NN_OPTIM_ADAM, 0.1,
     NN_SCHED_COSINE, 5, 0.2, false, 3, 1, 12, 5, true, false, false, 4},
    {"nesterov step warm-up, val set, dropout", NN_OPTIM_NESTEROV, 0.05,
     NN_SCHED_STEP, 7, 0, true, 0, 1, 6, 4, true, false, false, 5},
    {"adam targets, split, no restore", NN_OPTIM_ADAM, 0.02,
     NN_SCHED_COSINE, 3, 0.25, false, 0, 0, 6, 6, false, true, false, 6},
    {"momentum targets, val set, patience 3", NN_OPTIM_MOMENTUM, 0.1,
     NN_SCHED_CONSTANT, 0, 0, true, 3, 1, 30, 3, true, true, false, 7},
    {"sharded (one shard), split", NN_OPTIM_ADAM, 0.03, NN_SCHED_STEP, 2,
     0.2, false, 0, 1, 5, 5, true, false, true, 8},
};
#define NCFG (sizeof CFGS / sizeof CFGS[0])

/* The data of a configuration: three blobs (labels) or two smooth targets
 * of two features; a validation set drawn the same way. */
static nn_data_t *make_data(const cfg *c, size_t m, uint64_t seed)
{
    double *X = tu_dalloc(2 * m), *Y = tu_dalloc(2 * m);
    int32_t *lab = malloc(m * sizeof *lab);
    ck_assert_ptr_nonnull(lab);
    tu_rng r = {seed};
    for (size_t i = 0; i < m; i++) {
        double x0 = tu_uniform(&r, -1, 1), x1 = tu_uniform(&r, -1, 1);
        lab[i] = (int32_t)(i % 3);
        X[2 * i] = x0 + (lab[i] == 1 ? 1.2 : 0.0);
        X[2 * i + 1] = x1 + (lab[i] == 2 ? 1.2 : 0.0);
        Y[2 * i] = 0.5 * x0 - x1 + tu_uniform(&r, -0.1, 0.1);
        Y[2 * i + 1] = sin(2 * x0) * x1;
    }
    nn_data_t *d = c->targets ? tu_data_targets(X, m, 2, Y, 2, NULL)
                              : tu_data(X, m, 2, lab, NULL);
    free(X);
    free(Y);
    free(lab);
    return d;
}

static nn_net_t *make_net(const cfg *c, size_t hidden)
{
    tu_layer L[2] = {{hidden, NN_ACT_TANH, 0.01, c->dropout ? 0.25 : 0.0},
                     {c->targets ? 2 : 3,
                      c->targets ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX, 0.01, 0}};
    nn_net_t *net = tu_net_layers(2, 2, L,
                                  c->targets ? NN_LOSS_MSE : NN_LOSS_SOFTMAX_CE,
                                  NULL);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 11));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_SEED, 5));
    return net;
}

static nn_optim_t *make_opt(const cfg *c, const nn_net_t *net)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, c->kind, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, c->lr));
    return o;
}

/* A sharded run of one process: the collective is the identity. */
static nn_status allsum_one(double *buf, size_t len, void *ctx)
{
    (void)buf, (void)len, (void)ctx;
    return NN_OK;
}

static void seti(nn_trainer_t *t, int32_t key, int64_t v)
{
    NN_OK_OR_FAIL(nn_trainer_set_int(t, key, v));
}

/* The settings of a configuration (a batch report after every batch). */
static void set_trainer(nn_trainer_t *t, const cfg *c)
{
    seti(t, NN_TRAIN_EPOCHS, c->epochs);
    seti(t, NN_TRAIN_BATCH_SIZE, c->batch);
    seti(t, NN_TRAIN_SEED, c->seed);
    seti(t, NN_TRAIN_SCHEDULE, c->schedule);
    seti(t, NN_TRAIN_WARMUP_STEPS, c->warmup);
    seti(t, NN_TRAIN_PATIENCE, c->patience);
    seti(t, NN_TRAIN_RESTORE_BEST, c->restore);
    seti(t, NN_TRAIN_REPORT_EVERY, 1);
    NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_VAL_FRACTION, c->val_frac));
    if (c->schedule == NN_SCHED_STEP) {
        seti(t, NN_TRAIN_STEP_EPOCHS, 2);
        NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_GAMMA, 0.5));
    }
    if (c->schedule == NN_SCHED_COSINE)
        NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_LR_MIN, 1e-4));
    if (c->shard1)
        NN_OK_OR_FAIL(nn_trainer_set_shards(t, 0, 1, allsum_one, NULL));
}

/* ------------------------------------------------------------ reports */
#define MAXREP 2048
/* Where the callback acts: at the batch report after global batch n, or
 * at the report of epoch n (1-based). */
enum { AT_NONE, AT_BATCH, AT_EPOCH };
typedef struct point {
    int at;
    size_t n;
} point;

typedef struct rec {
    nn_report r[MAXREP];
    size_t n, batches;  /* reports; batch reports so far (global) */
    point act;          /* the next pause or save */
    bool save, stop;    /* at act: save a checkpoint or stop (else pause) */
    unsigned char *ckpt; /* the checkpoint saved */
    size_t ckpt_n, saved_at; /* its size; reports before it */
    nn_net_t *net;      /* what to save */
    nn_optim_t *opt;
    nn_trainer_t *tr;
} rec;

static bool due(const rec *c, const nn_report *r)
{
    if (c->act.at == AT_BATCH)
        return r->kind == NN_REPORT_BATCH && c->batches == c->act.n;
    return c->act.at == AT_EPOCH && r->kind == NN_REPORT_EPOCH &&
           r->epoch == c->act.n;
}

static void save_live(rec *c)
{
    size_t n = 0;
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(c->net, c->opt, c->tr, NULL, 0, &n));
    free(c->ckpt);
    c->ckpt = malloc(n);
    ck_assert_ptr_nonnull(c->ckpt);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(c->net, c->opt, c->tr, c->ckpt, n,
                                         &c->ckpt_n));
    ck_assert_uint_eq(c->ckpt_n, n);
    c->saved_at = c->n;
}

static int32_t on_report(const nn_report *r, void *ctx)
{
    rec *c = ctx;
    ck_assert_uint_eq(r->size, sizeof *r);
    ck_assert_uint_lt(c->n, MAXREP);
    c->r[c->n++] = *r;
    if (r->kind == NN_REPORT_BATCH) c->batches++;
    if (!due(c, r)) return 0;
    c->act.at = AT_NONE;
    if (c->stop) return 1;
    if (!c->save) return NN_REPORT_PAUSE;
    save_live(c);
    return 0;
}

/* Two report sequences equal, bit for bit but for the times. */
static void same_reports(const rec *a, const rec *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        nn_report x = a->r[i], y = b->r[i];
        x.seconds = y.seconds = 0;
        ck_assert_msg(memcmp(&x, &y, sizeof x) == 0,
                      "report %zu differs (epoch %zu batch %zu, loss %a / %a, "
                      "lr %a / %a)", i, x.epoch, x.batch, x.train_loss,
                      y.train_loss, x.lr, y.lr);
    }
}

/* ------------------------------------------------------------ runs */
typedef struct world {
    const cfg *c;
    nn_data_t *train, *val;
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *tr;
} world;

static void world_objects(world *w, rec *r)
{
    w->net = make_net(w->c, 6);
    w->opt = make_opt(w->c, w->net);
    NN_OK_OR_FAIL(nn_trainer_create(&w->tr, NULL));
    set_trainer(w->tr, w->c);
    NN_OK_OR_FAIL(nn_trainer_set_report(w->tr, on_report, r));
    r->net = w->net;
    r->opt = w->opt;
    r->tr = w->tr;
}

static void world_make(world *w, const cfg *c, rec *r)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    w->train = make_data(c, 41, 100 + (uint64_t)c->seed);
    if (c->val_set) w->val = make_data(c, 13, 200 + (uint64_t)c->seed);
    world_objects(w, r);
}

static void world_objects_free(world *w)
{
    nn_trainer_destroy(w->tr);
    nn_optim_destroy(w->opt);
    nn_net_destroy(w->net);
    w->tr = NULL;
    w->opt = NULL;
    w->net = NULL;
}

static void world_free(world *w)
{
    world_objects_free(w);
    nn_data_destroy(w->train);
    nn_data_destroy(w->val);
}

static nn_status train(world *w) { return nn_train(w->tr, w->net, w->opt, w->train, w->val); }

/* The model file of the world's net and optimizer (malloc'ed). */
static unsigned char *model_bytes(const world *w, size_t *n)
{
    NN_OK_OR_FAIL(nn_model_save_mem(w->net, w->opt, NULL, 0, n));
    unsigned char *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    NN_OK_OR_FAIL(nn_model_save_mem(w->net, w->opt, b, *n, n));
    return b;
}

/* The results of the last run, raw (NaN-safe comparisons by memcmp). */
typedef struct tres {
    int64_t i[5];
    double d[2];
} tres;

static tres results(const nn_trainer_t *t)
{
    tres r;
    memset(&r, 0, sizeof r);
    const int32_t ik[5] = {NN_TRAIN_EPOCHS_RUN, NN_TRAIN_BEST_EPOCH,
                           NN_TRAIN_STOPPED_EARLY, NN_TRAIN_STEPS_RUN,
                           NN_TRAIN_PAUSED};
    for (int k = 0; k < 5; k++) r.i[k] = tu_geti(t, ik[k]);
    r.d[0] = tu_getr(t, NN_TRAIN_BEST_VAL_LOSS);
    r.d[1] = tu_getr(t, NN_TRAIN_FINAL_LOSS);
    return r;
}

/* The run never paused. */
typedef struct ref {
    unsigned char *model;
    size_t n, batches; /* model bytes; batches per epoch */
    tres res;
    rec *r;
} ref;

static void ref_run(const cfg *c, ref *out)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    NN_OK_OR_FAIL(train(&w));
    out->model = model_bytes(&w, &out->n);
    out->res = results(w.tr);
    ck_assert_int_eq(out->res.i[4], 0);
    out->batches = r->n ? r->r[0].batches : 0;
    out->r = r;
    world_free(&w);
}

static void ref_free(ref *f)
{
    free(f->model);
    free(f->r);
}

/* How a paused run comes back. */
enum { IN_PLACE, VIA_MEM, VIA_FILE, NMODES };
static const char *const MODE_NAMES[NMODES] = {"in place", "memory", "file"};

/* Fresh objects from the checkpoint bytes b (n), as a new process would
 * make them: a trainer with the same settings, then RESUME. */
static void reload(world *w, rec *r, const unsigned char *b, size_t n,
                   const char *path)
{
    world_objects_free(w);
    NN_OK_OR_FAIL(nn_trainer_create(&w->tr, NULL));
    set_trainer(w->tr, w->c);
    NN_OK_OR_FAIL(nn_trainer_set_report(w->tr, on_report, r));
    nn_error_info err;
    if (path)
        NN_OK_OR_FAIL(nn_checkpoint_load(path, &w->net, &w->opt, w->tr, NULL,
                                         &err));
    else
        NN_OK_OR_FAIL(nn_checkpoint_load_mem(b, n, &w->net, &w->opt, w->tr,
                                             NULL, &err));
    r->net = w->net;
    r->opt = w->opt;
    r->tr = w->tr;
}

/* After a pause: back as `mode` says, with RESUME set. */
static void come_back(world *w, rec *r, int mode)
{
    if (mode != IN_PLACE) {
        size_t n = 0;
        NN_OK_OR_FAIL(nn_checkpoint_save_mem(w->net, w->opt, w->tr, NULL, 0,
                                             &n));
        unsigned char *b = malloc(n);
        ck_assert_ptr_nonnull(b);
        NN_OK_OR_FAIL(nn_checkpoint_save_mem(w->net, w->opt, w->tr, b, n, &n));
        char path[64] = "";
        if (mode == VIA_FILE) {
            snprintf(path, sizeof path, "/tmp/nn-ckpt-%ld.nnm", (long)getpid());
            nn_error_info err;
            NN_OK_OR_FAIL(nn_checkpoint_save(path, w->net, w->opt, w->tr, &err));
        }
        reload(w, r, b, n, mode == VIA_FILE ? path : NULL);
        if (mode == VIA_FILE) unlink(path);
        free(b);
    }
    seti(w->tr, NN_TRAIN_RESUME, 1);
}

/* Pause at each of pts[0..np-1] (in order), come back by `mode`, finish:
 * the same model, results and reports as the reference. */
static void paused_run(const cfg *c, const ref *f, const point *pts,
                       size_t np, int mode)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    for (size_t i = 0; i < np; i++) {
        r->act = pts[i];
        NN_OK_OR_FAIL(train(&w));
        ck_assert_msg(tu_geti(w.tr, NN_TRAIN_PAUSED) == 1, "%s: pause %zu (%d %zu) "
                      "not reached", c->name, i, pts[i].at, pts[i].n);
        come_back(&w, r, mode);
    }
    NN_OK_OR_FAIL(train(&w));
    size_t n = 0;
    unsigned char *b = model_bytes(&w, &n);
    ck_assert_msg(n == f->n && memcmp(b, f->model, n) == 0,
                  "%s, %s: the resumed model differs", c->name,
                  MODE_NAMES[mode]);
    tres got = results(w.tr);
    ck_assert_msg(memcmp(&got, &f->res, sizeof got) == 0,
                  "%s, %s: results differ", c->name, MODE_NAMES[mode]);
    same_reports(r, f->r);
    /* the progress was dropped by the run that ended */
    ck_assert_int_eq(train(&w), NN_ERR_STATE);
    free(b);
    free(r);
    world_free(&w);
}

/* A run whose callback saves a checkpoint at `at` and goes on; fresh
 * objects resumed from that checkpoint end as the reference. */
static void live_checkpoint_run(const cfg *c, const ref *f, point at)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    r->act = at;
    r->save = true;
    NN_OK_OR_FAIL(train(&w));
    ck_assert_ptr_nonnull(r->ckpt);
    size_t n = 0;
    unsigned char *b = model_bytes(&w, &n);
    ck_assert(n == f->n && memcmp(b, f->model, n) == 0); /* undisturbed */
    free(b);
    same_reports(r, f->r);
    unsigned char *ck = r->ckpt;
    size_t ckn = r->ckpt_n;
    r->ckpt = NULL;
    reload(&w, r, ck, ckn, NULL);
    seti(w.tr, NN_TRAIN_RESUME, 1);
    NN_OK_OR_FAIL(train(&w));
    b = model_bytes(&w, &n);
    ck_assert_msg(n == f->n && memcmp(b, f->model, n) == 0,
                  "%s: resumed from a live checkpoint (%d %zu), the model "
                  "differs", c->name, at.at, at.n);
    tres got = results(w.tr);
    ck_assert(memcmp(&got, &f->res, sizeof got) == 0);
    /* the resumed run's reports are those after the save */
    ck_assert_uint_eq(r->n - f->r->n, f->r->n - r->saved_at);
    for (size_t i = r->saved_at; i < f->r->n; i++) {
        nn_report x = f->r->r[i], y = r->r[f->r->n + i - r->saved_at];
        x.seconds = y.seconds = 0;
        ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "report %zu", i);
    }
    free(b);
    free(ck);
    free(r);
    world_free(&w);
}

/* Where a point lies in the run's sequence of reports (batch reports of
 * global batch n at 2n, the report of epoch e just after its last batch's). */
static size_t position(const point *p, size_t nb)
{
    return p->at == AT_BATCH ? 2 * p->n : 2 * p->n * nb + 1;
}

/* The pauses worth trying for a reference, in the order of the run:
 * mid-epoch early, the last batch of an epoch (before its validation),
 * the best epoch's report, a batch after it, and the last epoch's report
 * (where patience may run out). */
static size_t pick_points(const ref *f, point *pts)
{
    size_t nb = f->batches, k = 0;
    int64_t ran = f->res.i[0], best = f->res.i[1];
    pts[k++] = (point){AT_BATCH, nb > 1 ? nb / 2 : 1};
    if (ran >= 3) pts[k++] = (point){AT_BATCH, 2 * nb};
    if (best >= 2) pts[k++] = (point){AT_EPOCH, (size_t)best};
    if (best > 0 && best < ran)
        pts[k++] = (point){AT_BATCH, (size_t)best * nb + 1};
    pts[k++] = (point){AT_EPOCH, (size_t)ran};
    for (size_t i = 1; i < k; i++) /* insertion sort */
        for (size_t j = i; j > 0 && position(&pts[j - 1], nb) >
                                        position(&pts[j], nb); j--) {
            point t = pts[j];
            pts[j] = pts[j - 1];
            pts[j - 1] = t;
        }
    size_t u = 0; /* without repeats */
    for (size_t i = 0; i < k; i++)
        if (u == 0 || position(&pts[u - 1], nb) != position(&pts[i], nb))
            pts[u++] = pts[i];
    return u;
}

START_TEST(test_resume_bitwise)
{
    const cfg *c = &CFGS[_i];
    nn_status th = nn_set_num_threads(1);
    ck_assert(th == NN_OK || th == NN_ERR_UNSUPPORTED);
    ref f;
    ref_run(c, &f);
    ck_assert_int_ge(f.res.i[0], 2);
    point pts[8];
    size_t np = pick_points(&f, pts);
    for (int mode = 0; mode < NMODES; mode++) {
        for (size_t i = 0; i < np; i++) paused_run(c, &f, &pts[i], 1, mode);
        paused_run(c, &f, pts, np, mode); /* every pause in one run */
    }
    for (size_t i = 0; i < np; i++) live_checkpoint_run(c, &f, pts[i]);
    ref_free(&f);
}
END_TEST

/* The configurations reach what they are meant to cover. */
START_TEST(test_configs_cover)
{
    ref f;
    for (int i = 1; i < 5; i += 3) { /* a best epoch inside the run, then */
        ref_run(&CFGS[i], &f);      /* patience runs out */
        ck_assert_int_ge(f.res.i[1], 1);
        ck_assert_int_lt(f.res.i[1], f.res.i[0]);
        ck_assert_int_eq(f.res.i[2], 1);
        ck_assert_int_lt(f.res.i[0], CFGS[i].epochs);
        ref_free(&f);
    }
}
END_TEST

/* A paused run resumed with more epochs (constant rate, no validation)
 * equals the longer run; fewer epochs than begun are refused. */
START_TEST(test_resume_more_epochs)
{
    cfg c = CFGS[0];
    c.epochs = 7;
    ref f;
    ref_run(&c, &f);
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    c.epochs = 3;
    world_make(&w, &c, r);
    r->act = (point){AT_EPOCH, 3}; /* the last epoch of the shorter run */
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 1);
    seti(w.tr, NN_TRAIN_RESUME, 1);
    seti(w.tr, NN_TRAIN_EPOCHS, 2);
    ck_assert_int_eq(train(&w), NN_ERR_INVALID);
    seti(w.tr, NN_TRAIN_EPOCHS, 7);
    NN_OK_OR_FAIL(train(&w));
    size_t n;
    unsigned char *b = model_bytes(&w, &n);
    ck_assert(n == f.n && memcmp(b, f.model, n) == 0);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_EPOCHS_RUN), 7);
    free(b);
    free(r);
    world_free(&w);
    ref_free(&f);
}
END_TEST

/* ------------------------------------------------------------ refusals */
/* Parameters and optimizer state, to show that nothing changed. */
static double *state_copy(world *w, size_t *n)
{
    size_t P = nn_net_n_params(w->net), S = nn_optim_state_len(w->opt);
    double *s = tu_dalloc(P + S + 1);
    memcpy(s, nn_net_params(w->net), P * sizeof(double));
    if (S) memcpy(s + P, nn_optim_state_view(w->opt), S * sizeof(double));
    int64_t steps = 0;
    NN_OK_OR_FAIL(nn_optim_get_int(w->opt, NN_OPTIM_STEPS, &steps));
    s[P + S] = (double)steps;
    *n = P + S + 1;
    return s;
}

static void expect_state(world *w, const double *s, size_t n)
{
    size_t m;
    double *t = state_copy(w, &m);
    ck_assert_uint_eq(m, n);
    ck_assert(memcmp(s, t, n * sizeof(double)) == 0);
    free(t);
}

START_TEST(test_resume_without_progress)
{
    const cfg *c = &CFGS[1];
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    size_t n;
    double *s = state_copy(&w, &n);
    seti(w.tr, NN_TRAIN_RESUME, 1);
    ck_assert_int_eq(train(&w), NN_ERR_STATE); /* a fresh trainer */
    expect_state(&w, s, n);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_EPOCHS_RUN), 0);
    size_t size = 0;
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, w.opt, w.tr, NULL, 0,
                                            &size), NN_ERR_STATE);
    seti(w.tr, NN_TRAIN_RESUME, 0);
    NN_OK_OR_FAIL(train(&w)); /* a run that completes leaves none */
    seti(w.tr, NN_TRAIN_RESUME, 1);
    ck_assert_int_eq(train(&w), NN_ERR_STATE);
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, w.opt, w.tr, NULL, 0,
                                            &size), NN_ERR_STATE);
    /* nor does a stopped one */
    seti(w.tr, NN_TRAIN_RESUME, 0);
    r->act = (point){AT_BATCH, r->batches + 2};
    r->stop = true;
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_STOPPED_EARLY), 1);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 0);
    seti(w.tr, NN_TRAIN_RESUME, 1);
    ck_assert_int_eq(train(&w), NN_ERR_STATE);
    /* a new run (RESUME 0) drops the progress of a paused one */
    seti(w.tr, NN_TRAIN_RESUME, 0);
    r->stop = false;
    r->act = (point){AT_BATCH, r->batches + 2};
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 1);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_STOPPED_EARLY), 1);
    NN_OK_OR_FAIL(train(&w));
    seti(w.tr, NN_TRAIN_RESUME, 1);
    ck_assert_int_eq(train(&w), NN_ERR_STATE);
    free(s);
    free(r);
    world_free(&w);
}
END_TEST

/* A paused world of configuration 1 (adam, cosine, split, patience). */
static void paused_world(world *w, rec *r, const cfg *c)
{
    world_make(w, c, r);
    r->act = (point){AT_BATCH, 11};
    NN_OK_OR_FAIL(train(w));
    ck_assert_int_eq(tu_geti(w->tr, NN_TRAIN_PAUSED), 1);
    seti(w->tr, NN_TRAIN_RESUME, 1);
}

/* One refused resume: NN_ERR_INVALID, nothing changed. */
static void refused(world *w, const char *what, const nn_data_t *train_d,
                    const nn_data_t *val_d)
{
    size_t n;
    double *s = state_copy(w, &n);
    tres before = results(w->tr);
    nn_status st = nn_train(w->tr, w->net, w->opt, train_d, val_d);
    ck_assert_msg(st == NN_ERR_INVALID, "%s: %d", what, (int)st);
    expect_state(w, s, n);
    tres after = results(w->tr);
    ck_assert(memcmp(&before, &after, sizeof before) == 0);
    free(s);
}

START_TEST(test_resume_mismatch)
{
    const cfg *c = &CFGS[1];
    ref f;
    ref_run(c, &f);
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    paused_world(&w, r, c);
    const struct { int32_t key; int64_t v; } other[] = {
        {NN_TRAIN_SEED, 99}, {NN_TRAIN_BATCH_SIZE, 4},
        {NN_TRAIN_WARMUP_STEPS, 0}, {NN_TRAIN_PATIENCE, 2},
        {NN_TRAIN_SHUFFLE, 0}, {NN_TRAIN_SCHEDULE, NN_SCHED_CONSTANT}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        int64_t keep = tu_geti(w.tr, other[i].key);
        seti(w.tr, other[i].key, other[i].v);
        refused(&w, "a setting", w.train, NULL);
        seti(w.tr, other[i].key, keep);
    }
    NN_OK_OR_FAIL(nn_trainer_set_real(w.tr, NN_TRAIN_VAL_FRACTION, 0.3));
    refused(&w, "val fraction", w.train, NULL);
    NN_OK_OR_FAIL(nn_trainer_set_real(w.tr, NN_TRAIN_VAL_FRACTION, 0.2));
    /* other data: one feature, one label, another set, a validation set */
    nn_data_t *d = make_data(c, 41, 100 + (uint64_t)c->seed);
    nn_data_x(d)[17] += 1e-12;
    refused(&w, "one feature", d, NULL);
    nn_data_destroy(d);
    d = make_data(c, 41, 100 + (uint64_t)c->seed);
    int32_t lab[41];
    memcpy(lab, nn_data_labels(d), sizeof lab);
    lab[3] = (lab[3] + 1) % 3;
    NN_OK_OR_FAIL(nn_data_set_labels(d, lab));
    refused(&w, "one label", d, NULL);
    nn_data_destroy(d);
    d = make_data(c, 40, 100 + (uint64_t)c->seed);
    refused(&w, "one row fewer", d, NULL);
    refused(&w, "a validation set", w.train, d);
    nn_data_destroy(d);
    /* another base rate */
    NN_OK_OR_FAIL(nn_optim_set_real(w.opt, NN_OPTIM_LR, 0.031));
    refused(&w, "lr", w.train, NULL);
    NN_OK_OR_FAIL(nn_optim_set_real(w.opt, NN_OPTIM_LR, c->lr));
    /* another optimizer kind; a network of another size */
    nn_optim_t *o2 = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o2, w.net, NN_OPTIM_MOMENTUM, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o2, NN_OPTIM_LR, c->lr));
    ck_assert_int_eq(nn_train(w.tr, w.net, o2, w.train, NULL), NN_ERR_INVALID);
    nn_optim_destroy(o2);
    nn_net_t *n2 = make_net(c, 7);
    nn_optim_t *o3 = make_opt(c, n2);
    ck_assert_int_eq(nn_train(w.tr, n2, o3, w.train, NULL), NN_ERR_INVALID);
    size_t size = 0;
    ck_assert_int_eq(nn_checkpoint_save_mem(n2, o3, w.tr, NULL, 0, &size),
                     NN_ERR_INVALID);
    nn_optim_destroy(o3);
    nn_net_destroy(n2);
    /* the progress is intact: the resume goes through and ends as the
     * run never paused */
    NN_OK_OR_FAIL(train(&w));
    size_t n;
    unsigned char *b = model_bytes(&w, &n);
    ck_assert(n == f.n && memcmp(b, f.model, n) == 0);
    free(b);
    free(r);
    world_free(&w);
    ref_free(&f);
}
END_TEST

/* A resumed run that fails (a hook) rolls back and keeps its progress. */
static nn_status fail_hook(double *g, size_t len, size_t m, double *loss,
                           void *ctx)
{
    (void)g, (void)len, (void)m, (void)loss;
    size_t *left = ctx;
    return (*left)-- == 0 ? NN_ERR_NUMERIC : NN_OK;
}

START_TEST(test_resume_failure_keeps_progress)
{
    const cfg *c = &CFGS[2];
    ref f;
    ref_run(c, &f);
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    r->act = (point){AT_BATCH, 5};
    NN_OK_OR_FAIL(train(&w));
    seti(w.tr, NN_TRAIN_RESUME, 1);
    size_t n, left = 7;
    double *s = state_copy(&w, &n);
    size_t reports = r->n, batches = r->batches;
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(w.tr, fail_hook, &left));
    ck_assert_int_eq(train(&w), NN_ERR_NUMERIC);
    expect_state(&w, s, n);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 1); /* results kept */
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(w.tr, NULL, NULL));
    r->n = reports; /* forget the failed run's reports */
    r->batches = batches;
    NN_OK_OR_FAIL(train(&w));
    unsigned char *b = model_bytes(&w, &n);
    ck_assert(n == f.n && memcmp(b, f.model, n) == 0);
    same_reports(r, f.r);
    free(b);
    free(s);
    free(r);
    world_free(&w);
    ref_free(&f);
}
END_TEST

/* ------------------------------------------------------------ the calls */
typedef struct nested {
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *tr;
    const nn_data_t *d;
    bool done;
} nested;

/* From inside a report: loading into the running trainer and training it
 * are refused; saving works. */
static int32_t nested_report(const nn_report *r, void *ctx)
{
    nested *x = ctx;
    if (x->done || r->kind != NN_REPORT_BATCH) return 0;
    x->done = true;
    size_t size = 0;
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(x->net, x->opt, x->tr, NULL, 0,
                                         &size));
    unsigned char *b = malloc(size);
    ck_assert_ptr_nonnull(b);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(x->net, x->opt, x->tr, b, size,
                                         &size));
    nn_net_t *n2 = NULL;
    nn_optim_t *o2 = NULL;
    ck_assert_int_eq(nn_checkpoint_load_mem(b, size, &n2, &o2, x->tr, NULL,
                                            NULL), NN_ERR_STATE);
    ck_assert_ptr_null(n2);
    ck_assert_int_eq(nn_train(x->tr, x->net, x->opt, x->d, NULL),
                     NN_ERR_STATE);
    free(b);
    return 0;
}

/* The checkpoint of a world, in memory (malloc'ed, *n bytes). */
static unsigned char *ckpt_bytes(const world *w, size_t *n)
{
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w->net, w->opt, w->tr, NULL, 0, n));
    unsigned char *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w->net, w->opt, w->tr, b, *n, n));
    return b;
}

START_TEST(test_checkpoint_save_calls)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    paused_world(&w, r, &CFGS[1]);
    size_t n = 0, n2 = 0;
    ck_assert_int_eq(nn_checkpoint_save_mem(NULL, w.opt, w.tr, NULL, 0, &n),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, NULL, w.tr, NULL, 0, &n),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, w.opt, NULL, NULL, 0, &n),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, w.opt, w.tr, NULL, 0, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_save(NULL, w.net, w.opt, w.tr, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_save("", w.net, w.opt, w.tr, NULL),
                     NN_ERR_INVALID);
    /* the size convention; the section's size (a best copy: restore-best) */
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w.net, w.opt, w.tr, NULL, 0, &n));
    NN_OK_OR_FAIL(nn_model_save_mem(w.net, w.opt, NULL, 0, &n2));
    ck_assert_uint_eq(n, n2 + 120 + 8 * nn_net_n_params(w.net));
    unsigned char *b = malloc(n + 8);
    ck_assert_ptr_nonnull(b);
    memset(b, 0xAB, n + 8);
    size_t got = 0;
    ck_assert_int_eq(nn_checkpoint_save_mem(w.net, w.opt, w.tr, b, n - 1,
                                            &got), NN_ERR_SHAPE);
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(b[0], 0xAB);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w.net, w.opt, w.tr, b, n + 8, &got));
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(b[n], 0xAB);
    ck_assert_uint_eq(b[52] & 0xF, 0x9); /* flags: optimizer, progress */
    free(b);
    free(r);
    world_free(&w);
}
END_TEST

START_TEST(test_checkpoint_load_calls)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    paused_world(&w, r, &CFGS[1]);
    size_t n, n2, k, got;
    unsigned char *b = ckpt_bytes(&w, &n), *m = model_bytes(&w, &n2);
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_trainer_t *t2 = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t2, NULL));
    ck_assert_int_eq(nn_checkpoint_load_mem(b, n, NULL, &opt, t2, NULL, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_load_mem(b, n, &net, NULL, t2, NULL, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_load_mem(b, n, &net, &opt, NULL, NULL,
                                            NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_checkpoint_load(NULL, &net, &opt, t2, NULL, NULL),
                     NN_ERR_INVALID);
    nn_error_info err;
    ck_assert_int_eq(nn_checkpoint_load_mem(b, 0, &net, &opt, t2, NULL, &err),
                     NN_ERR_FORMAT);
    /* a model file is not a checkpoint */
    ck_assert_int_eq(nn_checkpoint_load_mem(m, n2, &net, &opt, t2, NULL, &err),
                     NN_ERR_FORMAT);
    ck_assert_ptr_null(net);
    ck_assert_uint_eq(err.offset, 52);
    ck_assert_ptr_nonnull(strstr(err.message, "not a checkpoint"));
    seti(t2, NN_TRAIN_RESUME, 1); /* t2 still holds nothing */
    ck_assert_int_eq(nn_train(t2, w.net, w.opt, w.train, NULL), NN_ERR_STATE);
    /* nn_model_load reads a checkpoint's network and optimizer */
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net, &opt, NULL, &err));
    world v = {.net = net, .opt = opt};
    unsigned char *m2 = model_bytes(&v, &k);
    ck_assert(k == n2 && memcmp(m, m2, k) == 0);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net, NULL, NULL, &err));
    nn_net_destroy(net);
    /* a second load replaces the progress held; saved again, the same */
    NN_OK_OR_FAIL(nn_checkpoint_load_mem(b, n, &net, &opt, t2, NULL, &err));
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    NN_OK_OR_FAIL(nn_checkpoint_load_mem(b, n, &net, &opt, t2, NULL, &err));
    unsigned char *b2 = malloc(n);
    ck_assert_ptr_nonnull(b2);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(net, opt, t2, b2, n, &got));
    ck_assert(got == n && memcmp(b, b2, n) == 0);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_trainer_destroy(t2);
    free(b);
    free(b2);
    free(m);
    free(m2);
    free(r);
    world_free(&w);
}
END_TEST

START_TEST(test_checkpoint_in_callback)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    paused_world(&w, r, &CFGS[1]);
    nested x = {w.net, w.opt, w.tr, w.train, false};
    NN_OK_OR_FAIL(nn_trainer_set_report(w.tr, nested_report, &x));
    NN_OK_OR_FAIL(train(&w));
    ck_assert(x.done);
    free(r);
    world_free(&w);
}
END_TEST

/* ------------------------------------------------------------ the bytes */
static void rd_wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint32_t ref_crc(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
    }
    return ~c;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_crcs(unsigned char *b, size_t n)
{
    rd_wr64(b + 16, n - 32);
    wr32(b + 24, ref_crc(b + 32, n - 32));
    wr32(b + 28, ref_crc(b, 28));
}

/* A checkpoint (paused mid-epoch, with a best copy), its size and the
 * offset of its progress section. */
static unsigned char *a_checkpoint(size_t *n, size_t *prog)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, &CFGS[1], r);
    r->act = (point){AT_BATCH, 27};
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_gt(tu_geti(w.tr, NN_TRAIN_BEST_EPOCH), 0);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w.net, w.opt, w.tr, NULL, 0, n));
    unsigned char *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    NN_OK_OR_FAIL(nn_checkpoint_save_mem(w.net, w.opt, w.tr, b, *n, n));
    *prog = *n - 120 - 8 * nn_net_n_params(w.net);
    free(r);
    world_free(&w);
    return b;
}

static nn_status load_both(const unsigned char *b, size_t n,
                           nn_error_info *err)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_status st = nn_checkpoint_load_mem(b, n, &net, &opt, t, NULL, err);
    if (st == NN_OK) {
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    } else {
        ck_assert_ptr_null(net);
        ck_assert_ptr_null(opt);
    }
    /* nn_model_load validates the section the same way */
    nn_net_t *n2 = NULL;
    nn_status s2 = nn_model_load_mem(b, n, &n2, NULL, NULL, NULL);
    ck_assert_int_eq(s2, st);
    nn_net_destroy(n2);
    nn_trainer_destroy(t);
    return st;
}

START_TEST(test_truncated_and_flipped)
{
    size_t n, prog;
    unsigned char *b = a_checkpoint(&n, &prog);
    ck_assert_int_eq(load_both(b, n, NULL), NN_OK);
    for (size_t len = 1; len < n; len++) {
        unsigned char *t = malloc(len);
        memcpy(t, b, len);
        ck_assert_msg(load_both(t, len, NULL) == NN_ERR_FORMAT,
                      "truncated at %zu", len);
        free(t);
    }
    unsigned char *t = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(t, b, n);
        t[i] ^= 0x10;
        nn_status st = load_both(t, n, NULL);
        ck_assert_msg(st == NN_ERR_FORMAT ||
                          (st == NN_ERR_UNSUPPORTED && i >= 8 && i < 12),
                      "flip at %zu: %d", i, (int)st);
    }
    /* a progress cut short, the CRCs made consistent */
    for (size_t len = prog; len < n; len += 8) {
        memcpy(t, b, len);
        fix_crcs(t, len);
        nn_error_info err;
        ck_assert_int_eq(load_both(t, len, &err), NN_ERR_FORMAT);
    }
    free(t);
    free(b);
}
END_TEST

/* Hand-edited progress fields (CRCs recomputed): NN_ERR_FORMAT at the
 * field's offset. */
START_TEST(test_hostile_progress)
{
    size_t n, o;
    unsigned char *b = a_checkpoint(&n, &o);
    const uint64_t INF_BITS = 0x7FF0000000000000u, NAN_BITS =
                                                       0x7FF8000000000000u;
    const uint64_t epoch = rd64(b + o), batch = rd64(b + o + 8);
    ck_assert_uint_gt(epoch, 0);
    ck_assert_uint_gt(batch, 0);
    /* at: the field edited; where: the offset the message names */
    const struct { size_t at; uint64_t v; size_t where; const char *what; }
        cases[] = {
        {0, (uint64_t)1 << 63, 0, "epoch"},
        {8, 0, 16, "rows in"},             /* batch 0 with rows */
        {16, 0, 16, "rows in"},            /* rows 0 with batches */
        {16, batch - 1, 16, "rows in"},    /* fewer rows than batches */
        {32, 0, 32, "step"},
        {32, batch - 1, 32, "step"},
        {40, 0, 40, "lr"},
        {40, NAN_BITS, 40, "lr"},
        {48, epoch + 1, 48, "best epoch"},
        {56, INF_BITS, 56, "best val loss"},
        {56, NAN_BITS, 56, "best val loss"},
        {64, epoch + 1, 64, "without improvement"},
        {96, 3, 96, "n_params"},
        {104, 1, 104, "reserved"},
        {112, 5, 112, "n_best"},
    };
    unsigned char *t = malloc(n);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(t, b, n);
        rd_wr64(t + o + cases[i].at, cases[i].v);
        fix_crcs(t, n);
        nn_error_info err;
        ck_assert_int_eq(load_both(t, n, &err), NN_ERR_FORMAT);
        ck_assert_msg(err.offset == o + cases[i].where, "%s: offset %zu, "
                      "want %zu (%s)", cases[i].what, err.offset,
                      o + cases[i].where, err.message);
        ck_assert_msg(strstr(err.message, cases[i].what), "%s: '%s'",
                      cases[i].what, err.message);
    }
    /* no best epoch but a best copy; a best epoch without a loss */
    memcpy(t, b, n);
    rd_wr64(t + o + 48, 0);
    rd_wr64(t + o + 56, INF_BITS);
    rd_wr64(t + o + 64, 0);
    fix_crcs(t, n);
    nn_error_info err;
    ck_assert_int_eq(load_both(t, n, &err), NN_ERR_FORMAT);
    ck_assert_uint_eq(err.offset, o + 112);
    /* flags: progress without an optimizer; progress in a version 2 file */
    memcpy(t, b, n);
    t[52] &= (unsigned char)~1u;
    fix_crcs(t, n);
    ck_assert_int_eq(load_both(t, n, &err), NN_ERR_FORMAT);
    ck_assert_uint_eq(err.offset, 52);
    memcpy(t, b, n);
    wr32(t + 8, 2);
    fix_crcs(t, n);
    ck_assert_int_eq(load_both(t, n, &err), NN_ERR_FORMAT);
    ck_assert_uint_eq(err.offset, 52);
    ck_assert_ptr_nonnull(strstr(err.message, "unknown flags"));
    /* a byte too many */
    unsigned char *u = malloc(n + 8);
    memcpy(u, b, n);
    memset(u + n, 0, 8);
    fix_crcs(u, n + 8);
    ck_assert_int_eq(load_both(u, n + 8, &err), NN_ERR_FORMAT);
    free(u);
    free(t);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ memory */
/* A paused trainer keeps one block (the run's) and no more; the resumed
 * run that completes frees it; a trainer destroyed while paused leaks
 * nothing. */
START_TEST(test_paused_memory)
{
    const cfg *c = &CFGS[1];
    tu_counter k = {0};
    nn_allocator al = tu_allocator(&k);
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    nn_trainer_destroy(w.tr);
    NN_OK_OR_FAIL(nn_trainer_create(&w.tr, &al));
    set_trainer(w.tr, c);
    NN_OK_OR_FAIL(nn_trainer_set_report(w.tr, on_report, r));
    r->tr = w.tr;
    long base = k.allocs - k.frees;
    r->act = (point){AT_BATCH, 4}; /* no epoch ended: no best copy to keep */
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 1);
    ck_assert_int_eq(k.allocs - k.frees, base);
    seti(w.tr, NN_TRAIN_RESUME, 1);
    r->act = (point){AT_BATCH, 9}; /* epoch 2: the best copy of epoch 1 */
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(k.allocs - k.frees, base + 1);
    r->act = (point){AT_BATCH, 16};
    NN_OK_OR_FAIL(train(&w)); /* paused again: the new block replaces it */
    ck_assert_int_eq(k.allocs - k.frees, base + 1);
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(k.allocs - k.frees, base);
    r->act = (point){AT_BATCH, r->batches + 10};
    seti(w.tr, NN_TRAIN_RESUME, 0);
    NN_OK_OR_FAIL(train(&w));
    ck_assert_int_eq(k.allocs - k.frees, base + 1);
    world_free(&w);
    TU_ASSERT_BALANCED(&k);
    free(r);
}
END_TEST

/* A resumed run whose one block is refused: NN_ERR_NOMEM, nothing
 * changed, the progress kept; allowed, the resume ends as the reference. */
START_TEST(test_resume_nomem)
{
    const cfg *c = &CFGS[1];
    ref f;
    ref_run(c, &f);
    tu_counter k = {0};
    nn_allocator al = tu_allocator(&k);
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    world w;
    world_make(&w, c, r);
    nn_trainer_destroy(w.tr);
    NN_OK_OR_FAIL(nn_trainer_create(&w.tr, &al));
    set_trainer(w.tr, c);
    NN_OK_OR_FAIL(nn_trainer_set_report(w.tr, on_report, r));
    r->tr = w.tr;
    r->act = (point){AT_BATCH, 17};
    NN_OK_OR_FAIL(train(&w));
    seti(w.tr, NN_TRAIN_RESUME, 1);
    size_t n;
    double *s = state_copy(&w, &n);
    long live = k.allocs - k.frees;
    k.fail_at = k.attempts + 1;
    ck_assert_int_eq(train(&w), NN_ERR_NOMEM);
    k.fail_at = 0;
    ck_assert_int_eq(k.allocs - k.frees, live);
    expect_state(&w, s, n);
    ck_assert_int_eq(tu_geti(w.tr, NN_TRAIN_PAUSED), 1);
    NN_OK_OR_FAIL(train(&w));
    unsigned char *b = model_bytes(&w, &n);
    ck_assert(n == f.n && memcmp(b, f.model, n) == 0);
    same_reports(r, f.r);
    free(b);
    free(s);
    free(r);
    world_free(&w);
    TU_ASSERT_BALANCED(&k);
    ref_free(&f);
}
END_TEST

/* Loading with allocations failing one by one (the trainer's: the best
 * copy; the net's: everything else): NN_ERR_NOMEM, nothing changed, no
 * leak; the progress held before stays usable. */
START_TEST(test_load_nomem)
{
    size_t n, o;
    unsigned char *b = a_checkpoint(&n, &o);
    for (int which = 0; which < 2; which++) {
        long i;
        for (i = 1; i < 64; i++) {
            tu_counter kt = {0}, kn = {0};
            nn_allocator at = tu_allocator(&kt), an = tu_allocator(&kn);
            nn_trainer_t *t = NULL;
            NN_OK_OR_FAIL(nn_trainer_create(&t, &at));
            tu_counter *k = which ? &kn : &kt;
            k->fail_at = k->attempts + i;
            nn_net_t *net = NULL;
            nn_optim_t *opt = NULL;
            nn_status st = nn_checkpoint_load_mem(b, n, &net, &opt, t, &an,
                                                  NULL);
            k->fail_at = 0;
            bool done = k->refused == 0;
            if (done) {
                NN_OK_OR_FAIL(st);
                nn_optim_destroy(opt);
                nn_net_destroy(net);
            } else {
                ck_assert_int_eq(st, NN_ERR_NOMEM);
                ck_assert_ptr_null(net);
                ck_assert_ptr_null(opt);
                size_t size = 0;
                nn_net_t *n2 = make_net(&CFGS[1], 6);
                nn_optim_t *o2 = make_opt(&CFGS[1], n2);
                ck_assert_int_eq(nn_checkpoint_save_mem(n2, o2, t, NULL, 0,
                                                        &size), NN_ERR_STATE);
                nn_optim_destroy(o2);
                nn_net_destroy(n2);
            }
            nn_trainer_destroy(t);
            TU_ASSERT_BALANCED(&kt);
            TU_ASSERT_BALANCED(&kn);
            if (done) break;
        }
        ck_assert_int_gt(i, 1);
        ck_assert_int_lt(i, 64);
    }
    /* saving to a file: the bytes come from the net's allocator */
    tu_counter kn = {0};
    nn_allocator an = tu_allocator(&kn);
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_checkpoint_load_mem(b, n, &net, &opt, t, &an, NULL));
    char path[64];
    snprintf(path, sizeof path, "/tmp/nn-ckpt-nomem-%ld.nnm", (long)getpid());
    kn.fail_at = kn.attempts + 1;
    ck_assert_int_eq(nn_checkpoint_save(path, net, opt, t, NULL),
                     NN_ERR_NOMEM);
    kn.fail_at = 0;
    ck_assert_int_ne(access(path, F_OK), 0);
    NN_OK_OR_FAIL(nn_checkpoint_save(path, net, opt, t, NULL));
    nn_net_t *n3 = NULL;
    nn_optim_t *o3 = NULL;
    NN_OK_OR_FAIL(nn_checkpoint_load(path, &n3, &o3, t, NULL, NULL));
    unlink(path);
    nn_optim_destroy(o3);
    nn_net_destroy(n3);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_trainer_destroy(t);
    TU_ASSERT_BALANCED(&kn);
    free(b);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_resume_bitwise, 0, (int)NCFG);
    tcase_add_test(tc, test_configs_cover);
    tcase_add_test(tc, test_resume_more_epochs);
    suite_add_tcase(s, tc);
    tc = tcase_create("refusals");
    tcase_add_test(tc, test_resume_without_progress);
    tcase_add_test(tc, test_resume_mismatch);
    tcase_add_test(tc, test_resume_failure_keeps_progress);
    tcase_add_test(tc, test_checkpoint_save_calls);
    tcase_add_test(tc, test_checkpoint_load_calls);
    tcase_add_test(tc, test_checkpoint_in_callback);
    suite_add_tcase(s, tc);
    tc = tcase_create("bytes");
    tcase_add_test(tc, test_truncated_and_flipped);
    tcase_add_test(tc, test_hostile_progress);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_paused_memory);
    tcase_add_test(tc, test_resume_nomem);
    tcase_add_test(tc, test_load_nomem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(checkpoint_suite()); }
