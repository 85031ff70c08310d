/* hash.c: the engine's hashing and containers: one small open-addressing
 * index used for tasks, hardware names and the token vocabularies (the
 * items live in the caller's arrays; the index only stores their positions
 * and a 32-bit hash to skip most comparisons), tlp__grow, the one
 * growable-array helper, and FNV-1a-64 (task folds, checkpoint sums). */
#include "core/core_int.h"

#include <stdlib.h>
#include <string.h>

int tlp__cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t tlp__hash(const void *p, size_t n)
{
    /* 8 bytes at a time (keys are mostly float rows), then a final avalanche
     * so the low bits are usable as a slot. */
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15u ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    uint64_t t = 0;
    for (size_t k = 0; i < n; i++, k++) t |= (uint64_t)s[i] << (8 * k);
    h = (h ^ t) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 32;
    return (uint32_t)h;
}

long tlp__hmap_find(const tlp__hmap *m, uint32_t h, tlp__eq_fn eq, const void *ctx, const void *key)
{
    if (!m->n_slots) return -1;
    size_t mask = m->n_slots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t s = m->slots[i];
        if (!s) return -1;
        if ((uint32_t)(s >> 32) == h) {
            uint32_t idx = (uint32_t)s - 1;
            if (eq(ctx, idx, key)) return idx;
        }
    }
}

static void put(uint64_t *slots, size_t n, uint64_t s)
{
    size_t mask = n - 1;
    size_t i = (uint32_t)(s >> 32) & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = s;
}

int tlp__hmap_add(tlp__hmap *m, uint32_t h, uint32_t index)
{
    if ((m->count + 1) * 2 > m->n_slots) {
        size_t n = m->n_slots ? m->n_slots * 2 : 64;
        uint64_t *slots = calloc(n, sizeof *slots);
        if (!slots) return -1;
        for (size_t i = 0; i < m->n_slots; i++)
            if (m->slots[i]) put(slots, n, m->slots[i]);
        free(m->slots);
        m->slots = slots;
        m->n_slots = n;
    }
    put(m->slots, m->n_slots, ((uint64_t)h << 32) | ((uint64_t)index + 1));
    m->count++;
    return 0;
}

void tlp__hmap_free(tlp__hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->n_slots = m->count = 0;
}

size_t tlp__hmap_bytes(const tlp__hmap *m) { return m->n_slots * sizeof *m->slots; }

int tlp__grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

uint64_t tlp_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3u;
    }
    return h;
}
