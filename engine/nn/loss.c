/*
 * loss.c: LambdaRank exactly as TLP computes it (spec §4.3, allRank's
 * "lambdaRank scheme" with NDCG weights over the whole batch, summed over
 * pairs) and MSE, each with its gradient with respect to the predictions.
 *
 * Per pair the loss is -log2(max(eps, p^w)) with p = max(eps, sigmoid(d)).
 * We use the identity log2(p^w) = w * log2(p) and log2(sigmoid(d)) =
 * -softplus(-d) / ln 2, which is what the clamps compute wherever they are
 * inactive; where a clamp is active the gradient is zero, as in PyTorch.
 */
#include "nn/nn_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-10

typedef struct {
    float pred;
    int idx;
} ranked;

static int by_pred_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->pred != y->pred) return x->pred > y->pred ? -1 : 1;
    return x->idx - y->idx; /* stable for ties */
}

static int by_float_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x > y ? -1 : x < y ? 1 : 0;
}

double tlp_loss_lambdarank(const float *pred, const float *label, const uint8_t *mask, int n, float *grad)
{
    if (grad)
        for (int i = 0; i < n; i++) grad[i] = 0;
    int m = 0;
    for (int i = 0; i < n; i++) m += !mask || mask[i];
    if (m < 2) return 0;
    ranked *r = malloc(sizeof *r * (size_t)m);
    float *t = malloc(sizeof *t * (size_t)m), *best = malloc(sizeof *best * (size_t)m);
    double *inv_d = malloc(sizeof *inv_d * (size_t)m), *g = malloc(sizeof *g * (size_t)m);
    double *gs = malloc(sizeof *gs * (size_t)m);
    if (!r || !t || !best || !inv_d || !g || !gs) {
        free(r), free(t), free(best), free(inv_d), free(g), free(gs);
        return NAN;
    }
    for (int i = 0, k = 0; i < n; i++)
        if (!mask || mask[i]) {
            r[k].pred = pred[i];
            r[k].idx = i;
            best[k] = label[i];
            k++;
        }
    qsort(r, (size_t)m, sizeof *r, by_pred_desc);
    qsort(best, (size_t)m, sizeof *best, by_float_desc);
    double max_dcg = 0;
    for (int i = 0; i < m; i++) {
        t[i] = label[r[i].idx];
        inv_d[i] = 1.0 / log2((double)i + 2.0);
        double yb = best[i] > 0 ? best[i] : 0;
        max_dcg += (pow(2.0, yb) - 1.0) * inv_d[i];
        gs[i] = 0;
    }
    if (max_dcg < EPS) max_dcg = EPS;
    for (int i = 0; i < m; i++) {
        /* spec: labels clamped at >= 0.  TLP's labels never are negative;
         * tlpx marks failed programs with -1 (--failed demote), whose gain
         * (2^-1 - 1 = -0.5) stays negative, so a pair of a valid and a failed
         * program weighs at least as much as one of a label-0.58 program */
        double ti = t[i] < 0 ? t[i] : t[i] > 0 ? t[i] : 0;
        g[i] = (pow(2.0, ti) - 1.0) / max_dcg;
    }
    const double ln2 = log(2.0), floor_l = log2(EPS);
    double loss = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            if (!(t[i] > t[j])) continue; /* strict, NaN-safe, before the clamp */
            double w = fabs(inv_d[i] - inv_d[j]) * fabs(g[i] - g[j]);
            double d = (double)r[i].pred - (double)r[j].pred;
            if (isnan(d)) d = 0;
            if (d > 1e8) d = 1e8;
            if (d < -1e8) d = -1e8;
            /* log2(sigmoid(d)) without overflow */
            double log2p = -(d > 0 ? log1p(exp(-d)) : -d + log1p(exp(d))) / ln2;
            int p_clamped = log2p < floor_l;
            if (p_clamped) log2p = floor_l;
            double l = w * log2p;
            int l_clamped = l < floor_l;
            if (l_clamped) l = floor_l;
            loss -= l;
            if (grad && !p_clamped && !l_clamped && w > 0 && fabs(d) < 1e8) {
                /* d(-w log2 sigmoid(d))/dd = -w (1 - sigmoid(d)) / ln 2 */
                double sig_neg = d > 0 ? exp(-d) / (1 + exp(-d)) : 1 / (1 + exp(d));
                double gd = -w * sig_neg / ln2;
                gs[i] += gd;
                gs[j] -= gd;
            }
        }
    if (grad)
        for (int i = 0; i < m; i++) grad[r[i].idx] = (float)gs[i];
    free(r), free(t), free(best), free(inv_d), free(g), free(gs);
    return loss;
}

double tlp_loss_mse(const float *pred, const float *label, const uint8_t *mask, int n, float *grad)
{
    int m = 0;
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (!mask || mask[i]) {
            double e = (double)pred[i] - (double)label[i];
            sum += e * e;
            m++;
        }
    if (grad)
        for (int i = 0; i < n; i++)
            grad[i] = m && (!mask || mask[i]) ? (float)(2.0 * ((double)pred[i] - (double)label[i]) / m) : 0;
    return m ? sum / m : 0;
}
