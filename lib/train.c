/* train.c — in progress (this session) */
#include "nn_private.h"
