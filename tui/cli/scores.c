/* scores.c: what eval, predict and replay share (scores.h).  A model's
 * scores are computed for every head the tasks of DATA need in one pass (the
 * trunk once per chunk of records), at the first task that asks; --scores
 * reads another cost model's instead, matched to the records by file:line. */
#include "cli.h"
#include "scores.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tlp_model *cli_load_model(const char *path, tlp_train_meta *meta, tlp_train_state *state)
{
    tlp_error err = {0};
    tlp_model *model = tlp_checkpoint_load(path, meta, state, &err);
    if (!model) fprintf(stderr, "tlpx: %s: %s\n", err.file[0] ? err.file : path, err.msg);
    return model;
}

int cli_head_for(const tlp_model *m, const tlp_task *t, int forced)
{
    if (forced >= 0) return forced;
    int h = tlp_model_head_for(m, t->hardware, t->target);
    return h >= 0 ? h : 0;
}

int cli_heads_unmatched(const tlp_model *m, const tlp_dataset *ds, char *buf, size_t cap)
{
    const tlp_model_config *c = tlp_model_config_of(m);
    int n = 0;
    size_t len = 0;
    buf[0] = 0;
    for (size_t h = 0; h < tlp_dataset_n_hw(ds); h++) { /* each hardware once, by its first task's target */
        const char *hw = tlp_dataset_hw(ds, h)->hardware;
        const tlp_task *tk = NULL;
        if (tlp_dataset_hw(ds, h)->mode != c->mode) continue;
        for (size_t t = 0; t < tlp_dataset_n_tasks(ds) && !tk; t++) {
            const tlp_task *u = tlp_dataset_task(ds, t);
            if (u->mode == c->mode && !strcmp(u->hardware, hw)) tk = u;
        }
        if (!tk || tlp_model_head_for(m, tk->hardware, tk->target) >= 0) continue;
        int w = snprintf(buf + len, cap - len, "%s%s", n ? ", " : "", hw);
        if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
        n++;
    }
    return n;
}

/* Progress of scoring on a terminal: "scoring with heads K80, V100: 45%". */
typedef struct {
    const char *heads;
    int shown;
} score_progress;

static int show_score_progress(void *ctx, double frac)
{
    score_progress *p = ctx;
    int pct = (int)(100 * frac);
    if (pct != p->shown) {
        fprintf(stderr, "\r\033[Kscoring with %s: %d%%", p->heads, pct);
        p->shown = pct;
    }
    return 0;
}

const float *cli_scores_for(tlp_model *m, const tlp_dataset *ds, cli_score_cache *c, const tlp_task *tk)
{
    int h = cli_head_for(m, tk, c->forced);
    if (c->scores[h]) return c->scores[h];
    const tlp_model_config *cfg = tlp_model_config_of(m);
    int want[TLP_MAX_HEADS] = {0}, heads[TLP_MAX_HEADS], nh = 0;
    want[h] = 1;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *other = tlp_dataset_task(ds, t);
        if (other->mode == cfg->mode) want[cli_head_for(m, other, c->forced)] = 1;
    }
    float *s[TLP_MAX_HEADS];
    size_t n = tlp_dataset_n_records(ds);
    char names[256];
    size_t len = 0;
    for (int k = 0; k < cfg->n_heads; k++) {
        if (!want[k] || c->scores[k]) continue;
        if (!(s[nh] = malloc(sizeof(float) * (n ? n : 1)))) {
            while (nh--) free(s[nh]);
            fprintf(stderr, "tlpx: out of memory\n");
            return NULL;
        }
        heads[nh++] = k;
        int w = snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", cfg->heads[k]);
        if (w > 0 && (size_t)w < sizeof names - len) len += (size_t)w;
    }
    char label[300];
    snprintf(label, sizeof label, "head%s %s", nh > 1 ? "s" : "", names);
    tlp_error err = {0};
    score_progress sp = {label, -1};
    int live = !c->quiet && isatty(2);
    if (!c->quiet && !live) fprintf(stderr, "tlpx: scoring %zu records with %s\n", n, label);
    tlp_status st = tlp_predict_heads(m, ds, heads, nh, s, live ? show_score_progress : NULL, &sp, &err);
    if (live) fprintf(stderr, "\r\033[K");
    if (st != TLP_OK) {
        cli_error("tlpx", &err);
        for (int k = 0; k < nh; k++) free(s[k]);
        return NULL;
    }
    size_t bad = 0, of_mode = 0; /* a diverged model scores NaN: said, not reported on as if it ranked */
    for (size_t i = 0; i < n; i++) {
        if (tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode != cfg->mode) continue;
        of_mode++;
        for (int k = 0; k < nh; k++) bad += !isfinite(s[k][i]);
    }
    if (bad)
        fprintf(stderr, "tlpx: warning: %zu of the %zu scores are NaN or infinite (non-finite weights: a diverged "
                        "training?); the figures of their tasks mean nothing\n", bad, of_mode * (size_t)nh);
    for (int k = 0; k < nh; k++) c->scores[heads[k]] = s[k];
    return c->scores[h];
}

/* ------------------------------------------------------------ the session */

static int parse_ks(const char *s, int *ks, int *n)
{
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    int okv = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && okv; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (*n >= 8 || cli_whole(t, 1, 1000000, &v)) okv = 0;
        else ks[(*n)++] = (int)v;
    }
    free(copy);
    return okv && *n > 0 ? 0 : -1;
}

static int model_arg(void *ctx, const cli_opt *o, const char *val)
{
    cli_session *a = ctx;
    if (!o) {
        if (!a->model_path) a->model_path = val;
        else a->data.paths[a->data.n_paths++] = val;
    } else if (!strcmp(o->name, "--head"))
        a->head = val;
    else if (!strcmp(o->name, "--scores"))
        a->scores_path = val;
    else if (!strcmp(o->name, "--per-task"))
        a->per_task = 1;
    else if (!strcmp(o->name, "--by-op"))
        a->by_op = 1;
    else if (!strcmp(o->name, "--exact-padding"))
        a->exact_padding = 1;
    else if (!strcmp(o->name, "--tsv"))
        a->tsv = 1;
    else if (!strcmp(o->name, "--k") && parse_ks(val, a->ks, &a->n_k))
        return cli_usage_error(a->cmd, "--k takes up to 8 numbers like 1,5,10, not \"%s\"", val);
    else if (!strcmp(o->name, "--threads")) {
        long t;
        if (cli_long(a->cmd, o, val, 1, 256, &t)) return EXIT_USAGE;
        a->threads = (int)t;
    } else if (!strcmp(o->name, "--within")) {
        double w;
        if (cli_double(a->cmd, o, val, -1e-9, 1000, &w)) return EXIT_USAGE;
        a->within = w / 100;
    }
    return 0;
}

void cli_session_close(cli_session *a)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(a->cache.scores[h]);
    tlp_dataset_free(a->ds);
    tlp_model_free(a->m);
    free(a->data.paths);
}

int cli_session_open(int argc, char **argv, cli_session *a, const cli_cmd *cmd)
{
    a->cmd = cmd;
    a->cache.forced = -1;
    a->within = 0.05;
    a->ks[0] = 1, a->ks[1] = 5, a->n_k = 2;
    a->data.paths = calloc((size_t)argc, sizeof *a->data.paths);
    if (!a->data.paths) return EXIT_FAIL;
    int rc = cli_parse(cmd, argc, argv, &a->data, model_arg, a);
    if (rc < 0 && a->scores_path) { /* no MODEL: the first argument was DATA too */
        if (a->model_path) {
            memmove(a->data.paths + 1, a->data.paths, sizeof *a->data.paths * (size_t)a->data.n_paths);
            a->data.paths[0] = a->model_path;
            a->data.n_paths++;
            a->model_path = NULL;
        }
        if (!a->data.n_paths) rc = cli_usage_error(cmd, "no DATA given");
        if (rc >= 0) free(a->data.paths);
        else if (!(a->ds = cli_load(&a->data))) {
            cli_session_close(a);
            rc = EXIT_FAIL;
        }
        return rc;
    }
    if (rc < 0 && (!a->model_path || !a->data.n_paths))
        rc = cli_usage_error(cmd, "%s", a->model_path ? "no DATA given" : "no MODEL given");
    if (rc >= 0) {
        free(a->data.paths);
        return rc;
    }
    tlp_set_threads(a->threads ? a->threads : cli_default_threads());
    a->cache.quiet = a->data.quiet;
    if (!(a->m = cli_load_model(a->model_path, &a->meta, NULL)) || !(a->ds = cli_load(&a->data))) {
        cli_session_close(a);
        return EXIT_FAIL;
    }
    tlp_model_set_exact_padding(a->m, a->exact_padding);
    const tlp_model_config *c = tlp_model_config_of(a->m);
    char names[512];
    if (!a->head && cli_heads_unmatched(a->m, a->ds, names, sizeof names))
        fprintf(stderr, "tlpx: %s: no head for %s: scored by head %s (--head HW to choose)\n", a->model_path, names,
                c->heads[0]);
    if (a->head && (a->cache.forced = tlp_model_head(a->m, a->head)) < 0) {
        fprintf(stderr, "tlpx: the model has no head \"%s\" (heads:", a->head);
        for (int h = 0; h < c->n_heads; h++) fprintf(stderr, " %s", c->heads[h]);
        fprintf(stderr, ")\n");
        cli_session_close(a);
        return EXIT_FAIL;
    }
    return -1;
}


/* ------------------------------------------------------------ --scores */

int cli_read_scores(const char *path, const tlp_dataset *ds, float *scores)
{
    size_t nf = tlp_dataset_n_files(ds), nr = tlp_dataset_n_records(ds);
    /* record index by (file, line): per file an array over its lines */
    uint32_t *max_line = calloc(nf ? nf : 1, sizeof *max_line);
    uint32_t **by_line = calloc(nf ? nf : 1, sizeof *by_line);
    FILE *f = tlp_fopen_regular(path);
    int open_errno = errno;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = -1;
    if (!max_line || !by_line) goto out;
    if (!f) {
        fprintf(stderr, "tlpx: %s: cannot open: %s\n", path, tlp_fopen_why(open_errno));
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        const tlp_rec *r = tlp_dataset_rec(ds, i);
        if (r->line > max_line[r->file]) max_line[r->file] = r->line;
        scores[i] = NAN;
    }
    for (size_t k = 0; k < nf; k++) {
        by_line[k] = malloc(sizeof(uint32_t) * ((size_t)max_line[k] + 1));
        if (!by_line[k]) goto out;
        for (uint32_t l = 0; l <= max_line[k]; l++) by_line[k][l] = UINT32_MAX;
    }
    for (size_t i = 0; i < nr; i++) by_line[tlp_dataset_rec(ds, i)->file][tlp_dataset_rec(ds, i)->line] = (uint32_t)i;
    size_t last_file = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        char *col[6] = {NULL}, *save = NULL;
        int nc = 0;
        for (char *t = strtok_r(line, "\t", &save); t && nc < 6; t = strtok_r(NULL, "\t", &save)) col[nc++] = t;
        char *end = NULL;
        double sc = nc >= 5 ? strtod(col[4], &end) : 0;
        if (nc < 5 || *end || end == col[4]) {
            if (lineno == 1) continue; /* the header */
            fprintf(stderr, "tlpx: %s:%ld: expected task, hardware, file:line, cost, score separated by tabs\n", path,
                    lineno);
            goto out;
        }
        tlp_unescape(col[2]); /* predict escapes the file name */
        char *colon = strrchr(col[2], ':');
        long ln = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || *end || ln < 1) {
            fprintf(stderr, "tlpx: %s:%ld: the record column is FILE:LINE, not \"%s\"\n", path, lineno, col[2]);
            goto out;
        }
        *colon = 0;
        size_t fi = last_file < nf && !strcmp(tlp_dataset_file(ds, last_file), col[2]) ? last_file : nf;
        for (size_t k = 0; k < nf && fi == nf; k++)
            if (!strcmp(tlp_dataset_file(ds, k), col[2])) fi = k;
        if (fi == nf || (uint32_t)ln > max_line[fi] || by_line[fi][ln] == UINT32_MAX) {
            fprintf(stderr, "tlpx: %s:%ld: %s:%ld is not a record of the DATA given\n", path, lineno, col[2], ln);
            goto out;
        }
        last_file = fi;
        scores[by_line[fi][ln]] = (float)sc;
    }
    if (ferror(f)) {
        fprintf(stderr, "tlpx: %s: read error\n", path);
        goto out;
    }
    rc = 0;
out:
    if (f) fclose(f);
    free(line);
    for (size_t k = 0; by_line && k < nf; k++) free(by_line[k]);
    free(by_line);
    free(max_line);
    return rc;
}

