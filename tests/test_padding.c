/* test_padding.c: scores with a schedule's padding rows computed once equal
 * the padded computation (TLP's, tlp_model_set_exact_padding) within 1e-5
 * relative, on every record of the default data (assets/: three GPUs, the
 * MTL model, every head) and, when ../shared/data is here, of the shared K80
 * and Xeon records; the rankings within each task are the same.  The max
 * and mean differences are printed.  Under the sanitizers the default data
 * is taken one record in 16 (the same checks, an hour less). */
#include "train_fixtures.h" /* tap.h, the engine's inside, fx(), now_s() */

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* Under the sanitizers, three small operators of each GPU (as store.sh
 * takes) instead of the 24,250 records, and no shared data: the same checks. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static const float *order_scores;
static int by_score(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    float x = order_scores[i], y = order_scores[j];
    return x < y ? 1 : x > y ? -1 : (i > j) - (i < j); /* best first, ties by index */
}

typedef struct {
    size_t counted, nonfinite, swaps, near_ties;
    double max_rel, sum_rel, max_abs;
} diff_t;

/* The differences of b from a, task by task: each relative to the task's
 * spread of scores (what a ranking within the task sees; a score itself
 * can be near 0); and the task's records ranked under both: where the two
 * orders part, two records a tells apart by more than 1e-5 of the spread
 * count as a swap, closer ones as a near tie. */
static void task_diffs(const tlp_dataset *ds, const float *a, const float *b, diff_t *d)
{
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *k = tlp_dataset_task(ds, t);
        uint32_t *x = malloc(sizeof(uint32_t) * (k->n_records + 1)), *y = malloc(sizeof(uint32_t) * (k->n_records + 1));
        size_t n = 0;
        float lo = INFINITY, hi = -INFINITY;
        for (uint32_t i = 0; i < k->n_records; i++) {
            uint32_t r = k->records[i];
            if (isnan(a[r]) && isnan(b[r])) continue; /* another mode's record */
            if (!isfinite(a[r]) || !isfinite(b[r])) {
                d->nonfinite++;
                continue;
            }
            x[n] = y[n] = r, n++;
            lo = fminf(lo, a[r]), hi = fmaxf(hi, a[r]);
        }
        double spread = n > 1 && hi > lo ? (double)hi - (double)lo : fmax(fabs((double)hi), 1e-30);
        for (size_t i = 0; i < n; i++) {
            double diff = fabs((double)a[x[i]] - (double)b[x[i]]);
            d->max_abs = fmax(d->max_abs, diff);
            d->max_rel = fmax(d->max_rel, diff / spread);
            d->sum_rel += diff / spread;
            d->counted++;
        }
        order_scores = a;
        qsort(x, n, sizeof *x, by_score);
        order_scores = b;
        qsort(y, n, sizeof *y, by_score);
        for (size_t i = 0; i < n; i++)
            if (x[i] != y[i]) {
                double gap = fabs((double)a[x[i]] - (double)a[y[i]]);
                if (gap > 1e-5 * spread) d->swaps++;
                else d->near_ties++;
            }
        free(x), free(y);
    }
}

/* Score ds with every head of the model at path, padded and compact; check
 * and print the differences. */
static void compare(const char *what, const char *model, tlp_dataset *ds)
{
    tlp_error e = {0};
    tlp_model *m = tlp_checkpoint_load(model, NULL, NULL, &e);
    char msg[300];
    snprintf(msg, sizeof msg, "%s: the model loads", what);
    if (!ok(m != NULL, msg)) {
        printf("# %s: %s\n", e.file, e.msg);
        return;
    }
    int nh = tlp_model_config_of(m)->n_heads, heads[TLP_MAX_HEADS];
    size_t n = tlp_dataset_n_records(ds);
    float *exact[TLP_MAX_HEADS], *once[TLP_MAX_HEADS];
    for (int h = 0; h < nh; h++) {
        heads[h] = h;
        exact[h] = malloc(sizeof(float) * (n + 1));
        once[h] = malloc(sizeof(float) * (n + 1));
    }
    tlp_model_set_exact_padding(m, 1);
    double t0 = now_s();
    tlp_status s1 = tlp_predict_heads(m, ds, heads, nh, exact, NULL, NULL, &e);
    double t1 = now_s();
    tlp_model_set_exact_padding(m, 0);
    tlp_status s2 = tlp_predict_heads(m, ds, heads, nh, once, NULL, NULL, &e);
    printf("# %s: padded %.2f s, padding once %.2f s (timings for the eye; bench/ measures speed)\n", what, t1 - t0,
           now_s() - t1);
    snprintf(msg, sizeof msg, "%s: scored both ways", what);
    ok(s1 == TLP_OK && s2 == TLP_OK, msg);
    diff_t d;
    memset(&d, 0, sizeof d);
    for (int h = 0; h < nh; h++) task_diffs(ds, exact[h], once[h], &d);
    printf("# %s: %zu scores (%d head%s); difference relative to the task's spread of scores: max %.3g, mean %.3g; "
           "absolute max %.3g; records placed otherwise: %zu near ties (apart by under 1e-5 of the spread), %zu others\n",
           what, d.counted, nh, nh == 1 ? "" : "s", d.max_rel, d.counted ? d.sum_rel / (double)d.counted : 0.0,
           d.max_abs, d.near_ties, d.swaps);
    snprintf(msg, sizeof msg, "%s: every score within 1e-5 of its task's spread of the padded one", what);
    ok(d.counted > 0 && d.nonfinite == 0 && d.max_rel <= 1e-5, msg);
    snprintf(msg, sizeof msg, "%s: every task ranks its records the same, but for near ties", what);
    ok(d.swaps == 0, msg);
    for (int h = 0; h < nh; h++) free(exact[h]), free(once[h]);
    tlp_model_free(m);
}

/* Load NAME=PATH pairs into a dataset. */
static tlp_dataset *load_named(const char *const *names, const char *const *paths, int n)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0};
    tlp_error e = {0};
    for (int i = 0; i < n; i++)
        if (tlp_dataset_add_path(ds, paths[i], names[i], &lo, &e) != TLP_OK) {
            printf("# %s: %s\n", e.file, e.msg);
            tlp_dataset_free(ds);
            return NULL;
        }
    if (tlp_dataset_finish(ds, &e) != TLP_OK) {
        tlp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* The default data (every record, or under the sanitizers its small
 * operators) with the default MTL model's three heads. */
static void default_data(const char *top)
{
    static const char *const gpus[3] = {"K80", "V100", "MI50"}, *const ops[3] = {"pooling", "reduction", "elementwise"};
    char buf[9][1024], model[1024];
    const char *names[9], *paths[9];
    int n = 0;
    for (int g = 0; g < 3; g++)
        for (int o = 0; o < (SANITIZED ? 3 : 1); o++) {
            if (SANITIZED) snprintf(buf[n], sizeof buf[n], "%s/assets/roller/%s/%s", top, gpus[g], ops[o]);
            else snprintf(buf[n], sizeof buf[n], "%s/assets/roller/%s", top, gpus[g]);
            names[n] = gpus[g], paths[n] = buf[n], n++;
        }
    snprintf(model, sizeof model, "%s/assets/mtl-gpu.tlpx", top);
    tlp_dataset *ds = load_named(names, paths, n);
    if (ok(ds != NULL, "the default data loads"))
        compare(SANITIZED ? "default data's small operators, mtl-gpu" : "default data, mtl-gpu", model, ds);
    tlp_dataset_free(ds);
}

/* The shared K80 records (Roller's Table3) with the default model's K80
 * head, the Xeon records with the default CPU model; skipped without them. */
static void shared_data(const char *top)
{
    const char *data = getenv("TLPX_DATA");
    char root[1024], k80[1200], xeon[1200], gm[1024], cm[1024];
    snprintf(root, sizeof root, "%s", data ? data : "");
    if (!data) snprintf(root, sizeof root, "%s/../shared/data", top);
    snprintf(k80, sizeof k80, "%s/nnfusion-roller/artifacts/Table3", root);
    snprintf(xeon, sizeof xeon, "%s/crazydemo-tlcbench", root);
    struct stat sb;
    if (SANITIZED || stat(k80, &sb) != 0 || stat(xeon, &sb) != 0) {
        printf("# the shared K80 and Xeon records: skipped (%s)\n", SANITIZED ? "a sanitizer build" : "no ../shared/data");
        return;
    }
    snprintf(gm, sizeof gm, "%s/assets/mtl-gpu.tlpx", top);
    snprintf(cm, sizeof cm, "%s/assets/xeon-cpu.tlpx", top);
    const char *kn[1] = {"K80"}, *kp[1] = {k80}, *xn[1] = {"Xeon"}, *xp[1] = {xeon};
    tlp_dataset *ds = load_named(kn, kp, 1);
    if (ok(ds != NULL, "the shared K80 records load")) compare("shared K80 records, mtl-gpu", gm, ds);
    tlp_dataset_free(ds);
    ds = load_named(xn, xp, 1);
    if (ok(ds != NULL, "the shared Xeon records load")) compare("shared Xeon records, xeon-cpu", cm, ds);
    tlp_dataset_free(ds);
}

/* One batch's forward and backward, every padding row and the padding
 * once: the same scores and the same gradients, each tensor's within 1e-5
 * of its largest (samples of 0 to 40 real rows, two heads, each encoding).
 * The rows are drawn from 9 distinct ones, as a task's schedules share
 * steps: with the padding once, the layers before attention run on the
 * distinct rows only, and their gradients gather those of the rows that
 * are them. */
static void gradients(void)
{
    static const tlp_encode encs[3] = {TLP_ENCODE_RAW, TLP_ENCODE_LOG, TLP_ENCODE_PROG};
    for (int k = 0; k < 3; k++) {
        tlp_model_config c;
        memset(&c, 0, sizeof c);
        c.mode = TLP_MODE_GPU, c.n_heads = 2, c.encode = encs[k];
        snprintf(c.heads[0], TLP_HEAD_NAME, "a");
        snprintf(c.heads[1], TLP_HEAD_NAME, "b");
        tlp_error e = {0};
        tlp_model *m = tlp_model_new(&c, 3, &e);
        if (!ok(m != NULL, "a model")) return;
        enum { B = 70 }; /* two shards */
        int L = tlp_mode_seq(TLP_MODE_GPU), F = tlp_mode_fea(TLP_MODE_GPU);
        float *x = calloc((size_t)B * (size_t)L * (size_t)F, sizeof *x);
        tlp_rng r;
        tlp_rng_seed(&r, 11);
        float pool[9][TLP_MAX_FEA];
        for (int i = 0; i < 9; i++)
            for (int f = 0; f < F; f++) pool[i][f] = (float)(tlp_rng_uniform(&r) * 4 - 1);
        for (int b = 0; b < B; b++)
            for (int l = 0; l < (b * 7) % (L + 1); l++)
                memcpy(x + ((size_t)b * L + l) * F, pool[(size_t)(tlp_rng_uniform(&r) * 9) % 9], sizeof(float) * (size_t)F);
        float out[2][2 * B], dout[2 * B];
        for (int i = 0; i < 2 * B; i++) dout[i] = (float)(tlp_rng_uniform(&r) - 0.5);
        size_t np = tlp_model_n_params(m), n_rows[2], n_distinct[2];
        float *g[2];
        for (int ex = 0; ex < 2; ex++) {
            tlp_model_set_exact_padding(m, ex);
            tlp_model_zero_grads(m);
            tlp_model_forward(m, x, B, -1, out[ex]);
            tlp__model_rows(m, &n_rows[ex], &n_distinct[ex]);
            tlp_model_backward(m, dout);
            g[ex] = malloc(np * sizeof(float));
            memcpy(g[ex], tlp_model_grads(m), np * sizeof(float));
        }
        double worst = 0, worst_out = 0;
        const char *where = "";
        for (size_t t = 0; t < tlp_model_n_tensors(m); t++) {
            const char *name;
            int rows, cols;
            size_t off;
            tlp_model_tensor(m, t, &name, &rows, &cols, &off);
            double md = 0, mx = 0;
            for (size_t i = off; i < off + (size_t)rows * (size_t)cols; i++) {
                md = fmax(md, fabs((double)g[0][i] - (double)g[1][i]));
                mx = fmax(mx, fabs((double)g[1][i]));
            }
            if (mx > 0 && md / mx > worst) worst = md / mx, where = name;
        }
        for (int i = 0; i < 2 * B; i++)
            worst_out = fmax(worst_out, fabs((double)out[0][i] - (double)out[1][i]) / fmax(fabs((double)out[1][i]), 1e-3));
        printf("# one batch, %s tokens: scores within %.2g, gradients within %.2g of their tensor's largest (%s)\n",
               tlp_encode_name(encs[k]), worst_out, worst, where);
        char msg[200];
        snprintf(msg, sizeof msg, "one batch, %s tokens: the same scores and gradients, padding once or not",
                 tlp_encode_name(encs[k]));
        ok(worst <= 1e-5 && worst_out <= 1e-5, msg);
        printf("# padded: %zu rows; once: %zu rows, %zu of them distinct\n", n_rows[1], n_rows[0], n_distinct[0]);
        snprintf(msg, sizeof msg, "one batch, %s tokens: the padded computation runs every row, the padding once "
                 "the distinct ones", tlp_encode_name(encs[k]));
        ok(n_distinct[1] == n_rows[1] && n_rows[1] == (size_t)B * (size_t)(L + (encs[k] == TLP_ENCODE_PROG)) &&
               n_distinct[0] < n_rows[0] / 4, msg);
        free(g[0]), free(g[1]), free(x);
        tlp_model_free(m);
    }
}

/* Two epochs of training, every padding row and the padding once, from
 * the same start: the same losses to 1e-3 relative, each encoding (raw,
 * log, prog: the program row is laid out before the padding row).  Not
 * 1e-4: Adam divides each gradient by its own running size, so where a
 * gradient is near 0 rounding alone makes a full step, and the fixtures'
 * ten steps part the two by up to 7e-4 (one batch agrees to 5e-6: above).
 * With the MSE loss: LambdaRank's gradient jumps when two near-equal
 * scores trade places, which parts two trainings by a percent. */
static void training(void)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", fx("hw-a"));
    snprintf(b, sizeof b, "%s", fx("hw-b"));
    const char *names[2] = {"a", "b"}, *paths[2] = {a, b};
    tlp_dataset *ds = load_named(names, paths, 2);
    if (!ok(ds != NULL, "the training fixtures load")) return;
    static const tlp_encode encs[3] = {TLP_ENCODE_RAW, TLP_ENCODE_LOG, TLP_ENCODE_PROG};
    for (int k = 0; k < 3; k++) {
        double val[2], loss[2];
        for (int exact = 0; exact < 2; exact++) {
            tlp_train_opts o;
            tlp_train_defaults(&o, TLP_MODE_GPU);
            o.epochs = 2, o.batch = 32, o.seed = 7, o.threads = 2, o.encode[0] = encs[k], o.n_nets = 1;
            o.padding = exact ? TLP_PADDING_EXACT : TLP_PADDING_ONCE;
            o.loss = TLP_LOSS_MSE;
            tlp_error e = {0};
            tlp_samples *sm = tlp_samples_build(ds, &o, &e);
            tlp_job *j = sm ? tlp_train_start(sm, &o, NULL, NULL, NULL, &e) : NULL;
            tlp_model *best = NULL;
            tlp_train_meta meta;
            memset(&meta, 0, sizeof meta);
            tlp_progress p;
            memset(&p, 0, sizeof p);
            if (j) {
                tlp_job_progress(j, &p);
                while (p.state == TLP_JOB_RUNNING) {
                    struct timespec ts = {0, 20000000};
                    nanosleep(&ts, NULL);
                    tlp_job_progress(j, &p);
                }
                if (tlp_job_finish(j, &best, &meta, NULL, &e) != TLP_OK) printf("# %s\n", e.msg);
            } else
                printf("# %s\n", e.msg);
            val[exact] = meta.best_val;
            loss[exact] = p.loss;
            tlp_model_free(best);
            tlp_samples_free(sm);
        }
        char msg[200];
        double dv = fabs(val[0] - val[1]) / fmax(fabs(val[1]), 1e-12), dl = fabs(loss[0] - loss[1]) / fmax(fabs(loss[1]), 1e-12);
        printf("# training, %s tokens, 2 epochs: validation loss %.9g once, %.9g padded (%.2g relative); last "
               "training loss %.9g, %.9g (%.2g)\n", tlp_encode_name(encs[k]), val[0], val[1], dv, loss[0], loss[1], dl);
        snprintf(msg, sizeof msg, "training with %s tokens: the same losses to 1e-3 relative, padding once or not",
                 tlp_encode_name(encs[k]));
        ok(isfinite(val[0]) && isfinite(loss[0]) && dv <= 1e-3 && dl <= 1e-3, msg);
    }
    tlp_dataset_free(ds);
}

int main(void)
{
    tlp_set_threads(2);
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    gradients();
    training();
    default_data(top);
    shared_data(top);
    return tap_done();
}
