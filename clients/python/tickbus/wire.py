"""Decoding bus messages (topic, space, record) exactly as docs/wire-format.md §5 specifies.

`decode(message)` returns a `Trade`, `Quote`, `Bar`, `Status` or `Heartbeat`, or raises
`WireError` whose `category` is the one the Swift decoder and the golden vectors use
(`no_topic_separator`, `too_short`, `length_mismatch`, `unsupported_version`, `unknown_kind`,
`unknown_market`, `unknown_flags`, `bad_field`, `wrong_size`, `topic_mismatch`).

Each kind is read with one precompiled `struct.Struct`. Topics already checked against a
symbol are remembered, so a steady stream costs one dict lookup per message for the topic check.
"""

from __future__ import annotations

import struct

from .layout import (
    BAR_FORMAT, HEADER_FORMAT, HEADER_OFFSETS, HEADER_SIZE, HEARTBEAT_FORMAT, KIND_NAMES, QUOTE_FORMAT,
    RECORD_SIZES, STATUS_FIXED_SIZE, STATUS_FORMAT, STATUS_OFFSETS, TRADE_FORMAT, VERSION,
)
from .records import LOCAL, NULL_PRICE, Bar, Heartbeat, Quote, Status, Trade

__all__ = [
    "WireError", "decode", "split", "bar_label", "topic_of", "HEADER_SIZE", "RECORD_SIZES",
    "VERSION", "MAX_TOPIC_SIZE",
]

MAX_TOPIC_SIZE = 40

_HEADER = struct.Struct(HEADER_FORMAT)
_TRADE = struct.Struct(TRADE_FORMAT)
_QUOTE = struct.Struct(QUOTE_FORMAT)
_BAR = struct.Struct(BAR_FORMAT)
_STATUS = struct.Struct(STATUS_FORMAT)
_HEARTBEAT = struct.Struct(HEARTBEAT_FORMAT)
_TRADE_SIZE, _QUOTE_SIZE, _BAR_SIZE, _HEARTBEAT_SIZE = _TRADE.size, _QUOTE.size, _BAR.size, _HEARTBEAT.size
# Offsets in a message whose topic's space is at i, less i + 1.
_KIND_AT = HEADER_OFFSETS["kind"]
_STATUS_AT = STATUS_OFFSETS["level"]

_PRINTABLE = bytes(range(0x21, 0x7F))
_EMPTY24 = bytes(24)
_SCALE = 1_000_000_000
_CACHE_LIMIT = 100_000


class WireError(ValueError):
    """A message that is not a valid v1 bus message; `category` names the failed check."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


def _mismatch(declared: int, actual: int) -> WireError:
    return WireError("length_mismatch", f"length field says {declared} bytes but the record has {actual}")


def _bad(field: str) -> WireError:
    return WireError("bad_field", f"invalid {field} field")


def _fixed(raw: bytes, field: str) -> str:
    """A NUL-padded char[24]: printable ASCII without spaces, then only NULs."""
    text = raw.rstrip(b"\0")
    if text.translate(None, _PRINTABLE):
        raise _bad(field)
    return text.decode("ascii")


_LABELS: dict = {}


def bar_label(seconds: int) -> str:
    """The canonical bar label: `1s`, `15s`, `90s`, `1m`, `2m`, `1h`, `1d`."""
    label = _LABELS.get(seconds)
    if label is None:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                label = f"{seconds // size}{unit}"
                break
        else:
            label = f"{seconds}s"
        if len(_LABELS) < 10_000:
            _LABELS[seconds] = label
    return label


def _bar_code(flags: int, interval: int) -> str:
    if not flags & LOCAL:
        if interval == 1:
            return "A"
        if interval == 60:
            return "AM"
    return "B" + bar_label(interval)


def topic_of(record) -> str:
    """The topic a record belongs under (§3): `T.AAPL`, `AM.MSFT`, `B15s.AAPL`, `H.ingest`."""
    kind = record.kind
    if kind == "bar":
        return _bar_code(record.flags, record.interval) + "." + record.symbol
    return {"trade": "T.", "quote": "Q.", "status": "S.", "heartbeat": "H."}[kind] + record.symbol


def split(message: bytes):
    """`(topic bytes, record bytes)`: the topic ends at the first space within 40 bytes."""
    i = message.find(b" ", 0, MAX_TOPIC_SIZE)
    if i <= 0:
        raise WireError("no_topic_separator", "message has no space after its topic")
    return message[:i], message[i + 1:]


def _check_header(n, length, version, kind, market, flags, r0, r1, sym) -> str:
    """The header checks of §5 in order; returns the symbol or raises."""
    if length != n:
        raise _mismatch(length, n)
    if version != VERSION:
        raise WireError("unsupported_version", f"unsupported wire format version {version} (this build reads 1)")
    if not 1 <= kind <= 5:
        raise WireError("unknown_kind", f"unknown record kind {kind}")
    if market > 6:
        raise WireError("unknown_market", f"unknown market {market}")
    if flags & 0xF0:
        raise WireError("unknown_flags", f"unknown flag bits 0x{flags:x}")
    if r0 or r1:
        raise _bad("reserved")
    symbol = _fixed(sym, "symbol")
    if not symbol:
        raise _bad("symbol")
    return symbol


def _wrong_size(kind: int, n: int) -> WireError:
    name = KIND_NAMES[kind]
    if kind == 4:
        return WireError("wrong_size", f"status record must be {STATUS_FIXED_SIZE} bytes, not {n}")
    return WireError("wrong_size", f"{name} record must be {RECORD_SIZES[kind]} bytes, not {n}")


_TOPIC_MISMATCH = "message topic does not match its record"

# Topic bytes -> (raw symbol field, kind code, topic str, symbol str) for topics already checked.
_TOPICS: dict = {}
_BAR_CODES: dict = {}


def _topic(message: bytes, i: int, code: bytes, sym: bytes, symbol):
    """The checked topic and symbol strings for a record of symbol field `sym` under `code`."""
    tb = message[:i]
    hit = _TOPICS.get(tb)
    if hit is not None and hit[0] == sym and hit[1] == code:
        return hit[2], hit[3]
    if symbol is None:
        symbol = _fixed(sym, "symbol")
    topic = code + symbol.encode("ascii")
    if tb != topic:
        raise WireError("topic_mismatch", _TOPIC_MISMATCH)
    if len(_TOPICS) >= _CACHE_LIMIT:
        _TOPICS.clear()
    entry = (sym, code, topic.decode("ascii"), symbol)
    _TOPICS[tb] = entry
    return entry[2], entry[3]


def decode(message: bytes):
    """Decodes one bus message; raises `WireError` for anything malformed (never anything else
    for bytes input)."""
    i = message.find(b" ", 0, MAX_TOPIC_SIZE)
    if i <= 0:
        raise WireError("no_topic_separator", "message has no space after its topic")
    n = len(message) - i - 1
    if n < HEADER_SIZE:
        raise WireError("too_short", f"record of {n} bytes is shorter than the {HEADER_SIZE}-byte header")
    kind = message[i + 1 + _KIND_AT]
    if kind == 1 and n == _TRADE_SIZE:
        return _decode_trade(message, i, n)
    if kind == 2 and n == _QUOTE_SIZE:
        return _decode_quote(message, i, n)
    if kind == 3 and n == _BAR_SIZE:
        return _decode_bar(message, i, n)
    if kind == 5 and n == _HEARTBEAT_SIZE:
        return _decode_heartbeat(message, i, n)
    # Status records, and every wrong size: the header's checks come first.
    (length, version, kind, market, flags, r0, epoch, r1, sequence,
     ts_event, ts_recv, sym) = _HEADER.unpack_from(message, i + 1)
    symbol = _check_header(n, length, version, kind, market, flags, r0, r1, sym)
    if kind != 4:
        raise _wrong_size(kind, n)
    if n < STATUS_FIXED_SIZE:
        raise _wrong_size(kind, n)
    level, r2, body = _STATUS.unpack_from(message, i + 1 + _STATUS_AT)
    if level > 2:
        raise _bad("status level")
    if r2:
        raise _bad("reserved")
    if STATUS_FIXED_SIZE + body != n:
        raise _mismatch(STATUS_FIXED_SIZE + body, n)
    try:
        text = message[i + 1 + STATUS_FIXED_SIZE:].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("status body") from None
    topic, symbol = _topic(message, i, b"S.", sym, symbol)
    return Status(topic, symbol, market, flags, epoch, sequence, ts_event, ts_recv, level, text)


# generated by wire/generate.py: decoders
def _decode_trade(message, i, n):
    (
        length, version, kind, market, flags, r0, epoch, r1, sequence, ts_event, ts_recv, sym,
        price, size, upstream_sequence, exchange, tape, condition_count, c0, c1, c2, c3, _reserved2,
        trade_id_raw
    ) = _TRADE.unpack_from(message, i + 1)
    symbol = None
    if not (length == n and version == 1 and market <= 6 and not flags & 0xF0 and not r0 and not r1):
        symbol = _check_header(n, length, version, kind, market, flags, r0, r1, sym)
    elif sym[0] == 0:
        raise _bad("symbol")
    if condition_count == 0:
        if c0 or c1 or c2 or c3:
            raise _bad("conditions")
        conditions = ()
    else:
        all4 = (c0, c1, c2, c3)
        if condition_count > 4 or any(all4[condition_count:]):
            raise _bad("conditions")
        conditions = all4[:condition_count]
    if _reserved2:
        raise _bad("reserved")
    if trade_id_raw == _EMPTY24:
        trade_id = ""
    else:
        trade_id = trade_id_raw.rstrip(b"\0")
        if trade_id.translate(None, _PRINTABLE):
            raise _bad("trade id")
        trade_id = trade_id.decode("ascii")
    hit = _TOPICS.get(message[:i])
    if hit is not None and hit[0] == sym and hit[1] == b"T.":
        topic, symbol = hit[2], hit[3]
    else:
        topic, symbol = _topic(message, i, b"T.", sym, symbol)
    return Trade(
        topic, symbol, market, flags, epoch, sequence, ts_event, ts_recv,
        None if price == NULL_PRICE else price / _SCALE, price, size, upstream_sequence, exchange,
        tape, conditions, trade_id)


def _decode_quote(message, i, n):
    (
        length, version, kind, market, flags, r0, epoch, r1, sequence, ts_event, ts_recv, sym,
        bid_price, ask_price, bid_size, ask_size, upstream_sequence, bid_exchange, ask_exchange,
        condition, tape, _reserved2
    ) = _QUOTE.unpack_from(message, i + 1)
    symbol = None
    if not (length == n and version == 1 and market <= 6 and not flags & 0xF0 and not r0 and not r1):
        symbol = _check_header(n, length, version, kind, market, flags, r0, r1, sym)
    elif sym[0] == 0:
        raise _bad("symbol")
    if _reserved2:
        raise _bad("reserved")
    hit = _TOPICS.get(message[:i])
    if hit is not None and hit[0] == sym and hit[1] == b"Q.":
        topic, symbol = hit[2], hit[3]
    else:
        topic, symbol = _topic(message, i, b"Q.", sym, symbol)
    return Quote(
        topic, symbol, market, flags, epoch, sequence, ts_event, ts_recv,
        None if bid_price == NULL_PRICE else bid_price / _SCALE, bid_price,
        None if ask_price == NULL_PRICE else ask_price / _SCALE, ask_price, bid_size, ask_size,
        upstream_sequence, bid_exchange, ask_exchange, condition, tape)


def _decode_bar(message, i, n):
    (
        length, version, kind, market, flags, r0, epoch, r1, sequence, ts_event, ts_recv, sym, open,
        high, low, close, vwap, volume, trade_count, interval, _reserved2
    ) = _BAR.unpack_from(message, i + 1)
    symbol = None
    if not (length == n and version == 1 and market <= 6 and not flags & 0xF0 and not r0 and not r1):
        symbol = _check_header(n, length, version, kind, market, flags, r0, r1, sym)
    elif sym[0] == 0:
        raise _bad("symbol")
    if interval == 0:
        raise _bad("interval")
    if _reserved2:
        raise _bad("reserved")
    code = _BAR_CODES.get((flags & LOCAL, interval))
    if code is None:
        code = (_bar_code(flags, interval) + ".").encode("ascii")
        if len(_BAR_CODES) < 10_000:
            _BAR_CODES[(flags & LOCAL, interval)] = code
    topic, symbol = _topic(message, i, code, sym, symbol)
    return Bar(
        topic, symbol, market, flags, epoch, sequence, ts_event, ts_recv,
        None if open == NULL_PRICE else open / _SCALE, open,
        None if high == NULL_PRICE else high / _SCALE, high,
        None if low == NULL_PRICE else low / _SCALE, low,
        None if close == NULL_PRICE else close / _SCALE, close,
        None if vwap == NULL_PRICE else vwap / _SCALE, vwap, volume, trade_count, interval)


def _decode_heartbeat(message, i, n):
    (
        length, version, kind, market, flags, r0, epoch, r1, sequence, ts_event, ts_recv, sym,
        published, dropped, started_at, topics, subscriptions, interval_ms, _reserved2
    ) = _HEARTBEAT.unpack_from(message, i + 1)
    symbol = None
    if not (length == n and version == 1 and market <= 6 and not flags & 0xF0 and not r0 and not r1):
        symbol = _check_header(n, length, version, kind, market, flags, r0, r1, sym)
    elif sym[0] == 0:
        raise _bad("symbol")
    if _reserved2:
        raise _bad("reserved")
    hit = _TOPICS.get(message[:i])
    if hit is not None and hit[0] == sym and hit[1] == b"H.":
        topic, symbol = hit[2], hit[3]
    else:
        topic, symbol = _topic(message, i, b"H.", sym, symbol)
    return Heartbeat(
        topic, symbol, market, flags, epoch, sequence, ts_event, ts_recv, published, dropped,
        started_at, topics, subscriptions, interval_ms)
# end generated
