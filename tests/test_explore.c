/* test_explore.c: the explorer's actions, one by one, without a terminal.
 *
 * The explorer is opened on two hardware folders of fixtures (hw-a, hw-b)
 * and the demo GPU model, on a curses screen drawn into /dev/null
 * (script_begin); each check calls an action's function of actions.def, or
 * goes through app_key / app_command as a key or a :command does, and looks
 * at the state it leaves: the view, the cursor, the rows, the message, the
 * files written.  The screens themselves are tests/tui.sh's. */
#include "../tui/explore/explore.h"
#include "../tui/cli/scores.h"
#include "nn/nn_int.h"
#include "tap.h"

#include <fcntl.h>
#include <math.h>

#include <poll.h>

#include <sys/stat.h>
#include <unistd.h>

static char fx[3][1024];

static const char *fixture(int i, const char *rel)
{
    const char *d = getenv("top_srcdir");
    snprintf(fx[i], sizeof fx[i], "%s/tests/fixtures/%s", d ? d : ".", rel);
    return fx[i];
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* The table itself: every action is reachable and says what it does; no key
 * or command means two things. */
static void table(void)
{
    int bad_help = 0, unreachable = 0, twice = 0;
    for (int i = 0; i < ACT_COUNT; i++) {
        const action_t *x = &ACTIONS[i];
        bad_help += !x->help || !x->help[0];
        unreachable += !x->key && !x->key2 && !x->cmd;
        for (int j = 0; j < i; j++) {
            const action_t *y = &ACTIONS[j];
            int k[2] = {x->key, x->key2}, l[2] = {y->key, y->key2};
            for (int p = 0; p < 2; p++)
                for (int q = 0; q < 2; q++) twice += k[p] && k[p] == l[q];
            twice += x->cmd && y->cmd && !strcmp(x->cmd, y->cmd);
        }
    }
    is_int(bad_help, 0, "every action has its help line");
    is_int(unreachable, 0, "every action has a key or a command");
    is_int(twice, 0, "no key and no command names two actions");
}

static void moving(app_t *a)
{
    int n = a->n_task_rows;
    ok(n >= 4, "the task list shows the fixtures' tasks");
    is_int(a->view, VIEW_TASKS, "the explorer opens on the task list");
    tui_nav_up(a, NULL);
    is_int(a->task_cur, 0, "up on the first row stays there");
    tui_nav_down(a, NULL);
    is_int(a->task_cur, 1, "down moves one row");
    app_key(a, 'j');
    is_int(a->task_cur, 2, "the key j is the same action");
    tui_nav_end(a, NULL);
    is_int(a->task_cur, n - 1, "end goes to the last row");
    tui_nav_down(a, NULL);
    is_int(a->task_cur, n - 1, "down on the last row stays there");
    tui_nav_home(a, NULL);
    is_int(a->task_cur, 0, "home goes to the first row");
    tui_nav_page_down(a, NULL);
    ok(a->task_cur > 1 || n <= 2, "page down moves more than a row");
    tui_nav_right(a, NULL);
    is_int(a->hscroll, 8, "right scrolls a wide view by 8 columns");
    tui_nav_left(a, NULL), tui_nav_left(a, NULL);
    is_int(a->hscroll, 0, "left never scrolls past the first column");
}

static void drilling(app_t *a)
{
    tui_nav_home(a, NULL), tui_nav_down(a, NULL);
    int want = a->task_rows[a->task_cur];
    tui_nav_enter(a, NULL);
    is_int(a->view, VIEW_CANDS, "Enter on a task opens its candidates");
    is_int(a->task, want, "the task opened is the one under the cursor");
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    is_int(a->n_cand_rows, tk->n_records, "every candidate of the task is a row");
    tui_nav_down(a, NULL);
    is_int(a->cand_cur, 1, "down in the candidates moves their cursor");
    tui_nav_enter(a, NULL);
    is_int(a->view, VIEW_TOKENS, "Enter on a candidate opens its tokens");
    is_int(a->rec_i, tk->records[a->cand_rows[1]], "the tokens are the selected candidate's");
    tui_nav_plot(a, NULL);
    is_int(a->view, VIEW_PLOT, "p opens the plot");
    tui_nav_back(a, NULL);
    is_int(a->view, VIEW_TOKENS, "back from the plot returns to the view it came from");
    tui_nav_help(a, NULL);
    is_int(a->view, VIEW_HELP, "? opens the help over the view");
    tui_nav_back(a, NULL);
    is_int(a->view, VIEW_TOKENS, "back from the help returns to the view it covered");
    tui_nav_back(a, NULL);
    is_int(a->view, VIEW_CANDS, "back from the tokens: the candidates");
    tui_nav_back(a, NULL);
    is_int(a->view, VIEW_TASKS, "back from the candidates: the task list");
    app_command(a, "view cand");
    is_int(a->view, VIEW_CANDS, ":view with a prefix of a view's name opens it");
    app_command(a, "back");
    tui_nav_view(a, NULL);
    is_int(a->view, VIEW_CANDS, "Tab goes round to the next view");
    app_command(a, "replay 250%");
    ok(starts(a->msg, "replay: PCT"), ":replay with a bad percentage says what it wants");
    app_command(a, "replay 20");
    is_int(a->view, VIEW_REPLAY, ":replay 20 opens the replay");
    is_dbl(a->replay_within, 0.2, 1e-12, "within 20% of the best");
    app_command(a, "back");
    is_int(a->view, VIEW_CANDS, "back from the replay: the candidates");
    app_command(a, "back");
    app_command(a, "frobnicate now");
    ok(starts(a->msg, "unknown command \"frobnicate\""), "an unknown command is named");
}

static void choosing(app_t *a)
{
    int all = a->n_task_rows;
    app_command(a, "filter hw=hw-b");
    int only_b = a->n_task_rows > 0;
    for (int i = 0; i < a->n_task_rows; i++)
        only_b &= !strcmp(tlp_dataset_task(a->ds, (size_t)a->task_rows[i])->hardware, "hw-b");
    ok(only_b && a->n_task_rows < all, ":filter hw=hw-b keeps hw-b's tasks only");
    app_command(a, "filter");
    is_int(a->n_task_rows, all, ":filter with nothing shows every task again");
    app_command(a, "sort n");
    is_str(APP_TASK_SORTS[a->task_sort], "n", ":sort n sorts the tasks by their number of candidates");
    int by_n = 1;
    for (int i = 1; i < a->n_task_rows; i++)
        by_n &= tlp_dataset_task(a->ds, (size_t)a->task_rows[i - 1])->n_records >=
                tlp_dataset_task(a->ds, (size_t)a->task_rows[i])->n_records;
    ok(by_n, "the rows go from the most candidates to the fewest");
    tui_find_sort(a, NULL);
    is_str(APP_TASK_SORTS[a->task_sort], "best", "the key s goes on to the next sort");
    app_command(a, "sort diff");
    ok(starts(a->msg, "sort: tasks sort by key, hw, n, best, score or agree, not \"diff\""), ":sort of an unknown key says so");
    is_str(APP_TASK_SORTS[a->task_sort], "best", "and keeps the sort in use");
    app_command(a, "sort key");
    tui_find_next(a, NULL);
    ok(starts(a->msg, "no search yet"), "n before any search says so");
    app_command(a, "search conv2d");
    ok(strstr(tlp_dataset_task(a->ds, (size_t)a->task_rows[a->task_cur])->summary, "conv2d") != NULL,
       ":search puts the cursor on a task that holds the text");
    app_command(a, "search no-such-operator");
    ok(starts(a->msg, "no match for"), "a search without a match says so");
}

static void heads(app_t *a)
{
    family_t *f = app_fam(a);
    ok(f->model && f->scores[0], "the model's scores are ready");
    const tlp_model_config *c = tlp_model_config_of(f->model);
    ok(c->n_heads >= 2, "the demo model has a head per hardware");
    is_int(f->head, HEAD_OWN, "each task is scored by its own hardware's head at first (as tlpx eval)");
    const tlp_task *tb = NULL;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds) && !tb; t++)
        if (!strcmp(tlp_dataset_task(a->ds, t)->hardware, "hw-b")) tb = tlp_dataset_task(a->ds, t);
    ok(tb && app_task_scores(a, f->head, tb) == f->scores[tlp_model_head(f->model, "hw-b")], "a hw-b task by the hw-b head");
    tui_models_head(a, NULL);
    is_int(f->head, 0, "h switches to the first head");
    is_int(f->prev_head, HEAD_OWN, "and remembers the choice before");
    ok(tb && app_task_scores(a, f->head, tb) == f->scores[0], "now the hw-b task by head 0 too");
    for (int k = 1; k < c->n_heads; k++) tui_models_head(a, NULL);
    is_int(f->head, c->n_heads - 1, "then each head in turn");
    tui_models_head(a, NULL);
    is_int(f->head, HEAD_OWN, "and after the last, each task's own again");
    app_command(a, "head no-such-gpu");
    ok(starts(a->msg, "no head \"no-such-gpu\""), ":head with an unknown name names it");
    is_int(f->head, HEAD_OWN, "and keeps the head in use");
    app_command(a, "head hw-a ");
    is_int(f->head, tlp_model_head(f->model, "hw-a"), ":head NAME with the blank completion leaves switches to it");
    app_command(a, "head own");
    is_int(f->head, HEAD_OWN, ":head own: each task's own");
    app_command(a, "head hw-a");
    is_int(f->head, tlp_model_head(f->model, "hw-a"), ":head NAME switches to it");
    tui_models_compare(a, NULL);
    ok(f->cmp_head >= 0 && f->cmp_head != f->head, "c shows another head beside");
    tui_models_compare(a, NULL);
    is_int(f->cmp_head, -1, "c again hides it");
    tui_models_mode(a, "cpu");
    is_int(a->mode, TLP_MODE_CPU, ":mode cpu uses the cpu family");
    app_command(a, "save");
    ok(starts(a->msg, "no cpu model to save"), "with no cpu model, :save says there is none");
    tui_models_mode(a, "gpu");
}

static int count_lines(const char *path)
{
    FILE *in = fopen(path, "r");
    int lines = 0;
    for (int ch; in && (ch = fgetc(in)) != EOF;) lines += ch == '\n';
    if (in) fclose(in);
    return in ? lines : -1;
}

static long long tasks_of(const app_t *a, const char *hw)
{
    long long n = 0;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds); t++) n += !strcmp(tlp_dataset_task(a->ds, t)->hardware, hw);
    return n;
}

/* Fine-tuning keeps comparison: :train heads=X keeps the other heads, the
 * filter's tasks are what it trains on, "was" holds the ranks before, and
 * :save keeps the recipe and the command in the file. */
static void fine_tuning(app_t *a, const char *dir)
{
    family_t *f = app_fam(a);
    app_wait_jobs(a);
    const tlp_model_config *c0 = tlp_model_config_of(f->model);
    int heads_before = c0->n_heads;
    ok(heads_before == 2, "the demo model has heads hw-a and hw-b");
    app_command(a, "filter hw=hw-a");
    app_command(a, "train epochs=1 batch=32");
    ok(a->train && strstr(a->msg, "of the 4 tasks the filter shows"), ":train under a filter trains on its tasks, says how many");
    app_wait_jobs(a);
    const tlp_model_config *c = tlp_model_config_of(f->model);
    ok(c->n_heads == 2 && !strcmp(c->heads[0], "hw-a") && !strcmp(c->heads[1], "hw-b"),
       "the filter's hardware is trained, the other head kept");
    ok(strstr(a->msg, "heads hw-b kept") && strstr(a->msg, "was: the ranks before"), "which the message says");
    const tlp_task *tb = NULL;
    for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds) && !tb; t++)
        if (!strcmp(tlp_dataset_task(a->ds, t)->hardware, "hw-b")) tb = tlp_dataset_task(a->ds, t);
    int hb = tlp_model_head(f->model, "hw-b");
    ok(tb && hb >= 0 && !tlp_model_trained_on(f->model, hb, tlp_workload_hash(tb->workload_key)),
       "head hw-b was not trained on anything here");
    app_command(a, "filter");
    app_load_task(a, a->task_rows[0]);
    int was = 0;
    const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task);
    for (uint32_t k = 0; k < tk->n_records; k++) was += a->prev_rank[k] > 0;
    is_int(was, (int)tk->n_records, "every candidate has its rank before the training (was)");
    char path[1100], cmd[1200];
    snprintf(path, sizeof path, "%s/tuned.tlpx", dir);
    snprintf(cmd, sizeof cmd, "save %s", path);
    app_command(a, cmd);
    tlp_train_meta meta;
    tlp_error e = {0};
    tlp_model *m = tlp_checkpoint_load(path, &meta, NULL, &e);
    ok(m && !strcmp(meta.recipe, "custom") && strstr(meta.note, "explore :train epochs=1 batch=32"),
       ":save keeps the recipe (custom: batch= changed it) and the :train command");
    tlp_model_free(m);
    a->view = VIEW_TASKS;
    a->task = -1;
}

/* Scoring goes in screen order, and :cancel keeps what it ranked: the task
 * under the cursor is scored first, by a job of its own. */
static void cancelled_scoring(app_t *a, const char *dir)
{
    a->mode = TLP_MODE_GPU;
    family_t *f = app_fam(a);
    a->view = VIEW_TASKS;
    a->task = -1;
    char cold[1100];
    snprintf(cold, sizeof cold, "%s/cold-cache", dir);
    setenv("XDG_CACHE_HOME", cold, 1); /* a cache without these scores: they are computed */
    app_command(a, "eval");
    long in_view = app_task_in_view(a);
    ok(f->predict && f->taking && in_view >= 0 && f->taking[in_view], "scoring starts with the task in view");
    int others = 0;
    for (size_t t = 0; f->taking && t < tlp_dataset_n_tasks(a->ds); t++) others += f->taking[t] && (long)t != in_view;
    is_int(others, 0, "and it alone");
    while (f->predict && f->phase == 1) { /* its job ends; the next phase starts */
        struct pollfd pfd = {tlp_job_fd(f->predict), POLLIN, 0};
        poll(&pfd, 1, 100);
        app_poll_jobs(a);
    }
    ok(app_task_scores(a, f->head, tlp_dataset_task(a->ds, (size_t)in_view)) != NULL, "then it is ranked");
    app_command(a, "cancel");
    ok(app_task_scores(a, f->head, tlp_dataset_task(a->ds, (size_t)in_view)) != NULL, ":cancel keeps the ranks made");
    ok(starts(a->msg, "scoring cancelled: ") || starts(a->msg, "no training or scoring"), "and says how many");
    printf("# %s\n", a->msg);
    app_command(a, "eval");
    app_wait_jobs(a);
}

/* The status line: its means follow the filter; TLP's pooled figure only
 * when no pick failed (one failed pick makes it 0); it fits 80 columns by
 * dropping parts, the head and the mean top-1 last. */
static void status_line(app_t *a)
{
    a->mode = TLP_MODE_GPU;
    app_command(a, "head own");
    app_command(a, "filter");
    int all = a->eval.tasks;
    app_command(a, "filter hw=hw-a");
    ok(a->eval.tasks == tasks_of(a, "hw-a") && a->eval.tasks < all, "a filter's tasks are what the means are over");
    char s[1024];
    views_status_text(a, 200, s, sizeof s);
    ok(strstr(s, "| shown 4 tasks") != NULL, "which the status line says");
    app_command(a, "filter");
    /* a task whose pick failed: scores put the failed run first */
    double cost[3] = {1e10, 2e-6, 1e-6};
    uint8_t failed[3] = {1, 0, 0};
    float score[3] = {3, 2, 1};
    int ks[2] = {1, 5};
    tlp_task_eval ev;
    tlp_eval_task(cost, failed, score, 3, ks, 2, &ev);
    tlp_eval_sum_add(&a->eval, &ev, 1);
    views_status_text(a, 200, s, sizeof s);
    ok(strstr(s, "failed picks 1") && !strstr(s, "pooled"), "a failed pick: no pooled figure (it would read 0), the picks said");
    printf("# %s\n", s);
    views_status_text(a, 80, s, sizeof s);
    ok(strlen(s) <= 80 && strstr(s, "head own") && strstr(s, "top1"), "80 columns keep the head and the mean top-1");
    printf("# %s\n", s);
    app_compute_scores(a);
}

static void training_and_files(app_t *a, const char *dir)
{
    family_t *f = app_fam(a);
    tlp_model *before = f->model;
    app_command(a, "train epochs=0");
    ok(starts(a->msg, "train: "), ":train with a bad setting says why");
    ok(a->train == NULL && f->model == before, "and starts nothing");
    app_command(a, "load /no/such/model.tlpx");
    ok(strstr(a->msg, "/no/such/model.tlpx") != NULL, ":load of a missing file names it");
    ok(f->model == before, "and keeps the model in use");
    app_command(a, "train epochs=1 batch=64");
    ok(a->train != NULL, ":train epochs=1 starts a training in the background");
    app_wait_jobs(a);
    ok(a->train == NULL && f->model != NULL && f->dirty, "the trained model is in use, not yet saved");
    tui_nav_quit(a, NULL);
    ok(a->confirm_quit && !a->quit, "quitting with a model not saved asks first");
    app_key(a, 'n');
    ok(!a->quit && starts(a->msg, "not quitting"), "any key but y stays");
    char path[1100];
    snprintf(path, sizeof path, "%s/fine.tlpx", dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "save %s", path);
    app_command(a, cmd);
    struct stat st;
    ok(stat(path, &st) == 0 && st.st_size > 0 && !f->dirty, ":save PATH writes the model and marks it saved");
    tlp_train_state ts;
    tlp_error te = {0};
    tlp_model *back = tlp_checkpoint_load(path, NULL, &ts, &te);
    ok(back && ts.m && ts.v, "with the training's Adam state, so --resume can go on");
    tlp_model_free(back);
    tlp_train_state_free(&ts);
    /* a model loaded with its state and saved with no path keeps it */
    snprintf(cmd, sizeof cmd, "load %s", path);
    app_command(a, cmd);
    app_command(a, "save");
    back = tlp_checkpoint_load(path, NULL, &ts, &te);
    ok(back && ts.m && ts.v && !f->dirty, ":load then :save (no path) keeps the file's training state");
    tlp_model_free(back);
    tlp_train_state_free(&ts);
    snprintf(path, sizeof path, "%s/best.json", dir);
    snprintf(cmd, sizeof cmd, "export top=1 hw=hw-b %s", path);
    app_command(a, cmd);
    is_int(count_lines(path), tasks_of(a, "hw-b"), ":export top=1 hw=hw-b writes one record per hw-b task, no other hardware's");
    ok(starts(a->msg, "exported ") && strstr(a->msg, "hw-b records"), "and says whose");
    /* the filter's hardware, and ~ as $HOME */
    const char *home = getenv("HOME");
    char *saved = home ? strdup(home) : NULL;
    setenv("HOME", dir, 1);
    app_command(a, "filter hw=hw-a");
    app_command(a, "export top=3 ~/mine.json");
    snprintf(path, sizeof path, "%s/mine.json", dir);
    is_int(count_lines(path), tasks_of(a, "hw-a"), ":export top=3 under :filter hw=hw-a: one record per hw-a task, in ~/");
    ok(strstr(a->msg, "hw-a records") && strstr(a->msg, "top 3"), "and says whose and of which picks");
    app_command(a, "filter");
    if (saved) setenv("HOME", saved, 1);
    free(saved);
    app_command(a, "export top=1 hw=nope x.json");
    ok(starts(a->msg, "export: no hardware \"nope\""), ":export hw= of hardware the data lacks: refused, named");
    tui_nav_quit(a, NULL);
    ok(a->quit, "with the model saved, quit quits");
}

/* A diverged model's scores (NaN weights) are said on stderr by the
 * command line's scoring, not reported on as if they ranked (eval,
 * predict, replay). */
static void nonfinite_scores(const char *dir)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0};
    tlp_error e = {0};
    if (!ok(tlp_dataset_add_path(ds, fixture(0, "train/hw-a"), "K80", &lo, &e) == TLP_OK &&
                tlp_dataset_finish(ds, &e) == TLP_OK,
            "records for a diverged model")) {
        tlp_dataset_free(ds);
        return;
    }
    tlp_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = TLP_MODE_GPU;
    cfg.n_heads = 1;
    snprintf(cfg.heads[0], TLP_HEAD_NAME, "K80");
    tlp_model *m = tlp_model_new(&cfg, 1, &e);
    if (!ok(m != NULL, "a model")) {
        tlp_dataset_free(ds);
        return;
    }
    float *p = tlp_model_params(m);
    for (size_t i = 0; i < tlp_model_n_params(m); i++) p[i] = NAN;
    char path[600], buf[4096] = "";
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    cli_score_cache c;
    memset(&c, 0, sizeof c);
    c.quiet = 1;
    c.forced = -1;
    const float *sc = cli_scores_for(m, ds, &c, tlp_dataset_task(ds, 0));
    fflush(stderr);
    dup2(saved, 2);
    close(saved), close(fd);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[got] = 0;
    if (f) fclose(f);
    ok(sc != NULL && isnan(sc[0]), "the diverged model scores NaN");
    char want[128];
    snprintf(want, sizeof want, "warning: %zu of the %zu scores are NaN or infinite", tlp_dataset_n_records(ds),
             tlp_dataset_n_records(ds));
    if (!ok(strstr(buf, want) != NULL, "and the scoring says so on stderr")) printf("# stderr: %s\n", buf);
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(c.scores[h]);
    tlp_model_free(m);
    tlp_dataset_free(ds);
}

int main(void)
{
    table();
    char dir[] = "/tmp/tlpx_explore.XXXXXX";
    if (!mkdtemp(dir)) tap_skip_all("no scratch directory");
    setenv("XDG_CACHE_HOME", dir, 1); /* the score cache in the scratch directory, not the user's */
    const char *paths[2] = {fixture(0, "train/hw-a"), fixture(1, "train/hw-b")};
    const char *models[1] = {fixture(2, "demo-gpu.tlpx")};
    cli_data_opts d = {paths, 2, NULL, 1, 0, 0, 0};
    app_t a;
    if (app_open(&a, &d, models, 1, 0, NULL) != 0) {
        app_close(&a);
        tap_skip_all("cannot open the fixtures");
    }
    if (script_begin(&a, 100, 30) != 0) {
        app_close(&a);
        tap_skip_all("no curses screen (terminfo xterm)");
    }
    app_wait_jobs(&a);
    moving(&a);
    drilling(&a);
    choosing(&a);
    heads(&a);
    cancelled_scoring(&a, dir);
    status_line(&a);
    fine_tuning(&a, dir);
    training_and_files(&a, dir);
    script_end();
    nonfinite_scores(dir);
    app_close(&a);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
