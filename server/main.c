/*
 * main.c - the anvil-ca command: init, root, serve, revoke, list.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>

#include "anvil/anvil.h"
#include "admin.h"
#include "keycache.h"
#include "nonce.h"
#include "pub.h"
#include "revoc.h"
#include "server.h"
#include "signer.h"
#include "store.h"
#include "va.h"

#define DEFAULT_LISTEN "127.0.0.1:14000"
#define MAX_TLS_NAMES 32
/* Account keys kept built: about 2 KB each at most (RSA 4096). */
#define KEYCACHE_SLOTS 16384

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: anvil-ca init --state DIR [--key-type ec256|ec384|rsa2048|"
	    "rsa3072|rsa4096]\n"
	    "                     [--tls-name NAME]... [--ca-name NAME]\n"
	    "                     [--public-base-url http://HOST:PORT]\n"
	    "       anvil-ca root --state DIR\n"
	    "       anvil-ca serve --state DIR [--listen ADDR:PORT] "
	    "[--base-url URL]\n"
	    "                      [--http01-port N] [--tlsalpn01-port N] "
	    "[--resolver ADDR:PORT]\n"
	    "                      [--public-listen ADDR:PORT]\n"
	    "       anvil-ca revoke --state DIR --serial HEX --reason REASON "
	    "[--invalidity-date EPOCH]\n"
	    "       anvil-ca list --state DIR [--revoked] [--expiring DAYS] "
	    "[--json]\n");
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "tls-name", required_argument, NULL, 't' },
		{ "ca-name", required_argument, NULL, 'n' },
		{ "public-base-url", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *names[MAX_TLS_NAMES];
	struct ca_init_opts o;
	int c, rc;

	memset(&o, 0, sizeof(o));
	o.key_type = "ec256";
	o.ca_name = "Anvil";
	o.tls_names = names;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.state_dir = optarg; break;
		case 'k': o.key_type = optarg; break;
		case 'n': o.ca_name = optarg; break;
		case 'p': o.public_base_url = optarg; break;
		case 't':
			if (o.n_tls_names >= MAX_TLS_NAMES) {
				fprintf(stderr, "anvil-ca: at most %d "
				    "--tls-name\n", MAX_TLS_NAMES);
				return 2;
			}
			names[o.n_tls_names++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.state_dir == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (anvil_key_type_parse(o.key_type) == ANVIL_KEY__MAX ||
	    anvil_key_type_parse(o.key_type) == ANVIL_KEY_ED25519) {
		fprintf(stderr, "anvil-ca: unknown --key-type %s\n",
		    o.key_type);
		return 2;
	}
	rc = ca_init(&o);
	if (rc == ANVIL_EEXIST) {
		fprintf(stderr, "anvil-ca: %s already holds a CA; "
		    "refusing to overwrite it\n", o.state_dir);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: init of %s failed: %s\n",
		    o.state_dir, anvil_strerror(rc));
		return 1;
	}
	printf("anvil-ca: created a CA in %s\n"
	    "anvil-ca: root certificate %s/%s; start it with: anvil-ca serve "
	    "--state %s\n", o.state_dir, o.state_dir, STATE_ROOT_CERT,
	    o.state_dir);
	return 0;
}

static int
cmd_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *state = NULL;
	char path[1024], *pem = NULL;
	size_t len = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's') {
			usage(stderr);
			return 2;
		}
		state = optarg;
	}
	if (state == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", state, STATE_ROOT_CERT);
	rc = anvil_file_read(path, 64 * 1024, &pem, &len);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: cannot read %s: %s\n", path,
		    anvil_strerror(rc));
		return 1;
	}
	fwrite(pem, 1, len, stdout);
	free(pem);
	return 0;
}

/* How long the loop goes on after SIGTERM or SIGINT to send the answers
 * it has (their commit, fsync and write take milliseconds). */
static const struct timeval stop_grace = { 0, 300 * 1000 };

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	fprintf(stderr, "anvil-ca: signal %d, stopping\n", (int)sig);
	/* Answers waiting for a validation leave now, and the loop runs
	 * a moment longer to commit and send them; new ones do not wait
	 * any more. */
	front_park_stop(srv);
	event_base_loopexit(srv->base, &stop_grace);
}

/* The URL printed at start: the configured base, else localhost for
 * loopback and wildcard listeners, else the listen address itself. */
static void
print_directory(const struct server *srv)
{
	char host[300];
	const char *l = srv->cfg.listen;
	const char *colon = strrchr(l, ':');

	if (srv->cfg.base_url != NULL) {
		printf("anvil-ca: directory %s%s\n", srv->cfg.base_url,
		    PATH_DIRECTORY);
	} else {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - l), l);
		if (strcmp(host, "127.0.0.1") == 0 ||
		    strcmp(host, "[::1]") == 0 || strcmp(host, "0.0.0.0") == 0 ||
		    strcmp(host, "[::]") == 0 || strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "localhost");
		printf("anvil-ca: directory https://%s:%d%s\n", host,
		    srv->port, PATH_DIRECTORY);
	}
	fflush(stdout);
}

/*
 * The event base.  With epoll, a changelist: an event disabled then
 * enabled again in one pass of the loop (evhttp does so for each request
 * on a kept-alive connection) costs no epoll_ctl.  No descriptor of ours
 * is dup()ed, which is what the changelist cannot follow.  NULL on error.
 */
static struct event_base *
base_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base = NULL;

	cfg = event_config_new();
	if (cfg == NULL)
		return NULL;
	if (event_config_set_flag(cfg,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
		base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/*
 * Raises the soft limit on open descriptors to the hard one, as nginx's
 * worker_rlimit_nofile and Go's runtime do: the usual soft limit, 1024,
 * is below what the server may hold at once (client connections, and up
 * to 256 validations per VA thread with a socket or three each).  A
 * failure leaves the limit as it was: the server still runs.
 */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "base-url", required_argument, NULL, 'b' },
		{ "http01-port", required_argument, NULL, 'H' },
		{ "tlsalpn01-port", required_argument, NULL, 'T' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "public-listen", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const keys[] = {
		['l'] = "listen", ['b'] = "base_url", ['H'] = "http01_port",
		['T'] = "tlsalpn01_port", ['r'] = "resolver",
		['P'] = "public_listen",
	};
	struct server srv;
	struct va_config vc;
	const char *state = NULL;
	char path[1024], err[512];
	struct { int key; char *val; } over[16];
	size_t n_over = 0, i;
	int c, rc = 1;

	memset(&srv, 0, sizeof(srv));
	config_init(&srv.cfg);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's') {
			state = optarg;
			continue;
		}
		if (c == '?' || c == ':' || n_over >= 16) {
			usage(stderr);
			return 2;
		}
		over[n_over].key = c;
		over[n_over++].val = optarg;
	}
	if (state == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	srv.cfg.state_dir = strdup(state);
	if (srv.cfg.state_dir == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", state, STATE_CONFIG);
	if (access(path, F_OK) == 0 &&
	    config_load(&srv.cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "anvil-ca: %s\n", err);
		goto out;
	}
	for (i = 0; i < n_over; i++) {
		if (config_set(&srv.cfg, keys[over[i].key], over[i].val, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "anvil-ca: --%s: %s\n",
			    keys[over[i].key], err);
			goto out;
		}
	}
	if (srv.cfg.listen == NULL &&
	    config_set(&srv.cfg, "listen", DEFAULT_LISTEN, err,
	    sizeof(err)) != 0)
		goto out;

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "anvil-ca: curl_global_init failed\n");
		goto out;
	}
	srv.base = base_new();
	if (srv.base == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", state, STATE_DB);
	rc = store_open(path, &srv.store);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: cannot open the database %s: %s\n",
		    path, anvil_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = signer_open(state, &srv.signer);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: cannot load the CA from %s: %s "
		    "(did you run anvil-ca init --state %s?)\n", state,
		    anvil_strerror(rc), state);
		rc = 1;
		goto out;
	}
	rc = nonce_pool_new(&srv.nonces);
	if (rc == 0)
		rc = keycache_new(KEYCACHE_SLOTS, &srv.keys);
	if (rc != 0)
		goto fail;
	memset(&vc, 0, sizeof(vc));
	vc.http01_port = srv.cfg.http01_port;
	vc.tlsalpn01_port = srv.cfg.tlsalpn01_port;
	vc.resolver = srv.cfg.resolver;
	vc.threads = srv.cfg.va_threads;
	vc.timeout_ms = 10000;
	rc = va_new(srv.base, &vc, ra_validation_done, &srv, &srv.va);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: cannot start validation: %s\n",
		    anvil_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = front_start(&srv);
	if (rc != 0)
		goto fail;
	rc = pub_start(&srv);
	if (rc == 0)
		rc = revoc_start(&srv);
	if (rc != 0)
		goto fail;
	srv.sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	srv.sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	if (srv.sigterm == NULL || srv.sigint == NULL ||
	    event_add(srv.sigterm, NULL) != 0 ||
	    event_add(srv.sigint, NULL) != 0)
		goto fail;
	/* Validations cut short by the last stop: their clients wait. */
	rc = ra_resume_validations(&srv);
	if (rc < 0)
		fprintf(stderr, "anvil-ca: cannot start again the validations "
		    "left processing: %s\n", anvil_strerror(rc));
	else if (rc > 0)
		printf("anvil-ca: %d validations left processing at the last "
		    "stop started again\n", rc);
	rc = 0;
	print_directory(&srv);
	printf("anvil-ca: public %s\n", srv.pub_base);
	fflush(stdout);
	if (event_base_dispatch(srv.base) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "anvil-ca: cannot start: %s\n", anvil_strerror(rc));
	rc = 1;
out:
	revoc_stop(&srv);
	pub_stop(&srv);
	front_stop(&srv);
	va_free(srv.va);
	if (srv.sigterm != NULL)
		event_free(srv.sigterm);
	if (srv.sigint != NULL)
		event_free(srv.sigint);
	nonce_pool_free(srv.nonces);
	keycache_free(srv.keys);
	signer_free(srv.signer);
	store_close(srv.store);
	if (srv.base != NULL)
		event_base_free(srv.base);
	config_done(&srv.cfg);
	curl_global_cleanup();
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "root") == 0)
		return cmd_root(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return admin_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return admin_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "anvil-ca: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
