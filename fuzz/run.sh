#!/bin/sh
# run.sh - runs every fuzz target (or the ones named) under libFuzzer for
# SECONDS each, one after the other, from its corpus.  For people, not CI.
#
#	usage: fuzz/run.sh SECONDS [TARGET ...]
#
# Needs a libFuzzer build in $BUILD (default build-fuzz):
#	CC=clang meson setup build-fuzz -Dfuzzing=true \
#	    -Db_sanitize=address,undefined -Db_lundef=false
# New inputs go to $BUILD/fuzz-work/TARGET, crashes to
# $BUILD/fuzz-work/crash-TARGET-*; the corpus in fuzz/corpus is only read.
# To keep what was found, minimized:
#	$BUILD/fuzz/fuzz_TARGET -merge=1 fuzz/corpus/TARGET \
#	    $BUILD/fuzz-work/TARGET
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build-fuzz}
case $build in /*) ;; *) build=$top/$build ;; esac

if [ $# -lt 1 ]; then
	echo "usage: $0 SECONDS [TARGET ...]" >&2
	exit 2
fi
secs=$1
shift
if [ $# -eq 0 ]; then
	set -- $(ls "$top/fuzz/corpus")
fi

ninja -C "$build" $(for t in "$@"; do printf 'fuzz/fuzz_%s ' "$t"; done)
status=0
for t in "$@"; do
	work=$build/fuzz-work/$t
	mkdir -p "$work"
	echo "== $t: $secs s"
	# -timeout: one input over 10 s is a hang; -rss_limit_mb: a leak.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	"$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$build/fuzz-work/crash-$t-" \
	    "$work" "$top/fuzz/corpus/$t" 2>"$build/fuzz-work/$t.log" ||
	    status=1
	grep -E '^stat::number_of_executed_units|^SUMMARY|fuzz check failed' \
	    "$build/fuzz-work/$t.log" || true
done
exit $status
