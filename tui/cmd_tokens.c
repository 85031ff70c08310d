/* cmd_tokens.c: `tlpx tokens DATA... --task KEY|N [--record N]`: one
 * schedule's primitives, each beside the TLP feature slots made from it. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: tlpx tokens DATA... [--task KEY|N] [--record N] [--matrix] [--quiet]\n\n"
    "Without --task, lists the tasks with their numbers.  With it, shows one\n"
    "record of the task (--record N: its N-th record, from 0; default: the best\n"
    "measured one): each primitive in readable form, its kind as TLP encodes it\n"
    "and each feature slot labelled, with the steps and slots that fall outside\n"
    "the crop marked.  --matrix also prints the [L x F] float matrix.\n";

static void list_tasks(const tlp_dataset *ds)
{
    printf("%5s  %-8s %-4s %8s %7s  %s\n", "task", "hardware", "mode", "records", "valid", "workload");
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        printf("%5zu  %-8s %-4s %8u %7u  %s\n", t, tk->hardware, tlp_mode_name(tk->mode), tk->n_records, tk->n_valid,
               tk->summary);
    }
}

static void show(const tlp_dataset *ds, size_t t, size_t ri, int matrix)
{
    const tlp_task *tk = tlp_dataset_task(ds, t);
    size_t rec_i = tk->records[ri];
    const tlp_rec *rec = tlp_dataset_rec(ds, rec_i);
    tlp_mode m = tk->mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    tlp_record r;
    tlp_record_init(&r);
    tlp_error err = {0};
    if (tlp_dataset_read_record(ds, rec_i, &r, &err) != TLP_OK) {
        fprintf(stderr, "tlpx: %s:%ld: %s\n", err.file, err.line, err.msg);
        tlp_record_free(&r);
        return;
    }
    char cost[32], best[32];
    cli_fmt_seconds(rec->cost, cost, sizeof cost);
    cli_fmt_seconds(tk->min_cost, best, sizeof best);
    printf("task %zu: %s on %s\n  key %s\n  target %s\n", t, tk->summary, tk->hardware, tk->workload_key, tk->target);
    printf("record %zu of %u (%s:%u): %s (mean of %u), %s; task best %s; label %.6g\n", ri, tk->n_records,
           tlp_dataset_file(ds, rec->file), rec->line, cost, rec->n_costs, tlp_error_no_name(rec->error_no), best,
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
    if (matrix) {
        float *x = malloc(sizeof(float) * (size_t)L * (size_t)F);
        if (x) {
            tlp_dataset_features(ds, rec_i, x);
            printf("\nmatrix [%d x %d]:\n", L, F);
            for (int i = 0; i < L; i++) {
                for (int j = 0; j < F; j++) printf(j ? " %g" : "%g", (double)x[i * F + j]);
                printf("\n");
            }
            free(x);
        }
    }
    tlp_record_free(&r);
}

int cmd_tokens(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *task = NULL;
    long record = -1;
    int matrix = 0;
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_opt(&o, argc, argv, &i);
        if (c < 0) goto out;
        if (c) continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            rc = EXIT_OK;
            goto out;
        } else if (strcmp(argv[i], "--task") == 0 && i + 1 < argc) {
            task = argv[++i];
        } else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            record = strtol(argv[++i], &end, 10);
            if (*end || errno || record < 0) {
                fprintf(stderr, "tlpx tokens: --record needs a number >= 0, not \"%s\"\n", argv[i]);
                goto out;
            }
        } else if (strcmp(argv[i], "--matrix") == 0) {
            matrix = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tlpx tokens: unknown option or missing value: %s\n\n%s", argv[i], USAGE);
            goto out;
        } else
            o.paths[o.n_paths++] = argv[i];
    }
    if (!o.n_paths) {
        fputs(USAGE, stderr);
        goto out;
    }
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
                show(ds, (size_t)t, (size_t)record, matrix);
            }
        }
    }
    tlp_dataset_free(ds);
out:
    free(o.paths);
    return rc;
}
