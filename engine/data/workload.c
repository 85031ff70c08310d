/*
 * workload.c: what the engine reads from a workload key, TVM's JSON list
 * naming a task (["conv2d_layer", 128, 1008, ...] or a hashed
 * ["bc348570...", [shapes]...]): its canonical form (so the same task
 * measured on several hardware meets), its fold for cross-validation by
 * task, and a readable summary.
 */
#include "data/data_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *tlp_workload_canonical(const char *key)
{
    char *out = strdup(key);
    if (!out) return NULL;
    /* ["conv2d_layer", N, CI, H, W, CO, KH, KW, stride, "SAME"|"VALID"] */
    if (strncmp(key, "[\"conv2d_layer\"", 15) != 0) return out;
    long args[9];
    const char *p = key + 15;
    int n = 0;
    while (n < 8) {
        while (*p == ',' || *p == ' ') p++;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        args[n++] = v;
        p = end;
    }
    while (*p == ',' || *p == ' ') p++;
    if (n != 8) return out;
    long pad;
    if (strncmp(p, "\"SAME\"]", 7) == 0) pad = (args[5] - 1) / 2;
    else if (strncmp(p, "\"VALID\"]", 8) == 0) pad = 0;
    else return out;
    size_t head = (size_t)(p - key);
    char tail[32];
    snprintf(tail, sizeof tail, "%ld]", pad);
    char *q = realloc(out, head + strlen(tail) + 1);
    if (!q) return out;
    strcpy(q + head, tail);
    return q;
}

uint64_t tlp_workload_hash(const char *workload_key)
{
    char *c = tlp_workload_canonical(workload_key);
    const char *k = c ? c : workload_key;
    uint64_t h = tlp__fnv1a(TLP_FNV_OFFSET, k, strlen(k));
    free(c);
    return h;
}

int tlp_workload_fold(const char *workload_key, int n_folds)
{
    if (n_folds <= 1 || !workload_key) return 0;
    return (int)(tlp_workload_hash(workload_key) % (uint64_t)n_folds);
}

char *tlp_workload_summary(const char *key)
{
    /* A key is a JSON list: ["name-or-hash", args...].  We keep its text and only
     * reshape it: the name, then the args without the outer brackets. */
    size_t n = strlen(key);
    char *out = malloc(n + 16);
    if (!out) return NULL;
    const char *p = key;
    while (*p == ' ') p++;
    if (*p != '[') {
        free(out);
        return tlp_escape_dup(key);
    }
    p++;
    while (*p == ' ') p++;
    const char *name = p, *name_end = p;
    if (*p == '"') {
        name = ++p;
        while (*p && *p != '"') p++;
        name_end = p;
        if (*p) p++;
    } else {
        while (*p && *p != ',' && *p != ']') p++;
        name_end = p;
    }
    size_t nl = (size_t)(name_end - name);
    int hashed = nl == 32;
    for (size_t i = 0; hashed && i < nl; i++) hashed = isxdigit((unsigned char)name[i]) != 0;
    while (*p == ',' || *p == ' ') p++;
    /* args: up to the final ']' */
    const char *args = p, *args_end = key + n;
    while (args_end > args && (args_end[-1] == ']' || args_end[-1] == ' ')) {
        if (args_end[-1] == ']') {
            args_end--;
            break;
        }
        args_end--;
    }
    size_t w = 0;
    if (hashed) {
        out[w++] = '#';
        memcpy(out + w, name, 8);
        w += 8;
        out[w++] = ' ';
    } else {
        memcpy(out + w, name, nl);
        w += nl;
        out[w++] = '(';
    }
    for (const char *q = args; q < args_end; q++) {
        if (hashed && *q == ' ') continue; /* "[1024,128,96] [..]" reads better packed */
        if (hashed && *q == ',' && q > args && q[-1] == ']') {
            out[w++] = ' ';
            continue;
        }
        out[w++] = *q;
    }
    if (!hashed) out[w++] = ')';
    out[w] = 0;
    char *safe = tlp_escape_dup(out); /* a summary is for display */
    free(out);
    return safe;
}
