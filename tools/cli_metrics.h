/* cli_metrics.h — what `libnn eval` measures and reports (metrics.c):
 * regression metrics in the targets' original units, per-class precision,
 * recall and F1 from the confusion matrix, class names, and the text and
 * JSON reports (docs/TOOL.md, "Metrics"). */
#ifndef NN_CLI_METRICS_H
#define NN_CLI_METRICS_H

#include "cli.h"

/* The confusion matrix is printed for at most this many classes (64 x 64
 * counts, 32 KiB). */
#define CLI_CONFUSION_MAX 64
/* Per-class precision / recall / F1 are computed for at most this many
 * classes: they need the k x k counts (128 MiB at 4096). */
#define CLI_CLASS_MAX 4096

/* One evaluation, computed once and then reported as text or JSON. */
typedef struct cli_eval {
    const char *model;      /* MODEL as given */
    size_t rows, n_out;
    const char *loss_name;
    double loss;            /* the network's own loss, in its units */
    bool regression;        /* dense targets (else labels) */
    /* regression, in the targets' original units */
    bool scaled;            /* the model carries a target scaler */
    double mse, rmse, mae, r2;
    double *out;            /* n_out x {mse, mae, r2} */
    /* classification */
    size_t k;               /* classes */
    double accuracy;
    size_t *counts;         /* k x k confusion counts; NULL beyond
                               CLI_CLASS_MAX */
    /* borrowed names: regression n_out output names, classification k
     * class names (entries may be NULL), or NULL */
    char *const *names;
} cli_eval;

/* Regression metrics of net on data's dense targets: a target scaler the
 * model carries is applied to the targets first (in place: the network
 * learnt scaled targets), and MSE / MAE converted back to original units.
 * Prints the error and returns an exit status on failure. */
int cli_eval_regression(const nn_net_t *net, nn_ctx_t *ctx, nn_data_t *data,
                        cli_eval *e);
/* Loss, accuracy and (up to CLI_CLASS_MAX classes) the confusion counts. */
int cli_eval_classification(const nn_net_t *net, nn_ctx_t *ctx,
                            const nn_data_t *data, cli_eval *e);
/* The report on stdout: text, or one JSON object. */
void cli_eval_print(const cli_eval *e);
int cli_eval_json(const cli_eval *e);
void cli_eval_free(cli_eval *e);

/* --classes FILE: exactly k names, one a line (a final newline optional,
 * CR LF accepted, no empty name). *names receives k malloc'ed strings. */
int cli_read_classes(const char *path, size_t k, char ***names);
void cli_free_strings(char **s, size_t n);

#endif
