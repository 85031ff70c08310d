/* bench_util.h: what the benchmark programs share: a monotonic clock and
 * the resident set size. */
#ifndef TLPX_BENCH_UTIL_H
#define TLPX_BENCH_UTIL_H

#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <stdio.h>
#include <string.h>
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

/* Add [NAME=]PATH arguments to ds and finish it; 0, or -1 after saying why
 * (prog names the program). */
static inline int load_args(tlp_dataset *ds, char **args, int n, const char *prog)
{
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    for (int i = 0; i < n; i++) {
        char name[128] = {0};
        const char *path = args[i], *eq = strchr(args[i], '=');
        if (eq && (size_t)(eq - args[i]) < sizeof name) {
            memcpy(name, args[i], (size_t)(eq - args[i]));
            path = eq + 1;
        }
        tlp_error e = {0};
        if (tlp_dataset_add_path(ds, path, name[0] ? name : NULL, &lo, &e) != TLP_OK) {
            fprintf(stderr, "%s: %s: %s\n", prog, e.file, e.msg);
            return -1;
        }
    }
    tlp_error e = {0};
    return tlp_dataset_finish(ds, &e) == TLP_OK ? 0 : -1;
}

#endif
