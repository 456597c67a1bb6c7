#!/usr/bin/env bash
# crl-large.sh - a large CRL shard is signed off the event loop.
# A running anvil-ca gets CRL_LARGE_N (default 100,000) revoked
# certificates written straight into its database (sqlite3, one
# transaction, all in shard 0), plus one good certificate in shard 0 and
# one in shard 1.  The operator then revokes the good one of shard 0 with
# `anvil-ca revoke`, which makes the server sign shard 0 again
# (N + 1 entries).  Until the new CRL is served, the test keeps asking
# GET /directory (HTTPS) and an OCSP GET (cached response of the shard 1
# certificate), and a HEAD of the shard's CRL to see when the new one is
# served; it fails if any answer takes over MAX_MS (default 200), or if
# fewer than 3 rounds fit in the build (nothing measured).
# Then the served CRL holds N + 1 entries and verifies against the
# intermediate, and the intermediate's own CDP (init --public-base-url,
# tests/lib/target.sh) names this server's root.crl, which passes
# `openssl verify -crl_check` for the intermediate.
#
# The rows are not real certificates (DER x'00'): only their serial,
# shard and revocation matter to a CRL.  They get placeholder OCSP rows
# too, fresh, so that the server has no OCSP backfill to do for them
# (bench/ocsp-crl.sh measures that one) and the build is all we time.  Under ASan set CRL_LARGE_N lower
# if the build takes too long (scripts/test does not; see the report).
set -euo pipefail
TEST_NAME=crl-large
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/revocation.sh"

: "${CRL_LARGE_N:=100000}"
: "${MAX_MS:=200}"
N=$CRL_LARGE_N
[ "$TARGET" = anvil ] || { log "SKIP: anvil-ca only"; exit 0; }
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
fixture_begin
PUB=$(pub_base)
[ -n "$PUB" ] || die "anvil-ca announced no public URL"
db=$SERVER_STATE/anvil-ca.db
curl -fsS -o "$TEST_TMP/inter.der" "$PUB/intermediate.der" ||
    die "no intermediate at $PUB/intermediate.der"
openssl x509 -inform DER -in "$TEST_TMP/inter.der" -out "$TEST_TMP/inter.pem" ||
    die "intermediate.der is not a certificate"

# The harness nit: the intermediate names this server's root CRL.
icdp=$(cert_cdp "$TEST_TMP/inter.pem")
[ "$icdp" = "$PUB/crl/root.crl" ] ||
    die "the intermediate's CDP is '$icdp', not $PUB/crl/root.crl"
fetch_crl "$icdp" "$TEST_TMP/root-crl.pem"
out=$(openssl verify -crl_check -CAfile "$ACME_ROOT" \
    -CRLfile "$TEST_TMP/root-crl.pem" "$TEST_TMP/inter.pem" 2>&1) ||
    die "openssl verify -crl_check of the intermediate with its CDP's CRL: $out"

# Serials: multiples of 16 are in shard 0 of the default 16 shards, as a
# certificate's CDP would say; 7f...01 is in shard 1.
now=$(date +%s)
trig=$(printf '7f%030x' 16)
good=$(printf '7f%030x' 1)
# The first pass of the worker (every shard signed) is over.
wait_until 20 curl -fs -o /dev/null "$PUB/crl/15.crl" ||
    die "shard 15 was never signed"
t0=$(date +%s%N)
sqlite3 -cmd '.timeout 20000' "$db" <<EOF >/dev/null
PRAGMA foreign_keys = OFF;
BEGIN;
INSERT INTO certs (serial, acct_id, order_id, der, names, spki_hash,
  not_before, not_after, shard)
VALUES ('$trig', 't', 't', x'00', '["t.test"]', 't', $now - 60,
  $now + 86400 * 30, 0),
  ('$good', 't', 't', x'00', '["g.test"]', 'g', $now - 60,
  $now + 86400 * 30, 1);
WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k
  WHERE i < $N + 1)
INSERT INTO certs (serial, acct_id, order_id, der, names, spki_hash,
  not_before, not_after, revoked_at, reason, shard)
SELECT printf('7f%030x', 16 * i), 't', 't', x'00', '["r.test"]', 'k' || i,
  $now - 60, $now + 86400 * 30, $now - (i % 3600),
  CASE i % 3 WHEN 0 THEN 1 WHEN 1 THEN 4 ELSE 0 END, 0 FROM k;
INSERT INTO ocsp (serial, this_update, next_update, der)
SELECT serial, $now, $now + 86400, x'00' FROM certs WHERE shard = 0
  AND revoked_at IS NOT NULL;
COMMIT;
EOF
log "$N revoked rows written in $((($(date +%s%N) - t0) / 1000000)) ms"
# The server's two connections (loop, worker) still hold their locks: had
# one lost them, sqlite3 closing last would have removed the WAL.
[ -e "$db-wal" ] || die "the WAL of the running server is gone"

# The OCSP request for the good certificate; its first answer is signed
# on demand and stored, later ones come from the store.
openssl ocsp -issuer "$TEST_TMP/inter.pem" -serial "0x$good" -no_nonce \
    -reqout "$TEST_TMP/req.der" >/dev/null 2>&1 || die "openssl ocsp -reqout"
b64=$(base64 -w0 "$TEST_TMP/req.der" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g')
ocsp_url=$PUB/ocsp/$b64
curl -fsS -o "$TEST_TMP/good.der" "$ocsp_url" || die "OCSP GET failed"
openssl ocsp -respin "$TEST_TMP/good.der" -issuer "$TEST_TMP/inter.pem" \
    -serial "0x$good" -CAfile "$ACME_ROOT" -verify_other "$TEST_TMP/inter.pem" \
    2>&1 | grep -q ": good" || die "OCSP for the good certificate is not good"

# etag URL - prints the ETag of a HEAD answer ("0-<number>" for shard 0)
# and the milliseconds it took.
etag() {
	curl -sS -I --max-time 10 -w 'T %{time_total}\n' "$1" | tr -d '\r' |
	    awk 'tolower($1) == "etag:" { e = $2 }
		$1 == "T" { t = int($2 * 1000) }
		END { print e, t }'
}
read -r before h < <(etag "$PUB/crl/0.crl")
[ -n "$before" ] || die "no ETag on $PUB/crl/0.crl"

# ms URL CURLARGS... - prints "CODE MILLISECONDS" of one GET.
ms() {
	local url=$1 out
	shift
	out=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
	    "$@" "$url") || true
	awk '{ printf "%s %d\n", $1, $2 * 1000 }' <<<"$out"
}

"$ANVIL_CA" revoke --state "$SERVER_STATE" --serial "$trig" \
    --reason superseded >"$TEST_TMP/op-revoke.log" 2>&1 ||
    die "anvil-ca revoke failed: $(cat "$TEST_TMP/op-revoke.log")"
t0=$(date +%s%N)
max_dir=0
max_ocsp=0
max_head=0
samples=0
after=$before
# Each round is logged in latency.txt: ms since the revoke, then the ms
# of /directory, of the OCSP GET and of a HEAD of the CRL.  Bounded:
# 240 s at most (a build under ASan is slower).
for ((i = 0; i < 4000; i++)); do
	read -r code d < <(ms "$ACME_DIRECTORY" --cacert "$ACME_CA_BUNDLE")
	[ "$code" = 200 ] || die "GET /directory answered '$code' during the CRL build"
	read -r code o < <(ms "$ocsp_url")
	[ "$code" = 200 ] || die "OCSP GET answered '$code' during the CRL build"
	read -r after h < <(etag "$PUB/crl/0.crl")
	printf '%d %d %d %d\n' $((($(date +%s%N) - t0) / 1000000)) "$d" "$o" \
	    "$h" >>"$TEST_TMP/latency.txt"
	((d > max_dir)) && max_dir=$d
	((o > max_ocsp)) && max_ocsp=$o
	((h > max_head)) && max_head=$h
	samples=$((samples + 1))
	[ "$after" != "$before" ] && break
	(($(date +%s%N) - t0 < 240000000000)) || break
done
took=$((($(date +%s%N) - t0) / 1000000))
[ "$after" != "$before" ] ||
    die "shard 0 was not signed again within $took ms (ETag $after)"
grep "CRL shard 0:" "$TEST_TMP/anvil-ca.err" | tail -n 1 | sed 's/^anvil-ca: /server: /' || true
log "new shard 0 served $took ms after the revoke; $samples rounds meanwhile:" \
    "max /directory ${max_dir} ms, OCSP GET ${max_ocsp} ms, CRL HEAD ${max_head} ms"
((samples >= 3)) ||
    die "only $samples rounds during the build: the test measured nothing"
((max_dir <= MAX_MS)) ||
    die "GET /directory took ${max_dir} ms during the CRL build (max ${MAX_MS})"
((max_ocsp <= MAX_MS)) ||
    die "OCSP GET took ${max_ocsp} ms during the CRL build (max ${MAX_MS})"
((max_head <= MAX_MS)) ||
    die "HEAD of the CRL took ${max_head} ms during the build (max ${MAX_MS})"

# The CRL served: N + 1 entries, the revoked trigger among them, signed by
# the intermediate.
curl -fsS -o "$TEST_TMP/0.crl" "$PUB/crl/0.crl" || die "cannot fetch shard 0"
openssl crl -inform DER -in "$TEST_TMP/0.crl" -out "$TEST_TMP/0.pem" ||
    die "shard 0 is not a DER CRL"
out=$(openssl crl -in "$TEST_TMP/0.pem" -noout -CAfile "$TEST_TMP/inter.pem" 2>&1) ||
    die "shard 0 does not verify against the intermediate: $out"
grep -q "verify OK" <<<"$out" || die "shard 0: $out"
openssl crl -in "$TEST_TMP/0.pem" -noout -text >"$TEST_TMP/0.txt"
n=$(grep -c 'Serial Number:' "$TEST_TMP/0.txt")
[ "$n" -eq $((N + 1)) ] || die "shard 0 lists $n entries, not $((N + 1))"
# (Not crl_lists: its early-exiting grep breaks the pipe of a long text.)
grep -qix "serialnumber:$trig" <(tr -d ' ' <"$TEST_TMP/0.txt") ||
    die "shard 0 does not list $trig"
log "shard 0: $n entries, $(stat -c %s "$TEST_TMP/0.crl") bytes, verifies"

# The revoked trigger's OCSP response says so.
for ((i = 0; i < 50; i++)); do
	out=$(openssl ocsp -issuer "$TEST_TMP/inter.pem" -serial "0x$trig" \
	    -url "$PUB/ocsp" -CAfile "$ACME_ROOT" \
	    -verify_other "$TEST_TMP/inter.pem" -no_nonce 2>&1) || true
	grep -q ": revoked" <<<"$out" && break
	sleep 0.2
done
grep -q ": revoked" <<<"$out" || die "OCSP for the revoked $trig: $out"
[ -e "$db-wal" ] || die "the WAL of the running server is gone"
ok=$(sqlite3 -cmd '.timeout 20000' "$db" 'PRAGMA quick_check')
[ "$ok" = ok ] || die "database check: $ok"
log "PASS"
