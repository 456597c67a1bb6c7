/*
 * main.c - anvil-floor: the least CPU the server side of one issuance of
 * anvil-load's flow can cost on this machine (floor.h), and its peers'
 * side, printed part by part and in total, with the most issuances a
 * second the machine's CPUs allow when both sides cost no more.
 * bench/compare prints it next to anvil-ca's figure: what is above it is
 * the server's own work (HTTP, JSON, SQL, the event loop, the
 * allocator), what is below it no server can save.
 *
 * Each part runs alone, one after the other, so that the parts do not
 * share the CPUs with each other; a machine busy with something else
 * makes every figure larger.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

double
floor_thread_cpu(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: anvil-floor [--count N] [--verify N] [--sign N] "
	    "[--conns N]\n"
	    "                   [--group N] [--log-bytes N] [--dir DIR] "
	    "[--json]\n");
}

/* *ret = s as a decimal in [min, max]; 0, or -1 after saying why. */
static int
num_arg(const char *opt, const char *s, unsigned long min,
    unsigned long max, unsigned long *ret)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		fprintf(stderr, "anvil-floor: --%s: expected a number from "
		    "%lu to %lu, got \"%s\"\n", opt, min, max, s);
		return -1;
	}
	*ret = v;
	return 0;
}

/* What each part measured, ms per issuance: the server's side and its
 * peers'. */
struct figures {
	double	 crypto, https, va, log;
	double	 peer_crypto, peer_https, peer_va;
};

static void
report(const struct floor_opts *o, const struct figures *f, int json)
{
	double	 server, peers, ncpu;

	server = f->crypto + f->https + f->va + f->log;
	peers = f->peer_crypto + f->peer_https + f->peer_va;
	ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
	if (json) {
		printf("{\"count\":%u,\"verify\":%u,\"sign\":%u,"
		    "\"conns\":%u,\"group\":%u,\"log_bytes\":%zu,"
		    "\"crypto_ms\":%.4f,\"https_ms\":%.4f,"
		    "\"validation_ms\":%.4f,\"log_ms\":%.4f,"
		    "\"total_ms\":%.4f,\"peer_crypto_ms\":%.4f,"
		    "\"peer_https_ms\":%.4f,\"peer_validation_ms\":%.4f,"
		    "\"peer_total_ms\":%.4f,\"machine_ms\":%.4f,"
		    "\"cpus\":%.0f,\"max_issuances_per_s\":%.1f}\n",
		    o->count, o->verify, o->sign, o->conns, o->group,
		    o->log_bytes, f->crypto, f->https, f->va, f->log, server,
		    f->peer_crypto, f->peer_https, f->peer_va, peers,
		    server + peers, ncpu, ncpu * 1e3 / (server + peers));
		return;
	}
	printf("anvil-floor: one issuance of anvil-load's flow done the "
	    "cheapest way (%u issuances a part)\n", o->count);
	printf("part        server  peers   what (ms per issuance)\n");
	printf("crypto      %6.3f  %6.3f  server: %u ES256 verifications, "
	    "%u P-256 signatures; client: %d signatures, %d verification\n",
	    f->crypto, f->peer_crypto, o->verify, o->sign,
	    FLOOR_CLIENT_SIGN, FLOOR_CLIENT_VERIFY);
	printf("https       %6.3f  %6.3f  %d requests and answers over "
	    "keep-alive TLS, %u connections, loopback\n", f->https,
	    f->peer_https, FLOOR_EXCHANGES, o->conns);
	printf("validation  %6.3f  %6.3f  2 DNS queries over UDP (a socket "
	    "each), 1 GET on a new TCP connection\n", f->va, f->peer_va);
	printf("log         %6.3f  %6s  %zu bytes logged, one fdatasync per "
	    "%u issuances\n", f->log, "-", o->log_bytes, o->group);
	printf("total       %6.3f  %6.3f  machine %.3f ms: at most %.0f "
	    "issuances/s on %.0f CPUs\n", server, peers, server + peers,
	    ncpu * 1e3 / (server + peers), ncpu);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "count",	required_argument, NULL, 'n' },
		{ "verify",	required_argument, NULL, 'v' },
		{ "sign",	required_argument, NULL, 's' },
		{ "conns",	required_argument, NULL, 'c' },
		{ "group",	required_argument, NULL, 'g' },
		{ "log-bytes",	required_argument, NULL, 'b' },
		{ "dir",	required_argument, NULL, 'd' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct floor_opts	 o;
	struct figures		 f;
	unsigned long		 v;
	const char		*tmp;
	int			 c, json = 0;

	memset(&o, 0, sizeof(o));
	memset(&f, 0, sizeof(f));
	o.count = 2000;
	o.verify = 6;	/* five JWS and the CSR */
	o.sign = 2;	/* the certificate and its OCSP response */
	o.conns = 64;	/* anvil-load's workers at concurrency 64 */
	o.group = 4;
	o.log_bytes = 2048;
	tmp = getenv("TMPDIR");
	o.dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (num_arg("count", optarg, 1, 1000000, &v) != 0)
				return 2;
			o.count = (unsigned)v;
			break;
		case 'v':
			if (num_arg("verify", optarg, 0, 64, &v) != 0)
				return 2;
			o.verify = (unsigned)v;
			break;
		case 's':
			if (num_arg("sign", optarg, 0, 64, &v) != 0)
				return 2;
			o.sign = (unsigned)v;
			break;
		case 'c':
			if (num_arg("conns", optarg, 1, 512, &v) != 0)
				return 2;
			o.conns = (unsigned)v;
			break;
		case 'g':
			if (num_arg("group", optarg, 1, 1000, &v) != 0)
				return 2;
			o.group = (unsigned)v;
			break;
		case 'b':
			if (num_arg("log-bytes", optarg, 1, 1 << 20, &v) != 0)
				return 2;
			o.log_bytes = v;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* One group's records are one buffer (log.c). */
	if (o.log_bytes * o.group > FLOOR_MAX_GROUP_BYTES) {
		fprintf(stderr, "anvil-floor: --group times --log-bytes is "
		    "over %d MiB\n", FLOOR_MAX_GROUP_BYTES >> 20);
		return 2;
	}
	/* Said now, not after the other parts have run. */
	if (access(o.dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "anvil-floor: --dir %s: %s\n", o.dir,
		    strerror(errno));
		return 2;
	}

	if (floor_crypto(&o, o.verify, o.sign, &f.crypto) != 0 ||
	    floor_crypto(&o, FLOOR_CLIENT_VERIFY, FLOOR_CLIENT_SIGN,
	    &f.peer_crypto) != 0 ||
	    floor_https(&o, &f.https, &f.peer_https) != 0 ||
	    floor_validation(&o, &f.va, &f.peer_va) != 0 ||
	    floor_log(&o, &f.log) != 0)
		return 1;
	report(&o, &f, json);
	return 0;
}
