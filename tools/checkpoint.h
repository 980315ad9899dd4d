/* checkpoint.h — checkpoints for `libnn train` (checkpoint.c): where they
 * go (--checkpoint FILE, by default MODEL.ckpt), the periodic ones
 * (--checkpoint-every N epochs), the pause on SIGINT / SIGTERM, and the
 * file --resume reads. The rules are in docs/TRAINING.md, "libnn train:
 * checkpoints and --resume". */
#ifndef NN_CLI_CHECKPOINT_H
#define NN_CLI_CHECKPOINT_H

#include "cli.h"

typedef struct cli_ckpt {
    const char *path; /* where checkpoints go; NULL: nowhere (signals then
                         keep their default action) */
    char *own;        /* the default name, malloc'ed */
    size_t every;     /* --checkpoint-every (0: on a signal only) */
    cli_out out;      /* prepared before any work, re-prepared per save */
    /* during the run: the callback it wraps, what it saves, the last
     * report's position, a failed periodic save's exit status */
    nn_report_fn inner;
    void *inner_ctx;
    const nn_net_t *net;
    const nn_optim_t *opt;
    const nn_trainer_t *tr;
    size_t epoch, batch;
    int failed;
} cli_ckpt;

/* Where checkpoints go: `path` (--checkpoint; may be NULL), else MODEL.ckpt
 * when the model (already prepared) is a file replaced atomically and that
 * name is free or a regular file; else nowhere. Prepared as an output (a
 * regular file or a new name only). Returns 0 or an exit status. */
int cli_ckpt_prepare(cli_ckpt *c, const char *path, size_t every,
                     const cli_out *model);
void cli_ckpt_free(cli_ckpt *c);

/* Route the trainer's reports through the checkpoint logic (a batch report
 * after every batch, so that a signal is seen after the current step),
 * then to inner (may be NULL). Nothing when c has no path. */
nn_status cli_ckpt_attach(cli_ckpt *c, nn_trainer_t *tr, nn_report_fn inner,
                          void *inner_ctx, const nn_net_t *net,
                          const nn_optim_t *opt);

/* SIGINT and SIGTERM set a flag that pauses the run (when c has a path);
 * disarm restores their default action. */
void cli_ckpt_arm(const cli_ckpt *c);
void cli_ckpt_disarm(void);

/* After a successful nn_train: 0 to go on and write the outputs; for a run
 * paused by a signal, the checkpoint saved, one line telling where and how
 * to resume, and 128 + the signal; a failed periodic save's status. */
int cli_ckpt_finish(cli_ckpt *c, const nn_trainer_t *tr);

/* --resume FILE: a checkpoint (net, optimizer, progress into tr:
 * *progress = true) or a model file (its network and optimizer, if any,
 * for a new run: *progress = false); *opt may be NULL then. Prints the
 * error and returns an exit status on failure. */
int cli_resume_load(const char *path, nn_trainer_t *tr, nn_net_t **net,
                    nn_optim_t **opt, bool *progress);

#endif
