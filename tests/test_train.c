/* test_train.c: a real short training through the worker thread on the
 * fixtures of tests/fixtures/train: its progress snapshots, what the finish
 * hands over and how well the model ranks; determinism by seed and over
 * thread counts, cancel, the loss options, select and average, the batch by
 * the mode, and the token encodings.  Resume is in test_resume, prediction
 * in test_predict, fine-tuning and ensembles in test_ensemble, samples and
 * settings in test_samples.  Run with top_srcdir set to the repository root. */
#include "train_fixtures.h"

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

/* What a trained model says it was trained on: each head, the targets of
 * its hardware's records and its tasks; with a validation share (held_out)
 * some tasks are not among them, without one every task is. */
static void check_origin(const tlp_model *m, const tlp_dataset *ds, int held_out)
{
    const tlp_model_config *c = tlp_model_config_of(m);
    int all_in = 1, targets_ok = 1;
    size_t trained = 0, of_head = 0;
    for (int h = 0; h < c->n_heads; h++) {
        size_t n = tlp_model_origin_tasks(m, h, NULL), mine = 0;
        for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
            const tlp_task *tk = tlp_dataset_task(ds, t);
            if (strcmp(tk->hardware, c->heads[h])) continue;
            mine++;
            targets_ok &= tlp_model_origin_target(m, h, tk->target) >= 0;
            trained += tlp_model_trained_on(m, h, tlp_workload_hash(tk->workload_key));
        }
        of_head += mine;
        all_in &= n <= mine;
    }
    ok(all_in && targets_ok, "each head keeps its hardware's targets and no task of other hardware");
    if (held_out) ok(trained >= 1 && trained < of_head, "the tasks held out for validation are not among those trained on");
    else is_int(trained, of_head, "without validation every task is trained on");
    printf("#   trained on %zu of %zu (task, head) pairs\n", trained, of_head);
}

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
        check_origin(best, ds, 1);
    }
    tlp_train_state_free(&ts);
    tlp_model_free(best);
    /* without a validation share every task is trained on */
    o.val_frac = 0;
    o.epochs = 1;
    best = train_to_end(s, &o, NULL, NULL, NULL, NULL, NULL);
    if (best) check_origin(best, ds, 0);
    tlp_model_free(best);
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

/* The worker looks at the cancel flag before every optimiser step and
 * after an epoch's last one: once the cancel is asked, the job ends the step
 * in flight at most.  So the last snapshot is at most one step past the one
 * read just after asking (watch_job), however slow the machine. */
static void stops_promptly(const watch *w)
{
    const tlp_progress *a = &w->at_cancel, *z = &w->last;
    long later = w->cancelled ? steps_between(a, z) : -1;
    if (!ok(later == 0 || later == 1, "it stops promptly: at most one step after the cancel"))
        printf("#   cancel asked at epoch %d step %ld/%ld, the last snapshot at epoch %d step %ld: %ld steps later\n",
               a->epoch, a->step, a->steps_per_epoch, z->epoch, z->step, later);
    printf("#   cancelled at epoch %d step %ld/%ld (%d epochs done); %ld step(s) after it\n", a->epoch, a->step,
           a->steps_per_epoch, a->n_hist, later);
}

static void test_cancel(const tlp_samples *s)
{
    tlp_model_config cfg = {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_RAW, 0};
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
        stops_promptly(&w);
        printf("#   stopped %.3f s after the cancel, %d epochs done\n", w.stop_s, w.last.n_hist);
        tlp_model *best = (tlp_model *)&best; /* not NULL: must be overwritten */
        tlp_train_meta meta;
        double t0 = now_s();
        tlp_status st = tlp_job_finish(j, &best, &meta, NULL, &e);
        printf("#   tlp_job_finish took %.3f s\n", now_s() - t0);
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
        stops_promptly(&w);
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

/* ------------------------------------------------------------ encodings */

/* A log-encoded model is the raw model fed sign(x) log2(1 + |x|): forward
 * and gradients, bit for bit. */
static void test_encoding(const tlp_dataset *ds)
{
    tlp_model_config c = {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_LOG, 0};
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
    for (int b = 0; b < B; b++) tlp_dataset_features(ds, (size_t)b * 4, L, x + (size_t)b * L * F);
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

int main(void)
{
    tlp_set_threads(1);
    double t0 = now_s();
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
    test_threads(s2);
    test_cancel(s1);
    test_loss_options(s1);
    test_select_average(s1);
    test_batch_by_mode(s1);
    test_encoding(ds2);

    tlp_samples_free(s2), tlp_samples_free(s1);
    tlp_dataset_free(ds2), tlp_dataset_free(ds1);
    printf("# %.1f s\n", now_s() - t0);
    return tap_done();
}
