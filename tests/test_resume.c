/* test_resume.c: a training stopped and resumed through a checkpoint on the
 * fixtures of tests/fixtures/train: the file keeps the weights, Adam's
 * moments and the averaging ring; a resumed run goes on to the epochs asked
 * and, with averaging, ends bit for bit where the uninterrupted run ends.
 * (An ensemble's resume, inside a network or between two, is in
 * test_ensemble.)  Run with top_srcdir set to the repository root. */
#include "train_fixtures.h"

static void test_resume(const tlp_samples *s, const char *dir)
{
    /* hw-a only: 4 canonical tasks, one held out: 120 or 121 training samples, 4 steps of 32 */
    const int SPE = 4;
    tlp_train_opts o = opts(2, 32, 11);
    o.select = TLP_SELECT_LAST; /* the resume goes on from the last epoch, whatever its loss */
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
        ok(isfinite(rm.best_val) && rm.best_epoch == 4, "resumed: the last epoch kept, with a finite figure");
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

int main(void)
{
    tlp_set_threads(1);
    char dir[] = "/tmp/tlpx_test_resume.XXXXXX";
    scratch_dir(dir);
    double t0 = now_s();
    const char *a[] = {"hw-a"};
    tlp_dataset *ds1 = load(1, a, NULL);
    tlp_train_opts o = opts(1, 32, 0);
    tlp_samples *s1 = samples_or_bail(ds1, &o, "hw-a samples");
    test_resume(s1, dir);
    test_resume_average(s1, dir);
    tlp_samples_free(s1);
    tlp_dataset_free(ds1);
    rmdir(dir);
    printf("# %.1f s\n", now_s() - t0);
    return tap_done();
}
