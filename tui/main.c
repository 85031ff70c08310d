/* main.c: `tlpx [SUBCOMMAND] ...`.  Subcommands are table-driven: one list
 * gives the name, the function and the one-line help. */
#include "cli.h"
#include "explore.h"

#include <string.h>
#include <sys/stat.h>

#define COMMANDS(X)                                                                  \
    X("explore", cmd_explore, "the interactive explorer (the default when the first argument is data)")  \
    X("stats", cmd_stats, "per-hardware counts: tasks, records, failures, steps, crop")  \
    X("tokens", cmd_tokens, "one schedule's primitives beside its TLP feature tokens")   \
    X("features", cmd_features, "write features/labels/costs as .npy and an index .tsv")                 \
    X("train", cmd_train, "train TLP / MTL-TLP on records; write the best model")                       \
    X("eval", cmd_eval, "top-k scores, pairwise accuracy and Kendall's tau of a model")                 \
    X("predict", cmd_predict, "a TSV of predicted scores and ranks for every record")

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

int main(int argc, char **argv)
{
    if (argc < 2) return cmd_explore(argc, argv);
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
