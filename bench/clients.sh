#!/usr/bin/env bash
# clients.sh - what one issuance costs the client: wall time, CPU time
# (user + sys, the client and the hooks it runs) and peak resident memory,
# for anvil, uacme, lego and certbot, against the same local ACME server
# (http-01), in one run: Pebble, anvil-ca, or each in turn.  The server is
# started by the tests' own set-up (tests/lib/target.sh: Pebble with
# PEBBLE_VA_NOSLEEP=1, or a fresh anvil-ca; pebble-challtestsrv as DNS).
# Each client first registers and gets one certificate untimed (account
# made, caches warm), then gets RUNS more for fresh names, each measured by
# bench/rusage.py (wait4: microsecond CPU times, peak RSS).  Prints one
# table of medians and the ratios to anvil per server.  A benchmark for
# people, not a test.
#
# Usage: bench/clients.sh [-n RUNS] [--server pebble|anvil|both] [BUILD_DIR]
#   RUNS defaults to 5; --server defaults to both (Pebble first, then
#   anvil-ca: one table each); BUILD_DIR (default build) holds client/anvil
#   and server/anvil-ca (build it with ninja -C BUILD_DIR first; a
#   non-ASan build: sanitizers would weigh on anvil's figures).
# Needs: pebble (and pebble-challtestsrv), uacme, lego, certbot, python3;
#   root for uacme (it gets the test CA through a private
#   mount namespace, tests/lib/private-ca-store.sh).
set -euo pipefail

runs=5
server=both
while [ $# -gt 0 ]; do
	case $1 in
	-n)	runs=${2:?-n needs a number}; shift 2 ;;
	--server) server=${2:?--server needs pebble, anvil or both}; shift 2 ;;
	-*)	echo "usage: $0 [-n RUNS] [--server pebble|anvil|both]" \
		    "[BUILD_DIR]" >&2; exit 2 ;;
	*)	break ;;
	esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
build=$(cd "$build" && pwd)
case $server in
both)
	# One run per server, each with its own set-up and exit hooks.
	rc=0
	"$BASH" "${BASH_SOURCE[0]}" -n "$runs" --server pebble "$build" ||
	    rc=1
	echo
	"$BASH" "${BASH_SOURCE[0]}" -n "$runs" --server anvil "$build" ||
	    rc=1
	exit "$rc" ;;
pebble | anvil) ;;
*)	echo "$0: --server must be pebble, anvil or both" >&2; exit 2 ;;
esac
ANVIL=$build/client/anvil
ANVIL_CA=$build/server/anvil-ca
TARGET=$server
TEST_NAME=bench-clients-$server
export ANVIL_CA TARGET
# shellcheck source=../tests/lib/common.sh
. "$here/../tests/lib/common.sh"
# shellcheck source=../tests/lib/target.sh
. "$TESTLIB_DIR/target.sh"

RUSAGE=$here/rusage.py
for p in "$ANVIL" "$RUSAGE"; do
	[ -x "$p" ] || die "missing $p"
done
[ "$TARGET" = pebble ] || [ -x "$ANVIL_CA" ] || die "missing $ANVIL_CA"
for c in uacme lego certbot pebble-challtestsrv; do
	command -v "$c" >/dev/null || die "missing $c"
done

[ "$TARGET" = anvil ] || command -v pebble >/dev/null || die "missing pebble"

# anvil-ca's ASan defaults from target.sh are harmless on a normal build.
target_start
T=$TEST_TMP/bench
mkdir -p "$T"
log "$TARGET at $ACME_DIRECTORY, http-01 on port $HTTP01_PORT, $runs runs"

# measure CLIENT I CMD... - runs CMD under rusage.py; the figures go to
# $T/CLIENT.times ("wall user sys maxrss_kib"), the output to a log.
measure() {
	local client=$1 i=$2
	shift 2
	if ! "$PY" "$RUSAGE" "$T/$client.$i.time" "$@" \
	    >"$T/$client.$i.log" 2>&1; then
		tail -n 20 "$T/$client.$i.log" >&2
		die "$client run $i failed"
	fi
	cat "$T/$client.$i.time" >>"$T/$client.times"
}

# One command line per client: CLIENT_cmd NAME sets the array cmd
# (rusage.py runs programs, not shell functions).
anvil_cmd() {
	cmd=("$ANVIL" --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"
	    --state "$T/anvil" issue -d "$1" --key-type ec256
	    --http01-standalone --http01-port "$HTTP01_PORT"
	    --email bench@example.org --agree-tos)
}
lego_cmd() {
	cmd=(env LEGO_CA_CERTIFICATES="$ACME_CA_BUNDLE" lego
	    --server "$ACME_DIRECTORY" --path "$T/lego" --accept-tos
	    --email bench@example.org --key-type ec256 --domains "$1"
	    --http --http.port "127.0.0.1:$HTTP01_PORT" run)
}
certbot_cmd() {
	cmd=(env REQUESTS_CA_BUNDLE="$ACME_CA_BUNDLE" certbot certonly
	    --standalone --preferred-challenges http
	    --http-01-address 127.0.0.1 --http-01-port "$HTTP01_PORT"
	    --server "$ACME_DIRECTORY" --config-dir "$T/certbot/config"
	    --work-dir "$T/certbot/work" --logs-dir "$T/certbot/logs"
	    --non-interactive --agree-tos --register-unsafely-without-email
	    --key-type ecdsa --elliptic-curve secp256r1
	    --no-random-sleep-on-renew --cert-name "$1" -d "$1")
}
# uacme runs inside a mount namespace that trusts the test CA only; time
# measures uacme itself (and its hook), not the namespace set-up.
uacme_cmd() {
	cmd=("$TESTLIB_DIR/private-ca-store.sh" "$ACME_CA_BUNDLE"
	    "$PY" "$RUSAGE" "$T/uacme.cur.time"
	    uacme -c "$T/uacme" -a "$ACME_DIRECTORY" -t EC -b 256
	    -h "$TESTLIB_DIR/uacme-hook.sh" issue "$1")
}

for client in anvil lego certbot uacme; do
	if [ "$client" = uacme ]; then
		# uacme answers http-01 through files a web server serves.
		export WEBROOT=$T/www
		mkdir -p "$WEBROOT"
		http_server "$WEBROOT" "$HTTP01_PORT"
		"$TESTLIB_DIR/private-ca-store.sh" "$ACME_CA_BUNDLE" \
		    uacme -c "$T/uacme" -a "$ACME_DIRECTORY" -y new \
		    bench@example.org >"$T/uacme.new.log" 2>&1 ||
		    die "uacme new: $(tail -5 "$T/uacme.new.log")"
	fi
	: >"$T/$client.times"
	for ((i = 0; i <= runs; i++)); do
		name=$client-$i-$(rand_label).example.test
		"${client}_cmd" "$name"
		if [ "$client" = uacme ]; then
			"${cmd[@]}" >"$T/$client.$i.log" 2>&1 ||
			    die "uacme run $i: $(tail -5 "$T/$client.$i.log")"
			[ "$i" -eq 0 ] || cat "$T/uacme.cur.time" >>"$T/$client.times"
		elif [ "$i" -eq 0 ]; then
			# Warm-up: registers the account, untimed.
			"${cmd[@]}" >"$T/$client.0.log" 2>&1 ||
			    die "$client warm-up: $(tail -5 "$T/$client.0.log")"
		else
			measure "$client" "$i" "${cmd[@]}"
		fi
	done
	log "$client: $runs issuances measured"
done

case $TARGET in
pebble)	what="Pebble ($(dpkg-query -W -f '${Version}' pebble 2>/dev/null ||
	    echo '?'), PEBBLE_VA_NOSLEEP=1)" ;;
anvil)	what=anvil-ca ;;
esac
"$PY" - "$T" "$runs" "$what" <<'PYEOF'
import statistics, sys
d, runs, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {}
for c in ("anvil", "uacme", "lego", "certbot"):
    t = [l.split() for l in open(f"{d}/{c}.times") if l.strip()]
    t = [x for x in t if len(x) == 4]
    wall = statistics.median(float(x[0]) for x in t)
    cpu = statistics.median(float(x[1]) + float(x[2]) for x in t)
    rss = statistics.median(int(x[3]) for x in t) / 1024
    rows[c] = (len(t), wall, cpu, rss)
a = rows["anvil"]
print(f"one issuance (http-01, ec256) against a local {what}; "
      f"medians of {runs} runs")
print(f"{'client':8} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'rss MiB':>8}"
      f" {'wall/anvil':>10} {'cpu/anvil':>10} {'rss/anvil':>10}")
for c, (n, w, cpu, r) in rows.items():
    def ratio(x, y):
        return f"{x / y:10.1f}" if y > 0 else f"{'-':>10}"
    print(f"{c:8} {n:4d} {w:8.3f} {cpu:8.3f} {r:8.1f}"
          f" {ratio(w, a[1])} {ratio(cpu, a[2])} {ratio(r, a[3])}")
PYEOF
