#!/usr/bin/env bash
# restart.sh - a restart of anvil-ca keeps every account, order,
# authorization and certificate (persist.py checks them before and after);
# SIGTERM stops it cleanly both times.  Prints TAP lines.
set -euo pipefail
TEST_NAME=restart
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin
[ -n "${SERVER_STATE:-}" ] || skip "restart needs anvil-ca (TARGET=anvil)"
st=$TEST_TMP/persist.json
"$PY" "$REPO_ROOT/tests/integration/persist.py" before "$st" \
    "$ACME_DIRECTORY" "$ACME_CA_BUNDLE"

# The same command line, read back from the running server.
mapfile -d '' argv <"/proc/$_server_pid/cmdline"
target_stop
[ -z "${_hook_failure:-}" ] || die "first stop: $_hook_failure"
SPAWN_OWN_STOP=1 spawn anvil-ca "${argv[@]}"
_server_pid=$SPAWN_PID
_server_name=anvil-ca
show_on_failure "$TEST_TMP/anvil-ca.out"
wait_until "$SERVER_START_SECS" curl -fsS --cacert "$ACME_CA_BUNDLE" \
    "$ACME_DIRECTORY" || die "anvil-ca did not come back at $ACME_DIRECTORY"
"$PY" "$REPO_ROOT/tests/integration/persist.py" after "$st" \
    "$ACME_DIRECTORY" "$ACME_CA_BUNDLE"
