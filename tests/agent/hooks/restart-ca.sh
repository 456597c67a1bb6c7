#!/bin/bash
# restart-ca.sh - a dns-01 hook for bad_nonce.sh against anvil-ca:
#   add NAME VALUE     publishes the TXT record in pebble-challtestsrv,
#                      then restarts anvil-ca (SIGTERM, then the same
#                      command line), so that the nonce the agent holds
#                      dies with the old process
#   remove NAME VALUE  clears the record
# Environment: CHALLTESTSRV_URL; PIDFILE (the server's pid, rewritten
# with the new one); ARGVFILE (its /proc/PID/cmdline); CA_OUT, CA_ERR (the
# new server's output); ACME_DIRECTORY, ACME_CA_BUNDLE (to see it back).
set -eu
verb=$1 name=$2 value=$3

if [ "$verb" = remove ]; then
	curl -fsS -X POST -d "{\"host\":\"$name.\"}" \
	    "$CHALLTESTSRV_URL/clear-txt"
	exit 0
fi
[ "$verb" = add ] || exit 2
curl -fsS -X POST -d "{\"host\":\"$name.\",\"value\":\"$value\"}" \
    "$CHALLTESTSRV_URL/set-txt"

pid=$(cat "$PIDFILE")
kill -TERM "$pid"
for ((i = 0; i < 150; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	echo "restart-ca: anvil-ca $pid did not stop" >&2
	exit 4
fi
mapfile -d '' argv <"$ARGVFILE"
setsid "${argv[@]}" >>"$CA_OUT" 2>>"$CA_ERR" </dev/null &
echo $! >"$PIDFILE"
for ((i = 0; i < 150; i++)); do
	if curl -fs --cacert "$ACME_CA_BUNDLE" -o /dev/null \
	    "$ACME_DIRECTORY"; then
		exit 0
	fi
	sleep 0.1
done
echo "restart-ca: anvil-ca did not come back" >&2
exit 5
