/* test_model.c — model files (nn_model_save / _save_mem / _load / _load_mem):
 * bitwise round trips for several architectures, every loss and every
 * optimizer kind; resume equivalence (train k steps, save, load, train k2 ==
 * train k+k2, bitwise, with dropout so that the generator state matters);
 * every corruption class (truncation at every byte, every single-byte flip,
 * wrong magic, future version, hostile sizes with correct checksums, through
 * an allocator that refuses anything over 64 MiB); atomic saves (missing
 * directory, a directory in the way, a write that fails part way through
 * RLIMIT_FSIZE, a read-only directory) that leave the old file and no
 * temporary behind; every byte allocated is returned. Format version 2 adds
 * the network settings (reduction, check-finite, dropout seed) and the
 * attached scalers: both round trip bitwise, and their hostile values are
 * refused. Version-1 files written by libnn 0.x (tests/data/v1_*.nnm, made
 * by tests/data/gen_v1_models.c) load with the parameters, optimizer state,
 * predictions and dropout stream that 0.x recorded.
 *
 * Offsets used below (docs/FORMAT.md, version 2): header 32 bytes (magic
 * 0..7, version 8, reserved 12, payload_len 16, payload_crc 24, header_crc
 * 28); payload at 32: n_in 32, n_layers 40, loss 48, flags 52, layer l at
 * 56 + 32 l (n_out, act +8, kind +12, act_param +16, dropout +24); with L
 * layers the settings are at 56 + 32 L (reduction, check_finite +4, dropout
 * seed +8), the dropout step at 72 + 32 L (then 3 reserved words; a
 * generator state in versions 1-2), n_params at 104 + 32 L, params at
 * 112 + 32 L, then the scalers (kind, reserved +4, n +8, offsets +16, then
 * scales), then the optimizer (kind, decoupled, lr.., steps +64, state_len
 * +72, state +80). Version 1 has no settings (rng at 56 + 32 L). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mknod of a character device (test_save_char_device) */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */
/* Counting allocators (testutil.h) refuse anything over 64 MiB. */
#define MAX_REQUEST ((size_t)64 << 20)

/* Reference CRC-32 (IEEE, reflected 0xEDB88320), independent of zlib. */
static uint32_t ref_crc(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
    }
    return ~c;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}
static void wrf(unsigned char *p, double x)
{
    uint64_t v;
    memcpy(&v, &x, 8);
    wr64(p, v);
}

/* Recompute payload_len, both CRCs of a hand-edited model of n bytes. */
static void fix_crcs(unsigned char *b, size_t n)
{
    wr64(b + 16, n - 32);
    wr32(b + 24, ref_crc(b + 32, n - 32));
    wr32(b + 28, ref_crc(b, 28));
}

/* Architectures: every activation, every loss, dropout in hidden layers,
 * softmax in a hidden layer. */
#define N_ARCH 5
typedef struct {
    size_t n_out;
    nn_activation act;
    double act_param; /* leaky relu only (the others keep the default) */
    double dropout;
} lspec;
typedef struct {
    size_t n_in, n_layers;
    lspec specs[3];
    nn_loss loss;
} arch;
static const arch ARCHS[N_ARCH] = {
    {3, 1, {{1, NN_ACT_IDENTITY, 0, 0}}, NN_LOSS_MSE},
    {4, 2, {{5, NN_ACT_RELU, 0, 0.3}, {3, NN_ACT_SOFTMAX, 0, 0}},
     NN_LOSS_SOFTMAX_CE},
    {2, 3, {{4, NN_ACT_LEAKY_RELU, 0.1, 0.5}, {3, NN_ACT_TANH, 0, 0.2},
            {2, NN_ACT_SIGMOID, 0, 0}}, NN_LOSS_BCE},
    {5, 3, {{3, NN_ACT_SIGMOID, 0, 0.25}, {4, NN_ACT_SOFTMAX, 0, 0},
            {1, NN_ACT_IDENTITY, 0, 0}}, NN_LOSS_MSE},
    {6, 2, {{7, NN_ACT_TANH, 0, 0.4}, {1, NN_ACT_SIGMOID, 0, 0}},
     NN_LOSS_BCE},
};

#define MB 8 /* rows per batch */
#define NB 3 /* batches, cycled */
typedef struct {
    double X[NB][MB * 8];
    double Y[NB][MB * 8];
} batches;

static void make_batches(const arch *a, batches *bt, uint64_t seed)
{
    tu_rng r = {seed};
    size_t k = a->specs[a->n_layers - 1].n_out;
    for (int i = 0; i < NB; i++) {
        tu_fill(&r, bt->X[i], MB * a->n_in, -1, 1);
        tu_fill(&r, bt->Y[i], MB * k, 0, 1);
    }
}

/* The network of an architecture (dropout seed 42, weights seed 42). */
static nn_net_t *make_net(const arch *a, const nn_allocator *al)
{
    nn_netspec_t *sp = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&sp, a->n_in, a->loss, NULL));
    for (size_t l = 0; l < a->n_layers; l++) {
        const lspec *L = &a->specs[l];
        NN_OK_OR_FAIL(nn_netspec_add_dense(sp, L->n_out, L->act));
        if (L->act == NN_ACT_LEAKY_RELU)
            NN_OK_OR_FAIL(nn_netspec_set_real(sp, l, NN_LAYER_ACT_PARAM,
                                              L->act_param));
        NN_OK_OR_FAIL(nn_netspec_set_real(sp, l, NN_LAYER_DROPOUT, L->dropout));
    }
    NN_OK_OR_FAIL(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 42));
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, sp, al));
    nn_netspec_destroy(sp);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_NORMAL, 42));
    return net;
}

/* kind < 0: no optimizer. */
static nn_optim_t *make_opt(nn_net_t *net, int kind, const nn_allocator *al)
{
    if (kind < 0) return NULL;
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, (nn_optim_kind)kind, al));
    NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_LR, 0.05));
    if (kind == NN_OPTIM_ADAM) {
        NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, 0.01));
        NN_OK_OR_FAIL(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 1));
    }
    if (kind == NN_OPTIM_MOMENTUM)
        NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_CLIP_NORM, 0.5));
    if (kind == NN_OPTIM_NESTEROV)
        NN_OK_OR_FAIL(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, 1e-3));
    return opt;
}

/* w -= 0.05 g through the flat arrays (plain SGD without an optimizer). */
static void sgd_by_hand(nn_net_t *net)
{
    double *w = nn_net_params(net);
    const double *g = nn_net_grads(net);
    for (size_t i = 0; i < nn_net_n_params(net); i++) w[i] -= 0.05 * g[i];
}

/* Steps [from, to) on the cycled batches (SGD step of the net itself when
 * there is no optimizer). */
static void train(nn_net_t *net, nn_optim_t *opt, const arch *a,
                  const batches *bt, int from, int to)
{
    size_t k = a->specs[a->n_layers - 1].n_out;
    for (int s = from; s < to; s++) {
        int i = s % NB;
        NN_OK_OR_FAIL(nn_net_gradient(net, MB, NN_ROW_MAJOR, bt->X[i], a->n_in,
                                      bt->Y[i], k, NULL));
        if (opt) NN_OK_OR_FAIL(nn_optim_step(opt, net));
        else sgd_by_hand(net);
    }
}

static unsigned char *to_mem(const nn_net_t *net, const nn_optim_t *opt,
                             size_t *n)
{
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, NULL, 0, n));
    unsigned char *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    size_t n2 = 0;
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, b, *n, &n2));
    ck_assert_uint_eq(n2, *n);
    return b;
}

static void expect_same_params(nn_net_t *a, nn_net_t *b)
{
    ck_assert_uint_eq(nn_net_n_layers(a), nn_net_n_layers(b));
    for (size_t l = 0; l < nn_net_n_layers(a); l++) {
        ck_assert_uint_eq(nn_net_layer_n_in(a, l), nn_net_layer_n_in(b, l));
        ck_assert_uint_eq(nn_net_layer_n_out(a, l), nn_net_layer_n_out(b, l));
    }
    ck_assert_uint_eq(nn_net_n_params(a), nn_net_n_params(b));
    ck_assert(memcmp(nn_net_params(a), nn_net_params(b),
                     nn_net_n_params(a) * sizeof(double)) == 0);
}

static const int32_t OPT_REALS[7] = {
    NN_OPTIM_LR, NN_OPTIM_MOMENTUM_COEF, NN_OPTIM_BETA1, NN_OPTIM_BETA2,
    NN_OPTIM_EPS, NN_OPTIM_WEIGHT_DECAY, NN_OPTIM_CLIP_NORM};

static void expect_same_opt(const nn_optim_t *a, const nn_optim_t *b)
{
    int64_t ka = -1, kb = -2, da = -1, db = -2;
    NN_OK_OR_FAIL(nn_optim_get_int(a, NN_OPTIM_KIND, &ka));
    NN_OK_OR_FAIL(nn_optim_get_int(b, NN_OPTIM_KIND, &kb));
    NN_OK_OR_FAIL(nn_optim_get_int(a, NN_OPTIM_DECOUPLED, &da));
    NN_OK_OR_FAIL(nn_optim_get_int(b, NN_OPTIM_DECOUPLED, &db));
    ck_assert_int_eq(ka, kb);
    ck_assert_int_eq(da, db);
    double fa[7], fb[7];
    for (int i = 0; i < 7; i++) {
        NN_OK_OR_FAIL(nn_optim_get_real(a, OPT_REALS[i], &fa[i]));
        NN_OK_OR_FAIL(nn_optim_get_real(b, OPT_REALS[i], &fb[i]));
    }
    ck_assert(memcmp(fa, fb, sizeof fa) == 0);
    size_t len = nn_optim_state_len(a);
    ck_assert_uint_eq(len, nn_optim_state_len(b));
    double *sa = malloc((len + 1) * sizeof(double));
    double *sb = malloc((len + 1) * sizeof(double));
    uint64_t ta = 0, tb = 1;
    NN_OK_OR_FAIL(nn_optim_get_state(a, &ta, sa, len));
    NN_OK_OR_FAIL(nn_optim_get_state(b, &tb, sb, len));
    ck_assert_uint_eq(ta, tb);
    ck_assert(len == 0 || memcmp(sa, sb, len * sizeof(double)) == 0);
    free(sa);
    free(sb);
}

/* A fresh private directory under $TMPDIR (or /tmp); caller removes it. */
static void make_dir(char *dir, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, cap, "%s/nnmodelXXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Number of entries of dir whose name contains ".tmp." */
static int leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void write_whole(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Load b[0..n) through the counting allocator; returns the status and checks
 * that nothing leaked and nothing huge was asked for. */
static nn_status load_counted(const unsigned char *b, size_t n, int want_opt)
{
    tu_counter c = {.max_request = MAX_REQUEST};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_error_info err;
    nn_status st = nn_model_load_mem(b, n, &net, want_opt ? &opt : NULL, &al,
                                     &err);
    if (st == NN_OK) {
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    } else {
        ck_assert_ptr_null(net);
        ck_assert_ptr_null(opt);
        ck_assert_msg(err.message[0] != '\0', "no message for status %d", st);
    }
    TU_ASSERT_BALANCED(&c);
    ck_assert_int_eq(c.refused, 0);
    /* nothing larger than a small multiple of the input */
    ck_assert_msg(c.largest <= 4 * n + 4096, "allocated %zu for %zu bytes",
                  c.largest, n);
    return st;
}

/* The small model used by the corruption tests: arch 2 (3 layers, dropout,
 * BCE) with Adam after two steps. */
static unsigned char *small_model(size_t *n)
{
    const arch *a = &ARCHS[2];
    batches bt;
    make_batches(a, &bt, 7);
    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, NULL);
    train(net, opt, a, &bt, 0, 2);
    unsigned char *b = to_mem(net, opt, n);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return b;
}

/* ------------------------------------------------------------ round trips */
/* _i = arch * 5 + (optimizer kind + 1), kind -1 = no optimizer. */
START_TEST(test_round_trip)
{
    const arch *a = &ARCHS[_i / 5];
    int kind = _i % 5 - 1;
    batches bt;
    make_batches(a, &bt, 100 + (uint64_t)_i);
    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, kind, NULL);
    train(net, opt, a, &bt, 0, 3);

    size_t n;
    unsigned char *b = to_mem(net, opt, &n);
    tu_counter c = {.max_request = MAX_REQUEST};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net2 = NULL;
    nn_optim_t *opt2 = (nn_optim_t *)&c; /* must be overwritten */
    nn_error_info err;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, &opt2, &al, &err));
    ck_assert_ptr_nonnull(net2);
    if (kind < 0) ck_assert_ptr_null(opt2);
    else ck_assert_ptr_nonnull(opt2);

    /* architecture */
    ck_assert_uint_eq(nn_net_n_in(net2), a->n_in);
    ck_assert_uint_eq(nn_net_n_layers(net2), a->n_layers);
    int64_t loss = -1, seed = 0;
    NN_OK_OR_FAIL(nn_net_get_int(net2, NN_NET_LOSS, &loss));
    ck_assert_int_eq(loss, a->loss);
    NN_OK_OR_FAIL(nn_net_get_int(net2, NN_NET_DROPOUT_SEED, &seed));
    ck_assert_int_eq(seed, 42);
    for (size_t l = 0; l < a->n_layers; l++) {
        int64_t units = 0, act = -1, lkind = -1;
        double slope = -1, drop = -1, slope0 = -2;
        NN_OK_OR_FAIL(nn_net_get_layer_int(net2, l, NN_LAYER_UNITS, &units));
        NN_OK_OR_FAIL(nn_net_get_layer_int(net2, l, NN_LAYER_ACTIVATION, &act));
        NN_OK_OR_FAIL(nn_net_get_layer_int(net2, l, NN_LAYER_KIND, &lkind));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net2, l, NN_LAYER_ACT_PARAM, &slope));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net2, l, NN_LAYER_DROPOUT, &drop));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &slope0));
        ck_assert_uint_eq((size_t)units, a->specs[l].n_out);
        ck_assert_int_eq(act, a->specs[l].act);
        ck_assert_int_eq(lkind, NN_LAYER_DENSE);
        ck_assert(memcmp(&slope, &slope0, 8) == 0);
        if (a->specs[l].act == NN_ACT_LEAKY_RELU)
            ck_assert(slope == a->specs[l].act_param);
        ck_assert(memcmp(&drop, &a->specs[l].dropout, 8) == 0);
    }
    expect_same_params(net, net2);
    if (opt) expect_same_opt(opt, opt2);

    /* predictions to the last bit */
    size_t k = nn_net_n_out(net);
    double P1[MB * 8], P2[MB * 8];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, MB, NN_ROW_MAJOR, bt.X[0], a->n_in, P1, k));
    NN_OK_OR_FAIL(nn_net_predict(net2, NULL, MB, NN_ROW_MAJOR, bt.X[0], a->n_in, P2, k));
    ck_assert(memcmp(P1, P2, MB * k * sizeof(double)) == 0);

    /* saving the loaded model gives the same bytes (dropout state included) */
    size_t n2;
    unsigned char *b2 = to_mem(net2, opt2, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert(memcmp(b, b2, n) == 0);

    /* the next training step (dropout masks included) is identical too */
    train(net, opt, a, &bt, 3, 5);
    train(net2, opt2, a, &bt, 3, 5);
    expect_same_params(net, net2);

    nn_optim_destroy(opt2);
    nn_net_destroy(net2);
    TU_ASSERT_BALANCED(&c);
    ck_assert_int_gt(c.attempts, 0);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    free(b);
    free(b2);
}
END_TEST

START_TEST(test_file_round_trip)
{
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.nnm", dir);
    const arch *a = &ARCHS[1];
    batches bt;
    make_batches(a, &bt, 5);
    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_NESTEROV, NULL);
    train(net, opt, a, &bt, 0, 4);

    nn_error_info err;
    NN_OK_OR_FAIL(nn_model_save(path, net, opt, &err));
    ck_assert_int_eq(leftovers(dir), 0);
    size_t nf, nm;
    unsigned char *f = read_whole(path, &nf);
    unsigned char *m = to_mem(net, opt, &nm);
    ck_assert_uint_eq(nf, nm);
    ck_assert(memcmp(f, m, nm) == 0);

    tu_counter c = {.max_request = MAX_REQUEST};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net2 = NULL;
    nn_optim_t *opt2 = NULL;
    NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, &al, &err));
    expect_same_params(net, net2);
    expect_same_opt(opt, opt2);
    nn_optim_destroy(opt2);
    nn_net_destroy(net2);
    /* a file with an optimizer, loaded without asking for it */
    NN_OK_OR_FAIL(nn_model_load(path, &net2, NULL, &al, &err));
    expect_same_params(net, net2);
    nn_net_destroy(net2);
    TU_ASSERT_BALANCED(&c);

    /* overwrite with a net-only model: replaced, no optimizer, no leftovers */
    NN_OK_OR_FAIL(nn_model_save(path, net, NULL, NULL));
    opt2 = (nn_optim_t *)&c;
    NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, NULL, NULL));
    ck_assert_ptr_null(opt2);
    nn_net_destroy(net2);
    ck_assert_int_eq(leftovers(dir), 0);

    /* relative path (no directory part) */
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    NN_OK_OR_FAIL(nn_model_save("rel.nnm", net, opt, NULL));
    NN_OK_OR_FAIL(nn_model_load("rel.nnm", &net2, NULL, NULL, NULL));
    nn_net_destroy(net2);
    unlink("rel.nnm");
    ck_assert_int_eq(chdir(cwd), 0);

    unlink(path);
    rmdir(dir);
    free(f);
    free(m);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

START_TEST(test_save_mem_contract)
{
    const arch *a = &ARCHS[3];
    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, NULL);
    size_t n = 0, n_net = 0;
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, NULL, 0, &n));
    NN_OK_OR_FAIL(nn_model_save_mem(net, NULL, NULL, 0, &n_net));
    size_t np = nn_net_n_params(net);
    ck_assert_uint_eq(n_net, 112 + 32 * a->n_layers + 8 * np);
    ck_assert_uint_eq(n, n_net + 80 + 8 * 2 * np);

    unsigned char *b = malloc(n + 16);
    memset(b, 0xAB, n + 16);
    size_t got = 0;
    ck_assert_int_eq(nn_model_save_mem(net, opt, b, n - 1, &got), NN_ERR_SHAPE);
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i < n + 16; i++) ck_assert_uint_eq(b[i], 0xAB);
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, b, n + 16, &got));
    ck_assert_uint_eq(got, n);
    for (size_t i = n; i < n + 16; i++) ck_assert_uint_eq(b[i], 0xAB);

    /* the header as documented */
    static const unsigned char magic[8] = {0x89, 'N', 'N', 'M', '\r', '\n',
                                           0x1A, '\n'};
    ck_assert(memcmp(b, magic, 8) == 0);
    ck_assert_uint_eq(rd32(b + 8), NN_MODEL_FORMAT_VERSION);
    ck_assert_uint_eq(rd32(b + 12), 0);
    ck_assert_uint_eq(rd64(b + 16), n - 32);
    ck_assert_uint_eq(rd32(b + 24), ref_crc(b + 32, n - 32));
    ck_assert_uint_eq(rd32(b + 28), ref_crc(b, 28));
    ck_assert_uint_eq(rd64(b + 32), a->n_in);
    ck_assert_uint_eq(rd64(b + 40), a->n_layers);
    ck_assert_uint_eq(rd32(b + 48), a->loss);
    ck_assert_uint_eq(rd32(b + 52), 1);
    ck_assert_uint_eq(rd32(b + 56 + 8), a->specs[0].act);
    ck_assert_uint_eq(rd32(b + 56 + 12), NN_LAYER_DENSE);
    ck_assert_uint_eq(rd32(b + 56 + 32 * a->n_layers), NN_REDUCE_MEAN);
    ck_assert_uint_eq(rd32(b + 60 + 32 * a->n_layers), 0);
    ck_assert_uint_eq(rd64(b + 64 + 32 * a->n_layers), 42);
    ck_assert_uint_eq(rd64(b + 104 + 32 * a->n_layers), np);
    double w0;
    memcpy(&w0, &(uint64_t){rd64(b + 112 + 32 * a->n_layers)}, 8);
    ck_assert(memcmp(&w0, nn_net_params(net), 8) == 0);
    ck_assert_uint_eq(rd32(b + 112 + 32 * a->n_layers + 8 * np), NN_OPTIM_ADAM);

    /* argument errors */
    ck_assert_int_eq(nn_model_save_mem(NULL, NULL, NULL, 0, &got), NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_save_mem(net, NULL, NULL, 0, NULL), NN_ERR_INVALID);
    nn_net_t *other = make_net(&ARCHS[0], NULL);
    nn_optim_t *other_opt = make_opt(other, NN_OPTIM_ADAM, NULL);
    ck_assert_int_eq(nn_model_save_mem(net, other_opt, NULL, 0, &got),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_save(NULL, net, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_save("", net, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_save("/tmp/x.nnm", NULL, NULL, NULL), NN_ERR_INVALID);
    nn_net_t *out = NULL;
    ck_assert_int_eq(nn_model_load_mem(b, n, NULL, NULL, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_load_mem(NULL, 5, &out, NULL, NULL, NULL), NN_ERR_INVALID);
    nn_allocator bad_al = {NULL, NULL, NULL};
    ck_assert_int_eq(nn_model_load_mem(b, n, &out, NULL, &bad_al, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_model_load_mem(b, 0, &out, NULL, NULL, NULL), NN_ERR_FORMAT);
    ck_assert_int_eq(nn_model_load(NULL, &out, NULL, NULL, NULL), NN_ERR_INVALID);
    ck_assert_ptr_null(out);

    nn_optim_destroy(other_opt);
    nn_net_destroy(other);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ resume */
/* _i = optimizer kind. Arch 2 has dropout in two layers: the masks after the
 * resume depend on the saved generator state. */
START_TEST(test_resume_equivalence)
{
    NN_OK_OR_FAIL(nn_set_num_threads(1));
    const arch *a = &ARCHS[2];
    batches bt;
    make_batches(a, &bt, 11);
    const int k = 5, k2 = 7;

    nn_net_t *ref = make_net(a, NULL);
    nn_optim_t *ref_opt = make_opt(ref, _i, NULL);
    train(ref, ref_opt, a, &bt, 0, k + k2);

    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, _i, NULL);
    train(net, opt, a, &bt, 0, k);
    size_t n;
    unsigned char *b = to_mem(net, opt, &n);
    nn_optim_destroy(opt);
    nn_net_destroy(net);

    net = NULL;
    opt = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net, &opt, NULL, NULL));
    train(net, opt, a, &bt, k, k + k2);
    expect_same_params(ref, net);
    expect_same_opt(ref_opt, opt);

    /* and one more gradient: same loss to the last bit */
    double l1, l2;
    size_t ko = nn_net_n_out(net);
    NN_OK_OR_FAIL(nn_net_gradient(ref, MB, NN_ROW_MAJOR, bt.X[1], a->n_in,
                                  bt.Y[1], ko, &l1));
    NN_OK_OR_FAIL(nn_net_gradient(net, MB, NN_ROW_MAJOR, bt.X[1], a->n_in,
                                  bt.Y[1], ko, &l2));
    ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);

    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_optim_destroy(ref_opt);
    nn_net_destroy(ref);
    free(b);
}
END_TEST

/* Without the saved generator state the trajectory would differ: guards the
 * test above against dropout not mattering. */
START_TEST(test_resume_needs_rng_state)
{
    NN_OK_OR_FAIL(nn_set_num_threads(1));
    const arch *a = &ARCHS[2];
    batches bt;
    make_batches(a, &bt, 11);
    nn_net_t *ref = make_net(a, NULL);
    train(ref, NULL, a, &bt, 0, 4);
    nn_net_t *net = make_net(a, NULL);
    train(net, NULL, a, &bt, 0, 2);
    size_t n;
    unsigned char *b = to_mem(net, NULL, &n);
    /* restart the generator (as nn_net_init(seed 42) would) in the copy */
    size_t rng_off = 72 + 32 * a->n_layers;
    nn_net_t *fresh = make_net(a, NULL);
    size_t nf;
    unsigned char *bf = to_mem(fresh, NULL, &nf);
    memcpy(b + rng_off, bf + rng_off, 32);
    fix_crcs(b, n);
    nn_net_t *net2 = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, NULL, NULL, NULL));
    train(net2, NULL, a, &bt, 2, 4);
    size_t nw = nn_net_layer_n_in(ref, 0) * nn_net_layer_n_out(ref, 0);
    ck_assert(memcmp(nn_net_params(ref), nn_net_params(net2),
                     nw * sizeof(double)) != 0);
    nn_net_destroy(net2);
    nn_net_destroy(fresh);
    nn_net_destroy(net);
    nn_net_destroy(ref);
    free(b);
    free(bf);
}
END_TEST

/* ------------------------------------------------------------ corruption */
START_TEST(test_truncate_every_byte)
{
    size_t n;
    unsigned char *b = small_model(&n);
    ck_assert_int_eq(load_counted(b, n, 1), NN_OK);
    for (size_t len = 0; len < n; len++) {
        /* a fresh copy of exactly len bytes, so that ASan sees over-reads */
        unsigned char *t = malloc(len ? len : 1);
        memcpy(t, b, len);
        nn_status st = len ? load_counted(t, len, 1)
                           : nn_model_load_mem(t, 0, &(nn_net_t *){NULL}, NULL,
                                               NULL, NULL);
        ck_assert_msg(st == NN_ERR_FORMAT, "truncated at %zu: status %d", len,
                      st);
        free(t);
    }
    /* the same through a file, at a few lengths */
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.nnm", dir);
    const size_t lens[] = {0, 1, 8, 12, 31, 32, 33, 100, n / 2, n - 8, n - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        write_whole(path, b, lens[i]);
        nn_net_t *net = NULL;
        nn_error_info err;
        nn_status st = nn_model_load(path, &net, NULL, NULL, &err);
        ck_assert_msg(st == NN_ERR_FORMAT, "file of %zu bytes: %d", lens[i], st);
        ck_assert_str_eq(err.file, path);
        ck_assert_ptr_null(net);
    }
    unlink(path);
    rmdir(dir);
    free(b);
}
END_TEST

START_TEST(test_flip_every_byte)
{
    size_t n;
    unsigned char *b = small_model(&n);
    const unsigned char masks[] = {0x01, 0x80, 0xFF};
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t i = 0; i < n; i++) {
            unsigned char *t = malloc(n);
            memcpy(t, b, n);
            t[i] ^= masks[m];
            nn_status st = load_counted(t, n, 1);
            /* a flip in the version field may read as a newer version */
            int ok = st == NN_ERR_FORMAT ||
                      (st == NN_ERR_UNSUPPORTED && i >= 8 && i < 12);
            ck_assert_msg(ok, "flip 0x%02x at %zu: status %d", masks[m], i, st);
            free(t);
        }
    }
    free(b);
}
END_TEST

START_TEST(test_magic_and_version)
{
    size_t n;
    unsigned char *b = small_model(&n);
    /* wrong magic (text, another format, all zeros) */
    unsigned char *t = malloc(n);
    memcpy(t, b, n);
    memcpy(t, "LIBNN\0MD", 8);
    ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
    memset(t, 0, n);
    ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
    /* future versions: UNSUPPORTED whatever follows, even a bare prefix */
    const uint32_t future[] = {NN_MODEL_FORMAT_VERSION + 1, 77, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        memcpy(t, b, n);
        wr32(t + 8, future[i]);
        nn_error_info err;
        nn_net_t *net = NULL;
        ck_assert_int_eq(nn_model_load_mem(t, n, &net, NULL, NULL, &err),
                         NN_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.message, "newer"));
        ck_assert_int_eq(load_counted(t, 12, 1), NN_ERR_UNSUPPORTED);
        fix_crcs(t, n); /* a consistent newer header too */
        ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_UNSUPPORTED);
    }
    /* version 0 is not a version */
    memcpy(t, b, n);
    wr32(t + 8, 0);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
    /* trailing bytes */
    unsigned char *longer = malloc(n + 8);
    memcpy(longer, b, n);
    memset(longer + n, 0, 8);
    ck_assert_int_eq(load_counted(longer, n + 8, 1), NN_ERR_FORMAT);
    free(longer);
    free(t);
    free(b);
}
END_TEST

/* One hand-edited field of a valid model with both CRCs recomputed. */
typedef struct {
    const char *what;
    size_t off;  /* from the start of the file */
    int width;   /* 4 or 8 bytes; 0: a double */
    uint64_t value;
    double dvalue;
} edit;

START_TEST(test_hostile_fields)
{
    size_t n;
    unsigned char *b = small_model(&n); /* arch 2: 3 layers, n_in 2 */
    const size_t L = 3, np = 2 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2;
    const size_t set = 56 + 32 * L, rng = 72 + 32 * L, npo = 104 + 32 * L;
    const size_t opt = 112 + 32 * L + 8 * np;
    const edit edits[] = {
        {"n_layers 2^40", 40, 8, (uint64_t)1 << 40, 0},
        {"n_layers 2^64-1", 40, 8, UINT64_MAX, 0},
        {"n_layers 0", 40, 8, 0, 0},
        {"n_layers 4", 40, 8, 4, 0},
        {"n_layers 2", 40, 8, 2, 0},
        {"n_in 0", 32, 8, 0, 0},
        {"n_in 2^63", 32, 8, (uint64_t)1 << 63, 0},
        {"n_in 2^40", 32, 8, (uint64_t)1 << 40, 0},
        {"n_out 2^62", 56, 8, (uint64_t)1 << 62, 0},
        {"n_out 0", 56, 8, 0, 0},
        {"n_out of the last layer", 56 + 64, 8, 3, 0},
        {"loss 3", 48, 4, 3, 0},
        {"loss 2^31", 48, 4, 0x80000000u, 0},
        {"softmax CE loss on a sigmoid output", 48, 4, NN_LOSS_SOFTMAX_CE, 0},
        {"flags 2 (an input scaler where the optimizer is)", 52, 4, 2, 0},
        {"flags 8", 52, 4, 8, 0},
        {"flags 0x80000001", 52, 4, 0x80000001u, 0},
        {"flags 0 (optimizer bytes left over)", 52, 4, 0, 0},
        {"activation 6", 64, 4, 6, 0},
        {"activation 2^32-1", 64, 4, 0xFFFFFFFFu, 0},
        {"layer kind 1", 68, 4, 1, 0},
        {"layer kind 2^32-1", 68 + 32, 4, 0xFFFFFFFFu, 0},
        {"reduction 2", set, 4, 2, 0},
        {"reduction 2^31", set, 4, 0x80000000u, 0},
        {"check_finite 2", set + 4, 4, 2, 0},
        {"slope NaN", 72, 0, 0, NAN},
        {"slope -1", 72, 0, 0, -1.0},
        {"slope inf", 72, 0, 0, INFINITY},
        {"dropout 1", 80, 0, 0, 1.0},
        {"dropout -0.1", 80, 0, 0, -0.1},
        {"dropout NaN", 80, 0, 0, NAN},
        {"dropout on the output layer", 80 + 64, 0, 0, 0.5},
        {"dropout reserved word 1", rng + 8, 8, 1, 0},
        {"dropout reserved word 3", rng + 24, 8, (uint64_t)1 << 63, 0},
        {"dropout step 2^63", rng, 8, (uint64_t)1 << 63, 0},
        {"n_params + 1", npo, 8, np + 1, 0},
        {"n_params 2^61", npo, 8, (uint64_t)1 << 61, 0},
        {"n_params 0", npo, 8, 0, 0},
        {"optimizer kind 4", opt, 4, 4, 0},
        {"decoupled 2", opt + 4, 4, 2, 0},
        {"lr -1", opt + 8, 0, 0, -1.0},
        {"lr NaN", opt + 8, 0, 0, NAN},
        {"momentum 1", opt + 16, 0, 0, 1.0},
        {"beta2 2", opt + 32, 0, 0, 2.0},
        {"eps 0", opt + 40, 0, 0, 0.0},
        {"weight decay -1", opt + 48, 0, 0, -1.0},
        {"clip inf", opt + 56, 0, 0, INFINITY},
        {"state_len 2^62", opt + 72, 8, (uint64_t)1 << 62, 0},
        {"state_len 2^64-1", opt + 72, 8, UINT64_MAX, 0},
        {"state_len np", opt + 72, 8, np, 0},
        {"state_len 0", opt + 72, 8, 0, 0},
        {"reserved header field", 12, 4, 1, 0},
        {"negative Adam second moment", opt + 80 + 8 * np, 0, 0, -1.0},
        {"negative last second moment", opt + 80 + 16 * np - 8, 0, 0, -1e-300},
    };
    unsigned char *t = malloc(n);
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        const edit *d = &edits[e];
        memcpy(t, b, n);
        if (d->width == 4) wr32(t + d->off, (uint32_t)d->value);
        else if (d->width == 8) wr64(t + d->off, d->value);
        else wrf(t + d->off, d->dvalue);
        fix_crcs(t, n);
        nn_status st = load_counted(t, n, 1);
        ck_assert_msg(st == NN_ERR_FORMAT, "%s: status %d", d->what, st);
        ck_assert_int_eq(load_counted(t, n, 0), NN_ERR_FORMAT);
    }
    /* a NaN moment (a diverged run) and a negative FIRST moment still load */
    memcpy(t, b, n);
    wrf(t + opt + 80 + 8 * np, NAN);
    wrf(t + opt + 80, -1.0);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, 1), NN_OK);
    /* decoupled on a non-Adam optimizer: rewrite kind to SGD (Adam file has
     * decoupled = 1); the state length then no longer matches either way */
    memcpy(t, b, n);
    ck_assert_uint_eq(rd32(t + opt + 4), 1);
    wr32(t + opt, NN_OPTIM_SGD);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
    /* payload_len that disagrees with the size (consistent header CRC) */
    const uint64_t lens[] = {0, n - 33, n - 31, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t i = 0; i < 5; i++) {
        memcpy(t, b, n);
        wr64(t + 16, lens[i]);
        wr32(t + 28, ref_crc(t, 28));
        ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
    }
    free(t);
    free(b);
}
END_TEST

/* Tiny hand-built files whose header and CRCs are right but whose counts
 * claim far more than the bytes present. */
START_TEST(test_hostile_tiny_files)
{
    unsigned char f[256];
    static const unsigned char magic[8] = {0x89, 'N', 'N', 'M', '\r', '\n',
                                           0x1A, '\n'};
    /* header + n_in, n_layers, loss, flags only (either version) */
    const uint64_t layers[] = {(uint64_t)1 << 40, (uint64_t)1 << 20, 1, 2};
    for (uint32_t v = 1; v <= 2; v++)
        for (size_t i = 0; i < 4; i++) {
            memset(f, 0, sizeof f);
            memcpy(f, magic, 8);
            wr32(f + 8, v);
            wr64(f + 32, 784);
            wr64(f + 40, layers[i]);
            size_t n = 56;
            fix_crcs(f, n);
            ck_assert_int_eq(load_counted(f, n, 1), NN_ERR_FORMAT);
        }
    /* one layer of 2^20 x 2^20 weights, n_params claimed correctly, no data */
    memset(f, 0, sizeof f);
    memcpy(f, magic, 8);
    wr32(f + 8, 2);
    wr64(f + 32, (uint64_t)1 << 20);
    wr64(f + 40, 1);
    wr64(f + 56, (uint64_t)1 << 20);
    wr64(f + 104, 0x12345);                                /* rng */
    wr64(f + 136, ((uint64_t)1 << 40) + ((uint64_t)1 << 20)); /* n_params */
    fix_crcs(f, 144);
    ck_assert_int_eq(load_counted(f, 144, 1), NN_ERR_FORMAT);
    /* the same with 8 parameter bytes present */
    fix_crcs(f, 152);
    ck_assert_int_eq(load_counted(f, 152, 1), NN_ERR_FORMAT);
    /* a scaler claiming 2^60 columns after a valid 1 -> 1 net */
    memset(f, 0, sizeof f);
    memcpy(f, magic, 8);
    wr32(f + 8, 2);
    wr64(f + 32, 1);
    wr64(f + 40, 1);
    wr32(f + 52, 2); /* an input scaler follows */
    wr64(f + 56, 1);
    wr64(f + 104, 1);
    wr64(f + 136, 2);
    wr64(f + 168, (uint64_t)1 << 60);
    fix_crcs(f, 192);
    ck_assert_int_eq(load_counted(f, 192, 1), NN_ERR_FORMAT);

    /* a valid minimal model built by hand: 1 -> 1 identity, MSE, in
     * version 2 (settings: sum reduction, check-finite on, dropout seed 7)
     * and in version 1 (no settings) */
    for (uint32_t v = 2; v >= 1; v--) {
        size_t at; /* where the rng starts */
        memset(f, 0, sizeof f);
        memcpy(f, magic, 8);
        wr32(f + 8, v);
        wr64(f + 32, 1);
        wr64(f + 40, 1);
        wr64(f + 56, 1);
        if (v == 2) {
            wr32(f + 88, NN_REDUCE_SUM);
            wr32(f + 92, 1);
            wr64(f + 96, 7);
            at = 104;
        } else {
            at = 88;
        }
        wr64(f + at, 1);        /* rng */
        wr64(f + at + 32, 2);   /* n_params */
        wrf(f + at + 40, 0.5);  /* w */
        wrf(f + at + 48, -0.25); /* b */
        size_t n = at + 56;
        fix_crcs(f, n);
        nn_net_t *net = NULL;
        NN_OK_OR_FAIL(nn_model_load_mem(f, n, &net, NULL, NULL, NULL));
        double x = 2.0, y = 0;
        NN_OK_OR_FAIL(nn_net_predict(net, NULL, 1, NN_ROW_MAJOR, &x, 1, &y, 1));
        ck_assert(y == 0.75);
        int64_t red = -1, cf = -1, seed = -1;
        NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &red));
        NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_CHECK_FINITE, &cf));
        NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_SEED, &seed));
        ck_assert_int_eq(red, v == 2 ? NN_REDUCE_SUM : NN_REDUCE_MEAN);
        ck_assert_int_eq(cf, v == 2 ? 1 : 0);
        ck_assert_int_eq(seed, v == 2 ? 7 : 0);
        nn_net_destroy(net);
        /* version 1 knows no scaler flags */
        if (v == 1) {
            wr32(f + 52, 2);
            fix_crcs(f, n);
            ck_assert_int_eq(load_counted(f, n, 1), NN_ERR_FORMAT);
        }
    }
}
END_TEST

/* ------------------------------------------------------------ files */
START_TEST(test_load_io_errors)
{
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing.nnm", dir);
    nn_net_t *net = NULL;
    nn_error_info err;
    ck_assert_int_eq(nn_model_load(path, &net, NULL, NULL, &err), NN_ERR_IO);
    ck_assert_str_eq(err.file, path);
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ENOENT)));
    ck_assert_int_eq(nn_model_load(dir, &net, NULL, NULL, &err), NN_ERR_IO);
    write_whole(path, "", 0);
    ck_assert_int_eq(nn_model_load(path, &net, NULL, NULL, &err), NN_ERR_FORMAT);
    write_whole(path, "hello, world\n", 13);
    ck_assert_int_eq(nn_model_load(path, &net, NULL, NULL, &err), NN_ERR_FORMAT);
    ck_assert_ptr_null(net);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The old file must be byte-for-byte what it was, and no temporary left. */
static void expect_old(const char *dir, const char *path,
                       const unsigned char *old, size_t n_old)
{
    size_t n;
    unsigned char *now = read_whole(path, &n);
    ck_assert_uint_eq(n, n_old);
    ck_assert(memcmp(now, old, n) == 0);
    free(now);
    ck_assert_int_eq(leftovers(dir), 0);
}

START_TEST(test_atomic_save_failures)
{
    char dir[512], path[600], sub[600], inner[700];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.nnm", dir);
    nn_net_t *small = make_net(&ARCHS[0], NULL);
    nn_net_t *big = make_net(&ARCHS[4], NULL);
    nn_optim_t *big_opt = make_opt(big, NN_OPTIM_ADAM, NULL);
    NN_OK_OR_FAIL(nn_model_save(path, small, NULL, NULL));
    size_t n_old;
    unsigned char *old = read_whole(path, &n_old);
    nn_error_info err;

    /* a directory that does not exist */
    snprintf(sub, sizeof sub, "%s/no/such/dir/m.nnm", dir);
    ck_assert_int_eq(nn_model_save(sub, big, big_opt, &err), NN_ERR_IO);
    ck_assert_str_eq(err.file, sub);
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ENOENT)));

    /* a non-empty directory in the way: refused before anything is written */
    snprintf(sub, sizeof sub, "%s/adir", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    write_whole(inner, "x", 1);
    ck_assert_int_eq(nn_model_save(sub, big, big_opt, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "directory"));
    struct stat sb;
    ck_assert_int_eq(stat(inner, &sb), 0);
    ck_assert_int_eq(leftovers(dir), 0);
    unlink(inner);
    rmdir(sub);

    /* a write that fails part way: the file size limit is below the model */
    size_t n_big;
    NN_OK_OR_FAIL(nn_model_save_mem(big, big_opt, NULL, 0, &n_big));
    ck_assert_uint_gt(n_big, 600);
    struct rlimit saved, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 300;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    nn_status st = nn_model_save(path, big, big_opt, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(st, NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "write"));
    expect_old(dir, path, old, n_old);

    /* a read-only directory (permissions do not bind root) */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(dir, 0500), 0);
        st = nn_model_save(path, big, big_opt, &err);
        ck_assert_int_eq(chmod(dir, 0700), 0);
        ck_assert_int_eq(st, NN_ERR_IO);
        ck_assert_ptr_nonnull(strstr(err.message, strerror(EACCES)));
        expect_old(dir, path, old, n_old);
    }

    /* and a save that works replaces the file */
    NN_OK_OR_FAIL(nn_model_save(path, big, big_opt, &err));
    size_t n_new;
    unsigned char *now = read_whole(path, &n_new);
    ck_assert_uint_eq(n_new, n_big);
    ck_assert_int_eq(leftovers(dir), 0);
    free(now);

    unlink(path);
    rmdir(dir);
    free(old);
    nn_optim_destroy(big_opt);
    nn_net_destroy(big);
    nn_net_destroy(small);
}
END_TEST

/* ------------------------------------------------------------ destinations */
/* The bytes nn_model_save must write for net: nn_model_save_mem's. */
static unsigned char *model_image(const nn_net_t *net, size_t *n)
{
    NN_OK_OR_FAIL(nn_model_save_mem(net, NULL, NULL, 0, n));
    unsigned char *b = malloc(*n);
    NN_OK_OR_FAIL(nn_model_save_mem(net, NULL, b, *n, n));
    return b;
}

static void expect_file(const char *path, const unsigned char *b, size_t n)
{
    size_t got;
    unsigned char *now = read_whole(path, &got);
    ck_assert_uint_eq(got, n);
    ck_assert(memcmp(now, b, n) == 0);
    free(now);
}

static mode_t lmode(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(lstat(path, &sb), 0);
    return sb.st_mode;
}

/* Symbolic links are followed and their final target replaced atomically
 * (the link stays a link; a dangling one creates its target); a replaced
 * regular file keeps its permission bits; a directory is refused. */
START_TEST(test_save_regular_and_links)
{
    char dir[512], f[600], l1[600], l2[600], dang[600], tgt[600];
    make_dir(dir, sizeof dir);
    snprintf(f, sizeof f, "%s/real.nnm", dir);
    snprintf(l1, sizeof l1, "%s/link1", dir);
    snprintf(l2, sizeof l2, "%s/link2", dir);
    snprintf(dang, sizeof dang, "%s/dangling", dir);
    snprintf(tgt, sizeof tgt, "%s/created.nnm", dir);
    nn_net_t *a = make_net(&ARCHS[0], NULL), *b = make_net(&ARCHS[1], NULL);
    size_t na, nb;
    unsigned char *ia = model_image(a, &na), *ib = model_image(b, &nb);
    nn_error_info err;

    /* a new file, then the same file replaced; its mode 0600 is kept */
    NN_OK_OR_FAIL(nn_model_save(f, a, NULL, &err));
    expect_file(f, ia, na);
    ck_assert_int_eq(chmod(f, 0600), 0);
    /* link2 -> link1 -> real.nnm (relative targets, resolved in the
     * link's directory, not the working directory) */
    ck_assert_int_eq(symlink("real.nnm", l1), 0);
    ck_assert_int_eq(symlink("link1", l2), 0);
    NN_OK_OR_FAIL(nn_model_save(l2, b, NULL, &err));
    ck_assert(S_ISLNK(lmode(l1)) && S_ISLNK(lmode(l2)));
    ck_assert(S_ISREG(lmode(f)));
    ck_assert_uint_eq(lmode(f) & 07777, 0600);
    expect_file(f, ib, nb);
    ck_assert_int_eq(leftovers(dir), 0);

    /* a dangling link: its target is created, the link kept */
    ck_assert_int_eq(symlink(tgt, dang), 0); /* absolute target */
    NN_OK_OR_FAIL(nn_model_save(dang, a, NULL, &err));
    ck_assert(S_ISLNK(lmode(dang)));
    expect_file(tgt, ia, na);
    nn_net_t *back = NULL;
    NN_OK_OR_FAIL(nn_model_load(dang, &back, NULL, NULL, &err));
    expect_same_params(a, back);
    nn_net_destroy(back);

    /* a directory, also behind a link: refused, left alone */
    char sub[600], ldir[600];
    snprintf(sub, sizeof sub, "%s/d", dir);
    snprintf(ldir, sizeof ldir, "%s/linkdir", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(symlink("d", ldir), 0);
    ck_assert_int_eq(nn_model_save(sub, a, NULL, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "directory"));
    ck_assert_int_eq(nn_model_save(ldir, a, NULL, &err), NN_ERR_IO);
    ck_assert_str_eq(err.file, ldir);
    ck_assert(S_ISDIR(lmode(sub)) && S_ISLNK(lmode(ldir)));
    ck_assert_int_eq(leftovers(dir), 0);

    /* a link loop is an error, not a hang */
    char la[600], lb[600];
    snprintf(la, sizeof la, "%s/loopa", dir);
    snprintf(lb, sizeof lb, "%s/loopb", dir);
    ck_assert_int_eq(symlink("loopb", la), 0);
    ck_assert_int_eq(symlink("loopa", lb), 0);
    ck_assert_int_eq(nn_model_save(la, a, NULL, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ELOOP)));

    const char *names[] = {l1, l2, dang, tgt, f, ldir, la, lb};
    for (size_t i = 0; i < 8; i++) unlink(names[i]);
    rmdir(sub);
    rmdir(dir);
    free(ia);
    free(ib);
    nn_net_destroy(a);
    nn_net_destroy(b);
}
END_TEST

/* A FIFO is written directly (never replaced by a regular file); without a
 * reader the save fails at once with NN_ERR_IO (a blocking open would wait
 * forever). */
START_TEST(test_save_fifo)
{
    char dir[512], fifo[600];
    make_dir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    nn_net_t *a = make_net(&ARCHS[2], NULL);
    size_t na;
    unsigned char *ia = model_image(a, &na);
    ck_assert_uint_lt(na, 4096); /* fits in the pipe: no reader thread */
    nn_error_info err;
    alarm(20); /* a hang fails the test (also without Check's fork) */
    ck_assert_int_eq(nn_model_save(fifo, a, NULL, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "reading"));
    ck_assert(S_ISFIFO(lmode(fifo)));
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rd, 0);
    NN_OK_OR_FAIL(nn_model_save(fifo, a, NULL, &err));
    alarm(0);
    unsigned char got[4096];
    ssize_t k = read(rd, got, sizeof got);
    ck_assert_int_eq(k, (ssize_t)na);
    ck_assert(memcmp(got, ia, na) == 0);
    close(rd);
    ck_assert(S_ISFIFO(lmode(fifo)));
    ck_assert_int_eq(leftovers(dir), 0);

    /* a pipe through /proc's magic link (what /dev/stdout is under "|"):
     * its link text "pipe:[N]" names no file, the pipe is written */
    int pp[2];
    ck_assert_int_eq(pipe(pp), 0);
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", pp[1]);
    NN_OK_OR_FAIL(nn_model_save(via, a, NULL, &err));
    k = read(pp[0], got, sizeof got);
    ck_assert_int_eq(k, (ssize_t)na);
    ck_assert(memcmp(got, ia, na) == 0);
    close(pp[0]);
    close(pp[1]);
    unlink(fifo);
    rmdir(dir);
    free(ia);
    nn_net_destroy(a);
}
END_TEST

/* Character devices: private copies of /dev/null and /dev/full (mknod needs
 * root; skipped otherwise). The node stays a device; /dev/full's ENOSPC is
 * NN_ERR_IO. */
START_TEST(test_save_char_device)
{
    char dir[512], null_[600], full[600];
    make_dir(dir, sizeof dir);
    snprintf(null_, sizeof null_, "%s/null", dir);
    snprintf(full, sizeof full, "%s/full", dir);
    if (mknod(null_, S_IFCHR | 0600, makedev(1, 3)) != 0 ||
        mknod(full, S_IFCHR | 0600, makedev(1, 7)) != 0) {
        fprintf(stderr, "test_save_char_device: mknod: %s (skipped)\n",
                strerror(errno));
        unlink(null_);
        rmdir(dir);
        return;
    }
    nn_net_t *a = make_net(&ARCHS[0], NULL);
    nn_error_info err;
    NN_OK_OR_FAIL(nn_model_save(null_, a, NULL, &err));
    ck_assert(S_ISCHR(lmode(null_)));
    ck_assert_int_eq(nn_model_save(full, a, NULL, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ENOSPC)));
    ck_assert_str_eq(err.file, full);
    ck_assert(S_ISCHR(lmode(full)));
    ck_assert_int_eq(leftovers(dir), 0);
    unlink(null_);
    unlink(full);
    rmdir(dir);
    nn_net_destroy(a);
}
END_TEST

/* ------------------------------------------------------------ streams */
typedef struct {
    int fd;
    const unsigned char *p;
    size_t n;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *w = arg;
    size_t off = 0;
    while (off < w->n) {
        ssize_t k = write(w->fd, w->p + off, w->n - off);
        if (k <= 0) break; /* EPIPE once the reader gave up */
        off += (size_t)k;
    }
    close(w->fd);
    return NULL;
}

/* Load a model from a FIFO that a thread writes, and from a pipe named as
 * /proc/self/fd/N (what a shell's <(...) and /dev/stdin give): one pass over
 * a stream. A FIFO without a writer returns at once (empty file). */
START_TEST(test_load_fifo_and_pipe)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[512], fifo[600];
    make_dir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    /* a model larger than a pipe's buffer, with an optimizer */
    const arch big = {64, 2, {{300, NN_ACT_TANH, 0, 0}, {2, NN_ACT_SOFTMAX, 0, 0}},
                      NN_LOSS_SOFTMAX_CE};
    nn_net_t *a = make_net(&big, NULL);
    nn_optim_t *o = make_opt(a, NN_OPTIM_ADAM, NULL);
    size_t n;
    NN_OK_OR_FAIL(nn_model_save_mem(a, o, NULL, 0, &n));
    ck_assert_uint_gt(n, 200000);
    unsigned char *img = malloc(n);
    NN_OK_OR_FAIL(nn_model_save_mem(a, o, img, n, &n));
    nn_error_info err;
    alarm(30);

    /* no writer: an immediate end of file */
    nn_net_t *back = NULL;
    nn_optim_t *oback = NULL;
    ck_assert_int_eq(nn_model_load(fifo, &back, NULL, NULL, &err),
                     NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "empty"));

    for (int kind = 0; kind < 2; kind++) {
        char path[700];
        int keep = -1; /* holds the stream open until the load is done */
        writer_arg w = {-1, img, n};
        if (kind == 0) {
            /* a reader first, so that the write end opens without waiting
             * and the writer exists before the loader opens */
            keep = open(fifo, O_RDONLY | O_NONBLOCK);
            w.fd = open(fifo, O_WRONLY);
            snprintf(path, sizeof path, "%s", fifo);
        } else {
            int pp[2];
            ck_assert_int_eq(pipe(pp), 0);
            keep = pp[0];
            w.fd = pp[1];
            snprintf(path, sizeof path, "/proc/self/fd/%d", pp[0]);
        }
        ck_assert(keep >= 0 && w.fd >= 0);
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, writer_main, &w), 0);
        tu_counter c = {.max_request = MAX_REQUEST};
        nn_allocator al = tu_allocator(&c);
        nn_status st = nn_model_load(path, &back, &oback, &al, &err);
        close(keep);
        pthread_join(t, NULL);
        ck_assert_msg(st == NN_OK, "%s: %s", path, err.message);
        expect_same_params(a, back);
        expect_same_opt(o, oback);
        nn_optim_destroy(oback);
        nn_net_destroy(back);
        TU_ASSERT_BALANCED(&c);
    }
    alarm(0);
    unlink(fifo);
    rmdir(dir);
    free(img);
    nn_optim_destroy(o);
    nn_net_destroy(a);
}
END_TEST

/* A 1 GiB file that is not a model (sparse: ftruncate) is refused after its
 * header: nothing near its size is allocated. A 1 GiB file with a valid
 * header claiming a small payload is refused the same way. */
START_TEST(test_load_fails_fast)
{
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/huge", dir);
    const off_t GiB = (off_t)1 << 30;
    nn_net_t *a = make_net(&ARCHS[0], NULL);
    size_t na;
    unsigned char *ia = model_image(a, &na);
    for (int k = 0; k < 2; k++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_ge(fd, 0);
        if (k == 1) ck_assert_int_eq(write(fd, ia, na), (ssize_t)na);
        if (ftruncate(fd, GiB) != 0) {
            close(fd);
            fprintf(stderr, "test_load_fails_fast: ftruncate: %s (skipped)\n",
                    strerror(errno));
            break;
        }
        close(fd);
        tu_counter c = {0};
        nn_allocator al = tu_allocator(&c);
        nn_net_t *net = NULL;
        nn_error_info err;
        ck_assert_int_eq(nn_model_load(path, &net, NULL, &al, &err),
                         NN_ERR_FORMAT);
        ck_assert_ptr_null(net);
        ck_assert_msg(c.largest < ((size_t)1 << 20), "allocated %zu bytes",
                      c.largest);
        ck_assert_ptr_nonnull(strstr(err.message, k ? "trailing"
                                                    : "not a libnn model"));
        TU_ASSERT_BALANCED(&c);
    }
    unlink(path);
    rmdir(dir);
    free(ia);
    nn_net_destroy(a);
}
END_TEST

/* Messages: a path longer than nn_error_info.file keeps its end behind
 * "..."; other formats are named, their bytes never echoed. */
START_TEST(test_load_messages)
{
    char dir[512], path[1200];
    make_dir(dir, sizeof dir);
    int k = snprintf(path, sizeof path, "%s/", dir);
    for (int i = 0; i < 200; i++) path[k++] = 'd';
    snprintf(path + k, sizeof path - (size_t)k,
             "/sub/another-long-component-0123456789/final-name.nnm");
    ck_assert_uint_gt(strlen(path), 255);
    nn_net_t *net = NULL;
    nn_error_info err;
    ck_assert_int_eq(nn_model_load(path, &net, NULL, NULL, &err), NN_ERR_IO);
    size_t fl = strlen(err.file);
    ck_assert_uint_eq(fl, 255);
    ck_assert(strncmp(err.file, "...", 3) == 0);
    ck_assert_str_eq(err.file + 3, path + strlen(path) - 252);

    /* other formats */
    static const struct {
        const char *bytes;
        size_t n;
        const char *says;
    } CASES[] = {
        {"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10, "gzip"},
        {"\x00\x00\x08\x03\x00\x00\x00\x01", 8, "IDX"},
        {"1,2,3\n4,5,6\n", 12, "text"},
        {"\x01\x02\x1b[31m", 7, "not a libnn model file"},
    };
    snprintf(path, sizeof path, "%s/other", dir);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        write_whole(path, CASES[i].bytes, CASES[i].n);
        ck_assert_int_eq(nn_model_load(path, &net, NULL, NULL, &err),
                         NN_ERR_FORMAT);
        ck_assert_msg(strstr(err.message, CASES[i].says), "%s", err.message);
        for (const char *m = err.message; *m; m++)
            ck_assert((unsigned char)*m >= 0x20);
    }
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Every byte a save or load allocates goes through the objects' allocator
 * and comes back. */
START_TEST(test_allocator_balance)
{
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.nnm", dir);
    tu_counter c = {.max_request = MAX_REQUEST};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net = make_net(&ARCHS[1], &al);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, &al);
    size_t base = c.live;
    long attempts = c.attempts;
    NN_OK_OR_FAIL(nn_model_save(path, net, opt, NULL));
    ck_assert_int_gt(c.attempts, attempts); /* the buffer came from al */
    ck_assert_uint_eq(c.live, base);
    nn_net_t *net2 = NULL;
    nn_optim_t *opt2 = NULL;
    NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, &al, NULL));
    nn_optim_destroy(opt2);
    nn_net_destroy(net2);
    ck_assert_uint_eq(c.live, base);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------ version 2 */
/* The network settings travel in the file: reduction, check-finite and the
 * dropout seed (any 64-bit value, the generator state with it). */
START_TEST(test_v2_settings_round_trip)
{
    const int64_t seeds[3] = {0, 0x123456789ABCDEF0, -5};
    for (int i = 0; i < 3; i++) {
        nn_net_t *net = make_net(&ARCHS[2], NULL);
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_CHECK_FINITE, i != 1));
        NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_SEED, seeds[i]));
        size_t n;
        unsigned char *b = to_mem(net, NULL, &n);
        const size_t set = 56 + 32 * 3;
        ck_assert_uint_eq(rd32(b + set), NN_REDUCE_SUM);
        ck_assert_uint_eq(rd32(b + set + 4), i != 1);
        ck_assert_uint_eq(rd64(b + set + 8), (uint64_t)seeds[i]);
        nn_net_t *net2 = NULL;
        NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, NULL, NULL, NULL));
        int64_t red = -1, cf = -1, seed = 1;
        NN_OK_OR_FAIL(nn_net_get_int(net2, NN_NET_REDUCTION, &red));
        NN_OK_OR_FAIL(nn_net_get_int(net2, NN_NET_CHECK_FINITE, &cf));
        NN_OK_OR_FAIL(nn_net_get_int(net2, NN_NET_DROPOUT_SEED, &seed));
        ck_assert_int_eq(red, NN_REDUCE_SUM);
        ck_assert_int_eq(cf, i != 1);
        ck_assert_int_eq(seed, seeds[i]);
        /* a sum-reduced gradient under the same dropout masks: same bits */
        batches bt;
        make_batches(&ARCHS[2], &bt, 3);
        double l1, l2;
        NN_OK_OR_FAIL(nn_net_gradient(net, MB, NN_ROW_MAJOR, bt.X[0], 2,
                                      bt.Y[0], 2, &l1));
        NN_OK_OR_FAIL(nn_net_gradient(net2, MB, NN_ROW_MAJOR, bt.X[0], 2,
                                      bt.Y[0], 2, &l2));
        ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);
        ck_assert(memcmp(nn_net_grads(net), nn_net_grads(net2),
                         nn_net_n_params(net) * sizeof(double)) == 0);
        nn_net_destroy(net2);
        nn_net_destroy(net);
        free(b);
    }
}
END_TEST

/* Scalers attached to a network: saved and restored exactly (kind, columns,
 * offsets and scales bit for bit), through memory and a file. */
START_TEST(test_scaler_round_trip)
{
    const arch *a = &ARCHS[1]; /* 4 inputs, 3 outputs */
    nn_net_t *net = make_net(a, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_MOMENTUM, NULL);
    double X[10 * 4];
    tu_rng r = {9};
    tu_fill(&r, X, 40, -3, 7);
    nn_scaler_t *in = NULL, *tg = NULL;
    NN_OK_OR_FAIL(nn_scaler_fit(&in, NN_SCALE_STANDARD, 10, 4, NN_ROW_MAJOR,
                                X, 4, NULL));
    const double off[3] = {0.1, -2.5, 1e300}, sc[3] = {3.0, 1e-300, -0.5};
    NN_OK_OR_FAIL(nn_scaler_create(&tg, 3, off, sc, NULL));
    ck_assert_int_eq(nn_net_set_scaler(net, NN_SCALER_INPUT, tg), NN_ERR_SHAPE);
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_INPUT));
    size_t n_plain;
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, NULL, 0, &n_plain));
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, in));
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_TARGET, tg));
    double in_off[4], in_sc[4];
    NN_OK_OR_FAIL(nn_scaler_get_params(in, in_off, in_sc));

    size_t n;
    unsigned char *b = to_mem(net, opt, &n);
    /* two sections of 16 + 16 n bytes between the parameters and the
     * optimizer, announced by flags 1 | 2 | 4 */
    ck_assert_uint_eq(n, n_plain + (16 + 16 * 4) + (16 + 16 * 3));
    ck_assert_uint_eq(rd32(b + 52), 7);
    const size_t s0 = 112 + 32 * a->n_layers + 8 * nn_net_n_params(net);
    ck_assert_uint_eq(rd32(b + s0), NN_SCALE_STANDARD);
    ck_assert_uint_eq(rd64(b + s0 + 8), 4);
    ck_assert_uint_eq(rd64(b + s0 + 16), rd64((const unsigned char *)in_off));
    const size_t s1 = s0 + 16 + 16 * 4;
    ck_assert_uint_eq(rd32(b + s1), NN_SCALE_CUSTOM);
    ck_assert_uint_eq(rd64(b + s1 + 8), 3);

    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/scaled.nnm", dir);
    NN_OK_OR_FAIL(nn_model_save(path, net, opt, NULL));
    for (int via_file = 0; via_file < 2; via_file++) {
        tu_counter c = {.max_request = MAX_REQUEST};
        nn_allocator al = tu_allocator(&c);
        nn_net_t *net2 = NULL;
        nn_optim_t *opt2 = NULL;
        if (via_file)
            NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, &al, NULL));
        else
            NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, &opt2, &al, NULL));
        const nn_scaler_t *i2 = nn_net_get_scaler(net2, NN_SCALER_INPUT);
        const nn_scaler_t *t2 = nn_net_get_scaler(net2, NN_SCALER_TARGET);
        ck_assert_ptr_nonnull(i2);
        ck_assert_ptr_nonnull(t2);
        nn_scale_kind ki = -1, kt = -1;
        NN_OK_OR_FAIL(nn_scaler_get_kind(i2, &ki));
        NN_OK_OR_FAIL(nn_scaler_get_kind(t2, &kt));
        ck_assert_int_eq(ki, NN_SCALE_STANDARD);
        ck_assert_int_eq(kt, NN_SCALE_CUSTOM);
        ck_assert_uint_eq(nn_scaler_n(i2), 4);
        ck_assert_uint_eq(nn_scaler_n(t2), 3);
        double o4[4], s4[4], o3[3], s3[3];
        NN_OK_OR_FAIL(nn_scaler_get_params(i2, o4, s4));
        NN_OK_OR_FAIL(nn_scaler_get_params(t2, o3, s3));
        ck_assert(memcmp(o4, in_off, sizeof o4) == 0);
        ck_assert(memcmp(s4, in_sc, sizeof s4) == 0);
        ck_assert(memcmp(o3, off, sizeof o3) == 0);
        ck_assert(memcmp(s3, sc, sizeof s3) == 0);
        expect_same_params(net, net2);
        expect_same_opt(opt, opt2);
        /* and the loaded model saves to the same bytes */
        size_t n2;
        unsigned char *b2 = to_mem(net2, opt2, &n2);
        ck_assert_uint_eq(n2, n);
        ck_assert(memcmp(b, b2, n) == 0);
        free(b2);
        nn_optim_destroy(opt2);
        nn_net_destroy(net2);
        TU_ASSERT_BALANCED(&c);
    }
    /* removing a scaler removes its section */
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, NULL));
    size_t n3;
    unsigned char *b3 = to_mem(net, NULL, &n3);
    ck_assert_uint_eq(rd32(b3 + 52), 4);
    nn_net_t *net3 = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(b3, n3, &net3, NULL, NULL, NULL));
    ck_assert_ptr_null(nn_net_get_scaler(net3, NN_SCALER_INPUT));
    ck_assert_ptr_nonnull(nn_net_get_scaler(net3, NN_SCALER_TARGET));
    nn_net_destroy(net3);
    free(b3);

    /* hostile scaler fields (CRCs recomputed): refused, named, no leak */
    const edit edits[] = {
        {"input scaler: bad kind", s0, 4, 3, 0},
        {"input scaler: reserved", s0 + 4, 4, 1, 0},
        {"input scaler has 3 columns", s0 + 8, 8, 3, 0},
        {"input scaler n", s0 + 8, 8, 0, 0},
        {"input scaler n", s0 + 8, 8, (uint64_t)1 << 60, 0},
        {"input scaler: column 1", s0 + 24, 0, 0, NAN},
        {"input scaler: column 2", s0 + 16 + 32 + 16, 0, 0, 0.0},
        {"target scaler: column 0", s1 + 16 + 24, 0, 0, INFINITY},
        {"target scaler: bad kind", s1, 4, 0xFFFFFFFFu, 0},
    };
    unsigned char *t = malloc(n);
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        memcpy(t, b, n);
        const edit *d = &edits[e];
        if (d->width == 4) wr32(t + d->off, (uint32_t)d->value);
        else if (d->width == 8) wr64(t + d->off, d->value);
        else wrf(t + d->off, d->dvalue);
        fix_crcs(t, n);
        ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
        nn_error_info err;
        nn_net_t *bad = NULL;
        ck_assert_int_eq(nn_model_load_mem(t, n, &bad, NULL, NULL, &err),
                         NN_ERR_FORMAT);
        ck_assert_msg(strstr(err.message, d->what) != NULL, "%s: '%s'",
                      d->what, err.message);
        ck_assert_ptr_null(bad);
    }
    free(t);
    unlink(path);
    rmdir(dir);
    free(b);
    nn_scaler_destroy(in);
    nn_scaler_destroy(tg);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ version 1 */
/* Written by libnn 0.x (tests/data/gen_v1_models.c, which prints these with
 * %a): a 2-3-1 tanh/sigmoid BCE net after 3 Adam steps (lr 0.05, weight
 * decay 0.01 decoupled) on XOR, and a 2-4-1 tanh (dropout 0.5) / identity
 * MSE net after 2 SGD steps, saved without an optimizer. */
static const double v1a_W0[6] = {0x1.2948d8a3ccf1dp-2, -0x1.3e069e5aeaf23p-1, 0x1.31b2ddb185d99p-1, 0x1.ce19a4be1e466p-1, 0x1.d9d70600f1205p-1, 0x1.55d7ad55bcb3cp-1};
static const double v1a_b0[3] = {-0x1.2e2a374261ab8p-3, -0x1.5261c3f2d2f98p-4, -0x1.2b89bf517a7c3p-3};
static const double v1a_W1[3] = {-0x1.da4e1408ec79bp-1, -0x1.a30892d70faf5p-1, -0x1.67cebd49f9b3bp-4};
static const double v1a_b1[1] = {0x1.2bfd3e24d4cd6p-3};
static const double v1a_state[26] = {0x1.a57d89bd6dfc8p-6, 0x1.6b8d76e33ca12p-7, 0x1.c4d6d5397004ep-9, 0x1.685a413c0d557p-6, 0x1.76edb24382f1p-7, 0x1.74b72536269b2p-8, 0x1.d39b827f70f2dp-7, -0x1.c02069a80f92p-14, 0x1.9885448dd99f4p-9, -0x1.52636a6796192p-5, -0x1.59bcbc4fc1a42p-6, -0x1.5620dddabb37ap-5, -0x1.2fec58e9a1c5fp-5, 0x1.da323554da155p-16, 0x1.058fcfe7f1ea4p-17, 0x1.29077425d13f7p-21, 0x1.4b98bde97410bp-16, 0x1.79eea100d0b1dp-18, 0x1.7b159e20e83ebp-20, 0x1.2d0654110940ap-17, 0x1.00c6972d9b499p-19, 0x1.defb658caef78p-22, 0x1.361cd4227bef4p-14, 0x1.3851f327938c4p-16, 0x1.3fc30c67884e7p-14, 0x1.0702e596eed12p-14};
static const double v1a_pred[4] = {0x1.2de28d9074acbp-1, 0x1.0998a82bce92dp-2, 0x1.3ba117c85113ep-1, 0x1.37e80b825d394p-2};
static const double v1d_W0[8] = {-0x1.11ba17b06cadap-1, -0x1.a0013de40497ap-1, -0x1.de70820c89cc3p-2, -0x1.f96a0af435d84p-4, -0x1.9edd1c3775939p-1, -0x1.99cde62cd5f18p-2, -0x1.82cca8d8ab0fcp-5, 0x1.fba8c438ece1cp-1};
static const double v1d_b0[4] = {0x1.51ae327c4f241p-5, -0x1.9e7e5d37378p-12, -0x1.338e69157ce9cp-4, -0x1.668d066ff80a2p-7};
static const double v1d_W1[4] = {0x1.7c5d793ac1f1fp-3, -0x1.1a2980c9a6c07p-1, -0x1.da79c2b59684fp-1, -0x1.6d37951eb0604p-2};
static const double v1d_b1[1] = {0x1.434c4f5b1dfbdp-4};
static const double v1d_pred[4] = {0x1.47ff7ba239899p-3, 0x1.9e995325d7a68p-7, 0x1.bd790967c2b1ap-1, 0x1.3f1b1c554c9d2p-1};

static const double XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const double XOR_Y[4] = {0, 1, 1, 0};

/* $NN_TEST_DATA/name (set by tests/meson.build), else tests/data/name from
 * the source root or from a build directory beside it. */
static void fixture_path(char *buf, size_t cap, const char *name)
{
    const char *d = getenv("NN_TEST_DATA");
    if (d && *d) {
        snprintf(buf, cap, "%s/%s", d, name);
        return;
    }
    snprintf(buf, cap, "tests/data/%s", name);
    if (access(buf, R_OK) != 0) snprintf(buf, cap, "../tests/data/%s", name);
}

/* |a - b| within a few ulps: the 1.0 kernels may round differently from
 * 0.x's, the stored numbers themselves are compared bitwise. */
static void expect_close(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(a[i] - b[i]) <= 4e-16 * fmax(1.0, fabs(b[i])),
                      "[%zu]: %a vs %a", i, a[i], b[i]);
}

START_TEST(test_v1_adam_fixture)
{
    char path[1024];
    fixture_path(path, sizeof path, "v1_adam.nnm");
    tu_counter c = {.max_request = MAX_REQUEST};
    nn_allocator al = tu_allocator(&c);
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_error_info err = {0};
    nn_status st = nn_model_load(path, &net, &opt, &al, &err);
    ck_assert_msg(st == NN_OK, "%s: %d %s", path, (int)st, err.message);
    ck_assert_uint_eq(nn_net_n_in(net), 2);
    ck_assert_uint_eq(nn_net_n_layers(net), 2);
    ck_assert_uint_eq(nn_net_layer_n_out(net, 0), 3);
    ck_assert_uint_eq(nn_net_layer_n_out(net, 1), 1);
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &v));
    ck_assert_int_eq(v, NN_LOSS_BCE);
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, 0, NN_LAYER_ACTIVATION, &v));
    ck_assert_int_eq(v, NN_ACT_TANH);
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, 1, NN_LAYER_ACTIVATION, &v));
    ck_assert_int_eq(v, NN_ACT_SIGMOID);
    /* what version 1 did not store: the defaults */
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &v));
    ck_assert_int_eq(v, NN_REDUCE_MEAN);
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_CHECK_FINITE, &v));
    ck_assert_int_eq(v, 0);
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_SEED, &v));
    ck_assert_int_eq(v, 0);
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_INPUT));
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_TARGET));
    /* parameters bit for bit: W0, b0, W1, b1 in the flat layout */
    const double *w = nn_net_params(net);
    ck_assert_uint_eq(nn_net_n_params(net), 13);
    ck_assert(memcmp(w, v1a_W0, sizeof v1a_W0) == 0);
    ck_assert(memcmp(w + 6, v1a_b0, sizeof v1a_b0) == 0);
    ck_assert(memcmp(w + 9, v1a_W1, sizeof v1a_W1) == 0);
    ck_assert(memcmp(w + 12, v1a_b1, sizeof v1a_b1) == 0);
    /* the optimizer: settings as 0.x set them, state bit for bit */
    ck_assert_ptr_nonnull(opt);
    NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_KIND, &v));
    ck_assert_int_eq(v, NN_OPTIM_ADAM);
    NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_DECOUPLED, &v));
    ck_assert_int_eq(v, 1);
    NN_OK_OR_FAIL(nn_optim_get_int(opt, NN_OPTIM_STEPS, &v));
    ck_assert_int_eq(v, 3);
    const double want_r[7] = {0.05, 0.9, 0.9, 0.999, 1e-8, 0.01, 0};
    for (int i = 0; i < 7; i++) {
        double x = -1;
        NN_OK_OR_FAIL(nn_optim_get_real(opt, OPT_REALS[i], &x));
        ck_assert_msg(x == want_r[i], "key %d: %g", OPT_REALS[i], x);
    }
    double state[26];
    uint64_t steps = 0;
    ck_assert_uint_eq(nn_optim_state_len(opt), 26);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, state, 26));
    ck_assert_uint_eq(steps, 3);
    ck_assert(memcmp(state, v1a_state, sizeof state) == 0);
    /* predictions as 0.x made them */
    double P[4];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 4, NN_ROW_MAJOR, XOR_X, 2, P, 1));
    expect_close(P, v1a_pred, 4);
    /* re-saved, it is a current-version file holding the same model */
    size_t n;
    unsigned char *b = to_mem(net, opt, &n);
    ck_assert_uint_eq(rd32(b + 8), NN_MODEL_FORMAT_VERSION);
    nn_net_t *net2 = NULL;
    nn_optim_t *opt2 = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, &opt2, &al, NULL));
    expect_same_params(net, net2);
    expect_same_opt(opt, opt2);
    nn_optim_destroy(opt2);
    nn_net_destroy(net2);
    free(b);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);

    /* every truncation of the fixture is refused, through memory */
    b = read_whole(path, &n);
    ck_assert_uint_eq(rd32(b + 8), 1);
    ck_assert_int_eq(load_counted(b, n, 1), NN_OK);
    for (size_t len = 1; len < n; len++)
        ck_assert_int_eq(load_counted(b, len, 1), NN_ERR_FORMAT);
    /* 0.x ignored the settings a kind does not use, and act_param for the
     * activations that ignore it: out-of-bounds values there still load
     * (the defaults stay); the ones in use must be valid. Version-1 offsets:
     * layers at 56, parameters at 96 + 64, optimizer at q = 160 + 8 * 13. */
    const size_t q = 160 + 8 * 13;
    unsigned char *t = malloc(n);
    const edit lenient[] = {{"momentum 1", q + 16, 0, 0, 1.0},
                            {"tanh act_param -1", 56 + 16, 0, 0, -1.0}};
    for (size_t e = 0; e < 2; e++) {
        memcpy(t, b, n);
        wrf(t + lenient[e].off, lenient[e].dvalue);
        fix_crcs(t, n);
        ck_assert_int_eq(load_counted(t, n, 1), NN_OK);
    }
    const edit strict[] = {{"optimizer beta1", q + 24, 0, 0, 1.0},
                           {"optimizer lr", q + 8, 0, 0, 0.0},
                           {"layer 1: reserved field 1", 56 + 32 + 12, 4, 1, 0},
                           {"unknown flags 0x2", 52, 4, 2, 0}};
    for (size_t e = 0; e < 4; e++) {
        memcpy(t, b, n);
        if (strict[e].width == 4) wr32(t + strict[e].off, (uint32_t)strict[e].value);
        else wrf(t + strict[e].off, strict[e].dvalue);
        fix_crcs(t, n);
        ck_assert_int_eq(load_counted(t, n, 1), NN_ERR_FORMAT);
        nn_error_info e2;
        nn_net_t *bad = NULL;
        ck_assert_int_eq(nn_model_load_mem(t, n, &bad, NULL, NULL, &e2),
                         NN_ERR_FORMAT);
        ck_assert_msg(strstr(e2.message, strict[e].what) != NULL, "%s: '%s'",
                      strict[e].what, e2.message);
    }
    free(t);
    free(b);
}
END_TEST

START_TEST(test_v1_dropout_fixture)
{
    char path[1024];
    fixture_path(path, sizeof path, "v1_dropout.nnm");
    size_t n;
    unsigned char *b = read_whole(path, &n);
    ck_assert_uint_eq(rd32(b + 8), 1);
    nn_net_t *net = NULL;
    nn_optim_t *opt = (nn_optim_t *)&net;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net, &opt, NULL, NULL));
    ck_assert_ptr_null(opt); /* saved without one */
    ck_assert_uint_eq(nn_net_n_params(net), 17);
    double p = -1;
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, 0, NN_LAYER_DROPOUT, &p));
    ck_assert(p == 0.5);
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, 1, NN_LAYER_DROPOUT, &p));
    ck_assert(p == 0.0);
    const double *w = nn_net_params(net);
    ck_assert(memcmp(w, v1d_W0, sizeof v1d_W0) == 0);
    ck_assert(memcmp(w + 8, v1d_b0, sizeof v1d_b0) == 0);
    ck_assert(memcmp(w + 12, v1d_W1, sizeof v1d_W1) == 0);
    ck_assert(memcmp(w + 16, v1d_b1, sizeof v1d_b1) == 0);
    double P[4];
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 4, NN_ROW_MAJOR, XOR_X, 2, P, 1));
    expect_close(P, v1d_pred, 4);
    /* 0.x's sequential generator state cannot continue counter-based masks:
     * the stream restarts at pass 0 of seed 0, so the next pass draws the
     * masks of a new network with these weights */
    int64_t seed = -1, step = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_SEED, &seed));
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_STEP, &step));
    ck_assert(seed == 0 && step == 0);
    nn_netspec_t *sp = NULL;
    NN_OK_OR_FAIL(nn_netspec_from_net(&sp, net, NULL));
    nn_net_t *fresh = NULL;
    NN_OK_OR_FAIL(nn_net_create(&fresh, sp, NULL));
    nn_netspec_destroy(sp);
    memcpy(nn_net_params(fresh), w, 17 * sizeof(double));
    double loss = 0, loss2 = 1;
    NN_OK_OR_FAIL(nn_net_gradient(net, 4, NN_ROW_MAJOR, XOR_X, 2, XOR_Y, 1,
                                  &loss));
    NN_OK_OR_FAIL(nn_net_gradient(fresh, 4, NN_ROW_MAJOR, XOR_X, 2, XOR_Y, 1,
                                  &loss2));
    ck_assert(memcmp(&loss, &loss2, sizeof loss) == 0);
    ck_assert(memcmp(nn_net_grads(net), nn_net_grads(fresh),
                     17 * sizeof(double)) == 0);
    nn_net_destroy(fresh);
    nn_net_destroy(net);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ large model */
/* The Fashion-MNIST model (784-256-128-10) with Adam state: save and load
 * through a file, exactly. (How long that takes is bench/'s business.) */
START_TEST(test_fashion_model_file)
{
    const arch fa = {784, 3, {{256, NN_ACT_RELU, 0, 0.2},
                              {128, NN_ACT_RELU, 0, 0},
                              {10, NN_ACT_SOFTMAX, 0, 0}},
                     NN_LOSS_SOFTMAX_CE};
    nn_net_t *net = make_net(&fa, NULL);
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, NULL);
    double *st = malloc(nn_optim_state_len(opt) * sizeof(double));
    tu_rng r = {3};
    tu_fill(&r, st, nn_optim_state_len(opt), 0, 1);
    NN_OK_OR_FAIL(nn_optim_set_state(opt, 1000, st, nn_optim_state_len(opt)));
    free(st);
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fashion.nnm", dir);
    NN_OK_OR_FAIL(nn_model_save(path, net, opt, NULL));
    nn_net_t *net2 = NULL;
    nn_optim_t *opt2 = NULL;
    NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, NULL, NULL));
    expect_same_params(net, net2);
    expect_same_opt(opt, opt2);
    nn_optim_destroy(opt2);
    nn_net_destroy(net2);
    unlink(path);
    rmdir(dir);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tr = tcase_create("round_trip");
    tcase_add_loop_test(tr, test_round_trip, 0, N_ARCH * 5);
    tcase_add_test(tr, test_file_round_trip);
    tcase_add_test(tr, test_save_mem_contract);
    tcase_add_loop_test(tr, test_resume_equivalence, 0, 4);
    tcase_add_test(tr, test_resume_needs_rng_state);
    tcase_add_test(tr, test_v2_settings_round_trip);
    tcase_add_test(tr, test_scaler_round_trip);
    tcase_add_test(tr, test_v1_adam_fixture);
    tcase_add_test(tr, test_v1_dropout_fixture);
    suite_add_tcase(s, tr);
    TCase *tc = tcase_create("corruption");
    tcase_add_test(tc, test_truncate_every_byte);
    tcase_add_test(tc, test_flip_every_byte);
    tcase_add_test(tc, test_magic_and_version);
    tcase_add_test(tc, test_hostile_fields);
    tcase_add_test(tc, test_hostile_tiny_files);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("files");
    tcase_add_test(tf, test_load_io_errors);
    tcase_add_test(tf, test_atomic_save_failures);
    tcase_add_test(tf, test_allocator_balance);
    tcase_add_test(tf, test_save_regular_and_links);
    tcase_add_test(tf, test_save_fifo);
    tcase_add_test(tf, test_save_char_device);
    tcase_add_test(tf, test_load_fifo_and_pipe);
    tcase_add_test(tf, test_load_fails_fast);
    tcase_add_test(tf, test_load_messages);
    tcase_add_test(tf, test_fashion_model_file);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    return tu_run(model_suite());
}
