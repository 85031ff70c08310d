/* cmd_predict.c: `tlpx predict`: a TSV of every record's predicted score and
 * its rank within the task (the columns eval --scores and replay --scores
 * read back). */
#include "cli.h"
#include "scores.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt PREDICT_OPTS[] = {
    CLI_OPT_HEAD("score"),
    CLI_OPT_EXACT_PADDING("scores"),
    CLI_OPT_THREADS("scores"),
    {NULL, NULL, NULL, NULL},
};

const cli_cmd PREDICT_CMD = {
    "predict", "MODEL DATA... [OPTIONS]",
    "Prints a TSV: task hardware record measured_cost predicted_score predicted_rank\n"
    "(record = file:line; rank within the task, 1 = predicted fastest).",
    PREDICT_OPTS, 1};

typedef struct {
    float score;
    uint32_t pos; /* position within the task */
} ranked_rec;

static int by_score_desc(const void *x, const void *y)
{
    const ranked_rec *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int cmd_predict(int argc, char **argv)
{
    cli_session a;
    memset(&a, 0, sizeof a);
    int rc = cli_session_open(argc, argv, &a, &PREDICT_CMD);
    if (rc >= 0) return rc;
    rc = EXIT_FAIL;
    tlp_model *m = a.m;
    tlp_dataset *ds = a.ds;
    const tlp_model_config *c = tlp_model_config_of(m);
    printf("task\thardware\trecord\tmeasured_cost\tpredicted_score\tpredicted_rank\n");
    size_t rows = 0;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        if (tk->mode != c->mode) continue;
        const float *sc = cli_scores_for(m, ds, &a.cache, tk);
        if (!sc) goto done;
        ranked_rec *r = malloc(sizeof *r * (tk->n_records ? tk->n_records : 1));
        uint32_t *rank = malloc(sizeof *rank * (tk->n_records ? tk->n_records : 1));
        if (!r || !rank) {
            free(r), free(rank);
            goto done;
        }
        for (uint32_t k = 0; k < tk->n_records; k++) r[k] = (ranked_rec){sc[tk->records[k]], k};
        qsort(r, tk->n_records, sizeof *r, by_score_desc);
        for (uint32_t k = 0; k < tk->n_records; k++) rank[r[k].pos] = k + 1;
        for (uint32_t k = 0; k < tk->n_records; k++) {
            const tlp_rec *rec = tlp_dataset_rec(ds, tk->records[k]);
            printf("%s\t%s\t%s:%u\t%.9g\t%.9g\t%u\n", cli_esc(tk->workload_key), tk->hardware,
                   cli_esc(tlp_dataset_file(ds, rec->file)),
                   rec->line, rec->cost, (double)sc[tk->records[k]], rank[k]);
            rows++;
        }
        free(r), free(rank);
    }
    if (!rows) {
        fprintf(stderr, "tlpx: no %s records in DATA for this model\n", tlp_mode_name(c->mode));
        goto done;
    }
    rc = EXIT_OK;
done:
    cli_session_close(&a);
    return rc;
}
