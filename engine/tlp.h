/*
 * tlp.h: the public header of the tlpx engine, an umbrella over its layers.
 *
 * The engine reads Ansor/TenSet measure records, groups them into tasks
 * (workload key x hardware), turns each schedule into the feature tokens of
 * TLP (ASPLOS'23), and trains and runs TLP's network and MTL-TLP's heads.
 * It knows nothing of terminals: the explorer and the subcommands (tui/)
 * are clients of this header only.  Its layers, each including only those
 * below it (tests/layers.sh checks it):
 *
 *   core/core.h    status and errors, safe file I/O, escaping, threads
 *   data/data.h    step kinds, records, features, workload keys, datasets, stores
 *   nn/nn.h        the network and its heads, data-parallel training
 *   train/train.h  settings, samples, jobs, training, prediction, metrics,
 *                  checkpoints, the .npy export
 *
 * Each layer also has an internal header (core_int.h, ...) for the engine
 * itself and its tests.
 *
 * Conventions
 *   - Functions that can fail return tlp_status and fill a tlp_error when one is
 *     given (it may be NULL).  Only main() exits.
 *   - Ownership is stated at each declaration.  Every *_free accepts NULL.
 *   - Handles are opaque except for the small value types.
 */
#ifndef TLP_H
#define TLP_H

#include "core/core.h"
#include "data/data.h"
#include "nn/nn.h"
#include "train/train.h"

#endif
