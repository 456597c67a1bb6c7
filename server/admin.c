/*
 * admin.c - `anvil-ca revoke` and `anvil-ca list`: the operator's hands on
 * the certificates, through the store, beside a running server.
 *
 * A revocation written here reaches relying parties through the running
 * server: the store's trigger appends it to the revocation log, which the
 * server's revocation worker reads every second (revoc.c), so the CRL
 * shard and the OCSP response change within seconds.  SQLite's WAL lets
 * both processes use the database at once.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "anvil/anvil.h"
#include "admin.h"
#include "server.h"
#include "signer.h"
#include "store.h"

/* Longest --expiring, in days (a century). */
#define EXPIRING_MAX_DAYS	36500

static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "affiliationChanged", 3 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
	{ "privilegeWithdrawn", 9 },
};

/* Names of every code, for output (NULL for those an operator may not
 * give but the store may hold). */
static const char *
reason_name(int code)
{
	static const char *const all[REASON_MAX + 1] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn",
		"aACompromise"
	};

	if (code < 0 || code > REASON_MAX || all[code] == NULL)
		return "?";
	return all[code];
}

int
admin_reason_parse(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcasecmp(s, reasons[i].name) == 0)
			return reasons[i].code;
		if (s[0] >= '0' && s[0] <= '9' && s[1] == '\0' &&
		    s[0] - '0' == reasons[i].code)
			return reasons[i].code;
	}
	return -1;
}

/*
 * Normalises an operator's serial ("0A:1B...", "0a1b", upper or lower
 * case) to the store's form: lowercase hex of the minimal big-endian
 * bytes.  Returns 0 or -1.
 */
static int
serial_norm(const char *in, char out[SERIAL_HEX_LEN + 1])
{
	char	 buf[2 * SERIAL_HEX_LEN + 2];
	size_t	 n = 0, i, start;

	for (i = 0; in[i] != '\0'; i++) {
		if (in[i] == ':')
			continue;
		if (!isxdigit((unsigned char)in[i]) || n + 2 >= sizeof(buf))
			return -1;
		buf[n++] = (char)tolower((unsigned char)in[i]);
	}
	if (n == 0)
		return -1;
	buf[n] = '\0';
	/* Whole bytes, then no leading zero byte (but keep one byte). */
	start = n % 2 == 1 ? 1 : 0;
	if (start == 1) {
		memmove(buf + 1, buf, n + 1);
		buf[0] = '0';
		n++;
		start = 0;
	}
	while (n - start > 2 && buf[start] == '0' && buf[start + 1] == '0')
		start += 2;
	if (n - start > SERIAL_HEX_LEN)
		return -1;
	memcpy(out, buf + start, n - start + 1);
	return 0;
}

/* Opens the database of state. */
static int
db_open(const char *state, struct store **ret)
{
	char	 path[4096];
	int	 n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", state, STATE_DB);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ANVIL_E2BIG;
	rc = store_open(path, ret);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: cannot open the database %s: %s\n",
		    path, anvil_strerror(rc));
	return rc;
}

static void
revoke_usage(FILE *f)
{
	fprintf(f, "usage: anvil-ca revoke --state DIR --serial HEX "
	    "--reason REASON [--invalidity-date EPOCH]\n"
	    "  REASON: unspecified, keyCompromise, affiliationChanged, "
	    "superseded,\n"
	    "          cessationOfOperation, privilegeWithdrawn (or 0 1 3 4 5 "
	    "9)\n");
}

int
admin_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "serial", required_argument, NULL, 'n' },
		{ "reason", required_argument, NULL, 'r' },
		{ "invalidity-date", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*state = NULL, *sarg = NULL, *rarg = NULL;
	const char	*iarg = NULL;
	struct store	*st = NULL;
	struct cert	 c;
	char		 serial[SERIAL_HEX_LEN + 1], *end = NULL;
	long long	 inv = 0;
	int64_t		 now = (int64_t)time(NULL);
	int		 ch, reason, in_tx = 0, rc, status = 1;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': state = optarg; break;
		case 'n': sarg = optarg; break;
		case 'r': rarg = optarg; break;
		case 'i': iarg = optarg; break;
		case 'h': revoke_usage(stdout); return 0;
		default: revoke_usage(stderr); return 2;
		}
	}
	if (state == NULL || sarg == NULL || rarg == NULL || optind != argc) {
		revoke_usage(stderr);
		return 2;
	}
	if (serial_norm(sarg, serial) != 0) {
		fprintf(stderr, "anvil-ca: --serial: expected up to 20 bytes "
		    "of hex, got \"%.80s\"\n", sarg);
		return 2;
	}
	reason = admin_reason_parse(rarg);
	if (reason < 0) {
		fprintf(stderr, "anvil-ca: --reason: unknown or not allowed: "
		    "\"%.40s\"\n", rarg);
		revoke_usage(stderr);
		return 2;
	}
	if (iarg != NULL) {
		inv = strtoll(iarg, &end, 10);
		if (end == iarg || *end != '\0' || inv <= 0 || inv > now) {
			fprintf(stderr, "anvil-ca: --invalidity-date: seconds "
			    "since the epoch, in the past\n");
			return 2;
		}
	}
	if (db_open(state, &st) != 0)
		return 1;
	rc = store_begin(st);
	if (rc != 0)
		goto out;
	in_tx = 1;
	rc = store_cert_get(st, serial, &c);
	if (rc == ANVIL_ENOENT) {
		fprintf(stderr, "anvil-ca: no certificate with serial %s\n",
		    serial);
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = store_cert_revoke(st, serial, reason, now);
	if (rc == ANVIL_EEXIST) {
		fprintf(stderr, "anvil-ca: %s is revoked already (since %lld, "
		    "%s): alreadyRevoked\n", serial, (long long)c.revoked_at,
		    reason_name(c.reason));
		goto out;
	}
	if (rc == 0 && inv != 0)
		rc = store_cert_set_invalidity(st, serial, (int64_t)inv);
	/* keyCompromise: that key never gets a certificate or an account
	 * again (badPublicKey). */
	if (rc == 0 && reason == 1)
		rc = store_key_block(st, c.spki_hash, reason, now);
	if (rc == 0)
		rc = store_commit(st);
	if (rc != 0)
		goto out;
	in_tx = 0;
	printf("anvil-ca: revoked %s (%s); a running anvil-ca publishes it "
	    "within seconds\n", serial, reason_name(reason));
	status = 0;
out:
	if (rc != 0 && rc != ANVIL_ENOENT && rc != ANVIL_EEXIST)
		fprintf(stderr, "anvil-ca: revoke %s: %s\n", serial,
		    anvil_strerror(rc));
	if (in_tx)
		(void)store_rollback(st);
	cert_clear(&c);
	store_close(st);
	return status;
}

struct list_ctx {
	int		 json;
	json_t		*arr;		/* --json: the output array */
	int64_t		 now;
	size_t		 n;
};

/* Formats t as an RFC 3339 UTC time. */
static void
iso_time(int64_t t, char out[32])
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static const char *
cert_status(const struct cert *c, int64_t now)
{
	if (c->revoked_at != 0)
		return "revoked";
	return c->not_after < now ? "expired" : "valid";
}

static int
list_one(void *arg, const struct cert *c)
{
	struct list_ctx	*lc = arg;
	json_t		*o = NULL, *names = NULL;
	char		 nb[32], na[32], rv[32];

	iso_time(c->not_before, nb);
	iso_time(c->not_after, na);
	lc->n++;
	if (!lc->json) {
		if (c->revoked_at != 0)
			iso_time(c->revoked_at, rv);
		printf("%-34s %-8s %s %s%s%s%s %s\n", c->serial,
		    cert_status(c, lc->now), na,
		    c->revoked_at != 0 ? "revoked=" : "",
		    c->revoked_at != 0 ? rv : "",
		    c->revoked_at != 0 ? "," : "",
		    c->revoked_at != 0 ? reason_name(c->reason) : "",
		    c->names);
		return 0;
	}
	if (anvil_json_parse(c->names, strlen(c->names), &names) != 0)
		names = json_array();
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:s}",
	    "serial", c->serial, "status", cert_status(c, lc->now),
	    "notBefore", nb, "notAfter", na, "names", names,
	    "crlShard", c->shard, "account", c->acct_id);
	if (o == NULL)
		return ANVIL_ENOMEM;
	if (c->revoked_at != 0) {
		iso_time(c->revoked_at, rv);
		json_object_set_new(o, "revokedAt", json_string(rv));
		json_object_set_new(o, "reason",
		    json_string(reason_name(c->reason)));
	}
	if (json_array_append_new(lc->arr, o) != 0)
		return ANVIL_ENOMEM;
	return 0;
}

static void
list_usage(FILE *f)
{
	fprintf(f, "usage: anvil-ca list --state DIR [--revoked] "
	    "[--expiring DAYS] [--json]\n");
}

int
admin_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "revoked", no_argument, NULL, 'r' },
		{ "expiring", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cert_filter	 f;
	struct list_ctx		 lc;
	struct store		*st = NULL;
	const char		*state = NULL;
	char			*end = NULL, *text = NULL;
	long			 days;
	int			 ch, rc, status = 1;

	memset(&f, 0, sizeof(f));
	memset(&lc, 0, sizeof(lc));
	lc.now = f.now = (int64_t)time(NULL);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': state = optarg; break;
		case 'r': f.revoked_only = true; break;
		case 'j': lc.json = 1; break;
		case 'e':
			days = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || days < 0 ||
			    days > EXPIRING_MAX_DAYS) {
				fprintf(stderr, "anvil-ca: --expiring: days, "
				    "0 to %d\n", EXPIRING_MAX_DAYS);
				return 2;
			}
			/* Not 0: 0 means "no filter" to the store. */
			f.expiring_before = f.now + (int64_t)days * 86400 + 1;
			break;
		case 'h': list_usage(stdout); return 0;
		default: list_usage(stderr); return 2;
		}
	}
	if (state == NULL || optind != argc) {
		list_usage(stderr);
		return 2;
	}
	if (db_open(state, &st) != 0)
		return 1;
	if (lc.json) {
		lc.arr = json_array();
		if (lc.arr == NULL)
			goto out;
	}
	rc = store_cert_list(st, &f, list_one, &lc);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: list: %s\n", anvil_strerror(rc));
		goto out;
	}
	if (lc.json) {
		if (anvil_json_dump(lc.arr, &text, NULL) != 0)
			goto out;
		printf("%s\n", text);
	}
	status = 0;
out:
	free(text);
	json_decref(lc.arr);
	store_close(st);
	return status;
}
