#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A relying party's access rule, as a policy engine would apply it.

usage: policy_engine.py [--verifier HOST:PORT (--ca FILE | --insecure)
                         [--server-name NAME] [--min-refetch S]]
                        JWKS_FILE TOKEN_FILE [NONCE_HEX]

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
Anything else is "deny: <why>" and exit 1 (2: usage, or no JWKS to be
had). Needs python3-jwt and python3-cryptography, and with --verifier
python3-grpcio (Debian packages).

The JWKS comes from the verifier (`verifier keys fetch`, the
GetVerificationKeys RPC); pin where you get it from, never follow a URL
from the token itself. Without --verifier, JWKS_FILE is used as it is.
With --verifier (the pinned address, with its CA), JWKS_FILE is a cache
of what that verifier publishes: fetched when it is missing or its
"tpa_refresh_after" time has passed, and again when a token names a kid
it does not hold (a key rotation: the verifier signs with a key published
since the cache was filled), at most once per --min-refetch seconds
(default 60; the file's mtime says when it was fetched), so that tokens
with made-up kids cannot make us hammer the verifier. Nothing in the
token (jku, x5u, kid as a URL) is ever fetched.
"""
import argparse
import base64
import datetime
import json
import os
import re
import sys
import time

import jwt

PROFILE = "tag:github.com,2023:veraison/ear"
MAX_TTL_S = 30 * 86400  # TPA_TOKEN_MAX_TTL_S: the longest lifetime a verifier signs
CLOCK_SKEW_S = 60       # TPA_TOKEN_CLOCK_SKEW_S: how far ahead iat may be
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SEGMENTS = ("header", "payload", "signature")
UNKNOWN_KID = "no key %r in the verifier's JWKS"


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
        return False, UNKNOWN_KID % (kid,)
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


JWKS_MAX = 1 << 20        # a JWKS larger than this is not one
FETCH_TIMEOUT_S = 10
MIN_REFETCH_S = 60


def pb_string(msg, field):
    """Field number field (a string) of a protobuf message, or ""."""
    i, out = 0, ""

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            if i >= len(msg) or shift > 63:
                raise ValueError("a truncated varint")
            b = msg[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
    while i < len(msg):
        key = varint()
        if key & 7 == 0:
            varint()
        elif key & 7 == 2:
            n = varint()
            if i + n > len(msg):
                raise ValueError("a field past the end")
            if key >> 3 == field:
                out = msg[i:i + n].decode("utf-8")
            i += n
        else:
            raise ValueError("wire type %d" % (key & 7))
    return out


def fetch_jwks(target, ca, server_name):
    """GetVerificationKeys from the pinned verifier: the JWKS text."""
    import grpc  # only a fetching policy engine needs it

    if ca is None:
        channel = grpc.insecure_channel(target)
    else:
        opts = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        with open(ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(target, creds, opts)
    with channel:
        call = channel.unary_unary("/attest.v1.Verifier/GetVerificationKeys")
        reply = call(b"", timeout=FETCH_TIMEOUT_S)
    if len(reply) > JWKS_MAX:
        raise ValueError("a reply of %d bytes" % len(reply))
    text = pb_string(reply, 1)
    jwks = json.loads(text)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWKS")
    return text


def refresh_due(jwks, now):
    """The JWKS says it should be fetched again by now."""
    when = jwks.get("tpa_refresh_after")
    if not isinstance(when, str):
        return False
    try:
        t = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return True  # unreadable: ask again
    return now >= t.replace(tzinfo=datetime.timezone.utc).timestamp()


class Cache:
    """JWKS_FILE as a cache of the pinned verifier's JWKS."""

    def __init__(self, path, target, ca, server_name, min_refetch):
        self.path, self.target, self.ca = path, target, ca
        self.server_name, self.min_refetch = server_name, min_refetch

    def load(self):
        with open(self.path) as f:
            return json.load(f)

    def fetch(self):
        text = fetch_jwks(self.target, self.ca, self.server_name)
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, self.path)  # atomic: another reader sees old or new
        return json.loads(text)

    def age(self, now):
        return now - os.stat(self.path).st_mtime


def main():
    ap = argparse.ArgumentParser(usage=__doc__.strip().splitlines()[2][len("usage: "):] + " ...")
    ap.add_argument("--verifier")
    ap.add_argument("--ca")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--server-name")
    ap.add_argument("--min-refetch", type=int, default=MIN_REFETCH_S)
    ap.add_argument("jwks")
    ap.add_argument("token")
    ap.add_argument("nonce", nargs="?")
    a = ap.parse_args()
    if a.verifier and (a.ca is None) == (not a.insecure) or a.min_refetch < 0:
        ap.error("--verifier needs --ca FILE or --insecure; --min-refetch is not negative")
    token = open(a.token).read()
    token = token[:-1] if token.endswith("\n") else token  # one newline ends a file
    now = time.time()
    cache = Cache(a.jwks, a.verifier, a.ca, a.server_name, a.min_refetch) if a.verifier else None
    try:
        jwks = None
        if cache and os.path.exists(a.jwks):
            jwks = cache.load()
            if refresh_due(jwks, now):
                try:
                    jwks = cache.fetch()
                except Exception as e:  # the keys cached are still the verifier's
                    print("policy_engine: JWKS not refreshed, using the cache: %s" % e,
                          file=sys.stderr)
        elif cache:
            jwks = cache.fetch()
        else:
            with open(a.jwks) as f:
                jwks = json.load(f)
        ok, why = decide(jwks, token, a.nonce)
        kid_unknown = not ok and why.startswith(UNKNOWN_KID.split("%")[0])
        if kid_unknown and cache:
            age = cache.age(now)
            if age < a.min_refetch:
                why += " (fetched %d s ago; at most once per %d s)" % (age, a.min_refetch)
            else:
                ok, why = decide(cache.fetch(), token, a.nonce)
                why += " (the JWKS fetched again from %s)" % a.verifier
    except (OSError, ValueError) as e:
        print("deny: no JWKS: %s" % e)
        return 2
    except Exception as e:  # grpc.RpcError: the verifier is unreachable or refused
        details = e.details() if hasattr(e, "details") else str(e)
        print("deny: no JWKS from %s: %s" % (a.verifier, details))
        return 2
    print(("grant: " if ok else "deny: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
