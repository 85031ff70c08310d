/* bench_util.h: what the benchmark programs share: a monotonic clock and
 * the resident set size. */
#ifndef TLPX_BENCH_UTIL_H
#define TLPX_BENCH_UTIL_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Resident kilobytes of this process (/proc/self/statm). */
static inline long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
