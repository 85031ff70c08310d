/*
 * explore.c: the explorer's loop and its jobs: `tlpx explore` (the
 * arguments, the embedded default, the terminal), the loop over the keys and
 * the engine's jobs, and the jobs themselves (every head's scores of a model,
 * a training).  The state is app.c's, the keys' meaning commands.c's.
 *
 * Design.  One thread owns curses and readline.  Long engine work (scores for
 * every head, training) runs on the engine's worker threads; each job has a
 * file descriptor that becomes readable when its progress changes, so the
 * loop polls stdin and the job fds together and never blocks on the engine.
 * Every key and command goes through ACTIONS (actions.def), which also makes
 * the help screen and the prompt's completion.
 */
#include "../cli/opts.h"
#include "../cli/train_settings.h"
#include "explore.h"

#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <term.h>
#include <unistd.h>

/* ------------------------------------------------------------ jobs */

void app_stop_predict(family_t *f)
{
    if (!f->predict) return;
    tlp_job_cancel(f->predict);
    tlp_job_finish(f->predict, NULL, NULL, NULL, NULL);
    f->predict = NULL;
}

void app_stop_jobs(app_t *a)
{
    if (a->train) {
        tlp_job_cancel(a->train);
        tlp_job_finish(a->train, NULL, NULL, NULL, NULL);
        a->train = NULL;
    }
    tlp_samples_free(a->samples);
    a->samples = NULL;
    for (int m = 0; m < TLP_MODE_COUNT; m++) app_stop_predict(&a->fam[m]);
}

/* With TLPX_TIMING set, a moment of the opening on stderr as "at_ms N
 * WHAT", in ms since the explorer started (bench/tui.sh reads them). */
static double started_ms;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

void app_timeline(const char *what)
{
    static char said[8][32];
    if (!getenv("TLPX_TIMING")) return;
    for (int i = 0; i < 8; i++) { /* each moment once: the first time it happens */
        if (!strcmp(said[i], what)) return;
        if (!said[i][0]) {
            snprintf(said[i], sizeof said[i], "%s", what);
            break;
        }
    }
    fprintf(stderr, "at_ms %.1f %s\n", mono_ms() - started_ms, what);
}

/* The next phase of scoring family m in screen order: the task in view,
 * then the rows the task list shows, then the rest; each phase a job over
 * the tasks not scored yet.  None left: the scores go to the cache. */
static void next_phase(app_t *a, tlp_mode m)
{
    family_t *f = &a->fam[m];
    size_t nt = tlp_dataset_n_tasks(a->ds);
    int H = tlp_model_config_of(f->model)->n_heads;
    for (; f->phase < 3; f->phase++) {
        memset(f->taking, 0, nt);
        int any = 0;
        long in_view = app_task_in_view(a);
        if (f->phase == 0 && in_view >= 0) f->taking[in_view] = 1;
        for (int i = a->task_top; f->phase == 1 && i < a->n_task_rows && i < a->task_top + views_body_rows(); i++)
            f->taking[a->task_rows[i]] = 1;
        for (size_t t = 0; t < nt; t++) {
            if (f->phase == 2) f->taking[t] = 1;
            f->taking[t] &= tlp_dataset_task(a->ds, t)->mode == m && !f->done[t];
            any |= f->taking[t];
        }
        if (!any) continue;
        tlp_error err = {0};
        if (!(f->predict = tlp_predict_start_tasks(f->model, a->ds, f->taking, &err))) app_message(a, "cannot predict: %s", err.msg);
        f->phase++;
        return;
    }
    for (int h = 0; h < H; h++)
        if (!f->scores[h]) return;
    app_timeline("all ranked");
    if (f->cache[0]) cache_save(f->cache, H, tlp_dataset_n_records(a->ds), f->scores);
}

void app_start_predict(app_t *a, tlp_mode m)
{
    family_t *f = &a->fam[m];
    if (!f->model || !a->ds) return;
    app_stop_predict(f);
    size_t nt = tlp_dataset_n_tasks(a->ds), n = tlp_dataset_n_records(a->ds);
    int H = tlp_model_config_of(f->model)->n_heads;
    free(f->done), free(f->taking);
    f->done = calloc(nt + 1, 1), f->taking = calloc(nt + 1, 1);
    f->phase = 0;
    if (!f->done || !f->taking) {
        app_message(a, "cannot predict: out of memory");
        return;
    }
    app_free_scores(f);
    float *got[TLP_MAX_HEADS];
    if (cache_path(f->model, a->ds, f->cache, sizeof f->cache) != 0) f->cache[0] = 0;
    if (f->cache[0] && cache_load(f->cache, H, n, got) == 0) { /* the same model on the same data: ranked at once */
        memcpy(f->scores, got, sizeof(float *) * (size_t)H);
        memset(f->done, 1, nt);
        f->phase = 3;
        app_timeline("all ranked (from the cache)");
        app_compute_scores(a);
        app_sort_tasks(a);
        if (a->task >= 0) app_load_task(a, a->task);
        return;
    }
    next_phase(a, m);
}

/* A phase's scores into the family's: its tasks' records. */
static void take_phase(family_t *f, const tlp_dataset *ds)
{
    for (int h = 0; h < tlp_model_config_of(f->model)->n_heads; h++) {
        float *s = tlp_job_take_scores(f->predict, h);
        if (!s) continue;
        if (!f->scores[h]) {
            f->scores[h] = s;
            continue;
        }
        for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
            const tlp_task *tk = tlp_dataset_task(ds, t);
            for (uint32_t k = 0; f->taking[t] && k < tk->n_records; k++) f->scores[h][tk->records[k]] = s[tk->records[k]];
        }
        free(s);
    }
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) f->done[t] |= f->taking[t];
}

/* The model in use adapted to the samples' heads (its trunk and heads, fresh
 * heads for new hardware), with its networks; NULL after saying why. */
static tlp_model *adapt_model(app_t *a, tlp_train_opts *o)
{
    tlp_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = a->mode;
    cfg.steps = tlp_train_steps(o);
    cli_train_nets_of(o, app_fam(a)->model);
    cfg.encode = o->encode[0];
    cfg.n_heads = tlp_samples_n_heads(a->samples);
    for (int h = 0; h < cfg.n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", tlp_samples_head(a->samples, h));
    tlp_error err = {0};
    tlp_model *init = tlp_model_adapt(app_fam(a)->model, &cfg, o->seed, &err);
    if (!init)
        app_message(a, "train: cannot start from the model in use (%s); :train fresh starts over", err.msg);
    return init;
}

/* With a filter: the tasks the list shows (into take, their count), and
 * unless heads= names them, the heads of their hardware. */
static int filtered_tasks(app_t *a, tlp_train_opts *o, unsigned char *take)
{
    int n = 0, by_filter = o->n_heads == 0;
    for (int i = 0; i < a->n_task_rows; i++) {
        const tlp_task *tk = tlp_dataset_task(a->ds, (size_t)a->task_rows[i]);
        if (tk->mode != a->mode) continue;
        take[a->task_rows[i]] = 1;
        n++;
        int h = 0;
        while (by_filter && h < o->n_heads && strcmp(o->heads[h], tk->hardware)) h++;
        if (by_filter && h == o->n_heads && h < TLP_MAX_HEADS) snprintf(o->heads[o->n_heads++], TLP_HEAD_NAME, "%s", tk->hardware);
    }
    return n;
}

void app_start_train(app_t *a, tlp_train_opts *o, int fresh)
{
    tlp_error err = {0};
    unsigned char *take = a->filter[0] ? calloc(tlp_dataset_n_tasks(a->ds) + 1, 1) : NULL;
    int n_take = take ? filtered_tasks(a, o, take) : 0;
    if (take && !n_take) {
        app_message(a, "train: no %s task matches the filter \"%s\" (:filter clears it)", tlp_mode_name(a->mode), a->filter);
        free(take);
        return;
    }
    if (app_fam(a)->model && !fresh && !o->steps) o->steps = app_steps(a, a->mode); /* the model's crop */
    a->samples = tlp_samples_build_tasks(a->ds, o, take, &err);
    free(take);
    if (!a->samples) {
        app_message(a, "train: %s", err.msg);
        return;
    }
    tlp_model *init = NULL;
    if (app_fam(a)->model && !fresh && !(init = adapt_model(a, o))) {
        tlp_samples_free(a->samples);
        a->samples = NULL;
        return;
    }
    a->train_mode = a->mode;
    a->train_fine = init != NULL;
    a->train = tlp_train_start(a->samples, o, init, NULL, NULL, &err);
    tlp_model_free(init); /* the job has its own copy */
    if (!a->train) {
        app_message(a, "train: %s", err.msg);
        tlp_samples_free(a->samples);
        a->samples = NULL;
        return;
    }
    memset(&a->prog, 0, sizeof a->prog);
    a->prog.epochs = o->epochs;
    char of[96] = "";
    if (n_take) snprintf(of, sizeof of, " of the %d tasks the filter shows", n_take);
    app_message(a, "training a %s model on %zu samples%s, %d epochs, %s (:cancel stops)", tlp_mode_name(a->mode),
                tlp_samples_count(a->samples), of, o->epochs, init ? "from the model in use" : "from scratch");
}

/* A fine-tuning of some heads keeps the model's others (their decoders;
 * the trunk under them is the fine-tuned one): *best becomes the model
 * with them, kept[] names them.  Out of memory: *best as it was. */
static void keep_other_heads(const tlp_model *old, tlp_model **best, char *kept, size_t cap)
{
    const tlp_model_config *c = tlp_model_config_of(old);
    size_t len = 0;
    kept[0] = 0;
    for (int h = 0; h < c->n_heads; h++)
        if (tlp_model_head(*best, c->heads[h]) < 0) {
            int w = snprintf(kept + len, cap - len, "%s%s", len ? ", " : "", c->heads[h]);
            if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
        }
    tlp_model *with = len ? tlp_model_with_heads_of(*best, old, NULL) : NULL;
    if (!with) {
        kept[0] = 0;
        return;
    }
    tlp_model_free(*best);
    *best = with;
}

/* The training's end: its kept model replaces the family's, unsaved; the
 * ranks before it stay as "was". */
static void train_done(app_t *a)
{
    tlp_model *best = NULL;
    tlp_train_meta meta;
    tlp_train_state state = {0};
    tlp_error err = {0};
    tlp_progress p = a->prog;
    tlp_status s = tlp_job_finish(a->train, &best, &meta, &state, &err);
    a->train = NULL;
    tlp_samples_free(a->samples);
    a->samples = NULL;
    if (p.state == TLP_JOB_CANCELLED || s != TLP_OK || !best) {
        tlp_model_free(best);
        tlp_train_state_free(&state);
        if (p.state == TLP_JOB_CANCELLED) app_message(a, "training cancelled; the model in use is unchanged");
        else app_message(a, "training failed: %s; the model in use is unchanged", s ? err.msg : "no epoch finished");
        return;
    }
    family_t *f = &a->fam[a->train_mode];
    char kept[256] = "";
    if (a->train_fine && f->model) keep_other_heads(f->model, &best, kept, sizeof kept);
    if (kept[0]) tlp_train_state_free(&state); /* the state is of the trained heads' model: not this one */
    tlp_train_state_free(&f->state);
    f->state = state;
    float *was = f->model ? app_scores_in_use(a, a->train_mode) : NULL;
    free(f->was);
    f->was = was;
    tlp_model_free(f->model);
    f->model = best;
    tlp_model_set_exact_padding(best, a->exact_padding);
    f->meta = meta;
    snprintf(f->meta.note, sizeof f->meta.note, "%s", a->train_note);
    f->head = HEAD_OWN;
    f->prev_head = -1;
    f->cmp_head = -1;
    f->dirty = 1;
    app_free_scores(f);
    char nets[32] = "", keeps[300] = "";
    if (meta.n_nets > 1) snprintf(nets, sizeof nets, ", %d networks", meta.n_nets);
    if (kept[0]) snprintf(keeps, sizeof keeps, "; heads %s kept", kept);
    app_message(a, "training done (recipe %s, %s%s): epoch %d of %d kept (by %s)%s; was: the ranks before; :save keeps it",
                meta.recipe, a->train_fine ? "fine-tuned" : "from scratch", nets, meta.best_epoch, p.epoch, meta.select,
                keeps);
    app_start_predict(a, a->train_mode);
}

int app_busy(const app_t *a)
{
    for (int m = 0; m < TLP_MODE_COUNT; m++)
        if (a->fam[m].predict) return 1;
    return a->train != NULL;
}

/* Take what the jobs have finished; called when a job fd is readable. */
/* Take what the jobs have finished; called when a job fd is readable. */
void app_poll_jobs(app_t *a)
{
    for (int m = 0; m < TLP_MODE_COUNT; m++) {
        family_t *f = &a->fam[m];
        if (!f->predict) continue;
        char buf[256];
        while (read(tlp_job_fd(f->predict), buf, sizeof buf) > 0) {
        }
        tlp_progress p;
        tlp_job_progress(f->predict, &p);
        if (p.state == TLP_JOB_RUNNING) continue;
        if (p.state == TLP_JOB_DONE) take_phase(f, a->ds);
        if (p.state == TLP_JOB_DONE && app_task_in_view(a) >= 0 && f->done[app_task_in_view(a)])
            app_timeline("task in view ranked");
        else if (p.state == TLP_JOB_FAILED)
            app_message(a, "predicting failed: %s", p.msg);
        tlp_job_finish(f->predict, NULL, NULL, NULL, NULL);
        f->predict = NULL;
        app_compute_scores(a);
        app_sort_tasks(a);
        if (a->task >= 0) app_load_task(a, a->task);
        if (p.state == TLP_JOB_DONE) next_phase(a, (tlp_mode)m);
    }
    if (a->train) {
        char buf[256];
        while (read(tlp_job_fd(a->train), buf, sizeof buf) > 0) {
        }
        tlp_job_progress(a->train, &a->prog);
        if (a->prog.state != TLP_JOB_RUNNING) train_done(a);
    }
}

/* The fds of the running jobs into fds (room for 3); returns how many. */
static int job_fds(const app_t *a, struct pollfd *fds)
{
    int nf = 0;
    for (int m = 0; m < TLP_MODE_COUNT; m++)
        if (a->fam[m].predict) fds[nf++] = (struct pollfd){tlp_job_fd(a->fam[m].predict), POLLIN, 0};
    if (a->train) fds[nf++] = (struct pollfd){tlp_job_fd(a->train), POLLIN, 0};
    return nf;
}

void app_wait_jobs(app_t *a)
{
    while (app_busy(a)) {
        struct pollfd fds[3];
        poll(fds, (nfds_t)job_fds(a, fds), 200);
        app_poll_jobs(a);
    }
}

/* ------------------------------------------------------------ the loop */
/* A terminal that can place the cursor; else a sentence (TERM=dumb, an
 * unknown TERM), not a screen of garbage, and 0. */
static int terminal_ok(app_t *a)
{
    if (!isatty(0) || !isatty(1)) {
        fprintf(stderr, "tlpx: the explorer needs a terminal (or --script FILE)\n");
        return 0;
    }
    setlocale(LC_ALL, "");
    a->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    int terr = 0;
    const char *term = getenv("TERM");
    if (setupterm(NULL, 1, &terr) == OK && cursor_address && *cursor_address) return 1;
    fprintf(stderr,
            "tlpx: the explorer needs a terminal that can move the cursor; TERM=%s cannot%s.\n"
            "Set TERM (xterm-256color, say), or use the subcommands (tlpx --help), which work anywhere.\n",
            term && *term ? term : "(unset)", terr == 0 && term && *term ? " (it is not in the terminfo database)" : "");
    return 0;
}

static void start_curses(app_t *a)
{
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    const char *no_color = getenv("NO_COLOR"); /* no-color.org: set and not empty */
    a->color = has_colors() && !(no_color && *no_color);
    if (a->color) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_BLACK, COLOR_CYAN);
        init_pair(2, COLOR_GREEN, -1);
        init_pair(3, COLOR_RED, -1);
        init_pair(4, COLOR_YELLOW, -1);
        init_pair(5, COLOR_BLUE, -1);
    }
}

/* Ctrl-C: noted by the handler, answered by the loop as q is (ask first
 * when a training runs or a trained model is not saved); a second Ctrl-C
 * while asked quits. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void answer_sigint(app_t *a)
{
    interrupted = 0;
    if (a->confirm_quit) a->quit = 1; /* asked already: Ctrl-C again quits */
    else tui_nav_quit(a, NULL);
}

/* Draw, wait for a key or a job, handle them, until quit. */
static void run_loop(app_t *a)
{
    start_curses(a);
    prompt_init(a);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    if (!a->msg[0]) app_message(a, "? help  : command  Enter open  q back");
    double last_follow = mono_ms();
    while (!a->quit) {
        views_draw(a);
        struct pollfd fds[4];
        fds[0] = (struct pollfd){0, POLLIN, 0};
        int nf = 1 + job_fds(a, fds + 1);
        int r = poll(fds, (nfds_t)nf, 250);
        if (r > 0 && nf > 1) app_poll_jobs(a);
        if (interrupted) {
            answer_sigint(a);
            continue;
        }
        /* keys, and KEY_RESIZE: ncurses' own SIGWINCH handler queues it and
         * the signal interrupts poll, so look even when stdin is quiet */
        nodelay(stdscr, TRUE);
        int key;
        while ((key = getch()) != ERR) {
            if (key == KEY_RESIZE) clearok(curscr, TRUE);
            app_key(a, key);
        }
        nodelay(stdscr, FALSE);
        if (a->train) app_poll_jobs(a);
        if (a->follow[0] && mono_ms() - last_follow >= 500) { /* --follow: the log's new records */
            last_follow = mono_ms();
            app_follow_poll(a);
        }
    }
    sigaction(SIGINT, &old, NULL);
    prompt_done();
    endwin();
}

/* ------------------------------------------------------------ entry */

static const cli_opt EXPLORE_OPTS[] = {
    {"--model", "-m", "MODEL", "a model to score with (one per family, cpu and gpu; up to 8)"},
    {"--script", NULL, "FILE", "run keys and :commands from FILE without a terminal, print screen dumps"},
    {"--size", NULL, "WxH", "--script: the screen size (80x24)"},
    CLI_OPT_EXACT_PADDING("scores"),
    {"--follow", "-f", "LOG", "a tuning log a running search appends to: its new records come in as they are written, ranked (DATA may be none)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd EXPLORE_CMD = {
    "explore", "DATA... [OPTIONS]",
    "The explorer: tasks, their candidate schedules with measured and predicted ranks,\n"
    "each schedule's primitives beside its TLP tokens, a plot, and training in the\n"
    "background.  ? inside lists every key and :command.  `tlpx DATA...` is the same.\n"
    "With no DATA and no --model: the embedded default (real records of three GPUs and\n"
    "the MTL model; tlpx --assets says where they are).",
    EXPLORE_OPTS, 1};

typedef struct {
    cli_data_opts *d;
    const char *models[8], *script, *follow;
    int n_models, w, h;
    int dflt; /* the embedded default's data (add_default) */
    int exact_padding;
} explore_args;

static int explore_arg(void *ctx, const cli_opt *o, const char *val)
{
    explore_args *e = ctx;
    if (!o) e->d->paths[e->d->n_paths++] = val;
    else if (!strcmp(o->name, "--model")) {
        if (e->n_models == 8) return cli_usage_error(&EXPLORE_CMD, "at most 8 --model");
        e->models[e->n_models++] = val;
    } else if (!strcmp(o->name, "--script"))
        e->script = val;
    else if (!strcmp(o->name, "--exact-padding"))
        e->exact_padding = 1;
    else if (!strcmp(o->name, "--follow"))
        e->follow = val;
    else if (sscanf(val, "%dx%d", &e->w, &e->h) != 2 || e->w < 20 || e->h < 6 || e->w > 1000 || e->h > 500)
        return cli_usage_error(&EXPLORE_CMD, "--size is WxH, e.g. 80x24, not \"%s\"", val);
    return 0;
}


/* No DATA: the embedded default, real records of three GPUs (scored by
 * the embedded model, embedded_models).  -1 when out of memory. */
static int add_default(explore_args *e)
{
    static char dflt[3][4200];
    static const char *gpus[] = CLI_DEFAULT_GPUS;
    char dir[4096];
    cli_data_opts *o = e->d;
    if (o->n_paths || e->n_models || e->follow || cli_assets_dir(dir, sizeof dir) != 0) return 0;
    const char **more = realloc(o->paths, 3 * sizeof *o->paths);
    if (!more) return -1;
    o->paths = more;
    for (int i = 0; i < 3; i++) {
        snprintf(dflt[i], sizeof dflt[i], "%s=%s/roller/%s", gpus[i], dir, gpus[i]);
        o->paths[o->n_paths++] = dflt[i];
    }
    e->dflt = 1;
    return 0;
}

/* The explorer on the data and models given: a script, or the terminal. */
static int explore(const explore_args *e)
{
    app_t a;
    int rc = EXIT_FAIL;
    e->d->quiet = 1;
    if (app_open(&a, e->d, e->models, e->n_models, e->exact_padding, e->follow) == 0) {
        if (!e->n_models) {
            a.embedded = 1;
            app_embedded_models(&a, e->dflt ? NULL : stderr);
        }
        if (e->script) rc = script_run(&a, e->script, e->w, e->h);
        else if (terminal_ok(&a)) {
            run_loop(&a);
            rc = EXIT_OK;
        }
    }
    app_close(&a);
    return rc;
}

int cmd_explore(int argc, char **argv)
{
    started_ms = mono_ms();
    cli_data_opts o = {0};
    explore_args ea = {&o, {NULL}, NULL, NULL, 0, 80, 24, 0, 0};
    o.paths = calloc((size_t)argc + 1, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = cli_parse(&EXPLORE_CMD, argc, argv, &o, explore_arg, &ea);
    if (rc < 0 && add_default(&ea) != 0) rc = EXIT_USAGE;
    if (rc < 0 && !o.n_paths && !ea.follow) {
        fprintf(stderr, "tlpx: no record files given.  Point the explorer at Ansor/TenSet measure records:\n"
                        "  tlpx explore measure_records/k80/            (a directory, read recursively)\n"
                        "  tlpx explore K80=path/to/logs --model m.tlpx (NAME= names the hardware)\n");
        rc = EXIT_USAGE;
    }
    if (rc < 0) rc = explore(&ea);
    free(o.paths);
    return rc;
}
