/*
 * features.c: TLP's "tensor language" tokens (spec §2).
 *
 * A step becomes one vector: an 11-slot one-hot of its kind (in the mode's
 * dictionary), then its values in serialised order with lists flattened in
 * place and strings mapped to small integers.  The record's matrix is these
 * vectors, each zero-padded and cropped to F, the sequence zero-padded and
 * cropped to L.  Nothing is normalised.  This is TLP's training-data path
 * (tlp_make_dataset.py) with its two assertion failures made total: a kind the
 * dictionary lacks gets 11 zero slots (its arguments stay where they are) and
 * an unknown pragma or scope string becomes 0; both are reported.
 */
#include "data/data_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int KIND_INDEX[TLP_MODE_COUNT][TLP_STEP_COUNT] = {
    {
#define X(tag, verb, types, names, cpu, gpu) cpu,
#include "data/steps.def"
#undef X
    },
    {
#define X(tag, verb, types, names, cpu, gpu) gpu,
#include "data/steps.def"
#undef X
    },
};

const char *tlp_mode_name(tlp_mode m) { return m == TLP_MODE_CPU ? "cpu" : "gpu"; }
int tlp_mode_seq(tlp_mode m) { return m == TLP_MODE_CPU ? 25 : 40; }
int tlp_mode_crop(tlp_mode m, int steps) { return steps > 0 ? steps : tlp_mode_seq(m); }
int tlp_mode_fea(tlp_mode m) { return m == TLP_MODE_CPU ? 22 : 20; }

int tlp_mode_kind_index(tlp_mode m, tlp_step_kind k)
{
    if ((unsigned)m >= TLP_MODE_COUNT || (unsigned)k >= TLP_STEP_COUNT) return 0;
    return KIND_INDEX[m][k];
}

tlp_mode tlp_mode_of_target(const char *target)
{
    const char *p = target;
    while (*p == ' ') p++;
    size_t n = strcspn(p, " ");
    if ((n == 4 && strncmp(p, "llvm", 4) == 0) || (n == 1 && p[0] == 'c')) return TLP_MODE_CPU;
    /* a target given by its keys only, e.g. "-keys=cpu" */
    const char *keys = strstr(target, "-keys=");
    if (n == 0 && keys && strncmp(keys + 6, "cpu", 3) == 0) return TLP_MODE_CPU;
    return TLP_MODE_GPU;
}

/* Pragma strings (spec §2.1). */
static const char *const PRAGMA_CPU[] = {"auto_unroll_max_step$16", "auto_unroll_max_step$0",
                                         "auto_unroll_max_step$512", "auto_unroll_max_step$64"};
static const char *const PRAGMA_GPU[] = {"auto_unroll_max_step$0", "auto_unroll_max_step$16",
                                         "auto_unroll_max_step$64", "auto_unroll_max_step$1024",
                                         "auto_unroll_max_step$512"};

const char *tlp_mode_pragma(tlp_mode m, int c)
{
    int n = m == TLP_MODE_CPU ? 4 : 5;
    if (c < 1 || c > n) return NULL;
    const char *const *t = m == TLP_MODE_CPU ? PRAGMA_CPU : PRAGMA_GPU;
    return t[c - 1];
}

int tlp_pragma_code(tlp_mode m, const char *s)
{
    const char *const *t = m == TLP_MODE_CPU ? PRAGMA_CPU : PRAGMA_GPU;
    int n = m == TLP_MODE_CPU ? 4 : 5;
    for (int i = 0; i < n; i++)
        if (strcmp(t[i], s) == 0) return i + 1;
    return 0;
}

int tlp_scope_code(tlp_step_kind k, const char *s)
{
    if (k == TLP_STEP_CHR) return strcmp(s, "shared") == 0 ? 1 : 0;
    if (strcmp(s, "local") == 0) return 1;
    if (strcmp(s, "shared") == 0) return 2;
    if (strcmp(s, "global") == 0) return 3;
    return 0;
}

int tlp_step_vector(tlp_mode m, const tlp_record *r, size_t i, float *out, int cap, tlp_step_info *info)
{
    const tlp_step *st = &r->steps[i];
    tlp_step_kind k = (tlp_step_kind)st->kind;
    int idx = KIND_INDEX[m][k];
    int n = 0;
    tlp_step_info inf = {0, idx == 0, 0};
#define PUT(x)                            \
    do {                                  \
        if (n < cap) out[n] = (float)(x); \
        n++;                              \
    } while (0)
    for (int j = 1; j <= TLP_ONEHOT; j++) PUT(j == idx ? 1 : 0);
    const char *types = tlp__kind_types(k);
    int nf = (int)strlen(types);
    const int64_t *v = r->vals + st->val_off;
    for (int f = 0; f < nf; f++) {
        if (types[f] == 'i') PUT(*v++);
        else if (types[f] == 'L') {
            for (int e = 0; e < st->list_len; e++) PUT(*v++);
        } else {
            const char *s = st->str >= 0 ? r->strs + st->str : "";
            int code = k == TLP_STEP_PR ? tlp_pragma_code(m, s) : tlp_scope_code(k, s);
            if (code == 0) inf.unknown_str = 1;
            PUT(code);
        }
    }
#undef PUT
    inf.n_full = n;
    if (info) *info = inf;
    return n;
}

void tlp_record_features(tlp_mode m, int L, const tlp_record *r, float *out)
{
    int F = tlp_mode_fea(m);
    memset(out, 0, sizeof(float) * (size_t)L * (size_t)F);
    for (size_t i = 0; i < r->n_steps && i < (size_t)L; i++)
        tlp_step_vector(m, r, i, out + i * (size_t)F, F, NULL);
}

void tlp_slot_label(const tlp_record *r, size_t i, int j, char *buf, size_t cap)
{
    if (j < TLP_ONEHOT) {
        snprintf(buf, cap, "kind");
        return;
    }
    if (i >= r->n_steps) {
        snprintf(buf, cap, "-");
        return;
    }
    const tlp_step *st = &r->steps[i];
    const char *types = tlp__kind_types((tlp_step_kind)st->kind);
    int nf = (int)strlen(types);
    int pos = TLP_ONEHOT;
    for (int f = 0; f < nf; f++) {
        int w = types[f] == 'L' ? st->list_len : 1;
        if (j < pos + w) {
            char fn[32];
            tlp__field_name((tlp_step_kind)st->kind, f, fn, sizeof fn);
            if (types[f] == 'L') snprintf(buf, cap, "%s[%d]", fn, j - pos);
            else snprintf(buf, cap, "%s", fn);
            return;
        }
        pos += w;
    }
    snprintf(buf, cap, "-");
}

/* ------------------------------------------------------------ program row */

/* The unroll limit a pragma code stands for ("auto_unroll_max_step$64": 64). */
static double unroll_of_code(tlp_mode m, int c)
{
    const char *s = tlp_mode_pragma(m, c);
    const char *d = s ? strchr(s, '$') : NULL;
    return d ? strtod(d + 1, NULL) : 0;
}

/* Ansor's multi-level tiling (sketch rules): a spatial axis is split into
 * SSSRRSRS's five levels on GPUs (four lengths), SSRSRS's four on CPUs
 * (three); a reduction axis into three (two) and two (one). */
static int spatial_lengths(tlp_mode m) { return m == TLP_MODE_GPU ? 4 : 3; }
static int reduction_lengths(tlp_mode m) { return m == TLP_MODE_GPU ? 2 : 1; }

int tlp_program_row(tlp_mode m, int L, const float *x, float *out)
{
    const int F = tlp_mode_fea(m);
    const int ns = spatial_lengths(m), nr = reduction_lengths(m);
    const int sp = tlp_mode_kind_index(m, TLP_STEP_SP) - 1, pr = tlp_mode_kind_index(m, TLP_STEP_PR) - 1;
    double lv_s[8] = {0}, lv_r[8] = {0}, unroll = 0, fetch = 0, vec = 0;
    int n_s = 0, n_r = 0;
    for (int l = 0; l < L; l++) {
        const float *row = x + (size_t)l * (size_t)F, *v = row + TLP_ONEHOT;
        const int nv = F - TLP_ONEHOT;
        if (pr >= 0 && row[pr] == 1 && nv > 2) {
            double u = unroll_of_code(m, (int)v[2]);
            if (u > unroll) unroll = u;
            continue;
        }
        if (sp < 0 || row[sp] != 1) continue;
        /* stage, iter, extent, lengths..., inner_to_outer (1 in Ansor's
         * sketches): the lengths end before the last non-zero value */
        int j = nv - 1;
        while (j > 2 && v[j] == 0) j--;
        int n = j - 3;
        if (n < 1 || v[j] != 1) continue;
        double prod = 1, ext = v[2];
        for (int k = 0; k < n; k++) prod *= v[3 + k] > 1 ? v[3 + k] : 1;
        double outer = ext > prod ? ceil(ext / prod) : 1;
        double *lv = n == ns ? lv_s : n == nr ? lv_r : NULL;
        if (lv) {
            lv[0] += log2(outer);
            for (int k = 0; k < n; k++) lv[1 + k] += v[3 + k] > 1 ? log2(v[3 + k]) : 0;
            if (n == ns)
                n_s++;
            else
                n_r++;
        } else if (n == 1 && m == TLP_MODE_GPU) {
            /* cooperative fetching into shared memory: the fused extent of
             * a cache_read stage, split by the vector width */
            fetch += ext > 0 ? ext : 0;
            if (v[3] > vec) vec = v[3];
        }
    }
    int w = 0;
    memset(out, 0, sizeof(float) * (size_t)F);
    out[w++] = -1; /* no step row has a negative one-hot slot */
    for (int k = 0; k <= ns; k++) out[w++] = (float)lv_s[k];
    for (int k = 0; k <= nr; k++) out[w++] = (float)lv_r[k];
    out[w++] = (float)log2(1 + unroll);
    out[w++] = (float)n_s;
    out[w++] = (float)n_r;
    if (m == TLP_MODE_GPU) {
        out[w++] = (float)log2(1 + fetch);
        out[w++] = (float)log2(1 + vec);
    }
    return w;
}

/* The program row's slots after the marker, as tlp_program_row writes them,
 * and how each value reads back: log2(v), log2(1 + v), or a count. */
typedef enum { SLOT_LOG, SLOT_LOG1P, SLOT_COUNT } slot_kind;
typedef struct {
    const char *name;
    slot_kind kind;
} prog_slot;

static const prog_slot SLOTS_GPU[] = {
    {"grid", SLOT_LOG},       {"vthread", SLOT_LOG},          {"threads", SLOT_LOG},
    {"inner", SLOT_LOG},      {"innermost", SLOT_LOG},        {"r.outer", SLOT_LOG},
    {"r.mid", SLOT_LOG},      {"r.inner", SLOT_LOG},          {"unroll", SLOT_LOG1P},
    {"spatial_splits", SLOT_COUNT}, {"reduction_splits", SLOT_COUNT}, {"fetched", SLOT_LOG1P},
    {"fetch_vector", SLOT_LOG1P},
};
static const prog_slot SLOTS_CPU[] = {
    {"outer", SLOT_LOG},   {"tile1", SLOT_LOG},   {"tile2", SLOT_LOG},
    {"inner", SLOT_LOG},   {"r.outer", SLOT_LOG}, {"r.inner", SLOT_LOG},
    {"unroll", SLOT_LOG1P}, {"spatial_splits", SLOT_COUNT}, {"reduction_splits", SLOT_COUNT},
};

static const char *const ENCODE_NAMES[TLP_ENCODE_COUNT] = {"raw", "log", "prog"};

const char *tlp_encode_name(tlp_encode e) { return (unsigned)e < TLP_ENCODE_COUNT ? ENCODE_NAMES[e] : "?"; }

int tlp_encode_of(const char *name)
{
    for (int e = 0; e < TLP_ENCODE_COUNT; e++)
        if (name && strcmp(name, ENCODE_NAMES[e]) == 0) return e;
    return -1;
}

int tlp_encode_rows(int L, tlp_encode e) { return L + (e == TLP_ENCODE_PROG); }

void tlp_encode_tokens(tlp_mode m, tlp_encode e, int L, const float *x, float *out)
{
    size_t n = (size_t)L * (size_t)tlp_mode_fea(m);
    if (e == TLP_ENCODE_RAW) {
        memcpy(out, x, sizeof(float) * n);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = copysignf(log2f(1.0f + fabsf(x[i])), x[i]);
    if (e == TLP_ENCODE_PROG) tlp_program_row(m, L, x, out + n);
}

int tlp_program_describe(tlp_mode m, const float *row, char *buf, size_t cap)
{
    const prog_slot *t = m == TLP_MODE_GPU ? SLOTS_GPU : SLOTS_CPU;
    int n = m == TLP_MODE_GPU ? (int)(sizeof SLOTS_GPU / sizeof *SLOTS_GPU) : (int)(sizeof SLOTS_CPU / sizeof *SLOTS_CPU);
    int w = 0;
    if (cap) buf[0] = 0;
    for (int j = 0; j < n; j++) {
        double v = row[1 + j]; /* slot 0 is the marker */
        char one[64];
        if (t[j].kind == SLOT_COUNT) snprintf(one, sizeof one, "%s%s=%g", j ? " " : "", t[j].name, v);
        else
            snprintf(one, sizeof one, "%s%s=%.3g (%.4g)", j ? " " : "", t[j].name, v,
                     exp2(v) - (t[j].kind == SLOT_LOG1P));
        size_t len = strlen(one);
        if ((size_t)w + len < cap) memcpy(buf + w, one, len + 1);
        w += (int)len;
    }
    return w;
}
