/* fuzz_model.c — libFuzzer target for the model loader: nn_model_load_mem
 * and nn_model_load (docs/FORMAT.md).
 *
 * Each input is tried as it is (magic, version, checksums, lengths), then
 * with its two CRC-32 fields recomputed so that mutations reach the payload
 * parser instead of dying at the checksum. A model that loads must predict,
 * and must save back to exactly the bytes it was loaded from (a version-1
 * file saves as version 2: that file must load and save back to itself);
 * the file and memory loaders must agree. */
#include "fuzz_common.h"

#include <zlib.h>

enum { HEADER = 32 };

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The header's payload CRC (bytes 24..27, over the payload) and header CRC
 * (28..31, over bytes 0..27), as the saver writes them. */
static void fix_crcs(uint8_t *p, size_t size)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, p + HEADER, (uInt)(size - HEADER));
    put_u32le(p + 24, (uint32_t)c);
    c = crc32(crc32(0L, Z_NULL, 0), p, 28);
    put_u32le(p + 28, (uint32_t)c);
}

/* Use a loaded model, then save it and compare with the input bytes. */
static void exercise(nn_net_t *net, nn_optim_t *opt, const uint8_t *bytes,
                     size_t size, fz_heap *heap)
{
    size_t n_in = nn_net_n_in(net), n_out = nn_net_n_out(net);
    FZ_ASSERT(n_in > 0 && n_out > 0 && nn_net_n_layers(net) > 0);
    /* one row of zeros (bounded: the input holds n_in weights at least) */
    double *x = calloc(n_in, sizeof *x), *y = malloc(n_out * sizeof *y);
    FZ_ASSERT(x && y);
    nn_status st = nn_net_predict(net, NULL, 1, NN_ROW_MAJOR, x, n_in, y,
                                  n_out);
    FZ_ASSERT(st == NN_OK || st == NN_ERR_NOMEM);
    free(x);
    free(y);

    size_t need = 0;
    FZ_ASSERT(nn_model_save_mem(net, opt, NULL, 0, &need) == NN_OK);
    uint8_t *out = malloc(need);
    FZ_ASSERT(out);
    size_t wrote = 0;
    FZ_ASSERT(nn_model_save_mem(net, opt, out, need, &wrote) == NN_OK);
    FZ_ASSERT(wrote == need);
    uint32_t version = (uint32_t)bytes[8] | (uint32_t)bytes[9] << 8 |
                       (uint32_t)bytes[10] << 16 | (uint32_t)bytes[11] << 24;
    if (version == NN_MODEL_FORMAT_VERSION) {
        FZ_ASSERT(need == size && memcmp(out, bytes, size) == 0);
    } else {
        /* an older file: its re-saved form is a fixed point */
        nn_net_t *n2 = NULL;
        nn_optim_t *o2 = NULL;
        nn_allocator al = fz_allocator(heap);
        FZ_ASSERT(nn_model_load_mem(out, need, &n2, &o2, &al, NULL) == NN_OK);
        size_t need2 = 0;
        FZ_ASSERT(nn_model_save_mem(n2, o2, NULL, 0, &need2) == NN_OK);
        uint8_t *out2 = malloc(need2);
        FZ_ASSERT(out2 && need2 == need);
        FZ_ASSERT(nn_model_save_mem(n2, o2, out2, need2, &need2) == NN_OK);
        FZ_ASSERT(memcmp(out, out2, need) == 0);
        free(out2);
        nn_optim_destroy(o2);
        nn_net_destroy(n2);
    }
    free(out);
}

/* Load bytes from memory (with and without the optimizer) and from a file;
 * returns the memory loader's status. */
static nn_status try_load(const uint8_t *bytes, size_t size, int with_file)
{
    fz_heap heap = {0};
    nn_allocator al = fz_allocator(&heap);
    nn_error_info err;
    nn_net_t *sentinel_net = (nn_net_t *)&heap, *net = sentinel_net;
    nn_optim_t *sentinel_opt = (nn_optim_t *)&al, *opt = sentinel_opt;
    nn_status st = nn_model_load_mem(bytes, size, &net, &opt, &al, &err);
    if (st == NN_OK) {
        FZ_ASSERT(net != sentinel_net && opt != sentinel_opt);
        exercise(net, opt, bytes, size, &heap);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        /* without the optimizer: same net, optimizer dropped */
        nn_net_t *net2 = NULL;
        FZ_ASSERT(nn_model_load_mem(bytes, size, &net2, NULL, &al, NULL) == NN_OK);
        nn_net_destroy(net2);
    } else {
        FZ_ASSERT(st == NN_ERR_FORMAT || st == NN_ERR_UNSUPPORTED ||
                  st == NN_ERR_NOMEM);
        FZ_ASSERT(net == sentinel_net && opt == sentinel_opt);
        fz_check_err(&err);
    }
    fz_check_balanced(&heap, "nn_model_load_mem");

    if (with_file) {
        nn_net_t *fnet = sentinel_net;
        nn_optim_t *fopt = sentinel_opt;
        nn_status fst = nn_model_load(fz_file(bytes, size), &fnet, &fopt, &al,
                                      &err);
        FZ_ASSERT(fst == st || (size == 0 && fst == NN_ERR_FORMAT));
        if (fst == NN_OK) {
            nn_optim_destroy(fopt);
            nn_net_destroy(fnet);
        } else {
            FZ_ASSERT(fnet == sentinel_net && fopt == sentinel_opt);
            fz_check_err(&err);
        }
        fz_check_balanced(&heap, "nn_model_load");
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* as given: header checks, checksums, length mismatches; the file
     * loader checks the header before reading the payload and must agree */
    try_load(size ? data : NULL, size, 1);
    if (size < HEADER) return 0;
    /* with valid checksums: the payload parser */
    uint8_t *p = malloc(size);
    FZ_ASSERT(p);
    memcpy(p, data, size);
    fix_crcs(p, size);
    try_load(p, size, 1);
    free(p);
    return 0;
}
