#!/usr/bin/env bash
# lego-revoke.sh - lego gets a certificate by http-01, revokes it (signed
# with the account key); the certificate's OCSP responder and CRL, if it
# names them, must list it as revoked, and a second revocation must be
# refused with urn:ietf:params:acme:error:alreadyRevoked (RFC 8555 §7.6).
#
# Usage: lego-revoke.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=lego-revoke
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
n1=$(rand_name)
lego_cmd() {
	LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
	    --path "$TEST_TMP/lego" --accept-tos --email "test@example.test" \
	    --domains "$n1" --http --http.port "127.0.0.1:$HTTP01_PORT" "$@"
}
show_on_failure "$TEST_TMP/lego.log"
show_on_failure "$TEST_TMP/revoke.log"
show_on_failure "$TEST_TMP/revoke2.log"
lego_cmd run >"$TEST_TMP/lego.log" 2>&1 || die "lego run failed"
check_fullchain "$TEST_TMP/lego/certificates/$n1.crt" "$ACME_ROOT" "$n1"

lego_cmd revoke --keep --reason 4 >"$TEST_TMP/revoke.log" 2>&1 ||
    die "lego revoke failed"
grep -q 'Certificate was revoked' "$TEST_TMP/revoke.log" ||
    die "lego did not report the revocation"

crt=$TEST_TMP/lego/certificates/$n1
split_chain "$crt.crt" "$TEST_TMP/leaf.pem" "$TEST_TMP/chain.pem"
check_revoked "$TEST_TMP/leaf.pem" "$TEST_TMP/chain.pem" "$ACME_ROOT" \
    "$ACME_CA_BUNDLE"

if lego_cmd revoke --keep >"$TEST_TMP/revoke2.log" 2>&1; then
	die "second revocation of the same certificate succeeded"
fi
grep -q 'urn:ietf:params:acme:error:alreadyRevoked' "$TEST_TMP/revoke2.log" ||
    die "second revocation failed without alreadyRevoked"
log "revoked; second revocation refused with alreadyRevoked"
