/* differential.h: both parse paths over every record line of a file.  Where
 * the fast scanner accepts a line, the cJSON tree path must read the same
 * record (compared through the writer, which covers every field).
 * Used by test_record (fixtures) and test_shared_data (all shared data). */
#ifndef TLPX_DIFFERENTIAL_H
#define TLPX_DIFFERENTIAL_H

#include "train/train_int.h"
#include "tlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long lines;  /* lines that start a JSON object */
    long fast;   /* of those, read by the scanner */
    long differ; /* of those, read differently (or refused) by the tree path */
} diff_counts;

static inline void diff_file(const char *path, diff_counts *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    tlp_record a, b;
    tlp_record_init(&a);
    tlp_record_init(&b);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (!n || line[0] != '{' || memchr(line, 0, (size_t)n)) continue;
        c->lines++;
        if (!tlp__record_parse_fast(&a, line, (size_t)n)) continue;
        c->fast++;
        tlp_error e = {0};
        char *ja = tlp_record_to_json(&a);
        char *jb = tlp__record_parse_tree(&b, line, (size_t)n, &e) == TLP_OK ? tlp_record_to_json(&b) : NULL;
        if (!ja || !jb || strcmp(ja, jb) != 0) {
            c->differ++;
            printf("#   %s: the parse paths differ on: %.80s\n", path, line);
        }
        free(ja);
        free(jb);
    }
    free(line);
    fclose(f);
    tlp_record_free(&a);
    tlp_record_free(&b);
}

#endif
