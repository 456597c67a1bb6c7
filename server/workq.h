/*
 * workq.h - a pool of threads for CPU-bound work (signature checks,
 * signing) whose completions run back on the event loop's thread.
 *
 * The event loop is one thread; what it spends on crypto it cannot spend
 * on connections.  A job is submitted on the loop, its work() runs on a
 * pool thread, and its done() then runs on the loop, in a callback of the
 * loop's event_base, so done() may touch everything the loop owns.  The
 * job is the caller's memory (embed struct workq_job in your own struct):
 * no allocation per job.
 */
#ifndef ANVIL_SERVER_WORKQ_H
#define ANVIL_SERVER_WORKQ_H

#include <pthread.h>

#include <event2/event.h>

struct workq;

struct workq_job {
	/* Runs on a pool thread: must touch only what the job owns and
	 * what is safe to share (an EVP_PKEY used read-only, ...). */
	void			(*work)(struct workq_job *);
	/* Runs later on the loop's thread; may free the job. */
	void			(*done)(struct workq_job *);
	struct workq_job	*next;		/* the queue's; do not touch */
};

/*
 * Starts nthreads (1..64) threads, with every signal blocked, whose
 * completions are delivered on base.  Returns 0, ANVIL_EINVAL,
 * ANVIL_ENOMEM or ANVIL_EIO; *ret is owned by the caller (workq_free).
 */
int	workq_new(struct event_base *base, int nthreads, struct workq **ret);

/*
 * Empties the non-blocking wake-up pipe fd before its work is looked at
 * (workq's own, and the VA's, which delivers results the same way).
 */
void	workq_pipe_drain(int fd);

/*
 * Queues job (work and done set).  From the loop's thread only.  Returns
 * 0, or ANVIL_EINVAL once workq_free has begun (the job is not queued).
 */
int	workq_submit(struct workq *q, struct workq_job *job);

/*
 * pthread_create with every signal blocked in the new thread, so that
 * signals reach the daemon's main thread only (the pool's threads, the
 * VA's and the revocation worker start this way).  Returns 0 or
 * ANVIL_ENOMEM.
 */
int	workq_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Jobs submitted and whose done() has not run yet. */
size_t	workq_pending(const struct workq *q);

/*
 * Runs every queued job to its end, stops the threads, then calls done()
 * of every job not delivered yet, on the calling thread (the loop's):
 * no job is lost.  Accepts NULL.
 */
void	workq_free(struct workq *q);

#endif
