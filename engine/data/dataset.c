/*
 * dataset.c: a dataset in memory: tasks (workload key x hardware) with
 * compact records, hardware and their statistics, the token vocabulary,
 * diagnostics, weights and labels.  Reading files is load.c's; packed
 * stores are store.c's; both fill a dataset through the functions here.
 *
 * Design.  What we keep per record is small (tlp_rec, 56 bytes) plus one
 * 32-bit token id per kept step: each distinct cropped step vector is stored
 * once per feature mode in a vocabulary (real data has a few thousand), so
 * the features of a record are L row copies.  The full record (for the
 * token view) is re-read from its file at (file, byte offset) on demand
 * (load.c).  Strings (key, target, hardware) are kept once per task.
 */
#include "data/dataset_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    free(ds->seen);
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

void tlp__diag_keep(tlp_dataset *ds, size_t file, long line, tlp_status reason, const char *msg)
{
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


uint32_t tlp__text_sum(const char *s, size_t n)
{
    uint32_t v = (uint32_t)crc32_z(0, (const unsigned char *)s, n); /* zlib's: many bytes a cycle, on every line loaded */
    return v ? v : 1;
}

tlp_status tlp__dataset_add(tlp_dataset *ds, const tlp_record *r, size_t file, long line, uint64_t off,
                            uint32_t text_sum, const char *hw, tlp_error *err)
{
    long t = tlp__task_get(ds, r->workload_key, r->target, hw, tlp_mode_of_target(r->target));
    if (t < 0) return tlp_error_set(err, TLP_NOMEM, ds->files[file], line, "out of memory");
    task_t *task = &ds->tasks[t];
    tlp_mode m = task->mode;
    int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
    tlp_hw_stats *st = &ds->hws[task->hw];

    size_t live = ds->n_recs - ds->n_mapped;
    if (tlp__grow((void **)&ds->recs, &ds->cap_recs, live + 1, sizeof *ds->recs) ||
        tlp__grow((void **)&ds->toks, &ds->cap_toks,
                   ds->n_toks + (r->n_steps < TLP_MAX_STEPS ? r->n_steps : TLP_MAX_STEPS), sizeof *ds->toks))
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
    memcpy(rec->text_sum, &text_sum, sizeof rec->text_sum);
    rec->tok_off = ds->n_toks;
    rec->line = (uint32_t)line;
    rec->file = (uint32_t)file;
    rec->task = (uint32_t)t;
    rec->n_steps = (uint16_t)(r->n_steps > 65535 ? 65535 : r->n_steps);
    rec->error_no = (uint8_t)r->error_no;
    rec->n_costs = (uint8_t)r->n_costs;

    /* the tokens of the first TLP_MAX_STEPS steps are kept, for a model of
     * any crop (--steps); the figures (lost steps and values) are TLP's crop's */
    float row[TLP_MAX_FEA];
    for (size_t i = 0; i < r->n_steps; i++) {
        tlp_step_info info;
        int keep = i < TLP_MAX_STEPS;
        memset(row, 0, sizeof row);
        tlp_step_vector(m, r, i, row, F, &info);
        st->kind_count[r->steps[i].kind]++;
        int nargs = info.n_full - TLP_ONEHOT;
        st->arg_count[nargs < TLP_HIST ? nargs : TLP_HIST - 1]++;
        if (info.kind_absent) st->kind_absent++;
        if (info.unknown_str) st->unknown_str++;
        if (info.kind_absent || info.unknown_str) rec->flags |= TLP_REC_UNKNOWN;
        if (!keep) continue;
        if (info.n_full > F && i < (size_t)L) rec->flags |= TLP_REC_LOST_ARGS;
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

/* A hashed workload key (TenSet, recent TVM: "#52c29cac [...]") names no
 * operator; the file its records came from often does ("MHA1-B128-int8"),
 * so its name, without folders and extensions, goes first.  -1 when out of
 * memory. */
static int name_by_file(tlp_dataset *ds, task_t *task)
{
    const char *path = ds->files[tlp__rec_at(ds, task->idx[0])->file], *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    static const char *const ext[] = {".gz", ".json", ".log"};
    for (int i = 0; i < 3; i++)
        if (n > strlen(ext[i]) && !strcmp(base + n - strlen(ext[i]), ext[i])) n -= strlen(ext[i]);
    char *name = malloc(n + 1);
    if (!name) return -1;
    memcpy(name, base, n);
    name[n] = 0;
    char *esc = tlp_escape_dup(name);
    free(name);
    char *s = esc ? malloc(strlen(esc) + strlen(task->summary) + 2) : NULL;
    if (!s) {
        free(esc);
        return -1;
    }
    sprintf(s, "%s %s", esc, task->summary);
    free(esc);
    free(task->summary);
    task->summary = s;
    return 0;
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
        if (task->summary[0] == '#' && task->n_idx && name_by_file(ds, task))
            return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
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

uint64_t tlp_dataset_digest(const tlp_dataset *ds)
{
    uint64_t h = TLP_FNV_OFFSET;
    size_t n = tlp_dataset_n_records(ds);
    h = tlp__fnv1a(h, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        int k;
        const uint32_t *toks = tlp__dataset_tokens(ds, i, &k);
        uint32_t head[3] = {tlp__rec_at(ds, i)->task, (uint32_t)k, (uint32_t)tlp_dataset_task(ds, tlp__rec_at(ds, i)->task)->mode};
        h = tlp__fnv1a(h, head, sizeof head);
        h = tlp__fnv1a(h, toks, sizeof(uint32_t) * (size_t)k);
    }
    return h;
}

double tlp_dataset_label(const tlp_dataset *ds, size_t i)
{
    const tlp_rec *r = tlp__rec_at(ds, i);
    return ds->tasks[r->task].pub.min_cost / r->cost;
}

void tlp_dataset_features(const tlp_dataset *ds, size_t i, int L, float *out)
{
    const uint32_t *toks;
    const tlp_rec *r = tlp__rec_toks(ds, i, &toks);
    tlp_mode m = ds->tasks[r->task].mode;
    int F = tlp_mode_fea(m), n = r->n_tok < L ? r->n_tok : L;
    const vocab_t *v = &ds->vocab[m];
    size_t k = 0;
    for (; k < (size_t)n; k++)
        memcpy(out + k * (size_t)F, v->rows + (size_t)toks[k] * (size_t)F, sizeof(float) * (size_t)F);
    memset(out + k * (size_t)F, 0, sizeof(float) * (size_t)F * ((size_t)L - k));
}

tlp_status tlp_dataset_check_steps(const tlp_dataset *ds, tlp_mode m, int L, tlp_error *err)
{
    if (L > TLP_MAX_STEPS) L = TLP_MAX_STEPS;
    if (L <= tlp_mode_seq(m)) return TLP_OK; /* every store keeps TLP's crop */
    size_t n = tlp_dataset_n_records(ds);
    for (size_t i = 0; i < n; i++) {
        const tlp_rec *r = tlp__rec_at(ds, i);
        if (ds->tasks[r->task].mode == m && r->n_tok < (r->n_steps < L ? r->n_steps : L))
            return tlp_error_set(err, TLP_FORMAT, ds->files[r->file], (long)r->line,
                                 "%d steps, of which the store keeps %d (packed by a tlpx that kept TLP's crop "
                                 "only): a crop of %d steps needs them, pack the records again",
                                 r->n_steps, r->n_tok, L);
    }
    return TLP_OK;
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

