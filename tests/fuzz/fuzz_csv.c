/* fuzz_csv.c — libFuzzer target for the CSV loader (nn_data_load_csv).
 * The first byte picks the options (bit 0: header; bits 1-2: label column
 * none, 0, 1 or 2); the rest is the file. A data set that loads is then fed
 * to the scalers and, with two columns or more, has its first column taken
 * as a dense target. */
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int32_t header = data[0] & 1;
    unsigned lc = (data[0] >> 1) & 3;
    size_t label_col = lc == 0 ? NN_NO_COLUMN : lc - 1;
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
        const int32_t *lab = nn_data_labels(d);
        FZ_ASSERT((lab != NULL) == (label_col != NN_NO_COLUMN));
        for (size_t i = 0; lab && i < m; i++)
            FZ_ASSERT(lab[i] >= 0 && (size_t)lab[i] < nn_data_n_classes(d));
        /* fit and apply both scalers: finite values whose sums overflow are
         * refused (NN_ERR_NUMERIC), else the fit applies */
        for (int k = 0; k < 2; k++) {
            nn_scaler_t *s = NULL;
            nn_status fs = nn_scaler_fit_data(&s, (nn_scale_kind)k, d, &al);
            FZ_ASSERT(fs == NN_OK || fs == NN_ERR_NUMERIC);
            if (fs == NN_OK) FZ_ASSERT(nn_scaler_apply_data(s, d) == NN_OK);
            nn_scaler_destroy(s);
        }
        /* column 0 as a dense target: labels dropped, one column fewer */
        if (n >= 2) {
            const size_t col0 = 0;
            FZ_ASSERT(nn_data_take_targets(d, &col0, 1) == NN_OK);
            FZ_ASSERT(nn_data_cols(d) == n - 1 && nn_data_n_targets(d) == 1);
            FZ_ASSERT(nn_data_labels(d) == NULL && nn_data_targets(d));
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
