/*
 * best.c: the best record of each task as a TVM log, the file a tuner
 * applies with apply_history_best, and the rule that keeps such a file true
 * to one hardware.
 *
 * TVM's ApplyHistoryBest (python/tvm/auto_scheduler/dispatcher.py, load and
 * _query_inside) files every valid record under its workload key and each
 * of its target's keys (cuda and gpu for "cuda -keys=cuda,gpu ...") and its
 * -model= when one is given; for one entry it keeps the cheaper record.  K80
 * and V100 records carry the same target string, and K80 and MI50 records
 * share the key "gpu": in one file, a query on either hardware may get a
 * schedule measured on the other.  So a log here never holds two hardware
 * that meet under one (workload key, dispatch key): writing one says which
 * and refuses.
 */
#include "data/data_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The default keys of TVM's target kinds (src/target/target_kind.cc,
 * set_default_keys), used when a target gives no -keys=. */
static const char *const KIND_KEYS[][3] = {
    {"llvm", "cpu", NULL},       {"c", "cpu", NULL},          {"stackvm", "cpu", NULL},
    {"cuda", "cuda", "gpu"},     {"nvptx", "cuda", "gpu"},    {"rocm", "rocm", "gpu"},
    {"opencl", "opencl", "gpu"}, {"metal", "metal", "gpu"},   {"vulkan", "vulkan", "gpu"},
    {"webgpu", "webgpu", "gpu"}, {"hexagon", "hexagon", "cpu"}, {"sdaccel", "sdaccel", "hls"},
    {"aocl", "aocl", "hls"},     {"aocl_sw_emu", "aocl", "hls"},
};

static int add_key(char keys[][TLP_DISPATCH_KEY], int n, int max, const char *s, size_t len)
{
    if (len == 0 || n >= max) return n;
    if (len >= TLP_DISPATCH_KEY) len = TLP_DISPATCH_KEY - 1;
    for (int i = 0; i < n; i++)
        if (strlen(keys[i]) == len && !memcmp(keys[i], s, len)) return n; /* TVM de-duplicates */
    memcpy(keys[n], s, len);
    keys[n][len] = 0;
    return n + 1;
}

int tlp_target_keys(const char *target, char keys[][TLP_DISPATCH_KEY], int max)
{
    int n = 0;
    size_t kind_len = strcspn(target, " "), len;
    const char *v = tlp__target_opt(target, "-keys=", &len);
    for (const char *p = v, *end = v ? v + len : NULL; p && p < end;) {
        size_t l = strcspn(p, ",");
        if (p + l > end) l = (size_t)(end - p);
        n = add_key(keys, n, max, p, l);
        p += l + 1;
    }
    if ((v = tlp__target_opt(target, "-device=", &len)) != NULL) n = add_key(keys, n, max, v, len);
    if (!tlp__target_opt(target, "-keys=", &len)) {
        int known = 0;
        for (size_t i = 0; i < sizeof KIND_KEYS / sizeof *KIND_KEYS; i++)
            if (strlen(KIND_KEYS[i][0]) == kind_len && !memcmp(KIND_KEYS[i][0], target, kind_len)) {
                for (int j = 1; j < 3 && KIND_KEYS[i][j]; j++)
                    n = add_key(keys, n, max, KIND_KEYS[i][j], strlen(KIND_KEYS[i][j]));
                known = 1;
            }
        if (!known) n = add_key(keys, n, max, target, kind_len); /* a kind TVM does not know: itself */
    }
    if ((v = tlp__target_opt(target, "-model=", &len)) != NULL && !(len == 7 && !memcmp(v, "unknown", 7))) {
        char m[TLP_DISPATCH_KEY];
        int l = snprintf(m, sizeof m, "model=%.*s", (int)len, v);
        n = add_key(keys, n, max, m, (size_t)l < sizeof m ? (size_t)l : sizeof m - 1);
    }
    return n;
}

/* One entry of the written log: where TVM files it. */
typedef struct {
    const char *workload, *hardware; /* borrowed from the dataset */
    char key[TLP_DISPATCH_KEY];
} entry;

static int by_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    int c = strcmp(a->workload, b->workload);
    if (!c) c = strcmp(a->key, b->key);
    if (!c) c = strcmp(a->hardware, b->hardware);
    return c;
}

/* Count the workloads that two hardware meet under one key; name the first. */
static void find_clashes(entry *e, size_t n, tlp_log_counts *c)
{
    qsort(e, n, sizeof *e, by_entry);
    const char *last = NULL;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !strcmp(e[j].workload, e[i].workload) && !strcmp(e[j].key, e[i].key); j++)
            ;
        if (strcmp(e[j - 1].hardware, e[i].hardware) == 0) continue;
        if (!c->clashes) {
            snprintf(c->clash[0], sizeof c->clash[0], "%s", e[i].hardware);
            snprintf(c->clash[1], sizeof c->clash[1], "%s", e[j - 1].hardware);
            snprintf(c->clash_key, sizeof c->clash_key, "%s", e[i].key);
        }
        if (!last || strcmp(last, e[i].workload)) c->clashes++;
        last = e[i].workload;
    }
}

/* The record of task t the log takes: the least mean cost among the
 * candidates that ran (the first of equals), else with o->failed the first
 * candidate; -1 when there is none (*failed says whether it had any). */
static long choose(const tlp_dataset *ds, size_t t, const tlp_log_opts *o, int *failed)
{
    const tlp_task *tk = tlp_dataset_task(ds, t);
    long best = -1, first = -1;
    for (uint32_t k = 0; k < tk->n_records; k++) {
        if (o->pick && !o->pick(o->ctx, t, k)) continue;
        const tlp_rec *r = tlp_dataset_rec(ds, tk->records[k]);
        if (first < 0) first = tk->records[k];
        if (r->error_no == 0 && (best < 0 || r->cost < tlp_dataset_rec(ds, (size_t)best)->cost))
            best = tk->records[k];
    }
    *failed = best < 0 && first >= 0;
    return best >= 0 ? best : o->failed ? first : -1;
}

tlp_status tlp_write_best_log(FILE *f, const tlp_dataset *ds, const tlp_log_opts *o, tlp_log_counts *c,
                              tlp_error *err)
{
    memset(c, 0, sizeof *c);
    size_t n_e = 0, cap_e = 0;
    entry *e = NULL;
    tlp_record r;
    tlp_record_init(&r);
    tlp_status st = TLP_OK;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds) && st == TLP_OK; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        if (o->hardware && strcmp(tk->hardware, o->hardware)) continue;
        int failed;
        long i = choose(ds, t, o, &failed);
        c->all_failed += failed && !o->failed;
        if (i < 0) continue;
        if ((st = tlp_dataset_read_record(ds, (size_t)i, &r, err)) != TLP_OK) break;
        char keys[TLP_MAX_DISPATCH][TLP_DISPATCH_KEY];
        int nk = tlp_target_keys(r.target, keys, TLP_MAX_DISPATCH);
        if (tlp__grow((void **)&e, &cap_e, n_e + (size_t)nk, sizeof *e)) {
            st = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
            break;
        }
        for (int k = 0; k < nk; k++) {
            e[n_e] = (entry){tk->workload_key, tk->hardware, {0}};
            memcpy(e[n_e++].key, keys[k], TLP_DISPATCH_KEY);
        }
        char *line = tlp_record_to_json(&r);
        if (!line) st = tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        else if (fprintf(f, "%s\n", line) < 0) st = tlp_error_set(err, TLP_IO, NULL, 0, "write failed: %s", strerror(errno));
        else c->written++;
        c->failed_written += r.error_no != 0;
        free(line);
    }
    tlp_record_free(&r);
    if (st == TLP_OK) {
        find_clashes(e, n_e, c);
        if (c->clashes)
            st = tlp_error_set(err, TLP_ARG, NULL, 0,
                               "%s and %s measured %zu workload%s under the same TVM target key (%s): "
                               "apply_history_best would take the cheaper whichever hardware measured it",
                               c->clash[0], c->clash[1], c->clashes, c->clashes == 1 ? "" : "s", c->clash_key);
    }
    free(e);
    return st;
}
