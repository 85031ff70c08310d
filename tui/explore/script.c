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

#include <poll.h>
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

static void wait_idle(app_t *a)
{
    while (app_busy(a)) {
        struct pollfd fds[3];
        int nf = 0;
        for (int m = 0; m < TLP_MODE_COUNT; m++)
            if (a->fam[m].predict) fds[nf++] = (struct pollfd){tlp_job_fd(a->fam[m].predict), POLLIN, 0};
        if (a->train) fds[nf++] = (struct pollfd){tlp_job_fd(a->train), POLLIN, 0};
        poll(fds, (nfds_t)nf, 200);
        app_poll_jobs(a);
    }
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

int script_run(app_t *a, const char *path, int w, int h)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = newterm("xterm", out, in);
    if (!scr) {
        fprintf(stderr, "tlpx: cannot make a screen for the script (terminfo \"xterm\" missing?)\n");
        fclose(f);
        return 1;
    }
    set_term(scr);
    resizeterm(h, w);
    a->script = 1;
    a->utf8 = 0;
    a->color = 0;
    prompt_init(a);
    char line[4096];
    int screens = 0, lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        if (lineno == 1) {
            if (!strcmp(s, "nowait")) continue;
            wait_idle(a);
        }
        int nowait = 0;
        if (!strncmp(s, "nowait ", 7)) {
            nowait = 1;
            s += 7;
        }
        if (!*s || *s == '#') continue;
        double t0 = now_ms();
        if (!strncmp(s, "key ", 4)) {
            int k = key_code(s + 4);
            if (k < 0) {
                fprintf(stderr, "%s:%d: unknown key \"%s\"\n", path, lineno, s + 4);
                rc = 2;
                break;
            }
            app_key(a, k);
        } else if (!strncmp(s, "keys ", 5)) {
            for (const char *p = s + 5; *p; p++) app_key(a, (unsigned char)*p);
        } else if (!strncmp(s, "cmd ", 4)) {
            app_key(a, ':');
            for (const char *p = s + 4; *p; p++) app_key(a, (unsigned char)*p);
            app_key(a, '\r');
        } else if (!strncmp(s, "resize ", 7)) {
            int nw, nh;
            if (sscanf(s + 7, "%d %d", &nw, &nh) != 2 || nw < 1 || nh < 1) {
                fprintf(stderr, "%s:%d: resize W H\n", path, lineno);
                rc = 2;
                break;
            }
            resizeterm(nh, nw);
        } else if (!strcmp(s, "dump")) {
            views_draw(a);
            dump(++screens);
        } else if (!strcmp(s, "wait")) {
            /* the wait below */
        } else {
            fprintf(stderr, "%s:%d: unknown script line \"%s\"\n", path, lineno, s);
            rc = 2;
            break;
        }
        views_draw(a);
        if (getenv("TLPX_TIMING")) fprintf(stderr, "time_ms %.3f %s\n", now_ms() - t0, s);
        if (!nowait) wait_idle(a);
        views_draw(a);
        if (a->quit) break;
    }
    prompt_done();
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    fclose(f);
    return rc;
}
