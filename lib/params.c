/* params.c — the table of settings keys: each key's type, inclusive bounds
 * and writability, shared by nn_param_info and by every keyed setter, so the
 * bounds a caller can query are exactly the ones the setters enforce. */
#include "nn_private.h"

#include <float.h>
#include <math.h>

/* Bounds of an integer key are kept as int64 (exact), of a real key as
 * doubles; a half-open interval such as [0, 1) is stored closed, as [0, the
 * largest double below 1]. */
typedef struct key_info {
    int32_t key, type, writable;
    int64_t ilo, ihi;
    double rlo, rhi;
} key_info;

#define I(k, lo, hi, w) {k, NN_PARAM_INT, w, lo, hi, 0, 0}
#define R(k, lo, hi, w) {k, NN_PARAM_REAL, w, 0, 0, lo, hi}
#define BELOW_ONE 0x1.fffffffffffffp-1 /* nextafter(1, 0) */

static const key_info KEYS[] = {
    I(NN_NET_LOSS, 0, 2, 0),
    I(NN_NET_REDUCTION, 0, 1, 1),
    I(NN_NET_CHECK_FINITE, 0, 1, 1),
    I(NN_NET_DROPOUT_SEED, INT64_MIN, INT64_MAX, 1),
    I(NN_NET_DROPOUT_STEP, 0, INT64_MAX, 1),
    I(NN_NET_DROPOUT_ROW0, 0, INT64_MAX, 1),
    I(NN_LAYER_KIND, 0, 0, 0),
    I(NN_LAYER_UNITS, 1, INT32_MAX, 0),
    I(NN_LAYER_ACTIVATION, 0, NN_ACT_SOFTMAX, 1),
    R(NN_LAYER_ACT_PARAM, 0.0, DBL_MAX, 1),
    R(NN_LAYER_DROPOUT, 0.0, BELOW_ONE, 1),
    I(NN_OPTIM_KIND, 0, NN_OPTIM_ADAM, 0),
    R(NN_OPTIM_LR, DBL_TRUE_MIN, DBL_MAX, 1),
    R(NN_OPTIM_MOMENTUM_COEF, 0.0, BELOW_ONE, 1),
    R(NN_OPTIM_BETA1, 0.0, BELOW_ONE, 1),
    R(NN_OPTIM_BETA2, 0.0, BELOW_ONE, 1),
    R(NN_OPTIM_EPS, DBL_TRUE_MIN, DBL_MAX, 1),
    R(NN_OPTIM_WEIGHT_DECAY, 0.0, DBL_MAX, 1),
    I(NN_OPTIM_DECOUPLED, 0, 1, 1),
    R(NN_OPTIM_CLIP_NORM, 0.0, DBL_MAX, 1),
    I(NN_OPTIM_STEPS, 0, INT64_MAX, 0),
    I(NN_TRAIN_EPOCHS, 1, INT64_MAX, 1),
    I(NN_TRAIN_BATCH_SIZE, 1, INT64_MAX, 1),
    I(NN_TRAIN_SHUFFLE, 0, 1, 1),
    I(NN_TRAIN_SEED, INT64_MIN, INT64_MAX, 1),
    R(NN_TRAIN_VAL_FRACTION, 0.0, BELOW_ONE, 1),
    I(NN_TRAIN_PATIENCE, 0, INT64_MAX, 1),
    I(NN_TRAIN_RESTORE_BEST, 0, 1, 1),
    I(NN_TRAIN_SCHEDULE, 0, NN_SCHED_COSINE, 1),
    R(NN_TRAIN_GAMMA, DBL_TRUE_MIN, 1.0, 1),
    I(NN_TRAIN_STEP_EPOCHS, 1, INT64_MAX, 1),
    R(NN_TRAIN_LR_MIN, 0.0, DBL_MAX, 1),
    I(NN_TRAIN_WARMUP_STEPS, 0, INT64_MAX, 1),
    I(NN_TRAIN_REPORT_EVERY, 0, INT64_MAX, 1),
    I(NN_TRAIN_RESUME, 0, 1, 1),
    I(NN_TRAIN_THREADS, 0, 1024, 1),
    I(NN_TRAIN_EPOCHS_RUN, 0, INT64_MAX, 0),
    I(NN_TRAIN_BEST_EPOCH, 0, INT64_MAX, 0),
    I(NN_TRAIN_STOPPED_EARLY, 0, 1, 0),
    I(NN_TRAIN_STEPS_RUN, 0, INT64_MAX, 0),
    I(NN_TRAIN_PAUSED, 0, 1, 0),
    R(NN_TRAIN_BEST_VAL_LOSS, 0.0, DBL_MAX, 0),
    R(NN_TRAIN_FINAL_LOSS, 0.0, DBL_MAX, 0),
    R(NN_TRAIN_SECONDS, 0.0, DBL_MAX, 0),
};

static const key_info *find(int32_t key)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (KEYS[i].key == key) return &KEYS[i];
    return NULL;
}

nn_status nn_param_info(int32_t key, int32_t *type, double *lo, double *hi,
                        int32_t *writable)
{
    const key_info *k = find(key);
    if (!k) return NN_ERR_INVALID;
    if (type) *type = k->type;
    if (lo) *lo = k->type == NN_PARAM_INT ? (double)k->ilo : k->rlo;
    if (hi) *hi = k->type == NN_PARAM_INT ? (double)k->ihi : k->rhi;
    if (writable) *writable = k->writable;
    return NN_OK;
}

/* Keys of one object lie in one block of 100 (NN_NET_* 100.., NN_LAYER_*
 * 200.., ...): `family` is that block's first key. */
static const key_info *writable_key(int32_t family, int32_t key, int32_t type)
{
    const key_info *k = find(key);
    if (!k || key / 100 != family / 100 || k->type != type || !k->writable)
        return NULL;
    return k;
}

nn_status nn__param_check_int(int32_t family, int32_t key, int64_t value)
{
    const key_info *k = writable_key(family, key, NN_PARAM_INT);
    if (!k || value < k->ilo || value > k->ihi) return NN_ERR_INVALID;
    return NN_OK;
}

nn_status nn__param_check_real(int32_t family, int32_t key, double value)
{
    const key_info *k = writable_key(family, key, NN_PARAM_REAL);
    /* !(lo <= v && v <= hi) also refuses NaN */
    if (!k || !(value >= k->rlo && value <= k->rhi)) return NN_ERR_INVALID;
    return NN_OK;
}
