/*
 * settings.c: the training settings: TLP's defaults and the named recipes,
 * and every setting by name from one table (settings.def): parsed and
 * bounded for tlpx train and :train (tlp_train_set), checked for a training
 * (tlp__train_check), and kept in a model's meta by name.
 */
#include "train/train_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tlp_train_defaults(tlp_train_opts *o, tlp_mode m)
{
    memset(o, 0, sizeof *o);
    o->mode = m;
    o->epochs = 50;
    o->batch = 1024;
    o->lr = 7e-4f;
    o->weight_decay = 1e-6f;
    o->clip = 0.5f;
    o->loss = TLP_LOSS_RANK;
    o->pairs = TLP_PAIRS_BATCH;
    o->split = TLP_SPLIT_RECORD; /* TLP's scripts: the last 10% of a permutation of the records */
    o->val_frac = 0.1;
    o->seed = 0;
    o->threads = 1;
    o->n_nets = 1;
    o->encode[0] = TLP_ENCODE_RAW;
    o->select = TLP_SELECT_LOSS;
    o->sched = TLP_SCHED_CONST;
    o->average = 0;
    o->group = 128;
    snprintf(o->recipe, sizeof o->recipe, "tlp");
}

const char *const TLP_RECIPES[] = {"tlp", "tlpx", NULL};

tlp_status tlp_train_recipe(tlp_train_opts *o, tlp_mode m, const char *name)
{
    tlp_train_defaults(o, m);
    if (!name || !strcmp(name, "tlp")) return TLP_OK;
    if (strcmp(name, "tlpx") != 0) return TLP_ARG;
    /* each part measured with bench/quality.sh (3-fold cross-validation by
     * task, 3 seeds): the figures are in docs/quality.md, "Part by part" */
    o->split = TLP_SPLIT_TASK;   /* validation on tasks the model has not seen, as it is used */
    o->select = TLP_SELECT_LAST; /* the last epoch (least validation loss measured lower) */
    o->epochs = 10;              /* the epochs it was measured with (50 not measured) */
    o->failed = TLP_FAILED_DEMOTE; /* failed programs below every valid one */
    /* two networks, of log-scaled tokens and of log-scaled tokens with the
     * program row, as one ensemble: better than either alone on K80 and
     * Xeon, for twice the training */
    o->n_nets = 2;
    o->encode[0] = TLP_ENCODE_LOG;
    o->encode[1] = TLP_ENCODE_PROG;
    /* padding rows computed once, weighted by their count: the same model
     * to float rounding, about 1.8x faster, and level on quality (K80 and
     * Xeon, 3 seeds: docs/quality.md, "A longer crop, and the padding once") */
    o->padding = TLP_PADDING_ONCE;
    /* by the mode, once the data says it: TLPX_BY_MODE */
    o->batch = TLP_BY_MODE;
    o->average = TLP_BY_MODE;
    snprintf(o->recipe, sizeof o->recipe, "tlpx");
    return TLP_OK;
}

/* Recipe tlpx's settings that differ between GPU and CPU records, made
 * concrete when the data gives the mode (tlp_train_resolve), each as it
 * measured better on that kind of records (docs/quality.md, "Part by
 * part"): batch 256 on GPU records (4x the optimiser steps of TLP's 1024 in
 * 10 epochs), 1024 on CPU; the kept weights the mean of the last 3 epochs'
 * on GPU records, none on CPU. */
static const struct {
    int batch;
    int average;
} TLPX_BY_MODE[TLP_MODE_COUNT] = {
    [TLP_MODE_CPU] = {1024, 0},
    [TLP_MODE_GPU] = {256, 3},
};

void tlp_train_resolve(tlp_train_opts *o, tlp_mode m)
{
    if ((unsigned)m >= TLP_MODE_COUNT) return;
    if (o->batch == TLP_BY_MODE) o->batch = TLPX_BY_MODE[m].batch;
    if (o->average == TLP_BY_MODE) o->average = TLPX_BY_MODE[m].average;
}

int tlp_train_steps(const tlp_train_opts *o) { return tlp_mode_crop(o->mode, o->steps); }

float tlp_train_lr(const tlp_train_opts *o, uint64_t t, uint64_t total)
{
    if (o->sched != TLP_SCHED_COSINE || total == 0) return o->lr;
    double x = (double)(t < total ? t : total) / (double)total;
    return (float)(0.5 * o->lr * (1 + cos(M_PI * x)));
}

/* ------------------------------------------------------------ the table */

#define NAME_OF(value, name) name,
static const char *const NONE_NAMES[] = {NULL};
#define CHOICE_NAMES(list) static const char *const list##_NAMES[] = {list(NAME_OF) NULL};
CHOICE_NAMES(TLP_LOSSES)
CHOICE_NAMES(TLP_PAIRS)
CHOICE_NAMES(TLP_SPLITS)
CHOICE_NAMES(TLP_SELECTS)
CHOICE_NAMES(TLP_SCHEDS)
CHOICE_NAMES(TLP_FAILEDS)
CHOICE_NAMES(TLP_PADDINGS)
#undef CHOICE_NAMES

typedef enum { WHOLE, REAL, FRACTION, CHOICE, ENCODES, HEADS, FLAG } kind_t;

typedef struct {
    const char *name;
    kind_t kind;
    const char *const *choices; /* CHOICE: the names, NULL-terminated */
    double lo, hi;
    int custom, checked;
    const char *what;
} setting;

static const setting SETTINGS[] = {
#define SETTING(name, field, kind, choices, lo, hi, custom, checked, sh, arg, what, help) \
    {name, kind, choices##_NAMES, (double)(lo), (double)(hi), custom, checked, what},
#include "train/settings.def"
#undef SETTING
};
#define N_SETTINGS (int)(sizeof SETTINGS / sizeof *SETTINGS)
_Static_assert(TLP_MAX_MEMBERS == 8, "settings.def says \"at most 8\" networks");
_Static_assert(TLP_MAX_STEPS == 128, "settings.def says steps go \"to 128\"");

const char *tlp_train_setting_name(int i)
{
    if (i == 0) return "recipe";
    return i > 0 && i <= N_SETTINGS ? SETTINGS[i - 1].name : NULL;
}

static int choice_of(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

/* "a, b or c": the names of a list, for a message. */
static void say_names(const char *const *names, char *buf, size_t cap)
{
    size_t w = 0;
    int n = 0;
    while (names[n]) n++;
    buf[0] = 0;
    for (int i = 0; i < n && w < cap; i++)
        w += (size_t)snprintf(buf + w, cap - w, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
}

static tlp_status bad_value(const setting *s, const char *v, tlp_error *err)
{
    char names[128];
    if (!s->what) say_names(s->choices, names, sizeof names);
    return tlp_error_set(err, TLP_ARG, NULL, 0, "%s is %s, not \"%s\"", s->name, s->what ? s->what : names, v);
}

/* ------------------------------------------------------------ parsing a value */

static int parse_whole(const char *v, const setting *s, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || (double)x < s->lo || (double)x > s->hi) return -1;
    *out = x;
    return 0;
}

static int parse_real(const char *v, const setting *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    int low_ok = s->kind == FRACTION ? d >= s->lo : d > s->lo;
    if (!*v || *end || errno || !(low_ok && d < s->hi)) return -1;
    *out = d;
    return 0;
}

/* "log,prog": the networks' encodings; -1 when one is unknown (an empty
 * name is an unknown one) or there are too many. */
static int parse_encodes(const char *v, tlp_encode *e, int *n_out)
{
    int n = 0;
    for (const char *p = v;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[16];
        if (n == TLP_MAX_MEMBERS || len >= sizeof name) return -1;
        memcpy(name, p, len);
        name[len] = 0;
        int c = tlp_encode_of(name);
        if (c < 0) return -1;
        e[n++] = (tlp_encode)c;
        if (!end) break;
        p = end + 1;
    }
    *n_out = n;
    return 0;
}

static tlp_status parse_heads(const char *v, const setting *s, tlp_train_opts *o, tlp_error *err)
{
    char copy[TLP_MAX_HEADS * TLP_HEAD_NAME], *save = NULL;
    snprintf(copy, sizeof copy, "%s", v);
    int n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == TLP_MAX_HEADS) return tlp_error_set(err, TLP_ARG, NULL, 0, "at most %d heads", TLP_MAX_HEADS);
        snprintf(o->heads[n++], TLP_HEAD_NAME, "%s", tok);
    }
    if (!n) return tlp_error_set(err, TLP_ARG, NULL, 0, "%s needs hardware names: %s=K80,V100", s->name, s->name);
    o->n_heads = n;
    return TLP_OK;
}

/* A count that does not fit an int (--budget 3000000000) is as many as one
 * holds: every sample. */
#define FIT(field, x) _Generic((field), int: (int)((x) > 2000000000 ? 2000000000 : (x)), default: (x))

/* Value v of setting k (a row of settings.def) into o, or TLP_ARG.  Each
 * row's field has its own type: the table is expanded into one case a row,
 * so every store is a plain typed assignment. */
static tlp_status store(tlp_train_opts *o, int k, const char *v, tlp_error *err)
{
    const setting *s = &SETTINGS[k];
    long long x = 0;
    double d = 0;
    int c = 0, n = 0;
    tlp_encode e[TLP_MAX_MEMBERS];
    switch (s->kind) {
    case WHOLE: if (parse_whole(v, s, &x)) return bad_value(s, v, err); break;
    case REAL:
    case FRACTION: if (parse_real(v, s, &d)) return bad_value(s, v, err); break;
    case CHOICE: if ((c = choice_of(v, s->choices)) < 0) return bad_value(s, v, err); break;
    case ENCODES: if (parse_encodes(v, e, &n)) return bad_value(s, v, err); break;
    case HEADS: return parse_heads(v, s, o, err);
    case FLAG:
        if (v && *v) return tlp_error_set(err, TLP_ARG, NULL, 0, "%s takes no value", s->name);
        break;
    }
    int row = 0;
#define SETTING(name, field, kind, choices, lo, hi, custom, checked, sh, arg, what, help) \
    if (row++ == k) STORE_##kind(field);
#define STORE_WHOLE(field) o->field = FIT(o->field, x)
#define STORE_REAL(field) o->field = d
#define STORE_FRACTION(field) o->field = d
#define STORE_CHOICE(field) o->field = c
#define STORE_ENCODES(field) (o->n_nets = n, memcpy(o->field, e, sizeof e))
#define STORE_HEADS(field) (void)0
#define STORE_FLAG(field) o->field = 1
#include "train/settings.def"
#undef SETTING
    return TLP_OK;
}

static int row_of(const char *name)
{
    int k = 0;
    while (k < N_SETTINGS && strcmp(SETTINGS[k].name, name) != 0) k++;
    return k < N_SETTINGS ? k : -1;
}

tlp_status tlp_train_set(tlp_train_opts *o, const char *name, const char *v, tlp_error *err)
{
    int k = row_of(name);
    if (!v && (k < 0 || SETTINGS[k].kind != FLAG))
        return tlp_error_set(err, TLP_ARG, NULL, 0, "%s needs a value: %s=VALUE", name, name);
    if (!strcmp(name, "recipe")) {
        tlp_train_opts keep = *o;
        if (tlp_train_recipe(o, o->mode, v) != TLP_OK) {
            char names[64];
            *o = keep;
            say_names(TLP_RECIPES, names, sizeof names);
            return tlp_error_set(err, TLP_ARG, NULL, 0, "recipe is %s, not \"%s\"", names, v);
        }
        /* what is not a training setting stays */
        o->threads = keep.threads;
        o->n_heads = keep.n_heads;
        memcpy(o->heads, keep.heads, sizeof o->heads);
        memcpy(o->note, keep.note, sizeof o->note);
        o->on_kept = keep.on_kept;
        o->kept_ctx = keep.kept_ctx;
        return TLP_OK;
    }
    if (k < 0) return tlp_error_set(err, TLP_ARG, NULL, 0, "no training setting \"%s\"", name);
    tlp_train_opts keep = *o;
    tlp_status st = store(o, k, v, err);
    if (st != TLP_OK) *o = keep; /* heads= may have named some before the error */
    /* a setting of the recipe changed: the settings are the recipe's no more */
    else if (SETTINGS[k].custom) snprintf(o->recipe, sizeof o->recipe, "custom");
    return st;
}

/* ------------------------------------------------------------ checking a training's settings */

/* The value of row k's field in o, as a number, for the bounds. */
static double value_of(const tlp_train_opts *o, int k)
{
    int row = 0;
    double v = 0;
#define SETTING(name, field, kind, choices, lo, hi, custom, checked, sh, arg, what, help) \
    if (row++ == k) v = VALUE_##kind(field);
#define VALUE_WHOLE(field) (double)o->field
#define VALUE_REAL(field) (double)o->field
#define VALUE_FRACTION(field) (double)o->field
#define VALUE_CHOICE(field) (double)o->field
#define VALUE_ENCODES(field) (double)o->n_nets
#define VALUE_HEADS(field) (double)o->n_heads
#define VALUE_FLAG(field) (double)(o->field != 0)
#include "train/settings.def"
#undef SETTING
    return v;
}

tlp_status tlp__train_check(const tlp_train_opts *o, tlp_error *err)
{
    for (int k = 0; k < N_SETTINGS; k++) {
        const setting *s = &SETTINGS[k];
        if (!s->checked) continue;
        double v = value_of(o, k);
        int n = 0, fine;
        switch (s->kind) {
        case WHOLE: fine = v >= s->lo && v <= s->hi; break;
        case REAL: fine = v > s->lo && v < s->hi; break;
        case FRACTION: fine = v >= s->lo && v < s->hi; break;
        case CHOICE: while (s->choices[n]) n++; fine = v >= 0 && v < n; break;
        case ENCODES:
            fine = v >= s->lo && v <= s->hi;
            for (int i = 0; fine && i < o->n_nets; i++) fine = (unsigned)o->encode[i] < TLP_ENCODE_COUNT;
            break;
        default: fine = 1; /* a flag is on or off */
        }
        if (!fine) {
            char names[128];
            if (!s->what) say_names(s->choices, names, sizeof names);
            return tlp_error_set(err, TLP_ARG, NULL, 0, "bad training setting: %s is %s, not %g", s->name,
                                 s->what ? s->what : names, v);
        }
    }
    return TLP_OK;
}

/* ------------------------------------------------------------ a model's meta */

#define CHOICE_FIELDS(X) X(loss, TLP_LOSSES) X(pairs, TLP_PAIRS) X(split, TLP_SPLITS) \
    X(select, TLP_SELECTS) X(sched, TLP_SCHEDS) X(failed, TLP_FAILEDS)

void tlp__train_meta_of_opts(tlp_train_meta *m, const tlp_train_opts *o)
{
    snprintf(m->recipe, sizeof m->recipe, "%s", o->recipe[0] ? o->recipe : "custom");
#define META_NAME(field, list) \
    snprintf(m->field, sizeof m->field, "%s", (unsigned)o->field < sizeof list##_NAMES / sizeof *list##_NAMES - 1 \
                                                  ? list##_NAMES[o->field] : list##_NAMES[0]);
    CHOICE_FIELDS(META_NAME)
#undef META_NAME
    m->average = o->average;
    m->group = o->group;
    snprintf(m->note, sizeof m->note, "%s", o->note);
    m->lr = o->lr;
    m->weight_decay = o->weight_decay;
    m->clip = o->clip;
    m->batch = o->batch;
    m->epochs = o->epochs;
    m->seed = o->seed;
    m->n_nets = o->n_nets;
    memcpy(m->nets, o->encode, sizeof m->nets);
}

void tlp_train_opts_of_meta(tlp_train_opts *o, const tlp_train_meta *m)
{
    o->n_nets = m->n_nets;
    memcpy(o->encode, m->nets, sizeof o->encode);
    o->epochs = m->epochs;
    if (m->batch >= 2) o->batch = m->batch;
    o->seed = m->seed;
    if (m->lr > 0) o->lr = m->lr;
    if (m->weight_decay >= 0) o->weight_decay = m->weight_decay;
    if (m->clip > 0) o->clip = m->clip;
    /* a name this tlpx does not know (or none, in files from before it) is
     * the list's first, TLP's */
#define OPT_CHOICE(field, list) \
    { \
        int c = choice_of(m->field, list##_NAMES); \
        o->field = c > 0 ? c : 0; \
    }
    CHOICE_FIELDS(OPT_CHOICE)
#undef OPT_CHOICE
    o->average = m->average;
    if (m->group > 0) o->group = m->group;
    snprintf(o->recipe, sizeof o->recipe, "%s", m->recipe);
}
