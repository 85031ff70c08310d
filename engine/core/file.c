/*
 * file.c: safe file I/O: atomic writes, and opening only regular files.
 *
 * Every file goes through tlp_write_atomic: written to a temporary file in the
 * same directory, flushed, fsync'd, renamed over the target, and the directory
 * fsync'd.  A failure at any point removes the temporary and leaves the old
 * file untouched.  A path that exists must be a regular file, or a symbolic
 * link to one (the file it leads to is replaced, the link stays); the file
 * keeps its mode.  Temporaries a killed save left are removed by the next
 * save to the same path.
 */
#include "core/core_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tlp__file_kind(mode_t m)
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
        tlp_error_set(err, TLP_IO, path, 0, "%s, not a regular file: refusing to replace it", tlp__file_kind(st.st_mode));
        return NULL;
    }
    *mode = (int)(st.st_mode & 07777);
    if (!S_ISLNK(ls.st_mode)) return strdup(path);
    char *real = realpath(path, NULL);
    if (!real) tlp_error_set(err, TLP_IO, path, 0, "cannot follow the symbolic link: %s", strerror(errno));
    return real;
}

/* An output that is a stream, not a file to replace: "-" and /dev/stdout
 * (1), /dev/stderr (2), /dev/fd/N and /proc/self/fd/N (N).  Written in
 * order through a copy of the descriptor, never renamed over, so
 * `--out /dev/stdout >> log` appends as the shell asked.  -1: a path. */
static int stream_fd(const char *path)
{
    if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout")) return 1;
    if (!strcmp(path, "/dev/stderr")) return 2;
    const char *n = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
    if (!n || !*n || strspn(n, "0123456789") != strlen(n) || strlen(n) > 6) return -1;
    return atoi(n);
}

static tlp_status write_stream(int fd, const char *path, tlp_write_fn fn, void *ctx, tlp_error *err)
{
    int d = dup(fd);
    FILE *f = d >= 0 ? fdopen(d, "wb") : NULL;
    if (!f) {
        if (d >= 0) close(d);
        return tlp_error_set(err, TLP_IO, path, 0, "cannot write to it: %s", strerror(errno));
    }
    tlp_status s = fn(f, ctx, err);
    if (fflush(f) != 0 && s == TLP_OK) s = tlp_error_set(err, TLP_IO, path, 0, "write failed: %s", strerror(errno));
    fclose(f);
    return s;
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
 * (".NAME.tlpx-tmp.XXXXXX", untouched for a minute): removed.  The name is
 * hidden and marked as tlpx's, so no file of the user's matches it. */
#define TMP_MARK ".tlpx-tmp."

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
        if (nm[0] != '.' || strncmp(nm + 1, base, bl) != 0 || strncmp(nm + 1 + bl, TMP_MARK, strlen(TMP_MARK)) != 0 ||
            strlen(nm + 1 + bl + strlen(TMP_MARK)) != 6)
            continue;
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
    if (path && stream_fd(path) >= 0) return TLP_OK; /* written as a stream */
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
    int sfd = path ? stream_fd(path) : -1;
    if (sfd >= 0) return write_stream(sfd, path, fn, ctx, err);
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
    const char *slash = strrchr(dest, '/');
    size_t dl = slash ? (size_t)(slash - dest) + 1 : 0; /* beside dest: DIR/.NAME.tlpx-tmp.XXXXXX */
    snprintf(tmp, n + 32, "%.*s.%s" TMP_MARK "XXXXXX", (int)dl, dest, dest + dl);
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

int tlp_open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0) e = errno;
    else if (!S_ISREG(st.st_mode)) e = EINVAL;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) e = errno;
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

FILE *tlp_fopen_regular(const char *path)
{
    int fd = tlp_open_regular(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

const char *tlp_fopen_why(int e)
{
    return e == EINVAL ? "not a regular file" : strerror(e);
}

