/* fuzz_model.c: libFuzzer harness for the model (checkpoint) reader.  Any
 * bytes given as a model must load or be refused cleanly, with a reason; a
 * model that loads must score a sample with each head and say its heads'
 * origin.
 *
 * A model file is megabytes of weights around a few kilobytes of structure,
 * and mutating the weights finds nothing, so an input here is the file with
 * its weights taken out: u32 at (where they go), u32 which (the model whose
 * weights, modulo how many there are), then the other bytes; the harness
 * puts that model's weights back at that place (at the end when at is past
 * it) before reading.  An input whose first word is 0xffffffff is read as a
 * whole file as it is.  Checksums are taken as
 * right in this build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION).
 *
 * FUZZ_MODELS=a.tlpx:b.tlpx (models saved --weights-only, one network)
 * gives the weights; with FUZZ_SEEDS=DIR the harness writes each model
 * so split into DIR as a seed, at start.  Built and run by tests/fuzz.sh. */
#include "train/train_int.h"
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_MODELS 8
static unsigned char *weights[MAX_MODELS]; /* each model's parameters, as its file holds them */
static size_t weights_len[MAX_MODELS];
static int n_models;

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = len > 0 ? malloc((size_t)len) : NULL;
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = b ? (size_t)len : 0;
    return b;
}

/* Split one model: find its parameters in the file (the loaded model's
 * first floats, little-endian as saved), keep them as the weights, write
 * the rest as a seed. */
static void split_model(const char *path, const char *seeds, int k)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    tlp_error e = {0};
    tlp_model *m = tlp_checkpoint_load(path, NULL, NULL, &e);
    if (!b || !m) {
        fprintf(stderr, "fuzz_model: %s: %s\n", path, m ? "cannot read" : e.msg);
        exit(1);
    }
    size_t np = tlp_model_n_params(m), len = np * 4;
    const float *p = tlp_model_params_const(m);
    size_t at = 0;
    while (at + len <= n && memcmp(b + at, p, 64) != 0) at++;
    if (at + len > n || memcmp(b + at, p, len) != 0) {
        fprintf(stderr, "fuzz_model: %s: its weights are not where they were looked for\n", path);
        exit(1);
    }
    if (k >= MAX_MODELS || !(weights[k] = malloc(len))) {
        fprintf(stderr, "fuzz_model: at most %d models\n", MAX_MODELS);
        exit(1);
    }
    memcpy(weights[k], b + at, len);
    weights_len[k] = len;
    n_models = k + 1;
    if (seeds) {
        char out[4096];
        snprintf(out, sizeof out, "%s/model%d", seeds, k);
        FILE *f = fopen(out, "wb");
        uint32_t where = (uint32_t)at, which = (uint32_t)k;
        if (!f || fwrite(&where, 4, 1, f) != 1 || fwrite(&which, 4, 1, f) != 1 || fwrite(b, 1, at, f) != at ||
            fwrite(b + at + len, 1, n - at - len, f) != n - at - len || fclose(f) != 0) {
            fprintf(stderr, "fuzz_model: cannot write %s\n", out);
            exit(1);
        }
    }
    tlp_model_free(m);
    free(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *models = getenv("FUZZ_MODELS"), *seeds = getenv("FUZZ_SEEDS");
    if (!models) return 0;
    char *list = strdup(models), *save = NULL;
    int k = 0;
    for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) split_model(p, seeds, k++);
    free(list);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 4) return 0;
    const char *path;
    int fd = fuzz_file("fuzz.tlpx", &path);
    uint32_t where, which = 0;
    memcpy(&where, data, 4);
    data += 4, size -= 4;
    if (where == 0xffffffffu || !n_models || size < 4) {
        if (pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    } else {
        memcpy(&which, data, 4);
        data += 4, size -= 4;
        const unsigned char *w = weights[which % (uint32_t)n_models];
        size_t wl = weights_len[which % (uint32_t)n_models], at = where < size ? where : size;
        if (pwrite(fd, data, at, 0) != (ssize_t)at || pwrite(fd, w, wl, (off_t)at) != (ssize_t)wl ||
            pwrite(fd, data + at, size - at, (off_t)(at + wl)) != (ssize_t)(size - at))
            abort();
    }
    tlp_error e = {0};
    tlp_train_meta meta;
    tlp_train_state st;
    tlp_model *m = tlp_checkpoint_load(path, &meta, &st, &e);
    if (!m) {
        if (!e.msg[0]) abort(); /* a refusal must say why */
        return 0;
    }
    /* what loads is usable: each head scores a sample, each head's origin reads */
    const tlp_model_config *c = tlp_model_config_of(m);
    static float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    float out[TLP_MAX_HEADS];
    for (int h = 0; h < c->n_heads; h++) {
        if (tlp_model_forward(m, x, 1, h, out) != TLP_OK) abort();
        for (int i = 0; i < tlp_model_origin_n_targets(m, h); i++)
            if (!tlp_model_origin_target_at(m, h, i)) abort();
        const uint64_t *tasks;
        size_t nt = tlp_model_origin_tasks(m, h, &tasks);
        for (size_t i = 1; i < nt; i++)
            if (tasks[i - 1] > tasks[i]) abort(); /* kept sorted */
        if (strlen(c->heads[h]) >= TLP_HEAD_NAME) abort();
    }
    if (strlen(meta.note) >= sizeof meta.note || strlen(meta.recipe) >= sizeof meta.recipe) abort();
    tlp_train_state_free(&st);
    tlp_model_free(m);
    return 0;
}
