#!/bin/bash
# renew_revoke.sh - renew (not due: nothing; --force: a new serial, the old
# version kept in the archive, the deploy hook run), then revoke and check
# the CA agrees; renew replaces a revoked certificate.
set -euo pipefail
TEST_NAME=renew_revoke
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

N=r-$(rand_label).example.test
HOOKLOG=$TEST_TMP/hook.log
export HOOKLOG

t_issue() {
	anv issue -d "$N" --http01-standalone --http01-port "$HTTP01_PORT" \
	    --email admin@example.org --agree-tos \
	    --deploy-hook 'echo "$ANVIL_CERT_NAME $ANVIL_DOMAINS" >>"$HOOKLOG"'
	[ "$(wc -l <"$HOOKLOG")" -eq 1 ] || fail "hook ran $(wc -l <"$HOOKLOG")"
}

t_renew_not_due() {
	local before
	before=$(tree_sum "$ST")
	anv renew >"$TEST_TMP/renew.out"
	grep -q "^$N: not due until" "$TEST_TMP/renew.out" ||
	    fail "$(cat "$TEST_TMP/renew.out")"
	[ "$(tree_sum "$ST")" = "$before" ] || fail "the store changed"
}

t_renew_force() {
	local s1 s2
	s1=$(cert_serial "$ST/live/$N/cert.pem")
	# No --server: renew uses the CA recorded in the renewal file.
	"$ANVIL" --state "$ST" renew --force
	s2=$(cert_serial "$ST/live/$N/cert.pem")
	[ "$s1" != "$s2" ] || fail "same serial $s1 after renew --force"
	[ "$(cert_serial "$ST/archive/$N/1/cert.pem")" = "$s1" ] ||
	    fail "archive/1 does not hold the old certificate"
	[ "$(readlink "$ST/live/$N")" = "../archive/$N/2" ] ||
	    fail "live/$N -> $(readlink "$ST/live/$N")"
	[ "$(file_mode "$ST/archive/$N/1/privkey.pem")" = 600 ] ||
	    fail "archived key mode"
	verify_live "$N" "$N"
	[ "$(wc -l <"$HOOKLOG")" -eq 2 ] || fail "hook ran $(wc -l <"$HOOKLOG")"
	[ "$(tail -n 1 "$HOOKLOG")" = "$N $N" ] || fail "$(cat "$HOOKLOG")"
}

t_revoke() {
	local serial
	serial=$(cert_serial "$ST/live/$N/cert.pem")
	anv revoke --cert-name "$N" --reason keyCompromise >"$TEST_TMP/rv.out"
	grep -q "revoked" "$TEST_TMP/rv.out" || fail "$(cat "$TEST_TMP/rv.out")"
	if [ -n "$PEBBLE_MGMT" ]; then
		curl -fsS --cacert "$ACME_CA_BUNDLE" \
		    "https://$PEBBLE_MGMT/cert-status-by-serial/$serial" |
		    grep -q '"Status": *"Revoked"' ||
		    fail "pebble does not list $serial as revoked"
	fi
	# A second revocation: the CA says it is revoked already.
	if anv revoke --cert-name "$N" 2>"$TEST_TMP/rv2.err"; then
		fail "second revoke succeeded"
	fi
	one_line_error "$TEST_TMP/rv2.err"
	grep -q 'alreadyRevoked' "$TEST_TMP/rv2.err" ||
	    fail "$(cat "$TEST_TMP/rv2.err")"
	anv list | grep -q 'status:  revoked' || fail "list: $(anv list)"
}

t_renew_revoked() {
	local s1
	s1=$(cert_serial "$ST/live/$N/cert.pem")
	anv renew >/dev/null
	[ "$(cert_serial "$ST/live/$N/cert.pem")" != "$s1" ] ||
	    fail "renew kept the revoked certificate"
	anv list | grep -q 'status:  valid' || fail "list: $(anv list)"
}

check renew_setup_issue t_issue
check renew_not_due t_renew_not_due
check renew_force_new_serial_archive_kept t_renew_force
check revoke t_revoke
check renew_replaces_revoked t_renew_revoked
agent_end
