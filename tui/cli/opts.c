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
        fprintf(f, "\nDATA is a record file (.json, .log, gzip'd or not), a directory read\n"
                   "recursively, or a store made by tlpx pack; NAME=PATH names the hardware of PATH.\n");
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
        if (!o && a[0] == '-' && a[1] && a[1] != '-' && a[2] && !val) { /* -j1 is -j 1, as getopt takes it */
            char sh[3] = {a[0], a[1], 0};
            const cli_opt *so = find(cmd->opts, sh);
            int so_data = !so && cmd->data && (so = find(CLI_DATA_OPTS, sh)) != NULL;
            if (so && so->arg) o = so, is_data = so_data, val = a + 2;
        }
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

typedef struct {
    cli_data_opts *d;
    const char *out;
    cli_opt_fn more;
    void *more_ctx;
} data_out_args;

static int data_out_arg(void *ctx, const cli_opt *o, const char *val)
{
    data_out_args *a = ctx;
    if (!o) a->d->paths[a->d->n_paths++] = val;
    else if (!strcmp(o->name, "--out")) a->out = val;
    else if (a->more) return a->more(a->more_ctx, o, val);
    return 0;
}

int cli_parse_data_out(const cli_cmd *cmd, int argc, char **argv, cli_data_opts *data, const char **out,
                       cli_opt_fn more, void *more_ctx)
{
    data_out_args a = {data, NULL, more, more_ctx};
    data->paths = calloc((size_t)argc + 1, sizeof *data->paths);
    if (!data->paths) return EXIT_FAIL;
    int rc = cli_parse(cmd, argc, argv, data, data_out_arg, &a);
    if (rc < 0 && (!data->n_paths || !a.out || !*a.out)) {
        char need[64];
        const cli_opt *o = cmd->opts;
        while (o->name && strcmp(o->name, "--out")) o++;
        snprintf(need, sizeof need, "--out %s is required", o->arg ? o->arg : "PATH");
        rc = cli_usage_error(cmd, "%s", data->n_paths ? need : "no DATA given");
    }
    if (rc >= 0) {
        free(data->paths);
        data->paths = NULL;
    }
    *out = a.out;
    return rc;
}

int cli_long(const cli_cmd *cmd, const cli_opt *o, const char *s, long lo, long hi, long *out)
{
    if (cli_whole(s, lo, hi, out) == 0) return 0;
    cli_usage_error(cmd, "%s takes a whole number from %ld to %ld, not \"%s\"", o->name, lo, hi, s);
    return -1;
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

/* ------------------------------------------------------------ man page */

/* Text into roff: backslashes and hyphens escaped, a line never starts with
 * a dot or a quote. */
void cli_roff(FILE *f, const char *s)
{
    int bol = 1;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\'')) fputs("\\&", f);
        if (*s == '\\') fputs("\\e", f);
        else if (*s == '-') fputs("\\-", f);
        else fputc(*s, f);
        bol = *s == '\n';
    }
}

static void man_opts(FILE *f, const cli_opt *t)
{
    for (; t && t->name; t++) {
        fputs(".TP\n.B ", f);
        if (t->alias) {
            cli_roff(f, t->alias);
            fputs(", ", f);
        }
        cli_roff(f, t->name);
        if (t->arg) {
            fputs(" \\fI", f);
            cli_roff(f, t->arg);
            fputs("\\fR", f);
        }
        fputc('\n', f);
        cli_roff(f, t->help);
        fputc('\n', f);
    }
}

void cli_man(FILE *f, const cli_subcommand *cmds, size_t n, void (*keys)(FILE *f))
{
    fprintf(f, ".\\\" tlpx(1), made by `tlpx --man` from the option tables of tlpx %s\n", PACKAGE_VERSION);
    fprintf(f, ".TH TLPX 1 \"\" \"tlpx %s\" \"User Commands\"\n", PACKAGE_VERSION);
    fputs(".SH NAME\ntlpx \\- explore Ansor/TenSet measure records through the TLP cost model\n", f);
    fputs(".SH SYNOPSIS\n.B tlpx\n.RI [ DATA ...]\n.RB [ \\-\\-model\n.IR MODEL ]\n.br\n", f);
    fputs(".B tlpx\n.I SUBCOMMAND\n.RI [ ARGS ...]\n", f);
    fputs(".SH DESCRIPTION\n", f);
    cli_roff(f, "tlpx reads the measure records of TVM's Ansor (auto_scheduler) and TenSet, turns each schedule into "
            "the feature tokens of TLP (ASPLOS'23), and trains, evaluates and runs the TLP and MTL-TLP cost models. "
            "Without a subcommand it opens the interactive explorer on the DATA given, or on the embedded default "
            "when there is none.\n");
    fputs(".PP\n", f);
    cli_roff(f, "DATA is a record file (JSON lines, .json or .log), a directory read recursively, or - for standard "
            "input. NAME=PATH names the hardware of PATH; otherwise it is the -model= of the target, else the "
            "name of the DATA argument (a directory's own, not its subfolders'), which tlpx reports. Without "
            "--model the explorer scores each family with its embedded model, and a model's head scores the "
            "hardware of its name, else the hardware whose target gives the -model= (or -mcpu=) the head was "
            "trained on; other hardware is scored by the first head, which tlpx says.\n");
    fputs(".SH SUBCOMMANDS\n", f);
    for (size_t i = 0; i < n; i++) {
        const cli_cmd *c = cmds[i].cmd;
        fputs(".SS \"tlpx ", f);
        cli_roff(f, c->name);
        fputc(' ', f);
        cli_roff(f, c->synopsis);
        fputs("\"\n", f);
        cli_roff(f, c->about);
        fputc('\n', f);
        man_opts(f, c->opts);
    }
    fputs(".SH DATA OPTIONS\nEvery subcommand that reads DATA takes these.\n", f);
    man_opts(f, CLI_DATA_OPTS);
    if (keys) {
        fputs(".SH KEYS\nIn the explorer (? shows the same); a :command is typed after :, Tab completes it.\n", f);
        keys(f);
    }
    fputs(".SH EXAMPLES\n", f);
    static const char *const EX[][2] = {
        {"tlpx", "the explorer on the embedded default: real records of K80, V100 and MI50, the MTL model"},
        {"tlpx K80=~/logs/k80/", "your own logs, ranked by the embedded model's K80 head"},
        {"tlpx eval assets/mtl-gpu.tlpx K80=logs/ --per-task",
         "top-1/top-5 per task against the random order, in-sample tasks marked"},
        {"tlpx train K80=logs/ --heads K80 --out k80.tlpx", "train the default recipe on your logs"},
        {"tlpx best K80=k80/ V100=v100/ --out best/", "the best record per task, one TVM log per hardware"},
        {"tlpx predict model.tlpx logs/ > scores.tsv", "a score per record, for another tool"},
    };
    for (size_t i = 0; i < sizeof EX / sizeof *EX; i++) {
        fputs(".TP\n.B ", f);
        cli_roff(f, EX[i][0]);
        fputc('\n', f);
        cli_roff(f, EX[i][1]);
        fputc('\n', f);
    }
    fputs(".SH EXIT STATUS\n0 success, 1 failure (unreadable path, no records, I/O), 2 usage error; "
          "train interrupted by SIGINT or SIGTERM: 130 or 143, after saving the model.\n", f);
    fputs(".SH ENVIRONMENT\n.TP\n.B NO_COLOR\nset and not empty: the explorer draws without colour.\n"
          ".TP\n.B TERM\nthe explorer needs a terminal that can move the cursor.\n"
          ".TP\n.B XDG_STATE_HOME\nthe explorer's command history is kept in $XDG_STATE_HOME/tlpx/history "
          "(default ~/.local/state).\n"
          ".TP\n.B XDG_CACHE_HOME\nthe explorer keeps its scores in $XDG_CACHE_HOME/tlpx (default ~/.cache), "
          "one file per model and data, so an opening of the same data with the same model ranks at once.\n"
          ".TP\n.B TLPX_ASSETS\nwhere the embedded default data and models are, instead of the installed ones.\n",
          f);
    fputs(".SH SEE ALSO\nThe README of tlpx; TLP: A Deep Learning-Based Cost Model for Tensor Program Tuning "
          "(ASPLOS'23).\n",
          f);
}

/* ------------------------------------------------------------ bash completion */

static void words_of(FILE *f, const cli_opt *t)
{
    for (; t && t->name; t++) fprintf(f, " %s%s%s", t->name, t->alias ? " " : "", t->alias ? t->alias : "");
}

void cli_bash_completion(FILE *f, const cli_subcommand *cmds, size_t n)
{
    fputs("# bash completion for tlpx, made by `tlpx --completion bash` from its option tables\n"
          "_tlpx() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} sub=\"\" i model=\"\"\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in -*) ;; *) if [ -z \"$sub\" ]; then sub=${COMP_WORDS[i]}; "
          "elif [ -z \"$model\" ]; then model=${COMP_WORDS[i]}; fi ;; esac\n"
          "    done\n"
          "    case $prev in\n"
          "    --recipe) COMPREPLY=($(compgen -W 'tlp tlpx' -- \"$cur\")); return ;;\n"
          "    --encode) COMPREPLY=($(compgen -W 'raw log prog' -- \"$cur\")); return ;;\n"
          "    --select) COMPREPLY=($(compgen -W 'loss topk last' -- \"$cur\")); return ;;\n"
          "    --sched) COMPREPLY=($(compgen -W 'const cosine' -- \"$cur\")); return ;;\n"
          "    --loss) COMPREPLY=($(compgen -W 'rank mse' -- \"$cur\")); return ;;\n"
          "    --pairs) COMPREPLY=($(compgen -W 'batch task' -- \"$cur\")); return ;;\n"
          "    --split) COMPREPLY=($(compgen -W 'task record' -- \"$cur\")); return ;;\n"
          "    --failed) COMPREPLY=($(compgen -W 'keep demote' -- \"$cur\")); return ;;\n"
          "    --mode) COMPREPLY=($(compgen -W 'cpu gpu' -- \"$cur\")); return ;;\n"
          "    --head|--heads)\n"
          "        [ -n \"$model\" ] && COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" --heads \"$model\" 2>/dev/null)\" -- \"$cur\"))\n"
          "        return ;;\n"
          "    --epochs|--batch|--lr|--group|--average|--val|--seed|--threads|-j|--k|--fold|--except-fold|--size) "
          "return ;;\n"
          "    esac\n"
          "    if [ -z \"$sub\" ] && [[ $cur != -* ]]; then\n"
          "        COMPREPLY=($(compgen -W '",
          f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
    fputs("' -- \"$cur\") $(compgen -f -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        local opts=\"--help\"\n"
          "        case $sub in\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const cli_cmd *c = cmds[i].cmd;
        fprintf(f, "        %s) opts=\"$opts", c->name);
        words_of(f, c->opts);
        if (c->data) words_of(f, CLI_DATA_OPTS);
        fputs("\" ;;\n", f);
    }
    fputs("        *) opts=\"--help --version --model\" ;;\n"
          "        esac\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "}\n"
          "complete -o filenames -o bashdefault -F _tlpx tlpx ./tlpx\n",
          f);
}
