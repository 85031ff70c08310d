/*
 * checkpoint.c: a model, its training settings and its Adam moments in one
 * self-checking binary file.
 *
 * Layout (version 2 to 4; integers little-endian, floats IEEE binary32/64
 * little-endian, strings as u32 length + bytes without NUL):
 *
 *   "TLPXCKPT" u32 version
 *   u32 mode, u32 L, u32 F, u32 n_heads, n_heads x str head name
 *   u32 encode, u32 model flags (0)                               [v2]
 *   str dictionary            the mode's feature dictionary as text (dict_build)
 *   str loss, str pairs, str split,
 *   str recipe, str select, str sched, str failed, i32 average, i32 group,
 *   i32 best_epoch, str note                                      [v2]
 *   f32 lr, f32 weight_decay, f32 clip,
 *   i32 batch, i32 epochs, i32 epochs_done, u64 seed, u64 step, f64 best_val
 *   u64 n_params, u32 n_tensors, n_tensors x (str name, u32 rows, u32 cols)
 *   u32 flags                 bit 0: Adam moments follow the parameters
 *                             bit 1: so does the averaging ring (with bit 0)
 *   f32 params[n_params], then when flagged f32 adam_m[n_params], adam_v[n_params]
 *   and when flagged u32 n_ring, u32 n_slots (= tlp_ring_slots(n_ring, average),
 *                             checked), n_slots x f32 params[n_params]
 *   u32 n_members, n_members x (u32 encode, f32 params[n_params])     [v3]
 *   u32 n_nets, n_nets x u32 encode, u32 nets_done, u32 plan flags    [v4]
 *                             bit 0: the networks started from a model's (fine-tuning)
 *                             [v5: n_nets 0 when there is no plan]
 *   n_heads x (u32 n_targets, n_targets x str target,               [v5]
 *              u64 n_tasks, n_tasks x u64 task)
 *                             what each head was trained on (tlp_model_origin_add)
 *   u64 FNV-1a-64 of every byte above
 *
 * An ensemble's other networks (tlp_model_add_member) follow the first's
 * weights: same mode, heads and tensor table, each with its own encoding.
 * A model without members is written as version 2, so a tlpx of before
 * ensembles reads it (if it knows the model's encoding: prog came with
 * ensembles, and an older tlpx refuses it as an unknown encoding).
 *
 * A model that knows what its heads were trained on is version 5, with
 * the sections of versions 3 and 4 (empty when they have nothing to say).
 * Otherwise a model saved by a training of several networks (tlp_train_meta.n_nets
 * > 1) is version 4: its plan (the networks' encodings, how many are
 * finished) lets --resume go on inside any of them.  The file holds the
 * finished networks and, when one is in training, that one last; the meta
 * (epochs_done, best_epoch, ...) and the Adam state are the last one's.
 *
 * The dictionary and the tensor table are redundant on purpose: weights are
 * only meaningful for the exact token encoding and parameter order they were
 * trained with, so a file made by a tlpx with another steps.def or another
 * network layout is refused instead of silently producing nonsense.
 *
 * Version 1 files (before input encodings and recipes) still load: their
 * models are raw-encoded and their recipe is TLP's.
 *
 * Saving streams the bytes through tlp_write_atomic, so a failed save leaves
 * an earlier file whole.  Loading reads the whole file, walks its structure
 * with every length checked against the bytes that remain, verifies the
 * checksum, then checks the meaning (bounds, dictionary, tensor table); only
 * then is a model built, so a caller never sees a half-loaded one.
 */
#include "train/train_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float32/float64 expected");

#define CK_MAGIC "TLPXCKPT"
#define CK_MAGIC_LEN 8
#define CK_VERSION 5u
#define MAX_TARGET 4096 /* bytes of a target string a head was trained on */
#define CK_PLAN_FINE 1u /* plan flags: the networks started from a model's */
#define CK_VERSION_MIN 1u
#define CK_FLAG_ADAM 1u
/* The raw weights of the last epochs that the saved (averaged) weights are
 * the mean of, so --resume goes on bit for bit.  Written only when there is
 * one: a tlpx from before it refuses such a file as "unknown flags 0x2". */
#define CK_FLAG_RING 2u
#define CK_FLAGS (CK_FLAG_ADAM | CK_FLAG_RING)
#define MAX_AVERAGE 1000 /* as tlp_train_start allows */
/* No checkpoint of this network comes near this; anything bigger is refused
 * before it is read into memory. */
#define MAX_FILE ((uint64_t)2 << 30)
/* Room for any tensor table a valid file can have (model.c makes 16 + 8 per
 * head); a file claiming more is walked but refused. */
#define MAX_TENSORS (16 + 8 * TLP_MAX_HEADS)
#define META_STR 16 /* sizeof tlp_train_meta.loss / pairs / split / recipe / select / sched */
#define N_META_STR 7
#define NOTE_STR 512 /* sizeof tlp_train_meta.note */

/* Does a model of `have` networks fit a training of n_nets with done
 * finished?  The finished ones, and the one in training if it has begun. */
static int plan_fits(long have, long n_nets, long done)
{
    return done >= 0 && done <= n_nets && have <= n_nets && (have == done || have == done + 1);
}

/* tlp.h has no status for "these bytes are not a valid checkpoint";
 * LAYOUT ("wrong record layout") is the closest, and using one status for
 * every format error lets callers tell them from I/O and memory failures. */
#define CK_BAD TLP_FORMAT

/* ------------------------------------------------------------ shared */

/* The feature dictionary of mode m as text, from the engine's own tables:
 * step kinds with their one-hot index, pragma codes, scope codes.  Returns
 * its length, or 0 when it does not fit in cap (it is a few hundred bytes). */
static size_t dict_build(tlp_mode m, char *buf, size_t cap)
{
    size_t n = 0;
    int w;
#define PUTF(...)                                                  \
    do {                                                           \
        w = snprintf(buf + n, cap - n, __VA_ARGS__);               \
        if (w < 0 || (size_t)w >= cap - n) return 0;               \
        n += (size_t)w;                                            \
    } while (0)
    for (int k = 0; k < TLP_STEP_COUNT; k++)
        PUTF("%s %d\n", tlp_step_tag((tlp_step_kind)k), tlp_mode_kind_index(m, (tlp_step_kind)k));
    /* the bound only guards against a table that never ends */
    const char *s;
    for (int c = 1; c < 1000 && (s = tlp_mode_pragma(m, c)) != NULL; c++) PUTF("pragma %d %s\n", c, s);
    static const char *const SCOPES[] = {"local", "shared", "global"};
    for (size_t i = 0; i < sizeof SCOPES / sizeof *SCOPES; i++)
        PUTF("scope %s %d\n", SCOPES[i], tlp_scope_code(TLP_STEP_CHW, SCOPES[i]));
    PUTF("chr shared %d\n", tlp_scope_code(TLP_STEP_CHR, "shared"));
#undef PUTF
    return n;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ------------------------------------------------------------ save */

typedef struct {
    FILE *f;
    uint64_t h;     /* FNV-1a of everything written so far */
    int failed;
    int saved_errno;
    const char *path;
    const tlp_model *m;
    const tlp_train_meta *meta;
    const tlp_train_state *st; /* NULL, or with moments */
    const char *dict;
    size_t dict_len;
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    w->h = tlp__fnv1a(w->h, p, n);
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = 1;
        w->saved_errno = errno;
    }
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, 8);
}

static void w_str(writer *w, const char *s, size_t n)
{
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

/* n floats in chunks, so a large block costs one small buffer. */
static void w_floats(writer *w, const float *x, size_t n)
{
    unsigned char buf[4096];
    while (n > 0 && !w->failed) {
        size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u = f32_bits(x[i]);
            for (int j = 0; j < 4; j++) buf[4 * i + (size_t)j] = (unsigned char)(u >> (8 * j));
        }
        w_bytes(w, buf, 4 * k);
        x += k;
        n -= k;
    }
}

/* What each head was trained on [v5]. */
static void write_origin(writer *w, const tlp_model *m)
{
    for (int h = 0; h < tlp_model_config_of(m)->n_heads; h++) {
        int nt = tlp_model_origin_n_targets(m, h);
        w_u32(w, (uint32_t)nt);
        for (int i = 0; i < nt; i++) {
            const char *t = tlp_model_origin_target_at(m, h, i);
            w_str(w, t, strnlen(t, MAX_TARGET - 1));
        }
        const uint64_t *tasks;
        size_t n = tlp_model_origin_tasks(m, h, &tasks);
        w_u64(w, (uint64_t)n);
        for (size_t i = 0; i < n; i++) w_u64(w, tasks[i]);
    }
}

/* The whole file, field by field in the order of the layout at the top of
 * this file (long for that reason: one place says what is written, in
 * order; walk reads it back the same way). */
static tlp_status write_checkpoint(FILE *f, void *ctx, tlp_error *err)
{
    writer *w = ctx;
    w->f = f;
    w->h = TLP_FNV_OFFSET;
    const tlp_model *m = w->m;
    const tlp_model_config *cfg = tlp_model_config_of(m);
    const tlp_train_meta *mt = w->meta;

    w_bytes(w, CK_MAGIC, CK_MAGIC_LEN);
    int K = tlp_model_n_members(m);
    uint32_t version = tlp_model_has_origin(m) ? 5u : mt->n_nets > 1 ? 4u : K > 1 ? 3u : 2u;
    w_u32(w, version);
    w_u32(w, (uint32_t)cfg->mode);
    w_u32(w, (uint32_t)cfg->steps); /* L: the crop, TLP's or --steps */
    w_u32(w, (uint32_t)tlp_mode_fea(cfg->mode));
    w_u32(w, (uint32_t)cfg->n_heads);
    for (int h = 0; h < cfg->n_heads; h++) w_str(w, cfg->heads[h], strnlen(cfg->heads[h], TLP_HEAD_NAME));
    w_u32(w, (uint32_t)cfg->encode);
    w_u32(w, 0); /* model flags: none defined yet */
    w_str(w, w->dict, w->dict_len);

    w_str(w, mt->loss, strnlen(mt->loss, sizeof mt->loss));
    w_str(w, mt->pairs, strnlen(mt->pairs, sizeof mt->pairs));
    w_str(w, mt->split, strnlen(mt->split, sizeof mt->split));
    w_str(w, mt->recipe, strnlen(mt->recipe, sizeof mt->recipe));
    w_str(w, mt->select, strnlen(mt->select, sizeof mt->select));
    w_str(w, mt->sched, strnlen(mt->sched, sizeof mt->sched));
    w_str(w, mt->failed, strnlen(mt->failed, sizeof mt->failed));
    w_u32(w, (uint32_t)mt->average);
    w_u32(w, (uint32_t)mt->group);
    w_u32(w, (uint32_t)mt->best_epoch);
    w_str(w, mt->note, strnlen(mt->note, sizeof mt->note));
    w_u32(w, f32_bits(mt->lr));
    w_u32(w, f32_bits(mt->weight_decay));
    w_u32(w, f32_bits(mt->clip));
    w_u32(w, (uint32_t)mt->batch); /* two's complement: read back by i32_of */
    w_u32(w, (uint32_t)mt->epochs);
    w_u32(w, (uint32_t)mt->epochs_done);
    w_u64(w, mt->seed);
    w_u64(w, mt->step);
    uint64_t bv;
    memcpy(&bv, &mt->best_val, 8);
    w_u64(w, bv);

    size_t np = tlp_model_n_params(m), nt = tlp_model_n_tensors(m);
    w_u64(w, (uint64_t)np);
    w_u32(w, (uint32_t)nt);
    for (size_t i = 0; i < nt; i++) {
        const char *name = "";
        int rows = 0, cols = 0;
        tlp_model_tensor(m, i, &name, &rows, &cols, NULL);
        w_str(w, name, strlen(name));
        w_u32(w, (uint32_t)rows);
        w_u32(w, (uint32_t)cols);
    }
    const tlp_train_state *st = w->st;
    int slots = st && st->ring ? tlp_ring_slots(st->n_ring, mt->average) : 0;
    int ring = slots > 0;
    w_u32(w, (st ? CK_FLAG_ADAM : 0) | (ring ? CK_FLAG_RING : 0));
    w_floats(w, tlp_model_params_const(m), np);
    if (st) {
        w_floats(w, st->m, np);
        w_floats(w, st->v, np);
    }
    if (ring) {
        w_u32(w, (uint32_t)st->n_ring);
        w_u32(w, (uint32_t)slots);
        w_floats(w, st->ring, np * (size_t)slots);
    }
    if (version >= 3) {
        w_u32(w, (uint32_t)(K - 1));
        for (int k = 1; k < K; k++) {
            const tlp_model *mk = tlp_model_member(m, k);
            w_u32(w, (uint32_t)tlp_model_config_of(mk)->encode);
            w_floats(w, tlp_model_params_const(mk), np);
        }
    }
    if (version >= 4) {
        int plan = mt->n_nets > 1 ? mt->n_nets : 0;
        w_u32(w, (uint32_t)plan);
        for (int k = 0; k < plan; k++) w_u32(w, (uint32_t)mt->nets[k]);
        w_u32(w, plan ? (uint32_t)mt->nets_done : 0);
        w_u32(w, mt->fine ? CK_PLAN_FINE : 0);
    }
    if (version >= 5) write_origin(w, m);
    /* the trailer is not part of what it checks */
    uint64_t sum = w->h;
    w_u64(w, sum);
    if (w->failed)
        return tlp_error_set(err, TLP_IO, w->path, 0, "write failed: %s", strerror(w->saved_errno));
    return TLP_OK;
}

tlp_status tlp_checkpoint_save(const char *path, const tlp_model *m, const tlp_train_meta *meta,
                               const tlp_train_state *state, tlp_error *err)
{
    if (!path || !path[0]) return tlp_error_set(err, TLP_ARG, path, 0, "no checkpoint path given");
    if (!m) return tlp_error_set(err, TLP_ARG, path, 0, "no model to save");
    /* one moment without the other cannot resume Adam; saving neither
     * silently would lose state the caller meant to keep */
    if (state && !state->m != !state->v)
        return tlp_error_set(err, TLP_ARG, path, 0, "Adam moments need both m and v (or neither)");
    tlp_train_meta zero;
    memset(&zero, 0, sizeof zero);
    if (!meta) meta = &zero;
    if (state && state->ring && !state->m)
        return tlp_error_set(err, TLP_ARG, path, 0, "an averaging ring without Adam moments");
    int K = tlp_model_n_members(m);
    if (meta->n_nets > TLP_MAX_MEMBERS || (meta->n_nets > 1 && !plan_fits(K, meta->n_nets, meta->nets_done)))
        return tlp_error_set(err, TLP_ARG, path, 0, "a model of %d networks from a training of %d with %d finished", K,
                             meta->n_nets, meta->nets_done);
    if (state && state->ring && meta->average > MAX_AVERAGE)
        return tlp_error_set(err, TLP_ARG, path, 0, "an averaging ring of average %d (at most %d)", meta->average,
                             MAX_AVERAGE);
    char dict[4096];
    writer w;
    memset(&w, 0, sizeof w);
    w.path = path;
    w.m = m;
    w.meta = meta;
    w.st = state && state->m ? state : NULL;
    w.dict = dict;
    w.dict_len = dict_build(tlp_model_config_of(m)->mode, dict, sizeof dict);
    if (w.dict_len == 0)
        return tlp_error_set(err, TLP_ARG, path, 0, "the feature dictionary does not fit in %zu bytes", sizeof dict);
    return tlp_write_atomic(path, write_checkpoint, &w, err);
}

/* ------------------------------------------------------------ load */

typedef struct {
    size_t off; /* into the file */
    uint32_t len;
} span;

typedef struct {
    uint32_t version;
    uint32_t mode, L, F, n_heads;
    span heads[TLP_MAX_HEADS]; /* the first TLP_MAX_HEADS names */
    uint32_t encode, model_flags;
    span dict;
    span meta_str[N_META_STR]; /* loss pairs split recipe select sched failed */
    uint32_t average, group, best_epoch;
    span note;
    uint32_t lr, wd, clip, batch, epochs, done;
    uint64_t seed, step, best;
    uint64_t n_params;
    uint32_t n_tensors;
    struct {
        span name;
        uint32_t rows, cols;
    } tensors[MAX_TENSORS];
    uint32_t flags;
    size_t params_off; /* the moments follow the params */
    uint32_t n_ring, n_slots; /* n_slots: tlp_ring_slots(n_ring, average) */
    size_t ring_off;
    uint32_t n_members;                      /* networks after the first [v3] */
    uint32_t member_encode[TLP_MAX_MEMBERS]; /* the first TLP_MAX_MEMBERS of them */
    size_t member_off[TLP_MAX_MEMBERS];
    uint32_t n_nets, nets_done, plan_flags; /* [v4] */
    uint32_t nets[TLP_MAX_MEMBERS];         /* the first TLP_MAX_MEMBERS encodings */
    size_t origin_off;                      /* [v5] */
} parsed;

/* A cursor over the file's bytes.  The first failure sticks: later reads
 * do nothing, so the walk can be written straight through. */
typedef struct {
    const unsigned char *p;
    size_t n, pos;
    const char *path;
    tlp_error *err;
    tlp_status st;
} reader;

static int r_need(reader *r, size_t len, const char *what)
{
    if (r->st) return 0;
    if (len <= r->n - r->pos) return 1;
    r->st = tlp_error_set(r->err, CK_BAD, r->path, 0, "truncated at byte %zu: expected %s (%zu bytes), the file ends at byte %zu",
                          r->pos, what, len, r->n);
    return 0;
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b) { return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32; }

static int32_t i32_of(uint32_t u)
{
    /* portable two's complement: converting a value above INT32_MAX to
     * int32_t directly is implementation-defined */
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static uint32_t r_u32(reader *r, const char *what)
{
    if (!r_need(r, 4, what)) return 0;
    uint32_t v = le32(r->p + r->pos);
    r->pos += 4;
    return v;
}

static uint64_t r_u64(reader *r, const char *what)
{
    if (!r_need(r, 8, what)) return 0;
    uint64_t v = le64(r->p + r->pos);
    r->pos += 8;
    return v;
}

static span r_str(reader *r, const char *what)
{
    span s = {0, 0};
    uint32_t len = r_u32(r, what);
    if (!r_need(r, len, what)) return s;
    s.off = r->pos;
    s.len = len;
    r->pos += len;
    return s;
}

/* count float32 values; count comes from the file, so no multiplication
 * happens before it is known to fit. */
static size_t r_floats(reader *r, uint64_t count, const char *what)
{
    if (r->st) return 0;
    if (count > (r->n - r->pos) / 4) {
        r->st = tlp_error_set(r->err, CK_BAD, r->path, 0,
                              "truncated at byte %zu: expected %llu float32 %s, the file ends at byte %zu", r->pos,
                              (unsigned long long)count, what, r->n);
        return 0;
    }
    size_t off = r->pos;
    r->pos += (size_t)count * 4;
    return off;
}

/* What each head was trained on [v5]: its structure, checked. */
static void walk_origin(reader *r, parsed *o)
{
    o->origin_off = r->pos;
    for (uint32_t h = 0; h < o->n_heads && !r->st; h++) {
        uint32_t nt = r_u32(r, "the number of a head's targets");
        if (!r->st && nt > TLP_ORIGIN_TARGETS)
            r->st = tlp_error_set(r->err, CK_BAD, r->path, 0, "head %u: %u targets (at most %d)", h, nt,
                                  TLP_ORIGIN_TARGETS);
        for (uint32_t i = 0; i < nt && !r->st; i++) {
            span t = r_str(r, "a head's target");
            if (!r->st && (t.len >= MAX_TARGET || memchr(r->p + t.off, 0, t.len)))
                r->st = tlp_error_set(r->err, CK_BAD, r->path, 0, "head %u: a target of %u bytes (at most %d, no NUL)",
                                      h, t.len, MAX_TARGET - 1);
        }
        uint64_t n = r_u64(r, "the number of a head's tasks");
        if (!r->st && n > (r->n - r->pos) / 8)
            r->st = tlp_error_set(r->err, CK_BAD, r->path, 0,
                                  "truncated at byte %zu: expected %llu tasks of head %u, the file ends at byte %zu",
                                  r->pos, (unsigned long long)n, h, r->n);
        if (!r->st) r->pos += (size_t)n * 8;
    }
}

/* Walk the structure after magic and version; every length is checked
 * against what remains.  Meaning is checked later, after the checksum.
 * Long: it follows the layout at the top of this file field by field, as
 * write_checkpoint does, so the two read side by side. */
static void walk(reader *r, parsed *o)
{
    o->mode = r_u32(r, "the mode");
    o->L = r_u32(r, "L");
    o->F = r_u32(r, "F");
    o->n_heads = r_u32(r, "the number of heads");
    for (uint32_t h = 0; h < o->n_heads && !r->st; h++) {
        span s = r_str(r, "a head name");
        if (h < TLP_MAX_HEADS) o->heads[h] = s;
    }
    if (o->version >= 2) {
        o->encode = r_u32(r, "the input encoding");
        o->model_flags = r_u32(r, "the model flags");
    }
    o->dict = r_str(r, "the feature dictionary");
    static const char *const META[N_META_STR] = {"the loss name", "the pair mode", "the split mode", "the recipe",
                                                 "the selection", "the schedule",  "the failed label"};
    for (int i = 0; i < 3; i++) o->meta_str[i] = r_str(r, META[i]);
    if (o->version >= 2) {
        for (int i = 3; i < N_META_STR; i++) o->meta_str[i] = r_str(r, META[i]);
        o->average = r_u32(r, "average");
        o->group = r_u32(r, "group");
        o->best_epoch = r_u32(r, "best_epoch");
        o->note = r_str(r, "the note");
    }
    o->lr = r_u32(r, "lr");
    o->wd = r_u32(r, "weight_decay");
    o->clip = r_u32(r, "clip");
    o->batch = r_u32(r, "batch");
    o->epochs = r_u32(r, "epochs");
    o->done = r_u32(r, "epochs_done");
    o->seed = r_u64(r, "seed");
    o->step = r_u64(r, "step");
    o->best = r_u64(r, "best_val");
    o->n_params = r_u64(r, "the parameter count");
    o->n_tensors = r_u32(r, "the tensor count");
    for (uint32_t t = 0; t < o->n_tensors && !r->st; t++) {
        span name = r_str(r, "a tensor name");
        uint32_t rows = r_u32(r, "a tensor's rows");
        uint32_t cols = r_u32(r, "a tensor's cols");
        if (t < MAX_TENSORS) {
            o->tensors[t].name = name;
            o->tensors[t].rows = rows;
            o->tensors[t].cols = cols;
        }
    }
    o->flags = r_u32(r, "the flags");
    o->params_off = r_floats(r, o->n_params, "parameters");
    if (o->flags & CK_FLAG_ADAM) {
        r_floats(r, o->n_params, "Adam first moments");
        r_floats(r, o->n_params, "Adam second moments");
    }
    if (o->flags & CK_FLAG_RING) {
        o->n_ring = r_u32(r, "the epochs in the averaging ring");
        int32_t avg = i32_of(o->average);
        if (!r->st && !(o->flags & CK_FLAG_ADAM))
            r->st = tlp_error_set(r->err, CK_BAD, r->path, 0, "an averaging ring without Adam moments");
        if (!r->st && (o->n_ring < 1 || o->n_ring > INT32_MAX || avg < 1 || avg > MAX_AVERAGE))
            r->st = tlp_error_set(r->err, CK_BAD, r->path, 0,
                                  "an averaging ring of %u epochs does not fit average %d (1 to %d)", o->n_ring, avg,
                                  MAX_AVERAGE);
        /* redundant (the epochs and the average give it), checked, kept:
         * files since the ring came with it */
        uint32_t n_slots = r_u32(r, "the averaging ring's slots");
        if (!r->st && n_slots != (uint32_t)tlp_ring_slots((int)o->n_ring, avg))
            r->st = tlp_error_set(r->err, CK_BAD, r->path, 0,
                                  "an averaging ring of %u slots after %u epochs does not fit average %d", n_slots,
                                  o->n_ring, avg);
        if (!r->st) o->n_slots = n_slots;
        for (uint32_t k = 0; k < o->n_slots && !r->st; k++) {
            size_t off = r_floats(r, o->n_params, "the averaging ring's weights");
            if (k == 0) o->ring_off = off;
        }
    }
    if (o->version >= 3) {
        o->n_members = r_u32(r, "the number of ensemble members");
        for (uint32_t k = 0; k < o->n_members && !r->st; k++) {
            uint32_t enc = r_u32(r, "a member's input encoding");
            size_t off = r_floats(r, o->n_params, "member parameters");
            if (k < TLP_MAX_MEMBERS) o->member_encode[k] = enc, o->member_off[k] = off;
        }
    }
    if (o->version >= 4) {
        o->n_nets = r_u32(r, "the number of networks the training makes");
        for (uint32_t k = 0; k < o->n_nets && !r->st; k++) {
            uint32_t enc = r_u32(r, "a network's input encoding");
            if (k < TLP_MAX_MEMBERS) o->nets[k] = enc;
        }
        o->nets_done = r_u32(r, "the number of networks finished");
        o->plan_flags = r_u32(r, "the training plan's flags");
    }
    if (o->version >= 5) walk_origin(r, o);
}

/* A file's bytes made safe to quote in a message: at most cap-1 of them,
 * anything unprintable as '?'. */
static void printable(const unsigned char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (; k < n && k + 1 < cap; k++) buf[k] = s[k] >= 0x20 && s[k] < 0x7f ? (char)s[k] : '?';
    buf[k] = 0;
}

/* A short string field into a fixed buffer of cap bytes (NUL included). */
static int str_ok(const unsigned char *p, span s, size_t cap)
{
    return s.len < cap && memchr(p + s.off, 0, s.len) == NULL;
}

/* Everything the checksum cannot tell: the file is well formed and intact,
 * but is it a model this tlpx can run? */
static tlp_status check_meaning(const unsigned char *p, const parsed *o, const char *path, tlp_error *err)
{
    if (o->mode >= TLP_MODE_COUNT)
        return tlp_error_set(err, CK_BAD, path, 0, "unknown feature mode %u (0 cpu, 1 gpu)", o->mode);
    tlp_mode mode = (tlp_mode)o->mode;
    if (o->L < 1 || o->L > TLP_MAX_STEPS || o->F != (uint32_t)tlp_mode_fea(mode))
        return tlp_error_set(err, CK_BAD, path, 0,
                             "the file's %s features are %ux%u; this tlpx makes 1..%d steps of %d values",
                             tlp_mode_name(mode), o->L, o->F, TLP_MAX_STEPS, tlp_mode_fea(mode));
    if (o->n_heads < 1 || o->n_heads > TLP_MAX_HEADS)
        return tlp_error_set(err, CK_BAD, path, 0, "%u heads; a model has 1..%d", o->n_heads, TLP_MAX_HEADS);
    for (uint32_t h = 0; h < o->n_heads; h++)
        if (!str_ok(p, o->heads[h], TLP_HEAD_NAME))
            return tlp_error_set(err, CK_BAD, path, 0, "head %u: a name of %u bytes (at most %d, no NUL)", h,
                                 o->heads[h].len, TLP_HEAD_NAME - 1);
    char dict[4096];
    size_t dn = dict_build(mode, dict, sizeof dict);
    if (dn == 0)
        return tlp_error_set(err, TLP_ARG, path, 0, "the feature dictionary does not fit in %zu bytes", sizeof dict);
    if (o->dict.len != dn || memcmp(p + o->dict.off, dict, dn) != 0) {
        /* name the first line that differs, quoting ours (the file's may be anything) */
        const unsigned char *fd = p + o->dict.off;
        size_t i = 0, line = 1, start = 0;
        while (i < dn && i < o->dict.len && (unsigned char)dict[i] == fd[i]) {
            if (dict[i] == '\n') {
                line++;
                start = i + 1;
            }
            i++;
        }
        size_t end = start;
        while (end < dn && dict[end] != '\n') end++;
        return tlp_error_set(err, CK_BAD, path, 0,
                             "the model was made with another feature dictionary (%s, line %zu; this tlpx has \"%.*s\")",
                             tlp_mode_name(mode), line, (int)(end - start), dict + start);
    }
    if (o->encode >= TLP_ENCODE_COUNT)
        return tlp_error_set(err, CK_BAD, path, 0, "unknown input encoding %u (0 raw, 1 log, 2 prog)", o->encode);
    if (o->n_members > TLP_MAX_MEMBERS - 1)
        return tlp_error_set(err, CK_BAD, path, 0, "%u ensemble members: at most %d networks in all", o->n_members,
                             TLP_MAX_MEMBERS);
    for (uint32_t k = 0; k < o->n_members; k++)
        if (o->member_encode[k] >= TLP_ENCODE_COUNT)
            return tlp_error_set(err, CK_BAD, path, 0, "member %u: unknown input encoding %u", k + 1,
                                 o->member_encode[k]);
    if (o->model_flags)
        return tlp_error_set(err, CK_BAD, path, 0, "unknown model flags 0x%x: made by a newer tlpx", o->model_flags);
    if (o->version >= 4 && (o->version == 4 || o->n_nets)) { /* the training plan, and the networks in the file as it says */
        uint32_t have = 1 + o->n_members;
        if (o->n_nets < 2 || o->n_nets > TLP_MAX_MEMBERS)
            return tlp_error_set(err, CK_BAD, path, 0, "a training of %u networks (2 to %d)", o->n_nets,
                                 TLP_MAX_MEMBERS);
        if (!plan_fits(have, o->n_nets, o->nets_done))
            return tlp_error_set(err, CK_BAD, path, 0,
                                 "%u network%s in the file, but the training of %u had finished %u", have,
                                 have == 1 ? "" : "s", o->n_nets, o->nets_done);
        for (uint32_t k = 0; k < o->n_nets; k++) {
            uint32_t in_file = k == 0 ? o->encode : k < have ? o->member_encode[k - 1] : o->nets[k];
            if (o->nets[k] >= TLP_ENCODE_COUNT)
                return tlp_error_set(err, CK_BAD, path, 0, "network %u: unknown input encoding %u", k + 1, o->nets[k]);
            if (in_file != o->nets[k])
                return tlp_error_set(err, CK_BAD, path, 0, "network %u: encoding %u in the plan, %u in the file", k + 1,
                                     o->nets[k], in_file);
        }
        if (o->plan_flags & ~CK_PLAN_FINE)
            return tlp_error_set(err, CK_BAD, path, 0, "unknown training plan flags 0x%x: made by a newer tlpx",
                                 o->plan_flags & ~CK_PLAN_FINE);
    }
    static const char *const META[N_META_STR] = {"loss", "pairs", "split", "recipe", "select", "sched", "failed"};
    for (int i = 0; i < N_META_STR; i++)
        if (!str_ok(p, o->meta_str[i], META_STR))
            return tlp_error_set(err, CK_BAD, path, 0, "training setting %s: %u bytes (at most %d, no NUL)", META[i],
                                 o->meta_str[i].len, META_STR - 1);
    if (!str_ok(p, o->note, NOTE_STR))
        return tlp_error_set(err, CK_BAD, path, 0, "the note: %u bytes (at most %d, no NUL)", o->note.len,
                             NOTE_STR - 1);
    if (o->flags & ~CK_FLAGS)
        return tlp_error_set(err, CK_BAD, path, 0, "unknown flags 0x%x: made by a newer tlpx", o->flags & ~CK_FLAGS);
    return TLP_OK;
}

/* The file's tensor table must be exactly the one this tlpx builds. */
static tlp_status check_tensors(const unsigned char *p, const parsed *o, const tlp_model *m, const char *path,
                                tlp_error *err)
{
    size_t nt = tlp_model_n_tensors(m);
    if (o->n_tensors != nt)
        return tlp_error_set(err, CK_BAD, path, 0, "the file lists %u tensors; this tlpx makes %zu for that config",
                             o->n_tensors, nt);
    for (size_t i = 0; i < nt; i++) {
        const char *name = "";
        int rows = 0, cols = 0;
        tlp_model_tensor(m, i, &name, &rows, &cols, NULL);
        span s = o->tensors[i].name;
        size_t len = strlen(name);
        if (s.len != len || memcmp(p + s.off, name, len) != 0 || o->tensors[i].rows != (uint32_t)rows ||
            o->tensors[i].cols != (uint32_t)cols) {
            char fname[64];
            printable(p + s.off, s.len, fname, sizeof fname);
            return tlp_error_set(err, CK_BAD, path, 0, "tensor %zu differs: the file has %s %ux%u, this tlpx makes %s %dx%d",
                                 i, fname, o->tensors[i].rows, o->tensors[i].cols, name, rows, cols);
        }
    }
    if (o->n_params != tlp_model_n_params(m))
        return tlp_error_set(err, CK_BAD, path, 0, "the file has %llu parameters; this tlpx makes %zu",
                             (unsigned long long)o->n_params, tlp_model_n_params(m));
    return TLP_OK;
}

static void get_floats(const unsigned char *p, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = bits_f32(le32(p + 4 * i));
}

/* Read all of path into *buf (*n bytes).  Refuses what cannot be a checkpoint
 * by size before allocating. */
static tlp_status read_all(const char *path, unsigned char **buf, size_t *n, tlp_error *err)
{
    *buf = NULL;
    *n = 0;
    FILE *f = tlp_fopen_regular(path); /* a FIFO is refused, not waited on */
    if (!f) {
        int e = errno;
        if (e == EINVAL) return tlp_error_set(err, CK_BAD, path, 0, "not a regular file");
        return tlp_error_set(err, e == ENOENT ? TLP_NOT_FOUND : TLP_IO, path, 0, "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return tlp_error_set(err, TLP_IO, path, 0, "cannot stat: %s", strerror(e));
    }
    if (st.st_size <= 0) {
        fclose(f);
        return tlp_error_set(err, CK_BAD, path, 0, "empty file: not a tlpx checkpoint");
    }
    if ((uint64_t)st.st_size > MAX_FILE) {
        fclose(f);
        return tlp_error_set(err, CK_BAD, path, 0, "%lld bytes: larger than any tlpx checkpoint (2 GiB at most)",
                             (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *b = malloc(size);
    if (!b) {
        fclose(f);
        return tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory for %zu bytes", size);
    }
    size_t got = fread(b, 1, size, f);
    int e = errno, bad = ferror(f);
    fclose(f);
    if (got != size) {
        free(b);
        if (bad) return tlp_error_set(err, TLP_IO, path, 0, "read failed: %s", strerror(e));
        return tlp_error_set(err, TLP_IO, path, 0, "the file shrank while being read (%zu of %zu bytes)", got, size);
    }
    *buf = b;
    *n = size;
    return TLP_OK;
}

/* Everything up to building the model: magic, version, structure, trailer,
 * checksum, meaning. */
static tlp_status parse(const unsigned char *p, size_t n, parsed *o, const char *path, tlp_error *err)
{
    if (n < CK_MAGIC_LEN) {
        if (memcmp(p, CK_MAGIC, n) == 0)
            return tlp_error_set(err, CK_BAD, path, 0, "truncated at byte 0: expected the %d-byte magic, the file ends at byte %zu",
                                 CK_MAGIC_LEN, n);
        return tlp_error_set(err, CK_BAD, path, 0, "not a tlpx checkpoint (no %s magic)", CK_MAGIC);
    }
    if (memcmp(p, CK_MAGIC, CK_MAGIC_LEN) != 0)
        return tlp_error_set(err, CK_BAD, path, 0, "not a tlpx checkpoint (no %s magic)", CK_MAGIC);
    reader r = {p, n, CK_MAGIC_LEN, path, err, TLP_OK};
    uint32_t version = r_u32(&r, "the version");
    if (r.st) return r.st;
    /* Every version ends with the checksum of all before it: when it does not match, the file was
     * changed or cut short, and what the walk finds (an unknown version, a length running past the
     * end) is a symptom, said as such, not taken for another format or a truncation. */
    int intact = n >= CK_MAGIC_LEN + 12 && !tlp__sum_differs(le64(p + n - 8), tlp__fnv1a(TLP_FNV_OFFSET, p, n - 8));
    /* before anything else: another version may lay out the rest differently */
    if (version < CK_VERSION_MIN || version > CK_VERSION) {
        if (!intact)
            return tlp_error_set(err, CK_BAD, path, 0,
                                 "damaged (or written by a newer tlpx): its checksum does not match and its version "
                                 "field reads %u (this tlpx reads versions %u to %u)", version, CK_VERSION_MIN, CK_VERSION);
        return tlp_error_set(err, CK_BAD, path, 0, "version %u is not supported; this tlpx reads versions %u to %u",
                             version, CK_VERSION_MIN, CK_VERSION);
    }
    o->version = version;
    walk(&r, o);
    if (r.st && !intact && err) {
        char first[sizeof err->msg];
        snprintf(first, sizeof first, "%s", err->msg);
        tlp_error_set(err, CK_BAD, path, 0, "damaged (its checksum does not match: changed or cut short); "
                      "the first thing wrong: %s", first);
    }
    if (r.st) return r.st;
    size_t left = n - r.pos;
    if (left < 8)
        return tlp_error_set(err, CK_BAD, path, 0, "truncated at byte %zu: expected the 8-byte checksum, the file ends at byte %zu",
                             r.pos, n);
    if (left > 8)
        return tlp_error_set(err, CK_BAD, path, 0, "%zu bytes of trailing data: the file should end at byte %zu",
                             left - 8, r.pos + 8);
    if (tlp__sum_differs(le64(p + r.pos), tlp__fnv1a(TLP_FNV_OFFSET, p, r.pos)))
        return tlp_error_set(err, CK_BAD, path, 0, "checksum mismatch: the file is corrupt");
    return check_meaning(p, o, path, err);
}

/* The training's meta as the file keeps it (older versions: TLP's
 * settings where they had none). */
static void meta_of(const unsigned char *p, const parsed *o, tlp_train_meta *meta)
{
    tlp_train_meta mt;
    memset(&mt, 0, sizeof mt);
    char *dst[N_META_STR] = {mt.loss, mt.pairs, mt.split, mt.recipe, mt.select, mt.sched, mt.failed};
    for (int i = 0; i < N_META_STR; i++) memcpy(dst[i], p + o->meta_str[i].off, o->meta_str[i].len);
    memcpy(mt.note, p + o->note.off, o->note.len);
    mt.average = i32_of(o->average);
    mt.group = i32_of(o->group);
    mt.best_epoch = i32_of(o->best_epoch);
    if (o->version < 2) { /* before recipes: TLP's settings */
        snprintf(mt.recipe, sizeof mt.recipe, "tlp");
        snprintf(mt.select, sizeof mt.select, "loss");
        snprintf(mt.sched, sizeof mt.sched, "const");
        snprintf(mt.failed, sizeof mt.failed, "keep");
        mt.group = 128;
    }
    mt.lr = bits_f32(o->lr);
    mt.weight_decay = bits_f32(o->wd);
    mt.clip = bits_f32(o->clip);
    mt.batch = i32_of(o->batch);
    mt.epochs = i32_of(o->epochs);
    mt.epochs_done = i32_of(o->done);
    mt.seed = o->seed;
    mt.step = o->step;
    memcpy(&mt.best_val, &o->best, 8);
    if (o->version >= 4 && o->n_nets) {
        mt.n_nets = (int)o->n_nets;
        mt.nets_done = (int)o->nets_done;
        for (uint32_t k = 0; k < o->n_nets; k++) mt.nets[k] = (tlp_encode)o->nets[k];
        mt.fine = (o->plan_flags & CK_PLAN_FINE) != 0;
    } else if (o->n_members == 0) { /* no plan: one network's training */
        mt.n_nets = 1;
        mt.nets[0] = (tlp_encode)o->encode;
    } /* an ensemble without a plan (tlpx ensemble): n_nets 0 */
    *meta = mt;
}

/* The state to resume from, when the file has it: Adam's moments and the
 * averaging ring.  -1 when out of memory. */
static int state_of(const unsigned char *p, const parsed *o, tlp_train_state *st)
{
    size_t np = (size_t)o->n_params;
    if (o->flags & CK_FLAG_ADAM) {
        st->m = malloc(np * sizeof *st->m);
        st->v = malloc(np * sizeof *st->v);
        if (!st->m || !st->v) return -1;
        get_floats(p + o->params_off + 4 * np, np, st->m);
        get_floats(p + o->params_off + 8 * np, np, st->v);
    }
    if ((o->flags & CK_FLAG_RING) && o->n_slots > 0) {
        st->ring = malloc(np * o->n_slots * sizeof *st->ring);
        if (!st->ring) return -1;
        get_floats(p + o->ring_off, np * o->n_slots, st->ring);
        st->n_ring = (int)o->n_ring;
    }
    return 0;
}

/* What each head was trained on, into m (walk_origin checked the
 * structure).  -1 when out of memory. */
static int origin_of(const unsigned char *p, size_t n, const parsed *o, tlp_model *m)
{
    reader r = {p, n, o->origin_off, NULL, NULL, TLP_OK};
    uint64_t buf[512];
    for (uint32_t h = 0; h < o->n_heads; h++) {
        uint32_t nt = r_u32(&r, "");
        for (uint32_t i = 0; i < nt; i++) {
            span t = r_str(&r, "");
            char target[MAX_TARGET];
            memcpy(target, p + t.off, t.len);
            target[t.len] = 0;
            if (tlp_model_origin_add(m, (int)h, target, NULL, 0) == TLP_NOMEM) return -1;
        }
        uint64_t left = r_u64(&r, "");
        while (left) {
            size_t k = left < 512 ? (size_t)left : 512;
            for (size_t i = 0; i < k; i++) buf[i] = r_u64(&r, "");
            if (tlp_model_origin_add(m, (int)h, NULL, buf, k) != TLP_OK) return -1;
            left -= k;
        }
    }
    return 0;
}

tlp_model *tlp_checkpoint_load(const char *path, tlp_train_meta *meta, tlp_train_state *state, tlp_error *err)
{
    if (state) memset(state, 0, sizeof *state);
    if (!path || !path[0]) {
        tlp_error_set(err, TLP_ARG, path, 0, "no checkpoint path given");
        return NULL;
    }
    unsigned char *p;
    size_t n;
    if (read_all(path, &p, &n, err) != TLP_OK) return NULL;
    /* parsed holds a table of MAX_TENSORS entries: too big for a comfortable stack frame */
    parsed *o = calloc(1, sizeof *o);
    if (!o) {
        free(p);
        tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory");
        return NULL;
    }
    tlp_model *m = NULL;
    tlp_train_state st = {0};
    if (parse(p, n, o, path, err) != TLP_OK) goto fail;

    tlp_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = (tlp_mode)o->mode;
    cfg.n_heads = (int)o->n_heads;
    cfg.encode = (tlp_encode)o->encode;
    cfg.steps = (int)o->L;
    for (uint32_t h = 0; h < o->n_heads; h++) {
        memcpy(cfg.heads[h], p + o->heads[h].off, o->heads[h].len);
        tlp_clean_name(cfg.heads[h]); /* as a hardware name is when read: safe to print */
    }
    tlp_error merr;
    memset(&merr, 0, sizeof merr);
    m = tlp_model_new(&cfg, 0, &merr);
    if (!m) {
        tlp_error_set(err, merr.status ? merr.status : TLP_NOMEM, path, 0, "%s", merr.msg);
        goto fail;
    }
    if (check_tensors(p, o, m, path, err) != TLP_OK) goto fail;
    size_t np = (size_t)o->n_params;
    if (state && state_of(p, o, &st)) goto nomem;
    get_floats(p + o->params_off, np, tlp_model_params(m));
    for (uint32_t k = 0; k < o->n_members; k++) {
        cfg.encode = (tlp_encode)o->member_encode[k];
        tlp_model *mk = tlp_model_new(&cfg, 0, &merr);
        if (!mk || tlp_model_add_member(m, mk, &merr) != TLP_OK) {
            tlp_model_free(mk);
            tlp_error_set(err, merr.status ? merr.status : TLP_NOMEM, path, 0, "member %u: %s", k + 1, merr.msg);
            goto fail;
        }
        get_floats(p + o->member_off[k], np, tlp_model_params(mk));
    }
    if (o->version >= 5 && origin_of(p, n, o, m)) goto nomem_origin;
    if (meta) meta_of(p, o, meta);
    if (state) *state = st;
    free(o);
    free(p);
    return m;

nomem_origin:
    tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory for what the model was trained on");
    goto fail;
nomem:
    tlp_error_set(err, TLP_NOMEM, path, 0, "out of memory for the state to resume from");
fail:
    tlp_train_state_free(&st);
    tlp_model_free(m);
    free(o);
    free(p);
    return NULL;
}
