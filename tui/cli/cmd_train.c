/* cmd_train.c: `tlpx train`, `tlpx eval` and `tlpx predict`: the model from
 * the command line, for scripts and CI.  The training settings (epochs,
 * recipe, ...) are parsed by one function, cli_train_set, which the
 * explorer's :train shares. */
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ training settings */

static const char *const LOSSES[] = {"rank", "mse", NULL};
static const char *const PAIRS[] = {"batch", "task", NULL};
static const char *const SPLITS[] = {"task", "record", NULL};
static const char *const ENCODES[] = {"raw", "log", "prog", NULL};
static const char *const SELECTS[] = {"loss", "topk", "last", NULL};
static const char *const SCHEDS[] = {"const", "cosine", NULL};
static const char *const FAILEDS[] = {"keep", "demote", NULL};

static int choice(const char *v, const char *const *c)
{
    for (int i = 0; c[i]; i++)
        if (!strcmp(v, c[i])) return i;
    return -1;
}

/* "log,prog": the networks' encodings, into o; -1 when one is unknown or
 * there are too many. */
static int parse_encodes(tlp_train_opts *o, const char *v)
{
    tlp_encode e[TLP_MAX_MEMBERS];
    int n = 0;
    for (const char *p = v;;) { /* each name between commas; an empty one is no encoding */
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[16];
        if (n == TLP_MAX_MEMBERS || len >= sizeof name) return -1;
        memcpy(name, p, len);
        name[len] = 0;
        int c = choice(name, ENCODES);
        if (c < 0) return -1;
        e[n++] = (tlp_encode)c;
        if (!end) break;
        p = end + 1;
    }
    o->n_nets = n;
    memcpy(o->encode, e, sizeof e);
    return 0;
}

void cli_train_nets_of(tlp_train_opts *o, const tlp_model *m)
{
    o->n_nets = tlp_model_n_members(m);
    for (int k = 0; k < o->n_nets; k++) o->encode[k] = tlp_model_config_of(tlp_model_member(m, k))->encode;
}

const char *cli_encodes(const tlp_encode *e, int n, char *buf, size_t cap)
{
    size_t w = 0;
    buf[0] = 0;
    for (int k = 0; k < n && w < cap; k++)
        w += (size_t)snprintf(buf + w, cap - w, "%s%s", k ? "," : "", tlp_encode_name(e[k]));
    return buf;
}

static int whole(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

int cli_train_set(tlp_train_opts *o, const char *key, const char *v, char *why, size_t cap)
{
    long n;
    double d;
    char *end;
    int c;
#define BAD(...) return snprintf(why, cap, __VA_ARGS__), -1
    if (!v && strcmp(key, "freeze-trunk") != 0) BAD("%s needs a value: %s=VALUE", key, key);
    if (!strcmp(key, "recipe")) {
        tlp_train_opts keep = *o;
        if (tlp_train_recipe(o, o->mode, v) != TLP_OK) {
            *o = keep;
            BAD("recipe is tlp or tlpx, not \"%s\"", v);
        }
        o->threads = keep.threads; /* not a training setting */
        o->n_heads = keep.n_heads;
        memcpy(o->heads, keep.heads, sizeof o->heads);
        memcpy(o->note, keep.note, sizeof o->note);
        return 0;
    }
    /* the run's length, its seed, its threads and its heads do not change
     * the recipe; every other setting does */
    if (!strcmp(key, "epochs")) {
        if (whole(v, 1, 100000, &n)) BAD("epochs is a whole number from 1 to 100000, not \"%s\"", v);
        o->epochs = (int)n;
        return 0;
    } else if (!strcmp(key, "seed")) {
        if (whole(v, 0, LONG_MAX, &n)) BAD("seed is a whole number >= 0, not \"%s\"", v);
        o->seed = (uint64_t)n;
        return 0;
    } else if (!strcmp(key, "batch")) {
        if (whole(v, 2, 65536, &n)) BAD("batch is a whole number from 2 to 65536, not \"%s\"", v);
        o->batch = (int)n;
    } else if (!strcmp(key, "threads")) {
        if (whole(v, 1, 256, &n)) BAD("threads is a whole number from 1 to 256, not \"%s\"", v);
        o->threads = (int)n;
        return 0; /* not a training setting: the recipe stays */
    } else if (!strcmp(key, "average")) {
        if (whole(v, 0, 1000, &n)) BAD("average is a number of epochs from 0 to 1000, not \"%s\"", v);
        o->average = (int)n;
    } else if (!strcmp(key, "group")) {
        if (whole(v, 1, 65536, &n)) BAD("group is a whole number from 1 to 65536, not \"%s\"", v);
        o->group = (int)n;
    } else if (!strcmp(key, "lr")) {
        errno = 0;
        d = strtod(v, &end);
        if (!*v || *end || errno || !(d > 0 && d < 10)) BAD("lr is a number above 0 and below 10, not \"%s\"", v);
        o->lr = (float)d;
    } else if (!strcmp(key, "val")) {
        errno = 0;
        d = strtod(v, &end);
        if (!*v || *end || errno || !(d >= 0 && d < 1)) BAD("val is a fraction from 0 to below 1, not \"%s\"", v);
        o->val_frac = d;
    } else if (!strcmp(key, "loss")) {
        if ((c = choice(v, LOSSES)) < 0) BAD("loss is rank or mse, not \"%s\"", v);
        o->loss = (tlp_loss_kind)c;
    } else if (!strcmp(key, "pairs")) {
        if ((c = choice(v, PAIRS)) < 0) BAD("pairs is batch or task, not \"%s\"", v);
        o->pairs = (tlp_pairs_kind)c;
    } else if (!strcmp(key, "split")) {
        if ((c = choice(v, SPLITS)) < 0) BAD("split is task or record, not \"%s\"", v);
        o->split = (tlp_split_kind)c;
    } else if (!strcmp(key, "encode")) {
        if (parse_encodes(o, v))
            BAD("encode is raw, log or prog, or several with commas (log,prog: one network each, as an ensemble; "
                "at most %d), not \"%s\"", TLP_MAX_MEMBERS, v);
    } else if (!strcmp(key, "select")) {
        if ((c = choice(v, SELECTS)) < 0) BAD("select is loss, topk or last, not \"%s\"", v);
        o->select = (tlp_select_kind)c;
    } else if (!strcmp(key, "sched")) {
        if ((c = choice(v, SCHEDS)) < 0) BAD("sched is const or cosine, not \"%s\"", v);
        o->sched = (tlp_sched_kind)c;
    } else if (!strcmp(key, "budget")) {
        if (whole(v, 1, LONG_MAX, &n)) BAD("budget is a number of samples >= 1, not \"%s\"", v);
        o->budget = (int)(n > 2000000000 ? 2000000000 : n);
        return 0; /* how much data, not how to train */
    } else if (!strcmp(key, "freeze-trunk")) {
        if (v && *v) BAD("freeze-trunk takes no value");
        o->freeze_trunk = 1;
    } else if (!strcmp(key, "failed")) {
        if ((c = choice(v, FAILEDS)) < 0) BAD("failed is keep or demote, not \"%s\"", v);
        o->failed = (tlp_failed_kind)c;
    } else if (!strcmp(key, "heads")) {
        char copy[TLP_MAX_HEADS * TLP_HEAD_NAME], *save = NULL;
        snprintf(copy, sizeof copy, "%s", v);
        o->n_heads = 0;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (o->n_heads == TLP_MAX_HEADS) BAD("at most %d heads", TLP_MAX_HEADS);
            snprintf(o->heads[o->n_heads++], TLP_HEAD_NAME, "%s", tok);
        }
        if (!o->n_heads) BAD("heads needs hardware names: heads=K80,V100");
        return 0; /* which heads is data, not recipe */
    } else
        BAD("no training setting \"%s\"", key);
#undef BAD
    /* a setting changed after the recipe: the settings are the recipe's no more */
    snprintf(o->recipe, sizeof o->recipe, "custom");
    return 0;
}

/* ------------------------------------------------------------ shared */

static tlp_model *load_model(const char *path, tlp_train_meta *meta, tlp_train_state *state)
{
    tlp_error err = {0};
    tlp_model *model = tlp_checkpoint_load(path, meta, state, &err);
    if (!model) fprintf(stderr, "tlpx: %s: %s\n", err.file[0] ? err.file : path, err.msg);
    return model;
}

/* The head that scores task t: forced, or the task's own hardware, else 0. */
static int head_for(const tlp_model *m, const tlp_task *t, int forced)
{
    if (forced >= 0) return forced;
    int h = tlp_model_head(m, t->hardware);
    return h >= 0 ? h : 0;
}

/* Scores of every record under the heads the tasks need: all of them in one
 * pass over the records at the first call (the trunk computed once). */
typedef struct {
    float *scores[TLP_MAX_HEADS];
    int quiet;
    int forced; /* --head as an index, -1 without: every task scored by it */
} score_cache;

/* Progress of scoring on a terminal: "scoring with heads K80, V100: 45%". */
typedef struct {
    const char *heads;
    int shown;
} score_progress;

static int show_score_progress(void *ctx, double frac)
{
    score_progress *p = ctx;
    int pct = (int)(100 * frac);
    if (pct != p->shown) {
        fprintf(stderr, "\r\033[Kscoring with %s: %d%%", p->heads, pct);
        p->shown = pct;
    }
    return 0;
}

/* The scores of task tk's head (head_for). */
static const float *scores_for(tlp_model *m, const tlp_dataset *ds, score_cache *c, const tlp_task *tk)
{
    int h = head_for(m, tk, c->forced);
    if (c->scores[h]) return c->scores[h];
    const tlp_model_config *cfg = tlp_model_config_of(m);
    int want[TLP_MAX_HEADS] = {0}, heads[TLP_MAX_HEADS], nh = 0;
    want[h] = 1;
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *other = tlp_dataset_task(ds, t);
        if (other->mode == cfg->mode) want[head_for(m, other, c->forced)] = 1;
    }
    float *s[TLP_MAX_HEADS];
    size_t n = tlp_dataset_n_records(ds);
    char names[256];
    size_t len = 0;
    for (int k = 0; k < cfg->n_heads; k++) {
        if (!want[k] || c->scores[k]) continue;
        if (!(s[nh] = malloc(sizeof(float) * (n ? n : 1)))) {
            while (nh--) free(s[nh]);
            fprintf(stderr, "tlpx: out of memory\n");
            return NULL;
        }
        heads[nh++] = k;
        int w = snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", cfg->heads[k]);
        if (w > 0 && (size_t)w < sizeof names - len) len += (size_t)w;
    }
    char label[300];
    snprintf(label, sizeof label, "head%s %s", nh > 1 ? "s" : "", names);
    tlp_error err = {0};
    score_progress sp = {label, -1};
    int live = !c->quiet && isatty(2);
    if (!c->quiet && !live) fprintf(stderr, "tlpx: scoring %zu records with %s\n", n, label);
    tlp_status st = tlp_predict_heads(m, ds, heads, nh, s, live ? show_score_progress : NULL, &sp, &err);
    if (live) fprintf(stderr, "\r\033[K");
    if (st != TLP_OK) {
        fprintf(stderr, "tlpx: %s\n", err.msg);
        for (int k = 0; k < nh; k++) free(s[k]);
        return NULL;
    }
    for (int k = 0; k < nh; k++) c->scores[heads[k]] = s[k];
    return c->scores[h];
}

/* ------------------------------------------------------------ train */

static const cli_opt TRAIN_OPTS[] = {
    {"--out", "-o", "MODEL", "write the kept model here (atomically), with the state to resume it"},
    {"--recipe", NULL, "NAME", "tlpx (default: the measured better recipe) or tlp (TLP's own)"},
    {"--epochs", NULL, "N", "passes over the training samples (recipe tlpx: 10, tlp: 50)"},
    {"--batch", NULL, "N", "samples per optimiser step (recipe tlpx: 256 on GPU records, 1024 on CPU; tlp: 1024)"},
    {"--lr", NULL, "X", "Adam's learning rate (7e-4)"},
    {"--sched", NULL, "KIND", "learning rate over the run: const or cosine (decays to 0)"},
    {"--loss", NULL, "KIND", "rank (LambdaRank, spec 4.3) or mse"},
    {"--pairs", NULL, "KIND", "LambdaRank pairs over the whole batch (TLP) or within a task"},
    {"--group", NULL, "N", "--pairs task: samples of one task per run in a batch (128)"},
    {"--encode", NULL, "KIND[,KIND]", "token values into the network: raw (TLP), log: sign(x) log2(1+|x|), or prog: log and a row of whole-program tile figures; several: one network each, trained in turn, kept as one ensemble (recipe tlpx: log,prog)"},
    {"--select", NULL, "KIND", "the epoch kept: loss (least validation loss), topk (best validation top-1+top-5), last"},
    {"--average", NULL, "N", "each epoch's candidate is the mean of the last N epochs' weights (0: off; recipe tlpx: 3 on GPU records, 0 on CPU)"},
    {"--failed", NULL, "KIND", "a failed measurement's label: keep (TLP: min_cost/1e10) or demote (-1, below all)"},
    {"--split", NULL, "KIND", "validation holds out 10% of the tasks (task, tlpx) or of the records (record, TLP's)"},
    {"--val", NULL, "X", "the fraction held out for validation (0.1; 0: none, keep the least training loss)"},
    {"--heads", NULL, "HW,HW...", "one head per hardware, the first is the target (default: every hardware found)"},
    {"--mode", NULL, "cpu|gpu", "which records, when DATA holds both"},
    {"--seed", NULL, "N", "initial weights, split and shuffles (0)"},
    {"--threads", "-j", "N", "threads (default: every CPU, at most 16; the model is the same for any number)"},
    {"--resume", NULL, "MODEL", "continue a training from its saved model and state, as if it had not stopped"},
    {"--init", NULL, "MODEL", "start from MODEL's weights (fine-tuning); heads it lacks start fresh"},
    {"--freeze-trunk", NULL, NULL, "train the heads only (with --init: a new hardware's head on a trained trunk)"},
    {"--budget", NULL, "N", "the target head (the first) keeps labels on N random samples only (MTL-TLP's budget)"},
    {"--weights-only", NULL, NULL, "save no Adam state (nor the averaged epochs' weights): a third of the size or less, but no --resume"},
    {NULL, NULL, NULL, NULL},
};

const char *cli_train_setting(int i)
{
    /* the options of `tlpx train` that are training settings (cli_train_set) */
    for (const cli_opt *o = TRAIN_OPTS; o->name; o++) {
        if (!strcmp(o->name, "--out") || !strcmp(o->name, "--mode") || !strcmp(o->name, "--resume")) continue;
        if (i-- == 0) return o->name + 2;
    }
    return NULL;
}

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
    TRAIN_OPTS, 1};

typedef struct {
    cli_data_opts *data;
    tlp_train_opts to;
    const char *out, *resume, *mode, *init;
    /* settings given on the command line, in order, applied after the recipe */
    const char *keys[64], *vals[64];
    int n_set;
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
    else {
        if (a->n_set == 64) return cli_usage_error(&TRAIN_CMD, "too many settings");
        a->keys[a->n_set] = o->name + 2;
        a->vals[a->n_set++] = val;
    }
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

static int train(int argc, char **argv)
{
    cli_data_opts o = {0};
    train_args a;
    memset(&a, 0, sizeof a);
    a.data = &o;
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = cli_parse(&TRAIN_CMD, argc, argv, &o, train_arg, &a);
    if (rc >= 0) {
        free(o.paths);
        return rc;
    }
    rc = EXIT_USAGE;
    int rank = tlp_dist_rank(); /* under mpirun: rank 0 reports and writes the model, the others compute */
    if (rank > 0) o.quiet = 1;
    tlp_dataset *ds = NULL;
    tlp_model *init = NULL;
    tlp_train_meta meta, *resume_meta = NULL;
    memset(&meta, 0, sizeof meta);
    tlp_train_state rs = {0};
    tlp_samples *s = NULL;
    tlp_train_opts *to = &a.to;
    char why[256];
    if (!o.n_paths || !a.out) {
        cli_usage_error(&TRAIN_CMD, "%s", o.n_paths ? "--out MODEL is required" : "no DATA given");
        goto done;
    }
    if (a.resume && a.recipe) {
        cli_usage_error(&TRAIN_CMD, "--resume continues with the saved settings; --recipe cannot change them");
        goto done;
    }
    if (a.resume && a.init) {
        cli_usage_error(&TRAIN_CMD, "--resume continues a training; --init starts a new one from a model: one of them");
        goto done;
    }
    if (tlp_train_recipe(to, TLP_MODE_GPU, a.recipe ? a.recipe : TLP_RECIPE_DEFAULT) == TLP_OK)
        to->threads = cli_default_threads();
    else {
        cli_usage_error(&TRAIN_CMD, "--recipe is one of tlp, tlpx, not \"%s\"", a.recipe);
        goto done;
    }
    rc = EXIT_FAIL;
    if (a.resume) {
        /* the checkpoint's settings, then what the command line changes */
        init = load_model(a.resume, &meta, &rs);
        if (!init) goto done;
        if (!rs.m) {
            fprintf(stderr, "tlpx train: %s has no Adam state (saved with --weights-only): a training cannot "
                            "resume from it\n", a.resume);
            goto done;
        }
        if (meta.average > 0 && !rs.ring)
            fprintf(stderr, "tlpx train: %s keeps the mean of the last %d epochs' weights but not the weights "
                            "themselves (saved by an older tlpx): training goes on from the mean, so not bit for "
                            "bit as the run would have\n", a.resume, meta.average);
        resume_meta = &meta;
        to->mode = tlp_model_config_of(init)->mode;
        to->n_nets = meta.n_nets;
        memcpy(to->encode, meta.nets, sizeof to->encode);
        to->epochs = meta.epochs;
        if (meta.batch >= 2) to->batch = meta.batch;
        to->seed = meta.seed;
        if (meta.lr > 0) to->lr = meta.lr;
        if (meta.weight_decay >= 0) to->weight_decay = meta.weight_decay;
        if (meta.clip > 0) to->clip = meta.clip;
        to->loss = !strcmp(meta.loss, "mse") ? TLP_LOSS_MSE : TLP_LOSS_RANK;
        to->pairs = !strcmp(meta.pairs, "task") ? TLP_PAIRS_TASK : TLP_PAIRS_BATCH;
        to->split = !strcmp(meta.split, "record") ? TLP_SPLIT_RECORD : TLP_SPLIT_TASK;
        to->select = (tlp_select_kind)(choice(meta.select, SELECTS) > 0 ? choice(meta.select, SELECTS) : 0);
        to->sched = !strcmp(meta.sched, "cosine") ? TLP_SCHED_COSINE : TLP_SCHED_CONST;
        to->failed = !strcmp(meta.failed, "demote") ? TLP_FAILED_DEMOTE : TLP_FAILED_KEEP;
        to->average = meta.average;
        if (meta.group > 0) to->group = meta.group;
        snprintf(to->recipe, sizeof to->recipe, "%s", meta.recipe);
    }
    for (int i = 0; i < a.n_set; i++)
        if (cli_train_set(to, a.keys[i], a.vals[i], why, sizeof why)) {
            rc = cli_usage_error(&TRAIN_CMD, "--%s", why);
            goto done;
        }
    if (a.resume && (to->n_nets != meta.n_nets ||
                     memcmp(to->encode, meta.nets, sizeof(tlp_encode) * (size_t)to->n_nets) != 0)) {
        char enc[64];
        rc = cli_usage_error(&TRAIN_CMD, "--resume: the model's networks are of %s tokens; they cannot change",
                             cli_encodes(meta.nets, meta.n_nets, enc, sizeof enc));
        goto done;
    }
    make_note(to->note, sizeof to->note, argc, argv);
    {
        /* before anything long: can the model be written there? */
        tlp_error we = {0};
        if (tlp_check_writable(a.out, &we) != TLP_OK) {
            fprintf(stderr, "tlpx train: %s: %s\n", we.file[0] ? we.file : a.out, we.msg);
            goto done;
        }
    }
    to->save_path = rank == 0 ? a.out : NULL;
    to->weights_only = a.weights_only;
    if (!(ds = cli_load(&o))) goto done;
    /* the mode: asked, the resumed model's, else the only one in the data */
    size_t per_mode[TLP_MODE_COUNT] = {0};
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++)
        per_mode[tlp_dataset_task(ds, t)->mode] += tlp_dataset_task(ds, t)->n_records;
    if (a.mode) {
        if (!strcmp(a.mode, "cpu")) to->mode = TLP_MODE_CPU;
        else if (!strcmp(a.mode, "gpu")) to->mode = TLP_MODE_GPU;
        else {
            rc = cli_usage_error(&TRAIN_CMD, "--mode is cpu or gpu, not \"%s\"", a.mode);
            goto done;
        }
    } else if (!a.resume) {
        if (per_mode[TLP_MODE_CPU] && per_mode[TLP_MODE_GPU]) {
            rc = cli_usage_error(&TRAIN_CMD, "DATA holds both cpu and gpu records; say which with --mode");
            goto done;
        }
        to->mode = per_mode[TLP_MODE_CPU] ? TLP_MODE_CPU : TLP_MODE_GPU;
    }
    tlp_train_resolve(to, to->mode); /* the recipe's settings by the mode (batch, encoding) */
    if (init) { /* resuming: the model's heads, in its order */
        const tlp_model_config *c = tlp_model_config_of(init);
        to->n_heads = c->n_heads;
        memcpy(to->heads, c->heads, sizeof to->heads);
    }
    for (int h = 0; h < to->n_heads; h++) {
        int found = 0;
        for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++) {
            const tlp_hw_stats *st = tlp_dataset_hw(ds, k);
            found |= st->mode == to->mode && !strcmp(st->hardware, to->heads[h]);
        }
        if (!found) {
            fprintf(stderr, "tlpx train: no %s records of hardware \"%s\" in DATA (have:", tlp_mode_name(to->mode),
                    to->heads[h]);
            for (size_t k = 0; k < tlp_dataset_n_hw(ds); k++) fprintf(stderr, " %s", tlp_dataset_hw(ds, k)->hardware);
            fprintf(stderr, ")\n");
            goto done;
        }
    }
    tlp_error err = {0};
    s = tlp_samples_build(ds, to, &err);
    if (!s) {
        fprintf(stderr, "tlpx train: %s\n", err.msg);
        goto done;
    }
    if (a.init) { /* fine-tuning: the model's trunk and heads, fresh heads where it has none */
        tlp_model *from = load_model(a.init, NULL, NULL);
        if (!from) goto done;
        tlp_model_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = to->mode;
        cli_train_nets_of(to, from); /* the model's networks and tokens, whatever the recipe's */
        cfg.encode = to->encode[0];
        cfg.n_heads = tlp_samples_n_heads(s);
        for (int h = 0; h < cfg.n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", tlp_samples_head(s, h));
        init = tlp_model_adapt(from, &cfg, to->seed, &err);
        if (!init) fprintf(stderr, "tlpx train: --init %s: %s\n", a.init, err.msg);
        else if (!o.quiet) {
            fprintf(stderr, "starting from %s:", a.init);
            for (int h = 0; h < cfg.n_heads; h++)
                fprintf(stderr, " %s (%s)", cfg.heads[h], tlp_model_head(from, cfg.heads[h]) >= 0 ? "its head" : "new");
            fprintf(stderr, "%s\n", to->freeze_trunk ? "; the trunk frozen" : "");
        }
        tlp_model_free(from);
        if (!init) goto done;
    }
    if (!o.quiet) {
        char enc[64];
        fprintf(stderr, "training %s model (recipe %s, %s%s tokens) on %zu samples (%zu with several labels), heads:",
                tlp_mode_name(to->mode), to->recipe, to->n_nets > 1 ? "an ensemble of networks of " : "",
                cli_encodes(to->encode, to->n_nets, enc, sizeof enc), tlp_samples_count(s), tlp_samples_multi(s));
        for (int h = 0; h < tlp_samples_n_heads(s); h++)
            fprintf(stderr, " %s (%zu labels)", tlp_samples_head(s, h), tlp_samples_labelled(s, h));
        fprintf(stderr, "\n");
    }
    tlp_job *job = tlp_train_start(s, to, init, resume_meta, &rs, &err);
    if (!job) {
        fprintf(stderr, "tlpx train: %s\n", err.msg);
        goto done;
    }
    int tty = isatty(2);
    tlp_progress p;
    int last_epoch = 0, warned_save = 0;
    /* SIGINT / SIGTERM: finish the step, keep the model, say where; a
     * second one ends the process at once (the last saved file is whole) */
    got_signal = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int cancelled = 0;
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
        tlp_job_progress(job, &p);
        if (!o.quiet && p.epoch > 0 && (tty || p.n_hist > last_epoch)) {
            if (p.n_hist > last_epoch || tty) draw_progress(&p, tty);
            last_epoch = p.n_hist;
        }
        if (p.save_error[0] && !warned_save++)
            fprintf(stderr, "%stlpx train: cannot save the model after an epoch: %s (training goes on)\n",
                    tty ? "\n" : "", p.save_error);
        if (p.state != TLP_JOB_RUNNING) break;
    }
    if (tty && !o.quiet) fputc('\n', stderr);
    tlp_model *best = NULL;
    tlp_train_meta done_meta;
    tlp_train_state bs = {0};
    tlp_status st = tlp_job_finish(job, &best, &done_meta, &bs, &err);
    if (st != TLP_OK) fprintf(stderr, "tlpx train: %s\n", err.msg);
    if (best && rank > 0) {
        rc = cancelled ? 128 + cancelled : st == TLP_OK ? EXIT_OK : EXIT_FAIL;
    } else if (best) {
        if (tlp_checkpoint_save(a.out, best, &done_meta, a.weights_only ? NULL : &bs, &err) != TLP_OK)
            fprintf(stderr, "tlpx: %s: %s\n", err.file, err.msg);
        else if (cancelled) {
            if (done_meta.n_nets > 1)
                fprintf(stderr, "tlpx train: %s in network %d of %d: %d finished network%s and the kept epoch of the "
                                "one in training are in %s\n",
                        cancelled == SIGINT ? "interrupted" : "terminated", p.net, p.nets, done_meta.nets_done,
                        done_meta.nets_done == 1 ? "" : "s", a.out);
            if (a.weights_only)
                fprintf(stderr, "tlpx train: %s during epoch %d: the model of epoch %d is in %s (weights only: "
                                "a training cannot resume from it)\n",
                        cancelled == SIGINT ? "interrupted" : "terminated", p.epoch, done_meta.best_epoch, a.out);
            else
                fprintf(stderr, "tlpx train: %s during epoch %d: the model of epoch %d is in %s; "
                                "`tlpx train DATA... --resume %s --out %s` continues\n",
                        cancelled == SIGINT ? "interrupted" : "terminated", p.epoch, done_meta.best_epoch, a.out, a.out,
                        a.out);
            rc = 128 + cancelled;
        } else {
            char enc[64];
            if (!o.quiet && done_meta.n_nets > 1)
                fprintf(stderr, "wrote %s: an ensemble of %d networks (%s tokens), each %d epochs (the last kept "
                                "by %s: epoch %d); %d saves after epochs, %.0f ms each\n",
                        a.out, done_meta.n_nets, cli_encodes(done_meta.nets, done_meta.n_nets, enc, sizeof enc),
                        done_meta.epochs, done_meta.select, done_meta.best_epoch, p.saves,
                        p.saves ? 1000 * p.save_s / p.saves : 0.0);
            else if (!o.quiet)
                fprintf(stderr, "wrote %s: epoch %d of %d kept (by %s); %d save%s after epochs, %.0f ms each\n", a.out,
                        done_meta.best_epoch, p.epoch, done_meta.select, p.saves, p.saves == 1 ? "" : "s",
                        p.saves ? 1000 * p.save_s / p.saves : 0.0);
            if (st == TLP_OK) rc = EXIT_OK;
        }
    } else if (cancelled) {
        fprintf(stderr, "tlpx train: %s before the first epoch ended; nothing written\n",
                cancelled == SIGINT ? "interrupted" : "terminated");
        rc = 128 + cancelled;
    } else if (st == TLP_OK)
        fprintf(stderr, "tlpx train: no epoch finished; nothing written\n");
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    tlp_model_free(best), tlp_train_state_free(&bs);
done:
    tlp_samples_free(s);
    tlp_dataset_free(ds);
    tlp_model_free(init), tlp_train_state_free(&rs);
    free(o.paths);
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

/* ------------------------------------------------------------ eval and predict */

static const cli_opt EVAL_OPTS[] = {
    {"--head", NULL, "HW", "score every task with this head (default: each task by its hardware's head)"},
    {"--scores", NULL, "TSV", "score predictions from a file instead of a MODEL (tlpx predict's columns)"},
    {"--k", NULL, "K,K...", "the top-k figures (1,5; at most 8)"},
    {"--per-task", NULL, NULL, "a row per task"},
    {"--by-op", NULL, NULL, "the figures per operator too (the workload's name, or its DAG hash: conv2d_layer, #52c29cac)"},
    {"--tsv", NULL, NULL, "tab-separated figures for scripts (one row per head and figure; --by-op: head HW:OP)"},
    {"--threads", "-j", "N", "threads (default: every CPU, at most 16; the scores are the same for any number)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd EVAL_CMD = {
    "eval", "MODEL DATA... [OPTIONS]",
    "How well MODEL ranks the records of each task (spec 6).  For each k: the mean over\n"
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

static const cli_opt PREDICT_OPTS[] = {
    {"--head", NULL, "HW", "score every task with this head (default: each task by its hardware's head, else head 0)"},
    {"--threads", "-j", "N", "threads (default: every CPU, at most 16; the scores are the same for any number)"},
    {NULL, NULL, NULL, NULL},
};

const cli_cmd PREDICT_CMD = {
    "predict", "MODEL DATA... [OPTIONS]",
    "Prints a TSV: task hardware record measured_cost predicted_score predicted_rank\n"
    "(record = file:line; rank within the task, 1 = predicted fastest).",
    PREDICT_OPTS, 1};

static const cli_opt REPLAY_OPTS[] = {
    {"--head", NULL, "HW", "order every task with this head (default: each task by its hardware's head, else head 0)"},
    {"--within", NULL, "PCT", "how near the best counts as found, in percent (5)"},
    {"--scores", NULL, "TSV", "the order of predictions from a file instead of a MODEL (tlpx predict's columns)"},
    {"--threads", "-j", "N", "threads (default: every CPU, at most 16; the orders are the same for any number)"},
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

static int parse_ks(const char *s, int *ks, int *n)
{
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    int okv = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && okv; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (*n >= 8 || whole(t, 1, 1000000, &v)) okv = 0;
        else ks[(*n)++] = (int)v;
    }
    free(copy);
    return okv && *n > 0 ? 0 : -1;
}

/* Common front of eval and predict: MODEL DATA... [--head HW] ... */
typedef struct {
    const cli_cmd *cmd;
    cli_data_opts data;
    const char *model_path, *head, *scores_path;
    int per_task, by_op, tsv, threads;
    double within;       /* replay: how near the best counts, as a fraction */
    int ks[8], n_k;
    /* what open_session loads */
    tlp_model *m;
    tlp_train_meta meta;
    tlp_dataset *ds;
    score_cache cache;
} model_args;

static int model_arg(void *ctx, const cli_opt *o, const char *val)
{
    model_args *a = ctx;
    if (!o) {
        if (!a->model_path) a->model_path = val;
        else a->data.paths[a->data.n_paths++] = val;
    } else if (!strcmp(o->name, "--head"))
        a->head = val;
    else if (!strcmp(o->name, "--scores"))
        a->scores_path = val;
    else if (!strcmp(o->name, "--per-task"))
        a->per_task = 1;
    else if (!strcmp(o->name, "--by-op"))
        a->by_op = 1;
    else if (!strcmp(o->name, "--tsv"))
        a->tsv = 1;
    else if (!strcmp(o->name, "--k") && parse_ks(val, a->ks, &a->n_k))
        return cli_usage_error(a->cmd, "--k takes up to 8 numbers like 1,5,10, not \"%s\"", val);
    else if (!strcmp(o->name, "--threads")) {
        long t;
        if (cli_long(a->cmd, o, val, 1, 256, &t)) return EXIT_USAGE;
        a->threads = (int)t;
    } else if (!strcmp(o->name, "--within")) {
        double w;
        if (cli_double(a->cmd, o, val, -1e-9, 1000, &w)) return EXIT_USAGE;
        a->within = w / 100;
    }
    return 0;
}

static void close_session(model_args *a)
{
    for (int h = 0; h < TLP_MAX_HEADS; h++) free(a->cache.scores[h]);
    tlp_dataset_free(a->ds);
    tlp_model_free(a->m);
    free(a->data.paths);
}

/* Parse the arguments, load the model and the data, resolve --head.  -1 to
 * go on, else the exit status (everything is freed then). */
static int open_session(int argc, char **argv, model_args *a, const cli_cmd *cmd)
{
    a->cmd = cmd;
    a->cache.forced = -1;
    a->within = 0.05;
    a->ks[0] = 1, a->ks[1] = 5, a->n_k = 2;
    a->data.paths = calloc((size_t)argc, sizeof *a->data.paths);
    if (!a->data.paths) return EXIT_FAIL;
    int rc = cli_parse(cmd, argc, argv, &a->data, model_arg, a);
    if (rc < 0 && a->scores_path) { /* no MODEL: the first argument was DATA too */
        if (a->model_path) {
            memmove(a->data.paths + 1, a->data.paths, sizeof *a->data.paths * (size_t)a->data.n_paths);
            a->data.paths[0] = a->model_path;
            a->data.n_paths++;
            a->model_path = NULL;
        }
        if (!a->data.n_paths) rc = cli_usage_error(cmd, "no DATA given");
        if (rc >= 0) free(a->data.paths);
        else if (!(a->ds = cli_load(&a->data))) {
            close_session(a);
            rc = EXIT_FAIL;
        }
        return rc;
    }
    if (rc < 0 && (!a->model_path || !a->data.n_paths))
        rc = cli_usage_error(cmd, "%s", a->model_path ? "no DATA given" : "no MODEL given");
    if (rc >= 0) {
        free(a->data.paths);
        return rc;
    }
    tlp_set_threads(a->threads ? a->threads : cli_default_threads());
    a->cache.quiet = a->data.quiet;
    if (!(a->m = load_model(a->model_path, &a->meta, NULL)) || !(a->ds = cli_load(&a->data))) {
        close_session(a);
        return EXIT_FAIL;
    }
    const tlp_model_config *c = tlp_model_config_of(a->m);
    if (a->head && (a->cache.forced = tlp_model_head(a->m, a->head)) < 0) {
        fprintf(stderr, "tlpx: the model has no head \"%s\" (heads:", a->head);
        for (int h = 0; h < c->n_heads; h++) fprintf(stderr, " %s", c->heads[h]);
        fprintf(stderr, ")\n");
        close_session(a);
        return EXIT_FAIL;
    }
    return -1;
}

static void print_head(const model_args *a, const char *head, const tlp_eval_sum *sum, size_t records,
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

/* Scores from a TSV (task, hardware, file:line, cost, score[, ...]; a header
 * line is skipped) for the records of ds: scores[i] for record i, NAN where
 * the file has none.  Returns 0, or -1 after printing file:line: reason. */
static int read_scores(const char *path, const tlp_dataset *ds, float *scores)
{
    size_t nf = tlp_dataset_n_files(ds), nr = tlp_dataset_n_records(ds);
    /* record index by (file, line): per file an array over its lines */
    uint32_t *max_line = calloc(nf ? nf : 1, sizeof *max_line);
    uint32_t **by_line = calloc(nf ? nf : 1, sizeof *by_line);
    FILE *f = tlp_fopen_regular(path);
    int open_errno = errno;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = -1;
    if (!max_line || !by_line) goto out;
    if (!f) {
        fprintf(stderr, "tlpx: %s: cannot open: %s\n", path, tlp_fopen_why(open_errno));
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        const tlp_rec *r = tlp_dataset_rec(ds, i);
        if (r->line > max_line[r->file]) max_line[r->file] = r->line;
        scores[i] = NAN;
    }
    for (size_t k = 0; k < nf; k++) {
        by_line[k] = malloc(sizeof(uint32_t) * ((size_t)max_line[k] + 1));
        if (!by_line[k]) goto out;
        for (uint32_t l = 0; l <= max_line[k]; l++) by_line[k][l] = UINT32_MAX;
    }
    for (size_t i = 0; i < nr; i++) by_line[tlp_dataset_rec(ds, i)->file][tlp_dataset_rec(ds, i)->line] = (uint32_t)i;
    size_t last_file = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        char *col[6] = {NULL}, *save = NULL;
        int nc = 0;
        for (char *t = strtok_r(line, "\t", &save); t && nc < 6; t = strtok_r(NULL, "\t", &save)) col[nc++] = t;
        char *end = NULL;
        double sc = nc >= 5 ? strtod(col[4], &end) : 0;
        if (nc < 5 || *end || end == col[4]) {
            if (lineno == 1) continue; /* the header */
            fprintf(stderr, "tlpx: %s:%ld: expected task, hardware, file:line, cost, score separated by tabs\n", path,
                    lineno);
            goto out;
        }
        tlp_unescape(col[2]); /* predict escapes the file name */
        char *colon = strrchr(col[2], ':');
        long ln = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || *end || ln < 1) {
            fprintf(stderr, "tlpx: %s:%ld: the record column is FILE:LINE, not \"%s\"\n", path, lineno, col[2]);
            goto out;
        }
        *colon = 0;
        size_t fi = last_file < nf && !strcmp(tlp_dataset_file(ds, last_file), col[2]) ? last_file : nf;
        for (size_t k = 0; k < nf && fi == nf; k++)
            if (!strcmp(tlp_dataset_file(ds, k), col[2])) fi = k;
        if (fi == nf || (uint32_t)ln > max_line[fi] || by_line[fi][ln] == UINT32_MAX) {
            fprintf(stderr, "tlpx: %s:%ld: %s:%ld is not a record of the DATA given\n", path, lineno, col[2], ln);
            goto out;
        }
        last_file = fi;
        scores[by_line[fi][ln]] = (float)sc;
    }
    if (ferror(f)) {
        fprintf(stderr, "tlpx: %s: read error\n", path);
        goto out;
    }
    rc = 0;
out:
    if (f) fclose(f);
    free(line);
    for (size_t k = 0; by_line && k < nf; k++) free(by_line[k]);
    free(by_line);
    free(max_line);
    return rc;
}

/* Score each task t with task_head[t] >= 0 under that head's scores and
 * print one report per head.  Returns whether any task was scored. */
typedef struct {
    const char *name;
    const float *scores; /* per record of the dataset */
} eval_head;

/* A task's operator: its summary up to the first '(' or ' ' (conv2d_layer,
 * or #52c29cac for a TenSet key whose first element is the DAG's hash). */
static size_t op_len(const char *summary)
{
    return strcspn(summary, "( ");
}

/* Tasks grouped by operator: the sums of each (eval --by-op). */
typedef struct {
    size_t n;
    const char **name; /* a task summary of the operator: its first op_len() bytes name it */
    tlp_eval_sum *sum;
    size_t *records, *failed; /* of the tasks scored, as print_head counts them */
} op_sums;

static void op_add(op_sums *o, const model_args *a, const char *summary, const tlp_task_eval *ev, double weight)
{
    size_t len = op_len(summary), k = 0;
    while (k < o->n && !(op_len(o->name[k]) == len && !strncmp(o->name[k], summary, len))) k++;
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
static void print_ops(const model_args *a, const char *head, const op_sums *o)
{
    if (!a->tsv) {
        printf("  by operator: %-24s %5s", "", "tasks");
        for (int k = 0; k < a->n_k; k++) printf("  top-%-3d", a->ks[k]);
        printf("  rand-1  failed  pair-acc\n");
    }
    for (size_t i = 0; i < o->n; i++) {
        const tlp_eval_sum *s = &o->sum[i];
        int len = (int)op_len(o->name[i]);
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

static int report(model_args *a, const eval_head *heads, int n_heads, const int *task_head)
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
        ops.n = 0;
        for (size_t t = 0; t < nt; t++) {
            const tlp_task *tk = tlp_dataset_task(ds, t);
            if (task_head[t] != h || tk->n_records == 0) continue;
            tlp_task_eval ev;
            if (tlp_eval_dataset_task(ds, t, heads[h].scores, a->ks, a->n_k, &ev) != TLP_OK) continue;
            tlp_eval_sum_add(&sum, &ev, tk->weight);
            if (a->by_op) op_add(&ops, a, tk->summary, &ev, tk->weight);
            if (ev.n_failed < ev.n) { /* the records of the tasks scored */
                records += (size_t)ev.n;
                failed += (size_t)ev.n_failed;
            }
            if (a->per_task && !a->tsv) {
                printf("%-6zu %-10s %-8s %6d %6d", t, tk->hardware, heads[h].name, ev.n, ev.n_failed);
                for (int k = 0; k < a->n_k; k++) printf("  %7.4f%s", ev.best / ev.lat_k[k], ev.failed_k[k] ? "!" : " ");
                printf(" %6.4f  %8.4f %7.4f  %s\n", ev.rand_top_k[0], ev.pair_acc, ev.tau, tk->summary);
            }
        }
        if (!sum.tasks) continue;
        any = 1;
        print_head(a, heads[h].name, &sum, records, failed);
        if (a->by_op) print_ops(a, heads[h].name, &ops);
    }
    free(ops.name), free(ops.sum), free(ops.records), free(ops.failed);
    return any;
}

static int eval_scores_file(model_args *a)
{
    tlp_dataset *ds = a->ds;
    size_t nr = tlp_dataset_n_records(ds), nt = tlp_dataset_n_tasks(ds);
    float *scores = malloc(sizeof(float) * (nr ? nr : 1));
    int *task_head = malloc(sizeof(int) * (nt ? nt : 1));
    eval_head heads[TLP_MAX_HEADS];
    int n_heads = 0, rc = EXIT_FAIL;
    size_t missing = 0, skipped = 0;
    if (!scores || !task_head || read_scores(a->scores_path, ds, scores)) goto out;
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
    model_args a;
    memset(&a, 0, sizeof a);
    int rc = open_session(argc, argv, &a, &EVAL_CMD);
    if (rc >= 0) return rc;
    if (a.scores_path) {
        rc = eval_scores_file(&a);
        close_session(&a);
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
        task_head[t] = tk->mode != c->mode ? -1 : head_for(m, tk, a.cache.forced);
        if (task_head[t] >= 0 && !heads[task_head[t]].scores &&
            !(heads[task_head[t]].scores = scores_for(m, ds, &a.cache, tk)))
            goto done;
    }
    if (!a.tsv) {
        printf("model %s: %s, heads:", a.model_path, tlp_mode_name(c->mode));
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
    close_session(&a);
    return rc;
}

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
    model_args a;
    memset(&a, 0, sizeof a);
    int rc = open_session(argc, argv, &a, &PREDICT_CMD);
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
        const float *sc = scores_for(m, ds, &a.cache, tk);
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
    close_session(&a);
    return rc;
}

/* ------------------------------------------------------------ replay */

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
    model_args a;
    memset(&a, 0, sizeof a);
    int rc = open_session(argc, argv, &a, &REPLAY_CMD);
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
        if (!file_scores || read_scores(a.scores_path, ds, file_scores)) goto done;
    }
    printf("task\thardware\tcandidates\tlog_trials\tmodel_trials\tgain\tlog_trials_best\tmodel_trials_best\tworkload\n");
    for (size_t t = 0; t < nt; t++) {
        const tlp_task *tk = tlp_dataset_task(ds, t);
        if ((c && tk->mode != c->mode) || !tk->n_records) continue;
        if (file_scores && a.head && strcmp(a.head, tk->hardware)) continue;
        const float *sc = file_scores ? file_scores : scores_for(m, ds, &a.cache, tk);
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
    close_session(&a);
    return rc;
}
