/*
 * predict.c: scores of every record of a dataset under a model's heads, at
 * once (the trunk computed once per chunk of records, each head's decoder
 * on it), for one network or an ensemble (each network's scores
 * standardised within each task, then averaged); and the same as a
 * background job (job.c) for the explorer.
 */
#include "train/train_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One network's scores of every record of its mode on nh heads: scores[k][i]
 * for head heads[k] (NAN for records of the other mode). */
static tlp_status predict_net(tlp_model *m, const tlp_dataset *ds, const unsigned char *take, const int *heads, int nh,
                              float **scores, int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    const tlp_model_config *c = tlp_model_config_of(m);
    int L = c->steps, F = tlp_mode_fea(c->mode), B = 512;
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
            if (tlp_dataset_task(ds, r->task)->mode != c->mode || (take && !take[r->task])) {
                for (int k = 0; k < nh; k++) scores[k][i] = NAN;
                continue;
            }
            tlp_dataset_features(ds, i, L, x + (size_t)nb * row);
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

/* Records given as their tokens (a tuner's candidates, not a dataset's):
 * each network's raw scores, in chunks of the prediction batch. */
tlp_status tlp_predict_tokens(tlp_model *m, const float *x, size_t n, int head, float *scores, tlp_error *err)
{
    const tlp_model_config *c = tlp_model_config_of(m);
    if (head < 0 || head >= c->n_heads) return tlp_error_set(err, TLP_ARG, NULL, 0, "no head %d", head);
    size_t row = (size_t)c->steps * (size_t)tlp_mode_fea(c->mode), B = 512;
    int K = tlp_model_n_members(m);
    for (int k = 0; k < K; k++) {
        tlp_model *net = tlp_model_member(m, k);
        if (tlp_model_reserve(net, (int)B, 0, err) != TLP_OK) return err->status;
        for (size_t i = 0; i < n; i += B) {
            int nb = (int)(n - i < B ? n - i : B);
            tlp_model_forward_heads(net, x + i * row, nb, &head, 1, scores + (size_t)k * n + i);
        }
    }
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

/* The scores of the tasks t with take[t] (NULL: all), NAN for the others. */
static tlp_status predict_some(tlp_model *m, const tlp_dataset *ds, const unsigned char *take, const int *heads, int nh,
                               float **scores, int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    const tlp_model_config *cfg = tlp_model_config_of(m);
    if (nh < 1 || nh > cfg->n_heads) return tlp_error_set(err, TLP_ARG, NULL, 0, "%d heads of %d", nh, cfg->n_heads);
    for (int k = 0; k < nh; k++)
        if (heads[k] < 0 || heads[k] >= cfg->n_heads) return tlp_error_set(err, TLP_ARG, NULL, 0, "no head %d", heads[k]);
    /* the records keep the steps the crop asks (an ensemble's networks share it) */
    if (tlp_dataset_check_steps(ds, cfg->mode, cfg->steps, err) != TLP_OK) return err->status;
    int K = tlp_model_n_members(m);
    if (K == 1) return predict_net(m, ds, take, heads, nh, scores, progress, ctx, err);
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
        st = predict_net(tlp_model_member(m, k), ds, take, heads, nh, one, progress ? member_progress : NULL, &mc, err);
        for (int h = 0; st == TLP_OK && h < nh; h++) add_standardised(ds, one[h], sum + (size_t)h * nn);
    }
    /* records of the other mode are NAN already: no network scored their task */
    for (int h = 0; st == TLP_OK && h < nh; h++)
        for (size_t i = 0; i < n; i++) scores[h][i] = (float)(sum[(size_t)h * nn + i] / K);
    free(sum), free(buf);
    return st;
}

tlp_status tlp_predict_heads(tlp_model *m, const tlp_dataset *ds, const int *heads, int nh, float **scores,
                             int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    return predict_some(m, ds, NULL, heads, nh, scores, progress, ctx, err);
}

tlp_status tlp_predict(tlp_model *m, const tlp_dataset *ds, int head, float *scores,
                       int (*progress)(void *ctx, double frac), void *ctx, tlp_error *err)
{
    return tlp_predict_heads(m, ds, &head, 1, &scores, progress, ctx, err);
}

/* ------------------------------------------------------------ prediction jobs */

/* A prediction job's work: a copy of the model, the data (borrowed), the
 * scores of each head. */
typedef struct {
    tlp_model *m;
    const tlp_dataset *ds;
    unsigned char *take; /* the tasks to score, NULL: all */
    float *scores[TLP_MAX_HEADS];
    tlp_status status;
    tlp_error err;
} predicting;

typedef struct {
    tlp_job *j;
    tlp_progress *p;
} pred_ctx;

static int pred_progress(void *ctx, double frac)
{
    pred_ctx *c = ctx;
    c->p->frac = frac;
    tlp__job_publish(c->j, c->p);
    return tlp__job_cancelled(c->j);
}

static void predict_run(tlp_job *j, void *work)
{
    predicting *w = work;
    tlp_progress p;
    tlp_job_progress(j, &p);
    int H = tlp_model_config_of(w->m)->n_heads, heads[TLP_MAX_HEADS];
    size_t n = tlp_dataset_n_records(w->ds);
    for (int h = 0; h < H && w->status == TLP_OK; h++) {
        heads[h] = h;
        if (!(w->scores[h] = malloc(sizeof(float) * (n ? n : 1))))
            w->status = tlp_error_set(&w->err, TLP_NOMEM, NULL, 0, "out of memory");
    }
    pred_ctx c = {j, &p};
    if (w->status == TLP_OK)
        w->status = predict_some(w->m, w->ds, w->take, heads, H, w->scores, pred_progress, &c, &w->err);
    if (tlp__job_cancelled(j)) p.state = TLP_JOB_CANCELLED;
    else if (w->status != TLP_OK) {
        p.state = TLP_JOB_FAILED;
        snprintf(p.msg, sizeof p.msg, "%s", w->err.msg);
    } else {
        p.state = TLP_JOB_DONE;
        p.frac = 1;
    }
    tlp__job_publish(j, &p);
}

/* A prediction hands over no model: its scores are taken with
 * tlp_job_take_scores. */
static tlp_status predict_finish(void *work, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                                 tlp_error *err)
{
    predicting *w = work;
    if (w->status != TLP_OK && err) *err = w->err;
    if (best) *best = NULL;
    if (meta) memset(meta, 0, sizeof *meta);
    if (state) memset(state, 0, sizeof *state);
    return w->status;
}

static void predict_drop(void *work)
{
    predicting *w = work;
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(w->scores[h]);
    tlp_model_free(w->m);
    free(w->take);
    free(w);
}

static const tlp__job_kind PREDICTING = {predict_run, predict_finish, predict_drop};

tlp_job *tlp_predict_start(const tlp_model *m, const tlp_dataset *ds, tlp_error *err)
{
    return tlp_predict_start_tasks(m, ds, NULL, err);
}

tlp_job *tlp_predict_start_tasks(const tlp_model *m, const tlp_dataset *ds, const unsigned char *take, tlp_error *err)
{
    size_t nt = tlp_dataset_n_tasks(ds);
    predicting *w = calloc(1, sizeof *w);
    if (w) w->m = tlp_model_clone(m);
    if (w && take && (w->take = malloc(nt + 1))) memcpy(w->take, take, nt);
    if (!w || !w->m || (take && !w->take)) {
        if (w) tlp_model_free(w->m);
        free(w);
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start predicting");
        return NULL;
    }
    w->ds = ds;
    tlp_progress first;
    memset(&first, 0, sizeof first);
    first.state = TLP_JOB_RUNNING;
    first.val_loss = first.best_val = first.val_top1 = first.val_top5 = NAN;
    tlp_job *j = tlp__job_start(&PREDICTING, w, &first, err);
    if (!j) predict_drop(w);
    return j;
}

float *tlp_job_take_scores(tlp_job *j, int h)
{
    predicting *w = tlp__job_result(j, &PREDICTING); /* waits for the job if it is still running */
    if (!w || h < 0 || h >= TLP_MAX_HEADS) return NULL;
    float *s = w->scores[h];
    w->scores[h] = NULL;
    return s;
}
