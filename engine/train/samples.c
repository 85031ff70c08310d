/*
 * samples.c: what a training sees (spec §3, §5).  A sample is one schedule
 * of one task with a label per head: the same (task, schedule) measured on
 * several hardware is one sample with several labels, which is what
 * MTL-TLP trains on.  Tasks meet across hardware by their canonical
 * workload key; schedules by their token sequence within the crop (equal
 * tokens = equal feature matrices).
 */
#include "train/train_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const tlp_samples *s;
    char **keys;
} build_ctx;

typedef struct {
    uint32_t task;
    const uint32_t *tok;
    int n_tok;
} sample_key;

static int eq_sample(const void *ctx, uint32_t i, const void *key)
{
    const build_ctx *c = ctx;
    const sample_key *k = key;
    if (c->s->task[i] != k->task) return 0;
    int n;
    const uint32_t *t = tlp__dataset_tokens(c->s->ds, c->s->rec[i], &n);
    if (n > c->s->L) n = c->s->L;
    return n == k->n_tok && memcmp(t, k->tok, sizeof *t * (size_t)n) == 0;
}

static int eq_key(const void *ctx, uint32_t i, const void *key)
{
    const build_ctx *c = ctx;
    return strcmp(c->keys[i], key) == 0;
}

void tlp_samples_free(tlp_samples *s)
{
    if (!s) return;
    free(s->rec);
    free(s->task);
    free(s->label);
    free(s->have);
    free(s->ds_head);
    free(s->ds_canon);
    free(s);
}

static int grow_samples(tlp_samples *s)
{
    if (s->n < s->cap) return 0;
    size_t c = s->cap ? s->cap * 2 : 1024, H = (size_t)s->n_heads;
    uint32_t *rec = realloc(s->rec, c * sizeof *rec);
    if (rec) s->rec = rec;
    uint32_t *task = realloc(s->task, c * sizeof *task);
    if (task) s->task = task;
    float *label = realloc(s->label, c * H * sizeof *label);
    if (label) s->label = label;
    uint8_t *have = realloc(s->have, c * H * sizeof *have);
    if (have) s->have = have;
    if (!rec || !task || !label || !have) return -1;
    s->cap = c;
    return 0;
}

/* MTL-TLP's target budget (spec §5): head 0 keeps its labels on o->budget
 * samples drawn at random (from the seed), the others lose theirs; a sample
 * left with no label at all is dropped. */
static tlp_status apply_budget(tlp_samples *s, const tlp_train_opts *o)
{
    int H = s->n_heads;
    uint32_t *with = malloc(sizeof(uint32_t) * (s->n ? s->n : 1));
    if (!with) return TLP_NOMEM;
    size_t n0 = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->have[i * (size_t)H]) with[n0++] = (uint32_t)i;
    if ((size_t)o->budget < n0) {
        tlp_rng r;
        tlp_rng_seed(&r, o->seed ^ 0xb0d6e7u);
        tlp_rng_shuffle_u32(&r, with, n0);
        for (size_t k = (size_t)o->budget; k < n0; k++) s->have[(size_t)with[k] * (size_t)H] = 0;
    }
    free(with);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        int any = 0;
        for (int h = 0; h < H; h++) any |= s->have[i * (size_t)H + (size_t)h];
        if (!any) continue;
        s->rec[w] = s->rec[i];
        s->task[w] = s->task[i];
        memmove(s->label + w * (size_t)H, s->label + i * (size_t)H, sizeof(float) * (size_t)H);
        memmove(s->have + w * (size_t)H, s->have + i * (size_t)H, (size_t)H);
        w++;
    }
    s->n = w;
    return TLP_OK;
}

/* The heads: as asked (each named once, each with records of the mode), or
 * every hardware of the mode in the order met. */
static tlp_status pick_heads(tlp_samples *s, const tlp_dataset *ds, const tlp_train_opts *o, tlp_error *err)
{
    if (o->n_heads > TLP_MAX_HEADS) return tlp_error_set(err, TLP_ARG, NULL, 0, "at most %d heads", TLP_MAX_HEADS);
    if (o->n_heads > 0) {
        s->n_heads = o->n_heads;
        memcpy(s->heads, o->heads, sizeof s->heads);
        for (int h = 0; h < s->n_heads; h++) {
            int found = 0;
            for (int k = 0; k < h; k++)
                if (strcmp(s->heads[k], s->heads[h]) == 0)
                    return tlp_error_set(err, TLP_ARG, NULL, 0, "head \"%s\" is named twice", s->heads[h]);
            for (size_t k = 0; k < tlp_dataset_n_hw(ds) && !found; k++) {
                const tlp_hw_stats *st = tlp_dataset_hw(ds, k);
                found = st->mode == o->mode && st->n_records > 0 && strcmp(st->hardware, s->heads[h]) == 0;
            }
            if (!found)
                return tlp_error_set(err, TLP_EMPTY, NULL, 0, "no %s records of hardware \"%s\"",
                                     tlp_mode_name(o->mode), s->heads[h]);
        }
    } else {
        for (size_t h = 0; h < tlp_dataset_n_hw(ds) && s->n_heads < TLP_MAX_HEADS; h++) {
            const tlp_hw_stats *st = tlp_dataset_hw(ds, h);
            if (st->mode != o->mode) continue;
            int dup = 0;
            for (int k = 0; k < s->n_heads; k++) dup |= strcmp(s->heads[k], st->hardware) == 0;
            if (!dup) snprintf(s->heads[s->n_heads++], TLP_HEAD_NAME, "%s", st->hardware);
        }
    }
    if (s->n_heads == 0) return tlp_error_set(err, TLP_EMPTY, NULL, 0, "no %s records in the data", tlp_mode_name(o->mode));
    return TLP_OK;
}

/* Each task of the data: the head of its hardware (task_head, -1 when it
 * has none) and its canonical task (task_canon), the same id for a
 * workload measured on several hardware; ctx->keys holds the keys. */
static tlp_status map_tasks(tlp_samples *s, const tlp_train_opts *o, const unsigned char *take, build_ctx *ctx,
                            int *task_head, uint32_t *task_canon, tlp__hmap *kmap)
{
    const tlp_dataset *ds = s->ds;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        task_head[t] = -1;
        if (tk->mode != o->mode || (take && !take[t])) continue;
        for (int h = 0; h < s->n_heads; h++)
            if (strcmp(tk->hardware, s->heads[h]) == 0) task_head[t] = h;
        if (task_head[t] < 0) continue;
        char *canon = tlp_workload_canonical(tk->workload_key);
        if (!canon) return TLP_NOMEM;
        uint32_t hsh = tlp__hash(canon, strlen(canon));
        long id = tlp__hmap_find(kmap, hsh, eq_key, ctx, canon);
        if (id < 0) {
            id = (long)s->n_tasks;
            ctx->keys[s->n_tasks++] = canon;
            if (tlp__hmap_add(kmap, hsh, (uint32_t)id)) return TLP_NOMEM;
        } else
            free(canon);
        task_canon[t] = (uint32_t)id;
    }
    return TLP_OK;
}

/* Every record of a task with a head becomes a label of its sample: the
 * sample of its canonical task and tokens, new unless another hardware's
 * record made it (the same hardware twice: another sample). */
static tlp_status add_samples(tlp_samples *s, const tlp_train_opts *o, build_ctx *ctx, const int *task_head,
                              const uint32_t *task_canon, tlp__hmap *smap)
{
    const tlp_dataset *ds = s->ds;
    size_t H = (size_t)s->n_heads;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        if (task_head[t] < 0) continue;
        const tlp_task *tk = tlp_dataset_task(ds, t);
        size_t h = (size_t)task_head[t];
        for (uint32_t k = 0; k < tk->n_records; k++) {
            uint32_t ri = tk->records[k];
            sample_key key = {task_canon[t], NULL, 0};
            key.tok = tlp__dataset_tokens(ds, ri, &key.n_tok);
            if (key.n_tok > s->L) key.n_tok = s->L; /* equal within the crop: one sample */
            uint32_t hsh = tlp__hash(key.tok, sizeof(uint32_t) * (size_t)key.n_tok) ^ (key.task * 0x9e3779b1u);
            long i = tlp__hmap_find(smap, hsh, eq_sample, ctx, &key);
            if (i >= 0 && s->have[(size_t)i * H + h]) i = -1; /* measured twice on one hardware: another sample */
            if (i < 0) {
                if (grow_samples(s)) return TLP_NOMEM;
                i = (long)s->n++;
                s->rec[i] = ri;
                s->task[i] = key.task;
                memset(s->have + (size_t)i * H, 0, H);
                memset(s->label + (size_t)i * H, 0, sizeof(float) * H);
                if (tlp__hmap_add(smap, hsh, (uint32_t)i)) return TLP_NOMEM;
            }
            s->have[(size_t)i * H + h] = 1;
            s->label[(size_t)i * H + h] = o->failed == TLP_FAILED_DEMOTE && tlp_dataset_rec(ds, ri)->error_no != 0
                                              ? -1.0f
                                              : (float)tlp_dataset_label(ds, ri);
        }
    }
    return TLP_OK;
}

/* How many samples each head labels, and how many have two labels or more. */
static void count_labels(tlp_samples *s)
{
    size_t H = (size_t)s->n_heads;
    for (size_t i = 0; i < s->n; i++) {
        int c = 0;
        for (size_t h = 0; h < H; h++) {
            s->labelled[h] += s->have[i * H + h];
            c += s->have[i * H + h];
        }
        s->multi += c > 1;
    }
}

tlp_samples *tlp_samples_build(const tlp_dataset *ds, const tlp_train_opts *o, tlp_error *err)
{
    return tlp_samples_build_tasks(ds, o, NULL, err);
}

tlp_samples *tlp_samples_build_tasks(const tlp_dataset *ds, const tlp_train_opts *o, const unsigned char *take,
                                     tlp_error *err)
{
    tlp_samples *s = calloc(1, sizeof *s);
    if (!s) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    s->ds = ds;
    s->mode = o->mode;
    s->L = tlp_train_steps(o);
    if (pick_heads(s, ds, o, err) != TLP_OK || tlp_dataset_check_steps(ds, s->mode, s->L, err) != TLP_OK) {
        tlp_samples_free(s);
        return NULL;
    }
    size_t nt = tlp_dataset_n_tasks(ds);
    int *task_head = malloc(sizeof(int) * (nt ? nt : 1));
    uint32_t *task_canon = malloc(sizeof(uint32_t) * (nt ? nt : 1));
    char **keys = calloc(nt ? nt : 1, sizeof(char *));
    build_ctx ctx = {s, keys};
    tlp__hmap kmap = {0}, smap = {0};
    tlp_status st = task_head && task_canon && keys ? TLP_OK : TLP_NOMEM;
    if (st == TLP_OK) st = map_tasks(s, o, take, &ctx, task_head, task_canon, &kmap);
    if (st == TLP_OK) st = add_samples(s, o, &ctx, task_head, task_canon, &smap);
    if (st == TLP_OK && o->budget > 0) st = apply_budget(s, o);
    count_labels(s);
    for (size_t k = 0; k < s->n_tasks; k++) free(keys[k]);
    free(keys);
    s->ds_head = task_head; /* kept: what a training was trained on (train.c) */
    s->ds_canon = task_canon;
    tlp__hmap_free(&kmap);
    tlp__hmap_free(&smap);
    if (st == TLP_OK && s->n == 0) st = TLP_EMPTY;
    if (st != TLP_OK) {
        tlp_error_set(err, st, NULL, 0, st == TLP_EMPTY ? "no records for the heads asked" : "out of memory");
        tlp_samples_free(s);
        return NULL;
    }
    return s;
}

size_t tlp_samples_count(const tlp_samples *s) { return s->n; }
int tlp_samples_n_heads(const tlp_samples *s) { return s->n_heads; }
const char *tlp_samples_head(const tlp_samples *s, int h) { return h >= 0 && h < s->n_heads ? s->heads[h] : NULL; }
size_t tlp_samples_labelled(const tlp_samples *s, int h) { return h >= 0 && h < s->n_heads ? s->labelled[h] : 0; }
size_t tlp_samples_multi(const tlp_samples *s) { return s->multi; }

