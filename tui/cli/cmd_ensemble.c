/* cmd_ensemble.c: `tlpx ensemble MODEL MODEL... --out FILE`: trained models
 * of one mode and the same heads in one model file, whose predictions are
 * the mean of the networks' scores standardised within each task. */
#include "cli.h"
#include "opts.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt ENSEMBLE_OPTS[] = {
    {"--out", "-o", "FILE", "where to write the ensemble (atomically)"},
    {"--quiet", "-q", NULL, "no summary on stderr"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd ENSEMBLE_CMD = {
    "ensemble", "MODEL MODEL... --out FILE",
    "Writes the models given (trained with tlpx train: one mode, the same heads in\n"
    "the same order; any input encodings) as one model file, an ensemble: eval,\n"
    "predict, replay and the explorer score a record with each network, standardise\n"
    "each network's scores within each task (mean 0, spread 1 over the task's\n"
    "records scored) and average them.  So an ensemble's scores rank the programs\n"
    "of a task; a score depends on the other records of its task scored with it.\n"
    "The file keeps the first model's settings and note, the weights of all (no\n"
    "Adam state: an ensemble is not trained further; train its networks).",
    ENSEMBLE_OPTS, 0};

typedef struct {
    const char **models;
    int n;
    const char *out;
    int quiet;
} ens_args;

static int ens_arg(void *ctx, const cli_opt *o, const char *val)
{
    ens_args *a = ctx;
    if (!o) a->models[a->n++] = val;
    else if (!strcmp(o->name, "--out")) a->out = val;
    else if (!strcmp(o->name, "--quiet")) a->quiet = 1;
    return 0;
}

int cmd_ensemble(int argc, char **argv)
{
    ens_args a = {calloc((size_t)argc + 1, sizeof(char *)), 0, NULL, 0};
    if (!a.models) return EXIT_FAIL;
    int rc = cli_parse(&ENSEMBLE_CMD, argc, argv, NULL, ens_arg, &a);
    if (rc < 0 && a.n < 2) rc = cli_usage_error(&ENSEMBLE_CMD, "give two or more models (%d given)", a.n);
    if (rc < 0 && (!a.out || !*a.out)) rc = cli_usage_error(&ENSEMBLE_CMD, "--out FILE is required");
    if (rc >= 0) {
        free(a.models);
        return rc;
    }
    rc = EXIT_FAIL;
    tlp_error err = {0};
    tlp_train_meta meta;
    tlp_model *ens = NULL;
    if (tlp_check_writable(a.out, &err) != TLP_OK) {
        fprintf(stderr, "tlpx ensemble: %s: %s\n", err.file[0] ? err.file : a.out, err.msg);
        goto done;
    }
    char note[sizeof meta.note - 16] = "";
    size_t used = 0;
    for (int i = 0; i < a.n; i++) {
        tlp_train_meta mi;
        tlp_model *m = tlp_checkpoint_load(a.models[i], i ? &mi : &meta, NULL, &err);
        if (!m) {
            fprintf(stderr, "tlpx ensemble: %s: %s\n", err.file[0] ? err.file : a.models[i], err.msg);
            goto done;
        }
        int K = tlp_model_n_members(m);
        for (int k = 0; k < K; k++) { /* an ensemble given brings each of its networks */
            tlp_model *net = tlp_model_clone_net(tlp_model_member(m, k));
            if (!net) snprintf(err.msg, sizeof err.msg, "out of memory");
            if (!net || (ens && tlp_model_add_member(ens, net, &err) != TLP_OK)) {
                fprintf(stderr, "tlpx ensemble: %s: %s\n", a.models[i], err.msg);
                tlp_model_free(net);
                tlp_model_free(m);
                goto done;
            }
            if (!ens) ens = net;
            used += (size_t)snprintf(note + used, used < sizeof note ? sizeof note - used : 0, "%s%s (%s)",
                                     used ? ", " : "", a.models[i],
                                     tlp_encode_name(tlp_model_config_of(net)->encode));
            if (used >= sizeof note) used = sizeof note - 1;
        }
        tlp_model_free(m);
    }
    snprintf(meta.note, sizeof meta.note, "ensemble of %s", note);
    meta.n_nets = meta.nets_done = 0; /* not a training's ensemble: nothing to resume */
    if (tlp_checkpoint_save(a.out, ens, &meta, NULL, &err) != TLP_OK) {
        fprintf(stderr, "tlpx ensemble: %s: %s (nothing written)\n", err.file[0] ? err.file : a.out, err.msg);
        goto done;
    }
    if (!a.quiet) fprintf(stderr, "wrote %s: an ensemble of %d networks: %s\n", a.out, tlp_model_n_members(ens), note);
    rc = EXIT_OK;
done:
    tlp_model_free(ens);
    free(a.models);
    return rc;
}
