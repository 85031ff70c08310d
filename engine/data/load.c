/*
 * load.c: DATA arguments into a dataset: record files (plain or gzip'd),
 * directories read recursively, standard input, and packed stores (known by
 * their first bytes, handed to store.c); and a record's text read again
 * from its file for the token view.
 *
 * Design.  Files are streamed line by line through a fixed buffer, so a file
 * of any size loads in bounded memory apart from what the dataset keeps;
 * each line is parsed (record.c) and added (tlp__dataset_add).  Bad lines
 * and unreadable paths are skipped, kept as diagnostics and told to the
 * caller through tlp_load_opts.on_diag as they happen: the engine prints
 * nothing.
 *
 * Hardware name: the user's NAME=PATH override, else the target's -model=,
 * else the DATA argument's own name (a directory's, or a file's
 * directory's) for everything below it, noted as inferred: subdirectories
 * group operators as often as hardware (Roller's conv/, matmul/, ...), and
 * the note points out several directories under one name.
 */
#include "data/dataset_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Tell the caller (tlp_load_opts.on_diag) as it happens. */
static void tell(const tlp_dataset *ds, const tlp_load_opts *o, size_t file, long line, tlp_status reason,
                 const char *msg)
{
    if (!o || !o->on_diag) return;
    tlp_diag d = {ds->files[file], line, reason, msg};
    o->on_diag(o->ctx, &d);
}

/* A skipped line: counted, kept and told. */
static void diag(tlp_dataset *ds, size_t file, long line, tlp_status reason, const char *msg,
                 const tlp_load_opts *o)
{
    ds->n_skipped++;
    ds->skipped[reason]++;
    tlp__diag_keep(ds, file, line, reason, msg);
    tell(ds, o, file, line, reason, msg);
}

/* A path inside a DATA directory that cannot be read (or is not a record
 * file): say so as "path: reason" and go on.  It is kept among the files so
 * the diagnostic can name it. */
static tlp_status skip_path(tlp_dataset *ds, const char *path, const tlp_load_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tlp_status skip_path(tlp_dataset *ds, const char *path, const tlp_load_opts *o, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (tlp__add_file_name(ds, path) < 0) return TLP_NOMEM;
    ds->n_skipped_files++;
    tlp__diag_keep(ds, ds->n_files - 1, 0, TLP_IO, msg);
    tell(ds, o, ds->n_files - 1, 0, TLP_IO, msg);
    return TLP_OK;
}

/* ------------------------------------------------------------ records */

/* How the records of one file get their hardware name: the NAME= of the
 * DATA argument, else the target's -model=, else `path`, a name from the
 * file's place (see tlp_dataset_add_path) that is noted as an inference. */
typedef struct {
    const char *given;  /* NAME=, or NULL */
    char path[128];     /* the name from the path */
    const char *root;   /* the DATA argument */
    int used;           /* a record of the file took the name from the path */
} hw_name_t;

/* The last component of path's real location ("." and ".." resolved). */
static void real_base(const char *path, char *buf, size_t cap)
{
    char *rp = realpath(path, NULL);
    const char *p = rp ? rp : path;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && p[start - 1] != '/') start--;
    if (n - start == 0 || (n - start == 1 && p[start] == '.') || (n - start == 2 && !strncmp(p + start, "..", 2)))
        snprintf(buf, cap, "%s", n == 1 && p[0] == '/' ? "root" : "data");
    else
        snprintf(buf, cap, "%.*s", (int)(n - start < cap - 1 ? n - start : cap - 1), p + start);
    free(rp);
}

/* The name a file's records take from their place: its directory's real
 * name, cleaned (a file given alone, or followed). */
static void dir_name(const char *file, char *buf, size_t cap)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = 0;
    else snprintf(dir, sizeof dir, ".");
    real_base(dir, buf, cap);
    tlp_clean_name(buf);
}


/* Add a parsed record under its hardware name: NAME=, else the target's
 * -model=, else the name from the path (noted as an inference). */
static tlp_status add_record(tlp_dataset *ds, const tlp_record *r, size_t file, long line, uint64_t off,
                             uint32_t text_sum, hw_name_t *name, tlp_error *err)
{
    char buf[128];
    const char *hw = name->given;
    if (!hw && tlp_target_option(r->target, "-model=", buf, sizeof buf)) {
        tlp_clean_name(buf);
        hw = buf;
    }
    if (!hw) {
        hw = name->path;
        name->used = 1;
    }
    return tlp__dataset_add(ds, r, file, line, off, text_sum, hw, err);
}

/* ------------------------------------------------------------ files */

/* A line reader over fread chunks: lines are found with memchr, so NUL bytes
 * and CR are data like any other; a line inside the chunk is returned in
 * place, one that spans chunks is gathered in ds->line, up to MAX_LINE. */
/* A file read through zlib: gzip data is inflated, anything else is read
 * as it is (zlib's transparent mode), so .json.gz and .json take one path. */
typedef struct {
    gzFile g;
    char *buf;
    size_t pos, end;
    int eof, error;
} reader;

/* Inflated bytes asked of zlib at a time: small enough that corrupt gzip
 * data loses little of what came before it. */
#define CHUNK (1u << 16)

/* Returns the line length (without '\n') and sets *out, -1 at the end, -2 for
 * a line over MAX_LINE (consumed), -3 on a read error, -4 on corrupt or
 * truncated gzip data (the partial line is dropped).  *consumed gets the
 * bytes taken from the (inflated) file, newline included. */
static long next_line(tlp_dataset *ds, reader *rd, const char **out, uint64_t *consumed)
{
    size_t acc = 0;
    int too_long = 0;
    *consumed = 0;
    for (;;) {
        if (rd->pos == rd->end) {
            if (rd->error && !acc && !too_long) return rd->error; /* after the good bytes */
            if (rd->eof) break;
            int got = gzread(rd->g, rd->buf, CHUNK), zerr = Z_OK;
            if (got < 0) {
                gzerror(rd->g, &zerr);
                return zerr == Z_ERRNO ? -3 : -4;
            }
            size_t n = (size_t)got;
            if (n < CHUNK) {
                rd->eof = 1;
                /* a truncated stream gives its last bytes, then the error */
                gzerror(rd->g, &zerr);
                if (zerr != Z_OK && zerr != Z_STREAM_END) rd->error = zerr == Z_ERRNO ? -3 : -4;
            }
            rd->pos = 0;
            rd->end = n;
            if (n == 0) {
                if (rd->error && !acc && !too_long) return rd->error;
                break;
            }
        }
        char *start = rd->buf + rd->pos;
        size_t avail = rd->end - rd->pos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        *consumed += take + (nl ? 1 : 0);
        rd->pos += take + (nl ? 1 : 0);
        if (nl && acc == 0 && !too_long) {
            *out = start;
            return (long)take;
        }
        if (!too_long) {
            if (acc + take > MAX_LINE) {
                too_long = 1;
            } else {
                size_t cap = ds->line_cap;
                if (tlp__grow((void **)&ds->line, &cap, acc + take + 1, 1)) return -3;
                ds->line_cap = cap;
                memcpy(ds->line + acc, start, take);
                acc += take;
            }
        }
        if (nl) break;
    }
    if (*consumed == 0) return -1;
    if (too_long) return -2;
    *out = ds->line;
    return (long)acc;
}

static void note_inferred(tlp_dataset *ds, const hw_name_t *name, const char *path);
static tlp_status read_records(tlp_dataset *ds, gzFile g, const char *path, hw_name_t *hardware,
                               const tlp_load_opts *o, tlp_error *err);

/* Read the records of the file open as fd, named path (fd stays open; the
 * caller closes it), plain or gzip. */
static tlp_status add_stream(tlp_dataset *ds, int fd, const char *path, hw_name_t *hardware,
                             const tlp_load_opts *o, tlp_error *err)
{
    int dfd = dup(fd);
    gzFile g = dfd >= 0 ? gzdopen(dfd, "rb") : NULL;
    if (!g) {
        if (dfd >= 0) close(dfd);
        return tlp_error_set(err, TLP_NOMEM, path, 0, "cannot read: %s", strerror(errno));
    }
    gzbuffer(g, 1u << 18);
    tlp_status st = read_records(ds, g, path, hardware, o, err);
    gzclose(g);
    return st;
}

/* One line of a record file (without its newline), at byte `here` of file
 * number `file` (named path): a record added, or a diagnostic kept;
 * blank lines and TVM's comments pass.  Fails only out of memory. */
static tlp_status take_line(tlp_dataset *ds, const char *s, size_t len, size_t file, const char *path, long lineno,
                            uint64_t here, hw_name_t *hardware, const tlp_load_opts *o, tlp_error *err)
{
    while (len && s[len - 1] == '\r') len--;
    size_t lead = 0;
    while (lead < len && (s[lead] == ' ' || s[lead] == '\t')) lead++;
    if (lead == len) return TLP_OK;             /* blank */
    if (s[0] == '#' || s[0] == ' ') {           /* TVM's reader skips these */
        ds->n_comments++;
        return TLP_OK;
    }
    tlp_error e = {0};
    tlp_status ps = tlp_record_parse(&ds->scratch, s, len, &e);
    if (ps == TLP_NOMEM) return tlp_error_set(err, TLP_NOMEM, path, lineno, "out of memory");
    if (ps) {
        diag(ds, file, lineno, ps, e.msg, o);
        return TLP_OK;
    }
    if (o && o->n_folds > 0) {
        int f_in = tlp_workload_fold(ds->scratch.workload_key, o->n_folds) == o->fold;
        if (f_in == (o->fold_except != 0)) { /* another fold's task */
            ds->n_other_folds++;
            return TLP_OK;
        }
    }
    return add_record(ds, &ds->scratch, file, lineno, here, tlp__text_sum(s, len), hardware, err);
}

static tlp_status read_records(tlp_dataset *ds, gzFile g, const char *path, hw_name_t *hardware,
                               const tlp_load_opts *o, tlp_error *err)
{
    int added = tlp__add_file_name(ds, path);
    if (added < 0) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    size_t file = (size_t)added;
    reader rd = {g, malloc(CHUNK), 0, 0, 0, 0};
    if (!rd.buf) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    uint64_t off = 0;
    long lineno = 0;
    tlp_status status = TLP_OK;
    for (;;) {
        uint64_t consumed;
        const char *s = NULL;
        long n = next_line(ds, &rd, &s, &consumed);
        if (n == -1) break;
        lineno++;
        uint64_t here = off;
        off += consumed;
        ds->bytes_read += consumed;
        if (n == -3) {
            status = tlp_error_set(err, TLP_IO, path, lineno, "read error: %s", strerror(errno));
            break;
        }
        if (n == -4) { /* the records before it stay; loading goes on with the next file */
            int zerr;
            char msg[200];
            snprintf(msg, sizeof msg, "corrupt or truncated gzip data (%s): the rest of the file is lost",
                     gzerror(g, &zerr));
            diag(ds, file, lineno, TLP_IO, msg, o);
            break;
        }
        if (n == -2) {
            char msg[96];
            snprintf(msg, sizeof msg, "line longer than %u bytes", MAX_LINE);
            diag(ds, file, lineno, TLP_TOO_LONG, msg, o);
            continue;
        }
        status = take_line(ds, s, (size_t)n, file, path, lineno, here, hardware, o, err);
        if (status) break;
    }
    free(rd.buf);
    if (hardware->used) note_inferred(ds, hardware, path);
    hardware->used = 0;
    return status;
}

static tlp_status add_file(tlp_dataset *ds, const char *path, hw_name_t *hardware,
                           const tlp_load_opts *o, tlp_error *err)
{
    int fd = tlp_open_regular(path); /* what was stat'ed a moment ago may be a FIFO now */
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot open: %s", tlp_fopen_why(errno));
    tlp_status s;
    struct stat st;
    size_t k = 0;
    if (fstat(fd, &st) == 0) { /* the same file met again (a link, a path given twice, :open of it): once */
        while (k < ds->n_seen && !(ds->seen[k].dev == st.st_dev && ds->seen[k].ino == st.st_ino)) k++;
        if (k < ds->n_seen) {
            if (o && o->on_diag) {
                tlp_diag d = {path, 0, TLP_OK, "the same file as one read already (a link, or named twice): skipped"};
                o->on_diag(o->ctx, &d);
            }
            close(fd);
            return TLP_OK;
        }
        if (tlp__grow((void **)&ds->seen, &ds->cap_seen, ds->n_seen + 1, sizeof *ds->seen)) {
            close(fd);
            return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
        }
        ds->seen[ds->n_seen].dev = st.st_dev;
        ds->seen[ds->n_seen++].ino = st.st_ino;
    }
    if (tlp__is_store(fd))
        s = tlp__store_add(ds, fd, path, hardware->given, o, err);
    else if (ds->n_store_files && tlp__in_store(ds, path)) { /* packing a file twice: not an error, not kept */
        if (o && o->on_diag) { /* a note, not a skip: nothing is wrong with the file */
            char msg[600];
            snprintf(msg, sizeof msg, "already in the store %s: skipped", ds->store_path);
            tlp_diag d = {path, 0, TLP_OK, msg};
            o->on_diag(o->ctx, &d);
        }
        ds->n_already++;
        s = TLP_OK;
    }
    else
        s = add_stream(ds, fd, path, hardware, o, err);
    close(fd);
    return s;
}

/* Standard input, as the DATA argument "-": copied to an unnamed temporary
 * file first, so the token view can read a record again. */
static tlp_status add_stdin(tlp_dataset *ds, hw_name_t *hardware, const tlp_load_opts *o, tlp_error *err)
{
    if (ds->stdin_copy) return tlp_error_set(err, TLP_ARG, "-", 0, "standard input given twice");
    FILE *t = tmpfile();
    if (!t) return tlp_error_set(err, TLP_IO, "-", 0, "cannot make a temporary file: %s", strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, n, t) != n) {
            fclose(t);
            return tlp_error_set(err, TLP_IO, "-", 0, "cannot copy standard input: %s", strerror(errno));
        }
    if (ferror(stdin) || fflush(t) != 0 || fseeko(t, 0, SEEK_SET) != 0) {
        fclose(t);
        return tlp_error_set(err, TLP_IO, "-", 0, "cannot read standard input");
    }
    ds->stdin_copy = t;
    return add_stream(ds, fileno(t), "-", hardware, o, err);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The directories a walk has entered, by device and inode: a symlink loop
 * (or two links to one directory) is read once. */
typedef struct {
    struct {
        dev_t dev;
        ino_t ino;
    } *seen;
    size_t n, cap;
} walk_t;

static tlp_status add_dir(tlp_dataset *ds, const char *path, const struct stat *st, hw_name_t *hardware,
                          const tlp_load_opts *o, tlp_error *err, walk_t *w, int depth)
{
    if (depth > 64) return skip_path(ds, path, o, "directories nested more than 64 deep: skipped");
    for (size_t i = 0; i < w->n; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
            return skip_path(ds, path, o, "a directory already read (a symbolic link loop?): skipped");
    if (tlp__grow((void **)&w->seen, &w->cap, w->n + 1, sizeof *w->seen))
        return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    w->seen[w->n].dev = st->st_dev;
    w->seen[w->n].ino = st->st_ino;
    w->n++;
    DIR *d = opendir(path);
    if (!d) {
        if (depth == 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot open directory: %s", strerror(errno));
        return skip_path(ds, path, o, "cannot open directory: %s: skipped", strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    tlp_status s = TLP_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (tlp__grow((void **)&names, &cap, n + 1, sizeof *names)) {
            s = TLP_NOMEM;
            break;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) {
            s = TLP_NOMEM;
            break;
        }
        snprintf(names[n], len, "%s%s%s", path, has_suffix(path, "/") ? "" : "/", e->d_name);
        n++;
    }
    closedir(d);
    if (s == TLP_OK) {
        if (n) qsort(names, n, sizeof *names, cmp_str); /* a stable order whatever the file system */
        for (size_t i = 0; i < n && s == TLP_OK; i++) {
            struct stat sb;
            int records = has_suffix(names[i], ".json") || has_suffix(names[i], ".log") ||
                          has_suffix(names[i], ".json.gz") || has_suffix(names[i], ".log.gz");
            if (stat(names[i], &sb) != 0) {
                /* a dangling link or no permission to look: said, not fatal */
                if (records || errno != ENOENT) s = skip_path(ds, names[i], o, "%s: skipped", strerror(errno));
            } else if (S_ISDIR(sb.st_mode))
                s = add_dir(ds, names[i], &sb, hardware, o, err, w, depth + 1); /* the DATA directory's name */
            else if (!records)
                continue;
            else if (!S_ISREG(sb.st_mode))
                s = skip_path(ds, names[i], o, "%s, not a regular file: skipped", tlp__file_kind(sb.st_mode));
            else {
                tlp_error fe = {0};
                s = add_file(ds, names[i], hardware, o, &fe);
                if (s == TLP_IO && !strncmp(fe.msg, "cannot open", 11)) /* unreadable: said, not fatal */
                    s = skip_path(ds, names[i], o, "%s: skipped", fe.msg);
                else if (s != TLP_OK && err)
                    *err = fe;
            }
        }
    } else
        tlp_error_set(err, s, path, 0, "out of memory");
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (s == TLP_NOMEM && err && err->status != TLP_NOMEM) tlp_error_set(err, s, path, 0, "out of memory");
    return s;
}

static tlp_status add_path(tlp_dataset *ds, const char *path, const char *hardware, const tlp_load_opts *opts,
                           tlp_error *err);

/* The NAME= given is cleaned as every other hardware name is (a name
 * reaches terminals and TSV columns: no controls, no broken UTF-8). */
tlp_status tlp_dataset_add_path(tlp_dataset *ds, const char *path, const char *hardware,
                                const tlp_load_opts *opts, tlp_error *err)
{
    char *given = hardware ? strdup(hardware) : NULL;
    if (hardware && !given) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    if (given) tlp_clean_name(given);
    tlp_status s = add_path(ds, path, given, opts, err);
    free(given);
    return s;
}

static tlp_status add_path(tlp_dataset *ds, const char *path, const char *hardware, const tlp_load_opts *opts,
                           tlp_error *err)
{
    hw_name_t name = {hardware, "", path, 0};
    if (!strcmp(path, "-")) {
        snprintf(name.path, sizeof name.path, "stdin");
        return add_stdin(ds, &name, opts, err);
    }
    struct stat sb;
    if (stat(path, &sb) != 0) return tlp_error_set(err, TLP_NOT_FOUND, path, 0, "%s", strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        real_base(path, name.path, sizeof name.path);
        tlp_clean_name(name.path);
        walk_t w = {NULL, 0, 0};
        tlp_status s = add_dir(ds, path, &sb, &name, opts, err, &w, 0);
        free(w.seen);
        return s;
    }
    if (!S_ISREG(sb.st_mode))
        return tlp_error_set(err, TLP_IO, path, 0, "%s, not a record file or a directory (- reads standard input)",
                             tlp__file_kind(sb.st_mode));
    dir_name(path, name.path, sizeof name.path); /* a file: its directory names it */
    return add_file(ds, path, &name, opts, err);
}

/* Remember that name->path named the records of the file at path: per
 * name, the DATA argument, the files and their directories. */
static void note_inferred(tlp_dataset *ds, const hw_name_t *name, const char *path)
{
    size_t i = 0;
    while (i < ds->n_inferred && (strcmp(ds->inferred[i].name, name->path) || strcmp(ds->inferred[i].root, name->root)))
        i++;
    if (i == ds->n_inferred) {
        if (tlp__grow((void **)&ds->inferred, &ds->cap_inferred, i + 1, sizeof *ds->inferred)) return;
        memset(&ds->inferred[i], 0, sizeof ds->inferred[i]);
        ds->inferred[i].name = strdup(name->path);
        ds->inferred[i].root = strdup(name->root);
        if (!ds->inferred[i].name || !ds->inferred[i].root) {
            free(ds->inferred[i].name), free(ds->inferred[i].root);
            return;
        }
        ds->n_inferred++;
    }
    tlp_inferred_t *n = &ds->inferred[i];
    n->n_files++;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    if (!n->first_dir) {
        n->first_dir = strndup(path, dl);
        n->n_dirs = 1;
    } else if (strlen(n->first_dir) != dl || strncmp(n->first_dir, path, dl)) {
        if (!n->last_dir || strlen(n->last_dir) != dl || strncmp(n->last_dir, path, dl)) {
            n->n_dirs++; /* files come sorted: a new directory is a change from the last one */
            free(n->last_dir);
            n->last_dir = strndup(path, dl);
        }
    }
}

size_t tlp_dataset_n_inferred(const tlp_dataset *ds) { return ds->n_inferred; }

tlp_inferred tlp_dataset_inferred(const tlp_dataset *ds, size_t i)
{
    tlp_inferred r = {NULL, NULL, 0, 0, NULL};
    if (i >= ds->n_inferred) return r;
    const tlp_inferred_t *n = &ds->inferred[i];
    r.name = n->name;
    r.data = n->root;
    r.n_files = n->n_files;
    r.n_dirs = n->n_dirs;
    r.first_dir = n->first_dir;
    return r;
}

tlp_status tlp_dataset_read_record(const tlp_dataset *ds, size_t i, tlp_record *r, tlp_error *err)
{
    if (i >= ds->n_recs) return tlp_error_set(err, TLP_ARG, NULL, 0, "no record %zu", i);
    const tlp_rec *rec = tlp__rec_at(ds, i);
    const char *path = ds->files[rec->file];
    if (!strcmp(path, "-") && !ds->stdin_copy)
        return tlp_error_set(err, TLP_IO, path, rec->line, "a record packed from standard input: its text was not kept");
    int is_stdin = !strcmp(path, "-") && ds->stdin_copy;
    /* the loading's rules: a FIFO or device put in the file's place is refused, not waited on or read forever */
    int fd = is_stdin ? dup(fileno(ds->stdin_copy)) : tlp_open_regular(path);
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, rec->line, "cannot read the record again: %s", tlp_fopen_why(errno));
    if (is_stdin) lseek(fd, 0, SEEK_SET);
    gzFile g = gzdopen(fd, "rb");
    if (!g) {
        close(fd);
        return tlp_error_set(err, TLP_NOMEM, path, rec->line, "out of memory");
    }
    /* the offset is in the inflated bytes: gzseek inflates up to it */
    tlp_status s = TLP_OK;
    char *line = NULL;
    size_t len = 0, cap = 0;
    if (gzseek(g, (z_off_t)rec->byte_off, SEEK_SET) != (z_off_t)rec->byte_off) {
        s = tlp_error_set(err, TLP_IO, path, rec->line, "cannot read the line again (file changed?)");
    } else {
        /* up to its newline, found with memchr as the loader finds it: a NUL byte is data here too */
        for (;;) {
            if (tlp__grow((void **)&line, &cap, len + CHUNK + 1, 1)) {
                s = tlp_error_set(err, TLP_NOMEM, path, rec->line, "out of memory");
                break;
            }
            int got = gzread(g, line + len, CHUNK);
            if (got <= 0) break;
            char *nl = memchr(line + len, '\n', (size_t)got);
            len = nl ? (size_t)(nl - line) + 1 : len + (size_t)got;
            if (nl || len > MAX_LINE) break;
        }
        if (s == TLP_OK && !len) s = tlp_error_set(err, TLP_IO, path, rec->line, "cannot read the line again (file changed?)");
    }
    uint32_t want;
    memcpy(&want, rec->text_sum, sizeof want);
    if (s == TLP_OK) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (want && tlp__text_sum(line, len) != want)
            s = tlp_error_set(err, TLP_IO, path, rec->line, "the file changed since the record was read: its line is another now");
    }
    if (s == TLP_OK) {
        tlp_error e = {0};
        s = tlp_record_parse(r, line, len, &e);
        if (s) s = tlp_error_set(err, s, path, rec->line, "%s (file changed since loading?)", e.msg);
    }
    free(line);
    gzclose(g);
    return s;
}

/* ------------------------------------------------------------ a growing file */

tlp_status tlp_dataset_follow(tlp_dataset *ds, const char *path, const char *hardware, tlp_follow *f,
                              size_t *added, tlp_error *err)
{
    size_t before = tlp_dataset_n_records(ds);
    if (added) *added = 0;
    int fd = tlp_open_regular(path);
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot open: %s", tlp_fopen_why(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return tlp_error_set(err, TLP_IO, path, 0, "cannot read: %s", strerror(errno));
    }
    if ((uint64_t)st.st_size < f->off) {
        close(fd);
        return tlp_error_set(err, TLP_IO, path, 0, "the file got shorter (%lld bytes, %llu read): replaced, not appended to",
                             (long long)st.st_size, (unsigned long long)f->off);
    }
    if ((uint64_t)st.st_size == f->off) {
        close(fd);
        return TLP_OK;
    }
    if (f->file < 0 || (size_t)f->file >= ds->n_files) {
        int k = tlp__add_file_name(ds, path);
        if (k < 0) {
            close(fd);
            return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
        }
        f->file = k;
    }
    hw_name_t name = {NULL, "", path, 0};
    char *given = hardware ? strdup(hardware) : NULL;
    if (given) tlp_clean_name(given);
    name.given = given;
    dir_name(path, name.path, sizeof name.path); /* as a file given alone has it */
    tlp_status status = TLP_OK;
    char *buf = malloc(CHUNK);
    size_t have = 0, cap = CHUNK;
    uint64_t pos = f->off;
    while (buf && status == TLP_OK && pos < (uint64_t)st.st_size) {
        if (have == cap) { /* a line longer than the buffer: grow it, up to MAX_LINE */
            char *b = cap < 2 * (size_t)MAX_LINE ? realloc(buf, cap * 2) : NULL;
            if (!b) break;
            buf = b, cap *= 2;
        }
        ssize_t n = pread(fd, buf + have, cap - have, (off_t)pos);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pos += (uint64_t)n, have += (size_t)n;
        size_t used = 0;
        for (char *nl; status == TLP_OK && (nl = memchr(buf + used, '\n', have - used)); used = (size_t)(nl - buf) + 1) {
            f->line++;
            status = take_line(ds, buf + used, (size_t)(nl - buf) - used, (size_t)f->file, path, f->line, f->off,
                               &name, NULL, err);
            f->off += (uint64_t)(nl - buf) + 1 - used;
            ds->bytes_read += (uint64_t)(nl - buf) + 1 - used;
        }
        memmove(buf, buf + used, have - used); /* a partial last line waits for its newline */
        have -= used;
    }
    if (!buf) status = tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    free(buf), free(given);
    close(fd);
    if (name.used) note_inferred(ds, &name, path);
    if (added) *added = tlp_dataset_n_records(ds) - before;
    return status;
}
