/*
 * listener.c - the listening side of the built-in responders (http-01,
 * tls-alpn-01): a socket on every address of one port, bound when the
 * solver starts so that a busy port fails before the CA is asked, and
 * one thread that accepts one connection at a time.
 *
 * The thread runs a poll() loop over the listener and a stop pipe; each
 * accepted connection gets AG_LISTENER_IO_TIMEOUT seconds for every read
 * and write, is handed to the responder's serve function, then closed.
 * One slow peer thus delays the others by a bounded time.  The thread
 * blocks every signal, so SIGINT/SIGTERM reach the main thread, which
 * then stops the listener through the solver's cleanup().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "solver.h"

void
ag_listener_init(struct ag_listener *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = l->stop[0] = l->stop[1] = -1;
}

int
ag_solver_listen(int port)
{
	struct sockaddr_in6	 s6;
	struct sockaddr_in	 s4;
	int			 fd, one = 1, zero = 0, err;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		s6.sin6_addr = in6addr_any;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
		if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0 &&
		    listen(fd, 16) == 0)
			return fd;
		err = errno;
		(void)close(fd);
		if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL)
			return -err;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons((uint16_t)port);
	s4.sin_addr.s_addr = htonl(INADDR_ANY);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&s4, sizeof(s4)) != 0 ||
	    listen(fd, 16) != 0) {
		err = errno;
		(void)close(fd);
		return -err;
	}
	return fd;
}

/* The responder thread: accepts until the stop pipe is readable. */
static void *
run(void *arg)
{
	struct ag_listener	*l = arg;
	struct timeval		 tv = { AG_LISTENER_IO_TIMEOUT, 0 };
	struct pollfd		 pfd[2];
	int			 c;

	for (;;) {
		pfd[0].fd = l->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = l->stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1)
			continue;
		(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		l->serve(l->arg, c);
		(void)close(c);
	}
	return NULL;
}

int
ag_listener_start(struct ag_listener *l, const char *what, int port,
    void (*serve)(void *arg, int fd), void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	l->serve = serve;
	l->arg = arg;
	l->fd = ag_solver_listen(port);
	if (l->fd < 0) {
		rc = l->fd;
		ag_err("%s: cannot listen on port %d: %s%s", what, port,
		    strerror(-rc), rc == -EACCES ?
		    " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" :
		    rc == -EADDRINUSE ? " (a web server there? use --webroot)" :
		    "");
		return rc;
	}
	if (pipe2(l->stop, O_CLOEXEC) != 0) {
		rc = -errno;
		ag_err("%s: pipe: %s", what, strerror(errno));
		return rc;
	}
	/* The thread inherits a mask that blocks every signal. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&l->thread, NULL, run, l);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ag_err("%s: cannot start the responder: %s", what,
		    strerror(rc));
		return -rc;
	}
	l->running = 1;
	return 0;
}

void
ag_listener_stop(struct ag_listener *l)
{
	if (l->running) {
		(void)write(l->stop[1], "x", 1);
		(void)pthread_join(l->thread, NULL);
		l->running = 0;
	}
	if (l->fd >= 0)
		(void)close(l->fd);
	if (l->stop[0] >= 0)
		(void)close(l->stop[0]);
	if (l->stop[1] >= 0)
		(void)close(l->stop[1]);
	l->fd = l->stop[0] = l->stop[1] = -1;
}
