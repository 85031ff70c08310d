/*
 * store.c: the packed store, a dataset's records parsed once and mapped
 * from then on.
 *
 * Layout (native byte order; the header says which, and a store of another
 * order, version or record layout is refused):
 *
 *   header   64 bytes at offset 0: magic "TLPXPACK", version, byte-order mark,
 *            sizeof(tlp_rec), step kinds, segments, committed length, the
 *            last segment's footer, records, hardware per mode, CRC-32 of
 *            the header
 *   segment  records   tlp_rec[n]      (tok_off relative to the segment)
 *            tokens    uint32_t[m]     (ids into the vocabulary), padded to 8
 *            tables    the whole dataset's tables after this segment: files,
 *                      counters, hardware and their statistics, tasks, the
 *                      vocabulary of each mode, diagnostics; padded to 8
 *            footer    magic "TLPXSEG1", the previous footer, offsets and
 *                      counts, a CRC-32 of each part and of itself
 *
 * Appending writes a new segment past the committed length, syncs it, then
 * rewrites the header (one small write) to commit it, and syncs again.  A
 * crash before the header is written leaves the store as it was; the bytes
 * past the committed length are ignored and overwritten by the next append.
 *
 * Opening reads the committed bytes into memory of their own (read_image:
 * not a mapping of the file, which another program could cut short under
 * it), checks the header, walks the footers, checks every CRC and every
 * record's references (task, file, tokens), and loads the last segment's
 * tables into the dataset; the records and tokens are used in place in that
 * image, never parsed again ("mapped" below means this).  When the dataset already holds records, or a fold filter or a
 * hardware rename needs them changed, the records are copied instead, each
 * reference remapped.
 */
#include "data/dataset_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(tlp_rec) == 56, "tlp_rec is mapped from stores as it is: 56 bytes, no padding");

#define STORE_MAGIC "TLPXPACK"
#define SEG_MAGIC "TLPXSEG1"
/* version 2 keeps the tokens of a record's first TLP_MAX_STEPS steps (a
 * model of any crop, --steps), version 1 TLP's crop's only; both read, and
 * an append makes a store version 2 */
#define STORE_VERSION 2u
#define STORE_VERSION_OLDEST 1u
#define BYTE_ORDER_MARK 0x01020304u
#define HEADER_SIZE 64
#define TABLES_MAGIC 0x4c424154u /* "TABL" */

typedef struct {
    char magic[8];
    uint32_t version, order, rec_size, step_kinds;
    uint32_t n_segs, pad;
    uint64_t committed, last_footer, n_recs;
    uint16_t n_hw[TLP_MODE_COUNT]; /* hardware of each mode: a rename of several into one copies */
    uint32_t crc;                  /* CRC-32 of the bytes before it */
} store_header;
_Static_assert(sizeof(store_header) <= HEADER_SIZE, "header fits");

typedef struct {
    char magic[8];
    uint64_t prev; /* offset of the previous footer, 0 for the first segment */
    uint64_t recs_off, n_recs, toks_off, n_toks, tables_off, tables_len;
    uint32_t crc_recs, crc_toks, crc_tables, crc;
} seg_footer;

static uint32_t crc_of(uint32_t crc, const void *p, size_t n)
{
    return (uint32_t)crc32_z(crc, p, n);
}

/* ------------------------------------------------------------ tables */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
    if (b->oom || n == 0) return; /* p may be NULL then (an empty vocabulary) */
    if (tlp__grow((void **)&b->p, &b->cap, b->n + n, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void put32(buf_t *b, uint32_t v) { put(b, &v, 4); }
static void put64(buf_t *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf_t *b, const char *s)
{
    size_t n = strlen(s);
    put32(b, (uint32_t)n);
    put(b, s, n);
}
static void put_u64s(buf_t *b, const uint64_t *v, size_t n) { put(b, v, n * 8); }

/* A file's name as the store keeps it: its absolute path, so the token view
 * re-reads it from any directory. */
static void put_file(buf_t *b, const char *path)
{
    char *rp = strcmp(path, "-") ? realpath(path, NULL) : NULL;
    put_str(b, rp ? rp : path);
    free(rp);
}

static void put_tables(buf_t *b, const tlp_dataset *ds)
{
    put32(b, TABLES_MAGIC);
    put32(b, (uint32_t)ds->n_files);
    for (size_t i = 0; i < ds->n_files; i++) {
        if (i < ds->n_store_files) put_str(b, ds->files[i]); /* already absolute */
        else put_file(b, ds->files[i]);
    }
    put64(b, ds->n_skipped), put64(b, ds->n_comments), put64(b, ds->bytes_read);
    put64(b, ds->n_skipped_files), put64(b, ds->n_other_folds);
    put32(b, TLP_STATUS_COUNT);
    put_u64s(b, ds->skipped, TLP_STATUS_COUNT);
    put32(b, (uint32_t)ds->n_hws);
    for (size_t h = 0; h < ds->n_hws; h++) {
        const tlp_hw_stats *s = &ds->hws[h];
        put_str(b, ds->hw_names[h]);
        put32(b, (uint32_t)s->mode), put32(b, s->n_tasks);
        put64(b, s->n_records), put64(b, s->n_valid);
        put_u64s(b, s->error_no, 16);
        put_u64s(b, s->kind_count, TLP_STEP_COUNT);
        put_u64s(b, s->seq_len, TLP_HIST);
        put_u64s(b, s->arg_count, TLP_HIST);
        put64(b, s->lost_steps), put64(b, s->lost_args), put64(b, s->steps_cropped);
        put64(b, s->kind_absent), put64(b, s->unknown_str), put64(b, s->uncounted);
    }
    put32(b, (uint32_t)ds->n_tasks);
    for (size_t t = 0; t < ds->n_tasks; t++) {
        put_str(b, ds->tasks[t].key);
        put_str(b, ds->tasks[t].target);
        put32(b, ds->tasks[t].hw);
        put32(b, (uint32_t)ds->tasks[t].mode);
    }
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        int F = tlp_mode_fea((tlp_mode)m);
        put32(b, (uint32_t)F);
        put32(b, (uint32_t)ds->vocab[m].n);
        put(b, ds->vocab[m].rows, ds->vocab[m].n * (size_t)F * sizeof(float));
    }
    put32(b, (uint32_t)ds->n_diags);
    for (size_t i = 0; i < ds->n_diags; i++) {
        put32(b, (uint32_t)ds->diags[i].file);
        put64(b, (uint64_t)ds->diags[i].line);
        put32(b, (uint32_t)ds->diags[i].reason);
        put_str(b, ds->diags[i].msg);
    }
}

typedef struct {
    const unsigned char *p;
    size_t n, at;
    int bad;
} cur_t;

static int get(cur_t *c, void *out, size_t n)
{
    if (c->bad || n > c->n - c->at) {
        c->bad = 1;
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, c->p + c->at, n);
    c->at += n;
    return 0;
}
static uint32_t get32(cur_t *c)
{
    uint32_t v;
    get(c, &v, 4);
    return v;
}
static uint64_t get64(cur_t *c)
{
    uint64_t v;
    get(c, &v, 8);
    return v;
}
/* A string, malloc'd (NULL when the tables end early or out of memory). */
static char *get_str(cur_t *c)
{
    uint32_t n = get32(c);
    if (c->bad || n > c->n - c->at) {
        c->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        c->bad = 2;
        return NULL;
    }
    memcpy(s, c->p + c->at, n);
    s[n] = 0;
    c->at += n;
    return s;
}

static int eq_file(const void *ctx, uint32_t i, const void *key)
{
    const tlp_dataset *ds = ctx;
    return strcmp(ds->files[i], key) == 0;
}

int tlp__in_store(const tlp_dataset *ds, const char *path)
{
    char *rp = realpath(path, NULL);
    if (!rp) return 0;
    long i = tlp__hmap_find(&ds->store_files, tlp__hash(rp, strlen(rp)), eq_file, ds, rp);
    free(rp);
    return i >= 0 && (size_t)i < ds->n_store_files;
}

/* Load the tables into an empty ds (hardware renamed to `rename` when not
 * NULL).  Returns a reason when they are damaged, NULL when fine.  Long: it
 * reads the tables in the order put_tables writes them, one after the
 * other, so the two can be read side by side. */
static const char *load_tables(tlp_dataset *ds, cur_t *c, const char *rename, size_t *n_files)
{
    if (get32(c) != TABLES_MAGIC) return "the tables of the last segment are damaged";
    uint32_t nf = get32(c);
    if (c->bad || nf > c->n) return "the file table is damaged";
    for (uint32_t i = 0; i < nf; i++) {
        char *s = get_str(c);
        if (!s) return c->bad == 2 ? "out of memory" : "the file table is damaged";
        int k = tlp__add_file_name(ds, s);
        free(s);
        if (k < 0) return "out of memory";
        if (tlp__hmap_add(&ds->store_files, tlp__hash(ds->files[k], strlen(ds->files[k])), (uint32_t)k))
            return "out of memory";
    }
    *n_files = nf;
    ds->n_skipped = get64(c), ds->n_comments = get64(c), ds->bytes_read = get64(c);
    ds->n_skipped_files = get64(c), ds->n_other_folds = get64(c);
    if (get32(c) != TLP_STATUS_COUNT) return "the store counts statuses differently (another version of tlpx)";
    for (int s = 0; s < TLP_STATUS_COUNT; s++) ds->skipped[s] = get64(c);
    uint32_t nh = get32(c);
    if (c->bad || nh > 65536) return "the hardware table is damaged";
    tlp_hw_stats *stats = calloc(nh ? nh : 1, sizeof *stats);
    if (!stats) return "out of memory";
    const char *why = NULL;
    for (uint32_t h = 0; h < nh && !why; h++) {
        char *name = get_str(c);
        tlp_hw_stats *s = &stats[h];
        uint32_t mode = get32(c);
        s->n_tasks = get32(c);
        s->n_records = get64(c), s->n_valid = get64(c);
        get(c, s->error_no, sizeof s->error_no);
        get(c, s->kind_count, sizeof s->kind_count);
        get(c, s->seq_len, sizeof s->seq_len);
        get(c, s->arg_count, sizeof s->arg_count);
        s->lost_steps = get64(c), s->lost_args = get64(c), s->steps_cropped = get64(c);
        s->kind_absent = get64(c), s->unknown_str = get64(c), s->uncounted = get64(c);
        if (name) tlp_clean_name(name); /* a store of an older tlpx, or written by hand: names made safe */
        if (!name || c->bad || mode >= TLP_MODE_COUNT) why = "the hardware table is damaged";
        else if (tlp__hw_get(ds, rename ? rename : name, (tlp_mode)mode) != (long)h)
            why = "the hardware table names one hardware twice";
        s->mode = (tlp_mode)mode;
        free(name);
    }
    uint32_t nt = why ? 0 : get32(c);
    if (!why && (c->bad || nt > c->n)) why = "the task table is damaged";
    for (uint32_t t = 0; t < nt && !why; t++) {
        char *key = get_str(c), *target = get_str(c);
        uint32_t hw = get32(c), mode = get32(c);
        if (!key || !target || c->bad || hw >= nh || mode != (uint32_t)stats[hw].mode)
            why = c->bad == 2 ? "out of memory" : "the task table is damaged";
        else if (tlp__task_get(ds, key, target, ds->hw_names[hw], (tlp_mode)mode) != (long)t)
            why = "the task table lists one task twice";
        free(key), free(target);
    }
    if (!why)
        for (uint32_t h = 0; h < nh; h++) ds->hws[h] = stats[h]; /* n_tasks included */
    free(stats);
    if (why) return why;
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        int F = tlp_mode_fea((tlp_mode)m);
        uint32_t f = get32(c), n = get32(c);
        if (c->bad || f != (uint32_t)F) return "the vocabulary is damaged (or of another feature layout)";
        if ((uint64_t)n * (uint64_t)F * sizeof(float) > c->n - c->at) return "the vocabulary is damaged";
        float row[TLP_MAX_FEA];
        for (uint32_t r = 0; r < n; r++) {
            memcpy(row, c->p + c->at + (size_t)r * (size_t)F * sizeof(float), sizeof(float) * (size_t)F);
            if (tlp__vocab_get(&ds->vocab[m], F, row) != (long)r) return "the vocabulary lists one row twice";
        }
        c->at += (size_t)n * (size_t)F * sizeof(float);
    }
    uint32_t nd = get32(c);
    if (c->bad || nd > c->n) return "the diagnostics are damaged";
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t file = get32(c);
        uint64_t line = get64(c);
        uint32_t reason = get32(c);
        char *msg = get_str(c);
        if (!msg || file >= nf || reason >= TLP_STATUS_COUNT || line > LONG_MAX) {
            free(msg);
            return "the diagnostics are damaged";
        }
        tlp__diag_keep(ds, file, (long)line, (tlp_status)reason, msg);
        free(msg);
    }
    if (c->at != c->n) return "the tables have bytes past their end";
    return NULL;
}

/* ------------------------------------------------------------ opening */

int tlp__is_store(int fd)
{
    store_header h;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    if (n >= 8 && memcmp(h.magic, STORE_MAGIC, 8) == 0) return 1;
    /* a store whose first bytes were damaged: the rest of its header still
     * says so (no record file starts with these binary fields) */
    return n == (ssize_t)sizeof h && h.order == BYTE_ORDER_MARK && h.rec_size == sizeof(tlp_rec);
}

static tlp_status damaged(tlp_error *err, const char *path, const char *why)
{
    return tlp_error_set(err, TLP_FORMAT, path, 0, "a damaged store: %s", why);
}

/* Check the header of the store in fd; fills h. */
static tlp_status read_header(int fd, const char *path, store_header *h, uint64_t *file_len, tlp_error *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot stat: %s", strerror(errno));
    *file_len = (uint64_t)sb.st_size;
    if (pread(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h) return damaged(err, path, "the header is cut short");
    if (memcmp(h->magic, STORE_MAGIC, 8) != 0) return damaged(err, path, "its first bytes (the magic) are wrong");
    if (h->order == __builtin_bswap32(BYTE_ORDER_MARK))
        return tlp_error_set(err, TLP_FORMAT, path, 0, "a store written on a machine of another byte order");
    /* the checksum first: a flipped byte in the version or the order is damage, not another format */
    if (tlp__sum_differs(h->crc, crc_of(0, h, offsetof(store_header, crc)))) {
        if (h->version < STORE_VERSION_OLDEST || h->version > STORE_VERSION)
            return tlp_error_set(err, TLP_FORMAT, path, 0,
                                 "a damaged store (or one written by a newer tlpx): the header's checksum is wrong "
                                 "and its version field reads %u (this tlpx reads versions %u to %u)", h->version,
                                 STORE_VERSION_OLDEST, STORE_VERSION);
        return damaged(err, path, "the header's checksum is wrong");
    }
    if (h->order != BYTE_ORDER_MARK) return damaged(err, path, "the byte-order mark is wrong");
    if (h->version < STORE_VERSION_OLDEST || h->version > STORE_VERSION)
        return tlp_error_set(err, TLP_FORMAT, path, 0,
                             "a store of format version %u; this tlpx reads versions %u to %u (pack the records again)",
                             h->version, STORE_VERSION_OLDEST, STORE_VERSION);
    if (h->rec_size != sizeof(tlp_rec) || h->step_kinds != TLP_STEP_COUNT)
        return tlp_error_set(err, TLP_FORMAT, path, 0,
                             "a store of another record layout (%u-byte records, %u step kinds; this tlpx: %zu, %d)",
                             h->rec_size, h->step_kinds, sizeof(tlp_rec), TLP_STEP_COUNT);
    if (h->committed > *file_len)
        return damaged(err, path, "the file is shorter than its header says (truncated?)");
    if (h->n_segs == 0 || h->committed < HEADER_SIZE + sizeof(seg_footer) || h->last_footer < HEADER_SIZE ||
        h->last_footer != h->committed - sizeof(seg_footer))
        return damaged(err, path, "the header points outside the file");
    return TLP_OK;
}

/* Walk, check and collect the segments of the mapped store. */
static tlp_status read_segments(const unsigned char *base, const store_header *h, const char *path,
                                seg_footer *ft, tlp_error *err)
{
    uint64_t at = h->last_footer, limit = h->committed;
    for (uint32_t k = h->n_segs; k-- > 0;) {
        if (at < HEADER_SIZE || at + sizeof(seg_footer) > limit || at % 8)
            return damaged(err, path, "a segment footer lies outside the file");
        seg_footer *f = &ft[k];
        memcpy(f, base + at, sizeof *f);
        if (memcmp(f->magic, SEG_MAGIC, 8) != 0 || tlp__sum_differs(f->crc, crc_of(0, f, offsetof(seg_footer, crc))))
            return damaged(err, path, "a segment footer is damaged");
        /* each part starts inside the segment and fits in what lies before the footer, compared
         * without sums that could wrap (a store is checked as if written by an adversary) */
        int outside = f->recs_off < HEADER_SIZE || f->recs_off > at || f->n_recs > (at - f->recs_off) / sizeof(tlp_rec);
        uint64_t recs_end = outside ? 0 : f->recs_off + f->n_recs * sizeof(tlp_rec);
        outside = outside || f->toks_off < recs_end || f->toks_off > at || f->n_toks > (at - f->toks_off) / 4;
        uint64_t toks_end = outside ? 0 : f->toks_off + f->n_toks * sizeof(uint32_t);
        outside = outside || f->tables_off < toks_end || f->tables_off > at || f->tables_len > at - f->tables_off;
        if (outside || f->recs_off % 8 || f->toks_off % 4 || f->tables_off % 8 ||
            (k > 0 && f->prev >= f->recs_off) || (k == 0 && f->prev != 0))
            return damaged(err, path, "a segment's parts overlap or lie outside it");
        if (tlp__sum_differs(f->crc_recs, crc_of(0, base + f->recs_off, f->n_recs * sizeof(tlp_rec))))
            return damaged(err, path, "the records' checksum is wrong");
        if (tlp__sum_differs(f->crc_toks, crc_of(0, base + f->toks_off, f->n_toks * sizeof(uint32_t))))
            return damaged(err, path, "the tokens' checksum is wrong");
        if (tlp__sum_differs(f->crc_tables, crc_of(0, base + f->tables_off, f->tables_len)))
            return damaged(err, path, "the tables' checksum is wrong");
        limit = f->recs_off;
        at = f->prev;
    }
    return TLP_OK;
}

/* Every record's references are in range: a store that passed its checksums
 * but was written wrong is refused here, not read out of bounds later. */
static const char *check_records(const tlp_dataset *ds, const seg_t *s)
{
    for (size_t i = 0; i < s->n_recs; i++) {
        const tlp_rec *r = &s->recs[i];
        if (r->task >= ds->n_tasks || r->file >= ds->n_files) return "a record names a task or file it lacks";
        tlp_mode m = ds->tasks[r->task].mode;
        if (r->n_tok > TLP_MAX_STEPS || r->n_tok > r->n_steps || r->tok_off > s->n_toks ||
            r->n_tok > s->n_toks - r->tok_off)
            return "a record's tokens lie outside its segment";
        const uint32_t *t = s->toks + r->tok_off;
        for (int k = 0; k < r->n_tok; k++)
            if (t[k] >= ds->vocab[m].n) return "a record's token is not in the vocabulary";
        if (!(r->cost > 0) || r->cost > 1e10) return "a record's cost is not in (0, 1e10] s";
    }
    return NULL;
}

/* The hardware of each mode in ds's tables: the header's n_hw. */
static void count_hw(const tlp_dataset *ds, uint16_t n_hw[TLP_MODE_COUNT])
{
    memset(n_hw, 0, sizeof(uint16_t) * TLP_MODE_COUNT);
    for (size_t k = 0; k < ds->n_hws; k++) n_hw[ds->hws[k].mode]++;
}

/* The store's committed bytes, read into memory of their own (made read-only
 * after).  Not mmap'ed from the file: a mapping dies of SIGBUS when another
 * program cuts the file short under it (truncate, an editor, a copy over
 * it), taking an unsaved training with it; a copy only costs its reading
 * (opening checks the CRC of every byte anyway: bench/store.sh). */
static tlp_status read_image(int fd, const char *path, size_t len, void **out, tlp_error *err)
{
    /* on a 2 MiB boundary (the slack unmapped), so the kernel can back it with huge pages: filling
     * 4 KiB pages one fault at a time was most of the opening of a large store */
    const size_t huge = (size_t)2 << 20;
    if (len > SIZE_MAX - huge) return tlp_error_set(err, TLP_NOMEM, path, 0, "too large to read into memory");
    char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory (%zu bytes)", len);
    char *map = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    size_t page = (size_t)sysconf(_SC_PAGESIZE), end = ((size_t)(map - raw) + len + page - 1) / page * page;
    if (map > raw) munmap(raw, (size_t)(map - raw));
    if (end < len + huge) munmap(raw + end, len + huge - end);
#ifdef MADV_HUGEPAGE
    madvise(map, len, MADV_HUGEPAGE);
#endif
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, map + got, len - got > (1u << 24) ? (1u << 24) : len - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            munmap(map, len);
            if (n == 0) return damaged(err, path, "the file was cut short while it was read");
            return tlp_error_set(err, TLP_IO, path, 0, "read error: %s", strerror(e));
        }
        got += (size_t)n;
    }
    mprotect(map, len, PROT_READ);
    *out = map;
    return TLP_OK;
}

/* Read the store (its header h already checked by read_header) into an
 * empty ds. */
static tlp_status map_store(tlp_dataset *ds, int fd, const char *path, const store_header *hp, const char *rename,
                            tlp_error *err)
{
    const store_header h = *hp;
    tlp_status st = TLP_OK;
    if (h.committed > SIZE_MAX) return tlp_error_set(err, TLP_NOMEM, path, 0, "too large to read into memory");
    if (h.n_segs > h.committed / sizeof(seg_footer)) return damaged(err, path, "the header counts too many segments");
    void *map = NULL;
    st = read_image(fd, path, (size_t)h.committed, &map, err);
    if (st) return st;
    const unsigned char *base = map;
    seg_footer *ft = calloc(h.n_segs, sizeof *ft);
    seg_t *segs = calloc(h.n_segs, sizeof *segs);
    if (!ft || !segs) {
        free(ft), free(segs);
        munmap(map, (size_t)h.committed);
        return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    }
    st = read_segments(base, &h, path, ft, err);
    size_t first = 0;
    for (uint32_t k = 0; k < h.n_segs && !st; k++) {
        segs[k].recs = (const tlp_rec *)(base + ft[k].recs_off);
        segs[k].toks = (const uint32_t *)(base + ft[k].toks_off);
        segs[k].n_recs = (size_t)ft[k].n_recs;
        segs[k].n_toks = (size_t)ft[k].n_toks;
        segs[k].first = first;
        first += segs[k].n_recs;
    }
    if (!st && first != h.n_recs) st = damaged(err, path, "the segments hold another number of records than the header says");
    if (!st) {
        const seg_footer *last = &ft[h.n_segs - 1];
        cur_t c = {base + last->tables_off, (size_t)last->tables_len, 0, 0};
        size_t nf = 0;
        const char *why = load_tables(ds, &c, rename, &nf);
        ds->n_store_files = nf;
        uint16_t n_hw[TLP_MODE_COUNT];
        count_hw(ds, n_hw);
        if (!why && memcmp(n_hw, h.n_hw, sizeof n_hw) != 0)
            why = "the header counts other hardware than the tables hold";
        for (uint32_t k = 0; k < h.n_segs && !why; k++) why = check_records(ds, &segs[k]);
        if (why) st = !strcmp(why, "out of memory") ? tlp_error_set(err, TLP_NOMEM, path, 0, "%s", why)
                                                         : damaged(err, path, why);
    }
    free(ft);
    if (st) {
        free(segs);
        munmap(map, (size_t)h.committed);
        return st;
    }
    struct stat sb;
    fstat(fd, &sb);
    ds->segs = segs;
    ds->n_segs = h.n_segs;
    ds->n_mapped = ds->n_recs = first;
    ds->map = map;
    ds->map_len = (size_t)h.committed;
    ds->store_path = strdup(path);
    ds->store_dev = (uint64_t)sb.st_dev;
    ds->store_ino = (uint64_t)sb.st_ino;
    ds->store_len = h.committed;
    if (!ds->store_path) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    return TLP_OK;
}

/* The whole store copied: its hardware statistics, its counters and its
 * diagnostics add up into ds (file_map: src's files in ds, -1 not yet). */
static tlp_status add_totals(tlp_dataset *ds, const tlp_dataset *src, const char *path, const char *rename,
                             long *file_map, tlp_error *err)
{
    for (size_t h = 0; h < src->n_hws; h++) {
        long d = tlp__hw_get(ds, rename ? rename : src->hw_names[h], src->hws[h].mode);
        if (d < 0) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
        tlp_hw_stats *a = &ds->hws[d];
        const tlp_hw_stats *b = &src->hws[h];
        a->n_records += b->n_records, a->n_valid += b->n_valid;
        for (int k = 0; k < 16; k++) a->error_no[k] += b->error_no[k];
        for (int k = 0; k < TLP_STEP_COUNT; k++) a->kind_count[k] += b->kind_count[k];
        for (int k = 0; k < TLP_HIST; k++) a->seq_len[k] += b->seq_len[k], a->arg_count[k] += b->arg_count[k];
        a->lost_steps += b->lost_steps, a->lost_args += b->lost_args, a->steps_cropped += b->steps_cropped;
        a->kind_absent += b->kind_absent, a->unknown_str += b->unknown_str, a->uncounted += b->uncounted;
    }
    ds->n_skipped += src->n_skipped, ds->n_comments += src->n_comments;
    ds->n_skipped_files += src->n_skipped_files, ds->n_other_folds += src->n_other_folds;
    for (int s = 0; s < TLP_STATUS_COUNT; s++) ds->skipped[s] += src->skipped[s];
    for (size_t i = 0; i < src->n_diags; i++) {
        size_t f = src->diags[i].file;
        if (file_map[f] < 0) file_map[f] = tlp__add_file_name(ds, src->files[f]);
        if (file_map[f] >= 0)
            tlp__diag_keep(ds, (size_t)file_map[f], src->diags[i].line, src->diags[i].reason, src->diags[i].msg);
    }
    return TLP_OK;
}

/* Copy the records of src (a mapped store) into ds, remapping tasks, files
 * and tokens; keep only the fold o asks for; rename the hardware. */
static tlp_status import(tlp_dataset *ds, const tlp_dataset *src, const char *path, const char *rename,
                         const tlp_load_opts *o, tlp_error *err)
{
    size_t nt = src->n_tasks, nf = src->n_files;
    long *task_map = malloc(sizeof(long) * (nt ? nt : 1));
    long *file_map = malloc(sizeof(long) * (nf ? nf : 1));
    int8_t *task_in = malloc(nt ? nt : 1);
    long *vmap[TLP_MODE_COUNT] = {0};
    int ok = task_map && file_map && task_in;
    for (int m = 0; m < TLP_MODE_COUNT && ok; m++) {
        vmap[m] = malloc(sizeof(long) * (src->vocab[m].n ? src->vocab[m].n : 1));
        ok = vmap[m] != NULL;
        for (size_t r = 0; ok && r < src->vocab[m].n; r++) vmap[m][r] = -1;
    }
    tlp_status st = ok ? TLP_OK : tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    int filtered = o && o->n_folds > 0;
    for (size_t t = 0; ok && t < nt; t++) {
        task_map[t] = -1;
        task_in[t] = !filtered || ((tlp_workload_fold(src->tasks[t].key, o->n_folds) == o->fold) != (o->fold_except != 0));
    }
    for (size_t f = 0; ok && f < nf; f++) file_map[f] = -1;
    for (size_t i = 0; !st && i < src->n_recs; i++) {
        const uint32_t *toks;
        const tlp_rec *r = tlp__rec_toks(src, i, &toks);
        if (!task_in[r->task]) {
            ds->n_other_folds++;
            continue;
        }
        const task_t *stask = &src->tasks[r->task];
        if (task_map[r->task] < 0)
            task_map[r->task] = tlp__task_get(ds, stask->key, stask->target, rename ? rename : stask->hardware, stask->mode);
        if (file_map[r->file] < 0) file_map[r->file] = tlp__add_file_name(ds, src->files[r->file]);
        long t = task_map[r->task];
        size_t live = ds->n_recs - ds->n_mapped;
        int L = tlp_mode_seq(stask->mode), F = tlp_mode_fea(stask->mode);
        if (t < 0 || file_map[r->file] < 0 ||
            tlp__grow((void **)&ds->recs, &ds->cap_recs, live + 1, sizeof *ds->recs) ||
            tlp__grow((void **)&ds->toks, &ds->cap_toks, ds->n_toks + r->n_tok, sizeof *ds->toks)) {
            st = tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
            break;
        }
        tlp_rec *d = &ds->recs[live];
        *d = *r;
        d->task = (uint32_t)t;
        d->file = (uint32_t)file_map[r->file];
        d->tok_off = ds->n_toks;
        vocab_t *v = &ds->vocab[stask->mode];
        for (int k = 0; k < r->n_tok; k++) {
            long *id = &vmap[stask->mode][toks[k]];
            if (*id < 0) *id = tlp__vocab_get(v, F, src->vocab[stask->mode].rows + (size_t)toks[k] * (size_t)F);
            if (*id < 0) {
                st = tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
                break;
            }
            ds->toks[ds->n_toks++] = (uint32_t)*id;
        }
        if (st) break;
        ds->n_recs++;
        if (filtered) { /* what the compact record tells; the step histograms stay whole-store only */
            tlp__hw_count(&ds->hws[ds->tasks[t].hw], r, L);
            ds->hws[ds->tasks[t].hw].uncounted++;
        }
    }
    if (!st && !filtered) st = add_totals(ds, src, path, rename, file_map, err);
    free(task_map), free(file_map), free(task_in);
    for (int m = 0; m < TLP_MODE_COUNT; m++) free(vmap[m]);
    return st;
}

tlp_status tlp__store_add(tlp_dataset *ds, int fd, const char *path, const char *hardware,
                          const tlp_load_opts *o, tlp_error *err)
{
    store_header h;
    uint64_t file_len;
    tlp_status st = read_header(fd, path, &h, &file_len, err);
    if (st) return st;
    /* mapped as it is into an empty dataset, unless a fold keeps part of it
     * or a rename makes two hardware of one mode one */
    int filtered = o && o->n_folds > 0, merges = 0;
    for (int m = 0; m < TLP_MODE_COUNT; m++) merges |= hardware && h.n_hw[m] > 1;
    if (ds->n_recs == 0 && ds->n_files == 0 && ds->n_tasks == 0 && !filtered && !merges && !ds->map)
        return map_store(ds, fd, path, &h, hardware, err);
    tlp_dataset *src = tlp_dataset_new();
    if (!src) return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
    st = map_store(src, fd, path, &h, NULL, err);
    if (!st) st = import(ds, src, path, hardware, o, err);
    tlp_dataset_free(src);
    return st;
}

/* ------------------------------------------------------------ writing */

typedef struct {
    FILE *f;
    uint64_t pos;
    int failed;
    int error; /* errno of the first failed write, before anything after it changes errno */
} out_t;

static void out_write(out_t *w, const void *p, size_t n, uint32_t *crc)
{
    if (w->failed || !n) return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = 1;
        w->error = errno;
    }
    if (crc) *crc = crc_of(*crc, p, n);
    w->pos += n;
}

static void out_pad(out_t *w, unsigned align)
{
    static const char zero[8];
    if (w->pos % align) out_write(w, zero, align - w->pos % align, NULL);
}

/* Write one segment at w->pos (8-aligned): records from..to of ds, each
 * `repeat` times, then the tables.  Returns the footer's offset. */
static uint64_t write_segment(out_t *w, const tlp_dataset *ds, size_t from, size_t to, int repeat, uint64_t prev,
                              uint64_t *n_recs)
{
    seg_footer f;
    memset(&f, 0, sizeof f);
    memcpy(f.magic, SEG_MAGIC, 8);
    f.prev = prev;
    f.recs_off = w->pos;
    uint32_t crc = 0;
    uint64_t tok = 0;
    for (int k = 0; k < repeat; k++)
        for (size_t i = from; i < to; i++) {
            tlp_rec r = *tlp__rec_at(ds, i);
            r.tok_off = tok;
            memset(r.reserved, 0, sizeof r.reserved);
            tok += r.n_tok;
            out_write(w, &r, sizeof r, &crc);
        }
    f.n_recs = (uint64_t)(to - from) * (uint64_t)repeat;
    f.crc_recs = crc;
    f.toks_off = w->pos;
    crc = 0;
    for (int k = 0; k < repeat; k++)
        for (size_t i = from; i < to; i++) {
            const uint32_t *toks;
            const tlp_rec *r = tlp__rec_toks(ds, i, &toks);
            out_write(w, toks, sizeof(uint32_t) * r->n_tok, &crc);
        }
    f.n_toks = tok;
    f.crc_toks = crc;
    out_pad(w, 8);
    buf_t b = {0};
    put_tables(&b, ds);
    if (b.oom) w->failed = 2;
    f.tables_off = w->pos;
    f.tables_len = b.n;
    crc = 0;
    out_write(w, b.p, b.n, &crc);
    f.crc_tables = crc;
    free(b.p);
    out_pad(w, 8);
    uint64_t at = w->pos;
    f.crc = crc_of(0, &f, offsetof(seg_footer, crc));
    out_write(w, &f, sizeof f, NULL);
    *n_recs = f.n_recs;
    return at;
}

static void fill_header(store_header *h, const tlp_dataset *ds, uint32_t n_segs, uint64_t committed,
                        uint64_t last_footer, uint64_t n_recs)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, STORE_MAGIC, 8);
    h->version = STORE_VERSION;
    h->order = BYTE_ORDER_MARK;
    h->rec_size = sizeof(tlp_rec);
    h->step_kinds = TLP_STEP_COUNT;
    h->n_segs = n_segs;
    h->committed = committed;
    h->last_footer = last_footer;
    h->n_recs = n_recs;
    count_hw(ds, h->n_hw);
    h->crc = crc_of(0, h, offsetof(store_header, crc));
}

typedef struct {
    const tlp_dataset *ds;
    int repeat;
} write_ctx;

static tlp_status write_new(FILE *f, void *ctx, tlp_error *err)
{
    const write_ctx *c = ctx;
    char zero[HEADER_SIZE] = {0};
    out_t w = {f, 0, 0, 0};
    out_write(&w, zero, sizeof zero, NULL);
    uint64_t n;
    uint64_t footer = write_segment(&w, c->ds, 0, c->ds->n_recs, c->repeat, 0, &n);
    if (w.failed == 2) return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    store_header h;
    fill_header(&h, c->ds, 1, w.pos, footer, n);
    if (w.failed || fseeko(f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, f) != 1)
        return tlp_error_set(err, TLP_IO, NULL, 0, "write failed: %s", strerror(w.failed ? w.error : errno));
    return TLP_OK;
}

tlp_status tlp__store_write_repeat(const tlp_dataset *ds, const char *path, int repeat, tlp_error *err)
{
    if (ds->n_recs == 0) return tlp_error_set(err, TLP_EMPTY, path, 0, "no records to pack");
    if (repeat < 1 || (uint64_t)ds->n_recs * (uint64_t)repeat > UINT32_MAX)
        return tlp_error_set(err, TLP_ARG, path, 0, "more than 2^32 records");
    write_ctx c = {ds, repeat};
    tlp_status st = tlp_write_atomic(path, write_new, &c, err);
    if (st && err && !err->file[0]) snprintf(err->file, sizeof err->file, "%s", path);
    return st;
}

tlp_status tlp_store_write(const tlp_dataset *ds, const char *path, tlp_error *err)
{
    return tlp__store_write_repeat(ds, path, 1, err);
}

tlp_status tlp_store_append(tlp_dataset *ds, const char *path, tlp_error *err)
{
    if (!ds->store_path) return tlp_error_set(err, TLP_ARG, path, 0, "the records were not loaded from this store");
    int fd = open(path, O_RDWR);
    if (fd < 0) return tlp_error_set(err, TLP_IO, path, 0, "cannot open for appending: %s", strerror(errno));
    struct stat sb;
    store_header h;
    uint64_t file_len;
    tlp_status st = read_header(fd, path, &h, &file_len, err);
    if (!st && (fstat(fd, &sb) != 0 || (uint64_t)sb.st_dev != ds->store_dev || (uint64_t)sb.st_ino != ds->store_ino))
        st = tlp_error_set(err, TLP_ARG, path, 0, "not the store the records were loaded from");
    if (!st && h.committed != ds->store_len)
        st = tlp_error_set(err, TLP_ARG, path, 0, "the store changed since it was opened (another append?)");
    if (!st && ds->n_recs == ds->n_mapped) st = tlp_error_set(err, TLP_EMPTY, path, 0, "no new records to append");
    if (!st && (uint64_t)ds->n_recs > UINT32_MAX) st = tlp_error_set(err, TLP_ARG, path, 0, "more than 2^32 records");
    if (st) {
        close(fd);
        return st;
    }
    /* drop what an interrupted append left past the committed end */
    FILE *f = NULL;
    if (ftruncate(fd, (off_t)h.committed) != 0 || !(f = fdopen(fd, "r+b")) || fseeko(f, (off_t)h.committed, SEEK_SET) != 0) {
        st = tlp_error_set(err, TLP_IO, path, 0, "cannot append: %s", strerror(errno));
        if (f) fclose(f);
        else close(fd);
        return st;
    }
    out_t w = {f, h.committed, 0, 0};
    uint64_t n;
    uint64_t footer = write_segment(&w, ds, ds->n_mapped, ds->n_recs, 1, h.last_footer, &n);
    if (w.failed == 2) st = tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory (the store is unchanged)");
    else if (w.failed || fflush(f) != 0 || fsync(fd) != 0)
        st = tlp_error_set(err, TLP_IO, path, 0, "write failed: %s (the store is unchanged)",
                           strerror(w.failed ? w.error : errno));
    if (!st) {
        store_header nh;
        fill_header(&nh, ds, h.n_segs + 1, w.pos, footer, h.n_recs + n);
        if (pwrite(fd, &nh, sizeof nh, 0) != (ssize_t)sizeof nh || fsync(fd) != 0)
            st = tlp_error_set(err, TLP_IO, path, 0, "cannot commit the append: %s", strerror(errno));
        else
            ds->store_len = w.pos;
    }
    if (st) (void)!ftruncate(fd, (off_t)h.committed);
    if (fclose(f) != 0 && !st) st = tlp_error_set(err, TLP_IO, path, 0, "close failed: %s", strerror(errno));
    return st;
}

const char *tlp_dataset_store(const tlp_dataset *ds) { return ds->store_path; }
size_t tlp_dataset_n_mapped(const tlp_dataset *ds) { return ds->n_mapped; }
size_t tlp_dataset_n_segments(const tlp_dataset *ds) { return ds->n_segs; }
size_t tlp_dataset_n_already(const tlp_dataset *ds) { return ds->n_already; }
