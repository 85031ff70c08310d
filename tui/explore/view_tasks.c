/* view_tasks.c: the task list: a row per task (filtered and sorted by
 * app.c), its best measured latency and the model's top-1/top-5 figures;
 * weak top-1s stand out.  A row scored by a head not of its hardware names
 * the head (the column shows only then); a task the head was trained on
 * says so in the column "in-sample".  Enter opens the task's
 * candidates; back quits. */
#include "explore.h"

#include <math.h>
#include <string.h>

/* The head that scores task t when it is not of t's hardware, else NULL. */
static const char *other_head(app_t *a, int t)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
    const family_t *f = &a->fam[tk->mode];
    if (!f->model) return NULL;
    const char *h = tlp_model_config_of(f->model)->heads[app_head(f, f->head, tk)];
    return strcmp(h, tk->hardware) ? h : NULL;
}

/* s into out, at most w characters: the middle elided ("conv2d_layer(1,
 * 16...3, 1, 1)"), where a layer's name and its last arguments both tell. */
static void elide(const char *s, int w, char *out, size_t cap)
{
    int n = (int)strlen(s);
    if (n <= w || w < 9) {
        snprintf(out, cap, "%s", s);
        return;
    }
    /* the operator's name whole when it leaves room for a tail */
    const char *paren = strchr(s, '(');
    int name = paren ? (int)(paren - s) + 1 : 0, head = (w - 3) * 2 / 3;
    if (name > head && name <= w - 3 - 4) head = name;
    int tail = w - 3 - head;
    snprintf(out, cap, "%.*s...%s", head, s, s + n - tail);
}

/* The task list: columns that would say the same on every row (one mode,
 * weights all 1) are left out, and the workload, the column that names the
 * layer, gets the rest of the width with its middle elided; sideways
 * scrolling keeps the task and hardware in view. */
static void draw_tasks(app_t *a, int top, int rows)
{
    int by = 0, ins = 0, modes = 0, weights = 0, cmp = 0;
    for (int i = 0; i < a->n_task_rows; i++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task_rows[i]);
        by |= other_head(a, a->task_rows[i]) != NULL;
        cmp |= !isnan(a->tscore[a->task_rows[i]].agree);
        ins |= a->tscore[a->task_rows[i]].in_sample;
        modes |= 1 << tk->mode;
        weights |= tk->weight != 1;
    }
    int show_mode = modes & (modes - 1), freeze = 17;
    char hdr[256], cmph[32] = "";
    const family_t *fam = &a->fam[a->mode];
    if (cmp && fam->model && fam->cmp_head >= 0) /* compare mode: the other head's top-1, and how far the two agree */
        snprintf(cmph, sizeof cmph, " %6.6s %6s", tlp_model_config_of(fam->model)->heads[fam->cmp_head], "agree");
    else
        cmp = 0;
    int x = snprintf(hdr, sizeof hdr, "%5s %-10s %s%9s %10s %s%6s %6s%s%s%s  ", "task", "hardware", show_mode ? "mode " : "",
                     "valid/n", "best", weights ? "weight " : "", "top-1", "top-5", cmph, by ? " by head" : "",
                     ins ? " in-sample" : "");
    tui_draw_freeze(freeze);
    tui_draw_put(top, 0, "%sworkload", hdr);
    mvchgat(top, 0, -1, A_BOLD, 0, NULL);
    rows--;
    if (a->task_cur < a->task_top) a->task_top = a->task_cur;
    if (a->task_cur >= a->task_top + rows) a->task_top = a->task_cur - rows + 1;
    for (int i = 0; i < rows && a->task_top + i < a->n_task_rows; i++) {
        int t = a->task_rows[a->task_top + i];
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
        char best[24], vt[24], s1[16] = "     -", s5[16] = "     -", line[1024], mode[8] = "", wt[16] = "", work[512];
        cli_fmt_seconds(tk->best_valid, best, sizeof best);
        if (!isfinite(tk->best_valid)) snprintf(best, sizeof best, "all failed");
        snprintf(vt, sizeof vt, "%u/%u", tk->n_valid, tk->n_records);
        if (!isnan(a->tscore[t].top1)) snprintf(s1, sizeof s1, "%6.3f", a->tscore[t].top1);
        if (!isnan(a->tscore[t].top5)) snprintf(s5, sizeof s5, "%6.3f", a->tscore[t].top5);
        if (show_mode) snprintf(mode, sizeof mode, "%-4s ", tlp_mode_name(tk->mode));
        if (weights) snprintf(wt, sizeof wt, "%6.4g ", tk->weight);
        char head[16] = "", seen[16] = "", cm[32] = "";
        if (cmp) {
            char b1[16] = "     -", ag[16] = "     -";
            if (!isnan(a->tscore[t].cmp_top1)) snprintf(b1, sizeof b1, "%6.3f", a->tscore[t].cmp_top1);
            if (!isnan(a->tscore[t].agree)) snprintf(ag, sizeof ag, "%6.2f", a->tscore[t].agree);
            snprintf(cm, sizeof cm, " %s %s", b1, ag);
        }
        if (by) snprintf(head, sizeof head, " %-7.7s", other_head(a, t) ? other_head(a, t) : "");
        if (ins) snprintf(seen, sizeof seen, " %-9s", a->tscore[t].in_sample ? "yes" : "");
        /* the workload's width: the rest of the screen, unless scrolled (then all of it) */
        elide(tk->summary, a->hscroll ? 4096 : COLS - x - 1, work, sizeof work);
        snprintf(line, sizeof line, "%c%4d %-10.10s %s%9s %10s %s%s %s%s%s%s  %s", a->task_top + i == a->task_cur ? '>' : ' ',
                 t, tk->hardware, mode, vt, best, wt, s1, s5, cm, head, seen, work);
        int sel = a->task_top + i == a->task_cur;
        if (sel) tui_draw_bar(a, top + 1 + i, line, 1);
        else {
            tui_draw_put(top + 1 + i, 0, "%s", line);
            if (!a->hscroll && !isnan(a->tscore[t].top1) && a->tscore[t].top1 < 0.8) { /* a weak top-1 stands out */
                tui_draw_tone_on(a, 3, A_BOLD);
                tui_draw_put(top + 1 + i, x - 15 - (int)strlen(cmph) - (by ? 8 : 0) - (ins ? 10 : 0), "%s", s1);
                tui_draw_tone_off(a, 3, A_BOLD);
            }
        }
    }
    tui_draw_freeze(0);
    if (!a->n_task_rows) tui_draw_put(top + 1, 2, "no task matches the filter \"%s\" (:filter clears it)", a->filter);
}

static int *cursor(app_t *a, int *n)
{
    *n = a->n_task_rows;
    return &a->task_cur;
}

static view_id enter(app_t *a)
{
    if (!a->n_task_rows) return VIEW_TASKS;
    app_load_task(a, a->task_rows[a->task_cur]);
    return VIEW_CANDS;
}

static view_id back(const app_t *a) { return VIEW_COUNT; }

static int matches(const app_t *a, int row)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task_rows[row]);
    return strstr(tk->summary, a->search) || strstr(tk->hardware, a->search) || strstr(tk->workload_key, a->search);
}

const view_ops TASKS_VIEW = {"tasks", 0, draw_tasks, cursor, NULL, enter, back, matches};
