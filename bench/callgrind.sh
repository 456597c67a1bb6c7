#!/usr/bin/env bash
# callgrind.sh - instructions executed by anvil-ca per issuance, counted by
# valgrind --tool=callgrind: a regression guard that, unlike a timing,
# does not depend on what else the machine is doing.
#
# usage: bench/callgrind.sh [COUNT]     (default 20 issuances)
#
# Two runs of `anvil-ca serve` under callgrind, each on a fresh state:
#   1. start, anvil-load --count WARM --concurrency 1, stop: startup,
#      shutdown, one newAccount and the one-time costs of the first
#      issuances (each VA thread's first lookup sets up its libunbound
#      worker, which seeds its random generators: ~19 M Ir per thread,
#      once);
#   2. the same with --count WARM+COUNT.
# Ir per issuance = (Ir of run 2 - Ir of run 1) / COUNT: the steady state.
# WARM (default 8) must reach every VA thread (4 by default).  The polls
# of both runs are printed (the driver polls once the validation request
# has reached its responder, so there is about one per issuance).
# BUILD (default build-bench) gives the binaries; the profile files are
# kept in the printed directory for callgrind_annotate.  MAX_IR makes it
# a regression guard: a TAP line, and exit status 1 above the budget
# (scripts/test runs it so against a release build).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
TEST_NAME=callgrind
# shellcheck source=../tests/lib/common.sh
. "$REPO/tests/lib/common.sh"
# shellcheck source=../tests/lib/target.sh
. "$REPO/tests/lib/target.sh"
unset ASAN_OPTIONS UBSAN_OPTIONS

: "${BUILD:=$REPO/build-bench}"
ANVIL_CA=$BUILD/server/anvil-ca
LOAD=$BUILD/bench/anvil-load
COUNT=${1:-20}
: "${WARM:=8}"
[ -x "$ANVIL_CA" ] && [ -x "$LOAD" ] || die "build $BUILD first"
command -v valgrind >/dev/null || die "valgrind is not installed"

tmp_init
KEEP_TMP=1
mapfile -t P < <(free_ports 6)
[ "${#P[@]}" -eq 6 ] || die "cannot find free ports"
HTTP01_PORT=${P[0]}
challtestsrv_start "${P[1]}" "${P[2]}"

srv_pid=
on_exit '[ -n "$srv_pid" ] && stop_pid "$srv_pid" 30 >/dev/null 2>&1'

# serve_cg NAME - anvil-ca on a fresh state under callgrind; sets DIR_URL.
serve_cg() {
	local st=$TEST_TMP/state-$1 i
	"$ANVIL_CA" init --state "$st" --tls-name localhost >/dev/null ||
	    die "anvil-ca init failed"
	"$ANVIL_CA" root --state "$st" >"$TEST_TMP/root.pem"
	SPAWN_OWN_STOP=1 spawn "cg-$1" valgrind --tool=callgrind \
	    --callgrind-out-file="$TEST_TMP/callgrind.$1" \
	    "$ANVIL_CA" serve --state "$st" --listen "127.0.0.1:${P[3]}" \
	    --public-listen "127.0.0.1:${P[4]}" --http01-port "$HTTP01_PORT" \
	    --tlsalpn01-port "${P[5]}" --resolver "$DNS_SERVER"
	srv_pid=$SPAWN_PID
	DIR_URL=
	for ((i = 0; i < 600; i++)); do
		DIR_URL=$(sed -n 's/^anvil-ca: directory //p' \
		    "$TEST_TMP/cg-$1.out" | head -n 1)
		[ -n "$DIR_URL" ] && break
		kill -0 "$srv_pid" 2>/dev/null || die "anvil-ca exited"
		sleep 0.1
	done
	[ -n "$DIR_URL" ] || die "anvil-ca did not start under valgrind"
	wait_until 60 curl -fsS --cacert "$TEST_TMP/root.pem" "$DIR_URL" ||
	    die "no directory from $DIR_URL"
}

# stop_cg NAME - stops the server (in this shell: it is our child); sets
# IR to its total instruction count.
stop_cg() {
	local rc=0
	stop_pid "$srv_pid" 60 || rc=$?
	srv_pid=
	[ "$rc" -eq 0 ] || die "anvil-ca exited with $rc under callgrind"
	IR=$(sed -n 's/^summary: *//p; s/^totals: *//p' \
	    "$TEST_TMP/callgrind.$1" | head -n 1 | awk '{print $1}')
	[ -n "$IR" ] || die "no total in $TEST_TMP/callgrind.$1"
}

# run_load N - N issuances at concurrency 1 against DIR_URL; prints the
# polls made.
run_load() {
	"$LOAD" --directory "$DIR_URL" --ca-bundle "$TEST_TMP/root.pem" \
	    --http01-port "$HTTP01_PORT" --count "$1" --concurrency 1 --json \
	    >"$TEST_TMP/load-$1.json" 2>"$TEST_TMP/load-$1.err" ||
	    die "anvil-load failed: $(head -c 400 "$TEST_TMP/load-$1.json")"
	[ "$(jq .issuances "$TEST_TMP/load-$1.json")" -eq "$1" ] ||
	    die "only $(jq .issuances "$TEST_TMP/load-$1.json") of $1 issued"
	jq .polls "$TEST_TMP/load-$1.json"
}

serve_cg warm
polls_warm=$(run_load "$WARM")
stop_cg warm
ir_warm=$IR

serve_cg load
polls_load=$(run_load "$((WARM + COUNT))")
stop_cg load
ir_load=$IR

awk -v s="$ir_warm" -v l="$ir_load" -v w="$WARM" -v n="$COUNT" \
    -v ps="$polls_warm" -v pl="$polls_load" 'BEGIN {
	printf "warm-up run (%d issuances, %d polls): %d Ir\n", w, ps, s
	printf "with %d more issuances (%d polls): %d Ir\n", n, pl, l
	printf "anvil-ca: %.0f instructions per issuance\n", (l - s) / n
}'
log "profiles in $TEST_TMP (callgrind_annotate $TEST_TMP/callgrind.load)"
# The regression guard: with MAX_IR set, one TAP line and the status.
if [ -n "${MAX_IR:-}" ]; then
	per=$(( (ir_load - ir_warm) / COUNT ))
	if [ "$per" -le "$MAX_IR" ]; then
		echo "ok 1 - instructions_per_issuance $per <= $MAX_IR"
	else
		echo "not ok 1 - instructions_per_issuance: $per > $MAX_IR" \
		    "(a regression, or raise the budget in scripts/test" \
		    "with the reason in BENCHMARKS.md)"
		exit 1
	fi
fi
