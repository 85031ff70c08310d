/*
 * train/train_int.h: the training layer inside the engine.  Not for the
 * program (tui/); the tests may use it.
 */
#ifndef TLP_TRAIN_TRAIN_INT_H
#define TLP_TRAIN_TRAIN_INT_H

#include "nn/nn_int.h"
#include "train/train.h"

/* The slots an averaging ring fills after n_ring epochs of averaging the
 * last `average`: min(n_ring, average), 0 when either is below 1. */
int tlp_ring_slots(int n_ring, int average);
/* The learning rate of optimiser step t (0-based) of a run of total steps:
 * o->lr, or with sched cosine lr (1 + cos(pi t / total)) / 2. */
float tlp_train_lr(const tlp_train_opts *o, uint64_t t, uint64_t total);

#endif
