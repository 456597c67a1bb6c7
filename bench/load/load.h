/*
 * load.h - anvil-load, the ACME load generator: what its modules share.
 *
 * One process, one libevent loop.  Each worker owns one keep-alive
 * HTTP/1.1 connection to the CA (http.c) and one account, and runs
 * complete issuances one after the other (flow.c); the http-01 answers
 * of every worker come from one small server in the same loop
 * (responder.c); timings and errors are gathered and printed by stats.c;
 * the CPU time of processes and of the machine comes from /proc (proc.c);
 * main.c parses the options, prepares keys and connections and runs.
 */
#ifndef ANVIL_LOAD_H
#define ANVIL_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "anvil/anvil.h"

#define LOAD_MAX_WORKERS	1024
#define LOAD_MAX_HEADER_LINE	8192	/* one response header line */
#define LOAD_MAX_HEADERS	100	/* header lines in one response */
#define LOAD_MAX_URL		1024	/* one URL the CA gives us */
#define LOAD_MAX_NONCE		256	/* one Replay-Nonce */
#define LOAD_MAX_TOKEN		128	/* one http-01 token */
#define LOAD_MAX_BADNONCE	10	/* retries of one request */
#define LOAD_POLL_FIRST_MS	5	/* first authz poll after the fetch */
#define LOAD_IO_TIMEOUT_S	30	/* no byte for this long: fail */
#define LOAD_ACCEPT_PAUSE_MS	100	/* the responder out of files */
#define LOAD_MAX_DELAY_MS	10000	/* --http01-delay */
#define LOAD_MAX_PENDING	(2 * LOAD_MAX_WORKERS)	/* http-01 answers
					 * waiting out that delay at once */

/* ------------------------------------------------------------------ */
/* http.c: a small HTTP/1.1 client, one connection, keep-alive */

/* An answer; every pointer is borrowed from the connection. */
struct http_resp {
	int		 status;
	const char	*nonce;		/* Replay-Nonce or NULL */
	const char	*location;	/* Location or NULL */
	const char	*content_type;	/* Content-Type or NULL */
	int		 retry_after;	/* seconds; -1 when absent */
	const char	*body;		/* NUL-terminated, never NULL */
	size_t		 body_len;	/* at most ANVIL_MAX_RESPONSE_BODY */
};

/*
 * Called once per request: err is 0 and resp the answer, or err is a
 * negative ANVIL_E* code (ANVIL_EIO: connection or TLS failure,
 * ANVIL_ETIMEDOUT, ANVIL_E2BIG, ANVIL_EINVAL: not HTTP) and resp is NULL.
 * resp and what it points to stay valid until the callback returns,
 * even if it starts the next request on the same connection, which it
 * may (it must not free the connection).
 */
typedef void (*http_cb)(void *arg, int err, struct http_resp *resp);

struct http_conn;

/*
 * A connection to the origin of url (http or https).  Resolves the host
 * now (blocking, before any load); connects on the first request.  ctx
 * verifies the server (it must be set for https).  Returns 0 and
 * *ret (http_conn_free), ANVIL_EINVAL for a URL we cannot use,
 * ANVIL_ENOENT when the host does not resolve, ANVIL_ENOMEM.
 */
int	http_conn_new(struct event_base *base, SSL_CTX *ctx, const char *url,
	    struct http_conn **ret) ANVIL_MUSTCHECK;

/*
 * Sends one request (method "GET", "HEAD" or "POST") for url, which must
 * have the connection's origin, with an optional body (copied).  One
 * request at a time per connection.  cb runs later (never from inside
 * this call), also for a failure to connect or to write.  Returns 0,
 * ANVIL_EINVAL (other origin, busy), ANVIL_ENOMEM.
 */
int	http_conn_request(struct http_conn *c, const char *method,
	    const char *url, const char *content_type, const char *body,
	    size_t body_len, http_cb cb, void *arg) ANVIL_MUSTCHECK;

/* Closes and frees c; accepts NULL.  A pending callback never runs. */
void	http_conn_free(struct http_conn *c);

/* Last TLS or socket error text of c ("" if none); borrowed. */
const char *http_conn_error(const struct http_conn *c);

/* ------------------------------------------------------------------ */
/* stats.c: samples, percentiles, error counts, the report */

enum step {
	STEP_ACCOUNT,		/* newAccount request */
	STEP_ORDER,		/* newOrder request */
	STEP_AUTHZ,		/* first fetch of the authorization */
	STEP_CHALL,		/* challenge POST until the authz is valid */
	STEP_FINALIZE,		/* finalize POST until the order is valid */
	STEP_DOWNLOAD,		/* certificate request */
	STEP_FLOW,		/* newOrder start to certificate verified */
	STEP__MAX
};

struct samples {
	double	*v;		/* milliseconds; malloc() */
	size_t	 n, cap;
};

#define STATS_MAX_ERRNAMES 64

struct stats {
	struct samples	 step[STEP__MAX];
	char		*err_name[STATS_MAX_ERRNAMES];	/* malloc() */
	uint64_t	 err_count[STATS_MAX_ERRNAMES];
	uint64_t	 err_other;	/* errors past the table */
	uint64_t	 errors;	/* failed flows and accounts */
	uint64_t	 badnonce_retries;
	uint64_t	 polls;		/* authz and order polls */
};

#define LOAD_MAX_WATCH	8	/* --watch-pid options */
#define LOAD_MAX_COMM	32	/* a process name; the kernel's have 15 */

/* A --watch-pid process over the timed phase. */
struct watched {
	long		 pid;
	char		 comm[LOAD_MAX_COMM];	/* "" if unknown */
	double		 cpu_s;		/* timed phase; -1 if unknown */
};

struct report {
	unsigned	 concurrency;
	uint64_t	 issuances;
	double		 seconds;	/* timed phase, wall */
	double		 cpu_user_s;	/* driver, timed phase */
	double		 cpu_sys_s;
	long		 maxrss_kb;	/* driver */
	double		 server_cpu_s;	/* timed phase; -1 if unknown */
	long		 server_hwm_kb;	/* VmHWM at the end; -1 if unknown */
	const struct watched *watched;	/* borrowed; n_watched of them */
	size_t		 n_watched;
	unsigned	 machine_cpus;	/* in /proc/stat; 0 if unknown */
	double		 machine_busy_pct;	/* all CPUs, timed phase */
	double		 machine_busy_s;	/* CPU seconds, timed phase */
	const char	*directory;
};

const char *step_name(enum step s);
int	stats_add(struct stats *st, enum step s, double ms) ANVIL_MUSTCHECK;
/* Counts one error under name (copied). */
void	stats_error(struct stats *st, const char *name);
void	stats_print_text(struct stats *st, const struct report *r, FILE *f);
int	stats_print_json(struct stats *st, const struct report *r, FILE *f)
	    ANVIL_MUSTCHECK;
void	stats_done(struct stats *st);

/* ------------------------------------------------------------------ */
/* proc.c: CPU time of processes and of the machine, from /proc */

/* One reading of /proc/PID/stat. */
struct pidstat {
	char			 comm[LOAD_MAX_COMM];	/* printable ASCII */
	unsigned long long	 cpu_ticks;	/* utime + stime */
	unsigned long long	 start_ticks;	/* starttime: the process's
						 * identity with its pid */
};

/* One reading of /proc/stat, in clock ticks. */
struct cpustat {
	unsigned long long	 total;	/* user .. steal, all CPUs */
	unsigned long long	 idle;	/* idle + iowait, all CPUs */
	unsigned		 ncpu;	/* cpuN lines */
};

/*
 * Parses the text of a /proc/PID/stat (len bytes, need not be
 * NUL-terminated) into *ret.  Returns 0 or ANVIL_EINVAL.
 */
int	proc_pid_parse(const char *text, size_t len, struct pidstat *ret)
	    ANVIL_MUSTCHECK;
/* Reads /proc/PID/stat.  Returns 0, ANVIL_ENOENT (no such process),
 * ANVIL_EINVAL, ANVIL_EIO. */
int	proc_pid_read(long pid, struct pidstat *ret) ANVIL_MUSTCHECK;
/* CPU seconds of a process from reading a to reading b; -1 if they are
 * not of the same process (start times differ). */
double	pidstat_cpu_s(const struct pidstat *a, const struct pidstat *b);
/* CPU seconds (user + system) used so far by process pid; -1 if
 * unreadable. */
double	proc_cpu_s(long pid);
/* Peak resident set (VmHWM) of process pid in KB; -1 if unreadable. */
long	proc_hwm_kb(long pid);

/*
 * Parses the text of /proc/stat (len bytes): the "cpu" line, the count
 * of "cpuN" lines after it.  Returns 0 or ANVIL_EINVAL (no "cpu" line,
 * no "cpuN" line, a text cut inside them).
 */
int	proc_stat_parse(const char *text, size_t len, struct cpustat *ret)
	    ANVIL_MUSTCHECK;
/* Reads /proc/stat.  Returns 0 or an ANVIL_E* code. */
int	proc_stat_read(struct cpustat *ret) ANVIL_MUSTCHECK;
/* The busy share of all CPUs between readings a and b, 100 * (1 -
 * (idle + iowait) / total), as a percentage; -1 if nothing was counted
 * or the counters went back. */
double	cpustat_busy_pct(const struct cpustat *a, const struct cpustat *b);
/* CPU seconds the machine was busy between a and b (all CPUs); -1 as
 * cpustat_busy_pct. */
double	cpustat_busy_s(const struct cpustat *a, const struct cpustat *b);

/* ------------------------------------------------------------------ */
/* sign.c: digests, signatures and JWS with OpenSSL objects made once */

enum load_md {
	LOAD_SHA256,
	LOAD_SHA384,
	LOAD_SHA512,
	LOAD_MD__MAX
};

struct signer;

/* The digest, fetched on first use and kept (borrowed); NULL if
 * unavailable. */
const EVP_MD *load_md(enum load_md which);
/* One digest at a time, on a context kept for the process: init, any
 * number of updates, final.  Each returns 0 or ANVIL_ECRYPTO. */
int	load_digest_init(enum load_md which) ANVIL_MUSTCHECK;
int	load_digest_update(const void *p, size_t n) ANVIL_MUSTCHECK;
int	load_digest_final(uint8_t out[EVP_MAX_MD_SIZE], size_t *ret_len)
	    ANVIL_MUSTCHECK;
/* Frees the fetched digests and the context (at exit). */
void	load_crypto_done(void);

/* A context for key, initialised for signing, in *ret
 * (EVP_PKEY_CTX_free).  Returns 0 or ANVIL_ECRYPTO. */
int	load_sign_ctx(EVP_PKEY *key, EVP_PKEY_CTX **ret) ANVIL_MUSTCHECK;
/* Signs a digest; *sig_len is sig's size in, the signature's length out
 * (DER for ECDSA).  Returns 0 or ANVIL_ECRYPTO. */
int	load_sign_digest(EVP_PKEY_CTX *ctx, const uint8_t *dgst,
	    size_t dgst_len, uint8_t *sig, size_t *sig_len) ANVIL_MUSTCHECK;
/* DER ECDSA-Sig-Value to r || s of n bytes each in raw.  Returns 0 or
 * ANVIL_ECRYPTO. */
int	load_ecdsa_raw(const uint8_t *der, size_t len, size_t n, uint8_t *raw)
	    ANVIL_MUSTCHECK;

/*
 * A JWS signer for an ES256 account key (borrowed: it must outlive the
 * signer) and its public JWK (copied).  Returns 0 and *ret
 * (signer_free), ANVIL_ECRYPTO, ANVIL_ENOMEM.
 */
int	signer_new(EVP_PKEY *key, const json_t *jwk, struct signer **ret)
	    ANVIL_MUSTCHECK;
void	signer_free(struct signer *s);
/*
 * Writes into out (emptied first) the flattened JWS of payload with the
 * protected header {alg ES256, kid (or jwk when kid is NULL), nonce,
 * url}.  Returns 0 or an ANVIL_E* code (out is then undefined).
 */
int	signer_jws(struct signer *s, const char *kid, const char *nonce,
	    const char *url, const char *payload, size_t payload_len,
	    struct anvil_buf *out) ANVIL_MUSTCHECK;

/* ------------------------------------------------------------------ */
/* cert.c: certificate keys, CSRs, the check of the chain */

#define LOAD_MAX_ISSUERS 8

struct certkey;

/* Issuer certificates seen (DER) and their keys, decoded once, each with
 * a context initialised for verifying, and the base64 text of the PEM
 * block it was first seen in (the same text is not decoded again). */
struct issuers {
	uint8_t		*der[LOAD_MAX_ISSUERS];	/* malloc() */
	size_t		 len[LOAD_MAX_ISSUERS];
	char		*pem[LOAD_MAX_ISSUERS];	/* malloc() */
	size_t		 pem_len[LOAD_MAX_ISSUERS];
	EVP_PKEY	*key[LOAD_MAX_ISSUERS];	/* owned */
	EVP_PKEY_CTX	*vctx[LOAD_MAX_ISSUERS];	/* owned */
	const EVP_MD	*vmd[LOAD_MAX_ISSUERS];	/* digest set in vctx */
	size_t		 n;
};

/* A new P-256 key with its CSR skeleton.  Returns 0 and *ret
 * (certkey_free), ANVIL_ECRYPTO, ANVIL_ENOMEM. */
int	certkey_new(struct certkey **ret) ANVIL_MUSTCHECK;
void	certkey_free(struct certkey *ck);

/* The DER SubjectPublicKeyInfo of ck (borrowed), its length in
 * *ret_len. */
const uint8_t *certkey_spki(const struct certkey *ck, size_t *ret_len);

/*
 * Signs a CSR (PKCS #10, ECDSA with SHA-256) for name with ck: subject
 * CN=name when it fits in 64 characters, one subjectAltName dNSName.
 * Writes the DER into der (of size *len), its length in *len.  Returns
 * 0, ANVIL_E2BIG (der too small, or name too long), ANVIL_ECRYPTO.
 */
int	certkey_csr(struct certkey *ck, const char *name, uint8_t *der,
	    size_t *len) ANVIL_MUSTCHECK;

/*
 * Reads one DER TLV at *p (at most end): its tag in *tag, its contents
 * in *val and *vlen; *p moves past it.  Definite lengths only, up to 4
 * bytes.  Returns 0 or -1.
 */
int	load_der_tlv(const uint8_t **p, const uint8_t *end, unsigned *tag,
	    const uint8_t **val, size_t *vlen) ANVIL_MUSTCHECK;

/*
 * Checks a PEM chain: its first certificate is signed by its second, and
 * contains ck's public key and name.  Returns 0, or -1 with a static
 * reason in *why.
 */
int	cert_check(struct issuers *is, const struct certkey *ck,
	    const char *name, const char *pem, size_t pem_len,
	    const char **why) ANVIL_MUSTCHECK;
void	issuers_done(struct issuers *is);

/* ------------------------------------------------------------------ */
/* flow.c: one worker's account and issuances */

struct bench;
struct worker;

/*
 * Creates worker id: its connection to the directory's origin and a new
 * ES256 account key.  Returns 0 and *ret (worker_free) or an ANVIL_E*
 * code.
 */
int	worker_new(struct bench *b, unsigned id, struct worker **ret)
	    ANVIL_MUSTCHECK;
/* Fetches the directory, a nonce, and creates the account; calls
 * bench_worker_ready when done (or failed). */
void	worker_setup(struct worker *w);
/* Starts issuing (after every worker is ready). */
void	worker_start(struct worker *w);
/* The key authorization for token if w has it published, else NULL. */
const char *worker_keyauth(struct worker *w, const char *token);
void	worker_free(struct worker *w);

/* ------------------------------------------------------------------ */
/* responder.c: the http-01 answers of every worker */

struct responder;

/* Listens on 127.0.0.1:port; answers b->http01_delay_ms after each
 * request.  Returns 0 and *ret, ANVIL_EIO if the port cannot be bound,
 * ANVIL_ENOMEM. */
int	responder_new(struct bench *b, uint16_t port, struct responder **ret)
	    ANVIL_MUSTCHECK;
void	responder_free(struct responder *r);

/* ------------------------------------------------------------------ */
/* main.c: the run */

struct bench {
	struct event_base *base;
	SSL_CTX		*ssl;		/* trusts --ca-bundle; NULL for http */
	const char	*directory;	/* --directory URL */
	const char	*suffix;	/* --names-suffix */
	unsigned	 concurrency;
	uint64_t	 count;		/* 0: run for seconds */
	double		 seconds;
	unsigned	 poll_ms;	/* poll delay without Retry-After */
	unsigned	 max_wait_ms;	/* cap on an honoured Retry-After */
	unsigned	 http01_delay_ms;	/* --http01-delay: each http-01
					 * answer leaves this much after its
					 * request; 0: at once */
	uint64_t	 max_errors;
	int		 verbose;

	struct worker	*workers[LOAD_MAX_WORKERS];
	unsigned	 n_workers;
	unsigned	 n_setup_done;	/* ready or failed */
	unsigned	 n_active;	/* workers running flows */

	struct certkey	**keys;		/* pre-generated; owned */
	size_t		 n_keys, next_key;
	struct issuers	 issuers;

	int		 running;	/* timed phase started, not stopping */
	double		 t_start, t_end;	/* monotonic seconds */
	uint64_t	 started;	/* flows started */
	uint64_t	 issued;	/* flows completed and verified */
	struct stats	 stats;
};

/* Monotonic clock in seconds. */
double	now_mono(void);
/* A worker finished its setup (ok 1) or gave up (ok 0). */
void	bench_worker_ready(struct bench *b, struct worker *w, int ok);
/* May worker start another flow?  Counts the start when it may. */
int	bench_may_start(struct bench *b);
/* A worker stopped (no more flows): the run ends with the last one. */
void	bench_worker_idle(struct bench *b);
/* Counts a failed flow; ends the run past --max-errors. */
void	bench_flow_failed(struct bench *b, const char *what);
/* The next pre-generated certificate key (borrowed). */
struct certkey *bench_next_key(struct bench *b);
/* The key authorization published for token by any worker, or NULL. */
const char *bench_keyauth(struct bench *b, const char *token);

#endif
