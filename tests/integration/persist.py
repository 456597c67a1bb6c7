#!/usr/bin/python3
"""persist.py - what a client had before an anvil-ca restart is there after
it: run "before" against a server, restart the server on the same state,
then run "after".

Usage: persist.py before|after|parked STATEFILE DIRECTORY_URL CA_BUNDLE
Environment: HTTP01_PORT - the port the server's http-01 checks connect to.

"before" makes an account, a valid order with its certificate, a pending
order, and keeps a nonce; "after" checks the account, both orders, the
authorizations and the certificate bytes are unchanged, that the old nonce
is refused with badNonce (and the answer brings a fresh one), and that the
certificate can still be revoked.  "parked" answers a challenge whose
validation is slow, creating STATEFILE just before its POST: the server
is then stopped, and the answer that waited for the validation must come
at once, not be lost.  TAP output, one line a check.
"""
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from acmelib import (Client, Http01Responder, Key, b64u,  # noqa: E402
                     make_csr, PROBLEM_NS)
from cryptography.hazmat.primitives import serialization  # noqa: E402

results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))


def key_to_pem(k):
    return k.priv.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()


def key_from_pem(pem):
    k = Key("ec256")
    k.priv = serialization.load_pem_private_key(pem.encode(), None)
    return k


def before(path, c, port):
    http = Http01Responder(port)
    k = Key("ec256")
    kid = c.account(k)
    names = ["p%s.example.test" % secrets.token_hex(4)]
    url, order = c.new_order(k, kid, names)
    c.validate_http01(k, kid, order, http)
    c.wait_status(url, k, kid, ("ready",))
    r = c.post(order["finalize"], {"csr": b64u(make_csr(Key(), names))},
               k, kid=kid)
    check("finalize", r.status == 200, r.brief())
    order = c.wait_status(url, k, kid, ("valid",))
    r = c.post(order["certificate"], None, k, kid=kid)
    check("download", r.status == 200, r.brief())
    purl, porder = c.new_order(k, kid, ["q%s.example.test" %
                                        secrets.token_hex(4)])
    state = {
        "key": key_to_pem(k), "kid": kid, "order": url,
        "order_json": order, "pending": purl, "pending_json": porder,
        "cert_pem": r.body.decode(), "nonce": c.new_nonce(),
        "account": c.get(kid, k, kid),
        "authz": c.get(order["authorizations"][0], k, kid),
    }
    with open(path, "w") as f:
        json.dump(state, f)
    http.close()


def parked(path, c, port):
    http = Http01Responder(port)
    k = Key("ec256")
    kid = c.account(k)
    url, order = c.new_order(k, kid, ["s%s.example.test" %
                                      secrets.token_hex(4)])
    authz = c.get(order["authorizations"][0], k, kid)
    ch = [x for x in authz["challenges"] if x["type"] == "http-01"][0]
    http.tokens[ch["token"]] = ch["token"] + "." + k.thumbprint()
    http.delays[ch["token"]] = 5
    with open(path, "w") as f:
        f.write("posting\n")
    t0 = time.time()
    r = c.post(ch["url"], {}, k, kid=kid)
    took = time.time() - t0
    check("parked_answer_at_stop", r.status == 200 and
          r.json()["status"] == "processing" and took < 0.9,
          "%s after %.2f s" % (r.brief(), took))
    # The stop cut the validation short (its result was never recorded).
    # Started again, the server validates again: the authorization
    # becomes valid without the client doing anything.
    deadline = time.time() + 60
    status = None
    while time.time() < deadline:
        try:
            status = c.get(order["authorizations"][0], k, kid)["status"]
        except Exception:  # noqa: BLE001 - the server is down meanwhile
            status = None
        if status in ("valid", "invalid"):
            break
        time.sleep(0.3)
    check("validation_resumed_after_restart", status == "valid",
          "authorization %s" % status)


def after(path, c):
    with open(path) as f:
        st = json.load(f)
    k, kid = key_from_pem(st["key"]), st["kid"]
    # A nonce from before the restart: badNonce, with a fresh one.
    r = c.post(kid, None, k, kid=kid, nonce=st["nonce"])
    check("old_nonce_refused", r.status == 400 and r.problem_type() ==
          PROBLEM_NS + "badNonce" and r.header("Replay-Nonce"), r.brief())
    check("account_kept", c.get(kid, k, kid) == st["account"])
    r = c.new_account(k, only_existing=True)
    check("account_found_by_key", r.status == 200 and
          r.header("Location") == kid, r.brief())
    check("valid_order_kept", c.get(st["order"], k, kid) ==
          st["order_json"])
    pend = c.get(st["pending"], k, kid)
    check("pending_order_kept", pend == st["pending_json"],
          json.dumps(pend)[:300])
    check("authz_kept", c.get(st["order_json"]["authorizations"][0], k,
                              kid) == st["authz"])
    r = c.post(st["order_json"]["certificate"], None, k, kid=kid)
    check("certificate_kept", r.status == 200 and
          r.body.decode() == st["cert_pem"], r.brief())
    leaf = st["cert_pem"].split("-----END CERTIFICATE-----")[0] + \
        "-----END CERTIFICATE-----\n"
    from cryptography import x509
    der = x509.load_pem_x509_certificate(leaf.encode()).public_bytes(
        serialization.Encoding.DER)
    r = c.post(c.url("revokeCert"), {"certificate": b64u(der)}, k, kid=kid)
    check("revoke_after_restart", r.status == 200, r.brief())


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("before", "after",
                                                 "parked"):
        sys.exit(__doc__)
    c = Client(sys.argv[3], sys.argv[4])
    try:
        if sys.argv[1] == "before":
            before(sys.argv[2], c, int(os.environ["HTTP01_PORT"]))
        elif sys.argv[1] == "parked":
            parked(sys.argv[2], c, int(os.environ["HTTP01_PORT"]))
        else:
            after(sys.argv[2], c)
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check(sys.argv[1], False, repr(e))
    if c.header_faults:
        check(sys.argv[1] + "_headers", False, "; ".join(
            c.header_faults[:3]))
    bad = 0
    for i, (name, ok, why) in enumerate(results, 1):
        if ok:
            print("ok %d - restart_%s" % (i, name))
        else:
            bad += 1
            print("not ok %d - restart_%s: %s" % (i, name, why))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
