/* test_torch_parity.c: the network (engine/model.c) and the losses
 * (engine/loss.c) against PyTorch.  tests/make_torch_fixtures.py ran our
 * PyTorch reference (tlp_torch.py) in float64 on parameters set by a formula
 * both sides compute bit for bit, and wrote tests/fixtures/torch/CASE.txt:
 * inputs, outputs, the LambdaRank and MSE losses with their gradients with
 * respect to the predictions, and a summary of every parameter's gradient
 * (sum, sum of squares, first values).  Format: the script's docstring. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <errno.h>
#include <stdint.h>

#define MAX_TENSORS (16 + 8 * TLP_MAX_HEADS)
#define NFIRST 64

static const char *srcdir(void)
{
    const char *d = getenv("top_srcdir");
    return d ? d : ".";
}

/* ------------------------------------------------------------ fixture */

typedef struct {
    char name[64];
    int rows, cols;
    double param_sum, grad_sum, grad_sumsq;
    int nfirst;
    double first[NFIRST];
} fx_tensor;

typedef struct {
    char name[32];
    tlp_mode mode;
    int H, B, L, F;
    float *x;     /* [B][L][F] */
    float *label; /* [H][B] */
    double *out;  /* [H][B] */
    double loss_rank;
    double *dpred; /* [H][B] */
    double loss_mse;
    double *dmse; /* [B] */
    int T;
    fx_tensor *t;
} fixture;

/* A whitespace tokenizer over a file held in memory; '#' comments to the end of the line. */
typedef struct {
    char *buf;
    size_t len, pos;
    char tok[256];
    char err[200];
} lexer;

static int lex_next(lexer *lx)
{
    for (;;) {
        while (lx->pos < lx->len && (lx->buf[lx->pos] == ' ' || lx->buf[lx->pos] == '\n' ||
                                     lx->buf[lx->pos] == '\t' || lx->buf[lx->pos] == '\r'))
            lx->pos++;
        if (lx->pos < lx->len && lx->buf[lx->pos] == '#') {
            while (lx->pos < lx->len && lx->buf[lx->pos] != '\n') lx->pos++;
            continue;
        }
        break;
    }
    size_t n = 0;
    while (lx->pos < lx->len && !strchr(" \n\t\r#", lx->buf[lx->pos])) {
        if (lx->buf[lx->pos] == '\0' || n + 1 >= sizeof lx->tok) {
            snprintf(lx->err, sizeof lx->err, "bad token at byte %zu", lx->pos);
            return 0;
        }
        lx->tok[n++] = lx->buf[lx->pos++];
    }
    lx->tok[n] = 0;
    if (!n && !lx->err[0]) snprintf(lx->err, sizeof lx->err, "unexpected end of file");
    return n > 0;
}

static int expect(lexer *lx, const char *word)
{
    if (!lex_next(lx)) return 0;
    if (strcmp(lx->tok, word) != 0) {
        snprintf(lx->err, sizeof lx->err, "expected \"%s\", found \"%.60s\" before byte %zu", word, lx->tok, lx->pos);
        return 0;
    }
    return 1;
}

static int read_dbl(lexer *lx, double *v)
{
    if (!lex_next(lx)) return 0;
    char *end;
    errno = 0;
    *v = strtod(lx->tok, &end);
    if (*end || end == lx->tok || errno == ERANGE) {
        snprintf(lx->err, sizeof lx->err, "not a number: \"%.60s\" before byte %zu", lx->tok, lx->pos);
        return 0;
    }
    return 1;
}

static int read_int(lexer *lx, int lo, int hi, int *v)
{
    double d;
    if (!read_dbl(lx, &d)) return 0;
    if (!(d >= lo && d <= hi) || d != (double)(int)d) {
        snprintf(lx->err, sizeof lx->err, "integer %.60s outside %d..%d before byte %zu", lx->tok, lo, hi, lx->pos);
        return 0;
    }
    *v = (int)d;
    return 1;
}

static int keyed_int(lexer *lx, const char *key, int lo, int hi, int *v)
{
    return expect(lx, key) && read_int(lx, lo, hi, v);
}

static int read_dbls(lexer *lx, const char *key, double *a, size_t n)
{
    if (!expect(lx, key)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!read_dbl(lx, &a[i])) return 0;
    return 1;
}

static int read_floats(lexer *lx, const char *key, float *a, size_t n)
{
    if (!expect(lx, key)) return 0;
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!read_dbl(lx, &d)) return 0;
        a[i] = (float)d;
        if ((double)a[i] != d) {
            snprintf(lx->err, sizeof lx->err, "%s[%zu] = %.60s is not a float32", key, i, lx->tok);
            return 0;
        }
    }
    return 1;
}

static int copy_name(lexer *lx, char *dst, size_t cap)
{
    size_t n = strlen(lx->tok);
    if (n >= cap) {
        snprintf(lx->err, sizeof lx->err, "name too long: \"%.60s...\" before byte %zu", lx->tok, lx->pos);
        return 0;
    }
    memcpy(dst, lx->tok, n + 1);
    return 1;
}

static void fixture_free(fixture *f)
{
    free(f->x);
    free(f->label);
    free(f->out);
    free(f->dpred);
    free(f->dmse);
    free(f->t);
    memset(f, 0, sizeof *f);
}

static int parse_fixture(lexer *lx, fixture *f)
{
    int version;
    if (!keyed_int(lx, "tlpx-torch-fixture", 1, 1, &version) || !expect(lx, "case") || !lex_next(lx)) return 0;
    if (!copy_name(lx, f->name, sizeof f->name)) return 0;
    if (!expect(lx, "mode") || !lex_next(lx)) return 0;
    if (strcmp(lx->tok, "cpu") && strcmp(lx->tok, "gpu")) {
        snprintf(lx->err, sizeof lx->err, "mode \"%.60s\"", lx->tok);
        return 0;
    }
    f->mode = strcmp(lx->tok, "cpu") ? TLP_MODE_GPU : TLP_MODE_CPU;
    if (!keyed_int(lx, "heads", 1, TLP_MAX_HEADS, &f->H) || !keyed_int(lx, "batch", 1, 4096, &f->B) ||
        !keyed_int(lx, "steps", 1, TLP_MAX_STEPS, &f->L) || !keyed_int(lx, "features", 1, TLP_MAX_FEA, &f->F))
        return 0;
    if (f->L != tlp_mode_seq(f->mode) || f->F != tlp_mode_fea(f->mode)) {
        snprintf(lx->err, sizeof lx->err, "%dx%d is not the shape of mode %s", f->L, f->F, tlp_mode_name(f->mode));
        return 0;
    }
    size_t nx = (size_t)f->B * (size_t)f->L * (size_t)f->F, nhb = (size_t)f->H * (size_t)f->B;
    f->x = malloc(sizeof(float) * nx);
    f->label = malloc(sizeof(float) * nhb);
    f->out = malloc(sizeof(double) * nhb);
    f->dpred = malloc(sizeof(double) * nhb);
    f->dmse = malloc(sizeof(double) * (size_t)f->B);
    if (!f->x || !f->label || !f->out || !f->dpred || !f->dmse) {
        snprintf(lx->err, sizeof lx->err, "out of memory");
        return 0;
    }
    if (!read_floats(lx, "x", f->x, nx) || !read_floats(lx, "label", f->label, nhb) ||
        !read_dbls(lx, "out", f->out, nhb) || !expect(lx, "loss_rank") || !read_dbl(lx, &f->loss_rank) ||
        !read_dbls(lx, "dpred", f->dpred, nhb) || !expect(lx, "loss_mse") || !read_dbl(lx, &f->loss_mse) ||
        !read_dbls(lx, "dmse", f->dmse, (size_t)f->B) || !keyed_int(lx, "tensors", 1, MAX_TENSORS, &f->T))
        return 0;
    f->t = calloc((size_t)f->T, sizeof *f->t);
    if (!f->t) {
        snprintf(lx->err, sizeof lx->err, "out of memory");
        return 0;
    }
    for (int i = 0; i < f->T; i++) {
        fx_tensor *t = &f->t[i];
        if (!expect(lx, "tensor") || !lex_next(lx)) return 0;
        if (!copy_name(lx, t->name, sizeof t->name)) return 0;
        if (!read_int(lx, 1, 1 << 20, &t->rows) || !read_int(lx, 1, 1 << 20, &t->cols) ||
            !read_dbl(lx, &t->param_sum) || !read_dbl(lx, &t->grad_sum) || !read_dbl(lx, &t->grad_sumsq))
            return 0;
        long long numel = (long long)t->rows * t->cols;
        if (!read_int(lx, 1, (int)(numel < NFIRST ? numel : NFIRST), &t->nfirst)) return 0;
        for (int k = 0; k < t->nfirst; k++)
            if (!read_dbl(lx, &t->first[k])) return 0;
    }
    if (!expect(lx, "end")) return 0;
    if (lex_next(lx)) {
        snprintf(lx->err, sizeof lx->err, "junk after \"end\": \"%.60s\"", lx->tok);
        return 0;
    }
    lx->err[0] = 0;
    return 1;
}

static int load_fixture(const char *path, fixture *f, char *why, size_t cap)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return 0;
    }
    lexer lx = {0};
    size_t cap_buf = 1 << 16;
    lx.buf = malloc(cap_buf);
    for (size_t got; lx.buf && (got = fread(lx.buf + lx.len, 1, cap_buf - lx.len, fp)) > 0;) {
        lx.len += got;
        if (lx.len == cap_buf) {
            char *nb = cap_buf < ((size_t)64 << 20) ? realloc(lx.buf, cap_buf * 2) : NULL;
            if (!nb) {
                free(lx.buf);
                lx.buf = NULL;
                break;
            }
            lx.buf = nb;
            cap_buf *= 2;
        }
    }
    int rd_err = ferror(fp);
    fclose(fp);
    if (!lx.buf || rd_err) {
        free(lx.buf);
        snprintf(why, cap, "%s: %s", path, rd_err ? "read error" : "too big or out of memory");
        return 0;
    }
    int good = parse_fixture(&lx, f);
    if (!good) {
        snprintf(why, cap, "%s: %s", path, lx.err);
        fixture_free(f);
    }
    free(lx.buf);
    return good;
}

/* ------------------------------------------------------------ parameters */

/* The formula of tests/make_torch_fixtures.py: a 32-bit integer hash of (t, i),
 * then IEEE double arithmetic, then one rounding to float32. */
static float param_value(size_t t, size_t i, int cols)
{
    uint32_t h = (uint32_t)i * 2654435761u + (uint32_t)t * 40503u + 12345u;
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    double u = (double)h * (1.0 / 4294967296.0);
    double amp = cols == 1 ? 0.1 : t == 0 ? 0.5 : 1.5;
    return (float)(((u * 2.0 - 1.0) * amp) / sqrt((double)cols));
}

static void fill_params(tlp_model *m)
{
    float *p = tlp_model_params(m);
    for (size_t t = 0; t < tlp_model_n_tensors(m); t++) {
        int rows, cols;
        size_t off;
        tlp_model_tensor(m, t, NULL, &rows, &cols, &off);
        for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) p[off + i] = param_value(t, i, cols);
    }
}

/* ------------------------------------------------------------ checks */

static double max_abs_diff_fd(const float *a, const double *b, size_t n)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= mx)) mx = d; /* NaN wins */
    }
    return mx;
}

/* The model's layout against the fixture's: names, shapes, parameter sums. */
static int check_layout(const tlp_model *m, const fixture *f)
{
    char what[200];
    int same = (int)tlp_model_n_tensors(m) == f->T;
    snprintf(what, sizeof what, "%s: %d tensors", f->name, f->T);
    if (!ok(same, what)) {
        printf("#   model has %zu\n", tlp_model_n_tensors(m));
        return 0;
    }
    const float *p = tlp_model_params_const(m);
    int names = 1, sums = 1;
    for (int t = 0; t < f->T; t++) {
        const char *name;
        int rows, cols;
        size_t off;
        tlp_model_tensor(m, (size_t)t, &name, &rows, &cols, &off);
        if (strcmp(name, f->t[t].name) || rows != f->t[t].rows || cols != f->t[t].cols) {
            if (names) printf("# tensor %d: model %s [%d x %d], fixture %s [%d x %d]\n", t, name, rows, cols,
                              f->t[t].name, f->t[t].rows, f->t[t].cols);
            names = 0;
            continue;
        }
        double s = 0, sa = 0;
        for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) {
            s += p[off + i];
            sa += fabs(p[off + i]);
        }
        if (!(fabs(s - f->t[t].param_sum) <= 1e-9 * (sa + 1))) {
            if (sums) printf("# tensor %s: parameter sum %.17g, fixture %.17g\n", name, s, f->t[t].param_sum);
            sums = 0;
        }
    }
    snprintf(what, sizeof what, "%s: tensor names and shapes in state_dict order", f->name);
    ok(names, what);
    snprintf(what, sizeof what, "%s: parameters from the formula match PyTorch's (per-tensor sums)", f->name);
    ok(sums, what);
    return names && sums;
}

typedef struct {
    double out, rank_rel, dpred, grad_sum, grad_sumsq, grad_first;
} worst_t;

static void check_losses(const fixture *f, worst_t *w)
{
    char what[200];
    size_t nhb = (size_t)f->H * (size_t)f->B;
    float *pred = malloc(sizeof(float) * nhb), *grad = malloc(sizeof(float) * nhb);
    if (!pred || !grad) {
        ok(0, "out of memory");
        free(pred);
        free(grad);
        return;
    }
    for (size_t i = 0; i < nhb; i++) pred[i] = (float)f->out[i]; /* what the fixture's losses saw */
    double loss = 0;
    for (int h = 0; h < f->H; h++)
        loss += tlp_loss_lambdarank(pred + (size_t)h * f->B, f->label + (size_t)h * f->B, NULL, f->B,
                                    grad + (size_t)h * f->B);
    double rel = fabs(loss - f->loss_rank) / fabs(f->loss_rank);
    if (!(rel <= w->rank_rel)) w->rank_rel = rel;
    snprintf(what, sizeof what, "%s: LambdaRank loss (relative 1e-4)", f->name);
    if (!ok(rel <= 1e-4, what)) printf("#   got %.17g, want %.17g\n", loss, f->loss_rank);
    double gmax = 0;
    for (size_t i = 0; i < nhb; i++) gmax = fmax(gmax, fabs(f->dpred[i]));
    double d = max_abs_diff_fd(grad, f->dpred, nhb);
    if (!(d <= w->dpred)) w->dpred = d;
    printf("# %s: LambdaRank %.9g (torch %.9g), max|dloss/dpred diff| %.3g (max|dpred| %.3g)\n", f->name, loss,
           f->loss_rank, d, gmax);
    snprintf(what, sizeof what, "%s: dLambdaRank/dpred (1e-4)", f->name);
    if (!ok(d <= 1e-4, what))
        for (size_t i = 0; i < nhb; i++) printf("#   [%zu] got %.9g want %.9g\n", i, (double)grad[i], f->dpred[i]);

    if (f->H == 1) {
        double mse = tlp_loss_mse(pred, f->label, NULL, f->B, grad);
        snprintf(what, sizeof what, "%s: MSE loss (relative 1e-6)", f->name);
        if (!ok(fabs(mse - f->loss_mse) <= 1e-6 * fabs(f->loss_mse), what))
            printf("#   got %.17g, want %.17g\n", mse, f->loss_mse);
        snprintf(what, sizeof what, "%s: dMSE/dpred (1e-5)", f->name);
        double dm = max_abs_diff_fd(grad, f->dmse, (size_t)f->B);
        if (!ok(dm <= 1e-5, what)) printf("#   max diff %.3g\n", dm);
        /* a mask keeping every entry changes nothing; one dropping an entry drops it */
        uint8_t mask[4096];
        for (int i = 0; i < f->B; i++) mask[i] = 1;
        double mse2 = tlp_loss_mse(pred, f->label, mask, f->B, grad);
        snprintf(what, sizeof what, "%s: MSE with an all-ones mask is the same", f->name);
        is_dbl(mse2, mse, 1e-12 * fabs(mse), what);
        double lr2 = tlp_loss_lambdarank(pred, f->label, mask, f->B, grad);
        snprintf(what, sizeof what, "%s: LambdaRank with an all-ones mask is the same", f->name);
        is_dbl(lr2, loss, 1e-12 * fabs(loss), what);
    }
    free(pred);
    free(grad);
}

/* Head of a last decoder bias ("decoder.6.bias" 0, "mtl_heads.H.6.bias" H), else -1. */
static int last_bias_head(const char *name)
{
    if (strcmp(name, "decoder.6.bias") == 0) return 0;
    int h, len = 0;
    if (sscanf(name, "mtl_heads.%d.6.bias%n", &h, &len) == 1 && name[len] == 0) return h;
    return -1;
}

static void check_backward(tlp_model *m, const fixture *f, worst_t *w)
{
    char what[200];
    size_t nhb = (size_t)f->H * (size_t)f->B;
    float *dout = malloc(sizeof(float) * nhb);
    if (!dout) {
        ok(0, "out of memory");
        return;
    }
    for (size_t i = 0; i < nhb; i++) dout[i] = (float)f->dpred[i];
    tlp_model_zero_grads(m);
    tlp_model_backward(m, dout);
    free(dout);
    const float *G = tlp_model_grads(m);
    /* Gradients whose exact value is 0 (the last decoder bias: L * sum(dpred), and
     * LambdaRank's dpred sums to zero) are rounding noise on both sides: an
     * absolute floor scaled by the largest gradient of the model covers them. */
    double gscale = 0;
    for (int t = 0; t < f->T; t++)
        gscale = fmax(gscale, sqrt(f->t[t].grad_sumsq / ((double)f->t[t].rows * f->t[t].cols)));
    int bad_sum = 0, bad_sq = 0, bad_first = 0;
    for (int t = 0; t < f->T; t++) {
        const fx_tensor *ft = &f->t[t];
        size_t off, n = (size_t)ft->rows * (size_t)ft->cols;
        tlp_model_tensor(m, (size_t)t, NULL, NULL, NULL, &off);
        double s = 0, sq = 0;
        for (size_t i = 0; i < n; i++) {
            s += G[off + i];
            sq += (double)G[off + i] * G[off + i];
        }
        double rms = sqrt(ft->grad_sumsq / (double)n), floor_ = 1e-5 * gscale;
        int head = last_bias_head(ft->name);
        if (head >= 0 && head < f->H && n == 1) {
            /* exactly L * sum(dpred) = 0 but for dpred's rounding: C's value is the
             * rounding of a float sum of N = B*L terms, bounded by (N-1) u sum|terms| */
            double mass = 0;
            for (int b = 0; b < f->B; b++) mass += fabs(f->dpred[(size_t)head * f->B + b]);
            mass *= f->L;
            floor_ = fmax(floor_, (double)(f->B * f->L - 1) * 0x1p-24 * mass);
            printf("# %s %s: %.3g (torch %.3g; exact 0 up to rounding, bound %.3g)\n", f->name, ft->name,
                   (double)G[off], ft->first[0], floor_);
        }
        /* sum: relative 1e-3, or 1e-4 of the sum a same-signed gradient would have */
        double e_sum = fabs(s - ft->grad_sum), tol_sum = 1e-3 * fabs(ft->grad_sum) + 1e-4 * (double)n * rms +
                                                        (double)n * floor_;
        double e_sq = fabs(sqrt(sq) - sqrt(ft->grad_sumsq)), tol_sq = 5e-4 * sqrt(ft->grad_sumsq) +
                                                                     sqrt((double)n) * floor_;
        double e_first = 0;
        for (int k = 0; k < ft->nfirst; k++) e_first = fmax(e_first, fabs(G[off + (size_t)k] - ft->first[k]));
        double tol_first = 1e-4 * rms + floor_;
        /* for the report: errors relative to the tensor's own figures (sums that cancel to
         * under 1% of n x rms are left out: their relative error means nothing) */
        double r_sum = fabs(ft->grad_sum) >= 1e-2 * (double)n * rms ? e_sum / fabs(ft->grad_sum) : 0, r_sq = e_sq / fmax(sqrt(ft->grad_sumsq), 1e-300),
               r_first = e_first / fmax(rms, 1e-300);
        if (rms < 1e-3 * gscale) r_sum = r_sq = r_first = 0; /* near-zero tensors: not a relative figure */
        if (r_sum > w->grad_sum) w->grad_sum = r_sum;
        if (r_sq > w->grad_sumsq) w->grad_sumsq = r_sq;
        if (r_first > w->grad_first) w->grad_first = r_first;
        if (!(e_sum <= tol_sum)) {
            if (!bad_sum++) printf("# %s %s: gradient sum %.9g, torch %.9g (tolerance %.3g)\n", f->name, ft->name, s,
                                   ft->grad_sum, tol_sum);
        }
        if (!(e_sq <= tol_sq)) {
            if (!bad_sq++)
                printf("# %s %s: gradient norm %.9g, torch %.9g (tolerance %.3g)\n", f->name, ft->name, sqrt(sq),
                       sqrt(ft->grad_sumsq), tol_sq);
        }
        if (!(e_first <= tol_first)) {
            if (!bad_first++)
                for (int k = 0; k < ft->nfirst; k++)
                    if (!(fabs(G[off + (size_t)k] - ft->first[k]) <= tol_first)) {
                        printf("# %s %s[%d]: gradient %.9g, torch %.9g (tolerance %.3g)\n", f->name, ft->name, k,
                               (double)G[off + (size_t)k], ft->first[k], tol_first);
                        break;
                    }
        }
    }
    snprintf(what, sizeof what, "%s: per-tensor gradient sums", f->name);
    if (!ok(!bad_sum, what)) printf("#   %d tensors off\n", bad_sum);
    snprintf(what, sizeof what, "%s: per-tensor gradient sums of squares (relative 1e-3)", f->name);
    if (!ok(!bad_sq, what)) printf("#   %d tensors off\n", bad_sq);
    snprintf(what, sizeof what, "%s: first %d gradient values of each tensor (1e-4 x its rms)", f->name, NFIRST);
    if (!ok(!bad_first, what)) printf("#   %d tensors off\n", bad_first);
}

static void run_case(const char *case_name, worst_t *w)
{
    char path[1024], why[1400], what[200];
    snprintf(path, sizeof path, "%s/tests/fixtures/torch/%s.txt", srcdir(), case_name);
    fixture f;
    int loaded = load_fixture(path, &f, why, sizeof why);
    snprintf(what, sizeof what, "%s: fixture loads", case_name);
    if (!ok(loaded, what)) {
        printf("#   %s\n", why);
        return;
    }
    tlp_model_config cfg = {0};
    cfg.mode = f.mode;
    cfg.n_heads = f.H;
    for (int h = 0; h < f.H; h++) snprintf(cfg.heads[h], TLP_HEAD_NAME, "hw%d", h);
    tlp_error err = {0};
    tlp_model *m = tlp_model_new(&cfg, 1, &err);
    snprintf(what, sizeof what, "%s: model builds", f.name);
    if (!ok(m != NULL, what)) {
        printf("#   %s\n", err.msg);
        fixture_free(&f);
        return;
    }
    fill_params(m);
    if (!check_layout(m, &f)) {
        tlp_model_free(m);
        fixture_free(&f);
        return;
    }
    size_t nhb = (size_t)f.H * (size_t)f.B;
    float *out = calloc(nhb, sizeof(float)), *out1 = calloc((size_t)f.B, sizeof(float));
    if (!out || !out1) {
        ok(0, "out of memory");
        goto done;
    }
    snprintf(what, sizeof what, "%s: reserve a training batch", f.name);
    is_int(tlp_model_reserve(m, f.B, 1, &err), TLP_OK, what);
    snprintf(what, sizeof what, "%s: training forward (all heads)", f.name);
    is_int(tlp_model_forward(m, f.x, f.B, -1, out), TLP_OK, what);
    double d = max_abs_diff_fd(out, f.out, nhb), omax = 0;
    for (size_t i = 0; i < nhb; i++) omax = fmax(omax, fabs(f.out[i]));
    if (!(d <= w->out)) w->out = d;
    printf("# %s: max|out - torch| = %.3g (max|out| %.3g)\n", f.name, d, omax);
    snprintf(what, sizeof what, "%s: outputs match PyTorch (1e-4)", f.name);
    if (!ok(d <= 1e-4, what))
        for (size_t i = 0; i < nhb; i++) printf("#   out[%zu] %.9g torch %.9g\n", i, (double)out[i], f.out[i]);

    /* the inference path (one head, chunked workspace) gives the same scores */
    for (int h = 0; h < f.H; h++) {
        snprintf(what, sizeof what, "%s: inference forward, head %d", f.name, h);
        is_int(tlp_model_forward(m, f.x, f.B, h, out1), TLP_OK, what);
        double dh = 0;
        for (int b = 0; b < f.B; b++) dh = fmax(dh, fabs((double)out1[b] - out[(size_t)h * f.B + b]));
        printf("# %s: head %d inference vs training forward max|diff| %.3g\n", f.name, h, dh);
        snprintf(what, sizeof what, "%s: head %d inference equals the training forward (1e-5)", f.name, h);
        ok(dh <= 1e-5, what);
    }
    /* a batch past the inference chunk: the six samples tiled 25 times */
    {
        int BB = 25 * f.B;
        size_t row = (size_t)f.L * (size_t)f.F;
        float *xx = malloc(sizeof(float) * (size_t)BB * row), *oo = malloc(sizeof(float) * (size_t)BB);
        if (xx && oo) {
            for (int b = 0; b < BB; b++) memcpy(xx + (size_t)b * row, f.x + (size_t)(b % f.B) * row, sizeof(float) * row);
            snprintf(what, sizeof what, "%s: inference forward of %d samples", f.name, BB);
            is_int(tlp_model_forward(m, xx, BB, 0, oo), TLP_OK, what);
            double dt = 0;
            for (int b = 0; b < BB; b++) dt = fmax(dt, fabs((double)oo[b] - f.out[b % f.B]));
            snprintf(what, sizeof what, "%s: %d tiled samples in chunks match PyTorch (1e-4)", f.name, BB);
            if (!ok(dt <= 1e-4, what)) printf("#   max diff %.3g\n", dt);
        } else
            ok(0, "out of memory");
        free(xx);
        free(oo);
    }
    /* the inference calls must not disturb the last training forward: run it again anyway */
    snprintf(what, sizeof what, "%s: training forward again", f.name);
    is_int(tlp_model_forward(m, f.x, f.B, -1, out), TLP_OK, what);

    check_losses(&f, w);
    check_backward(m, &f, w);
    /* backward adds: twice without zeroing doubles the gradients */
    {
        size_t np = tlp_model_n_params(m);
        float *g1 = malloc(sizeof(float) * np), *dout = malloc(sizeof(float) * nhb);
        if (g1 && dout) {
            memcpy(g1, tlp_model_grads(m), sizeof(float) * np);
            for (size_t i = 0; i < nhb; i++) dout[i] = (float)f.dpred[i];
            tlp_model_backward(m, dout);
            const float *g2 = tlp_model_grads(m);
            double e = 0, gm = 0;
            for (size_t i = 0; i < np; i++) {
                e = fmax(e, fabs((double)g2[i] - 2.0 * g1[i]));
                gm = fmax(gm, fabs((double)g1[i]));
            }
            snprintf(what, sizeof what, "%s: a second backward adds into the gradients", f.name);
            if (!ok(e <= 1e-5 * gm, what)) printf("#   max|g2 - 2 g1| %.3g (max|g1| %.3g)\n", e, gm);
            tlp_model_zero_grads(m);
            int zero = 1;
            for (size_t i = 0; i < np; i++) zero &= g2[i] == 0;
            snprintf(what, sizeof what, "%s: zero_grads zeroes", f.name);
            ok(zero, what);
        } else
            ok(0, "out of memory");
        free(g1);
        free(dout);
    }
done:
    free(out);
    free(out1);
    tlp_model_free(m);
    fixture_free(&f);
}

int main(void)
{
    tlp_set_threads(1);
    worst_t w = {0};
    run_case("cpu", &w);
    run_case("gpu", &w);
    run_case("mtl_gpu", &w);
    printf("# worst: outputs %.3g abs; LambdaRank %.3g rel; dloss/dpred %.3g abs;\n"
           "# gradients (relative to each tensor's own scale): sum %.3g, norm %.3g, first values %.3g x rms\n",
           w.out, w.rank_rel, w.dpred, w.grad_sum, w.grad_sumsq, w.grad_first);
    return tap_done();
}
