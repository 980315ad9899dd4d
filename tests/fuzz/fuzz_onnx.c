/* fuzz_onnx.c — libFuzzer target for the ONNX importer and exporter:
 * nn_onnx_load_mem, nn_onnx_load, nn_onnx_save_mem (docs/ONNX.md).
 *
 * Every input goes through the memory loader; the file loader (a memfd,
 * see fuzz_common.h) sees every input that loads and one in four of the
 * others, and must return the same status. A failed load leaves *out
 * alone, frees everything it took and says why in a printable, terminated
 * message. A network that loads must predict a row of zeros, export, and
 * re-import to the same network: the same layers, activations, slopes and
 * loss, and bitwise the same parameters and predictions; its export is a
 * fixed point (exporting the re-import gives the same bytes), and the
 * NN_ONNX_LOGITS export re-imports to the same parameters with an identity
 * output. */
#include "fuzz_common.h"

/* Layer sizes, activations, slopes (bitwise) and loss of a and b agree;
 * with `logits`, b's output layer is the identity. */
static void same_shape(const nn_net_t *a, const nn_net_t *b, int logits)
{
    size_t L = nn_net_n_layers(a);
    FZ_ASSERT(nn_net_n_layers(b) == L);
    FZ_ASSERT(nn_net_n_in(b) == nn_net_n_in(a));
    FZ_ASSERT(nn_net_n_out(b) == nn_net_n_out(a));
    for (size_t l = 0; l < L; l++) {
        FZ_ASSERT(nn_net_layer_n_in(b, l) == nn_net_layer_n_in(a, l));
        FZ_ASSERT(nn_net_layer_n_out(b, l) == nn_net_layer_n_out(a, l));
        int64_t act_a = -1, act_b = -1;
        FZ_ASSERT(nn_net_get_layer_int(a, l, NN_LAYER_ACTIVATION, &act_a) ==
                  NN_OK);
        FZ_ASSERT(nn_net_get_layer_int(b, l, NN_LAYER_ACTIVATION, &act_b) ==
                  NN_OK);
        if (logits && l + 1 == L) {
            FZ_ASSERT(act_b == NN_ACT_IDENTITY);
            continue;
        }
        FZ_ASSERT(act_a == act_b);
        if (act_a != NN_ACT_LEAKY_RELU) continue;
        double sa = 0, sb = 1;
        FZ_ASSERT(nn_net_get_layer_real(a, l, NN_LAYER_ACT_PARAM, &sa) ==
                  NN_OK);
        FZ_ASSERT(nn_net_get_layer_real(b, l, NN_LAYER_ACT_PARAM, &sb) ==
                  NN_OK);
        FZ_ASSERT(memcmp(&sa, &sb, sizeof sa) == 0);
    }
    int64_t la = -1, lb = -2;
    FZ_ASSERT(nn_net_get_int(a, NN_NET_LOSS, &la) == NN_OK);
    FZ_ASSERT(nn_net_get_int(b, NN_NET_LOSS, &lb) == NN_OK);
    if (!logits) FZ_ASSERT(la == lb);
}

/* Bitwise the same flat parameter arrays. */
static void same_params(nn_net_t *a, nn_net_t *b)
{
    size_t n = nn_net_n_params(a);
    FZ_ASSERT(nn_net_n_params(b) == n);
    FZ_ASSERT(memcmp(nn_net_params(a), nn_net_params(b), n * sizeof(double))
              == 0);
}

/* The outputs for one row of zeros (malloc'ed; NULL when the library ran
 * out of memory, which the checking allocator allows). The row is bounded:
 * the input held n_in x n_out weights. */
static double *predict_zeros(const nn_net_t *net)
{
    size_t n_in = nn_net_n_in(net), n_out = nn_net_n_out(net);
    double *x = calloc(n_in, sizeof *x), *y = malloc(n_out * sizeof *y);
    FZ_ASSERT(x && y);
    nn_status st = nn_net_predict(net, NULL, 1, NN_ROW_MAJOR, x, n_in, y,
                                  n_out);
    FZ_ASSERT(st == NN_OK || st == NN_ERR_NOMEM);
    free(x);
    if (st == NN_OK) return y;
    free(y);
    return NULL;
}

/* net exported with flags (malloc'ed, *size bytes); checks the size query
 * and that a buffer one byte short is refused untouched. */
static uint8_t *export_net(const nn_net_t *net, int32_t flags, size_t *size)
{
    size_t need = 0, got = 0;
    FZ_ASSERT(nn_onnx_save_mem(net, flags, NULL, 0, &need) == NN_OK);
    FZ_ASSERT(need > 0);
    uint8_t *buf = malloc(need);
    FZ_ASSERT(buf);
    memset(buf, 0xA5, need);
    FZ_ASSERT(nn_onnx_save_mem(net, flags, buf, need - 1, &got) ==
              NN_ERR_SHAPE);
    FZ_ASSERT(got == need);
    for (size_t i = 0; i < need; i++) FZ_ASSERT(buf[i] == 0xA5);
    FZ_ASSERT(nn_onnx_save_mem(net, flags, buf, need, &got) == NN_OK);
    FZ_ASSERT(got == need);
    *size = need;
    return buf;
}

/* Re-import an export of net; it must load. */
static nn_net_t *reimport(const uint8_t *buf, size_t size, fz_heap *heap)
{
    nn_allocator al = fz_allocator(heap);
    nn_error_info err;
    nn_net_t *back = NULL;
    nn_status st = nn_onnx_load_mem(&back, buf, size, &al, &err);
    if (st != NN_OK)
        fprintf(stderr, "fuzz: re-import of an export failed: %s (%s)\n",
                nn_strerror(st), err.message);
    FZ_ASSERT(st == NN_OK && back);
    return back;
}

/* Export, re-import, compare; then the same with NN_ONNX_LOGITS. */
static void round_trip(nn_net_t *net, fz_heap *heap)
{
    double *y = predict_zeros(net);
    size_t size = 0;
    uint8_t *onnx = export_net(net, 0, &size);
    nn_net_t *back = reimport(onnx, size, heap);
    same_shape(net, back, 0);
    same_params(net, back);
    double *y2 = predict_zeros(back);
    if (y && y2)
        FZ_ASSERT(memcmp(y, y2, nn_net_n_out(net) * sizeof *y) == 0);
    free(y);
    free(y2);
    /* the export of the re-import: the same bytes */
    size_t size2 = 0;
    uint8_t *again = export_net(back, 0, &size2);
    FZ_ASSERT(size2 == size && memcmp(again, onnx, size) == 0);
    free(again);
    free(onnx);
    nn_net_destroy(back);

    onnx = export_net(net, NN_ONNX_LOGITS, &size);
    back = reimport(onnx, size, heap);
    same_shape(net, back, 1);
    same_params(net, back);
    free(onnx);
    nn_net_destroy(back);
}

/* One load; on failure, *out untouched and the message well formed. */
static nn_status load_once(const uint8_t *data, size_t size, int from_file,
                           fz_heap *heap, nn_net_t **out)
{
    nn_allocator al = fz_allocator(heap);
    nn_error_info err;
    memset(&err, 0x5A, sizeof err); /* the loader must terminate both */
    nn_net_t *sentinel = (nn_net_t *)heap, *net = sentinel;
    nn_status st = from_file
                       ? nn_onnx_load(&net, fz_file(data, size), &al, &err)
                       : nn_onnx_load_mem(&net, data, size, &al, &err);
    if (st == NN_OK) {
        FZ_ASSERT(net && net != sentinel);
        FZ_ASSERT(nn_net_n_in(net) > 0 && nn_net_n_out(net) > 0);
        FZ_ASSERT(nn_net_n_layers(net) > 0);
        *out = net;
        return st;
    }
    FZ_ASSERT(st == NN_ERR_FORMAT || st == NN_ERR_UNSUPPORTED ||
              st == NN_ERR_NOMEM || st == NN_ERR_TOO_LARGE);
    FZ_ASSERT(net == sentinel);
    fz_check_err(&err);
    fz_check_balanced(heap, from_file ? "nn_onnx_load" : "nn_onnx_load_mem");
    *out = NULL;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t none[1];
    const uint8_t *bytes = size ? data : none; /* never NULL */
    fz_heap heap = {0};
    nn_net_t *net = NULL;
    nn_status st = load_once(bytes, size, 0, &heap, &net);
    if (net) {
        round_trip(net, &heap);
        nn_net_destroy(net);
        fz_check_balanced(&heap, "a loaded network");
    }
    /* the file loader: every model that loads, one in four of the rest */
    uint32_t pick = (uint32_t)size;
    for (size_t i = 0; i < size && i < 8; i++) pick = pick * 31u + bytes[i];
    if (st == NN_OK || pick % 4 == 0) {
        nn_net_t *fnet = NULL;
        nn_status fst = load_once(bytes, size, 1, &heap, &fnet);
        if (fst != st)
            fprintf(stderr, "fuzz: nn_onnx_load: %s, nn_onnx_load_mem: %s\n",
                    nn_strerror(fst), nn_strerror(st));
        FZ_ASSERT(fst == st);
        if (fnet) {
            /* the same network as from memory */
            nn_net_t *mnet = NULL;
            FZ_ASSERT(load_once(bytes, size, 0, &heap, &mnet) == NN_OK);
            same_shape(mnet, fnet, 0);
            same_params(mnet, fnet);
            nn_net_destroy(mnet);
            nn_net_destroy(fnet);
        }
        fz_check_balanced(&heap, "nn_onnx_load");
    }
    return 0;
}
