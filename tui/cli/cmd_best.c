/* cmd_best.c: `tlpx best DATA... --out FILE|DIR/ [--hw NAME]`: the best
 * valid measured record of every task, in TVM's record format (what TVM's
 * distill_record_file keeps, per task and hardware), for apply_history_best:
 * one hardware a file wherever two would meet under one TVM key
 * (tlp_write_best_log). */
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_opt BEST_OPTS[] = {
    {"--out", "-o", "FILE|DIR/", "where to write (atomically); a directory: one file a hardware, DIR/NAME.json"},
    {"--hw", NULL, "NAME", "only this hardware's tasks"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd BEST_CMD = {
    "best", "DATA... --out FILE|DIR/ [OPTIONS]",
    "Writes the best valid measured record of every task (workload key x hardware;\n"
    "the least mean cost among the records with error_no 0, the first of equals) as\n"
    "TVM record lines, the way TVM's distill_record_file does: a log that\n"
    "apply_history_best reads.  Tasks whose every measurement failed are left out\n"
    "and counted.  TVM files a record under its workload key and its target's keys\n"
    "(cuda, gpu; cpu; the -model=), keeping the cheaper of two: K80 and V100 records\n"
    "carry one target string, so a file holding both would hand a K80 a V100\n"
    "schedule.  When DATA holds hardware that meet so, choose one with --hw, or give\n"
    "a directory to --out for one file a hardware; a single file is refused.",
    BEST_OPTS, 1};

typedef struct {
    const tlp_dataset *ds;
    tlp_log_opts lo;
    tlp_log_counts c;
} best_ctx;

static tlp_status write_best(FILE *f, void *ctx, tlp_error *err)
{
    best_ctx *b = ctx;
    return tlp_write_best_log(f, b->ds, &b->lo, &b->c, err);
}

/* --out names a directory: it is one, or it ends with '/' (made if missing). */
static int out_is_dir(const char *out)
{
    struct stat st;
    return (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) || out[strlen(out) - 1] == '/';
}

/* Write the log of one hardware (NULL: every one) to path; EXIT_OK or after saying why, EXIT_FAIL. */
static int write_one(const tlp_dataset *ds, const char *hw, const char *path, int quiet, int many)
{
    best_ctx b = {ds, {hw, NULL, NULL, 0}, {0}};
    tlp_error err = {0};
    if (tlp_write_atomic(path, write_best, &b, &err) != TLP_OK) {
        if (b.c.clashes)
            fprintf(stderr,
                    "tlpx best: %s: %s.\n  Choose one hardware with --hw NAME, or give --out a directory "
                    "(DIR/) for one file a hardware.  Nothing written.\n",
                    path, err.msg);
        else if (err.file[0] && err.line > 0) /* a record that could not be read again: its place */
            fprintf(stderr, "tlpx best: %s:%ld: %s (nothing written)\n", err.file, err.line, err.msg);
        else
            fprintf(stderr, "tlpx best: %s: %s (nothing written)\n", err.file[0] ? err.file : path, err.msg);
        return EXIT_FAIL;
    }
    if (quiet) return EXIT_OK;
    fprintf(stderr, "wrote %s: the best of %zu task%s%s%s", path, b.c.written, b.c.written == 1 ? "" : "s",
            many || !hw ? "" : " of ", many || !hw ? "" : hw);
    if (b.c.all_failed)
        fprintf(stderr, "; %zu task%s left out (every measurement failed)", b.c.all_failed,
                b.c.all_failed == 1 ? "" : "s");
    fputc('\n', stderr);
    return EXIT_OK;
}

/* Whether hardware hw is among the first n of ds (a name may come twice: cpu and gpu). */
static int hw_among(const tlp_dataset *ds, size_t n, const char *hw)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tlp_dataset_hw(ds, i)->hardware, hw)) return 1;
    return 0;
}

static int best_arg(void *ctx, const cli_opt *o, const char *val)
{
    (void)o;
    *(const char **)ctx = val;
    return 0;
}

int cmd_best(int argc, char **argv)
{
    cli_data_opts o = {0};
    const char *out = NULL, *hw = NULL;
    int rc = cli_parse_data_out(&BEST_CMD, argc, argv, &o, &out, best_arg, &hw);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    int dir = out_is_dir(out);
    tlp_error err = {0};
    if (dir && mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "tlpx best: %s: cannot make the directory: %s\n", out, strerror(errno));
        free(o.paths);
        return rc;
    }
    if (!dir && tlp_check_writable(out, &err) != TLP_OK) {
        fprintf(stderr, "tlpx best: %s: %s\n", err.file[0] ? err.file : out, err.msg);
        free(o.paths);
        return rc;
    }
    tlp_dataset *ds = cli_load(&o);
    if (ds && hw && !hw_among(ds, tlp_dataset_n_hw(ds), hw)) {
        fprintf(stderr, "tlpx best: --hw %s: no such hardware in DATA (it holds:", hw);
        for (size_t i = 0; i < tlp_dataset_n_hw(ds); i++) fprintf(stderr, " %s", tlp_dataset_hw(ds, i)->hardware);
        fprintf(stderr, ")\n");
    } else if (ds && !dir)
        rc = cli_out_is_input(ds, out, "best") ? EXIT_FAIL : write_one(ds, hw, out, o.quiet, 0);
    else if (ds) {
        rc = EXIT_OK;
        for (size_t i = 0; i < tlp_dataset_n_hw(ds) && rc == EXIT_OK; i++) {
            const char *name = tlp_dataset_hw(ds, i)->hardware;
            if ((hw && strcmp(name, hw)) || hw_among(ds, i, name)) continue;
            if (!tlp_dataset_hw(ds, i)->n_valid) { /* no file of nothing */
                if (!o.quiet) fprintf(stderr, "%s: nothing to write (every measurement failed)\n", name);
                continue;
            }
            size_t len = strlen(out) + strlen(name) + 8;
            char *path = malloc(len);
            if (!path) {
                rc = EXIT_FAIL;
                break;
            }
            int at = snprintf(path, len, "%s%s", out, out[strlen(out) - 1] == '/' ? "" : "/");
            snprintf(path + at, len - (size_t)at, "%s.json", name);
            for (char *p = path + at; *p; p++) /* a name is a file name: no '/', no leading '.' */
                if (*p == '/' || (p == path + at && *p == '.')) *p = '_';
            rc = cli_out_is_input(ds, path, "best") ? EXIT_FAIL : write_one(ds, name, path, o.quiet, 1);
            free(path);
        }
    }
    tlp_dataset_free(ds);
    free(o.paths);
    return rc;
}
