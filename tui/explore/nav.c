/* nav.c: the actions that move: the cursor of the view (what it moves is the
 * view's: view_ops.cursor), side scroll, Enter and back (the view's too), and
 * opening views, which remembers where help, warnings and graphs return. */
#include "explore.h"

#include <stdlib.h>
#include <string.h>

/* Move the view's cursor by delta rows, or to the first (to_end < 0) or the
 * last (to_end > 0), within its rows. */
static void move_cursor(app_t *a, int delta, int to_end)
{
    int n = 0, *cur = VIEW_OPS[a->view]->cursor ? VIEW_OPS[a->view]->cursor(a, &n) : NULL;
    if (!cur) return;
    if (to_end < 0) *cur = 0;
    else if (to_end > 0) *cur = n - 1;
    else *cur += delta;
    if (*cur >= n) *cur = n - 1;
    if (*cur < 0) *cur = 0;
}

static int page(void)
{
    int p = views_body_rows() - 2;
    return p < 1 ? 1 : p;
}

void tui_nav_down(app_t *a, const char *arg) { move_cursor(a, 1, 0); }
void tui_nav_up(app_t *a, const char *arg) { move_cursor(a, -1, 0); }
void tui_nav_page_down(app_t *a, const char *arg) { move_cursor(a, page(), 0); }
void tui_nav_page_up(app_t *a, const char *arg) { move_cursor(a, -page(), 0); }
void tui_nav_home(app_t *a, const char *arg) { move_cursor(a, 0, -1); }
void tui_nav_end(app_t *a, const char *arg) { move_cursor(a, 0, 1); }
void tui_nav_left(app_t *a, const char *arg) { a->hscroll = a->hscroll > 8 ? a->hscroll - 8 : 0; }

void tui_nav_right(app_t *a, const char *arg)
{
    if (!(VIEW_OPS[a->view]->flags & VIEW_GRAPH) && a->hscroll < 4000) a->hscroll += 8;
}

/* Open view v: a view of a task selects the one under the cursor if none
 * is; help and warnings remember the view they cover, a first graph the view
 * it was opened from. */
static void open_view(app_t *a, view_id v)
{
    const view_ops *to = VIEW_OPS[v], *from = VIEW_OPS[a->view];
    if (to->flags & VIEW_OF_TASK) {
        if (a->task < 0 && a->n_task_rows) app_load_task(a, a->task_rows[a->task_cur]);
        if (a->task < 0) return;
    }
    if (to->open) to->open(a);
    if (v != a->view && (to->flags & VIEW_ASIDE)) a->back_to = a->view;
    if (v != a->view && (to->flags & VIEW_GRAPH) && !(from->flags & (VIEW_GRAPH | VIEW_ASIDE))) a->plot_back = a->view;
    if (v != a->view) a->hscroll = 0;
    a->view = v;
}

void tui_nav_enter(app_t *a, const char *arg)
{
    view_id v = VIEW_OPS[a->view]->enter ? VIEW_OPS[a->view]->enter(a) : a->view;
    if (v != a->view) open_view(a, v);
}

void tui_nav_back(app_t *a, const char *arg)
{
    a->hscroll = 0;
    view_id v = VIEW_OPS[a->view]->back(a);
    if (v == VIEW_COUNT) tui_nav_quit(a, NULL);
    else a->view = v;
}

/* Tab: the next view of the round (help and warnings lead back to the task
 * list); :view NAME, every view of the round whose name starts so. */
void tui_nav_view(app_t *a, const char *arg)
{
    if (!arg || !*arg) {
        open_view(a, a->view >= VIEW_REPLAY ? VIEW_TASKS : (view_id)(a->view + 1));
        return;
    }
    for (int v = 0; v < VIEW_COUNT; v++)
        if (!(VIEW_OPS[v]->flags & VIEW_ASIDE) && !strncmp(VIEW_OPS[v]->name, arg, strlen(arg))) open_view(a, (view_id)v);
}

void tui_nav_diff(app_t *a, const char *arg)
{
    a->diff = !a->diff;
    if (a->view != VIEW_TOKENS) open_view(a, VIEW_TOKENS);
    app_message(a, a->diff ? "diff against the best measured candidate" : "diff off");
}

void tui_nav_plot(app_t *a, const char *arg) { open_view(a, VIEW_PLOT); }

void tui_nav_replay(app_t *a, const char *arg)
{
    if (arg && *arg) {
        char *end;
        double w = strtod(arg, &end);
        if (*end || !(w >= 0 && w < 1000)) {
            app_message(a, "replay: PCT is how near the best counts, in percent (5), not \"%s\"", arg);
            return;
        }
        a->replay_within = w / 100;
    }
    open_view(a, VIEW_REPLAY);
}

void tui_nav_warnings(app_t *a, const char *arg) { open_view(a, VIEW_WARNINGS); }
void tui_nav_ops(app_t *a, const char *arg) { open_view(a, VIEW_OPS_PANEL); }
void tui_nav_help(app_t *a, const char *arg) { open_view(a, VIEW_HELP); }
void tui_nav_prompt(app_t *a, const char *arg) { prompt_open(a); }

/* Quit, unless work would be lost: then ask, and the next key answers. */
void tui_nav_quit(app_t *a, const char *arg)
{
    int unsaved = 0;
    for (int m = 0; m < TLP_MODE_COUNT; m++) unsaved |= a->fam[m].model && a->fam[m].dirty;
    if (!unsaved && !a->train) {
        a->quit = 1;
        return;
    }
    a->confirm_quit = 1;
    app_message(a, "%s%s%s; quit anyway? (y or Ctrl-C: quit, any other key: stay)", a->train ? "a training is running" : "",
                a->train && unsaved ? " and " : "", unsaved ? "a trained model is not saved (:save PATH)" : "");
}
