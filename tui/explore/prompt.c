/* prompt.c: the ':' prompt through readline's callback interface, so the loop
 * keeps running (training, predictions) while a command is typed.  readline
 * reads bytes we feed it and draws through our redisplay function into the
 * bottom line; a line entered goes back to the caller of prompt_key (never
 * run from here); history lives in $XDG_STATE_HOME/tlpx/history; Tab
 * completes command names (from ACTIONS), head names and paths. */
#include "explore.h"

#include <errno.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <term.h>

static app_t *the_app;
static unsigned char queue[64];
static int q_head, q_len;
static char history_path[1024];

static int getc_cb(FILE *f)
{
    (void)f;
    if (!q_len) return EOF;
    int c = queue[q_head];
    q_head = (q_head + 1) % (int)sizeof queue;
    q_len--;
    return c;
}

static void push(const char *bytes)
{
    for (; *bytes && q_len < (int)sizeof queue; bytes++) {
        queue[(q_head + q_len) % (int)sizeof queue] = (unsigned char)*bytes;
        q_len++;
    }
}

static void redisplay(void) { /* drawn by prompt_draw with the rest of the frame */ }

/* Without this readline asks for one more byte after each key and takes
 * "no byte" for the end of input. */
static int input_available(void) { return q_len > 0; }

/* A line entered: kept for prompt_key to hand back, so that the command runs
 * from commands.c, outside readline (which the command may open again). */
static char *entered;

static void on_line(char *line)
{
    the_app->prompt_active = 0;
    rl_callback_handler_remove();
    if (line && *line) {
        add_history(line);
        if (history_path[0]) append_history(1, history_path);
        entered = line;
        return;
    }
    free(line);
}

/* ------------------------------------------------------------ completion */

static const char *complete_kind; /* "cmd", "head" (heads), "own" (heads and own), "sort" or "train" */
static char *generator(const char *text, int state)
{
    static int i;
    if (!state) i = 0;
    size_t n = strlen(text);
    if (!strcmp(complete_kind, "train")) { /* key= of :train: the training settings */
        const char *k;
        while ((k = tlp_train_setting_name(i++)) != NULL) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s=", k);
            if (!strncmp(buf, text, n)) return strdup(buf);
        }
        return NULL;
    }
    if (!strcmp(complete_kind, "sort")) { /* the task list's keys, then the candidates' */
        static const char *const cands[] = {"measured", "predicted"};
        while (i < APP_N_TASK_SORTS + 2) {
            const char *k = i < APP_N_TASK_SORTS ? APP_TASK_SORTS[i] : cands[i - APP_N_TASK_SORTS];
            i++;
            if (!strncmp(k, text, n)) return strdup(k);
        }
        return NULL;
    }
    if (!strcmp(complete_kind, "cmd")) {
        while (i < ACT_COUNT) {
            const char *c = ACTIONS[i++].cmd;
            if (c && !strncmp(c, text, n)) return strdup(c);
        }
        return NULL;
    }
    family_t *f = &the_app->fam[the_app->mode];
    if (!f->model) return NULL;
    const tlp_model_config *c = tlp_model_config_of(f->model);
    while (i < c->n_heads) {
        const char *h = c->heads[i++];
        if (!strncmp(h, text, n)) return strdup(h);
    }
    if (i++ == c->n_heads && !strcmp(complete_kind, "own") && !strncmp("own", text, n)) return strdup("own");
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    int first = 1;
    for (int i = 0; i < start; i++) first &= rl_line_buffer[i] == ' ';
    if (first) {
        complete_kind = "cmd";
        return rl_completion_matches(text, generator);
    }
    if (!strncmp(rl_line_buffer, "head", 4) || !strncmp(rl_line_buffer, "compare", 7)) {
        complete_kind = rl_line_buffer[0] == 'h' ? "own" : "head"; /* :head also takes own */
        return rl_completion_matches(text, generator);
    }
    if (!strncmp(rl_line_buffer, "sort ", 5)) {
        complete_kind = "sort";
        return rl_completion_matches(text, generator);
    }
    if (!strncmp(rl_line_buffer, "train ", 6)) {
        complete_kind = "train";
        rl_completion_append_character = '\0'; /* the value follows the = */
        return rl_completion_matches(text, generator);
    }
    rl_attempted_completion_over = 0; /* paths for load, open, save, export */
    return rl_completion_matches(text, rl_filename_completion_function);
}

/* readline would print the matches to the terminal; show them in the message line */
static void show_matches(char **matches, int n, int max)
{
    (void)max;
    app_t *a = the_app;
    size_t w = (size_t)snprintf(a->msg, sizeof a->msg, "%d matches:", n);
    for (int i = 1; i <= n && w < sizeof a->msg - 2; i++) w += (size_t)snprintf(a->msg + w, sizeof a->msg - w, " %s", matches[i]);
}

/* ------------------------------------------------------------ interface */

void prompt_init(app_t *a)
{
    the_app = a;
    rl_catch_signals = 0;
    rl_change_environment = 0; /* else readline exports LINES/COLUMNS and curses stops seeing resizes */
    rl_catch_sigwinch = 0;
    rl_getc_function = getc_cb;
    rl_input_available_hook = input_available;
    rl_redisplay_function = redisplay;
    rl_prep_term_function = NULL;
    rl_deprep_term_function = NULL;
    rl_attempted_completion_function = complete;
    rl_completion_display_matches_hook = show_matches;
    rl_outstream = fopen("/dev/null", "w"); /* readline never writes to the terminal */
    using_history();
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[900];
    if (state && *state) snprintf(dir, sizeof dir, "%s/tlpx", state);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.local/state/tlpx", home);
    else dir[0] = 0;
    if (dir[0] && !a->script) {
        /* mkdir -p */
        for (char *p = dir + 1; *p; p++)
            if (*p == '/') {
                *p = 0;
                mkdir(dir, 0700);
                *p = '/';
            }
        mkdir(dir, 0700);
        snprintf(history_path, sizeof history_path, "%s/history", dir);
        read_history(history_path);
        FILE *f = fopen(history_path, "a"); /* make sure it exists for append_history */
        if (f) fclose(f);
    }
}

/* readline sets up its own terminal through termcap (tgetent), which
 * replaces curses' cur_term: curses then loses track of the window size.
 * Every call into readline is bracketed to give curses its terminal back. */
#define RL_ENTER() TERMINAL *saved_term_ = cur_term
#define RL_LEAVE()                                        \
    do {                                                  \
        if (cur_term != saved_term_) set_curterm(saved_term_); \
    } while (0)

void prompt_open(app_t *a)
{
    RL_ENTER();
    a->prompt_active = 1;
    q_len = 0;
    rl_callback_handler_install(":", on_line);
    RL_LEAVE();
}

void prompt_insert(const char *text) { rl_insert_text(text); }

static void prompt_key_inner(app_t *a, int key);

char *prompt_key(app_t *a, int key)
{
    RL_ENTER();
    prompt_key_inner(a, key);
    RL_LEAVE();
    char *line = entered;
    entered = NULL;
    return line;
}

static void prompt_key_inner(app_t *a, int key)
{
    char buf[8] = {0};
    switch (key) {
    case KEY_LEFT: push("\033[D"); break;
    case KEY_RIGHT: push("\033[C"); break;
    case KEY_UP: push("\033[A"); break;
    case KEY_DOWN: push("\033[B"); break;
    case KEY_HOME: push("\001"); break;
    case KEY_END: push("\005"); break;
    case KEY_BACKSPACE: case 127: case 8:
        if (rl_end == 0) { /* backspace on an empty prompt leaves it */
            a->prompt_active = 0;
            rl_callback_handler_remove();
            return;
        }
        push("\177");
        break;
    case KEY_ENTER: case '\r': push("\n"); break;
    case 27:
        a->prompt_active = 0;
        rl_callback_handler_remove();
        snprintf(a->msg, sizeof a->msg, "(the prompt closed)");
        return;
    default:
        if (key > 0 && key < 256) {
            buf[0] = (char)key;
            push(buf);
        }
    }
    while (q_len && a->prompt_active) rl_callback_read_char();
}

void prompt_draw(app_t *a)
{
    (void)a;
    move(LINES - 1, 0);
    clrtoeol();
    mvaddch(LINES - 1, 0, ':');
    addnstr(rl_line_buffer ? rl_line_buffer : "", COLS - 2);
    move(LINES - 1, 1 + rl_point);
}

void prompt_done(void)
{
    if (the_app && the_app->prompt_active) rl_callback_handler_remove();
    if (rl_outstream && rl_outstream != stdout) {
        fclose(rl_outstream);
        rl_outstream = NULL;
    }
}
