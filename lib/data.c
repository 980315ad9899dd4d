/* data.c — data sets: features with class labels or dense targets, the
 * column names a CSV header gives (nn__names, nn_data_name), moving columns
 * between kinds (nn_data_take_targets, the one-hot conversions). The
 * loaders fill the same object: the IDX one is idx.c, the CSV one csv.c,
 * both through nn__data_new and the label helpers here. (The scalers live
 * in scaler.c.) */
#include "nn_private.h"

#include <math.h>
#include <string.h>

static void names_one_hot(nn__names *nm, size_t c0, size_t k, size_t n);

/* ------------------------------------------------------------ data sets */
nn_status nn__data_new(nn_data_t **out, const nn_allocator *al, size_t m,
                       size_t n)
{
    size_t mn, bytes;
    if (!nn__mul(m, n, &mn) || !nn__mul(mn, sizeof(double), &bytes) ||
        !nn__add(bytes, sizeof(nn_data_t), &bytes))
        return NN_ERR_TOO_LARGE;
    nn_data_t *d = nn__alloc(al, bytes);
    if (!d) return NN_ERR_NOMEM;
    memset(d, 0, sizeof *d);
    d->al = *al;
    d->block_bytes = bytes;
    d->m = m;
    d->n = n;
    d->X = (double *)(d + 1);
    *out = d;
    return NN_OK;
}

/* Release the labels and the targets (a data set holds one kind at most). */
static void drop_targets(nn_data_t *d)
{
    nn__free(&d->al, d->labels, d->m * sizeof(int32_t));
    nn__free(&d->al, d->Y, d->m * d->k * sizeof(double));
    d->labels = NULL;
    d->n_classes = 0;
    d->Y = NULL;
    d->k = 0;
}

/* Take ownership of lab (m labels allocated through d->al), replacing any
 * labels or targets. */
void nn__data_attach_labels(nn_data_t *d, int32_t *lab)
{
    int32_t max = -1;
    for (size_t i = 0; i < d->m; i++)
        if (lab[i] > max) max = lab[i];
    drop_targets(d);
    d->labels = lab;
    d->n_classes = (size_t)max + 1;
}

/* m labels through d->al (size overflow-checked), or NULL with *st set. */
int32_t *nn__data_alloc_labels(nn_data_t *d, nn_status *st)
{
    size_t bytes;
    if (!nn__mul(d->m, sizeof(int32_t), &bytes)) {
        *st = NN_ERR_TOO_LARGE;
        return NULL;
    }
    int32_t *lab = nn__alloc(&d->al, bytes);
    *st = lab ? NN_OK : NN_ERR_NOMEM;
    return lab;
}

nn_status nn_data_create(nn_data_t **out, size_t m, size_t n, nn_order order,
                         const double *X, size_t ldx,
                         const nn_allocator *alloc)
{
    if (!out || !nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, n, order, ldx);
    if (st) return st;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_data_t *d = NULL;
    st = nn__data_new(&d, &al, m, n);
    if (st) return st;
    size_t rs, cs;
    nn__strides(order, ldx, &rs, &cs);
    nn__copy_matrix(m, n, X, rs, cs, d->X, n, 1);
    *out = d;
    return NN_OK;
}

nn_status nn_data_set_labels(nn_data_t *data, const int32_t *labels)
{
    if (!data || !labels) return NN_ERR_INVALID;
    for (size_t i = 0; i < data->m; i++)
        if (labels[i] < 0) return NN_ERR_INVALID;
    nn_status st;
    int32_t *lab = nn__data_alloc_labels(data, &st);
    if (!lab) return st;
    memcpy(lab, labels, data->m * sizeof(int32_t));
    nn__data_attach_labels(data, lab);
    return NN_OK;
}

/* Take ownership of Y (m x k, allocated through d->al), replacing any labels
 * or targets. */
static void attach_targets(nn_data_t *d, double *Y, size_t k)
{
    drop_targets(d);
    d->Y = Y;
    d->k = k;
}

/* An m x k target block through d->al, or NULL with *st set. */
static double *alloc_targets(nn_data_t *d, size_t k, nn_status *st)
{
    size_t mk, bytes;
    if (!nn__mul(d->m, k, &mk) || !nn__mul(mk, sizeof(double), &bytes)) {
        *st = NN_ERR_TOO_LARGE;
        return NULL;
    }
    double *Y = nn__alloc(&d->al, bytes);
    *st = Y ? NN_OK : NN_ERR_NOMEM;
    return Y;
}

nn_status nn_data_set_targets(nn_data_t *data, size_t k, nn_order order,
                              const double *Y, size_t ldy)
{
    if (!data) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(Y, data->m, k, order, ldy);
    if (st) return st;
    size_t rs, cs;
    nn__strides(order, ldy, &rs, &cs);
    for (size_t i = 0; i < data->m; i++)
        for (size_t j = 0; j < k; j++)
            if (!isfinite(Y[i * rs + j * cs])) return NN_ERR_NUMERIC;
    double *T = alloc_targets(data, k, &st);
    if (!T) return st;
    nn__copy_matrix(data->m, k, Y, rs, cs, T, k, 1);
    attach_targets(data, T, k);
    return NN_OK;
}

/* Names of feature columns cols[0..k-1] (marked in mark) become the
 * target names, the other features close up (the slots of n features). */
static void names_take(nn__names *nm, const size_t *cols, size_t k,
                       const unsigned char *mark, size_t n)
{
    if (!nm->slot) return;
    const char **f = nm->slot, **t = nm->slot + nm->c;
    for (size_t j = 0; j < k; j++) t[j] = f[cols[j]];
    for (size_t j = k; j < nm->c; j++) t[j] = NULL;
    for (size_t j = 0, c = 0; j < n; j++)
        if (!mark[j]) f[c++] = f[j];
    for (size_t j = n - k; j < n; j++) f[j] = NULL;
}

/* Check cols[0..k-1] against n features: each < n (NN_ERR_SHAPE), distinct
 * (NN_ERR_INVALID), and at least one feature left (NN_ERR_SHAPE). mark
 * (n bytes) receives 1 for a taken column. */
static nn_status mark_columns(const size_t *cols, size_t k, size_t n,
                              unsigned char *mark)
{
    memset(mark, 0, n);
    for (size_t j = 0; j < k; j++) {
        if (cols[j] >= n) return NN_ERR_SHAPE;
        if (mark[cols[j]]) return NN_ERR_INVALID;
        mark[cols[j]] = 1;
    }
    return NN_OK;
}

nn_status nn_data_take_targets(nn_data_t *data, const size_t *cols, size_t k)
{
    if (!data || !cols || k == 0) return NN_ERR_INVALID;
    if (k >= data->n) return NN_ERR_SHAPE; /* features must remain */
    size_t m = data->m, n = data->n;
    unsigned char *mark = nn__alloc(&data->al, n);
    if (!mark) return NN_ERR_NOMEM;
    nn_status st = mark_columns(cols, k, n, mark);
    double *Y = st ? NULL : alloc_targets(data, k, &st);
    if (!Y) {
        nn__free(&data->al, mark, n);
        return st;
    }
    /* rows only move left (nf < n), so compacting in place is safe */
    size_t nf = n - k;
    for (size_t i = 0; i < m; i++) {
        const double *src = data->X + i * n;
        double *dst = data->X + i * nf;
        for (size_t j = 0; j < k; j++) Y[i * k + j] = src[cols[j]];
        for (size_t j = 0, c = 0; j < n; j++)
            if (!mark[j]) dst[c++] = src[j];
    }
    names_take(&data->nm, cols, k, mark, n);
    nn__free(&data->al, mark, n);
    attach_targets(data, Y, k);
    data->n = nf;
    return NN_OK;
}

/* ------------------------------------------------------------ accessors */
void nn_data_destroy(nn_data_t *data)
{
    if (!data) return;
    drop_targets(data);
    nn__free(&data->al, data->nm.slot, data->nm.bytes);
    nn_allocator al = data->al;
    nn__free(&al, data, data->block_bytes);
}

size_t nn_data_rows(const nn_data_t *data) { return data ? data->m : 0; }
size_t nn_data_cols(const nn_data_t *data) { return data ? data->n : 0; }
double *nn_data_x(nn_data_t *data) { return data ? data->X : NULL; }
const int32_t *nn_data_labels(const nn_data_t *data)
{
    return data ? data->labels : NULL;
}
size_t nn_data_n_classes(const nn_data_t *data)
{
    return data ? data->n_classes : 0;
}
size_t nn_data_n_targets(const nn_data_t *data) { return data ? data->k : 0; }
double *nn_data_targets(nn_data_t *data) { return data ? data->Y : NULL; }

void nn__data_view(const nn_data_t *data, nn__dview *v)
{
    v->m = data->m;
    v->n = data->n;
    v->k = data->k;
    v->X = data->X;
    v->labels = data->labels;
    v->Y = data->Y;
}

nn_status nn_data_one_hot(const nn_data_t *data, size_t k, nn_order order,
                          double *Y, size_t ldy)
{
    if (!data || !data->labels) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(Y, data->m, k, order, ldy);
    if (st) return st;
    if (data->n_classes > k) return NN_ERR_SHAPE;
    size_t rs, cs;
    nn__strides(order, ldy, &rs, &cs);
    for (size_t i = 0; i < data->m; i++)
        for (size_t j = 0; j < k; j++)
            Y[i * rs + j * cs] = (size_t)data->labels[i] == j ? 1.0 : 0.0;
    return NN_OK;
}

/* Row i's class from one-hot columns [c0, c0+k): the column holding the one
 * 1 among zeros, or k when the row is not one-hot (*bad_col: where). */
static size_t one_hot_class(const double *row, size_t c0, size_t k,
                            size_t *bad_col)
{
    size_t cls = k;
    for (size_t j = 0; j < k; j++) {
        double v = row[c0 + j];
        if (v == 1.0 && cls == k) {
            cls = j;
        } else if (v != 0.0) {
            *bad_col = c0 + j;
            return k;
        }
    }
    *bad_col = c0;
    return cls;
}

nn_status nn_data_labels_from_one_hot(nn_data_t *data, size_t first_col,
                                      size_t k, nn_error_info *err)
{
    if (!data || k == 0) return NN_ERR_INVALID;
    if (first_col >= data->n || k > data->n - first_col || k == data->n)
        return NN_ERR_SHAPE; /* the columns must exist, and features remain */
    /* labels are int32_t: more classes than that cannot be named */
    if (k > (size_t)INT32_MAX) return NN_ERR_TOO_LARGE;
    size_t m = data->m, n = data->n;
    nn_status st;
    int32_t *lab = nn__data_alloc_labels(data, &st);
    if (!lab) return st;
    for (size_t i = 0; i < m; i++) {
        size_t bad = 0, c = one_hot_class(data->X + i * n, first_col, k, &bad);
        if (c == k) {
            nn__set_err(err, "", i + 1, bad + 1, 0,
                        "row %zu is not one-hot in columns %zu..%zu", i + 1,
                        first_col + 1, first_col + k);
            nn__free(&data->al, lab, m * sizeof(int32_t));
            return NN_ERR_FORMAT;
        }
        lab[i] = (int32_t)c;
    }
    /* compact the features in place, row by row (rows only move left) */
    size_t nf = n - k;
    for (size_t i = 0; i < m; i++) {
        const double *src = data->X + i * n;
        double *dst = data->X + i * nf;
        memmove(dst, src, first_col * sizeof(double));
        memmove(dst + first_col, src + first_col + k,
                (n - first_col - k) * sizeof(double));
    }
    names_one_hot(&data->nm, first_col, k, n);
    nn__data_attach_labels(data, lab);
    data->n = nf;
    return NN_OK;
}

/* The names of one-hot columns [c0, c0 + k) of n features become the
 * class names (k <= c: they fit the class slots), the features close up. */
static void names_one_hot(nn__names *nm, size_t c0, size_t k, size_t n)
{
    if (!nm->slot) return;
    const char **f = nm->slot, **cls = nm->slot + 2 * nm->c + 1;
    for (size_t j = 0; j < k; j++) cls[j] = f[c0 + j];
    nm->ncls = k;
    nm->slot[2 * nm->c] = NULL; /* no label column of that name */
    memmove(f + c0, f + c0 + k, (n - c0 - k) * sizeof *f);
    for (size_t j = n - k; j < n; j++) f[j] = NULL;
}

const char *nn_data_name(const nn_data_t *data, int32_t kind, size_t j)
{
    if (!data || !data->nm.slot) return NULL;
    const nn__names *nm = &data->nm;
    switch (kind) {
    case NN_NAME_FEATURE: return j < data->n ? nm->slot[j] : NULL;
    case NN_NAME_TARGET: return j < data->k ? nm->slot[nm->c + j] : NULL;
    case NN_NAME_LABEL:
        return j == 0 && data->labels ? nm->slot[2 * nm->c] : NULL;
    case NN_NAME_CLASS:
        return j < nm->ncls && data->labels ? nm->slot[2 * nm->c + 1 + j]
                                            : NULL;
    case NN_NAME_COLUMN:
        return j < nm->nhdr ? nm->slot[2 * nm->c + 1 + nm->ncls + j] : NULL;
    }
    return NULL;
}
