"""Replay (docs/replay.md): request encoding, the client against scripted ROUTER servers (errors,
broken replies, timeouts), subscriber recovery against a scripted publisher and replay server,
and against real `tickbus sim` → `tickbus ingest --journal DIR --serve-replay ENDPOINT`:
a replay from the beginning equals what an independent SUB socket recorded, a late joiner gets
every record once and in order then live, a slow subscriber ends with every record, a restarted
publisher, a raw DEALER's malformed request gets ERROR 1, and the asyncio subscriber."""

import asyncio
import socket
import struct
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import zmq

from tickbus import AsyncSubscriber, Event, Gap, Restart, Subscriber, decode, journal
from tickbus.replay import (
    AFTER, BAD_REQUEST, BEGINNING, TIME, UNKNOWN_EPOCH, ReplayBatch, ReplayClient, ReplayEnd, ReplayError,
    ReplayHole, ReplayProtocolError, ReplayRefused, ReplayRequest, ReplayTimeout, replay, replay_endpoint,
    since_ns, split_batch,
)
from conftest import wait_until
from helpers import CASES, BusPublisher, stamp
from ports import free_port
from test_live import Bus

QUOTE = CASES["quote_stock_nbbo"]                    # Q.AAPL
TRADE = CASES["trade_stock_conditions_trade_id"]     # T.AAPL


# ---------------------------------------------------------------------------------------------
# Requests, an independent reading of docs/replay.md's table


def parse_request(body: bytes) -> dict:
    version, start, credit, time_ns, epoch = struct.unpack_from("<HHIqI", body, 0)
    offset = 20
    (count,) = struct.unpack_from("<H", body, offset)
    offset += 2
    filters = []
    for _ in range(count):
        n = body[offset]
        filters.append(body[offset + 1:offset + 1 + n])
        offset += 1 + n
    (count,) = struct.unpack_from("<I", body, offset)
    offset += 4
    positions = {}
    for _ in range(count):
        n = body[offset]
        topic = body[offset + 1:offset + 1 + n].decode()
        offset += 1 + n
        positions[topic] = struct.unpack_from("<Q", body, offset)[0]
        offset += 8
    assert offset == len(body)
    return dict(version=version, start=start, credit=credit, time=time_ns, epoch=epoch, filters=filters,
                positions=positions)


def test_request_encoding():
    assert ReplayRequest.beginning().encode() == struct.pack("<HHIqIHI", 1, 0, 16, 0, 0, 0, 0)
    assert ReplayRequest.beginning(["*", "T."]).encode() == struct.pack("<HHIqIHI", 1, 0, 16, 0, 0, 0, 0)
    assert ReplayRequest.at(1_700_000_000_123_456_789, ["T.AAPL", "Q."], credit=4).encode() == (
        struct.pack("<HHIqIH", 1, 1, 4, 1_700_000_000_123_456_789, 0, 2) + b"\x07T.AAPL " + b"\x02Q."
        + struct.pack("<I", 0))
    body = ReplayRequest.after(0xDEADBEEF, {"T.MSFT": 9, "Q.AAPL": 2**40}, not_before=5, topics="A.").encode()
    assert body == (struct.pack("<HHIqIH", 1, 2, 16, 5, 0xDEADBEEF, 1) + b"\x02A." + struct.pack("<I", 2)
                    + b"\x06Q.AAPL" + struct.pack("<Q", 2**40) + b"\x06T.MSFT" + struct.pack("<Q", 9))
    assert parse_request(body)["positions"] == {"T.MSFT": 9, "Q.AAPL": 2**40}
    with pytest.raises(ValueError):
        ReplayRequest(BEGINNING, positions={"T.A": 1}).encode()
    with pytest.raises(ValueError):
        ReplayRequest(7).encode()


def test_since_and_endpoints():
    assert since_ns("start") is None and since_ns(None) is None
    assert since_ns(123) == 123
    assert since_ns(datetime(2026, 12, 3, 14, 30, tzinfo=timezone.utc)) == 1796308200 * 10**9
    assert since_ns(datetime(2026, 12, 3, 14, 30)) == 1796308200 * 10**9          # naive: UTC
    assert since_ns("2026-12-03T14:30:00Z") == 1796308200 * 10**9
    assert since_ns("2026-12-03T09:30:00-05:00") == 1796308200 * 10**9
    from zoneinfo import ZoneInfo
    new_york = ZoneInfo("America/New_York")
    today = datetime.now(new_york).date()
    expected = datetime(today.year, today.month, today.day, 9, 30, tzinfo=new_york)
    assert since_ns("09:30") == since_ns(expected)
    for bad in ("9:30", "24:00", "2026-12-03T14:30:00", "yesterday"):
        with pytest.raises(ValueError):
            since_ns(bad)
    with pytest.raises(TypeError):
        since_ns(True)  # type: ignore[arg-type]
    assert replay_endpoint("tcp://127.0.0.1:7700") == "tcp://127.0.0.1:7710"
    assert replay_endpoint("tcp://[::1]:7702") == "tcp://[::1]:7712"
    with pytest.raises(ValueError):
        replay_endpoint("ipc:///tmp/bus")
    with pytest.raises(ValueError):
        Subscriber("ipc:///tmp/nothing-here", replay=True)
    with pytest.raises(ValueError):
        Subscriber("tcp://127.0.0.1:7700", replay=False, since="start")
    with pytest.raises(ValueError):
        Subscriber("tcp://127.0.0.1:7700", replay=[], since="start")
    with pytest.raises(ValueError):
        Subscriber("tcp://127.0.0.1:7700", since="9:30")


def frame_batch(messages) -> bytes:
    return b"".join(struct.pack("<I", len(m)) + m for m in messages)


def test_split_batch():
    messages = [QUOTE, TRADE, b""]
    assert split_batch(frame_batch(messages)) == messages
    with pytest.raises(ReplayProtocolError, match="runs past"):
        split_batch(frame_batch([QUOTE])[:-1])
    with pytest.raises(ReplayProtocolError, match="cut"):
        split_batch(frame_batch([QUOTE]) + b"\x01")


# ---------------------------------------------------------------------------------------------
# Scripted servers


class FakeReplayServer:
    """A ROUTER answering each REPLAY with `script(request) -> [(command, body), ...]` (None:
    no answer at all); it notes the requests and the credit it was granted."""

    def __init__(self, script):
        self.script = script
        self.requests = []
        self.credit = 0
        self.socket = zmq.Context.instance().socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            if not self.socket.poll(50):
                continue
            frames = self.socket.recv_multipart()
            client, command = frames[0], frames[1]
            if command == b"CREDIT":
                self.credit += struct.unpack("<I", frames[2])[0]
            elif command == b"REPLAY":
                request = parse_request(frames[2])
                self.requests.append(request)
                replies = self.script(request)
                for reply in replies or []:
                    self.socket.send_multipart([client] + list(reply))

    def close(self):
        self.stopping = True
        self.thread.join()
        self.socket.close(0)


@pytest.fixture
def fake_server():
    servers = []

    def make(script):
        server = FakeReplayServer(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


END = (b"END", struct.pack("<Qq", 0, 0))


def test_client_errors_and_broken_replies(fake_server):
    replies = {
        "refused": [(b"ERROR", struct.pack("<H", 3) + "busy: 64 replays".encode())],
        "no code": [(b"ERROR", b"")],
        "unknown command": [(b"HELLO", b"")],
        "three frames": [(b"BATCH", b"", b"")],
        "short end": [(b"END", b"\0")],
        "cut hole": [(b"HOLE", struct.pack("<IHI", 1, 1, 1) + b"\x06\x00T.AAPL")],
        "bad batch": [(b"BATCH", b"\xff\xff\xff\xff")],
        "ok": [(b"BATCH", frame_batch([QUOTE, TRADE])),
               (b"HOLE", struct.pack("<IHIH", 7, 1, 1, 6) + b"T.AAPL" + struct.pack("<QQ", 3, 5)), END],
    }
    name = {"v": ""}
    server = fake_server(lambda request: replies[name["v"]])
    with ReplayClient(server.endpoint, timeout=5) as client:
        name["v"] = "refused"
        client.start(ReplayRequest.beginning())
        with pytest.raises(ReplayRefused, match="busy") as error:
            list(client)
        assert error.value.code == 3 and error.value.text == "busy: 64 replays" and not client.active
        name["v"] = "no code"
        client.start(ReplayRequest.beginning())
        with pytest.raises(ReplayRefused) as error:
            client.receive()
        assert error.value.code is None
        for broken in ("unknown command", "three frames", "short end", "cut hole"):
            name["v"] = broken
            client.start(ReplayRequest.beginning())
            with pytest.raises(ReplayProtocolError):
                client.receive()
            assert not client.active
        name["v"] = "bad batch"
        client.start(ReplayRequest.beginning())
        batch = client.receive()
        assert isinstance(batch, ReplayBatch)
        with pytest.raises(ReplayProtocolError):
            batch.messages()
        name["v"] = "ok"
        client.start(ReplayRequest.after(7, {"T.AAPL": 2}, 99, ["T.AAPL"]))
        got = list(client)
        assert [type(r) for r in got] == [ReplayBatch, ReplayHole, ReplayEnd]
        assert got[0].messages() == [QUOTE, TRADE]
        assert got[1] == ReplayHole(7, 1, (("T.AAPL", 3, 5),)) and got[1].gaps() == [Gap("T.AAPL", 3, 6, 3)]
        assert server.requests[-1] == dict(version=1, start=AFTER, credit=16, time=99, epoch=7, filters=[b"T.AAPL "],
                                           positions={"T.AAPL": 2})
        with pytest.raises(ReplayError, match="no replay in progress"):
            client.receive()
    wait_until(lambda: server.credit >= 2, timeout=5)  # one per batch and hole consumed, none for END
    # replay(): records, then the hole as a gap.
    items = list(replay(server.endpoint, timeout=5))
    assert [(i.topic, i.sequence) if not isinstance(i, Event) else i for i in items] == [
        ("Q.AAPL", decode(QUOTE).sequence), ("T.AAPL", decode(TRADE).sequence), Gap("T.AAPL", 3, 6, 3)]


def test_client_times_out_and_recovers(fake_server):
    answer = {"v": None}
    server = fake_server(lambda request: answer["v"])
    with ReplayClient(server.endpoint, timeout=0.3) as client:
        client.start(ReplayRequest.beginning())
        started = time.monotonic()
        with pytest.raises(ReplayTimeout, match="sent nothing for 0.3 s"):
            client.receive()
        assert time.monotonic() - started < 3
        # A new socket: the next replay works.
        answer["v"] = [END]
        client.start(ReplayRequest.beginning())
        assert list(client) == [ReplayEnd(0, 0)]
    # Nothing listening at all.
    with pytest.raises(ReplayTimeout):
        list(replay(f"tcp://127.0.0.1:{free_port()}", timeout=0.3))


def live_scenario(pub):
    pub.send(stamp(QUOTE, 7, 1), stamp(QUOTE, 7, 2), stamp(TRADE, 7, 1), stamp(QUOTE, 7, 6), stamp(QUOTE, 7, 7))


def summaries(items):
    return [(i.topic, i.epoch, i.sequence) if not isinstance(i, Event) else i for i in items]


def read_all(sub, n, timeout=10):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        item = sub.next(timeout=0.2)
        if item is not None:
            out.append(item)
    return out


@pytest.mark.parametrize("mode", ["next", "batch"])
def test_a_gap_is_filled_from_the_replay_server(fake_server, mode):
    """Q.AAPL 1, 2, then 6: the subscriber asks for what follows its positions in epoch 7, not
    before a second before Q.AAPL 2 arrived, and delivers 3..6 from the replay (6 once)."""
    replayed = [stamp(QUOTE, 7, s) for s in (3, 4, 5, 6)]
    server = fake_server(lambda request: [(b"BATCH", frame_batch(replayed[:2])), (b"BATCH", frame_batch(replayed[2:])),
                                          END])
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint, replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL ", b"T.AAPL "])
            live_scenario(pub)
            if mode == "next":
                items = summaries(read_all(sub, 8))
            else:
                items = []
                deadline = time.monotonic() + 10
                while len(items) < 8 and time.monotonic() < deadline:
                    batch = sub.next_batch(timeout=0.2)
                    items += batch.events
                    for array in (batch.quotes, batch.trades):
                        items += [("Q.AAPL" if array is batch.quotes else "T.AAPL", int(e), int(s))
                                  for e, s in zip(array["epoch"], array["sequence"])]
                items.sort(key=lambda i: (i[0], i[2]))
            expected = [("Q.AAPL", 7, s) for s in range(1, 8)] + [("T.AAPL", 7, 1)]
            if mode == "next":
                expected = expected[:2] + [("T.AAPL", 7, 1)] + expected[2:7]
            assert items == expected
            c = sub.counters
            assert (c.records, c.gaps, c.recovered, c.stale, c.replay_failures) == (8, 0, 4, 1, 0)
    finally:
        pub.close()
    (request,) = server.requests
    assert request["start"] == AFTER and request["epoch"] == 7 and request["credit"] == 16
    assert request["positions"] == {"Q.AAPL": 2, "T.AAPL": 1}
    assert request["filters"] == [b"Q.AAPL ", b"T.AAPL "]
    assert request["time"] == decode(stamp(QUOTE, 7, 2)).ts_recv - 1_000_000_000


@pytest.mark.parametrize("answer", ["nothing", "unknown epoch", "hole"])
def test_a_gap_no_journal_holds_is_reported_after_three_rounds(fake_server, answer):
    replies = {"nothing": None, "unknown epoch": [(b"ERROR", struct.pack("<H", UNKNOWN_EPOCH) + b"epoch 7")],
               "hole": [(b"HOLE", struct.pack("<IHIH", 7, 1, 1, 6) + b"Q.AAPL" + struct.pack("<QQ", 3, 5)), END]}
    server = fake_server(lambda request: replies[answer])
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint, replay_timeout=0.3) as sub:
            pub.wait_for([b"Q.AAPL ", b"T.AAPL "])
            live_scenario(pub)
            items = summaries(read_all(sub, 6))
            assert items == [("Q.AAPL", 7, 1), ("Q.AAPL", 7, 2), ("T.AAPL", 7, 1), Gap("Q.AAPL", 3, 6, 3),
                             ("Q.AAPL", 7, 6), ("Q.AAPL", 7, 7)]
            c = sub.counters
            assert (c.gaps, c.lost, c.recovered) == (1, 3, 0)
            assert c.replay_failures == (3 if answer == "nothing" else 0)
    finally:
        pub.close()
    assert len(server.requests) == 3


def test_a_restart_replays_the_old_epochs_tail_and_the_new_one(fake_server):
    """A new epoch: the subscriber asks for what follows its positions in the old epoch (the
    server sends the old tail, then the new epoch from its start); the restart is reported where
    the replay crosses it (as the Swift subscriber does), once."""
    replayed = [stamp(QUOTE, 7, 3), stamp(QUOTE, 9, 1), stamp(TRADE, 9, 1), stamp(QUOTE, 9, 2)]
    server = fake_server(lambda request: [(b"BATCH", frame_batch(replayed)), END])
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint, replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL ", b"T.AAPL "])
            pub.send(stamp(QUOTE, 7, 1), stamp(QUOTE, 7, 2), stamp(QUOTE, 9, 2), stamp(QUOTE, 9, 3))
            items = summaries(read_all(sub, 8))
            assert items == [("Q.AAPL", 7, 1), ("Q.AAPL", 7, 2), ("Q.AAPL", 7, 3), Restart("Q.AAPL", 7, 9),
                             ("Q.AAPL", 9, 1), ("T.AAPL", 9, 1), ("Q.AAPL", 9, 2), ("Q.AAPL", 9, 3)]
            c = sub.counters
            assert (c.restarts, c.gaps, c.recovered, c.stale) == (1, 0, 4, 1)
    finally:
        pub.close()
    (request,) = server.requests
    assert request["epoch"] == 7 and request["positions"] == {"Q.AAPL": 2}


def test_async_subscriber_fills_a_gap(fake_server):
    replayed = [stamp(QUOTE, 7, s) for s in (3, 4, 5, 6)]
    server = fake_server(lambda request: [(b"BATCH", frame_batch(replayed)), END])
    pub = BusPublisher()

    async def main():
        async with AsyncSubscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint,
                                   replay_timeout=5) as sub:
            await asyncio.get_running_loop().run_in_executor(None, pub.wait_for, [b"Q.AAPL ", b"T.AAPL "])
            live_scenario(pub)
            items = []
            deadline = time.monotonic() + 10
            while len(items) < 8 and time.monotonic() < deadline:
                item = await sub.next(timeout=0.2)
                if item is not None:
                    items.append(item)
            return summaries(items), sub.counters

    try:
        items, c = asyncio.run(main())
    finally:
        pub.close()
    assert items == [("Q.AAPL", 7, 1), ("Q.AAPL", 7, 2), ("T.AAPL", 7, 1)] + [("Q.AAPL", 7, s) for s in range(3, 8)]
    assert (c.gaps, c.recovered, c.stale) == (0, 4, 1)


# ---------------------------------------------------------------------------------------------
# Against tickbus ingest


class ReplayBus(Bus):
    """sim → ingest with a journal in `tmp_path/journal` served on a free port."""

    def __init__(self, spawn, tmp_path, rate=500, subscribe="T.*,Q.*"):
        self.journal = tmp_path / "journal"
        super().__init__(spawn, tmp_path, rate=rate, subscribe=subscribe)

    def start_ingest(self):
        if "--serve-replay" not in self.ingest_args:
            # The default place, the bus's port + 10 (so that replay=True finds it): a bus port
            # whose neighbour is free too.
            from ports import _HANDED_OUT
            while True:
                beside = replay_endpoint(self.bus)
                port = int(beside.rsplit(":", 1)[1])
                with socket.socket() as s:
                    try:
                        s.bind(("127.0.0.1", port))
                        free = port not in _HANDED_OUT
                    except OSError:
                        free = False
                if free:
                    _HANDED_OUT.add(port)
                    break
                old = self.bus
                self.bus = f"tcp://127.0.0.1:{free_port()}"
                self.ingest_args[self.ingest_args.index(old)] = self.bus
            self.replay = beside
            self.ingest_args += ["--journal", str(self.journal), "--serve-replay", self.replay]
        return super().start_ingest()

    def journaled(self):
        return sum(f.messages for f in journal.files(self.journal)) if self.journal.exists() else 0


def key(message: bytes):
    space = message.index(b" ")
    return message[:space].decode(), int.from_bytes(message[space + 1 + 8:space + 1 + 12], "little"), \
        int.from_bytes(message[space + 1 + 16:space + 1 + 24], "little")


def replayed_messages(endpoint, request):
    out = []
    with ReplayClient(endpoint, timeout=30) as client:
        client.start(request)
        for reply in client:
            if isinstance(reply, ReplayBatch):
                out += reply.messages()
            assert not isinstance(reply, ReplayHole)
    return out


def per_topic(items):
    """topic -> [(epoch, sequence), ...] in delivery order (records only)."""
    seen = defaultdict(list)
    for item in items:
        if not isinstance(item, Event):
            seen[item.topic].append((item.epoch, item.sequence))
    return seen


def once_in_order(seen, first=1):
    """Topics whose sequences are not first, first+1, ... (one epoch) with nothing missing or doubled."""
    return {t: s[:5] for t, s in seen.items()
            if [q for _, q in s] != list(range(first if first else s[0][1], (first if first else s[0][1]) + len(s)))
            or len({e for e, _ in s}) != 1}


def test_replay_from_the_beginning_equals_what_the_bus_carried(spawn, tmp_path):
    bus = ReplayBus(spawn, tmp_path, rate=2000)
    context = zmq.Context.instance()
    recorder = context.socket(zmq.SUB)
    recorder.setsockopt(zmq.SUBSCRIBE, b"")
    recorder.setsockopt(zmq.RCVHWM, 0)
    recorder.connect(bus.bus)
    got = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < 5000 and time.monotonic() < deadline:
            if recorder.poll(100):
                message = recorder.recv()
                if not message.startswith(b"H."):
                    got.append(message)
    finally:
        recorder.close(0)
    assert len(got) >= 5000
    kept = replayed_messages(bus.replay, ReplayRequest.beginning())
    # What the recorder got (it joined late: ZeroMQ's slow joiner) is one stretch of the
    # journal, byte for byte; by topic and sequence the same.
    start = kept.index(got[0])
    assert kept[start:start + len(got)] == got
    by_topic = defaultdict(list)
    for m in kept:
        topic, epoch, sequence = key(m)
        by_topic[topic].append(sequence)
    assert all(s == list(range(1, len(s) + 1)) for s in by_topic.values()) and len(by_topic) >= 4
    assert {key(m) for m in got} <= {key(m) for m in kept}
    # Filters, and the decoding generator.
    aapl = [m for m in kept if m.startswith(b"T.AAPL ")]
    records = list(replay(bus.replay, ["T.AAPL"]))
    assert [(r.topic, r.epoch, r.sequence) for r in records][:len(aapl)] == [key(m) for m in aapl]
    # From a time: a suffix, from at most one journal block before it.
    middle = decode(kept[len(kept) // 2]).ts_recv
    later = replayed_messages(bus.replay, ReplayRequest.at(middle))
    assert later and later[0] in kept and kept.index(later[0]) >= len(kept) // 4
    assert all(decode(m).ts_recv >= middle - 10**9 for m in later[:1])
    # After positions of an epoch: exactly what follows them.
    epoch = key(kept[0])[1]
    positions = {"T.AAPL": 10, "Q.AAPL": 20}
    after = [key(m) for m in replayed_messages(bus.replay, ReplayRequest.after(epoch, positions, 0, ["T.AAPL", "Q.AAPL"]))]
    assert [s for t, _, s in after if t == "T.AAPL"][:3] == [11, 12, 13]
    assert [s for t, _, s in after if t == "Q.AAPL"][:3] == [21, 22, 23]
    with pytest.raises(ReplayRefused) as error:
        replayed_messages(bus.replay, ReplayRequest.after(epoch ^ 1, positions))
    assert error.value.code == UNKNOWN_EPOCH


def test_a_malformed_request_from_a_raw_dealer_gets_error_1(spawn, tmp_path):
    bus = ReplayBus(spawn, tmp_path)
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(bus.replay)
    try:
        for frames in ([b"REPLAY", b"\x01\x00"],                                    # cut short
                       [b"REPLAY", ReplayRequest.beginning().encode() + b"\0"],      # a byte too many
                       [b"REPLAY", struct.pack("<HHIqIHI", 2, 0, 16, 0, 0, 0, 0)],  # version 2
                       [b"REPLAY", struct.pack("<HHIqIHI", 1, 9, 16, 0, 0, 0, 0)],  # start 9
                       [b"BATCH", b""],                                              # a server's message
                       [b"REPLAY"]):                                                 # no body
            dealer.send_multipart(frames)
            assert dealer.poll(10_000), frames
            command, body = dealer.recv_multipart()
            assert command == b"ERROR" and struct.unpack_from("<H", body)[0] == BAD_REQUEST, (frames, body)
            assert body[2:], frames
    finally:
        dealer.close(0)
    # The client raises it with its code and text.
    with pytest.raises(ReplayRefused, match="bad request") as error:
        with ReplayClient(bus.replay, timeout=10) as client:
            client.start(ReplayRequest(TIME, filters=[b"T.AA PL "]))
            list(client)
    assert error.value.code == BAD_REQUEST and "filter" in error.value.text


def test_a_late_joiner_gets_every_record_once_in_order_then_live(spawn, tmp_path):
    bus = ReplayBus(spawn, tmp_path, rate=2000)
    wait_until(lambda: bus.journaled() > 10_000, timeout=60)
    items = []
    # replay=True: beside the bus (port + 10).
    with Subscriber(bus.bus, ["T.", "Q."], replay=True, since="start") as sub:
        joined = time.time_ns()
        deadline = time.monotonic() + 90
        # Until records published well after the join came (live).
        while time.monotonic() < deadline:
            item = sub.next(timeout=1)
            if item is None:
                continue
            items.append(item)
            if not isinstance(item, Event) and item.ts_recv > joined + 3 * 10**9:
                break
        c = sub.counters
    events = [i for i in items if isinstance(i, Event)]
    assert not [e for e in events if isinstance(e, (Gap, Restart))], events
    seen = per_topic(items)
    assert len(seen) >= 4 and not once_in_order(seen)
    assert c.recovered >= 10_000 and c.records > c.recovered and c.gaps == 0 and c.replay_failures == 0


def slow_reader(sub, batches, stop_after):
    """Reads like a slow consumer: pauses (4 s, 8 s, ...) between reads until a replay recovered
    something, then keeps up for `stop_after` seconds. Items in order (batch arrays expanded)."""
    items = []

    def read(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if batches:
                batch = sub.next_batch(timeout=0.2)
                items.extend(batch.events)
                for prefix, array in (("T.", batch.trades), ("Q.", batch.quotes)):
                    items.extend((prefix + s.decode(), e, q) for s, e, q in
                                 zip(array["symbol"].tolist(), array["epoch"].tolist(), array["sequence"].tolist()))
            else:
                item = sub.next(timeout=0.2)
                if item is not None:
                    items.append(item if isinstance(item, Event) else (item.topic, item.epoch, item.sequence))

    read(1)
    pause = 4.0
    deadline = time.monotonic() + 150
    while sub.counters.recovered == 0 and time.monotonic() < deadline:
        time.sleep(pause)  # its queues fill up and libzmq drops messages for it alone
        pause = min(pause * 2, 16)
        read(2)
    read(stop_after)
    return items


@pytest.mark.parametrize("batches", [False, True], ids=["next", "next_batch"])
def test_a_slow_subscriber_ends_with_every_record(spawn, tmp_path, batches):
    bus = ReplayBus(spawn, tmp_path, rate=20000)
    # A tiny queue, and a small kernel buffer so that loopback TCP does not hold 30 MB.
    with Subscriber(bus.bus, ["T.", "Q."], replay=bus.replay, receive_hwm=10,
                    options={zmq.RCVBUF: 65536}) as sub:
        # The stream is steady: a loss at the end of one topic shows with its next record.
        items = slow_reader(sub, batches, stop_after=5)
        c = sub.counters
    assert c.recovered > 0, "the slow subscriber never lost anything"
    # Heartbeats are not journaled: their gaps are reported, nothing else.
    events = [i for i in items if isinstance(i, Event) and not (isinstance(i, Gap) and i.topic.startswith("H."))]
    assert not [e for e in events if isinstance(e, (Gap, Restart))], events
    seen = defaultdict(list)
    for item in items:
        if not isinstance(item, Event):
            seen[item[0]].append((item[1], item[2]))
    assert len(seen) >= 4 and not once_in_order(seen, first=0)
    assert c.replay_failures == 0
    # Every record of the journal from the first each topic got on is there.
    bus.ingest.stop()
    kept = defaultdict(list)
    for m in journal.messages(bus.journal, topics=["T.", "Q."]):
        topic, epoch, sequence = key(m)
        kept[topic].append(sequence)
    for topic, got in seen.items():
        first = got[0][1]
        assert [s for _, s in got] == kept[topic][first - 1:first - 1 + len(got)], topic


def test_a_publisher_restart_is_filled_across_epochs(spawn, tmp_path):
    bus = ReplayBus(spawn, tmp_path, rate=1000)
    items = []
    with Subscriber(bus.bus, ["T.", "Q."], replay=bus.replay, since="start") as sub:
        def read(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                item = sub.next(timeout=0.2)
                if item is not None:
                    items.append(item)
        read(3)
        assert bus.ingest.stop() == 0
        read(1)
        bus.ingest = bus.start_ingest()
        read(6)
        c = sub.counters
    # The restart is reported once (where it was first seen: a heartbeat, or a replay crossing
    # into the new epoch); nothing is lost.
    restarts = [i for i in items if isinstance(i, Restart)]
    assert len(restarts) == 1 and not [i for i in items if isinstance(i, Gap)]
    assert c.restarts == 1 and c.gaps == 0 and c.replay_failures == 0
    by_epoch = defaultdict(list)
    for item in items:
        if not isinstance(item, Event):
            by_epoch[(item.topic, item.epoch)].append(item.sequence)
    epochs = sorted({e for _, e in by_epoch}, key=lambda e: min(
        i.ts_recv for i in items if not isinstance(i, Event) and i.epoch == e))
    assert len(epochs) == 2
    # Each (topic, epoch) from 1, once, in order; the old epoch's records all came before the new one's.
    broken = {k: (s[:5], len(s)) for k, s in by_epoch.items() if s != list(range(1, len(s) + 1))}
    assert not broken, (broken, epochs, restarts, c)
    kept = defaultdict(int)
    for m in journal.messages(bus.journal, topics=["T.", "Q."]):
        topic, epoch, sequence = key(m)
        if epoch == epochs[0]:
            kept[topic] = max(kept[topic], sequence)
    for topic, last in kept.items():
        assert len(by_epoch[(topic, epochs[0])]) == last, topic
    for topic in {t for t, _ in by_epoch}:
        order = [i.epoch for i in items if not isinstance(i, Event) and i.topic == topic]
        assert order == sorted(order, key=epochs.index), topic


def test_async_subscriber_with_recovery(spawn, tmp_path):
    bus = ReplayBus(spawn, tmp_path, rate=2000)
    wait_until(lambda: bus.journaled() > 5_000, timeout=60)

    async def main():
        items = []
        async with AsyncSubscriber(bus.bus, ["T.", "Q."], replay=bus.replay, since="start") as sub:
            joined = time.time_ns()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                item = await sub.next(timeout=1)
                if item is None:
                    continue
                items.append(item)
                if not isinstance(item, Event) and item.ts_recv > joined + 2 * 10**9:
                    break
            # Then batches (live): they continue every topic.
            batches = []
            for _ in range(20):
                batch = await sub.next_batch(timeout=1)
                batches.append(batch)
            return items, batches, sub.counters

    items, batches, c = asyncio.run(main())
    assert not [i for i in items if isinstance(i, (Gap, Restart))]
    seen = per_topic(items)
    assert len(seen) >= 4 and not once_in_order(seen)
    assert c.recovered >= 5_000 and c.gaps == 0
    for batch in batches:
        for prefix, array in (("T.", batch.trades), ("Q.", batch.quotes)):
            for symbol, epoch, sequence in zip(array["symbol"].tolist(), array["epoch"].tolist(),
                                               array["sequence"].tolist()):
                seen[prefix + symbol.decode()].append((epoch, sequence))
    assert not once_in_order(seen)


def test_async_next_batch_fills_a_gap(fake_server):
    replayed = [stamp(QUOTE, 7, s) for s in (3, 4, 5, 6)]
    server = fake_server(lambda request: [(b"BATCH", frame_batch(replayed)), END])
    pub = BusPublisher()

    async def main():
        async with AsyncSubscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint,
                                   replay_timeout=5) as sub:
            await asyncio.get_running_loop().run_in_executor(None, pub.wait_for, [b"Q.AAPL ", b"T.AAPL "])
            live_scenario(pub)
            quotes, trades, events = [], [], []
            deadline = time.monotonic() + 10
            while len(quotes) + len(trades) < 8 and time.monotonic() < deadline:
                batch = await sub.next_batch(timeout=0.2)
                quotes += batch.quotes["sequence"].tolist()
                trades += batch.trades["sequence"].tolist()
                events += batch.events
            return quotes, trades, events, sub.counters

    try:
        quotes, trades, events, c = asyncio.run(main())
    finally:
        pub.close()
    assert quotes == list(range(1, 8)) and trades == [1] and events == []
    assert (c.gaps, c.recovered, c.stale) == (0, 4, 1)


@pytest.mark.parametrize("since", ["start", datetime(2026, 12, 3, 14, 30, tzinfo=timezone.utc)])
def test_a_late_start_replays_first(fake_server, since):
    replayed = [stamp(QUOTE, 7, s) for s in (1, 2, 3)]
    server = fake_server(lambda request: [(b"BATCH", frame_batch(replayed)), END])
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL"], replay=server.endpoint, since=since, replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL "])
            pub.send(stamp(QUOTE, 7, 3), stamp(QUOTE, 7, 4), stamp(QUOTE, 7, 5))
            assert summaries(read_all(sub, 5)) == [("Q.AAPL", 7, s) for s in range(1, 6)]
            assert (sub.counters.recovered, sub.counters.stale) == (3, 1)
    finally:
        pub.close()
    (request,) = server.requests
    assert request["filters"] == [b"Q.AAPL "] and request["positions"] == {}
    if since == "start":
        assert (request["start"], request["time"]) == (BEGINNING, 0)
    else:
        assert (request["start"], request["time"]) == (TIME, 1796308200 * 10**9)


def test_a_replay_reaching_back_into_an_epoch_a_topic_left_brings_no_duplicates(fake_server):
    """After a restart, a topic whose new-epoch records the journal did not hold yet starts a
    second round after the old epoch; topics already in the new epoch have no position there, so
    the server sends their old epoch again: stale, not a restart back and forth."""
    Q, T = QUOTE, TRADE

    def script(request):
        if "Q.AAPL" in request["positions"]:   # round 1: the journal lacks T.AAPL's epoch 9 so far
            return [(b"BATCH", frame_batch([stamp(Q, 7, 2), stamp(Q, 9, 1), stamp(Q, 9, 2)])), END]
        return [(b"BATCH", frame_batch([stamp(Q, 7, 1), stamp(Q, 7, 2), stamp(Q, 9, 1), stamp(T, 9, 1),
                                        stamp(Q, 9, 2), stamp(T, 9, 2), stamp(T, 9, 3)])), END]

    server = fake_server(script)
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint, replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL ", b"T.AAPL "])
            pub.send(stamp(Q, 7, 1), stamp(T, 7, 1), stamp(Q, 9, 2), stamp(T, 9, 3), stamp(Q, 9, 3))
            items = summaries(read_all(sub, 10))
            assert items == [("Q.AAPL", 7, 1), ("T.AAPL", 7, 1), ("Q.AAPL", 7, 2), Restart("Q.AAPL", 7, 9),
                             ("Q.AAPL", 9, 1), ("Q.AAPL", 9, 2), ("T.AAPL", 9, 1), ("T.AAPL", 9, 2),
                             ("T.AAPL", 9, 3), ("Q.AAPL", 9, 3)]
            c = sub.counters
            assert (c.restarts, c.gaps, c.recovered, c.stale) == (1, 0, 6, 6)
    finally:
        pub.close()
    assert [r["positions"] for r in server.requests] == [{"Q.AAPL": 1, "T.AAPL": 1}, {"T.AAPL": 1}]


def test_repeated_rounds_wait_for_the_journal(fake_server):
    """A loss the journal does not hold: three rounds, the second 10 ms and the third 100 ms after
    the one before (the journal may lag the bus), then the gap."""
    server = fake_server(lambda request: [END])
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL"], replay=server.endpoint, replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL "])
            pub.send(stamp(QUOTE, 7, 1), stamp(QUOTE, 7, 5))
            assert summaries(read_all(sub, 1)) == [("Q.AAPL", 7, 1)]
            started = time.monotonic()
            assert summaries(read_all(sub, 2)) == [Gap("Q.AAPL", 2, 5, 3), ("Q.AAPL", 7, 5)]
            assert time.monotonic() - started >= 0.11
    finally:
        pub.close()
    assert len(server.requests) == 3


def test_a_topic_first_seen_live_after_a_late_start_gets_its_first_records(fake_server):
    """The late start's replay ended at the journal's head (head time H); T.AAPL's first records
    were published after it and before the subscription took effect (ZeroMQ's slow joiner), so
    its first live record is number 3: its epoch is replayed from a second before H."""
    head = 1_800_000_000_000_000_000

    def script(request):
        if request["start"] == BEGINNING:
            return [(b"BATCH", frame_batch([stamp(QUOTE, 7, 1)])), (b"END", struct.pack("<Qq", 1, head))]
        return [(b"BATCH", frame_batch([stamp(TRADE, 7, 1), stamp(TRADE, 7, 2), stamp(TRADE, 7, 3)])), END]

    server = fake_server(script)
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], replay=server.endpoint, since="start",
                        replay_timeout=5) as sub:
            pub.wait_for([b"Q.AAPL ", b"T.AAPL "])
            pub.send(stamp(TRADE, 7, 3), stamp(TRADE, 7, 4), stamp(QUOTE, 7, 2))
            assert summaries(read_all(sub, 6)) == [("Q.AAPL", 7, 1), ("T.AAPL", 7, 1), ("T.AAPL", 7, 2),
                                                   ("T.AAPL", 7, 3), ("T.AAPL", 7, 4), ("Q.AAPL", 7, 2)]
            c = sub.counters
            assert (c.recovered, c.stale, c.gaps) == (4, 1, 0)
    finally:
        pub.close()
    first, second = server.requests
    assert second["start"] == AFTER and second["epoch"] == 7 and second["positions"] == {"Q.AAPL": 1}
    assert second["time"] == head - 1_000_000_000
    # Without a late start, a topic first seen mid-stream is just taken as it comes.
    pub = BusPublisher()
    try:
        with Subscriber(pub.endpoint, ["T.AAPL"], replay=server.endpoint, replay_timeout=5) as sub:
            pub.wait_for([b"T.AAPL "])
            pub.send(stamp(TRADE, 7, 3))
            assert summaries(read_all(sub, 1)) == [("T.AAPL", 7, 3)]
    finally:
        pub.close()
    assert len(server.requests) == 2
