/* cli.h — shared pieces of the `nn` command-line tool (tools/): error
 * reporting, option parsing, number parsing, data loading and output files.
 * The tool is built on the public API of libnn only (nn.h). */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <nn.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------ messages */
/* Every error is exactly one line on stderr, "nn: ...". These print and
 * return the exit status to use. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A library failure while handling `path` (may be NULL): uses the detail of
 * *err (file, line, column, message) when it has any. */
int cli_lib_error(const char *what, const char *path, nn_status st,
                  const nn_error_info *err);

/* ------------------------------------------------------------ options */
typedef struct cli_opt {
    const char *name; /* long name without "--"                 */
    char short_name;  /* 0 if none                               */
    bool arg;         /* takes a value                           */
    int id;
} cli_opt;

/* Called for every option (val is NULL for flags) and, with opt == NULL, for
 * every positional argument (in val). Returns 0 or an exit status. */
typedef int (*cli_opt_fn)(void *ctx, const cli_opt *opt, const char *val);

/* Parses argv[0..argc) (the words after the subcommand). Returns 0, or
 * EXIT_USAGE after printing the error. "--" ends the options. */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_opt_fn fn, void *ctx);
/* True if the words hold --help or -h before any "--". */
bool cli_wants_help(int argc, char **argv);

/* ------------------------------------------------------------ numbers */
/* Parse a finite double in the interval described by lo/hi (NaN = no
 * bound) and whether each bound is included; `expect` describes the range
 * for the message ("a number > 0"). Returns 0 or EXIT_USAGE. */
int cli_double(const char *cmd, const char *opt, const char *s, double lo,
               bool lo_incl, double hi, bool hi_incl, const char *expect,
               double *out);
/* Parse a decimal integer >= min (fits size_t). */
int cli_size(const char *cmd, const char *opt, const char *s, size_t min,
             size_t *out);
int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);

/* ------------------------------------------------------------ data */
enum cli_label_mode { LABEL_DEFAULT, LABEL_LAST, LABEL_NONE, LABEL_INDEX };
enum cli_scale { SCALE_DEFAULT, SCALE_NONE, SCALE_255 };

typedef struct cli_data_opts {
    const char *images, *labels, *csv;
    bool header;
    int label_mode;
    size_t label_col;
    int scale;
} cli_data_opts;

/* Option ids >= CLI_DATA_BASE are data options, handled by cli_data_opt. */
enum {
    CLI_DATA_BASE = 1000,
    OPT_IMAGES = CLI_DATA_BASE, OPT_LABELS, OPT_CSV, OPT_HEADER,
    OPT_LABEL_COL, OPT_SCALE
};
#define CLI_DATA_OPTIONS                                                  \
    {"images", 0, true, OPT_IMAGES}, {"labels", 0, true, OPT_LABELS},     \
    {"csv", 0, true, OPT_CSV}, {"header", 0, false, OPT_HEADER},          \
    {"label-col", 0, true, OPT_LABEL_COL}, {"scale", 0, true, OPT_SCALE}

int cli_data_opt(const char *cmd, cli_data_opts *d, int id, const char *val);
/* Checks the combination (exactly one source, labels with images...). */
int cli_data_check(const char *cmd, const cli_data_opts *d, bool need_labels);

/* Load the data described by *d. need_labels: the rows must be labelled.
 * n_in: the model's input width (0 = not known yet): the data must have
 * that many feature columns (in predict, the default label column is then
 * chosen from the width). Does not scale (see cli_scale_data). Prints the
 * error and returns an exit status on failure. */
int cli_load_data(const char *cmd, const cli_data_opts *d, bool need_labels,
                  size_t n_in, nn_data_t **out);
/* Scale the features in place.
 * Training (saved == NULL, made != NULL): --scale or its default (255 for
 * --images); when a scaling is applied, *made receives it as a CUSTOM
 * scaler (offset 0, scale 255) to attach to the network, else NULL.
 * Using a model (made == NULL): `saved` is the model's input scaler (may be
 * NULL). With one, it is applied, and an explicit --scale that describes
 * another scaling is refused (a usage error naming `model`); without one,
 * --scale or its default is applied as in training. */
int cli_scale_data(const char *cmd, const cli_data_opts *d, const char *model,
                   const nn_scaler_t *saved, nn_data_t *data,
                   nn_scaler_t **made);
/* Describe a scaler in a few words ("every feature divided by 255"). */
void cli_scaler_text(const nn_scaler_t *s, char *buf, size_t size);
/* The source's name, for messages. */
const char *cli_data_name(const cli_data_opts *d);
/* Checks every label < n_classes; message names the row (and CSV line). */
int cli_check_labels(const cli_data_opts *d, const nn_data_t *data,
                     size_t n_classes, size_t n_out);

/* Number of classes a network's outputs stand for: n_out, or 2 for a
 * single output. */
size_t cli_net_classes(const nn_net_t *net);
/* The predicted class of one output row (as nn_net_evaluate counts it). */
size_t cli_predicted_class(const double *y, size_t n_out);

/* ------------------------------------------------------------ files */
/* An output file written to a temporary in the same directory and renamed
 * over the destination on commit; never a partial file. dest "-" is
 * stdout (no temporary). */
typedef struct cli_out {
    const char *dest;
    char *tmp;
    FILE *f;
} cli_out;
int cli_out_open(cli_out *o, const char *dest);
int cli_out_commit(cli_out *o);
void cli_out_abort(cli_out *o);
/* Early check that `path` can be created or replaced (its directory exists
 * and is writable, it is not a directory). */
int cli_check_writable(const char *path, const char *what);
/* A temporary name beside `path` (malloc'ed), created empty; NULL on
 * error (message printed). */
char *cli_temp_beside(const char *path);

/* ------------------------------------------------------------ names */
const char *cli_act_name(nn_activation a);
const char *cli_loss_name(nn_loss l);
const char *cli_optim_name(const nn_optim_t *opt);

/* ------------------------------------------------------------ subcommands */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
