#!/usr/bin/env python3
"""fuzz/corpus/make_seeds.py — writes the snapshot fuzz seed corpus
(fuzz/corpus/snapshot/) from the documented v2 layout:
header "PGSS" + u16le 2; record crc32:u32le ++ type:u8 ++ payload."""
import os
import struct
import zlib

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshot")
os.makedirs(out, exist_ok=True)
HDR = b"PGSS" + struct.pack("<H", 2)


def rec(body):
    return struct.pack("<I", zlib.crc32(body) & 0xffffffff) + body


def put(key, val, ver):
    k = key.encode()
    return rec(b"\x01" + struct.pack("<H", len(k)) + k +
               struct.pack("<I", len(val)) + val + bytes([len(ver)]) + ver)


def delete(key, ver):
    k = key.encode()
    return rec(b"\x02" + struct.pack("<H", len(k)) + k + bytes([len(ver)]) + ver)


def cursor(c):
    return rec(b"\x03" + bytes([len(c)]) + c)


def be(n):
    return struct.pack(">Q", n)


seeds = {
    "basic": HDR + put("a", b"1", be(1)) + cursor(be(1)),
    "multi": HDR + put("config/a", b"hello", be(1)) +
    put("config/b", b"world", be(2)) + delete("config/a", be(3)) +
    cursor(be(3)) + put("config/c", b"x" * 40, be(4)) + cursor(be(4)),
    "uncommitted": HDR + put("a", b"1", be(1)) + cursor(be(1)) +
    put("b", b"2", be(2)),
    "versionstamp": HDR + put("fdb", b"", bytes(range(1, 11))) +
    cursor(bytes(range(32))),
    "torn": (HDR + put("a", b"1", be(1)) + cursor(be(1)) +
             put("b", b"22", be(2)))[:-3],
    "zero-tail": HDR + put("a", b"1", be(1)) + cursor(be(1)) + bytes(40),
    "many": HDR + b"".join(put("k%02d" % (i % 7), bytes([i]) * (i % 13),
                               be(i)) for i in range(40)) +
    delete("k03", be(41)) + cursor(be(41) + b"identity"),
    "header-only": HDR,
}
for name, data in seeds.items():
    with open(os.path.join(out, name + ".snap"), "wb") as f:
        f.write(data)
