# lib.sh - what the agent's tests share: the ACME server (Pebble by
# default, through tests/lib/target.sh), the anvil binary, and "ok" /
# "not ok" lines.
#
# Each test script sources this file, calls agent_begin, runs its checks
# with check NAME CMD..., and ends with agent_end (exit status 1 when any
# check failed).  Everything the script starts is stopped at exit.
#
# Environment:
#   ANVIL         the anvil binary (or the first argument of the script)
#   AGENT_TARGET  pebble (default) or anvil: which CA the tests run against

AGENT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET=${AGENT_TARGET:-pebble}
# shellcheck source=../lib/common.sh
source "$AGENT_DIR/../lib/common.sh"
# shellcheck source=../lib/target.sh
source "$AGENT_DIR/../lib/target.sh"

_checks_failed=0
_checks_run=0

# agent_begin [ANVIL] - finds the binary, starts the CA, sets ST (state).
agent_begin() {
	ANVIL=${1:-${ANVIL:-$REPO_ROOT/build/client/anvil}}
	[ -x "$ANVIL" ] || die "no anvil binary at $ANVIL"
	ANVIL=$(cd "$(dirname "$ANVIL")" && pwd)/$(basename "$ANVIL")
	target_start
	# Not $TEST_TMP/state: anvil-ca keeps its own state there.
	ST=$TEST_TMP/agent-state
	PEBBLE_MGMT=
	if [ -f "$TEST_TMP/pebble/config.json" ]; then
		PEBBLE_MGMT=$(sed -n \
		    's/.*"managementListenAddress": *"\([^"]*\)".*/\1/p' \
		    "$TEST_TMP/pebble/config.json")
	fi
}

# anv ARGS... - anvil against the test CA with the test state.
anv() {
	"$ANVIL" --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE" \
	    --state "$ST" "$@"
}

# check NAME CMD... - runs CMD (a function or command); prints
# "ok NAME" or "not ok NAME" with CMD's output.  CMD runs with errexit
# in force: any command of it that fails (fail, die, a failing anvil
# run not caught by "|| rc=$?") fails the check.  (Run as the left of
# "||", bash would ignore errexit inside CMD, and only its last
# command would count.)
check() {
	local name=$1 out rc
	shift
	_checks_run=$((_checks_run + 1))
	set +e
	out=$(set -e; "$@" 2>&1)
	rc=$?
	set -e
	if [ "$rc" -eq 0 ]; then
		printf 'ok %s\n' "$name"
	else
		printf 'not ok %s\n' "$name"
		printf '%s\n' "$out" | sed 's/^/#   /' | tail -n 30
		_checks_failed=$((_checks_failed + 1))
	fi
}

# agent_end - the script's exit status.
agent_end() {
	[ "$_checks_failed" -eq 0 ] || exit 1
	exit 0
}

# fail MESSAGE - fails the current check (use inside check functions).
fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# cert_serial FILE - the serial of a PEM certificate, lowercase hex.
cert_serial() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' |
	    tr 'A-F' 'a-f' | sed 's/^0*//'
}

# file_mode FILE - the permission bits, octal ("600").
file_mode() {
	stat -L -c %a "$1"
}

# tree_sum DIR - one checksum of every path, mode, link and content.
tree_sum() {
	[ -d "$1" ] || { echo empty; return 0; }
	(cd "$1" && find . -printf '%p %m %l\n' | sort &&
	    find . -type f -print0 | sort -z | xargs -0r sha256sum) |
	    sha256sum | cut -d' ' -f1
}

# one_line_error FILE - FILE holds exactly one line, starting "anvil: ".
one_line_error() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -eq 1 ] || fail "stderr has $n lines: $(cat "$1")"
	grep -q '^anvil: ' "$1" || fail "stderr: $(cat "$1")"
}

# verify_live NAME DNS... - live/NAME chains to the CA root with those SANs.
verify_live() {
	local name=$1
	shift
	( check_fullchain "$ST/live/$name/fullchain.pem" "$ACME_ROOT" "$@" )
}
