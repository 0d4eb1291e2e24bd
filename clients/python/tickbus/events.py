"""What a subscriber reports besides records (docs/bus.md, "Subscriber").

A `Subscriber` yields records and these events in the order they happened: a `Gap` or
`Restart` comes just before the record that revealed it. Tell them apart with `isinstance(x,
tickbus.Event)` (or `x.event`, the event's name, which is also the `"event"` key of
`tickbus tap --json`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar, Optional

from .wire import WireError

__all__ = ["Event", "Gap", "Restart", "Silent", "Resumed", "Invalid"]

_SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}


@dataclass(**_SLOTS)
class Event:
    """Base class of the events; `event` is the name (`gap`, `restart`, ...)."""

    event: ClassVar[str] = ""


@dataclass(**_SLOTS)
class Gap(Event):
    """Sequence numbers of `topic` were skipped within an epoch: `lost` records never arrived."""

    topic: str
    expected: int
    received: int
    lost: int

    event: ClassVar[str] = "gap"


@dataclass(**_SLOTS)
class Restart(Event):
    """A publisher restarted (its epoch changed); reported once per epoch change, not per topic."""

    topic: str
    previous_epoch: int
    epoch: int

    event: ClassVar[str] = "restart"


@dataclass(**_SLOTS)
class Silent(Event):
    """No heartbeat from `publisher` for `silent_for` seconds (`publisher` None: none ever heard)."""

    publisher: Optional[str]
    silent_for: float

    event: ClassVar[str] = "silent"

    @property
    def silent_ms(self) -> int:
        return int(self.silent_for * 1000)


@dataclass(**_SLOTS)
class Resumed(Event):
    """Heartbeats from a publisher that had gone silent came back."""

    publisher: str

    event: ClassVar[str] = "resumed"


@dataclass(**_SLOTS)
class Invalid(Event):
    """A message that is not a valid record; `error.category` says why."""

    error: WireError

    event: ClassVar[str] = "invalid"

    @property
    def category(self) -> str:
        return self.error.category
