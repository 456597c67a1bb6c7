#!/usr/bin/env bash
# revocation-lego-badinput.sh - lego gets a certificate and revokes it
# with its account key (superseded); certbot gets one and revokes it
# signed with the certificate's own key (RFC 8555 §7.6); `openssl ocsp`
# then reports both revoked with their reasons.  Then the public listener
# gets bad input - a malformed OCSP request (POST and GET), one about
# another issuer, an oversized one, a wrong Content-Type, bad CRL shard
# numbers - and must answer each with a clear error and keep serving.
set -euo pipefail
TEST_NAME=revocation-lego-badinput
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/certbot.sh"
. "$TESTLIB_DIR/revocation.sh"

[ "$TARGET" = anvil ] || { log "SKIP: anvil-ca only"; exit 0; }
fixture_begin
PUB=$(pub_base)
inter=$TEST_TMP/inter.pem
curl -fsS "$PUB/intermediate.der" | openssl x509 -inform DER -out "$inter" ||
    die "no intermediate at $PUB/intermediate.der"

# lego, account key, reason 4.
n1=$(rand_name)
show_on_failure "$TEST_TMP/lego.log"
LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
    --path "$TEST_TMP/lego" --accept-tos --email test@example.test \
    --domains "$n1" --http --http.port "127.0.0.1:$HTTP01_PORT" \
    run >"$TEST_TMP/lego.log" 2>&1 || die "lego run failed"
split_chain "$TEST_TMP/lego/certificates/$n1.crt" "$TEST_TMP/l1.pem" "$TEST_TMP/l1-chain.pem"
LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
    --path "$TEST_TMP/lego" --accept-tos --email test@example.test \
    --domains "$n1" --http --http.port "127.0.0.1:$HTTP01_PORT" \
    revoke --keep --reason 4 >>"$TEST_TMP/lego.log" 2>&1 || die "lego revoke failed"

# certbot, signed with the certificate's key.
n2=$(rand_name)
certbot_certonly t2 -d "$n2"
c2=$TEST_TMP/certbot/config/live/t2/cert.pem
certbot_cmd revoke --cert-path "$c2" \
    --key-path "$TEST_TMP/certbot/config/live/t2/privkey.pem" \
    --reason cessationofoperation --no-delete-after-revoke \
    >"$TEST_TMP/revoke2.log" 2>&1 ||
    die "certbot revoke with the certificate key failed: $(tail -n 5 "$TEST_TMP/revoke2.log")"

url=$PUB/ocsp
for pair in "$TEST_TMP/l1.pem:superseded" "$c2:cessationOfOperation"; do
	c=${pair%%:*}
	why=${pair##*:}
	for ((i = 0; i < 50; i++)); do
		out=$(ocsp_query "$inter" "$c" "$url" "$ACME_ROOT")
		grep -q ": revoked" <<<"$out" && break
		sleep 0.2
	done
	grep -q "Reason: $why" <<<"$out" || die "OCSP for $c: $out"
	grep -q "Response verify OK" <<<"$out" || die "OCSP for $c does not verify: $out"
	wait_crl_lists "$(cert_cdp "$c")" "$(cert_serial "$c")" "$TEST_TMP/crl.pem"
done
log "lego (account key) and certbot (certificate key) revocations published"

# status URL [CURL ARGS...] - prints the HTTP status of a request.
status() {
	local u=$1
	shift
	curl -s -o "$TEST_TMP/body" -w '%{http_code}' "$@" "$u"
}
expect() {
	local want=$1 got
	shift
	got=$(status "$@")
	[ "$got" = "$want" ] || die "$* -> HTTP $got, want $want ($(head -c 200 "$TEST_TMP/body"))"
}
# Malformed OCSP: not DER, truncated DER, in a POST and in a GET.
printf 'not an ocsp request' >"$TEST_TMP/junk"
expect 400 "$url" -H 'Content-Type: application/ocsp-request' --data-binary @"$TEST_TMP/junk"
openssl ocsp -issuer "$inter" -cert "$c2" -no_nonce -reqout "$TEST_TMP/req.der" >/dev/null 2>&1
head -c 20 "$TEST_TMP/req.der" >"$TEST_TMP/trunc.der"
expect 400 "$url" -H 'Content-Type: application/ocsp-request' --data-binary @"$TEST_TMP/trunc.der"
expect 400 "$url/bm90IGRlcg%3D%3D"
expect 400 "$url/%%%"
# Oversized, and the wrong media type.
head -c 5000 /dev/zero >"$TEST_TMP/big"
expect 413 "$url" -H 'Content-Type: application/ocsp-request' --data-binary @"$TEST_TMP/big"
expect 415 "$url" -H 'Content-Type: text/plain' --data-binary @"$TEST_TMP/req.der"
expect 405 "$url"
# Another issuer's hashes (the root's): the OCSP "unauthorized" answer.
out=$(openssl ocsp -issuer "$ACME_ROOT" -cert "$c2" -url "$url" -no_nonce 2>&1 || true)
grep -q "unauthorized" <<<"$out" || die "unknown issuer hash: $out"
# Bad CRL shard numbers.
for s in 99999 16 -1 01 abc 1.crl.crl ''; do
	expect 404 "$PUB/crl/$s.crl"
done
expect 404 "$PUB/nothing"
# Still serving.
out=$(ocsp_query "$inter" "$c2" "$url" "$ACME_ROOT")
grep -q ": revoked" <<<"$out" || die "responder stopped answering: $out"
curl -fsS -o /dev/null "$PUB/crl/0.crl" || die "CRL shard 0 no longer served"
log "bad input answered with 400/404/405/413/415 and OCSP unauthorized; still serving"
