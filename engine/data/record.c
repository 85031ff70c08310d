/*
 * record.c: one Ansor measure record <-> one JSON line (spec §1).
 *
 * The parser is strict: every field is checked for its type, every step for
 * its exact arity (from steps.def), every number for being a finite integer
 * in range.  A bad line returns a status and a message; nothing it does can
 * crash on any input (cJSON bounds the nesting depth, we bound the rest).
 *
 * A tlp_record is reused across lines: its arrays only grow, so parsing a file
 * allocates nothing per line once warm, apart from cJSON's own tree, which is
 * deleted here, in the function that parsed it.
 */
#include "data/data_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Largest integer we accept anywhere in a step or header; TVM's own are int32. */
#define MAX_INT 2147483647.0

static const char *const TYPES[TLP_STEP_COUNT] = {
#define X(tag, verb, types, names, cpu, gpu) types,
#include "data/steps.def"
#undef X
};

static const char *const NAMES[TLP_STEP_COUNT] = {
#define X(tag, verb, types, names, cpu, gpu) names,
#include "data/steps.def"
#undef X
};

static const char *const TAGS[TLP_STEP_COUNT] = {
#define X(tag, verb, types, names, cpu, gpu) #tag,
#include "data/steps.def"
#undef X
};

static const char *const VERBS[TLP_STEP_COUNT] = {
#define X(tag, verb, types, names, cpu, gpu) verb,
#include "data/steps.def"
#undef X
};

const char *tlp_step_tag(tlp_step_kind k) { return (unsigned)k < TLP_STEP_COUNT ? TAGS[k] : "?"; }
const char *tlp_step_verb(tlp_step_kind k) { return (unsigned)k < TLP_STEP_COUNT ? VERBS[k] : "?"; }

/* Tags are 2-4 letters: pack them into a word and compare words. */
static uint32_t pack_tag(const char *t)
{
    uint32_t w = 0;
    for (int i = 0; i < 5; i++) {
        if (!t[i]) return w;
        if (i == 4) return 0;
        w |= (uint32_t)(unsigned char)t[i] << (8 * i);
    }
    return w;
}

int tlp_step_kind_of(const char *tag)
{
    static const uint32_t packed[TLP_STEP_COUNT] = {
#define P(s) ((uint32_t)(unsigned char)(s)[0] | (sizeof(s) > 2 ? (uint32_t)(unsigned char)(s)[1] << 8 : 0) | \
              (sizeof(s) > 3 ? (uint32_t)(unsigned char)(s)[2] << 16 : 0) |                              \
              (sizeof(s) > 4 ? (uint32_t)(unsigned char)(s)[3] << 24 : 0))
#define X(tag, verb, types, names, cpu, gpu) P(#tag),
#include "data/steps.def"
#undef X
#undef P
    };
    uint32_t w = pack_tag(tag);
    if (!w) return -1;
    for (int k = 0; k < TLP_STEP_COUNT; k++)
        if (packed[k] == w) return k;
    return -1;
}

/* A cost below a picosecond is no measurement (1e-320 would become a task's
 * best and every label 0): the line is refused. */
#define MIN_COST 1e-12

const char *tlp__kind_types(tlp_step_kind k) { return TYPES[k]; }

void tlp__field_name(tlp_step_kind k, int f, char *buf, size_t cap)
{
    const char *p = NAMES[k];
    if (f < 0 || f >= (int)strlen(TYPES[k])) {
        snprintf(buf, cap, "?");
        return;
    }
    for (int i = 0; i < f; i++) p = strchr(p, ' ') + 1;
    size_t len = strcspn(p, " ");
    if (len >= cap) len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = 0;
}

static const char *const ANNOTATIONS[] = {
    "none", "unroll", "vectorize", "parallel", "vthread", "blockIdx.x",
    "threadIdx.x", "blockIdx.y", "threadIdx.y", "blockIdx.z", "threadIdx.z", "tensorize",
};

const char *tlp_annotation_name(long v)
{
    return v >= 0 && v < (long)(sizeof ANNOTATIONS / sizeof *ANNOTATIONS) ? ANNOTATIONS[v] : "?";
}

static const char *const ERROR_NAMES[] = {
    "NO_ERROR", "INSTANTIATION_ERROR", "COMPILE_HOST", "COMPILE_DEVICE", "RUNTIME_DEVICE",
    "WRONG_ANSWER", "BUILD_TIMEOUT", "RUN_TIMEOUT", "UNKNOWN_ERROR",
};

const char *tlp_error_no_name(int e)
{
    static _Thread_local char buf[24];
    if (e >= 0 && e < (int)(sizeof ERROR_NAMES / sizeof *ERROR_NAMES)) return ERROR_NAMES[e];
    snprintf(buf, sizeof buf, "ERROR_%d", e);
    return buf;
}

/* ------------------------------------------------------------ storage */

/* The parser's capacities and scratch text, kept across lines so parsing a
 * file allocates nothing once warm; clients see only the pointer. */
struct tlp_record_bufs {
    size_t cap_steps, cap_vals, cap_strs, len_strs, cap_costs, cap_inputs, cap_tmp;
    char *tmp;
};

void tlp_record_init(tlp_record *r)
{
    memset(r, 0, sizeof *r);
    r->n_task_inputs = -1;
}

/* The buffers, made at the first parse: 0, or -1 when out of memory. */
static int have_bufs(tlp_record *r)
{
    return r->bufs || (r->bufs = calloc(1, sizeof *r->bufs)) ? 0 : -1;
}

void tlp_record_free(tlp_record *r)
{
    if (!r) return;
    free(r->workload_key);
    free(r->target);
    free(r->target_host);
    for (size_t i = 0; r->bufs && i < r->bufs->cap_inputs; i++) free(r->task_inputs[i]);
    free(r->task_inputs);
    free(r->steps);
    free(r->vals);
    free(r->strs);
    free(r->costs);
    if (r->bufs) free(r->bufs->tmp);
    free(r->bufs);
    tlp_record_init(r);
}

static int set_str(char **dst, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = realloc(*dst, n);
    if (!p) return -1;
    memcpy(p, s, n);
    *dst = p;
    return 0;
}


/* ------------------------------------------------------------ parsing */

/* cJSON allocates one node per value; a GPU record has ~300.  While a line is
 * parsed, the thread's arena serves them and frees nothing; the whole arena
 * is reset after the tree is deleted.  Outside a parse (or past the arena's
 * end) the hooks are plain malloc/free, so other cJSON users are unaffected. */
typedef struct {
    char *base;
    size_t used, cap;
} arena;

static _Thread_local arena *cur_arena;

static void *arena_malloc(size_t n)
{
    arena *a = cur_arena;
    if (a) {
        n = (n + 15) & ~(size_t)15;
        if (n <= a->cap - a->used) {
            void *p = a->base + a->used;
            a->used += n;
            return p;
        }
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    arena *a = cur_arena;
    if (a && (char *)p >= a->base && (char *)p < a->base + a->cap) return;
    free(p);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void install_hooks(void)
{
    cJSON_Hooks h = {arena_malloc, arena_free};
    cJSON_InitHooks(&h);
}

typedef struct {
    tlp_error *err;
} pctx;

#define FAIL(st, ...) return tlp_error_set(err, st, NULL, 0, __VA_ARGS__)

/* An integer-valued JSON number in [0, MAX_INT]: TLP_OK, else the status. */
static tlp_status get_int(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j)) return TLP_STEP;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= MAX_INT) || v != floor(v)) return TLP_NUMBER;
    *out = (int64_t)v;
    return TLP_OK;
}

/* The message for a bad value in field f of step idx, built only on failure. */
static tlp_status bad_value(tlp_error *err, tlp_status s, size_t idx, int k, int f, const cJSON *j)
{
    char fn[32];
    tlp__field_name((tlp_step_kind)k, f, fn, sizeof fn);
    if (s == TLP_NUMBER)
        FAIL(s, "step %zu (%s) %s: %.17g is not an integer in 0..2^31-1", idx, TAGS[k], fn, j->valuedouble);
    if (cJSON_IsBool(j)) FAIL(s, "step %zu (%s) %s: expected an integer, got a boolean", idx, TAGS[k], fn);
    if (TYPES[k][f] == 's') FAIL(s, "step %zu (%s) %s: expected a string", idx, TAGS[k], fn);
    if (TYPES[k][f] == 'L' && !cJSON_IsArray(j)) FAIL(s, "step %zu (%s) %s must be a list", idx, TAGS[k], fn);
    FAIL(s, "step %zu (%s) %s: expected an integer", idx, TAGS[k], fn);
}

static tlp_status parse_step(tlp_record *r, const cJSON *js, size_t idx, tlp_error *err)
{
    if (!cJSON_IsArray(js)) FAIL(TLP_STEP, "step %zu: not an array", idx);
    const cJSON *tag = js->child;
    if (!cJSON_IsString(tag)) FAIL(TLP_STEP, "step %zu: first element is not a kind tag", idx);
    int k = tlp_step_kind_of(tag->valuestring);
    if (k < 0) {
        char t[72];
        tlp_escape(t, sizeof t, tag->valuestring, strnlen(tag->valuestring, 16));
        FAIL(TLP_UNKNOWN_STEP, "step %zu: unknown step kind \"%s\"", idx, t);
    }
    const char *types = TYPES[k];
    int nf = (int)strlen(types);
    /* count the fields and the values in one walk */
    size_t nv = 0;
    int have = 0;
    for (const cJSON *f = tag->next; f; f = f->next, have++) {
        if (have >= nf) continue;
        if (types[have] == 'i') nv++;
        else if (types[have] == 'L') {
            if (!cJSON_IsArray(f)) return bad_value(err, TLP_STEP, idx, k, have, f);
            for (const cJSON *e = f->child; e; e = e->next) nv++;
        }
    }
    if (have != nf) FAIL(TLP_STEP, "step %zu (%s): expected %d fields, got %d", idx, TAGS[k], nf, have);
    if (nv > 4096) FAIL(TLP_NUMBER, "step %zu (%s): %zu values", idx, TAGS[k], nv);
    size_t off = r->n_vals;
    if (tlp__grow((void **)&r->vals, &r->bufs->cap_vals, off + nv, sizeof *r->vals)) FAIL(TLP_NOMEM, "out of memory");

    tlp_step *st = &r->steps[idx];
    st->kind = (uint8_t)k;
    st->list_len = 0;
    st->str = -1;
    st->val_off = (uint32_t)off;
    int64_t *w = r->vals + off;
    const cJSON *f = tag->next;
    for (int i = 0; i < nf; i++, f = f->next) {
        tlp_status s;
        if (types[i] == 'i') {
            if ((s = get_int(f, w++))) return bad_value(err, s, idx, k, i, f);
        } else if (types[i] == 'L') {
            uint16_t n = 0;
            for (const cJSON *e = f->child; e; e = e->next, n++)
                if ((s = get_int(e, w++))) return bad_value(err, s, idx, k, i, e);
            st->list_len = n;
        } else { /* 's' */
            if (!cJSON_IsString(f)) return bad_value(err, TLP_STEP, idx, k, i, f);
            size_t n = strlen(f->valuestring);
            if (n > 256) FAIL(TLP_STEP, "step %zu (%s): a string of %zu bytes", idx, TAGS[k], n);
            if (tlp__grow((void **)&r->strs, &r->bufs->cap_strs, r->bufs->len_strs + n + 1, 1)) FAIL(TLP_NOMEM, "out of memory");
            memcpy(r->strs + r->bufs->len_strs, f->valuestring, n + 1);
            st->str = (int32_t)r->bufs->len_strs;
            r->bufs->len_strs += n + 1;
        }
    }
    st->n_vals = (uint16_t)nv;
    r->n_vals = off + nv;
    return TLP_OK;
}

static tlp_status parse_task(tlp_record *r, const cJSON *t, tlp_error *err)
{
    if (!cJSON_IsArray(t)) FAIL(TLP_LAYOUT, "i[0] (the task) is not an array");
    int n = cJSON_GetArraySize(t);
    if (n < 2 || n > 6) FAIL(TLP_LAYOUT, "the task has %d fields, expected 2 to 6", n);
    r->n_task_fields = n;
    const cJSON *f = t->child;
    if (!cJSON_IsString(f)) FAIL(TLP_LAYOUT, "workload key is not a string");
    if (strlen(f->valuestring) > 65536) FAIL(TLP_LAYOUT, "workload key too long");
    if (set_str(&r->workload_key, f->valuestring)) FAIL(TLP_NOMEM, "out of memory");
    f = f->next;
    if (!cJSON_IsString(f)) FAIL(TLP_LAYOUT, "target is not a string");
    if (strlen(f->valuestring) > 4096) FAIL(TLP_LAYOUT, "target string too long");
    if (set_str(&r->target, f->valuestring)) FAIL(TLP_NOMEM, "out of memory");
    f = f->next;
    r->n_hw = 0;
    if (f) {
        if (!cJSON_IsArray(f)) FAIL(TLP_LAYOUT, "hardware params are not a list");
        const cJSON *e;
        cJSON_ArrayForEach(e, f)
        {
            if (r->n_hw >= 16) FAIL(TLP_LAYOUT, "more than 16 hardware params");
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) ||
                e->valuedouble != floor(e->valuedouble) || fabs(e->valuedouble) > 9007199254740992.0)
                FAIL(TLP_LAYOUT, "hardware param %d is not an integer within 2^53", r->n_hw);
            r->hw[r->n_hw++] = (int64_t)e->valuedouble;
        }
        f = f->next;
    }
    if (set_str(&r->target_host, "")) FAIL(TLP_NOMEM, "out of memory");
    if (f) {
        if (!cJSON_IsString(f)) FAIL(TLP_LAYOUT, "target host is not a string");
        if (set_str(&r->target_host, f->valuestring)) FAIL(TLP_NOMEM, "out of memory");
        f = f->next;
    }
    r->layout_rewrite = 0;
    if (f) {
        if (!cJSON_IsNumber(f) || f->valuedouble != floor(f->valuedouble) || fabs(f->valuedouble) > 1e9)
            FAIL(TLP_LAYOUT, "layout rewrite option is not an integer");
        r->layout_rewrite = (int64_t)f->valuedouble;
        f = f->next;
    }
    r->n_task_inputs = -1;
    if (f) {
        if (!cJSON_IsArray(f)) FAIL(TLP_LAYOUT, "task input names are not a list");
        int m = cJSON_GetArraySize(f);
        if (m > 1024) FAIL(TLP_LAYOUT, "%d task inputs", m);
        size_t old = r->bufs->cap_inputs;
        if (tlp__grow((void **)&r->task_inputs, &r->bufs->cap_inputs, (size_t)m, sizeof(char *))) FAIL(TLP_NOMEM, "out of memory");
        for (size_t i = old; i < r->bufs->cap_inputs; i++) r->task_inputs[i] = NULL;
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, f)
        {
            if (!cJSON_IsString(e)) FAIL(TLP_LAYOUT, "task input %d is not a string", i);
            if (set_str(&r->task_inputs[i], e->valuestring)) FAIL(TLP_NOMEM, "out of memory");
            i++;
        }
        r->n_task_inputs = m;
    }
    return TLP_OK;
}

static tlp_status parse_result(tlp_record *r, const cJSON *res, tlp_error *err)
{
    if (!cJSON_IsArray(res)) FAIL(TLP_LAYOUT, "\"r\" (the result) is not an array");
    if (cJSON_GetArraySize(res) != 4)
        FAIL(TLP_LAYOUT, "the result has %d fields, expected 4", cJSON_GetArraySize(res));
    const cJSON *c = res->child;
    if (!cJSON_IsArray(c)) FAIL(TLP_COST, "costs are not a list");
    int n = cJSON_GetArraySize(c);
    if (n == 0) FAIL(TLP_COST, "empty cost list");
    if (n > 255) FAIL(TLP_COST, "%d costs", n);
    if (tlp__grow((void **)&r->costs, &r->bufs->cap_costs, (size_t)n, sizeof *r->costs)) FAIL(TLP_NOMEM, "out of memory");
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, c)
    {
        if (!cJSON_IsNumber(e)) FAIL(TLP_COST, "cost %d is not a number", i);
        double v = e->valuedouble;
        if (!isfinite(v)) FAIL(TLP_COST, "cost %d is not finite", i);
        if (v <= 0) FAIL(TLP_COST, "cost %d is %g (must be positive)", i, v);
        if (v < MIN_COST) FAIL(TLP_COST, "cost %d is %g s (below a picosecond: not a measurement)", i, v);
        if (v > 1e10) FAIL(TLP_COST, "cost %d is %g s (above TVM's 1e10 failure cost)", i, v);
        r->costs[i++] = v;
    }
    r->n_costs = (size_t)n;
    const cJSON *en = c->next;
    if (!cJSON_IsNumber(en) || en->valuedouble != floor(en->valuedouble) || en->valuedouble < 0 ||
        en->valuedouble > 255)
        FAIL(TLP_LAYOUT, "error_no is not an integer in 0..255");
    r->error_no = (int)en->valuedouble;
    const cJSON *ac = en->next;
    if (!cJSON_IsNumber(ac) || !isfinite(ac->valuedouble))
        FAIL(TLP_LAYOUT, "all_cost is not a finite number");
    r->all_cost = ac->valuedouble;
    const cJSON *ts = ac->next;
    if (!cJSON_IsNumber(ts) || ts->valuedouble != floor(ts->valuedouble) || fabs(ts->valuedouble) > 9e15)
        FAIL(TLP_LAYOUT, "timestamp is not an integer");
    r->timestamp = (int64_t)ts->valuedouble;
    return TLP_OK;
}

static tlp_status parse_tree(tlp_record *r, const cJSON *root, tlp_error *err)
{
    if (!cJSON_IsObject(root)) FAIL(TLP_LAYOUT, "not a JSON object");
    const cJSON *in = NULL, *res = NULL, *ver = NULL, *e;
    cJSON_ArrayForEach(e, root)
    {
        if (strcmp(e->string, "i") == 0 && !in) in = e;
        else if (strcmp(e->string, "r") == 0 && !res) res = e;
        else if (strcmp(e->string, "v") == 0 && !ver) ver = e;
        else {
            char k[24];
            tlp_escape(k, sizeof k, e->string, strlen(e->string));
            FAIL(TLP_LAYOUT, "unexpected key \"%s\"", k);
        }
    }
    if (!in) FAIL(TLP_LAYOUT, "no \"i\" (input) key");
    if (!res) FAIL(TLP_LAYOUT, "no \"r\" (result) key");
    r->version[0] = 0;
    if (ver) {
        if (!cJSON_IsString(ver) || strlen(ver->valuestring) >= sizeof r->version)
            FAIL(TLP_LAYOUT, "\"v\" is not a short version string");
        strcpy(r->version, ver->valuestring);
    }
    if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) != 2)
        FAIL(TLP_LAYOUT, "\"i\" is not [task, state]");
    tlp_status s = parse_task(r, in->child, err);
    if (s) return s;
    const cJSON *state = in->child->next;
    if (!cJSON_IsArray(state) || cJSON_GetArraySize(state) != 2 || !cJSON_IsArray(state->child) ||
        !cJSON_IsArray(state->child->next))
        FAIL(TLP_LAYOUT, "i[1] is not [[], [steps]]");
    const cJSON *steps = state->child->next;
    int ns = cJSON_GetArraySize(steps);
    if (ns > 4096) FAIL(TLP_NUMBER, "%d steps", ns);
    if (tlp__grow((void **)&r->steps, &r->bufs->cap_steps, (size_t)ns, sizeof *r->steps)) FAIL(TLP_NOMEM, "out of memory");
    r->n_vals = 0;
    r->bufs->len_strs = 0;
    size_t i = 0;
    cJSON_ArrayForEach(e, steps)
    {
        s = parse_step(r, e, i, err);
        if (s) return s;
        i++;
    }
    r->n_steps = (size_t)ns;
    return parse_result(r, res, err);
}

/* ------------------------------------------------------------ fast path
 *
 * cJSON builds a tree of ~300 nodes for a GPU record, and checks each value
 * for null/true/false with strncmp and each number with localeconv+strtod;
 * that caps a load at ~50 MB/s.  Real files are all in TVM's own layout, so
 * a direct scanner for exactly that layout fills the record in one pass.  It
 * accepts a line only when every field is where TVM writes it and passes the
 * same checks as the tree path; anything else (another key order, \u
 * escapes, a sign, an exponent, a bad value) falls back to the cJSON path,
 * which also writes every diagnostic.  Both paths must agree on every line
 * the fast one accepts: tests/fuzz_record.c checks that on every input. */

typedef struct {
    const char *p, *end;
} scan;

#define HOT static inline __attribute__((always_inline))

HOT void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

HOT int lit(scan *s, char c)
{
    if (s->p < s->end && *s->p == c) { /* the common case: no space before */
        s->p++;
        return 1;
    }
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* Unsigned decimal integer without sign, fraction or exponent, <= max,
 * starting exactly at s->p. */
HOT int digits(scan *s, uint64_t max, int64_t *out)
{
    const char *p = s->p;
    uint64_t v = 0;
    int n = 0;
    while (p < s->end && *p >= '0' && *p <= '9' && n < 19) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        n++;
    }
    if (!n || v > max) return 0;
    if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) return 0;
    s->p = p;
    *out = (int64_t)v;
    return 1;
}

HOT int uint_(scan *s, uint64_t max, int64_t *out)
{
    ws(s);
    return digits(s, max, out);
}

/* Integer with an optional '-' (directly before the digits), |v| <= max. */
static int int_(scan *s, uint64_t max, int64_t *out)
{
    ws(s);
    int neg = s->p < s->end && *s->p == '-';
    if (neg) s->p++;
    if (!digits(s, max, out)) return 0;
    if (neg) *out = -*out;
    return 1;
}

/* A JSON number as cJSON reads it (strtod on the number's text). */
static int num(scan *s, double *out)
{
    ws(s);
    /* JSON (and cJSON) start a number with a digit or '-' */
    const char *q = s->p < s->end && *s->p == '-' ? s->p + 1 : s->p;
    if (q >= s->end || *q < '0' || *q > '9') return 0;
    char buf[64];
    size_t n = 0;
    while (s->p + n < s->end && n < sizeof buf - 1 &&
           ((s->p[n] >= '0' && s->p[n] <= '9') || s->p[n] == '.' || s->p[n] == 'e' || s->p[n] == 'E' ||
            s->p[n] == '+' || s->p[n] == '-'))
        n++;
    if (!n || n == sizeof buf - 1) return 0;
    memcpy(buf, s->p, n);
    buf[n] = 0;
    char *e;
    double v = strtod(buf, &e);
    if ((size_t)(e - buf) != n) return 0;
    *out = v;
    s->p += n;
    return 1;
}

/* A string with simple escapes, decoded into *buf (grown as needed). */
static int str_(scan *s, char **buf, size_t *cap, size_t *len)
{
    if (!lit(s, '"')) return 0;
    /* most strings have no escape: find the closing quote and copy once */
    const char *q = s->p;
    while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
    if (q >= s->end) return 0;
    size_t n = (size_t)(q - s->p);
    if (tlp__grow((void **)buf, cap, n + 1, 1)) return 0;
    memcpy(*buf, s->p, n);
    s->p = q;
    for (;;) {
        if (s->p >= s->end) return 0;
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"') break;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (s->p >= s->end) return 0;
            switch (*s->p++) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: return 0; /* \u and anything odd: the tree path decides */
            }
        }
        if (n + 2 > *cap && tlp__grow((void **)buf, cap, n + 2, 1)) return 0;
        (*buf)[n++] = (char)c;
    }
    (*buf)[n] = 0;
    *len = n;
    return 1;
}

static int take_str(scan *s, tlp_record *r, char **dst, size_t max)
{
    size_t n;
    if (!str_(s, &r->bufs->tmp, &r->bufs->cap_tmp, &n) || n > max || memchr(r->bufs->tmp, 0, n)) return 0;
    if (*dst && strcmp(*dst, r->bufs->tmp) == 0) return 1; /* the same task as the last line */
    return set_str(dst, r->bufs->tmp) == 0;
}

static int fast_task(scan *s, tlp_record *r)
{
    if (!lit(s, '[') || !take_str(s, r, &r->workload_key, 65536) || !lit(s, ',') ||
        !take_str(s, r, &r->target, 4096))
        return 0;
    r->n_task_fields = 2;
    r->n_hw = 0;
    r->layout_rewrite = 0;
    r->n_task_inputs = -1;
    if (set_str(&r->target_host, "")) return 0;
    if (lit(s, ']')) return 1;
    if (!lit(s, ',') || !lit(s, '[')) return 0;
    if (!lit(s, ']')) {
        do {
            if (r->n_hw >= 16 || !int_(s, 9007199254740992u, &r->hw[r->n_hw])) return 0; /* 2^53, as exact doubles */
            r->n_hw++;
        } while (lit(s, ','));
        if (!lit(s, ']')) return 0;
    }
    r->n_task_fields = 3;
    if (lit(s, ']')) return 1;
    if (!lit(s, ',') || !take_str(s, r, &r->target_host, SIZE_MAX)) return 0;
    r->n_task_fields = 4;
    if (lit(s, ']')) return 1;
    if (!lit(s, ',') || !int_(s, 1000000000, &r->layout_rewrite)) return 0;
    r->n_task_fields = 5;
    if (lit(s, ']')) return 1;
    if (!lit(s, ',') || !lit(s, '[')) return 0;
    int m = 0;
    if (!lit(s, ']')) {
        do {
            if (m >= 1024) return 0;
            size_t old = r->bufs->cap_inputs;
            if (tlp__grow((void **)&r->task_inputs, &r->bufs->cap_inputs, (size_t)m + 1, sizeof(char *))) return 0;
            for (size_t i = old; i < r->bufs->cap_inputs; i++) r->task_inputs[i] = NULL;
            if (!take_str(s, r, &r->task_inputs[m], SIZE_MAX)) return 0;
            m++;
        } while (lit(s, ','));
        if (!lit(s, ']')) return 0;
    }
    r->n_task_inputs = m;
    r->n_task_fields = 6;
    return lit(s, ']');
}

static int fast_step(scan *s, tlp_record *r, size_t idx)
{
    char tag[8];
    size_t n;
    if (!lit(s, '[') || !str_(s, &r->bufs->tmp, &r->bufs->cap_tmp, &n) || n > 4) return 0;
    memcpy(tag, r->bufs->tmp, n + 1);
    int k = tlp_step_kind_of(tag);
    if (k < 0) return 0;
    const char *types = TYPES[k];
    tlp_step *st = &r->steps[idx];
    st->kind = (uint8_t)k;
    st->list_len = 0;
    st->str = -1;
    st->val_off = (uint32_t)r->n_vals;
    size_t nv = 0;
    for (const char *t = types; *t; t++) {
        if (!lit(s, ',')) return 0;
        if (*t == 's') {
            size_t sl;
            if (!str_(s, &r->bufs->tmp, &r->bufs->cap_tmp, &sl) || sl > 256 || memchr(r->bufs->tmp, 0, sl)) return 0;
            if (tlp__grow((void **)&r->strs, &r->bufs->cap_strs, r->bufs->len_strs + sl + 1, 1)) return 0;
            memcpy(r->strs + r->bufs->len_strs, r->bufs->tmp, sl + 1);
            st->str = (int32_t)r->bufs->len_strs;
            r->bufs->len_strs += sl + 1;
            continue;
        }
        int list = *t == 'L';
        if (list && !lit(s, '[')) return 0;
        if (list && lit(s, ']')) continue;
        do {
            if (nv >= 4096 || tlp__grow((void **)&r->vals, &r->bufs->cap_vals, r->n_vals + nv + 1, sizeof *r->vals) ||
                !uint_(s, 2147483647u, &r->vals[r->n_vals + nv]))
                return 0;
            nv++;
            if (list) st->list_len++;
        } while (list && lit(s, ','));
        if (list && !lit(s, ']')) return 0;
    }
    if (!lit(s, ']')) return 0;
    st->n_vals = (uint16_t)nv;
    r->n_vals += nv;
    return 1;
}

static int fast_key(scan *s, char k)
{
    return lit(s, '"') && s->p + 2 <= s->end && s->p[0] == k && s->p[1] == '"' && (s->p += 2) && lit(s, ':');
}

/* 1 when the line was read completely, 0 to fall back to the tree path. */
int tlp__record_parse_fast(tlp_record *r, const char *line, size_t len)
{
    scan s = {line, line + len};
    if (have_bufs(r)) return 0;
    r->n_steps = r->n_vals = r->bufs->len_strs = r->n_costs = 0;
    if (!lit(&s, '{') || !fast_key(&s, 'i') || !lit(&s, '[') || !fast_task(&s, r) || !lit(&s, ',') ||
        !lit(&s, '[') || !lit(&s, '[') || !lit(&s, ']') || !lit(&s, ',') || !lit(&s, '['))
        return 0;
    if (!lit(&s, ']')) {
        do {
            if (r->n_steps >= 4096 || tlp__grow((void **)&r->steps, &r->bufs->cap_steps, r->n_steps + 1, sizeof *r->steps) ||
                !fast_step(&s, r, r->n_steps))
                return 0;
            r->n_steps++;
        } while (lit(&s, ','));
        if (!lit(&s, ']')) return 0;
    }
    if (!lit(&s, ']') || !lit(&s, ']') || !lit(&s, ',') || !fast_key(&s, 'r') || !lit(&s, '[') || !lit(&s, '['))
        return 0;
    do {
        double v;
        if (r->n_costs >= 255 || !num(&s, &v) || !isfinite(v) || v < MIN_COST || v > 1e10 ||
            tlp__grow((void **)&r->costs, &r->bufs->cap_costs, r->n_costs + 1, sizeof *r->costs))
            return 0;
        r->costs[r->n_costs++] = v;
    } while (lit(&s, ','));
    int64_t e, ts;
    double ac;
    if (!lit(&s, ']') || !lit(&s, ',') || !uint_(&s, 255, &e) || !lit(&s, ',') || !num(&s, &ac) ||
        !isfinite(ac) || !lit(&s, ',') || !int_(&s, 9000000000000000u, &ts) || !lit(&s, ']'))
        return 0;
    r->error_no = (int)e;
    r->all_cost = ac;
    r->timestamp = ts;
    r->version[0] = 0;
    if (lit(&s, ',')) {
        size_t n;
        if (!fast_key(&s, 'v') || !str_(&s, &r->bufs->tmp, &r->bufs->cap_tmp, &n) || n >= sizeof r->version ||
            memchr(r->bufs->tmp, 0, n))
            return 0;
        memcpy(r->version, r->bufs->tmp, n + 1);
    }
    if (!lit(&s, '}')) return 0;
    ws(&s);
    return s.p == s.end;
}

static tlp_status parse_checked(tlp_record *r, const cJSON *root, const char *line, size_t len, const char *end,
                                tlp_error *err);

tlp_status tlp_record_parse(tlp_record *r, const char *line, size_t len, tlp_error *err)
{
    if (memchr(line, 0, len)) FAIL(TLP_NUL, "NUL byte in line");
    if (tlp__record_parse_fast(r, line, len)) return TLP_OK;
    return tlp__record_parse_tree(r, line, len, err);
}

tlp_status tlp__record_parse_tree(tlp_record *r, const char *line, size_t len, tlp_error *err)
{
    if (have_bufs(r)) FAIL(TLP_NOMEM, "out of memory");
    r->n_steps = 0;
    r->n_costs = 0;
    pthread_once(&hooks_once, install_hooks);
    static _Thread_local char arena_mem[256 * 1024] __attribute__((aligned(16)));
    arena a = {arena_mem, 0, sizeof arena_mem};
    cur_arena = &a;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    tlp_status s = parse_checked(r, root, line, len, end, err);
    cJSON_Delete(root);
    cur_arena = NULL;
    if (s) {
        r->n_steps = 0;
        r->n_costs = 0;
    }
    return s;
}

static tlp_status parse_checked(tlp_record *r, const cJSON *root, const char *line, size_t len, const char *end,
                                tlp_error *err)
{
    if (!root) {
        size_t at = end && end >= line ? (size_t)(end - line) : 0;
        if (at > len) at = len;
        FAIL(TLP_JSON, "broken JSON at column %zu", at + 1);
    }
    /* trailing garbage after the object */
    if (end) {
        size_t rest = len - (size_t)(end - line);
        for (size_t i = 0; i < rest; i++)
            if (end[i] != ' ' && end[i] != '\t' && end[i] != '\r' && end[i] != '\n')
                FAIL(TLP_JSON, "text after the record at column %zu", (size_t)(end - line) + i + 1);
    }
    return parse_tree(r, root, err);
}

/* ------------------------------------------------------------ numbers */

/* numpy's pairwise summation (umath loops_utils), so the mean is bit-exact. */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    } else if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    } else {
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
    }
}

double tlp_mean(const double *x, size_t n)
{
    if (n == 0) return NAN;
    return pairwise_sum(x, n) / (double)n;
}

/* ------------------------------------------------------------ writing */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(sbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal with the escapes JSON requires. */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20) sb_fmt(b, "\\u%04x", *p);
            else sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* Shortest %g form that reads back to the same double. */
static void sb_double(sbuf *b, double v)
{
    char tmp[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    sb_str(b, tmp);
}

static void sb_int_list(sbuf *b, const int64_t *v, size_t n)
{
    sb_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) sb_fmt(b, i ? ", %lld" : "%lld", (long long)v[i]);
    sb_put(b, "]", 1);
}

char *tlp_record_to_json(const tlp_record *r)
{
    sbuf b = {0};
    sb_str(&b, "{\"i\": [[");
    sb_json_str(&b, r->workload_key ? r->workload_key : "");
    sb_str(&b, ", ");
    sb_json_str(&b, r->target ? r->target : "");
    if (r->n_task_fields >= 3) {
        sb_str(&b, ", ");
        sb_int_list(&b, r->hw, (size_t)r->n_hw);
    }
    if (r->n_task_fields >= 4) {
        sb_str(&b, ", ");
        sb_json_str(&b, r->target_host ? r->target_host : "");
    }
    if (r->n_task_fields >= 5) sb_fmt(&b, ", %lld", (long long)r->layout_rewrite);
    if (r->n_task_fields >= 6) {
        sb_str(&b, ", [");
        for (int i = 0; i < r->n_task_inputs; i++) {
            if (i) sb_str(&b, ", ");
            sb_json_str(&b, r->task_inputs[i]);
        }
        sb_str(&b, "]");
    }
    sb_str(&b, "], [[], [");
    for (size_t i = 0; i < r->n_steps; i++) {
        const tlp_step *st = &r->steps[i];
        const char *types = TYPES[st->kind];
        int nf = (int)strlen(types);
        if (i) sb_str(&b, ", ");
        sb_str(&b, "[");
        sb_json_str(&b, TAGS[st->kind]);
        const int64_t *v = r->vals + st->val_off;
        for (int f = 0; f < nf; f++) {
            sb_str(&b, ", ");
            if (types[f] == 'i') sb_fmt(&b, "%lld", (long long)*v++);
            else if (types[f] == 'L') {
                sb_int_list(&b, v, st->list_len);
                v += st->list_len;
            } else
                sb_json_str(&b, st->str >= 0 ? r->strs + st->str : "");
        }
        sb_str(&b, "]");
    }
    sb_str(&b, "]]], \"r\": [[");
    for (size_t i = 0; i < r->n_costs; i++) {
        if (i) sb_str(&b, ", ");
        sb_double(&b, r->costs[i]);
    }
    sb_fmt(&b, "], %d, ", r->error_no);
    sb_double(&b, r->all_cost);
    sb_fmt(&b, ", %lld]", (long long)r->timestamp);
    if (r->version[0]) {
        sb_str(&b, ", \"v\": ");
        sb_json_str(&b, r->version);
    }
    sb_str(&b, "}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ------------------------------------------------------------ describing */

int tlp_step_describe(const tlp_record *r, size_t i, char *buf, size_t cap)
{
    if (i >= r->n_steps) return snprintf(buf, cap, "?");
    const tlp_step *st = &r->steps[i];
    const int64_t *v = r->vals + st->val_off;
    char s[160];
    if (st->str >= 0) tlp_escape(s, sizeof s, r->strs + st->str, strlen(r->strs + st->str));
    else s[0] = 0;
    char list[512];
    size_t ll = 0;
    /* the list field, if any, sits at a fixed position per kind */
    int list_at = -1;
    {
        const char *types = TYPES[st->kind];
        int nf = (int)strlen(types), pos = 0;
        for (int f = 0; f < nf; f++) {
            if (types[f] == 'L') list_at = pos;
            if (types[f] != 's') pos += types[f] == 'L' ? 0 : 1;
        }
    }
    list[0] = 0;
    if (list_at >= 0) {
        ll += (size_t)snprintf(list, sizeof list, "[");
        for (int k = 0; k < st->list_len && ll < sizeof list - 16; k++)
            ll += (size_t)snprintf(list + ll, sizeof list - ll, k ? ",%lld" : "%lld",
                                   (long long)v[list_at + k]);
        if (ll >= sizeof list - 16) ll += (size_t)snprintf(list + ll, sizeof list - ll, ",...");
        snprintf(list + ll, sizeof list - ll, "]");
    }
    long long a = st->n_vals > 0 ? (long long)v[0] : 0, b = st->n_vals > 1 ? (long long)v[1] : 0;
    switch ((tlp_step_kind)st->kind) {
    case TLP_STEP_AN:
        return snprintf(buf, cap, "annotate stage %lld iter %lld: %s", a, b, tlp_annotation_name((long)v[2]));
    case TLP_STEP_FU: return snprintf(buf, cap, "fuse stage %lld iters %s", a, list);
    case TLP_STEP_PR: return snprintf(buf, cap, "pragma stage %lld iter %lld: %s", a, b, s);
    case TLP_STEP_RE: return snprintf(buf, cap, "reorder stage %lld: %s", a, list);
    case TLP_STEP_SP: {
        long long ext = (long long)v[2], io = (long long)v[3 + st->list_len];
        char e[24];
        if (ext) snprintf(e, sizeof e, "%lld", ext);
        else snprintf(e, sizeof e, "?");
        return snprintf(buf, cap, "split stage %lld iter %lld: %s -> %s%s", a, b, e, list,
                        io ? "" : " (outer to inner)");
    }
    case TLP_STEP_FSP:
        return snprintf(buf, cap, "follow_split stage %lld iter %lld: like step %lld, %lld parts", a, b,
                        (long long)v[2], (long long)v[3]);
    case TLP_STEP_FFSP:
        return snprintf(buf, cap, "follow_fused_split stage %lld iter %lld: steps %s level %lld %s", a, b,
                        list, (long long)v[2 + st->list_len],
                        v[3 + st->list_len] ? "factor" : "nparts");
    case TLP_STEP_SA:
        return snprintf(buf, cap, "storage_align stage %lld iter %lld: factor %lld offset %lld", a, b,
                        (long long)v[2], (long long)v[3]);
    case TLP_STEP_CA:
        return snprintf(buf, cap, "compute_at stage %lld -> stage %lld iter %lld", a, b, (long long)v[2]);
    case TLP_STEP_CI: return snprintf(buf, cap, "compute_inline stage %lld", a);
    case TLP_STEP_CR: return snprintf(buf, cap, "compute_root stage %lld", a);
    case TLP_STEP_CHR: return snprintf(buf, cap, "cache_read stage %lld \"%s\" readers %s", a, s, list);
    case TLP_STEP_CHW: return snprintf(buf, cap, "cache_write stage %lld \"%s\"", a, s);
    case TLP_STEP_RF:
        return snprintf(buf, cap, "rfactor stage %lld iter %lld factor_iter %lld", a, b, (long long)v[2]);
    default: return snprintf(buf, cap, "?");
    }
}

/* ------------------------------------------------------------ target options */

/* The value of option -name= in a target string (a word of its own), or NULL;
 * its length in *len. */
const char *tlp__target_opt(const char *target, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = target; (p = strstr(p, name)) != NULL; p += nl) {
        if (p != target && p[-1] != ' ') continue;
        p += nl;
        *len = strcspn(p, " ");
        return p;
    }
    return NULL;
}

int tlp_target_option(const char *target, const char *opt, char *buf, size_t cap)
{
    size_t len;
    const char *v = tlp__target_opt(target, opt, &len);
    if (!v || len == 0 || cap == 0) return 0;
    if (len >= cap) len = cap - 1;
    memcpy(buf, v, len);
    buf[len] = 0;
    return 1;
}

