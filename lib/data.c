/* data.c — data sets: features with class labels or dense targets, and the
 * IDX and CSV loaders, and the column names a CSV header gives. (The
 * scalers live in scaler.c.)
 *
 * Every file is read through zlib's gz* interface, which reads gzip and plain
 * files alike. Sizes claimed by a file header are never trusted for an
 * allocation: the payload is read into a buffer that grows by doubling (from
 * at most 1 MiB) while the file actually delivers bytes, so a hostile header
 * costs at most twice what the file really holds.
 *
 * Numbers in text are parsed with strtod_l in a "C" locale object created for
 * each load call (newlocale) and freed at its end: the process's locale
 * (setlocale, which a host program may have set to a comma-decimal locale) is
 * never consulted and never changed. */
#define _GNU_SOURCE /* newlocale, strtod_l (glibc; POSIX 2008 + extension) */

#include "nn_private.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* First read buffer: a header's claimed size is never trusted, the buffer
 * doubles only as bytes arrive, so a tiny file costs at most this much. */
#define CHUNK ((size_t)1 << 16)
#define LABEL_LIMIT 2147483648.0 /* labels lie in [0, 2^31) */

/* Column names (nn_data_name), from a CSV header: one allocation holding
 * the slot array, then the NUL-terminated names. The slots are laid out
 * for the file's c columns: features [0, c), targets [c, 2c), the label
 * at 2c, classes from 2c + 1 (ncls of them), then the header's fields as
 * read (nhdr of them), so that moving columns between
 * kinds (nn_data_take_targets, nn_data_labels_from_one_hot) never
 * allocates and cannot fail. */
typedef struct names {
    const char **slot; /* NULL: the data set has no names */
    size_t bytes, c, ncls;
    size_t nhdr; /* the header's fields, kept as read after the classes */
} names;

struct nn_data {
    nn_allocator al;
    size_t block_bytes; /* this struct + X (sized for the original n) */
    size_t m, n;
    double *X;
    int32_t *labels;  /* separate allocation of m int32_t, or NULL */
    size_t n_classes; /* 1 + max label (0 without labels) */
    double *Y;        /* separate allocation of m x k doubles, or NULL */
    size_t k;         /* target columns (0 without targets) */
    names nm;         /* column names from a CSV header (all empty: none) */
};

static void names_one_hot(names *nm, size_t c0, size_t k, size_t n);

/* ------------------------------------------------------------ errors */

static void set_err(nn_error_info *err, const char *path, size_t line,
                    size_t col, size_t offset, const char *fmt, ...)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    nn__copy_path(err->file, sizeof err->file, path ? path : "");
    err->line = line;
    err->column = col;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* At most max bytes of [a, b) into out (cap >= 4 * max + 4), every byte
 * outside printable ASCII written as \xNN and "..." after a cut: a message
 * never carries raw bytes (terminal escapes, an invisible BOM, a NUL). */
static const char *escape(char *out, size_t cap, const char *a, const char *b,
                          size_t max)
{
    size_t k = 0;
    for (const char *p = a; p < b && k + 8 < cap; p++) {
        if ((size_t)(p - a) == max) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') out[k++] = (char)c;
        else k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
    }
    out[k] = '\0';
    return out;
}

/* What the first n bytes of an input look like when they start with the
 * magic of another format libnn reads, else NULL. */
static const char *looks_like(const unsigned char *p, size_t n)
{
    if (n >= 4 && p[0] == 0x89 && p[1] == 'N' && p[2] == 'N' && p[3] == 'M')
        return "a libnn model file";
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B)
        return "gzip data (compressed twice?)";
    if (n >= 4 && p[0] == 0 && p[1] == 0 && p[3] != 0 &&
        (p[2] == 0x08 || p[2] == 0x09 || (p[2] >= 0x0B && p[2] <= 0x0E)))
        return "an IDX file";
    return NULL;
}

/* ------------------------------------------------------------ reading */
typedef struct {
    gzFile gz;
    const char *path;
    nn_error_info *err;
    size_t off; /* bytes consumed so far (decompressed) */
} reader;

/* Open path for reading. O_NONBLOCK makes open return at once on a FIFO
 * that has no writer (a blocking open would wait forever); it is cleared
 * again, so that reads wait for a writer's data as usual and a writer-less
 * FIFO reads as an immediate end of file. Returns the descriptor, or -1
 * with the error in *err. */
static int open_input(const char *path, nn_error_info *err)
{
    bool regular;
    uint64_t size;
    const char *what;
    int e, fd = nn__open_read(path, &regular, &size, &what, &e);
    if (fd < 0) set_err(err, path, 0, 0, 0, "%s: %s", what, NN_ERRNO_TEXT(e));
    return fd;
}

/* Open path through zlib on the descriptor open_input gave: gzip and plain
 * input alike, read once from the front (a pipe cannot be rewound). */
static nn_status rd_open(reader *r, const char *path, nn_error_info *err)
{
    r->path = path;
    r->err = err;
    r->off = 0;
    int fd = open_input(path, err);
    if (fd < 0) return NN_ERR_IO;
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) { /* only its allocation can fail */
        close(fd);
        return NN_ERR_NOMEM;
    }
    return NN_OK;
}

/* After gzread's 0: a gzip stream that stopped before its end-of-stream
 * marker and CRC/length trailer is truncated, not a short file (zlib reports
 * it as Z_BUF_ERROR, "unexpected end of file", without failing the read). */
static nn_status rd_check_end(reader *r, size_t at)
{
    int errnum = 0;
    gzerror(r->gz, &errnum);
    if (errnum != Z_BUF_ERROR) return NN_OK;
    set_err(r->err, r->path, 0, 0, at,
            "truncated gzip data: the stream ends after %zu bytes, before "
            "its end marker and checksum", at);
    return NN_ERR_FORMAT;
}

/* Read up to n bytes; *got receives the count (short only at end of file). */
static nn_status rd_read(reader *r, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        int k = gzread(r->gz, (char *)buf + done, (unsigned)want);
        if (k < 0) {
            int errnum = 0;
            const char *msg = gzerror(r->gz, &errnum);
            if (errnum == Z_ERRNO) {
                set_err(r->err, r->path, 0, 0, r->off + done,
                        "read error: %s", NN_ERRNO_TEXT(errno));
                return NN_ERR_IO;
            }
            set_err(r->err, r->path, 0, 0, r->off + done,
                    "corrupt compressed data after %zu bytes (%s)",
                    r->off + done, msg ? msg : "zlib error");
            return NN_ERR_FORMAT;
        }
        if (k == 0) {
            nn_status st = rd_check_end(r, r->off + done);
            if (st) return st;
            break;
        }
        done += (size_t)k;
    }
    r->off += done;
    *got = done;
    return NN_OK;
}

/* Read exactly `want` bytes into a buffer allocated through al, growing it
 * only as data arrives; then require end of file. `what` names the data in
 * messages. On success *buf holds want bytes (allocated size want). */
static nn_status rd_payload(reader *r, const nn_allocator *al, size_t want,
                            const char *what, unsigned char **buf)
{
    size_t start = r->off, cap = want < CHUNK ? want : CHUNK, have = 0;
    unsigned char *b = nn__alloc(al, cap);
    if (!b) return NN_ERR_NOMEM;
    nn_status st = NN_OK;
    for (;;) {
        size_t got;
        st = rd_read(r, b + have, cap - have, &got);
        if (st) break;
        have += got;
        if (have < cap) break; /* end of file */
        if (have == want) break;
        size_t ncap = cap > want / 2 ? want : cap * 2;
        unsigned char *nb = nn__alloc(al, ncap);
        if (!nb) { st = NN_ERR_NOMEM; break; }
        memcpy(nb, b, have);
        nn__free(al, b, cap);
        b = nb;
        cap = ncap;
    }
    if (!st && have < want) {
        set_err(r->err, r->path, 0, 0, start + have,
                "expected %zu bytes of %s data, file ends after %zu", want,
                what, have);
        st = NN_ERR_FORMAT;
    }
    if (!st) {
        unsigned char extra;
        size_t got;
        st = rd_read(r, &extra, 1, &got);
        if (!st && got) {
            set_err(r->err, r->path, 0, 0, start + want,
                    "trailing data after %zu bytes of %s data", want, what);
            st = NN_ERR_FORMAT;
        }
    }
    if (st) {
        nn__free(al, b, cap);
        return st;
    }
    *buf = b; /* cap == want here */
    return NN_OK;
}

/* ------------------------------------------------------------ IDX */
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
static nn_status idx_read_magic(reader *r, idx_header *h)
{
    unsigned char m[4];
    size_t got;
    nn_status st = rd_read(r, m, 4, &got);
    if (st) return st;
    if (got == 0) {
        set_err(r->err, r->path, 0, 0, 0, "empty file");
        return NN_ERR_FORMAT;
    }
    if (got < 4) {
        set_err(r->err, r->path, 0, 0, got,
                "expected a 4-byte IDX magic, file ends after %zu", got);
        return NN_ERR_FORMAT;
    }
    if (m[0] != 0 || m[1] != 0) {
        const char *kind = looks_like(m, 4);
        bool text = true;
        for (int i = 0; i < 4; i++)
            if (m[i] < 0x20 && m[i] != '\n' && m[i] != '\r' && m[i] != '\t')
                text = false;
        if (!kind && text) kind = "text (a CSV file?)";
        if (kind)
            set_err(r->err, r->path, 0, 0, 0,
                    "not an IDX file: it looks like %s", kind);
        else
            set_err(r->err, r->path, 0, 0, 0,
                    "bad IDX magic \\x%02x\\x%02x (expected \\x00\\x00)",
                    m[0], m[1]);
        return NN_ERR_FORMAT;
    }
    h->type = m[2];
    if (!idx_type(h->type, &h->elsize, &h->tname)) {
        set_err(r->err, r->path, 0, 0, 2, "bad IDX type byte 0x%02x",
                h->type);
        return NN_ERR_FORMAT;
    }
    h->ndims = m[3];
    if (h->ndims == 0) {
        set_err(r->err, r->path, 0, 0, 3, "IDX file with 0 dimensions");
        return NN_ERR_FORMAT;
    }
    return NN_OK;
}

/* The dimension sizes (big-endian u32 each, none 0): rows = the first,
 * cols = the product of the others, then count and bytes, overflow-checked
 * (the count must also fit as doubles). */
static nn_status idx_read_dims(reader *r, idx_header *h)
{
    h->rows = 0;
    h->cols = 1;
    for (size_t i = 0; i < h->ndims; i++) {
        unsigned char d[4];
        size_t at = r->off, got;
        nn_status st = rd_read(r, d, 4, &got);
        if (st) return st;
        if (got < 4) {
            set_err(r->err, r->path, 0, 0, at + got,
                    "expected %zu dimension sizes, file ends after %zu "
                    "bytes", h->ndims, at + got);
            return NN_ERR_FORMAT;
        }
        size_t v = ((size_t)d[0] << 24) | ((size_t)d[1] << 16) |
                   ((size_t)d[2] << 8) | (size_t)d[3];
        if (v == 0) {
            set_err(r->err, r->path, 0, 0, at, "dimension %zu is 0", i + 1);
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
    set_err(r->err, r->path, 0, 0, 4,
            "IDX dimensions describe more data than any file can hold");
    return NN_ERR_FORMAT;
}

static nn_status idx_read_header(reader *r, idx_header *h)
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
    reader r;
    nn_status st = rd_open(&r, path, err);
    if (st) return st;
    st = idx_read_header(&r, h);
    if (!st) st = rd_payload(&r, al, h->bytes, h->tname, buf);
    gzclose(r.gz);
    return st;
}

/* ------------------------------------------------------------ data sets */
static nn_status data_new(nn_data_t **out, const nn_allocator *al, size_t m,
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
static void attach_labels(nn_data_t *d, int32_t *lab)
{
    int32_t max = -1;
    for (size_t i = 0; i < d->m; i++)
        if (lab[i] > max) max = lab[i];
    drop_targets(d);
    d->labels = lab;
    d->n_classes = (size_t)max + 1;
}

/* m labels through d->al (size overflow-checked), or NULL with *st set. */
static int32_t *alloc_labels(nn_data_t *d, nn_status *st)
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
    st = data_new(&d, &al, m, n);
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
    int32_t *lab = alloc_labels(data, &st);
    if (!lab) return st;
    memcpy(lab, labels, data->m * sizeof(int32_t));
    attach_labels(data, lab);
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
static void names_take(names *nm, const size_t *cols, size_t k,
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
        set_err(err, path, 0, 0, 4 + 4 * h->ndims + i * h->elsize,
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
    if (!st) st = data_new(&d, &al, h.rows, h.cols);
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
        set_err(err, path, 0, 0, 3,
                "a labels file has 1 dimension, this one has %zu", h.ndims);
        st = NN_ERR_FORMAT;
    } else if (h.type == 0x0D || h.type == 0x0E) {
        set_err(err, path, 0, 0, 2,
                "labels must be an integer type, found %s", h.tname);
        st = NN_ERR_FORMAT;
    }
    for (size_t i = 0; !st && i < h.count; i++) {
        double v = idx_value(buf + i * h.elsize, h.type);
        if (v < 0) {
            set_err(err, path, 0, 0, 4 + 4 * h.ndims + i * h.elsize,
                    "label %zu is negative (%.0f)", i + 1, v);
            st = NN_ERR_FORMAT;
        }
    }
    if (!st && h.rows != data->m) {
        set_err(err, path, 0, 0, 4,
                "%zu labels for a data set of %zu rows", h.rows, data->m);
        st = NN_ERR_SHAPE;
    }
    if (!st) lab = alloc_labels(data, &st);
    if (!st) {
        /* integer types of at most 32 bits, checked >= 0: they fit */
        for (size_t i = 0; i < h.rows; i++)
            lab[i] = (int32_t)idx_value(buf + i * h.elsize, h.type);
        attach_labels(data, lab);
    }
    nn__free(&data->al, buf, h.bytes);
    return st;
}

/* ------------------------------------------------------------ CSV */
static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

#define SHOWN 40 /* bytes of a cell echoed in a message */

typedef struct {
    const char *path;
    nn_error_info *err;
    locale_t loc;     /* the "C" numeric locale of this load call */
    size_t label_col; /* or NN_NO_COLUMN */
    char delim;       /* the separator; ' ' stands for runs of blanks */
    int32_t header;   /* NN_CSV_HEADER_*; AUTO is decided on line 1 */
    size_t fields; /* per row, fixed by the first data row (0 = unknown) */
    size_t header_fields; /* fields of the header line (0 = no header) */
    size_t header_off;    /* its byte offset (after a BOM) */
    const char *hs, *he;  /* the header line's text */
    size_t first_line;    /* line number of the first data row */
    bool sklearn;         /* the header is scikit-learn's "m,n,classes..." */
    size_t rows;
    size_t max_label;
} csv_state;

/* A line: its 1-based number, its first byte and that byte's offset. */
typedef struct {
    size_t no, off;
    const char *s;
} csv_loc;

/* Fail with NN_ERR_FORMAT at column col of line `at`, byte `where`. */
static nn_status csv_fail(const csv_state *cs, const csv_loc *at, size_t col,
                          const char *where, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(cs->err, cs->path, at->no, col, at->off + (size_t)(where - at->s),
            "%s", msg);
    return NN_ERR_FORMAT;
}

/* Whether [a, b) is a plain decimal number: [+-] digits [. digits]
 * [(e|E) [+-] digits], with a digit in the mantissa. strtod would also take
 * hexadecimal ("0x10" is 16), hex floats ("0x1p4"), "inf", "nan",
 * "infinity": none of them is CSV, and each would load silently. */
static bool plain_decimal(const char *a, const char *b)
{
    const char *p = a;
    size_t digits = 0;
    if (p < b && (*p == '+' || *p == '-')) p++;
    for (; p < b && is_digit(*p); p++) digits++;
    if (p < b && *p == '.')
        for (p++; p < b && is_digit(*p); p++) digits++;
    if (digits == 0) return false;
    if (p < b && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < b && (*p == '+' || *p == '-')) p++;
        if (p == b || !is_digit(*p)) return false;
        while (p < b && is_digit(*p)) p++;
    }
    return p == b;
}

/* The number in cell [*a, *b) of column col (trimmed of blanks in place). */
static nn_status csv_cell(const csv_state *cs, const csv_loc *at, size_t col,
                          const char **a, const char **b, double *v)
{
    while (*a < *b && is_blank(**a)) (*a)++;
    while (*b > *a && is_blank((*b)[-1])) (*b)--;
    if (*a == *b) return csv_fail(cs, at, col, *a, "empty cell");
    char shown[4 * SHOWN + 8];
    if (!plain_decimal(*a, *b))
        return csv_fail(cs, at, col, *a,
                        "expected a decimal number, found \"%s\"",
                        escape(shown, sizeof shown, *a, *b, SHOWN));
    /* strtod_l stops at the end of the validated text (a blank, ',', a line
     * end or the final NUL follow it); the "C" locale makes '.' the decimal
     * point whatever setlocale says. */
    char *end;
    *v = strtod_l(*a, &end, cs->loc);
    if (end != *b || !isfinite(*v))
        return csv_fail(cs, at, col, *a, "number out of range: \"%s\"",
                        escape(shown, sizeof shown, *a, *b, SHOWN));
    return NN_OK;
}

/* The label in cell [a, b) (value v): an integer in [0, 2^31). */
static nn_status csv_label(csv_state *cs, const csv_loc *at, size_t col,
                           const char *a, const char *b, double v,
                           int32_t *label)
{
    if (v < 0 || v >= LABEL_LIMIT || v != floor(v)) {
        char shown[4 * SHOWN + 8];
        return csv_fail(cs, at, col, a,
                        "expected an integer label in [0, 2^31), found "
                        "\"%s\"", escape(shown, sizeof shown, a, b, SHOWN));
    }
    if (label) *label = (int32_t)v;
    if ((size_t)v > cs->max_label) cs->max_label = (size_t)v;
    return NN_OK;
}

/* After the last cell of a row of col fields (nf features): the first data
 * row fixes the row width (and must agree with the header); a later row
 * must have as many fields. */
static nn_status csv_row_end(csv_state *cs, const csv_loc *at, size_t col,
                             size_t nf)
{
    if (cs->fields) {
        if (col < cs->fields)
            return csv_fail(cs, at, col, at->s, "row has %zu fields, "
                            "expected %zu", col, cs->fields);
        return NN_OK;
    }
    if (cs->label_col != NN_NO_COLUMN && cs->label_col >= col)
        return csv_fail(cs, at, 0, at->s, "label column %zu but rows have "
                        "%zu fields", cs->label_col + 1, col);
    if (nf == 0) return csv_fail(cs, at, 0, at->s, "no feature columns");
    cs->fields = col;
    cs->first_line = at->no;
    return NN_OK;
}

/* The cell starting at p of a line ending at e: *b receives its end; the
 * return value is the separator after it (or e). With delim ' ' a run of
 * blanks separates cells, the return value is past it, and blanks at the
 * end of the line are no cell. */
static const char *cell_end(char delim, const char *p, const char *e,
                            const char **b)
{
    if (delim == ' ') {
        while (p < e && !is_blank(*p)) p++;
        *b = p;
        while (p < e && is_blank(*p)) p++;
        return p;
    }
    while (p < e && *p != delim) p++;
    *b = p;
    return p; /* at the separator, or e */
}

/* cell_end for a header field, which may be quoted: a separator between
 * double quotes ("" stands for one quote) belongs to the name. */
static const char *head_cell_end(char delim, const char *p, const char *e,
                                 const char **b)
{
    const char *q = p;
    while (q < e && is_blank(*q) && *q != delim) q++;
    if (q < e && *q == '"') {
        for (q++; q < e; q++) {
            if (*q != '"') continue;
            if (q + 1 < e && q[1] == '"') {
                q++; /* "" inside the quotes */
                continue;
            }
            p = q + 1; /* the closing quote */
            break;
        }
    }
    return cell_end(delim, p, e, b);
}

/* Parse one line (`at` to e, no line end). With X non-NULL store the row's
 * features at X and its label at *label. */
static nn_status csv_line(csv_state *cs, const csv_loc *at, const char *e,
                          double *X, int32_t *label)
{
    size_t col = 0, nf = 0;
    const char *p = at->s;
    if (cs->delim == ' ')
        while (p < e && is_blank(*p)) p++;
    for (;;) {
        const char *a = p, *b;
        p = cell_end(cs->delim, p, e, &b); /* the cell is [a, b) */
        col++;
        if (cs->fields && col > cs->fields)
            return csv_fail(cs, at, col, a, "row has more than %zu fields",
                            cs->fields);
        double v = 0;
        nn_status st = csv_cell(cs, at, col, &a, &b, &v);
        if (!st && col - 1 == cs->label_col)
            st = csv_label(cs, at, col, a, b, v, label);
        else if (!st && X)
            X[nf] = v;
        if (st) return st;
        nf += col - 1 != cs->label_col;
        if (p >= e) break;
        if (cs->delim != ' ') p++; /* past the separator */
    }
    return csv_row_end(cs, at, col, nf);
}

/* The line starting at p: *ce receives the end of its content; returns the
 * start of the next line. Lines end in "\n", "\r\n" or a lone "\r" (old Mac
 * files, some spreadsheet exports). */
static const char *next_line(const char *p, const char *end, const char **ce)
{
    while (p < end && *p != '\n' && *p != '\r') p++;
    *ce = p;
    if (p < end && *p == '\r') p++;
    if (p < end && *p == '\n' && (p == *ce || p[-1] == '\r')) p++;
    return p;
}

/* Fields of a header line [s, e) as cell_end splits it (no quoting of
 * separators, as in data rows). */
static size_t count_fields(char delim, const char *s, const char *e)
{
    size_t n = 0;
    if (delim == ' ')
        while (s < e && is_blank(*s)) s++;
    for (;;) {
        const char *b;
        s = head_cell_end(delim, s, e, &b);
        n++;
        if (s >= e) return n;
        if (delim != ' ') s++;
    }
}

/* Whether line [s, e) is a header for NN_CSV_HEADER_AUTO: one of its
 * fields is not a plain decimal number (a name, an empty field). */
static bool looks_like_header(char delim, const char *s, const char *e)
{
    if (delim == ' ')
        while (s < e && is_blank(*s)) s++;
    for (;;) {
        const char *a = s, *b;
        s = head_cell_end(delim, s, e, &b);
        while (a < b && is_blank(*a)) a++;
        while (b > a && is_blank(b[-1])) b--;
        if (!plain_decimal(a, b)) return true;
        if (s >= e) return false;
        if (delim != ' ') s++;
    }
}

/* Length of a UTF-8 byte order mark at the start of text (0 or 3): some
 * editors and spreadsheet exports write one; it is not part of the data. */
static size_t bom_len(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

/* Walk the text; with d non-NULL, fill it (its shape is known). */
static nn_status csv_walk(csv_state *cs, const char *text, size_t len,
                          nn_data_t *d)
{
    size_t lineno = 0, row = 0;
    const char *p = text + bom_len(text, len), *end = text + len;
    cs->rows = 0;
    cs->max_label = 0;
    while (p < end) {
        const char *ls = p, *ce;
        p = next_line(p, end, &ce);
        csv_loc at = {++lineno, (size_t)(ls - text), ls};
        if (lineno == 1 && cs->header == NN_CSV_HEADER_AUTO)
            cs->header = looks_like_header(cs->delim, ls, ce)
                             ? NN_CSV_HEADER_LINE : NN_CSV_HEADER_NONE;
        if (lineno == 1 && cs->header == NN_CSV_HEADER_LINE) {
            cs->header_fields = count_fields(cs->delim, ls, ce);
            cs->header_off = at.off;
            cs->hs = ls;
            cs->he = ce;
            continue;
        }
        if (ce == ls) {
            /* an empty line: fine only if every later line is empty too */
            const char *q = p;
            while (q < end && (*q == '\n' || *q == '\r')) q++;
            if (q == end) break;
            return csv_fail(cs, &at, 1, ls, "empty line");
        }
        nn_status st = csv_line(cs, &at, ce, d ? d->X + row * d->n : NULL,
                                d && d->labels ? d->labels + row : NULL);
        if (st) return st;
        row++;
    }
    cs->rows = row;
    if (row == 0) {
        set_err(cs->err, cs->path, lineno, 0, len, "no data rows");
        return NN_ERR_FORMAT;
    }
    return NN_OK;
}

/* The whole file, NUL-terminated, in a buffer (allocated size *cap) that
 * grows as it fills; *len bytes of text. */
static nn_status csv_slurp(const char *path, const nn_allocator *al,
                           nn_error_info *err, char **out, size_t *len_out,
                           size_t *cap_out)
{
    reader r;
    nn_status st = rd_open(&r, path, err);
    if (st) return st;
    size_t cap = 65536, len = 0;
    char *text = nn__alloc(al, cap);
    if (!text) st = NN_ERR_NOMEM;
    while (!st) {
        size_t got;
        st = rd_read(&r, text + len, cap - 1 - len, &got);
        if (st) break;
        len += got;
        if (len < cap - 1) break;
        size_t ncap;
        if (!nn__mul(cap, 2, &ncap)) { st = NN_ERR_TOO_LARGE; break; }
        char *nt = nn__alloc(al, ncap);
        if (!nt) { st = NN_ERR_NOMEM; break; }
        memcpy(nt, text, len);
        nn__free(al, text, cap);
        text = nt;
        cap = ncap;
    }
    gzclose(r.gz);
    if (st) {
        nn__free(al, text, cap);
        return st;
    }
    text[len] = '\0';
    *out = text;
    *len_out = len;
    *cap_out = cap;
    return NN_OK;
}

/* Whether [a, b) is the plain integer v. */
static bool is_count(const char *a, const char *b, size_t v)
{
    while (a < b && is_blank(*a)) a++;
    while (b > a && is_blank(b[-1])) b--;
    char buf[24];
    int k = snprintf(buf, sizeof buf, "%zu", v);
    return b - a == k && memcmp(a, buf, (size_t)k) == 0;
}

/* After the first pass (the shape is known): the header must have as many
 * fields as the rows, unless it is scikit-learn's layout (its bundled CSV
 * files): "m,n,name_0,...", m the data rows and n the columns but the last,
 * followed by the class names. */
static nn_status csv_check_header(csv_state *cs)
{
    if (!cs->header_fields) return NN_OK;
    const char *a = cs->hs, *b, *p = head_cell_end(cs->delim, a, cs->he, &b);
    if (cs->header_fields >= 3 && is_count(a, b, cs->rows) && p < cs->he) {
        const char *a2 = cs->delim == ' ' ? p : p + 1, *b2;
        head_cell_end(cs->delim, a2, cs->he, &b2);
        cs->sklearn = is_count(a2, b2, cs->fields - 1);
    }
    if (cs->sklearn || cs->header_fields == cs->fields) return NN_OK;
    csv_loc h = {1, cs->header_off, cs->hs};
    return csv_fail(cs, &h, 0, cs->hs, "the header has %zu fields but line "
                    "%zu has %zu", cs->header_fields, cs->first_line,
                    cs->fields);
}

/* Copy header field [a, b) to t as a name: blanks trimmed, one pair of
 * enclosing double quotes removed ("" inside stands for one). Returns the
 * end of the NUL-terminated copy. */
static char *copy_name(char *t, const char *a, const char *b)
{
    while (a < b && is_blank(*a)) a++;
    while (b > a && is_blank(b[-1])) b--;
    bool quoted = b - a >= 2 && *a == '"' && b[-1] == '"';
    if (quoted) {
        a++;
        b--;
    }
    for (; a < b; a++) {
        *t++ = *a;
        if (quoted && *a == '"' && a + 1 < b && a[1] == '"') a++;
    }
    *t++ = '\0';
    return t;
}

/* The header's names into d->nm (see names): feature and label names, or,
 * for scikit-learn's layout, the class names. */
static nn_status csv_names(const csv_state *cs, nn_data_t *d)
{
    size_t c = cs->fields, ncls = cs->sklearn ? cs->header_fields - 2 : 0;
    const char **raw; /* slot + 2c + 1 + ncls: the fields as read */
    size_t nslot = 2 * c + 1 + ncls + cs->header_fields, text = (size_t)(cs->he - cs->hs) + 1 +
                                             cs->header_fields, bytes;
    if (!nn__mul(nslot, sizeof(char *), &bytes) || !nn__add(bytes, text, &bytes))
        return NN_ERR_TOO_LARGE;
    const char **slot = nn__alloc(&d->al, bytes);
    if (!slot) return NN_ERR_NOMEM;
    memset(slot, 0, nslot * sizeof *slot);
    char *t = (char *)(slot + nslot);
    raw = slot + 2 * c + 1 + ncls;
    const char *p = cs->hs;
    if (cs->delim == ' ')
        while (p < cs->he && is_blank(*p)) p++;
    for (size_t j = 0, f = 0; j < cs->header_fields; j++) {
        const char *a = p, *b;
        p = head_cell_end(cs->delim, p, cs->he, &b);
        const char *name = t;
        t = copy_name(t, a, b);
        raw[j] = name;
        if (cs->sklearn) {
            if (j >= 2) slot[2 * c + 1 + j - 2] = name;
        } else if (j == cs->label_col) {
            slot[2 * c] = name;
        } else {
            slot[f++] = name;
        }
        if (p < cs->he && cs->delim != ' ') p++;
    }
    d->nm = (names){slot, bytes, c, ncls, cs->header_fields};
    return NN_OK;
}

/* Two passes over the text in memory (the input itself was read once, so
 * pipes and FIFOs work): the first finds the shape (nothing allocated from
 * what the file claims), the second fills the data set. */
static nn_status csv_parse(csv_state *cs, const char *text, size_t len,
                           const nn_allocator *al, nn_data_t **out)
{
    nn_status st = csv_walk(cs, text, len, NULL);
    if (!st) st = csv_check_header(cs);
    if (st) return st;
    bool with_labels = cs->label_col != NN_NO_COLUMN;
    nn_data_t *d = NULL;
    st = data_new(&d, al, cs->rows, cs->fields - with_labels);
    if (st) return st;
    if (with_labels) d->labels = alloc_labels(d, &st);
    if (!st) st = csv_walk(cs, text, len, d);
    if (!st && cs->header_fields) st = csv_names(cs, d);
    if (st) {
        nn_data_destroy(d);
        return st;
    }
    if (d->labels) d->n_classes = cs->max_label + 1;
    *out = d;
    return NN_OK;
}

/* An empty input, or one that starts like another format libnn reads (a
 * model, an IDX file, gzip data once more), is named as such rather than
 * parsed: its bytes would only give a confusing cell error. */
static nn_status csv_not_text(const char *path, const unsigned char *text,
                              size_t len, nn_error_info *err)
{
    const char *kind = looks_like(text, len);
    if (len == 0) set_err(err, path, 0, 0, 0, "empty file");
    else if (kind)
        set_err(err, path, 1, 1, 0, "not CSV text: it looks like %s", kind);
    return len == 0 || kind ? NN_ERR_FORMAT : NN_OK;
}

/* A separator nn_data_read_csv accepts: printable ASCII other than what a
 * number or a name's quoting may hold, or a tab; ' ' means runs of blanks. */
static bool delim_ok(int32_t d)
{
    if (d == '\t' || d == ' ') return true;
    if (d < 0x21 || d > 0x7e) return false;
    if ((d >= '0' && d <= '9') || (d >= 'A' && d <= 'Z') ||
        (d >= 'a' && d <= 'z'))
        return false;
    return !strchr("+-.\"", d);
}

nn_status nn_data_read_csv(nn_data_t **out, const char *path,
                           const nn_csv_format *fmt,
                           const nn_allocator *alloc, nn_error_info *err)
{
    if (!out || !path || !fmt || fmt->size < sizeof(nn_csv_format) ||
        !nn__allocator_valid(alloc))
        return NN_ERR_INVALID;
    int32_t delim = fmt->delimiter ? fmt->delimiter : ',';
    if (fmt->header < NN_CSV_HEADER_NONE || fmt->header > NN_CSV_HEADER_AUTO ||
        !delim_ok(delim))
        return NN_ERR_INVALID;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    char *text = NULL;
    size_t len = 0, cap = 0;
    nn_status st = csv_slurp(path, &al, err, &text, &len, &cap);
    if (st) return st;
    st = csv_not_text(path, (const unsigned char *)text, len, err);
    if (st) {
        nn__free(&al, text, cap);
        return st;
    }
    /* a locale object of our own, so neither the process's locale nor any
     * other thread's is read or changed */
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (loc == (locale_t)0) {
        nn__free(&al, text, cap);
        return NN_ERR_NOMEM;
    }
    csv_state cs = {.path = path, .err = err, .loc = loc,
                    .label_col = fmt->label_col, .delim = (char)delim,
                    .header = fmt->header};
    st = csv_parse(&cs, text, len, &al, out);
    freelocale(loc);
    nn__free(&al, text, cap);
    return st;
}

nn_status nn_data_load_csv(nn_data_t **out, const char *path, int32_t header,
                           size_t label_col, const nn_allocator *alloc,
                           nn_error_info *err)
{
    nn_csv_format fmt = {sizeof fmt,
                         header ? NN_CSV_HEADER_LINE : NN_CSV_HEADER_NONE,
                         ',', label_col};
    return nn_data_read_csv(out, path, &fmt, alloc, err);
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
    int32_t *lab = alloc_labels(data, &st);
    if (!lab) return st;
    for (size_t i = 0; i < m; i++) {
        size_t bad = 0, c = one_hot_class(data->X + i * n, first_col, k, &bad);
        if (c == k) {
            set_err(err, "", i + 1, bad + 1, 0,
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
    attach_labels(data, lab);
    data->n = nf;
    return NN_OK;
}

/* The names of one-hot columns [c0, c0 + k) of n features become the
 * class names (k <= c: they fit the class slots), the features close up. */
static void names_one_hot(names *nm, size_t c0, size_t k, size_t n)
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
    const names *nm = &data->nm;
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
