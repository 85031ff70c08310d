/* cmd_serve.c: `tlpx serve MODEL [DATA...]`: the model as a tuner's cost
 * model, over a line protocol on stdin/stdout or a Unix socket (docs/serve.md).
 *
 * A tuner sends its candidates as Ansor record lines (`predict N`) and gets
 * one score each; it sends what it measured (`update N`) and the server
 * fine-tunes a head for this hardware in the background (the engine's job
 * thread), swapping the model in when the round ends, while predictions go
 * on with the model in use.  Scores are the networks' raw scores
 * standardised within a task by the mean and spread of the first batch of
 * that task the model in use scored (an ensemble: averaged), so a task's
 * scores are comparable across calls, as Ansor's search needs. */
#include "cli.h"
#include "opts.h"
#include "scores.h"
#include "train_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const cli_opt SERVE_OPTS[] = {
    {"--socket", NULL, "PATH", "listen on a Unix socket for several clients (default: one client on stdin/stdout)"},
    {"--connect", NULL, "PATH", "be a client instead: stdin to the server listening on PATH, its answers to stdout (no MODEL)"},
    {"--hardware", NULL, "NAME", "the hardware `update` measures: its head learns from them (default: local)"},
    {"--head", NULL, "HW", "the head that scores until the hardware's own has learnt (default: the model's first)"},
    {"--log", NULL, "PATH", "keep the measured records here, appending (records already in it train the first round; default: a temporary file)"},
    {"--out", "-o", "MODEL", "save the model here (atomically) after every round of training, and on `save`"},
    {"--quiet", "-q", NULL, "say nothing on stderr (rounds of training, their failures)"},
    {"--recipe", NULL, "NAME", "the training recipe of a round (default tlpx; its networks are the model's)"},
#define SETTING(name, field, kind, choices, lo, hi, custom, checked, short, arg, what, help) {"--" name, short, arg, help},
#include "train/settings.def"
#undef SETTING
    {NULL, NULL, NULL, NULL},
};

const cli_cmd SERVE_CMD = {
    "serve", "MODEL [DATA...] [OPTIONS]",
    "Scores a tuner's candidates and learns from its measurements, over a line\n"
    "protocol (docs/serve.md): `predict N [HEAD]` then N record lines answers\n"
    "`ok N` and a score per line (or `error K: why`); `update N` then N measured\n"
    "record lines trains the hardware's head in the background on every record\n"
    "measured so far (DATA, other hardware's records, training their heads beside\n"
    "it); `wait`, `status`, `save [PATH]`, `help`, `quit`.  A round trains with\n"
    "the recipe's settings but --batch 32 --epochs 60 --lr 2e-3, made for a few\n"
    "hundred measurements; the options below change any of them.",
    SERVE_OPTS, 0};

#define MAX_BATCH (1 << 16)       /* lines of one request (Ansor asks ~2,000 at a time) */
#define MAX_BUFFERED (1ul << 31) /* bytes a client may send ahead */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p, b->cap = cap;
    }
}

typedef struct {
    int in, out;
    char *buf;
    size_t len, cap;
    int waiting; /* a `wait` to answer when no training runs or is due */
    int eof;     /* nothing more will come: gone once what came is answered */
    int gone;
} client;

/* The reference of a task's scores on a head: each network's mean and
 * spread over the first batch of the task it scored. */
typedef struct {
    uint64_t key;
    float mean[TLP_MAX_MEMBERS], sd[TLP_MAX_MEMBERS];
} task_ref;

typedef struct {
    /* the command line */
    const char *model_path, *out, *socket_path, *connect_path, *head_name, *recipe;
    char hw[TLP_HEAD_NAME];
    const char **data; /* DATA..., then "HW=LOG" */
    int n_data, quiet;
    cli_settings set; /* training settings given */
    char log[4096];
    int log_fd, log_temp;
    /* the model in use */
    tlp_model *m;
    tlp_train_meta meta;
    int prior; /* the head that scores until hw has one */
    int round;
    task_ref *refs;
    size_t n_refs, cap_refs;
    /* training */
    tlp_train_opts to;
    long logged, pending; /* records in the log; those since the last round began */
    tlp_job *job;
    tlp_dataset *ds;
    tlp_samples *s;
    tlp_model *base; /* the model the round started from (its heads without data are kept) */
    char last_error[512];
    /* clients */
    client *cl;
    int n_cl, listen_fd;
} server;

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig);

/* All of len bytes to fd (EINTR retried): 0, or -1 with errno. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, len -= (size_t)w;
    }
    return 0;
}
static void on_stop(int sig) { stop_signal = sig; }

static int serve_arg(void *ctx, const cli_opt *o, const char *val)
{
    server *S = ctx;
    if (!o) {
        if (!S->model_path) S->model_path = val;
        else S->data[S->n_data++] = val;
        return 0;
    }
    if (!strcmp(o->name, "--socket")) S->socket_path = val;
    else if (!strcmp(o->name, "--connect")) S->connect_path = val;
    else if (!strcmp(o->name, "--hardware")) {
        snprintf(S->hw, sizeof S->hw, "%s", val);
        tlp_clean_name(S->hw);
    } else if (!strcmp(o->name, "--head")) S->head_name = val;
    else if (!strcmp(o->name, "--log")) snprintf(S->log, sizeof S->log, "%s", val);
    else if (!strcmp(o->name, "--out")) S->out = val;
    else if (!strcmp(o->name, "--recipe")) S->recipe = val;
    else if (!strcmp(o->name, "--quiet")) S->quiet = 1;
    else return cli_settings_add(&S->set, &SERVE_CMD, o, val);
    return 0;
}

/* ------------------------------------------------------------ scores */

static task_ref *find_ref(server *S, uint64_t key)
{
    for (size_t i = 0; i < S->n_refs; i++)
        if (S->refs[i].key == key) return &S->refs[i];
    return NULL;
}

/* A new task's reference from the records of this batch with its key:
 * each network's mean and spread (as tlpx predict standardises an
 * ensemble's networks within a task). */
static task_ref *add_ref(server *S, uint64_t key, const uint64_t *keys, const float *sc, size_t n, int K)
{
    if (S->n_refs == S->cap_refs) {
        size_t cap = S->cap_refs ? 2 * S->cap_refs : 64;
        task_ref *r = realloc(S->refs, cap * sizeof *r);
        if (!r) return NULL;
        S->refs = r, S->cap_refs = cap;
    }
    task_ref *r = &S->refs[S->n_refs++];
    r->key = key;
    for (int k = 0; k < K; k++) {
        double s1 = 0, s2 = 0;
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            if (keys[i] == key && isfinite(sc[(size_t)k * n + i])) {
                double v = sc[(size_t)k * n + i];
                s1 += v, s2 += v * v, c++;
            }
        double mean = c ? s1 / (double)c : 0, var = c ? s2 / (double)c - mean * mean : 0;
        double sd = var > 0 ? sqrt(var) : 0;
        if (!(sd > 1e-12 * fmax(1, fabs(mean)))) sd = 1;
        r->mean[k] = (float)mean, r->sd[k] = (float)sd;
    }
    return r;
}

/* The head that scores: asked by name, else the hardware's, else the prior. */
static int scoring_head(const server *S, const char *name, sbuf *out)
{
    if (name) {
        int h = tlp_model_head(S->m, name);
        if (h < 0) sb_printf(out, "error no head \"%s\" (status lists the heads)\n", cli_esc(name));
        return h;
    }
    int h = tlp_model_head(S->m, S->hw);
    return h >= 0 ? h : S->prior;
}

/* Why a line has no score, kept for its answer line (out of memory: a fixed
 * reason, not freed). */
static char NO_MEMORY[] = "out of memory";
static char *reason(const char *msg)
{
    char *s = strdup(msg);
    return s ? s : NO_MEMORY;
}

/* Line i of a request's body parsed into r: its length (a CR before the
 * newline left out), or -1 with why it has no record of the model's mode. */
static long parse_line(const server *S, const char *body, const size_t *off, size_t i, tlp_record *r, char *why,
                       size_t cap)
{
    tlp_mode mode = tlp_model_config_of(S->m)->mode;
    tlp_error e = {0};
    size_t len = off[i + 1] - off[i] - 1;
    while (len && body[off[i] + len - 1] == '\r') len--;
    if (tlp_record_parse(r, body + off[i], len, &e) != TLP_OK) {
        snprintf(why, cap, "%s", e.msg);
        return -1;
    }
    if (tlp_mode_of_target(r->target) != mode) {
        snprintf(why, cap, "a %s record (target %s): the model scores %s records",
                 tlp_mode_name(tlp_mode_of_target(r->target)), cli_esc(r->target), tlp_mode_name(mode));
        return -1;
    }
    return (long)len;
}

/* `predict N [HEAD]`: the lines' scores, or why a line has none. */
static void do_predict(server *S, const char *body, const size_t *off, size_t n, const char *head_name, sbuf *out)
{
    int head = scoring_head(S, head_name, out);
    if (head < 0) return;
    const tlp_model_config *c = tlp_model_config_of(S->m);
    int K = tlp_model_n_members(S->m);
    size_t row = (size_t)c->steps * (size_t)tlp_mode_fea(c->mode);
    float *x = malloc(sizeof(float) * row * (n ? n : 1)), *sc = malloc(sizeof(float) * (size_t)K * (n ? n : 1));
    uint64_t *keys = malloc(sizeof *keys * (n ? n : 1));
    char **why = calloc(n ? n : 1, sizeof *why);
    size_t *slot = malloc(sizeof *slot * (n ? n : 1)), nv = 0;
    if (!x || !sc || !keys || !why || !slot) {
        sb_printf(out, "error out of memory for %zu records\n", n);
        goto done;
    }
    tlp_record r;
    tlp_record_init(&r);
    for (size_t i = 0; i < n; i++) {
        char m[320];
        if (parse_line(S, body, off, i, &r, m, sizeof m) < 0) why[i] = reason(m);
        else {
            tlp_record_features(c->mode, c->steps, &r, x + nv * row);
            keys[nv] = tlp_workload_hash(r.workload_key) ^ (0x9e3779b97f4a7c15ull * (uint64_t)(head + 1));
            slot[i] = nv++;
        }
    }
    tlp_record_free(&r);
    tlp_error err = {0};
    if (nv && tlp_predict_tokens(S->m, x, nv, head, sc, &err) != TLP_OK) {
        sb_printf(out, "error %s\n", err.msg);
        goto done;
    }
    sb_printf(out, "ok %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        if (why[i]) {
            sb_printf(out, "error %zu: %s\n", i + 1, why[i]);
            continue;
        }
        size_t j = slot[i];
        task_ref *ref = find_ref(S, keys[j]);
        if (!ref) ref = add_ref(S, keys[j], keys, sc, nv, K);
        double z = 0;
        for (int k = 0; ref && k < K; k++) z += (sc[(size_t)k * nv + j] - ref->mean[k]) / ref->sd[k];
        sb_printf(out, "%.9g\n", ref ? z / K : NAN);
    }
done:
    for (size_t i = 0; why && i < n; i++)
        if (why[i] != NO_MEMORY) free(why[i]);
    free(x), free(sc), free(keys), free(why), free(slot);
}

/* ------------------------------------------------------------ training */

static void say(const server *S, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const server *S, const char *fmt, ...)
{
    if (S->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlpx serve: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void free_round(server *S)
{
    tlp_samples_free(S->s), tlp_dataset_free(S->ds), tlp_model_free(S->base);
    S->s = NULL, S->ds = NULL, S->base = NULL;
}

/* The data of a round: DATA and the log as the hardware's, as samples of
 * every head of the model's mode that has records. */
static int round_samples(server *S, tlp_train_opts *to, tlp_error *err)
{
    char hwlog[sizeof S->log + TLP_HEAD_NAME + 2];
    snprintf(hwlog, sizeof hwlog, "%s=%s", S->hw, S->log);
    S->data[S->n_data] = hwlog;
    cli_data_opts o;
    memset(&o, 0, sizeof o);
    o.paths = S->data;
    o.n_paths = S->n_data + 1;
    o.quiet = 1;
    if (!(S->ds = cli_load(&o))) return tlp_error_set(err, TLP_IO, S->log, 0, "the records cannot be read"), -1;
    return (S->s = tlp_samples_build(S->ds, to, err)) ? 0 : -1;
}

/* Start a round of training on every record measured so far, from the
 * model in use (a head for the hardware made from the prior's when the
 * model has none). */
static void start_round(server *S)
{
    if (S->job || S->pending <= 0) return;
    const tlp_model_config *c = tlp_model_config_of(S->m);
    tlp_train_opts to = S->to;
    to.mode = c->mode;
    to.steps = c->steps;
    to.n_heads = 0;
    to.seed = S->to.seed + (uint64_t)S->round;
    cli_train_nets_of(&to, S->m);
    tlp_train_resolve(&to, to.mode);
    tlp_error err = {0};
    tlp_model *init = NULL;
    long n = S->pending;
    S->pending = 0;
    if (round_samples(S, &to, &err) == 0) {
        S->base = tlp_model_head(S->m, S->hw) >= 0 ? tlp_model_clone(S->m)
                                                     : tlp_model_with_head_like(S->m, S->hw, S->prior, &err);
        tlp_model_config cfg = *c;
        cfg.n_heads = tlp_samples_n_heads(S->s);
        for (int h = 0; h < cfg.n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", tlp_samples_head(S->s, h));
        if (S->base) init = tlp_model_adapt(S->base, &cfg, to.seed, &err);
        if (init) S->job = tlp_train_start(S->s, &to, init, NULL, NULL, &err);
    }
    tlp_model_free(init);
    if (!S->job) {
        snprintf(S->last_error, sizeof S->last_error, "round %d: %s", S->round + 1, err.msg);
        say(S, "cannot train: %s", S->last_error);
        free_round(S);
        return;
    }
    say(S, "round %d: training on %zu samples (%ld new records)", S->round + 1, tlp_samples_count(S->s), n);
}

/* A round ended: its model in use from now on (the heads it had no data
 * for as they were), saved to --out; a failed or empty one changes nothing. */
static void end_round(server *S)
{
    tlp_model *best = NULL;
    tlp_train_meta meta;
    tlp_error err = {0};
    tlp_status st = tlp_job_finish(S->job, &best, &meta, NULL, &err);
    S->job = NULL;
    tlp_model *next = best ? tlp_model_with_heads_of(best, S->base, &err) : NULL;
    tlp_model_free(best);
    if (!next) {
        snprintf(S->last_error, sizeof S->last_error, "round %d: %s", S->round + 1,
                 st != TLP_OK ? err.msg : "no epoch finished");
        say(S, "training failed, the model in use stays: %s", S->last_error);
    } else {
        tlp_model_free(S->m);
        S->m = next;
        S->meta = meta;
        S->round++;
        S->n_refs = 0; /* a new model: new references */
        S->last_error[0] = 0;
        if (S->out && tlp_checkpoint_save(S->out, S->m, &S->meta, NULL, &err) != TLP_OK)
            snprintf(S->last_error, sizeof S->last_error, "%s: %s", S->out, err.msg);
        say(S, "round %d: the model in use has been trained on %ld records%s%s", S->round, S->logged,
            S->last_error[0] ? "; " : "", S->last_error);
    }
    free_round(S);
}

/* `update N`: the valid lines appended to the log, a round due. */
static void do_update(server *S, const char *body, const size_t *off, size_t n, sbuf *out)
{
    sbuf errs = {0};
    long ok = 0, bad = 0;
    tlp_record r;
    tlp_record_init(&r);
    for (size_t i = 0; i < n; i++) {
        char m[320];
        const char *why = NULL;
        long len = parse_line(S, body, off, i, &r, m, sizeof m);
        if (len < 0) why = m;
        else if (write_all(S->log_fd, body + off[i], (size_t)len) != 0 || write_all(S->log_fd, "\n", 1) != 0)
            why = strerror(errno);
        if (why) {
            sb_printf(&errs, "error %zu: %s\n", i + 1, why);
            bad++;
        } else ok++;
    }
    tlp_record_free(&r);
    S->logged += ok;
    S->pending += ok;
    sb_printf(out, "ok %ld %ld\n", ok, bad);
    if (errs.len) sb_printf(out, "%.*s", (int)errs.len, errs.p);
    free(errs.p);
    start_round(S);
}

/* ------------------------------------------------------------ requests */

static void do_status(const server *S, sbuf *out)
{
    const tlp_model_config *c = tlp_model_config_of(S->m);
    int h = scoring_head(S, NULL, out);
    sb_printf(out, "ok model=%s mode=%s steps=%d networks=%d heads=", cli_esc(S->model_path), tlp_mode_name(c->mode),
              c->steps, tlp_model_n_members(S->m));
    for (int k = 0; k < c->n_heads; k++) sb_printf(out, "%s%s", k ? "," : "", c->heads[k]);
    sb_printf(out, " scoring=%s hardware=%s round=%d records=%ld training=%s log=%s", c->heads[h], S->hw, S->round,
              S->logged, S->job ? "running" : S->pending > 0 ? "due" : "idle", cli_esc(S->log));
    if (S->last_error[0]) sb_printf(out, " last_error=\"%s\"", cli_esc(S->last_error));
    sb_printf(out, "\n");
}

static void do_save(server *S, const char *path, sbuf *out)
{
    if (!path) path = S->out;
    if (!path) {
        sb_printf(out, "error save needs a PATH (or serve --out)\n");
        return;
    }
    tlp_error err = {0};
    if (tlp_checkpoint_save(path, S->m, &S->meta, NULL, &err) != TLP_OK)
        sb_printf(out, "error %s: %s\n", cli_esc(err.file[0] ? err.file : path), err.msg);
    else sb_printf(out, "ok %s round=%d\n", cli_esc(path), S->round);
}

static const char HELP[] =
    "ok 9\n"
    "predict N [HEAD]  then N record lines: ok N, then a score per line (higher: faster) or error K: why\n"
    "update N          then N measured record lines: ok ACCEPTED REFUSED, then error K: why per refused line;\n"
    "                  a round of training on every record so far starts in the background\n"
    "wait              when no training runs or is due: ok ROUND (the rounds of training in the model in use)\n"
    "status            ok and key=value pairs: model, heads, scoring, round, records, training, last_error\n"
    "save [PATH]       write the model in use atomically (default: serve --out): ok PATH\n"
    "help              this list\n"
    "quit              close this connection\n"
    "(docs/serve.md)\n";

/* The n lines after the request line of c's buffer (from `at`): their
 * starts in off[0..n] (off[n] past the last newline); 0 when not all have
 * come yet. */
static int batch_lines(const client *c, size_t at, size_t n, size_t **offp)
{
    size_t *off = malloc(sizeof *off * (n + 1));
    if (!off) return -1;
    size_t p = at;
    for (size_t i = 0; i < n; i++) {
        const char *nl = memchr(c->buf + p, '\n', c->len - p);
        if (!nl) {
            free(off);
            return 0;
        }
        off[i] = p;
        p = (size_t)(nl - c->buf) + 1;
    }
    off[n] = p;
    *offp = off;
    return 1;
}

/* One request from c's buffer, answered into out.  Returns the bytes it
 * took, 0 when it needs more bytes (or waits). */
static size_t one_request(server *S, client *c, sbuf *out)
{
    const char *nl = memchr(c->buf, '\n', c->len);
    if (!nl) {
        if (c->len > 4096) { /* no request line is this long */
            sb_printf(out, "error a request line of over 4096 bytes (help lists the requests)\n");
            return c->len;
        }
        return 0;
    }
    size_t hlen = (size_t)(nl - c->buf), took = hlen + 1;
    if (hlen > 4096) {
        sb_printf(out, "error a request line of over 4096 bytes (help lists the requests)\n");
        return took;
    }
    char line[4097], w[4][4097] = {{0}};
    snprintf(line, sizeof line, "%.*s", (int)(hlen < 4096 ? hlen : 4096), c->buf);
    int nw = sscanf(line, "%4096s %4096s %4096s %4096s", w[0], w[1], w[2], w[3]);
    if (nw <= 0) return took;
    if (!strcmp(w[0], "predict") || !strcmp(w[0], "update")) {
        int upd = w[0][0] == 'u';
        long n;
        if (nw < 2 || cli_whole(w[1], 0, MAX_BATCH, &n) || nw > (upd ? 2 : 3)) {
            sb_printf(out, "error usage: %s\n", upd ? "update N (0..65536), then N lines" : "predict N [HEAD], then N lines");
            return took;
        }
        size_t *off = NULL;
        int got = batch_lines(c, took, (size_t)n, &off);
        if (got <= 0) {
            if (got < 0) sb_printf(out, "error out of memory\n");
            return got < 0 ? took : 0;
        }
        if (upd) do_update(S, c->buf, off, (size_t)n, out);
        else do_predict(S, c->buf, off, (size_t)n, nw == 3 ? w[2] : NULL, out);
        took = off[n];
        free(off);
    } else if (!strcmp(w[0], "wait") && nw == 1) {
        if (S->job || S->pending > 0) {
            c->waiting = 1;
            return 0;
        }
        sb_printf(out, "ok %d\n", S->round);
    } else if (!strcmp(w[0], "status") && nw == 1) do_status(S, out);
    else if (!strcmp(w[0], "save") && nw <= 2) do_save(S, nw == 2 ? w[1] : NULL, out);
    else if (!strcmp(w[0], "help") && nw == 1) sb_printf(out, "%s", HELP);
    else if (!strcmp(w[0], "quit") && nw == 1) {
        sb_printf(out, "ok bye\n");
        c->gone = 1;
    } else sb_printf(out, "error unknown request \"%.64s\" (help lists them)\n", cli_esc(line));
    return took;
}

/* Answer what c has sent, in order, as far as it can be now. */
static void serve_client(server *S, client *c)
{
    sbuf out = {0};
    if (c->waiting && !S->job && S->pending <= 0) {
        c->waiting = 0;
        size_t took = (size_t)(memchr(c->buf, '\n', c->len) ? (char *)memchr(c->buf, '\n', c->len) - c->buf + 1 : 0);
        memmove(c->buf, c->buf + took, c->len - took);
        c->len -= took;
        sb_printf(&out, S->last_error[0] ? "ok %d last_error=\"%s\"\n" : "ok %d\n", S->round, cli_esc(S->last_error));
    }
    size_t took;
    while (!c->waiting && !c->gone && c->len && (took = one_request(S, c, &out)) > 0) {
        memmove(c->buf, c->buf + took, c->len - took);
        c->len -= took;
    }
    if (c->eof && !c->waiting && !c->gone) {
        if (c->len) sb_printf(&out, "error the input ended inside a request (%zu bytes unanswered)\n", c->len);
        c->gone = 1;
    }
    if (out.len && write_all(c->out, out.p, out.len) != 0) c->gone = 1;
    free(out.p);
}

/* Read what c sent; 0 at its end or on an error. */
static int read_client(client *c)
{
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 1 << 20;
        char *b = cap <= MAX_BUFFERED ? realloc(c->buf, cap) : NULL;
        if (!b) return 0;
        c->buf = b, c->cap = cap;
    }
    ssize_t n = read(c->in, c->buf + c->len, c->cap - c->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) return 0;
    c->len += (size_t)n;
    return 1;
}

/* ------------------------------------------------------------ the loop */

static int add_client(server *S, int in, int out)
{
    client *cl = realloc(S->cl, sizeof *cl * (size_t)(S->n_cl + 1));
    if (!cl) return -1;
    S->cl = cl;
    memset(&cl[S->n_cl], 0, sizeof *cl);
    cl[S->n_cl].in = in, cl[S->n_cl].out = out;
    S->n_cl++;
    return 0;
}

static void drop_gone(server *S)
{
    int w = 0;
    for (int i = 0; i < S->n_cl; i++) {
        if (!S->cl[i].gone) {
            S->cl[w++] = S->cl[i];
            continue;
        }
        free(S->cl[i].buf);
        if (S->listen_fd >= 0) close(S->cl[i].in);
    }
    S->n_cl = w;
}

/* The training job's progress: its end, then the next round if one is due
 * and the `wait`s it answers. */
static void job_event(server *S)
{
    char buf[256];
    while (read(tlp_job_fd(S->job), buf, sizeof buf) > 0) {
    }
    tlp_progress p;
    tlp_job_progress(S->job, &p);
    if (p.state == TLP_JOB_RUNNING) return;
    end_round(S);
    start_round(S);
}

/* Poll the job, the listening socket and the clients until the last client
 * of stdin leaves, or a signal. */
static void serve_loop(server *S)
{
    for (;;) {
        struct pollfd pf[2 + 256];
        int np = 0, first_client;
        if (S->job) pf[np++] = (struct pollfd){tlp_job_fd(S->job), POLLIN, 0};
        int li = S->listen_fd >= 0 && S->n_cl < 256 ? np : -1;
        if (li >= 0) pf[np++] = (struct pollfd){S->listen_fd, POLLIN, 0};
        first_client = np;
        for (int i = 0; i < S->n_cl; i++) pf[np++] = (struct pollfd){S->cl[i].in, S->cl[i].eof ? 0 : POLLIN, 0};
        if (stop_signal) break;
        if (poll(pf, (nfds_t)np, -1) < 0 && errno != EINTR) break;
        if (stop_signal) break;
        if (S->job && (pf[0].revents & POLLIN)) job_event(S);
        if (li >= 0 && (pf[li].revents & POLLIN)) {
            int fd = accept(S->listen_fd, NULL, NULL);
            if (fd >= 0 && add_client(S, fd, fd) != 0) close(fd);
        }
        for (int i = 0; i < S->n_cl && first_client + i < np; i++)
            if ((pf[first_client + i].revents & (POLLIN | POLLHUP | POLLERR)) && !read_client(&S->cl[i]))
                S->cl[i].eof = 1; /* what came before the end is answered */
        for (int i = 0; i < S->n_cl; i++) serve_client(S, &S->cl[i]);
        int stdin_gone = S->listen_fd < 0 && S->n_cl > 0 && S->cl[0].gone;
        drop_gone(S);
        if (stdin_gone) break;
    }
}

/* A Unix socket's address, or -1 after saying the path is too long. */
static int socket_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        fprintf(stderr, "tlpx serve: %s: a socket path is at most %zu bytes\n", path, sizeof sa->sun_path - 1);
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

/* --connect: a client of a server on a socket, standard input to it and
 * its answers to standard output, until it has answered everything. */
static int connect_client(const char *path)
{
    struct sockaddr_un sa;
    if (socket_address(path, &sa) != 0) return EXIT_FAIL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "tlpx serve: %s: cannot connect: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN);
    int in_open = 1, rc = EXIT_OK;
    char buf[1 << 16];
    for (;;) {
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {0, in_open ? POLLIN : 0, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) break; /* the server has answered all and closed */
            if (write_all(1, buf, (size_t)n) != 0) {
                rc = EXIT_FAIL;
                break;
            }
        }
        if (in_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                in_open = 0;
                shutdown(fd, SHUT_WR); /* the server answers what came, then closes */
            } else if (write_all(fd, buf, (size_t)n) != 0) {
                fprintf(stderr, "tlpx serve: %s: the server went away: %s\n", path, strerror(errno));
                rc = EXIT_FAIL;
                break;
            }
        }
    }
    close(fd);
    return rc;
}

static int open_socket(server *S)
{
    struct sockaddr_un sa;
    if (socket_address(S->socket_path, &sa) != 0) return -1;
    struct stat st;
    if (lstat(S->socket_path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(S->socket_path); /* a dead server's */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "tlpx serve: %s: cannot listen: %s\n", S->socket_path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    S->listen_fd = fd;
    return 0;
}

/* The log of measured records: --log (appended to; the records it holds
 * count) or a temporary file. */
static int open_log(server *S)
{
    if (!S->log[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(S->log, sizeof S->log, "%s/tlpx-serve-XXXXXX.json", tmp && tmp[0] ? tmp : "/tmp");
        S->log_fd = mkstemps(S->log, 5);
        S->log_temp = 1;
    } else S->log_fd = open(S->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (S->log_fd < 0) {
        fprintf(stderr, "tlpx serve: %s: cannot open the log: %s\n", S->log, strerror(errno));
        return -1;
    }
    FILE *f = S->log_temp ? NULL : fopen(S->log, "r"); /* an earlier run's records train the first round */
    for (int ch, last = '\n'; f && (ch = getc(f)) != EOF; last = ch)
        if (ch == '\n' && last != '\n') S->logged++;
    if (f) fclose(f);
    S->pending = S->logged;
    return 0;
}

/* The model, its prior head and the training settings. */
static int serve_setup(server *S)
{
    if (!(S->m = cli_load_model(S->model_path, &S->meta, NULL))) return EXIT_FAIL;
    const tlp_model_config *c = tlp_model_config_of(S->m);
    S->prior = S->head_name ? tlp_model_head(S->m, S->head_name) : 0;
    if (S->prior < 0) {
        fprintf(stderr, "tlpx serve: %s has no head \"%s\" (heads:", S->model_path, cli_esc(S->head_name));
        for (int h = 0; h < c->n_heads; h++) fprintf(stderr, " %s", c->heads[h]);
        fprintf(stderr, ")\n");
        return EXIT_FAIL;
    }
    if (tlp_train_recipe(&S->to, c->mode, S->recipe ? S->recipe : TLP_RECIPE_DEFAULT) != TLP_OK)
        return cli_usage_error(&SERVE_CMD, "--recipe is one of tlp, tlpx, not \"%s\"", S->recipe);
    S->to.val_frac = 0; /* every measurement trains: a tuner's tasks are few */
    /* A round has a few hundred records: small batches, more epochs and a
     * larger step, so the head moves (docs/serve.md, bench/tvm/online.py). */
    S->to.batch = 32;
    S->to.epochs = 60;
    S->to.lr = 2e-3f;
    S->to.threads = cli_default_threads();
    if (cli_settings_apply(&S->set, &SERVE_CMD, &S->to)) return EXIT_USAGE;
    tlp_set_threads(S->to.threads); /* scoring's and training's */
    snprintf(S->to.note, sizeof S->to.note, "tlpx serve %s: rounds of training on the measurements of %s",
             S->model_path, S->hw);
    if (S->out) {
        tlp_error we = {0};
        if (tlp_check_writable(S->out, &we) != TLP_OK) {
            fprintf(stderr, "tlpx serve: %s: %s\n", we.file[0] ? we.file : S->out, we.msg);
            return EXIT_FAIL;
        }
    }
    return -1;
}

int cmd_serve(int argc, char **argv)
{
    server S;
    memset(&S, 0, sizeof S);
    S.listen_fd = S.log_fd = -1;
    snprintf(S.hw, sizeof S.hw, "local");
    cli_data_opts data;
    memset(&data, 0, sizeof data);
    S.data = calloc((size_t)argc + 1, sizeof *S.data);
    if (!S.data) return EXIT_FAIL;
    int rc = cli_parse(&SERVE_CMD, argc, argv, &data, serve_arg, &S);
    if (rc < 0 && S.connect_path) {
        rc = S.model_path ? cli_usage_error(&SERVE_CMD, "--connect is a client: no MODEL") : connect_client(S.connect_path);
        free(S.data);
        return rc;
    }
    if (rc < 0 && !S.model_path) rc = cli_usage_error(&SERVE_CMD, "no MODEL given");
    if (rc < 0) rc = serve_setup(&S);
    if (rc < 0 && S.socket_path && open_socket(&S) != 0) rc = EXIT_FAIL;
    if (rc < 0 && open_log(&S) != 0) rc = EXIT_FAIL;
    if (rc < 0 && S.listen_fd < 0 && add_client(&S, 0, 1) != 0) rc = EXIT_FAIL;
    if (rc < 0) {
        struct sigaction sa, old_int, old_term, old_pipe;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, &old_pipe);
        say(&S, "serving %s (%s, heads scoring: %s until %s has its own)%s%s", S.model_path,
            tlp_mode_name(tlp_model_config_of(S.m)->mode), tlp_model_config_of(S.m)->heads[S.prior], S.hw,
            S.socket_path ? " on " : "", S.socket_path ? S.socket_path : "");
        start_round(&S); /* records of an earlier run in --log */
        serve_loop(&S);
        if (S.job) { /* a training cut short keeps the model in use (and --out's) */
            tlp_job_cancel(S.job);
            tlp_job_finish(S.job, NULL, NULL, NULL, NULL);
            S.job = NULL;
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGPIPE, &old_pipe, NULL);
        rc = stop_signal ? 128 + stop_signal : EXIT_OK;
    }
    free_round(&S);
    for (int i = 0; i < S.n_cl; i++) S.cl[i].gone = 1;
    drop_gone(&S);
    free(S.cl);
    if (S.listen_fd >= 0) close(S.listen_fd), unlink(S.socket_path);
    if (S.log_fd >= 0) close(S.log_fd);
    if (S.log_temp) unlink(S.log);
    tlp_model_free(S.m);
    free(S.refs), free(S.data);
    return rc;
}
