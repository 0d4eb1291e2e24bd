"""tickbus: the Python client of the tickbus market-data bus.

- `decode(message)`: one bus message (topic, space, record) → `Trade`, `Quote`, `Bar`, `Status`
  or `Heartbeat`, or `WireError` (docs/wire-format.md).
- `Subscriber` / `AsyncSubscriber`: records from the bus with gap, restart and silence events
  (docs/bus.md); with `replay=` / `since=` gaps, restarts and a late start are filled from the
  publishers' journals (docs/replay.md).
- `Control`: the control socket of `tickbus ingest` (docs/control.md).
- `curve_options(secret_key, server_key)`: socket options of a CURVE client from `tickbus keygen`
  files, for `Subscriber`, `AsyncSubscriber` and `Control` (docs/security.md).
- `tickbus.arrays`: numpy dtypes, `decode_batch` and `to_pandas` (needs numpy / pandas).
- `tickbus.replay`: the replay protocol (`ReplayClient`, `replay(endpoint, topics, since)`).
- `tickbus.journal`: journal files (docs/journal.md) as messages, numpy arrays or DataFrames,
  with their headers, holes and problems (needs numpy / pandas).
"""

from .records import (
    FLAG_NAMES, HISTORICAL, KINDS, LATE, LEVELS, LOCAL, MARKETS, NULL_PRICE, REVISION, Bar,
    Heartbeat, Quote, Record, Status, Trade, flag_names, to_datetime,
)
from .wire import WireError, bar_label, decode, split, topic_of
from .topics import TopicFilter, TopicError
from .events import Event, Gap, Invalid, Restart, Resumed, Silent
from .subscriber import AsyncSubscriber, Counters, Subscriber
from .control import Control, ControlError, ControlTimeout
from .curve import curve_options
from .format import format_json, format_text

__version__ = "0.1.0"

__all__ = [
    "decode", "split", "topic_of", "bar_label", "WireError",
    "Record", "Trade", "Quote", "Bar", "Status", "Heartbeat",
    "KINDS", "MARKETS", "LEVELS", "FLAG_NAMES", "HISTORICAL", "REVISION", "LOCAL", "LATE",
    "NULL_PRICE", "flag_names", "to_datetime",
    "TopicFilter", "TopicError",
    "Event", "Gap", "Restart", "Silent", "Resumed", "Invalid",
    "Subscriber", "AsyncSubscriber", "Counters",
    "Control", "ControlError", "ControlTimeout", "curve_options",
    "format_text", "format_json",
]
