#!/usr/bin/env bash
# memgrowth.sh - does anvil-ca's memory stay flat over many issuances?
# One server (fresh state), anvil-load --count N, then --count 9N more:
# prints its VmRSS after N and after 10N issuances and their ratio
# (issue 5: after 100,000 within 20 % of after 10,000).
#
# usage: bench/memgrowth.sh [N]     (default 10000)
#
# Environment: BUILD (default build-bench, buildtype=release),
# CONCURRENCY (default 64).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
TEST_NAME=memgrowth
# shellcheck source=../tests/lib/common.sh
. "$REPO/tests/lib/common.sh"
# shellcheck source=../tests/lib/target.sh
. "$REPO/tests/lib/target.sh"
unset ASAN_OPTIONS UBSAN_OPTIONS

: "${BUILD:=$REPO/build-bench}"
: "${CONCURRENCY:=64}"
LOAD=$BUILD/bench/anvil-load
ANVIL_CA=$BUILD/server/anvil-ca
N=${1:-10000}
[ -x "$ANVIL_CA" ] && [ -x "$LOAD" ] || die "build $BUILD first"

tmp_init
KEEP_TMP=1
mapfile -t P < <(free_ports 6)
[ "${#P[@]}" -eq 6 ] || die "cannot find free ports"
HTTP01_PORT=${P[0]}
TLSALPN01_PORT=${P[1]}
export HTTP01_PORT TLSALPN01_PORT
challtestsrv_start "${P[2]}" "${P[3]}"
anvil_start "${P[4]}" "${P[5]}"
pid=$_server_pid
on_exit '[ -n "$pid" ] && stop_pid "$pid" 10 >/dev/null 2>&1'

# run COUNT - COUNT issuances; fails unless all were made.
run() {
	"$LOAD" --directory "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE" \
	    --http01-port "$HTTP01_PORT" --concurrency "$CONCURRENCY" \
	    --count "$1" --server-pid "$pid" --json \
	    >"$TEST_TMP/load-$1.json" 2>"$TEST_TMP/load-$1.err" ||
	    die "anvil-load failed: $(tail -3 "$TEST_TMP/load-$1.err")"
	[ "$(jq .issuances "$TEST_TMP/load-$1.json")" -eq "$1" ] ||
	    die "not all $1 issued"
}

rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"
}

run "$N"
r1=$(rss_kb)
run "$((9 * N))"
r2=$(rss_kb)
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
awk -v n="$N" -v a="$r1" -v b="$r2" -v h="$hwm" 'BEGIN {
	printf "VmRSS after %d issuances: %.1f MB\n", n, a / 1024
	printf "VmRSS after %d issuances: %.1f MB (%+.1f %%; peak %.1f MB)\n",
	    10 * n, b / 1024, (b - a) * 100 / a, h / 1024
}'
