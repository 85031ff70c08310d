/*
 * export.c: atomic file writes and the NumPy (.npy) export of features,
 * labels and costs, so Python users can np.load them directly.
 *
 * Every file goes through tlp_write_atomic: written to a temporary file in the
 * same directory, flushed, fsync'd, renamed over the target, and the directory
 * fsync'd.  A failure at any point removes the temporary and leaves the old
 * file untouched.  A path that exists must be a regular file, or a symbolic
 * link to one (the file it leads to is replaced, the link stays); the file
 * keeps its mode.  Temporaries a killed save left are removed by the next
 * save to the same path.
 */
#include "tlp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* Where the bytes for path go: path itself, or the regular file a symbolic
 * link at path leads to (the link stays a link).  *mode gets the mode of the
 * file there, or -1 when there is none yet.  Returns a malloc'd path, or
 * NULL with err set when path exists and is not a regular file. */
static char *destination(const char *path, int *mode, tlp_error *err)
{
    struct stat ls, st;
    *mode = -1;
    if (!path || !path[0]) {
        tlp_error_set(err, TLP_ARG, path, 0, "no path given");
        return NULL;
    }
    if (lstat(path, &ls) != 0) {
        if (errno == ENOENT) return strdup(path);
        tlp_error_set(err, TLP_IO, path, 0, "cannot look at it: %s", strerror(errno));
        return NULL;
    }
    if (stat(path, &st) != 0) {
        tlp_error_set(err, TLP_IO, path, 0, "a symbolic link to nothing (%s): refusing to write through it",
                      strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        tlp_error_set(err, TLP_IO, path, 0, "%s, not a regular file: refusing to replace it", kind_of(st.st_mode));
        return NULL;
    }
    *mode = (int)(st.st_mode & 07777);
    if (!S_ISLNK(ls.st_mode)) return strdup(path);
    char *real = realpath(path, NULL);
    if (!real) tlp_error_set(err, TLP_IO, path, 0, "cannot follow the symbolic link: %s", strerror(errno));
    return real;
}

/* The directory part of path ("." when it has none); caller frees. */
static char *dir_of(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash) {
        free(dir);
        return strdup(".");
    }
    if (slash == dir) slash[1] = 0;
    else *slash = 0;
    return dir;
}

/* Temporary files of ours that a killed save left beside path
 * ("NAME.tmp.XXXXXX", untouched for a minute): removed. */
static void remove_stale(const char *path)
{
    char *dir = dir_of(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t bl = strlen(base);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    time_t now = time(NULL);
    while (d && (e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, base, bl) != 0 || strncmp(nm + bl, ".tmp.", 5) != 0 || strlen(nm + bl + 5) != 6) continue;
        char *full = malloc(strlen(dir) + strlen(nm) + 2);
        struct stat st;
        if (full) {
            sprintf(full, "%s/%s", dir, nm);
            if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > 60) unlink(full);
            free(full);
        }
    }
    if (d) closedir(d);
    free(dir);
}

tlp_status tlp_check_writable(const char *path, tlp_error *err)
{
    int mode;
    char *dest = destination(path, &mode, err);
    if (!dest) return err ? err->status : TLP_IO;
    char *dir = dir_of(dest);
    char *probe = dir ? malloc(strlen(dir) + 32) : NULL;
    tlp_status s = TLP_OK;
    if (!probe) s = tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    else {
        sprintf(probe, "%s/.tlpx-probe.XXXXXX", dir);
        int fd = mkstemp(probe);
        if (fd < 0) s = tlp_error_set(err, TLP_IO, path, 0, "cannot write in %s: %s", dir, strerror(errno));
        else {
            close(fd);
            unlink(probe);
        }
    }
    free(probe);
    free(dir);
    free(dest);
    return s;
}

tlp_status tlp_write_atomic(const char *path, tlp_write_fn fn, void *ctx, tlp_error *err)
{
    int old_mode;
    char *dest = destination(path, &old_mode, err);
    if (!dest) return err ? err->status : TLP_IO;
    remove_stale(dest);
    size_t n = strlen(dest);
    char *tmp = malloc(n + 32);
    if (!tmp) {
        free(dest);
        return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    }
    snprintf(tmp, n + 32, "%s.tmp.XXXXXX", dest);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        tlp_status s = tlp_error_set(err, TLP_IO, path, 0, "cannot create a temporary file: %s", strerror(errno));
        free(tmp), free(dest);
        return s;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp), free(dest);
        return tlp_error_set(err, TLP_IO, path, 0, "fdopen: %s", strerror(errno));
    }
    tlp_status s = fn(f, ctx, err);
    if (s == TLP_OK && (fflush(f) != 0 || ferror(f)))
        s = tlp_error_set(err, TLP_IO, path, 0, "write failed: %s", strerror(errno));
    if (s == TLP_OK && fsync(fileno(f)) != 0)
        s = tlp_error_set(err, TLP_IO, path, 0, "fsync failed: %s", strerror(errno));
    if (fclose(f) != 0 && s == TLP_OK) s = tlp_error_set(err, TLP_IO, path, 0, "close failed: %s", strerror(errno));
    if (s == TLP_OK) {
        /* an existing file keeps its mode; a new one gets the umask's (mkstemp makes 0600) */
        mode_t um = umask(0);
        umask(um);
        chmod(tmp, old_mode >= 0 ? (mode_t)old_mode : 0666 & ~um);
        if (rename(tmp, dest) != 0) s = tlp_error_set(err, TLP_IO, path, 0, "rename failed: %s", strerror(errno));
    }
    if (s != TLP_OK) {
        unlink(tmp);
    } else {
        /* make the rename itself durable */
        char *dir = dir_of(dest);
        int dfd = dir ? open(dir, O_RDONLY) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(tmp);
    free(dest);
    return s;
}

/* The .npy v1.0 header: magic, version, header length, a dict padded with
 * spaces so the data starts on a 64-byte boundary. */
static int npy_header(FILE *f, const char *descr, const size_t *shape, int nd)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < nd; i++) n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu,%s", shape[i], i + 1 < nd ? " " : "");
    if (nd > 1) n--; /* numpy writes (3,) for 1-d but (3, 4) otherwise */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)((size_t)n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n) return -1;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

typedef struct {
    const tlp_dataset *ds;
    tlp_mode mode;
    tlp_encode encode;
    size_t n;
    const char *path;
} export_ctx;

static int in_mode(const export_ctx *c, size_t i)
{
    const tlp_rec *r = tlp_dataset_rec(c->ds, i);
    return tlp_dataset_task(c->ds, r->task)->mode == c->mode;
}

static tlp_status write_features(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    int R = tlp_encode_rows(c->mode, c->encode), F = tlp_mode_fea(c->mode);
    size_t shape[3] = {c->n, (size_t)R, (size_t)F};
    if (npy_header(f, "<f4", shape, 3)) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    float raw[TLP_MAX_SEQ * TLP_MAX_FEA], buf[(TLP_MAX_SEQ + 1) * TLP_MAX_FEA];
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        tlp_dataset_features(c->ds, i, raw);
        tlp_encode_tokens(c->mode, c->encode, raw, buf);
        if (fwrite(buf, sizeof(float), (size_t)R * (size_t)F, f) != (size_t)R * (size_t)F)
            return tlp_error_set(err, TLP_IO, c->path, 0, "write failed: %s", strerror(errno));
    }
    return TLP_OK;
}

static tlp_status write_labels(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    size_t shape[1] = {c->n};
    if (npy_header(f, "<f4", shape, 1)) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        float v = (float)tlp_dataset_label(c->ds, i);
        if (fwrite(&v, sizeof v, 1, f) != 1) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    }
    return TLP_OK;
}

static tlp_status write_costs(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    size_t shape[1] = {c->n};
    if (npy_header(f, "<f8", shape, 1)) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        double v = tlp_dataset_rec(c->ds, i)->cost;
        if (fwrite(&v, sizeof v, 1, f) != 1) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    }
    return TLP_OK;
}

/* s escaped (tlp_escape) onto f. */
static void put_escaped(FILE *f, const char *s)
{
    char small[1024];
    size_t n = strlen(s), need = tlp_escape(small, sizeof small, s, n) + 1;
    if (need <= sizeof small) {
        fputs(small, f);
        return;
    }
    char *big = malloc(need);
    if (!big) {
        fputs("(out of memory)", f);
        return;
    }
    tlp_escape(big, need, s, n);
    fputs(big, f);
    free(big);
}

static tlp_status write_index(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    fprintf(f, "task\thardware\tfile\tline\n");
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        const tlp_rec *r = tlp_dataset_rec(c->ds, i);
        const tlp_task *t = tlp_dataset_task(c->ds, r->task);
        put_escaped(f, t->workload_key);
        fprintf(f, "\t%s\t", t->hardware);
        put_escaped(f, tlp_dataset_file(c->ds, r->file));
        fprintf(f, "\t%u\n", r->line);
    }
    return ferror(f) ? tlp_error_set(err, TLP_IO, c->path, 0, "write failed") : TLP_OK;
}

tlp_status tlp_export_npy(const tlp_dataset *ds, tlp_mode m, tlp_encode e, const char *prefix, size_t *n_out,
                          tlp_error *err)
{
    if ((unsigned)e >= TLP_ENCODE_COUNT) return tlp_error_set(err, TLP_ARG, prefix, 0, "unknown token encoding %d", e);
    export_ctx c = {ds, m, e, 0, NULL};
    size_t N = tlp_dataset_n_records(ds);
    for (size_t i = 0; i < N; i++) c.n += in_mode(&c, i);
    if (n_out) *n_out = c.n;
    static const struct {
        const char *suffix;
        tlp_write_fn fn;
    } parts[] = {
        {".features.npy", write_features},
        {".labels.npy", write_labels},
        {".costs.npy", write_costs},
        {".index.tsv", write_index},
    };
    size_t plen = strlen(prefix);
    char *path = malloc(plen + 32);
    if (!path) return tlp_error_set(err, TLP_NOMEM, prefix, 0, "out of memory");
    tlp_status s = TLP_OK;
    for (size_t p = 0; p < sizeof parts / sizeof *parts && s == TLP_OK; p++) {
        snprintf(path, plen + 32, "%s%s", prefix, parts[p].suffix);
        c.path = path;
        s = tlp_write_atomic(path, parts[p].fn, &c, err);
    }
    free(path);
    return s;
}

FILE *tlp_fopen_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0) e = errno;
    else if (!S_ISREG(st.st_mode)) e = EINVAL;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) e = errno;
    FILE *f = e ? NULL : fdopen(fd, "r");
    if (!f) {
        if (!e) e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

const char *tlp_fopen_why(int e)
{
    return e == EINVAL ? "not a regular file" : strerror(e);
}

