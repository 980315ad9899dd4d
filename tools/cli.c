/* cli.c — messages, option and number parsing, data loading and atomic
 * output files for the `libnn` tool. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_opt_fn fn, void *ctx)
{
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (only_pos || a[0] != '-' || !a[1]) { /* "-" is positional */
            if ((rc = fn(ctx, NULL, a))) return rc;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        const cli_opt *o = NULL;
        const char *val = NULL;
        char name[CLI_CAP_MAX + 8];
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, a + 2, n);
            name[n] = '\0';
            for (const cli_opt *p = opts; p->name; p++)
                if (!strcmp(p->name, name)) o = p;
            if (!o)
                return cli_usage_error(cmd, "unknown option '--%s'",
                                       cli_cap(name));
            if (eq && !o->arg)
                return cli_usage_error(cmd, "option '--%s' takes no value",
                                       name);
            if (eq) val = eq + 1;
        } else {
            for (const cli_opt *p = opts; p->name; p++)
                if (p->short_name && p->short_name == a[1]) o = p;
            if (!o)
                return cli_usage_error(cmd, "unknown option '%s'",
                                       cli_cap(a));
            snprintf(name, sizeof name, "%s", o->name);
            if (a[2]) {
                if (!o->arg)
                    return cli_usage_error(cmd, "unknown option '%s'",
                                           cli_cap(a));
                val = a + 2;
            }
        }
        if (o->arg && !val) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option '--%s' needs a value",
                                       o->name);
            val = argv[++i];
        }
        if ((rc = fn(ctx, o, val))) return rc;
    }
    return 0;
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
