/*
 * metrics.c: how well scores order one task's programs (spec §6).
 *
 *   best      min cost over the n records (failed ones are there at their 1e10)
 *   lat_k[i]  min cost among the first min(ks[i], n) records when ordered by
 *             score descending (ties: lower index first), as tlp_eval.py does
 *   pair_acc  over the pairs with different costs, the fraction ranked right
 *             (higher score for the lower cost), a tie in score counting half
 *   tau       Kendall's tau-b between score and -cost (1 = perfect order)
 *
 * pair_acc and tau come from one O(n log n) pass (Knight, 1966): sort by
 * (score ascending, cost descending), count the ties in score and the joint
 * ties, then merge-sort by cost descending counting the inversions, which are
 * exactly the discordant pairs, and count the ties in cost.  With
 *   n0 = n(n-1)/2, n1 = score ties, n2 = cost ties, n3 = joint ties, D = discordant,
 *   C = n0 - n1 - n2 + n3 - D (concordant),
 *   tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2)),
 *   pair_acc = (C + (n1 - n3) / 2) / (n0 - n2).
 * Either is NaN when its denominator is 0.  A NaN score ranks as -infinity and
 * a NaN cost as +infinity, so the orders stay total.
 *
 * The random order's figures are exact expectations.  With the costs sorted
 * ascending c_1 <= ... <= c_n and k' = min(k, n), the cheapest of k' records
 * drawn without replacement is the i-th with probability
 *   P_i = C(n-i, k'-1) / C(n, k'),  P_1 = k'/n,  P_{i+1} = P_i (n-i-k'+1) / (n-i),
 * so E[lat_k] = sum P_i c_i and E[best/lat_k] = sum P_i best/c_i; all k'
 * picks fail with probability C(n_failed, k') / C(n, k').
 */
#include "train/train_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double score_key(float s) { return s != s ? -INFINITY : (double)s; }
static double cost_key(double c) { return c != c ? INFINITY : c; }

typedef struct {
    const double *cost;
    const float *score;
} eval_ctx;

/* < 0 when a goes before b. */
typedef int (*cmp_fn)(const eval_ctx *c, int a, int b);

static int cmp3(double x, double y) { return x < y ? -1 : x > y ? 1 : 0; }

static int by_score_desc(const eval_ctx *c, int a, int b)
{
    return cmp3(score_key(c->score[b]), score_key(c->score[a]));
}

static int by_score_asc_cost_desc(const eval_ctx *c, int a, int b)
{
    int r = cmp3(score_key(c->score[a]), score_key(c->score[b]));
    return r ? r : cmp3(cost_key(c->cost[b]), cost_key(c->cost[a]));
}

static int by_cost_desc(const eval_ctx *c, int a, int b)
{
    return cmp3(cost_key(c->cost[b]), cost_key(c->cost[a]));
}

/* Stable bottom-up merge sort of a[0..n) through tmp[0..n).  Returns the
 * number of inversions: pairs that were in the wrong order (strictly) before. */
static int64_t merge_sort(int *a, int *tmp, int n, cmp_fn cmp, const eval_ctx *c)
{
    int64_t inv = 0;
    int *src = a, *dst = tmp;
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(c, src[j], src[i]) < 0) {
                    inv += mid - i; /* src[j] jumps every element left in the left run */
                    dst[k++] = src[j++];
                } else
                    dst[k++] = src[i++];
            }
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        for (int i = 0; i < n; i++) a[i] = src[i];
    return inv;
}

/* Sum of t(t-1)/2 over runs of elements of the sorted a that cmp calls equal. */
static int64_t tied_pairs(const int *a, int n, cmp_fn cmp, const eval_ctx *c)
{
    int64_t pairs = 0, run = 1;
    for (int i = 1; i <= n; i++) {
        if (i < n && cmp(c, a[i - 1], a[i]) == 0) {
            run++;
            continue;
        }
        pairs += run * (run - 1) / 2;
        run = 1;
    }
    return pairs;
}

static void fill_nan(tlp_task_eval *out)
{
    memset(out, 0, sizeof *out);
    out->best = out->pair_acc = out->tau = NAN;
    for (int i = 0; i < 8; i++) out->lat_k[i] = out->rand_lat_k[i] = out->rand_top_k[i] = out->rand_failed_k[i] = NAN;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The random order's expectations (see the top of the file). */
static tlp_status random_order(const double *cost, int n, int n_failed, const int *ks, int n_k, tlp_task_eval *out)
{
    double *c = malloc(sizeof(double) * (size_t)n);
    if (!c) return TLP_NOMEM;
    for (int i = 0; i < n; i++) c[i] = cost_key(cost[i]);
    qsort(c, (size_t)n, sizeof *c, by_double);
    for (int q = 0; q < n_k; q++) {
        int k = ks[q] < n ? ks[q] : n;
        double p = (double)k / n, lat = 0, top = 0;
        for (int i = 1; i <= n - k + 1 && p > 0; i++) {
            lat += p * c[i - 1];
            top += p * (out->best / c[i - 1]);
            p *= (double)(n - i - k + 1) / (double)(n - i);
        }
        out->rand_lat_k[q] = lat;
        out->rand_top_k[q] = top;
        double pf = n_failed < n ? 1 : 0; /* with no valid record nothing counts as a failed pick */
        for (int j = 0; j < k && pf > 0; j++) pf *= (double)(n_failed - j) / (double)(n - j);
        out->rand_failed_k[q] = pf > 0 ? pf : 0;
    }
    free(c);
    return TLP_OK;
}

tlp_status tlp_eval_task(const double *cost, const uint8_t *failed, const float *score, int n, const int *ks,
                         int n_k, tlp_task_eval *out)
{
    if (!out) return TLP_ARG;
    fill_nan(out);
    if (!cost || !score || !ks || n <= 0 || n_k < 1 || n_k > 8) return TLP_ARG;
    for (int i = 0; i < n_k; i++)
        if (ks[i] < 1) return TLP_ARG;
    int *idx = malloc(sizeof(int) * 2 * (size_t)n);
    if (!idx) return TLP_NOMEM;
    int *tmp = idx + n;
    eval_ctx c = {cost, score};

    double best = INFINITY;
    out->n = n;
    for (int i = 0; i < n; i++) {
        best = fmin(best, cost_key(cost[i]));
        out->n_failed += failed && failed[i];
    }
    out->best = best;

    /* top-k: prefix minima along the predicted order; a pick fails when
     * every record so far failed and the task has one that did not */
    for (int i = 0; i < n; i++) idx[i] = i;
    merge_sort(idx, tmp, n, by_score_desc, &c);
    double run_min = INFINITY;
    int all_failed = 1;
    for (int pos = 0; pos < n; pos++) {
        run_min = fmin(run_min, cost_key(cost[idx[pos]]));
        all_failed &= failed && failed[idx[pos]];
        for (int i = 0; i < n_k; i++)
            if ((ks[i] < n ? ks[i] : n) == pos + 1) {
                out->lat_k[i] = run_min;
                out->failed_k[i] = (uint8_t)(all_failed && out->n_failed < n);
            }
    }
    if (random_order(cost, n, out->n_failed, ks, n_k, out) != TLP_OK) {
        free(idx);
        return TLP_NOMEM;
    }

    /* Knight's tau-b and the pair accuracy */
    for (int i = 0; i < n; i++) idx[i] = i;
    merge_sort(idx, tmp, n, by_score_asc_cost_desc, &c);
    int64_t n0 = (int64_t)n * (n - 1) / 2;
    int64_t n1 = tied_pairs(idx, n, by_score_desc, &c);
    int64_t n3 = tied_pairs(idx, n, by_score_asc_cost_desc, &c);
    int64_t disc = merge_sort(idx, tmp, n, by_cost_desc, &c);
    int64_t n2 = tied_pairs(idx, n, by_cost_desc, &c);
    int64_t conc = n0 - n1 - n2 + n3 - disc;
    free(idx);

    if (n0 - n2 > 0) out->pair_acc = ((double)conc + 0.5 * (double)(n1 - n3)) / (double)(n0 - n2);
    if (n0 - n1 > 0 && n0 - n2 > 0)
        out->tau = (double)(conc - disc) / sqrt((double)(n0 - n1) * (double)(n0 - n2));
    return TLP_OK;
}

/* Task t's records of ds as the arrays tlp_eval_task and tlp_replay_task
 * take: mean cost, failed flag, score (from scores[], by record index).
 * The caller frees the three arrays, also on TLP_NOMEM. */
typedef struct {
    double *cost;
    float *score;
    uint8_t *failed;
    int n;
} task_arrays;

static tlp_status gather_task(const tlp_dataset *ds, size_t t, const float *scores, task_arrays *a)
{
    const tlp_task *tk = tlp_dataset_task(ds, t);
    size_t n = tk->n_records ? tk->n_records : 1;
    a->n = (int)tk->n_records;
    a->cost = malloc(sizeof(double) * n);
    a->score = malloc(sizeof(float) * n);
    a->failed = malloc(n);
    if (!a->cost || !a->score || !a->failed) return TLP_NOMEM;
    for (uint32_t k = 0; k < tk->n_records; k++) {
        const tlp_rec *r = tlp_dataset_rec(ds, tk->records[k]);
        a->cost[k] = r->cost;
        a->failed[k] = r->error_no != 0;
        a->score[k] = scores[tk->records[k]];
    }
    return TLP_OK;
}

tlp_status tlp_eval_dataset_task(const tlp_dataset *ds, size_t t, const float *scores, const int *ks, int n_k,
                                 tlp_task_eval *out)
{
    if (!ds || !scores || t >= tlp_dataset_n_tasks(ds)) {
        if (out) fill_nan(out);
        return TLP_ARG;
    }
    task_arrays ta;
    tlp_status st = gather_task(ds, t, scores, &ta);
    if (st == TLP_OK) st = tlp_eval_task(ta.cost, ta.failed, ta.score, ta.n, ks, n_k, out);
    free(ta.cost), free(ta.score), free(ta.failed);
    return st;
}

/* ------------------------------------------------------------ sums over tasks */

void tlp_eval_sum_init(tlp_eval_sum *s, const int *ks, int n_k)
{
    memset(s, 0, sizeof *s);
    s->n_k = n_k < 0 ? 0 : n_k > 8 ? 8 : n_k;
    for (int i = 0; i < s->n_k; i++) s->ks[i] = ks[i];
}

void tlp_eval_sum_add(tlp_eval_sum *s, const tlp_task_eval *e, double weight)
{
    if (!isfinite(e->best)) return;
    if (e->n_failed >= e->n) { /* no valid measurement: no best to come near */
        s->no_valid++;
        return;
    }
    s->tasks++;
    s->w_best += weight * e->best;
    for (int i = 0; i < s->n_k; i++) {
        s->w_lat[i] += weight * e->lat_k[i];
        s->w_rand_lat[i] += weight * e->rand_lat_k[i];
        s->sum_top[i] += e->best / e->lat_k[i];
        s->sum_rand_top[i] += e->rand_top_k[i];
        s->failed[i] += e->failed_k[i];
        s->rand_failed[i] += e->rand_failed_k[i];
    }
    if (isfinite(e->pair_acc)) s->sum_acc += e->pair_acc, s->n_acc++;
    if (isfinite(e->tau)) s->sum_tau += e->tau, s->n_tau++;
}

tlp_eval_k tlp_eval_sum_k(const tlp_eval_sum *s, int i)
{
    tlp_eval_k r = {0, NAN, NAN, NAN, NAN, 0, NAN};
    if (i < 0 || i >= s->n_k) return r;
    r.k = s->ks[i];
    if (!s->tasks) return r;
    r.mean = s->sum_top[i] / s->tasks;
    r.rand_mean = s->sum_rand_top[i] / s->tasks;
    r.pooled = s->w_lat[i] > 0 ? s->w_best / s->w_lat[i] : NAN;
    r.rand_pooled = s->w_rand_lat[i] > 0 ? s->w_best / s->w_rand_lat[i] : NAN;
    r.failed = s->failed[i];
    r.rand_failed = s->rand_failed[i];
    return r;
}

double tlp_eval_sum_pair_acc(const tlp_eval_sum *s) { return s->n_acc ? s->sum_acc / s->n_acc : NAN; }
double tlp_eval_sum_tau(const tlp_eval_sum *s) { return s->n_tau ? s->sum_tau / s->n_tau : NAN; }

/* ------------------------------------------------------------ replay */

tlp_status tlp_replay_task(const double *cost, const uint8_t *failed, const float *score, int n, double within,
                           tlp_replay *out)
{
    if (!out || !cost || !score || n <= 0 || !(within >= 0)) return TLP_ARG;
    memset(out, 0, sizeof *out);
    out->n = n;
    double best = INFINITY;
    for (int i = 0; i < n; i++)
        if (!(failed && failed[i])) best = fmin(best, cost_key(cost[i]));
    out->best = best;
    if (!isfinite(best)) return TLP_EMPTY;
    double near = best * (1 + within);
    int *idx = malloc(sizeof(int) * 2 * (size_t)n);
    if (!idx) return TLP_NOMEM;
    eval_ctx c = {cost, score};
    for (int i = 0; i < n; i++) idx[i] = i;
    merge_sort(idx, idx + n, n, by_score_desc, &c);
    for (int pos = 0; pos < n; pos++) {
        int l = pos, m = idx[pos]; /* the log's pos-th candidate, the model's */
        int lok = !(failed && failed[l]), mok = !(failed && failed[m]);
        if (lok && !out->log_within && cost_key(cost[l]) <= near) out->log_within = pos + 1;
        if (lok && !out->log_best && cost_key(cost[l]) <= best) out->log_best = pos + 1;
        if (mok && !out->model_within && cost_key(cost[m]) <= near) out->model_within = pos + 1;
        if (mok && !out->model_best && cost_key(cost[m]) <= best) out->model_best = pos + 1;
    }
    free(idx);
    return TLP_OK;
}

tlp_status tlp_replay_dataset_task(const tlp_dataset *ds, size_t t, const float *scores, double within,
                                   tlp_replay *out)
{
    if (!ds || !scores || t >= tlp_dataset_n_tasks(ds)) return TLP_ARG;
    task_arrays ta;
    tlp_status st = gather_task(ds, t, scores, &ta);
    if (st == TLP_OK) st = tlp_replay_task(ta.cost, ta.failed, ta.score, ta.n, within, out);
    free(ta.cost), free(ta.score), free(ta.failed);
    return st;
}
