/* test_steps.c: the crop (--steps N).  TLP feeds a network a schedule's
 * first 25 (CPU) or 40 (GPU) steps; a model may take another number, and
 * then sees what TLP's crop drops.  Two records of one task that differ only
 * in their 45th step (tests/fixtures/records/gpu-x/dense.json, line 1, and
 * a copy with that step changed) are one schedule to TLP's crop of 40 and
 * two to a crop of 48: in the features, the samples, the scores, a store,
 * a model file and a training. */
#include "train_fixtures.h" /* tap.h, the engine's inside, scratch_dir() */

#include <math.h>
#include <sys/stat.h>

static char dir[] = "/tmp/tlpx_steps.XXXXXX";

/* Line 1 of dense.json (45 steps) as a file of hardware hw: as it is, or
 * with its last step's annotation changed (beyond TLP's crop). */
static const char *write_record(const char *hw, int changed)
{
    static char path[600];
    char src[512], d[560];
    const char *top = getenv("top_srcdir");
    snprintf(src, sizeof src, "%s/tests/fixtures/records/gpu-x/dense.json", top ? top : ".");
    FILE *f = fopen(src, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f || getline(&line, &cap, f) <= 0) tap_skip_all("no tests/fixtures/records/gpu-x/dense.json");
    fclose(f);
    char *last = strstr(line, "[\"AN\", 3, 23, 6]");
    if (!last) tap_skip_all("dense.json's line 1 is not the one this test knows");
    if (changed) last[14] = '1'; /* ["AN", 3, 23, 1]: another annotation of step 44 */
    snprintf(d, sizeof d, "%s/%s", dir, hw);
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/%s.json", d, changed ? "changed" : "same");
    f = fopen(path, "w");
    fputs(line, f);
    fclose(f);
    free(line);
    return path;
}

static tlp_dataset *load_paths(int n, const char *const *paths, const char *const *hw)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0};
    tlp_error e = {0};
    for (int i = 0; i < n; i++)
        if (tlp_dataset_add_path(ds, paths[i], hw[i], &lo, &e) != TLP_OK) printf("# %s: %s\n", e.file, e.msg);
    tlp_dataset_finish(ds, &e);
    return ds;
}

static int rows_equal(const float *a, const float *b, int from, int to, int F)
{
    return memcmp(a + (size_t)from * (size_t)F, b + (size_t)from * (size_t)F, sizeof(float) * (size_t)(to - from) * (size_t)F) == 0;
}

static tlp_model *model_of(int steps, tlp_encode e, uint64_t seed)
{
    tlp_model_config c = {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, e, steps};
    tlp_error err = {0};
    tlp_model *m = tlp_model_new(&c, seed, &err);
    if (!m) printf("# %s\n", err.msg);
    return m;
}

int main(void)
{
    scratch_dir(dir);
    char a_dir[600], b_dir[600];
    write_record("hw-a", 0);
    snprintf(a_dir, sizeof a_dir, "%s/hw-a", dir);
    write_record("hw-b", 1);
    snprintf(b_dir, sizeof b_dir, "%s/hw-b", dir);
    const char *paths[] = {a_dir, b_dir}, *hw[] = {"hw-a", "hw-b"};
    tlp_dataset *ds = load_paths(2, paths, hw);
    if (tlp_dataset_n_records(ds) != 2) {
        printf("Bail out! the two records did not load\n");
        return 1;
    }
    const int F = tlp_mode_fea(TLP_MODE_GPU);
    float x0[TLP_MAX_STEPS * TLP_MAX_FEA], x1[TLP_MAX_STEPS * TLP_MAX_FEA], xr[TLP_MAX_STEPS * TLP_MAX_FEA];

    /* the features */
    is_int(tlp_dataset_rec(ds, 0)->n_steps, 45, "the record has 45 steps");
    is_int(tlp_dataset_rec(ds, 0)->n_tok, 45, "the dataset keeps the tokens of all 45 (TLP's crop keeps 40)");
    ok(tlp_dataset_rec(ds, 0)->flags & TLP_REC_LOST_STEPS, "its figures still say TLP's crop loses steps");
    tlp_dataset_features(ds, 0, 40, x0);
    tlp_dataset_features(ds, 1, 40, x1);
    ok(rows_equal(x0, x1, 0, 40, F), "crop 40: the two records' features are the same");
    tlp_dataset_features(ds, 0, 48, x0);
    tlp_dataset_features(ds, 1, 48, x1);
    ok(rows_equal(x0, x1, 0, 44, F) && !rows_equal(x0, x1, 44, 45, F), "crop 48: they differ in step 44 alone");
    float zero[TLP_MAX_FEA * 3] = {0};
    ok(memcmp(x0 + 45 * F, zero, sizeof(float) * 3 * (size_t)F) == 0, "crop 48: rows 45..47 are padding");
    tlp_record r;
    tlp_record_init(&r);
    tlp_error err = {0};
    is_int(tlp_dataset_read_record(ds, 1, &r, &err), TLP_OK, "the record read again");
    tlp_record_features(TLP_MODE_GPU, 48, &r, xr);
    ok(rows_equal(x1, xr, 0, 48, F), "crop 48: the dataset's features are the record's own");
    tlp_dataset_features(ds, 1, 30, x1);
    tlp_record_features(TLP_MODE_GPU, 30, &r, xr);
    ok(rows_equal(x1, xr, 0, 30, F), "crop 30 (shorter than TLP's): the first 30 steps");
    tlp_record_free(&r);

    /* the samples: one schedule of two hardware, or two schedules */
    tlp_train_opts o = opts(1, 2, 1);
    tlp_samples *s40 = samples_or_bail(ds, &o, "crop 40 samples");
    is_int((long)tlp_samples_count(s40), 1, "crop 40: one sample with two labels (the records meet within the crop)");
    o.steps = 48;
    tlp_samples *s48 = samples_or_bail(ds, &o, "crop 48 samples");
    is_int((long)tlp_samples_count(s48), 2, "crop 48: two samples");

    /* the scores */
    tlp_model *m40 = model_of(0, TLP_ENCODE_LOG, 7), *m48 = model_of(48, TLP_ENCODE_LOG, 7);
    if (!m40 || !m48) {
        printf("Bail out! no model\n");
        return 1;
    }
    is_int(tlp_model_config_of(m40)->steps, 40, "a model of crop 0 takes TLP's: 40 on GPU");
    is_int(tlp_model_config_of(m48)->steps, 48, "a model of --steps 48 keeps it");
    float sc40[2], sc48[2];
    ok(tlp_predict(m40, ds, 0, sc40, NULL, NULL, &err) == TLP_OK && sc40[0] == sc40[1],
       "crop 40: the same score for both");
    ok(tlp_predict(m48, ds, 0, sc48, NULL, NULL, &err) == TLP_OK && sc48[0] != sc48[1],
       "crop 48: the changed step 44 moves the score");
    printf("# crop 48 scores %.6g %.6g\n", (double)sc48[0], (double)sc48[1]);
    float ex[2];
    tlp_model_set_exact_padding(m48, 1);
    tlp_predict(m48, ds, 0, ex, NULL, NULL, &err);
    tlp_model_set_exact_padding(m48, 0);
    ok(fabsf(ex[0] - sc48[0]) <= 1e-5f * fmaxf(1, fabsf(ex[0])) && fabsf(ex[1] - sc48[1]) <= 1e-5f * fmaxf(1, fabsf(ex[1])),
       "crop 48: the padding once scores as the padded computation");
    tlp_model *wrong = model_of(TLP_MAX_STEPS + 1, TLP_ENCODE_LOG, 7);
    ok(!wrong, "a crop of 129 steps is refused");
    tlp_model_free(wrong);
    tlp_model *other = tlp_model_clone_net(m40);
    ok(tlp_model_add_member(m48, other, &err) != TLP_OK && strstr(err.msg, "crop"),
       "an ensemble's networks share one crop");
    tlp_model_free(other);

    /* the model file */
    char path[700];
    snprintf(path, sizeof path, "%s/m48.tlpx", dir);
    tlp_train_meta meta;
    memset(&meta, 0, sizeof meta);
    is_int(tlp_checkpoint_save(path, m48, &meta, NULL, &err), TLP_OK, "a model of crop 48 saved");
    tlp_model *back = tlp_checkpoint_load(path, NULL, NULL, &err);
    ok(back && tlp_model_config_of(back)->steps == 48, "and loaded with its crop");
    float sb[2] = {0, 0};
    if (back) tlp_predict(back, ds, 0, sb, NULL, NULL, &err);
    ok(back && sb[0] == sc48[0] && sb[1] == sc48[1], "scoring as it did");
    tlp_model_config ac = *tlp_model_config_of(m48);
    ac.steps = 0;
    tlp_model *ad = back ? tlp_model_adapt(back, &ac, 3, &err) : NULL;
    ok(ad && tlp_model_config_of(ad)->steps == 48, "a fine-tuning start keeps the model's crop");
    tlp_model_free(ad);
    tlp_model_free(back);

    /* a store keeps every step */
    snprintf(path, sizeof path, "%s/s.pack", dir);
    is_int(tlp_store_write(ds, path, &err), TLP_OK, "packed");
    const char *sp[] = {path}, *sh[] = {NULL};
    tlp_dataset *st = load_paths(1, sp, sh);
    ok(tlp_dataset_n_records(st) == 2 && tlp_dataset_rec(st, 1)->n_tok == 45, "the store keeps the 45 steps' tokens");
    tlp_dataset_features(st, 1, 48, x0);
    tlp_dataset_features(ds, 1, 48, x1);
    ok(rows_equal(x0, x1, 0, 48, F), "crop 48 from the store: the same features");
    float ss[2] = {0, 0};
    tlp_predict(m48, st, 0, ss, NULL, NULL, &err);
    ok(ss[0] == sc48[0] && ss[1] == sc48[1], "and the same scores");
    tlp_dataset_free(st);

    /* a training of crop 48 makes a model of crop 48, its samples' */
    o = opts(1, 2, 1);
    o.steps = 48;
    o.encode[0] = TLP_ENCODE_LOG;
    tlp_model *t48 = train_to_end(s48, &o, NULL, NULL, NULL, NULL, NULL);
    ok(t48 && tlp_model_config_of(t48)->steps == 48, "trained with --steps 48: the model's crop is 48");
    o.steps = 0;
    tlp_job *j = tlp_train_start(s48, &o, m40, NULL, NULL, &err);
    ok(!j && strstr(err.msg, "steps"), "a model of crop 40 cannot train on samples made for 48");
    if (j) tlp_job_finish(j, NULL, NULL, NULL, &err);
    is_int(tlp_train_set(&o, "steps", "129", &err), TLP_ARG, "steps=129 is refused");
    ok(tlp_train_set(&o, "steps", "30", &err) == TLP_OK && o.steps == 30 && tlp_train_steps(&o) == 30, "steps=30 is taken");
    ok(tlp_train_set(&o, "steps", "0", &err) == TLP_OK && tlp_train_steps(&o) == 40, "steps=0: TLP's, 40 on GPU");
    tlp_model_free(t48);

    tlp_model_free(m40);
    tlp_model_free(m48);
    tlp_samples_free(s40);
    tlp_samples_free(s48);
    tlp_dataset_free(ds);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("# could not remove %s\n", dir);
    return tap_done();
}
