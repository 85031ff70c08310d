/*
 * tlp.h: the one public header of the tlpx engine.
 *
 * The engine reads Ansor/TenSet measure records, groups them into tasks
 * (workload key x hardware), and turns each schedule into the feature tokens of
 * TLP (ASPLOS'23).  It knows nothing of terminals: the explorer (tui/) and the
 * subcommands are clients of this header only.
 *
 * Conventions
 *   - Functions that can fail return tlp_status and fill a tlp_error when one is
 *     given (it may be NULL).  Only main() exits.
 *   - Ownership is stated at each declaration.  Every *_free accepts NULL.
 *   - Handles are opaque except for the small value types below.
 */
#ifndef TLP_H
#define TLP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

#define TLP_STATUS_LIST(X)                                   \
    X(OK, "ok")                                              \
    X(IO, "I/O error")                                       \
    X(NOMEM, "out of memory")                                \
    X(ARG, "bad argument")                                   \
    X(JSON, "broken JSON")                                   \
    X(LAYOUT, "wrong record layout")                         \
    X(STEP, "bad step")                                      \
    X(UNKNOWN_STEP, "unknown step kind")                     \
    X(NUMBER, "absurd number")                               \
    X(COST, "bad cost")                                      \
    X(TOO_LONG, "line too long")                             \
    X(NUL, "NUL byte in line")                               \
    X(NOT_FOUND, "not found")                                \
    X(EMPTY, "no records")                                   \
    X(FORMAT, "bad model file")

typedef enum {
#define X(name, text) TLP_##name,
    TLP_STATUS_LIST(X)
#undef X
    TLP_STATUS_COUNT
} tlp_status;

/* A short English name for a status ("broken JSON").  Static storage. */
const char *tlp_status_name(tlp_status s);
/* The identifier of a status ("JSON"), for machine-readable output. */
const char *tlp_status_id(tlp_status s);

/* Where and why something failed.  file may be empty, line 0 when unknown. */
typedef struct {
    tlp_status status;
    char file[512];
    long line;
    char msg[256];
} tlp_error;

/* Fill err (if not NULL) and return s.  printf-style message. */
tlp_status tlp_error_set(tlp_error *err, tlp_status s, const char *file, long line,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---------------------------------------------------------------- steps */

typedef enum {
#define X(tag, verb, types, names, cpu, gpu) TLP_STEP_##tag,
#include "steps.def"
#undef X
    TLP_STEP_COUNT
} tlp_step_kind;

const char *tlp_step_tag(tlp_step_kind k);  /* "SP" */
const char *tlp_step_verb(tlp_step_kind k); /* "split" */
/* Kind of a tag, or -1 when the tag is not one of the 14. */
int tlp_step_kind_of(const char *tag);

/* Ansor annotation enum names: 0 "none" ... 11 "tensorize"; "?" otherwise. */
const char *tlp_annotation_name(long v);
/* TVM MeasureErrorNo names: 0 "NO_ERROR" ... 8 "UNKNOWN_ERROR"; "ERROR_<n>" past that
 * in a static buffer that the next call may overwrite. */
const char *tlp_error_no_name(int e);

/* ---------------------------------------------------------------- records */

/* One step as parsed: its kind, its integer values in serialised order with
 * the list (if any) flattened in place, and its string (if any). */
typedef struct {
    uint8_t kind;      /* tlp_step_kind */
    uint16_t n_vals;   /* number of integer values */
    uint16_t list_len; /* length of the kind's list field (0 if it has none) */
    uint32_t val_off;  /* index of the first value in tlp_record.vals */
    int32_t str;       /* offset of the string in tlp_record.strs, -1 if none */
} tlp_step;

/* A whole measure record.  Reused across lines by the parser: init once,
 * parse many times, free once.  All pointers are owned by the record. */
typedef struct {
    /* task header: i[0] */
    char *workload_key;
    char *target;
    int n_task_fields;   /* how many of the 6 task fields were present (>= 2) */
    int n_hw;            /* hardware params present (0..16) */
    int64_t hw[16];
    char *target_host;   /* "" when absent */
    int64_t layout_rewrite;
    int n_task_inputs;   /* -1 when the field is absent */
    char **task_inputs;
    /* state: i[1] */
    size_t n_steps;
    tlp_step *steps;
    int64_t *vals;
    size_t n_vals;       /* values of all steps */
    char *strs;          /* NUL-separated strings of the steps */
    /* result: r */
    size_t n_costs;
    double *costs;
    int error_no;
    double all_cost;
    int64_t timestamp;
    char version[16];    /* "" when absent */
    /* capacities (private) */
    size_t cap_steps, cap_vals, cap_strs, len_strs, cap_costs, cap_inputs, cap_tmp;
    char *tmp;
} tlp_record;

void tlp_record_init(tlp_record *r);
void tlp_record_free(tlp_record *r);

/* Parse one JSON line (len bytes, need not be NUL-terminated) into r.
 * On failure r holds garbage and err says why (err->line is left 0; the
 * caller knows the line).  Never crashes on any input. */
tlp_status tlp_record_parse(tlp_record *r, const char *line, size_t len, tlp_error *err);

/* Write r as one JSON line (no trailing newline) in TVM's layout.  Returns a
 * malloc'd string the caller frees, or NULL when out of memory. */
char *tlp_record_to_json(const tlp_record *r);

/* Mean of the costs exactly as numpy's np.mean (pairwise summation). */
double tlp_mean(const double *x, size_t n);

/* Readable form of step i of r ("split stage 5 iter 0: 256 -> [1,4,4,16]").
 * Writes at most cap bytes (NUL included); returns the length it wanted. */
int tlp_step_describe(const tlp_record *r, size_t i, char *buf, size_t cap);

/* ---------------------------------------------------------------- features */

typedef enum { TLP_MODE_CPU = 0, TLP_MODE_GPU = 1, TLP_MODE_COUNT } tlp_mode;

#define TLP_ONEHOT 11
#define TLP_MAX_FEA 22  /* the larger of the two modes' F */
#define TLP_MAX_SEQ 40  /* the larger of the two modes' L */

const char *tlp_mode_name(tlp_mode m); /* "cpu" / "gpu" */
int tlp_mode_seq(tlp_mode m);          /* L: 25 cpu, 40 gpu */
int tlp_mode_fea(tlp_mode m);          /* F: 22 cpu, 20 gpu */
/* The feature mode of a target string: llvm/c (or -keys=cpu) is CPU, any other
 * kind (cuda, rocm, opencl, vulkan, metal, ...) GPU. */
tlp_mode tlp_mode_of_target(const char *target);
/* 1-based one-hot index of a kind in a mode's dictionary, 0 when absent. */
int tlp_mode_kind_index(tlp_mode m, tlp_step_kind k);

/* What happened while making one step's row. */
typedef struct {
    int n_full;      /* length of the uncropped vector: 11 + values */
    int kind_absent; /* the mode's dictionary lacks this kind: one-hot left zero */
    int unknown_str; /* an unknown pragma or scope string was encoded as 0 */
} tlp_step_info;

/* The uncropped TLP vector of step i of r: 11 one-hot slots then the values
 * with strings mapped (spec §2.2).  Writes min(n_full, cap) floats to out;
 * info (may be NULL) says what happened.  Returns n_full. */
int tlp_step_vector(tlp_mode m, const tlp_record *r, size_t i, float *out, int cap,
                    tlp_step_info *info);

/* The full [L][F] float32 matrix of a record (zero padded, cropped). */
void tlp_record_features(tlp_mode m, const tlp_record *r, float *out);

/* The program row of a record's raw [L][F] matrix x (encoding "prog"): what
 * the whole program does with the tiles of Ansor's multi-level tiling, which
 * no single step row holds.  Slot 0 is -1 (no step row has it), then log2 of
 * the product over the spatial splits (4 lengths on GPU, 3 on CPU) of each
 * tile level (outer: ceil(extent / lengths), then each length; on GPU the
 * levels are grid, vthread, threads, inner, innermost), the same over the
 * reduction splits (2 lengths GPU, 1 CPU), log2(1 + largest unroll limit),
 * the number of spatial and of reduction splits, and on GPU log2(1 + the
 * elements fetched into shared memory) and log2(1 + the widest fetch
 * vector); zeros after.  Writes F floats; returns the slots used. */
int tlp_program_row(tlp_mode m, const float *x, float *out);
/* The program row made readable: "grid=12.4 (5376) vthread=2 (4) threads=6.39
 * (84) ..." (each slot's value and, for the logs, the number).  Writes at
 * most cap bytes (NUL included); returns the length it wanted. */
int tlp_program_describe(tlp_mode m, const float *row, char *buf, size_t cap);

/* Label of slot j (0-based) of step i's row for display: "kind", "stage",
 * "lengths[2]", ...; "-" for padding.  Writes into buf (cap bytes). */
void tlp_slot_label(const tlp_record *r, size_t i, int j, char *buf, size_t cap);

/* The pragma string with code c (1-based) in mode m, NULL past the last. */
const char *tlp_mode_pragma(tlp_mode m, int c);
/* The code a pragma or scope string gets in a mode (spec §2.1); 0 if unknown. */
int tlp_pragma_code(tlp_mode m, const char *s);
int tlp_scope_code(tlp_step_kind k, const char *s);

/* ---------------------------------------------------------------- dataset */

typedef struct tlp_dataset tlp_dataset;

/* A compact record: its tokens live in the dataset; the full record can be
 * re-read from (file, byte_off) with tlp_dataset_read_record. */
typedef struct {
    double cost;      /* mean of the costs (s); 1e10 for failed measurements */
    float cost_lo;    /* smallest and largest repeat, for the spread */
    float cost_hi;
    uint64_t byte_off;
    uint64_t tok_off; /* first token id in the dataset's token arena */
    uint32_t line;    /* 1-based */
    uint32_t file;    /* index into the file table */
    uint32_t task;
    uint16_t n_steps; /* steps in the record, uncropped */
    uint8_t n_tok;    /* stored tokens: min(n_steps, L) */
    uint8_t error_no;
    uint8_t n_costs;
    uint8_t flags;    /* TLP_REC_* */
    uint8_t reserved[6]; /* zero: the record is 56 bytes with no padding (a packed store maps it as it is) */
} tlp_rec;

enum {
    TLP_REC_LOST_STEPS = 1, /* more steps than L */
    TLP_REC_LOST_ARGS = 2,  /* a kept step longer than F */
    TLP_REC_UNKNOWN = 4,    /* a kind absent from the dictionary or an unknown string */
};

typedef struct {
    const char *workload_key; /* borrowed from the dataset */
    const char *hardware;
    const char *target;
    const char *summary;      /* "conv2d_layer(128, 1008, 42, 42, ...)" */
    tlp_mode mode;
    uint32_t n_records;
    uint32_t n_valid;         /* error_no == 0 */
    double min_cost;          /* spec §3: min over all records, started at 1e6 */
    double best_valid;        /* min cost of the valid records, INFINITY if none */
    double weight;            /* from the weights file, else 1 */
    const uint32_t *records;  /* indices of its records, in load order */
} tlp_task;

/* Per-hardware figures gathered while loading (for `tlpx stats`). */
#define TLP_HIST 128
typedef struct {
    const char *hardware;
    tlp_mode mode;
    uint32_t n_tasks;
    uint64_t n_records, n_valid;
    uint64_t error_no[16];          /* index 15 collects >= 15 */
    uint64_t kind_count[TLP_STEP_COUNT];
    uint64_t seq_len[TLP_HIST];     /* records by step count (last bucket = more) */
    uint64_t arg_count[TLP_HIST];   /* steps by number of values */
    uint64_t lost_steps, lost_args; /* records that lose steps / arguments to the crop */
    uint64_t steps_cropped;         /* steps beyond L */
    uint64_t kind_absent;           /* steps whose kind the dictionary lacks */
    uint64_t unknown_str;           /* unknown pragma/scope strings */
    /* records whose steps are in none of the histograms above (kind_count,
     * arg_count, kind_absent, unknown_str): loaded from a subset (a fold)
     * of a packed store, which keeps per-hardware step counts only whole */
    uint64_t uncounted;
} tlp_hw_stats;

/* Load options.  hardware may be NULL (use -model= or the file's directory). */
typedef struct {
    int quiet;          /* do not print diagnostics to stderr as they happen */
    int max_printed;    /* diagnostics printed to stderr at most (0 = default 20) */
    /* cross-validation by task: with n_folds > 0 keep only the records of
     * tasks in fold `fold` (0-based), or with fold_except all but those */
    int n_folds, fold, fold_except;
} tlp_load_opts;

/* The fold (0..n_folds-1) of a task: FNV-1a-64 of its canonical workload
 * key (tlp_workload_canonical) modulo n_folds.  It depends on the key
 * alone, so a task falls in the same fold on every hardware, in every
 * subset of the data, for every tool that computes it. */
int tlp_workload_fold(const char *workload_key, int n_folds);

tlp_dataset *tlp_dataset_new(void); /* NULL when out of memory; free with tlp_dataset_free */
void tlp_dataset_free(tlp_dataset *ds);

/* Add a record file, a directory (read recursively: *.json and *.log), or
 * "-" for standard input.  hardware overrides the hardware name of every
 * record under path when not NULL.  Bad lines are skipped and recorded as
 * diagnostics; inside a directory, files that cannot be read, FIFOs and
 * devices, and directories met twice (symbolic link loops) are skipped with a
 * diagnostic of line 0.  Only path itself failing (missing, unreadable, not
 * a regular file or directory) fails.  Tasks and their indices are valid
 * after tlp_dataset_finish. */
tlp_status tlp_dataset_add_path(tlp_dataset *ds, const char *path, const char *hardware,
                                const tlp_load_opts *opts, tlp_error *err);
/* Compute per-task statistics and labels.  Call after the last add_path;
 * calling add_path again afterwards is allowed and needs another finish. */
tlp_status tlp_dataset_finish(tlp_dataset *ds, tlp_error *err);

/* Read a TSV of task weights: either `workload_key<TAB>weight`, or a table
 * with a header naming `workload_key` and `weight` columns (TenSet network
 * table).  Weights of a key listed several times add up. */
tlp_status tlp_dataset_load_weights(tlp_dataset *ds, const char *path, tlp_error *err);

size_t tlp_dataset_n_tasks(const tlp_dataset *ds);
size_t tlp_dataset_n_records(const tlp_dataset *ds);
size_t tlp_dataset_n_files(const tlp_dataset *ds);
const char *tlp_dataset_file(const tlp_dataset *ds, size_t i);
/* Borrowed views, valid until the dataset changes. */
const tlp_task *tlp_dataset_task(const tlp_dataset *ds, size_t i);
const tlp_rec *tlp_dataset_rec(const tlp_dataset *ds, size_t i);
/* Index of the task whose workload key (or summary) equals key, or -1. */
long tlp_dataset_find_task(const tlp_dataset *ds, const char *key);

/* Label of record i (spec §3): task min_cost / cost. */
double tlp_dataset_label(const tlp_dataset *ds, size_t i);
/* The [L][F] features of record i in its task's mode. */
void tlp_dataset_features(const tlp_dataset *ds, size_t i, float *out);

/* Re-read and parse record i from its file into r (for the token view). */
tlp_status tlp_dataset_read_record(const tlp_dataset *ds, size_t i, tlp_record *r,
                                   tlp_error *err);

size_t tlp_dataset_n_hw(const tlp_dataset *ds);
const tlp_hw_stats *tlp_dataset_hw(const tlp_dataset *ds, size_t i);

/* Skipped lines (and, with line 0, skipped paths). */
typedef struct {
    const char *file; /* borrowed */
    long line;        /* 0: the whole file */
    tlp_status reason;
    const char *msg;  /* borrowed */
} tlp_diag;
uint64_t tlp_dataset_n_skipped(const tlp_dataset *ds);
uint64_t tlp_dataset_skipped_by(const tlp_dataset *ds, tlp_status reason);
uint64_t tlp_dataset_n_comments(const tlp_dataset *ds);
/* Hardware names taken from paths, for records whose target has no
 * -model= and whose DATA argument has no NAME=: a file's directory, a DATA
 * directory's own name for the files in it, the top-level directory below a
 * DATA directory for the files deeper down ("." and ".." resolved; "stdin"
 * for "-").  Each tells the name, the DATA argument, how many files it names
 * and in how many directories they lie (more than one: it may merge
 * hardware; NAME=PATH names them yourself). */
typedef struct {
    const char *name, *data; /* borrowed */
    size_t n_files, n_dirs;
    const char *first_dir;   /* one of the directories */
} tlp_inferred;
size_t tlp_dataset_n_inferred(const tlp_dataset *ds);
tlp_inferred tlp_dataset_inferred(const tlp_dataset *ds, size_t i);
/* Paths inside DATA directories skipped (unreadable, not regular, met twice). */
uint64_t tlp_dataset_n_skipped_files(const tlp_dataset *ds);
/* Records left out because their task is in another fold (tlp_load_opts). */
uint64_t tlp_dataset_n_other_folds(const tlp_dataset *ds);
/* Kept diagnostics (the first 10000 at most). */
size_t tlp_dataset_n_diags(const tlp_dataset *ds);
tlp_diag tlp_dataset_diag(const tlp_dataset *ds, size_t i);

/* Memory held by the dataset, in bytes (for the bytes-per-record figure). */
size_t tlp_dataset_bytes(const tlp_dataset *ds);
/* Bytes of JSON read so far. */
uint64_t tlp_dataset_bytes_read(const tlp_dataset *ds);

/* ---------------------------------------------------------------- packed store */

/* A packed store holds a dataset's records parsed once: the compact records,
 * their token ids, the vocabulary, tasks, hardware, files (by absolute path,
 * so the token view can re-read a record) and diagnostics, in segments, each
 * checksummed (CRC-32), behind a versioned header.  tlp_dataset_add_path
 * takes a store wherever it takes a record file (it knows one by its first
 * bytes) and maps it: opening one is a check of its checksums and records,
 * not a parse.  A store from another version, another layout or damaged is
 * refused naming the file and the reason. */

/* Write every record of ds to a new store at path (atomically). */
tlp_status tlp_store_write(const tlp_dataset *ds, const char *path, tlp_error *err);
/* Append the records ds holds beyond the store it mapped (loaded after it)
 * as a new segment of that store, without rewriting it: the new segment is
 * written past the end and the header is switched to it last, so a store
 * whose append was interrupted opens as it was before.  TLP_ARG when ds did
 * not map the store at path or the store changed since. */
tlp_status tlp_store_append(tlp_dataset *ds, const char *path, tlp_error *err);
/* The store ds mapped (NULL if none), and how many of its records, and in
 * how many segments, come from it. */
const char *tlp_dataset_store(const tlp_dataset *ds);
size_t tlp_dataset_n_mapped(const tlp_dataset *ds);
size_t tlp_dataset_n_segments(const tlp_dataset *ds);
/* Record files given after the store that it already holds (skipped). */
size_t tlp_dataset_n_already(const tlp_dataset *ds);

/* ---------------------------------------------------------------- data-parallel training */

/* Under mpirun (a build --with-mpi), start MPI: training then shards each
 * batch across the ranks and gives the same model bits as one process
 * (dist.c).  Elsewhere a no-op: rank 0 of 1.  -1 when MPI fails to start. */
int tlp_dist_init(int *argc, char ***argv);
void tlp_dist_finish(void);
/* End every rank of the job (after saying why); a no-op with one rank. */
void tlp_dist_abort(int code);
int tlp_dist_rank(void);
int tlp_dist_size(void);
int tlp_dist_available(void); /* built with MPI */

/* ---------------------------------------------------------------- BLAS */

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major, through cblas_sgemm.
 * ta/tb: 0 = as stored, 1 = transposed.  The one door to BLAS. */
void tlp_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);
/* The same with plain loops, for tests. */
void tlp_gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc);
/* Threads OpenBLAS may use (1 for determinism in tests). */
void tlp_set_threads(int n);
int tlp_get_threads(void);

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

/* ---------------------------------------------------------------- model */

#define TLP_MAX_HEADS 16
#define TLP_HEAD_NAME 64

/* A training setting recipe tlpx leaves to the mode of the data (GPU or
 * CPU records), made concrete by tlp_train_resolve: batch, average. */
#define TLP_BY_MODE (-1)

/* How token values reach the first layer.  RAW is TLP's (spec §2.2: no
 * normalisation); LOG feeds sign(x) log2(1 + |x|) of every value, so the
 * one-hot slots stay 0/1 and an extent of 3.3e8 becomes 28; PROG is LOG
 * plus one more row, the program row (tlp_program_row), so the network
 * sees L + 1 rows: the decoders sum per row, and a figure of the whole
 * program (threads per block) is a sum over split rows that no row's
 * decoder sees. */
typedef enum {
    TLP_ENCODE_RAW = 0,
    TLP_ENCODE_LOG = 1,
    TLP_ENCODE_PROG = 2,
    TLP_ENCODE_COUNT
} tlp_encode;
const char *tlp_encode_name(tlp_encode e); /* "raw" / "log" / "prog" */
int tlp_encode_of(const char *name);       /* the encoding, or -1 */
/* The rows a network of encoding e sees for mode m: L, or L + 1 with the
 * program row.  tlp_encode_tokens writes them (rows x F floats) from a
 * record's raw [L][F] matrix x: the model's own first step, and what
 * `tlpx features --encode` exports for another cost model. */
int tlp_encode_rows(tlp_mode m, tlp_encode e);
void tlp_encode_tokens(tlp_mode m, tlp_encode e, const float *x, float *out);

/* The network of spec §4.1; n_heads > 1 is MTL-TLP (§5): one shared trunk
 * (encoder, attention, residual blocks), one decoder per head. */
typedef struct {
    tlp_mode mode;   /* L and F follow: 25x22 cpu, 40x20 gpu */
    int n_heads;     /* 1..TLP_MAX_HEADS */
    char heads[TLP_MAX_HEADS][TLP_HEAD_NAME]; /* hardware name of each head */
    tlp_encode encode; /* applied inside the model: callers pass raw tokens */
} tlp_model_config;

typedef struct tlp_model tlp_model;

/* A new model with PyTorch's default initialisation drawn from seed.
 * NULL when out of memory or the config is bad (err says which). */
tlp_model *tlp_model_new(const tlp_model_config *cfg, uint64_t seed, tlp_error *err);
void tlp_model_free(tlp_model *m);
/* A deep copy of the parameters and config (no activations, no optimiser),
 * an ensemble's members with it; _net copies the one network m alone. */
tlp_model *tlp_model_clone(const tlp_model *m);
tlp_model *tlp_model_clone_net(const tlp_model *m);
const tlp_model_config *tlp_model_config_of(const tlp_model *m);
/* A model of config cfg that starts from init (fine-tuning): init's trunk,
 * init's decoder for each head of cfg that init has (by hardware name), a
 * fresh one (from seed) for the others.  Mode and encoding must match; an
 * ensemble is adapted network by network, each keeping its encoding. */
tlp_model *tlp_model_adapt(const tlp_model *init, const tlp_model_config *cfg, uint64_t seed, tlp_error *err);
/* An ensemble: a model may carry other networks of its mode and heads (each
 * with its own encoding and weights), its members.  tlp_predict combines
 * them: each network's scores standardised within each task (mean 0 and
 * spread 1 over the task's records given), then averaged; so the scores of
 * an ensemble rank programs within a task, and a record's score depends on
 * the other records of its task that are scored with it.  A training job
 * trains the networks in turn (tlp_train_opts.n_nets); forward uses the
 * first network only; checkpoints keep the members' weights and the Adam
 * state of the last.  add_member takes member on success (the caller keeps
 * it on failure). */
#define TLP_MAX_MEMBERS 8
tlp_status tlp_model_add_member(tlp_model *m, tlp_model *member, tlp_error *err);
int tlp_model_n_members(const tlp_model *m); /* 1 + the members added */
/* Network k of the ensemble (0: m itself), NULL past the last. */
tlp_model *tlp_model_member(const tlp_model *m, int k);
/* Parameters of the shared trunk (encoder, attention, residual blocks): they
 * come first in the block; the heads' decoders follow. */
size_t tlp_model_trunk_params(const tlp_model *m);
int tlp_model_head(const tlp_model *m, const char *name); /* index or -1 */

/* All parameters in one block, in PyTorch state_dict order (see model.c).
 * tlp_model_param_info names the i-th tensor and its shape. */
size_t tlp_model_n_params(const tlp_model *m);
float *tlp_model_params(tlp_model *m);
const float *tlp_model_params_const(const tlp_model *m);
float *tlp_model_grads(tlp_model *m);
size_t tlp_model_n_tensors(const tlp_model *m);
/* name "encoder.0.weight", rows, cols (cols 1 for a bias), offset into params. */
void tlp_model_tensor(const tlp_model *m, size_t i, const char **name, int *rows, int *cols, size_t *offset);

/* Make room for batches of up to B samples (activations for backward when
 * train is set).  Forward and backward never allocate after this. */
tlp_status tlp_model_reserve(tlp_model *m, int B, int train, tlp_error *err);
/* Forward x [B][L][F]: out[h * B + b] for every head h (head < 0), or out[b]
 * for one head.  B must be within the reserve (grows it otherwise). */
tlp_status tlp_model_forward(tlp_model *m, const float *x, int B, int head, float *out);
/* Inference of nh heads at once (the trunk computed once): out[k * B + b]
 * is head heads[k]'s score of sample b. */
tlp_status tlp_model_forward_heads(tlp_model *m, const float *x, int B, const int *heads, int nh, float *out);
/* Backward of the last forward (which must have used head < 0 and a train
 * reserve): dout[h * B + b]; adds into the gradients. */
void tlp_model_backward(tlp_model *m, const float *dout);
void tlp_model_zero_grads(tlp_model *m);

/* ---------------------------------------------------------------- losses */

/* LambdaRank exactly as spec §4.3 over n scores (sum over pairs); grad[i]
 * gets dLoss/dpred[i].  Returns the loss.  mask (may be NULL) keeps only
 * entries with mask[i] != 0 (MTL heads with missing labels).  One addition:
 * a negative label (never one of TLP's; tlpx's mark of a failed program)
 * keeps its negative gain instead of being clamped to 0. */
double tlp_loss_lambdarank(const float *pred, const float *label, const uint8_t *mask, int n, float *grad);
/* Mean squared error over the kept entries. */
double tlp_loss_mse(const float *pred, const float *label, const uint8_t *mask, int n, float *grad);

/* ---------------------------------------------------------------- optimiser */

/* Adam as torch.optim.Adam (weight decay added to the gradient, bias
 * corrected), over n parameters.  m and v are owned. */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    uint64_t t;
    size_t n;
    float *m, *v;
    size_t from; /* parameters before this one are frozen: never updated (0) */
} tlp_adam;

tlp_status tlp_adam_init(tlp_adam *a, size_t n, float lr, float weight_decay);
void tlp_adam_free(tlp_adam *a);
void tlp_adam_step(tlp_adam *a, float *params, float *grads);
/* torch.nn.utils.clip_grad_norm_: scale g so its L2 norm is at most max_norm.
 * Returns the norm before clipping. */
double tlp_clip_grad_norm(float *g, size_t n, double max_norm);

/* ---------------------------------------------------------------- metrics */

/* One task's figures for a predicted order: costs (seconds, failed records
 * at their measured 1e10) and scores (higher = predicted faster). */
typedef struct {
    double best;      /* min cost of the task */
    double lat_k[8];  /* min cost among the top k_list[i] predicted */
    double pair_acc;  /* fraction of ordered pairs (distinct costs) ranked right */
    double tau;       /* Kendall's tau-b between -score and cost */
    int n, n_failed;  /* records, and those whose measurement failed */
    /* 1 when every one of the top k_list[i] picks failed although the task
     * has a record that did not: a failed pick */
    uint8_t failed_k[8];
    /* the same figures for a uniformly random order, exactly (expectations
     * over all orders, not a sample) */
    double rand_lat_k[8];    /* expected lat_k */
    double rand_top_k[8];    /* expected best / lat_k */
    double rand_failed_k[8]; /* probability of a failed pick */
} tlp_task_eval;

/* ks: 1 to 8 values of k, each >= 1.  failed (may be NULL: none) marks the
 * records whose measurement failed.  TLP_ARG for n <= 0 or bad ks. */
tlp_status tlp_eval_task(const double *cost, const uint8_t *failed, const float *score, int n, const int *ks,
                         int n_k, tlp_task_eval *out);
/* The same for task t of ds, with scores[i] for record i of ds and the
 * records' error_no as their failure. */
tlp_status tlp_eval_dataset_task(const tlp_dataset *ds, size_t t, const float *scores, const int *ks, int n_k,
                                 tlp_task_eval *out);

/* Figures over a set of tasks, added one task at a time (eval, the
 * explorer, training's model selection and the benchmarks share it).  A
 * task whose every measurement failed has no best latency: it is counted in
 * no_valid and left out of every figure. */
typedef struct {
    int n_k, ks[8];
    int tasks;
    int no_valid;                            /* tasks left out: every measurement failed */
    double w_best, w_lat[8], w_rand_lat[8];  /* weighted sums: pooled scores */
    double sum_top[8], sum_rand_top[8];      /* per-task sums: mean scores */
    double rand_failed[8];                   /* expected failed picks of a random order */
    int failed[8];                           /* failed picks */
    double sum_acc, sum_tau;
    int n_acc, n_tau;
} tlp_eval_sum;

/* One k's figures: mean over tasks of best/lat_k, pooled sum(w*best) /
 * sum(w*lat_k) (spec §6), the same for a random order, and failed picks. */
typedef struct {
    int k;
    double mean, pooled, rand_mean, rand_pooled;
    int failed;          /* tasks whose top-k picks all failed */
    double rand_failed;  /* expected for a random order */
} tlp_eval_k;

void tlp_eval_sum_init(tlp_eval_sum *s, const int *ks, int n_k);
void tlp_eval_sum_add(tlp_eval_sum *s, const tlp_task_eval *e, double weight);
/* Figures for ks[i] (NaN when no task was added). */
tlp_eval_k tlp_eval_sum_k(const tlp_eval_sum *s, int i);
double tlp_eval_sum_pair_acc(const tlp_eval_sum *s); /* mean over tasks, NaN if none */
double tlp_eval_sum_tau(const tlp_eval_sum *s);

/* Replaying a tuning log: the trials a tuner spends before it holds a
 * program within `within` (0.05 = 5%) of the task's best valid cost, and
 * before it holds the best itself, measuring in the log's order (the order
 * of the records, which is Ansor's order of measurement) or in the model's
 * (score descending, ties in the log's order).  A failed candidate counts
 * as a trial.  Trials are 1-based. */
typedef struct {
    int n;                        /* candidates */
    int log_within, model_within; /* trials to come within `within` of the best */
    int log_best, model_best;     /* trials to the best itself */
    double best;                  /* the best valid cost */
} tlp_replay;

/* TLP_EMPTY when no candidate is valid (nothing to come near). */
tlp_status tlp_replay_task(const double *cost, const uint8_t *failed, const float *score, int n, double within,
                           tlp_replay *out);
tlp_status tlp_replay_dataset_task(const tlp_dataset *ds, size_t t, const float *scores, double within,
                                   tlp_replay *out);

/* ---------------------------------------------------------------- training */

/* Training settings and state saved with a model. */
typedef struct {
    char loss[16];       /* "rank" or "mse" */
    char pairs[16];      /* "batch" or "task" */
    char split[16];      /* "task" or "record" */
    float lr, weight_decay, clip;
    int batch;
    int epochs;          /* epochs asked for */
    int epochs_done;
    uint64_t seed;
    uint64_t step;       /* optimiser steps taken (Adam's t) */
    double best_val;     /* the kept epoch's validation figure (loss, or -top-k with select=topk) */
    char recipe[16];     /* "tlp", "tlpx" or "custom" ("tlp" for files from before recipes) */
    char select[16];     /* "loss", "topk" or "last" */
    char sched[16];      /* "const" or "cosine" */
    char failed[16];     /* "keep" or "demote" */
    int average;         /* epochs averaged (0 = none) */
    int group;           /* pairs=task: samples per run of one task */
    int best_epoch;      /* the epoch whose model was kept */
    char note[512];      /* where the model came from: data, folds, tool (free text) */
    /* The networks the training makes (n_nets > 1: an ensemble trained in
     * one run), their encodings in order, and how many are finished.  The
     * model saved holds the finished networks and, while one is in
     * training, that one last; the fields above from epochs to best_epoch
     * and the state saved with it are the last network's.  A file of one
     * network without a plan (version < 4) gives 1 and its encoding; an
     * ensemble no training made (tlpx ensemble) 0. */
    int n_nets, nets_done;
    tlp_encode nets[TLP_MAX_MEMBERS];
    int fine;            /* the networks started from a model's (fine-tuning, --init) */
} tlp_train_meta;

/* What a training needs to go on (--resume) besides the kept weights:
 * Adam's moments and, when the kept weights are the mean of the last
 * epochs' (average > 0), those epochs' own weights, as the run holds them:
 * the weights at the end of its k-th epoch (k = 1, 2, ... since the run
 * began) are in slot (k - 1) % average, so the weights training goes on
 * from are in slot (n_ring - 1) % average.  Everything may be NULL / 0. */
typedef struct {
    float *m, *v;        /* Adam's moments, n_params each (both or neither) */
    float *ring;         /* tlp_ring_slots(n_ring, average) x n_params, or NULL */
    int n_ring;          /* epochs stored in the ring since the run began */
} tlp_train_state;
/* Free what st holds and zero it (st may be NULL). */
void tlp_train_state_free(tlp_train_state *st);
/* The slots an averaging ring fills after n_ring epochs of averaging the
 * last `average`: min(n_ring, average), 0 when either is below 1. */
int tlp_ring_slots(int n_ring, int average);

typedef enum { TLP_LOSS_RANK = 0, TLP_LOSS_MSE = 1 } tlp_loss_kind;
typedef enum { TLP_PAIRS_BATCH = 0, TLP_PAIRS_TASK = 1 } tlp_pairs_kind;
typedef enum { TLP_SPLIT_TASK = 0, TLP_SPLIT_RECORD = 1 } tlp_split_kind;
/* Which epoch's model is kept: least validation loss (TLP), best validation
 * top-k (mean top-1 + top-5 over the validation tasks), or the last. */
typedef enum { TLP_SELECT_LOSS = 0, TLP_SELECT_TOPK = 1, TLP_SELECT_LAST = 2 } tlp_select_kind;
/* Learning rate over the run: constant (TLP) or a cosine decay to 0. */
typedef enum { TLP_SCHED_CONST = 0, TLP_SCHED_COSINE = 1 } tlp_sched_kind;
/* The label of a failed measurement: TLP's min_cost / 1e10 (keep), or -1
 * (demote: below every valid program, with a pair weight that does not fade
 * with the valid program's label). */
typedef enum { TLP_FAILED_KEEP = 0, TLP_FAILED_DEMOTE = 1 } tlp_failed_kind;

typedef struct {
    tlp_mode mode;          /* which records: cpu or gpu */
    int n_heads;            /* 0 = every hardware of that mode in the data */
    char heads[TLP_MAX_HEADS][TLP_HEAD_NAME];
    int epochs;             /* default 50 */
    int batch;              /* default 1024; TLP_BY_MODE: as recipe tlpx (256 gpu, 1024 cpu) */
    float lr, weight_decay, clip;   /* 7e-4, 1e-6, 0.5 */
    tlp_loss_kind loss;
    tlp_pairs_kind pairs;
    tlp_split_kind split;
    double val_frac;        /* default 0.1 */
    uint64_t seed;
    int threads;            /* BLAS threads, default 1 */
    /* The networks: one per encoding, trained in turn on the same samples,
     * split and seed (each exactly as a training of that encoding alone),
     * kept as one ensemble (tlp_model_add_member).  Default 1 network of raw
     * tokens (TLP); recipe tlpx: log, then prog. */
    int n_nets;             /* 1..TLP_MAX_MEMBERS (0 counts as 1) */
    tlp_encode encode[TLP_MAX_MEMBERS];
    tlp_select_kind select; /* default loss */
    tlp_sched_kind sched;   /* default const */
    tlp_failed_kind failed; /* default keep */
    int average;            /* > 0: each epoch's candidate is the mean of the
                               weights at the end of the last `average` epochs;
                               TLP_BY_MODE: as recipe tlpx (3 gpu, 0 cpu) */
    int group;              /* pairs=task: samples per run of one task (128) */
    char recipe[16];        /* the recipe these settings came from, for the record */
    char note[512];         /* provenance text saved with the model */
    const char *save_path;  /* not NULL: the worker saves the kept model (and
                               its Adam state) there whenever it changes */
    int weights_only;       /* save_path gets no Adam state (a smaller file; no --resume) */
    int freeze_trunk;       /* only the heads' decoders learn (fine-tuning a new head) */
    int budget;             /* > 0: head 0 keeps labels on this many random samples (spec §5) */
} tlp_train_opts;

/* The named recipes: "tlp" is TLP's own (spec §4.2, the default of TLP's
 * scripts), "tlpx" the measured better default (README).  */
#define TLP_RECIPE_DEFAULT "tlpx"
/* Fill o with recipe name's settings for mode m (TLP_ARG for an unknown
 * name; o is then TLP's). */
tlp_status tlp_train_recipe(tlp_train_opts *o, tlp_mode m, const char *name);
/* Settings a recipe leaves to the mode of the data (batch, average
 * TLP_BY_MODE) made concrete for mode m; tlp_train_start does it too. */
void tlp_train_resolve(tlp_train_opts *o, tlp_mode m);
/* The names of the recipes, NULL-terminated (for help and completion). */
extern const char *const TLP_RECIPES[];
/* The learning rate of optimiser step t (0-based) of a run of total steps:
 * o->lr, or with sched cosine lr (1 + cos(pi t / total)) / 2. */
float tlp_train_lr(const tlp_train_opts *o, uint64_t t, uint64_t total);

/* Fill o with TLP's defaults (spec §4.2) for mode m: recipe "tlp". */
void tlp_train_defaults(tlp_train_opts *o, tlp_mode m);

/* The samples a training sees: one per (task, schedule) with a label for
 * each head whose hardware measured it (MTL, spec §5).  Built from a
 * dataset; the dataset must outlive it. */
typedef struct tlp_samples tlp_samples;
tlp_samples *tlp_samples_build(const tlp_dataset *ds, const tlp_train_opts *o, tlp_error *err);
void tlp_samples_free(tlp_samples *s);
size_t tlp_samples_count(const tlp_samples *s);
int tlp_samples_n_heads(const tlp_samples *s);
const char *tlp_samples_head(const tlp_samples *s, int h);
/* How many samples carry a label for head h, and how many carry 2 or more. */
size_t tlp_samples_labelled(const tlp_samples *s, int h);
size_t tlp_samples_multi(const tlp_samples *s);

/* Progress of a training, as a snapshot the caller polls. */
typedef enum { TLP_JOB_RUNNING, TLP_JOB_DONE, TLP_JOB_CANCELLED, TLP_JOB_FAILED } tlp_job_state;
#define TLP_LOSS_HISTORY 512
typedef struct {
    tlp_job_state state;
    int epoch, epochs;          /* epoch is 1-based while running */
    long step, steps_per_epoch;
    double loss;                /* mean training loss per batch, this epoch so far */
    double val_loss, best_val;  /* last and best validation loss (NAN before the first) */
    double val_top1, val_top5;  /* last epoch's mean top-k over the validation tasks (head 0; NAN without) */
    int best_epoch;
    int net, nets;              /* the network in training (1-based) of how many (an ensemble) */
    tlp_encode net_encode;      /* its encoding */
    double samples_per_s, eta_s, elapsed_s;
    int n_hist;                 /* training loss per epoch so far (and val) */
    float hist_train[TLP_LOSS_HISTORY], hist_val[TLP_LOSS_HISTORY];
    double frac;                /* fraction done (both kinds of job) */
    char msg[256];              /* why it failed, when it did */
    int saves, saved_epoch;     /* save_path: saves made, the epoch in the file */
    double save_s;              /* seconds spent saving */
    char save_error[256];       /* why the last save failed ("" when it did not) */
} tlp_progress;

typedef struct tlp_job tlp_job;

/* Start training on a worker thread.  init (may be NULL: new networks from
 * o->seed) is copied, never touched: network k starts from init's k-th
 * (fine-tuning; its encodings must be o's).  Samples and the dataset are
 * borrowed until tlp_job_finish.  resume_meta (may be NULL) continues the
 * training init was saved by: its finished networks are kept as they are,
 * the last one (if unfinished) goes on from resume (Adam and, when its ring
 * fits resume_meta->average == o->average, the averaging), the others start
 * as they would have: the run then goes on bit for bit as if it had not
 * stopped. */
tlp_job *tlp_train_start(const tlp_samples *s, const tlp_train_opts *o, const tlp_model *init,
                         const tlp_train_meta *resume_meta, const tlp_train_state *resume, tlp_error *err);
void tlp_job_progress(tlp_job *j, tlp_progress *out);
/* A file descriptor that becomes readable when the progress changes (read
 * and discard its bytes), for a poll loop. */
int tlp_job_fd(const tlp_job *j);
/* Ask the worker to stop between two steps. */
void tlp_job_cancel(tlp_job *j);
/* Wait for the worker and take the result: the best-validation model (an
 * ensemble: the finished networks and the kept one of the network in
 * training; NULL when cancelled or failed before any epoch ended), its meta
 * and the state to resume it (each may be NULL; free the state with
 * tlp_train_state_free).  Frees the job. */
tlp_status tlp_job_finish(tlp_job *j, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                          tlp_error *err);

/* Scores of every record of the dataset in the model's mode on one head:
 * scores[i] for record i (NAN for records of the other mode).  progress
 * (may be NULL) is called now and then with the fraction done; a nonzero
 * return stops early (TLP_ARG, "cancelled"). */
tlp_status tlp_predict(tlp_model *m, const tlp_dataset *ds, int head, float *scores,
                       int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err);
/* The same for nh heads at once, the network's trunk computed once per
 * record: scores[k][i] for head heads[k]. */
tlp_status tlp_predict_heads(tlp_model *m, const tlp_dataset *ds, const int *heads, int nh, float **scores,
                             int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err);

/* Predict every head of a copy of m on every record of ds on the worker
 * thread (the same job API: progress, fd, cancel).  When done, take the
 * scores with tlp_job_take_scores before tlp_job_finish. */
tlp_job *tlp_predict_start(const tlp_model *m, const tlp_dataset *ds, tlp_error *err);
/* The scores of head h (n_records floats, caller frees), or NULL. */
float *tlp_job_take_scores(tlp_job *j, int h);

/* A task's workload key with known spelling differences removed, so the
 * same task measured on several hardware meets (conv2d_layer's padding
 * "SAME"/"VALID" becomes (KH-1)/2 / 0).  Caller frees. */
char *tlp_workload_canonical(const char *workload_key);

/* ---------------------------------------------------------------- checkpoints */


/* Write model (config, dictionaries, weights), meta and, when state is
 * not NULL and has Adam moments, the state to resume the training (the
 * moments, and the averaging ring when it has one: tlp_ring_slots(n_ring,
 * meta->average) epochs' weights) to path, atomically.  A failed save leaves
 * any previous file untouched. */
tlp_status tlp_checkpoint_save(const char *path, const tlp_model *m, const tlp_train_meta *meta,
                               const tlp_train_state *state, tlp_error *err);
/* Read a checkpoint.  Returns the model (caller frees) or NULL with err
 * naming the file and the reason (truncated, corrupt, foreign, another
 * version, another dictionary).  meta may be NULL; state (may be NULL) gets
 * malloc'd copies of what the file has to resume (all NULL / 0 when it was
 * saved without). */
tlp_model *tlp_checkpoint_load(const char *path, tlp_train_meta *meta, tlp_train_state *state, tlp_error *err);

/* ---------------------------------------------------------------- export */

/* Write the features, labels, costs and index of every record of mode m as
 * PREFIX.features.npy (float32 [N,R,F]: the rows of encoding e,
 * tlp_encode_rows; raw is TLP's [N,L,F]), PREFIX.labels.npy (float32 [N]),
 * PREFIX.costs.npy (float64 [N]) and PREFIX.index.tsv.  Each file is written
 * atomically.  *n_out (may be NULL) gets N. */
tlp_status tlp_export_npy(const tlp_dataset *ds, tlp_mode m, tlp_encode e, const char *prefix,
                          size_t *n_out, tlp_error *err);

/* Write a file atomically: fn writes the contents to f; the file appears
 * under path only if fn returns TLP_OK and every write and fsync succeeded.
 * A path that exists and is not a regular file (a directory, a device, a
 * FIFO) is refused; a symbolic link to a regular file is followed, and the
 * file keeps its mode.  Temporaries of a save that was killed are removed. */
typedef tlp_status (*tlp_write_fn)(FILE *f, void *ctx, tlp_error *err);
tlp_status tlp_write_atomic(const char *path, tlp_write_fn fn, void *ctx, tlp_error *err);
/* fopen(path, "r") for a file tlpx reads whole (a model, weights, scores):
 * only a regular file (or a link to one); a FIFO is refused at once instead
 * of waiting for a writer.  NULL with errno set (EINVAL: not a regular file);
 * tlp_fopen_why(errno) says it in words. */
FILE *tlp_fopen_regular(const char *path);
const char *tlp_fopen_why(int e);
/* Would tlp_write_atomic to path work?  The same refusals, and a file can
 * be made in its directory.  For checking before hours of work. */
tlp_status tlp_check_writable(const char *path, tlp_error *err);

/* Text from record files made safe for a terminal line or a TSV field:
 * C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not
 * UTF-8 become \t \n \r or \xNN, and a backslash becomes \\, so nothing
 * from a file can move the cursor, clear a screen or split a TSV row, and
 * tlp_unescape gives the text back.  Writes at most cap bytes (NUL
 * included) of the escaped form of s[0..n); returns the length it wanted. */
size_t tlp_escape(char *out, size_t cap, const char *s, size_t n);
/* The escaped form of s, malloc'd (caller frees), or NULL. */
char *tlp_escape_dup(const char *s);
/* Undo tlp_escape in place. */
void tlp_unescape(char *s);

/* Readable summary of a workload key: `conv2d_layer(128, 1008, 42, ...)`, or
 * for a hashed key `#bc348570 [1024,128,96] ...`, escaped (tlp_escape).
 * Caller frees. */
char *tlp_workload_summary(const char *workload_key);

#ifdef __cplusplus
}
#endif
#endif
