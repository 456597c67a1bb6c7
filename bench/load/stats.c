/*
 * stats.c - anvil-load's measurements: per-step latency samples, error
 * counts by problem type, and the report (text for people, --json for
 * scripts such as bench/compare).
 *
 * Every sample is kept (8 bytes each) and sorted once at the end, so the
 * percentiles are exact (nearest rank) rather than histogram estimates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static const char *const step_names[STEP__MAX] = {
	[STEP_ACCOUNT] = "newAccount",
	[STEP_ORDER] = "newOrder",
	[STEP_AUTHZ] = "authz",
	[STEP_CHALL] = "challenge->valid",
	[STEP_FINALIZE] = "finalize",
	[STEP_DOWNLOAD] = "download",
	[STEP_FLOW] = "flow",
};

const char *
step_name(enum step s)
{
	return s < STEP__MAX ? step_names[s] : NULL;
}

int
stats_add(struct stats *st, enum step s, double ms)
{
	struct samples	*v = &st->step[s];
	double		*p;
	size_t		 cap;

	if (v->n == v->cap) {
		cap = v->cap == 0 ? 1024 : v->cap * 2;
		if (cap > SIZE_MAX / sizeof(*p))
			return ANVIL_ENOMEM;
		p = realloc(v->v, cap * sizeof(*p));
		if (p == NULL)
			return ANVIL_ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = ms;
	return 0;
}

void
stats_error(struct stats *st, const char *name)
{
	size_t	 i;

	st->errors++;
	for (i = 0; i < STATS_MAX_ERRNAMES && st->err_name[i] != NULL; i++) {
		if (strcmp(st->err_name[i], name) == 0) {
			st->err_count[i]++;
			return;
		}
	}
	if (i == STATS_MAX_ERRNAMES) {
		st->err_other++;
		return;
	}
	st->err_name[i] = strdup(name);
	if (st->err_name[i] == NULL) {
		st->err_other++;
		return;
	}
	st->err_count[i] = 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100] of sorted samples; NAN if none. */
static double
pct(const struct samples *v, double p)
{
	size_t	 rank;

	if (v->n == 0)
		return NAN;
	rank = (size_t)ceil(p / 100.0 * (double)v->n);
	if (rank == 0)
		rank = 1;
	return v->v[rank - 1];
}

static void
sort_all(struct stats *st)
{
	size_t	 s;

	for (s = 0; s < STEP__MAX; s++)
		if (st->step[s].n > 1)
			qsort(st->step[s].v, st->step[s].n, sizeof(double),
			    cmp_double);
}

static double
rate(const struct report *r)
{
	return r->seconds > 0 ? (double)r->issuances / r->seconds : 0;
}

static double
cpu_ms_per(const struct report *r)
{
	return r->issuances > 0 ? (r->cpu_user_s + r->cpu_sys_s) * 1000.0 /
	    (double)r->issuances : NAN;
}

/* Milliseconds per issuance of cpu_s seconds; NAN if cpu_s is unknown
 * (negative) or nothing was issued. */
static double
ms_per(const struct report *r, double cpu_s)
{
	return cpu_s >= 0 && r->issuances > 0 ? cpu_s * 1000.0 /
	    (double)r->issuances : NAN;
}

/* The machine's lines of the text report: watched processes, busy share
 * and what no measured process accounts for. */
static void
print_machine(const struct report *r, FILE *f)
{
	const struct watched	*w;
	double			 rest;
	size_t			 i;

	for (i = 0; i < r->n_watched; i++) {
		w = &r->watched[i];
		if (w->cpu_s >= 0)
			fprintf(f, "watched %s (pid %ld) CPU: %.3f ms per "
			    "issuance\n", w->comm, w->pid, ms_per(r, w->cpu_s));
		else
			fprintf(f, "watched %s (pid %ld) CPU: unknown (%s)\n",
			    w->comm[0] != '\0' ? w->comm : "-", w->pid,
			    w->comm[0] != '\0' ? "gone during the run" :
			    "not there at the start");
	}
	if (r->machine_cpus == 0) {
		fprintf(f, "machine: busy share unknown\n");
		return;
	}
	fprintf(f, "machine: %u CPUs %.1f %% busy, %.3f ms CPU per issuance",
	    r->machine_cpus, r->machine_busy_pct, ms_per(r,
	    r->machine_busy_s));
	/* What the driver, the server and the watched did not use. */
	rest = r->machine_busy_s - r->cpu_user_s - r->cpu_sys_s;
	if (r->server_cpu_s >= 0)
		rest -= r->server_cpu_s;
	for (i = 0; i < r->n_watched; i++)
		if (r->watched[i].cpu_s >= 0)
			rest -= r->watched[i].cpu_s;
	if (r->issuances > 0)
		fprintf(f, " (%.3f of them not by the processes above)",
		    rest * 1000.0 / (double)r->issuances);
	fprintf(f, "\n");
}

void
stats_print_text(struct stats *st, const struct report *r, FILE *f)
{
	const struct samples	*v;
	size_t			 s, i;

	sort_all(st);
	fprintf(f, "anvil-load: %s\n", r->directory);
	fprintf(f, "concurrency %u: %llu issuances in %.2f s = %.1f "
	    "issuances/s\n", r->concurrency,
	    (unsigned long long)r->issuances, r->seconds, rate(r));
	fprintf(f, "%-18s %7s %9s %9s %9s %9s\n", "step (ms)", "n", "p50",
	    "p90", "p99", "max");
	for (s = 0; s < STEP__MAX; s++) {
		v = &st->step[s];
		if (v->n == 0) {
			fprintf(f, "%-18s %7zu\n", step_names[s], v->n);
			continue;
		}
		fprintf(f, "%-18s %7zu %9.2f %9.2f %9.2f %9.2f\n",
		    step_names[s], v->n, pct(v, 50), pct(v, 90), pct(v, 99),
		    v->v[v->n - 1]);
	}
	fprintf(f, "errors: %llu", (unsigned long long)st->errors);
	for (i = 0; i < STATS_MAX_ERRNAMES && st->err_name[i] != NULL; i++)
		fprintf(f, "%s %s %llu", i == 0 ? " (" : ",",
		    st->err_name[i], (unsigned long long)st->err_count[i]);
	if (st->err_other > 0)
		fprintf(f, ", other %llu", (unsigned long long)st->err_other);
	fprintf(f, "%s; badNonce retries: %llu; polls: %llu\n",
	    st->err_name[0] != NULL ? ")" : "",
	    (unsigned long long)st->badnonce_retries,
	    (unsigned long long)st->polls);
	fprintf(f, "driver CPU: %.3f ms per issuance (user %.2f s, sys %.2f "
	    "s), peak RSS %ld KB\n", cpu_ms_per(r), r->cpu_user_s,
	    r->cpu_sys_s, r->maxrss_kb);
	if (r->server_cpu_s >= 0)
		fprintf(f, "server CPU: %.3f ms per issuance; server peak RSS "
		    "%ld KB\n", r->issuances > 0 ? r->server_cpu_s * 1000.0 /
		    (double)r->issuances : NAN, r->server_hwm_kb);
	print_machine(r, f);
}

/* Sets key to a number, or to null when x is not finite. */
static int
set_num(json_t *o, const char *key, double x)
{
	return json_object_set_new(o, key, isfinite(x) ? json_real(x) :
	    json_null());
}

/* Adds to root "watched" (one object per --watch-pid), "machine_cpus",
 * "machine_busy_pct" and "machine_cpu_ms_per_issuance", null when
 * unknown.  Returns 0 or ANVIL_ENOMEM. */
static int
json_machine(json_t *root, const struct report *r)
{
	const struct watched	*w;
	json_t			*arr, *one;
	size_t			 i;

	arr = json_array();
	if (arr == NULL || json_object_set_new(root, "watched", arr) != 0)
		return ANVIL_ENOMEM;
	for (i = 0; i < r->n_watched; i++) {
		w = &r->watched[i];
		one = json_object();
		if (one == NULL || json_array_append_new(arr, one) != 0 ||
		    json_object_set_new(one, "pid",
		    json_integer(w->pid)) != 0 ||
		    json_object_set_new(one, "comm", w->comm[0] != '\0' ?
		    json_string(w->comm) : json_null()) != 0 ||
		    set_num(one, "cpu_ms_per_issuance", ms_per(r, w->cpu_s))
		    != 0)
			return ANVIL_ENOMEM;
	}
	if (json_object_set_new(root, "machine_cpus", r->machine_cpus > 0 ?
	    json_integer(r->machine_cpus) : json_null()) != 0 ||
	    set_num(root, "machine_busy_pct", r->machine_cpus > 0 ?
	    r->machine_busy_pct : NAN) != 0 ||
	    set_num(root, "machine_cpu_ms_per_issuance", r->machine_cpus > 0 ?
	    ms_per(r, r->machine_busy_s) : NAN) != 0)
		return ANVIL_ENOMEM;
	return 0;
}

int
stats_print_json(struct stats *st, const struct report *r, FILE *f)
{
	json_t		*root = NULL, *steps, *errs, *one;
	const struct samples *v;
	char		*text = NULL;
	size_t		 s, i, len;
	int		 rc = ANVIL_ENOMEM;

	sort_all(st);
	root = json_object();
	steps = json_object();
	errs = json_object();
	if (root == NULL || json_object_set_new(root, "steps", steps) != 0 ||
	    json_object_set_new(root, "errors", errs) != 0)
		goto out;
	if (json_object_set_new(root, "directory",
	    json_string(r->directory)) != 0 ||
	    json_object_set_new(root, "concurrency",
	    json_integer(r->concurrency)) != 0 ||
	    json_object_set_new(root, "issuances",
	    json_integer((json_int_t)r->issuances)) != 0 ||
	    set_num(root, "seconds", r->seconds) != 0 ||
	    set_num(root, "issuances_per_s", rate(r)) != 0 ||
	    json_object_set_new(root, "error_count",
	    json_integer((json_int_t)st->errors)) != 0 ||
	    json_object_set_new(root, "badnonce_retries",
	    json_integer((json_int_t)st->badnonce_retries)) != 0 ||
	    json_object_set_new(root, "polls",
	    json_integer((json_int_t)st->polls)) != 0 ||
	    set_num(root, "driver_cpu_ms_per_issuance", cpu_ms_per(r)) != 0 ||
	    set_num(root, "driver_cpu_user_s", r->cpu_user_s) != 0 ||
	    set_num(root, "driver_cpu_sys_s", r->cpu_sys_s) != 0 ||
	    json_object_set_new(root, "driver_maxrss_kb",
	    json_integer(r->maxrss_kb)) != 0 ||
	    set_num(root, "server_cpu_ms_per_issuance", r->server_cpu_s >= 0 &&
	    r->issuances > 0 ? r->server_cpu_s * 1000.0 /
	    (double)r->issuances : NAN) != 0 ||
	    (r->server_hwm_kb >= 0 ? json_object_set_new(root,
	    "server_peak_rss_kb", json_integer(r->server_hwm_kb)) :
	    json_object_set_new(root, "server_peak_rss_kb", json_null()))
	    != 0 || json_machine(root, r) != 0)
		goto out;
	for (s = 0; s < STEP__MAX; s++) {
		v = &st->step[s];
		one = json_object();
		if (one == NULL ||
		    json_object_set_new(steps, step_names[s], one) != 0 ||
		    json_object_set_new(one, "n", json_integer(v->n)) != 0 ||
		    set_num(one, "p50_ms", pct(v, 50)) != 0 ||
		    set_num(one, "p90_ms", pct(v, 90)) != 0 ||
		    set_num(one, "p99_ms", pct(v, 99)) != 0 ||
		    set_num(one, "max_ms", v->n > 0 ? v->v[v->n - 1] : NAN)
		    != 0)
			goto out;
	}
	for (i = 0; i < STATS_MAX_ERRNAMES && st->err_name[i] != NULL; i++)
		if (json_object_set_new(errs, st->err_name[i],
		    json_integer((json_int_t)st->err_count[i])) != 0)
			goto out;
	if (st->err_other > 0 && json_object_set_new(errs, "other",
	    json_integer((json_int_t)st->err_other)) != 0)
		goto out;
	rc = anvil_json_dump(root, &text, &len);
	if (rc != 0)
		goto out;
	fprintf(f, "%s\n", text);
	rc = 0;
out:
	free(text);
	json_decref(root);
	return rc;
}

void
stats_done(struct stats *st)
{
	size_t	 i;

	for (i = 0; i < STEP__MAX; i++)
		free(st->step[i].v);
	for (i = 0; i < STATS_MAX_ERRNAMES; i++)
		free(st->err_name[i]);
	memset(st, 0, sizeof(*st));
}
