/* cmd_best.c: `tlpx best DATA... --out FILE`: the best valid measured record
 * of every task, in TVM's record format (what TVM's distill_record_file
 * keeps, per task and hardware), for apply_history_best. */
#include "cli.h"
#include "opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt BEST_OPTS[] = {
    {"--out", "-o", "FILE", "where to write the records (atomically)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd BEST_CMD = {
    "best", "DATA... --out FILE [OPTIONS]",
    "Writes the best valid measured record of every task (workload key x hardware;\n"
    "the least mean cost among the records with error_no 0, the first of equals) as\n"
    "TVM record lines, the way TVM's distill_record_file does: a log that\n"
    "apply_history_best reads.  Tasks whose every measurement failed are left out\n"
    "and counted.",
    BEST_OPTS, 1};

typedef struct {
    const tlp_dataset *ds;
    size_t written, all_failed;
} best_ctx;

static tlp_status write_best(FILE *f, void *ctx, tlp_error *err)
{
    best_ctx *c = ctx;
    tlp_record r;
    tlp_record_init(&r);
    tlp_status st = TLP_OK;
    for (size_t t = 0; t < tlp_dataset_n_tasks(c->ds) && st == TLP_OK; t++) {
        const tlp_task *tk = tlp_dataset_task(c->ds, t);
        long best = -1;
        for (uint32_t k = 0; k < tk->n_records; k++) {
            const tlp_rec *rec = tlp_dataset_rec(c->ds, tk->records[k]);
            if (rec->error_no == 0 && (best < 0 || rec->cost < tlp_dataset_rec(c->ds, (size_t)best)->cost))
                best = tk->records[k];
        }
        if (best < 0) {
            c->all_failed++;
            continue;
        }
        if ((st = tlp_dataset_read_record(c->ds, (size_t)best, &r, err)) != TLP_OK) break;
        char *line = tlp_record_to_json(&r);
        if (!line) st = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        else if (fprintf(f, "%s\n", line) < 0) st = tlp_error_set(err, TLP_IO, NULL, 0, "write failed");
        else c->written++;
        free(line);
    }
    tlp_record_free(&r);
    return st;
}

int cmd_best(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *out = NULL;
    int rc = cli_parse_data_out(&BEST_CMD, argc, argv, &o, &out, NULL, NULL);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    tlp_error err = {0};
    if (tlp_check_writable(out, &err) != TLP_OK) {
        fprintf(stderr, "tlpx best: %s: %s\n", err.file[0] ? err.file : out, err.msg);
        free(o.paths);
        return rc;
    }
    tlp_dataset *ds = cli_load(&o);
    if (ds) {
        best_ctx c = {ds, 0, 0};
        if (tlp_write_atomic(out, write_best, &c, &err) != TLP_OK)
            fprintf(stderr, "tlpx best: %s: %s (nothing written)\n", out, err.msg);
        else {
            if (!o.quiet)
                fprintf(stderr, "wrote %s: the best of %zu task%s%s", out, c.written, c.written == 1 ? "" : "s",
                        c.all_failed ? "" : "\n");
            if (!o.quiet && c.all_failed)
                fprintf(stderr, "; %zu task%s left out (every measurement failed)\n", c.all_failed,
                        c.all_failed == 1 ? "" : "s");
            rc = EXIT_OK;
        }
    }
    tlp_dataset_free(ds);
    free(o.paths);
    return rc;
}
