#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tokens a relying party must refuse, made by hand and signed ES256 with
the verifier's own key, so that each breaks one rule and nothing else.

usage: tokens.py KEY_JWK CLAIMS_JSON TOKEN OUT_DIR

KEY_JWK is the verifier's private JWK or key set (serve --token-key), CLAIMS_JSON the
claims of TOKEN, a real token it signed (for its kid). One file per case in
OUT_DIR, named as below; "good" is the real claims signed again, fresh.
"""
import base64
import json
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

MAX_TTL = 30 * 86400  # TPA_TOKEN_MAX_TTL_S
SKEW = 60             # TPA_TOKEN_CLOCK_SKEW_S
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def standard_b64(s):
    """s with base64's '+' and '/' for '-' and '_' (a first '+' if it has none)."""
    t = s.replace("-", "+").replace("_", "/")
    return t if t != s else "+" + s[1:]


def main():
    key, claims, token, out = sys.argv[1:5]
    jwk = json.load(open(key))
    base = json.load(open(claims))
    real = open(token).read().strip()
    kid = json.loads(b64d(real.split(".")[0]))["kid"]
    if "tpa_token_keys" in jwk:  # a key set: the key that signed TOKEN
        jwk = [k["jwk"] for k in jwk["keys"] if k["jwk"]["kid"] == kid][0]
    priv = ec.derive_private_key(int.from_bytes(b64d(jwk["d"]), "big"), ec.SECP256R1())
    hdr = {"alg": "ES256", "typ": "JWT", "kid": kid}
    now = int(time.time())

    def sign_text(h, p):
        der = priv.sign((h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return h + "." + p + "." + b64e(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def sign(header=None, **changes):
        c = json.loads(json.dumps(base))
        c["iat"], c["exp"] = now, now + 600
        for k, v in changes.items():
            if k == "status":
                c["submods"]["TPM_DEVICE"]["ear.status"] = v
            elif k == "reasons":
                c["submods"]["TPM_DEVICE"]["tpa.reasons"] = v
            elif v is None:
                del c[k]
            else:
                c[k] = v
        h = b64e(json.dumps(header or hdr, separators=(",", ":")).encode())
        return sign_text(h, b64e(json.dumps(c, separators=(",", ":")).encode()))

    good = sign()
    h, p, s = good.split(".")
    last = ALPHABET.index(s[-1])
    cases = {
        "good": good,
        "warning": sign(status="warning"),
        "contraindicated": sign(status="contraindicated"),
        # refusals whose reason has bytes a quoted-string cannot hold (the
        # kid is the client's), one longer than a 401's challenge says
        "quoted-reason": sign(status="contraindicated",
                              reasons=['said "no" \\ ' + "and more " * 40]),
        "quoted-kid": sign(header=dict(hdr, kid='a"b\\c')),
        "none": sign(status="none"),
        "crit": sign(header=dict(hdr, crit=["exp"])),
        "es384": sign(header=dict(hdr, alg="ES384")),
        "exp-before-iat": sign(iat=now, exp=now - 1),
        "exp-equals-iat": sign(iat=now - 10, exp=now - 10),
        "too-long": sign(iat=now - 10, exp=now - 10 + MAX_TTL + 1),
        "future": sign(iat=now + SKEW + 600, exp=now + SKEW + 1200),
        "no-iat": sign(iat=None),
        # the signature of a good token, encoded otherwise
        "padded": good + "==",
        "extra-char": good + "A",
        "unused-bits": good[:-1] + ALPHABET[last | 0x0F],
        "plus-slash": h + "." + p + "." + standard_b64(s),
        "four-segments": good + ".e30",
        "empty-payload": sign_text(h, ""),
    }
    for name, tok in cases.items():
        with open("%s/%s" % (out, name), "w") as f:
            f.write(tok + "\n")


if __name__ == "__main__":
    main()
