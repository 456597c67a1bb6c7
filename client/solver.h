/*
 * solver.h - the challenge solvers: one file per way of proving control
 * of a name (solver_http01.c, solver_webroot.c, ...), one interface.
 *
 * Life of a solver in one order (order.c):
 *   ag_solver_new()      checks the options, nothing acquired yet;
 *   ops->start()         acquires what may fail early (binds the port)
 *                        before the CA is asked for anything;
 *   ops->add()           once per authorization: serve this answer;
 *   ops->ready()         all answers are in place and visible (dns-01
 *                        waits for propagation here); then order.c tells
 *                        the CA to validate;
 *   ops->wait_served()   (built-in responders only, else NULL) waits
 *                        until the CA has fetched every answer, so that
 *                        order.c polls only once validation is under
 *                        way (RFC 8555 §7.5.1);
 *   ops->cleanup()       removes every answer and releases everything;
 *                        always called once start() was, whatever the
 *                        outcome, also after SIGINT/SIGTERM (the signal
 *                        only sets ag_interrupted: the loops return, and
 *                        cleanup runs on the normal path).
 */
#ifndef ANVIL_SOLVER_H
#define ANVIL_SOLVER_H

#include <pthread.h>

#include <jansson.h>

#include "agent.h"

enum ag_solver_kind {
	AG_SOLVER_HTTP01,	/* built-in http-01 responder */
	AG_SOLVER_WEBROOT,	/* files under a web server's root */
	AG_SOLVER_TLSALPN01,	/* built-in tls-alpn-01 responder */
	AG_SOLVER_DNS01_HOOK,	/* dns-01: a program sets the TXT */
	AG_SOLVER_DNS01_RFC2136,	/* dns-01: signed DNS UPDATE */
	AG_SOLVER__MAX
};

/* What the user chose, as given on the command line or in renewal. */
struct ag_solver_conf {
	enum ag_solver_kind	 kind;
	int			 port;		/* http01, tlsalpn01 */
	char			*webroot;	/* webroot; malloc() */
	char			*hook;		/* dns01-hook program */
	char			*rfc2136;	/* dns01-rfc2136 HOST:PORT */
	char			*tsig_key;	/* dns01-rfc2136 key file */
	char			*dns_resolver;	/* dns-01: ADDR:PORT or NULL */
	int			 propagation_timeout; /* dns-01: seconds */
	int			 dns_timeout;	/* dns-01: seconds a query */
};

/* dns-01 defaults and bounds, in seconds. */
#define AG_PROPAGATION_TIMEOUT	300
#define AG_PROPAGATION_MAX	3600
#define AG_DNS_TIMEOUT		5
#define AG_DNS_TIMEOUT_MAX	60

struct ag_solver;

struct ag_solver_ops {
	const char	*name;		/* "http01-standalone" */
	const char	*challenge;	/* "http-01" */
	int		(*start)(struct ag_solver *s);
	/* name is the identifier, token and keyauth per RFC 8555 §8.1. */
	int		(*add)(struct ag_solver *s, const char *name,
			    const char *token, const char *keyauth);
	int		(*ready)(struct ag_solver *s);
	/* 0 once every answer was served, ANVIL_ETIMEDOUT after ms,
	 * AG_EINTR on a signal.  NULL: the solver cannot tell. */
	int		(*wait_served)(struct ag_solver *s, long ms);
	void		(*cleanup)(struct ag_solver *s);
};

struct ag_solver {
	const struct ag_solver_ops	*ops;
	struct ag_solver_conf		 conf;	/* owned copy */
	void				*priv;	/* the solver's own state */
};

extern const struct ag_solver_ops ag_solver_http01_ops;
extern const struct ag_solver_ops ag_solver_webroot_ops;
extern const struct ag_solver_ops ag_solver_tlsalpn01_ops;
extern const struct ag_solver_ops ag_solver_dns01_hook_ops;
extern const struct ag_solver_ops ag_solver_dns01_rfc2136_ops;

/*
 * A listening TCP socket on port, every address: IPv6 accepting IPv4 too
 * when the host has IPv6, else IPv4.  Returns the descriptor
 * (non-blocking, close-on-exec) or -errno.  (listener.c)
 */
int		 ag_solver_listen(int port);

/*
 * The listening side of a built-in responder (listener.c): the socket of
 * ag_solver_listen() and a thread that accepts one connection at a time,
 * bounds its reads and writes to AG_LISTENER_IO_TIMEOUT seconds each,
 * calls serve(arg, fd) and closes it.  The thread blocks every signal.
 */
#define AG_LISTENER_IO_TIMEOUT	5

struct ag_listener {
	int		 fd;		/* listening socket, or -1 */
	int		 stop[2];	/* stop pipe: main writes, thread reads */
	pthread_t	 thread;
	int		 running;	/* thread started */
	void		(*serve)(void *arg, int fd);
	void		*arg;
};

/* Sets the descriptors to -1: ag_listener_stop() is then always safe. */
void		 ag_listener_init(struct ag_listener *l);
/*
 * Binds port and starts the thread; what ("http-01") names the solver in
 * the ag_err message on failure.  0 or -errno; on failure the caller still
 * calls ag_listener_stop().
 */
int		 ag_listener_start(struct ag_listener *l, const char *what,
		    int port, void (*serve)(void *arg, int fd), void *arg);
/* Stops the thread (waiting for the connection it serves), closes all. */
void		 ag_listener_stop(struct ag_listener *l);

/*
 * For the responders' wait_served(): waits on cv (with mu, which guards
 * *served) until *served >= want or ms pass, waking every 100 ms to see
 * a signal.  0, ANVIL_ETIMEDOUT or AG_EINTR.
 */
int		 ag_solver_wait(pthread_mutex_t *mu, pthread_cond_t *cv,
		    const size_t *served, size_t want, long ms);

/* "http01-standalone" -> AG_SOLVER_HTTP01; AG_SOLVER__MAX if unknown. */
enum ag_solver_kind ag_solver_kind_parse(const char *name);
const char	*ag_solver_kind_name(enum ag_solver_kind k);
/* Makes a solver from conf (copied).  ANVIL_EINVAL with ag_err. */
int		 ag_solver_new(const struct ag_solver_conf *conf,
		    struct ag_solver **ret);
void		 ag_solver_free(struct ag_solver *s);
/* conf as JSON for the renewal file, and back. */
json_t		*ag_solver_conf_json(const struct ag_solver_conf *conf);
int		 ag_solver_conf_parse(const json_t *j,
		    struct ag_solver_conf *ret);
void		 ag_solver_conf_done(struct ag_solver_conf *conf);

#endif
