#!/usr/bin/env python3
# mkcorpus.py - writes the seed files of fuzz/corpus/<target>/ (the RFC
# vectors, and real CSRs, JWS bodies and tls-alpn-01 certificates made
# with python3-cryptography and the openssl command, and DNS answers).
#
# Run from anywhere: python3 fuzz/mkcorpus.py [TARGET ...] (every target
# when none is named).  Files are overwritten, not deleted, so the
# minimized inputs libFuzzer found (and crash-* files) stay.  Keys other
# than the RFC example keys are new on each run.

import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.x509.oid import NameOID, ObjectIdentifier

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, 'corpus')


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def compact(obj):
    return json.dumps(obj, separators=(',', ':'))


def i2b(n, size=None):
    if size is None:
        size = (n.bit_length() + 7) // 8
    return n.to_bytes(size, 'big')


def b2i(s):
    return int.from_bytes(unb64u(s), 'big')

# ---------------------------------------------------------------- RFC keys

# RFC 7515 A.3 (ES256), with its private part.
A3 = {'kty': 'EC', 'crv': 'P-256',
      'x': 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      'y': 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0'}
A3_D = 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI'

# RFC 7515 A.2 (RS256).
A2 = {'kty': 'RSA',
      'n': 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx'
           'HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs'
           'D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH'
           'SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV'
           'MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8'
           'NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
      'e': 'AQAB'}
A2_PRIV = {
    'd': 'Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I'
         'jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0'
         'BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn'
         '439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT'
         'CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh'
         'BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ',
    'p': '4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi'
         'YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG'
         'BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc',
    'q': 'uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa'
         'ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA'
         '-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc',
    'dp': 'BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q'
          'CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb'
          '34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0',
    'dq': 'h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa'
          '7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky'
          'NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU',
    'qi': 'IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o'
          'y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU'
          'W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U'}

# RFC 7515 A.1 HMAC key.
A1_K = ('AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75'
        'aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow')

# RFC 8037 A.1/A.2 (Ed25519).
OKP = {'kty': 'OKP', 'crv': 'Ed25519',
       'x': '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'}
OKP_D = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A'

# RFC 7517 A.1 public keys.
R7517_EC = {'kty': 'EC', 'crv': 'P-256',
            'x': 'MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4',
            'y': '4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM',
            'use': 'enc', 'kid': '1'}
R7517_RSA = {'kty': 'RSA',
             'n': '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx'
                  '4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs'
                  'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2'
                  'QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI'
                  'SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqb'
                  'w0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
             'e': 'AQAB', 'alg': 'RS256', 'kid': '2011-04-29'}


def a3_key():
    pub = ec.EllipticCurvePublicNumbers(b2i(A3['x']), b2i(A3['y']),
                                        ec.SECP256R1())
    return ec.EllipticCurvePrivateNumbers(b2i(A3_D), pub).private_key()


def a2_key():
    pub = rsa.RSAPublicNumbers(b2i(A2['e']), b2i(A2['n']))
    return rsa.RSAPrivateNumbers(
        b2i(A2_PRIV['p']), b2i(A2_PRIV['q']), b2i(A2_PRIV['d']),
        b2i(A2_PRIV['dp']), b2i(A2_PRIV['dq']), b2i(A2_PRIV['qi']),
        pub).private_key()


def okp_key():
    return ed25519.Ed25519PrivateKey.from_private_bytes(unb64u(OKP_D))


def jwk_of(key):
    pub = key.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        size = (pub.curve.key_size + 7) // 8
        n = pub.public_numbers()
        crv = {256: 'P-256', 384: 'P-384'}[pub.curve.key_size]
        return {'kty': 'EC', 'crv': crv, 'x': b64u(i2b(n.x, size)),
                'y': b64u(i2b(n.y, size))}
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {'kty': 'RSA', 'n': b64u(i2b(n.n)), 'e': b64u(i2b(n.e))}
    raw = pub.public_bytes(serialization.Encoding.Raw,
                           serialization.PublicFormat.Raw)
    return {'kty': 'OKP', 'crv': 'Ed25519', 'x': b64u(raw)}


def alg_of(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: 'ES256', 384: 'ES384'}[key.curve.key_size]
    if isinstance(key, rsa.RSAPrivateKey):
        return 'RS256'
    return 'EdDSA'


def sign(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        h = hashes.SHA256() if key.curve.key_size == 256 else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        size = (key.curve.key_size + 7) // 8
        return i2b(r, size) + i2b(s, size)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def flattened(prot_b64, pay_b64, sig):
    return compact({'protected': prot_b64, 'payload': pay_b64,
                    'signature': b64u(sig)})


def jws(key, header, payload):
    header = dict(header, alg=alg_of(key))
    prot = b64u(compact(header).encode())
    pay = b64u(payload)
    return flattened(prot, pay, sign(key, (prot + '.' + pay).encode()))

# ------------------------------------------------------------------- seeds


def seeds_b64():
    # RFC 4648 §10 vectors, unpadded base64url.
    for i, s in enumerate(['', 'Zg', 'Zm8', 'Zm9v', 'Zm9vYg', 'Zm9vYmE',
                           'Zm9vYmFy']):
        put('b64url_decode', 'rfc4648-%d' % i, s)
    put('b64url_decode', 'alphabet',
        'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
    put('b64url_decode', 'rfc7515-a3-sig',
        'DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA'
        'pmWQxfKTUJqPP3-Kg6NU1Q')
    put('b64url_decode', 'padded', 'Zm8=')
    put('b64url_decode', 'nonzero-bits', 'Zh')
    put('b64url_decode', 'std-alphabet', 'a+b/')
    put('b64url_decode', 'one-extra', 'Zm9vY')


def seeds_json():
    put('json_parse', 'new-account', compact({
        'termsOfServiceAgreed': True,
        'contact': ['mailto:admin@example.org']}))
    put('json_parse', 'new-order', compact({
        'identifiers': [{'type': 'dns', 'value': 'www.example.org'},
                        {'type': 'dns', 'value': '*.example.org'}],
        'notBefore': '2016-01-01T00:04:00+04:00',
        'notAfter': '2016-01-08T00:04:00+04:00'}))
    put('json_parse', 'directory', json.dumps({
        'newNonce': 'https://example.com/acme/new-nonce',
        'newAccount': 'https://example.com/acme/new-account',
        'meta': {'termsOfService': 'https://example.com/acme/terms',
                 'caaIdentities': ['example.com'],
                 'externalAccountRequired': False}}, indent=2))
    put('json_parse', 'problem', compact({
        'type': 'urn:ietf:params:acme:error:malformed',
        'detail': 'Some of the identifiers requested were rejected',
        'subproblems': [{'type': 'urn:ietf:params:acme:error:malformed',
                         'identifier': {'type': 'dns',
                                        'value': 'abc.example.com'}}]}))
    put('json_parse', 'revoke', compact({'certificate': 'MIIB', 'reason': 4}))
    put('json_parse', 'numbers',
        '{"a":0,"b":-1,"c":9223372036854775807,"d":-9223372036854775808,'
        '"e":1.5,"f":-0.0,"g":1e300,"h":2.2250738585072014e-308,"i":1E-5}')
    put('json_parse', 'strings',
        '{"a":"\\u00e9\\ud83d\\ude00","b":"\\"\\\\\\/\\b\\f\\n\\r\\t",'
        '"c":"\u00e9\u4e2d","d":""}')
    put('json_parse', 'nested', '{"a":[[[[{"b":[{},[],null,true,false]}]]]]}')
    put('json_parse', 'array', '[1,"two",{"three":3},[4]]')
    put('json_parse', 'duplicate-key', '{"a":1,"a":2}')
    put('json_parse', 'nul-escape', '{"a":"x\\u0000y"}')
    put('json_parse', 'trailing', '{"a":1} {}')
    put('json_parse', 'empty-post', '{}')


def seeds_jwk(p384, rsa4096):
    put('jwk', 'rfc7517-a1-ec', compact(R7517_EC))
    put('jwk', 'rfc7517-a1-rsa', compact(R7517_RSA))
    put('jwk', 'rfc7638-3.1-rsa', json.dumps(
        {'kty': 'RSA', 'n': R7517_RSA['n'], 'e': 'AQAB', 'alg': 'RS256',
         'kid': '2011-04-29'}, indent=1))
    put('jwk', 'rfc8037-a2-ed25519', compact(OKP))
    put('jwk', 'rfc8037-a1-private', compact(dict(OKP, d=OKP_D)))
    put('jwk', 'rfc7515-a3-ec', compact(A3))
    put('jwk', 'rfc7515-a2-rsa', compact(A2))
    put('jwk', 'p384', compact(jwk_of(p384)))
    put('jwk', 'rsa4096', compact(jwk_of(rsa4096)))
    put('jwk', 'ec-p521', compact({
        'kty': 'EC', 'crv': 'P-521', 'x': 'AAAA', 'y': 'AAAA'}))
    put('jwk', 'oct', compact({'kty': 'oct', 'k': A1_K}))


def seeds_jws(p384):
    a3, a2, okp = a3_key(), a2_key(), okp_key()
    pay = ('{"iss":"joe",\r\n "exp":1300819380,\r\n'
           ' "http://example.com/is_root":true}').encode()
    pay_b64 = b64u(pay)
    # RFC 7515 A.2 and A.3 as flattened JSON: the signatures are the RFC's
    # (ES256 is randomised, so A.3 is written out, not re-signed).
    put('jws', 'rfc7515-a3-es256', flattened(
        'eyJhbGciOiJFUzI1NiJ9', pay_b64,
        unb64u('DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA'
               'pmWQxfKTUJqPP3-Kg6NU1Q')))
    prot = 'eyJhbGciOiJSUzI1NiJ9'
    put('jws', 'rfc7515-a2-rs256', flattened(
        prot, pay_b64, sign(a2, (prot + '.' + pay_b64).encode())))
    # A.1 HS256: its header has a CRLF, as in the RFC.
    prot = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9'
    h = chmac.HMAC(unb64u(A1_K), hashes.SHA256())
    h.update((prot + '.' + pay_b64).encode())
    put('jws', 'rfc7515-a1-hs256', flattened(prot, pay_b64, h.finalize()))
    # A.7: has an unprotected "header", which ACME refuses.
    put('jws', 'rfc7515-a7-flattened-header', json.dumps({
        'payload': pay_b64, 'protected': 'eyJhbGciOiJFUzI1NiJ9',
        'header': {'kid': 'e9bc097a-ce51-4036-9562-d2ade882db0d'},
        'signature': 'DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5'
                     'djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q'}, indent=1))
    # RFC 8037 A.4 EdDSA (deterministic), with the key in the header.
    put('jws', 'rfc8037-a4-eddsa-jwk', jws(okp, {'jwk': OKP},
                                            b'Example of Ed25519 signing'))
    # ACME requests (RFC 8555 §7.3, §7.4, §6.3).
    url = 'https://example.com/acme/'
    acct = compact({'termsOfServiceAgreed': True,
                    'contact': ['mailto:cert-admin@example.org']}).encode()
    for name, key in [('es256', a3), ('rs256', a2), ('eddsa', okp),
                      ('es384', p384)]:
        put('jws', 'new-account-' + name, jws(key, {
            'jwk': jwk_of(key), 'nonce': '6S8IqOGY7eL2lsGoTZYifg',
            'url': url + 'new-account'}, acct))
    put('jws', 'new-order-kid', jws(a3, {
        'kid': url + 'acct/evOfKhNU60wg', 'nonce': '5XJ1L3lEkMG7tR6pA00clA',
        'url': url + 'new-order'}, compact({'identifiers': [
            {'type': 'dns', 'value': 'www.example.org'}]}).encode()))
    put('jws', 'post-as-get', jws(a3, {
        'kid': url + 'acct/evOfKhNU60wg', 'nonce': 'uQpSjlRb4vQVCjVYAyyUWg',
        'url': url + 'authz/PAniVnsZcis'}, b''))
    # External account binding: an HS256 JWS over the account key.
    eab_prot = b64u(compact({'alg': 'HS256', 'kid': 'kid-1',
                             'url': url + 'new-account'}).encode())
    eab_pay = b64u(compact(A3).encode())
    h = chmac.HMAC(unb64u(A1_K), hashes.SHA256())
    h.update((eab_prot + '.' + eab_pay).encode())
    eab = flattened(eab_prot, eab_pay, h.finalize())
    put('jws', 'eab-hs256', eab)
    put('jws', 'new-account-eab', jws(a3, {
        'jwk': A3, 'nonce': '6S8IqOGY7eL2lsGoTZYifg',
        'url': url + 'new-account'}, compact({
            'termsOfServiceAgreed': True,
            'externalAccountBinding': json.loads(eab)}).encode()))
    put('jws', 'alg-none', flattened(b64u(b'{"alg":"none"}'), pay_b64, b''))
    put('jws', 'crit', jws(a3, {'crit': ['exp'], 'exp': 1}, b'{}'))
    put('jws', 'compact', 'eyJhbGciOiJFUzI1NiJ9.' + pay_b64 + '.AAAA')


def openssl(*args, data=None):
    return subprocess.run(['openssl'] + list(args), input=data, check=True,
                          capture_output=True).stdout


def seeds_csr(tmp):
    keys = {
        'rsa2048': ['-newkey', 'rsa:2048'],
        'ec256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
        'ec384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
        'ed25519': ['-newkey', 'ed25519'],
    }
    cases = {
        'san': ('/CN=example.org',
                'subjectAltName=DNS:example.org,DNS:www.example.org'),
        'wildcard': ('/', 'subjectAltName=DNS:*.example.org,DNS:example.org'),
        'cn-only': ('/CN=Mixed.Example.ORG', None),
        'ip-san': ('/', 'subjectAltName=IP:192.0.2.1'),
        'email-san': ('/CN=example.org',
                      'subjectAltName=email:a@example.org'),
        'bad-name': ('/CN=not_a_host', None),
        'many': ('/CN=a.example.org', 'subjectAltName=' + ','.join(
            'DNS:h%d.example.org' % i for i in range(20))),
    }
    for kname, kargs in keys.items():
        for cname, (subj, ext) in cases.items():
            # Every key type once with SANs; the other cases with EC only.
            if cname != 'san' and kname != 'ec256':
                continue
            args = ['req', '-new', '-nodes', '-keyout',
                    os.path.join(tmp, 'k.pem'), '-subj', subj,
                    '-outform', 'DER'] + kargs
            if ext:
                args += ['-addext', ext]
            put('csr', '%s-%s.der' % (kname, cname), openssl(*args))


ACME_ID = ObjectIdentifier('1.3.6.1.5.5.7.1.31')


def alpn_cert(key, name, value, critical=True, twice=False, san=True):
    # twice: a second extension with OID ...1.32, renamed ...1.31 in the
    # DER afterwards (the builder refuses duplicates; the signature breaks,
    # which the digest reader does not look at).
    now = datetime.datetime(2025, 1, 1)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                     name)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                    name)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now)
         .not_valid_after(now + datetime.timedelta(days=7)))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(name)]), critical=False)
    if value is not None:
        b = b.add_extension(x509.UnrecognizedExtension(ACME_ID, value),
                            critical=critical)
    if twice:
        b = b.add_extension(x509.UnrecognizedExtension(
            ObjectIdentifier('1.3.6.1.5.5.7.1.32'), value), critical=critical)
    md = None if isinstance(key, ed25519.Ed25519PrivateKey) else \
        hashes.SHA256()
    der = b.sign(key, md).public_bytes(serialization.Encoding.DER)
    if twice:
        der = der.replace(bytes.fromhex('2b06010505070120'),
                          bytes.fromhex('2b0601050507011f'))
    return der


def seeds_tlsalpn():
    digest = bytes(range(32))
    good = bytes([0x04, 0x20]) + digest
    ec_key = ec.generate_private_key(ec.SECP256R1())
    put('tlsalpn', 'ec256-good.der', alpn_cert(ec_key, 'example.org', good))
    put('tlsalpn', 'ed25519-good.der',
        alpn_cert(okp_key(), 'example.org', good))
    put('tlsalpn', 'rsa2048-good.der',
        alpn_cert(a2_key(), 'www.example.org', good))
    put('tlsalpn', 'not-critical.der',
        alpn_cert(ec_key, 'example.org', good, critical=False))
    put('tlsalpn', 'short-digest.der',
        alpn_cert(ec_key, 'example.org', bytes([0x04, 0x1f]) + digest[:31]))
    put('tlsalpn', 'not-octet-string.der',
        alpn_cert(ec_key, 'example.org', bytes([0x0c, 0x20]) + digest))
    put('tlsalpn', 'raw-digest.der', alpn_cert(ec_key, 'example.org', digest))
    put('tlsalpn', 'trailing.der',
        alpn_cert(ec_key, 'example.org', good + b'\x00'))
    put('tlsalpn', 'twice.der',
        alpn_cert(ec_key, 'example.org', good, twice=True))
    put('tlsalpn', 'absent.der', alpn_cert(ec_key, 'example.org', None))


def seeds_time():
    # RFC 3339 §5.8 examples, then ours.
    for i, s in enumerate([
            '1985-04-12T23:20:50.52Z', '1996-12-19T16:39:57-08:00',
            '1990-12-31T23:59:60Z', '1990-12-31T15:59:60-08:00',
            '1937-01-01T12:00:27.87+00:20', '2026-01-02T03:04:05Z',
            '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z',
            '0000-01-01T00:00:00Z', '2000-02-29t12:00:00z',
            '2100-02-29T00:00:00Z', '2016-01-01T00:04:00+04:00',
            '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z']):
        put('time_parse', 'rfc3339-%02d' % i, s)


def seeds_config():
    put('config', 'full.conf', '''# anvil-ca configuration
listen = 127.0.0.1:14000
base_url = https://localhost:14000
http01_port = 5002
tlsalpn01_port = 5001
resolver = 127.0.0.1:8053
validity_days = 90
order_lifetime = 604800
authz_lifetime = 2592000
terms_of_service = https://example.com/terms
website = https://example.com/
caa_identity = anvil.invalid
caa_identity = example.com
va_threads = 4
''')
    put('config', 'minimal.conf', 'listen=[::1]:443\n')
    put('config', 'blank-and-comments.conf',
        '\n# comment\n   \t\n  # indented comment\nva_threads=2')
    put('config', 'crlf.conf', 'listen = 127.0.0.1:14000\r\nva_threads = 8\r\n')
    put('config', 'unknown-key.conf', 'colour = blue\n')
    put('config', 'no-equals.conf', 'listen 127.0.0.1:1\n')
    put('config', 'out-of-range.conf', 'http01_port = 70000\n')
    put('config', 'trailing-slash.conf', 'base_url = https://example.com/\n')
    put('config', 'too-many-caa.conf', ''.join(
        'caa_identity = ca%d.example\n' % i for i in range(9)))
    put('config', 'long-line.conf', 'resolver = ' + 'a' * 1100 + '\n')


def seeds_nonce():
    # See fuzz_nonce.c for the opcodes.
    put('nonce', 'redeem-each-twice', bytes([1, 0, 1, 1, 1, 2, 1, 3,
                                             1, 0, 1, 3]))
    put('nonce', 'issue-then-redeem', bytes([0, 0, 0, 1, 6, 1, 5, 1, 4,
                                             1, 6]))
    put('nonce', 'altered-char', bytes([2, 0, 3, ord('A'), 2, 1, 21,
                                        ord('B'), 1, 1]))
    put('nonce', 'appended', bytes([2, 2, 22, ord('A'), 2, 2, 0, 0, 1, 2]))
    put('nonce', 'raw-strings', bytes([3, 22]) + b'A' * 22 +
        bytes([3, 24]) + b'AAAAAAAAAAAAAAAAAAAAAA==' + bytes([3, 0]))


# DNS messages as name servers send them (RFC 1035 §4.1), built by hand:
# header, one question, answer/authority/additional records, names
# compressed against the names written before them (§4.1.4).
T_A, T_NS, T_CNAME, T_SOA, T_TXT, T_AAAA, T_OPT, T_RRSIG = \
    1, 2, 5, 6, 16, 28, 41, 46


class DnsMsg:
    def __init__(self, qname, qtype, rcode=0, tc=False, qid=0x5a17):
        self.buf = bytearray()
        self.names = {}
        self.counts = [1, 0, 0, 0]
        flags = 0x8180 | rcode | (0x0200 if tc else 0)
        self.buf += qid.to_bytes(2, 'big') + flags.to_bytes(2, 'big')
        self.buf += bytes(8)
        self.name(qname)
        self.buf += qtype.to_bytes(2, 'big') + (1).to_bytes(2, 'big')

    def name(self, name, compress=True):
        # Writes name at the end of the message, as a pointer to the
        # longest suffix already written when compress.
        labels = [l for l in name.split('.') if l]
        for i in range(len(labels)):
            suffix = '.'.join(labels[i:])
            if compress and suffix in self.names:
                self.buf += (0xc000 | self.names[suffix]).to_bytes(2, 'big')
                return
            if len(self.buf) < 0x3fff:
                self.names.setdefault(suffix, len(self.buf))
            self.buf += bytes([len(labels[i])]) + labels[i].encode()
        self.buf += b'\x00'

    def rr(self, section, owner, rtype, rdata, ttl=300, rclass=1):
        # rdata: bytes, or a callable writing it (for names in it).
        self.name(owner)
        self.buf += rtype.to_bytes(2, 'big') + rclass.to_bytes(2, 'big')
        self.buf += ttl.to_bytes(4, 'big')
        at = len(self.buf)
        self.buf += b'\x00\x00'
        if callable(rdata):
            rdata(self)
        else:
            self.buf += rdata
        self.buf[at:at + 2] = (len(self.buf) - at - 2).to_bytes(2, 'big')
        self.counts[section] += 1
        return self

    def opt(self, size=1232):
        self.buf += b'\x00' + T_OPT.to_bytes(2, 'big') + \
            size.to_bytes(2, 'big') + bytes(4) + b'\x00\x00'
        self.counts[3] += 1
        return self

    def wire(self):
        b = bytearray(self.buf)
        for i, c in enumerate(self.counts):
            b[4 + 2 * i:6 + 2 * i] = c.to_bytes(2, 'big')
        return bytes(b)


def dns_name(target):
    return lambda m: m.name(target)


def dns_txt(*strings):
    return b''.join(bytes([len(s)]) + s for s in strings)


def dns_soa(m):
    m.name('ns1.example.org')
    m.name('hostmaster.example.org')
    m.buf += (2025010101).to_bytes(4, 'big') + (7200).to_bytes(4, 'big') + \
        (3600).to_bytes(4, 'big') + (1209600).to_bytes(4, 'big') + \
        (300).to_bytes(4, 'big')


def seeds_dns_answer():
    AN, NS, AR = 1, 2, 3
    v4 = bytes([192, 0, 2, 10])
    v6 = bytes.fromhex('20010db8000000000000000000000010')
    put('dns_answer', 'a', DnsMsg('www.example.org', T_A)
        .rr(AN, 'www.example.org', T_A, v4)
        .rr(AN, 'www.example.org', T_A, bytes([192, 0, 2, 11]))
        .opt().wire())
    put('dns_answer', 'aaaa', DnsMsg('www.example.org', T_AAAA)
        .rr(AN, 'www.example.org', T_AAAA, v6)
        .rr(NS, 'example.org', T_NS, dns_name('ns1.example.org'))
        .rr(AR, 'ns1.example.org', T_A, bytes([192, 0, 2, 53]))
        .rr(AR, 'ns1.example.org', T_AAAA, v6).opt().wire())
    # dns-01: several records, one value split in two strings, one empty
    # string, and a 255-byte string.
    digest = b'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0'
    put('dns_answer', 'txt-several', DnsMsg(
        '_acme-challenge.example.org', T_TXT)
        .rr(AN, '_acme-challenge.example.org', T_TXT, dns_txt(digest))
        .rr(AN, '_acme-challenge.example.org', T_TXT,
            dns_txt(digest[:20], digest[20:]))
        .rr(AN, '_acme-challenge.example.org', T_TXT,
            dns_txt(b'', b'v=spf1 -all', b'x' * 255))
        .opt().wire())
    # A CNAME chain across zones, the targets compressed against the
    # question and each other; the case of a name changes on the way
    # (0x20 mixing).
    put('dns_answer', 'cname-chain-a', DnsMsg('WwW.ExAmPlE.oRg', T_A)
        .rr(AN, 'www.example.org', T_CNAME, dns_name('cdn.example.net'))
        .rr(AN, 'cdn.example.net', T_CNAME,
            dns_name('edge.cdn.example.net'))
        .rr(AN, 'EDGE.cdn.example.net', T_A, v4)
        .rr(AN, 'edge.cdn.example.net', T_RRSIG, bytes(18) + b'\x00' +
            bytes(64))
        .opt().wire())
    put('dns_answer', 'cname-chain-txt', DnsMsg(
        '_acme-challenge.example.org', T_TXT)
        .rr(AN, '_acme-challenge.example.org', T_CNAME,
            dns_name('_acme-challenge.validation.example.net'))
        .rr(AN, '_acme-challenge.validation.example.net', T_TXT,
            dns_txt(digest)).wire())
    put('dns_answer', 'cname-chain-aaaa', DnsMsg('www.example.org', T_AAAA)
        .rr(AN, 'www.example.org', T_CNAME, dns_name('a.example.org'))
        .rr(AN, 'a.example.org', T_CNAME, dns_name('b.example.org'))
        .rr(AN, 'b.example.org', T_AAAA, v6).wire())
    put('dns_answer', 'cname-loop', DnsMsg('a.example.org', T_A)
        .rr(AN, 'a.example.org', T_CNAME, dns_name('b.example.org'))
        .rr(AN, 'b.example.org', T_CNAME, dns_name('a.example.org'))
        .wire())
    put('dns_answer', 'nxdomain', DnsMsg('nope.example.org', T_A, rcode=3)
        .rr(NS, 'example.org', T_SOA, dns_soa).opt().wire())
    put('dns_answer', 'nodata', DnsMsg('www.example.org', T_AAAA)
        .rr(NS, 'example.org', T_SOA, dns_soa).wire())
    put('dns_answer', 'servfail', DnsMsg('www.example.org', T_A, rcode=2)
        .opt().wire())
    put('dns_answer', 'truncated-tc', DnsMsg(
        '_acme-challenge.example.org', T_TXT, tc=True).wire())
    # Cut in the middle of its second record, as a broken middlebox does.
    cut = DnsMsg('www.example.org', T_A) \
        .rr(AN, 'www.example.org', T_A, v4) \
        .rr(AN, 'www.example.org', T_A, bytes([192, 0, 2, 11])).wire()
    put('dns_answer', 'truncated-cut', cut[:-6])
    # Uncompressed names, another class, another name's records mixed in.
    m = DnsMsg('www.example.org', T_A)
    m.name('www.example.org', compress=False)
    m.buf += T_A.to_bytes(2, 'big') + (3).to_bytes(2, 'big') + \
        (60).to_bytes(4, 'big') + (4).to_bytes(2, 'big') + bytes(4)
    m.counts[1] += 1
    put('dns_answer', 'mixed', m
        .rr(AN, 'other.example.org', T_A, bytes([198, 51, 100, 1]))
        .rr(AN, 'www.example.org', T_A, v4).wire())
    # An owner pointing at itself after a good record (a loop ldns stops
    # by counting pointers).
    m = DnsMsg('www.example.org', T_A).rr(AN, 'www.example.org', T_A, v4)
    m.buf += (0xc000 | len(m.buf)).to_bytes(2, 'big') + \
        T_A.to_bytes(2, 'big') + (1).to_bytes(2, 'big') + bytes(4) + \
        (4).to_bytes(2, 'big') + bytes([192, 0, 2, 12])
    m.counts[1] += 1
    put('dns_answer', 'pointer-loop', m.wire())
    # A large TXT answer, as over TCP: 16 strings of 255 bytes.
    put('dns_answer', 'txt-large', DnsMsg(
        '_acme-challenge.example.org', T_TXT)
        .rr(AN, '_acme-challenge.example.org', T_TXT,
            dns_txt(*[bytes([0x41 + i]) * 255 for i in range(16)]))
        .wire())
    # The longest name (255 bytes in wire form).
    long_name = '.'.join(['a' * 63] * 3 + ['b' * 61])
    put('dns_answer', 'long-name', DnsMsg(long_name, T_A)
        .rr(AN, long_name, T_A, v4).wire())


def main(targets):
    # A target's seeds only, when named: the others (with keys new on
    # each run) stay as they are.
    def want(t):
        return not targets or t in targets

    if want('jwk') or want('jws'):
        p384 = ec.generate_private_key(ec.SECP384R1())
    if want('jwk'):
        rsa4096 = rsa.generate_private_key(65537, 4096)
    if want('b64url_decode'):
        seeds_b64()
    if want('json_parse'):
        seeds_json()
    if want('jwk'):
        seeds_jwk(p384, rsa4096)
    if want('jws'):
        seeds_jws(p384)
    if want('csr'):
        with tempfile.TemporaryDirectory() as tmp:
            seeds_csr(tmp)
    if want('tlsalpn'):
        seeds_tlsalpn()
    if want('time_parse'):
        seeds_time()
    if want('config'):
        seeds_config()
    if want('nonce'):
        seeds_nonce()
    if want('dns_answer'):
        seeds_dns_answer()


if __name__ == '__main__':
    main(sys.argv[1:])
