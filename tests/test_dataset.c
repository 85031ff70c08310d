/* test_dataset.c: loading files and directories into tasks, hardware names,
 * labels, weights, diagnostics for bad lines, re-reading, and the export. */
#include "tap.h"
#include "train/train_int.h" /* tlp.h and the engine's inside */

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char path_buf[1024];
static const char *fx(const char *rel)
{
    const char *d = getenv("top_srcdir");
    snprintf(path_buf, sizeof path_buf, "%s/tests/fixtures/%s", d ? d : ".", rel);
    return path_buf;
}

static tlp_dataset *load(const char *rel, const char *hw)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    if (tlp_dataset_add_path(ds, fx(rel), hw, &lo, &e) != TLP_OK) printf("# %s: %s\n", e.file, e.msg);
    tlp_dataset_finish(ds, &e);
    return ds;
}

static long task_by_hw(const tlp_dataset *ds, const char *hw)
{
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++)
        if (strcmp(tlp_dataset_task(ds, t)->hardware, hw) == 0) return (long)t;
    return -1;
}

static void test_tasks(void)
{
    tlp_dataset *ds = load("records", NULL);
    is_int(tlp_dataset_n_files(ds), 3, "three fixture files found recursively");
    is_int(tlp_dataset_n_records(ds), 9, "nine records");
    is_int(tlp_dataset_n_tasks(ds), 3, "three tasks");
    is_int(tlp_dataset_n_skipped(ds), 0, "nothing skipped");
    is_int(tlp_dataset_n_comments(ds), 2, "two comment lines");
    long cpu = task_by_hw(ds, "testcpu");
    ok(cpu >= 0, "hardware from -model= in the target");
    long gpu = task_by_hw(ds, "records");
    ok(gpu >= 0, "hardware from the DATA directory's name when the target has no -model= (not its subfolder's)");
    ok(task_by_hw(ds, "gpu-x") < 0, "no hardware named after a subfolder");
    if (cpu < 0 || gpu < 0) return;
    const tlp_task *t = tlp_dataset_task(ds, (size_t)cpu);
    is_int(t->mode, TLP_MODE_CPU, "llvm task is cpu");
    is_int(t->n_records, 4, "cpu task has 4 records");
    is_int(t->n_valid, 3, "3 valid");
    is_dbl(t->min_cost, 0.0022, 1e-15, "min cost is the mean of the best record");
    is_dbl(t->weight, 1, 0, "weight 1 without a weights file");
    is_str(t->summary, "matmul_tlpx_test(256, 256, 256)", "summary");
    /* failed record: cost 1e10, label ~0 and kept */
    int failed = 0;
    for (uint32_t k = 0; k < t->n_records; k++) {
        const tlp_rec *r = tlp_dataset_rec(ds, t->records[k]);
        if (r->error_no == 6) {
            failed++;
            is_dbl(r->cost, 1e10, 0, "failed record costs 1e10");
            is_dbl(tlp_dataset_label(ds, t->records[k]), 0.0022 / 1e10, 1e-20, "failed record label");
        } else
            ok(tlp_dataset_label(ds, t->records[k]) > 0 && tlp_dataset_label(ds, t->records[k]) <= 1, "label in (0, 1]");
    }
    is_int(failed, 1, "the BUILD_TIMEOUT record is kept and flagged");

    const tlp_task *g = tlp_dataset_task(ds, (size_t)gpu);
    is_int(g->mode, TLP_MODE_GPU, "cuda task is gpu");
    const tlp_hw_stats *hs = NULL;
    for (size_t h = 0; h < tlp_dataset_n_hw(ds); h++)
        if (strcmp(tlp_dataset_hw(ds, h)->hardware, "records") == 0) hs = tlp_dataset_hw(ds, h);
    if (ok(hs != NULL, "the gpu stats (hardware named records)")) {
        is_int(hs->n_records, 5, "gpu-x records");
        is_int(hs->lost_steps, 1, "the 45-step record loses steps to the 40 crop");
        is_int(hs->steps_cropped, 5, "5 steps dropped");
        is_int(hs->kind_absent, 3, "SA, RF, CR absent from the gpu dictionary");
        is_int(hs->unknown_str, 3, "texture scope, $7 pragma and local CHR scope are unknown");
        is_int(hs->error_no[4], 1, "one RUNTIME_DEVICE");
        is_int(hs->kind_count[TLP_STEP_FFSP], 2, "FFSP counted");
    }

    /* the CRLF file: records found, blank line between them skipped */
    long dense = tlp_dataset_find_task(ds, "[\"dense_layer\", 64, 512, 256]");
    ok(dense >= 0, "find a task by its workload key");
    if (dense >= 0) {
        const tlp_task *d = tlp_dataset_task(ds, (size_t)dense);
        is_int(d->n_records, 2, "CRLF file: two records");
        const tlp_rec *r = tlp_dataset_rec(ds, d->records[1]);
        is_int(r->line, 3, "line numbers count the blank line");
        tlp_record rec;
        tlp_record_init(&rec);
        tlp_error e = {0};
        is_int(tlp_dataset_read_record(ds, d->records[1], &rec, &e), TLP_OK, "re-read a record from its file");
        is_int(rec.n_steps, 3, "the re-read record has its steps");
        is_dbl(rec.costs[0], 3.1e-05, 0, "and its cost");
        tlp_record_free(&rec);
    }
    ok(tlp_dataset_find_task(ds, "matmul_tlpx_test(256, 256, 256)") == cpu, "find a task by its summary");
    ok(tlp_dataset_find_task(ds, "nope") == -1, "unknown task");
    size_t bytes = tlp_dataset_bytes(ds);
    ok(bytes > 0, "memory is accounted");
    tlp_dataset_free(ds);
}

static void test_override(void)
{
    tlp_dataset *ds = load("records/gpu-x", "K80");
    ok(task_by_hw(ds, "K80") >= 0, "NAME=PATH names the hardware");
    ok(task_by_hw(ds, "gpu-x") < 0, "and replaces the directory name");
    tlp_dataset_free(ds);
    /* the same task loaded under two names (from two files) is two tasks */
    char copy[64];
    snprintf(copy, sizeof copy, "/tmp/tlpx_dataset_%d.json", (int)getpid());
    FILE *in = fopen(fx("records/gpu-x/conv.json"), "rb"), *out = fopen(copy, "wb");
    char buf[4096];
    size_t k;
    while (in && out && (k = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, k, out);
    if (in) fclose(in);
    if (out) fclose(out);
    ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    tlp_dataset_add_path(ds, fx("records/gpu-x/conv.json"), "A", &lo, &e);
    tlp_dataset_add_path(ds, copy, "B", &lo, &e);
    tlp_dataset_finish(ds, &e);
    is_int(tlp_dataset_n_tasks(ds), 2, "same key on two hardware: two tasks");
    is_int(tlp_dataset_n_hw(ds), 2, "two hardware entries");
    size_t n = tlp_dataset_n_records(ds);
    /* the same file met again (named twice, or through a link) is read once */
    tlp_dataset_add_path(ds, copy, "C", &lo, &e);
    char link[80];
    snprintf(link, sizeof link, "%s.link", copy);
    ok(symlink(copy, link) == 0, "a link to it");
    tlp_dataset_add_path(ds, link, "B", &lo, &e);
    tlp_dataset_finish(ds, &e);
    is_int(tlp_dataset_n_records(ds), n, "the same file again, by name or by a link: its records once");
    unlink(link);
    unlink(copy);
    tlp_dataset_free(ds);
}

static void test_malformed(void)
{
    tlp_dataset *ds = load("malformed", NULL);
    is_int(tlp_dataset_n_records(ds), 3, "good lines of the malformed files load (incl. CRLF, no final newline)");
    is_int(tlp_dataset_n_skipped(ds), 10, "ten bad lines skipped");
    is_int(tlp_dataset_skipped_by(ds, TLP_JSON), 2, "truncated line and deep nesting are broken JSON");
    is_int(tlp_dataset_skipped_by(ds, TLP_UNKNOWN_STEP), 1, "unknown step kind");
    is_int(tlp_dataset_skipped_by(ds, TLP_COST), 2, "negative and infinite cost");
    is_int(tlp_dataset_skipped_by(ds, TLP_NUL), 1, "NUL byte");
    is_int(tlp_dataset_skipped_by(ds, TLP_NUMBER), 1, "absurd number");
    is_int(tlp_dataset_skipped_by(ds, TLP_STEP), 2, "wrong type and wrong arity");
    is_int(tlp_dataset_skipped_by(ds, TLP_LAYOUT), 1, "unknown key");
    is_int(tlp_dataset_n_diags(ds), 10, "each bad line has a diagnostic");
    tlp_diag d = tlp_dataset_diag(ds, 0);
    ok(strstr(d.file, "bad.json") != NULL, "diagnostic names the file");
    is_int(d.line, 2, "and the line");
    ok(d.msg && d.msg[0], "and the reason");
    d = tlp_dataset_diag(ds, 2);
    is_int(d.line, 4, "unknown kind on line 4");
    ok(strstr(d.msg, "ZZ") != NULL, "the message names the unknown kind");
    tlp_dataset_free(ds);

    ds = tlp_dataset_new();
    tlp_error e = {0};
    is_int(tlp_dataset_add_path(ds, "/nonexistent/tlpx/path", NULL, NULL, &e), TLP_NOT_FOUND, "missing path");
    is_str(e.file, "/nonexistent/tlpx/path", "the error names the path");
    tlp_dataset_free(ds);
}

static void test_weights(void)
{
    tlp_dataset *ds = load("records", NULL);
    char tmp[] = "/tmp/tlpx_weightsXXXXXX";
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "network_key\ttarget_kind\ttask_index\tweight\tworkload_key\tcompute_ops[tag]\n");
    fprintf(f, "n1\tllvm\t0\t3\t[\"matmul_tlpx_test\", 256, 256, 256]\tx\n");
    fprintf(f, "n2\tllvm\t0\t2\t[\"matmul_tlpx_test\", 256, 256, 256]\tx\n");
    fclose(f);
    tlp_error e = {0};
    is_int(tlp_dataset_load_weights(ds, tmp, &e), TLP_OK, "TenSet network table loads");
    long t = tlp_dataset_find_task(ds, "[\"matmul_tlpx_test\", 256, 256, 256]");
    is_dbl(tlp_dataset_task(ds, (size_t)t)->weight, 5, 0, "weights of a key listed twice add up");
    f = fopen(tmp, "w");
    fprintf(f, "[\"dense_layer\", 64, 512, 256]\t2.5\n[\"x\"]\tlots\n");
    fclose(f);
    is_int(tlp_dataset_load_weights(ds, tmp, &e), TLP_NUMBER, "a bad weight is an error");
    is_int(e.line, 2, "naming its line");
    unlink(tmp);
    is_int(tlp_dataset_load_weights(ds, "/nonexistent/w.tsv", &e), TLP_NOT_FOUND, "missing weights file");
    tlp_dataset_free(ds);
}

static tlp_status write_fail(FILE *f, void *ctx, tlp_error *err)
{
    fputs("partial", f);
    return tlp_error_set(err, TLP_IO, "x", 0, "simulated failure");
}

static tlp_status write_ok(FILE *f, void *ctx, tlp_error *err)
{
    fputs((const char *)ctx, f);
    return TLP_OK;
}

static void test_export(void)
{
    tlp_dataset *ds = load("records", NULL);
    char dir[] = "/tmp/tlpx_exportXXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    char prefix[256], p[300];
    snprintf(prefix, sizeof prefix, "%s/out", dir);
    tlp_error e = {0};
    size_t n = 0;
    is_int(tlp_export_npy(ds, TLP_MODE_GPU, TLP_ENCODE_RAW, 0, prefix, &n, &e), TLP_OK, "export gpu");
    is_int(n, 5, "five gpu records");
    snprintf(p, sizeof p, "%s.features.npy", prefix);
    FILE *f = fopen(p, "rb");
    ok(f != NULL, "features.npy exists");
    if (f) {
        unsigned char head[10];
        ok(fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0, "npy magic");
        unsigned hl = head[8] | (unsigned)head[9] << 8;
        char dict[256] = {0};
        ok(hl < sizeof dict && fread(dict, 1, hl, f) == hl, "npy header");
        ok(strstr(dict, "'descr': '<f4'") && strstr(dict, "'shape': (5, 40, 20)"), "dtype and shape");
        is_int((10 + hl) % 64, 0, "data aligned to 64 bytes");
        float x[40 * 20], want[40 * 20];
        ok(fread(x, sizeof(float), 800, f) == 800, "first matrix");
        tlp_dataset_features(ds, tlp_dataset_task(ds, (size_t)task_by_hw(ds, "records"))->records[0], 40, want);
        ok(memcmp(x, want, sizeof x) == 0, "first matrix equals the dataset's");
        fseek(f, 0, SEEK_END);
        is_int(ftell(f), 10 + hl + 5 * 800 * 4, "file size");
        fclose(f);
    }
    snprintf(p, sizeof p, "%s.index.tsv", prefix);
    f = fopen(p, "r");
    char line[512] = {0};
    ok(f && fgets(line, sizeof line, f) && strcmp(line, "task\thardware\tfile\tline\n") == 0, "index header");
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) rows++;
    is_int(rows, 5, "an index row per record");
    if (f) fclose(f);

    /* --encode prog: what a prog network's first layer gets, one row more */
    char prefix2[300];
    snprintf(prefix2, sizeof prefix2, "%s/prog", dir);
    is_int(tlp_export_npy(ds, TLP_MODE_GPU, TLP_ENCODE_PROG, 0, prefix2, &n, &e), TLP_OK, "export gpu, prog tokens");
    is_int(tlp_export_npy(ds, TLP_MODE_GPU, (tlp_encode)7, 0, prefix2, &n, &e), TLP_ARG, "an unknown encoding is refused");
    snprintf(p, sizeof p, "%s.features.npy", prefix2);
    f = fopen(p, "rb");
    ok(f != NULL, "prog features.npy exists");
    if (f) {
        unsigned char head[10];
        ok(fread(head, 1, 10, f) == 10, "prog npy magic");
        unsigned hl = head[8] | (unsigned)head[9] << 8;
        char dict[256] = {0};
        ok(hl < sizeof dict && fread(dict, 1, hl, f) == hl, "prog npy header");
        ok(strstr(dict, "'shape': (5, 41, 20)") != NULL, "prog shape: L + 1 rows");
        float x[41 * 20], raw[40 * 20], row[20];
        ok(fread(x, sizeof(float), 820, f) == 820, "prog first matrix");
        tlp_dataset_features(ds, tlp_dataset_task(ds, (size_t)task_by_hw(ds, "records"))->records[0], 40, raw);
        int same = 1;
        for (int i = 0; i < 800; i++)
            same &= fabsf(x[i] - copysignf(log2f(1.0f + fabsf(raw[i])), raw[i])) <= 1e-6f * (1 + fabsf(x[i]));
        ok(same, "prog rows 0..L-1: sign(x) log2(1 + |x|) of the raw tokens");
        tlp_program_row(TLP_MODE_GPU, 40, raw, row);
        ok(memcmp(x + 800, row, sizeof row) == 0 && x[800] == -1.0f, "prog row L: the program row");
        fclose(f);
    }

    /* atomic write: a failing writer leaves the old file whole */
    snprintf(p, sizeof p, "%s/keep.txt", dir);
    is_int(tlp_write_atomic(p, write_ok, (void *)"old contents\n", &e), TLP_OK, "atomic write");
    is_int(tlp_write_atomic(p, write_fail, NULL, &e), TLP_IO, "failing write reports");
    f = fopen(p, "r");
    ok(f && fgets(line, sizeof line, f) && strcmp(line, "old contents\n") == 0, "old file untouched");
    if (f) fclose(f);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 9", dir);
    ok(system(cmd) == 0, "no temporary files left behind");
    snprintf(p, sizeof p, "/nonexistent/dir/x.npy");
    ok(tlp_write_atomic(p, write_ok, (void *)"x", &e) == TLP_IO && strstr(e.msg, "temporary"), "unwritable dir is an error");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
    tlp_dataset_free(ds);
}

/* A record is read again from its file only if the line there is still
 * the one loaded: a file changed (or put in another's place) is caught. */
static void test_changed_source(void)
{
    char dir[] = "/tmp/tlpx_changedXXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    char p[300], cmd[900];
    snprintf(p, sizeof p, "%s/r.json", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", fx("records/gpu-x/dense.json"), p);
    ok(system(cmd) == 0, "a copy of a record file");
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0};
    tlp_error e = {0};
    is_int(tlp_dataset_add_path(ds, p, NULL, &lo, &e), TLP_OK, "loaded");
    tlp_dataset_finish(ds, &e);
    tlp_record rec;
    tlp_record_init(&rec);
    is_int(tlp_dataset_read_record(ds, 0, &rec, &e), TLP_OK, "read again while unchanged");
    tlp_record_free(&rec);
    /* the same length, another workload: a parseable record, not the one loaded */
    snprintf(cmd, sizeof cmd, "sed -i 's/dense_layer/dense_layeR/' '%s'", p);
    ok(system(cmd) == 0, "the file changed in place");
    tlp_record_init(&rec);
    memset(&e, 0, sizeof e);
    is_int(tlp_dataset_read_record(ds, 0, &rec, &e), TLP_IO, "read again after the change: refused");
    ok(strstr(e.msg, "the file changed") != NULL, "saying the file changed");
    ok(e.line > 0 && strstr(e.file, "r.json") != NULL, "naming the file and line");
    tlp_record_free(&rec);
    unlink(p);
    ok(mkfifo(p, 0600) == 0, "a FIFO in the file's place");
    memset(&e, 0, sizeof e);
    tlp_record_init(&rec);
    is_int(tlp_dataset_read_record(ds, 0, &rec, &e), TLP_IO, "read again from a FIFO: refused, not waited on");
    ok(strstr(e.msg, "not a regular file") != NULL, "as not a regular file");
    tlp_record_free(&rec);
    unlink(p);
    rmdir(dir);
    tlp_dataset_free(ds);
}

/* A log a running search appends to: each follow takes the whole lines
 * added since the last, a line without its newline waits for it, line
 * numbers go on, a record read again is the one taken, and a file that got
 * shorter (replaced) is said. */
static void test_follow(void)
{
    char dir[] = "/tmp/tlpx_followXXXXXX", p[300];
    ok(mkdtemp(dir) != NULL, "temp dir");
    snprintf(p, sizeof p, "%s/log.json", dir);
    FILE *src = fopen(fx("train/hw-a/op64.json"), "r");
    char *lines[64];
    size_t nl = 0, cap = 0;
    char *l = NULL;
    while (nl < 64 && getline(&l, &cap, src) > 0) {
        lines[nl++] = l;
        l = NULL, cap = 0;
    }
    free(l); /* getline's buffer at the end */
    fclose(src);
    ok(nl >= 10, "ten record lines or more to append");
    FILE *f = fopen(p, "w");
    for (size_t i = 0; i < 4; i++) fputs(lines[i], f);
    fwrite(lines[4], 1, strlen(lines[4]) / 2, f); /* half a line: being written */
    fflush(f);
    tlp_dataset *ds = tlp_dataset_new();
    tlp_follow fw = TLP_FOLLOW_INIT;
    tlp_error e = {0};
    size_t added = 0;
    is_int(tlp_dataset_follow(ds, p, "local", &fw, &added, &e), TLP_OK, "follow a log being written");
    tlp_dataset_finish(ds, &e);
    is_int((int)added, 4, "its 4 whole lines, not the half one");
    is_int((int)fw.line, 4, "4 lines taken");
    fputs(lines[4] + strlen(lines[4]) / 2, f); /* the rest of line 5, then 3 more */
    for (size_t i = 5; i < 8; i++) fputs(lines[i], f);
    fflush(f);
    is_int(tlp_dataset_follow(ds, p, "local", &fw, &added, &e), TLP_OK, "follow again");
    tlp_dataset_finish(ds, &e);
    is_int((int)added, 4, "the 4 lines added since, line 5 whole now");
    is_int((int)tlp_dataset_n_records(ds), 8, "8 records in all");
    is_int((int)tlp_dataset_n_files(ds), 1, "one file");
    const tlp_rec *r = tlp_dataset_rec(ds, 4);
    is_int((int)r->line, 5, "the record of line 5 knows its line");
    ok(!strcmp(tlp_dataset_task(ds, r->task)->hardware, "local"), "under the hardware name given");
    tlp_record rec, want;
    tlp_record_init(&rec), tlp_record_init(&want);
    is_int(tlp_dataset_read_record(ds, 4, &rec, &e), TLP_OK, "a followed record is read again");
    tlp_record_parse(&want, lines[4], strlen(lines[4]) - 1, &e);
    ok(rec.n_steps == want.n_steps && !strcmp(rec.workload_key, want.workload_key) &&
           rec.costs[0] == want.costs[0], "and it is the line taken");
    tlp_record_free(&rec), tlp_record_free(&want);
    is_int(tlp_dataset_follow(ds, p, "local", &fw, &added, &e), TLP_OK, "nothing new: nothing added");
    is_int((int)added, 0, "0 added");
    fclose(f);
    f = fopen(p, "w"); /* replaced by a shorter file */
    fputs(lines[0], f);
    fclose(f);
    is_int(tlp_dataset_follow(ds, p, "local", &fw, &added, &e), TLP_IO, "a file that got shorter: an error");
    ok(strstr(e.msg, "got shorter") != NULL && strstr(e.file, "log.json"), "saying so, naming the file");
    for (size_t i = 0; i < nl; i++) free(lines[i]);
    unlink(p);
    rmdir(dir);
    tlp_dataset_free(ds);
}

int main(void)
{
    test_changed_source();
    test_follow();
    test_tasks();
    test_override();
    test_malformed();
    test_weights();
    test_export();
    return tap_done();
}
