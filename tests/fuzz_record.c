/* fuzz_record.c: libFuzzer harness for the record parser.  Any input must
 * parse or fail cleanly; a record that parses must survive a round trip
 * through the writer unchanged, and its features and descriptions must be
 * computable; and where the fast scanner accepts a line, the cJSON path must
 * read the same record from it.  Built and run by tests/fuzz.sh (clang). */
#include "tlp.h"
#include "train/train_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static tlp_record r, r2, rf;
    static int init;
    if (!init) {
        tlp_record_init(&r);
        tlp_record_init(&r2);
        tlp_record_init(&rf);
        init = 1;
    }
    tlp_error e;
    /* differential: where the fast scanner accepts, the cJSON path must accept
     * the same record */
    if (!memchr(data, 0, size) && tlp__record_parse_fast(&rf, (const char *)data, size)) {
        if (tlp__record_parse_tree(&r2, (const char *)data, size, &e) != TLP_OK) abort();
        char *a = tlp_record_to_json(&rf), *b = tlp_record_to_json(&r2);
        if (!a || !b || strcmp(a, b) != 0) abort();
        free(a);
        free(b);
    }
    if (tlp_record_parse(&r, (const char *)data, size, &e) != TLP_OK) {
        if (!e.msg[0]) abort(); /* a failure must say why */
        return 0;
    }
    char *j = tlp_record_to_json(&r);
    if (!j) abort();
    if (tlp_record_parse(&r2, j, strlen(j), &e) != TLP_OK) abort();
    char *j2 = tlp_record_to_json(&r2);
    if (!j2 || strcmp(j, j2) != 0) abort();
    if (r.n_vals != r2.n_vals || (r.n_vals && memcmp(r.vals, r2.vals, r.n_vals * sizeof *r.vals) != 0)) abort();
    free(j);
    free(j2);
    float x[TLP_MAX_STEPS * TLP_MAX_FEA];
    for (int m = 0; m < TLP_MODE_COUNT; m++) tlp_record_features((tlp_mode)m, TLP_MAX_STEPS, &r, x);
    char buf[256];
    for (size_t i = 0; i < r.n_steps; i++) {
        tlp_step_describe(&r, i, buf, sizeof buf);
        for (int s = 0; s < 24; s++) tlp_slot_label(&r, i, s, buf, sizeof buf);
    }
    return 0;
}
