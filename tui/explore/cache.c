/* cache.c: the explorer's scores on disk, so a second opening of the same
 * data with the same model ranks at once.  A file per (model, data) in
 * $XDG_CACHE_HOME/tlpx (else ~/.cache/tlpx), named by the digests of the
 * model's weights and of the records' tokens and tasks (what the scores
 * are a function of), written atomically, checked whole on reading: a
 * damaged or foreign file is a miss, never wrong scores.  The newest 16
 * files are kept. */
#include "explore.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_MAGIC "TLPXSCOR"

int cache_path(const tlp_model *m, const tlp_dataset *ds, char *path, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (xdg && xdg[0] == '/') snprintf(dir, sizeof dir, "%s/tlpx", xdg);
    else if (home && home[0]) snprintf(dir, sizeof dir, "%s/.cache/tlpx", home);
    else return -1;
    char *slash = strrchr(dir, '/');
    *slash = 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
    *slash = '/';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
    uint64_t h = tlp_model_digest(m), d = tlp_dataset_digest(ds);
    snprintf(path, cap, "%s/scores-%016llx-%016llx.bin", dir, (unsigned long long)h, (unsigned long long)d);
    return 0;
}

typedef struct {
    int H;
    size_t n;
    float *const *scores;
} cache_out;

static tlp_status write_scores(FILE *f, void *ctx, tlp_error *err)
{
    const cache_out *c = ctx;
    uint64_t head[2] = {(uint64_t)c->H, (uint64_t)c->n}, sum = TLP_FNV_OFFSET;
    fwrite(CACHE_MAGIC, 1, 8, f);
    fwrite(head, sizeof head, 1, f);
    sum = tlp_fnv1a(sum, head, sizeof head);
    for (int h = 0; h < c->H; h++) {
        fwrite(c->scores[h], sizeof(float), c->n, f);
        sum = tlp_fnv1a(sum, c->scores[h], sizeof(float) * c->n);
    }
    fwrite(&sum, sizeof sum, 1, f);
    if (ferror(f)) return tlp_error_set(err, TLP_IO, NULL, 0, "write failed");
    return TLP_OK;
}

/* The cache keeps its CACHE_KEEP newest files: older ones are removed, so
 * it never grows past a few of the data and models in use. */
#define CACHE_KEEP 16

static void prune(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct {
        char name[256];
        time_t t;
    } f[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        struct stat st;
        char p[4400];
        if (strncmp(e->d_name, "scores-", 7)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        snprintf(f[n].name, sizeof f[n].name, "%s", e->d_name);
        f[n++].t = st.st_mtime;
    }
    closedir(d);
    while (n > CACHE_KEEP) { /* the oldest goes */
        int old = 0;
        for (int i = 1; i < n; i++)
            if (f[i].t < f[old].t) old = i;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, f[old].name);
        unlink(p);
        f[old] = f[--n];
    }
}

void cache_save(const char *path, int H, size_t n, float *const *scores)
{
    cache_out c = {H, n, scores};
    tlp_error err = {0};
    /* a cache: a failed write costs a rescoring later, nothing else */
    if (tlp_write_atomic(path, write_scores, &c, &err) == TLP_OK) prune(path);
}

int cache_load(const char *path, int H, size_t n, float **scores)
{
    FILE *f = tlp_fopen_regular(path);
    if (!f) return -1;
    char magic[8];
    uint64_t head[2], sum = TLP_FNV_OFFSET, want;
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, CACHE_MAGIC, 8) && fread(head, sizeof head, 1, f) == 1 &&
             head[0] == (uint64_t)H && head[1] == (uint64_t)n;
    sum = tlp_fnv1a(sum, head, sizeof head);
    float *got[TLP_MAX_HEADS] = {NULL};
    for (int h = 0; ok && h < H; h++) {
        ok = (got[h] = malloc(sizeof(float) * (n ? n : 1))) != NULL && fread(got[h], sizeof(float), n, f) == n;
        if (ok) sum = tlp_fnv1a(sum, got[h], sizeof(float) * n);
    }
    ok = ok && fread(&want, sizeof want, 1, f) == 1 && want == sum && fgetc(f) == EOF;
    fclose(f);
    for (int h = 0; h < H; h++) {
        if (ok) scores[h] = got[h];
        else free(got[h]);
    }
    return ok ? 0 : -1;
}
