#!/bin/bash
# run.sh - the agent's tests: runs every tests/agent/*.sh against a CA each
# starts for itself (Pebble by default; AGENT_TARGET=anvil for anvil-ca)
# and prints one "ok NAME" / "not ok NAME" line per check, then a summary.
#
# Usage: tests/agent/run.sh PATH/TO/anvil [SCRIPT...]
# Environment: AGENT_TARGET (pebble or anvil), ANVIL_CA (default: the
# anvil-ca beside PATH/TO/anvil in the same build directory).
# Exit status 0 when every check passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
anvil=${1:?usage: $0 PATH/TO/anvil [SCRIPT...]}
shift
[ -x "$anvil" ] || { echo "run.sh: no executable at $anvil" >&2; exit 2; }
anvil=$(cd "$(dirname "$anvil")" && pwd)/$(basename "$anvil")
# AGENT_TARGET=anvil: the anvil-ca of the same build unless ANVIL_CA says.
if [ -z "${ANVIL_CA:-}" ] && [ -x "$(dirname "$anvil")/../server/anvil-ca" ]
then
	ANVIL_CA=$(cd "$(dirname "$anvil")/../server" && pwd)/anvil-ca
	export ANVIL_CA
fi

if [ $# -gt 0 ]; then
	scripts=("$@")
else
	scripts=()
	for s in "$here"/*.sh; do
		case $(basename "$s") in
		run.sh | lib.sh) ;;
		*) scripts+=("$s") ;;
		esac
	done
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/anvil-agent-tests.XXXXXX")
# The scripts' temporary directories go under it: private to this run.
export TMPDIR=$logdir
pass=0
failn=0
for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	# Each script is bounded: 300 s at most.
	timeout -k 10 300 bash "$s" "$anvil" >"$logdir/$name.out" \
	    2>"$logdir/$name.err"
	rc=$?
	cat "$logdir/$name.out"
	p=$(grep -c '^ok ' "$logdir/$name.out")
	f=$(grep -c '^not ok ' "$logdir/$name.out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# The script died outside its checks.
		echo "not ok $name (exit status $rc)"
		f=1
	fi
	if [ "$f" -gt 0 ]; then
		echo "# $name: stderr in $logdir/$name.err" >&2
		tail -n 20 "$logdir/$name.err" | sed 's/^/#   /' >&2
	fi
	pass=$((pass + p))
	failn=$((failn + f))
done
echo "# agent: $pass passed, $failn failed"
if [ "$failn" -eq 0 ]; then
	rm -rf "$logdir"
	exit 0
fi
exit 1
