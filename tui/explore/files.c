/* files.c: the actions that read and write files: a model (:save, :load),
 * more records (:open: the task list starts over, every family scores
 * again) and TVM records (:export).  A PATH is one word as a shell would
 * split it (quotes, backslashes). */
#include "explore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Split a :command's arguments into words as a shell would: blanks
 * separate, '...' and "..." quote, a backslash escapes the next character,
 * and an unquoted ~ opening a word (alone, or before /) is $HOME.
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
        const char *home = getenv("HOME");
        if (*s == '~' && (!s[1] || s[1] == '/' || s[1] == ' ' || s[1] == '\t') && home && *home) {
            k = (size_t)snprintf(w[n], 512, "%s", home);
            if (k > 511) k = 511;
            s++;
        }
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

/* What :export writes: of one hardware's tasks, the selected candidate,
 * or the best measured of the model's top K in each task of the task list
 * (what a tuner keeps after measuring the model's K picks). */
typedef struct {
    app_t *a;
    int top, failed, nothing; /* nothing: the log would be empty */
    const char *hw;
    long cand;     /* the selected candidate's position in a->task, or -1 */
    int *rank;     /* the task's predicted ranks, and which task they are of */
    long rank_of;
    unsigned char *listed; /* the tasks the task list shows */
    tlp_log_counts c;
} export_ctx;

static int export_pick(void *ctx, size_t t, uint32_t k)
{
    export_ctx *c = ctx;
    if (c->cand >= 0) return (long)t == c->a->task && (long)k == c->cand;
    const tlp_task *tk = tlp_dataset_task(c->a->ds, t);
    const float *sc = app_task_scores(c->a, c->a->fam[tk->mode].head, tk);
    if (!c->listed[t] || tk->mode != c->a->mode || !sc) return 0;
    if (c->rank_of != (long)t) {
        app_rank_of(c->a, tk, sc, c->rank);
        c->rank_of = (long)t;
    }
    return c->rank[k] <= c->top;
}

static tlp_status write_export(FILE *out, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    tlp_log_opts lo = {c->hw, export_pick, c, c->failed};
    tlp_status st = tlp_write_best_log(out, c->a->ds, &lo, &c->c, err);
    if (st == TLP_OK && (c->nothing = !c->c.written)) st = tlp_error_set(err, TLP_ARG, NULL, 0, "nothing to write"); /* no empty file */
    return st;
}

/* The hardware :export writes: hw= given, else the filter's, else the
 * selected task's or the one under the cursor; NULL after saying why. */
static const char *export_hw(app_t *a, const char *given)
{
    if (given) {
        for (size_t i = 0; i < tlp_dataset_n_hw(a->ds); i++)
            if (!strcmp(tlp_dataset_hw(a->ds, i)->hardware, given)) return tlp_dataset_hw(a->ds, i)->hardware;
        app_message(a, "export: no hardware \"%s\" in the data", given);
        return NULL;
    }
    const char *f = strstr(a->filter, "hw=");
    if (f && (f == a->filter || f[-1] == ' ')) {
        for (size_t i = 0; i < tlp_dataset_n_hw(a->ds); i++) {
            const char *h = tlp_dataset_hw(a->ds, i)->hardware;
            if (!strncmp(f + 3, h, strlen(h)) && (!f[3 + strlen(h)] || f[3 + strlen(h)] == ' ')) return h;
        }
    }
    long t = app_task_in_view(a);
    if (t < 0) app_message(a, "export: no task in view (hw=NAME says whose records)");
    return t < 0 ? NULL : tlp_dataset_task(a->ds, (size_t)t)->hardware;
}

static void export_said(app_t *a, const export_ctx *c, const char *path)
{
    char more[160] = "";
    if (c->c.all_failed)
        snprintf(more, sizeof more, "; %zu task%s left out (the picks all failed: `failed` writes them)",
                 c->c.all_failed, c->c.all_failed == 1 ? "" : "s");
    else if (c->c.failed_written)
        snprintf(more, sizeof more, " (a failed run: apply_history_best skips it)");
    if (c->cand >= 0) app_message(a, "exported the selected %s candidate to %s%s", c->hw, path, more);
    else
        app_message(a, "exported %zu %s record%s to %s: the best measured of the model's top %d%s", c->c.written, c->hw,
                    c->c.written == 1 ? "" : "s", path, c->top, more);
}

/* :export [top=K] [hw=NAME] [failed] PATH */
void tui_files_export(app_t *a, const char *args)
{
    int top = 0, failed = 0;
    char words[5][512], *path = NULL, *hw = NULL;
    int nw = args ? split_words(args, words, 4) : 0;
    if (nw < 0 || nw > 4) {
        app_message(a, nw < 0 ? "export: a quote is not closed" : "export: [top=K] [hw=NAME] [failed] PATH (quote a path with spaces)");
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
        } else if (!strncmp(w, "hw=", 3))
            hw = w + 3;
        else if (!strcmp(w, "failed"))
            failed = 1;
        else if (path) {
            app_message(a, "export: one PATH (a path with spaces: quote it)");
            return;
        } else
            path = w;
    }
    if (!path) {
        app_message(a, "export: [top=K] [hw=NAME] [failed] PATH");
        return;
    }
    export_ctx c = {a, top, failed, 0, NULL, -1, NULL, -1, NULL, {0}};
    if (top <= 0) {
        if (!((VIEW_OPS[a->view]->flags & VIEW_OF_CAND) && a->n_cand_rows)) {
            app_message(a, "export: select a candidate first, or give top=K");
            return;
        }
        c.cand = a->cand_rows[a->cand_cur];
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
        if (tlp_dataset_rec(a->ds, tk->records[c.cand])->error_no && !failed) {
            app_message(a, "export: this candidate's run failed (%s): apply_history_best skips it; `failed` writes it anyway",
                        tlp_error_no_name(tlp_dataset_rec(a->ds, tk->records[c.cand])->error_no));
            return;
        }
        c.hw = tk->hardware;
    } else if (!app_fam(a)->model || !app_fam(a)->scores[0]) {
        app_message(a, "export: no predictions yet (%s)", app_fam(a)->model ? "they are being computed" : ":load MODEL or :train");
        return;
    } else if (!(c.hw = export_hw(a, hw)))
        return;
    size_t nt = tlp_dataset_n_tasks(a->ds);
    uint32_t most = 1;
    for (size_t t = 0; t < nt; t++)
        if (tlp_dataset_task(a->ds, t)->n_records > most) most = tlp_dataset_task(a->ds, t)->n_records;
    c.listed = calloc(nt + 1, 1);
    c.rank = malloc(sizeof *c.rank * most);
    if (!c.listed || !c.rank) {
        app_message(a, "export: out of memory");
        free(c.listed), free(c.rank);
        return;
    }
    for (int i = 0; i < a->n_task_rows; i++) c.listed[a->task_rows[i]] = 1;
    /* atomically, like every other output: a failed write leaves nothing */
    tlp_error err = {0};
    if (tlp_write_atomic(path, write_export, &c, &err) == TLP_OK)
        export_said(a, &c, path);
    else if (c.nothing)
        app_message(a, "export: nothing to write for %s%s; %s not written", c.hw,
                    c.c.all_failed ? ": the picks all failed (`failed` writes them)" : " in the task list", path);
    else
        app_message(a, "export: %s: %s (nothing written)", path, err.msg);
    free(c.listed), free(c.rank);
}

void tui_files_save(app_t *a, const char *arg)
{
    family_t *f = app_fam(a);
    if (!f->model) {
        app_message(a, "no %s model to save", tlp_mode_name(a->mode));
        return;
    }
    char given[512];
    if (arg && *arg && one_path(a, "save", arg, given, sizeof given)) return;
    const char *path = arg && *arg ? given : f->path[0] ? f->path : "tlpx-model.tlpx";
    tlp_error err = {0};
    if (tlp_checkpoint_save(path, f->model, &f->meta, f->state.m ? &f->state : NULL, &err) != TLP_OK) {
        app_message(a, "%s: %s", err.file, err.msg);
        return;
    }
    snprintf(f->path, sizeof f->path, "%s", path);
    f->dirty = 0;
    app_message(a, "saved %s", path);
}

void tui_files_load(app_t *a, const char *arg)
{
    char path[512];
    if (!one_path(a, "load", arg, path, sizeof path)) app_load_model(a, path);
}

/* After records were added: room for the new tasks, and the selection
 * dropped when the tasks may have moved. */
static void grow_tasks(app_t *a, size_t before)
{
    app_grow_tasks(a);
    if (tlp_dataset_n_records(a->ds) != before) { /* task indices may have moved: back to the list */
        a->task = -1;
        a->n_cand_rows = 0;
        a->rec_i = -1;
        a->view = VIEW_TASKS;
    }
}

void tui_files_open(app_t *a, const char *arg)
{
    char word[512], name[TLP_HEAD_NAME];
    const char *path;
    if (one_path(a, "open", arg, word, sizeof word)) return;
    cli_split_data_arg(word, name, sizeof name, &path); /* NAME=PATH as on the command line */
    if (a->train || app_busy(a)) {
        app_message(a, "busy: wait for the background work to end");
        return;
    }
    tlp_load_opts lo = {0};
    tlp_error err = {0};
    size_t before = tlp_dataset_n_records(a->ds);
    tlp_status s = tlp_dataset_add_path(a->ds, path, name[0] ? name : NULL, &lo, &err);
    tlp_dataset_finish(a->ds, NULL);
    size_t added = tlp_dataset_n_records(a->ds) - before;
    if (s != TLP_OK) app_message(a, "%s: %s%s", err.file[0] ? err.file : path, err.msg, added ? "" : " (nothing opened)");
    else app_message(a, "%s: %zu records added%s%s", path, added, name[0] ? " as " : "", name);
    if (!added) return; /* the tasks, ranks and scores stay as they were */
    grow_tasks(a, before);
    app_describe_data(a);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        app_free_scores(&a->fam[m]);
        app_start_predict(a, (tlp_mode)m);
    }
    if (a->embedded) app_embedded_models(a, NULL); /* a family new to the session */
    app_compute_scores(a);
    app_sort_tasks(a);
}
