/* test_predict.c: batch inference with a model this program trains on the
 * fixtures of tests/fixtures/train: scores of either mode's records, each
 * head, the progress callback, several heads in one pass, and more records
 * than one inference chunk.  Run with top_srcdir set to the repository root. */
#include "train_fixtures.h"

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

/* The model to predict with: test_train's real training (4 epochs of batch
 * 32, seed 1, both gpu heads), made here. */
static tlp_model *train_model(void)
{
    const char *gpu[] = {"hw-a", "hw-b"};
    tlp_dataset *ds2 = load(2, gpu, NULL);
    tlp_train_opts o = opts(1, 32, 0);
    tlp_samples *s2 = samples_or_bail(ds2, &o, "hw-a and hw-b samples");
    o = opts(4, 32, 1);
    tlp_status st;
    tlp_train_meta meta;
    tlp_model *m = train_quiet(s2, &o, &meta, &st);
    tlp_samples_free(s2);
    tlp_dataset_free(ds2);
    return m;
}

static void test_predict(tlp_model *trained)
{
    const char *all[] = {"hw-a", "hw-b", "cpu-c"}; /* each folder names its hardware */
    tlp_dataset *ds = load(3, all, NULL);
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

    /* more records than one inference chunk (512): the gpu data twice, the
     * second a copy under other names (the same files again would be read
     * once); a record scores the same in either copy */
    char tmp[] = "/tmp/tlpx_predict.XXXXXX", cmd[2400], pa[1100], pb[1100];
    scratch_dir(tmp);
    snprintf(pa, sizeof pa, "%s", fx("hw-a"));
    snprintf(pb, sizeof pb, "%s", fx("hw-b"));
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/A2' && cp -r '%s' '%s/B2'", pa, tmp, pb, tmp);
    ok(system(cmd) == 0, "a copy of the gpu data");
    const char *paths[4] = {pa, pb, NULL, NULL}, *names[] = {NULL, NULL, "A2", "B2"};
    char a2[1100], b2[1100];
    snprintf(a2, sizeof a2, "%s/A2", tmp);
    snprintf(b2, sizeof b2, "%s/B2", tmp);
    paths[2] = a2, paths[3] = b2;
    ds = tlp_dataset_new();
    tlp_load_opts lo = {0};
    for (int i = 0; i < 4; i++) tlp_dataset_add_path(ds, paths[i], names[i], &lo, &e);
    tlp_dataset_finish(ds, &e);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
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
    if (system(cmd) != 0) printf("# could not remove %s\n", tmp);
}

/* The explorer scores the task in view first: a job over some tasks gives
 * their records the scores a prediction of all gives (to float rounding:
 * the records share their batches with others), NaN to the others. */
static void test_some_tasks(tlp_model *trained)
{
    const char *all[] = {"hw-a", "hw-b", "cpu-c"}; /* each folder names its hardware */
    tlp_dataset *ds = load(3, all, NULL);
    size_t n = tlp_dataset_n_records(ds), nt = tlp_dataset_n_tasks(ds);
    float *full = malloc(sizeof(float) * n);
    unsigned char *take = calloc(nt, 1);
    tlp_error e = {0};
    if (!trained || !full || !take || tlp_predict(trained, ds, 0, full, NULL, NULL, &e) != TLP_OK) {
        ok(0, "scores of all the records");
        free(full), free(take), tlp_dataset_free(ds);
        return;
    }
    take[1] = take[nt - 2] = 1;
    tlp_job *j = tlp_predict_start_tasks(trained, ds, take, &e);
    while (j) {
        tlp_progress p;
        tlp_job_progress(j, &p);
        if (p.state != TLP_JOB_RUNNING) break;
        usleep(1000);
    }
    float *some = j ? tlp_job_take_scores(j, 0) : NULL;
    if (j) tlp_job_finish(j, NULL, NULL, NULL, NULL);
    size_t same = 0, nan_other = 0, in = 0, other = 0;
    double worst = 0;
    for (size_t i = 0; some && i < n; i++) {
        uint32_t t = tlp_dataset_rec(ds, i)->task;
        if (take[t] && tlp_dataset_task(ds, t)->mode == TLP_MODE_GPU) {
            in++;
            double d = fabs((double)some[i] - full[i]) / fmax(1e-6, fabs((double)full[i]));
            if (d > worst) worst = d;
            same += d <= 1e-5;
        } else if (!take[t]) {
            other++;
            nan_other += isnan(some[i]) != 0;
        }
    }
    ok(some && in > 0 && same == in, "the tasks taken score as in a prediction of all (1e-5 relative)");
    printf("#   %zu records taken, worst relative difference %g\n", in, worst);
    ok(some && other > 0 && nan_other == other, "the others score NaN");
    free(some), free(full), free(take);
    tlp_dataset_free(ds);
}

int main(void)
{
    tlp_set_threads(1);
    double t0 = now_s();
    tlp_model *trained = train_model();
    printf("# trained in %.2f s\n", now_s() - t0);
    test_predict(trained);
    test_some_tasks(trained);
    tlp_model_free(trained);
    printf("# %.1f s\n", now_s() - t0);
    return tap_done();
}
