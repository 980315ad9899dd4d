/* csv.c — the CSV loader: nn_data_read_csv (any separator, a header line
 * given, absent or detected, the label column) and nn_data_load_csv; the
 * header's names (scikit-learn's "m,n,classes..." layout too) become the
 * data set's names.
 *
 * The whole input is read once, through file.c's reader (zlib's gz*
 * interface: gzip and plain files alike), into a buffer that grows by
 * doubling as bytes arrive, so pipes and FIFOs work; two passes over that
 * text then find the shape and fill the data set.
 *
 * Numbers in text are parsed with strtod_l in a "C" locale object created for
 * each load call (newlocale) and freed at its end: the process's locale
 * (setlocale, which a host program may have set to a comma-decimal locale) is
 * never consulted and never changed. */
#define _GNU_SOURCE /* newlocale, strtod_l (glibc; POSIX 2008 + extension) */

#include "nn_private.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LABEL_LIMIT 2147483648.0 /* labels lie in [0, 2^31) */

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
    nn__set_err(cs->err, cs->path, at->no, col,
                at->off + (size_t)(where - at->s), "%s", msg);
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
        nn__set_err(cs->err, cs->path, lineno, 0, len, "no data rows");
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
    nn__reader r;
    nn_status st = nn__rd_open(&r, path, err);
    if (st) return st;
    size_t cap = 65536, len = 0;
    char *text = nn__alloc(al, cap);
    if (!text) st = NN_ERR_NOMEM;
    while (!st) {
        size_t got;
        st = nn__rd_read(&r, text + len, cap - 1 - len, &got);
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

/* The header's names into d->nm (see nn__names): feature and label names, or,
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
    d->nm = (nn__names){slot, bytes, c, ncls, cs->header_fields};
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
    st = nn__data_new(&d, al, cs->rows, cs->fields - with_labels);
    if (st) return st;
    if (with_labels) d->labels = nn__data_alloc_labels(d, &st);
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
    const char *kind = nn__looks_like(text, len);
    if (len == 0) nn__set_err(err, path, 0, 0, 0, "empty file");
    else if (kind)
        nn__set_err(err, path, 1, 1, 0, "not CSV text: it looks like %s", kind);
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
