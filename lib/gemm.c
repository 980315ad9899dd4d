/* gemm.c — the one place libnn calls BLAS, the BLAS thread setting, and
 * which BLAS that is. */
/* dladdr, RTLD_DEFAULT and RTLD_NOLOAD are GNU extensions of <dlfcn.h> */
#define _GNU_SOURCE
#include "nn_private.h"

#ifdef NN_CBLAS_MKL_H
#include <mkl_cblas.h> /* MKL ships no cblas.h (meson.build, BLAS) */
#else
#include <cblas.h>
#endif
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Which products skip BLAS. A cblas_dgemm call costs ~100 ns in dispatch
 * (argument checks, buffer and thread set-up) and OpenBLAS is slow on
 * matrix-vector shapes (M = 1: 0.8 us for 1x64x64, where lib/gemm_small.c
 * takes 0.14 us); libnn's own register-tiled kernel (B not transposed)
 * measured at least as fast as OpenBLAS 0.3.21 single-threaded up to
 * 4096x128x128 on the bench machine (docs/PERFORMANCE.md, "Small
 * products"). So:
 *   - at most NN__TINY_GEMM_MADDS = 64 multiply-adds: plain loops (less
 *     set-up than the kernel's tiles: the notes' 2-4-1 network at batch 1;
 *     lib/tiny.c repeats these loops' arithmetic and relies on this limit);
 *   - B not transposed, M*N*K <= 2^15 or M <= 4: the own kernel;
 *   - B not transposed, M*N*K <= 2^24 and K <= 512: the own kernel when BLAS
 *     runs one thread (with more, BLAS's threads win on such sizes);
 *   - B transposed (dX = dZ.W^T), at most 2048 multiply-adds: plain loops;
 *   - everything else: cblas_dgemm.
 * Building with -Dsmall_gemm=false (meson defines NN_NO_SMALL_GEMM) sends
 * every product to BLAS, so that the test suites' small networks exercise
 * cblas_dgemm too (CI runs the notes and gradient-check suites so). */
#ifndef NN_NO_SMALL_GEMM
#define NN_SMALL_GEMM_MADDS 2048
#define NN_OWN_GEMM_SMALL (1u << 15)
#define NN_OWN_GEMM_MEDIUM (1u << 24)
#define NN_OWN_GEMM_MAX_K 512

static int blas_threads_now(void);

/* C = alpha * op(A) . op(B) + beta * C by plain loops. Each C(i,j) is summed
 * over k in increasing order whatever the transpose flags, so transposed and
 * plain operands give bitwise-equal results (the column-major promise). The
 * flags become strides: op(A)(i,k) = A[i*ars + k*acs]. */
static void small_gemm(bool ta, bool tb, size_t M, size_t N, size_t K,
                       double alpha, const double *A, size_t lda,
                       const double *B, size_t ldb, double beta, double *C,
                       size_t ldc)
{
    size_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
    size_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
    for (size_t i = 0; i < M; i++) {
        double *c = C + i * ldc;
        const double *a = A + i * ars;
        for (size_t j = 0; j < N; j++) {
            const double *b = B + j * bcs;
            double s = 0.0;
            for (size_t k = 0; k < K; k++) s += a[k * acs] * b[k * brs];
            /* beta == 0: C is not read (it may hold NaN) */
            c[j] = beta == 0.0 ? alpha * s : alpha * s + beta * c[j];
        }
    }
}

/* Each size is <= INT_MAX (checked by the callers), so the products are
 * bounded step by step to stay clear of wrap-around. */
static bool madds_at_most(size_t M, size_t N, size_t K, size_t limit)
{
    return M <= limit && N <= limit && K <= limit && M * N <= limit &&
           M * N * K <= limit;
}

static bool use_own_kernel(size_t M, size_t N, size_t K)
{
    if (madds_at_most(M, N, K, NN_OWN_GEMM_SMALL)) return true;
    if (M <= 4) return true;
    return K <= NN_OWN_GEMM_MAX_K && madds_at_most(M, N, K, NN_OWN_GEMM_MEDIUM) &&
           blas_threads_now() == 1;
}
#endif

void nn__gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K,
              double alpha, const double *A, size_t lda, const double *B,
              size_t ldb, double beta, double *C, size_t ldc)
{
    /* C = alpha * op(A) . op(B) + beta * C (row-major). Every size was checked
     * against INT_MAX by the caller's validation, so the casts are exact. */
#ifndef NN_NO_SMALL_GEMM
    if (!trans_b && !madds_at_most(M, N, K, NN__TINY_GEMM_MADDS) &&
        use_own_kernel(M, N, K)) {
        nn__gemm_small(trans_a, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (madds_at_most(M, N, K, NN_SMALL_GEMM_MADDS)) {
        small_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                   ldc);
        return;
    }
#endif
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Thread control goes to the BLAS's own call; meson defines NN_BLAS_<name>
 * after checking that the call links (meson.build, "Thread control"). */
#if defined(NN_BLAS_OPENBLAS)
/* declared by OpenBLAS's cblas.h */
static void blas_set_threads(int n) { openblas_set_num_threads(n); }
static int blas_get_threads(void) { return openblas_get_num_threads(); }
#elif defined(NN_BLAS_BLIS)
#include <blis.h>
static void blas_set_threads(int n) { bli_thread_set_num_threads((dim_t)n); }
/* BLIS reports -1 until a count is set (its default then is one thread) */
static int blas_get_threads(void)
{
    dim_t n = bli_thread_get_num_threads();
    return n > 0 && n <= INT_MAX ? (int)n : 1;
}
#elif defined(NN_BLAS_MKL)
/* MKL's service calls (mkl_service.h), declared here so that only <cblas.h>
 * is needed */
void MKL_Set_Num_Threads(int nth);
int MKL_Get_Max_Threads(void);
static void blas_set_threads(int n) { MKL_Set_Num_Threads(n); }
static int blas_get_threads(void) { return MKL_Get_Max_Threads(); }
#endif
#if defined(NN_BLAS_OPENBLAS) || defined(NN_BLAS_BLIS) || defined(NN_BLAS_MKL)
#define NN_BLAS_THREADS 1
#endif

#ifndef NN_NO_SMALL_GEMM
/* BLAS threads now (a generic CBLAS tells none: taken as one) */
static int blas_threads_now(void)
{
#ifdef NN_BLAS_THREADS
    return blas_get_threads();
#else
    return 1;
#endif
}
#endif

/* Arguments are checked first in every build, so an error path reads the
 * same whichever BLAS is linked. */
nn_status nn_set_num_threads(size_t n)
{
    if (n == 0) return NN_ERR_INVALID;
    if (n > (size_t)INT_MAX) return NN_ERR_TOO_LARGE;
#ifdef NN_BLAS_THREADS
    blas_set_threads((int)n);
    return NN_OK;
#else
    return NN_ERR_UNSUPPORTED; /* a generic CBLAS has no thread control */
#endif
}

nn_status nn_get_num_threads(size_t *n)
{
    if (!n) return NN_ERR_INVALID;
#ifdef NN_BLAS_THREADS
    int t = blas_get_threads();
    *n = t > 0 ? (size_t)t : 1;
    return NN_OK;
#else
    return NN_ERR_UNSUPPORTED;
#endif
}

/* ------------------------------------------------------------ which BLAS */
/* Asked at run time, of the library that serves cblas_dgemm: the build's
 * choice may be a generic libblas.so.3 that update-alternatives points at
 * OpenBLAS, BLIS or the reference BLAS. Each BLAS's self-description call
 * is looked up by name, so libnn links against none of them. The answer is
 * found once (pthread_once) and read-only afterwards. */
static struct {
    const char *name, *core;
    char buf[200]; /* names built here (BLIS, MKL) */
} blas;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* dlsym into the function pointer *fn: POSIX makes the conversion valid,
 * ISO C has no cast that says so, hence the copy. lib NULL: the whole
 * process. */
static bool find_fn(void *lib, const char *name, void *fn, size_t size)
{
    void *p = dlsym(lib ? lib : RTLD_DEFAULT, name);
    if (!p || size != sizeof p) return false;
    memcpy(fn, &p, size);
    return true;
}

/* The library that defines cblas_dgemm, opened again (it is loaded
 * already): dlsym on it searches it and its own dependencies (Debian's
 * OpenBLAS libblas.so.3 is a front for libopenblas.so.0), and not another
 * BLAS the program may have loaded too. NULL if it cannot be told. */
static void *blas_library(void)
{
    void (*fn)(void) = (void (*)(void))cblas_dgemm;
    void *addr = NULL;
    Dl_info info;
    if (sizeof addr != sizeof fn) return NULL;
    memcpy(&addr, &fn, sizeof addr);
    if (!dladdr(addr, &info) || !info.dli_fname) return NULL;
    return dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
}

static bool usable(const char *s) { return s && *s; }

/* OpenBLAS: its build configuration (it names itself and its version) and
 * the core type it chose for this CPU. */
static bool openblas_info(void *lib)
{
    char *(*config)(void) = NULL, *(*corename)(void) = NULL;
    if (!find_fn(lib, "openblas_get_config", &config, sizeof config))
        return false;
    const char *s = config();
    if (!usable(s)) return false;
    blas.name = s;
    if (find_fn(lib, "openblas_get_corename", &corename, sizeof corename) &&
        usable(corename()))
        blas.core = corename();
    return true;
}

/* BLIS: "BLIS VERSION" and the name of the configuration (kernel set) it
 * chose for this CPU. */
static bool blis_info(void *lib)
{
    const char *(*version)(void) = NULL, *(*arch_string)(int) = NULL;
    int (*arch_id)(void) = NULL;
    if (!find_fn(lib, "bli_info_get_version_str", &version, sizeof version))
        return false;
    const char *v = version();
    snprintf(blas.buf, sizeof blas.buf, "BLIS%s%s", usable(v) ? " " : "",
             usable(v) ? v : "");
    blas.name = blas.buf;
    if (find_fn(lib, "bli_arch_query_id", &arch_id, sizeof arch_id) &&
        find_fn(lib, "bli_arch_string", &arch_string, sizeof arch_string)) {
        const char *a = arch_string(arch_id());
        if (usable(a)) blas.core = a;
    }
    return true;
}

/* MKL: its version string (it tells no kernel name). */
static bool mkl_info(void *lib)
{
    void (*version)(char *, int) = NULL;
    if (!find_fn(lib, "MKL_Get_Version_String", &version, sizeof version))
        return false;
    version(blas.buf, (int)sizeof blas.buf);
    blas.buf[sizeof blas.buf - 1] = '\0';
    if (!usable(blas.buf)) return false;
    blas.name = blas.buf;
    return true;
}

static void blas_lookup(void)
{
    void *lib = blas_library();
    blas.name = blas.core = "unknown";
    if (!openblas_info(lib) && !blis_info(lib)) mkl_info(lib);
    /* what was found lives in the BLAS, which libnn keeps loaded */
    if (lib) dlclose(lib);
}

const char *nn_blas_name(void)
{
    pthread_once(&blas_once, blas_lookup);
    return blas.name ? blas.name : "unknown";
}

const char *nn_blas_core(void)
{
    pthread_once(&blas_once, blas_lookup);
    return blas.core ? blas.core : "unknown";
}
