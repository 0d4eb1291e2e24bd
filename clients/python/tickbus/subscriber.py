"""Bus subscribers: records from one or more publishers, with sequence-gap, restart and
heartbeat checks that mirror the Swift `Bus.Subscriber` (docs/bus.md, docs/wire-format.md §4).

```python
from tickbus import Subscriber, Event

with Subscriber("tcp://127.0.0.1:7700", ["T.AAPL", "A."]) as sub:
    for item in sub:                      # records and events, in order
        if isinstance(item, Event):
            print("!!", item)             # Gap, Restart, Silent, Resumed, Invalid
        else:
            print(item.topic, item.sequence, item.ts_event)
```

Per topic, the subscriber keeps the last `(epoch, sequence)` it saw. A sequence past the next
one is a `Gap` (reported before the record), a new epoch a `Restart` (once per epoch change),
a sequence at or below the last one a duplicate (counted as `stale`, not delivered). The socket
is also subscribed to `H.` so heartbeats keep each publisher's liveness: no heartbeat for
`heartbeat_timeout` seconds is a `Silent` event, their return `Resumed`. Heartbeat records are
delivered only when the topics ask for them (`H.`, `H.ingest`, `*`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

import zmq

from .events import Gap, Invalid, Restart, Resumed, Silent
from .records import Heartbeat
from .topics import TopicFilter
from .wire import WireError, decode

__all__ = ["Subscriber", "AsyncSubscriber", "Counters"]


@dataclass
class Counters:
    """What a subscriber has seen (the Swift `Subscriber.Counters`)."""

    records: int = 0
    gaps: int = 0
    #: Records lost in gaps.
    lost: int = 0
    restarts: int = 0
    #: Records with a sequence number already passed (duplicates), not delivered.
    stale: int = 0
    #: Invalid messages by `WireError.category`.
    invalid: dict = field(default_factory=dict)
    heartbeats: int = 0

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid.values())


#: `_Tracker.sequence` result for a duplicate.
STALE = object()
_NOBLOCK = zmq.NOBLOCK
_Again = zmq.Again


def _filters(topics) -> list:
    if isinstance(topics, (str, TopicFilter)):
        topics = [topics]
    return [t if isinstance(t, TopicFilter) else TopicFilter(t) for t in topics]


class _Tracker:
    """Sequence, restart and heartbeat bookkeeping shared by the sync and async subscribers."""

    def __init__(self, filters: list, heartbeat_timeout: float):
        self.filters = filters
        self.prefixes = tuple(f.prefix for f in filters)
        self.everything = not filters or b"" in self.prefixes
        self.counters = Counters()
        self.positions: dict = {}
        self.reported_restarts: set = set()
        # publisher name -> [monotonic ns of its last heartbeat, silent]
        self.publishers: dict = {}
        self.started_at = time.monotonic_ns()
        self.reported_no_heartbeat = False
        self.timeout_ns = int(heartbeat_timeout * 1e9)
        #: How often heartbeats are checked while idle: a quarter of the timeout, at least 50 ms.
        self.check_interval_ms = max(50, self.timeout_ns // 4_000_000)
        self.pending: deque = deque()
        # Heartbeats are checked when the socket has been idle for a check interval and every
        # 1024 messages; not before the first read, so heartbeats already queued count.
        self.until_clock_check = 1024

    def subscriptions(self) -> list:
        prefixes = list(self.prefixes) if self.filters else [b""]
        if b"" not in prefixes:
            prefixes.append(b"H.")
        return prefixes

    def handle(self, message: bytes):
        """The first record or event `message` causes (None if none); the rest go to `pending`."""
        try:
            record = decode(message)
        except WireError as error:
            invalid = self.counters.invalid
            invalid[error.category] = invalid.get(error.category, 0) + 1
            return Invalid(error)
        topic = record.topic
        epoch = record.epoch
        sequence = record.sequence
        positions = self.positions
        position = positions.get(topic)
        if (position is not None and position[1] + 1 == sequence and position[0] == epoch
                and type(record) is not Heartbeat):
            # The common case: in order, no event.
            positions[topic] = (epoch, sequence)
            if self.everything or message.startswith(self.prefixes):
                self.counters.records += 1
                return record
            return None
        events = None
        if type(record) is Heartbeat:
            resumed = self.note_heartbeat(record.symbol)
            if resumed is not None:
                events = [resumed]
        if position is not None and position[1] + 1 == sequence and position[0] == epoch:
            positions[topic] = (epoch, sequence)
        else:
            check = self.sequence(topic, epoch, sequence)
            if check is not None:
                if check is STALE:
                    return self._first(events, None)
                events = (events or []) + [check]
        if not (self.everything or message.startswith(self.prefixes)):
            return self._first(events, None)
        self.counters.records += 1
        if events is None:
            return record
        return self._first(events, record)

    def sequence(self, topic: str, epoch: int, sequence: int):
        """Notes `(epoch, sequence)` seen on `topic`: None when in order (or the topic's first),
        a `Gap` or `Restart` event, or `STALE` for a number at or below the last one."""
        position = self.positions.get(topic)
        if position is None:
            self.positions[topic] = (epoch, sequence)
            return None
        if position[0] == epoch:
            last = position[1]
            if sequence == last + 1:
                self.positions[topic] = (epoch, sequence)
                return None
            if sequence <= last:
                self.counters.stale += 1
                return STALE
            self.positions[topic] = (epoch, sequence)
            expected = last + 1
            c = self.counters
            c.gaps += 1
            c.lost += sequence - expected
            return Gap(topic, expected, sequence, sequence - expected)
        self.positions[topic] = (epoch, sequence)
        key = (position[0], epoch)
        if key in self.reported_restarts:
            return None
        self.reported_restarts.add(key)
        self.counters.restarts += 1
        return Restart(topic, position[0], epoch)

    def wanted(self, message: bytes) -> bool:
        return self.everything or message.startswith(self.prefixes)

    def _first(self, events, record):
        if events is None:
            return record
        self.pending.extend(events[1:])
        if record is not None:
            self.pending.append(record)
        return events[0]

    def note_heartbeat(self, name: str):
        self.counters.heartbeats += 1
        state = self.publishers.get(name)
        self.publishers[name] = [time.monotonic_ns(), False]
        return Resumed(name) if state is not None and state[1] else None

    def check_if_due(self) -> bool:
        """Checks heartbeats once 1024 messages have gone by, or the socket was idle (the
        counter set to 0); whether it checked."""
        if self.until_clock_check > 0:
            return False
        self.until_clock_check = 1024
        self.check_heartbeats(time.monotonic_ns())
        return True

    def check_heartbeats(self, now: int) -> None:
        """Queues `Silent` for publishers whose heartbeats stopped, and for a bus with none."""
        if not self.publishers:
            if not self.reported_no_heartbeat and now - self.started_at > self.timeout_ns:
                self.reported_no_heartbeat = True
                self.pending.append(Silent(None, (now - self.started_at) / 1e9))
            return
        for name, state in self.publishers.items():
            if not state[1] and now - state[0] > self.timeout_ns:
                state[1] = True
                self.pending.append(Silent(name, (now - state[0]) / 1e9))


def _batch(tracker: _Tracker, socket: zmq.Socket, max_messages: int):
    """Decodes up to `max_messages` messages already queued on `socket` (a blocking socket, read
    without blocking) into a `tickbus.arrays.Batch`, with the tracker's checks."""
    from .arrays import _decode_messages

    messages = []
    append = messages.append
    recv = socket.recv
    try:
        for _ in range(max_messages):
            append(recv(zmq.NOBLOCK))
    except zmq.Again:
        pass
    tracker.until_clock_check -= len(messages)
    return _decode_messages(tracker, messages)


class _Base:
    def __init__(self, endpoints, topics, receive_hwm, heartbeat_timeout, context, socket_class, options):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        self.endpoints = list(endpoints)
        self._tracker = _Tracker(_filters(topics), heartbeat_timeout)
        self.filters = self._tracker.filters
        self._socket = socket_class(context, zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RCVHWM, receive_hwm)
        for option, value in (options or {}).items():
            self._socket.setsockopt(option, value)
        for prefix in self._tracker.subscriptions():
            self._socket.setsockopt(zmq.SUBSCRIBE, prefix)
        try:
            for endpoint in self.endpoints:
                self._socket.connect(endpoint)
        except zmq.ZMQError:
            self._socket.close()
            raise
        self._recv = self._socket.recv

    @property
    def counters(self) -> Counters:
        return self._tracker.counters

    def close(self) -> None:
        self._socket.close(linger=0)

    def _limits(self, timeout):
        check = self._tracker.check_interval_ms
        limit = None if timeout is None else max(0, int(timeout * 1000))
        return limit, min(check if limit is None else limit, check)


class Subscriber(_Base):
    """A SUB socket connected to `endpoints` (a string or a list), subscribed to `topics`
    (patterns such as `T.AAPL`, `T.`, `T.AA*`, `*`; none: everything) and to heartbeats.

    Iterate it for records and events; `next(timeout)` returns one or None. Like every ZeroMQ
    socket it belongs to the thread that uses it. `receive_hwm` is the number of messages queued
    before libzmq drops further ones for this subscriber (they show up as gaps); `options` are
    more socket options set before connecting (`{zmq.CURVE_SERVERKEY: ..., zmq.RCVBUF: ...}`).
    """

    def __init__(self, endpoints: Union[str, Iterable[str]], topics: Iterable = (), *,
                 receive_hwm: int = 100_000, heartbeat_timeout: float = 3.0,
                 context: Optional[zmq.Context] = None, options: Optional[dict] = None):
        super().__init__(endpoints, topics, receive_hwm, heartbeat_timeout,
                         context or zmq.Context.instance(), zmq.Socket, options)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __iter__(self):
        while True:
            item = self.next()
            if item is not None:
                yield item

    def next(self, timeout: Optional[float] = None):
        """The next record or event, waiting up to about `timeout` seconds (None: until there is
        one); None when the time passes with nothing to report. Heartbeats are checked while
        waiting and every 1024 messages."""
        tracker = self._tracker
        pending = tracker.pending
        if pending:
            return pending.popleft()
        if tracker.until_clock_check > 0:  # fast path: a message is already queued
            try:
                message = self._recv(_NOBLOCK)
            except _Again:
                pass
            else:
                tracker.until_clock_check -= 1
                item = tracker.handle(message)
                if item is not None:
                    return item
        limit, wait = self._limits(timeout)
        socket = self._socket
        recv = socket.recv
        handle = tracker.handle
        waited = 0
        while True:
            if tracker.check_if_due() and pending:
                return pending.popleft()
            try:
                message = recv(zmq.NOBLOCK)
            except zmq.Again:
                if socket.poll(wait, zmq.POLLIN):
                    continue
                tracker.until_clock_check = 0
                waited += wait
                if limit is not None and waited >= limit:
                    tracker.check_heartbeats(time.monotonic_ns())
                    return pending.popleft() if pending else None
                continue
            tracker.until_clock_check -= 1
            item = handle(message)
            if item is not None:
                return item

    def next_batch(self, max_messages: int = 65536, timeout: Optional[float] = None):
        """Up to `max_messages` messages decoded into numpy arrays (one per kind) with the same
        gap/restart/heartbeat checks: a `tickbus.arrays.Batch`. Waits up to `timeout` for the
        first message (None: until one comes), then takes what is already queued. Needs numpy."""
        tracker = self._tracker
        socket = self._socket
        limit, wait = self._limits(timeout)
        waited = 0
        while True:
            tracker.check_if_due()
            if socket.poll(wait, zmq.POLLIN):
                break
            tracker.until_clock_check = 0
            waited += wait
            if tracker.pending or (limit is not None and waited >= limit):
                return _batch(tracker, socket, 0)
        return _batch(tracker, socket, max_messages)


class AsyncSubscriber(_Base):
    """`Subscriber` for asyncio, on `zmq.asyncio`: `await sub.next(timeout)` and
    `async for item in sub`. Same checks and events."""

    def __init__(self, endpoints: Union[str, Iterable[str]], topics: Iterable = (), *,
                 receive_hwm: int = 100_000, heartbeat_timeout: float = 3.0,
                 context=None, options: Optional[dict] = None):
        import zmq.asyncio

        super().__init__(endpoints, topics, receive_hwm, heartbeat_timeout,
                         context or zmq.asyncio.Context.instance(), zmq.asyncio.Socket, options)
        # next_batch drains what is queued through a blocking view of the same socket, as
        # pyzmq's own non-blocking receives do; the event loop's thread still owns it.
        self._drain_socket = zmq.Socket.shadow(self._socket.underlying)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()

    def __aiter__(self):
        return self

    async def __anext__(self):
        while True:
            item = await self.next()
            if item is not None:
                return item

    async def next(self, timeout: Optional[float] = None):
        """The next record or event, waiting up to about `timeout` seconds without blocking the
        event loop; None when the time passes with nothing to report."""
        tracker = self._tracker
        pending = tracker.pending
        if pending:
            return pending.popleft()
        limit, wait = self._limits(timeout)
        socket = self._socket
        waited = 0
        while True:
            if tracker.check_if_due() and pending:
                return pending.popleft()
            if not socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                if await socket.poll(wait, zmq.POLLIN):
                    continue
                tracker.until_clock_check = 0
                waited += wait
                if limit is not None and waited >= limit:
                    tracker.check_heartbeats(time.monotonic_ns())
                    return pending.popleft() if pending else None
                continue
            message = await socket.recv()
            tracker.until_clock_check -= 1
            item = tracker.handle(message)
            if item is not None:
                return item

    async def next_batch(self, max_messages: int = 65536, timeout: Optional[float] = None):
        """`Subscriber.next_batch` without blocking the event loop: waits up to `timeout` for the
        first message, then decodes what is already queued into a `tickbus.arrays.Batch`."""
        tracker = self._tracker
        socket = self._socket
        limit, wait = self._limits(timeout)
        waited = 0
        while True:
            tracker.check_if_due()
            if socket.getsockopt(zmq.EVENTS) & zmq.POLLIN or await socket.poll(wait, zmq.POLLIN):
                break
            tracker.until_clock_check = 0
            waited += wait
            if tracker.pending or (limit is not None and waited >= limit):
                return _batch(tracker, self._drain_socket, 0)
        return _batch(tracker, self._drain_socket, max_messages)
