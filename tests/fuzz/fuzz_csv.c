/* fuzz_csv.c — libFuzzer target for the CSV loader (nn_data_load_csv).
 * The first byte picks the options (bit 0: header; bits 1-2: label column
 * none, 0, 1 or 2); the rest is the file. */
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool header = data[0] & 1;
    unsigned lc = (data[0] >> 1) & 3;
    size_t label_col = lc == 0 ? (size_t)-1 : lc - 1;
    const char *path = fz_file(data + 1, size - 1);

    fz_heap heap = {0};
    nn_allocator al = fz_allocator(&heap);
    nn_error_info err;
    nn_data_t *d = (nn_data_t *)&heap;
    nn_status st = nn_data_load_csv(&d, path, header, label_col, &al, &err);
    if (st == NN_OK) {
        size_t m = nn_data_rows(d), n = nn_data_cols(d);
        FZ_ASSERT(m > 0 && n > 0);
        const double *X = nn_data_x(d);
        for (size_t i = 0; i < m * n; i++) FZ_ASSERT(isfinite(X[i]));
        const size_t *lab = nn_data_labels(d);
        FZ_ASSERT((lab != NULL) == (label_col != (size_t)-1));
        for (size_t i = 0; lab && i < m; i++)
            FZ_ASSERT(lab[i] < nn_data_n_classes(d));
        /* fit and apply both scalers: finite in, finite out */
        for (int k = 0; k < 2; k++) {
            nn_scaler_t *s = NULL;
            if (nn_scaler_fit(&s, (nn_scale_kind)k, d, &al) != NN_OK) abort();
            FZ_ASSERT(nn_scaler_apply(s, d) == NN_OK);
            nn_scaler_destroy(s);
        }
        nn_data_destroy(d);
    } else {
        FZ_ASSERT(fz_input_status(st));
        FZ_ASSERT(d == (nn_data_t *)&heap);
        fz_check_err(&err);
    }
    fz_check_balanced(&heap, "nn_data_load_csv");
    return 0;
}
