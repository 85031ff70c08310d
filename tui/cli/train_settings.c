/* train_settings.c: the training settings by name (train_settings.h).  The
 * names are the rows of `tlpx train`'s option table, which lives here so
 * that :train's completion reads the same list; cli_train_set gives each its
 * range and message, and marks the recipe "custom" once a setting that is
 * the recipe's changes. */
#include "cli.h"
#include "train_settings.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

void cli_train_resumed(tlp_train_opts *o, tlp_mode m, const tlp_train_meta *meta)
{
    o->mode = m;
    o->n_nets = meta->n_nets;
    memcpy(o->encode, meta->nets, sizeof o->encode);
    o->epochs = meta->epochs;
    if (meta->batch >= 2) o->batch = meta->batch;
    o->seed = meta->seed;
    if (meta->lr > 0) o->lr = meta->lr;
    if (meta->weight_decay >= 0) o->weight_decay = meta->weight_decay;
    if (meta->clip > 0) o->clip = meta->clip;
    o->loss = !strcmp(meta->loss, "mse") ? TLP_LOSS_MSE : TLP_LOSS_RANK;
    o->pairs = !strcmp(meta->pairs, "task") ? TLP_PAIRS_TASK : TLP_PAIRS_BATCH;
    o->split = !strcmp(meta->split, "record") ? TLP_SPLIT_RECORD : TLP_SPLIT_TASK;
    o->select = (tlp_select_kind)(choice(meta->select, SELECTS) > 0 ? choice(meta->select, SELECTS) : 0);
    o->sched = !strcmp(meta->sched, "cosine") ? TLP_SCHED_COSINE : TLP_SCHED_CONST;
    o->failed = !strcmp(meta->failed, "demote") ? TLP_FAILED_DEMOTE : TLP_FAILED_KEEP;
    o->average = meta->average;
    if (meta->group > 0) o->group = meta->group;
    snprintf(o->recipe, sizeof o->recipe, "%s", meta->recipe);
}

/* Long: one branch per setting, each with its own range and message (a table
 * of the settings will replace it). */
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
        if (cli_whole(v, 1, 100000, &n)) BAD("epochs is a whole number from 1 to 100000, not \"%s\"", v);
        o->epochs = (int)n;
        return 0;
    } else if (!strcmp(key, "seed")) {
        if (cli_whole(v, 0, LONG_MAX, &n)) BAD("seed is a whole number >= 0, not \"%s\"", v);
        o->seed = (uint64_t)n;
        return 0;
    } else if (!strcmp(key, "batch")) {
        if (cli_whole(v, 2, 65536, &n)) BAD("batch is a whole number from 2 to 65536, not \"%s\"", v);
        o->batch = (int)n;
    } else if (!strcmp(key, "threads")) {
        if (cli_whole(v, 1, 256, &n)) BAD("threads is a whole number from 1 to 256, not \"%s\"", v);
        o->threads = (int)n;
        return 0; /* not a training setting: the recipe stays */
    } else if (!strcmp(key, "average")) {
        if (cli_whole(v, 0, 1000, &n)) BAD("average is a number of epochs from 0 to 1000, not \"%s\"", v);
        o->average = (int)n;
    } else if (!strcmp(key, "group")) {
        if (cli_whole(v, 1, 65536, &n)) BAD("group is a whole number from 1 to 65536, not \"%s\"", v);
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
        if (cli_whole(v, 1, LONG_MAX, &n)) BAD("budget is a number of samples >= 1, not \"%s\"", v);
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

const cli_opt CLI_TRAIN_OPTS[] = {
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
    for (const cli_opt *o = CLI_TRAIN_OPTS; o->name; o++) {
        if (!strcmp(o->name, "--out") || !strcmp(o->name, "--mode") || !strcmp(o->name, "--resume")) continue;
        if (i-- == 0) return o->name + 2;
    }
    return NULL;
}

