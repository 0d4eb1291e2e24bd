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
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import zmq

from .events import Event, Gap, Invalid, Restart, Resumed, Silent
from .records import Heartbeat, Status
from .replay import (
    UNKNOWN_EPOCH, AsyncReplayClient, ReplayBatch, ReplayEnd, ReplayError, ReplayRefused, ReplayRequest,
    ReplayClient, SinceArg, replay_endpoint, since_ns, split_batch,
)
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
    #: Records delivered from replays (gaps, restarts and a late start filled; docs/replay.md).
    recovered: int = 0
    #: Replays that failed (the server refused or did not answer in time); their losses are
    #: reported as gaps.
    replay_failures: int = 0

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


class _Round:
    """A replay that fills what the live stream lost, from each replay endpoint in turn (the Swift
    `Subscriber.Round`). Live messages wait in the socket meanwhile; the one that showed the loss
    is `held` and handled again once the round is over."""

    __slots__ = ("request", "endpoint", "started", "held", "attempt", "not_until", "initial")

    def __init__(self, request: ReplayRequest, held: Optional[bytes] = None, attempt: int = 0):
        self.request = request
        #: The endpoint being replayed, and whether its request was sent.
        self.endpoint = 0
        self.started = False
        self.held = held
        #: Rounds run for the held message so far, this one included (the journal may lag the
        #: bus by milliseconds: up to 3, then its loss is reported).
        self.attempt = attempt
        #: A repeated round starts no earlier than this (time.monotonic()): ROUND_DELAYS.
        self.not_until = 0.0
        #: The late start's round.
        self.initial = False

    def delay(self) -> float:
        """Seconds to wait before this round's first request (0 for a first round)."""
        return self.not_until - time.monotonic() if self.not_until else 0.0


#: Rounds for one held message before its loss is reported.
MAX_ROUNDS = 3
#: Seconds between the end of a round and the next one for the same held message: the journal
#: writes a partial block once its first message is 2 ms old, and its writer may be behind, so
#: rounds back to back (a millisecond each on a fast server) can all miss what was published
#: just before the held message.
ROUND_DELAYS = (0.0, 0.01, 0.1)


class _RecoveringTracker(_Tracker):
    """`_Tracker` for a subscriber with replay endpoints: a gap or a restart (on a journaled
    topic: not a heartbeat) holds the message and starts a `_Round` instead of being reported.
    Also keeps each topic's last in-order `ts_recv` (a replay need not look before it)."""

    def __init__(self, filters: list, heartbeat_timeout: float):
        super().__init__(filters, heartbeat_timeout)
        #: topic -> ts_recv of its last record in order (never later than that).
        self.received: Dict[str, int] = {}
        #: Whether a gap or restart starts a round now (not while replayed messages are handled,
        #: nor for a held message after its last round).
        self.recover = True
        self.attempt = 0
        self.round: Optional[_Round] = None
        #: topic -> the epochs it has left (a restart taken): a replay that reaches back into one
        #: (the topic had no position in the epoch asked for) brings duplicates.
        self.left: Dict[str, set] = {}
        #: After a late start: its time (0 for the journal's start), and when the journals' heads
        #: were when its replay ended (ns UTC, 0 unknown). A topic first seen live after it with a
        #: sequence number past 1 lost its first records between the replay's end and the
        #: subscription taking effect (ZeroMQ's slow joiner): they are replayed too.
        self.late_start: Optional[int] = None
        self.caught_up = 0

    def sequence(self, topic: str, epoch: int, sequence: int):
        position = self.positions.get(topic)
        if position is not None and position[0] != epoch:
            left = self.left.get(topic)
            if left is not None and epoch in left:
                self.counters.stale += 1
                return STALE
            self.left.setdefault(topic, set()).add(position[0])
        return super().sequence(topic, epoch, sequence)

    def handle(self, message: bytes):
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
        heartbeat = type(record) is Heartbeat
        events = None
        if heartbeat:
            resumed = self.note_heartbeat(record.symbol)
            if resumed is not None:
                events = [resumed]
        if position is not None and position[1] + 1 == sequence and position[0] == epoch:
            positions[topic] = (epoch, sequence)
            if not heartbeat:
                self.received[topic] = record.ts_recv
        elif position is None:
            if sequence > 1 and self.late_start is not None and self.recover and not heartbeat:
                self.start_round(topic, epoch, message)
                return None
            positions[topic] = (epoch, sequence)
            self.received[topic] = record.ts_recv
        elif position[0] == epoch and sequence <= position[1] or (
                position[0] != epoch and epoch in self.left.get(topic, ())):
            self.counters.stale += 1
            return self._first(events, None)
        elif self.recover and not heartbeat:
            # A gap or a restart: the topic stays where it was; replay what follows.
            self.start_round(topic, position[0], message)
            return None
        else:
            check = self.sequence(topic, epoch, sequence)
            if position[0] != epoch:
                self.received[topic] = record.ts_recv
            if check is not None:
                events = (events or []) + [check]
        if not (self.everything or message.startswith(self.prefixes)):
            return self._first(events, None)
        self.counters.records += 1
        if events is None:
            return record
        return self._first(events, record)

    def start_round(self, topic: str, epoch: int, message: Optional[bytes]) -> None:
        """A round replaying everything after the positions of `epoch` (and every later epoch),
        not before a second before `topic`'s last record in order, holding `message`."""
        if topic in self.positions:
            not_before = max(0, self.received.get(topic, 0) - 1_000_000_000)
        else:  # a topic first seen after a late start: only what followed its replay
            not_before = max(self.late_start or 0, self.caught_up - 1_000_000_000 if self.caught_up else 0)
        sequences = {t: p[1] for t, p in self.positions.items() if p[0] == epoch}
        request = ReplayRequest.after(epoch, sequences, not_before, self.filters)
        self.round = _Round(request, message, self.attempt + 1)
        if self.attempt:
            self.round.not_until = time.monotonic() + ROUND_DELAYS[min(self.attempt, len(ROUND_DELAYS) - 1)]


class _Collector:
    """What a `next_batch` of a recovering subscriber gathers: batches decoded from replays and
    single live messages handled one by one, in order, then one `Batch`."""

    def __init__(self, tracker: _RecoveringTracker):
        self.tracker = tracker
        self.parts: list = []
        self.raw: List[bytes] = []
        self.events: list = []
        self.statuses: list = []
        self.rows = 0

    def add_replayed(self, messages: List[bytes]) -> None:
        """Replayed messages through the batch path (gaps in them are reported, not replayed)."""
        from .arrays import _decode_messages

        tracker = self.tracker
        counters = tracker.counters
        before = counters.records
        tracker.recover = False
        try:
            batch = _decode_messages(tracker, messages)
        finally:
            tracker.recover = True
        counters.recovered += counters.records - before
        self._flush()
        self.parts.append(batch)
        self.events += batch.events
        self.statuses += batch.statuses
        self.rows += len(batch)

    def capture(self, message: bytes) -> None:
        """One message through the tracker (which may start a round), its items kept."""
        tracker = self.tracker
        pending = tracker.pending
        mark = len(pending)
        item = tracker.handle(message)
        extra = [pending.pop() for _ in range(len(pending) - mark)]
        extra.reverse()
        for x in ([item] if item is not None else []) + extra:
            if isinstance(x, Event):
                self.events.append(x)
            elif type(x) is Status:
                self.statuses.append(x)
            else:
                self.raw.append(message)
                self.rows += 1

    def _flush(self) -> None:
        if not self.raw:
            return
        from .arrays import Batch, _ATTRIBUTES, _decode_kind, _ends

        groups: Dict[int, tuple] = {}
        for message, end in zip(self.raw, _ends(self.raw)):
            group = groups.setdefault(message[end + 4], ([], []))
            group[0].append(message)
            group[1].append(end)
        batch = Batch()
        for code, (messages, ends) in groups.items():
            setattr(batch, _ATTRIBUTES[code], _decode_kind(messages, ends, code)[0])
        self.parts.append(batch)
        self.raw = []

    def batch(self):
        import numpy as np
        from .arrays import Batch

        self._flush()
        pending = self.tracker.pending
        # Events queued outside a message (silence) go with this batch; records stay for next().
        kept = [x for x in pending if not isinstance(x, (Event, Status))]
        self.events += [x for x in pending if isinstance(x, Event)]
        self.statuses += [x for x in pending if type(x) is Status]
        pending.clear()
        pending.extend(kept)
        out = Batch(statuses=self.statuses, events=self.events)
        for name in ("trades", "quotes", "bars", "heartbeats"):
            arrays = [getattr(p, name) for p in self.parts if len(getattr(p, name))]
            if len(arrays) == 1:
                setattr(out, name, arrays[0])
            elif arrays:
                setattr(out, name, np.concatenate(arrays))
        return out


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


#: Socket options a replay client takes from the subscriber's (CURVE: the same keys).
_REPLAY_OPTIONS = (zmq.CURVE_SERVERKEY, zmq.CURVE_PUBLICKEY, zmq.CURVE_SECRETKEY)

ReplayArg = Union[None, bool, str, Iterable[str]]


def _replay_endpoints(replay: ReplayArg, since: SinceArg, endpoints: List[str]) -> List[str]:
    if replay is None:
        replay = since is not None
    if replay is False:
        if since is not None:
            raise ValueError("since needs replay endpoints (replay=True or a list)")
        return []
    if replay is True:
        return [replay_endpoint(e) for e in endpoints]
    found = [replay] if isinstance(replay, str) else list(replay)
    if since is not None and not found:
        raise ValueError("since needs replay endpoints (replay=True or a list)")
    return found


class _Base:
    def __init__(self, endpoints, topics, receive_hwm, heartbeat_timeout, context, socket_class, options,
                 replay=None, since=None, replay_timeout=30.0, replay_client=ReplayClient):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        self.endpoints = list(endpoints)
        #: The replay endpoints gaps and restarts are filled from (docs/replay.md); empty: none.
        self.replay_endpoints = _replay_endpoints(replay, since, self.endpoints)
        start = since_ns(since) if since is not None else None  # checked before any socket opens
        tracker_class = _RecoveringTracker if self.replay_endpoints else _Tracker
        self._tracker = tracker_class(_filters(topics), heartbeat_timeout)
        self.filters = self._tracker.filters
        self._socket = socket_class(context, zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RCVHWM, receive_hwm)
        for option, value in (options or {}).items():
            self._socket.setsockopt(option, value)
        for prefix in self._tracker.subscriptions():
            self._socket.setsockopt(zmq.SUBSCRIBE, prefix)
        self._replay_clients: list = []
        try:
            for endpoint in self.endpoints:
                self._socket.connect(endpoint)
            replay_options = {k: v for k, v in (options or {}).items() if k in _REPLAY_OPTIONS}
            for endpoint in self.replay_endpoints:
                self._replay_clients.append(replay_client(endpoint, timeout=replay_timeout, context=context,
                                                          options=replay_options))
        except zmq.ZMQError:
            self.close()
            raise
        self._recv = self._socket.recv
        #: Live messages received but not handled yet (a batch a round interrupted).
        self._backlog: deque = deque()
        if self.replay_endpoints:
            tracker = self._tracker
            if since is not None:
                request = (ReplayRequest.beginning(self.filters) if start is None
                           else ReplayRequest.at(start, self.filters))
                tracker.round = _Round(request)
                tracker.round.initial = True
                tracker.late_start = start or 0
            # No per-message cost without recovery: the recovering methods replace the others.
            setattr(self, "next", self._next_recovering)
            setattr(self, "next_batch", self._next_batch_recovering)

    @property
    def counters(self) -> Counters:
        return self._tracker.counters

    def close(self) -> None:
        self._socket.close(linger=0)
        for client in self._replay_clients:
            client.close()

    def _limits(self, timeout):
        check = self._tracker.check_interval_ms
        limit = None if timeout is None else max(0, int(timeout * 1000))
        return limit, min(check if limit is None else limit, check)

    # Recovery: the parts shared by the sync and async subscribers.

    def _push(self, message: bytes) -> None:
        """Handles `message`, queueing its items in order after what is queued."""
        tracker = self._tracker
        pending = tracker.pending
        mark = len(pending)
        item = tracker.handle(message)
        if item is not None:
            if len(pending) == mark:
                pending.append(item)
            else:
                pending.insert(mark, item)

    def _deliver_replayed(self, messages: List[bytes]) -> None:
        """Replayed messages through the tracker, their items queued (a gap among them is
        reported, not replayed)."""
        tracker = self._tracker
        counters = tracker.counters
        before = counters.records
        push = self._push
        tracker.recover = False
        try:
            for message in messages:
                push(message)
        finally:
            tracker.recover = True
        counters.recovered += counters.records - before

    def _round_client(self, capture: Callable[[bytes], None]):
        """The client of the round's current endpoint, or None after ending the round."""
        tracker = self._tracker
        current = tracker.round
        if current.endpoint < len(self._replay_clients):
            return self._replay_clients[current.endpoint]
        self._end_round(capture)
        return None

    def _round_reply(self, client, reply, sink: Callable[[List[bytes]], None]) -> None:
        kind = type(reply)
        if kind is ReplayBatch:
            try:
                messages = split_batch(reply.body)
            except ReplayError as error:
                client.cancel()
                return self._round_failed(error)
            sink(messages)
            client.credit(1)
        elif kind is ReplayEnd:
            tracker = self._tracker
            if tracker.round.initial and reply.head_time:
                tracker.caught_up = min(tracker.caught_up or reply.head_time, reply.head_time)
            self._next_endpoint()
        else:  # a hole: what the journal lacks shows as a gap after the round
            client.credit(1)

    def _round_failed(self, error: ReplayError) -> None:
        # An epoch another publisher's journal does not hold is not a failure.
        if not (isinstance(error, ReplayRefused) and error.code == UNKNOWN_EPOCH):
            self._tracker.counters.replay_failures += 1
        self._next_endpoint()

    def _next_endpoint(self) -> None:
        current = self._tracker.round
        current.endpoint += 1
        current.started = False

    def _end_round(self, capture: Callable[[bytes], None]) -> None:
        """Ends the round: heartbeats count from now, and the held message goes through again
        (starting another round if its loss is still open, up to `MAX_ROUNDS`)."""
        tracker = self._tracker
        finished = tracker.round
        tracker.round = None
        now = time.monotonic_ns()
        for state in tracker.publishers.values():
            state[0] = now
        if finished.held is None:
            return
        tracker.attempt = finished.attempt
        tracker.recover = finished.attempt < MAX_ROUNDS
        try:
            capture(finished.held)
        finally:
            tracker.attempt = 0
            tracker.recover = True

    def _replay_step(self, sink: Callable[[List[bytes]], None], capture: Callable[[bytes], None]) -> None:
        """Handles the next reply of the round's replay (waiting up to the replay timeout)."""
        client = self._round_client(capture)
        if client is None:
            return
        current = self._tracker.round
        try:
            if not current.started:
                delay = current.delay()
                if delay > 0:
                    time.sleep(delay)
                current.not_until = 0.0
                current.started = True
                client.start(current.request)
            reply = client.receive()
        except ReplayError as error:
            return self._round_failed(error)
        self._round_reply(client, reply, sink)


class Subscriber(_Base):
    """A SUB socket connected to `endpoints` (a string or a list), subscribed to `topics`
    (patterns such as `T.AAPL`, `T.`, `T.AA*`, `*`; none: everything) and to heartbeats.

    Iterate it for records and events; `next(timeout)` returns one or None. Like every ZeroMQ
    socket it belongs to the thread that uses it. `receive_hwm` is the number of messages queued
    before libzmq drops further ones for this subscriber (they show up as gaps); `options` are
    more socket options set before connecting (`{zmq.CURVE_SERVERKEY: ..., zmq.RCVBUF: ...}`).

    Recovery (docs/replay.md): with `replay` (a replay endpoint or a list of them; `True`: beside
    each bus endpoint, its port + 10) a gap or a publisher restart is filled from the publishers'
    journals, so each record comes once, in per-topic order; only what no journal holds is
    reported as a `Gap`. `since` starts with a replay (a late start): `"start"` the journal's
    beginning, a `datetime`, ns since 1970 UTC, or `"HH:MM"` today in New York; `since` without
    `replay` means `replay=True`. `replay_timeout` bounds each wait for a replay server (a
    server that refuses or does not answer counts in `counters.replay_failures`, and its losses
    are reported as gaps); `counters.recovered` counts the records replays delivered. The CURVE
    keys of `options` are used for the replay endpoints too.
    """

    def __init__(self, endpoints: Union[str, Iterable[str]], topics: Iterable = (), *,
                 receive_hwm: int = 100_000, heartbeat_timeout: float = 3.0,
                 context: Optional[zmq.Context] = None, options: Optional[dict] = None,
                 replay: ReplayArg = None, since: SinceArg = None, replay_timeout: float = 30.0):
        super().__init__(endpoints, topics, receive_hwm, heartbeat_timeout,
                         context or zmq.Context.instance(), zmq.Socket, options,
                         replay, since, replay_timeout, ReplayClient)

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
        waiting and every 1024 messages. (With recovery, a replay in progress runs first: its
        waits are bounded by `replay_timeout`.)"""
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

    def _settle(self) -> None:
        """Runs the round in progress and the backlog until there is an item to give or both are
        done (the item-at-a-time path)."""
        tracker = self._tracker
        pending = tracker.pending
        backlog = self._backlog
        while not pending:
            if tracker.round is not None:
                self._replay_step(self._deliver_replayed, self._push)
            elif backlog:
                self._push(backlog.popleft())
            else:
                return

    def _next_recovering(self, timeout: Optional[float] = None):
        """`next` of a subscriber with replay endpoints."""
        tracker = self._tracker
        pending = tracker.pending
        socket = self._socket
        recv = socket.recv
        handle = tracker.handle
        while True:
            self._settle()
            if pending:
                return pending.popleft()
            limit, wait = self._limits(timeout)
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
                if tracker.round is not None:
                    break

    def next_batch(self, max_messages: int = 65536, timeout: Optional[float] = None):
        """Up to `max_messages` messages decoded into numpy arrays (one per kind) with the same
        gap/restart/heartbeat checks: a `tickbus.arrays.Batch`. Waits up to `timeout` for the
        first message (None: until one comes), then takes what is already queued. Needs numpy.
        (With recovery, a replay in progress comes first, up to about `max_messages` records a
        batch.)"""
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

    def _next_batch_recovering(self, max_messages: int = 65536, timeout: Optional[float] = None):
        """`next_batch` of a subscriber with replay endpoints."""
        from .arrays import _decode_in_order

        tracker = self._tracker
        collector = _Collector(tracker)
        if tracker.round is None and not self._backlog:
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
                    return collector.batch()
            messages = _receive_queued(socket, max_messages)
            tracker.until_clock_check -= len(messages)
            batch = _decode_in_order(tracker, messages)
            if batch is not None:
                return batch
            self._backlog.extend(messages)
        backlog = self._backlog
        while (tracker.round is not None or backlog) and collector.rows < max_messages:
            if tracker.round is not None:
                self._replay_step(collector.add_replayed, collector.capture)
            else:
                collector.capture(backlog.popleft())
        return collector.batch()


def _receive_queued(socket: zmq.Socket, max_messages: int) -> List[bytes]:
    messages: List[bytes] = []
    append = messages.append
    recv = socket.recv
    try:
        for _ in range(max_messages):
            append(recv(zmq.NOBLOCK))
    except zmq.Again:
        pass
    return messages


class AsyncSubscriber(_Base):
    """`Subscriber` for asyncio, on `zmq.asyncio`: `await sub.next(timeout)` and
    `async for item in sub`. Same checks and events, and the same recovery (`replay`, `since`;
    replays wait without blocking the event loop)."""

    def __init__(self, endpoints: Union[str, Iterable[str]], topics: Iterable = (), *,
                 receive_hwm: int = 100_000, heartbeat_timeout: float = 3.0,
                 context=None, options: Optional[dict] = None,
                 replay: ReplayArg = None, since: SinceArg = None, replay_timeout: float = 30.0):
        import zmq.asyncio

        super().__init__(endpoints, topics, receive_hwm, heartbeat_timeout,
                         context or zmq.asyncio.Context.instance(), zmq.asyncio.Socket, options,
                         replay, since, replay_timeout, AsyncReplayClient)
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

    async def _replay_step_async(self, sink: Callable[[List[bytes]], None], capture: Callable[[bytes], None]) -> None:
        client = self._round_client(capture)
        if client is None:
            return
        current = self._tracker.round
        try:
            if not current.started:
                delay = current.delay()
                if delay > 0:
                    import asyncio

                    await asyncio.sleep(delay)
                current.not_until = 0.0
                current.started = True
                client.start(current.request)
            reply = await client.receive()
        except ReplayError as error:
            return self._round_failed(error)
        self._round_reply(client, reply, sink)

    async def _settle(self) -> None:
        tracker = self._tracker
        pending = tracker.pending
        backlog = self._backlog
        while not pending:
            if tracker.round is not None:
                await self._replay_step_async(self._deliver_replayed, self._push)
            elif backlog:
                self._push(backlog.popleft())
            else:
                return

    async def _next_recovering(self, timeout: Optional[float] = None):
        tracker = self._tracker
        pending = tracker.pending
        while True:
            await self._settle()
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
                if tracker.round is not None:
                    break

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

    async def _next_batch_recovering(self, max_messages: int = 65536, timeout: Optional[float] = None):
        from .arrays import _decode_in_order

        tracker = self._tracker
        collector = _Collector(tracker)
        if tracker.round is None and not self._backlog:
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
                    return collector.batch()
            messages = _receive_queued(self._drain_socket, max_messages)
            tracker.until_clock_check -= len(messages)
            batch = _decode_in_order(tracker, messages)
            if batch is not None:
                return batch
            self._backlog.extend(messages)
        backlog = self._backlog
        while (tracker.round is not None or backlog) and collector.rows < max_messages:
            if tracker.round is not None:
                await self._replay_step_async(collector.add_replayed, collector.capture)
            else:
                collector.capture(backlog.popleft())
        return collector.batch()
