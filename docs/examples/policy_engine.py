#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A relying party's access rule, as a policy engine would apply it.

usage: policy_engine.py JWKS_FILE TOKEN_FILE [NONCE_HEX]

Grants access (exit 0, "grant") only for a token that
  - is three segments of canonical base64url (no padding, no other
    characters, zero unused bits: one text for one token),
  - has a header without crit, alg ES256 and the kid of a key of the
    verifier's JWKS, and verifies with that key,
  - has integer iat and exp, exp after iat, a lifetime of at most 30 days,
    iat at most 60 s in the future, and has not expired,
  - is an EAR of the Veraison profile,
  - carries NONCE_HEX as eat_nonce, if given: the relying party's own
    nonce, which the device gave GetChallenge (attest_client attest
    --rp-nonce HEX),
  - says ear.status "affirming" in every submodule, TPM_DEVICE among
    them, and
  - says Secure Boot is on.
Anything else is "deny: <why>" and exit 1. Needs python3-jwt and
python3-cryptography (Debian packages).

The JWKS comes from the verifier (`verifier keys fetch`, the
GetVerificationKeys RPC); pin where you get it from, never follow a URL
from the token itself.
"""
import base64
import json
import re
import sys
import time

import jwt

PROFILE = "tag:github.com,2023:veraison/ear"
MAX_TTL_S = 30 * 86400  # TPA_TOKEN_MAX_TTL_S: the longest lifetime a verifier signs
CLOCK_SKEW_S = 60       # TPA_TOKEN_CLOCK_SKEW_S: how far ahead iat may be
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SEGMENTS = ("header", "payload", "signature")


def canonical(seg):
    """seg is canonical base64url: Python's decoder takes many texts for one."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", seg) or len(seg) % 4 == 1:
        return False
    unused = {0: 0, 2: 0x0F, 3: 0x03}[len(seg) % 4]
    return ALPHABET.index(seg[-1]) & unused == 0


def strict_json(seg):
    """The JSON object a segment holds; a member given twice is refused."""
    def once(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("a member twice")
        return dict(pairs)
    v = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)),
                   object_pairs_hook=once)
    if not isinstance(v, dict):
        raise ValueError("not an object")
    return v


def check_times(claims, now):
    """Why iat and exp are not acceptable, or None."""
    iat, exp = claims.get("iat"), claims.get("exp")
    for name, v in (("iat", iat), ("exp", exp)):
        if type(v) is not int:  # bool is an int to Python; not here
            return "%s is missing or not an integer" % name
    if exp <= iat:
        return "exp is not after iat"
    if exp - iat > MAX_TTL_S:
        return "a lifetime of %d s, above the maximum of %d s" % (exp - iat, MAX_TTL_S)
    if iat - now > CLOCK_SKEW_S:
        return "issued %d s in the future" % (iat - now)
    if exp <= now:
        return "the token expired"
    return None


def decide(jwks, token, nonce_hex=None, now=None):
    now = int(time.time()) if now is None else now
    segs = token.split(".")
    if len(segs) != 3:
        return False, "not a compact JWS: %d segments, not 3" % len(segs)
    for name, seg in zip(SEGMENTS, segs):
        if not seg:
            return False, "the %s segment is empty" % name
        if not canonical(seg):
            return False, "the %s segment is not canonical base64url" % name
    try:
        header = strict_json(segs[0])
    except ValueError as e:
        return False, "the header is not a JSON object: %s" % e
    if "crit" in header:
        return False, "the header has crit: no critical extension is understood"
    if header.get("alg") != "ES256":
        return False, "algorithm %r, ES256 required" % (header.get("alg"),)
    if len(segs[2]) != 86:
        return False, "the signature is %d bytes, ES256 makes 64" % (len(segs[2]) * 3 // 4)
    kid = header.get("kid")
    keys = {k.get("kid"): k for k in jwks.get("keys", [])}
    if not isinstance(kid, str) or kid not in keys:
        return False, "no key %r in the verifier's JWKS" % (kid,)
    key = jwt.PyJWK(keys[kid]).key
    try:
        # The signature; the times are checked below, against now.
        jwt.decode(token, key=key, algorithms=["ES256"],
                   options={"verify_exp": False, "verify_iat": False})
        claims = strict_json(segs[1])
    except jwt.InvalidTokenError as e:
        return False, "the token does not verify: %s" % e
    except ValueError as e:
        return False, "the claims are not a JSON object: %s" % e
    why = check_times(claims, now)
    if why:
        return False, why
    if claims.get("eat_profile") != PROFILE:
        return False, "not an EAR of the expected profile"
    if nonce_hex is not None:
        want = base64.urlsafe_b64encode(bytes.fromhex(nonce_hex)).rstrip(b"=").decode()
        if claims.get("eat_nonce") != want:
            return False, "the token is for another nonce"
    submods = claims.get("submods")
    if not isinstance(submods, dict) or not isinstance(submods.get("TPM_DEVICE"), dict):
        return False, "no TPM_DEVICE submodule"
    for name, sub in submods.items():
        sub = sub if isinstance(sub, dict) else {}
        if sub.get("ear.status") != "affirming":
            reasons = sub.get("tpa.reasons")
            return False, "ear.status is %s%s: %s" % (
                sub.get("ear.status"), "" if name == "TPM_DEVICE" else " (submodule %s)" % name,
                "; ".join(map(str, reasons)) if isinstance(reasons, list) else "")
    sub = submods["TPM_DEVICE"]
    if sub.get("tpa.secure_boot") != "enabled":
        return False, "Secure Boot is %s" % sub.get("tpa.secure_boot")
    return True, "device %s" % claims.get("tpa.device_id", "?")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    jwks = json.load(open(sys.argv[1]))
    token = open(sys.argv[2]).read()
    token = token[:-1] if token.endswith("\n") else token  # one newline ends a file
    ok, why = decide(jwks, token, sys.argv[3] if len(sys.argv) == 4 else None)
    print(("grant: " if ok else "deny: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
