/*
 * export.c: the NumPy (.npy) export of features, labels and costs, so Python
 * users can np.load them directly; each file written atomically
 * (tlp_write_atomic).
 */
#include "train/train_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The .npy v1.0 header: magic, version, header length, a dict padded with
 * spaces so the data starts on a 64-byte boundary. */
static int npy_header(FILE *f, const char *descr, const size_t *shape, int nd)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < nd; i++) n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu,%s", shape[i], i + 1 < nd ? " " : "");
    if (nd > 1) n--; /* numpy writes (3,) for 1-d but (3, 4) otherwise */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)((size_t)n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n) return -1;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

typedef struct {
    const tlp_dataset *ds;
    tlp_mode mode;
    tlp_encode encode;
    int L; /* the crop */
    size_t n;
    const char *path;
} export_ctx;

static int in_mode(const export_ctx *c, size_t i)
{
    const tlp_rec *r = tlp_dataset_rec(c->ds, i);
    return tlp_dataset_task(c->ds, r->task)->mode == c->mode;
}

static tlp_status write_features(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    int R = tlp_encode_rows(c->L, c->encode), F = tlp_mode_fea(c->mode);
    size_t shape[3] = {c->n, (size_t)R, (size_t)F};
    if (npy_header(f, "<f4", shape, 3)) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    float raw[TLP_MAX_STEPS * TLP_MAX_FEA], buf[(TLP_MAX_STEPS + 1) * TLP_MAX_FEA];
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        tlp_dataset_features(c->ds, i, c->L, raw);
        tlp_encode_tokens(c->mode, c->encode, c->L, raw, buf);
        if (fwrite(buf, sizeof(float), (size_t)R * (size_t)F, f) != (size_t)R * (size_t)F)
            return tlp_error_set(err, TLP_IO, c->path, 0, "write failed: %s", strerror(errno));
    }
    return TLP_OK;
}

/* One number per record of the mode: float32 labels or float64 costs. */
static tlp_status write_column(FILE *f, const export_ctx *c, int costs, tlp_error *err)
{
    size_t shape[1] = {c->n};
    if (npy_header(f, costs ? "<f8" : "<f4", shape, 1)) return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        double cost = tlp_dataset_rec(c->ds, i)->cost;
        float label = (float)tlp_dataset_label(c->ds, i);
        if (costs ? fwrite(&cost, sizeof cost, 1, f) != 1 : fwrite(&label, sizeof label, 1, f) != 1)
            return tlp_error_set(err, TLP_IO, c->path, 0, "write failed");
    }
    return TLP_OK;
}

static tlp_status write_labels(FILE *f, void *ctx, tlp_error *err) { return write_column(f, ctx, 0, err); }
static tlp_status write_costs(FILE *f, void *ctx, tlp_error *err) { return write_column(f, ctx, 1, err); }

/* s escaped (tlp_escape) onto f. */
static void put_escaped(FILE *f, const char *s)
{
    char small[1024];
    size_t n = strlen(s), need = tlp_escape(small, sizeof small, s, n) + 1;
    if (need <= sizeof small) {
        fputs(small, f);
        return;
    }
    char *big = malloc(need);
    if (!big) {
        fputs("(out of memory)", f);
        return;
    }
    tlp_escape(big, need, s, n);
    fputs(big, f);
    free(big);
}

static tlp_status write_index(FILE *f, void *ctx, tlp_error *err)
{
    export_ctx *c = ctx;
    fprintf(f, "task\thardware\tfile\tline\n");
    size_t N = tlp_dataset_n_records(c->ds);
    for (size_t i = 0; i < N; i++) {
        if (!in_mode(c, i)) continue;
        const tlp_rec *r = tlp_dataset_rec(c->ds, i);
        const tlp_task *t = tlp_dataset_task(c->ds, r->task);
        put_escaped(f, t->workload_key);
        fprintf(f, "\t%s\t", t->hardware);
        put_escaped(f, tlp_dataset_file(c->ds, r->file));
        fprintf(f, "\t%u\n", r->line);
    }
    return ferror(f) ? tlp_error_set(err, TLP_IO, c->path, 0, "write failed") : TLP_OK;
}

tlp_status tlp_export_npy(const tlp_dataset *ds, tlp_mode m, tlp_encode e, int L, const char *prefix,
                          size_t *n_out, tlp_error *err)
{
    if ((unsigned)e >= TLP_ENCODE_COUNT) return tlp_error_set(err, TLP_ARG, prefix, 0, "unknown token encoding %d", e);
    if (L < 0 || L > TLP_MAX_STEPS) return tlp_error_set(err, TLP_ARG, prefix, 0, "a crop of %d steps (0..%d)", L, TLP_MAX_STEPS);
    L = tlp_mode_crop(m, L);
    if (tlp_dataset_check_steps(ds, m, L, err) != TLP_OK) return err->status;
    export_ctx c = {ds, m, e, L, 0, NULL};
    size_t N = tlp_dataset_n_records(ds);
    for (size_t i = 0; i < N; i++) c.n += in_mode(&c, i);
    if (n_out) *n_out = c.n;
    static const struct {
        const char *suffix;
        tlp_write_fn fn;
    } parts[] = {
        {".features.npy", write_features},
        {".labels.npy", write_labels},
        {".costs.npy", write_costs},
        {".index.tsv", write_index},
    };
    size_t plen = strlen(prefix);
    char *path = malloc(plen + 32);
    if (!path) return tlp_error_set(err, TLP_NOMEM, prefix, 0, "out of memory");
    tlp_status s = TLP_OK;
    for (size_t p = 0; p < sizeof parts / sizeof *parts && s == TLP_OK; p++) {
        snprintf(path, plen + 32, "%s%s", prefix, parts[p].suffix);
        c.path = path;
        s = tlp_write_atomic(path, parts[p].fn, &c, err);
    }
    free(path);
    return s;
}
