/*
 * floor.h - anvil-floor: the least CPU the server side of one issuance of
 * anvil-load's flow costs on this machine, part by part, each part done
 * the cheapest way its protocol allows and measured on the thread that
 * plays the server (CLOCK_THREAD_CPUTIME_ID: user and kernel time,
 * including the loopback network work the kernel does in that thread).
 *
 * Its peers (the client, the DNS server, the http-01 responder) run on
 * other threads, timed apart: with the server's floor they make the
 * machine's, the least CPU one issuance costs the whole machine, and so
 * the most issuances a second its CPUs allow.
 */
#ifndef ANVIL_BENCH_FLOOR_H
#define ANVIL_BENCH_FLOOR_H

#include <stddef.h>

/* The flow's HTTPS exchanges: newOrder, the authorization, the
 * challenge, finalize, the certificate (anvil-load answers the
 * challenge's response without polling when it says valid). */
#define FLOOR_EXCHANGES	5

/* The client's signatures: five JWS and the CSR; and its one
 * verification, of the certificate by the intermediate (anvil-load's
 * chain check). */
#define FLOOR_CLIENT_SIGN	6
#define FLOOR_CLIENT_VERIFY	1

#define FLOOR_MAX_GROUP_BYTES	(64 << 20)	/* --group x --log-bytes */

struct floor_opts {
	unsigned	 count;		/* issuances per part (--count) */
	unsigned	 verify;	/* ES256 verifications (--verify) */
	unsigned	 sign;		/* P-256 signatures (--sign) */
	unsigned	 conns;		/* HTTPS connections (--conns) */
	unsigned	 group;		/* issuances per fdatasync (--group) */
	size_t		 log_bytes;	/* bytes logged per issuance */
	const char	*dir;		/* where the log file goes (--dir) */
};

/* The CPU time of the calling thread, in seconds. */
double	 floor_thread_cpu(void);

/*
 * Each part runs o->count issuances' worth of its work (after a warm-up
 * it does not count) and sets *ret_ms to the CPU milliseconds per
 * issuance of its server-side thread, *ret_peer_ms to its peers'.  0,
 * or -1 after printing one line naming the cause on stderr.
 * floor_crypto times verify verifications and sign signatures, on
 * whichever side asks.
 */
int	 floor_crypto(const struct floor_opts *o, unsigned verify,
	    unsigned sign, double *ret_ms);
int	 floor_https(const struct floor_opts *o, double *ret_ms,
	    double *ret_peer_ms);
int	 floor_validation(const struct floor_opts *o, double *ret_ms,
	    double *ret_peer_ms);
int	 floor_log(const struct floor_opts *o, double *ret_ms);

#endif
