#!/usr/bin/env bash
# va-latency.sh - anvil-ca's throughput when each validation takes a real
# network's time: anvil-load's http-01 responder answers every request
# MS milliseconds after reading it (--http01-delay), on loopback.  A VA
# that runs one blocking validation per thread caps the CA at
# threads / delay validations per second (4 / 0.2 s = 20/s); one with
# many validations in flight is bounded by the concurrency
# (CONC / delay, 64 / 0.2 s = 320/s) or by the CPU.
#
# usage: bench/va-latency.sh [-d MS] [-c CONC] [-s SECONDS] [NAME=BUILD...]
#   MS 200 (0-10000), CONC 64, SECONDS 10 by default.  BUILD is a build
#   directory with server/anvil-ca and bench/anvil-load (release builds);
#   with no NAME=BUILD, the build of this tree: ${BUILD:-build-bench}.
#
# Environment:
#   DRIVER   one anvil-load for every build (e.g. this tree's, for builds
#            whose own driver predates --http01-delay): each build's
#            server is run under it through a directory of symbolic links
#   OUT      directory for the raw JSON and logs (default: a new
#            temporary directory, kept)
#
# Each build runs one `bench/compare SECONDS` of anvil-ca alone at
# concurrency CONC with LOAD_ARGS="--http01-delay MS": a fresh server and
# pebble-challtestsrv, bench/compare's way; the processes it starts are
# its own to stop (on exit, also on INT and TERM), and this script stops
# a run that outlives its bound.  Prints one line per build: iss/s, the
# flow's p50 and p99 (newOrder to certificate), the issuances, the errors
# (by type) and the server's CPU ms per issuance.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

usage() {
	echo "usage: $0 [-d MS] [-c CONC] [-s SECONDS] [NAME=BUILD...]" >&2
	exit 2
}

delay=200 conc=64 secs=10
while getopts d:c:s: opt; do
	case $opt in
	d) delay=$OPTARG ;;
	c) conc=$OPTARG ;;
	s) secs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
# Decimal without leading zeros (arithmetic below would read 010 as 8).
if ! [[ $delay =~ ^(0|[1-9][0-9]*)$ && $conc =~ ^[1-9][0-9]*$ &&
    $secs =~ ^[1-9][0-9]*$ ]] || [ "$delay" -gt 10000 ] ||
    [ "$conc" -gt 1024 ] || [ "$secs" -gt 3600 ]; then
	usage
fi
[ $# -gt 0 ] || set -- "tree=${BUILD:-$REPO/build-bench}"

command -v jq >/dev/null || { echo "va-latency.sh: jq is not installed" >&2; exit 2; }
if [ -n "${DRIVER:-}" ]; then
	[ -x "$DRIVER" ] || { echo "va-latency.sh: no $DRIVER" >&2; exit 2; }
	DRIVER=$(realpath "$DRIVER")
fi
for nb in "$@"; do
	case $nb in
	?*=?*) ;;
	*) echo "va-latency.sh: $nb is not NAME=BUILD" >&2; exit 2 ;;
	esac
	b=${nb#*=}
	[ -x "$b/server/anvil-ca" ] ||
	    { echo "va-latency.sh: no $b/server/anvil-ca" >&2; exit 2; }
	drv=${DRIVER:-$b/bench/anvil-load}
	[ -x "$drv" ] || { echo "va-latency.sh: no $drv" >&2; exit 2; }
	help=$("$drv" --help 2>&1) || true
	[[ $help == *--http01-delay* ]] || {
		echo "va-latency.sh: $drv has no --http01-delay (set DRIVER)" >&2
		exit 2
	}
done
: "${OUT:=$(mktemp -d /tmp/anvil-va-latency.XXXXXX)}"
mkdir -p "$OUT"

# The run in progress, stopped with the script: bench/compare stops its
# own server and DNS server on TERM.
run_pid=
cleanup() {
	if [ -n "$run_pid" ]; then
		kill -TERM "$run_pid" 2>/dev/null || true
		wait "$run_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The bound of one run: its timed phase, then the flows in flight, each
# at worst behind the others one validation at a time, then starting and
# stopping the servers.
bound=$((secs + 120 + conc * delay / 1000))

echo "va-latency.sh: --http01-delay $delay ms, c=$conc, ${secs}s per build; runs in $OUT"
# Not a pipeline into tee: the loop must run in this shell, whose traps
# know the run in progress.
printf 'build\tiss/s\tflow_p50_ms\tflow_p99_ms\tissued\terrors\tby_type\tsrv_cpu_ms/iss\n' |
    tee "$OUT/table.tsv"
for nb in "$@"; do
	n=${nb%%=*} b=$(realpath "${nb#*=}")
	d=$OUT/$n
	if [ -n "${DRIVER:-}" ]; then
		b0=$b b=$OUT/$n-bin
		mkdir -p "$b/server" "$b/bench"
		ln -sf "$b0/server/anvil-ca" "$b/server/anvil-ca"
		ln -sf "$DRIVER" "$b/bench/anvil-load"
	fi
	BUILD=$b TARGETS=anvil LEVELS=$conc OUT=$d \
	    LOAD_ARGS="--http01-delay $delay" \
	    timeout -k 10 "$bound" bash "$BENCH_DIR/compare" "$secs" \
	    >"$d.log" 2>&1 &
	run_pid=$!
	wait "$run_pid" || true
	run_pid=
	rm -rf "$d/state"
	j=$d/anvil-$conc.json
	if [ ! -s "$j" ] || [ "$(jq 'has("issuances")' "$j")" != true ]; then
		printf '%s\tno result (see %s.log)\n' "$n" "$d" |
		    tee -a "$OUT/table.tsv"
		continue
	fi
	jq -r --arg n "$n" '
	    def num(x; k): if x == null then "-" else (x * k | round / k) end;
	    [$n, num(.issuances_per_s; 10),
	     num(.steps.flow.p50_ms; 1), num(.steps.flow.p99_ms; 1),
	     (.issuances // 0), (.error_count // "-"),
	     ((.errors // {}) | to_entries | map("\(.key)=\(.value)")
	       | join(",") | if . == "" then "-" else . end),
	     num(.server_cpu_ms_per_issuance; 100)] | @tsv' "$j" |
	    tee -a "$OUT/table.tsv"
done
