/* view_tokens.c: one record's primitives, each beside the TLP tokens made of
 * it (slot=value), the crop of steps and values marked, the program row of
 * --encode prog at the end; d diffs it against the task's best measured
 * record.  The record is read from its file on opening (app_load_record). */
#include "explore.h"

#include <string.h>

static int same_step(const tlp_record *a, size_t i, const tlp_record *b, size_t j);

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

/* A changed step as its values side by side: each slot where the best
 * candidate's token differs, "slot=best->this" (the kinds, when they
 * differ).  Values past the F slots the model sees are marked cropped. */
static void step_changes(const tlp_record *r, const tlp_record *best, tlp_mode m, size_t i, char *out, size_t cap)
{
    int F = tlp_mode_fea(m);
    float row[512], brow[512];
    tlp_step_info info;
    int n = tlp_step_vector(m, r, i, row, 512, &info), nb = tlp_step_vector(m, best, i, brow, 512, &info);
    size_t w = 0;
    out[0] = 0;
    if (r->steps[i].kind != best->steps[i].kind) {
        snprintf(out, cap, "kind %s->%s", tlp_step_tag((tlp_step_kind)best->steps[i].kind),
                 tlp_step_tag((tlp_step_kind)r->steps[i].kind));
        return;
    }
    if (n > 512) n = 512;
    if (nb > 512) nb = 512;
    int cropped = 0;
    for (int j = TLP_ONEHOT; j < (n > nb ? n : nb) && w < cap - 48; j++) {
        double x = j < n ? row[j] : 0, y = j < nb ? brow[j] : 0;
        if (x == y) continue;
        if (j >= F) { /* beyond the slots: not seen, counted */
            cropped++;
            continue;
        }
        char lab[48];
        tlp_slot_label(r, i, j, lab, sizeof lab);
        w += (size_t)snprintf(out + w, cap - w, "%s%s=%g->%g", w ? " " : "", lab, y, x);
    }
    if (cropped && w < cap - 40) w += (size_t)snprintf(out + w, cap - w, "%s%d cropped value%s differ", w ? "; " : "", cropped, cropped == 1 ? "" : "s");
    if (!w) snprintf(out, cap, "(its string differs; the tokens are the same)");
}

/* The steps beyond the crop, for the program row: "12 steps: 5 AN, 1 PR
 * auto_unroll_max_step$16, ..." (a pragma names itself: it often sits
 * there). */
static void beyond_crop(const tlp_record *r, int L, char *out, size_t cap)
{
    size_t w = (size_t)snprintf(out, cap, "%zu step%s beyond the crop:", r->n_steps - (size_t)L,
                                r->n_steps - (size_t)L == 1 ? "" : "s");
    int count[TLP_STEP_COUNT] = {0};
    for (size_t i = (size_t)L; i < r->n_steps; i++) count[r->steps[i].kind]++;
    for (int k = 0; k < TLP_STEP_COUNT && w < cap - 24; k++)
        if (count[k]) w += (size_t)snprintf(out + w, cap - w, " %d %s", count[k], tlp_step_tag((tlp_step_kind)k));
    for (size_t i = (size_t)L; i < r->n_steps && w < cap - 64; i++)
        if (r->steps[i].str >= 0 && r->steps[i].kind == TLP_STEP_PR)
            w += (size_t)snprintf(out + w, cap - w, "; step %zu: %s", i, cli_esc(r->strs + r->steps[i].str));
}

/* What the diff finds: steps changed, only in one of the two, and the
 * record's crop (steps beyond L, values beyond F in the kept steps). */
static void diff_summary(const app_t *a, tlp_mode m, char *out, size_t cap)
{
    int L = app_steps(a, m), F = tlp_mode_fea(m), changed = 0, vals = 0;
    size_t n = a->rec.n_steps, nb = a->best_rec.n_steps;
    for (size_t i = 0; i < n && i < nb; i++) changed += !same_step(&a->rec, i, &a->best_rec, i);
    for (size_t i = 0; i < n && i < (size_t)L; i++) {
        float row[512];
        tlp_step_info info;
        int k = tlp_step_vector(m, &a->rec, i, row, 512, &info);
        if (k > F) vals += k - F;
    }
    snprintf(out, cap, "vs best: %d changed, %zu only here, %zu only in best | crop: %zu steps, %d values", changed,
             n > nb ? n - nb : 0, nb > n ? nb - n : 0, n > (size_t)L ? n - (size_t)L : 0, vals);
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

/* What a model of --encode prog adds as row L, from rows y to end: the
 * steps beyond the crop first (what the row cannot show), then the row,
 * wrapped between its "name=value (x)" items so 80 columns show it all. */
static void program_row(app_t *a, tlp_mode m, int y, int end)
{
    int L = app_steps(a, m);
    float x[TLP_MAX_STEPS * TLP_MAX_FEA], prog[TLP_MAX_FEA];
    char desc[1024];
    tlp_record_features(m, L, &a->rec, x);
    tlp_program_row(m, L, x, prog);
    tlp_program_describe(m, prog, desc, sizeof desc);
    tui_draw_tone_on(a, 2, 0);
    if (a->rec.n_steps > (size_t)L) {
        char more[600];
        beyond_crop(&a->rec, L, more, sizeof more);
        tui_draw_put(y++, 0, "prog: %s", more);
    }
    size_t kept = a->rec.n_steps < (size_t)L ? a->rec.n_steps : (size_t)L;
    char head[64];
    snprintf(head, sizeof head, "prog (from the %zu kept steps)", kept);
    const char *p = desc;
    int x0 = (int)strlen(head) + 1, first = 1;
    while (*p && y < end) {
        const char *e = p, *cut = NULL;
        for (; *e && x0 + (e - p) < COLS - 1; e++)
            if (e[0] == ')' && e[1] == ' ') cut = e + 1;
        if (!*e || !cut) cut = e;
        tui_draw_put(y++, 0, "%-*s %.*s", x0 - 1, first ? head : "", (int)(cut - p), p);
        first = 0;
        p = *cut == ' ' ? cut + 1 : cut;
    }
    tui_draw_tone_off(a, 2, 0);
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
    int L = app_steps(a, m), F = tlp_mode_fea(m); /* the crop of the model in use: --steps */
    char lat[24];
    cli_fmt_seconds(rc->cost, lat, sizeof lat);
    const char *file = tlp_dataset_file(a->ds, rc->file), *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    tui_draw_put(top, 0, "%s:%u  %s  %s  %zu steps; %s tokens %dx%d", cli_esc(base), rc->line, lat,
        tlp_error_no_name(rc->error_no), a->rec.n_steps, tlp_mode_name(m), L, F);
    int half = COLS >= 140 ? 64 : COLS >= 100 ? 52 : 42;
    if (a->diff) { /* the summary first, in 80 columns; then each step */
        char sum[160];
        if (a->best_i >= 0) diff_summary(a, m, sum, sizeof sum);
        else snprintf(sum, sizeof sum, "no diff partner (no valid measurement in this task)");
        tui_draw_put(top + 1, 0, "%s", sum);
        top++, rows--;
    }
    tui_draw_put(top + 1, 0, "%4s %-*s %s", "step", half - 6, "primitive",
        a->diff && a->best_i >= 0 ? "~: slot=best->this" : "TLP tokens (slot=value)");
    mvchgat(top + 1, 0, -1, A_BOLD, 0, NULL);
    rows -= 2;
    size_t n = a->rec.n_steps;
    if (a->diff && a->best_i >= 0 && a->best_rec.n_steps > n) n = a->best_rec.n_steps;
    int y = top + 2;
    for (size_t i = (size_t)a->tok_top; i < n && y < top + 2 + rows; i++) {
        if ((int)i == L) {
            tui_draw_tone_on(a, 4, A_BOLD);
            tui_draw_put(y++, 0, "---- crop: steps from %d on are never seen by the model ----", L);
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
            else if (!same_step(&a->rec, i, &a->best_rec, i)) {
                mark = '~';
                step_changes(&a->rec, &a->best_rec, m, i, tok, sizeof tok);
            } else
                mark = '=';
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
    if ((size_t)a->tok_top + (size_t)rows > n && y < top + 2 + rows) program_row(a, m, y, top + 2 + rows);
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
