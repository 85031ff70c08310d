/*
 * train.c: the trainer (spec §4.2, §5), run on a background job's thread
 * (job.c).  It trains its own copy of the model: each epoch a shuffle of
 * the training samples cut into batches, each batch a step (gather,
 * forward, loss, backward, clipping, Adam); at the end of an epoch the
 * candidate (the weights, or the mean of the last epochs' weights) is
 * validated and, if it is the best so far by the chosen figure, kept and
 * handed to o.on_kept.  Several networks (an ensemble) are trained in turn
 * from the same split and random stream, each exactly as a training of it
 * alone.  The caller's model is never touched; the result is handed over
 * only by tlp_job_finish.  A resumed training goes on bit for bit: what a
 * run keeps across epochs is in tlp_train_state.
 */
#include "train/train_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ the state to resume */

int tlp_ring_slots(int n_ring, int average)
{
    if (n_ring < 1 || average < 1) return 0;
    return n_ring < average ? n_ring : average;
}

void tlp_train_state_free(tlp_train_state *st)
{
    if (!st) return;
    free(st->m);
    free(st->v);
    free(st->ring);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------ a training's work */

typedef struct {
    const tlp_samples *s;
    tlp_train_opts o;           /* resolved: no TLP_BY_MODE */
    tlp_model *m, *best;        /* the network in training; its kept weights */
    tlp_adam adam;
    tlp_train_meta meta;        /* the run as it stands */
    /* the state at the kept epoch: what tlp_job_finish hands over */
    tlp_train_state kept;       /* Adam's moments and the ring at that epoch */
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
    /* what the run trains on: per head, the tasks (tlp_workload_hash) and
     * the dataset tasks that give their targets (origin_of_run) */
    uint64_t *o_hash[TLP_MAX_HEADS];
    uint32_t *o_task[TLP_MAX_HEADS];
    size_t n_o[TLP_MAX_HEADS];
    /* resuming a model that knows what it was trained on: that, per head
     * (sorted), to refuse other data (same_data) */
    uint64_t *was_hash[TLP_MAX_HEADS];
    size_t n_was[TLP_MAX_HEADS];
    int check_data, was_fine;
    int refused; /* the run did not start (other data): it hands over no model */
    tlp_status status;
    tlp_error err;
} trainer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
        tlp_dataset_features(s->ds, s->rec[idx[i]], s->L, b->x + (size_t)i * row);
        for (int h = 0; h < H; h++) {
            b->y[(size_t)h * n + i] = s->label[(size_t)idx[i] * H + h];
            b->mask[(size_t)h * n + i] = s->have[(size_t)idx[i] * H + h];
        }
    }
}

/* The loss of a gathered batch over every head, and dout when want_grad. */
static double batch_loss(const trainer *t, const uint32_t *idx, int n, batch_bufs *b, int want_grad)
{
    const tlp_samples *s = t->s;
    int H = s->n_heads;
    double total = 0;
    for (int h = 0; h < H; h++) {
        const float *out = b->out + (size_t)h * n, *y = b->y + (size_t)h * n;
        const uint8_t *mk = b->mask + (size_t)h * n;
        float *dout = b->dout + (size_t)h * n;
        if (t->o.loss == TLP_LOSS_MSE) {
            total += tlp_loss_mse(out, y, mk, n, want_grad ? dout : NULL);
            continue;
        }
        if (t->o.pairs == TLP_PAIRS_BATCH) {
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
static void epoch_order(trainer *t, tlp_rng *r, const uint32_t *train, size_t n, uint32_t *order, uint32_t *runs)
{
    memcpy(order, train, n * sizeof *order);
    tlp_rng_shuffle_u32(r, order, n);
    if (t->o.pairs != TLP_PAIRS_TASK) return;
    qsort_r(order, n, sizeof *order, cmp_u32_by_key, t->s->task);
    size_t nr = 0, G = t->o.group > 0 ? (size_t)t->o.group : 128;
    for (size_t a = 0; a < n;) {
        size_t e = a;
        while (e < n && e - a < G && t->s->task[order[e]] == t->s->task[order[a]]) e++;
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
        while (e < n && e - a < G && t->s->task[order[e]] == t->s->task[order[a]]) e++;
        for (size_t i = a; i < e; i++) tmp[w++] = order[i];
    }
    memcpy(order, tmp, n * sizeof *order);
    free(tmp);
}

/* How good the model in t->m is on the validation samples: the loss (as
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

static void validate(trainer *t, val_set *v, batch_bufs *b, size_t row, double *loss, double *top1, double *top5)
{
    const tlp_samples *s = t->s;
    int B = t->o.batch, H = s->n_heads;
    double vsum = 0;
    for (size_t a = 0; a < v->n_val; a += (size_t)B) {
        int nb = (int)(v->n_val - a < (size_t)B ? v->n_val - a : (size_t)B);
        gather(s, v->val + a, nb, b, row);
        tlp_model_forward(t->m, b->x, nb, -1, b->out);
        vsum += batch_loss(t, v->val + a, nb, b, 0);
        for (int i = 0; i < nb; i++) v->score[a + (size_t)i] = b->out[i]; /* head 0 */
    }
    *loss = vsum;
    /* top-k per validation task on head 0 */
    int ks[2] = {1, 5};
    tlp_eval_sum sum;
    tlp_eval_sum_init(&sum, ks, 2);
    for (size_t a = 0; a < v->n_val;) {
        size_t e = a;
        uint32_t task = s->task[v->val[v->by_task[a]]];
        int n = 0;
        for (; e < v->n_val && s->task[v->val[v->by_task[e]]] == task; e++) {
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


/* The meta saved with the kept model: the kept epoch's weights, Adam
 * moments and the step and epoch count they belong to, so --resume
 * continues from it; the run's figure and length. */
static tlp_train_meta kept_meta(const trainer *t)
{
    tlp_train_meta m = t->best_meta;
    m.epochs = t->meta.epochs;
    return m;
}

/* An ensemble's model as a save or the finish hands it over, a new copy:
 * the finished networks, then the kept one of the network in training (if
 * an epoch of it was kept).  NULL when out of memory. */
static tlp_model *ensemble_copy(const trainer *t)
{
    tlp_model *m = tlp_model_clone(t->ens), *b = t->best ? tlp_model_clone_net(t->best) : NULL;
    if (!m || (t->best && (!b || tlp_model_add_member(m, b, NULL) != TLP_OK))) {
        tlp_model_free(m), tlp_model_free(b);
        return NULL;
    }
    return m;
}

/* The state that goes with the kept weights, for --resume: Adam's moments
 * and the averaging ring as they are now. */
static void keep_state(trainer *t)
{
    memcpy(t->kept.m, t->adam.m, sizeof(float) * t->adam.n);
    memcpy(t->kept.v, t->adam.v, sizeof(float) * t->adam.n);
    int slots = tlp_ring_slots(t->n_ring, t->o.average);
    t->kept.n_ring = t->n_ring;
    if (slots) memcpy(t->kept.ring, t->ring, sizeof(float) * t->adam.n * (size_t)slots);
}

/* Add what the run trains on to m's heads (they keep what they had: a
 * fine-tuned head was trained on both). */
static tlp_status stamp_origin(const trainer *t, tlp_model *m)
{
    tlp_status st = TLP_OK;
    for (int h = 0; h < t->s->n_heads && st == TLP_OK; h++) {
        int g = tlp_model_head(m, t->s->heads[h]);
        if (g < 0) continue;
        for (size_t i = 0; i < t->n_o[h] && st != TLP_NOMEM; i++)
            st = tlp_model_origin_add(m, g, tlp_dataset_task(t->s->ds, t->o_task[h][i])->target, NULL, 0);
        if (st != TLP_NOMEM) st = tlp_model_origin_add(m, g, NULL, t->o_hash[h], t->n_o[h]);
    }
    return st == TLP_NOMEM ? st : TLP_OK; /* past TLP_ORIGIN_TARGETS targets: the first ones */
}

/* Hand the kept model to o.on_kept (after an epoch that changed it, and
 * when a network of an ensemble is finished), so a killed or interrupted
 * run loses at most the epochs since; the progress counts the saves. */
static void autosave(trainer *t, tlp_progress *p)
{
    if (!t->o.on_kept) return;
    double t0 = now_s();
    tlp_train_meta m = kept_meta(t);
    tlp_error e = {0};
    tlp_model *copy = t->ens ? ensemble_copy(t) : NULL;
    tlp_model *km = t->ens ? copy : t->best;
    if (!km || stamp_origin(t, km) != TLP_OK) snprintf(p->save_error, sizeof p->save_error, "out of memory for the model to save");
    else if (t->o.on_kept(t->o.kept_ctx, km, &m, &t->kept, &e) != TLP_OK)
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
static tlp_model *net_start(const trainer *t, int k, tlp_error *err)
{
    tlp_model *m;
    if (t->init) m = tlp_model_clone_net(tlp_model_member(t->init, k));
    else {
        tlp_model_config c = {t->s->mode, t->s->n_heads, {{0}}, t->o.encode[k], t->s->L};
        memcpy(c.heads, t->s->heads, sizeof c.heads);
        m = tlp_model_new(&c, t->o.seed, err);
    }
    if (m) tlp_model_set_exact_padding(m, t->o.padding == TLP_PADDING_EXACT);
    return m;
}

/* The network in training is finished: it joins the ensemble, the file
 * says so, and the next one starts from nothing but its initial weights. */
static tlp_status next_net(trainer *t, tlp_progress *p)
{
    if (t->best) { /* an ensemble of its kept weights (the network has finished) */
        if (!t->ens) t->ens = t->best;
        else if (tlp_model_add_member(t->ens, t->best, &t->err) != TLP_OK) return t->err.status;
        t->best = NULL;
    }
    t->meta.nets_done = t->best_meta.nets_done = ++t->net;
    autosave(t, p);
    tlp_model_free(t->m);
    if (!(t->m = net_start(t, t->net, &t->err)))
        return t->err.status ? t->err.status
                             : tlp_error_set(&t->err, TLP_NOMEM, NULL, 0, "out of memory for network %d", t->net + 1);
    if (tlp_model_reserve(t->m, t->o.batch, 1, &t->err) != TLP_OK) return t->err.status;
    memset(t->adam.m, 0, sizeof(float) * t->adam.n);
    memset(t->adam.v, 0, sizeof(float) * t->adam.n);
    t->adam.t = 0;
    t->n_ring = 0;
    t->meta.epochs_done = 0;
    t->meta.step = 0;
    t->meta.best_val = NAN;
    t->meta.best_epoch = 0;
    p->net = t->net + 1;
    p->net_encode = t->o.encode[t->net];
    p->best_val = p->val_loss = p->val_top1 = p->val_top5 = NAN;
    p->best_epoch = 0;
    return TLP_OK;
}

/* ------------------------------------------------------------ a run */

/* What one run holds from its split to its end: the split, each epoch's
 * order, the batch and validation buffers, the clock. */
typedef struct {
    uint32_t *train, *val, *order, *runs;
    uint8_t *val_task;
    size_t n_train, n_val;
    val_set v;
    batch_bufs b;
    float *saved;               /* the weights while their mean is validated */
    size_t row;                 /* floats of one sample's raw features */
    uint64_t total_steps;       /* of each network */
    size_t total_work;          /* samples seen by each network's epochs */
    double t0, seen;
} run_t;

static tlp_status fail(trainer *t, tlp_status s, const char *msg)
{
    return t->status = tlp_error_set(&t->err, s, NULL, 0, "%s", msg);
}

static tlp_status run_alloc(trainer *t, run_t *r)
{
    const tlp_samples *s = t->s;
    size_t n = s->n ? s->n : 1, H = (size_t)s->n_heads, B = (size_t)t->o.batch;
    r->row = (size_t)s->L * (size_t)tlp_mode_fea(s->mode);
    r->train = malloc(sizeof(uint32_t) * n), r->val = malloc(sizeof(uint32_t) * n);
    r->order = malloc(sizeof(uint32_t) * n), r->runs = malloc(sizeof(uint32_t) * n);
    r->val_task = calloc(s->n_tasks ? s->n_tasks : 1, 1);
    if (t->o.average > 0) r->saved = malloc(sizeof(float) * tlp_model_n_params(t->m));
    r->b.x = malloc(sizeof(float) * r->row * B);
    r->b.y = malloc(sizeof(float) * H * B);
    r->b.out = malloc(sizeof(float) * H * B);
    r->b.dout = malloc(sizeof(float) * H * B);
    r->b.mask = malloc(H * B);
    if (!r->train || !r->val || !r->order || !r->runs || !r->val_task || !r->b.x || !r->b.y || !r->b.out ||
        !r->b.dout || !r->b.mask || (t->o.average > 0 && (!t->ring || !r->saved)) ||
        tlp_model_reserve(t->m, t->o.batch, 1, &t->err) != TLP_OK)
        return t->status = tlp_error_set(&t->err, TLP_NOMEM, NULL, 0, "out of memory for a batch of %d", t->o.batch);
    return TLP_OK;
}

static void run_free(run_t *r)
{
    free(r->train), free(r->val), free(r->order), free(r->runs), free(r->val_task), free(r->saved);
    free(r->v.by_task), free(r->v.score), free(r->v.cost), free(r->v.tscore);
    free(r->b.x), free(r->b.y), free(r->b.out), free(r->b.dout), free(r->b.mask);
}

/* The validation samples: none (val 0: the kept epoch is the one of least
 * training loss), the samples of a share of the tasks (split task), or the
 * last share of a permutation of the samples (split record, as TLP). */
static tlp_status split(trainer *t, tlp_rng *rng, run_t *r)
{
    const tlp_samples *s = t->s;
    size_t n = s->n;
    if (t->o.val_frac <= 0) {
        for (uint32_t i = 0; i < n; i++) r->train[r->n_train++] = i;
    } else if (t->o.split == TLP_SPLIT_TASK && s->n_tasks >= 2) {
        uint32_t *tasks = malloc(sizeof(uint32_t) * s->n_tasks);
        if (!tasks) return fail(t, TLP_NOMEM, "out of memory");
        for (uint32_t i = 0; i < s->n_tasks; i++) tasks[i] = i;
        tlp_rng_shuffle_u32(rng, tasks, s->n_tasks);
        size_t nv = (size_t)ceil(t->o.val_frac * (double)s->n_tasks);
        if (nv < 1) nv = 1;
        if (nv >= s->n_tasks) nv = s->n_tasks - 1;
        for (size_t i = 0; i < nv; i++) r->val_task[tasks[i]] = 1;
        free(tasks);
        for (size_t i = 0; i < n; i++) {
            if (r->val_task[s->task[i]]) r->val[r->n_val++] = (uint32_t)i;
            else r->train[r->n_train++] = (uint32_t)i;
        }
    } else {
        for (uint32_t i = 0; i < n; i++) r->order[i] = i;
        tlp_rng_shuffle_u32(rng, r->order, n);
        r->n_val = (size_t)((double)n * t->o.val_frac);
        if (n >= 2 && r->n_val == 0) r->n_val = 1;
        r->n_train = n - r->n_val;
        memcpy(r->train, r->order, r->n_train * sizeof *r->train);
        memcpy(r->val, r->order + r->n_train, r->n_val * sizeof *r->val);
    }
    if (r->n_train == 0) return fail(t, TLP_EMPTY, "no training samples after the split");
    return TLP_OK;
}

/* The validation samples grouped by task, for the top-k figures. */
static tlp_status validation_order(trainer *t, run_t *r)
{
    size_t n = r->n_val ? r->n_val : 1;
    val_set *v = &r->v;
    v->val = r->val;
    v->n_val = r->n_val;
    v->by_task = malloc(sizeof(uint32_t) * n);
    v->score = malloc(sizeof(float) * n);
    v->cost = malloc(sizeof(double) * n);
    v->tscore = malloc(sizeof(float) * n);
    if (!v->by_task || !v->score || !v->cost || !v->tscore) return fail(t, TLP_NOMEM, "out of memory");
    for (uint32_t i = 0; i < r->n_val; i++) v->by_task[i] = i;
    val_order vo = {t->s->task, r->val};
    qsort_r(v->by_task, r->n_val, sizeof *v->by_task, by_val_task, &vo);
    return TLP_OK;
}

/* What the run trains each head on: the tasks of the dataset with a
 * sample of that head in the training share (a task held out for
 * validation is not trained on). */
static tlp_status origin_of_run(trainer *t, const run_t *r)
{
    const tlp_samples *s = t->s;
    size_t H = (size_t)s->n_heads, nt = tlp_dataset_n_tasks(s->ds);
    uint8_t *seen = calloc(s->n_tasks * H + 1, 1);
    if (!seen) return fail(t, TLP_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_train; i++)
        for (size_t h = 0; h < H; h++)
            if (s->have[(size_t)r->train[i] * H + h]) seen[(size_t)s->task[r->train[i]] * H + h] = 1;
    for (size_t h = 0; h < H && t->status == TLP_OK; h++) {
        t->o_hash[h] = malloc(sizeof(uint64_t) * (nt + 1));
        t->o_task[h] = malloc(sizeof(uint32_t) * (nt + 1));
        if (!t->o_hash[h] || !t->o_task[h]) fail(t, TLP_NOMEM, "out of memory");
        for (size_t k = 0; k < nt && t->status == TLP_OK; k++) {
            if (s->ds_head[k] != (int)h || !seen[(size_t)s->ds_canon[k] * H + h]) continue;
            t->o_task[h][t->n_o[h]] = (uint32_t)k;
            t->o_hash[h][t->n_o[h]++] = tlp_workload_hash(tlp_dataset_task(s->ds, k)->workload_key);
        }
    }
    free(seen);
    return t->status;
}

/* A resumed run must train on what the run it resumes trained on: per
 * head, the same tasks (a fine-tuning's model also knows its first
 * training's, so there only new tasks tell).  Other data would go on
 * silently with another split, a model of neither. */
static tlp_status same_data(trainer *t)
{
    if (!t->check_data) return TLP_OK;
    for (int h = 0; h < t->s->n_heads; h++) {
        size_t n = t->n_o[h], k = 0, fresh = 0, common = 0;
        uint64_t *run = malloc(sizeof(uint64_t) * (n + 1));
        if (!run) return fail(t, TLP_NOMEM, "out of memory");
        memcpy(run, t->o_hash[h], sizeof(uint64_t) * n);
        qsort(run, n, sizeof *run, tlp__cmp_u64);
        for (size_t i = 0; i < n; i++) {
            if (i && run[i] == run[i - 1]) continue;
            while (k < t->n_was[h] && t->was_hash[h][k] < run[i]) k++;
            if (k < t->n_was[h] && t->was_hash[h][k] == run[i]) common++;
            else fresh++;
        }
        free(run);
        size_t missing = t->was_fine ? 0 : t->n_was[h] - common;
        if (fresh || missing) {
            char msg[600], gone[96] = "";
            if (!t->was_fine) snprintf(gone, sizeof gone, "%zu of them are missing here and ", missing);
            snprintf(msg, sizeof msg,
                     "the training tasks are not those of the resumed training: head %s had %zu; %s%zu are new.  "
                     "Resume with the same DATA in the same order and the same --seed and split settings, or "
                     "start from the model with --init",
                     t->s->heads[h], t->n_was[h], gone, fresh);
            t->refused = 1;
            return fail(t, TLP_ARG, msg);
        }
    }
    return TLP_OK;
}

/* One optimiser step on the batch idx[0..nb): its loss. */
static double train_step(trainer *t, run_t *r, const uint32_t *idx, int nb)
{
    size_t np = tlp_model_n_params(t->m);
    gather(t->s, idx, nb, &r->b, r->row);
    tlp_model_forward(t->m, r->b.x, nb, -1, r->b.out);
    double l = batch_loss(t, idx, nb, &r->b, 1);
    tlp_model_zero_grads(t->m);
    tlp_model_backward(t->m, r->b.dout);
    if (t->o.freeze_trunk) /* only the heads learn: the trunk's gradient neither counts nor moves it */
        memset(tlp_model_grads(t->m), 0, sizeof(float) * tlp_model_trunk_params(t->m));
    tlp_clip_grad_norm(tlp_model_grads(t->m), np, t->o.clip);
    t->adam.lr = tlp_train_lr(&t->o, t->adam.t, r->total_steps);
    tlp_adam_step(&t->adam, tlp_model_params(t->m), tlp_model_grads(t->m));
    return l;
}

/* The steps of epoch ep over r->order: TLP_JOB_RUNNING when it ended, else
 * how the run ends (cancelled, or failed with t->status set). */
static tlp_job_state run_epoch(trainer *t, tlp_job *job, run_t *r, tlp_progress *p, int ep)
{
    size_t B = (size_t)t->o.batch, per_epoch = r->n_train + r->n_val;
    double sum = 0;
    long steps = 0;
    for (size_t a = 0; a < r->n_train; a += B) {
        if (tlp__dist_any(tlp__job_cancelled(job))) return TLP_JOB_CANCELLED; /* every rank stops at the same step */
        int nb = (int)(r->n_train - a < B ? r->n_train - a : B);
        double l = train_step(t, r, r->order + a, nb);
        if (!isfinite(l)) {
            t->status = tlp_error_set(&t->err, TLP_NUMBER, NULL, 0,
                                      "the loss became %g at epoch %d step %ld; the previous model is kept", l, ep,
                                      steps + 1);
            return TLP_JOB_FAILED;
        }
        sum += l;
        steps++;
        r->seen += nb;
        p->step = steps;
        p->loss = sum / (double)steps;
        p->elapsed_s = now_s() - r->t0;
        p->samples_per_s = r->seen / p->elapsed_s;
        size_t done = (size_t)(ep - 1 - t->meta.epochs_done) * per_epoch + a + (size_t)nb;
        size_t left = r->total_work - (size_t)t->meta.epochs_done * per_epoch - done +
                      (size_t)(t->o.n_nets - 1 - t->net) * r->total_work;
        p->eta_s = p->samples_per_s > 0 ? (double)left / p->samples_per_s : NAN;
        tlp__job_publish(job, p);
    }
    return TLP_JOB_RUNNING;
}

/* The end of epoch ep: the candidate (the weights, or the mean of the last
 * `average` epochs' weights, swapped in for validation and then back),
 * validated; kept (and handed to on_kept) when it is the best so far. */
static tlp_status end_epoch(trainer *t, run_t *r, tlp_progress *p, int ep)
{
    float *P = tlp_model_params(t->m);
    size_t np = tlp_model_n_params(t->m);
    int A = t->o.average > 0 ? t->o.average : 0;
    /* a step can turn the weights non-finite with a finite loss (the loss
     * is of the weights before it): such a model is never kept */
    for (size_t i = 0; i < np; i++)
        if (!isfinite(P[i])) {
            t->status = tlp_error_set(&t->err, TLP_NUMBER, NULL, 0,
                                      "the weights became non-finite in epoch %d (a diverged training: a lower --lr?); "
                                      "the previous model is kept",
                                      ep);
            return t->status;
        }
    if (A) {
        memcpy(t->ring + (size_t)(t->n_ring % A) * np, P, sizeof(float) * np);
        t->n_ring++;
        memcpy(r->saved, P, sizeof(float) * np);
        int k = tlp_ring_slots(t->n_ring, A);
        for (size_t i = 0; i < np; i++) {
            double acc = 0;
            for (int q = 0; q < k; q++) acc += t->ring[(size_t)q * np + i];
            P[i] = (float)(acc / k);
        }
    }
    double vl = p->loss, top1 = NAN, top5 = NAN;
    if (r->n_val) validate(t, &r->v, &r->b, r->row, &vl, &top1, &top5);
    p->val_loss = vl;
    p->val_top1 = top1;
    p->val_top5 = top5;
    if (p->n_hist < TLP_LOSS_HISTORY) {
        p->hist_train[p->n_hist] = (float)p->loss;
        p->hist_val[p->n_hist] = (float)vl;
        p->n_hist++;
    }
    t->meta.epochs_done = ep;
    t->meta.step = t->adam.t;
    /* the figure the kept epoch is chosen by: lower is better */
    double fig = vl;
    if (t->o.select == TLP_SELECT_TOPK && isfinite(top1)) fig = -(top1 + top5);
    int better = !t->best || isnan(p->best_val) || fig < p->best_val || t->o.select == TLP_SELECT_LAST;
    if (better) {
        p->best_val = fig;
        p->best_epoch = ep;
        t->meta.best_val = fig;
        t->meta.best_epoch = ep;
        if (!t->best) t->best = tlp_model_clone(t->m);
        else memcpy(tlp_model_params(t->best), P, sizeof(float) * np);
        if (!t->best) return fail(t, TLP_NOMEM, "out of memory");
        keep_state(t);
        t->best_meta = t->meta;
        autosave(t, p);
    }
    if (A) memcpy(P, r->saved, sizeof(float) * np);
    return TLP_OK;
}

/* The epochs of the network in training, from where it stands (a resumed
 * run replays the shuffles of the epochs it skips, so it continues the
 * random stream of the run it resumes). */
static tlp_job_state train_network(trainer *t, tlp_job *job, tlp_rng *rng, run_t *r, tlp_progress *p)
{
    for (int ep = 1; ep <= t->meta.epochs_done; ep++) epoch_order(t, rng, r->train, r->n_train, r->order, r->runs);
    for (int ep = t->meta.epochs_done + 1; ep <= t->o.epochs; ep++) {
        p->epoch = ep;
        epoch_order(t, rng, r->train, r->n_train, r->order, r->runs);
        tlp_job_state st = run_epoch(t, job, r, p, ep);
        if (st != TLP_JOB_RUNNING) return st;
        if (tlp__dist_any(tlp__job_cancelled(job))) return TLP_JOB_CANCELLED;
        if (end_epoch(t, r, p, ep) != TLP_OK) return TLP_JOB_FAILED;
        tlp__job_publish(job, p);
    }
    return TLP_JOB_DONE;
}

/* The worker: the split, then each network in turn, each from the random
 * stream as it was after the split (as if it were trained alone). */
static void train_run(tlp_job *job, void *work)
{
    trainer *t = work;
    run_t r;
    memset(&r, 0, sizeof r);
    tlp_progress p;
    tlp_job_progress(job, &p);
    tlp_rng rng;
    tlp_rng_seed(&rng, t->o.seed ^ 0x5eedu);
    tlp_set_threads(t->o.threads);
    tlp_job_state st = TLP_JOB_FAILED;
    if (run_alloc(t, &r) == TLP_OK && split(t, &rng, &r) == TLP_OK && validation_order(t, &r) == TLP_OK &&
        origin_of_run(t, &r) == TLP_OK && same_data(t) == TLP_OK) {
        p.steps_per_epoch = (long)((r.n_train + (size_t)t->o.batch - 1) / (size_t)t->o.batch);
        r.total_steps = (uint64_t)t->o.epochs * (uint64_t)p.steps_per_epoch;
        r.total_work = (size_t)t->o.epochs * (r.n_train + r.n_val);
        r.t0 = now_s();
        const tlp_rng after_split = rng;
        for (;;) {
            rng = after_split;
            st = train_network(t, job, &rng, &r, &p);
            if (st != TLP_JOB_DONE || t->net + 1 >= t->o.n_nets) break;
            if ((t->status = next_net(t, &p)) != TLP_OK) {
                st = TLP_JOB_FAILED;
                break;
            }
            tlp__job_publish(job, &p);
        }
        if (st == TLP_JOB_DONE && t->o.n_nets > 1) { /* the last network is finished too: the file says so */
            t->meta.nets_done = t->best_meta.nets_done = t->o.n_nets;
            autosave(t, &p);
        }
    }
    p.state = st;
    if (t->status != TLP_OK) {
        p.state = TLP_JOB_FAILED;
        snprintf(p.msg, sizeof p.msg, "%s", t->err.msg);
    }
    tlp__job_publish(job, &p);
    run_free(&r);
}

/* ------------------------------------------------------------ starting and finishing */

static void train_drop(void *work)
{
    trainer *t = work;
    tlp_model_free(t->best);
    tlp_model_free(t->m);
    tlp_model_free(t->ens);
    tlp_model_free(t->init);
    tlp_adam_free(&t->adam);
    tlp_train_state_free(&t->kept);
    free(t->ring);
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(t->o_hash[h]), free(t->o_task[h]), free(t->was_hash[h]);
    free(t);
}

/* Does init (fine-tuning, or resuming with resume_meta) fit the samples and
 * the networks asked?  Its mode and heads, each network's encoding, and
 * when resuming, the plan of the training it was saved by. */
static tlp_status check_init(const trainer *t, const tlp_model *init, const tlp_train_meta *rm, tlp_error *err)
{
    const tlp_samples *s = t->s;
    const tlp_model_config *c = tlp_model_config_of(init);
    int n_init = tlp_model_n_members(init), K = t->o.n_nets;
    if (c->mode != s->mode || c->n_heads != s->n_heads)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d %s head%s, the data gives %d %s head%s",
                             c->n_heads, tlp_mode_name(c->mode), c->n_heads == 1 ? "" : "s", s->n_heads,
                             tlp_mode_name(s->mode), s->n_heads == 1 ? "" : "s");
    for (int h = 0; h < s->n_heads; h++)
        if (strcmp(c->heads[h], s->heads[h]) != 0)
            return tlp_error_set(err, TLP_ARG, NULL, 0, "head %d is \"%s\" in the model but \"%s\" here", h,
                                 c->heads[h], s->heads[h]);
    if (c->steps != s->L)
        return tlp_error_set(err, TLP_ARG, NULL, 0,
                             "the model sees %d steps of a schedule, the samples were made for %d (--steps)", c->steps,
                             s->L);
    for (int k = 0; k < n_init && k < K; k++) {
        tlp_encode e = tlp_model_config_of(tlp_model_member(init, k))->encode;
        if (e != t->o.encode[k])
            return tlp_error_set(err, TLP_ARG, NULL, 0, "network %d of the model has %s tokens; the training wants %s",
                                 k + 1, tlp_encode_name(e), tlp_encode_name(t->o.encode[k]));
    }
    int planned = rm && rm->n_nets > 0 ? rm->n_nets : 1; /* 0: no training's plan */
    int done = planned > 1 ? rm->nets_done : 0;
    if (!rm && n_init != K)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d network%s; the training wants %d", n_init,
                             n_init == 1 ? "" : "s", K);
    if (rm && (planned != K || done < 0 || done > n_init || n_init > done + 1))
        return tlp_error_set(err, TLP_ARG, NULL, 0,
                             "the model's training made %d network%s, %d of them finished, and the model has %d; "
                             "this training makes %d",
                             planned, planned > 1 ? "s" : "", done, n_init, K);
    if (rm && done >= K)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "the model's %d networks are trained already (%d epochs each)", K,
                             rm->epochs);
    if (rm && !tlp_model_member(init, done) && rm->fine)
        return tlp_error_set(err, TLP_ARG, NULL, 0,
                             "network %d of %d had not started, and it was to start from the model the run "
                             "fine-tuned, which is not in the file: start the training again from that model",
                             done + 1, K);
    return TLP_OK;
}

/* Take what the run starts from out of init: resuming, the finished
 * networks as they are and *start the one to go on from (NULL: it had not
 * started); fine-tuning, a copy each network starts from. */
static tlp_status take_init(trainer *t, const tlp_model *init, const tlp_train_meta *rm, const tlp_model **start,
                            tlp_error *err)
{
    int done = rm && rm->n_nets > 1 ? rm->nets_done : 0;
    for (int k = 0; k < done; k++) {
        tlp_model *net = tlp_model_clone_net(tlp_model_member(init, k));
        if (!net || (t->ens && tlp_model_add_member(t->ens, net, err) != TLP_OK)) {
            tlp_model_free(net);
            return net ? err->status : tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        }
        if (!t->ens) t->ens = net;
    }
    t->net = done;
    t->meta.nets_done = done;
    *start = tlp_model_member(init, done);
    if (!rm && !(t->init = tlp_model_clone(init))) return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    return TLP_OK;
}

/* The network in training (from start, or new) and the buffers of the
 * state that goes with it: Adam, the kept state, the averaging ring. */
static tlp_status alloc_state(trainer *t, const tlp_model *start, tlp_error *err)
{
    if (start && !(t->m = tlp_model_clone_net(start))) tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
    if (!start) t->m = net_start(t, t->net, err);
    if (!t->m) return err ? err->status : TLP_NOMEM;
    tlp_model_set_exact_padding(t->m, t->o.padding == TLP_PADDING_EXACT);
    size_t np = tlp_model_n_params(t->m), A = (size_t)t->o.average;
    t->kept.m = malloc(sizeof(float) * np);
    t->kept.v = malloc(sizeof(float) * np);
    if (A) t->ring = malloc(sizeof(float) * np * A), t->kept.ring = malloc(sizeof(float) * np * A);
    if (!t->kept.m || !t->kept.v || (A && (!t->ring || !t->kept.ring)) ||
        tlp_adam_init(&t->adam, np, t->o.lr, t->o.weight_decay) != TLP_OK)
        return tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start training: %s", strerror(errno));
    if (t->o.freeze_trunk) t->adam.from = tlp_model_trunk_params(t->m);
    return TLP_OK;
}

/* Going on in the network resumed (start, saved with rm and rs): its epochs
 * and steps, the best so far, Adam's moments, the averaging ring; first
 * gets the progress it starts from. */
static tlp_status resume_state(trainer *t, const tlp_model *start, const tlp_train_meta *rm, const tlp_train_state *rs,
                               tlp_progress *first, tlp_error *err)
{
    size_t np = tlp_model_n_params(t->m);
    if (rm->epochs_done >= t->o.epochs)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "the model has %d epochs already; ask for more than that",
                             rm->epochs_done);
    t->meta.epochs_done = rm->epochs_done > 0 ? rm->epochs_done : 0;
    t->meta.step = rm->step;
    t->adam.t = rm->step;
    if (isfinite(rm->best_val)) { /* the resumed model is the best so far until an epoch beats it */
        t->best = tlp_model_clone_net(start);
        t->meta.best_val = rm->best_val;
        first->best_val = rm->best_val;
        first->best_epoch = rm->epochs_done;
    }
    if (rs && rs->m && rs->v) {
        memcpy(t->adam.m, rs->m, sizeof(float) * t->adam.n);
        memcpy(t->adam.v, rs->v, sizeof(float) * t->adam.n);
    }
    if (rs && rs->ring && tlp_ring_slots(rs->n_ring, rm->average) > 0) {
        /* the saved weights are a mean: training goes on from the last
         * epoch's own weights, and with the same averaging, from its ring */
        int last = (rs->n_ring - 1) % rm->average;
        memcpy(tlp_model_params(t->m), rs->ring + (size_t)last * np, sizeof(float) * np);
        if (rm->average == t->o.average) {
            memcpy(t->ring, rs->ring, sizeof(float) * np * (size_t)tlp_ring_slots(rs->n_ring, t->o.average));
            t->n_ring = rs->n_ring;
        }
    }
    return TLP_OK;
}

static tlp_status train_finish(void *work, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                               tlp_error *err)
{
    trainer *t = work;
    tlp_status s = t->status;
    if (s != TLP_OK && err) *err = t->err;
    if (t->refused) {
        if (best) *best = NULL;
    } else if (best && t->ens) {
        *best = ensemble_copy(t);
        if (!*best && s == TLP_OK) s = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory for the model");
    } else if (best) {
        *best = t->best;
        t->best = NULL;
    }
    if (best && *best) tlp_model_set_exact_padding(*best, 0); /* the model handed over scores as any loaded one */
    if (best && *best && stamp_origin(t, *best) != TLP_OK && s == TLP_OK)
        s = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory for the model");
    if (meta) *meta = kept_meta(t);
    if (state) {
        *state = t->kept;
        memset(&t->kept, 0, sizeof t->kept);
    }
    return s;
}

static const tlp__job_kind TRAINING = {train_run, train_finish, train_drop};

/* What the model resumed was trained on, per head of the samples. */
static tlp_status keep_origin(trainer *t, const tlp_model *init)
{
    for (int h = 0; h < t->s->n_heads; h++) {
        const uint64_t *tasks = NULL;
        int g = tlp_model_head(init, t->s->heads[h]);
        size_t n = g < 0 ? 0 : tlp_model_origin_tasks(init, g, &tasks);
        if (!(t->was_hash[h] = malloc(sizeof(uint64_t) * (n + 1)))) return TLP_NOMEM;
        if (n) memcpy(t->was_hash[h], tasks, sizeof(uint64_t) * n);
        t->n_was[h] = n;
    }
    t->check_data = 1;
    return TLP_OK;
}

/* The steps of a start: the settings, what init gives, the state, the
 * resumed run's place, then the worker. */
tlp_job *tlp_train_start(const tlp_samples *s, const tlp_train_opts *given, const tlp_model *init,
                         const tlp_train_meta *rm, const tlp_train_state *rs, tlp_error *err)
{
    tlp_train_opts o = *given;
    tlp_train_resolve(&o, s->mode);
    if (o.n_nets < 1) o.n_nets = 1;
    if (tlp__train_check(&o, err) != TLP_OK) return NULL;
    trainer *t = calloc(1, sizeof *t);
    if (!t) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    t->s = s;
    t->o = o;
    const tlp_model *start = NULL; /* the network j->m starts from: init's, the resumed one, or new (NULL) */
    if (init && (check_init(t, init, rm, err) != TLP_OK || take_init(t, init, rm, &start, err) != TLP_OK)) goto fail;
    int resumed = rm && start; /* start is the network rm and rs describe */
    if (rm && init && tlp_model_has_origin(init) && keep_origin(t, init) != TLP_OK) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    if (alloc_state(t, start, err) != TLP_OK) goto fail;
    tlp__train_meta_of_opts(&t->meta, &t->o);
    t->meta.best_val = NAN;
    t->meta.fine = init && !rm ? 1 : rm ? rm->fine : 0;
    t->was_fine = t->meta.fine;
    tlp_progress first;
    memset(&first, 0, sizeof first);
    first.best_val = NAN;
    if (rm && o.n_nets > 1 && rm->epochs != o.epochs) {
        tlp_error_set(err, TLP_ARG, NULL, 0,
                      "the networks of an ensemble train for the same epochs: %d, as the model's run asked", rm->epochs);
        goto fail;
    }
    if (resumed && resume_state(t, start, rm, rs, &first, err) != TLP_OK) goto fail;
    keep_state(t);
    t->best_meta = t->meta;
    first.state = TLP_JOB_RUNNING;
    first.epochs = o.epochs;
    first.net = t->net + 1;
    first.nets = o.n_nets;
    first.net_encode = o.encode[t->net];
    first.val_loss = first.val_top1 = first.val_top5 = NAN;
    tlp_job *j = tlp__job_start(&TRAINING, t, &first, err);
    if (j) return j;
fail:
    train_drop(t);
    return NULL;
}
