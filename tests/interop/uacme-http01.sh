#!/usr/bin/env bash
# uacme-http01.sh - uacme creates an account and gets a certificate for two
# names by http-01: its hook writes the key authorizations into a directory
# that a plain HTTP server serves on the server's http-01 port.  uacme has
# no CA-file option: it runs in a private mount namespace whose
# /etc/ssl/certs trusts only our root.
#
# Usage: uacme-http01.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]
set -euo pipefail
TEST_NAME=uacme-http01
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
n1=$(rand_name)
n2=$(rand_name)
export WEBROOT=$TEST_TMP/www
mkdir -p "$WEBROOT"
http_server "$WEBROOT" "$HTTP01_PORT"
uacme_cmd() {
	"$TESTLIB_DIR/private-ca-store.sh" "$ACME_CA_BUNDLE" \
	    uacme -v -c "$TEST_TMP/uacme" -a "$ACME_DIRECTORY" "$@"
}
show_on_failure "$TEST_TMP/uacme-new.log"
show_on_failure "$TEST_TMP/uacme-issue.log"
uacme_cmd -y new test@example.test >"$TEST_TMP/uacme-new.log" 2>&1 ||
    die "uacme new failed"
uacme_cmd -h "$TESTLIB_DIR/uacme-hook.sh" issue "$n1" "$n2" \
    >"$TEST_TMP/uacme-issue.log" 2>&1 || die "uacme issue failed"
check_fullchain "$TEST_TMP/uacme/$n1/cert.pem" "$ACME_ROOT" "$n1" "$n2"
