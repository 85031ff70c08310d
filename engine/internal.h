/* internal.h: helpers shared between engine files; not part of the API. */
#ifndef TLP_INTERNAL_H
#define TLP_INTERNAL_H

#include "tlp.h"

/* Field types of a step kind, one letter a field: i int, L list, s string. */
const char *tlp__kind_types(tlp_step_kind k);
/* Name of field f of kind k ("lengths"). */
void tlp__field_name(tlp_step_kind k, int f, char *buf, size_t cap);

/* An open-addressing hash index: maps a key's hash to the indices of items
 * kept by the caller, who compares keys through eq(ctx, index, key). */
typedef struct {
    uint64_t *slots; /* (hash32 << 32) | (index + 1); 0 = empty */
    size_t n_slots;  /* a power of two */
    size_t count;
} tlp__hmap;

typedef int (*tlp__eq_fn)(const void *ctx, uint32_t index, const void *key);

uint32_t tlp__hash(const void *p, size_t n);
/* Grow *p (of *cap elements of elem bytes) to hold need, doubling.  -1 when
 * out of memory (then *p is unchanged). */
int tlp__grow(void **p, size_t *cap, size_t need, size_t elem);
/* Index of the item equal to key, or -1. */
long tlp__hmap_find(const tlp__hmap *m, uint32_t h, tlp__eq_fn eq, const void *ctx, const void *key);
/* Add index under hash h.  -1 when out of memory. */
int tlp__hmap_add(tlp__hmap *m, uint32_t h, uint32_t index);
void tlp__hmap_free(tlp__hmap *m);
size_t tlp__hmap_bytes(const tlp__hmap *m);

/* The two paths of tlp_record_parse, apart, for the differential tests: the
 * fast scanner (1 = accepted, 0 = declined: r is then garbage) and the cJSON
 * tree path, which decides and explains everything the scanner declines. */
int tlp__record_parse_fast(tlp_record *r, const char *line, size_t len);
tlp_status tlp__record_parse_tree(tlp_record *r, const char *line, size_t len, tlp_error *err);

/* The token ids of record i (its cropped steps in the mode's vocabulary):
 * equal ids in one mode mean equal feature matrices. */
const uint32_t *tlp__dataset_tokens(const tlp_dataset *ds, size_t i, int *n);

/* dist.c: this rank's shards [lo, hi) of S; a sum over ranks of x (each
 * entry written by one rank); the shards' gradients added up in shard
 * order across ranks (g: shard 0's, extra[s - 1]: shard s's), the total in g
 * on every rank. */
void tlp__dist_shards(int S, int *lo, int *hi);
void tlp__dist_share(float *x, size_t n);
void tlp__dist_sum_shards(float *g, const float *extra, size_t np, int lo, int hi);
/* Is flag set on any rank? (flag itself with one rank) */
int tlp__dist_any(int flag);

#endif
