/* train.c — the trainer object and its mini-batch loop: shuffling, a
 * validation split, learning-rate schedules and warm-up, per-epoch
 * validation, batch and epoch reports, a gradient hook, early stopping with
 * restoration of the best weights, and rollback of a run that fails.
 *
 * Targets are the data's class labels (int32) or its dense m x k targets:
 * each batch gathers its rows of X and of the labels / Y into buffers of one
 * batch, and the step is nn_net_train_step* (fused dgemm update for plain
 * SGD) or, with a gradient hook, nn_net_gradient* + hook + nn_optim_step.
 *
 * Randomness: one generator owned by the call, seeded with NN_TRAIN_SEED; it
 * first draws the validation split (when val == NULL and val_fraction > 0),
 * then one Fisher–Yates shuffle of the training rows per epoch (if shuffle).
 * The split holds out n_val = round(val_fraction * m) rows chosen by
 * selection sampling (Knuth's algorithm S), so both parts keep the data's
 * order; each part must get at least one row (else NN_ERR_INVALID).
 *
 * Threads (NN_TRAIN_THREADS = T): for T >= 1 the BLAS runs one thread for
 * the run (blas_pin, restored at the end); for T >= 2 a team of workers
 * (batchpar.c, on pool.c's threads, made with the run's memory) takes the
 * steps (team_step), a sharded run's part of each batch (shard_gradient,
 * then nn__team_update) and the validation (val_sums); the rest of the
 * loop, the callbacks and the hook stay on the calling thread.
 *
 * Memory: the net's training workspace is reserved for one batch, and one
 * block from the trainer's allocator holds an execution context of one batch
 * (for validation, placed with nn_ctx_create_in), the gathered batch
 * (B x n features, B x k targets or B labels), the row order (m indices:
 * training rows, then validation rows), a copy of the parameters and
 * optimizer state at the call (to undo a run that fails part way), and, with
 * validation and restore_best, a copy of the best parameters; with workers,
 * the team's memory instead of the net's workspace. Nothing is allocated
 * per step or per epoch.
 *
 * Rates, with e the 0-based epoch, t the 0-based global step and
 * T = epochs * ceil(m_train / batch) the steps planned:
 *   CONSTANT: lr0;  STEP: lr0 * gamma^floor(e / step_epochs);
 *   COSINE:   lr_min + (lr0 - lr_min) * (1 + cos(pi t / T)) / 2;
 *   warm-up W > 0: that rate times min(1, (t+1)/W).
 * A rate that rounds to 0 (underflow) is replaced by lr_min if positive, else
 * by DBL_MIN, so the optimizer always receives a valid rate.
 *
 * train_loss is the mean loss per row over the batches so far: a batch adds
 * loss_b * m_b under NN_REDUCE_MEAN and loss_b (already a sum) under
 * NN_REDUCE_SUM, and the total is divided by the rows. Early stopping: the
 * validation loss must strictly decrease to count as better (a NaN never
 * does); after `patience` epochs in a row without improvement training
 * stops. stopped_early is set when patience or the callback ends the run
 * before all planned batches ran.
 *
 * Errors: argument errors are found before anything changes. A failure part
 * way (NN_ERR_NUMERIC from check-finite, a hook's status) restores the
 * parameters, the optimizer's state, step count and learning rate, and the
 * net's dropout generator as they were at the call; the gradient array holds
 * what the failed batch left there and is not current. The trainer's results
 * keep those of its previous run.
 *
 * Pausing and resuming: a report callback's NN_REPORT_PAUSE ends the run at
 * once without restoring the best weights, and the trainer keeps the run's
 * progress (nn__progress: epoch, batch, the epoch's loss sums, the global
 * step, the early-stopping state, fingerprints) with the best copy in the
 * run's own block, which it then keeps instead of freeing (so nothing is
 * allocated at the end of a run, where a failure could not be undone).
 * NN_TRAIN_RESUME continues it: the generator draws the split and the
 * shuffles of the epochs ended without training, the first epoch skips the
 * batches done, and the step, rate, loss sums, best loss and copy, and
 * patience count go on from the progress, so every later step sees exactly
 * the numbers the run never paused would. While a run is in progress the
 * trainer points to it (live), so a checkpoint written from the callback
 * holds the progress at that report. */
#include "nn_private.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

static const double PI = 3.14159265358979323846;

/* Settings keys are NN_TRAIN_EPOCHS .. NN_TRAIN_THREADS; both value arrays
 * are indexed by key - NN_TRAIN_EPOCHS (each key uses one of them). */
#define KEY0 NN_TRAIN_EPOCHS
#define KEY_LAST NN_TRAIN_THREADS
#define NSET (KEY_LAST - NN_TRAIN_EPOCHS + 1)
#define IV(tr, key) ((tr)->iv[(key) - KEY0])
#define RV(tr, key) ((tr)->rv[(key) - KEY0])
/* Counts (epochs, rows, steps) are stored as size_t. */
#define COUNT_MAX \
    ((uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? (int64_t)SIZE_MAX : INT64_MAX)

typedef struct results {
    size_t epochs_run, best_epoch, steps_run;
    int32_t stopped_early, paused;
    double best_val_loss, final_loss, seconds;
} results;

struct nn_trainer {
    nn_allocator al;
    int64_t iv[NSET];
    double rv[NSET];
    nn_report_fn report;
    void *report_ctx;
    nn_grad_hook_fn hook;
    void *hook_ctx;
    size_t shard, shards; /* this process's part of a data-parallel run */
    nn_allsum_fn allsum;  /* NULL: not sharded                          */
    void *allsum_ctx;
    results res; /* of the last successful run */
    bool have;           /* held: a paused run's or a checkpoint's progress */
    nn__progress held;
    void *held_mem;      /* the storage of held.best, or NULL */
    size_t held_bytes;
    struct run *live;    /* the run in progress (during nn_train) */
};

/* ------------------------------------------------------------ settings */
static bool is_real_key(int32_t key)
{
    return key == NN_TRAIN_VAL_FRACTION || key == NN_TRAIN_GAMMA ||
           key == NN_TRAIN_LR_MIN;
}

static bool is_int_key(int32_t key)
{
    return key >= KEY0 && key <= KEY_LAST && !is_real_key(key);
}

/* The bounds are params.c's (those nn_param_info reports); counts must
 * also fit the size_t they are used as (only narrower on 32-bit hosts). */
static bool int_valid(int32_t key, int64_t v)
{
    if (nn__param_check_int(NN_TRAIN_EPOCHS, key, v)) return false;
    return key == NN_TRAIN_SEED || (uint64_t)v <= (uint64_t)COUNT_MAX;
}

static void set_defaults(nn_trainer_t *tr)
{
    IV(tr, NN_TRAIN_EPOCHS) = 10;
    IV(tr, NN_TRAIN_BATCH_SIZE) = 64;
    IV(tr, NN_TRAIN_SHUFFLE) = 1;
    IV(tr, NN_TRAIN_SEED) = 0;
    RV(tr, NN_TRAIN_VAL_FRACTION) = 0.0;
    IV(tr, NN_TRAIN_PATIENCE) = 0;
    IV(tr, NN_TRAIN_RESTORE_BEST) = 1;
    IV(tr, NN_TRAIN_SCHEDULE) = NN_SCHED_CONSTANT;
    RV(tr, NN_TRAIN_GAMMA) = 0.1;
    IV(tr, NN_TRAIN_STEP_EPOCHS) = 10;
    RV(tr, NN_TRAIN_LR_MIN) = 0.0;
    IV(tr, NN_TRAIN_WARMUP_STEPS) = 0;
    IV(tr, NN_TRAIN_REPORT_EVERY) = 0;
    IV(tr, NN_TRAIN_RESUME) = 0;
    IV(tr, NN_TRAIN_THREADS) = 0;
    tr->shards = 1;
    tr->res = (results){.best_val_loss = NAN, .final_loss = NAN,
                        .seconds = NAN};
}

nn_status nn_trainer_create(nn_trainer_t **out, const nn_allocator *alloc)
{
    if (!out) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_trainer_t *tr = nn__alloc(&al, sizeof *tr);
    if (!tr) return NN_ERR_NOMEM;
    memset(tr, 0, sizeof *tr);
    tr->al = al;
    set_defaults(tr);
    *out = tr;
    return NN_OK;
}

void nn_trainer_destroy(nn_trainer_t *trainer)
{
    if (!trainer) return;
    nn_allocator al = trainer->al;
    nn__free(&al, trainer->held_mem, trainer->held_bytes);
    nn__free(&al, trainer, sizeof *trainer);
}

nn_status nn_trainer_set_int(nn_trainer_t *trainer, int32_t key,
                             int64_t value)
{
    if (!trainer || !is_int_key(key) || !int_valid(key, value))
        return NN_ERR_INVALID;
    IV(trainer, key) = value;
    return NN_OK;
}

nn_status nn_trainer_get_int(const nn_trainer_t *trainer, int32_t key,
                             int64_t *value)
{
    if (!trainer || !value) return NN_ERR_INVALID;
    const results *r = &trainer->res;
    switch (key) {
    case NN_TRAIN_EPOCHS_RUN: *value = (int64_t)r->epochs_run; break;
    case NN_TRAIN_BEST_EPOCH: *value = (int64_t)r->best_epoch; break;
    case NN_TRAIN_STOPPED_EARLY: *value = r->stopped_early; break;
    case NN_TRAIN_STEPS_RUN: *value = (int64_t)r->steps_run; break;
    case NN_TRAIN_PAUSED: *value = r->paused; break;
    default:
        if (!is_int_key(key)) return NN_ERR_INVALID;
        *value = IV(trainer, key);
    }
    return NN_OK;
}

nn_status nn_trainer_set_real(nn_trainer_t *trainer, int32_t key,
                              double value)
{
    if (!trainer || !is_real_key(key) ||
        nn__param_check_real(NN_TRAIN_EPOCHS, key, value))
        return NN_ERR_INVALID;
    RV(trainer, key) = value;
    return NN_OK;
}

nn_status nn_trainer_get_real(const nn_trainer_t *trainer, int32_t key,
                              double *value)
{
    if (!trainer || !value) return NN_ERR_INVALID;
    const results *r = &trainer->res;
    switch (key) {
    case NN_TRAIN_BEST_VAL_LOSS: *value = r->best_val_loss; break;
    case NN_TRAIN_FINAL_LOSS: *value = r->final_loss; break;
    case NN_TRAIN_SECONDS: *value = r->seconds; break;
    default:
        if (!is_real_key(key)) return NN_ERR_INVALID;
        *value = RV(trainer, key);
    }
    return NN_OK;
}

nn_status nn_trainer_set_report(nn_trainer_t *trainer, nn_report_fn fn,
                                void *ctx)
{
    if (!trainer) return NN_ERR_INVALID;
    trainer->report = fn;
    trainer->report_ctx = ctx;
    return NN_OK;
}

nn_status nn_trainer_set_grad_hook(nn_trainer_t *trainer, nn_grad_hook_fn fn,
                                   void *ctx)
{
    if (!trainer) return NN_ERR_INVALID;
    trainer->hook = fn;
    trainer->hook_ctx = ctx;
    return NN_OK;
}

nn_status nn_trainer_set_shards(nn_trainer_t *trainer, size_t index,
                                size_t count, nn_allsum_fn allsum, void *ctx)
{
    if (!trainer || count == 0 || index >= count || (count > 1 && !allsum))
        return NN_ERR_INVALID;
    trainer->shard = index;
    trainer->shards = count;
    trainer->allsum = allsum;
    trainer->allsum_ctx = allsum ? ctx : NULL;
    return NN_OK;
}

/* ------------------------------------------------------------ a run */
/* Progress through one epoch. */
typedef struct epoch_acc {
    size_t e, b, rows; /* 0-based epoch, batches and rows done */
    double sum, t0;    /* sum of per-row losses; start time */
} epoch_acc;

typedef struct run {
    const nn_trainer_t *tr;
    nn_net_t *net;
    nn_optim_t *opt;
    nn__dview tv, vv;     /* training data; validation set (vv.m 0: none)  */
    size_t n, k;          /* features; target columns (0: labels)           */
    size_t epochs, m_tr, n_val; /* training rows; rows split off            */
    size_t B, batches, T; /* batch capacity; batches per epoch; steps planned */
    size_t P, S;          /* parameters; optimizer state length             */
    bool split, have_val, keep_best;
    double lr0;
    /* memory */
    nn__team *team;       /* batch-parallel workers, or NULL */
    nn_ctx_t *ctx;
    void *block;
    size_t bytes;
    double *gx, *gy, *best, *backup; /* backup: P params then S state */
    int32_t *gl;
    size_t *rows, *val_rows;         /* training order; split-off rows */
    /* the state at the call, for a rollback */
    uint64_t steps0, drop_seed0, drop_step0;
    int64_t red0, row0_0; /* the net's reduction and dropout row offset */
    /* progress */
    nn_rng rng;
    size_t t;        /* steps taken */
    double lr;       /* rate of the last step */
    double best_val; /* best validation loss so far */
    size_t bad;      /* epochs in a row without a better one */
    results res;
    epoch_acc acc;    /* the epoch in progress */
    bool epoch_done;  /* acc.e has ended (its report, or after it) */
    double last_loss; /* train loss of the last epoch ended */
    bool resume, paused;
    uint64_t fp_set, fp_data; /* fingerprints of the settings and data */
    bool have_fp_data;        /* fp_data computed (once, when needed) */
} run;

static double now_s(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Uniform index in [0, n), n >= 1. */
static size_t rng_index(nn_rng *r, size_t n)
{
    size_t j = (size_t)(nn__rng_uniform(r) * (double)n);
    return j < n ? j : n - 1;
}

/* The data: both sets fit net and have the same kind of targets. */
static nn_status check_data(run *r, const nn_data_t *train,
                            const nn_data_t *val)
{
    nn__data_view(train, &r->tv);
    nn_status st = nn__check_fit(r->net, &r->tv);
    if (st) return st;
    if (val) {
        nn__data_view(val, &r->vv);
        st = nn__check_fit(r->net, &r->vv);
        if (st) return st;
        if ((r->vv.labels != NULL) != (r->tv.labels != NULL))
            return NN_ERR_INVALID;
    }
    r->n = r->tv.n;
    r->k = r->tv.labels ? 0 : r->tv.k;
    return NN_OK;
}

/* Everything the run needs to know, checked before anything changes. */
static nn_status run_setup(run *r, nn_trainer_t *tr, nn_net_t *net,
                           nn_optim_t *opt, const nn_data_t *train,
                           const nn_data_t *val)
{
    memset(r, 0, sizeof *r);
    if (!tr || !net || !opt || !train) return NN_ERR_INVALID;
    r->tr = tr;
    r->net = net;
    r->opt = opt;
    nn_status st = check_data(r, train, val);
    if (st) return st;
    if (!nn__optim_fits(opt, net)) return NN_ERR_SHAPE;
    const size_t m = r->tv.m;
    const double frac = RV(tr, NN_TRAIN_VAL_FRACTION);
    r->split = !val && frac > 0.0;
    if (r->split) {
        r->n_val = (size_t)nearbyint(frac * (double)m); /* in [0, m] */
        if (r->n_val < 1 || r->n_val >= m) return NN_ERR_INVALID;
    }
    r->have_val = val || r->split;
    if (IV(tr, NN_TRAIN_PATIENCE) > 0 && !r->have_val) return NN_ERR_INVALID;
    r->keep_best = r->have_val && IV(tr, NN_TRAIN_RESTORE_BEST);
    r->epochs = (size_t)IV(tr, NN_TRAIN_EPOCHS);
    r->m_tr = m - r->n_val;
    size_t batch = (size_t)IV(tr, NN_TRAIN_BATCH_SIZE);
    r->B = batch < r->m_tr ? batch : r->m_tr;
    r->batches = (r->m_tr - 1) / r->B + 1;
    if (!nn__mul(r->batches, r->epochs, &r->T)) return NN_ERR_TOO_LARGE;
    st = nn_optim_get_real(opt, NN_OPTIM_LR, &r->lr0);
    if (!st) st = nn_net_get_int(net, NN_NET_REDUCTION, &r->red0);
    if (!st) st = nn_net_get_int(net, NN_NET_DROPOUT_ROW0, &r->row0_0);
    r->P = nn_net_n_params(net);
    r->S = nn_optim_state_len(opt);
    return st;
}

/* ------------------------------------------------------------ fingerprints */
/* 64-bit fingerprints of what shapes a run's trajectory besides the net and
 * optimizer state, compared when a run resumes. One multiply-rotate round
 * per 64-bit word and a splitmix64 finish; they catch a changed setting or
 * data set, not an adversary. The data's is a pass over every value, so it
 * is computed only when a run resumes or its progress is kept or saved. */
static uint64_t fp_word(uint64_t h, uint64_t w)
{
    h ^= w * 0x9E3779B97F4A7C15u;
    h = (h << 27 | h >> 37) * 0xC2B2AE3D27D4EB4Fu;
    return h + 0x165667B19E3779F9u;
}

static uint64_t fp_reals(uint64_t h, const double *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, &p[i], sizeof w);
        h = fp_word(h, w);
    }
    return h;
}

static uint64_t fp_end(uint64_t h)
{
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9u;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBu;
    return h ^ (h >> 31);
}

/* Every setting but EPOCHS (a resumed run may change it), REPORT_EVERY and
 * RESUME, then the optimizer's kind and the base rate lr0. */
static uint64_t fp_settings(const run *r)
{
    const nn_trainer_t *tr = r->tr;
    uint64_t h = fp_word(0, 1); /* the version of this rule */
    for (int32_t key = NN_TRAIN_BATCH_SIZE; key <= NN_TRAIN_WARMUP_STEPS;
         key++)
        h = is_real_key(key) ? fp_reals(h, &RV(tr, key), 1)
                             : fp_word(h, (uint64_t)IV(tr, key));
    int64_t kind = 0;
    nn_optim_get_int(r->opt, NN_OPTIM_KIND, &kind);
    h = fp_word(h, (uint64_t)kind);
    return fp_end(fp_reals(h, &r->lr0, 1));
}

/* A data set's shape, kind of targets and every value (v->m 0: none). */
static uint64_t fp_view(uint64_t h, const nn__dview *v)
{
    h = fp_word(fp_word(fp_word(h, v->m), v->n), v->k);
    h = fp_word(h, v->labels ? 1 : 0);
    h = fp_reals(h, v->X, v->m * v->n);
    if (v->labels)
        for (size_t i = 0; i < v->m; i++)
            h = fp_word(h, (uint64_t)(uint32_t)v->labels[i]);
    else if (v->Y)
        h = fp_reals(h, v->Y, v->m * v->k);
    return h;
}

static uint64_t fp_data(run *r)
{
    if (!r->have_fp_data)
        r->fp_data = fp_end(fp_view(fp_view(fp_word(0, 1), &r->tv), &r->vv));
    r->have_fp_data = true;
    return r->fp_data;
}

/* ------------------------------------------------------------ resuming */
/* Whether progress p can be this run's: its counts against the batches
 * per epoch, the epochs planned (not fewer than those begun) and the
 * rows; the early-stopping state against the validation settings. A
 * fingerprinted progress meets them all; a hand-made one may not. */
static bool progress_fits(const run *r, const nn__progress *p)
{
    const uint64_t nb = r->batches;
    if (p->batch > nb || p->epoch > r->epochs ||
        (p->batch > 0 && p->epoch == r->epochs))
        return false;
    uint64_t rows = p->batch == nb ? r->m_tr : p->batch * r->B;
    if (p->rows != rows || p->step != p->epoch * nb + p->batch) return false;
    bool best = r->keep_best && p->best_epoch > 0;
    if (p->n_best != (best ? r->P : 0)) return false;
    if (!r->have_val) return p->best_epoch == 0 && p->bad == 0;
    return p->best_epoch <= p->epoch && p->bad == p->epoch - p->best_epoch;
}

/* NN_TRAIN_RESUME: the trainer must hold a progress of this very run. */
static nn_status check_resume(run *r)
{
    const nn_trainer_t *tr = r->tr;
    r->fp_set = fp_settings(r);
    r->resume = IV(tr, NN_TRAIN_RESUME) != 0;
    if (!r->resume) return NN_OK;
    if (!tr->have) return NN_ERR_STATE;
    const nn__progress *p = &tr->held;
    if (p->fp_settings != r->fp_set || p->n_params != r->P ||
        !progress_fits(r, p) || p->fp_data != fp_data(r))
        return NN_ERR_INVALID;
    return NN_OK;
}

/* The block's size: the context (cb bytes, a multiple of sizeof(double)),
 * the doubles (gx, gy, best, backup: *nd of them), the row order (size_t),
 * then the gathered labels (int32), each part keeping the alignment of the
 * next. */
static bool block_bytes(const run *r, size_t cb, size_t *nd, size_t *bytes)
{
    size_t bx, by, bd, bz, bl;
    size_t nl = r->k ? 0 : r->B;
    if (!nn__mul(r->B, r->n, &bx) || !nn__mul(r->B, r->k, &by) ||
        !nn__add(bx, by, nd) || !nn__add(*nd, r->keep_best ? r->P : 0, nd) ||
        !nn__add(*nd, r->P, nd) || !nn__add(*nd, r->S, nd))
        return false;
    return nn__mul(*nd, sizeof(double), &bd) &&
           nn__mul(r->tv.m, sizeof(size_t), &bz) &&
           nn__mul(nl, sizeof(int32_t), &bl) && nn__add(cb, bd, bytes) &&
           nn__add(*bytes, bz, bytes) && nn__add(*bytes, bl, bytes);
}

/* NN_TRAIN_THREADS >= 2, and batches of 2 rows or more: the workers
 * (batchpar.c), at most one per row of a batch. */
static nn_status team_alloc(run *r)
{
    size_t T = (size_t)IV(r->tr, NN_TRAIN_THREADS);
    if (T < 2 || r->B < 2) return NN_OK;
    return nn__team_create(&r->team, r->net, T, r->B, r->k, &r->tr->al);
}

/* The one block (context first), the workers, then the net's workspace. */
static nn_status run_alloc(run *r)
{
    size_t cb, nd;
    nn_status st = nn_ctx_size(r->net, r->B, &cb);
    if (st) return st;
    if (!nn__add(cb, sizeof(double) - 1, &cb)) return NN_ERR_TOO_LARGE;
    cb -= cb % sizeof(double);
    if (!block_bytes(r, cb, &nd, &r->bytes)) return NN_ERR_TOO_LARGE;
    /* the block first: a refused block must not leave the net's workspace
     * grown (a failed call changes nothing) */
    r->block = nn__alloc(&r->tr->al, r->bytes);
    if (!r->block) return NN_ERR_NOMEM;
    /* the allocator's memory is aligned for double, as the context needs */
    st = nn_ctx_create_in(&r->ctx, r->net, r->B, r->block, cb);
    if (!st) st = team_alloc(r);
    /* the workers have workspaces of their own */
    if (!st && !r->team) st = nn_net_reserve(r->net, r->B);
    if (st) {
        nn__team_destroy(r->team);
        r->team = NULL;
        nn__free(&r->tr->al, r->block, r->bytes);
        return st;
    }
    double *d = (double *)((char *)r->block + cb);
    r->gx = d;
    r->gy = d + r->B * r->n;
    r->best = r->gy + r->B * r->k;
    r->backup = r->best + (r->keep_best ? r->P : 0);
    r->rows = (size_t *)(d + nd);
    r->val_rows = r->rows + r->m_tr;
    r->gl = (int32_t *)(r->rows + r->tv.m);
    return NN_OK;
}

static void run_free(run *r)
{
    nn__team_destroy(r->team);
    nn_ctx_destroy(r->ctx); /* in our block: only forgotten */
    nn__free(&r->tr->al, r->block, r->bytes);
}

/* Save what a rollback restores, then draw the split (algorithm S: row i
 * goes to validation with probability need/left) or take the rows in order. */
static void run_begin(run *r)
{
    memcpy(r->backup, nn_net_params(r->net), r->P * sizeof(double));
    if (r->S)
        memcpy(r->backup + r->P, nn__optim_state(r->opt),
               r->S * sizeof(double));
    r->steps0 = nn__optim_steps(r->opt);
    nn__net_get_drop_state(r->net, &r->drop_seed0, &r->drop_step0);
    r->res = (results){.best_val_loss = NAN, .final_loss = NAN};
    r->best_val = INFINITY;
    r->last_loss = NAN;
    nn__rng_seed(&r->rng, (uint64_t)IV(r->tr, NN_TRAIN_SEED));
    const size_t m = r->tv.m;
    size_t need = r->n_val, nt = 0, nv = 0;
    for (size_t i = 0; i < m; i++) {
        size_t left = m - i;
        bool take = need > 0 && (need == left ||
                                 nn__rng_uniform(&r->rng) * (double)left <
                                     (double)need);
        if (take) {
            r->val_rows[nv++] = i;
            need--;
        } else {
            r->rows[nt++] = i;
        }
    }
}

/* One Fisher–Yates shuffle of the training rows, in place: the order of
 * epoch e is that of epoch e-1 shuffled once more. */
static void shuffle_rows(run *r)
{
    size_t *tr = r->rows;
    for (size_t i = r->m_tr - 1; i > 0; i--) {
        size_t j = rng_index(&r->rng, i + 1), tmp = tr[i];
        tr[i] = tr[j];
        tr[j] = tmp;
    }
}

/* A resumed run (after run_begin's split): the progress's counts, sums and
 * early-stopping state, the best copy, and the shuffles of the epochs
 * ended, drawn again without training; epoch p->epoch's own shuffle comes
 * in run_epochs as in any epoch. */
static void resume_begin(run *r)
{
    const nn__progress *p = &r->tr->held;
    r->t = (size_t)p->step;
    r->lr = p->lr;
    r->best_val = p->best_val;
    r->bad = (size_t)p->bad;
    r->last_loss = p->final_loss;
    r->res.epochs_run = (size_t)p->epoch;
    r->res.best_epoch = (size_t)p->best_epoch;
    r->res.best_val_loss = p->best_epoch ? p->best_val : NAN;
    r->res.final_loss = p->final_loss;
    if (p->n_best) memcpy(r->best, p->best, r->P * sizeof(double));
    r->acc = (epoch_acc){.e = (size_t)p->epoch, .b = (size_t)p->batch,
                         .rows = (size_t)p->rows, .sum = p->loss_sum};
    if (IV(r->tr, NN_TRAIN_SHUFFLE))
        for (uint64_t e = 0; e < p->epoch; e++) shuffle_rows(r);
}

/* The progress of the run as it stands (consistent at every report). */
static void run_progress(run *r, nn__progress *p)
{
    const epoch_acc *a = &r->acc;
    const bool done = r->epoch_done;
    *p = (nn__progress){.epoch = done ? a->e + 1 : a->e,
                        .batch = done ? 0 : a->b,
                        .rows = done ? 0 : a->rows,
                        .loss_sum = done ? 0.0 : a->sum,
                        .step = r->t,
                        .lr = r->lr,
                        .best_epoch = r->res.best_epoch,
                        .best_val = r->best_val,
                        .bad = r->bad,
                        .final_loss = r->last_loss,
                        .fp_settings = r->fp_set,
                        .fp_data = fp_data(r),
                        .n_params = r->P,
                        .lr0 = r->lr0,
                        .reduction = (int32_t)r->red0};
    if (r->keep_best && r->res.best_epoch > 0) {
        p->n_best = r->P;
        p->best = r->best;
    }
}

/* Undo a failed run: parameters, optimizer state, steps and rate, dropout
 * generator as at the call. The optimizer state is copied raw, not through
 * nn_optim_set_state: the state at the call may hold Inf/NaN (an overflowed
 * moment, a loaded diverged run), which set_state would refuse. */
static void run_rollback(run *r)
{
    memcpy(nn_net_params(r->net), r->backup, r->P * sizeof(double));
    if (r->S)
        memcpy(nn__optim_state_mut(r->opt), r->backup + r->P,
               r->S * sizeof(double));
    nn__optim_set_steps(r->opt, r->steps0);
    nn_optim_set_real(r->opt, NN_OPTIM_LR, r->lr0); /* lr0 was valid */
    nn__net_set_drop_state(r->net, r->drop_seed0, r->drop_step0);
    nn__net_set_has_grad(r->net, false); /* not a gradient of these params */
}

static double step_lr(const run *r, size_t e)
{
    const nn_trainer_t *tr = r->tr;
    const double lr0 = r->lr0, lr_min = RV(tr, NN_TRAIN_LR_MIN);
    double lr = lr0;
    if (IV(tr, NN_TRAIN_SCHEDULE) == NN_SCHED_STEP) {
        size_t k = e / (size_t)IV(tr, NN_TRAIN_STEP_EPOCHS);
        lr = lr0 * pow(RV(tr, NN_TRAIN_GAMMA), (double)k);
    } else if (IV(tr, NN_TRAIN_SCHEDULE) == NN_SCHED_COSINE) {
        double c = cos(PI * (double)r->t / (double)r->T);
        lr = lr_min + (lr0 - lr_min) * (1.0 + c) / 2.0;
    }
    size_t W = (size_t)IV(tr, NN_TRAIN_WARMUP_STEPS);
    if (r->t < W) lr *= (double)(r->t + 1) / (double)W;
    if (!(lr > 0.0) || !isfinite(lr)) lr = lr_min > 0.0 ? lr_min : DBL_MIN;
    return lr;
}

/* Gather rows[0..mb-1] of the set v into the batch buffers. */
static void gather(run *r, const nn__dview *v, const size_t *rows, size_t mb)
{
    nn__gather_rows(v, rows, mb, r->gx, r->k ? (void *)r->gy : r->gl);
}

/* ------------------------------------------------------------ shards */
/* Rows [*lo, *hi) of an m-row batch that are this shard's: a balanced split
 * in order, the first m % count shards taking one row more. */
static void shard_range(const nn_trainer_t *tr, size_t m, size_t *lo,
                        size_t *hi)
{
    size_t q = m / tr->shards, rem = m % tr->shards, i = tr->shard;
    *lo = q * i + (i < rem ? i : rem);
    *hi = *lo + q + (i < rem ? 1 : 0);
}

/* Agreement on a status: slot 0 counts the failed shards, slot c those that
 * failed with code c; every shard then returns the smallest failing code
 * (a code outside 1..NAGREE-2, which only a hook can return, is agreed as
 * NN_ERR_STATE). Without sharding, the local status itself. */
#define NAGREE 16
static nn_status agree(const nn_trainer_t *tr, nn_status local)
{
    if (!tr->allsum) return local;
    double v[NAGREE] = {0};
    if (local) {
        v[0] = 1.0;
        v[local > 0 && local < NAGREE - 1 ? local : NAGREE - 1] = 1.0;
    }
    nn_status st = tr->allsum(v, NAGREE, tr->allsum_ctx);
    if (st) return st;
    if (v[0] == 0.0) return NN_OK;
    for (int c = 1; c < NAGREE - 1; c++)
        if (v[c] > 0.0) return (nn_status)c;
    return NN_ERR_STATE;
}

/* The start of a sharded run: every shard set up (else the smallest
 * failing status everywhere), and a gradient hook on every shard or on none
 * (one agreement per step follows a hook: a hook on some shards only would
 * pair collectives of different steps); likewise NN_TRAIN_RESUME (shards
 * resuming at different points would pair different steps). */
static nn_status shard_setup(const nn_trainer_t *tr, nn_status local)
{
    nn_status st = agree(tr, local);
    if (st) return st;
    double v[3] = {tr->hook ? 1.0 : 0.0, 1.0,
                   IV(tr, NN_TRAIN_RESUME) ? 1.0 : 0.0};
    st = tr->allsum(v, 3, tr->allsum_ctx);
    if (!st && ((v[0] != 0.0 && v[0] != v[1]) ||
                (v[2] != 0.0 && v[2] != v[1])))
        st = NN_ERR_INVALID;
    return st;
}

/* A callback's answer: 0 go on, NN_REPORT_PAUSE pause, else stop. */
static void answer(const nn_trainer_t *tr, const nn_report *rep, bool *stop,
                   bool *pause)
{
    int32_t a = tr->report ? tr->report(rep, tr->report_ctx) : 0;
    *pause = a == NN_REPORT_PAUSE;
    *stop = a != 0;
}

/* Whether any shard asked to stop or to pause (the answer of every shard's
 * callback, which may differ between shards or be absent on some); a pause
 * anywhere pauses all, as it keeps a state a stop could still be made
 * from. */
static nn_status agree_stop(const run *r, bool *stop, bool *pause)
{
    const nn_trainer_t *tr = r->tr;
    if (!tr->allsum) return NN_OK;
    double v[2] = {*stop ? 1.0 : 0.0, *pause ? 1.0 : 0.0};
    nn_status st = tr->allsum(v, 2, tr->allsum_ctx);
    *pause = v[1] != 0.0;
    *stop = *pause || v[0] != 0.0;
    return st;
}

/* This shard's part (ml rows, from global row lo of the batch) of a step's
 * gradient, summed over its rows; a shard without rows contributes zeros
 * and moves its dropout stream on by the pass the others draw. */
static nn_status shard_gradient(run *r, const size_t *rows, size_t ml,
                                size_t lo, double *loss)
{
    nn_net_t *net = r->net;
    if (ml == 0) {
        uint64_t seed, step;
        memset(nn_net_grads(net), 0, r->P * sizeof(double));
        nn__net_get_drop_state(net, &seed, &step);
        nn__net_set_drop_state(net, seed, step + 1);
        *loss = 0.0;
        return NN_OK;
    }
    /* the offset at the call plays the role of row 0, as in one process */
    if (r->team) /* the part split again across this process's workers */
        return nn__team_gradient(r->team, &r->tv, rows, ml,
                                 (uint64_t)r->row0_0 + lo, 1.0, loss);
    gather(r, &r->tv, rows, ml);
    nn_status st = nn_net_set_int(net, NN_NET_DROPOUT_ROW0,
                                  r->row0_0 + (int64_t)lo);
    if (st) return st;
    const size_t n = r->n, k = r->k;
    return k ? nn_net_gradient(net, ml, NN_ROW_MAJOR, r->gx, n, r->gy, k, loss)
             : nn_net_gradient_labels(net, ml, NN_ROW_MAJOR, r->gx, n, r->gl,
                                      loss);
}

/* One step of a sharded run on the global batch rows[0..mb-1]: this
 * shard's gradient, ONE allsum over the gradient array and its spare
 * (loss, rows, failures), then the update, which every shard computes
 * from identical numbers. A failure anywhere is agreed before any update. */
static nn_status shard_step(run *r, size_t e, const size_t *rows, size_t mb,
                            double *loss)
{
    const nn_trainer_t *tr = r->tr;
    size_t lo, hi;
    shard_range(tr, mb, &lo, &hi);
    r->lr = step_lr(r, e);
    nn_status st = nn_optim_set_real(r->opt, NN_OPTIM_LR, r->lr);
    double *g = nn_net_grads(r->net), *tail = g + r->P, l = 0.0;
    if (!st) st = shard_gradient(r, rows + lo, hi - lo, lo, &l);
    tail[0] = st ? 0.0 : l;
    tail[1] = (double)(hi - lo);
    tail[2] = st ? 1.0 : 0.0;
    nn_status sum_st = tr->allsum(g, r->P + 3, tr->allsum_ctx);
    if (sum_st) return sum_st;
    if (tail[2] != 0.0) return agree(tr, st ? st : NN_OK);
    if (tail[1] != (double)mb) return NN_ERR_STATE; /* shards disagree */
    *loss = tail[0];
    if (r->red0 == NN_REDUCE_MEAN) {
        double inv = 1.0 / (double)mb;
        for (size_t i = 0; i < r->P; i++) g[i] *= inv;
        *loss /= (double)mb;
    }
    nn__net_set_has_grad(r->net, true);
    if (tr->hook) {
        st = agree(tr, tr->hook(g, r->P, mb, loss, tr->hook_ctx));
        if (st) return st;
    }
    st = r->team ? nn__team_update(r->team, r->opt)
                 : nn_optim_step(r->opt, r->net);
    if (!st) r->t++;
    return st;
}

/* The sums (loss, correct) of `count` validation rows from row lo: of the
 * validation set, or of the split-off rows; through the workers if any. */
static nn_status val_sums(run *r, size_t lo, size_t count, double *loss,
                          double *correct)
{
    const bool own = r->vv.m != 0;
    nn__dview sub = r->vv;
    if (own) {
        sub.m = count;
        sub.X += lo * sub.n;
        if (sub.labels) sub.labels += lo;
        else sub.Y += lo * sub.k;
    }
    const nn__dview *v = own ? &sub : &r->tv;
    const size_t *rows = own ? NULL : r->val_rows + lo;
    if (r->team) return nn__team_eval(r->team, v, rows, count, loss, correct);
    void *gt = r->k ? (void *)r->gy : (void *)r->gl;
    return nn__eval_sums(r->net, r->ctx, v, rows, count, r->gx, gt, loss,
                         correct);
}

/* Sharded validation: this shard's part of the validation rows, summed. */
static nn_status shard_validate(run *r, double *loss, double *acc)
{
    size_t count = r->vv.m ? r->vv.m : r->n_val, lo, hi;
    shard_range(r->tr, count, &lo, &hi);
    double s[4] = {0.0, 0.0, (double)(hi - lo), 0.0}; /* loss, correct, rows */
    nn_status st = hi > lo ? val_sums(r, lo, hi - lo, &s[0], &s[1]) : NN_OK;
    s[3] = st ? 1.0 : 0.0;
    nn_status sum_st = r->tr->allsum(s, 4, r->tr->allsum_ctx);
    if (sum_st) return sum_st;
    if (s[3] != 0.0) return agree(r->tr, st);
    if (s[2] != (double)count) return NN_ERR_STATE;
    *loss = s[0] / (double)count;
    *acc = r->k ? NAN : s[1] / (double)count;
    return NN_OK;
}

/* A step of the workers on rows[0..mb-1]: the same steps, the batch split
 * across them (the sums of the parts, then 1/mb under NN_REDUCE_MEAN). */
static nn_status team_step(run *r, const size_t *rows, size_t mb,
                           double *loss)
{
    const nn_trainer_t *tr = r->tr;
    double scale = r->red0 == NN_REDUCE_MEAN ? 1.0 / (double)mb : 1.0;
    uint64_t row0 = (uint64_t)r->row0_0;
    if (!tr->hook)
        return nn__team_step(r->team, r->opt, &r->tv, rows, mb, row0, scale,
                             loss);
    nn_status st = nn__team_gradient(r->team, &r->tv, rows, mb, row0, scale,
                                     loss);
    if (!st) st = tr->hook(nn_net_grads(r->net), r->P, mb, loss, tr->hook_ctx);
    return st ? st : nn__team_update(r->team, r->opt);
}

/* One step on the batch rows[0..mb-1], gathered: without a hook, the
 * one-call training step (fused for plain SGD); with one, gradient, hook,
 * update. */
static nn_status run_step(run *r, size_t e, const size_t *rows, size_t mb,
                          double *loss)
{
    nn_net_t *net = r->net;
    nn_optim_t *opt = r->opt;
    const nn_trainer_t *tr = r->tr;
    const size_t n = r->n, k = r->k;
    r->lr = step_lr(r, e);
    nn_status st = nn_optim_set_real(opt, NN_OPTIM_LR, r->lr);
    if (st) return st;
    if (r->team) {
        st = team_step(r, rows, mb, loss);
        if (!st) r->t++;
        return st;
    }
    gather(r, &r->tv, rows, mb);
    if (!tr->hook)
        st = k ? nn_net_train_step(net, opt, mb, NN_ROW_MAJOR, r->gx, n,
                                   r->gy, k, loss)
               : nn_net_train_step_labels(net, opt, mb, NN_ROW_MAJOR, r->gx,
                                          n, r->gl, loss);
    else {
        st = k ? nn_net_gradient(net, mb, NN_ROW_MAJOR, r->gx, n, r->gy, k,
                                 loss)
               : nn_net_gradient_labels(net, mb, NN_ROW_MAJOR, r->gx, n,
                                        r->gl, loss);
        if (!st) st = tr->hook(nn_net_grads(net), r->P, mb, loss, tr->hook_ctx);
        if (!st) st = nn_optim_step(opt, net);
    }
    if (!st) r->t++;
    return st;
}

static void report_fill(const run *r, const epoch_acc *a, int32_t kind,
                        nn_report *rep)
{
    *rep = (nn_report){.size = sizeof(nn_report),
                       .kind = kind,
                       .epoch = a->e + 1,
                       .epochs = r->epochs,
                       .batch = a->b,
                       .batches = r->batches,
                       .rows = a->rows,
                       .train_loss = a->sum / (double)a->rows,
                       .val_loss = NAN,
                       .val_accuracy = NAN,
                       .lr = r->lr,
                       .seconds = now_s() - a->t0};
}

/* Every NN_TRAIN_REPORT_EVERY batches: a batch report; a non-zero answer
 * (on any shard) ends the run at once, as if the epoch had ended there (no
 * validation). Shards agree on stopping even where no callback is set. */
static nn_status batch_report(run *r, const epoch_acc *a, bool *stop)
{
    const nn_trainer_t *tr = r->tr;
    size_t every = (size_t)IV(tr, NN_TRAIN_REPORT_EVERY);
    *stop = false;
    if ((!tr->report && !tr->allsum) || every == 0 || a->b % every != 0)
        return NN_OK;
    nn_report rep;
    bool pause = false;
    report_fill(r, a, NN_REPORT_BATCH, &rep);
    answer(tr, &rep, stop, &pause);
    nn_status st = agree_stop(r, stop, &pause);
    if (st || !*stop) return st;
    r->paused = pause;
    r->res.epochs_run = a->e + 1;
    r->res.final_loss = rep.train_loss;
    r->res.stopped_early = a->e + 1 < r->epochs || a->b < r->batches;
    return NN_OK;
}

/* The batches of epoch a->e (after its shuffle). */
static nn_status run_batches(run *r, epoch_acc *a, bool *stop)
{
    const bool sum_red = r->red0 == NN_REDUCE_SUM;
    /* a resumed epoch starts after the batches done */
    for (size_t start = a->b * r->B; start < r->m_tr; start += r->B) {
        size_t mb = r->m_tr - start < r->B ? r->m_tr - start : r->B;
        double loss = 0.0;
        nn_status st;
        if (r->tr->allsum) st = shard_step(r, a->e, r->rows + start, mb, &loss);
        else st = run_step(r, a->e, r->rows + start, mb, &loss);
        if (st) return st;
        /* per-row losses: a SUM batch loss already is their sum */
        a->sum += sum_red ? loss : loss * (double)mb;
        a->rows += mb;
        a->b++;
        st = batch_report(r, a, stop);
        if (st || *stop) return st;
    }
    return NN_OK;
}

/* Validation loss and accuracy after an epoch (NaN without validation). */
static nn_status run_validate(run *r, double *loss, double *acc)
{
    if (r->have_val && r->tr->allsum) return shard_validate(r, loss, acc);
    if (!r->have_val) {
        *loss = *acc = NAN;
        return NN_OK;
    }
    size_t count = r->vv.m ? r->vv.m : r->n_val;
    double sum = 0.0, correct = 0.0;
    nn_status st = val_sums(r, 0, count, &sum, &correct);
    if (st) return st;
    *loss = sum / (double)count;
    *acc = r->k ? NAN : correct / (double)count;
    return NN_OK;
}

/* Patience spent: that many epochs in a row without a better val loss. */
static bool patience_out(const run *r)
{
    size_t patience = (size_t)IV(r->tr, NN_TRAIN_PATIENCE);
    return patience > 0 && r->bad >= patience;
}

/* End of an epoch: best-weights bookkeeping, the epoch report, patience.
 * Sets *stop to stop (or pause). The progress is brought up to date before
 * the callback, which may save it. */
static nn_status epoch_end(run *r, const nn_report *rep, bool *stop_out)
{
    const nn_trainer_t *tr = r->tr;
    r->res.epochs_run = rep->epoch;
    r->res.final_loss = rep->train_loss;
    r->last_loss = rep->train_loss;
    r->epoch_done = true;
    if (r->have_val) {
        if (rep->val_loss < r->best_val) {
            r->best_val = rep->val_loss;
            r->res.best_epoch = rep->epoch;
            r->res.best_val_loss = rep->val_loss;
            r->bad = 0;
            if (r->keep_best)
                memcpy(r->best, nn_net_params(r->net), r->P * sizeof(double));
        } else {
            r->bad++;
        }
    }
    bool stop = false, pause = false;
    answer(tr, rep, &stop, &pause);
    nn_status st = agree_stop(r, &stop, &pause);
    if (st) return st;
    r->paused = pause;
    if (patience_out(r)) stop = true;
    if (stop) r->res.stopped_early = rep->epoch < r->epochs;
    *stop_out = stop;
    return NN_OK;
}

static nn_status run_epochs(run *r)
{
    const bool shuffle = IV(r->tr, NN_TRAIN_SHUFFLE) != 0;
    /* a run resumed from the epoch report that ran out of patience stops
     * where the run never paused stopped */
    if (r->resume && patience_out(r)) {
        r->res.stopped_early = r->acc.e < r->epochs;
        return NN_OK;
    }
    for (size_t e = r->acc.e; e < r->epochs; e++) {
        if (e != r->acc.e) r->acc = (epoch_acc){.e = e};
        epoch_acc *a = &r->acc; /* a resumed first epoch: its batches done */
        a->t0 = now_s();
        r->epoch_done = false;
        if (shuffle) shuffle_rows(r);
        bool stop = false;
        nn_status st = run_batches(r, a, &stop);
        if (st || stop) return st;
        nn_report rep;
        double vl = NAN, va = NAN;
        st = run_validate(r, &vl, &va);
        if (st) return st;
        report_fill(r, a, NN_REPORT_EPOCH, &rep);
        rep.val_loss = vl;
        rep.val_accuracy = va;
        st = epoch_end(r, &rep, &stop);
        if (st || stop) return st;
    }
    return NN_OK;
}

/* The end of a successful run: a paused one leaves its progress in the
 * trainer, its best copy in the run's block, which the trainer then keeps
 * (no allocation at the end of a run); any other drops what the trainer
 * held. Returns whether the block was kept. */
static bool progress_commit(run *r, nn_trainer_t *tr)
{
    nn__free(&tr->al, tr->held_mem, tr->held_bytes);
    tr->held_mem = NULL;
    tr->held_bytes = 0;
    tr->have = r->paused;
    if (!r->paused) return false;
    run_progress(r, &tr->held);
    if (!tr->held.n_best) return false;
    tr->held_mem = r->block;
    tr->held_bytes = r->bytes;
    return true;
}

/* The run itself, between its setup and its end. */
static nn_status run_main(run *r, nn_trainer_t *trainer)
{
    run_begin(r);
    if (r->resume) resume_begin(r);
    if (trainer->allsum) /* shards sum their rows' losses (see shard_step) */
        nn_net_set_int(r->net, NN_NET_REDUCTION, NN_REDUCE_SUM);
    trainer->live = r; /* a callback may save the run's progress */
    nn_status st = run_epochs(r);
    trainer->live = NULL;
    /* the net's own settings as at the call (both valid values) */
    nn_net_set_int(r->net, NN_NET_REDUCTION, r->red0);
    nn_net_set_int(r->net, NN_NET_DROPOUT_ROW0, r->row0_0);
    return st;
}

/* NN_TRAIN_THREADS >= 1: the BLAS runs one thread during the run (its
 * threads are the workers: never two pools against each other); *saved
 * gets the count to restore at the end (0: nothing to restore). */
static void blas_pin(const nn_trainer_t *tr, size_t *saved)
{
    size_t n = 0;
    *saved = 0;
    if (IV(tr, NN_TRAIN_THREADS) < 1 || nn_get_num_threads(&n) || n == 1)
        return;
    if (nn_set_num_threads(1) == NN_OK) *saved = n;
}

static void blas_unpin(size_t saved)
{
    if (saved) nn_set_num_threads(saved);
}

nn_status nn_train(nn_trainer_t *trainer, nn_net_t *net, nn_optim_t *opt,
                   const nn_data_t *train, const nn_data_t *val)
{
    run r;
    nn_status st = run_setup(&r, trainer, net, opt, train, val);
    if (!st && trainer->live) return NN_ERR_STATE; /* from its callback */
    if (!st) st = check_resume(&r);
    if (!st) st = run_alloc(&r);
    if (trainer && trainer->allsum) { /* every shard set up, or none runs */
        nn_status agreed = shard_setup(trainer, st);
        if (agreed && !st) run_free(&r);
        st = agreed;
    }
    if (st) return st;
    const double t_start = now_s();
    size_t blas0;
    blas_pin(trainer, &blas0);
    st = run_main(&r, trainer);
    blas_unpin(blas0);
    bool kept = false;
    if (st) {
        run_rollback(&r); /* the trainer keeps what it held */
    } else {
        /* a paused run keeps its current parameters */
        if (!r.paused && r.keep_best && r.res.best_epoch > 0)
            memcpy(nn_net_params(net), r.best, r.P * sizeof(double));
        nn_optim_set_real(opt, NN_OPTIM_LR, r.lr0); /* lr0 was valid */
        r.res.steps_run = r.t;
        r.res.seconds = now_s() - t_start;
        r.res.paused = r.paused;
        trainer->res = r.res;
        kept = progress_commit(&r, trainer);
    }
    if (kept) { /* the block now holds the progress */
        nn__team_destroy(r.team);
        nn_ctx_destroy(r.ctx);
    } else {
        run_free(&r);
    }
    return st;
}

/* ------------------------------------------------------------ progress */
bool nn__trainer_progress(const nn_trainer_t *tr, nn__progress *p,
                          bool *live)
{
    *live = tr->live != NULL;
    if (tr->live) run_progress(tr->live, p);
    else if (tr->have) *p = tr->held;
    return tr->live || tr->have;
}

bool nn__trainer_running(const nn_trainer_t *tr) { return tr->live != NULL; }

const nn_allocator *nn__trainer_allocator(const nn_trainer_t *tr)
{
    return &tr->al;
}

void nn__trainer_adopt(nn_trainer_t *tr, const nn__progress *p, void *mem,
                       size_t bytes)
{
    nn__free(&tr->al, tr->held_mem, tr->held_bytes);
    tr->held = *p;
    tr->held_mem = mem;
    tr->held_bytes = bytes;
    tr->have = true;
}
