/* tap.h: a tiny TAP producer in the manner of git's unit tests: each check
 * prints "ok N - what" or "not ok N - what" with both values when they differ. */
#ifndef TLPX_TAP_H
#define TLPX_TAP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_PLAN_LATER() ((void)0)

static inline int tap_ok_(int cond, const char *file, int line, const char *what)
{
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, what);
    if (!cond) {
        tap_failed++;
        printf("#   at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, what) tap_ok_((cond) ? 1 : 0, __FILE__, __LINE__, what)

#define is_int(got, want, what)                                                                    \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (!ok(g_ == w_, what)) printf("#   got %lld, want %lld\n", g_, w_);                     \
    } while (0)

#define is_str(got, want, what)                                                                    \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!ok(g_ && w_ && strcmp(g_, w_) == 0, what))                                            \
            printf("#   got  \"%s\"\n#   want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

#define is_dbl(got, want, tol, what)                                                               \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!ok(fabs(g_ - w_) <= (tol), what)) printf("#   got %.17g, want %.17g\n", g_, w_);      \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    if (tap_failed) printf("# %d of %d checks failed\n", tap_failed, tap_n);
    return tap_failed ? 1 : 0;
}

/* Skip the whole program (automake's exit 77). */
static inline void tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(0);
}

#endif
