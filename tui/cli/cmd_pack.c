/* cmd_pack.c: `tlpx pack DATA... --out STORE [--append]`: records parsed
 * once into a packed store (engine/store.c) that every DATA argument then
 * takes, read whole instead of parsed. */
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const cli_opt PACK_OPTS[] = {
    {"--out", "-o", "STORE", "the store to write (atomically), or with --append to add to"},
    {"--append", NULL, NULL, "add DATA to the existing STORE as a new segment, without rewriting it"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd PACK_CMD = {
    "pack", "DATA... --out STORE [--append] [OPTIONS]",
    "Parses the records of DATA once and writes them to a packed store: compact\n"
    "records, token ids, the vocabulary, tasks, hardware, the records' origin file\n"
    "(absolute path) and line, and the loading diagnostics, versioned and\n"
    "checksummed.  Every command that takes DATA takes a STORE too and reads it\n"
    "whole (a copy of its own) instead of parsing JSON.  --append adds the\n"
    "records of DATA to STORE as a new segment (files already in the store are\n"
    "skipped); an interrupted append leaves the store as it was.  Packing STORE\n"
    "itself (with more DATA) without --append writes one new store of\n"
    "everything.",
    PACK_OPTS, 1};

typedef struct {
    cli_data_opts *d;
    const char *out;
    int append;
} pack_args;

/* Writers of one store take turns: an exclusive lock (flock) on the store
 * file, taken before it is read and held until the write is done, so two
 * appends never build on the same committed end.  After the lock the path
 * is checked to be the file locked (a rewrite renames a new one there).
 * The descriptor, -2 when there is no store yet (nothing to lock: a new
 * store appears whole by rename), -1 on failure (errno says). */
static int lock_store(const char *path, int quiet)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return errno == ENOENT ? -2 : -1;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                close(fd);
                return -1;
            }
            if (!quiet) fprintf(stderr, "tlpx pack: %s: another tlpx is writing it; waiting for it\n", path);
            if (flock(fd, LOCK_EX) != 0) {
                close(fd);
                return -1;
            }
        }
        struct stat locked, now;
        if (fstat(fd, &locked) == 0 && stat(path, &now) == 0 && locked.st_dev == now.st_dev &&
            locked.st_ino == now.st_ino)
            return fd;
        close(fd); /* replaced while we waited: lock the file there now */
    }
    errno = EAGAIN;
    return -1;
}

/* What a pack wrote: the records added, what the store holds, its size,
 * the parse and write speeds. */
static void say_written(const tlp_dataset *ds, const char *out, int append, size_t added, double parse_s,
                        double write_s)
{
    struct stat sb;
    off_t size = stat(out, &sb) == 0 ? sb.st_size : 0;
    size_t n = tlp_dataset_n_records(ds);
    fprintf(stderr,
            "%s %s: %zu record%s; the store holds %zu records of %zu task%s on %zu hardware in "
            "%zu segment%s, %.1f MB (%.0f bytes a record); parsed at %.0f records/s, written in %.2f s\n",
            append ? "appended to" : "wrote", out, added, added == 1 ? "" : "s", n, tlp_dataset_n_tasks(ds),
            tlp_dataset_n_tasks(ds) == 1 ? "" : "s", tlp_dataset_n_hw(ds), append ? tlp_dataset_n_segments(ds) + 1 : 1,
            append && tlp_dataset_n_segments(ds) ? "s" : "", (double)size / 1e6, n ? (double)size / (double)n : 0.0,
            parse_s > 0 ? (double)added / parse_s : 0.0, write_s);
}

static int pack_arg(void *ctx, const cli_opt *o, const char *val)
{
    pack_args *a = ctx;
    if (!o) a->d->paths[a->d->n_paths++] = val;
    else if (!strcmp(o->name, "--out")) a->out = val;
    else a->append = 1;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_pack(int argc, char **argv)
{
    cli_data_opts o = {0};
    o.paths = calloc((size_t)argc + 2, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    pack_args a = {&o, NULL, 0};
    int rc = cli_parse(&PACK_CMD, argc, argv, &o, pack_arg, &a);
    if (rc < 0) {
        if (!a.out || !*a.out) rc = cli_usage_error(&PACK_CMD, "--out STORE is required");
        else if (!o.n_paths) rc = cli_usage_error(&PACK_CMD, "no DATA given");
        else if (o.weights)
            rc = cli_usage_error(&PACK_CMD, "a store keeps no task weights: give --weights to the command that reads it");
        else if (a.append && o.n_folds)
            rc = cli_usage_error(&PACK_CMD, "--append adds whole files: --fold and --except-fold are for a new store");
    }
    if (rc >= 0) {
        free(o.paths);
        return rc;
    }
    rc = EXIT_FAIL;
    tlp_error err = {0};
    struct stat sb;
    if (a.append) {
        if (stat(a.out, &sb) != 0) {
            fprintf(stderr, "tlpx pack: %s: no such store (pack without --append makes one)\n", a.out);
            free(o.paths);
            return rc;
        }
        /* the store first, so it is mapped and DATA goes after it */
        memmove(o.paths + 1, o.paths, sizeof *o.paths * (size_t)o.n_paths);
        o.paths[0] = a.out;
        o.n_paths++;
    } else if (tlp_check_writable(a.out, &err) != TLP_OK) {
        fprintf(stderr, "tlpx pack: %s: %s\n", err.file[0] ? err.file : a.out, err.msg);
        free(o.paths);
        return rc;
    }
    int lock = lock_store(a.out, o.quiet); /* held until the store is written: writers take turns */
    if (lock == -1) {
        fprintf(stderr, "tlpx pack: %s: cannot lock it for writing: %s\n", a.out, strerror(errno));
        free(o.paths);
        return rc;
    }
    double t0 = now_s();
    tlp_dataset *ds = cli_load(&o);
    if (ds && a.append && (!tlp_dataset_store(ds) || strcmp(tlp_dataset_store(ds), a.out))) {
        fprintf(stderr, "tlpx pack: %s: not a tlpx store (--append adds to one)\n", a.out);
        tlp_dataset_free(ds);
        ds = NULL;
    }
    if (ds && cli_out_is_input(ds, a.out, "pack")) { /* the store over its own JSON: the only copy gone */
        tlp_dataset_free(ds);
        ds = NULL;
    }
    if (ds) {
        double t1 = now_s();
        size_t n = tlp_dataset_n_records(ds), before = a.append ? tlp_dataset_n_mapped(ds) : 0;
        tlp_status st = a.append ? tlp_store_append(ds, a.out, &err) : tlp_store_write(ds, a.out, &err);
        double t2 = now_s();
        if (a.append && tlp_dataset_n_already(ds) && !o.quiet)
            fprintf(stderr, "tlpx pack: %zu file%s of DATA already in %s: skipped\n", tlp_dataset_n_already(ds),
                    tlp_dataset_n_already(ds) == 1 ? "" : "s", a.out);
        if (st == TLP_EMPTY && a.append) {
            fprintf(stderr, "tlpx pack: %s: nothing to append (no new records in DATA)\n", a.out);
            rc = EXIT_OK;
        } else if (st != TLP_OK) {
            fprintf(stderr, "tlpx pack: %s: %s%s\n", err.file[0] ? err.file : a.out, err.msg,
                    a.append ? "" : " (nothing written)");
        } else {
            rc = EXIT_OK;
            if (!o.quiet) say_written(ds, a.out, a.append, n - before, t1 - t0, t2 - t1);
        }
    }
    tlp_dataset_free(ds);
    if (lock >= 0) close(lock); /* the next writer's turn */
    free(o.paths);
    return rc;
}
