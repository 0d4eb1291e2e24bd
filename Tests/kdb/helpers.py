"""Helpers for the kdb tests: a bus publisher speaking tickbus's wire format (built with
Tests/golden/make_vectors.py, which follows docs/wire-format.md independently of the Swift
code), line readers for child processes, and record → expected-row mappings."""
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import time

import zmq

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "golden"))
import make_vectors as mv  # noqa: E402
sys.path.append(str(ROOT / "clients" / "python" / "tests"))
from ports import free_port  # noqa: E402,F401  (shared with the client tests)

Q_EPOCH_NS = 946_684_800 * 1_000_000_000
SCALE = float(os.environ.get("TICKBUS_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds):
    """A hang guard, scaled for loaded machines; never a timing assertion."""
    return seconds * SCALE


class Lines:
    """Reads a child's stdout (or stderr) lines on a thread into a queue."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def next(self, within):
        try:
            line = self.q.get(timeout=timeout(within))
        except queue.Empty:
            raise AssertionError(f"nothing within {within}s; so far: {self.all[-5:]}")
        if line is None:
            raise AssertionError(f"stream ended; so far: {self.all[-5:]}")
        self.all.append(line)
        return line

    def until(self, predicate, within):
        deadline = time.monotonic() + timeout(within)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met within {within}s; last lines: {self.all[-5:]}")
            line = self.next(left / SCALE)
            if predicate(line):
                return line


class FakeTickerplant:
    """fake_tickerplant.py in its own process."""

    def __init__(self, port=0, password=None, schema=None, delay_ms=0):
        args = [sys.executable, str(pathlib.Path(__file__).with_name("fake_tickerplant.py")), "--port", str(port)]
        if password:
            args += ["--password", password]
        if schema:
            args += ["--schema", str(schema)]
        if delay_ms:
            args += ["--delay-ms", str(delay_ms)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.lines = Lines(self.proc.stdout)
        self.port = json.loads(self.lines.next(30))["port"]

    def event(self, name, within=30):
        return json.loads(self.lines.until(lambda l: json.loads(l)["event"] == name, within))

    def kill(self):
        self.proc.kill()
        self.proc.wait()


class Bus:
    """An XPUB socket publishing records in tickbus's wire format, with per-topic sequences."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.bind("tcp://127.0.0.1:*")
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.seq = {}
        self.subscribed = set()

    def wait_subscribed(self, *prefixes, within=30):
        """Waits until the subscriber has subscribed to every one of `prefixes` (`"T."`, `""` for
        everything): records sent earlier would be dropped by the publisher. Subscriptions come
        in no fixed order, heartbeats' `H.` among them."""
        self.sock.setsockopt(zmq.RCVTIMEO, int(timeout(within) * 1000))
        while not set(prefixes) <= self.subscribed:
            frame = self.sock.recv()
            if frame[:1] == b"\x01":
                self.subscribed.add(frame[1:].decode())

    def send(self, f):
        topic = mv.topic_of(f)
        self.seq[topic] = self.seq.get(topic, 0) + 1
        f = dict(f, sequence=self.seq[topic])
        self.sock.send(topic.encode() + b" " + mv.record(f))

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def make_records(n, start=0):
    """n trades, quotes and bars (round robin), some HISTORICAL, with nulls and conditions."""
    out = []
    syms = ["AAPL", "MSFT", "BRK.B", "O:SPY251219C00650000"]
    for k in range(start, start + n):
        sym = syms[k % len(syms)]
        ts = mv.T0 + k * 1_000_003
        flags = ("historical",) if k % 5 == 4 else ()
        kind = k % 3
        if kind == 0:
            f = mv.trade(sym, "stocks", 0, None if k % 17 == 0 else "%d.%02d" % (100 + k % 50, k % 100),
                         0.5 if k % 7 == 0 else 100 + k, conditions=[12, 37, 41][: k % 4], trade_id=("" if k % 6 == 0 else str(7_000_000 + k)),
                         upstream_sequence=k, exchange=k % 20, tape=k % 4, flags=flags, ts=ts)
        elif kind == 1:
            f = mv.base("quote", "stocks", sym, 0, ts, ts + 5_000, flags)
            f.update(bid_price="%d.25" % (100 + k % 9), ask_price=None if k % 11 == 0 else "%d.75" % (100 + k % 9),
                     bid_size=100.0 * (k % 5 + 1), ask_size=50.0, upstream_sequence=k, bid_exchange=k % 19,
                     ask_exchange=k % 17, condition=k % 3, tape=1)
        else:
            interval = [1, 60, 5][k % 3]
            bflags = flags + (("local",) if interval == 5 else ()) + (("revision",) if k % 4 == 1 else ())
            f = mv.bar(sym, "stocks", 0, ts - ts % 1_000_000_000, interval, "100.5", "101", "99.25", "100.75",
                       None if k % 2 else "100.6", None if k % 10 == 8 else 1000 + k, k, flags=bflags)
        out.append(f)
    return out


def table_of(f, separate_historical=False):
    base = {"trade": "trade", "quote": "quote", "bar": "bar"}[f["kind"]]
    return base + ("Hist" if separate_historical and "historical" in f["flags"] else "")


def price(text):
    return float("nan") if text is None else mv.price_raw(text) / 1e9


def expected_row(f):
    """The row (after `time`) tickbus must send for a record, in sym.q's column order."""
    head = [f["symbol"], f["ts_event"] - Q_EPOCH_NS, f["ts_recv"] - Q_EPOCH_NS]
    if f["kind"] == "trade":
        return head + [price(f["price"]), float(f["size"]), f["exchange"], f["tape"], list(f["conditions"]),
                       f["trade_id"], f["upstream_sequence"]]
    if f["kind"] == "quote":
        return head + [price(f["bid_price"]), price(f["ask_price"]), f["bid_size"], f["ask_size"],
                       f["bid_exchange"], f["ask_exchange"], f["condition"], f["tape"], f["upstream_sequence"]]
    src = mv.topic_of(f).split(".")[0]
    vol = float("nan") if f["volume"] is None else float(f["volume"])
    return head + [f["interval"] * 1_000_000_000, src, price(f["open"]), price(f["high"]), price(f["low"]),
                   price(f["close"]), vol, price(f["vwap"]), f["trade_count"], "revision" in f["flags"]]


COLUMN_TYPES = {
    "trade": [11, 12, 12, 9, 9, 5, 5, 0, 0, 7],
    "quote": [11, 12, 12, 9, 9, 9, 9, 5, 5, 5, 5, 7],
    "bar": [11, 12, 12, 16, 11, 9, 9, 9, 9, 9, 9, 7, 1],
}


def norm(v):
    """Comparable form: bytes → str, NaN → 'NaN', numpy → Python."""
    if isinstance(v, (bytes, bytearray)):
        return v.decode()
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, float) and v != v:
        return "NaN"
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v
