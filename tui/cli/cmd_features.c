/* cmd_features.c: `tlpx features DATA... --out PREFIX`: the TLP features as
 * NumPy files, one set per feature mode present. */
#include "cli.h"
#include "opts.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt FEATURES_OPTS[] = {
    {"--out", "-o", "PREFIX", "where to write: PREFIX.features.npy and the others"},
    {"--encode", NULL, "KIND", "the tokens as a network of this encoding sees them: raw (TLP's), log, prog (one row more)"},
    {"--steps", NULL, "N", "the crop: a schedule's first N steps (default: TLP's, 25 on CPU, 40 on GPU)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd FEATURES_CMD = {
    "features", "DATA... --out PREFIX [OPTIONS]",
    "Writes PREFIX.features.npy (float32 [N, L, F]), PREFIX.labels.npy (float32\n"
    "[N], min_cost/cost per task), PREFIX.costs.npy (float64 [N], mean seconds)\n"
    "and PREFIX.index.tsv (task, hardware, file, line), each atomically.  When DATA\n"
    "mixes cpu and gpu records, one set per mode: PREFIX.cpu.* and PREFIX.gpu.*.\n"
    "The features are TLP's raw tokens unless --encode says otherwise: log is\n"
    "sign(x) log2(1 + |x|) of each value, prog that and the program row (L + 1\n"
    "rows), what a tlpx model of that encoding feeds its first layer.",
    FEATURES_OPTS, 1};

typedef struct {
    tlp_encode enc;
    long steps; /* 0: TLP's */
} features_args;

static int features_arg(void *ctx, const cli_opt *o, const char *val)
{
    features_args *a = ctx;
    if (!strcmp(o->name, "--steps")) return cli_long(&FEATURES_CMD, o, val, 1, TLP_MAX_STEPS, &a->steps) ? EXIT_USAGE : 0;
    const char *names[TLP_ENCODE_COUNT + 1] = {NULL}; /* the engine's names, one table */
    for (int i = 0; i < TLP_ENCODE_COUNT; i++) names[i] = tlp_encode_name((tlp_encode)i);
    int e = cli_choice(&FEATURES_CMD, o, val, names);
    if (e < 0) return EXIT_USAGE;
    a->enc = (tlp_encode)e;
    return 0;
}

int cmd_features(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *out = NULL;
    features_args fa = {TLP_ENCODE_RAW, 0};
    int rc = cli_parse_data_out(&FEATURES_CMD, argc, argv, &o, &out, features_arg, &fa);
    tlp_encode enc = fa.enc;
    if (rc >= 0) return rc;
    rc = EXIT_USAGE;
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
        int L = tlp_mode_crop((tlp_mode)m, (int)fa.steps);
        if (tlp_export_npy(ds, (tlp_mode)m, enc, L, prefix, &n, &err) != TLP_OK) {
            cli_error("tlpx", &err);
            rc = EXIT_FAIL;
        } else
            printf("%s.{features,labels,costs}.npy, %s.index.tsv: %zu records, %s [%zu, %d, %d]%s%s\n", prefix, prefix,
                   n, tlp_mode_name((tlp_mode)m), n, tlp_encode_rows(L, enc), tlp_mode_fea((tlp_mode)m),
                   enc == TLP_ENCODE_RAW ? "" : ", tokens ", enc == TLP_ENCODE_RAW ? "" : tlp_encode_name(enc));
        free(prefix);
    }
    tlp_dataset_free(ds);
done:
    free(o.paths);
    return rc;
}
