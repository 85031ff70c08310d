/* view_text.c: the views of text over any other: the help (every action of
 * actions.def with its keys, :command and what it does) and the warnings
 * (the lines and paths skipped while loading, with the reason).  Back
 * returns to the view they were opened over. */
#include "../cli/opts.h"
#include "explore.h"

#include <string.h>

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

/* An action's keys as the help and the man page show them: "j Down". */
static void action_keys(const action_t *ac, char *out, size_t cap)
{
    char b1[4], b2[4];
    out[0] = 0;
    if (ac->key && ac->key2 && !(ac->key == '\n' && ac->key2 == KEY_ENTER)) /* both say Enter */
        snprintf(out, cap, "%s %s", key_label(ac->key, b1), key_label(ac->key2, b2));
    else if (ac->key)
        snprintf(out, cap, "%s", key_label(ac->key, b1));
}

void explore_man_keys(FILE *f)
{
    for (int i = 0; i < ACT_COUNT; i++) {
        const action_t *ac = &ACTIONS[i];
        char keys[24], line[128] = "";
        action_keys(ac, keys, sizeof keys);
        snprintf(line, sizeof line, "%s%s%s%s%s", keys, keys[0] && ac->cmd ? ", " : "", ac->cmd ? ":" : "",
                 ac->cmd ? ac->cmd : "", ac->cmd && ac->args[0] ? " " : "");
        fputs(".TP\n.B ", f);
        cli_roff(f, line);
        if (ac->cmd && ac->args[0]) {
            fputs("\n.I ", f);
            cli_roff(f, ac->args);
        }
        fputc('\n', f);
        cli_roff(f, ac->help);
        fputc('\n', f);
    }
}

static void draw_help(app_t *a, int top, int rows)
{
    tui_draw_put(top, 0, "%-12s %-44s %s", "keys", ":command", "what it does");
    mvchgat(top, 0, -1, A_BOLD, 0, NULL);
    if (a->help_top > ACT_COUNT - 1) a->help_top = ACT_COUNT - 1;
    for (int i = 0; i < rows - 1 && a->help_top + i < ACT_COUNT; i++) {
        const action_t *ac = &ACTIONS[a->help_top + i];
        char keys[24], cmd[64] = "";
        action_keys(ac, keys, sizeof keys);
        if (ac->cmd) snprintf(cmd, sizeof cmd, ":%s %s", ac->cmd, ac->args);
        tui_draw_put(top + 1 + i, 0, "%-12s %-44.44s %s", keys, cmd, ac->help);
    }
}

static int *help_cursor(app_t *a, int *n)
{
    *n = ACT_COUNT;
    return &a->help_top;
}

static void draw_warnings(app_t *a, int top, int rows)
{
    size_t n = tlp_dataset_n_diags(a->ds);
    uint64_t files = tlp_dataset_n_skipped_files(a->ds);
    tui_draw_put(top, 0, "%llu line%s skipped while loading%s%s", (unsigned long long)tlp_dataset_n_skipped(a->ds),
        tlp_dataset_n_skipped(a->ds) == 1 ? "" : "s", files ? ", and paths" : "",
        n < tlp_dataset_n_skipped(a->ds) + files ? " (the first 10000 kept)" : "");
    for (int i = 0; i < rows - 1 && (size_t)(a->warn_top + i) < n; i++) {
        tlp_diag d = tlp_dataset_diag(a->ds, (size_t)(a->warn_top + i));
        if (d.line) tui_draw_put(top + 1 + i, 0, "%s:%ld: %s", d.file, d.line, d.msg);
        else tui_draw_put(top + 1 + i, 0, "%s: %s", d.file, d.msg);
    }
}

static int *warn_cursor(app_t *a, int *n)
{
    *n = (int)tlp_dataset_n_diags(a->ds);
    return &a->warn_top;
}

static view_id back(const app_t *a) { return a->back_to; }

const view_ops HELP_VIEW = {"help", VIEW_ASIDE, draw_help, help_cursor, NULL, NULL, back, NULL};
const view_ops WARNINGS_VIEW = {"warnings", VIEW_ASIDE, draw_warnings, warn_cursor, NULL, NULL, back, NULL};
