/* train.c — `libnn train`: build a network from --layers, train it with an
 * nn_trainer on IDX or CSV data, save it atomically with its optimizer state
 * and its input scaling; optional per-epoch history CSV and gnuplot plot. */
#include "checkpoint.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_mpi.h"
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const train_help =
"usage: libnn train (--csv FILE [--header] [--label-col N] |\n"
"                 --images FILE --labels FILE) --layers SPEC -o MODEL [options]\n"
"\n"
"Train a network and save it to MODEL (written atomically at the end, with\n"
"the optimizer state; a failed run leaves any existing MODEL untouched).\n"
"\n"
"Data:\n"
"  --csv FILE            numeric CSV (gzip ok); the label column is the last\n"
"                        one unless --label-col or --target says otherwise\n"
"  --header, --no-header line 1 is a header, or data (default: a header when\n"
"                        one of its fields is not a number)\n"
"  --delimiter C         field separator: , ; | : tab space (default: ,;\n"
"                        space: runs of blanks)\n"
"  --label-col N|NAME|last  the class label column, 0-based or by header\n"
"                        name (default: last)\n"
"  --target COLS         regression: real-valued target columns, comma-\n"
"                        separated, 0-based or header names (loss: mse)\n"
"  --images FILE         IDX features (MNIST family, gzip ok)\n"
"  --labels FILE         IDX labels for --images\n"
"  --scale none|255|standard|minmax  input scaling, fitted on the training\n"
"                        rows (default: 255 for --images, none for --csv);\n"
"                        saved in MODEL, and libnn eval / predict apply it\n"
"  --scale-targets none|standard|minmax  with --target (default: standard);\n"
"                        saved in MODEL, predictions come back in the\n"
"                        targets' units\n"
"  --test-fraction X     hold out this fraction of the rows (seeded by\n"
"                        --seed) and report the model's figures on them;\n"
"                        libnn eval --test-fraction X --seed N finds them\n"
"  --val-csv FILE        validation rows from another CSV (instead of\n"
"                        --val-fraction)\n"
"Network:\n"
"  --layers SPEC         comma-separated layers UNITS:ACT[:drop=P], ACT one of\n"
"                        identity, sigmoid, tanh, relu, leaky[=SLOPE], softmax;\n"
"                        e.g. 256:relu:drop=0.2,128:relu,10:softmax\n"
"  --loss ce|bce|mse     (default: ce for a softmax output, bce for a sigmoid\n"
"                        output, mse otherwise)\n"
"  --init SCHEME         default, glorot, glorot-normal, he, he-normal,\n"
"                        orthogonal, zero (default: default)\n"
"";
/* (in three parts: C99 promises string literals of 4095 bytes only) */
static const char *const train_help_opt =
"Optimizer:\n"
"  --optim KIND          sgd, momentum, nesterov, adam, adamw (default: adam)\n"
"  --lr X                learning rate > 0 (default: 0.01; adam/adamw 0.001)\n"
"  --momentum X          momentum/nesterov, in [0, 1) (default: 0.9)\n"
"  --beta1 X, --beta2 X  adam/adamw, in [0, 1) (default: 0.9, 0.999)\n"
"  --eps X               adam/adamw, > 0 (default: 1e-8)\n"
"  --weight-decay X      >= 0 (decoupled for adamw) (default: 0)\n"
"  --clip X              clip the global gradient norm to X > 0 (default: off)\n"
"Training:\n"
"  --epochs N            (default: 10)\n"
"  --batch N             mini-batch size (default: 64)\n"
"  --val-fraction X      hold out this fraction for validation, [0, 1)\n"
"  --patience N          stop after N epochs without a better validation loss\n"
"  --restore-best        end with the weights of the best validation loss\n"
"                        (default with --patience)\n"
"  --schedule KIND       constant, step, cosine (default: constant)\n"
"  --gamma X             step: decay factor in (0, 1] (default: 0.1)\n"
"  --step-epochs N       step: epochs between decays (default: 10)\n"
"  --lr-min X            cosine: final learning rate (default: 0)\n"
"  --seed N              weights, shuffling, validation split (default: 0)\n"
"  --threads N           threads, per MPI rank: N batch-parallel workers (the\n"
"                        BLAS on one) when each gets 16 rows of a batch and\n"
"                        enough work, else N BLAS threads (default: the\n"
"                        BLAS's)\n"
"Checkpoints:\n"
"  --checkpoint FILE     where checkpoints go (default: MODEL.ckpt); one\n"
"                        file, replaced atomically by each new checkpoint\n"
"  --checkpoint-every N  write one after every N epochs (default: only on\n"
"                        SIGINT or SIGTERM, which end the step in progress,\n"
"                        write a checkpoint instead of MODEL and exit with\n"
"                        status 130 or 143)\n"
"  --resume CKPT         continue the run CKPT was written by, exactly (give\n"
"                        the same data and options again; --layers may be\n"
"                        left out); a model file instead: a new run from\n"
"                        its weights and optimizer state\n";
/* (two strings: C99 compilers need not take longer ones) */
static const char *const train_help_out =
"Output:\n"
"  -o, --output MODEL    model file to write (required; '-': stdout, and the\n"
"                        summary goes to stderr)\n"
"  --history FILE.csv    per-epoch CSV: epoch,train_loss,val_loss,\n"
"                        val_accuracy,lr,seconds,epochs,best ('-': stdout;\n"
"                        libnn plot redraws it)\n"
"  --plot FILE.svg|png   plot of the loss and accuracy curves (needs gnuplot;\n"
"                        '-': SVG on stdout)\n"
"Outputs never overwrite an input or each other (refused before any work);\n"
"a file is replaced atomically (through a symlink: its target), a device or\n"
"FIFO is written in place. FILE may be '-' (stdin), a pipe or a FIFO.\n"
"  --json                one JSON object on stdout: settings' results, every\n"
"                        epoch, the test figures (the summary goes to stderr)\n"
"  -q, --quiet           no progress output\n"
"  -h, --help            this help\n"
"\n"
"Under an MPI launcher (mpirun -np N libnn train ..., in a build with MPI),\n"
"training is data-parallel over the N ranks: each reads the whole data set\n"
"(regular files only), rank 0 prints and writes the outputs; see libnn(1).\n";

enum {
    T_LAYERS = 1, T_LOSS, T_INIT, T_OPTIM, T_LR, T_MOMENTUM, T_BETA1, T_BETA2,
    T_EPS, T_WD, T_CLIP, T_EPOCHS, T_BATCH, T_VALFRAC, T_PATIENCE,
    T_RESTORE, T_SCHEDULE, T_GAMMA, T_STEP_EPOCHS, T_LR_MIN, T_SEED,
    T_THREADS, T_OUTPUT, T_HISTORY, T_PLOT, T_QUIET, T_HELP,
    T_SCALE_TARGETS, T_VAL_CSV, T_JSON, T_CHECKPOINT, T_CKPT_EVERY, T_RESUME
};

static const cli_opt train_opts[] = {
    CLI_DATA_OPTIONS,
    {"layers", 0, true, T_LAYERS}, {"loss", 0, true, T_LOSS},
    {"init", 0, true, T_INIT}, {"optim", 0, true, T_OPTIM},
    {"lr", 0, true, T_LR}, {"momentum", 0, true, T_MOMENTUM},
    {"beta1", 0, true, T_BETA1}, {"beta2", 0, true, T_BETA2},
    {"eps", 0, true, T_EPS}, {"weight-decay", 0, true, T_WD},
    {"clip", 0, true, T_CLIP}, {"epochs", 0, true, T_EPOCHS},
    {"batch", 0, true, T_BATCH}, {"val-fraction", 0, true, T_VALFRAC},
    {"patience", 0, true, T_PATIENCE}, {"restore-best", 0, false, T_RESTORE},
    {"schedule", 0, true, T_SCHEDULE}, {"gamma", 0, true, T_GAMMA},
    {"step-epochs", 0, true, T_STEP_EPOCHS}, {"lr-min", 0, true, T_LR_MIN},
    {"seed", 0, true, T_SEED}, {"threads", 0, true, T_THREADS},
    {"output", 'o', true, T_OUTPUT}, {"history", 0, true, T_HISTORY},
    {"plot", 0, true, T_PLOT}, {"quiet", 'q', false, T_QUIET},
    {"help", 'h', false, T_HELP},
    {"scale-targets", 0, true, T_SCALE_TARGETS},
    {"val-csv", 0, true, T_VAL_CSV}, {"json", 0, false, T_JSON},
    {"checkpoint", 0, true, T_CHECKPOINT},
    {"checkpoint-every", 0, true, T_CKPT_EVERY},
    {"resume", 0, true, T_RESUME},
    {NULL, 0, false, 0}};

typedef struct train_args {
    cli_data_opts data;
    const char *layers, *output, *history, *plot;
    int loss;                /* -1: from the output layer */
    nn_init init;
    nn_optim_kind kind;
    bool decoupled;
    double lr, momentum, beta1, beta2, eps, wd, clip;
    bool set_lr, set_momentum, set_beta1, set_beta2, set_eps;
    size_t epochs, batch, patience, step_epochs, threads;
    double val_fraction, gamma, lr_min;
    bool set_gamma, set_step_epochs, set_lr_min;
    nn_schedule schedule;
    uint64_t seed;
    bool restore_best, quiet, json;
    int scale_targets;   /* cli_scale; default: standard for --target */
    const char *val_csv; /* validation rows from another file */
    const char *checkpoint, *resume; /* --checkpoint, --resume */
    size_t ckpt_every;
} train_args;

/* --loss, --init, --optim: a name from a fixed list; --schedule and its
 * parameters. */
static int train_choice(train_args *a, int id, const char *v)
{
    const char *c = "train";
    const double NA = NAN;
    switch (id) {
    case T_LOSS:
        if (!strcmp(v, "ce")) a->loss = NN_LOSS_SOFTMAX_CE;
        else if (!strcmp(v, "bce")) a->loss = NN_LOSS_BCE;
        else if (!strcmp(v, "mse")) a->loss = NN_LOSS_MSE;
        else
            return cli_usage_error(c, "--loss expects ce, bce or mse, got "
                                   "'%s'", cli_cap(v));
        return 0;
    case T_INIT: {
        static const struct { const char *n; nn_init i; } t[] = {
            {"default", NN_INIT_DEFAULT}, {"glorot", NN_INIT_GLOROT_UNIFORM},
            {"glorot-uniform", NN_INIT_GLOROT_UNIFORM},
            {"glorot-normal", NN_INIT_GLOROT_NORMAL},
            {"he", NN_INIT_HE_UNIFORM}, {"he-uniform", NN_INIT_HE_UNIFORM},
            {"he-normal", NN_INIT_HE_NORMAL},
            {"orthogonal", NN_INIT_ORTHOGONAL}, {"zero", NN_INIT_ZERO}};
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (!strcmp(v, t[i].n)) {
                a->init = t[i].i;
                return 0;
            }
        return cli_usage_error(c, "--init expects default, glorot, "
                               "glorot-normal, he, he-normal, orthogonal or "
                               "zero, got '%s'", cli_cap(v));
    }
    case T_OPTIM:
        a->decoupled = false;
        if (!strcmp(v, "sgd")) a->kind = NN_OPTIM_SGD;
        else if (!strcmp(v, "momentum")) a->kind = NN_OPTIM_MOMENTUM;
        else if (!strcmp(v, "nesterov")) a->kind = NN_OPTIM_NESTEROV;
        else if (!strcmp(v, "adam")) a->kind = NN_OPTIM_ADAM;
        else if (!strcmp(v, "adamw")) {
            a->kind = NN_OPTIM_ADAM;
            a->decoupled = true;
        } else
            return cli_usage_error(c, "--optim expects sgd, momentum, "
                                   "nesterov, adam or adamw, got '%s'",
                                   cli_cap(v));
        return 0;
    case T_SCHEDULE:
        if (!strcmp(v, "constant")) a->schedule = NN_SCHED_CONSTANT;
        else if (!strcmp(v, "step")) a->schedule = NN_SCHED_STEP;
        else if (!strcmp(v, "cosine")) a->schedule = NN_SCHED_COSINE;
        else
            return cli_usage_error(c, "--schedule expects constant, step or "
                                   "cosine, got '%s'", cli_cap(v));
        return 0;
    case T_GAMMA:
        a->set_gamma = true;
        return cli_double(c, "gamma", v, 0, false, 1, true,
                          "a number in (0, 1]", &a->gamma);
    case T_STEP_EPOCHS:
        a->set_step_epochs = true;
        return cli_size(c, "step-epochs", v, 1, &a->step_epochs);
    case T_LR_MIN:
        a->set_lr_min = true;
        return cli_double(c, "lr-min", v, 0, true, NA, false,
                          "a number >= 0", &a->lr_min);
    }
    return 0;
}

/* The optimizer's numbers: --lr ... --clip. */
static int train_optim_num(train_args *a, int id, const char *v)
{
    const char *c = "train";
    const double NA = NAN;
    switch (id) {
    case T_LR:
        a->set_lr = true;
        return cli_double(c, "lr", v, 0, false, NA, false, "a number > 0",
                          &a->lr);
    case T_MOMENTUM:
        a->set_momentum = true;
        return cli_double(c, "momentum", v, 0, true, 1, false,
                          "a number in [0, 1)", &a->momentum);
    case T_BETA1:
        a->set_beta1 = true;
        return cli_double(c, "beta1", v, 0, true, 1, false,
                          "a number in [0, 1)", &a->beta1);
    case T_BETA2:
        a->set_beta2 = true;
        return cli_double(c, "beta2", v, 0, true, 1, false,
                          "a number in [0, 1)", &a->beta2);
    case T_EPS:
        a->set_eps = true;
        return cli_double(c, "eps", v, 0, false, NA, false, "a number > 0",
                          &a->eps);
    case T_WD:
        return cli_double(c, "weight-decay", v, 0, true, NA, false,
                          "a number >= 0", &a->wd);
    case T_CLIP:
        return cli_double(c, "clip", v, 0, false, NA, false, "a number > 0",
                          &a->clip);
    }
    return 0;
}

static int train_opt(void *ctx, const cli_opt *o, const char *v)
{
    train_args *a = ctx;
    const char *c = "train";
    if (!o)
        return cli_usage_error(c, "unexpected argument '%s'", cli_cap(v));
    if (o->id >= CLI_DATA_BASE) return cli_data_opt(c, &a->data, o->id, v);
    switch (o->id) {
    case T_LAYERS: a->layers = v; return 0;
    case T_LOSS: case T_INIT: case T_OPTIM: case T_SCHEDULE: case T_GAMMA:
    case T_STEP_EPOCHS: case T_LR_MIN:
        return train_choice(a, o->id, v);
    case T_LR: case T_MOMENTUM: case T_BETA1: case T_BETA2: case T_EPS:
    case T_WD: case T_CLIP:
        return train_optim_num(a, o->id, v);
    case T_EPOCHS: return cli_size(c, "epochs", v, 1, &a->epochs);
    case T_BATCH: return cli_size(c, "batch", v, 1, &a->batch);
    case T_VALFRAC:
        return cli_double(c, "val-fraction", v, 0, true, 1, false,
                          "a number in [0, 1)", &a->val_fraction);
    case T_PATIENCE: return cli_size(c, "patience", v, 0, &a->patience);
    case T_RESTORE: a->restore_best = true; return 0;
    case T_SEED: {
        int rc = cli_u64(c, "seed", v, &a->seed);
        a->data.seed = a->seed; /* --test-fraction's split too */
        return rc;
    }
    case T_THREADS: return cli_size(c, "threads", v, 1, &a->threads);
    case T_OUTPUT: a->output = v; return 0;
    case T_HISTORY: a->history = v; return 0;
    case T_PLOT: a->plot = v; return 0;
    case T_QUIET: a->quiet = true; return 0;
    case T_SCALE_TARGETS:
        return cli_scale_opt(c, "scale-targets", v, &a->scale_targets);
    case T_VAL_CSV: a->val_csv = v; return 0;
    case T_JSON: a->json = true; return 0;
    case T_CHECKPOINT: a->checkpoint = v; return 0;
    case T_CKPT_EVERY:
        return cli_size(c, "checkpoint-every", v, 1, &a->ckpt_every);
    case T_RESUME: a->resume = v; return 0;
    }
    return 0;
}

/* ------------------------------------------------------------ --layers */
/* One item of --layers. */
typedef struct layer_def {
    size_t n_out;
    nn_activation act;
    double act_param; /* leaky slope */
    double dropout;
    char item[96]; /* the item of --layers, for messages */
} layer_def;

static int layers_error(const char *spec, size_t layer, const char *item,
                        const char *what)
{
    return cli_usage_error("train", "bad --layers spec '%s': layer %zu "
                           "('%s'): %s", cli_cap(spec), layer, cli_cap(item),
                           what);
}

/* Parses SPEC into a malloc'ed array; returns 0 or EXIT_USAGE. */
/* Each parse_* step below returns NULL, or what is wrong with the item. */

/* UNITS before the ':' (item is cut at the ':' if there is one). */
static const char *parse_units(char *item, char **colon, layer_def *s)
{
    if (!*item) return "empty layer";
    *colon = strchr(item, ':');
    if (*colon) **colon = '\0';
    char *end;
    errno = 0;
    unsigned long long u = strtoull(item, &end, 10);
    if (*item < '0' || *item > '9' || *end || errno || u == 0 || u > SIZE_MAX)
        return "expected a number of units >= 1 before ':'";
    s->n_out = (size_t)u;
    if (!*colon)
        return "expected UNITS:ACTIVATION (identity, sigmoid, tanh, relu, "
               "leaky[=SLOPE], softmax)";
    return NULL;
}

/* ACT[=PARAM]; msg receives the message for an unknown name. */
static const char *parse_act(char *act, layer_def *s, char *msg, size_t cap)
{
    char *eq = strchr(act, '=');
    if (eq) *eq++ = '\0';
    static const struct { const char *n; nn_activation a; } acts[] = {
        {"identity", NN_ACT_IDENTITY}, {"linear", NN_ACT_IDENTITY},
        {"sigmoid", NN_ACT_SIGMOID}, {"tanh", NN_ACT_TANH},
        {"relu", NN_ACT_RELU}, {"leaky", NN_ACT_LEAKY_RELU},
        {"leaky-relu", NN_ACT_LEAKY_RELU}, {"softmax", NN_ACT_SOFTMAX}};
    bool found = false;
    for (size_t k = 0; k < sizeof acts / sizeof acts[0] && !found; k++)
        if (!strcmp(act, acts[k].n)) {
            s->act = acts[k].a;
            found = true;
        }
    if (!found) {
        snprintf(msg, cap, "unknown activation '%.40s' (expected identity, "
                 "sigmoid, tanh, relu, leaky[=SLOPE] or softmax)", act);
        return msg;
    }
    if (s->act == NN_ACT_SOFTMAX && s->n_out < 2)
        return "a softmax layer needs at least 2 units (for one output use "
               "1:sigmoid)";
    if (s->act == NN_ACT_LEAKY_RELU) s->act_param = 0.01;
    if (!eq) return NULL;
    if (s->act != NN_ACT_LEAKY_RELU)
        return "only leaky takes a parameter (leaky=SLOPE)";
    char *end;
    double v = strtod(eq, &end);
    if (!*eq || *end || !isfinite(v) || v < 0)
        return "leaky=SLOPE expects a number >= 0";
    s->act_param = v;
    return NULL;
}

/* :drop=P after the activation (rest may be NULL: no dropout). */
static const char *parse_drop(const char *rest, bool last, layer_def *s)
{
    if (!rest) return NULL;
    if (strncmp(rest, "drop=", 5))
        return "expected ':drop=P' after the activation";
    char *end;
    double v = strtod(rest + 5, &end);
    if (!rest[5] || *end || !isfinite(v) || !(v >= 0 && v < 1))
        return "drop=P expects a number in [0, 1)";
    if (last && v > 0) return "no dropout on the output layer";
    s->dropout = v;
    return NULL;
}

/* One item UNITS:ACT[=PARAM][:drop=P] (cut in place) into s. */
static const char *parse_item(char *item, bool last, layer_def *s, char *msg,
                              size_t cap)
{
    char *colon = NULL;
    const char *why = parse_units(item, &colon, s);
    if (why) return why;
    char *act = colon + 1, *rest = strchr(act, ':');
    if (rest) *rest++ = '\0';
    why = parse_act(act, s, msg, cap);
    return why ? why : parse_drop(rest, last, s);
}

static int parse_layers(const char *spec, layer_def **out, size_t *n_out)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++) n += *p == ',';
    char *copy = malloc(strlen(spec) + 1);
    layer_def *specs = calloc(n, sizeof *specs);
    if (!copy || !specs) {
        free(copy);
        free(specs);
        return cli_error("out of memory");
    }
    strcpy(copy, spec);
    int rc = 0;
    char *item = copy;
    for (size_t i = 0; i < n && !rc; i++) {
        char *comma = strchr(item, ',');
        if (comma) *comma = '\0';
        char shown[96], msg[200];
        snprintf(shown, sizeof shown, "%s", item);
        memcpy(specs[i].item, shown, sizeof specs[i].item);
        const char *why = parse_item(item, i == n - 1, &specs[i], msg,
                                     sizeof msg);
        if (why) rc = layers_error(spec, i + 1, shown, why);
        item = comma ? comma + 1 : item + strlen(item);
    }
    free(copy);
    if (rc) {
        free(specs);
        return rc;
    }
    *out = specs;
    *n_out = n;
    return 0;
}

/* ------------------------------------------------------------ train */
typedef struct train_run train_run;
/* Everything one run holds, released by run_free. */
struct train_run {
    layer_def *specs;
    size_t n_layers;
    nn_data_t *data, *val, *test; /* training rows; --val-csv; held out */
    nn_scaler_t *scaler, *tscaler; /* input and target scalers */
    cli_names names;               /* the targets' and classes' names */
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *trainer;
    progress prog;
    cli_out model, hist, plot; /* prepared before any work */
    cli_ckpt ckpt;             /* prepared with them */
    bool resumed;              /* --resume read a checkpoint */
    int ranks;                 /* MPI ranks training (1 without MPI) */
    size_t batch_threads;      /* --threads as NN_TRAIN_THREADS, or 0 */
};
static void describe(const layer_def *s, size_t n, size_t n_in,
                     char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "%zu", n_in);
    for (size_t i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "-%zu", s[i].n_out);
}

/* Combinations of options that make no sense, refused before any work. */
static int check_args(const train_args *a)
{
    const char *c = "train";
    int rc;
    if (!a->output) return cli_usage_error(c, "missing --output MODEL");
    if (!a->layers && !a->resume)
        return cli_usage_error(c, "missing --layers SPEC");
    if (a->ckpt_every && !a->checkpoint && !strcmp(a->output, "-"))
        return cli_usage_error(c, "--checkpoint-every needs --checkpoint "
                               "FILE when the model goes to stdout");
    if ((rc = cli_data_check(c, &a->data, true))) return rc;
    if (a->set_momentum && a->kind != NN_OPTIM_MOMENTUM &&
        a->kind != NN_OPTIM_NESTEROV)
        return cli_usage_error(c, "--momentum applies to --optim momentum or "
                               "nesterov");
    if ((a->set_beta1 || a->set_beta2 || a->set_eps) &&
        a->kind != NN_OPTIM_ADAM)
        return cli_usage_error(c, "--beta1, --beta2 and --eps apply to "
                               "--optim adam or adamw");
    if ((a->set_gamma || a->set_step_epochs) && a->schedule != NN_SCHED_STEP)
        return cli_usage_error(c, "--gamma and --step-epochs apply to "
                               "--schedule step");
    if (a->set_lr_min && a->schedule != NN_SCHED_COSINE)
        return cli_usage_error(c, "--lr-min applies to --schedule cosine");
    bool val = a->val_fraction > 0 || a->val_csv;
    if (a->patience > 0 && !val)
        return cli_usage_error(c, "--patience needs validation data "
                               "(--val-fraction > 0 or --val-csv)");
    if (a->restore_best && !val)
        return cli_usage_error(c, "--restore-best needs validation data "
                               "(--val-fraction > 0 or --val-csv)");
    if (a->val_csv && a->val_fraction > 0)
        return cli_usage_error(c, "--val-csv and --val-fraction exclude each "
                               "other");
    if (a->val_csv && !a->data.csv)
        return cli_usage_error(c, "--val-csv goes with --csv");
    if (a->scale_targets != SCALE_DEFAULT && !a->data.target)
        return cli_usage_error(c, "--scale-targets applies to real-valued "
                               "targets (--target)");
    if (a->json && (!strcmp(a->output, "-") ||
                    (a->history && !strcmp(a->history, "-")) ||
                    (a->plot && !strcmp(a->plot, "-"))))
        return cli_usage_error(c, "--json writes to standard output, which "
                               "'-' already names for another output");
    if (a->plot && !plot_name_ok(a->plot))
        return cli_usage_error(c, "--plot expects a file name ending in .svg "
                               "or .png, got '%s'", cli_cap(a->plot));
    return 0;
}

/* The loss: --loss, else the one that fits the output activation. */
static int pick_loss(const train_args *a, const layer_def *last,
                     nn_loss *out)
{
    const char *c = "train";
    nn_loss loss;
    if (a->loss >= 0) loss = (nn_loss)a->loss;
    else if (last->act == NN_ACT_SOFTMAX) loss = NN_LOSS_SOFTMAX_CE;
    else if (last->act == NN_ACT_SIGMOID) loss = NN_LOSS_BCE;
    else loss = NN_LOSS_MSE;
    if (loss == NN_LOSS_SOFTMAX_CE && last->act != NN_ACT_SOFTMAX)
        return cli_usage_error(c, "--loss ce needs a softmax output layer "
                               "(the last layer of --layers is %s)",
                               cli_act_name(last->act));
    if (loss == NN_LOSS_BCE && last->act != NN_ACT_SIGMOID)
        return cli_usage_error(c, "--loss bce needs a sigmoid output layer "
                               "(the last layer of --layers is %s)",
                               cli_act_name(last->act));
    *out = loss;
    return 0;
}

/* Outputs prepared and checked against the inputs and each other, before
 * anything is read or written. ckpt: checkpoints may be written (not under
 * MPI: the report settings must agree on every rank, and only rank 0
 * would write them). */
static int check_files(const train_args *a, train_run *r, bool ckpt)
{
    cli_file in[4];
    cli_out *out[4];
    size_t n_in = 0, n_out = 0;
    int rc;
    if (a->data.csv) in[n_in++] = (cli_file){"--csv", a->data.csv};
    if (a->val_csv) in[n_in++] = (cli_file){"--val-csv", a->val_csv};
    if (a->data.images) in[n_in++] = (cli_file){"--images", a->data.images};
    if (a->data.labels) in[n_in++] = (cli_file){"--labels", a->data.labels};
    if (a->resume) in[n_in++] = (cli_file){"--resume", a->resume};
    if ((rc = cli_out_prepare(&r->model, "--output", a->output))) return rc;
    out[n_out++] = &r->model;
    if (a->history) {
        if ((rc = cli_out_prepare(&r->hist, "--history", a->history)))
            return rc;
        out[n_out++] = &r->hist;
    }
    if (a->plot) {
        if ((rc = cli_out_prepare(&r->plot, "--plot", a->plot))) return rc;
        out[n_out++] = &r->plot;
    }
    if ((rc = cli_check_files("train", in, n_in, out, n_out)) || !ckpt)
        return rc;
    /* the checkpoint may replace the --resume file (read whole before any
     * checkpoint is written, and replaced atomically), nothing else */
    if ((rc = cli_ckpt_prepare(&r->ckpt, a->checkpoint, a->ckpt_every,
                               &r->model)) ||
        !r->ckpt.path)
        return rc;
    out[n_out++] = &r->ckpt.out;
    return cli_check_files("train", in, n_in - (a->resume != NULL), out,
                           n_out);
}

/* Under MPI every rank opens the data itself: standard input reaches rank
 * 0 only (mpirun forwards it there), and a pipe or FIFO would hand each
 * reader a different part. A name that cannot be stat'ed is left to the
 * loader's message. */
static int check_mpi_inputs(const train_args *a)
{
    const char *opt[4] = {"--csv", "--images", "--labels", "--val-csv"};
    const char *name[4] = {a->data.csv, a->data.images, a->data.labels,
                           a->val_csv};
    for (int i = 0; i < 4; i++) {
        struct stat sb;
        if (!name[i]) continue;
        if (!strcmp(name[i], "-") ||
            (stat(name[i], &sb) == 0 && !S_ISREG(sb.st_mode)))
            return cli_usage_error("train", "%s %s: under MPI every rank "
                                   "reads the data itself, so it must be a "
                                   "regular file (not stdin, a pipe, a FIFO "
                                   "or a device)", opt[i],
                                   cli_cap(cli_in_shown(name[i])));
    }
    return 0;
}

/* Environment checks before any work: outputs and gnuplot (on rank 0, the
 * only one that writes), inputs under MPI, threads (every rank's BLAS). */
static int check_env(const train_args *a, train_run *r, const cli_mpi *mpi)
{
    int rc;
    if (mpi && (a->checkpoint || a->ckpt_every || a->resume))
        return cli_usage_error("train", "--checkpoint, --checkpoint-every "
                               "and --resume are not supported under MPI");
    if (cli_mpi_size(mpi) > 1 && (rc = check_mpi_inputs(a))) return rc;
    bool root = cli_mpi_rank(mpi) == 0;
    if (root && (rc = check_files(a, r, mpi == NULL))) return rc;
    if (root && a->plot && !plot_have_gnuplot())
        return cli_error("--plot %s: gnuplot is not installed or not in PATH "
                         "(install the gnuplot package, or drop --plot)",
                         a->plot);
    r->ranks = cli_mpi_size(mpi);
    if (a->threads) {
        nn_status st = nn_set_num_threads(a->threads);
        if (st)
            return cli_usage_error("train", "--threads %zu: %s", a->threads,
                                   nn_strerror(st));
    }
    return 0;
}

/* Rows --val-fraction holds out of m (at least one on each side). */
static int val_rows(const train_args *a, size_t m, size_t *n_val)
{
    *n_val = 0;
    if (a->val_fraction <= 0) return 0;
    double r = nearbyint(a->val_fraction * (double)m);
    if (r < 1 || r >= (double)m)
        return cli_error("%s: --val-fraction %g of %zu rows leaves %s "
                         "(need at least one row on each side)",
                         cli_data_name(&a->data), a->val_fraction, m,
                         r < 1 ? "no validation rows" : "no training rows");
    *n_val = (size_t)r;
    return 0;
}

/* The network of --layers, its weights drawn from --seed; the dropout
 * stream is seeded from --seed too. */
static nn_status make_net(const train_args *a, const layer_def *specs,
                          size_t n_layers, size_t n_in, nn_loss loss,
                          nn_net_t **out, size_t *bad)
{
    nn_netspec_t *spec = NULL;
    nn_status st = nn_netspec_create(&spec, n_in, loss, NULL);
    *bad = SIZE_MAX;
    for (size_t i = 0; !st && i < n_layers; i++) {
        st = nn_netspec_add_dense(spec, specs[i].n_out, specs[i].act);
        if (st) *bad = i;
        if (!st && specs[i].act == NN_ACT_LEAKY_RELU)
            st = nn_netspec_set_real(spec, i, NN_LAYER_ACT_PARAM,
                                     specs[i].act_param);
        if (!st && specs[i].dropout > 0)
            st = nn_netspec_set_real(spec, i, NN_LAYER_DROPOUT,
                                     specs[i].dropout);
    }
    if (!st)
        st = nn_netspec_set_int(spec, NN_NET_WIDE, NN_NET_DROPOUT_SEED,
                                (int64_t)a->seed);
    nn_net_t *net = NULL;
    if (!st) st = nn_net_create(&net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(net, a->init, a->seed);
    if (st) {
        nn_net_destroy(net);
        return st;
    }
    *out = net;
    return NN_OK;
}

/* The optimizer of --optim with the settings given (others: defaults). */
static nn_status make_optim(const train_args *a, const nn_net_t *net,
                            nn_optim_t **out)
{
    nn_optim_t *opt = NULL;
    nn_status st = nn_optim_create(&opt, net, a->kind, NULL);
    if (!st && a->decoupled) st = nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 1);
    if (!st && a->set_lr) st = nn_optim_set_real(opt, NN_OPTIM_LR, a->lr);
    if (!st && a->set_momentum)
        st = nn_optim_set_real(opt, NN_OPTIM_MOMENTUM_COEF, a->momentum);
    if (!st && a->set_beta1)
        st = nn_optim_set_real(opt, NN_OPTIM_BETA1, a->beta1);
    if (!st && a->set_beta2)
        st = nn_optim_set_real(opt, NN_OPTIM_BETA2, a->beta2);
    if (!st && a->set_eps) st = nn_optim_set_real(opt, NN_OPTIM_EPS, a->eps);
    if (!st) st = nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, a->wd);
    if (!st) st = nn_optim_set_real(opt, NN_OPTIM_CLIP_NORM, a->clip);
    if (st) {
        nn_optim_destroy(opt);
        return st;
    }
    *out = opt;
    return NN_OK;
}

/* --threads N as batch-parallel workers (docs/TOOL.md): when each of them
 * gets at least 16 rows of a rank's part of a batch and 2 MFLOP of
 * products per step (6 x rows x parameters; below that a round's hand-off
 * costs more than it shares), else 0 (the BLAS's N threads, set before
 * any work; the trainer pins the BLAS to one thread for a run with
 * workers and restores it after). */
static size_t pick_batch_threads(const train_args *a, const nn_net_t *net,
                                 int ranks)
{
    size_t n = a->threads, rows = a->batch / (size_t)(ranks > 0 ? ranks : 1);
    if (n < 2 || n > 1024 || rows < 16 * n) return 0;
    double flops = 6.0 * (double)(rows / n) * (double)nn_net_n_params(net);
    return flops >= 2e6 ? n : 0;
}

/* The trainer: --epochs, --batch, --seed, validation, schedule; reports
 * go to the progress display where p is given (under MPI, rank 0 only). */
static nn_status make_trainer(const train_args *a, size_t batch_threads,
                              progress *p, nn_trainer_t **out)
{
    nn_trainer_t *t = *out; /* --resume made it, to load the progress */
    nn_status st = t ? NN_OK : nn_trainer_create(&t, NULL);
    if (!st) st = nn_trainer_set_int(t, NN_TRAIN_EPOCHS, (int64_t)a->epochs);
    if (!st)
        st = nn_trainer_set_int(t, NN_TRAIN_BATCH_SIZE, (int64_t)a->batch);
    if (!st) st = nn_trainer_set_int(t, NN_TRAIN_SEED, (int64_t)a->seed);
    if (!st)
        st = nn_trainer_set_real(t, NN_TRAIN_VAL_FRACTION, a->val_fraction);
    if (!st)
        st = nn_trainer_set_int(t, NN_TRAIN_PATIENCE, (int64_t)a->patience);
    if (!st)
        st = nn_trainer_set_int(t, NN_TRAIN_RESTORE_BEST,
                                a->restore_best || a->patience > 0);
    if (!st) st = nn_trainer_set_int(t, NN_TRAIN_SCHEDULE, a->schedule);
    if (!st && a->set_gamma)
        st = nn_trainer_set_real(t, NN_TRAIN_GAMMA, a->gamma);
    if (!st && a->set_step_epochs)
        st = nn_trainer_set_int(t, NN_TRAIN_STEP_EPOCHS,
                                (int64_t)a->step_epochs);
    if (!st && a->set_lr_min)
        st = nn_trainer_set_real(t, NN_TRAIN_LR_MIN, a->lr_min);
    if (!st)
        st = nn_trainer_set_int(t, NN_TRAIN_THREADS, (int64_t)batch_threads);
    if (!st && p) st = nn_trainer_set_report(t, progress_report, p);
    if (!st && p)
        st = nn_trainer_set_int(t, NN_TRAIN_REPORT_EVERY,
                                progress_report_every(p));
    if (st) {
        if (t != *out) nn_trainer_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

/* ------------------------------------------------------------ --resume */
/* What differs from the file --resume names, in one line. */
static int resume_differs(const train_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int resume_differs(const train_args *a, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cli_error("--resume %s: the data or settings differ from the "
                     "checkpoint's (%s)", cli_cap(a->resume), what);
}

/* The layers of the loaded network, as --layers would give them. */
static int specs_from_net(const nn_net_t *net, layer_def **out, size_t *n)
{
    size_t L = nn_net_n_layers(net);
    layer_def *s = calloc(L, sizeof *s);
    if (!s) return cli_error("out of memory");
    for (size_t l = 0; l < L; l++) {
        int64_t act = 0;
        nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &act);
        nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &s[l].act_param);
        nn_net_get_layer_real(net, l, NN_LAYER_DROPOUT, &s[l].dropout);
        s[l].n_out = nn_net_layer_n_out(net, l);
        s[l].act = (nn_activation)act;
        snprintf(s[l].item, sizeof s[l].item, "%zu:%s", s[l].n_out,
                 cli_act_name(s[l].act));
    }
    *out = s;
    *n = L;
    return 0;
}

/* --layers, when given with --resume, must describe the loaded network. */
static int same_layers(const train_args *a, const layer_def *want,
                       size_t n, const layer_def *got, size_t n_got)
{
    if (n != n_got)
        return resume_differs(a, "--layers has %zu layers, the network %zu",
                              n, n_got);
    for (size_t l = 0; l < n; l++) {
        const layer_def *w = &want[l], *g = &got[l];
        bool leaky = w->act == NN_ACT_LEAKY_RELU;
        if (w->n_out != g->n_out || w->act != g->act ||
            w->dropout != g->dropout || (leaky && w->act_param != g->act_param))
            return resume_differs(a, "--layers: layer %zu is '%s' here, %s "
                                  "(drop %g) in the network", l + 1, w->item,
                                  g->item, g->dropout);
    }
    return 0;
}

/* Read --resume (after the checks of check_env): the network, optimizer
 * and progress into r; the layers from the network unless --layers is
 * given (then they must match); the loss must be the network's. */
static int resume_open(const train_args *a, train_run *r, nn_loss *loss)
{
    nn_status st = nn_trainer_create(&r->trainer, NULL);
    if (st) return cli_lib_error("setting up the training", NULL, st, NULL);
    int rc = cli_resume_load(a->resume, r->trainer, &r->net, &r->opt,
                             &r->resumed);
    layer_def *got = NULL;
    size_t n_got = 0;
    if (!rc) rc = specs_from_net(r->net, &got, &n_got);
    if (!rc && r->specs) rc = same_layers(a, r->specs, r->n_layers, got, n_got);
    if (!rc && !r->specs) {
        r->specs = got;
        r->n_layers = n_got;
        got = NULL;
        rc = pick_loss(a, &r->specs[r->n_layers - 1], loss);
    }
    free(got);
    int64_t net_loss = -1;
    nn_net_get_int(r->net, NN_NET_LOSS, &net_loss);
    if (!rc && net_loss != *loss)
        rc = resume_differs(a, "--loss %s here, %s in the network",
                            cli_loss_name(*loss),
                            cli_loss_name((nn_loss)net_loss));
    return rc;
}

/* The optimizer options against the loaded optimizer's settings. */
static int same_optim(const train_args *a, const nn_net_t *net,
                      const nn_optim_t *got)
{
    static const int32_t keys[] = {NN_OPTIM_LR, NN_OPTIM_MOMENTUM_COEF,
                                   NN_OPTIM_BETA1, NN_OPTIM_BETA2,
                                   NN_OPTIM_EPS, NN_OPTIM_WEIGHT_DECAY,
                                   NN_OPTIM_CLIP_NORM};
    static const char *const names[] = {"lr", "momentum", "beta1", "beta2",
                                        "eps", "weight-decay", "clip"};
    nn_optim_t *want = NULL;
    nn_status st = make_optim(a, net, &want);
    if (st) return cli_lib_error("creating the optimizer", NULL, st, NULL);
    int rc = 0;
    if (strcmp(cli_optim_name(want), cli_optim_name(got)))
        rc = resume_differs(a, "--optim %s here, %s in the checkpoint",
                            cli_optim_name(want), cli_optim_name(got));
    for (size_t i = 0; !rc && i < sizeof keys / sizeof keys[0]; i++) {
        double w = 0, g = 0;
        nn_optim_get_real(want, keys[i], &w);
        nn_optim_get_real(got, keys[i], &g);
        if (w != g)
            rc = resume_differs(a, "--%s %.17g here, %.17g in the checkpoint",
                                names[i], w, g);
    }
    nn_optim_destroy(want);
    return rc;
}

/* The loaded network fits the data (its inputs); its optimizer, if any,
 * has the settings the options give. */
static int resume_fits(const train_args *a, train_run *r, size_t n_in)
{
    if (nn_net_n_in(r->net) != n_in)
        return resume_differs(a, "the data has %zu feature columns, the "
                              "network %zu inputs", n_in,
                              nn_net_n_in(r->net));
    return r->opt ? same_optim(a, r->net, r->opt) : 0;
}

/* After setup: checkpoints and signals on the trainer; a checkpoint's
 * progress resumed (NN_TRAIN_RESUME), a model file's state a new run. */
static int resume_arm(const train_args *a, train_run *r, bool root)
{
    /* (without a path, as on ranks other than 0, nothing to attach) */
    nn_status st = cli_ckpt_attach(&r->ckpt, r->trainer,
                                   root ? progress_report : NULL, &r->prog, r->net,
                                   r->opt);
    if (!st && r->resumed) st = nn_trainer_set_int(r->trainer,
                                                   NN_TRAIN_RESUME, 1);
    if (st) return cli_lib_error("setting up the training", NULL, st, NULL);
    if (a->resume && !a->quiet && root)
        fprintf(stderr, r->resumed ? "resuming the run of checkpoint %s\n"
                                   : "continuing from the weights and "
                                     "optimizer state of model %s (a new "
                                     "run: it holds no training progress)\n",
                cli_in_shown(a->resume));
    return 0;
}

static void run_free(train_run *r)
{
    cli_ckpt_free(&r->ckpt);
    cli_out_free(&r->model);
    cli_out_free(&r->hist);
    cli_out_free(&r->plot);
    progress_free(&r->prog);
    nn_trainer_destroy(r->trainer);
    nn_optim_destroy(r->opt);
    nn_net_destroy(r->net);
    nn_scaler_destroy(r->scaler);
    nn_scaler_destroy(r->tscaler);
    nn_data_destroy(r->data);
    nn_data_destroy(r->val);
    nn_data_destroy(r->test);
    cli_names_free(&r->names);
    free(r->specs);
}

/* The truth the rows carry fits the output layer: labels below its
 * classes, or as many targets as it has units. */
static int check_truth(const train_args *a, const train_run *r,
                       const nn_data_t *d)
{
    size_t n_out = r->specs[r->n_layers - 1].n_out;
    size_t k = nn_data_n_targets(d);
    if (k && k != n_out)
        return cli_error("--layers: the output layer has %zu unit%s but "
                         "--target names %zu column%s", n_out,
                         n_out == 1 ? "" : "s", k, k == 1 ? "" : "s");
    return cli_check_labels(&a->data, d, n_out == 1 ? 2 : n_out, n_out);
}

/* --val-csv: another file read with the same options (no split). */
static int load_val(const train_args *a, train_run *r)
{
    cli_data_opts v = a->data;
    v.csv = a->val_csv;
    v.split = false;
    cli_want w = {TRUTH_NEED, a->data.target != NULL,
                  nn_data_cols(r->data), 0};
    int rc = cli_load_data("train", &v, &w, &r->val);
    if (!rc) rc = check_truth(a, r, r->val);
    if (!rc && nn_data_n_targets(r->val) != nn_data_n_targets(r->data))
        rc = cli_error("%s: %zu target columns, %s has %zu",
                       cli_in_shown(a->val_csv), nn_data_n_targets(r->val),
                       cli_in_shown(a->data.csv),
                       nn_data_n_targets(r->data));
    return rc;
}

/* A data set's targets through a fitted target scaler. */
static int scale_targets_of(const nn_scaler_t *s, nn_data_t *d)
{
    if (!s || !d) return 0;
    nn_status st = nn_scaler_apply(s, nn_data_rows(d), NN_ROW_MAJOR,
                                   nn_data_targets(d), nn_data_n_targets(d));
    return st ? cli_error("train: scaling the targets: %s", nn_strerror(st))
              : 0;
}

/* --resume: the network carries the scalers of the run it continues;
 * they are applied as saved (never fitted again on these rows, which
 * would change what the model's inputs mean), --scale checked against
 * them as in eval. */
static int scale_as_resumed(const train_args *a, train_run *r)
{
    const nn_scaler_t *in = nn_net_get_scaler(r->net, NN_SCALER_INPUT);
    const nn_scaler_t *tg = nn_net_get_scaler(r->net, NN_SCALER_TARGET);
    nn_data_t *d[3] = {r->data, r->val, r->test};
    for (int i = 0; i < 3; i++) {
        int rc = 0;
        if (!d[i]) continue;
        if (in || a->data.scale != SCALE_DEFAULT)
            rc = cli_scale_data("train", &a->data, a->resume, in, d[i], NULL);
        if (!rc) rc = scale_targets_of(tg, d[i]);
        if (rc) return rc;
    }
    if (tg && !nn_data_n_targets(r->data))
        return resume_differs(a, "the network was trained on real-valued "
                              "targets: give --target");
    return 0;
}

/* Load, check, split and scale: the scalers are fitted on the training
 * rows alone and applied to the validation and test rows. */
static int load_all(const train_args *a, train_run *r)
{
    const char *c = "train";
    cli_want w = {TRUTH_NEED, a->data.target != NULL, 0, 0};
    int rc;
    if ((rc = cli_load_data(c, &a->data, &w, &r->data)) ||
        (rc = check_truth(a, r, r->data)) ||
        (rc = cli_names_take(r->data, &r->names)))
        return rc;
    if (a->data.split && (rc = cli_split(c, &a->data, &r->data, &r->test)))
        return rc;
    if (a->val_csv && (rc = load_val(a, r))) return rc;
    if (r->net) return scale_as_resumed(a, r); /* --resume: its scalers */
    if ((rc = cli_scale_data(c, &a->data, NULL, NULL, r->data, &r->scaler)))
        return rc;
    for (int i = 0; i < 2; i++) {
        nn_data_t *d = i ? r->test : r->val;
        if (d && r->scaler &&
            (rc = cli_scale_data(c, &a->data, "the training data", r->scaler,
                                 d, NULL)))
            return rc;
    }
    int tmode = a->scale_targets;
    if (tmode == SCALE_DEFAULT) tmode = a->data.target ? SCALE_STANDARD
                                                       : SCALE_NONE;
    if ((rc = cli_scale_targets(c, tmode, r->data, &r->tscaler)) ||
        (rc = scale_targets_of(r->tscaler, r->val)) ||
        (rc = scale_targets_of(r->tscaler, r->test)))
        return rc;
    return 0;
}

/* The network of --layers carrying the scalers. */
static int build_net(const train_args *a, nn_loss loss, train_run *r)
{
    size_t n_in = nn_data_cols(r->data), bad;
    if (r->net) return resume_fits(a, r, n_in); /* --resume */
    nn_status st = make_net(a, r->specs, r->n_layers, n_in, loss, &r->net,
                            &bad);
    if (st && bad != SIZE_MAX)
        return cli_error("--layers: layer %zu ('%s', %zu -> %zu): %s", bad + 1,
                         cli_cap(r->specs[bad].item),
                         bad ? r->specs[bad - 1].n_out : n_in,
                         r->specs[bad].n_out,
                         st == NN_ERR_TOO_LARGE
                             ? "too large (its size overflows)"
                             : nn_strerror(st));
    if (!st && r->scaler)
        st = nn_net_set_scaler(r->net, NN_SCALER_INPUT, r->scaler);
    if (!st && r->tscaler)
        st = nn_net_set_scaler(r->net, NN_SCALER_TARGET, r->tscaler);
    if (st) return cli_lib_error("creating the network", NULL, st, NULL);
    return 0;
}

/* Data, network (carrying the scalers), optimizer and trainer.
 * report: rank 0 (or the single process) records and shows the epochs. */
static int setup(const train_args *a, nn_loss loss, bool report,
                 train_run *r)
{
    int rc;
    if ((rc = load_all(a, r))) return rc;
    size_t m = nn_data_rows(r->data), n_in = nn_data_cols(r->data), n_val;
    if ((rc = val_rows(a, m, &n_val)) || (rc = build_net(a, loss, r)))
        return rc;
    if (r->val) n_val = nn_data_rows(r->val);
    nn_status st;
    if (!r->opt && (st = make_optim(a, r->net, &r->opt)))
        return cli_lib_error("creating the optimizer", NULL, st, NULL);
    r->batch_threads = pick_batch_threads(a, r->net, r->ranks);
    if ((st = make_trainer(a, r->batch_threads, report ? &r->prog : NULL,
                           &r->trainer)))
        return cli_lib_error("setting up the training", NULL, st, NULL);
    if (!a->quiet) {
        char arch[256];
        double lr = 0;
        nn_optim_get_real(r->opt, NN_OPTIM_LR, &lr);
        describe(r->specs, r->n_layers, n_in, arch, sizeof arch);
        fprintf(stderr, "training %s (loss %s, %zu parameters) on %zu rows "
                "(%zu for validation%s): %s lr %g, batch %zu, %zu epochs%s\n",
                arch, cli_loss_name(loss), nn_net_n_params(r->net),
                m + (r->val ? n_val : 0), n_val, r->val ? ", from --val-csv"
                                                         : "",
                cli_optim_name(r->opt), lr, a->batch, a->epochs,
                r->batch_threads ? ", batch-parallel threads" : "");
        if (r->test)
            fprintf(stderr, "holding out %zu rows for the test (--test-"
                    "fraction %g, seed %llu)\n", nn_data_rows(r->test),
                    a->data.test_fraction, (unsigned long long)a->seed);
    }
    return 0;
}

/* History and plot go to temporaries, the model is saved, then the
 * temporaries are renamed: a failure leaves every existing file as it was. */
static int write_outputs(const train_args *a, train_run *r)
{
    int rc;
    const char *tmp;
    history h;
    progress_history(&r->prog, r->trainer, &h);
    if (a->plot && ((rc = cli_out_temp_path(&r->plot, &tmp)) ||
                    (rc = plot_draw(a->plot, tmp, &h,
                                    &(plot_opts){"libnn train", false}))))
        return rc;
    if (a->history) {
        if ((rc = cli_out_open(&r->hist))) return rc;
        history_write(r->hist.f, &h);
    }
    /* the model's bytes go through the same writer as the other outputs
     * (stdout, devices and FIFOs in place, files atomically) */
    size_t size = 0;
    nn_status st = nn_model_save_mem(r->net, r->opt, NULL, 0, &size);
    unsigned char *buf = st ? NULL : malloc(size ? size : 1);
    if (!st && !buf) st = NN_ERR_NOMEM;
    if (!st) st = nn_model_save_mem(r->net, r->opt, buf, size, &size);
    if (st) {
        free(buf);
        return cli_lib_error("saving the model", a->output, st, NULL);
    }
    rc = cli_out_write(&r->model, buf, size);
    free(buf);
    if (rc) return rc;
    if (a->history && (rc = cli_out_commit(&r->hist))) return rc;
    if (a->plot && (rc = cli_out_commit(&r->plot))) return rc;
    return 0;
}

/* ------------------------------------------------------------ test */
/* The held-out rows' figures, in the targets' own units: the library's
 * metrics on scaled targets, MSE_j times s_j^2 and MAE_j times |s_j| for a
 * target scaler of scales s (R^2 does not change). */
typedef struct test_result {
    size_t rows, k; /* k: outputs (regression) or 0 (classification) */
    double loss, accuracy, mse, mae, r2;
    double *out; /* regression: 3k values, MSE_j, MAE_j, R2_j */
} test_result;

static nn_status test_regression(const train_run *r, nn_ctx_t *ctx,
                                 test_result *t)
{
    size_t k = nn_net_n_out(r->net);
    double *v = calloc(3 * k + 2 * k, sizeof *v), *s = v + 3 * k;
    if (!v) return NN_ERR_NOMEM;
    int32_t keys[4] = {NN_METRIC_LOSS, NN_METRIC_MSE_OUTPUTS,
                       NN_METRIC_MAE_OUTPUTS, NN_METRIC_R2_OUTPUTS};
    double *vals = calloc(1 + 3 * k, sizeof *vals);
    nn_status st = vals ? nn_net_evaluate(r->net, ctx, r->test, 4, keys, vals)
                        : NN_ERR_NOMEM;
    for (size_t j = 0; j < k; j++) s[j] = 1.0;
    if (!st && r->tscaler) st = nn_scaler_get_params(r->tscaler, NULL, s);
    if (!st) {
        t->loss = vals[0];
        t->mse = t->mae = t->r2 = 0;
        for (size_t j = 0; j < k; j++) {
            v[j] = vals[1 + j] * s[j] * s[j];
            v[k + j] = vals[1 + k + j] * fabs(s[j]);
            v[2 * k + j] = vals[1 + 2 * k + j];
            t->mse += v[j] / (double)k;
            t->mae += v[k + j] / (double)k;
            t->r2 += v[2 * k + j] / (double)k;
        }
        t->k = k;
        t->out = v;
    } else {
        free(v);
    }
    free(vals);
    return st;
}

static int test_eval(const train_run *r, test_result *t)
{
    memset(t, 0, sizeof *t);
    t->rows = nn_data_rows(r->test);
    nn_ctx_t *ctx = NULL;
    size_t cap = t->rows < 1024 ? t->rows : 1024;
    nn_status st = nn_ctx_create(&ctx, r->net, cap, NULL);
    if (!st && nn_data_n_targets(r->test)) {
        st = test_regression(r, ctx, t);
    } else if (!st) {
        int32_t keys[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
        double vals[2];
        st = nn_net_evaluate(r->net, ctx, r->test, 2, keys, vals);
        t->loss = vals[0];
        t->accuracy = vals[1];
    }
    nn_ctx_destroy(ctx);
    if (st) return cli_lib_error("evaluating the test rows", NULL, st, NULL);
    return 0;
}

static void print_test(FILE *f, const test_result *t)
{
    if (t->k)
        fprintf(f, "test (%zu rows held out): MSE %.6g, RMSE %.6g, MAE "
                "%.6g, R^2 %.6f\n", t->rows, t->mse, sqrt(t->mse), t->mae,
                t->r2);
    else
        fprintf(f, "test (%zu rows held out): loss %.4f, accuracy %.4f\n",
                t->rows, t->loss, t->accuracy);
}

/* ------------------------------------------------------------ json */
static json_t *json_history(const progress *p)
{
    json_t *h = json_array();
    for (size_t i = 0; h && i < p->n; i++) {
        const nn_report *e = &p->hist[i];
        json_t *o = json_object();
        int bad = !o;
        bad |= cli_json_set(o, "epoch", json_integer((json_int_t)e->epoch));
        bad |= cli_json_set(o, "train_loss", cli_json_num(e->train_loss));
        bad |= cli_json_set(o, "val_loss", cli_json_num(e->val_loss));
        bad |= cli_json_set(o, "val_accuracy",
                            cli_json_num(e->val_accuracy));
        bad |= cli_json_set(o, "lr", cli_json_num(e->lr));
        bad |= cli_json_set(o, "seconds", cli_json_num(e->seconds));
        if (bad || json_array_append_new(h, o)) {
            json_decref(h);
            return NULL;
        }
    }
    return h;
}

static json_t *json_test(const train_run *r, const test_result *t)
{
    json_t *o = json_object();
    int bad = !o;
    bad |= cli_json_set(o, "rows", json_integer((json_int_t)t->rows));
    if (!t->k) { /* (a regression loss would be in scaled units) */
        bad |= cli_json_set(o, "loss", cli_json_num(t->loss));
        bad |= cli_json_set(o, "accuracy", cli_json_num(t->accuracy));
        return bad ? (json_decref(o), NULL) : o;
    }
    bad |= cli_json_set(o, "mse", cli_json_num(t->mse));
    bad |= cli_json_set(o, "rmse", cli_json_num(sqrt(t->mse)));
    bad |= cli_json_set(o, "mae", cli_json_num(t->mae));
    bad |= cli_json_set(o, "r2", cli_json_num(t->r2));
    json_t *outs = json_array();
    bad |= cli_json_set(o, "outputs", outs);
    for (size_t j = 0; !bad && j < t->k; j++) {
        json_t *e = json_object();
        const char *name = j < r->names.k ? r->names.target[j] : NULL;
        bad |= !e;
        bad |= cli_json_set(e, "name", cli_json_str(name));
        bad |= cli_json_set(e, "mse", cli_json_num(t->out[j]));
        bad |= cli_json_set(e, "mae", cli_json_num(t->out[t->k + j]));
        bad |= cli_json_set(e, "r2", cli_json_num(t->out[2 * t->k + j]));
        bad |= json_array_append_new(outs, e) != 0;
    }
    return bad ? (json_decref(o), NULL) : o;
}

/* The run as one JSON object (--json), on stdout. */
static int print_json(const train_args *a, const train_run *r, int ranks,
                      const test_result *t)
{
    int64_t epochs = 0, best = 0, early = 0, steps = 0;
    double seconds = 0, loss = NAN, best_val = NAN;
    nn_trainer_get_int(r->trainer, NN_TRAIN_EPOCHS_RUN, &epochs);
    nn_trainer_get_int(r->trainer, NN_TRAIN_BEST_EPOCH, &best);
    nn_trainer_get_int(r->trainer, NN_TRAIN_STOPPED_EARLY, &early);
    nn_trainer_get_int(r->trainer, NN_TRAIN_STEPS_RUN, &steps);
    nn_trainer_get_real(r->trainer, NN_TRAIN_SECONDS, &seconds);
    nn_trainer_get_real(r->trainer, NN_TRAIN_FINAL_LOSS, &loss);
    nn_trainer_get_real(r->trainer, NN_TRAIN_BEST_VAL_LOSS, &best_val);
    const nn_report *last = r->prog.n ? &r->prog.hist[r->prog.n - 1] : NULL;
    json_t *o = json_object();
    int bad = !o;
    bad |= cli_json_set(o, "model", cli_json_str(a->output));
    bad |= cli_json_set(o, "task", json_string(nn_data_n_targets(r->data)
                                                   ? "regression"
                                                   : "classification"));
    bad |= cli_json_set(o, "parameters",
                        json_integer((json_int_t)nn_net_n_params(r->net)));
    bad |= cli_json_set(o, "rows", json_integer((json_int_t)nn_data_rows(
                                        r->data)));
    bad |= cli_json_set(o, "epochs_run", json_integer(epochs));
    bad |= cli_json_set(o, "steps", json_integer(steps));
    bad |= cli_json_set(o, "stopped_early", json_boolean(early));
    bad |= cli_json_set(o, "best_epoch", best ? json_integer(best)
                                              : json_null());
    bad |= cli_json_set(o, "seconds", cli_json_num(seconds));
    bad |= cli_json_set(o, "train_loss", cli_json_num(loss));
    bad |= cli_json_set(o, "val_loss", cli_json_num(last ? last->val_loss
                                                          : NAN));
    bad |= cli_json_set(o, "val_accuracy",
                        cli_json_num(last ? last->val_accuracy : NAN));
    bad |= cli_json_set(o, "best_val_loss", cli_json_num(best_val));
    bad |= cli_json_set(o, "mpi_ranks", json_integer(ranks ? ranks : 1));
    bad |= cli_json_set(o, "history", json_history(&r->prog));
    if (r->test) bad |= cli_json_set(o, "test", json_test(r, t));
    return cli_json_emit(o, stdout, !bad);
}

/* stdout carries an output (-o -, --history -, --plot -) or the --json
 * object: the summary lines go to stderr so that they do not corrupt it. */
static FILE *summary_stream(const train_args *a, const train_run *r)
{
    return a->json || r->model.kind == OUT_STDOUT ||
                   (a->history && r->hist.kind == OUT_STDOUT) ||
                   (a->plot && r->plot.kind == OUT_STDOUT)
               ? stderr : stdout;
}

/* ranks: how many trained data-parallel, 0 for a single process. */
static void print_summary(const train_args *a, const train_run *r,
                          int ranks)
{
    int64_t epochs = 0, best = 0, early = 0;
    double seconds = 0, loss = NAN;
    nn_trainer_get_int(r->trainer, NN_TRAIN_EPOCHS_RUN, &epochs);
    nn_trainer_get_int(r->trainer, NN_TRAIN_BEST_EPOCH, &best);
    nn_trainer_get_int(r->trainer, NN_TRAIN_STOPPED_EARLY, &early);
    nn_trainer_get_real(r->trainer, NN_TRAIN_SECONDS, &seconds);
    nn_trainer_get_real(r->trainer, NN_TRAIN_FINAL_LOSS, &loss);
    const nn_report *lr = r->prog.n ? &r->prog.hist[r->prog.n - 1] : NULL;
    FILE *f = summary_stream(a, r);
    fprintf(f, "saved %s: %lld epoch%s in %.*f s%s, train loss %.4f",
            strcmp(a->output, "-") ? a->output : "the model to stdout",
            (long long)epochs, epochs == 1 ? "" : "s",
            seconds < 10 ? 3 : 1, seconds, /* a fast run is not "0.0 s" */
            early ? " (stopped early)" : "", loss);
    if (lr && !isnan(lr->val_loss)) {
        fprintf(f, ", val loss %.4f", lr->val_loss);
        if (!isnan(lr->val_accuracy))
            fprintf(f, ", val accuracy %.4f", lr->val_accuracy);
        fprintf(f, " (best val loss: epoch %lld)", (long long)best);
    }
    if (ranks)
        fprintf(f, ", trained on %d MPI rank%s", ranks, ranks == 1 ? "" : "s");
    fprintf(f, "\n");
    fflush(f);
}

/* Rank 0 after a run: the test figures, the outputs, the summary (text
 * on stdout or stderr, or the --json object on stdout). */
static int finish(const train_args *a, const train_run *r, int ranks)
{
    test_result t;
    memset(&t, 0, sizeof t);
    int rc = r->test ? test_eval(r, &t) : 0;
    if (!rc) rc = write_outputs(a, (train_run *)r);
    if (!rc) { /* the summary (and test) lines even under --quiet */
        print_summary(a, r, ranks);
        if (r->test)
            print_test(summary_stream(a, r), &t);
        if (a->json) rc = print_json(a, r, ranks, &t);
    }
    free(t.out);
    return rc;
}

/* A failed training: nn_mpi_train refuses ranks whose settings or data
 * differ (NN_ERR_INVALID on every rank), which the tool's own checks
 * cannot cause otherwise. */
static int train_failed(const cli_mpi *mpi, nn_status st)
{
    int n = cli_mpi_size(mpi);
    if (!mpi) return cli_lib_error("training failed", NULL, st, NULL);
    if (st == NN_ERR_INVALID)
        return cli_error("training on %d MPI rank%s failed: %s (do all ranks "
                         "read the same data files?)", n, n == 1 ? "" : "s",
                         nn_strerror(st));
    return cli_error("training on %d MPI rank%s failed: %s", n,
                     n == 1 ? "" : "s", nn_strerror(st));
}

/* Everything before the first collective: arguments, outputs, data,
 * network, optimizer, trainer; work that may fail on one rank only. */
static int prepare(int argc, char **argv, const cli_mpi *mpi, train_args *a,
                   train_run *r, nn_loss *loss)
{
    memset(a, 0, sizeof *a);
    a->loss = -1;
    a->kind = NN_OPTIM_ADAM;
    a->epochs = 10;
    a->batch = 64;
    a->init = NN_INIT_DEFAULT;
    a->schedule = NN_SCHED_CONSTANT;
    int rc = cli_parse("train", argc, argv, train_opts, train_opt, a);
    if (rc || (rc = check_args(a))) return rc;
    bool root = cli_mpi_rank(mpi) == 0;
    if (!root) a->quiet = true; /* rank 0 speaks for all */
    progress_init(&r->prog, a->quiet, cli_mpi_size(mpi) == 1);
    /* with --resume, --layers may be left out: the file's network */
    if ((a->layers && (rc = parse_layers(a->layers, &r->specs,
                                         &r->n_layers))) ||
        (a->layers && (rc = pick_loss(a, &r->specs[r->n_layers - 1], loss))) ||
        (rc = check_env(a, r, mpi)) ||
        (a->resume && (rc = resume_open(a, r, loss))) ||
        (rc = setup(a, *loss, root, r)) || (rc = resume_arm(a, r, root)))
        return rc;
    return 0;
}

/* Collective from here on: train, then rank 0 writes the outputs. */
static int train_and_save(const train_args *a, train_run *r, cli_mpi *mpi)
{
    int rc = 0;
    cli_ckpt_arm(&r->ckpt); /* SIGINT, SIGTERM: pause and checkpoint */
    nn_status st = cli_mpi_train(mpi, r->trainer, r->net, r->opt, r->data,
                                 r->val);
    cli_ckpt_disarm();
    progress_end(&r->prog);
    if (r->prog.nomem)
        rc = cli_error("out of memory recording the training history");
    else if (st == NN_ERR_INVALID && r->resumed)
        rc = resume_differs(a, "the data, --batch, --seed, --val-fraction, "
                            "--patience, --restore-best, the schedule and "
                            "--lr must be the checkpointed run's, --epochs "
                            "at least the epochs it began");
    else if (st)
        rc = train_failed(mpi, st);
    else if ((rc = cli_ckpt_finish(&r->ckpt, r->trainer)))
        ; /* paused by a signal (checkpoint written), or a failed save */
    else if (cli_mpi_rank(mpi) == 0)
        rc = finish(a, r, mpi ? cli_mpi_size(mpi) : 0);
    /* a failed write on rank 0 fails every rank alike */
    return cli_mpi_agree(mpi, rc);
}

static int train_main(int argc, char **argv, cli_mpi *mpi)
{
    if (cli_wants_help(argc, argv)) {
        if (cli_mpi_rank(mpi) == 0) {
            fputs(train_help, stdout);
            fputs(train_help_opt, stdout);
            fputs(train_help_out, stdout);
        }
        return 0;
    }
    train_args a;
    train_run r;
    memset(&r, 0, sizeof r);
    r.model.fd = r.hist.fd = r.plot.fd = r.ckpt.out.fd = -1;
    nn_loss loss = NN_LOSS_MSE;
    int rc = prepare(argc, argv, mpi, &a, &r, &loss);
    /* a failure on any rank, agreed before the training's collectives */
    if (!(rc = cli_mpi_agree(mpi, rc))) rc = train_and_save(&a, &r, mpi);
    run_free(&r);
    return rc;
}

/* Under an MPI launcher every rank runs this, and MPI is finalized on
 * every path; otherwise MPI is never touched. */
int cmd_train(int argc, char **argv)
{
    cli_mpi *mpi = NULL;
    int rc = cli_mpi_begin(&mpi);
    if (rc) return rc;
    return cli_mpi_end(mpi, train_main(argc, argv, mpi));
}
