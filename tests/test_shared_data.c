/* test_shared_data.c: load every source directory of ../shared/data and check
 * our counts against the summary blocks of its PROVENANCE.md (files, bytes,
 * lines, records, valid records, distinct workload keys, error histogram).
 * Skips (exit 77) when the data is absent: set TLPX_DATA to point at it. */
#include "tap.h"
#include "tlp.h"
#include "train/train_int.h"
#include "differential.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[256];
    long files, bytes, lines, records, valid, keys;
    long err[16];
    int have_err;
} block;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every record line through both parse paths: the fast scanner must accept
 * TVM's own files and read what the cJSON path reads. */
static void differential(const tlp_dataset *ds, const char *dir)
{
    diff_counts c = {0, 0, 0};
    for (size_t i = 0; i < tlp_dataset_n_files(ds); i++) diff_file(tlp_dataset_file(ds, i), &c);
    long lines = c.lines, fast = c.fast, differ = c.differ;
    char what[512];
    snprintf(what, sizeof what, "%.200s: the fast scanner reads all %ld lines", dir, lines);
    is_int(fast, lines, what);
    snprintf(what, sizeof what, "%.200s: and agrees with the cJSON path on each", dir);
    is_int(differ, 0, what);
}

static void check_block(const char *root, const block *b)
{
    char path[1024], what[512];
    snprintf(path, sizeof path, "%.500s/%.200s", root, b->dir);
    tlp_dataset *ds = tlp_dataset_new();
    tlp_load_opts lo = {0}; /* no on_diag: silent */
    tlp_error e = {0};
    tlp_status s = tlp_dataset_add_path(ds, path, "X", &lo, &e);
    snprintf(what, sizeof what, "%.200s loads", b->dir);
    ok(s == TLP_OK, what);
    tlp_dataset_finish(ds, &e);
#define CHECK(got, want, name)                                \
    snprintf(what, sizeof what, "%.200s: %s", b->dir, name);      \
    is_int(got, want, what)
    CHECK(tlp_dataset_n_files(ds), b->files, "files");
    CHECK(tlp_dataset_bytes_read(ds), b->bytes, "bytes");
    CHECK(tlp_dataset_n_records(ds), b->records, "records");
    CHECK(tlp_dataset_n_skipped(ds), 0, "no line skipped");
    CHECK(tlp_dataset_n_records(ds) + tlp_dataset_n_comments(ds), b->lines, "lines (records + comments)");
    long valid = 0, err[16] = {0};
    for (size_t i = 0; i < tlp_dataset_n_records(ds); i++) {
        const tlp_rec *r = tlp_dataset_rec(ds, i);
        valid += r->error_no == 0;
        err[r->error_no < 15 ? r->error_no : 15]++;
    }
    CHECK(valid, b->valid, "valid records");
    if (b->have_err) {
        int same = 1;
        for (int k = 0; k < 16; k++) same &= err[k] == b->err[k];
        snprintf(what, sizeof what, "%.200s: error_no histogram", b->dir);
        ok(same, what);
    }
    size_t nt = tlp_dataset_n_tasks(ds);
    const char **keys = malloc(sizeof *keys * (nt ? nt : 1));
    for (size_t t = 0; t < nt; t++) keys[t] = tlp_dataset_task(ds, t)->workload_key;
    qsort(keys, nt, sizeof *keys, cmp_str);
    long distinct = 0;
    for (size_t t = 0; t < nt; t++) distinct += t == 0 || strcmp(keys[t], keys[t - 1]) != 0;
    free(keys);
    CHECK(distinct, b->keys, "distinct workload keys");
    differential(ds, b->dir);
    /* every record's features are finite and its label in (0, 1] */
    float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    int sane = 1;
    for (size_t i = 0; i < tlp_dataset_n_records(ds); i++) {
        double l = tlp_dataset_label(ds, i);
        sane &= l > 0 && l <= 1;
        tlp_dataset_features(ds, i, tlp_mode_seq(tlp_dataset_task(ds, tlp_dataset_rec(ds, i)->task)->mode), x);
    }
    snprintf(what, sizeof what, "%.200s: labels in (0, 1]", b->dir);
    ok(sane, what);
    printf("# %s: %zu bytes held, %.0f per record\n", b->dir, tlp_dataset_bytes(ds),
           (double)tlp_dataset_bytes(ds) / (double)tlp_dataset_n_records(ds));
    snprintf(what, sizeof what, "%.200s: at most 256 bytes resident per record", b->dir);
    if (tlp_dataset_n_records(ds) >= 1000) /* below that, fixed costs dominate */
        ok(tlp_dataset_bytes(ds) <= 256 * tlp_dataset_n_records(ds), what);
    tlp_dataset_free(ds);
}

int main(void)
{
    const char *root = getenv("TLPX_DATA");
    char buf[1024];
    if (!root || !*root) {
        const char *top = getenv("top_srcdir");
        snprintf(buf, sizeof buf, "%s/../shared/data", top ? top : ".");
        root = buf;
    }
    char prov[1200];
    snprintf(prov, sizeof prov, "%s/PROVENANCE.md", root);
    FILE *f = fopen(prov, "r");
    if (!f) {
        printf("1..0 # SKIP no shared data at %s (set TLPX_DATA)\n", root);
        return 77;
    }
    block blocks[16];
    int nb = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "### shared/data/", 16) == 0 && nb < 16) {
            block *b = &blocks[nb++];
            memset(b, 0, sizeof *b);
            sscanf(line + 16, "%255s", b->dir);
            continue;
        }
        if (!nb) continue;
        block *b = &blocks[nb - 1];
        long a, c, d;
        if (sscanf(line, "files: %ld bytes: %ld", &a, &c) == 2) b->files = a, b->bytes = c;
        else if (sscanf(line, "lines: %ld records: %ld valid(error_no==0): %ld", &a, &c, &d) == 3)
            b->lines = a, b->records = c, b->valid = d;
        else if (sscanf(line, "distinct workload keys: %ld", &a) == 1) b->keys = a;
        else if (strncmp(line, "error_no histogram: {", 21) == 0) {
            char *p = line + 21;
            long k, v;
            int n;
            while (sscanf(p, " %ld: %ld%n", &k, &v, &n) == 2) {
                if (k >= 0 && k < 16) b->err[k] = v;
                p += n;
                if (*p == ',') p++;
            }
            b->have_err = 1;
        }
    }
    free(line);
    fclose(f);
    ok(nb >= 5, "PROVENANCE.md has a summary block per source directory");
    for (int i = 0; i < nb; i++) check_block(root, &blocks[i]);
    return tap_done();
}
