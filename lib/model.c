/* model.c — model files: a network (and optionally its optimizer) saved to
 * and loaded from a file or a memory buffer. The format is described field by
 * field in docs/FORMAT.md; in short (version 3):
 *
 *   header (32 bytes): magic[8], version u32, reserved u32 (0),
 *                      payload_len u64, payload_crc u32, header_crc u32
 *   payload:           n_in u64, n_layers u64, loss u32, flags u32,
 *                      n_layers x {n_out u64, act u32, kind u32 (dense: 0),
 *                                  act_param f64, dropout f64},
 *                      reduction u32, check_finite u32, dropout_seed u64,
 *                      dropout_step u64, reserved u64[3] (0),
 *                      n_params u64, params f64[n_params],
 *                      [input scaler], [target scaler]:
 *                        {kind u32, reserved u32 (0), n u64,
 *                         offsets f64[n], scales f64[n]},
 *                      [optimizer: kind u32, decoupled u32, lr, momentum,
 *                       beta1, beta2, eps, weight_decay, clip_norm (f64),
 *                       steps u64, state_len u64, state f64[state_len]]
 *                      [training progress (a checkpoint, flags bit 3, with
 *                       an optimizer only): epoch, batch, rows u64,
 *                       loss_sum f64, step u64, lr f64, best_epoch u64,
 *                       best_val f64, bad u64, final_loss f64,
 *                       fp_settings, fp_data, n_params, reserved (0),
 *                       n_best u64, best f64[n_best]]
 *
 * Version 1 (libnn 0.x) is the same without the settings before the rng
 * (it loads as reduction mean, check-finite off, dropout seed 0 with the
 * saved generator state), without scalers, and with the layer kind written
 * as a reserved 0. Flags: bit 0 an optimizer follows, bit 1 an input scaler,
 * bit 2 a target scaler (bits 1-2 from version 2), bit 3 a training
 * progress after the optimizer (version 3). Version 2 is version 3
 * with a sequential generator's state in place of dropout_step and the
 * reserved words; versions 1 and 2 load with the dropout stream at pass 0
 * of their seed (masks are counter-based since version 3).
 *
 * Every value is little-endian and written byte by byte (never a raw struct);
 * doubles are their IEEE-754 bits, so a round trip is bitwise.
 *
 * Loading trusts nothing: the 32-byte header is read and checked first
 * (magic, version -- a newer one is NN_ERR_UNSUPPORTED --, header CRC,
 * payload_len against the file's real size), so a file that is not a model
 * is refused after 32 bytes; then the payload is read (a regular file's at
 * once, its size being known; a stream's -- FIFO, pipe -- in a buffer that
 * doubles only as bytes arrive), then the payload CRC; then every count is
 * checked against the bytes that remain, with overflow-checked arithmetic,
 * before anything is allocated, so an allocation is never larger than a
 * small multiple of the input's size. Opening uses O_NONBLOCK so that a FIFO
 * without a writer reads as an empty file instead of blocking forever.
 * The network is rebuilt through the public spec API (nn_netspec_*,
 * nn_net_create) and the optimizer through nn_optim_create and its keys, so
 * their own validation applies (a refusal there is NN_ERR_FORMAT naming the
 * field).
 *
 * Saving to a file (nn__save_file, lib/file.c, shared with the ONNX writer)
 * replaces a regular file atomically (temporary file, fsync, rename), writes
 * a device, FIFO or socket directly and refuses a directory. */
#define _POSIX_C_SOURCE 200809L

#include "nn_private.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_BYTES 32
#define PAYLOAD_FIXED 24  /* n_in, n_layers, loss, flags              */
#define LAYER_BYTES 32    /* n_out, act, kind, act_param, p           */
#define RNG_BYTES 32      /* 4 x u64                                  */
#define SETTINGS_BYTES 16 /* v2: reduction, check_finite, drop seed   */
#define SCALER_FIXED 16   /* kind, reserved, n                        */
#define OPT_FIXED 80      /* kind .. state_len                        */
#define FLAG_OPTIM 1u     /* payload flags: an optimizer follows      */
#define FLAG_SCALER_IN 2u /* v2: an input scaler follows the params   */
#define FLAG_SCALER_OUT 4u /* v2: a target scaler follows             */
#define FLAG_PROGRESS 8u  /* v3: a training progress follows the optimizer */
#define PROG_FIXED 120    /* epoch .. n_best                          */
#define PROG_FLAGS_AT 52  /* the offset of flags, for messages        */
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
    nn__copy_path(err->file, sizeof err->file, name ? name : "");
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
static const int32_t ROLES[2] = {NN_SCALER_INPUT, NN_SCALER_TARGET};
static const uint32_t ROLE_FLAGS[2] = {FLAG_SCALER_IN, FLAG_SCALER_OUT};
static const char *const ROLE_NAMES[2] = {"input scaler", "target scaler"};

/* Total size of the model file of net (+ opt), or 0 if it overflows. */
static size_t model_bytes(const nn_net_t *net, const nn_optim_t *opt)
{
    size_t n = HEADER_BYTES + PAYLOAD_FIXED + SETTINGS_BYTES + RNG_BYTES + 8;
    size_t t;
    if (!nn__mul(nn_net_n_layers(net), LAYER_BYTES, &t) || !nn__add(n, t, &n) ||
        !nn__mul(nn_net_n_params(net), 8, &t) || !nn__add(n, t, &n))
        return 0;
    for (int i = 0; i < 2; i++) {
        const nn_scaler_t *s = nn_net_get_scaler(net, ROLES[i]);
        if (s && (!nn__mul(nn_scaler_n(s), 16, &t) || !nn__add(n, t, &n) ||
                  !nn__add(n, SCALER_FIXED, &n)))
            return 0;
    }
    if (opt) {
        if (!nn__add(n, OPT_FIXED, &n) ||
            !nn__mul(nn_optim_state_len(opt), 8, &t) || !nn__add(n, t, &n))
            return 0;
    }
    return n;
}

/* The keyed getters cannot fail on a valid object and key; a default keeps
 * the encoder total anyway. */
static int64_t net_int(const nn_net_t *net, int32_t key)
{
    int64_t v = 0;
    nn_net_get_int(net, key, &v);
    return v;
}

static uint32_t payload_flags(const nn_net_t *net, const nn_optim_t *opt)
{
    uint32_t f = opt ? FLAG_OPTIM : 0;
    for (int i = 0; i < 2; i++)
        if (nn_net_get_scaler(net, ROLES[i])) f |= ROLE_FLAGS[i];
    return f;
}

/* n_in .. the layer records. */
static unsigned char *encode_arch(unsigned char *p, const nn_net_t *net,
                                  uint32_t flags)
{
    size_t layers = nn_net_n_layers(net);
    put_u64(p, nn_net_n_in(net));
    put_u64(p + 8, layers);
    put_u32(p + 16, (uint32_t)net_int(net, NN_NET_LOSS));
    put_u32(p + 20, flags);
    p += PAYLOAD_FIXED;
    for (size_t l = 0; l < layers; l++) {
        int64_t act = 0, kind = 0;
        double slope = 0, drop = 0;
        nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &act);
        nn_net_get_layer_int(net, l, NN_LAYER_KIND, &kind);
        nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &slope);
        nn_net_get_layer_real(net, l, NN_LAYER_DROPOUT, &drop);
        put_u64(p, nn_net_layer_n_out(net, l));
        put_u32(p + 8, (uint32_t)act);
        put_u32(p + 12, (uint32_t)kind);
        put_f64(p + 16, slope);
        put_f64(p + 24, drop);
        p += LAYER_BYTES;
    }
    return p;
}

/* Settings, dropout generator, the flat parameter array. live: the
 * progress of a run in progress (NULL otherwise), whose reduction at the
 * call is saved (a sharded run sums meanwhile). */
static unsigned char *encode_state(unsigned char *p, const nn_net_t *net,
                                   const nn__progress *live)
{
    uint64_t seed = 0, step = 0;
    nn__net_get_drop_state(net, &seed, &step);
    put_u32(p, live ? (uint32_t)live->reduction
                    : (uint32_t)net_int(net, NN_NET_REDUCTION));
    put_u32(p + 4, (uint32_t)net_int(net, NN_NET_CHECK_FINITE));
    put_u64(p + 8, seed);
    p += SETTINGS_BYTES;
    put_u64(p, step);
    for (int i = 1; i < 4; i++) put_u64(p + 8 * i, 0); /* reserved */
    p += RNG_BYTES;
    size_t np = nn_net_n_params(net);
    put_u64(p, np);
    p += 8;
    /* nn_net_params is the mutable view; encoding only reads it */
    const double *w = nn_net_params((nn_net_t *)net);
    for (size_t i = 0; i < np; i++, p += 8) put_f64(p, w[i]);
    return p;
}

static unsigned char *encode_scaler(unsigned char *p, const nn_scaler_t *s)
{
    nn_scale_kind kind = NN_SCALE_CUSTOM;
    nn_scaler_get_kind(s, &kind);
    size_t n = nn_scaler_n(s);
    put_u32(p, (uint32_t)kind);
    put_u32(p + 4, 0);
    put_u64(p + 8, n);
    p += SCALER_FIXED;
    const double *off = nn__scaler_offsets(s), *sc = nn__scaler_scales(s);
    for (size_t j = 0; j < n; j++, p += 8) put_f64(p, off[j]);
    for (size_t j = 0; j < n; j++, p += 8) put_f64(p, sc[j]);
    return p;
}

/* The optimizer's real keys, in file order after kind and decoupled. */
static const int32_t OPT_REAL_KEYS[7] = {
    NN_OPTIM_LR, NN_OPTIM_MOMENTUM_COEF, NN_OPTIM_BETA1, NN_OPTIM_BETA2,
    NN_OPTIM_EPS, NN_OPTIM_WEIGHT_DECAY, NN_OPTIM_CLIP_NORM};
static const char *const OPT_REAL_NAMES[7] = {
    "lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "clip_norm"};

/* live as for encode_state: its base rate is saved, not the rate the
 * schedule set for the last step (nn_train restores it at its end too). */
static unsigned char *encode_optim(unsigned char *p, const nn_optim_t *opt,
                                   const nn__progress *live)
{
    int64_t kind = 0, dec = 0;
    nn_optim_get_int(opt, NN_OPTIM_KIND, &kind);
    nn_optim_get_int(opt, NN_OPTIM_DECOUPLED, &dec);
    put_u32(p, (uint32_t)kind);
    put_u32(p + 4, dec ? 1u : 0u);
    for (int i = 0; i < 7; i++) {
        double v = 0;
        nn_optim_get_real(opt, OPT_REAL_KEYS[i], &v);
        if (live && OPT_REAL_KEYS[i] == NN_OPTIM_LR) v = live->lr0;
        put_f64(p + 8 + 8 * i, v);
    }
    /* the exact count (NN_OPTIM_STEPS saturates at INT64_MAX) */
    put_u64(p + 64, nn__optim_steps(opt));
    size_t len = nn_optim_state_len(opt);
    put_u64(p + 72, len);
    p += OPT_FIXED;
    const double *st = nn__optim_state(opt);
    for (size_t i = 0; i < len; i++, p += 8) put_f64(p, st[i]);
    return p;
}

/* The training progress section (PROG_FIXED + 8 n_best bytes). */
static void encode_progress(unsigned char *p, const nn__progress *g)
{
    const uint64_t w[] = {g->epoch, g->batch, g->rows};
    for (int i = 0; i < 3; i++) put_u64(p + 8 * i, w[i]);
    put_f64(p + 24, g->loss_sum);
    put_u64(p + 32, g->step);
    put_f64(p + 40, g->lr);
    put_u64(p + 48, g->best_epoch);
    put_f64(p + 56, g->best_val);
    put_u64(p + 64, g->bad);
    put_f64(p + 72, g->final_loss);
    put_u64(p + 80, g->fp_settings);
    put_u64(p + 88, g->fp_data);
    put_u64(p + 96, g->n_params);
    put_u64(p + 104, 0); /* reserved */
    put_u64(p + 112, g->n_best);
    p += PROG_FIXED;
    for (uint64_t i = 0; i < g->n_best; i++, p += 8) put_f64(p, g->best[i]);
}

/* Write the whole model (total bytes, from model_bytes and, with a
 * progress g, progress_bytes) to out; live: g is a running run's. */
static void encode(const nn_net_t *net, const nn_optim_t *opt,
                   const nn__progress *g, bool live, unsigned char *out,
                   size_t total)
{
    uint32_t flags = payload_flags(net, opt) | (g ? FLAG_PROGRESS : 0);
    const nn__progress *over = live ? g : NULL;
    unsigned char *p = encode_arch(out + HEADER_BYTES, net, flags);
    p = encode_state(p, net, over);
    for (int i = 0; i < 2; i++) {
        const nn_scaler_t *s = nn_net_get_scaler(net, ROLES[i]);
        if (s) p = encode_scaler(p, s);
    }
    if (opt) p = encode_optim(p, opt, over);
    if (g) encode_progress(p, g);
    size_t payload = total - HEADER_BYTES;
    memcpy(out, MAGIC, sizeof MAGIC);
    put_u32(out + 8, NN_MODEL_FORMAT_VERSION);
    put_u32(out + 12, 0);
    put_u64(out + 16, payload);
    put_u32(out + 24, crc_of(out + HEADER_BYTES, payload));
    put_u32(out + 28, crc_of(out, 28));
}

/* Common argument checks of the savers: opt must fit net. */
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
    encode(net, opt, NULL, false, buf, total);
    return NN_OK;
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
    encode(net, opt, NULL, false, buf, total);
    st = nn__save_file(path, buf, total, al, err);
    nn__free(al, buf, total);
    return st;
}

/* ------------------------------------------------------------ checkpoints */
/* The checkpoint savers' checks: net and opt as for a model (opt
 * required), the trainer's progress (*g; *live: a running run's) of net's
 * parameter count; *total the bytes of the whole file. */
static nn_status checkpoint_args(const nn_net_t *net, const nn_optim_t *opt,
                                 const nn_trainer_t *tr, nn__progress *g,
                                 bool *live, size_t *total)
{
    if (!net || !opt || !tr) return NN_ERR_INVALID;
    size_t t, b;
    nn_status st = check_save_args(net, opt, &t);
    if (st) return st;
    if (!nn__trainer_progress(tr, g, live)) return NN_ERR_STATE;
    if (g->n_params != (uint64_t)nn_net_n_params(net)) return NN_ERR_INVALID;
    /* n_best is 0 or n_params, which fits */
    if (!nn__mul((size_t)g->n_best, 8, &b) || !nn__add(b, PROG_FIXED, &b) ||
        !nn__add(t, b, total))
        return NN_ERR_TOO_LARGE;
    return NN_OK;
}

nn_status nn_checkpoint_save_mem(const nn_net_t *net, const nn_optim_t *opt,
                                 const nn_trainer_t *trainer, void *buf,
                                 size_t cap, size_t *size)
{
    nn__progress g;
    bool live = false;
    size_t total;
    if (!size) return NN_ERR_INVALID;
    nn_status st = checkpoint_args(net, opt, trainer, &g, &live, &total);
    if (st) return st;
    *size = total;
    if (!buf) return NN_OK;
    if (cap < total) return NN_ERR_SHAPE;
    encode(net, opt, &g, live, buf, total);
    return NN_OK;
}

nn_status nn_checkpoint_save(const char *path, const nn_net_t *net,
                             const nn_optim_t *opt,
                             const nn_trainer_t *trainer, nn_error_info *err)
{
    nn__progress g;
    bool live = false;
    size_t total;
    if (!path || !*path) return NN_ERR_INVALID;
    nn_status st = checkpoint_args(net, opt, trainer, &g, &live, &total);
    if (st) return st;
    const nn_allocator *al = nn__net_allocator(net);
    unsigned char *buf = nn__alloc(al, total);
    if (!buf) return NN_ERR_NOMEM;
    encode(net, opt, &g, live, buf, total);
    st = nn__save_file(path, buf, total, al, err);
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
    uint32_t version; /* of the input, once check_header has read it */
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

/* What an input that is not a model looks like, from its first n bytes. */
static const char *not_model_hint(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B)
        return ": it looks like gzip data (model files are not compressed)";
    if (n >= 4 && p[0] == 0 && p[1] == 0 && p[3] != 0 &&
        (p[2] == 0x08 || p[2] == 0x09 || (p[2] >= 0x0B && p[2] <= 0x0E)))
        return ": it looks like an IDX file";
    for (size_t i = 0; i < n && i < 8; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return "";
    return ": it looks like text (a CSV file?)";
}

/* The header's own fields, from the first `have` bytes of an input of
 * `total` bytes (SIZE_MAX: a stream of unknown length): magic, version,
 * header CRC, reserved, payload_len against the real length. Enough to
 * refuse a file that is not a model after reading 32 bytes. *plen receives
 * payload_len. */
static nn_status check_head(reader *r, size_t have, size_t total,
                            uint64_t *plen)
{
    const unsigned char *p = r->p;
    size_t k = have < sizeof MAGIC ? have : sizeof MAGIC;
    if (memcmp(p, MAGIC, k) != 0)
        return bad(r, "not a libnn model file%s", not_model_hint(p, have));
    if (have < 12) return bad(r, "truncated header (%zu bytes)", have);
    uint32_t version = get_u32(p + 8);
    r->pos = 8;
    if (version == 0) return bad(r, "bad format version 0");
    if (version > NN_MODEL_FORMAT_VERSION) {
        set_err(r->err, r->name, 8,
                "format version %u is newer than this library's (%d)",
                (unsigned)version, NN_MODEL_FORMAT_VERSION);
        return NN_ERR_UNSUPPORTED;
    }
    r->version = version;
    if (have < HEADER_BYTES) return bad(r, "truncated header (%zu bytes)", have);
    r->pos = 28;
    if (get_u32(p + 28) != crc_of(p, 28)) return bad(r, "header checksum mismatch");
    r->pos = 12;
    if (get_u32(p + 12) != 0) return bad(r, "reserved header field not 0");
    *plen = get_u64(p + 16);
    r->pos = 16;
    if (*plen > MAX_FILE_BYTES - HEADER_BYTES || *plen > SIZE_MAX - HEADER_BYTES)
        return bad(r, "payload_len %llu is over the 16 GiB limit",
                   (unsigned long long)*plen);
    if (total != SIZE_MAX && *plen != (uint64_t)(total - HEADER_BYTES))
        return bad(r, "%s: payload is %zu bytes, header says %llu",
                   *plen > (uint64_t)(total - HEADER_BYTES) ? "truncated file"
                                                            : "trailing bytes",
                   total - HEADER_BYTES, (unsigned long long)*plen);
    return NN_OK;
}

/* Header (check_head over the whole input), then the payload CRC. */
static nn_status check_header(reader *r)
{
    uint64_t plen;
    nn_status st = check_head(r, r->size, r->size, &plen);
    if (st) return st;
    r->pos = 24;
    if (get_u32(r->p + 24) != crc_of(r->p + HEADER_BYTES, r->size - HEADER_BYTES))
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

/* ------------------------------------------------------------ architecture */
/* One layer record (r at its start), added to spec; *prev is the layer's
 * input width and becomes its output width, *np accumulates the parameter
 * count the architecture implies (overflow-checked). */
static nn_status read_layer(reader *r, nn_netspec_t *spec, size_t l,
                            size_t *prev, size_t *np)
{
    const size_t start = r->pos;
    char what[48];
    snprintf(what, sizeof what, "layer %zu n_out", l);
    size_t n_out = 0, t;
    nn_status st = read_count(r, what, 1, SIZE_MAX, &n_out);
    if (st) return st;
    uint32_t act = get_u32(r->p + r->pos);
    if (act > (uint32_t)NN_ACT_SOFTMAX)
        return bad(r, "layer %zu: bad activation %u", l, (unsigned)act);
    r->pos += 4;
    uint32_t kind = get_u32(r->p + r->pos);
    if (kind != (uint32_t)NN_LAYER_DENSE)
        return bad(r, r->version == 1 ? "layer %zu: reserved field %u not 0"
                                      : "layer %zu: unknown layer kind %u",
                   l, (unsigned)kind);
    r->pos += 4;
    double slope = get_f64(r->p + r->pos), drop = get_f64(r->p + r->pos + 8);
    if (!nn__mul(*prev, n_out, &t) || !nn__add(*np, t, np) ||
        !nn__add(*np, n_out, np)) {
        r->pos = start;
        return bad(r, "layer %zu: parameter count overflows", l);
    }
    *prev = n_out;
    r->pos = start;
    st = nn_netspec_add_dense(spec, n_out, (nn_activation)act);
    if (st) {
        snprintf(what, sizeof what, "layer %zu shape", l);
        return creation_status(r, st, what);
    }
    r->pos = start + 16;
    /* 0.x wrote any finite act_param for the activations that ignore it;
     * only a version-2 file or a leaky relu must hold a valid slope */
    st = nn_netspec_set_real(spec, l, NN_LAYER_ACT_PARAM, slope);
    if (st && (r->version >= 2 || act == (uint32_t)NN_ACT_LEAKY_RELU))
        return st == NN_ERR_NOMEM ? st
                                  : bad(r, "layer %zu: bad act_param %g", l,
                                        slope);
    r->pos = start + 24;
    st = nn_netspec_set_real(spec, l, NN_LAYER_DROPOUT, drop);
    if (st) return bad(r, "layer %zu: bad dropout %g", l, drop);
    r->pos = start + LAYER_BYTES;
    return NN_OK;
}

/* n_in .. the layer records into a new spec (*spec_out); *np receives the
 * parameter count they imply. */
static nn_status read_arch(reader *r, const nn_allocator *al,
                           nn_netspec_t **spec_out, uint32_t *flags,
                           size_t *np)
{
    if (left(r) < PAYLOAD_FIXED) return bad(r, "truncated payload");
    size_t n_in = 0, n_layers = 0;
    nn_status st = read_count(r, "n_in", 1, SIZE_MAX, &n_in);
    if (st) return st;
    size_t max_layers = (left(r) - 16) / LAYER_BYTES; /* bytes bound */
    st = read_count(r, "n_layers", 1, max_layers, &n_layers);
    if (st) return st;
    uint32_t lk = get_u32(r->p + r->pos);
    if (lk > (uint32_t)NN_LOSS_SOFTMAX_CE)
        return bad(r, "bad loss %u", (unsigned)lk);
    r->pos += 4;
    *flags = get_u32(r->p + r->pos);
    uint32_t known = r->version == 1
                         ? FLAG_OPTIM
                         : FLAG_OPTIM | FLAG_SCALER_IN | FLAG_SCALER_OUT;
    if (r->version >= 3) known |= FLAG_PROGRESS;
    if (*flags & ~known)
        return bad(r, "unknown flags 0x%x", (unsigned)*flags);
    if ((*flags & FLAG_PROGRESS) && !(*flags & FLAG_OPTIM))
        return bad(r, "flags 0x%x: a training progress (bit 3) needs an "
                   "optimizer (bit 0)", (unsigned)*flags);
    r->pos = HEADER_BYTES;
    nn_netspec_t *spec = NULL;
    st = nn_netspec_create(&spec, n_in, (nn_loss)lk, al);
    if (st) return creation_status(r, st, "n_in");
    r->pos = HEADER_BYTES + PAYLOAD_FIXED;
    size_t prev = n_in;
    *np = 0;
    for (size_t l = 0; l < n_layers && !st; l++)
        st = read_layer(r, spec, l, &prev, np);
    if (st) {
        nn_netspec_destroy(spec);
        return st;
    }
    *spec_out = spec;
    return NN_OK;
}

/* The dropout position: version 3's pass count and three reserved zero
 * words; versions 1 and 2 held a sequential generator's state (not all
 * zero), which counter-based masks cannot continue: the stream restarts at
 * pass 0 of the seed (docs/FORMAT.md). */
static nn_status read_drop_step(reader *r, uint64_t *step)
{
    const unsigned char *p = r->p + r->pos;
    uint64_t w1 = get_u64(p + 8), w2 = get_u64(p + 16), w3 = get_u64(p + 24);
    *step = 0;
    if (r->version >= 3) {
        *step = get_u64(p);
        if ((w1 | w2 | w3) != 0) return bad(r, "dropout reserved words not 0");
        if (*step > (uint64_t)INT64_MAX)
            return bad(r, "dropout step %llu out of range",
                       (unsigned long long)*step);
    } else if ((get_u64(p) | w1 | w2 | w3) == 0) {
        return bad(r, "dropout generator state is all zero");
    }
    r->pos += RNG_BYTES;
    return NN_OK;
}

/* Version 2's network settings (into spec), then the dropout position;
 * version 1 has only the position (seed 0). */
static nn_status read_settings(reader *r, nn_netspec_t *spec, uint64_t *seed,
                               uint64_t *step)
{
    size_t need = RNG_BYTES + 8 + (r->version >= 2 ? SETTINGS_BYTES : 0);
    if (left(r) < need) return bad(r, "truncated payload");
    *seed = 0;
    if (r->version >= 2) {
        uint32_t red = get_u32(r->p + r->pos);
        if (nn_netspec_set_int(spec, NN_NET_WIDE, NN_NET_REDUCTION, red))
            return bad(r, "bad reduction %u", (unsigned)red);
        r->pos += 4;
        uint32_t cf = get_u32(r->p + r->pos);
        if (nn_netspec_set_int(spec, NN_NET_WIDE, NN_NET_CHECK_FINITE, cf))
            return bad(r, "bad check_finite %u", (unsigned)cf);
        r->pos += 4;
        *seed = get_u64(r->p + r->pos);
        r->pos += 8;
    }
    return read_drop_step(r, step);
}

/* n_params (checked against the architecture's np and the bytes left),
 * then the parameters into net. */
static nn_status check_n_params(reader *r, size_t np)
{
    uint64_t claimed = get_u64(r->p + r->pos);
    if (claimed != (uint64_t)np)
        return bad(r, "n_params %llu does not match the architecture (%zu)",
                   (unsigned long long)claimed, np);
    r->pos += 8;
    if (np > left(r) / 8)
        return bad(r, "%zu parameters do not fit in the %zu bytes left", np,
                   left(r));
    return NN_OK;
}

static void read_params(reader *r, nn_net_t *net, size_t np)
{
    double *w = nn_net_params(net);
    for (size_t i = 0; i < np; i++, r->pos += 8) w[i] = get_f64(r->p + r->pos);
}

/* ------------------------------------------------------------ scalers */
/* Index of the first offset or scale a scaler cannot hold, or n. */
static size_t first_bad_scaler_value(size_t n, const double *off,
                                     const double *sc)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(off[j]) || !isfinite(sc[j]) || sc[j] == 0.0) return j;
    return n;
}

/* Decode n offsets and n scales (r after the scaler's n) and attach the
 * scaler to net under ROLES[i]. */
static nn_status attach_scaler(reader *r, nn_net_t *net, int i,
                               nn_scale_kind kind, size_t n,
                               const nn_allocator *al)
{
    size_t bytes;
    if (!nn__mul(n, 2 * sizeof(double), &bytes)) return NN_ERR_TOO_LARGE;
    double *v = nn__alloc(al, bytes);
    if (!v) return NN_ERR_NOMEM;
    for (size_t j = 0; j < 2 * n; j++)
        v[j] = get_f64(r->p + r->pos + 8 * j);
    nn_status st = NN_OK;
    size_t b = first_bad_scaler_value(n, v, v + n);
    nn_scaler_t *s = NULL;
    if (b < n) {
        r->pos += 8 * b;
        st = bad(r, "%s: column %zu has offset %g, scale %g (finite, scale "
                 "non-zero expected)", ROLE_NAMES[i], b, v[b], v[n + b]);
    }
    if (!st) st = nn__scaler_make(&s, kind, n, v, v + n, al);
    if (!st) st = nn_net_set_scaler(net, ROLES[i], s);
    if (st && st != NN_ERR_NOMEM && st != NN_ERR_FORMAT)
        st = bad(r, "%s refused (%s)", ROLE_NAMES[i], nn_strerror(st));
    if (!st) r->pos += 16 * n;
    nn_scaler_destroy(s);
    nn__free(al, v, bytes);
    return st;
}

/* A scaler section (r at its start) for role ROLES[i]. */
static nn_status read_scaler(reader *r, nn_net_t *net, int i,
                             const nn_allocator *al)
{
    const char *name = ROLE_NAMES[i];
    if (left(r) < SCALER_FIXED) return bad(r, "truncated %s", name);
    uint32_t kind = get_u32(r->p + r->pos);
    if (kind > (uint32_t)NN_SCALE_CUSTOM)
        return bad(r, "%s: bad kind %u", name, (unsigned)kind);
    r->pos += 4;
    if (get_u32(r->p + r->pos) != 0)
        return bad(r, "%s: reserved field not 0", name);
    r->pos += 4;
    char what[32];
    snprintf(what, sizeof what, "%s n", name);
    size_t n = 0;
    nn_status st = read_count(r, what, 1, (left(r) - 8) / 16, &n);
    if (st) return st;
    size_t want = ROLES[i] == NN_SCALER_INPUT ? nn_net_n_in(net)
                                              : nn_net_n_out(net);
    if (n != want) {
        r->pos -= 8;
        return bad(r, "%s has %zu columns, the network %zu %s", name, n, want,
                   ROLES[i] == NN_SCALER_INPUT ? "inputs" : "outputs");
    }
    return attach_scaler(r, net, i, (nn_scale_kind)kind, n, al);
}

/* ------------------------------------------------------------ optimizer */
/* Whether a real key (index into OPT_REAL_KEYS) drives updates of `kind`:
 * a version-1 file may hold anything in the others (0.x ignored them). */
static bool key_used(uint32_t kind, int i)
{
    int32_t key = OPT_REAL_KEYS[i];
    if (key == NN_OPTIM_MOMENTUM_COEF)
        return kind == NN_OPTIM_MOMENTUM || kind == NN_OPTIM_NESTEROV;
    if (key == NN_OPTIM_BETA1 || key == NN_OPTIM_BETA2 || key == NN_OPTIM_EPS)
        return kind == NN_OPTIM_ADAM;
    return true;
}

/* Set the settings (p: the section's start) on o through its keys. */
static nn_status set_optim_keys(reader *r, nn_optim_t *o, uint32_t kind,
                                const size_t start)
{
    const unsigned char *p = r->p + start;
    for (int i = 0; i < 7; i++) {
        double v = get_f64(p + 8 + 8 * i);
        if (nn_optim_set_real(o, OPT_REAL_KEYS[i], v) == NN_OK) continue;
        if (r->version == 1 && !key_used(kind, i)) continue;
        r->pos = start + 8 + 8 * (size_t)i;
        return bad(r, "optimizer %s %g out of range", OPT_REAL_NAMES[i], v);
    }
    if (nn_optim_set_int(o, NN_OPTIM_DECOUPLED, get_u32(p + 4))) {
        r->pos = start + 4;
        return bad(r, "bad optimizer decoupled flag %u",
                   (unsigned)get_u32(p + 4));
    }
    return NN_OK;
}

/* The raw state (r at its start), bit for bit: NaN/Inf are kept so that a
 * diverged run stays loadable. Adam's second moments (the second half) are
 * sums of squares: a negative one can only come from corruption, and would
 * turn the next step into NaN. */
static nn_status read_optim_state(reader *r, nn_optim_t *o, uint32_t kind,
                                  size_t len)
{
    double *s = nn__optim_state_mut(o);
    for (size_t i = 0; i < len; i++, r->pos += 8) {
        double v = get_f64(r->p + r->pos);
        if (kind == NN_OPTIM_ADAM && i >= len / 2 && v < 0.0)
            return bad(r, "negative Adam second moment at state[%zu]", i);
        s[i] = v;
    }
    return NN_OK;
}

/* The optimizer section (r at its start): settings, steps, state. Creates
 * the optimizer for net; *opt is set on NN_OK. last: nothing may follow
 * (else a progress section does). */
static nn_status read_optim(reader *r, nn_net_t *net, const nn_allocator *al,
                            bool last, nn_optim_t **opt)
{
    if (left(r) < OPT_FIXED) return bad(r, "truncated optimizer section");
    const size_t start = r->pos;
    uint32_t kind = get_u32(r->p + start);
    if (kind > (uint32_t)NN_OPTIM_ADAM)
        return bad(r, "bad optimizer kind %u", (unsigned)kind);
    uint64_t steps = get_u64(r->p + start + 64);
    r->pos = start + 72;
    size_t len = 0;
    nn_status st = read_count(r, "optimizer state_len", 0,
                              (left(r) - 8) / 8, &len);
    if (st) return st;
    if (last && left(r) != len * 8)
        return bad(r, "%zu bytes after the optimizer state", left(r) - len * 8);
    /* the state is now bounded by the input's length */
    r->pos = start;
    nn_optim_t *o = NULL;
    st = nn_optim_create(&o, net, (nn_optim_kind)kind, al);
    if (st) return creation_status(r, st, "optimizer kind");
    st = set_optim_keys(r, o, kind, start);
    r->pos = start + 72;
    if (!st && nn_optim_state_len(o) != len)
        st = bad(r, "optimizer state_len %zu, expected %zu", len,
                 nn_optim_state_len(o));
    r->pos = start + OPT_FIXED;
    if (!st) st = read_optim_state(r, o, kind, len);
    if (st) {
        nn_optim_destroy(o);
        return st;
    }
    nn__optim_set_steps(o, steps);
    *opt = o;
    return NN_OK;
}

/* ------------------------------------------------------------ progress */
/* A training progress being read: for a checkpoint load, the trainer that
 * receives it (NULL: nn_model_load, which validates and ignores it) and the
 * best copy, allocated through the trainer's allocator. */
typedef struct prog_load {
    nn_trainer_t *tr;
    nn__progress g;
    void *mem;
    size_t bytes;
} prog_load;

/* The u64 / f64 at byte `at` of the input, r->pos set there (messages). */
static uint64_t u64_at(reader *r, size_t at)
{
    r->pos = at;
    return get_u64(r->p + at);
}

static double f64_at(reader *r, size_t at)
{
    r->pos = at;
    return get_f64(r->p + at);
}

/* The counts must fit the trainer's (int64 result keys, size_t). */
#define PROG_COUNT_MAX \
    ((uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? (uint64_t)SIZE_MAX \
                                              : (uint64_t)INT64_MAX)

/* epoch, batch, rows, loss_sum, step, lr (o: the section's start). */
static nn_status read_prog_counts(reader *r, size_t o, nn__progress *g)
{
    static const char *const names[3] = {"epoch", "batch", "rows"};
    uint64_t *w[3] = {&g->epoch, &g->batch, &g->rows};
    for (int i = 0; i < 3; i++)
        if ((*w[i] = u64_at(r, o + 8 * (size_t)i)) > PROG_COUNT_MAX)
            return bad(r, "progress %s %llu out of range", names[i],
                       (unsigned long long)*w[i]);
    if ((g->batch == 0) != (g->rows == 0) || g->rows < g->batch)
        return bad(r, "progress: %llu rows in %llu batches",
                   (unsigned long long)g->rows, (unsigned long long)g->batch);
    g->loss_sum = f64_at(r, o + 24);
    if (g->rows == 0 && get_u64(r->p + o + 24) != 0)
        return bad(r, "progress loss sum %g with no rows", g->loss_sum);
    g->step = u64_at(r, o + 32);
    if (g->step > PROG_COUNT_MAX || g->step < g->batch ||
        (g->epoch == 0 ? g->step != g->batch
                       : g->step < g->epoch + g->batch))
        return bad(r, "progress step %llu does not fit epoch %llu batch %llu",
                   (unsigned long long)g->step, (unsigned long long)g->epoch,
                   (unsigned long long)g->batch);
    g->lr = f64_at(r, o + 40);
    if (g->step == 0 ? get_u64(r->p + o + 40) != 0
                     : !(g->lr > 0.0 && isfinite(g->lr)))
        return bad(r, "progress lr %g out of range after %llu steps", g->lr,
                   (unsigned long long)g->step);
    return NN_OK;
}

/* best_epoch, best_val, bad, final_loss: the early-stopping state. */
static nn_status read_prog_best(reader *r, size_t o, nn__progress *g)
{
    g->best_epoch = u64_at(r, o + 48);
    if (g->best_epoch > g->epoch)
        return bad(r, "progress best epoch %llu after epoch %llu",
                   (unsigned long long)g->best_epoch,
                   (unsigned long long)g->epoch);
    g->best_val = f64_at(r, o + 56);
    if (g->best_epoch == 0 ? g->best_val != INFINITY
                           : isnan(g->best_val) || g->best_val == INFINITY)
        return bad(r, "progress best val loss %g with best epoch %llu",
                   g->best_val, (unsigned long long)g->best_epoch);
    g->bad = u64_at(r, o + 64);
    if (g->bad > g->epoch - g->best_epoch)
        return bad(r, "progress: %llu epochs without improvement after epoch "
                   "%llu", (unsigned long long)g->bad,
                   (unsigned long long)g->best_epoch);
    g->final_loss = f64_at(r, o + 72);
    if (g->epoch == 0 && !isnan(g->final_loss))
        return bad(r, "progress final loss %g before any epoch ended",
                   g->final_loss);
    return NN_OK;
}

/* Fingerprints, n_params, reserved, n_best and the bytes left. */
static nn_status read_prog_sizes(reader *r, size_t o, const nn_net_t *net,
                                 nn__progress *g)
{
    const size_t np = nn_net_n_params(net);
    g->fp_settings = u64_at(r, o + 80);
    g->fp_data = u64_at(r, o + 88);
    g->n_params = u64_at(r, o + 96);
    if (g->n_params != (uint64_t)np)
        return bad(r, "progress n_params %llu, the network has %zu",
                   (unsigned long long)g->n_params, np);
    if (u64_at(r, o + 104) != 0)
        return bad(r, "progress reserved field not 0");
    g->n_best = u64_at(r, o + 112);
    if (g->n_best != 0 && g->n_best != (uint64_t)np)
        return bad(r, "progress n_best %llu (0 or n_params %zu expected)",
                   (unsigned long long)g->n_best, np);
    if (g->n_best && g->best_epoch == 0)
        return bad(r, "progress holds best parameters but no best epoch");
    r->pos = o + PROG_FIXED;
    if (left(r) / 8 < g->n_best)
        return bad(r, "truncated training progress: %llu best parameters "
                   "in %zu bytes", (unsigned long long)g->n_best, left(r));
    if (left(r) != 8 * (size_t)g->n_best)
        return bad(r, "%zu bytes after the training progress",
                   left(r) - 8 * (size_t)g->n_best);
    return NN_OK;
}

/* The progress section (r at its start), every field checked; for a
 * checkpoint load, the best copy decoded into memory of pl->tr's. */
static nn_status read_progress(reader *r, const nn_net_t *net, prog_load *pl)
{
    if (left(r) < PROG_FIXED) return bad(r, "truncated training progress");
    const size_t o = r->pos;
    nn__progress *g = &pl->g;
    memset(g, 0, sizeof *g);
    nn_status st = read_prog_counts(r, o, g);
    if (!st) st = read_prog_best(r, o, g);
    if (!st) st = read_prog_sizes(r, o, net, g);
    if (st || !pl->tr || !g->n_best) return st;
    pl->bytes = 8 * (size_t)g->n_best; /* bounded by the input's length */
    double *b = nn__alloc(nn__trainer_allocator(pl->tr), pl->bytes);
    if (!b) return NN_ERR_NOMEM;
    for (size_t i = 0; i < g->n_best; i++, r->pos += 8)
        b[i] = get_f64(r->p + r->pos);
    pl->mem = b;
    g->best = b;
    return NN_OK;
}

/* ------------------------------------------------------------ whole model */
/* Everything after the parameters: the scalers the flags announce, then the
 * optimizer (and the training progress) or the end of the input. */
static nn_status read_tail(reader *r, nn_net_t *net, uint32_t flags,
                           const nn_allocator *al, nn_optim_t **opt,
                           prog_load *pl)
{
    for (int i = 0; i < 2; i++) {
        if (!(flags & ROLE_FLAGS[i])) continue;
        nn_status st = read_scaler(r, net, i, al);
        if (st) return st;
    }
    const bool prog = (flags & FLAG_PROGRESS) != 0;
    if (flags & FLAG_OPTIM) {
        nn_status st = read_optim(r, net, al, !prog, opt);
        return st || !prog ? st : read_progress(r, net, pl);
    }
    if (left(r) != 0)
        return bad(r, "%zu unexpected bytes after the %s", left(r),
                   flags ? "scalers" : "parameters");
    return NN_OK;
}

/* The network: architecture and settings into a spec, nn_net_create, the
 * dropout generator and the parameters. */
static nn_status read_net(reader *r, const nn_allocator *al, uint32_t *flags,
                          nn_net_t **out)
{
    nn_netspec_t *spec = NULL;
    size_t np = 0;
    nn_status st = read_arch(r, al, &spec, flags, &np);
    if (st) return st;
    uint64_t seed = 0, step = 0;
    st = read_settings(r, spec, &seed, &step);
    if (!st) st = check_n_params(r, np);
    nn_net_t *net = NULL;
    if (!st) {
        /* every size is now bounded by the input's length */
        size_t at = r->pos;
        r->pos = HEADER_BYTES;
        st = nn_net_create(&net, spec, al);
        if (st) st = creation_status(r, st, "architecture");
        else r->pos = at;
    }
    nn_netspec_destroy(spec);
    if (st) return st;
    nn__net_set_drop_state(net, seed, step);
    read_params(r, net, np);
    *out = net;
    return NN_OK;
}

/* Parse and validate a whole model; on NN_OK, *net_out (and *opt_out if
 * requested) hold new objects. */
static nn_status load_bytes(const unsigned char *buf, size_t size,
                            const char *name, nn_net_t **net_out,
                            nn_optim_t **opt_out, nn_trainer_t *trainer,
                            const nn_allocator *user, nn_error_info *err)
{
    reader r = {.p = buf, .size = size, .pos = 0, .name = name, .err = err};
    nn_status st = check_header(&r);
    if (st) return st;
    nn_allocator al;
    nn__allocator_init(&al, user);
    uint32_t flags = 0;
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    prog_load pl = {.tr = trainer};
    st = read_net(&r, &al, &flags, &net);
    if (!st && trainer && !(flags & FLAG_PROGRESS)) {
        r.pos = PROG_FLAGS_AT;
        st = bad(&r, "no training progress (flags 0x%x): a model file, not "
                 "a checkpoint", (unsigned)flags);
    }
    if (!st) st = read_tail(&r, net, flags, &al, &opt, &pl);
    if (st) {
        if (pl.mem) nn__free(nn__trainer_allocator(trainer), pl.mem, pl.bytes);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        return st;
    }
    if (trainer) nn__trainer_adopt(trainer, &pl.g, pl.mem, pl.bytes);
    *net_out = net;
    if (opt_out) *opt_out = opt;
    else nn_optim_destroy(opt);
    return NN_OK;
}

nn_status nn_model_load_mem(const void *buf, size_t size, nn_net_t **net,
                            nn_optim_t **opt, const nn_allocator *alloc,
                            nn_error_info *err)
{
    if (!net || (!buf && size > 0) || !nn__allocator_valid(alloc))
        return NN_ERR_INVALID;
    if (size == 0) {
        set_err(err, "", 0, "empty input");
        return NN_ERR_FORMAT;
    }
    return load_bytes(buf, size, "", net, opt, NULL, alloc, err);
}

/* Open path for reading without waiting on a FIFO that has no writer
 * (nn__open_read). *regular tells a regular file,
 * *size its length (UINT64_MAX for anything else). Returns the descriptor or -1 (error in *err). */
static int open_model(const char *path, bool *regular, uint64_t *size,
                      nn_error_info *err)
{
    const char *what;
    int e, fd = nn__open_read(path, regular, size, &what, &e);
    if (fd < 0) set_err(err, path, 0, "%s: %s", what, NN_ERRNO_TEXT(e));
    return fd;
}

/* Read the want bytes of a model whose header (HEADER_BYTES, checked) is in
 * head into a new buffer (*buf, allocated size *cap). A regular file's
 * length was checked against the header, so its buffer is allocated at
 * once; a stream's grows by doubling only as bytes arrive, so a lying
 * header costs at most twice what was really sent. Then end of input is
 * required. *got receives the bytes present (short: truncated). */
static nn_status read_model(int fd, const unsigned char *head, size_t want,
                            bool regular, const nn_allocator *al,
                            unsigned char **buf, size_t *cap, size_t *got)
{
    size_t c = regular || want < ((size_t)1 << 16) ? want : (size_t)1 << 16;
    unsigned char *b = nn__alloc(al, c);
    if (!b) return NN_ERR_NOMEM;
    memcpy(b, head, HEADER_BYTES);
    size_t have = HEADER_BYTES, k;
    for (;;) {
        if (!nn__read_full(fd, b + have, c - have, &k)) goto io;
        have += k;
        if (have < c || have == want) break;
        size_t nc = c > want / 2 ? want : c * 2;
        unsigned char *nb = nn__alloc(al, nc);
        if (!nb) {
            nn__free(al, b, c);
            return NN_ERR_NOMEM;
        }
        memcpy(nb, b, have);
        nn__free(al, b, c);
        b = nb;
        c = nc;
    }
    unsigned char extra;
    if (have == want && !nn__read_full(fd, &extra, 1, &k)) goto io;
    *buf = b;
    *cap = c;
    *got = have == want && k ? want + 1 : have; /* one byte too many */
    return NN_OK;
io:;
    int e = errno;
    nn__free(al, b, c);
    errno = e;
    return NN_ERR_IO;
}

/* nn_model_load, and nn_checkpoint_load with a trainer. */
static nn_status load_path(const char *path, nn_net_t **net, nn_optim_t **opt,
                           nn_trainer_t *trainer, const nn_allocator *alloc,
                           nn_error_info *err)
{
    bool regular = false;
    uint64_t fsize = UINT64_MAX;
    size_t got = 0;
    int fd = open_model(path, &regular, &fsize, err);
    if (fd < 0) return NN_ERR_IO;
    unsigned char head[HEADER_BYTES];
    uint64_t plen = 0;
    nn_status st = NN_OK;
    reader r = {.p = head, .size = 0, .name = path, .err = err};
    if (regular && (fsize > MAX_FILE_BYTES || fsize >= (uint64_t)SIZE_MAX))
        st = bad(&r, "file too large (%llu bytes)", (unsigned long long)fsize);
    else if (!nn__read_full(fd, head, HEADER_BYTES, &got))
        st = NN_ERR_IO;
    else if (got == 0)
        st = bad(&r, "empty file");
    /* the header is checked before any payload is read or allocated */
    if (!st) st = check_head(&r, got, regular ? (size_t)fsize : SIZE_MAX,
                             &plen);
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    unsigned char *buf = NULL;
    size_t cap = 0, want = HEADER_BYTES + (size_t)plen;
    if (!st) st = read_model(fd, head, want, regular, &al, &buf, &cap, &got);
    if (st == NN_ERR_IO)
        set_err(err, path, got, "read error: %s", NN_ERRNO_TEXT(errno));
    close(fd);
    if (st) return st;
    if (got != want) { /* the stream ended early or ran on */
        r.pos = 16;
        st = bad(&r, "%s: payload is %s%zu bytes, header says %llu",
                 got < want ? "truncated file" : "trailing bytes",
                 got < want ? "" : "over ", got - HEADER_BYTES,
                 (unsigned long long)plen);
    } else {
        st = load_bytes(buf, got, path, net, opt, trainer, alloc, err);
    }
    nn__free(&al, buf, cap);
    return st;
}

nn_status nn_model_load(const char *path, nn_net_t **net, nn_optim_t **opt,
                        const nn_allocator *alloc, nn_error_info *err)
{
    if (!path || !net || !nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    return load_path(path, net, opt, NULL, alloc, err);
}

/* The checkpoint loaders' own checks: every out-parameter, and no run of
 * the trainer in progress (a callback replacing its progress). */
static nn_status checkpoint_load_args(nn_net_t **net, nn_optim_t **opt,
                                      const nn_trainer_t *trainer,
                                      const nn_allocator *alloc)
{
    if (!net || !opt || !trainer || !nn__allocator_valid(alloc))
        return NN_ERR_INVALID;
    return nn__trainer_running(trainer) ? NN_ERR_STATE : NN_OK;
}

nn_status nn_checkpoint_load(const char *path, nn_net_t **net,
                             nn_optim_t **opt, nn_trainer_t *trainer,
                             const nn_allocator *alloc, nn_error_info *err)
{
    nn_status st = checkpoint_load_args(net, opt, trainer, alloc);
    if (st) return st;
    if (!path) return NN_ERR_INVALID;
    return load_path(path, net, opt, trainer, alloc, err);
}

nn_status nn_checkpoint_load_mem(const void *buf, size_t size, nn_net_t **net,
                                 nn_optim_t **opt, nn_trainer_t *trainer,
                                 const nn_allocator *alloc,
                                 nn_error_info *err)
{
    nn_status st = checkpoint_load_args(net, opt, trainer, alloc);
    if (st) return st;
    if (!buf && size > 0) return NN_ERR_INVALID;
    if (size == 0) {
        set_err(err, "", 0, "empty input");
        return NN_ERR_FORMAT;
    }
    return load_bytes(buf, size, "", net, opt, trainer, alloc, err);
}
