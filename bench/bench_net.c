/* bench_net.c: the network's speed, as tlp_torch.py --bench measures
 * PyTorch's: inference samples/s at batch 512 and training samples/s at batch
 * 1024 (forward + LambdaRank + backward + clip + Adam) for 25x22 and 40x20
 * inputs, and the machine's sgemm peak, so the network's share of it shows.
 * Then the same on schedules of real lengths (the rest of each sample zero
 * padding, as the records give): TLP's padded computation ("_real") and
 * the padding computed once ("_real_once"), in the same run.  With a store
 * of real records of the shape's mode (TLPX_BENCH_CPU, TLPX_BENCH_GPU: paths),
 * the same on their features ("_records", "_records_once"): inference on 512
 * records in the order a prediction takes them (a task's candidates
 * together), training on 1024 drawn at random; a schedule's steps repeat
 * across candidates, and the padding once runs the layers before attention
 * on the distinct rows only.
 * usage: bench_net THREADS SECONDS   (prints one line per figure) */
#include "tlp.h"
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Like the peer's _fake_batch: one-hot of 11 then small ints. */
static void fake(tlp_rng *r, float *x, int B, int L, int F)
{
    for (int i = 0; i < B * L; i++) {
        float *row = x + (size_t)i * F;
        memset(row, 0, sizeof(float) * (size_t)F);
        row[tlp_rng_below(r, 11)] = 1;
        for (int j = 11; j < F; j++) row[j] = (float)tlp_rng_below(r, 64);
    }
}

/* Zero the rows of each sample past a length drawn uniformly from [lo, L]:
 * the shared records' mean real lengths (31 of 40 steps on K80, 18 of 25
 * on the Xeon: tlpx stats) around their means. */
static void pad(tlp_rng *r, float *x, int B, int L, int F)
{
    int lo = L == 40 ? 22 : 11;
    for (int b = 0; b < B; b++) {
        int n = lo + (int)tlp_rng_below(r, (uint32_t)(L - lo + 1));
        memset(x + ((size_t)b * L + (size_t)n) * F, 0, sizeof(float) * (size_t)(L - n) * F);
    }
}

/* Inference samples/s of m on x (B samples) for about secs. */
static double infer_rate(tlp_model *m, const float *x, int B, float *out, double secs)
{
    tlp_model_reserve(m, B, 0, NULL);
    tlp_model_forward(m, x, B, 0, out);
    int k = 0;
    double t0 = now();
    while (now() - t0 < secs || k < 3) {
        tlp_model_forward(m, x, B, 0, out);
        k++;
    }
    return (double)B * k / (now() - t0);
}

/* Training samples/s (forward, LambdaRank, backward, clip, Adam) of m on x. */
static double train_rate(tlp_model *m, const float *x, const float *y, int B, double secs)
{
    float *out = malloc(sizeof(float) * B), *g = malloc(sizeof(float) * B);
    tlp_adam adam;
    tlp_adam_init(&adam, tlp_model_n_params(m), 7e-4f, 1e-6f);
    tlp_model_reserve(m, B, 1, NULL);
    int k = 0;
    double t0 = 0;
    for (;;) {
        if (k == 1) t0 = now(); /* the first step warms up */
        tlp_model_forward(m, x, B, -1, out);
        tlp_loss_lambdarank(out, y, NULL, B, g);
        tlp_model_zero_grads(m);
        tlp_model_backward(m, g);
        tlp_clip_grad_norm(tlp_model_grads(m), tlp_model_n_params(m), 0.5);
        tlp_adam_step(&adam, tlp_model_params(m), tlp_model_grads(m));
        k++;
        if (k > 3 && now() - t0 >= secs) break;
    }
    double sps = (double)B * (k - 1) / (now() - t0);
    tlp_adam_free(&adam);
    free(out), free(g);
    return sps;
}

/* Forward-pass floating point operations per sample (multiply-adds x 2). */
static double flops_per_sample(int L, int F)
{
    double mac = (double)F * 64 + 64 * 128 + 128 * 256 + 256 * 256 + 256 * 768 + 256 * 256 + 2 * 256 * 256 +
                 256 * 256 + 256 * 128 + 128 * 64 + 64 + 2.0 * L * 256;
    return 2 * mac * L;
}

/* B records of mode m's features from the store at getenv(var) into x: from
 * the middle of the records in order, or (random) drawn at random; 0, or -1
 * when there is no such store. */
static int records(const char *var, tlp_mode m, int B, int random, tlp_rng *r, float *x)
{
    static tlp_dataset *loaded[TLP_MODE_COUNT]; /* each store read once, for inference and training */
    const char *path = getenv(var);
    if (!path || !path[0]) return -1;
    tlp_dataset *ds = loaded[m];
    tlp_load_opts lo = {0};
    tlp_error e = {0};
    int rc = -1;
    if (!ds && (ds = tlp_dataset_new()) && (tlp_dataset_add_path(ds, path, NULL, &lo, &e) != TLP_OK ||
                                            tlp_dataset_finish(ds, &e) != TLP_OK)) {
        fprintf(stderr, "bench_net: %s: %s\n", path, e.msg);
        tlp_dataset_free(ds);
        return -1;
    }
    loaded[m] = ds;
    size_t n = tlp_dataset_n_records(ds), *idx = malloc(sizeof(size_t) * (n ? n : 1)), k = 0;
    for (size_t i = 0; idx && i < n; i++)
        if (tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode == m) idx[k++] = i;
    if (idx && k >= (size_t)B) {
        int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
        for (int b = 0; b < B; b++) {
            size_t i = random ? idx[tlp_rng_below(r, (uint32_t)k)] : idx[k / 2 - (size_t)B / 2 + (size_t)b];
            tlp_dataset_features(ds, i, L, x + (size_t)b * (size_t)L * (size_t)F);
        }
        rc = 0;
    }
    free(idx);
    return rc;
}

void openblas_set_num_threads(int n); /* the peak is BLAS's own, all threads */

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double secs = argc > 2 ? atof(argv[2]) : 3;
    tlp_set_threads(threads);
    tlp_rng r;
    tlp_rng_seed(&r, 0);
    /* sgemm peak: square 1024 products, BLAS using every thread */
    {
        openblas_set_num_threads(threads);
        int n = 1024;
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
        for (int i = 0; i < n * n; i++) a[i] = b[i] = (float)tlp_rng_uniform(&r);
        tlp_gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
        int k = 0;
        double t0 = now();
        while (now() - t0 < secs / 2 || k < 3) {
            tlp_gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
            k++;
        }
        double gf = 2.0 * n * n * n * k / (now() - t0) / 1e9;
        printf("sgemm_peak_gflops=%.1f (threads=%d)\n", gf, threads);
        fflush(stdout);
        free(a), free(b), free(c);
        tlp_set_threads(threads);
        char buf[32];
        snprintf(buf, sizeof buf, "%.3f", gf);
        setenv("TLPX_PEAK", buf, 1);
    }
    double peak = atof(getenv("TLPX_PEAK"));
    static const int shapes[2][2] = {{25, 22}, {40, 20}};
    for (int s = 0; s < 2; s++) {
        int L = shapes[s][0], F = shapes[s][1], B = 512;
        tlp_model_config c = {F == 22 ? TLP_MODE_CPU : TLP_MODE_GPU, 1, {"bench"}, TLP_ENCODE_RAW, 0}; /* raw, as the peer it is compared with */
        tlp_model *m = tlp_model_new(&c, 0, NULL);
        float *x = malloc(sizeof(float) * (size_t)B * L * F), *out = malloc(sizeof(float) * B);
        fake(&r, x, B, L, F);
        tlp_model_set_exact_padding(m, 1);
        double sps = infer_rate(m, x, B, out, secs);
        printf("infer_cpu_%dx%d_b512 samples_per_s=%.0f gflops=%.1f peak_fraction=%.2f (threads=%d)\n", L, F, sps,
               sps * flops_per_sample(L, F) / 1e9, sps * flops_per_sample(L, F) / 1e9 / peak, threads);
        pad(&r, x, B, L, F);
        for (int v = 0; v < 4; v++) { /* real lengths, padded and once; the records, padded and once */
            if (v == 2 && records(F == 22 ? "TLPX_BENCH_CPU" : "TLPX_BENCH_GPU", c.mode, B, 0, &r, x)) break;
            tlp_model_set_exact_padding(m, v % 2 == 0);
            sps = infer_rate(m, x, B, out, secs);
            printf("infer_cpu_%dx%d_b512_%s%s samples_per_s=%.0f (threads=%d)\n", L, F, v < 2 ? "real" : "records",
                   v % 2 ? "_once" : "", sps, threads);
        }
        fflush(stdout);
        free(x), free(out);
        tlp_model_free(m);
    }
    for (int s = 0; s < 2; s++) {
        int L = shapes[s][0], F = shapes[s][1], B = 1024;
        tlp_model_config c = {F == 22 ? TLP_MODE_CPU : TLP_MODE_GPU, 1, {"bench"}, TLP_ENCODE_RAW, 0}; /* raw, as the peer it is compared with */
        float *x = malloc(sizeof(float) * (size_t)B * L * F), *y = malloc(sizeof(float) * B);
        fake(&r, x, B, L, F);
        for (int i = 0; i < B; i++) y[i] = (float)tlp_rng_uniform(&r);
        /* full rows; real lengths padded and once; the records, padded and once */
        for (int v = 0; v < 5; v++) {
            if (v == 1) pad(&r, x, B, L, F);
            if (v == 3 && records(F == 22 ? "TLPX_BENCH_CPU" : "TLPX_BENCH_GPU", c.mode, B, 1, &r, x)) break;
            tlp_model *m = tlp_model_new(&c, 0, NULL);
            tlp_model_set_exact_padding(m, v % 2 == 1);
            double sps = train_rate(m, x, y, B, secs);
            if (v == 0)
                printf("train_cpu_%dx%d_b1024 samples_per_s=%.0f gflops=%.1f peak_fraction=%.2f (threads=%d)\n", L, F,
                       sps, sps * 3 * flops_per_sample(L, F) / 1e9, sps * 3 * flops_per_sample(L, F) / 1e9 / peak,
                       threads);
            else
                printf("train_cpu_%dx%d_b1024_%s%s samples_per_s=%.0f (threads=%d)\n", L, F, v < 3 ? "real" : "records",
                       v % 2 ? "" : "_once", sps, threads);
            fflush(stdout);
            tlp_model_free(m);
        }
        free(x), free(y);
    }
    return 0;
}
