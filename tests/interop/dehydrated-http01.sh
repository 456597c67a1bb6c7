#!/usr/bin/env bash
# dehydrated-http01.sh - dehydrated registers (--register --accept-terms)
# and signs a certificate for two names by http-01: WELLKNOWN is a
# directory that a plain HTTP server serves on the server's http-01 port;
# curl trusts our root through CURL_OPTS=--cacert.
#
# Usage: dehydrated-http01.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=dehydrated-http01
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
n1=$(rand_name)
n2=$(rand_name)
d=$TEST_TMP/dehydrated
www=$TEST_TMP/www
mkdir -p "$d" "$www/.well-known/acme-challenge"
http_server "$www" "$HTTP01_PORT"
cat >"$d/config" <<CONF
CA="$ACME_DIRECTORY"
CHALLENGETYPE="http-01"
BASEDIR="$d"
WELLKNOWN="$www/.well-known/acme-challenge"
CURL_OPTS="--cacert $ACME_CA_BUNDLE"
KEY_ALGO="secp384r1"
CONTACT_EMAIL="test@example.test"
CONF
show_on_failure "$TEST_TMP/register.log"
show_on_failure "$TEST_TMP/sign.log"
dehydrated --config "$d/config" --register --accept-terms \
    >"$TEST_TMP/register.log" 2>&1 || die "dehydrated --register failed"
dehydrated --config "$d/config" --cron --domain "$n1 $n2" \
    >"$TEST_TMP/sign.log" 2>&1 || die "dehydrated --cron failed"
check_cert "$d/certs/$n1/cert.pem" "$d/certs/$n1/chain.pem" "$ACME_ROOT" \
    "$n1" "$n2"
check_fullchain "$d/certs/$n1/fullchain.pem" "$ACME_ROOT" "$n1" "$n2"
