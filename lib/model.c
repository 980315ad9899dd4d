/* model.c — model files: a network (and optionally its optimizer) saved to
 * and loaded from a file or a memory buffer. The format is described field by
 * field in docs/FORMAT.md; in short:
 *
 *   header (32 bytes): magic[8], version u32, reserved u32 (0),
 *                      payload_len u64, payload_crc u32, header_crc u32
 *   payload:           n_in u64, n_layers u64, loss u32, flags u32,
 *                      n_layers x {n_out u64, act u32, reserved u32 (0),
 *                                  act_param f64, dropout f64},
 *                      dropout rng u64[4], n_params u64, params f64[n_params],
 *                      [optimizer: kind u32, decoupled u32, lr, momentum,
 *                       beta1, beta2, eps, weight_decay, clip_norm (f64),
 *                       steps u64, state_len u64, state f64[state_len]]
 *
 * Every value is little-endian and written byte by byte (never a raw struct);
 * doubles are their IEEE-754 bits, so a round trip is bitwise.
 *
 * Loading trusts nothing: the magic and version come first (a newer version is
 * NN_ERR_UNSUPPORTED), then the header CRC, then payload_len against the real
 * size, then the payload CRC; then every count is checked against the bytes
 * that remain, with overflow-checked arithmetic, before anything is allocated,
 * so an allocation is never larger than a small multiple of the input's size.
 * The architecture and the optimizer settings are validated by nn_net_create
 * and nn_optim_create themselves (a refusal there is NN_ERR_FORMAT).
 *
 * Saving to a file is atomic: the bytes go to PATH.tmp.XXXXXX in the same
 * directory (created O_EXCL, mode 0666 minus the umask, like fopen), which is
 * written, fsync'ed, closed and renamed over PATH; the directory is then
 * fsync'ed (best effort). Any failure removes the temporary file and leaves
 * PATH as it was. */
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

#define HEADER_BYTES 32
#define PAYLOAD_FIXED 24  /* n_in, n_layers, loss, flags          */
#define LAYER_BYTES 32    /* n_out, act, reserved, act_param, p   */
#define RNG_BYTES 32      /* 4 x u64                              */
#define OPT_FIXED 80      /* kind .. state_len                    */
#define FLAG_OPTIM 1u     /* payload flags: an optimizer follows  */
/* Files larger than this are refused before anything is read (16 GiB: two
 * billion parameters with nothing else). The file's real length bounds every
 * allocation anyway; this only keeps a stray huge file from being read whole. */
#define MAX_FILE_BYTES ((uint64_t)1 << 34)

static const unsigned char MAGIC[8] = {0x89, 'N', 'N', 'M',
                                       '\r', '\n', 0x1A, '\n'};

/* ------------------------------------------------------------ errors */
static void set_err(nn_error_info *err, const char *name, size_t offset,
                    const char *fmt, ...)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", name ? name : "");
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ bytes */
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double x)
{
    uint64_t v;
    memcpy(&v, &x, sizeof v);
    put_u64(p, v);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = get_u64(p);
    double x;
    memcpy(&x, &v, sizeof x);
    return x;
}

/* zlib's crc32 over any length (it takes an unsigned int per call). */
static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* ------------------------------------------------------------ saving */
/* Total size of the model file of net (+ opt), or 0 if it overflows. */
static size_t model_bytes(const nn_net_t *net, const nn_optim_t *opt)
{
    size_t n = HEADER_BYTES + PAYLOAD_FIXED + RNG_BYTES + 8, t;
    if (!nn__mul(nn_net_n_layers(net), LAYER_BYTES, &t) || !nn__add(n, t, &n) ||
        !nn__mul(nn__net_n_params(net), 8, &t) || !nn__add(n, t, &n))
        return 0;
    if (opt) {
        if (!nn__add(n, OPT_FIXED, &n) ||
            !nn__mul(nn_optim_state_len(opt), 8, &t) || !nn__add(n, t, &n))
            return 0;
    }
    return n;
}

/* Write the whole model (total bytes, from model_bytes) to out. */
static void encode(const nn_net_t *net, const nn_optim_t *opt,
                   unsigned char *out, size_t total)
{
    unsigned char *p = out + HEADER_BYTES;
    size_t layers = nn_net_n_layers(net);
    nn_loss loss = NN_LOSS_MSE;
    nn_net_get_loss(net, &loss);
    put_u64(p, nn_net_n_in(net));
    put_u64(p + 8, layers);
    put_u32(p + 16, (uint32_t)loss);
    put_u32(p + 20, opt ? FLAG_OPTIM : 0);
    p += PAYLOAD_FIXED;
    for (size_t l = 0; l < layers; l++) {
        nn_layer_spec s;
        nn_net_get_layer_spec(net, l, &s);
        put_u64(p, s.n_out);
        put_u32(p + 8, (uint32_t)s.act);
        put_u32(p + 12, 0);
        put_f64(p + 16, s.act_param);
        put_f64(p + 24, s.dropout);
        p += LAYER_BYTES;
    }
    nn_rng r;
    nn__net_get_drop_rng(net, &r);
    for (int i = 0; i < 4; i++) put_u64(p + 8 * i, r.s[i]);
    p += RNG_BYTES;
    put_u64(p, nn__net_n_params(net));
    p += 8;
    /* the flat parameter array, layer by layer: W then b */
    for (size_t l = 0; l < layers; l++) {
        const nn_layer *L = nn__net_layer(net, l, NULL);
        size_t nw = L->n_in * L->n_out;
        for (size_t i = 0; i < nw; i++, p += 8) put_f64(p, L->W[i]);
        for (size_t i = 0; i < L->n_out; i++, p += 8) put_f64(p, L->b[i]);
    }
    if (opt) {
        nn_optim_config c;
        nn_optim_get_config(opt, &c);
        put_u32(p, (uint32_t)c.kind);
        put_u32(p + 4, c.decoupled ? 1u : 0u);
        put_f64(p + 8, c.lr);
        put_f64(p + 16, c.momentum);
        put_f64(p + 24, c.beta1);
        put_f64(p + 32, c.beta2);
        put_f64(p + 40, c.eps);
        put_f64(p + 48, c.weight_decay);
        put_f64(p + 56, c.clip_norm);
        put_u64(p + 64, nn__optim_steps(opt));
        size_t len = nn_optim_state_len(opt);
        put_u64(p + 72, len);
        p += OPT_FIXED;
        const double *st = nn__optim_state(opt);
        for (size_t i = 0; i < len; i++, p += 8) put_f64(p, st[i]);
    }
    size_t payload = total - HEADER_BYTES;
    memcpy(out, MAGIC, sizeof MAGIC);
    put_u32(out + 8, NN_MODEL_FORMAT_VERSION);
    put_u32(out + 12, 0);
    put_u64(out + 16, payload);
    put_u32(out + 24, crc_of(out + HEADER_BYTES, payload));
    put_u32(out + 28, crc_of(out, 28));
}

/* Common argument checks of the savers: opt must belong to net. */
static nn_status check_save_args(const nn_net_t *net, const nn_optim_t *opt,
                                 size_t *total)
{
    if (!net) return NN_ERR_INVALID;
    if (opt && !nn__optim_fits(opt, net)) return NN_ERR_INVALID;
    *total = model_bytes(net, opt);
    return *total ? NN_OK : NN_ERR_TOO_LARGE;
}

nn_status nn_model_save_mem(const nn_net_t *net, const nn_optim_t *opt,
                            void *buf, size_t cap, size_t *size)
{
    size_t total;
    if (!size) return NN_ERR_INVALID;
    nn_status st = check_save_args(net, opt, &total);
    if (st) return st;
    *size = total;
    if (!buf) return NN_OK;
    if (cap < total) return NN_ERR_SHAPE;
    encode(net, opt, buf, total);
    return NN_OK;
}

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
                              size_t n, const nn_allocator *al,
                              nn_error_info *err)
{
    size_t tmp_size;
    if (!nn__add(strlen(path), 16, &tmp_size)) return NN_ERR_TOO_LARGE;
    char *tmp = nn__alloc(al, tmp_size);
    if (!tmp) return NN_ERR_NOMEM;
    nn_status st = NN_OK;
    int fd = create_temp(path, tmp, tmp_size);
    if (fd < 0) {
        set_err(err, path, 0, "cannot create temporary file %s: %s", tmp,
                NN_ERRNO_TEXT(errno));
        st = NN_ERR_IO;
        goto out;
    }
    const char *what = NULL;
    if (!write_all(fd, bytes, n)) what = "cannot write";
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
        set_err(err, path, 0, "%s %s: %s", what,
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

nn_status nn_model_save(const char *path, const nn_net_t *net,
                        const nn_optim_t *opt, nn_error_info *err)
{
    size_t total;
    if (!path || !*path) return NN_ERR_INVALID;
    nn_status st = check_save_args(net, opt, &total);
    if (st) return st;
    const nn_allocator *al = nn__net_allocator(net);
    unsigned char *buf = nn__alloc(al, total);
    if (!buf) return NN_ERR_NOMEM;
    encode(net, opt, buf, total);
    st = write_atomic(path, buf, total, al, err);
    nn__free(al, buf, total);
    return st;
}

/* ------------------------------------------------------------ loading */
typedef struct {
    const unsigned char *p;
    size_t size; /* whole input, header included */
    size_t pos;
    const char *name;
    nn_error_info *err;
} reader;

static size_t left(const reader *r) { return r->size - r->pos; }

/* Fail with NN_ERR_FORMAT, describing the problem at the current offset. */
static nn_status bad(reader *r, const char *fmt, ...)
{
    if (r->err) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        set_err(r->err, r->name, r->pos, "%s", msg);
    }
    return NN_ERR_FORMAT;
}

/* Header: magic, version, header CRC, payload length, payload CRC. */
static nn_status check_header(reader *r)
{
    const unsigned char *p = r->p;
    size_t n = r->size;
    size_t k = n < sizeof MAGIC ? n : sizeof MAGIC;
    if (memcmp(p, MAGIC, k) != 0) return bad(r, "not a libnn model file");
    if (n < 12) return bad(r, "truncated header (%zu bytes)", n);
    uint32_t version = get_u32(p + 8);
    r->pos = 8;
    if (version == 0) return bad(r, "bad format version 0");
    if (version > NN_MODEL_FORMAT_VERSION) {
        set_err(r->err, r->name, 8,
                "format version %u is newer than this library's (%d)",
                (unsigned)version, NN_MODEL_FORMAT_VERSION);
        return NN_ERR_UNSUPPORTED;
    }
    if (n < HEADER_BYTES) return bad(r, "truncated header (%zu bytes)", n);
    r->pos = 28;
    if (get_u32(p + 28) != crc_of(p, 28)) return bad(r, "header checksum mismatch");
    r->pos = 12;
    if (get_u32(p + 12) != 0) return bad(r, "reserved header field not 0");
    uint64_t plen = get_u64(p + 16);
    r->pos = 16;
    if (plen != (uint64_t)(n - HEADER_BYTES))
        return bad(r, "%s: payload is %zu bytes, header says %llu",
                   plen > (uint64_t)(n - HEADER_BYTES) ? "truncated file"
                                                       : "trailing bytes",
                   n - HEADER_BYTES, (unsigned long long)plen);
    r->pos = 24;
    if (get_u32(p + 24) != crc_of(p + HEADER_BYTES, n - HEADER_BYTES))
        return bad(r, "payload checksum mismatch (corrupt file)");
    r->pos = HEADER_BYTES;
    return NN_OK;
}

/* A u64 count that must fit in size_t and lie in [lo, hi]. */
static nn_status read_count(reader *r, const char *what, size_t lo, size_t hi,
                            size_t *out)
{
    uint64_t v = get_u64(r->p + r->pos);
    if (v < lo || v > hi)
        return bad(r, "%s %llu out of range [%zu, %zu]", what,
                   (unsigned long long)v, lo, hi);
    *out = (size_t)v;
    r->pos += 8;
    return NN_OK;
}

/* Map a refusal of nn_net_create / nn_optim_create to the file's status. */
static nn_status creation_status(reader *r, nn_status st, const char *what)
{
    if (st == NN_ERR_NOMEM) return st;
    return bad(r, "invalid %s (%s)", what, nn_strerror(st));
}

/* Decode the architecture into specs (n_layers entries, allocated from al),
 * checking every field and the parameter count against the bytes left. */
static nn_status read_arch(reader *r, const nn_allocator *al, size_t *n_in,
                           size_t *n_layers, nn_loss *loss, uint32_t *flags,
                           nn_layer_spec **specs_out, size_t *specs_bytes)
{
    if (left(r) < PAYLOAD_FIXED) return bad(r, "truncated payload");
    nn_status st = read_count(r, "n_in", 1, SIZE_MAX, n_in);
    if (st) return st;
    size_t max_layers = (left(r) - 8 - 8) / LAYER_BYTES; /* bytes bound */
    st = read_count(r, "n_layers", 1, max_layers, n_layers);
    if (st) return st;
    uint32_t lk = get_u32(r->p + r->pos);
    if (lk > (uint32_t)NN_LOSS_SOFTMAX_CE) return bad(r, "bad loss %u", (unsigned)lk);
    *loss = (nn_loss)lk;
    r->pos += 4;
    *flags = get_u32(r->p + r->pos);
    if (*flags & ~FLAG_OPTIM) return bad(r, "unknown flags 0x%x", (unsigned)*flags);
    r->pos += 4;

    size_t bytes;
    if (!nn__mul(*n_layers, sizeof(nn_layer_spec), &bytes))
        return bad(r, "n_layers too large");
    nn_layer_spec *specs = nn__alloc(al, bytes);
    if (!specs) return NN_ERR_NOMEM;
    for (size_t l = 0; l < *n_layers; l++) {
        nn_layer_spec *s = &specs[l];
        st = read_count(r, "n_out", 1, SIZE_MAX, &s->n_out);
        if (st) goto fail;
        uint32_t act = get_u32(r->p + r->pos);
        if (act > (uint32_t)NN_ACT_SOFTMAX) {
            st = bad(r, "layer %zu: bad activation %u", l, (unsigned)act);
            goto fail;
        }
        s->act = (nn_activation)act;
        r->pos += 4;
        if (get_u32(r->p + r->pos) != 0) {
            st = bad(r, "layer %zu: reserved field not 0", l);
            goto fail;
        }
        r->pos += 4;
        s->act_param = get_f64(r->p + r->pos);
        s->dropout = get_f64(r->p + r->pos + 8);
        r->pos += 16;
    }
    *specs_out = specs;
    *specs_bytes = bytes;
    return NN_OK;
fail:
    nn__free(al, specs, bytes);
    return st;
}

/* Parameters implied by the architecture, or false on overflow. */
static bool count_params(size_t n_in, size_t n_layers,
                         const nn_layer_spec *specs, size_t *np)
{
    size_t prev = n_in, total = 0, t;
    for (size_t l = 0; l < n_layers; l++) {
        if (!nn__mul(prev, specs[l].n_out, &t) || !nn__add(total, t, &total) ||
            !nn__add(total, specs[l].n_out, &total))
            return false;
        prev = specs[l].n_out;
    }
    *np = total;
    return true;
}

/* The optimizer section (r at its start): settings, steps, state. Creates
 * the optimizer for net; *opt is set on NN_OK. */
static nn_status read_optim(reader *r, nn_net_t *net, const nn_allocator *al,
                            nn_optim_t **opt)
{
    if (left(r) < OPT_FIXED) return bad(r, "truncated optimizer section");
    const size_t start = r->pos;
    const unsigned char *p = r->p + start;
    uint32_t kind = get_u32(p), dec = get_u32(p + 4);
    if (kind > (uint32_t)NN_OPTIM_ADAM)
        return bad(r, "bad optimizer kind %u", (unsigned)kind);
    r->pos = start + 4;
    if (dec > 1) return bad(r, "bad decoupled flag %u", (unsigned)dec);
    nn_optim_config c = {.kind = (nn_optim_kind)kind,
                         .lr = get_f64(p + 8),
                         .momentum = get_f64(p + 16),
                         .beta1 = get_f64(p + 24),
                         .beta2 = get_f64(p + 32),
                         .eps = get_f64(p + 40),
                         .weight_decay = get_f64(p + 48),
                         .decoupled = dec != 0,
                         .clip_norm = get_f64(p + 56)};
    uint64_t steps = get_u64(p + 64);
    r->pos = start + 72;
    size_t len = 0;
    nn_status st = read_count(r, "optimizer state_len", 0,
                              (left(r) - 8) / 8, &len);
    if (st) return st;
    if (left(r) != len * 8)
        return bad(r, "%zu bytes after the optimizer state", left(r) - len * 8);
    /* the state is now bounded by the input's length */
    r->pos = start;
    nn_optim_t *o = NULL;
    st = nn_optim_create(&o, net, &c, al);
    if (st) return creation_status(r, st, "optimizer settings");
    r->pos = start + 72;
    size_t want = nn_optim_state_len(o);
    if (want != len) {
        nn_optim_destroy(o);
        return bad(r, "optimizer state_len %zu, expected %zu", len, want);
    }
    r->pos = start + OPT_FIXED;
    double *s = nn__optim_state_mut(o);
    for (size_t i = 0; i < len; i++, r->pos += 8) {
        s[i] = get_f64(r->p + r->pos);
        /* Adam's second moments (the second half) are sums of squares: a
         * negative one can only come from corruption, and would turn the next
         * step into NaN. NaN/Inf are kept: a diverged run stays loadable. */
        if (c.kind == NN_OPTIM_ADAM && i >= len / 2 && s[i] < 0.0) {
            nn_optim_destroy(o);
            return bad(r, "negative Adam second moment at state[%zu]", i);
        }
    }
    nn__optim_set_steps(o, steps);
    *opt = o;
    return NN_OK;
}

/* Parse and validate a whole model; on NN_OK, *net_out (and *opt_out if
 * requested) hold new objects. */
static nn_status load_bytes(const unsigned char *buf, size_t size,
                            const char *name, nn_net_t **net_out,
                            nn_optim_t **opt_out, const nn_allocator *user,
                            nn_error_info *err)
{
    reader r = {.p = buf, .size = size, .pos = 0, .name = name, .err = err};
    nn_status st = check_header(&r);
    if (st) return st;

    nn_allocator al;
    nn__allocator_init(&al, user);
    size_t n_in = 0, n_layers = 0, specs_bytes = 0, np = 0;
    nn_loss loss = NN_LOSS_MSE;
    uint32_t flags = 0;
    nn_layer_spec *specs = NULL;
    st = read_arch(&r, &al, &n_in, &n_layers, &loss, &flags, &specs,
                   &specs_bytes);
    if (st) return st;

    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_rng rng;
    if (left(&r) < RNG_BYTES + 8) {
        st = bad(&r, "truncated payload");
        goto fail;
    }
    for (int i = 0; i < 4; i++) rng.s[i] = get_u64(r.p + r.pos + 8 * i);
    if ((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0) {
        st = bad(&r, "dropout generator state is all zero");
        goto fail;
    }
    r.pos += RNG_BYTES;
    if (!count_params(n_in, n_layers, specs, &np) ||
        (uint64_t)np != get_u64(r.p + r.pos)) {
        st = bad(&r, "n_params %llu does not match the architecture",
                 (unsigned long long)get_u64(r.p + r.pos));
        goto fail;
    }
    r.pos += 8;
    if (np > left(&r) / 8) {
        st = bad(&r, "%zu parameters do not fit in the %zu bytes left", np,
                 left(&r));
        goto fail;
    }
    /* Every size is now bounded by the input's length: build the net. */
    st = nn_net_create(&net, n_in, n_layers, specs, loss, &al);
    if (st) {
        r.pos = HEADER_BYTES;
        st = creation_status(&r, st, "architecture");
        net = NULL;
        goto fail;
    }
    nn__net_set_drop_rng(net, &rng);
    double *params = nn__net_params(net);
    for (size_t i = 0; i < np; i++, r.pos += 8)
        params[i] = get_f64(r.p + r.pos);

    if (flags & FLAG_OPTIM) {
        st = read_optim(&r, net, &al, &opt);
        if (st) goto fail;
    } else if (left(&r) != 0) {
        st = bad(&r, "%zu unexpected bytes after the parameters", left(&r));
        goto fail;
    }
    nn__free(&al, specs, specs_bytes);
    *net_out = net;
    if (opt_out) *opt_out = opt;
    else nn_optim_destroy(opt);
    return NN_OK;
fail:
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn__free(&al, specs, specs_bytes);
    return st;
}

static bool alloc_ok(const nn_allocator *alloc)
{
    return !alloc || (alloc->alloc && alloc->free);
}

nn_status nn_model_load_mem(const void *buf, size_t size, nn_net_t **net,
                            nn_optim_t **opt, const nn_allocator *alloc,
                            nn_error_info *err)
{
    if (!net || (!buf && size > 0) || !alloc_ok(alloc)) return NN_ERR_INVALID;
    if (size == 0) {
        set_err(err, "", 0, "empty input");
        return NN_ERR_FORMAT;
    }
    return load_bytes(buf, size, "", net, opt, alloc, err);
}

nn_status nn_model_load(const char *path, nn_net_t **net, nn_optim_t **opt,
                        const nn_allocator *alloc, nn_error_info *err)
{
    if (!path || !net || !alloc_ok(alloc)) return NN_ERR_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, path, 0, "cannot open: %s", NN_ERRNO_TEXT(errno));
        return NN_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        set_err(err, path, 0, "cannot stat: %s", NN_ERRNO_TEXT(errno));
        close(fd);
        return NN_ERR_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        set_err(err, path, 0, "not a regular file");
        close(fd);
        return NN_ERR_IO;
    }
    if (sb.st_size <= 0 || (uint64_t)sb.st_size > MAX_FILE_BYTES ||
        (uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        set_err(err, path, 0, sb.st_size <= 0 ? "empty file"
                                              : "file too large (%lld bytes)",
                (long long)sb.st_size);
        close(fd);
        return NN_ERR_FORMAT;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    unsigned char *buf = nn__alloc(&al, size);
    if (!buf) {
        close(fd);
        return NN_ERR_NOMEM;
    }
    while (got < size) {
        size_t want = size - got > ((size_t)1 << 30) ? ((size_t)1 << 30)
                                                     : size - got;
        ssize_t k = read(fd, buf + got, want);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            set_err(err, path, got, "read error: %s", NN_ERRNO_TEXT(errno));
            nn__free(&al, buf, size);
            close(fd);
            return NN_ERR_IO;
        }
        if (k == 0) break; /* the file shrank: parse what is there */
        got += (size_t)k;
    }
    close(fd);
    nn_status st = load_bytes(buf, got, path, net, opt, alloc, err);
    nn__free(&al, buf, size);
    return st;
}
