/* checkpoint.c — checkpoints for `libnn train`: where they go, the
 * periodic ones written from the trainer's report callback, the pause on
 * SIGINT / SIGTERM, and loading the file --resume names. Built on the
 * library's nn_checkpoint_* calls; every file goes through io.c's writer
 * (atomic replace, never an input or another output). */
#include "checkpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The signal that asked for a pause (0: none). The handler only sets it:
 * the batch report that follows sees it and pauses the run, which then
 * ends after the step in progress. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    /* a second signal (while the checkpoint is written): the default
     * action; signal() is async-signal-safe */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

void cli_ckpt_arm(const cli_ckpt *c)
{
    got_signal = 0;
    if (!c->path) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* stdio on the progress line goes on */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_ckpt_disarm(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* ------------------------------------------------------------ where */
/* MODEL.ckpt, when the model is a file (not stdout or a device) and the
 * name is free or a regular file: a default that can never stop a run
 * that does not care about checkpoints. NULL otherwise. */
static char *default_path(const cli_out *model)
{
    if (model->kind != OUT_ATOMIC) return NULL;
    size_t n = strlen(model->dest);
    char *p = malloc(n + 6);
    if (!p) return NULL;
    memcpy(p, model->dest, n);
    memcpy(p + n, ".ckpt", 6);
    struct stat sb;
    if (stat(p, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        free(p);
        return NULL;
    }
    return p;
}

int cli_ckpt_prepare(cli_ckpt *c, const char *path, size_t every,
                     const cli_out *model)
{
    memset(c, 0, sizeof *c);
    c->out.fd = -1;
    c->every = every;
    if (!path) path = c->own = default_path(model);
    if (!path) return 0;
    if (!strcmp(path, "-"))
        return cli_usage_error("train", "--checkpoint needs a file name, "
                               "not '-' (each checkpoint replaces the last)");
    int rc = cli_out_prepare(&c->out, "--checkpoint", path);
    if (rc) return rc;
    if (c->out.kind != OUT_ATOMIC)
        return cli_usage_error("train", "--checkpoint %s: not a regular file "
                               "(each checkpoint replaces the last "
                               "atomically)", cli_cap(path));
    c->path = path;
    return 0;
}

void cli_ckpt_free(cli_ckpt *c)
{
    cli_out_free(&c->out);
    free(c->own);
    c->own = NULL;
}

/* ------------------------------------------------------------ saving */
/* The checkpoint as it stands (from the report callback: the run's live
 * progress), through the writer of every output: a temporary beside the
 * file, renamed over it. */
static int save(cli_ckpt *c)
{
    size_t n = 0;
    nn_status st = nn_checkpoint_save_mem(c->net, c->opt, c->tr, NULL, 0, &n);
    unsigned char *buf = st ? NULL : malloc(n);
    if (!st && !buf) st = NN_ERR_NOMEM;
    if (!st) st = nn_checkpoint_save_mem(c->net, c->opt, c->tr, buf, n, &n);
    if (st) {
        free(buf);
        return cli_lib_error("saving the checkpoint", c->path, st, NULL);
    }
    cli_out_free(&c->out); /* a commit releases it: prepare it anew */
    int rc = cli_out_prepare(&c->out, "--checkpoint", c->path);
    if (!rc) rc = cli_out_write(&c->out, buf, n);
    free(buf);
    return rc;
}

/* Every report: the wrapped callback first (it may stop the run), then a
 * pending signal pauses, and every `every` epochs a checkpoint is written
 * (a failed one stops the run: its message is out, its status kept). */
static int32_t ckpt_report(const nn_report *r, void *ctx)
{
    cli_ckpt *c = ctx;
    int32_t answer = c->inner ? c->inner(r, c->inner_ctx) : 0;
    c->epoch = r->epoch;
    c->batch = r->batch;
    if (answer) return answer;
    if (got_signal) return NN_REPORT_PAUSE;
    if (r->kind == NN_REPORT_EPOCH && c->every && r->epoch % c->every == 0 &&
        (c->failed = save(c)))
        return 1;
    return 0;
}

nn_status cli_ckpt_attach(cli_ckpt *c, nn_trainer_t *tr, nn_report_fn inner,
                          void *inner_ctx, const nn_net_t *net,
                          const nn_optim_t *opt)
{
    if (!c->path) return NN_OK;
    c->inner = inner;
    c->inner_ctx = inner_ctx;
    c->net = net;
    c->opt = opt;
    c->tr = tr;
    nn_status st = nn_trainer_set_int(tr, NN_TRAIN_REPORT_EVERY, 1);
    return st ? st : nn_trainer_set_report(tr, ckpt_report, c);
}

int cli_ckpt_finish(cli_ckpt *c, const nn_trainer_t *tr)
{
    int sig = got_signal;
    if (c->failed) return c->failed;
    int64_t paused = 0;
    nn_trainer_get_int(tr, NN_TRAIN_PAUSED, &paused);
    if (!paused) {
        /* a signal after the last report: what it would have done */
        if (sig) raise(sig);
        return 0;
    }
    int rc = save(c);
    if (rc) return rc;
    cli_error("interrupted (%s) after epoch %zu batch %zu: checkpoint saved "
              "to %s; resume with --resume %s",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", c->epoch, c->batch,
              c->path, c->path);
    return 128 + (sig ? sig : SIGINT);
}

/* ------------------------------------------------------------ --resume */
int cli_resume_load(const char *path, nn_trainer_t *tr, nn_net_t **net,
                    nn_optim_t **opt, bool *progress)
{
    cli_in in;
    int rc = cli_in_open(&in, "--resume", path);
    if (rc) return rc;
    nn_error_info err, e2;
    memset(&err, 0, sizeof err);
    nn_status st = nn_checkpoint_load(in.path, net, opt, tr, NULL, &err);
    *progress = st == NN_OK;
    /* a model file (no progress section): a new run from its state */
    if (st == NN_ERR_FORMAT &&
        nn_model_load(in.path, net, opt, NULL, &e2) == NN_OK)
        st = NN_OK;
    cli_in_close(&in);
    if (st)
        return cli_lib_error(st == NN_ERR_FORMAT ? "--resume: not a valid "
                                                   "checkpoint"
                                                 : "--resume: cannot load it",
                             path, st, &err);
    return 0;
}
