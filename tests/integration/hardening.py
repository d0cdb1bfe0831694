#!/usr/bin/env python3
"""Socket-level and gRPC-level load on a verifier (test_hardening.sh).

usage: hardening.py COMMAND ARGS... ; prints "ok NAME" / "FAIL NAME" lines
  hold PORT N SRC SECONDS [DST]    open N idle TCP connections from address SRC
                                   to DST (default 127.0.0.1; an IPv6 one too),
                                   report how many the verifier kept open after
                                   1 s ("kept K"), hold them SECONDS, close
  idle PORT WITHIN_S               one connection that sends nothing: closed by
                                   the verifier within WITHIN_S seconds?
  burst TARGET CA PID N SIZE BOUND_MB  N worst-case AttestRequests of SIZE
                                   bytes from 8 threads; each must be refused
                                   RESOURCE_EXHAUSTED; the verifier's RSS after
                                   the burst within BOUND_MB of its RSS before
  notify SOCKET SECONDS            listen on a unix datagram socket, print each
                                   sd_notify message received for SECONDS
"""
import os
import socket
import sys
import threading
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hold(port, n, src, seconds, dst="127.0.0.1"):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
        s.bind((src, 0))
        try:
            s.connect((dst, port))
            socks.append(s)
        except OSError:
            s.close()
    time.sleep(1.0)
    kept = 0
    for s in socks:
        s.setblocking(False)
        try:
            d = s.recv(1)
            alive = False if d == b"" else True
        except BlockingIOError:
            alive = True
        except OSError:
            alive = False
        kept += alive
    print(f"kept {kept}", flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()


def idle(port, within):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    s.settimeout(within + 5)
    try:
        d = s.recv(1)
        closed = d == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    took = time.monotonic() - t0
    ok = closed and took <= within
    print(("ok" if ok else "FAIL") +
          f" a connection that sends nothing is closed by the verifier ({took:.1f} s, bound {within} s)")


def worst_case(size):
    # AttestRequest.pcr_banks (field 4) holding one PcrBank of empty
    # PcrValues (field 2): two bytes on the wire each, a struct and a
    # pointer each in the decoder.
    inner_len = size - 8
    inner = b"\x12\x00" * (inner_len // 2)
    ln = len(inner)
    varint = b""
    while True:
        b = ln & 0x7F
        ln >>= 7
        if ln:
            varint += bytes([b | 0x80])
        else:
            varint += bytes([b])
            break
    return b"\x22" + varint + inner


def burst(target, ca, pid, n, size, bound_mb):
    import grpc
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    body = worst_case(size)
    before = rss_kb(pid)
    codes = {}
    lock = threading.Lock()
    peak = [before]

    def run(k):
        ch = grpc.secure_channel(target, creds, options=[("grpc.max_send_message_length", 64 << 20)])
        call = ch.unary_unary("/attest.v1.Verifier/Attest", request_serializer=lambda b: b,
                              response_deserializer=lambda b: b)
        for _ in range(k):
            try:
                call(body, timeout=60)
                code = "OK"
            except grpc.RpcError as e:
                code = e.code().name
                if code != "RESOURCE_EXHAUSTED" or "to decode" not in (e.details() or ""):
                    code += ": " + (e.details() or "")
            with lock:
                codes[code] = codes.get(code, 0) + 1
                peak[0] = max(peak[0], rss_kb(pid))
        ch.close()

    threads = [threading.Thread(target=run, args=(n // 8,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    after = rss_kb(pid)
    print(f"rss before {before // 1024} MiB, peak {peak[0] // 1024} MiB, after {after // 1024} MiB "
          f"({n} requests of {size >> 10} KiB: {codes})")
    ok = codes.get("RESOURCE_EXHAUSTED", 0) == (n // 8) * 8
    print(("ok" if ok else "FAIL") + f" every worst-case request refused RESOURCE_EXHAUSTED before decoding")
    if bound_mb < 0:  # ASan's quarantine or valgrind hold freed memory: not judged
        return
    ok = after - before <= bound_mb * 1024
    print(("ok" if ok else "FAIL") +
          f" RSS after the burst within {bound_mb} MiB of before (+{(after - before) // 1024} MiB)")


def notify(path, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    print("listening", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            d = s.recv(4096)
            print("msg " + d.decode(errors="replace").replace("\n", " "), flush=True)
        except socket.timeout:
            pass
    s.close()


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "hold":
        hold(int(a[0]), int(a[1]), a[2], float(a[3]), *a[4:5])
    elif cmd == "idle":
        idle(int(a[0]), float(a[1]))
    elif cmd == "burst":
        burst(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif cmd == "notify":
        notify(a[0], float(a[1]))


if __name__ == "__main__":
    main()
