#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An RFC 8935 push receiver of CAEP device-compliance-change SETs, for the
tests: it checks what the verifier sends (lib/caep.c) with an independent
JWS implementation (PyJWT) and can misbehave on purpose.

    caep_receiver.py --port N (0: any; prints "listening PORT")
                     (--jwks FILE | --jwks-url URL [--jwks-ca PEM])
                     [--audience AUD]
                     [--issuer ISS] [--out FILE] [--bearer TOKEN]
                     [--tls-cert PEM --tls-key PEM]
                     [--mode ok|500|500-then-ok:N|hang|close|400]

ok: each SET is checked (POST, Content-Type application/secevent+jwt, the
JWS against the JWKS key its kid names, ES256, typ secevent+jwt, iss and
aud if given, exactly the device-compliance-change event, sub_id opaque);
a good one is answered 202 and appended to --out as one JSON line (a jti
seen before: 202, counted as a duplicate, not written again); a bad one
400 with RFC 8935 section 2.4's error JSON and a line on stderr. With
--bearer, a request without "Authorization: Bearer TOKEN" gets 401.
SIGTERM prints "received N duplicates D rejected R" on stderr and exits.
"""
import argparse
import http.server
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.request

import jwt

EVENT = "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change"
STATUSES = ("compliant", "not-compliant")
BODY_MAX = 64 * 1024


class Refused(Exception):
    def __init__(self, err, description):
        super().__init__(description)
        self.err = err
        self.description = description


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.requests = 0
        self.received = 0
        self.duplicates = 0
        self.rejected = 0
        self.seen = set()
        self.keys = load_jwks(args)


def load_jwks(args):
    if args.jwks:
        with open(args.jwks) as f:
            doc = json.load(f)
    else:
        ctx = ssl.create_default_context(cafile=args.jwks_ca)
        with urllib.request.urlopen(args.jwks_url, timeout=5, context=ctx) as r:
            doc = json.load(r)
    keys = {}
    for k in doc["keys"]:
        if k.get("kty") == "EC" and k.get("crv") == "P-256" and "kid" in k:
            keys[k["kid"]] = jwt.PyJWK(k, algorithm="ES256")
    return keys


def check_set(state, token):
    """The claims of a good SET, or Refused."""
    args = state.args
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Refused("invalid_request", "not a JWS: %s" % e)
    key = state.keys.get(header.get("kid"))
    if key is None:
        raise Refused("invalid_key", "no key with kid %r" % header.get("kid"))
    if header.get("typ") != "secevent+jwt":
        raise Refused("invalid_request", "typ is %r" % header.get("typ"))
    try:
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=args.audience,
                            issuer=args.issuer,
                            options={"require": ["iss", "iat", "jti"],
                                     "verify_aud": args.audience is not None})
    except jwt.InvalidAudienceError as e:
        raise Refused("invalid_audience", str(e))
    except jwt.InvalidIssuerError as e:
        raise Refused("invalid_issuer", str(e))
    except jwt.InvalidSignatureError as e:
        raise Refused("invalid_key", str(e))
    except jwt.PyJWTError as e:
        raise Refused("invalid_request", str(e))
    if "exp" in claims:
        raise Refused("invalid_request", "a SET with exp")
    events = claims.get("events")
    if not isinstance(events, dict) or list(events) != [EVENT]:
        raise Refused("invalid_request", "events is not exactly %s" % EVENT)
    ev = events[EVENT]
    if not isinstance(ev, dict) or ev.get("current_status") not in STATUSES:
        raise Refused("invalid_request", "current_status is not one of %s" % (STATUSES,))
    if "previous_status" in ev and ev["previous_status"] not in STATUSES:
        raise Refused("invalid_request", "previous_status is not one of %s" % (STATUSES,))
    sub = claims.get("sub_id")
    if not isinstance(sub, dict) or sub.get("format") != "opaque" or \
            not isinstance(sub.get("id"), str):
        raise Refused("invalid_request", "sub_id is not an opaque id")
    return claims


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, as a pusher expects

    def log_message(self, fmt, *a):
        pass

    def answer(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, code, err, description):
        with self.server.state.lock:
            self.server.state.rejected += 1
        print("caep_receiver: refused (%s): %s" % (err, description), file=sys.stderr,
              flush=True)
        self.answer(code, {"err": err, "description": description})

    def do_GET(self):
        self.refuse(405, "invalid_request", "a push is a POST")

    do_PUT = do_DELETE = do_GET

    def do_POST(self):
        state = self.server.state
        args = state.args
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > BODY_MAX:
            self.close_connection = True
            return self.refuse(413, "invalid_request", "a body of %d bytes" % n)
        body = self.rfile.read(n)
        with state.lock:
            state.requests += 1
            nreq = state.requests
        mode = args.mode
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode == "500" or (mode.startswith("500-then-ok:") and nreq <= int(mode[12:])):
            return self.answer(500, {"err": "server_error", "description": "try later"})
        if mode == "400":
            return self.refuse(400, "invalid_request", "this receiver refuses every SET")
        if args.bearer is not None and \
                self.headers.get("Authorization") != "Bearer " + args.bearer:
            return self.refuse(401, "authentication_failed", "no or a wrong bearer token")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/secevent+jwt":
            return self.refuse(400, "invalid_request", "Content-Type %r" % ctype)
        try:
            claims = check_set(state, body.decode("ascii").strip())
        except (Refused, UnicodeDecodeError) as e:
            if isinstance(e, Refused):
                return self.refuse(400, e.err, e.description)
            return self.refuse(400, "invalid_request", "a body that is not ASCII")
        ev = claims["events"][EVENT]
        with state.lock:
            if claims["jti"] in state.seen:
                state.duplicates += 1
            else:
                state.seen.add(claims["jti"])
                state.received += 1
                if args.out:
                    line = {"jti": claims["jti"], "sub": claims["sub_id"]["id"],
                            "current": ev["current_status"],
                            "previous": ev.get("previous_status"),
                            "event_timestamp": ev.get("event_timestamp"),
                            "received_at": round(time.time(), 6)}
                    with open(args.out, "a") as f:
                        f.write(json.dumps(line) + "\n")
        self.answer(202)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--jwks")
    src.add_argument("--jwks-url")
    ap.add_argument("--jwks-ca")
    ap.add_argument("--audience")
    ap.add_argument("--issuer")
    ap.add_argument("--out")
    ap.add_argument("--bearer")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--mode", default="ok")
    args = ap.parse_args()
    if args.mode not in ("ok", "500", "hang", "close", "400") and \
            not (args.mode.startswith("500-then-ok:") and args.mode[12:].isdigit()):
        ap.error("unknown --mode %s" % args.mode)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)

    def stop(_sig, _frame):
        st = srv.state
        print("received %d duplicates %d rejected %d" % (st.received, st.duplicates,
                                                          st.rejected),
              file=sys.stderr, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("listening %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
