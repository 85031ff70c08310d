/* test_samples.c: what a training is made of, before any training: the
 * canonical workload keys and the folds they fall in, the samples built from
 * the fixtures of tests/fixtures/train (MTL labels, heads, errors), the
 * recipes and how their settings resolve, and the settings and models a
 * training refuses.  Run with top_srcdir set to the repository root. */
#include "train_fixtures.h"

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
    const char *all[] = {"hw-a", "hw-b", "cpu-c"}; /* each folder names its hardware */
    tlp_dataset *ds = load(3, all, NULL);
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

/* ------------------------------------------------------------ recipes and settings */

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
        {"heads in another order", {TLP_MODE_GPU, 2, {"hw-b", "hw-a"}, TLP_ENCODE_RAW, 0}, s2},
        {"one head for two", {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_RAW, 0}, s2},
        {"two heads for one", {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_RAW, 0}, s1},
        {"another hardware", {TLP_MODE_GPU, 1, {"hw-b"}, TLP_ENCODE_RAW, 0}, s1},
        {"a cpu model", {TLP_MODE_CPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_RAW, 0}, s2},
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

int main(void)
{
    tlp_set_threads(1);
    test_canonical();
    test_folds();
    test_samples();
    test_recipes();

    const char *gpu[] = {"hw-a", "hw-b"}, *a[] = {"hw-a"};
    tlp_dataset *ds2 = load(2, gpu, NULL), *ds1 = load(1, a, NULL);
    tlp_train_opts o = opts(1, 32, 0);
    tlp_samples *s2 = samples_or_bail(ds2, &o, "hw-a and hw-b samples"), *s1 = samples_or_bail(ds1, &o, "hw-a samples");
    test_bad_settings(s2, s1);
    tlp_samples_free(s2), tlp_samples_free(s1);
    tlp_dataset_free(ds2), tlp_dataset_free(ds1);
    return tap_done();
}
