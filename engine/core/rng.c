/* rng.c: xoshiro256** seeded through splitmix64.  Every random choice in
 * the engine (initialisation, shuffles, splits) comes from here. */
#include "core/core_int.h"

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void tlp_rng_seed(tlp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tlp_rng_next(tlp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tlp_rng_uniform(tlp_rng *r) { return (double)(tlp_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t tlp_rng_below(tlp_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t lim = -n % n; /* reject the short last stripe */
    for (;;) {
        uint64_t x = tlp_rng_next(r);
        if (x >= lim) return x % n;
    }
}

void tlp_rng_shuffle_u32(tlp_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)tlp_rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
