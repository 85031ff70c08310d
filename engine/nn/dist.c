/*
 * dist.c: data-parallel training over MPI (built with --with-mpi; without
 * it every function here is the single-process case).
 *
 * The model cuts a training batch into a fixed number of shards whatever
 * the thread count (model.c); with R ranks, rank r computes the forward and
 * backward of shards [S r / R, S (r + 1) / R).  The predictions of the whole
 * batch are shared (each entry is written by one rank, the others hold 0: a
 * sum over ranks is exact), so every rank computes the same LambdaRank loss
 * over the whole batch, as TLP does on several GPUs.  The gradients are
 * added up in shard order exactly as one process adds them: rank 0 sums its
 * shards, hands the running sum to rank 1, which adds its shards one by one,
 * and so on; the last rank broadcasts the total.  So R ranks give the same
 * bits as one process, and every rank takes the same optimiser step.
 */
#include "nn/nn_int.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;

int tlp_dist_init(int *argc, char ***argv)
{
#ifdef HAVE_MPI
    /* only under a launcher: a plain run needs no MPI at all */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return 0;
    /* the training worker thread makes the calls, one at a time */
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return -1;
    if (!inited && provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return 0;
#else
    (void)argc, (void)argv;
    return 0;
#endif
}

void tlp_dist_finish(void)
{
#ifdef HAVE_MPI
    int inited = 0, done = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&done);
    if (inited && !done) MPI_Finalize();
#endif
}

void tlp_dist_abort(int code)
{
#ifdef HAVE_MPI
    if (g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)code;
}

int tlp_dist_rank(void) { return g_rank; }
int tlp_dist_size(void) { return g_size; }

int tlp_dist_available(void)
{
#ifdef HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int tlp__dist_any(int flag)
{
#ifdef HAVE_MPI
    if (g_size > 1) MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
    return flag;
}

void tlp__dist_shards(int S, int *lo, int *hi)
{
    *lo = (int)((long)S * g_rank / g_size);
    *hi = (int)((long)S * (g_rank + 1) / g_size);
}

void tlp__dist_share(float *x, size_t n)
{
#ifdef HAVE_MPI
    if (g_size > 1) MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)x, (void)n;
#endif
}

void tlp__dist_sum_shards(float *g, const float *extra, size_t np, int lo, int hi)
{
    /* this rank's shards onto the running sum: g holds shard 0's gradients
     * on the rank that computed it; a rank after it first receives the sum
     * of every shard before lo into g */
    int owns0 = lo == 0 && hi > 0;
#ifdef HAVE_MPI
    const size_t CH = 1u << 28; /* MPI counts are ints */
    if (g_size > 1 && g_rank > 0) {
        /* the owner of shard 0 takes its running sum from g itself: what
         * the ranks before it send (their zeroed gradients) is dropped */
        float *into = owns0 ? malloc(sizeof(float) * (np ? np : 1)) : g;
        if (!into) MPI_Abort(MPI_COMM_WORLD, 1);
        for (size_t off = 0; off < np; off += CH)
            MPI_Recv(into + off, (int)(np - off < CH ? np - off : CH), MPI_FLOAT, g_rank - 1, 7, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        if (owns0) free(into);
    }
#endif
    int first = owns0 ? 1 : lo;
    if (hi > first) {
#pragma omp parallel for num_threads(tlp_get_threads()) schedule(static)
        for (size_t i = 0; i < np; i++) {
            float v = g[i];
            for (int s = first; s < hi; s++) v += extra[(size_t)(s - 1) * np + i];
            g[i] = v;
        }
    }
#ifdef HAVE_MPI
    if (g_size > 1) {
        if (g_rank < g_size - 1)
            for (size_t off = 0; off < np; off += CH)
                MPI_Send(g + off, (int)(np - off < CH ? np - off : CH), MPI_FLOAT, g_rank + 1, 7, MPI_COMM_WORLD);
        for (size_t off = 0; off < np; off += CH)
            MPI_Bcast(g + off, (int)(np - off < CH ? np - off : CH), MPI_FLOAT, g_size - 1, MPI_COMM_WORLD);
    }
#endif
}
