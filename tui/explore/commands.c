/*
 * commands.c: what the explorer's keys and :commands do.  Every key and
 * command is an action of actions.def; app_key maps a key to its action,
 * app_command parses a :command line, and app_do carries the action out on
 * the state of explore.h (explore.c owns the loop, the data and the jobs).
 */
#include "../cli/cli.h"
#include "explore.h"
#include "../cli/opts.h"
#include "../cli/train_settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void start_training(app_t *a, const char *args)
{
    if (a->train) {
        app_message(a, "a training is already running (:cancel stops it)");
        return;
    }
    /* the default recipe with 10 epochs, then the settings given, the
     * recipe first: the same settings as `tlpx train` (tlp_train_set) */
    tlp_train_opts o;
    tlp_train_recipe(&o, a->mode, TLP_RECIPE_DEFAULT);
    o.epochs = 10;
    o.threads = cli_default_threads();
    char buf[512];
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
            tlp_error se = {0};
            if (tlp_train_set(&o, w, eq ? eq + 1 : NULL, &se) != TLP_OK) {
                app_message(a, "train: %s", se.msg);
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
    family_t *f = app_fam(a);
    tlp_model *init = NULL;
    if (f->model && !fresh) {
        tlp_model_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = a->mode;
        cli_train_nets_of(&o, f->model);
        cfg.encode = o.encode[0];
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
    a->train = tlp_train_start(a->samples, &o, init, NULL, NULL, &err);
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


static void switch_head(app_t *a, int h)
{
    family_t *f = app_fam(a);
    if (!f->model) {
        app_message(a, "no %s model loaded (:load MODEL or :train)", tlp_mode_name(a->mode));
        return;
    }
    f->prev_head = f->head;
    f->head = h;
    app_compute_scores(a);
    app_sort_tasks(a);
    if (a->task >= 0) {
        app_rank_task_now(a);
        app_sort_cands(a);
    }
    app_message(a, "head %s", tlp_model_config_of(f->model)->heads[h]);
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
        if (c->top > 0) app_rank_of(a, tk, c->sc, rk);
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
    const float *sc = app_cur_scores(a, app_fam(a)->head);
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
        if (a->task < 0 && a->n_task_rows) app_load_task(a, a->task_rows[a->task_cur]);
        if (a->task < 0) return;
    }
    if (v == VIEW_TOKENS && a->n_cand_rows) app_load_record(a);
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
    family_t *f = app_fam(a);
    switch (act) {
    case ACT_DOWN: move_cursor(a, 1, 0); break;
    case ACT_UP: move_cursor(a, -1, 0); break;
    case ACT_PAGE_DOWN: move_cursor(a, page, 0); break;
    case ACT_PAGE_UP: move_cursor(a, -page, 0); break;
    case ACT_HOME: move_cursor(a, 0, -1); break;
    case ACT_END: move_cursor(a, 0, 1); break;
    case ACT_ENTER:
        if (a->view == VIEW_TASKS && a->n_task_rows) {
            app_load_task(a, a->task_rows[a->task_cur]);
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
            app_sort_cands(a);
            app_message(a, "candidates by %s rank", a->cand_sort ? "predicted" : "measured");
        } else {
            int k = (a->task_sort + 1) % APP_N_TASK_SORTS;
            if (arg && *arg)
                for (int i = 0; i < APP_N_TASK_SORTS; i++)
                    if (!strcmp(arg, APP_TASK_SORTS[i])) k = i;
            a->task_sort = k;
            app_sort_tasks(a);
            app_message(a, "tasks by %s", APP_TASK_SORTS[k]);
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
        app_sort_tasks(a);
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
        if (a->task >= 0) app_rank_task_now(a);
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
        app_compute_scores(a);
        app_message(a, "%s family: %s", tlp_mode_name(m), a->fam[m].model ? a->fam[m].path : "no model");
        break;
    }
    case ACT_TRAIN: start_training(a, arg); break;
    case ACT_CANCEL:
        if (a->train) {
            tlp_job_cancel(a->train);
            app_message(a, "cancelling...");
        } else if (f->predict) { /* scoring a big dataset: stop it, keep what was shown */
            tlp_job_cancel(f->predict);
            app_free_scores(f); /* a previous model's scores must not pass for this one's */
            app_compute_scores(a);
            app_message(a, "scoring cancelled: no predicted ranks (:load the model to score again)");
        } else
            app_message(a, "no training or scoring is running");
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
        if (tlp_checkpoint_save(path, f->model, NULL, NULL, &err) != TLP_OK)
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
        if (!one_path(a, "load", arg, path, sizeof path)) app_load_model(a, path);
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
        tlp_load_opts lo = {0};
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
        app_describe_data(a);
        for (int m = 0; m < TLP_MODE_COUNT; m++) {
            app_free_scores(&a->fam[m]);
            app_start_predict(a, (tlp_mode)m);
        }
        app_compute_scores(a);
        app_sort_tasks(a);
        break;
    }
    case ACT_EVAL:
        for (int m = 0; m < TLP_MODE_COUNT; m++) app_start_predict(a, (tlp_mode)m);
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

