#!/usr/bin/env bash
# uacme-hook.sh - uacme's challenge hook for http-01: writes the key
# authorization where a plain HTTP server serves
# /.well-known/acme-challenge/TOKEN, and removes it afterwards.  Declines
# every other challenge type.
#
# uacme calls: uacme-hook.sh begin|done|failed TYPE IDENT TOKEN AUTH
# Environment: WEBROOT (the directory the HTTP server serves).
set -euo pipefail
: "${WEBROOT:?WEBROOT is not set}"
method=$1 type=$2 token=$4 auth=$5
[ "$type" = http-01 ] || exit 1
case $token in
*/* | .* | "") echo "uacme-hook.sh: bad token" >&2; exit 1 ;;
esac
dir=$WEBROOT/.well-known/acme-challenge
case $method in
begin)
	mkdir -p "$dir"
	printf '%s' "$auth" >"$dir/$token"
	;;
done | failed)
	rm -f "$dir/$token"
	;;
*)
	exit 1
	;;
esac
