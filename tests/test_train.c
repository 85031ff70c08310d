/* test_train.c: the training half of the engine on the hand-made fixtures of
 * tests/fixtures/train (see make.py there for what they hold): canonical
 * workload keys, samples (MTL labels, heads, errors), a real short training
 * through the worker thread and its progress, determinism, cancel, resume
 * from a checkpoint, the loss options, batch inference and bad settings.
 * Run with top_srcdir set to the repository root. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <math.h>
#include <poll.h>
#include <stdint.h>
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

static char path_buf[1024];
static const char *fx(const char *rel)
{
    const char *d = getenv("top_srcdir");
    snprintf(path_buf, sizeof path_buf, "%s/tests/fixtures/train%s%s", d ? d : ".", rel[0] ? "/" : "", rel);
    return path_buf;
}

/* A dataset of the fixture paths given (relative to tests/fixtures/train),
 * each under its own hardware name when hw[i] is not NULL. */
static tlp_dataset *load(int n, const char *const *rel, const char *const *hw)
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static tlp_train_opts opts(int epochs, int batch, uint64_t seed)
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

/* ------------------------------------------------------------ canonical keys */

static void canon_is(const char *key, const char *want, const char *what)
{
    char *got = tlp_workload_canonical(key);
    is_str(got, want, what);
    free(got);
}

static void test_canonical(void)
{
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, \"SAME\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, 1]", "SAME with a 3x3 kernel is padding 1");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 5, 5, 1, \"SAME\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 5, 5, 1, 2]", "SAME with a 5x5 kernel is padding 2");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 7, 7, 2, \"SAME\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 7, 7, 2, 3]", "SAME with a 7x7 kernel, stride 2, is padding 3");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 1, 1, 1, \"SAME\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 1, 1, 1, 0]", "SAME with a 1x1 kernel is padding 0");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 1, 1, \"SAME\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 1, 1, 1]", "SAME follows KH");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, \"VALID\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, 0]", "VALID is padding 0");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, 1]", "[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, 1]",
             "an int padding is left alone");
    canon_is("[\"tlpx_train_op\", 64, 64]", "[\"tlpx_train_op\", 64, 64]", "a non-conv key is left alone");
    canon_is("[\"bc348570eef5a8a2d6b89cd9a5aa4e6e\", [1, 56, 56, 64], [1, 1, 64, 64]]",
             "[\"bc348570eef5a8a2d6b89cd9a5aa4e6e\", [1, 56, 56, 64], [1, 1, 64, 64]]", "a hashed key is left alone");
    canon_is("[\"conv2d_layerx\", 1, 16, 14, 14, 32, 3, 3, 1, \"SAME\"]",
             "[\"conv2d_layerx\", 1, 16, 14, 14, 32, 3, 3, 1, \"SAME\"]", "another op whose name starts alike is left alone");
    canon_is("[\"conv2d_layer\", 1, 16, \"SAME\"]", "[\"conv2d_layer\", 1, 16, \"SAME\"]",
             "a conv key with too few numbers is left alone");
    canon_is("[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, \"FULL\"]",
             "[\"conv2d_layer\", 1, 16, 14, 14, 32, 3, 3, 1, \"FULL\"]", "an unknown padding word is left alone");
    canon_is("", "", "the empty key");
}

/* ------------------------------------------------------------ samples */

static void no_samples(const tlp_dataset *ds, const tlp_train_opts *o, const char *what)
{
    tlp_error e = {0};
    tlp_samples *s = tlp_samples_build(ds, o, &e);
    char buf[256];
    snprintf(buf, sizeof buf, "%s: no samples", what);
    if (!ok(s == NULL, buf)) printf("#   got %zu samples, %d heads\n", tlp_samples_count(s), tlp_samples_n_heads(s));
    snprintf(buf, sizeof buf, "%s: an error says why", what);
    if (!ok(e.status != TLP_OK && e.msg[0], buf)) printf("#   status %d msg \"%s\"\n", (int)e.status, e.msg);
    tlp_samples_free(s);
}

static void test_samples(void)
{
    tlp_error e = {0};
    const char *all[] = {""};
    tlp_dataset *ds = load(1, all, NULL);
    is_int(tlp_dataset_n_records(ds), HWA_RECORDS + HWB_RECORDS + CPU_RECORDS, "the fixtures load whole");
    tlp_train_opts o = opts(1, 32, 0);

    tlp_samples *s = tlp_samples_build(ds, &o, &e);
    if (ok(s != NULL, "gpu samples of the whole fixture directory")) {
        is_int(tlp_samples_count(s), GPU_SAMPLES, "one sample per (canonical task, schedule)");
        is_int(tlp_samples_n_heads(s), 2, "two gpu heads by default");
        is_str(tlp_samples_head(s, 0), "hw-a", "head 0 is the first gpu hardware met");
        is_str(tlp_samples_head(s, 1), "hw-b", "head 1 the second");
        ok(tlp_samples_head(s, 2) == NULL && tlp_samples_head(s, -1) == NULL, "no head past the last");
        is_int(tlp_samples_labelled(s, 0), HWA_RECORDS, "hw-a labels: one per hw-a record");
        is_int(tlp_samples_labelled(s, 1), HWB_RECORDS, "hw-b labels: one per hw-b record");
        is_int(tlp_samples_labelled(s, 2), 0, "no labels for a head that is not there");
        is_int(tlp_samples_multi(s), GPU_MULTI, "same schedules on both hardware (SAME and padding 1 meet)");
    } else
        printf("# %s\n", e.msg);
    tlp_samples_free(s);

    /* heads named explicitly, in the other order */
    o.n_heads = 2;
    snprintf(o.heads[0], TLP_HEAD_NAME, "hw-b");
    snprintf(o.heads[1], TLP_HEAD_NAME, "hw-a");
    s = tlp_samples_build(ds, &o, &e);
    if (ok(s != NULL, "heads named explicitly")) {
        is_int(tlp_samples_count(s), GPU_SAMPLES, "the same samples");
        is_str(tlp_samples_head(s, 0), "hw-b", "in the order asked: hw-b first");
        is_int(tlp_samples_labelled(s, 0), HWB_RECORDS, "head 0 has the hw-b labels");
        is_int(tlp_samples_labelled(s, 1), HWA_RECORDS, "head 1 the hw-a labels");
        is_int(tlp_samples_multi(s), GPU_MULTI, "and the same multi-label samples");
    }
    tlp_samples_free(s);

    /* one head only: TLP, no MTL */
    o.n_heads = 1;
    snprintf(o.heads[0], TLP_HEAD_NAME, "hw-a");
    s = tlp_samples_build(ds, &o, &e);
    if (ok(s != NULL, "one head")) {
        is_int(tlp_samples_count(s), HWA_RECORDS, "one sample per hw-a record (S0 of op256 twice: two samples)");
        is_int(tlp_samples_multi(s), 0, "no sample has two labels");
        is_int(tlp_samples_labelled(s, 0), HWA_RECORDS, "every sample labelled");
    }
    tlp_samples_free(s);

    /* the cpu mode */
    tlp_train_opts oc = opts(1, 32, 0);
    oc.mode = TLP_MODE_CPU;
    s = tlp_samples_build(ds, &oc, &e);
    if (ok(s != NULL, "cpu samples")) {
        is_int(tlp_samples_count(s), CPU_RECORDS, "one cpu sample per cpu record");
        is_int(tlp_samples_n_heads(s), 1, "one cpu head");
        is_str(tlp_samples_head(s, 0), "cpu-c", "named after its directory");
        is_int(tlp_samples_multi(s), 0, "no multi-label cpu sample");
    }
    tlp_samples_free(s);

    /* unknown hardware */
    o.n_heads = 1;
    snprintf(o.heads[0], TLP_HEAD_NAME, "nope");
    no_samples(ds, &o, "an unknown hardware");
    o.n_heads = 2;
    snprintf(o.heads[0], TLP_HEAD_NAME, "hw-a");
    snprintf(o.heads[1], TLP_HEAD_NAME, "nope");
    no_samples(ds, &o, "a known and an unknown hardware");
    o.n_heads = 1;
    snprintf(o.heads[0], TLP_HEAD_NAME, "cpu-c");
    no_samples(ds, &o, "a cpu hardware as a gpu head");
    /* a head named twice would leave one of the two without labels, and
     * tlp_model_head would find the untrained one */
    o.n_heads = 2;
    snprintf(o.heads[0], TLP_HEAD_NAME, "hw-a");
    snprintf(o.heads[1], TLP_HEAD_NAME, "hw-a");
    no_samples(ds, &o, "a head named twice");
    /* more heads than a model can have */
    o.n_heads = TLP_MAX_HEADS + 1;
    for (int h = 0; h < TLP_MAX_HEADS; h++) snprintf(o.heads[h], TLP_HEAD_NAME, "%s", h % 2 ? "hw-b" : "hw-a");
    no_samples(ds, &o, "more than TLP_MAX_HEADS heads");
    tlp_dataset_free(ds);

    /* a mode with no records */
    const char *a[] = {"hw-a"};
    ds = load(1, a, NULL);
    no_samples(ds, &oc, "cpu samples of gpu-only data");
    tlp_dataset_free(ds);

    /* heads in dataset order: hw-b loaded first; NAME=PATH names */
    const char *ba[] = {"hw-b", "hw-a"};
    ds = load(2, ba, NULL);
    o = opts(1, 32, 0);
    s = tlp_samples_build(ds, &o, &e);
    if (ok(s != NULL, "hw-b loaded before hw-a")) {
        is_str(tlp_samples_head(s, 0), "hw-b", "default heads follow the dataset: hw-b first");
        is_str(tlp_samples_head(s, 1), "hw-a", "then hw-a");
        is_int(tlp_samples_labelled(s, 0), HWB_RECORDS, "head 0 labels");
        is_int(tlp_samples_count(s), GPU_SAMPLES, "same sample count whatever the load order");
        is_int(tlp_samples_multi(s), GPU_MULTI, "same multi-label count whatever the load order");
    }
    tlp_samples_free(s);
    tlp_dataset_free(ds);
    const char *names[] = {"K80", "T4"};
    ds = load(2, ba, names);
    s = tlp_samples_build(ds, &o, &e);
    if (ok(s != NULL, "hardware renamed")) {
        is_str(tlp_samples_head(s, 0), "K80", "heads take the NAME of NAME=PATH");
        is_int(tlp_samples_multi(s), GPU_MULTI, "and the renamed hardware still meet");
    }
    tlp_samples_free(s);
    tlp_dataset_free(ds);
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
    double stop_s; /* cancel to the last snapshot */
    int cancelled_at_hist; /* n_hist when cancel was asked, -1 if never */
} watch;

static void insane(watch *w, const char *fmt, const tlp_progress *p)
{
    if (!w->bad++)
        snprintf(w->why, sizeof w->why, "%.120s (state %d epoch %d/%d step %ld/%ld loss %g n_hist %d)", fmt, (int)p->state,
                 p->epoch, p->epochs, p->step, p->steps_per_epoch, p->loss, p->n_hist);
}

static void check_snapshot(watch *w, const tlp_progress *p, int prev_epoch)
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

/* Poll the job's fd until it stops, checking every snapshot. */
static void watch_job(tlp_job *j, watch *w, int first_epoch, int epochs, int cancel_when)
{
    memset(w, 0, sizeof *w);
    w->first_epoch = first_epoch;
    w->epochs = epochs;
    w->cancelled_at_hist = -1;
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
            if (w->cancelled_at_hist >= 0) w->stop_s = now_s() - t_cancel;
            break;
        }
        if (w->cancelled_at_hist < 0 && ((cancel_when == CANCEL_FIRST_REPORT) ||
                                         (cancel_when == CANCEL_FIRST_EPOCH && p.n_hist >= 1))) {
            tlp_job_cancel(j);
            t_cancel = now_s();
            w->cancelled_at_hist = p.n_hist;
        }
    }
}

static void report_watch(const watch *w, const char *what)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s: the job fd became readable", what);
    ok(w->readable && !w->timed_out, buf);
    snprintf(buf, sizeof buf, "%s: every progress snapshot is sane", what);
    if (!ok(w->snapshots > 0 && w->bad == 0, buf)) printf("#   %d of %d insane: %s\n", w->bad, w->snapshots, w->why);
}

/* Train to the end without looking inside; returns the best model. */
static tlp_model *train_quiet(const tlp_samples *s, const tlp_train_opts *o, tlp_train_meta *meta, tlp_status *st)
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

/* ------------------------------------------------------------ a real training */

/* Mean pairwise accuracy over the gpu tasks of ds, each scored by the head of
 * its own hardware. */
static double mean_pair_acc(tlp_model *m, const tlp_dataset *ds, int *n_tasks)
{
    size_t n = tlp_dataset_n_records(ds);
    const tlp_model_config *c = tlp_model_config_of(m);
    float *sc[TLP_MAX_HEADS] = {0};
    double sum = 0;
    *n_tasks = 0;
    for (int h = 0; h < c->n_heads; h++) {
        sc[h] = malloc(sizeof(float) * n);
        tlp_error e = {0};
        if (tlp_predict(m, ds, h, sc[h], NULL, NULL, &e) != TLP_OK) printf("# predict: %s\n", e.msg);
    }
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        int h = tlp_model_head(m, tk->hardware);
        if (tk->mode != c->mode || h < 0) continue;
        double *cost = malloc(sizeof(double) * tk->n_records);
        float *score = malloc(sizeof(float) * tk->n_records);
        for (uint32_t k = 0; k < tk->n_records; k++) {
            cost[k] = tlp_dataset_rec(ds, tk->records[k])->cost;
            score[k] = sc[h][tk->records[k]];
        }
        int ks[2] = {1, 5};
        tlp_task_eval ev;
        if (tlp_eval_task(cost, NULL, score, (int)tk->n_records, ks, 2, &ev) == TLP_OK && isfinite(ev.pair_acc)) {
            sum += ev.pair_acc;
            ++*n_tasks;
            printf("#   %s on %s: pair-acc %.3f tau %.3f top-1 %.3f\n", tk->summary, tk->hardware, ev.pair_acc, ev.tau,
                   ev.best / ev.lat_k[0]);
        }
        free(cost), free(score);
    }
    for (int h = 0; h < c->n_heads; h++) free(sc[h]);
    return *n_tasks ? sum / *n_tasks : NAN;
}

static tlp_model *trained; /* the model of test_training, for test_predict */

static void test_training(const tlp_dataset *ds, const tlp_samples *s)
{
    const int EPOCHS = 4, B = 32;
    tlp_train_opts o = opts(EPOCHS, B, 1);
    tlp_error e = {0};
    double t0 = now_s();
    tlp_job *j = tlp_train_start(s, &o, NULL, NULL, NULL, &e);
    if (!ok(j != NULL, "a training starts")) {
        printf("# %s\n", e.msg);
        return;
    }
    watch w;
    watch_job(j, &w, 1, EPOCHS, CANCEL_NEVER);
    report_watch(&w, "training");
    is_int(w.last.state, TLP_JOB_DONE, "the last progress says done");
    is_int(w.last.n_hist, EPOCHS, "one history entry per epoch");
    /* every split of the 5 canonical tasks leaves 161..171 training samples */
    is_int(w.last.steps_per_epoch, 6, "steps per epoch: ceil(training samples / 32)");
    is_int(w.last.step, 6, "the last epoch ran all its steps");
    int best_ok = w.last.best_epoch >= 1 && w.last.best_epoch <= EPOCHS &&
                  fabs(w.last.best_val - w.last.hist_val[w.last.best_epoch - 1]) <= 1e-6 * fabs(w.last.best_val) + 1e-6;
    for (int i = 0; i < w.last.n_hist; i++) best_ok &= w.last.best_val <= w.last.hist_val[i] + 1e-5 * fabs(w.last.hist_val[i]);
    ok(best_ok, "best_val is the smallest validation loss, at best_epoch");
    tlp_model *best = NULL;
    tlp_train_meta meta;
    memset(&meta, 0xab, sizeof meta);
    tlp_train_state ts;
    tlp_status st = tlp_job_finish(j, &best, &meta, &ts, &e);
    printf("# training: %d epochs in %.2f s\n", EPOCHS, now_s() - t0);
    is_int(st, TLP_OK, "tlp_job_finish says ok");
    ok(best != NULL, "a best model is handed over");
    is_int(meta.epochs_done, EPOCHS, "meta: epochs_done");
    is_int(meta.epochs, EPOCHS, "meta: epochs");
    is_int(meta.step, (uint64_t)EPOCHS * 6, "meta: step = Adam's t = every step of every epoch");
    ok(isfinite(meta.best_val), "meta: best_val finite");
    is_dbl(meta.best_val, w.last.best_val, 0, "meta: best_val is the progress's");
    is_str(meta.loss, "rank", "meta: loss");
    is_str(meta.pairs, "batch", "meta: pairs");
    is_str(meta.split, "task", "meta: split");
    is_int(meta.batch, B, "meta: batch");
    is_int(meta.seed, 1, "meta: seed");
    is_dbl(meta.lr, 7e-4f, 0, "meta: lr");
    ok(ts.m && ts.v, "Adam moments handed over");
    ok(!ts.ring && !ts.n_ring, "no averaging: no ring");
    if (best) {
        const tlp_model_config *c = tlp_model_config_of(best);
        ok(c->mode == TLP_MODE_GPU && c->n_heads == 2 && !strcmp(c->heads[0], "hw-a") && !strcmp(c->heads[1], "hw-b"),
           "the model has the samples' heads");
        int nt = 0;
        double acc = mean_pair_acc(best, ds, &nt);
        is_int(nt, GPU_TASKS, "every gpu task scored");
        ok(acc > 0.6, "the trained model ranks the schedules far better than chance");
        printf("#   mean pair accuracy %.3f\n", acc);
        size_t np = tlp_model_n_params(best), bad = 0;
        for (size_t i = 0; i < np; i++) bad += !isfinite(tlp_model_params_const(best)[i]);
        is_int(bad, 0, "every parameter finite");
    }
    tlp_train_state_free(&ts);
    trained = best;
}

static void test_determinism(const tlp_samples *s)
{
    tlp_train_opts o = opts(2, 32, 7);
    tlp_train_meta ma, mb, mc;
    tlp_status sa, sb, sc;
    tlp_model *a = train_quiet(s, &o, &ma, &sa);
    tlp_model *b = train_quiet(s, &o, &mb, &sb);
    o.seed = 8;
    tlp_model *c = train_quiet(s, &o, &mc, &sc);
    if (ok(a && b && c && sa == TLP_OK && sb == TLP_OK && sc == TLP_OK, "three short trainings")) {
        size_t n = tlp_model_n_params(a);
        ok(memcmp(tlp_model_params_const(a), tlp_model_params_const(b), n * sizeof(float)) == 0,
           "same seed, one thread: bit-identical parameters");
        ok(ma.best_val == mb.best_val && ma.step == mb.step, "and identical meta");
        ok(memcmp(tlp_model_params_const(a), tlp_model_params_const(c), n * sizeof(float)) != 0,
           "another seed: other parameters");
    }
    tlp_model_free(a), tlp_model_free(b), tlp_model_free(c);
}

static void test_cancel(const tlp_samples *s)
{
    tlp_model_config cfg = {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_RAW};
    tlp_error e = {0};
    tlp_model *init = tlp_model_new(&cfg, 3, &e);
    if (!ok(init != NULL, "a model to start from")) return;
    size_t n = tlp_model_n_params(init);
    float *before = malloc(n * sizeof(float));
    memcpy(before, tlp_model_params_const(init), n * sizeof(float));

    /* right after the first report: no epoch has ended (batch 2: ~60 steps an epoch) */
    tlp_train_opts o = opts(1000, 2, 5);
    tlp_job *j = tlp_train_start(s, &o, init, NULL, NULL, &e);
    if (ok(j != NULL, "a long training starts from the caller's model")) {
        watch w;
        watch_job(j, &w, 1, 1000, CANCEL_FIRST_REPORT);
        report_watch(&w, "cancelled training");
        is_int(w.last.state, TLP_JOB_CANCELLED, "the last progress says cancelled");
        ok(w.stop_s < 2.0, "it stops promptly");
        printf("#   stopped %.3f s after the cancel, %d epochs done\n", w.stop_s, w.last.n_hist);
        tlp_model *best = (tlp_model *)&best; /* not NULL: must be overwritten */
        tlp_train_meta meta;
        double t0 = now_s();
        tlp_status st = tlp_job_finish(j, &best, &meta, NULL, &e);
        ok(now_s() - t0 < 2.0, "tlp_job_finish returns promptly");
        is_int(st, TLP_OK, "a cancel is not a failure");
        if (w.last.n_hist == 0) {
            ok(best == NULL, "no epoch ended: no model");
            is_int(meta.epochs_done, 0, "meta: no epoch done");
        } else {
            ok(best != NULL, "an epoch ended: the best so far");
            is_int(meta.epochs_done, w.last.n_hist, "meta: the epochs done");
            tlp_model_free(best);
        }
    }
    ok(memcmp(before, tlp_model_params_const(init), n * sizeof(float)) == 0, "the caller's model is untouched");

    /* after the first epoch: the best so far comes back */
    o = opts(1000, 32, 5);
    j = tlp_train_start(s, &o, init, NULL, NULL, &e);
    if (ok(j != NULL, "another long training")) {
        watch w;
        watch_job(j, &w, 1, 1000, CANCEL_FIRST_EPOCH);
        report_watch(&w, "cancelled after an epoch");
        is_int(w.last.state, TLP_JOB_CANCELLED, "the last progress says cancelled");
        ok(w.stop_s < 2.0, "it stops promptly");
        tlp_model *best = NULL;
        tlp_train_meta meta;
        tlp_status st = tlp_job_finish(j, &best, &meta, NULL, &e);
        is_int(st, TLP_OK, "a cancel is not a failure");
        ok(best != NULL, "an epoch ended: the best model so far is handed over");
        ok(meta.epochs_done >= 1 && meta.epochs_done == w.last.n_hist, "meta: the epochs that ended");
        if (best)
            ok(memcmp(tlp_model_params_const(best), before, n * sizeof(float)) != 0, "and it is trained, not the start");
        tlp_model_free(best);
    }
    ok(memcmp(before, tlp_model_params_const(init), n * sizeof(float)) == 0, "the caller's model is still untouched");
    free(before);
    tlp_model_free(init);
}

static void test_resume(const tlp_samples *s, const char *dir)
{
    /* hw-a only: 4 canonical tasks, one held out: 120 or 121 training samples, 4 steps of 32 */
    const int SPE = 4;
    tlp_train_opts o = opts(2, 32, 11);
    tlp_error e = {0};
    tlp_job *j = tlp_train_start(s, &o, NULL, NULL, NULL, &e);
    if (!ok(j != NULL, "resume: first part starts")) return;
    tlp_model *m = NULL;
    tlp_train_meta meta;
    tlp_train_state ts;
    is_int(tlp_job_finish(j, &m, &meta, &ts, &e), TLP_OK, "resume: first part trains");
    if (!m || !ts.m || !ts.v) {
        ok(0, "resume: a model and moments after 2 epochs");
        tlp_model_free(m), tlp_train_state_free(&ts);
        return;
    }
    is_int(meta.epochs_done, 2, "first part: 2 epochs");
    is_int(meta.step, 2 * SPE, "first part: 2 epochs of steps");
    char path[1100];
    snprintf(path, sizeof path, "%s/resume.tlpx", dir);
    is_int(tlp_checkpoint_save(path, m, &meta, &ts, &e), TLP_OK, "checkpoint with the Adam moments");
    tlp_train_meta lm;
    tlp_train_state ls;
    tlp_model *l = tlp_checkpoint_load(path, &lm, &ls, &e);
    if (!ok(l && ls.m && ls.v, "checkpoint loads with its moments")) {
        printf("# %s: %s\n", e.file, e.msg);
        tlp_model_free(m), tlp_model_free(l), tlp_train_state_free(&ts), tlp_train_state_free(&ls);
        return;
    }
    size_t n = tlp_model_n_params(l);
    ok(memcmp(tlp_model_params_const(l), tlp_model_params_const(m), n * sizeof(float)) == 0 &&
           memcmp(ls.m, ts.m, n * sizeof(float)) == 0 && memcmp(ls.v, ts.v, n * sizeof(float)) == 0,
       "the loaded weights and moments are the saved ones");
    is_int(lm.epochs_done, 2, "loaded meta: 2 epochs done");

    o.epochs = 4;
    j = tlp_train_start(s, &o, l, &lm, &ls, &e);
    if (ok(j != NULL, "resume to 4 epochs starts")) {
        watch w;
        watch_job(j, &w, 3, 4, CANCEL_NEVER);
        report_watch(&w, "resumed training");
        is_int(w.last.state, TLP_JOB_DONE, "resumed: done");
        is_int(w.last.n_hist, 2, "resumed: two more epochs in the history");
        tlp_model *r = NULL;
        tlp_train_meta rm;
        is_int(tlp_job_finish(j, &r, &rm, NULL, &e), TLP_OK, "resumed training finishes");
        ok(r != NULL, "resumed: a model");
        is_int(rm.epochs_done, 4, "resumed: epochs_done 4");
        is_int(rm.step, 4 * SPE, "resumed: step counts all 4 epochs");
        ok(isfinite(rm.best_val) && rm.best_val <= lm.best_val, "resumed: best_val no worse than before");
        tlp_model_free(r);
    }
    ok(memcmp(tlp_model_params_const(l), tlp_model_params_const(m), n * sizeof(float)) == 0,
       "the loaded model passed as init is untouched");

    /* resuming a training that already reached its epochs: nothing new, or a
     * meta that still adds up (Adam's step = the steps of the epochs done) */
    tlp_train_meta done4 = lm;
    done4.epochs_done = 4;
    done4.step = 4 * SPE;
    o.epochs = 4;
    j = tlp_train_start(s, &o, l, &done4, &ls, &e);
    if (j) {
        tlp_model *r = NULL;
        tlp_train_meta rm;
        tlp_job_finish(j, &r, &rm, NULL, &e);
        if (!ok(rm.epochs_done >= 4 && rm.step == (uint64_t)rm.epochs_done * SPE,
                "resume at epochs_done == epochs: the meta still adds up"))
            printf("#   epochs_done %d, step %llu (want %d steps an epoch)\n", rm.epochs_done,
                   (unsigned long long)rm.step, SPE);
        tlp_model_free(r);
    } else
        ok(1, "resume at epochs_done == epochs: refused");
    unlink(path);
    tlp_model_free(m), tlp_model_free(l), tlp_train_state_free(&ts), tlp_train_state_free(&ls);
}

/* Train o on s: the kept model, its meta and state (NULL on failure). */
static tlp_model *train_to_end(const tlp_samples *s, const tlp_train_opts *o, const tlp_model *init,
                               const tlp_train_meta *rm, const tlp_train_state *rs, tlp_train_meta *meta,
                               tlp_train_state *st)
{
    tlp_error e = {0};
    tlp_model *m = NULL;
    tlp_job *j = tlp_train_start(s, o, init, rm, rs, &e);
    if (!j || tlp_job_finish(j, &m, meta, st, &e) != TLP_OK) printf("# %s\n", e.msg);
    return m;
}

/* With the last epochs' weights averaged, the saved weights are a mean:
 * a resumed training goes on from the last epoch's own weights and ring,
 * so it ends bit for bit where the uninterrupted run ends (through the
 * file, as `tlpx train --resume` does). */
static void test_resume_average(const tlp_samples *s, const char *dir)
{
    tlp_train_opts o = opts(5, 32, 17);
    o.average = 3;
    o.select = TLP_SELECT_LAST;
    tlp_train_meta um, hm, lm, rm, nm;
    tlp_train_state us = {0}, hs = {0}, ls = {0}, rs = {0}, ns = {0};
    tlp_model *u = train_to_end(s, &o, NULL, NULL, NULL, &um, &us);
    o.epochs = 2;
    tlp_model *h = train_to_end(s, &o, NULL, NULL, NULL, &hm, &hs);
    char path[1100];
    snprintf(path, sizeof path, "%s/avg.tlpx", dir);
    tlp_error e = {0};
    tlp_model *l = NULL, *r = NULL, *nr = NULL;
    if (!ok(u && h, "average 3: 5 epochs, and 2 of them, train")) goto out;
    ok(hs.ring && hs.n_ring == 2, "after 2 epochs: a ring of 2 epochs' weights");
    is_int(tlp_checkpoint_save(path, h, &hm, &hs, &e), TLP_OK, "saved with its ring");
    l = tlp_checkpoint_load(path, &lm, &ls, &e);
    if (!ok(l && ls.ring && ls.n_ring == 2, "loads with its ring")) goto out;
    o.epochs = 5;
    r = train_to_end(s, &o, l, &lm, &ls, &rm, &rs);
    size_t n = tlp_model_n_params(u);
    ok(r && !memcmp(tlp_model_params_const(r), tlp_model_params_const(u), n * sizeof(float)),
       "resumed to 5 epochs: the weights of the uninterrupted run, bit for bit");
    ok(rs.n_ring == 5 && us.n_ring == 5 && !memcmp(rs.ring, us.ring, 3 * n * sizeof(float)),
       "and the same ring to go on from");
    /* without the ring, training would go on from the mean: another model
     * (what a file of before the ring gives; it still resumes) */
    tlp_train_state moments_only = {ls.m, ls.v, NULL, 0};
    nr = train_to_end(s, &o, l, &lm, &moments_only, &nm, &ns);
    ok(nr && memcmp(tlp_model_params_const(nr), tlp_model_params_const(u), n * sizeof(float)),
       "resumed without the ring: it trains, from the mean, to other weights");
out:
    unlink(path);
    tlp_model_free(u), tlp_model_free(h), tlp_model_free(l), tlp_model_free(r), tlp_model_free(nr);
    tlp_train_state_free(&us), tlp_train_state_free(&hs), tlp_train_state_free(&ls), tlp_train_state_free(&rs),
        tlp_train_state_free(&ns);
}

static void test_loss_options(const tlp_samples *s)
{
    struct {
        const char *what;
        tlp_loss_kind loss;
        tlp_pairs_kind pairs;
        tlp_split_kind split;
        const char *l, *p, *sp;
    } cases[] = {
        {"--loss mse", TLP_LOSS_MSE, TLP_PAIRS_BATCH, TLP_SPLIT_TASK, "mse", "batch", "task"},
        {"--pairs task", TLP_LOSS_RANK, TLP_PAIRS_TASK, TLP_SPLIT_TASK, "rank", "task", "task"},
        {"--split record", TLP_LOSS_RANK, TLP_PAIRS_BATCH, TLP_SPLIT_RECORD, "rank", "batch", "record"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlp_train_opts o = opts(1, 32, 2);
        o.loss = cases[i].loss;
        o.pairs = cases[i].pairs;
        o.split = cases[i].split;
        tlp_error e = {0};
        tlp_job *j = tlp_train_start(s, &o, NULL, NULL, NULL, &e);
        char buf[128];
        snprintf(buf, sizeof buf, "%s: starts", cases[i].what);
        if (!ok(j != NULL, buf)) {
            printf("# %s\n", e.msg);
            continue;
        }
        watch w;
        watch_job(j, &w, 1, 1, CANCEL_NEVER);
        report_watch(&w, cases[i].what);
        tlp_model *m = NULL;
        tlp_train_meta meta;
        tlp_status st = tlp_job_finish(j, &m, &meta, NULL, &e);
        snprintf(buf, sizeof buf, "%s: trains without error", cases[i].what);
        if (!ok(st == TLP_OK && m && w.last.state == TLP_JOB_DONE, buf)) printf("# %s\n", e.msg);
        snprintf(buf, sizeof buf, "%s: recorded in the meta", cases[i].what);
        ok(!strcmp(meta.loss, cases[i].l) && !strcmp(meta.pairs, cases[i].p) && !strcmp(meta.split, cases[i].sp), buf);
        if (cases[i].split == TLP_SPLIT_RECORD) /* 161 samples, 16 held out: 145 = 5 steps */
            is_int(w.last.steps_per_epoch, 5, "--split record holds out 10% of the samples");
        tlp_model_free(m);
    }
}

typedef struct {
    int calls, backwards;
    double last;
} prog_ctx;

static int on_progress(void *ctx, double frac)
{
    prog_ctx *c = ctx;
    c->backwards += frac < c->last || frac <= 0 || frac > 1;
    c->last = frac;
    c->calls++;
    return 0; /* go on */
}

static void test_predict(void)
{
    const char *all[] = {""};
    tlp_dataset *ds = load(1, all, NULL);
    size_t n = tlp_dataset_n_records(ds);
    float *sc = malloc(sizeof(float) * n), *sc2 = malloc(sizeof(float) * n);
    tlp_error e = {0};
    if (ok(trained != NULL, "predict: the trained model")) {
        is_int(tlp_predict(trained, ds, 0, sc, NULL, NULL, &e), TLP_OK, "predict over gpu and cpu records");
        size_t nan_cpu = 0, fin_gpu = 0, n_cpu = 0;
        for (size_t i = 0; i < n; i++) {
            int cpu = tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode == TLP_MODE_CPU;
            n_cpu += cpu;
            if (cpu) nan_cpu += isnan(sc[i]);
            else fin_gpu += isfinite(sc[i]) != 0;
        }
        is_int(n_cpu, CPU_RECORDS, "the cpu records are there");
        is_int(nan_cpu, CPU_RECORDS, "records of the other mode score NaN");
        is_int(fin_gpu, n - CPU_RECORDS, "records of the model's mode score a number");
        tlp_predict(trained, ds, 1, sc2, NULL, NULL, &e);
        ok(memcmp(sc, sc2, n * sizeof(float)) != 0, "head 1 scores differ from head 0");
        prog_ctx pc = {0, 0, 0};
        tlp_predict(trained, ds, 0, sc2, on_progress, &pc, &e);
        ok(memcmp(sc, sc2, n * sizeof(float)) == 0, "predict twice: the same scores");
        if (!ok(pc.calls >= 1 && pc.backwards == 0 && pc.last == 1.0, "progress: fractions in (0, 1], ending at 1"))
            printf("#   %d calls, %d out of order or out of (0, 1], last %.17g\n", pc.calls, pc.backwards, pc.last);
        /* both heads in one pass (the trunk once): each bit for bit its own */
        float *both = malloc(sizeof(float) * 2 * n), *bs[2] = {both, both + n};
        int order[2] = {1, 0}, bad[2] = {0, 2};
        tlp_predict(trained, ds, 1, sc2, NULL, NULL, &e);
        pc = (prog_ctx){0, 0, 0};
        is_int(tlp_predict_heads(trained, ds, order, 2, bs, on_progress, &pc, &e), TLP_OK, "predict heads 1 and 0 at once");
        ok(!memcmp(bs[0], sc2, n * sizeof(float)) && !memcmp(bs[1], sc, n * sizeof(float)),
           "heads at once: each head's scores bit for bit as predicted alone");
        ok(pc.calls >= 1 && pc.backwards == 0 && pc.last == 1.0, "heads at once: one progress from 0 to 1");
        is_int(tlp_predict_heads(trained, ds, bad, 2, bs, NULL, NULL, &e), TLP_ARG, "heads at once: no head 2");
        ok(strstr(e.msg, "no head 2") != NULL, "heads at once: the error names the head");
        is_int(tlp_predict_heads(trained, ds, order, 0, bs, NULL, NULL, &e), TLP_ARG, "heads at once: none asked");
        free(both);
        is_int(tlp_predict(trained, ds, 2, sc, NULL, NULL, &e), TLP_ARG, "no head 2");
        is_int(tlp_predict(trained, ds, -1, sc, NULL, NULL, &e), TLP_ARG, "no head -1");
    }
    free(sc), free(sc2);
    tlp_dataset_free(ds);

    /* more records than one inference chunk (512): the gpu data twice, under
     * other names; a record scores the same in either copy */
    const char *twice[] = {"hw-a", "hw-b", "hw-a", "hw-b"}, *names[] = {NULL, NULL, "A2", "B2"};
    ds = load(4, twice, names);
    n = tlp_dataset_n_records(ds);
    is_int(n, 2 * (HWA_RECORDS + HWB_RECORDS), "the gpu records twice");
    sc = malloc(sizeof(float) * n);
    if (trained && sc) {
        prog_ctx pc = {0, 0, 0};
        is_int(tlp_predict(trained, ds, 0, sc, on_progress, &pc, &e), TLP_OK, "predict over two chunks");
        size_t half = n / 2, same = 0;
        double worst = 0;
        for (size_t i = 0; i < half; i++) {
            double d = fabs((double)sc[i] - sc[i + half]) / (fabs(sc[i]) + 1e-3);
            if (!(d <= worst)) worst = d;
            same += d <= 1e-4;
        }
        if (!ok(same == half, "each record scores the same in both copies, across the chunk boundary"))
            printf("#   %zu of %zu differ; worst relative difference %g\n", half - same, half, worst);
        if (!ok(pc.calls >= 2 && pc.backwards == 0 && pc.last == 1.0, "two chunks: progress in (0, 1], ending at 1"))
            printf("#   %d calls, %d out of order or out of (0, 1], last %.17g\n", pc.calls, pc.backwards, pc.last);
    }
    free(sc);
    tlp_dataset_free(ds);
}

static void test_bad_settings(const tlp_samples *s2, const tlp_samples *s1)
{
    struct {
        const char *what;
        int epochs, batch;
        float lr;
        double val_frac;
        int threads;
    } bad[] = {
        {"epochs 0", 0, 32, 7e-4f, 0.1, 1},  {"batch 1", 1, 1, 7e-4f, 0.1, 1}, {"lr 0", 1, 32, 0, 0.1, 1},
        {"lr NaN", 1, 32, NAN, 0.1, 1},      {"val_frac 1", 1, 32, 7e-4f, 1.0, 1},
        {"threads 0", 1, 32, 7e-4f, 0.1, 0}, {"batch 0", 1, 0, 7e-4f, 0.1, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlp_train_opts o = opts(bad[i].epochs, bad[i].batch, 0);
        o.lr = bad[i].lr;
        o.val_frac = bad[i].val_frac;
        o.threads = bad[i].threads;
        tlp_error e = {0};
        tlp_job *j = tlp_train_start(s1, &o, NULL, NULL, NULL, &e);
        char buf[128];
        snprintf(buf, sizeof buf, "%s is refused with an error", bad[i].what);
        if (!ok(j == NULL && e.status == TLP_ARG && e.msg[0], buf) && j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    }
    struct {
        const char *what;
        tlp_model_config cfg;
        const tlp_samples *s;
    } wrong[] = {
        {"heads in another order", {TLP_MODE_GPU, 2, {"hw-b", "hw-a"}, TLP_ENCODE_RAW}, s2},
        {"one head for two", {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_RAW}, s2},
        {"two heads for one", {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_RAW}, s1},
        {"another hardware", {TLP_MODE_GPU, 1, {"hw-b"}, TLP_ENCODE_RAW}, s1},
        {"a cpu model", {TLP_MODE_CPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_RAW}, s2},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        tlp_error e = {0};
        tlp_model *m = tlp_model_new(&wrong[i].cfg, 1, &e);
        tlp_train_opts o = opts(1, 32, 0);
        tlp_job *j = m ? tlp_train_start(wrong[i].s, &o, m, NULL, NULL, &e) : NULL;
        char buf[128];
        snprintf(buf, sizeof buf, "a model with %s is refused with an error", wrong[i].what);
        if (!ok(m && j == NULL && e.status == TLP_ARG && e.msg[0], buf) && j)
            tlp_job_finish(j, NULL, NULL, NULL, NULL);
        tlp_model_free(m);
    }
}

/* The same seed gives the same bits on 1, 2 or 3 threads: the batch is cut
 * into fixed shards whatever the thread count (batch 160: 3 shards). */
static void test_threads(const tlp_samples *s)
{
    tlp_model *m[3] = {NULL};
    tlp_train_meta meta[3];
    int good = 1;
    for (int t = 0; t < 3; t++) {
        tlp_train_opts o = opts(2, 160, 11);
        o.threads = t + 1;
        o.encode[0] = TLP_ENCODE_LOG;
        tlp_status st;
        m[t] = train_quiet(s, &o, &meta[t], &st);
        good &= m[t] != NULL && st == TLP_OK;
    }
    tlp_set_threads(1);
    if (ok(good, "trainings on 1, 2 and 3 threads")) {
        size_t n = tlp_model_n_params(m[0]);
        ok(!memcmp(tlp_model_params_const(m[0]), tlp_model_params_const(m[1]), n * sizeof(float)),
           "1 and 2 threads: bit-identical parameters (two heads)");
        ok(!memcmp(tlp_model_params_const(m[0]), tlp_model_params_const(m[2]), n * sizeof(float)),
           "1 and 3 threads: bit-identical parameters");
        ok(meta[0].best_val == meta[1].best_val && meta[0].best_val == meta[2].best_val,
           "and the same validation figures");
    }
    for (int t = 0; t < 3; t++) tlp_model_free(m[t]);
}

/* A log-encoded model is the raw model fed sign(x) log2(1 + |x|): forward
 * and gradients, bit for bit. */
static void test_encoding(const tlp_dataset *ds)
{
    tlp_model_config c = {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_LOG};
    tlp_error e = {0};
    tlp_model *lg = tlp_model_new(&c, 5, &e);
    c.encode = TLP_ENCODE_RAW;
    tlp_model *rw = tlp_model_new(&c, 6, &e);
    if (!ok(lg && rw, "a log and a raw model")) return;
    size_t np = tlp_model_n_params(lg);
    memcpy(tlp_model_params(rw), tlp_model_params_const(lg), np * sizeof(float));
    enum { B = 70 };
    int L = 40, F = 20;
    float *x = malloc(sizeof(float) * B * 40 * 20), *xe = malloc(sizeof(float) * B * 40 * 20);
    float ol[2 * B], orw[2 * B], dout[2 * B];
    double big = 0;
    for (int b = 0; b < B; b++) tlp_dataset_features(ds, (size_t)b * 4, x + (size_t)b * L * F);
    for (int i = 0; i < B * L * F; i++) {
        xe[i] = copysignf(log2f(1.0f + fabsf(x[i])), x[i]);
        big = fmax(big, fabs(x[i]));
    }
    printf("#   largest token value %.0f\n", big);
    for (int i = 0; i < 2 * B; i++) dout[i] = (float)(i % 7) - 3.0f;
    tlp_model_reserve(lg, B, 1, NULL);
    tlp_model_reserve(rw, B, 1, NULL);
    tlp_model_forward(lg, x, B, -1, ol);
    tlp_model_forward(rw, xe, B, -1, orw);
    ok(!memcmp(ol, orw, sizeof ol), "forward: log model on x = raw model on log2(1+|x|)");
    tlp_model_zero_grads(lg), tlp_model_zero_grads(rw);
    tlp_model_backward(lg, dout);
    tlp_model_backward(rw, dout);
    ok(!memcmp(tlp_model_grads(lg), tlp_model_grads(rw), np * sizeof(float)), "backward: the same gradients");
    float one[B];
    tlp_model_forward(lg, x, B, 1, one);
    int close = 1;
    for (int b = 0; b < B; b++) close &= fabsf(one[b] - ol[B + b]) <= 1e-4f * (1 + fabsf(ol[B + b]));
    ok(close, "inference on one head agrees with the training forward");
    is_str(tlp_encode_name(TLP_ENCODE_LOG), "log", "encode name log");
    is_int(tlp_encode_of("raw"), TLP_ENCODE_RAW, "encode of raw");
    is_int(tlp_encode_of("ln"), -1, "encode of an unknown name");
    c.encode = (tlp_encode)7;
    ok(tlp_model_new(&c, 1, &e) == NULL && e.status == TLP_ARG, "an unknown encoding is refused");
    free(x), free(xe);
    tlp_model_free(lg), tlp_model_free(rw);
}

/* Recipe tlpx leaves the batch and the averaging to the mode: batches of
 * 256 and the mean of the last 3 epochs on GPU records (these). */
static void test_batch_by_mode(const tlp_samples *s)
{
    tlp_train_opts o;
    tlp_train_recipe(&o, TLP_MODE_GPU, "tlpx");
    is_int(o.batch, TLP_BY_MODE, "recipe tlpx: the batch by the mode");
    is_int(o.average, TLP_BY_MODE, "recipe tlpx: the averaging by the mode");
    o.epochs = 1;
    o.threads = 2;
    tlp_error e = {0};
    tlp_job *j = tlp_train_start(s, &o, NULL, NULL, NULL, &e);
    if (!ok(j != NULL, "a training of the batch by the mode starts")) {
        printf("# %s\n", e.msg);
        return;
    }
    watch w;
    watch_job(j, &w, 1, 1, CANCEL_NEVER);
    tlp_model *best = NULL;
    tlp_train_meta meta;
    tlp_train_state ts;
    is_int(tlp_job_finish(j, &best, &meta, &ts, &e), TLP_OK, "it ends");
    is_int(meta.batch, 256, "gpu records: batch 256, saved as such");
    is_int(meta.average, 3, "gpu records: the last 3 epochs averaged, saved as such");
    is_int(w.last.steps_per_epoch, (int)((tlp_samples_count(s) * 9 / 10 + 255) / 256),
           "about ceil(training samples / 256) steps");
    ok(ts.ring && ts.n_ring == 1, "after one epoch, a ring of one epoch");
    tlp_model_free(best);
    tlp_train_state_free(&ts);
}

static void test_recipes(void)
{
    tlp_train_opts d, r;
    tlp_train_defaults(&d, TLP_MODE_CPU);
    is_int(tlp_train_recipe(&r, TLP_MODE_CPU, "tlp"), TLP_OK, "recipe tlp");
    ok(!memcmp(&d, &r, sizeof d), "recipe tlp is TLP's defaults");
    is_int(d.epochs, 50, "tlp: 50 epochs");
    ok(d.n_nets == 1 && d.encode[0] == TLP_ENCODE_RAW, "tlp: one network of raw tokens");
    is_int(d.select, TLP_SELECT_LOSS, "tlp: the epoch of least validation loss");
    is_int(d.split, TLP_SPLIT_RECORD, "tlp: validation on 10% of the records");
    is_int(tlp_train_recipe(&r, TLP_MODE_GPU, "tlpx"), TLP_OK, "recipe tlpx");
    is_str(r.recipe, "tlpx", "tlpx names itself");
    ok(r.n_nets == 2 && r.encode[0] == TLP_ENCODE_LOG && r.encode[1] == TLP_ENCODE_PROG,
       "tlpx: two networks, of log tokens and of prog tokens");
    tlp_train_opts g = r, c = r;
    tlp_train_resolve(&g, TLP_MODE_GPU);
    tlp_train_resolve(&c, TLP_MODE_CPU);
    ok(g.n_nets == 2 && g.batch == 256 && g.average == 3,
       "tlpx on gpu records: the two networks, batches of 256, the last 3 epochs averaged");
    ok(c.n_nets == 2 && c.batch == 1024 && c.average == 0,
       "tlpx on cpu records: the two networks, batches of 1024, no averaging");
    c.batch = 64, c.average = 5;
    tlp_train_resolve(&c, TLP_MODE_GPU);
    ok(c.batch == 64 && c.average == 5, "settings given stay as they are");
    is_int(tlp_train_recipe(&r, TLP_MODE_GPU, "nope"), TLP_ARG, "an unknown recipe");
    is_str(r.recipe, "tlp", "leaves TLP's settings");
    ok(!strcmp(TLP_RECIPES[0], "tlp") && !strcmp(TLP_RECIPES[1], "tlpx") && !TLP_RECIPES[2], "the recipe list");
    tlp_train_opts o = opts(1, 32, 0);
    is_dbl(tlp_train_lr(&o, 0, 100), 7e-4, 1e-9, "const: lr at step 0");
    is_dbl(tlp_train_lr(&o, 99, 100), 7e-4, 1e-9, "const: lr at the last step");
    o.sched = TLP_SCHED_COSINE;
    is_dbl(tlp_train_lr(&o, 0, 100), 7e-4, 1e-9, "cosine: lr at step 0");
    is_dbl(tlp_train_lr(&o, 50, 100), 3.5e-4, 1e-9, "cosine: half way, half the lr");
    is_dbl(tlp_train_lr(&o, 100, 100), 0, 1e-9, "cosine: 0 at the end");
    ok(tlp_train_lr(&o, 25, 100) > tlp_train_lr(&o, 26, 100), "cosine: decreasing");
}

/* select=last keeps the last epoch; average=2 keeps the mean of the last
 * two epochs' weights; select=topk keeps the best validation top-k. */
static void test_select_average(const tlp_samples *s)
{
    tlp_status st;
    tlp_train_meta m1, m2, ma, mt;
    tlp_train_opts o = opts(1, 32, 21);
    o.select = TLP_SELECT_LAST;
    tlp_model *w1 = train_quiet(s, &o, &m1, &st);
    o.epochs = 2;
    tlp_model *w2 = train_quiet(s, &o, &m2, &st);
    o.average = 2;
    tlp_model *av = train_quiet(s, &o, &ma, &st);
    o.average = 0;
    o.epochs = 4;
    o.select = TLP_SELECT_TOPK;
    tlp_model *tk = train_quiet(s, &o, &mt, &st);
    if (!ok(w1 && w2 && av && tk, "four short trainings")) goto out;
    is_int(m2.best_epoch, 2, "select last: the last epoch is kept");
    is_int(ma.best_epoch, 2, "average 2, select last: the last epoch's candidate");
    is_int(ma.average, 2, "meta: average");
    is_str(ma.select, "last", "meta: select");
    size_t n = tlp_model_n_params(w1), bad = 0, moved = 0;
    const float *p1 = tlp_model_params_const(w1), *p2 = tlp_model_params_const(w2), *pa = tlp_model_params_const(av);
    for (size_t i = 0; i < n; i++) {
        bad += pa[i] != (float)(((double)p1[i] + (double)p2[i]) / 2);
        moved += p1[i] != p2[i];
    }
    ok(moved > n / 2, "the second epoch moved the weights");
    is_int(bad, 0, "average 2: the kept weights are the mean of epochs 1 and 2, bit for bit");
    ok(mt.best_epoch >= 1 && mt.best_epoch <= 4, "select topk: an epoch is kept");
    is_str(mt.select, "topk", "meta: select topk");
    ok(mt.best_val < 0 && mt.best_val >= -2, "select topk: the figure is -(top-1 + top-5), in [-2, 0)");
out:
    tlp_model_free(w1), tlp_model_free(w2), tlp_model_free(av), tlp_model_free(tk);
}

static void test_folds(void)
{
    const char *k1 = "[\"conv2d_layer\", 128, 64, 56, 56, 64, 3, 3, 1, \"SAME\"]";
    const char *k2 = "[\"conv2d_layer\", 128, 64, 56, 56, 64, 3, 3, 1, 1]";
    is_int(tlp_workload_fold(k1, 5), tlp_workload_fold(k2, 5), "SAME and its padding number: the same fold");
    is_int(tlp_workload_fold(k1, 1), 0, "one fold: fold 0");
    is_int(tlp_workload_fold(NULL, 3), 0, "no key: fold 0");
    int count[3] = {0}, stable = 1;
    char key[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "[\"op%d\", %d, %d]", i % 17, i, i * 7);
        int f = tlp_workload_fold(key, 3);
        stable &= f == tlp_workload_fold(key, 3);
        if (f >= 0 && f < 3) count[f]++;
    }
    ok(stable, "the fold of a key never changes");
    is_int(count[0] + count[1] + count[2], 3000, "every fold in 0..2");
    ok(count[0] > 850 && count[1] > 850 && count[2] > 850, "3000 keys spread over 3 folds");
    printf("#   %d %d %d\n", count[0], count[1], count[2]);
    /* FNV-1a 64 of the key, mod N: a value any tool can recompute */
    is_int(tlp_workload_fold("a", 1000), (int)(0xaf63dc4c8601ec8cull % 1000), "FNV-1a-64(\"a\") mod 1000");
}

/* Fine-tuning: adapt keeps the trunk and the heads it knows, freeze-trunk
 * trains the heads only, budget keeps N labels of the target head. */
static void test_finetune(const tlp_dataset *ds2, const tlp_samples *s1)
{
    tlp_status st;
    tlp_train_meta meta;
    tlp_train_opts o = opts(1, 32, 31);
    tlp_model *a = train_quiet(s1, &o, &meta, &st); /* head hw-a */
    if (!ok(a != NULL, "a one-head model to start from")) return;
    tlp_model_config cfg = {TLP_MODE_GPU, 2, {"hw-b", "hw-a"}, TLP_ENCODE_RAW};
    tlp_error e = {0};
    tlp_model *m = tlp_model_adapt(a, &cfg, 5, &e);
    if (ok(m != NULL, "adapt to heads hw-b (new), hw-a (known)")) {
        size_t trunk = tlp_model_trunk_params(m), head = (tlp_model_n_params(m) - trunk) / 2;
        ok(trunk == tlp_model_trunk_params(a) && head == tlp_model_n_params(a) - trunk, "trunk and head sizes");
        const float *pm = tlp_model_params_const(m), *pa = tlp_model_params_const(a);
        ok(!memcmp(pm, pa, trunk * sizeof(float)), "the trunk is the model's");
        ok(!memcmp(pm + trunk + head, pa + trunk, head * sizeof(float)), "hw-a's decoder is the model's (now head 1)");
        ok(memcmp(pm + trunk, pa + trunk, head * sizeof(float)) != 0, "hw-b's decoder is new");
    }
    cfg.encode = TLP_ENCODE_LOG;
    tlp_model *bad = tlp_model_adapt(a, &cfg, 5, &e);
    ok(bad == NULL && e.status == TLP_ARG, "another encoding is refused");
    cfg.encode = TLP_ENCODE_RAW;
    tlp_model_free(bad);

    /* freeze the trunk: two epochs move the heads only */
    tlp_train_opts f = opts(2, 32, 9);
    f.n_heads = 2;
    snprintf(f.heads[0], TLP_HEAD_NAME, "hw-b");
    snprintf(f.heads[1], TLP_HEAD_NAME, "hw-a");
    f.freeze_trunk = 1;
    tlp_samples *s2 = tlp_samples_build(ds2, &f, &e);
    tlp_job *j = m && s2 ? tlp_train_start(s2, &f, m, NULL, NULL, &e) : NULL;
    tlp_model *t = NULL;
    if (ok(j != NULL, "a training from the adapted model starts")) tlp_job_finish(j, &t, NULL, NULL, &e);
    if (ok(t != NULL, "and ends")) {
        size_t trunk = tlp_model_trunk_params(t);
        ok(!memcmp(tlp_model_params_const(t), tlp_model_params_const(m), trunk * sizeof(float)),
           "freeze-trunk: the trunk has not moved, bit for bit");
        ok(memcmp(tlp_model_params_const(t) + trunk, tlp_model_params_const(m) + trunk,
                  (tlp_model_n_params(t) - trunk) * sizeof(float)) != 0,
           "and the heads have");
    }
    tlp_model_free(t);
    /* the budget: head 0 (hw-b) keeps 20 labels; samples without any label go */
    f.budget = 20;
    tlp_samples *sb = tlp_samples_build(ds2, &f, &e);
    if (ok(sb && s2, "samples with a budget")) {
        is_int(tlp_samples_labelled(sb, 0), 20, "budget: 20 labels on the target head");
        is_int(tlp_samples_labelled(sb, 1), tlp_samples_labelled(s2, 1), "budget: the other head keeps all of its own");
        ok(tlp_samples_count(sb) < tlp_samples_count(s2), "budget: samples with no label left are dropped");
        tlp_samples *sc = tlp_samples_build(ds2, &f, &e);
        ok(sc && tlp_samples_count(sc) == tlp_samples_count(sb), "budget: the same draw for the same seed");
        tlp_samples_free(sc);
    }
    tlp_samples_free(sb);
    tlp_samples_free(s2);
    tlp_model_free(m);
    tlp_model_free(a);
}

/* An ensemble: the mean over its networks of their scores standardised
 * within each task; saved and loaded with its members; not trained as one. */
static void test_ensemble(const tlp_dataset *ds, const tlp_samples *s1, const char *dir)
{
    tlp_model_config c = {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_LOG};
    tlp_error e = {0};
    tlp_model *a = tlp_model_new(&c, 3, &e);
    c.encode = TLP_ENCODE_PROG;
    tlp_model *b = tlp_model_new(&c, 4, &e), *b_alone = tlp_model_clone(b), *a_alone = tlp_model_clone(a);
    if (!ok(a && b && a_alone && b_alone, "two networks, log and prog")) return;
    size_t n = tlp_dataset_n_records(ds);
    float *sa = malloc(sizeof(float) * n), *sb = malloc(sizeof(float) * n), *se = malloc(sizeof(float) * n),
          *sl = malloc(sizeof(float) * n);
    tlp_predict(a_alone, ds, 1, sa, NULL, NULL, &e);
    tlp_predict(b_alone, ds, 1, sb, NULL, NULL, &e);
    is_int(tlp_model_add_member(a, b, &e), TLP_OK, "add the prog network as a member");
    is_int(tlp_model_n_members(a), 2, "two networks");
    ok(tlp_model_member(a, 0) == a && tlp_model_member(a, 1) == b && !tlp_model_member(a, 2), "members by index");
    is_int(tlp_predict(a, ds, 1, se, NULL, NULL, &e), TLP_OK, "an ensemble predicts");
    /* by hand: per task, each network's z-scores, averaged */
    double worst = 0;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        double ma = 0, mb = 0, va = 0, vb = 0;
        for (uint32_t r = 0; r < tk->n_records; r++) ma += sa[tk->records[r]], mb += sb[tk->records[r]];
        ma /= tk->n_records, mb /= tk->n_records;
        for (uint32_t r = 0; r < tk->n_records; r++) {
            double da = sa[tk->records[r]] - ma, db = sb[tk->records[r]] - mb;
            va += da * da, vb += db * db;
        }
        double sda = sqrt(va / tk->n_records), sdb = sqrt(vb / tk->n_records);
        for (uint32_t r = 0; r < tk->n_records; r++) {
            size_t i = tk->records[r];
            double want = ((sa[i] - ma) / (sda > 0 ? sda : 1) + (sb[i] - mb) / (sdb > 0 ? sdb : 1)) / 2;
            worst = fmax(worst, fabs(want - se[i]));
        }
    }
    if (!ok(worst < 1e-4, "its scores: the mean of the networks' scores standardised per task"))
        printf("#   worst difference %.3g\n", worst);
    tlp_model *cl = tlp_model_clone(a);
    if (ok(cl && tlp_model_n_members(cl) == 2, "a clone keeps the members")) {
        tlp_predict(cl, ds, 1, sl, NULL, NULL, &e);
        ok(!memcmp(se, sl, n * sizeof(float)), "and scores the same");
    }
    tlp_model_free(cl);
    {   /* both heads at once: each as predicted alone, bit for bit */
        float *h0 = malloc(sizeof(float) * n), *both = malloc(sizeof(float) * 2 * n), *bs[2] = {both, both + n};
        int heads[2] = {0, 1};
        tlp_predict(a, ds, 0, h0, NULL, NULL, &e);
        is_int(tlp_predict_heads(a, ds, heads, 2, bs, NULL, NULL, &e), TLP_OK, "an ensemble predicts both heads at once");
        ok(!memcmp(bs[0], h0, n * sizeof(float)) && !memcmp(bs[1], se, n * sizeof(float)),
           "each head bit for bit as predicted alone");
        free(h0), free(both);
    }
    /* saved and loaded: version 3 with its member; a single network stays version 2 */
    char path[256], one[256];
    snprintf(path, sizeof path, "%s/ens.tlpx", dir);
    snprintf(one, sizeof one, "%s/one.tlpx", dir);
    is_int(tlp_checkpoint_save(path, a, NULL, NULL, &e), TLP_OK, "save an ensemble");
    is_int(tlp_checkpoint_save(one, a_alone, NULL, NULL, &e), TLP_OK, "save one network");
    unsigned char hdr[12] = {0};
    FILE *f = fopen(path, "rb");
    if (f) fread(hdr, 1, 12, f), fclose(f);
    is_int(hdr[8], 3, "an ensemble's file is version 3");
    f = fopen(one, "rb");
    if (f) fread(hdr, 1, 12, f), fclose(f);
    is_int(hdr[8], 2, "one network's file stays version 2 (older tlpx read it)");
    tlp_model *ld = tlp_checkpoint_load(path, NULL, NULL, &e);
    if (ok(ld && tlp_model_n_members(ld) == 2, "loaded with its member")) {
        is_int(tlp_model_config_of(tlp_model_member(ld, 1))->encode, TLP_ENCODE_PROG, "the member's encoding");
        tlp_predict(ld, ds, 1, sl, NULL, NULL, &e);
        ok(!memcmp(se, sl, n * sizeof(float)), "the loaded ensemble scores the same, bit for bit");
    }
    /* adapted network by network, each with its encoding */
    c.encode = TLP_ENCODE_LOG;
    c.n_heads = 1;
    tlp_model *ad = ld ? tlp_model_adapt(ld, &c, 1, &e) : NULL;
    ok(ad && tlp_model_n_members(ad) == 2 && tlp_model_config_of(tlp_model_member(ad, 1))->encode == TLP_ENCODE_PROG &&
           tlp_model_config_of(ad)->n_heads == 1,
       "an ensemble adapted to one head: two networks, log and prog");
    /* a training of one network does not start from two */
    tlp_train_opts o = opts(1, 32, 0);
    o.encode[0] = TLP_ENCODE_LOG;
    tlp_job *j = ad ? tlp_train_start(s1, &o, ad, NULL, NULL, &e) : NULL;
    ok(ad && !j && e.status == TLP_ARG && strstr(e.msg, "has 2 networks"), "one network from an ensemble is refused");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    tlp_model_free(ad);
    tlp_model_free(ld);
    /* members need the same mode and heads */
    tlp_model_config d = {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_LOG};
    tlp_model *other = tlp_model_new(&d, 5, &e);
    ok(tlp_model_add_member(a, other, &e) == TLP_ARG && strstr(e.msg, "same heads"), "a member with other heads is refused");
    tlp_model_free(other);
    ok(tlp_model_add_member(a, a, &e) == TLP_ARG, "a model is not its own member");
    ok(tlp_model_add_member(a, b, &e) == TLP_ARG && tlp_model_n_members(a) == 2, "nor a member twice");
    remove(path), remove(one);
    free(sa), free(sb), free(se), free(sl);
    tlp_model_free(a), tlp_model_free(a_alone), tlp_model_free(b_alone);
}

static int same_params(const tlp_model *a, const tlp_model *b)
{
    return a && b && tlp_model_n_params(a) == tlp_model_n_params(b) &&
           !memcmp(tlp_model_params_const(a), tlp_model_params_const(b), sizeof(float) * tlp_model_n_params(a));
}

/* An ensemble trained in one run: each network exactly as a training of
 * its encoding alone (so what bench/quality.sh measured by training them
 * apart holds), saved with its plan, resumed inside either network and at
 * the boundary bit for bit, fine-tuned network by network. */
/* tlp_train_opts.on_kept: save the kept model to the path in ctx, as
 * tlpx train does. */
static tlp_status save_to(void *ctx, const tlp_model *m, const tlp_train_meta *meta, const tlp_train_state *state,
                          tlp_error *err)
{
    return tlp_checkpoint_save(ctx, m, meta, state, err);
}

static void test_ensemble_training(const tlp_samples *s, const char *dir)
{
    const int E = 3;
    tlp_train_opts o = opts(E, 32, 5), oa = o, ob = o;
    o.average = oa.average = ob.average = 2;
    o.n_nets = 2, o.encode[0] = TLP_ENCODE_LOG, o.encode[1] = TLP_ENCODE_PROG;
    oa.encode[0] = TLP_ENCODE_LOG;
    ob.encode[0] = TLP_ENCODE_PROG;
    char path[1100];
    snprintf(path, sizeof path, "%s/ens_run.tlpx", dir);
    o.on_kept = save_to;
    o.kept_ctx = path;
    tlp_error e = {0};
    tlp_job *j = tlp_train_start(s, &o, NULL, NULL, NULL, &e);
    tlp_progress p = {0};
    int saw1 = 0, saw2 = 0;
    while (j) {
        struct pollfd pfd = {tlp_job_fd(j), POLLIN, 0};
        poll(&pfd, 1, 1000);
        char buf[256];
        while (read(tlp_job_fd(j), buf, sizeof buf) > 0) {
        }
        tlp_job_progress(j, &p);
        saw1 |= p.net == 1 && p.net_encode == TLP_ENCODE_LOG;
        saw2 |= p.net == 2 && p.net_encode == TLP_ENCODE_PROG;
        if (p.state != TLP_JOB_RUNNING) break;
    }
    tlp_model *ens = NULL;
    tlp_train_meta em;
    tlp_train_state es = {0};
    o.on_kept = NULL;
    ok(j && tlp_job_finish(j, &ens, &em, &es, &e) == TLP_OK && ens, "an ensemble of log and prog trains in one run");
    if (!ens) return;
    ok(p.nets == 2 && p.net == 2 && saw1 && p.n_hist == 2 * E && p.epoch == E,
       "progress: network 1 (log), then network 2 (prog), 3 epochs each in the history");
    ok(saw2 || p.net_encode == TLP_ENCODE_PROG, "progress names the second network's encoding");
    ok(em.n_nets == 2 && em.nets_done == 2 && em.nets[0] == TLP_ENCODE_LOG && em.nets[1] == TLP_ENCODE_PROG &&
           em.epochs_done == E,
       "its meta: 2 networks, both finished");
    tlp_train_meta am, bm;
    tlp_train_state as = {0}, bs = {0};
    tlp_model *a = train_to_end(s, &oa, NULL, NULL, NULL, &am, &as), *b = train_to_end(s, &ob, NULL, NULL, NULL, &bm, &bs);
    ok(tlp_model_n_members(ens) == 2 && same_params(tlp_model_member(ens, 0), a) &&
           same_params(tlp_model_member(ens, 1), b),
       "each network bit for bit the one a training of its encoding alone makes");
    tlp_train_meta fm;
    tlp_model *fl = tlp_checkpoint_load(path, &fm, NULL, &e);
    ok(fl && tlp_model_n_members(fl) == 2 && same_params(tlp_model_member(fl, 1), b) && fm.nets_done == 2,
       "the run's last save is the whole ensemble");
    unsigned char hdr[12] = {0};
    FILE *f = fopen(path, "rb");
    if (f) fread(hdr, 1, 12, f), fclose(f);
    is_int(hdr[8], 4, "a training's ensemble is version 4 (its plan)");
    tlp_model_free(fl);

    /* resumed inside the second network: the first finished, the second
     * after 1 of its 3 epochs (as a run of 1 epoch leaves it) */
    ob.epochs = 1;
    tlp_train_meta b1m;
    tlp_train_state b1s = {0};
    tlp_model *b1 = train_to_end(s, &ob, NULL, NULL, NULL, &b1m, &b1s), *mid = tlp_model_clone(a);
    ok(b1 && mid && tlp_model_add_member(mid, b1, &e) == TLP_OK, "a run stopped inside network 2");
    b1m.n_nets = 2, b1m.nets_done = 1, b1m.nets[0] = TLP_ENCODE_LOG, b1m.nets[1] = TLP_ENCODE_PROG, b1m.epochs = E;
    tlp_train_meta lm;
    tlp_train_state ls = {0};
    tlp_model *l = NULL, *r = NULL;
    if (mid && tlp_checkpoint_save(path, mid, &b1m, &b1s, &e) == TLP_OK) l = tlp_checkpoint_load(path, &lm, &ls, &e);
    ok(l && lm.n_nets == 2 && lm.nets_done == 1 && lm.epochs_done == 1 && ls.ring, "saved and loaded with its plan");
    if (l) r = train_to_end(s, &o, l, &lm, &ls, NULL, NULL);
    ok(r && tlp_model_n_members(r) == 2 && same_params(tlp_model_member(r, 0), a) &&
           same_params(tlp_model_member(r, 1), tlp_model_member(ens, 1)),
       "resumed there, it ends bit for bit as the run that did not stop");
    tlp_model_free(r), tlp_model_free(l), tlp_train_state_free(&ls), r = l = NULL;
    /* at the boundary: the first finished, the second not started */
    am.n_nets = 2, am.nets_done = 1, am.nets[0] = TLP_ENCODE_LOG, am.nets[1] = TLP_ENCODE_PROG;
    if (tlp_checkpoint_save(path, a, &am, &as, &e) == TLP_OK) l = tlp_checkpoint_load(path, &lm, &ls, &e);
    if (l) r = train_to_end(s, &o, l, &lm, &ls, NULL, NULL);
    ok(r && same_params(tlp_model_member(r, 1), tlp_model_member(ens, 1)),
       "resumed between the networks, the second starts as it would have");
    tlp_model_free(r), r = NULL;
    tlp_train_opts o5 = o;
    o5.epochs = 5;
    j = l ? tlp_train_start(s, &o5, l, &lm, &ls, &e) : NULL;
    ok(l && !j && strstr(e.msg, "same epochs"), "an ensemble's resume cannot change the epochs");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    lm.fine = 1;
    j = l ? tlp_train_start(s, &o, l, &lm, &ls, &e) : NULL;
    ok(l && !j && strstr(e.msg, "had not started"), "nor start a fine-tuned run's network it has not the start of");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    tlp_model_free(l), tlp_train_state_free(&ls), l = NULL;
    j = tlp_train_start(s, &o, ens, &em, &es, &e);
    ok(!j && strstr(e.msg, "trained already"), "a finished ensemble's resume is refused");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    /* a file whose plan does not match its networks is not written */
    am.nets_done = 0;
    ok(tlp_checkpoint_save(path, ens, &am, NULL, &e) == TLP_ARG, "a plan that does not fit the model is not saved");

    /* fine-tuning an ensemble: each network from its own weights */
    o.epochs = oa.epochs = ob.epochs = 1;
    tlp_model *ft = train_to_end(s, &o, ens, NULL, NULL, &fm, NULL);
    tlp_model *n0 = tlp_model_clone_net(ens), *n1 = tlp_model_clone_net(tlp_model_member(ens, 1));
    tlp_model *f0 = n0 ? train_to_end(s, &oa, n0, NULL, NULL, NULL, NULL) : NULL;
    tlp_model *f1 = n1 ? train_to_end(s, &ob, n1, NULL, NULL, NULL, NULL) : NULL;
    ok(ft && tlp_model_n_members(ft) == 2 && same_params(tlp_model_member(ft, 0), f0) &&
           same_params(tlp_model_member(ft, 1), f1) && fm.fine == 1,
       "fine-tuned network by network, each as alone from its own weights");
    tlp_train_opts wrong = o;
    wrong.encode[1] = TLP_ENCODE_RAW;
    j = tlp_train_start(s, &wrong, ens, NULL, NULL, &e);
    ok(!j && strstr(e.msg, "network 2 of the model has prog tokens"), "a network of other tokens is refused");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    unlink(path);
    tlp_model_free(ft), tlp_model_free(f0), tlp_model_free(f1), tlp_model_free(n1), tlp_model_free(n0);
    tlp_model_free(mid), tlp_model_free(a), tlp_model_free(b), tlp_model_free(ens);
    tlp_train_state_free(&as), tlp_train_state_free(&bs), tlp_train_state_free(&es), tlp_train_state_free(&b1s);
}

int main(void)
{
    tlp_set_threads(1);
    char dir[] = "/tmp/tlpx_test_train.XXXXXX";
    if (!mkdtemp(dir)) tap_skip_all("no temporary directory");
    double t0 = now_s();

    test_canonical();
    test_samples();

    const char *gpu[] = {"hw-a", "hw-b"}, *a[] = {"hw-a"};
    tlp_dataset *ds2 = load(2, gpu, NULL), *ds1 = load(1, a, NULL);
    tlp_train_opts o = opts(1, 32, 0);
    tlp_error e = {0};
    tlp_samples *s2 = tlp_samples_build(ds2, &o, &e), *s1 = tlp_samples_build(ds1, &o, &e);
    if (!ok(s2 && s1, "samples to train on")) {
        printf("# %s\n", e.msg);
        return tap_done();
    }
    test_training(ds2, s2);
    test_determinism(s1);
    test_cancel(s1);
    test_resume(s1, dir);
    test_resume_average(s1, dir);
    test_loss_options(s1);
    test_predict();
    test_bad_settings(s2, s1);
    test_threads(s2);
    test_encoding(ds2);
    test_recipes();
    test_batch_by_mode(s1);
    test_select_average(s1);
    test_folds();
    test_finetune(ds2, s1);
    test_ensemble(ds2, s1, dir);
    test_ensemble_training(s1, dir);

    tlp_model_free(trained);
    tlp_samples_free(s2), tlp_samples_free(s1);
    tlp_dataset_free(ds2), tlp_dataset_free(ds1);
    rmdir(dir);
    printf("# %.1f s\n", now_s() - t0);
    return tap_done();
}
