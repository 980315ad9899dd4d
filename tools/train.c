/* train.c — `nn train`: build a network from --layers, train it with
 * nn_train on IDX or CSV data, save it atomically with its optimizer state;
 * optional per-epoch history CSV and gnuplot plot. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static const char *const train_help =
"usage: nn train (--csv FILE [--header] [--label-col N] |\n"
"                 --images FILE --labels FILE) --layers SPEC -o MODEL [options]\n"
"\n"
"Train a network and save it to MODEL (written atomically at the end, with\n"
"the optimizer state; a failed run leaves any existing MODEL untouched).\n"
"\n"
"Data:\n"
"  --csv FILE            numeric CSV (gzip ok); the label column is the last\n"
"                        one unless --label-col says otherwise\n"
"  --header              the CSV's first line is a header\n"
"  --label-col N|last    0-based label column of the CSV (default: last)\n"
"  --images FILE         IDX features (MNIST family, gzip ok)\n"
"  --labels FILE         IDX labels for --images\n"
"  --scale none|255      divide every feature by 255, or not (default: 255\n"
"                        for --images, none for --csv); pass the same to\n"
"                        nn eval / nn predict\n"
"Network:\n"
"  --layers SPEC         comma-separated layers UNITS:ACT[:drop=P], ACT one of\n"
"                        identity, sigmoid, tanh, relu, leaky[=SLOPE], softmax;\n"
"                        e.g. 256:relu:drop=0.2,128:relu,10:softmax\n"
"  --loss ce|bce|mse     (default: ce for a softmax output, bce for a sigmoid\n"
"                        output, mse otherwise)\n"
"  --init SCHEME         default, glorot, glorot-normal, he, he-normal,\n"
"                        orthogonal, zero (default: default)\n"
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
"  --threads N           BLAS threads (default: the BLAS library's)\n"
"Output:\n"
"  -o, --output MODEL    model file to write (required)\n"
"  --history FILE.csv    per-epoch CSV: epoch,train_loss,val_loss,\n"
"                        val_accuracy,lr,seconds\n"
"  --plot FILE.svg|png   plot of the loss and accuracy curves (needs gnuplot)\n"
"  -q, --quiet           no progress output\n"
"  -h, --help            this help\n";

enum {
    T_LAYERS = 1, T_LOSS, T_INIT, T_OPTIM, T_LR, T_MOMENTUM, T_BETA1, T_BETA2,
    T_EPS, T_WD, T_CLIP, T_EPOCHS, T_BATCH, T_VALFRAC, T_PATIENCE,
    T_RESTORE, T_SCHEDULE, T_GAMMA, T_STEP_EPOCHS, T_LR_MIN, T_SEED,
    T_THREADS, T_OUTPUT, T_HISTORY, T_PLOT, T_QUIET, T_HELP
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
    bool restore_best, quiet;
} train_args;

static int train_opt(void *ctx, const cli_opt *o, const char *v)
{
    train_args *a = ctx;
    const char *c = "train";
    const double NA = NAN;
    if (!o) return cli_usage_error(c, "unexpected argument '%s'", v);
    if (o->id >= CLI_DATA_BASE) return cli_data_opt(c, &a->data, o->id, v);
    switch (o->id) {
    case T_LAYERS: a->layers = v; return 0;
    case T_LOSS:
        if (!strcmp(v, "ce")) a->loss = NN_LOSS_SOFTMAX_CE;
        else if (!strcmp(v, "bce")) a->loss = NN_LOSS_BCE;
        else if (!strcmp(v, "mse")) a->loss = NN_LOSS_MSE;
        else
            return cli_usage_error(c, "--loss expects ce, bce or mse, got "
                                   "'%s'", v);
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
                               "zero, got '%s'", v);
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
                                   "nesterov, adam or adamw, got '%s'", v);
        return 0;
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
    case T_EPOCHS: return cli_size(c, "epochs", v, 1, &a->epochs);
    case T_BATCH: return cli_size(c, "batch", v, 1, &a->batch);
    case T_VALFRAC:
        return cli_double(c, "val-fraction", v, 0, true, 1, false,
                          "a number in [0, 1)", &a->val_fraction);
    case T_PATIENCE: return cli_size(c, "patience", v, 0, &a->patience);
    case T_RESTORE: a->restore_best = true; return 0;
    case T_SCHEDULE:
        if (!strcmp(v, "constant")) a->schedule = NN_SCHED_CONSTANT;
        else if (!strcmp(v, "step")) a->schedule = NN_SCHED_STEP;
        else if (!strcmp(v, "cosine")) a->schedule = NN_SCHED_COSINE;
        else
            return cli_usage_error(c, "--schedule expects constant, step or "
                                   "cosine, got '%s'", v);
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
    case T_SEED: return cli_u64(c, "seed", v, &a->seed);
    case T_THREADS: return cli_size(c, "threads", v, 1, &a->threads);
    case T_OUTPUT: a->output = v; return 0;
    case T_HISTORY: a->history = v; return 0;
    case T_PLOT: a->plot = v; return 0;
    case T_QUIET: a->quiet = true; return 0;
    }
    return 0;
}

/* ------------------------------------------------------------ --layers */
static int layers_error(const char *spec, size_t layer, const char *item,
                        const char *what)
{
    return cli_usage_error("train", "bad --layers spec '%s': layer %zu "
                           "('%s'): %s", spec, layer, item, what);
}

/* Parses SPEC into a malloc'ed array; returns 0 or EXIT_USAGE. */
static int parse_layers(const char *spec, nn_layer_spec **out, size_t *n_out)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++) n += *p == ',';
    char *copy = malloc(strlen(spec) + 1);
    nn_layer_spec *specs = calloc(n, sizeof *specs);
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
        char shown[96];
        snprintf(shown, sizeof shown, "%s", item);
        nn_layer_spec *s = &specs[i];
        /* UNITS */
        char *colon = strchr(item, ':');
        if (!*item) {
            rc = layers_error(spec, i + 1, shown, "empty layer");
            break;
        }
        if (colon) *colon = '\0';
        char *end;
        errno = 0;
        unsigned long long u = strtoull(item, &end, 10);
        if (*item < '0' || *item > '9' || *end || errno || u == 0 ||
            u > SIZE_MAX) {
            rc = layers_error(spec, i + 1, shown,
                              "expected a number of units >= 1 before ':'");
            break;
        }
        s->n_out = (size_t)u;
        if (!colon) {
            rc = layers_error(spec, i + 1, shown, "expected UNITS:ACTIVATION "
                              "(identity, sigmoid, tanh, relu, "
                              "leaky[=SLOPE], softmax)");
            break;
        }
        /* ACT[=PARAM] */
        char *act = colon + 1;
        char *rest = strchr(act, ':');
        if (rest) *rest++ = '\0';
        char *eq = strchr(act, '=');
        if (eq) *eq++ = '\0';
        static const struct { const char *n; nn_activation a; } acts[] = {
            {"identity", NN_ACT_IDENTITY}, {"linear", NN_ACT_IDENTITY},
            {"sigmoid", NN_ACT_SIGMOID}, {"tanh", NN_ACT_TANH},
            {"relu", NN_ACT_RELU}, {"leaky", NN_ACT_LEAKY_RELU},
            {"leaky-relu", NN_ACT_LEAKY_RELU}, {"softmax", NN_ACT_SOFTMAX}};
        bool found = false;
        for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++)
            if (!strcmp(act, acts[k].n)) {
                s->act = acts[k].a;
                found = true;
            }
        if (!found) {
            char msg[200];
            snprintf(msg, sizeof msg, "unknown activation '%.40s' (expected "
                     "identity, sigmoid, tanh, relu, leaky[=SLOPE] or "
                     "softmax)", act);
            rc = layers_error(spec, i + 1, shown, msg);
            break;
        }
        if (s->act == NN_ACT_LEAKY_RELU) s->act_param = 0.01;
        if (eq) {
            double v;
            if (s->act != NN_ACT_LEAKY_RELU) {
                rc = layers_error(spec, i + 1, shown, "only leaky takes a "
                                  "parameter (leaky=SLOPE)");
                break;
            }
            v = strtod(eq, &end);
            if (!*eq || *end || !isfinite(v) || v < 0) {
                rc = layers_error(spec, i + 1, shown,
                                  "leaky=SLOPE expects a number >= 0");
                break;
            }
            s->act_param = v;
        }
        /* :drop=P */
        if (rest) {
            double v = -1;
            if (!strncmp(rest, "drop=", 5)) {
                v = strtod(rest + 5, &end);
                if (!rest[5] || *end || !isfinite(v)) v = -1;
            } else {
                rc = layers_error(spec, i + 1, shown,
                                  "expected ':drop=P' after the activation");
                break;
            }
            if (!(v >= 0 && v < 1)) {
                rc = layers_error(spec, i + 1, shown,
                                  "drop=P expects a number in [0, 1)");
                break;
            }
            if (i == n - 1 && v > 0) {
                rc = layers_error(spec, i + 1, shown,
                                  "no dropout on the output layer");
                break;
            }
            s->dropout = v;
        }
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

/* ------------------------------------------------------------ progress */
typedef struct progress {
    bool tty, quiet;
    size_t shown; /* length of the last tty line */
    nn_epoch_report *hist;
    size_t n, cap;
    bool nomem;
    double elapsed;
} progress;

static void fmt_time(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

static int on_epoch(const nn_epoch_report *r, void *ctx)
{
    progress *p = ctx;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        nn_epoch_report *h = realloc(p->hist, cap * sizeof *h);
        if (!h) {
            p->nomem = true;
            return 1;
        }
        p->hist = h;
        p->cap = cap;
    }
    p->hist[p->n++] = *r;
    p->elapsed += r->seconds;
    if (p->quiet) return 0;
    bool val = !isnan(r->val_loss);
    char line[300], eta[32], vals[96] = "";
    fmt_time(eta, sizeof eta,
             p->elapsed / (double)r->epoch * (double)(r->epochs - r->epoch));
    if (val)
        snprintf(vals, sizeof vals, "  val loss %.4f  val acc %.4f",
                 r->val_loss, r->val_accuracy);
    if (p->tty) {
        char bar[21];
        size_t fill = r->epochs ? r->epoch * 20 / r->epochs : 20;
        for (size_t i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        int k = snprintf(line, sizeof line, "epoch %zu/%zu [%s] loss %.4f%s"
                         "  lr %.2e  ETA %s", r->epoch, r->epochs, bar,
                         r->train_loss, vals, r->lr, eta);
        size_t len = k > 0 ? (size_t)k : 0;
        fprintf(stderr, "\r%s", line);
        for (size_t i = len; i < p->shown; i++) fputc(' ', stderr);
        p->shown = len;
    } else {
        fprintf(stderr, "epoch %zu/%zu  train loss %.4f%s  lr %.2e  %.2f s"
                "  ETA %s\n", r->epoch, r->epochs, r->train_loss, vals,
                r->lr, r->seconds, eta);
    }
    fflush(stderr);
    return 0;
}

/* ------------------------------------------------------------ gnuplot */
static bool have_gnuplot(void)
{
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char *argv[] = {"gnuplot", "--version", NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suf[i]) return false;
    }
    return true;
}

/* gnuplot single-quoted string: '' stands for one quote. */
static void gp_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void put_num(FILE *f, double v)
{
    if (isnan(v)) fputs("nan", f);
    else fprintf(f, "%.9g", v);
}

/* Draws the curves into `tmp` (already created). */
static int draw_plot(const char *plot, const char *tmp, const progress *p)
{
    bool svg = ends_with(plot, ".svg");
    bool val = p->n && !isnan(p->hist[0].val_loss);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g) {
        signal(SIGPIPE, old);
        return cli_error("%s: cannot run gnuplot: %s", plot, strerror(errno));
    }
    if (svg)
        fputs("set terminal svg size 900,540 dynamic background rgb 'white'\n",
              g);
    else
        fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
              "{ set terminal pngcairo size 900,540 } "
              "else { set terminal png size 900,540 }\n", g);
    fputs("set output ", g);
    gp_quoted(g, tmp);
    fputs("\nset datafile separator ','\n"
          "set title 'nn train'\nset xlabel 'epoch'\nset ylabel 'loss'\n"
          "set grid\nset key outside bottom center horizontal\n"
          "set xtics nomirror\nset ytics nomirror\n", g);
    if (val) fputs("set y2label 'validation accuracy'\nset y2tics\n", g);
    fputs("$h << EOD\n", g);
    for (size_t i = 0; i < p->n; i++) {
        const nn_epoch_report *r = &p->hist[i];
        fprintf(g, "%zu,", r->epoch);
        put_num(g, r->train_loss);
        fputc(',', g);
        put_num(g, r->val_loss);
        fputc(',', g);
        put_num(g, r->val_accuracy);
        fputc('\n', g);
    }
    fputs("EOD\n", g);
    fputs("plot $h using 1:2 with linespoints title 'training loss'", g);
    if (val)
        fputs(", $h using 1:3 with linespoints title 'validation loss', "
              "$h using 1:4 axes x1y2 with linespoints "
              "title 'validation accuracy'", g);
    fputs("\nset output\n", g);
    int status = pclose(g);
    signal(SIGPIPE, old);
    struct stat sb;
    if (status != 0 || stat(tmp, &sb) != 0 || sb.st_size == 0)
        return cli_error("%s: gnuplot failed to draw the plot (exit status "
                         "%d)", plot,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* ------------------------------------------------------------ train */
static void describe(const nn_layer_spec *s, size_t n, size_t n_in,
                     char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "%zu", n_in);
    for (size_t i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "-%zu", s[i].n_out);
}

int cmd_train(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(train_help, stdout);
        return 0;
    }
    train_args a;
    memset(&a, 0, sizeof a);
    a.loss = -1;
    a.kind = NN_OPTIM_ADAM;
    a.epochs = 10;
    a.batch = 64;
    a.init = NN_INIT_DEFAULT;
    a.schedule = NN_SCHED_CONSTANT;
    int rc = cli_parse("train", argc, argv, train_opts, train_opt, &a);
    if (rc) return rc;
    const char *c = "train";
    if (!a.output) return cli_usage_error(c, "missing --output MODEL");
    if (!a.layers) return cli_usage_error(c, "missing --layers SPEC");
    if ((rc = cli_data_check(c, &a.data, true))) return rc;
    if (a.set_momentum && a.kind != NN_OPTIM_MOMENTUM &&
        a.kind != NN_OPTIM_NESTEROV)
        return cli_usage_error(c, "--momentum applies to --optim momentum or "
                               "nesterov");
    if ((a.set_beta1 || a.set_beta2 || a.set_eps) && a.kind != NN_OPTIM_ADAM)
        return cli_usage_error(c, "--beta1, --beta2 and --eps apply to "
                               "--optim adam or adamw");
    if ((a.set_gamma || a.set_step_epochs) && a.schedule != NN_SCHED_STEP)
        return cli_usage_error(c, "--gamma and --step-epochs apply to "
                               "--schedule step");
    if (a.set_lr_min && a.schedule != NN_SCHED_COSINE)
        return cli_usage_error(c, "--lr-min applies to --schedule cosine");
    if (a.patience > 0 && a.val_fraction == 0)
        return cli_usage_error(c, "--patience needs validation data "
                               "(--val-fraction > 0)");
    if (a.restore_best && a.val_fraction == 0)
        return cli_usage_error(c, "--restore-best needs validation data "
                               "(--val-fraction > 0)");
    if (a.plot && !ends_with(a.plot, ".svg") && !ends_with(a.plot, ".png"))
        return cli_usage_error(c, "--plot expects a file name ending in .svg "
                               "or .png, got '%s'", a.plot);

    nn_layer_spec *specs = NULL;
    size_t n_layers = 0;
    if ((rc = parse_layers(a.layers, &specs, &n_layers))) return rc;
    const nn_layer_spec *last = &specs[n_layers - 1];
    nn_loss loss;
    if (a.loss >= 0) loss = (nn_loss)a.loss;
    else if (last->act == NN_ACT_SOFTMAX) loss = NN_LOSS_SOFTMAX_CE;
    else if (last->act == NN_ACT_SIGMOID) loss = NN_LOSS_BCE;
    else loss = NN_LOSS_MSE;
    if (loss == NN_LOSS_SOFTMAX_CE && last->act != NN_ACT_SOFTMAX)
        rc = cli_usage_error(c, "--loss ce needs a softmax output layer "
                             "(the last layer of --layers is %s)",
                             cli_act_name(last->act));
    else if (loss == NN_LOSS_BCE && last->act != NN_ACT_SIGMOID)
        rc = cli_usage_error(c, "--loss bce needs a sigmoid output layer "
                             "(the last layer of --layers is %s)",
                             cli_act_name(last->act));
    if (rc) {
        free(specs);
        return rc;
    }

    /* Environment checks before any work. */
    if (a.plot && !have_gnuplot()) {
        free(specs);
        return cli_error("--plot %s: gnuplot is not installed or not in PATH "
                         "(install the gnuplot package, or drop --plot)",
                         a.plot);
    }
    if ((rc = cli_check_writable(a.output, "--output")) ||
        (a.history && (rc = cli_check_writable(a.history, "--history"))) ||
        (a.plot && (rc = cli_check_writable(a.plot, "--plot")))) {
        free(specs);
        return rc;
    }
    if (a.threads) {
        nn_status st = nn_set_num_threads(a.threads);
        if (st) {
            free(specs);
            return cli_usage_error(c, "--threads %zu: %s", a.threads,
                                   nn_strerror(st));
        }
    }

    nn_data_t *data = NULL;
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    progress prog = {.tty = isatty(2) == 1, .quiet = a.quiet};
    cli_out hist = {0};
    char *plot_tmp = NULL;
    nn_status st;

    if ((rc = cli_load_data(c, &a.data, true, 0, &data))) goto out;
    size_t m = nn_data_rows(data), n_in = nn_data_cols(data);
    size_t n_out = last->n_out, k = n_out == 1 ? 2 : n_out;
    if ((rc = cli_check_labels(&a.data, data, k, n_out))) goto out;
    size_t n_val = 0;
    if (a.val_fraction > 0) {
        double r = nearbyint(a.val_fraction * (double)m);
        n_val = (size_t)r;
        if (r < 1 || r >= (double)m) {
            rc = cli_error("%s: --val-fraction %g of %zu rows leaves %s "
                           "(need at least one row on each side)",
                           cli_data_name(&a.data), a.val_fraction, m,
                           r < 1 ? "no validation rows" : "no training rows");
            goto out;
        }
    }

    st = nn_net_create(&net, n_in, n_layers, specs, loss, NULL);
    if (!st) st = nn_net_init(net, a.init, a.seed);
    if (st) {
        rc = cli_lib_error("creating the network", NULL, st, NULL);
        goto out;
    }
    nn_optim_config oc;
    nn_optim_config_default(&oc, a.kind);
    oc.decoupled = a.decoupled;
    if (a.set_lr) oc.lr = a.lr;
    if (a.set_momentum) oc.momentum = a.momentum;
    if (a.set_beta1) oc.beta1 = a.beta1;
    if (a.set_beta2) oc.beta2 = a.beta2;
    if (a.set_eps) oc.eps = a.eps;
    oc.weight_decay = a.wd;
    oc.clip_norm = a.clip;
    st = nn_optim_create(&opt, net, &oc, NULL);
    if (st) {
        rc = cli_lib_error("creating the optimizer", NULL, st, NULL);
        goto out;
    }
    nn_train_config tc;
    nn_train_config_default(&tc);
    tc.epochs = a.epochs;
    tc.batch_size = a.batch;
    tc.seed = a.seed;
    tc.val_fraction = a.val_fraction;
    tc.patience = a.patience;
    tc.restore_best = a.restore_best || a.patience > 0;
    tc.schedule = a.schedule;
    if (a.set_gamma) tc.gamma = a.gamma;
    if (a.set_step_epochs) tc.step_epochs = a.step_epochs;
    if (a.set_lr_min) tc.lr_min = a.lr_min;
    tc.callback = on_epoch;
    tc.callback_ctx = &prog;

    if (!a.quiet) {
        char arch[256];
        describe(specs, n_layers, n_in, arch, sizeof arch);
        fprintf(stderr, "training %s (loss %s, %zu parameters) on %zu rows "
                "(%zu for validation): %s lr %g, batch %zu, %zu epochs\n",
                arch, cli_loss_name(loss), nn_net_n_params(net), m, n_val,
                cli_optim_name(&oc), oc.lr, a.batch, a.epochs);
    }
    nn_train_result res;
    st = nn_train(net, opt, data, NULL, &tc, NULL, &res);
    if (prog.tty && !a.quiet && prog.n) fputc('\n', stderr);
    if (prog.nomem) {
        rc = cli_error("out of memory recording the training history");
        goto out;
    }
    if (st) {
        rc = cli_lib_error("training failed", NULL, st, NULL);
        goto out;
    }

    /* History and plot go to temporaries; renamed once the model is in. */
    if (a.history) {
        if ((rc = cli_out_open(&hist, a.history))) goto out;
        fputs("epoch,train_loss,val_loss,val_accuracy,lr,seconds\n", hist.f);
        for (size_t i = 0; i < prog.n; i++) {
            const nn_epoch_report *r = &prog.hist[i];
            fprintf(hist.f, "%zu,", r->epoch);
            put_num(hist.f, r->train_loss);
            fputc(',', hist.f);
            put_num(hist.f, r->val_loss);
            fputc(',', hist.f);
            put_num(hist.f, r->val_accuracy);
            fputc(',', hist.f);
            put_num(hist.f, r->lr);
            fputc(',', hist.f);
            put_num(hist.f, r->seconds);
            fputc('\n', hist.f);
        }
    }
    if (a.plot) {
        plot_tmp = cli_temp_beside(a.plot);
        if (!plot_tmp) {
            rc = EXIT_RUNTIME;
            goto out;
        }
        if ((rc = draw_plot(a.plot, plot_tmp, &prog))) goto out;
    }
    nn_error_info err;
    memset(&err, 0, sizeof err);
    st = nn_model_save(a.output, net, opt, &err);
    if (st) {
        rc = cli_lib_error("saving the model", a.output, st, &err);
        goto out;
    }
    if (a.history && (rc = cli_out_commit(&hist))) goto out;
    if (plot_tmp) {
        if (rename(plot_tmp, a.plot) != 0) {
            rc = cli_error("%s: cannot write: %s", a.plot, strerror(errno));
            goto out;
        }
        free(plot_tmp);
        plot_tmp = NULL;
    }
    const nn_epoch_report *lr = prog.n ? &prog.hist[prog.n - 1] : NULL;
    printf("saved %s: %zu epoch%s in %.1f s%s, train loss %.4f", a.output,
           res.epochs_run, res.epochs_run == 1 ? "" : "s", res.seconds,
           res.stopped_early ? " (stopped early)" : "", res.final_train_loss);
    if (lr && !isnan(lr->val_loss))
        printf(", val loss %.4f, val accuracy %.4f (best val loss: epoch %zu)",
               lr->val_loss, lr->val_accuracy, res.best_epoch);
    printf("\n");
    fflush(stdout);
    rc = 0;
out:
    if (hist.f || hist.tmp) cli_out_abort(&hist);
    if (plot_tmp) {
        unlink(plot_tmp);
        free(plot_tmp);
    }
    free(prog.hist);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(data);
    free(specs);
    return rc;
}
