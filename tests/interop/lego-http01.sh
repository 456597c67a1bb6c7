#!/usr/bin/env bash
# lego-http01.sh - lego gets a certificate for two names by http-01 (its
# own responder on the server's http-01 port), and the certificate chains
# to the root and names exactly those two names.
#
# Usage: lego-http01.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]  (see tests/lib)
set -euo pipefail
TEST_NAME=lego-http01
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
n1=$(rand_name)
n2=$(rand_name)
show_on_failure "$TEST_TMP/lego.log"
LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
    --path "$TEST_TMP/lego" --accept-tos --email "test@example.test" \
    --domains "$n1" --domains "$n2" \
    --http --http.port "127.0.0.1:$HTTP01_PORT" \
    run >"$TEST_TMP/lego.log" 2>&1 || die "lego run failed"
check_fullchain "$TEST_TMP/lego/certificates/$n1.crt" "$ACME_ROOT" "$n1" "$n2"
