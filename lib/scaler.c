/* scaler.c — being written (1.0 port). */
#include "nn_private.h"
typedef int nn__placeholder_scaler;
