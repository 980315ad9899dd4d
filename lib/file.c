/* file.c — the file I/O the readers and writers share: for the model
 * writers (model files, ONNX files) an atomic save and a read loop that
 * retries short reads; for the data loaders (idx.c, csv.c) the input reader
 * and the error details they fill in.
 *
 * Saving to a file depends on what the destination is (symbolic links are
 * followed to their final target first; a dangling link names the file to
 * create):
 * - a regular file, or none: atomic. The bytes go to TARGET.tmp.XXXXXX in
 *   the target's directory (created O_EXCL, mode 0666 minus the umask like
 *   fopen, or the replaced file's permission bits), which is written,
 *   fsync'ed, closed and renamed over TARGET; the directory is then fsync'ed
 *   (best effort). Any failure removes the temporary file and leaves TARGET
 *   as it was. A link stays a link.
 * - a character or block device, FIFO or socket: written directly, never
 *   replaced by a regular file (O_NONBLOCK for the open, so a FIFO without a
 *   reader fails with ENXIO instead of hanging).
 * - a directory: refused.
 *
 * The data loaders read every input through zlib's gz* interface, which reads
 * gzip and plain files alike, once from the front (so pipes and FIFOs work).
 * Sizes claimed by a file header are never trusted for an allocation: the
 * payload is read into a buffer that grows by doubling (from at most CHUNK,
 * 64 KiB) while the file actually delivers bytes, so a hostile header costs
 * at most twice what the file really holds. */
#define _POSIX_C_SOURCE 200809L

#include "nn_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* write() all n bytes, retrying short writes and EINTR. */
static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t k = write(fd, p, chunk);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (k == 0) {
            errno = EIO;
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Create PATH.tmp.XXXXXX exclusively (mode 0666 & ~umask); tmp holds
 * strlen(path) + 12 bytes. Returns the descriptor or -1 (errno set). */
static int create_temp(const char *path, char *tmp, size_t tmp_size)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)tmp;
    nn_rng r;
    nn__rng_seed(&r, x);
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t v = nn__rng_next(&r);
        char suffix[7];
        for (int i = 0; i < 6; i++, v >>= 8) suffix[i] = chars[(v & 0xFF) % 62];
        suffix[6] = '\0';
        snprintf(tmp, tmp_size, "%s.tmp.%s", path, suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

/* fsync the directory holding path, so that the rename is durable. Best
 * effort: some file systems refuse to fsync a directory. */
static void sync_dir(const char *path, char *scratch)
{
    const char *slash = strrchr(path, '/');
    const char *dir = ".";
    if (slash == path) {
        dir = "/";
    } else if (slash) {
        size_t n = (size_t)(slash - path);
        memcpy(scratch, path, n);
        scratch[n] = '\0';
        dir = scratch;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

/* Write bytes to path atomically (see the top of the file). */
static nn_status write_atomic(const char *path, const unsigned char *bytes,
                              size_t n, const struct stat *old,
                              const nn_allocator *al, nn_error_info *err)
{
    size_t tmp_size;
    if (!nn__add(strlen(path), 16, &tmp_size)) return NN_ERR_TOO_LARGE;
    char *tmp = nn__alloc(al, tmp_size);
    if (!tmp) return NN_ERR_NOMEM;
    nn_status st = NN_OK;
    int fd = create_temp(path, tmp, tmp_size);
    if (fd < 0) {
        nn__set_error(err, path, 0, "cannot create temporary file %s: %s",
                      tmp, NN_ERRNO_TEXT(errno));
        st = NN_ERR_IO;
        goto out;
    }
    const char *what = NULL;
    /* a replaced file keeps its permission bits (a private 0600 model does
     * not become world-readable by being saved again) */
    if (old && fchmod(fd, old->st_mode & 07777) != 0) what = "cannot chmod";
    else if (!write_all(fd, bytes, n)) what = "cannot write";
    else if (fsync(fd) != 0) what = "cannot sync";
    if (what) {
        int e = errno;
        close(fd);
        errno = e;
    } else if (close(fd) != 0) {
        what = "cannot close";
    } else if (rename(tmp, path) != 0) {
        what = "cannot rename";
    }
    if (what) {
        int e = errno;
        unlink(tmp);
        nn__set_error(err, path, 0, "%s %s: %s", what,
                      strcmp(what, "cannot rename") == 0 ? "the temporary file"
                                                         : tmp,
                      NN_ERRNO_TEXT(e));
        st = NN_ERR_IO;
        goto out;
    }
    sync_dir(path, tmp); /* tmp is longer than path's directory */
out:
    nn__free(al, tmp, tmp_size);
    return st;
}

/* Write bytes straight to a destination that is not a regular file (a
 * character or block device, a FIFO, a socket): it is never replaced by a
 * regular file. O_NONBLOCK keeps open from waiting forever on a FIFO that
 * has no reader (ENXIO); it is cleared before writing, so that a reader that
 * drains slowly is waited for. */
static nn_status write_direct(const char *path, const unsigned char *bytes,
                              size_t n, nn_error_info *err)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        nn__set_error(err, path, 0,
                      e == ENXIO ? "cannot open: nothing is reading this "
                                   "FIFO or device (%s)"
                                 : "cannot open: %s",
                      NN_ERRNO_TEXT(e));
        return NN_ERR_IO;
    }
    struct stat sb;
    int fl;
    const char *what = NULL;
    if (fstat(fd, &sb) != 0) what = "cannot stat";
    else if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        what = "changed while saving", errno = EAGAIN; /* a race: refuse */
    else if ((fl = fcntl(fd, F_GETFL)) < 0 ||
             fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        what = "cannot set blocking mode";
    else if (!write_all(fd, bytes, n)) what = "cannot write";
    int e = errno;
    if (close(fd) != 0 && !what) what = "cannot close", e = errno;
    if (!what) return NN_OK;
    nn__set_error(err, path, 0, "%s: %s", what, NN_ERRNO_TEXT(e));
    return NN_ERR_IO;
}

/* The path a symbolic link names, relative to the link's directory, into
 * a new buffer (*out, *out_size through al). */
static nn_status link_target(const char *link, const nn_allocator *al,
                             char **out, size_t *out_size)
{
    char buf[4096];
    ssize_t k = readlink(link, buf, sizeof buf);
    if (k < 0) return NN_ERR_IO;
    if ((size_t)k == sizeof buf) {
        errno = ENAMETOOLONG;
        return NN_ERR_IO;
    }
    const char *slash = strrchr(link, '/');
    size_t dir = buf[0] == '/' || !slash ? 0 : (size_t)(slash - link) + 1;
    *out_size = dir + (size_t)k + 1;
    *out = nn__alloc(al, *out_size);
    if (!*out) return NN_ERR_NOMEM;
    memcpy(*out, link, dir);
    memcpy(*out + dir, buf, (size_t)k);
    (*out)[dir + (size_t)k] = '\0';
    return NN_OK;
}

/* Follow path through its symbolic links (at most 40, as the kernel): *dest
 * (through al, size *dest_size) is the final name, *sb its lstat and
 * *exists whether it exists (a dangling link names a file to create). */
static nn_status resolve_dest(const char *path, const nn_allocator *al,
                              char **dest, size_t *dest_size, struct stat *sb,
                              bool *exists, nn_error_info *err)
{
    size_t size = strlen(path) + 1;
    char *cur = nn__alloc(al, size);
    if (!cur) return NN_ERR_NOMEM;
    memcpy(cur, path, size);
    nn_status st = NN_OK;
    for (int hops = 0;; hops++) {
        *exists = lstat(cur, sb) == 0;
        if (!*exists && errno != ENOENT) st = NN_ERR_IO;
        if (st || !*exists || !S_ISLNK(sb->st_mode)) break;
        char *next = NULL;
        size_t next_size = 0;
        if (hops == 40) errno = ELOOP, st = NN_ERR_IO;
        else st = link_target(cur, al, &next, &next_size);
        if (st) break;
        nn__free(al, cur, size);
        cur = next;
        size = next_size;
    }
    if (st == NN_ERR_IO)
        nn__set_error(err, path, 0, "cannot resolve the destination: %s",
                      NN_ERRNO_TEXT(errno));
    if (st) {
        nn__free(al, cur, size);
        return st;
    }
    *dest = cur;
    *dest_size = size;
    return NN_OK;
}

/* Save bytes to path as the top of the file says: a regular or new file
 * (also behind symbolic links) is replaced atomically, other kinds are
 * written directly, a directory is refused. What path finally is comes from
 * stat (which also follows /proc's magic links: /dev/stdout on a pipe is a
 * FIFO, though its link text "pipe:[N]" names no file); the name to replace
 * comes from following the links by hand, and must lead to that same file. */
nn_status nn__save_file(const char *path, const unsigned char *bytes,
                        size_t n, const nn_allocator *al, nn_error_info *err)
{
    struct stat fsb, sb;
    bool found = stat(path, &fsb) == 0;
    if (found && S_ISDIR(fsb.st_mode)) {
        nn__set_error(err, path, 0, "cannot save over a directory");
        return NN_ERR_IO;
    }
    if (found && !S_ISREG(fsb.st_mode))
        return write_direct(path, bytes, n, err);
    char *dest = NULL;
    size_t dest_size = 0;
    bool exists = false;
    nn_status st = resolve_dest(path, al, &dest, &dest_size, &sb, &exists,
                                err);
    if (st) return st;
    if (found != exists || (found && (sb.st_dev != fsb.st_dev ||
                                      sb.st_ino != fsb.st_ino ||
                                      !S_ISREG(sb.st_mode)))) {
        /* a link to a file without a name (deleted, anonymous), or a race */
        nn__set_error(err, path, 0,
                      "cannot find the file's name behind the link");
        st = NN_ERR_IO;
    } else {
        st = write_atomic(dest, bytes, n, exists ? &sb : NULL, al, err);
    }
    if (st && err && strcmp(dest, path) != 0 && strlen(err->message) < 200)
        strcat(err->message, " (the target of a symbolic link)");
    if (st && err) nn__copy_path(err->file, sizeof err->file, path);
    nn__free(al, dest, dest_size);
    return st;
}

/* read() up to n bytes, retrying short reads and EINTR; *got the count
 * (short only at end of file). False on a read error (errno set). */
bool nn__read_full(int fd, unsigned char *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got > ((size_t)1 << 30) ? ((size_t)1 << 30)
                                                   : n - *got;
        ssize_t k = read(fd, p + *got, want);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return false;
        if (k == 0) break;
        *got += (size_t)k;
    }
    return true;
}

/* ------------------------------------------------------------ loaders */
/* The data loaders' first read buffer: a header's claimed size is never
 * trusted, the buffer doubles only as bytes arrive, so a tiny file costs at
 * most this much. */
#define CHUNK ((size_t)1 << 16)

/* Fill *err (if not NULL) from scratch: file, 1-based line and column (0:
 * none), byte offset and a printf-style message. */
void nn__set_err(nn_error_info *err, const char *path, size_t line,
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

/* What the first n bytes of an input look like when they start with the
 * magic of another format libnn reads, else NULL. */
const char *nn__looks_like(const unsigned char *p, size_t n)
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
    if (fd < 0)
        nn__set_err(err, path, 0, 0, 0, "%s: %s", what, NN_ERRNO_TEXT(e));
    return fd;
}

/* Open path through zlib on the descriptor open_input gave: gzip and plain
 * input alike, read once from the front (a pipe cannot be rewound). */
nn_status nn__rd_open(nn__reader *r, const char *path, nn_error_info *err)
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
static nn_status rd_check_end(nn__reader *r, size_t at)
{
    int errnum = 0;
    gzerror(r->gz, &errnum);
    if (errnum != Z_BUF_ERROR) return NN_OK;
    nn__set_err(r->err, r->path, 0, 0, at,
                "truncated gzip data: the stream ends after %zu bytes, before "
                "its end marker and checksum", at);
    return NN_ERR_FORMAT;
}

/* Read up to n bytes; *got receives the count (short only at end of file). */
nn_status nn__rd_read(nn__reader *r, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        int k = gzread(r->gz, (char *)buf + done, (unsigned)want);
        if (k < 0) {
            int errnum = 0;
            const char *msg = gzerror(r->gz, &errnum);
            if (errnum == Z_ERRNO) {
                nn__set_err(r->err, r->path, 0, 0, r->off + done,
                            "read error: %s", NN_ERRNO_TEXT(errno));
                return NN_ERR_IO;
            }
            nn__set_err(r->err, r->path, 0, 0, r->off + done,
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
nn_status nn__rd_payload(nn__reader *r, const nn_allocator *al, size_t want,
                         const char *what, unsigned char **buf)
{
    size_t start = r->off, cap = want < CHUNK ? want : CHUNK, have = 0;
    unsigned char *b = nn__alloc(al, cap);
    if (!b) return NN_ERR_NOMEM;
    nn_status st = NN_OK;
    for (;;) {
        size_t got;
        st = nn__rd_read(r, b + have, cap - have, &got);
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
        nn__set_err(r->err, r->path, 0, 0, start + have,
                    "expected %zu bytes of %s data, file ends after %zu", want,
                    what, have);
        st = NN_ERR_FORMAT;
    }
    if (!st) {
        unsigned char extra;
        size_t got;
        st = nn__rd_read(r, &extra, 1, &got);
        if (!st && got) {
            nn__set_err(r->err, r->path, 0, 0, start + want,
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
