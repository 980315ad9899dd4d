/* metrics.c — `libnn eval`'s measures and reports: regression metrics in
 * the targets' original units, per-class precision / recall / F1 with
 * macro and weighted averages, class names, text and JSON (docs/TOOL.md,
 * "Metrics"). The numbers come from the library (nn_net_evaluate,
 * nn_net_confusion); this file only converts, derives and prints them. */
#include "cli_metrics.h"
#include "cli_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ regression */
/* The model's target scales s_j (NULL: none). */
static int target_scales(const nn_net_t *net, size_t k, double **out)
{
    const nn_scaler_t *ts = nn_net_get_scaler(net, NN_SCALER_TARGET);
    *out = NULL;
    if (!ts) return 0;
    double *s = malloc(k * sizeof *s);
    if (!s) return cli_error("out of memory");
    nn_status st = nn_scaler_get_params(ts, NULL, s);
    if (st) {
        free(s);
        return cli_lib_error("reading the target scaler", NULL, st, NULL);
    }
    *out = s;
    return 0;
}

/* Per output j the library gives MSE_j, MAE_j and R^2_j of the scaled
 * targets y' = (y - o_j) / s_j; in original units the errors are s_j times
 * larger: MSE_j s_j^2, MAE_j |s_j|, and R^2_j = 1 - SS_res / SS_tot is
 * unchanged (both sums scale by s_j^2, the offset cancels). The overall
 * MSE and MAE are the means over outputs of the per-output values, as the
 * library defines them (sum over rows and outputs / (m n_out)); R^2 is the
 * library's mean of the R^2_j. */
static void to_original_units(cli_eval *e, const double *v, const double *s)
{
    size_t k = e->n_out;
    double mse = 0, mae = 0;
    for (size_t j = 0; j < k; j++) {
        double sj = s ? s[j] : 1.0;
        double *o = e->out + 3 * j;
        o[0] = v[2 + j] * sj * sj;
        o[1] = v[2 + k + j] * fabs(sj);
        o[2] = v[2 + 2 * k + j];
        mse += o[0];
        mae += o[1];
    }
    e->loss = v[0];
    e->r2 = v[1];
    e->mse = mse / (double)k;
    e->mae = mae / (double)k;
    e->rmse = sqrt(e->mse);
}

int cli_eval_regression(const nn_net_t *net, nn_ctx_t *ctx, nn_data_t *data,
                        cli_eval *e)
{
    size_t k = nn_net_n_out(net), m = nn_data_rows(data);
    double *s = NULL, *v = NULL;
    int rc = target_scales(net, k, &s);
    if (rc) return rc;
    e->regression = true;
    e->scaled = s != NULL;
    e->out = calloc(3 * k, sizeof *e->out);
    v = calloc(2 + 3 * k, sizeof *v);
    if (!e->out || !v) {
        rc = cli_error("out of memory");
        goto out;
    }
    static const int32_t metrics[5] = {
        NN_METRIC_LOSS, NN_METRIC_R2, NN_METRIC_MSE_OUTPUTS,
        NN_METRIC_MAE_OUTPUTS, NN_METRIC_R2_OUTPUTS};
    nn_status st = NN_OK;
    if (s && nn_data_n_targets(data) == k)
        st = nn_scaler_apply(nn_net_get_scaler(net, NN_SCALER_TARGET), m,
                             NN_ROW_MAJOR, nn_data_targets(data), k);
    if (!st) st = nn_net_evaluate(net, ctx, data, 5, metrics, v);
    if (st) {
        rc = cli_lib_error("evaluating", e->model, st, NULL);
        goto out;
    }
    to_original_units(e, v, s);
out:
    free(v);
    free(s);
    return rc;
}

/* ------------------------------------------------------------ classes */
int cli_eval_classification(const nn_net_t *net, nn_ctx_t *ctx,
                            const nn_data_t *data, cli_eval *e)
{
    size_t k = e->k;
    /* the k x k counts only up to CLI_CLASS_MAX: a model with 20,000
     * outputs must not cost 3 GB before any output */
    if (k <= CLI_CLASS_MAX && !(e->counts = calloc(k * k, sizeof *e->counts)))
        return cli_error("out of memory");
    static const int32_t metrics[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
    double v[2] = {NAN, NAN};
    nn_status st = nn_net_evaluate(net, ctx, data, 2, metrics, v);
    if (!st && e->counts) st = nn_net_confusion(net, ctx, data, e->counts);
    if (st) return cli_lib_error("evaluating", e->model, st, NULL);
    e->loss = v[0];
    e->accuracy = v[1];
    return 0;
}

/* One class's counts and scores. */
typedef struct class_stat {
    size_t tp, support, predicted;
    double precision, recall, f1;
} class_stat;

/* An average over classes. */
typedef struct class_avg {
    double precision, recall, f1;
} class_avg;

/* precision = tp / predicted, recall = tp / support, F1 = 2 tp / (support
 * + predicted), each 0 when its denominator is (scikit-learn's
 * zero_division=0: a class never predicted has precision 0). */
static void class_scores(const size_t *counts, size_t k, size_t c,
                         class_stat *s)
{
    s->tp = counts[c * k + c];
    s->support = s->predicted = 0;
    for (size_t j = 0; j < k; j++) {
        s->support += counts[c * k + j];
        s->predicted += counts[j * k + c];
    }
    s->precision = s->predicted ? (double)s->tp / (double)s->predicted : 0;
    s->recall = s->support ? (double)s->tp / (double)s->support : 0;
    size_t d = s->support + s->predicted;
    s->f1 = d ? 2.0 * (double)s->tp / (double)d : 0;
}

/* A class the report shows: one that has rows or was predicted (the
 * labels scikit-learn's classification_report lists by default). */
static bool class_shown(const class_stat *s)
{
    return s->support || s->predicted;
}

/* The stats of every class (malloc'ed, k entries), and the macro (mean
 * over the shown classes) and weighted (by support) averages. */
static class_stat *class_table(const cli_eval *e, class_avg *macro,
                               class_avg *weighted, size_t *shown)
{
    size_t k = e->k;
    class_stat *s = malloc(k * sizeof *s);
    if (!s) return NULL;
    *macro = *weighted = (class_avg){0, 0, 0};
    *shown = 0;
    for (size_t c = 0; c < k; c++) {
        class_scores(e->counts, k, c, &s[c]);
        if (!class_shown(&s[c])) continue;
        double w = (double)s[c].support / (double)e->rows;
        ++*shown;
        macro->precision += s[c].precision;
        macro->recall += s[c].recall;
        macro->f1 += s[c].f1;
        weighted->precision += w * s[c].precision;
        weighted->recall += w * s[c].recall;
        weighted->f1 += w * s[c].f1;
    }
    macro->precision /= (double)*shown;
    macro->recall /= (double)*shown;
    macro->f1 /= (double)*shown;
    return s;
}

/* ------------------------------------------------------------ text */
static const char *name_of(const cli_eval *e, size_t j)
{
    return e->names && e->names[j] ? e->names[j] : NULL;
}

static void print_confusion(const cli_eval *e)
{
    size_t k = e->k;
    const size_t *counts = e->counts;
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

/* The width of the name column (0: no names). */
static int names_width(const cli_eval *e, size_t n)
{
    int w = 0;
    for (size_t j = 0; e->names && j < n; j++)
        if (name_of(e, j) && (int)strlen(name_of(e, j)) > w)
            w = (int)strlen(name_of(e, j));
    return w > 40 ? 40 : w < 4 && w ? 4 : w;
}

static void print_classes(const cli_eval *e)
{
    class_avg macro, weighted;
    size_t shown;
    class_stat *s = class_table(e, &macro, &weighted, &shown);
    if (!s) {
        printf("per-class metrics: not computed (out of memory)\n");
        return;
    }
    int w = names_width(e, e->k);
    printf("per class (precision 0 for a class never predicted):\n");
    printf("  %5s", "class");
    if (w) printf(" %-*s", w, "name");
    printf(" %10s %10s %10s %10s %10s\n", "precision", "recall", "f1",
           "support", "predicted");
    for (size_t c = 0; c < e->k; c++) {
        if (!class_shown(&s[c])) continue;
        const char *nm = name_of(e, c);
        printf("  %5zu", c);
        if (w) printf(" %-*.*s", w, w, nm ? nm : "");
        printf(" %10.4f %10.4f %10.4f %10zu %10zu\n", s[c].precision,
               s[c].recall, s[c].f1, s[c].support, s[c].predicted);
    }
    if (shown < e->k)
        printf("  (%zu class%s left out: no rows, never predicted)\n",
               e->k - shown, e->k - shown == 1 ? "" : "es");
    printf("macro average (%zu classes): precision %.4f, recall %.4f, f1 "
           "%.4f\n", shown, macro.precision, macro.recall, macro.f1);
    printf("weighted average (by support): precision %.4f, recall %.4f, f1 "
           "%.4f\n", weighted.precision, weighted.recall, weighted.f1);
    free(s);
}

static void print_classification(const cli_eval *e)
{
    size_t m = e->rows;
    printf("rows: %zu\n", m);
    printf("loss (%s): %.6f\n", e->loss_name, e->loss);
    printf("accuracy: %.4f (%zu of %zu)\n", e->accuracy,
           (size_t)nearbyint(e->accuracy * (double)m), m);
    /* the matrix last: it is the long part */
    if (e->counts) print_classes(e);
    else
        printf("per-class metrics: not computed for %zu classes (at most "
               "%d)\n", e->k, CLI_CLASS_MAX);
    if (e->counts && e->k <= CLI_CONFUSION_MAX) print_confusion(e);
    else
        printf("confusion matrix: not shown for %zu classes (at most %d)\n",
               e->k, CLI_CONFUSION_MAX);
}

/* The name of output j: the header's, else y (one output) or yJ. */
static void output_name(const cli_eval *e, size_t j, char *buf, size_t size)
{
    if (name_of(e, j)) snprintf(buf, size, "%s", name_of(e, j));
    else if (e->n_out == 1) snprintf(buf, size, "y");
    else snprintf(buf, size, "y%zu", j);
}

static void print_outputs(const cli_eval *e)
{
    int w = names_width(e, e->n_out);
    if (w < 6) w = 6;
    printf("per output:\n  %-*s %12s %12s %12s %12s\n", w, "output", "MSE",
           "RMSE", "MAE", "R^2");
    for (size_t j = 0; j < e->n_out; j++) {
        char nm[64];
        const double *o = e->out + 3 * j;
        output_name(e, j, nm, sizeof nm);
        printf("  %-*.*s %12.6g %12.6g %12.6g %12.6g\n", w, w, nm, o[0],
               sqrt(o[0]), o[1], o[2]);
    }
}

static void print_regression(const cli_eval *e)
{
    printf("rows: %zu\n", e->rows);
    printf("loss (%s%s): %.6g\n", e->loss_name,
           e->scaled ? ", on the scaled targets" : "", e->loss);
    if (e->scaled)
        printf("metrics in the targets' original units (the model's "
               "target scaler undone):\n");
    printf("MSE: %.6g\n", e->mse);
    printf("RMSE: %.6g\n", e->rmse);
    printf("MAE: %.6g\n", e->mae);
    printf("R^2: %.6g\n", e->r2);
    if (e->n_out > 1) print_outputs(e);
}

void cli_eval_print(const cli_eval *e)
{
    if (e->regression) print_regression(e);
    else print_classification(e);
}

/* ------------------------------------------------------------ JSON */
static json_t *json_size(size_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *json_avg(const class_avg *a)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= cli_json_set(o, "precision", cli_json_num(a->precision));
        bad |= cli_json_set(o, "recall", cli_json_num(a->recall));
        bad |= cli_json_set(o, "f1", cli_json_num(a->f1));
    }
    if (!bad) return o;
    json_decref(o);
    return NULL;
}

static json_t *json_class(const cli_eval *e, size_t c, const class_stat *s)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= cli_json_set(o, "class", json_size(c));
        bad |= cli_json_set(o, "name", cli_json_str(name_of(e, c)));
        bad |= cli_json_set(o, "precision", cli_json_num(s->precision));
        bad |= cli_json_set(o, "recall", cli_json_num(s->recall));
        bad |= cli_json_set(o, "f1", cli_json_num(s->f1));
        bad |= cli_json_set(o, "support", json_size(s->support));
        bad |= cli_json_set(o, "predicted", json_size(s->predicted));
    }
    if (!bad) return o;
    json_decref(o);
    return NULL;
}

static json_t *json_confusion(const cli_eval *e)
{
    if (!e->counts || e->k > CLI_CONFUSION_MAX) return json_null();
    json_t *rows = json_array();
    for (size_t t = 0; rows && t < e->k; t++) {
        json_t *row = json_array();
        for (size_t p = 0; row && p < e->k; p++)
            if (json_array_append_new(row, json_size(e->counts[t * e->k + p])))
                json_decref(row), row = NULL;
        if (!row || json_array_append_new(rows, row))
            json_decref(rows), rows = NULL;
    }
    return rows;
}

/* "classes", "macro", "weighted": null beyond CLI_CLASS_MAX classes. */
static int json_classes(const cli_eval *e, json_t *obj)
{
    if (!e->counts)
        return cli_json_set(obj, "classes", json_null()) |
               cli_json_set(obj, "macro", json_null()) |
               cli_json_set(obj, "weighted", json_null());
    class_avg macro, weighted;
    size_t shown;
    class_stat *s = class_table(e, &macro, &weighted, &shown);
    json_t *arr = s ? json_array() : NULL;
    int bad = !arr;
    for (size_t c = 0; !bad && c < e->k; c++)
        if (class_shown(&s[c]))
            bad = json_array_append_new(arr, json_class(e, c, &s[c])) != 0;
    bad |= cli_json_set(obj, "classes", arr);
    bad |= cli_json_set(obj, "macro", json_avg(&macro));
    bad |= cli_json_set(obj, "weighted", json_avg(&weighted));
    free(s);
    return bad;
}

static json_t *json_output(const cli_eval *e, size_t j)
{
    char nm[64];
    const double *v = e->out + 3 * j;
    json_t *o = json_object();
    int bad = !o;
    output_name(e, j, nm, sizeof nm);
    if (o) {
        bad |= cli_json_set(o, "name", cli_json_str(name_of(e, j) ? name_of(
                                           e, j) : nm));
        bad |= cli_json_set(o, "mse", cli_json_num(v[0]));
        bad |= cli_json_set(o, "rmse", cli_json_num(sqrt(v[0])));
        bad |= cli_json_set(o, "mae", cli_json_num(v[1]));
        bad |= cli_json_set(o, "r2", cli_json_num(v[2]));
    }
    if (!bad) return o;
    json_decref(o);
    return NULL;
}

static int json_regression(const cli_eval *e, json_t *obj)
{
    int bad = cli_json_set(obj, "mse", cli_json_num(e->mse));
    bad |= cli_json_set(obj, "rmse", cli_json_num(e->rmse));
    bad |= cli_json_set(obj, "mae", cli_json_num(e->mae));
    bad |= cli_json_set(obj, "r2", cli_json_num(e->r2));
    json_t *arr = json_array();
    for (size_t j = 0; arr && j < e->n_out; j++)
        if (json_array_append_new(arr, json_output(e, j)))
            json_decref(arr), arr = NULL;
    return bad | cli_json_set(obj, "outputs", arr);
}

static json_t *json_loss(const cli_eval *e)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= cli_json_set(o, "name", cli_json_str(e->loss_name));
        bad |= cli_json_set(o, "value", cli_json_num(e->loss));
        if (e->regression)
            bad |= cli_json_set(o, "scaled_targets", json_boolean(e->scaled));
    }
    if (!bad) return o;
    json_decref(o);
    return NULL;
}

int cli_eval_json(const cli_eval *e)
{
    json_t *obj = json_object();
    int bad = !obj;
    if (obj) {
        bad |= cli_json_set(obj, "model", cli_json_str(cli_in_shown(e->model)));
        bad |= cli_json_set(obj, "rows", json_size(e->rows));
        bad |= cli_json_set(obj, "task", cli_json_str(
                                e->regression ? "regression"
                                              : "classification"));
        bad |= cli_json_set(obj, "loss", json_loss(e));
    }
    if (obj && e->regression) bad |= json_regression(e, obj);
    else if (obj) {
        bad |= cli_json_set(obj, "accuracy", cli_json_num(e->accuracy));
        bad |= json_classes(e, obj);
        bad |= cli_json_set(obj, "confusion", json_confusion(e));
    }
    return cli_json_emit(obj, stdout, !bad);
}

void cli_eval_free(cli_eval *e)
{
    free(e->out);
    free(e->counts);
    e->out = NULL;
    e->counts = NULL;
}

/* ------------------------------------------------------------ class names */
void cli_free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

/* Reads the lines of f into *names (at most k + 1 are kept: enough to
 * tell a wrong count); *n receives the number of lines. */
static int read_lines(FILE *f, const char *shown, size_t k, char **names,
                      size_t *n)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len) {
            free(line);
            return cli_error("%s:%zu: an empty class name (one name per "
                             "line)", shown, *n + 1);
        }
        if (*n <= k && !(names[*n] = strdup(line))) {
            free(line);
            return cli_error("out of memory");
        }
        ++*n;
    }
    free(line);
    if (ferror(f)) return cli_error("%s: read error", shown);
    return 0;
}

int cli_read_classes(const char *path, size_t k, char ***out)
{
    const char *shown = cli_in_shown(path);
    cli_in in;
    int rc = cli_in_open(&in, "--classes", path);
    if (rc) return rc;
    char **names = calloc(k + 1, sizeof *names);
    FILE *f = names ? fopen(in.path, "r") : NULL;
    size_t n = 0;
    if (!names) rc = cli_error("out of memory");
    else if (!f) rc = cli_error("%s: cannot open: %s", shown, strerror(errno));
    else rc = read_lines(f, shown, k, names, &n);
    if (f) fclose(f);
    cli_in_close(&in);
    if (!rc && n != k)
        rc = cli_error("%s: %zu class name%s, but the model has %zu classes "
                       "(one name per line, in class order)", shown, n,
                       n == 1 ? "" : "s", k);
    if (rc) {
        cli_free_strings(names, k + 1);
        return rc;
    }
    *out = names;
    return 0;
}
