/*
 * explore.c: the explorer's state and loop: data, models, predictions and
 * training jobs, sorting and ranking; the keys and :commands are commands.c.
 *
 * Design.  One thread owns curses and readline.  Long engine work (scores for
 * every head, training) runs on the engine's worker threads; each job has a
 * file descriptor that becomes readable when its progress changes, so the
 * loop polls stdin and the job fds together and never blocks on the engine.
 * Every key and command goes through ACTIONS (actions.def), which also makes
 * the help screen and the prompt's completion.
 */
#include "../cli/cli.h"
#include "explore.h"
#include "../cli/opts.h"

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

family_t *app_fam(app_t *a) { return &a->fam[a->mode]; }

void app_free_scores(family_t *f)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) {
        free(f->scores[h]);
        f->scores[h] = NULL;
    }
}

void app_start_predict(app_t *a, tlp_mode m)
{
    family_t *f = &a->fam[m];
    if (!f->model || !a->ds) return;
    if (f->predict) {
        tlp_job_cancel(f->predict);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL);
        f->predict = NULL;
    }
    tlp_error err = {0};
    f->predict = tlp_predict_start(f->model, a->ds, &err);
    if (!f->predict) app_message(a, "cannot predict: %s", err.msg);
}

/* Per-task top-1/top-5 under each family's active head, and the figures
 * over the tasks of the family in use (mean, pooled, random, failed picks):
 * over the tasks measured on the head's hardware when there are any (a K80
 * head scored on K80 measurements), else over all of them. */
void app_compute_scores(app_t *a)
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
            app_free_scores(f);
            for (int h = 0; h < tlp_model_config_of(f->model)->n_heads; h++)
                f->scores[h] = tlp_job_take_scores(f->predict, h);
        } else if (p.state == TLP_JOB_FAILED)
            app_message(a, "predicting failed: %s", p.msg);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL);
        f->predict = NULL;
        app_compute_scores(a);
        app_sort_tasks(a);
        if (a->task >= 0) app_load_task(a, a->task);
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

const char *const APP_TASK_SORTS[APP_N_TASK_SORTS] = {"key", "hw", "n", "best", "score"};

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

const float *app_cur_scores(app_t *a, int head)
{
    family_t *f = app_fam(a);
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
    const float *sc = app_cur_scores(a, app_fam(a)->head);
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
    const float *sc = app_cur_scores(a, f->head);
    for (uint32_t k = 0; k < tk->n_records; k++) a->rank[k] = a->prev_rank[k] = a->cmp_rank[k] = 0;
    if (sc) app_rank_of(a, tk, sc, a->rank);
    if (f->prev_head >= 0 && f->prev_head != f->head && app_cur_scores(a, f->prev_head))
        app_rank_of(a, tk, app_cur_scores(a, f->prev_head), a->prev_rank);
    if (f->cmp_head >= 0 && app_cur_scores(a, f->cmp_head)) app_rank_of(a, tk, app_cur_scores(a, f->cmp_head), a->cmp_rank);
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

/* ------------------------------------------------------------ training */

static void train_done(app_t *a)
{
    tlp_model *best = NULL;
    tlp_train_meta meta;
    tlp_error err = {0};
    tlp_progress p = a->prog;
    tlp_status s = tlp_job_finish(a->train, &best, &meta, NULL, &err);
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
    app_free_scores(f);
    char nets[32] = "";
    if (meta.n_nets > 1) snprintf(nets, sizeof nets, ", %d networks", meta.n_nets);
    app_message(a, "training done (recipe %s, %s%s): epoch %d of %d kept (by %s); :save to keep it", meta.recipe,
                a->train_fine ? "fine-tuned" : "from scratch", nets, meta.best_epoch, p.epoch, meta.select);
    app_start_predict(a, a->train_mode);
}

/* ------------------------------------------------------------ other commands */

int app_load_model(app_t *a, const char *path)
{
    tlp_error err = {0};
    tlp_model *m = tlp_checkpoint_load(path, NULL, NULL, &err);
    if (!m) {
        app_message(a, "%s: %s", err.file[0] ? err.file : path, err.msg);
        return -1;
    }
    tlp_mode md = tlp_model_config_of(m)->mode;
    family_t *f = &a->fam[md];
    if (f->predict) {
        tlp_job_cancel(f->predict);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL);
        f->predict = NULL;
    }
    tlp_model_free(f->model);
    app_free_scores(f);
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
    app_start_predict(a, md);
    return 0;
}

/* The data part of the status line. */
void app_describe_data(app_t *a)
{
    snprintf(a->data_desc, sizeof a->data_desc, "%zu tasks %zu rec", tlp_dataset_n_tasks(a->ds),
             tlp_dataset_n_records(a->ds));
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
    "background.  ? inside lists every key and :command.  `tlpx DATA...` is the same.\n"
    "With no DATA and no --model: the embedded default (real records of three GPUs and\n"
    "the MTL model; tlpx --assets says where they are).",
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
    app_describe_data(&a);
    tlp_set_threads(cli_default_threads());
    app_sort_tasks(&a);
    for (int i = 0; i < n_models; i++)
        if (app_load_model(&a, models[i]) != 0) {
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
        tlp_job_finish(a.train, NULL, NULL, NULL, NULL);
    }
    tlp_samples_free(a.samples);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        if (a.fam[m].predict) {
            tlp_job_cancel(a.fam[m].predict);
            tlp_job_finish(a.fam[m].predict, NULL, NULL, NULL, NULL);
        }
        app_free_scores(&a.fam[m]);
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
