#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A relying party's access rule, as a policy engine would apply it.

usage: policy_engine.py JWKS_FILE TOKEN_FILE [NONCE_HEX]

Grants access (exit 0, "grant") only for a token that
  - verifies with a key of the verifier's JWKS (the kid names it; ES256 only),
  - has not expired,
  - is an EAR of the Veraison profile,
  - carries the nonce the relying party asked the device to use (if given),
  - says ear.status "affirming" for the TPM_DEVICE submodule, and
  - says Secure Boot is on.
Anything else is "deny: <why>" and exit 1. Needs python3-jwt and
python3-cryptography (Debian packages).

The JWKS comes from the verifier (`verifier keys fetch`, the
GetVerificationKeys RPC); pin where you get it from, never follow a URL
from the token itself.
"""
import base64
import json
import sys

import jwt

PROFILE = "tag:github.com,2023:veraison/ear"


def decide(jwks, token, nonce_hex=None):
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {k.get("kid"): k for k in jwks.get("keys", [])}
    if kid not in keys:
        return False, "no key %r in the verifier's JWKS" % kid
    key = jwt.PyJWK(keys[kid]).key
    try:
        claims = jwt.decode(token, key=key, algorithms=["ES256"],
                            options={"require": ["exp", "iat"]})
    except jwt.ExpiredSignatureError:
        return False, "the token expired"
    except jwt.InvalidTokenError as e:
        return False, "the token does not verify: %s" % e
    if claims.get("eat_profile") != PROFILE:
        return False, "not an EAR of the expected profile"
    if nonce_hex is not None:
        want = base64.urlsafe_b64encode(bytes.fromhex(nonce_hex)).rstrip(b"=").decode()
        if claims.get("eat_nonce") != want:
            return False, "the token is for another nonce"
    sub = claims.get("submods", {}).get("TPM_DEVICE", {})
    if sub.get("ear.status") != "affirming":
        return False, "ear.status is %s: %s" % (sub.get("ear.status"),
                                               "; ".join(sub.get("tpa.reasons", [])))
    if sub.get("tpa.secure_boot") != "enabled":
        return False, "Secure Boot is %s" % sub.get("tpa.secure_boot")
    return True, "device %s" % claims.get("tpa.device_id", "?")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    jwks = json.load(open(sys.argv[1]))
    token = open(sys.argv[2]).read().strip()
    ok, why = decide(jwks, token, sys.argv[3] if len(sys.argv) == 4 else None)
    print(("grant: " if ok else "deny: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
