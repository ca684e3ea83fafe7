#!/usr/bin/env python3
"""Write a small, valid MaxMind DB (IPv4 tree, record size 24) for tests.

There is no MMDB writer among the project's packages, so the GeoIP tests
generate their database with this script (standard library only) into the
build folder. The format: a binary search tree over address bits, 16 zero
bytes, a data section of typed values, then the metadata map after the
marker b"\\xab\\xcd\\xefMaxMind.com" (MaxMind DB File Format Specification 2.0).

usage: make_mmdb.py OUT.mmdb
"""
import ipaddress
import struct
import sys
import time

NETWORKS = [
    ("203.0.113.0/24", {
        "country": {"iso_code": "FR", "names": {"en": "France"}},
        "city": {"names": {"en": "Paris"}},
        "location": {"latitude": 48.8566, "longitude": 2.3522},
        "autonomous_system_number": 64500,
        "autonomous_system_organization": "Example Transit",
    }),
    ("198.51.100.0/24", {
        "country": {"iso_code": "DE", "names": {"en": "Germany"}},
        "city": {"names": {"en": "Berlin"}},
    }),
    ("192.0.2.128/25", {
        "country": {"iso_code": "US", "names": {"en": "United States"}},
        "autonomous_system_number": 64501,
        "autonomous_system_organization": "Doc Net \"quoted\"",
    }),
]


def ctrl(type_, size):
    """Control byte(s): type in the top 3 bits (extended types > 7), size."""
    out = bytearray()
    if size < 29:
        sbits, extra = size, b""
    elif size < 285:
        sbits, extra = 29, bytes([size - 29])
    elif size < 65821:
        sbits, extra = 30, struct.pack(">H", size - 285)
    else:
        sbits, extra = 31, struct.pack(">I", size - 65821)[1:]
    if type_ <= 7:
        out.append((type_ << 5) | sbits)
    else:
        out.append(sbits)
        out.append(type_ - 7)
    return bytes(out) + extra


def uint(type_, value, width):
    raw = value.to_bytes(width, "big").lstrip(b"\x00")
    return ctrl(type_, len(raw)) + raw


def enc(v):
    if isinstance(v, str):
        b = v.encode()
        return ctrl(2, len(b)) + b
    if isinstance(v, bool):
        return ctrl(14, 1 if v else 0)
    if isinstance(v, float):
        return ctrl(3, 8) + struct.pack(">d", v)
    if isinstance(v, int):
        return uint(6, v, 4) if v < 2**32 else uint(9, v, 8)
    if isinstance(v, dict):
        out = ctrl(7, len(v))
        for k, x in v.items():
            out += enc(k) + enc(x)
        return out
    if isinstance(v, list):
        out = ctrl(11, len(v))
        for x in v:
            out += enc(x)
        return out
    raise TypeError(type(v))


def enc_meta(v):
    """Metadata uses uint16 for small fields."""
    out = ctrl(7, len(v))
    for k, x in v.items():
        out += enc(k)
        if k in ("record_size", "ip_version", "binary_format_major_version",
                 "binary_format_minor_version"):
            out += uint(5, x, 2)
        elif k == "build_epoch":
            out += uint(9, x, 8)
        else:
            out += enc(x)
    return out


def main():
    data = bytearray()
    offsets = []
    for _, rec in NETWORKS:
        offsets.append(len(data))
        data += enc(rec)
    # Trie: node = [left, right]; child is ("node", i), ("data", off) or None.
    nodes = [[None, None]]
    for (net, _), off in zip(NETWORKS, offsets):
        n = ipaddress.ip_network(net)
        bits = int(n.network_address)
        cur = 0
        for depth in range(n.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == n.prefixlen - 1:
                nodes[cur][bit] = ("data", off)
            else:
                child = nodes[cur][bit]
                if child is None:
                    nodes.append([None, None])
                    child = ("node", len(nodes) - 1)
                    nodes[cur][bit] = child
                cur = child[1]
    count = len(nodes)
    tree = bytearray()
    for left, right in nodes:
        for rec in (left, right):
            if rec is None:
                val = count
            elif rec[0] == "node":
                val = rec[1]
            else:
                val = count + 16 + rec[1]
            tree += val.to_bytes(3, "big")
    meta = {
        "node_count": count,
        "record_size": 24,
        "ip_version": 4,
        "database_type": "Parry-Test-City",
        "languages": ["en"],
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": int(time.time()),
        "description": {"en": "Parry test database"},
    }
    with open(sys.argv[1], "wb") as f:
        f.write(tree)
        f.write(b"\x00" * 16)
        f.write(data)
        f.write(b"\xab\xcd\xefMaxMind.com")
        f.write(enc_meta(meta))


if __name__ == "__main__":
    main()
