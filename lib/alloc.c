/* alloc.c — allocation through the caller's allocator, overflow-checked size
 * arithmetic and the argument checks every entry point shares. */
#include "nn_private.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

bool nn__allocator_valid(const nn_allocator *user)
{
    return !user || (user->alloc && user->free);
}

void nn__allocator_init(nn_allocator *dst, const nn_allocator *user)
{
    if (user) {
        *dst = *user;
    } else {
        dst->alloc = default_alloc;
        dst->free = default_free;
        dst->ctx = NULL;
    }
}

void *nn__alloc(const nn_allocator *al, size_t bytes)
{
    return bytes ? al->alloc(al->ctx, bytes) : NULL;
}

void nn__free(const nn_allocator *al, void *ptr, size_t bytes)
{
    if (ptr) al->free(al->ctx, ptr, bytes);
}

bool nn__mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

bool nn__add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

bool nn__fits_blas(size_t n) { return n <= (size_t)INT_MAX; }

nn_status nn__check_matrix(const void *p, size_t m, size_t n, nn_order order,
                           size_t ld)
{
    if (!p || m == 0 || n == 0) return NN_ERR_INVALID;
    if (order != NN_ROW_MAJOR && order != NN_COL_MAJOR) return NN_ERR_INVALID;
    if (!nn__fits_blas(m) || !nn__fits_blas(n) || !nn__fits_blas(ld))
        return NN_ERR_TOO_LARGE;
    size_t width = order == NN_ROW_MAJOR ? n : m;
    size_t lines = order == NN_ROW_MAJOR ? m : n;
    if (ld < width) return NN_ERR_SHAPE;
    /* the last element, (lines-1)*ld + width - 1, must be addressable */
    size_t span;
    if (!nn__mul(lines - 1, ld, &span) || !nn__add(span, width, &span) ||
        !nn__mul(span, sizeof(double), &span))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

nn_status nn__check_layer_shape(size_t n_in, size_t n_out, nn_activation act,
                                double act_param)
{
    if (n_in == 0 || n_out == 0) return NN_ERR_INVALID;
    if (act < 0 || act > NN_ACT_SOFTMAX) return NN_ERR_INVALID;
    /* softmax over one unit is the constant 1: its loss is 0 whatever the
     * weights, so a gradient through it could only be noise */
    if (act == NN_ACT_SOFTMAX && n_out < 2) return NN_ERR_INVALID;
    if (!isfinite(act_param)) return NN_ERR_INVALID;
    if (act == NN_ACT_LEAKY_RELU && act_param < 0) return NN_ERR_INVALID;
    if (!nn__fits_blas(n_in) || !nn__fits_blas(n_out)) return NN_ERR_TOO_LARGE;
    size_t w;
    if (!nn__mul(n_in, n_out, &w) || !nn__mul(w, sizeof(double), &w))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

void nn__copy_matrix(size_t m, size_t n, const double *src, size_t src_rs,
                     size_t src_cs, double *dst, size_t dst_rs, size_t dst_cs)
{
    if (src_cs == 1 && dst_cs == 1) { /* rows contiguous on both sides */
        for (size_t i = 0; i < m; i++)
            memcpy(dst + i * dst_rs, src + i * src_rs, n * sizeof(double));
        return;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            dst[i * dst_rs + j * dst_cs] = src[i * src_rs + j * src_cs];
}

bool nn__all_finite(const double *p, size_t n)
{
    /* accumulate p*0: 0 for finite values, NaN for NaN/Inf; no early exit so
     * the loop vectorises */
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += p[i] * 0.0;
    return acc == 0.0;
}
