/* test_ensemble.c: models made of other models, on the fixtures of
 * tests/fixtures/train: fine-tuning (adapting heads, a frozen trunk, a label
 * budget), ensembles (their scores, members, files, adapting) and an
 * ensemble trained in one run (each network as trained alone, resumed inside
 * a network and between two, fine-tuned network by network).  Run with
 * top_srcdir set to the repository root. */
#include "train_fixtures.h"

/* Fine-tuning: adapt keeps the trunk and the heads it knows, freeze-trunk
 * trains the heads only, budget keeps N labels of the target head. */
static void test_finetune(const tlp_dataset *ds2, const tlp_samples *s1)
{
    tlp_status st;
    tlp_train_meta meta;
    tlp_train_opts o = opts(1, 32, 31);
    tlp_model *a = train_quiet(s1, &o, &meta, &st); /* head hw-a */
    if (!ok(a != NULL, "a one-head model to start from")) return;
    tlp_model_config cfg = {TLP_MODE_GPU, 2, {"hw-b", "hw-a"}, TLP_ENCODE_RAW, 0};
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
    tlp_model_config c = {TLP_MODE_GPU, 2, {"hw-a", "hw-b"}, TLP_ENCODE_LOG, 0};
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
    tlp_model_config d = {TLP_MODE_GPU, 1, {"hw-a"}, TLP_ENCODE_LOG, 0};
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
    is_int(hdr[8], 5, "a training's ensemble is version 5 (its plan, what it was trained on)");
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
    char dir[] = "/tmp/tlpx_test_ensemble.XXXXXX";
    scratch_dir(dir);
    double t0 = now_s();
    const char *gpu[] = {"hw-a", "hw-b"}, *a[] = {"hw-a"};
    tlp_dataset *ds2 = load(2, gpu, NULL), *ds1 = load(1, a, NULL);
    tlp_train_opts o = opts(1, 32, 0);
    tlp_samples *s1 = samples_or_bail(ds1, &o, "hw-a samples");
    test_finetune(ds2, s1);
    test_ensemble(ds2, s1, dir);
    test_ensemble_training(s1, dir);
    tlp_samples_free(s1);
    tlp_dataset_free(ds2), tlp_dataset_free(ds1);
    rmdir(dir);
    printf("# %.1f s\n", now_s() - t0);
    return tap_done();
}
