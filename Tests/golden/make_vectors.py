#!/usr/bin/env python3
"""Builds the tickbus wire-format v1 golden vectors: Tests/golden/wire-v1.json.

The bytes are packed here with struct from the layouts declared in wire/records.json (the
declaration docs/wire-format.md's tables and the Swift codec are generated from), independently
of the Swift codec, so the Swift tests (Tests/TickBusCoreTests/GoldenVectorTests.swift) and the
Python client tests can both check themselves against them.

    python3 Tests/golden/make_vectors.py           # (re)write wire-v1.json
    python3 Tests/golden/make_vectors.py --check   # exit 1 if wire-v1.json is stale

Standard library only.
"""

import json
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire-v1.json")

with open(os.path.join(os.path.dirname(OUT), "..", "..", "wire", "records.json"), encoding="utf-8") as _f:
    SPEC = json.load(_f)
VERSION = SPEC["version"]
KINDS = {k["name"]: k["code"] for k in SPEC["kinds"]}
MARKETS = {"unknown": 0, "stocks": 1, "options": 2, "indices": 3, "forex": 4, "crypto": 5, "futures": 6}
FLAGS = {"historical": 1 << 0, "revision": 1 << 1, "local": 1 << 2, "late": 1 << 3}
LEVELS = {"info": 0, "warning": 1, "error": 2}

# Byte layouts (little-endian, no implicit padding): the fields of the declaration in order.
CODES = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "i64": "q", "f64": "d", "char24": "24s", "u16x4": "4H"}
LAYOUTS = {k["name"]: k for k in SPEC["kinds"]}
HEADER = struct.Struct("<" + "".join(CODES[f["type"]] for f in SPEC["header"]["fields"]))
assert HEADER.size == SPEC["header"]["size"]

NULL_PRICE = -(1 << 63)              # Int64.min, q's 0N
QUIET_NAN = 0x7FF8000000000000       # the canonical quiet NaN, volume "unknown"
NS = 1_000_000_000


def price_raw(text):
    """Decimal text -> Int64 count of 1e-9 (exact; at most 9 decimals here). None -> null."""
    if text is None:
        return NULL_PRICE
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("+-").partition(".")
    assert whole.isdigit() and (frac == "" or frac.isdigit()) and len(frac) <= 9, text
    raw = sign * (int(whole) * NS + int(frac.ljust(9, "0") or "0"))
    assert -(1 << 63) < raw < (1 << 63), text
    return raw


def f64_bits(value):
    """A volume/size as f64 bits; None is the canonical quiet NaN."""
    if value is None:
        return struct.pack("<Q", QUIET_NAN)
    return struct.pack("<d", float(value))


def fixed24(text):
    raw = text.encode("ascii")
    assert len(raw) <= 24 and all(0x20 < b < 0x7F for b in raw), text
    return raw.ljust(24, b"\0")


def bar_label(seconds):
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def topic_of(f):
    kind = f["kind"]
    if kind == "bar":
        if "local" not in f["flags"] and f["interval"] == 1:
            code = "A"
        elif "local" not in f["flags"] and f["interval"] == 60:
            code = "AM"
        else:
            code = "B" + bar_label(f["interval"])
    else:
        code = {"trade": "T", "quote": "Q", "status": "S", "heartbeat": "H"}[kind]
    return code + "." + f["symbol"]


def pack(fields, f, extra):
    """The declared `fields` packed from the case `f` (by field name) and `extra` (the values
    a case does not give: length, version, kind)."""
    out = b""
    for field in fields:
        name, kind = field["name"], field["type"]
        if name.startswith("_reserved"):
            value = 0
        elif name in extra:
            value = extra[name]
        elif name == "market":
            value = MARKETS[f[name]]
        elif name == "flags":
            value = sum(FLAGS[flag] for flag in f[name])
        elif name == "level":
            value = LEVELS[f[name]]
        elif name == "condition_count":
            value = len(f["conditions"])
        elif kind == "char24":
            value = fixed24(f[name])
        elif field.get("swift_type") == "Price":
            value = price_raw(f[name])
        else:
            value = f[name]
        if kind == "f64":
            out += f64_bits(value)
        elif kind == "u16x4":
            codes = list(value)
            assert len(codes) <= 4
            out += struct.pack("<4H", *(codes + [0] * (4 - len(codes))))
        else:
            out += struct.pack("<" + CODES[kind], value)
    return out


def record(f):
    layout = LAYOUTS[f["kind"]]
    body_text = f[layout["body"]["name"]].encode("utf-8") if "body" in layout else b""
    length = layout["size"] + len(body_text)
    extra = {"length": length, "version": VERSION, "kind": KINDS[f["kind"]], "body_length": len(body_text)}
    rec = pack(SPEC["header"]["fields"], f, extra) + pack(layout["fields"], f, extra) + body_text
    assert len(rec) == length
    return rec


# ---------------------------------------------------------------------------------------------
# Valid cases

T0 = 1704205800 * NS          # 2024-01-02 14:30:00 UTC (09:30 New York)
EPOCH = 1732233600            # a publisher epoch (u32)


def base(kind, market, symbol, seq, ts_event, ts_recv, flags=(), epoch=EPOCH):
    return {"kind": kind, "market": market, "flags": sorted(flags, key=FLAGS.get), "epoch": epoch, "sequence": seq,
            "ts_event": ts_event, "ts_recv": ts_recv, "symbol": symbol}


def trade(symbol, market, seq, price, size, conditions=(), trade_id="", upstream_sequence=0,
          exchange=0, tape=0, flags=(), ts=T0 + 123_456_789):
    f = base("trade", market, symbol, seq, ts, ts + 1_250_000, flags)
    f.update(price=price, size=size, upstream_sequence=upstream_sequence, exchange=exchange,
             tape=tape, conditions=list(conditions), trade_id=trade_id)
    return f


def bar(symbol, market, seq, start, interval, o, h, l, c, vwap, volume, trade_count, flags=(),
        ts_recv=None):
    if ts_recv is None:
        ts_recv = start + interval * NS + 150_000_000
    f = base("bar", market, symbol, seq, start, ts_recv, flags)
    f.update(open=o, high=h, low=l, close=c, vwap=vwap, volume=volume, trade_count=trade_count,
             interval=interval)
    return f


CASES = [
    ("trade_stock_conditions_trade_id", trade(
        "AAPL", "stocks", 1, "114.125", 100, conditions=[12, 37], trade_id="52983525029461",
        upstream_sequence=1063, exchange=4, tape=3)),
    ("trade_crypto_fractional_size", trade(
        "BTC-USD", "crypto", 42, "97234.56", 0.00123456, exchange=1)),
    ("trade_option_occ_symbol", trade(
        "O:SPY251219C00650000", "options", 7, "12.35", 5, conditions=[209], exchange=65)),
    ("trade_symbol_with_dot", trade(
        "BRK.B", "stocks", 3, "475.4", 10, conditions=[14], trade_id="1", upstream_sequence=88,
        exchange=11, tape=1)),
    ("trade_negative_price", trade(
        "CLK0", "futures", 9, "-37.63", 2, trade_id="T-0001", ts=1587413040 * NS)),
    ("trade_24_char_symbol_and_trade_id", trade(
        "ABCDEFGHIJKL.MNOPQRSTUVW", "unknown", 2**64 - 1, "0.000000001", 1.5,
        conditions=[1, 2, 3, 65535], trade_id="x" * 24, upstream_sequence=-1, exchange=65535,
        tape=255, flags=["historical", "late"])),
    ("quote_stock_nbbo", dict(base("quote", "stocks", "AAPL", 5, T0 + 500_000, T0 + 900_000), **{
        "bid_price": "189.98", "ask_price": "190.02", "bid_size": 300, "ask_size": 200,
        "upstream_sequence": 2001, "bid_exchange": 12, "ask_exchange": 11, "condition": 1,
        "tape": 3})),
    ("quote_forex_fractional", dict(base("quote", "forex", "EUR/USD", 1, T0, T0 + 20_000_000), **{
        "bid_price": "1.09412", "ask_price": "1.09415", "bid_size": 0.5, "ask_size": 1e6,
        "upstream_sequence": 0, "bid_exchange": 48, "ask_exchange": 48, "condition": 0,
        "tape": 0})),
    ("bar_upstream_second", bar(
        "X", "stocks", 17, T0, 1, "30.01", "30.05", "30", "30.02", "30.0311", 1200, 9)),
    ("bar_upstream_minute", bar(
        "MSFT", "stocks", 4, T0, 60, "370.87", "371.2", "370.5", "371.05", "370.9911", 152340, 1834)),
    ("bar_local_15s_revision", bar(
        "AAPL", "stocks", 12, T0 + 15 * NS, 15, "185.64", "185.7", "185.6", "185.66", "185.6523",
        4512.5, 37, flags=["local", "revision"])),
    ("bar_historical_day", bar(
        "SPY", "stocks", 1, 1704153600 * NS, 86400, "472.16", "473.67", "470.49", "472.65",
        "472.1349", 123623700, 911263, flags=["historical"], ts_recv=EPOCH * NS + 987_654_321)),
    ("bar_index_null_vwap_nan_volume", bar(
        "I:SPX", "indices", 60, T0, 60, "4745.2", "4747.04", "4744.81", "4746.5", None, None, 0)),
    ("bar_local_90s_late", bar(
        "AAPL", "stocks", 2, T0 + 90 * NS, 90, "185.5", "185.5", "185.5", "185.5", "185.5", 1, 1,
        flags=["local", "late"])),
    ("bar_upstream_2m", bar(
        "MSFT", "stocks", 1, T0, 120, "1", "2", "0.5", "1.5", "1.25", 0, 0)),
    ("status_non_ascii_json", dict(base("status", "unknown", "ingest", 3, T0, T0 + 1000), **{
        "level": "warning",
        "json": '{"event":"gap","feed":"délayed","note":"Zürich → 東京 ✓","missing":3}'})),
    ("status_empty_body", dict(base("status", "unknown", "bars", 1, T0, T0), **{
        "level": "error", "json": ""})),
    ("heartbeat", dict(base("heartbeat", "unknown", "ingest", 61, T0 + 61 * NS, T0 + 61 * NS + 5000), **{
        "published": 123456, "dropped": 7, "started_at": T0, "topics": 42, "subscriptions": 3,
        "interval_ms": 1000})),
    ("heartbeat_before_1970", dict(base("heartbeat", "unknown", "sim", 1, -1, -(1 << 63), epoch=0), **{
        "published": 0, "dropped": 0, "started_at": (1 << 63) - 1, "topics": 0,
        "subscriptions": 4294967295, "interval_ms": 250})),
]


def build_cases():
    out = []
    for name, f in CASES:
        rec = record(f)
        topic = topic_of(f)
        out.append({"name": name, "topic": topic, "fields": f, "record_hex": rec.hex(),
                    "message_hex": (topic.encode("ascii") + b" " + rec).hex()})
    return out


# ---------------------------------------------------------------------------------------------
# Invalid messages. Each has exactly one defect; `error` is WireError.category in Swift.
# The checks run in this order (docs/wire-format.md, "Decoding"): topic separator, record
# length >= 64, length field == record length, version, kind, market, flags, reserved bytes,
# symbol, kind-specific size and fields, then topic == topic of the decoded record.


def message(name):
    for case_name, f in CASES:
        if case_name == name:
            return topic_of(f).encode("ascii"), bytearray(record(f))
    raise KeyError(name)


def patch(rec, offset, fmt, value):
    struct.pack_into(fmt, rec, offset, value)
    return rec


def build_invalid():
    out = []

    def add(name, error, msg):
        out.append({"name": name, "error": error, "message_hex": bytes(msg).hex()})

    topic, rec = message("trade_stock_conditions_trade_id")
    joined = topic + bytes(rec)
    assert b" " not in joined[:40], "the no-space case needs a record without 0x20 early on"
    add("no_space_after_topic", "no_topic_separator", joined)
    add("empty_topic", "no_topic_separator", b" " + rec)
    add("topic_only", "no_topic_separator", topic)
    add("empty_record", "too_short", topic + b" ")
    add("record_shorter_than_header", "too_short", topic + b" " + rec[:40])
    add("truncated_record", "length_mismatch", topic + b" " + rec[:100])
    add("extended_record", "length_mismatch", topic + b" " + rec + b"\0")
    add("length_field_mismatch", "length_mismatch", topic + b" " + patch(rec[:], 0, "<H", 127))
    add("trade_wrong_size", "wrong_size", topic + b" " + patch(rec[:120], 0, "<H", 120))
    add("unknown_version", "unsupported_version", topic + b" " + patch(rec[:], 2, "<B", 2))
    add("version_zero", "unsupported_version", topic + b" " + patch(rec[:], 2, "<B", 0))
    add("unknown_kind", "unknown_kind", topic + b" " + patch(rec[:], 3, "<B", 6))
    add("kind_zero", "unknown_kind", topic + b" " + patch(rec[:], 3, "<B", 0))
    add("unknown_market", "unknown_market", topic + b" " + patch(rec[:], 4, "<B", 7))
    add("unknown_flag_bits", "unknown_flags", topic + b" " + patch(rec[:], 5, "<B", 0x10))
    add("header_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 6, "<H", 1))
    add("header_reserved2_nonzero", "bad_field", topic + b" " + patch(rec[:], 12, "<I", 1))
    add("symbol_bytes_after_nul", "bad_field", topic + b" " + patch(rec[:], 40, "<24s", b"AAPL\0X"))
    add("symbol_empty", "bad_field", b"T. " + patch(rec[:], 40, "<24s", b""))
    add("symbol_with_space", "bad_field", topic + b" " + patch(rec[:], 40, "<24s", b"AA PL"))
    add("symbol_non_ascii", "bad_field", topic + b" " + patch(rec[:], 40, "<24s", b"AAPL\xe9"))
    add("trade_condition_count_5", "bad_field", topic + b" " + patch(rec[:], 91, "<B", 5))
    add("trade_unused_condition_nonzero", "bad_field", topic + b" " + patch(rec[:], 96, "<H", 9))
    add("trade_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 100, "<I", 1))
    add("trade_id_bytes_after_nul", "bad_field", topic + b" " + patch(rec[:], 104, "<24s", b"12\0\x33"))
    add("topic_other_symbol", "topic_mismatch", b"T.MSFT " + rec)
    add("topic_other_kind", "topic_mismatch", b"Q.AAPL " + rec)
    add("topic_symbol_prefix", "topic_mismatch", b"T.AAP " + rec)
    add("topic_lowercase", "topic_mismatch", b"t.AAPL " + rec)

    topic, rec = message("quote_stock_nbbo")
    add("quote_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 111, "<B", 1))
    add("quote_as_trade_size", "wrong_size", topic + b" " + patch(rec[:] + bytes(16), 0, "<H", 128))

    topic, rec = message("bar_local_15s_revision")
    add("bar_interval_zero", "bad_field", topic + b" " + patch(rec[:], 120, "<I", 0))
    add("bar_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 124, "<I", 1))
    add("bar_topic_label_not_canonical", "topic_mismatch", b"B015s.AAPL " + rec)
    topic, rec = message("bar_upstream_minute")
    add("bar_non_local_minute_as_B1m", "topic_mismatch", b"B1m.MSFT " + rec)
    add("bar_minute_as_B60s", "topic_mismatch", b"B60s.MSFT " + rec)
    topic, rec = message("bar_local_15s_revision")
    add("bar_local_15s_as_A", "topic_mismatch", b"A.AAPL " + rec)

    topic, rec = message("status_non_ascii_json")
    body = len(rec) - 68
    add("status_body_length_too_long", "length_mismatch", topic + b" " + patch(rec[:], 66, "<H", body + 1))
    add("status_body_length_too_short", "length_mismatch", topic + b" " + patch(rec[:], 66, "<H", body - 1))
    add("status_shorter_than_fixed_part", "wrong_size", topic + b" " + patch(rec[:66], 0, "<H", 66))
    add("status_unknown_level", "bad_field", topic + b" " + patch(rec[:], 64, "<B", 3))
    add("status_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 65, "<B", 1))
    add("status_invalid_utf8", "bad_field", topic + b" " + patch(rec[:], 68, "<B", 0xFF))

    topic, rec = message("heartbeat")
    add("heartbeat_reserved_nonzero", "bad_field", topic + b" " + patch(rec[:], 100, "<I", 1))
    add("heartbeat_as_status_topic", "topic_mismatch", b"S.ingest " + rec)
    return out


def render():
    doc = {
        "description": "tickbus wire format v1 golden vectors; see docs/wire-format.md. "
                       "Generated by Tests/golden/make_vectors.py; do not edit by hand.",
        "version": VERSION,
        "cases": build_cases(),
        "invalid": build_invalid(),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    text = render()
    if "--check" in argv:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print("%s is stale: run %s" % (OUT, argv[0]), file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s" % OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
