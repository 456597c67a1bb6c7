#!/bin/bash
# issue_tlsalpn01.sh - issue for two names with the built-in tls-alpn-01
# responder (RFC 8737), check the certificate and that renew gets it the
# same way.
set -euo pipefail
TEST_NAME=issue_tlsalpn01
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

A=t-$(rand_label).example.test
B=u-$(rand_label).example.test

t_issue() {
	anv issue -d "$A" -d "$B" --tlsalpn01-standalone \
	    --tlsalpn01-port "$TLSALPN01_PORT" --email admin@example.org \
	    --agree-tos >/dev/null
	verify_live "$A" "$A" "$B"
	grep -q '"solver":{"type":"tlsalpn01-standalone","port":'"$TLSALPN01_PORT"'}' \
	    "$ST/renewal/$A.json" || fail "$(cat "$ST/renewal/$A.json")"
}

t_down() {
	! openssl s_client -connect "127.0.0.1:$TLSALPN01_PORT" \
	    -alpn acme-tls/1 -servername "$A" </dev/null >/dev/null 2>&1 ||
	    fail "the tls-alpn-01 responder still answers"
}

t_renew() {
	local s1
	s1=$(cert_serial "$ST/live/$A/cert.pem")
	"$ANVIL" --state "$ST" renew --force --cert-name "$A" >/dev/null
	[ "$(cert_serial "$ST/live/$A/cert.pem")" != "$s1" ] || fail "same serial"
	verify_live "$A" "$A" "$B"
}

check issue_tlsalpn01_two_names t_issue
check tlsalpn01_responder_stopped t_down
check renew_tlsalpn01 t_renew
agent_end
