/* cmd_train.c: `tlpx train`, `tlpx eval` and `tlpx predict`: the model from
 * the command line, for scripts and CI. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char TRAIN_USAGE[] =
    "usage: tlpx train DATA... --out MODEL [--epochs N] [--loss rank|mse] [--pairs batch|task]\n"
    "                  [--heads HW,HW...] [--mode cpu|gpu] [--split task|record] [--seed N]\n"
    "                  [--threads N] [--batch N] [--lr X] [--resume MODEL] [--quiet]\n\n"
    "Trains TLP (one head) or MTL-TLP (several heads, one per hardware) on DATA and\n"
    "writes the best-validation model to MODEL atomically, with the Adam state so\n"
    "--resume can continue.  Defaults follow TLP: 50 epochs, batch 1024, LambdaRank\n"
    "over the batch, Adam 7e-4 (weight decay 1e-6), gradient norm clipped at 0.5,\n"
    "10% of the tasks held out for validation (--split record: of the records).\n"
    "--heads picks the hardware (first = the target); default: every hardware of the\n"
    "mode found in DATA.  --mode is needed only when DATA mixes cpu and gpu records.\n";

static const char EVAL_USAGE[] =
    "usage: tlpx eval MODEL DATA... [--head HW] [--k 1,5] [--per-task] [--weights TSV] [--quiet]\n\n"
    "Top-k scores (spec 6): per task best/latency of the best of the model's top k,\n"
    "pooled over tasks as sum(w*best)/sum(w*lat_k) with weights from --weights (else 1);\n"
    "plus pairwise ranking accuracy and Kendall's tau averaged over tasks.  Each head\n"
    "is scored on the tasks of its own hardware; --head HW scores that head on every\n"
    "task of the model's mode instead.\n";

static const char PREDICT_USAGE[] =
    "usage: tlpx predict MODEL DATA... [--head HW] [--quiet]\n\n"
    "Prints a TSV: task hardware record measured_cost predicted_score predicted_rank\n"
    "(record = file:line; rank within the task, 1 = predicted fastest).  Without\n"
    "--head each task is scored by the head of its own hardware, else by head 0.\n";

/* ------------------------------------------------------------ shared */

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static tlp_model *load_model(const char *path, tlp_train_meta *meta, float **m, float **v)
{
    tlp_error err = {0};
    tlp_model *model = tlp_checkpoint_load(path, meta, m, v, &err);
    if (!model) fprintf(stderr, "tlpx: %s: %s\n", err.file[0] ? err.file : path, err.msg);
    return model;
}

/* The head that scores task t: forced, or the task's own hardware, else 0. */
static int head_for(const tlp_model *m, const tlp_task *t, int forced)
{
    if (forced >= 0) return forced;
    int h = tlp_model_head(m, t->hardware);
    return h >= 0 ? h : 0;
}

/* Scores of every record under each head needed (lazily, one pass per head). */
typedef struct {
    float *scores[TLP_MAX_HEADS];
} score_cache;

static const float *scores_for(tlp_model *m, const tlp_dataset *ds, score_cache *c, int h)
{
    if (c->scores[h]) return c->scores[h];
    float *s = malloc(sizeof(float) * (tlp_dataset_n_records(ds) ? tlp_dataset_n_records(ds) : 1));
    tlp_error err = {0};
    if (!s || tlp_predict(m, ds, h, s, NULL, NULL, &err) != TLP_OK) {
        fprintf(stderr, "tlpx: %s\n", s ? err.msg : "out of memory");
        free(s);
        return NULL;
    }
    c->scores[h] = s;
    return s;
}

/* ------------------------------------------------------------ train */

static void draw_progress(const tlp_progress *p, int tty)
{
    char eta[32] = "?";
    if (isfinite(p->eta_s)) snprintf(eta, sizeof eta, "%dm%02ds", (int)p->eta_s / 60, (int)p->eta_s % 60);
    if (tty) {
        int width = 24, fill = p->steps_per_epoch ? (int)(width * p->step / p->steps_per_epoch) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r\033[Kepoch %d/%d [%s] step %ld/%ld loss %.4g val %.4g %.0f samples/s ETA %s", p->epoch,
                p->epochs, bar, p->step, p->steps_per_epoch, p->loss, p->val_loss, p->samples_per_s, eta);
    } else
        fprintf(stderr, "epoch %d/%d: loss %.6g val %.6g best %.6g (epoch %d) %.0f samples/s, ETA %s\n", p->epoch,
                p->epochs, p->loss, p->val_loss, p->best_val, p->best_epoch, p->samples_per_s, eta);
}

int cmd_train(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *out = NULL, *resume = NULL, *heads = NULL, *mode = NULL;
    tlp_train_opts to;
    tlp_train_defaults(&to, TLP_MODE_GPU);
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = EXIT_USAGE;
    long v;
    /* which settings the command line gave: on --resume the others come
     * from the checkpoint */
    int given_epochs = 0, given_batch = 0, given_seed = 0, given_lr = 0, given_loss = 0, given_pairs = 0,
        given_split = 0;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_opt(&o, argc, argv, &i);
        if (c < 0) goto done;
        if (c) continue;
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        given_epochs |= !strcmp(a, "--epochs");
        given_batch |= !strcmp(a, "--batch");
        given_seed |= !strcmp(a, "--seed");
        given_lr |= !strcmp(a, "--lr");
        given_loss |= !strcmp(a, "--loss");
        given_pairs |= !strcmp(a, "--pairs");
        given_split |= !strcmp(a, "--split");
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(TRAIN_USAGE, stdout);
            rc = EXIT_OK;
            goto done;
        }
#define NEED_VALUE()                                                               \
    if (!val) {                                                                    \
        fprintf(stderr, "tlpx train: %s needs a value\n\n%s", a, TRAIN_USAGE);     \
        goto done;                                                                 \
    }                                                                              \
    i++
        if (!strcmp(a, "--out")) {
            NEED_VALUE();
            out = val;
        } else if (!strcmp(a, "--resume")) {
            NEED_VALUE();
            resume = val;
        } else if (!strcmp(a, "--heads")) {
            NEED_VALUE();
            heads = val;
        } else if (!strcmp(a, "--mode")) {
            NEED_VALUE();
            mode = val;
        } else if (!strcmp(a, "--epochs")) {
            NEED_VALUE();
            if (parse_long(val, 1, 100000, &v)) goto bad;
            to.epochs = (int)v;
        } else if (!strcmp(a, "--batch")) {
            NEED_VALUE();
            if (parse_long(val, 2, 65536, &v)) goto bad;
            to.batch = (int)v;
        } else if (!strcmp(a, "--threads")) {
            NEED_VALUE();
            if (parse_long(val, 1, 256, &v)) goto bad;
            to.threads = (int)v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            if (parse_long(val, 0, LONG_MAX, &v)) goto bad;
            to.seed = (uint64_t)v;
        } else if (!strcmp(a, "--lr")) {
            NEED_VALUE();
            char *end;
            double d = strtod(val, &end);
            if (*end || !(d > 0 && d < 10)) goto bad;
            to.lr = (float)d;
        } else if (!strcmp(a, "--loss")) {
            NEED_VALUE();
            if (!strcmp(val, "rank")) to.loss = TLP_LOSS_RANK;
            else if (!strcmp(val, "mse")) to.loss = TLP_LOSS_MSE;
            else goto bad;
        } else if (!strcmp(a, "--pairs")) {
            NEED_VALUE();
            if (!strcmp(val, "batch")) to.pairs = TLP_PAIRS_BATCH;
            else if (!strcmp(val, "task")) to.pairs = TLP_PAIRS_TASK;
            else goto bad;
        } else if (!strcmp(a, "--split")) {
            NEED_VALUE();
            if (!strcmp(val, "task")) to.split = TLP_SPLIT_TASK;
            else if (!strcmp(val, "record")) to.split = TLP_SPLIT_RECORD;
            else goto bad;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tlpx train: unknown option %s\n\n%s", a, TRAIN_USAGE);
            goto done;
        } else
            o.paths[o.n_paths++] = a;
        continue;
    bad:
        fprintf(stderr, "tlpx train: bad value for %s: \"%s\"\n", a, val);
        goto done;
#undef NEED_VALUE
    }
    if (!o.n_paths || !out) {
        fprintf(stderr, "tlpx train: %s\n\n%s", o.n_paths ? "--out MODEL is required" : "no DATA given", TRAIN_USAGE);
        goto done;
    }
    rc = EXIT_FAIL;
    tlp_model *init = NULL;
    tlp_train_meta meta = {0}, *resume_meta = NULL;
    float *am = NULL, *av = NULL;
    if (resume) {
        init = load_model(resume, &meta, &am, &av);
        if (!init) goto done;
        resume_meta = &meta;
        to.mode = tlp_model_config_of(init)->mode;
        if (!given_epochs) to.epochs = meta.epochs;
        if (!given_batch && meta.batch >= 2) to.batch = meta.batch;
        if (!given_seed) to.seed = meta.seed;
        if (!given_lr && meta.lr > 0) to.lr = meta.lr;
        if (meta.weight_decay >= 0) to.weight_decay = meta.weight_decay;
        if (meta.clip > 0) to.clip = meta.clip;
        if (!given_loss) to.loss = !strcmp(meta.loss, "mse") ? TLP_LOSS_MSE : TLP_LOSS_RANK;
        if (!given_pairs) to.pairs = !strcmp(meta.pairs, "task") ? TLP_PAIRS_TASK : TLP_PAIRS_BATCH;
        if (!given_split) to.split = !strcmp(meta.split, "record") ? TLP_SPLIT_RECORD : TLP_SPLIT_TASK;
    }
    tlp_dataset *ds = cli_load(&o);
    if (!ds) {
        tlp_model_free(init), free(am), free(av);
        goto done;
    }
    /* the mode: asked, the resumed model's, else the only one in the data */
    size_t per_mode[TLP_MODE_COUNT] = {0};
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++)
        per_mode[tlp_dataset_task(ds, t)->mode] += tlp_dataset_task(ds, t)->n_records;
    if (mode) {
        if (!strcmp(mode, "cpu")) to.mode = TLP_MODE_CPU;
        else if (!strcmp(mode, "gpu")) to.mode = TLP_MODE_GPU;
        else {
            fprintf(stderr, "tlpx train: --mode is cpu or gpu, not \"%s\"\n", mode);
            rc = EXIT_USAGE;
            goto free_all;
        }
    } else if (!resume) {
        if (per_mode[TLP_MODE_CPU] && per_mode[TLP_MODE_GPU]) {
            fprintf(stderr, "tlpx train: DATA holds both cpu and gpu records; say which with --mode\n");
            rc = EXIT_USAGE;
            goto free_all;
        }
        to.mode = per_mode[TLP_MODE_CPU] ? TLP_MODE_CPU : TLP_MODE_GPU;
    }
    if (init) { /* resuming: the model's heads, in its order */
        const tlp_model_config *c = tlp_model_config_of(init);
        to.n_heads = c->n_heads;
        memcpy(to.heads, c->heads, sizeof to.heads);
    } else if (heads) {
        char *copy = strdup(heads), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (to.n_heads == TLP_MAX_HEADS) {
                fprintf(stderr, "tlpx train: at most %d heads\n", TLP_MAX_HEADS);
                free(copy);
                rc = EXIT_USAGE;
                goto free_all;
            }
            snprintf(to.heads[to.n_heads++], TLP_HEAD_NAME, "%s", tok);
        }
        free(copy);
        for (int h = 0; h < to.n_heads; h++) {
            int found = 0;
            for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++) {
                const tlp_hw_stats *st = tlp_dataset_hw(ds, k);
                found |= st->mode == to.mode && !strcmp(st->hardware, to.heads[h]);
            }
            if (!found) {
                fprintf(stderr, "tlpx train: no %s records of hardware \"%s\" in DATA (have:", tlp_mode_name(to.mode),
                        to.heads[h]);
                for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++)
                    fprintf(stderr, " %s", tlp_dataset_hw(ds, k)->hardware);
                fprintf(stderr, ")\n");
                goto free_all;
            }
        }
    }
    tlp_error err = {0};
    tlp_samples *s = tlp_samples_build(ds, &to, &err);
    if (!s) {
        fprintf(stderr, "tlpx train: %s\n", err.msg);
        goto free_all;
    }
    if (!o.quiet) {
        fprintf(stderr, "training %s model on %zu samples (%zu with several labels), heads:",
                tlp_mode_name(to.mode), tlp_samples_count(s), tlp_samples_multi(s));
        for (int h = 0; h < tlp_samples_n_heads(s); h++)
            fprintf(stderr, " %s (%zu labels)", tlp_samples_head(s, h), tlp_samples_labelled(s, h));
        fprintf(stderr, "\n");
    }
    tlp_job *job = tlp_train_start(s, &to, init, resume_meta, am, av, &err);
    if (!job) {
        fprintf(stderr, "tlpx train: %s\n", err.msg);
        tlp_samples_free(s);
        goto free_all;
    }
    int tty = isatty(2);
    tlp_progress p;
    int last_epoch = 0;
    for (;;) {
        struct pollfd pfd = {tlp_job_fd(job), POLLIN, 0};
        poll(&pfd, 1, 1000);
        char buf[256];
        while (read(tlp_job_fd(job), buf, sizeof buf) > 0) {
        }
        tlp_job_progress(job, &p);
        if (!o.quiet && p.epoch > 0 && (tty || p.n_hist > last_epoch)) {
            if (p.n_hist > last_epoch || tty) draw_progress(&p, tty);
            last_epoch = p.n_hist;
        }
        if (p.state != TLP_JOB_RUNNING) break;
    }
    if (tty && !o.quiet) fputc('\n', stderr);
    tlp_model *best = NULL;
    tlp_train_meta done_meta;
    float *bm = NULL, *bv = NULL;
    tlp_status st = tlp_job_finish(job, &best, &done_meta, &bm, &bv, &err);
    if (st != TLP_OK) fprintf(stderr, "tlpx train: %s\n", err.msg);
    if (best) {
        if (tlp_checkpoint_save(out, best, &done_meta, bm, bv, &err) != TLP_OK)
            fprintf(stderr, "tlpx: %s: %s\n", err.file, err.msg);
        else {
            if (!o.quiet)
                fprintf(stderr, "wrote %s: best validation loss %.6g at epoch %d of %d\n", out, done_meta.best_val,
                        p.best_epoch, done_meta.epochs_done);
            if (st == TLP_OK) rc = EXIT_OK;
        }
    } else if (st == TLP_OK)
        fprintf(stderr, "tlpx train: no epoch finished; nothing written\n");
    tlp_model_free(best), free(bm), free(bv);
    tlp_samples_free(s);
free_all:
    tlp_dataset_free(ds);
    tlp_model_free(init), free(am), free(av);
done:
    free(o.paths);
    return rc;
}

/* ------------------------------------------------------------ eval */

static int parse_ks(const char *s, int *ks, int *n)
{
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    int okv = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && okv; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (*n >= 8 || parse_long(t, 1, 1000000, &v)) okv = 0;
        else ks[(*n)++] = (int)v;
    }
    free(copy);
    return okv && *n > 0 ? 0 : -1;
}

/* Common front of eval and predict: MODEL DATA... [--head HW] ... */
typedef struct {
    cli_data_opts data;
    const char *model_path, *head;
    int per_task;
    int ks[8], n_k;
    /* what open_session loads */
    tlp_model *m;
    tlp_dataset *ds;
    int forced;          /* --head as an index, -1 without */
    score_cache cache;
} model_args;

static int parse_model_args(int argc, char **argv, model_args *a, const char *usage, int eval)
{
    a->data.paths = calloc((size_t)argc, sizeof *a->data.paths);
    a->ks[0] = 1, a->ks[1] = 5, a->n_k = 2;
    if (!a->data.paths) return EXIT_FAIL;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_opt(&a->data, argc, argv, &i);
        if (c < 0) return EXIT_USAGE;
        if (c) continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(argv[i], "--head") && i + 1 < argc) {
            a->head = argv[++i];
        } else if (eval && !strcmp(argv[i], "--per-task")) {
            a->per_task = 1;
        } else if (eval && !strcmp(argv[i], "--k") && i + 1 < argc) {
            if (parse_ks(argv[++i], a->ks, &a->n_k)) {
                fprintf(stderr, "tlpx: --k takes up to 8 numbers like 1,5,10, not \"%s\"\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tlpx: unknown option or missing value: %s\n\n%s", argv[i], usage);
            return EXIT_USAGE;
        } else if (!a->model_path)
            a->model_path = argv[i];
        else
            a->data.paths[a->data.n_paths++] = argv[i];
    }
    if (!a->model_path || !a->data.n_paths) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void close_session(model_args *a)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(a->cache.scores[h]);
    tlp_dataset_free(a->ds);
    tlp_model_free(a->m);
    free(a->data.paths);
}

/* Parse the arguments, load the model and the data, resolve --head.  -1 to
 * go on, else the exit status (everything is freed then). */
static int open_session(int argc, char **argv, model_args *a, const char *usage, int eval)
{
    int rc = parse_model_args(argc, argv, a, usage, eval);
    a->forced = -1;
    if (rc) {
        free(a->data.paths);
        return rc < 0 ? EXIT_OK : rc;
    }
    if (!(a->m = load_model(a->model_path, NULL, NULL, NULL)) || !(a->ds = cli_load(&a->data))) {
        close_session(a);
        return EXIT_FAIL;
    }
    const tlp_model_config *c = tlp_model_config_of(a->m);
    if (a->head && (a->forced = tlp_model_head(a->m, a->head)) < 0) {
        fprintf(stderr, "tlpx: the model has no head \"%s\" (heads:", a->head);
        for (int h = 0; h < c->n_heads; h++) fprintf(stderr, " %s", c->heads[h]);
        fprintf(stderr, ")\n");
        close_session(a);
        return EXIT_FAIL;
    }
    return -1;
}

int cmd_eval(int argc, char **argv)
{
    model_args a = {0};
    int rc = open_session(argc, argv, &a, EVAL_USAGE, 1);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    tlp_model *m = a.m;
    tlp_dataset *ds = a.ds;
    score_cache *cache = &a.cache;
    const tlp_model_config *c = tlp_model_config_of(m);
    int forced = a.forced;
    printf("model %s: %s, heads:", a.model_path, tlp_mode_name(c->mode));
    for (int h = 0; h < c->n_heads; h++) printf(" %s", c->heads[h]);
    printf("\n");
    if (a.per_task) {
        printf("%-6s %-10s %-8s %6s", "task", "hardware", "head", "n");
        for (int k = 0; k < a.n_k; k++) printf("  top-%-3d", a.ks[k]);
        printf("  pair-acc     tau  workload\n");
    }
    int any = 0;
    for (int h = 0; h < c->n_heads; h++) {
        if (forced >= 0 && h != forced) continue;
        double best_sum = 0, lat_sum[8] = {0}, acc_sum = 0, tau_sum = 0;
        int tasks = 0, acc_n = 0, tau_n = 0;
        for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
            const tlp_task *tk = tlp_dataset_task(ds, t);
            if (tk->mode != c->mode || tk->n_records == 0) continue;
            if (forced < 0 && head_for(m, tk, -1) != h) continue;
            const float *sc = scores_for(m, ds, cache, h);
            if (!sc) goto done;
            double *cost = malloc(sizeof(double) * tk->n_records);
            float *score = malloc(sizeof(float) * tk->n_records);
            if (!cost || !score) {
                free(cost), free(score);
                goto done;
            }
            for (uint32_t k = 0; k < tk->n_records; k++) {
                cost[k] = tlp_dataset_rec(ds, tk->records[k])->cost;
                score[k] = sc[tk->records[k]];
            }
            tlp_task_eval ev;
            if (tlp_eval_task(cost, score, (int)tk->n_records, a.ks, a.n_k, &ev) == TLP_OK) {
                tasks++;
                best_sum += tk->weight * ev.best;
                for (int k = 0; k < a.n_k; k++) lat_sum[k] += tk->weight * ev.lat_k[k];
                if (isfinite(ev.pair_acc)) acc_sum += ev.pair_acc, acc_n++;
                if (isfinite(ev.tau)) tau_sum += ev.tau, tau_n++;
                if (a.per_task) {
                    printf("%-6zu %-10s %-8s %6u", t, tk->hardware, c->heads[h], tk->n_records);
                    for (int k = 0; k < a.n_k; k++) printf("  %7.4f", ev.best / ev.lat_k[k]);
                    printf("  %8.4f %7.4f  %s\n", ev.pair_acc, ev.tau, tk->summary);
                }
            }
            free(cost), free(score);
        }
        if (!tasks) continue;
        any = 1;
        printf("head %s: %d tasks", c->heads[h], tasks);
        for (int k = 0; k < a.n_k; k++) printf("  top-%d %.4f", a.ks[k], best_sum / lat_sum[k]);
        printf("  pair-acc %.4f  tau %.4f\n", acc_n ? acc_sum / acc_n : NAN, tau_n ? tau_sum / tau_n : NAN);
    }
    if (!any) {
        fprintf(stderr, "tlpx: no %s tasks in DATA for this model's heads\n", tlp_mode_name(c->mode));
        goto done;
    }
    rc = EXIT_OK;
done:
    close_session(&a);
    return rc;
}

/* ------------------------------------------------------------ predict */

typedef struct {
    float score;
    uint32_t pos; /* position within the task */
} ranked_rec;

static int by_score_desc(const void *x, const void *y)
{
    const ranked_rec *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int cmd_predict(int argc, char **argv)
{
    model_args a = {0};
    int rc = open_session(argc, argv, &a, PREDICT_USAGE, 0);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    tlp_model *m = a.m;
    tlp_dataset *ds = a.ds;
    score_cache *cache = &a.cache;
    const tlp_model_config *c = tlp_model_config_of(m);
    int forced = a.forced;
    printf("task\thardware\trecord\tmeasured_cost\tpredicted_score\tpredicted_rank\n");
    size_t rows = 0;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        if (tk->mode != c->mode) continue;
        const float *sc = scores_for(m, ds, cache, head_for(m, tk, forced));
        if (!sc) goto done;
        ranked_rec *r = malloc(sizeof *r * (tk->n_records ? tk->n_records : 1));
        uint32_t *rank = malloc(sizeof *rank * (tk->n_records ? tk->n_records : 1));
        if (!r || !rank) {
            free(r), free(rank);
            goto done;
        }
        for (uint32_t k = 0; k < tk->n_records; k++) r[k] = (ranked_rec){sc[tk->records[k]], k};
        qsort(r, tk->n_records, sizeof *r, by_score_desc);
        for (uint32_t k = 0; k < tk->n_records; k++) rank[r[k].pos] = k + 1;
        for (uint32_t k = 0; k < tk->n_records; k++) {
            const tlp_rec *rec = tlp_dataset_rec(ds, tk->records[k]);
            printf("%s\t%s\t%s:%u\t%.9g\t%.7g\t%u\n", tk->workload_key, tk->hardware, tlp_dataset_file(ds, rec->file),
                   rec->line, rec->cost, (double)sc[tk->records[k]], rank[k]);
            rows++;
        }
        free(r), free(rank);
    }
    if (!rows) {
        fprintf(stderr, "tlpx: no %s records in DATA for this model\n", tlp_mode_name(c->mode));
        goto done;
    }
    rc = EXIT_OK;
done:
    close_session(&a);
    return rc;
}
