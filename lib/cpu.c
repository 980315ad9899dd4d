/* cpu.c — which vector instruction set this CPU offers the kernels built
 * for several (lib/vmath.c, lib/gemm_small.c), asked of libgcc's CPU model
 * (__builtin_cpu_supports; no -march anywhere, so the library stays
 * portable and each kernel set is chosen at load time). */
#include "nn_private.h"

int nn__cpu_level(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init(); /* constructors may run before libgcc's own */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    return 0;
}
