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

# A challenge answer waiting for a slow validation when SIGTERM comes
# is sent then, not lost; the validation, cut short, is done again once
# the server is back.
parked_flag=$TEST_TMP/parked.posting
"$PY" "$REPO_ROOT/tests/integration/persist.py" parked "$parked_flag" \
    "$ACME_DIRECTORY" "$ACME_CA_BUNDLE" >"$TEST_TMP/parked.tap" &
parked_pid=$!
wait_until 30 test -e "$parked_flag" || die "parked: no POST"
sleep 0.3

# The same command line, read back from the running server.
mapfile -d '' argv <"/proc/$_server_pid/cmdline"
target_stop
[ -z "${_hook_failure:-}" ] || die "first stop: $_hook_failure"
# Started again with the usual soft limit of open files (prlimit execs
# it, same process), which the server raises to the hard limit.
hard=$(ulimit -Hn)
soft=256
[ "$hard" = unlimited ] || [ "$hard" -gt "$soft" ] || soft=$hard
SPAWN_OWN_STOP=1 spawn anvil-ca prlimit --nofile="$soft:" -- "${argv[@]}"
_server_pid=$SPAWN_PID
_server_name=anvil-ca
show_on_failure "$TEST_TMP/anvil-ca.out"
wait_until "$SERVER_START_SECS" curl -fsS --cacert "$ACME_CA_BUNDLE" \
    "$ACME_DIRECTORY" || die "anvil-ca did not come back at $ACME_DIRECTORY"
"$PY" "$REPO_ROOT/tests/integration/persist.py" after "$st" \
    "$ACME_DIRECTORY" "$ACME_CA_BUNDLE"
# The parked client goes on until its validation, cut short by the stop,
# was done again by the restarted server (bounded: 60 s).
wait "$parked_pid" || true
cat "$TEST_TMP/parked.tap"
grep -q "validations left processing at the last stop started again" \
    "$TEST_TMP/anvil-ca.out" &&
	echo "ok 1 - restart_says_validations_resumed" ||
	echo "not ok 1 - restart_says_validations_resumed: no such line in" \
	    "anvil-ca.out"
limits=$(awk '/^Max open files/ { print $4 " " $5 }' \
    "/proc/$_server_pid/limits")
if [ "$limits" = "$hard $hard" ] || { [ "$hard" = unlimited ] &&
    [ "$limits" = "unlimited unlimited" ]; }; then
	echo "ok 2 - restart_open_files_raised (from $soft to $hard)"
else
	echo "not ok 2 - restart_open_files_raised: soft and hard limits are" \
	    "$limits, started at $soft"
fi
