/* fuzz_common.h — shared by the libFuzzer targets and their replay driver.
 *
 * The loaders under test read files by path, so each input is written to one
 * memfd per process and handed over as /proc/self/fd/N (no disk traffic).
 * Every object is created with a checking allocator that keeps a size header
 * in front of each block: a free with the wrong size, or bytes still live
 * after a call returned an error / its object was destroyed, abort(). */
#ifndef NN_FUZZ_COMMON_H
#define NN_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------ checking allocator */
typedef struct {
    size_t live_bytes;
    long live_blocks;
} fz_heap;

#define FZ_HDR 16 /* keeps double alignment */

static inline void *fz_alloc(void *ctx, size_t n)
{
    fz_heap *h = ctx;
    if (n == 0 || n > ((size_t)1 << 32)) /* far above any seed's needs */
        return NULL;
    unsigned char *p = malloc(n + FZ_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    h->live_bytes += n;
    h->live_blocks++;
    return p + FZ_HDR;
}

static inline void fz_free(void *ctx, void *ptr, size_t n)
{
    fz_heap *h = ctx;
    unsigned char *p = (unsigned char *)ptr - FZ_HDR;
    size_t was;
    memcpy(&was, p, sizeof was);
    if (was != n) {
        fprintf(stderr, "fuzz: free of %zu bytes for a block of %zu\n", n, was);
        abort();
    }
    h->live_bytes -= n;
    h->live_blocks--;
    free(p);
}

static inline nn_allocator fz_allocator(fz_heap *h)
{
    nn_allocator a = {fz_alloc, fz_free, h};
    return a;
}

static inline void fz_check_balanced(const fz_heap *h, const char *where)
{
    if (h->live_bytes || h->live_blocks) {
        fprintf(stderr, "fuzz: %s: %ld blocks / %zu bytes still live\n", where,
                h->live_blocks, h->live_bytes);
        abort();
    }
}

#define FZ_ASSERT(cond)                                                       \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* An error message / file name must be a terminated string. */
static inline void fz_check_err(const nn_error_info *e)
{
    FZ_ASSERT(memchr(e->message, '\0', sizeof e->message) != NULL);
    FZ_ASSERT(memchr(e->file, '\0', sizeof e->file) != NULL);
    /* raw input bytes are never echoed: printable ASCII only */
    for (const char *m = e->message; *m; m++)
        FZ_ASSERT((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7F);
}

/* ------------------------------------------------ input as a file */
static int fz_fd = -1;
static char fz_path[64];

/* Put data[0..size) in the memfd; returns its path. */
static inline const char *fz_file(const uint8_t *data, size_t size)
{
    if (fz_fd < 0) {
        fz_fd = memfd_create("nn-fuzz", 0);
        if (fz_fd < 0) { perror("memfd_create"); abort(); }
        snprintf(fz_path, sizeof fz_path, "/proc/self/fd/%d", fz_fd);
    }
    if (ftruncate(fz_fd, 0) != 0) { perror("ftruncate"); abort(); }
    size_t done = 0;
    while (done < size) {
        ssize_t k = pwrite(fz_fd, data + done, size - done, (off_t)done);
        if (k <= 0) { perror("pwrite"); abort(); }
        done += (size_t)k;
    }
    return fz_path;
}

/* A status the loaders may return for bad input. */
static inline int fz_input_status(nn_status st)
{
    return st == NN_ERR_FORMAT || st == NN_ERR_TOO_LARGE ||
           st == NN_ERR_NOMEM || st == NN_ERR_SHAPE ||
           st == NN_ERR_UNSUPPORTED || st == NN_ERR_IO;
}

#endif
