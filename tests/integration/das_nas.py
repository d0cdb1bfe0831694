#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A NAS's Dynamic Authorization Server (RFC 5176) for tests, written from
the RFCs independently of lib/radius.c: it checks each request's Request
Authenticator (RFC 5176 section 2.3) and Message-Authenticator (RFC 3579,
RFC 5176 section 3.3) against the shared secret, writes one JSON line per
request to OUT, and answers as MODE says:
  ack      Disconnect-ACK / CoA-ACK
  nak      a NAK with Error-Cause 503 (Session-Context-Not-Found)
  silent   nothing (a NAS that is down)
A request that does not check is written with "valid": false and never
answered. The mode can be changed while running: the file MODEFILE, if
given and present, is read before each answer.
usage: das_nas.py SECRET PORTFILE OUT MODE [MODEFILE]"""
import hashlib
import signal
import hmac
import json
import socket
import struct
import sys
import time

secret = sys.argv[1].encode()
portfile, out, mode = sys.argv[2], sys.argv[3], sys.argv[4]
modefile = sys.argv[5] if len(sys.argv) > 5 else None

NAMES = {1: "User-Name", 31: "Calling-Station-Id", 32: "NAS-Identifier",
         44: "Acct-Session-Id", 55: "Event-Timestamp", 80: "Message-Authenticator"}


def attrs(p):
    a, i, n = [], 20, struct.unpack(">H", p[2:4])[0]
    while i < n:
        if i + 2 > n or p[i + 1] < 2 or i + p[i + 1] > n:
            raise ValueError("malformed attribute at %d" % i)
        a.append((p[i], p[i + 2:i + p[i + 1]], i))
        i += p[i + 1]
    return a


def check(p):
    if len(p) < 20 or struct.unpack(">H", p[2:4])[0] != len(p):
        return "length"
    a = attrs(p)
    ra = hashlib.md5(p[:4] + bytes(16) + p[20:] + secret).digest()
    if not hmac.compare_digest(ra, p[4:20]):
        return "request authenticator"
    ma = [x for x in a if x[0] == 80]
    if len(ma) != 1 or len(ma[0][1]) != 16:
        return "message-authenticator count"
    off = ma[0][2] + 2
    z = bytearray(p)
    z[4:20] = bytes(16)
    z[off:off + 16] = bytes(16)
    if not hmac.compare_digest(hmac.new(secret, bytes(z), hashlib.md5).digest(), ma[0][1]):
        return "message-authenticator"
    return None


def answer(req, code, cause=None):
    body = b""
    if cause is not None:
        body += bytes([101, 6]) + struct.pack(">I", cause)
    body += bytes([80, 18]) + bytes(16)
    p = bytearray(bytes([code, req[1]]) + struct.pack(">H", 20 + len(body)) + req[4:20] + body)
    p[-16:] = hmac.new(secret, bytes(p), hashlib.md5).digest()
    p[4:20] = hashlib.md5(bytes(p) + secret).digest()
    return bytes(p)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    req, peer = s.recvfrom(4096)
    now = time.time()
    why = None
    try:
        why = check(req)
        a = attrs(req)
    except ValueError as e:
        why, a = str(e), []
    rec = {"at": now, "code": req[0] if req else 0, "valid": why is None, "why": why}
    for t, v, _ in a:
        if t in (1, 31, 32, 44):
            rec[NAMES[t]] = v.decode("ascii", "replace")
        elif t == 55 and len(v) == 4:
            rec[NAMES[t]] = struct.unpack(">I", v)[0]
    m = mode
    if modefile:
        try:
            m = open(modefile).read().strip() or mode
        except OSError:
            pass
    rec["mode"] = m
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if why is not None or m == "silent" or req[0] not in (40, 43):
        continue
    if m == "nak":
        s.sendto(answer(req, req[0] + 2, 503), peer)
    else:
        s.sendto(answer(req, req[0] + 1), peer)
