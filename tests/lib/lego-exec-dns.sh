#!/usr/bin/env bash
# lego-exec-dns.sh - lego's "exec" DNS provider: publishes and removes the
# dns-01 TXT record through pebble-challtestsrv's management API.
#
# lego calls: lego-exec-dns.sh present|cleanup FQDN VALUE
# Environment: CHALLTESTSRV_URL (http://127.0.0.1:PORT).
set -euo pipefail
: "${CHALLTESTSRV_URL:?CHALLTESTSRV_URL is not set}"
action=${1:-}
fqdn=${2:-}
value=${3:-}
[ -n "$fqdn" ] || { echo "usage: $0 present|cleanup FQDN VALUE" >&2; exit 2; }
case $action in
present)
	curl -fsS -X POST -d "{\"host\":\"$fqdn\",\"value\":\"$value\"}" \
	    "$CHALLTESTSRV_URL/set-txt"
	;;
cleanup)
	curl -fsS -X POST -d "{\"host\":\"$fqdn\"}" \
	    "$CHALLTESTSRV_URL/clear-txt"
	;;
*)
	echo "lego-exec-dns.sh: unknown action '$action'" >&2
	exit 2
	;;
esac
