/* opts.c: option tables: parsing argv against them, and help from them. */
#include "opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cli_opt CLI_DATA_OPTS[] = {
    {"--weights", NULL, "TSV", "task weights: workload_key<TAB>weight lines or the TenSet network table"},
    {"--fold", NULL, "K/N", "only the tasks of fold K of N (cross-validation by task; see README)"},
    {"--except-fold", NULL, "K/N", "every task but those of fold K of N"},
    {"--quiet", "-q", NULL, "no progress and no diagnostics on stderr"},
    {NULL, NULL, NULL, NULL},
};

static const cli_opt *find(const cli_opt *t, const char *a)
{
    for (; t && t->name; t++)
        if (!strcmp(a, t->name) || (t->alias && !strcmp(a, t->alias))) return t;
    return NULL;
}

static void print_opts(const cli_opt *t, FILE *f)
{
    for (; t && t->name; t++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", t->alias ? t->alias : "", t->alias ? ", " : "", t->name,
                 t->arg ? " " : "", t->arg ? t->arg : "");
        fprintf(f, "  %-24s %s\n", left, t->help);
    }
}

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: tlpx %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->about);
    if (cmd->opts && cmd->opts->name) {
        fprintf(f, "\noptions:\n");
        print_opts(cmd->opts, f);
    }
    if (cmd->data) {
        fprintf(f, "\ndata options:\n");
        print_opts(CLI_DATA_OPTS, f);
        fprintf(f, "\nDATA is a record file (.json, .log) or a directory read recursively; NAME=PATH\n"
                   "names the hardware of PATH.\n");
    }
    fprintf(f, "  %-24s %s\n", "-h, --help", "this help");
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tlpx %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: tlpx %s %s\n(tlpx %s --help tells more)\n", cmd->name, cmd->synopsis, cmd->name);
    return EXIT_USAGE;
}

int cli_fold(const cli_cmd *cmd, const cli_opt *o, const char *s, int *fold, int *n_folds)
{
    char *end;
    errno = 0;
    long k = strtol(s, &end, 10), n = 0;
    if (end != s && *end == '/') {
        const char *q = end + 1;
        n = strtol(q, &end, 10);
        if (end == q) n = 0;
    }
    if (errno || *end || n < 1 || n > 1000 || k < 1 || k > n) {
        cli_usage_error(cmd, "%s takes K/N with 1 <= K <= N <= 1000 (fold K of N), not \"%s\"", o->name, s);
        return -1;
    }
    *fold = (int)k - 1;
    *n_folds = (int)n;
    return 0;
}

static int data_opt(const cli_cmd *cmd, cli_data_opts *d, const cli_opt *o, const char *val)
{
    if (!strcmp(o->name, "--weights")) d->weights = val;
    else if (!strcmp(o->name, "--quiet")) d->quiet = 1;
    else {
        int except = !strcmp(o->name, "--except-fold");
        if (d->n_folds) return cli_usage_error(cmd, "give --fold or --except-fold once");
        if (cli_fold(cmd, o, val, &d->fold, &d->n_folds)) return EXIT_USAGE;
        d->fold_except = except;
    }
    return 0;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_data_opts *data, cli_opt_fn fn, void *ctx)
{
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || !a[1]) {
            int rc = fn(ctx, NULL, a);
            if (rc) return rc;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_args = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_help(cmd, stdout);
            return EXIT_OK;
        }
        /* --name=value is the same as --name value */
        char name[64];
        const char *val = NULL, *eq = strchr(a, '=');
        if (eq && a[1] == '-' && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
            a = name;
        }
        const cli_opt *o = find(cmd->opts, a);
        int is_data = 0;
        if (!o && cmd->data && (o = find(CLI_DATA_OPTS, a)) != NULL) is_data = 1;
        if (!o) return cli_usage_error(cmd, "unknown option %s", argv[i]);
        if (o->arg && !val) {
            if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs a value (%s)", o->name, o->arg);
            val = argv[++i];
        } else if (!o->arg && val)
            return cli_usage_error(cmd, "%s takes no value", o->name);
        int rc = is_data ? data_opt(cmd, data, o, val) : fn(ctx, o, val);
        if (rc) return rc;
    }
    return -1;
}

int cli_long(const cli_cmd *cmd, const cli_opt *o, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s takes a whole number from %ld to %ld, not \"%s\"", o->name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_double(const cli_cmd *cmd, const cli_opt *o, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v > lo && v < hi)) {
        cli_usage_error(cmd, "%s takes a number above %g and below %g, not \"%s\"", o->name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_choice(const cli_cmd *cmd, const cli_opt *o, const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(s, choices[i])) return i;
    char list[256];
    size_t w = 0;
    list[0] = 0;
    for (int i = 0; choices[i] && w < sizeof list; i++)
        w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", i ? ", " : "", choices[i]);
    cli_usage_error(cmd, "%s is one of %s, not \"%s\"", o->name, list, s);
    return -1;
}
