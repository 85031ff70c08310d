/* main.c: `tlpx [SUBCOMMAND] ...`.  Subcommands are table-driven: one list
 * gives the name, the function, the one-line help and the option table
 * (which also makes --help, the man page and the bash completion). */
#include "cli/cli.h"
#include "explore/explore.h"
#include "cli/opts.h"

#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_subcommand CMDS[] = {
    {"explore", cmd_explore, "the interactive explorer (the default when the first argument is data)", &EXPLORE_CMD},
    {"stats", cmd_stats, "per-hardware counts: tasks, records, failures, steps, crop", &STATS_CMD},
    {"tokens", cmd_tokens, "one schedule's primitives beside its TLP feature tokens", &TOKENS_CMD},
    {"features", cmd_features, "write features/labels/costs as .npy and an index .tsv", &FEATURES_CMD},
    {"train", cmd_train, "train TLP / MTL-TLP on records; write the model", &TRAIN_CMD},
    {"eval", cmd_eval, "top-k (mean, pooled, random, failed picks), pairwise accuracy, Kendall's tau", &EVAL_CMD},
    {"predict", cmd_predict, "a TSV of predicted scores and ranks for every record", &PREDICT_CMD},
    {"replay", cmd_replay, "trials a tuner would spend to near the best: the log's order vs the model's", &REPLAY_CMD},
    {"ensemble", cmd_ensemble, "trained models as one: their scores standardised per task and averaged", &ENSEMBLE_CMD},
    {"pack", cmd_pack, "parse records once into a packed store that every DATA argument takes, read whole", &PACK_CMD},
    {"best", cmd_best, "the best valid record of every task, as TVM records (TVM's distill)", &BEST_CMD},
    {"serve", cmd_serve, "a tuner's cost model: scores candidates, learns from measurements (a line protocol)", &SERVE_CMD},
};
static const size_t N_CMDS = sizeof CMDS / sizeof *CMDS;

static void usage(FILE *f)
{
    fprintf(f, "usage: tlpx SUBCOMMAND [ARGS...]\n\n"
               "Explore Ansor/TenSet measure records through the TLP cost model.\n\nsubcommands:\n");
    for (size_t i = 0; i < N_CMDS; i++) fprintf(f, "  %-10s %s\n", CMDS[i].name, CMDS[i].help);
    fprintf(f, "\n`tlpx` alone opens the explorer on the embedded default: real Ansor records of\n"
               "26 tasks on K80, V100 and MI50 and an MTL model trained without them\n"
               "(tlpx --assets says where).  `tlpx SUBCOMMAND --help` tells more.  DATA\n"
               "arguments are record files or directories (read recursively), plain or gzip'd,\n"
               "or stores made by tlpx pack;\n"
               "NAME=PATH names the hardware of PATH.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) return cmd_explore(argc, argv); /* the embedded default */
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tlpx %s%s\n", PACKAGE_VERSION, tlp_dist_available() ? " (with MPI)" : "");
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--assets") == 0) { /* where the embedded default is */
        char dir[4096];
        if (cli_assets_dir(dir, sizeof dir) != 0) {
            fprintf(stderr, "tlpx: no embedded default found (TLPX_ASSETS names one)\n");
            return EXIT_FAIL;
        }
        printf("%s\n", dir);
        return EXIT_OK;
    }
    /* made from the option tables at build time (Makefile.am) */
    if (strcmp(argv[1], "--man") == 0) {
        cli_man(stdout, CMDS, N_CMDS, explore_man_keys);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--completion") == 0 && argc == 3 && strcmp(argv[2], "bash") == 0) {
        cli_bash_completion(stdout, CMDS, N_CMDS);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--heads") == 0 && argc == 3) { /* for completion: the heads of a model */
        tlp_model *m = tlp_checkpoint_load(argv[2], NULL, NULL, NULL);
        if (!m) return EXIT_FAIL;
        for (int h = 0; h < tlp_model_config_of(m)->n_heads; h++) printf("%s\n", tlp_model_config_of(m)->heads[h]);
        tlp_model_free(m);
        return EXIT_OK;
    }
    for (size_t i = 0; i < N_CMDS; i++)
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
