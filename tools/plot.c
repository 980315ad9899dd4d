/* plot.c — the history CSV of a training run and its gnuplot picture:
 * `libnn train --history / --plot` write them after a run, `libnn plot`
 * reads a saved history back (strictly) and draws the same picture. */
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The history's columns: the first six are those of the first format,
 * which `libnn plot` still reads. */
#define HIST_COLS6 "epoch,train_loss,val_loss,val_accuracy,lr,seconds"
#define HIST_COLS8 HIST_COLS6 ",epochs,best"

static void put_num(FILE *f, double v)
{
    if (isnan(v)) fputs("nan", f);
    else fprintf(f, "%.9g", v);
}

void history_write(FILE *f, const history *h)
{
    fputs(HIST_COLS8 "\n", f);
    for (size_t i = 0; i < h->n; i++) {
        const nn_report *r = &h->rows[i];
        fprintf(f, "%zu,", r->epoch);
        put_num(f, r->train_loss);
        fputc(',', f);
        put_num(f, r->val_loss);
        fputc(',', f);
        put_num(f, r->val_accuracy);
        fputc(',', f);
        put_num(f, r->lr);
        fputc(',', f);
        put_num(f, r->seconds);
        fprintf(f, ",%zu,%d\n", h->epochs, h->best == i + 1);
    }
}

/* ------------------------------------------------------------ gnuplot */
static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suf[i]) return false;
    }
    return true;
}

bool plot_name_ok(const char *name)
{
    return !strcmp(name, "-") || ends_with(name, ".svg") ||
           ends_with(name, ".png");
}

bool plot_have_gnuplot(void)
{
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char *argv[] = {"gnuplot", "--version", NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A gnuplot single-quoted string: '' stands for one quote; a control
 * character (a newline would end the command) becomes a space. */
static void gp_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
    }
    fputc('\'', f);
}

/* The terminal, the output file and the data block $h (epoch, training
 * loss, validation loss and accuracy, learning rate). */
static void gp_setup(FILE *g, const char *tmp, bool svg, const history *h,
                     const plot_opts *o)
{
    int height = o->lr ? 760 : 540;
    if (svg)
        fprintf(g, "set terminal svg size 900,%d dynamic background rgb "
                "'white'\n", height);
    else
        fprintf(g, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
                "{ set terminal pngcairo size 900,%d } "
                "else { set terminal png size 900,%d }\n", height, height);
    fputs("set output ", g);
    gp_quoted(g, tmp);
    fputs("\nset datafile separator ','\n$h << EOD\n", g);
    for (size_t i = 0; i < h->n; i++) {
        const nn_report *r = &h->rows[i];
        fprintf(g, "%zu,", r->epoch);
        put_num(g, r->train_loss);
        fputc(',', g);
        put_num(g, r->val_loss);
        fputc(',', g);
        put_num(g, r->val_accuracy);
        fputc(',', g);
        put_num(g, r->lr);
        fputc('\n', g);
    }
    fputs("EOD\n", g);
}

/* The epoch axis: from the first epoch to the planned last one, so that a
 * run stopped early shows the epochs it did not run. */
static void gp_xaxis(FILE *g, const history *h)
{
    double lo = (double)h->rows[0].epoch;
    double hi = (double)h->rows[h->n - 1].epoch;
    if ((double)h->epochs > hi) hi = (double)h->epochs;
    fprintf(g, "set xrange [%g:%g]\n", lo - 0.5, hi + 0.5);
    if (hi - lo <= 15) fputs("set xtics 1\n", g);
    fputs("set xtics nomirror\n", g);
}

/* The best epoch (a point on the validation loss, labelled) and an early
 * stop (a dashed line at the last epoch run, labelled in the room of the
 * epochs not run). */
static void gp_marks(FILE *g, const history *h)
{
    const nn_report *b = h->best ? &h->rows[h->best - 1] : NULL;
    if (b && isfinite(b->val_loss)) {
        fprintf(g, "set label 1 'best: epoch %zu' at %zu,", b->epoch,
                b->epoch);
        put_num(g, b->val_loss);
        fputs(" point pointtype 7 pointsize 1.6 lc rgb '#d62728' "
              "offset 1,1 front\n", g);
    }
    size_t last = h->rows[h->n - 1].epoch;
    if (h->epochs && last < h->epochs) {
        fprintf(g, "set arrow 2 from %zu, graph 0 to %zu, graph 1 nohead "
                "dashtype 2 linewidth 1.5 lc rgb '#555555' front\n", last,
                last);
        fprintf(g, "set label 2 'stopped early (epoch %zu of %zu)' at %zu, "
                "graph 0.93 left offset 1,0 front\n", last, h->epochs,
                last);
    }
}

/* The losses, and the validation accuracy on the right-hand axis. */
static void gp_losses(FILE *g, const history *h, const plot_opts *o)
{
    bool val = false;
    for (size_t i = 0; i < h->n; i++) val = val || !isnan(h->rows[i].val_loss);
    bool acc = false;
    for (size_t i = 0; i < h->n; i++)
        acc = acc || !isnan(h->rows[i].val_accuracy);
    fputs("set title ", g);
    gp_quoted(g, o->title ? o->title : "");
    fputs(" noenhanced\nset ylabel 'loss'\nset grid\nset ytics nomirror\n"
          "set key outside bottom center horizontal\n", g);
    if (!o->lr) fputs("set xlabel 'epoch'\n", g);
    if (acc) fputs("set y2label 'validation accuracy'\nset y2tics\n", g);
    gp_xaxis(g, h);
    gp_marks(g, h);
    fputs("plot $h using 1:2 with linespoints pointtype 7 pointsize 0.6 "
          "title 'training loss'", g);
    if (val)
        fputs(", $h using 1:3 with linespoints pointtype 7 pointsize 0.6 "
              "title 'validation loss'", g);
    if (acc)
        fputs(", $h using 1:4 axes x1y2 with linespoints pointtype 7 "
              "pointsize 0.6 title 'validation accuracy'", g);
    fputc('\n', g);
}

/* The learning rate in a panel below the losses, on a log scale when every
 * rate is > 0; the panels share their left and right edges. */
static void gp_rate(FILE *g, const history *h)
{
    bool positive = true;
    for (size_t i = 0; i < h->n; i++)
        positive = positive && h->rows[i].lr > 0 && isfinite(h->rows[i].lr);
    fputs("unset title\nunset label\nunset arrow\nunset y2tics\n"
          "unset y2label\nset key inside top right\n"
          "set origin 0,0\nset size 1,0.3\nset xlabel 'epoch'\n"
          "set ylabel 'learning rate'\n", g);
    if (positive) fputs("set logscale y\nset format y '%.0e'\n", g);
    fputs("plot $h using 1:5 with linespoints pointtype 7 pointsize 0.6 "
          "lc rgb '#9467bd' title 'learning rate'\nunset multiplot\n", g);
}

int plot_draw(const char *dest, const char *tmp, const history *h,
              const plot_opts *o)
{
    if (!h->n) return cli_error("%s: no epochs to plot", dest);
    bool svg = !ends_with(dest, ".png"); /* "-" is SVG */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g) {
        signal(SIGPIPE, old);
        return cli_error("%s: cannot run gnuplot: %s", dest, strerror(errno));
    }
    gp_setup(g, tmp, svg, h, o);
    if (o->lr)
        fputs("set multiplot\nset lmargin at screen 0.1\n"
              "set rmargin at screen 0.88\n"
              "set origin 0,0.3\nset size 1,0.7\n", g);
    gp_losses(g, h, o);
    if (o->lr) gp_rate(g, h);
    fputs("set output\n", g);
    int status = pclose(g);
    signal(SIGPIPE, old);
    struct stat sb;
    if (status != 0 || stat(tmp, &sb) != 0 || sb.st_size == 0)
        return cli_error("%s: gnuplot failed to draw the plot (exit status "
                         "%d)", dest,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* ------------------------------------------------------------ reading */
/* A history being read: the rows grow as lines come. */
typedef struct hist_read {
    const char *name; /* for messages */
    size_t line;
    bool full;        /* 8 columns (epochs, best) */
    nn_report *rows;
    size_t n, cap;
    size_t epochs, best;
} hist_read;

static int bad_line(const hist_read *hr, const char *what, const char *tok)
{
    if (tok)
        return cli_error("%s:%zu: %s '%s'", hr->name, hr->line, what,
                         cli_cap(tok));
    return cli_error("%s:%zu: %s", hr->name, hr->line, what);
}

/* A whole field as a decimal integer >= 1 (0 allowed with zero). */
static bool field_size(const char *s, bool zero, size_t *out)
{
    if (*s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > SIZE_MAX || (v == 0 && !zero)) return false;
    *out = (size_t)v;
    return true;
}

/* A whole field as a double ("nan" and "inf" as history_write writes
 * them; no blanks). */
static bool field_double(const char *s, double *out)
{
    if (!*s || *s == ' ' || *s == '\t') return false;
    char *end;
    *out = strtod(s, &end);
    return !*end;
}

/* Splits line (cut in place) at the commas into at most max fields;
 * returns how many it had (max + 1 for more). */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n <= max) {
            if (n < max) f[n] = p;
            n++;
        }
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    return n;
}

static const char *const col_name[8] = {
    "epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds",
    "epochs", "best"};

/* The numbers of one data line into r; epochs and best checked against
 * the rows before. */
static int parse_row(hist_read *hr, char **f, nn_report *r)
{
    size_t prev = hr->n ? hr->rows[hr->n - 1].epoch : 0, best = 0;
    double *d[5] = {&r->train_loss, &r->val_loss, &r->val_accuracy, &r->lr,
                    &r->seconds};
    char what[64];
    memset(r, 0, sizeof *r);
    if (!field_size(f[0], false, &r->epoch))
        return bad_line(hr, "column epoch: expected an integer >= 1, got",
                        f[0]);
    if (r->epoch <= prev)
        return bad_line(hr, "epochs must increase, got", f[0]);
    for (int i = 0; i < 5; i++)
        if (!field_double(f[i + 1], d[i])) {
            snprintf(what, sizeof what, "column %s: bad number",
                     col_name[i + 1]);
            return bad_line(hr, what, f[i + 1]);
        }
    if (!hr->full) return 0;
    if (!field_size(f[6], false, &r->epochs) || r->epochs < r->epoch ||
        (hr->n && r->epochs != hr->epochs))
        return bad_line(hr, "column epochs: expected the planned number of "
                        "epochs (the same on every line), got", f[6]);
    hr->epochs = r->epochs;
    if (!field_size(f[7], true, &best) || best > 1 || (best && hr->best))
        return bad_line(hr, "column best: expected 0 or 1 (1 on one line "
                        "only), got", f[7]);
    if (best) hr->best = hr->n + 1;
    return 0;
}

/* One line (without its newline) after the header. */
static int read_row(hist_read *hr, char *line)
{
    char *f[8];
    size_t want = hr->full ? 8 : 6, got = split(line, f, want);
    if (got != want) {
        char what[64];
        snprintf(what, sizeof what, "expected %zu columns, got %s", want,
                 got > want ? "more" : "fewer");
        return bad_line(hr, what, NULL);
    }
    if (hr->n == hr->cap) {
        size_t cap = hr->cap ? 2 * hr->cap : 64;
        nn_report *rows = realloc(hr->rows, cap * sizeof *rows);
        if (!rows) return cli_error("out of memory");
        hr->rows = rows;
        hr->cap = cap;
    }
    nn_report r;
    int rc = parse_row(hr, f, &r);
    if (!rc) hr->rows[hr->n++] = r;
    return rc;
}

/* Reads one line into buf (its newline, and a CR before it, removed):
 * returns 1, or 0 at the end and on an error (*rc: its exit status). */
static int get_line(hist_read *hr, FILE *f, char *buf, size_t size, int *rc)
{
    *rc = 0;
    if (!fgets(buf, (int)size, f)) {
        if (ferror(f))
            *rc = cli_error("%s: cannot read: %s", hr->name,
                            strerror(errno));
        return 0;
    }
    hr->line++;
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n') buf[--n] = '\0';
    else if (!feof(f)) {
        *rc = bad_line(hr, "line too long", NULL);
        return 0;
    }
    if (n && buf[n - 1] == '\r') buf[--n] = '\0';
    return 1;
}

/* The whole history from f: the header of either format, then one line
 * per epoch. */
static int read_history(hist_read *hr, FILE *f)
{
    char buf[1024];
    int rc;
    if (!get_line(hr, f, buf, sizeof buf, &rc))
        return rc ? rc : cli_error("%s: empty file (expected a history "
                                   "written by libnn train --history)",
                                   hr->name);
    hr->full = !strcmp(buf, HIST_COLS8);
    if (!hr->full && strcmp(buf, HIST_COLS6))
        return bad_line(hr, "not the header of a libnn train --history "
                        "file (expected '" HIST_COLS8 "' or '" HIST_COLS6
                        "'), got", buf);
    while (get_line(hr, f, buf, sizeof buf, &rc))
        if ((rc = read_row(hr, buf))) return rc;
    if (rc) return rc;
    if (!hr->n)
        return cli_error("%s: no epochs after the header", hr->name);
    return 0;
}

/* A 6-column history does not say which epoch the trainer kept: the first
 * lowest validation loss, as its rule (a strict decrease, NaN never
 * better) chooses. */
static size_t first_lowest(const nn_report *rows, size_t n)
{
    size_t best = 0;
    double low = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (rows[i].val_loss < low) {
            low = rows[i].val_loss;
            best = i + 1;
        }
    return best;
}

/* ------------------------------------------------------------ command */
static const char *const plot_help =
"usage: libnn plot HISTORY.csv -o PLOT.svg|PLOT.png [--lr] [--title T]\n"
"\n"
"Draw, with gnuplot, a training history written by 'libnn train --history':\n"
"the training loss, the validation loss and accuracy (when the run had\n"
"validation), the best epoch (the lowest validation loss, the one\n"
"--restore-best keeps) and, when the run stopped before its planned\n"
"epochs, where it stopped. 'libnn train --plot' draws the same picture.\n"
"HISTORY may be '-' (stdin), a pipe or a FIFO; both history formats (6\n"
"columns, or 8 with epochs and best) are read.\n"
"\n"
"  -o, --output PLOT   the picture, SVG or PNG as its name ends ('-': SVG\n"
"                      on stdout); a file is replaced atomically, and never\n"
"                      the history\n"
"  --lr                add a panel with the learning rate (log scale)\n"
"  --title T           the title (default: HISTORY's name)\n"
"  -h, --help          this help\n";

enum { P_OUTPUT = 1, P_LR, P_TITLE, P_HELP };

static const cli_opt plot_cli_opts[] = {
    {"output", 'o', true, P_OUTPUT}, {"lr", 0, false, P_LR},
    {"title", 0, true, P_TITLE}, {"help", 'h', false, P_HELP},
    {NULL, 0, false, 0}};

typedef struct plot_args {
    const char *input, *output;
    plot_opts o;
} plot_args;

static int plot_opt(void *ctx, const cli_opt *o, const char *v)
{
    plot_args *a = ctx;
    if (!o) {
        if (a->input)
            return cli_usage_error("plot", "unexpected argument '%s'",
                                   cli_cap(v));
        a->input = v;
        return 0;
    }
    switch (o->id) {
    case P_OUTPUT: a->output = v; return 0;
    case P_LR: a->o.lr = true; return 0;
    case P_TITLE: a->o.title = v; return 0;
    }
    return 0;
}

/* Arguments, the output checked against the input, gnuplot: all before
 * anything is read or written. */
static int plot_start(plot_args *a, int argc, char **argv, cli_out *out)
{
    const char *c = "plot";
    int rc = cli_parse(c, argc, argv, plot_cli_opts, plot_opt, a);
    if (rc) return rc;
    if (!a->input) return cli_usage_error(c, "missing HISTORY.csv");
    if (!a->output) return cli_usage_error(c, "missing --output PLOT");
    if (!plot_name_ok(a->output))
        return cli_usage_error(c, "--output expects a file name ending in "
                               ".svg or .png, got '%s'", cli_cap(a->output));
    if ((rc = cli_check_path("HISTORY", a->input))) return rc;
    if ((rc = cli_out_prepare(out, "--output", a->output))) return rc;
    cli_file in[1] = {{"HISTORY", a->input}};
    cli_out *outs[1] = {out};
    if ((rc = cli_check_files(c, in, 1, outs, 1))) return rc;
    if (!plot_have_gnuplot())
        return cli_error("plot: gnuplot is not installed or not in PATH "
                         "(install the gnuplot package)");
    return 0;
}

/* Reads the history named by a->input (through cli_in: a stream is read
 * once into a temporary). */
static int plot_read(const plot_args *a, hist_read *hr)
{
    cli_in in;
    int rc = cli_in_open(&in, "HISTORY", a->input);
    if (rc) return rc;
    FILE *f = fopen(in.path, "r");
    if (!f) {
        rc = cli_error("%s: cannot open: %s", hr->name,
                       strerror(errno));
    } else {
        rc = read_history(hr, f);
        fclose(f);
    }
    cli_in_close(&in);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(plot_help, stdout);
        return 0;
    }
    plot_args a = {0};
    cli_out out;
    memset(&out, 0, sizeof out);
    out.fd = -1;
    hist_read hr = {0};
    const char *tmp;
    int rc = plot_start(&a, argc, argv, &out);
    if (!rc) {
        hr.name = cli_in_shown(a.input);
        rc = plot_read(&a, &hr);
    }
    if (!rc) {
        history h = {hr.rows, hr.n, hr.full ? hr.epochs : 0,
                     hr.full ? hr.best : first_lowest(hr.rows, hr.n)};
        if (!a.o.title) a.o.title = hr.name;
        if (!(rc = cli_out_temp_path(&out, &tmp)) &&
            !(rc = plot_draw(a.output, tmp, &h, &a.o)))
            rc = cli_out_commit(&out);
    }
    free(hr.rows);
    cli_out_free(&out);
    return rc;
}
