/* explore.h: the explorer's state, shared by its files (explore.c: loop,
 * actions and commands; views.c: drawing; prompt.c: readline; script.c:
 * scripted keys and screen dumps for tests). */
#ifndef TLPX_EXPLORE_H
#define TLPX_EXPLORE_H

#include "tlp.h"

#include <curses.h>

typedef enum {
#define X(id, k1, k2, cmd, args, help) ACT_##id,
#include "actions.def"
#undef X
    ACT_COUNT
} action_id;

typedef struct {
    const char *name; /* ACT id as text */
    int key, key2;
    const char *cmd, *args, *help;
} action_t;

extern const action_t ACTIONS[ACT_COUNT];

typedef enum { VIEW_TASKS, VIEW_CANDS, VIEW_TOKENS, VIEW_PLOT, VIEW_REPLAY, VIEW_HELP, VIEW_WARNINGS, VIEW_COUNT } view_id;
/* The views of one task drawn as a graph (they return where they came from). */
#define VIEW_IS_GRAPH(v) ((v) == VIEW_PLOT || (v) == VIEW_REPLAY)
/* The views that need a selected task. */
#define VIEW_OF_TASK(v) ((v) == VIEW_CANDS || (v) == VIEW_TOKENS || VIEW_IS_GRAPH(v))

/* One model family (cpu or gpu): its model, scores per head, active head. */
typedef struct {
    tlp_model *model;
    char path[512];
    int head, prev_head, cmp_head; /* cmp_head -1: no compare column */
    float *scores[TLP_MAX_HEADS];  /* per record, NAN outside the family */
    tlp_job *predict;              /* computing scores in the background */
    int dirty;                     /* trained, not saved */
} family_t;

/* Per-task figures under the active head. */
typedef struct {
    double top1, top5; /* NAN until scores exist */
} task_score;

typedef struct {
    tlp_dataset *ds;
    char data_desc[256];
    family_t fam[TLP_MODE_COUNT];
    tlp_mode mode;          /* the family in use */
    task_score *tscore;     /* [n_tasks] for the active heads */
    tlp_eval_sum eval;      /* top-1/top-5 over the tasks of the family in use */
    char eval_hw[64];         /* the hardware whose tasks a->eval covers ("" = all of the mode) */
    /* views */
    view_id view, back_to;  /* back_to: where help and warnings return */
    view_id plot_back;      /* where the plot and the replay return */
    double replay_within;   /* the replay view: how near the best counts (fraction) */
    int hscroll;            /* columns the text views are scrolled right */
    int confirm_quit;       /* the next key answers "quit anyway?" */
    int *task_rows;         /* visible tasks, sorted and filtered */
    int n_task_rows, task_cur, task_top, task_sort;
    char filter[128];
    long task;              /* selected task, -1 none */
    uint32_t *cand_rows;    /* positions within the task, sorted */
    int n_cand_rows, cand_cur, cand_top, cand_sort; /* 0 measured, 1 predicted */
    int *prev_rank;         /* predicted rank under the previous head, per position */
    int *rank, *mrank, *cmp_rank; /* predicted / measured / compare ranks, per position */
    tlp_record rec, best_rec; /* the token view's record and the diff partner */
    long rec_i, best_i;
    int tok_top, diff;
    int help_top, warn_top;
    char search[128];
    /* training */
    tlp_job *train;
    tlp_samples *samples;
    tlp_mode train_mode;
    int train_fine;         /* the training started from the model in use */
    tlp_progress prog;
    /* the bottom line */
    char msg[512];
    int prompt_active;
    int quit;
    int utf8, color;
    int script;             /* scripted run: no real terminal */
} app_t;

/* explore.c: the state, the loop and the jobs */
int cmd_explore(int argc, char **argv);
void app_message(app_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int app_busy(const app_t *a);
void app_poll_jobs(app_t *a);
family_t *app_fam(app_t *a);                   /* the family in use */
void app_free_scores(family_t *f);
void app_start_predict(app_t *a, tlp_mode m);  /* every head's scores, in the background */
void app_compute_scores(app_t *a);             /* per-task top-k and the status figures */
void app_sort_tasks(app_t *a);                 /* sort and filter the task rows */
const float *app_cur_scores(app_t *a, int head);
void app_sort_cands(app_t *a);
/* ranks[i] of the task's i-th record: measured (scores NULL) or by scores */
void app_rank_of(app_t *a, const tlp_task *tk, const float *scores, int *ranks);
#define APP_N_TASK_SORTS 5
extern const char *const APP_TASK_SORTS[APP_N_TASK_SORTS]; /* the task list's sort keys */
void app_rank_task_now(app_t *a);
void app_load_task(app_t *a, long t);
void app_load_record(app_t *a);
int app_load_model(app_t *a, const char *path); /* 0, or -1 with the reason in a->msg */
void app_describe_data(app_t *a);

/* commands.c: keys and :commands */
void app_key(app_t *a, int key);
void app_command(app_t *a, const char *line);
void app_do(app_t *a, action_id act, const char *arg);

/* views.c */
void views_draw(app_t *a);
int views_body_rows(void);

/* prompt.c */
void prompt_init(app_t *a);
void prompt_open(app_t *a);
void prompt_insert(const char *text);
void prompt_key(app_t *a, int key);
void prompt_draw(app_t *a);
void prompt_done(void);

/* script.c */
int script_run(app_t *a, const char *path, int w, int h);

#endif
