/* gen_model_seeds.c — writes the model-format seed corpus (small nets, with
 * and without optimizers, every activation, loss and optimizer kind, the
 * network settings and attached scalers, and checkpoints: training runs
 * paused or saved from their report callback, with and without validation
 * and a best-parameter copy) into the directory given as argv[1]. Built by
 * meson (not by default); the corpus names files by the SHA-1 of their
 * bytes, as libFuzzer does:
 *   ninja -C build tests/fuzz/gen_model_seeds && d=$(mktemp -d) &&
 *   build/tests/fuzz/gen_model_seeds "$d" && for f in "$d"/[a-z]*; do
 *   cp "$f" tests/fuzz/corpus/model/$(sha1sum < "$f" | cut -c1-40); done
 * (The version-1 seeds already in the corpus came from libnn 0.x, the
 * version-2 ones from this program before format version 3.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn.h"

static void check(nn_status st, const char *what)
{
    if (st != NN_OK) {
        fprintf(stderr, "%s: %s\n", what, nn_strerror(st));
        exit(1);
    }
}

/* One layer of a seed network. */
typedef struct {
    size_t n_out;
    nn_activation act;
    double slope, dropout;
} layer;

static nn_net_t *build(const char *name, size_t n_in, size_t nl,
                       const layer *ls, nn_loss loss, int settings)
{
    nn_netspec_t *sp = NULL;
    check(nn_netspec_create(&sp, n_in, loss, NULL), name);
    for (size_t l = 0; l < nl; l++) {
        check(nn_netspec_add_dense(sp, ls[l].n_out, ls[l].act), name);
        if (ls[l].act == NN_ACT_LEAKY_RELU)
            check(nn_netspec_set_real(sp, l, NN_LAYER_ACT_PARAM, ls[l].slope),
                  name);
        check(nn_netspec_set_real(sp, l, NN_LAYER_DROPOUT, ls[l].dropout),
              name);
    }
    if (settings) {
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_REDUCTION,
                                 NN_REDUCE_SUM), name);
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_CHECK_FINITE, 1),
              name);
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 77),
              name);
    }
    nn_net_t *net = NULL;
    check(nn_net_create(&net, sp, NULL), name);
    nn_netspec_destroy(sp);
    return net;
}

/* An input scaler (standard, fitted) and a target scaler (custom). */
static void attach_scalers(nn_net_t *net, const double *X, const char *name)
{
    size_t n_in = nn_net_n_in(net), k = nn_net_n_out(net);
    nn_scaler_t *s = NULL;
    check(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, n_in, NN_ROW_MAJOR, X, n_in,
                        NULL), name);
    check(nn_net_set_scaler(net, NN_SCALER_INPUT, s), name);
    nn_scaler_destroy(s);
    double off[8], sc[8];
    for (size_t j = 0; j < k; j++) {
        off[j] = 0.5 * (double)j;
        sc[j] = 2.0 + (double)j;
    }
    check(nn_scaler_create(&s, k, off, sc, NULL), name);
    check(nn_net_set_scaler(net, NN_SCALER_TARGET, s), name);
    nn_scaler_destroy(s);
}

/* Save net (+ opt after `steps` training steps on a fixed batch). */
static void seed(const char *dir, const char *name, size_t n_in, size_t nl,
                 const layer *ls, nn_loss loss, int kind, int steps,
                 int extras)
{
    nn_net_t *net = build(name, n_in, nl, ls, loss, extras);
    nn_optim_t *opt = NULL;
    check(nn_optim_create(&opt, net, kind >= 0 ? kind : NN_OPTIM_SGD, NULL),
          name);
    check(nn_optim_set_real(opt, NN_OPTIM_LR, 0.1), name);
    if (kind == NN_OPTIM_ADAM) {
        check(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, 0.01), name);
        check(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 1), name);
        check(nn_optim_set_real(opt, NN_OPTIM_CLIP_NORM, 5), name);
    }
    double X[4 * 8], Y[4 * 8];
    int32_t lab[4];
    for (int i = 0; i < 32; i++) X[i] = (i % 5) * 0.25 - 0.5;
    for (int i = 0; i < 32; i++) Y[i] = (i % 3) == 0;
    for (int i = 0; i < 4; i++) lab[i] = (int32_t)((size_t)i % nn_net_n_out(net));
    size_t k = nn_net_n_out(net);
    for (int s = 0; s < steps; s++) {
        if (loss == NN_LOSS_SOFTMAX_CE)
            check(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, n_in, lab, NULL), name);
        else
            check(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, n_in, Y, k, NULL), name);
        check(nn_optim_step(opt, net), name);
    }
    if (extras) attach_scalers(net, X, name);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check(nn_model_save(path, net, kind >= 0 ? opt : NULL, NULL), name);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* ------------------------------------------------ checkpoints */
/* A checkpoint seed: a net as for seed(), trained by nn_train on 12 rows
 * (batches of 4) until the report of epoch `epoch` (1-based; with batch >
 * 0 its batch report `batch`), where the run pauses and the checkpoint is
 * saved after it, or (live) the callback saves it from the running run. */
typedef struct {
    const char *name;
    size_t n_in, nl;
    const layer *ls;
    nn_loss loss;
    int kind, extras;
    int val;      /* 0: none; 1: a held-out fraction; 2: a validation set */
    int best;     /* NN_TRAIN_RESTORE_BEST (a best copy, with validation) */
    int schedule; /* a step schedule with warm-up (lr0 != the last rate) */
    size_t epoch, batch;
    int live;
} ckpt_seed;

typedef struct {
    const ckpt_seed *s;
    const char *path;
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *tr;
    int saved;
} ckpt_run;

static int32_t on_report(const nn_report *r, void *ctx)
{
    ckpt_run *c = ctx;
    const ckpt_seed *s = c->s;
    int due = r->epoch == s->epoch &&
              (s->batch ? r->kind == NN_REPORT_BATCH && r->batch == s->batch
                        : r->kind == NN_REPORT_EPOCH);
    if (!due) return 0;
    if (!s->live) return NN_REPORT_PAUSE;
    check(nn_checkpoint_save(c->path, c->net, c->opt, c->tr, NULL), s->name);
    c->saved = 1;
    return 1; /* stop: the file holds the progress at the call */
}

/* m rows of n features and k dense targets or labels (shift: another set). */
static nn_data_t *ckpt_data(const char *name, size_t m, size_t n, size_t k,
                            int labels, size_t shift)
{
    double X[16 * 4], Y[16 * 4];
    int32_t lab[16];
    for (size_t i = 0; i < m * n; i++)
        X[i] = (double)((i + shift) % 7) * 0.3 - 0.9;
    for (size_t i = 0; i < m * k; i++) Y[i] = (i + shift) % 3 == 0;
    for (size_t i = 0; i < m; i++) lab[i] = (int32_t)((i + shift) % k);
    nn_data_t *d = NULL;
    check(nn_data_create(&d, m, n, NN_ROW_MAJOR, X, n, NULL), name);
    check(labels ? nn_data_set_labels(d, lab)
                 : nn_data_set_targets(d, k, NN_ROW_MAJOR, Y, k), name);
    return d;
}

static nn_trainer_t *ckpt_trainer(const ckpt_seed *s)
{
    nn_trainer_t *tr = NULL;
    check(nn_trainer_create(&tr, NULL), s->name);
    check(nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 6), s->name);
    check(nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 4), s->name);
    check(nn_trainer_set_int(tr, NN_TRAIN_SEED, 7), s->name);
    check(nn_trainer_set_int(tr, NN_TRAIN_RESTORE_BEST, s->best), s->name);
    if (s->val == 1)
        check(nn_trainer_set_real(tr, NN_TRAIN_VAL_FRACTION, 0.25), s->name);
    if (s->val) check(nn_trainer_set_int(tr, NN_TRAIN_PATIENCE, 3), s->name);
    if (s->batch)
        check(nn_trainer_set_int(tr, NN_TRAIN_REPORT_EVERY, 1), s->name);
    if (s->schedule) {
        check(nn_trainer_set_int(tr, NN_TRAIN_SCHEDULE, NN_SCHED_STEP), s->name);
        check(nn_trainer_set_real(tr, NN_TRAIN_GAMMA, 0.5), s->name);
        check(nn_trainer_set_int(tr, NN_TRAIN_STEP_EPOCHS, 1), s->name);
        check(nn_trainer_set_int(tr, NN_TRAIN_WARMUP_STEPS, 2), s->name);
    }
    return tr;
}

static void ckpt(const char *dir, const ckpt_seed *s)
{
    nn_net_t *net = build(s->name, s->n_in, s->nl, s->ls, s->loss, s->extras);
    size_t k = nn_net_n_out(net);
    int labels = s->loss == NN_LOSS_SOFTMAX_CE;
    nn_data_t *train = ckpt_data(s->name, 12, s->n_in, k, labels, 0);
    nn_data_t *val =
        s->val == 2 ? ckpt_data(s->name, 4, s->n_in, k, labels, 5) : NULL;
    if (s->extras) {
        double X[4 * 4];
        for (int i = 0; i < 16; i++) X[i] = (i % 5) * 0.25 - 0.5;
        attach_scalers(net, X, s->name);
    }
    nn_optim_t *opt = NULL;
    check(nn_optim_create(&opt, net, s->kind, NULL), s->name);
    check(nn_optim_set_real(opt, NN_OPTIM_LR, 0.05), s->name);
    if (s->kind == NN_OPTIM_ADAM)
        check(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, 0.01), s->name);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, s->name);
    ckpt_run c = {s, path, net, opt, ckpt_trainer(s), 0};
    check(nn_trainer_set_report(c.tr, on_report, &c), s->name);
    check(nn_train(c.tr, net, opt, train, val), s->name);
    int64_t paused = 0;
    check(nn_trainer_get_int(c.tr, NN_TRAIN_PAUSED, &paused), s->name);
    if (!s->live && paused)
        check(nn_checkpoint_save(path, net, opt, c.tr, NULL), s->name);
    else if (!c.saved)
        check(NN_ERR_STATE, s->name); /* the run ended before the report */
    nn_trainer_destroy(c.tr);
    nn_data_destroy(val);
    nn_data_destroy(train);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *d = argv[1];
    const layer lin[] = {{1, NN_ACT_IDENTITY, 0, 0}};
    const layer bce[] = {{3, NN_ACT_TANH, 0, 0}, {2, NN_ACT_SIGMOID, 0, 0}};
    const layer ce[] = {{4, NN_ACT_RELU, 0, 0.25}, {3, NN_ACT_SOFTMAX, 0, 0}};
    const layer leaky[] = {{3, NN_ACT_LEAKY_RELU, 0.01, 0.5},
                           {2, NN_ACT_SOFTMAX, 0, 0},
                           {1, NN_ACT_IDENTITY, 0, 0}};
    seed(d, "v3_linear_mse", 2, 1, lin, NN_LOSS_MSE, -1, 0, 0);
    seed(d, "v3_tanh_bce_sgd", 2, 2, bce, NN_LOSS_BCE, NN_OPTIM_SGD, 1, 0);
    seed(d, "v3_relu_ce_adam", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 2, 0);
    seed(d, "v3_leaky_mse_momentum", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_MOMENTUM, 1, 0);
    seed(d, "v3_leaky_mse_nesterov", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_NESTEROV, 0, 1);
    seed(d, "v3_tanh_bce_scalers", 2, 2, bce, NN_LOSS_BCE, -1, 3, 1);
    seed(d, "v3_relu_ce_adam_scalers", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 2, 1);
    const layer lin2[] = {{3, NN_ACT_TANH, 0, 0}, {1, NN_ACT_IDENTITY, 0, 0}};
    /* name, n_in, layers, loss, optimizer, extras, val, best, schedule,
     * epoch, batch, live */
    const ckpt_seed cks[] = {
        /* between epochs, no validation: no best epoch, no best copy */
        {"ckpt_sgd_epoch", 2, 2, lin2, NN_LOSS_MSE, NN_OPTIM_SGD, 0, 0, 1,
         0, 2, 0, 0},
        /* mid-epoch with a validation set: a best epoch and its copy */
        {"ckpt_adam_val_best", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 0,
         2, 1, 0, 3, 1, 0},
        /* in the first epoch (no epoch ended: final loss NaN), settings and
         * scalers, a held-out fraction */
        {"ckpt_momentum_first_batch", 2, 2, bce, NN_LOSS_BCE,
         NN_OPTIM_MOMENTUM, 1, 1, 1, 0, 1, 2, 0},
        /* saved from the callback of a running run with a schedule (lr0
         * saved, not the last step's rate); best epoch without a copy */
        {"ckpt_nesterov_live_sched", 2, 3, leaky, NN_LOSS_MSE,
         NN_OPTIM_NESTEROV, 0, 1, 0, 1, 3, 0, 1},
    };
    for (size_t i = 0; i < sizeof cks / sizeof cks[0]; i++) ckpt(d, &cks[i]);
    return 0;
}
