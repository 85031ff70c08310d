/* train_fixtures.h: what the training tests (test_samples, test_train,
 * test_resume, test_predict, test_ensemble) share: the hand-made fixtures of
 * tests/fixtures/train (see make.py there for what they hold) and their
 * counts, loading them, the options of a short training, watching a job
 * through its progress snapshots, and training to the end.  Every program
 * builds its own datasets, samples and models from these: no test leans on
 * what another one made.  Run with top_srcdir set to the repository root. */
#ifndef TLPX_TRAIN_FIXTURES_H
#define TLPX_TRAIN_FIXTURES_H

#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What make.py writes (its docstring has the table):
 *   op64   hw-a S0..S39        hw-b S0..S39         40 samples, 40 with two labels
 *   op128  hw-a S0..S39        hw-b S10..S49        50 samples, 30 with two labels
 *   op256  hw-a S0..S39 + S0   -                    41 samples (S0 measured twice: two samples)
 *   op512  -                   hw-b S0..S39         40 samples
 *   conv   hw-a "SAME"         hw-b padding 1       40 samples, 40 with two labels (canonical keys meet)
 *   cpu-c: one CPU task of 20 records. */
enum {
    HWA_RECORDS = 40 + 40 + 41 + 40, /* op64 op128 op256 conv */
    HWB_RECORDS = 40 + 40 + 40 + 40, /* op64 op128 op512 conv */
    GPU_SAMPLES = 40 + 50 + 41 + 40 + 40,
    GPU_MULTI = 40 + 30 + 40,
    CPU_RECORDS = 20,
    GPU_TASKS = 8, /* dataset tasks (key x hardware) */
};

/* The path of a fixture relative to tests/fixtures/train ("" for the
 * directory itself), in a buffer the next call reuses. */
static inline const char *fx(const char *rel)
{
    static char path_buf[1024];
    const char *d = getenv("top_srcdir");
    snprintf(path_buf, sizeof path_buf, "%s/tests/fixtures/train%s%s", d ? d : ".", rel[0] ? "/" : "", rel);
    return path_buf;
}

/* A dataset of the fixture paths given (relative to tests/fixtures/train),
 * each under its own hardware name when hw[i] is not NULL. */
static inline tlp_dataset *load(int n, const char *const *rel, const char *const *hw)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    for (int i = 0; i < n; i++)
        if (tlp_dataset_add_path(ds, fx(rel[i]), hw ? hw[i] : NULL, &lo, &e) != TLP_OK)
            printf("# %s: %s\n", e.file, e.msg);
    tlp_dataset_finish(ds, &e);
    return ds;
}

/* Seconds on the monotonic clock: for the `# ...` diagnostics only, never
 * for a check (a loaded machine is slow, not wrong). */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline tlp_train_opts opts(int epochs, int batch, uint64_t seed)
{
    tlp_train_opts o;
    tlp_train_defaults(&o, TLP_MODE_GPU);
    o.epochs = epochs;
    o.batch = batch;
    o.seed = seed;
    o.threads = 1;
    o.split = TLP_SPLIT_TASK;
    return o;
}

/* The samples of ds under o, or a bail-out: without its fixtures a program
 * has nothing to check (TAP's "Bail out!" fails it). */
static inline tlp_samples *samples_or_bail(const tlp_dataset *ds, const tlp_train_opts *o, const char *what)
{
    tlp_error e = {0};
    tlp_samples *s = tlp_samples_build(ds, o, &e);
    if (!s) {
        printf("Bail out! no %s: %s\n", what, e.msg);
        exit(1);
    }
    return s;
}

/* A scratch directory of the template given ("/tmp/tlpx_NAME.XXXXXX"), or
 * the whole program skipped. */
static inline void scratch_dir(char *tmpl)
{
    if (!mkdtemp(tmpl)) tap_skip_all("no temporary directory");
}

/* ------------------------------------------------------------ watching a job */

typedef struct {
    int first_epoch, epochs;
    int readable;  /* the fd became readable */
    int snapshots; /* progress snapshots read */
    int bad;       /* insane ones */
    char why[256]; /* the first insanity */
    int timed_out;
    tlp_progress last;
    int cancelled;          /* a cancel was asked */
    tlp_progress at_cancel; /* the progress read just after asking it */
    double stop_s;          /* cancel to the last snapshot (a diagnostic, never checked) */
} watch;

static inline void insane(watch *w, const char *fmt, const tlp_progress *p)
{
    if (!w->bad++)
        snprintf(w->why, sizeof w->why, "%.120s (state %d epoch %d/%d step %ld/%ld loss %g n_hist %d)", fmt, (int)p->state,
                 p->epoch, p->epochs, p->step, p->steps_per_epoch, p->loss, p->n_hist);
}

static inline void check_snapshot(watch *w, const tlp_progress *p, int prev_epoch)
{
    w->snapshots++;
    if (p->state == TLP_JOB_FAILED) {
        insane(w, p->msg, p);
        return;
    }
    if (p->epochs != w->epochs) insane(w, "epochs is not the epochs asked", p);
    if (p->epoch < w->first_epoch || p->epoch > w->epochs) insane(w, "epoch out of range", p);
    if (p->epoch < prev_epoch) insane(w, "epoch went back", p);
    if (p->steps_per_epoch <= 0) insane(w, "no steps per epoch", p);
    if (p->step < 1 || p->step > p->steps_per_epoch) insane(w, "step out of range", p);
    if (!isfinite(p->loss) || p->loss < 0) insane(w, "training loss not finite", p);
    int done_here = p->epoch - w->first_epoch; /* epochs finished before this one */
    if (p->n_hist != done_here && p->n_hist != done_here + 1) insane(w, "history does not follow the epochs", p);
    for (int i = 0; i < p->n_hist && i < TLP_LOSS_HISTORY; i++)
        if (!isfinite(p->hist_train[i]) || !isfinite(p->hist_val[i])) insane(w, "history not finite", p);
    if (p->n_hist > 0 && (!isfinite(p->val_loss) || !isfinite(p->best_val) || p->best_epoch < 1 ||
                          p->best_epoch > p->epoch))
        insane(w, "validation figures missing after an epoch", p);
    if (!(p->elapsed_s >= 0) || !(p->samples_per_s > 0)) insane(w, "speed not sane", p);
    if (p->state == TLP_JOB_DONE && (p->epoch != w->epochs || p->n_hist != w->epochs - w->first_epoch + 1))
        insane(w, "done before the last epoch", p);
}

enum { CANCEL_NEVER, CANCEL_FIRST_REPORT, CANCEL_FIRST_EPOCH };

/* Poll the job's fd until it stops, checking every snapshot.  A cancel is
 * asked first and the progress read after it: whatever the worker did
 * before the flag went up is in that snapshot, so what the job does after
 * it shows in the last one (the 30 s poll is a hang guard, not a timing). */
static inline void watch_job(tlp_job *j, watch *w, int first_epoch, int epochs, int cancel_when)
{
    memset(w, 0, sizeof *w);
    w->first_epoch = first_epoch;
    w->epochs = epochs;
    int prev_epoch = 0;
    double t_cancel = 0;
    for (;;) {
        struct pollfd pfd = {tlp_job_fd(j), POLLIN, 0};
        int r = poll(&pfd, 1, 30000);
        if (r <= 0) {
            w->timed_out = 1;
            tlp_job_cancel(j);
            break;
        }
        if (pfd.revents & POLLIN) w->readable = 1;
        char buf[256];
        while (read(tlp_job_fd(j), buf, sizeof buf) > 0) {
        }
        tlp_progress p;
        tlp_job_progress(j, &p);
        check_snapshot(w, &p, prev_epoch);
        prev_epoch = p.epoch;
        w->last = p;
        if (p.state != TLP_JOB_RUNNING) {
            if (w->cancelled) w->stop_s = now_s() - t_cancel;
            break;
        }
        if (!w->cancelled && ((cancel_when == CANCEL_FIRST_REPORT) ||
                              (cancel_when == CANCEL_FIRST_EPOCH && p.n_hist >= 1))) {
            tlp_job_cancel(j);
            t_cancel = now_s();
            w->cancelled = 1;
            tlp_job_progress(j, &w->at_cancel);
        }
    }
}

static inline void report_watch(const watch *w, const char *what)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s: the job fd became readable", what);
    ok(w->readable && !w->timed_out, buf);
    snprintf(buf, sizeof buf, "%s: every progress snapshot is sane", what);
    if (!ok(w->snapshots > 0 && w->bad == 0, buf)) printf("#   %d of %d insane: %s\n", w->bad, w->snapshots, w->why);
}

/* Optimiser steps the job made from snapshot a to a later snapshot b of the
 * same run, counted across epoch boundaries.  Each step stamps its (epoch,
 * step) and elapsed_s together, and nothing else stamps elapsed_s: a b with
 * a's elapsed_s made no step after a, whatever its epoch says (a cancel met
 * at the top of an epoch leaves the snapshot on that epoch's number, still
 * showing the step count of the one before). */
static inline long steps_between(const tlp_progress *a, const tlp_progress *b)
{
    if (b->elapsed_s == a->elapsed_s) return 0;
    return (long)(b->epoch - a->epoch) * b->steps_per_epoch + (b->step - a->step);
}

/* Train to the end without looking inside; returns the best model. */
static inline tlp_model *train_quiet(const tlp_samples *s, const tlp_train_opts *o, tlp_train_meta *meta,
                                     tlp_status *st)
{
    tlp_error e = {0};
    tlp_job *j = tlp_train_start(s, o, NULL, NULL, NULL, &e);
    if (!j) {
        printf("# start: %s\n", e.msg);
        *st = e.status;
        return NULL;
    }
    tlp_model *best = NULL;
    *st = tlp_job_finish(j, &best, meta, NULL, &e);
    if (*st != TLP_OK) printf("# finish: %s\n", e.msg);
    return best;
}

/* Train o on s: the kept model, its meta and state (NULL on failure). */
static inline tlp_model *train_to_end(const tlp_samples *s, const tlp_train_opts *o, const tlp_model *init,
                                      const tlp_train_meta *rm, const tlp_train_state *rs, tlp_train_meta *meta,
                                      tlp_train_state *st)
{
    tlp_error e = {0};
    tlp_model *m = NULL;
    tlp_job *j = tlp_train_start(s, o, init, rm, rs, &e);
    if (!j || tlp_job_finish(j, &m, meta, st, &e) != TLP_OK) printf("# %s\n", e.msg);
    return m;
}

#endif
