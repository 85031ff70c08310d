/*
 * job.c: background jobs, as redis's bio.c: one worker thread runs a job's
 * work (a training, train.c, or a prediction, predict.c) while the caller's
 * loop goes on.  The worker publishes a progress snapshot under a mutex and
 * wakes the caller by writing a byte to a pipe the caller polls
 * (tlp_job_fd); a cancel is an atomic flag the work checks between steps.
 * The caller reads snapshots, never the work itself, until tlp_job_finish
 * has joined the worker and handed the result over.
 */
#include "train/train_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tlp_job {
    pthread_t thread;
    pthread_mutex_t mu;
    int pipe[2];
    atomic_int cancel;
    tlp_progress prog; /* guarded by mu */
    const tlp__job_kind *kind;
    void *work;
    int joined;
};

static void *worker(void *arg)
{
    tlp_job *j = arg;
    j->kind->run(j, j->work);
    return NULL;
}

tlp_job *tlp__job_start(const tlp__job_kind *k, void *work, const tlp_progress *first, tlp_error *err)
{
    tlp_job *j = calloc(1, sizeof *j);
    if (!j) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    j->kind = k;
    j->work = work;
    j->prog = *first;
    if (pipe(j->pipe) != 0) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start a job: no pipe");
        free(j);
        return NULL;
    }
    /* a full pipe means the reader is behind: a wake-up is pending anyway */
    fcntl(j->pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(j->pipe[1], F_SETFL, O_NONBLOCK);
    pthread_mutex_init(&j->mu, NULL);
    if (pthread_create(&j->thread, NULL, worker, j) != 0) {
        tlp_error_set(err, TLP_NOMEM, NULL, 0, "cannot start the job's thread");
        pthread_mutex_destroy(&j->mu);
        close(j->pipe[0]), close(j->pipe[1]);
        free(j);
        return NULL;
    }
    return j;
}

void tlp__job_publish(tlp_job *j, const tlp_progress *p)
{
    pthread_mutex_lock(&j->mu);
    j->prog = *p;
    pthread_mutex_unlock(&j->mu);
    char b = 1;
    if (write(j->pipe[1], &b, 1) < 0) { /* full pipe: the reader is behind, fine */
    }
}

int tlp__job_cancelled(tlp_job *j) { return atomic_load(&j->cancel); }

static void join(tlp_job *j)
{
    if (j->joined) return;
    pthread_join(j->thread, NULL);
    j->joined = 1;
}

void *tlp__job_result(tlp_job *j, const tlp__job_kind *k)
{
    if (j->kind != k) return NULL;
    join(j);
    return j->work;
}

void tlp_job_progress(tlp_job *j, tlp_progress *out)
{
    pthread_mutex_lock(&j->mu);
    *out = j->prog;
    pthread_mutex_unlock(&j->mu);
}

int tlp_job_fd(const tlp_job *j) { return j->pipe[0]; }
void tlp_job_cancel(tlp_job *j) { atomic_store(&j->cancel, 1); }

tlp_status tlp_job_finish(tlp_job *j, tlp_model **best, tlp_train_meta *meta, tlp_train_state *state,
                          tlp_error *err)
{
    join(j);
    tlp_status s = j->kind->finish(j->work, best, meta, state, err);
    j->kind->drop(j->work);
    close(j->pipe[0]), close(j->pipe[1]);
    pthread_mutex_destroy(&j->mu);
    free(j);
    return s;
}
