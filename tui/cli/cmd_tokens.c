/* cmd_tokens.c: `tlpx tokens DATA... --task KEY|N [--record N]`: one
 * schedule's primitives, each beside the TLP feature slots made from it. */
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt TOKENS_OPTS[] = {
    {"--task", NULL, "KEY|N", "the task: its number, workload key, or a unique piece of its summary"},
    {"--record", NULL, "N", "the task's N-th record, from 0 (default: the best measured one)"},
    {"--matrix", NULL, NULL, "also print the [L x F] float matrix"},
    {"--steps", NULL, "N", "the crop: the steps a model of --steps N sees (default: TLP's, 25 on CPU, 40 on GPU)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd TOKENS_CMD = {
    "tokens", "DATA... [OPTIONS]",
    "Without --task, lists the tasks with their numbers.  With it, shows one record\n"
    "of the task: each primitive in readable form, its kind as TLP encodes it and\n"
    "each feature slot labelled, with the steps and slots that fall outside the crop\n"
    "marked.",
    TOKENS_OPTS, 1};

typedef struct {
    cli_data_opts *d;
    const char *task;
    long record, steps;
    int matrix;
} tokens_args;

static int tokens_arg(void *ctx, const cli_opt *o, const char *val)
{
    tokens_args *a = ctx;
    if (!o) a->d->paths[a->d->n_paths++] = val;
    else if (!strcmp(o->name, "--task")) a->task = val;
    else if (!strcmp(o->name, "--matrix")) a->matrix = 1;
    else if (!strcmp(o->name, "--steps")) {
        if (cli_long(&TOKENS_CMD, o, val, 1, TLP_MAX_STEPS, &a->steps)) return EXIT_USAGE;
    } else if (cli_long(&TOKENS_CMD, o, val, 0, LONG_MAX, &a->record)) return EXIT_USAGE;
    return 0;
}

static void list_tasks(const tlp_dataset *ds)
{
    printf("%5s  %-8s %-4s %8s %7s  %s\n", "task", "hardware", "mode", "records", "valid", "workload");
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        printf("%5zu  %-8s %-4s %8u %7u  %s\n", t, tk->hardware, tlp_mode_name(tk->mode), tk->n_records, tk->n_valid,
               tk->summary);
    }
}

/* 0, or -1 when the record cannot be read again (said on stderr) */
static int show(const tlp_dataset *ds, size_t t, size_t ri, int steps, int matrix)
{
    const tlp_task *tk = tlp_dataset_task(ds, t);
    size_t rec_i = tk->records[ri];
    const tlp_rec *rec = tlp_dataset_rec(ds, rec_i);
    tlp_mode m = tk->mode;
    int L = tlp_mode_crop(m, steps), F = tlp_mode_fea(m);
    tlp_record r;
    tlp_record_init(&r);
    tlp_error err = {0};
    if (tlp_dataset_read_record(ds, rec_i, &r, &err) != TLP_OK) {
        fprintf(stderr, "tlpx: %s:%ld: %s\n", err.file, err.line, err.msg);
        tlp_record_free(&r);
        return -1;
    }
    char cost[32], best[32];
    cli_fmt_seconds(rec->cost, cost, sizeof cost);
    cli_fmt_seconds(tk->min_cost, best, sizeof best);
    printf("task %zu: %s on %s\n  key %s\n  target %s\n", t, tk->summary, tk->hardware, cli_esc(tk->workload_key),
           cli_esc(tk->target));
    printf("record %zu of %u (%s:%u): %s (mean of %u), %s; task best %s; label %.6g\n", ri, tk->n_records,
           cli_esc(tlp_dataset_file(ds, rec->file)), rec->line, cost, rec->n_costs, tlp_error_no_name(rec->error_no), best,
           tlp_dataset_label(ds, rec_i));
    printf("features: %s dictionary, %d steps x %d slots (11 one-hot + %d values); %zu steps\n\n", tlp_mode_name(m), L,
           F, F - TLP_ONEHOT, r.n_steps);
    for (size_t i = 0; i < r.n_steps; i++) {
        char desc[600];
        tlp_step_describe(&r, i, desc, sizeof desc);
        float row[512];
        tlp_step_info info;
        int n = tlp_step_vector(m, &r, i, row, 512, &info);
        if (n > 512) n = 512;
        int idx = tlp_mode_kind_index(m, (tlp_step_kind)r.steps[i].kind);
        printf("%3zu%c %s\n", i, i < (size_t)L ? ' ' : 'x', desc);
        if (i >= (size_t)L) {
            printf("      (beyond the %d-step crop: the model never sees this step)\n", L);
            continue;
        }
        char kind[48];
        if (idx) snprintf(kind, sizeof kind, "%s=onehot[%d]", tlp_step_tag((tlp_step_kind)r.steps[i].kind), idx - 1);
        else snprintf(kind, sizeof kind, "%s=absent(11 zeros)", tlp_step_tag((tlp_step_kind)r.steps[i].kind));
        printf("      kind %s", kind);
        for (int j = TLP_ONEHOT; j < n; j++) {
            char lab[48];
            tlp_slot_label(&r, i, j, lab, sizeof lab);
            if (j == F) printf("  | cropped:");
            printf(" %d:%s=%g", j, lab, (double)row[j]);
        }
        if (info.unknown_str) printf("  (unknown string -> 0)");
        printf("\n");
    }
    if (r.n_steps < (size_t)L) printf("%3zu.. %d: zero padding\n", r.n_steps, L - 1);
    float *x = malloc(sizeof(float) * (size_t)L * (size_t)F), prog[TLP_MAX_FEA];
    if (x) tlp_record_features(m, L, &r, x);
    if (x) { /* what a model of encoding prog adds as row L */
        tlp_program_row(m, L, x, prog);
        printf("\nprogram row (models with --encode prog see it as row %d): log2 of the tile levels over the splits\n", L);
        char desc[1024];
        tlp_program_describe(m, prog, desc, sizeof desc);
        printf("      %s", desc);
        printf("\n");
    }
    if (matrix && x) {
        printf("\nmatrix [%d x %d]:\n", L, F);
        for (int i = 0; i < L; i++) {
            for (int j = 0; j < F; j++) printf(j ? " %g" : "%g", (double)x[i * F + j]);
            printf("\n");
        }
    }
    free(x);
    tlp_record_free(&r);
    return 0;
}

int cmd_tokens(int argc, char **argv)
{
    cli_data_opts o = {0};
    tokens_args ta = {&o, NULL, -1, 0, 0};
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = cli_parse(&TOKENS_CMD, argc, argv, &o, tokens_arg, &ta);
    if (rc < 0 && !o.n_paths) rc = cli_usage_error(&TOKENS_CMD, "no DATA given");
    if (rc >= 0) goto out;
    const char *task = ta.task;
    long record = ta.record;
    int matrix = ta.matrix;
    tlp_dataset *ds = cli_load(&o);
    if (!ds) {
        rc = EXIT_FAIL;
        goto out;
    }
    rc = EXIT_OK;
    if (!task) {
        list_tasks(ds);
    } else {
        long t = cli_find_task(ds, task);
        if (t < 0) rc = EXIT_FAIL;
        else {
            const tlp_task *tk = tlp_dataset_task(ds, (size_t)t);
            if (record >= (long)tk->n_records) {
                fprintf(stderr, "tlpx: task %ld has %u records (numbered from 0), no record %ld\n", t, tk->n_records,
                        record);
                rc = EXIT_FAIL;
            } else {
                if (record < 0) { /* the best measured */
                    record = 0;
                    for (uint32_t k = 1; k < tk->n_records; k++)
                        if (tlp_dataset_rec(ds, tk->records[k])->cost < tlp_dataset_rec(ds, tk->records[record])->cost)
                            record = k;
                }
                if (show(ds, (size_t)t, (size_t)record, (int)ta.steps, matrix)) rc = EXIT_FAIL;
            }
        }
    }
    tlp_dataset_free(ds);
out:
    free(o.paths);
    return rc;
}
