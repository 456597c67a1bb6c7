/*
 * main.c - anvil-load: drives complete ACME issuances against a CA at a
 * fixed concurrency and reports throughput, per-step latency percentiles,
 * errors by problem type and its own CPU per issuance.
 *
 * The run has three phases, only the last one timed:
 *  1. a pool of P-256 certificate keys is generated (key generation is the
 *     client's business, not the CA's: measuring it would hide the
 *     server), --key-pool keys, cycled if the run needs more;
 *  2. every worker fetches the directory and creates its account (their
 *     newAccount latencies are reported, not counted in the throughput);
 *  3. all workers start issuing at once, until --count flows have been
 *     started or --seconds have passed; flows in flight then finish.
 * A run where nothing progresses for --stall-seconds is stopped and its
 * unfinished flows are counted as "stall" errors.
 *
 * The account of the machine over the timed phase: the CPU time of the
 * driver (getrusage), of --server-pid and of every --watch-pid (from
 * /proc/PID/stat), and the busy share of all CPUs (/proc/stat), each read
 * at the start and at the end of the timed phase only.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "load.h"

#define STALL_SECONDS 60	/* default of --stall-seconds */

struct run {
	struct bench	 b;
	struct rusage	 ru0;		/* at the start of the timed phase */
	long		 server_pid;	/* --server-pid, 0 if none */
	double		 server_cpu0;	/* its CPU seconds at the start */
	long		 watch_pid[LOAD_MAX_WATCH];	/* --watch-pid */
	struct pidstat	 watch0[LOAD_MAX_WATCH];	/* at the start */
	int		 watch0_ok[LOAD_MAX_WATCH];	/* watch0 was read */
	size_t		 n_watch;
	struct cpustat	 cpu0;		/* /proc/stat at the start */
	int		 cpu0_ok;
	struct event	*tick;		/* progress watchdog, every second */
	struct event	*sigint;
	uint64_t	 last_progress;	/* issued + errors at the last tick */
	double		 t_progress;	/* when it last changed */
	int		 stalled;
	unsigned	 stall_s;	/* --stall-seconds */
	unsigned	 n_ready;
};

static struct run run;

double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: anvil-load --directory URL [--ca-bundle FILE] "
	    "--http01-port P\n"
	    "                  (--count N | --seconds S) [--concurrency N]\n"
	    "                  [--names-suffix SUFFIX] [--poll-ms MS] "
	    "[--max-poll-wait MS]\n"
	    "                  [--key-pool N] [--max-errors N] "
	    "[--server-pid PID]\n"
	    "                  [--watch-pid PID]... [--stall-seconds S]\n"
	    "                  [--http01-delay MS] [--json] [--verbose]\n"
	    "  --http01-delay MS  answer each http-01 request MS ms after "
	    "reading it, as a\n"
	    "                     web server far away would (0-%u; "
	    "default 0)\n", (unsigned)LOAD_MAX_DELAY_MS);
}

/*
 * Reads the watched processes and /proc/stat at the start of the timed
 * phase.  A process that is not there is said once, on stderr.
 */
static void
watch_start(void)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < run.n_watch; i++) {
		rc = proc_pid_read(run.watch_pid[i], &run.watch0[i]);
		run.watch0_ok[i] = rc == 0;
		if (rc != 0)
			fprintf(stderr, "anvil-load: --watch-pid %ld: %s\n",
			    run.watch_pid[i], rc == ANVIL_ENOENT ?
			    "no such process" : anvil_strerror(rc));
	}
	run.cpu0_ok = proc_stat_read(&run.cpu0) == 0;
}

/*
 * Reads them again at the end and writes the figures of the timed phase
 * into r: w (n_watch entries) is r's watched array.  A process gone, or
 * replaced by another under its pid, has cpu_s -1.
 */
static void
watch_end(struct report *r, struct watched *w)
{
	struct pidstat	 ps;
	struct cpustat	 cs;
	size_t		 i;

	for (i = 0; i < run.n_watch; i++) {
		w[i].pid = run.watch_pid[i];
		w[i].comm[0] = '\0';
		w[i].cpu_s = -1;
		if (!run.watch0_ok[i])
			continue;
		memcpy(w[i].comm, run.watch0[i].comm, sizeof(w[i].comm));
		if (proc_pid_read(run.watch_pid[i], &ps) == 0)
			w[i].cpu_s = pidstat_cpu_s(&run.watch0[i], &ps);
	}
	r->watched = w;
	r->n_watched = run.n_watch;
	r->machine_cpus = 0;
	r->machine_busy_pct = -1;
	r->machine_busy_s = -1;
	if (run.cpu0_ok && proc_stat_read(&cs) == 0) {
		r->machine_busy_pct = cpustat_busy_pct(&run.cpu0, &cs);
		r->machine_busy_s = cpustat_busy_s(&run.cpu0, &cs);
		if (r->machine_busy_pct >= 0)
			r->machine_cpus = cs.ncpu;
	}
}

void
bench_worker_ready(struct bench *b, struct worker *w, int ok)
{
	unsigned	 i;

	run.t_progress = now_mono();
	if (ok)
		run.n_ready++;
	if (++b->n_setup_done < b->n_workers)
		return;
	if (run.n_ready == 0) {
		(void)event_base_loopbreak(b->base);
		return;
	}
	/* Everyone is ready: the timed phase starts now. */
	b->running = 1;
	watch_start();
	b->t_start = now_mono();
	(void)getrusage(RUSAGE_SELF, &run.ru0);
	if (run.server_pid > 0)
		run.server_cpu0 = proc_cpu_s(run.server_pid);
	b->n_active = run.n_ready;
	for (i = 0; i < b->n_workers; i++)
		worker_start(b->workers[i]);
}

int
bench_may_start(struct bench *b)
{
	if (!b->running)
		return 0;
	if (b->count > 0 && b->started >= b->count)
		return 0;
	if (b->count == 0 && now_mono() - b->t_start >= b->seconds)
		return 0;
	b->started++;
	return 1;
}

void
bench_worker_idle(struct bench *b)
{
	if (b->n_active > 0 && --b->n_active == 0) {
		b->t_end = now_mono();
		(void)event_base_loopbreak(b->base);
	}
}

void
bench_flow_failed(struct bench *b, const char *what)
{
	stats_error(&b->stats, what);
	if (b->stats.errors >= b->max_errors && b->running) {
		fprintf(stderr, "anvil-load: %llu errors, stopping\n",
		    (unsigned long long)b->stats.errors);
		b->running = 0;
	}
}

struct certkey *
bench_next_key(struct bench *b)
{
	struct certkey	*k = b->keys[b->next_key];

	b->next_key = (b->next_key + 1) % b->n_keys;
	return k;
}

const char *
bench_keyauth(struct bench *b, const char *token)
{
	const char	*ka;
	unsigned	 i;

	for (i = 0; i < b->n_workers; i++) {
		ka = worker_keyauth(b->workers[i], token);
		if (ka != NULL)
			return ka;
	}
	return NULL;
}

/* Every second: ends a run that has not moved for --stall-seconds. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = &run.b;
	uint64_t	 p = b->issued + b->stats.errors + b->n_setup_done +
	    b->stats.polls;
	double		 t = now_mono();

	if (p != run.last_progress) {
		run.last_progress = p;
		run.t_progress = t;
		return;
	}
	if (t - run.t_progress < run.stall_s)
		return;
	fprintf(stderr, "anvil-load: no progress for %u s, stopping\n",
	    run.stall_s);
	run.stalled = 1;
	b->running = 0;
	b->t_end = t;
	(void)event_base_loopbreak(b->base);
}

static void
on_sigint(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = &run.b;

	if (!b->running) {
		(void)event_base_loopbreak(b->base);
		return;
	}
	fprintf(stderr, "anvil-load: interrupted, finishing the flows in "
	    "flight (again to stop now)\n");
	b->running = 0;
}

/* Parses a positive integer option.  Returns 0 or -1. */
static int
num(const char *s, uint64_t max, uint64_t *ret)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max)
		return -1;
	*ret = v;
	return 0;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Generates the certificate key pool.  Returns 0 or an ANVIL_E* code. */
static int
make_keys(struct bench *b, size_t n)
{
	size_t	 i;
	int	 rc;

	b->keys = calloc(n, sizeof(*b->keys));
	if (b->keys == NULL)
		return ANVIL_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = certkey_new(&b->keys[i]);
		if (rc != 0)
			return rc;
		b->n_keys++;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "directory", required_argument, NULL, 'd' },
		{ "ca-bundle", required_argument, NULL, 'c' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'N' },
		{ "seconds", required_argument, NULL, 's' },
		{ "http01-port", required_argument, NULL, 'p' },
		{ "names-suffix", required_argument, NULL, 'S' },
		{ "poll-ms", required_argument, NULL, 'P' },
		{ "max-poll-wait", required_argument, NULL, 'W' },
		{ "key-pool", required_argument, NULL, 'k' },
		{ "max-errors", required_argument, NULL, 'e' },
		{ "server-pid", required_argument, NULL, 'X' },
		{ "watch-pid", required_argument, NULL, 'w' },
		{ "stall-seconds", required_argument, NULL, 'T' },
		{ "http01-delay", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench		*b = &run.b;
	struct responder	*resp = NULL;
	struct report		 rep;
	struct watched		 watched[LOAD_MAX_WATCH];
	struct rusage		 ru1;
	struct timeval		 one = { 1, 0 };
	const char		*ca_bundle = NULL;
	uint64_t		 v, port = 0, pool = 0;
	double			 t0;
	unsigned		 i;
	int			 c, json = 0, rc = 1;

	b->concurrency = 1;
	b->suffix = "example.test";
	b->poll_ms = 50;
	b->max_wait_ms = 10000;
	b->max_errors = 100;
	run.stall_s = STALL_SECONDS;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': b->directory = optarg; break;
		case 'c': ca_bundle = optarg; break;
		case 'S': b->suffix = optarg; break;
		case 'j': json = 1; break;
		case 'v': b->verbose++; break;
		case 'h': usage(stdout); return 0;
		case 'n':
			if (num(optarg, LOAD_MAX_WORKERS, &v) != 0)
				goto bad;
			b->concurrency = (unsigned)v;
			break;
		case 'N':
			if (num(optarg, UINT64_MAX / 2, &b->count) != 0)
				goto bad;
			break;
		case 's':
			if (num(optarg, 86400, &v) != 0)
				goto bad;
			b->seconds = (double)v;
			break;
		case 'p':
			if (num(optarg, 65535, &port) != 0)
				goto bad;
			break;
		case 'P':
			if (num(optarg, 60000, &v) != 0)
				goto bad;
			b->poll_ms = (unsigned)v;
			break;
		case 'W':
			if (num(optarg, 600000, &v) != 0)
				goto bad;
			b->max_wait_ms = (unsigned)v;
			break;
		case 'k':
			if (num(optarg, 1000000, &pool) != 0)
				goto bad;
			break;
		case 'e':
			if (num(optarg, UINT64_MAX / 2, &b->max_errors) != 0)
				goto bad;
			break;
		case 'T':
			if (num(optarg, 3600, &v) != 0)
				goto bad;
			run.stall_s = (unsigned)v;
			break;
		case 'D':
			v = 0;
			if (strcmp(optarg, "0") != 0 &&
			    num(optarg, LOAD_MAX_DELAY_MS, &v) != 0)
				goto bad;
			b->http01_delay_ms = (unsigned)v;
			break;
		case 'X':
			if (num(optarg, 1UL << 30, &v) != 0)
				goto bad;
			run.server_pid = (long)v;
			break;
		case 'w':
			if (num(optarg, 1UL << 30, &v) != 0 ||
			    run.n_watch == LOAD_MAX_WATCH)
				goto bad;
			run.watch_pid[run.n_watch++] = (long)v;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc || b->directory == NULL || port == 0 ||
	    (b->count == 0) == (b->seconds == 0) ||
	    anvil_dns_name_check(b->suffix, 0) != 0 ||
	    strlen(b->suffix) > ANVIL_MAX_NAME_LEN - 20)
		goto bad;
	if (pool == 0)
		pool = b->count > 0 && b->count < 2000 ? b->count : 2000;
	/* A key's CSR skeleton serves one flow at a time. */
	if (pool < 2 * (uint64_t)b->concurrency)
		pool = 2 * (uint64_t)b->concurrency;

	signal(SIGPIPE, SIG_IGN);
	if (strncmp(b->directory, "https:", 6) == 0) {
		b->ssl = SSL_CTX_new(TLS_client_method());
		if (b->ssl == NULL)
			goto out;
		SSL_CTX_set_verify(b->ssl, SSL_VERIFY_PEER, NULL);
		if ((ca_bundle != NULL ? SSL_CTX_load_verify_locations(b->ssl,
		    ca_bundle, NULL) : SSL_CTX_set_default_verify_paths(
		    b->ssl)) != 1) {
			fprintf(stderr, "anvil-load: cannot load CA bundle "
			    "%s\n", ca_bundle != NULL ? ca_bundle : "(system)");
			goto out;
		}
	}
	b->base = event_base_new();
	if (b->base == NULL)
		goto out;
	rc = responder_new(b, (uint16_t)port, &resp);
	if (rc != 0) {
		fprintf(stderr, "anvil-load: cannot listen on 127.0.0.1:%llu: "
		    "%s\n", (unsigned long long)port, anvil_strerror(rc));
		rc = 1;
		goto out;
	}
	t0 = now_mono();
	rc = make_keys(b, (size_t)pool);
	if (rc != 0) {
		fprintf(stderr, "anvil-load: key generation: %s\n",
		    anvil_strerror(rc));
		rc = 1;
		goto out;
	}
	if (!json)
		fprintf(stderr, "anvil-load: %zu certificate keys generated in "
		    "%.2f s (not timed)\n", b->n_keys, now_mono() - t0);
	for (i = 0; i < b->concurrency; i++) {
		rc = worker_new(b, i, &b->workers[i]);
		if (rc != 0) {
			fprintf(stderr, "anvil-load: worker for %s: %s\n",
			    b->directory, anvil_strerror(rc));
			rc = 1;
			goto out;
		}
		b->n_workers++;
	}
	run.tick = event_new(b->base, -1, EV_PERSIST, on_tick, NULL);
	run.sigint = evsignal_new(b->base, SIGINT, on_sigint, NULL);
	if (run.tick == NULL || run.sigint == NULL ||
	    event_add(run.tick, &one) != 0 || event_add(run.sigint, NULL) != 0)
		goto out;
	run.t_progress = now_mono();
	for (i = 0; i < b->n_workers; i++)
		worker_setup(b->workers[i]);
	rc = 1;
	if (event_base_dispatch(b->base) < 0)
		goto out;
	if (!b->running && b->t_start == 0) {
		fprintf(stderr, "anvil-load: no account could be created\n");
		stats_print_text(&b->stats, &(struct report){
		    .concurrency = b->concurrency,
		    .directory = b->directory, .server_cpu_s = -1 }, stderr);
		goto out;
	}
	if (b->t_end == 0)
		b->t_end = now_mono();
	(void)getrusage(RUSAGE_SELF, &ru1);
	if (run.stalled)
		for (i = 0; i < b->n_active; i++)
			stats_error(&b->stats, "stall");
	memset(&rep, 0, sizeof(rep));
	rep.concurrency = b->concurrency;
	rep.issuances = b->issued;
	rep.seconds = b->t_end - b->t_start;
	rep.cpu_user_s = tv_s(&ru1.ru_utime) - tv_s(&run.ru0.ru_utime);
	rep.cpu_sys_s = tv_s(&ru1.ru_stime) - tv_s(&run.ru0.ru_stime);
	rep.maxrss_kb = ru1.ru_maxrss;
	rep.directory = b->directory;
	rep.server_cpu_s = -1;
	rep.server_hwm_kb = -1;
	if (run.server_pid > 0) {
		t0 = proc_cpu_s(run.server_pid);
		if (t0 >= 0 && run.server_cpu0 >= 0)
			rep.server_cpu_s = t0 - run.server_cpu0;
		rep.server_hwm_kb = proc_hwm_kb(run.server_pid);
	}
	watch_end(&rep, watched);
	if (json) {
		if (stats_print_json(&b->stats, &rep, stdout) != 0)
			goto out;
	} else
		stats_print_text(&b->stats, &rep, stdout);
	rc = b->stats.errors > 0 || run.stalled || b->issued == 0 ? 1 : 0;
	goto out;
bad:
	usage(stderr);
	return 2;
out:
	if (rc != 0 && ERR_peek_error() != 0)
		ERR_print_errors_fp(stderr);
	for (i = 0; i < b->n_workers; i++)
		worker_free(b->workers[i]);
	responder_free(resp);
	if (run.tick != NULL)
		event_free(run.tick);
	if (run.sigint != NULL)
		event_free(run.sigint);
	for (i = 0; i < b->n_keys; i++)
		certkey_free(b->keys[i]);
	free(b->keys);
	issuers_done(&b->issuers);
	load_crypto_done();
	stats_done(&b->stats);
	if (b->base != NULL)
		event_base_free(b->base);
	SSL_CTX_free(b->ssl);
	return rc;
}
