/* optim.c: Adam and global gradient-norm clipping, as PyTorch does them
 * (torch.optim.Adam with L2 weight decay in the gradient; clip_grad_norm_). */
#include "nn/nn_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tlp_status tlp_adam_init(tlp_adam *a, size_t n, float lr, float weight_decay)
{
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->weight_decay = weight_decay;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof(float));
    a->v = calloc(n ? n : 1, sizeof(float));
    if (!a->m || !a->v) {
        tlp_adam_free(a);
        return TLP_NOMEM;
    }
    return TLP_OK;
}

void tlp_adam_free(tlp_adam *a)
{
    if (!a) return;
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

void tlp_adam_step(tlp_adam *a, float *p, float *g)
{
    a->t++;
    const float b1 = a->beta1, b2 = a->beta2, wd = a->weight_decay;
    const double bc1 = 1 - pow(b1, (double)a->t), bc2 = 1 - pow(b2, (double)a->t);
    const float step = (float)(a->lr / bc1), sbc2 = (float)sqrt(bc2);
    for (size_t i = a->from; i < a->n; i++) {
        float gi = g[i] + wd * p[i];
        a->m[i] = b1 * a->m[i] + (1 - b1) * gi;
        a->v[i] = b2 * a->v[i] + (1 - b2) * gi * gi;
        p[i] -= step * a->m[i] / (sqrtf(a->v[i]) / sbc2 + a->eps);
    }
}

double tlp_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss), coef = max_norm / (norm + 1e-6);
    if (coef < 1)
        for (size_t i = 0; i < n; i++) g[i] = (float)((double)g[i] * coef);
    return norm;
}
