/* idx.c — the IDX loader (the format of MNIST: a 4-byte magic with the
 * element type and the number of dimensions, big-endian dimension sizes,
 * then the elements): nn_data_load_idx for the features, and
 * nn_data_load_idx_labels for a labels file.
 *
 * The file is read through file.c's reader (zlib's gz* interface: gzip and
 * plain files alike). The sizes its header claims are never trusted for an
 * allocation: nn__rd_payload reads the elements into a buffer that grows
 * only as the file delivers bytes. */
#include "nn_private.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    int type;
    size_t elsize;
    const char *tname;
    size_t ndims;
    size_t rows, cols, count, bytes;
} idx_header;

/* The element type of an IDX type byte: size and name (false if unknown). */
static bool idx_type(int type, size_t *elsize, const char **name)
{
    switch (type) {
    case 0x08: *elsize = 1; *name = "ubyte"; return true;
    case 0x09: *elsize = 1; *name = "sbyte"; return true;
    case 0x0B: *elsize = 2; *name = "int16"; return true;
    case 0x0C: *elsize = 4; *name = "int32"; return true;
    case 0x0D: *elsize = 4; *name = "float32"; return true;
    case 0x0E: *elsize = 8; *name = "float64"; return true;
    default: return false;
    }
}

/* The 4-byte magic: 00 00, the type byte, the number of dimensions. */
static nn_status idx_read_magic(nn__reader *r, idx_header *h)
{
    unsigned char m[4];
    size_t got;
    nn_status st = nn__rd_read(r, m, 4, &got);
    if (st) return st;
    if (got == 0) {
        nn__set_err(r->err, r->path, 0, 0, 0, "empty file");
        return NN_ERR_FORMAT;
    }
    if (got < 4) {
        nn__set_err(r->err, r->path, 0, 0, got,
                    "expected a 4-byte IDX magic, file ends after %zu", got);
        return NN_ERR_FORMAT;
    }
    if (m[0] != 0 || m[1] != 0) {
        const char *kind = nn__looks_like(m, 4);
        bool text = true;
        for (int i = 0; i < 4; i++)
            if (m[i] < 0x20 && m[i] != '\n' && m[i] != '\r' && m[i] != '\t')
                text = false;
        if (!kind && text) kind = "text (a CSV file?)";
        if (kind)
            nn__set_err(r->err, r->path, 0, 0, 0,
                        "not an IDX file: it looks like %s", kind);
        else
            nn__set_err(r->err, r->path, 0, 0, 0,
                        "bad IDX magic \\x%02x\\x%02x (expected \\x00\\x00)",
                        m[0], m[1]);
        return NN_ERR_FORMAT;
    }
    h->type = m[2];
    if (!idx_type(h->type, &h->elsize, &h->tname)) {
        nn__set_err(r->err, r->path, 0, 0, 2, "bad IDX type byte 0x%02x",
                    h->type);
        return NN_ERR_FORMAT;
    }
    h->ndims = m[3];
    if (h->ndims == 0) {
        nn__set_err(r->err, r->path, 0, 0, 3, "IDX file with 0 dimensions");
        return NN_ERR_FORMAT;
    }
    return NN_OK;
}

/* The dimension sizes (big-endian u32 each, none 0): rows = the first,
 * cols = the product of the others, then count and bytes, overflow-checked
 * (the count must also fit as doubles). */
static nn_status idx_read_dims(nn__reader *r, idx_header *h)
{
    h->rows = 0;
    h->cols = 1;
    for (size_t i = 0; i < h->ndims; i++) {
        unsigned char d[4];
        size_t at = r->off, got;
        nn_status st = nn__rd_read(r, d, 4, &got);
        if (st) return st;
        if (got < 4) {
            nn__set_err(r->err, r->path, 0, 0, at + got,
                        "expected %zu dimension sizes, file ends after %zu "
                        "bytes", h->ndims, at + got);
            return NN_ERR_FORMAT;
        }
        size_t v = ((size_t)d[0] << 24) | ((size_t)d[1] << 16) |
                   ((size_t)d[2] << 8) | (size_t)d[3];
        if (v == 0) {
            nn__set_err(r->err, r->path, 0, 0, at, "dimension %zu is 0", i + 1);
            return NN_ERR_FORMAT;
        }
        if (i == 0) h->rows = v;
        else if (!nn__mul(h->cols, v, &h->cols)) goto too_big;
    }
    if (!nn__mul(h->rows, h->cols, &h->count) ||
        !nn__mul(h->count, h->elsize, &h->bytes) ||
        !nn__mul(h->count, sizeof(double), &(size_t){0}))
        goto too_big;
    return NN_OK;
too_big:
    nn__set_err(r->err, r->path, 0, 0, 4,
                "IDX dimensions describe more data than any file can hold");
    return NN_ERR_FORMAT;
}

static nn_status idx_read_header(nn__reader *r, idx_header *h)
{
    nn_status st = idx_read_magic(r, h);
    return st ? st : idx_read_dims(r, h);
}

static double idx_value(const unsigned char *p, int type)
{
    uint32_t u32;
    uint64_t u64;
    switch (type) {
    case 0x08: return (double)p[0];
    case 0x09: return (double)(int8_t)p[0];
    case 0x0B: return (double)(int16_t)(uint16_t)((p[0] << 8) | p[1]);
    case 0x0C:
        u32 = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
              ((uint32_t)p[2] << 8) | p[3];
        return (double)(int32_t)u32;
    case 0x0D: {
        u32 = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
              ((uint32_t)p[2] << 8) | p[3];
        float f;
        memcpy(&f, &u32, sizeof f);
        return (double)f;
    }
    default: {
        u64 = 0;
        for (int i = 0; i < 8; i++) u64 = (u64 << 8) | p[i];
        double d;
        memcpy(&d, &u64, sizeof d);
        return d;
    }
    }
}

/* Read a whole IDX file: header into *h, payload into *buf (h->bytes bytes,
 * allocated through al). */
static nn_status idx_read(const char *path, const nn_allocator *al,
                          nn_error_info *err, idx_header *h,
                          unsigned char **buf)
{
    nn__reader r;
    nn_status st = nn__rd_open(&r, path, err);
    if (st) return st;
    st = idx_read_header(&r, h);
    if (!st) st = nn__rd_payload(&r, al, h->bytes, h->tname, buf);
    gzclose(r.gz);
    return st;
}

/* Float images must be finite, as in the CSV loader: a NaN or an infinity
 * would train a NaN model without a word. Checked before the data set is
 * allocated; the error names the element and its byte offset. */
static nn_status idx_check_finite(const char *path, const idx_header *h,
                                  const unsigned char *buf, nn_error_info *err)
{
    if (h->type != 0x0D && h->type != 0x0E) return NN_OK;
    for (size_t i = 0; i < h->count; i++) {
        double v = idx_value(buf + i * h->elsize, h->type);
        if (isfinite(v)) continue;
        nn__set_err(err, path, 0, 0, 4 + 4 * h->ndims + i * h->elsize,
                    "element %zu (row %zu, column %zu) is %s: values must be "
                    "finite", i + 1, i / h->cols + 1, i % h->cols + 1,
                    isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return NN_ERR_FORMAT;
    }
    return NN_OK;
}

nn_status nn_data_load_idx(nn_data_t **out, const char *path,
                           const nn_allocator *alloc, nn_error_info *err)
{
    if (!out || !path || !nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    idx_header h;
    unsigned char *buf = NULL;
    nn_status st = idx_read(path, &al, err, &h, &buf);
    if (st) return st;
    st = idx_check_finite(path, &h, buf, err);
    nn_data_t *d = NULL;
    if (!st) st = nn__data_new(&d, &al, h.rows, h.cols);
    if (!st) {
        for (size_t i = 0; i < h.count; i++)
            d->X[i] = idx_value(buf + i * h.elsize, h.type);
        *out = d;
    }
    nn__free(&al, buf, h.bytes);
    return st;
}

nn_status nn_data_load_idx_labels(nn_data_t *data, const char *path,
                                  nn_error_info *err)
{
    if (!data || !path) return NN_ERR_INVALID;
    idx_header h;
    unsigned char *buf = NULL;
    nn_status st = idx_read(path, &data->al, err, &h, &buf);
    if (st) return st;
    int32_t *lab = NULL;
    if (h.ndims != 1) {
        nn__set_err(err, path, 0, 0, 3,
                    "a labels file has 1 dimension, this one has %zu", h.ndims);
        st = NN_ERR_FORMAT;
    } else if (h.type == 0x0D || h.type == 0x0E) {
        nn__set_err(err, path, 0, 0, 2,
                    "labels must be an integer type, found %s", h.tname);
        st = NN_ERR_FORMAT;
    }
    for (size_t i = 0; !st && i < h.count; i++) {
        double v = idx_value(buf + i * h.elsize, h.type);
        if (v < 0) {
            nn__set_err(err, path, 0, 0, 4 + 4 * h.ndims + i * h.elsize,
                        "label %zu is negative (%.0f)", i + 1, v);
            st = NN_ERR_FORMAT;
        }
    }
    if (!st && h.rows != data->m) {
        nn__set_err(err, path, 0, 0, 4,
                    "%zu labels for a data set of %zu rows", h.rows, data->m);
        st = NN_ERR_SHAPE;
    }
    if (!st) lab = nn__data_alloc_labels(data, &st);
    if (!st) {
        /* integer types of at most 32 bits, checked >= 0: they fit */
        for (size_t i = 0; i < h.rows; i++)
            lab[i] = (int32_t)idx_value(buf + i * h.elsize, h.type);
        nn__data_attach_labels(data, lab);
    }
    nn__free(&data->al, buf, h.bytes);
    return st;
}
