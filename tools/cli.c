/* cli.c — messages, option and number parsing, data loading and atomic
 * output files for the `libnn` tool. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ messages */
/* Part of one line: newlines and other control characters become spaces,
 * so every message stays one line. */
/* Messages go to stderr, or into memory while held (cli_hold_messages). */
static FILE *held;
static char *held_buf;
static size_t held_len;

static FILE *msg_out(void)
{
    return held ? held : stderr;
}

static void held_close(void)
{
    if (held) fclose(held);
    free(held_buf);
    held = NULL;
    held_buf = NULL;
    held_len = 0;
}

void cli_hold_messages(bool hold)
{
    held_close();
    /* without memory for the stream, messages simply go to stderr */
    if (hold) held = open_memstream(&held_buf, &held_len);
}

bool cli_held_messages(bool print, const char *tag)
{
    if (!held) return false;
    fflush(held);
    bool any = held_len > 0;
    for (const char *p = held_buf; print && p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (tag && !strncmp(p, "libnn: ", 7)) {
            fprintf(stderr, "libnn: %s: ", tag);
            fwrite(p + 7, 1, n - 7, stderr);
        } else {
            fwrite(p, 1, n, stderr);
        }
        p += n;
    }
    if (print) fflush(stderr);
    cli_hold_messages(true);
    return any;
}

static void put_text(const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, msg_out());
    }
}

const char *cli_cap(const char *s)
{
    static char ring[4][CLI_CAP_MAX + 4];
    static unsigned next;
    if (strlen(s) <= CLI_CAP_MAX) return s;
    char *b = ring[next++ % 4];
    memcpy(b, s, CLI_CAP_MAX);
    memcpy(b + CLI_CAP_MAX, "...", 4);
    return b;
}

/* The formatted message, malloc'ed (NULL when out of memory): file names
 * are printed whole, whatever their length. */
static char *format(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *m = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (m) vsnprintf(m, (size_t)n + 1, fmt, ap);
    return m;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = format(fmt, ap);
    va_end(ap);
    const char *m = msg ? msg : "out of memory";
    fputs("libnn: ", msg_out());
    if (cmd) {
        put_text(cmd);
        put_text(": ");
    }
    put_text(m);
    if (cmd) {
        put_text(" (see 'libnn ");
        put_text(cmd);
        put_text(" --help')");
    } else {
        put_text(" (see 'libnn --help')");
    }
    fputc('\n', msg_out());
    fflush(msg_out());
    free(msg);
    return EXIT_USAGE;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = format(fmt, ap);
    va_end(ap);
    fputs("libnn: ", msg_out());
    put_text(msg ? msg : "out of memory");
    fputc('\n', msg_out());
    fflush(msg_out());
    free(msg);
    return EXIT_RUNTIME;
}

int cli_lib_error(const char *what, const char *path, nn_status st,
                  const nn_error_info *err)
{
    /* the name the user gave, whole; err->file is cut at 255 bytes and may
     * be a /dev/fd/N copy of a stream */
    const char *file = path ? cli_in_shown(path)
                       : err && err->file[0] ? err->file : NULL;
    char where[64] = "";
    if (file) {
        if (err && err->line && err->column)
            snprintf(where, sizeof where, ":%zu:%zu", err->line, err->column);
        else if (err && err->line)
            snprintf(where, sizeof where, ":%zu", err->line);
        else if (err && err->offset && st == NN_ERR_FORMAT)
            snprintf(where, sizeof where, ": byte %zu", err->offset);
    }
    return cli_error("%s%s%s%s%s%s%s%s%s", file ? file : "", where,
                     file ? ": " : "", what ? what : "", what ? ": " : "",
                     err && err->message[0] ? err->message : nn_strerror(st),
                     err && err->message[0] ? " (" : "",
                     err && err->message[0] ? nn_strerror(st) : "",
                     err && err->message[0] ? ")" : "");
}

/* ------------------------------------------------------------ options */
bool cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return false;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    }
    return false;
}

/* Optimal string alignment distance (Damerau-Levenshtein where no
 * substring is edited twice): inserting, deleting or replacing a character
 * and swapping two adjacent ones each cost 1. b is a name (< CLI_NAME_MAX
 * characters); three rows of b's width hold the table. */
#define CLI_NAME_MAX 64
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[3][CLI_NAME_MAX + 1]; /* rows i-2, i-1, i (mod 3) */
    for (size_t j = 0; j <= lb; j++) row[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = row[i % 3], *up = row[(i + 2) % 3];
        const size_t *up2 = row[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t d = up[j - 1] + (a[i - 1] != b[j - 1]);
            if (up[j] + 1 < d) d = up[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && up2[j - 2] + 1 < d)
                d = up2[j - 2] + 1;
            cur[j] = d;
        }
    }
    return row[la % 3][lb];
}

static size_t name_distance(const char *word, size_t len, const char *name)
{
    size_t n = strlen(name);
    return n < CLI_NAME_MAX ? osa_distance(word, len, name, n) : SIZE_MAX;
}

/* Appends names[k] to the list in pick[] unless it is there. */
static void pick_add(size_t *pick, size_t *n, size_t k)
{
    for (size_t i = 0; i < *n; i++)
        if (pick[i] == k) return;
    if (*n < 3) pick[(*n)++] = k;
}

const char *cli_suggest(const char *word, const char *const *names,
                        size_t n, const char *dashes, char *buf, size_t size)
{
    size_t len = strlen(word), pick[3], np = 0, prefixed = 0, first = 0;
    size_t best = SIZE_MAX;
    buf[0] = '\0';
    if (len > CLI_CAP_MAX) return buf;
    for (size_t k = 0; k < n; k++) {
        size_t lk = strlen(names[k]), d = name_distance(word, len, names[k]);
        if (lk > len && !strncmp(names[k], word, len) && !prefixed++)
            first = k;
        if (d < best) best = d;
    }
    /* an abbreviation of exactly one name first, then the nearest names */
    if (prefixed == 1 && len > 0) pick_add(pick, &np, first);
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    for (size_t k = 0; k < n && best <= limit; k++)
        if (name_distance(word, len, names[k]) == best)
            pick_add(pick, &np, k);
    if (!np) return buf;
    size_t at = (size_t)snprintf(buf, size, " (did you mean ");
    for (size_t i = 0; i < np && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s%s",
                               i == 0 ? "" : i + 1 == np ? " or " : ", ",
                               dashes, names[pick[i]]);
    if (at < size) snprintf(buf + at, size - at, "?)");
    return buf;
}

/* getopt_long's tables for one command's cli_opt table: entry i becomes
 * the long option of value CLI_LONG_BASE + i (above any character), and
 * --threads, when the table has none, the entry after the last one. */
enum { CLI_LONG_BASE = 0x1000, CLI_MAX_OPTS = 64 };
typedef struct parse_state {
    const char *cmd;
    const cli_opt *opts;
    size_t n;            /* entries of opts; threads is entry n */
    bool common_threads; /* --threads is ours, not the command's */
    size_t threads;      /* its value (0: none), set once parsing is done */
    struct option longs[CLI_MAX_OPTS + 2];
    const char *names[CLI_MAX_OPTS + 1]; /* for suggestions */
    char shorts[3 * CLI_MAX_OPTS + 3];
} parse_state;

static int parse_tables(parse_state *p)
{
    size_t s = 0;
    /* '-': positional words come back in order, as option 1 (so options
     * may follow them; POSIXLY_CORRECT changes nothing); ':': a missing
     * value comes back as ':', not '?' */
    p->shorts[s++] = '-';
    p->shorts[s++] = ':';
    p->common_threads = true;
    for (p->n = 0; p->opts[p->n].name; p->n++) {
        const cli_opt *o = &p->opts[p->n];
        if (p->n >= CLI_MAX_OPTS || strlen(o->name) >= CLI_NAME_MAX)
            return cli_usage_error(p->cmd, "internal: option table too large");
        p->longs[p->n] = (struct option){o->name, o->arg ? required_argument
                                                         : no_argument,
                                         NULL, CLI_LONG_BASE + (int)p->n};
        p->names[p->n] = o->name;
        if (!strcmp(o->name, "threads")) p->common_threads = false;
        if (o->short_name) {
            p->shorts[s++] = o->short_name;
            if (o->arg) p->shorts[s++] = ':';
        }
    }
    size_t k = p->n;
    if (p->common_threads) {
        p->longs[k] = (struct option){"threads", required_argument, NULL,
                                      CLI_LONG_BASE + (int)k};
        p->names[k++] = "threads";
    }
    p->longs[k] = (struct option){NULL, 0, NULL, 0};
    p->shorts[s] = '\0';
    return 0;
}

static size_t parse_names(const parse_state *p)
{
    return p->n + p->common_threads;
}

/* The entry --threads stands for where the command's table has none. */
static const cli_opt common_threads = {"threads", 0, true, 0};

/* The option of getopt_long's value c (a long value, or a short name). */
static const cli_opt *parse_find(const parse_state *p, int c)
{
    if (c >= CLI_LONG_BASE && (size_t)(c - CLI_LONG_BASE) < p->n)
        return &p->opts[c - CLI_LONG_BASE];
    if (c == CLI_LONG_BASE + (int)p->n && p->common_threads)
        return &common_threads;
    for (size_t i = 0; c > 0 && c < CLI_LONG_BASE && i < p->n; i++)
        if (p->opts[i].short_name == c) return &p->opts[i];
    return NULL;
}

/* The name of a "--name[=value]" word, in buf (cut to fit). */
static const char *long_name(const char *word, char *buf, size_t size)
{
    size_t n = strcspn(word + 2, "=");
    if (n >= size) n = size - 1;
    memcpy(buf, word + 2, n);
    buf[n] = '\0';
    return buf;
}

/* "unknown option": the word as typed and the nearest names. A word with
 * one dash and more letters ("-epochs") is taken for a long name. */
static int parse_unknown(const parse_state *p, const char *word, int c)
{
    char name[CLI_CAP_MAX + 8], hint[256];
    bool dashed = word[0] == '-' && word[1] == '-';
    if (!dashed && word[1] != c)
        return cli_usage_error(p->cmd, "unknown option '-%c' (in '%s')", c,
                               cli_cap(word));
    const char *typed = dashed ? long_name(word, name, sizeof name)
                               : word + 1;
    cli_suggest(typed, p->names, parse_names(p), "--", hint, sizeof hint);
    if (dashed) /* the name without its value; all of "--=3" */
        return cli_usage_error(p->cmd, "unknown option '%s%s'%s",
                               *typed ? "--" : "", cli_cap(*typed ? typed
                                                                  : word),
                               hint);
    return cli_usage_error(p->cmd, "unknown option '%s'%s", cli_cap(word),
                           word[2] ? hint : "");
}

/* getopt_long's '?': a value given to a flag, or an unknown option (an
 * unknown name, or an abbreviation of several). */
static int parse_refused(const parse_state *p, const char *word)
{
    char name[CLI_CAP_MAX + 8];
    if (word[0] == '-' && word[1] == '-' && strchr(word, '=')) {
        long_name(word, name, sizeof name);
        for (size_t i = 0; i < p->n; i++)
            if (!strcmp(p->opts[i].name, name) && !p->opts[i].arg)
                return cli_usage_error(p->cmd, "option '--%s' takes no "
                                       "value", name);
    }
    return parse_unknown(p, word, optopt);
}

/* One of getopt_long's answers c for the word at (a positional word, an
 * option, or an error). */
static int parse_one(parse_state *p, int c, const char *word, cli_opt_fn fn,
                     void *ctx)
{
    if (c == 1) return fn(ctx, NULL, optarg);
    if (c == '?') return parse_refused(p, word);
    const cli_opt *o = parse_find(p, c == ':' ? optopt : c);
    if (!o) return cli_usage_error(p->cmd, "internal: unknown option value");
    if (c == ':')
        return cli_usage_error(p->cmd, "option '--%s' needs a value",
                               o->name);
    /* getopt_long takes any unambiguous prefix ("--epo" for --epochs);
     * the names are kept exact, so that scripts stay valid when options
     * are added (docs/TOOL.md, Options) */
    char name[CLI_CAP_MAX + 8];
    if (c >= CLI_LONG_BASE &&
        strcmp(long_name(word, name, sizeof name), o->name))
        return parse_unknown(p, word, 0);
    if (o == &common_threads)
        return cli_size(p->cmd, "threads", optarg, 1, &p->threads);
    return fn(ctx, o, o->arg ? optarg : NULL);
}

/* The common --threads, once every word is read: before any work. */
static int parse_threads(const parse_state *p)
{
    nn_status st = p->threads ? nn_set_num_threads(p->threads) : NN_OK;
    if (st)
        return cli_usage_error(p->cmd, "--threads %zu: %s", p->threads,
                               nn_strerror(st));
    return 0;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_opt_fn fn, void *ctx)
{
    parse_state p = {.cmd = cmd, .opts = opts};
    int rc = parse_tables(&p);
    if (rc) return rc;
    /* getopt_long reads argv[1..]: the words go after a program name, in a
     * copy (getopt may reorder its argv) */
    char prog[] = "libnn";
    char **words = argc >= 0 && (size_t)argc < SIZE_MAX / sizeof *words - 1
                       ? malloc(((size_t)argc + 2) * sizeof *words) : NULL;
    if (!words) return cli_error("out of memory");
    words[0] = prog;
    memcpy(words + 1, argv, (size_t)argc * sizeof *words);
    words[argc + 1] = NULL;
    optind = 0; /* glibc: 0 starts afresh (a new argv, no state left) */
    opterr = 0; /* the messages are ours, one line each */
    while (!rc) {
        int at = optind > 0 ? optind : 1; /* the word getopt reads now */
        int c = getopt_long(argc + 1, words, p.shorts, p.longs, NULL);
        if (c == -1) break;
        rc = parse_one(&p, c, words[at], fn, ctx);
    }
    /* after "--" every word is positional */
    for (int i = optind; !rc && i <= argc; i++) rc = fn(ctx, NULL, words[i]);
    free(words);
    return rc ? rc : parse_threads(&p);
}

/* ------------------------------------------------------------ numbers */
int cli_double(const char *cmd, const char *opt, const char *s, double lo,
               bool lo_incl, double hi, bool hi_incl, const char *expect,
               double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    bool ok = *s && end != s && !*end && isfinite(v) && errno != ERANGE;
    if (ok && !isnan(lo)) ok = lo_incl ? v >= lo : v > lo;
    if (ok && !isnan(hi)) ok = hi_incl ? v <= hi : v < hi;
    if (!ok)
        return cli_usage_error(cmd, "--%s expects %s, got '%s'", opt, expect,
                               cli_cap(s));
    *out = v;
    return 0;
}

static bool all_digits(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    errno = 0;
    char *end;
    unsigned long long v = all_digits(s) ? strtoull(s, &end, 10) : 0;
    if (!all_digits(s) || errno == ERANGE || *end || v > UINT64_MAX)
        return cli_usage_error(cmd,
                               "--%s expects a non-negative integer, got '%s'",
                               opt, cli_cap(s));
    *out = (uint64_t)v;
    return 0;
}

int cli_size(const char *cmd, const char *opt, const char *s, size_t min,
             size_t *out)
{
    errno = 0;
    char *end = NULL;
    unsigned long long v = all_digits(s) ? strtoull(s, &end, 10) : 0;
    if (!all_digits(s) || errno == ERANGE || *end || v > SIZE_MAX ||
        v < min) {
        if (min > 0)
            return cli_usage_error(cmd, "--%s expects an integer >= %zu, "
                                   "got '%s'", opt, min, cli_cap(s));
        return cli_usage_error(cmd, "--%s expects a non-negative integer, "
                               "got '%s'", opt, cli_cap(s));
    }
    *out = (size_t)v;
    return 0;
}

/* ------------------------------------------------------------ names */
const char *cli_act_name(nn_activation a)
{
    switch (a) {
    case NN_ACT_IDENTITY: return "identity";
    case NN_ACT_SIGMOID: return "sigmoid";
    case NN_ACT_TANH: return "tanh";
    case NN_ACT_RELU: return "relu";
    case NN_ACT_LEAKY_RELU: return "leaky";
    case NN_ACT_SOFTMAX: return "softmax";
    }
    return "?";
}

const char *cli_loss_name(nn_loss l)
{
    switch (l) {
    case NN_LOSS_MSE: return "mse";
    case NN_LOSS_BCE: return "bce";
    case NN_LOSS_SOFTMAX_CE: return "ce";
    }
    return "?";
}

const char *cli_optim_name(const nn_optim_t *opt)
{
    int64_t kind = -1, decoupled = 0;
    nn_optim_get_int(opt, NN_OPTIM_KIND, &kind);
    nn_optim_get_int(opt, NN_OPTIM_DECOUPLED, &decoupled);
    switch (kind) {
    case NN_OPTIM_SGD: return "sgd";
    case NN_OPTIM_MOMENTUM: return "momentum";
    case NN_OPTIM_NESTEROV: return "nesterov";
    case NN_OPTIM_ADAM: return decoupled ? "adamw" : "adam";
    }
    return "?";
}

/* ------------------------------------------------------------ version */
/* Cores OpenBLAS (its DYNAMIC_ARCH builds' names, any case) and BLIS fall
 * back to when they do not know the CPU: kernels without AVX2 or FMA. */
static bool generic_core(const char *core)
{
    static const char *const old[] = {
        "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom",
        "Core2", "Penryn", "Dunnington", "Nehalem", "Athlon", "Opteron",
        "Opteron(SSE3)", "Barcelona", "Nano", "Bobcat", "Unknown", "generic"};
    for (size_t i = 0; i < sizeof old / sizeof *old; i++)
        if (!strcasecmp(core, old[i])) return true;
    return false;
}

/* A faster OpenBLAS core this CPU runs ("SkylakeX", "Haswell"), or NULL
 * when it has no AVX2 (or cannot be asked: not x86, not GCC/clang). */
static const char *better_core(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return NULL;
}

/* Debian's multiarch triplet, in the alternative's name */
#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#else
#define MULTIARCH "i386-linux-gnu"
#endif

/* How to get faster kernels than the generic ones in use. Nothing is
 * changed here: the library never touches the environment, nor does the
 * tool; these lines only say what a user may do. */
static void blas_hint(const char *name, const char *core)
{
    const char *better = better_core();
    if (!better || !strcmp(name, "unknown") || !generic_core(core)) return;
    const char *lib = strstr(name, "OpenBLAS") ? "OpenBLAS"
                      : strstr(name, "BLIS")   ? "BLIS"
                                               : "the BLAS";
    printf("hint: %s runs its '%s' kernels, a generic fallback, on this CPU, "
           "which has %s: ", lib, core,
           strcmp(better, "Haswell") ? "AVX-512" : "AVX2");
    if (strstr(name, "OpenBLAS") && strstr(name, "DYNAMIC_ARCH"))
        printf("OPENBLAS_CORETYPE=%s selects faster ones\n", better);
    else
        printf("a build for this CPU is faster\n");
    printf("hint: another BLAS: update-alternatives --config libblas.so.3-%s "
           "(for a libnn built with -Dblas=generic; see libnn(1))\n",
           MULTIARCH);
}

int cli_version(void)
{
    printf("libnn %s, model format version %d\n", nn_version_string(),
           NN_MODEL_FORMAT_VERSION);
    const char *name = nn_blas_name(), *core = nn_blas_core();
    size_t t = 0;
    printf("BLAS: %s (core: %s", name, core);
    if (nn_get_num_threads(&t) == NN_OK)
        printf(", %zu thread%s", t, t == 1 ? "" : "s");
    printf(")\n");
    blas_hint(name, core);
    return 0;
}
