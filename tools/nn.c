/* nn.c — the `libnn` command-line tool of libnn: train, eval, predict, info,
 * import, export, plot.
 * Built on the public API (nn.h) only. Errors: one line on stderr starting
 * with "libnn: ", exit status 2 for usage errors and 1 for runtime errors. */
#include "cli.h"
#include "cli_json.h"
#include "cli_metrics.h"

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
"  eval      metrics of a model on labelled data or regression targets\n"
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

/* The data options eval and predict share (predict adds to --label-col). */
#define USE_DATA_HELP                                                      \
"  --csv FILE          numeric CSV (gzip ok); a header line is detected\n" \
"                      (--header, --no-header force it)\n"                  \
"  --delimiter C       , ; | : tab or space (default: ,)\n"                 \
"  --target COLS       regression targets: comma-separated 0-based\n"      \
"                      columns or header names (default for a regression\n"\
"                      model: the last n_out columns)\n"                    \
"  --images FILE       IDX features;  --labels FILE  IDX labels\n"         \
"  --scale none|255|standard|minmax\n"                                     \
"                      the input scaling; a model that carries its own\n" \
"                      applies it, and a --scale that differs is refused\n"\
"                      (default: the model's, else 255 for --images, none\n"\
"                      for --csv)\n"                                        \
"  --test-fraction X   use only the rows `libnn train --test-fraction X\n" \
"  --seed N            --seed N` held out (the same seeded split)\n"       \
"  --classes FILE      class names, one a line, in class order (default:\n"\
"                      the names of a scikit-learn CSV header)\n"          \
"  --batch N           rows per batch (default: 1000)\n"

static const char *const eval_help =
"usage: libnn eval MODEL (--csv FILE [--label-col N|NAME|last] |\n"
"                      --csv FILE --target COLS |\n"
"                      --images FILE --labels FILE) [options]\n"
"\n"
"Measure MODEL (a libnn model file or ONNX) on data with the truth.\n"
"Classification (labels): the mean loss, the accuracy, the confusion matrix\n"
"(rows: true class, columns: predicted class; at most 64 classes), and per\n"
"class precision, recall, F1 and support with their macro and weighted\n"
"averages (at most 4096 classes; a class never predicted has precision 0).\n"
"Regression (a regression model, or --target): the loss, MSE, RMSE, MAE and\n"
"R^2, per output too when there are several, in the targets' original\n"
"units (a target scaler saved in MODEL is undone). MODEL and FILE may be\n"
"'-' (stdin), a pipe or a FIFO.\n"
"\n"
"  --label-col N|NAME|last  the label column (default: last)\n"
USE_DATA_HELP
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  --json              one JSON object on stdout instead of the text\n"
"  -h, --help          this help\n";

static const char *const predict_help =
"usage: libnn predict MODEL (--csv FILE | --images FILE) [-o OUT.csv]\n"
"                      [options]\n"
"\n"
"Write one CSV line per data row after a header line. A classifier: the\n"
"predicted class, its name (predicted_name, when class names are known),\n"
"then the outputs (p0,p1,...: probabilities for softmax; p1 for a sigmoid\n"
"output). A regression model: one real-valued column per output, named by\n"
"the target columns' header names (else y, or y0,y1,...), in the targets'\n"
"original units (a target scaler saved in MODEL is undone). MODEL and FILE\n"
"may be '-' (stdin), a pipe or a FIFO.\n"
"\n"
"  --label-col N|NAME|last|none  a label column to leave out (default: a\n"
"                      last column beyond the model's inputs)\n"
USE_DATA_HELP
"  --id                a first column id: the row's 1-based number among\n"
"                      the file's data rows (with --test-fraction too)\n"
"  --with-truth        add the true label (true) or targets (true_NAME)\n"
"  --labels-only       only the predicted class number, one a line, no\n"
"                      header (classifiers only)\n"
"  -o, --output FILE   write there instead of stdout ('-'): a file is\n"
"                      replaced atomically, a device or FIFO written in place\n"
"  --digits N          significant digits of the outputs, 1 to 17 (default:\n"
"                      9; 17 prints every double exactly)\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

static const char *const info_help =
"usage: libnn info MODEL [--json]\n"
"\n"
"Load MODEL (validating its checksum) and print its architecture, loss,\n"
"parameter count, format version, checksum status, input and target\n"
"scaling and optimizer. MODEL may be '-' (stdin), a pipe or a FIFO, and a\n"
"libnn model file or ONNX (then 'format: ONNX' replaces the version and\n"
"checksum).\n"
"\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  --json              one JSON object on stdout instead of the text\n"
"  -h, --help          this help\n";

/* ------------------------------------------------------------ shared */
typedef struct use_args {
    const char *cmd;
    const char *model;
    const char *output;
    const char *classes; /* --classes FILE */
    cli_data_opts data;
    size_t batch;
    size_t digits;
    bool seed, json, id, with_truth, labels_only;
} use_args;

enum { U_BATCH = 1, U_OUTPUT, U_DIGITS, U_SEED, U_CLASSES, U_JSON, U_ID,
       U_TRUTH, U_LABELS_ONLY, U_HELP };

static int use_digits(use_args *a, const char *v)
{
    int rc = cli_size(a->cmd, "digits", v, 1, &a->digits);
    if (!rc && a->digits > 17)
        rc = cli_usage_error(a->cmd, "--digits expects 1 to 17, got '%s'",
                             cli_cap(v));
    return rc;
}

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
    case U_DIGITS: return use_digits(a, v);
    case U_SEED:
        a->seed = true;
        return cli_u64(a->cmd, "seed", v, &a->data.seed);
    case U_CLASSES: a->classes = v; return cli_check_path("--classes", v);
    case U_JSON: a->json = true; return 0;
    case U_ID: a->id = true; return 0;
    case U_TRUTH: a->with_truth = true; return 0;
    case U_LABELS_ONLY: a->labels_only = true; return 0;
    }
    return 0;
}

/* Parses the words of eval / predict and checks what needs no file. */
static int use_parse(use_args *a, int argc, char **argv, const cli_opt *opts)
{
    int rc = cli_parse(a->cmd, argc, argv, opts, use_opt, a);
    if (rc) return rc;
    if (!a->model) return cli_usage_error(a->cmd, "missing MODEL");
    if (a->seed && !a->data.split)
        return cli_usage_error(a->cmd, "--seed sets the split of "
                               "--test-fraction, which is not given");
    if (a->labels_only && (a->id || a->with_truth))
        return cli_usage_error(a->cmd, "--labels-only prints the predicted "
                               "class alone: it excludes --id and "
                               "--with-truth");
    return cli_data_check(a->cmd, &a->data, !strcmp(a->cmd, "eval") ||
                                                a->with_truth);
}

/* The model and data inputs of eval / predict, for cli_check_files;
 * returns how many. */
static size_t use_inputs(const use_args *a, cli_file *in)
{
    size_t n = 0;
    in[n++] = (cli_file){"MODEL", a->model};
    if (a->data.csv) in[n++] = (cli_file){"--csv", a->data.csv};
    if (a->data.images) in[n++] = (cli_file){"--images", a->data.images};
    if (a->data.labels) in[n++] = (cli_file){"--labels", a->data.labels};
    if (a->classes) in[n++] = (cli_file){"--classes", a->classes};
    return n;
}

/* The rows eval / predict work on, and what the file says about them. */
typedef struct use_data {
    nn_data_t *data;
    cli_names names; /* from the CSV header, taken before any split */
    size_t *ids;     /* --id with --test-fraction: the rows' 1-based
                        numbers in the file; NULL: their positions */
    char **classes;  /* k class names (--classes, else the header's), or
                        NULL */
    size_t n_classes;
    bool own_classes;
} use_data;

static void use_data_free(use_data *u)
{
    nn_data_destroy(u->data);
    cli_names_free(&u->names);
    free(u->ids);
    if (u->own_classes) cli_free_strings(u->classes, u->n_classes);
    memset(u, 0, sizeof *u);
}

/* The 1-based file row numbers of the rows cli_split keeps: the same split
 * of a one-column data set holding 1..m (the split depends on m and the
 * seed alone). */
static int split_ids(const use_args *a, size_t m, size_t **ids)
{
    double *x = m <= SIZE_MAX / sizeof *x ? malloc(m * sizeof *x) : NULL;
    if (!x) return cli_error("out of memory");
    for (size_t i = 0; i < m; i++) x[i] = (double)(i + 1);
    nn_data_t *d = NULL;
    nn_status st = nn_data_create(&d, m, 1, NN_ROW_MAJOR, x, 1, NULL);
    free(x);
    if (st) return cli_lib_error("numbering the rows", NULL, st, NULL);
    int rc = cli_split(a->cmd, &a->data, &d, NULL);
    size_t n = nn_data_rows(d);
    size_t *id = !rc ? malloc(n * sizeof *id) : NULL;
    if (!rc && !id) rc = cli_error("out of memory");
    for (size_t i = 0; id && i < n; i++) id[i] = (size_t)nn_data_x(d)[i];
    nn_data_destroy(d);
    *ids = id;
    return rc;
}

/* Load the data for a model: its truth (truth: TRUTH_NEED or _OPTIONAL),
 * the header's names, the labels checked (check), the rows of
 * --test-fraction, then the input scaling the model says (its saved
 * scaler, else --scale or its default). On failure the caller frees *u. */
static int use_load(const use_args *a, const nn_net_t *net, int truth,
                    bool check, use_data *u)
{
    cli_want w = {truth, cli_net_regresses(net), nn_net_n_in(net),
                  nn_net_n_out(net)};
    int rc = cli_load_data(a->cmd, &a->data, &w, &u->data);
    if (!rc) rc = cli_names_take(u->data, &u->names);
    /* before the split: a message names the file's line */
    if (!rc && check)
        rc = cli_check_labels(&a->data, u->data, cli_net_classes(net),
                              nn_net_n_out(net));
    if (!rc && a->data.split && a->id)
        rc = split_ids(a, nn_data_rows(u->data), &u->ids);
    if (!rc && a->data.split)
        rc = cli_split(a->cmd, &a->data, &u->data, NULL);
    if (!rc)
        rc = cli_scale_data(a->cmd, &a->data, a->model,
                            nn_net_get_scaler(net, NN_SCALER_INPUT), u->data,
                            NULL);
    return rc;
}

/* The k class names: --classes FILE, else the header's when it names k
 * classes (scikit-learn's layout), else none. */
static int use_classes(const use_args *a, size_t k, use_data *u)
{
    if (a->classes) {
        int rc = cli_read_classes(a->classes, k, &u->classes);
        if (rc) return rc;
        u->n_classes = k;
        u->own_classes = true;
    } else if (u->names.ncls == k) {
        u->classes = u->names.cls;
    }
    return 0;
}

/* --classes and --labels-only need a classifier (in eval, --target makes
 * any model's evaluation a regression one). */
static int use_classifier(const use_args *a, const nn_net_t *net,
                          bool by_target)
{
    bool reg = cli_net_regresses(net) || (by_target && a->data.target);
    const char *what = a->labels_only ? "--labels-only" : "--classes";
    if (reg && (a->classes || a->labels_only))
        return cli_usage_error(a->cmd, "%s applies to classifiers, and %s "
                               "%s", what, cli_in_shown(a->model),
                               a->data.target && !cli_net_regresses(net)
                                   ? "is used with --target (regression)"
                                   : "is a regression model (real-valued "
                                     "outputs, no classes)");
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
static const cli_opt eval_opts[] = {
    CLI_DATA_OPTIONS, {"batch", 0, true, U_BATCH},
    {"seed", 0, true, U_SEED}, {"classes", 0, true, U_CLASSES},
    {"json", 0, false, U_JSON}, {"help", 'h', false, U_HELP},
    {NULL, 0, false, 0}};

/* Evaluate and report: regression when the rows carry dense targets (a
 * regression model, or --target), else classification. */
static int eval_run(const use_args *a, const nn_net_t *net, use_data *u)
{
    nn_ctx_t *ctx = NULL;
    cli_eval e = {.model = a->model, .n_out = nn_net_n_out(net),
                  .k = cli_net_classes(net), .loss_name = loss_name_of(net)};
    int rc = use_load(a, net, TRUTH_NEED, true, u);
    if (!rc) {
        e.rows = nn_data_rows(u->data);
        rc = make_ctx(a, net, e.rows, &ctx);
    }
    if (!rc && nn_data_n_targets(u->data)) {
        e.names = u->names.k == e.n_out ? u->names.target : NULL;
        rc = cli_eval_regression(net, ctx, u->data, &e);
    } else if (!rc) {
        rc = use_classes(a, e.k, u);
        e.names = u->classes;
        if (!rc) rc = cli_eval_classification(net, ctx, u->data, &e);
    }
    if (!rc && a->json) rc = cli_eval_json(&e);
    else if (!rc) cli_eval_print(&e);
    cli_eval_free(&e);
    nn_ctx_destroy(ctx);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(eval_help, stdout);
        return 0;
    }
    use_args a = {.cmd = "eval", .batch = 1000};
    int rc = use_parse(&a, argc, argv, eval_opts);
    if (rc) return rc;
    cli_file in[5];
    if ((rc = cli_check_files(a.cmd, in, use_inputs(&a, in), NULL, 0)))
        return rc;
    nn_net_t *net = NULL;
    use_data u = {0};
    if ((rc = cli_load_model(a.model, &net, NULL, NULL))) return rc;
    if (!(rc = use_classifier(&a, net, true))) rc = eval_run(&a, net, &u);
    use_data_free(&u);
    nn_net_destroy(net);
    return rc;
}

/* ------------------------------------------------------------ predict */
static const cli_opt predict_opts[] = {
    CLI_DATA_OPTIONS, {"batch", 0, true, U_BATCH},
    {"output", 'o', true, U_OUTPUT}, {"digits", 0, true, U_DIGITS},
    {"seed", 0, true, U_SEED}, {"classes", 0, true, U_CLASSES},
    {"id", 0, false, U_ID}, {"with-truth", 0, false, U_TRUTH},
    {"labels-only", 0, false, U_LABELS_ONLY}, {"help", 'h', false, U_HELP},
    {NULL, 0, false, 0}};

/* What the lines of predict's CSV are made of. */
typedef struct pred_sink {
    FILE *f;
    const use_args *a;
    const use_data *u;
    bool reg;      /* a regression model: named real-valued columns */
    size_t n_out;
    char **cols;   /* n_out output names */
} pred_sink;

/* A CSV field prefix + s, quoted (RFC 4180) when it holds a separator, a
 * quote, a line break or outer blanks. */
static void csv_name(FILE *f, const char *prefix, const char *s)
{
    size_t n = strlen(s);
    bool quote = strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' ||
                                                 s[n - 1] == ' '));
    if (!quote) {
        fprintf(f, "%s%s", prefix, s);
        return;
    }
    fprintf(f, "\"%s", prefix);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The outputs' names: the target columns' header names, else y (a single
 * output) or y0, y1, ... */
static int output_names(const use_data *u, size_t n_out, char ***out)
{
    char **c = calloc(n_out, sizeof *c);
    for (size_t j = 0; c && j < n_out; j++) {
        const char *h = u->names.k == n_out ? u->names.target[j] : NULL;
        char buf[32];
        snprintf(buf, sizeof buf, n_out == 1 ? "y" : "y%zu", j);
        if (!(c[j] = strdup(h ? h : buf))) {
            cli_free_strings(c, j);
            c = NULL;
        }
    }
    *out = c;
    return c ? 0 : cli_error("out of memory");
}

static void pred_header(const pred_sink *p)
{
    const use_args *a = p->a;
    FILE *f = p->f;
    const char *sep = a->id ? "," : "";
    if (a->labels_only) return;
    if (a->id) fputs("id", f);
    for (size_t j = 0; p->reg && j < p->n_out; j++) {
        fputs(j ? "," : sep, f);
        csv_name(f, "", p->cols[j]);
    }
    if (!p->reg) {
        fprintf(f, "%spredicted%s", sep,
                p->u->classes ? ",predicted_name" : "");
        if (p->n_out == 1) fputs(",p1", f);
        else
            for (size_t j = 0; j < p->n_out; j++) fprintf(f, ",p%zu", j);
    }
    if (a->with_truth && nn_data_labels(p->u->data)) fputs(",true", f);
    for (size_t j = 0; a->with_truth && j < nn_data_n_targets(p->u->data);
         j++) {
        fputc(',', f);
        csv_name(f, "true_", p->cols[j]);
    }
    fputc('\n', f);
}

/* Line of row r (of the rows used), y its n_out outputs. */
static void pred_row(const pred_sink *p, size_t r, const double *y)
{
    const use_args *a = p->a;
    FILE *f = p->f;
    int dg = (int)a->digits;
    size_t c = cli_predicted_class(y, p->n_out);
    if (a->labels_only) {
        fprintf(f, "%zu\n", c);
        return;
    }
    if (a->id) fprintf(f, "%zu,", p->u->ids ? p->u->ids[r] : r + 1);
    for (size_t j = 0; p->reg && j < p->n_out; j++)
        fprintf(f, "%s%.*g", j ? "," : "", dg, y[j]);
    if (!p->reg) {
        fprintf(f, "%zu", c);
        if (p->u->classes) {
            fputc(',', f);
            csv_name(f, "", p->u->classes[c]);
        }
        for (size_t j = 0; j < p->n_out; j++) fprintf(f, ",%.*g", dg, y[j]);
    }
    nn_data_t *d = p->u->data;
    size_t k = nn_data_n_targets(d);
    if (a->with_truth && nn_data_labels(d))
        fprintf(f, ",%d", (int)nn_data_labels(d)[r]);
    for (size_t j = 0; a->with_truth && j < k; j++)
        fprintf(f, ",%.*g", dg, nn_data_targets(d)[r * k + j]);
    fputc('\n', f);
}

/* Predicts the rows in batches of min(--batch, m) and writes their lines;
 * a regression model's outputs in the targets' original units. */
static int pred_rows(const use_args *a, const nn_net_t *net, pred_sink *p)
{
    nn_data_t *data = p->u->data;
    size_t m = nn_data_rows(data), n_in = nn_net_n_in(net), n_out = p->n_out;
    size_t b = a->batch < m ? a->batch : m;
    const nn_scaler_t *ts = nn_net_get_scaler(net, NN_SCALER_TARGET);
    nn_ctx_t *ctx = NULL;
    int rc = make_ctx(a, net, m, &ctx);
    double *Y = !rc && b <= SIZE_MAX / sizeof *Y / n_out
                    ? malloc(b * n_out * sizeof *Y) : NULL;
    if (!rc && !Y) rc = cli_error("out of memory");
    const double *X = nn_data_x(data);
    for (size_t r0 = 0; !rc && r0 < m; r0 += b) {
        size_t mb = m - r0 < b ? m - r0 : b;
        nn_status st = nn_net_predict(net, ctx, mb, NN_ROW_MAJOR,
                                      X + r0 * n_in, n_in, Y, n_out);
        if (!st && p->reg && ts)
            st = nn_scaler_invert(ts, mb, NN_ROW_MAJOR, Y, n_out);
        if (st) rc = cli_lib_error("predicting", a->model, st, NULL);
        for (size_t i = 0; !rc && i < mb; i++)
            pred_row(p, r0 + i, Y + i * n_out);
    }
    free(Y);
    nn_ctx_destroy(ctx);
    return rc;
}

static int predict_run(const use_args *a, const nn_net_t *net, cli_out *out)
{
    use_data u = {0};
    pred_sink p = {.a = a, .u = &u, .reg = cli_net_regresses(net),
                   .n_out = nn_net_n_out(net)};
    int rc = use_load(a, net, a->with_truth ? TRUTH_NEED : TRUTH_OPTIONAL,
                      false, &u);
    if (!rc && !p.reg) rc = use_classes(a, cli_net_classes(net), &u);
    if (!rc) rc = output_names(&u, p.n_out, &p.cols);
    if (!rc) rc = cli_out_open(out);
    if (!rc) {
        p.f = out->f;
        pred_header(&p);
        rc = pred_rows(a, net, &p);
    }
    if (!rc) rc = cli_out_commit(out);
    cli_free_strings(p.cols, p.n_out);
    use_data_free(&u);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(predict_help, stdout);
        return 0;
    }
    use_args a = {.cmd = "predict", .batch = 1000, .digits = 9};
    int rc = use_parse(&a, argc, argv, predict_opts);
    if (rc) return rc;
    nn_net_t *net = NULL;
    cli_out out;
    cli_file in[5];
    cli_out *outs[1] = {&out};
    if (!(rc = cli_out_prepare(&out, "--output", a.output ? a.output : "-")) &&
        !(rc = cli_check_files(a.cmd, in, use_inputs(&a, in), outs, 1)) &&
        !(rc = cli_load_model(a.model, &net, NULL, NULL)) &&
        !(rc = use_classifier(&a, net, false)))
        rc = predict_run(&a, net, &out);
    cli_out_free(&out);
    nn_net_destroy(net);
    return rc;
}

/* ------------------------------------------------------------ info */
static const cli_opt info_opts[] = {{"json", 0, false, U_JSON},
                                    {"help", 'h', false, U_HELP},
                                    {NULL, 0, false, 0}};

/* One layer as info describes it. */
typedef struct layer_info {
    size_t n_in, n_out, params;
    int64_t act;
    double slope, dropout;
    char name[64]; /* its --layers activation: relu, leaky=0.1, ... */
} layer_info;

static void layer_get(const nn_net_t *net, size_t i, layer_info *l)
{
    l->act = NN_ACT_IDENTITY;
    l->slope = l->dropout = 0;
    nn_net_get_layer_int(net, i, NN_LAYER_ACTIVATION, &l->act);
    nn_net_get_layer_real(net, i, NN_LAYER_ACT_PARAM, &l->slope);
    nn_net_get_layer_real(net, i, NN_LAYER_DROPOUT, &l->dropout);
    l->n_in = nn_net_layer_n_in(net, i);
    l->n_out = nn_net_layer_n_out(net, i);
    l->params = l->n_in * l->n_out + l->n_out;
    if (l->act == NN_ACT_LEAKY_RELU)
        snprintf(l->name, sizeof l->name, "leaky=%g", l->slope);
    else
        snprintf(l->name, sizeof l->name, "%s",
                 cli_act_name((nn_activation)l->act));
}

/* The --layers value that rebuilds the architecture (malloc'ed; NULL out
 * of memory). */
static char *arch_spec(const nn_net_t *net)
{
    char *spec = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&spec, &len);
    if (!f) return NULL;
    for (size_t i = 0; i < nn_net_n_layers(net); i++) {
        layer_info l;
        layer_get(net, i, &l);
        fprintf(f, "%s%zu:%s", i ? "," : "", l.n_out, l.name);
        if (l.dropout > 0) fprintf(f, ":drop=%g", l.dropout);
    }
    if (fclose(f) != 0) {
        free(spec);
        return NULL;
    }
    return spec;
}

/* An optimizer's settings, as info reports them. */
typedef struct optim_info {
    int64_t kind, steps;
    double lr, mom, b1, b2, eps, wd, clip;
} optim_info;

static void optim_get(const nn_optim_t *opt, optim_info *o)
{
    memset(o, 0, sizeof *o);
    o->kind = -1;
    nn_optim_get_int(opt, NN_OPTIM_KIND, &o->kind);
    nn_optim_get_int(opt, NN_OPTIM_STEPS, &o->steps);
    nn_optim_get_real(opt, NN_OPTIM_LR, &o->lr);
    nn_optim_get_real(opt, NN_OPTIM_MOMENTUM_COEF, &o->mom);
    nn_optim_get_real(opt, NN_OPTIM_BETA1, &o->b1);
    nn_optim_get_real(opt, NN_OPTIM_BETA2, &o->b2);
    nn_optim_get_real(opt, NN_OPTIM_EPS, &o->eps);
    nn_optim_get_real(opt, NN_OPTIM_WEIGHT_DECAY, &o->wd);
    nn_optim_get_real(opt, NN_OPTIM_CLIP_NORM, &o->clip);
}

static bool has_momentum(const optim_info *o)
{
    return o->kind == NN_OPTIM_MOMENTUM || o->kind == NN_OPTIM_NESTEROV;
}

static void info_optim(const nn_optim_t *opt)
{
    if (!opt) {
        printf("optimizer: none\n");
        return;
    }
    optim_info o;
    optim_get(opt, &o);
    printf("optimizer: %s (lr %g", cli_optim_name(opt), o.lr);
    if (has_momentum(&o)) printf(", momentum %g", o.mom);
    if (o.kind == NN_OPTIM_ADAM)
        printf(", beta1 %g, beta2 %g, eps %g", o.b1, o.b2, o.eps);
    if (o.wd > 0) printf(", weight decay %g", o.wd);
    if (o.clip > 0) printf(", clip %g", o.clip);
    printf(", %llu steps)\n", (unsigned long long)o.steps);
}

static void info_scaler(const nn_net_t *net, int32_t role, const char *what)
{
    const nn_scaler_t *s = nn_net_get_scaler(net, role);
    char text[160] = "none";
    if (s) cli_scaler_text(s, text, sizeof text);
    if (s || role == NN_SCALER_INPUT) printf("%s: %s\n", what, text);
}

static void info_text(const char *model, const nn_net_t *net,
                      const nn_optim_t *opt, int kind, const char *spec)
{
    size_t L = nn_net_n_layers(net);
    printf("model: %s\n", cli_in_shown(model));
    if (kind == CLI_MODEL_ONNX) {
        printf("format: ONNX\n");
    } else {
        printf("format version: %d\n", NN_MODEL_FORMAT_VERSION);
        printf("checksum: ok\n");
    }
    printf("inputs: %zu\n", nn_net_n_in(net));
    printf("outputs: %zu\n", nn_net_n_out(net));
    printf("layers: %zu\n", L);
    for (size_t i = 0; i < L; i++) {
        layer_info l;
        layer_get(net, i, &l);
        printf("  layer %zu: dense %zu -> %zu, %s", i + 1, l.n_in, l.n_out,
               l.name);
        if (l.dropout > 0) printf(", dropout %g", l.dropout);
        printf(", %zu parameters\n", l.params);
    }
    printf("architecture: --layers %s\n", spec);
    printf("loss: %s\n", loss_name_of(net));
    printf("parameters: %zu\n", nn_net_n_params(net));
    info_scaler(net, NN_SCALER_INPUT, "input scaling");
    info_scaler(net, NN_SCALER_TARGET, "target scaling");
    info_optim(opt);
}

/* ------------------------------------------------------------ info --json */
static json_t *json_size(size_t v) { return json_integer((json_int_t)v); }

/* Returns o, or NULL (releasing it) when a set failed. */
static json_t *json_done(json_t *o, int bad)
{
    if (o && !bad) return o;
    json_decref(o);
    return NULL;
}

static json_t *json_layer(const nn_net_t *net, size_t i)
{
    layer_info l;
    layer_get(net, i, &l);
    json_t *o = json_object();
    int bad = !o;
    if (!o) return NULL;
    bad |= cli_json_set(o, "layer", json_size(i + 1));
    bad |= cli_json_set(o, "kind", cli_json_str("dense"));
    bad |= cli_json_set(o, "inputs", json_size(l.n_in));
    bad |= cli_json_set(o, "outputs", json_size(l.n_out));
    bad |= cli_json_set(o, "activation",
                        cli_json_str(cli_act_name((nn_activation)l.act)));
    if (l.act == NN_ACT_LEAKY_RELU)
        bad |= cli_json_set(o, "slope", cli_json_num(l.slope));
    bad |= cli_json_set(o, "dropout", cli_json_num(l.dropout));
    bad |= cli_json_set(o, "parameters", json_size(l.params));
    return json_done(o, bad);
}

static json_t *json_layers(const nn_net_t *net)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < nn_net_n_layers(net); i++)
        if (json_array_append_new(arr, json_layer(net, i)))
            json_decref(arr), arr = NULL;
    return arr;
}

/* A scaler: {"scaling": word, "kind": the library's kind, "description",
 * "columns"}, or null. */
static json_t *json_scaler(const nn_scaler_t *s)
{
    if (!s) return json_null();
    static const char *const kinds[] = {"standard", "minmax", "custom"};
    nn_scale_kind kind = NN_SCALE_CUSTOM;
    nn_scaler_get_kind(s, &kind);
    char text[160];
    cli_scaler_text(s, text, sizeof text);
    json_t *o = json_object();
    int bad = !o;
    if (!o) return NULL;
    bad |= cli_json_set(o, "scaling", cli_json_str(cli_scaler_word(s)));
    bad |= cli_json_set(o, "kind", cli_json_str(kind >= 0 && kind <= 2
                                                    ? kinds[kind] : "?"));
    bad |= cli_json_set(o, "description", cli_json_str(text));
    bad |= cli_json_set(o, "columns", json_size(nn_scaler_n(s)));
    return json_done(o, bad);
}

static json_t *json_optim(const nn_optim_t *opt)
{
    if (!opt) return json_null();
    optim_info o;
    optim_get(opt, &o);
    json_t *j = json_object();
    int bad = !j;
    if (!j) return NULL;
    bad |= cli_json_set(j, "kind", cli_json_str(cli_optim_name(opt)));
    bad |= cli_json_set(j, "lr", cli_json_num(o.lr));
    if (has_momentum(&o))
        bad |= cli_json_set(j, "momentum", cli_json_num(o.mom));
    if (o.kind == NN_OPTIM_ADAM) {
        bad |= cli_json_set(j, "beta1", cli_json_num(o.b1));
        bad |= cli_json_set(j, "beta2", cli_json_num(o.b2));
        bad |= cli_json_set(j, "eps", cli_json_num(o.eps));
    }
    bad |= cli_json_set(j, "weight_decay", cli_json_num(o.wd));
    bad |= cli_json_set(j, "clip", cli_json_num(o.clip));
    bad |= cli_json_set(j, "steps", json_integer((json_int_t)o.steps));
    return json_done(j, bad);
}

static int info_json(const char *model, const nn_net_t *net,
                     const nn_optim_t *opt, int kind, const char *spec)
{
    bool onnx = kind == CLI_MODEL_ONNX;
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= cli_json_set(o, "model", cli_json_str(cli_in_shown(model)));
        bad |= cli_json_set(o, "format", cli_json_str(onnx ? "onnx"
                                                           : "libnn"));
        bad |= cli_json_set(o, "version", onnx ? json_null() : json_integer(
                                NN_MODEL_FORMAT_VERSION));
        bad |= cli_json_set(o, "checksum", onnx ? json_null()
                                                : cli_json_str("ok"));
        bad |= cli_json_set(o, "inputs", json_size(nn_net_n_in(net)));
        bad |= cli_json_set(o, "outputs", json_size(nn_net_n_out(net)));
        bad |= cli_json_set(o, "layers", json_layers(net));
        bad |= cli_json_set(o, "architecture", cli_json_str(spec));
        bad |= cli_json_set(o, "loss", cli_json_str(loss_name_of(net)));
        bad |= cli_json_set(o, "parameters", json_size(nn_net_n_params(net)));
        bad |= cli_json_set(o, "input_scaling", json_scaler(
                                nn_net_get_scaler(net, NN_SCALER_INPUT)));
        bad |= cli_json_set(o, "target_scaling", json_scaler(
                                nn_net_get_scaler(net, NN_SCALER_TARGET)));
        bad |= cli_json_set(o, "optimizer", json_optim(opt));
    }
    return cli_json_emit(o, stdout, !bad);
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
    char *spec = arch_spec(net);
    if (!spec) rc = cli_error("out of memory");
    else if (a.json) rc = info_json(a.model, net, opt, kind, spec);
    else info_text(a.model, net, opt, kind, spec);
    free(spec);
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
    /* a command that failed has said why in its one line (a write to
     * stdout that failed, often): no second line */
    if (!bad || rc) return rc;
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
