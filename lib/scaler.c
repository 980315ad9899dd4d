/* scaler.c — per-column affine preprocessing x' = (x - offset_j) / scale_j.
 *
 * A scaler is one allocation: the struct, then n offsets, then n scales. It is
 * fitted on plain arrays (any order and leading dimension) or on a data set's
 * features, applied or inverted in place, and its parameters are exposed so
 * that model files (model.c) can save and rebuild it exactly. */
#include "nn_private.h"

#include <math.h>
#include <string.h>

struct nn_scaler {
    nn_allocator al;
    size_t bytes; /* the whole block */
    nn_scale_kind kind;
    size_t n;
    double *offset; /* subtracted */
    double *scale;  /* then divided by */
};

static bool kind_valid(nn_scale_kind kind)
{
    return kind == NN_SCALE_STANDARD || kind == NN_SCALE_MINMAX ||
           kind == NN_SCALE_CUSTOM;
}

/* An uninitialised scaler of n columns through al. */
static nn_status scaler_alloc(nn_scaler_t **out, nn_scale_kind kind, size_t n,
                              const nn_allocator *al)
{
    size_t bytes;
    if (!nn__mul(n, 2 * sizeof(double), &bytes) ||
        !nn__add(bytes, sizeof(nn_scaler_t), &bytes))
        return NN_ERR_TOO_LARGE;
    nn_scaler_t *s = nn__alloc(al, bytes);
    if (!s) return NN_ERR_NOMEM;
    s->al = *al;
    s->bytes = bytes;
    s->kind = kind;
    s->n = n;
    s->offset = (double *)(s + 1);
    s->scale = s->offset + n;
    *out = s;
    return NN_OK;
}

/* Offsets finite; scales finite and non-zero (so apply never divides by 0
 * and invert is exact up to rounding). */
static bool params_valid(size_t n, const double *offset, const double *scale)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(offset[j]) || !isfinite(scale[j]) || scale[j] == 0.0)
            return false;
    return true;
}

nn_status nn__scaler_make(nn_scaler_t **out, nn_scale_kind kind, size_t n,
                          const double *offset, const double *scale,
                          const nn_allocator *al)
{
    if (!out || !al || n == 0 || !offset || !scale || !kind_valid(kind))
        return NN_ERR_INVALID;
    if (!params_valid(n, offset, scale)) return NN_ERR_INVALID;
    nn_scaler_t *s = NULL;
    nn_status st = scaler_alloc(&s, kind, n, al);
    if (st) return st;
    memcpy(s->offset, offset, n * sizeof(double));
    memcpy(s->scale, scale, n * sizeof(double));
    *out = s;
    return NN_OK;
}

nn_status nn__scaler_clone(nn_scaler_t **out, const nn_scaler_t *scaler,
                           const nn_allocator *al)
{
    if (!scaler) return NN_ERR_INVALID;
    return nn__scaler_make(out, scaler->kind, scaler->n, scaler->offset,
                           scaler->scale, al);
}

/* Column j of an m-row matrix with strides (rs, cs): mean and population sd
 * (sd 0 -> 1). false when the sums overflow. */
static bool fit_standard(size_t m, const double *X, size_t rs, size_t cs,
                         size_t j, double *offset, double *scale)
{
    double sum = 0.0, ss = 0.0;
    for (size_t i = 0; i < m; i++) sum += X[i * rs + j * cs];
    double mean = sum / (double)m;
    for (size_t i = 0; i < m; i++) {
        double t = X[i * rs + j * cs] - mean;
        ss += t * t;
    }
    double sd = sqrt(ss / (double)m);
    *offset = mean;
    *scale = sd > 0.0 ? sd : 1.0;
    return isfinite(mean) && isfinite(sd);
}

/* Column j: min and max - min (range 0 -> 1). false when the range
 * overflows. */
static bool fit_minmax(size_t m, const double *X, size_t rs, size_t cs,
                       size_t j, double *offset, double *scale)
{
    double lo = X[j * cs], hi = lo;
    for (size_t i = 1; i < m; i++) {
        double v = X[i * rs + j * cs];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    double r = hi - lo;
    *offset = lo;
    *scale = r > 0.0 ? r : 1.0;
    return isfinite(r);
}

nn_status nn_scaler_fit(nn_scaler_t **out, nn_scale_kind kind, size_t m,
                        size_t n, nn_order order, const double *X, size_t ldx,
                        const nn_allocator *alloc)
{
    if (!out || !nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    if (kind != NN_SCALE_STANDARD && kind != NN_SCALE_MINMAX)
        return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, n, order, ldx);
    if (st) return st;
    size_t rs, cs;
    nn__strides(order, ldx, &rs, &cs);
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < m; i++)
            if (!isfinite(X[i * rs + j * cs])) return NN_ERR_NUMERIC;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_scaler_t *s = NULL;
    st = scaler_alloc(&s, kind, n, &al);
    if (st) return st;
    for (size_t j = 0; j < n; j++) {
        bool ok = kind == NN_SCALE_STANDARD
                      ? fit_standard(m, X, rs, cs, j, &s->offset[j],
                                     &s->scale[j])
                      : fit_minmax(m, X, rs, cs, j, &s->offset[j],
                                   &s->scale[j]);
        if (!ok) { /* finite values whose sums overflow double */
            nn_scaler_destroy(s);
            return NN_ERR_NUMERIC;
        }
    }
    *out = s;
    return NN_OK;
}

nn_status nn_scaler_fit_data(nn_scaler_t **out, nn_scale_kind kind,
                             const nn_data_t *data,
                             const nn_allocator *alloc)
{
    if (!data) return NN_ERR_INVALID;
    nn__dview v;
    nn__data_view(data, &v);
    return nn_scaler_fit(out, kind, v.m, v.n, NN_ROW_MAJOR, v.X, v.n, alloc);
}

nn_status nn_scaler_create(nn_scaler_t **out, size_t n, const double *offset,
                           const double *scale, const nn_allocator *alloc)
{
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    return nn__scaler_make(out, NN_SCALE_CUSTOM, n, offset, scale, &al);
}

void nn_scaler_destroy(nn_scaler_t *scaler)
{
    if (!scaler) return;
    nn_allocator al = scaler->al;
    nn__free(&al, scaler, scaler->bytes);
}

size_t nn_scaler_n(const nn_scaler_t *scaler)
{
    return scaler ? scaler->n : 0;
}

nn_status nn_scaler_get_kind(const nn_scaler_t *scaler, nn_scale_kind *kind)
{
    if (!scaler || !kind) return NN_ERR_INVALID;
    *kind = scaler->kind;
    return NN_OK;
}

nn_status nn_scaler_get_params(const nn_scaler_t *scaler, double *offset,
                               double *scale)
{
    if (!scaler || (!offset && !scale)) return NN_ERR_INVALID;
    if (offset) memcpy(offset, scaler->offset, scaler->n * sizeof(double));
    if (scale) memcpy(scale, scaler->scale, scaler->n * sizeof(double));
    return NN_OK;
}

/* x' = (x - offset)/scale, or with invert x = x' * scale + offset, in place
 * on an m x n matrix (order, ld) after validating it. */
static nn_status transform(const nn_scaler_t *s, size_t m, nn_order order,
                           double *X, size_t ld, bool invert)
{
    if (!s) return NN_ERR_INVALID;
    nn_status st = nn__check_matrix(X, m, s->n, order, ld);
    if (st) return st;
    size_t rs, cs;
    nn__strides(order, ld, &rs, &cs);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < s->n; j++) {
            double *x = &X[i * rs + j * cs];
            *x = invert ? *x * s->scale[j] + s->offset[j]
                        : (*x - s->offset[j]) / s->scale[j];
        }
    return NN_OK;
}

nn_status nn_scaler_apply(const nn_scaler_t *scaler, size_t m, nn_order order,
                          double *X, size_t ld)
{
    return transform(scaler, m, order, X, ld, false);
}

nn_status nn_scaler_invert(const nn_scaler_t *scaler, size_t m,
                           nn_order order, double *X, size_t ld)
{
    return transform(scaler, m, order, X, ld, true);
}

nn_status nn_scaler_apply_data(const nn_scaler_t *scaler, nn_data_t *data)
{
    if (!scaler || !data) return NN_ERR_INVALID;
    if (nn_data_cols(data) != scaler->n) return NN_ERR_SHAPE;
    return transform(scaler, nn_data_rows(data), NN_ROW_MAJOR,
                     nn_data_x(data), scaler->n, false);
}

const double *nn__scaler_offsets(const nn_scaler_t *scaler)
{
    return scaler->offset;
}

const double *nn__scaler_scales(const nn_scaler_t *scaler)
{
    return scaler->scale;
}
