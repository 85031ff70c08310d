/*
 * explore.c: the explorer's loop, its actions and its :commands.
 *
 * Design.  One thread owns curses and readline.  Long engine work (scores for
 * every head, training) runs on the engine's worker threads; each job has a
 * file descriptor that becomes readable when its progress changes, so the
 * loop polls stdin and the job fds together and never blocks on the engine.
 * Every key and command goes through ACTIONS (actions.def), which also makes
 * the help screen and the prompt's completion.
 */
#include "cli.h"
#include "explore.h"
#include "opts.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <term.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const action_t ACTIONS[ACT_COUNT] = {
#define X(id, k1, k2, cmd, args, help) {#id, k1, k2, cmd, args, help},
#include "actions.def"
#undef X
};

void app_message(app_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ scores */

static family_t *fam(app_t *a) { return &a->fam[a->mode]; }

static void free_scores(family_t *f)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) {
        free(f->scores[h]);
        f->scores[h] = NULL;
    }
}

static void start_predict(app_t *a, tlp_mode m)
{
    family_t *f = &a->fam[m];
    if (!f->model || !a->ds) return;
    if (f->predict) {
        tlp_job_cancel(f->predict);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL, NULL);
        f->predict = NULL;
    }
    tlp_error err = {0};
    f->predict = tlp_predict_start(f->model, a->ds, &err);
    if (!f->predict) app_message(a, "cannot predict: %s", err.msg);
}

static void sort_tasks(app_t *a);
static void load_task(app_t *a, long t);
static void compute_scores(app_t *a);

/* Per-task top-1/top-5 under each family's active head, and the figures
 * over the tasks of the family in use (mean, pooled, random, failed picks):
 * over the tasks measured on the head's hardware when there are any (a K80
 * head scored on K80 measurements), else over all of them. */
static void compute_scores(app_t *a)
{
    size_t nt = tlp_dataset_n_tasks(a->ds);
    int ks[2] = {1, 5};
    tlp_eval_sum_init(&a->eval, ks, 2);
    a->eval_hw[0] = 0;
    const family_t *in_use = &a->fam[a->mode];
    if (in_use->model) {
        const char *hn = tlp_model_config_of(in_use->model)->heads[in_use->head];
        for (size_t t = 0; t < nt && !a->eval_hw[0]; t++) {
            const tlp_task *tk = tlp_dataset_task(a->ds, t);
            if (tk->mode == a->mode && tk->hardware && !strcmp(tk->hardware, hn))
                snprintf(a->eval_hw, sizeof a->eval_hw, "%s", hn);
        }
    }
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, t);
        family_t *f = &a->fam[tk->mode];
        a->tscore[t].top1 = a->tscore[t].top5 = NAN;
        const float *sc = f->model ? f->scores[f->head] : NULL;
        tlp_task_eval ev;
        if (!sc || !tk->n_records || tlp_eval_dataset_task(a->ds, t, sc, ks, 2, &ev) != TLP_OK) continue;
        if (ev.n_failed == ev.n) continue; /* every run failed: no best to come near */
        a->tscore[t].top1 = ev.best / ev.lat_k[0];
        a->tscore[t].top5 = ev.best / ev.lat_k[1];
        if (tk->mode == a->mode && (!a->eval_hw[0] || !strcmp(tk->hardware, a->eval_hw)))
            tlp_eval_sum_add(&a->eval, &ev, tk->weight);
    }
}

int app_busy(const app_t *a)
{
    for (int m = 0; m < TLP_MODE_COUNT; m++)
        if (a->fam[m].predict) return 1;
    return a->train != NULL;
}

static void train_done(app_t *a);

/* Take what the jobs have finished; called when a job fd is readable. */
void app_poll_jobs(app_t *a)
{
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        family_t *f = &a->fam[m];
        if (!f->predict) continue;
        char buf[256];
        while (read(tlp_job_fd(f->predict), buf, sizeof buf) > 0) {
        }
        tlp_progress p;
        tlp_job_progress(f->predict, &p);
        if (p.state == TLP_JOB_RUNNING) continue;
        if (p.state == TLP_JOB_DONE) {
            free_scores(f);
            for (int h = 0; h < tlp_model_config_of(f->model)->n_heads; h++)
                f->scores[h] = tlp_job_take_scores(f->predict, h);
        } else if (p.state == TLP_JOB_FAILED)
            app_message(a, "predicting failed: %s", p.msg);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL, NULL);
        f->predict = NULL;
        compute_scores(a);
        sort_tasks(a);
        if (a->task >= 0) load_task(a, a->task);
    }
    if (a->train) {
        char buf[256];
        while (read(tlp_job_fd(a->train), buf, sizeof buf) > 0) {
        }
        tlp_job_progress(a->train, &a->prog);
        if (a->prog.state != TLP_JOB_RUNNING) train_done(a);
    }
}

/* ------------------------------------------------------------ task list */

static int cmp_key;
static app_t *cmp_app;

static int cmp_tasks(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    const tlp_task *a = tlp_dataset_task(cmp_app->ds, (size_t)i), *b = tlp_dataset_task(cmp_app->ds, (size_t)j);
    int c = 0;
    switch (cmp_key) {
    case 1: c = strcmp(a->hardware, b->hardware); break;
    case 2: c = a->n_records < b->n_records ? 1 : a->n_records > b->n_records ? -1 : 0; break;
    case 3: c = a->best_valid < b->best_valid ? -1 : a->best_valid > b->best_valid ? 1 : 0; break;
    case 4: {
        double sa = cmp_app->tscore[i].top1, sb = cmp_app->tscore[j].top1;
        if (isnan(sa)) sa = 2;
        if (isnan(sb)) sb = 2;
        c = sa < sb ? -1 : sa > sb ? 1 : 0; /* worst predicted first: what needs a look */
        break;
    }
    default: c = strcmp(a->summary, b->summary); break;
    }
    return c ? c : i - j;
}

static const char *const TASK_SORTS[] = {"key", "hw", "n", "best", "score"};

static int task_matches(app_t *a, int t)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
    char f[128];
    snprintf(f, sizeof f, "%s", a->filter);
    for (char *save = NULL, *w = strtok_r(f, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!strncmp(w, "hw=", 3) && strcmp(tk->hardware, w + 3) != 0) return 0;
        if (!strncmp(w, "op=", 3) && !strstr(tk->summary, w + 3)) return 0;
        if (!strncmp(w, "mode=", 5) && strcmp(tlp_mode_name(tk->mode), w + 5) != 0) return 0;
        if (!strncmp(w, "score<", 6) && !(a->tscore[t].top1 < atof(w + 6))) return 0;
        if (!strncmp(w, "score>", 6) && !(a->tscore[t].top1 > atof(w + 6))) return 0;
        if (!strchr(w, '=') && !strchr(w, '<') && !strchr(w, '>') && !strstr(tk->summary, w) &&
            !strstr(tk->workload_key, w))
            return 0;
    }
    return 1;
}

static void sort_tasks(app_t *a)
{
    int keep = a->n_task_rows ? a->task_rows[a->task_cur] : -1;
    a->n_task_rows = 0;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds); t++)
        if (task_matches(a, (int)t)) a->task_rows[a->n_task_rows++] = (int)t;
    cmp_app = a;
    cmp_key = a->task_sort;
    qsort(a->task_rows, (size_t)a->n_task_rows, sizeof *a->task_rows, cmp_tasks);
    a->task_cur = 0;
    for (int i = 0; i < a->n_task_rows; i++)
        if (a->task_rows[i] == keep) a->task_cur = i;
}

/* ------------------------------------------------------------ candidates */

static const float *cur_scores(app_t *a, int head)
{
    family_t *f = fam(a);
    return f->model && head >= 0 ? f->scores[head] : NULL;
}

static const float *rank_scores;
static const tlp_task *rank_task;
static const tlp_dataset *rank_ds;

static int by_pred(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    float a = rank_scores[rank_task->records[i]], b = rank_scores[rank_task->records[j]];
    if (a != b) return a > b ? -1 : 1;
    return i < j ? -1 : i > j;
}

static int by_cost(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    double a = tlp_dataset_rec(rank_ds, rank_task->records[i])->cost;
    double b = tlp_dataset_rec(rank_ds, rank_task->records[j])->cost;
    if (a != b) return a < b ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* ranks[pos] = 1-based rank of each record position under scores (or cost). */
static void rank_of(app_t *a, const tlp_task *tk, const float *scores, int *ranks)
{
    uint32_t n = tk->n_records, *o = malloc(sizeof *o * (n ? n : 1));
    if (!o) return;
    for (uint32_t k = 0; k < n; k++) o[k] = k;
    rank_task = tk;
    rank_ds = a->ds;
    rank_scores = scores;
    qsort(o, n, sizeof *o, scores ? by_pred : by_cost);
    for (uint32_t k = 0; k < n; k++) ranks[o[k]] = (int)k + 1;
    free(o);
}

static const int *cmp_ranks;
static int by_rank(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    return cmp_ranks[i] - cmp_ranks[j];
}

static void sort_cands(app_t *a)
{
    if (a->task < 0) return;
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    int fresh = a->n_cand_rows == 0;
    uint32_t keep = fresh ? 0 : a->cand_rows[a->cand_cur];
    for (uint32_t k = 0; k < tk->n_records; k++) a->cand_rows[k] = k;
    a->n_cand_rows = (int)tk->n_records;
    const float *sc = cur_scores(a, fam(a)->head);
    cmp_ranks = a->cand_sort == 1 && sc ? a->rank : a->mrank;
    qsort(a->cand_rows, tk->n_records, sizeof *a->cand_rows, by_rank);
    a->cand_cur = 0;
    for (int i = 0; i < a->n_cand_rows && !fresh; i++)
        if (a->cand_rows[i] == keep) a->cand_cur = i;
}

/* Ranks under the active head, the previous head and the compare head. */
static void rank_task_now(app_t *a)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = fam(a);
    rank_of(a, tk, NULL, a->mrank);
    const float *sc = cur_scores(a, f->head);
    for (uint32_t k = 0; k < tk->n_records; k++) a->rank[k] = a->prev_rank[k] = a->cmp_rank[k] = 0;
    if (sc) rank_of(a, tk, sc, a->rank);
    if (f->prev_head >= 0 && f->prev_head != f->head && cur_scores(a, f->prev_head))
        rank_of(a, tk, cur_scores(a, f->prev_head), a->prev_rank);
    if (f->cmp_head >= 0 && cur_scores(a, f->cmp_head)) rank_of(a, tk, cur_scores(a, f->cmp_head), a->cmp_rank);
}

static void load_task(app_t *a, long t)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
    size_t n = tk->n_records ? tk->n_records : 1;
    if (a->task != t) a->n_cand_rows = 0;
    a->task = t;
    if (tk->mode != a->mode) a->mode = tk->mode;
    free(a->cand_rows), free(a->rank), free(a->mrank), free(a->prev_rank), free(a->cmp_rank);
    a->cand_rows = malloc(sizeof *a->cand_rows * n);
    a->rank = calloc(n, sizeof *a->rank);
    a->mrank = calloc(n, sizeof *a->mrank);
    a->prev_rank = calloc(n, sizeof *a->prev_rank);
    a->cmp_rank = calloc(n, sizeof *a->cmp_rank);
    if (!a->cand_rows || !a->rank || !a->mrank || !a->prev_rank || !a->cmp_rank) {
        app_message(a, "out of memory");
        a->task = -1;
        return;
    }
    rank_task_now(a);
    sort_cands(a);
}

static void load_record(app_t *a)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    a->rec_i = tk->records[a->cand_rows[a->cand_cur]];
    tlp_error err = {0};
    if (tlp_dataset_read_record(a->ds, (size_t)a->rec_i, &a->rec, &err) != TLP_OK) {
        app_message(a, "%s:%ld: %s", err.file, err.line, err.msg);
        a->rec_i = -1;
    }
    /* the diff partner: the best measured candidate */
    a->best_i = -1;
    for (uint32_t k = 0; k < tk->n_records; k++)
        if (a->mrank[k] == 1) a->best_i = tk->records[k];
    if (a->best_i >= 0 && tlp_dataset_read_record(a->ds, (size_t)a->best_i, &a->best_rec, &err) != TLP_OK)
        a->best_i = -1;
    a->tok_top = 0;
}

/* ------------------------------------------------------------ training */

static void train_done(app_t *a)
{
    tlp_model *best = NULL;
    tlp_train_meta meta;
    tlp_error err = {0};
    tlp_progress p = a->prog;
    tlp_status s = tlp_job_finish(a->train, &best, &meta, NULL, NULL, &err);
    a->train = NULL;
    tlp_samples_free(a->samples);
    a->samples = NULL;
    if (p.state == TLP_JOB_CANCELLED || s != TLP_OK || !best) {
        tlp_model_free(best);
        if (p.state == TLP_JOB_CANCELLED) app_message(a, "training cancelled; the model in use is unchanged");
        else app_message(a, "training failed: %s; the model in use is unchanged", s ? err.msg : "no epoch finished");
        return;
    }
    family_t *f = &a->fam[a->train_mode];
    tlp_model_free(f->model);
    f->model = best;
    f->head = 0;
    f->prev_head = -1;
    f->cmp_head = -1;
    f->dirty = 1;
    free_scores(f);
    app_message(a, "training done (recipe %s, %s): epoch %d of %d kept (by %s); :save to keep it", meta.recipe,
                a->train_fine ? "fine-tuned" : "from scratch", meta.best_epoch, p.n_hist, meta.select);
    start_predict(a, a->train_mode);
}

static void start_training(app_t *a, const char *args)
{
    if (a->train) {
        app_message(a, "a training is already running (:cancel stops it)");
        return;
    }
    /* the default recipe with 10 epochs, then the settings given, the
     * recipe first: the same settings as `tlpx train` (cli_train_set) */
    tlp_train_opts o;
    tlp_train_recipe(&o, a->mode, TLP_RECIPE_DEFAULT);
    o.epochs = 10;
    o.threads = cli_default_threads();
    char buf[512], why[256];
    int fresh = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(w, '=');
            if (eq) *eq = 0;
            if ((pass == 0) != !strcmp(w, "recipe")) continue;
            if (!strcmp(w, "fresh") && !eq) {
                fresh = 1;
                continue;
            }
            if (cli_train_set(&o, w, eq ? eq + 1 : NULL, why, sizeof why)) {
                app_message(a, "train: %s", why);
                return;
            }
            if (pass == 0) o.epochs = 10; /* the explorer's default, unless epochs= follows */
        }
    }
    tlp_error err = {0};
    a->samples = tlp_samples_build(a->ds, &o, &err);
    if (!a->samples) {
        app_message(a, "train: %s", err.msg);
        return;
    }
    /* fine-tune the model in use (its trunk, its heads, fresh heads for new
     * hardware) unless asked to start over */
    family_t *f = fam(a);
    tlp_model *init = NULL;
    if (f->model && !fresh) {
        tlp_model_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = a->mode;
        cfg.encode = tlp_model_config_of(f->model)->encode;
        cfg.n_heads = tlp_samples_n_heads(a->samples);
        for (int h = 0; h < cfg.n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", tlp_samples_head(a->samples, h));
        init = tlp_model_adapt(f->model, &cfg, o.seed, &err);
        if (!init) {
            app_message(a, "train: cannot start from the model in use (%s); :train fresh starts over", err.msg);
            tlp_samples_free(a->samples);
            a->samples = NULL;
            return;
        }
    }
    a->train_mode = a->mode;
    a->train_fine = init != NULL;
    a->train = tlp_train_start(a->samples, &o, init, NULL, NULL, NULL, &err);
    tlp_model_free(init); /* the job has its own copy */
    if (!a->train) {
        app_message(a, "train: %s", err.msg);
        tlp_samples_free(a->samples);
        a->samples = NULL;
        return;
    }
    memset(&a->prog, 0, sizeof a->prog);
    a->prog.epochs = o.epochs;
    app_message(a, "training a %s model on %zu samples, %d epochs, %s (:cancel stops)", tlp_mode_name(a->mode),
                tlp_samples_count(a->samples), o.epochs, init ? "from the model in use" : "from scratch");
}

/* ------------------------------------------------------------ other commands */

static int load_model_file(app_t *a, const char *path)
{
    tlp_error err = {0};
    tlp_model *m = tlp_checkpoint_load(path, NULL, NULL, NULL, &err);
    if (!m) {
        app_message(a, "%s: %s", err.file[0] ? err.file : path, err.msg);
        return -1;
    }
    tlp_mode md = tlp_model_config_of(m)->mode;
    family_t *f = &a->fam[md];
    if (f->predict) {
        tlp_job_cancel(f->predict);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL, NULL);
        f->predict = NULL;
    }
    tlp_model_free(f->model);
    free_scores(f);
    f->model = m;
    f->head = 0;
    f->prev_head = f->cmp_head = -1;
    f->dirty = 0;
    snprintf(f->path, sizeof f->path, "%s", path);
    /* heads the data does not have are fine (scored on other hardware) but say so */
    int unknown = 0;
    const tlp_model_config *c = tlp_model_config_of(m);
    for (int h = 0; h < c->n_heads; h++) {
        int found = 0;
        for (size_t k = 0; k < tlp_dataset_n_hw(a->ds); k++) found |= !strcmp(tlp_dataset_hw(a->ds, k)->hardware, c->heads[h]);
        unknown += !found;
    }
    a->mode = md;
    if (unknown) app_message(a, "loaded %s (%s); %d of its heads have no data here", path, tlp_mode_name(md), unknown);
    else app_message(a, "loaded %s (%s, %d head%s)", path, tlp_mode_name(md), c->n_heads, c->n_heads == 1 ? "" : "s");
    start_predict(a, md);
    return 0;
}

static void switch_head(app_t *a, int h)
{
    family_t *f = fam(a);
    if (!f->model) {
        app_message(a, "no %s model loaded (:load MODEL or :train)", tlp_mode_name(a->mode));
        return;
    }
    f->prev_head = f->head;
    f->head = h;
    compute_scores(a);
    sort_tasks(a);
    if (a->task >= 0) {
        rank_task_now(a);
        sort_cands(a);
    }
    app_message(a, "head %s", tlp_model_config_of(f->model)->heads[h]);
}

/* The data part of the status line. */
static void describe_data(app_t *a)
{
    snprintf(a->data_desc, sizeof a->data_desc, "%zu tasks %zu rec", tlp_dataset_n_tasks(a->ds),
             tlp_dataset_n_records(a->ds));
}

/* Split a :command's arguments into words as a shell would: blanks
 * separate, '...' and "..." quote, a backslash escapes the next character.
 * Returns the number of words (at most max, each at most cap-1 bytes), or
 * -1 with an unterminated quote. */
static int split_words(const char *s, char (*w)[512], int max)
{
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        if (n == max) return n + 1; /* one too many: the caller says so */
        size_t k = 0;
        char q = 0;
        for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
            if (q && *s == q) q = 0;
            else if (!q && (*s == '\'' || *s == '"')) q = *s;
            else {
                if (*s == '\\' && s[1] && q != '\'') s++;
                if (k + 1 < 512) w[n][k++] = *s;
            }
        }
        if (q) return -1;
        w[n++][k] = 0;
    }
    return n;
}

/* The one PATH a command takes, unquoted, into out; 0, or -1 after saying why. */
static int one_path(app_t *a, const char *cmd, const char *arg, char *out, size_t cap)
{
    char w[2][512];
    int n = arg ? split_words(arg, w, 2) : 0;
    if (n == 1) {
        snprintf(out, cap, "%s", w[0]);
        return 0;
    }
    if (n < 0) app_message(a, "%s: a quote is not closed", cmd);
    else if (n == 0) app_message(a, "%s: PATH", cmd);
    else app_message(a, "%s: one PATH (quote a path with spaces, or put a backslash before each)", cmd);
    return -1;
}

/* What :export writes: the selected candidate, or the top K per task. */
typedef struct {
    app_t *a;
    int top;
    const float *sc;
    size_t written;
} export_ctx;

static tlp_status write_export(FILE *out, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    app_t *a = c->a;
    tlp_record r;
    tlp_record_init(&r);
    tlp_status st = TLP_OK;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds) && st == TLP_OK; t++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, t);
        if (c->top <= 0 && (long)t != a->task) continue;
        if (tk->mode != a->mode) continue;
        int *rk = calloc(tk->n_records ? tk->n_records : 1, sizeof *rk);
        if (!rk) {
            st = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            break;
        }
        if (c->top > 0) rank_of(a, tk, c->sc, rk);
        for (uint32_t k = 0; k < tk->n_records && st == TLP_OK; k++) {
            int pick = c->top > 0 ? rk[k] <= c->top : k == a->cand_rows[a->cand_cur];
            if (!pick) continue;
            if ((st = tlp_dataset_read_record(a->ds, tk->records[k], &r, err)) != TLP_OK) break;
            char *j = tlp_record_to_json(&r);
            if (!j) st = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            else if (fprintf(out, "%s\n", j) < 0) st = tlp_error_set(err, TLP_IO, NULL, 0, "write failed: %s", strerror(errno));
            else c->written++;
            free(j);
        }
        free(rk);
    }
    tlp_record_free(&r);
    return st;
}

static void export_records(app_t *a, const char *args)
{
    int top = 0;
    char words[4][512], *path = NULL;
    int nw = args ? split_words(args, words, 3) : 0;
    if (nw < 0 || nw > 2) {
        app_message(a, nw < 0 ? "export: a quote is not closed" : "export: [top=K] PATH (quote a path with spaces)");
        return;
    }
    for (int i = 0; i < nw; i++) {
        char *w = words[i];
        if (!strncmp(w, "top=", 4)) {
            char *end;
            long v = strtol(w + 4, &end, 10);
            if (!w[4] || *end || v < 1 || v > 1000000) {
                app_message(a, "export: top= takes a number of records per task (1 or more), not \"%s\"", w + 4);
                return;
            }
            top = (int)v;
        } else if (path) {
            app_message(a, "export: one PATH (a path with spaces: quote it)");
            return;
        } else
            path = w;
    }
    if (!path) {
        app_message(a, "export: [top=K] PATH");
        return;
    }
    const float *sc = cur_scores(a, fam(a)->head);
    if (top > 0 && !sc) {
        app_message(a, "export: no predictions yet (:load MODEL or :train)");
        return;
    }
    if (top <= 0 && !((a->view == VIEW_CANDS || a->view == VIEW_TOKENS) && a->n_cand_rows)) {
        app_message(a, "export: select a candidate first, or give top=K");
        return;
    }
    /* atomically, like every other output: a failed write leaves nothing */
    export_ctx c = {a, top, sc, 0};
    tlp_error err = {0};
    if (tlp_write_atomic(path, write_export, &c, &err) != TLP_OK)
        app_message(a, "export: %s: %s (nothing written)", path, err.msg);
    else
        app_message(a, "exported %zu record%s to %s (TVM's apply_history_best reads them)", c.written,
                    c.written == 1 ? "" : "s", path);
}

/* ------------------------------------------------------------ actions */

static void move_cursor(app_t *a, int delta, int to_end)
{
    int *cur = NULL, n = 0;
    switch (a->view) {
    case VIEW_TASKS: cur = &a->task_cur, n = a->n_task_rows; break;
    case VIEW_CANDS: cur = &a->cand_cur, n = a->n_cand_rows; break;
    case VIEW_TOKENS: cur = &a->tok_top, n = (int)a->rec.n_steps; break;
    case VIEW_HELP: cur = &a->help_top, n = ACT_COUNT; break;
    case VIEW_WARNINGS: cur = &a->warn_top, n = (int)tlp_dataset_n_diags(a->ds); break;
    default: return;
    }
    if (to_end < 0) *cur = 0;
    else if (to_end > 0) *cur = n - 1;
    else *cur += delta;
    if (*cur >= n) *cur = n - 1;
    if (*cur < 0) *cur = 0;
}

static int row_text_matches(app_t *a, int i)
{
    if (a->view == VIEW_TASKS) {
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task_rows[i]);
        return strstr(tk->summary, a->search) || strstr(tk->hardware, a->search) || strstr(tk->workload_key, a->search);
    }
    if (a->view == VIEW_CANDS) {
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
        const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[a->cand_rows[i]]);
        char t[64];
        snprintf(t, sizeof t, "%u %s", r->line, tlp_error_no_name(r->error_no));
        return strstr(t, a->search) != NULL;
    }
    return 0;
}

static void find(app_t *a, int dir)
{
    if (!a->search[0]) {
        app_message(a, "no search yet: / TEXT");
        return;
    }
    int n = a->view == VIEW_TASKS ? a->n_task_rows : a->view == VIEW_CANDS ? a->n_cand_rows : 0;
    int *cur = a->view == VIEW_TASKS ? &a->task_cur : &a->cand_cur;
    for (int k = 1; k <= n; k++) {
        int i = ((*cur + dir * k) % n + n) % n;
        if (row_text_matches(a, i)) {
            *cur = i;
            app_message(a, "/%s", a->search);
            return;
        }
    }
    app_message(a, "no match for \"%s\"", a->search);
}

static void open_view(app_t *a, view_id v)
{
    if (VIEW_OF_TASK(v)) {
        if (a->task < 0 && a->n_task_rows) load_task(a, a->task_rows[a->task_cur]);
        if (a->task < 0) return;
    }
    if (v == VIEW_TOKENS && a->n_cand_rows) load_record(a);
    if (v != a->view && (v == VIEW_HELP || v == VIEW_WARNINGS)) a->back_to = a->view;
    if (v != a->view && VIEW_IS_GRAPH(v) && !VIEW_IS_GRAPH(a->view) && a->view != VIEW_HELP &&
        a->view != VIEW_WARNINGS)
        a->plot_back = a->view;
    if (v != a->view) a->hscroll = 0;
    a->view = v;
}

/* Quit, unless work would be lost: then ask, and the next key answers. */
static void quit(app_t *a)
{
    int unsaved = 0;
    for (int m = 0; m < TLP_MODE_COUNT; m++) unsaved |= a->fam[m].model && a->fam[m].dirty;
    if (!unsaved && !a->train) {
        a->quit = 1;
        return;
    }
    a->confirm_quit = 1;
    app_message(a, "%s%s%s; quit anyway? (y: quit, any other key: stay)", a->train ? "a training is running" : "",
                a->train && unsaved ? " and " : "", unsaved ? "a trained model is not saved (:save PATH)" : "");
}

void app_do(app_t *a, action_id act, const char *arg)
{
    int page = views_body_rows() - 2;
    if (page < 1) page = 1;
    family_t *f = fam(a);
    switch (act) {
    case ACT_DOWN: move_cursor(a, 1, 0); break;
    case ACT_UP: move_cursor(a, -1, 0); break;
    case ACT_PAGE_DOWN: move_cursor(a, page, 0); break;
    case ACT_PAGE_UP: move_cursor(a, -page, 0); break;
    case ACT_HOME: move_cursor(a, 0, -1); break;
    case ACT_END: move_cursor(a, 0, 1); break;
    case ACT_ENTER:
        if (a->view == VIEW_TASKS && a->n_task_rows) {
            load_task(a, a->task_rows[a->task_cur]);
            open_view(a, VIEW_CANDS);
        } else if (a->view == VIEW_CANDS && a->n_cand_rows)
            open_view(a, VIEW_TOKENS);
        break;
    case ACT_BACK:
        a->hscroll = 0;
        if (a->view == VIEW_TASKS) quit(a);
        else if (a->view == VIEW_HELP || a->view == VIEW_WARNINGS) a->view = a->back_to;
        else if (VIEW_IS_GRAPH(a->view))
            a->view = a->plot_back == VIEW_TASKS || a->plot_back == VIEW_TOKENS ? a->plot_back : VIEW_CANDS;
        else if (a->view == VIEW_TOKENS) a->view = VIEW_CANDS;
        else a->view = VIEW_TASKS;
        break;
    case ACT_LEFT: a->hscroll = a->hscroll > 8 ? a->hscroll - 8 : 0; break;
    case ACT_RIGHT:
        if (!VIEW_IS_GRAPH(a->view) && a->hscroll < 4000) a->hscroll += 8;
        break;
    case ACT_NEXT_VIEW:
        if (arg && *arg) {
            static const char *const names[] = {"tasks", "candidates", "tokens", "plot", "replay"};
            for (int v = 0; v < 5; v++)
                if (!strncmp(names[v], arg, strlen(arg))) open_view(a, (view_id)v);
        } else
            open_view(a, a->view >= VIEW_REPLAY ? VIEW_TASKS : (view_id)(a->view + 1));
        break;
    case ACT_SEARCH:
        if (arg && *arg) {
            snprintf(a->search, sizeof a->search, "%s", arg);
            find(a, 1);
        } else {
            prompt_open(a);
            prompt_insert("search ");
        }
        break;
    case ACT_FIND_NEXT: find(a, 1); break;
    case ACT_FIND_PREV: find(a, -1); break;
    case ACT_SORT:
        if (a->view == VIEW_CANDS || a->view == VIEW_TOKENS) {
            if (arg && *arg) a->cand_sort = arg[0] == 'p';
            else a->cand_sort = !a->cand_sort;
            sort_cands(a);
            app_message(a, "candidates by %s rank", a->cand_sort ? "predicted" : "measured");
        } else {
            int k = (a->task_sort + 1) % 5;
            if (arg && *arg)
                for (int i = 0; i < 5; i++)
                    if (!strcmp(arg, TASK_SORTS[i])) k = i;
            a->task_sort = k;
            sort_tasks(a);
            app_message(a, "tasks by %s", TASK_SORTS[k]);
        }
        break;
    case ACT_FILTER:
        if (!arg) { /* the key: the prompt, with the filter in use to edit */
            char pre[160];
            snprintf(pre, sizeof pre, "filter %s", a->filter);
            prompt_open(a);
            prompt_insert(pre);
            break;
        }
        snprintf(a->filter, sizeof a->filter, "%s", arg);
        sort_tasks(a);
        a->view = VIEW_TASKS;
        app_message(a, a->filter[0] ? "filter: %s (%d tasks)" : "%s%d tasks", a->filter, a->n_task_rows);
        break;
    case ACT_HEAD: {
        if (!f->model) {
            app_message(a, "no %s model loaded (:load MODEL or :train)", tlp_mode_name(a->mode));
            break;
        }
        const tlp_model_config *c = tlp_model_config_of(f->model);
        int h = (f->head + 1) % c->n_heads;
        if (arg && *arg) {
            h = tlp_model_head(f->model, arg);
            if (h < 0) {
                char heads[256] = "";
                for (int k = 0; k < c->n_heads; k++) {
                    strncat(heads, " ", sizeof heads - strlen(heads) - 1);
                    strncat(heads, c->heads[k], sizeof heads - strlen(heads) - 1);
                }
                app_message(a, "no head \"%s\"; the %s model has:%s", arg, tlp_mode_name(a->mode), heads);
                break;
            }
        }
        switch_head(a, h);
        break;
    }
    case ACT_COMPARE:
        if (!f->model) {
            app_message(a, "no model loaded");
            break;
        }
        if (arg && *arg) {
            int h = tlp_model_head(f->model, arg);
            if (h < 0) {
                app_message(a, "no head \"%s\"", arg);
                break;
            }
            f->cmp_head = h;
        } else if (f->cmp_head >= 0)
            f->cmp_head = -1;
        else
            f->cmp_head = (f->head + 1) % tlp_model_config_of(f->model)->n_heads;
        if (a->task >= 0) rank_task_now(a);
        app_message(a, f->cmp_head >= 0 ? "compare with head %s" : "compare off%s",
                    f->cmp_head >= 0 ? tlp_model_config_of(f->model)->heads[f->cmp_head] : "");
        break;
    case ACT_DIFF:
        a->diff = !a->diff;
        if (a->view != VIEW_TOKENS) open_view(a, VIEW_TOKENS);
        app_message(a, a->diff ? "diff against the best measured candidate" : "diff off");
        break;
    case ACT_PLOT: open_view(a, VIEW_PLOT); break;
    case ACT_REPLAY:
        if (arg && *arg) {
            char *end;
            double w = strtod(arg, &end);
            if (*end || !(w >= 0 && w < 1000)) {
                app_message(a, "replay: PCT is how near the best counts, in percent (5), not \"%s\"", arg);
                break;
            }
            a->replay_within = w / 100;
        }
        open_view(a, VIEW_REPLAY);
        break;
    case ACT_WARNINGS: open_view(a, VIEW_WARNINGS); break;
    case ACT_HELP: open_view(a, VIEW_HELP); break;
    case ACT_PROMPT: prompt_open(a); break;
    case ACT_MODE: {
        tlp_mode m = a->mode == TLP_MODE_CPU ? TLP_MODE_GPU : TLP_MODE_CPU;
        if (arg && *arg) m = !strcmp(arg, "cpu") ? TLP_MODE_CPU : TLP_MODE_GPU;
        a->mode = m;
        compute_scores(a);
        app_message(a, "%s family: %s", tlp_mode_name(m), a->fam[m].model ? a->fam[m].path : "no model");
        break;
    }
    case ACT_TRAIN: start_training(a, arg); break;
    case ACT_CANCEL:
        if (!a->train) app_message(a, "no training is running");
        else {
            tlp_job_cancel(a->train);
            app_message(a, "cancelling...");
        }
        break;
    case ACT_SAVE: {
        if (!f->model) {
            app_message(a, "no %s model to save", tlp_mode_name(a->mode));
            break;
        }
        char given[512];
        if (arg && *arg && one_path(a, "save", arg, given, sizeof given)) break;
        const char *path = arg && *arg ? given : f->path[0] ? f->path : "tlpx-model.tlpx";
        tlp_error err = {0};
        if (tlp_checkpoint_save(path, f->model, NULL, NULL, NULL, &err) != TLP_OK)
            app_message(a, "%s: %s", err.file, err.msg);
        else {
            snprintf(f->path, sizeof f->path, "%s", path);
            f->dirty = 0;
            app_message(a, "saved %s", path);
        }
        break;
    }
    case ACT_LOAD: {
        char path[512];
        if (!one_path(a, "load", arg, path, sizeof path)) load_model_file(a, path);
        break;
    }
    case ACT_OPEN: {
        char path[512];
        if (one_path(a, "open", arg, path, sizeof path)) break;
        arg = path;
        if (a->train || app_busy(a)) {
            app_message(a, "busy: wait for the background work to end");
            break;
        }
        tlp_load_opts lo = {.quiet = 1};
        tlp_error err = {0};
        size_t before = tlp_dataset_n_records(a->ds);
        tlp_status s = tlp_dataset_add_path(a->ds, arg, NULL, &lo, &err);
        tlp_dataset_finish(a->ds, NULL);
        task_score *ts = realloc(a->tscore, sizeof *ts * (tlp_dataset_n_tasks(a->ds) + 1));
        int *tr = realloc(a->task_rows, sizeof *tr * (tlp_dataset_n_tasks(a->ds) + 1));
        if (ts) a->tscore = ts;
        if (tr) a->task_rows = tr;
        if (tlp_dataset_n_records(a->ds) != before) { /* task indices may have moved: back to the list */
            a->task = -1;
            a->n_cand_rows = 0;
            a->rec_i = -1;
            a->view = VIEW_TASKS;
        }
        if (s != TLP_OK) app_message(a, "%s: %s", err.file[0] ? err.file : arg, err.msg);
        else app_message(a, "%s: %zu records added", arg, tlp_dataset_n_records(a->ds) - before);
        describe_data(a);
        for (int m = 0; m < TLP_MODE_COUNT; m++) {
            free_scores(&a->fam[m]);
            start_predict(a, (tlp_mode)m);
        }
        compute_scores(a);
        sort_tasks(a);
        break;
    }
    case ACT_EVAL:
        for (int m = 0; m < TLP_MODE_COUNT; m++) start_predict(a, (tlp_mode)m);
        app_message(a, "recomputing predictions");
        break;
    case ACT_EXPORT: export_records(a, arg); break;
    case ACT_QUIT: quit(a); break;
    default: break;
    }
}

void app_command(app_t *a, const char *line)
{
    while (*line == ' ' || *line == ':') line++;
    if (!*line) return;
    char name[64];
    size_t n = strcspn(line, " ");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, line, n);
    name[n] = 0;
    const char *arg = line + n;
    while (*arg == ' ') arg++;
    for (int i = 0; i < ACT_COUNT; i++)
        if (ACTIONS[i].cmd && !strcmp(ACTIONS[i].cmd, name)) {
            app_do(a, (action_id)i, arg); /* "" for none; keys pass NULL */
            return;
        }
    if (!strcmp(name, "q")) {
        app_do(a, ACT_QUIT, NULL);
        return;
    }
    app_message(a, "unknown command \"%s\" (? lists them)", name);
}

void app_key(app_t *a, int key)
{
    if (a->prompt_active) {
        prompt_key(a, key);
        return;
    }
    if (key == KEY_RESIZE) return;
    if (a->confirm_quit) {
        a->confirm_quit = 0;
        if (key == 'y' || key == 'Y') a->quit = 1;
        else app_message(a, "not quitting");
        return;
    }
    for (int i = 0; i < ACT_COUNT; i++)
        if ((ACTIONS[i].key && ACTIONS[i].key == key) || (ACTIONS[i].key2 && ACTIONS[i].key2 == key)) {
            app_do(a, (action_id)i, NULL);
            return;
        }
    if (key == '\r') app_do(a, ACT_ENTER, NULL);
}

/* ------------------------------------------------------------ entry */

static const cli_opt EXPLORE_OPTS[] = {
    {"--model", "-m", "MODEL", "a model to score with (one per family, cpu and gpu; up to 8)"},
    {"--script", NULL, "FILE", "run keys and :commands from FILE without a terminal, print screen dumps"},
    {"--size", NULL, "WxH", "--script: the screen size (80x24)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd EXPLORE_CMD = {
    "explore", "DATA... [OPTIONS]",
    "The explorer: tasks, their candidate schedules with measured and predicted ranks,\n"
    "each schedule's primitives beside its TLP tokens, a plot, and training in the\n"
    "background.  ? inside lists every key and :command.  `tlpx DATA...` is the same.",
    EXPLORE_OPTS, 1};

typedef struct {
    cli_data_opts *d;
    const char *models[8], *script;
    int n_models, w, h;
} explore_args;

static int explore_arg(void *ctx, const cli_opt *o, const char *val)
{
    explore_args *e = ctx;
    if (!o) e->d->paths[e->d->n_paths++] = val;
    else if (!strcmp(o->name, "--model")) {
        if (e->n_models == 8) return cli_usage_error(&EXPLORE_CMD, "at most 8 --model");
        e->models[e->n_models++] = val;
    } else if (!strcmp(o->name, "--script"))
        e->script = val;
    else if (sscanf(val, "%dx%d", &e->w, &e->h) != 2 || e->w < 20 || e->h < 6 || e->w > 1000 || e->h > 500)
        return cli_usage_error(&EXPLORE_CMD, "--size is WxH, e.g. 80x24, not \"%s\"", val);
    return 0;
}

int cmd_explore(int argc, char **argv)
{
    cli_data_opts o = {0};
    explore_args ea = {&o, {NULL}, NULL, 0, 80, 24};
    o.paths = calloc((size_t)argc + 1, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = cli_parse(&EXPLORE_CMD, argc, argv, &o, explore_arg, &ea);
    if (rc >= 0) goto out;
    rc = EXIT_USAGE;
    const char **models = ea.models, *script = ea.script;
    int n_models = ea.n_models, w = ea.w, h = ea.h;
    /* no data and no model: the embedded default, real records of three
     * GPUs and the MTL model trained without them */
    static char dflt[4][4200];
    static const char *gpus[] = CLI_DEFAULT_GPUS;
    char dir[4096];
    if (!o.n_paths && !n_models && cli_assets_dir(dir, sizeof dir) == 0) {
        const char **more = realloc(o.paths, 4 * sizeof *o.paths);
        if (!more) goto out;
        o.paths = more;
        for (int i = 0; i < 3; i++) {
            snprintf(dflt[i], sizeof dflt[i], "%s=%s/roller/%s", gpus[i], dir, gpus[i]);
            o.paths[o.n_paths++] = dflt[i];
        }
        snprintf(dflt[3], sizeof dflt[3], "%s/%s", dir, CLI_DEFAULT_MODEL);
        models[n_models++] = dflt[3];
    }
    if (!o.n_paths) {
        fprintf(stderr, "tlpx: no record files given.  Point the explorer at Ansor/TenSet measure records:\n"
                        "  tlpx explore measure_records/k80/            (a directory, read recursively)\n"
                        "  tlpx explore K80=path/to/logs --model m.tlpx (NAME= names the hardware)\n");
        goto out;
    }
    o.quiet = 1;
    rc = EXIT_FAIL;
    app_t a;
    memset(&a, 0, sizeof a);
    a.task = -1;
    a.rec_i = a.best_i = -1;
    tlp_eval_sum_init(&a.eval, NULL, 0);
    a.replay_within = 0.05;
    tlp_record_init(&a.rec);
    tlp_record_init(&a.best_rec);
    for (int m = 0; m < TLP_MODE_COUNT; m++) a.fam[m].prev_head = a.fam[m].cmp_head = -1;
    a.ds = cli_load(&o);
    if (!a.ds) goto out;
    a.tscore = calloc(tlp_dataset_n_tasks(a.ds) + 1, sizeof *a.tscore);
    a.task_rows = calloc(tlp_dataset_n_tasks(a.ds) + 1, sizeof *a.task_rows);
    if (!a.tscore || !a.task_rows) goto done;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a.ds); t++) a.tscore[t].top1 = a.tscore[t].top5 = NAN;
    a.mode = tlp_dataset_task(a.ds, 0)->mode;
    describe_data(&a);
    tlp_set_threads(cli_default_threads());
    sort_tasks(&a);
    for (int i = 0; i < n_models; i++)
        if (load_model_file(&a, models[i]) != 0) {
            fprintf(stderr, "tlpx: %s\n", a.msg);
            goto done;
        }
    if (script) {
        rc = script_run(&a, script, w, h);
        goto done;
    }
    if (!isatty(0) || !isatty(1)) {
        fprintf(stderr, "tlpx: the explorer needs a terminal (or --script FILE)\n");
        goto done;
    }
    setlocale(LC_ALL, "");
    a.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    /* a terminal that cannot place the cursor (TERM=dumb, unknown TERM) gets
     * a sentence, not a screen of garbage */
    int terr = 0;
    const char *term = getenv("TERM");
    if (setupterm(NULL, 1, &terr) != OK || !cursor_address || !*cursor_address) {
        fprintf(stderr,
                "tlpx: the explorer needs a terminal that can move the cursor; TERM=%s cannot%s.\n"
                "Set TERM (xterm-256color, say), or use the subcommands (tlpx --help), which work anywhere.\n",
                term && *term ? term : "(unset)", terr == 0 && term && *term ? " (it is not in the terminfo database)" : "");
        goto done;
    }
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    const char *no_color = getenv("NO_COLOR"); /* no-color.org: set and not empty */
    a.color = has_colors() && !(no_color && *no_color);
    if (a.color) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_BLACK, COLOR_CYAN);
        init_pair(2, COLOR_GREEN, -1);
        init_pair(3, COLOR_RED, -1);
        init_pair(4, COLOR_YELLOW, -1);
        init_pair(5, COLOR_BLUE, -1);
    }
    prompt_init(&a);
    if (!a.msg[0]) app_message(&a, "? help  : command  Enter open  q back");
    while (!a.quit) {
        views_draw(&a);
        struct pollfd fds[4];
        int nf = 0;
        fds[nf++] = (struct pollfd){0, POLLIN, 0};
        for (int m = 0; m < TLP_MODE_COUNT; m++)
            if (a.fam[m].predict) fds[nf++] = (struct pollfd){tlp_job_fd(a.fam[m].predict), POLLIN, 0};
        if (a.train) fds[nf++] = (struct pollfd){tlp_job_fd(a.train), POLLIN, 0};
        int r = poll(fds, (nfds_t)nf, 250);
        if (r > 0 && nf > 1) app_poll_jobs(&a);
        /* keys, and KEY_RESIZE: ncurses' own SIGWINCH handler queues it and
         * the signal interrupts poll, so look even when stdin is quiet */
        nodelay(stdscr, TRUE);
        int key;
        while ((key = getch()) != ERR) {
            if (key == KEY_RESIZE) clearok(curscr, TRUE);
            app_key(&a, key);
        }
        nodelay(stdscr, FALSE);
        if (a.train) app_poll_jobs(&a);
    }
    prompt_done();
    endwin();
    rc = EXIT_OK;
done:
    if (a.train) {
        tlp_job_cancel(a.train);
        tlp_job_finish(a.train, NULL, NULL, NULL, NULL, NULL);
    }
    tlp_samples_free(a.samples);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        if (a.fam[m].predict) {
            tlp_job_cancel(a.fam[m].predict);
            tlp_job_finish(a.fam[m].predict, NULL, NULL, NULL, NULL, NULL);
        }
        free_scores(&a.fam[m]);
        tlp_model_free(a.fam[m].model);
    }
    free(a.tscore), free(a.task_rows), free(a.cand_rows), free(a.rank), free(a.mrank), free(a.prev_rank),
        free(a.cmp_rank);
    tlp_record_free(&a.rec);
    tlp_record_free(&a.best_rec);
    tlp_dataset_free(a.ds);
out:
    free(o.paths);
    return rc;
}
