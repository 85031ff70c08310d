/* fuzz_store.c: libFuzzer harness for the packed-store reader.  Any bytes
 * given as DATA must be read or refused cleanly, with a reason; a store that
 * is read must be safe to use whole: every record's features, label, task
 * and file, and the tasks and hardware tables.  The same bytes are also read
 * into a dataset that holds records already (the copying path, each
 * reference remapped) and through a fold filter.  Checksums are taken as
 * right in this build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION), so
 * mutations reach the checks behind them.  Built and run by tests/fuzz.sh
 * on a corpus of valid stores. */
#include "tlp.h"
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Use every part of a dataset that loaded: out-of-range references would
 * show here (under ASan) as reads past the records, tokens or tables. */
static void use(const tlp_dataset *ds)
{
    static float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    double sink = 0;
    size_t n = tlp_dataset_n_records(ds);
    for (size_t i = 0; i < n; i++) {
        tlp_dataset_features(ds, i, TLP_MAX_STEPS, x); /* every token kept */
        const tlp_rec *r = tlp_dataset_rec(ds, i);
        sink += x[0] + tlp_dataset_label(ds, i) + r->cost + (double)strlen(tlp_dataset_file(ds, r->file));
        if (r->task >= tlp_dataset_n_tasks(ds)) abort();
    }
    for (size_t t = 0; t < tlp_dataset_n_tasks(ds); t++) {
        const tlp_task *k = tlp_dataset_task(ds, t);
        sink += (double)strlen(k->workload_key) + (double)strlen(k->hardware) + k->min_cost;
        for (uint32_t j = 0; j < k->n_records; j++)
            if (k->records[j] >= n) abort();
    }
    for (size_t h = 0; h < tlp_dataset_n_hw(ds); h++) sink += (double)tlp_dataset_hw(ds, h)->n_records;
    for (size_t d = 0; d < tlp_dataset_n_diags(ds); d++) sink += (double)strlen(tlp_dataset_diag(ds, d).msg);
    if (sink == 12345.678) puts("");
}

static void load(const char *path, const char *prior, const tlp_load_opts *o)
{
    tlp_dataset *ds = tlp_dataset_new();
    tlp_error e = {0};
    if (prior && tlp_dataset_add_path(ds, prior, NULL, o, &e) != TLP_OK) abort(); /* the seed itself */
    tlp_status s = tlp_dataset_add_path(ds, path, NULL, o, &e);
    if (s == TLP_OK) s = tlp_dataset_finish(ds, &e);
    if (s != TLP_OK && !e.msg[0]) abort(); /* a refusal must say why */
    if (s == TLP_OK) use(ds);
    tlp_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path;
    int fd = fuzz_file("fuzz.pack", &path);
    if (pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    tlp_load_opts none = {0};
    load(path, NULL, &none); /* read as it is into an empty dataset */
    tlp_load_opts fold = {0};
    fold.n_folds = 2;
    fold.fold = 1;
    load(path, NULL, &fold); /* copied, through a fold filter */
    const char *prior = getenv("FUZZ_PRIOR"); /* a record file read first: the store's records copied after */
    if (prior) load(path, prior, &none);
    return 0;
}
