#!/usr/bin/env bash
# revocation-certbot.sh - revocation that reaches relying parties.
# certbot gets three certificates and revokes one (keyCompromise, with
# the account key); then, checked with openssl alone:
#  - every leaf names its CRL shard (CDP) and the OCSP responder (AIA);
#  - the shard's CRL, fetched over plain HTTP, lists the revoked serial
#    with its reason, verifies against the chain, and makes
#    `openssl verify -crl_check` fail for the revoked certificate and pass
#    for another (and -crl_check_all with the root's CRL);
#  - `openssl ocsp` says revoked (with the reason) for it, good for
#    another, unknown for a serial never issued, and verifies each
#    response against the root;
#  - the compromised key is refused for a new certificate (badPublicKey);
#  - a second account holding authorizations for the names revokes the
#    third certificate;
#  - the operator revokes the second with `anvil-ca revoke`, which the
#    running server publishes within seconds; revoking again is refused;
#    `anvil-ca list` shows what happened.
set -euo pipefail
TEST_NAME=revocation-certbot
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/certbot.sh"
. "$TESTLIB_DIR/revocation.sh"

[ "$TARGET" = anvil ] || { log "SKIP: anvil-ca only"; exit 0; }
fixture_begin
PUB=$(pub_base)
[ -n "$PUB" ] || die "anvil-ca announced no public URL"
curl -fsS -o "$TEST_TMP/inter.der" "$PUB/intermediate.der" ||
    die "no intermediate at $PUB/intermediate.der"
openssl x509 -inform DER -in "$TEST_TMP/inter.der" -out "$TEST_TMP/inter.pem" ||
    die "intermediate.der is not a certificate"

n1=$(rand_name)
n2=$(rand_name)
n3=$(rand_name)
certbot_certonly t1 -d "$n1"
certbot_certonly t2 -d "$n2"
certbot_certonly t3 -d "$n3"
live=$TEST_TMP/certbot/config/live
for t in t1 t2 t3; do
	cmp -s <(openssl x509 -in "$live/$t/chain.pem") "$TEST_TMP/inter.pem" ||
	    die "$t: the chain differs from $PUB/intermediate.der"
done
c1=$live/t1/cert.pem
c2=$live/t2/cert.pem
c3=$live/t3/cert.pem
s1=$(cert_serial "$c1")
s2=$(cert_serial "$c2")
s3=$(cert_serial "$c3")

# CDP and AIA (RFC 5280 §4.2.1.13, §4.2.2.1).
cdp1=$(cert_cdp "$c1")
cdp2=$(cert_cdp "$c2")
[[ $cdp1 =~ ^$PUB/crl/[0-9]+\.crl$ ]] || die "t1 CDP is '$cdp1'"
ocsp_url=$(openssl x509 -in "$c1" -noout -ocsp_uri)
[ "$ocsp_url" = "$PUB/ocsp" ] || die "t1 OCSP URL is '$ocsp_url'"
openssl x509 -in "$c1" -noout -text | grep -q "CA Issuers - URI:$PUB/intermediate.der" ||
    die "t1 has no caIssuers URL"

# Good before revocation: OCSP was signed at issuance.
out=$(ocsp_query "$TEST_TMP/inter.pem" "$c1" "$ocsp_url" "$ACME_ROOT")
grep -q ": good" <<<"$out" || die "t1 not good before revocation: $out"

certbot_cmd revoke --cert-path "$c1" --reason keycompromise \
    --no-delete-after-revoke >"$TEST_TMP/revoke.log" 2>&1 ||
    die "certbot revoke failed: $(tail -n 5 "$TEST_TMP/revoke.log")"

# The CRL: lists t1 within seconds, reason, AKI, number, nextUpdate.
wait_crl_lists "$cdp1" "$s1" "$TEST_TMP/crl1.pem"
txt=$(openssl crl -in "$TEST_TMP/crl1.pem" -noout -text)
for want in "Key Compromise" "Authority Key Identifier" "CRL Number" \
    "Next Update" "Issuing Distribution Point"; do
	grep -q "$want" <<<"$txt" || die "CRL lacks $want"
done
openssl crl -in "$TEST_TMP/crl1.pem" -noout -CAfile "$TEST_TMP/inter.pem" \
    -verify 2>&1 | grep -q "verify OK" || die "CRL signature does not verify"
hdr=$(curl -fsS -D - -o /dev/null "$cdp1")
grep -qi '^Content-Type: application/pkix-crl' <<<"$hdr" || die "CRL Content-Type: $hdr"
grep -qi '^Last-Modified: ' <<<"$hdr" || die "CRL has no Last-Modified"
grep -qi '^Expires: ' <<<"$hdr" || die "CRL has no Expires"
grep -qi '^Cache-Control: .*max-age=[0-9]' <<<"$hdr" || die "CRL has no max-age"

fetch_crl "$PUB/crl/root.crl" "$TEST_TMP/root-crl.pem"
fetch_crl "$cdp2" "$TEST_TMP/crl2.pem"
out=$(openssl verify -crl_check -CAfile "$ACME_ROOT" -untrusted "$TEST_TMP/inter.pem" \
    -CRLfile "$TEST_TMP/crl1.pem" "$c1" 2>&1) &&
    die "openssl verify -crl_check passed a revoked certificate: $out"
grep -q "certificate revoked" <<<"$out" || die "verify of t1: $out"
out=$(openssl verify -crl_check_all -CAfile "$ACME_ROOT" -untrusted "$TEST_TMP/inter.pem" \
    -CRLfile "$TEST_TMP/crl2.pem" -CRLfile "$TEST_TMP/root-crl.pem" "$c2" 2>&1) ||
    die "openssl verify -crl_check_all failed for the good t2: $out"
log "CRL: t1 revoked, t2 passes -crl_check_all"

# OCSP: revoked with the reason, good, unknown; each verified.
out=$(ocsp_query "$TEST_TMP/inter.pem" "$c1" "$ocsp_url" "$ACME_ROOT")
grep -q ": revoked" <<<"$out" || die "OCSP for t1: $out"
grep -q "Reason: keyCompromise" <<<"$out" || die "OCSP reason for t1: $out"
grep -q "Response verify OK" <<<"$out" || die "OCSP response for t1 does not verify: $out"
out=$(ocsp_query "$TEST_TMP/inter.pem" "$c2" "$ocsp_url" "$ACME_ROOT")
grep -q ": good" <<<"$out" || die "OCSP for t2: $out"
grep -q "Response verify OK" <<<"$out" || die "OCSP response for t2 does not verify: $out"
out=$(openssl ocsp -issuer "$TEST_TMP/inter.pem" -serial 0x0123456789abcdef \
    -url "$ocsp_url" -CAfile "$ACME_ROOT" -verify_other "$TEST_TMP/inter.pem" -no_nonce 2>&1)
grep -q ": unknown" <<<"$out" || die "OCSP for a serial never issued: $out"
grep -q "Response verify OK" <<<"$out" || die "OCSP unknown does not verify: $out"
# GET (RFC 6960 Appendix A.1): the request in the URL; cacheable.
openssl ocsp -issuer "$TEST_TMP/inter.pem" -cert "$c2" -no_nonce \
    -reqout "$TEST_TMP/req2.der" >/dev/null 2>&1
b64=$(base64 -w0 "$TEST_TMP/req2.der" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g')
hdr=$(curl -fsS -D - -o "$TEST_TMP/resp2.der" "$ocsp_url/$b64")
grep -qi '^Content-Type: application/ocsp-response' <<<"$hdr" || die "OCSP GET: $hdr"
grep -qi '^Cache-Control: .*max-age=[0-9]' <<<"$hdr" || die "OCSP GET has no max-age"
openssl ocsp -respin "$TEST_TMP/resp2.der" -issuer "$TEST_TMP/inter.pem" -cert "$c2" \
    -CAfile "$ACME_ROOT" -verify_other "$TEST_TMP/inter.pem" -no_nonce 2>&1 |
    grep -q ": good" || die "OCSP GET answer is not good"
log "OCSP: revoked (keyCompromise), good, unknown; GET and POST"

# keyCompromise blocks the key: a CSR with it is refused (badPublicKey).
openssl req -new -key "$live/t1/privkey.pem" -subj "/CN=$n1" \
    -addext "subjectAltName=DNS:$n1" -outform DER -out "$TEST_TMP/again.csr" 2>/dev/null
: >"$TEST_TMP/certbot/logs/letsencrypt.log"
if certbot_cmd certonly --standalone --preferred-challenges http \
    --http-01-address 127.0.0.1 --http-01-port "$HTTP01_PORT" \
    --csr "$TEST_TMP/again.csr" --cert-path "$TEST_TMP/again.pem" \
    --fullchain-path "$TEST_TMP/again-full.pem" --chain-path "$TEST_TMP/again-chain.pem" \
    >"$TEST_TMP/again.log" 2>&1; then
	die "a certificate was issued for a key revoked as compromised"
fi
grep -q 'urn:ietf:params:acme:error:badPublicKey' "$TEST_TMP/certbot/logs/letsencrypt.log" ||
    die "compromised key refused without badPublicKey: $(tail -n 3 "$TEST_TMP/again.log")"
log "compromised key refused with badPublicKey"

# Another account with valid authorizations for the names revokes t3.
d2=$TEST_TMP/certbot2
mkdir -p "$d2/config" "$d2/work" "$d2/logs"
certbot2() {
	REQUESTS_CA_BUNDLE=$ACME_CA_BUNDLE certbot "$@" --server "$ACME_DIRECTORY" \
	    --config-dir "$d2/config" --work-dir "$d2/work" --logs-dir "$d2/logs" \
	    --non-interactive --max-log-backups 0
}
certbot2 certonly --standalone --preferred-challenges http \
    --http-01-address 127.0.0.1 --http-01-port "$HTTP01_PORT" \
    --agree-tos --register-unsafely-without-email --cert-name u3 -d "$n3" \
    >"$TEST_TMP/certbot2.log" 2>&1 || die "second account: certonly failed"
certbot2 revoke --cert-path "$c3" --reason superseded --no-delete-after-revoke \
    >"$TEST_TMP/revoke3.log" 2>&1 ||
    die "second account could not revoke t3: $(tail -n 3 "$TEST_TMP/revoke3.log")"
wait_crl_lists "$(cert_cdp "$c3")" "$s3" "$TEST_TMP/crl3.pem"
log "an account with authorizations for every name revoked t3"

# The operator: anvil-ca revoke, picked up by the running server.
inv=$(($(date +%s) - 86400))
"$ANVIL_CA" revoke --state "$SERVER_STATE" --serial "$s2" \
    --reason cessationOfOperation --invalidity-date "$inv" \
    >"$TEST_TMP/op-revoke.log" 2>&1 || die "anvil-ca revoke failed: $(cat "$TEST_TMP/op-revoke.log")"
wait_crl_lists "$cdp2" "$s2" "$TEST_TMP/crl2b.pem"
openssl crl -in "$TEST_TMP/crl2b.pem" -noout -text | grep -q "Invalidity Date" ||
    die "operator's invalidity date is not in the CRL"
for ((i = 0; i < 50; i++)); do
	out=$(ocsp_query "$TEST_TMP/inter.pem" "$c2" "$ocsp_url" "$ACME_ROOT")
	grep -q ": revoked" <<<"$out" && break
	sleep 0.2
done
grep -q "Reason: cessationOfOperation" <<<"$out" || die "OCSP after operator revoke: $out"
if "$ANVIL_CA" revoke --state "$SERVER_STATE" --serial "$s2" --reason superseded \
    >"$TEST_TMP/op-revoke2.log" 2>&1; then
	die "the operator revoked a revoked certificate again"
fi
grep -q alreadyRevoked "$TEST_TMP/op-revoke2.log" || die "second operator revoke: $(cat "$TEST_TMP/op-revoke2.log")"
list=$("$ANVIL_CA" list --state "$SERVER_STATE" --revoked --json)
LIST=$list "$PY" -c '
import json, os, sys
got = {c["serial"]: c for c in json.loads(os.environ["LIST"])}
want = {sys.argv[1]: "keyCompromise", sys.argv[2]: "cessationOfOperation",
        sys.argv[3]: "superseded"}
assert set(got) == set(want), got.keys()
for s, r in want.items():
    assert got[s]["status"] == "revoked" and got[s]["reason"] == r, got[s]
' "$s1" "$s2" "$s3" || die "anvil-ca list --revoked --json: $list"
"$ANVIL_CA" list --state "$SERVER_STATE" --expiring 100 | grep -q "$s1" ||
    die "anvil-ca list --expiring 100 misses t1"
log "operator revoke published; list shows three revoked"
