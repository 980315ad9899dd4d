/* test_model.c — model files (nn_model_save / _save_mem / _load / _load_mem):
 * bitwise round trips for several architectures, every loss and every
 * optimizer kind; resume equivalence (train k steps, save, load, train k2 ==
 * train k+k2, bitwise, with dropout so that the generator state matters);
 * every corruption class (truncation at every byte, every single-byte flip,
 * wrong magic, future version, hostile sizes with correct checksums, through
 * an allocator that refuses anything over 64 MiB); atomic saves (missing
 * directory, a directory in the way, a write that fails part way through
 * RLIMIT_FSIZE, a read-only directory) that leave the old file and no
 * temporary behind; every byte allocated is returned.
 *
 * Offsets used below (docs/FORMAT.md): header 32 bytes (magic 0..7, version
 * 8, reserved 12, payload_len 16, payload_crc 24, header_crc 28); payload at
 * 32: n_in 32, n_layers 40, loss 48, flags 52, layer l at 56 + 32 l (n_out,
 * act +8, reserved +12, act_param +16, dropout +24); with L layers the rng is
 * at 56 + 32 L, n_params at 88 + 32 L, params at 96 + 32 L, then the
 * optimizer (kind, decoupled, lr.., steps +64, state_len +72, state +80). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
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
    size_t n_in, n_layers;
    nn_layer_spec specs[3];
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

static nn_net_t *make_net(const arch *a, const nn_allocator *al)
{
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, a->n_in, a->n_layers, a->specs, a->loss,
                                al));
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_NORMAL, 42));
    return net;
}

/* kind < 0: no optimizer. */
static nn_optim_t *make_opt(nn_net_t *net, int kind, const nn_allocator *al)
{
    if (kind < 0) return NULL;
    nn_optim_config c;
    NN_OK_OR_FAIL(nn_optim_config_default(&c, (nn_optim_kind)kind));
    c.lr = 0.05;
    if (kind == NN_OPTIM_ADAM) { c.weight_decay = 0.01; c.decoupled = true; }
    if (kind == NN_OPTIM_MOMENTUM) c.clip_norm = 0.5;
    if (kind == NN_OPTIM_NESTEROV) c.weight_decay = 1e-3;
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, &c, al));
    return opt;
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
        else NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.05));
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
        size_t nw = nn_net_layer_n_in(a, l) * nn_net_layer_n_out(a, l);
        ck_assert_uint_eq(nw, nn_net_layer_n_in(b, l) * nn_net_layer_n_out(b, l));
        ck_assert_msg(memcmp(nn_net_weights(a, l), nn_net_weights(b, l),
                             nw * sizeof(double)) == 0, "W of layer %zu", l);
        ck_assert_msg(memcmp(nn_net_bias(a, l), nn_net_bias(b, l),
                             nn_net_layer_n_out(a, l) * sizeof(double)) == 0,
                      "b of layer %zu", l);
    }
}

static void expect_same_opt(const nn_optim_t *a, const nn_optim_t *b)
{
    nn_optim_config ca, cb;
    NN_OK_OR_FAIL(nn_optim_get_config(a, &ca));
    NN_OK_OR_FAIL(nn_optim_get_config(b, &cb));
    ck_assert_int_eq(ca.kind, cb.kind);
    ck_assert(ca.decoupled == cb.decoupled);
    const double fa[] = {ca.lr, ca.momentum, ca.beta1, ca.beta2, ca.eps,
                         ca.weight_decay, ca.clip_norm};
    const double fb[] = {cb.lr, cb.momentum, cb.beta1, cb.beta2, cb.eps,
                         cb.weight_decay, cb.clip_norm};
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
static nn_status load_counted(const unsigned char *b, size_t n, bool want_opt)
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
    nn_loss loss;
    NN_OK_OR_FAIL(nn_net_get_loss(net2, &loss));
    ck_assert_int_eq(loss, a->loss);
    for (size_t l = 0; l < a->n_layers; l++) {
        nn_layer_spec s;
        NN_OK_OR_FAIL(nn_net_get_layer_spec(net2, l, &s));
        ck_assert_uint_eq(s.n_out, a->specs[l].n_out);
        ck_assert_int_eq(s.act, a->specs[l].act);
        ck_assert(memcmp(&s.act_param, &a->specs[l].act_param, 8) == 0);
        ck_assert(memcmp(&s.dropout, &a->specs[l].dropout, 8) == 0);
    }
    expect_same_params(net, net2);
    if (opt) expect_same_opt(opt, opt2);

    /* predictions to the last bit */
    size_t k = nn_net_n_out(net);
    double P1[MB * 8], P2[MB * 8];
    NN_OK_OR_FAIL(nn_net_predict(net, MB, NN_ROW_MAJOR, bt.X[0], a->n_in, P1, k));
    NN_OK_OR_FAIL(nn_net_predict(net2, MB, NN_ROW_MAJOR, bt.X[0], a->n_in, P2, k));
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
    ck_assert_uint_eq(n_net, 96 + 32 * a->n_layers + 8 * np);
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
    ck_assert_uint_eq(rd64(b + 88 + 32 * a->n_layers), np);
    double w0;
    memcpy(&w0, &(uint64_t){rd64(b + 96 + 32 * a->n_layers)}, 8);
    ck_assert(memcmp(&w0, nn_net_weights(net, 0), 8) == 0);
    ck_assert_uint_eq(rd32(b + 96 + 32 * a->n_layers + 8 * np), NN_OPTIM_ADAM);

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
    size_t rng_off = 56 + 32 * a->n_layers;
    nn_net_t *fresh = make_net(a, NULL);
    size_t nf;
    unsigned char *bf = to_mem(fresh, NULL, &nf);
    memcpy(b + rng_off, bf + rng_off, 32);
    fix_crcs(b, n);
    nn_net_t *net2 = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(b, n, &net2, NULL, NULL, NULL));
    train(net2, NULL, a, &bt, 2, 4);
    size_t nw = nn_net_layer_n_in(ref, 0) * nn_net_layer_n_out(ref, 0);
    ck_assert(memcmp(nn_net_weights(ref, 0), nn_net_weights(net2, 0),
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
    ck_assert_int_eq(load_counted(b, n, true), NN_OK);
    for (size_t len = 0; len < n; len++) {
        /* a fresh copy of exactly len bytes, so that ASan sees over-reads */
        unsigned char *t = malloc(len ? len : 1);
        memcpy(t, b, len);
        nn_status st = len ? load_counted(t, len, true)
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
            nn_status st = load_counted(t, n, true);
            /* a flip in the version field may read as a newer version */
            bool ok = st == NN_ERR_FORMAT ||
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
    ck_assert_int_eq(load_counted(t, n, true), NN_ERR_FORMAT);
    memset(t, 0, n);
    ck_assert_int_eq(load_counted(t, n, true), NN_ERR_FORMAT);
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
        ck_assert_int_eq(load_counted(t, 12, true), NN_ERR_UNSUPPORTED);
        fix_crcs(t, n); /* a consistent newer header too */
        ck_assert_int_eq(load_counted(t, n, true), NN_ERR_UNSUPPORTED);
    }
    /* version 0 is not a version */
    memcpy(t, b, n);
    wr32(t + 8, 0);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, true), NN_ERR_FORMAT);
    /* trailing bytes */
    unsigned char *longer = malloc(n + 8);
    memcpy(longer, b, n);
    memset(longer + n, 0, 8);
    ck_assert_int_eq(load_counted(longer, n + 8, true), NN_ERR_FORMAT);
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
    const size_t rng = 56 + 32 * L, npo = 88 + 32 * L;
    const size_t opt = 96 + 32 * L + 8 * np;
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
        {"flags 2", 52, 4, 2, 0},
        {"flags 0 (optimizer bytes left over)", 52, 4, 0, 0},
        {"activation 6", 64, 4, 6, 0},
        {"activation 2^32-1", 64, 4, 0xFFFFFFFFu, 0},
        {"layer reserved", 68, 4, 1, 0},
        {"slope NaN", 72, 0, 0, NAN},
        {"slope -1", 72, 0, 0, -1.0},
        {"slope inf", 72, 0, 0, INFINITY},
        {"dropout 1", 80, 0, 0, 1.0},
        {"dropout -0.1", 80, 0, 0, -0.1},
        {"dropout NaN", 80, 0, 0, NAN},
        {"dropout on the output layer", 80 + 64, 0, 0, 0.5},
        {"rng all zero", rng, 8, 0, 0}, /* plus the 3 words below */
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
        if (d->off == rng) memset(t + rng, 0, 32);
        fix_crcs(t, n);
        nn_status st = load_counted(t, n, true);
        ck_assert_msg(st == NN_ERR_FORMAT, "%s: status %d", d->what, st);
        ck_assert_int_eq(load_counted(t, n, false), NN_ERR_FORMAT);
    }
    /* a NaN moment (a diverged run) and a negative FIRST moment still load */
    memcpy(t, b, n);
    wrf(t + opt + 80 + 8 * np, NAN);
    wrf(t + opt + 80, -1.0);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, true), NN_OK);
    /* decoupled on a non-Adam optimizer: rewrite kind to SGD (Adam file has
     * decoupled = 1); the state length then no longer matches either way */
    memcpy(t, b, n);
    ck_assert_uint_eq(rd32(t + opt + 4), 1);
    wr32(t + opt, NN_OPTIM_SGD);
    fix_crcs(t, n);
    ck_assert_int_eq(load_counted(t, n, true), NN_ERR_FORMAT);
    /* payload_len that disagrees with the size (consistent header CRC) */
    const uint64_t lens[] = {0, n - 33, n - 31, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t i = 0; i < 5; i++) {
        memcpy(t, b, n);
        wr64(t + 16, lens[i]);
        wr32(t + 28, ref_crc(t, 28));
        ck_assert_int_eq(load_counted(t, n, true), NN_ERR_FORMAT);
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
    /* header + n_in, n_layers, loss, flags only */
    const uint64_t layers[] = {(uint64_t)1 << 40, (uint64_t)1 << 20, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        memset(f, 0, sizeof f);
        memcpy(f, magic, 8);
        wr32(f + 8, 1);
        wr64(f + 32, 784);
        wr64(f + 40, layers[i]);
        size_t n = 56;
        fix_crcs(f, n);
        ck_assert_int_eq(load_counted(f, n, true), NN_ERR_FORMAT);
    }
    /* one layer of 2^20 x 2^20 weights, n_params claimed correctly, no data */
    memset(f, 0, sizeof f);
    memcpy(f, magic, 8);
    wr32(f + 8, 1);
    wr64(f + 32, (uint64_t)1 << 20);
    wr64(f + 40, 1);
    wr64(f + 56, (uint64_t)1 << 20);
    wr64(f + 88, 0x12345);                                 /* rng */
    wr64(f + 120, ((uint64_t)1 << 40) + ((uint64_t)1 << 20)); /* n_params */
    fix_crcs(f, 128);
    ck_assert_int_eq(load_counted(f, 128, true), NN_ERR_FORMAT);
    /* the same with 8 parameter bytes present */
    fix_crcs(f, 136);
    ck_assert_int_eq(load_counted(f, 136, true), NN_ERR_FORMAT);
    /* a valid minimal model built by hand: 1 -> 1 identity, MSE */
    memset(f, 0, sizeof f);
    memcpy(f, magic, 8);
    wr32(f + 8, 1);
    wr64(f + 32, 1);
    wr64(f + 40, 1);
    wr64(f + 56, 1);
    wr64(f + 88, 1);
    wr64(f + 120, 2);
    wrf(f + 128, 0.5);
    wrf(f + 136, -0.25);
    fix_crcs(f, 144);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_model_load_mem(f, 144, &net, NULL, NULL, NULL));
    double x = 2.0, y = 0;
    NN_OK_OR_FAIL(nn_net_predict(net, 1, NN_ROW_MAJOR, &x, 1, &y, 1));
    ck_assert(y == 0.75);
    nn_net_destroy(net);
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

    /* a non-empty directory in the way: rename fails after the write */
    snprintf(sub, sizeof sub, "%s/adir", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    write_whole(inner, "x", 1);
    ck_assert_int_eq(nn_model_save(sub, big, big_opt, &err), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "rename"));
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

/* ------------------------------------------------------------ timing */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The Fashion-MNIST model (784-256-128-10) with Adam state: save and load
 * through a file, timed (printed; the bound is only a sanity check). */
START_TEST(test_fashion_model_timing)
{
    const nn_layer_spec specs[3] = {{256, NN_ACT_RELU, 0, 0.2},
                                    {128, NN_ACT_RELU, 0, 0},
                                    {10, NN_ACT_SOFTMAX, 0, 0}};
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, 784, 3, specs, NN_LOSS_SOFTMAX_CE, NULL));
    nn_optim_t *opt = make_opt(net, NN_OPTIM_ADAM, NULL);
    double *st = malloc(nn_optim_state_len(opt) * sizeof(double));
    tu_rng r = {3};
    tu_fill(&r, st, nn_optim_state_len(opt), 0, 1);
    NN_OK_OR_FAIL(nn_optim_set_state(opt, 1000, st, nn_optim_state_len(opt)));
    free(st);
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fashion.nnm", dir);
    const int reps = 5;
    double best_save = 1e9, best_load = 1e9;
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        NN_OK_OR_FAIL(nn_model_save(path, net, opt, NULL));
        double t1 = now_s();
        nn_net_t *net2 = NULL;
        nn_optim_t *opt2 = NULL;
        NN_OK_OR_FAIL(nn_model_load(path, &net2, &opt2, NULL, NULL));
        double t2 = now_s();
        best_save = fmin(best_save, t1 - t0);
        best_load = fmin(best_load, t2 - t1);
        if (i == 0) {
            expect_same_params(net, net2);
            expect_same_opt(opt, opt2);
        }
        nn_optim_destroy(opt2);
        nn_net_destroy(net2);
    }
    size_t n;
    NN_OK_OR_FAIL(nn_model_save_mem(net, opt, NULL, 0, &n));
    fprintf(stderr,
            "784-256-128-10 + Adam: %zu params, %zu bytes; save %.2f ms "
            "(incl. fsync), load %.2f ms (best of %d)\n",
            nn_net_n_params(net), n, 1e3 * best_save, 1e3 * best_load, reps);
    ck_assert(best_load < 5.0 && best_save < 30.0);
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
    tcase_add_test(tf, test_fashion_model_timing);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    return tu_run(model_suite());
}
