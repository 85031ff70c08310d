/* view_tokens.c: one record's primitives, each beside the TLP tokens made of
 * it (slot=value), the crop of steps and values marked, the program row of
 * --encode prog at the end; d diffs it against the task's best measured
 * record.  The record is read from its file on opening (app_load_record). */
#include "explore.h"

#include <string.h>

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
        tui_draw_put(top, 0, "no record selected");
        return;
    }
    const tlp_rec *rc = tlp_dataset_rec(a->ds, (size_t)a->rec_i);
    tlp_mode m = tk->mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    char lat[24];
    cli_fmt_seconds(rc->cost, lat, sizeof lat);
    tui_draw_put(top, 0, "%s:%u  %s  %s  %zu steps; %s tokens %dx%d (11 one-hot + %d values)%s", cli_esc(tlp_dataset_file(a->ds, rc->file)),
        rc->line, lat, tlp_error_no_name(rc->error_no), a->rec.n_steps, tlp_mode_name(m), L, F, F - TLP_ONEHOT,
        a->diff ? (a->best_i >= 0 ? "  DIFF vs best measured" : "  (no diff partner)") : "");
    tui_draw_put(top + 1, 0, "%4s %-40s %s", "step", "primitive", "TLP tokens (slot=value)");
    mvchgat(top + 1, 0, -1, A_BOLD, 0, NULL);
    rows -= 2;
    int half = COLS >= 140 ? 64 : COLS >= 100 ? 52 : 42;
    size_t n = a->rec.n_steps;
    if (a->diff && a->best_i >= 0 && a->best_rec.n_steps > n) n = a->best_rec.n_steps;
    int y = top + 2;
    for (size_t i = (size_t)a->tok_top; i < n && y < top + 2 + rows; i++) {
        if ((int)i == L) {
            tui_draw_tone_on(a, 4, A_BOLD);
            tui_draw_put(y++, 0, "---- crop: steps below the %d-step limit are never seen by the model ----", L);
            tui_draw_tone_off(a, 4, A_BOLD);
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
        tui_draw_tone_on(a, pair, mark == 'x' ? A_DIM : 0);
        char line[1800];
        snprintf(line, sizeof line, "%3zu%c %-*.*s %s", i, mark, half - 6, half - 6, desc, tok);
        tui_draw_put(y++, 0, "%s", line);
        tui_draw_tone_off(a, pair, mark == 'x' ? A_DIM : 0);
    }
    if ((size_t)a->tok_top + (size_t)rows > n && y < top + 2 + rows && n < (size_t)L)
        tui_draw_put(y++, 0, "%3zu.. %d: zero padding", n, L - 1);
    if ((size_t)a->tok_top + (size_t)rows > n && y < top + 2 + rows) {
        /* what a model of --encode prog adds as row L */
        float x[TLP_MAX_SEQ * TLP_MAX_FEA], prog[TLP_MAX_FEA];
        char desc[1024];
        tlp_record_features(m, &a->rec, x);
        tlp_program_row(m, x, prog);
        tlp_program_describe(m, prog, desc, sizeof desc);
        tui_draw_tone_on(a, 2, 0);
        tui_draw_put(y, 0, "prog %s", desc);
        tui_draw_tone_off(a, 2, 0);
    }
}

static int *cursor(app_t *a, int *n)
{
    *n = (int)a->rec.n_steps;
    return &a->tok_top;
}

static void open_record(app_t *a)
{
    if (a->n_cand_rows) app_load_record(a);
}

static view_id back(const app_t *a) { return VIEW_CANDS; }

const view_ops TOKENS_VIEW = {"tokens", VIEW_OF_TASK | VIEW_OF_CAND, draw_tokens, cursor, open_record, NULL, back, NULL};
