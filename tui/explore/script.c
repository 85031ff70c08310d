/* script.c: the explorer without a terminal, for tests.  A script is read
 * line by line:
 *   key K       one key: a character, or Enter Esc Tab Up Down PgUp PgDn
 *               Home End Space Backspace
 *   keys TEXT   each character of TEXT as a key
 *   cmd LINE    a :command, typed through the prompt (readline) then Enter
 *   resize W H  a new terminal size
 *   dump        print the screen as text, framed by "--- screen N (WxH) ---"
 *   # ...       a comment
 * After each line the engine is waited on until idle (predictions and
 * training finished), so dumps are deterministic; "nowait " before a line
 * skips that wait (to cancel a training while it runs); a first line of
 * "nowait" alone skips the wait for the opening predictions (to time keys
 * while a big dataset is scored).  The screen is a real
 * curses screen (newterm on /dev/null) of the given size, drawn in ASCII.
 * With TLPX_TIMING set, each line's handling plus one redraw is timed and
 * printed to stderr as "time_ms N LINE" (bench/tui.sh reads them). */
#include "explore.h"

#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

static int key_code(const char *k)
{
    static const struct {
        const char *name;
        int code;
    } names[] = {{"Enter", '\n'},    {"Esc", 27},         {"Tab", '\t'},       {"Up", KEY_UP},
                 {"Down", KEY_DOWN}, {"PgUp", KEY_PPAGE}, {"PgDn", KEY_NPAGE}, {"Home", KEY_HOME},
                 {"End", KEY_END},   {"Space", ' '},      {"Backspace", 127},  {"Left", KEY_LEFT},
                 {"Right", KEY_RIGHT}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(k, names[i].name)) return names[i].code;
    return strlen(k) == 1 ? (unsigned char)k[0] : -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static void dump(int n)
{
    printf("--- screen %d (%dx%d) ---\n", n, COLS, LINES);
    char *buf = malloc((size_t)COLS + 1);
    for (int y = 0; y < LINES && buf; y++) {
        mvinnstr(y, 0, buf, COLS);
        size_t len = strlen(buf);
        while (len && buf[len - 1] == ' ') buf[--len] = 0; /* no trailing spaces in goldens */
        printf("%s\n", buf);
    }
    free(buf);
    fflush(stdout);
}

/* One line of a script (without "nowait "), line lineno of path: 0, or 2
 * after saying what is wrong with it. */
static int script_line(app_t *a, const char *s, int *screens, const char *path, int lineno)
{
    if (!strncmp(s, "key ", 4)) {
        int k = key_code(s + 4);
        if (k < 0) return fprintf(stderr, "%s:%d: unknown key \"%s\"\n", path, lineno, s + 4), 2;
        app_key(a, k);
    } else if (!strncmp(s, "keys ", 5)) {
        for (const char *p = s + 5; *p; p++) app_key(a, (unsigned char)*p);
    } else if (!strncmp(s, "cmd ", 4)) {
        app_key(a, ':');
        for (const char *p = s + 4; *p; p++) app_key(a, (unsigned char)*p);
        app_key(a, '\r');
    } else if (!strncmp(s, "resize ", 7)) {
        int nw, nh;
        if (sscanf(s + 7, "%d %d", &nw, &nh) != 2 || nw < 1 || nh < 1) return fprintf(stderr, "%s:%d: resize W H\n", path, lineno), 2;
        resizeterm(nh, nw);
    } else if (!strcmp(s, "dump")) {
        views_draw(a);
        dump(++*screens);
    } else if (strcmp(s, "wait") != 0) /* wait: what every line does after */
        return fprintf(stderr, "%s:%d: unknown script line \"%s\"\n", path, lineno, s), 2;
    return 0;
}

/* The lines of f in turn, each followed by a redraw and, unless "nowait ",
 * by a wait for the engine.  0, or 2 at a bad line. */
static int script_lines(app_t *a, FILE *f, const char *path)
{
    char line[4096];
    int screens = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        if (lineno == 1) {
            if (!strcmp(s, "nowait")) continue;
            app_wait_jobs(a);
        }
        int nowait = !strncmp(s, "nowait ", 7);
        if (nowait) s += 7;
        if (!*s || *s == '#') continue;
        double t0 = now_ms();
        if (script_line(a, s, &screens, path, lineno)) return 2;
        views_draw(a);
        if (getenv("TLPX_TIMING")) fprintf(stderr, "time_ms %.3f %s\n", now_ms() - t0, s);
        if (!nowait) app_wait_jobs(a);
        views_draw(a);
        if (a->quit) break;
    }
    return 0;
}
/* The screen of a run without a terminal, and the files it writes to and
 * reads from (/dev/null). */
static SCREEN *scr;
static FILE *scr_out, *scr_in;

int script_begin(app_t *a, int w, int h)
{
    scr_out = fopen("/dev/null", "w"), scr_in = fopen("/dev/null", "r");
    scr = scr_out && scr_in ? newterm("xterm", scr_out, scr_in) : NULL;
    if (!scr) {
        fprintf(stderr, "tlpx: cannot make a screen for the script (terminfo \"xterm\" missing?)\n");
        script_end();
        return -1;
    }
    set_term(scr);
    resizeterm(h, w);
    a->script = 1;
    a->utf8 = 0;
    a->color = 0;
    prompt_init(a);
    return 0;
}

void script_end(void)
{
    if (scr) {
        prompt_done();
        endwin();
        delscreen(scr);
    }
    if (scr_out) fclose(scr_out);
    if (scr_in) fclose(scr_in);
    scr = NULL, scr_out = scr_in = NULL;
}

int script_run(app_t *a, const char *path, int w, int h)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    int rc = script_begin(a, w, h) ? 1 : script_lines(a, f, path);
    script_end();
    fclose(f);
    return rc;
}
