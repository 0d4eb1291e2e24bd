"""Against real processes: `tickbus sim` → `tickbus ingest` on free ports. The Python client's
records equal what `tickbus tap --json` prints for the same stream; every control op; gaps of a
deliberately slow subscriber account exactly for what it missed; restart and silence."""

import json
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest
import zmq

from tickbus import (
    Control, ControlError, ControlTimeout, Event, Gap, Heartbeat, Restart, Resumed, Silent, Subscriber,
    format_json,
)
from conftest import tickbus_bin, wait_until
from ports import free_port


class Bus:
    def __init__(self, spawn, tmp_path, rate=500, subscribe="T.*,Q.*,A.*"):
        self.sim_port = free_port()
        self.bus = f"tcp://127.0.0.1:{free_port()}"
        self.control = f"tcp://127.0.0.1:{free_port()}"
        self.spawn = spawn
        # The market clock at a regular open (2025-03-04 09:30 ET): stocks trade at any hour.
        self.sim = spawn(["sim", "--port", str(self.sim_port), "--rate", str(rate),
                          "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"], "sim")
        self.ingest_args = [
            "ingest", "--url", f"ws://127.0.0.1:{self.sim_port}/stocks", "--subscribe", subscribe,
            "--bus", self.bus, "--control", self.control, "--state-file", str(tmp_path / "subs.json"),
        ]
        self.ingest = self.start_ingest()

    def start_ingest(self):
        proc = self.spawn(self.ingest_args, "ingest")
        with Control(self.control, timeout=0.5) as ctl:
            def answers():
                try:
                    return ctl.ping()
                except ControlTimeout:
                    assert proc.popen.poll() is None, proc.stderr()
                    return None
            wait_until(answers, timeout=60)
        return proc


@pytest.fixture
def bus(spawn, tmp_path):
    return Bus(spawn, tmp_path)


def key(obj):
    return (obj["topic"], obj["epoch"], obj["sequence"])


def test_records_equal_what_tickbus_tap_prints(bus, spawn, tmp_path):
    topics = ["T.", "Q.AAPL", "A."]
    count = "800"
    swift = spawn(["tap", "--json", "--count", count, "--endpoint", bus.bus] + topics, "tap")
    out_file, err_file = open(tmp_path / "py.out", "w+"), open(tmp_path / "py.err", "w+")
    python = subprocess.Popen(
        [sys.executable, "-m", "tickbus", "tap", "--json", "--count", count, "--endpoint", bus.bus] + topics,
        stdout=out_file, stderr=err_file, text=True)
    library = {}
    with Subscriber(bus.bus, topics) as sub:
        deadline = time.monotonic() + 120
        while (swift.popen.poll() is None or python.poll() is None) and time.monotonic() < deadline:
            item = sub.next(timeout=0.1)
            if item is not None and not isinstance(item, Event):
                line = format_json(item)
                library[key(json.loads(line))] = line
        assert sub.counters.invalid_total == 0
    python.wait(timeout=60)
    out, err = (tmp_path / "py.out").read_text(), (tmp_path / "py.err").read_text()
    assert swift.wait() == 0 and python.returncode == 0, (swift.stderr(), err)
    assert "tap: 800 records" in err and "tap: 800 records" in swift.stderr()
    swift_lines = {key(json.loads(l)): l for l in swift.stdout().splitlines() if '"event"' not in l}
    python_lines = {key(json.loads(l)): l for l in out.splitlines() if '"event"' not in l}
    common = swift_lines.keys() & python_lines.keys()
    assert len(common) >= 200, (len(swift_lines), len(python_lines))
    for k in common:
        assert python_lines[k] == swift_lines[k]
    common = swift_lines.keys() & library.keys()
    assert len(common) >= 200
    for k in common:
        assert library[k] == swift_lines[k]
    kinds = {json.loads(swift_lines[k])["kind"] for k in common}
    assert kinds == {"trade", "quote", "bar"}
    # Exact topics: Q.AAPL only, no other quotes.
    assert {k[0] for k in python_lines if k[0].startswith("Q.")} == {"Q.AAPL"}


def test_every_control_op(bus):
    with Control(bus.control, timeout=10) as ctl:
        ping = ctl.ping()
        assert ping["ok"] and ping["name"] == "ingest" and ping["version"]
        status = ctl.status()
        assert {"upstream", "counters", "subscriptions", "bus", "jobs"} <= status.keys()
        assert ctl.subscriptions()["subscriptions"] == ["T.*", "Q.*", "A.*"]
        added = ctl.subscribe(["Q.MSFT"])
        assert "Q.MSFT" in added["subscriptions"]
        removed = ctl.unsubscribe("Q.MSFT")
        assert removed["removed"] == ["Q.MSFT"] and "Q.MSFT" not in removed["subscriptions"]
        with pytest.raises(ControlError) as refused:
            ctl.subscribe("not-a-param")
        assert refused.value.code == "bad_topic" and "bad_topic" in str(refused.value)
        with pytest.raises(ControlError) as missing:
            ctl.job(42)
        assert missing.value.code == "not_found"
        with pytest.raises(ControlError) as unknown:
            ctl.call("fly")
        assert unknown.value.code == "unknown_op"

        snapshot = wait_until(lambda: ctl.snapshot(["T.*"]) if ctl.snapshot(["T.*"])["count"] else None)
        assert snapshot["records"] and all(r["topic"].startswith("T.") for r in snapshot["records"])

        # A backfill goes out on the bus: a subscriber gets exactly the job's records.
        with Subscriber(bus.bus, ["AM.SPY"]) as sub:
            time.sleep(0.5)  # let the subscription reach the publisher (ZeroMQ's slow joiner)
            job_id = ctl.backfill("SPY", "2024-01-03", "2024-01-03", timespan="minute")["id"]
            job = wait_until(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
                ctl.job(job_id)["job"]), timeout=120)
            assert job["state"] == "done" and job["records"] > 300
            assert any(j["id"] == job_id for j in ctl.jobs()["jobs"])
            bars = []
            while len(bars) < job["records"]:
                item = sub.next(timeout=30)
                assert item is not None and not isinstance(item, Event), (item, len(bars))
                bars.append(item)
            assert sub.next(timeout=0.5) is None
            assert all(b.historical and b.interval == 60 and b.topic == "AM.SPY" for b in bars)
            assert [b.sequence for b in bars] == list(range(bars[0].sequence, bars[0].sequence + len(bars)))
            assert [b.ts_event for b in bars] == sorted(b.ts_event for b in bars)


def test_timeout_against_nothing_and_lazy_pirate():
    with Control(f"tcp://127.0.0.1:{free_port()}", timeout=0.3) as ctl:
        for _ in range(2):  # a stuck REQ socket would fail the second send
            with pytest.raises(ControlTimeout, match="no reply from"):
                ctl.ping()

    # A server that ignores the first request and answers the second: only a new REQ socket
    # can send that second request, and it gets the answer.
    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")

    def serve_once(reply: bytes):
        def run():
            identity, empty, request = router.recv_multipart()
            assert json.loads(request) == {"op": "ping"}
            router.send_multipart([identity, empty, reply])
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    try:
        with Control(f"tcp://127.0.0.1:{port}", timeout=0.5) as ctl:
            with pytest.raises(ControlTimeout):
                ctl.ping()
            router.recv_multipart()  # the first request, never answered
            ctl.timeout = 20
            thread = serve_once(b'{"ok":true,"name":"fake"}')
            assert ctl.ping() == {"ok": True, "name": "fake"}
            thread.join()
            thread = serve_once(b"[1]")
            with pytest.raises(ControlError) as bad:
                ctl.ping()
            thread.join()
            assert bad.value.code == "bad_reply"
    finally:
        router.close(linger=0)


def test_slow_subscriber_gaps_account_exactly_for_what_it_missed(spawn, tmp_path):
    bus = Bus(spawn, tmp_path, rate=20000, subscribe="T.*,Q.*")
    # A subscriber that keeps up (numpy batches, a big queue) notes every (topic, sequence).
    reference = defaultdict(set)
    stop = threading.Event()
    reference_counters = []

    def keep_up():
        with Subscriber(bus.bus, ["T.", "Q."], receive_hwm=5_000_000) as sub:
            while not stop.is_set():
                batch = sub.next_batch(timeout=0.1)
                for kind, array in (("T.", batch.trades), ("Q.", batch.quotes)):
                    for symbol, sequence in zip(array["symbol"].tolist(), array["sequence"].tolist()):
                        reference[kind + symbol.decode()].add(sequence)
            reference_counters.append(sub.counters)

    thread = threading.Thread(target=keep_up)
    thread.start()
    received = defaultdict(set)
    gaps = []
    try:
        # A tiny queue, and a small kernel buffer so that loopback TCP does not hold 30 MB.
        with Subscriber(bus.bus, ["T.", "Q."], receive_hwm=10, options={zmq.RCVBUF: 65536}) as slow:
            pause = 4.0
            deadline = time.monotonic() + 150
            while not gaps and time.monotonic() < deadline:
                # Deliberately slow: its queues fill up and libzmq drops messages for it alone.
                time.sleep(pause)
                pause = min(pause * 2, 16)
                after_gap = 0
                for _ in range(500_000):  # read what queued up, a little past the first gap
                    if after_gap > 2000:
                        break
                    item = slow.next(timeout=0.5)
                    if item is None:
                        break
                    if gaps:
                        after_gap += 1
                    if isinstance(item, Gap):
                        gaps.append(item)
                    elif not isinstance(item, Event):
                        received[item.topic].add(item.sequence)
            counters = slow.counters
        time.sleep(1)  # the reference reads what is still in flight
    finally:
        stop.set()
        thread.join()
    assert gaps, "the slow subscriber never lost anything"
    assert counters.lost == sum(g.lost for g in gaps) and counters.restarts == 0 and counters.stale == 0
    assert reference_counters[0].gaps == 0, "the reference subscriber fell behind"
    lost = defaultdict(set)
    for gap in gaps:
        missing = set(range(gap.expected, gap.received))
        # Heartbeats (H.*) are numbered too, so a gap may be on a topic with no record received.
        assert len(missing) == gap.lost and not missing & received.get(gap.topic, set())
        lost[gap.topic] |= missing
    for topic, seqs in received.items():
        first, last = min(seqs), max(seqs)
        # Within what it saw of a topic, every number published is either received or counted
        # lost, never both.
        published = {s for s in reference[topic] if first <= s <= last}
        assert published == set(range(first, last + 1)), topic
        assert seqs | lost[topic] == published and not seqs & lost[topic], topic


def next_of(sub, kind, timeout=60):
    """Reads until an item of type `kind` comes (a hang guard after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = sub.next(timeout=0.5)
        if isinstance(item, kind):
            return item
    raise AssertionError(f"no {kind.__name__} within {timeout} s")


def test_restart_silence_and_resumption_of_a_real_ingest(bus):
    with Subscriber(bus.bus, ["T.", "H.ingest"], heartbeat_timeout=2.5) as sub:
        epoch = next_of(sub, Heartbeat).epoch
        bus.ingest.stop()
        silent = next_of(sub, Silent)
        assert silent.publisher == "ingest" and silent.silent_for >= 2.5
        bus.ingest = bus.start_ingest()
        events = []
        while not (any(isinstance(e, Restart) for e in events) and Resumed("ingest") in events):
            events.append(next_of(sub, Event))
        assert Resumed("ingest") in events
        restart = next(e for e in events if isinstance(e, Restart))
        assert restart.previous_epoch == epoch and restart.epoch != epoch
        assert sub.counters.restarts == 1
