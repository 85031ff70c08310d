/*
 * app.c: the explorer's state without a terminal: the data and the models
 * (app_open, app_load_model), the per-task figures under the active heads,
 * the task list (sorted, filtered), and the selected task's candidates and
 * ranks.  The actions and the views read and change it; the jobs that
 * compute scores and train are the loop's (explore.c).
 */
#include "explore.h"
#include "../cli/scores.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

void app_message(app_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
}


/* ------------------------------------------------------------ the state */

/* --follow's log at the opening: what it holds, waiting for a first record
 * when there is none yet (a search that has just begun). */
static int follow_first(app_t *a, const char *path)
{
    snprintf(a->follow, sizeof a->follow, "%s", path);
    a->fw = (tlp_follow)TLP_FOLLOW_INIT;
    for (int said = 0;; said = 1) {
        tlp_error err = {0};
        struct stat st;
        if (stat(path, &st) == 0 || errno != ENOENT) { /* a log not yet made is waited for too */
            if (tlp_dataset_follow(a->ds, path, NULL, &a->fw, NULL, &err) != TLP_OK) {
                fprintf(stderr, "tlpx: %s: %s\n", err.file[0] ? err.file : path, err.msg);
                return -1;
            }
            tlp_dataset_finish(a->ds, NULL);
        }
        if (tlp_dataset_n_records(a->ds)) return 0;
        if (!said) fprintf(stderr, "tlpx: waiting for the first record of %s (Ctrl-C stops)\n", path);
        usleep(500 * 1000);
    }
}

int app_grow_tasks(app_t *a)
{
    size_t nt = tlp_dataset_n_tasks(a->ds), had = a->tscore ? a->n_tscore : 0;
    task_score *ts = realloc(a->tscore, sizeof *ts * (nt + 1));
    if (ts) a->tscore = ts;
    int *tr = realloc(a->task_rows, sizeof *tr * (nt + 1));
    if (tr) a->task_rows = tr;
    if (!ts || !tr) return -1;
    for (size_t t = had; t < nt; t++) {
        memset(&ts[t], 0, sizeof ts[t]);
        ts[t].top1 = ts[t].top5 = ts[t].rand1 = ts[t].cmp_top1 = ts[t].agree = NAN;
    }
    a->n_tscore = nt;
    app_hash_tasks(a); /* task indices may have moved */
    return 0;
}

int app_follow_poll(app_t *a)
{
    if (!a->follow[0] || app_busy(a)) return 0; /* the jobs read the data: it grows between them */
    tlp_error err = {0};
    size_t added = 0;
    tlp_status s = tlp_dataset_follow(a->ds, a->follow, NULL, &a->fw, &added, &err);
    if (s != TLP_OK && !a->follow_failed) app_message(a, "%s: %s", err.file[0] ? err.file : a->follow, err.msg);
    a->follow_failed = s != TLP_OK;
    if (!added) return 0;
    tlp_dataset_finish(a->ds, NULL);
    if (app_grow_tasks(a) != 0) {
        app_message(a, "out of memory");
        return 0;
    }
    a->follow_new += added;
    app_describe_data(a);
    app_message(a, "%s: %zu new records (%zu in all)", a->follow, added, tlp_dataset_n_records(a->ds));
    for (int m = 0; m < TLP_MODE_COUNT; m++) { /* the tasks the records went to are scored again */
        app_free_scores(&a->fam[m]);
        app_start_predict(a, (tlp_mode)m);
    }
    if (a->embedded) app_embedded_models(a, NULL); /* a family new to the session */
    app_compute_scores(a);
    app_sort_tasks(a);
    if (a->task >= 0) app_load_task(a, a->task);
    return 1;
}

int app_open(app_t *a, const cli_data_opts *d, const char *const *models, int n_models, int exact_padding,
             const char *follow)
{
    memset(a, 0, sizeof *a);
    a->exact_padding = exact_padding;
    a->task = -1;
    a->rec_i = a->best_i = -1;
    tlp_eval_sum_init(&a->eval, NULL, 0);
    a->replay_within = 0.05;
    tlp_record_init(&a->rec);
    tlp_record_init(&a->best_rec);
    for (int m = 0; m < TLP_MODE_COUNT; m++) a->fam[m].prev_head = a->fam[m].cmp_head = -1;
    if (d->n_paths ? !(a->ds = cli_load(d)) : !(a->ds = tlp_dataset_new())) return -1;
    if (follow && follow_first(a, follow) != 0) return -1;
    if (app_grow_tasks(a) != 0) {
        fprintf(stderr, "tlpx: out of memory\n");
        return -1;
    }
    a->mode = tlp_dataset_task(a->ds, 0)->mode;
    app_describe_data(a);
    tlp_set_threads(cli_default_threads());
    app_sort_tasks(a);
    for (int i = 0; i < n_models; i++) {
        if (app_load_model(a, models[i]) != 0) {
            fprintf(stderr, "tlpx: %s\n", a->msg);
            return -1;
        }
        if (app_fam(a)->unmatched) fprintf(stderr, "tlpx: %s\n", a->msg); /* before the screen hides it */
    }
    return 0;
}

void app_close(app_t *a)
{
    app_stop_jobs(a);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        app_free_scores(&a->fam[m]);
        tlp_model_free(a->fam[m].model);
        tlp_train_state_free(&a->fam[m].state);
        free(a->fam[m].was), free(a->fam[m].done), free(a->fam[m].taking);
    }
    free(a->tscore), free(a->task_rows), free(a->cand_rows), free(a->rank), free(a->mrank), free(a->prev_rank),
        free(a->cmp_rank);
    tlp_record_free(&a->rec);
    tlp_record_free(&a->best_rec);
    tlp_dataset_free(a->ds);
    memset(a, 0, sizeof *a);
}

family_t *app_fam(app_t *a) { return &a->fam[a->mode]; }

int app_steps(const app_t *a, tlp_mode m)
{
    return a->fam[m].model ? tlp_model_config_of(a->fam[m].model)->steps : tlp_mode_seq(m);
}

void app_free_scores(family_t *f)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) {
        free(f->scores[h]);
        f->scores[h] = NULL;
    }
}

float *app_scores_in_use(app_t *a, tlp_mode md)
{
    family_t *f = &a->fam[md];
    size_t n = tlp_dataset_n_records(a->ds);
    float *out = f->model ? malloc(sizeof(float) * (n ? n : 1)) : NULL;
    int any = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out[i] = NAN;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds); t++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, t);
        const float *sc = tk->mode == md ? app_task_scores(a, f->head, tk) : NULL;
        for (uint32_t k = 0; sc && k < tk->n_records; k++) out[tk->records[k]] = sc[tk->records[k]];
        any |= sc != NULL;
    }
    if (!any) {
        free(out);
        return NULL;
    }
    return out;
}


static int task_matches(app_t *a, int t);

void app_hash_tasks(app_t *a)
{
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds); t++)
        a->tscore[t].hash = tlp_workload_hash(tlp_dataset_task(a->ds, t)->workload_key);
}

/* Compare mode (a compare head): the compare head's top-1 of task t and
 * how far the two heads agree on its order (Kendall's tau-b between their
 * scores, tlp_eval_task's with one head's scores as the "cost"). */
static void compare_task(app_t *a, size_t t)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, t);
    family_t *f = &a->fam[tk->mode];
    const float *sa = app_task_scores(a, f->head, tk), *sb = f->cmp_head >= 0 ? app_task_scores(a, f->cmp_head, tk) : NULL;
    if (!sa || !sb || !tk->n_records) return;
    int ks[1] = {1}, n = (int)tk->n_records;
    tlp_task_eval ev;
    if (tlp_eval_dataset_task(a->ds, t, sb, ks, 1, &ev) == TLP_OK && ev.n_failed < ev.n) a->tscore[t].cmp_top1 = ev.best / ev.lat_k[0];
    double *neg = malloc(sizeof(double) * (size_t)n);
    float *x = malloc(sizeof(float) * (size_t)n);
    if (neg && x) {
        for (int k = 0; k < n; k++) neg[k] = -(double)sb[tk->records[k]], x[k] = sa[tk->records[k]];
        if (tlp_eval_task(neg, NULL, x, n, ks, 1, &ev) == TLP_OK) a->tscore[t].agree = ev.tau;
    }
    free(neg), free(x);
}

/* Per-task top-1/top-5 under each family's active head, and the figures
 * over the tasks of the family in use (mean, pooled, random, failed picks):
 * with each task by its own head, over all of them (as tlpx eval); with one
 * head for all, over the tasks measured on the head's hardware when there
 * are any (a K80 head scored on K80 measurements), else over all; with a
 * filter, over the tasks it shows. */
void app_compute_scores(app_t *a)
{
    size_t nt = tlp_dataset_n_tasks(a->ds);
    int ks[2] = {1, 5};
    tlp_eval_sum_init(&a->eval, ks, 2);
    a->eval_hw[0] = 0;
    const family_t *in_use = &a->fam[a->mode];
    if (in_use->model && in_use->head != HEAD_OWN) {
        const char *hn = tlp_model_config_of(in_use->model)->heads[in_use->head];
        for (size_t t = 0; t < nt && !a->eval_hw[0]; t++) {
            const tlp_task *tk = tlp_dataset_task(a->ds, t);
            if (tk->mode == a->mode && tk->hardware && !strcmp(tk->hardware, hn))
                snprintf(a->eval_hw, sizeof a->eval_hw, "%s", hn);
        }
    }
    a->eval_in_sample = 0;
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, t);
        family_t *f = &a->fam[tk->mode];
        a->tscore[t].top1 = a->tscore[t].top5 = a->tscore[t].rand1 = a->tscore[t].cmp_top1 = a->tscore[t].agree = NAN;
        a->tscore[t].failed1 = 0;
        compare_task(a, t);
        a->tscore[t].in_sample = f->model && tlp_model_trained_on(f->model, app_head(f, f->head, tk), a->tscore[t].hash);
        const float *sc = app_task_scores(a, f->head, tk);
        tlp_task_eval ev;
        if (!sc || !tk->n_records || tlp_eval_dataset_task(a->ds, t, sc, ks, 2, &ev) != TLP_OK) continue;
        if (ev.n_failed == ev.n) continue; /* every run failed: no best to come near */
        a->tscore[t].top1 = ev.best / ev.lat_k[0];
        a->tscore[t].top5 = ev.best / ev.lat_k[1];
        a->tscore[t].rand1 = ev.rand_top_k[0];
        a->tscore[t].failed1 = ev.failed_k[0] != 0;
        /* the tasks the filter shows; without one, those of the head's hardware (or all) */
        int counted = a->filter[0] ? task_matches(a, (int)t) : !a->eval_hw[0] || !strcmp(tk->hardware, a->eval_hw);
        if (tk->mode == a->mode && counted) {
            tlp_eval_sum_add(&a->eval, &ev, tk->weight);
            a->eval_in_sample += a->tscore[t].in_sample;
        }
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
    case 5: { /* compare mode: where the two heads disagree most first */
        double sa = cmp_app->tscore[i].agree, sb = cmp_app->tscore[j].agree;
        if (isnan(sa)) sa = 2;
        if (isnan(sb)) sb = 2;
        c = sa < sb ? -1 : sa > sb ? 1 : 0;
        break;
    }
    default: c = strcmp(a->summary, b->summary); break;
    }
    return c ? c : i - j;
}

const char *const APP_TASK_SORTS[APP_N_TASK_SORTS] = {"key", "hw", "n", "best", "score", "agree"};

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

long app_task_in_view(const app_t *a)
{
    return a->task >= 0 ? a->task : a->n_task_rows ? a->task_rows[a->task_cur] : -1;
}

void app_sort_tasks(app_t *a)
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

int app_head(const family_t *f, int choice, const tlp_task *tk)
{
    return cli_head_for(f->model, tk, choice == HEAD_OWN ? -1 : choice);
}

const char *app_head_name(const family_t *f, int choice)
{
    return choice == HEAD_OWN ? "own" : tlp_model_config_of(f->model)->heads[choice];
}

const float *app_task_scores(app_t *a, int choice, const tlp_task *tk)
{
    family_t *f = &a->fam[tk->mode];
    const float *sc = f->model && choice >= 0 ? f->scores[app_head(f, choice, tk)] : NULL;
    /* a task not scored yet (scoring goes task by task): none */
    return sc && tk->n_records && !isnan(sc[tk->records[0]]) ? sc : NULL;
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
void app_rank_of(app_t *a, const tlp_task *tk, const float *scores, int *ranks)
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

void app_sort_cands(app_t *a)
{
    if (a->task < 0) return;
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    int fresh = a->n_cand_rows == 0;
    uint32_t keep = fresh ? 0 : a->cand_rows[a->cand_cur];
    for (uint32_t k = 0; k < tk->n_records; k++) a->cand_rows[k] = k;
    a->n_cand_rows = (int)tk->n_records;
    const float *sc = app_task_scores(a, app_fam(a)->head, tk);
    cmp_ranks = a->cand_sort == 1 && sc ? a->rank : a->mrank;
    qsort(a->cand_rows, tk->n_records, sizeof *a->cand_rows, by_rank);
    a->cand_cur = 0;
    for (int i = 0; i < a->n_cand_rows && !fresh; i++)
        if (a->cand_rows[i] == keep) a->cand_cur = i;
}

/* Ranks under the active head, the previous head and the compare head. */
void app_rank_task_now(app_t *a)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = app_fam(a);
    app_rank_of(a, tk, NULL, a->mrank);
    const float *sc = app_task_scores(a, f->head, tk), *prev = f->was ? f->was : app_task_scores(a, f->prev_head, tk),
                *cmp = app_task_scores(a, f->cmp_head, tk);
    for (uint32_t k = 0; k < tk->n_records; k++) a->rank[k] = a->prev_rank[k] = a->cmp_rank[k] = 0;
    if (sc) app_rank_of(a, tk, sc, a->rank);
    if (prev && prev != sc) app_rank_of(a, tk, prev, a->prev_rank);
    if (cmp) app_rank_of(a, tk, cmp, a->cmp_rank);
}

void app_load_task(app_t *a, long t)
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
    app_rank_task_now(a);
    app_sort_cands(a);
}

void app_load_record(app_t *a)
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

/* ------------------------------------------------------------ models */

int app_load_model(app_t *a, const char *path)
{
    tlp_error err = {0};
    tlp_train_meta meta;
    tlp_train_state state;
    tlp_model *m = tlp_checkpoint_load(path, &meta, &state, &err);
    if (!m) {
        app_message(a, "%s: %s", err.file[0] ? err.file : path, err.msg);
        return -1;
    }
    tlp_mode md = tlp_model_config_of(m)->mode;
    family_t *f = &a->fam[md];
    app_stop_predict(f);
    tlp_model_free(f->model);
    app_free_scores(f);
    f->model = m;
    tlp_model_set_exact_padding(m, a->exact_padding);
    f->meta = meta;
    tlp_train_state_free(&f->state);
    f->state = state; /* :save writes it back: --resume keeps working */
    free(f->was);
    f->was = NULL;
    f->head = HEAD_OWN;
    f->prev_head = f->cmp_head = -1;
    f->dirty = 0;
    snprintf(f->path, sizeof f->path, "%s", path);
    /* hardware without a head is scored by head 0: said here and on stderr */
    const tlp_model_config *c = tlp_model_config_of(m);
    char names[256];
    a->mode = md;
    if ((f->unmatched = cli_heads_unmatched(m, a->ds, names, sizeof names)) > 0)
        app_message(a, "loaded %s (%s); no head for %s: scored by head %s", path, tlp_mode_name(md), names, c->heads[0]);
    else
        app_message(a, "loaded %s (%s, %d head%s)", path, tlp_mode_name(md), c->n_heads, c->n_heads == 1 ? "" : "s");
    app_start_predict(a, md);
    return 0;
}

void app_embedded_models(app_t *a, FILE *say)
{
    static const char *const names[TLP_MODE_COUNT] = CLI_EMBEDDED_MODELS;
    char dir[4096], path[4200], said[sizeof a->msg];
    if (cli_assets_dir(dir, sizeof dir) != 0) return;
    tlp_mode first = a->mode;
    snprintf(said, sizeof said, "%s", a->msg);
    for (int md = 0; md < TLP_MODE_COUNT; md++) {
        int has = 0;
        for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds) && !has; t++) has = tlp_dataset_task(a->ds, t)->mode == (tlp_mode)md;
        if (!has || a->fam[md].model) continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[md]);
        if (app_load_model(a, path) != 0) {
            if (say) fprintf(say, "tlpx: %s\n", a->msg);
            continue;
        }
        if (say) fprintf(say, "tlpx: no --model: the %s records are scored by the embedded %s\n", tlp_mode_name((tlp_mode)md), path);
        if (say && a->fam[md].unmatched) fprintf(say, "tlpx: %s\n", a->msg);
        if (said[0]) { /* what came before stays first on the message line */
            char msg[sizeof a->msg];
            snprintf(msg, sizeof msg, "%s; %s", said, a->msg);
            snprintf(a->msg, sizeof a->msg, "%s", msg);
        }
    }
    a->mode = first;
}

/* The data part of the status line. */
void app_describe_data(app_t *a)
{
    snprintf(a->data_desc, sizeof a->data_desc, "%zu tasks %zu rec", tlp_dataset_n_tasks(a->ds),
             tlp_dataset_n_records(a->ds));
}

