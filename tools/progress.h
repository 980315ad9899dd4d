/* progress.h — what `libnn train` shows and keeps of a run: the progress
 * display on standard error and the epoch records (progress.c), and the
 * history CSV and its gnuplot picture (plot.c), which `libnn plot` redraws
 * from a saved history. */
#ifndef NN_PROGRESS_H
#define NN_PROGRESS_H

#include "cli.h"

/* ------------------------------------------------------------ progress */
/* The report callback's state. On a terminal, a live line redrawn in place
 * inside each epoch (at most 10 times a second, cut to the terminal's
 * width) and one summary line kept per epoch; elsewhere one plain line per
 * epoch; nothing with quiet. Every epoch report is recorded (hist). */
typedef struct progress {
    bool quiet;
    bool tty;       /* standard error is a terminal */
    bool live;      /* redraw inside epochs: tty, not quiet, one process */
    bool dumb;      /* TERM=dumb: pad with spaces, no escape sequences */
    bool drawn;     /* a live line is on screen, not yet replaced */
    size_t shown;   /* its length (for the padding of a dumb terminal) */
    double last;    /* run time of the last redraw */
    double elapsed; /* seconds of the finished epochs */
    nn_report *hist; /* the epoch reports, in order */
    size_t n, cap;
    bool nomem;     /* a record could not be kept (the run was stopped) */
} progress;

/* quiet: show nothing; single: one process (a data-parallel run gets no
 * batch reports, which would cost every rank a collective per batch). */
void progress_init(progress *p, bool quiet, bool single);
/* NN_TRAIN_REPORT_EVERY for this display (0: epoch reports only). */
int64_t progress_report_every(const progress *p);
/* The nn_report_fn; ctx is the progress. */
int32_t progress_report(const nn_report *r, void *ctx);
/* After the run: clears a live line left on screen (a run that failed or
 * was stopped inside an epoch), so that what follows starts a line. */
void progress_end(progress *p);
void progress_free(progress *p);

/* ------------------------------------------------------------ history */
/* A training history: the epoch reports (epoch, train_loss, val_loss,
 * val_accuracy, lr, seconds are used) with the planned number of epochs
 * and the best one. */
typedef struct history {
    const nn_report *rows;
    size_t n;
    size_t epochs; /* planned; 0: not known (a 6-column file) */
    size_t best;   /* 1-based row of the best validation loss, 0: none */
} history;

/* The history of a finished run: its records, the planned epochs and the
 * trainer's best epoch (NN_TRAIN_BEST_EPOCH). */
void progress_history(const progress *p, const nn_trainer_t *t, history *h);
/* The CSV of `libnn train --history` (docs/TOOL.md):
 * epoch,train_loss,val_loss,val_accuracy,lr,seconds,epochs,best. */
void history_write(FILE *f, const history *h);

/* ------------------------------------------------------------ plot */
typedef struct plot_opts {
    const char *title; /* shown as given (no gnuplot markup) */
    bool lr;           /* a second panel with the learning rate */
} plot_opts;

/* Whether a plot can go to `name`: "-" (SVG) or a name ending in .svg or
 * .png (any case). */
bool plot_name_ok(const char *name);
/* Whether `gnuplot --version` runs. */
bool plot_have_gnuplot(void);
/* Draws h into the file `tmp` (already created), SVG or PNG as `dest`
 * (the name given, for messages) ends; returns 0 or prints the error. */
int plot_draw(const char *dest, const char *tmp, const history *h,
              const plot_opts *o);

#endif
