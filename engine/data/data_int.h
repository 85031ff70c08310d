/*
 * data/data_int.h: the data layer inside the engine: the step table's
 * columns, the two paths of the record parser (for the differential tests),
 * the dictionaries' codes, the numpy-exact mean, the token encodings as the
 * network sees them, and a dataset's token ids.  Not for the program
 * (tui/); the tests may use it.
 */
#ifndef TLP_DATA_DATA_INT_H
#define TLP_DATA_DATA_INT_H

#include "core/core_int.h"
#include "data/data.h"

/* ---------------------------------------------------------------- steps */

const char *tlp_step_verb(tlp_step_kind k); /* "split" */
/* Kind of a tag, or -1 when the tag is not one of the 14. */
int tlp_step_kind_of(const char *tag);
/* Ansor annotation enum names: 0 "none" ... 11 "tensorize"; "?" otherwise. */
const char *tlp_annotation_name(long v);
/* Field types of a step kind, one letter a field: i int, L list, s string. */
const char *tlp__kind_types(tlp_step_kind k);
/* Name of field f of kind k ("lengths"). */
void tlp__field_name(tlp_step_kind k, int f, char *buf, size_t cap);

/* ---------------------------------------------------------------- records */

/* The two paths of tlp_record_parse, apart, for the differential tests: the
 * fast scanner (1 = accepted, 0 = declined: r is then garbage) and the cJSON
 * tree path, which decides and explains everything the scanner declines. */
int tlp__record_parse_fast(tlp_record *r, const char *line, size_t len);
tlp_status tlp__record_parse_tree(tlp_record *r, const char *line, size_t len, tlp_error *err);

/* Mean of the costs exactly as numpy's np.mean (pairwise summation). */
double tlp_mean(const double *x, size_t n);

/* ---------------------------------------------------------------- features */

/* The pragma string with code c (1-based) in mode m, NULL past the last. */
const char *tlp_mode_pragma(tlp_mode m, int c);
/* The code a pragma or scope string gets in a mode (spec §2.1); 0 if unknown. */
int tlp_pragma_code(tlp_mode m, const char *s);
int tlp_scope_code(tlp_step_kind k, const char *s);
/* What a network of encoding e sees (tlp_encode_rows(L, e) x F floats) of a
 * record's raw [L][F] matrix x: the model's own first step, and what the
 * .npy export writes for another cost model. */
void tlp_encode_tokens(tlp_mode m, tlp_encode e, int L, const float *x, float *out);

/* ---------------------------------------------------------------- datasets */

/* The token ids of record i (its cropped steps in the mode's vocabulary):
 * equal ids in one mode mean equal feature matrices. */
const uint32_t *tlp__dataset_tokens(const tlp_dataset *ds, size_t i, int *n);

/* Memory held by the dataset, in bytes (for the bytes-per-record figure). */
size_t tlp_dataset_bytes(const tlp_dataset *ds);

/* The value of option name ("-model=") in a target string, a word of its
 * own, or NULL; its length in *len (record.c). */
const char *tlp__target_opt(const char *target, const char *name, size_t *len);

#endif
