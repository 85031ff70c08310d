/* cli.h: the command-line subcommands, clients of engine/tlp.h. */
#ifndef TLPX_CLI_H
#define TLPX_CLI_H

#include "tlp.h"

/* Exit statuses: 0 success, 1 failure (bad data, I/O), 2 usage error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_stats(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_ensemble(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Options every data-reading subcommand takes. */
typedef struct {
    const char **paths; /* DATA arguments, each PATH or NAME=PATH */
    int n_paths;
    const char *weights;
    int quiet;
    int n_folds, fold, fold_except; /* --fold / --except-fold K/N (fold 0-based) */
} cli_data_opts;

/* Load every DATA argument into a new dataset and finish it.  Prints the
 * first bad lines and a summary of skipped lines to stderr.  Returns NULL
 * (after printing why) when a path cannot be read or nothing loads. */
tlp_dataset *cli_load(const cli_data_opts *o);
/* Print "N lines skipped: 3 broken JSON, 1 bad step" to f (nothing if none). */
void cli_print_skipped(FILE *f, const tlp_dataset *ds);
/* An engine error on stderr: "WHO: FILE:LINE: why" (who: "tlpx", "tlpx train"), without the
 * parts it lacks. */
void cli_error(const char *who, const tlp_error *err);
/* Seconds as "12.3 us", "4.56 ms", "1.23 s", or "failed" at 1e10. */
void cli_fmt_seconds(double s, char *buf, size_t cap);
/* s as a whole number from lo to hi into *out: 0, or -1 (nothing printed). */
int cli_whole(const char *s, long lo, long hi, long *out);
/* s escaped for a terminal or a TSV field (tlp_escape), in one of 4 static
 * buffers used in turn: valid until the 4th call after. */
const char *cli_esc(const char *s);
/* Threads when none are asked: the CPUs online, at most 16. */
int cli_default_threads(void);

/* The embedded default (assets/): real Ansor records of three GPUs under
 * roller/<GPU>, and the MTL model CLI_DEFAULT_MODEL trained on other tasks.
 * cli_assets_dir fills dir with where it is (TLPX_ASSETS, beside the binary,
 * installed); -1 if nowhere. */
#define CLI_DEFAULT_MODEL "mtl-gpu.tlpx"
#define CLI_DEFAULT_GPUS {"K80", "V100", "MI50"}
/* The embedded model of each family (by tlp_mode: cpu, gpu), which the
 * explorer scores DATA with when no --model is given. */
#define CLI_EMBEDDED_MODELS {"xeon-cpu.tlpx", CLI_DEFAULT_MODEL}
int cli_assets_dir(char *dir, size_t cap);
/* A DATA argument as NAME=PATH (name: NAME, or "" for a plain PATH), when
 * the text before '=' looks like a name and no file is called arg itself;
 * *path points into arg. */
void cli_split_data_arg(const char *arg, char *name, size_t cap, const char **path);
/* Is out (an existing regular file) one of the files ds was read from
 * (the same device and inode)?  1 after saying so: a command never writes
 * over its own input (`pack rec.json --out rec.json`). */
int cli_out_is_input(const tlp_dataset *ds, const char *out, const char *cmd);
/* A task's operator: the length of its summary up to the first '(' or ' '
 * (conv2d_layer; a hashed key's file name, "MHA1-B128-int8"): eval --by-op
 * and the explorer's panel group by it. */
size_t cli_op_len(const char *summary);
/* Resolve "--task KEY|N" to a task index, or -1 after printing why. */
long cli_find_task(const tlp_dataset *ds, const char *spec);

#endif
