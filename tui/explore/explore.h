/* explore.h: the explorer's one header: its state (app_t, family_t), its
 * actions (actions.def) and views (view_ops), and who does what.
 *
 * A key goes from the loop (explore.c; script.c in tests) to app_key
 * (commands.c), which looks it up in ACTIONS and calls the action's function
 * (nav.c, find.c, models.c, files.c); what an action means in a view (the
 * row a movement moves, Enter, back, search) is asked of the view's ops
 * (view_*.c, through VIEW_OPS).  The files call downwards only: the actions
 * call the views and the state (app.c), the views call the drawing helpers
 * (draw.c) and the state; only the loop, which owns the jobs, is called from
 * below (a model loaded starts its predictions). */
#ifndef TLPX_EXPLORE_H
#define TLPX_EXPLORE_H

#include "../cli/cli.h"
#include "tlp.h"

#include <curses.h>

typedef enum {
#define X(id, fn, k1, k2, cmd, args, help) ACT_##id,
#include "actions.def"
#undef X
    ACT_COUNT
} action_id;

typedef struct {
    const char *name; /* ACT id as text */
    int key, key2;
    const char *cmd, *args, *help;
} action_t;

/* actions.c: actions.def as a table, for the keys, the commands, the help
 * view and completion (commands.c has the functions). */
extern const action_t ACTIONS[ACT_COUNT];

typedef enum { VIEW_TASKS, VIEW_CANDS, VIEW_TOKENS, VIEW_PLOT, VIEW_REPLAY, VIEW_HELP, VIEW_WARNINGS, VIEW_OPS_PANEL, VIEW_COUNT } view_id;

/* A head choice: one of the model's heads by index, or HEAD_OWN: each task
 * by its own hardware's head, as `tlpx eval` scores (head 0 for hardware
 * the model has no head of). */
#define HEAD_OWN TLP_MAX_HEADS

/* One model family (cpu or gpu): its model, scores per head, active head. */
typedef struct {
    tlp_model *model;
    char path[512];
    int head, prev_head, cmp_head; /* head choices; prev_head, cmp_head -1: none */
    float *scores[TLP_MAX_HEADS];  /* per record, NAN outside the family */
    tlp_job *predict;              /* computing scores in the background */
    int dirty;                     /* trained, not saved */
    int unmatched;                 /* hardware of the data with no head (scored by head 0) */
    tlp_train_meta meta;           /* how the model was made (its file's, or the training's): :save keeps it */
    tlp_train_state state;         /* and what --resume goes on from (Adam, the ring), when there is one */
    unsigned char *done, *taking;  /* per task: scored; being scored by predict */
    int phase;                     /* scoring goes in screen order: the task in view, the rows shown, the rest */
    char cache[4200];              /* the score cache's file for this model and data ("" : none) */
    float *was;                    /* per record, its score before the last training (NULL: none) */
} family_t;

/* Per-task figures under the active head. */
typedef struct {
    double top1, top5; /* NAN until scores exist */
    double rand1;      /* the random order's top-1 (NAN with top1) */
    int failed1;       /* the head's top-1 pick failed */
    int in_sample;     /* the scoring head was trained on the task */
    uint64_t hash;     /* tlp_workload_hash of its key (app_hash_tasks) */
    double cmp_top1;   /* compare mode: the compare head's top-1 (NAN: none) */
    double agree;      /* and Kendall's tau-b between the two heads' scores of the task */
} task_score;

typedef struct {
    tlp_dataset *ds;
    char data_desc[256];
    family_t fam[TLP_MODE_COUNT];
    tlp_mode mode;          /* the family in use */
    task_score *tscore;     /* [n_tasks] for the active heads */
    size_t n_tscore;        /* the tasks it has room and figures for */
    char follow[4096];      /* --follow: the log followed ("" none), where it was left, what it brought */
    tlp_follow fw;
    size_t follow_new;
    int follow_failed;
    tlp_eval_sum eval;      /* top-1/top-5 over the tasks of the family in use */
    char eval_hw[64];         /* the hardware whose tasks a->eval covers ("" = all of the mode) */
    int eval_in_sample;       /* of a->eval's tasks, those the model was trained on */
    int embedded;             /* opened without --model: the embedded models score */
    int exact_padding;        /* --exact-padding: every model computes every padding row (TLP's) */
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
    int help_top, warn_top, ops_top;
    char search[128];
    /* training */
    tlp_job *train;
    tlp_samples *samples;
    tlp_mode train_mode;
    int train_fine;         /* the training started from the model in use */
    char train_note[512];   /* the :train command, kept in the model's meta */
    tlp_progress prog;
    /* the bottom line */
    char msg[512];
    int prompt_active;
    int quit;
    int utf8, color;
    int script;             /* scripted run: no real terminal */
} app_t;

/* ------------------------------------------------------------ views */

/* What a view is, for the frame and the actions (tig's view_ops): each
 * view_*.c defines its own. */
enum {
    VIEW_OF_TASK = 1, /* shows the selected task: opening it selects one, and without one the task list shows */
    VIEW_OF_CAND = 2, /* shows the task's candidates (or one): s sorts them, :export writes the selected one */
    VIEW_GRAPH = 4,   /* a graph of the task: no side scroll; back returns where the first graph came from */
    VIEW_ASIDE = 8,   /* help and warnings: over any view, back returns to it; not in Tab's round */
};
typedef struct {
    const char *name; /* in the title, and :view NAME */
    unsigned flags;
    void (*draw)(app_t *a, int top, int rows);  /* the body: rows lines from line top */
    int *(*cursor)(app_t *a, int *n);           /* the row the movement keys move, and the number of rows; NULL: none */
    void (*open)(app_t *a);                     /* on opening (NULL: nothing) */
    view_id (*enter)(app_t *a);                 /* Enter: the view to open (a->view: none); NULL: none */
    view_id (*back)(const app_t *a);            /* q: the view to return to; VIEW_COUNT: quit */
    int (*matches)(const app_t *a, int row);    /* search: row holds a->search; NULL: nothing to search */
} view_ops;

/* view_tasks.c, view_cands.c, view_tokens.c, view_graph.c, view_text.c */
extern const view_ops TASKS_VIEW, CANDS_VIEW, TOKENS_VIEW, PLOT_VIEW, REPLAY_VIEW, HELP_VIEW, WARNINGS_VIEW, OPS_VIEW;

/* views.c: the frame around the view's body */
extern const view_ops *const VIEW_OPS[VIEW_COUNT]; /* by view_id */
void views_draw(app_t *a);
int views_body_rows(void);

/* draw.c: what the views draw with.  tui_draw_put prints clipped to the
 * screen; a row from column 0 is shifted left by the view's side scroll
 * (tui_draw_shift, set by the frame around the body). */
void tui_draw_shift(int cols);
void tui_draw_put(int y, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The first cols characters of rows drawn from column 0 stay put when the
 * view scrolls sideways (0: none). */
void tui_draw_freeze(int cols);
void tui_draw_bar(const app_t *a, int y, const char *text, int selected); /* a whole row in reverse video */
void tui_draw_tone_on(const app_t *a, int pair, int fallback);  /* colour pair, else the attribute */
void tui_draw_tone_off(const app_t *a, int pair, int fallback);
void tui_draw_sparkline(const app_t *a, int y, int x, int w, const float *v, int n);

/* ------------------------------------------------------------ actions */

/* nav.c, find.c, models.c, files.c: one function per action of actions.def */
#define X(id, fn, k1, k2, cmd, args, help) void fn(app_t *a, const char *arg);
#include "actions.def"
#undef X

/* commands.c: keys and :commands to actions */
void app_key(app_t *a, int key);
void app_command(app_t *a, const char *line);
void app_do(app_t *a, action_id act, const char *arg);

/* ------------------------------------------------------------ state */

/* app.c: the state, without a terminal */
/* The state of the explorer on the DATA of d and n_models models: the data
 * loaded, the task list sorted, each model loaded and its predictions
 * started (exact_padding: every model computes every padding row, TLP's
 * way).  0, or -1 after printing why.  Release with app_close (also after
 * -1). */
int app_open(app_t *a, const cli_data_opts *d, const char *const *models, int n_models, int exact_padding,
             const char *follow);
/* follow (may be NULL): a tuning log a running search appends to (--follow),
 * read at the opening (waiting for its first record) and by
 * app_follow_poll: its new records taken when no job reads the data (1
 * when some came: the tasks they went to are scored again). */
int app_follow_poll(app_t *a);
/* Room and figures for the tasks the data gained (0, or -1 out of memory). */
int app_grow_tasks(app_t *a);
void app_close(app_t *a); /* cancels the jobs, frees everything */
void app_message(app_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
family_t *app_fam(app_t *a);                   /* the family in use */
int app_steps(const app_t *a, tlp_mode m);     /* the crop of mode m's model (TLP's without one) */
void app_free_scores(family_t *f);
void app_compute_scores(app_t *a);             /* per-task top-k and the status figures */
void app_sort_tasks(app_t *a);                 /* sort and filter the task rows */
long app_task_in_view(const app_t *a);         /* the selected task, else the one under the cursor, else -1 */
/* The status line as it fits in cols columns (views.c): its parts dropped
 * in a fixed order, the least needed first. */
void views_status_text(app_t *a, int cols, char *s, size_t cap);
/* The man page's KEYS entries, from actions.def (view_text.c). */
void explore_man_keys(FILE *f);
/* A moment of the opening, on stderr with TLPX_TIMING (bench/tui.sh). */
void app_timeline(const char *what);
/* The score cache on disk (cache.c): its file for m and ds (0, or -1 when
 * there is no cache directory); H heads of n records saved, or loaded into
 * scores (0, or -1 for a miss: absent, damaged, another shape). */
int cache_path(const tlp_model *m, const tlp_dataset *ds, char *path, size_t cap);
void cache_save(const char *path, int H, size_t n, float *const *scores);
int cache_load(const char *path, int H, size_t n, float **scores);
/* Each task's workload hash, once (at opening and after :open). */
void app_hash_tasks(app_t *a);
/* Each record's score as the task list shows it (family md's, each task by
 * the head in use): a new array, NULL without scores. */
float *app_scores_in_use(app_t *a, tlp_mode md);
/* Each family of the data without a model gets its embedded one
 * (CLI_EMBEDDED_MODELS; when the explorer was opened without --model, and
 * again after :open), said on say (NULL: on the message line only). */
void app_embedded_models(app_t *a, FILE *say);
/* The head index that scores task tk under choice (HEAD_OWN or an index). */
int app_head(const family_t *f, int choice, const tlp_task *tk);
/* "own" for HEAD_OWN, else the head's name. */
const char *app_head_name(const family_t *f, int choice);
/* The scores task tk's records have under choice (its family's), per
 * record of the data; NULL without a model or before they are computed. */
const float *app_task_scores(app_t *a, int choice, const tlp_task *tk);
void app_sort_cands(app_t *a);
/* ranks[i] of the task's i-th record: measured (scores NULL) or by scores */
void app_rank_of(app_t *a, const tlp_task *tk, const float *scores, int *ranks);
#define APP_N_TASK_SORTS 6
extern const char *const APP_TASK_SORTS[APP_N_TASK_SORTS]; /* the task list's sort keys */
void app_rank_task_now(app_t *a);
void app_load_task(app_t *a, long t);
void app_load_record(app_t *a);
int app_load_model(app_t *a, const char *path); /* 0, or -1 with the reason in a->msg */
void app_describe_data(app_t *a);

/* explore.c: the loop and the jobs */
int cmd_explore(int argc, char **argv);
int app_busy(const app_t *a);
void app_poll_jobs(app_t *a);                  /* take what the jobs have finished */
void app_wait_jobs(app_t *a);                  /* until no job runs (scripts, tests) */
void app_start_predict(app_t *a, tlp_mode m);  /* every head's scores, in the background */
void app_stop_predict(family_t *f);            /* cancel the family's scoring and wait for it */
void app_stop_jobs(app_t *a);                  /* cancel every job and wait for them */
/* Train with o on the data in the background: from the model in use unless
 * fresh.  Says what it started, or why not, in a->msg. */
void app_start_train(app_t *a, tlp_train_opts *o, int fresh);

/* prompt.c */
void prompt_init(app_t *a);
void prompt_open(app_t *a);
void prompt_insert(const char *text);
char *prompt_key(app_t *a, int key); /* the line this key entered (caller frees), else NULL */
void prompt_draw(app_t *a);
void prompt_done(void);

/* script.c: the explorer without a terminal */
int script_run(app_t *a, const char *path, int w, int h); /* 0, 1 (no file, no screen), 2 (a bad line) */
/* A curses screen of w x h drawn into /dev/null, in ASCII, and the prompt
 * set up on it: what a script runs on, and tests.  0, or -1 after saying
 * why.  script_end ends it. */
int script_begin(app_t *a, int w, int h);
void script_end(void);

#endif
