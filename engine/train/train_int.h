/*
 * train/train_int.h: the training layer inside the engine.  Not for the
 * program (tui/); the tests may use it.
 */
#ifndef TLP_TRAIN_TRAIN_INT_H
#define TLP_TRAIN_TRAIN_INT_H

#include "nn/nn_int.h"
#include "train/train.h"

/* The slots an averaging ring fills after n_ring epochs of averaging the
 * last `average`: min(n_ring, average), 0 when either is below 1. */
int tlp_ring_slots(int n_ring, int average);
/* The learning rate of optimiser step t (0-based) of a run of total steps:
 * o->lr, or with sched cosine lr (1 + cos(pi t / total)) / 2. */
float tlp_train_lr(const tlp_train_opts *o, uint64_t t, uint64_t total);


/* ---------------------------------------------------------------- settings (settings.c) */

/* TLP_OK when every checked setting of o is within its bounds
 * (settings.def), else TLP_ARG naming the first that is not. */
tlp_status tlp__train_check(const tlp_train_opts *o, tlp_error *err);
/* The settings part of a training's meta, from its settings: the recipe,
 * each choice by name, the numbers, the networks' plan. */
void tlp__train_meta_of_opts(tlp_train_meta *m, const tlp_train_opts *o);

/* ---------------------------------------------------------------- samples (samples.c) */

struct tlp_samples {
    const tlp_dataset *ds;
    tlp_mode mode;
    int L;           /* the crop: steps of a schedule the network sees (tlp_train_steps) */
    int n_heads;
    char heads[TLP_MAX_HEADS][TLP_HEAD_NAME];
    size_t n, cap;
    uint32_t *rec;   /* a record holding the sample's features */
    uint32_t *task;  /* canonical task */
    float *label;    /* [n][H] */
    uint8_t *have;   /* [n][H] */
    size_t n_tasks;
    size_t labelled[TLP_MAX_HEADS], multi;
    /* per task of the dataset: its head (-1: none) and canonical task */
    int *ds_head;
    uint32_t *ds_canon;
};

/* ---------------------------------------------------------------- background jobs (job.c) */

/* What a job runs: a training (train.c) or a prediction (predict.c).  run
 * works on the worker thread, publishing progress and checking the cancel
 * flag between steps; finish hands its result over (each pointer may be
 * NULL) and says how it went; drop frees the work. */
typedef struct {
    void (*run)(tlp_job *j, void *work);
    tlp_status (*finish)(void *work, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                         tlp_error *err);
    void (*drop)(void *work);
} tlp__job_kind;

/* Start work of kind k on a worker thread with first as its progress.  The
 * job owns work from then on (tlp_job_finish drops it); NULL with err set
 * when it cannot start (the caller keeps work). */
tlp_job *tlp__job_start(const tlp__job_kind *k, void *work, const tlp_progress *first, tlp_error *err);
/* On the worker: make p the snapshot the caller reads, and wake its poll. */
void tlp__job_publish(tlp_job *j, const tlp_progress *p);
/* Has the caller asked the job to stop? */
int tlp__job_cancelled(tlp_job *j);
/* The job's work if it is of kind k (else NULL), once the worker is done
 * with it (waits for the worker). */
void *tlp__job_result(tlp_job *j, const tlp__job_kind *k);

#endif
