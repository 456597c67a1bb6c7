#!/bin/bash
# issue_http01.sh - register, then issue one certificate for two names with
# the built-in http-01 responder; check the store, the chain, the key's
# mode, the deploy hook's environment, and list.
set -euo pipefail
TEST_NAME=issue_http01
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

A=a-$(rand_label).example.test
B=b-$(rand_label).example.test

t_register() {
	anv register --email admin@example.org --agree-tos >"$TEST_TMP/reg.out"
	grep -q '^account https://' "$TEST_TMP/reg.out" ||
	    fail "register said: $(cat "$TEST_TMP/reg.out")"
	local d
	d=$(echo "$ST"/accounts/*)
	[ "$(file_mode "$d/account.key")" = 600 ] || fail "account.key mode"
	# A second register finds the same account.
	anv register --email admin@example.org --agree-tos >"$TEST_TMP/reg2.out"
	cmp -s "$TEST_TMP/reg.out" "$TEST_TMP/reg2.out" ||
	    fail "second register differs"
}

t_issue() {
	anv issue -d "$A" -d "$B" --http01-standalone \
	    --http01-port "$HTTP01_PORT" --cert-name web \
	    --deploy-hook 'env | grep ^ANVIL_ | sort >"$TEST_TMP/hook.env"'
}

t_chain() {
	verify_live web "$A" "$B"
	# cert.pem + chain.pem is fullchain.pem
	cat "$ST/live/web/cert.pem" "$ST/live/web/chain.pem" |
	    cmp -s - "$ST/live/web/fullchain.pem" || fail "fullchain differs"
	# the key is the certificate's
	[ "$(openssl x509 -in "$ST/live/web/cert.pem" -noout -pubkey)" = \
	    "$(openssl pkey -in "$ST/live/web/privkey.pem" -pubout)" ] ||
	    fail "privkey.pem does not match cert.pem"
}

t_key_mode() {
	[ "$(file_mode "$ST/live/web/privkey.pem")" = 600 ] ||
	    fail "privkey.pem mode $(file_mode "$ST/live/web/privkey.pem")"
	openssl pkey -in "$ST/live/web/privkey.pem" -noout -text |
	    grep -q 'prime256v1\|P-256' || fail "not an ec256 key"
}

t_hook_env() {
	local f=$TEST_TMP/hook.env
	[ -f "$f" ] || fail "the deploy hook did not run"
	grep -qx "ANVIL_CERT_NAME=web" "$f" || fail "$(cat "$f")"
	grep -qx "ANVIL_LIVE_DIR=$ST/live/web" "$f" || fail "$(cat "$f")"
	grep -qx "ANVIL_DOMAINS=$A $B" "$f" || fail "$(cat "$f")"
}

t_responder_down() {
	# The responder is up only while needed.
	! curl -s -m 2 -o /dev/null "http://127.0.0.1:$HTTP01_PORT/" ||
	    fail "something still answers on the http-01 port"
}

t_list() {
	anv list >"$TEST_TMP/list.out"
	grep -q "^web$" "$TEST_TMP/list.out" || fail "$(cat "$TEST_TMP/list.out")"
	grep -q "names:   $A $B" "$TEST_TMP/list.out" || fail "names"
	grep -q "issuer:  $ACME_DIRECTORY" "$TEST_TMP/list.out" || fail issuer
	anv list --json >"$TEST_TMP/list.json"
	"$PY" - "$TEST_TMP/list.json" "$A" "$B" "$ACME_DIRECTORY" \
	    "$(cert_serial "$ST/live/web/cert.pem")" <<-'PYEOF'
	import json, sys
	l = json.load(open(sys.argv[1]))
	assert len(l) == 1, l
	c = l[0]
	assert c["name"] == "web", c
	assert c["names"] == [sys.argv[2], sys.argv[3]], c
	assert c["server"] == sys.argv[4], c
	assert c["serial"].lstrip("0") == sys.argv[5], (c, sys.argv[5])
	assert c["status"] == "valid", c
	PYEOF
}

t_key_types() {
	local kt n
	for kt in ec384 rsa2048; do
		n=$kt-$(rand_label).example.test
		anv issue -d "$n" --key-type "$kt" --http01-standalone \
		    --http01-port "$HTTP01_PORT" >/dev/null
		verify_live "$n" "$n"
		case $kt in
		ec384)	openssl pkey -in "$ST/live/$n/privkey.pem" -noout \
			    -text | grep -q 'secp384r1\|P-384' ;;
		rsa2048) openssl pkey -in "$ST/live/$n/privkey.pem" -noout \
			    -text | grep -q '2048 bit' ;;
		esac || fail "$kt: wrong key type"
	done
}

check register t_register
check issue_http01_two_names t_issue
check chain_and_sans t_chain
check privkey_mode_0600 t_key_mode
check deploy_hook_env t_hook_env
check http01_responder_stopped t_responder_down
check list t_list
check key_types t_key_types
agent_end
