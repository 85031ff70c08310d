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
 */
#include "tlp.h"

#include <math.h>
#include <stdlib.h>

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
    out->best = out->pair_acc = out->tau = NAN;
    for (int i = 0; i < 8; i++) out->lat_k[i] = NAN;
}

tlp_status tlp_eval_task(const double *cost, const float *score, int n, const int *ks, int n_k,
                         tlp_task_eval *out)
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
    for (int i = 0; i < n; i++) best = fmin(best, cost_key(cost[i]));
    out->best = best;

    /* top-k: prefix minima along the predicted order */
    for (int i = 0; i < n; i++) idx[i] = i;
    merge_sort(idx, tmp, n, by_score_desc, &c);
    double run_min = INFINITY;
    for (int pos = 0; pos < n; pos++) {
        run_min = fmin(run_min, cost_key(cost[idx[pos]]));
        for (int i = 0; i < n_k; i++)
            if ((ks[i] < n ? ks[i] : n) == pos + 1) out->lat_k[i] = run_min;
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
