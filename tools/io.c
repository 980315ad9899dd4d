/* io.c — files and streams of the `libnn` tool (docs/TOOL.md, "Files and
 * streams"): inputs are stat'ed before they are opened and read exactly
 * once (streams are spooled), outputs never replace an input, a device, a
 * FIFO or a symlink, and a regular output is replaced atomically. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* How long a FIFO may take to get its writer (input) or reader (output):
 * long enough for a producer started just before nn, short enough that a
 * forgotten FIFO never looks like a hang. */
#define FIFO_WAIT_MS 2000

/* The model format's magic (docs/FORMAT.md): a stream that does not start
 * with it is refused after 8 bytes instead of being read whole. */
static const unsigned char model_magic[8] = {0x89, 'N', 'N', 'M',
                                             '\r', '\n', 0x1a, '\n'};

const char *cli_in_shown(const char *name)
{
    return strcmp(name, "-") ? name : "stdin";
}

int cli_check_path(const char *opt, const char *path)
{
    if (!*path) return cli_error("%s: empty file name", opt);
    size_t n = strlen(path);
    if (n >= PATH_MAX)
        return cli_error("%s: file name too long (%zu bytes): %s", opt, n,
                         cli_cap(path));
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int set_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

/* ------------------------------------------------------------ inputs */
/* A non-regular input read once, front to back. A FIFO is opened
 * O_NONBLOCK (open never waits for a writer) and kept so: an EOF before any
 * writer was seen waits FIFO_WAIT_MS for one, then is an error, never a
 * hang; EAGAIN (a writer, no data yet) waits as long as the writer lives. */
typedef struct stream {
    const char *opt, *name;
    int fd;
    bool fifo, seen;
} stream;

static int open_stream(stream *s, const char *opt, const char *name)
{
    s->opt = opt;
    s->name = name;
    s->fifo = s->seen = false;
    if (!strcmp(name, "-")) {
        /* stdin's file description is shared with the shell: leave its
         * flags alone; the shell has already waited for any writer */
        s->fd = STDIN_FILENO;
        return 0;
    }
    s->fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (s->fd < 0)
        return cli_error("%s: cannot open: %s", name, strerror(errno));
    struct stat sb;
    s->fifo = fstat(s->fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
    if (!s->fifo && set_blocking(s->fd) != 0) {
        int e = errno;
        close(s->fd);
        return cli_error("%s: cannot read: %s", name, strerror(e));
    }
    return 0;
}

static void close_stream(stream *s)
{
    if (s->fd != STDIN_FILENO) close(s->fd);
}

/* Up to cap bytes: > 0 read, 0 end of input, -1 error (printed). */
static ssize_t stream_read(stream *s, void *buf, size_t cap)
{
    for (;;) {
        ssize_t k = read(s->fd, buf, cap);
        if (k > 0) s->seen = true;
        if (k > 0 || (k == 0 && (s->seen || !s->fifo))) return k;
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno != EAGAIN) {
            cli_error("%s: cannot read: %s", cli_in_shown(s->name),
                      strerror(errno));
            return -1;
        }
        /* EOF with no writer seen yet, or EAGAIN: wait for an event */
        struct pollfd p = {s->fd, POLLIN, 0};
        int r = poll(&p, 1, k == 0 ? FIFO_WAIT_MS : -1);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            cli_error("%s %s: a FIFO with no writer (waited %d s)", s->opt,
                      s->name, FIFO_WAIT_MS / 1000);
            return -1;
        }
        s->seen = true;
    }
}

static bool write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* An unlinked temporary file in $TMPDIR (or /tmp); -1 on error. */
static int anon_temp(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir);
    char *p = malloc(n + 20);
    if (!p) return -1;
    memcpy(p, dir, n);
    memcpy(p + n, "/nn-stream.XXXXXX", 18);
    int fd = mkstemp(p);
    if (fd >= 0) unlink(p);
    free(p);
    return fd;
}

/* Copies the stream into an unlinked temporary file (rewound). */
static int spool(stream *s, int *out)
{
    int t = anon_temp();
    if (t < 0)
        return cli_error("%s %s: cannot create a temporary copy: %s", s->opt,
                         cli_in_shown(s->name), strerror(errno));
    char buf[65536];
    size_t total = 0;
    ssize_t k;
    while ((k = stream_read(s, buf, sizeof buf)) > 0) {
        if (!write_all(t, buf, (size_t)k)) {
            int e = errno;
            close(t);
            return cli_error("%s %s: cannot store a temporary copy: %s",
                             s->opt, cli_in_shown(s->name), strerror(e));
        }
        total += (size_t)k;
    }
    if (k < 0 || total == 0 || lseek(t, 0, SEEK_SET) != 0) {
        close(t);
        if (k < 0) return EXIT_RUNTIME;
        return cli_error("%s %s: empty input (nothing was written to it)",
                         s->opt, cli_in_shown(s->name));
    }
    *out = t;
    return 0;
}

/* Checks an input before anything opens it: it exists and is not a
 * directory. Sets *regular. */
static int stat_input(const char *opt, const char *name, bool *regular)
{
    int rc = cli_check_path(opt, name);
    if (rc) return rc;
    *regular = false;
    if (!strcmp(name, "-")) return 0;
    struct stat sb;
    if (stat(name, &sb) != 0)
        return cli_error("%s: cannot open: %s", name, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return cli_error("%s %s: is a directory", opt, name);
    *regular = S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode);
    return 0;
}

int cli_in_open(cli_in *in, const char *opt, const char *name)
{
    in->name = name;
    in->path = NULL;
    in->fd = -1;
    bool regular;
    int rc = stat_input(opt, name, &regular);
    if (rc) return rc;
    if (regular) {
        in->path = malloc(strlen(name) + 1);
        if (!in->path) return cli_error("out of memory");
        strcpy(in->path, name);
        return 0;
    }
    stream st;
    if ((rc = open_stream(&st, opt, name))) return rc;
    rc = spool(&st, &in->fd);
    close_stream(&st);
    if (rc) return rc;
    in->path = malloc(32);
    if (!in->path) {
        cli_in_close(in);
        return cli_error("out of memory");
    }
    snprintf(in->path, 32, "/dev/fd/%d", in->fd);
    return 0;
}

void cli_in_close(cli_in *in)
{
    if (in->fd >= 0) close(in->fd);
    in->fd = -1;
    free(in->path);
    in->path = NULL;
}

/* The format a model's first byte announces: libnn's for the magic's
 * first byte, 0x89, which no ONNX file starts with in practice (and for
 * nothing at all: an empty input gets the model loader's message), ONNX
 * (a protobuf) for anything else. */
static int model_kind(const unsigned char *b, size_t n)
{
    return n == 0 || b[0] == model_magic[0] ? CLI_MODEL_NATIVE
                                            : CLI_MODEL_ONNX;
}

/* A protobuf varint at b[0..n): its value and length, 0 when incomplete,
 * -1 when longer than 10 bytes. */
static int pb_varint(const unsigned char *b, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i == n) return 0;
        *v |= (uint64_t)(b[i] & 0x7f) << (7 * i);
        if (!(b[i] & 0x80)) return (int)i + 1;
    }
    return -1;
}

/* Walks the top-level fields of a protobuf in b[*pos..n), as far as they
 * are complete: false at a field no protobuf has (field number 0, a group
 * or reserved wire type, a length past CLI_ONNX_MAX). An ONNX stream that
 * is garbage (/dev/zero, a CSV) is so refused after a few bytes instead of
 * being read whole. */
#define PB_FIELD_MAX 536870911u /* 2^29 - 1 */
static bool pb_walk(const unsigned char *b, size_t n, size_t *pos)
{
    for (;;) {
        size_t p = *pos;
        uint64_t tag = 0, len = 0;
        int k = pb_varint(b + p, n - p, &tag);
        if (k < 0 || (k > 0 && (tag >> 3 == 0 || tag >> 3 > PB_FIELD_MAX)))
            return false;
        if (k == 0) return true;
        p += (size_t)k;
        switch (tag & 7) {
        case 0: k = pb_varint(b + p, n - p, &len); len = 0; break;
        case 1: k = 0; len = 8; break;
        case 5: k = 0; len = 4; break;
        case 2: k = pb_varint(b + p, n - p, &len); break;
        default: return false;
        }
        if (k < 0 || len > CLI_ONNX_MAX) return false;
        if (k == 0 && (tag & 7) != 1 && (tag & 7) != 5) return true;
        if (len > n - p - (size_t)k) return true; /* not all read yet */
        *pos = p + (size_t)k + (size_t)len;
    }
}

/* Reads the model stream whole. One starting like libnn's format but not
 * with its magic stops after 8 bytes; an ONNX one stops where pb_walk
 * finds it is no protobuf, or past CLI_ONNX_MAX bytes. */
static int read_model_stream(stream *s, int *kind, unsigned char **buf,
                             size_t *len)
{
    size_t cap = 65536, n = 0, walked = 0;
    unsigned char *b = malloc(cap);
    if (!b) return cli_error("out of memory");
    for (;;) {
        if (n == cap) {
            unsigned char *nb = cap <= SIZE_MAX / 2 ? realloc(b, 2 * cap)
                                                    : NULL;
            if (!nb) {
                free(b);
                return cli_error("%s: out of memory reading the model",
                                 cli_in_shown(s->name));
            }
            b = nb;
            cap *= 2;
        }
        ssize_t k = stream_read(s, b + n, cap - n);
        if (k < 0) {
            free(b);
            return EXIT_RUNTIME;
        }
        if (k == 0) break;
        size_t before = n;
        n += (size_t)k;
        if (model_kind(b, n) == CLI_MODEL_NATIVE) {
            if (before < 8 && n >= 8 && memcmp(b, model_magic, 8) != 0)
                break; /* a bad magic: the loader says so */
            continue;
        }
        if (!pb_walk(b, n, &walked)) break; /* garbage: the loader says so */
        if (n > CLI_ONNX_MAX) {
            free(b);
            return cli_error("%s %s: more than 2 GiB, the most a protobuf "
                             "(ONNX) message may hold", s->opt,
                             cli_in_shown(s->name));
        }
    }
    if (n == 0) {
        free(b);
        return cli_error("%s %s: empty input (nothing was written to it)",
                         s->opt, cli_in_shown(s->name));
    }
    *kind = model_kind(b, n);
    *buf = b;
    *len = n;
    return 0;
}

/* The first (up to) 8 bytes of a regular file, for model_kind. */
static int peek_model(const char *opt, const char *name, int *kind)
{
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return cli_error("%s: cannot open: %s", name, strerror(errno));
    unsigned char b[8];
    ssize_t n;
    do n = read(fd, b, sizeof b);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return cli_error("%s %s: cannot read: %s", opt, name, strerror(e));
    *kind = model_kind(b, (size_t)n);
    return 0;
}

int cli_read_model_stream(const char *opt, const char *name, bool *regular,
                          int *kind, unsigned char **buf, size_t *len)
{
    int rc = stat_input(opt, name, regular);
    if (rc) return rc;
    if (*regular) return peek_model(opt, name, kind);
    stream st;
    if ((rc = open_stream(&st, opt, name))) return rc;
    rc = read_model_stream(&st, kind, buf, len);
    close_stream(&st);
    return rc;
}

/* ------------------------------------------------------------ outputs */
/* Follows symlinks from `path` to the file an output really names (which
 * may not exist yet): *out is malloc'ed. Relative link targets are taken
 * relative to the link's directory. */
static int follow_links(const char *opt, const char *path, char **out)
{
    char *p = malloc(strlen(path) + 1);
    if (!p) return cli_error("out of memory");
    strcpy(p, path);
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(p, &sb) != 0 || !S_ISLNK(sb.st_mode)) break;
        char link[PATH_MAX];
        ssize_t n = hops < 40 ? readlink(p, link, sizeof link - 1) : -1;
        if (n < 0) {
            int e = hops < 40 ? errno : ELOOP;
            free(p);
            return cli_error("%s %s: cannot follow the link: %s", opt, path,
                             strerror(e));
        }
        link[n] = '\0';
        const char *slash = strrchr(p, '/');
        size_t dir = link[0] != '/' && slash ? (size_t)(slash - p) + 1 : 0;
        char *q = malloc(dir + (size_t)n + 1);
        if (!q) {
            free(p);
            return cli_error("out of memory");
        }
        memcpy(q, p, dir);
        memcpy(q + dir, link, (size_t)n + 1);
        free(p);
        p = q;
    }
    *out = p;
    return 0;
}

/* The directory part of path (malloc'ed): "." when it has no slash. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (!slash) memcpy(d, ".", 1);
    else memcpy(d, slash == path ? "/" : path, n);
    d[n] = '\0';
    return d;
}

/* A new file: its directory must exist and be writable; its identity is
 * the canonical directory + its name (two outputs of the same name). */
static int prepare_new(cli_out *o)
{
    char *dir = dir_of(o->target);
    if (!dir) return cli_error("out of memory");
    struct stat sb;
    int rc = 0;
    if (stat(dir, &sb) != 0)
        rc = cli_error("%s: cannot write %s: directory %s: %s", o->opt,
                       o->dest, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        rc = cli_error("%s: cannot write %s: %s is not a directory", o->opt,
                       o->dest, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = cli_error("%s: cannot write %s: directory %s: %s", o->opt,
                       o->dest, dir, strerror(errno));
    char *real = rc ? NULL : realpath(dir, NULL);
    free(dir);
    if (rc) return rc;
    if (!real) return cli_error("%s %s: %s", o->opt, o->dest, strerror(errno));
    const char *slash = strrchr(o->target, '/');
    const char *base = slash ? slash + 1 : o->target;
    o->id_path = malloc(strlen(real) + strlen(base) + 2);
    if (o->id_path)
        sprintf(o->id_path, "%s/%s", real, base);
    free(real);
    return o->id_path ? 0 : cli_error("out of memory");
}

/* A character device or FIFO: opened now, without O_TRUNC or O_CREAT, and
 * written in place. A FIFO gets FIFO_WAIT_MS to find a reader (ENXIO). */
static int prepare_direct(cli_out *o)
{
    int fd = -1;
    for (long waited = 0;; waited += 50) {
        fd = open(o->target, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0 || errno != ENXIO || waited >= FIFO_WAIT_MS) break;
        sleep_ms(50);
    }
    if (fd < 0 && errno == ENXIO)
        return cli_error("%s %s: a FIFO with no reader (waited %d s)", o->opt,
                         o->dest, FIFO_WAIT_MS / 1000);
    if (fd < 0)
        return cli_error("%s %s: cannot open: %s", o->opt, o->dest,
                         strerror(errno));
    if (set_blocking(fd) != 0) {
        int e = errno;
        close(fd);
        return cli_error("%s %s: %s", o->opt, o->dest, strerror(e));
    }
    o->fd = fd;
    return 0;
}

int cli_out_prepare(cli_out *o, const char *opt, const char *dest)
{
    memset(o, 0, sizeof *o);
    o->opt = opt;
    o->dest = dest;
    o->fd = -1;
    int rc = cli_check_path(opt, dest);
    if (rc) return rc;
    struct stat sb;
    if (!strcmp(dest, "-")) {
        o->kind = OUT_STDOUT;
        if (fstat(STDOUT_FILENO, &sb) == 0 && S_ISREG(sb.st_mode)) {
            o->exists = true;
            o->dev = sb.st_dev;
            o->ino = sb.st_ino;
        }
        return 0;
    }
    if ((rc = follow_links(opt, dest, &o->target))) return rc;
    if (stat(o->target, &sb) != 0) {
        if (errno != ENOENT)
            return cli_error("%s %s: %s", opt, dest, strerror(errno));
        o->kind = OUT_ATOMIC;
        return prepare_new(o);
    }
    o->exists = true;
    o->dev = sb.st_dev;
    o->ino = sb.st_ino;
    o->mode = sb.st_mode;
    if (S_ISDIR(sb.st_mode))
        return cli_error("%s: %s is a directory", opt, dest);
    if (S_ISREG(sb.st_mode)) {
        o->kind = OUT_ATOMIC;
        return prepare_new(o);
    }
    if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
        o->kind = OUT_DIRECT;
        return prepare_direct(o);
    }
    return cli_error("%s %s: not a regular file, character device or FIFO: "
                     "refusing to write there", opt, dest);
}

/* A temporary file beside the target (ATOMIC) or in $TMPDIR, created with
 * the target's mode (or 0666 minus the umask); *path malloc'ed. */
static int make_temp(cli_out *o)
{
    const char *slash = strrchr(o->target ? o->target : "", '/');
    const char *tdir = getenv("TMPDIR");
    if (!tdir || !*tdir) tdir = "/tmp";
    char *dir = o->kind == OUT_ATOMIC ? dir_of(o->target) : NULL;
    const char *base = o->kind != OUT_ATOMIC ? "nn-output"
                       : slash ? slash + 1 : o->target;
    if (o->kind == OUT_ATOMIC && !dir) return cli_error("out of memory");
    if (strlen(base) > 200) base = "nn-output"; /* keep within NAME_MAX */
    const char *d = dir ? dir : tdir;
    size_t n = strlen(d) + strlen(base) + 16;
    o->tmp = malloc(n);
    if (o->tmp) snprintf(o->tmp, n, "%s/%s.tmp.XXXXXX", d, base);
    free(dir);
    if (!o->tmp) return cli_error("out of memory");
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return cli_error("%s %s: cannot create a temporary file: %s", o->opt,
                         o->dest, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    mode_t mode = o->exists && o->kind == OUT_ATOMIC ? (o->mode & 07777)
                                                    : (0666 & ~um);
    if (fchmod(fd, mode) != 0) { /* not fatal: the file stays 0600 */ }
    close(fd);
    return 0;
}

int cli_out_open(cli_out *o)
{
    if (o->kind == OUT_STDOUT) {
        o->f = stdout;
        return 0;
    }
    if (o->kind == OUT_DIRECT) {
        o->f = fdopen(o->fd, "w");
        if (!o->f) return cli_error("%s %s: %s", o->opt, o->dest,
                                    strerror(errno));
        o->fd = -1;
        return 0;
    }
    int rc = make_temp(o);
    if (rc) return rc;
    o->f = fopen(o->tmp, "w");
    if (!o->f)
        return cli_error("%s: cannot write: %s", o->dest, strerror(errno));
    return 0;
}

int cli_out_temp_path(cli_out *o, const char **path)
{
    int rc = make_temp(o);
    if (rc) return rc;
    *path = o->tmp;
    return 0;
}

/* Copies the temporary file (written by another program) into o->f. */
static int copy_temp(cli_out *o)
{
    int fd = open(o->tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    char buf[65536];
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)k, o->f) != (size_t)k) break;
    int e = k < 0 ? errno : ferror(o->f) ? (errno ? errno : EIO) : 0;
    close(fd);
    return e;
}

static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) return errno;
    int e = fsync(fd) != 0 && errno != EINVAL ? errno : 0;
    close(fd);
    return e;
}

/* ATOMIC: flush and sync the temporary, rename it over the target, sync the
 * directory so the rename survives a crash. */
static int commit_atomic(cli_out *o)
{
    int e = 0;
    if (o->f) {
        if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
        if (!e && fsync(fileno(o->f)) != 0 && errno != EINVAL) e = errno;
        if (fclose(o->f) != 0 && !e) e = errno;
        o->f = NULL;
    } else {
        e = sync_path(o->tmp, O_RDONLY);
    }
    if (!e && rename(o->tmp, o->target) != 0) e = errno;
    if (e) return e;
    free(o->tmp);
    o->tmp = NULL;
    char *dir = dir_of(o->target);
    if (dir) sync_path(dir, O_RDONLY); /* best effort */
    free(dir);
    return 0;
}

int cli_out_commit(cli_out *o)
{
    int e = 0;
    if (o->kind == OUT_ATOMIC) {
        e = commit_atomic(o);
    } else {
        if (!o->f && (e = cli_out_open(o))) return e;
        if (o->tmp) e = copy_temp(o);
        errno = 0;
        if (fflush(o->f) != 0 || ferror(o->f)) e = e ? e : errno ? errno : EIO;
        if (o->kind == OUT_DIRECT && fclose(o->f) != 0 && !e) e = errno;
        o->f = NULL;
    }
    if (e) {
        cli_out_free(o);
        if (o->kind == OUT_STDOUT)
            return cli_error("%s: writing to standard output failed: %s",
                             o->opt, strerror(e));
        return cli_error("%s %s: cannot write: %s", o->opt, o->dest,
                         strerror(e));
    }
    cli_out_free(o);
    return 0;
}

void cli_out_free(cli_out *o)
{
    if (o->f && o->f != stdout) fclose(o->f);
    o->f = NULL;
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    free(o->target);
    o->target = NULL;
    free(o->id_path);
    o->id_path = NULL;
}

int cli_out_write(cli_out *o, const void *buf, size_t n)
{
    int rc = cli_out_open(o);
    if (rc) return rc;
    if (n && fwrite(buf, 1, n, o->f) != n) {
        int e = errno ? errno : EIO;
        cli_out_free(o);
        return cli_error("%s %s: cannot write: %s", o->opt, o->dest,
                         strerror(e));
    }
    return cli_out_commit(o);
}

/* ------------------------------------------------------------ collisions */
/* Identity of an input for the collision check (false: none to compare:
 * missing, or stdin that is not a regular file). */
static bool input_id(const char *name, dev_t *dev, ino_t *ino)
{
    struct stat sb;
    int r = strcmp(name, "-") ? stat(name, &sb) : fstat(STDIN_FILENO, &sb);
    if (r != 0 || (!strcmp(name, "-") && !S_ISREG(sb.st_mode))) return false;
    *dev = sb.st_dev;
    *ino = sb.st_ino;
    return true;
}

static bool same_output(const cli_out *a, const cli_out *b)
{
    if (a->kind == OUT_STDOUT || b->kind == OUT_STDOUT)
        return a->kind == b->kind ||
               (a->exists && b->exists && a->dev == b->dev &&
                a->ino == b->ino);
    if (a->exists != b->exists) return false;
    if (!a->exists) return !strcmp(a->id_path, b->id_path);
    /* writing a device twice destroys nothing (-o /dev/null twice) */
    return a->dev == b->dev && a->ino == b->ino && !S_ISCHR(a->mode);
}

int cli_check_files(const char *cmd, const cli_file *in, size_t n_in,
                    cli_out *const *out, size_t n_out)
{
    for (size_t i = 0; i < n_in; i++)
        for (size_t j = i + 1; j < n_in; j++)
            if (!strcmp(in[i].name, "-") && !strcmp(in[j].name, "-"))
                return cli_usage_error(cmd, "%s - and %s -: standard input "
                                       "can be read only once", in[i].opt,
                                       in[j].opt);
    for (size_t j = 0; j < n_out; j++) {
        for (size_t k = j + 1; k < n_out; k++)
            if (same_output(out[j], out[k]))
                return cli_usage_error(cmd, "%s %s and %s %s name the same "
                                       "file", out[j]->opt, out[j]->dest,
                                       out[k]->opt, out[k]->dest);
        if (!out[j]->exists) continue;
        for (size_t i = 0; i < n_in; i++) {
            dev_t dev;
            ino_t ino;
            if (input_id(in[i].name, &dev, &ino) && dev == out[j]->dev &&
                ino == out[j]->ino && !S_ISCHR(out[j]->mode))
                return cli_usage_error(cmd, "%s %s is the same file as %s "
                                       "%s: refusing to overwrite an input",
                                       out[j]->opt,
                                       out[j]->kind == OUT_STDOUT
                                           ? "(standard output)"
                                           : out[j]->dest,
                                       in[i].opt, cli_in_shown(in[i].name));
        }
    }
    return 0;
}
