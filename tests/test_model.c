/* test_model.c: the BLAS door, the RNG, the network's gradients against
 * finite differences, both losses' gradients, Adam and clipping, an overfit
 * run and MTL with missing labels. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <math.h>

static void test_gemm(void)
{
    tlp_rng r;
    tlp_rng_seed(&r, 1);
    int ok_all = 1;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int M = 7, N = 5, K = 9;
            float A[7 * 9], B[9 * 5], C1[7 * 5], C2[7 * 5];
            for (int i = 0; i < 63; i++) A[i] = (float)tlp_rng_uniform(&r) - 0.5f;
            for (int i = 0; i < 45; i++) B[i] = (float)tlp_rng_uniform(&r) - 0.5f;
            for (int i = 0; i < 35; i++) C1[i] = C2[i] = (float)tlp_rng_uniform(&r);
            int lda = ta ? M : K, ldb = tb ? K : N;
            tlp_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 2.0f, C1, N);
            tlp_gemm_ref(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 2.0f, C2, N);
            for (int i = 0; i < 35; i++) ok_all &= fabsf(C1[i] - C2[i]) < 1e-5f;
        }
    ok(ok_all, "cblas_sgemm equals the plain loops for every transpose");
}

static void test_rng(void)
{
    tlp_rng a, b;
    tlp_rng_seed(&a, 42);
    tlp_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= tlp_rng_next(&a) == tlp_rng_next(&b);
    ok(same, "same seed, same stream");
    tlp_rng_seed(&b, 43);
    ok(tlp_rng_next(&a) != tlp_rng_next(&b), "another seed, another stream");
    int hist[10] = {0};
    for (int i = 0; i < 100000; i++) hist[tlp_rng_below(&a, 10)]++;
    int flat = 1;
    for (int i = 0; i < 10; i++) flat &= hist[i] > 9500 && hist[i] < 10500;
    ok(flat, "tlp_rng_below is uniform");
    uint32_t p[50];
    for (uint32_t i = 0; i < 50; i++) p[i] = i;
    tlp_rng_shuffle_u32(&a, p, 50);
    int seen[50] = {0}, perm = 1, moved = 0;
    for (int i = 0; i < 50; i++) {
        perm &= p[i] < 50 && !seen[p[i]];
        if (p[i] < 50) seen[p[i]] = 1;
        moved += p[i] != (uint32_t)i;
    }
    ok(perm && moved > 25, "shuffle is a permutation that moves things");
}

static tlp_model *small_model_enc(tlp_mode mode, int heads, uint64_t seed, tlp_encode enc)
{
    tlp_model_config c = {mode, heads, {{0}}, enc, 0};
    for (int h = 0; h < heads; h++) snprintf(c.heads[h], TLP_HEAD_NAME, "hw%d", h);
    tlp_error e = {0};
    tlp_model *m = tlp_model_new(&c, seed, &e);
    if (!m) printf("# %s\n", e.msg);
    return m;
}
static tlp_model *small_model(tlp_mode mode, int heads, uint64_t seed)
{
    return small_model_enc(mode, heads, seed, TLP_ENCODE_RAW);
}

static void fill_input(tlp_rng *r, float *x, int B, int L, int F, float scale)
{
    for (int b = 0; b < B; b++)
        for (int l = 0; l < L; l++) {
            float *row = x + ((size_t)b * L + l) * F;
            int pad = l >= L - 3; /* zero padding steps, like real records */
            for (int j = 0; j < F; j++) row[j] = 0;
            if (pad) continue;
            row[tlp_rng_below(r, 11)] = 1;
            for (int j = 11; j < F; j++) row[j] = scale * (float)tlp_rng_below(r, 4);
        }
}

/* sum_h sum_b c[h][b] out[h][b] */
static double objective(tlp_model *m, const float *x, int B, const float *c, float *out)
{
    int H = tlp_model_config_of(m)->n_heads;
    tlp_model_forward(m, x, B, -1, out);
    double s = 0;
    for (int i = 0; i < H * B; i++) s += (double)c[i] * out[i];
    return s;
}

static void test_model_shapes(void)
{
    tlp_model *cpu = small_model(TLP_MODE_CPU, 1, 0), *gpu = small_model(TLP_MODE_GPU, 1, 0);
    is_int(tlp_model_n_params(cpu), 610369, "cpu model has TLP's 610,369 parameters (spec 4.1)");
    is_int(tlp_model_n_params(gpu), 610241, "gpu model has 610,241");
    const char *name;
    int rows, cols;
    tlp_model_tensor(cpu, 0, &name, &rows, &cols, NULL);
    is_str(name, "encoder.0.weight", "first tensor");
    ok(rows == 64 && cols == 22, "encoder.0.weight is [64, 22]");
    tlp_model_tensor(cpu, 8, &name, &rows, &cols, NULL);
    is_str(name, "attention.in_proj_weight", "attention in-projection");
    tlp_model_config c = {TLP_MODE_GPU, 0, {{0}}, TLP_ENCODE_RAW, 0};
    tlp_error e = {0};
    ok(tlp_model_new(&c, 0, &e) == NULL && e.msg[0], "zero heads is refused");
    tlp_model *mtl = small_model(TLP_MODE_GPU, 3, 0);
    is_int(tlp_model_n_params(mtl), 610241 + 2 * (65792 + 32896 + 8256 + 65), "MTL adds one decoder per extra head");
    size_t last = tlp_model_n_tensors(mtl) - 1;
    tlp_model_tensor(mtl, last, &name, NULL, NULL, NULL);
    is_str(name, "mtl_heads.2.6.bias", "MTL decoder names");
    is_int(tlp_model_head(mtl, "hw1"), 1, "head by name");
    is_int(tlp_model_head(mtl, "nope"), -1, "unknown head");
    /* the same seed gives the same weights; another gives others */
    tlp_model *again = small_model(TLP_MODE_CPU, 1, 0), *other = small_model(TLP_MODE_CPU, 1, 1);
    ok(memcmp(tlp_model_params(cpu), tlp_model_params(again), 4 * tlp_model_n_params(cpu)) == 0, "seeded init");
    ok(memcmp(tlp_model_params(cpu), tlp_model_params(other), 4 * tlp_model_n_params(cpu)) != 0, "seed matters");
    /* PyTorch's init bounds: encoder.0 U(+-1/sqrt(22)), in-proj xavier, out-proj bias 0 */
    size_t off;
    tlp_model_tensor(cpu, 0, NULL, &rows, &cols, &off);
    float mx = 0;
    for (int i = 0; i < rows * cols; i++) mx = fmaxf(mx, fabsf(tlp_model_params(cpu)[off + (size_t)i]));
    ok(mx <= 1 / sqrtf(22) && mx > 0.9f / sqrtf(22), "encoder.0 weights fill U(-1/sqrt(22), 1/sqrt(22))");
    tlp_model_tensor(cpu, 11, &name, &rows, &cols, &off);
    mx = 0;
    for (int i = 0; i < rows * cols; i++) mx = fmaxf(mx, fabsf(tlp_model_params(cpu)[off + (size_t)i]));
    is_str(name, "attention.out_proj.bias", "tensor 11");
    ok(mx == 0, "out-projection bias starts at 0");
    tlp_model_free(cpu), tlp_model_free(gpu), tlp_model_free(mtl), tlp_model_free(again), tlp_model_free(other);
}

/* Every tensor's gradient against central differences on a few entries. */
static void gradcheck(tlp_mode mode, int heads, tlp_encode enc)
{
    tlp_model *m = small_model_enc(mode, heads, 7, enc);
    int L = tlp_mode_seq(mode), F = tlp_mode_fea(mode), B = 3, H = heads;
    tlp_rng r;
    tlp_rng_seed(&r, 3);
    float *x = malloc(sizeof(float) * (size_t)B * L * F), out[64], c[64];
    fill_input(&r, x, B, L, F, 0.5f);
    for (int i = 0; i < H * B; i++) c[i] = (float)(tlp_rng_uniform(&r) - 0.5);
    tlp_error e = {0};
    tlp_model_reserve(m, B, 1, &e);
    objective(m, x, B, c, out);
    tlp_model_zero_grads(m);
    tlp_model_backward(m, c);
    float *P = tlp_model_params(m), *G = tlp_model_grads(m);
    double worst = 0;
    int checked = 0, bad = 0;
    for (size_t t = 0; t < tlp_model_n_tensors(m); t++) {
        const char *name;
        int rows, cols;
        size_t off;
        tlp_model_tensor(m, t, &name, &rows, &cols, &off);
        size_t n = (size_t)rows * (size_t)cols;
        /* the largest-gradient entry and two random ones */
        size_t pick[3] = {0, tlp_rng_below(&r, n), tlp_rng_below(&r, n)};
        for (size_t i = 0; i < n; i++)
            if (fabsf(G[off + i]) > fabsf(G[off + pick[0]])) pick[0] = i;
        int tensor_bad = 0;
        for (int k = 0; k < 3; k++) {
            size_t i = off + pick[k];
            float w = P[i];
            double an = G[i], err = INFINITY, fd = 0;
            /* a step can straddle a ReLU kink of some row and fool the
             * difference; a kink cannot sit inside every one of three steps */
            static const float steps[3] = {1e-3f, 3e-4f, 3e-3f};
            for (int s = 0; s < 3 && err > 5e-2; s++) {
                float h = steps[s] * fmaxf(1.0f, fabsf(w));
                P[i] = w + h;
                double fp = objective(m, x, B, c, out);
                P[i] = w - h;
                double fm = objective(m, x, B, c, out);
                P[i] = w;
                fd = (fp - fm) / (2 * (double)h);
                err = fmin(err, fabs(fd - an) / fmax(1e-3, fmax(fabs(fd), fabs(an))));
            }
            checked++;
            if (err > 5e-2) {
                tensor_bad++;
                printf("#   %s[%zu]: analytic %.6g, numeric %.6g\n", name, pick[k], an, fd);
            } else if (err > worst)
                worst = err;
        }
        /* a wrong layer gets every entry wrong; one odd entry is a kink */
        bad += tensor_bad > 1;
    }
    char what[128];
    snprintf(what, sizeof what, "%s model, %s tokens, %d head%s: every tensor's gradient matches finite differences (%d entries, worst rel %.2g)",
             tlp_mode_name(mode), tlp_encode_name(enc), heads, heads > 1 ? "s" : "", checked, worst);
    ok(bad == 0, what);
    /* the inference path (chunked, one head) gives the training path's outputs */
    float *one = malloc(sizeof(float) * (size_t)B);
    int same = 1;
    objective(m, x, B, c, out);
    for (int h = 0; h < H; h++) {
        tlp_model_forward(m, x, B, h, one);
        for (int b = 0; b < B; b++) same &= fabsf(one[b] - out[h * B + b]) <= 1e-4f * fmaxf(1, fabsf(out[h * B + b]));
    }
    ok(same, "inference per head equals the training forward");
    free(one);
    free(x);
    tlp_model_free(m);
}

static void test_losses(void)
{
    tlp_rng r;
    tlp_rng_seed(&r, 9);
    enum { n = 12 };
    float pred[n], label[n], grad[n];
    uint8_t mask[n];
    for (int i = 0; i < n; i++) {
        pred[i] = (float)(tlp_rng_uniform(&r) * 4 - 2);
        label[i] = (float)tlp_rng_uniform(&r);
        mask[i] = i % 4 != 0;
    }
    label[3] = label[5]; /* a tie: excluded from the pairs */
    for (int which = 0; which < 2; which++)
        for (int masked = 0; masked < 2; masked++) {
            double (*f)(const float *, const float *, const uint8_t *, int, float *) =
                which ? tlp_loss_mse : tlp_loss_lambdarank;
            const uint8_t *mk = masked ? mask : NULL;
            f(pred, label, mk, n, grad);
            double worst = 0;
            for (int i = 0; i < n; i++) {
                float keep = pred[i], h = 1e-3f;
                pred[i] = keep + h;
                double fp = f(pred, label, mk, n, NULL);
                pred[i] = keep - h;
                double fm = f(pred, label, mk, n, NULL);
                pred[i] = keep;
                double fd = (fp - fm) / (2 * (double)h);
                worst = fmax(worst, fabs(fd - grad[i]) / fmax(1e-4, fabs(fd)));
                if (masked && !mask[i] && grad[i] != 0) worst = 1;
            }
            char what[96];
            snprintf(what, sizeof what, "%s%s gradient matches finite differences (worst rel %.2g)",
                     which ? "MSE" : "LambdaRank", masked ? " with a mask" : "", worst);
            ok(worst < 1e-2, what);
        }
    /* hand-computed LambdaRank: two items, labels 1 and 0, predictions 0 and 0.
     * D = [1, log2 3]; maxDCG = 1; G = [1, 0]; w = (1 - 1/log2 3) * 1;
     * loss = w * log2(1 + e^0) = w. */
    float p2[2] = {0, 0}, l2[2] = {1, 0};
    is_dbl(tlp_loss_lambdarank(p2, l2, NULL, 2, NULL), 1 - 1 / log2(3.0), 1e-9, "LambdaRank by hand");
    float p3[2] = {5, -5};
    ok(tlp_loss_lambdarank(p3, l2, NULL, 2, NULL) < 1e-3, "a right order costs almost nothing");
    float p4[2] = {-5, 5};
    ok(tlp_loss_lambdarank(p4, l2, NULL, 2, NULL) > 3, "a wrong order costs");
    is_dbl(tlp_loss_mse(p3, l2, NULL, 2, NULL), (16.0 + 25.0) / 2, 1e-9, "MSE by hand");
    is_dbl(tlp_loss_lambdarank(p2, l2, (const uint8_t *)"\1\0", 2, NULL), 0, 0, "one kept item: no pairs");
    /* a failed program demoted to label -1 (tlpx's --failed demote): labels
     * 0 and -1 make a pair that TLP's clamp at 0 would drop */
    float lf[2] = {0, -1}, pf[2] = {0, 0};
    ok(tlp_loss_lambdarank(pf, lf, NULL, 2, NULL) > 0, "a valid label-0 program over a demoted failed one: a pair");
    float lc[2] = {0, 0};
    is_dbl(tlp_loss_lambdarank(pf, lc, NULL, 2, NULL), 0, 0, "two label-0 programs: no pair");
    /* labels 1 and -1: G = [1, -0.5], w = (1 - 1/log2 3) * 1.5 */
    float l3[2] = {1, -1};
    is_dbl(tlp_loss_lambdarank(p2, l3, NULL, 2, NULL), 1.5 * (1 - 1 / log2(3.0)), 1e-9,
           "a demoted failure weighs 1.5x a label-0 program");
}

static void test_adam(void)
{
    tlp_adam a;
    is_int(tlp_adam_init(&a, 2, 0.1f, 0.0f), TLP_OK, "adam init");
    float p[2] = {1, -1}, g[2] = {0.5f, -2};
    tlp_adam_step(&a, p, g);
    /* first step of Adam moves each weight by lr against the gradient's sign */
    ok(fabsf(p[0] - 0.9f) < 1e-6f && fabsf(p[1] + 0.9f) < 1e-6f, "first Adam step is lr * sign");
    tlp_adam_free(&a);
    tlp_adam_free(&a);
    float v[3] = {3, 4, 0};
    is_dbl(tlp_clip_grad_norm(v, 3, 0.5), 5, 1e-12, "norm before clipping");
    is_dbl(sqrt(v[0] * v[0] + v[1] * v[1]), 0.5, 1e-6, "clipped to 0.5");
    float w[2] = {0.1f, 0};
    tlp_clip_grad_norm(w, 2, 0.5);
    is_dbl(w[0], 0.1f, 0, "small gradients are left alone");
}

/* A tiny data set the network must fit: ranks and MTL with missing labels. */
static void test_overfit(void)
{
    int B = 16, L = 25, F = 22;
    tlp_model *m = small_model(TLP_MODE_CPU, 2, 11);
    tlp_rng r;
    tlp_rng_seed(&r, 5);
    float *x = malloc(sizeof(float) * (size_t)B * L * F), y[2][16], out[32], dout[32], g[16];
    uint8_t have[2][16];
    fill_input(&r, x, B, L, F, 1.0f);
    for (int b = 0; b < B; b++) {
        y[0][b] = (float)tlp_rng_uniform(&r);
        y[1][b] = 1 - y[0][b];         /* the other hardware ranks the opposite way */
        have[0][b] = 1;
        have[1][b] = b % 3 != 0;       /* head 1 misses a third of its labels */
    }
    tlp_adam a;
    tlp_adam_init(&a, tlp_model_n_params(m), 1e-3f, 1e-6f);
    tlp_error e = {0};
    tlp_model_reserve(m, B, 1, &e);
    double first = 0, last = 0;
    for (int step = 0; step < 150; step++) {
        tlp_model_forward(m, x, B, -1, out);
        double loss = 0;
        for (int h = 0; h < 2; h++) {
            loss += tlp_loss_lambdarank(out + h * B, y[h], have[h], B, g);
            memcpy(dout + h * B, g, sizeof g);
        }
        if (step == 0) first = loss;
        last = loss;
        tlp_model_zero_grads(m);
        tlp_model_backward(m, dout);
        tlp_clip_grad_norm(tlp_model_grads(m), tlp_model_n_params(m), 0.5);
        tlp_adam_step(&a, tlp_model_params(m), tlp_model_grads(m));
    }
    printf("# overfit: LambdaRank %.4f -> %.4f\n", first, last);
    ok(last < 0.2 * first, "training drives the loss down on a tiny set");
    /* both heads order their own labels, each the opposite way */
    tlp_model_forward(m, x, B, -1, out);
    int right[2] = {0, 0}, pairs[2] = {0, 0};
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                if (have[h][i] && have[h][j] && y[h][i] > y[h][j]) {
                    pairs[h]++;
                    right[h] += out[h * B + i] > out[h * B + j];
                }
    printf("# pairs right: head 0 %d/%d, head 1 %d/%d\n", right[0], pairs[0], right[1], pairs[1]);
    ok(right[0] > 0.9 * pairs[0] && right[1] > 0.9 * pairs[1], "each MTL head learns its own order from its labels");
    /* a missing label gives no gradient: changing it changes nothing */
    float g1[16], g2[16];
    tlp_loss_lambdarank(out + B, y[1], have[1], B, g1);
    y[1][0] = 123;
    tlp_loss_lambdarank(out + B, y[1], have[1], B, g2);
    ok(memcmp(g1, g2, sizeof g1) == 0 && g1[0] == 0, "a missing label is ignored");
    tlp_adam_free(&a);
    free(x);
    tlp_model_free(m);
}

/* Sharding over threads changes nothing but the order of some sums. */
static void test_threads(void)
{
    tlp_model *m = small_model(TLP_MODE_GPU, 2, 21);
    int L = 40, F = 20, B = 7, H = 2;
    tlp_rng r;
    tlp_rng_seed(&r, 8);
    float *x = malloc(sizeof(float) * (size_t)B * L * F), out1[14], out2[14], c[14], inf1[7], inf2[7];
    fill_input(&r, x, B, L, F, 1.0f);
    for (int i = 0; i < H * B; i++) c[i] = (float)(tlp_rng_uniform(&r) - 0.5);
    size_t np = tlp_model_n_params(m);
    float *g1 = malloc(sizeof(float) * np);
    tlp_set_threads(1);
    tlp_model_forward(m, x, B, -1, out1);
    tlp_model_zero_grads(m);
    tlp_model_backward(m, c);
    memcpy(g1, tlp_model_grads(m), sizeof(float) * np);
    tlp_model_forward(m, x, B, 1, inf1);
    tlp_set_threads(2);
    is_int(tlp_get_threads(), 2, "two threads");
    tlp_model_forward(m, x, B, -1, out2);
    tlp_model_zero_grads(m);
    tlp_model_backward(m, c);
    tlp_model_forward(m, x, B, 1, inf2);
    ok(memcmp(out1, out2, sizeof out1) == 0, "two shards give the same outputs bit for bit");
    ok(memcmp(inf1, inf2, sizeof inf1) == 0, "and the same inference");
    double worst = 0, scale = 0;
    for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(g1[i]));
    for (size_t i = 0; i < np; i++) worst = fmax(worst, fabs(g1[i] - tlp_model_grads(m)[i]));
    printf("# max gradient difference 1 vs 2 threads: %.3g (max |g| %.3g)\n", worst, scale);
    ok(worst <= 1e-5 * scale, "and the same gradients up to summation order");
    tlp_set_threads(1);
    free(g1);
    free(x);
    tlp_model_free(m);
}

/* Fine-tuning some heads keeps the others: m's trunk and heads, then the
 * heads of from that m lacks, their decoders as from has them. */
static void test_with_heads(void)
{
    tlp_model *from = small_model(TLP_MODE_GPU, 3, 2), *m = small_model(TLP_MODE_GPU, 1, 1);
    tlp_error e = {0};
    tlp_model *out = tlp_model_with_heads_of(m, from, &e);
    if (!ok(out != NULL, "a model with the heads of another")) {
        printf("# %s\n", e.msg);
        return;
    }
    const tlp_model_config *c = tlp_model_config_of(out);
    ok(c->n_heads == 3 && !strcmp(c->heads[0], "hw0") && !strcmp(c->heads[1], "hw1") && !strcmp(c->heads[2], "hw2"),
       "its own head first, then the others");
    size_t trunk = tlp_model_trunk_params(out), per = (tlp_model_n_params(out) - trunk) / 3;
    const float *po = tlp_model_params_const(out), *pm = tlp_model_params_const(m), *pf = tlp_model_params_const(from);
    ok(!memcmp(po, pm, sizeof(float) * (trunk + per)), "the trunk and head hw0 are the fine-tuned model's");
    ok(!memcmp(po + trunk + per, pf + trunk + per, sizeof(float) * 2 * per), "heads hw1, hw2 are the other model's");
    tlp_model *same = tlp_model_with_heads_of(from, m, &e);
    ok(same && tlp_model_n_params(same) == tlp_model_n_params(from) &&
           !memcmp(tlp_model_params_const(same), pf, sizeof(float) * tlp_model_n_params(from)),
       "nothing to add: the same model");
    tlp_model_free(same), tlp_model_free(out), tlp_model_free(m), tlp_model_free(from);
}

/* A head for a new hardware from a near one's: the same decoder under a new
 * name, after the model's own, knowing no origin; a name taken is refused. */
static void test_head_like(void)
{
    tlp_model *m = small_model(TLP_MODE_CPU, 2, 2);
    tlp_error e = {0};
    ok(tlp_model_origin_add(m, 1, "llvm -mcpu=x", NULL, 0) == TLP_OK, "head hw1 knows a target");
    tlp_model *out = tlp_model_with_head_like(m, "local", 1, &e);
    if (!ok(out != NULL, "a model with a head like hw1's")) {
        printf("# %s\n", e.msg);
        return;
    }
    const tlp_model_config *c = tlp_model_config_of(out);
    ok(c->n_heads == 3 && !strcmp(c->heads[2], "local") && !strcmp(c->heads[1], "hw1"), "its heads, then local");
    size_t trunk = tlp_model_trunk_params(out), per = (tlp_model_n_params(out) - trunk) / 3;
    const float *po = tlp_model_params_const(out), *pm = tlp_model_params_const(m);
    ok(!memcmp(po, pm, sizeof(float) * (trunk + 2 * per)), "the trunk and both heads as they were");
    ok(!memcmp(po + trunk + 2 * per, pm + trunk + per, sizeof(float) * per), "local's decoder is hw1's");
    ok(tlp_model_origin_n_targets(out, 2) == 0 && tlp_model_origin_n_targets(out, 1) == 1,
       "local knows no origin; hw1 keeps its own");
    ok(tlp_model_with_head_like(m, "hw0", 1, &e) == NULL && strstr(e.msg, "no new head"), "a head's name is refused");
    ok(tlp_model_with_head_like(m, "x", 5, &e) == NULL, "a head that is none is refused");
    tlp_model_free(out), tlp_model_free(m);
}

int main(void)
{
    test_threads();
    test_head_like();
    tlp_set_threads(1);
    test_gemm();
    test_rng();
    test_model_shapes();
    test_with_heads();
    gradcheck(TLP_MODE_CPU, 1, TLP_ENCODE_RAW);
    gradcheck(TLP_MODE_GPU, 2, TLP_ENCODE_RAW);
    gradcheck(TLP_MODE_GPU, 1, TLP_ENCODE_PROG); /* L + 1 rows inside, L rows in */
    gradcheck(TLP_MODE_CPU, 2, TLP_ENCODE_PROG);
    test_losses();
    test_adam();
    test_overfit();
    return tap_done();
}
