#!/usr/bin/env python3
"""Builds the tickbus journal v1 golden file: Tests/golden/journal-v1.tbj and its description
Tests/golden/journal-v1.json.

The bytes are packed here with struct from docs/journal.md, independently of any journal writer
or reader; the messages' records are the golden wire vectors of Tests/golden/wire-v1.json (their
`sequence` and `ts_recv` fields set so that each topic counts up and the times follow the
journal's order; both fields are free, so every record stays valid). The JSON lists the header,
every block, every message (topic, sequence, kind, ts_recv, bytes), the holes, and malformed
variants of the file (a byte flipped or the file cut) with the problem a reader must report, so
that the Swift and the Python readers test themselves against the same vectors.

    python3 Tests/golden/make_journal.py           # (re)write journal-v1.tbj and journal-v1.json
    python3 Tests/golden/make_journal.py --check   # exit 1 if either is stale

Standard library only; the output is deterministic (fixed times).
"""

import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "journal-v1.tbj")
OUT_JSON = os.path.join(HERE, "journal-v1.json")

FILE_HEADER = struct.Struct("<8sHHIqIIH30s32s28s")   # 124 bytes, then the u32 CRC
BLOCK_HEADER = struct.Struct("<IHHIIqqI")            # 36 bytes, then the u32 header CRC
assert FILE_HEADER.size == 124 and BLOCK_HEADER.size == 36
BLOCK_MAGIC = 0x4B4C4254                             # b"TBLK"
MESSAGES, HOLE, END = 1, 2, 3
BEHIND, REFUSED = 1, 2
REPAIRED = 1

NS = 1_000_000_000
T0 = 1704205800 * NS            # 2024-01-02 14:30:00 UTC, the wire vectors' time
EPOCH = 1732233600              # the wire vectors' epoch
CREATED = T0 - 5 * NS           # the file was started 5 s before the first message
DAY = 20240102
PART = 1
PUBLISHER = "ingest"

with open(os.path.join(HERE, "wire-v1.json"), encoding="utf-8") as _f:
    WIRE = {case["name"]: case for case in json.load(_f)["cases"]}


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def file_header():
    head = FILE_HEADER.pack(b"TICKBUSJ", 1, 128, EPOCH, CREATED, DAY, PART, 1, bytes(30),
                            PUBLISHER.encode("utf-8").ljust(32, b"\0"), bytes(28))
    return head + struct.pack("<I", crc(head))


def block(kind, flags, count, first_time, last_time, payload):
    head = BLOCK_HEADER.pack(BLOCK_MAGIC, kind, flags, len(payload), count, first_time, last_time, crc(payload))
    return head + struct.pack("<I", crc(head)) + payload


# The messages, block by block: (wire vector, sequence). Each record's ts_recv is set to the
# time it was appended: T0 + 1 ms per message.
BLOCKS = [
    ("messages", [("trade_stock_conditions_trade_id", 1), ("quote_stock_nbbo", 1), ("trade_symbol_with_dot", 1),
                  ("status_non_ascii_json", 1)]),
    ("hole", BEHIND, [("T.AAPL", 2, 4), ("Q.AAPL", 2, 2)]),
    ("messages", [("trade_stock_conditions_trade_id", 5), ("bar_upstream_second", 1), ("trade_crypto_fractional_size", 1),
                  ("quote_forex_fractional", 1), ("quote_stock_nbbo", 3)]),
    ("messages", [("bar_upstream_minute", 1), ("trade_option_occ_symbol", 1), ("status_empty_body", 1),
                  ("bar_local_15s_revision", 1), ("trade_stock_conditions_trade_id", 6)]),
]


def build():
    data = bytearray(file_header())
    blocks, messages, holes = [], [], []
    clock = T0
    first_of_file = None
    for n, spec in enumerate(BLOCKS):
        offset = len(data)
        if spec[0] == "messages":
            payload = b""
            first = clock
            for name, sequence in spec[1]:
                case = WIRE[name]
                record = bytearray.fromhex(case["record_hex"])
                struct.pack_into("<Q", record, 16, sequence)
                struct.pack_into("<q", record, 32, clock)
                message = case["topic"].encode("ascii") + b" " + bytes(record)
                payload += struct.pack("<I", len(message)) + message
                messages.append({"block": n, "topic": case["topic"], "sequence": sequence, "kind": case["fields"]["kind"],
                                 "ts_recv": clock, "vector": name, "message_hex": message.hex()})
                clock += 1_000_000
            last = clock + 250_000          # handed to the writer 0.25 ms after its last append
            data += block(MESSAGES, 0, len(spec[1]), first, last, payload)
            first_of_file = first if first_of_file is None else first_of_file
            blocks.append({"offset": offset, "kind": "messages", "flags": 0, "count": len(spec[1]),
                           "length": len(payload), "first_time": first, "last_time": last})
            clock += 10_000_000
        else:
            _, reason, ranges = spec
            payload = b""
            for topic, first_seq, last_seq in ranges:
                raw = topic.encode("ascii")
                payload += struct.pack("<H", len(raw)) + raw + struct.pack("<QQ", first_seq, last_seq)
                holes.append({"block": n, "topic": topic, "first": first_seq, "last": last_seq, "reason": reason})
            # A hole block's times: when the loss was noted (both the same here).
            data += block(HOLE, reason, len(ranges), clock, clock, payload)
            blocks.append({"offset": offset, "kind": "hole", "flags": reason, "count": len(ranges),
                           "length": len(payload), "first_time": clock, "last_time": clock})
            clock += 10_000_000
    last_time = blocks[-1]["last_time"]
    offset = len(data)
    data += block(END, 0, len(messages), first_of_file, last_time, b"")
    blocks.append({"offset": offset, "kind": "end", "flags": 0, "count": len(messages), "length": 0,
                   "first_time": first_of_file, "last_time": last_time})
    return bytes(data), blocks, messages, holes


def variants(data, blocks, messages):
    """Malformed copies of the file: each a byte XORed with 0xFF (`flip`) or the file cut to
    `truncate` bytes, the problem a reader reports (None: the file is fine as far as it goes),
    and how many messages it can still trust (the blocks before the problem)."""
    b = {n: blk["offset"] for n, blk in enumerate(blocks)}
    end = b[len(blocks) - 1]

    def before(offset):
        return sum(1 for m in messages if blocks[m["block"]]["offset"] < offset)

    out = [
        {"name": "cut_inside_last_messages_block", "truncate": b[3] + 40 + 10,
         "problem": {"kind": "torn_tail", "offset": b[3]}, "messages": before(b[3]), "closed": False},
        {"name": "cut_inside_last_block_header", "truncate": b[3] + 17,
         "problem": {"kind": "torn_tail", "offset": b[3]}, "messages": before(b[3]), "closed": False},
        {"name": "cut_before_end_block", "truncate": end,
         "problem": None, "messages": len(messages), "closed": False},
        {"name": "cut_inside_file_header", "truncate": 100,
         "problem": {"kind": "torn_tail", "offset": 0}, "messages": 0, "closed": False},
        {"name": "flip_payload_byte_of_middle_block", "flip": b[2] + 40 + 20,
         "problem": {"kind": "corrupt", "offset": b[2]}, "messages": before(b[2]), "closed": False},
        {"name": "flip_count_of_last_messages_block", "flip": b[3] + 12,
         "problem": {"kind": "corrupt", "offset": b[3]}, "messages": before(b[3]), "closed": False},
        {"name": "flip_hole_block_payload", "flip": b[1] + 40 + 3,
         "problem": {"kind": "corrupt", "offset": b[1]}, "messages": before(b[1]), "closed": False},
        {"name": "flip_end_block_magic", "flip": end,
         "problem": {"kind": "torn_tail", "offset": end}, "messages": len(messages), "closed": False},
        {"name": "flip_file_header_publisher", "flip": 64,
         "problem": {"kind": "corrupt", "offset": 0}, "messages": 0, "closed": False},
    ]
    for v in out:
        bad = bytearray(data)
        if "flip" in v:
            bad[v["flip"]] ^= 0xFF
        else:
            del bad[v["truncate"]:]
        v["crc32"] = crc(bytes(bad))   # of the malformed copy, to check a reader builds the same bytes
    return out


def describe(data, blocks, messages, holes):
    return {
        "description": "tickbus journal v1 golden file journal-v1.tbj; see docs/journal.md. Generated by "
                       "Tests/golden/make_journal.py; do not edit by hand.",
        "file": "journal-v1.tbj",
        "size": len(data),
        "crc32": crc(data),
        "header": {"version": 1, "header_size": 128, "epoch": EPOCH, "created": CREATED, "day": DAY, "part": PART,
                   "wire_version": 1, "publisher": PUBLISHER},
        "closed": True,
        "repaired": False,
        "first_time": blocks[0]["first_time"],
        "last_time": blocks[-2]["last_time"],
        "blocks": blocks,
        "messages": messages,
        "holes": holes,
        "malformed": variants(data, blocks, messages),
    }


def main():
    data, blocks, messages, holes = build()
    text = json.dumps(describe(data, blocks, messages, holes), indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        stale = []
        for path, want in ((OUT, data), (OUT_JSON, text.encode("utf-8"))):
            try:
                with open(path, "rb") as f:
                    if f.read() != want:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        if stale:
            print("stale: " + ", ".join(stale) + ": run python3 Tests/golden/make_journal.py", file=sys.stderr)
            return 1
        print("journal-v1.tbj and journal-v1.json are current")
        return 0
    with open(OUT, "wb") as f:
        f.write(data)
    with open(OUT_JSON, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT} ({len(data)} bytes, {len(messages)} messages) and {OUT_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
