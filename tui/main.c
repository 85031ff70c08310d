/* main.c: `tlpx [SUBCOMMAND] ...`.  Subcommands are table-driven: one list
 * gives the name, the function and the one-line help. */
#include "cli.h"
#include "explore.h"

#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMANDS(X)                                                                  \
    X("explore", cmd_explore, "the interactive explorer (the default when the first argument is data)")  \
    X("stats", cmd_stats, "per-hardware counts: tasks, records, failures, steps, crop")  \
    X("tokens", cmd_tokens, "one schedule's primitives beside its TLP feature tokens")   \
    X("features", cmd_features, "write features/labels/costs as .npy and an index .tsv")                 \
    X("train", cmd_train, "train TLP / MTL-TLP on records; write the best model")                       \
    X("eval", cmd_eval, "top-k scores, pairwise accuracy and Kendall's tau of a model")                 \
    X("predict", cmd_predict, "a TSV of predicted scores and ranks for every record")                   \
    X("best", cmd_best, "the best valid record of every task, as TVM records (TVM's distill)")

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} CMDS[] = {
#define X(n, f, h) {n, f, h},
    COMMANDS(X)
#undef X
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tlpx SUBCOMMAND [ARGS...]\n\n"
               "Explore Ansor/TenSet measure records through the TLP cost model.\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof CMDS / sizeof *CMDS; i++) fprintf(f, "  %-10s %s\n", CMDS[i].name, CMDS[i].help);
    fprintf(f, "\n`tlpx SUBCOMMAND --help` tells more.  DATA arguments are record files or\n"
               "directories (read recursively); NAME=PATH names the hardware of PATH.\n");
}

/* The embedded demo: assets/ beside the binary (the build tree), or where
 * TLPX_ASSETS points.  Returns 0 and fills dir when found. */
static int find_assets(char *dir, size_t cap)
{
    const char *env = getenv("TLPX_ASSETS");
    struct stat sb;
    char probe[4200];
    if (env && *env) {
        snprintf(dir, cap, "%s", env);
        return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(probe, sizeof probe, "%.4000s/assets/demo-gpu.tlpx", exe);
        if (stat(probe, &sb) == 0) {
            snprintf(dir, cap, "%.4000s/assets", exe);
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        char dir[4096];
        if (find_assets(dir, sizeof dir) != 0) return cmd_explore(argc, argv); /* says how to give data */
        char a1[4200], a2[4200], a3[4200], a4[4200];
        snprintf(a1, sizeof a1, "%s/demo/hw-a", dir);
        snprintf(a2, sizeof a2, "%s/demo/hw-b", dir);
        snprintf(a3, sizeof a3, "%s/demo/cpu-c", dir);
        snprintf(a4, sizeof a4, "%s/demo-gpu.tlpx", dir);
        char *args[] = {argv[0], a1, a2, a3, (char *)"--model", a4, NULL};
        return cmd_explore(6, args);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tlpx %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof CMDS / sizeof *CMDS; i++)
        if (strcmp(argv[1], CMDS[i].name) == 0) return CMDS[i].fn(argc - 1, argv + 1);
    struct stat sb;
    int looks_like_data = strchr(argv[1], '/') || strchr(argv[1], '=') || stat(argv[1], &sb) == 0;
    if ((argv[1][0] != '-' && looks_like_data) || !strcmp(argv[1], "--model") || !strcmp(argv[1], "--script"))
        return cmd_explore(argc, argv); /* `tlpx DATA...` opens the explorer */
    if (argv[1][0] != '-') {
        fprintf(stderr, "tlpx: \"%s\" is neither a subcommand nor a file or directory\n\n", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    fprintf(stderr, "tlpx: unknown option \"%s\"\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
