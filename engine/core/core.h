/*
 * core/core.h: the engine's bottom layer, public part: status codes and the
 * error record every engine function fills, text made safe for terminals
 * and TSVs, safe file I/O (atomic writes; only regular files read), and the
 * BLAS thread count.  It includes no other layer.
 */
#ifndef TLP_CORE_CORE_H
#define TLP_CORE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

#define TLP_STATUS_LIST(X)                                   \
    X(OK, "ok")                                              \
    X(IO, "I/O error")                                       \
    X(NOMEM, "out of memory")                                \
    X(ARG, "bad argument")                                   \
    X(JSON, "broken JSON")                                   \
    X(LAYOUT, "wrong record layout")                         \
    X(STEP, "bad step")                                      \
    X(UNKNOWN_STEP, "unknown step kind")                     \
    X(NUMBER, "absurd number")                               \
    X(COST, "bad cost")                                      \
    X(TOO_LONG, "line too long")                             \
    X(NUL, "NUL byte in line")                               \
    X(NOT_FOUND, "not found")                                \
    X(EMPTY, "no records")                                   \
    X(FORMAT, "bad model file")

typedef enum {
#define X(name, text) TLP_##name,
    TLP_STATUS_LIST(X)
#undef X
    TLP_STATUS_COUNT
} tlp_status;

/* A short English name for a status ("broken JSON").  Static storage. */
const char *tlp_status_name(tlp_status s);
/* The identifier of a status ("JSON"), for machine-readable output. */
const char *tlp_status_id(tlp_status s);

/* Where and why something failed.  file may be empty, line 0 when unknown. */
typedef struct {
    tlp_status status;
    char file[512];
    long line;
    char msg[256];
} tlp_error;

/* Fill err (if not NULL) and return s.  printf-style message. */
tlp_status tlp_error_set(tlp_error *err, tlp_status s, const char *file, long line,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---------------------------------------------------------------- safe file I/O */


/* Write a file atomically: fn writes the contents to f; the file appears
 * under path only if fn returns TLP_OK and every write and fsync succeeded.
 * A path that exists and is not a regular file (a directory, a device, a
 * FIFO) is refused; a symbolic link to a regular file is followed, and the
 * file keeps its mode.  Temporaries of a save that was killed are removed.
 * A stream is written as one, in order, not replaced: "-" and /dev/stdout,
 * /dev/stderr, /dev/fd/N (so `--out - >> log` appends). */
typedef tlp_status (*tlp_write_fn)(FILE *f, void *ctx, tlp_error *err);
tlp_status tlp_write_atomic(const char *path, tlp_write_fn fn, void *ctx, tlp_error *err);
/* FNV-1a-64 of n bytes, going on from h (TLP_FNV_OFFSET to start): the
 * engine's one hash of bytes (folds, digests, checksums). */
#define TLP_FNV_OFFSET 0xcbf29ce484222325u
uint64_t tlp_fnv1a(uint64_t h, const void *p, size_t n);
/* fopen(path, "r") for a file tlpx reads whole (a model, weights, scores):
 * only a regular file (or a link to one); a FIFO is refused at once instead
 * of waiting for a writer.  NULL with errno set (EINVAL: not a regular file);
 * tlp_fopen_why(errno) says it in words. */
FILE *tlp_fopen_regular(const char *path);
/* The same as a file descriptor (O_RDONLY, close-on-exec): -1 with errno. */
int tlp_open_regular(const char *path);
const char *tlp_fopen_why(int e);
/* Would tlp_write_atomic to path work?  The same refusals, and a file can
 * be made in its directory.  For checking before hours of work. */
tlp_status tlp_check_writable(const char *path, tlp_error *err);

/* ---------------------------------------------------------------- text */


/* Text from record files made safe for a terminal line or a TSV field:
 * C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not
 * UTF-8 become \t \n \r or \xNN, and a backslash becomes \\, so nothing
 * from a file can move the cursor, clear a screen or split a TSV row, and
 * tlp_unescape gives the text back.  Writes at most cap bytes (NUL
 * included) of the escaped form of s[0..n); returns the length it wanted. */
size_t tlp_escape(char *out, size_t cap, const char *s, size_t n);
/* The escaped form of s, malloc'd (caller frees), or NULL. */
char *tlp_escape_dup(const char *s);
/* A name (of hardware, of a head) made safe to print anywhere, in place:
 * every byte that is not printable ASCII or part of valid UTF-8 (C0 and
 * C1 controls, DEL, tab, stray bytes) becomes '_'. */
void tlp_clean_name(char *s);
/* Undo tlp_escape in place. */
void tlp_unescape(char *s);

/* ---------------------------------------------------------------- threads */

/* Threads OpenBLAS may use (1 for determinism in tests). */
void tlp_set_threads(int n);
int tlp_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
