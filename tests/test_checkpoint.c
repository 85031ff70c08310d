/* test_checkpoint.c: checkpoints round-trip bit for bit, are written
 * atomically, and every damaged, foreign or mismatched file is refused with
 * a reason and without a half-loaded model. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/tlpx_ckptXXXXXX";

static const char *in_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ------------------------------------------------------------ helpers */

static tlp_model *make_model(tlp_mode mode, const char *const *heads, int n_heads, uint64_t seed)
{
    tlp_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = mode;
    cfg.encode = mode == TLP_MODE_GPU ? TLP_ENCODE_LOG : TLP_ENCODE_RAW;
    cfg.n_heads = n_heads;
    for (int h = 0; h < n_heads; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "%s", heads[h]);
    tlp_error e = {0};
    tlp_model *m = tlp_model_new(&cfg, seed, &e);
    if (!m) {
        printf("# tlp_model_new: %s\n", e.msg);
        return NULL;
    }
    /* values whose bits a sloppy float path would change */
    float *p = tlp_model_params(m);
    uint32_t nan_payload = 0x7fc12345u, denorm = 0x00000001u;
    p[0] = -0.0f;
    memcpy(&p[1], &nan_payload, 4);
    memcpy(&p[2], &denorm, 4);
    p[3] = INFINITY;
    return m;
}

static float *make_moments(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    tlp_rng r;
    tlp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(tlp_rng_uniform(&r) * 1e-3);
    return x;
}

static tlp_train_meta make_meta(void)
{
    tlp_train_meta t;
    memset(&t, 0, sizeof t);
    snprintf(t.loss, sizeof t.loss, "rank");
    snprintf(t.pairs, sizeof t.pairs, "task");
    snprintf(t.split, sizeof t.split, "record");
    t.lr = 7e-4f;
    t.weight_decay = 1e-6f;
    t.clip = 0.5f;
    t.batch = 512;
    t.epochs = 50;
    t.epochs_done = -3; /* negative: the i32 encoding must keep the sign */
    t.seed = 0xfedcba9876543210u;
    t.step = 123456789012u;
    t.best_val = -0.1;
    snprintf(t.recipe, sizeof t.recipe, "custom");
    snprintf(t.select, sizeof t.select, "topk");
    snprintf(t.sched, sizeof t.sched, "cosine");
    snprintf(t.failed, sizeof t.failed, "demote");
    t.average = 3;
    t.group = -64; /* the sign survives */
    t.best_epoch = 41;
    snprintf(t.note, sizeof t.note, "tlpx train K80=/data/k80 --except-fold 1/3 \"quoted\" \xc3\xa9");
    return t;
}

static int same_meta(const tlp_train_meta *a, const tlp_train_meta *b)
{
    return strcmp(a->loss, b->loss) == 0 && strcmp(a->pairs, b->pairs) == 0 && strcmp(a->split, b->split) == 0 &&
           memcmp(&a->lr, &b->lr, 4) == 0 && memcmp(&a->weight_decay, &b->weight_decay, 4) == 0 &&
           memcmp(&a->clip, &b->clip, 4) == 0 && a->batch == b->batch && a->epochs == b->epochs &&
           a->epochs_done == b->epochs_done && a->seed == b->seed && a->step == b->step &&
           memcmp(&a->best_val, &b->best_val, 8) == 0 && !strcmp(a->recipe, b->recipe) &&
           !strcmp(a->select, b->select) && !strcmp(a->sched, b->sched) && !strcmp(a->failed, b->failed) &&
           a->average == b->average &&
           a->group == b->group && a->best_epoch == b->best_epoch && !strcmp(a->note, b->note);
}

static int same_config(const tlp_model *a, const tlp_model *b)
{
    const tlp_model_config *x = tlp_model_config_of(a), *y = tlp_model_config_of(b);
    if (x->mode != y->mode || x->n_heads != y->n_heads || x->encode != y->encode) return 0;
    for (int h = 0; h < x->n_heads; h++)
        if (strcmp(x->heads[h], y->heads[h]) != 0) return 0;
    return 1;
}

static int same_params(const tlp_model *a, const tlp_model *b)
{
    size_t n = tlp_model_n_params(a);
    return n == tlp_model_n_params(b) &&
           memcmp(tlp_model_params_const(a), tlp_model_params_const(b), n * sizeof(float)) == 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) *n = (size_t)sz;
    return b;
}

static int spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* FNV-1a-64 written independently of the engine, to forge valid trailers. */
static void reseal(unsigned char *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i + 8 < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3u;
    }
    for (int i = 0; i < 8; i++) b[n - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
}

static void put32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *find(unsigned char *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, s, k) == 0) return b + i;
    return NULL;
}

/* The error of the last refused() load, for checks that follow it. */
static tlp_error last_err;

/* Load path expecting failure; the message must contain want. */
static void refused(const char *path, tlp_status st, const char *want, const char *what)
{
    char buf[300];
    tlp_error e = {0};
    static float sentinel;
    tlp_train_state rs = {&sentinel, &sentinel, &sentinel, 7}; /* must come back zeroed */
    tlp_train_meta meta;
    tlp_model *m = tlp_checkpoint_load(path, &meta, &rs, &e);
    snprintf(buf, sizeof buf, "%s: refused", what);
    ok(m == NULL && !rs.m && !rs.v && !rs.ring && !rs.n_ring, buf);
    tlp_model_free(m);
    snprintf(buf, sizeof buf, "%s: status", what);
    is_int(e.status, st, buf);
    snprintf(buf, sizeof buf, "%s: says \"%s\"", what, want);
    if (!ok(strstr(e.msg, want) != NULL, buf)) printf("#   msg: %s\n", e.msg);
    snprintf(buf, sizeof buf, "%s: names the file", what);
    is_str(e.file, path, buf);
    printf("#   %s\n", e.msg);
    last_err = e;
}

/* Load a copy of orig (n bytes) with the u32 at byte at set to v and the
 * checksum made valid again, written to bad: refused with want. */
/* The bytes of a saved file, checked to be of the version; NULL (after the
 * failed check) when they are not. */
static unsigned char *slurp_version(const char *path, size_t *n, int version)
{
    unsigned char *b = slurp(path, n);
    char what[32];
    snprintf(what, sizeof what, "version %d", version);
    if (ok(b && *n > 40 && b[8] == version, what)) return b;
    free(b);
    return NULL;
}

static void refused_patch(const unsigned char *orig, size_t n, size_t at, uint32_t v, const char *bad,
                          const char *want, const char *what)
{
    unsigned char *b = malloc(n);
    if (!b) return;
    memcpy(b, orig, n);
    put32(b + at, v);
    reseal(b, n);
    spill(bad, b, n);
    free(b);
    refused(bad, TLP_FORMAT, want, what);
}

static int count_temps(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".tlpx-tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* ------------------------------------------------------------ tests */

static void round_trip(tlp_mode mode, const char *const *heads, int n_heads, const char *file)
{
    char what[200];
    const char *path = in_dir(file);
    tlp_model *m = make_model(mode, heads, n_heads, 42 + (uint64_t)n_heads);
    if (!ok(m != NULL, "model made")) return;
    size_t n = tlp_model_n_params(m);
    float *am = make_moments(n, 1), *av = make_moments(n, 2), *ring = make_moments(3 * n, 5);
    tlp_train_meta meta = make_meta(); /* average 3 */
    /* after 5 epochs, the ring of 3 holds epochs 4, 5, 3 in its slots */
    tlp_train_state st = {am, av, ring, 5};
    tlp_error e = {0};
    snprintf(what, sizeof what, "%s %d head(s): save", tlp_mode_name(mode), n_heads);
    if (!ok(tlp_checkpoint_save(path, m, &meta, &st, &e) == TLP_OK, what)) printf("# %s: %s\n", e.file, e.msg);
    is_int(count_temps(), 0, "no temporary file left after a save");

    tlp_train_meta got;
    memset(&got, 0xab, sizeof got);
    tlp_train_state gs;
    memset(&gs, 0xab, sizeof gs);
    tlp_model *l = tlp_checkpoint_load(path, &got, &gs, &e);
    snprintf(what, sizeof what, "%s %d head(s): load", tlp_mode_name(mode), n_heads);
    if (!ok(l != NULL, what)) printf("# %s: %s\n", e.file, e.msg);
    if (l) {
        ok(same_config(m, l), "config identical");
        ok(same_params(m, l), "params bit-identical (incl. -0, NaN payload, denormal, inf)");
        ok(same_meta(&meta, &got), "meta identical");
        is_int(got.epochs_done, -3, "negative epochs_done keeps its sign");
        ok(gs.m && memcmp(gs.m, am, n * sizeof *am) == 0, "Adam m identical");
        ok(gs.v && memcmp(gs.v, av, n * sizeof *av) == 0, "Adam v identical");
        ok(gs.ring && memcmp(gs.ring, ring, 3 * n * sizeof *ring) == 0, "the averaging ring identical");
        is_int(gs.n_ring, 5, "its epochs");
        tlp_model_free(l);
        tlp_train_state_free(&gs);
    }
    ok(!gs.m && !gs.v && !gs.ring && !gs.n_ring, "tlp_train_state_free zeroes the state");

    /* moments without a ring */
    tlp_train_state nr = {am, av, NULL, 0};
    is_int(tlp_checkpoint_save(path, m, &meta, &nr, &e), TLP_OK, "save moments without a ring");
    l = tlp_checkpoint_load(path, NULL, &gs, &e);
    ok(l && gs.m && gs.v && !gs.ring && !gs.n_ring, "loads with moments and no ring");
    tlp_model_free(l);
    tlp_train_state_free(&gs);
    /* a ring of an absurd averaging is a caller bug */
    tlp_train_meta huge = meta;
    huge.average = 5000;
    is_int(tlp_checkpoint_save(path, m, &huge, &st, &e), TLP_ARG, "a ring of average 5000 is refused");
    /* after 2 epochs of average 3 the ring holds 2 */
    tlp_train_state early = {am, av, ring, 2};
    is_int(tlp_checkpoint_save(path, m, &meta, &early, &e), TLP_OK, "a ring after 2 epochs of average 3");
    l = tlp_checkpoint_load(path, NULL, &gs, &e);
    ok(l && gs.n_ring == 2 && gs.ring && !memcmp(gs.ring, ring, 2 * n * sizeof *ring), "loads with its 2 epochs");
    tlp_model_free(l);
    tlp_train_state_free(&gs);
    tlp_train_state noadam = {NULL, NULL, ring, 5};
    is_int(tlp_checkpoint_save(path, m, &meta, &noadam, &e), TLP_ARG, "a ring without moments is refused");

    /* the caller may not want the moments or the meta */
    l = tlp_checkpoint_load(path, NULL, NULL, &e);
    ok(l && same_params(m, l), "load with NULL meta and moment pointers");
    tlp_model_free(l);

    /* no moments, no meta */
    is_int(tlp_checkpoint_save(path, m, NULL, NULL, &e), TLP_OK, "save without moments or meta");
    static float sentinel;
    memset(&got, 0xab, sizeof got);
    tlp_train_state none = {&sentinel, &sentinel, &sentinel, 1};
    l = tlp_checkpoint_load(path, &got, &none, &e);
    ok(l && same_params(m, l), "loads");
    ok(!none.m && !none.v && !none.ring && !none.n_ring, "no state saved: the state comes back zeroed");
    tlp_train_meta zero;
    memset(&zero, 0, sizeof zero);
    ok(same_meta(&got, &zero), "NULL meta saves as zeroed meta");
    tlp_model_free(l);

    /* only one moment is a caller bug, not a silent drop */
    tlp_train_state half = {am, NULL, NULL, 0};
    is_int(tlp_checkpoint_save(path, m, &meta, &half, &e), TLP_ARG, "adam_m without adam_v is refused");
    free(am);
    free(av);
    free(ring);
    tlp_model_free(m);
}

static void corrupt_files(void)
{
    static const char *const heads[] = {"K80", "V100", "MI50"};
    const char *good = in_dir("good.ckpt"), *bad = in_dir("bad.ckpt");
    tlp_model *m = make_model(TLP_MODE_GPU, heads, 3, 7);
    size_t np = tlp_model_n_params(m);
    float *am = make_moments(np, 3), *av = make_moments(np, 4), *ring = make_moments(2 * np, 6);
    tlp_train_meta meta = make_meta();
    meta.average = 2;
    tlp_train_state st = {am, av, ring, 4};
    tlp_error e = {0};
    is_int(tlp_checkpoint_save(good, m, &meta, &st, &e), TLP_OK, "save the reference file (moments and a ring)");
    free(am);
    free(av);
    free(ring);
    tlp_model_free(m);
    size_t n;
    unsigned char *orig = slurp(good, &n);
    if (!ok(orig && n > 200, "read the reference file back")) return;
    unsigned char *b = malloc(n + 64);
    char what[128];

    refused(in_dir("missing.ckpt"), TLP_NOT_FOUND, "cannot open", "missing file");
    spill(bad, "", 0);
    refused(bad, TLP_FORMAT, "empty", "empty file");
    refused(dir, TLP_FORMAT, "not a regular file", "a directory");

    size_t cuts[] = {4, 8, 12, 20, 100, n / 2, n - 9, n - 8, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spill(bad, orig, cuts[i]);
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
        refused(bad, TLP_FORMAT, "truncated at byte", what);
    }

    /* one byte flipped: the checksum, or the structure, catches it */
    size_t flips[] = {0, 9, 13, 30, 60, n / 3, n / 2, n - 20, n - 9, n - 8, n - 1};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        memcpy(b, orig, n);
        b[flips[i]] ^= 0x10;
        spill(bad, b, n);
        tlp_model *l = tlp_checkpoint_load(bad, NULL, NULL, &e);
        snprintf(what, sizeof what, "byte %zu flipped: refused with a reason", flips[i]);
        ok(l == NULL && e.status == TLP_FORMAT && e.msg[0] && strcmp(e.file, bad) == 0, what);
        if (flips[i] >= n / 3) { /* in the data or the trailer: only the checksum can tell */
            snprintf(what, sizeof what, "byte %zu flipped: checksum mismatch", flips[i]);
            if (!ok(strstr(e.msg, "checksum mismatch: the file is corrupt") != NULL, what)) printf("#   msg: %s\n", e.msg);
        }
        tlp_model_free(l);
    }

    const char *json = "[[\"[\\\"matmul\\\", 256]\", \"llvm -keys=cpu\"], [[], []]]\n";
    spill(bad, json, strlen(json));
    refused(bad, TLP_FORMAT, "not a tlpx checkpoint", "a JSON line");
    spill(bad, "TLPX", 3);
    refused(bad, TLP_FORMAT, "truncated at byte 0", "a 3-byte prefix of the magic");
    spill(bad, "hello\n", 6);
    refused(bad, TLP_FORMAT, "not a tlpx checkpoint", "a short text file");

    refused_patch(orig, n, 8, 6, bad, "version 6 is not supported; this tlpx reads versions 1 to 5", "a future version");
    refused_patch(orig, n, 8, 0, bad, "version 0 is not supported", "version 0");

    /* the same bytes flipped without the checksum made right: damage, said as damage, not as
     * another format version or as a file cut short */
    unsigned char *flip = malloc(n);
    if (flip) {
        memcpy(flip, orig, n);
        flip[8] = 6;
        spill(bad, flip, n);
        refused(bad, TLP_FORMAT, "its checksum does not match and its version field reads 6", "a flipped version byte");
        unsigned char *mi = find(orig, n, "MI50");
        if (ok(mi != NULL, "the last head name is in the file")) {
            memcpy(flip, orig, n);
            flip[(size_t)(mi - orig) - 2] = 0x7f; /* its length: past the end of the file */
            spill(bad, flip, n);
            refused(bad, TLP_FORMAT, "damaged (its checksum does not match: changed or cut short)", "a flipped length byte");
        }
        free(flip);
    }

    /* the input encoding and the model flags follow the last head name */
    unsigned char *enc = find(orig, n, "MI50");
    if (ok(enc != NULL, "the last head name is in the file")) {
        size_t at = (size_t)(enc - orig) + 4;
        refused_patch(orig, n, at, TLP_ENCODE_COUNT, bad, "unknown input encoding 3", "an encoding out of range");
        refused_patch(orig, n, at + 4, 1, bad, "unknown model flags 0x1", "model flags from a newer tlpx");
    }

    memcpy(b, orig, n);
    memcpy(b + n, "garbage!", 8);
    spill(bad, b, n + 8);
    refused(bad, TLP_FORMAT, "8 bytes of trailing data", "trailing garbage");

    /* a valid file with another dictionary: one pragma string changed */
    memcpy(b, orig, n);
    unsigned char *pr = find(b, n, "pragma 1 auto_unroll");
    if (ok(pr != NULL, "the dictionary is in the file")) {
        pr[9] = 'b';
        reseal(b, n);
        spill(bad, b, n);
        refused(bad, TLP_FORMAT, "the model was made with another feature dictionary", "another dictionary");
        ok(strstr(last_err.msg, "checksum") == NULL, "(not a checksum error: only the dictionary differs)");
    }
    /* ... or a kind moved to another one-hot slot */
    memcpy(b, orig, n);
    pr = find(b, n, "SP 7\n");
    if (ok(pr != NULL, "the gpu SP line is in the file")) {
        pr[3] = '8';
        reseal(b, n);
        spill(bad, b, n);
        refused(bad, TLP_FORMAT, "SP 7", "a kind with another index (the message quotes the line)");
    }

    /* a valid file with another network layout */
    memcpy(b, orig, n);
    unsigned char *t = find(b, n, "encoder.0.weight");
    if (ok(t != NULL, "the tensor table is in the file")) {
        put32(t + strlen("encoder.0.weight"), 65);
        reseal(b, n);
        spill(bad, b, n);
        refused(bad, TLP_FORMAT, "encoder.0.weight 65x20", "a tensor of another shape");
    }
    memcpy(b, orig, n);
    t = find(b, n, "mtl_heads.2.6.bias");
    if (ok(t != NULL, "the last tensor is in the file")) {
        t[10] = '9';
        reseal(b, n);
        spill(bad, b, n);
        refused(bad, TLP_FORMAT, "tensor 39 differs", "a tensor of another name");
    }

    /* header bounds, each with a valid checksum */
    refused_patch(orig, n, 12, 7, bad, "unknown feature mode 7", "mode out of range");
    /* cpu, but L and F stay the gpu's */
    refused_patch(orig, n, 12, 0, bad, "40x20; this tlpx makes 1..128 steps of 22 values", "F not the mode's");
    /* L, the crop (--steps): 1..128 */
    refused_patch(orig, n, 16, 0, bad, "features are 0x20", "a crop of 0 steps");
    refused_patch(orig, n, 16, 129, bad, "features are 129x20; this tlpx makes 1..128 steps", "a crop of 129 steps");

    /* the averaging ring (2 slots after 4 epochs), counted from the end:
     * u32 n_ring, u32 n_slots, 2 x np floats, the 8-byte checksum */
    size_t ring_at = n - 8 - 2 * np * 4 - 8;
    /* ... and the flags before the parameters, the moments and the ring */
    size_t flags_at = ring_at - 3 * np * 4 - 4;
    if (ok(orig[ring_at] == 4 && orig[ring_at + 4] == 2 && orig[flags_at] == 3,
           "the ring's counts and the state flags (moments and ring) are where the layout says")) {
        refused_patch(orig, n, ring_at, 1, bad, "an averaging ring of 2 slots after 1 epochs does not fit average 2",
                      "a ring that does not fit the averaging (1 epoch: 1 slot)");
        refused_patch(orig, n, ring_at + 4, 3, bad, "an averaging ring of 3 slots after 4 epochs does not fit",
                      "more slots than the averaging keeps");
        refused_patch(orig, n, ring_at, 0, bad, "an averaging ring of 0 epochs does not fit average 2",
                      "a ring of no epoch");
        refused_patch(orig, n, ring_at, 0x80000000u, bad, "an averaging ring of 2147483648 epochs does not fit",
                      "a ring of absurd epochs");
        refused_patch(orig, n, flags_at, 2, bad, "an averaging ring without Adam moments",
                      "a ring flagged without the moments");
        refused_patch(orig, n, flags_at, 7, bad, "unknown flags 0x4: made by a newer tlpx", "flags from a newer tlpx");
    }

    /* the untouched file still loads (the buffers above were copies) */
    tlp_model *l = tlp_checkpoint_load(good, NULL, NULL, &e);
    ok(l != NULL, "the reference file still loads");
    tlp_model_free(l);
    free(b);
    free(orig);
}

static void failed_save(void)
{
    static const char *const heads[] = {"cpu0"};
    const char *path = in_dir("keep.ckpt");
    tlp_model *a = make_model(TLP_MODE_CPU, heads, 1, 100), *b = make_model(TLP_MODE_CPU, heads, 1, 200);
    tlp_error e = {0};
    is_int(tlp_checkpoint_save(path, a, NULL, NULL, &e), TLP_OK, "first save");

    /* the second save hits the file-size limit: writes fail with EFBIG */
    struct rlimit old, small;
    int have = getrlimit(RLIMIT_FSIZE, &old) == 0;
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 64 * 1024;
    if (have && setrlimit(RLIMIT_FSIZE, &small) == 0) {
        memset(&e, 0, sizeof e);
        tlp_status s = tlp_checkpoint_save(path, b, NULL, NULL, &e);
        setrlimit(RLIMIT_FSIZE, &old);
        is_int(s, TLP_IO, "a save over the file-size limit fails");
        is_str(e.file, path, "naming the file");
        ok(e.msg[0] != 0, "and saying why");
        printf("# %s\n", e.msg);
    } else {
        ok(1, "# SKIP setrlimit unavailable");
        ok(1, "# SKIP");
        ok(1, "# SKIP");
    }
    signal(SIGXFSZ, old_sig);
    is_int(count_temps(), 0, "the failed save left no temporary file");
    tlp_model *l = tlp_checkpoint_load(path, NULL, NULL, &e);
    ok(l && same_params(l, a) && !same_params(l, b), "the previous file is intact and still loads");
    tlp_model_free(l);

    const char *nodir = in_dir("no/such/dir/x.ckpt");
    is_int(tlp_checkpoint_save(nodir, a, NULL, NULL, &e), TLP_IO, "saving into a missing directory fails");
    is_str(e.file, nodir, "naming the path");
    is_int(tlp_checkpoint_save(NULL, a, NULL, NULL, &e), TLP_ARG, "NULL path");
    is_int(tlp_checkpoint_save(path, NULL, NULL, NULL, &e), TLP_ARG, "NULL model");
    ok(tlp_checkpoint_load(NULL, NULL, NULL, &e) == NULL && e.status == TLP_ARG, "load a NULL path");
    tlp_model_free(a);
    tlp_model_free(b);
}

/* A version 1 file (written before encodings and recipes by the first tlpx):
 * the demo model it shipped. */
static void version_1(void)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/demo-gpu.tlpx", top ? top : ".");
    size_t n;
    unsigned char *b = slurp(path, &n);
    if (!ok(b && n > 12 && b[8] == 1 && b[9] == 0, "the fixture is a version 1 file")) {
        free(b);
        return;
    }
    free(b);
    tlp_train_meta meta;
    tlp_train_state st;
    tlp_error e = {0};
    tlp_model *m = tlp_checkpoint_load(path, &meta, &st, &e);
    if (!ok(m != NULL, "a version 1 file loads")) printf("# %s: %s\n", e.file, e.msg);
    if (m) {
        is_int(tlp_model_config_of(m)->encode, TLP_ENCODE_RAW, "v1: raw tokens");
        is_str(meta.recipe, "tlp", "v1: recipe tlp");
        is_str(meta.select, "loss", "v1: kept by loss");
        is_str(meta.sched, "const", "v1: constant learning rate");
        is_str(meta.failed, "keep", "v1: failed programs keep their label");
        is_int(meta.group, 128, "v1: task runs of 128");
        is_str(meta.note, "", "v1: no note");
        /* saved again, it is a version 2 file with the same weights */
        const char *p2 = in_dir("v2.ckpt");
        is_int(tlp_checkpoint_save(p2, m, &meta, &st, &e), TLP_OK, "v1 saved as v2");
        tlp_model *l = tlp_checkpoint_load(p2, NULL, NULL, &e);
        ok(l && same_params(m, l) && same_config(m, l), "the v2 copy has the same model");
        tlp_model_free(l);
        unsigned char *c = slurp(p2, &n);
        ok(c && n > 12 && c[8] == 2, "and says version 2");
        free(c);
    }
    tlp_train_state_free(&st);
    tlp_model_free(m);
}

static void cleanup(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) unlink(in_dir(de->d_name));
    if (d) closedir(d);
    ok(rmdir(dir) == 0, "temp directory removed");
}

/* An ensemble's members: kept bit for bit; a bad count, encoding or a
 * truncated member refused with a reason. */
static void members(void)
{
    static const char *const heads[] = {"K80", "V100"};
    const char *good = in_dir("ens.ckpt"), *bad = in_dir("ens-bad.ckpt");
    tlp_model *m = make_model(TLP_MODE_GPU, heads, 2, 7), *b = make_model(TLP_MODE_GPU, heads, 2, 8);
    tlp_model_config c = *tlp_model_config_of(b);
    c.encode = TLP_ENCODE_PROG;
    tlp_error e = {0};
    tlp_model *p = tlp_model_new(&c, 9, &e);
    if (!ok(m && b && p && tlp_model_add_member(m, b, &e) == TLP_OK && tlp_model_add_member(m, p, &e) == TLP_OK,
            "an ensemble of three networks")) return;
    tlp_train_meta meta = make_meta();
    is_int(tlp_checkpoint_save(good, m, &meta, NULL, &e), TLP_OK, "save it");
    tlp_model *l = tlp_checkpoint_load(good, NULL, NULL, &e);
    int same = l && tlp_model_n_members(l) == 3;
    for (int k = 0; same && k < 3; k++)
        same = same_params(tlp_model_member(l, k), tlp_model_member(m, k)) &&
               tlp_model_config_of(tlp_model_member(l, k))->encode == tlp_model_config_of(tlp_model_member(m, k))->encode;
    ok(same, "loaded: every member's encoding and weights, bit for bit");
    tlp_model_free(l);
    size_t n, np = tlp_model_n_params(m);
    unsigned char *orig = slurp(good, &n), *bb = orig ? malloc(n) : NULL;
    if (!ok(bb && n > 12 * np, "read it back")) {
        free(orig), free(bb), tlp_model_free(m);
        return;
    }
    /* the count sits before the two members: 8 (trailer) + 2 x (4 + 4 np) + 4 from the end */
    size_t count_at = n - 8 - 2 * (4 + 4 * np) - 4, enc_at = count_at + 4;
    refused_patch(orig, n, count_at, 8, bad, "truncated", "8 members claimed, 2 there");
    refused_patch(orig, n, count_at, 1, bad, "trailing data", "1 member claimed, 2 there");
    refused_patch(orig, n, enc_at, 9, bad, "member 1: unknown input encoding 9", "a member's encoding out of range");
    spill(bad, orig, n - 8 - 4 * np);
    refused(bad, TLP_FORMAT, "member parameters", "a member cut short");
    free(orig), free(bb);
    tlp_model_free(m);
}

/* A training's ensemble in progress (version 4): its plan (the networks'
 * encodings, how many are finished, fine-tuning) round-trips; a plan that
 * does not fit the networks in the file is refused with a reason. */
static void plan(void)
{
    static const char *const heads[] = {"K80"};
    const char *good = in_dir("plan.ckpt"), *bad = in_dir("plan-bad.ckpt");
    tlp_model *m = make_model(TLP_MODE_GPU, heads, 1, 7);
    tlp_train_meta meta = make_meta();
    meta.n_nets = 3, meta.nets_done = 0, meta.fine = 1;
    tlp_encode first = tlp_model_config_of(m)->encode, other = first == TLP_ENCODE_LOG ? TLP_ENCODE_RAW : TLP_ENCODE_LOG;
    meta.nets[0] = first, meta.nets[1] = TLP_ENCODE_LOG, meta.nets[2] = TLP_ENCODE_PROG;
    tlp_error e = {0};
    tlp_train_meta lm;
    is_int(tlp_checkpoint_save(good, m, &meta, NULL, &e), TLP_OK, "save the first of 3 networks in training");
    tlp_model *l = tlp_checkpoint_load(good, &lm, NULL, &e);
    ok(l && lm.n_nets == 3 && lm.nets_done == 0 && lm.fine == 1 && lm.nets[1] == TLP_ENCODE_LOG &&
           lm.nets[2] == TLP_ENCODE_PROG && same_params(l, m),
       "loaded: the plan, and the network");
    tlp_model_free(l);
    size_t n;
    unsigned char *orig = slurp_version(good, &n, 4);
    if (!orig) {
        tlp_model_free(m);
        return;
    }
    /* from the end: trailer 8, flags 4, nets_done 4, 3 encodings, n_nets 4, n_members 4 */
    size_t flags_at = n - 12, done_at = n - 16, enc_at = n - 28, count_at = n - 32, members_at = n - 36;
    refused_patch(orig, n, done_at, 2, bad, "1 network in the file, but the training of 3 had finished 2",
                  "more networks finished than in the file");
    refused_patch(orig, n, done_at, 4, bad, "had finished 4", "more finished than planned");
    char want[96];
    snprintf(want, sizeof want, "network 1: encoding %d in the plan, %d in the file", (int)other, (int)first);
    refused_patch(orig, n, enc_at, other, bad, want, "a plan that names another encoding");
    refused_patch(orig, n, enc_at + 8, 9, bad, "network 3: unknown input encoding 9", "an encoding out of range");
    refused_patch(orig, n, flags_at, 3, bad, "unknown training plan flags 0x2", "plan flags from a newer tlpx");
    refused_patch(orig, n, count_at, 6, bad, "truncated", "a plan of 6 networks with 3 there");
    refused_patch(orig, n, members_at, 1, bad, "truncated", "a member claimed that is not there");
    spill(bad, orig, n - 12);
    refused(bad, TLP_FORMAT, "truncated", "the plan's end cut off");
    /* refused at save too: a plan the model does not fit */
    meta.nets_done = 2;
    is_int(tlp_checkpoint_save(bad, m, &meta, NULL, &e), TLP_ARG, "a save whose plan does not fit is refused");
    /* one network alone, or an ensemble made by tlpx ensemble: no plan, version 2 or 3 as before */
    meta.n_nets = 0;
    is_int(tlp_checkpoint_save(good, m, &meta, NULL, &e), TLP_OK, "no plan");
    free(orig);
    orig = slurp(good, &n);
    ok(orig && orig[8] == 2, "one network without a plan stays version 2");
    free(orig);
    l = tlp_checkpoint_load(good, &lm, NULL, &e);
    ok(l && lm.n_nets == 1 && lm.nets[0] == first && lm.nets_done == 0,
       "and loads with the plan of one network: its own encoding");
    tlp_model_free(l);
    tlp_model_free(m);
}

/* What the heads were trained on (version 5): their targets and tasks
 * round-trip with the weights; a model that knows nothing of it stays the
 * version it was; a damaged origin is refused with a reason; heads are
 * found by name, else by the -model= (or -mcpu=) of their targets. */
static void origin(void)
{
    static const char *const heads[] = {"K80", "Xeon"};
    const char *good = in_dir("origin.ckpt"), *bad = in_dir("origin-bad.ckpt");
    tlp_model *m = make_model(TLP_MODE_GPU, heads, 2, 9);
    tlp_train_meta meta = make_meta();
    tlp_error e = {0};
    uint64_t k80[] = {30, 10, 20, 10}, xeon[] = {7};
    const char *t_k80 = "cuda -keys=cuda,gpu -arch=sm_37 -max_num_threads=1024 -thread_warp_size=32";
    const char *t_xeon = "llvm -keys=cpu -link-params=0 -mcpu=core-avx2 -model=platinum-8358";
    ok(tlp_model_origin_add(m, 0, t_k80, k80, 4) == TLP_OK && tlp_model_origin_add(m, 0, t_k80, NULL, 0) == TLP_OK &&
           tlp_model_origin_add(m, 1, t_xeon, xeon, 1) == TLP_OK,
       "origin added");
    const uint64_t *tasks;
    ok(tlp_model_origin_tasks(m, 0, &tasks) == 3 && tasks[0] == 10 && tasks[2] == 30 &&
           tlp_model_origin_n_targets(m, 0) == 1,
       "tasks sorted and unique, a target once");
    is_int(tlp_model_origin_add(m, 5, t_k80, NULL, 0), TLP_ARG, "a head the model has not is refused");
    is_int(tlp_checkpoint_save(good, m, &meta, NULL, &e), TLP_OK, "saved");
    tlp_model *l = tlp_checkpoint_load(good, NULL, NULL, &e);
    ok(l && same_params(l, m) && tlp_model_trained_on(l, 0, 20) && !tlp_model_trained_on(l, 0, 7) &&
           tlp_model_trained_on(l, 1, 7) && tlp_model_origin_n_targets(l, 1) == 1 &&
           !strcmp(tlp_model_origin_target_at(l, 1, 0), t_xeon),
       "loaded: the weights, each head's tasks and targets");
    is_int(l ? tlp_model_head_for(l, "K80", t_xeon) : -2, 0, "a head by its name first");
    is_int(l ? tlp_model_head_for(l, "xeon-logs", "llvm -keys=cpu -model=platinum-8358") : -2, 1,
           "else by the -model= of its targets");
    is_int(l ? tlp_model_head_for(l, "mine", "llvm -mcpu=core-avx2") : -2, 1, "else by -mcpu=");
    is_int(l ? tlp_model_head_for(l, "mine", "cuda -model=unknown") : -2, -1, "-model=unknown names nothing");
    is_int(l ? tlp_model_head_for(l, "mine", "rocm -model=gfx906") : -2, -1, "no head: -1");
    tlp_model *c = l ? tlp_model_clone(l) : NULL;
    ok(c && tlp_model_trained_on(c, 1, 7) && tlp_model_origin_n_targets(c, 0) == 1, "a clone keeps the origin");
    tlp_model_free(c);
    tlp_model_free(l);
    size_t n;
    unsigned char *orig = slurp_version(good, &n, 5);
    if (!orig) {
        tlp_model_free(m);
        return;
    }
    /* from the end: trailer 8, xeon's task 8, its count 8, its target, its length 4, its count 4 */
    size_t xeon_count = n - 8 - 8 - 8 - strlen(t_xeon) - 4 - 4;
    refused_patch(orig, n, xeon_count, TLP_ORIGIN_TARGETS + 1, bad, "head 1: 257 targets (at most 256)",
                  "too many targets");
    refused_patch(orig, n, xeon_count, 2, bad, "head 1: a target of 1 bytes", "a target claimed that is not there");
    refused_patch(orig, n, n - 8 - 8 - 8, 3, bad, "expected 3 tasks of head 1", "tasks claimed that are not there");
    spill(bad, orig, n - 16);
    refused(bad, TLP_FORMAT, "truncated", "the origin cut short");
    free(orig);
    tlp_model *plain = make_model(TLP_MODE_GPU, heads, 2, 9);
    is_int(tlp_checkpoint_save(good, plain, &meta, NULL, &e), TLP_OK, "a model without an origin");
    orig = slurp(good, &n);
    ok(orig && orig[8] == 2, "stays version 2 (an older tlpx reads it)");
    free(orig);
    l = tlp_checkpoint_load(good, NULL, NULL, &e);
    ok(l && !tlp_model_has_origin(l) && tlp_model_head_for(l, "mine", t_xeon) == -1,
       "and loads knowing nothing of what it was trained on");
    tlp_model_free(l);
    tlp_model_free(plain);
    tlp_model_free(m);
}

/* A head's name from a file is cleaned as a hardware name is: a file
 * written by hand (or by an older tlpx) cannot put an escape on a screen. */
static void head_names_cleaned(void)
{
    static const char *const heads[] = {"K\033]0;x\007\tY\302\233"};
    tlp_model *m = make_model(TLP_MODE_GPU, heads, 1, 3);
    if (!ok(m != NULL, "a model whose head's name has controls")) return;
    tlp_error e = {0};
    tlp_train_meta meta = make_meta();
    ok(tlp_checkpoint_save(in_dir("esc.ckpt"), m, &meta, NULL, &e) == TLP_OK, "saved");
    tlp_model *l = tlp_checkpoint_load(in_dir("esc.ckpt"), NULL, NULL, &e);
    if (ok(l != NULL, "loads")) is_str(tlp_model_config_of(l)->heads[0], "K_]0;x__Y__", "its head's name cleaned");
    tlp_model_free(l);
    tlp_model_free(m);
}

int main(void)
{
    tlp_set_threads(1);
    if (!mkdtemp(dir)) {
        printf("Bail out! cannot make a temp directory\n");
        return 1;
    }
    static const char *const cpu_heads[] = {"e5-2673"};
    static const char *const gpu_heads[] = {"K80", "V100", "MI50"};
    round_trip(TLP_MODE_CPU, cpu_heads, 1, "cpu.ckpt");
    round_trip(TLP_MODE_GPU, gpu_heads, 3, "gpu.ckpt");
    corrupt_files();
    failed_save();
    version_1();
    members();
    plan();
    origin();
    head_names_cleaned();
    cleanup();
    return tap_done();
}
