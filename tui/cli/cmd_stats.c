/* cmd_stats.c: `tlpx stats DATA...`: what is in a set of record files. */
#include "cli.h"
#include "opts.h"

#include <stdlib.h>
#include <string.h>

const cli_cmd STATS_CMD = {
    "stats", "DATA... [OPTIONS]",
    "Per hardware: tasks, records, valid ones, failures by TVM error name, the\n"
    "step-kind histogram, steps per record and values per step, and how many\n"
    "records lose steps or values to TLP's crop (25x22 cpu, 40x20 gpu).",
    NULL, 1};

/* Quantile q of a histogram. */
static int hist_q(const uint64_t *h, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < TLP_HIST; i++) total += h[i];
    if (!total) return 0;
    uint64_t want = (uint64_t)(q * (double)(total - 1)) + 1, acc = 0;
    for (int i = 0; i < TLP_HIST; i++) {
        acc += h[i];
        if (acc >= want) return i;
    }
    return TLP_HIST - 1;
}

static int hist_min(const uint64_t *h)
{
    for (int i = 0; i < TLP_HIST; i++)
        if (h[i]) return i;
    return 0;
}

static int hist_max(const uint64_t *h)
{
    for (int i = TLP_HIST - 1; i >= 0; i--)
        if (h[i]) return i;
    return 0;
}

static void print_dist(const char *what, const uint64_t *h)
{
    int mx = hist_max(h);
    printf("  %-17s min %d  median %d  p90 %d  max %d%s\n", what, hist_min(h), hist_q(h, 0.5), hist_q(h, 0.9), mx,
           mx == TLP_HIST - 1 ? "+" : "");
}

/* A compact histogram: bucket ranges with counts. */
static void print_hist(const uint64_t *h, int width)
{
    int lo = hist_min(h), hi = hist_max(h);
    printf("    ");
    int col = 4;
    for (int b = lo; b <= hi; b += width) {
        uint64_t c = 0;
        for (int i = b; i < b + width && i < TLP_HIST; i++) c += h[i];
        if (!c) continue;
        char tmp[48];
        int n = width == 1 ? snprintf(tmp, sizeof tmp, "%d:%llu ", b, (unsigned long long)c)
                           : snprintf(tmp, sizeof tmp, "%d-%d:%llu ", b, b + width - 1, (unsigned long long)c);
        if (col + n > 96) {
            printf("\n    ");
            col = 4;
        }
        fputs(tmp, stdout);
        col += n;
    }
    printf("\n");
}

/* Every positional argument is DATA. */
static int data_arg(void *ctx, const cli_opt *o, const char *val)
{
    cli_data_opts *d = ctx;
    (void)o;
    d->paths[d->n_paths++] = val;
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    cli_data_opts o = {0};
    o.paths = calloc((size_t)argc, sizeof *o.paths);
    if (!o.paths) return EXIT_FAIL;
    int rc = cli_parse(&STATS_CMD, argc, argv, &o, data_arg, &o);
    if (rc < 0 && !o.n_paths) rc = cli_usage_error(&STATS_CMD, "no DATA given");
    if (rc >= 0) {
        free(o.paths);
        return rc;
    }
    tlp_dataset *ds = cli_load(&o);
    free(o.paths);
    if (!ds) return EXIT_FAIL;

    size_t files = tlp_dataset_n_files(ds) - (size_t)tlp_dataset_n_skipped_files(ds);
    printf("%zu files, %zu tasks, %zu records, %llu MB of JSON\n", files, tlp_dataset_n_tasks(ds),
           tlp_dataset_n_records(ds), (unsigned long long)(tlp_dataset_bytes_read(ds) >> 20));
    if (tlp_dataset_store(ds))
        printf("store %s: %zu of the records from it, in %zu segment%s\n", tlp_dataset_store(ds),
               tlp_dataset_n_mapped(ds), tlp_dataset_n_segments(ds), tlp_dataset_n_segments(ds) == 1 ? "" : "s");
    for (size_t h = 0; h < tlp_dataset_n_hw(ds); h++) {
        const tlp_hw_stats *s = tlp_dataset_hw(ds, h);
        int L = tlp_mode_seq(s->mode), F = tlp_mode_fea(s->mode);
        printf("\nhardware %s (%s features: %d steps x %d slots)\n", s->hardware, tlp_mode_name(s->mode), L, F);
        printf("  tasks %u  records %llu  valid %llu (%.1f%%)\n", s->n_tasks, (unsigned long long)s->n_records,
               (unsigned long long)s->n_valid, s->n_records ? 100.0 * (double)s->n_valid / (double)s->n_records : 0.0);
        printf("  failures:");
        int any = 0;
        for (int e = 1; e < 16; e++)
            if (s->error_no[e]) {
                printf("%s %s %llu", any ? "," : "", e == 15 ? ">=15" : tlp_error_no_name(e),
                       (unsigned long long)s->error_no[e]);
                any = 1;
            }
        printf("%s\n", any ? "" : " none");
        int steps_known = s->uncounted < s->n_records; /* some records' steps were counted */
        if (s->uncounted)
            printf("  step kinds and values per step: not counted for %llu record%s (a fold of a store keeps\n"
                   "  them whole-store only; stats on the store itself or on the JSON has them)\n",
                   (unsigned long long)s->uncounted, s->uncounted == 1 ? "" : "s");
        if (steps_known) {
            printf("  step kinds:");
            for (int k = 0; k < TLP_STEP_COUNT; k++)
                if (s->kind_count[k]) printf(" %s %llu", tlp_step_tag((tlp_step_kind)k), (unsigned long long)s->kind_count[k]);
            printf("\n");
        }
        print_dist("steps per record:", s->seq_len);
        print_hist(s->seq_len, 5);
        if (steps_known) {
            print_dist("values per step:", s->arg_count);
            print_hist(s->arg_count, 1);
        }
        printf("  crop: %llu records lose steps (more than %d; %llu steps dropped), "
               "%llu lose values (a kept step over %d values)\n",
               (unsigned long long)s->lost_steps, L, (unsigned long long)s->steps_cropped,
               (unsigned long long)s->lost_args, F - TLP_ONEHOT);
        if (steps_known)
            printf("  dictionary: %llu steps of kinds the %s dictionary lacks, %llu unknown pragma/scope strings\n",
               (unsigned long long)s->kind_absent, tlp_mode_name(s->mode), (unsigned long long)s->unknown_str);
    }
    printf("\nskipped lines: %llu", (unsigned long long)tlp_dataset_n_skipped(ds));
    for (int st = 0; st < TLP_STATUS_COUNT; st++) {
        uint64_t k = tlp_dataset_skipped_by(ds, (tlp_status)st);
        if (k) printf(", %s %llu", tlp_status_name((tlp_status)st), (unsigned long long)k);
    }
    printf("\ncomment lines: %llu\n", (unsigned long long)tlp_dataset_n_comments(ds));
    if (tlp_dataset_n_skipped_files(ds))
        printf("skipped paths: %llu (unreadable, not regular files, or directories met twice)\n",
               (unsigned long long)tlp_dataset_n_skipped_files(ds));
    tlp_dataset_free(ds);
    return EXIT_OK;
}
