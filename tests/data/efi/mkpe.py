#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a small, valid PE/COFF EFI application image (PE32+ for x86-64 or
PE32 for ia32), for tests that need an image whose Authenticode digest an
independent tool (osslsigncode) can compute: the boot simulator's kernels
and the unit tests' PE32 cases. The payload text goes into the sections, so
two payloads make two images with different digests. Nothing here runs.

usage: mkpe.py [--pe32] [--sections N] [--trailing N] [--payload TEXT] OUT
"""
import argparse
import struct

FILE_ALIGN = 0x200
SECT_ALIGN = 0x1000


def align(n, a):
    return (n + a - 1) // a * a


def build(pe32=False, nsections=3, payload="tpa test image", trailing=0):
    opt_len = 224 if pe32 else 240
    headers_len = align(0x40 + 4 + 20 + opt_len + 40 * nsections, FILE_ALIGN)
    names = [b".text", b".data", b".rdata", b".reloc", b".sbat", b".linux"]
    sections, raw, off, rva = [], b"", headers_len, SECT_ALIGN
    for i in range(nsections):
        body = ("%s / section %d\n" % (payload, i)).encode() * (i + 1)
        size = align(len(body), FILE_ALIGN)
        raw += body.ljust(size, b"\0")
        name = names[i % len(names)]
        sections.append(struct.pack("<8sIIIIIIHHI", name, len(body), rva, size, off, 0, 0, 0, 0,
                                    0x60000020 if i == 0 else 0xC0000040))
        off += size
        rva += align(len(body), SECT_ALIGN)
    image_size = rva
    coff = struct.pack("<HHIIIHH", 0x14C if pe32 else 0x8664, nsections, 0, 0, 0, opt_len,
                       0x0102 if pe32 else 0x0022)
    if pe32:
        opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", 0x10B, 2, 30, FILE_ALIGN, 0, 0,
                          SECT_ALIGN, SECT_ALIGN, 0, 0x10000000, SECT_ALIGN, FILE_ALIGN,
                          0, 0, 0, 0, 0, 0, 0, image_size, headers_len, 0, 10, 0,
                          0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    else:
        opt = struct.pack("<HBBIIIIIQIIHHHHHHIIIIHHQQQQII", 0x20B, 2, 30, FILE_ALIGN, 0, 0,
                          SECT_ALIGN, SECT_ALIGN, 0x140000000, SECT_ALIGN, FILE_ALIGN,
                          0, 0, 0, 0, 0, 0, 0, image_size, headers_len, 0, 10, 0,
                          0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    opt += b"\0" * (16 * 8)
    assert len(opt) == opt_len, len(opt)
    dos = b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40)
    head = dos + b"PE\0\0" + coff + opt + b"".join(sections)
    return head.ljust(headers_len, b"\0") + raw + bytes((i * 7) & 0xFF for i in range(trailing))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pe32", action="store_true")
    ap.add_argument("--sections", type=int, default=3)
    ap.add_argument("--trailing", type=int, default=0)
    ap.add_argument("--payload", default="tpa test image")
    ap.add_argument("out")
    a = ap.parse_args()
    with open(a.out, "wb") as f:
        f.write(build(a.pe32, a.sections, a.payload, a.trailing))


if __name__ == "__main__":
    main()
