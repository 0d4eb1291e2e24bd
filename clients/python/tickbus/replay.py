"""Replays from a publisher's journal (docs/replay.md): a DEALER talking to the publisher's replay
endpoint (a ROUTER; by default the bus's host and port + 10).

```python
from tickbus.replay import replay

for record in replay("tcp://127.0.0.1:7710", ["T.AAPL"], since="09:30"):   # or "start", a datetime, ns
    print(record.topic, record.sequence, record.price)
```

`replay` yields the journal's records (decoded as `tickbus.decode` does) and then stops at the
journal's head; a range of sequence numbers the journal does not hold (a hole) comes as a
`tickbus.Gap` event in its place, a malformed message as `tickbus.Invalid`. `ReplayClient` is the
protocol itself: `start(ReplayRequest...)`, then iterate the replies (`ReplayBatch`,
`ReplayHole`, and last `ReplayEnd`). It grants the server one more credit for each batch or hole
it has handed out (16 to start with), so a slow reader slows only its own replay. Every wait for
the server is bounded by `timeout` (30 s): `ReplayTimeout`. A server's `ERROR` raises
`ReplayRefused` with its `code` and `text`; a reply that breaks the protocol raises
`ReplayProtocolError`. Like every ZeroMQ socket, a client belongs to the thread that uses it.

`Subscriber(..., replay=True)` uses this to fill gaps and restarts by itself.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta, timezone
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import zmq

from .events import Gap, Invalid
from .records import Record
from .topics import TopicFilter
from .wire import WireError, decode

__all__ = [
    "ReplayClient", "AsyncReplayClient", "ReplayRequest", "ReplayBatch", "ReplayHole", "ReplayEnd",
    "ReplayError", "ReplayRefused", "ReplayTimeout", "ReplayProtocolError",
    "BAD_REQUEST", "UNKNOWN_EPOCH", "BUSY", "TIMED_OUT", "BEGINNING", "TIME", "AFTER",
    "replay", "replay_endpoint", "since_ns",
]

#: `ERROR` codes.
BAD_REQUEST = 1
UNKNOWN_EPOCH = 2
BUSY = 3
TIMED_OUT = 4
ERROR_NAMES = {BAD_REQUEST: "bad request", UNKNOWN_EPOCH: "unknown epoch", BUSY: "busy", TIMED_OUT: "timed out"}

#: Request starts.
BEGINNING = 0
TIME = 1
AFTER = 2

VERSION = 1
MAX_FILTERS = 4096
MAX_POSITIONS = 1 << 20
MAX_REQUEST = 16 << 20
#: The largest reply body a client accepts: a journal block (16 MiB) and some.
MAX_REPLY = (16 << 20) + 4096
DEFAULT_CREDIT = 16
DEFAULT_TIMEOUT = 30.0

TopicsArg = Union[str, TopicFilter, Iterable[Union[str, TopicFilter]]]
SinceArg = Union[str, int, datetime, None]

_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<HHIqI")
_HOLE_HEAD = struct.Struct("<IHI")
_RANGE = struct.Struct("<QQ")
_END = struct.Struct("<Qq")
_CREDIT_ONE = _U32.pack(1)


class ReplayError(Exception):
    """A replay that could not be completed."""


class ReplayRefused(ReplayError):
    """The server sent `ERROR`: `code` (1 bad request, 2 unknown epoch, 3 busy, 4 timed out; None
    if the body had no code) and its `text`."""

    def __init__(self, code: Optional[int], text: str):
        name = ERROR_NAMES.get(code, f"code {code}") if code is not None else "no code"
        super().__init__(f"replay refused ({name}): {text}")
        self.code = code
        self.text = text


class ReplayTimeout(ReplayError, TimeoutError):
    """The server sent nothing for `timeout` seconds."""

    def __init__(self, endpoint: str, timeout: float):
        super().__init__(f"the replay server at {endpoint} sent nothing for {timeout:g} s: "
                         "is a publisher with a journal serving replays there?")
        self.endpoint = endpoint
        self.timeout = timeout


class ReplayProtocolError(ReplayError):
    """The server sent something that does not follow docs/replay.md."""


# ---------------------------------------------------------------------------------------------
# Requests


def _filters(topics: TopicsArg) -> List[bytes]:
    if isinstance(topics, (str, TopicFilter)):
        topics = [topics]
    prefixes = [t.prefix if isinstance(t, TopicFilter) else TopicFilter(t).prefix for t in topics]
    return [] if b"" in prefixes else prefixes


def _short(value: bytes, what: str) -> bytes:
    if len(value) > 255:
        raise ValueError(f"{what} {value[:40]!r}... is longer than 255 bytes")
    return bytes((len(value),)) + value


@dataclass(frozen=True)
class ReplayRequest:
    """A `REPLAY` request. Build it with `beginning`, `at` or `after`; `encode()` is its body.

    `start` is `BEGINNING`, `TIME` or `AFTER`; `time` the start time (ns UTC) for `TIME`, the
    "not before" time for `AFTER` (0: none); `epoch` and `positions` (topic → the last sequence
    number the client has) for `AFTER`; `filters` the bus's subscription prefixes (`b"T.AAPL "`
    exactly that topic, `b"T."` every trade; none: everything)."""

    start: int
    time: int = 0
    epoch: int = 0
    positions: Mapping[str, int] = field(default_factory=dict)
    filters: Sequence[bytes] = ()
    credit: int = DEFAULT_CREDIT

    @classmethod
    def beginning(cls, topics: TopicsArg = (), credit: int = DEFAULT_CREDIT) -> "ReplayRequest":
        """Everything the journal holds (on `topics`), oldest file first."""
        return cls(BEGINNING, filters=_filters(topics), credit=credit)

    @classmethod
    def at(cls, time: Union[int, datetime, str], topics: TopicsArg = (), credit: int = DEFAULT_CREDIT) -> "ReplayRequest":
        """From the first journal block whose last message was appended at or after `time` (ns
        UTC, a `datetime`, or text as `since_ns` reads it)."""
        ns = since_ns(time)
        if ns is None:
            raise ValueError("a time is needed (ReplayRequest.beginning for the journal's start)")
        return cls(TIME, time=ns, filters=_filters(topics), credit=credit)

    @classmethod
    def after(cls, epoch: int, positions: Mapping[str, int], not_before: int = 0, topics: TopicsArg = (),
              credit: int = DEFAULT_CREDIT) -> "ReplayRequest":
        """The messages of `epoch` after each topic's position (a topic without one: all of its
        messages in that epoch), then every later epoch in full; blocks handed to the writer
        before `not_before` (ns UTC, 0 none) are skipped."""
        return cls(AFTER, time=not_before, epoch=epoch, positions=dict(positions), filters=_filters(topics),
                   credit=credit)

    def encode(self) -> bytes:
        """The request body (docs/replay.md, "Request")."""
        if self.start not in (BEGINNING, TIME, AFTER):
            raise ValueError(f"unknown start {self.start}")
        if len(self.filters) > MAX_FILTERS:
            raise ValueError(f"{len(self.filters)} filters (at most {MAX_FILTERS})")
        if len(self.positions) > MAX_POSITIONS:
            raise ValueError(f"{len(self.positions)} positions (at most {MAX_POSITIONS})")
        if self.positions and self.start != AFTER:
            raise ValueError("positions need a start after an epoch")
        time = self.time if self.start != BEGINNING else 0
        epoch = self.epoch if self.start == AFTER else 0
        parts = [_HEAD.pack(VERSION, self.start, self.credit, time, epoch),
                 struct.pack("<H", len(self.filters))]
        parts += [_short(bytes(f), "filter") for f in self.filters]
        parts.append(_U32.pack(len(self.positions)))
        pack = struct.Struct("<Q").pack
        for topic in sorted(self.positions):
            parts.append(_short(topic.encode("utf-8"), "topic"))
            parts.append(pack(self.positions[topic]))
        body = b"".join(parts)
        if len(body) > MAX_REQUEST:
            raise ValueError(f"a request of {len(body)} bytes (at most {MAX_REQUEST})")
        return body


_CLOCK = re.compile(r"^([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def since_ns(since: SinceArg) -> Optional[int]:
    """A start time as ns since 1970 UTC, as the Swift CLI's `--since` reads it: None or
    `"start"` → None (the journal's beginning); an int (ns UTC); a `datetime` (naive: UTC);
    `"HH:MM"` or `"HH:MM:SS"` today in New York; ISO 8601 text with `Z` or an offset."""
    if since is None or since == "start":
        return None
    if isinstance(since, bool):
        raise TypeError("since must be ns since 1970 UTC (int), a datetime, 'HH:MM' or 'start'")
    if isinstance(since, int):
        return int(since)
    if isinstance(since, datetime):
        value = getattr(since, "value", None)           # pandas.Timestamp: exact ns
        if isinstance(value, int) and since.tzinfo is not None:
            return value
        dt = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
        delta = dt - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(since, str):
        match = _CLOCK.match(since)
        if match:
            from zoneinfo import ZoneInfo

            h, m, s = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
            if h >= 24 or m >= 60 or s >= 60:
                raise ValueError(f"since {since!r}: HH:MM or HH:MM:SS")
            new_york = ZoneInfo("America/New_York")
            today = datetime.now(new_york).date()
            return since_ns(datetime.combine(today, clock_time(h, m, s), tzinfo=new_york))
        text = since[:-1] + "+00:00" if since.endswith(("Z", "z")) else since
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or "T" not in text.upper():
            raise ValueError(f"since {since!r}: 'start', 'HH:MM' (today, New York), "
                             "'2026-12-03T14:30:00Z' or '2026-12-03T09:30:00-05:00'")
        return since_ns(parsed)
    raise TypeError("since must be ns since 1970 UTC (int), a datetime, 'HH:MM' or 'start'")


def replay_endpoint(bus: str) -> str:
    """The replay endpoint beside a bus endpoint: the same host, the port plus 10
    (`tcp://127.0.0.1:7700` → `tcp://127.0.0.1:7710`)."""
    address = bus.lstrip("@>")
    match = re.match(r"^(tcp://.*):([0-9]+)$", address)
    if not match or not 0 < int(match.group(2)) <= 65525:
        raise ValueError(f"no replay endpoint beside {bus!r}: only a tcp:// endpoint with a port has one "
                         "(give replay=[...] explicitly)")
    return f"{match.group(1)}:{int(match.group(2)) + 10}"


# ---------------------------------------------------------------------------------------------
# Replies


@dataclass(frozen=True)
class ReplayBatch:
    """A `BATCH`: journal messages (a u32 length and a bus message, back to back)."""

    body: bytes

    def messages(self) -> List[bytes]:
        """The bus messages (topic, space, record), in journal order."""
        return split_batch(self.body)


@dataclass(frozen=True)
class ReplayHole:
    """A `HOLE`: sequence numbers of `epoch` the journal does not hold, as `(topic, first, last)`
    ranges (both included); `reason` 1 writer behind, 2 write failed, 0 unknown."""

    epoch: int
    reason: int
    ranges: Tuple[Tuple[str, int, int], ...]

    def gaps(self) -> List[Gap]:
        """The ranges as `Gap` events (`expected` the first missing, `received` the one after)."""
        return [Gap(topic, first, last + 1, last - first + 1) for topic, first, last in self.ranges]


@dataclass(frozen=True)
class ReplayEnd:
    """The `END`: `messages` sent; `head_time` when the last block read was handed to the
    journal's writer (ns UTC; 0 none). Live takes over from here."""

    messages: int
    head_time: int


Reply = Union[ReplayBatch, ReplayHole, ReplayEnd]


def split_batch(body: bytes) -> List[bytes]:
    """A `BATCH` body → its bus messages; `ReplayProtocolError` if the framing is broken."""
    out: List[bytes] = []
    append = out.append
    unpack = _U32.unpack_from
    offset = 0
    size = len(body)
    while offset < size:
        if size - offset < 4:
            raise ReplayProtocolError(f"batch cut at byte {offset}")
        (length,) = unpack(body, offset)
        start = offset + 4
        offset = start + length
        if offset > size:
            raise ReplayProtocolError(f"message at batch byte {start - 4} runs past the batch")
        append(body[start:offset])
    return out


def _hole(body: bytes) -> ReplayHole:
    try:
        epoch, reason, count = _HOLE_HEAD.unpack_from(body, 0)
        offset = _HOLE_HEAD.size
        ranges = []
        for _ in range(count):
            (length,) = struct.unpack_from("<H", body, offset)
            offset += 2
            topic = body[offset:offset + length]
            if len(topic) != length:
                raise struct.error("topic cut")
            offset += length
            first, last = _RANGE.unpack_from(body, offset)
            offset += _RANGE.size
            if first > last:
                raise ReplayProtocolError(f"hole range of {topic!r} ends before it starts")
            ranges.append((topic.decode("utf-8", "replace"), first, last))
    except struct.error:
        raise ReplayProtocolError("a HOLE cut short") from None
    if offset != len(body):
        raise ReplayProtocolError(f"{len(body) - offset} bytes after the hole")
    return ReplayHole(epoch, reason, tuple(ranges))


def _parse(frames: List[bytes]) -> Reply:
    """One server message → its reply; raises `ReplayRefused` for `ERROR`."""
    if len(frames) != 2:
        raise ReplayProtocolError(f"a reply of {len(frames)} frames (a command and a body expected)")
    command, body = frames
    if command == b"BATCH":
        return ReplayBatch(body)
    if command == b"HOLE":
        return _hole(body)
    if command == b"END":
        if len(body) != _END.size:
            raise ReplayProtocolError(f"an END of {len(body)} bytes ({_END.size} expected)")
        messages, head = _END.unpack(body)
        return ReplayEnd(messages, head)
    if command == b"ERROR":
        code = struct.unpack_from("<H", body)[0] if len(body) >= 2 else None
        raise ReplayRefused(code, body[2:].decode("utf-8", "replace"))
    shown = command[:20].decode("ascii", "replace")
    raise ReplayProtocolError(f"the server sent {shown!r}: not a server's message")


# ---------------------------------------------------------------------------------------------
# Clients


class _ClientBase:
    def __init__(self, endpoint: str, timeout: float, options: Optional[Dict[int, Any]]):
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.options = dict(options or {})
        #: Whether a replay is in progress (started, neither END nor ERROR yet).
        self.active = False
        self._timeout_ms = max(1, int(self.timeout * 1000))
        self._socket: zmq.Socket = self._open()

    def _open(self) -> zmq.Socket:
        raise NotImplementedError

    def _setup(self, socket: zmq.Socket) -> None:
        try:
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.MAXMSGSIZE, MAX_REPLY)
            for option, value in self.options.items():
                socket.setsockopt(option, value)
            socket.connect(self.endpoint)
        except zmq.ZMQError:
            socket.close(linger=0)
            raise

    def _reset(self) -> None:
        """A new socket (a new identity): nothing of an abandoned replay can arrive on it."""
        self.close()
        self._socket = self._open()

    def _send(self, command: bytes, body: bytes) -> None:
        self._socket.send_multipart([command, body], flags=zmq.NOBLOCK)

    def start(self, request: ReplayRequest) -> None:
        """Sends `REPLAY`; a replay in progress is cancelled first (and its socket replaced, so
        none of its replies can be taken for the new one's)."""
        body = request.encode()
        if self.active:
            self.cancel()
        try:
            self._send(b"REPLAY", body)
        except zmq.Again:
            # Not connected yet (a DEALER queues only once a peer exists): wait for a peer.
            if not self._socket.poll(self._timeout_ms, zmq.POLLOUT):
                self._reset()
                raise ReplayTimeout(self.endpoint, self.timeout) from None
            self._send(b"REPLAY", body)
        self.active = True

    def credit(self, n: int = 1) -> None:
        """Grants the server `n` more `BATCH`/`HOLE` messages."""
        if self.active:
            try:
                self._send(b"CREDIT", _U32.pack(n) if n != 1 else _CREDIT_ONE)
            except zmq.Again:
                pass

    def cancel(self) -> None:
        """Ends the replay in progress (if any)."""
        if self.active:
            try:
                self._send(b"CANCEL", b"")
            except zmq.Again:
                pass
            self.active = False
            self._reset()

    def _reply(self, frames: List[bytes]) -> Reply:
        try:
            reply = _parse(frames)
        except ReplayError:
            self.active = False
            self._reset()
            raise
        if type(reply) is ReplayEnd:
            self.active = False
        return reply

    def _timed_out(self) -> ReplayTimeout:
        self.active = False
        self._reset()
        return ReplayTimeout(self.endpoint, self.timeout)

    def close(self) -> None:
        self._socket.close(linger=0)


class ReplayClient(_ClientBase):
    """A DEALER connected to a replay endpoint (`tcp://127.0.0.1:7710`). `start(request)`, then
    iterate for the replies: `ReplayBatch` and `ReplayHole` (each granting one more credit once
    the loop asks for the next reply), and last `ReplayEnd`. `receive()` is one reply without
    granting credit (call `credit()` once it is handled). `timeout` (seconds) bounds every wait
    for the server; `options` are socket options (`tickbus.curve_options(...)` under CURVE)."""

    def __init__(self, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT, context: Optional[zmq.Context] = None,
                 options: Optional[Dict[int, Any]] = None):
        self._context = context or zmq.Context.instance()
        super().__init__(endpoint, timeout, options)

    def _open(self) -> zmq.Socket:
        socket = self._context.socket(zmq.DEALER)
        self._setup(socket)
        return socket

    def __enter__(self) -> "ReplayClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def receive(self) -> Reply:
        """The next reply of the replay in progress (waiting up to `timeout`); raises
        `ReplayRefused`, `ReplayTimeout`, `ReplayProtocolError`, or `ReplayError` when no replay
        is in progress."""
        if not self.active:
            raise ReplayError("no replay in progress: start() one")
        if not self._socket.poll(self._timeout_ms, zmq.POLLIN):
            raise self._timed_out()
        return self._reply(self._socket.recv_multipart(zmq.NOBLOCK))

    def __iter__(self) -> Iterator[Reply]:
        while self.active:
            reply = self.receive()
            yield reply
            if type(reply) is not ReplayEnd:
                self.credit(1)


class AsyncReplayClient(_ClientBase):
    """`ReplayClient` for asyncio: `await client.receive()`, `async for reply in client`."""

    def __init__(self, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT, context: Any = None,
                 options: Optional[Dict[int, Any]] = None):
        import zmq.asyncio

        self._context = context or zmq.asyncio.Context.instance()
        self._async: Any = None
        super().__init__(endpoint, timeout, options)

    def _open(self) -> zmq.Socket:
        socket = self._context.socket(zmq.DEALER)
        self._setup(socket)
        self._async = socket
        # Sends and non-blocking receives through a plain view of the same socket; waits are
        # the event loop's.
        return zmq.Socket.shadow(socket.underlying)

    def close(self) -> None:
        if self._async is not None:
            self._async.close(linger=0)

    async def __aenter__(self) -> "AsyncReplayClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def receive(self) -> Reply:
        """The next reply, waiting up to `timeout` without blocking the event loop."""
        if not self.active:
            raise ReplayError("no replay in progress: start() one")
        if not int(self._socket.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            if not await self._async.poll(self._timeout_ms, zmq.POLLIN):
                raise self._timed_out()
        return self._reply(self._socket.recv_multipart(zmq.NOBLOCK))

    async def __aiter__(self) -> Any:
        while self.active:
            reply = await self.receive()
            yield reply
            if type(reply) is not ReplayEnd:
                self.credit(1)


def _request(topics: TopicsArg, since: SinceArg) -> ReplayRequest:
    ns = since_ns(since)
    return ReplayRequest.beginning(topics) if ns is None else ReplayRequest.at(ns, topics)


def replay(endpoint: str, topics: TopicsArg = (), since: SinceArg = "start", *, timeout: float = DEFAULT_TIMEOUT,
           context: Optional[zmq.Context] = None, options: Optional[Dict[int, Any]] = None
           ) -> Iterator[Union[Record, Gap, Invalid]]:
    """The journal's records on `topics` (the bus's patterns; none: everything) from `since`
    (`"start"`: the journal's beginning; ns UTC, a `datetime`, `"HH:MM"` today in New York) up
    to its head, decoded; a journal hole comes as `Gap` events, a malformed message as
    `Invalid`. Raises `ReplayRefused`, `ReplayTimeout` or `ReplayProtocolError`."""
    request = _request(topics, since)
    client = ReplayClient(endpoint, timeout=timeout, context=context, options=options)
    try:
        client.start(request)
        while client.active:
            reply = client.receive()
            if type(reply) is ReplayBatch:
                for message in split_batch(reply.body):
                    try:
                        record = decode(message)
                    except WireError as error:
                        yield Invalid(error)
                        continue
                    yield record
                client.credit(1)
            elif type(reply) is ReplayHole:
                yield from reply.gaps()
                client.credit(1)
    finally:
        client.cancel()
        client.close()
