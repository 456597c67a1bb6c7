/*
 * main.c - the anvil command line: options, the five commands, CA
 * failover, and exit codes.
 *
 *   anvil [--server URL]... [--ca-bundle FILE] [--state DIR] [--config FILE]
 *         COMMAND [options]
 *
 * Options may come before or after the command.  Exit 0 on success, 1 on
 * failure (one line on stderr naming the cause), 2 on a usage error, 130
 * when interrupted.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <curl/curl.h>

#include "agent.h"
#include "solver.h"

#define EXIT_USAGE	2
#define EXIT_INTR	130

/*
 * 1: tear the libraries down at exit (sanitizer builds, so that
 * LeakSanitizer checks a heap in its final state); 0: leave with _exit()
 * once the output is flushed.
 */
#if defined(__SANITIZE_ADDRESS__)
#define AG_EXIT_TEARDOWN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AG_EXIT_TEARDOWN	1
#endif
#endif
#ifndef AG_EXIT_TEARDOWN
#define AG_EXIT_TEARDOWN	0
#endif

enum cmd {
	CMD_REGISTER,
	CMD_ISSUE,
	CMD_RENEW,
	CMD_REVOKE,
	CMD_LIST,
	CMD__MAX
};

static const char *const cmd_names[CMD__MAX] = {
	"register", "issue", "renew", "revoke", "list",
};

/* What the command line said, before it is merged with the config. */
struct opts {
	enum cmd		 cmd;
	const char		*config;
	const char		*servers[AG_MAX_SERVERS];
	size_t			 n_servers;
	const char		*ca_bundle;
	const char		*state;
	const char		*email;
	int			 agree_tos;
	const char		*key_type;
	char			*names[ANVIL_MAX_IDENTIFIERS];	/* malloc() */
	size_t			 n_names;
	const char		*cert_name;
	int			 n_solvers;
	struct ag_solver_conf	 solver;
	int			 http01_port;
	int			 tlsalpn01_port;
	char			*paths[3];	/* absolute paths; malloc() */
	const char		*deploy_hook;
	int			 force;
	const char		*reason;
	int			 json;
	unsigned		 seen;	/* options given, by bit OPT_* */
};

enum {
	OPT_SERVER = 256, OPT_CA_BUNDLE, OPT_STATE, OPT_CONFIG, OPT_EMAIL,
	OPT_AGREE_TOS, OPT_KEY_TYPE, OPT_CERT_NAME, OPT_HTTP01,
	OPT_HTTP01_PORT, OPT_WEBROOT, OPT_TLSALPN01, OPT_TLSALPN01_PORT,
	OPT_DNS01_HOOK, OPT_DNS01_RFC2136, OPT_TSIG_KEY, OPT_DEPLOY_HOOK,
	OPT_FORCE, OPT_REASON, OPT_JSON, OPT_VERSION, OPT_DNS_RESOLVER,
	OPT_PROPAGATION_TIMEOUT, OPT_DNS_TIMEOUT
};

/* Which command each option belongs to (bit per command; 0 = global). */
#define C(x)	(1u << (x))
static const struct {
	int		 opt;
	unsigned	 cmds;
} opt_cmds[] = {
	{ OPT_EMAIL, C(CMD_REGISTER) | C(CMD_ISSUE) },
	{ OPT_AGREE_TOS, C(CMD_REGISTER) | C(CMD_ISSUE) },
	{ OPT_KEY_TYPE, C(CMD_REGISTER) | C(CMD_ISSUE) },
	{ 'd', C(CMD_ISSUE) },
	{ OPT_CERT_NAME, C(CMD_ISSUE) | C(CMD_RENEW) | C(CMD_REVOKE) },
	{ OPT_HTTP01, C(CMD_ISSUE) },
	{ OPT_HTTP01_PORT, C(CMD_ISSUE) },
	{ OPT_WEBROOT, C(CMD_ISSUE) },
	{ OPT_TLSALPN01, C(CMD_ISSUE) },
	{ OPT_TLSALPN01_PORT, C(CMD_ISSUE) },
	{ OPT_DNS01_HOOK, C(CMD_ISSUE) },
	{ OPT_DNS01_RFC2136, C(CMD_ISSUE) },
	{ OPT_TSIG_KEY, C(CMD_ISSUE) },
	{ OPT_DNS_RESOLVER, C(CMD_ISSUE) },
	{ OPT_PROPAGATION_TIMEOUT, C(CMD_ISSUE) },
	{ OPT_DNS_TIMEOUT, C(CMD_ISSUE) },
	{ OPT_DEPLOY_HOOK, C(CMD_ISSUE) | C(CMD_RENEW) },
	{ OPT_FORCE, C(CMD_RENEW) },
	{ OPT_REASON, C(CMD_REVOKE) },
	{ OPT_JSON, C(CMD_LIST) },
};

static const struct option longopts[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "ca-bundle", required_argument, NULL, OPT_CA_BUNDLE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "agree-tos", no_argument, NULL, OPT_AGREE_TOS },
	{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
	{ "domain", required_argument, NULL, 'd' },
	{ "cert-name", required_argument, NULL, OPT_CERT_NAME },
	{ "http01-standalone", no_argument, NULL, OPT_HTTP01 },
	{ "http01-port", required_argument, NULL, OPT_HTTP01_PORT },
	{ "webroot", required_argument, NULL, OPT_WEBROOT },
	{ "tlsalpn01-standalone", no_argument, NULL, OPT_TLSALPN01 },
	{ "tlsalpn01-port", required_argument, NULL, OPT_TLSALPN01_PORT },
	{ "dns01-hook", required_argument, NULL, OPT_DNS01_HOOK },
	{ "dns01-rfc2136", required_argument, NULL, OPT_DNS01_RFC2136 },
	{ "tsig-key", required_argument, NULL, OPT_TSIG_KEY },
	{ "dns-resolver", required_argument, NULL, OPT_DNS_RESOLVER },
	{ "propagation-timeout", required_argument, NULL,
	    OPT_PROPAGATION_TIMEOUT },
	{ "dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT },
	{ "deploy-hook", required_argument, NULL, OPT_DEPLOY_HOOK },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: anvil [--server URL]... [--ca-bundle FILE] [--state DIR]\n"
"             [--config FILE] COMMAND [options]\n"
"  register --email ADDR --agree-tos [--key-type ec256|ec384|rsa2048|ed25519]\n"
"  issue -d NAME [-d NAME]... [--cert-name NAME]\n"
"        [--key-type ec256|ec384|rsa2048|rsa3072|rsa4096]\n"
"        --http01-standalone [--http01-port N] | --webroot DIR\n"
"        | --tlsalpn01-standalone [--tlsalpn01-port N]\n"
"        | --dns01-hook PROGRAM | --dns01-rfc2136 HOST:PORT --tsig-key FILE\n"
"        [--dns-resolver ADDR:PORT] [--propagation-timeout SECS]\n"
"        [--dns-timeout SECS]\n"
"        [--deploy-hook COMMAND] [--email ADDR --agree-tos]\n"
"  renew [--cert-name NAME] [--force] [--deploy-hook COMMAND]\n"
"  revoke --cert-name NAME\n"
"         [--reason unspecified|keyCompromise|superseded|cessationOfOperation]\n"
"  list [--json]\n"
"See docs/agent.md.\n");
}

/* Prints "anvil: MESSAGE" once: the sentence left by ag_err, or rc. */
static void
report(const char *what, int rc)
{
	const char	*m = ag_errstr();

	if (m[0] != '\0')
		fprintf(stderr, "anvil: %s%s%s\n", what != NULL ? what : "",
		    what != NULL ? ": " : "", m);
	else
		fprintf(stderr, "anvil: %s%s%s\n", what != NULL ? what : "",
		    what != NULL ? ": " : "", ag_strerror(rc));
}

static int
parse_port(const char *s, int *ret)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*ret = (int)v;
	return 0;
}

static int
parse_secs(const char *s, int max, int *ret)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
		return -1;
	*ret = (int)v;
	return 0;
}

/*
 * The solver's files as absolute paths, so that "anvil renew" run from
 * elsewhere (cron, systemd) finds them: the webroot, the key file, and a
 * hook given as a path (a bare name is looked up in PATH when run).  A
 * path that does not resolve stays as given: the solver names it.
 */
static int
absolute_paths(struct opts *o)
{
	char	**slots[3] = { &o->solver.webroot, &o->solver.tsig_key,
		    &o->solver.hook };
	char	 *abs;
	size_t	  i;

	for (i = 0; i < 3; i++) {
		if (*slots[i] == NULL || (*slots[i])[0] == '/' ||
		    (slots[i] == &o->solver.hook &&
		    strchr(*slots[i], '/') == NULL))
			continue;
		abs = realpath(*slots[i], NULL);
		if (abs == NULL) {
			if (errno == ENOMEM)
				return -1;
			continue;
		}
		o->paths[i] = abs;
		*slots[i] = abs;
	}
	return 0;
}

/* Lowercases and checks one -d NAME, adds it unless present. */
static int
add_name(struct opts *o, const char *arg)
{
	char	*s;
	size_t	 i;

	s = strdup(arg);
	if (s == NULL)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	if (anvil_dns_name_check(s, 1) != 0) {
		fprintf(stderr, "anvil: not a DNS name: \"%s\"\n", arg);
		free(s);
		return -1;
	}
	for (i = 0; i < o->n_names; i++) {
		if (strcmp(o->names[i], s) == 0) {
			free(s);
			return 0;
		}
	}
	if (o->n_names == ANVIL_MAX_IDENTIFIERS) {
		fprintf(stderr, "anvil: more than %d names\n",
		    ANVIL_MAX_IDENTIFIERS);
		free(s);
		return -1;
	}
	o->names[o->n_names++] = s;
	return 0;
}

/* Reads the command line into o.  0, or EXIT_USAGE after a message. */
static int
parse_args(int argc, char *argv[], struct opts *o)
{
	const char	*cmd = NULL;
	size_t		 i;
	int		 ch, k, idx;
	unsigned	 seen_cmds[64];
	int		 n_seen = 0;

	o->cmd = CMD__MAX;
	o->solver.kind = AG_SOLVER__MAX;
	o->solver.propagation_timeout = AG_PROPAGATION_TIMEOUT;
	o->solver.dns_timeout = AG_DNS_TIMEOUT;
	o->http01_port = 80;
	o->tlsalpn01_port = 443;
	/* Permuting getopt_long: options anywhere, the command is the one
	 * operand. */
	while ((ch = getopt_long(argc, argv, "d:h", longopts, &idx)) != -1) {
		if (n_seen < 64)
			seen_cmds[n_seen++] = (unsigned)ch;
		switch (ch) {
		case OPT_SERVER:
			if (o->n_servers == AG_MAX_SERVERS) {
				fprintf(stderr, "anvil: at most %d --server\n",
				    AG_MAX_SERVERS);
				return EXIT_USAGE;
			}
			o->servers[o->n_servers++] = optarg;
			break;
		case OPT_CA_BUNDLE:
			o->ca_bundle = optarg;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_EMAIL:
			o->email = optarg;
			break;
		case OPT_AGREE_TOS:
			o->agree_tos = 1;
			break;
		case OPT_KEY_TYPE:
			o->key_type = optarg;
			break;
		case 'd':
			if (add_name(o, optarg) != 0)
				return EXIT_USAGE;
			break;
		case OPT_CERT_NAME:
			o->cert_name = optarg;
			break;
		case OPT_HTTP01:
			o->n_solvers++;
			o->solver.kind = AG_SOLVER_HTTP01;
			break;
		case OPT_HTTP01_PORT:
			if (parse_port(optarg, &o->http01_port) != 0) {
				fprintf(stderr, "anvil: bad --http01-port "
				    "\"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_WEBROOT:
			o->n_solvers++;
			o->solver.kind = AG_SOLVER_WEBROOT;
			o->solver.webroot = optarg;
			break;
		case OPT_TLSALPN01:
			o->n_solvers++;
			o->solver.kind = AG_SOLVER_TLSALPN01;
			break;
		case OPT_TLSALPN01_PORT:
			if (parse_port(optarg, &o->tlsalpn01_port) != 0) {
				fprintf(stderr, "anvil: bad --tlsalpn01-port "
				    "\"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DNS01_HOOK:
			o->n_solvers++;
			o->solver.kind = AG_SOLVER_DNS01_HOOK;
			o->solver.hook = optarg;
			break;
		case OPT_DNS01_RFC2136:
			o->n_solvers++;
			o->solver.kind = AG_SOLVER_DNS01_RFC2136;
			o->solver.rfc2136 = optarg;
			break;
		case OPT_TSIG_KEY:
			o->solver.tsig_key = optarg;
			break;
		case OPT_DNS_RESOLVER:
			o->solver.dns_resolver = optarg;
			break;
		case OPT_PROPAGATION_TIMEOUT:
			if (parse_secs(optarg, AG_PROPAGATION_MAX,
			    &o->solver.propagation_timeout) != 0) {
				fprintf(stderr, "anvil: bad --propagation-"
				    "timeout \"%s\" (1..%d seconds)\n", optarg,
				    AG_PROPAGATION_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_DNS_TIMEOUT:
			if (parse_secs(optarg, AG_DNS_TIMEOUT_MAX,
			    &o->solver.dns_timeout) != 0) {
				fprintf(stderr, "anvil: bad --dns-timeout "
				    "\"%s\" (1..%d seconds)\n", optarg,
				    AG_DNS_TIMEOUT_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_DEPLOY_HOOK:
			o->deploy_hook = optarg;
			break;
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_REASON:
			o->reason = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_VERSION:
			printf("anvil 0.1.0\n");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	o->solver.port = o->solver.kind == AG_SOLVER_TLSALPN01 ?
	    o->tlsalpn01_port : o->http01_port;
	if (o->solver.tsig_key != NULL &&
	    o->solver.kind != AG_SOLVER_DNS01_RFC2136) {
		fprintf(stderr, "anvil: --tsig-key goes with "
		    "--dns01-rfc2136\n");
		return EXIT_USAGE;
	}
	if (absolute_paths(o) != 0) {
		fprintf(stderr, "anvil: out of memory\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (optind + 1 < argc) {
		fprintf(stderr, "anvil: unexpected argument \"%s\"\n",
		    argv[optind + 1]);
		return EXIT_USAGE;
	}
	for (k = 0; k < CMD__MAX; k++)
		if (strcmp(cmd, cmd_names[k]) == 0)
			o->cmd = (enum cmd)k;
	if (o->cmd == CMD__MAX) {
		fprintf(stderr, "anvil: unknown command \"%s\"\n", cmd);
		return EXIT_USAGE;
	}
	/* Options of another command are mistakes, said as such. */
	for (k = 0; k < n_seen; k++) {
		for (i = 0; i < sizeof(opt_cmds) / sizeof(opt_cmds[0]); i++) {
			if ((unsigned)opt_cmds[i].opt != seen_cmds[k])
				continue;
			if ((opt_cmds[i].cmds & C(o->cmd)) == 0) {
				fprintf(stderr, "anvil: %s does not take "
				    "that option (%s)\n", cmd,
				    seen_cmds[k] == 'd' ? "-d" : "see --help");
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* The merged configuration: defaults, --config FILE, command line. */
static int
make_config(const struct opts *o, struct ag_config *c)
{
	size_t	 i;
	int	 rc;

	ag_config_init(c);
	if (o->config != NULL) {
		rc = ag_config_load(c, o->config);
		if (rc != 0)
			return rc;
	}
	if (o->n_servers > 0) {
		for (i = 0; i < c->n_servers; i++)
			free(c->servers[i]);
		c->n_servers = 0;
		for (i = 0; i < o->n_servers; i++) {
			rc = ag_config_set(c, "server", o->servers[i],
			    "--server");
			if (rc != 0)
				return rc;
		}
	}
	if (o->ca_bundle != NULL) {
		rc = ag_config_set(c, "ca_bundle", o->ca_bundle, "--ca-bundle");
		if (rc != 0)
			return rc;
	}
	if (o->state != NULL) {
		rc = ag_config_set(c, "state", o->state, "--state");
		if (rc != 0)
			return rc;
	}
	if (o->email != NULL) {
		rc = ag_config_set(c, "email", o->email, "--email");
		if (rc != 0)
			return rc;
	}
	if (o->agree_tos)
		c->agree_tos = 1;
	if (c->ca_bundle != NULL && access(c->ca_bundle, R_OK) != 0) {
		ag_err("cannot read CA bundle %s: %s", c->ca_bundle,
		    strerror(errno));
		return ANVIL_ENOENT;
	}
	return ag_config_finish(c);
}

/* Formats t as a date for people. */
static void
fmt_time(int64_t t, char out[32])
{
	anvil_time_fmt(t, out);
}

/*
 * Gets a certificate for ren (names, key type, solver, hook) from the
 * first CA in servers that gives one, stores it, records ren with the CA
 * that issued it, and runs the deploy hook.  Moves on to the next CA when
 * one fails (AG_ECA: unreachable, 5xx, refusal, invalid order); stops at
 * a local failure.
 */
static int
obtain(const struct ag_config *c, char *const *servers, size_t n_servers,
    struct ag_renewal *ren, const struct ag_solver_conf *sc)
{
	struct ag_acme		 a;
	struct ag_issued	 got;
	struct ag_certinfo	 ci;
	struct ag_solver	*s = NULL;
	char			 live[4200], exp[32];
	char			*srv;
	size_t			 i;
	int			 rc = ANVIL_EINVAL;

	memset(&got, 0, sizeof(got));
	memset(&ci, 0, sizeof(ci));
	rc = ag_solver_new(sc, &s);
	if (rc != 0)
		return rc;
	for (i = 0; i < n_servers; i++) {
		ag_err_clear();
		rc = ag_acme_open(&a, c, servers[i]);
		if (rc != 0)
			goto next;
		rc = ag_account_ensure(&a, c->state, ren->email,
		    ren->agree_tos, 1, ANVIL_KEY_EC256);
		if (rc == 0)
			rc = ag_order_run(&a, s, (const char *const *)ren->names,
			    ren->n_names, ren->key_type, &got);
		ag_acme_close(&a);
next:
		if (rc == 0 || ag_interrupted)
			break;
		if (i + 1 < n_servers && (rc == AG_ECA ||
		    rc == ANVIL_ETIMEDOUT)) {
			fprintf(stderr, "anvil: %s; trying the next CA\n",
			    ag_errstr());
			continue;
		}
		goto out;
	}
	if (rc != 0)
		goto out;
	ag_err_clear();
	rc = ag_store_save(c->state, ren->name, got.pem, got.pem_len, got.key,
	    (const char *const *)ren->names, ren->n_names, &ci);
	if (rc != 0)
		goto out;
	srv = strdup(servers[i]);	/* before servers[i] may be freed */
	if (srv == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	free(ren->server);
	ren->server = srv;
	if (ren->revoked != NULL) {
		free(ren->revoked);
		ren->revoked = NULL;
	}
	rc = ag_renewal_save(c->state, ren);
	if (rc != 0)
		goto out;
	(void)ag_store_live(c->state, ren->name, live, sizeof(live));
	fmt_time(ci.not_after, exp);
	/* servers[i] may be the old ren->server, freed above. */
	printf("%s: certificate stored in %s (serial %s, expires %s, "
	    "issued by %s)\n", ren->name, live, ci.serial, exp, ren->server);
	if (ren->deploy_hook != NULL)
		rc = ag_deploy_run(ren->deploy_hook, ren->name, live,
		    (const char *const *)ren->names, ren->n_names);
out:
	ag_certinfo_done(&ci);
	ag_issued_done(&got);
	ag_solver_free(s);
	return rc;
}

static int
cmd_register(const struct opts *o, const struct ag_config *c)
{
	struct ag_acme		 a;
	enum anvil_key_type	 kt = ANVIL_KEY_EC256;
	int			 rc;

	if (c->n_servers == 0) {
		ag_err("register: no --server given");
		return ANVIL_EINVAL;
	}
	if (!c->agree_tos) {
		ag_err("register: the CA's terms of service must be agreed "
		    "to: add --agree-tos");
		return ANVIL_EINVAL;
	}
	if (o->key_type != NULL) {
		kt = anvil_key_type_parse(o->key_type);
		if (kt != ANVIL_KEY_EC256 && kt != ANVIL_KEY_EC384 &&
		    kt != ANVIL_KEY_RSA2048 && kt != ANVIL_KEY_ED25519) {
			ag_err("register: --key-type must be ec256, ec384, "
			    "rsa2048 or ed25519");
			return ANVIL_EINVAL;
		}
	}
	rc = ag_acme_open(&a, c, c->servers[0]);
	if (rc != 0)
		return rc;
	rc = ag_account_ensure(&a, c->state, c->email, 1, 1, kt);
	if (rc == 0)
		printf("account %s at %s\n", a.kid, a.url);
	ag_acme_close(&a);
	return rc;
}

/* The default certificate name: the first name, without "*.". */
static const char *
default_cert_name(const char *first)
{
	return strncmp(first, "*.", 2) == 0 ? first + 2 : first;
}

static int
cmd_issue(const struct opts *o, const struct ag_config *c)
{
	struct ag_renewal	 ren;
	size_t			 i;
	int			 rc = ANVIL_EINVAL;

	memset(&ren, 0, sizeof(ren));
	if (o->n_names == 0) {
		ag_err("issue: no name: add -d NAME");
		goto out;
	}
	if (o->n_solvers != 1) {
		ag_err("issue: choose one solver: --http01-standalone, "
		    "--tlsalpn01-standalone, --webroot DIR, --dns01-hook "
		    "PROGRAM or --dns01-rfc2136 HOST:PORT");
		goto out;
	}
	if (c->n_servers == 0) {
		ag_err("issue: no --server given");
		goto out;
	}
	ren.name = strdup(o->cert_name != NULL ? o->cert_name :
	    default_cert_name(o->names[0]));
	if (ren.name == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	if (ag_certname_check(ren.name) != 0) {
		ag_err("issue: bad certificate name \"%s\" (letters, digits, "
		    "'.', '-', '_')", ren.name);
		goto out;
	}
	ren.key_type = ANVIL_KEY_EC256;
	if (o->key_type != NULL) {
		ren.key_type = anvil_key_type_parse(o->key_type);
		if (ren.key_type == ANVIL_KEY__MAX ||
		    ren.key_type == ANVIL_KEY_ED25519) {
			ag_err("issue: --key-type must be ec256, ec384, "
			    "rsa2048, rsa3072 or rsa4096");
			goto out;
		}
	}
	rc = ANVIL_ENOMEM;
	ren.names = calloc(o->n_names + 1, sizeof(*ren.names));
	if (ren.names == NULL)
		goto out;
	for (i = 0; i < o->n_names; i++) {
		ren.names[i] = strdup(o->names[i]);
		if (ren.names[i] == NULL)
			goto out;
		ren.n_names++;
	}
	for (i = 0; i < c->n_servers; i++) {
		ren.servers[i] = strdup(c->servers[i]);
		if (ren.servers[i] == NULL)
			goto out;
		ren.n_servers++;
	}
	ren.solver = ag_solver_conf_json(&o->solver);
	if (ren.solver == NULL)
		goto out;
	if (o->deploy_hook != NULL)
		ren.deploy_hook = strdup(o->deploy_hook);
	if (c->ca_bundle != NULL)
		ren.ca_bundle = strdup(c->ca_bundle);
	if (c->email != NULL)
		ren.email = strdup(c->email);
	if ((o->deploy_hook != NULL && ren.deploy_hook == NULL) ||
	    (c->ca_bundle != NULL && ren.ca_bundle == NULL) ||
	    (c->email != NULL && ren.email == NULL))
		goto out;
	ren.agree_tos = c->agree_tos;
	rc = obtain(c, c->servers, c->n_servers, &ren, &o->solver);
out:
	ag_renewal_done(&ren);
	return rc;
}

/* Renews one certificate when due (or forced, or revoked). */
static int
renew_one(const struct opts *o, const struct ag_config *c, const char *name)
{
	struct ag_renewal	 ren;
	struct ag_certinfo	 ci;
	struct ag_solver_conf	 sc;
	struct ag_config	 cc;
	char			*servers[AG_MAX_SERVERS + 1];
	char			 when[32];
	size_t			 i, n = 0;
	int			 rc, have_ci = 0, due;

	memset(&ren, 0, sizeof(ren));
	memset(&ci, 0, sizeof(ci));
	memset(&sc, 0, sizeof(sc));
	rc = ag_renewal_load(c->state, name, &ren);
	if (rc != 0)
		goto out;
	if (ag_store_info(c->state, name, &ci) == 0)
		have_ci = 1;
	ag_err_clear();
	due = o->force || !have_ci || ag_renewal_due(&ci, ag_now()) ||
	    (ren.revoked != NULL && strcmp(ren.revoked, ci.serial) == 0);
	if (!due) {
		fmt_time(ci.not_before + (ci.not_after - ci.not_before) / 3 * 2,
		    when);
		printf("%s: not due until %s\n", name, when);
		goto out;
	}
	/* A --deploy-hook given to renew replaces the recorded one. */
	if (o->deploy_hook != NULL) {
		free(ren.deploy_hook);
		ren.deploy_hook = strdup(o->deploy_hook);
		if (ren.deploy_hook == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
	}
	rc = ag_solver_conf_parse(ren.solver, &sc);
	if (rc != 0) {
		ag_err("%s/renewal/%s.json: unknown solver", c->state, name);
		goto out;
	}
	/* The command line's CAs, else the issuing CA then the others. */
	if (c->n_servers > 0) {
		for (i = 0; i < c->n_servers; i++)
			servers[n++] = c->servers[i];
	} else {
		servers[n++] = ren.server;
		for (i = 0; i < ren.n_servers; i++)
			if (strcmp(ren.servers[i], ren.server) != 0 &&
			    n < AG_MAX_SERVERS)
				servers[n++] = ren.servers[i];
	}
	cc = *c;
	if (c->ca_bundle == NULL)
		cc.ca_bundle = ren.ca_bundle;
	rc = obtain(&cc, servers, n, &ren, &sc);
out:
	ag_solver_conf_done(&sc);
	ag_certinfo_done(&ci);
	ag_renewal_done(&ren);
	return rc;
}

static int
cmd_renew(const struct opts *o, const struct ag_config *c)
{
	char	**names = NULL;
	char	 *one[2] = { NULL, NULL };
	size_t	  i;
	int	  rc, failed = 0;

	if (o->cert_name != NULL) {
		if (ag_certname_check(o->cert_name) != 0) {
			ag_err("renew: bad certificate name \"%s\"",
			    o->cert_name);
			return ANVIL_EINVAL;
		}
		one[0] = (char *)o->cert_name;
	} else {
		rc = ag_renewal_list(c->state, &names);
		if (rc != 0)
			return rc;
	}
	for (i = 0; (names != NULL ? names : one)[i] != NULL; i++) {
		const char *name = (names != NULL ? names : one)[i];

		ag_err_clear();
		rc = renew_one(o, c, name);
		if (rc == 0)
			continue;
		failed++;
		fprintf(stderr, "anvil: renew %s: %s; next: %s\n", name,
		    ag_errstr()[0] != '\0' ? ag_errstr() : ag_strerror(rc),
		    rc == AG_EHOOK ? "run the deploy hook by hand" :
		    rc == AG_ECA || rc == ANVIL_ETIMEDOUT ?
		    "the certificate in service is unchanged; retry later "
		    "or add another --server" :
		    "fix the cause, then run \"anvil renew --cert-name\" "
		    "for it");
		if (ag_interrupted)
			break;
	}
	anvil_strv_free(names);
	ag_err_clear();
	return failed > 0 ? AG_ECA : 0;
}

static int
cmd_revoke(const struct opts *o, const struct ag_config *c)
{
	struct ag_renewal	 ren;
	struct ag_acme		 a;
	struct ag_config	 cc;
	X509			*x = NULL;
	char			 serial[41];
	int			 rc, reason = 0, opened = 0;

	memset(&ren, 0, sizeof(ren));
	if (o->cert_name == NULL || ag_certname_check(o->cert_name) != 0) {
		ag_err("revoke: give --cert-name NAME");
		return ANVIL_EINVAL;
	}
	if (o->reason != NULL) {
		reason = ag_revoke_reason(o->reason);
		if (reason < 0) {
			ag_err("revoke: unknown --reason \"%s\"", o->reason);
			return ANVIL_EINVAL;
		}
	}
	rc = ag_renewal_load(c->state, o->cert_name, &ren);
	if (rc != 0)
		goto out;
	rc = ag_store_cert(c->state, o->cert_name, &x);
	if (rc != 0)
		goto out;
	rc = anvil_cert_serial_hex(x, serial);
	if (rc != 0)
		goto out;
	cc = *c;
	if (c->ca_bundle == NULL)
		cc.ca_bundle = ren.ca_bundle;
	rc = ag_acme_open(&a, &cc, c->n_servers > 0 ? c->servers[0] :
	    ren.server);
	if (rc != 0)
		goto out;
	opened = 1;
	rc = ag_account_ensure(&a, c->state, NULL, 0, 0, ANVIL_KEY_EC256);
	if (rc == 0)
		rc = ag_revoke(&a, x, reason);
	if (rc != 0)
		goto out;
	ren.revoked = strdup(serial);
	if (ren.revoked == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = ag_renewal_save(c->state, &ren);
	if (rc == 0)
		printf("%s: certificate %s revoked; \"anvil renew\" will "
		    "replace it\n", o->cert_name, serial);
out:
	if (opened)
		ag_acme_close(&a);
	X509_free(x);
	ag_renewal_done(&ren);
	return rc;
}

/* One entry of list, as text or as a JSON object added to arr. */
static int
list_one(const struct ag_config *c, const char *name, int json, json_t *arr)
{
	struct ag_renewal	 ren;
	struct ag_certinfo	 ci;
	json_t			*obj = NULL, *names = NULL;
	char			 nb[32], na[32], live[4200];
	const char		*status;
	size_t			 i;
	int			 rc, have = 0;

	memset(&ren, 0, sizeof(ren));
	memset(&ci, 0, sizeof(ci));
	rc = ag_renewal_load(c->state, name, &ren);
	if (rc != 0)
		return rc;
	if (ag_store_info(c->state, name, &ci) == 0)
		have = 1;
	ag_err_clear();
	(void)ag_store_live(c->state, name, live, sizeof(live));
	if (!have)
		status = "missing";
	else if (ren.revoked != NULL && strcmp(ren.revoked, ci.serial) == 0)
		status = "revoked";
	else if (ci.not_after <= ag_now())
		status = "expired";
	else if (ag_renewal_due(&ci, ag_now()))
		status = "due";
	else
		status = "valid";
	fmt_time(have ? ci.not_before : 0, nb);
	fmt_time(have ? ci.not_after : 0, na);
	if (json) {
		rc = ANVIL_ENOMEM;
		names = json_array();
		if (names == NULL)
			goto out;
		for (i = 0; i < ren.n_names; i++)
			if (json_array_append_new(names,
			    json_string(ren.names[i])) != 0)
				goto out;
		obj = json_pack("{s:s, s:O, s:s, s:s?, s:s?, s:s?, s:s, "
		    "s:s, s:s, s:s}", "name", name, "names", names, "status",
		    status, "serial", have ? ci.serial : NULL, "not_before",
		    have ? nb : NULL, "not_after", have ? na : NULL,
		    "server", ren.server, "key_type",
		    anvil_key_type_name(ren.key_type), "solver",
		    anvil_json_str(ren.solver, "type") != NULL ?
		    anvil_json_str(ren.solver, "type") : "?", "live", live);
		if (obj == NULL || json_array_append(arr, obj) != 0)
			goto out;
		rc = 0;
	} else {
		printf("%s\n  names:   ", name);
		for (i = 0; i < ren.n_names; i++)
			printf("%s%s", i > 0 ? " " : "", ren.names[i]);
		printf("\n  status:  %s\n", status);
		if (have)
			printf("  serial:  %s\n  valid:   %s to %s\n",
			    ci.serial, nb, na);
		printf("  issuer:  %s\n  key:     %s\n  solver:  %s\n"
		    "  live:    %s\n", ren.server,
		    anvil_key_type_name(ren.key_type),
		    anvil_json_str(ren.solver, "type") != NULL ?
		    anvil_json_str(ren.solver, "type") : "?", live);
	}
out:
	json_decref(obj);
	json_decref(names);
	ag_certinfo_done(&ci);
	ag_renewal_done(&ren);
	return rc;
}

static int
cmd_list(const struct opts *o, const struct ag_config *c)
{
	json_t	*arr = NULL;
	char	**names = NULL, *dump = NULL;
	size_t	  i, len;
	int	  rc;

	rc = ag_renewal_list(c->state, &names);
	if (rc != 0)
		return rc;
	arr = json_array();
	if (arr == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	for (i = 0; names[i] != NULL; i++) {
		rc = list_one(c, names[i], o->json, arr);
		if (rc != 0)
			goto out;
	}
	if (o->json) {
		rc = anvil_json_dump(arr, &dump, &len);
		if (rc != 0)
			goto out;
		printf("%s\n", dump);
	}
out:
	free(dump);
	json_decref(arr);
	anvil_strv_free(names);
	return rc;
}

static void
on_signal(int sig)
{
	ag_interrupted = 1;
}

/*
 * Debian's libcurl links librtmp, which links GnuTLS, and GnuTLS
 * initialises itself from a constructor as soon as it is loaded: reads
 * its system configuration, builds its ASN.1 trees, starts its random
 * generator (about 0.8 MiB of resident memory and some CPU per run).  The
 * agent never uses GnuTLS: its HTTPS is libcurl on OpenSSL, its
 * protocols are https only, so librtmp (the only user, which calls
 * gnutls_global_init() itself) never runs.  A program that defines this
 * function, returning 1, tells GnuTLS to skip that implicit
 * initialisation (GNUTLS_SKIP_GLOBAL_INIT in <gnutls/gnutls.h>; the
 * symbol has default visibility and client/meson.build exports it).
 * Without GnuTLS in the process it is never called.
 */
int	_gnutls_global_init_skip(void) __attribute__((visibility("default")));

int
_gnutls_global_init_skip(void)
{
	return 1;
}

int
main(int argc, char *argv[])
{
	struct opts		 o;
	struct ag_config	 c;
	struct sigaction	 sa;
	size_t			 i;
	int			 rc, ex;

	memset(&o, 0, sizeof(o));
	ag_config_init(&c);
	ex = parse_args(argc, argv, &o);
	if (ex != 0)
		goto out;
	/* No SA_RESTART: a signal interrupts sleeps and reads. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	umask(022);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "anvil: cannot initialise libcurl\n");
		ex = 1;
		goto out;
	}
	rc = make_config(&o, &c);
	if (rc == 0) {
		rc = ag_mkdirs(c.state, 0755);
		if (rc != 0)
			ag_err("cannot create state directory %s: %s", c.state,
			    strerror(-rc));
	}
	if (rc == 0) {
		switch (o.cmd) {
		case CMD_REGISTER:
			rc = cmd_register(&o, &c);
			break;
		case CMD_ISSUE:
			rc = cmd_issue(&o, &c);
			break;
		case CMD_RENEW:
			rc = cmd_renew(&o, &c);
			break;
		case CMD_REVOKE:
			rc = cmd_revoke(&o, &c);
			break;
		default:
			rc = cmd_list(&o, &c);
			break;
		}
	}
	ex = 0;
	if (rc != 0) {
		/* renew printed its failures one by one. */
		if (o.cmd != CMD_RENEW || ag_errstr()[0] != '\0')
			report(NULL, rc);
		ex = ag_interrupted ? EXIT_INTR : 1;
	}
#if AG_EXIT_TEARDOWN
	curl_global_cleanup();
#endif
out:
	for (i = 0; i < o.n_names; i++)
		free(o.names[i]);
	for (i = 0; i < 3; i++)
		free(o.paths[i]);
	ag_config_done(&c);
#if !AG_EXIT_TEARDOWN
	/*
	 * Everything the command does is done (files written and fsync'd,
	 * hooks waited for); what is left is our output.  The libraries'
	 * teardown (curl_global_cleanup(), OpenSSL's atexit cleanup, each
	 * library's destructors) would only free memory the kernel takes
	 * back anyway, and it pages in code the run never used: about
	 * 0.3 MiB of the agent's peak resident memory.
	 */
	(void)fflush(stdout);
	(void)fflush(stderr);
	_exit(ex);
#endif
	return ex;
}
