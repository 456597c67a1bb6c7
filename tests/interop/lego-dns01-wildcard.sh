#!/usr/bin/env bash
# lego-dns01-wildcard.sh - lego gets one certificate for *.X.example.test
# and X.example.test by dns-01, publishing both TXT records through the
# mock DNS server's API (lego's exec provider); the certificate must chain
# to the root and name exactly those two names.
#
# Usage: lego-dns01-wildcard.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=lego-dns01-wildcard
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
base=$(rand_name)
show_on_failure "$TEST_TMP/lego.log"
# The exec provider waits EXEC_SEQUENCE_INTERVAL (default 60 s) between
# two records of the same name: the mock DNS server needs no such wait.
EXEC_PATH=$TESTLIB_DIR/lego-exec-dns.sh EXEC_SEQUENCE_INTERVAL=1 \
EXEC_PROPAGATION_TIMEOUT=20 EXEC_POLLING_INTERVAL=1 \
LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE lego --server "$ACME_DIRECTORY" \
    --path "$TEST_TMP/lego" --accept-tos --email "test@example.test" \
    --domains "*.$base" --domains "$base" \
    --dns exec --dns.resolvers "$DNS_SERVER" --dns.disable-cp \
    run >"$TEST_TMP/lego.log" 2>&1 || die "lego run failed"
check_fullchain "$TEST_TMP/lego/certificates/_.$base.crt" "$ACME_ROOT" \
    "*.$base" "$base"
