/*
 * proc.c - what anvil-load reads from /proc (proc(5)) to account for the
 * whole machine over its timed phase: the CPU time of a process (the
 * server, --server-pid, and every --watch-pid) and of every CPU
 * (/proc/stat), each read once at the start and once at the end of the
 * timed phase, never per request.
 *
 * The parsers take (text, length) so that the unit tests can give them
 * any text; the readers only fill a buffer from the file.  A process is
 * known by its pid and its start time (field 22 of /proc/PID/stat): if
 * the pid names another process at the end (the first one exited and the
 * pid was reused), its figure is unknown, not a wrong one.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"

#define PROC_MAX_PIDSTAT	4096	/* /proc/PID/stat is ~300 bytes */
#define PROC_MAX_STAT	(1024 * 1024)	/* /proc/stat read at most */
#define PROC_STAT_FIELDS	8	/* user nice system idle iowait irq
					 * softirq steal: guest and guest_nice
					 * are already in user and nice */

/*
 * Reads at most max - 1 bytes of path into buf, NUL-terminated.  Returns
 * the length read, ANVIL_ENOENT when the file (or the process) is not
 * there, ANVIL_EIO.
 */
static ssize_t
read_file(const char *path, char *buf, size_t max)
{
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT || errno == ESRCH ? ANVIL_ENOENT :
		    ANVIL_EIO;
	while (n < max - 1) {
		r = read(fd, buf + n, max - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			/* The process exited while we read. */
			r = errno == ESRCH ? ANVIL_ENOENT : ANVIL_EIO;
			(void)close(fd);
			return r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	(void)close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * Reads one unsigned decimal number at *p (before end) into *ret and
 * moves *p past it.  Returns 0, or -1 when there is no digit or the
 * number overflows.
 */
static int
get_num(const char **p, const char *end, unsigned long long *ret)
{
	unsigned long long	 v = 0;
	const char		*s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Moves *p past spaces (before end). */
static void
skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

/* Moves *p past one field and the spaces after it.  Returns 0 or -1 when
 * there is none. */
static int
skip_field(const char **p, const char *end)
{
	const char	*s = *p;

	while (s < end && *s != ' ' && *s != '\n')
		s++;
	if (s == *p)
		return -1;
	*p = s;
	skip_spaces(p, end);
	return 0;
}

int
proc_pid_parse(const char *text, size_t len, struct pidstat *ret)
{
	const char		*end = text + len, *lp, *rp, *p;
	unsigned long long	 ut, st, start;
	size_t			 i, n;
	int			 field;

	/*
	 * "pid (comm) state ppid ...": comm may hold anything, ')' and
	 * spaces included, so it ends at the last ')'.
	 */
	lp = memchr(text, '(', len);
	rp = NULL;
	for (p = end; p > text; p--)
		if (p[-1] == ')') {
			rp = p - 1;
			break;
		}
	if (lp == NULL || rp == NULL || rp < lp)
		return ANVIL_EINVAL;
	p = rp + 1;
	skip_spaces(&p, end);
	/* Fields 3 (state) to 13; then utime, stime (14, 15). */
	for (field = 3; field < 14; field++)
		if (skip_field(&p, end) != 0)
			return ANVIL_EINVAL;
	if (get_num(&p, end, &ut) != 0)
		return ANVIL_EINVAL;
	skip_spaces(&p, end);
	if (get_num(&p, end, &st) != 0)
		return ANVIL_EINVAL;
	skip_spaces(&p, end);
	/* Fields 16 to 21; then starttime (22). */
	for (field = 16; field < 22; field++)
		if (skip_field(&p, end) != 0)
			return ANVIL_EINVAL;
	/* starttime is followed by vsize: a cut text is refused. */
	if (get_num(&p, end, &start) != 0 || p == end ||
	    (*p != ' ' && *p != '\n') || ut > ULLONG_MAX - st)
		return ANVIL_EINVAL;
	/* A name for people and JSON: printable ASCII only, bounded. */
	n = (size_t)(rp - lp - 1);
	if (n > sizeof(ret->comm) - 1)
		n = sizeof(ret->comm) - 1;
	for (i = 0; i < n; i++)
		ret->comm[i] = lp[1 + i] >= 0x20 && lp[1 + i] < 0x7f ?
		    lp[1 + i] : '?';
	ret->comm[n] = '\0';
	ret->cpu_ticks = ut + st;
	ret->start_ticks = start;
	return 0;
}

int
proc_pid_read(long pid, struct pidstat *ret)
{
	char	 path[64], buf[PROC_MAX_PIDSTAT];
	ssize_t	 n;

	if (pid <= 0)
		return ANVIL_EINVAL;
	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return proc_pid_parse(buf, (size_t)n, ret);
}

double
pidstat_cpu_s(const struct pidstat *a, const struct pidstat *b)
{
	long	 hz = sysconf(_SC_CLK_TCK);

	/* Another process under the same pid, or a clock gone back. */
	if (hz <= 0 || a->start_ticks != b->start_ticks ||
	    b->cpu_ticks < a->cpu_ticks)
		return -1;
	return (double)(b->cpu_ticks - a->cpu_ticks) / (double)hz;
}

double
proc_cpu_s(long pid)
{
	struct pidstat	 ps;
	long		 hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || proc_pid_read(pid, &ps) != 0)
		return -1;
	return (double)ps.cpu_ticks / (double)hz;
}

long
proc_hwm_kb(long pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int
proc_stat_parse(const char *text, size_t len, struct cpustat *ret)
{
	const char		*p = text, *end = text + len, *eol;
	unsigned long long	 v, sum, idle;
	unsigned		 ncpu = 0;
	int			 i, have_all = 0;
	struct cpustat		 cs;

	memset(&cs, 0, sizeof(cs));
	/*
	 * The "cpu" line (all CPUs) comes first, then one "cpuN" line per
	 * CPU, then other lines.  Each pass consumes one line: it ends.
	 */
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return ANVIL_EINVAL;	/* cut: ncpu may be short */
		if ((size_t)(eol - p) < 3 || memcmp(p, "cpu", 3) != 0)
			break;
		if (p[3] == ' ') {
			if (have_all)
				return ANVIL_EINVAL;
			have_all = 1;
			p += 3;
			sum = idle = 0;
			for (i = 0; i < PROC_STAT_FIELDS; i++) {
				skip_spaces(&p, eol);
				/* Kernels before 2.6.11 have fewer fields. */
				if (i >= 4 && p == eol)
					break;
				if (get_num(&p, eol, &v) != 0 ||
				    v > ULLONG_MAX / 16)
					return ANVIL_EINVAL;
				sum += v;
				if (i == 3 || i == 4)	/* idle, iowait */
					idle += v;
			}
			cs.total = sum;
			cs.idle = idle;
		} else if (p[3] >= '0' && p[3] <= '9') {
			if (!have_all || ncpu == UINT_MAX)
				return ANVIL_EINVAL;
			ncpu++;
		} else
			break;
		p = eol + 1;
	}
	if (!have_all || ncpu == 0)
		return ANVIL_EINVAL;
	cs.ncpu = ncpu;
	*ret = cs;
	return 0;
}

int
proc_stat_read(struct cpustat *ret)
{
	char	*buf;
	ssize_t	 n;
	int	 rc;

	buf = malloc(PROC_MAX_STAT);
	if (buf == NULL)
		return ANVIL_ENOMEM;
	n = read_file("/proc/stat", buf, PROC_MAX_STAT);
	rc = n < 0 ? (int)n : proc_stat_parse(buf, (size_t)n, ret);
	free(buf);
	return rc;
}

double
cpustat_busy_pct(const struct cpustat *a, const struct cpustat *b)
{
	unsigned long long	 total, idle;

	if (b->total <= a->total || b->idle < a->idle)
		return -1;
	total = b->total - a->total;
	idle = b->idle - a->idle;
	if (idle > total)
		return -1;
	return 100.0 * (1.0 - (double)idle / (double)total);
}

double
cpustat_busy_s(const struct cpustat *a, const struct cpustat *b)
{
	long	 hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || cpustat_busy_pct(a, b) < 0)
		return -1;
	/* cpustat_busy_pct checked that idle grew by at most total. */
	return (double)((b->total - a->total) - (b->idle - a->idle)) /
	    (double)hz;
}
