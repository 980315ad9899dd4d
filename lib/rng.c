/* rng.c — a small seeded generator (xoshiro256**, seeded by splitmix64) and
 * the weight initialisers that draw from it, and the counter-based draws of
 * the dropout masks. No global state: the caller owns the generator. */
#include "nn_private.h"

#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* splitmix64's output function: a bijection of 64-bit words whose outputs
 * for consecutive inputs pass BigCrush, so mix(key + j * golden) is a
 * stream indexed by j. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x)
{
    return mix64(*x += 0x9E3779B97F4A7C15ull);
}

void nn__rng_seed(nn_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nn__rng_next(nn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nn__rng_uniform(nn_rng *r)
{
    return (double)(nn__rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t nn__drop_row_key(uint64_t seed, uint64_t step, size_t layer,
                          uint64_t row)
{
    /* one mixing round per coordinate, so that neighbouring steps, layers
     * and rows give unrelated keys (no coordinate is a shift of another) */
    uint64_t k = mix64(seed ^ 0xD5A61266F0C9392Cull);
    k = mix64(k ^ (step * 0x9E3779B97F4A7C15ull));
    k = mix64(k ^ ((uint64_t)layer * 0xC2B2AE3D27D4EB4Full));
    return mix64(k ^ (row * 0x165667B19E3779F9ull));
}

double nn__drop_uniform(uint64_t row_key, size_t unit)
{
    uint64_t z = row_key + ((uint64_t)unit + 1) * 0x9E3779B97F4A7C15ull;
    return (double)(mix64(z) >> 11) * 0x1.0p-53;
}

bool nn__init_valid(nn_init init)
{
    return (unsigned)init <= (unsigned)NN_INIT_ORTHOGONAL;
}

/* Half-width r of the uniform distribution U(-r, r) of a scheme (0 for the
 * schemes that do not draw uniforms). */
static double uniform_radius(nn_init init, const nn_layer *L)
{
    if (init == NN_INIT_DEFAULT)
        init = (L->act == NN_ACT_RELU || L->act == NN_ACT_LEAKY_RELU)
                   ? NN_INIT_HE_UNIFORM
                   : NN_INIT_GLOROT_UNIFORM;
    switch (init) {
    case NN_INIT_GLOROT_UNIFORM:
        return sqrt(6.0 / ((double)L->n_in + (double)L->n_out));
    case NN_INIT_HE_UNIFORM: return sqrt(6.0 / (double)L->n_in);
    default: return 0.0;
    }
}

/* Standard normal variates by Box-Muller: each pair of uniforms gives two
 * variates, the second kept in the (caller-owned) state for the next call.
 * u1 is in (0, 1], so the logarithm is finite. */
typedef struct normal_gen {
    nn_rng *r;
    bool have_spare;
    double spare;
} normal_gen;

static double next_normal(normal_gen *g)
{
    if (g->have_spare) {
        g->have_spare = false;
        return g->spare;
    }
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - nn__rng_uniform(g->r); /* (0, 1] */
    double u2 = nn__rng_uniform(g->r);
    double rad = sqrt(-2.0 * log(u1));
    g->spare = rad * sin(two_pi * u2);
    g->have_spare = true;
    return rad * cos(two_pi * u2);
}

/* Orthogonal init. G (n_in x n_out) is Gaussian, drawn in row-major order;
 * A = G if tall or square, A = G^T if wide (p x q, p >= q); A = QR; column j
 * of Q is multiplied by sign(R_jj) (Haar-distributed result); W = Q (tall)
 * or Q^T (wide). Scratch comes from al and W is written only on success. The
 * LAPACKE _work variants in column-major order allocate nothing themselves. */
static nn_status init_orthogonal(nn_layer *L, nn_rng *r, const nn_allocator *al)
{
    size_t n_in = L->n_in, n_out = L->n_out;
    bool tall = n_in >= n_out;
    size_t p = tall ? n_in : n_out, q = tall ? n_out : n_in;
    if (!nn__fits_blas(p) || !nn__fits_blas(q)) return NN_ERR_TOO_LARGE;
    lapack_int P = (lapack_int)p, Q = (lapack_int)q;

    /* workspace queries (A and tau are not referenced) */
    double wq1 = 0, wq2 = 0, dummy = 0;
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, P, Q, &dummy, P, &dummy, &wq1,
                            -1) != 0 ||
        LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, P, Q, Q, &dummy, P, &dummy, &wq2,
                            -1) != 0)
        return NN_ERR_NUMERIC;
    double wq = wq1 > wq2 ? wq1 : wq2;
    size_t lwork = (wq >= 1.0 && wq <= (double)INT_MAX) ? (size_t)wq : q;
    if (lwork < q) lwork = q;

    /* A (p*q) | tau (q) | sgn (q) | work (lwork) */
    size_t pq, total, bytes;
    if (!nn__mul(p, q, &pq) || !nn__add(pq, 2 * q, &total) ||
        !nn__add(total, lwork, &total) ||
        !nn__mul(total, sizeof(double), &bytes))
        return NN_ERR_TOO_LARGE;
    double *A = nn__alloc(al, bytes);
    if (!A) return NN_ERR_NOMEM;
    double *tau = A + pq, *sgn = tau + q, *work = sgn + q;

    /* column-major p x q: tall A(i,j) = G(i,j); wide A(j,i) = G(i,j) */
    normal_gen g = {.r = r};
    for (size_t i = 0; i < n_in; i++)
        for (size_t j = 0; j < n_out; j++) {
            double z = next_normal(&g);
            if (tall) A[i + j * p] = z;
            else A[j + i * p] = z;
        }

    nn_status st = NN_OK;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, P, Q, A, P, tau,
                                          work, (lapack_int)lwork);
    if (info != 0) { st = NN_ERR_NUMERIC; goto done; }
    for (size_t j = 0; j < q; j++) sgn[j] = A[j + j * p] < 0 ? -1.0 : 1.0;
    info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, P, Q, Q, A, P, tau, work,
                               (lapack_int)lwork);
    if (info != 0) { st = NN_ERR_NUMERIC; goto done; }

    /* W row-major n_in x n_out: tall W(i,j) = Q(i,j) s_j; wide W(i,j) =
     * Q(j,i) s_i */
    for (size_t i = 0; i < n_in; i++)
        for (size_t j = 0; j < n_out; j++)
            L->W[i * n_out + j] =
                tall ? A[i + j * p] * sgn[j] : A[j + i * p] * sgn[i];
    memset(L->b, 0, n_out * sizeof(double));
done:
    nn__free(al, A, bytes);
    return st;
}

nn_status nn__init_layer(nn_layer *L, nn_init init, nn_rng *r,
                         const nn_allocator *al)
{
    size_t nw = L->n_in * L->n_out;
    if (init == NN_INIT_ORTHOGONAL) return init_orthogonal(L, r, al);
    if (init == NN_INIT_GLOROT_NORMAL || init == NN_INIT_HE_NORMAL) {
        double fan = init == NN_INIT_HE_NORMAL
                         ? (double)L->n_in
                         : (double)L->n_in + (double)L->n_out;
        double s = sqrt(2.0 / fan);
        normal_gen g = {.r = r};
        for (size_t i = 0; i < nw; i++) L->W[i] = s * next_normal(&g);
    } else {
        double radius = uniform_radius(init, L);
        if (radius == 0.0) {
            memset(L->W, 0, nw * sizeof(double));
        } else {
            for (size_t i = 0; i < nw; i++)
                L->W[i] = (2.0 * nn__rng_uniform(r) - 1.0) * radius;
        }
    }
    memset(L->b, 0, L->n_out * sizeof(double));
    return NN_OK;
}
