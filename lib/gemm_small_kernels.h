/* gemm_small_kernels.h — the loop bodies of lib/gemm_small.c, included once
 * per instruction set (no include guard, on purpose): the includer defines
 *   GS_NAME(f)        the name of each function for this instruction set
 *   GS_VB             bytes of one vector (16, 32, 64)
 *   GS_FMA(a, b, c)   a*b + c on vectors, fused where the target has FMA
 *   GS_MASK_T, GS_MASK(w), GS_LDM(p, m)
 *                     a mask of the first w < GS_W lanes and a load of those
 *                     lanes (the others zero; nothing read past them)
 * and selects the target around the inclusion. Vectors are GNU C vector
 * types (GCC and Clang): the tiles below are kept in registers explicitly
 * instead of hoping that the compiler does.
 *
 * C = alpha op(A) B + beta C, row-major, B not transposed; op(A)(i,k) =
 * A[i*ars + k*acs] (the transpose is a stride). Every C(i,j) is summed over
 * k in increasing order from 0, whatever the tile, the strides or the edge
 * handling, so transposed and plain A give bitwise-equal results. With
 * beta == 0, C is not read. */

typedef double GS_NAME(vec) __attribute__((vector_size(GS_VB)));
#define GS_W (GS_VB / (int)sizeof(double)) /* doubles per vector */
#define V GS_NAME(vec)

static inline V GS_NAME(ld)(const double *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* a in every lane (a - 0 keeps the sign of a zero) */
static inline V GS_NAME(bc)(double a) { return a - (V){0}; }

/* c[0 .. w-1] <- alpha v + beta c (w <= GS_W) */
static inline void GS_NAME(st)(double *c, V v, size_t w, double alpha,
                               double beta)
{
    double t[GS_W];
    memcpy(t, &v, sizeof t);
    if (beta == 0.0)
        for (size_t j = 0; j < w; j++) c[j] = alpha * t[j];
    else
        for (size_t j = 0; j < w; j++) c[j] = alpha * t[j] + beta * c[j];
}

/* 4 rows x 2 vectors: C(i..i+3, j..j+2W-1). */
static inline void GS_NAME(tile4x2)(size_t K, const double *a, size_t ars,
                                    size_t acs, const double *b, size_t ldb,
                                    double *c, size_t ldc, double alpha,
                                    double beta)
{
    V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0};
    V c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (size_t k = 0; k < K; k++) {
        const double *bk = b + k * ldb, *ak = a + k * acs;
        V b0 = GS_NAME(ld)(bk), b1 = GS_NAME(ld)(bk + GS_W);
        V a0 = GS_NAME(bc)(ak[0]), a1 = GS_NAME(bc)(ak[ars]);
        V a2 = GS_NAME(bc)(ak[2 * ars]), a3 = GS_NAME(bc)(ak[3 * ars]);
        c00 = GS_FMA(a0, b0, c00); c01 = GS_FMA(a0, b1, c01);
        c10 = GS_FMA(a1, b0, c10); c11 = GS_FMA(a1, b1, c11);
        c20 = GS_FMA(a2, b0, c20); c21 = GS_FMA(a2, b1, c21);
        c30 = GS_FMA(a3, b0, c30); c31 = GS_FMA(a3, b1, c31);
    }
    GS_NAME(st)(c, c00, GS_W, alpha, beta);
    GS_NAME(st)(c + GS_W, c01, GS_W, alpha, beta);
    GS_NAME(st)(c + ldc, c10, GS_W, alpha, beta);
    GS_NAME(st)(c + ldc + GS_W, c11, GS_W, alpha, beta);
    GS_NAME(st)(c + 2 * ldc, c20, GS_W, alpha, beta);
    GS_NAME(st)(c + 2 * ldc + GS_W, c21, GS_W, alpha, beta);
    GS_NAME(st)(c + 3 * ldc, c30, GS_W, alpha, beta);
    GS_NAME(st)(c + 3 * ldc + GS_W, c31, GS_W, alpha, beta);
}

/* 8 rows x 1 vector (eight accumulators: a single column of vectors
 * would otherwise wait on the FMA latency), the first w columns stored;
 * with `masked`, only those w columns of B are read. */
#define GS_TILE8X1(LOAD)                                                   \
    V c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};                              \
    V c4 = {0}, c5 = {0}, c6 = {0}, c7 = {0};                              \
    for (size_t k = 0; k < K; k++) {                                       \
        const double *ak = a + k * acs, *bk = b + k * ldb;                 \
        V b0 = LOAD;                                                       \
        c0 = GS_FMA(GS_NAME(bc)(ak[0]), b0, c0);                           \
        c1 = GS_FMA(GS_NAME(bc)(ak[ars]), b0, c1);                         \
        c2 = GS_FMA(GS_NAME(bc)(ak[2 * ars]), b0, c2);                     \
        c3 = GS_FMA(GS_NAME(bc)(ak[3 * ars]), b0, c3);                     \
        c4 = GS_FMA(GS_NAME(bc)(ak[4 * ars]), b0, c4);                     \
        c5 = GS_FMA(GS_NAME(bc)(ak[5 * ars]), b0, c5);                     \
        c6 = GS_FMA(GS_NAME(bc)(ak[6 * ars]), b0, c6);                     \
        c7 = GS_FMA(GS_NAME(bc)(ak[7 * ars]), b0, c7);                     \
    }                                                                      \
    V cs[8] = {c0, c1, c2, c3, c4, c5, c6, c7};                            \
    for (size_t r = 0; r < 8; r++) GS_NAME(st)(c + r * ldc, cs[r], w, alpha, beta);

static inline void GS_NAME(tile8x1)(size_t K, const double *a, size_t ars,
                                    size_t acs, const double *b, size_t ldb,
                                    double *c, size_t ldc, size_t w,
                                    bool masked, GS_MASK_T m, double alpha,
                                    double beta)
{
    (void)m;
    if (masked) {
        GS_TILE8X1((V)GS_LDM(bk, m))
    } else {
        GS_TILE8X1(GS_NAME(ld)(bk))
    }
}
#undef GS_TILE8X1

/* 1 row x 4 vectors (matrix-vector shapes: four independent accumulators
 * hide the FMA latency). */
static inline void GS_NAME(tile1x4)(size_t K, const double *a, size_t acs,
                                    const double *b, size_t ldb, double *c,
                                    double alpha, double beta)
{
    V c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (size_t k = 0; k < K; k++) {
        const double *bk = b + k * ldb;
        V av = GS_NAME(bc)(a[k * acs]);
        c0 = GS_FMA(av, GS_NAME(ld)(bk), c0);
        c1 = GS_FMA(av, GS_NAME(ld)(bk + GS_W), c1);
        c2 = GS_FMA(av, GS_NAME(ld)(bk + 2 * GS_W), c2);
        c3 = GS_FMA(av, GS_NAME(ld)(bk + 3 * GS_W), c3);
    }
    GS_NAME(st)(c, c0, GS_W, alpha, beta);
    GS_NAME(st)(c + GS_W, c1, GS_W, alpha, beta);
    GS_NAME(st)(c + 2 * GS_W, c2, GS_W, alpha, beta);
    GS_NAME(st)(c + 3 * GS_W, c3, GS_W, alpha, beta);
}

/* 1 row x 1 vector, the first w columns stored (masked: only those
 * read). */
static inline void GS_NAME(tile1x1)(size_t K, const double *a, size_t acs,
                                    const double *b, size_t ldb, double *c,
                                    size_t w, bool masked, GS_MASK_T m,
                                    double alpha, double beta)
{
    V c0 = {0};
    (void)m;
    if (masked)
        for (size_t k = 0; k < K; k++)
            c0 = GS_FMA(GS_NAME(bc)(a[k * acs]), (V)GS_LDM(b + k * ldb, m), c0);
    else
        for (size_t k = 0; k < K; k++)
            c0 = GS_FMA(GS_NAME(bc)(a[k * acs]), GS_NAME(ld)(b + k * ldb), c0);
    GS_NAME(st)(c, c0, w, alpha, beta);
}

/* One column of vectors (j .. j+w-1, w <= GS_W) of every row from i0 on:
 * 8-row tiles, then row by row. */
static inline void GS_NAME(column)(size_t i0, size_t M, size_t K, size_t j,
                                   size_t w, bool masked, double alpha,
                                   const double *A, size_t ars, size_t acs,
                                   const double *B, size_t ldb, double beta,
                                   double *C, size_t ldc)
{
    GS_MASK_T m = GS_MASK(w);
    size_t i = i0;
    (void)m;
    for (; i + 8 <= M; i += 8)
        GS_NAME(tile8x1)(K, A + i * ars, ars, acs, B + j, ldb, C + i * ldc + j,
                         ldc, w, masked, m, alpha, beta);
    for (; i < M; i++)
        GS_NAME(tile1x1)(K, A + i * ars, acs, B + j, ldb, C + i * ldc + j, w,
                         masked, m, alpha, beta);
}

/* The whole product: 4-row tiles two vectors wide, then the columns left
 * (at most one vector, and the masked right edge) in 8-row tiles; the rows
 * left (and M < 4: matrix-vector shapes) one row at a time, four vectors
 * wide. */
static void GS_NAME(gemm_nb)(size_t M, size_t N, size_t K, double alpha,
                             const double *A, size_t ars, size_t acs,
                             const double *B, size_t ldb, double beta,
                             double *C, size_t ldc)
{
    size_t nv = N / GS_W * GS_W, n2 = N / (2 * GS_W) * (2 * GS_W);
    size_t m4 = M / 4 * 4, j;
    for (size_t i = 0; i < m4; i += 4)
        for (j = 0; j < n2; j += 2 * GS_W)
            GS_NAME(tile4x2)(K, A + i * ars, ars, acs, B + j, ldb,
                             C + i * ldc + j, ldc, alpha, beta);
    for (size_t i = m4; i < M; i++) {
        const double *a = A + i * ars;
        double *c = C + i * ldc;
        for (j = 0; j + 4 * GS_W <= n2; j += 4 * GS_W)
            GS_NAME(tile1x4)(K, a, acs, B + j, ldb, c + j, alpha, beta);
        for (; j < n2; j += GS_W)
            GS_NAME(tile1x1)(K, a, acs, B + j, ldb, c + j, GS_W, false,
                             GS_MASK(GS_W - 1), alpha, beta);
    }
    /* columns [n2, N): one whole vector at most, then the edge */
    if (nv > n2)
        GS_NAME(column)(0, M, K, n2, GS_W, false, alpha, A, ars, acs, B, ldb,
                        beta, C, ldc);
    if (N > nv)
        GS_NAME(column)(0, M, K, nv, N - nv, true, alpha, A, ars, acs, B, ldb,
                        beta, C, ldc);
}

#undef V
#undef GS_W
