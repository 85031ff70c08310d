/* find.c: the actions that choose rows: search (the rows the view can
 * search, view_ops.matches), sort (the candidates in a view of them, else
 * the tasks) and the task filter (app.c keeps the list). */
#include "explore.h"

#include <string.h>

/* The next row in direction dir (1, -1) that matches the search, round. */
static void find(app_t *a, int dir)
{
    if (!a->search[0]) {
        app_message(a, "no search yet: / TEXT");
        return;
    }
    const view_ops *v = VIEW_OPS[a->view];
    int n = 0, *cur = v->matches ? v->cursor(a, &n) : NULL;
    for (int k = 1; k <= n; k++) {
        int i = ((*cur + dir * k) % n + n) % n;
        if (v->matches(a, i)) {
            *cur = i;
            app_message(a, "/%s", a->search);
            return;
        }
    }
    app_message(a, "no match for \"%s\"", a->search);
}

void tui_find_search(app_t *a, const char *arg)
{
    if (arg && *arg) {
        snprintf(a->search, sizeof a->search, "%s", arg);
        find(a, 1);
    } else {
        prompt_open(a);
        prompt_insert("search ");
    }
}

void tui_find_next(app_t *a, const char *arg) { find(a, 1); }
void tui_find_prev(app_t *a, const char *arg) { find(a, -1); }

/* The candidates: measured or predicted rank (the key toggles). */
static void sort_cands(app_t *a, const char *arg)
{
    if (arg && *arg && strcmp(arg, "measured") && strcmp(arg, "predicted")) {
        app_message(a, "sort: candidates sort by measured or predicted, not \"%s\"", arg);
        return;
    }
    if (arg && *arg) a->cand_sort = arg[0] == 'p';
    else a->cand_sort = !a->cand_sort;
    app_sort_cands(a);
    app_message(a, "candidates by %s rank", a->cand_sort ? "predicted" : "measured");
}

/* The tasks: the key named, else the next of APP_TASK_SORTS. */
static void sort_tasks(app_t *a, const char *arg)
{
    int k = (a->task_sort + 1) % APP_N_TASK_SORTS;
    if (arg && *arg) {
        k = -1;
        for (int i = 0; i < APP_N_TASK_SORTS; i++)
            if (!strcmp(arg, APP_TASK_SORTS[i])) k = i;
        if (k < 0) {
            app_message(a, "sort: tasks sort by key, hw, n, best, score or agree, not \"%s\"", arg);
            return;
        }
    }
    a->task_sort = k;
    app_sort_tasks(a);
    app_message(a, "tasks by %s", APP_TASK_SORTS[k]);
}

void tui_find_sort(app_t *a, const char *arg)
{
    if (VIEW_OPS[a->view]->flags & VIEW_OF_CAND) sort_cands(a, arg);
    else sort_tasks(a, arg);
}

void tui_find_filter(app_t *a, const char *arg)
{
    if (!arg) { /* the key: the prompt, with the filter in use to edit */
        char pre[160];
        snprintf(pre, sizeof pre, "filter %s", a->filter);
        prompt_open(a);
        prompt_insert(pre);
        return;
    }
    snprintf(a->filter, sizeof a->filter, "%s", arg);
    app_compute_scores(a); /* the status line's means: over the tasks the filter shows */
    app_sort_tasks(a);
    a->view = VIEW_TASKS;
    app_message(a, a->filter[0] ? "filter: %s (%d tasks)" : "%s%d tasks", a->filter, a->n_task_rows);
}
