/*
 * data/data.h: the data layer, public part: Ansor's step kinds and measure
 * records, TLP's feature tokens and their encodings, workload keys and
 * folds, datasets (tasks x hardware, loaded from record files, directories,
 * standard input or packed stores) and packed stores.  It includes the core
 * layer only.
 */
#ifndef TLP_DATA_DATA_H
#define TLP_DATA_DATA_H

#include "core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- steps */

typedef enum {
#define X(tag, verb, types, names, cpu, gpu) TLP_STEP_##tag,
#include "data/steps.def"
#undef X
    TLP_STEP_COUNT
} tlp_step_kind;

const char *tlp_step_tag(tlp_step_kind k);  /* "SP" */

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
    struct tlp_record_bufs *bufs; /* the parser's buffers (private to record.c) */
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

/* Readable form of step i of r ("split stage 5 iter 0: 256 -> [1,4,4,16]").
 * Writes at most cap bytes (NUL included); returns the length it wanted. */
int tlp_step_describe(const tlp_record *r, size_t i, char *buf, size_t cap);

/* ---------------------------------------------------------------- features */

typedef enum { TLP_MODE_CPU = 0, TLP_MODE_GPU = 1, TLP_MODE_COUNT } tlp_mode;

#define TLP_ONEHOT 11
#define TLP_MAX_FEA 22  /* the larger of the two modes' F */
/* The longest crop a network may take (--steps N, a model's L): a dataset
 * keeps the tokens of a record's first TLP_MAX_STEPS steps. */
#define TLP_MAX_STEPS 128

const char *tlp_mode_name(tlp_mode m); /* "cpu" / "gpu" */
int tlp_mode_seq(tlp_mode m);          /* TLP's L, the default crop: 25 cpu, 40 gpu */
int tlp_mode_crop(tlp_mode m, int steps); /* a crop asked (--steps): steps, or TLP's when 0 */
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

/* The [L][F] float32 matrix of a record's first L steps (zero padded,
 * cropped; L is the crop, tlp_mode_seq(m) for TLP's). */
void tlp_record_features(tlp_mode m, int L, const tlp_record *r, float *out);

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
int tlp_program_row(tlp_mode m, int L, const float *x, float *out);
/* The program row made readable: "grid=12.4 (5376) vthread=2 (4) threads=6.39
 * (84) ..." (each slot's value and, for the logs, the number).  Writes at
 * most cap bytes (NUL included); returns the length it wanted. */
int tlp_program_describe(tlp_mode m, const float *row, char *buf, size_t cap);

/* Label of slot j (0-based) of step i's row for display: "kind", "stage",
 * "lengths[2]", ...; "-" for padding.  Writes into buf (cap bytes). */
void tlp_slot_label(const tlp_record *r, size_t i, int j, char *buf, size_t cap);

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
/* The rows a network of encoding e sees of a crop of L steps: L, or L + 1
 * with the program row (what `tlpx features --encode` exports,
 * tlp_export_npy). */
int tlp_encode_rows(int L, tlp_encode e);

/* ---------------------------------------------------------------- workload keys */

/* A task's workload key with known spelling differences removed, so the
 * same task measured on several hardware meets (conv2d_layer's padding
 * "SAME"/"VALID" becomes (KH-1)/2 / 0).  Caller frees. */
char *tlp_workload_canonical(const char *workload_key);
/* The fold (0..n_folds-1) of a task: FNV-1a-64 of its canonical workload
 * key (tlp_workload_canonical) modulo n_folds.  It depends on the key
 * alone, so a task falls in the same fold on every hardware, in every
 * subset of the data, for every tool that computes it. */
int tlp_workload_fold(const char *workload_key, int n_folds);
/* That hash itself: a task's name across hardware and files (a model keeps
 * the hashes of the tasks it was trained on). */
uint64_t tlp_workload_hash(const char *workload_key);
/* Readable summary of a workload key: `conv2d_layer(128, 1008, 42, ...)`, or
 * for a hashed key `#bc348570 [1024,128,96] ...`, escaped (tlp_escape).
 * Caller frees. */
char *tlp_workload_summary(const char *workload_key);

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
    uint8_t text_sum[4]; /* tlp_text_sum of the record's line, to tell a source file changed since
                            loading or packing; all zero: not known (a store packed before it was kept) */
    uint8_t reserved[2]; /* zero: the record is 56 bytes with no padding (a packed store maps it as it is) */
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
    const char *summary;      /* "conv2d_layer(128, 1008, 42, 42, ...)"; a hashed key after its file's name: "MHA1-B128-int8 #52c29cac [...]" */
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

/* Skipped lines (and, with line 0, skipped paths); reason TLP_OK is a note
 * that skips nothing wrong (a record file a store holds already). */
typedef struct {
    const char *file; /* borrowed */
    long line;        /* 0: the whole file */
    tlp_status reason;
    const char *msg;  /* borrowed */
} tlp_diag;

/* Load options.  hardware may be NULL (use -model= or the file's directory). */
typedef struct {
    /* told of every diagnostic as it happens (d borrowed for the call), or
     * NULL; the dataset keeps them either way (tlp_dataset_diag) */
    void (*on_diag)(void *ctx, const tlp_diag *d);
    void *ctx;
    /* cross-validation by task: with n_folds > 0 keep only the records of
     * tasks in fold `fold` (0-based), or with fold_except all but those */
    int n_folds, fold, fold_except;
} tlp_load_opts;

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
/* A record file read as it grows (a tuning log a running search appends
 * to): each call reads the whole lines added since the last one (a last line
 * without its newline waits for it) as records of path, their line numbers
 * and byte offsets going on from where the last call stopped, so re-reading
 * a record works as for any file.  Start with TLP_FOLLOW_INIT (from the
 * beginning).  A file that got shorter is an error (it was replaced).
 * *added (may be NULL) gets the records added; finish the dataset after. */
typedef struct {
    uint64_t off; /* bytes taken: every whole line before it */
    long line;    /* lines taken */
    long file;    /* the file's index in the dataset, -1 before the first call */
} tlp_follow;
#define TLP_FOLLOW_INIT {0, 0, -1}
tlp_status tlp_dataset_follow(tlp_dataset *ds, const char *path, const char *hardware, tlp_follow *f,
                              size_t *added, tlp_error *err);
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
/* FNV-1a-64 of what a model's scores of the records depend on: each
 * record's tokens, task and mode, in order (a score cache's key). */
uint64_t tlp_dataset_digest(const tlp_dataset *ds);
double tlp_dataset_label(const tlp_dataset *ds, size_t i);
/* The [L][F] features of record i in its task's mode, its first L steps
 * (L <= TLP_MAX_STEPS; tlp_mode_seq for TLP's crop). */
void tlp_dataset_features(const tlp_dataset *ds, size_t i, int L, float *out);
/* Does every record of mode m keep the steps a crop of L asks (its first
 * min(steps, L))?  A store packed by a tlpx that kept TLP's crop only has
 * fewer: TLP_FORMAT naming the first such record's file and line. */
tlp_status tlp_dataset_check_steps(const tlp_dataset *ds, tlp_mode m, int L, tlp_error *err);

/* Re-read and parse record i from its file into r (for the token view). */
tlp_status tlp_dataset_read_record(const tlp_dataset *ds, size_t i, tlp_record *r,
                                   tlp_error *err);

size_t tlp_dataset_n_hw(const tlp_dataset *ds);
const tlp_hw_stats *tlp_dataset_hw(const tlp_dataset *ds, size_t i);

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

/* Bytes of JSON read so far. */
uint64_t tlp_dataset_bytes_read(const tlp_dataset *ds);

/* ---------------------------------------------------------------- TVM logs */

/* The keys under which TVM's ApplyHistoryBest files a record of this target
 * (dispatcher.py): the target's keys (-keys=, else its kind's own: "cuda",
 * "gpu" for cuda; "cpu" for llvm ...; with -device= before them) and
 * "model=NAME" for its -model=.  Two records of one workload key that share
 * one of these are one entry to TVM, which keeps the cheaper.  Writes at
 * most max keys; returns how many. */
#define TLP_MAX_DISPATCH 8
#define TLP_DISPATCH_KEY 64
int tlp_target_keys(const char *target, char keys[][TLP_DISPATCH_KEY], int max);
/* The value of a target's option opt ("-model=", "-mcpu=": a word of its
 * own) into buf (cut to cap - 1 bytes); 0 when the target has none or it is
 * empty. */
int tlp_target_option(const char *target, const char *opt, char *buf, size_t cap);

/* Which records a log takes. */
typedef struct {
    const char *hardware; /* only this hardware's tasks; NULL: every hardware */
    /* whether record k (0-based, in task t) is a candidate; NULL: every
     * record.  A task without a candidate is left out. */
    int (*pick)(void *ctx, size_t task, uint32_t k);
    void *ctx;
    int failed;           /* a task whose candidates all failed gives its first (TVM skips it) */
} tlp_log_opts;

typedef struct {
    size_t written;        /* records written: one a task */
    size_t failed_written; /* of them, failed runs (with failed) */
    size_t all_failed;     /* tasks left out: every candidate failed */
    size_t clashes;        /* workloads two hardware meet under one dispatch key */
    char clash[2][64];     /* the first two hardware met so, */
    char clash_key[TLP_DISPATCH_KEY]; /* and the key */
} tlp_log_counts;

/* Write the best candidate of every task of o as TVM record lines (the
 * least mean cost among those that ran, the first of equals, the way TVM's
 * distill_record_file keeps it), one line a task.  When two hardware would
 * meet under one (workload key, dispatch key) it fails with TLP_ARG saying
 * which, after the lines: write through tlp_write_atomic, so nothing is
 * left.  c is filled either way. */
tlp_status tlp_write_best_log(FILE *f, const tlp_dataset *ds, const tlp_log_opts *o, tlp_log_counts *c,
                              tlp_error *err);

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

#ifdef __cplusplus
}
#endif
#endif
