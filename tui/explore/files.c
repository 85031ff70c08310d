/* files.c: the actions that read and write files: a model (:save, :load),
 * more records (:open: the task list starts over, every family scores
 * again) and TVM records (:export).  A PATH is one word as a shell would
 * split it (quotes, backslashes). */
#include "explore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void tui_files_export(app_t *a, const char *args)
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
    if (top <= 0 && !((VIEW_OPS[a->view]->flags & VIEW_OF_CAND) && a->n_cand_rows)) {
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
    if (tlp_checkpoint_save(path, f->model, NULL, NULL, &err) != TLP_OK) {
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
}

void tui_files_open(app_t *a, const char *arg)
{
    char path[512];
    if (one_path(a, "open", arg, path, sizeof path)) return;
    if (a->train || app_busy(a)) {
        app_message(a, "busy: wait for the background work to end");
        return;
    }
    tlp_load_opts lo = {0};
    tlp_error err = {0};
    size_t before = tlp_dataset_n_records(a->ds);
    tlp_status s = tlp_dataset_add_path(a->ds, path, NULL, &lo, &err);
    tlp_dataset_finish(a->ds, NULL);
    grow_tasks(a, before);
    if (s != TLP_OK) app_message(a, "%s: %s", err.file[0] ? err.file : path, err.msg);
    else app_message(a, "%s: %zu records added", path, tlp_dataset_n_records(a->ds) - before);
    app_describe_data(a);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        app_free_scores(&a->fam[m]);
        app_start_predict(a, (tlp_mode)m);
    }
    app_compute_scores(a);
    app_sort_tasks(a);
}
