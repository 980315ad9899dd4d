/* cli.h — shared pieces of the `libnn` command-line tool (tools/): error
 * reporting, option parsing, number parsing, data loading and output files.
 * The tool is built on the public API of libnn only (nn.h). */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <nn.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------ messages */
/* Every error is exactly one line on stderr, "libnn: ...". These print and
 * return the exit status to use. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A library failure while handling `path` (may be NULL): uses the detail of
 * *err (file, line, column, message) when it has any. */
int cli_lib_error(const char *what, const char *path, nn_status st,
                  const nn_error_info *err);
/* Under MPI, ranks other than 0 hold their messages in memory (mpi.c): a
 * failure every rank meets is told once, by rank 0. hold = true starts
 * holding (anything held before is dropped), false stops and drops. */
void cli_hold_messages(bool hold);
/* Prints what is held to stderr when print is set, each "libnn: " line as
 * "libnn: TAG: " (tag may be NULL), then empties it and holds on. @return
 * whether anything was held. */
bool cli_held_messages(bool print, const char *tag);

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

/* Parses argv[0..argc) (the words after the subcommand) with getopt_long:
 * options and positional words in any order (positional ones reach fn in
 * order), "--" ends the options, "--name value" and "--name=value", short
 * options grouped ("-qo FILE"), long names exact (no abbreviations). Every
 * table also takes --threads N (nn_set_num_threads, called once all words
 * are read) unless it lists "threads" itself. Returns 0, or an exit status
 * after printing the error (an unknown option with the nearest names). */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_opt_fn fn, void *ctx);
/* True if the words hold --help or -h before any "--". */
bool cli_wants_help(int argc, char **argv);
/* " (did you mean --a, --b or --c?)" in buf (empty if nothing is near):
 * the name word abbreviates, if it abbreviates exactly one, then the names
 * nearest to it by optimal string alignment distance, if at most
 * max(1, strlen(word) / 3); three at most, each after `dashes` ("--" for
 * options, "" for commands). @return buf. */
const char *cli_suggest(const char *word, const char *const *names,
                        size_t n, const char *dashes, char *buf, size_t size);

/* --version: libnn's and the model format's versions, then the BLAS in use
 * (nn_blas_name), its core and threads, and a hint when the core is a
 * generic fallback on a CPU with AVX2. @return 0. */
int cli_version(void);

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
/* The data options (data.c; the rules are in docs/TOOL.md, "Data"). */
enum cli_label_mode { LABEL_DEFAULT, LABEL_LAST, LABEL_NONE, LABEL_INDEX,
                      LABEL_NAME };
enum cli_header { HEADER_AUTO, HEADER_YES, HEADER_NO };
enum cli_scale { SCALE_DEFAULT, SCALE_NONE, SCALE_255, SCALE_STANDARD,
                 SCALE_MINMAX };

typedef struct cli_data_opts {
    const char *images, *labels, *csv;
    int header;             /* cli_header */
    char delim;             /* 0: ',' */
    int label_mode;
    size_t label_col;       /* LABEL_INDEX */
    const char *label_name; /* LABEL_NAME */
    const char *target;     /* --target LIST (regression), or NULL */
    int scale;              /* cli_scale */
    bool split;             /* --test-fraction given */
    double test_fraction;
    uint64_t seed;          /* of the split */
} cli_data_opts;

/* Option ids >= CLI_DATA_BASE are data options, handled by cli_data_opt. */
enum {
    CLI_DATA_BASE = 1000,
    OPT_IMAGES = CLI_DATA_BASE, OPT_LABELS, OPT_CSV, OPT_HEADER,
    OPT_NO_HEADER, OPT_DELIMITER, OPT_LABEL_COL, OPT_TARGET, OPT_SCALE,
    OPT_TEST_FRACTION
};
#define CLI_DATA_OPTIONS                                                  \
    {"images", 0, true, OPT_IMAGES}, {"labels", 0, true, OPT_LABELS},     \
    {"csv", 0, true, OPT_CSV}, {"header", 0, false, OPT_HEADER},          \
    {"no-header", 0, false, OPT_NO_HEADER},                               \
    {"delimiter", 0, true, OPT_DELIMITER},                                \
    {"label-col", 0, true, OPT_LABEL_COL},                                \
    {"target", 0, true, OPT_TARGET}, {"scale", 0, true, OPT_SCALE},       \
    {"test-fraction", 0, true, OPT_TEST_FRACTION}

int cli_data_opt(const char *cmd, cli_data_opts *d, int id, const char *val);
/* --scale-targets none|standard|minmax (train). */
int cli_scale_opt(const char *cmd, const char *opt, const char *v, int *out);
/* Checks the combination (exactly one source, labels with images...). */
int cli_data_check(const char *cmd, const cli_data_opts *d, bool need_truth);

/* What a command wants of the rows. truth: TRUTH_NEED (train, eval: a
 * label or targets), TRUTH_OPTIONAL (predict: taken out when present).
 * regress: dense targets (--target, or a regression model: its last n_out
 * columns by default) rather than a label column. n_in, n_out: the
 * model's (0 = no model yet). */
enum { TRUTH_OPTIONAL, TRUTH_NEED };
typedef struct cli_want {
    int truth;
    bool regress;
    size_t n_in, n_out;
} cli_want;
/* Load the data described by *d: the features, and the label or targets
 * (a CSV is read once, every column as a feature, then the truth columns
 * are taken out). Does not scale or split. Prints the error and returns an
 * exit status on failure. */
int cli_load_data(const char *cmd, const cli_data_opts *d, const cli_want *w,
                  nn_data_t **out);
/* --test-fraction: the seeded split (SplitMix64 + selection sampling,
 * docs/TOOL.md). With test non-NULL (train), *data keeps the training rows
 * and *test receives the others; with test NULL (eval, predict), *data
 * keeps the test rows only. Row order is kept. */
int cli_split(const char *cmd, const cli_data_opts *d, nn_data_t **data,
              nn_data_t **test);

/* Names from the CSV header, copied (they outlive a split). */
typedef struct cli_names {
    char **target; /* k names (entries may be NULL) */
    size_t k;
    char **cls;    /* class names */
    size_t ncls;
} cli_names;
int cli_names_take(const nn_data_t *data, cli_names *nm);
void cli_names_free(cli_names *nm);

/* Scale the features in place.
 * Training (saved == NULL, made != NULL): --scale or its default (255 for
 * --images, none for --csv), fitted on these rows; *made receives the
 * scaler to attach to the network (NULL for none).
 * Using a model (made == NULL): `saved` is the model's input scaler (may be
 * NULL). With one, it is applied, and an explicit --scale that describes
 * another scaling is refused (a usage error naming `model`); without one,
 * --scale none|255 or its default is applied, standard|minmax refused. */
int cli_scale_data(const char *cmd, const cli_data_opts *d, const char *model,
                   const nn_scaler_t *saved, nn_data_t *data,
                   nn_scaler_t **made);
/* Training: fit and apply a target scaler (mode SCALE_NONE: none). */
int cli_scale_targets(const char *cmd, int mode, nn_data_t *data,
                      nn_scaler_t **made);
/* Describe a scaler in a few words ("every feature divided by 255"), or as
 * one word (none, 255, standard, minmax, custom). */
void cli_scaler_text(const nn_scaler_t *s, char *buf, size_t size);
const char *cli_scaler_word(const nn_scaler_t *s);
/* The source's name, for messages. */
const char *cli_data_name(const cli_data_opts *d);
/* Checks every label < n_classes; message names the CSV line. */
int cli_check_labels(const cli_data_opts *d, const nn_data_t *data,
                     size_t n_classes, size_t n_out);

/* Number of classes a network's outputs stand for: n_out, or 2 for a
 * single output. */
size_t cli_net_classes(const nn_net_t *net);
/* The predicted class of one output row (as nn_net_evaluate counts it). */
size_t cli_predicted_class(const double *y, size_t n_out);
/* Whether a model is a regression one: it carries a target scaler, or its
 * loss is MSE with an output that is no probability (not sigmoid or
 * softmax). Its truth columns are then real-valued targets. */
bool cli_net_regresses(const nn_net_t *net);

/* ------------------------------------------------------------ files */
/* Files and streams (io.c; the rules are in docs/TOOL.md). "-" is stdin
 * for an input and stdout for an output, in every subcommand. */

/* An argument shortened for messages: at most CLI_CAP_MAX characters, then
 * "..." (a rotating static buffer: up to 4 results live at once). */
#define CLI_CAP_MAX 80
const char *cli_cap(const char *s);
/* How an input's name appears in messages ("stdin" for "-"). */
const char *cli_in_shown(const char *name);
/* Refuses an empty file name ("OPT: empty file name") or one too long. */
int cli_check_path(const char *opt, const char *path);

/* An input for a library loader that takes a path. A regular file is
 * passed as given (the loader reads it once); anything else (stdin, a
 * pipe, a FIFO, a device) is stat'ed first, opened without blocking, read
 * once into an unlinked temporary file, and path is "/dev/fd/N" of it. */
typedef struct cli_in {
    const char *name; /* as given, for messages */
    char *path;       /* what the loader opens */
    int fd;           /* the temporary copy, or -1 */
} cli_in;
int cli_in_open(cli_in *in, const char *opt, const char *name);
void cli_in_close(cli_in *in);
/* The formats a model input may have: libnn's (docs/FORMAT.md), told by
 * its first byte (that of the magic), or ONNX (anything else). */
enum { CLI_MODEL_NATIVE, CLI_MODEL_ONNX };
/* The most an ONNX stream may hold: a protobuf message's limit, 2 GiB. */
#define CLI_ONNX_MAX ((size_t)INT32_MAX)
/* A model input: *regular = true for a regular file (load it by name; its
 * first byte is read for *kind); otherwise the stream is read once into
 * *buf (malloc'ed, *len bytes; one that starts like the model magic but is
 * not stops after 8 bytes, an ONNX one where it stops being a protobuf). */
int cli_read_model_stream(const char *opt, const char *name, bool *regular,
                          int *kind, unsigned char **buf, size_t *len);
/* Loads MODEL in either format (model.c); opt may be NULL (an ONNX model
 * has none: *opt is set to NULL); *kind (may be NULL) receives the
 * format. Prints the error and returns an exit status on failure. */
int cli_load_model(const char *path, nn_net_t **net, nn_optim_t **opt,
                   int *kind);

/* An output. ATOMIC (a regular file or a new name, symlinks followed to
 * their target): written to a temporary beside the target and renamed over
 * it on commit. DIRECT (a character device or FIFO): opened at prepare time
 * (a FIFO without a reader is an error, not a hang) and written in place.
 * STDOUT ("-"). A directory or any other kind is refused. */
enum { OUT_ATOMIC, OUT_DIRECT, OUT_STDOUT };
typedef struct cli_out {
    const char *opt, *dest; /* option and name given, for messages */
    int kind;
    char *target;  /* ATOMIC/DIRECT: the file really written */
    char *tmp;     /* temporary file, or NULL */
    int fd;        /* DIRECT: open descriptor until cli_out_open */
    FILE *f;
    bool exists;   /* identity, for cli_check_files */
    dev_t dev;
    ino_t ino;
    mode_t mode;
    char *id_path; /* a new file: canonical directory + name */
} cli_out;
/* Checks the destination before any work (call cli_out_free after). */
int cli_out_prepare(cli_out *o, const char *opt, const char *dest);
/* o->f for writing (a temporary for ATOMIC). */
int cli_out_open(cli_out *o);
/* A named temporary for another program to write (gnuplot); commit renames
 * it (ATOMIC) or copies it to the destination. */
int cli_out_temp_path(cli_out *o, const char **path);
/* Flush, check, sync, rename; prints the error. Frees o's resources. */
int cli_out_commit(cli_out *o);
/* Open, write n bytes, commit. */
int cli_out_write(cli_out *o, const void *buf, size_t n);
/* Releases o and removes any temporary (an uncommitted output). */
void cli_out_free(cli_out *o);

/* An input named by an option, for cli_check_files. */
typedef struct cli_file {
    const char *opt, *name;
} cli_file;
/* Refuses, before anything is read or written, an output that is the same
 * file as an input (device and inode) or as another output, and two inputs
 * that are both stdin. */
int cli_check_files(const char *cmd, const cli_file *in, size_t n_in,
                    cli_out *const *out, size_t n_out);

/* ------------------------------------------------------------ names */
const char *cli_act_name(nn_activation a);
const char *cli_loss_name(nn_loss l);
const char *cli_optim_name(const nn_optim_t *opt);

/* ------------------------------------------------------------ subcommands */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
