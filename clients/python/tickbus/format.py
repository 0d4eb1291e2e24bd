"""Records and events as the lines `tickbus tap` prints: text for people, one JSON object for
programs (the Swift `RecordFormatter` and `BusEventFormatter`, character for character).
Prices are exact decimals from the integer units; sizes print without `.0` when whole.
"""

from __future__ import annotations

from .events import Gap, Invalid, Restart, Resumed, Silent
from .records import LEVELS, MARKETS, NULL_PRICE, Bar, Heartbeat, Quote, Status, Trade, flag_names

__all__ = ["format_text", "format_json", "price_text", "number_text", "iso8601"]


def price_text(units: int) -> str:
    """A price's exact decimal text: `114.125`, `-37.63`, `0.000000001`."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 1_000_000_000)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + f"{fraction:09d}".rstrip("0")


def _price(units: int) -> str:
    return "null" if units == NULL_PRICE else price_text(units)


def number_text(value: float) -> str:
    """A size or volume: whole values without `.0`, NaN and infinities as `null`."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _civil(days: int):
    """The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's algorithm)."""
    z = days + 719_468
    era = (z if z >= 0 else z - 146_096) // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def iso8601(ns: int) -> str:
    """`2024-01-02T09:30:00.123Z`: UTC, with 3, 6 or 9 decimals as needed."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    days, second = divmod(seconds, 86400)
    y, m, d = _civil(days)
    text = f"{y:04d}-{m:02d}-{d:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    if nanos:
        digits = f"{nanos:09d}"
        while len(digits) > 3 and digits.endswith("000"):
            digits = digits[:-3]
        text += "." + digits
    return text + "Z"


def _quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _flags_suffix(flags: int) -> str:
    return " [" + ",".join(flag_names(flags)) + "]" if flags else ""


def format_text(item) -> str:
    """The `tickbus tap` text line of a record or event."""
    if isinstance(item, (Trade, Quote, Bar, Status, Heartbeat)):
        return _record_text(item)
    return _event_text(item)


def _record_text(r) -> str:
    line = f"{iso8601(r.ts_event)} {r.topic} #{r.sequence}"
    if isinstance(r, Trade):
        line += f" {price_text(r.price_units)} x{number_text(r.size)}"
        if r.exchange:
            line += f" ex={r.exchange}"
        if r.tape:
            line += f" tape={r.tape}"
        if r.conditions:
            line += " cond=" + ",".join(map(str, r.conditions))
        if r.trade_id:
            line += f" id={r.trade_id}"
    elif isinstance(r, Quote):
        line += (f" bid {_price(r.bid_price_units)} x{number_text(r.bid_size)}"
                 f" ask {_price(r.ask_price_units)} x{number_text(r.ask_size)}")
        if r.bid_exchange or r.ask_exchange:
            line += f" ex={r.bid_exchange}/{r.ask_exchange}"
        if r.condition:
            line += f" cond={r.condition}"
    elif isinstance(r, Bar):
        from .wire import bar_label

        line += (f" {bar_label(r.interval)} O {price_text(r.open_units)} H {price_text(r.high_units)}"
                 f" L {price_text(r.low_units)} C {price_text(r.close_units)} V {number_text(r.volume)}")
        if r.vwap_units != NULL_PRICE:
            line += f" vwap {price_text(r.vwap_units)}"
        if r.trade_count:
            line += f" n={r.trade_count}"
    elif isinstance(r, Status):
        line += f" {LEVELS[r.level]} {r.json}"
    else:
        line += (f" published={r.published} dropped={r.dropped} topics={r.topics}"
                 f" subscriptions={r.subscriptions}")
    return line + _flags_suffix(r.flags)


def _event_text(e) -> str:
    if isinstance(e, Gap):
        return f"!! gap on {e.topic}: expected #{e.expected}, received #{e.received}, {e.lost} lost"
    if isinstance(e, Restart):
        return (f"!! publisher restarted (seen on {e.topic}): epoch {e.previous_epoch} -> {e.epoch},"
                " sequences start again")
    if isinstance(e, Silent):
        if e.publisher is None:
            return (f"!! no heartbeat from any publisher for {e.silent_ms} ms:"
                    " is one running on the endpoint?")
        return f"!! no heartbeat from {e.publisher} for {e.silent_ms} ms"
    if isinstance(e, Resumed):
        return f"!! heartbeats from {e.publisher} resumed"
    if isinstance(e, Invalid):
        return f"!! invalid message ({e.category}): {e.error}"
    raise TypeError(f"not a record or event: {e!r}")


def format_json(item) -> str:
    """The `tickbus tap --json` line of a record or event (compact, keys in tap's order)."""
    if isinstance(item, (Trade, Quote, Bar, Status, Heartbeat)):
        return _record_json(item)
    return _event_json(item)


def _record_json(r) -> str:
    parts = [
        '"topic":' + _quote(r.topic), '"kind":"' + r.kind + '"', '"market":"' + MARKETS[r.market] + '"',
        '"flags":[' + ",".join(f'"{n}"' for n in flag_names(r.flags)) + "]",
        f'"epoch":{r.epoch}', f'"sequence":{r.sequence}', f'"ts_event":{r.ts_event}',
        f'"ts_recv":{r.ts_recv}', '"time":"' + iso8601(r.ts_event) + '"', '"symbol":' + _quote(r.symbol),
    ]
    if isinstance(r, Trade):
        parts += [
            f'"price":{_price(r.price_units)}', f'"size":{number_text(r.size)}',
            f'"upstream_sequence":{r.upstream_sequence}', f'"exchange":{r.exchange}', f'"tape":{r.tape}',
            '"conditions":[' + ",".join(map(str, r.conditions)) + "]", '"trade_id":' + _quote(r.trade_id),
        ]
    elif isinstance(r, Quote):
        parts += [
            f'"bid_price":{_price(r.bid_price_units)}', f'"ask_price":{_price(r.ask_price_units)}',
            f'"bid_size":{number_text(r.bid_size)}', f'"ask_size":{number_text(r.ask_size)}',
            f'"upstream_sequence":{r.upstream_sequence}', f'"bid_exchange":{r.bid_exchange}',
            f'"ask_exchange":{r.ask_exchange}', f'"condition":{r.condition}', f'"tape":{r.tape}',
        ]
    elif isinstance(r, Bar):
        parts += [
            f'"open":{_price(r.open_units)}', f'"high":{_price(r.high_units)}', f'"low":{_price(r.low_units)}',
            f'"close":{_price(r.close_units)}', f'"vwap":{_price(r.vwap_units)}',
            f'"volume":{number_text(r.volume)}', f'"trade_count":{r.trade_count}', f'"interval":{r.interval}',
        ]
    elif isinstance(r, Status):
        parts += ['"level":"' + LEVELS[r.level] + '"', '"json":' + _quote(r.json)]
    else:
        parts += [
            f'"published":{r.published}', f'"dropped":{r.dropped}', f'"started_at":{r.started_at}',
            f'"topics":{r.topics}', f'"subscriptions":{r.subscriptions}', f'"interval_ms":{r.interval_ms}',
        ]
    return "{" + ",".join(parts) + "}"


def _event_json(e) -> str:
    if isinstance(e, Gap):
        body = f'"topic":{_quote(e.topic)},"expected":{e.expected},"received":{e.received},"lost":{e.lost}'
    elif isinstance(e, Restart):
        body = f'"topic":{_quote(e.topic)},"previous_epoch":{e.previous_epoch},"epoch":{e.epoch}'
    elif isinstance(e, Silent):
        publisher = "null" if e.publisher is None else _quote(e.publisher)
        body = f'"publisher":{publisher},"silent_ms":{e.silent_ms}'
    elif isinstance(e, Resumed):
        body = f'"publisher":{_quote(e.publisher)}'
    elif isinstance(e, Invalid):
        body = f'"category":{_quote(e.category)},"error":{_quote(str(e.error))}'
    else:
        raise TypeError(f"not a record or event: {e!r}")
    return '{"event":"' + e.event + '",' + body + "}"
