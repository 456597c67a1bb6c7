/*
 * workq.c - the thread pool of workq.h.
 *
 * Two singly linked FIFO lists under one mutex: todo (submitted, not
 * taken) and finished (work() done, done() not yet run).  A thread that
 * puts a job on an empty finished list writes one byte to a pipe; the
 * loop's read callback empties the pipe first, then takes the whole
 * finished list and runs each done().  Emptying first means a job that
 * finishes after the list was taken finds it empty and writes again, so
 * no completion waits for another; a byte for a list already taken only
 * costs an empty callback.  One byte per batch of completions, not per
 * job, keeps the loop's syscalls down under load.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "anvil/error.h"
#include "workq.h"

struct jlist {
	struct workq_job	*head, *tail;
};

struct workq {
	struct event		*wakeup;	/* read end of the pipe */
	int			 pipe[2];
	pthread_t		*threads;
	int			 nthreads;	/* started */
	size_t			 pending;	/* loop thread only */

	pthread_mutex_t		 lock;		/* protects what follows */
	pthread_cond_t		 cond;		/* todo grew, or stop */
	int			 stop;
	struct jlist		 todo, finished;
};

static void
jlist_push(struct jlist *l, struct workq_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct workq_job *
jlist_pop(struct jlist *l)
{
	struct workq_job *j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

/* Takes the whole list, leaving it empty. */
static struct workq_job *
jlist_take(struct jlist *l)
{
	struct workq_job *j = l->head;

	l->head = l->tail = NULL;
	return j;
}

static void *
thread_main(void *arg)
{
	struct workq		*q = arg;
	struct workq_job	*j;
	char			 c = 1;
	ssize_t			 n;
	int			 first;

	(void)pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->todo.head == NULL && !q->stop)
			(void)pthread_cond_wait(&q->cond, &q->lock);
		/* stop waits for the queue to drain. */
		j = jlist_pop(&q->todo);
		if (j == NULL)
			break;
		(void)pthread_mutex_unlock(&q->lock);
		j->work(j);
		(void)pthread_mutex_lock(&q->lock);
		first = q->finished.head == NULL;
		jlist_push(&q->finished, j);
		if (first && !q->stop) {
			/*
			 * Not under the lock: the loop would wait for the
			 * write to take its results or submit a job.  A wakeup
			 * that finds the list taken already is harmless; none
			 * is missed, as the loop empties the pipe before it
			 * takes the list.  A full pipe means a wakeup is
			 * pending already.
			 */
			(void)pthread_mutex_unlock(&q->lock);
			n = write(q->pipe[1], &c, 1);
			(void)n;
			(void)pthread_mutex_lock(&q->lock);
		}
	}
	(void)pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Runs done() of every finished job, on the calling (loop) thread. */
static void
deliver(struct workq *q)
{
	struct workq_job	*j, *next;

	(void)pthread_mutex_lock(&q->lock);
	j = jlist_take(&q->finished);
	(void)pthread_mutex_unlock(&q->lock);
	for (; j != NULL; j = next) {
		next = j->next;
		q->pending--;
		j->done(j);
	}
}

void
workq_pipe_drain(int fd)
{
	char	 buf[256];

	/* A read that does not fill buf took all there was: no second
	 * read just to see it fail with EAGAIN.  A byte written after it
	 * makes fd readable again. */
	while (read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		continue;
}

/* The pipe's read callback: empties the pipe, then delivers. */
static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	workq_pipe_drain(fd);
	deliver(arg);
}

int
workq_new(struct event_base *base, int nthreads, struct workq **ret)
{
	struct workq	*q = NULL;
	int		 rc = ANVIL_ENOMEM, i;

	*ret = NULL;
	if (base == NULL || nthreads < 1 || nthreads > 64)
		return ANVIL_EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return ANVIL_ENOMEM;
	q->pipe[0] = q->pipe[1] = -1;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return ANVIL_ENOMEM;
	}
	if (pthread_cond_init(&q->cond, NULL) != 0) {
		(void)pthread_mutex_destroy(&q->lock);
		free(q);
		return ANVIL_ENOMEM;
	}
	q->threads = calloc((size_t)nthreads, sizeof(*q->threads));
	if (q->threads == NULL)
		goto out;
	rc = ANVIL_EIO;
	if (pipe2(q->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		goto out;
	q->wakeup = event_new(base, q->pipe[0], EV_READ | EV_PERSIST,
	    on_wakeup, q);
	if (q->wakeup == NULL || event_add(q->wakeup, NULL) != 0)
		goto out;
	for (i = 0; i < nthreads; i++) {
		rc = workq_thread_start(&q->threads[i], thread_main, q);
		if (rc != 0)
			goto out;
		q->nthreads++;
	}
	rc = 0;
out:
	if (rc != 0)
		workq_free(q);
	else
		*ret = q;
	return rc;
}

int
workq_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t	 all, old;
	int		 rc = 0;

	(void)sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return ANVIL_ENOMEM;
	if (pthread_create(t, NULL, fn, arg) != 0)
		rc = ANVIL_ENOMEM;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
workq_submit(struct workq *q, struct workq_job *job)
{
	(void)pthread_mutex_lock(&q->lock);
	if (q->stop) {
		(void)pthread_mutex_unlock(&q->lock);
		return ANVIL_EINVAL;
	}
	jlist_push(&q->todo, job);
	q->pending++;
	(void)pthread_mutex_unlock(&q->lock);
	/* After the unlock, so that the thread woken does not block on the
	 * lock still held; it checks the queue under the lock anyway. */
	(void)pthread_cond_signal(&q->cond);
	return 0;
}

size_t
workq_pending(const struct workq *q)
{
	return q->pending;
}

void
workq_free(struct workq *q)
{
	int	 i;

	if (q == NULL)
		return;
	(void)pthread_mutex_lock(&q->lock);
	q->stop = 1;
	(void)pthread_cond_broadcast(&q->cond);
	(void)pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nthreads; i++)
		(void)pthread_join(q->threads[i], NULL);
	/* No thread is left: every submitted job has finished. */
	deliver(q);
	if (q->wakeup != NULL)
		event_free(q->wakeup);
	if (q->pipe[0] >= 0)
		(void)close(q->pipe[0]);
	if (q->pipe[1] >= 0)
		(void)close(q->pipe[1]);
	free(q->threads);
	(void)pthread_cond_destroy(&q->cond);
	(void)pthread_mutex_destroy(&q->lock);
	free(q);
}
