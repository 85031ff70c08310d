/* cmd_replay.c: `tlpx replay`: the trials a tuner would spend to come near
 * each task's best, measuring in the log's order against the model's (or a
 * --scores TSV's). */
#include "cli.h"
#include "scores.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt REPLAY_OPTS[] = {
    CLI_OPT_HEAD("order"),
    {"--within", NULL, "PCT", "how near the best counts as found, in percent (5)"},
    {"--scores", NULL, "TSV", "the order of predictions from a file instead of a MODEL (tlpx predict's columns)"},
    CLI_OPT_EXACT_PADDING("orders"),
    CLI_OPT_THREADS("orders"),
    {NULL, NULL, NULL, NULL},
};

const cli_cmd REPLAY_CMD = {
    "replay", "MODEL DATA... [OPTIONS]",
    "What the model would have saved a tuner.  A log is in the order Ansor measured\n"
    "its candidates; measuring them in the model's order instead, how many trials\n"
    "until a program within PCT% of the task's best valid cost is found, and the best\n"
    "itself (failed candidates count as trials)?  A TSV row per task: task hardware\n"
    "candidates log_trials model_trials gain log_trials_best model_trials_best workload\n"
    "(gain = log_trials / model_trials); then, as # lines, the median trials of each\n"
    "order and the geometric mean of the gains.",
    REPLAY_OPTS, 1};

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return a < b ? -1 : a > b;
}

static double median_int(int *v, size_t n)
{
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_int);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int cmd_replay(int argc, char **argv)
{
    cli_session a;
    memset(&a, 0, sizeof a);
    int rc = cli_session_open(argc, argv, &a, &REPLAY_CMD);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    tlp_model *m = a.m;
    tlp_dataset *ds = a.ds;
    const tlp_model_config *c = m ? tlp_model_config_of(m) : NULL;
    size_t nt = tlp_dataset_n_tasks(ds), tasks = 0, no_valid = 0;
    float *file_scores = NULL;
    int *lw = malloc(sizeof(int) * (nt ? nt : 1)), *mw = malloc(sizeof(int) * (nt ? nt : 1));
    int *lb = malloc(sizeof(int) * (nt ? nt : 1)), *mb = malloc(sizeof(int) * (nt ? nt : 1));
    double log_gain = 0;
    if (!lw || !mw || !lb || !mb) goto done;
    if (a.scores_path) { /* another cost model's predictions */
        file_scores = malloc(sizeof(float) * (tlp_dataset_n_records(ds) ? tlp_dataset_n_records(ds) : 1));
        if (!file_scores || cli_read_scores(a.scores_path, ds, file_scores)) goto done;
    }
    printf("task\thardware\tcandidates\tlog_trials\tmodel_trials\tgain\tlog_trials_best\tmodel_trials_best\tworkload\n");
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        if ((c && tk->mode != c->mode) || !tk->n_records) continue;
        if (file_scores && a.head && strcmp(a.head, tk->hardware)) continue;
        const float *sc = file_scores ? file_scores : cli_scores_for(m, ds, &a.cache, tk);
        if (!sc) goto done;
        int missing = 0;
        for (uint32_t k = 0; file_scores && k < tk->n_records; k++) missing |= isnan(sc[tk->records[k]]);
        if (missing) continue; /* a task the file does not score */
        tlp_replay r;
        tlp_status st = tlp_replay_dataset_task(ds, t, sc, a.within, &r);
        if (st == TLP_EMPTY) {
            no_valid++;
            continue;
        }
        if (st != TLP_OK) goto done;
        double gain = (double)r.log_within / r.model_within;
        printf("%s\t%s\t%d\t%d\t%d\t%.4g\t%d\t%d\t%s\n", cli_esc(tk->workload_key), tk->hardware, r.n, r.log_within,
               r.model_within, gain, r.log_best, r.model_best, tk->summary);
        lw[tasks] = r.log_within, mw[tasks] = r.model_within, lb[tasks] = r.log_best, mb[tasks] = r.model_best;
        log_gain += log(gain);
        tasks++;
    }
    if (!tasks) {
        fprintf(stderr, "tlpx: no task with a valid measurement%s in DATA\n", file_scores ? " and scores" : "");
        goto done;
    }
    printf("# %zu tasks%s; to within %g%% of the best: median trials log %.1f, model %.1f; "
           "geometric mean gain %.2fx\n",
           tasks, no_valid ? " (tasks whose every run failed left out)" : "", 100 * a.within,
           median_int(lw, tasks), median_int(mw, tasks), exp(log_gain / (double)tasks));
    printf("# to the best itself: median trials log %.1f, model %.1f\n", median_int(lb, tasks), median_int(mb, tasks));
    rc = EXIT_OK;
done:
    free(lw), free(mw), free(lb), free(mb), free(file_scores);
    cli_session_close(&a);
    return rc;
}

