/* data.c — the data options of the `libnn` tool: loading IDX and CSV files
 * (separator, header detection, label or target columns by index or header
 * name), the seeded test split, and the scalers that travel in the model
 * (docs/TOOL.md, "Data"). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ options */
static bool is_index(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* --delimiter: one byte, or a word for the blank kinds. */
static int parse_delim(const char *cmd, const char *v, char *out)
{
    if (!strcmp(v, "tab") || !strcmp(v, "\\t")) *out = '\t';
    else if (!strcmp(v, "space") || !strcmp(v, "whitespace")) *out = ' ';
    else if (strlen(v) == 1 && strchr(",;|: \t", v[0])) *out = v[0];
    else
        return cli_usage_error(cmd, "--delimiter expects one of , ; | : "
                               "tab space, got '%s'", cli_cap(v));
    return 0;
}

static int parse_scale(const char *cmd, const char *opt, const char *v,
                       bool with_255, int *out)
{
    if (!strcmp(v, "none")) *out = SCALE_NONE;
    else if (with_255 && !strcmp(v, "255")) *out = SCALE_255;
    else if (!strcmp(v, "standard")) *out = SCALE_STANDARD;
    else if (!strcmp(v, "minmax")) *out = SCALE_MINMAX;
    else
        return cli_usage_error(cmd, "--%s expects none, %sstandard or "
                               "minmax, got '%s'", opt,
                               with_255 ? "255, " : "", cli_cap(v));
    return 0;
}

static int parse_label_col(const char *cmd, cli_data_opts *d, const char *v)
{
    if (!*v) return cli_usage_error(cmd, "--label-col: empty column name");
    d->label_name = NULL;
    if (!strcmp(v, "last")) d->label_mode = LABEL_LAST;
    else if (!strcmp(v, "none")) d->label_mode = LABEL_NONE;
    else if (!is_index(v)) {
        d->label_mode = LABEL_NAME;
        d->label_name = v;
    } else {
        d->label_mode = LABEL_INDEX;
        return cli_size(cmd, "label-col", v, 0, &d->label_col);
    }
    return 0;
}

int cli_data_opt(const char *cmd, cli_data_opts *d, int id, const char *val)
{
    switch (id) {
    case OPT_IMAGES: d->images = val; return 0;
    case OPT_LABELS: d->labels = val; return 0;
    case OPT_CSV: d->csv = val; return 0;
    case OPT_HEADER: d->header = HEADER_YES; return 0;
    case OPT_NO_HEADER: d->header = HEADER_NO; return 0;
    case OPT_DELIMITER: return parse_delim(cmd, val, &d->delim);
    case OPT_LABEL_COL: return parse_label_col(cmd, d, val);
    case OPT_TARGET:
        if (!*val) return cli_usage_error(cmd, "--target: empty column list");
        d->target = val;
        return 0;
    case OPT_SCALE: return parse_scale(cmd, "scale", val, true, &d->scale);
    case OPT_TEST_FRACTION:
        d->split = true;
        return cli_double(cmd, "test-fraction", val, 0, false, 1, false,
                          "a fraction in (0, 1)", &d->test_fraction);
    }
    return cli_usage_error(cmd, "internal: unknown data option");
}

int cli_scale_opt(const char *cmd, const char *opt, const char *v, int *out)
{
    return parse_scale(cmd, opt, v, false, out);
}

int cli_data_check(const char *cmd, const cli_data_opts *d, bool need_truth)
{
    if (d->csv && (d->images || d->labels))
        return cli_usage_error(cmd, "--csv cannot be combined with --images "
                               "or --labels");
    if (!d->csv && !d->images) {
        if (d->labels)
            return cli_usage_error(cmd, "--labels needs --images");
        return cli_usage_error(cmd, "missing data: give --csv FILE or "
                               "--images FILE --labels FILE");
    }
    if (d->images && need_truth && !d->labels)
        return cli_usage_error(cmd, "missing --labels FILE (labels for "
                               "--images %s)", d->images);
    if (d->images && (d->header != HEADER_AUTO || d->delim ||
                      d->label_mode != LABEL_DEFAULT || d->target))
        return cli_usage_error(cmd, "--header, --no-header, --delimiter, "
                               "--label-col and --target apply to --csv "
                               "only");
    if (d->target && d->label_mode != LABEL_DEFAULT)
        return cli_usage_error(cmd, "--target and --label-col exclude each "
                               "other (targets are real-valued columns, a "
                               "label is one class column)");
    if (need_truth && d->label_mode == LABEL_NONE)
        return cli_usage_error(cmd, "--label-col none: this command needs "
                               "labelled data");
    return 0;
}

const char *cli_data_name(const cli_data_opts *d)
{
    return d->csv ? d->csv : d->images;
}

/* ------------------------------------------------------------ IDX */
static int width_error(const char *file, size_t have, size_t n_in,
                       size_t truth)
{
    return cli_error("%s: the data has %zu feature column%s%s but the model "
                     "expects %zu input%s", file, have, have == 1 ? "" : "s",
                     truth == 1   ? " (besides the label)"
                     : truth > 1 ? " (besides the targets)" : "",
                     n_in, n_in == 1 ? "" : "s");
}

static int load_idx_labels(const cli_data_opts *d, nn_data_t *data)
{
    cli_in in;
    nn_error_info err;
    memset(&err, 0, sizeof err);
    int rc = cli_in_open(&in, "--labels", d->labels);
    if (rc) return rc;
    nn_status st = nn_data_load_idx_labels(data, in.path, &err);
    cli_in_close(&in);
    if (st == NN_ERR_SHAPE && !err.message[0])
        return cli_error("%s: the number of labels does not match the %zu "
                         "images of %s", cli_in_shown(d->labels),
                         nn_data_rows(data), cli_in_shown(d->images));
    if (st) return cli_lib_error(NULL, d->labels, st, &err);
    return 0;
}

static int load_idx(const cli_data_opts *d, size_t n_in, nn_data_t **out)
{
    nn_error_info err;
    nn_data_t *data = NULL;
    cli_in in;
    memset(&err, 0, sizeof err);
    int rc = cli_in_open(&in, "--images", d->images);
    if (rc) return rc;
    nn_status st = nn_data_load_idx(&data, in.path, NULL, &err);
    cli_in_close(&in);
    if (st) return cli_lib_error(NULL, d->images, st, &err);
    if (d->labels && (rc = load_idx_labels(d, data))) {
        nn_data_destroy(data);
        return rc;
    }
    if (n_in && nn_data_cols(data) != n_in) {
        rc = width_error(cli_in_shown(d->images), nn_data_cols(data), n_in,
                         0);
        nn_data_destroy(data);
        return rc;
    }
    *out = data;
    return 0;
}

/* ------------------------------------------------------------ CSV columns */
/* Header field j, or NULL (no header). */
static const char *col_name(const nn_data_t *data, size_t j)
{
    return nn_data_name(data, NN_NAME_COLUMN, j);
}

/* The column a --label-col or --target item names: a 0-based index, or a
 * header name (exact). */
static int find_column(const char *file, const nn_data_t *data,
                       const char *opt, const char *item, size_t len,
                       size_t width, size_t *col)
{
    char *name = strndup(item, len);
    if (!name) return cli_error("out of memory");
    int rc = 0;
    if (is_index(name)) {
        if (cli_size("", opt, name, 0, col)) rc = EXIT_USAGE;
        else if (*col >= width)
            rc = cli_error("%s: --%s %s but the rows have %zu column%s (0 "
                           "to %zu)", file, opt, name, width,
                           width == 1 ? "" : "s", width - 1);
    } else if (!col_name(data, 0)) {
        rc = cli_error("%s: --%s '%s': the file has no header to find that "
                       "name in (give a 0-based column number)", file, opt,
                       cli_cap(name));
    } else {
        *col = SIZE_MAX;
        for (size_t j = 0; j < width && *col == SIZE_MAX; j++)
            if (col_name(data, j) && !strcmp(col_name(data, j), name))
                *col = j;
        if (*col == SIZE_MAX)
            rc = cli_error("%s: --%s '%s': no column of that name in the "
                           "header", file, opt, cli_cap(name));
    }
    free(name);
    return rc;
}

/* --target LIST: comma-separated columns, each once. */
static int target_cols(const cli_data_opts *d, const nn_data_t *data,
                       size_t width, size_t **cols, size_t *k)
{
    const char *file = cli_in_shown(d->csv);
    size_t n = 1;
    for (const char *p = d->target; *p; p++) n += *p == ',';
    size_t *c = calloc(n, sizeof *c);
    if (!c) return cli_error("out of memory");
    const char *p = d->target;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int rc = len ? find_column(file, data, "target", p, len, width, &c[i])
                     : cli_usage_error(NULL, "--target '%s': an empty item",
                                       cli_cap(d->target));
        for (size_t j = 0; !rc && j < i; j++)
            if (c[j] == c[i])
                rc = cli_usage_error(NULL, "--target '%s': column %zu named "
                                     "twice", cli_cap(d->target), c[i]);
        if (rc) {
            free(c);
            return rc;
        }
        p = e ? e + 1 : p + len;
    }
    *cols = c;
    *k = n;
    return 0;
}

/* The 1-based file line of data row i (a header takes line 1). */
static size_t csv_line_of(const nn_data_t *data, size_t i)
{
    return i + 1 + (col_name(data, 0) ? 1 : 0);
}

/* Moves feature column col into class labels, each checked to be an
 * integer in [0, 2^31) (the message names the CSV line and field). */
static int take_labels(const cli_data_opts *d, nn_data_t *data, size_t col)
{
    size_t m = nn_data_rows(data), n = nn_data_cols(data);
    const double *X = nn_data_x(data);
    int32_t *lab = m <= SIZE_MAX / sizeof *lab ? malloc(m * sizeof *lab)
                                               : NULL;
    if (!lab) return cli_error("out of memory");
    for (size_t i = 0; i < m; i++) {
        double v = X[i * n + col];
        if (!(v >= 0 && v < 2147483648.0 && v == floor(v))) {
            free(lab);
            return cli_error("%s:%zu:%zu: expected an integer label in "
                             "[0, 2^31), found %.17g (real-valued targets: "
                             "give --target)", cli_in_shown(d->csv),
                             csv_line_of(data, i), col + 1, v);
        }
        lab[i] = (int32_t)v;
    }
    nn_status st = nn_data_take_targets(data, &col, 1);
    if (!st) st = nn_data_set_labels(data, lab);
    free(lab);
    if (st) return cli_lib_error("taking the labels", d->csv, st, NULL);
    return 0;
}

static int take_targets(const cli_data_opts *d, nn_data_t *data,
                        const size_t *cols, size_t k)
{
    if (k >= nn_data_cols(data))
        return cli_error("%s: --target takes %zu of the %zu columns: no "
                         "feature column is left", cli_in_shown(d->csv), k,
                         nn_data_cols(data));
    nn_status st = nn_data_take_targets(data, cols, k);
    if (st) return cli_lib_error("taking the targets", d->csv, st, NULL);
    return 0;
}

/* The label column (NN_NO_COLUMN for none) of a classification CSV: by
 * --label-col, or its default (the last column; in predict, none when the
 * data is exactly as wide as the model's input). */
static int label_col(const cli_data_opts *d, const cli_want *w,
                     const nn_data_t *data, size_t width, size_t *out)
{
    const char *name = cli_in_shown(d->csv);
    int mode = d->label_mode;
    if (mode == LABEL_DEFAULT) {
        if (w->truth == TRUTH_NEED || !w->n_in) mode = LABEL_LAST;
        else mode = width == w->n_in ? LABEL_NONE : LABEL_LAST;
    }
    size_t col = NN_NO_COLUMN;
    if (mode == LABEL_LAST) col = width - 1;
    if (mode == LABEL_INDEX && d->label_col >= width)
        return cli_error("%s: --label-col %zu but the rows have %zu "
                         "column%s (0 to %zu)", name, d->label_col, width,
                         width == 1 ? "" : "s", width - 1);
    if (mode == LABEL_INDEX) col = d->label_col;
    if (mode == LABEL_NAME) {
        int rc = find_column(name, data, "label-col", d->label_name,
                             strlen(d->label_name), width, &col);
        if (rc) return rc;
    }
    if (col != NN_NO_COLUMN && width < 2)
        return cli_error("%s: only one column: no feature columns besides "
                         "the label", name);
    *out = col;
    return 0;
}

/* A regression model's default target columns: the last n_out, when the
 * data has the model's inputs and n_out more columns; none when it has
 * just the inputs (and the command can do without). */
static int default_targets(const cli_data_opts *d, const cli_want *w,
                           size_t width, size_t **cols, size_t *k)
{
    *k = 0;
    if (width == w->n_in && w->truth != TRUTH_NEED) return 0;
    if (width != w->n_in + w->n_out)
        return cli_error("%s: %zu columns, but the model has %zu inputs and "
                         "%zu output%s: give --target COLUMNS", cli_in_shown(
                         d->csv), width, w->n_in, w->n_out,
                         w->n_out == 1 ? "" : "s");
    size_t *c = calloc(w->n_out, sizeof *c);
    if (!c) return cli_error("out of memory");
    for (size_t j = 0; j < w->n_out; j++) c[j] = w->n_in + j;
    *cols = c;
    *k = w->n_out;
    return 0;
}

/* Targets (regression) or a label (classification) out of the features. */
static int csv_truth(const cli_data_opts *d, const cli_want *w,
                     nn_data_t *data)
{
    size_t width = nn_data_cols(data), *cols = NULL, k = 0;
    int rc;
    /* a regression model given labelled rows (predict only: a logits
     * export, say): the label column is dropped as for any model */
    bool label_rows = w->regress && !d->target &&
                      w->truth == TRUTH_OPTIONAL && w->n_out != 1 &&
                      width == w->n_in + 1;
    if (d->target || (w->regress && !label_rows)) {
        rc = d->target ? target_cols(d, data, width, &cols, &k)
                       : default_targets(d, w, width, &cols, &k);
        if (!rc && k && w->n_out && k != w->n_out)
            rc = cli_error("%s: --target names %zu column%s but the model "
                           "has %zu output%s", cli_in_shown(d->csv), k,
                           k == 1 ? "" : "s", w->n_out,
                           w->n_out == 1 ? "" : "s");
        if (!rc && k) rc = take_targets(d, data, cols, k);
        free(cols);
        return rc;
    }
    size_t col = NN_NO_COLUMN;
    rc = label_col(d, w, data, width, &col);
    if (!rc && col != NN_NO_COLUMN) rc = take_labels(d, data, col);
    return rc;
}

/* A loader error; a cell that holds another separator (a ';' file read
 * with ',') gets a hint. */
static int csv_error(const cli_data_opts *d, nn_status st, nn_error_info *e)
{
    const char *cell = strstr(e->message, "found \"");
    char other = 0;
    for (const char *p = cell ? cell + 7 : ""; *p && *p != '"' && !other; p++)
        if (strchr(";,|:\t ", *p) && *p != (d->delim ? d->delim : ','))
            other = *p;
    if (st == NN_ERR_FORMAT && other) {
        size_t n = strlen(e->message);
        snprintf(e->message + n, sizeof e->message - n, "; another separator? "
                 "(--delimiter %s)", other == '\t' ? "tab"
                                     : other == ' ' ? "space"
                                                    : (char[2]){other, 0});
    }
    return cli_lib_error(NULL, d->csv, st, e);
}

/* The CSV is read exactly once (so a pipe or FIFO works): every column as
 * a feature, then the truth columns are taken out. */
static int load_csv(const cli_data_opts *d, const cli_want *w,
                    nn_data_t **out)
{
    nn_error_info err;
    nn_data_t *data = NULL;
    cli_in in;
    memset(&err, 0, sizeof err);
    int rc = cli_in_open(&in, "--csv", d->csv);
    if (rc) return rc;
    static const int32_t modes[] = {NN_CSV_HEADER_AUTO, NN_CSV_HEADER_LINE,
                                    NN_CSV_HEADER_NONE};
    nn_csv_format fmt = {sizeof fmt, modes[d->header], d->delim,
                         NN_NO_COLUMN};
    nn_status st = nn_data_read_csv(&data, in.path, &fmt, NULL, &err);
    cli_in_close(&in);
    if (st) return csv_error(d, st, &err);
    rc = csv_truth(d, w, data);
    size_t truth = nn_data_n_targets(data) + (nn_data_labels(data) ? 1 : 0);
    if (!rc && w->n_in && nn_data_cols(data) != w->n_in)
        rc = width_error(cli_in_shown(d->csv), nn_data_cols(data), w->n_in,
                         truth);
    if (rc) {
        nn_data_destroy(data);
        return rc;
    }
    *out = data;
    return 0;
}

int cli_load_data(const char *cmd, const cli_data_opts *d, const cli_want *w,
                  nn_data_t **out)
{
    nn_data_t *data = NULL;
    int rc = d->images ? load_idx(d, w->n_in, &data) : load_csv(d, w, &data);
    if (rc) return rc;
    bool has = nn_data_labels(data) || nn_data_n_targets(data);
    if (w->truth == TRUTH_NEED && !has) {
        nn_data_destroy(data);
        return cli_usage_error(cmd, "%s has no %s",
                               cli_in_shown(cli_data_name(d)),
                               w->regress ? "target columns" : "labels");
    }
    *out = data;
    return 0;
}

/* ------------------------------------------------------------ names */
static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int cli_names_take(const nn_data_t *data, cli_names *nm)
{
    memset(nm, 0, sizeof *nm);
    size_t k = nn_data_n_targets(data), c = 0;
    while (nn_data_name(data, NN_NAME_CLASS, c)) c++;
    nm->target = k ? calloc(k, sizeof *nm->target) : NULL;
    nm->cls = c ? calloc(c, sizeof *nm->cls) : NULL;
    if ((k && !nm->target) || (c && !nm->cls)) {
        cli_names_free(nm);
        return cli_error("out of memory");
    }
    nm->k = k;
    nm->ncls = c;
    for (size_t j = 0; j < k; j++)
        nm->target[j] = dup_or_null(nn_data_name(data, NN_NAME_TARGET, j));
    for (size_t j = 0; j < c; j++)
        nm->cls[j] = dup_or_null(nn_data_name(data, NN_NAME_CLASS, j));
    return 0;
}

void cli_names_free(cli_names *nm)
{
    for (size_t j = 0; j < nm->k; j++) free(nm->target[j]);
    for (size_t j = 0; j < nm->ncls; j++) free(nm->cls[j]);
    free(nm->target);
    free(nm->cls);
    memset(nm, 0, sizeof *nm);
}

/* ------------------------------------------------------------ split */
/* SplitMix64 (Steele, Lea, Flood 2014): a generator of the tool's own, so
 * that the split is documented and reproducible outside libnn. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Marks (test[i] = 1) n_test of m rows by selection sampling (Knuth's
 * algorithm S), row i going to the test part with probability
 * need / left, u = (splitmix64 >> 11) * 2^-53. */
static void split_rows(uint64_t seed, size_t m, size_t n_test,
                       unsigned char *test)
{
    uint64_t x = seed ^ 0x7465737473706C74u; /* "testsplt" */
    size_t need = n_test;
    for (size_t i = 0; i < m; i++) {
        double u = (double)(splitmix64(&x) >> 11) * 0x1p-53;
        test[i] = need > 0 && u * (double)(m - i) < (double)need;
        need -= test[i];
    }
}

/* A data set of the rows of src whose mark equals `keep`. */
static nn_status subset(const nn_data_t *src, const unsigned char *mark,
                        unsigned char keep, size_t rows, nn_data_t **out)
{
    size_t n = nn_data_cols(src), k = nn_data_n_targets(src);
    const double *X = nn_data_x((nn_data_t *)src);
    const double *Y = nn_data_targets((nn_data_t *)src);
    const int32_t *lab = nn_data_labels(src);
    double *x = malloc(rows * n * sizeof *x), *y = k ? malloc(rows * k *
                                                             sizeof *y) : NULL;
    int32_t *l = lab ? malloc(rows * sizeof *l) : NULL;
    nn_status st = !x || (k && !y) || (lab && !l) ? NN_ERR_NOMEM : NN_OK;
    for (size_t i = 0, r = 0; !st && r < rows; i++) {
        if (mark[i] != keep) continue;
        memcpy(x + r * n, X + i * n, n * sizeof *x);
        if (k) memcpy(y + r * k, Y + i * k, k * sizeof *y);
        if (lab) l[r] = lab[i];
        r++;
    }
    nn_data_t *d = NULL;
    if (!st) st = nn_data_create(&d, rows, n, NN_ROW_MAJOR, x, n, NULL);
    if (!st && k) st = nn_data_set_targets(d, k, NN_ROW_MAJOR, y, k);
    if (!st && lab) st = nn_data_set_labels(d, l);
    free(x);
    free(y);
    free(l);
    if (st) nn_data_destroy(d);
    else *out = d;
    return st;
}

int cli_split(const char *cmd, const cli_data_opts *d, nn_data_t **data,
              nn_data_t **test)
{
    size_t m = nn_data_rows(*data);
    double want = d->test_fraction * (double)m;
    size_t n_test = (size_t)floor(want + 0.5);
    if (n_test < 1 || n_test >= m)
        return cli_usage_error(cmd, "--test-fraction %g of %zu rows leaves "
                               "%s part empty", d->test_fraction, m,
                               n_test < 1 ? "the test" : "the training");
    unsigned char *mark = malloc(m);
    if (!mark) return cli_error("out of memory");
    split_rows(d->seed, m, n_test, mark);
    nn_data_t *tr = NULL, *te = NULL;
    nn_status st = test ? subset(*data, mark, 1, n_test, &te) : NN_OK;
    if (!st) st = subset(*data, mark, test ? 0 : 1, test ? m - n_test : n_test,
                         &tr);
    free(mark);
    if (st) {
        nn_data_destroy(te);
        return cli_lib_error("splitting the data", NULL, st, NULL);
    }
    nn_data_destroy(*data);
    *data = tr;
    if (test) *test = te;
    return 0;
}

/* ------------------------------------------------------------ scaling */
static const char *scale_word(int scale)
{
    static const char *const w[] = {"default", "none", "255", "standard",
                                    "minmax"};
    return w[scale];
}

/* The input scaling a --scale value stands for, the default resolved. */
static int scale_mode(const cli_data_opts *d)
{
    if (d->scale != SCALE_DEFAULT) return d->scale;
    return d->images ? SCALE_255 : SCALE_NONE;
}

/* Offsets and scales of s (malloc'ed, 2n values: offsets then scales). */
static double *scaler_params(const nn_scaler_t *s)
{
    size_t n = nn_scaler_n(s);
    double *p = n && n <= SIZE_MAX / 2 / sizeof *p
                    ? malloc(2 * n * sizeof *p) : NULL;
    if (p && nn_scaler_get_params(s, p, p + n) != NN_OK) {
        free(p);
        p = NULL;
    }
    return p;
}

/* 1 if s is x' = x / div for every column, 0 if not, -1 out of memory. */
static int scaler_is_divisor(const nn_scaler_t *s, double div)
{
    size_t n = nn_scaler_n(s);
    double *p = scaler_params(s);
    if (!p) return -1;
    int same = 1;
    for (size_t j = 0; j < n && same; j++)
        same = p[j] == 0.0 && p[n + j] == div;
    free(p);
    return same;
}

void cli_scaler_text(const nn_scaler_t *s, char *buf, size_t size)
{
    size_t n = nn_scaler_n(s);
    double *p = scaler_params(s);
    nn_scale_kind kind = NN_SCALE_CUSTOM;
    nn_scaler_get_kind(s, &kind);
    int uniform = p != NULL && kind == NN_SCALE_CUSTOM;
    for (size_t j = 0; j < n && uniform; j++)
        uniform = p[j] == 0.0 && p[n + j] == p[n];
    if (uniform)
        snprintf(buf, size, "every feature divided by %g", p[n]);
    else
        snprintf(buf, size, "%s, per column (%zu column%s)",
                 kind == NN_SCALE_STANDARD ? "standardised"
                 : kind == NN_SCALE_MINMAX ? "min-max scaled"
                                           : "custom offsets and scales",
                 n, n == 1 ? "" : "s");
    free(p);
}

const char *cli_scaler_word(const nn_scaler_t *s)
{
    nn_scale_kind kind = NN_SCALE_CUSTOM;
    if (!s) return "none";
    nn_scaler_get_kind(s, &kind);
    if (kind == NN_SCALE_STANDARD) return "standard";
    if (kind == NN_SCALE_MINMAX) return "minmax";
    return scaler_is_divisor(s, 255.0) == 1 ? "255" : "custom";
}

static int apply_scaler(const char *cmd, const nn_scaler_t *s,
                        nn_data_t *data)
{
    nn_status st = nn_scaler_apply_data(s, data);
    if (st) return cli_error("%s: scaling the data: %s", cmd, nn_strerror(st));
    return 0;
}

/* x / 255 as a CUSTOM scaler of n columns. */
static nn_status divisor_scaler(size_t n, double div, nn_scaler_t **out)
{
    double *p = n <= SIZE_MAX / 2 / sizeof *p ? malloc(2 * n * sizeof *p)
                                              : NULL;
    if (!p) return NN_ERR_NOMEM;
    for (size_t j = 0; j < n; j++) {
        p[j] = 0.0;
        p[n + j] = div;
    }
    nn_status st = nn_scaler_create(out, n, p, p + n, NULL);
    free(p);
    return st;
}

/* Training: fit the scaling --scale asks for (or its default) on the
 * training rows and apply it; the network will carry it, so that eval and
 * predict find it in the model. */
static int scale_for_training(const char *cmd, int mode, nn_data_t *data,
                              nn_scaler_t **made)
{
    *made = NULL;
    if (mode == SCALE_NONE) return 0;
    nn_scaler_t *s = NULL;
    nn_status st =
        mode == SCALE_255 ? divisor_scaler(nn_data_cols(data), 255.0, &s)
        : nn_scaler_fit_data(&s, mode == SCALE_STANDARD ? NN_SCALE_STANDARD
                                                        : NN_SCALE_MINMAX,
                             data, NULL);
    if (st) return cli_error("%s: fitting the %s scaler: %s", cmd,
                             scale_word(mode), nn_strerror(st));
    int rc = apply_scaler(cmd, s, data);
    if (rc) {
        nn_scaler_destroy(s);
        return rc;
    }
    *made = s;
    return 0;
}

/* Whether an explicit --scale agrees with the saved scaler: 1 yes, 0 no,
 * -1 out of memory. */
static int scale_agrees(int mode, const nn_scaler_t *saved)
{
    nn_scale_kind kind = NN_SCALE_CUSTOM;
    nn_scaler_get_kind(saved, &kind);
    switch (mode) {
    case SCALE_STANDARD: return kind == NN_SCALE_STANDARD;
    case SCALE_MINMAX: return kind == NN_SCALE_MINMAX;
    case SCALE_255: return scaler_is_divisor(saved, 255.0);
    }
    return 0; /* none, but the model carries a scaling */
}

int cli_scale_data(const char *cmd, const cli_data_opts *d, const char *model,
                   const nn_scaler_t *saved, nn_data_t *data,
                   nn_scaler_t **made)
{
    if (made) return scale_for_training(cmd, scale_mode(d), data, made);
    if (!saved) {
        int mode = scale_mode(d);
        if (mode == SCALE_STANDARD || mode == SCALE_MINMAX)
            return cli_usage_error(cmd, "--scale %s needs the scaler fitted "
                                   "at training, and %s carries none (it "
                                   "was trained on unscaled inputs)",
                                   scale_word(mode), model);
        nn_scaler_t *s = NULL;
        int rc = scale_for_training(cmd, mode, data, &s);
        nn_scaler_destroy(s);
        return rc;
    }
    if (d->scale != SCALE_DEFAULT) {
        int same = scale_agrees(d->scale, saved);
        if (same < 0) return cli_error("out of memory");
        if (!same) {
            char text[160];
            cli_scaler_text(saved, text, sizeof text);
            return cli_usage_error(cmd, "--scale %s conflicts with the input "
                                   "scaling saved in %s (%s); drop --scale "
                                   "to use the saved one",
                                   scale_word(d->scale), model, text);
        }
    }
    return apply_scaler(cmd, saved, data);
}

int cli_scale_targets(const char *cmd, int mode, nn_data_t *data,
                      nn_scaler_t **made)
{
    *made = NULL;
    size_t m = nn_data_rows(data), k = nn_data_n_targets(data);
    double *Y = nn_data_targets(data);
    if (mode == SCALE_NONE || !k) return 0;
    nn_scaler_t *s = NULL;
    nn_status st = nn_scaler_fit(&s, mode == SCALE_MINMAX ? NN_SCALE_MINMAX
                                                          : NN_SCALE_STANDARD,
                                 m, k, NN_ROW_MAJOR, Y, k, NULL);
    if (!st) st = nn_scaler_apply(s, m, NN_ROW_MAJOR, Y, k);
    if (st) {
        nn_scaler_destroy(s);
        return cli_error("%s: scaling the targets: %s", cmd,
                         nn_strerror(st));
    }
    *made = s;
    return 0;
}

/* ------------------------------------------------------------ labels */
int cli_check_labels(const cli_data_opts *d, const nn_data_t *data,
                     size_t n_classes, size_t n_out)
{
    const int32_t *lab = nn_data_labels(data);
    size_t m = nn_data_rows(data);
    if (!lab) return 0;
    for (size_t i = 0; i < m; i++) {
        /* the library keeps labels in [0, 2^31) */
        if ((size_t)lab[i] < n_classes) continue;
        char what[160];
        if (n_out == 1)
            snprintf(what, sizeof what, "the model has a single output, "
                     "so labels must be 0 or 1");
        else
            snprintf(what, sizeof what, "the model has %zu outputs, so "
                     "labels must be in 0..%zu", n_out, n_out - 1);
        if (d->csv) /* before any split: rows are the file's */
            return cli_error("%s:%zu: label %zu out of range: %s",
                             cli_in_shown(d->csv), csv_line_of(data, i),
                             (size_t)lab[i], what);
        return cli_error("%s: label %zu of item %zu out of range: %s",
                         cli_in_shown(d->labels), (size_t)lab[i], i, what);
    }
    return 0;
}

size_t cli_net_classes(const nn_net_t *net)
{
    size_t k = nn_net_n_out(net);
    return k == 1 ? 2 : k;
}

size_t cli_predicted_class(const double *y, size_t n_out)
{
    if (n_out == 1) return y[0] > 0.5 ? 1 : 0;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (y[j] > y[best]) best = j;
    return best;
}

bool cli_net_regresses(const nn_net_t *net)
{
    int64_t loss = NN_LOSS_MSE, act = NN_ACT_IDENTITY;
    nn_net_get_int(net, NN_NET_LOSS, &loss);
    nn_net_get_layer_int(net, nn_net_n_layers(net) - 1, NN_LAYER_ACTIVATION,
                         &act);
    return nn_net_get_scaler(net, NN_SCALER_TARGET) ||
           (loss == NN_LOSS_MSE && act != NN_ACT_SIGMOID &&
            act != NN_ACT_SOFTMAX);
}
