/* cmd_features.c: `tlpx features DATA... --out PREFIX`: the TLP features as
 * NumPy files, one set per feature mode present. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: tlpx features DATA... --out PREFIX [--weights TSV] [--quiet]\n\n"
    "Writes PREFIX.features.npy (float32 [N, L, F]), PREFIX.labels.npy (float32\n"
    "[N], min_cost/cost per task), PREFIX.costs.npy (float64 [N], mean seconds)\n"
    "and PREFIX.index.tsv (task, hardware, file, line).  When DATA mixes cpu and\n"
    "gpu records, one set per mode: PREFIX.cpu.* and PREFIX.gpu.*.\n";

int cmd_features(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *out = NULL;
    int rc = EXIT_USAGE;
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_opt(&o, argc, argv, &i);
        if (c < 0) goto done;
        if (c) continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            rc = EXIT_OK;
            goto done;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tlpx features: unknown option or missing value: %s\n\n%s", argv[i], USAGE);
            goto done;
        } else
            o.paths[o.n_paths++] = argv[i];
    }
    if (!o.n_paths || !out || !*out) {
        fprintf(stderr, "tlpx features: %s\n\n%s", o.n_paths ? "--out PREFIX is required" : "no DATA given", USAGE);
        goto done;
    }
    tlp_dataset *ds = cli_load(&o);
    if (!ds) {
        rc = EXIT_FAIL;
        goto done;
    }
    size_t per_mode[TLP_MODE_COUNT] = {0};
    for (size_t i = 0; i < tlp_dataset_n_records(ds); i++)
        per_mode[tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode]++;
    int both = per_mode[TLP_MODE_CPU] && per_mode[TLP_MODE_GPU];
    rc = EXIT_OK;
    for (int m = 0; m < TLP_MODE_COUNT && rc == EXIT_OK; m++) {
        if (!per_mode[m]) continue;
        size_t len = strlen(out) + 8;
        char *prefix = malloc(len);
        if (!prefix) {
            rc = EXIT_FAIL;
            break;
        }
        if (both) snprintf(prefix, len, "%s.%s", out, tlp_mode_name((tlp_mode)m));
        else snprintf(prefix, len, "%s", out);
        size_t n = 0;
        tlp_error err = {0};
        if (tlp_export_npy(ds, (tlp_mode)m, prefix, &n, &err) != TLP_OK) {
            fprintf(stderr, "tlpx: %s: %s\n", err.file, err.msg);
            rc = EXIT_FAIL;
        } else
            printf("%s.{features,labels,costs}.npy, %s.index.tsv: %zu records, %s [%zu, %d, %d]\n", prefix, prefix, n,
                   tlp_mode_name((tlp_mode)m), n, tlp_mode_seq((tlp_mode)m), tlp_mode_fea((tlp_mode)m));
        free(prefix);
    }
    tlp_dataset_free(ds);
done:
    free(o.paths);
    return rc;
}
