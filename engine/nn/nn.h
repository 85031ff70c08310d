/*
 * nn/nn.h: the network layer, public part: TLP's network and MTL-TLP's heads
 * as an opaque model (its configuration, heads, ensemble members,
 * fine-tuning), and data-parallel training over MPI.  It includes the core
 * and data layers only.
 */
#ifndef TLP_NN_NN_H
#define TLP_NN_NN_H

#include "data/data.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TLP_MAX_HEADS 16
#define TLP_HEAD_NAME 64

/* The network of spec §4.1; n_heads > 1 is MTL-TLP (§5): one shared trunk
 * (encoder, attention, residual blocks), one decoder per head. */
typedef struct {
    tlp_mode mode;   /* F follows: 22 cpu, 20 gpu */
    int n_heads;     /* 1..TLP_MAX_HEADS */
    char heads[TLP_MAX_HEADS][TLP_HEAD_NAME]; /* hardware name of each head */
    tlp_encode encode; /* applied inside the model: callers pass raw tokens */
    int steps;       /* L, the crop: a sample is [steps][F] (1..TLP_MAX_STEPS); 0 in a config given
                        tlp_model_new: TLP's (tlp_mode_seq: 25 cpu, 40 gpu); tlp_model_adapt: init's */
} tlp_model_config;

typedef struct tlp_model tlp_model;

/* A new model with PyTorch's default initialisation drawn from seed.
 * NULL when out of memory or the config is bad (err says which). */
tlp_model *tlp_model_new(const tlp_model_config *cfg, uint64_t seed, tlp_error *err);
void tlp_model_free(tlp_model *m);
/* A deep copy of the parameters and config (no activations, no optimiser),
 * an ensemble's members with it; _net copies the one network m alone. */
tlp_model *tlp_model_clone(const tlp_model *m);
tlp_model *tlp_model_clone_net(const tlp_model *m);
const tlp_model_config *tlp_model_config_of(const tlp_model *m);
/* A model of config cfg that starts from init (fine-tuning): init's trunk,
 * init's decoder for each head of cfg that init has (by hardware name), a
 * fresh one (from seed) for the others.  Mode and encoding must match; an
 * ensemble is adapted network by network, each keeping its encoding. */
tlp_model *tlp_model_adapt(const tlp_model *init, const tlp_model_config *cfg, uint64_t seed, tlp_error *err);
/* m with the heads of from that m lacks added after its own (their
 * decoders and origin as in from; network k's from from's network k, else
 * its first), m's trunk: a fine-tuning of some heads keeps the others. */
tlp_model *tlp_model_with_heads_of(const tlp_model *m, const tlp_model *from, tlp_error *err);
/* m with one head more, called name, whose decoder (each network's) is a
 * copy of head like's, knowing nothing of what it was trained on: a head
 * for a new hardware that starts from a near one's (tlpx serve's local
 * head from the model's CPU head).  NULL with err when name is a head of m
 * already or like is none. */
tlp_model *tlp_model_with_head_like(const tlp_model *m, const char *name, int like, tlp_error *err);
/* An ensemble: a model may carry other networks of its mode and heads (each
 * with its own encoding and weights), its members.  tlp_predict combines
 * them: each network's scores standardised within each task (mean 0 and
 * spread 1 over the task's records given), then averaged; so the scores of
 * an ensemble rank programs within a task, and a record's score depends on
 * the other records of its task that are scored with it.  A training job
 * trains the networks in turn (tlp_train_opts.n_nets); forward uses the
 * first network only; checkpoints keep the members' weights and the Adam
 * state of the last.  add_member takes member on success (the caller keeps
 * it on failure). */
#define TLP_MAX_MEMBERS 8
tlp_status tlp_model_add_member(tlp_model *m, tlp_model *member, tlp_error *err);
int tlp_model_n_members(const tlp_model *m); /* 1 + the members added */
/* Network k of the ensemble (0: m itself), NULL past the last. */
tlp_model *tlp_model_member(const tlp_model *m, int k);
int tlp_model_head(const tlp_model *m, const char *name); /* index or -1 */
/* Inference computes a schedule's padding rows once, weighted by their
 * count (identical rows: the same scores up to rounding, fewer FLOPs); on,
 * every padding row as TLP does, the reference the tests compare with.
 * Off by default; set on m and its ensemble's networks. */
void tlp_model_set_exact_padding(tlp_model *m, int on);
/* FNV-1a-64 of the model's networks: their config (the crop included),
 * heads and weights, and how padding is computed (a score cache's key: the
 * same digest scores the same, bit for bit). */
uint64_t tlp_model_digest(const tlp_model *m);

/* What a head was trained on, kept in the model file: the target strings
 * of its records and its tasks (tlp_workload_hash of each workload key), so
 * that a head can be found for hardware named otherwise and a score can say
 * that the model saw the task.  A fine-tuned head keeps what it had and
 * adds.  origin_add adds target (NULL: none) and n tasks to head's; at most
 * TLP_ORIGIN_TARGETS targets per head (TLP_ARG past them). */
#define TLP_ORIGIN_TARGETS 256
tlp_status tlp_model_origin_add(tlp_model *m, int head, const char *target, const uint64_t *tasks, size_t n);
int tlp_model_origin_n_targets(const tlp_model *m, int head);
const char *tlp_model_origin_target_at(const tlp_model *m, int head, int i);
int tlp_model_origin_target(const tlp_model *m, int head, const char *target); /* its index or -1 */
size_t tlp_model_origin_tasks(const tlp_model *m, int head, const uint64_t **tasks); /* sorted */
int tlp_model_trained_on(const tlp_model *m, int head, uint64_t task);
int tlp_model_has_origin(const tlp_model *m); /* any head knows what it was trained on */
/* The head for hardware measured with target: the head named hardware;
 * else the one head whose training targets give the same -model= (else the
 * same -mcpu=) as target; -1 when no head or several match. */
int tlp_model_head_for(const tlp_model *m, const char *hardware, const char *target);

/* ---------------------------------------------------------------- data-parallel training */

/* Under mpirun (a build --with-mpi), start MPI: training then shards each
 * batch across the ranks and gives the same model bits as one process
 * (dist.c).  Elsewhere a no-op: rank 0 of 1.  -1 when MPI fails to start. */
int tlp_dist_init(int *argc, char ***argv);
void tlp_dist_finish(void);
/* End every rank of the job (after saying why); a no-op with one rank. */
void tlp_dist_abort(int code);
int tlp_dist_rank(void);
int tlp_dist_size(void);
int tlp_dist_available(void); /* built with MPI */

#ifdef __cplusplus
}
#endif
#endif
