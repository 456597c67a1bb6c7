/*
 * main.c - replay driver for the fuzz targets in builds without libFuzzer,
 * after systemd's fuzz-main.c and SQLite's fuzzcheck.c.
 *
 * Runs LLVMFuzzerTestOneInput on every file named on the command line (a
 * directory stands for its regular files, in name order), then, for each
 * of those seeds, on a bounded number of mutants made with a fixed-seed
 * PRNG (bit flips, byte changes, insertions, deletions, truncation,
 * duplication, splices with another seed).  The same command line always
 * runs the same inputs, so a failure in the test suite reproduces.
 *
 * Every input is handed over in a buffer of exactly its size, so reading
 * one byte past it is caught by AddressSanitizer.  When a check fails or
 * a sanitizer reports, the input being run is written to ./crash-<target>
 * (or $FUZZ_CRASH_DIR/crash-<target>) to be kept in the corpus.
 *
 *	usage: fuzz_<target> [-m mutants-per-seed] [-s seed] path ...
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* Inputs larger than this are skipped (libFuzzer's default -max_len is
 * smaller still); mutants never grow past it either. */
#define FUZZ_MAX_INPUT	(1024 * 1024)
/* Most bytes one mutation inserts or duplicates. */
#define MAX_GROW	64
/* Most mutations stacked on one mutant. */
#define MAX_STACK	4

struct seed {
	char	*path;
	uint8_t	*data;
	size_t	 len;
};

struct corpus {
	struct seed	*v;
	size_t		 n;
	size_t		 cap;
};

/* The input being run, for the crash handler. */
static const uint8_t	*cur_data;
static size_t		 cur_len;
static char		 crash_path[4096];

/* Sanitizer hook, present only in sanitized builds. */
void	__sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

/* Writes the current input to crash_path; async-signal-safe. */
static void
save_input(void)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if (cur_data == NULL || crash_path[0] == '\0')
		return;
	fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	while (off < cur_len) {
		n = write(fd, cur_data + off, cur_len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	n = write(STDERR_FILENO, "fuzz: input saved to ", 21);
	n = write(STDERR_FILENO, crash_path, strlen(crash_path));
	n = write(STDERR_FILENO, "\n", 1);
	(void)n;
}

static void
on_fatal_signal(int sig)
{
	save_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Sets crash_path from the program name and installs the handlers. */
static void
crash_setup(const char *argv0)
{
	const char	*base, *dir;
	struct sigaction sa;

	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	dir = getenv("FUZZ_CRASH_DIR");
	if (dir == NULL || *dir == '\0')
		dir = ".";
	if ((size_t)snprintf(crash_path, sizeof(crash_path), "%s/crash-%s",
	    dir, base) >= sizeof(crash_path))
		crash_path[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGABRT, &sa, NULL);
	(void)sigaction(SIGSEGV, &sa, NULL);
	(void)sigaction(SIGBUS, &sa, NULL);
	(void)sigaction(SIGFPE, &sa, NULL);
	(void)sigaction(SIGILL, &sa, NULL);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(save_input);
}

/* splitmix64: small, fast, and the same on every platform. */
static uint64_t
rnd(uint64_t *state)
{
	uint64_t	 z;

	*state += UINT64_C(0x9e3779b97f4a7c15);
	z = *state;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform-enough value in [0, n); n > 0. */
static size_t
below(uint64_t *state, size_t n)
{
	return (size_t)(rnd(state) % n);
}

/* Runs one input from a buffer of exactly its size. */
static void
run_one(const uint8_t *data, size_t len)
{
	uint8_t	*copy;

	/* malloc(0) may return NULL: give the target a 1-byte buffer then,
	 * with size 0, as libFuzzer does. */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		fprintf(stderr, "fuzz: out of memory\n");
		exit(1);
	}
	if (len > 0)
		memcpy(copy, data, len);
	cur_data = copy;
	cur_len = len;
	(void)LLVMFuzzerTestOneInput(copy, len);
	cur_data = NULL;
	free(copy);
}

/* Reads a whole file into a new seed of the corpus.  Returns 0 or -1. */
static int
corpus_add(struct corpus *c, const char *path)
{
	struct seed	*v, s = { NULL, NULL, 0 };
	struct stat	 st;
	ssize_t		 n;
	int		 fd = -1, rc = -1;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size > FUZZ_MAX_INPUT) {
		fprintf(stderr, "fuzz: %s: skipped, over %d bytes\n", path,
		    FUZZ_MAX_INPUT);
		rc = 0;
		goto out;
	}
	s.len = (size_t)st.st_size;
	s.data = malloc(s.len + 1);
	s.path = strdup(path);
	if (s.data == NULL || s.path == NULL)
		goto out;
	n = s.len > 0 ? read(fd, s.data, s.len) : 0;
	if (n < 0 || (size_t)n != s.len) {
		fprintf(stderr, "fuzz: %s: short read\n", path);
		goto out;
	}
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		v = realloc(c->v, c->cap * sizeof(*c->v));
		if (v == NULL)
			goto out;
		c->v = v;
	}
	c->v[c->n++] = s;
	s.data = NULL;
	s.path = NULL;
	rc = 0;
out:
	free(s.data);
	free(s.path);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Adds a file, or every regular file of a directory in name order. */
static int
corpus_add_path(struct corpus *c, const char *path)
{
	struct dirent	**names = NULL;
	struct stat	 st;
	char		 sub[4096];
	int		 i, n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return corpus_add(c, path);
	n = scandir(path, &names, skip_dot, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && (size_t)snprintf(sub, sizeof(sub), "%s/%s",
		    path, names[i]->d_name) < sizeof(sub) &&
		    stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			rc = corpus_add(c, sub);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Bytes worth trying in a text or DER parser. */
static const uint8_t special[] = {
	0x00, 0x01, 0x7f, 0x80, 0xff, '"', '\\', '{', '}', '[', ']', ':',
	',', '.', '=', '#', '-', '_', '+', '/', ' ', '\n', '0', '9', 'A',
	'z', 'T', 'Z', 0x30, 0x02, 0x04, 0x81, 0x82,
};

/*
 * Applies one random mutation to buf (len bytes used, room for cap).
 * other is another seed, for splices.  Returns the new length.
 */
static size_t
mutate_once(uint64_t *st, uint8_t *buf, size_t len, size_t cap,
    const struct seed *other)
{
	uint8_t	 chunk[MAX_GROW];
	size_t	 pos, n, from;

	switch (below(st, 9)) {
	case 0:		/* flip one bit */
		if (len == 0)
			break;
		buf[below(st, len)] ^= (uint8_t)(1u << below(st, 8));
		break;
	case 1:		/* set one byte at random */
		if (len == 0)
			break;
		buf[below(st, len)] = (uint8_t)rnd(st);
		break;
	case 2:		/* set one byte to a special value */
		if (len == 0)
			break;
		buf[below(st, len)] = special[below(st, sizeof(special))];
		break;
	case 3:		/* add or subtract a little (lengths, counts) */
		if (len == 0)
			break;
		pos = below(st, len);
		buf[pos] = (uint8_t)(buf[pos] + (uint8_t)(below(st, 9)) - 4);
		break;
	case 4:		/* insert 1..MAX_GROW bytes */
		n = 1 + below(st, MAX_GROW);
		if (len + n > cap)
			break;
		pos = below(st, len + 1);
		memmove(buf + pos + n, buf + pos, len - pos);
		for (from = 0; from < n; from++)
			buf[pos + from] = below(st, 2) ?
			    special[below(st, sizeof(special))] :
			    (uint8_t)rnd(st);
		len += n;
		break;
	case 5:		/* delete a range */
		if (len == 0)
			break;
		pos = below(st, len);
		n = 1 + below(st, len - pos < MAX_GROW ? len - pos : MAX_GROW);
		memmove(buf + pos, buf + pos + n, len - pos - n);
		len -= n;
		break;
	case 6:		/* truncate */
		if (len == 0)
			break;
		len = below(st, len);
		break;
	case 7:		/* duplicate a range of the input elsewhere */
		if (len == 0)
			break;
		from = below(st, len);
		n = 1 + below(st, len - from < MAX_GROW ? len - from :
		    MAX_GROW);
		if (len + n > cap)
			break;
		memcpy(chunk, buf + from, n);
		pos = below(st, len + 1);
		memmove(buf + pos + n, buf + pos, len - pos);
		memcpy(buf + pos, chunk, n);
		len += n;
		break;
	default:	/* splice: keep a head, append another seed's tail */
		if (other == NULL || other->len == 0)
			break;
		pos = below(st, len + 1);
		from = below(st, other->len);
		n = other->len - from;
		if (pos + n > cap)
			n = cap - pos;
		memcpy(buf + pos, other->data + from, n);
		len = pos + n;
		break;
	}
	return len;
}

/* Runs mutants of seed i; returns how many ran. */
static size_t
mutate_seed(const struct corpus *c, size_t i, size_t count, uint64_t seed)
{
	const struct seed	*s = &c->v[i], *other;
	uint8_t			*buf;
	uint64_t		 st;
	size_t			 k, j, cap, len, stack;

	cap = s->len + MAX_STACK * MAX_GROW + 1024;
	if (cap > FUZZ_MAX_INPUT)
		cap = FUZZ_MAX_INPUT;
	buf = malloc(cap);
	if (buf == NULL) {
		fprintf(stderr, "fuzz: out of memory\n");
		exit(1);
	}
	/* Each seed has its own stream: adding a file to the corpus does
	 * not change the mutants of the others. */
	st = seed ^ (UINT64_C(0x2545f4914f6cdd1d) * (i + 1));
	for (k = 0; k < count; k++) {
		len = s->len < cap ? s->len : cap;
		memcpy(buf, s->data, len);
		stack = 1 + below(&st, MAX_STACK);
		for (j = 0; j < stack; j++) {
			other = &c->v[below(&st, c->n)];
			len = mutate_once(&st, buf, len, cap, other);
		}
		run_one(buf, len);
	}
	free(buf);
	return count;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fuzz_<target> [-m mutants-per-seed] "
	    "[-s seed] path ...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct corpus	 c = { NULL, 0, 0 };
	unsigned long long v;
	uint64_t	 seed = 20240601;
	size_t		 i, per_seed = 0, mutants = 0;
	const char	*name;
	char		*end;
	int		 a, ch, rc = 1;

	while ((ch = getopt(argc, argv, "m:s:")) != -1) {
		switch (ch) {
		case 'm':
		case 's':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0')
				usage();
			if (ch == 'm')
				per_seed = (size_t)v;
			else
				seed = (uint64_t)v;
			break;
		default:
			usage();
		}
	}
	crash_setup(argv[0]);
	name = strrchr(argv[0], '/');
	name = name != NULL ? name + 1 : argv[0];
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();

	for (a = 0; a < argc; a++)
		if (corpus_add_path(&c, argv[a]) != 0)
			goto out;
	/* The empty input first: every parser must take it. */
	run_one((const uint8_t *)"", 0);
	for (i = 0; i < c.n; i++)
		run_one(c.v[i].data, c.v[i].len);
	for (i = 0; i < c.n; i++)
		mutants += mutate_seed(&c, i, per_seed, seed);
	printf("%s: %zu inputs replayed, %zu mutants run\n", name, c.n,
	    mutants);
	rc = 0;
out:
	for (i = 0; i < c.n; i++) {
		free(c.v[i].data);
		free(c.v[i].path);
	}
	free(c.v);
	return rc;
}
