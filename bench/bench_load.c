/* bench_load.c: records parsed and featurised per second on one core, MB/s of
 * JSON, and bytes resident per record.  Prints one JSON object for run.sh.
 * The load runs three times and the fastest is reported (the first pass also
 * warms the page cache, which the peer's run then finds warm too).
 * usage: bench_load [NAME=]PATH... */
#include "tlp.h"
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_load [NAME=]PATH...\n");
        return 2;
    }
    long rss0 = 0, rss_growth = 0;
    tlp_dataset *ds = NULL;
    double load_s = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        tlp_dataset_free(ds);
        rss0 = rss_kb();
        ds = tlp_dataset_new();
        double t0 = now();
        if (load_args(ds, argv + 1, argc - 1, "bench_load")) return 1;
        if (now() - t0 < load_s) load_s = now() - t0;
        if (rep == 0) rss_growth = rss_kb() - rss0; /* later passes reuse freed memory */
    }
    double t1 = now();
    /* materialise every record's [L][F] matrix, as training would */
    float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    double sink = 0;
    size_t n = tlp_dataset_n_records(ds);
    for (size_t i = 0; i < n; i++) {
        tlp_dataset_features(ds, i, tlp_mode_seq(tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode), x);
        sink += x[0];
    }
    double mat_s = now() - t1;
    double mb = (double)tlp_dataset_bytes_read(ds) / 1e6;
    printf("{\"records\": %zu, \"mb\": %.3f, \"load_s\": %.4f, \"matrices_s\": %.4f, \"records_per_s\": %.0f, "
           "\"mb_per_s\": %.1f, \"bytes_per_record\": %.1f, \"rss_per_record\": %.1f, \"sink\": %g}\n",
           n, mb, load_s, mat_s, (double)n / (load_s + mat_s), mb / load_s, (double)tlp_dataset_bytes(ds) / (double)n,
           (double)rss_growth * 1024.0 / (double)n, sink);
    tlp_dataset_free(ds);
    return 0;
}
