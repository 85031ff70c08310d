/* dataset_impl.h: the inside of a tlp_dataset, shared by dataset.c (the
 * dataset in memory), load.c (records parsed from files) and store.c
 * (records mapped from a packed store).  Not part of the API. */
#ifndef TLP_DATASET_IMPL_H
#define TLP_DATASET_IMPL_H

#include "data/data_int.h"

#include <sys/types.h>

#define MAX_LINE (16u << 20) /* longer lines are skipped, not loaded */
#define MAX_DIAGS 10000
#define MIN_COST_INIT 1e6    /* TLP starts its per-file min at 1e6 (spec §3) */

typedef struct {
    char *key, *hardware, *target, *summary;
    tlp_mode mode;
    uint32_t hw;            /* index into the hardware table */
    uint32_t *idx;          /* its records, after finish */
    uint32_t n_idx;
    tlp_task pub;
} task_t;

typedef struct {
    char *key;
    double weight;
} weight_t;

typedef struct {
    size_t file;
    long line;
    tlp_status reason;
    char *msg;
} diag_t;

typedef struct {
    float *rows;            /* [n][F] */
    size_t n, cap;
    tlp__hmap index;
    /* the id last seen at each step position: consecutive records of a task
     * share most steps, so a row compare often saves the hash lookup */
    uint32_t last[TLP_MAX_STEPS];
    int have_last[TLP_MAX_STEPS];
} vocab_t;

typedef struct {
    char *name, *root, *first_dir, *last_dir;
    size_t n_files, n_dirs;
} tlp_inferred_t;

/* Records mapped from a packed store (store.c): one segment per pack or
 * append, each with its records and the token ids they point into (tok_off
 * is relative to the segment's toks). */
typedef struct {
    const tlp_rec *recs;
    const uint32_t *toks;
    size_t n_recs, n_toks;
    size_t first; /* index of its first record in the dataset */
} seg_t;

struct tlp_dataset {
    char **files;
    size_t n_files, cap_files;
    task_t *tasks;
    size_t n_tasks, cap_tasks;
    tlp__hmap task_index;
    /* records 0 .. n_mapped-1 live in the segments of a mapped store, the
     * rest (n_recs - n_mapped of them) in recs[] with tokens in toks[] */
    seg_t *segs;
    size_t n_segs, n_mapped;
    void *map;              /* the store's mapping (munmap'd by free) */
    size_t map_len;
    char *store_path;       /* the store mapped (for append), or NULL */
    uint64_t store_dev, store_ino, store_len;
    tlp__hmap store_files;  /* the store's file paths, to refuse packing one twice */
    size_t n_store_files;
    size_t n_already;       /* record files skipped as already in the store */
    struct {
        dev_t dev;
        ino_t ino;
    } *seen;                /* the files read (load.c): one met again (a link, a path twice) is read once */
    size_t n_seen, cap_seen;
    tlp_rec *recs;
    size_t n_recs, cap_recs;
    uint32_t *toks;
    size_t n_toks, cap_toks;
    vocab_t vocab[TLP_MODE_COUNT];
    tlp_hw_stats *hws;
    char **hw_names;
    size_t n_hws, cap_hws;
    tlp__hmap hw_index;
    weight_t *weights;
    size_t n_weights, cap_weights;
    tlp__hmap weight_index;
    diag_t *diags;
    size_t n_diags, cap_diags;
    uint64_t skipped[TLP_STATUS_COUNT];
    uint64_t n_skipped, n_comments, bytes_read, n_other_folds, n_skipped_files;
    FILE *stdin_copy;       /* standard input ("-"), spooled so records can be re-read */
    tlp_inferred_t *inferred; /* hardware names taken from paths */
    size_t n_inferred, cap_inferred;
    tlp_record scratch;
    char *line;             /* line buffer */
    size_t line_cap;
};

/* Record i, wherever it lives, and (toks not NULL) its token ids. */
static inline const tlp_rec *tlp__rec_toks(const tlp_dataset *ds, size_t i, const uint32_t **toks)
{
    const tlp_rec *r;
    const uint32_t *base;
    if (i >= ds->n_mapped) {
        r = &ds->recs[i - ds->n_mapped];
        base = ds->toks;
    } else {
        size_t k = ds->n_segs - 1;
        while (ds->segs[k].first > i) k--;
        r = &ds->segs[k].recs[i - ds->segs[k].first];
        base = ds->segs[k].toks;
    }
    if (toks) *toks = base + r->tok_off;
    return r;
}
static inline const tlp_rec *tlp__rec_at(const tlp_dataset *ds, size_t i) { return tlp__rec_toks(ds, i, NULL); }

/* dataset.c, for load.c and store.c */
long tlp__task_get(tlp_dataset *ds, const char *key, const char *target, const char *hardware, tlp_mode mode);
long tlp__hw_get(tlp_dataset *ds, const char *name, tlp_mode mode);
long tlp__vocab_get(vocab_t *v, int F, const float *row);
/* Add parsed record r, read from file (index) at line and byte offset off,
 * to the task of its key on hardware hw: the compact record, its tokens in
 * the vocabulary, its hardware's statistics. */
tlp_status tlp__dataset_add(tlp_dataset *ds, const tlp_record *r, size_t file, long line, uint64_t off,
                            uint32_t text_sum, const char *hw, tlp_error *err);
/* The check of a record's line text kept in tlp_rec.text_sum: CRC-32 of its
 * bytes (no line end), never 0 (0 is "not known"). */
uint32_t tlp__text_sum(const char *s, size_t n);
/* Count a record in its hardware's statistics: what the compact record
 * tells (validity, errors, length, crop); L is the mode's sequence length. */
void tlp__hw_count(tlp_hw_stats *st, const tlp_rec *rec, int L);
int tlp__add_file_name(tlp_dataset *ds, const char *name); /* index, or -1 */
/* Keep a diagnostic (the first MAX_DIAGS); line 0 is about a whole file. */
void tlp__diag_keep(tlp_dataset *ds, size_t file, long line, tlp_status reason, const char *msg);

/* store.c, for load.c: is the open file fd a packed store (by its first bytes)? */
int tlp__is_store(int fd);
/* Add the store at path (open as fd) to ds: mapped when ds is empty and
 * nothing filters or renames, else copied record by record. */
tlp_status tlp__store_add(tlp_dataset *ds, int fd, const char *path, const char *hardware,
                          const tlp_load_opts *o, tlp_error *err);
/* tlp_store_write with every record `repeat` times over (bench/bench_store
 * builds TenSet-size stores from the shared records this way). */
tlp_status tlp__store_write_repeat(const tlp_dataset *ds, const char *path, int repeat, tlp_error *err);
/* Is path (a record file) among the files of the mapped store? */
int tlp__in_store(const tlp_dataset *ds, const char *path);

#endif
