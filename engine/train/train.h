/*
 * train/train.h: the training layer, public part: training settings and
 * recipes, samples, background jobs (training and prediction) with their
 * progress, prediction, metrics (top-k, replay), checkpoints and the .npy
 * export.  It includes the lower layers only.
 */
#ifndef TLP_TRAIN_TRAIN_H
#define TLP_TRAIN_TRAIN_H

#include "nn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A training setting recipe tlpx leaves to the mode of the data (GPU or
 * CPU records), made concrete by tlp_train_resolve: batch, average. */
#define TLP_BY_MODE (-1)

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
    float *ring;         /* min(n_ring, average) x n_params, or NULL */
    int n_ring;          /* epochs stored in the ring since the run began */
} tlp_train_state;
/* Free what st holds and zero it (st may be NULL). */
void tlp_train_state_free(tlp_train_state *st);

/* The named values of the choice settings (settings.def), each once: the
 * enums below and the names the settings take and the checkpoint keeps
 * come from these lists.  X(VALUE, "name"). */
#define TLP_LOSSES(X) X(TLP_LOSS_RANK, "rank") X(TLP_LOSS_MSE, "mse")
#define TLP_PAIRS(X) X(TLP_PAIRS_BATCH, "batch") X(TLP_PAIRS_TASK, "task")
#define TLP_SPLITS(X) X(TLP_SPLIT_TASK, "task") X(TLP_SPLIT_RECORD, "record")
/* Which epoch's model is kept: least validation loss (TLP), best validation
 * top-k (mean top-1 + top-5 over the validation tasks), or the last. */
#define TLP_SELECTS(X) X(TLP_SELECT_LOSS, "loss") X(TLP_SELECT_TOPK, "topk") X(TLP_SELECT_LAST, "last")
/* Learning rate over the run: constant (TLP) or a cosine decay to 0. */
#define TLP_SCHEDS(X) X(TLP_SCHED_CONST, "const") X(TLP_SCHED_COSINE, "cosine")
/* The label of a failed measurement: TLP's min_cost / 1e10 (keep), or -1
 * (demote: below every valid program, with a pair weight that does not fade
 * with the valid program's label). */
#define TLP_FAILEDS(X) X(TLP_FAILED_KEEP, "keep") X(TLP_FAILED_DEMOTE, "demote")
/* How a schedule's padding rows are computed: each of them (TLP's padded
 * computation) or once, weighted by their count (tlp_model_set_exact_padding):
 * the same gradients to float rounding. */
#define TLP_PADDINGS(X) X(TLP_PADDING_EXACT, "exact") X(TLP_PADDING_ONCE, "once")

#define TLP_CHOICE_ENUM(value, name) value,
typedef enum { TLP_LOSSES(TLP_CHOICE_ENUM) } tlp_loss_kind;
typedef enum { TLP_PAIRS(TLP_CHOICE_ENUM) } tlp_pairs_kind;
typedef enum { TLP_SPLITS(TLP_CHOICE_ENUM) } tlp_split_kind;
typedef enum { TLP_SELECTS(TLP_CHOICE_ENUM) } tlp_select_kind;
typedef enum { TLP_SCHEDS(TLP_CHOICE_ENUM) } tlp_sched_kind;
typedef enum { TLP_FAILEDS(TLP_CHOICE_ENUM) } tlp_failed_kind;
typedef enum { TLP_PADDINGS(TLP_CHOICE_ENUM) } tlp_padding_kind;
#undef TLP_CHOICE_ENUM

/* The model kept so far, handed to tlp_train_opts.on_kept on the worker
 * thread whenever it changes (an epoch kept, a network of an ensemble
 * finished): the model (an ensemble: the finished networks and the kept
 * one in training), its meta and the state to resume it, all borrowed for
 * the call.  A callback saves them (tlp_checkpoint_save), so a killed run
 * loses at most the epochs since; a failure it reports (err) is kept in
 * tlp_progress.save_error and the training goes on. */
typedef tlp_status (*tlp_kept_fn)(void *ctx, const tlp_model *m, const tlp_train_meta *meta,
                                  const tlp_train_state *state, tlp_error *err);

/* The settings of a training.  Those a user sets by name are the rows of
 * settings.def (tlp_train_set); the rest are the run's (mode, note,
 * callbacks) or TLP's constants (weight_decay, clip). */
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
    tlp_kept_fn on_kept;    /* not NULL: told of the kept model whenever it changes */
    void *kept_ctx;
    int freeze_trunk;       /* only the heads' decoders learn (fine-tuning a new head) */
    int budget;             /* > 0: head 0 keeps labels on this many random samples (spec §5) */
    tlp_padding_kind padding; /* exact (recipe tlp, TLP's) or once (recipe tlpx); not kept in the
                                 meta: a run resumes with the padding it is given */
    int steps;              /* the crop: steps of a schedule the network sees, 1..TLP_MAX_STEPS;
                               0: TLP's (tlp_mode_seq).  A fine-tuning or resume takes the model's */
} tlp_train_opts;

/* The crop a training of o makes its networks with: o->steps, or TLP's. */
int tlp_train_steps(const tlp_train_opts *o);

/* The named recipes: "tlp" is TLP's own (spec §4.2, the default of TLP's
 * scripts), "tlpx" the measured better default (docs/quality.md).  */
#define TLP_RECIPE_DEFAULT "tlpx"
/* Fill o with recipe name's settings for mode m (TLP_ARG for an unknown
 * name; o is then TLP's). */
tlp_status tlp_train_recipe(tlp_train_opts *o, tlp_mode m, const char *name);
/* Settings a recipe leaves to the mode of the data (batch, average
 * TLP_BY_MODE) made concrete for mode m; tlp_train_start does it too. */
void tlp_train_resolve(tlp_train_opts *o, tlp_mode m);
/* The names of the recipes, NULL-terminated (for help and completion). */
extern const char *const TLP_RECIPES[];

/* Fill o with TLP's defaults (spec §4.2) for mode m: recipe "tlp". */
void tlp_train_defaults(tlp_train_opts *o, tlp_mode m);

/* Set one setting by name as a user writes it: a row of settings.def
 * ("epochs", "10"; a flag takes NULL or ""), or "recipe" (the recipe's
 * settings, keeping threads, heads and the note).  A setting of the recipe
 * makes o's recipe "custom".  TLP_ARG with err->msg saying why ("epochs is a
 * whole number from 1 to 100000, not \"x\"") when the name or the value is
 * bad; o is then unchanged. */
tlp_status tlp_train_set(tlp_train_opts *o, const char *name, const char *value, tlp_error *err);
/* The names tlp_train_set takes ("recipe" first, then the rows of
 * settings.def), NULL past the last (for completion). */
const char *tlp_train_setting_name(int i);
/* The settings a model's training was made with (its meta), as --resume
 * goes on with them: the recipe and every setting the meta keeps. */
void tlp_train_opts_of_meta(tlp_train_opts *o, const tlp_train_meta *meta);

/* The samples a training sees: one per (task, schedule) with a label for
 * each head whose hardware measured it (MTL, spec §5).  Built from a
 * dataset; the dataset must outlive it. */
typedef struct tlp_samples tlp_samples;
tlp_samples *tlp_samples_build(const tlp_dataset *ds, const tlp_train_opts *o, tlp_error *err);
/* The same of the tasks t with take[t] != 0 only (NULL: all). */
tlp_samples *tlp_samples_build_tasks(const tlp_dataset *ds, const tlp_train_opts *o, const unsigned char *take,
                                     tlp_error *err);
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

/* Records that are no dataset's (a tuner's candidates, tlpx serve): x holds
 * n records' raw tokens as tlp_record_features writes them for the model's
 * mode and crop ([n][steps][F]); scores[k * n + i] gets network k's raw
 * score of record i on head (an ensemble's networks each, uncombined: how to
 * standardise them is the caller's). */
tlp_status tlp_predict_tokens(tlp_model *m, const float *x, size_t n, int head, float *scores, tlp_error *err);

/* Predict every head of a copy of m on every record of ds on the worker
 * thread (the same job API: progress, fd, cancel).  When done, take the
 * scores with tlp_job_take_scores before tlp_job_finish. */
tlp_job *tlp_predict_start(const tlp_model *m, const tlp_dataset *ds, tlp_error *err);
/* The same for the tasks t with take[t] only (copied; NULL: all), NAN for
 * the records of the others: the explorer scores what is on screen first.
 * A task's scores are the same as in a prediction of all (an ensemble
 * standardises within each task). */
tlp_job *tlp_predict_start_tasks(const tlp_model *m, const tlp_dataset *ds, const unsigned char *take, tlp_error *err);
/* The scores of head h (n_records floats, caller frees), or NULL. */
float *tlp_job_take_scores(tlp_job *j, int h);
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
 * PREFIX.features.npy (float32 [N,R,F]: the rows of encoding e of a crop of
 * L steps (0: TLP's), tlp_encode_rows; raw is TLP's [N,L,F]),
 * PREFIX.labels.npy (float32 [N]),
 * PREFIX.costs.npy (float64 [N]) and PREFIX.index.tsv.  Each file is written
 * atomically.  *n_out (may be NULL) gets N. */
tlp_status tlp_export_npy(const tlp_dataset *ds, tlp_mode m, tlp_encode e, int L, const char *prefix,
                          size_t *n_out, tlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
