/* cmd_eval.c: `tlpx eval`: how well a model (or a --scores TSV) ranks the
 * records of each task: top-k (mean, pooled, random, failed picks), pairwise
 * accuracy and Kendall's tau per head, and per operator with --by-op. */
#include "cli.h"
#include "scores.h"
#include "train_settings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt EVAL_OPTS[] = {
    CLI_OPT_HEAD("score"),
    {"--scores", NULL, "TSV", "score predictions from a file instead of a MODEL (tlpx predict's columns)"},
    {"--k", NULL, "K,K...", "the top-k figures (1,5; at most 8)"},
    {"--per-task", NULL, NULL, "a row per task"},
    {"--by-op", NULL, NULL, "the figures per operator too (the workload's name, or its DAG hash: conv2d_layer, #52c29cac)"},
    {"--tsv", NULL, NULL, "tab-separated figures for scripts (one row per head and figure; --by-op: head HW:OP)"},
    CLI_OPT_EXACT_PADDING("scores"),
    CLI_OPT_THREADS("scores"),
    {NULL, NULL, NULL, NULL},
};

const cli_cmd EVAL_CMD = {
    "eval", "MODEL DATA... [OPTIONS]",
    "How well MODEL ranks the records of each task (the top-k metric of the TLP paper,\n"
    "ASPLOS'23).  For each k: the mean over\n"
    "tasks of best/lat_k (lat_k: the best latency among the model's top k), the pooled\n"
    "score sum(w*best)/sum(w*lat_k) (TLP's; weights from --weights, else 1), and the\n"
    "failed picks: tasks whose top k all failed although a valid program exists.  The\n"
    "same figures for a random order (exact expectations) stand beside them, then the\n"
    "mean pairwise ranking accuracy and Kendall's tau.  Each head scores the tasks of\n"
    "its own hardware unless --head says otherwise.  With --scores TSV there is no\n"
    "MODEL: the scores are read from TSV (task, hardware, file:line, cost, score, as\n"
    "tlpx predict writes them; any other cost model can write the same) and every\n"
    "record of DATA must have one.",
    EVAL_OPTS, 1};

static void print_head(const cli_session *a, const char *head, const tlp_eval_sum *sum, size_t records,
                       size_t failed)
{
    if (a->tsv) {
        for (int k = 0; k < a->n_k; k++) {
            tlp_eval_k e = tlp_eval_sum_k(sum, k);
            printf("%s\t%d\t%zu\ttop-%d\t%.6f\t%.6f\t%d\t%.6f\t%.6f\t%.4f\n", head, sum->tasks, records, e.k, e.mean,
                   e.pooled, e.failed, e.rand_mean, e.rand_pooled, e.rand_failed);
        }
        printf("%s\t%d\t%zu\tpair-acc\t%.6f\t\t\t0.5\t\t\n", head, sum->tasks, records, tlp_eval_sum_pair_acc(sum));
        printf("%s\t%d\t%zu\ttau\t%.6f\t\t\t0\t\t\n", head, sum->tasks, records, tlp_eval_sum_tau(sum));
        return;
    }
    printf("head %s: %d tasks, %zu records (%zu failed)", head, sum->tasks, records, failed);
    if (sum->no_valid)
        printf("; %d task%s without a valid measurement left out", sum->no_valid, sum->no_valid == 1 ? "" : "s");
    printf("\n");
    printf("  %-7s %6s  %6s  %12s | random: %6s  %6s  %12s\n", "", "mean", "pooled", "failed picks", "mean", "pooled",
           "failed picks");
    for (int k = 0; k < a->n_k; k++) {
        tlp_eval_k e = tlp_eval_sum_k(sum, k);
        char lab[16];
        snprintf(lab, sizeof lab, "top-%d", e.k);
        printf("  %-7s %6.4f  %6.4f  %12d |         %6.4f  %6.4f  %12.1f\n", lab, e.mean, e.pooled, e.failed,
               e.rand_mean, e.rand_pooled, e.rand_failed);
    }
    printf("  %-7s %6.4f  %-6s  %12s |         %6.4f\n", "pair-acc", tlp_eval_sum_pair_acc(sum), "", "", 0.5);
    printf("  %-7s %6.4f  %-6s  %12s |         %6.4f\n", "tau", tlp_eval_sum_tau(sum), "", "", 0.0);
}


/* Score each task t with task_head[t] >= 0 under that head's scores and
 * print one report per head.  Returns whether any task was scored. */
typedef struct {
    const char *name;
    const float *scores; /* per record of the dataset */
} eval_head;

/* Tasks grouped by operator: the sums of each (eval --by-op). */
typedef struct {
    size_t n;
    const char **name; /* a task summary of the operator: its first cli_op_len() bytes name it */
    tlp_eval_sum *sum;
    size_t *records, *failed; /* of the tasks scored, as print_head counts them */
} op_sums;

static void op_add(op_sums *o, const cli_session *a, const char *summary, const tlp_task_eval *ev, double weight)
{
    size_t len = cli_op_len(summary), k = 0;
    while (k < o->n && !(cli_op_len(o->name[k]) == len && !strncmp(o->name[k], summary, len))) k++;
    if (k == o->n) {
        o->name[o->n] = summary;
        o->records[o->n] = o->failed[o->n] = 0;
        tlp_eval_sum_init(&o->sum[o->n++], a->ks, a->n_k);
    }
    tlp_eval_sum_add(&o->sum[k], ev, weight);
    if (ev->n_failed < ev->n) {
        o->records[k] += (size_t)ev->n;
        o->failed[k] += (size_t)ev->n_failed;
    }
}

/* The figures per operator of one head's tasks: a row each, after the head's. */
static void print_ops(const cli_session *a, const char *head, const op_sums *o)
{
    if (!a->tsv) {
        printf("  by operator: %-24s %5s", "", "tasks");
        for (int k = 0; k < a->n_k; k++) printf("  top-%-3d", a->ks[k]);
        printf("  rand-1  failed  pair-acc\n");
    }
    for (size_t i = 0; i < o->n; i++) {
        const tlp_eval_sum *s = &o->sum[i];
        int len = (int)cli_op_len(o->name[i]);
        if (!s->tasks) continue;
        if (a->tsv) { /* the head's rows, named HW:OP */
            char label[TLP_HEAD_NAME + 64];
            snprintf(label, sizeof label, "%s:%.*s", head, len, o->name[i]);
            print_head(a, label, s, o->records[i], o->failed[i]);
            continue;
        }
        printf("  %-37.*s %5d", len, o->name[i], s->tasks);
        for (int k = 0; k < a->n_k; k++) printf("  %7.4f", tlp_eval_sum_k(s, k).mean);
        printf("  %6.4f  %6d  %8.4f\n", tlp_eval_sum_k(s, 0).rand_mean, tlp_eval_sum_k(s, 0).failed,
               tlp_eval_sum_pair_acc(s));
    }
}

static int report(cli_session *a, const eval_head *heads, int n_heads, const int *task_head)
{
    tlp_dataset *ds = a->ds;
    if (a->tsv)
        printf("head\ttasks\trecords\tmetric\tmean\tpooled\tfailed_picks\trandom_mean\trandom_pooled\trandom_failed_picks\n");
    if (a->per_task && !a->tsv) {
        printf("%-6s %-10s %-8s %6s %6s", "task", "hardware", "head", "n", "failed");
        for (int k = 0; k < a->n_k; k++) printf("  top-%-3d", a->ks[k]);
        printf("  rand-1  pair-acc     tau  workload   (! = a failed pick)\n");
    }
    int any = 0;
    size_t nt = tlp_dataset_n_tasks(ds);
    op_sums ops = {0, NULL, NULL, NULL, NULL};
    if (a->by_op) {
        ops.name = malloc(sizeof *ops.name * (nt ? nt : 1));
        ops.sum = malloc(sizeof *ops.sum * (nt ? nt : 1));
        ops.records = malloc(sizeof *ops.records * (nt ? nt : 1));
        ops.failed = malloc(sizeof *ops.failed * (nt ? nt : 1));
        if (!ops.name || !ops.sum || !ops.records || !ops.failed) {
            fprintf(stderr, "tlpx: out of memory\n");
            free(ops.name), free(ops.sum), free(ops.records), free(ops.failed);
            return 0;
        }
    }
    for (int h = 0; h < n_heads; h++) {
        tlp_eval_sum sum;
        tlp_eval_sum_init(&sum, a->ks, a->n_k);
        size_t records = 0, failed = 0;
        int in_sample = 0;
        ops.n = 0;
        for (size_t t = 0; t < nt; t++) {
            const tlp_task *tk = tlp_dataset_task(ds, t);
            if (task_head[t] != h || tk->n_records == 0) continue;
            tlp_task_eval ev;
            if (tlp_eval_dataset_task(ds, t, heads[h].scores, a->ks, a->n_k, &ev) != TLP_OK) continue;
            tlp_eval_sum_add(&sum, &ev, tk->weight);
            int seen = a->m && tlp_model_trained_on(a->m, h, tlp_workload_hash(tk->workload_key));
            in_sample += seen;
            if (a->by_op) op_add(&ops, a, tk->summary, &ev, tk->weight);
            if (ev.n_failed < ev.n) { /* the records of the tasks scored */
                records += (size_t)ev.n;
                failed += (size_t)ev.n_failed;
            }
            if (a->per_task && !a->tsv) {
                printf("%-6zu %-10s %-8s %6d %6d", t, tk->hardware, heads[h].name, ev.n, ev.n_failed);
                for (int k = 0; k < a->n_k; k++) printf("  %7.4f%s", ev.best / ev.lat_k[k], ev.failed_k[k] ? "!" : " ");
                printf(" %6.4f  %8.4f %7.4f  %s%s\n", ev.rand_top_k[0], ev.pair_acc, ev.tau, tk->summary,
                       seen ? "  [in-sample]" : "");
            }
        }
        if (!sum.tasks) continue;
        any = 1;
        print_head(a, heads[h].name, &sum, records, failed);
        if (in_sample && a->tsv)
            printf("%s\t%d\t%zu\tin-sample\t%d\t\t\t\t\t\n", heads[h].name, sum.tasks, records, in_sample);
        else if (in_sample) /* a model scored on what it learnt from looks better than it is */
            printf("  in-sample: %d of these %d tasks are the model's training tasks (their figures flatter it)\n",
                   in_sample, sum.tasks);
        if (a->by_op) print_ops(a, heads[h].name, &ops);
    }
    free(ops.name), free(ops.sum), free(ops.records), free(ops.failed);
    return any;
}

static int eval_scores_file(cli_session *a)
{
    tlp_dataset *ds = a->ds;
    size_t nr = tlp_dataset_n_records(ds), nt = tlp_dataset_n_tasks(ds);
    float *scores = malloc(sizeof(float) * (nr ? nr : 1));
    int *task_head = malloc(sizeof(int) * (nt ? nt : 1));
    eval_head heads[TLP_MAX_HEADS];
    int n_heads = 0, rc = EXIT_FAIL;
    size_t missing = 0, skipped = 0;
    if (!scores || !task_head || cli_read_scores(a->scores_path, ds, scores)) goto out;
    /* one report per hardware; a task with a record left unscored is left out */
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        task_head[t] = -1;
        size_t miss = 0;
        for (uint32_t k = 0; k < tk->n_records; k++) miss += isnan(scores[tk->records[k]]);
        if (miss) {
            missing += miss;
            skipped++;
            continue;
        }
        if (a->head && strcmp(a->head, tk->hardware) != 0) continue;
        int h = 0;
        while (h < n_heads && strcmp(heads[h].name, tk->hardware) != 0) h++;
        if (h == n_heads) {
            if (n_heads == TLP_MAX_HEADS) continue;
            heads[n_heads++] = (eval_head){tk->hardware, scores};
        }
        task_head[t] = h;
    }
    if (skipped)
        fprintf(stderr, "tlpx: %s: %zu records of DATA have no score; their %zu task%s left out\n", a->scores_path,
                missing, skipped, skipped == 1 ? " is" : "s are");
    if (!a->tsv) printf("scores %s\n", a->scores_path);
    if (!report(a, heads, n_heads, task_head)) {
        fprintf(stderr, "tlpx: no task of DATA%s%s has a score for every record in %s\n", a->head ? " on " : "",
                a->head ? a->head : "", a->scores_path);
        goto out;
    }
    rc = EXIT_OK;
out:
    free(scores);
    free(task_head);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    cli_session a;
    memset(&a, 0, sizeof a);
    int rc = cli_session_open(argc, argv, &a, &EVAL_CMD);
    if (rc >= 0) return rc;
    if (a.scores_path) {
        rc = eval_scores_file(&a);
        cli_session_close(&a);
        return rc;
    }
    rc = EXIT_FAIL;
    tlp_model *m = a.m;
    tlp_dataset *ds = a.ds;
    const tlp_model_config *c = tlp_model_config_of(m);
    size_t nt = tlp_dataset_n_tasks(ds);
    int *task_head = malloc(sizeof(int) * (nt ? nt : 1));
    eval_head heads[TLP_MAX_HEADS];
    if (!task_head) goto done;
    for (int h = 0; h < c->n_heads; h++) {
        heads[h].name = c->heads[h];
        heads[h].scores = NULL;
    }
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        task_head[t] = tk->mode != c->mode ? -1 : cli_head_for(m, tk, a.cache.forced);
        if (task_head[t] >= 0 && !heads[task_head[t]].scores &&
            !(heads[task_head[t]].scores = cli_scores_for(m, ds, &a.cache, tk)))
            goto done;
    }
    if (!a.tsv) {
        printf("model %s: %s, ", a.model_path, tlp_mode_name(c->mode));
        if (c->steps != tlp_mode_seq(c->mode)) printf("a crop of %d steps (--steps), ", c->steps); /* TLP's unsaid */
        printf("heads:");
        for (int h = 0; h < c->n_heads; h++) printf(" %s", c->heads[h]);
        int K = tlp_model_n_members(m);
        char enc[64];
        if (a.meta.n_nets > 1) { /* a training's ensemble */
            printf(" (recipe %s, %s tokens, one network each", a.meta.recipe[0] ? a.meta.recipe : "?",
                   cli_encodes(a.meta.nets, a.meta.n_nets, enc, sizeof enc));
            if (a.meta.nets_done < a.meta.n_nets)
                printf(", %d of %d finished (%d in the model)", a.meta.nets_done, a.meta.n_nets, K);
        } else if (K > 1) {
            printf(" (an ensemble of %d networks:", K);
            for (int k = 0; k < K; k++)
                printf("%s %s", k ? "," : "", tlp_encode_name(tlp_model_config_of(tlp_model_member(m, k))->encode));
            printf(" tokens; the first's recipe %s", a.meta.recipe[0] ? a.meta.recipe : "?");
        } else
            printf(" (recipe %s, %s tokens", a.meta.recipe[0] ? a.meta.recipe : "?", tlp_encode_name(c->encode));
        if (a.meta.best_epoch) printf(", epoch %d of %d kept", a.meta.best_epoch, a.meta.epochs);
        if (a.meta.average > 1) printf(", weights averaged over up to %d epochs", a.meta.average);
        printf(")\n");
        if (a.meta.note[0]) printf("made by: %s\n", cli_esc(a.meta.note));
    }
    if (!report(&a, heads, c->n_heads, task_head)) {
        fprintf(stderr, "tlpx: no %s tasks in DATA for this model's heads\n", tlp_mode_name(c->mode));
        goto done;
    }
    rc = EXIT_OK;
done:
    free(task_head);
    cli_session_close(&a);
    return rc;
}
