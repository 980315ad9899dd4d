/* test_data.c — data sets: the IDX loader (plain and gzip, every element
 * type, malformed and hostile files), the CSV loader (also under a
 * comma-decimal process locale), labels and dense targets, and the scalers
 * (on data sets and on plain arrays in either order). Every file is written
 * by the test into a mkdtemp directory. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */
static char dir[256];
static char pathbuf[512];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/nn_test_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    /* remove the files the tests write (fixed names) */
    static const char *names[] = {"a", "b", "c", "d", "a.gz", "b.gz",
                                  "x.csv", "y.csv", "fifo", "cut.gz"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir, names[i]);
        unlink(pathbuf);
    }
    rmdir(dir);
}

static const char *P(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* A gzip file (RFC 1952) holding one stored deflate block per 65535 bytes,
 * written by hand so the test needs no zlib of its own. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32le(FILE *f, uint32_t v)
{
    for (int i = 0; i < 4; i++) fputc((int)((v >> (8 * i)) & 0xFF), f);
}

static void write_gz(const char *path, const void *data, size_t n)
{
    const unsigned char *p = data;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    fwrite(hdr, 1, 10, f);
    size_t off = 0;
    do {
        size_t len = n - off > 65535 ? 65535 : n - off;
        fputc(off + len == n ? 1 : 0, f); /* BFINAL, BTYPE = stored */
        fputc((int)(len & 0xFF), f);
        fputc((int)(len >> 8), f);
        fputc((int)(~len & 0xFF), f);
        fputc((int)((~len >> 8) & 0xFF), f);
        if (len) fwrite(p + off, 1, len, f);
        off += len;
    } while (off < n);
    put32le(f, crc32_of(p, n));
    put32le(f, (uint32_t)n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *s)
{
    write_file(path, s, strlen(s));
}

/* The bytes of a file the test wrote (malloc'ed). */
static unsigned char *read_back(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A counting allocator refusing anything over 64 MiB. */
static tu_counter counter64(void)
{
    return (tu_counter){.max_request = (size_t)64 << 20};
}

/* Build an IDX image in buf: header + payload; returns total length. */
static size_t idx_build(unsigned char *buf, int type, size_t ndims,
                        const uint32_t *dims, const void *payload,
                        size_t plen)
{
    size_t k = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = (unsigned char)type;
    buf[k++] = (unsigned char)ndims;
    for (size_t i = 0; i < ndims; i++) {
        buf[k++] = (unsigned char)(dims[i] >> 24);
        buf[k++] = (unsigned char)(dims[i] >> 16);
        buf[k++] = (unsigned char)(dims[i] >> 8);
        buf[k++] = (unsigned char)dims[i];
    }
    if (plen) memcpy(buf + k, payload, plen);
    return k + plen;
}

static const unsigned char IMG[12] = {0, 1, 2, 3, 10, 20, 30, 40,
                                      200, 255, 128, 7};
static const unsigned char LAB[3] = {2, 0, 5};

static size_t make_images(unsigned char *buf)
{
    uint32_t dims[3] = {3, 2, 2};
    return idx_build(buf, 0x08, 3, dims, IMG, sizeof IMG);
}
static size_t make_labels(unsigned char *buf, uint32_t n)
{
    uint32_t dims[1] = {n};
    return idx_build(buf, 0x08, 1, dims, LAB, n);
}

static void check_images(nn_data_t *d)
{
    ck_assert_uint_eq(nn_data_rows(d), 3);
    ck_assert_uint_eq(nn_data_cols(d), 4);
    const double *X = nn_data_x(d);
    for (size_t i = 0; i < 12; i++) ck_assert(X[i] == (double)IMG[i]);
}

static nn_status load_bytes(const void *p, size_t n, int gz,
                            const nn_allocator *al, nn_error_info *err)
{
    const char *path = P(gz ? "a.gz" : "a");
    if (gz) write_gz(path, p, n);
    else write_file(path, p, n);
    nn_data_t *d = (nn_data_t *)0x1;
    nn_status st = nn_data_load_idx(&d, path, al, err);
    if (st == NN_OK) nn_data_destroy(d);
    else ck_assert_ptr_eq(d, (nn_data_t *)0x1);
    return st;
}

/* ------------------------------------------------------------ IDX */
START_TEST(idx_ubyte_plain_and_gz)
{
    unsigned char img[64], lab[64];
    size_t ni = make_images(img), nl = make_labels(lab, 3);
    for (int gz = 0; gz < 2; gz++) {
        tu_counter c = counter64();
        nn_allocator al = tu_allocator(&c);
        const char *pi = P(gz ? "a.gz" : "a"), *pl = P(gz ? "b.gz" : "b");
        if (gz) { write_gz(pi, img, ni); write_gz(pl, lab, nl); }
        else { write_file(pi, img, ni); write_file(pl, lab, nl); }
        nn_data_t *d = NULL;
        NN_OK_OR_FAIL(nn_data_load_idx(&d, pi, &al, NULL));
        check_images(d);
        ck_assert_ptr_null(nn_data_labels(d));
        ck_assert_uint_eq(nn_data_n_classes(d), 0);
        nn_error_info e;
        NN_OK_OR_FAIL(nn_data_load_idx_labels(d, pl, &e));
        const int32_t *L = nn_data_labels(d);
        ck_assert_ptr_nonnull(L);
        for (size_t i = 0; i < 3; i++) ck_assert_int_eq(L[i], LAB[i]);
        ck_assert_uint_eq(nn_data_n_classes(d), 6);
        /* replacing labels works and does not leak */
        NN_OK_OR_FAIL(nn_data_load_idx_labels(d, pl, NULL));
        nn_data_destroy(d);
        TU_ASSERT_BALANCED(&c);
    }
}
END_TEST

START_TEST(idx_float64_int32_int16_sbyte_float32)
{
    unsigned char buf[256];
    /* float64 2x3 */
    double vals[6] = {1.5, -2.25, 1e300, -0.0, 3.0, 0.1};
    unsigned char pay[64];
    for (int i = 0; i < 6; i++) {
        uint64_t u;
        memcpy(&u, &vals[i], 8);
        for (int b = 0; b < 8; b++) pay[i * 8 + b] = (unsigned char)(u >> (56 - 8 * b));
    }
    uint32_t d2[2] = {2, 3};
    size_t n = idx_build(buf, 0x0E, 2, d2, pay, 48);
    write_file(P("a"), buf, n);
    nn_data_t *d;
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    ck_assert_uint_eq(nn_data_rows(d), 2);
    ck_assert_uint_eq(nn_data_cols(d), 3);
    for (int i = 0; i < 6; i++) ck_assert(nn_data_x(d)[i] == vals[i]);
    nn_data_destroy(d);

    /* int32 4 rows (1 dim -> 1 col) */
    int32_t iv[4] = {1, -1, 0x01020304, -2147483647 - 1};
    for (int i = 0; i < 4; i++) {
        uint32_t u = (uint32_t)iv[i];
        for (int b = 0; b < 4; b++) pay[i * 4 + b] = (unsigned char)(u >> (24 - 8 * b));
    }
    uint32_t d1[1] = {4};
    n = idx_build(buf, 0x0C, 1, d1, pay, 16);
    write_gz(P("a.gz"), buf, n);
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a.gz"), NULL, NULL));
    ck_assert_uint_eq(nn_data_rows(d), 4);
    ck_assert_uint_eq(nn_data_cols(d), 1);
    for (int i = 0; i < 4; i++) ck_assert(nn_data_x(d)[i] == (double)iv[i]);
    nn_data_destroy(d);

    /* int16 */
    unsigned char p16[4] = {0xFF, 0xFE, 0x01, 0x00};
    uint32_t d16[1] = {2};
    n = idx_build(buf, 0x0B, 1, d16, p16, 4);
    write_file(P("a"), buf, n);
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    ck_assert(nn_data_x(d)[0] == -2.0 && nn_data_x(d)[1] == 256.0);
    nn_data_destroy(d);

    /* sbyte */
    unsigned char p8[2] = {0x80, 0x7F};
    n = idx_build(buf, 0x09, 1, d16, p8, 2);
    write_file(P("a"), buf, n);
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    ck_assert(nn_data_x(d)[0] == -128.0 && nn_data_x(d)[1] == 127.0);
    nn_data_destroy(d);

    /* float32 */
    float fv = -1.75f;
    uint32_t u;
    memcpy(&u, &fv, 4);
    unsigned char pf[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
                           (unsigned char)(u >> 8), (unsigned char)u};
    uint32_t dff[1] = {1};
    n = idx_build(buf, 0x0D, 1, dff, pf, 4);
    write_file(P("a"), buf, n);
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    ck_assert(nn_data_x(d)[0] == -1.75);
    nn_data_destroy(d);
}
END_TEST

START_TEST(idx_truncated)
{
    unsigned char img[64];
    size_t ni = make_images(img); /* 16 header + 12 payload */
    size_t cuts[] = {0, 1, 3, 4, 7, 15, 16, 17, 27};
    for (int gz = 0; gz < 2; gz++)
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            tu_counter c = counter64();
            nn_allocator al = tu_allocator(&c);
            nn_error_info e;
            nn_status st = load_bytes(img, cuts[k], gz, &al, &e);
            ck_assert_msg(st == NN_ERR_FORMAT, "cut %zu gz %d -> %d",
                          cuts[k], gz, (int)st);
            TU_ASSERT_BALANCED(&c);
            ck_assert(strstr(e.file, "/a") != NULL);
        }
    /* the message of a payload cut */
    nn_error_info e;
    ck_assert_int_eq(load_bytes(img, 20, 0, NULL, &e), NN_ERR_FORMAT);
    ck_assert_str_eq(e.message,
                     "expected 12 bytes of ubyte data, file ends after 4");
    ck_assert_uint_eq(e.offset, 20);
    (void)ni;
}
END_TEST

START_TEST(idx_malformed)
{
    unsigned char img[64];
    size_t ni = make_images(img);
    nn_error_info e;
    for (int gz = 0; gz < 2; gz++) {
        unsigned char b[64];
        memcpy(b, img, ni);
        b[1] = 1; /* magic */
        ck_assert_int_eq(load_bytes(b, ni, gz, NULL, &e), NN_ERR_FORMAT);
        memcpy(b, img, ni);
        b[2] = 0x0A; /* type */
        ck_assert_int_eq(load_bytes(b, ni, gz, NULL, &e), NN_ERR_FORMAT);
        ck_assert(strstr(e.message, "type") != NULL);
        memcpy(b, img, ni);
        b[3] = 0; /* ndims */
        ck_assert_int_eq(load_bytes(b, ni, gz, NULL, &e), NN_ERR_FORMAT);
        memcpy(b, img, ni);
        b[7] = 0; /* rows = 0 */
        ck_assert_int_eq(load_bytes(b, ni, gz, NULL, &e), NN_ERR_FORMAT);
        memcpy(b, img, ni);
        b[11] = 0; /* a column dimension = 0 */
        ck_assert_int_eq(load_bytes(b, ni, gz, NULL, &e), NN_ERR_FORMAT);
        memcpy(b, img, ni);
        b[ni] = 9; /* trailing garbage */
        ck_assert_int_eq(load_bytes(b, ni + 1, gz, NULL, &e), NN_ERR_FORMAT);
        ck_assert(strstr(e.message, "trailing") != NULL);
        ck_assert_int_eq(load_bytes(img, ni, gz, NULL, &e), NN_OK);
    }
}
END_TEST

START_TEST(idx_hostile_sizes)
{
    unsigned char buf[128];
    uint32_t huge3[3] = {0x80000000u, 0x80000000u, 0xFFFFFFFFu};
    uint32_t huge2[2] = {0x80000000u, 0x80000000u};
    uint32_t huge1[1] = {0xFFFFFFFFu};
    unsigned char junk[60];
    memset(junk, 0xAB, sizeof junk);
    struct { size_t nd; const uint32_t *d; int type; } cases[] = {
        {2, huge2, 0x08}, {3, huge3, 0x0E}, {1, huge1, 0x0E}, {2, huge2, 0x0C}};
    for (int gz = 0; gz < 2; gz++)
        for (size_t k = 0; k < 4; k++) {
            size_t n = idx_build(buf, cases[k].type, cases[k].nd, cases[k].d,
                                 junk, sizeof junk);
            tu_counter c = counter64();
            nn_allocator al = tu_allocator(&c);
            nn_error_info e;
            ck_assert_int_eq(load_bytes(buf, n, gz, &al, &e), NN_ERR_FORMAT);
            ck_assert_uint_eq(c.refused, 0);
            ck_assert_uint_le(c.largest, (size_t)2 << 20);
            TU_ASSERT_BALANCED(&c);
        }
    /* labels too */
    nn_data_t *d;
    unsigned char img[64];
    write_file(P("a"), img, make_images(img));
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    size_t n = idx_build(buf, 0x08, 1, huge1, junk, 10);
    write_gz(P("b.gz"), buf, n);
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("b.gz"), NULL),
                     NN_ERR_FORMAT);
    ck_assert_ptr_null(nn_data_labels(d));
    nn_data_destroy(d);
}
END_TEST

START_TEST(idx_labels_errors)
{
    unsigned char img[64], lab[64];
    write_file(P("a"), img, make_images(img));
    nn_data_t *d;
    NN_OK_OR_FAIL(nn_data_load_idx(&d, P("a"), NULL, NULL));
    nn_error_info e;
    /* count mismatch */
    write_file(P("b"), lab, make_labels(lab, 2));
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("b"), &e), NN_ERR_SHAPE);
    ck_assert_ptr_null(nn_data_labels(d));
    /* 2 dims */
    uint32_t d2[2] = {3, 1};
    write_file(P("b"), lab, idx_build(lab, 0x08, 2, d2, LAB, 3));
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("b"), &e), NN_ERR_FORMAT);
    /* float type */
    unsigned char zero[12] = {0};
    uint32_t d1[1] = {3};
    write_file(P("b"), lab, idx_build(lab, 0x0D, 1, d1, zero, 12));
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("b"), &e), NN_ERR_FORMAT);
    /* negative */
    unsigned char neg[3] = {1, 0xFF, 2};
    write_file(P("b"), lab, idx_build(lab, 0x09, 1, d1, neg, 3));
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("b"), &e), NN_ERR_FORMAT);
    ck_assert_ptr_null(nn_data_labels(d));
    /* missing */
    ck_assert_int_eq(nn_data_load_idx_labels(d, P("c"), &e), NN_ERR_IO);
    ck_assert(strstr(e.file, "/c") != NULL);
    /* invalid args */
    ck_assert_int_eq(nn_data_load_idx_labels(NULL, P("b"), &e), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_load_idx_labels(d, NULL, &e), NN_ERR_INVALID);
    nn_data_destroy(d);
}
END_TEST

START_TEST(idx_missing_and_args)
{
    nn_error_info e;
    nn_data_t *d = (nn_data_t *)0x1;
    ck_assert_int_eq(nn_data_load_idx(&d, P("c"), NULL, &e), NN_ERR_IO);
    ck_assert_ptr_eq(d, (nn_data_t *)0x1);
    ck_assert_str_eq(e.file, P("c"));
    ck_assert(strlen(e.message) > 0);
    ck_assert_int_eq(nn_data_load_idx(&d, P("c"), NULL, NULL), NN_ERR_IO);
    ck_assert_int_eq(nn_data_load_idx(NULL, P("c"), NULL, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_load_idx(&d, NULL, NULL, NULL), NN_ERR_INVALID);
    nn_allocator bad = {NULL, NULL, NULL};
    ck_assert_int_eq(nn_data_load_idx(&d, P("c"), &bad, NULL),
                     NN_ERR_INVALID);
    /* a directory is not readable data */
    nn_status st = nn_data_load_idx(&d, dir, NULL, &e);
    ck_assert(st == NN_ERR_IO || st == NN_ERR_FORMAT);
    ck_assert_ptr_null(nn_data_labels(NULL));
    ck_assert_ptr_null(nn_data_x(NULL));
    ck_assert_uint_eq(nn_data_rows(NULL), 0);
    ck_assert_uint_eq(nn_data_cols(NULL), 0);
    ck_assert_uint_eq(nn_data_n_classes(NULL), 0);
    nn_data_destroy(NULL);
}
END_TEST

START_TEST(idx_fashion_mnist)
{
    const char *li = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    const char *ii = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    if (access(li, R_OK) != 0 || access(ii, R_OK) != 0) return;
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    nn_data_t *d;
    nn_error_info e;
    NN_OK_OR_FAIL(nn_data_load_idx(&d, ii, &al, &e));
    NN_OK_OR_FAIL(nn_data_load_idx_labels(d, li, &e));
    ck_assert_uint_eq(nn_data_rows(d), 10000);
    ck_assert_uint_eq(nn_data_cols(d), 784);
    ck_assert_uint_eq(nn_data_n_classes(d), 10);
    const double *X = nn_data_x(d);
    double mx = 0;
    size_t bad = 0;
    for (size_t i = 0; i < 10000 * 784; i++) {
        if (!(X[i] >= 0 && X[i] <= 255 && X[i] == floor(X[i]))) bad++;
        if (X[i] > mx) mx = X[i];
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert(mx > 200);
    const int32_t *L = nn_data_labels(d);
    for (size_t i = 0; i < 10000; i++) if (L[i] < 0 || L[i] > 9) bad++;
    ck_assert_uint_eq(bad, 0);
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* ------------------------------------------------------------ CSV */
static nn_data_t *csv_ok(const char *text, int32_t header, size_t lc,
                         size_t m, size_t n)
{
    write_text(P("x.csv"), text);
    nn_data_t *d = NULL;
    nn_error_info e = {0};
    nn_status st = nn_data_load_csv(&d, P("x.csv"), header, lc, NULL, &e);
    ck_assert_msg(st == NN_OK, "csv -> %d: %s (line %zu col %zu)", (int)st,
                  e.message, e.line, e.column);
    ck_assert_uint_eq(nn_data_rows(d), m);
    ck_assert_uint_eq(nn_data_cols(d), n);
    return d;
}

static void csv_bad(const char *text, int32_t header, size_t lc, size_t line,
                    size_t col)
{
    write_text(P("y.csv"), text);
    nn_data_t *d = (nn_data_t *)0x1;
    nn_error_info e = {0};
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    ck_assert_int_eq(nn_data_load_csv(&d, P("y.csv"), header, lc, &al, &e),
                     NN_ERR_FORMAT);
    ck_assert_ptr_eq(d, (nn_data_t *)0x1);
    TU_ASSERT_BALANCED(&c);
    ck_assert_msg(e.line == line, "'%s': line %zu, expected %zu (%s)", text,
                  e.line, line, e.message);
    if (col)
        ck_assert_msg(e.column == col, "'%s': col %zu, expected %zu (%s)",
                      text, e.column, col, e.message);
    ck_assert_str_eq(e.file, P("y.csv"));
}

START_TEST(csv_valid)
{
    const size_t NONE = NN_NO_COLUMN;
    nn_data_t *d = csv_ok("1,2,3\n4,5,6\n", 0, NONE, 2, 3);
    for (int i = 0; i < 6; i++) ck_assert(nn_data_x(d)[i] == i + 1);
    ck_assert_ptr_null(nn_data_labels(d));
    ck_assert_uint_eq(nn_data_n_classes(d), 0);
    nn_data_destroy(d);

    /* header, label first, \r\n, spaces, scientific notation */
    d = csv_ok("y,a,b\r\n 3 , 1.5e2 ,-2E-1\r\n0,1e0,  7\r\n", 1, 0, 2, 2);
    const double *X = nn_data_x(d);
    ck_assert(X[0] == 150.0 && X[1] == -0.2 && X[2] == 1.0 && X[3] == 7.0);
    ck_assert_int_eq(nn_data_labels(d)[0], 3);
    ck_assert_int_eq(nn_data_labels(d)[1], 0);
    ck_assert_uint_eq(nn_data_n_classes(d), 4);
    nn_data_destroy(d);

    /* label last, no final newline */
    d = csv_ok("1,2,1\n3,4,2", 0, 2, 2, 2);
    X = nn_data_x(d);
    ck_assert(X[0] == 1 && X[1] == 2 && X[2] == 3 && X[3] == 4);
    ck_assert_int_eq(nn_data_labels(d)[1], 2);
    nn_data_destroy(d);

    /* label in the middle, trailing empty lines */
    d = csv_ok("h1,h2,h3\n1,5,2\n3,6,4\n\n\r\n\n", 1, 1, 2, 2);
    X = nn_data_x(d);
    ck_assert(X[0] == 1 && X[1] == 2 && X[2] == 3 && X[3] == 4);
    ck_assert_int_eq(nn_data_labels(d)[0], 5);
    ck_assert_int_eq(nn_data_labels(d)[1], 6);
    ck_assert_uint_eq(nn_data_n_classes(d), 7);
    nn_data_destroy(d);

    /* a long line (785 fields), through the counting allocator */
    static char t[20000]; /* 3 lines of at most 1 + 784 * 4 + 1 chars */
    size_t len = 0;
    for (int r = 0; r < 3; r++) {
        len += (size_t)snprintf(t + len, sizeof t - len, "%d", r);
        for (int j = 0; j < 784; j++)
            len += (size_t)snprintf(t + len, sizeof t - len, ",%d",
                                    j % 256);
        t[len++] = '\n';
    }
    t[len] = 0;
    write_text(P("x.csv"), t);
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    NN_OK_OR_FAIL(nn_data_load_csv(&d, P("x.csv"), 0, 0, &al, NULL));
    ck_assert_uint_eq(nn_data_rows(d), 3);
    ck_assert_uint_eq(nn_data_cols(d), 784);
    ck_assert(nn_data_x(d)[784 + 300] == 300 % 256);
    ck_assert_uint_eq(nn_data_n_classes(d), 3);
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

START_TEST(csv_invalid)
{
    const size_t NONE = NN_NO_COLUMN;
    csv_bad("1,2,3\n4,abc,6\n", 0, NONE, 2, 2);
    csv_bad("a,b\n1,2\n3,4x\n", 1, NONE, 3, 2);
    csv_bad("1,2,3\n4,5\n", 0, NONE, 2, 0);        /* short row */
    csv_bad("1,2\n4,5,6\n", 0, NONE, 2, 3);        /* long row */
    csv_bad("1,,3\n", 0, NONE, 1, 2);              /* empty cell */
    csv_bad("1,2,3\n4,5, \n", 0, NONE, 2, 3);      /* blank cell */
    csv_bad("1,2\n-1,2\n", 0, 0, 2, 1);            /* negative label */
    csv_bad("1,2\n1.5,2\n", 0, 0, 2, 1);           /* non-integer */
    csv_bad("1,2\n3e10,2\n", 0, 0, 2, 1);          /* too big */
    csv_bad("1,2\n1,nan\n", 0, NONE, 2, 2);        /* not finite */
    csv_bad("", 0, NONE, 0, 0);                    /* empty file */
    csv_bad("a,b,c\n", 1, NONE, 1, 0);              /* header only */
    csv_bad("1,2\n\n3,4\n", 0, NONE, 2, 0);        /* empty line */
    csv_bad("1,2\n3,4\n", 0, 5, 1, 0);             /* label col > n */
    csv_bad("1\n2\n", 0, 0, 1, 0);                 /* no features */
    nn_data_t *d;
    nn_error_info e;
    ck_assert_int_eq(nn_data_load_csv(&d, P("c"), 0, 0, NULL, &e),
                     NN_ERR_IO);
    ck_assert_str_eq(e.file, P("c"));
    ck_assert_int_eq(nn_data_load_csv(NULL, P("c"), 0, 0, NULL, &e),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_load_csv(&d, NULL, 0, 0, NULL, &e),
                     NN_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ streams */
typedef struct {
    int fd;
    const char *p;
    size_t n;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *w = arg;
    size_t off = 0;
    while (off < w->n) {
        ssize_t k = write(w->fd, w->p + off, w->n - off);
        if (k <= 0) break; /* EPIPE once the reader gave up */
        off += (size_t)k;
    }
    close(w->fd);
    return NULL;
}

/* A stream written by a thread: kind 0 a FIFO at P("fifo") (a reader opened
 * first, so the write end opens at once and the writer exists before the
 * loader opens), kind 1 a pipe named /proc/self/fd/N (what a shell's <(...)
 * gives). *keep holds the stream open until the load is done. */
static const char *stream_start(int kind, writer_arg *w, pthread_t *t,
                                int *keep, const void *p, size_t n)
{
    static char path[64];
    w->p = p;
    w->n = n;
    if (kind == 0) {
        mkfifo(P("fifo"), 0600);
        *keep = open(P("fifo"), O_RDONLY | O_NONBLOCK);
        w->fd = open(P("fifo"), O_WRONLY);
    } else {
        int pp[2];
        ck_assert_int_eq(pipe(pp), 0);
        *keep = pp[0];
        w->fd = pp[1];
        snprintf(path, sizeof path, "/proc/self/fd/%d", pp[0]);
    }
    ck_assert(*keep >= 0 && w->fd >= 0);
    ck_assert_int_eq(pthread_create(t, NULL, writer_main, w), 0);
    return kind == 0 ? P("fifo") : path;
}

static void stream_end(pthread_t t, int keep)
{
    close(keep);
    pthread_join(t, NULL);
}

/* CSV (plain and gzip) and IDX from a FIFO and a pipe: each input is read
 * once, in one pass; 20,000 rows are more than a pipe's buffer. A FIFO
 * without a writer returns at once: an empty file. */
START_TEST(stream_csv_idx)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(30); /* a hang fails the test (also without Check's fork) */
    const size_t ROWS = 20000;
    size_t cap = ROWS * 24, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < ROWS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%zu,%zu.5\n", i % 7,
                                i);
    write_gz(P("b.gz"), text, len);
    size_t gzn;
    char *gz = (char *)read_back(P("b.gz"), &gzn);
    unsigned char img[64];
    size_t imgn = make_images(img);
    nn_data_t *d = NULL;
    nn_error_info e;
    for (int kind = 0; kind < 2; kind++) {
        for (int what = 0; what < 3; what++) {
            writer_arg w;
            pthread_t t;
            int keep;
            const char *path = stream_start(kind, &w, &t, &keep,
                                            what == 0 ? text
                                            : what == 1 ? gz : (char *)img,
                                            what == 0 ? len
                                            : what == 1 ? gzn : imgn);
            nn_status st = what < 2
                               ? nn_data_load_csv(&d, path, 0, 0, NULL, &e)
                               : nn_data_load_idx(&d, path, NULL, &e);
            stream_end(t, keep);
            ck_assert_msg(st == NN_OK, "kind %d input %d: %s", kind, what,
                          e.message);
            if (what == 2) {
                check_images(d);
            } else {
                ck_assert_uint_eq(nn_data_rows(d), ROWS);
                ck_assert(nn_data_x(d)[ROWS - 1] == (double)(ROWS - 1) + 0.5);
                ck_assert_int_eq(nn_data_labels(d)[ROWS - 1],
                                 (int32_t)((ROWS - 1) % 7));
            }
            nn_data_destroy(d);
        }
    }
    /* no writer: each loader returns, an empty file */
    mkfifo(P("fifo"), 0600);
    d = (nn_data_t *)0x1;
    ck_assert_int_eq(nn_data_load_csv(&d, P("fifo"), 0, 0, NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "empty"));
    ck_assert_int_eq(nn_data_load_idx(&d, P("fifo"), NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "empty"));
    ck_assert_ptr_eq(d, (nn_data_t *)0x1);
    alarm(0);
    free(gz);
    free(text);
}
END_TEST

/* A gzip stream cut before its end marker and CRC/length trailer is
 * NN_ERR_FORMAT, for CSV and IDX alike; the whole file loads. */
START_TEST(gzip_truncated)
{
    /* CSV: 200 rows */
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d\n",
                                i, 2 * i);
    /* IDX: 100 x 3 ubyte */
    unsigned char img[400], pay[300];
    for (int i = 0; i < 300; i++) pay[i] = (unsigned char)(i * 7);
    uint32_t dims[2] = {100, 3};
    size_t imgn = idx_build(img, 0x08, 2, dims, pay, sizeof pay);
    for (int kind = 0; kind < 2; kind++) {
        write_gz(P("a.gz"), kind ? (const void *)img : text,
                 kind ? imgn : len);
        size_t n;
        unsigned char *gz = read_back(P("a.gz"), &n);
        const size_t cuts[4] = {40, n - 8, n - 1, n};
        for (int c = 0; c < 4; c++) {
            write_file(P("cut.gz"), gz, cuts[c]);
            nn_data_t *d = (nn_data_t *)0x1;
            nn_error_info e = {0};
            nn_status st =
                kind ? nn_data_load_idx(&d, P("cut.gz"), NULL, &e)
                     : nn_data_load_csv(&d, P("cut.gz"), 0, NN_NO_COLUMN,
                                        NULL, &e);
            if (cuts[c] == n) {
                ck_assert_msg(st == NN_OK, "%s", e.message);
                ck_assert_uint_eq(nn_data_rows(d), kind ? 100 : 200);
                nn_data_destroy(d);
                continue;
            }
            ck_assert_msg(st == NN_ERR_FORMAT, "%s cut at %zu of %zu: %d",
                          kind ? "idx" : "csv", cuts[c], n, (int)st);
            ck_assert_ptr_eq(d, (nn_data_t *)0x1);
            ck_assert_msg(strstr(e.message, "truncated") ||
                              strstr(e.message, "ends"),
                          "%s", e.message);
        }
        free(gz);
    }
}
END_TEST

/* NaN and +-Inf in float32 / float64 images are refused, naming the
 * element and its byte offset. */
START_TEST(idx_nonfinite)
{
    for (int t = 0; t < 2; t++) {
        for (int v = 0; v < 3; v++) {
            double bad = v == 0 ? NAN : v == 1 ? INFINITY : -INFINITY;
            unsigned char pay[6 * 8], buf[128];
            size_t es = t ? 8 : 4;
            for (int i = 0; i < 6; i++) {
                unsigned char be[8];
                uint64_t u = 0;
                if (t) {
                    double x = i == 4 ? bad : i;
                    memcpy(&u, &x, 8);
                } else {
                    float x = i == 4 ? (float)bad : (float)i;
                    uint32_t u32;
                    memcpy(&u32, &x, 4);
                    u = u32;
                }
                for (size_t k = 0; k < es; k++)
                    be[k] = (unsigned char)(u >> (8 * (es - 1 - k)));
                memcpy(pay + i * es, be, es);
            }
            uint32_t dims[2] = {3, 2};
            size_t n = idx_build(buf, t ? 0x0E : 0x0D, 2, dims, pay, 6 * es);
            nn_error_info e = {0};
            tu_counter c = counter64();
            nn_allocator al = tu_allocator(&c);
            ck_assert_int_eq(load_bytes(buf, n, 0, &al, &e), NN_ERR_FORMAT);
            TU_ASSERT_BALANCED(&c);
            ck_assert_uint_eq(e.offset, 12 + 4 * es); /* header + 4 values */
            ck_assert_msg(strstr(e.message, v == 0 ? "NaN" : "Inf") &&
                              strstr(e.message, "row 3, column 1"),
                          "%s", e.message);
        }
    }
}
END_TEST

/* CSV text forms: a UTF-8 BOM is skipped; CRLF, CR-only and mixed line
 * ends. Then: a header must have as many fields as the rows; only plain
 * decimal numbers (no hex, hex floats, inf/nan spellings); other formats are
 * named and raw bytes never echoed; a long path keeps its end. */
START_TEST(csv_bom_and_line_ends)
{
    const size_t NONE = NN_NO_COLUMN;
    nn_data_t *d = csv_ok("\xEF\xBB\xBFx,y\n1,2\n", 1, NONE, 1, 2);
    ck_assert(nn_data_x(d)[0] == 1 && nn_data_x(d)[1] == 2);
    nn_data_destroy(d);
    d = csv_ok("\xEF\xBB\xBF" "7,8\n", 0, NONE, 1, 2);
    ck_assert(nn_data_x(d)[0] == 7);
    nn_data_destroy(d);
    d = csv_ok("1,2\r3,4\r5,6\r", 0, NONE, 3, 2);
    ck_assert(nn_data_x(d)[4] == 5 && nn_data_x(d)[5] == 6);
    nn_data_destroy(d);
    d = csv_ok("h,i\r1,2\r\n3,4\n5,6\r\r", 1, NONE, 3, 2);
    ck_assert(nn_data_x(d)[0] == 1 && nn_data_x(d)[5] == 6);
    nn_data_destroy(d);
    csv_bad("1,2\r3\r", 0, NONE, 2, 0);            /* CR lines counted */
}
END_TEST

START_TEST(csv_header_width)
{
    const size_t NONE = NN_NO_COLUMN;
    csv_bad("a,b,c\n1,2,3,4,5\n6,7,8,9,0\n", 1, NONE, 1, 0);
    csv_bad("a,b,c,d\n1,2\n", 1, NONE, 1, 0);
    nn_error_info e = {0};
    nn_data_t *d = NULL;
    write_text(P("y.csv"), "a,b,c\n1,2,3,4,5\n");
    ck_assert_int_eq(nn_data_load_csv(&d, P("y.csv"), 1, NONE, NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_msg(strstr(e.message, "3 fields") && strstr(e.message, "5"),
                  "%s", e.message);
}
END_TEST

/* nn_data_read_csv: separators, header detection, column names (following
 * their columns into targets and one-hot labels), scikit-learn's header. */
static nn_data_t *read_csv_ok(const char *text, int32_t header, int32_t delim,
                              size_t label_col)
{
    write_text(P("y.csv"), text);
    nn_csv_format f = {sizeof f, header, delim, label_col};
    nn_data_t *d = NULL;
    nn_error_info e = {0};
    nn_status st = nn_data_read_csv(&d, P("y.csv"), &f, NULL, &e);
    ck_assert_msg(st == NN_OK, "%s: %s", text, e.message);
    return d;
}

START_TEST(csv_read_format_and_names)
{
    const size_t NONE = NN_NO_COLUMN;
    /* ';' and tab separators, the same numbers */
    const char *texts[] = {"1.5;2;0\n-3;4e1;1\n", "1.5\t2\t0\n-3\t4e1\t1\n",
                           "  1.5  2   0 \n-3 4e1\t1\n"};
    const int32_t delims[] = {';', '\t', ' '};
    for (int i = 0; i < 3; i++) {
        nn_data_t *d = read_csv_ok(texts[i], NN_CSV_HEADER_AUTO, delims[i], 2);
        ck_assert_uint_eq(nn_data_rows(d), 2);
        ck_assert_uint_eq(nn_data_cols(d), 2);
        const double *x = nn_data_x(d);
        ck_assert(x[0] == 1.5 && x[1] == 2 && x[2] == -3 && x[3] == 40);
        ck_assert_int_eq(nn_data_labels(d)[1], 1);
        ck_assert_ptr_null(nn_data_name(d, NN_NAME_FEATURE, 0));
        ck_assert_ptr_null(nn_data_name(d, NN_NAME_COLUMN, 0));
        nn_data_destroy(d);
    }
    /* auto: a line 1 of names is a header, with quotes removed */
    nn_data_t *d = read_csv_ok("\"x one\",y,\"say \"\"hi\"\"\",t\n1,2,3,4\n"
                               "5,6,7,8\n", NN_CSV_HEADER_AUTO, 0, 1);
    ck_assert_uint_eq(nn_data_rows(d), 2);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 0), "x one");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 1), "say \"hi\"");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 2), "t");
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_FEATURE, 3));
    ck_assert_str_eq(nn_data_name(d, NN_NAME_LABEL, 0), "y");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_COLUMN, 1), "y");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_COLUMN, 3), "t");
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_COLUMN, 4));
    nn_data_destroy(d);
    /* a quoted name may hold the separator */
    d = read_csv_ok("\"p,q\",\"r;s\"\n1,2\n", NN_CSV_HEADER_AUTO, 0, NONE);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 0), "p,q");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 1), "r;s");
    nn_data_destroy(d);
    d = read_csv_ok("\"a \"\"x\"\", y\";b\n1;2\n", NN_CSV_HEADER_AUTO, ';', NONE);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 0), "a \"x\", y");
    nn_data_destroy(d);
    /* names follow their columns into targets */
    d = read_csv_ok("a,b,c,d\n1,2,3,4\n", NN_CSV_HEADER_AUTO, ',', NONE);
    size_t cols[] = {3, 1};
    ck_assert_int_eq(nn_data_take_targets(d, cols, 2), NN_OK);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_TARGET, 0), "d");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_TARGET, 1), "b");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 0), "a");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 1), "c");
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_FEATURE, 2));
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_LABEL, 0)); /* no labels */
    ck_assert(nn_data_x(d)[1] == 3 && nn_data_targets(d)[0] == 4);
    nn_data_destroy(d);
    /* ... and one-hot columns' names become class names */
    d = read_csv_ok("f,cat,dog\n0.5,0,1\n0.25,1,0\n", NN_CSV_HEADER_AUTO, 0,
                    NONE);
    ck_assert_int_eq(nn_data_labels_from_one_hot(d, 1, 2, NULL), NN_OK);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_CLASS, 0), "cat");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_CLASS, 1), "dog");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 0), "f");
    ck_assert_int_eq(nn_data_labels(d)[0], 1);
    nn_data_destroy(d);
    /* auto: an all-numeric line 1 is data; LINE takes it as a header */
    d = read_csv_ok("1,2\n3,4\n", NN_CSV_HEADER_AUTO, 0, NONE);
    ck_assert_uint_eq(nn_data_rows(d), 2);
    nn_data_destroy(d);
    d = read_csv_ok("1,2\n3,4\n", NN_CSV_HEADER_LINE, 0, NONE);
    ck_assert_uint_eq(nn_data_rows(d), 1);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_FEATURE, 1), "2");
    nn_data_destroy(d);
    /* scikit-learn's layout: rows, features, class names */
    d = read_csv_ok("3,2,setosa,versicolor\n1,2,0\n3,4,1\n5,6,1\n",
                    NN_CSV_HEADER_AUTO, 0, 2);
    ck_assert_uint_eq(nn_data_rows(d), 3);
    ck_assert_str_eq(nn_data_name(d, NN_NAME_CLASS, 0), "setosa");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_CLASS, 1), "versicolor");
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_CLASS, 2));
    ck_assert_ptr_null(nn_data_name(d, NN_NAME_FEATURE, 0));
    ck_assert_str_eq(nn_data_name(d, NN_NAME_COLUMN, 0), "3");
    ck_assert_str_eq(nn_data_name(d, NN_NAME_COLUMN, 3), "versicolor");
    nn_data_destroy(d);
    /* ... only when the counts match: else the width error */
    write_text(P("y.csv"), "4,2,a,b\n1,2,0\n3,4,1\n");
    nn_csv_format f = {sizeof f, NN_CSV_HEADER_AUTO, 0, 2};
    nn_error_info e = {0};
    ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_msg(strstr(e.message, "the header has 4 fields"), "%s",
                  e.message);
    /* no header: a name on line 1 is a cell error at line 1 */
    f.header = NN_CSV_HEADER_NONE;
    write_text(P("y.csv"), "a,b\n1,2\n");
    ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_uint_eq(e.line, 1);
    /* a trailing separator is an empty cell, with any separator */
    f.header = NN_CSV_HEADER_AUTO;
    f.delimiter = ';';
    f.label_col = NONE;
    write_text(P("y.csv"), "1;2;\n3;4;\n");
    ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, &e),
                     NN_ERR_FORMAT);
    /* refused arguments */
    const int32_t bad_delims[] = {'1', 'a', '.', '-', '+', '"', '\n', '\r',
                                  0x7f, 200, -1};
    for (size_t i = 0; i < sizeof bad_delims / sizeof bad_delims[0]; i++) {
        f.delimiter = bad_delims[i];
        ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, NULL),
                         NN_ERR_INVALID);
    }
    f.delimiter = 0;
    f.header = 3;
    ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, NULL),
                     NN_ERR_INVALID);
    f.header = NN_CSV_HEADER_AUTO;
    f.size = sizeof f - 1;
    ck_assert_int_eq(nn_data_read_csv(&d, P("y.csv"), &f, NULL, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_null(nn_data_name(NULL, NN_NAME_FEATURE, 0));
}
END_TEST

START_TEST(csv_plain_decimal_only)
{
    const size_t NONE = NN_NO_COLUMN;
    nn_data_t *d = csv_ok("+1,-2.5\n.5,3.\n1e2,2E-1\n", 0, NONE, 3, 2);
    ck_assert(nn_data_x(d)[0] == 1 && nn_data_x(d)[2] == 0.5 &&
              nn_data_x(d)[3] == 3 && nn_data_x(d)[4] == 100);
    nn_data_destroy(d);
    csv_bad("0x10,1\n", 0, NONE, 1, 1);             /* hexadecimal */
    csv_bad("1,2\n3,0x1p4\n", 0, NONE, 2, 2);       /* hex float */
    csv_bad("1,infinity\n", 0, NONE, 1, 2);
    csv_bad("1,-inf\n", 0, NONE, 1, 2);
    csv_bad("1,NAN(1)\n", 0, NONE, 1, 2);
    csv_bad("1,1e\n", 0, NONE, 1, 2);
    csv_bad("1,.\n", 0, NONE, 1, 2);
    csv_bad("1,1e999\n", 0, NONE, 1, 2);            /* out of range */
    csv_bad("0x3,1\n", 0, 0, 1, 1);                 /* hex label */
}
END_TEST

START_TEST(csv_idx_messages)
{
    const size_t NONE = NN_NO_COLUMN;
    nn_data_t *d = NULL;

    /* other formats are named; raw bytes come out as \xNN */
    static const struct {
        const char *bytes;
        size_t n;
        const char *says;
    } CASES[] = {
        {"\x89NNM\r\n\x1a\n\x02\x00", 10, "libnn model"},
        {"\x1f\x8b\x08\x00\x00\x00", 6, "gzip"},
        {"\x00\x00\x08\x01\x00\x00\x00\x02\x05\x06", 10, "IDX"},
        {"1,2\n3,\x1b[31m\x01\n", 12, "\\x1b[31m\\x01"},
        {"1,\xEF\xBB\xBF" "2\n", 7, "\\xef\\xbb\\xbf2"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        write_file(P("y.csv"), CASES[i].bytes, CASES[i].n);
        nn_error_info e = {0};
        ck_assert_int_eq(nn_data_load_csv(&d, P("y.csv"), 0, NONE, NULL, &e),
                         NN_ERR_FORMAT);
        ck_assert_msg(strstr(e.message, CASES[i].says), "%zu: %s", i,
                      e.message);
        for (const char *m = e.message; *m; m++)
            ck_assert((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7F);
    }
    /* an IDX loader handed text or a model says so */
    write_text(P("y.csv"), "1,2\n3,4\n");
    nn_error_info e = {0};
    ck_assert_int_eq(nn_data_load_idx(&d, P("y.csv"), NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "text"));
    write_file(P("y.csv"), "\x89NNM\r\n\x1a\n", 8);
    ck_assert_int_eq(nn_data_load_idx(&d, P("y.csv"), NULL, &e),
                     NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "libnn model"));
}
END_TEST

START_TEST(long_path_keeps_end)
{
    const size_t NONE = NN_NO_COLUMN;
    nn_data_t *d = NULL;
    nn_error_info e = {0};
    char path[700];
    int k = snprintf(path, sizeof path, "%s/", dir);
    for (int i = 0; i < 250; i++) path[k++] = 'q';
    snprintf(path + k, sizeof path - (size_t)k, "/the-data-file.csv");
    ck_assert_int_eq(nn_data_load_csv(&d, path, 0, NONE, NULL, &e), NN_ERR_IO);
    ck_assert_uint_eq(strlen(e.file), 255);
    ck_assert(strncmp(e.file, "...", 3) == 0);
    ck_assert_str_eq(e.file + 3, path + strlen(path) - 252);
    ck_assert_int_eq(nn_data_load_idx(&d, path, NULL, &e), NN_ERR_IO);
    ck_assert_str_eq(e.file + 3, path + strlen(path) - 252);
}
END_TEST

/* ------------------------------------------------------------ scaler */
START_TEST(scaler_standard_and_minmax)
{
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    /* columns: varying, constant, varying */
    nn_data_t *d = csv_ok("1,5,10\n2,5,20\n3,5,60\n6,5,30\n", 0,
                          NN_NO_COLUMN, 4, 3);
    nn_data_t *t = csv_ok("4,7,0\n", 0, NN_NO_COLUMN, 1, 3);
    nn_scaler_t *s = NULL;
    NN_OK_OR_FAIL(nn_scaler_fit_data(&s, NN_SCALE_STANDARD, d, &al));
    NN_OK_OR_FAIL(nn_scaler_apply_data(s, t));
    NN_OK_OR_FAIL(nn_scaler_apply_data(s, d));
    const double *X = nn_data_x(d);
    for (size_t j = 0; j < 3; j++) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < 4; i++) mean += X[i * 3 + j];
        mean /= 4;
        for (size_t i = 0; i < 4; i++)
            var += (X[i * 3 + j] - mean) * (X[i * 3 + j] - mean);
        var /= 4;
        ck_assert(fabs(mean) < 1e-14);
        if (j == 1) ck_assert(var == 0 && X[j] == 0.0);
        else ck_assert(fabs(var - 1) < 1e-14);
    }
    /* train col 0: mean 3, var (4+1+0+9)/4 = 3.5 -> test 4 -> 1/sqrt(3.5) */
    const double *T = nn_data_x(t);
    ck_assert(fabs(T[0] - 1 / sqrt(3.5)) < 1e-15);
    ck_assert(T[1] == 2.0); /* 7 - 5, divisor 1 */
    nn_scaler_destroy(s);
    nn_data_destroy(t);

    /* shape mismatch */
    nn_data_t *w = csv_ok("1,2\n", 0, NN_NO_COLUMN, 1, 2);
    NN_OK_OR_FAIL(nn_scaler_fit_data(&s, NN_SCALE_MINMAX, w, &al));
    ck_assert_int_eq(nn_scaler_apply_data(s, d), NN_ERR_SHAPE);
    nn_scaler_destroy(s);
    nn_data_destroy(w);
    nn_data_destroy(d);

    /* minmax */
    d = csv_ok("1,5,10\n2,5,20\n3,5,60\n6,5,30\n", 0, NN_NO_COLUMN, 4, 3);
    t = csv_ok("11,7,35\n", 0, NN_NO_COLUMN, 1, 3);
    NN_OK_OR_FAIL(nn_scaler_fit_data(&s, NN_SCALE_MINMAX, d, &al));
    NN_OK_OR_FAIL(nn_scaler_apply_data(s, d));
    NN_OK_OR_FAIL(nn_scaler_apply_data(s, t));
    X = nn_data_x(d);
    for (size_t j = 0; j < 3; j++) {
        double lo = 1e9, hi = -1e9;
        for (size_t i = 0; i < 4; i++) {
            lo = fmin(lo, X[i * 3 + j]);
            hi = fmax(hi, X[i * 3 + j]);
        }
        ck_assert(lo == 0.0);
        ck_assert(hi == (j == 1 ? 0.0 : 1.0));
    }
    T = nn_data_x(t);
    ck_assert(T[0] == 2.0 && T[1] == 2.0 && T[2] == 0.5);
    /* args */
    nn_scaler_t *s2 = (nn_scaler_t *)0x1;
    ck_assert_int_eq(nn_scaler_fit_data(&s2, (nn_scale_kind)7, d, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s2, NN_SCALE_CUSTOM, d, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s2, NN_SCALE_STANDARD, NULL, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(NULL, NN_SCALE_STANDARD, d, NULL),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(s2, (nn_scaler_t *)0x1);
    ck_assert_int_eq(nn_scaler_apply_data(NULL, d), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply_data(s, NULL), NN_ERR_INVALID);
    nn_scaler_destroy(s);
    nn_scaler_destroy(NULL);
    nn_data_destroy(t);
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* nn_data_create copies caller arrays in either order. */
START_TEST(data_from_arrays)
{
    /* 3 x 2 features, column-major with ld 4 (padding NaN), labels 2 0 5 */
    const double Xc[2 * 4] = {1, 2, 3, NAN, 4, 5, 6, NAN};
    const int32_t lab[3] = {2, 0, 5};
    nn_data_t *d = NULL;
    NN_OK_OR_FAIL(nn_data_create(&d, 3, 2, NN_COL_MAJOR, Xc, 4, NULL));
    ck_assert_ptr_null(nn_data_labels(d));
    NN_OK_OR_FAIL(nn_data_set_labels(d, lab));
    ck_assert_uint_eq(nn_data_rows(d), 3);
    ck_assert_uint_eq(nn_data_cols(d), 2);
    const double want[6] = {1, 4, 2, 5, 3, 6}; /* row-major */
    ck_assert_mem_eq(nn_data_x(d), want, sizeof want);
    ck_assert_mem_eq(nn_data_labels(d), lab, sizeof lab);
    ck_assert_uint_eq(nn_data_n_classes(d), 6);
    nn_data_destroy(d);

    /* no labels; errors leave *out alone */
    NN_OK_OR_FAIL(nn_data_create(&d, 2, 3, NN_ROW_MAJOR, want, 3, NULL));
    ck_assert_ptr_null(nn_data_labels(d));
    ck_assert_uint_eq(nn_data_n_classes(d), 0);
    /* labels are non-negative; a refusal keeps the old labels */
    const int32_t two[2] = {1, 4}, neg[2] = {1, -1};
    NN_OK_OR_FAIL(nn_data_set_labels(d, two));
    ck_assert_int_eq(nn_data_set_labels(d, neg), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_set_labels(d, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_set_labels(NULL, two), NN_ERR_INVALID);
    ck_assert_mem_eq(nn_data_labels(d), two, sizeof two);
    ck_assert_uint_eq(nn_data_n_classes(d), 5);
    nn_data_destroy(d);
    nn_data_t *keep = (nn_data_t *)&keep;
    nn_allocator bad = {NULL, NULL, NULL};
    ck_assert_int_eq(nn_data_create(&keep, 2, 3, NN_ROW_MAJOR, want, 2, NULL), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_data_create(&keep, 2, 3, NN_ROW_MAJOR, NULL, 3, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_create(&keep, 0, 3, NN_ROW_MAJOR, want, 3, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_create(&keep, 2, 3, 7, want, 3, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_create(&keep, 2, 3, NN_ROW_MAJOR, want, 3, &bad), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_create(NULL, 2, 3, NN_ROW_MAJOR, want, 3, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(keep, (nn_data_t *)&keep);
}
END_TEST

/* One-hot rows from labels, and labels from one-hot feature columns. */
START_TEST(one_hot_both_ways)
{
    /* 4 rows: feature a, one-hot over 3 classes, feature b */
    const double X[4 * 5] = {0.5, 0, 1, 0, 9,
                             1.5, 1, 0, 0, 8,
                             2.5, 0, 0, 1, 7,
                             3.5, 0, 1, 0, 6};
    nn_data_t *d = tu_data(X, 4, 5, NULL, NULL);
    nn_error_info err;
    NN_OK_OR_FAIL(nn_data_labels_from_one_hot(d, 1, 3, &err));
    ck_assert_uint_eq(nn_data_cols(d), 2);
    const double want[8] = {0.5, 9, 1.5, 8, 2.5, 7, 3.5, 6};
    ck_assert_mem_eq(nn_data_x(d), want, sizeof want);
    const int32_t lab[4] = {1, 0, 2, 1};
    ck_assert_mem_eq(nn_data_labels(d), lab, sizeof lab);
    ck_assert_uint_eq(nn_data_n_classes(d), 3);

    /* back to one-hot rows, column-major with padding */
    double Y[3 * 6];
    for (size_t i = 0; i < 18; i++) Y[i] = NAN;
    NN_OK_OR_FAIL(nn_data_one_hot(d, 3, NN_COL_MAJOR, Y, 6));
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++)
            ck_assert(Y[j * 6 + i] == X[i * 5 + 1 + j]);
    ck_assert(isnan(Y[4]) && isnan(Y[5])); /* padding untouched */
    ck_assert_int_eq(nn_data_one_hot(d, 2, NN_ROW_MAJOR, Y, 2), NN_ERR_SHAPE);
    nn_data_destroy(d);

    /* rows that are not one-hot: reported, nothing changed */
    const double bad[3][3] = {{1, 1, 0}, {0, 0.5, 0}, {0, 0, 0}};
    const size_t bad_col[3] = {2, 2, 1}; /* 0-based column at fault */
    for (int b = 0; b < 3; b++) {
        double Z[2 * 4] = {7, 0, 1, 0, 7, 0, 0, 0};
        memcpy(Z + 5, bad[b], sizeof bad[b]);
        d = tu_data(Z, 2, 4, NULL, NULL);
        memset(&err, 0, sizeof err);
        ck_assert_int_eq(nn_data_labels_from_one_hot(d, 1, 3, &err), NN_ERR_FORMAT);
        ck_assert_uint_eq(err.line, 2);
        ck_assert_uint_eq(err.column, bad_col[b] + 1);
        ck_assert_uint_eq(nn_data_cols(d), 4);
        ck_assert_mem_eq(nn_data_x(d), Z, sizeof Z);
        ck_assert_ptr_null(nn_data_labels(d));
        nn_data_destroy(d);
    }

    /* arguments */
    d = tu_data(X, 4, 5, NULL, NULL);
    ck_assert_int_eq(nn_data_one_hot(d, 3, NN_ROW_MAJOR, Y, 3), NN_ERR_INVALID); /* no labels */
    ck_assert_int_eq(nn_data_labels_from_one_hot(NULL, 1, 3, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_labels_from_one_hot(d, 1, 0, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_labels_from_one_hot(d, 3, 3, NULL), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_data_labels_from_one_hot(d, 0, 5, NULL), NN_ERR_SHAPE);
    nn_data_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ targets */
/* Dense targets: attached from an array in either order, or taken from
 * feature columns; labels and targets replace each other. */
START_TEST(targets_set_and_take)
{
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    const double X[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const int32_t lab[3] = {0, 2, 1};
    nn_data_t *d = tu_data(X, 3, 4, lab, &al);
    ck_assert_uint_eq(nn_data_n_targets(d), 0);
    ck_assert_ptr_null(nn_data_targets(d));

    /* targets = columns 3 then 1; features keep 0, 2 in order */
    const size_t cols[2] = {3, 1};
    NN_OK_OR_FAIL(nn_data_take_targets(d, cols, 2));
    const double wantY[6] = {4, 2, 8, 6, 12, 10};
    const double wantX[6] = {1, 3, 5, 7, 9, 11};
    ck_assert_uint_eq(nn_data_cols(d), 2);
    ck_assert_uint_eq(nn_data_n_targets(d), 2);
    ck_assert_mem_eq(nn_data_targets(d), wantY, sizeof wantY);
    ck_assert_mem_eq(nn_data_x(d), wantX, sizeof wantX);
    ck_assert_ptr_null(nn_data_labels(d)); /* labels dropped */
    ck_assert_uint_eq(nn_data_n_classes(d), 0);
    double Y1[9];
    ck_assert_int_eq(nn_data_one_hot(d, 3, NN_ROW_MAJOR, Y1, 3),
                     NN_ERR_INVALID); /* targets are not labels */

    /* refusals change nothing */
    const size_t dup[2] = {0, 0}, out[1] = {2}, one[1] = {0};
    ck_assert_int_eq(nn_data_take_targets(d, dup, 2), NN_ERR_SHAPE); /* k >= n */
    ck_assert_int_eq(nn_data_take_targets(d, out, 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_data_take_targets(d, one, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_take_targets(d, NULL, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_take_targets(NULL, one, 1), NN_ERR_INVALID);
    ck_assert_uint_eq(nn_data_cols(d), 2);
    ck_assert_mem_eq(nn_data_targets(d), wantY, sizeof wantY);
    ck_assert_mem_eq(nn_data_x(d), wantX, sizeof wantX);
    /* a column named twice (with features left over) */
    nn_data_t *d4 = tu_data(X, 3, 4, lab, &al);
    const size_t twice[2] = {1, 1};
    ck_assert_int_eq(nn_data_take_targets(d4, twice, 2), NN_ERR_INVALID);
    ck_assert_uint_eq(nn_data_cols(d4), 4);
    ck_assert_mem_eq(nn_data_x(d4), X, sizeof X);
    ck_assert_mem_eq(nn_data_labels(d4), lab, sizeof lab);
    ck_assert_ptr_null(nn_data_targets(d4));
    nn_data_destroy(d4);

    /* set from a column-major 3 x 2 array with ld 4 (NaN padding unread) */
    const double Yc[8] = {0.5, 1.5, 2.5, NAN, -1, -2, -3, NAN};
    NN_OK_OR_FAIL(nn_data_set_targets(d, 2, NN_COL_MAJOR, Yc, 4));
    const double wantY2[6] = {0.5, -1, 1.5, -2, 2.5, -3};
    ck_assert_mem_eq(nn_data_targets(d), wantY2, sizeof wantY2);
    /* a single target column, row-major with ld 2 */
    const double Yr[6] = {7, NAN, 8, NAN, 9, NAN};
    NN_OK_OR_FAIL(nn_data_set_targets(d, 1, NN_ROW_MAJOR, Yr, 2));
    ck_assert_uint_eq(nn_data_n_targets(d), 1);
    const double wantY3[3] = {7, 8, 9};
    ck_assert_mem_eq(nn_data_targets(d), wantY3, sizeof wantY3);

    /* non-finite, misshaped or missing targets: refused, old ones kept */
    const double Yn[3] = {1, INFINITY, 2};
    ck_assert_int_eq(nn_data_set_targets(d, 1, NN_ROW_MAJOR, Yn, 1), NN_ERR_NUMERIC);
    ck_assert_int_eq(nn_data_set_targets(d, 2, NN_ROW_MAJOR, Yc, 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_data_set_targets(d, 2, NN_COL_MAJOR, Yc, 2), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_data_set_targets(d, 0, NN_ROW_MAJOR, Yc, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_set_targets(d, 1, NN_ROW_MAJOR, NULL, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_set_targets(d, 1, 9, Yr, 2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_set_targets(NULL, 1, NN_ROW_MAJOR, Yr, 2), NN_ERR_INVALID);
    ck_assert_uint_eq(nn_data_n_targets(d), 1);
    ck_assert_mem_eq(nn_data_targets(d), wantY3, sizeof wantY3);

    /* labels replace targets, and targets labels */
    NN_OK_OR_FAIL(nn_data_set_labels(d, lab));
    ck_assert_uint_eq(nn_data_n_targets(d), 0);
    ck_assert_ptr_null(nn_data_targets(d));
    ck_assert_uint_eq(nn_data_n_classes(d), 3);
    NN_OK_OR_FAIL(nn_data_set_targets(d, 1, NN_ROW_MAJOR, Yr, 2));
    ck_assert_ptr_null(nn_data_labels(d));
    ck_assert_uint_eq(nn_data_n_classes(d), 0);
    nn_data_destroy(d);

    /* labels from one-hot columns drop targets too */
    const double H[2 * 3] = {5, 1, 0, 6, 0, 1};
    d = tu_data(H, 2, 3, NULL, &al);
    NN_OK_OR_FAIL(nn_data_set_targets(d, 1, NN_ROW_MAJOR, H, 3));
    NN_OK_OR_FAIL(nn_data_labels_from_one_hot(d, 1, 2, NULL));
    ck_assert_uint_eq(nn_data_n_targets(d), 0);
    ck_assert_ptr_null(nn_data_targets(d));
    ck_assert_int_eq(nn_data_labels(d)[1], 1);
    nn_data_destroy(d);
    ck_assert_uint_eq(nn_data_n_targets(NULL), 0);
    ck_assert_ptr_null(nn_data_targets(NULL));
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* ------------------------------------------------------------ locale */
static const char *const COMMA_LOCALES[] = {
    "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
    "nl_NL.UTF-8", "it_IT.UTF-8", "es_ES.UTF-8", "ru_RU.UTF-8"};

static bool decimal_comma(void)
{
    return strcmp(localeconv()->decimal_point, ",") == 0;
}

/* Make the process locale a comma-decimal one: an installed locale, else
 * de_DE compiled by localedef into locdir (found through LOCPATH; glibc reads
 * it at every setlocale). false if neither is possible on this machine. */
static bool set_comma_locale(const char *locdir, bool *used_locpath)
{
    *used_locpath = false;
    for (size_t i = 0; i < sizeof COMMA_LOCALES / sizeof *COMMA_LOCALES; i++)
        if (setlocale(LC_ALL, COMMA_LOCALES[i]) && decimal_comma()) return true;
    char cmd[600], probe[600];
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
             locdir);
    (void)system(cmd); /* exit 1 means warnings: look for the output */
    snprintf(probe, sizeof probe, "%s/de_DE.UTF-8/LC_NUMERIC", locdir);
    if (access(probe, R_OK) != 0) return false;
    setenv("LOCPATH", locdir, 1);
    *used_locpath = true;
    return setlocale(LC_ALL, "de_DE.UTF-8") && decimal_comma();
}

/* A host program that set a comma-decimal locale still reads "1.5" as 1.5:
 * the loader parses in a "C" locale object of its own, and leaves the
 * process's locale as it found it. */
START_TEST(csv_locale_independent)
{
    char locdir[64];
    snprintf(locdir, sizeof locdir, "/tmp/nn_test_locale_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(locdir));
    char *old = strdup(setlocale(LC_ALL, NULL));
    ck_assert_ptr_nonnull(old);
    bool locpath = false;
    bool comma = set_comma_locale(locdir, &locpath);
    if (comma) {
        /* the locale is really in force: the C library's strtod reads a
         * comma and stops at a dot */
        ck_assert(strtod("1,5", NULL) == 1.5);
        ck_assert(strtod("1.5", NULL) == 1.0);
    } else {
        fprintf(stderr, "csv_locale_independent: no comma-decimal locale "
                        "installed and localedef failed; parsed in the "
                        "current locale only\n");
    }
    const char *lname = setlocale(LC_ALL, NULL);
    char *before = strdup(lname ? lname : "");
    write_text(P("x.csv"), "a,b,y\n1.5,-2.25e-1,3\n0.125,4,0\n");
    nn_data_t *d = NULL;
    nn_error_info e = {0};
    nn_status st = nn_data_load_csv(&d, P("x.csv"), 1, 2, NULL, &e);
    /* the comma stays the field separator, never a decimal comma; and a
     * cell the locale would read ("1,5" in a ';' file) is refused */
    write_text(P("y.csv"), "2,5\n");
    nn_data_t *two = NULL;
    nn_status st_two = nn_data_load_csv(&two, P("y.csv"), 0, NN_NO_COLUMN,
                                        NULL, NULL);
    write_text(P("y.csv"), "1;5\n");
    nn_data_t *bad = (nn_data_t *)0x1;
    nn_status st_bad = nn_data_load_csv(&bad, P("y.csv"), 0, NN_NO_COLUMN,
                                        NULL, NULL);
    int still_comma = decimal_comma();
    const char *after = setlocale(LC_ALL, NULL);
    int same = after && strcmp(after, before) == 0;
    setlocale(LC_ALL, old); /* restore before any assertion can fail */
    if (locpath) unsetenv("LOCPATH");
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", locdir);
    (void)system(rm);
    free(old);
    free(before);
    ck_assert_msg(st == NN_OK, "load -> %d: %s", (int)st, e.message);
    ck_assert(same);
    ck_assert_int_eq(still_comma, comma);
    const double want[4] = {1.5, -0.225, 0.125, 4};
    ck_assert_mem_eq(nn_data_x(d), want, sizeof want);
    ck_assert_int_eq(nn_data_labels(d)[0], 3);
    ck_assert_int_eq(st_two, NN_OK);
    ck_assert_uint_eq(nn_data_cols(two), 2);
    ck_assert(nn_data_x(two)[0] == 2 && nn_data_x(two)[1] == 5);
    nn_data_destroy(two);
    ck_assert_int_eq(st_bad, NN_ERR_FORMAT);
    ck_assert_ptr_eq(bad, (nn_data_t *)0x1);
    nn_data_destroy(d);
}
END_TEST

/* ------------------------------------------------------------ scalers on arrays */
/* The 4 x 2 matrix of these tests, by column: {1, 2, 3, 6}, {10, 20, 60, 30}.
 * Column 0: mean 3, population variance (4+1+0+9)/4 = 3.5, min 1, range 5.
 * Column 1: mean 30, variance (400+100+900+0)/4 = 350, min 10, range 50. */
static const double C0[4] = {1, 2, 3, 6}, C1[4] = {10, 20, 60, 30};

/* The matrix row-major with ld 3 and column-major with ld 5 (NaN padding). */
static void fill_both(double R[12], double C[10])
{
    for (size_t i = 0; i < 12; i++) R[i] = NAN;
    for (size_t i = 0; i < 10; i++) C[i] = NAN;
    for (size_t i = 0; i < 4; i++) {
        R[i * 3] = C0[i];
        R[i * 3 + 1] = C1[i];
        C[i] = C0[i];
        C[5 + i] = C1[i];
    }
}

START_TEST(scaler_fit_arrays)
{
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    double R[12], C[10];
    fill_both(R, C);
    const double want_off[2][2] = {{3, 30}, {1, 10}};
    const double want_sc[2][2] = {{sqrt(3.5), sqrt(350)}, {5, 50}};
    const nn_scale_kind kinds[2] = {NN_SCALE_STANDARD, NN_SCALE_MINMAX};
    for (int k = 0; k < 2; k++) {
        nn_scaler_t *sr = NULL, *sc = NULL;
        NN_OK_OR_FAIL(nn_scaler_fit(&sr, kinds[k], 4, 2, NN_ROW_MAJOR, R, 3, &al));
        NN_OK_OR_FAIL(nn_scaler_fit(&sc, kinds[k], 4, 2, NN_COL_MAJOR, C, 5, &al));
        ck_assert_uint_eq(nn_scaler_n(sr), 2);
        nn_scale_kind got = -1;
        NN_OK_OR_FAIL(nn_scaler_get_kind(sc, &got));
        ck_assert_int_eq(got, kinds[k]);
        double o1[2], s1[2], o2[2], s2[2];
        NN_OK_OR_FAIL(nn_scaler_get_params(sr, o1, s1));
        NN_OK_OR_FAIL(nn_scaler_get_params(sc, o2, NULL));
        NN_OK_OR_FAIL(nn_scaler_get_params(sc, NULL, s2));
        for (int j = 0; j < 2; j++) {
            ck_assert(o1[j] == want_off[k][j] && o2[j] == want_off[k][j]);
            ck_assert(s1[j] == want_sc[k][j] && s2[j] == want_sc[k][j]);
        }
        nn_scaler_destroy(sr);
        nn_scaler_destroy(sc);
    }
    /* a constant column gets scale 1 under both kinds */
    const double K[3] = {4, 4, 4};
    for (int k = 0; k < 2; k++) {
        nn_scaler_t *s = NULL;
        NN_OK_OR_FAIL(nn_scaler_fit(&s, kinds[k], 3, 1, NN_ROW_MAJOR, K, 1, &al));
        double o, sc;
        NN_OK_OR_FAIL(nn_scaler_get_params(s, &o, &sc));
        ck_assert(o == 4 && sc == 1);
        nn_scaler_destroy(s);
    }
    TU_ASSERT_BALANCED(&c);
}
END_TEST

START_TEST(scaler_apply_invert_arrays)
{
    double R[12], C[10];
    fill_both(R, C);
    nn_scaler_t *st = NULL, *mm = NULL;
    NN_OK_OR_FAIL(nn_scaler_fit(&st, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, R, 3, NULL));
    NN_OK_OR_FAIL(nn_scaler_fit(&mm, NN_SCALE_MINMAX, 4, 2, NN_ROW_MAJOR, R, 3, NULL));
    /* standard, column-major in place: z = (x - mean) / sd */
    NN_OK_OR_FAIL(nn_scaler_apply(st, 4, NN_COL_MAJOR, C, 5));
    for (size_t i = 0; i < 4; i++) {
        ck_assert(fabs(C[i] - (C0[i] - 3) / sqrt(3.5)) < 1e-15);
        ck_assert(fabs(C[5 + i] - (C1[i] - 30) / sqrt(350)) < 1e-15);
    }
    ck_assert(isnan(C[4]) && isnan(C[9])); /* padding untouched */
    NN_OK_OR_FAIL(nn_scaler_invert(st, 4, NN_COL_MAJOR, C, 5));
    for (size_t i = 0; i < 4; i++) {
        ck_assert(fabs(C[i] - C0[i]) <= 1e-15 * fabs(C0[i]));
        ck_assert(fabs(C[5 + i] - C1[i]) <= 1e-15 * fabs(C1[i]));
    }
    /* min-max, row-major: exact values (x - min) / range */
    NN_OK_OR_FAIL(nn_scaler_apply(mm, 4, NN_ROW_MAJOR, R, 3));
    const double want[8] = {0, 0, 0.2, 0.2, 0.4, 1, 1, 0.4};
    for (size_t i = 0; i < 4; i++) {
        ck_assert(R[i * 3] == want[2 * i] && R[i * 3 + 1] == want[2 * i + 1]);
        ck_assert(isnan(R[i * 3 + 2]));
    }
    NN_OK_OR_FAIL(nn_scaler_invert(mm, 4, NN_ROW_MAJOR, R, 3));
    for (size_t i = 0; i < 4; i++)
        ck_assert(R[i * 3] == C0[i] && R[i * 3 + 1] == C1[i]);
    /* refusals change nothing */
    double keep[12];
    memcpy(keep, R, sizeof keep);
    ck_assert_int_eq(nn_scaler_apply(mm, 4, NN_ROW_MAJOR, R, 1), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_invert(mm, 4, NN_COL_MAJOR, R, 3), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_apply(mm, 0, NN_ROW_MAJOR, R, 3), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply(mm, 4, 5, R, 3), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply(mm, 4, NN_ROW_MAJOR, NULL, 3), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply(NULL, 4, NN_ROW_MAJOR, R, 3), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_invert(NULL, 4, NN_ROW_MAJOR, R, 3), NN_ERR_INVALID);
    ck_assert_mem_eq(keep, R, sizeof keep);
    nn_scaler_destroy(st);
    nn_scaler_destroy(mm);
}
END_TEST

START_TEST(scaler_fit_refusals)
{
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    double R[12], C[10];
    fill_both(R, C);
    nn_scaler_t *s = (nn_scaler_t *)0x1;
    nn_allocator bad = {NULL, NULL, NULL};
    R[4] = NAN; /* row 1, column 1 */
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_NUMERIC);
    R[4] = -INFINITY;
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, 4, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_NUMERIC);
    R[4] = 20;
    /* finite values whose range or sums overflow */
    const double big[2] = {-1.5e308, 1.5e308};
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, 2, 1, NN_ROW_MAJOR, big, 1, &al), NN_ERR_NUMERIC);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 2, 1, NN_ROW_MAJOR, big, 1, &al), NN_ERR_NUMERIC);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, R, 1, &al), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, NN_COL_MAJOR, C, 3, &al), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 0, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 0, NN_ROW_MAJOR, R, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, 3, R, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_CUSTOM, 4, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, 9, 4, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, NULL, 3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, R, 3, &bad), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(NULL, NN_SCALE_STANDARD, 4, 2, NN_ROW_MAJOR, R, 3, &al), NN_ERR_INVALID);
    ck_assert_ptr_eq(s, (nn_scaler_t *)0x1);
    ck_assert_int_eq(c.allocs - c.frees, 0);
    /* queries */
    nn_scale_kind k;
    double o;
    ck_assert_uint_eq(nn_scaler_n(NULL), 0);
    ck_assert_int_eq(nn_scaler_get_kind(NULL, &k), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_get_params(NULL, &o, NULL), NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_scaler_fit(&s, NN_SCALE_MINMAX, 4, 2, NN_ROW_MAJOR, R, 3, &al));
    ck_assert_int_eq(nn_scaler_get_kind(s, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_get_params(s, NULL, NULL), NN_ERR_INVALID);
    nn_scaler_destroy(s);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* A CUSTOM scaler from given parameters: copied, validated, applied. */
START_TEST(scaler_custom)
{
    tu_counter c = counter64();
    nn_allocator al = tu_allocator(&c);
    double off[2] = {1, -2}, sc[2] = {2, 0.5};
    nn_scaler_t *s = NULL;
    NN_OK_OR_FAIL(nn_scaler_create(&s, 2, off, sc, &al));
    off[0] = 99; /* copied at creation */
    nn_scale_kind k = -1;
    NN_OK_OR_FAIL(nn_scaler_get_kind(s, &k));
    ck_assert_int_eq(k, NN_SCALE_CUSTOM);
    double o[2], g[2];
    NN_OK_OR_FAIL(nn_scaler_get_params(s, o, g));
    ck_assert(o[0] == 1 && o[1] == -2 && g[0] == 2 && g[1] == 0.5);
    /* (3 - 1)/2 = 1, (-1 + 2)/0.5 = 2; and back */
    double x[2] = {3, -1};
    NN_OK_OR_FAIL(nn_scaler_apply(s, 1, NN_ROW_MAJOR, x, 2));
    ck_assert(x[0] == 1 && x[1] == 2);
    NN_OK_OR_FAIL(nn_scaler_invert(s, 1, NN_COL_MAJOR, x, 1));
    ck_assert(x[0] == 3 && x[1] == -1);
    /* on a data set (features only, targets untouched) */
    const double X[4] = {1, -2, 5, 0}, Y[2] = {7, 8};
    nn_data_t *d = tu_data_targets(X, 2, 2, Y, 1, &al);
    NN_OK_OR_FAIL(nn_scaler_apply_data(s, d));
    const double want[4] = {0, 0, 2, 4};
    ck_assert_mem_eq(nn_data_x(d), want, sizeof want);
    ck_assert_mem_eq(nn_data_targets(d), Y, sizeof Y);
    nn_data_destroy(d);
    nn_scaler_destroy(s);

    /* validation: scales finite and non-zero, offsets finite */
    off[0] = 1;
    nn_scaler_t *keep = (nn_scaler_t *)0x1;
    nn_allocator bad = {NULL, NULL, NULL};
    const double zero[2] = {1, 0}, nan2[2] = {NAN, 1}, inf2[2] = {1, INFINITY};
    ck_assert_int_eq(nn_scaler_create(&keep, 2, off, zero, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, off, nan2, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, off, inf2, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, inf2, sc, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, nan2, sc, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 0, off, sc, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, NULL, sc, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, off, NULL, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&keep, 2, off, sc, &bad), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(NULL, 2, off, sc, &al), NN_ERR_INVALID);
    ck_assert_ptr_eq(keep, (nn_scaler_t *)0x1);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, idx_ubyte_plain_and_gz);
    tcase_add_test(tc, idx_float64_int32_int16_sbyte_float32);
    tcase_add_test(tc, idx_truncated);
    tcase_add_test(tc, idx_malformed);
    tcase_add_test(tc, idx_hostile_sizes);
    tcase_add_test(tc, idx_labels_errors);
    tcase_add_test(tc, idx_missing_and_args);
    tcase_add_test(tc, idx_fashion_mnist);
    tcase_add_test(tc, idx_nonfinite);
    tcase_add_test(tc, gzip_truncated);
    tcase_add_test(tc, stream_csv_idx);
    suite_add_tcase(s, tc);
    tc = tcase_create("csv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, csv_valid);
    tcase_add_test(tc, csv_invalid);
    tcase_add_test(tc, csv_bom_and_line_ends);
    tcase_add_test(tc, csv_header_width);
    tcase_add_test(tc, csv_read_format_and_names);
    tcase_add_test(tc, csv_plain_decimal_only);
    tcase_add_test(tc, csv_idx_messages);
    tcase_add_test(tc, long_path_keeps_end);
    tcase_add_test(tc, scaler_standard_and_minmax);
    tcase_add_test(tc, data_from_arrays);
    tcase_add_test(tc, one_hot_both_ways);
    tcase_add_test(tc, targets_set_and_take);
    suite_add_tcase(s, tc);
    /* its own case: compiling a locale with localedef takes seconds */
    tc = tcase_create("locale");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, csv_locale_independent);
    suite_add_tcase(s, tc);
    tc = tcase_create("scaler");
    tcase_add_test(tc, scaler_fit_arrays);
    tcase_add_test(tc, scaler_apply_invert_arrays);
    tcase_add_test(tc, scaler_fit_refusals);
    tcase_add_test(tc, scaler_custom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(data_suite()); }
