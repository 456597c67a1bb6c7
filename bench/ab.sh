#!/usr/bin/env bash
# ab.sh - anvil-ca builds compared under the same load, interleaved:
# round 1 runs each build once, then round 2, and so on, so that what the
# shared machine does meanwhile falls on every build alike.  Each run is
# one `bench/compare SECONDS` of anvil-ca alone at one concurrency level.
# Prints each run, then per build its figures sorted (the spread is the
# noise; compare builds pair by pair within a round, not by their best),
# then each build's ratios to the first build, round by round.
#
# usage: bench/ab.sh [-r ROUNDS] [-s SECONDS] [-c CONCURRENCY] NAME=BUILD...
#   ROUNDS 3, SECONDS 10, CONCURRENCY 64 by default.  BUILD is a build
#   directory with server/anvil-ca and bench/anvil-load (release builds).
#   To measure servers under one driver, make a directory per server
#   with symbolic links: DIR/server/anvil-ca to that server, and
#   DIR/bench/anvil-load to the one driver, which must come from a tree
#   as recent as this script (bench/compare passes it --watch-pid).
#
# Output directories (JSON, logs) stay under ${OUT:-a new temporary
# directory}, one per run, NAME-ROUND.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rounds=3 secs=10 conc=64
while getopts r:s:c: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	c) conc=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-s SECONDS] [-c CONCURRENCY] NAME=BUILD..." >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ]; then
	echo "usage: $0 [-r ROUNDS] [-s SECONDS] [-c CONCURRENCY] NAME=BUILD..." >&2
	exit 2
fi
for nb in "$@"; do
	case $nb in
	*=*) ;;
	*) echo "ab.sh: $nb is not NAME=BUILD" >&2; exit 2 ;;
	esac
	b=${nb#*=}
	for f in server/anvil-ca bench/anvil-load; do
		[ -x "$b/$f" ] || { echo "ab.sh: no $b/$f" >&2; exit 2; }
	done
done
command -v jq >/dev/null || { echo "ab.sh: jq is not installed" >&2; exit 2; }
: "${OUT:=$(mktemp -d /tmp/anvil-ab.XXXXXX)}"
mkdir -p "$OUT"
echo "ab.sh: $rounds rounds of ${secs}s at c=$conc; runs in $OUT"

# fig FILE - "iss/s server_ms driver_ms busy_%" of one anvil-load JSON.
fig() {
	jq -r '[(.issuances_per_s // 0 | . * 10 | round / 10),
	    (.server_cpu_ms_per_issuance // "-" | if type == "number"
	      then . * 100 | round / 100 else . end),
	    (.driver_cpu_ms_per_issuance // "-" | if type == "number"
	      then . * 100 | round / 100 else . end),
	    (.machine_busy_pct // "-" | if type == "number"
	      then . * 10 | round / 10 else . end)] | @tsv' "$1"
}

printf 'build\tround\tiss/s\tsrv_ms/iss\tdrv_ms/iss\tbusy_%%\n'
for r in $(seq 1 "$rounds"); do
	for nb in "$@"; do
		n=${nb%%=*} b=${nb#*=}
		d=$OUT/$n-$r
		BUILD=$b TARGETS=anvil LEVELS=$conc OUT=$d \
		    bash "$BENCH_DIR/compare" "$secs" >"$d.log" 2>&1 || true
		rm -rf "$d/state"
		if [ -s "$d/anvil-$conc.json" ]; then
			printf '%s\t%s\t%s\n' "$n" "$r" "$(fig "$d/anvil-$conc.json")"
		else
			printf '%s\t%s\tno result (see %s.log)\n' "$n" "$r" "$d"
		fi
	done
done | tee "$OUT/runs.tsv"

echo
for nb in "$@"; do
	n=${nb%%=*}
	for col in 3 4 5; do
		awk -F'\t' -v n="$n" -v c="$col" '$1 == n && $c != "" { print $c }' \
		    "$OUT/runs.tsv" | sort -n | paste -sd' ' -
	done | {
		read -r rate || rate=
		read -r srv || srv=
		read -r drv || drv=
		printf '%s: iss/s [%s]  srv_ms [%s]  drv_ms [%s]\n' \
		    "$n" "$rate" "$srv" "$drv"
	}
done

# Pair by pair, as the runs were made: each build against the first, in
# each round (a ratio per round; their spread is the noise left).
first=${1%%=*}
for nb in "${@:2}"; do
	n=${nb%%=*}
	awk -F'\t' -v a="$first" -v b="$n" -v rounds="$rounds" '
	function num(x) { return x ~ /^[0-9.]+$/ && x + 0 > 0 }
	$1 == a { ra[$2] = $3; sa[$2] = $4 }
	$1 == b { rb[$2] = $3; sb[$2] = $4 }
	END {
		rate = srv = ""
		for (r = 1; r <= rounds; r++) {
			if (num(ra[r]) && num(rb[r]))
				rate = rate sprintf(" %.3f", rb[r] / ra[r])
			if (num(sa[r]) && num(sb[r]))
				srv = srv sprintf(" %.3f", sb[r] / sa[r])
		}
		printf "%s/%s by round: iss/s [%s ]  srv_ms [%s ]\n", b, a,
		    rate, srv
	}' "$OUT/runs.tsv"
done
