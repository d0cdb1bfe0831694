#!/usr/bin/python3
"""The attack suite: evidence forged as an attacker would, from real TPM
commands (tpm2-tools on swtpm), sent over real gRPC (python3-grpcio) to a
running verifier; each must be refused with a named reason, and the token
of anything short of a genuine boot must be denied by the policy engine of
docs/examples/policy_engine.py.

usage: attacks.py CONFIG.json   (written by test_attacks.sh)
Prints 'ok NAME' or 'FAIL NAME: why' per check; exit 1 on any failure.
"""
import base64
import hashlib
import json
import os
import random
import sqlite3
import struct
import subprocess
import sys
import threading
import time

import grpc

cfg = json.load(open(sys.argv[1]))
sys.path.insert(0, cfg["gen_dir"])
sys.path.insert(0, os.path.join(cfg["root"], "docs", "examples"))
from attest.v1 import attest_pb2 as pb  # noqa: E402
import policy_engine  # noqa: E402

failures = 0
WORK = cfg["work"]
SHA1, SHA256 = 0x0004, 0x000B
EK_RSA, EK_ECC = "0x81010001", "0x81010016"
EK_RSA_CERT, EK_ECC_CERT = "0x01c00002", "0x01c00016"


def check(name, cond, why=""):
    global failures
    if cond:
        print("ok " + name, flush=True)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why), flush=True)
    return cond


# ---- the TPM, through tpm2-tools ----

class Tpm:
    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(WORK, name)
        self.tcti = subprocess.check_output([cfg["swtpm"], "tcti", self.dir], text=True).strip()
        self.n = 0

    def run(self, *args, ok=True):
        env = dict(os.environ, TPM2TOOLS_TCTI=self.tcti)
        p = subprocess.run(list(args), env=env, capture_output=True, text=True)
        if ok and p.returncode != 0:
            raise RuntimeError("%s on %s: %s" % (args[0], self.name, p.stderr.strip()[-400:]))
        return p

    def tmp(self, what):
        self.n += 1
        return os.path.join(self.dir, "%s.%d" % (what, self.n))

    def flush(self):
        self.run("tpm2_flushcontext", "-t", ok=False)
        self.run("tpm2_flushcontext", "-s", ok=False)

    def reboot(self, scenario):
        """A fresh boot: swtpm restarted (PCRs reset, persistent keys kept)
        and the scenario measured by tpa-bootsim; returns its log."""
        subprocess.check_call([cfg["swtpm"], "stop", self.dir])
        subprocess.check_call([cfg["swtpm"], "start", self.dir], stdout=subprocess.DEVNULL)
        log = os.path.join(self.dir, "boot.log")
        subprocess.check_call([cfg["bootsim"], "--scenario",
                               os.path.join(cfg["scenarios"], scenario + ".json"),
                               "--log", log, "--tcti", self.tcti], stdout=subprocess.DEVNULL)
        return open(log, "rb").read()

    def boot_log(self, log):
        """A fresh boot that measured exactly this log's sha256 digests."""
        subprocess.check_call([cfg["swtpm"], "stop", self.dir])
        subprocess.check_call([cfg["swtpm"], "start", self.dir], stdout=subprocess.DEVNULL)
        _, _, evs = parse_log(log)
        for pcr, typ, dg, data in evs:
            if typ != 3:  # EV_NO_ACTION is not extended
                self.extend(pcr, "sha256", dg[SHA256])

    def public(self, handle):
        f = self.tmp("pub")
        self.run("tpm2_readpublic", "-c", handle, "-o", f)
        self.flush()
        return open(f, "rb").read()[2:]  # TPM2B_PUBLIC -> TPMT_PUBLIC

    def nv(self, index):
        f = self.tmp("nv")
        self.run("tpm2_nvread", index, "-o", f)
        return open(f, "rb").read()

    def make_ak(self, handle, ek=EK_RSA):
        """A restricted signing key under the EK, made by tpm2_createak."""
        self.run("tpm2_evictcontrol", "-c", handle, ok=False)
        ctx = self.tmp("ak.ctx")
        self.run("tpm2_createak", "-C", ek, "-c", ctx, "-G", "ecc", "-g", "sha256",
                 "-s", "ecdsa", "-u", self.tmp("ak.pub"), "-n", self.tmp("ak.name"))
        self.run("tpm2_evictcontrol", "-c", ctx, handle)
        self.flush()
        return self.public(handle)

    def make_unrestricted(self, handle):
        """A signing key with no 'restricted' attribute: it signs any digest."""
        self.run("tpm2_evictcontrol", "-c", handle, ok=False)
        ctx = self.tmp("u.ctx")
        self.run("tpm2_createprimary", "-C", "o", "-G", "ecc256:ecdsa-sha256", "-g", "sha256",
                 "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-c", ctx)
        self.run("tpm2_evictcontrol", "-c", ctx, handle)
        self.flush()
        return self.public(handle)

    def make_key(self, handle, attrs="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign",
                 alg="ecc256:ecdsa-sha256"):
        """A primary key of the owner hierarchy with these attributes."""
        self.run("tpm2_evictcontrol", "-c", handle, ok=False)
        ctx = self.tmp("k.ctx")
        self.run("tpm2_createprimary", "-C", "o", "-G", alg, "-g", "sha256", "-a", attrs, "-c", ctx)
        self.run("tpm2_evictcontrol", "-c", ctx, handle)
        self.flush()
        return self.public(handle)

    def certify(self, key, ak, nonce):
        """TPM2_Certify of key by ak for nonce, through python3-tpm2-pytss
        (tpm2-tools 5.4's tpm2_certify takes no qualifying data):
        (TPMS_ATTEST, TPMT_SIGNATURE), marshaled."""
        from tpm2_pytss import ESAPI, TCTILdr
        from tpm2_pytss.types import TPMT_SIG_SCHEME
        from tpm2_pytss.constants import TPM2_ALG
        name, _, conf = self.tcti.partition(":")
        with TCTILdr(name, conf) as tcti, ESAPI(tcti) as e:
            k = e.tr_from_tpmpublic(int(key, 16))
            a = e.tr_from_tpmpublic(int(ak, 16))
            info, sig = e.certify(k, a, nonce, TPMT_SIG_SCHEME(scheme=TPM2_ALG.NULL))
            return bytes(info.attestationData)[:info.size], sig.marshal()

    def quote(self, ak, sel, nonce):
        msg, sig = self.tmp("quote.msg"), self.tmp("quote.sig")
        self.run("tpm2_quote", "-c", ak, "-l", sel, "-q", nonce.hex(), "-m", msg, "-s", sig,
                 "-g", "sha256")
        self.flush()
        return open(msg, "rb").read(), open(sig, "rb").read()

    def sign(self, key, data):
        """TPM2_Sign of SHA-256(data), no ticket: only an unrestricted key does it."""
        d, sig = self.tmp("msg"), self.tmp("sig")
        open(d, "wb").write(data)
        self.run("tpm2_sign", "-c", key, "-g", "sha256", "-s", "ecdsa", "-o", sig, d)
        self.flush()
        return open(sig, "rb").read()

    def pcrs(self, sel):
        """{alg: {index: digest}} as tpm2_pcrread prints it."""
        out = self.run("tpm2_pcrread", sel).stdout
        banks, cur = {}, None
        for line in out.splitlines():
            s = line.strip()
            if s.endswith(":") and s[:-1] in ("sha1", "sha256", "sha384"):
                cur = {"sha1": SHA1, "sha256": SHA256, "sha384": 0x0C}[s[:-1]]
                banks[cur] = {}
            elif ": 0x" in s and cur is not None:
                i, v = s.split(": 0x")
                banks[cur][int(i)] = bytes.fromhex(v)
        return banks

    def extend(self, pcr, alg, digest):
        self.run("tpm2_pcrextend", "%d:%s=%s" % (pcr, alg, digest.hex()))

    def activate(self, ak, ek, blob, secret):
        """TPM2_ActivateCredential; the credential, or None if the TPM refuses."""
        cred, out = self.tmp("cred"), self.tmp("cred.out")
        # tpm2-tools' credential file: magic, version, TPM2B_ID_OBJECT,
        # TPM2B_ENCRYPTED_SECRET (what the verifier sent, as is).
        open(cred, "wb").write(struct.pack(">II", 0xBADCC0DE, 1) + blob + secret)
        if ek == EK_RSA:
            # The L-1 EK has no userWithAuth: PolicySecret(endorsement).
            s = self.tmp("session")
            self.run("tpm2_startauthsession", "--policy-session", "-S", s)
            self.run("tpm2_policysecret", "-S", s, "-c", "e")
            p = self.run("tpm2_activatecredential", "-c", ak, "-C", ek, "-i", cred, "-o", out,
                         "-P", "session:" + s, ok=False)
        else:
            p = self.run("tpm2_activatecredential", "-c", ak, "-C", ek, "-i", cred, "-o", out,
                         ok=False)
        self.flush()
        return open(out, "rb").read() if p.returncode == 0 else None


# ---- the verifier, over gRPC ----

with open(cfg["ca"], "rb") as f:
    creds = grpc.ssl_channel_credentials(root_certificates=f.read())
channels = {}


def stub(target, method):
    if target not in channels:
        channels[target] = grpc.secure_channel(target, creds)
    return channels[target].unary_unary("/attest.v1.Verifier/" + method,
                                        request_serializer=lambda b: b,
                                        response_deserializer=lambda b: b)


RESP = {"GetChallenge": pb.GetChallengeResponse, "Attest": pb.AttestResponse,
        "Enroll": pb.EnrollResponse, "Activate": pb.ActivateResponse,
        "GetVerificationKeys": pb.GetVerificationKeysResponse}


def call(method, msg, target=None):
    """(code, response message or None, details)."""
    try:
        body = stub(target or cfg["target"], method)(msg.SerializeToString(), timeout=30)
        return grpc.StatusCode.OK, RESP[method].FromString(body), ""
    except grpc.RpcError as e:
        return e.code(), None, e.details() or ""


def challenge(target=None):
    code, ch, det = call("GetChallenge", pb.GetChallengeRequest(device_hint="attacks"), target)
    if code != grpc.StatusCode.OK:
        raise RuntimeError("GetChallenge: %s %s" % (code, det))
    return ch


JWKS = {}


def jwks(target):
    if target not in JWKS:
        code, r, det = call("GetVerificationKeys", pb.GetVerificationKeysRequest(), target)
        JWKS[target] = json.loads(r.jwks)
    return JWKS[target]


def enroll(tpm, ak_handle, ak_pub, ek=EK_RSA, ek_public=None, replace=False, target=None):
    """Enroll + ActivateCredential + Activate: (code, ActivateResponse, details)."""
    cert = tpm.nv(EK_RSA_CERT if ek == EK_RSA else EK_ECC_CERT)
    ekp = ek_public if ek_public is not None else tpm.public(ek)
    code, e, det = call("Enroll", pb.EnrollRequest(ek_public=ekp, ek_certificate=cert,
                                                   ak_public=ak_pub, replace_aks=replace), target)
    if code != grpc.StatusCode.OK:
        return code, None, det
    secret = tpm.activate(ak_handle, ek, e.credential_blob, e.encrypted_secret)
    if secret is None:
        return "TPM", None, "TPM2_ActivateCredential refused"
    return call("Activate", pb.ActivateRequest(enrollment_id=e.enrollment_id, credential=secret,
                                               ek_public=ekp, ek_certificate=cert,
                                               ak_public=ak_pub), target)


def banks_msg(banks):
    return [pb.PcrBank(hash_alg=alg, pcrs=[pb.PcrValue(index=i, digest=d)
                                           for i, d in sorted(v.items())])
            for alg, v in sorted(banks.items())]


def evidence(tpm, ak, ak_pub, sel, log, ch=None, nonce=None):
    """A genuine quote of sel for the challenge (or another nonce), the PCR
    values it covers, and a log: the AttestRequest and the challenge."""
    ch = ch or challenge()
    attest, sig = tpm.quote(ak, sel, nonce if nonce is not None else ch.nonce)
    req = pb.AttestRequest(challenge_id=ch.challenge_id,
                           quote=pb.Quote(attest=attest, signature=sig), ak_public=ak_pub,
                           pcr_banks=banks_msg(tpm.pcrs(sel)), event_log=log,
                           device_hint="attacks")
    return req, ch


class Verdict:
    def __init__(self, code, resp, det, target):
        self.code, self.resp, self.det, self.target = code, resp, det, target
        v = resp.verdict if resp else None
        self.status = pb.Verdict.Status.Name(v.status) if v else str(code)
        self.failed = {c.name: c.detail for c in v.checks if not c.passed} if v else {}
        self.rules = {r.rule: (r.status, r.detail) for r in v.appraisal.rules} if v else {}
        self.outcome = v.appraisal.outcome if v else ""
        self.launch = v.trusted_launch if v else None
        self.token = resp.token if resp else ""

    def claims(self):
        if not self.token:
            return {}
        p = self.token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))

    def granted(self):
        if not self.token:
            return False
        return policy_engine.decide(jwks(self.target), self.token)[0]

    def fact(self, name):
        for f in (self.launch.facts if self.launch else []):
            if f.name == name:
                return f.status
        return None

    def why(self):
        return "%s %s failed=%s rules=%s" % (self.status, self.det, self.failed,
                                             {k: v for k, v in self.rules.items()
                                              if v[0] != "pass"})


def attest(req, target=None):
    target = target or cfg["target"]
    code, r, det = call("Attest", req, target)
    return Verdict(code, r, det, target)


def _named(name, ok, v):
    return check(name, ok, v.why())


# ---- the registry, read only ----

def record(device):
    c = sqlite3.connect("file:%s?mode=ro" % cfg["registry"], uri=True, timeout=10)
    try:
        row = c.execute("SELECT last_verdict, last_token, last_attest_at, state FROM devices "
                        "WHERE id = ?", (device,)).fetchone()
        n = c.execute("SELECT count(*) FROM audit WHERE device_id = ?", (device,)).fetchone()[0]
        return row, n
    finally:
        c.close()


def verifier(*args):
    return subprocess.run([cfg["verifier"]] + list(args), capture_output=True, text=True)


# ---- event logs, as an attacker edits them ----

DSIZE = {SHA1: 20, SHA256: 32, 0x0C: 48, 0x0D: 64}


def parse_log(b):
    """(header bytes, algs [(id, size)], events [(pcr, type, {alg: digest}, data)])
    of a crypto-agile log."""
    pcr, typ = struct.unpack_from("<II", b, 0)
    size = struct.unpack_from("<I", b, 28)[0]
    data = b[32:32 + size]
    n = struct.unpack_from("<I", data, 24)[0]
    algs = [struct.unpack_from("<HH", data, 28 + 4 * i) for i in range(n)]
    off, evs = 32 + size, []
    while off < len(b):
        pcr, typ, cnt = struct.unpack_from("<III", b, off)
        off += 12
        dg = {}
        for _ in range(cnt):
            alg = struct.unpack_from("<H", b, off)[0]
            dg[alg] = b[off + 2:off + 2 + DSIZE[alg]]
            off += 2 + DSIZE[alg]
        size = struct.unpack_from("<I", b, off)[0]
        evs.append((pcr, typ, dg, b[off + 4:off + 4 + size]))
        off += 4 + size
    return b[:32 + len(data)], algs, evs


def write_log(header, evs):
    out = bytearray(header)
    for pcr, typ, dg, data in evs:
        out += struct.pack("<III", pcr, typ, len(dg))
        for alg, d in dg.items():
            out += struct.pack("<H", alg) + d
        out += struct.pack("<I", len(data)) + data
    return bytes(out)


def without_pcrs(log, pcrs):
    h, _, evs = parse_log(log)
    return write_log(h, [e for e in evs if e[0] not in pcrs])


def two_bank(log):
    """The sha256 log with a sha1 bank declared and filled (SHA-1 of each
    event's data: whatever the attacker extends into the unused bank)."""
    h, algs, evs = parse_log(log)
    spec = bytearray(h[32:])
    n = struct.unpack_from("<I", spec, 24)[0]
    tail = spec[28 + 4 * n:]
    spec = spec[:24] + struct.pack("<IHHHH", 2, SHA1, 20, SHA256, 32) + tail
    header = h[:28] + struct.pack("<I", len(spec)) + bytes(spec)
    evs2 = [(p, t, {SHA1: hashlib.sha1(d).digest(), SHA256: dg[SHA256]}, d)
            for p, t, dg, d in evs]
    return write_log(header, evs2), evs2


def extend_sim(evs, alg, pcrs):
    """The values the events give these PCRs of one bank."""
    h = {SHA1: hashlib.sha1, SHA256: hashlib.sha256}[alg]
    v = {i: b"\0" * DSIZE[alg] for i in pcrs}
    for p, t, dg, d in evs:
        if p in v and t != 3:  # EV_NO_ACTION is not extended
            v[p] = h(v[p] + dg[alg]).digest()
    return v


# ==== the attacks ====

A, B, C, D = (Tpm(n) for n in ("tpm-a", "tpm-b", "tpm-c", "tpm-d"))
SEL = "sha256:0,1,2,3,4,5,6,7,8,9"
AK = "0x81000002"
good = A.reboot("good")

print("-- genuine evidence from tpm2-tools", flush=True)
ak_a = A.make_ak(AK)
code, act, det = enroll(A, AK, ak_a)
check("a tpm2-tools AK (tpm2_createak, tpm2_activatecredential) enrolls", code ==
      grpc.StatusCode.OK, "%s %s" % (code, det))
DEV_A = act.device_id if act else ""
req, ch = evidence(A, AK, ak_a, SEL, good)
v = attest(req)
check("... and its tpm2_quote of a good boot is COMPLIANT", v.status == "COMPLIANT", v.why())
check("... with a token the policy engine grants", v.granted(), v.why())
check("... naming the device", v.claims().get("tpa.device_id") == DEV_A, repr(v.claims()))
check("... Secure Boot enabled, from quoted PCR 7", v.launch.secure_boot == "enabled" and
      v.fact("secure_boot") == "verified", repr(v.launch))
GOOD_REQ = req

print("-- replays and races", flush=True)
v = attest(GOOD_REQ)
_named("the same quote again: refused by name, the challenge is used",
       v.code == grpc.StatusCode.FAILED_PRECONDITION and "already used" in v.det, v)
old = GOOD_REQ.quote
req, ch = evidence(A, AK, ak_a, SEL, good)
req.quote.CopyFrom(old)
v = attest(req)
_named("an old quote with a new challenge: quote.nonce fails", v.status != "COMPLIANT" and
       "quote.nonce" in v.failed and not v.granted(), v)
req, ch = evidence(A, AK, ak_a, SEL, good, nonce=os.urandom(32))
v = attest(req)
_named("a quote of another nonce: quote.nonce fails", "quote.nonce" in v.failed and
       v.status != "COMPLIANT" and not v.granted(), v)
races_ok = True
for _ in range(10):
    req, ch = evidence(A, AK, ak_a, SEL, good)
    res = [None, None]
    bar = threading.Barrier(2)

    def go(i):
        bar.wait()
        res[i] = attest(req)
    ts = [threading.Thread(target=go, args=(i,)) for i in (0, 1)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    won = [r for r in res if r.status == "COMPLIANT"]
    lost = [r for r in res if r.code == grpc.StatusCode.FAILED_PRECONDITION]
    races_ok = races_ok and len(won) == 1 and len(lost) == 1
check("a challenge raced by two Attest calls (10 times): exactly one verdict each time",
      races_ok, repr([r.why() for r in res]))

print("-- a relying party's nonce", flush=True)
RPN = os.urandom(16)


def rp_challenge(n):
    return call("GetChallenge", pb.GetChallengeRequest(device_hint="attacks", relying_party_nonce=n))


code, ch, det = rp_challenge(RPN)
check("GetChallenge takes a relying party's nonce", code == grpc.StatusCode.OK and len(ch.nonce) == 32,
      "%s %s" % (code, det))
req, _ = evidence(A, AK, ak_a, SEL, good, ch=ch)
req.relying_party_nonce = RPN
v = attest(req)
check("... a quote of what it answered, with the nonce sent again: COMPLIANT", v.status == "COMPLIANT",
      v.why())
b64 = base64.urlsafe_b64encode(RPN).rstrip(b"=").decode()
check("... and the token's eat_nonce is the relying party's", v.claims().get("eat_nonce") == b64,
      repr(v.claims().get("eat_nonce")))
code, ch, det = rp_challenge(RPN)
req, _ = evidence(A, AK, ak_a, SEL, good, ch=ch)
req.relying_party_nonce = os.urandom(16)
v = attest(req)
_named("another relying-party nonce at Attest than at GetChallenge: quote.nonce fails",
       "quote.nonce" in v.failed and v.status != "COMPLIANT" and not v.granted(), v)
code, ch, det = rp_challenge(RPN)
req, _ = evidence(A, AK, ak_a, SEL, good, ch=ch)
v = attest(req)
_named("the relying-party nonce left out at Attest: quote.nonce fails",
       "quote.nonce" in v.failed and v.status != "COMPLIANT", v)
req, ch = evidence(A, AK, ak_a, SEL, good)
req.relying_party_nonce = RPN
v = attest(req)
_named("a nonce claimed at Attest that GetChallenge never bound: quote.nonce fails, no eat_nonce of it",
       "quote.nonce" in v.failed and v.status != "COMPLIANT" and v.claims().get("eat_nonce") != b64, v)
for n in (7, 65):
    code, ch, det = rp_challenge(os.urandom(n))
    check("a relying-party nonce of %d bytes: INVALID_ARGUMENT" % n,
          code == grpc.StatusCode.INVALID_ARGUMENT and "relying_party_nonce" in det, "%s %s" % (code, det))

print("-- key binding (cnf)", flush=True)
KEY = "0x81000010"
key_a = A.make_key(KEY)


def bound(tpm, key, key_pub, signer, nonce_of=None, attest_of=None):
    req, ch = evidence(A, AK, ak_a, SEL, good)
    info, sig = tpm.certify(key, signer, nonce_of if nonce_of is not None else ch.nonce)
    req.bound_key.CopyFrom(pb.BoundKey(public=key_pub, certify_info=attest_of or info,
                                       signature=sig))
    return attest(req)


v = bound(A, KEY, key_a, AK)
jwk = v.claims().get("cnf", {}).get("jwk", {})
check("a key tpm2_certify'd by the AK for the challenge: COMPLIANT, cnf.jwk names it",
      v.status == "COMPLIANT" and jwk.get("crv") == "P-256", v.why())
v = bound(A, KEY, key_a, AK, nonce_of=os.urandom(32))
_named("a certify for another nonce (a stale binding): key.binding fails, no cnf",
       "key.binding" in v.failed and "stale" in v.failed["key.binding"] and
       v.status != "COMPLIANT" and "cnf" not in v.claims(), v)
AK_B = "0x81000003"
ak_b2 = A.make_ak(AK_B)
v = bound(A, KEY, key_a, AK_B)
_named("a certify signed by another AK of the same TPM: key.binding fails",
       "key.binding" in v.failed and "not the AK" in v.failed["key.binding"] and
       "cnf" not in v.claims(), v)
dup = A.make_key("0x81000011", attrs="sensitivedataorigin|userwithauth|sign")
v = bound(A, "0x81000011", dup, AK)
_named("a duplicable key (no fixedTPM): key.binding fails by name",
       "key.binding" in v.failed and "fixedTPM" in v.failed["key.binding"], v)
dec = A.make_key("0x81000012", attrs="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt",
                 alg="ecc256:ecdh")
v = bound(A, "0x81000012", dec, AK)
_named("a decryption key: key.binding fails (it lacks sign)",
       "key.binding" in v.failed and "lacks sign" in v.failed["key.binding"], v)
v = bound(A, AK_B, ak_b2, AK)
_named("a restricted key (another AK) as the bound key: key.binding fails",
       "key.binding" in v.failed and "restricted" in v.failed["key.binding"], v)
other = A.make_key("0x81000014", alg="ecc256:ecdsa-sha384")  # primaries of one template are one key
v = bound(A, KEY, other, AK)
_named("the certify of one key sent with another key's public area: key.binding fails",
       "key.binding" in v.failed and "another key" in v.failed["key.binding"], v)
req, ch = evidence(A, AK, ak_a, SEL, good)
info, sig = A.certify(KEY, AK, ch.nonce)
req.bound_key.CopyFrom(pb.BoundKey(public=key_a, certify_info=req.quote.attest,
                                   signature=req.quote.signature))
v = attest(req)
_named("the quote itself sent as the certify: key.binding fails on its type",
       "key.binding" in v.failed and "TPM_ST_ATTEST_CERTIFY" in v.failed["key.binding"], v)
rsa = A.make_key("0x81000013", alg="rsa2048:rsassa-sha256")
v = bound(A, "0x81000013", rsa, AK)
_named("an RSA key: key.binding fails (P-256 only)",
       "key.binding" in v.failed and "P-256" in v.failed["key.binding"], v)
A.run("tpm2_evictcontrol", "-c", AK_B, ok=False)
for h in ("0x81000011", "0x81000012", "0x81000013", "0x81000014"):
    A.run("tpm2_evictcontrol", "-c", h, ok=False)

print("-- evidence edited after the quote", flush=True)
req, ch = evidence(A, AK, ak_a, SEL, good)
req.pcr_banks[0].pcrs[7].digest = bytes(32)
v = attest(req)
_named("a PCR value edited after the quote: quote.pcr_digest fails",
       "quote.pcr_digest" in v.failed and not v.granted(), v)
req, ch = evidence(A, AK, ak_a, SEL, good)
b = bytearray(req.quote.attest)
b[-1] ^= 1
req.quote.attest = bytes(b)
v = attest(req)
_named("a quote edited after signing: quote.signature fails",
       "quote.signature" in v.failed and not v.granted(), v)
h, _, evs = parse_log(good)
edited = [e for e in evs]
i = next(k for k, e in enumerate(edited) if e[0] == 8 and b"ro quiet" in e[3])
p, t, dg, d = edited[i]
edited[i] = (p, t, dg, d.replace(b"ro quiet", b"ro debug"))
req, ch = evidence(A, AK, ak_a, SEL, write_log(h, edited))
v = attest(req)
_named("an edited log (command line text): eventlog.digests fails",
       "eventlog.digests" in v.failed and v.outcome == "not-appraised" and not v.granted(), v)
edited[i] = (p, t, {SHA256: hashlib.sha256(b"ro debug").digest()}, d)
req, ch = evidence(A, AK, ak_a, SEL, write_log(h, edited))
v = attest(req)
_named("an edited log (a digest): eventlog.replay fails",
       "eventlog.replay" in v.failed and not v.granted(), v)
i = next(k for k, e in enumerate(evs) if e[1] == 8)  # EV_S_CRTM_VERSION
p, t, dg, d = evs[i]
fw = [e for e in evs]
fw[i] = (p, t, dg, "EDK II 2099.01 (certified)".encode("utf-16-le") + b"\0\0")
req, ch = evidence(A, AK, ak_a, SEL, write_log(h, fw))
v = attest(req)
sub = v.claims().get("submods", {}).get("TPM_DEVICE", {})
check("an S-CRTM version text edited over its digest: neither the state nor the token "
      "carries it", "2099" not in v.launch.firmware_version and
      "tpa.firmware_version" not in sub, "%r %r" % (v.launch.firmware_version, sub))
req, ch = evidence(A, AK, ak_a, SEL, good[:-9])
v = attest(req)
_named("a truncated log: eventlog.parse fails", "eventlog.parse" in v.failed and
       not v.granted(), v)
req, ch = evidence(A, AK, ak_a, SEL, write_log(h, evs[:-3]))
v = attest(req)
_named("a log short of its last events: eventlog.replay fails",
       "eventlog.replay" in v.failed and not v.granted(), v)
req, ch = evidence(A, AK, ak_a, SEL, good)
A.extend(9, "sha256", hashlib.sha256(b"after the quote").digest())
req.ClearField("pcr_banks")
req.pcr_banks.extend(banks_msg(A.pcrs(SEL)))
v = attest(req)
_named("an extend after the quote, its values sent: quote.pcr_digest fails",
       "quote.pcr_digest" in v.failed and not v.granted(), v)
req, ch = evidence(A, AK, ak_a, SEL, good)
v = attest(req)
_named("... the next quote does not replay from the log: eventlog.replay fails",
       "eventlog.replay" in v.failed and "PCR 9" in v.failed["eventlog.replay"] and
       not v.granted(), v)

print("-- PCRs left out of the quote", flush=True)
A.reboot("sb-off")
req, ch = evidence(A, AK, ak_a, "sha256:0,1,2,3,4,5,6,8,9", good)
v = attest(req)
_named("Secure Boot off, PCR 7 left out, a Secure-Boot-on log: required-pcrs fails",
       v.status != "COMPLIANT" and v.rules.get("required-pcrs", ("",))[0] == "fail" and
       "7" in v.rules["required-pcrs"][1] and not v.granted(), v)
check("... secure_boot is unverified, not enabled", v.launch.secure_boot == "unverified" and
      v.fact("secure_boot") == "unverified", repr(v.launch.secure_boot))
check("... and the token says so", v.claims().get("submods", {}).get("TPM_DEVICE", {})
      .get("tpa.secure_boot") == "unverified", repr(v.claims()))
req, ch = evidence(A, AK, ak_a, SEL, good)
v = attest(req)
_named("Secure Boot off, quoted, with the Secure-Boot-on log: eventlog.replay fails (PCR 7)",
       "eventlog.replay" in v.failed and "PCR 7" in v.failed["eventlog.replay"] and
       not v.granted(), v)
sboff = A.reboot("sb-off")
req, ch = evidence(A, AK, ak_a, SEL, sboff)
v = attest(req)
_named("Secure Boot off, honestly: the secure-boot rule fails",
       v.rules.get("secure-boot", ("",))[0] == "fail" and v.launch.secure_boot == "disabled" and
       not v.granted(), v)
tampered = A.reboot("tampered-bootloader")
req, ch = evidence(A, AK, ak_a, "sha256:0,1,2,3,5,6,7,8,9", good)
v = attest(req)
_named("a tampered boot loader, PCR 4 left out, the good log: required-pcrs fails",
       v.rules.get("required-pcrs", ("",))[0] == "fail" and "4" in v.rules["required-pcrs"][1]
       and not v.granted(), v)
check("... and the boot-applications rule fails, not passes, on unquoted evidence",
      v.rules.get("boot-applications", ("",))[0] == "fail", v.why())
A.reboot("good")
req, ch = evidence(A, AK, ak_a, "sha256:0", good)
v = attest(req)
_named("a quote of PCR 0 alone, the good log: required-pcrs fails",
       v.rules.get("required-pcrs", ("",))[0] == "fail" and not v.granted(), v)
check("... every fact from PCRs 1-9 unverified", v.fact("secure_boot") == "unverified" and
      v.fact("boot_applications") == "unverified", repr(v.launch.facts))
req, ch = evidence(A, AK, ak_a, "sha256:23", good)
v = attest(req)
_named("a quote of PCR 23 alone with the golden log: refused",
       v.status != "COMPLIANT" and not v.granted() and
       (v.rules.get("required-pcrs", ("",))[0] == "fail" or v.outcome == "not-appraised"), v)
check("... nothing of the log counts: every fact unverified, no measured boot",
      v.launch.secure_boot == "unverified" and list(v.launch.verified_pcrs) == [23] and
      not v.launch.measured_boot and
      all(f.status != "verified" for f in v.launch.facts), repr(v.launch))

print("-- events deleted from the log", flush=True)
for scen, pcrs, rule in (("tampered-bootloader", (4,), "boot-applications"),
                         ("debug-cmdline", (8,), "kernel-cmdline"),
                         ("unexpected-kernel", (4, 8, 9), "boot-applications")):
    log = A.reboot(scen)
    req, ch = evidence(A, AK, ak_a, SEL, without_pcrs(log, pcrs))
    v = attest(req)
    _named("%s with every PCR %s event deleted: eventlog.replay fails" %
           (scen, ",".join(map(str, pcrs))),
           "eventlog.replay" in v.failed and "reset value" in v.failed["eventlog.replay"] and
           not v.granted(), v)
    req, ch = evidence(A, AK, ak_a, SEL, log)
    v = attest(req)
    _named("... its whole log: the %s rule fails" % rule,
           v.rules.get(rule, ("",))[0] == "fail" and not v.granted(), v)

print("-- systemd-stub: a real Fedora 37 systemd-boot log, measured into swtpm", flush=True)
SD = cfg["target_sd"]
sd = open(cfg["sd_log"], "rb").read()
SEL12 = SEL + ",12"


def stub_log(log, text):
    """The log with its PCR 12 (systemd-stub command line) events carrying
    text, as UTF-16 with its NUL, and the digest of that text."""
    h, _, evs = parse_log(log)
    data = (text + "\0").encode("utf-16-le")
    return write_log(h, [(p, t, {SHA256: hashlib.sha256(data).digest()}, data) if p == 12
                         else (p, t, dg, d) for p, t, dg, d in evs])


A.boot_log(sd)
req, ch = evidence(A, AK, ak_a, SEL12, sd, ch=challenge(SD))
v = attest(req, SD)
check("the Fedora boot against its own baseline: compliant", v.status == "COMPLIANT" and
      not v.failed, v.why())
check("... its systemd-stub command line verified, from PCR 12",
      v.fact("kernel_cmdline") == "verified" and "efi=debug" in v.launch.kernel_cmdline,
      repr(v.launch))
req, ch = evidence(A, AK, ak_a, SEL, sd, ch=challenge(SD))
v = attest(req, SD)
_named("... PCR 12 left out: required-pcrs and kernel-cmdline fail",
       v.rules.get("required-pcrs", ("",))[0] == "fail" and "12" in v.rules["required-pcrs"][1]
       and v.rules.get("kernel-cmdline", ("",))[0] == "fail" and
       v.fact("kernel_cmdline") == "unverified" and v.status != "COMPLIANT", v)
req, ch = evidence(A, AK, ak_a, SEL12, without_pcrs(sd, (12,)), ch=challenge(SD))
v = attest(req, SD)
_named("... every PCR 12 event deleted: eventlog.replay fails",
       "eventlog.replay" in v.failed and "PCR 12" in v.failed["eventlog.replay"] and
       v.status != "COMPLIANT", v)
booted = stub_log(sd, "console=ttyS0 init=/bin/sh")
A.boot_log(booted)
req, ch = evidence(A, AK, ak_a, SEL12, booted, ch=challenge(SD))
v = attest(req, SD)
_named("a boot with init=/bin/sh on the stub's command line: kernel-cmdline fails",
       v.rules.get("kernel-cmdline", ("",))[0] == "fail" and
       "init=/bin/sh" in v.rules["kernel-cmdline"][1] and v.status != "COMPLIANT", v)
# The same boot, its log carrying the allowed text over the digests of what
# booted: PCR 12 replays, the text lies.
h, _, evs = parse_log(sd)
_, _, bevs = parse_log(booted)
lying = write_log(h, [(p, t, bevs[k][2], d) if p == 12 else (p, t, dg, d)
                      for k, (p, t, dg, d) in enumerate(evs)])
req, ch = evidence(A, AK, ak_a, SEL12, lying, ch=challenge(SD))
v = attest(req, SD)
_named("... its log showing the allowed text over the booted digests: kernel-cmdline fails",
       "eventlog.replay" not in v.failed and v.rules.get("kernel-cmdline", ("",))[0] == "fail"
       and "does not hash to its digest" in v.rules["kernel-cmdline"][1] and
       v.status != "COMPLIANT", v)
check("... and the state shows no command line", not v.launch.kernel_cmdline,
      repr(v.launch.kernel_cmdline))
open(os.path.join(WORK, "stub-lying.log"), "wb").write(lying)
p = verifier("baseline", "learn", "--eventlog", os.path.join(WORK, "stub-lying.log"),
             "--out", os.path.join(WORK, "lying.json"))
check("... and baseline learn refuses to learn it, by name", p.returncode == 2 and
      "does not hash to its digest" in p.stderr, p.stderr + p.stdout)
good = A.reboot("good")

print("-- keys that are not the device's", flush=True)
ak_b = B.make_ak(AK)
B.reboot("good")
code, act_b, det = enroll(B, AK, ak_b)
check("TPM B enrolls its own AK", code == grpc.StatusCode.OK, "%s %s" % (code, det))
DEV_B = act_b.device_id if act_b else ""
req, ch = evidence(B, AK, ak_b, SEL, good)
req.ak_public = ak_a
v = attest(req)
_named("another TPM's quote sent with A's AK: quote.signature fails",
       "quote.signature" in v.failed and not v.granted(), v)
ak_c = C.make_ak(AK)
C.reboot("good")
code, _, det = enroll(C, AK, ak_c)
check("a TPM whose EK CA is not trusted is refused by name",
      code == grpc.StatusCode.PERMISSION_DENIED and "does not chain to a trusted CA" in det,
      "%s %s" % (code, det))
req, ch = evidence(C, AK, ak_c, SEL, good)
v = attest(req)
_named("... and its quote is refused: not registered",
       v.code == grpc.StatusCode.PERMISSION_DENIED and "not registered" in v.det, v)
# A's EK (its certificate is public) with B's AK: the credential is
# encrypted to A's EK, so neither TPM can recover it.
cert_a, ekp_a = A.nv(EK_RSA_CERT), A.public(EK_RSA)
code, e, det = call("Enroll", pb.EnrollRequest(ek_public=ekp_a, ek_certificate=cert_a,
                                               ak_public=ak_b))
got = e and B.activate(AK, EK_RSA, e.credential_blob, e.encrypted_secret)
check("a credential for another TPM: B's TPM cannot activate it", code ==
      grpc.StatusCode.OK and got is None, "%s %s" % (code, det))
code2, _, det2 = call("Activate", pb.ActivateRequest(
    enrollment_id=e.enrollment_id if e else "", credential=os.urandom(32), ek_public=ekp_a,
    ek_certificate=cert_a, ak_public=ak_b))
check("... and a guessed credential is refused by name",
      code2 == grpc.StatusCode.PERMISSION_DENIED and "credential is wrong" in det2,
      "%s %s" % (code2, det2))

U = "0x81000003"
u_pub = A.make_unrestricted(U)
code, _, det = call("Enroll", pb.EnrollRequest(ek_public=ekp_a, ek_certificate=cert_a,
                                               ak_public=u_pub))
check("an unrestricted signing key cannot enroll as an AK",
      code == grpc.StatusCode.PERMISSION_DENIED and "restricted" in det, "%s %s" % (code, det))
# A TPMS_ATTEST for the golden PCR values and the challenge (here: what the
# AK quoted; an attacker would build it), signed by TPM2_Sign.
req, ch = evidence(A, AK, ak_a, SEL, good)
for name, target in (("with a registry", cfg["target"]), ("without one", cfg["target_open"])):
    ch = challenge(target)
    att, _ = A.quote(AK, SEL, ch.nonce)
    forged_sig = A.sign(U, att)
    r = pb.AttestRequest(challenge_id=ch.challenge_id, quote=pb.Quote(
        attest=att, signature=forged_sig), ak_public=u_pub, pcr_banks=req.pcr_banks,
        event_log=good)
    v = attest(r, target)
    _named("a forged quote signed by TPM2_Sign with an unrestricted key, %s: refused" % name,
           v.status != "COMPLIANT" and not v.granted() and
           ("ak.attributes" in v.failed or "not registered" in v.det), v)
    ch = challenge(target)
    att, sig = A.quote(U, SEL, ch.nonce)
    r = pb.AttestRequest(challenge_id=ch.challenge_id, quote=pb.Quote(attest=att, signature=sig),
                         ak_public=u_pub, pcr_banks=banks_msg(A.pcrs(SEL)), event_log=good)
    v = attest(r, target)
    _named("a genuine TPM2_Quote by the unrestricted key, %s: refused" % name,
           v.status != "COMPLIANT" and not v.granted() and
           ("ak.attributes" in v.failed or "not registered" in v.det), v)
check("... the no-registry verifier names ak.attributes", "ak.attributes" in v.failed, v.why())

# The AK of device A, activated through A's other EK (ECC P-384): one TPM
# holds both, but the AK is A's already.
code, _, det = enroll(A, AK, ak_a, ek=EK_ECC)
check("Activate of an AK registered to another device: ALREADY_EXISTS by name",
      code == grpc.StatusCode.ALREADY_EXISTS and "another device" in det,
      "%s %s" % (code, det))

print("-- revocation", flush=True)
p = verifier("devices", "revoke", "--registry", cfg["registry"], DEV_B)
check("B revoked", p.returncode == 0, p.stderr)
ak_b2 = B.make_ak("0x81000004")
code, _, det = enroll(B, "0x81000004", ak_b2)
check("the revoked TPM enrolling a new AK: refused as revoked, by name",
      code == grpc.StatusCode.PERMISSION_DENIED and "is revoked: an operator must reinstate"
      in det, "%s %s" % (code, det))
ekp_b = bytearray(B.public(EK_RSA))
# TPMT_PUBLIC: type, nameAlg, objectAttributes (4), authPolicy (2 + 32)
for what, off in (("one bit of its authPolicy", 10 + 5), ("its objectAttributes", 4 + 3)):
    e2 = bytearray(ekp_b)
    e2[off] ^= 0x01 if what.startswith("one") else 0x40
    code, _, det = enroll(B, "0x81000004", ak_b2, ek_public=bytes(e2))
    check("the revoked TPM with %s edited: refused by name" % what,
          code == grpc.StatusCode.PERMISSION_DENIED and "template" in det,
          "%s %s" % (code, det))
row, _ = record(DEV_B)
check("... B stays revoked", row and row[3] == "revoked", repr(row))
c = sqlite3.connect("file:%s?mode=ro" % cfg["registry"], uri=True)
n = c.execute("SELECT count(*) FROM devices").fetchone()[0]
c.close()
check("... and no new device appeared (A and B only)", n == 2, "%d devices" % n)

print("-- seals of one purpose used for another", flush=True)
code, e, det = call("Enroll", pb.EnrollRequest(ek_public=ekp_a, ek_certificate=cert_a,
                                               ak_public=ak_a))
req, ch = evidence(A, AK, ak_a, SEL, good)
req.challenge_id = e.enrollment_id
v = attest(req)
_named("an enrollment id as a challenge: refused by name",
       "challenge" in v.failed and not v.granted(), v)
ch = challenge()
code, _, det = call("Activate", pb.ActivateRequest(enrollment_id=ch.challenge_id,
                                                   credential=os.urandom(32), ek_public=ekp_a,
                                                   ek_certificate=cert_a, ak_public=ak_a))
check("a challenge id as an enrollment: refused by name", code != grpc.StatusCode.OK and
      "enrollment" in det, "%s %s" % (code, det))

print("-- strangers and a registered AK's public area", flush=True)
before = record(DEV_A)
req, ch = evidence(A, AK, ak_a, SEL, good)
bad_sig = bytearray(req.quote.signature)
bad_sig[-3] ^= 0x55
for name, r in (("a garbage signature, no challenge",
                 pb.AttestRequest(challenge_id="00" * 58, quote=pb.Quote(
                     attest=req.quote.attest, signature=b"\0\x18\0\x0b" + os.urandom(70)),
                     ak_public=ak_a, pcr_banks=req.pcr_banks, event_log=b"\0" * 64)),
                ("a valid challenge, a broken signature",
                 pb.AttestRequest(challenge_id=ch.challenge_id, quote=pb.Quote(
                     attest=req.quote.attest, signature=bytes(bad_sig)), ak_public=ak_a,
                     pcr_banks=req.pcr_banks, event_log=b""))):
    for _ in range(20):
        v = attest(r)
    _named("a forged Attest with A's AK public, %s: not compliant" % name,
           v.status != "COMPLIANT" and not v.granted(), v)
    check("... the token names no device", "tpa.device_id" not in v.claims(), repr(v.claims()))
after = record(DEV_A)
check("... A's record (verdict, token, time, audit) is untouched", before == after,
      "%r -> %r" % (before, after))
req, ch = evidence(A, AK, ak_a, SEL, good)
v = attest(req)
check("... and A attests, compliant", v.status == "COMPLIANT" and v.granted(), v.why())
check("... recorded", record(DEV_A)[1] == before[1] + 1, "%r" % (record(DEV_A),))

print("-- banks", flush=True)
# D has sha1 and sha256 banks; its firmware (tpa-bootsim) extends sha256
# only; from the OS the attacker fills sha1 with the two-bank log's values.
ak_d = D.make_ak(AK)
D.reboot("good")
code, _, det = enroll(D, AK, ak_d)
check("TPM D (banks sha1 and sha256) enrolls", code == grpc.StatusCode.OK, "%s %s" % (code, det))
log2, evs2 = two_bank(good)
for pcr, typ, dg, data in evs2:
    if pcr <= 9 and typ != 3:
        D.extend(pcr, "sha1", dg[SHA1])
sha1sel = "sha1:0,1,2,3,4,5,6,7,8,9"
want = extend_sim(evs2, SHA1, range(10))
got = D.pcrs(sha1sel).get(SHA1, {})
check("... its sha1 bank now replays the forged two-bank log", got == want,
      "%r" % {i: (got.get(i, b"").hex()[:8], want[i].hex()[:8]) for i in range(10)})
req, ch = evidence(D, AK, ak_d, sha1sel, log2)
v = attest(req)
_named("a sha1-only quote of a log that declares sha256: quote.banks fails",
       "quote.banks" in v.failed and "sha256" in v.failed["quote.banks"] and
       not v.granted(), v)
req, ch = evidence(D, AK, ak_d, "sha1:0,1,2,3,4,5,6,7,8,9+sha256:0,1,2,3,4,5,6,7,8,9", log2)
v = attest(req)
check("... while a quote of both banks (sha256 genuine) is compliant", v.status == "COMPLIANT",
      v.why())
open(os.path.join(WORK, "two-bank.log"), "wb").write(log2)
p = verifier("baseline", "learn", "--eventlog", os.path.join(WORK, "two-bank.log"),
             "--bank", "sha1", "--out", os.path.join(WORK, "sha1.json"))
check("baseline learn --bank sha1 of a log that declares sha256: refused by name",
      p.returncode == 2 and "sha256" in p.stderr, p.stderr + p.stdout)

print("-- floods", flush=True)


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def flood(method, make, n, workers=8):
    """n calls from several threads, 16 futures in flight each."""
    per = n // workers
    errs = []

    def run():
        s = stub(cfg["target"], method)
        k = 0
        while k < per:
            fs = [s.future(make(), timeout=60) for _ in range(min(16, per - k))]
            for f in fs:
                try:
                    f.result()
                except grpc.RpcError as e:
                    errs.append(e.code())
            k += len(fs)
    ts = [threading.Thread(target=run) for _ in range(workers)]
    t0 = time.time()
    [t.start() for t in ts]
    return ts, t0, errs


pid = cfg["verifier_pid"]
n_ch, n_en = cfg["flood_challenges"], cfg["flood_enrolls"]
ch_req = pb.GetChallengeRequest(device_hint="flood").SerializeToString()
# A first tenth warms the verifier up (threads, TLS, allocator) to the same
# concurrency; what the flood itself costs is what comes on top.
ts, t0, errs = flood("GetChallenge", lambda: ch_req, n_ch // 10)
[t.join() for t in ts]
rss0 = rss_kb(pid)
ts, t0, errs = flood("GetChallenge", lambda: ch_req, n_ch)
# A real device, while the flood runs.
req, ch = evidence(A, AK, ak_a, SEL, good)
v_during = attest(req)
[t.join() for t in ts]
secs = time.time() - t0
rss1 = rss_kb(pid)
print("   GetChallenge flood: %d calls in %.1f s (%.0f/s); verifier RSS %d kB -> %d kB" %
      (n_ch, secs, n_ch / secs, rss0, rss1), flush=True)
check("a GetChallenge flood (%d): every call answered" % n_ch, not errs, repr(errs[:5]))
# The verifier of f09b216 kept ~200 bytes per challenge (and refused all
# after 100 000); 8 MB over the flood would be 40 bytes a challenge.
if cfg["measure_rss"]:
    check("... the verifier's memory flat (< 8 MB more)", rss1 - rss0 < 8192,
          "%d kB -> %d kB" % (rss0, rss1))
check("... and a real device attesting during it: compliant", v_during.status == "COMPLIANT",
      v_during.why())
tmpl = bytearray(ak_a)  # an ECC AK's public area; its point varied per call


def fake_enroll():
    t = bytearray(tmpl)
    # unique: x and y, each a TPM2B of 32 bytes.
    t[-66:-34] = os.urandom(32)
    t[-32:] = os.urandom(32)
    return pb.EnrollRequest(ek_public=ekp_a, ek_certificate=cert_a,
                            ak_public=bytes(t)).SerializeToString()


ts, t0, errs = flood("Enroll", fake_enroll, n_en // 10)
[t.join() for t in ts]
rss0 = rss_kb(pid)
ts, t0, errs = flood("Enroll", fake_enroll, n_en)
ak_a3 = A.make_ak("0x81000005")
code_during, _, det_during = enroll(A, "0x81000005", ak_a3)
[t.join() for t in ts]
secs = time.time() - t0
rss1 = rss_kb(pid)
print("   Enroll flood (a public EK certificate, no TPM): %d calls in %.1f s (%.0f/s); "
      "verifier RSS %d kB -> %d kB" % (n_en, secs, n_en / secs, rss0, rss1), flush=True)
check("an Enroll flood (%d) with A's public EK certificate and no TPM: every call answered" %
      n_en, not errs, repr(errs[:5]))
# A pending enrollment of f09b216 kept the EK, certificate, AK and secret
# (~1.5 kB); 8 MB over 20 000 calls would be 400 bytes each.
if cfg["measure_rss"]:
    check("... the verifier's memory flat (< 8 MB more)", rss1 - rss0 < 8192,
          "%d kB -> %d kB" % (rss0, rss1))
check("... and the real TPM enrolling a new AK during it", code_during == grpc.StatusCode.OK,
      "%s %s" % (code_during, det_during))
req, ch = evidence(A, "0x81000005", ak_a3, SEL, good)
v = attest(req)
check("... which then attests, compliant", v.status == "COMPLIANT", v.why())
c = sqlite3.connect("file:%s?mode=ro" % cfg["registry"], uri=True)
n = c.execute("SELECT count(*) FROM aks").fetchone()[0]
c.close()
check("... and the floods left nothing in the registry (4 AKs: A's 2, B's 1, D's 1)", n == 4,
      "%d AKs" % n)

# For test_attacks.sh, across a restart of the verifier: a used challenge,
# and genuine evidence whose challenge this verifier sealed but never saw.
req, ch = evidence(A, AK, ak_a, SEL, good)
v = attest(req)
check("genuine evidence once more, to replay after a restart: compliant",
      v.status == "COMPLIANT", v.why())
open(os.path.join(WORK, "replay.bin"), "wb").write(req.SerializeToString())
req, ch = evidence(A, AK, ak_a, SEL, good)
open(os.path.join(WORK, "fresh.bin"), "wb").write(req.SerializeToString())

for ch_ in channels.values():
    ch_.close()
sys.exit(1 if failures else 0)
