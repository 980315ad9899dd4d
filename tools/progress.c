/* progress.c — the progress display of `libnn train` on standard error and
 * the record of its epochs.
 *
 * On a terminal, a live line inside each epoch ("\r", the line, "\033[K"):
 * the epoch, a bar and the batches done, the running loss, samples per
 * second and the time left in the whole run; it is redrawn at most every
 * REDRAW_S seconds and cut to the terminal's width less one column, so it
 * never wraps (a wrapped line could not be redrawn in place). At the end of
 * an epoch a summary line replaces it and stays: the scrollback holds one
 * line per epoch. Elsewhere (a file, a pipe) only the summary lines, with
 * the time left, and never an escape sequence. */
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The least time between two redraws of the live line. */
#define REDRAW_S 0.1
/* The inside of the bar: what the other fields leave, within these. */
enum { BAR_MIN = 5, BAR_MAX = 30 };

void progress_init(progress *p, bool quiet, bool single)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO) == 1;
    const char *term = getenv("TERM");
    p->dumb = term && !strcmp(term, "dumb");
    p->live = p->tty && !quiet && single;
    p->last = -INFINITY;
}

/* A batch report for every batch costs the trainer a clock read, and the
 * callback a comparison (the redraws are throttled by the report's own
 * time), so it is asked for only when a live line is drawn. */
int64_t progress_report_every(const progress *p)
{
    return p->live ? 1 : 0;
}

void progress_free(progress *p)
{
    free(p->hist);
    p->hist = NULL;
    p->n = p->cap = 0;
}

/* ------------------------------------------------------------ formats */
static void fmt_time(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

static void fmt_rate(char *buf, size_t size, double r)
{
    if (!(r >= 0) || isinf(r)) snprintf(buf, size, "--");
    else if (r < 1e4) snprintf(buf, size, "%.0f", r);
    else if (r < 1e7) snprintf(buf, size, "%.1fk", r / 1e3);
    else snprintf(buf, size, "%.1fM", r / 1e6);
}

/* Columns of the terminal on standard error, read at every redraw (so a
 * resized window is followed without a SIGWINCH handler): the tty's size,
 * else $COLUMNS, else 80. */
static size_t term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c && *c >= '0' && *c <= '9') {
        char *end;
        errno = 0;
        unsigned long v = strtoul(c, &end, 10);
        if (!*end && !errno && v > 0 && v < 100000) return (size_t)v;
    }
    return 80;
}

/* Seconds left in the run at batch report r: the rest of this epoch at its
 * pace so far, then the later epochs at the mean time of those finished
 * (while none has, at this one's projected time). */
static double eta_batch(const progress *p, const nn_report *r)
{
    if (!r->batch || !r->batches || !(r->seconds > 0)) return NAN;
    double per_batch = r->seconds / (double)r->batch;
    double epoch = p->n ? p->elapsed / (double)p->n
                        : per_batch * (double)r->batches;
    return per_batch * (double)(r->batches - r->batch) +
           epoch * (double)(r->epochs - r->epoch);
}

/* ------------------------------------------------------------ live line */
/* The live line of batch report r in out (cap > limit), at most `limit`
 * columns (all of it is ASCII). "epoch e/E" and the batch counts stay; the
 * bar takes the room the other fields leave and goes first when there is
 * too little; then the loss, the samples per second and the time left go,
 * in that order. */
static void live_line(const progress *p, const nn_report *r, size_t limit,
                      char *out, size_t cap)
{
    char f[3][48], core[64], counts[48], rate[16], eta[32];
    fmt_rate(rate, sizeof rate,
             r->seconds > 0 ? (double)r->rows / r->seconds : NAN);
    fmt_time(eta, sizeof eta, eta_batch(p, r));
    /* counts padded to their final width: the bar keeps its size */
    int we = snprintf(NULL, 0, "%zu", r->epochs);
    int wb = snprintf(NULL, 0, "%zu", r->batches);
    snprintf(core, sizeof core, "epoch %*zu/%zu", we, r->epoch, r->epochs);
    snprintf(counts, sizeof counts, " %*zu/%zu", wb, r->batch, r->batches);
    snprintf(f[0], sizeof f[0], "  loss %.4f", r->train_loss);
    snprintf(f[1], sizeof f[1], "  %5s samples/s", rate);
    snprintf(f[2], sizeof f[2], "  ETA %s", eta);
    size_t need = strlen(core) + strlen(counts), k = 0;
    for (int i = 0; i < 3; i++) need += strlen(f[i]);
    while (k < 3 && need > limit) need -= strlen(f[k++]);
    size_t bar = 0; /* " [" + inside + "]" */
    if (need + 3 + BAR_MIN <= limit) bar = limit - need - 3;
    if (bar > BAR_MAX) bar = BAR_MAX;
    size_t len = (size_t)snprintf(out, cap, "%s", core);
    if (bar) {
        size_t fill = r->batches ? r->batch * bar / r->batches : bar;
        out[len++] = ' ';
        out[len++] = '[';
        for (size_t i = 0; i < bar; i++) out[len++] = i < fill ? '#' : '.';
        out[len++] = ']';
    }
    len += (size_t)snprintf(out + len, cap - len, "%s", counts);
    for (size_t i = k; i < 3; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s", f[i]);
    if (len > limit) out[limit] = '\0'; /* a terminal of a few columns */
}

/* Writes "\r", s, then what clears the rest of the old line, and end (""
 * or "\n"), in one write: stderr is unbuffered, and a line written in
 * pieces could show half-drawn. */
static void put_line(progress *p, const char *s, const char *end)
{
    char buf[512];
    size_t n = strlen(s), k;
    if (!p->dumb) {
        k = (size_t)snprintf(buf, sizeof buf, "\r%s\033[K%s", s, end);
    } else { /* no escapes: spaces over what the last line had beyond */
        k = (size_t)snprintf(buf, sizeof buf, "\r%s", s);
        while (k < sizeof buf - 2 && n++ < p->shown) buf[k++] = ' ';
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s", end);
    }
    if (k >= sizeof buf) k = sizeof buf - 1;
    fwrite(buf, 1, k, stderr);
    fflush(stderr);
    p->shown = strlen(s);
}

static void on_batch(progress *p, const nn_report *r)
{
    double now = p->elapsed + r->seconds;
    if (now - p->last < REDRAW_S) return;
    p->last = now;
    size_t w = term_width();
    char line[256];
    live_line(p, r, w > sizeof line ? sizeof line - 1 : w - 1, line,
              sizeof line);
    put_line(p, line, "");
    p->drawn = true;
}

/* ------------------------------------------------------------ epochs */
static bool record(progress *p, const nn_report *r)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        nn_report *h = realloc(p->hist, cap * sizeof *h);
        if (!h) return false;
        p->hist = h;
        p->cap = cap;
    }
    p->hist[p->n++] = *r;
    p->elapsed += r->seconds;
    return true;
}

/* The summary of epoch report r, printed whole (about 75 columns: it fits
 * the usual terminal); without a terminal it also tells the time left. */
static void on_epoch(progress *p, const nn_report *r)
{
    char line[320];
    int k = snprintf(line, sizeof line, "epoch %zu/%zu  loss %.4f", r->epoch,
                     r->epochs, r->train_loss);
    size_t len = k > 0 ? (size_t)k : 0;
    if (!isnan(r->val_loss))
        len += (size_t)snprintf(line + len, sizeof line - len,
                                "  val loss %.4f", r->val_loss);
    if (!isnan(r->val_accuracy))
        len += (size_t)snprintf(line + len, sizeof line - len,
                                "  val acc %.4f", r->val_accuracy);
    len += (size_t)snprintf(line + len, sizeof line - len, "  lr %.3g  %.2f s",
                            r->lr, r->seconds);
    if (!p->tty && r->epoch < r->epochs) {
        char eta[32];
        fmt_time(eta, sizeof eta, p->elapsed / (double)p->n *
                                      (double)(r->epochs - r->epoch));
        snprintf(line + len, sizeof line - len, "  ETA %s", eta);
    }
    if (p->tty) {
        put_line(p, line, "\n");
    } else {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    p->drawn = false;
    p->shown = 0;
}

int32_t progress_report(const nn_report *r, void *ctx)
{
    progress *p = ctx;
    if (r->kind == NN_REPORT_BATCH) {
        if (p->live) on_batch(p, r);
        return 0;
    }
    if (r->kind != NN_REPORT_EPOCH) return 0;
    if (!record(p, r)) {
        p->nomem = true;
        return 1; /* stop: the history would miss this epoch */
    }
    if (!p->quiet) on_epoch(p, r);
    return 0;
}

void progress_end(progress *p)
{
    if (!p->drawn) return;
    put_line(p, "", "\r");
    p->drawn = false;
}

void progress_history(const progress *p, const nn_trainer_t *t, history *h)
{
    int64_t best = 0;
    if (t) nn_trainer_get_int(t, NN_TRAIN_BEST_EPOCH, &best);
    h->rows = p->hist;
    h->n = p->n;
    h->epochs = p->n ? p->hist[0].epochs : 0;
    /* the records are epochs 1..n: the best epoch is its row */
    h->best = best > 0 && (uint64_t)best <= p->n ? (size_t)best : 0;
}
