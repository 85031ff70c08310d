/*
 * views.c: the frame every view is drawn in: a title row, the view's body
 * (its ops' draw, view_*.c), the status line, and the message or prompt
 * line.  Every frame is drawn whole into stdscr and curses sends only what
 * changed (no flicker).  VIEW_OPS gives each view's ops by its id.
 */
#include "explore.h"

#include <math.h>
#include <string.h>

const view_ops *const VIEW_OPS[VIEW_COUNT] = {&TASKS_VIEW, &CANDS_VIEW, &TOKENS_VIEW, &PLOT_VIEW,
                                              &REPLAY_VIEW, &HELP_VIEW, &WARNINGS_VIEW};

int views_body_rows(void) { return LINES - 3 > 1 ? LINES - 3 : 1; }

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
        char loss[24] = "-"; /* no nan on screen: before the first step, or a diverged run */
        if (isfinite(p->loss)) snprintf(loss, sizeof loss, "%.3g", p->loss);
        w += (size_t)snprintf(s + w, sizeof s - w, " train%s %d/%d %ld/%ld [%s] loss %s %.0f/s ETA %s |", net,
                              p->epoch, p->epochs, p->step, p->steps_per_epoch, barb, loss,
                              isfinite(p->samples_per_s) ? p->samples_per_s : 0.0, eta);
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
                 f->dirty ? "*" : "", ens, app_head_name(f, f->head));
    } else
        snprintf(part, sizeof part, " no %s model", tlp_mode_name(a->mode));
    w += (size_t)snprintf(s + w, sizeof s - w, "%s", part);
    if (a->eval.tasks) {
        tlp_eval_k k1 = tlp_eval_sum_k(&a->eval, 0), k5 = tlp_eval_sum_k(&a->eval, 1);
        /* mean over tasks first (what a tuner sees per task), then TLP's
         * pooled figure, the random order's and the failed picks */
        char ins[48] = "", pooled[32] = "", failed[32] = "";
        /* figures of tasks the model was trained on flatter it: said */
        if (a->eval_in_sample) snprintf(ins, sizeof ins, " (%d in-sample)", a->eval_in_sample);
        /* TLP's pooled figure is 0 once any pick failed: shown only when none did */
        if (k1.failed) snprintf(failed, sizeof failed, " failed picks %d", k1.failed);
        else snprintf(pooled, sizeof pooled, " pooled %.3f", k1.pooled);
        w += (size_t)snprintf(s + w, sizeof s - w, " | %s %d tasks%s: top1 %.3f%s random %.3f%s | top5 %.3f random %.3f",
                              a->eval_hw[0] ? a->eval_hw : "all", a->eval.tasks, ins, k1.mean, pooled, k1.rand_mean, failed,
                              k5.mean, k5.rand_mean);
    }
    snprintf(s + w, sizeof s - w, " | %s | %llu warn", a->data_desc, (unsigned long long)tlp_dataset_n_skipped(a->ds));
    tui_draw_bar(a, y, s, 1);
    /* the loss sparkline at the right end of the status line while training */
    if (a->train && a->prog.n_hist > 1 && COLS > 100) tui_draw_sparkline(a, y, COLS - 12, 10, a->prog.hist_train, a->prog.n_hist);
}

void views_draw(app_t *a)
{
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
