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

static void draw_tasks(app_t *a, int top, int rows)
{
    int by = 0, ins = 0;
    for (int i = 0; i < a->n_task_rows; i++) {
        by |= other_head(a, a->task_rows[i]) != NULL;
        ins |= a->tscore[a->task_rows[i]].in_sample;
    }
    tui_draw_put(top, 0, "%5s %-10s %-4s %11s %10s %6s %6s %6s%s%s  %s", "task", "hardware", "mode", "valid/total", "best",
                 "weight", "top-1", "top-5", by ? " by head" : "", ins ? " in-sample" : "", "workload");
    mvchgat(top, 0, -1, A_BOLD, 0, NULL);
    rows--;
    if (a->task_cur < a->task_top) a->task_top = a->task_cur;
    if (a->task_cur >= a->task_top + rows) a->task_top = a->task_cur - rows + 1;
    for (int i = 0; i < rows && a->task_top + i < a->n_task_rows; i++) {
        int t = a->task_rows[a->task_top + i];
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
        char best[24], vt[24], s1[16] = "     -", s5[16] = "     -", line[1024];
        cli_fmt_seconds(tk->best_valid, best, sizeof best);
        if (!isfinite(tk->best_valid)) snprintf(best, sizeof best, "all failed");
        snprintf(vt, sizeof vt, "%u/%u", tk->n_valid, tk->n_records);
        if (!isnan(a->tscore[t].top1)) snprintf(s1, sizeof s1, "%6.3f", a->tscore[t].top1);
        if (!isnan(a->tscore[t].top5)) snprintf(s5, sizeof s5, "%6.3f", a->tscore[t].top5);
        char head[16] = "", seen[16] = "";
        if (by) snprintf(head, sizeof head, " %-7.7s", other_head(a, t) ? other_head(a, t) : "");
        if (ins) snprintf(seen, sizeof seen, " %-9s", a->tscore[t].in_sample ? "yes" : "");
        snprintf(line, sizeof line, "%c%4d %-10.10s %-4s %11s %10s %6.4g %s %s%s%s  %s",
                 a->task_top + i == a->task_cur ? '>' : ' ', t, tk->hardware,
                 tlp_mode_name(tk->mode), vt, best, tk->weight, s1, s5, head, seen, tk->summary);
        int sel = a->task_top + i == a->task_cur;
        if (sel) tui_draw_bar(a, top + 1 + i, line, 1);
        else {
            tui_draw_put(top + 1 + i, 0, "%s", line);
            if (!isnan(a->tscore[t].top1) && a->tscore[t].top1 < 0.8) {
                tui_draw_tone_on(a, 3, A_BOLD);
                tui_draw_put(top + 1 + i, 52, "%s", s1);
                tui_draw_tone_off(a, 3, A_BOLD);
            }
        }
    }
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
