/*
 * model.c: the TLP network (spec §4.1) and MTL-TLP's per-hardware decoders
 * (§5), forward and backward by hand, all matrix work through tlp_gemm.
 *
 * Shapes (B samples, L steps, F features, N = B*L rows, E = 256, 8 heads of 32):
 *   x   [N][F]                     input, borrowed for the backward
 *   xe  [N][F]                     the input encoded (config.encode), when not raw
 *   h1  [N][64]  h2 [N][128]  h3 [N][256]  h4 [N][256]   encoder, ReLU after each
 *   qkv [N][768]                   h4 W_in^T + b_in (rows q | k | v)
 *   p   [B][8][L][L]               softmax(q k^T / sqrt(32)) per sample and head
 *   o   [N][256]                   p v, heads side by side
 *   h5  [N][256]                   o W_out^T + b_out + h4          (residual)
 *   r1, h6 = r1 + h5, r2, h7 = r2 + h6                 two residual Linear+ReLU blocks
 *   per head: d1 [N][256]  d2 [N][128]  d3 [N][64]  d4 [N][1];  out[b] = sum_l d4[b*L+l]
 *
 * Training batches are cut into shards (n_shards: of SHARD samples, 2 in a
 * batch under 2 * SHARD) whatever the thread count; each shard's gradients
 * go to a buffer of its own and are added up in shard order, so the same
 * batch gives the same bits on 1 or 64 threads (a model can be reproduced
 * on another machine).  Inference runs in fixed chunks for the same reason.
 *
 * Parameters, gradients and activations are each one block; views are
 * offsets.  Nothing is allocated inside forward or backward once
 * tlp_model_reserve has sized the workspace.  Inference runs in chunks of
 * CHUNK samples through a small workspace, so the working set stays in cache.
 */
#include "nn/nn_int.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#define E 256
#define NH 8
#define HD 32
#define CHUNK 32
#define SHARD 64
#define TLP_MAX_THREADS 64

typedef struct {
    int in, out;
    size_t w, b; /* offsets into params/grads */
} lin_t;

typedef struct {
    char name[48];
    int rows, cols;
    size_t off;
} tensor_t;

enum { ENC = 4, DEC = 4 };
static const int ENC_DIMS[ENC + 1] = {0, 64, 128, 256, 256}; /* [0] is F */
static const int DEC_DIMS[DEC + 1] = {256, 256, 128, 64, 1};

/* Activation pointers for n samples. */
typedef struct {
    int n;
    float *xe;         /* the encoded input */
    float *h[ENC + 1]; /* h[1..4] */
    float *qkv, *p, *o, *h5, *r1, *h6, *r2, *h7;
    float *d[TLP_MAX_HEADS][DEC + 1]; /* d[h][1..4] */
    /* the distinct input rows (unique_rows): each row's place among them,
     * and a hash table of tab_cap slots (a power of 2) */
    int32_t *map, *tab;
    size_t tab_cap;
} acts_t;

/* Where the rows of each sample of a forward are: sample b's rows are
 * [off[b], off[b + 1]), and its last row stands for wl[b] identical rows.
 * Padded (TLP's computation): every sample has its L rows, wl 1.  With the
 * padding computed once: a sample's real rows, its program row, then one
 * padding row standing for all of them (wl = their count).  Padding rows
 * are identical (zero input, and every layer before attention works row by
 * row), so n of them are one key whose attention weight is n times one's
 * (its logit plus ln n) and one query, and they stay identical after; the
 * decoder's sum counts the one n times.  The same scores, up to rounding. */
typedef struct {
    int off[SHARD + 1];
    float wl[SHARD];
    int u; /* distinct rows (unique_rows): the layers before attention hold these
              only, each row's at map[row]; off[n] when every row is its own */
} rows_t;
_Static_assert(CHUNK <= SHARD, "a forward's samples fit rows_t");

/* What a head was trained on (tlp_model_origin_add). */
typedef struct {
    char **targets;
    int n_targets;
    uint64_t *tasks; /* sorted, unique */
    size_t n_tasks, cap_tasks;
} head_origin;

struct tlp_model {
    tlp_model_config cfg;
    int L, F;          /* rows the network sees (L = Lin + 1 with the program row), features */
    int Lin;           /* rows of an input sample: the crop, cfg.steps */
    size_t n_params;
    float *params, *grads;
    tensor_t tensors[16 + 8 * TLP_MAX_HEADS];
    size_t n_tensors;
    lin_t enc[ENC], in_proj, out_proj, res[2], dec[TLP_MAX_HEADS][DEC];
    /* training workspace */
    int cap_B, cap_train;
    float *ws;
    acts_t a;
    float *g_qkv, *g_a, *g_b, *g_c, *g_d, *g_p, *g_pp; /* g_pp: [shards][L][L] */
    float *g_extra; /* [shards - 1][n_params]: the other shards' gradients */
    rows_t *shard_rows; /* [shards]: each shard's rows in the last training forward */
    /* inference workspace (CHUNK samples), one per thread */
    int n_inf;
    float *ws_inf[TLP_MAX_THREADS];
    acts_t ai[TLP_MAX_THREADS];
    /* the last training forward */
    const float *last_x;
    int last_B;
    /* an ensemble's other networks (tlp_model_add_member) */
    tlp_model *members[TLP_MAX_MEMBERS - 1];
    int n_members;
    head_origin origin[TLP_MAX_HEADS];
    int exact_padding; /* inference computes every padding row, as TLP does (the reference) */
};

/* ------------------------------------------------------------ layout */

static size_t add_tensor(tlp_model *m, const char *name, int rows, int cols)
{
    tensor_t *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->off = m->n_params;
    m->n_params += (size_t)rows * (size_t)cols;
    return t->off;
}

static lin_t add_linear(tlp_model *m, const char *prefix, int in, int out)
{
    char n[48];
    lin_t l = {in, out, 0, 0};
    snprintf(n, sizeof n, "%s.weight", prefix);
    l.w = add_tensor(m, n, out, in);
    snprintf(n, sizeof n, "%s.bias", prefix);
    l.b = add_tensor(m, n, out, 1);
    return l;
}

/* PyTorch state_dict order and names (TLP's AttentionModule / tlp_torch.py). */
static void layout(tlp_model *m)
{
    char n[48];
    for (int i = 0; i < ENC; i++) {
        snprintf(n, sizeof n, "encoder.%d", 2 * i);
        m->enc[i] = add_linear(m, n, i == 0 ? m->F : ENC_DIMS[i], ENC_DIMS[i + 1]);
    }
    m->in_proj.in = E;
    m->in_proj.out = 3 * E;
    m->in_proj.w = add_tensor(m, "attention.in_proj_weight", 3 * E, E);
    m->in_proj.b = add_tensor(m, "attention.in_proj_bias", 3 * E, 1);
    m->out_proj = add_linear(m, "attention.out_proj", E, E);
    for (int i = 0; i < 2; i++) {
        snprintf(n, sizeof n, "l_list.%d.0", i);
        m->res[i] = add_linear(m, n, E, E);
    }
    for (int h = 0; h < m->cfg.n_heads; h++)
        for (int i = 0; i < DEC; i++) {
            if (m->cfg.n_heads == 1) snprintf(n, sizeof n, "decoder.%d", 2 * i);
            else snprintf(n, sizeof n, "mtl_heads.%d.%d", h, 2 * i);
            m->dec[h][i] = add_linear(m, n, DEC_DIMS[i], DEC_DIMS[i + 1]);
        }
}

static void fill_uniform(tlp_rng *r, float *p, size_t n, double bound)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)((2 * tlp_rng_uniform(r) - 1) * bound);
}

static void init_linear(tlp_rng *r, float *P, const lin_t *l)
{
    double bound = 1 / sqrt((double)l->in);
    fill_uniform(r, P + l->w, (size_t)l->in * (size_t)l->out, bound);
    fill_uniform(r, P + l->b, (size_t)l->out, bound);
}

tlp_model *tlp_model_new(const tlp_model_config *cfg, uint64_t seed, tlp_error *err)
{
    if (!cfg || cfg->n_heads < 1 || cfg->n_heads > TLP_MAX_HEADS || (unsigned)cfg->mode >= TLP_MODE_COUNT ||
        (unsigned)cfg->encode >= TLP_ENCODE_COUNT || cfg->steps < 0 || cfg->steps > TLP_MAX_STEPS) {
        tlp_error_set(err, TLP_ARG, NULL, 0,
                      "a model needs a feature mode, an input encoding, 1..%d heads and a crop of 0..%d steps",
                      TLP_MAX_HEADS, TLP_MAX_STEPS);
        return NULL;
    }
    tlp_model *m = calloc(1, sizeof *m);
    if (!m) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    for (int h = 0; h < cfg->n_heads; h++) m->cfg.heads[h][TLP_HEAD_NAME - 1] = 0;
    m->cfg.steps = tlp_mode_crop(cfg->mode, cfg->steps);
    m->Lin = m->cfg.steps;
    m->L = tlp_encode_rows(m->Lin, cfg->encode);
    m->F = tlp_mode_fea(cfg->mode);
    layout(m);
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    if (!m->params || !m->grads) {
        tlp_model_free(m);
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    tlp_rng r;
    tlp_rng_seed(&r, seed);
    for (int i = 0; i < ENC; i++) init_linear(&r, m->params, &m->enc[i]);
    /* nn.MultiheadAttention: xavier-uniform in-projection, zero biases,
     * out-projection weight like a Linear */
    fill_uniform(&r, m->params + m->in_proj.w, (size_t)3 * E * E, sqrt(6.0 / (E + 3 * E)));
    init_linear(&r, m->params, &m->out_proj);
    memset(m->params + m->out_proj.b, 0, sizeof(float) * E);
    for (int i = 0; i < 2; i++) init_linear(&r, m->params, &m->res[i]);
    for (int h = 0; h < cfg->n_heads; h++)
        for (int i = 0; i < DEC; i++) init_linear(&r, m->params, &m->dec[h][i]);
    return m;
}

void tlp_model_free(tlp_model *m)
{
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->ws);
    free(m->g_extra);
    free(m->shard_rows);
    for (int t = 0; t < m->n_inf; t++) free(m->ws_inf[t]);
    for (int k = 0; k < m->n_members; k++) tlp_model_free(m->members[k]);
    for (int h = 0; h < TLP_MAX_HEADS; h++) {
        for (int i = 0; i < m->origin[h].n_targets; i++) free(m->origin[h].targets[i]);
        free(m->origin[h].targets);
        free(m->origin[h].tasks);
    }
    free(m);
}

/* Head g of src's origin added to head h of m's. */
static tlp_status copy_origin(tlp_model *m, int h, const tlp_model *src, int g)
{
    tlp_status s = TLP_OK;
    for (int i = 0; i < src->origin[g].n_targets && s == TLP_OK; i++)
        s = tlp_model_origin_add(m, h, src->origin[g].targets[i], NULL, 0);
    if (s == TLP_OK) s = tlp_model_origin_add(m, h, NULL, src->origin[g].tasks, src->origin[g].n_tasks);
    return s;
}

tlp_model *tlp_model_clone_net(const tlp_model *src)
{
    tlp_model *m = tlp_model_new(&src->cfg, 0, NULL);
    if (m) {
        memcpy(m->params, src->params, sizeof(float) * m->n_params);
        m->exact_padding = src->exact_padding;
    }
    return m;
}

tlp_model *tlp_model_clone(const tlp_model *src)
{
    tlp_model *m = tlp_model_clone_net(src);
    if (!m) return NULL;
    for (int h = 0; h < src->cfg.n_heads; h++)
        if (copy_origin(m, h, src, h) != TLP_OK) {
            tlp_model_free(m);
            return NULL;
        }
    for (int k = 0; k < src->n_members; k++) {
        tlp_model *c = tlp_model_clone(src->members[k]);
        if (!c || tlp_model_add_member(m, c, NULL) != TLP_OK) {
            tlp_model_free(c);
            tlp_model_free(m);
            return NULL;
        }
    }
    return m;
}

tlp_status tlp_model_add_member(tlp_model *m, tlp_model *member, tlp_error *err)
{
    if (!m || !member || member == m || member->n_members)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "a member is one network of its own");
    for (int k = 0; k < m->n_members; k++)
        if (m->members[k] == member) return tlp_error_set(err, TLP_ARG, NULL, 0, "a network is a member once");
    if (1 + m->n_members >= TLP_MAX_MEMBERS)
        return tlp_error_set(err, TLP_ARG, NULL, 0, "an ensemble has at most %d networks", TLP_MAX_MEMBERS);
    int same = member->cfg.mode == m->cfg.mode && member->cfg.n_heads == m->cfg.n_heads &&
               member->cfg.steps == m->cfg.steps;
    for (int h = 0; same && h < m->cfg.n_heads; h++) same = !strcmp(member->cfg.heads[h], m->cfg.heads[h]);
    if (!same) {
        char a[TLP_MAX_HEADS * (TLP_HEAD_NAME + 1)] = "", b[sizeof a] = "";
        for (int h = 0; h < m->cfg.n_heads; h++) strcat(strcat(a, h ? "," : ""), m->cfg.heads[h]);
        for (int h = 0; h < member->cfg.n_heads; h++) strcat(strcat(b, h ? "," : ""), member->cfg.heads[h]);
        return tlp_error_set(err, TLP_ARG, NULL, 0,
                             "the members of an ensemble need one mode, one crop and the same heads: "
                             "%s %d steps %s and %s %d steps %s",
                             tlp_mode_name(m->cfg.mode), m->cfg.steps, a, tlp_mode_name(member->cfg.mode),
                             member->cfg.steps, b);
    }
    m->members[m->n_members++] = member;
    return TLP_OK;
}

int tlp_model_n_members(const tlp_model *m) { return 1 + m->n_members; }

tlp_model *tlp_model_member(const tlp_model *m, int k)
{
    if (k == 0) return (tlp_model *)m;
    return k > 0 && k <= m->n_members ? m->members[k - 1] : NULL;
}

size_t tlp_model_trunk_params(const tlp_model *m) { return m->dec[0][0].w; }

/* A network of config cfg: the trunk of trunk, each head's decoder from
 * the first of src[0..n) that has the head (by name), else fresh from seed. */
static tlp_model *compose_net(const tlp_model *trunk, const tlp_model *const *src, int n, const tlp_model_config *cfg,
                              uint64_t seed, tlp_error *err)
{
    if (cfg->mode != trunk->cfg.mode || cfg->encode != trunk->cfg.encode) {
        tlp_error_set(err, TLP_ARG, NULL, 0, "the model is %s with %s tokens; the training wants %s with %s tokens",
                      tlp_mode_name(trunk->cfg.mode), tlp_encode_name(trunk->cfg.encode), tlp_mode_name(cfg->mode),
                      tlp_encode_name(cfg->encode));
        return NULL;
    }
    tlp_model_config c = *cfg; /* the crop the trunk was trained with, unless another is asked */
    if (!c.steps) c.steps = trunk->cfg.steps;
    tlp_model *m = tlp_model_new(&c, seed, err); /* fresh heads where no source has them */
    if (!m) return NULL;
    size_t trunk_n = tlp_model_trunk_params(m), per_head = (m->n_params - trunk_n) / (size_t)cfg->n_heads;
    memcpy(m->params, trunk->params, sizeof(float) * trunk_n);
    for (int h = 0; h < cfg->n_heads; h++)
        for (int i = 0; i < n; i++) {
            int g = tlp_model_head(src[i], cfg->heads[h]);
            if (g < 0) continue;
            memcpy(m->params + trunk_n + (size_t)h * per_head,
                   src[i]->params + tlp_model_trunk_params(src[i]) + (size_t)g * per_head, sizeof(float) * per_head);
            break;
        }
    return m;
}

static tlp_model *adapt_net(const tlp_model *init, const tlp_model_config *cfg, uint64_t seed, tlp_error *err)
{
    return compose_net(init, &init, 1, cfg, seed, err);
}

tlp_model *tlp_model_adapt(const tlp_model *init, const tlp_model_config *cfg, uint64_t seed, tlp_error *err)
{
    tlp_model *m = adapt_net(init, cfg, seed, err);
    for (int h = 0; m && h < cfg->n_heads; h++) { /* a head kept keeps what it was trained on */
        int g = tlp_model_head(init, cfg->heads[h]);
        if (g >= 0 && copy_origin(m, h, init, g) != TLP_OK) {
            tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            tlp_model_free(m);
            m = NULL;
        }
    }
    for (int k = 0; m && k < init->n_members; k++) { /* an ensemble: each network with its own encoding */
        tlp_model_config ck = *cfg;
        ck.encode = init->members[k]->cfg.encode;
        tlp_model *mk = adapt_net(init->members[k], &ck, seed, err);
        if (!mk || tlp_model_add_member(m, mk, err) != TLP_OK) {
            tlp_model_free(mk);
            tlp_model_free(m);
            m = NULL;
        }
    }
    return m;
}

tlp_model *tlp_model_with_heads_of(const tlp_model *m, const tlp_model *from, tlp_error *err)
{
    tlp_model_config cfg = m->cfg;
    for (int g = 0; g < from->cfg.n_heads; g++) {
        if (tlp_model_head(m, from->cfg.heads[g]) >= 0) continue;
        if (cfg.n_heads == TLP_MAX_HEADS) {
            tlp_error_set(err, TLP_ARG, NULL, 0, "more than %d heads", TLP_MAX_HEADS);
            return NULL;
        }
        memcpy(cfg.heads[cfg.n_heads++], from->cfg.heads[g], TLP_HEAD_NAME);
    }
    tlp_model *out = NULL;
    for (int k = 0; k < tlp_model_n_members(m); k++) {
        const tlp_model *mk = tlp_model_member(m, k), *fk = tlp_model_member(from, k);
        const tlp_model *src[2] = {mk, fk ? fk : from};
        tlp_model_config ck = cfg;
        ck.encode = mk->cfg.encode;
        tlp_model *net = compose_net(mk, src, 2, &ck, 0, err);
        if (!net || (out && tlp_model_add_member(out, net, err) != TLP_OK)) {
            tlp_model_free(net);
            tlp_model_free(out);
            return NULL;
        }
        if (!out) out = net;
    }
    for (int h = 0; h < cfg.n_heads; h++) { /* what each head was trained on, from where it came */
        int g = tlp_model_head(m, cfg.heads[h]);
        tlp_status s = g >= 0 ? copy_origin(out, h, m, g) : copy_origin(out, h, from, tlp_model_head(from, cfg.heads[h]));
        if (s != TLP_OK) {
            tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            tlp_model_free(out);
            return NULL;
        }
    }
    return out;
}

tlp_model *tlp_model_with_head_like(const tlp_model *m, const char *name, int like, tlp_error *err)
{
    if (like < 0 || like >= m->cfg.n_heads) {
        tlp_error_set(err, TLP_ARG, NULL, 0, "no head %d", like);
        return NULL;
    }
    if (!name[0] || strlen(name) >= TLP_HEAD_NAME || tlp_model_head(m, name) >= 0) {
        tlp_error_set(err, TLP_ARG, NULL, 0, "\"%s\" is no new head's name", name);
        return NULL;
    }
    tlp_model *from = tlp_model_clone(m); /* head `like` renamed, its origin forgotten */
    if (!from) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    for (int k = 0; k < tlp_model_n_members(from); k++)
        snprintf(tlp_model_member(from, k)->cfg.heads[like], TLP_HEAD_NAME, "%s", name);
    head_origin *o = &from->origin[like];
    for (int i = 0; i < o->n_targets; i++) free(o->targets[i]);
    free(o->targets), free(o->tasks);
    memset(o, 0, sizeof *o);
    tlp_model *out = tlp_model_with_heads_of(m, from, err);
    tlp_model_free(from);
    return out;
}

const tlp_model_config *tlp_model_config_of(const tlp_model *m) { return &m->cfg; }

int tlp_model_head(const tlp_model *m, const char *name)
{
    for (int h = 0; h < m->cfg.n_heads; h++)
        if (strcmp(m->cfg.heads[h], name) == 0) return h;
    return -1;
}

/* ------------------------------------------------------------ origin */

tlp_status tlp_model_origin_add(tlp_model *m, int head, const char *target, const uint64_t *tasks, size_t n)
{
    if (head < 0 || head >= m->cfg.n_heads) return TLP_ARG;
    head_origin *o = &m->origin[head];
    if (target && target[0] && tlp_model_origin_target(m, head, target) < 0) {
        if (o->n_targets >= TLP_ORIGIN_TARGETS) return TLP_ARG;
        char **t = realloc(o->targets, sizeof *t * (size_t)(o->n_targets + 1));
        if (!t) return TLP_NOMEM;
        o->targets = t;
        if (!(t[o->n_targets] = strdup(target))) return TLP_NOMEM;
        o->n_targets++;
    }
    if (n == 0) return TLP_OK;
    if (n > SIZE_MAX / sizeof(uint64_t) - o->n_tasks) return TLP_NOMEM;
    if (tlp__grow((void **)&o->tasks, &o->cap_tasks, o->n_tasks + n, sizeof *o->tasks)) return TLP_NOMEM;
    memcpy(o->tasks + o->n_tasks, tasks, n * sizeof *tasks);
    size_t k = o->n_tasks + n, w = 0;
    qsort(o->tasks, k, sizeof *o->tasks, tlp__cmp_u64);
    for (size_t i = 0; i < k; i++)
        if (w == 0 || o->tasks[i] != o->tasks[w - 1]) o->tasks[w++] = o->tasks[i];
    o->n_tasks = w;
    return TLP_OK;
}

int tlp_model_origin_n_targets(const tlp_model *m, int head)
{
    return head >= 0 && head < m->cfg.n_heads ? m->origin[head].n_targets : 0;
}

const char *tlp_model_origin_target_at(const tlp_model *m, int head, int i)
{
    return i >= 0 && i < tlp_model_origin_n_targets(m, head) ? m->origin[head].targets[i] : NULL;
}

int tlp_model_origin_target(const tlp_model *m, int head, const char *target)
{
    for (int i = 0; i < tlp_model_origin_n_targets(m, head); i++)
        if (!strcmp(m->origin[head].targets[i], target)) return i;
    return -1;
}

size_t tlp_model_origin_tasks(const tlp_model *m, int head, const uint64_t **tasks)
{
    if (head < 0 || head >= m->cfg.n_heads) return 0;
    if (tasks) *tasks = m->origin[head].tasks;
    return m->origin[head].n_tasks;
}

int tlp_model_trained_on(const tlp_model *m, int head, uint64_t task)
{
    if (head < 0 || head >= m->cfg.n_heads || !m->origin[head].n_tasks) return 0;
    return bsearch(&task, m->origin[head].tasks, m->origin[head].n_tasks, sizeof task, tlp__cmp_u64) != NULL;
}

int tlp_model_has_origin(const tlp_model *m)
{
    for (int h = 0; h < m->cfg.n_heads; h++)
        if (m->origin[h].n_targets || m->origin[h].n_tasks) return 1;
    return 0;
}

/* The head for hardware measured with target: the head of that name; else
 * the one head whose training targets name the same -model= (or, without
 * one, the same -mcpu=) as target.  -1 when none or several do. */
int tlp_model_head_for(const tlp_model *m, const char *hardware, const char *target)
{
    int h = hardware ? tlp_model_head(m, hardware) : -1;
    if (h >= 0 || !target) return h;
    static const char *const OPTS[] = {"-model=", "-mcpu="};
    for (int o = 0; o < 2; o++) {
        char want[128], got[128];
        if (!tlp_target_option(target, OPTS[o], want, sizeof want) || !strcmp(want, "unknown")) continue;
        int found = -1, n = 0;
        for (int g = 0; g < m->cfg.n_heads; g++)
            for (int i = 0; i < m->origin[g].n_targets; i++)
                if (tlp_target_option(m->origin[g].targets[i], OPTS[o], got, sizeof got) && !strcmp(got, want)) {
                    n += found != g;
                    found = g;
                    break;
                }
        if (n == 1) return found;
        if (n > 1) return -1;
    }
    return -1;
}

uint64_t tlp_model_digest(const tlp_model *m)
{
    uint64_t h = TLP_FNV_OFFSET;
    for (int k = 0; k < tlp_model_n_members(m); k++) {
        const tlp_model *mk = tlp_model_member(m, k);
        uint32_t c[5] = {(uint32_t)mk->cfg.mode, (uint32_t)mk->cfg.encode, (uint32_t)mk->cfg.n_heads,
                         (uint32_t)mk->cfg.steps, (uint32_t)mk->exact_padding};
        h = tlp__fnv1a(h, c, sizeof c);
        for (int g = 0; g < mk->cfg.n_heads; g++) h = tlp__fnv1a(h, mk->cfg.heads[g], strlen(mk->cfg.heads[g]) + 1);
        h = tlp__fnv1a(h, mk->params, sizeof(float) * mk->n_params);
    }
    return h;
}

void tlp_model_set_exact_padding(tlp_model *m, int on)
{
    m->exact_padding = on != 0;
    for (int k = 0; k < m->n_members; k++) m->members[k]->exact_padding = on != 0;
}

size_t tlp_model_n_params(const tlp_model *m) { return m->n_params; }
float *tlp_model_params(tlp_model *m) { return m->params; }
const float *tlp_model_params_const(const tlp_model *m) { return m->params; }
float *tlp_model_grads(tlp_model *m) { return m->grads; }
size_t tlp_model_n_tensors(const tlp_model *m) { return m->n_tensors; }
void tlp_model_zero_grads(tlp_model *m) { memset(m->grads, 0, sizeof(float) * m->n_params); }

void tlp_model_tensor(const tlp_model *m, size_t i, const char **name, int *rows, int *cols, size_t *offset)
{
    const tensor_t *t = &m->tensors[i < m->n_tensors ? i : 0];
    if (name) *name = t->name;
    if (rows) *rows = t->rows;
    if (cols) *cols = t->cols;
    if (offset) *offset = t->off;
}

/* ------------------------------------------------------------ workspace */

/* Shards of a training batch of B: fixed by B alone, SHARD samples each,
 * but 2 of them below 2 * SHARD (at least 16 samples each), so that the
 * small batches of a tuner's rounds (`tlpx serve`: 32) use two threads.
 * Never fewer for a larger B: a workspace reserved for B fits any smaller
 * batch. */
static int n_shards(int B)
{
    int per = (B + 1) / 2;
    if (per > SHARD) per = SHARD;
    if (per < 16) per = 16;
    return (B + per - 1) / per;
}

/* Shard s of S holds samples [*b0, *b1) of a batch of B. */
static void shard_range(int B, int S, int s, int *b0, int *b1)
{
    *b0 = (int)((long)B * s / S);
    *b1 = (int)((long)B * (s + 1) / S);
}

/* The slots of a hash table over rows rows (unique_rows): a power of 2, at
 * least twice as many. */
static size_t table_cap(size_t rows)
{
    size_t cap = 1;
    while (cap < 2 * rows) cap *= 2;
    return cap;
}

/* Carve activations for n samples out of base (NULL: just count floats). */
static size_t carve(const tlp_model *m, acts_t *a, float *base, int n, int heads)
{
    size_t N = (size_t)n * (size_t)m->L, off = 0;
#define TAKE(ptr, width)                          \
    do {                                          \
        if (base) (ptr) = base + off;             \
        off += N * (size_t)(width);               \
    } while (0)
    TAKE(a->xe, m->F);
    for (int i = 1; i <= ENC; i++) TAKE(a->h[i], ENC_DIMS[i]);
    TAKE(a->qkv, 3 * E);
    if (base) a->p = base + off;
    off += (size_t)n * NH * (size_t)m->L * (size_t)m->L;
    TAKE(a->o, E);
    TAKE(a->h5, E);
    TAKE(a->r1, E);
    TAKE(a->h6, E);
    TAKE(a->r2, E);
    TAKE(a->h7, E);
    for (int h = 0; h < heads; h++)
        for (int i = 1; i <= DEC; i++) TAKE(a->d[h][i], DEC_DIMS[i]);
#undef TAKE
    a->n = n;
    return off;
}

tlp_status tlp_model_reserve(tlp_model *m, int B, int train, tlp_error *err)
{
    if (B < 1) return tlp_error_set(err, TLP_ARG, NULL, 0, "batch size %d", B);
    int T = tlp_get_threads();
    if (T > TLP_MAX_THREADS) T = TLP_MAX_THREADS;
    while (m->n_inf < T) {
        acts_t *ai = &m->ai[m->n_inf];
        size_t n = carve(m, ai, NULL, CHUNK, 1), rows = (size_t)CHUNK * (size_t)m->L, cap = table_cap(rows);
        _Static_assert(sizeof(int32_t) == sizeof(float), "the row map shares the workspace");
        m->ws_inf[m->n_inf] = malloc(sizeof(float) * (n + rows + cap));
        if (!m->ws_inf[m->n_inf]) return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        carve(m, ai, m->ws_inf[m->n_inf], CHUNK, 1);
        ai->map = (int32_t *)(m->ws_inf[m->n_inf] + n);
        ai->tab = ai->map + rows;
        ai->tab_cap = cap;
        m->n_inf++;
    }
    if (!train || (m->cap_train && B <= m->cap_B)) return TLP_OK;
    if (m->cap_B > B) B = m->cap_B;
    int S = n_shards(B);
    size_t N = (size_t)B * (size_t)m->L;
    size_t n = carve(m, &m->a, NULL, B, m->cfg.n_heads);
    size_t grads = N * (3 * E + 4 * E + 1) + (size_t)S * (size_t)m->L * (size_t)m->L;
    size_t cap = table_cap((size_t)SHARD * (size_t)m->L);
    size_t ints = N + (size_t)S * cap; /* the row map, a hash table per shard */
    float *ws = malloc(sizeof(float) * (n + grads + ints));
    float *extra = S > 1 ? malloc(sizeof(float) * m->n_params * (size_t)(S - 1)) : NULL;
    if (!ws || (S > 1 && !extra)) {
        free(ws);
        free(extra);
        return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory for a batch of %d", B);
    }
    rows_t *sr = malloc(sizeof(rows_t) * (size_t)S);
    if (!sr) {
        free(ws);
        free(extra);
        return tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory for a batch of %d", B);
    }
    free(m->ws);
    free(m->g_extra);
    free(m->shard_rows);
    m->ws = ws;
    m->g_extra = extra;
    m->shard_rows = sr;
    carve(m, &m->a, ws, B, m->cfg.n_heads);
    float *g = ws + n;
    m->g_qkv = g;
    g += N * 3 * E;
    m->g_a = g;
    g += N * E;
    m->g_b = g;
    g += N * E;
    m->g_c = g;
    g += N * E;
    m->g_d = g;
    g += N * E;
    m->g_p = g; /* [N]: the last decoder layer's gradients */
    g += N;
    m->g_pp = g; /* [S][L][L]: attention scratch per shard */
    g += (size_t)S * (size_t)m->L * (size_t)m->L;
    m->a.map = (int32_t *)g;
    m->a.tab = m->a.map + N;
    m->a.tab_cap = cap;
    m->cap_B = B;
    m->cap_train = 1;
    return TLP_OK;
}

/* The activations of samples [b0, b0 + n) of a batch: rows are per sample,
 * so a shard of the batch is a plain offset into every buffer. */
static acts_t slice(const tlp_model *m, const acts_t *a, int b0, int n, int heads)
{
    acts_t s = *a;
    size_t r = (size_t)b0 * (size_t)m->L;
    s.xe = a->xe + r * (size_t)m->F;
    for (int i = 1; i <= ENC; i++) s.h[i] = a->h[i] + r * (size_t)ENC_DIMS[i];
    s.qkv = a->qkv + r * 3 * E;
    s.p = a->p + (size_t)b0 * NH * (size_t)m->L * (size_t)m->L;
    s.o = a->o + r * E;
    s.h5 = a->h5 + r * E;
    s.r1 = a->r1 + r * E;
    s.h6 = a->h6 + r * E;
    s.r2 = a->r2 + r * E;
    s.h7 = a->h7 + r * E;
    for (int h = 0; h < heads; h++)
        for (int i = 1; i <= DEC; i++) s.d[h][i] = a->d[h][i] + r * (size_t)DEC_DIMS[i];
    if (a->map) s.map = a->map + r; /* the hash table: the caller's, one per shard */
    s.n = n;
    return s;
}

/* ------------------------------------------------------------ layers */

static void bias_relu(float *restrict y, const float *restrict b, int n)
{
    for (int j = 0; j < n; j++) {
        float v = y[j] + b[j];
        y[j] = v < 0.0f ? 0.0f : v;
    }
}

static void bias_add(float *restrict y, const float *restrict b, int n)
{
    for (int j = 0; j < n; j++) y[j] += b[j];
}

static void add_into(float *restrict dst, const float *restrict a, const float *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

/* Y[N][out] = X[N][in] W^T + b, then ReLU when relu. */
static void linear_fwd(const float *P, const lin_t *l, const float *X, size_t N, float *Y, int relu)
{
    const float *b = P + l->b;
    const int out = l->out;
    tlp_gemm(0, 1, (int)N, out, l->in, 1, X, l->in, P + l->w, l->in, 0, Y, out);
    /* one pass for the bias and the ReLU (restrict: so it vectorises) */
    for (size_t i = 0; i < N; i++) {
        if (relu) bias_relu(Y + i * (size_t)out, b, out);
        else bias_add(Y + i * (size_t)out, b, out);
    }
}

/* Given dY (already through the ReLU mask), add dW, db; dX = dY W when dX. */
static void linear_bwd(const float *P, float *G, const lin_t *l, const float *X, size_t N, const float *dY,
                       float *dX, float beta_dx)
{
    tlp_gemm(1, 0, l->out, l->in, (int)N, 1, dY, l->out, X, l->in, 1, G + l->w, l->in);
    float *db = G + l->b;
    for (size_t i = 0; i < N; i++) {
        const float *r = dY + i * (size_t)l->out;
        for (int j = 0; j < l->out; j++) db[j] += r[j];
    }
    if (dX) tlp_gemm(0, 0, (int)N, l->in, l->out, 1, dY, l->out, P + l->w, l->in, beta_dx, dX, l->in);
}

static void relu_mask(float *restrict dY, const float *restrict Y, size_t n)
{
    for (size_t i = 0; i < n; i++) dY[i] = Y[i] > 0.0f ? dY[i] : 0.0f;
}

static void softmax_rows(float *S, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        float *r = S + (size_t)i * (size_t)cols, mx = r[0];
        for (int j = 1; j < cols; j++) mx = r[j] > mx ? r[j] : mx;
        float sum = 0;
        for (int j = 0; j < cols; j++) {
            r[j] = expf(r[j] - mx);
            sum += r[j];
        }
        float inv = 1 / sum;
        for (int j = 0; j < cols; j++) r[j] *= inv;
    }
}


/* The rows of a sample of raw input x (Lin rows): up to its last non-zero
 * row; the rest is padding. */
static int real_rows(const float *x, int Lin, int F)
{
    int r = Lin;
    while (r > 0) {
        const float *row = x + (size_t)(r - 1) * (size_t)F;
        int zero = 1;
        for (int j = 0; j < F && zero; j++) zero = row[j] == 0.0f;
        if (!zero) break;
        r--;
    }
    return r;
}

/* The network's input rows of a->n samples of x, encoded, laid out as rows
 * says (compact: the padding once); returns the rows (NULL-free: in a->xe,
 * or x itself when raw and padded). */
static const float *input_rows(const tlp_model *m, const float *x, acts_t *a, rows_t *rows, int compact)
{
    int L = m->L, Lin = m->Lin, F = m->F;
    size_t in_row = (size_t)Lin * (size_t)F, row = (size_t)L * (size_t)F;
    if (!compact) {
        for (int b = 0; b <= a->n; b++) rows->off[b] = b * L;
        for (int b = 0; b < a->n; b++) rows->wl[b] = 1;
        if (m->cfg.encode == TLP_ENCODE_RAW) return x;
        for (int b = 0; b < a->n; b++)
            tlp_encode_tokens(m->cfg.mode, m->cfg.encode, Lin, x + (size_t)b * in_row, a->xe + (size_t)b * row);
        return a->xe;
    }
    float enc[(TLP_MAX_STEPS + 1) * TLP_MAX_FEA];
    int at = 0;
    for (int b = 0; b < a->n; b++) {
        const float *xs = x + (size_t)b * in_row, *e = xs;
        if (m->cfg.encode != TLP_ENCODE_RAW) {
            tlp_encode_tokens(m->cfg.mode, m->cfg.encode, Lin, xs, enc);
            e = enc;
        }
        int r = real_rows(xs, Lin, F), pad = Lin - r;
        rows->off[b] = at;
        float *dst = a->xe + (size_t)at * (size_t)F;
        memcpy(dst, e, sizeof(float) * (size_t)r * (size_t)F); /* the real rows */
        at += r;
        if (L > Lin) { /* the program row */
            memcpy(a->xe + (size_t)at * (size_t)F, e + in_row, sizeof(float) * (size_t)F);
            at++;
        }
        if (pad) { /* one padding row for all (the first one's encoding), last */
            memcpy(a->xe + (size_t)at * (size_t)F, e + (size_t)r * (size_t)F, sizeof(float) * (size_t)F);
            at++;
        }
        rows->wl[b] = pad > 1 ? (float)pad : 1;
    }
    rows->off[a->n] = at;
    return a->xe;
}

/* The distinct rows of the n rows of F floats at x, in place: x keeps them
 * first, in the order they first appear, and map[i] is row i's place among
 * them (never after i).  Returns how many there are. */
static size_t unique_rows(float *x, size_t n, int F, int32_t *map, int32_t *tab, size_t cap)
{
    size_t u = 0, bytes = sizeof(float) * (size_t)F;
    memset(tab, 0xff, sizeof(int32_t) * cap); /* -1: empty */
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * (size_t)F;
        size_t h = tlp__hash(r, bytes) & (cap - 1);
        while (tab[h] >= 0 && memcmp(x + (size_t)tab[h] * (size_t)F, r, bytes) != 0) h = (h + 1) & (cap - 1);
        if (tab[h] < 0) { /* a new row: to its place (u <= i, a row read already) */
            if (u != i) memcpy(x + u * (size_t)F, r, bytes);
            tab[h] = (int32_t)u++;
        }
        map[i] = tab[h];
    }
    return u;
}

/* Row i of an [n][w] buffer whose first rows are the distinct ones takes
 * the one map[i] names; from the last row back, since map[i] <= i. */
static void expand_rows(float *y, size_t n, size_t w, const int32_t *map)
{
    for (size_t i = n; i-- > 0;)
        if ((size_t)map[i] != i) memcpy(y + i * w, y + (size_t)map[i] * w, sizeof(float) * w);
}

/* The backward of expand_rows: distinct row u of an [n][w] buffer becomes
 * the sum of the rows i with map[i] = u, in row order, in place (from the
 * first row on: a distinct row's first row is the one where the count of
 * distinct rows met so far reaches it; it is copied, the others added). */
static void gather_rows(float *g, size_t n, size_t w, const int32_t *map)
{
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        size_t u = (size_t)map[i];
        float *dst = g + u * w;
        const float *src = g + i * w;
        if (u == next) {
            if (u != i) memcpy(dst, src, sizeof(float) * w);
            next++;
        } else
            for (size_t j = 0; j < w; j++) dst[j] += src[j];
    }
}

/* The trunk once and the decoders of nh heads (heads[k], or k when heads is
 * NULL) for a.n samples: out[k * out_stride + b]; compact: the padding
 * computed once (rows_t). */
static void forward_acts(const tlp_model *m, const float *x, acts_t *a, const int *heads, int nh, float *out,
                         int out_stride, int one_slot, int compact, rows_t *rowsp)
{
    const float *P = m->params;
    int L = m->L;
    rows_t rows;
    const float *in = input_rows(m, x, a, &rows, compact);
    size_t N = (size_t)rows.off[a->n], U = N;
    /* with the padding once: a schedule's steps repeat across the candidates
     * of a task, so the layers before attention, which work row by row, run
     * on the distinct rows only (of a chunk of 32 candidates in inference,
     * 7% of the rows are distinct on the shared K80 records, 12% on the
     * Xeon's; of a training shard of 64 random samples, 19% and 30%); the
     * attention's rows take their distinct row's q, k and v */
    if (compact && a->map && in == a->xe) U = unique_rows(a->xe, N, m->F, a->map, a->tab, a->tab_cap);
    rows.u = (int)U;
    if (rowsp) *rowsp = rows; /* for the backward */
    for (int i = 0; i < ENC; i++) {
        linear_fwd(P, &m->enc[i], in, U, a->h[i + 1], 1);
        in = a->h[i + 1];
    }
    const float *h4 = a->h[ENC];
    linear_fwd(P, &m->in_proj, h4, U, a->qkv, 0);
    if (U < N) expand_rows(a->qkv, N, 3 * E, a->map);
    const float scale = 1 / sqrtf((float)HD);
    for (int b = 0; b < a->n; b++) {
        int o = rows.off[b], n = rows.off[b + 1] - o;
        float lnw = rows.wl[b] != 1 ? logf(rows.wl[b]) : 0;
        for (int h = 0; h < NH; h++) {
            const float *q = a->qkv + (size_t)o * 3 * E + h * HD;
            float *p = a->p + ((size_t)b * NH + (size_t)h) * (size_t)L * (size_t)L;
            tlp_gemm(0, 1, n, n, HD, scale, q, 3 * E, q + E, 3 * E, 0, p, n);
            if (lnw != 0) /* the last key stands for wl[b] of them */
                for (int i = 0; i < n; i++) p[(size_t)i * (size_t)n + (size_t)(n - 1)] += lnw;
            softmax_rows(p, n, n);
            tlp_gemm(0, 0, n, HD, n, 1, p, n, q + 2 * E, 3 * E, 0, a->o + (size_t)o * E + h * HD, E);
        }
    }
    /* h5 = o W_out^T + b_out + h4 */
    tlp_gemm(0, 1, (int)N, E, E, 1, a->o, E, P + m->out_proj.w, E, 0, a->h5, E);
    const float *bo = P + m->out_proj.b;
    for (size_t i = 0; i < N; i++) {
        bias_add(a->h5 + i * E, bo, E);
        bias_add(a->h5 + i * E, h4 + (U < N ? (size_t)a->map[i] : i) * E, E); /* h4 of distinct rows */
    }
    /* residual blocks */
    const float *hin = a->h5;
    float *rs[2] = {a->r1, a->r2}, *hs[2] = {a->h6, a->h7};
    for (int k = 0; k < 2; k++) {
        linear_fwd(P, &m->res[k], hin, N, rs[k], 1);
        add_into(hs[k], rs[k], hin, N * E);
        hin = hs[k];
    }
    /* decoders, summed over the steps (the last row of a sample counted wl times) */
    for (int k = 0; k < nh; k++) {
        int h = heads ? heads[k] : k, slot = one_slot ? 0 : h;
        const float *din = a->h7;
        for (int i = 0; i < DEC; i++) {
            linear_fwd(P, &m->dec[h][i], din, N, a->d[slot][i + 1], i < DEC - 1);
            din = a->d[slot][i + 1];
        }
        const float *d4 = a->d[slot][DEC];
        for (int b = 0; b < a->n; b++) {
            double s = 0;
            int o = rows.off[b], n = rows.off[b + 1] - o;
            for (int l = 0; l < n - 1; l++) s += d4[o + l];
            s += rows.wl[b] == 1 ? (double)d4[o + n - 1] : (double)rows.wl[b] * (double)d4[o + n - 1];
            out[(size_t)k * (size_t)out_stride + (size_t)b] = (float)s;
        }
    }
}

tlp_status tlp_model_forward(tlp_model *m, const float *x, int B, int head, float *out)
{
    if (head >= m->cfg.n_heads) return TLP_ARG;
    if (head >= 0) return tlp_model_forward_heads(m, x, B, &head, 1, out);
    /* training: keep every activation for the backward; with several ranks
     * (dist.c) this one computes its shards and the predictions of the
     * others arrive: each entry from one rank */
    tlp_status st = tlp_model_reserve(m, B, 1, NULL);
    if (st) return st;
    int T = tlp_get_threads();
    if (T > m->n_inf) T = m->n_inf;
    size_t row = (size_t)m->Lin * (size_t)m->F;
    int S = n_shards(B), lo, hi;
    tlp__dist_shards(S, &lo, &hi);
    int nt = T < hi - lo ? T : hi - lo;
    if (nt < 1) nt = 1;
    m->last_x = x;
    m->last_B = B;
    if (tlp_dist_size() > 1) memset(out, 0, sizeof(float) * (size_t)m->cfg.n_heads * (size_t)B);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int s = lo; s < hi; s++) {
        int b0, b1;
        shard_range(B, S, s, &b0, &b1);
        acts_t sl = slice(m, &m->a, b0, b1 - b0, m->cfg.n_heads);
        sl.tab = m->a.tab + (size_t)s * m->a.tab_cap;
        forward_acts(m, x + (size_t)b0 * row, &sl, NULL, m->cfg.n_heads, out + b0, B, 0, !m->exact_padding,
                     &m->shard_rows[s]);
    }
    tlp__dist_share(out, (size_t)m->cfg.n_heads * (size_t)B);
    return TLP_OK;
}

tlp_status tlp_model_forward_heads(tlp_model *m, const float *x, int B, const int *heads, int nh, float *out)
{
    if (nh < 1 || nh > m->cfg.n_heads) return TLP_ARG;
    for (int k = 0; k < nh; k++)
        if (heads[k] < 0 || heads[k] >= m->cfg.n_heads) return TLP_ARG;
    tlp_status st = tlp_model_reserve(m, B, 0, NULL);
    if (st) return st;
    int T = tlp_get_threads();
    if (T > m->n_inf) T = m->n_inf;
    size_t row = (size_t)m->Lin * (size_t)m->F;
    int chunks = (B + CHUNK - 1) / CHUNK, S = T < chunks ? T : chunks;
#pragma omp parallel for num_threads(S) schedule(static)
    for (int c = 0; c < chunks; c++) {
#ifdef _OPENMP
        acts_t *ai = &m->ai[omp_get_thread_num()];
#else
        acts_t *ai = &m->ai[0];
#endif
        int b0 = c * CHUNK;
        ai->n = B - b0 < CHUNK ? B - b0 : CHUNK;
        forward_acts(m, x + (size_t)b0 * row, ai, heads, nh, out + b0, B, 1, !m->exact_padding, NULL);
    }
    return TLP_OK;
}

/* Backward of samples [b0, b0 + n) of the last batch of B, adding the
 * parameter gradients into G; dp is an [L][L] scratch of its own; rows is
 * the shard's layout in the forward.  Longer than a screen: it is the
 * forward read backwards, layer by layer, each step handing its gradient
 * buffer to the next; cut in pieces, those buffers would cross as a dozen
 * arguments and the order (which a reader checks against forward_acts)
 * would be spread over several functions. */
static void backward_shard(tlp_model *m, int b0, int n, int Bfull, const float *dout, float *G, float *dp,
                           const rows_t *rows)
{
    const float *P = m->params;
    acts_t sl = slice(m, &m->a, b0, n, m->cfg.n_heads), *a = &sl;
    int L = m->L, B = n;
    size_t N = (size_t)rows->off[B], r = (size_t)b0 * (size_t)L;
    float *g_a = m->g_a + r * E, *g_b = m->g_b + r * E, *g_c = m->g_c + r * E, *g_d = m->g_d + r * E;
    float *g_p = m->g_p + r, *g_qkv = m->g_qkv + r * 3 * E;
    /* the input rows: raw and padded, the batch itself; else as input_rows laid them out */
    const float *x = m->cfg.encode == TLP_ENCODE_RAW && m->exact_padding ? m->last_x + r * (size_t)m->F : a->xe;
    float *dh7 = g_a;
    memset(dh7, 0, sizeof(float) * N * E);
    /* decoders: each head adds its share into dh7 */
    for (int h = 0; h < m->cfg.n_heads; h++) {
        float *dd4 = g_p; /* [N][1]: each row's share of its sample's score (the last row counted wl times) */
        for (int b = 0; b < B; b++) {
            float g = dout[(size_t)h * Bfull + b0 + b];
            for (int l = rows->off[b]; l < rows->off[b + 1]; l++) dd4[l] = g;
            dd4[rows->off[b + 1] - 1] = g * rows->wl[b];
        }
        /* layer 4 (no ReLU): input d3 [N][64] */
        float *dd3 = g_d;
        linear_bwd(P, G, &m->dec[h][3], a->d[h][3], N, dd4, dd3, 0);
        relu_mask(dd3, a->d[h][3], N * 64);
        float *dd2 = g_c;
        linear_bwd(P, G, &m->dec[h][2], a->d[h][2], N, dd3, dd2, 0);
        relu_mask(dd2, a->d[h][2], N * 128);
        float *dd1 = g_b;
        linear_bwd(P, G, &m->dec[h][1], a->d[h][1], N, dd2, dd1, 0);
        relu_mask(dd1, a->d[h][1], N * E);
        linear_bwd(P, G, &m->dec[h][0], a->h7, N, dd1, dh7, 1);
    }
    /* residual block 2: h7 = relu(h6 W^T + b) + h6 */
    float *dr = g_b;
    memcpy(dr, dh7, sizeof(float) * N * E);
    relu_mask(dr, a->r2, N * E);
    float *dh6 = dh7; /* dh6 = dh7 + dr W */
    linear_bwd(P, G, &m->res[1], a->h6, N, dr, dh6, 1);
    memcpy(dr, dh6, sizeof(float) * N * E);
    relu_mask(dr, a->r1, N * E);
    float *dh5 = dh6;
    linear_bwd(P, G, &m->res[0], a->h5, N, dr, dh5, 1);
    /* out-projection: h5 = o W^T + b + h4 */
    float *dobuf = g_b;
    linear_bwd(P, G, &m->out_proj, a->o, N, dh5, dobuf, 0);
    float *dh4 = dh5; /* the residual carries dh5 into dh4 */
    /* attention */
    float *dqkv = g_qkv;
    const float scale = 1 / sqrtf((float)HD);
    /* (a padding row's weight ln wl is a constant of its logit: no gradient of its own) */
    for (int b = 0; b < B; b++) {
        int o = rows->off[b], nr = rows->off[b + 1] - o;
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)o * 3 * E + (size_t)h * HD;
            const float *q = a->qkv + base, *k = q + E, *v = q + 2 * E;
            float *dq = dqkv + base, *dk = dq + E, *dv = dq + 2 * E;
            const float *p = a->p + ((size_t)b * NH + (size_t)h) * (size_t)L * (size_t)L;
            const float *dob = dobuf + (size_t)o * E + (size_t)h * HD;
            tlp_gemm(1, 0, nr, HD, nr, 1, p, nr, dob, E, 0, dv, 3 * E);
            tlp_gemm(0, 1, nr, nr, HD, 1, dob, E, v, 3 * E, 0, dp, nr);
            for (int i = 0; i < nr; i++) {
                const float *pr = p + (size_t)i * nr;
                float *dr_ = dp + (size_t)i * nr, dot = 0;
                for (int j = 0; j < nr; j++) dot += dr_[j] * pr[j];
                for (int j = 0; j < nr; j++) dr_[j] = pr[j] * (dr_[j] - dot);
            }
            tlp_gemm(0, 0, nr, HD, nr, scale, dp, nr, k, 3 * E, 0, dq, 3 * E);
            tlp_gemm(1, 0, nr, HD, nr, scale, dp, nr, q, 3 * E, 0, dk, 3 * E);
        }
    }
    /* the layers before attention hold the distinct rows (forward_acts): each
     * gathers the gradients of the rows that are it */
    size_t U = (size_t)rows->u;
    if (U < N) {
        gather_rows(dqkv, N, 3 * E, a->map);
        gather_rows(dh4, N, E, a->map);
    }
    linear_bwd(P, G, &m->in_proj, a->h[ENC], U, dqkv, dh4, 1);
    /* encoder */
    float *d = dh4, *other = g_b;
    for (int i = ENC - 1; i >= 0; i--) {
        relu_mask(d, a->h[i + 1], U * (size_t)ENC_DIMS[i + 1]);
        const float *in = i ? a->h[i] : x;
        linear_bwd(P, G, &m->enc[i], in, U, d, i ? other : NULL, 0);
        float *t = d;
        d = other;
        other = t;
    }
}

void tlp__model_rows(const tlp_model *m, size_t *rows, size_t *distinct)
{
    *rows = *distinct = 0;
    int S = m->last_B > 0 ? n_shards(m->last_B) : 0, lo = 0, hi = S;
    if (S) tlp__dist_shards(S, &lo, &hi);
    for (int s = lo; s < hi; s++) {
        const rows_t *r = &m->shard_rows[s];
        int b0, b1;
        shard_range(m->last_B, S, s, &b0, &b1);
        *rows += (size_t)r->off[b1 - b0];
        *distinct += (size_t)r->u;
    }
}

void tlp_model_backward(tlp_model *m, const float *dout)
{
    int B = m->last_B, T = tlp_get_threads();
    int S = n_shards(B), lo, hi;
    tlp__dist_shards(S, &lo, &hi); /* all of them in one process */
    int nt = T < hi - lo ? T : hi - lo;
    if (nt < 1) nt = 1;
    size_t np = m->n_params;
    /* shard 0 adds into the gradients; the others into buffers of their own,
     * summed in afterwards in shard order: the same bits for any thread
     * count, and for any number of ranks */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int s = lo; s < hi; s++) {
        int b0, b1;
        shard_range(B, S, s, &b0, &b1);
        float *G = s == 0 ? m->grads : m->g_extra + (size_t)(s - 1) * np;
        if (s) memset(G, 0, sizeof(float) * np);
        backward_shard(m, b0, b1 - b0, B, dout, G, m->g_pp + (size_t)s * (size_t)m->L * (size_t)m->L,
                       &m->shard_rows[s]);
    }
    if (S < 2 && tlp_dist_size() == 1) return;
    /* each parameter is summed over the shards in the same order */
    tlp__dist_sum_shards(m->grads, m->g_extra, np, lo, hi);
}
