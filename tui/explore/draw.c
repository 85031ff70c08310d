/* draw.c: what the views draw with: clipped printing that follows the side
 * scroll of text views, whole rows in reverse video, colour pairs with an
 * attribute for terminals without colour, and the sparkline (the plot's loss
 * curve and the status line's).  UTF-8 glyphs only when the locale is UTF-8,
 * ASCII otherwise. */
#include "explore.h"

#include <math.h>
#include <stdarg.h>

/* Columns the body of a text view is scrolled right (Left/Right keys); 0
 * outside the body (the frame sets it around the body). */
static int hshift, frozen;

void tui_draw_shift(int cols) { hshift = cols; }
void tui_draw_freeze(int cols) { frozen = cols; }

/* p past n whole UTF-8 characters (at most to its end). */
static const char *skip_chars(const char *p, int n)
{
    for (int k = 0; k < n && *p; k++)
        do p++;
        while ((*p & 0xc0) == 0x80);
    return p;
}

/* A row from column 0: shifted left by hshift characters but for its
 * first `frozen` (the columns that name the row stay in view). */
static void put_row(int y, const char *text)
{
    if (!hshift || !frozen) {
        mvaddnstr(y, 0, skip_chars(text, hshift), COLS);
        return;
    }
    const char *rest = skip_chars(text, frozen);
    mvaddnstr(y, 0, text, (int)(rest - text) < COLS ? (int)(rest - text) : COLS);
    if (frozen < COLS) mvaddnstr(y, frozen, skip_chars(rest, hshift), COLS - frozen);
}

/* printf into row y from column x, clipped to the screen width; a row
 * from column 0 is shifted left by hshift characters (put_row). */
void tui_draw_put(int y, int x, const char *fmt, ...)
{
    if (y < 0 || y >= LINES || x >= COLS) return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (x == 0) put_row(y, buf);
    else mvaddnstr(y, x, buf, COLS - x);
}

void tui_draw_tone_on(const app_t *a, int pair, int fallback)
{
    if (a->color && pair) attron(COLOR_PAIR(pair));
    else if (fallback) attron(fallback);
}

void tui_draw_tone_off(const app_t *a, int pair, int fallback)
{
    if (a->color && pair) attroff(COLOR_PAIR(pair));
    else if (fallback) attroff(fallback);
}

void tui_draw_bar(const app_t *a, int y, const char *text, int selected)
{
    int attr = selected ? A_REVERSE : 0;
    if (selected && a->color) attr = COLOR_PAIR(1);
    attron(attr);
    mvhline(y, 0, ' ', COLS);
    put_row(y, text); /* a body row scrolls with the others */
    attroff(attr);
}

/* The last w values of v as block heights (UTF-8) or ASCII levels. */
void tui_draw_sparkline(const app_t *a, int y, int x, int w, const float *v, int n)
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
