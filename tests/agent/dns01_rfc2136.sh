#!/bin/bash
# dns01_rfc2136.sh - dns-01 by signed DNS UPDATE against a real knot
# (Debian package knot) started here on a free loopback port, authoritative
# for example.test., accepting updates signed with one TSIG key.  The CA
# (Pebble's -dnsserver, anvil-ca's --resolver) asks knot for the TXT: knot
# replaces pebble-challtestsrv as the test's DNS server.  Checks: a
# wildcard and its base name (two TXT for one name) with a BIND-format key,
# a knot-format key, the records deleted afterwards, a wrong secret, an
# unknown key and a key without update rights each refused with one line
# naming the cause and nothing left in the zone.
set -euo pipefail
TEST_NAME=dns01_rfc2136
source "$(dirname "$0")/lib.sh"

command -v knotd >/dev/null || skip "knotd (package knot) is not installed"
command -v kdig >/dev/null || skip "kdig (package knot-dnsutils) is not installed"

ZONE=example.test
KEYNAME=acme-update
SECRET=$(openssl rand -base64 32)

# knot_start PORT - knotd in the foreground with its own files; stopped at
# exit.  Sets KNOT (127.0.0.1:PORT).
knot_start() {
	local port=$1 d=$TEST_TMP/knot
	mkdir -p "$d/db"
	cat >"$d/$ZONE.zone" <<-EOF
	\$ORIGIN $ZONE.
	\$TTL 60
	@	SOA	ns1 hostmaster 1 3600 600 86400 60
	@	NS	ns1
	ns1	A	127.0.0.1
	*	A	127.0.0.1
	EOF
	cat >"$d/knot.conf" <<-EOF
	server:
	    listen: 127.0.0.1@$port
	    rundir: $d
	    pidfile: $d/knot.pid
	database:
	    storage: $d/db
	control:
	    listen: $d/knot.sock
	log:
	  - target: stderr
	    any: info
	key:
	  - id: $KEYNAME
	    algorithm: hmac-sha256
	    secret: $SECRET
	  - id: no-rights
	    algorithm: hmac-sha256
	    secret: $(openssl rand -base64 32)
	acl:
	  - id: acme
	    key: $KEYNAME
	    action: update
	zone:
	  - domain: $ZONE
	    storage: $d
	    file: $ZONE.zone
	    acl: acme
	    zonefile-sync: -1
	    journal-content: none
	EOF
	spawn knotd knotd -c "$d/knot.conf"
	KNOT=127.0.0.1:$port
	wait_until 10 kdig @127.0.0.1 -p "$port" +short SOA "$ZONE" ||
	    die "knotd did not start: $(tail -5 "$TEST_TMP/knotd.err")"
	NORIGHTS_SECRET=$(awk '/id: no-rights/ { f = 1 }
	    f && /secret:/ { print $2; exit }' "$d/knot.conf")
}

# The harness starts pebble-challtestsrv as the CA's DNS server: here
# knot takes its place (same ports, same DNS_SERVER variable).
challtestsrv_start() {
	knot_start "$1"
	DNS_SERVER=$KNOT
	CHALLTESTSRV_URL=
	export DNS_SERVER CHALLTESTSRV_URL
}

agent_begin "${1:-}"

# Key files: BIND (tsig-keygen) and knot (keymgr -t) formats.
cat >"$TEST_TMP/bind.key" <<EOF
// made by the test
key "$KEYNAME" {
	algorithm hmac-sha256;
	secret "$SECRET";
};
EOF
cat >"$TEST_TMP/knot.key" <<EOF
# hmac-sha256:$KEYNAME:$SECRET
key:
  - id: $KEYNAME
    algorithm: hmac-sha256
    secret: $SECRET
EOF
cat >"$TEST_TMP/badsecret.key" <<EOF
key "$KEYNAME" { algorithm hmac-sha256; secret "$(openssl rand -base64 32)"; };
EOF
cat >"$TEST_TMP/unknown.key" <<EOF
key "nobody-knows" { algorithm hmac-sha256; secret "$SECRET"; };
EOF
cat >"$TEST_TMP/norights.key" <<EOF
key "no-rights" { algorithm hmac-sha256; secret "$NORIGHTS_SECRET"; };
EOF

# txt NAME - the TXT values knot serves for NAME.
txt() {
	kdig @127.0.0.1 -p "${KNOT#*:}" +short TXT "$1" | tr -d '"'
}

B=k-$(rand_label).$ZONE

t_issue_bind_key() {
	anv issue -d "*.$B" -d "$B" --dns01-rfc2136 "$KNOT" \
	    --tsig-key "$TEST_TMP/bind.key" --propagation-timeout 20 \
	    --dns-timeout 2 --email admin@example.org --agree-tos >/dev/null
	verify_live "$B" "*.$B" "$B"
}

t_zone_clean() {
	local left
	left=$(txt "_acme-challenge.$B")
	[ -z "$left" ] || fail "left in the zone: $left"
	# knot applied both adds and both deletes: serial 1 + 4 updates
	# (each UPDATE of one RR bumps it once).
	kdig @127.0.0.1 -p "${KNOT#*:}" +short SOA "$ZONE" |
	    awk '{ exit !($3 >= 5) }' ||
	    fail "serial: $(kdig @127.0.0.1 -p "${KNOT#*:}" +short SOA "$ZONE")"
}

t_renewal_record() {
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))
s=r["solver"]; assert s["type"] == "dns01-rfc2136", s
assert s["server"] == sys.argv[2], s
assert s["tsig_key"] == sys.argv[3], s' \
	    "$ST/renewal/$B.json" "$KNOT" "$TEST_TMP/bind.key" ||
	    fail "$(cat "$ST/renewal/$B.json")"
}

t_renew() {
	local s1
	s1=$(cert_serial "$ST/live/$B/cert.pem")
	"$ANVIL" --state "$ST" renew --force --cert-name "$B" >/dev/null
	[ "$(cert_serial "$ST/live/$B/cert.pem")" != "$s1" ] ||
	    fail "same serial"
	t_zone_clean
}

t_knot_key() {
	local n=kk-$(rand_label).$ZONE
	# A relative key path: stored absolute for renew.
	(cd "$TEST_TMP" && anv issue -d "$n" --dns01-rfc2136 "$KNOT" \
	    --tsig-key knot.key --propagation-timeout 20 >/dev/null)
	verify_live "$n" "$n"
	grep -q "\"tsig_key\":\"$TEST_TMP/knot.key\"" "$ST/renewal/$n.json" ||
	    fail "$(cat "$ST/renewal/$n.json")"
	[ -z "$(txt "_acme-challenge.$n")" ] || fail "TXT left"
}

# refused KEYFILE PATTERN - issue fails with one line matching PATTERN,
# stores nothing and leaves nothing in the zone.
refused() {
	local n=x-$(rand_label).$ZONE rc=0
	anv issue -d "$n" --dns01-rfc2136 "$KNOT" --tsig-key "$1" \
	    --propagation-timeout 5 >/dev/null 2>"$TEST_TMP/ref.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc: $(cat "$TEST_TMP/ref.err")"
	one_line_error "$TEST_TMP/ref.err"
	grep -qE "$2" "$TEST_TMP/ref.err" || fail "$(cat "$TEST_TMP/ref.err")"
	[ ! -e "$ST/live/$n" ] || fail "a certificate was stored"
	[ -z "$(txt "_acme-challenge.$n")" ] || fail "TXT left in the zone"
}

t_bad_secret() {
	refused "$TEST_TMP/badsecret.key" "BADSIG.*wrong secret"
}

t_unknown_key() {
	refused "$TEST_TMP/unknown.key" "does not know the key nobody-knows.*BADKEY"
}

t_no_rights() {
	refused "$TEST_TMP/norights.key" "(REFUSED|NOTAUTH)"
}

t_bad_key_files() {
	local rc=0
	printf 'key "k" { algorithm hmac-md5; secret "%s"; };\n' "$SECRET" \
	    >"$TEST_TMP/md5.key"
	anv issue -d "y.$ZONE" --dns01-rfc2136 "$KNOT" \
	    --tsig-key "$TEST_TMP/md5.key" 2>"$TEST_TMP/md5.err" >/dev/null ||
	    rc=$?
	[ "$rc" -eq 1 ] || fail "md5 key: exit status $rc"
	one_line_error "$TEST_TMP/md5.err"
	grep -q 'hmac-md5.*use hmac-sha256' "$TEST_TMP/md5.err" ||
	    fail "$(cat "$TEST_TMP/md5.err")"
	rc=0
	anv issue -d "y.$ZONE" --dns01-rfc2136 "$KNOT" \
	    --tsig-key "$TEST_TMP/none.key" 2>"$TEST_TMP/none.err" >/dev/null ||
	    rc=$?
	[ "$rc" -eq 1 ] || fail "missing key: exit status $rc"
	grep -q 'cannot read TSIG key' "$TEST_TMP/none.err" ||
	    fail "$(cat "$TEST_TMP/none.err")"
	rc=0
	anv issue -d "y.$ZONE" --dns01-rfc2136 "$KNOT" 2>/dev/null \
	    >/dev/null || rc=$?
	[ "$rc" -eq 1 ] || fail "no --tsig-key: exit status $rc"
}

check rfc2136_wildcard_and_base_bind_key t_issue_bind_key
check rfc2136_records_deleted t_zone_clean
check rfc2136_renewal_record t_renewal_record
check rfc2136_renew_force t_renew
check rfc2136_knot_key_relative_path t_knot_key
check rfc2136_wrong_secret_badsig t_bad_secret
check rfc2136_unknown_key_badkey t_unknown_key
check rfc2136_key_without_rights t_no_rights
check rfc2136_bad_key_files t_bad_key_files
agent_end
