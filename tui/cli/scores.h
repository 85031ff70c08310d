/* scores.h: what eval, predict and replay share: MODEL DATA... parsed and
 * loaded (a session), and the scores of each task, computed once per head of
 * the model or read from a --scores TSV. */
#ifndef TLPX_SCORES_H
#define TLPX_SCORES_H

#include "opts.h"

/* Scores of every record under the heads the tasks need: all of them in one
 * pass over the records at the first call (the trunk computed once). */
typedef struct {
    float *scores[TLP_MAX_HEADS];
    int quiet;
    int forced; /* --head as an index, -1 without: every task scored by it */
} cli_score_cache;

/* The common front of eval, predict and replay: MODEL DATA... [--head HW] ... */
typedef struct {
    const cli_cmd *cmd;
    cli_data_opts data;
    const char *model_path, *head, *scores_path;
    int per_task, by_op, tsv, threads, exact_padding;
    double within;       /* replay: how near the best counts, as a fraction */
    int ks[8], n_k;
    /* what cli_session_open loads */
    tlp_model *m;        /* NULL with --scores */
    tlp_train_meta meta;
    tlp_dataset *ds;
    cli_score_cache cache;
} cli_session;

/* Parse the arguments, load the model and the data, resolve --head.  -1 to
 * go on (then cli_session_close frees it), else the exit status (everything
 * is freed then). */
int cli_session_open(int argc, char **argv, cli_session *a, const cli_cmd *cmd);
void cli_session_close(cli_session *a);

/* A model file, or NULL after printing why; caller frees with tlp_model_free. */
tlp_model *cli_load_model(const char *path, tlp_train_meta *meta, tlp_train_state *state);
/* The head that scores task t: forced (>= 0), or the head of the task's
 * hardware (by name, else by its target: tlp_model_head_for), else 0. */
int cli_head_for(const tlp_model *m, const tlp_task *t, int forced);
/* The hardware of ds (of m's mode) that no head of m matches, so head 0
 * scores it: their names joined by ", " into buf; how many. */
int cli_heads_unmatched(const tlp_model *m, const tlp_dataset *ds, char *buf, size_t cap);
/* The scores of task tk's head (cli_head_for), per record of ds: borrowed
 * from the cache, NULL after printing why. */
const float *cli_scores_for(tlp_model *m, const tlp_dataset *ds, cli_score_cache *c, const tlp_task *tk);
/* Scores from a TSV (task, hardware, file:line, cost, score[, ...]; a header
 * line is skipped) for the records of ds: scores[i] for record i, NAN where
 * the file has none.  Returns 0, or -1 after printing file:line: reason. */
int cli_read_scores(const char *path, const tlp_dataset *ds, float *scores);

#endif
