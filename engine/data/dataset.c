/*
 * dataset.c: measure-record files -> tasks (workload key x hardware) with
 * compact records.
 *
 * Design.  Files are streamed line by line through a fixed buffer, so a file
 * of any size loads in bounded memory apart from what we keep.  What we keep
 * per record is small (tlp_rec, ~56 bytes) plus one 32-bit token id per kept
 * step: each distinct cropped step vector is stored once per feature mode in
 * a vocabulary (real data has a few thousand), so the features of a record are
 * L row copies.  The full record (for the token view) is re-read from its file
 * at (file, byte offset) on demand.  Strings (key, target, hardware) are kept
 * once per task.
 *
 * Hardware name: the user's NAME=PATH override, else the target's -model=,
 * else the name of the directory holding the file (TenSet lays files out as
 * measure_records/<platform>/NAME.json).
 */
#include "data/dataset_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


tlp_dataset *tlp_dataset_new(void)
{
    tlp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    tlp_record_init(&ds->scratch);
    return ds;
}

void tlp_dataset_free(tlp_dataset *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->n_files; i++) free(ds->files[i]);
    free(ds->files);
    for (size_t i = 0; i < ds->n_tasks; i++) {
        task_t *t = &ds->tasks[i];
        free(t->key);
        free(t->target);
        free(t->summary);
        free(t->idx);
    }
    free(ds->tasks);
    tlp__hmap_free(&ds->task_index);
    free(ds->recs);
    free(ds->toks);
    free(ds->segs);
    if (ds->map) munmap(ds->map, ds->map_len);
    free(ds->store_path);
    tlp__hmap_free(&ds->store_files);
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        free(ds->vocab[m].rows);
        tlp__hmap_free(&ds->vocab[m].index);
    }
    for (size_t i = 0; i < ds->n_hws; i++) free(ds->hw_names[i]);
    free(ds->hw_names);
    free(ds->hws);
    tlp__hmap_free(&ds->hw_index);
    for (size_t i = 0; i < ds->n_weights; i++) free(ds->weights[i].key);
    free(ds->weights);
    tlp__hmap_free(&ds->weight_index);
    for (size_t i = 0; i < ds->n_diags; i++) free(ds->diags[i].msg);
    free(ds->diags);
    tlp_record_free(&ds->scratch);
    free(ds->line);
    if (ds->stdin_copy) fclose(ds->stdin_copy);
    for (size_t i = 0; i < ds->n_inferred; i++) {
        free(ds->inferred[i].name), free(ds->inferred[i].root);
        free(ds->inferred[i].first_dir), free(ds->inferred[i].last_dir);
    }
    free(ds->inferred);
    free(ds);
}

/* ------------------------------------------------------------ lookups */

/* Hardware is keyed by (name, mode): a directory of mixed cpu and gpu files
 * with no -model= in their targets gives two hardware entries. */
typedef struct {
    const char *name;
    tlp_mode mode;
} hw_key;

static int eq_hw(const void *ctx, uint32_t i, const void *key)
{
    const tlp_dataset *ds = ctx;
    const hw_key *k = key;
    return ds->hws[i].mode == k->mode && strcmp(ds->hw_names[i], k->name) == 0;
}

long tlp__hw_get(tlp_dataset *ds, const char *name, tlp_mode mode)
{
    hw_key k = {name, mode};
    uint32_t h = tlp__hash(name, strlen(name)) + (uint32_t)mode;
    long i = tlp__hmap_find(&ds->hw_index, h, eq_hw, ds, &k);
    if (i >= 0) return i;
    size_t c1 = ds->cap_hws, c2 = ds->cap_hws;
    if (tlp__grow((void **)&ds->hws, &c1, ds->n_hws + 1, sizeof *ds->hws) ||
        tlp__grow((void **)&ds->hw_names, &c2, ds->n_hws + 1, sizeof *ds->hw_names))
        return -1;
    ds->cap_hws = c1 < c2 ? c1 : c2;
    char *copy = strdup(name);
    if (!copy) return -1;
    i = (long)ds->n_hws;
    ds->hw_names[i] = copy;
    memset(&ds->hws[i], 0, sizeof ds->hws[i]);
    ds->hws[i].mode = mode;
    if (tlp__hmap_add(&ds->hw_index, h, (uint32_t)i)) {
        free(copy);
        return -1;
    }
    ds->n_hws++;
    return i;
}

typedef struct {
    const char *key, *hardware;
    tlp_mode mode;
} task_key;

static int eq_task(const void *ctx, uint32_t i, const void *key)
{
    const tlp_dataset *ds = ctx;
    const task_key *k = key;
    return ds->tasks[i].mode == k->mode && strcmp(ds->tasks[i].key, k->key) == 0 &&
           strcmp(ds->tasks[i].hardware, k->hardware) == 0;
}

static uint32_t task_hash(const char *key, const char *hw)
{
    return tlp__hash(key, strlen(key)) ^ (tlp__hash(hw, strlen(hw)) * 0x9e3779b1u);
}

long tlp__task_get(tlp_dataset *ds, const char *key, const char *target, const char *hardware, tlp_mode mode)
{
    task_key k = {key, hardware, mode};
    uint32_t h = task_hash(key, hardware) + (uint32_t)mode;
    long i = tlp__hmap_find(&ds->task_index, h, eq_task, ds, &k);
    if (i >= 0) return i;
    long hw = tlp__hw_get(ds, hardware, mode);
    if (hw < 0) return -1;
    if (tlp__grow((void **)&ds->tasks, &ds->cap_tasks, ds->n_tasks + 1, sizeof *ds->tasks)) return -1;
    task_t *t = &ds->tasks[ds->n_tasks];
    memset(t, 0, sizeof *t);
    t->key = strdup(key);
    t->target = strdup(target);
    t->summary = tlp_workload_summary(key);
    t->hardware = ds->hw_names[hw];
    t->hw = (uint32_t)hw;
    t->mode = mode;
    if (!t->key || !t->target || !t->summary) {
        free(t->key);
        free(t->target);
        free(t->summary);
        return -1;
    }
    i = (long)ds->n_tasks;
    if (tlp__hmap_add(&ds->task_index, h, (uint32_t)i)) return -1;
    ds->n_tasks++;
    ds->hws[hw].n_tasks++;
    return i;
}

typedef struct {
    const vocab_t *v;
    int F;
} vocab_ctx;

static int eq_row(const void *ctx, uint32_t i, const void *key)
{
    const vocab_ctx *c = ctx;
    return memcmp(c->v->rows + (size_t)i * (size_t)c->F, key, sizeof(float) * (size_t)c->F) == 0;
}

long tlp__vocab_get(vocab_t *v, int F, const float *row)
{
    vocab_ctx c = {v, F};
    /* rows end in zero padding: hash up to the last non-zero slot */
    int used = F;
    while (used > 0 && row[used - 1] == 0) used--;
    uint32_t h = tlp__hash(row, sizeof(float) * (size_t)used);
    long i = tlp__hmap_find(&v->index, h, eq_row, &c, row);
    if (i >= 0) return i;
    if (v->n >= UINT32_MAX - 1) return -1;
    if (tlp__grow((void **)&v->rows, &v->cap, v->n + 1, sizeof(float) * (size_t)F)) return -1;
    memcpy(v->rows + v->n * (size_t)F, row, sizeof(float) * (size_t)F);
    if (tlp__hmap_add(&v->index, h, (uint32_t)v->n)) return -1;
    return (long)v->n++;
}

/* ------------------------------------------------------------ diagnostics */

/* Print (the first few) and keep (the first MAX_DIAGS) diagnostics; line 0
 * is about a whole file. */
void tlp__diag_keep(tlp_dataset *ds, size_t file, long line, tlp_status reason, const char *msg,
                    const tlp_load_opts *o)
{
    int max_print = o && o->max_printed ? o->max_printed : 20;
    if (!(o && o->quiet) && ds->printed < max_print) {
        if (line) fprintf(stderr, "%s:%ld: %s\n", ds->files[file], line, msg);
        else fprintf(stderr, "%s: %s\n", ds->files[file], msg);
        ds->printed++;
    }
    if (ds->n_diags >= MAX_DIAGS) return;
    if (tlp__grow((void **)&ds->diags, &ds->cap_diags, ds->n_diags + 1, sizeof *ds->diags)) return;
    diag_t *d = &ds->diags[ds->n_diags];
    d->msg = strdup(msg);
    if (!d->msg) return;
    d->file = file;
    d->line = line;
    d->reason = reason;
    ds->n_diags++;
}

/* A skipped line. */
static void diag(tlp_dataset *ds, size_t file, long line, tlp_status reason, const char *msg,
                 const tlp_load_opts *o)
{
    ds->n_skipped++;
    ds->skipped[reason]++;
    tlp__diag_keep(ds, file, line, reason, msg, o);
}

int tlp__add_file_name(tlp_dataset *ds, const char *name)
{
    char *copy = strdup(name);
    if (!copy || tlp__grow((void **)&ds->files, &ds->cap_files, ds->n_files + 1, sizeof *ds->files)) {
        free(copy);
        return -1;
    }
    ds->files[ds->n_files] = copy;
    return (int)ds->n_files++;
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
    tlp__diag_keep(ds, ds->n_files - 1, 0, TLP_IO, msg, o);
    return TLP_OK;
}

/* ------------------------------------------------------------ records */

static const char *model_of(const char *target, char *buf, size_t cap)
{
    const char *p = strstr(target, "-model=");
    if (!p) return NULL;
    p += 7;
    size_t n = strcspn(p, " ");
    if (n == 0) return NULL;
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

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

/* A name from a path must not break a TSV or reach a terminal raw. */
static void clean_name(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '_';
}

static tlp_status add_record(tlp_dataset *ds, const tlp_record *r, size_t file, long line,
                             uint64_t off, hw_name_t *name, tlp_error *err)
{
    char buf[128];
    const char *hw = name->given;
    if (!hw && (hw = model_of(r->target, buf, sizeof buf)) != NULL) clean_name(buf);
    if (!hw) {
        hw = name->path;
        name->used = 1;
    }
    long t = tlp__task_get(ds, r->workload_key, r->target, hw, tlp_mode_of_target(r->target));
    if (t < 0) return tlp_error_set(err, TLP_NOMEM, ds->files[file], line, "out of memory");
    task_t *task = &ds->tasks[t];
    tlp_mode m = task->mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    tlp_hw_stats *st = &ds->hws[task->hw];

    size_t live = ds->n_recs - ds->n_mapped;
    if (tlp__grow((void **)&ds->recs, &ds->cap_recs, live + 1, sizeof *ds->recs) ||
        tlp__grow((void **)&ds->toks, &ds->cap_toks, ds->n_toks + (size_t)L, sizeof *ds->toks))
        return tlp_error_set(err, TLP_NOMEM, ds->files[file], line, "out of memory");

    tlp_rec *rec = &ds->recs[live];
    memset(rec, 0, sizeof *rec);
    rec->cost = tlp_mean(r->costs, r->n_costs);
    double lo = r->costs[0], hi = r->costs[0];
    for (size_t i = 1; i < r->n_costs; i++) {
        if (r->costs[i] < lo) lo = r->costs[i];
        if (r->costs[i] > hi) hi = r->costs[i];
    }
    rec->cost_lo = (float)lo;
    rec->cost_hi = (float)hi;
    rec->byte_off = off;
    rec->tok_off = ds->n_toks;
    rec->line = (uint32_t)line;
    rec->file = (uint32_t)file;
    rec->task = (uint32_t)t;
    rec->n_steps = (uint16_t)(r->n_steps > 65535 ? 65535 : r->n_steps);
    rec->error_no = (uint8_t)r->error_no;
    rec->n_costs = (uint8_t)r->n_costs;

    float row[TLP_MAX_FEA];
    for (size_t i = 0; i < r->n_steps; i++) {
        tlp_step_info info;
        int keep = i < (size_t)L;
        memset(row, 0, sizeof row);
        tlp_step_vector(m, r, i, row, F, &info);
        st->kind_count[r->steps[i].kind]++;
        int nargs = info.n_full - TLP_ONEHOT;
        st->arg_count[nargs < TLP_HIST ? nargs : TLP_HIST - 1]++;
        if (info.kind_absent) st->kind_absent++;
        if (info.unknown_str) st->unknown_str++;
        if (info.kind_absent || info.unknown_str) rec->flags |= TLP_REC_UNKNOWN;
        if (!keep) continue;
        if (info.n_full > F) rec->flags |= TLP_REC_LOST_ARGS;
        vocab_t *v = &ds->vocab[m];
        long id;
        if (v->have_last[i] && memcmp(v->rows + (size_t)v->last[i] * (size_t)F, row, sizeof(float) * (size_t)F) == 0)
            id = v->last[i];
        else {
            id = tlp__vocab_get(v, F, row);
            if (id >= 0) {
                v->last[i] = (uint32_t)id;
                v->have_last[i] = 1;
            }
        }
        if (id < 0) return tlp_error_set(err, TLP_NOMEM, ds->files[file], line, "out of memory");
        ds->toks[ds->n_toks++] = (uint32_t)id;
        rec->n_tok++;
    }
    if (r->n_steps > (size_t)L) rec->flags |= TLP_REC_LOST_STEPS;
    tlp__hw_count(st, rec, L);
    ds->n_recs++;
    return TLP_OK;
}

void tlp__hw_count(tlp_hw_stats *st, const tlp_rec *rec, int L)
{
    if (rec->flags & TLP_REC_LOST_STEPS) {
        st->lost_steps++;
        st->steps_cropped += (uint64_t)(rec->n_steps - L);
    }
    if (rec->flags & TLP_REC_LOST_ARGS) st->lost_args++;
    st->seq_len[rec->n_steps < TLP_HIST ? rec->n_steps : TLP_HIST - 1]++;
    st->n_records++;
    if (rec->error_no == 0) st->n_valid++;
    st->error_no[rec->error_no < 15 ? rec->error_no : 15]++;
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
        size_t len = (size_t)n;
        while (len && s[len - 1] == '\r') len--;
        size_t lead = 0;
        while (lead < len && (s[lead] == ' ' || s[lead] == '\t')) lead++;
        if (lead == len) continue;                  /* blank */
        if (s[0] == '#' || s[0] == ' ') {           /* TVM's reader skips these */
            ds->n_comments++;
            continue;
        }
        tlp_error e = {0};
        tlp_status ps = tlp_record_parse(&ds->scratch, s, len, &e);
        if (ps == TLP_NOMEM) {
            status = tlp_error_set(err, TLP_NOMEM, path, lineno, "out of memory");
            break;
        }
        if (ps) {
            diag(ds, file, lineno, ps, e.msg, o);
            continue;
        }
        if (o && o->n_folds > 0) {
            int f_in = tlp_workload_fold(ds->scratch.workload_key, o->n_folds) == o->fold;
            if (f_in == (o->fold_except != 0)) { /* another fold's task */
                ds->n_other_folds++;
                continue;
            }
        }
        status = add_record(ds, &ds->scratch, file, lineno, here, hardware, err);
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
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot open: %s", strerror(errno));
    tlp_status s;
    if (tlp__is_store(fd))
        s = tlp__store_add(ds, fd, path, hardware->given, o, err);
    else if (ds->n_store_files && tlp__in_store(ds, path)) { /* packing a file twice: not an error, not kept */
        if (!(o && o->quiet)) fprintf(stderr, "%s: already in the store %s: skipped\n", path, ds->store_path);
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
            } else if (S_ISDIR(sb.st_mode)) {
                /* below the DATA directory, each top-level directory names its records */
                hw_name_t sub = *hardware;
                if (depth == 0) {
                    snprintf(sub.path, sizeof sub.path, "%s", names[i] + strlen(path) + !has_suffix(path, "/"));
                    clean_name(sub.path);
                }
                s = add_dir(ds, names[i], &sb, &sub, o, err, w, depth + 1);
            }
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

tlp_status tlp_dataset_add_path(tlp_dataset *ds, const char *path, const char *hardware,
                                const tlp_load_opts *opts, tlp_error *err)
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
        clean_name(name.path);
        walk_t w = {NULL, 0, 0};
        tlp_status s = add_dir(ds, path, &sb, &name, opts, err, &w, 0);
        free(w.seen);
        return s;
    }
    if (!S_ISREG(sb.st_mode))
        return tlp_error_set(err, TLP_IO, path, 0, "%s, not a record file or a directory (- reads standard input)",
                             tlp__file_kind(sb.st_mode));
    /* a file: its directory names it */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = 0;
    else snprintf(dir, sizeof dir, ".");
    real_base(dir, name.path, sizeof name.path);
    clean_name(name.path);
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

/* ------------------------------------------------------------ finishing */

static int eq_weight(const void *ctx, uint32_t i, const void *key)
{
    const tlp_dataset *ds = ctx;
    return strcmp(ds->weights[i].key, key) == 0;
}

static double weight_of(const tlp_dataset *ds, const char *key)
{
    long i = tlp__hmap_find(&ds->weight_index, tlp__hash(key, strlen(key)), eq_weight, ds, key);
    return i >= 0 ? ds->weights[i].weight : 1.0;
}

/* Give back what doubling over-allocated; the arrays grow again if more
 * paths are added. */
static void shrink(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n == 0 || n == *cap) return;
    void *q = realloc(*p, n * elem);
    if (!q) return;
    *p = q;
    *cap = n;
}

tlp_status tlp_dataset_finish(tlp_dataset *ds, tlp_error *err)
{
    shrink((void **)&ds->recs, &ds->cap_recs, ds->n_recs - ds->n_mapped, sizeof *ds->recs);
    shrink((void **)&ds->toks, &ds->cap_toks, ds->n_toks, sizeof *ds->toks);
    for (int m = 0; m < TLP_MODE_COUNT; m++)
        shrink((void **)&ds->vocab[m].rows, &ds->vocab[m].cap, ds->vocab[m].n, sizeof(float) * (size_t)tlp_mode_fea((tlp_mode)m));
    for (size_t t = 0; t < ds->n_tasks; t++) {
        task_t *task = &ds->tasks[t];
        task->n_idx = 0;
        task->pub.min_cost = MIN_COST_INIT;
        task->pub.best_valid = INFINITY;
        task->pub.n_valid = 0;
    }
    for (size_t i = 0; i < ds->n_recs; i++) ds->tasks[tlp__rec_at(ds, i)->task].n_idx++;
    for (size_t t = 0; t < ds->n_tasks; t++) {
        task_t *task = &ds->tasks[t];
        free(task->idx);
        task->idx = malloc(sizeof *task->idx * (task->n_idx ? task->n_idx : 1));
        if (!task->idx) return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        task->n_idx = 0;
    }
    for (size_t i = 0; i < ds->n_recs; i++) {
        const tlp_rec *r = tlp__rec_at(ds, i);
        task_t *task = &ds->tasks[r->task];
        task->idx[task->n_idx++] = (uint32_t)i;
        if (r->cost < task->pub.min_cost) task->pub.min_cost = r->cost;
        if (r->error_no == 0) {
            task->pub.n_valid++;
            if (r->cost < task->pub.best_valid) task->pub.best_valid = r->cost;
        }
    }
    for (size_t t = 0; t < ds->n_tasks; t++) {
        task_t *task = &ds->tasks[t];
        task->pub.workload_key = task->key;
        task->pub.hardware = task->hardware;
        task->pub.target = task->target;
        task->pub.summary = task->summary;
        task->pub.mode = task->mode;
        task->pub.n_records = task->n_idx;
        task->pub.records = task->idx;
        task->pub.weight = weight_of(ds, task->key);
    }
    return TLP_OK;
}

tlp_status tlp_dataset_load_weights(tlp_dataset *ds, const char *path, tlp_error *err)
{
    FILE *f = tlp_fopen_regular(path);
    if (!f) return tlp_error_set(err, TLP_NOT_FOUND, path, 0, "cannot open: %s", tlp_fopen_why(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int key_col = 0, w_col = 1;
    tlp_status s = TLP_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0 || line[0] == '#') continue;
        char *cols[64];
        int nc = 0;
        for (char *p = line; nc < 64;) {
            cols[nc++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        if (lineno == 1) {
            int kc = -1, wc = -1;
            for (int i = 0; i < nc; i++) {
                if (strcmp(cols[i], "workload_key") == 0) kc = i;
                if (strcmp(cols[i], "weight") == 0) wc = i;
            }
            if (kc >= 0 && wc >= 0) {
                key_col = kc;
                w_col = wc;
                continue;
            }
        }
        int need = key_col > w_col ? key_col : w_col;
        if (nc <= need) {
            s = tlp_error_set(err, TLP_LAYOUT, path, lineno, "expected at least %d tab-separated columns", need + 1);
            break;
        }
        char *end;
        errno = 0;
        double w = strtod(cols[w_col], &end);
        if (end == cols[w_col] || *end || errno || !isfinite(w) || w < 0 || w > 1e9) {
            s = tlp_error_set(err, TLP_NUMBER, path, lineno, "weight \"%.40s\" is not a number in 0..1e9",
                              cols[w_col]);
            break;
        }
        const char *key = cols[key_col];
        uint32_t h = tlp__hash(key, strlen(key));
        long i = tlp__hmap_find(&ds->weight_index, h, eq_weight, ds, key);
        if (i >= 0) {
            ds->weights[i].weight += w;
            continue;
        }
        if (tlp__grow((void **)&ds->weights, &ds->cap_weights, ds->n_weights + 1, sizeof *ds->weights)) {
            s = tlp_error_set(err, TLP_NOMEM, path, lineno, "out of memory");
            break;
        }
        ds->weights[ds->n_weights].key = strdup(key);
        ds->weights[ds->n_weights].weight = w;
        if (!ds->weights[ds->n_weights].key || tlp__hmap_add(&ds->weight_index, h, (uint32_t)ds->n_weights)) {
            s = tlp_error_set(err, TLP_NOMEM, path, lineno, "out of memory");
            break;
        }
        ds->n_weights++;
    }
    free(line);
    fclose(f);
    if (s == TLP_OK)
        for (size_t t = 0; t < ds->n_tasks; t++) ds->tasks[t].pub.weight = weight_of(ds, ds->tasks[t].key);
    return s;
}

/* ------------------------------------------------------------ accessors */

size_t tlp_dataset_n_tasks(const tlp_dataset *ds) { return ds->n_tasks; }
size_t tlp_dataset_n_records(const tlp_dataset *ds) { return ds->n_recs; }
size_t tlp_dataset_n_files(const tlp_dataset *ds) { return ds->n_files; }
const char *tlp_dataset_file(const tlp_dataset *ds, size_t i) { return i < ds->n_files ? ds->files[i] : NULL; }
const tlp_task *tlp_dataset_task(const tlp_dataset *ds, size_t i) { return i < ds->n_tasks ? &ds->tasks[i].pub : NULL; }
const tlp_rec *tlp_dataset_rec(const tlp_dataset *ds, size_t i) { return i < ds->n_recs ? tlp__rec_at(ds, i) : NULL; }
size_t tlp_dataset_n_hw(const tlp_dataset *ds) { return ds->n_hws; }

const tlp_hw_stats *tlp_dataset_hw(const tlp_dataset *ds, size_t i)
{
    if (i >= ds->n_hws) return NULL;
    ds->hws[i].hardware = ds->hw_names[i];
    return &ds->hws[i];
}

long tlp_dataset_find_task(const tlp_dataset *ds, const char *key)
{
    for (size_t t = 0; t < ds->n_tasks; t++)
        if (strcmp(ds->tasks[t].key, key) == 0 || strcmp(ds->tasks[t].summary, key) == 0) return (long)t;
    return -1;
}

const uint32_t *tlp__dataset_tokens(const tlp_dataset *ds, size_t i, int *n)
{
    const uint32_t *toks;
    *n = tlp__rec_toks(ds, i, &toks)->n_tok;
    return toks;
}

double tlp_dataset_label(const tlp_dataset *ds, size_t i)
{
    const tlp_rec *r = tlp__rec_at(ds, i);
    return ds->tasks[r->task].pub.min_cost / r->cost;
}

void tlp_dataset_features(const tlp_dataset *ds, size_t i, float *out)
{
    const uint32_t *toks;
    const tlp_rec *r = tlp__rec_toks(ds, i, &toks);
    tlp_mode m = ds->tasks[r->task].mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    const vocab_t *v = &ds->vocab[m];
    size_t k = 0;
    for (; k < r->n_tok; k++)
        memcpy(out + k * (size_t)F, v->rows + (size_t)toks[k] * (size_t)F, sizeof(float) * (size_t)F);
    memset(out + k * (size_t)F, 0, sizeof(float) * (size_t)F * ((size_t)L - k));
}

tlp_status tlp_dataset_read_record(const tlp_dataset *ds, size_t i, tlp_record *r, tlp_error *err)
{
    if (i >= ds->n_recs) return tlp_error_set(err, TLP_ARG, NULL, 0, "no record %zu", i);
    const tlp_rec *rec = tlp__rec_at(ds, i);
    const char *path = ds->files[rec->file];
    if (!strcmp(path, "-") && !ds->stdin_copy)
        return tlp_error_set(err, TLP_IO, path, rec->line, "a record packed from standard input: its text was not kept");
    int is_stdin = !strcmp(path, "-") && ds->stdin_copy;
    int fd = is_stdin ? dup(fileno(ds->stdin_copy)) : open(path, O_RDONLY);
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, rec->line, "cannot reopen: %s", strerror(errno));
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
        char chunk[65536];
        for (;;) {
            if (!gzgets(g, chunk, sizeof chunk)) break;
            size_t n = strlen(chunk);
            if (tlp__grow((void **)&line, &cap, len + n + 1, 1)) {
                s = tlp_error_set(err, TLP_NOMEM, path, rec->line, "out of memory");
                break;
            }
            memcpy(line + len, chunk, n + 1);
            len += n;
            if (len && line[len - 1] == '\n') break;
            if (len > MAX_LINE) break;
        }
        if (s == TLP_OK && !len) s = tlp_error_set(err, TLP_IO, path, rec->line, "cannot read the line again (file changed?)");
    }
    if (s == TLP_OK) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        tlp_error e = {0};
        s = tlp_record_parse(r, line, len, &e);
        if (s) s = tlp_error_set(err, s, path, rec->line, "%s (file changed since loading?)", e.msg);
    }
    free(line);
    gzclose(g);
    return s;
}

uint64_t tlp_dataset_n_skipped_files(const tlp_dataset *ds) { return ds->n_skipped_files; }
uint64_t tlp_dataset_n_skipped(const tlp_dataset *ds) { return ds->n_skipped; }
uint64_t tlp_dataset_skipped_by(const tlp_dataset *ds, tlp_status r) { return (unsigned)r < TLP_STATUS_COUNT ? ds->skipped[r] : 0; }
uint64_t tlp_dataset_n_comments(const tlp_dataset *ds) { return ds->n_comments; }
uint64_t tlp_dataset_n_other_folds(const tlp_dataset *ds) { return ds->n_other_folds; }
size_t tlp_dataset_n_diags(const tlp_dataset *ds) { return ds->n_diags; }

tlp_diag tlp_dataset_diag(const tlp_dataset *ds, size_t i)
{
    tlp_diag d = {0};
    if (i >= ds->n_diags) return d;
    d.file = ds->files[ds->diags[i].file];
    d.line = ds->diags[i].line;
    d.reason = ds->diags[i].reason;
    d.msg = ds->diags[i].msg;
    return d;
}

uint64_t tlp_dataset_bytes_read(const tlp_dataset *ds) { return ds->bytes_read; }

size_t tlp_dataset_bytes(const tlp_dataset *ds)
{
    size_t b = sizeof *ds + ds->map_len + ds->n_segs * sizeof *ds->segs;
    b += ds->cap_recs * sizeof *ds->recs + ds->cap_toks * sizeof *ds->toks;
    b += ds->cap_tasks * sizeof *ds->tasks + tlp__hmap_bytes(&ds->task_index);
    for (size_t t = 0; t < ds->n_tasks; t++) {
        const task_t *task = &ds->tasks[t];
        b += strlen(task->key) + strlen(task->target) + strlen(task->summary) + 3;
        b += (task->n_idx ? task->n_idx : 1) * sizeof(uint32_t);
    }
    for (int m = 0; m < TLP_MODE_COUNT; m++)
        b += ds->vocab[m].cap * sizeof(float) * (size_t)tlp_mode_fea((tlp_mode)m) + tlp__hmap_bytes(&ds->vocab[m].index);
    b += ds->cap_files * sizeof(char *);
    for (size_t i = 0; i < ds->n_files; i++) b += strlen(ds->files[i]) + 1;
    b += ds->cap_hws * (sizeof *ds->hws + sizeof(char *)) + tlp__hmap_bytes(&ds->hw_index);
    b += ds->cap_diags * sizeof *ds->diags;
    for (size_t i = 0; i < ds->n_diags; i++) b += strlen(ds->diags[i].msg) + 1;
    b += ds->cap_weights * sizeof *ds->weights + tlp__hmap_bytes(&ds->weight_index);
    return b;
}
