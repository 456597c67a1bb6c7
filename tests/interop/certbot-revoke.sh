#!/usr/bin/env bash
# certbot-revoke.sh - certbot gets a certificate, revokes it (signed with
# the account key, reason keyCompromise); the certificate's OCSP responder
# and CRL, if it names them, must list it as revoked, and a second
# revocation must be refused with urn:ietf:params:acme:error:alreadyRevoked
# (RFC 8555 §7.6).
#
# Usage: certbot-revoke.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=certbot-revoke
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/certbot.sh"

fixture_begin "$@"
n1=$(rand_name)
certbot_certonly t1 -d "$n1"
live=$TEST_TMP/certbot/config/live/t1
check_cert "$live/cert.pem" "$live/chain.pem" "$ACME_ROOT" "$n1"

certbot_cmd revoke --cert-path "$live/cert.pem" --reason keycompromise \
    --no-delete-after-revoke >"$TEST_TMP/revoke.log" 2>&1 ||
    die "certbot revoke failed: $(tail -n 5 "$TEST_TMP/revoke.log")"
check_revoked "$live/cert.pem" "$live/chain.pem" "$ACME_ROOT" \
    "$ACME_CA_BUNDLE"
# certbot logs each response body at debug level.
: >"$TEST_TMP/certbot/logs/letsencrypt.log"
show_on_failure "$TEST_TMP/revoke2.log"
if certbot_cmd revoke --cert-path "$live/cert.pem" \
    --no-delete-after-revoke >"$TEST_TMP/revoke2.log" 2>&1; then
	die "second revocation of the same certificate succeeded"
fi
grep -q 'urn:ietf:params:acme:error:alreadyRevoked' \
    "$TEST_TMP/certbot/logs/letsencrypt.log" ||
    die "second revocation failed, but not with alreadyRevoked"
log "revoked; second revocation refused with alreadyRevoked"
