/* trainbench.c — training as users run it (issue 15, items 4-6), every
 * figure a paired comparison made in this one process:
 *
 *   train   784-64-10 (relu, softmax CE), batch 64, plain SGD: one epoch of
 *           real nn_train (shuffled rows gathered per batch, per-epoch
 *           work) against the bench's bare step loop (nnbench's row: the
 *           one-call step on one fixed batch, as many steps) and against
 *           the step loop that gathers each batch from shuffled rows first
 *           (what nn_train cannot avoid), at one thread and at two
 *           (batch-parallel NN_TRAIN_THREADS 2, and the BLAS's two
 *           threads);
 *   threads 784-256-128-10 at batch 64 and 1024, Adam and SGD: nn_train
 *           with NN_TRAIN_THREADS 1 against 2, and the BLAS's 1 against 2
 *           threads (NN_TRAIN_THREADS 0);
 *   241     the notes' 2-4-1 network (tanh, sigmoid + BCE) at batch 1:
 *           nn_net_train_step against a hand-written plain-C step of the
 *           same math, checked to give the same parameters first; after a
 *           3 s busy loop (a short row run from an idle CPU reads ~1.5x
 *           slow).
 *
 * Data: Fashion-MNIST's 60,000 training images scaled to [0, 1] (Debian's
 * dataset-fashion-mnist, --data DIR), else random data of that size.
 * Each comparison alternates its sides `reps` times (7; --quick 3); the
 * table gives medians and the median of the paired ratios, which is what
 * survives a machine shared with other work (the load average is printed).
 *
 * usage: trainbench [--quick] [--reps N] [--filter train|threads|241]
 *                   [--data DIR] [--csv FILE] */
#define _POSIX_C_SOURCE 200809L
#include <nn.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

static void die(const char *what, nn_status st)
{
    fprintf(stderr, "trainbench: %s: %s\n", what, nn_strerror(st));
    exit(1);
}

static struct {
    int quick, reps;
    const char *filter, *data, *csv;
    FILE *out;
} opt = {.reps = 7, .data = "/usr/share/datasets/fashion-mnist"};

/* ------------------------------------------------------------ data */
/* Fashion-MNIST's training set (scaled to [0, 1]) or random data of its
 * shape with labels 0..9. */
static nn_data_t *load_data(void)
{
    char xp[512], lp[512];
    snprintf(xp, sizeof xp, "%s/train-images-idx3-ubyte.gz", opt.data);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", opt.data);
    nn_data_t *d = NULL;
    if (nn_data_load_idx(&d, xp, NULL, NULL) == NN_OK &&
        nn_data_load_idx_labels(d, lp, NULL) == NN_OK) {
        double *x = nn_data_x(d);
        for (size_t i = 0; i < nn_data_rows(d) * nn_data_cols(d); i++)
            x[i] /= 255.0;
        printf("# data: %s (Fashion-MNIST, %zu rows)\n", opt.data,
               nn_data_rows(d));
        return d;
    }
    nn_data_destroy(d);
    enum { M = 60000, N = 784 };
    double *X = malloc(sizeof(double) * M * N);
    int32_t *lab = malloc(sizeof(int32_t) * M);
    if (!X || !lab) die("data", NN_ERR_NOMEM);
    uint64_t s = 88172645463325252u;
    for (size_t i = 0; i < (size_t)M * N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        X[i] = (double)(s >> 11) * 0x1.0p-53;
    }
    for (size_t i = 0; i < M; i++) lab[i] = (int32_t)(i * 7 % 10);
    nn_status st = nn_data_create(&d, M, N, NN_ROW_MAJOR, X, N, NULL);
    if (!st) st = nn_data_set_labels(d, lab);
    if (st) die("random data", st);
    free(X);
    free(lab);
    printf("# data: random, 60000 x 784 (no Fashion-MNIST in %s)\n", opt.data);
    return d;
}

/* The first m rows of d. */
static nn_data_t *head_rows(nn_data_t *d, size_t m)
{
    nn_data_t *h = NULL;
    nn_status st = nn_data_create(&h, m, nn_data_cols(d), NN_ROW_MAJOR,
                                  nn_data_x(d), nn_data_cols(d), NULL);
    if (!st) st = nn_data_set_labels(h, nn_data_labels(d));
    if (st) die("rows", st);
    return h;
}

/* ------------------------------------------------------------ networks */
static nn_net_t *make_mlp(size_t n_hidden, const size_t *hidden)
{
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, 784, NN_LOSS_SOFTMAX_CE, NULL);
    for (size_t l = 0; !st && l < n_hidden; l++)
        st = nn_netspec_add_dense(s, hidden[l], NN_ACT_RELU);
    if (!st) st = nn_netspec_add_dense(s, 10, NN_ACT_SOFTMAX);
    nn_net_t *net = NULL;
    if (!st) st = nn_net_create(&net, s, NULL);
    nn_netspec_destroy(s);
    if (!st) st = nn_net_init(net, NN_INIT_DEFAULT, 1);
    if (st) die("network", st);
    return net;
}

static nn_optim_t *make_opt(const nn_net_t *net, nn_optim_kind kind)
{
    nn_optim_t *o = NULL;
    nn_status st = nn_optim_create(&o, net, kind, NULL);
    if (!st && kind == NN_OPTIM_SGD) st = nn_optim_set_real(o, NN_OPTIM_LR, 0.01);
    if (st) die("optimizer", st);
    return o;
}

/* One way of training: nn_train (one epoch) or the bare step loop. */
typedef struct side {
    const char *name;
    int bare;        /* the step loop: 1 on one fixed batch, 2 on batches
                        gathered from shuffled rows (what nn_train does) */
    size_t threads;  /* NN_TRAIN_THREADS                 */
    size_t blas;     /* BLAS threads                     */
} side;

typedef struct bench {
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *tr;
    nn_data_t *data;
    size_t batch, steps;
    size_t *order;   /* a shuffled row order (bare 2) */
    double *gx;      /* one gathered batch */
    int32_t *gl;
} bench;

/* bare 2: each step's rows gathered from the shuffled order, then the
 * step (nn_train's gather, without the rest of nn_train). */
static nn_status gathered_steps(bench *b)
{
    const size_t n = nn_data_cols(b->data), m = nn_data_rows(b->data);
    const double *X = nn_data_x(b->data);
    const int32_t *lab = nn_data_labels(b->data);
    nn_status st = NN_OK;
    for (size_t s = 0; !st && s < b->steps; s++) {
        size_t lo = s * b->batch, mb = m - lo < b->batch ? m - lo : b->batch;
        for (size_t i = 0; i < mb; i++) {
            size_t r = b->order[lo + i];
            memcpy(b->gx + i * n, X + r * n, n * sizeof(double));
            b->gl[i] = lab[r];
        }
        st = nn_net_train_step_labels(b->net, b->opt, mb, NN_ROW_MAJOR, b->gx,
                                      n, b->gl, NULL);
    }
    return st;
}

/* Seconds per sample of one run of s. */
static double run_side(bench *b, const side *s)
{
    nn_set_num_threads(s->blas);
    nn_status st = nn_trainer_set_int(b->tr, NN_TRAIN_THREADS,
                                      (int64_t)s->threads);
    double t0 = now();
    if (!st && s->bare == 2) {
        st = gathered_steps(b);
    } else if (!st && s->bare) {
        const double *X = nn_data_x(b->data);
        const int32_t *lab = nn_data_labels(b->data);
        for (size_t i = 0; !st && i < b->steps; i++)
            st = nn_net_train_step_labels(b->net, b->opt, b->batch,
                                          NN_ROW_MAJOR, X, 784, lab, NULL);
    } else if (!st) {
        st = nn_train(b->tr, b->net, b->opt, b->data, NULL);
    }
    double t = now() - t0;
    if (st) die(s->name, st);
    if (s->blas > 1) { /* OpenBLAS's idle threads spin ~130 ms
                         * after a threaded product: let them sleep */
        struct timespec z = {0, 400000000};
        nanosleep(&z, NULL);
    }
    return t / (double)(b->steps * b->batch);
}

/* Alternate the sides `reps` times; print each side's median samples/s
 * and the median of its paired ratio to side 0. */
static void compare(const char *row, bench *b, const side *sides, int n)
{
    double t[8][64], q[8][64];
    int reps = opt.reps;
    run_side(b, &sides[0]); /* warm-up: buffers, BLAS threads */
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) {
            /* odd repetitions in reverse order: no side always first */
            int k = r % 2 ? n - 1 - i : i;
            t[k][r] = run_side(b, &sides[k]);
        }
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < reps; r++) q[i][r] = t[0][r] / t[i][r];
        double ratio = median(q[i], reps), tm = median(t[i], reps);
        printf("%-30s %-34s %10.0f %8.3f\n", row, sides[i].name, 1.0 / tm,
               ratio);
        if (opt.out)
            fprintf(opt.out, "%s,%s,%zu,%.6g,%.6g,%d\n", row, sides[i].name,
                    b->batch, 1.0 / tm, ratio, reps);
    }
    fflush(stdout);
}

static void bench_init(bench *b, nn_net_t *net, nn_optim_kind kind,
                       nn_data_t *data, size_t batch)
{
    *b = (bench){.net = net, .opt = make_opt(net, kind), .data = data,
                 .batch = batch, .steps = (nn_data_rows(data) - 1) / batch + 1};
    size_t m = nn_data_rows(data);
    b->order = malloc(m * sizeof *b->order);
    b->gx = malloc(batch * nn_data_cols(data) * sizeof *b->gx);
    b->gl = malloc(batch * sizeof *b->gl);
    if (!b->order || !b->gx || !b->gl) die("bench", NN_ERR_NOMEM);
    uint64_t x = 0x2545F4914F6CDD1Du; /* Fisher-Yates on a xorshift */
    for (size_t i = 0; i < m; i++) b->order[i] = i;
    for (size_t i = m - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % (i + 1)), t = b->order[i];
        b->order[i] = b->order[j];
        b->order[j] = t;
    }
    nn_status st = nn_trainer_create(&b->tr, NULL);
    if (!st) st = nn_trainer_set_int(b->tr, NN_TRAIN_EPOCHS, 1);
    if (!st) st = nn_trainer_set_int(b->tr, NN_TRAIN_BATCH_SIZE, (int64_t)batch);
    if (!st) st = nn_net_reserve(net, batch);
    if (st) die("trainer", st);
}

static void bench_free(bench *b)
{
    free(b->order);
    free(b->gx);
    free(b->gl);
    nn_trainer_destroy(b->tr);
    nn_optim_destroy(b->opt);
}

/* ------------------------------------------------------------ rows */
/* Item 4: real nn_train against the bare step loop. */
static void rows_train(nn_data_t *d)
{
    static const size_t h[1] = {64};
    nn_net_t *net = make_mlp(1, h);
    bench b;
    bench_init(&b, net, NN_OPTIM_SGD, d, 64);
    /* the bare loop runs the epoch's number of steps */
    static const side one[] = {{"bare step loop, 1 thread", 1, 0, 1},
                               {"nn_train, 1 thread", 0, 0, 1},
                               {"step loop + gather, 1 thread", 2, 0, 1}};
    compare("784-64-10 b64 sgd", &b, one, 3);
    static const side two[] = {{"bare step loop, BLAS 2 threads", 1, 0, 2},
                               {"nn_train, NN_TRAIN_THREADS 2", 0, 2, 1},
                               {"nn_train, BLAS 2 threads", 0, 0, 2},
                               {"nn_train, 1 thread", 0, 0, 1}};
    compare("784-64-10 b64 sgd 2 thr", &b, two, 4);
    bench_free(&b);
    nn_net_destroy(net);
}

/* Item 5: batch-parallel threads against one thread and the BLAS's. */
static void rows_threads(nn_data_t *d)
{
    static const size_t h[2] = {256, 128};
    size_t rows = opt.quick ? 4096 : 16384;
    nn_data_t *part = head_rows(d, rows);
    static const side s[] = {{"nn_train, 1 thread", 0, 1, 1},
                             {"nn_train, NN_TRAIN_THREADS 2", 0, 2, 1},
                             {"nn_train, BLAS 2 threads", 0, 0, 2}};
    static const size_t batches[2] = {64, 1024};
    static const nn_optim_kind kinds[2] = {NN_OPTIM_ADAM, NN_OPTIM_SGD};
    for (int bi = 0; bi < 2; bi++)
        for (int ki = 0; ki < 2; ki++) {
            nn_net_t *net = make_mlp(2, h);
            bench b;
            bench_init(&b, net, kinds[ki], part, batches[bi]);
            char row[64];
            snprintf(row, sizeof row, "784-256-128-10 b%zu %s", batches[bi],
                     kinds[ki] == NN_OPTIM_ADAM ? "adam" : "sgd");
            compare(row, &b, s, 3);
            bench_free(&b);
            nn_net_destroy(net);
        }
    nn_data_destroy(part);
}

/* ------------------------------------------------------------ 2-4-1 */
/* The notes' network written out by hand: h = tanh(x.W1 + b1),
 * p = sigmoid(h.w2 + b2), BCE; one SGD step per sample. */
typedef struct plain241 {
    double W1[8], b1[4], w2[4], b2, lr;
} plain241;

static void plain_step(plain241 *q, const double *x, double y)
{
    double h[4], z = q->b2;
    for (int j = 0; j < 4; j++) {
        h[j] = tanh(q->b1[j] + x[0] * q->W1[j] + x[1] * q->W1[4 + j]);
        z += h[j] * q->w2[j];
    }
    double d = 1.0 / (1.0 + exp(-z)) - y; /* dL/dz of BCE from the logit */
    for (int j = 0; j < 4; j++) {
        double dh = d * q->w2[j] * (1.0 - h[j] * h[j]);
        q->w2[j] -= q->lr * d * h[j];
        q->W1[j] -= q->lr * dh * x[0];
        q->W1[4 + j] -= q->lr * dh * x[1];
        q->b1[j] -= q->lr * dh;
    }
    q->b2 -= q->lr * d;
}

typedef struct run241 {
    nn_net_t *net;
    nn_optim_t *opt;
    plain241 q;
} run241;

static const double X4[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y4[4] = {0, 1, 1, 0};

static double time241(run241 *c, int plain, long steps)
{
    double t0 = now();
    for (long i = 0; i < steps; i++) {
        size_t r = (size_t)i & 3;
        if (plain)
            plain_step(&c->q, X4 + 2 * r, Y4[r]);
        else
            nn_net_train_step(c->net, c->opt, 1, NN_ROW_MAJOR, X4 + 2 * r, 2,
                              Y4 + r, 1, NULL);
    }
    return (now() - t0) / (double)steps;
}

/* The plain step's parameters against libnn's (max relative difference). */
static double diff241(run241 *c)
{
    const double *p = nn_net_params(c->net); /* W1, b1, W2, b2 */
    const double *q[4] = {c->q.W1, c->q.b1, c->q.w2, &c->q.b2};
    const size_t len[4] = {8, 4, 4, 1};
    double e = 0.0, mag = 0.0;
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < len[k]; i++, p++) {
            e = fmax(e, fabs(*p - q[k][i]));
            mag = fmax(mag, fabs(q[k][i]));
        }
    return e / mag;
}

static void busy(double seconds)
{
    volatile double x = 0.0;
    double t0 = now();
    while (now() - t0 < seconds)
        for (int i = 0; i < 100000; i++) x = x + 1e-9;
}

static void rows_241(void)
{
    nn_set_num_threads(1);
    nn_netspec_t *s = NULL;
    run241 c;
    nn_status st = nn_netspec_create(&s, 2, NN_LOSS_BCE, NULL);
    if (!st) st = nn_netspec_add_dense(s, 4, NN_ACT_TANH);
    if (!st) st = nn_netspec_add_dense(s, 1, NN_ACT_SIGMOID);
    if (!st) st = nn_net_create(&c.net, s, NULL);
    nn_netspec_destroy(s);
    if (!st) st = nn_net_init(c.net, NN_INIT_GLOROT_UNIFORM, 3);
    if (!st) st = nn_net_reserve(c.net, 1);
    if (!st) st = nn_optim_create(&c.opt, c.net, NN_OPTIM_SGD, NULL);
    if (!st) st = nn_optim_set_real(c.opt, NN_OPTIM_LR, 0.01);
    if (st) die("2-4-1", st);
    const double *p = nn_net_params(c.net);
    memcpy(c.q.W1, p, 8 * sizeof(double));
    memcpy(c.q.b1, p + 8, 4 * sizeof(double));
    memcpy(c.q.w2, p + 12, 4 * sizeof(double));
    c.q.b2 = p[16];
    c.q.lr = 0.01;
    time241(&c, 0, 4000); /* the same 4000 steps on both: the check */
    time241(&c, 1, 4000);
    double e = diff241(&c);
    if (!(e <= 1e-9)) {
        printf("%-30s FAIL: plain C and libnn differ by %.3g\n", "2-4-1", e);
        return;
    }
    busy(3.0);
    double t[2][64], q[64]; /* t[0]: libnn, t[1]: plain C */
    long steps = opt.quick ? 200000 : 1000000;
    for (int r = 0; r < opt.reps; r++) {
        int first = r % 2; /* alternate which goes first */
        t[first][r] = time241(&c, first, steps);
        t[!first][r] = time241(&c, !first, steps);
        q[r] = t[0][r] / t[1][r];
    }
    double ratio = median(q, opt.reps);
    double tn = median(t[0], opt.reps), tp = median(t[1], opt.reps);
    printf("%-30s %-34s %10.4f %8.3f\n", "2-4-1 b1 tanh/bce (us/step)",
           "nn_net_train_step (fused SGD)", tn * 1e6, ratio);
    printf("%-30s %-34s %10.4f %8.3f\n", "", "plain C step (same math)",
           tp * 1e6, 1.0);
    printf("# 2-4-1: libnn / plain C = %.3f (median of paired ratios), "
           "parameters equal to %.1e after 4000 steps\n", ratio, e);
    if (opt.out)
        fprintf(opt.out, "2-4-1 b1,libnn us/step,1,%.6g,%.6g,%d\n"
                         "2-4-1 b1,plain C us/step,1,%.6g,1,%d\n",
                tn * 1e6, ratio, opt.reps, tp * 1e6, opt.reps);
    nn_optim_destroy(c.opt);
    nn_net_destroy(c.net);
}

/* ------------------------------------------------------------ main */
static void usage(void)
{
    fprintf(stderr, "usage: trainbench [--quick] [--reps N] "
                    "[--filter train|threads|241] [--data DIR] [--csv FILE]\n");
    exit(2);
}

static int want(const char *name)
{
    return !opt.filter || strstr(name, opt.filter);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) opt.quick = 1;
        else if (!strcmp(a, "--reps") && v) opt.reps = atoi(v), i++;
        else if (!strcmp(a, "--filter") && v) opt.filter = v, i++;
        else if (!strcmp(a, "--data") && v) opt.data = v, i++;
        else if (!strcmp(a, "--csv") && v) opt.csv = v, i++;
        else usage();
    }
    if (opt.quick && opt.reps == 7) opt.reps = 3;
    if (opt.reps < 1 || opt.reps > 64) usage();
    if (opt.csv && !(opt.out = fopen(opt.csv, "w"))) {
        perror(opt.csv);
        return 1;
    }
    if (opt.out) fprintf(opt.out, "row,side,batch,per_s,ratio_to_first,reps\n");
    printf("# libnn %s; BLAS %s (core %s); %d paired repetitions, medians\n",
           nn_version_string(), nn_blas_name(), nn_blas_core(), opt.reps);
    print_load("at start");
    printf("%-30s %-34s %10s %8s\n", "row", "side", "samples/s", "ratio");
    nn_data_t *d = NULL;
    if (want("train") || want("threads")) d = load_data();
    if (want("train")) rows_train(d);
    if (want("threads")) rows_threads(d);
    if (want("241")) rows_241();
    nn_data_destroy(d);
    print_load("at end");
    if (opt.out) fclose(opt.out);
    return 0;
}
