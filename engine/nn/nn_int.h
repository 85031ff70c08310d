/*
 * nn/nn_int.h: the network layer inside the engine: the model's parameter
 * block and its forward and backward passes, the losses, the optimiser, and
 * the data-parallel reductions.  The training layer and the tests use it;
 * the program (tui/) does not.
 */
#ifndef TLP_NN_NN_INT_H
#define TLP_NN_NN_INT_H

#include "data/data_int.h"
#include "nn/nn.h"

/* ---------------------------------------------------------------- the parameter block */

/* Parameters of the shared trunk (encoder, attention, residual blocks): they
 * come first in the block; the heads' decoders follow. */
size_t tlp_model_trunk_params(const tlp_model *m);
/* All parameters in one block, in PyTorch state_dict order (see model.c).
 * tlp_model_param_info names the i-th tensor and its shape. */
size_t tlp_model_n_params(const tlp_model *m);
float *tlp_model_params(tlp_model *m);
const float *tlp_model_params_const(const tlp_model *m);
float *tlp_model_grads(tlp_model *m);
size_t tlp_model_n_tensors(const tlp_model *m);
/* name "encoder.0.weight", rows, cols (cols 1 for a bias), offset into params. */
void tlp_model_tensor(const tlp_model *m, size_t i, const char **name, int *rows, int *cols, size_t *offset);

/* Make room for batches of up to B samples (activations for backward when
 * train is set).  Forward and backward never allocate after this. */
tlp_status tlp_model_reserve(tlp_model *m, int B, int train, tlp_error *err);
/* Forward x [B][L][F]: out[h * B + b] for every head h (head < 0), or out[b]
 * for one head.  B must be within the reserve (grows it otherwise). */
tlp_status tlp_model_forward(tlp_model *m, const float *x, int B, int head, float *out);
/* Inference of nh heads at once (the trunk computed once): out[k * B + b]
 * is head heads[k]'s score of sample b. */
tlp_status tlp_model_forward_heads(tlp_model *m, const float *x, int B, const int *heads, int nh, float *out);
/* Backward of the last forward (which must have used head < 0 and a train
 * reserve): dout[h * B + b]; adds into the gradients. */
void tlp_model_backward(tlp_model *m, const float *dout);
void tlp_model_zero_grads(tlp_model *m);

/* ---------------------------------------------------------------- losses */

/* LambdaRank exactly as spec §4.3 over n scores (sum over pairs); grad[i]
 * gets dLoss/dpred[i].  Returns the loss.  mask (may be NULL) keeps only
 * entries with mask[i] != 0 (MTL heads with missing labels).  One addition:
 * a negative label (never one of TLP's; tlpx's mark of a failed program)
 * keeps its negative gain instead of being clamped to 0. */
double tlp_loss_lambdarank(const float *pred, const float *label, const uint8_t *mask, int n, float *grad);
/* Mean squared error over the kept entries. */
double tlp_loss_mse(const float *pred, const float *label, const uint8_t *mask, int n, float *grad);

/* ---------------------------------------------------------------- optimiser */

/* Adam as torch.optim.Adam (weight decay added to the gradient, bias
 * corrected), over n parameters.  m and v are owned. */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    uint64_t t;
    size_t n;
    float *m, *v;
    size_t from; /* parameters before this one are frozen: never updated (0) */
} tlp_adam;

tlp_status tlp_adam_init(tlp_adam *a, size_t n, float lr, float weight_decay);
void tlp_adam_free(tlp_adam *a);
void tlp_adam_step(tlp_adam *a, float *params, float *grads);
/* torch.nn.utils.clip_grad_norm_: scale g so its L2 norm is at most max_norm.
 * Returns the norm before clipping. */
double tlp_clip_grad_norm(float *g, size_t n, double max_norm);

/* The rows the last training forward laid out and how many of them were
 * distinct (the layers before attention ran on those), over its shards. */
void tlp__model_rows(const tlp_model *m, size_t *rows, size_t *distinct);

/* ---------------------------------------------------------------- data-parallel reductions (dist.c) */

/* dist.c: this rank's shards [lo, hi) of S; a sum over ranks of x (each
 * entry written by one rank); the shards' gradients added up in shard
 * order across ranks (g: shard 0's, extra[s - 1]: shard s's), the total in g
 * on every rank. */
void tlp__dist_shards(int S, int *lo, int *hi);
void tlp__dist_share(float *x, size_t n);
void tlp__dist_sum_shards(float *g, const float *extra, size_t np, int lo, int hi);
/* Is flag set on any rank? (flag itself with one rank) */
int tlp__dist_any(int flag);

#endif
