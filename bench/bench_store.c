/* bench_store.c: the packed store at scale.  Loads DATA from JSON (the
 * peer: what every command did before stores), packs it, then builds stores
 * of about 1 M and 8.6 M records (TenSet's size per platform) by repeating
 * those records (stated as such: the same tasks, each with its records
 * repeated), and measures in a fresh process each: the time to open the
 * store (map, check every checksum and record, build the task index), the
 * resident bytes per record after opening, and after gathering the feature
 * matrix of every record once (what eval and predict do).
 * usage: bench_store DIR [NAME=]PATH...   (DIR gets the stores; removed after) */
#include "tlp.h"
#include "data/dataset_impl.h" /* tlp__store_write_repeat */
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static volatile double sink;

/* In a child: open the store, gather every record's features; print a row. */
static void measure(const char *path, double json_rate)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return;
    if (pid > 0) {
        int st;
        waitpid(pid, &st, 0);
        return;
    }
    long rss0 = rss_kb();
    double t0 = now();
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    if (tlp_dataset_add_path(ds, path, NULL, &lo, &e) != TLP_OK || tlp_dataset_finish(ds, &e) != TLP_OK) {
        fprintf(stderr, "bench_store: %s: %s\n", e.file, e.msg);
        _exit(1);
    }
    double open_s = now() - t0;
    long rss1 = rss_kb();
    size_t n = tlp_dataset_n_records(ds);
    float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    double sum = 0;
    t0 = now();
    for (size_t i = 0; i < n; i++) {
        tlp_dataset_features(ds, i, tlp_mode_seq(tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode), x);
        sum += x[0] + tlp_dataset_label(ds, i);
    }
    double gather_s = now() - t0;
    long rss2 = rss_kb();
    struct stat sb;
    stat(path, &sb);
    sink = sum;
    printf("%10zu %9.0f %8.2f %9.1f %10.0f %10.0f %9.0f\n", n, (double)sb.st_size / (double)n, open_s,
           json_rate > 0 ? (double)n / json_rate : 0.0, (double)(rss1 - rss0) * 1024.0 / (double)n,
           (double)(rss2 - rss0) * 1024.0 / (double)n, (double)n / gather_s);
    fflush(stdout);
    tlp_dataset_free(ds);
    _exit(0);
}

int main(int argc, char **argv)
{
    /* bench_store --make OUT REPEAT DATA...: only write a store of DATA's
     * records REPEAT times over (for other benchmarks) */
    const char *make_out = NULL;
    int make_repeat = 0;
    if (argc > 4 && !strcmp(argv[1], "--make")) {
        make_out = argv[2];
        make_repeat = atoi(argv[3]);
        argv += 2;
        argc -= 2;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench_store DIR [NAME=]PATH...  |  bench_store --make OUT REPEAT [NAME=]PATH...\n");
        return 2;
    }
    const char *dir = argv[1];
    tlp_dataset *ds = tlp_dataset_new();
    double t0 = now();
    if (load_args(ds, argv + 2, argc - 2, "bench_store")) return 1;
    tlp_error e = {0};
    double json_s = now() - t0;
    size_t n = tlp_dataset_n_records(ds);
    double json_rate = (double)n / json_s;
    if (make_out) {
        tlp_status st = tlp__store_write_repeat(ds, make_out, make_repeat, &e);
        if (st) fprintf(stderr, "bench_store: %s: %s\n", make_out, e.msg);
        tlp_dataset_free(ds);
        return st ? 1 : 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/base.pack", dir);
    t0 = now();
    if (tlp_store_write(ds, path, &e) != TLP_OK) {
        fprintf(stderr, "bench_store: %s: %s\n", path, e.msg);
        return 1;
    }
    double write_s = now() - t0;
    printf("JSON (the peer): %zu records parsed in %.2f s: %.0f records/s on one core\n", n, json_s, json_rate);
    printf("pack: written in %.2f s: %.0f records/s (parsing + writing: %.0f records/s)\n", write_s,
           (double)n / write_s, (double)n / (json_s + write_s));
    printf("\n%10s %9s %8s %9s %10s %10s %9s\n", "records", "B/rec", "open s", "JSON s", "RSS B/rec",
           "+gather", "gather/s");
    measure(path, json_rate);
    const double targets[] = {1e6, 8.6e6};
    for (int k = 0; k < 2; k++) {
        int repeat = (int)((targets[k] + (double)n - 1) / (double)n);
        snprintf(path, sizeof path, "%s/x%d.pack", dir, repeat);
        if (tlp__store_write_repeat(ds, path, repeat, &e) != TLP_OK) {
            fprintf(stderr, "bench_store: %s: %s\n", path, e.msg);
            return 1;
        }
        measure(path, json_rate);
        unlink(path);
    }
    printf("\n(records repeated to reach 1 M and 8.6 M: each task's records k times over;\n"
           " JSON s: the JSON parse of as many records at the rate measured above;\n"
           " RSS B/rec: resident bytes a record after opening, +gather: after every record's\n"
           " features were gathered once; the store's pages are in the page cache, just written)\n");
    tlp_dataset_free(ds);
    return 0;
}
