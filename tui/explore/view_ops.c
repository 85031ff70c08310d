/* view_ops.c: the tasks the list shows, by operator (what `tlpx eval
 * --by-op` prints): per operator, how many tasks, the mean top-1 and top-5
 * under the heads in use, the random order's top-1, the failed picks and the
 * in-sample tasks, worst top-1 first.  Over any view; back returns to it. */
#include "explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[48];
    int tasks, scored, failed, in_sample;
    double top1, top5, rand1;
} op_row;

static int by_top1(const void *x, const void *y)
{
    const op_row *a = x, *b = y;
    double p = a->scored ? a->top1 / a->scored : 2, q = b->scored ? b->top1 / b->scored : 2;
    return p < q ? -1 : p > q ? 1 : strcmp(a->name, b->name);
}

static int gather(app_t *a, op_row *rows, int max)
{
    int n = 0;
    for (int i = 0; i < a->n_task_rows; i++) {
        int t = a->task_rows[i];
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
        if (tk->mode != a->mode) continue;
        char name[48]; /* tlpx eval --by-op's operator */
        size_t len = cli_op_len(tk->summary);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name - 1 ? len : sizeof name - 1), tk->summary);
        int k = 0;
        while (k < n && strcmp(rows[k].name, name)) k++;
        if (k == n) {
            if (n == max) continue;
            memset(&rows[n], 0, sizeof rows[n]);
            snprintf(rows[n++].name, sizeof rows[0].name, "%s", name);
        }
        op_row *r = &rows[k];
        r->tasks++;
        r->in_sample += a->tscore[t].in_sample;
        const task_score *ts = &a->tscore[t]; /* the figures the task list shows (app_compute_scores) */
        if (isnan(ts->top1)) continue;
        r->scored++;
        r->top1 += ts->top1;
        r->top5 += ts->top5;
        r->rand1 += ts->rand1;
        r->failed += ts->failed1;
    }
    qsort(rows, (size_t)n, sizeof *rows, by_top1);
    return n;
}

static void draw_ops(app_t *a, int top, int rows)
{
    op_row ops[128];
    int n = gather(a, ops, 128);
    const family_t *f = app_fam(a);
    tui_draw_put(top, 0, "%s tasks by operator, head %s%s%s (worst top-1 first)", tlp_mode_name(a->mode),
                 f->model ? app_head_name(f, f->head) : "-", a->filter[0] ? ", filter " : "", a->filter);
    tui_draw_put(top + 1, 0, "%-24s %5s %7s %7s %7s %6s %9s", "operator", "tasks", "top-1", "top-5", "rand-1", "failed",
                 "in-sample");
    mvchgat(top + 1, 0, -1, A_BOLD, 0, NULL);
    if (a->ops_top > (n ? n - 1 : 0)) a->ops_top = n ? n - 1 : 0;
    for (int i = 0; i < rows - 2 && a->ops_top + i < n; i++) {
        const op_row *r = &ops[a->ops_top + i];
        char t1[16] = "      -", t5[16] = "      -", r1[16] = "      -";
        if (r->scored) {
            snprintf(t1, sizeof t1, "%7.3f", r->top1 / r->scored);
            snprintf(t5, sizeof t5, "%7.3f", r->top5 / r->scored);
            snprintf(r1, sizeof r1, "%7.3f", r->rand1 / r->scored);
        }
        tui_draw_put(top + 2 + i, 0, "%-24.24s %5d %s %s %s %6d %9d", r->name, r->tasks, t1, t5, r1, r->failed, r->in_sample);
    }
    if (!n) tui_draw_put(top + 2, 2, "no %s task is shown (:filter clears the filter)", tlp_mode_name(a->mode));
}

static int *ops_cursor(app_t *a, int *n)
{
    op_row ops[128];
    *n = gather(a, ops, 128);
    return &a->ops_top;
}

static view_id back(const app_t *a) { return a->back_to; }

const view_ops OPS_VIEW = {"operators", VIEW_ASIDE, draw_ops, ops_cursor, NULL, NULL, back, NULL};
