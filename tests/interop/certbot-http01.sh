#!/usr/bin/env bash
# certbot-http01.sh - certbot certonly --standalone gets one certificate
# for three names by http-01 (its own responder on the server's http-01
# port); the certificate must chain to the root and name exactly those
# three names.
#
# Usage: certbot-http01.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=certbot-http01
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/certbot.sh"

fixture_begin "$@"
n1=$(rand_name)
n2=$(rand_name)
n3=$(rand_name)
certbot_certonly t1 -d "$n1" -d "$n2" -d "$n3"
live=$TEST_TMP/certbot/config/live/t1
check_cert "$live/cert.pem" "$live/chain.pem" "$ACME_ROOT" "$n1" "$n2" "$n3"
check_fullchain "$live/fullchain.pem" "$ACME_ROOT" "$n1" "$n2" "$n3"
