/* test_features.c: TLP feature tokens against the spec's worked examples and
 * against golden matrices made by the Python reference (tests/make_golden.py). */
#include "tap.h"
#include "tlp.h"

#include <math.h>

static const char *srcdir(void)
{
    const char *d = getenv("top_srcdir");
    return d ? d : ".";
}

/* Row of one step, parsed from a one-step CPU or GPU record. */
static int row_of(const char *target, const char *step, float *row, tlp_step_info *info)
{
    char line[1024];
    snprintf(line, sizeof line,
             "{\"i\": [[\"[\\\"k\\\"]\", \"%s\"], [[], [%s]]], \"r\": [[1], 0, 1, 1]}", target, step);
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    int n = -1;
    if (tlp_record_parse(&r, line, strlen(line), &e) == TLP_OK) {
        tlp_mode m = tlp_mode_of_target(target);
        memset(row, 0, sizeof(float) * 64);
        n = tlp_step_vector(m, &r, 0, row, tlp_mode_fea(m), info);
    } else
        printf("# parse: %s\n", e.msg);
    tlp_record_free(&r);
    return n;
}

static void expect_row(const char *target, const char *step, const float *want, int F, const char *what)
{
    float row[64];
    tlp_step_info info;
    row_of(target, step, row, &info);
    int same = 1;
    for (int j = 0; j < F; j++) same &= row[j] == want[j];
    if (!ok(same, what)) {
        printf("#   got ");
        for (int j = 0; j < F; j++) printf(" %g", (double)row[j]);
        printf("\n");
    }
}

static void test_spec_examples(void)
{
    /* spec §2.5, CPU dictionary */
    float sp[22] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 1, 1000, 50, 1};
    expect_row("llvm", "[\"SP\", 3, 1, 1000, [50], 1]", sp, 22, "spec 2.5: SP on cpu");
    float rf[22] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 2, 1};
    expect_row("llvm", "[\"RF\", 3, 2, 1]", rf, 22, "spec 2.5: RF on cpu");
    float re[22] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 2, 1};
    expect_row("llvm", "[\"RE\", 3, [0, 2, 1]]", re, 22, "spec 2.5: RE on cpu");
    float pr[22] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 0, 4};
    expect_row("llvm", "[\"PR\", 5, 0, \"auto_unroll_max_step$64\"]", pr, 22, "spec 2.5: PR $64 on cpu is 4");
    /* GPU dictionary */
    float chr[20] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 5};
    expect_row("cuda", "[\"CHR\", 4, \"shared\", [5]]", chr, 20, "spec 2.5: CHR on gpu");
    float ffsp[20] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 6, 0, 4, 3, 2, 1, 1, 1};
    expect_row("cuda", "[\"FFSP\", 6, 0, [4, 3, 2, 1], 1, 1]", ffsp, 20, "spec 2.5: FFSP on gpu");
    float re29[20] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 5, 0, 5, 10, 15, 1, 6, 11, 16};
    expect_row("cuda",
               "[\"RE\", 5, [0, 5, 10, 15, 1, 6, 11, 16, 2, 7, 12, 17, 20, 23, 26, 21, 24, 27, 3, 8, 13, 18, 22, 25, "
               "28, 4, 9, 14, 19]]",
               re29, 20, "spec 2.5: the 29-id RE keeps stage + 8 ids");
    /* strings */
    float chw[20] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3};
    expect_row("rocm -keys=rocm,gpu", "[\"CHW\", 3, \"global\"]", chw, 20, "CHW global is 3; rocm is gpu");
    float pr_gpu[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 7, 0, 4};
    expect_row("cuda", "[\"PR\", 7, 0, \"auto_unroll_max_step$1024\"]", pr_gpu, 20, "PR $1024 on gpu is 4");

    /* kinds the dictionary lacks: 11 zeros, arguments in place */
    tlp_step_info info;
    float row[64];
    float sa[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 32, 4};
    expect_row("cuda", "[\"SA\", 2, 1, 32, 4]", sa, 20, "SA on gpu: zero one-hot, arguments not shifted");
    row_of("cuda", "[\"SA\", 2, 1, 32, 4]", row, &info);
    ok(info.kind_absent && !info.unknown_str, "SA is reported as absent from the dictionary");
    row_of("llvm", "[\"CHR\", 1, \"shared\", [2]]", row, &info);
    ok(info.kind_absent, "CHR is absent on cpu");
    row_of("cuda", "[\"RF\", 1, 2, 3]", row, &info);
    ok(info.kind_absent, "RF is absent on gpu");
    row_of("cuda", "[\"CR\", 1]", row, &info);
    ok(info.kind_absent, "CR is absent on gpu");
    float unk[22] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0};
    expect_row("llvm", "[\"PR\", 2, 0, \"auto_unroll_max_step$8\"]", unk, 22, "unknown pragma is 0");
    row_of("llvm", "[\"PR\", 2, 0, \"auto_unroll_max_step$8\"]", row, &info);
    ok(info.unknown_str && !info.kind_absent, "and is reported");
    int n = row_of("cuda", "[\"SP\", 3, 0, 16, [1, 2, 2, 1, 1, 1, 1], 1]", row, &info);
    is_int(n, 11 + 11, "uncropped length is returned");
}

static void test_modes(void)
{
    is_int(tlp_mode_of_target("llvm -keys=cpu -mcpu=core-avx2"), TLP_MODE_CPU, "llvm is cpu");
    is_int(tlp_mode_of_target("c -keys=cpu"), TLP_MODE_CPU, "c is cpu");
    is_int(tlp_mode_of_target("cuda -keys=cuda,gpu"), TLP_MODE_GPU, "cuda is gpu");
    is_int(tlp_mode_of_target("rocm -keys=rocm,gpu"), TLP_MODE_GPU, "rocm is gpu");
    is_int(tlp_mode_of_target("opencl"), TLP_MODE_GPU, "opencl is gpu");
    is_int(tlp_mode_of_target("llvmx"), TLP_MODE_GPU, "only the kind word counts");
    is_int(tlp_mode_seq(TLP_MODE_CPU) * tlp_mode_fea(TLP_MODE_CPU), 25 * 22, "cpu 25x22");
    is_int(tlp_mode_seq(TLP_MODE_GPU) * tlp_mode_fea(TLP_MODE_GPU), 40 * 20, "gpu 40x20");
}

static void test_labels(void)
{
    const char *line = "{\"i\": [[\"[\\\"k\\\"]\", \"cuda\"], [[], [[\"SP\", 3, 0, 16, [1, 2], 1], [\"CHR\", 1, "
                       "\"shared\", [2, 3]]]]], \"r\": [[1], 0, 1, 1]}";
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    tlp_record_parse(&r, line, strlen(line), &e);
    char buf[32];
    static const struct {
        int step, slot;
        const char *want;
    } cases[] = {
        {0, 0, "kind"}, {0, 10, "kind"}, {0, 11, "stage"}, {0, 12, "iter"}, {0, 13, "extent"},
        {0, 14, "lengths[0]"}, {0, 15, "lengths[1]"}, {0, 16, "inner_to_outer"}, {0, 17, "-"},
        {1, 11, "stage"}, {1, 12, "scope"}, {1, 13, "readers[0]"}, {1, 14, "readers[1]"}, {5, 11, "-"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tlp_slot_label(&r, (size_t)cases[i].step, cases[i].slot, buf, sizeof buf);
        is_str(buf, cases[i].want, "slot label");
    }
    tlp_record_free(&r);
}

static void test_summary(void)
{
    char *s = tlp_workload_summary("[\"conv2d_layer\", 128, 1008, 42, 42, 168, 1, 1, 1, 0]");
    is_str(s, "conv2d_layer(128, 1008, 42, 42, 168, 1, 1, 1, 0)", "named workload summary");
    free(s);
    s = tlp_workload_summary("[\"bc348570c541a247dd75cedb514d23c4\", [1024, 128, 96], [1024, 96, 128]]");
    is_str(s, "#bc348570 [1024,128,96] [1024,96,128]", "hashed workload with shape lists");
    free(s);
    s = tlp_workload_summary("[\"12b88bedece6984af589a28b43e0f3c4\", 1, 56, 56, 64]");
    is_str(s, "#12b88bed 1,56,56,64", "hashed workload with ints");
    free(s);
    s = tlp_workload_summary("not json");
    is_str(s, "not json", "anything else is kept");
    free(s);
}

/* Every hand-written fixture record against the Python reference. */
static void test_golden(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/records", srcdir());
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    is_int(tlp_dataset_add_path(ds, path, NULL, &lo, &e), TLP_OK, "fixtures load");
    tlp_dataset_finish(ds, &e);
    snprintf(path, sizeof path, "%s/tests/fixtures/golden.txt", srcdir());
    FILE *f = fopen(path, "r");
    if (!ok(f != NULL, "golden.txt opens")) return;
    char *line = NULL;
    size_t cap = 0;
    int records = 0;
    float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "record ", 7) != 0) continue;
        char file[256], mode[8], mean_s[64], label_s[64];
        long lineno;
        if (sscanf(line, "record %255s %ld %7s %63s %63s", file, &lineno, mode, mean_s, label_s) != 5) break;
        tlp_mode m = strcmp(mode, "cpu") == 0 ? TLP_MODE_CPU : TLP_MODE_GPU;
        int L = tlp_mode_seq(m), F = tlp_mode_fea(m);
        long found = -1;
        for (size_t i = 0; i < tlp_dataset_n_records(ds); i++) {
            const tlp_rec *r = tlp_dataset_rec(ds, i);
            const char *fp = tlp_dataset_file(ds, r->file);
            size_t fl = strlen(fp), nl = strlen(file);
            if (r->line == lineno && fl >= nl && strcmp(fp + fl - nl, file) == 0) found = (long)i;
        }
        char what[300];
        snprintf(what, sizeof what, "%s:%ld is loaded", file, lineno);
        if (!ok(found >= 0, what)) continue;
        records++;
        tlp_dataset_features(ds, (size_t)found, L, x);
        int same = 1;
        for (int i = 0; i < L; i++) {
            if (getline(&line, &cap, f) <= 0) break;
            char *p = line, *end;
            for (int j = 0; j < F; j++) {
                float want = (float)strtod(p, &end);
                p = end;
                if (x[i * F + j] != want) {
                    if (same) printf("#   step %d slot %d: got %g want %g\n", i, j, (double)x[i * F + j], (double)want);
                    same = 0;
                }
            }
        }
        snprintf(what, sizeof what, "%s:%ld features equal the reference bit for bit", file, lineno);
        ok(same, what);
        const tlp_rec *r = tlp_dataset_rec(ds, (size_t)found);
        snprintf(what, sizeof what, "%s:%ld mean cost equals numpy's", file, lineno);
        ok(r->cost == strtod(mean_s, NULL), what);
        snprintf(what, sizeof what, "%s:%ld label equals the reference", file, lineno);
        ok((float)tlp_dataset_label(ds, (size_t)found) == (float)strtod(label_s, NULL), what);
    }
    free(line);
    fclose(f);
    is_int(records, (long long)tlp_dataset_n_records(ds), "every loaded fixture record has a golden matrix");
    tlp_dataset_free(ds);
}

/* The program row of a whole record (encoding "prog"): the tile levels of
 * Ansor's multi-level tiling summed over the splits, worked by hand. */
static void program_row_of(const char *target, const char *steps, float *out, int *used)
{
    char line[4096];
    snprintf(line, sizeof line, "{\"i\": [[\"[\\\"k\\\"]\", \"%s\"], [[], [%s]]], \"r\": [[1], 0, 1, 1]}", target,
             steps);
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    *used = -1;
    if (tlp_record_parse(&r, line, strlen(line), &e) == TLP_OK) {
        tlp_mode m = tlp_mode_of_target(target);
        float x[TLP_MAX_STEPS * TLP_MAX_FEA];
        tlp_record_features(m, tlp_mode_seq(m), &r, x);
        *used = tlp_program_row(m, tlp_mode_seq(m), x, out);
    } else
        printf("# parse: %s\n", e.msg);
    tlp_record_free(&r);
}

static void test_program_row(void)
{
    /* a K80 conv2d of the Roller records (first record of
     * ansor_conv2d_128_1024_14_14_256_1_1_1_0.log), abridged */
    const char *gpu = "[\"CHW\", 3, \"local\"], [\"SP\", 3, 0, 128, [1, 4, 1, 2], 1],"
                      "[\"SP\", 3, 5, 256, [4, 1, 1, 4], 1], [\"SP\", 3, 10, 14, [1, 2, 1, 1], 1],"
                      "[\"SP\", 3, 15, 14, [1, 7, 1, 1], 1], [\"SP\", 3, 20, 1024, [16, 1], 1],"
                      "[\"SP\", 3, 23, 1, [1, 1], 1], [\"SP\", 3, 26, 1, [1, 1], 1],"
                      "[\"FSP\", 4, 0, 1, 3], [\"CA\", 3, 4, 11], [\"CHR\", 2, \"shared\", [3]],"
                      "[\"FU\", 4, [0, 1, 2, 3]], [\"SP\", 4, 0, 64, [1], 1], [\"AN\", 4, 1, 2],"
                      "[\"SP\", 2, 0, 32, [4], 1], [\"PR\", 5, 0, \"auto_unroll_max_step$512\"]";
    float o[TLP_MAX_FEA];
    int w;
    program_row_of("cuda -keys=cuda,gpu", gpu, o, &w);
    /* grid: 128/8 * 256/16 * 14/2 * 14/7 = 3584 blocks; vthreads 4*1*1*1;
     * threads 4*1*2*7 = 56; inner 1; innermost 2*4 = 8; reduction: 1024/16 = 64
     * outer (the unit extents add 0), 16, 1; unroll 512; 4 spatial and 3
     * reduction splits; 64 + 32 elements fetched, vectors of up to 4 */
    const double want[] = {-1, log2(3584), 2, log2(56), 0, 3, 6, 4, 0, log2(513), 4, 3, log2(97), log2(5)};
    int same = w == 14;
    for (int j = 0; same && j < 14; j++) same = fabs(o[j] - want[j]) < 1e-5;
    for (int j = 14; same && j < tlp_mode_fea(TLP_MODE_GPU); j++) same = o[j] == 0;
    if (!ok(same, "GPU program row: grid, vthreads, threads per block, tiles, unroll, shared-memory fetch")) {
        printf("#   got %d:", w);
        for (int j = 0; j < tlp_mode_fea(TLP_MODE_GPU); j++) printf(" %.4g", (double)o[j]);
        printf("\n");
    }
    /* a Xeon dense layer (crazydemo-tlcbench MLP1-B512-int8), abridged */
    const char *cpu = "[\"CI\", 17], [\"SP\", 3, 0, 512, [8, 2, 1], 1], [\"SP\", 3, 4, 256, [16, 1, 1], 1],"
                      "[\"SP\", 3, 8, 512, [2], 1], [\"FSP\", 18, 0, 9, 1], [\"FU\", 18, [0, 1]],"
                      "[\"AN\", 18, 0, 3], [\"PR\", 3, 0, \"auto_unroll_max_step$64\"], [\"AN\", 3, 9, 2]";
    program_row_of("llvm -keys=cpu", cpu, o, &w);
    /* outer 512/16 * 256/16 = 2^9; 8*16 = 2^7; 2; 1; reduction 256, 2 */
    const double want_c[] = {-1, 9, 7, 1, 0, 8, 1, log2(65), 2, 1};
    same = w == 10;
    for (int j = 0; same && j < 10; j++) same = fabs(o[j] - want_c[j]) < 1e-5;
    for (int j = 10; same && j < tlp_mode_fea(TLP_MODE_CPU); j++) same = o[j] == 0;
    if (!ok(same, "CPU program row: parallel outer tiles, inner tiles, reduction, unroll")) {
        printf("#   got %d:", w);
        for (int j = 0; j < tlp_mode_fea(TLP_MODE_CPU); j++) printf(" %.4g", (double)o[j]);
        printf("\n");
    }
    /* a program without splits or pragmas: the marker alone */
    program_row_of("cuda", "[\"CI\", 1]", o, &w);
    same = w == 14 && o[0] == -1;
    for (int j = 1; j < tlp_mode_fea(TLP_MODE_GPU); j++) same &= o[j] == 0;
    ok(same, "a program without tiles: the marker and zeros");
}

int main(void)
{
    test_spec_examples();
    test_modes();
    test_labels();
    test_summary();
    test_golden();
    test_program_row();
    return tap_done();
}
