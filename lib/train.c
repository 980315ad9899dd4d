/* train.c — mini-batch training loop: shuffling, validation split, learning
 * rate schedules, per-epoch validation and callback, early stopping with
 * restoration of the best weights.
 *
 * Randomness: one generator owned by the call, seeded with cfg->seed; it
 * first draws the validation split (when val == NULL and val_fraction > 0),
 * then one Fisher–Yates shuffle of the training rows per epoch (if shuffle).
 * The split holds out n_val = round(val_fraction * m) rows chosen by
 * selection sampling (Knuth's algorithm S), so both parts keep the data's
 * order; each part must get at least one row (else NN_ERR_INVALID).
 *
 * Memory: one block from `alloc` holds the batch (batch x n features and
 * batch labels), the row order (m indices: training rows, then validation
 * rows), a copy of the parameters and optimizer state at the call (to undo a
 * run that fails part way), and, with validation and restore_best, a copy of
 * the best parameters. The net's workspace is reserved for one batch before
 * the first step. Nothing is allocated per step or per epoch.
 *
 * Schedules, with e the 0-based epoch, t the 0-based global step and
 * T = epochs * ceil(m_train / batch) the steps planned:
 *   CONSTANT: lr0;  STEP: lr0 * gamma^floor(e / step_epochs);
 *   COSINE:   lr_min + (lr0 - lr_min) * (1 + cos(pi t / T)) / 2.
 * A rate that rounds to 0 (underflow) is replaced by lr_min if positive, else
 * by DBL_MIN, so the optimizer always receives a valid rate.
 *
 * train_loss of an epoch is the mean over its rows of the batch losses
 * (sum_b loss_b m_b / m_train). Early stopping: the validation loss must
 * strictly decrease to count as better (a NaN never does); after `patience`
 * epochs in a row without improvement training stops. stopped_early is set
 * when patience or the callback ends the run before the planned epochs.
 *
 * Errors: argument errors are found before anything changes. A failure part
 * way (NN_ERR_NUMERIC from check-finite, or a mismatched optimizer) restores
 * the parameters, the optimizer's state and its learning rate as they were at
 * the call (the net's gradients are those of the failed batch). */
#include "nn_private.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

static const double PI = 3.14159265358979323846;

nn_status nn_train_config_default(nn_train_config *cfg)
{
    if (!cfg) return NN_ERR_INVALID;
    *cfg = (nn_train_config){.epochs = 10,
                             .batch_size = 64,
                             .shuffle = true,
                             .seed = 0,
                             .val_fraction = 0.0,
                             .patience = 0,
                             .restore_best = true,
                             .schedule = NN_SCHED_CONSTANT,
                             .gamma = 0.1,
                             .step_epochs = 10,
                             .lr_min = 0.0,
                             .callback = NULL,
                             .callback_ctx = NULL};
    return NN_OK;
}

/* Schedule fields are only checked for the schedule in use. Patience needs
 * validation data. */
static bool config_valid(const nn_train_config *c, const nn_data_t *val)
{
    if (c->epochs == 0 || c->batch_size == 0) return false;
    if (!(c->val_fraction >= 0.0 && c->val_fraction < 1.0)) return false;
    if (c->patience > 0 && !val && c->val_fraction == 0.0) return false;
    switch (c->schedule) {
    case NN_SCHED_CONSTANT: return true;
    case NN_SCHED_STEP:
        return c->gamma > 0.0 && c->gamma <= 1.0 && c->step_epochs >= 1;
    case NN_SCHED_COSINE: return isfinite(c->lr_min) && c->lr_min >= 0.0;
    default: return false;
    }
}

static double sched_lr(const nn_train_config *c, double lr0, size_t epoch,
                       size_t t, size_t T)
{
    double lr = lr0;
    if (c->schedule == NN_SCHED_STEP)
        lr = lr0 * pow(c->gamma, (double)(epoch / c->step_epochs));
    else if (c->schedule == NN_SCHED_COSINE)
        lr = c->lr_min + (lr0 - c->lr_min) *
                             (1.0 + cos(PI * (double)t / (double)T)) / 2.0;
    if (!(lr > 0.0) || !isfinite(lr)) lr = c->lr_min > 0.0 ? c->lr_min : DBL_MIN;
    return lr;
}

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

/* The one allocation of a run. */
typedef struct work {
    void *block;
    size_t bytes;
    double *gx, *best, *backup; /* backup: P params then S optimizer state */
    size_t *gl, *idx;
} work;

static nn_status work_alloc(work *w, const nn_allocator *al, size_t B,
                            size_t n, size_t P, size_t S, bool keep_best,
                            size_t m)
{
    size_t nx, nd, nz, bd, bz;
    if (!nn__mul(B, n, &nx) || !nn__add(nx, keep_best ? P : 0, &nd) ||
        !nn__add(nd, P, &nd) || !nn__add(nd, S, &nd) || !nn__add(B, m, &nz) ||
        !nn__mul(nd, sizeof(double), &bd) ||
        !nn__mul(nz, sizeof(size_t), &bz) || !nn__add(bd, bz, &w->bytes))
        return NN_ERR_TOO_LARGE;
    w->block = nn__alloc(al, w->bytes);
    if (!w->block) return NN_ERR_NOMEM;
    double *d = w->block;
    w->gx = d;
    w->best = keep_best ? d + nx : NULL;
    w->backup = d + nx + (keep_best ? P : 0);
    w->gl = (size_t *)(d + nd);
    w->idx = w->gl + B;
    return NN_OK;
}

nn_status nn_train(nn_net_t *net, nn_optim_t *opt, const nn_data_t *train,
                   const nn_data_t *val, const nn_train_config *cfg,
                   const nn_allocator *alloc, nn_train_result *result)
{
    /* ---- arguments: nothing changes before all of these pass */
    if (!net || !opt || !train || !cfg) return NN_ERR_INVALID;
    if (alloc && (!alloc->alloc || !alloc->free)) return NN_ERR_INVALID;
    if (!config_valid(cfg, val)) return NN_ERR_INVALID;
    nn_status st = nn__check_labelled(net, train);
    if (!st && val) st = nn__check_labelled(net, val);
    if (st) return st;
    const size_t n = nn_net_n_in(net), m = nn_data_rows(train);
    st = nn__check_matrix(nn__data_x(train), m, n, NN_ROW_MAJOR, n);
    if (!st && val)
        st = nn__check_matrix(nn__data_x(val), nn_data_rows(val), n,
                              NN_ROW_MAJOR, n);
    if (st) return st;

    const bool split = !val && cfg->val_fraction > 0.0;
    size_t n_val = 0;
    if (split) {
        double r = nearbyint(cfg->val_fraction * (double)m);
        n_val = (size_t)r; /* r is in [0, m) */
        if (n_val < 1 || n_val >= m) return NN_ERR_INVALID;
    }
    const bool have_val = val || split;
    const bool keep_best = have_val && cfg->restore_best;
    const size_t m_tr = m - n_val;
    const size_t B = cfg->batch_size < m_tr ? cfg->batch_size : m_tr;
    const size_t steps_per_epoch = (m_tr - 1) / B + 1;
    size_t T;
    if (!nn__mul(steps_per_epoch, cfg->epochs, &T)) return NN_ERR_TOO_LARGE;
    const double lr0 = nn_optim_get_lr(opt);
    const size_t P = nn__net_n_params(net), S = nn_optim_state_len(opt);

    /* ---- memory: the net's workspace for one batch, then our block */
    st = nn_net_reserve(net, B);
    if (st) return st;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    work w;
    st = work_alloc(&w, &al, B, n, P, S, keep_best, m);
    if (st) return st;

    double *params = nn__net_params(net);
    uint64_t steps0 = 0;
    memcpy(w.backup, params, P * sizeof(double));
    st = nn_optim_get_state(opt, &steps0, w.backup + P, S);
    if (st) goto done;

    const double t_start = now_s();
    const double *X = nn__data_x(train);
    const size_t *labels = nn_data_labels(train);
    size_t *tr = w.idx, *vr = w.idx + m_tr;

    /* ---- row order: the split (keeping the data's order), then shuffles */
    nn_rng rng;
    nn__rng_seed(&rng, cfg->seed);
    if (split) {
        size_t need = n_val, nt = 0, nv = 0;
        for (size_t i = 0; i < m; i++) {
            size_t left = m - i;
            if (need > 0 &&
                (need == left || nn__rng_uniform(&rng) * (double)left <
                                     (double)need)) {
                vr[nv++] = i;
                need--;
            } else {
                tr[nt++] = i;
            }
        }
    } else {
        for (size_t i = 0; i < m; i++) tr[i] = i;
    }

    nn_train_result res = {.best_val_loss = NAN};
    double best = INFINITY;
    size_t bad = 0, t = 0;
    for (size_t e = 0; e < cfg->epochs; e++) {
        const double t0 = now_s();
        if (cfg->shuffle)
            for (size_t i = m_tr - 1; i > 0; i--) {
                size_t j = rng_index(&rng, i + 1), tmp = tr[i];
                tr[i] = tr[j];
                tr[j] = tmp;
            }
        double sum = 0.0, lr = lr0;
        for (size_t start = 0; start < m_tr; start += B) {
            size_t mb = m_tr - start < B ? m_tr - start : B;
            for (size_t i = 0; i < mb; i++) {
                size_t r = tr[start + i];
                memcpy(w.gx + i * n, X + r * n, n * sizeof(double));
                w.gl[i] = labels[r];
            }
            lr = sched_lr(cfg, lr0, e, t, T);
            double lb = 0.0;
            st = nn_optim_set_lr(opt, lr);
            if (!st)
                st = nn_net_gradient_labels(net, mb, NN_ROW_MAJOR, w.gx, n,
                                            w.gl, &lb);
            if (!st) st = nn_optim_step(opt, net);
            if (st) goto fail;
            sum += lb * (double)mb;
            t++;
        }
        nn_epoch_report rep = {.epoch = e + 1,
                               .epochs = cfg->epochs,
                               .train_loss = sum / (double)m_tr,
                               .val_loss = NAN,
                               .val_accuracy = NAN,
                               .lr = lr};
        if (val)
            st = nn__eval_rows(net, nn__data_x(val), nn_data_labels(val), NULL,
                               nn_data_rows(val), B, NULL, NULL, &rep.val_loss,
                               &rep.val_accuracy, NULL);
        else if (split)
            st = nn__eval_rows(net, X, labels, vr, n_val, B, w.gx, w.gl,
                               &rep.val_loss, &rep.val_accuracy, NULL);
        if (st) goto fail;
        rep.seconds = now_s() - t0;
        res.epochs_run = e + 1;
        res.final_train_loss = rep.train_loss;
        if (have_val) {
            if (rep.val_loss < best) {
                best = rep.val_loss;
                res.best_epoch = e + 1;
                res.best_val_loss = best;
                bad = 0;
                if (keep_best) memcpy(w.best, params, P * sizeof(double));
            } else {
                bad++;
            }
        }
        bool stop = cfg->callback && cfg->callback(&rep, cfg->callback_ctx);
        if (cfg->patience > 0 && bad >= cfg->patience) stop = true;
        if (stop) {
            res.stopped_early = e + 1 < cfg->epochs;
            break;
        }
    }
    if (keep_best && res.best_epoch > 0)
        memcpy(params, w.best, P * sizeof(double));
    nn_optim_set_lr(opt, lr0); /* lr0 was valid: cannot fail */
    res.seconds = now_s() - t_start;
    if (result) *result = res;
    st = NN_OK;
    goto done;

fail:
    /* undo the run: parameters, optimizer state and rate as at the call */
    memcpy(params, w.backup, P * sizeof(double));
    /* raw copy, not nn_optim_set_state: the state at the call may hold
     * Inf/NaN (an overflowed moment, a loaded diverged run), which
     * set_state would refuse */
    if (S) memcpy(nn__optim_state_mut(opt), w.backup + P, S * sizeof(double));
    nn__optim_set_steps(opt, steps0);
    nn_optim_set_lr(opt, lr0);
done:
    nn__free(&al, w.block, w.bytes);
    return st;
}
