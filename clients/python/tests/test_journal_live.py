"""The journal written by a real `tickbus ingest` (fed by `tickbus sim`), read back by
`tickbus.journal` and `tickbus journal`, against an independent recorder of the bus: a raw pyzmq
SUB socket. Also a `kill -9` and restart (the torn file is repaired and reported), and a full
disk (a small tmpfs in a user namespace): the bus goes on, the journal says exactly what it lacks."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections import defaultdict

import pytest
import zmq

from tickbus import decode, journal
from conftest import tickbus_bin, wait_until
from test_live import Bus


def topic_and_sequence(message: bytes):
    space = message.index(b" ")
    return message[:space].decode(), int.from_bytes(message[space + 1 + 16:space + 1 + 24], "little")


def record(endpoint: str, stop, idle=1.0):
    """Every message (heartbeats aside) a raw SUB socket receives until `stop()` is true and the
    bus has been quiet for `idle` seconds."""
    context = zmq.Context.instance()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.connect(endpoint)
    got = []
    quiet_since = None
    try:
        while True:
            if sub.poll(100):
                message = sub.recv()
                if not message.startswith(b"H."):
                    got.append(message)
                quiet_since = None
            elif stop():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= idle:
                    return got
    finally:
        sub.close(0)


def contiguous_per_topic(messages):
    """Per topic, whether the sequence numbers run 1, 2, 3, … with none missing or doubled."""
    seen = defaultdict(list)
    for m in messages:
        topic, sequence = topic_and_sequence(m)
        seen[topic].append(sequence)
    return {t: s == list(range(1, len(s) + 1)) for t, s in seen.items()}


def test_the_journal_holds_exactly_what_the_bus_carried(spawn, tmp_path):
    bus = Bus(spawn, tmp_path, rate=3000)
    directory = tmp_path / ".tickbus" / "journal" / "ingest"
    import threading
    done = threading.Event()
    result = {}
    recorder = threading.Thread(target=lambda: result.setdefault("got", record(bus.bus, done.is_set)))
    recorder.start()
    wait_until(lambda: directory.exists() and sum(f.messages for f in journal.files(directory)) > 20_000, timeout=60)
    assert bus.ingest.stop() == 0, bus.ingest.stderr()
    done.set()
    recorder.join(60)
    got = result["got"]
    kept = list(journal.messages(directory))
    (f,) = journal.files(directory)
    assert f.ok and f.closed and not f.repaired and f.messages == len(kept) and f.publisher == "ingest"
    # The recorder joined late (ZeroMQ's slow joiner) but missed nothing after that: what it got
    # is, byte for byte, one stretch of the journal, and the journal ends with it.
    assert len(got) > 10_000
    start = kept.index(got[0])
    assert kept[start:] == got
    assert all(contiguous_per_topic(kept).values())
    # The command line agrees.
    check = subprocess.run([tickbus_bin(), "journal", "verify", str(directory)], capture_output=True, text=True)
    assert check.returncode == 0 and "closed" in check.stdout, check.stdout + check.stderr
    stats = subprocess.run([tickbus_bin(), "journal", "stats", "--json", str(directory)], capture_output=True, text=True)
    assert json.loads(stats.stdout)["messages"] == len(kept)
    cat = subprocess.run([tickbus_bin(), "journal", "cat", "--json", "--topic", "T.AAPL", str(directory)],
                         capture_output=True, text=True)
    printed = [json.loads(line) for line in cat.stdout.splitlines()]
    aapl = [m for m in kept if m.startswith(b"T.AAPL ")]
    assert [p["sequence"] for p in printed] == [topic_and_sequence(m)[1] for m in aapl] and aapl


def test_kill_9_then_restart_repairs_the_file_and_says_so(spawn, tmp_path):
    bus = Bus(spawn, tmp_path, rate=3000)
    directory = tmp_path / ".tickbus" / "journal" / "ingest"
    wait_until(lambda: directory.exists() and sum(f.messages for f in journal.files(directory)) > 5_000, timeout=60)
    bus.ingest.popen.kill()
    bus.ingest.wait()
    (crashed,) = journal.files(directory)
    assert not crashed.closed and not crashed.problems
    bus.ingest = bus.start_ingest()
    wait_until(lambda: len(journal.files(directory)) == 2 and journal.files(directory)[1].messages > 1000, timeout=60)
    assert bus.ingest.stop() == 0
    first, second = journal.files(directory)
    assert first.path == crashed.path and first.closed and first.repaired and first.ok
    assert first.messages == crashed.messages and second.closed and second.epoch != first.epoch
    assert "journal_repaired" in bus.ingest.stderr()
    statuses = [json.loads(decode(m).json) for m in journal.messages(second.path, topics=["S."])]
    repaired = [s for s in statuses if s["event"] == "journal_repaired"]
    assert len(repaired) == 1 and os.path.basename(repaired[0]["file"]) == os.path.basename(first.path)
    assert repaired[0]["kept_messages"] == first.messages
    for path in (first.path, second.path):
        assert all(contiguous_per_topic(journal.messages(path)).values())


DISK_FULL = textwrap.dedent("""
    import json, os, subprocess, sys, threading, time
    sys.path[:0] = {paths!r}
    from tickbus import journal
    from test_journal_live import record
    mount, bus, sim_port, binary = {mount!r}, {bus!r}, {sim_port!r}, {binary!r}
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount], check=True)
    filler = os.path.join(mount, "filler")
    with open(filler, "wb") as f:
        f.write(b"x" * (4 << 20))
    directory = os.path.join(mount, "journal")
    log = open(os.path.join({tmp!r}, "ingest-full.err"), "wb")
    ingest = subprocess.Popen([binary, "ingest", "--url", f"ws://127.0.0.1:{{sim_port}}/stocks", "--subscribe", "T.*,Q.*",
                               "--bus", bus, "--control", "none", "--state-file", os.path.join(mount, "s.json"),
                               "--journal", directory, "--journal-file-size", "1MiB"], stderr=log, cwd=mount)
    done = threading.Event()
    got = []
    recorder = threading.Thread(target=lambda: got.extend(record(bus, done.is_set)))
    recorder.start()
    def wait_for(text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in open(log.name).read():
            assert time.monotonic() < deadline and ingest.poll() is None, text
            time.sleep(0.05)
    wait_for("journal_write_failed")
    time.sleep(2)
    os.remove(filler)
    wait_for("journal_hole")
    time.sleep(1)
    ingest.send_signal(2)
    code = ingest.wait(60)
    done.set()
    recorder.join(60)
    files = journal.files(directory)
    kept = [m for m in journal.messages(directory)]
    holes = [(h.topic, h.first, h.last, h.reason) for f in files for h in f.holes]
    print(json.dumps({{"code": code, "problems": [str(p) for f in files for p in f.problems],
                      "kept": [m.hex() for m in kept], "got": [m.hex() for m in got], "holes": holes}}))
""")


def test_a_full_disk_leaves_the_bus_running_and_the_journal_says_what_it_lacks(spawn, tmp_path):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-r", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -r -m (user namespaces) to mount a small tmpfs")
    bus = Bus(spawn, tmp_path, rate=3000)
    bus.ingest.stop()  # this test's ingest runs inside the namespace
    mount = tmp_path / "small"
    mount.mkdir()
    here = os.path.dirname(os.path.abspath(__file__))
    script = DISK_FULL.format(paths=[here, os.path.dirname(here)], mount=str(mount), bus=bus.bus,
                              sim_port=bus.sim_port, binary=tickbus_bin(), tmp=str(tmp_path))
    run = subprocess.run(["unshare", "-r", "-m", sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr + (tmp_path / "ingest-full.err").read_text()
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["code"] == 0 and result["problems"] == []
    kept = [bytes.fromhex(m) for m in result["kept"]]
    got = [bytes.fromhex(m) for m in result["got"]]
    holes = result["holes"]
    assert holes and all(reason == 2 for *_, reason in holes)
    log = (tmp_path / "ingest-full.err").read_text()
    assert "journal_write_failed" in log and "journal_hole" in log
    # Per topic, the journal's sequences and its hole ranges cover 1…last exactly once.
    covered = defaultdict(list)
    for m in kept:
        topic, sequence = topic_and_sequence(m)
        covered[topic].append(sequence)
    missing = 0
    for topic, first, last, _ in holes:
        covered[topic].extend(range(first, last + 1))
        missing += last - first + 1
    for topic, sequences in covered.items():
        assert sorted(sequences) == list(range(1, max(sequences) + 1)), topic
    # The bus went on: the recorder received messages the journal lacks.
    lacking = {(t, s) for t, first, last, _ in holes for s in range(first, last + 1)}
    assert sum(1 for m in got if topic_and_sequence(m) in lacking) > 0
    assert missing > 0


def test_bars_journals_the_bars_it_publishes(spawn, tmp_path):
    import threading
    from ports import free_port
    bus = Bus(spawn, tmp_path, rate=2000)
    bars_bus = f"tcp://127.0.0.1:{free_port()}"
    bars = spawn(["bars", "--bus", bus.bus, "--publish", bars_bus, "--intervals", "1s,5s", "--grace", "0.2"], "bars")
    directory = tmp_path / ".tickbus" / "journal" / "bars"
    done = threading.Event()
    result = {}
    recorder = threading.Thread(target=lambda: result.setdefault("got", record(bars_bus, done.is_set)))
    recorder.start()
    wait_until(lambda: directory.exists() and sum(1 for m in journal.messages(directory, topics=["B5s."])) >= 10, timeout=90)
    assert bars.stop() == 0, bars.stderr()
    done.set()
    recorder.join(60)
    kept = list(journal.messages(directory))
    got = result["got"]
    assert any(m.startswith(b"B5s.") for m in got)
    start = kept.index(got[0])
    assert kept[start:] == got
    (f,) = journal.files(directory)
    assert f.ok and f.closed and f.publisher == "bars"
    assert all(contiguous_per_topic(kept).values())
