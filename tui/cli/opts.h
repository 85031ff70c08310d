/* opts.h: one option table per subcommand.
 *
 * Each subcommand lists its options once (name, value, help) in a cli_cmd;
 * cli_parse checks argv against it (unknown options, missing values) and
 * hands each option and positional argument to the command's callback, and
 * --help prints the same table.  Commands that read DATA also take the data
 * options (CLI_DATA_OPTS), handled here.  The man page and completion can be
 * made from the same tables (cli_cmds). */
#ifndef TLPX_OPTS_H
#define TLPX_OPTS_H

#include "cli.h"

typedef struct {
    const char *name;  /* "--epochs" */
    const char *alias; /* "-q", or NULL */
    const char *arg;   /* the value's name ("N"), NULL for a flag */
    const char *help;  /* one line; a value list in it is for people */
} cli_opt;

typedef struct {
    const char *name;     /* "train" */
    const char *synopsis; /* "DATA... --out MODEL [OPTIONS]" */
    const char *about;    /* a paragraph: what it does */
    const cli_opt *opts;  /* its own options, ending with {NULL} */
    int data;             /* reads DATA: also takes CLI_DATA_OPTS */
} cli_cmd;

extern const cli_opt CLI_DATA_OPTS[];
/* Options that several commands take, each written once; WHAT is what does
 * not change with them ("scores", "orders"). */
#define CLI_OPT_HEAD(VERB)                                                                                             \
    {"--head", NULL, "HW", VERB " every task with this head (default: each task by its hardware's head, else head 0)"}
#define CLI_OPT_EXACT_PADDING(WHAT)                                                                                    \
    {"--exact-padding", NULL, NULL,                                                                                    \
     "compute every padding row, as TLP does (the reference; default: once, weighted by their count: the same " WHAT  \
     " to rounding)"}
#define CLI_OPT_THREADS(WHAT)                                                                                          \
    {"--threads", "-j", "N", "threads (default: every CPU, at most 16; the " WHAT " are the same for any number)"}
/* Every subcommand's table, for the man page and completion. */
extern const cli_cmd EXPLORE_CMD, STATS_CMD, TOKENS_CMD, FEATURES_CMD, TRAIN_CMD, EVAL_CMD, PREDICT_CMD, REPLAY_CMD,
    BEST_CMD, PACK_CMD, ENSEMBLE_CMD, SERVE_CMD;

/* One subcommand of tlpx: its name, the function, a line of help, its table.
 * The list of them is tui/main.c's (the explorer is one of them). */
typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
    const cli_cmd *cmd;
} cli_subcommand;

/* The man page tlpx(1), in roff, from the n subcommands' tables. */
/* The man page; keys (may be NULL) writes its KEYS section's entries. */
void cli_man(FILE *f, const cli_subcommand *cmds, size_t n, void (*keys)(FILE *f));
/* s as roff text: a leading . or ' escaped, backslashes and hyphens too. */
void cli_roff(FILE *f, const char *s);
/* A bash completion script for tlpx, from the n subcommands' tables. */
void cli_bash_completion(FILE *f, const cli_subcommand *cmds, size_t n);

/* Called for each option given (o: its table entry, val: its value or NULL)
 * and each positional argument (o NULL, val the argument).  Returns 0 to go
 * on, else the exit status (after printing why). */
typedef int (*cli_opt_fn)(void *ctx, const cli_opt *o, const char *val);

/* Parse argv[1..argc) against cmd.  Returns -1 when the command should run,
 * else the exit status to return (0 after --help, EXIT_USAGE after an
 * unknown option or a missing value, or what fn returned). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_data_opts *data, cli_opt_fn fn, void *ctx);
/* cli_parse for a command of DATA... and --out PATH: data->paths is
 * allocated (caller frees), *out set; its other options go to more (may be
 * NULL when it has none).  Returns -1 to run. */
int cli_parse_data_out(const cli_cmd *cmd, int argc, char **argv, cli_data_opts *data, const char **out,
                       cli_opt_fn more, void *more_ctx);
/* Print cmd's usage and option table to f. */
void cli_help(const cli_cmd *cmd, FILE *f);
/* Print "tlpx CMD: MESSAGE" then the usage line to stderr; returns EXIT_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Value parsers: 0 when s is a whole number in [lo, hi] (a real number in
 * (lo, hi) for cli_double); otherwise print what is wrong and return -1. */
int cli_long(const cli_cmd *cmd, const cli_opt *o, const char *s, long lo, long hi, long *out);
int cli_double(const cli_cmd *cmd, const cli_opt *o, const char *s, double lo, double hi, double *out);
/* The index of s in the NULL-terminated list of choices, or -1 after
 * printing the choices. */
int cli_choice(const cli_cmd *cmd, const cli_opt *o, const char *s, const char *const *choices);
/* "K/N" (1 <= K <= N <= 1000) into 0-based fold and count. */
int cli_fold(const cli_cmd *cmd, const cli_opt *o, const char *s, int *fold, int *n_folds);

#endif
