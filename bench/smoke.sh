#!/usr/bin/env bash
# smoke.sh - the benchmark tools still work: bench/compare runs anvil-load
# for a few seconds at concurrency 4 against anvil-ca and against Pebble,
# and each run must issue certificates with no error; bench/va-latency.sh
# runs with 100 ms validations.  One TAP line per run.  Not a measurement (scripts/test runs it so that a change that
# breaks the benchmarks is seen).
#
# usage: bench/smoke.sh BUILD_DIR     (a release build with server/anvil-ca
#                                      and bench/anvil-load)
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: smoke.sh BUILD_DIR}
out=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX") || exit 1
BUILD=$build TARGETS="anvil pebble" LEVELS=4 OUT=$out \
    bash "$BENCH_DIR/compare" 3 >"$out/compare.log" 2>&1
st=$?
fails=0
n=0
for t in anvil pebble; do
	n=$((n + 1))
	j=$out/$t-4.json
	if [ -s "$j" ] && jq -e '.issuances > 0 and .error_count == 0' \
	    "$j" >/dev/null 2>&1; then
		echo "ok $n - compare_$t $(jq -r '.issuances' "$j") issued"
	else
		echo "not ok $n - compare_$t: $(jq -c '{issuances, errors}' "$j" \
		    2>/dev/null || echo "no result (compare exit $st)")"
		fails=$((fails + 1))
	fi
done
# bench/va-latency.sh: validations that take 100 ms each, at c=8: each
# flow takes at least those 100 ms, and none fails.
n=$((n + 1))
BUILD=$build OUT=$out/va-latency bash "$BENCH_DIR/va-latency.sh" -d 100 \
    -c 8 -s 3 >"$out/va-latency.log" 2>&1
# The line of the one build: name, iss/s, p50, p99, issued, errors, ...
read -r _ _ p50 _ issued errors _ < <(awk 'f { print; exit }
    /^build\t/ { f = 1 }' "$out/va-latency.log")
if [ "${issued:-0}" -gt 0 ] 2>/dev/null && [ "${errors:-1}" = 0 ] &&
    [ "${p50:-0}" -ge 100 ] 2>/dev/null; then
	echo "ok $n - va_latency $issued issued, flow p50 $p50 ms"
else
	echo "not ok $n - va_latency: issued ${issued:-?}, errors" \
	    "${errors:-?}, flow p50 ${p50:-?} ms"
	tail -n 20 "$out/va-latency.log"
	fails=$((fails + 1))
fi
# bench/anvil-floor: every part measured (a figure above zero) and the
# total their sum; a bad option gets one line naming it and exit 2.
n=$((n + 1))
if f=$("$build/bench/anvil-floor" --count 100 --conns 8 --json \
    2>"$out/floor.err") && jq -e '.crypto_ms > 0 and .https_ms > 0 and
    .validation_ms > 0 and .log_ms > 0 and
    ((.crypto_ms + .https_ms + .validation_ms + .log_ms - .total_ms)
    | fabs < 0.001)' <<<"$f" >/dev/null 2>&1; then
	echo "ok $n - floor $(jq -r '.total_ms' <<<"$f") ms per issuance"
else
	echo "not ok $n - floor: ${f:-nothing} $(head -c 300 "$out/floor.err")"
	fails=$((fails + 1))
fi
n=$((n + 1))
"$build/bench/anvil-floor" --count 0 >/dev/null 2>"$out/floor-bad.err"
st=$?
if [ "$st" = 2 ] && [ "$(wc -l <"$out/floor-bad.err")" = 1 ] &&
    grep -q -- '--count' "$out/floor-bad.err"; then
	echo "ok $n - floor_bad_option"
else
	echo "not ok $n - floor_bad_option: exit $st, $(head -c 300 \
	    "$out/floor-bad.err")"
	fails=$((fails + 1))
fi
if [ "$fails" -gt 0 ]; then
	tail -n 20 "$out/compare.log"
	exit 1
fi
rm -rf "$out"
