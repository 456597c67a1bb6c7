#!/usr/bin/python3
"""cases.py - request-authentication and finalize rules of RFC 8555, each
broken once against a running server.

Usage: cases.py DIRECTORY_URL CA_BUNDLE
Environment: HTTP01_PORT - the port the server's http-01 checks connect to
             (names under example.test must resolve to 127.0.0.1).

Each case asserts the HTTP status, Content-Type application/problem+json
and the exact problem type; then that no state changed where that can be
seen over ACME (no account was created for the key, the account's contact
or the order's status is as before), and that the server still answers its
directory.  Every response of a case must carry Replay-Nonce (POST and
newNonce answers) and Link: <directory>;rel="index" (all but the
directory), RFC 8555 §6.5 and §7.1.  When ANVIL_DB names anvil-ca's
database, the row counts of accounts, orders, authzs and certs must not
change either, except in the tables a case's own setup adds to.

Output is TAP: "ok N - name" or "not ok N - name: why", one line a case,
then "# negative: N ok, N not ok".  Exit status 0 when all passed.

Choices where RFC 8555 leaves room, asserted as written here:
- A nonce that is not base64url is "malformed" (§6.5.2: "the verifier
  MUST reject the JWS as malformed"); a well-formed nonce the server never
  issued, or one already used, is "badNonce" (§6.5).
- A request whose kid names an existing account but is signed with another
  key is "malformed", like any JWS whose signature does not verify: §6.2
  makes the server verify the JWS with the account's key before anything
  else, and an unverifiable JWS is a malformed request message (§6.7).
  "unauthorized" is kept for an authenticated account that lacks
  authority: a foreign order (asserted 403), a url mismatch (§6.4), a
  deactivated account (§7.3.6, which fixes 401).
- Status codes not fixed by the RFC follow anvil's table
  (include/anvil/problem.h): malformed, badNonce, badCSR,
  accountDoesNotExist, badSignatureAlgorithm, badPublicKey 400;
  unauthorized, orderNotReady 403.  Fixed by the RFC: 415 for a wrong
  Content-Type (§6.2), 405 for GET on a POST-only resource (§6.3), 401 for
  a deactivated account (§7.3.6).  An oversized body may be 400 or 413.
"""
import hmac
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import sys
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import acmelib  # noqa: E402
from acmelib import (AcmeError, Client, Http01Responder, Key,  # noqa: E402
                     b64u, make_csr, PROBLEM_NS)


class Fail(Exception):
    pass


def rand_name():
    return secrets.token_hex(6) + ".example.test"


def expect_problem(r, ptype, status):
    """status: an int or a tuple of acceptable ints."""
    ok_status = status if isinstance(status, tuple) else (status,)
    if r.status not in ok_status:
        raise Fail("status %d, want %s: %s" % (r.status, ok_status,
                                              r.brief()))
    if r.content_type() != "application/problem+json":
        raise Fail("Content-Type %r, want application/problem+json: %s"
                   % (r.content_type(), r.brief()))
    if r.problem_type() != PROBLEM_NS + ptype:
        raise Fail("problem type %r, want %s: %s"
                   % (r.problem_type(), PROBLEM_NS + ptype, r.brief()))
    return r.json()


def expect_ok(r, status=200):
    if r.status != status:
        raise Fail("status %d, want %d: %s" % (r.status, status, r.brief()))


def expect_fresh_nonce(r, used=()):
    n = r.header("Replay-Nonce")
    if not n:
        raise Fail("badNonce answer without Replay-Nonce: " + r.brief())
    if n in used:
        raise Fail("badNonce answer repeats a used nonce")
    return n


class Ctx:
    """What the cases share: a client, two accounts, an http-01
    responder, orders made on demand."""

    def __init__(self, directory, cafile, http01_port):
        self.c = Client(directory, cafile)
        self.responder = Http01Responder(http01_port)
        self.a_key = Key("ec256")
        self.a_kid = self.c.account(self.a_key)
        self.a_contact = self.account_obj()["contact"]
        self.b_key = Key("ec256")
        self.b_kid = self.c.account(self.b_key)
        self.ready = None       # (order url, order, name): A's ready order

    def account_obj(self):
        return self.c.get(self.a_kid, self.a_key, self.a_kid)

    # --- state checks ---------------------------------------------------
    def no_account_for(self, key, refused_key=False):
        """The key has no account: onlyReturnExisting answers
        accountDoesNotExist (RFC 8555 §7.3.1), or badPublicKey when
        refused_key says the server refuses this key outright."""
        r = self.c.new_account(key, only_existing=True)
        ok = ["accountDoesNotExist"] + (["badPublicKey"] if refused_key
                                        else [])
        if r.status != 400 or r.problem_type() not in [
                PROBLEM_NS + t for t in ok]:
            raise Fail("an account exists for the rejected key: "
                       + r.brief())

    def account_unchanged(self):
        obj = self.account_obj()
        if obj.get("status") != "valid" or obj.get("contact") != \
                self.a_contact:
            raise Fail("account A changed: " + json.dumps(obj))

    def order_status(self, url, want):
        obj = self.c.get(url, self.a_key, self.a_kid)
        if obj.get("status") != want:
            raise Fail("order is %s, want %s" % (obj.get("status"), want))

    def pending_order(self):
        url, order = self.c.new_order(self.a_key, self.a_kid, [rand_name()])
        if order.get("status") != "pending":
            raise Fail("new order is not pending: " + json.dumps(order))
        return url, order

    def ready_order(self):
        if self.ready is None:
            name = rand_name()
            url, order = self.c.new_order(self.a_key, self.a_kid, [name])
            self.c.validate_http01(self.a_key, self.a_kid, order,
                                   self.responder)
            order = self.c.wait_status(url, self.a_key, self.a_kid,
                                       ("ready",))
            self.ready = (url, order, name)
        return self.ready

    def account_update_jws(self, key=None, kid=None, url=None, **kw):
        """A contact update for account A (a change we can see if it were
        wrongly applied)."""
        key = key or self.a_key
        kid = self.a_kid if kid is None else kid
        prot = self.c.protected(url or self.a_kid, key, kid=kid, **kw)
        payload = self.c.encode_payload(
            {"contact": ["mailto:changed@example.test"]})
        return prot, payload


CASES = []
# Row counts compared around each case when the server's database can be
# read (anvil-ca: ANVIL_DB=STATE/anvil-ca.db).
DB_TABLES = ("accounts", "orders", "authzs", "certs")


def case(fn=None, may_add=()):
    """Registers a case; may_add names the tables it may legitimately add
    rows to (its own setup), all others must keep their row count."""
    def reg(f):
        f.may_add = tuple(may_add)
        CASES.append(f)
        return f
    return reg(fn) if fn is not None else reg


def db_counts():
    """Row counts of DB_TABLES in $ANVIL_DB, or None when not available."""
    path = os.environ.get("ANVIL_DB")
    if not path or not os.path.exists(path):
        return None
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        out = {}
        for t in DB_TABLES:
            try:
                out[t] = con.execute("SELECT count(*) FROM " + t).fetchone()[0]
            except sqlite3.Error:
                out[t] = None
        return out
    finally:
        con.close()


# --- §6.4 url ----------------------------------------------------------------
@case
def url_mismatch(x):
    """The "url" header names another resource: unauthorized (§6.4)."""
    prot, pl = x.account_update_jws(url=x.c.url("newOrder"))
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "unauthorized", 403)
    x.account_unchanged()


# --- §6.5 nonces -------------------------------------------------------------
@case
def nonce_reused(x):
    """A nonce used once is refused the second time with badNonce and a
    fresh Replay-Nonce that the server then accepts (§6.5)."""
    n = x.c.take_nonce()
    jws = x.c.flattened(x.c.protected(x.a_kid, x.a_key, kid=x.a_kid,
                                      nonce=n), "", x.a_key)
    expect_ok(x.c.post_raw(x.a_kid, jws))
    r = x.c.post_raw(x.a_kid, jws)
    expect_problem(r, "badNonce", 400)
    fresh = expect_fresh_nonce(r, used=(n,))
    expect_ok(x.c.post(x.a_kid, None, x.a_key, kid=x.a_kid, nonce=fresh))


@case
def nonce_missing(x):
    """No "nonce" in the protected header: badNonce (§6.5)."""
    prot, pl = x.account_update_jws(nonce=None)
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "badNonce", 400)
    fresh = expect_fresh_nonce(r)
    expect_ok(x.c.post(x.a_kid, None, x.a_key, kid=x.a_kid, nonce=fresh))
    x.account_unchanged()


@case
def nonce_unknown(x):
    """A well-formed nonce the server never issued: badNonce (§6.5)."""
    prot, pl = x.account_update_jws(nonce=b64u(secrets.token_bytes(16)))
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "badNonce", 400)
    expect_fresh_nonce(r)
    x.account_unchanged()


@case
def nonce_not_base64url(x):
    """A nonce that is not base64url: malformed (§6.5.2)."""
    prot, pl = x.account_update_jws(nonce="not+base64/url=")
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "malformed", 400)
    x.account_unchanged()


# --- §6.2 algorithms and keys ------------------------------------------------
def new_account_jws(x, key, **kw):
    prot = x.c.protected(x.c.url("newAccount"), key, **kw)
    pl = x.c.encode_payload({"termsOfServiceAgreed": True})
    return prot, pl


@case
def alg_none(x):
    """alg "none": badSignatureAlgorithm with an "algorithms" list (§6.2)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k, alg="none")
    jws = {"protected": b64u(json.dumps(prot)), "payload": pl,
           "signature": ""}
    r = x.c.post_raw(x.c.url("newAccount"), jws)
    doc = expect_problem(r, "badSignatureAlgorithm", 400)
    algs = doc.get("algorithms")
    if not isinstance(algs, list) or "ES256" not in algs:
        raise Fail("no \"algorithms\" list with ES256: " + r.brief())
    x.no_account_for(k)


@case
def alg_hs256(x):
    """alg "HS256" (a MAC): badSignatureAlgorithm (§6.2)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k, alg="HS256")
    p64 = b64u(json.dumps(prot))
    mac = hmac.new(b"0123456789abcdef0123456789abcdef",
                   (p64 + "." + pl).encode(), hashlib.sha256).digest()
    r = x.c.post_raw(x.c.url("newAccount"),
                     {"protected": p64, "payload": pl, "signature": b64u(mac)})
    expect_problem(r, "badSignatureAlgorithm", 400)
    x.no_account_for(k)


@case
def jwk_not_on_curve(x):
    """An ES256 jwk whose point is not on P-256: badPublicKey (§6.2)."""
    k = Key("ec256")
    jwk = k.jwk()
    y = bytearray(acmelib.b64u_decode(jwk["y"]))
    y[-1] ^= 1
    jwk["y"] = b64u(bytes(y))
    prot = {"alg": "ES256", "nonce": x.c.take_nonce(),
            "url": x.c.url("newAccount"), "jwk": jwk}
    pl = x.c.encode_payload({"termsOfServiceAgreed": True})
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, k))
    expect_problem(r, "badPublicKey", 400)
    x.no_account_for(k)


@case
def jwk_rsa_1024(x):
    """An RS256 jwk of 1024 bits (below 2048): badPublicKey (§6.2)."""
    k = Key("rsa2048")
    from cryptography.hazmat.primitives.asymmetric import rsa
    k.priv = rsa.generate_private_key(65537, 1024)
    prot, pl = new_account_jws(x, k)
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, k))
    expect_problem(r, "badPublicKey", 400)
    x.no_account_for(k, refused_key=True)


# --- §6.2 jwk / kid ----------------------------------------------------------
@case
def jwk_and_kid(x):
    """Both "jwk" and "kid": malformed (§6.2)."""
    prot, pl = x.account_update_jws(jwk=True)
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "malformed", 400)
    x.account_unchanged()


@case
def neither_jwk_nor_kid(x):
    """Neither "jwk" nor "kid": malformed (§6.2)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k, jwk=False)
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, k))
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def jwk_where_kid_required(x):
    """An account-signed request (account update) with "jwk" instead of
    "kid": malformed (§6.2 "there MUST be a kid field")."""
    prot = x.c.protected(x.a_kid, x.a_key)
    pl = x.c.encode_payload({"contact": ["mailto:changed@example.test"]})
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "malformed", 400)
    x.account_unchanged()


@case
def kid_on_new_account(x):
    """newAccount with "kid" instead of "jwk": malformed (§6.2 "For
    newAccount requests ... there MUST be a jwk field")."""
    prot, pl = new_account_jws(x, x.a_key, kid=x.a_kid)
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, x.a_key))
    expect_problem(r, "malformed", 400)
    x.account_unchanged()


@case
def kid_of_another_key(x):
    """kid names account A, the JWS is signed by another key: the
    signature does not verify with A's key, malformed (see top)."""
    k = Key("ec256")
    prot, pl = x.account_update_jws(key=k)
    r = x.c.post_raw(x.a_kid, x.c.flattened(prot, pl, k))
    expect_problem(r, "malformed", 400)
    x.account_unchanged()


@case
def kid_unknown_account(x):
    """kid is an account URL the server never made: accountDoesNotExist
    (§6.7)."""
    k = Key("ec256")
    base = x.a_kid.rsplit("/", 1)[0]
    kid = base + "/" + b64u(secrets.token_bytes(16))
    prot = x.c.protected(kid, k, kid=kid)
    r = x.c.post_raw(kid, x.c.flattened(prot, "", k))
    expect_problem(r, "accountDoesNotExist", 400)


@case
def only_return_existing_unknown(x):
    """onlyReturnExisting with a key that has no account:
    accountDoesNotExist (§7.3.1)."""
    k = Key("ec256")
    r = x.c.new_account(k, only_existing=True)
    expect_problem(r, "accountDoesNotExist", 400)


@case(may_add=("orders", "authzs"))
def foreign_order(x):
    """Account B reads account A's order: unauthorized."""
    url, _ = x.pending_order()
    r = x.c.post(url, None, x.b_key, kid=x.b_kid)
    expect_problem(r, "unauthorized", 403)
    x.order_status(url, "pending")


@case(may_add=("accounts",))
def deactivated_account(x):
    """A deactivated account's POST-as-GET: 401 unauthorized (§7.3.6)."""
    k = Key("ec256")
    kid = x.c.account(k)
    r = x.c.post(kid, {"status": "deactivated"}, k, kid=kid)
    expect_ok(r)
    if (r.json() or {}).get("status") != "deactivated":
        raise Fail("deactivation answer: " + r.brief())
    r = x.c.post(kid, None, k, kid=kid)
    expect_problem(r, "unauthorized", 401)


# --- §6.2 JWS serialization --------------------------------------------------
@case
def compact_serialization(x):
    """A compact JWS (a.b.c) instead of flattened JSON: malformed (§6.2)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k)
    j = x.c.flattened(prot, pl, k)
    body = "%s.%s.%s" % (j["protected"], j["payload"], j["signature"])
    r = x.c.post_raw(x.c.url("newAccount"), body)
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def general_serialization(x):
    """General JSON serialization with a "signatures" array: malformed
    (§6.2 flattened only, one signature)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k)
    j = x.c.flattened(prot, pl, k)
    body = {"payload": j["payload"], "signatures": [
        {"protected": j["protected"], "signature": j["signature"]}]}
    r = x.c.post_raw(x.c.url("newAccount"), body)
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def unprotected_header(x):
    """A JWS Unprotected Header ("header"): malformed (§6.2)."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k)
    j = x.c.flattened(prot, pl, k)
    j["header"] = {"kid": "https://example.test/acct/1"}
    r = x.c.post_raw(x.c.url("newAccount"), j)
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def wrong_content_type(x):
    """Content-Type application/json: 415 (§6.2), type malformed."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k)
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, k),
                     content_type="application/json")
    expect_problem(r, "malformed", 415)
    x.no_account_for(k)


@case
def body_too_large(x):
    """A body over 64 KiB: malformed (400 or 413), nothing created."""
    k = Key("ec256")
    prot = x.c.protected(x.c.url("newAccount"), k)
    pl = x.c.encode_payload({"termsOfServiceAgreed": True,
                             "padding": "A" * (70 * 1024)})
    r = x.c.post_raw(x.c.url("newAccount"), x.c.flattened(prot, pl, k))
    expect_problem(r, "malformed", (400, 413))
    x.no_account_for(k)


@case
def payload_not_base64url(x):
    """A payload that is not base64url (signed as sent): malformed."""
    k = Key("ec256")
    prot = x.c.protected(x.c.url("newAccount"), k)
    r = x.c.post_raw(x.c.url("newAccount"),
                     x.c.flattened(prot, "eyJ0ZXJtc09m*U2Vydm!j", k))
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def protected_not_base64url(x):
    """A protected header that is not base64url: malformed."""
    k = Key("ec256")
    pl = x.c.encode_payload({"termsOfServiceAgreed": True})
    r = x.c.post_raw(x.c.url("newAccount"),
                     x.c.flattened("eyJhbGciOi$$$", pl, k))
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


@case
def bad_signature(x):
    """A signature with one bit flipped: malformed."""
    k = Key("ec256")
    prot, pl = new_account_jws(x, k)
    j = x.c.flattened(prot, pl, k)
    sig = bytearray(acmelib.b64u_decode(j["signature"]))
    sig[5] ^= 0x01
    j["signature"] = b64u(bytes(sig))
    r = x.c.post_raw(x.c.url("newAccount"), j)
    expect_problem(r, "malformed", 400)
    x.no_account_for(k)


# --- §6.3 GET and POST-as-GET ------------------------------------------------
@case
def get_on_post_resource(x):
    """GET on newAccount and on an account URL: 405 malformed (§6.3)."""
    for url in (x.c.url("newAccount"), x.a_kid):
        r = x.c.request("GET", url)
        expect_problem(r, "malformed", 405)


@case(may_add=("orders", "authzs"))
def post_as_get_with_payload(x):
    """A non-empty payload ({}) POSTed to an order, which only reads:
    malformed; the order is unchanged."""
    url, _ = x.pending_order()
    r = x.c.post(url, {}, x.a_key, kid=x.a_kid)
    expect_problem(r, "malformed", 400)
    x.order_status(url, "pending")


# --- §7.4 finalize -----------------------------------------------------------
@case(may_add=("orders", "authzs"))
def finalize_not_ready(x):
    """finalize of a pending order: 403 orderNotReady (§7.4)."""
    url, order = x.pending_order()
    name = order["identifiers"][0]["value"]
    csr = make_csr(Key("ec256"), [name])
    r = x.c.post(order["finalize"], {"csr": b64u(csr)}, x.a_key,
                 kid=x.a_kid)
    expect_problem(r, "orderNotReady", 403)
    x.order_status(url, "pending")


@case(may_add=("orders", "authzs"))
def finalize_extra_name(x):
    """A CSR naming one more name than the order: badCSR (§7.4); the
    order stays ready."""
    url, order, name = x.ready_order()
    csr = make_csr(Key("ec256"), [name, rand_name()])
    r = x.c.post(order["finalize"], {"csr": b64u(csr)}, x.a_key,
                 kid=x.a_kid)
    expect_problem(r, "badCSR", 400)
    x.order_status(url, "ready")


@case(may_add=("orders", "authzs"))
def finalize_account_key(x):
    """A CSR for the account's own key: badCSR; the order stays ready."""
    url, order, name = x.ready_order()
    csr = make_csr(x.a_key, [name])
    r = x.c.post(order["finalize"], {"csr": b64u(csr)}, x.a_key,
                 kid=x.a_kid)
    expect_problem(r, "badCSR", 400)
    x.order_status(url, "ready")


@case(may_add=("orders", "authzs"))
def finalize_bad_csr_encoding(x):
    """A csr field that decodes from base64url but is not a DER CSR:
    badCSR (§7.4); the order stays ready."""
    url, order, _ = x.ready_order()
    r = x.c.post(order["finalize"], {"csr": b64u(b"\x30\x03\x02\x01\x00")},
                 x.a_key, kid=x.a_kid)
    expect_problem(r, "badCSR", 400)
    x.order_status(url, "ready")


@case(may_add=("orders", "authzs", "certs"))
def finalize_ok(x):
    """Control: the right CSR is accepted after the refused ones, the
    order becomes valid and the certificate names exactly the name."""
    url, order, name = x.ready_order()
    csr = make_csr(Key("ec256"), [name])
    r = x.c.post(order["finalize"], {"csr": b64u(csr)}, x.a_key,
                 kid=x.a_kid)
    expect_ok(r)
    done = x.c.wait_status(url, x.a_key, x.a_kid, ("valid",))
    r = x.c.post(done["certificate"], None, x.a_key, kid=x.a_kid)
    expect_ok(r)
    if r.content_type() != "application/pem-certificate-chain":
        raise Fail("certificate Content-Type %r" % r.content_type())
    from cryptography import x509
    leaf = x509.load_pem_x509_certificate(r.body)
    san = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    if san != [name]:
        raise Fail("certificate names %s, want [%s]" % (san, name))
    x.ready = None
    r = x.c.post(order["finalize"], {"csr": b64u(csr)}, x.a_key,
                 kid=x.a_kid)
    expect_problem(r, "orderNotReady", 403)


# --- clients that leave ------------------------------------------------------
def send_and_vanish(x, url, body):
    """Sends one complete POST over its own TLS connection and closes it
    at once, without reading the answer."""
    u = urllib.parse.urlsplit(url)
    raw = socket.create_connection((u.hostname, u.port or 443), timeout=10)
    s = x.c.ctx.wrap_socket(raw, server_hostname=u.hostname)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Type: application/jose+json\r\n"
                   "Content-Length: %d\r\n\r\n"
                   % (u.path, u.netloc, len(body))).encode() + body)
    finally:
        s.close()


@case(may_add=("orders", "authzs"))
def clients_leave_before_the_answer(x):
    """Forty valid requests (newOrder, order reads) whose clients close
    the connection as soon as they have sent them, while the server is
    checking their signatures or holding their answers for the commit:
    the server neither crashes nor stalls, and then answers normally."""
    order = x.c.post(x.c.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": "leave.example.test"}]}, x.a_key,
        kid=x.a_kid)
    expect_ok(order, 201)
    loc = order.header("Location")
    for i in range(20):
        prot = x.c.protected(x.c.url("newOrder"), x.a_key, kid=x.a_kid)
        pl = x.c.encode_payload({"identifiers": [
            {"type": "dns", "value": "leave%d.example.test" % i}]})
        send_and_vanish(x, x.c.url("newOrder"),
                        json.dumps(x.c.flattened(prot, pl, x.a_key)).encode())
        prot = x.c.protected(loc, x.a_key, kid=x.a_kid)
        send_and_vanish(x, loc,
                        json.dumps(x.c.flattened(prot, "", x.a_key)).encode())
    r = x.c.post(loc, None, x.a_key, kid=x.a_kid)
    expect_ok(r)
    if r.json().get("status") != "pending":
        raise Fail("order status %r after the clients left"
                   % r.json().get("status"))


@case(may_add=("orders", "authzs"))
def clients_leave_before_the_validation(x):
    """Ten challenge POSTs, each the only one of its order, so that the
    answer waits for the validation (challenge_wait_ms), whose clients
    close the connection at once: the validations end (nothing answers
    on the http-01 port here: invalid), their answers go to no one, and
    the server neither crashes nor stalls."""
    chals = []
    for i in range(10):
        order = x.c.post(x.c.url("newOrder"), {"identifiers": [
            {"type": "dns", "value": "gone%d.example.test" % i}]},
            x.a_key, kid=x.a_kid)
        expect_ok(order, 201)
        authz = x.c.post(order.json()["authorizations"][0], None, x.a_key,
                         kid=x.a_kid)
        expect_ok(authz)
        ch = [c for c in authz.json()["challenges"]
              if c["type"] == "http-01"][0]
        prot = x.c.protected(ch["url"], x.a_key, kid=x.a_kid)
        send_and_vanish(x, ch["url"], json.dumps(x.c.flattened(
            prot, x.c.encode_payload({}), x.a_key)).encode())
        chals.append(ch["url"])
    deadline = time.time() + 20
    for url in chals:
        while True:
            r = x.c.post(url, None, x.a_key, kid=x.a_kid)
            expect_ok(r)
            if r.json().get("status") not in ("pending", "processing"):
                break
            if time.time() > deadline:
                raise Fail("challenge still %r" % r.json().get("status"))
            time.sleep(0.1)
        if r.json().get("status") != "invalid":
            raise Fail("challenge %r with nothing to answer it"
                       % r.json().get("status"))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cases.py DIRECTORY_URL CA_BUNDLE")
    port = int(os.environ.get("HTTP01_PORT", "0"))
    only = os.environ.get("NEGATIVE_ONLY", "").split()
    cases = [c for c in CASES if not only or c.__name__ in only]
    passed = failed = 0
    try:
        x = Ctx(sys.argv[1], sys.argv[2], port)
    except Exception as e:      # noqa: BLE001 - any setup error fails all
        traceback.print_exc()
        for i, c in enumerate(cases, 1):
            print("not ok %d - %s: setup failed: %s" % (i, c.__name__, e))
        print("# negative: 0 ok, %d not ok" % len(cases))
        return 1
    for i, c in enumerate(cases, 1):
        x.c.header_faults.clear()
        t0 = time.time()
        why = None
        try:
            before = db_counts()
            c(x)
            x.c.refresh_directory()
            if x.c.header_faults:
                why = "; ".join(x.c.header_faults[:3])
            after = db_counts()
            if why is None and before and after:
                changed = [t for t in DB_TABLES if t not in c.may_add
                           and before[t] != after[t]]
                if changed:
                    why = "rows changed in %s: %s -> %s" % (
                        ", ".join(changed), before, after)
        except Fail as e:
            why = str(e)
        except (AcmeError, OSError, ValueError, KeyError, TypeError,
                sqlite3.Error) as e:
            why = "%s: %s" % (type(e).__name__, e)
        ms = int((time.time() - t0) * 1000)
        if why is None:
            passed += 1
            print("ok %d - %s (%d ms)" % (i, c.__name__, ms), flush=True)
        else:
            failed += 1
            print("not ok %d - %s: %s" % (i, c.__name__, why[:600]),
                  flush=True)
            # A case that broke the server breaks the ones after it too:
            # say so once, the following cases will show it.
    x.responder.close()
    print("# negative: %d ok, %d not ok" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
