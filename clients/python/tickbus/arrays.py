"""numpy and pandas views of bus records (needs numpy; `to_pandas` needs pandas).

The fixed-size kinds map onto structured dtypes laid out exactly as the wire (docs/wire-format.md
§5.2), so `np.frombuffer(record_bytes, TRADE)` reads records without copying:

```python
from tickbus.arrays import decode_batch, to_pandas

trades = decode_batch(messages)      # bus messages of one kind -> one structured array
frame = to_pandas(trades)            # DatetimeIndex (UTC, ts_event), float prices
```

`decode_batch` checks every row as `tickbus.decode` does (same error categories), with vectorized
checks; only rows that fail one are decoded one by one to name the error. Prices stay integer
units in the arrays (`price`); `prices(array, "price")` and `to_pandas` give floats with NaN for
the null price (exactly `units / 1e9` below 2^53 units, i.e. prices under 9,007,199).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Iterable, List, Optional

import numpy as np

from .layout import BAR_FIELDS, HEADER_FIELDS, HEADER_OFFSETS, HEARTBEAT_FIELDS, QUOTE_FIELDS, TRADE_FIELDS
from .records import KINDS, LOCAL, NULL_PRICE, Status
from .wire import WireError, decode, _bar_code

__all__ = [
    "HEADER_FIELDS", "TRADE", "QUOTE", "BAR", "HEARTBEAT", "DTYPES", "PRICE_FIELDS",
    "decode_batch", "prices", "to_pandas", "Batch",
]

TRADE = np.dtype(HEADER_FIELDS + TRADE_FIELDS)
QUOTE = np.dtype(HEADER_FIELDS + QUOTE_FIELDS)
BAR = np.dtype(HEADER_FIELDS + BAR_FIELDS)
HEARTBEAT = np.dtype(HEADER_FIELDS + HEARTBEAT_FIELDS)

#: dtypes by kind name and by kind code (status records have a variable size: no dtype).
DTYPES = {"trade": TRADE, "quote": QUOTE, "bar": BAR, "heartbeat": HEARTBEAT,
          1: TRADE, 2: QUOTE, 3: BAR, 5: HEARTBEAT}
_CODES = {"trade": 1, "quote": 2, "bar": 3, "heartbeat": 5}
_PREFIX = {1: b"T.", 2: b"Q.", 5: b"H."}
#: Integer 1e-9 price fields by kind.
PRICE_FIELDS = {1: ("price",), 2: ("bid_price", "ask_price"), 3: ("open", "high", "low", "close", "vwap"), 5: ()}


_SYMBOL = slice(HEADER_OFFSETS["symbol"], HEADER_OFFSETS["symbol"] + 24)
_TRADE_ID = slice(TRADE.fields["trade_id"][1], TRADE.fields["trade_id"][1] + 24)
_INTERVAL = slice(BAR.fields["interval"][1], BAR.fields["interval"][1] + 4)


def _fixed_ok(raw: np.ndarray, allow_empty: bool) -> np.ndarray:
    """Rows of an (n, 24) uint8 array that are valid fixed strings: printable ASCII without
    spaces, then only NULs (and not empty unless allowed)."""
    nonzero = raw != 0
    ok = ((~nonzero) | ((raw > 0x20) & (raw < 0x7F))).all(axis=1)
    ok &= (nonzero[:, 1:] <= nonzero[:, :-1]).all(axis=1)
    if not allow_empty:
        ok &= nonzero[:, 0]
    return ok


def _check(array: np.ndarray, code: int, topics: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows of `array` (kind `code`, right size) that pass every check of §5; `topics` holds
    each message's first bytes (its topic, then anything), `lengths` the topic lengths."""
    raw = array.view(np.uint8).reshape(len(array), array.dtype.itemsize)
    ok = (array["length"] == array.dtype.itemsize) & (array["version"] == 1) & (array["kind"] == code)
    ok &= (array["market"] <= 6) & (array["flags"] & 0xF0 == 0)
    ok &= (array["_reserved0"] == 0) & (array["_reserved1"] == 0) & (array["_reserved2"] == 0)
    symbol = raw[:, _SYMBOL]
    ok &= _fixed_ok(symbol, False)
    if code == 1:
        count = array["condition_count"]
        unused = np.arange(4) >= count[:, None].astype(np.int64)
        ok &= (count <= 4) & ~((array["conditions"] != 0) & unused).any(axis=1)
        ok &= _fixed_ok(raw[:, _TRADE_ID], True)
    elif code == 3:
        ok &= array["interval"] > 0
    # Topic: the kind code, then the symbol, nothing else.
    symbol_length = (symbol != 0).sum(axis=1)
    if code == 3:
        key = array["interval"].astype(np.uint64) | ((array["flags"] & LOCAL).astype(np.uint64) << 32)
        unique, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.reshape(-1)
        prefixes = [(_bar_code(LOCAL if k >> 32 else 0, int(k & 0xFFFFFFFF)) + ".").encode("ascii")
                    for k in unique.tolist()]
    else:
        inverse = None
        prefixes = [_PREFIX[code]]
    for n, prefix in enumerate(prefixes):
        rows = slice(None) if inverse is None else np.flatnonzero(inverse == n)
        p = len(prefix)
        expected = np.zeros((len(array) if inverse is None else len(rows), p + 24), np.uint8)
        expected[:, :p] = np.frombuffer(prefix, np.uint8)
        expected[:, p:p + 24] = symbol[rows]
        width = p + 24
        same = (topics[rows, :width] == expected[:, :width]) | (np.arange(width) >= lengths[rows, None])
        ok[rows] &= (lengths[rows] == p + symbol_length[rows]) & same.all(axis=1)
    return ok


# Gather width: the largest record, which is longer than any topic.
MAX_TOPIC = max(dtype.itemsize for dtype in (TRADE, QUOTE, BAR, HEARTBEAT))


def _decode_kind(messages: list, ends, code: int, sizes=None):
    """Messages of kind `code` and the right size → (array, ok mask)."""
    buffer = np.frombuffer(b"".join(messages) + bytes(MAX_TOPIC), np.uint8)
    if sizes is None:
        sizes = np.fromiter(map(len, messages), np.int64, len(messages))
    return _gather(buffer, np.cumsum(sizes) - sizes, sizes, np.asarray(ends, np.int64), code)


def _gather(buffer: np.ndarray, starts: np.ndarray, sizes: np.ndarray, ends: np.ndarray, code: int):
    """The records of kind `code` ending the messages at `starts` in `buffer` (all messages
    joined, then MAX_TOPIC zeros) as one array, and which rows pass every check. numpy copies
    each row out of a sliding-window view: no per-message Python."""
    dtype = DTYPES[code]
    size = dtype.itemsize
    windows = np.lib.stride_tricks.sliding_window_view(buffer, MAX_TOPIC)
    array = np.ascontiguousarray(windows[starts + sizes - size, :size]).view(dtype).reshape(len(starts))
    ok = _check(array, code, windows[starts], ends)
    return array, ok


def _error(message: bytes, code: int) -> WireError:
    """Why a message that failed a vectorized check is not a record of kind `code`."""
    try:
        record = decode(message)
    except WireError as error:
        return error
    return WireError("unexpected_kind", f"a {record.kind} record where a {KINDS[code]} was expected")


def _ends(messages: list) -> list:
    """Where each message's topic ends (its first space within 40 bytes), or -1."""
    try:
        return list(map(bytes.find, messages, repeat(b" "), repeat(0), repeat(40)))
    except TypeError:  # not all bytes
        return [m.find(b" ", 0, 40) for m in messages]


def decode_batch(messages: Iterable[bytes], kind=None, errors: str = "raise"):
    """Bus messages of one fixed-size kind (`kind`: `"trade"`, `"quote"`, `"bar"`,
    `"heartbeat"` or None for the first message's) → one structured array.

    Every row is checked like `tickbus.decode` (topic included). `errors="raise"` raises the
    first row's `WireError` (with `index` set to its position); `errors="drop"` returns
    `(array, [(index, WireError), ...])` without the bad rows.
    """
    messages = messages if isinstance(messages, list) else list(messages)
    if errors not in ("raise", "drop"):
        raise ValueError('errors must be "raise" or "drop"')
    if kind is None:
        if not messages:
            raise ValueError("kind is needed for an empty batch")
        try:
            kind = decode(messages[0]).kind
        except WireError as error:
            error.index = 0
            raise
    code = _CODES.get(kind)
    if code is None:
        raise ValueError(f"no fixed-size dtype for kind {kind!r}: trade, quote, bar or heartbeat")
    size = DTYPES[code].itemsize
    ends = np.asarray(_ends(messages), np.int64)
    sizes = np.fromiter(map(len, messages), np.int64, len(messages))
    shaped = (sizes - ends - 1 == size) & (ends > 0)
    bad: List = []
    if shaped.all():
        array, ok = _decode_kind(messages, ends, code, sizes)
        rows = range(len(messages))
    else:
        rows = np.flatnonzero(shaped).tolist()
        bad = [(n, _error(messages[n], code)) for n in np.flatnonzero(~shaped).tolist()]
        array, ok = _decode_kind([messages[n] for n in rows], ends[shaped], code, sizes[shaped])
    if not ok.all():
        bad += [(rows[n], _error(messages[rows[n]], code)) for n in np.flatnonzero(~ok).tolist()]
        array = array[ok]
    bad.sort(key=lambda pair: pair[0])
    if errors == "raise":
        if bad:
            index, error = bad[0]
            error.index = index
            raise error
        return array
    return array, bad


def prices(array: np.ndarray, name: str) -> np.ndarray:
    """A price field as float64, NaN for the null price."""
    units = array[name]
    values = units / 1e9
    values[units == NULL_PRICE] = np.nan
    return values


def to_pandas(array: np.ndarray, index: str = "ts_event"):
    """A structured array of one kind as a DataFrame: a UTC DatetimeIndex from `index`
    (`ts_event`, the bar start for bars), `ts_recv` as UTC datetimes, float prices (NaN for the
    null price), symbols and trade ids as str, market and flags as ints; no length, version,
    kind or reserved columns."""
    import pandas as pd

    code = {TRADE: 1, QUOTE: 2, BAR: 3, HEARTBEAT: 5}.get(array.dtype)
    if code is None:
        raise ValueError("not an array of a tickbus dtype")
    price_fields = PRICE_FIELDS[code]
    columns = {}
    for name in array.dtype.names:
        if name in ("length", "version", "kind") or name.startswith("_") or name == index:
            continue
        if name in price_fields:
            columns[name] = prices(array, name)
        elif name in ("symbol", "trade_id"):
            columns[name] = np.char.decode(array[name], "ascii")
        elif name in ("ts_event", "ts_recv", "started_at"):
            columns[name] = pd.to_datetime(array[name], unit="ns", utc=True)
        elif name == "conditions":
            count = array["condition_count"]
            columns[name] = [tuple(c[:n]) for c, n in zip(array["conditions"].tolist(), count.tolist())]
        else:
            columns[name] = array[name]
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(pd.to_datetime(array[index], unit="ns", utc=True),
                                                         name=index))
    return frame


@dataclass
class Batch:
    """What `Subscriber.next_batch` received: one structured array per fixed-size kind (rows in
    arrival order), status records, and the events (gaps, restarts, silence, invalid messages)
    in the order they were found. Records not asked for (heartbeats unless subscribed to `H.`)
    and duplicates are left out, as `Subscriber.next` does."""

    trades: np.ndarray = field(default_factory=lambda: np.empty(0, TRADE))
    quotes: np.ndarray = field(default_factory=lambda: np.empty(0, QUOTE))
    bars: np.ndarray = field(default_factory=lambda: np.empty(0, BAR))
    heartbeats: np.ndarray = field(default_factory=lambda: np.empty(0, HEARTBEAT))
    statuses: List[Status] = field(default_factory=list)
    events: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.trades) + len(self.quotes) + len(self.bars) + len(self.heartbeats) + len(self.statuses)


_ATTRIBUTES = {1: "trades", 2: "quotes", 3: "bars", 5: "heartbeats"}
_TOPIC_TEXT: dict = {}


def _decode_messages(tracker, messages: list) -> Batch:
    """The subscriber's batch path. A batch of valid records that continue every topic's
    sequence, the usual case, is checked with array operations alone; anything else (an
    invalid message, a status record, a gap, a restart, a duplicate, a silent publisher) goes
    through `_decode_rows`, which gives the events in the order `Subscriber.next` would."""
    batch = _decode_in_order(tracker, messages)
    return batch if batch is not None else _decode_rows(tracker, messages)


def _topic_keys(array: np.ndarray, code: int) -> np.ndarray:
    """One fixed-size key per row naming its topic within a kind: the symbol field, and for
    bars the interval and LOCAL bit."""
    raw = array.view(np.uint8).reshape(len(array), array.dtype.itemsize)
    keys = np.zeros((len(array), 32), np.uint8)
    keys[:, :24] = raw[:, _SYMBOL]
    if code == 3:
        keys[:, 24:28] = raw[:, _INTERVAL]
        keys[:, 28] = array["flags"] & LOCAL
    return np.ascontiguousarray(keys).view(np.dtype((np.void, 32))).reshape(-1)


def _decode_in_order(tracker, messages: list):
    """The batch when every message is a valid fixed-size record continuing its topic's
    sequence (and no publisher is silent), else None, leaving the tracker untouched."""
    batch = Batch()
    if not messages:
        return batch
    if any(state[1] for state in tracker.publishers.values()):
        return None
    count = len(messages)
    buffer = np.frombuffer(b"".join(messages) + bytes(MAX_TOPIC), np.uint8)
    sizes = np.fromiter(map(len, messages), np.int64, count)
    ends = np.asarray(_ends(messages), np.int64)
    starts = np.cumsum(sizes) - sizes
    if not ((ends > 0) & (sizes > ends + 4)).all():
        return None
    kinds = buffer[starts + ends + 4]
    updates = {}
    # A recovering subscriber's tracker keeps each topic's last in-order ts_recv.
    received: Optional[dict] = getattr(tracker, "received", None)
    received_updates: dict = {}
    results = []
    heartbeat_names = []
    for code in np.unique(kinds).tolist():
        dtype = DTYPES.get(code)
        rows = np.flatnonzero(kinds == code)
        if dtype is None or not (sizes[rows] - ends[rows] - 1 == dtype.itemsize).all():
            return None
        array, ok = _gather(buffer, starts[rows], sizes[rows], ends[rows], code)
        if not ok.all():
            return None
        keys = _topic_keys(array, code)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        topic_of_row = inverse[order]
        seq = array["sequence"][order]
        epoch = array["epoch"][order]
        same = topic_of_row[1:] == topic_of_row[:-1]
        if not (~same | ((seq[1:] == seq[:-1] + 1) & (epoch[1:] == epoch[:-1]))).all():
            return None
        last = order[np.append(np.flatnonzero(~same), len(order) - 1)]
        wanted = []
        for u, (f, l) in enumerate(zip(first.tolist(), last.tolist())):
            message = messages[rows[f]]
            text = message[:ends[rows[f]]].decode("ascii")
            position = tracker.positions.get(text)
            if position is not None and (position[0] != array["epoch"][f] or position[1] + 1 != array["sequence"][f]):
                return None
            updates[text] = (int(array["epoch"][l]), int(array["sequence"][l]))
            if received is not None and code != 5:
                received_updates[text] = int(array["ts_recv"][l])
            wanted.append(tracker.everything or message.startswith(tracker.prefixes))
        keep = np.array(wanted, dtype=bool)[inverse]
        if code == 5:
            heartbeat_names += [s.decode("ascii") for s in array["symbol"].tolist()]
        results.append((code, array if keep.all() else array[keep]))
    tracker.positions.update(updates)
    if received is not None:
        received.update(received_updates)
    for name in heartbeat_names:
        tracker.note_heartbeat(name)
    for code, array in results:
        tracker.counters.records += len(array)
        setattr(batch, _ATTRIBUTES[code], array)
    return batch


def _decode_rows(tracker, messages: list) -> Batch:
    """The batch path for batches with events: arrays per kind, then the sequence and
    heartbeat checks row by row in arrival order."""
    from .events import Invalid

    batch = Batch()
    events = batch.events
    # A recovering subscriber's tracker keeps each topic's last in-order ts_recv.
    received: Optional[dict] = getattr(tracker, "received", None)
    groups = {1: ([], []), 2: ([], []), 3: ([], []), 5: ([], [])}
    others = []
    order = []  # per message: (kind code or 0 for "decode alone", row in its group)
    for m in messages:
        i = m.find(b" ", 0, 40)
        code = m[i + 4] if 0 < i and len(m) > i + 4 else 0
        group = groups.get(code)
        if group is None or len(m) - i - 1 != DTYPES[code].itemsize:
            order.append((0, len(others)))
            others.append(m)
        else:
            order.append((code, len(group[0])))
            group[0].append(m)
            group[1].append(i)
    decoded = {}
    for code, (group, ends) in groups.items():
        if group:
            array, ok = _decode_kind(group, ends, code)
            symbols = array["symbol"].tolist() if code == 5 else None
            decoded[code] = (array, ok.tolist(), ends, array["epoch"].tolist(),
                             array["sequence"].tolist(), symbols, [False] * len(group),
                             array["ts_recv"].tolist() if received is not None else None)
    counters = tracker.counters
    sequence = tracker.sequence
    wanted = tracker.wanted
    everything = tracker.everything

    def alone(message):
        item = tracker.handle(message)
        items = ([item] if item is not None else []) + list(tracker.pending)
        tracker.pending.clear()
        for x in items:
            if isinstance(x, Status):
                batch.statuses.append(x)
            elif isinstance(x, Event):
                events.append(x)
            else:  # a valid record of another kind than its bytes suggested: cannot happen
                raise AssertionError(x)

    for code, n in order:
        if code == 0:
            alone(others[n])
            continue
        array, ok_rows, ends, epochs, seqs, symbols, keep, times = decoded[code]
        if not ok_rows[n]:
            error = _error(groups[code][0][n], code)
            counters.invalid[error.category] = counters.invalid.get(error.category, 0) + 1
            events.append(Invalid(error))
            continue
        message = groups[code][0][n]
        topic = message[:ends[n]]
        text = _TOPIC_TEXT.get(topic)
        if text is None:
            text = topic.decode("ascii")
            if len(_TOPIC_TEXT) < 100_000:
                _TOPIC_TEXT[topic] = text
        if symbols is not None:
            resumed = tracker.note_heartbeat(symbols[n].decode("ascii"))
            if resumed is not None:
                events.append(resumed)
        position = tracker.positions.get(text) if times is not None else None
        check = sequence(text, epochs[n], seqs[n])
        if check is not None:
            if check is STALE:
                continue
            events.append(check)
        if received is not None and times is not None and symbols is None and (
                check is None or (position is not None and position[0] != epochs[n])):
            received[text] = times[n]
        if everything or wanted(message):
            keep[n] = True
    for code, (array, _, _, _, _, _, keep, _) in decoded.items():
        kept = sum(keep)
        counters.records += kept
        setattr(batch, _ATTRIBUTES[code], array if kept == len(keep) else array[np.array(keep, dtype=bool)])
    return batch


from .events import Event  # noqa: E402
from .subscriber import STALE  # noqa: E402  (subscriber imports this module lazily)
