/* cli_common.c: what the data-reading subcommands share: DATA arguments
 * (PATH or NAME=PATH), loading with diagnostics, formatting. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* NAME=PATH, when the text before '=' looks like a name and PATH is not an
 * existing file called "NAME=PATH" itself. */
void cli_split_data_arg(const char *arg, char *name, size_t cap, const char **path)
{
    const char *eq = strchr(arg, '=');
    struct stat sb;
    *path = arg;
    name[0] = 0;
    if (!eq || eq == arg || (size_t)(eq - arg) >= cap || memchr(arg, '/', (size_t)(eq - arg))) return;
    if (stat(arg, &sb) == 0) return;
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    *path = eq + 1;
}

void cli_print_skipped(FILE *f, const tlp_dataset *ds)
{
    uint64_t n = tlp_dataset_n_skipped(ds), files = tlp_dataset_n_skipped_files(ds);
    if (files) fprintf(f, "%llu path%s in DATA skipped (see above)\n", (unsigned long long)files, files == 1 ? "" : "s");
    if (!n) return;
    fprintf(f, "%llu line%s skipped:", (unsigned long long)n, n == 1 ? "" : "s");
    const char *sep = " ";
    for (int s = 0; s < TLP_STATUS_COUNT; s++) {
        uint64_t k = tlp_dataset_skipped_by(ds, (tlp_status)s);
        if (!k) continue;
        fprintf(f, "%s%llu %s", sep, (unsigned long long)k, tlp_status_name((tlp_status)s));
        sep = ", ";
    }
    fputc('\n', f);
}

/* Loading's diagnostics as they happen (tlp_load_opts.on_diag): the first
 * 20 skipped lines and paths, and every note. */
static void print_diag(void *ctx, const tlp_diag *d)
{
    int *shown = ctx;
    if (d->reason != TLP_OK && (*shown)++ >= 20) return;
    if (d->line) fprintf(stderr, "%s:%ld: %s\n", d->file, d->line, d->msg);
    else fprintf(stderr, "%s: %s\n", d->file, d->msg);
}

tlp_dataset *cli_load(const cli_data_opts *o)
{
    if (o->n_paths == 0) {
        fprintf(stderr, "tlpx: no DATA given (record files or directories)\n");
        return NULL;
    }
    tlp_dataset *ds = tlp_dataset_new();
    if (!ds) {
        fprintf(stderr, "tlpx: out of memory\n");
        return NULL;
    }
    int printed = 0;
    tlp_load_opts lo = {o->quiet ? NULL : print_diag, &printed, o->n_folds, o->fold, o->fold_except};
    for (int i = 0; i < o->n_paths; i++) {
        char name[128];
        const char *path;
        cli_split_data_arg(o->paths[i], name, sizeof name, &path);
        tlp_error err = {0};
        if (tlp_dataset_add_path(ds, path, name[0] ? name : NULL, &lo, &err) != TLP_OK) {
            if (err.line) fprintf(stderr, "tlpx: %s:%ld: %s\n", err.file, err.line, err.msg);
            else fprintf(stderr, "tlpx: %s: %s\n", err.file[0] ? err.file : path, err.msg);
            tlp_dataset_free(ds);
            return NULL;
        }
    }
    tlp_error err = {0};
    if (tlp_dataset_finish(ds, &err) != TLP_OK) {
        fprintf(stderr, "tlpx: %s\n", err.msg);
        tlp_dataset_free(ds);
        return NULL;
    }
    if (o->weights && tlp_dataset_load_weights(ds, o->weights, &err) != TLP_OK) {
        cli_error("tlpx", &err);
        tlp_dataset_free(ds);
        return NULL;
    }
    for (size_t i = 0; i < tlp_dataset_n_inferred(ds) && !o->quiet; i++) {
        tlp_inferred n = tlp_dataset_inferred(ds, i);
        fprintf(stderr, "tlpx: hardware \"%s\" named after the path (no -model= in the targets): %zu file%s of %s",
                n.name, n.n_files, n.n_files == 1 ? "" : "s", n.data);
        if (n.n_dirs > 1)
            fprintf(stderr, " in %zu directories (%s, ...); if they are different hardware, name each with NAME=PATH\n",
                    n.n_dirs, n.first_dir);
        else
            fprintf(stderr, "; NAME=PATH names it yourself\n");
    }
    uint64_t shown = tlp_dataset_n_skipped(ds);
    if (!o->quiet && shown > 20) fprintf(stderr, "tlpx: ... %llu more bad lines not shown\n", (unsigned long long)(shown - 20));
    if (!o->quiet) cli_print_skipped(stderr, ds);
    if (tlp_dataset_n_records(ds) == 0) {
        if (o->n_folds && tlp_dataset_n_other_folds(ds))
            fprintf(stderr, "tlpx: no records in %sfold %d/%d of the DATA given (%llu in the other folds)\n",
                    o->fold_except ? "the tasks outside " : "", o->fold + 1, o->n_folds,
                    (unsigned long long)tlp_dataset_n_other_folds(ds));
        else
            fprintf(stderr, "tlpx: no records found in the DATA given (%zu file%s read)\n", tlp_dataset_n_files(ds),
                    tlp_dataset_n_files(ds) == 1 ? "" : "s");
        tlp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void cli_error(const char *who, const tlp_error *err)
{
    if (err->file[0] && err->line > 0) fprintf(stderr, "%s: %s:%ld: %s\n", who, err->file, err->line, err->msg);
    else if (err->file[0]) fprintf(stderr, "%s: %s: %s\n", who, err->file, err->msg);
    else fprintf(stderr, "%s: %s\n", who, err->msg);
}

void cli_fmt_seconds(double s, char *buf, size_t cap)
{
    if (s >= 1e9) snprintf(buf, cap, "failed");
    else if (s < 1e-3) snprintf(buf, cap, "%.1f us", s * 1e6);
    else if (s < 1) snprintf(buf, cap, "%.3f ms", s * 1e3);
    else snprintf(buf, cap, "%.3f s", s);
}

int cli_whole(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (!*s || *end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

long cli_find_task(const tlp_dataset *ds, const char *spec)
{
    char *end;
    errno = 0;
    long n = strtol(spec, &end, 10);
    if (*spec && !*end && !errno) {
        if (n < 0 || (size_t)n >= tlp_dataset_n_tasks(ds)) {
            fprintf(stderr, "tlpx: no task %ld (there are %zu, numbered from 0)\n", n, tlp_dataset_n_tasks(ds));
            return -1;
        }
        return n;
    }
    long t = tlp_dataset_find_task(ds, spec);
    if (t < 0) {
        /* a unique substring of a summary is enough */
        size_t hits = 0;
        for (size_t i = 0; i < tlp_dataset_n_tasks(ds); i++) {
            const tlp_task *tk = tlp_dataset_task(ds, i);
            if (strstr(tk->summary, spec) || strstr(tk->workload_key, spec)) {
                if (!hits) t = (long)i;
                hits++;
            }
        }
        if (hits > 1) {
            fprintf(stderr, "tlpx: \"%s\" matches %zu tasks; give more of the key or the task number\n", spec, hits);
            return -1;
        }
    }
    if (t < 0) fprintf(stderr, "tlpx: no task matches \"%s\"\n", spec);
    return t;
}

const char *cli_esc(const char *s)
{
    /* a few buffers in turn, so one printf can escape several strings */
    static char *buf[4];
    static size_t cap[4];
    static int k;
    k = (k + 1) % 4;
    size_t n = strlen(s), need = tlp_escape(NULL, 0, s, n) + 1;
    if (need > cap[k]) {
        char *b = realloc(buf[k], need);
        if (!b) return "(out of memory)";
        buf[k] = b;
        cap[k] = need;
    }
    tlp_escape(buf[k], cap[k], s, n);
    return buf[k];
}

int cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    /* ranks of an MPI job on this machine share its CPUs */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    long ranks = local && tlp_dist_size() > 1 ? strtol(local, NULL, 10) : 1;
    if (ranks > 1) n /= ranks;
    return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* The embedded default: where TLPX_ASSETS points, else assets/ beside the
 * binary (an in-tree build: ./tlpx in the source tree), else where `make
 * install` put them.  No build path is baked in: the tests and a build
 * elsewhere say where with TLPX_ASSETS.  Returns 0 and fills dir. */
int cli_assets_dir(char *dir, size_t cap)
{
    const char *env = getenv("TLPX_ASSETS");
    struct stat sb;
    char probe[4200];
    if (env && *env) { /* only there, and only if it holds the default */
        snprintf(probe, sizeof probe, "%.4000s/" CLI_DEFAULT_MODEL, env);
        if (stat(probe, &sb) != 0) return -1;
        snprintf(dir, cap, "%s", env);
        return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *places[2] = {NULL, TLPX_PKGDATADIR};
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        places[0] = exe;
    }
    for (int i = 0; i < 2; i++) {
        if (!places[i]) continue;
        snprintf(probe, sizeof probe, "%.4000s/assets/" CLI_DEFAULT_MODEL, places[i]);
        if (stat(probe, &sb) == 0) {
            snprintf(dir, cap, "%.4000s/assets", places[i]);
            return 0;
        }
    }
    return -1;
}

int cli_out_is_input(const tlp_dataset *ds, const char *out, const char *cmd)
{
    struct stat so, si;
    if (!out || stat(out, &so) != 0 || !S_ISREG(so.st_mode)) return 0; /* a new file is nobody's input */
    for (size_t i = 0; i < tlp_dataset_n_files(ds); i++) {
        const char *f = tlp_dataset_file(ds, i);
        if (stat(f, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
            fprintf(stderr, "tlpx %s: %s is also read as DATA (%s): refusing to overwrite an input; write elsewhere\n",
                    cmd, out, cli_esc(f));
            return 1;
        }
    }
    return 0;
}

size_t cli_op_len(const char *summary) { return strcspn(summary, "( "); }
