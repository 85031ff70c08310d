/*
 * core/core_int.h: the core layer inside the engine: the seeded generator,
 * the one door to BLAS, the hash index and growable arrays every table
 * uses, FNV-1a, and the words for a file that is not a regular one.  Not
 * for the program (tui/); the tests may use it.
 */
#ifndef TLP_CORE_CORE_INT_H
#define TLP_CORE_CORE_INT_H

#include "core/core.h"

#include <sys/types.h>

/* ---------------------------------------------------------------- RNG */

/* A seeded generator (xoshiro256**): never rand(). */
typedef struct {
    uint64_t s[4];
} tlp_rng;
void tlp_rng_seed(tlp_rng *r, uint64_t seed);
uint64_t tlp_rng_next(tlp_rng *r);
double tlp_rng_uniform(tlp_rng *r);            /* [0, 1) */
uint64_t tlp_rng_below(tlp_rng *r, uint64_t n); /* [0, n), unbiased */
void tlp_rng_shuffle_u32(tlp_rng *r, uint32_t *a, size_t n);

/* ---------------------------------------------------------------- BLAS */

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major, through cblas_sgemm.
 * ta/tb: 0 = as stored, 1 = transposed.  The one door to BLAS. */
void tlp_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);
/* The same with plain loops, for tests. */
void tlp_gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc);

/* ---------------------------------------------------------------- hashing and growing */

/* An open-addressing hash index: maps a key's hash to the indices of items
 * kept by the caller, who compares keys through eq(ctx, index, key). */
typedef struct {
    uint64_t *slots; /* (hash32 << 32) | (index + 1); 0 = empty */
    size_t n_slots;  /* a power of two */
    size_t count;
} tlp__hmap;

typedef int (*tlp__eq_fn)(const void *ctx, uint32_t index, const void *key);

/* Does a checksum read differ from the one computed?  A fuzzing build
 * (tests/fuzz.sh, as OSS-Fuzz defines it) takes every stored checksum as
 * right, so that mutated stores and models reach the checks behind them. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define tlp__sum_differs(stored, computed) ((void)(stored), (void)(computed), 0)
#else
#define tlp__sum_differs(stored, computed) ((stored) != (computed))
#endif
uint32_t tlp__hash(const void *p, size_t n);
/* qsort/bsearch order of uint64_t (task hashes, digests). */
int tlp__cmp_u64(const void *a, const void *b);
/* Grow *p (of *cap elements of elem bytes) to hold need, doubling.  -1 when
 * out of memory (then *p is unchanged). */
int tlp__grow(void **p, size_t *cap, size_t need, size_t elem);
/* Index of the item equal to key, or -1. */
long tlp__hmap_find(const tlp__hmap *m, uint32_t h, tlp__eq_fn eq, const void *ctx, const void *key);
/* Add index under hash h.  -1 when out of memory. */
int tlp__hmap_add(tlp__hmap *m, uint32_t h, uint32_t index);
void tlp__hmap_free(tlp__hmap *m);
size_t tlp__hmap_bytes(const tlp__hmap *m);

#define tlp__fnv1a tlp_fnv1a /* public (core.h): the tools hash with it too */

/* ---------------------------------------------------------------- files */

/* What a file of mode m is, for a message: "a directory", "a FIFO", "a
 * character device", "a block device", "a socket", else "not a regular
 * file". */
const char *tlp__file_kind(mode_t m);

#endif
