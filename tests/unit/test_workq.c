/*
 * test_workq.c - the thread pool: work() off the loop's thread, done()
 * on it, every job delivered exactly once, also when the pool stops with
 * jobs still queued.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "anvil/error.h"
#include "workq.h"

#define NJOBS	2000

struct tjob {
	struct workq_job	 job;	/* first: the job is the struct */
	pthread_t		 worker;
	uint64_t		 in, out;
	int			 done_calls;
	int			 on_loop;
	int			 sleep_ms;
};

static pthread_t	 loop_thread;
static int		 delivered;
static struct event_base *base;

static void
tjob_work(struct workq_job *j)
{
	struct tjob		*t = (struct tjob *)j;
	struct timespec		 ts;
	uint64_t		 x = t->in;
	int			 i;

	t->worker = pthread_self();
	for (i = 0; i < 1000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	t->out = x;
	if (t->sleep_ms > 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = (long)t->sleep_ms * 1000000L;
		(void)nanosleep(&ts, NULL);
	}
}

static void
tjob_done(struct workq_job *j)
{
	struct tjob	*t = (struct tjob *)j;

	t->done_calls++;
	t->on_loop = pthread_equal(pthread_self(), loop_thread);
	delivered++;
}

static uint64_t
expected(uint64_t x)
{
	int	 i;

	for (i = 0; i < 1000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static void
test_invalid(void **state)
{
	struct workq	*q = (struct workq *)1;

	(void)state;
	assert_int_equal(workq_new(NULL, 2, &q), ANVIL_EINVAL);
	assert_null(q);
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(workq_new(base, 0, &q), ANVIL_EINVAL);
	assert_int_equal(workq_new(base, 65, &q), ANVIL_EINVAL);
	workq_free(NULL);
	event_base_free(base);
}

/* Many jobs on 3 threads: each computed off the loop, delivered once on
 * it, and the pool drains to zero pending. */
static void
test_many_jobs(void **state)
{
	struct workq	*q = NULL;
	struct tjob	*t;
	struct timeval	 tick = { 0, 10000 };
	int		 i, off_loop = 0, rounds;

	(void)state;
	loop_thread = pthread_self();
	delivered = 0;
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(workq_new(base, 3, &q), 0);
	t = calloc(NJOBS, sizeof(*t));
	assert_non_null(t);
	for (i = 0; i < NJOBS; i++) {
		t[i].in = (uint64_t)i;
		t[i].job.work = tjob_work;
		t[i].job.done = tjob_done;
		assert_int_equal(workq_submit(q, &t[i].job), 0);
	}
	assert_int_equal(workq_pending(q), NJOBS);
	/* Bounded: 500 passes of at most 10 ms. */
	for (rounds = 0; delivered < NJOBS && rounds < 500; rounds++) {
		assert_int_equal(event_base_loopexit(base, &tick), 0);
		assert_int_equal(event_base_dispatch(base), 0);
	}
	assert_int_equal(delivered, NJOBS);
	assert_int_equal(workq_pending(q), 0);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_true(t[i].on_loop);
		assert_true(t[i].out == expected((uint64_t)i));
		if (!pthread_equal(t[i].worker, loop_thread))
			off_loop++;
	}
	assert_int_equal(off_loop, NJOBS);
	workq_free(q);
	assert_int_equal(delivered, NJOBS);
	free(t);
	event_base_free(base);
}

/* Two threads, slow jobs: both threads take work. */
static void
test_parallel(void **state)
{
	struct workq	*q = NULL;
	struct tjob	 t[8];
	struct timeval	 tick = { 0, 10000 };
	int		 i, rounds, other = 0;

	(void)state;
	loop_thread = pthread_self();
	delivered = 0;
	memset(t, 0, sizeof(t));
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(workq_new(base, 2, &q), 0);
	for (i = 0; i < 8; i++) {
		t[i].sleep_ms = 20;
		t[i].job.work = tjob_work;
		t[i].job.done = tjob_done;
		assert_int_equal(workq_submit(q, &t[i].job), 0);
	}
	for (rounds = 0; delivered < 8 && rounds < 500; rounds++) {
		assert_int_equal(event_base_loopexit(base, &tick), 0);
		assert_int_equal(event_base_dispatch(base), 0);
	}
	assert_int_equal(delivered, 8);
	for (i = 1; i < 8; i++)
		if (!pthread_equal(t[i].worker, t[0].worker))
			other++;
	assert_true(other > 0);
	workq_free(q);
	event_base_free(base);
}

/* Freed with jobs queued and never a loop pass: every job still runs
 * and is delivered, by workq_free on this thread. */
static void
test_free_delivers(void **state)
{
	struct workq	*q = NULL;
	struct tjob	 t[16];
	int		 i;

	(void)state;
	loop_thread = pthread_self();
	delivered = 0;
	memset(t, 0, sizeof(t));
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(workq_new(base, 1, &q), 0);
	for (i = 0; i < 16; i++) {
		t[i].in = (uint64_t)i;
		t[i].sleep_ms = 2;
		t[i].job.work = tjob_work;
		t[i].job.done = tjob_done;
		assert_int_equal(workq_submit(q, &t[i].job), 0);
	}
	workq_free(q);
	assert_int_equal(delivered, 16);
	for (i = 0; i < 16; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_true(t[i].on_loop);
		assert_true(t[i].out == expected((uint64_t)i));
	}
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_many_jobs),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_free_delivers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
