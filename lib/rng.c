/* rng.c — a small seeded generator (xoshiro256**, seeded by splitmix64) and
 * the weight initialisers that draw from it. No global state: the caller owns
 * the generator. */
#include "nn_private.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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

bool nn__init_valid(nn_init init)
{
    return (unsigned)init <= (unsigned)NN_INIT_ZERO;
}

/* Half-width r of the uniform distribution U(-r, r) of a scheme. */
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

void nn__init_layer(nn_layer *L, nn_init init, nn_rng *r)
{
    size_t nw = L->n_in * L->n_out;
    double radius = uniform_radius(init, L);
    if (radius == 0.0) {
        memset(L->W, 0, nw * sizeof(double));
    } else {
        for (size_t i = 0; i < nw; i++)
            L->W[i] = (2.0 * nn__rng_uniform(r) - 1.0) * radius;
    }
    memset(L->b, 0, L->n_out * sizeof(double));
}
