#!/usr/bin/env bash
# lego-tlsalpn01.sh - lego gets a certificate by tls-alpn-01 (RFC 8737),
# answering on the server's tls-alpn-01 port; the certificate must chain
# to the root and name exactly the requested name.
#
# Usage: lego-tlsalpn01.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=lego-tlsalpn01
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
n1=$(rand_name)
show_on_failure "$TEST_TMP/lego.log"
LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
    --path "$TEST_TMP/lego" --accept-tos --email "test@example.test" \
    --key-type rsa2048 --domains "$n1" \
    --tls --tls.port "127.0.0.1:$TLSALPN01_PORT" \
    run >"$TEST_TMP/lego.log" 2>&1 || die "lego run failed"
check_fullchain "$TEST_TMP/lego/certificates/$n1.crt" "$ACME_ROOT" "$n1"
