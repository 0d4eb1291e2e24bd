"""The five record kinds of wire format v1 as dataclasses (docs/wire-format.md §2).

Every record carries the header fields (`topic`, `symbol`, `market`, `flags`, `epoch`,
`sequence`, `ts_event`, `ts_recv`) and its kind's fields. Prices are floats (`None` for the null
price) with the exact integer count of 1e-9 next to them (`price_units`, `bid_price_units`, ...).
Times are int nanoseconds since 1970 UTC; `event_time` / `recv_time` give `datetime`s.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Optional, Tuple

__all__ = [
    "Record", "Trade", "Quote", "Bar", "Status", "Heartbeat",
    "KINDS", "MARKETS", "LEVELS", "FLAG_NAMES", "HISTORICAL", "REVISION", "LOCAL", "LATE",
    "NULL_PRICE", "flag_names", "to_datetime",
]

_SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}

#: Kind names by code (§2.7); index 0 is unused.
KINDS = (None, "trade", "quote", "bar", "status", "heartbeat")
#: Market names by code (§2.8).
MARKETS = ("unknown", "stocks", "options", "indices", "forex", "crypto", "futures")
#: Status level names by code (§2.10).
LEVELS = ("info", "warning", "error")

HISTORICAL = 0x01  #: from a REST backfill, not the live stream
REVISION = 0x02    #: replaces an earlier bar with the same symbol and start
LOCAL = 0x04       #: computed by tickbus (`tickbus bars`)
LATE = 0x08        #: arrived after its bar had closed
FLAG_NAMES = ((HISTORICAL, "historical"), (REVISION, "revision"), (LOCAL, "local"), (LATE, "late"))

#: The null price, Int64.min (q's 0Nj): "no value", e.g. a bar without a VWAP.
NULL_PRICE = -(1 << 63)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def flag_names(flags: int) -> list:
    """`["historical", "late"]` for the set flag bits, in bit order."""
    return [name for bit, name in FLAG_NAMES if flags & bit]


def to_datetime(ns: int) -> datetime:
    """Nanoseconds since 1970 UTC as an aware `datetime` (microseconds, rounded toward the past)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


@dataclass(**_SLOTS)
class Record:
    """Fields every record has (the 64-byte header), plus the topic it came on."""

    topic: str
    symbol: str
    market: int
    flags: int
    epoch: int
    sequence: int
    ts_event: int
    ts_recv: int

    kind: ClassVar[str] = ""

    @property
    def market_name(self) -> str:
        return MARKETS[self.market]

    @property
    def flag_names(self) -> list:
        return flag_names(self.flags)

    @property
    def historical(self) -> bool:
        return bool(self.flags & HISTORICAL)

    @property
    def event_time(self) -> datetime:
        """`ts_event` as an aware UTC `datetime` (microsecond precision)."""
        return to_datetime(self.ts_event)

    @property
    def recv_time(self) -> datetime:
        """`ts_recv` as an aware UTC `datetime` (microsecond precision)."""
        return to_datetime(self.ts_recv)


@dataclass(**_SLOTS)
class Trade(Record):
    price: Optional[float]
    price_units: int
    size: float
    upstream_sequence: int
    exchange: int
    tape: int
    conditions: Tuple[int, ...]
    trade_id: str

    kind: ClassVar[str] = "trade"


@dataclass(**_SLOTS)
class Quote(Record):
    bid_price: Optional[float]
    bid_price_units: int
    ask_price: Optional[float]
    ask_price_units: int
    bid_size: float
    ask_size: float
    upstream_sequence: int
    bid_exchange: int
    ask_exchange: int
    condition: int
    tape: int

    kind: ClassVar[str] = "quote"


@dataclass(**_SLOTS)
class Bar(Record):
    """`ts_event` is the bar's start; it covers `[ts_event, ts_event + interval s)`."""

    open: Optional[float]
    open_units: int
    high: Optional[float]
    high_units: int
    low: Optional[float]
    low_units: int
    close: Optional[float]
    close_units: int
    vwap: Optional[float]
    vwap_units: int
    volume: float
    trade_count: int
    interval: int

    kind: ClassVar[str] = "bar"


@dataclass(**_SLOTS)
class Status(Record):
    """A process's status (`S.ingest`): `symbol` is the process name, `json` one JSON object."""

    level: int
    json: str

    kind: ClassVar[str] = "status"

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]

    def data(self):
        """The body parsed (`json.loads`); None when it is empty."""
        import json as _json

        return _json.loads(self.json) if self.json else None


@dataclass(**_SLOTS)
class Heartbeat(Record):
    """A publisher's liveness record (`H.ingest`): `symbol` is the process name."""

    published: int
    dropped: int
    started_at: int
    topics: int
    subscriptions: int
    interval_ms: int

    kind: ClassVar[str] = "heartbeat"
