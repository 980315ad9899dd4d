/* nn.c — the `libnn` command-line tool of libnn: train, eval, predict, info,
 * import, export, plot.
 * Built on the public API (nn.h) only. Errors: one line on stderr starting
 * with "libnn: ", exit status 2 for usage errors and 1 for runtime errors. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const main_help =
"usage: libnn COMMAND [options]\n"
"       libnn --help | --version\n"
"\n"
"Train and use libnn neural networks from the shell.\n"
"\n"
"Commands:\n"
"  train     train a network on IDX or CSV data and save it to a model file\n"
"  eval      loss, accuracy and confusion matrix of a model on labelled data\n"
"  predict   write a model's predictions as CSV\n"
"  info      describe a model file (architecture, parameters, checksum)\n"
"  import    convert an ONNX model into a libnn model file\n"
"  export    write a model as ONNX\n"
"  plot      draw a training history (libnn train --history) with gnuplot\n"
"\n"
"MODEL, wherever a command reads one, may be a libnn model file or ONNX.\n"
"\n"
"'libnn COMMAND --help' describes a command's options; see also libnn(1).\n"
"Exit status: 0 success, 1 runtime error, 2 usage error.\n";

static const char *const eval_help =
"usage: libnn eval MODEL (--csv FILE [--header] [--label-col N] |\n"
"                      --images FILE --labels FILE) [options]\n"
"\n"
"Print the mean loss, the accuracy and the confusion matrix (rows: true\n"
"class, columns: predicted class; shown for at most 64 classes) of MODEL\n"
"on labelled data. MODEL (a libnn model file or ONNX) and FILE may be '-'\n"
"(stdin), a pipe or a FIFO.\n"
"\n"
"  --csv FILE          numeric CSV (gzip ok), label in the last column\n"
"  --header            the CSV's first line is a header\n"
"  --label-col N|last  0-based label column (default: last)\n"
"  --images FILE       IDX features;  --labels FILE  IDX labels\n"
"  --scale none|255    the scaling used at training, for models that do not\n"
"                      carry theirs (default: the model's, else 255 for\n"
"                      --images, none for --csv)\n"
"  --batch N           rows per evaluation batch (default: 1000)\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

static const char *const predict_help =
"usage: libnn predict MODEL (--csv FILE [--header] [--label-col N|none] |\n"
"                         --images FILE) [-o OUT.csv] [options]\n"
"\n"
"Write one CSV line per data row: the predicted class, then the model's\n"
"outputs (probabilities for softmax/sigmoid outputs), after a header line.\n"
"MODEL (a libnn model file or ONNX) and FILE may be '-' (stdin), a pipe or\n"
"a FIFO.\n"
"\n"
"  --csv FILE          numeric CSV (gzip ok); by default a last column\n"
"                      beyond the model's inputs is taken as a label and\n"
"                      ignored\n"
"  --header            the CSV's first line is a header\n"
"  --label-col N|last|none  0-based column to ignore as label, or none\n"
"  --images FILE       IDX features (--labels FILE accepted, ignored)\n"
"  --scale none|255    the scaling used at training, for models that do not\n"
"                      carry theirs (default: the model's, else 255 for\n"
"                      --images, none for --csv)\n"
"  -o, --output FILE   write there instead of stdout ('-'): a file is\n"
"                      replaced atomically, a device or FIFO written in place\n"
"  --digits N          significant digits of the outputs, 1 to 17 (default:\n"
"                      9; 17 prints every double exactly)\n"
"  --batch N           rows per prediction batch (default: 1000)\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

static const char *const info_help =
"usage: libnn info MODEL\n"
"\n"
"Load MODEL (validating its checksum) and print its architecture, loss,\n"
"parameter count, format version, checksum status, input scaling and\n"
"optimizer. MODEL may be '-' (stdin), a pipe or a FIFO, and a libnn model\n"
"file or ONNX (then 'format: ONNX' replaces the version and checksum).\n"
"\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

/* ------------------------------------------------------------ shared */
typedef struct use_args {
    const char *cmd;
    const char *model;
    const char *output;
    cli_data_opts data;
    size_t batch;
    size_t digits;
} use_args;

enum { U_BATCH = 1, U_OUTPUT, U_DIGITS, U_HELP };

static int use_opt(void *ctx, const cli_opt *o, const char *v)
{
    use_args *a = ctx;
    if (!o) {
        if (a->model)
            return cli_usage_error(a->cmd, "unexpected argument '%s'",
                                   cli_cap(v));
        a->model = v;
        return 0;
    }
    if (o->id >= CLI_DATA_BASE)
        return cli_data_opt(a->cmd, &a->data, o->id, v);
    switch (o->id) {
    case U_BATCH: return cli_size(a->cmd, "batch", v, 1, &a->batch);
    case U_OUTPUT: a->output = v; return 0;
    case U_DIGITS: {
        int rc = cli_size(a->cmd, "digits", v, 1, &a->digits);
        if (!rc && a->digits > 17)
            rc = cli_usage_error(a->cmd, "--digits expects 1 to 17, got "
                                 "'%s'", cli_cap(v));
        return rc;
    }
    }
    return 0;
}

/* The model and data inputs of eval / predict / info, for
 * cli_check_files; returns how many. */
static size_t use_inputs(const use_args *a, cli_file *in)
{
    size_t n = 0;
    in[n++] = (cli_file){"MODEL", a->model};
    if (a->data.csv) in[n++] = (cli_file){"--csv", a->data.csv};
    if (a->data.images) in[n++] = (cli_file){"--images", a->data.images};
    if (a->data.labels) in[n++] = (cli_file){"--labels", a->data.labels};
    return n;
}

/* Load the data for a model and scale it as the model says (its saved
 * input scaler, else --scale or its default). */
static int load_for_model(const use_args *a, const nn_net_t *net,
                          bool need_labels, nn_data_t **out)
{
    nn_data_t *data = NULL;
    cli_want w = {need_labels ? TRUTH_NEED : TRUTH_OPTIONAL,
                  cli_net_regresses(net), nn_net_n_in(net), nn_net_n_out(net)};
    int rc = cli_load_data(a->cmd, &a->data, &w, &data);
    if (rc) return rc;
    rc = cli_scale_data(a->cmd, &a->data, a->model,
                        nn_net_get_scaler(net, NN_SCALER_INPUT), data, NULL);
    if (rc) {
        nn_data_destroy(data);
        return rc;
    }
    *out = data;
    return 0;
}

/* An inference context for batches of min(batch, m) rows. */
static int make_ctx(const use_args *a, const nn_net_t *net, size_t m,
                    nn_ctx_t **ctx)
{
    size_t cap = a->batch < m ? a->batch : m;
    nn_status st = nn_ctx_create(ctx, net, cap ? cap : 1, NULL);
    if (st) return cli_lib_error("creating the inference context", NULL, st,
                                 NULL);
    return 0;
}

static const char *loss_name_of(const nn_net_t *net)
{
    int64_t loss = NN_LOSS_MSE;
    nn_net_get_int(net, NN_NET_LOSS, &loss);
    return cli_loss_name((nn_loss)loss);
}

/* ------------------------------------------------------------ eval */
/* The largest confusion matrix eval prints (64 x 64 counts, 32 KiB). */
#define EVAL_MAX_CLASSES 64

static void print_confusion(const size_t *counts, size_t k)
{
    printf("confusion matrix (rows: true class, columns: predicted class):\n");
    int w = 4;
    for (size_t i = 0; i < k * k; i++) {
        int d = snprintf(NULL, 0, "%zu", counts[i]);
        if (d > w) w = d;
    }
    printf("%*s", 6, "");
    for (size_t p = 0; p < k; p++) printf(" %*zu", w, p);
    printf("\n");
    for (size_t t = 0; t < k; t++) {
        printf("%6zu", t);
        for (size_t p = 0; p < k; p++) printf(" %*zu", w, counts[t * k + p]);
        printf("\n");
    }
}
static const cli_opt eval_opts[] = {
    CLI_DATA_OPTIONS, {"batch", 0, true, U_BATCH},
    {"help", 'h', false, U_HELP}, {NULL, 0, false, 0}};

int cmd_eval(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(eval_help, stdout);
        return 0;
    }
    use_args a = {.cmd = "eval", .batch = 1000};
    int rc = cli_parse(a.cmd, argc, argv, eval_opts, use_opt, &a);
    if (rc) return rc;
    if (!a.model) return cli_usage_error(a.cmd, "missing MODEL");
    if ((rc = cli_data_check(a.cmd, &a.data, true))) return rc;
    cli_file in[4];
    if ((rc = cli_check_files(a.cmd, in, use_inputs(&a, in), NULL, 0)))
        return rc;
    nn_net_t *net = NULL;
    nn_data_t *data = NULL;
    nn_ctx_t *ctx = NULL;
    size_t *counts = NULL;
    if ((rc = cli_load_model(a.model, &net, NULL, NULL))) return rc;
    size_t n_out = nn_net_n_out(net), k = cli_net_classes(net);
    if ((rc = load_for_model(&a, net, true, &data))) goto out;
    if ((rc = cli_check_labels(&a.data, data, k, n_out))) goto out;
    size_t m = nn_data_rows(data);
    if ((rc = make_ctx(&a, net, m, &ctx))) goto out;
    /* the k x k counts are only allocated when they will be printed: a
     * model with 20,000 outputs must not cost 3 GB before any output */
    if (k <= EVAL_MAX_CLASSES && !(counts = calloc(k * k, sizeof *counts))) {
        rc = cli_error("out of memory");
        goto out;
    }
    static const int32_t metrics[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
    double values[2] = {NAN, NAN};
    nn_status st = nn_net_evaluate(net, ctx, data, 2, metrics, values);
    if (!st && counts) st = nn_net_confusion(net, ctx, data, counts);
    if (st) {
        rc = cli_lib_error("evaluating", a.model, st, NULL);
        goto out;
    }
    double loss = values[0], acc = values[1];
    printf("rows: %zu\n", m);
    printf("loss (%s): %.6f\n", loss_name_of(net), loss);
    printf("accuracy: %.4f (%zu of %zu)\n", acc,
           (size_t)nearbyint(acc * (double)m), m);
    if (counts) print_confusion(counts, k);
    else
        printf("confusion matrix: not shown for %zu classes (at most %d)\n",
               k, EVAL_MAX_CLASSES);
out:
    free(counts);
    nn_ctx_destroy(ctx);
    nn_data_destroy(data);
    nn_net_destroy(net);
    return rc;
}

/* ------------------------------------------------------------ predict */
static const cli_opt predict_opts[] = {
    CLI_DATA_OPTIONS, {"batch", 0, true, U_BATCH},
    {"output", 'o', true, U_OUTPUT}, {"digits", 0, true, U_DIGITS},
    {"help", 'h', false, U_HELP}, {NULL, 0, false, 0}};

int cmd_predict(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(predict_help, stdout);
        return 0;
    }
    use_args a = {.cmd = "predict", .batch = 1000, .digits = 9};
    int rc = cli_parse(a.cmd, argc, argv, predict_opts, use_opt, &a);
    if (rc) return rc;
    if (!a.model) return cli_usage_error(a.cmd, "missing MODEL");
    if ((rc = cli_data_check(a.cmd, &a.data, false))) return rc;
    nn_net_t *net = NULL;
    nn_data_t *data = NULL;
    nn_ctx_t *ctx = NULL;
    double *Y = NULL;
    cli_out out;
    cli_file in[4];
    cli_out *outs[1] = {&out};
    if ((rc = cli_out_prepare(&out, "--output", a.output ? a.output : "-")) ||
        (rc = cli_check_files(a.cmd, in, use_inputs(&a, in), outs, 1)) ||
        (rc = cli_load_model(a.model, &net, NULL, NULL)))
        goto out;
    size_t n_in = nn_net_n_in(net), n_out = nn_net_n_out(net);
    if ((rc = load_for_model(&a, net, false, &data))) goto out;
    size_t m = nn_data_rows(data);
    size_t b = a.batch < m ? a.batch : m;
    if ((rc = make_ctx(&a, net, m, &ctx))) goto out;
    Y = b <= SIZE_MAX / sizeof *Y / n_out ? malloc(b * n_out * sizeof *Y)
                                          : NULL;
    if (!Y) {
        rc = cli_error("out of memory");
        goto out;
    }
    if ((rc = cli_out_open(&out))) goto out;
    fputs("predicted", out.f);
    if (n_out == 1) fputs(",p1", out.f);
    else
        for (size_t j = 0; j < n_out; j++) fprintf(out.f, ",p%zu", j);
    fputc('\n', out.f);
    const double *X = nn_data_x(data);
    for (size_t r0 = 0; r0 < m; r0 += b) {
        size_t mb = m - r0 < b ? m - r0 : b;
        nn_status st = nn_net_predict(net, ctx, mb, NN_ROW_MAJOR,
                                      X + r0 * n_in, n_in, Y, n_out);
        if (st) {
            rc = cli_lib_error("predicting", a.model, st, NULL);
            goto out;
        }
        for (size_t i = 0; i < mb; i++) {
            const double *y = Y + i * n_out;
            fprintf(out.f, "%zu", cli_predicted_class(y, n_out));
            for (size_t j = 0; j < n_out; j++)
                fprintf(out.f, ",%.*g", (int)a.digits, y[j]);
            fputc('\n', out.f);
        }
    }
    rc = cli_out_commit(&out);
out:
    cli_out_free(&out);
    free(Y);
    nn_ctx_destroy(ctx);
    nn_data_destroy(data);
    nn_net_destroy(net);
    return rc;
}

/* ------------------------------------------------------------ info */
static const cli_opt info_opts[] = {{"help", 'h', false, U_HELP},
                                    {NULL, 0, false, 0}};

/* One layer's line; appends its --layers item to spec[*k..]. */
static void info_layer(const nn_net_t *net, size_t i, char *spec,
                       size_t size, size_t *k)
{
    int64_t act = NN_ACT_IDENTITY;
    double slope = 0, dropout = 0;
    nn_net_get_layer_int(net, i, NN_LAYER_ACTIVATION, &act);
    nn_net_get_layer_real(net, i, NN_LAYER_ACT_PARAM, &slope);
    nn_net_get_layer_real(net, i, NN_LAYER_DROPOUT, &dropout);
    size_t n_in = nn_net_layer_n_in(net, i), n_out = nn_net_layer_n_out(net, i);
    char name[64];
    if (act == NN_ACT_LEAKY_RELU)
        snprintf(name, sizeof name, "leaky=%g", slope);
    else
        snprintf(name, sizeof name, "%s", cli_act_name((nn_activation)act));
    printf("  layer %zu: dense %zu -> %zu, %s", i + 1, n_in, n_out, name);
    if (dropout > 0) printf(", dropout %g", dropout);
    printf(", %zu parameters\n", n_in * n_out + n_out);
    if (*k < size)
        *k += (size_t)snprintf(spec + *k, size - *k, "%s%zu:%s", i ? "," : "",
                               n_out, name);
    if (dropout > 0 && *k < size)
        *k += (size_t)snprintf(spec + *k, size - *k, ":drop=%g", dropout);
}

static void info_scaler(const nn_net_t *net, int32_t role, const char *what)
{
    const nn_scaler_t *s = nn_net_get_scaler(net, role);
    char text[160] = "none";
    if (s) cli_scaler_text(s, text, sizeof text);
    if (s || role == NN_SCALER_INPUT) printf("%s: %s\n", what, text);
}

static void info_optim(const nn_optim_t *opt)
{
    if (!opt) {
        printf("optimizer: none\n");
        return;
    }
    int64_t kind = -1, steps = 0;
    double lr = 0, mom = 0, b1 = 0, b2 = 0, eps = 0, wd = 0, clip = 0;
    nn_optim_get_int(opt, NN_OPTIM_KIND, &kind);
    nn_optim_get_int(opt, NN_OPTIM_STEPS, &steps);
    nn_optim_get_real(opt, NN_OPTIM_LR, &lr);
    nn_optim_get_real(opt, NN_OPTIM_MOMENTUM_COEF, &mom);
    nn_optim_get_real(opt, NN_OPTIM_BETA1, &b1);
    nn_optim_get_real(opt, NN_OPTIM_BETA2, &b2);
    nn_optim_get_real(opt, NN_OPTIM_EPS, &eps);
    nn_optim_get_real(opt, NN_OPTIM_WEIGHT_DECAY, &wd);
    nn_optim_get_real(opt, NN_OPTIM_CLIP_NORM, &clip);
    printf("optimizer: %s (lr %g", cli_optim_name(opt), lr);
    if (kind == NN_OPTIM_MOMENTUM || kind == NN_OPTIM_NESTEROV)
        printf(", momentum %g", mom);
    if (kind == NN_OPTIM_ADAM)
        printf(", beta1 %g, beta2 %g, eps %g", b1, b2, eps);
    if (wd > 0) printf(", weight decay %g", wd);
    if (clip > 0) printf(", clip %g", clip);
    printf(", %llu steps)\n", (unsigned long long)steps);
}

int cmd_info(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(info_help, stdout);
        return 0;
    }
    use_args a = {.cmd = "info"};
    int rc = cli_parse(a.cmd, argc, argv, info_opts, use_opt, &a);
    if (rc) return rc;
    if (!a.model) return cli_usage_error(a.cmd, "missing MODEL");
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    int kind = CLI_MODEL_NATIVE;
    if ((rc = cli_check_path("MODEL", a.model))) return rc;
    if ((rc = cli_load_model(a.model, &net, &opt, &kind))) return rc;
    size_t L = nn_net_n_layers(net);
    printf("model: %s\n", cli_in_shown(a.model));
    if (kind == CLI_MODEL_ONNX) {
        printf("format: ONNX\n");
    } else {
        printf("format version: %d\n", NN_MODEL_FORMAT_VERSION);
        printf("checksum: ok\n");
    }
    printf("inputs: %zu\n", nn_net_n_in(net));
    printf("outputs: %zu\n", nn_net_n_out(net));
    printf("layers: %zu\n", L);
    char spec[2048];
    size_t k = 0;
    spec[0] = '\0';
    for (size_t i = 0; i < L; i++) info_layer(net, i, spec, sizeof spec, &k);
    printf("architecture: --layers %s\n", spec);
    printf("loss: %s\n", loss_name_of(net));
    printf("parameters: %zu\n", nn_net_n_params(net));
    info_scaler(net, NN_SCALER_INPUT, "input scaling");
    info_scaler(net, NN_SCALER_TARGET, "target scaling");
    info_optim(opt);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return rc;
}

/* ------------------------------------------------------------ main */
/* A failed write to stdout (a full disk, /dev/full, a closed pipe) is an
 * error in every subcommand: stdio only reports it at flush and close. */
static int close_stdout(int rc)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (!bad) return rc;
    cli_error("writing to standard output failed: %s",
              e ? strerror(e) : "write error");
    return rc ? rc : EXIT_RUNTIME;
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(NULL, "missing command (train, eval, predict, "
                               "info, import, export or plot)");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) return cli_version();
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "import")) return cmd_import(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return cmd_plot(argc - 2, argv + 2);
    static const char *const cmds[] = {"train", "eval", "predict", "info",
                                       "import", "export", "plot"};
    static const char *const opts[] = {"help", "version"};
    char hint[160];
    if (cmd[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'%s", cli_cap(cmd),
                               cli_suggest(cmd + strspn(cmd, "-"), opts, 2,
                                           "--", hint, sizeof hint));
    if (*cli_suggest(cmd, cmds, 7, "", hint, sizeof hint))
        return cli_usage_error(NULL, "unknown command '%s'%s", cli_cap(cmd),
                               hint);
    return cli_usage_error(NULL, "unknown command '%s' (expected train, eval, "
                           "predict, info, import, export or plot)",
                           cli_cap(cmd));
}

int main(int argc, char **argv)
{
    return close_stdout(run(argc, argv));
}
