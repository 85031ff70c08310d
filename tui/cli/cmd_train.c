/* cmd_train.c: `tlpx train`: a model from the command line, for scripts and
 * CI.  The settings come from the recipe, a resumed training's file, then the
 * options in order (tlp_train_set, the engine's table, which the explorer's
 * :train shares); the engine's job trains while this thread shows progress
 * and turns SIGINT/SIGTERM into a cancel that keeps the model. */
#include "cli.h"
#include "scores.h"
#include "train_settings.h"

#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const cli_cmd TRAIN_CMD = {
    "train", "DATA... --out MODEL [OPTIONS]",
    "Trains TLP (one head) or MTL-TLP (one head per hardware on a shared trunk) on DATA\n"
    "and writes the kept model to MODEL.  --recipe picks a whole set of settings: tlpx\n"
    "(the default, see README \"Model quality\": an ensemble of two networks trained in\n"
    "turn, of log-scaled tokens and of log-scaled tokens with the program row, each\n"
    "10 epochs of batches of 256 on GPU records and 1024 on CPU, the last kept (on GPU\n"
    "records the mean of the last 3 epochs' weights), validation on held-out tasks,\n"
    "failed programs ranked last) or tlp (TLP's own: one network, 50 epochs, batch\n"
    "1024, LambdaRank over the batch, Adam 7e-4, raw token values, 10% of the records\n"
    "for validation, the epoch of least validation loss).  Options after it change\n"
    "single settings.  The same data, seed and settings give the same model bits on\n"
    "any number of threads.",
    CLI_TRAIN_OPTS, 1};

typedef struct {
    cli_data_opts *data;
    tlp_train_opts to;
    const char *out, *resume, *mode, *init;
    cli_settings set; /* settings given on the command line, applied after the recipe */
    const char *recipe;
    int weights_only;
} train_args;

static int train_arg(void *ctx, const cli_opt *o, const char *val)
{
    train_args *a = ctx;
    if (!o) {
        a->data->paths[a->data->n_paths++] = val;
        return 0;
    }
    if (!strcmp(o->name, "--out")) a->out = val;
    else if (!strcmp(o->name, "--resume")) a->resume = val;
    else if (!strcmp(o->name, "--init")) a->init = val;
    else if (!strcmp(o->name, "--mode")) a->mode = val;
    else if (!strcmp(o->name, "--recipe")) a->recipe = val;
    else if (!strcmp(o->name, "--weights-only")) a->weights_only = 1;
    else return cli_settings_add(&a->set, &TRAIN_CMD, o, val);
    return 0;
}

static void draw_progress(const tlp_progress *p, int tty)
{
    char eta[32] = "?", top[64] = "", net[48] = "";
    if (p->nets > 1) snprintf(net, sizeof net, "network %d/%d (%s) ", p->net, p->nets, tlp_encode_name(p->net_encode));
    if (isfinite(p->eta_s)) snprintf(eta, sizeof eta, "%dm%02ds", (int)p->eta_s / 60, (int)p->eta_s % 60);
    if (isfinite(p->val_top1)) snprintf(top, sizeof top, " top-1 %.3f top-5 %.3f", p->val_top1, p->val_top5);
    if (tty) {
        int width = 24, fill = p->steps_per_epoch ? (int)(width * p->step / p->steps_per_epoch) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r\033[K%sepoch %d/%d [%s] step %ld/%ld loss %.4g val %.4g%s %.0f samples/s ETA %s", net,
                p->epoch, p->epochs, bar, p->step, p->steps_per_epoch, p->loss, p->val_loss, top, p->samples_per_s, eta);
    } else
        fprintf(stderr, "%sepoch %d/%d: loss %.6g val %.6g%s kept epoch %d, %.0f samples/s, ETA %s\n", net, p->epoch,
                p->epochs, p->loss, p->val_loss, top, p->best_epoch, p->samples_per_s, eta);
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    if (got_signal) { /* the second: stop now (the file saved last is whole) */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    got_signal = sig;
}

/* The provenance note saved in the model: the command line, without what
 * cannot change the model (threads, quiet, where it goes), so the same
 * training on another machine writes the same bytes. */
static void make_note(char *note, size_t cap, int argc, char **argv)
{
    size_t w = (size_t)snprintf(note, cap, "tlpx %s train", PACKAGE_VERSION);
    for (int i = 1; i < argc && w + 1 < cap; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q") || !strncmp(a, "--threads=", 10) || !strncmp(a, "--out=", 6))
            continue;
        if (!strcmp(a, "--threads") || !strcmp(a, "-j") || !strcmp(a, "--out") || !strcmp(a, "-o")) {
            i++;
            continue;
        }
        w += (size_t)snprintf(note + w, cap - w, " %s", a);
    }
}

/* A training from the command line, carried through train()'s steps. */
typedef struct {
    train_args a;
    cli_data_opts o;
    int rank;            /* under mpirun: rank 0 reports and writes the model, the others compute */
    tlp_train_meta meta; /* --resume: the file's plan and settings */
    tlp_train_state rs;  /* --resume: Adam's moments and the averaging ring */
    tlp_dataset *ds;
    tlp_samples *s;
    tlp_model *init;     /* --resume's model, or --init's adapted to the data's heads */
    tlp_model *from;     /* --init's model as its file has it */
} train_run;

/* The command line against train's table, and the checks that need no file. */
static int parse_train(train_run *r, int argc, char **argv)
{
    train_args *a = &r->a;
    a->data = &r->o;
    r->o.paths = calloc((size_t)argc, sizeof *r->o.paths);
    if (!r->o.paths) return EXIT_FAIL;
    int rc = cli_parse(&TRAIN_CMD, argc, argv, &r->o, train_arg, a);
    if (rc >= 0) return rc;
    r->rank = tlp_dist_rank();
    if (r->rank > 0) r->o.quiet = 1;
    if (!r->o.n_paths || !a->out)
        return cli_usage_error(&TRAIN_CMD, "%s", r->o.n_paths ? "--out MODEL is required" : "no DATA given");
    if (a->resume && a->recipe)
        return cli_usage_error(&TRAIN_CMD, "--resume continues with the saved settings; --recipe cannot change them");
    if (a->resume && a->init)
        return cli_usage_error(&TRAIN_CMD,
                               "--resume continues a training; --init starts a new one from a model: one of them");
    if (tlp_train_recipe(&a->to, TLP_MODE_GPU, a->recipe ? a->recipe : TLP_RECIPE_DEFAULT) != TLP_OK)
        return cli_usage_error(&TRAIN_CMD, "--recipe is one of tlp, tlpx, not \"%s\"", a->recipe);
    a->to.threads = cli_default_threads();
    return -1;
}

/* --resume: the model, its state and the settings it was trained with. */
static int resume_from(train_run *r)
{
    const char *path = r->a.resume;
    if (!(r->init = cli_load_model(path, &r->meta, &r->rs))) return EXIT_FAIL;
    if (!r->rs.m) {
        fprintf(stderr, "tlpx train: %s has no Adam state (saved with --weights-only): a training cannot "
                        "resume from it\n", path);
        return EXIT_FAIL;
    }
    if (r->meta.average > 0 && !r->rs.ring)
        fprintf(stderr, "tlpx train: %s keeps the mean of the last %d epochs' weights but not the weights "
                        "themselves (saved by an older tlpx): training goes on from the mean, so not bit for "
                        "bit as the run would have\n", path, r->meta.average);
    cli_train_resumed(&r->a.to, tlp_model_config_of(r->init)->mode, &r->meta);
    return -1;
}

/* tlp_train_opts.on_kept: the kept model into --out (without the state
 * to resume with --weights-only). */
static tlp_status save_kept(void *ctx, const tlp_model *m, const tlp_train_meta *meta, const tlp_train_state *state,
                            tlp_error *err)
{
    const train_args *a = ctx;
    return tlp_checkpoint_save(a->out, m, meta, a->weights_only ? NULL : state, err);
}

/* The settings: the recipe's (or the resumed training's), then the options
 * in order; the note; and whether the model can be written at all. */
static int settle_settings(train_run *r, int argc, char **argv)
{
    train_args *a = &r->a;
    tlp_train_opts *to = &a->to;
    if (a->resume && resume_from(r) >= 0) return EXIT_FAIL;
    if (cli_settings_apply(&a->set, &TRAIN_CMD, to)) return EXIT_USAGE;
    if (a->resume && (to->n_nets != r->meta.n_nets ||
                      memcmp(to->encode, r->meta.nets, sizeof(tlp_encode) * (size_t)to->n_nets) != 0)) {
        char enc[64];
        return cli_usage_error(&TRAIN_CMD, "--resume: the model's networks are of %s tokens; they cannot change",
                               cli_encodes(r->meta.nets, r->meta.n_nets, enc, sizeof enc));
    }
    make_note(to->note, sizeof to->note, argc, argv);
    tlp_error we = {0}; /* before anything long: can the model be written there? */
    if (tlp_check_writable(a->out, &we) != TLP_OK) {
        fprintf(stderr, "tlpx train: %s: %s\n", we.file[0] ? we.file : a->out, we.msg);
        return EXIT_FAIL;
    }
    if (r->rank == 0) { /* the kept model saved after every epoch that changes it */
        to->on_kept = save_kept;
        to->kept_ctx = a;
    }
    return -1;
}

/* The mode: asked, the resumed model's, else the only one in the data; then
 * the recipe's settings of that mode (batch, encoding). */
static int pick_mode(train_run *r)
{
    tlp_train_opts *to = &r->a.to;
    const char *asked = r->a.mode;
    size_t per_mode[TLP_MODE_COUNT] = {0};
    for (size_t t = 0; t < tlp_dataset_n_tasks(r->ds); t++)
        per_mode[tlp_dataset_task(r->ds, t)->mode] += tlp_dataset_task(r->ds, t)->n_records;
    if (asked) {
        if (!strcmp(asked, "cpu")) to->mode = TLP_MODE_CPU;
        else if (!strcmp(asked, "gpu")) to->mode = TLP_MODE_GPU;
        else return cli_usage_error(&TRAIN_CMD, "--mode is cpu or gpu, not \"%s\"", asked);
    } else if (!r->a.resume) {
        if (per_mode[TLP_MODE_CPU] && per_mode[TLP_MODE_GPU])
            return cli_usage_error(&TRAIN_CMD, "DATA holds both cpu and gpu records; say which with --mode");
        to->mode = per_mode[TLP_MODE_CPU] ? TLP_MODE_CPU : TLP_MODE_GPU;
    }
    tlp_train_resolve(to, to->mode);
    return -1;
}

/* Every head has records of its hardware in the mode; 0, or -1 after saying which has none. */
static int check_heads(const tlp_dataset *ds, const tlp_train_opts *to)
{
    for (int h = 0; h < to->n_heads; h++) {
        int found = 0;
        for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++) {
            const tlp_hw_stats *st = tlp_dataset_hw(ds, k);
            found |= st->mode == to->mode && !strcmp(st->hardware, to->heads[h]);
        }
        if (found) continue;
        fprintf(stderr, "tlpx train: no %s records of hardware \"%s\" in DATA (have:", tlp_mode_name(to->mode),
                to->heads[h]);
        for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++) fprintf(stderr, " %s", tlp_dataset_hw(ds, k)->hardware);
        fprintf(stderr, ")\n");
        return -1;
    }
    return 0;
}

/* DATA into the samples of the heads (a resumed model's heads, in its order). */
static int load_samples(train_run *r)
{
    tlp_train_opts *to = &r->a.to;
    if (!(r->ds = cli_load(&r->o))) return EXIT_FAIL;
    int rc = pick_mode(r);
    if (rc >= 0) return rc;
    if (r->a.init && !(r->from = cli_load_model(r->a.init, NULL, NULL))) return EXIT_FAIL;
    if (r->init) {
        const tlp_model_config *c = tlp_model_config_of(r->init);
        to->n_heads = c->n_heads;
        memcpy(to->heads, c->heads, sizeof to->heads);
    }
    const tlp_model *m0 = r->init ? r->init : r->from; /* a run from a model keeps its crop */
    if (m0 && !to->steps) to->steps = tlp_model_config_of(m0)->steps;
    if (check_heads(r->ds, to)) return EXIT_FAIL;
    tlp_error err = {0};
    if (!(r->s = tlp_samples_build(r->ds, to, &err))) {
        cli_error("tlpx train", &err);
        return EXIT_FAIL;
    }
    return -1;
}

/* --init (fine-tuning): the model's networks, trunk and heads, fresh heads
 * for the hardware it has none of. */
static int init_from(train_run *r)
{
    const char *path = r->a.init;
    tlp_train_opts *to = &r->a.to;
    tlp_model *from = r->from;
    r->from = NULL;
    tlp_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = to->mode;
    cfg.steps = tlp_train_steps(to);
    cli_train_nets_of(to, from); /* the model's networks and tokens, whatever the recipe's */
    cfg.encode = to->encode[0];
    cfg.n_heads = tlp_samples_n_heads(r->s);
    for (int h = 0; h < cfg.n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", tlp_samples_head(r->s, h));
    tlp_error err = {0};
    r->init = tlp_model_adapt(from, &cfg, to->seed, &err);
    if (!r->init) fprintf(stderr, "tlpx train: --init %s: %s\n", path, err.msg);
    else if (!r->o.quiet) {
        fprintf(stderr, "starting from %s:", path);
        for (int h = 0; h < cfg.n_heads; h++)
            fprintf(stderr, " %s (%s)", cfg.heads[h], tlp_model_head(from, cfg.heads[h]) >= 0 ? "its head" : "new");
        fprintf(stderr, "%s\n", to->freeze_trunk ? "; the trunk frozen" : "");
    }
    tlp_model_free(from);
    return r->init ? -1 : EXIT_FAIL;
}

static void say_start(const tlp_train_opts *to, const tlp_samples *s)
{
    char enc[64];
    fprintf(stderr, "training %s model (recipe %s, %s%s tokens) on %zu samples (%zu with several labels), heads:",
            tlp_mode_name(to->mode), to->recipe, to->n_nets > 1 ? "an ensemble of networks of " : "",
            cli_encodes(to->encode, to->n_nets, enc, sizeof enc), tlp_samples_count(s), tlp_samples_multi(s));
    for (int h = 0; h < tlp_samples_n_heads(s); h++)
        fprintf(stderr, " %s (%zu labels)", tlp_samples_head(s, h), tlp_samples_labelled(s, h));
    fprintf(stderr, "\n");
}

/* SIGINT / SIGTERM: finish the step, keep the model, say where; a second one
 * ends the process at once (the last saved file is whole). */
static void catch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    got_signal = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

/* Wait for the job, showing its progress; a signal cancels it.  Returns the
 * signal, or 0. */
static int watch_job(tlp_job *job, int quiet, tlp_progress *p)
{
    int tty = isatty(2), last_epoch = 0, warned_save = 0, cancelled = 0;
    for (;;) {
        struct pollfd pfd = {tlp_job_fd(job), POLLIN, 0};
        poll(&pfd, 1, 1000);
        if (got_signal && !cancelled) {
            cancelled = got_signal;
            tlp_job_cancel(job);
        }
        char buf[256];
        while (read(tlp_job_fd(job), buf, sizeof buf) > 0) {
        }
        tlp_job_progress(job, p);
        if (!quiet && p->epoch > 0 && (tty || p->n_hist > last_epoch)) {
            if (p->n_hist > last_epoch || tty) draw_progress(p, tty);
            last_epoch = p->n_hist;
        }
        if (p->save_error[0] && !warned_save++)
            fprintf(stderr, "%stlpx train: cannot save the model after an epoch: %s (training goes on)\n",
                    tty ? "\n" : "", p->save_error);
        if (p->state != TLP_JOB_RUNNING) break;
    }
    if (tty && !quiet) fputc('\n', stderr);
    return cancelled;
}

/* A cancelled training's kept model is saved: say what is in it. */
static void say_stopped(const train_run *r, const tlp_train_meta *done, const tlp_progress *p, int sig)
{
    const char *out = r->a.out, *how = sig == SIGINT ? "interrupted" : "terminated";
    if (done->n_nets > 1)
        fprintf(stderr, "tlpx train: %s in network %d of %d: %d finished network%s and the kept epoch of the "
                        "one in training are in %s\n",
                how, p->net, p->nets, done->nets_done, done->nets_done == 1 ? "" : "s", out);
    if (r->a.weights_only)
        fprintf(stderr, "tlpx train: %s during epoch %d: the model of epoch %d is in %s (weights only: "
                        "a training cannot resume from it)\n",
                how, p->epoch, done->best_epoch, out);
    else
        fprintf(stderr, "tlpx train: %s during epoch %d: the model of epoch %d is in %s; "
                        "`tlpx train DATA... --resume %s --out %s` continues\n",
                how, p->epoch, done->best_epoch, out, out, out);
}

static void say_written(const train_run *r, const tlp_train_meta *done, const tlp_progress *p)
{
    char enc[64];
    if (r->o.quiet) return;
    if (done->n_nets > 1)
        fprintf(stderr, "wrote %s: an ensemble of %d networks (%s tokens), each %d epochs (the last kept "
                        "by %s: epoch %d); %d saves after epochs, %.0f ms each\n",
                r->a.out, done->n_nets, cli_encodes(done->nets, done->n_nets, enc, sizeof enc), done->epochs,
                done->select, done->best_epoch, p->saves, p->saves ? 1000 * p->save_s / p->saves : 0.0);
    else
        fprintf(stderr, "wrote %s: epoch %d of %d kept (by %s); %d save%s after epochs, %.0f ms each\n", r->a.out,
                done->best_epoch, p->epoch, done->select, p->saves, p->saves == 1 ? "" : "s",
                p->saves ? 1000 * p->save_s / p->saves : 0.0);
}

/* The job's end: rank 0 saves the kept model (with the state to resume
 * unless --weights-only) and says what it holds.  Returns the exit status. */
static int finish_job(train_run *r, tlp_job *job, const tlp_progress *p, int sig)
{
    tlp_model *best = NULL;
    tlp_train_meta done;
    tlp_train_state bs = {0};
    tlp_error err = {0};
    int rc = EXIT_FAIL;
    tlp_status st = tlp_job_finish(job, &best, &done, &bs, &err);
    if (st != TLP_OK) fprintf(stderr, "tlpx train: %s\n", err.msg);
    if (best && r->rank > 0) {
        rc = sig ? 128 + sig : st == TLP_OK ? EXIT_OK : EXIT_FAIL;
    } else if (best) {
        if (tlp_checkpoint_save(r->a.out, best, &done, r->a.weights_only ? NULL : &bs, &err) != TLP_OK)
            fprintf(stderr, "tlpx: %s: %s\n", err.file, err.msg);
        else if (sig) {
            say_stopped(r, &done, p, sig);
            rc = 128 + sig;
        } else {
            say_written(r, &done, p);
            if (st == TLP_OK) rc = EXIT_OK;
        }
    } else if (sig) {
        fprintf(stderr, "tlpx train: %s before the first epoch ended; nothing written\n",
                sig == SIGINT ? "interrupted" : "terminated");
        rc = 128 + sig;
    } else if (st == TLP_OK)
        fprintf(stderr, "tlpx train: no epoch finished; nothing written\n");
    tlp_model_free(best), tlp_train_state_free(&bs);
    return rc;
}

/* The engine's job trains; this thread watches it and saves what it kept. */
static int run_job(train_run *r)
{
    tlp_error err = {0};
    tlp_job *job = tlp_train_start(r->s, &r->a.to, r->init, r->a.resume ? &r->meta : NULL, &r->rs, &err);
    if (!job) {
        fprintf(stderr, "tlpx train: %s\n", err.msg);
        return EXIT_FAIL;
    }
    struct sigaction old_int, old_term;
    catch_signals(&old_int, &old_term);
    tlp_progress p;
    int sig = watch_job(job, r->o.quiet, &p);
    int rc = finish_job(r, job, &p, sig);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* `tlpx train`, step by step; each step returns -1 to go on, else the exit
 * status. */
static int train(int argc, char **argv)
{
    train_run r;
    memset(&r, 0, sizeof r);
    int rc = parse_train(&r, argc, argv);
    if (rc < 0) rc = settle_settings(&r, argc, argv);
    if (rc < 0) rc = load_samples(&r);
    if (rc < 0 && r.a.init) rc = init_from(&r);
    if (rc < 0 && !r.o.quiet) say_start(&r.a.to, r.s);
    if (rc < 0) rc = run_job(&r);
    tlp_samples_free(r.s);
    tlp_dataset_free(r.ds);
    tlp_model_free(r.init), tlp_model_free(r.from), tlp_train_state_free(&r.rs);
    free(r.o.paths);
    return rc;
}

/* Under mpirun (a build --with-mpi) every rank runs train; one that fails
 * ends the job, since the others would wait for it forever. */
int cmd_train(int argc, char **argv)
{
    if (tlp_dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "tlpx train: MPI did not start (MPI_THREAD_SERIALIZED needed)\n");
        return EXIT_FAIL;
    }
    int rc = train(argc, argv);
    if (tlp_dist_size() > 1 && rc != EXIT_OK && rc != 130 && rc != 143) {
        fprintf(stderr, "tlpx train: rank %d of %d failed (exit %d): ending the job; the last saved model is whole\n",
                tlp_dist_rank(), tlp_dist_size(), rc);
        tlp_dist_abort(rc);
    }
    tlp_dist_finish();
    return rc;
}
