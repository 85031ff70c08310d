/*
 * views.c: the frame every view is drawn in: a title row, the view's body
 * (its ops' draw, view_*.c), the status line, and the message or prompt
 * line.  Every frame is drawn whole into stdscr and curses sends only what
 * changed (no flicker).  VIEW_OPS gives each view's ops by its id.
 */
#include "explore.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

const view_ops *const VIEW_OPS[VIEW_COUNT] = {&TASKS_VIEW, &CANDS_VIEW, &TOKENS_VIEW, &PLOT_VIEW,
                                              &REPLAY_VIEW, &HELP_VIEW, &WARNINGS_VIEW, &OPS_VIEW};

int views_body_rows(void) { return LINES - 3 > 1 ? LINES - 3 : 1; }

/* The status line's parts, each with how long it stays when the line is
 * too wide for the terminal: the least kept goes first, so 80 columns keep
 * the training, the model, the head and the mean top-1. */
typedef struct {
    char text[256];
    int keep;
} status_part;

static void add_part(status_part *p, int *n, int keep, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_part(status_part *p, int *n, int keep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p[*n].text, sizeof p[*n].text, fmt, ap);
    va_end(ap);
    p[(*n)++].keep = keep;
}

static void status_parts(app_t *a, status_part *p, int *n)
{
    family_t *f = &a->fam[a->mode];
    if (a->train) {
        const tlp_progress *g = &a->prog;
        int fill = g->steps_per_epoch ? (int)(10 * g->step / g->steps_per_epoch) : 0;
        char barb[16], eta[24] = "?", net[32] = "", loss[24] = "-";
        for (int i = 0; i < 10; i++) barb[i] = i < fill ? '#' : '.';
        barb[10] = 0;
        if (isfinite(g->eta_s) && g->eta_s > 0) snprintf(eta, sizeof eta, "%dm%02ds", (int)g->eta_s / 60, (int)g->eta_s % 60);
        if (g->nets > 1) snprintf(net, sizeof net, " net %d/%d %s", g->net, g->nets, tlp_encode_name(g->net_encode));
        if (isfinite(g->loss)) snprintf(loss, sizeof loss, "%.3g", g->loss); /* no nan on screen */
        add_part(p, n, 9, " train%s %d/%d %ld/%ld [%s] loss %s", net, g->epoch, g->epochs, g->step, g->steps_per_epoch,
                 barb, loss);
        add_part(p, n, 3, " %.0f/s", isfinite(g->samples_per_s) ? g->samples_per_s : 0.0);
        add_part(p, n, 8, " ETA %s |", eta);
    }
    if (f->predict) {
        tlp_progress g;
        tlp_job_progress(f->predict, &g);
        add_part(p, n, 8, " predicting %d%% |", (int)(100 * g.frac));
    }
    if (f->model) {
        const char *base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
        char ens[64] = ""; /* an ensemble names its networks' tokens: "ensemble log+prog" */
        int K = tlp_model_n_members(f->model);
        for (int k = 0, e = 0; K > 1 && k < K && e < (int)sizeof ens; k++)
            e += snprintf(ens + e, sizeof ens - (size_t)e, "%s%s", k ? "+" : " ensemble ",
                          tlp_encode_name(tlp_model_config_of(tlp_model_member(f->model, k))->encode));
        add_part(p, n, 7, " %s:%s%s", tlp_mode_name(a->mode), base[0] ? base : "(trained)", f->dirty ? "*" : "");
        add_part(p, n, 2, "%s", ens);
        int L = tlp_model_config_of(f->model)->steps; /* a crop of its own (--steps) is said */
        if (L != tlp_mode_seq(a->mode)) add_part(p, n, 3, " steps %d", L);
        add_part(p, n, 6, " head %s", app_head_name(f, f->head));
    } else
        add_part(p, n, 7, " no %s model", tlp_mode_name(a->mode));
    if (a->eval.tasks) {
        tlp_eval_k k1 = tlp_eval_sum_k(&a->eval, 0), k5 = tlp_eval_sum_k(&a->eval, 1);
        char ins[48] = ""; /* figures of tasks the model was trained on flatter it: said */
        if (a->eval_in_sample) snprintf(ins, sizeof ins, " (%d in-sample)", a->eval_in_sample);
        /* the mean over tasks (what a tuner sees per task), then TLP's pooled
         * figure, which is 0 once any pick failed: then the failed picks */
        add_part(p, n, 7, " | %s %d tasks%s: top1 %.3f", a->filter[0] ? "shown" : a->eval_hw[0] ? a->eval_hw : "all",
                 a->eval.tasks, ins, k1.mean);
        if (k1.failed) add_part(p, n, 5, " failed picks %d", k1.failed);
        else add_part(p, n, 3, " pooled %.3f", k1.pooled);
        add_part(p, n, 4, " random %.3f", k1.rand_mean);
        add_part(p, n, 1, " | top5 %.3f random %.3f", k5.mean, k5.rand_mean);
    }
    add_part(p, n, 0, " | %s", a->data_desc);
    uint64_t warn = tlp_dataset_n_skipped(a->ds);
    add_part(p, n, warn ? 5 : 0, " | %llu warn", (unsigned long long)warn);
}

void views_status_text(app_t *a, int cols, char *s, size_t cap)
{
    status_part p[16];
    int n = 0, width = 0;
    status_parts(a, p, &n);
    for (int i = 0; i < n; i++) width += (int)strlen(p[i].text);
    for (int level = 0; level < 10 && width > cols; level++) /* drop the least kept until it fits */
        for (int i = 0; i < n; i++)
            if (p[i].keep == level && p[i].text[0]) {
                width -= (int)strlen(p[i].text);
                p[i].text[0] = 0;
            }
    size_t w = 0;
    s[0] = 0;
    for (int i = 0; i < n && w < cap; i++) w += (size_t)snprintf(s + w, cap - w, "%s", p[i].text);
}

static void draw_status(app_t *a, int y)
{
    char s[1024];
    views_status_text(a, COLS, s, sizeof s);
    tui_draw_bar(a, y, s, 1);
    /* the loss sparkline at the right end of the status line while training */
    if (a->train && a->prog.n_hist > 1 && COLS > 100) tui_draw_sparkline(a, y, COLS - 12, 10, a->prog.hist_train, a->prog.n_hist);
}

void views_draw(app_t *a)
{
    app_timeline("first screen");
    erase();
    tui_draw_shift(0);
    if (LINES < 6 || COLS < 30) {
        tui_draw_put(0, 0, "tlpx: the terminal is too small (%dx%d)", COLS, LINES);
        refresh();
        return;
    }
    char title[256];
    snprintf(title, sizeof title, " tlpx %s  [%s]%s%s", VIEW_OPS[a->view]->name, tlp_mode_name(a->mode),
             a->filter[0] ? "  filter: " : "", a->filter);
    tui_draw_bar(a, 0, title, 1);
    if (a->task < 0 && (VIEW_OPS[a->view]->flags & VIEW_OF_TASK))
        a->view = VIEW_TASKS; /* nothing selected (e.g. after :open) */
    const view_ops *v = VIEW_OPS[a->view];
    tui_draw_shift(v->flags & VIEW_GRAPH ? 0 : a->hscroll);
    v->draw(a, 1, views_body_rows());
    tui_draw_shift(0);
    draw_status(a, LINES - 2);
    if (a->prompt_active) prompt_draw(a);
    else tui_draw_put(LINES - 1, 0, "%s", a->msg);
    refresh();
}
