/* fuzz_idx.c — libFuzzer target for the IDX loader (nn_data_load_idx and
 * nn_data_load_idx_labels), plain or gzip-compressed input. */
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(data, size);
    fz_heap heap = {0};
    nn_allocator al = fz_allocator(&heap);
    nn_error_info err;

    /* as a feature file */
    nn_data_t *d = (nn_data_t *)&heap; /* sentinel: must stay untouched on error */
    nn_status st = nn_data_load_idx(&d, path, &al, &err);
    if (st == NN_OK) {
        size_t m = nn_data_rows(d), n = nn_data_cols(d);
        FZ_ASSERT(m > 0 && n > 0);
        FZ_ASSERT(nn_data_labels(d) == NULL);
        const double *X = nn_data_x(d);
        /* NaN/Inf images are refused: what loads is finite */
        for (size_t i = 0; i < m * n; i++) FZ_ASSERT(isfinite(X[i]));
        /* the same bytes as labels for it: fine when 1-dimensional */
        nn_status sl = nn_data_load_idx_labels(d, path, &err);
        if (sl == NN_OK) {
            const int32_t *lab = nn_data_labels(d);
            FZ_ASSERT(lab != NULL);
            for (size_t i = 0; i < m; i++)
                FZ_ASSERT(lab[i] >= 0 &&
                          (size_t)lab[i] < nn_data_n_classes(d));
        } else {
            FZ_ASSERT(fz_input_status(sl));
            FZ_ASSERT(nn_data_labels(d) == NULL); /* unchanged */
            fz_check_err(&err);
        }
        nn_data_destroy(d);
    } else {
        FZ_ASSERT(fz_input_status(st));
        FZ_ASSERT(d == (nn_data_t *)&heap);
        fz_check_err(&err);
    }
    fz_check_balanced(&heap, "nn_data_load_idx");

    /* as labels for a small data set that already has labels */
    double x[3] = {1, 2, 3};
    int32_t old[3] = {0, 1, 2};
    nn_data_t *small = NULL;
    if (nn_data_create(&small, 3, 1, NN_ROW_MAJOR, x, 1, &al) != NN_OK ||
        nn_data_set_labels(small, old) != NN_OK)
        abort();
    st = nn_data_load_idx_labels(small, path, NULL);
    const int32_t *lab = nn_data_labels(small);
    if (st == NN_OK) {
        for (size_t i = 0; i < 3; i++)
            FZ_ASSERT(lab[i] >= 0 && (size_t)lab[i] < nn_data_n_classes(small));
    } else {
        FZ_ASSERT(fz_input_status(st));
        FZ_ASSERT(lab[0] == 0 && lab[1] == 1 && lab[2] == 2);
        FZ_ASSERT(nn_data_n_classes(small) == 3);
    }
    nn_data_destroy(small);
    fz_check_balanced(&heap, "nn_data_load_idx_labels");
    return 0;
}
