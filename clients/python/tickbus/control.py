"""A client of `tickbus ingest`'s control socket (docs/control.md): one JSON request, one JSON
reply, over REQ/REP.

```python
from tickbus import Control, ControlError, ControlTimeout

ctl = Control("tcp://127.0.0.1:7701", timeout=5)
print(ctl.ping()["version"])
ctl.subscribe(["T.AAPL", "A.*"])
job = ctl.backfill("SPY", "2024-01-02", "2024-01-05", timespan="minute")["id"]
print(ctl.job(job)["job"]["state"])
```

Every method returns the reply as a dict (`ok` is true). A refusal raises `ControlError` with the
server's `code` (`bad_topic`, `not_found`, ...) and `message`; no reply within `timeout` seconds
raises `ControlTimeout`, after closing the REQ socket and opening a new one (the zguide's Lazy
Pirate), so the client is never stuck waiting for a reply that will not come, nor for a peer to
send to (a server that refused its CURVE handshake).

A control socket under CURVE (docs/security.md) takes the same `options` as `Subscriber`, kept
for every socket the client opens, the ones that replace a timed-out socket included:

```python
ctl = Control("tcp://10.0.0.5:7701", options=curve_options("alice.key_secret", "ingest.key"))
```
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, NoReturn, Optional, Union

import zmq

__all__ = ["Control", "ControlError", "ControlTimeout"]


class ControlError(Exception):
    """The server refused the request (`{"ok": false, ...}`), or its reply is not a control
    reply (`code` `bad_reply`). `reply` is the whole reply when there is one."""

    def __init__(self, code: str, message: str, reply: Optional[dict] = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


class ControlTimeout(TimeoutError):
    """No reply in time: ingest is not running there, not reachable, or stuck."""

    def __init__(self, endpoint: str, timeout: float):
        super().__init__(
            f"no reply from {endpoint} within {timeout:g} s: is `tickbus ingest` running there?")
        self.endpoint = endpoint
        self.timeout = timeout


def _topics(topics: Union[str, Iterable[str]]) -> list:
    return [topics] if isinstance(topics, str) else list(topics)


def _time(value):
    """Dates and datetimes as ISO text (`datetime`s should be aware), Unix times as numbers."""
    if isinstance(value, (int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"a date, datetime, string or Unix time, not {type(value).__name__}")


class Control:
    """REQ client of the control socket at `endpoint`; `timeout` in seconds per request. Like
    every ZeroMQ socket it belongs to the thread that uses it. `options` are socket options set
    before connecting, as `Subscriber` takes them: `tickbus.curve_options(...)` for a control
    socket under CURVE (`{zmq.CURVE_SERVERKEY: ..., zmq.CURVE_PUBLICKEY: ...,
    zmq.CURVE_SECRETKEY: ...}`). Every socket the client opens gets them, the one that replaces
    a socket after a timeout too."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:7701", timeout: float = 5.0,
                 context: Optional[zmq.Context] = None, *, options: Optional[Dict[int, Any]] = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._context = context or zmq.Context.instance()
        self._options = dict(options or {})
        self._socket = self._connect()

    def _connect(self) -> zmq.Socket:
        socket = self._context.socket(zmq.REQ)
        try:
            socket.setsockopt(zmq.LINGER, 0)
            for option, value in self._options.items():
                socket.setsockopt(option, value)
            socket.connect(self.endpoint)
        except zmq.ZMQError:
            socket.close(linger=0)
            raise
        return socket

    def _timed_out(self) -> NoReturn:
        """Closes the socket, opens a new one (with the same options) and raises `ControlTimeout`."""
        self._socket.close(linger=0)
        self._socket = self._connect()
        raise ControlTimeout(self.endpoint, self.timeout)

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, request: dict) -> dict:
        """Sends one request object and returns the parsed reply, whatever its `ok`."""
        data = json.dumps(request, separators=(",", ":")).encode("utf-8")
        deadline = time.monotonic() + self.timeout
        # The send waits too: a REQ socket with no peer to send to (its handshake failed: no
        # CURVE, or a key the server refused) blocks in send until a peer comes.
        self._socket.setsockopt(zmq.SNDTIMEO, max(0, int(self.timeout * 1000)))
        try:
            self._socket.send(data)
        except zmq.Again:
            self._timed_out()
        left = max(0, int((deadline - time.monotonic()) * 1000))
        if not self._socket.poll(left, zmq.POLLIN):
            # Lazy Pirate: a REQ socket waiting for a reply cannot send again; replace it.
            self._timed_out()
        text = self._socket.recv()
        try:
            reply = json.loads(text)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise ControlError("bad_reply", f"the server's reply is not a control reply: {text[:200]!r}")
        return reply

    def call(self, op: str, **fields) -> dict:
        """`{"op": op, **fields}`; returns the reply or raises `ControlError` when refused."""
        reply = self.send({"op": op, **fields})
        if reply["ok"]:
            return reply
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        raise ControlError(str(error.get("code", "error")), str(error.get("message", reply)), reply)

    def ping(self) -> dict:
        """`name`, `version`, `uptime_ms`."""
        return self.call("ping")

    def status(self) -> dict:
        """Upstream state, counters, subscriptions, bus and jobs (docs/control.md)."""
        return self.call("status")

    def subscriptions(self) -> dict:
        """`subscriptions` and `acknowledged` (those Massive confirmed)."""
        return self.call("subscriptions")

    def subscribe(self, topics: Union[str, Iterable[str]]) -> dict:
        """Adds Massive subscriptions (`T.AAPL`, `A.*`); kept across ingest restarts."""
        return self.call("subscribe", topics=_topics(topics))

    def unsubscribe(self, topics: Union[str, Iterable[str]]) -> dict:
        return self.call("unsubscribe", topics=_topics(topics))

    def snapshot(self, topics: Union[str, Iterable[str]] = "*") -> dict:
        """The last record of each matching bus topic (`records`, as `tickbus tap --json`
        prints them), with the `epoch` they belong to."""
        return self.call("snapshot", topics=_topics(topics))

    def backfill(self, symbol: str, from_, to, timespan: str = "minute") -> dict:
        """Queues a backfill job (`from_`/`to`: `YYYY-MM-DD`, RFC 3339 or Unix time); the reply's
        `id` names it."""
        return self.call("backfill", symbol=symbol, timespan=timespan,
                         **{"from": _time(from_), "to": _time(to)})

    def jobs(self) -> dict:
        return self.call("jobs")

    def job(self, id) -> dict:
        """`job`: state, progress, records, ... of one backfill job (`id` as `backfill` returned it)."""
        return self.call("job", id=str(id))
