/* fortran_sizes.c — the C side of tests/test_fortran.f90: what the C
 * compiler makes of nn.h (the interoperable structs' sizes and member
 * offsets, every constant's value), so that the Fortran module's
 * declarations are compared with the header itself, not with themselves. */
#include <nn.h>

#include <stddef.h>
#include <string.h>

/* Called from Fortran (bind(c) interfaces in tests/test_fortran.f90). */
void nnf_test_layout(size_t *out);
int32_t nnf_test_constant(const char *name, int64_t *value);
const char *nnf_test_version_string(void);

/* Sizes and member offsets, in declaration order: nn_allocator (4 values),
 * nn_error_info (6), nn_report (14), nn_csv_format (5). */
void nnf_test_layout(size_t *out)
{
    size_t k = 0;
    out[k++] = sizeof(nn_allocator);
    out[k++] = offsetof(nn_allocator, alloc);
    out[k++] = offsetof(nn_allocator, free);
    out[k++] = offsetof(nn_allocator, ctx);
    out[k++] = sizeof(nn_error_info);
    out[k++] = offsetof(nn_error_info, file);
    out[k++] = offsetof(nn_error_info, line);
    out[k++] = offsetof(nn_error_info, column);
    out[k++] = offsetof(nn_error_info, offset);
    out[k++] = offsetof(nn_error_info, message);
    out[k++] = sizeof(nn_report);
    out[k++] = offsetof(nn_report, size);
    out[k++] = offsetof(nn_report, kind);
    out[k++] = offsetof(nn_report, reserved);
    out[k++] = offsetof(nn_report, epoch);
    out[k++] = offsetof(nn_report, epochs);
    out[k++] = offsetof(nn_report, batch);
    out[k++] = offsetof(nn_report, batches);
    out[k++] = offsetof(nn_report, rows);
    out[k++] = offsetof(nn_report, train_loss);
    out[k++] = offsetof(nn_report, val_loss);
    out[k++] = offsetof(nn_report, val_accuracy);
    out[k++] = offsetof(nn_report, lr);
    out[k++] = offsetof(nn_report, seconds);
    out[k++] = sizeof(nn_csv_format);
    out[k++] = offsetof(nn_csv_format, size);
    out[k++] = offsetof(nn_csv_format, header);
    out[k++] = offsetof(nn_csv_format, delimiter);
    out[k++] = offsetof(nn_csv_format, label_col);
}

/* Every constant of nn.h by name; the size_t sentinels as int64_t (-1,
 * the bits Fortran's signed integer(c_size_t) holds). */
#define C(name) {#name, (int64_t)(name)}
static const struct {
    const char *name;
    int64_t value;
} constants[] = {
    C(NN_VERSION_MAJOR),
    C(NN_VERSION_MINOR),
    C(NN_VERSION_PATCH),
    C(NN_VERSION_NUMBER),
    C(NN_NO_COLUMN),
    C(NN_NET_WIDE),
    C(NN_KEY_EXPERIMENTAL),
    C(NN_GRAD_SPARE),
    C(NN_MODEL_FORMAT_VERSION),
    C(NN_OK),
    C(NN_ERR_NOMEM),
    C(NN_ERR_INVALID),
    C(NN_ERR_SHAPE),
    C(NN_ERR_NUMERIC),
    C(NN_ERR_IO),
    C(NN_ERR_FORMAT),
    C(NN_ERR_TOO_LARGE),
    C(NN_ERR_UNSUPPORTED),
    C(NN_ERR_STATE),
    C(NN_ROW_MAJOR),
    C(NN_COL_MAJOR),
    C(NN_ACT_IDENTITY),
    C(NN_ACT_SIGMOID),
    C(NN_ACT_TANH),
    C(NN_ACT_RELU),
    C(NN_ACT_LEAKY_RELU),
    C(NN_ACT_SOFTMAX),
    C(NN_LOSS_MSE),
    C(NN_LOSS_BCE),
    C(NN_LOSS_SOFTMAX_CE),
    C(NN_REDUCE_MEAN),
    C(NN_REDUCE_SUM),
    C(NN_INIT_DEFAULT),
    C(NN_INIT_GLOROT_UNIFORM),
    C(NN_INIT_HE_UNIFORM),
    C(NN_INIT_ZERO),
    C(NN_INIT_GLOROT_NORMAL),
    C(NN_INIT_HE_NORMAL),
    C(NN_INIT_ORTHOGONAL),
    C(NN_NET_LOSS),
    C(NN_NET_REDUCTION),
    C(NN_NET_CHECK_FINITE),
    C(NN_NET_DROPOUT_SEED),
    C(NN_NET_DROPOUT_STEP),
    C(NN_NET_DROPOUT_ROW0),
    C(NN_LAYER_DENSE),
    C(NN_LAYER_KIND),
    C(NN_LAYER_UNITS),
    C(NN_LAYER_ACTIVATION),
    C(NN_LAYER_ACT_PARAM),
    C(NN_LAYER_DROPOUT),
    C(NN_OPTIM_SGD),
    C(NN_OPTIM_MOMENTUM),
    C(NN_OPTIM_NESTEROV),
    C(NN_OPTIM_ADAM),
    C(NN_OPTIM_KIND),
    C(NN_OPTIM_LR),
    C(NN_OPTIM_MOMENTUM_COEF),
    C(NN_OPTIM_BETA1),
    C(NN_OPTIM_BETA2),
    C(NN_OPTIM_EPS),
    C(NN_OPTIM_WEIGHT_DECAY),
    C(NN_OPTIM_DECOUPLED),
    C(NN_OPTIM_CLIP_NORM),
    C(NN_OPTIM_STEPS),
    C(NN_SCHED_CONSTANT),
    C(NN_SCHED_STEP),
    C(NN_SCHED_COSINE),
    C(NN_TRAIN_EPOCHS),
    C(NN_TRAIN_BATCH_SIZE),
    C(NN_TRAIN_SHUFFLE),
    C(NN_TRAIN_SEED),
    C(NN_TRAIN_VAL_FRACTION),
    C(NN_TRAIN_PATIENCE),
    C(NN_TRAIN_RESTORE_BEST),
    C(NN_TRAIN_SCHEDULE),
    C(NN_TRAIN_GAMMA),
    C(NN_TRAIN_STEP_EPOCHS),
    C(NN_TRAIN_LR_MIN),
    C(NN_TRAIN_WARMUP_STEPS),
    C(NN_TRAIN_REPORT_EVERY),
    C(NN_TRAIN_EPOCHS_RUN),
    C(NN_TRAIN_BEST_EPOCH),
    C(NN_TRAIN_STOPPED_EARLY),
    C(NN_TRAIN_STEPS_RUN),
    C(NN_TRAIN_PAUSED),
    C(NN_TRAIN_RESUME),
    C(NN_TRAIN_BEST_VAL_LOSS),
    C(NN_TRAIN_FINAL_LOSS),
    C(NN_TRAIN_SECONDS),
    C(NN_METRIC_LOSS),
    C(NN_METRIC_ACCURACY),
    C(NN_METRIC_MSE),
    C(NN_METRIC_MAE),
    C(NN_METRIC_R2),
    C(NN_METRIC_MSE_OUTPUTS),
    C(NN_METRIC_MAE_OUTPUTS),
    C(NN_METRIC_R2_OUTPUTS),
    C(NN_PARAM_INT),
    C(NN_PARAM_REAL),
    C(NN_SCALE_STANDARD),
    C(NN_SCALE_MINMAX),
    C(NN_SCALE_CUSTOM),
    C(NN_SCALER_INPUT),
    C(NN_SCALER_TARGET),
    C(NN_CSV_HEADER_NONE),
    C(NN_CSV_HEADER_LINE),
    C(NN_CSV_HEADER_AUTO),
    C(NN_NAME_FEATURE),
    C(NN_NAME_TARGET),
    C(NN_NAME_LABEL),
    C(NN_NAME_CLASS),
    C(NN_NAME_COLUMN),
    C(NN_REPORT_BATCH),
    C(NN_REPORT_EPOCH),
    C(NN_REPORT_PAUSE),
};

/* 1 and *value set for a known name, else 0. */
int32_t nnf_test_constant(const char *name, int64_t *value)
{
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (strcmp(constants[i].name, name) == 0) {
            *value = constants[i].value;
            return 1;
        }
    return 0;
}

const char *nnf_test_version_string(void) { return NN_VERSION_STRING; }
