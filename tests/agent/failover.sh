#!/bin/bash
# failover.sh - several --server: the first CA unreachable (a closed port)
# or failing (HTTP 500, rateLimited), the next one issues; the renewal file
# and list name the CA that issued.
set -euo pipefail
TEST_NAME=failover
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

mapfile -t P < <(free_ports 3)
CLOSED=https://localhost:${P[0]}/dir
if [ -f "$TEST_TMP/pebble/cert.pem" ]; then
	FAKE_CERT=$TEST_TMP/pebble/cert.pem FAKE_KEY=$TEST_TMP/pebble/key.pem
else
	FAKE_CERT=$TEST_TMP/fake-cert.pem FAKE_KEY=$TEST_TMP/fake-key.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$FAKE_KEY" -out "$FAKE_CERT" -days 2 -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1
	cat "$FAKE_CERT" >>"$ACME_CA_BUNDLE"
fi

# fake_start PORT MODE - a fake CA, started here at the top level so that
# the exit hooks stop it (checks run in subshells).
fake_start() {
	spawn "fake-$2" "$PY" "$AGENT_DIR/fakeca.py" --port "$1" \
	    --cert "$FAKE_CERT" --key "$FAKE_KEY" --fault "$2"
	wait_until 10 curl -s --cacert "$FAKE_CERT" -o /dev/null \
	    "https://localhost:$1/dir" || die "fake CA did not start"
}
fake_start "${P[1]}" error500
fake_start "${P[2]}" problem

t_closed_first() {
	local n=f-$(rand_label).example.test
	"$ANVIL" --server "$CLOSED" --server "$ACME_DIRECTORY" \
	    --ca-bundle "$ACME_CA_BUNDLE" --state "$ST" issue -d "$n" \
	    --http01-standalone --http01-port "$HTTP01_PORT" \
	    --email admin@example.org --agree-tos 2>"$TEST_TMP/fo.err"
	grep -q "trying the next CA" "$TEST_TMP/fo.err" ||
	    fail "no failover message: $(cat "$TEST_TMP/fo.err")"
	verify_live "$n" "$n"
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]));
assert r["server"] == sys.argv[2], r
assert r["servers"] == [sys.argv[3], sys.argv[2]], r' \
	    "$ST/renewal/$n.json" "$ACME_DIRECTORY" "$CLOSED" ||
	    fail "renewal file: $(cat "$ST/renewal/$n.json")"
	"$ANVIL" --state "$ST" list | grep -A6 "^$n\$" |
	    grep -q "issuer:  $ACME_DIRECTORY" || fail "list"
	# renew goes to the CA that issued first: no failover message.
	"$ANVIL" --state "$ST" renew --force --cert-name "$n" \
	    2>"$TEST_TMP/fo2.err" >/dev/null
	[ ! -s "$TEST_TMP/fo2.err" ] || fail "$(cat "$TEST_TMP/fo2.err")"
}

t_failing_first() {
	local mode n port
	for mode in error500:${P[1]} problem:${P[2]}; do
		port=${mode#*:}
		mode=${mode%:*}
		FAKE=https://localhost:$port/dir
		n=$mode-$(rand_label).example.test
		"$ANVIL" --server "$FAKE" --server "$ACME_DIRECTORY" \
		    --ca-bundle "$ACME_CA_BUNDLE" --state "$ST" issue -d "$n" \
		    --http01-standalone --http01-port "$HTTP01_PORT" \
		    --email admin@example.org --agree-tos \
		    2>"$TEST_TMP/fo.err" >/dev/null ||
		    fail "$mode: $(cat "$TEST_TMP/fo.err")"
		verify_live "$n" "$n"
		grep -q '"server":"'"$ACME_DIRECTORY"'"' "$ST/renewal/$n.json" ||
		    fail "$mode: $(cat "$ST/renewal/$n.json")"
	done
}

check failover_closed_port_then_ca t_closed_first
check failover_5xx_and_ratelimited_then_ca t_failing_first
agent_end
