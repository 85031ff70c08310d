/* test_metrics.c: tlp_eval_task (engine/metrics.c) on examples worked out by
 * hand, then against a naive O(n^2) count on random tasks full of ties. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <stdint.h>

#define TOL 1e-12

static tlp_task_eval eval_of(const double *cost, const float *score, int n, const int *ks, int n_k, const char *what)
{
    tlp_task_eval e;
    tlp_status s = tlp_eval_task(cost, NULL, score, n, ks, n_k, &e);
    char w[200];
    snprintf(w, sizeof w, "%s: status ok", what);
    is_int(s, TLP_OK, w);
    return e;
}

static void expect_lat(const tlp_task_eval *e, const double *want, int n_k, const char *what)
{
    int same = 1;
    for (int i = 0; i < n_k; i++) same &= e->lat_k[i] == want[i];
    char w[200];
    snprintf(w, sizeof w, "%s: lat_k", what);
    if (!ok(same, w))
        for (int i = 0; i < n_k; i++) printf("#   lat_k[%d] got %.17g want %.17g\n", i, e->lat_k[i], want[i]);
}

static void expect_nan(double v, const char *what)
{
    if (!ok(isnan(v), what)) printf("#   got %.17g, want NaN\n", v);
}

static void test_hand(void)
{
    /* perfect order: the highest score has the lowest cost */
    {
        double c[] = {1, 2, 3, 4};
        float s[] = {4, 3, 2, 1};
        int ks[] = {1, 2, 10};
        tlp_task_eval e = eval_of(c, s, 4, ks, 3, "perfect");
        is_dbl(e.best, 1, 0, "perfect: best");
        double lat[] = {1, 1, 1};
        expect_lat(&e, lat, 3, "perfect");
        is_dbl(e.pair_acc, 1, TOL, "perfect: pair_acc 1");
        is_dbl(e.tau, 1, TOL, "perfect: tau 1");
        expect_nan(e.lat_k[3], "perfect: lat_k past n_k is NaN");
    }
    /* reversed: predicted order has costs 4 3 2 1 */
    {
        double c[] = {1, 2, 3, 4};
        float s[] = {1, 2, 3, 4};
        int ks[] = {1, 2, 3, 4};
        tlp_task_eval e = eval_of(c, s, 4, ks, 4, "reversed");
        double lat[] = {4, 3, 2, 1};
        expect_lat(&e, lat, 4, "reversed");
        is_dbl(e.pair_acc, 0, TOL, "reversed: pair_acc 0");
        is_dbl(e.tau, -1, TOL, "reversed: tau -1");
    }
    /* tied scores: records 0 and 1 share score 3 (lower index first in the order);
     * pairs: (0,1) tied score -> half, the other 5 right: 5.5/6; tau-b: n0 6, n1 1,
     * C 5, D 0 -> 5/sqrt(5*6) */
    {
        double c[] = {2, 1, 3, 4};
        float s[] = {3, 3, 1, 0};
        int ks[] = {1, 2, 3};
        tlp_task_eval e = eval_of(c, s, 4, ks, 3, "score ties");
        double lat[] = {2, 1, 1};
        expect_lat(&e, lat, 3, "score ties (record 0 before record 1)");
        is_dbl(e.pair_acc, 11.0 / 12.0, TOL, "score ties: pair_acc 11/12");
        is_dbl(e.tau, 5 / sqrt(30.0), TOL, "score ties: tau 5/sqrt(30)");
    }
    /* every score tied: each pair is half right; tau-b undefined */
    {
        double c[] = {3, 1, 2};
        float s[] = {1, 1, 1};
        int ks[] = {1, 2};
        tlp_task_eval e = eval_of(c, s, 3, ks, 2, "all scores tied");
        double lat[] = {3, 1};
        expect_lat(&e, lat, 2, "all scores tied (index order)");
        is_dbl(e.pair_acc, 0.5, TOL, "all scores tied: pair_acc 1/2");
        expect_nan(e.tau, "all scores tied: tau NaN");
    }
    /* tied costs: records 0 and 1 both cost 1, so 5 pairs count: (0,2) and (0,3) wrong,
     * (1,2) (1,3) (2,3) right -> 3/5; tau-b: C 3, D 2, n2 1 -> 1/sqrt(6*5) */
    {
        double c[] = {1, 1, 2, 3};
        float s[] = {1, 4, 3, 2};
        int ks[] = {1, 4};
        tlp_task_eval e = eval_of(c, s, 4, ks, 2, "cost ties");
        double lat[] = {1, 1};
        expect_lat(&e, lat, 2, "cost ties");
        is_dbl(e.pair_acc, 0.6, TOL, "cost ties: pair_acc 3/5");
        is_dbl(e.tau, 1 / sqrt(30.0), TOL, "cost ties: tau 1/sqrt(30)");
    }
    /* ties in both: score groups {0,1,2} {3,4}, cost groups {0,1} {2,3}; (0,1) tied in both.
     * n0 10, n1 4, n2 2, n3 1; right: (0,3) (0,4) (1,3) (1,4) (2,4) = 5, D 0;
     * half: (0,2) (1,2) (3,4); pair_acc (5 + 1.5)/8; tau-b 5/sqrt(6*8) */
    {
        double c[] = {1, 1, 2, 2, 3};
        float s[] = {5, 5, 5, 3, 3};
        int ks[] = {1, 3, 5};
        tlp_task_eval e = eval_of(c, s, 5, ks, 3, "joint ties");
        double lat[] = {1, 1, 1};
        expect_lat(&e, lat, 3, "joint ties");
        is_dbl(e.pair_acc, 0.8125, TOL, "joint ties: pair_acc 6.5/8");
        is_dbl(e.tau, 5 / sqrt(48.0), TOL, "joint ties: tau 5/sqrt(48)");
    }
    /* every cost tied: no pair counts */
    {
        double c[] = {2, 2, 2};
        float s[] = {1, 2, 3};
        int ks[] = {1};
        tlp_task_eval e = eval_of(c, s, 3, ks, 1, "all costs tied");
        is_dbl(e.best, 2, 0, "all costs tied: best");
        expect_nan(e.pair_acc, "all costs tied: pair_acc NaN");
        expect_nan(e.tau, "all costs tied: tau NaN");
    }
    /* a failed record (1e10) predicted best: order 1, 0, 2, 3 -> costs 1e10 .002 .001 .003.
     * By cost: 2 (s .5), 0 (s .9), 3 (s .1), 1 (s 2).  Right: (2,3) (0,3); wrong: (2,0) (2,1)
     * (0,1) (3,1) -> pair_acc 2/6, tau (2-4)/6 */
    {
        double c[] = {0.002, 1e10, 0.001, 0.003};
        float s[] = {0.9f, 2.0f, 0.5f, 0.1f};
        int ks[] = {1, 2, 3, 4};
        tlp_task_eval e = eval_of(c, s, 4, ks, 4, "failed record");
        is_dbl(e.best, 0.001, 0, "failed record: best is the real minimum");
        double lat[] = {1e10, 0.002, 0.001, 0.001};
        expect_lat(&e, lat, 4, "failed record");
        is_dbl(e.pair_acc, 1.0 / 3.0, TOL, "failed record: pair_acc 1/3");
        is_dbl(e.tau, -1.0 / 3.0, TOL, "failed record: tau -1/3");
    }
    /* k past n: lat is the minimum of all.  Order 2, 1, 0 -> costs 6 4 5.
     * By cost: 1 (s 2), 0 (s 1), 2 (s 3): (1,0) right, (1,2) (0,2) wrong */
    {
        double c[] = {5, 4, 6};
        float s[] = {1, 2, 3};
        int ks[] = {1, 10, 3, 2};
        tlp_task_eval e = eval_of(c, s, 3, ks, 4, "k > n");
        double lat[] = {6, 4, 4, 4};
        expect_lat(&e, lat, 4, "k > n");
        is_dbl(e.pair_acc, 1.0 / 3.0, TOL, "k > n: pair_acc 1/3");
        is_dbl(e.tau, -1.0 / 3.0, TOL, "k > n: tau -1/3");
    }
    /* one record */
    {
        double c[] = {7};
        float s[] = {0};
        int ks[] = {1, 5};
        tlp_task_eval e = eval_of(c, s, 1, ks, 2, "n 1");
        is_dbl(e.best, 7, 0, "n 1: best");
        double lat[] = {7, 7};
        expect_lat(&e, lat, 2, "n 1");
        expect_nan(e.pair_acc, "n 1: pair_acc NaN");
        expect_nan(e.tau, "n 1: tau NaN");
    }
    /* a NaN score ranks last (as -infinity): order 1, 0; the pair is wrong */
    {
        double c[] = {1, 2};
        float s[] = {NAN, 0};
        int ks[] = {1};
        tlp_task_eval e = eval_of(c, s, 2, ks, 1, "NaN score");
        is_dbl(e.lat_k[0], 2, 0, "NaN score: ranked last");
        is_dbl(e.pair_acc, 0, TOL, "NaN score: pair_acc 0");
        is_dbl(e.tau, -1, TOL, "NaN score: tau -1");
    }
    /* bad arguments */
    {
        double c[] = {1, 2};
        float s[] = {1, 2};
        int ks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k0[] = {0};
        tlp_task_eval e;
        is_int(tlp_eval_task(c, NULL, s, 0, ks, 1, &e), TLP_ARG, "n 0: ARG");
        expect_nan(e.best, "n 0: best NaN");
        is_int(tlp_eval_task(c, NULL, s, -3, ks, 1, &e), TLP_ARG, "n < 0: ARG");
        is_int(tlp_eval_task(c, NULL, s, 2, ks, 0, &e), TLP_ARG, "no k: ARG");
        is_int(tlp_eval_task(c, NULL, s, 2, ks, 9, &e), TLP_ARG, "9 ks: ARG");
        is_int(tlp_eval_task(c, NULL, s, 2, ks, 8, &e), TLP_OK, "8 ks: ok");
        is_int(tlp_eval_task(c, NULL, s, 2, k0, 1, &e), TLP_ARG, "k 0: ARG");
        is_int(tlp_eval_task(NULL, NULL, s, 2, ks, 1, &e), TLP_ARG, "NULL costs: ARG");
        is_int(tlp_eval_task(c, NULL, s, 2, ks, 1, NULL), TLP_ARG, "NULL out: ARG");
    }
}

/* ------------------------------------------------------------ naive */

typedef struct {
    double best, lat_k[8], pair_acc, tau;
} naive_eval;

static naive_eval naive(const double *c, const float *s, int n, const int *ks, int n_k)
{
    naive_eval r;
    r.best = INFINITY;
    for (int i = 0; i < n; i++) r.best = c[i] < r.best ? c[i] : r.best;
    for (int q = 0; q < n_k; q++) {
        r.lat_k[q] = INFINITY;
        for (int i = 0; i < n; i++) {
            int rank = 0; /* records before i in the predicted order */
            for (int j = 0; j < n; j++) rank += s[j] > s[i] || (s[j] == s[i] && j < i);
            if (rank < ks[q] && c[i] < r.lat_k[q]) r.lat_k[q] = c[i];
        }
    }
    int64_t conc = 0, disc = 0, tx = 0, ty = 0; /* tx: tied in score only; ty: in cost only */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double ds = (double)s[i] - (double)s[j], dc = c[i] - c[j];
            if (ds == 0 && dc == 0) continue;
            if (ds == 0) tx++;
            else if (dc == 0) ty++;
            else if ((ds > 0) == (dc < 0)) conc++;
            else disc++;
        }
    int64_t distinct_cost = conc + disc + tx, distinct_score = conc + disc + ty;
    r.pair_acc = distinct_cost ? ((double)conc + 0.5 * (double)tx) / (double)distinct_cost : NAN;
    r.tau = distinct_cost && distinct_score
                ? (double)(conc - disc) / sqrt((double)distinct_cost * (double)distinct_score)
                : NAN;
    return r;
}

static int same_or_both_nan(double a, double b, double tol) { return (isnan(a) && isnan(b)) || fabs(a - b) <= tol; }

static void test_random(void)
{
    tlp_rng rng;
    tlp_rng_seed(&rng, 20240601);
    enum { TRIALS = 400, MAXN = 400 };
    double *c = malloc(sizeof(double) * 4000);
    float *s = malloc(sizeof(float) * 4000);
    if (!c || !s) {
        ok(0, "out of memory");
        free(c);
        free(s);
        return;
    }
    int bad_lat = 0, bad_pair = 0, bad_tau = 0, bad_best = 0, bad_status = 0, nan_tau = 0;
    for (int t = 0; t < TRIALS + 1; t++) {
        int n = t < TRIALS ? 1 + (int)tlp_rng_below(&rng, MAXN) : 4000;
        /* few distinct values give many ties; sometimes continuous values */
        int sv = 1 + (int)tlp_rng_below(&rng, t % 3 == 0 ? 1000000 : 8);
        int cv = 1 + (int)tlp_rng_below(&rng, t % 5 == 0 ? 1000000 : 6);
        for (int i = 0; i < n; i++) {
            s[i] = (float)tlp_rng_below(&rng, (uint64_t)sv) * 0.25f - 1.0f;
            c[i] = tlp_rng_uniform(&rng) < 0.05 ? 1e10 : 1e-4 * (double)(1 + tlp_rng_below(&rng, (uint64_t)cv));
        }
        int ks[8], n_k = 1 + (int)tlp_rng_below(&rng, 8);
        for (int q = 0; q < n_k; q++) ks[q] = 1 + (int)tlp_rng_below(&rng, (uint64_t)n + 5);
        tlp_task_eval e;
        if (tlp_eval_task(c, NULL, s, n, ks, n_k, &e) != TLP_OK) {
            bad_status++;
            continue;
        }
        naive_eval r = naive(c, s, n, ks, n_k);
        nan_tau += isnan(r.tau);
        if (e.best != r.best) bad_best++;
        for (int q = 0; q < n_k; q++)
            if (e.lat_k[q] != r.lat_k[q]) {
                if (!bad_lat++) printf("# trial %d n %d k %d: lat %.17g, naive %.17g\n", t, n, ks[q], e.lat_k[q], r.lat_k[q]);
            }
        if (!same_or_both_nan(e.pair_acc, r.pair_acc, 1e-12)) {
            if (!bad_pair++) printf("# trial %d n %d: pair_acc %.17g, naive %.17g\n", t, n, e.pair_acc, r.pair_acc);
        }
        if (!same_or_both_nan(e.tau, r.tau, 1e-12)) {
            if (!bad_tau++) printf("# trial %d n %d: tau %.17g, naive %.17g\n", t, n, e.tau, r.tau);
        }
    }
    printf("# %d random tasks (n up to %d, one of 4000), %d with tau undefined\n", TRIALS + 1, MAXN, nan_tau);
    is_int(bad_status, 0, "random: every call succeeds");
    is_int(bad_best, 0, "random: best equals the naive minimum");
    is_int(bad_lat, 0, "random: lat_k equals the naive top-k minimum");
    is_int(bad_pair, 0, "random: pair_acc equals the naive O(n^2) count");
    is_int(bad_tau, 0, "random: tau-b equals the naive O(n^2) count");
    free(c);
    free(s);
}

/* The random order's figures against every order of small tasks, and the
 * failed picks by hand. */
static int next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1]) i--;
    if (i < 0) return 0;
    int j = n - 1;
    while (a[j] <= a[i]) j--;
    int t = a[i];
    a[i] = a[j], a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) t = a[l], a[l] = a[r], a[r] = t;
    return 1;
}

static void test_random_order(void)
{
    tlp_rng rng;
    tlp_rng_seed(&rng, 99);
    int bad = 0, trials = 0;
    for (int t = 0; t < 300; t++) {
        int n = 1 + (int)tlp_rng_below(&rng, 6), perm[6];
        double c[6];
        uint8_t fl[6];
        float s[6];
        for (int i = 0; i < n; i++) {
            fl[i] = tlp_rng_uniform(&rng) < 0.3;
            c[i] = fl[i] ? 1e10 : 1e-4 * (double)(1 + tlp_rng_below(&rng, 4)); /* ties */
            s[i] = (float)i;
            perm[i] = i;
        }
        int ks[3] = {1, 2, 4};
        tlp_task_eval e;
        if (tlp_eval_task(c, fl, s, n, ks, 3, &e) != TLP_OK) {
            bad++;
            continue;
        }
        /* every order, equally likely */
        double lat[3] = {0}, top[3] = {0}, fail[3] = {0}, orders = 0;
        int nf = 0;
        for (int i = 0; i < n; i++) nf += fl[i];
        do {
            for (int q = 0; q < 3; q++) {
                int k = ks[q] < n ? ks[q] : n, all = 1;
                double m = INFINITY;
                for (int i = 0; i < k; i++) m = fmin(m, c[perm[i]]), all &= fl[perm[i]];
                lat[q] += m;
                top[q] += e.best / m;
                fail[q] += all && nf < n;
            }
            orders++;
        } while (next_perm(perm, n));
        for (int q = 0; q < 3; q++) {
            int wrong = fabs(e.rand_lat_k[q] - lat[q] / orders) > 1e-9 * fabs(lat[q] / orders) ||
                        fabs(e.rand_top_k[q] - top[q] / orders) > 1e-12 ||
                        fabs(e.rand_failed_k[q] - fail[q] / orders) > 1e-12;
            if (wrong && !bad++)
                printf("# n %d k %d: lat %g/%g top %g/%g fail %g/%g\n", n, ks[q], e.rand_lat_k[q], lat[q] / orders,
                       e.rand_top_k[q], top[q] / orders, e.rand_failed_k[q], fail[q] / orders);
        }
        trials++;
    }
    is_int(bad, 0, "random order: exact expectations equal the average over every order (300 small tasks)");
    printf("#   %d tasks\n", trials);

    /* failed picks by hand: records 0 and 1 failed; scores put 1 first, then 0, then 2 */
    double c[] = {1e10, 1e10, 2e-4, 1e-4};
    uint8_t fl[] = {1, 1, 0, 0};
    float s[] = {3, 4, 2, 1};
    int ks[] = {1, 2, 3};
    tlp_task_eval e;
    is_int(tlp_eval_task(c, fl, s, 4, ks, 3, &e), TLP_OK, "failed picks: ok");
    is_int(e.n_failed, 2, "failed picks: 2 failed records");
    ok(e.failed_k[0] && e.failed_k[1] && !e.failed_k[2], "failed picks: top-1 and top-2 failed, top-3 did not");
    is_dbl(e.rand_failed_k[0], 0.5, 1e-15, "random: a failed top-1 pick half the time");
    is_dbl(e.rand_failed_k[1], 1.0 / 6, 1e-15, "random: both of 2 picks failed, 1 in 6");
    is_dbl(e.rand_failed_k[2], 0, 0, "random: 3 picks cannot all fail");
    is_dbl(e.rand_top_k[0], (1 + 0.5 + 2 * (1e-4 / 1e10)) / 4, 1e-15, "random top-1: mean of best/cost");
    uint8_t all[] = {1, 1};
    double c2[] = {1e10, 1e10};
    is_int(tlp_eval_task(c2, all, s, 2, ks, 1, &e), TLP_OK, "all failed: ok");
    ok(!e.failed_k[0] && e.rand_failed_k[0] == 0, "all failed: no valid record, so no failed pick");

    /* sums over tasks: mean, pooled, random, failed picks */
    tlp_eval_sum sum;
    int k1[] = {1};
    tlp_eval_sum_init(&sum, k1, 1);
    double ca[] = {1, 2}, cb[] = {4, 2};
    float sa[] = {1, 2}, sb[] = {1, 2};
    tlp_task_eval ea, eb;
    tlp_eval_task(ca, NULL, sa, 2, k1, 1, &ea); /* picks cost 2: top-1 0.5 */
    tlp_eval_task(cb, NULL, sb, 2, k1, 1, &eb); /* picks cost 2: top-1 1 */
    tlp_eval_sum_add(&sum, &ea, 1);
    tlp_eval_sum_add(&sum, &eb, 3);
    tlp_eval_k r = tlp_eval_sum_k(&sum, 0);
    is_int(sum.tasks, 2, "sum: 2 tasks");
    is_dbl(r.mean, 0.75, 1e-15, "sum: mean of 0.5 and 1");
    is_dbl(r.pooled, (1 * 1 + 3 * 2.0) / (1 * 2 + 3 * 2.0), 1e-15, "sum: pooled sum(w best) / sum(w lat)");
    is_dbl(r.rand_mean, ((1 + 0.5) / 2 + (0.5 + 1) / 2) / 2, 1e-15, "sum: random mean");
    is_dbl(r.rand_pooled, (1 * 1 + 3 * 2.0) / (1 * 1.5 + 3 * 3.0), 1e-15, "sum: random pooled");
    is_int(r.failed, 0, "sum: no failed pick");
    is_dbl(tlp_eval_sum_pair_acc(&sum), 0.5, 1e-15, "sum: mean pair accuracy (0 and 1)");
    double cf[] = {1e10, 1e10};
    uint8_t ff[] = {1, 1};
    tlp_task_eval ef;
    tlp_eval_task(cf, ff, sa, 2, k1, 1, &ef);
    tlp_eval_sum_add(&sum, &ef, 5);
    is_int(sum.tasks, 2, "sum: a task without a valid measurement is left out");
    is_int(sum.no_valid, 1, "sum: and counted");
    is_dbl(tlp_eval_sum_k(&sum, 0).pooled, r.pooled, 0, "sum: the pooled figure is unchanged by it");
    tlp_eval_sum_init(&sum, k1, 1);
    ok(isnan(tlp_eval_sum_k(&sum, 0).mean) && isnan(tlp_eval_sum_pair_acc(&sum)), "no task: NaN");
    ok(isnan(tlp_eval_sum_k(&sum, 3).mean), "a k that is not there: NaN");
}

/* Replay: trials to come near the best, in the log's order and the model's. */
static void test_replay(void)
{
    /* costs in log order; record 4 failed; the best valid is 1.0 (record 5) */
    double c[] = {5, 3, 1.04, 2, 1e10, 1.0};
    uint8_t fl[] = {0, 0, 0, 0, 1, 0};
    float s[] = {0, 1, 2, 3, 9, 5}; /* model order: 4 (failed), 5, 3, 2, 1, 0 */
    tlp_replay r;
    is_int(tlp_replay_task(c, fl, s, 6, 0.05, &r), TLP_OK, "replay: ok");
    is_int(r.log_within, 3, "log order: 1.04 is within 5% at trial 3");
    is_int(r.log_best, 6, "log order: the best at trial 6");
    is_int(r.model_within, 2, "model order: the failed pick costs a trial, the best comes second");
    is_int(r.model_best, 2, "model order: the best itself at trial 2");
    is_dbl(r.best, 1.0, 0, "the best valid cost");
    is_int(tlp_replay_task(c, fl, s, 6, 0, &r), TLP_OK, "within 0%");
    is_int(r.log_within, 6, "within 0% is the best itself");
    double cf[] = {1e10, 1e10};
    uint8_t ff[] = {1, 1};
    is_int(tlp_replay_task(cf, ff, s, 2, 0.05, &r), TLP_EMPTY, "every run failed: nothing to find");
    is_int(tlp_replay_task(c, fl, s, 0, 0.05, &r), TLP_ARG, "no candidates: ARG");
    /* ties in score keep the log's order */
    float tie[] = {1, 1, 1, 1, 1, 1};
    tlp_replay_task(c, fl, tie, 6, 0.05, &r);
    ok(r.model_within == r.log_within && r.model_best == r.log_best, "equal scores: the model's order is the log's");
}

int main(void)
{
    test_replay();
    test_hand();
    test_random();
    test_random_order();
    return tap_done();
}
