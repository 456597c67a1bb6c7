#!/usr/bin/env bash
# ocsp-crl.sh - revocation figures of anvil-ca (printed, never asserted):
#  1. the time to build and sign one CRL shard holding N revoked entries
#     (default 100,000), as the server logs it, on the revocation worker's
#     thread;
#  2. the latency of OCSP GET answers (wrk --latency, 4 connections)
#     while that build and the OCSP backfill of the N rows run: what the
#     event loop still answers while the worker signs;
#  3. OCSP responses per second from the pre-signed cache under wrk, GET
#     (RFC 6960 Appendix A.1), keep-alive, for an issued certificate;
#  4. the same for a CRL shard fetch (small shard).
# The certificates are rows written straight into a fresh CA's database
# (the server signs their OCSP responses and CRLs itself, as it would for
# issued ones); a second shard stays empty.
#
# Usage: bench/ocsp-crl.sh [ENTRIES] [SECONDS]
#   ANVIL_CA (default build/server/anvil-ca); needs wrk, sqlite3, openssl.
set -euo pipefail
N=${1:-100000}
SECS=${2:-10}
TEST_NAME=bench-ocsp-crl
. "$(dirname "$0")/../tests/lib/common.sh"
: "${ANVIL_CA:=$REPO_ROOT/build/server/anvil-ca}"
for t in wrk sqlite3 openssl; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
tmp_init
st=$TEST_TMP/state
mapfile -t p < <(free_ports 2)
"$ANVIL_CA" init --state "$st" --public-base-url "http://localhost:${p[1]}" >/dev/null
# Two shards: shard 0 gets the N revoked entries (even serials), shard 1
# one good certificate (odd serial) for the OCSP and small-CRL figures.
printf 'crl_shards = 2\n' >>"$st/anvil-ca.conf"
now=$(date +%s)
# Let the server create the schema, then stop it and add the rows.
spawn init "$ANVIL_CA" serve --state "$st" --listen "127.0.0.1:${p[0]}" \
    --public-listen "127.0.0.1:${p[1]}"
wait_until 20 curl -fs -o /dev/null "http://127.0.0.1:${p[1]}/crl/0.crl" ||
    die "anvil-ca did not start"
stop_pid "$SPAWN_PID" 15 || true
sqlite3 "$st/anvil-ca.db" <<EOF
PRAGMA foreign_keys = OFF;
BEGIN;
INSERT INTO certs (serial, acct_id, order_id, der, names, spki_hash,
  not_before, not_after, shard)
VALUES (printf('7f%030x', 1), 'bench', 'bench', x'00', '["g.test"]', 'g',
  $now - 60, $now + 86400 * 30, 1);
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $N)
INSERT INTO certs (serial, acct_id, order_id, der, names, spki_hash,
  not_before, not_after, revoked_at, reason, shard)
SELECT printf('7f%030x', 2 * i), 'bench', 'bench', x'00', '["b.test"]',
  'k' || i, $now - 60, $now + 86400 * 30, $now - (i % 3600), i % 6 = 2 AND 4
  OR 1, 0 FROM k;
DELETE FROM crls;
COMMIT;
EOF
good=$(printf '7f%030x' 1)

spawn anvil-ca "$ANVIL_CA" serve --state "$st" --listen "127.0.0.1:${p[0]}" \
    --public-listen "127.0.0.1:${p[1]}"
pub=http://localhost:${p[1]}
wait_until 20 curl -fs -o "$TEST_TMP/inter.der" "$pub/intermediate.der" ||
    die "anvil-ca did not restart"
openssl x509 -inform DER -in "$TEST_TMP/inter.der" -out "$TEST_TMP/inter.pem"
openssl ocsp -issuer "$TEST_TMP/inter.pem" -serial "0x$good" -no_nonce \
    -reqout "$TEST_TMP/req.der" >/dev/null 2>&1
b64=$(base64 -w0 "$TEST_TMP/req.der" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g')
# The good certificate has the first rowid: the backfill signs it first
# (or the first request signs it on demand).
for ((i = 0; i < 100; i++)); do
	openssl ocsp -issuer "$TEST_TMP/inter.pem" -serial "0x$good" \
	    -url "$pub/ocsp" -no_nonce -noverify 2>&1 | grep -q ": good" && break
	sleep 0.2
done
# Answers while the worker builds shard 0 and backfills N responses.
if ! grep -q "CRL shard 0: $N entries" "$TEST_TMP/anvil-ca.err"; then
	echo "ocsp: during the CRL build and backfill: wrk -t1 -c4 -d3s --latency"
	wrk -t1 -c4 -d3s --latency "$pub/ocsp/$b64" |
	    grep -E 'Latency|Req/Sec|50%|99%|requests in' | sed 's/^/ocsp (busy): /'
fi
wait_until 120 grep -q "CRL shard 0: $N entries" "$TEST_TMP/anvil-ca.err" ||
    die "shard 0 was not signed: $(tail -n 3 "$TEST_TMP/anvil-ca.err")"
grep "CRL shard 0:" "$TEST_TMP/anvil-ca.err" | head -n 2 | sed 's/^anvil-ca: /crl: /'
wait_until 20 curl -fs -o "$TEST_TMP/0.crl" "$pub/crl/0.crl" || die "no shard 0"
echo "crl: shard 0 served: $(stat -c %s "$TEST_TMP/0.crl") bytes, $(openssl crl \
    -inform DER -in "$TEST_TMP/0.crl" -noout -text | grep -c 'Serial Number') entries"
# Measure the cache alone: wait for the backfill of the N revoked rows'
# responses (the server signs them in bounded slices) to finish.
for ((i = 0; i < 600; i++)); do
	c=$(sqlite3 -cmd '.timeout 5000' "$st/anvil-ca.db" 'SELECT count(*) FROM ocsp' 2>/dev/null) || c=0
	[ "$c" -ge $((N + 1)) ] && break
	sleep 0.5
done
echo "ocsp: $c responses pre-signed after $((i / 2)) s (backfill of rows written by hand)"
echo "ocsp: wrk -t2 -c32 -d${SECS}s GET $pub/ocsp/<request>"
wrk -t2 -c32 -d"${SECS}s" "$pub/ocsp/$b64" | sed 's/^/ocsp: /'
echo "crl: wrk -t2 -c32 -d${SECS}s GET $pub/crl/1.crl"
wrk -t2 -c32 -d"${SECS}s" "$pub/crl/1.crl" | sed 's/^/crl: /'
