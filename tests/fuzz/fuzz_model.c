/* fuzz_model.c — libFuzzer target for the model loader: nn_model_load_mem
 * and nn_model_load (docs/FORMAT.md).
 *
 * Each input is tried as it is (magic, version, checksums, lengths), then
 * with its two CRC-32 fields recomputed so that mutations reach the payload
 * parser instead of dying at the checksum. A model that loads must predict,
 * and must save back to exactly the bytes it was loaded from (a version-1
 * or -2 file saves as version 3: that file must load and save back to
 * itself); the file and memory loaders must agree.
 *
 * A checkpoint (flags bit 3: a training progress after the optimizer) loads
 * as a model too: nn_model_load validates the progress and ignores it, so
 * its model saves as the input cut before the progress, with bit 3 cleared
 * (payload length and CRCs to match). Every input is also tried with
 * nn_checkpoint_load_mem / nn_checkpoint_load: they succeed exactly on the
 * inputs the model loader accepts whose flags have bit 3, and such a
 * checkpoint saves back (nn_checkpoint_save_mem, outside a run: the
 * progress the trainer holds, the loaded optimizer's rate and the net's
 * reduction) to exactly its bytes. On failure they return what the model
 * loader returned (or NN_ERR_FORMAT, "not a checkpoint"), leave the
 * out-pointers alone and take nothing from the trainer's allocator. */
#include "fuzz_common.h"

#include <zlib.h>

/* docs/FORMAT.md: the header, the payload's flags word (bit 3: a training
 * progress follows the optimizer) and the progress section's fixed part */
enum { HEADER = 32, FLAGS_AT = 52, FLAG_PROGRESS = 8, PROG_FIXED = 120 };

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Whether a version-3 input's flags announce a training progress. */
static int has_progress(const uint8_t *bytes, size_t size)
{
    return size >= FLAGS_AT + 4 &&
           get_u32le(bytes + 8) == NN_MODEL_FORMAT_VERSION &&
           (get_u32le(bytes + FLAGS_AT) & FLAG_PROGRESS) != 0;
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

/* A checkpoint's model as nn_model_save wrote it (out, need bytes): the
 * input up to the progress section (120 + 8 n_best bytes, the last one),
 * with flags bit 3 cleared and the header's length and CRCs to fit. */
static void check_model_part(const uint8_t *out, size_t need,
                             const uint8_t *bytes, size_t size)
{
    FZ_ASSERT(need < size && size - need >= PROG_FIXED &&
              (size - need - PROG_FIXED) % 8 == 0);
    uint8_t *want = malloc(need);
    FZ_ASSERT(want);
    memcpy(want, bytes, need);
    put_u32le(want + FLAGS_AT,
              get_u32le(bytes + FLAGS_AT) & ~(uint32_t)FLAG_PROGRESS);
    put_u64le(want + 16, need - HEADER);
    fix_crcs(want, need);
    FZ_ASSERT(memcmp(out, want, need) == 0);
    free(want);
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
    if (has_progress(bytes, size)) {
        check_model_part(out, need, bytes, size);
    } else if (get_u32le(bytes + 8) == NN_MODEL_FORMAT_VERSION) {
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

/* A loaded checkpoint saves back to exactly its bytes (and a buffer one
 * byte short is refused with the size reported). */
static void check_checkpoint(const nn_net_t *net, const nn_optim_t *opt,
                             const nn_trainer_t *tr, const uint8_t *bytes,
                             size_t size)
{
    size_t need = 0, wrote = 0;
    FZ_ASSERT(nn_checkpoint_save_mem(net, opt, tr, NULL, 0, &need) == NN_OK);
    FZ_ASSERT(need == size);
    uint8_t *out = malloc(size);
    FZ_ASSERT(out);
    FZ_ASSERT(nn_checkpoint_save_mem(net, opt, tr, out, size - 1, &wrote) ==
                  NN_ERR_SHAPE && wrote == size);
    wrote = 0;
    FZ_ASSERT(nn_checkpoint_save_mem(net, opt, tr, out, size, &wrote) ==
                  NN_OK && wrote == size);
    FZ_ASSERT(memcmp(out, bytes, size) == 0);
    free(out);
}

/* One checkpoint load (from memory, or with path from that file) into tr,
 * checked against the model loader's status model_st. */
static nn_status checkpoint_once(const uint8_t *bytes, size_t size,
                                 const char *path, nn_status model_st,
                                 nn_trainer_t *tr, fz_heap *theap)
{
    fz_heap heap = {0};
    nn_allocator al = fz_allocator(&heap);
    nn_error_info err;
    nn_net_t *sentinel_net = (nn_net_t *)&heap, *net = sentinel_net;
    nn_optim_t *sentinel_opt = (nn_optim_t *)&al, *opt = sentinel_opt;
    const fz_heap before = *theap;
    nn_status st =
        path ? nn_checkpoint_load(path, &net, &opt, tr, &al, &err)
             : nn_checkpoint_load_mem(bytes, size, &net, &opt, tr, &al, &err);
    if (model_st == NN_OK && has_progress(bytes, size)) {
        FZ_ASSERT(st == NN_OK && net != sentinel_net && opt != sentinel_opt);
        check_checkpoint(net, opt, tr, bytes, size);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    } else {
        FZ_ASSERT(st == model_st || st == NN_ERR_FORMAT);
        FZ_ASSERT(st == NN_ERR_FORMAT || st == NN_ERR_UNSUPPORTED ||
                  st == NN_ERR_NOMEM);
        FZ_ASSERT(net == sentinel_net && opt == sentinel_opt);
        /* nothing adopted: the trainer's memory is as it was */
        FZ_ASSERT(theap->live_bytes == before.live_bytes &&
                  theap->live_blocks == before.live_blocks);
        fz_check_err(&err);
    }
    fz_check_balanced(&heap, path ? "nn_checkpoint_load"
                                  : "nn_checkpoint_load_mem");
    return st;
}

/* The checkpoint loaders on the same bytes, into one trainer (so the file
 * load replaces the progress the memory load left there). */
static void try_checkpoint(const uint8_t *bytes, size_t size,
                           nn_status model_st, int with_file)
{
    fz_heap theap = {0};
    nn_allocator tal = fz_allocator(&theap);
    nn_trainer_t *tr = NULL;
    FZ_ASSERT(nn_trainer_create(&tr, &tal) == NN_OK);
    nn_status st = checkpoint_once(bytes, size, NULL, model_st, tr, &theap);
    if (with_file) {
        const char *path = fz_file(bytes, size);
        nn_status fst = checkpoint_once(bytes, size, path, model_st, tr,
                                        &theap);
        FZ_ASSERT(fst == st || (size == 0 && fst == NN_ERR_FORMAT));
    }
    nn_trainer_destroy(tr);
    fz_check_balanced(&theap, "nn_trainer_destroy");
}

/* Load bytes from memory (with and without the optimizer) and from a file,
 * then as a checkpoint; returns the memory loader's status. */
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
    try_checkpoint(bytes, size, st, with_file);
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
