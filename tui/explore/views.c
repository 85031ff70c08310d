/*
 * views.c: drawing.  Every frame is drawn whole into stdscr and curses sends
 * only what changed (no flicker).  Layout: a title row, the view's body, the
 * status line, and the message/prompt line.  Colours are used when the
 * terminal has them; UTF-8 glyphs (braille plot, sparkline) only when the
 * locale is UTF-8, ASCII otherwise.
 */
#include "../cli/cli.h"
#include "explore.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int views_body_rows(void) { return LINES - 3 > 1 ? LINES - 3 : 1; }

/* Columns the body of a text view is scrolled right (Left/Right keys);
 * 0 outside the body. */
static int hshift;

/* printf into row y from column x, clipped to the screen width; a row
 * from column 0 is shifted left by hshift characters. */
static void put(int y, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(int y, int x, const char *fmt, ...)
{
    if (y < 0 || y >= LINES || x >= COLS) return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    const char *p = buf;
    for (int k = 0; x == 0 && k < hshift && *p; k++) /* whole UTF-8 characters */
        do p++;
        while ((*p & 0xc0) == 0x80);
    mvaddnstr(y, x, p, COLS - x);
}

static void tone_on(app_t *a, int pair, int fallback)
{
    if (a->color && pair) attron(COLOR_PAIR(pair));
    else if (fallback) attron(fallback);
}

static void tone_off(app_t *a, int pair, int fallback)
{
    if (a->color && pair) attroff(COLOR_PAIR(pair));
    else if (fallback) attroff(fallback);
}

/* A whole row in reverse video (selection, title, status). */
static void bar(app_t *a, int y, const char *text, int selected)
{
    int attr = selected ? A_REVERSE : 0;
    if (selected && a->color) attr = COLOR_PAIR(1);
    attron(attr);
    mvhline(y, 0, ' ', COLS);
    const char *p = text;
    for (int k = 0; k < hshift && *p; k++) /* a body row scrolls with the others */
        do p++;
        while ((*p & 0xc0) == 0x80);
    mvaddnstr(y, 0, p, COLS);
    attroff(attr);
}

static const char *key_label(int k, char *buf)
{
    switch (k) {
    case KEY_DOWN: return "Down";
    case KEY_UP: return "Up";
    case KEY_LEFT: return "Left";
    case KEY_RIGHT: return "Right";
    case KEY_NPAGE: return "PgDn";
    case KEY_PPAGE: return "PgUp";
    case KEY_HOME: return "Home";
    case KEY_END: return "End";
    case KEY_ENTER: return "Enter";
    case '\n': return "Enter";
    case '\t': return "Tab";
    case 27: return "Esc";
    case ' ': return "Space";
    default:
        buf[0] = (char)k;
        buf[1] = 0;
        return buf;
    }
}

static void fmt_sec(double s, char *buf, size_t cap) { cli_fmt_seconds(s, buf, cap); }

/* ------------------------------------------------------------ tasks */

static void draw_tasks(app_t *a, int top, int rows)
{
    put(top, 0, "%5s %-10s %-4s %11s %10s %6s %6s %6s  %s", "task", "hardware", "mode", "valid/total", "best",
        "weight", "top-1", "top-5", "workload");
    mvchgat(top, 0, -1, A_BOLD, 0, NULL);
    rows--;
    if (a->task_cur < a->task_top) a->task_top = a->task_cur;
    if (a->task_cur >= a->task_top + rows) a->task_top = a->task_cur - rows + 1;
    for (int i = 0; i < rows && a->task_top + i < a->n_task_rows; i++) {
        int t = a->task_rows[a->task_top + i];
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)t);
        char best[24], vt[24], s1[16] = "     -", s5[16] = "     -", line[1024];
        fmt_sec(tk->best_valid, best, sizeof best);
        if (!isfinite(tk->best_valid)) snprintf(best, sizeof best, "all failed");
        snprintf(vt, sizeof vt, "%u/%u", tk->n_valid, tk->n_records);
        if (!isnan(a->tscore[t].top1)) snprintf(s1, sizeof s1, "%6.3f", a->tscore[t].top1);
        if (!isnan(a->tscore[t].top5)) snprintf(s5, sizeof s5, "%6.3f", a->tscore[t].top5);
        snprintf(line, sizeof line, "%c%4d %-10.10s %-4s %11s %10s %6.4g %s %s  %s",
                 a->task_top + i == a->task_cur ? '>' : ' ', t, tk->hardware,
                 tlp_mode_name(tk->mode), vt, best, tk->weight, s1, s5, tk->summary);
        int sel = a->task_top + i == a->task_cur;
        if (sel) bar(a, top + 1 + i, line, 1);
        else {
            put(top + 1 + i, 0, "%s", line);
            if (!isnan(a->tscore[t].top1) && a->tscore[t].top1 < 0.8) {
                tone_on(a, 3, A_BOLD);
                put(top + 1 + i, 52, "%s", s1);
                tone_off(a, 3, A_BOLD);
            }
        }
    }
    if (!a->n_task_rows) put(top + 1, 2, "no task matches the filter \"%s\" (:filter clears it)", a->filter);
}

/* ------------------------------------------------------------ candidates */

static void draw_cands(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    int have_pred = f->model && f->scores[f->head];
    int m1 = 0, m5 = 0; /* measured rank of the model's top-1, best within its top-5 */
    for (uint32_t k = 0; k < tk->n_records && have_pred; k++) {
        if (a->rank[k] == 1) m1 = a->mrank[k];
        if (a->rank[k] <= 5 && (!m5 || a->mrank[k] < m5)) m5 = a->mrank[k];
    }
    char best[24];
    fmt_sec(tk->best_valid, best, sizeof best);
    if (!isfinite(tk->best_valid)) snprintf(best, sizeof best, "- (all failed)");
    put(top, 0, "%s on %s: %u candidates, %u valid, best %s", tk->summary, tk->hardware, tk->n_records, tk->n_valid,
        best);
    if (have_pred)
        put(top + 1, 0, "head %s: its top-1 is measured #%d, the best of its top-5 is #%d; sorted by %s rank",
            tlp_model_config_of(f->model)->heads[f->head], m1, m5, a->cand_sort ? "predicted" : "measured");
    else
        put(top + 1, 0, "%s", f->model ? "predicting..." : "no model: measured ranks only (:load MODEL or :train)");
    char cmp[40] = "";
    if (f->cmp_head >= 0 && f->model) snprintf(cmp, sizeof cmp, " %6.6s", tlp_model_config_of(f->model)->heads[f->cmp_head]);
    put(top + 2, 0, " k%5s %5s %5s %5s%s %13s %7s %10s  %s", "meas", "pred", "diff", "was", cmp, "latency", "spread",
        "score", "status / record");
    mvchgat(top + 2, 0, -1, A_BOLD, 0, NULL);
    rows -= 3;
    if (a->cand_cur < a->cand_top) a->cand_top = a->cand_cur;
    if (a->cand_cur >= a->cand_top + rows) a->cand_top = a->cand_cur - rows + 1;
    const float *sc = have_pred ? f->scores[f->head] : NULL;
    for (int i = 0; i < rows && a->cand_top + i < a->n_cand_rows; i++) {
        uint32_t k = a->cand_rows[a->cand_top + i];
        const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[k]);
        char lat[24], pr[8] = "    -", d[8] = "    -", was[8] = "     ", cr[16] = "", spread[16] = "      -", sco[16] = "         -";
        fmt_sec(r->cost, lat, sizeof lat);
        if (r->error_no == 0 && r->n_costs > 1)
            snprintf(spread, sizeof spread, "%6.1f%%", 100.0 * (r->cost_hi - r->cost_lo) / 2 / r->cost);
        if (sc) {
            snprintf(pr, sizeof pr, "%5d", a->rank[k]);
            snprintf(d, sizeof d, "%+5d", a->rank[k] - a->mrank[k]);
            snprintf(sco, sizeof sco, "%10.4g", (double)sc[tk->records[k]]);
            if (a->prev_rank[k]) snprintf(was, sizeof was, "%5d", a->prev_rank[k]);
        }
        if (f->cmp_head >= 0 && f->model) snprintf(cr, sizeof cr, " %6d", a->cmp_rank[k]);
        char mark = ' ';
        if (sc && a->rank[k] == 1) mark = '1';
        else if (sc && a->rank[k] <= 5) mark = '5';
        char line[512];
        snprintf(line, sizeof line, "%c%c%5d %s %s %s%s %13s %7s %s  %s %s:%u",
                 a->cand_top + i == a->cand_cur ? '>' : ' ', mark, a->mrank[k], pr, d, was, cr, lat,
                 spread, sco, r->error_no ? tlp_error_no_name(r->error_no) : "ok",
                 cli_esc(strrchr(tlp_dataset_file(a->ds, r->file), '/') ? strrchr(tlp_dataset_file(a->ds, r->file), '/') + 1
                                                                        : tlp_dataset_file(a->ds, r->file)),
                 r->line);
        int y = top + 3 + i;
        if (a->cand_top + i == a->cand_cur) bar(a, y, line, 1);
        else {
            if (r->error_no) tone_on(a, 3, A_DIM);
            else if (mark != ' ') tone_on(a, 2, A_BOLD);
            put(y, 0, "%s", line);
            if (r->error_no) tone_off(a, 3, A_DIM);
            else if (mark != ' ') tone_off(a, 2, A_BOLD);
        }
    }
}

/* ------------------------------------------------------------ tokens */

static void step_tokens(const tlp_record *r, tlp_mode m, size_t i, char *out, size_t cap)
{
    int F = tlp_mode_fea(m);
    float row[512];
    tlp_step_info info;
    int n = tlp_step_vector(m, r, i, row, 512, &info);
    if (n > 512) n = 512;
    int idx = tlp_mode_kind_index(m, (tlp_step_kind)r->steps[i].kind);
    size_t w = 0;
    if (idx) w += (size_t)snprintf(out + w, cap - w, "%s=onehot[%d]", tlp_step_tag((tlp_step_kind)r->steps[i].kind), idx - 1);
    else w += (size_t)snprintf(out + w, cap - w, "%s=absent", tlp_step_tag((tlp_step_kind)r->steps[i].kind));
    for (int j = TLP_ONEHOT; j < n && w < cap - 40; j++) {
        char lab[48];
        tlp_slot_label(r, i, j, lab, sizeof lab);
        if (j == F) w += (size_t)snprintf(out + w, cap - w, " | cropped:");
        w += (size_t)snprintf(out + w, cap - w, " %s=%g", lab, (double)row[j]);
    }
    if (info.unknown_str && w < cap - 24) snprintf(out + w, cap - w, " (unknown string->0)");
}

static int same_step(const tlp_record *a, size_t i, const tlp_record *b, size_t j)
{
    if (i >= a->n_steps || j >= b->n_steps) return 0;
    const tlp_step *x = &a->steps[i], *y = &b->steps[j];
    if (x->kind != y->kind || x->n_vals != y->n_vals) return 0;
    if (memcmp(a->vals + x->val_off, b->vals + y->val_off, sizeof(int64_t) * x->n_vals)) return 0;
    if ((x->str < 0) != (y->str < 0)) return 0;
    return x->str < 0 || !strcmp(a->strs + x->str, b->strs + y->str);
}

static void draw_tokens(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    if (a->rec_i < 0) {
        put(top, 0, "no record selected");
        return;
    }
    const tlp_rec *rc = tlp_dataset_rec(a->ds, (size_t)a->rec_i);
    tlp_mode m = tk->mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    char lat[24];
    fmt_sec(rc->cost, lat, sizeof lat);
    put(top, 0, "%s:%u  %s  %s  %zu steps; %s tokens %dx%d (11 one-hot + %d values)%s", cli_esc(tlp_dataset_file(a->ds, rc->file)),
        rc->line, lat, tlp_error_no_name(rc->error_no), a->rec.n_steps, tlp_mode_name(m), L, F, F - TLP_ONEHOT,
        a->diff ? (a->best_i >= 0 ? "  DIFF vs best measured" : "  (no diff partner)") : "");
    put(top + 1, 0, "%4s %-40s %s", "step", "primitive", "TLP tokens (slot=value)");
    mvchgat(top + 1, 0, -1, A_BOLD, 0, NULL);
    rows -= 2;
    int half = COLS >= 140 ? 64 : COLS >= 100 ? 52 : 42;
    size_t n = a->rec.n_steps;
    if (a->diff && a->best_i >= 0 && a->best_rec.n_steps > n) n = a->best_rec.n_steps;
    int y = top + 2;
    for (size_t i = (size_t)a->tok_top; i < n && y < top + 2 + rows; i++) {
        if ((int)i == L) {
            tone_on(a, 4, A_BOLD);
            put(y++, 0, "---- crop: steps below the %d-step limit are never seen by the model ----", L);
            tone_off(a, 4, A_BOLD);
            if (y >= top + 2 + rows) break;
        }
        char desc[600] = "", tok[1024] = "";
        char mark = i < (size_t)L ? ' ' : 'x';
        if (i < a->rec.n_steps) {
            tlp_step_describe(&a->rec, i, desc, sizeof desc);
            step_tokens(&a->rec, m, i, tok, sizeof tok);
        }
        if (a->diff && a->best_i >= 0) {
            if (i >= a->rec.n_steps) {
                mark = '-';
                tlp_step_describe(&a->best_rec, i, desc, sizeof desc);
                snprintf(tok, sizeof tok, "(only in the best candidate)");
            } else if (i >= a->best_rec.n_steps) mark = '+';
            else if (!same_step(&a->rec, i, &a->best_rec, i)) mark = '~';
            else mark = '=';
        }
        int pair = mark == 'x' ? 4 : mark == '~' ? 4 : mark == '+' ? 2 : mark == '-' ? 3 : 0;
        tone_on(a, pair, mark == 'x' ? A_DIM : 0);
        char line[1800];
        snprintf(line, sizeof line, "%3zu%c %-*.*s %s", i, mark, half - 6, half - 6, desc, tok);
        put(y++, 0, "%s", line);
        tone_off(a, pair, mark == 'x' ? A_DIM : 0);
    }
    if ((size_t)a->tok_top + (size_t)rows > n && y < top + 2 + rows && n < (size_t)L)
        put(y++, 0, "%3zu.. %d: zero padding", n, L - 1);
    if ((size_t)a->tok_top + (size_t)rows > n && y < top + 2 + rows) {
        /* what a model of --encode prog adds as row L */
        float x[TLP_MAX_SEQ * TLP_MAX_FEA], prog[TLP_MAX_FEA];
        char desc[1024];
        tlp_record_features(m, &a->rec, x);
        tlp_program_row(m, x, prog);
        tlp_program_describe(m, prog, desc, sizeof desc);
        tone_on(a, 2, 0);
        put(y, 0, "prog %s", desc);
        tone_off(a, 2, 0);
    }
}

/* ------------------------------------------------------------ plot */

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

static void sparkline(app_t *a, int y, int x, int w, const float *v, int n)
{
    if (n <= 0 || w <= 0) return;
    int start = n > w ? n - w : 0;
    float lo = INFINITY, hi = -INFINITY;
    for (int i = start; i < n; i++) {
        if (!isfinite(v[i])) continue;
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    static const char *const blocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[8] = {'_', '.', '-', '-', '=', '=', '^', '#'};
    for (int i = start; i < n; i++) {
        int lvl = hi > lo && isfinite(v[i]) ? (int)(7 * (v[i] - lo) / (hi - lo) + 0.5) : 0;
        if (a->utf8) mvaddstr(y, x + i - start, blocks[lvl]);
        else mvaddch(y, x + i - start, ascii[lvl]);
    }
}

static void draw_plot(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    const float *sc = f->model ? f->scores[f->head] : NULL;
    int loss_rows = a->prog.n_hist > 0 ? 4 : 0;
    int h = rows - 3 - loss_rows, w = COLS - 12;
    put(top, 0, "%s on %s: predicted score (up) against measured latency (right, log scale)", tk->summary, tk->hardware);
    if (!sc) put(top + 1, 2, "no predictions yet (:load MODEL or :train)");
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
        put(top + 1, 0, "%9.3g", ymax);
        put(top + h, 0, "%9.3g", ymin);
        for (int r = 0; r < h; r++) mvaddch(top + 1 + r, 10, '|');
        mvhline(top + 1 + h, 10, '-', w + 1);
        char lo[24], hi[24];
        fmt_sec(pow(10, xmin), lo, sizeof lo);
        fmt_sec(pow(10, xmax), hi, sizeof hi);
        put(top + 2 + h, 11, "%s", lo);
        put(top + 2 + h, 11 + w - (int)strlen(hi), "%s", hi);
        if (n) plot_points(a, top + 1, 11, h, w, px, py, n, xmin, xmax, ymin, ymax);
        else put(top + 2, 12, "no valid candidates to plot");
        free(px), free(py);
    }
    if (loss_rows) {
        int y = top + rows - loss_rows;
        put(y, 0, "training loss per epoch (%d): train %.4g  val %.4g", a->prog.n_hist,
            (double)a->prog.hist_train[a->prog.n_hist - 1], (double)a->prog.hist_val[a->prog.n_hist - 1]);
        put(y + 1, 0, "train ");
        sparkline(a, y + 1, 6, COLS - 8, a->prog.hist_train, a->prog.n_hist);
        put(y + 2, 0, "val   ");
        sparkline(a, y + 2, 6, COLS - 8, a->prog.hist_val, a->prog.n_hist);
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
static void draw_replay(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    const float *sc = f->model ? f->scores[f->head] : NULL;
    const float *cs = f->model && f->cmp_head >= 0 ? f->scores[f->cmp_head] : NULL;
    uint32_t n = tk->n_records;
    put(top, 0, "%s on %s: best latency so far (up) against trials (right, both log scales)", tk->summary, tk->hardware);
    if (!sc) {
        put(top + 1, 2, "no predictions yet (:load MODEL or :train)");
        return;
    }
    tlp_replay rm, rc = {0};
    if (tlp_replay_dataset_task(a->ds, (size_t)a->task, sc, a->replay_within, &rm) != TLP_OK) {
        put(top + 1, 2, "every run of this task failed: nothing to find");
        return;
    }
    if (cs) tlp_replay_dataset_task(a->ds, (size_t)a->task, cs, a->replay_within, &rc);
    const tlp_model_config *c = tlp_model_config_of(f->model);
    char l1[256], l2[160];
    int w1 = snprintf(l1, sizeof l1, "within %g%% of the best: l log order %d trials, m model (%s) %d (gain %.1fx)",
                      100 * a->replay_within, rm.log_within, c->heads[f->head], rm.model_within,
                      (double)rm.log_within / rm.model_within);
    int w2 = snprintf(l2, sizeof l2, "the best itself: log %d trials, model %d", rm.log_best, rm.model_best);
    if (cs) {
        snprintf(l1 + w1, sizeof l1 - (size_t)w1, ", c %s %d", c->heads[f->cmp_head], rc.model_within);
        snprintf(l2 + w2, sizeof l2 - (size_t)w2, ", compare %d", rc.model_best);
    }
    put(top + 1, 0, "%s", l1);
    put(top + 2, 0, "%s", l2);
    int h = rows - 6, w = COLS - 12;
    uint32_t *ord = malloc(sizeof *ord * (n ? n : 1));
    double *curves[3] = {malloc(sizeof(double) * (n ? n : 1)), malloc(sizeof(double) * (n ? n : 1)),
                         cs ? malloc(sizeof(double) * (n ? n : 1)) : NULL};
    if (h < 3 || w < 10 || !ord || !curves[0] || !curves[1] || (cs && !curves[2])) goto out;
    for (uint32_t k = 0; k < n; k++) ord[k] = k;
    best_so_far(a, tk, ord, curves[0]);
    float *task_sc = malloc(sizeof(float) * (n ? n : 1));
    if (!task_sc) goto out;
    for (int s = 1; s <= (cs ? 2 : 1); s++) {
        const float *src = s == 1 ? sc : cs;
        for (uint32_t k = 0; k < n; k++) task_sc[k] = src[tk->records[k]], ord[k] = k;
        sort_scores = task_sc;
        qsort(ord, n, sizeof *ord, by_score_pos);
        best_so_far(a, tk, ord, curves[s]);
    }
    free(task_sc);
    /* y: from the best to the worst first valid latency of any curve */
    double ylo = log10(rm.best), yhi = ylo;
    for (int s = 0; s < 3; s++)
        for (uint32_t t = 0; curves[s] && t < n; t++)
            if (isfinite(curves[s][t])) yhi = fmax(yhi, log10(curves[s][t]));
    if (yhi - ylo < 1e-9) yhi = ylo + 1e-3;
    double xmax = log10((double)n > 1 ? n : 2);
    int y0 = top + 3;
    char lo[24], hi[24];
    fmt_sec(pow(10, yhi), hi, sizeof hi);
    fmt_sec(pow(10, ylo), lo, sizeof lo);
    put(y0, 0, "%9s", hi);
    put(y0 + h - 1, 0, "%9s", lo);
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
    /* the trials of each order marked under the axis */
    int marks[3] = {rm.log_within, rm.model_within, cs ? rc.model_within : 0};
    for (int s = 0; s < 3; s++) {
        if (!marks[s]) continue;
        int x = (int)lround(log10((double)marks[s]) / xmax * (w - 1));
        if (x >= 0 && x < w) mvaddch(y0 + h, 11 + x, (chtype)glyph[s]);
    }
    put(y0 + h + 1, 11, "1");
    put(y0 + h + 1, 11 + w - 6, "%6u", n);
    put(y0 + h + 1, 20, "trials (l m c under the axis: where each order comes within %g%%)", 100 * a->replay_within);
out:
    free(ord);
    for (int s = 0; s < 3; s++) free(curves[s]);
}

/* ------------------------------------------------------------ help, warnings */

static void draw_help(app_t *a, int top, int rows)
{
    put(top, 0, "%-12s %-44s %s", "keys", ":command", "what it does");
    mvchgat(top, 0, -1, A_BOLD, 0, NULL);
    if (a->help_top > ACT_COUNT - 1) a->help_top = ACT_COUNT - 1;
    for (int i = 0; i < rows - 1 && a->help_top + i < ACT_COUNT; i++) {
        const action_t *ac = &ACTIONS[a->help_top + i];
        char keys[24] = "", b1[4], b2[4], cmd[64] = "";
        if (ac->key && ac->key2) snprintf(keys, sizeof keys, "%s %s", key_label(ac->key, b1), key_label(ac->key2, b2));
        else if (ac->key) snprintf(keys, sizeof keys, "%s", key_label(ac->key, b1));
        if (ac->cmd) snprintf(cmd, sizeof cmd, ":%s %s", ac->cmd, ac->args);
        put(top + 1 + i, 0, "%-12s %-44.44s %s", keys, cmd, ac->help);
    }
}

static void draw_warnings(app_t *a, int top, int rows)
{
    size_t n = tlp_dataset_n_diags(a->ds);
    uint64_t files = tlp_dataset_n_skipped_files(a->ds);
    put(top, 0, "%llu line%s skipped while loading%s%s", (unsigned long long)tlp_dataset_n_skipped(a->ds),
        tlp_dataset_n_skipped(a->ds) == 1 ? "" : "s", files ? ", and paths" : "",
        n < tlp_dataset_n_skipped(a->ds) + files ? " (the first 10000 kept)" : "");
    for (int i = 0; i < rows - 1 && (size_t)(a->warn_top + i) < n; i++) {
        tlp_diag d = tlp_dataset_diag(a->ds, (size_t)(a->warn_top + i));
        if (d.line) put(top + 1 + i, 0, "%s:%ld: %s", d.file, d.line, d.msg);
        else put(top + 1 + i, 0, "%s: %s", d.file, d.msg);
    }
}

/* ------------------------------------------------------------ frame */

static void draw_status(app_t *a, int y)
{
    family_t *f = &a->fam[a->mode];
    char s[1024], part[256];
    size_t w = 0;
    s[0] = 0;
    /* most urgent first: on a narrow terminal the tail is cut */
    if (a->train) {
        const tlp_progress *p = &a->prog;
        int fill = p->steps_per_epoch ? (int)(10 * p->step / p->steps_per_epoch) : 0;
        char barb[16];
        for (int i = 0; i < 10; i++) barb[i] = i < fill ? '#' : '.';
        barb[10] = 0;
        char eta[24] = "?";
        if (isfinite(p->eta_s) && p->eta_s > 0) snprintf(eta, sizeof eta, "%dm%02ds", (int)p->eta_s / 60, (int)p->eta_s % 60);
        char net[32] = "";
        if (p->nets > 1) snprintf(net, sizeof net, " net %d/%d %s", p->net, p->nets, tlp_encode_name(p->net_encode));
        w += (size_t)snprintf(s + w, sizeof s - w, " train%s %d/%d %ld/%ld [%s] loss %.3g %.0f/s ETA %s |", net,
                              p->epoch, p->epochs, p->step, p->steps_per_epoch, barb, p->loss, p->samples_per_s, eta);
    }
    if (f->predict) {
        tlp_progress p;
        tlp_job_progress(f->predict, &p);
        w += (size_t)snprintf(s + w, sizeof s - w, " predicting %d%% |", (int)(100 * p.frac));
    }
    if (f->model) {
        const char *base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
        /* an ensemble names its networks' tokens: "ensemble log+prog" */
        char ens[64] = "";
        int K = tlp_model_n_members(f->model);
        for (int k = 0, e = 0; K > 1 && k < K && e < (int)sizeof ens; k++)
            e += snprintf(ens + e, sizeof ens - (size_t)e, "%s%s", k ? "+" : " ensemble ",
                          tlp_encode_name(tlp_model_config_of(tlp_model_member(f->model, k))->encode));
        snprintf(part, sizeof part, " %s:%s%s%s head %s", tlp_mode_name(a->mode), base[0] ? base : "(trained)",
                 f->dirty ? "*" : "", ens, tlp_model_config_of(f->model)->heads[f->head]);
    } else
        snprintf(part, sizeof part, " no %s model", tlp_mode_name(a->mode));
    w += (size_t)snprintf(s + w, sizeof s - w, "%s", part);
    if (a->eval.tasks) {
        tlp_eval_k k1 = tlp_eval_sum_k(&a->eval, 0), k5 = tlp_eval_sum_k(&a->eval, 1);
        /* mean over tasks first (what a tuner sees per task), then TLP's
         * pooled figure, the random order's and the failed picks */
        w += (size_t)snprintf(s + w, sizeof s - w, " | %s %d tasks: top1 %.3f pooled %.3f random %.3f failed %d | top5 %.3f random %.3f",
                              a->eval_hw[0] ? a->eval_hw : "all", a->eval.tasks, k1.mean, k1.pooled, k1.rand_mean, k1.failed,
                              k5.mean, k5.rand_mean);
    }
    snprintf(s + w, sizeof s - w, " | %s | %llu warn", a->data_desc, (unsigned long long)tlp_dataset_n_skipped(a->ds));
    bar(a, y, s, 1);
    /* the loss sparkline at the right end of the status line while training */
    if (a->train && a->prog.n_hist > 1 && COLS > 100) sparkline(a, y, COLS - 12, 10, a->prog.hist_train, a->prog.n_hist);
}

void views_draw(app_t *a)
{
    static const char *const names[VIEW_COUNT] = {"tasks", "candidates", "tokens", "plot", "replay", "help", "warnings"};
    erase();
    hshift = 0;
    if (LINES < 6 || COLS < 30) {
        put(0, 0, "tlpx: the terminal is too small (%dx%d)", COLS, LINES);
        refresh();
        return;
    }
    char title[256];
    snprintf(title, sizeof title, " tlpx %s  [%s]%s%s", names[a->view], tlp_mode_name(a->mode),
             a->filter[0] ? "  filter: " : "", a->filter);
    bar(a, 0, title, 1);
    int top = 1, rows = views_body_rows();
    if (a->task < 0 && VIEW_OF_TASK(a->view))
        a->view = VIEW_TASKS; /* nothing selected (e.g. after :open) */
    hshift = VIEW_IS_GRAPH(a->view) ? 0 : a->hscroll;
    switch (a->view) {
    case VIEW_TASKS: draw_tasks(a, top, rows); break;
    case VIEW_CANDS: draw_cands(a, top, rows); break;
    case VIEW_TOKENS: draw_tokens(a, top, rows); break;
    case VIEW_PLOT: draw_plot(a, top, rows); break;
    case VIEW_REPLAY: draw_replay(a, top, rows); break;
    case VIEW_HELP: draw_help(a, top, rows); break;
    case VIEW_WARNINGS: draw_warnings(a, top, rows); break;
    default: break;
    }
    hshift = 0;
    draw_status(a, LINES - 2);
    if (a->prompt_active) prompt_draw(a);
    else put(LINES - 1, 0, "%s", a->msg);
    refresh();
}
