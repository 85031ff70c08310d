/* view_cands.c: one task's candidates: measured rank, predicted rank (and
 * its difference, the rank under the previous head or model (was), the
 * compare head's), latency and its ratio to the task's best, spread and
 * score; the model's top-1 and top-5 marked.  Enter opens
 * the selected candidate's tokens; back returns to the task list. */
#include "explore.h"

#include <math.h>
#include <string.h>

static void draw_cands(app_t *a, int top, int rows)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    family_t *f = &a->fam[a->mode];
    const float *sc = app_task_scores(a, f->head, tk);
    int have_pred = sc != NULL;
    int m1 = 0, m5 = 0; /* measured rank of the model's top-1, best within its top-5 */
    double c1 = NAN, c5 = NAN; /* and their latencies */
    for (uint32_t k = 0; k < tk->n_records && have_pred; k++) {
        double c = tlp_dataset_rec(a->ds, tk->records[k])->error_no ? NAN : tlp_dataset_rec(a->ds, tk->records[k])->cost;
        if (a->rank[k] == 1) m1 = a->mrank[k], c1 = c;
        if (a->rank[k] <= 5 && (!m5 || a->mrank[k] < m5)) m5 = a->mrank[k], c5 = c;
    }
    char best[24];
    cli_fmt_seconds(tk->best_valid, best, sizeof best);
    if (!isfinite(tk->best_valid)) snprintf(best, sizeof best, "- (all failed)");
    tui_draw_put(top, 0, "%s on %s: %u candidates, %u valid, best %s", tk->summary, tk->hardware, tk->n_records, tk->n_valid,
        best);
    if (have_pred) {
        char x1[24] = " (failed)", x5[24] = " (failed)"; /* how far from the best: what a tuner loses */
        if (isfinite(c1) && isfinite(tk->best_valid)) snprintf(x1, sizeof x1, " (%.3gx best)", c1 / tk->best_valid);
        if (isfinite(c5) && isfinite(tk->best_valid)) snprintf(x5, sizeof x5, " (%.3gx)", c5 / tk->best_valid);
        tui_draw_put(top + 1, 0, "head %s: top-1 is measured #%d%s, best of top-5 #%d%s; by %s rank",
            tlp_model_config_of(f->model)->heads[app_head(f, f->head, tk)], m1, x1, m5, x5, a->cand_sort ? "predicted" : "measured");
    }
    else
        tui_draw_put(top + 1, 0, "%s", f->model ? "predicting..." : "no model: measured ranks only (:load MODEL or :train)");
    char cmp[40] = "";
    if (f->cmp_head >= 0 && f->model) snprintf(cmp, sizeof cmp, " %6.6s", tlp_model_config_of(f->model)->heads[f->cmp_head]);
    tui_draw_put(top + 2, 0, " k%5s %5s %5s %5s%s %11s %6s %7s %10s  %s", "meas", "pred", "diff", "was", cmp, "latency", "/best",
        "spread", "score", "status / record");
    mvchgat(top + 2, 0, -1, A_BOLD, 0, NULL);
    rows -= 3;
    if (a->cand_cur < a->cand_top) a->cand_top = a->cand_cur;
    if (a->cand_cur >= a->cand_top + rows) a->cand_top = a->cand_cur - rows + 1;
    for (int i = 0; i < rows && a->cand_top + i < a->n_cand_rows; i++) {
        uint32_t k = a->cand_rows[a->cand_top + i];
        const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[k]);
        char lat[24], pr[8] = "    -", d[8] = "    -", was[8] = "     ", cr[16] = "", spread[16] = "      -", sco[16] = "         -",
                  ratio[16] = "     -";
        cli_fmt_seconds(r->cost, lat, sizeof lat);
        if (r->error_no == 0 && isfinite(tk->best_valid) && tk->best_valid > 0)
            snprintf(ratio, sizeof ratio, "%6.3f", r->cost / tk->best_valid);
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
        snprintf(line, sizeof line, "%c%c%5d %s %s %s%s %11s %s %7s %s  %s %s:%u",
                 a->cand_top + i == a->cand_cur ? '>' : ' ', mark, a->mrank[k], pr, d, was, cr, lat, ratio,
                 spread, sco, r->error_no ? tlp_error_no_name(r->error_no) : "ok",
                 cli_esc(strrchr(tlp_dataset_file(a->ds, r->file), '/') ? strrchr(tlp_dataset_file(a->ds, r->file), '/') + 1
                                                                        : tlp_dataset_file(a->ds, r->file)),
                 r->line);
        int y = top + 3 + i;
        if (a->cand_top + i == a->cand_cur) tui_draw_bar(a, y, line, 1);
        else {
            if (r->error_no) tui_draw_tone_on(a, 3, A_DIM);
            else if (mark != ' ') tui_draw_tone_on(a, 2, A_BOLD);
            tui_draw_put(y, 0, "%s", line);
            if (r->error_no) tui_draw_tone_off(a, 3, A_DIM);
            else if (mark != ' ') tui_draw_tone_off(a, 2, A_BOLD);
        }
    }
}

static int *cursor(app_t *a, int *n)
{
    *n = a->n_cand_rows;
    return &a->cand_cur;
}

static view_id enter(app_t *a) { return a->n_cand_rows ? VIEW_TOKENS : VIEW_CANDS; }

static view_id back(const app_t *a) { return VIEW_TASKS; }

/* Search: the record's line number and its status's name. */
static int matches(const app_t *a, int row)
{
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    const tlp_rec *r = tlp_dataset_rec(a->ds, tk->records[a->cand_rows[row]]);
    char t[64];
    snprintf(t, sizeof t, "%u %s", r->line, tlp_error_no_name(r->error_no));
    return strstr(t, a->search) != NULL;
}

const view_ops CANDS_VIEW = {"candidates", VIEW_OF_TASK | VIEW_OF_CAND, draw_cands, cursor, NULL, enter, back, matches};
