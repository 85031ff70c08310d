/*
 * train.c: samples, the training worker and batch inference.
 *
 * Samples (spec §3, §5).  A sample is one schedule of one task with a label
 * per head: the same (task, schedule) measured on several hardware is one
 * sample with several labels, which is what MTL-TLP trains on.  Tasks meet
 * across hardware by their canonical workload key; schedules by their token
 * sequence (equal tokens = equal feature matrices).
 *
 * The worker (one thread, as redis's bio.c) trains its own copy of the model
 * and publishes progress through a snapshot under a mutex, signalled by a
 * byte on a pipe the caller can poll.  Cancel is an atomic flag checked
 * between steps.  The caller's model is never touched; the result is the
 * best-validation copy, handed over only by tlp_job_finish.
 */
#include "train/train_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tlp_train_defaults(tlp_train_opts *o, tlp_mode m)
{
    memset(o, 0, sizeof *o);
    o->mode = m;
    o->epochs = 50;
    o->batch = 1024;
    o->lr = 7e-4f;
    o->weight_decay = 1e-6f;
    o->clip = 0.5f;
    o->loss = TLP_LOSS_RANK;
    o->pairs = TLP_PAIRS_BATCH;
    o->split = TLP_SPLIT_RECORD; /* TLP's scripts: the last 10% of a permutation of the records */
    o->val_frac = 0.1;
    o->seed = 0;
    o->threads = 1;
    o->n_nets = 1;
    o->encode[0] = TLP_ENCODE_RAW;
    o->select = TLP_SELECT_LOSS;
    o->sched = TLP_SCHED_CONST;
    o->average = 0;
    o->group = 128;
    snprintf(o->recipe, sizeof o->recipe, "tlp");
}

const char *const TLP_RECIPES[] = {"tlp", "tlpx", NULL};

tlp_status tlp_train_recipe(tlp_train_opts *o, tlp_mode m, const char *name)
{
    tlp_train_defaults(o, m);
    if (!name || !strcmp(name, "tlp")) return TLP_OK;
    if (strcmp(name, "tlpx") != 0) return TLP_ARG;
    /* measured with bench/quality.sh (3-fold cross-validation by task, 3
     * seeds): see README, "Model quality and training recipes" */
    o->split = TLP_SPLIT_TASK;   /* validation on tasks the model has not seen, as it is used */
    o->select = TLP_SELECT_LAST; /* the last epoch (least validation loss: lower) */
    o->epochs = 10;              /* the epochs it was measured with (50 not measured) */
    o->failed = TLP_FAILED_DEMOTE; /* failed programs below every valid one: no failed top-1 pick on K80,
                                      Xeon +0.019 top-1; K80 -0.008, within the spread over seeds */
    /* two networks, of log-scaled tokens and of log-scaled tokens with the
     * program row, as one ensemble (3 seeds against the better of the two
     * alone: Xeon top-1 0.743 against 0.738 (log), top-5 0.887, failed picks
     * 5.0 against 5.3; K80 top-1 0.849 either way (prog), top-5 0.945
     * against 0.930, replay 9.70x against 8.84x): twice the training */
    o->n_nets = 2;
    o->encode[0] = TLP_ENCODE_LOG;
    o->encode[1] = TLP_ENCODE_PROG;
    /* by the mode, once the data says it: TLPX_BY_MODE */
    o->batch = TLP_BY_MODE;
    o->average = TLP_BY_MODE;
    snprintf(o->recipe, sizeof o->recipe, "tlpx");
    return TLP_OK;
}

/* Recipe tlpx's settings that differ between GPU and CPU records, made
 * concrete when the data gives the mode (tlp_train_resolve):
 * - batch: 256 on GPU records (4x the optimiser steps of TLP's 1024 in 10
 *   epochs: K80 top-5 above the random order's on every seed, replay gain
 *   8.7x instead of 7.7x), 1024 on CPU records (256 measured there: mean
 *   top-1 0.011 lower, within the spread, but a spread over seeds of 0.054);
 * - (the networks' encodings, the same on both: one network alone measured
 *   best with the program row on GPU records, K80 top-1 0.836 against 0.803
 *   with log alone, and without it on CPU records, Xeon);
 * - average: on GPU records the kept weights are the mean of the last 3
 *   epochs' (3 seeds: K80 top-1 0.849 instead of 0.836, spread 0.013
 *   instead of 0.038; V100 0.860 instead of 0.853); on Xeon it measured
 *   lower (0.721 and 0.711 against 0.745 and 0.736, 2 seeds), so none. */
static const struct {
    int batch;
    int average;
} TLPX_BY_MODE[TLP_MODE_COUNT] = {
    [TLP_MODE_CPU] = {1024, 0},
    [TLP_MODE_GPU] = {256, 3},
};

void tlp_train_resolve(tlp_train_opts *o, tlp_mode m)
{
    if ((unsigned)m >= TLP_MODE_COUNT) return;
    if (o->batch == TLP_BY_MODE) o->batch = TLPX_BY_MODE[m].batch;
    if (o->average == TLP_BY_MODE) o->average = TLPX_BY_MODE[m].average;
}

/* ------------------------------------------------------------ samples */

struct tlp_samples {
    const tlp_dataset *ds;
    tlp_mode mode;
    int n_heads;
    char heads[TLP_MAX_HEADS][TLP_HEAD_NAME];
    size_t n, cap;
    uint32_t *rec;   /* a record holding the sample's features */
    uint32_t *task;  /* canonical task */
    float *label;    /* [n][H] */
    uint8_t *have;   /* [n][H] */
    size_t n_tasks;
    size_t labelled[TLP_MAX_HEADS], multi;
};

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

tlp_samples *tlp_samples_build(const tlp_dataset *ds, const tlp_train_opts *o, tlp_error *err)
{
    tlp_samples *s = calloc(1, sizeof *s);
    if (!s) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    s->ds = ds;
    s->mode = o->mode;
    /* heads: as asked, or every hardware of the mode in the order met */
    if (o->n_heads > TLP_MAX_HEADS) {
        tlp_error_set(err, TLP_ARG, NULL, 0, "at most %d heads", TLP_MAX_HEADS);
        tlp_samples_free(s);
        return NULL;
    }
    if (o->n_heads > 0) {
        s->n_heads = o->n_heads;
        memcpy(s->heads, o->heads, sizeof s->heads);
        for (int h = 0; h < s->n_heads; h++) {
            int found = 0;
            for (int k = 0; k < h; k++)
                if (strcmp(s->heads[k], s->heads[h]) == 0) {
                    tlp_error_set(err, TLP_ARG, NULL, 0, "head \"%s\" is named twice", s->heads[h]);
                    tlp_samples_free(s);
                    return NULL;
                }
            for (size_t k = 0; k < tlp_dataset_n_hw(ds) && !found; k++) {
                const tlp_hw_stats *st = tlp_dataset_hw(ds, k);
                found = st->mode == o->mode && st->n_records > 0 && strcmp(st->hardware, s->heads[h]) == 0;
            }
            if (!found) {
                tlp_error_set(err, TLP_EMPTY, NULL, 0, "no %s records of hardware \"%s\"", tlp_mode_name(o->mode),
                              s->heads[h]);
                tlp_samples_free(s);
                return NULL;
            }
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
    if (s->n_heads == 0) {
        tlp_error_set(err, TLP_EMPTY, NULL, 0, "no %s records in the data", tlp_mode_name(o->mode));
        tlp_samples_free(s);
        return NULL;
    }
    int H = s->n_heads;
    size_t nt = tlp_dataset_n_tasks(ds);
    int *task_head = malloc(sizeof(int) * (nt ? nt : 1));
    uint32_t *task_canon = malloc(sizeof(uint32_t) * (nt ? nt : 1));
    char **keys = calloc(nt ? nt : 1, sizeof(char *));
    build_ctx ctx = {s, keys};
    tlp__hmap kmap = {0}, smap = {0};
    tlp_status st = task_head && task_canon && keys ? TLP_OK : TLP_NOMEM;
    for (size_t t = 0; t < nt && st == TLP_OK; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        task_head[t] = -1;
        if (tk->mode != o->mode) continue;
        for (int h = 0; h < H; h++)
            if (strcmp(tk->hardware, s->heads[h]) == 0) task_head[t] = h;
        if (task_head[t] < 0) continue;
        char *canon = tlp_workload_canonical(tk->workload_key);
        if (!canon) {
            st = TLP_NOMEM;
            break;
        }
        uint32_t hsh = tlp__hash(canon, strlen(canon));
        long id = tlp__hmap_find(&kmap, hsh, eq_key, &ctx, canon);
        if (id < 0) {
            id = (long)s->n_tasks;
            keys[s->n_tasks++] = canon;
            if (tlp__hmap_add(&kmap, hsh, (uint32_t)id)) st = TLP_NOMEM;
        } else
            free(canon);
        task_canon[t] = (uint32_t)id;
    }
    for (size_t t = 0; t < nt && st == TLP_OK; t++) {
        if (task_head[t] < 0) continue;
        const tlp_task *tk = tlp_dataset_task(ds, t);
        int h = task_head[t];
        for (uint32_t k = 0; k < tk->n_records && st == TLP_OK; k++) {
            uint32_t ri = tk->records[k];
            sample_key key = {task_canon[t], NULL, 0};
            key.tok = tlp__dataset_tokens(ds, ri, &key.n_tok);
            uint32_t hsh = tlp__hash(key.tok, sizeof(uint32_t) * (size_t)key.n_tok) ^ (key.task * 0x9e3779b1u);
            long i = tlp__hmap_find(&smap, hsh, eq_sample, &ctx, &key);
            if (i >= 0 && s->have[(size_t)i * H + h]) i = -1; /* measured twice on one hardware: another sample */
            if (i < 0) {
                if (grow_samples(s)) {
                    st = TLP_NOMEM;
                    break;
                }
                i = (long)s->n++;
                s->rec[i] = ri;
                s->task[i] = key.task;
                memset(s->have + (size_t)i * H, 0, (size_t)H);
                memset(s->label + (size_t)i * H, 0, sizeof(float) * (size_t)H);
                if (tlp__hmap_add(&smap, hsh, (uint32_t)i)) st = TLP_NOMEM;
            }
            s->have[(size_t)i * H + h] = 1;
            s->label[(size_t)i * H + h] = o->failed == TLP_FAILED_DEMOTE && tlp_dataset_rec(ds, ri)->error_no != 0
                                              ? -1.0f
                                              : (float)tlp_dataset_label(ds, ri);
        }
    }
    if (st == TLP_OK && o->budget > 0) st = apply_budget(s, o);
    for (size_t i = 0; i < s->n; i++) {
        int c = 0;
        for (int h = 0; h < H; h++) {
            s->labelled[h] += s->have[i * H + h];
            c += s->have[i * H + h];
        }
        s->multi += c > 1;
    }
    for (size_t k = 0; k < s->n_tasks; k++) free(keys[k]);
    free(keys);
    free(task_head);
    free(task_canon);
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

/* ------------------------------------------------------------ the worker */

struct tlp_job {
    pthread_t thread;
    pthread_mutex_t mu;
    int pipe[2];
    atomic_int cancel;
    tlp_progress prog; /* guarded by mu */
    const tlp_samples *s;
    tlp_train_opts o;
    tlp_model *m, *best;
    tlp_adam adam;
    tlp_train_meta meta;
    /* a prediction job instead: the model copy, the data, scores per head */
    const tlp_dataset *pds;
    float *scores[TLP_MAX_HEADS];
    /* the state at the best epoch: what tlp_job_finish hands over */
    tlp_train_state kept; /* Adam's moments and the ring at that epoch */
    tlp_train_meta best_meta;
    /* average > 0: the weights at the end of the last epochs, slot
     * (k - 1) % average for the k-th epoch since the run began (n_ring) */
    float *ring;
    int n_ring;
    /* an ensemble (o.n_nets > 1): the network in training (0-based), the
     * finished ones as one model (NULL before the first is), and when
     * fine-tuning the networks each starts from */
    int net;
    tlp_model *ens, *init;
    tlp_status status;
    tlp_error err;
    int started, joined;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void publish(tlp_job *j, const tlp_progress *p)
{
    pthread_mutex_lock(&j->mu);
    j->prog = *p;
    pthread_mutex_unlock(&j->mu);
    char b = 1;
    if (write(j->pipe[1], &b, 1) < 0) { /* full pipe: the reader is behind, fine */
    }
}

typedef struct {
    float *x, *y, *out, *dout, *g;
    uint8_t *mask;
    uint32_t *idx; /* the batch's samples */
} batch_bufs;

/* Gather samples idx[0..n) into x, y[h*n+b], mask[h*n+b]. */
static void gather(const tlp_samples *s, const uint32_t *idx, int n, batch_bufs *b, size_t row)
{
    int H = s->n_heads;
    for (int i = 0; i < n; i++) {
        tlp_dataset_features(s->ds, s->rec[idx[i]], b->x + (size_t)i * row);
        for (int h = 0; h < H; h++) {
            b->y[(size_t)h * n + i] = s->label[(size_t)idx[i] * H + h];
            b->mask[(size_t)h * n + i] = s->have[(size_t)idx[i] * H + h];
        }
    }
}

/* The loss of a gathered batch over every head, and dout when want_grad. */
static double batch_loss(const tlp_job *j, const uint32_t *idx, int n, batch_bufs *b, int want_grad)
{
    const tlp_samples *s = j->s;
    int H = s->n_heads;
    double total = 0;
    for (int h = 0; h < H; h++) {
        const float *out = b->out + (size_t)h * n, *y = b->y + (size_t)h * n;
        const uint8_t *mk = b->mask + (size_t)h * n;
        float *dout = b->dout + (size_t)h * n;
        if (j->o.loss == TLP_LOSS_MSE) {
            total += tlp_loss_mse(out, y, mk, n, want_grad ? dout : NULL);
            continue;
        }
        if (j->o.pairs == TLP_PAIRS_BATCH) {
            total += tlp_loss_lambdarank(out, y, mk, n, want_grad ? dout : NULL);
            continue;
        }
        /* pairs within one task: the batch is laid out in runs of one task */
        for (int a = 0; a < n;) {
            int e = a + 1;
            while (e < n && s->task[idx[e]] == s->task[idx[a]]) e++;
            total += tlp_loss_lambdarank(out + a, y + a, mk + a, e - a, want_grad ? dout + a : NULL);
            a = e;
        }
    }
    return total;
}

static int cmp_u32_by_key(const void *a, const void *b, void *keys)
{
    const uint32_t *k = keys;
    uint32_t x = k[*(const uint32_t *)a], y = k[*(const uint32_t *)b];
    if (x != y) return x < y ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : *(const uint32_t *)a > *(const uint32_t *)b;
}

/* The epoch's order.  pairs=batch: a plain shuffle.  pairs=task: each task's
 * samples shuffled and cut into runs of at most `group`, the runs shuffled,
 * so a batch holds a few whole runs of single tasks. */
static void epoch_order(tlp_job *j, tlp_rng *r, const uint32_t *train, size_t n, uint32_t *order, uint32_t *runs)
{
    memcpy(order, train, n * sizeof *order);
    tlp_rng_shuffle_u32(r, order, n);
    if (j->o.pairs != TLP_PAIRS_TASK) return;
    qsort_r(order, n, sizeof *order, cmp_u32_by_key, j->s->task);
    size_t nr = 0, G = j->o.group > 0 ? (size_t)j->o.group : 128;
    for (size_t a = 0; a < n;) {
        size_t e = a;
        while (e < n && e - a < G && j->s->task[order[e]] == j->s->task[order[a]]) e++;
        tlp_rng_shuffle_u32(r, order + a, e - a);
        runs[nr++] = (uint32_t)a;
        a = e;
    }
    tlp_rng_shuffle_u32(r, runs, nr);
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return; /* keep the sorted order: still correct, less mixed */
    size_t w = 0;
    for (size_t k = 0; k < nr; k++) {
        size_t a = runs[k];
        size_t e = a;
        while (e < n && e - a < G && j->s->task[order[e]] == j->s->task[order[a]]) e++;
        for (size_t i = a; i < e; i++) tmp[w++] = order[i];
    }
    memcpy(order, tmp, n * sizeof *order);
    free(tmp);
}

/* How good the model in j->m is on the validation samples: the loss (as
 * TLP: the sum of the batch losses, in order) and, for head 0, the mean
 * top-1 and top-5 over the validation tasks (labels are min_cost / cost, so
 * 1 / label orders the records as their costs do). */
typedef struct {
    const uint32_t *val;  /* validation samples, in order */
    size_t n_val;
    uint32_t *by_task;    /* positions into val, grouped by task */
    float *score;         /* head 0's score per position */
    double *cost;
    float *tscore;
} val_set;

static void validate(tlp_job *j, val_set *v, batch_bufs *b, size_t row, double *loss, double *top1, double *top5)
{
    const tlp_samples *s = j->s;
    int B = j->o.batch, H = s->n_heads;
    double vsum = 0;
    for (size_t a = 0; a < v->n_val; a += (size_t)B) {
        int nb = (int)(v->n_val - a < (size_t)B ? v->n_val - a : (size_t)B);
        gather(s, v->val + a, nb, b, row);
        tlp_model_forward(j->m, b->x, nb, -1, b->out);
        vsum += batch_loss(j, v->val + a, nb, b, 0);
        for (int i = 0; i < nb; i++) v->score[a + (size_t)i] = b->out[i]; /* head 0 */
    }
    *loss = vsum;
    /* top-k per validation task on head 0 */
    int ks[2] = {1, 5};
    tlp_eval_sum sum;
    tlp_eval_sum_init(&sum, ks, 2);
    for (size_t a = 0; a < v->n_val;) {
        size_t e = a;
        uint32_t t = s->task[v->val[v->by_task[a]]];
        int n = 0;
        for (; e < v->n_val && s->task[v->val[v->by_task[e]]] == t; e++) {
            uint32_t i = v->val[v->by_task[e]];
            if (!s->have[(size_t)i * H]) continue;
            float y = s->label[(size_t)i * H];
            v->cost[n] = y > 0 ? 1.0 / y : INFINITY;
            v->tscore[n++] = v->score[v->by_task[e]];
        }
        tlp_task_eval ev;
        if (n > 0 && tlp_eval_task(v->cost, NULL, v->tscore, n, ks, 2, &ev) == TLP_OK) tlp_eval_sum_add(&sum, &ev, 1);
        a = e;
    }
    *top1 = tlp_eval_sum_k(&sum, 0).mean;
    *top5 = tlp_eval_sum_k(&sum, 1).mean;
}

typedef struct {
    const uint32_t *task, *val;
} val_order;

static int by_val_task(const void *x, const void *y, void *ctx)
{
    const val_order *o = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    uint32_t ta = o->task[o->val[a]], tb = o->task[o->val[b]];
    if (ta != tb) return ta < tb ? -1 : 1;
    return a < b ? -1 : a > b;
}

float tlp_train_lr(const tlp_train_opts *o, uint64_t t, uint64_t total)
{
    if (o->sched != TLP_SCHED_COSINE || total == 0) return o->lr;
    double x = (double)(t < total ? t : total) / (double)total;
    return (float)(0.5 * o->lr * (1 + cos(M_PI * x)));
}

/* The meta saved with the kept model: the kept epoch's weights, Adam
 * moments and the step and epoch count they belong to, so --resume
 * continues from it; the run's figure and length. */
static tlp_train_meta kept_meta(const tlp_job *j)
{
    tlp_train_meta m = j->best_meta;
    m.epochs = j->meta.epochs;
    return m;
}

/* An ensemble's model as a save or the finish hands it over, a new copy:
 * the finished networks, then the kept one of the network in training (if
 * an epoch of it was kept).  NULL when out of memory. */
static tlp_model *ensemble_copy(const tlp_job *j)
{
    tlp_model *m = tlp_model_clone(j->ens), *b = j->best ? tlp_model_clone_net(j->best) : NULL;
    if (!m || (j->best && (!b || tlp_model_add_member(m, b, NULL) != TLP_OK))) {
        tlp_model_free(m), tlp_model_free(b);
        return NULL;
    }
    return m;
}

/* The state that goes with the kept weights, for --resume: Adam's moments
 * and the averaging ring as they are now. */
static void keep_state(tlp_job *j)
{
    memcpy(j->kept.m, j->adam.m, sizeof(float) * j->adam.n);
    memcpy(j->kept.v, j->adam.v, sizeof(float) * j->adam.n);
    int slots = tlp_ring_slots(j->n_ring, j->o.average);
    j->kept.n_ring = j->n_ring;
    if (slots) memcpy(j->kept.ring, j->ring, sizeof(float) * j->adam.n * (size_t)slots);
}

/* Save the kept model to o.save_path (after an epoch that changed it), so
 * a killed or interrupted run loses at most the epochs since. */
static void autosave(tlp_job *j, tlp_progress *p)
{
    if (!j->o.save_path) return;
    double t0 = now_s();
    tlp_train_meta m = kept_meta(j);
    tlp_error e = {0};
    tlp_model *copy = j->ens ? ensemble_copy(j) : NULL;
    const tlp_model *km = j->ens ? copy : j->best;
    if (!km) snprintf(p->save_error, sizeof p->save_error, "out of memory for the model to save");
    else if (tlp_checkpoint_save(j->o.save_path, km, &m, j->o.weights_only ? NULL : &j->kept, &e) != TLP_OK)
        snprintf(p->save_error, sizeof p->save_error, "%s", e.msg);
    else {
        p->save_error[0] = 0;
        p->saves++;
        p->saved_epoch = m.best_epoch;
    }
    tlp_model_free(copy);
    p->save_s += now_s() - t0;
}

/* A new network k: from the fine-tuning model's k-th, or fresh from the
 * seed with encoding k, as a training of it alone would start. */
static tlp_model *net_start(const tlp_job *j, int k, tlp_error *err)
{
    if (j->init) return tlp_model_clone_net(tlp_model_member(j->init, k));
    tlp_model_config c = {j->s->mode, j->s->n_heads, {{0}}, j->o.encode[k]};
    memcpy(c.heads, j->s->heads, sizeof c.heads);
    return tlp_model_new(&c, j->o.seed, err);
}

/* The network in training is finished: it joins the ensemble, the file
 * says so, and the next one starts from nothing but its initial weights. */
static tlp_status next_net(tlp_job *j, tlp_progress *p)
{
    if (j->best) { /* an ensemble of its kept weights (the network has finished) */
        if (!j->ens) j->ens = j->best;
        else if (tlp_model_add_member(j->ens, j->best, &j->err) != TLP_OK) return j->err.status;
        j->best = NULL;
    }
    j->meta.nets_done = j->best_meta.nets_done = ++j->net;
    autosave(j, p);
    tlp_model_free(j->m);
    if (!(j->m = net_start(j, j->net, &j->err)))
        return j->err.status ? j->err.status
                             : tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory for network %d", j->net + 1);
    if (tlp_model_reserve(j->m, j->o.batch, 1, &j->err) != TLP_OK) return j->err.status;
    memset(j->adam.m, 0, sizeof(float) * j->adam.n);
    memset(j->adam.v, 0, sizeof(float) * j->adam.n);
    j->adam.t = 0;
    j->n_ring = 0;
    j->meta.epochs_done = 0;
    j->meta.step = 0;
    j->meta.best_val = NAN;
    j->meta.best_epoch = 0;
    p->net = j->net + 1;
    p->net_encode = j->o.encode[j->net];
    p->best_val = p->val_loss = p->val_top1 = p->val_top5 = NAN;
    p->best_epoch = 0;
    return TLP_OK;
}

static void *worker(void *arg)
{
    tlp_job *j = arg;
    const tlp_samples *s = j->s;
    int H = s->n_heads, B = j->o.batch;
    int L = tlp_mode_seq(s->mode), F = tlp_mode_fea(s->mode);
    size_t row = (size_t)L * (size_t)F, np = tlp_model_n_params(j->m);
    tlp_progress p = j->prog;
    tlp_rng r;
    tlp_rng_seed(&r, j->o.seed ^ 0x5eedu);
    tlp_set_threads(j->o.threads);

    /* split: by task (default) or by record */
    size_t n = s->n, n_val = 0, n_train = 0;
    uint32_t *train = malloc(sizeof(uint32_t) * (n ? n : 1)), *val = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *order = malloc(sizeof(uint32_t) * (n ? n : 1)), *runs = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint8_t *val_task = calloc(s->n_tasks ? s->n_tasks : 1, 1);
    int A = j->o.average > 0 ? j->o.average : 0;
    float *ring = j->ring, *saved = A ? malloc(sizeof(float) * np) : NULL;
    val_set v = {0};
    batch_bufs b = {0};
    b.x = malloc(sizeof(float) * row * (size_t)B);
    b.y = malloc(sizeof(float) * (size_t)H * (size_t)B);
    b.out = malloc(sizeof(float) * (size_t)H * (size_t)B);
    b.dout = malloc(sizeof(float) * (size_t)H * (size_t)B);
    b.mask = malloc((size_t)H * (size_t)B);
    if (!train || !val || !order || !runs || !val_task || !b.x || !b.y || !b.out || !b.dout || !b.mask ||
        (A && (!ring || !saved)) || tlp_model_reserve(j->m, B, 1, &j->err) != TLP_OK) {
        j->status = tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory for a batch of %d", B);
        goto out;
    }
    if (j->o.val_frac <= 0) { /* no validation: the best epoch is the one of least training loss */
        for (uint32_t i = 0; i < n; i++) train[n_train++] = i;
    } else if (j->o.split == TLP_SPLIT_TASK && s->n_tasks >= 2) {
        uint32_t *t = malloc(sizeof(uint32_t) * s->n_tasks);
        if (!t) {
            j->status = tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory");
            goto out;
        }
        for (uint32_t i = 0; i < s->n_tasks; i++) t[i] = i;
        tlp_rng_shuffle_u32(&r, t, s->n_tasks);
        size_t nv = (size_t)ceil(j->o.val_frac * (double)s->n_tasks);
        if (nv < 1) nv = 1;
        if (nv >= s->n_tasks) nv = s->n_tasks - 1;
        for (size_t i = 0; i < nv; i++) val_task[t[i]] = 1;
        free(t);
        for (size_t i = 0; i < n; i++) {
            if (val_task[s->task[i]]) val[n_val++] = (uint32_t)i;
            else train[n_train++] = (uint32_t)i;
        }
    } else {
        for (uint32_t i = 0; i < n; i++) order[i] = i;
        tlp_rng_shuffle_u32(&r, order, n);
        n_val = (size_t)((double)n * j->o.val_frac);
        if (n >= 2 && n_val == 0) n_val = 1;
        n_train = n - n_val;
        memcpy(train, order, n_train * sizeof *train);
        memcpy(val, order + n_train, n_val * sizeof *val);
        /* TLP takes the last 10% of its permutation as validation */
    }
    if (n_train == 0) {
        j->status = tlp_error_set(&j->err, TLP_EMPTY, NULL, 0, "no training samples after the split");
        goto out;
    }
    v.val = val;
    v.n_val = n_val;
    v.by_task = malloc(sizeof(uint32_t) * (n_val ? n_val : 1));
    v.score = malloc(sizeof(float) * (n_val ? n_val : 1));
    v.cost = malloc(sizeof(double) * (n_val ? n_val : 1));
    v.tscore = malloc(sizeof(float) * (n_val ? n_val : 1));
    if (!v.by_task || !v.score || !v.cost || !v.tscore) {
        j->status = tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n_val; i++) v.by_task[i] = i;
    val_order vo = {s->task, val};
    qsort_r(v.by_task, n_val, sizeof *v.by_task, by_val_task, &vo);

    p.steps_per_epoch = (long)((n_train + (size_t)B - 1) / (size_t)B);
    uint64_t total_steps = (uint64_t)j->o.epochs * (uint64_t)p.steps_per_epoch;
    double t0 = now_s(), seen = 0;
    size_t total_work = (size_t)j->o.epochs * (n_train + n_val);
    /* each network of an ensemble from the same random stream after the
     * split: as if it were trained alone */
    const tlp_rng r_split = r;
next_network:
    r = r_split;
    /* a resumed run replays the shuffles of the epochs it skips, so it
     * continues the random stream of the run it resumes */
    for (int ep = 1; ep <= j->meta.epochs_done; ep++) epoch_order(j, &r, train, n_train, order, runs);
    for (int ep = j->meta.epochs_done + 1; ep <= j->o.epochs; ep++) {
        p.epoch = ep;
        epoch_order(j, &r, train, n_train, order, runs);
        double sum = 0;
        long steps = 0;
        for (size_t a = 0; a < n_train; a += (size_t)B) {
            if (tlp__dist_any(atomic_load(&j->cancel))) goto cancelled; /* every rank stops at the same step */
            int nb = (int)(n_train - a < (size_t)B ? n_train - a : (size_t)B);
            gather(s, order + a, nb, &b, row);
            tlp_model_forward(j->m, b.x, nb, -1, b.out);
            double l = batch_loss(j, order + a, nb, &b, 1);
            tlp_model_zero_grads(j->m);
            tlp_model_backward(j->m, b.dout);
            if (j->o.freeze_trunk) /* only the heads learn: the trunk's gradient neither counts nor moves it */
                memset(tlp_model_grads(j->m), 0, sizeof(float) * tlp_model_trunk_params(j->m));
            tlp_clip_grad_norm(tlp_model_grads(j->m), np, j->o.clip);
            j->adam.lr = tlp_train_lr(&j->o, j->adam.t, total_steps);
            tlp_adam_step(&j->adam, tlp_model_params(j->m), tlp_model_grads(j->m));
            if (!isfinite(l)) {
                j->status = tlp_error_set(&j->err, TLP_NUMBER, NULL, 0,
                                          "the loss became %g at epoch %d step %ld; the previous model is kept", l,
                                          ep, steps + 1);
                goto out;
            }
            sum += l;
            steps++;
            seen += nb;
            p.step = steps;
            p.loss = sum / (double)steps;
            p.elapsed_s = now_s() - t0;
            p.samples_per_s = seen / p.elapsed_s;
            size_t done = (size_t)(ep - 1 - j->meta.epochs_done) * (n_train + n_val) + a + (size_t)nb;
            size_t left = total_work - (size_t)j->meta.epochs_done * (n_train + n_val) - done +
                          (size_t)(j->o.n_nets - 1 - j->net) * total_work;
            p.eta_s = p.samples_per_s > 0 ? (double)left / p.samples_per_s : NAN;
            publish(j, &p);
        }
        if (tlp__dist_any(atomic_load(&j->cancel))) goto cancelled;
        /* the epoch's candidate: the weights, or the mean of the last A
         * epochs' weights (swapped in for validation, then back) */
        float *P = tlp_model_params(j->m);
        if (A) {
            memcpy(ring + (size_t)(j->n_ring % A) * np, P, sizeof(float) * np);
            j->n_ring++;
            memcpy(saved, P, sizeof(float) * np);
            int k = tlp_ring_slots(j->n_ring, A);
            for (size_t i = 0; i < np; i++) {
                double acc = 0;
                for (int q = 0; q < k; q++) acc += ring[(size_t)q * np + i];
                P[i] = (float)(acc / k);
            }
        }
        double vl = p.loss, top1 = NAN, top5 = NAN;
        if (n_val) validate(j, &v, &b, row, &vl, &top1, &top5);
        p.val_loss = vl;
        p.val_top1 = top1;
        p.val_top5 = top5;
        if (p.n_hist < TLP_LOSS_HISTORY) {
            p.hist_train[p.n_hist] = (float)p.loss;
            p.hist_val[p.n_hist] = (float)vl;
            p.n_hist++;
        }
        j->meta.epochs_done = ep;
        j->meta.step = j->adam.t;
        /* the figure the kept epoch is chosen by: lower is better */
        double fig = vl;
        if (j->o.select == TLP_SELECT_TOPK && isfinite(top1)) fig = -(top1 + top5);
        int better = !j->best || isnan(p.best_val) || fig < p.best_val || j->o.select == TLP_SELECT_LAST;
        if (better) {
            p.best_val = fig;
            p.best_epoch = ep;
            j->meta.best_val = fig;
            j->meta.best_epoch = ep;
            if (!j->best) j->best = tlp_model_clone(j->m);
            else memcpy(tlp_model_params(j->best), P, sizeof(float) * np);
            if (!j->best) {
                j->status = tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory");
                goto out;
            }
            keep_state(j);
            j->best_meta = j->meta;
            autosave(j, &p);
        }
        if (A) memcpy(P, saved, sizeof(float) * np);
        publish(j, &p);
    }
    if (j->net + 1 < j->o.n_nets) {
        if ((j->status = next_net(j, &p)) != TLP_OK) goto out;
        np = tlp_model_n_params(j->m);
        publish(j, &p);
        goto next_network;
    }
    if (j->o.n_nets > 1) { /* the last network is finished too: the file says so */
        j->meta.nets_done = j->best_meta.nets_done = j->o.n_nets;
        autosave(j, &p);
    }
    p.state = TLP_JOB_DONE;
    goto out;
cancelled:
    p.state = TLP_JOB_CANCELLED;
out:
    if (j->status != TLP_OK) {
        p.state = TLP_JOB_FAILED;
        snprintf(p.msg, sizeof p.msg, "%s", j->err.msg);
    }
    publish(j, &p);
    free(train), free(val), free(order), free(runs), free(val_task), free(saved);
    free(v.by_task), free(v.score), free(v.cost), free(v.tscore);
    free(b.x), free(b.y), free(b.out), free(b.dout), free(b.mask);
    return NULL;
}

/* What a job holds besides itself (a job that fails to start, or is
 * finished). */
static void job_free_parts(tlp_job *j)
{
    tlp_model_free(j->best);
    tlp_model_free(j->m);
    tlp_model_free(j->ens);
    tlp_model_free(j->init);
    tlp_adam_free(&j->adam);
    tlp_train_state_free(&j->kept);
    free(j->ring);
    if (j->pipe[0] >= 0) close(j->pipe[0]), close(j->pipe[1]);
    pthread_mutex_destroy(&j->mu);
}

tlp_job *tlp_train_start(const tlp_samples *s, const tlp_train_opts *given, const tlp_model *init,
                         const tlp_train_meta *resume_meta, const tlp_train_state *resume, tlp_error *err)
{
    tlp_train_opts resolved = *given, *o = &resolved;
    tlp_train_resolve(o, s->mode);
    if (o->n_nets < 1) o->n_nets = 1;
    int K = o->n_nets, bad_enc = K > TLP_MAX_MEMBERS;
    for (int k = 0; k < K && !bad_enc; k++) bad_enc = (unsigned)o->encode[k] >= TLP_ENCODE_COUNT;
    if (o->epochs < 1 || o->epochs > 100000 || o->batch < 2 || o->batch > 65536 || !(o->lr > 0) ||
        !(o->val_frac >= 0 && o->val_frac < 1) || o->threads < 1 || o->threads > 256 || o->average < 0 ||
        o->average > 1000 || o->group < 0 || bad_enc || (unsigned)o->select > TLP_SELECT_LAST ||
        (unsigned)o->sched > TLP_SCHED_COSINE || (unsigned)o->failed > TLP_FAILED_DEMOTE) {
        tlp_error_set(err, TLP_ARG, NULL, 0,
                      "bad training settings (epochs 1..100000, batch 2..65536, lr > 0, average 0..1000, "
                      "1..%d networks)", TLP_MAX_MEMBERS);
        return NULL;
    }
    tlp_job *j = calloc(1, sizeof *j);
    if (!j) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    j->s = s;
    j->o = *o;
    j->pipe[0] = j->pipe[1] = -1;
    pthread_mutex_init(&j->mu, NULL);
    /* the network j->m starts from: init's (fine-tuning), the resumed one,
     * or a fresh one (start NULL) */
    const tlp_model *start = NULL;
    int resumed = 0; /* start is the network resume_meta and resume describe */
    if (init) {
        const tlp_model_config *c = tlp_model_config_of(init);
        int n_init = tlp_model_n_members(init);
        if (c->mode != s->mode || c->n_heads != s->n_heads) {
            tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d %s head%s, the data gives %d %s head%s",
                          c->n_heads, tlp_mode_name(c->mode), c->n_heads == 1 ? "" : "s", s->n_heads,
                          tlp_mode_name(s->mode), s->n_heads == 1 ? "" : "s");
            goto fail;
        }
        for (int h = 0; h < s->n_heads; h++)
            if (strcmp(c->heads[h], s->heads[h]) != 0) {
                tlp_error_set(err, TLP_ARG, NULL, 0, "head %d is \"%s\" in the model but \"%s\" here", h, c->heads[h],
                              s->heads[h]);
                goto fail;
            }
        for (int k = 0; k < n_init && k < K; k++) {
            tlp_encode e = tlp_model_config_of(tlp_model_member(init, k))->encode;
            if (e != o->encode[k]) {
                tlp_error_set(err, TLP_ARG, NULL, 0, "network %d of the model has %s tokens; the training wants %s",
                              k + 1, tlp_encode_name(e), tlp_encode_name(o->encode[k]));
                goto fail;
            }
        }
        int planned = resume_meta && resume_meta->n_nets > 0 ? resume_meta->n_nets : 1; /* 0: no training's plan */
        int done = planned > 1 ? resume_meta->nets_done : 0;
        if (!resume_meta && n_init != K) {
            tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d network%s; the training wants %d", n_init,
                          n_init == 1 ? "" : "s", K);
            goto fail;
        }
        if (resume_meta && (planned != K || done < 0 || done > n_init || n_init > done + 1)) {
            tlp_error_set(err, TLP_ARG, NULL, 0,
                          "the model's training made %d network%s, %d of them finished, and the model has %d; "
                          "this training makes %d",
                          planned, planned > 1 ? "s" : "", done, n_init, K);
            goto fail;
        }
        if (resume_meta && done >= K) {
            tlp_error_set(err, TLP_ARG, NULL, 0, "the model's %d networks are trained already (%d epochs each)", K,
                          resume_meta->epochs);
            goto fail;
        }
        for (int k = 0; k < done; k++) { /* resuming: the finished networks stay as they are */
            tlp_model *net = tlp_model_clone_net(tlp_model_member(init, k));
            if (!net || (j->ens && tlp_model_add_member(j->ens, net, err) != TLP_OK)) {
                if (!net) tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
                tlp_model_free(net);
                goto fail;
            }
            if (!j->ens) j->ens = net;
        }
        j->net = done;
        j->meta.nets_done = done;
        start = tlp_model_member(init, done); /* NULL: network `done` has not started */
        resumed = resume_meta && start;
        if (!resume_meta && !(j->init = tlp_model_clone(init))) {
            tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            goto fail;
        }
        if (resume_meta && !start && resume_meta->fine) {
            tlp_error_set(err, TLP_ARG, NULL, 0,
                          "network %d of %d had not started, and it was to start from the model the run "
                          "fine-tuned, which is not in the file: start the training again from that model",
                          done + 1, K);
            goto fail;
        }
    }
    if (start && !(j->m = tlp_model_clone_net(start))) tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    if (!start) j->m = net_start(j, j->net, err);
    size_t np = j->m ? tlp_model_n_params(j->m) : 0, A = (size_t)o->average;
    if (j->m) {
        j->kept.m = malloc(sizeof(float) * np);
        j->kept.v = malloc(sizeof(float) * np);
        if (A) j->ring = malloc(sizeof(float) * np * A), j->kept.ring = malloc(sizeof(float) * np * A);
    }
    if (!j->m || !j->kept.m || !j->kept.v || (A && (!j->ring || !j->kept.ring)) ||
        tlp_adam_init(&j->adam, np, o->lr, o->weight_decay) != TLP_OK || pipe(j->pipe) != 0) {
        if (j->m) tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start training: %s", strerror(errno));
        goto fail;
    }
    fcntl(j->pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(j->pipe[1], F_SETFL, O_NONBLOCK);
    if (o->freeze_trunk) j->adam.from = tlp_model_trunk_params(j->m);
    static const char *const SELECT[] = {"loss", "topk", "last"}, *const SCHED[] = {"const", "cosine"};
    snprintf(j->meta.recipe, sizeof j->meta.recipe, "%s", o->recipe[0] ? o->recipe : "custom");
    snprintf(j->meta.select, sizeof j->meta.select, "%s", SELECT[o->select <= TLP_SELECT_LAST ? o->select : 0]);
    snprintf(j->meta.sched, sizeof j->meta.sched, "%s", SCHED[o->sched == TLP_SCHED_COSINE]);
    snprintf(j->meta.failed, sizeof j->meta.failed, "%s", o->failed == TLP_FAILED_DEMOTE ? "demote" : "keep");
    j->meta.average = o->average;
    j->meta.group = o->group;
    snprintf(j->meta.note, sizeof j->meta.note, "%s", o->note);
    snprintf(j->meta.loss, sizeof j->meta.loss, "%s", o->loss == TLP_LOSS_MSE ? "mse" : "rank");
    snprintf(j->meta.pairs, sizeof j->meta.pairs, "%s", o->pairs == TLP_PAIRS_TASK ? "task" : "batch");
    snprintf(j->meta.split, sizeof j->meta.split, "%s", o->split == TLP_SPLIT_RECORD ? "record" : "task");
    j->meta.lr = o->lr;
    j->meta.weight_decay = o->weight_decay;
    j->meta.clip = o->clip;
    j->meta.batch = j->o.batch;
    j->meta.epochs = o->epochs;
    j->meta.seed = o->seed;
    j->meta.best_val = NAN;
    j->meta.n_nets = K;
    memcpy(j->meta.nets, o->encode, sizeof j->meta.nets);
    j->meta.fine = init && !resume_meta ? 1 : resume_meta ? resume_meta->fine : 0;
    if (resume_meta && K > 1 && resume_meta->epochs != o->epochs) {
        tlp_error_set(err, TLP_ARG, NULL, 0,
                      "the networks of an ensemble train for the same epochs: %d, as the model's run asked",
                      resume_meta->epochs);
        goto fail;
    }
    if (resumed) {
        if (resume_meta->epochs_done >= o->epochs) {
            tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d epochs already; ask for more than that",
                          resume_meta->epochs_done);
            goto fail;
        }
        j->meta.epochs_done = resume_meta->epochs_done > 0 ? resume_meta->epochs_done : 0;
        j->meta.step = resume_meta->step;
        j->adam.t = resume_meta->step;
    }
    if (resumed && isfinite(resume_meta->best_val)) {
        /* the resumed model is the best so far until an epoch beats it */
        j->best = tlp_model_clone_net(start);
        j->meta.best_val = resume_meta->best_val;
        j->prog.best_val = resume_meta->best_val;
        j->prog.best_epoch = resume_meta->epochs_done;
    }
    if (resumed && resume && resume->m && resume->v) {
        memcpy(j->adam.m, resume->m, sizeof(float) * j->adam.n);
        memcpy(j->adam.v, resume->v, sizeof(float) * j->adam.n);
    }
    if (resumed && resume && resume->ring && tlp_ring_slots(resume->n_ring, resume_meta->average) > 0) {
        /* the saved weights are a mean: training goes on from the last
         * epoch's own weights, and with the same averaging, from its ring */
        int last = (resume->n_ring - 1) % resume_meta->average;
        memcpy(tlp_model_params(j->m), resume->ring + (size_t)last * np, sizeof(float) * np);
        if ((size_t)resume_meta->average == A) {
            memcpy(j->ring, resume->ring, sizeof(float) * np * (size_t)tlp_ring_slots(resume->n_ring, A));
            j->n_ring = resume->n_ring;
        }
    }
    keep_state(j);
    j->best_meta = j->meta;
    j->prog.state = TLP_JOB_RUNNING;
    j->prog.epochs = o->epochs;
    j->prog.net = j->net + 1;
    j->prog.nets = K;
    j->prog.net_encode = o->encode[j->net];
    j->prog.val_loss = j->prog.val_top1 = j->prog.val_top5 = NAN;
    if (!j->best) j->prog.best_val = NAN;
    if (pthread_create(&j->thread, NULL, worker, j) != 0) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start the training thread");
        goto fail;
    }
    j->started = 1;
    return j;
fail:
    job_free_parts(j);
    free(j);
    return NULL;
}

void tlp_job_progress(tlp_job *j, tlp_progress *out)
{
    pthread_mutex_lock(&j->mu);
    *out = j->prog;
    pthread_mutex_unlock(&j->mu);
}

int tlp_job_fd(const tlp_job *j) { return j->pipe[0]; }
void tlp_job_cancel(tlp_job *j) { atomic_store(&j->cancel, 1); }

tlp_status tlp_job_finish(tlp_job *j, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                          tlp_error *err)
{
    if (!j->joined) pthread_join(j->thread, NULL);
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(j->scores[h]);
    tlp_status s = j->status;
    if (s != TLP_OK && err) *err = j->err;
    if (best && j->ens) {
        *best = ensemble_copy(j);
        if (!*best && s == TLP_OK) s = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory for the model");
    } else if (best) {
        *best = j->best;
        j->best = NULL;
    }
    if (meta) *meta = kept_meta(j);
    if (state) {
        *state = j->kept;
        memset(&j->kept, 0, sizeof j->kept);
    }
    job_free_parts(j);
    free(j);
    return s;
}

/* ------------------------------------------------------------ inference */

/* One network's scores of every record of its mode on nh heads: scores[k][i]
 * for head heads[k] (NAN for records of the other mode). */
static tlp_status predict_net(tlp_model *m, const tlp_dataset *ds, const int *heads, int nh, float **scores,
                              int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    const tlp_model_config *c = tlp_model_config_of(m);
    int L = tlp_mode_seq(c->mode), F = tlp_mode_fea(c->mode), B = 512;
    size_t row = (size_t)L * (size_t)F, n = tlp_dataset_n_records(ds);
    float *x = malloc(sizeof(float) * row * (size_t)B), *out = malloc(sizeof(float) * (size_t)B * (size_t)nh);
    uint32_t *idx = malloc(sizeof(uint32_t) * (size_t)B);
    if (!x || !out || !idx || tlp_model_reserve(m, B, 0, err) != TLP_OK) {
        free(x), free(out), free(idx);
        return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    }
    int nb = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            const tlp_rec *r = tlp_dataset_rec(ds, i);
            if (tlp_dataset_task(ds, r->task)->mode != c->mode) {
                for (int k = 0; k < nh; k++) scores[k][i] = NAN;
                continue;
            }
            tlp_dataset_features(ds, i, x + (size_t)nb * row);
            idx[nb++] = (uint32_t)i;
        }
        if (nb == B || (i == n && nb > 0)) {
            tlp_model_forward_heads(m, x, nb, heads, nh, out);
            for (int k = 0; k < nh; k++)
                for (int b = 0; b < nb; b++) scores[k][idx[b]] = out[(size_t)k * (size_t)nb + (size_t)b];
            nb = 0;
            if (progress && progress(ctx, (double)(i < n ? i + 1 : n) / (double)(n ? n : 1))) {
                free(x), free(out), free(idx);
                return tlp_error_set(err, TLP_ARG, NULL, 0, "cancelled");
            }
        }
    }
    free(x), free(out), free(idx);
    return TLP_OK;
}

typedef struct {
    int (*progress)(void *ctx, double frac);
    void *ctx;
    int k, K;
} member_ctx;

static int member_progress(void *ctx, double frac)
{
    member_ctx *c = ctx;
    return c->progress(c->ctx, ((double)c->k + frac) / (double)c->K);
}

/* Add one network's scores, standardised within each task, into sum. */
static void add_standardised(const tlp_dataset *ds, const float *one, double *sum)
{
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        double s1 = 0, s2 = 0;
        uint32_t c = 0;
        for (uint32_t r = 0; r < tk->n_records; r++) {
            float v = one[tk->records[r]];
            if (isfinite(v)) s1 += v, s2 += (double)v * v, c++;
        }
        if (!c) { /* no score from this network: none from the ensemble */
            for (uint32_t r = 0; r < tk->n_records; r++) sum[tk->records[r]] = NAN;
            continue;
        }
        double mean = s1 / c, var = s2 / c - mean * mean, sd = var > 0 ? sqrt(var) : 0;
        if (!(sd > 1e-12 * fmax(1, fabs(mean)))) sd = 1;
        for (uint32_t r = 0; r < tk->n_records; r++) {
            uint32_t i = tk->records[r];
            sum[i] += isfinite(one[i]) ? (one[i] - mean) / sd : NAN;
        }
    }
}

tlp_status tlp_predict_heads(tlp_model *m, const tlp_dataset *ds, const int *heads, int nh, float **scores,
                             int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    const tlp_model_config *cfg = tlp_model_config_of(m);
    if (nh < 1 || nh > cfg->n_heads) return tlp_error_set(err, TLP_ARG, NULL, 0, "%d heads of %d", nh, cfg->n_heads);
    for (int k = 0; k < nh; k++)
        if (heads[k] < 0 || heads[k] >= cfg->n_heads) return tlp_error_set(err, TLP_ARG, NULL, 0, "no head %d", heads[k]);
    int K = tlp_model_n_members(m);
    if (K == 1) return predict_net(m, ds, heads, nh, scores, progress, ctx, err);
    /* an ensemble: the mean over its networks of their scores standardised
     * within each task */
    size_t n = tlp_dataset_n_records(ds), nn = n ? n : 1;
    float *one[TLP_MAX_HEADS];
    double *sum = calloc(nn * (size_t)nh, sizeof(double));
    float *buf = malloc(sizeof(float) * nn * (size_t)nh);
    if (!sum || !buf) {
        free(sum), free(buf);
        return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    }
    for (int h = 0; h < nh; h++) one[h] = buf + (size_t)h * nn;
    tlp_status st = TLP_OK;
    for (int k = 0; k < K && st == TLP_OK; k++) {
        member_ctx mc = {progress, ctx, k, K};
        st = predict_net(tlp_model_member(m, k), ds, heads, nh, one, progress ? member_progress : NULL, &mc, err);
        for (int h = 0; st == TLP_OK && h < nh; h++) add_standardised(ds, one[h], sum + (size_t)h * nn);
    }
    /* records of the other mode are NAN already: no network scored their task */
    for (int h = 0; st == TLP_OK && h < nh; h++)
        for (size_t i = 0; i < n; i++) scores[h][i] = (float)(sum[(size_t)h * nn + i] / K);
    free(sum), free(buf);
    return st;
}

tlp_status tlp_predict(tlp_model *m, const tlp_dataset *ds, int head, float *scores,
                       int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    return tlp_predict_heads(m, ds, &head, 1, &scores, progress, ctx, err);
}

/* ------------------------------------------------------------ prediction jobs */

typedef struct {
    tlp_job *j;
    tlp_progress *p;
} pred_ctx;

static int pred_progress(void *ctx, double frac)
{
    pred_ctx *c = ctx;
    c->p->frac = frac;
    publish(c->j, c->p);
    return atomic_load(&c->j->cancel);
}

static void *predict_worker(void *arg)
{
    tlp_job *j = arg;
    tlp_progress p = j->prog;
    int H = tlp_model_config_of(j->m)->n_heads, heads[TLP_MAX_HEADS];
    size_t n = tlp_dataset_n_records(j->pds);
    for (int h = 0; h < H && j->status == TLP_OK; h++) {
        heads[h] = h;
        if (!(j->scores[h] = malloc(sizeof(float) * (n ? n : 1))))
            j->status = tlp_error_set(&j->err, TLP_NOMEM, NULL, 0, "out of memory");
    }
    pred_ctx c = {j, &p};
    if (j->status == TLP_OK)
        j->status = tlp_predict_heads(j->m, j->pds, heads, H, j->scores, pred_progress, &c, &j->err);
    if (atomic_load(&j->cancel)) p.state = TLP_JOB_CANCELLED;
    else if (j->status != TLP_OK) {
        p.state = TLP_JOB_FAILED;
        snprintf(p.msg, sizeof p.msg, "%s", j->err.msg);
    } else {
        p.state = TLP_JOB_DONE;
        p.frac = 1;
    }
    publish(j, &p);
    return NULL;
}

tlp_job *tlp_predict_start(const tlp_model *m, const tlp_dataset *ds, tlp_error *err)
{
    tlp_job *j = calloc(1, sizeof *j);
    if (!j) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    j->pipe[0] = j->pipe[1] = -1;
    pthread_mutex_init(&j->mu, NULL);
    j->pds = ds;
    j->m = tlp_model_clone(m);
    if (!j->m || pipe(j->pipe) != 0) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start predicting");
        goto fail;
    }
    fcntl(j->pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(j->pipe[1], F_SETFL, O_NONBLOCK);
    j->prog.state = TLP_JOB_RUNNING;
    j->prog.val_loss = j->prog.best_val = j->prog.val_top1 = j->prog.val_top5 = NAN;
    if (pthread_create(&j->thread, NULL, predict_worker, j) != 0) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start the prediction thread");
        goto fail;
    }
    j->started = 1;
    return j;
fail:
    job_free_parts(j);
    free(j);
    return NULL;
}

float *tlp_job_take_scores(tlp_job *j, int h)
{
    if (h < 0 || h >= TLP_MAX_HEADS) return NULL;
    if (!j->joined) { /* waits for the job if it is still running */
        pthread_join(j->thread, NULL);
        j->joined = 1;
    }
    float *s = j->scores[h];
    j->scores[h] = NULL;
    return s;
}
