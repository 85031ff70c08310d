/* view_graph.c: the selected task as graphs.  The plot: predicted score
 * against measured latency (braille dots in UTF-8, stars otherwise), and the
 * training's loss per epoch.  The replay: the best latency so far against
 * trials in the log's order, the model's and the compare head's.  Back
 * returns where the first graph was opened from. */
#include "explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* A canvas of braille cells (2x4 dots each) or ASCII stars. */
static void plot_points(app_t *a, int y0, int x0, int h, int w, const double *px, const double *py, int n, double xmin,
                        double xmax, double ymin, double ymax)
{
    int cw = w, ch = h, dx = a->utf8 ? 2 : 1, dy = a->utf8 ? 4 : 1;
    unsigned char *dots = calloc((size_t)cw * (size_t)ch, 1);
    if (!dots) return;
    for (int i = 0; i < n; i++) {
        if (!isfinite(px[i]) || !isfinite(py[i])) continue;
        double fx = xmax > xmin ? (px[i] - xmin) / (xmax - xmin) : 0.5;
        double fy = ymax > ymin ? (py[i] - ymin) / (ymax - ymin) : 0.5;
        int gx = (int)(fx * (cw * dx - 1) + 0.5), gy = (int)((1 - fy) * (ch * dy - 1) + 0.5);
        int cx = gx / dx, cy = gy / dy, sx = gx % dx, sy = gy % dy;
        if (cx < 0 || cx >= cw || cy < 0 || cy >= ch) continue;
        /* braille dot bits: column 0 rows 0-2 -> 1,2,4; column 1 -> 8,16,32; row 3 -> 64,128 */
        static const unsigned char bit[2][4] = {{1, 2, 4, 64}, {8, 16, 32, 128}};
        dots[cy * cw + cx] |= a->utf8 ? bit[sx][sy] : 1;
    }
    for (int r = 0; r < ch; r++)
        for (int c = 0; c < cw; c++) {
            unsigned char d = dots[r * cw + c];
            if (!d) continue;
            if (a->utf8) {
                wchar_t wc[2] = {(wchar_t)(0x2800 + d), 0};
                mvaddwstr(y0 + r, x0 + c, wc);
            } else
                mvaddch(y0 + r, x0 + c, '*');
        }
    free(dots);
}

static void draw_plot(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    const float *sc = app_task_scores(a, f->head, tk);
    int loss_rows = a->prog.n_hist > 0 ? 4 : 0;
    int h = rows - 3 - loss_rows, w = COLS - 12;
    tui_draw_put(top, 0, "%s on %s: predicted score (up) against measured latency (right, log scale)", tk->summary, tk->hardware);
    if (!sc) tui_draw_put(top + 1, 2, "no predictions yet (:load MODEL or :train)");
    if (sc && h >= 3 && w >= 10) {
        int n = 0;
        double *px = malloc(sizeof(double) * tk->n_records), *py = malloc(sizeof(double) * tk->n_records);
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        for (uint32_t k = 0; px && py && k < tk->n_records; k++) {
            const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[k]);
            if (r->error_no) continue; /* failures sit at 1e10 s and would flatten the plot */
            px[n] = log10(r->cost);
            py[n] = sc[tk->records[k]];
            xmin = fmin(xmin, px[n]), xmax = fmax(xmax, px[n]);
            ymin = fmin(ymin, py[n]), ymax = fmax(ymax, py[n]);
            n++;
        }
        tui_draw_put(top + 1, 0, "%9.3g", ymax);
        tui_draw_put(top + h, 0, "%9.3g", ymin);
        for (int r = 0; r < h; r++) mvaddch(top + 1 + r, 10, '|');
        mvhline(top + 1 + h, 10, '-', w + 1);
        char lo[24], hi[24];
        cli_fmt_seconds(pow(10, xmin), lo, sizeof lo);
        cli_fmt_seconds(pow(10, xmax), hi, sizeof hi);
        tui_draw_put(top + 2 + h, 11, "%s", lo);
        tui_draw_put(top + 2 + h, 11 + w - (int)strlen(hi), "%s", hi);
        if (n) plot_points(a, top + 1, 11, h, w, px, py, n, xmin, xmax, ymin, ymax);
        else tui_draw_put(top + 2, 12, "no valid candidates to plot");
        free(px), free(py);
    }
    if (loss_rows) {
        int y = top + rows - loss_rows;
        char val[32] = "- (no validation tasks)";
        double v = (double)a->prog.hist_val[a->prog.n_hist - 1];
        if (isfinite(v)) snprintf(val, sizeof val, "%.4g", v);
        tui_draw_put(y, 0, "training loss per epoch (%d): train %.4g  val %s", a->prog.n_hist,
            (double)a->prog.hist_train[a->prog.n_hist - 1], val);
        tui_draw_put(y + 1, 0, "train ");
        tui_draw_sparkline(a, y + 1, 6, COLS - 8, a->prog.hist_train, a->prog.n_hist);
        tui_draw_put(y + 2, 0, "val   ");
        tui_draw_sparkline(a, y + 2, 6, COLS - 8, a->prog.hist_val, a->prog.n_hist);
    }
}

/* Best latency so far after each trial, measuring in the order ord (record
 * positions within the task); INFINITY before the first valid one. */
static void best_so_far(const app_t *a, const tlp_task *tk, const uint32_t *ord, double *curve)
{
    double b = INFINITY;
    for (uint32_t t = 0; t < tk->n_records; t++) {
        const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[ord[t]]);
        if (!r->error_no && r->cost < b) b = r->cost;
        curve[t] = b;
    }
}

static const float *sort_scores; /* by_score_pos: the scores being sorted by */

static int by_score_pos(const void *x, const void *y)
{
    uint32_t p = *(const uint32_t *)x, q = *(const uint32_t *)y;
    float a = sort_scores[p], b = sort_scores[q];
    if (a != b) return a > b ? -1 : 1;
    return p < q ? -1 : p > q;
}

/* The replay of the selected task: best latency so far (up, log scale)
 * against trials (right, log scale), in the log's order (l), the model's (m)
 * and the compare head's (c); the trials to come within PCT% are marked. */
/* The replay's two lines of figures: trials to come within the margin of
 * the best, and to the best itself, for the log's order, the model's and
 * the compare head's (cs: a compare head). */
static void replay_figures(const app_t *a, int y, const tlp_replay *rm, const tlp_replay *rc, int cs)
{
    const family_t *f = &a->fam[a->mode];
    const tlp_model_config *c = tlp_model_config_of(f->model);
    char l1[256], l2[160];
    int w1 = snprintf(l1, sizeof l1, "within %g%% of the best: l log order %d trials, m model (%s) %d (gain %.1fx)",
                      100 * a->replay_within, rm->log_within, c->heads[app_head(f, f->head, tlp_dataset_task(a->ds, (size_t)a->task))], rm->model_within,
                      (double)rm->log_within / rm->model_within);
    int w2 = snprintf(l2, sizeof l2, "the best itself: log %d trials, model %d", rm->log_best, rm->model_best);
    if (cs) {
        snprintf(l1 + w1, sizeof l1 - (size_t)w1, ", c %s %d", c->heads[f->cmp_head], rc->model_within);
        snprintf(l2 + w2, sizeof l2 - (size_t)w2, ", compare %d", rc->model_best);
    }
    tui_draw_put(y, 0, "%s", l1);
    tui_draw_put(y + 1, 0, "%s", l2);
}

/* The best latency so far after each trial, in curves[0] for the log's
 * order, curves[1] for the order of sc and curves[2] for cs (if any).  0,
 * or -1 out of memory. */
static int replay_curves(app_t *a, const tlp_task *tk, const float *sc, const float *cs, double *curves[3])
{
    uint32_t n = tk->n_records;
    uint32_t *ord = malloc(sizeof *ord * (n ? n : 1));
    float *task_sc = malloc(sizeof(float) * (n ? n : 1));
    if (!ord || !task_sc) {
        free(ord);
        free(task_sc);
        return -1;
    }
    for (uint32_t k = 0; k < n; k++) ord[k] = k;
    best_so_far(a, tk, ord, curves[0]);
    for (int s = 1; s <= (cs ? 2 : 1); s++) {
        const float *src = s == 1 ? sc : cs;
        for (uint32_t k = 0; k < n; k++) task_sc[k] = src[tk->records[k]], ord[k] = k;
        sort_scores = task_sc;
        qsort(ord, n, sizeof *ord, by_score_pos);
        best_so_far(a, tk, ord, curves[s]);
    }
    free(task_sc);
    free(ord);
    return 0;
}

/* The curves of n trials in an h x w box from line y0 (log scales, the
 * best latency at the bottom), with the trial where each order comes
 * within the margin (marks, 0: none) under the axis. */
static void replay_plot(const app_t *a, int y0, int h, int w, double *const curves[3], uint32_t n, double best,
                        const int marks[3])
{
    /* y: from the best to the worst first valid latency of any curve */
    double ylo = log10(best), yhi = ylo;
    for (int s = 0; s < 3; s++)
        for (uint32_t t = 0; curves[s] && t < n; t++)
            if (isfinite(curves[s][t])) yhi = fmax(yhi, log10(curves[s][t]));
    if (yhi - ylo < 1e-9) yhi = ylo + 1e-3;
    double xmax = log10((double)n > 1 ? n : 2);
    char lo[24], hi[24];
    cli_fmt_seconds(pow(10, yhi), hi, sizeof hi);
    cli_fmt_seconds(pow(10, ylo), lo, sizeof lo);
    tui_draw_put(y0, 0, "%9s", hi);
    tui_draw_put(y0 + h - 1, 0, "%9s", lo);
    for (int r = 0; r < h; r++) mvaddch(y0 + r, 10, '|');
    mvhline(y0 + h, 10, '-', w + 1);
    static const char glyph[3] = {'l', 'm', 'c'};
    for (int x = 0; x < w; x++) {
        uint32_t t = (uint32_t)floor(pow(10, xmax * x / (w - 1)) + 1e-9);
        if (t < 1) t = 1;
        if (t > n) t = n;
        for (int s = 0; s < 3; s++) { /* m drawn last: on top */
            int ser = s == 1 ? 2 : s == 2 ? 1 : 0;
            if (!curves[ser] || !isfinite(curves[ser][t - 1])) continue;
            int y = (int)lround((yhi - log10(curves[ser][t - 1])) / (yhi - ylo) * (h - 1));
            mvaddch(y0 + y, 11 + x, (chtype)glyph[ser]);
        }
    }
    for (int s = 0; s < 3; s++) {
        if (!marks[s]) continue;
        int x = (int)lround(log10((double)marks[s]) / xmax * (w - 1));
        if (x >= 0 && x < w) mvaddch(y0 + h, 11 + x, (chtype)glyph[s]);
    }
    tui_draw_put(y0 + h + 1, 11, "1");
    tui_draw_put(y0 + h + 1, 11 + w - 6, "%6u", n);
    tui_draw_put(y0 + h + 1, 20, "trials (l m c under the axis: where each order comes within %g%%)", 100 * a->replay_within);
}

static void draw_replay(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    const float *sc = app_task_scores(a, f->head, tk), *cs = app_task_scores(a, f->cmp_head, tk);
    uint32_t n = tk->n_records;
    tui_draw_put(top, 0, "%s on %s: best latency so far (up) against trials (right, both log scales)", tk->summary, tk->hardware);
    if (!sc) {
        tui_draw_put(top + 1, 2, "no predictions yet (:load MODEL or :train)");
        return;
    }
    tlp_replay rm, rc = {0};
    if (tlp_replay_dataset_task(a->ds, (size_t)a->task, sc, a->replay_within, &rm) != TLP_OK) {
        tui_draw_put(top + 1, 2, "every run of this task failed: nothing to find");
        return;
    }
    if (cs) tlp_replay_dataset_task(a->ds, (size_t)a->task, cs, a->replay_within, &rc);
    replay_figures(a, top + 1, &rm, &rc, cs != NULL);
    int h = rows - 6, w = COLS - 12;
    double *curves[3] = {malloc(sizeof(double) * (n ? n : 1)), malloc(sizeof(double) * (n ? n : 1)),
                         cs ? malloc(sizeof(double) * (n ? n : 1)) : NULL};
    int marks[3] = {rm.log_within, rm.model_within, cs ? rc.model_within : 0};
    if (h >= 3 && w >= 10 && curves[0] && curves[1] && (!cs || curves[2]) && replay_curves(a, tk, sc, cs, curves) == 0)
        replay_plot(a, top + 3, h, w, curves, n, rm.best, marks);
    for (int s = 0; s < 3; s++) free(curves[s]);
}

/* Back from a graph: to the view it was opened from (plot_back), the
 * candidates unless that was the task list or the tokens. */
static view_id back(const app_t *a)
{
    return a->plot_back == VIEW_TASKS || a->plot_back == VIEW_TOKENS ? a->plot_back : VIEW_CANDS;
}

const view_ops PLOT_VIEW = {"plot", VIEW_OF_TASK | VIEW_GRAPH, draw_plot, NULL, NULL, NULL, back, NULL};
const view_ops REPLAY_VIEW = {"replay", VIEW_OF_TASK | VIEW_GRAPH, draw_replay, NULL, NULL, NULL, back, NULL};
