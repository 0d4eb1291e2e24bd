#!/usr/bin/env python3
"""bench python: records/s a Python subscriber decodes from a real ZeroMQ stream.

A publisher process (this script with --publish) sends N trade messages over tcp (no drops:
unlimited high-water marks) into the subscriber's queue; once it is done, the subscriber in this
process reads them all, timed:

- raw:       `socket.recv()` only, the ceiling;
- records:   `tickbus.Subscriber.next()`, one dataclass per record, gap tracking included;
- numpy:     `tickbus.Subscriber.next_batch()`, structured arrays, gap tracking included;
- json:      the same records as `tickbus tap --json` objects, one `json.loads` per message.

Then the same decoders on messages already in memory (no socket). Needs pyzmq and numpy;
run from the repository: `python3 benchmarks/python_bench.py [--count N] [--json]`.
"""

import argparse
import json
import os
import socket as socketlib
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))

import zmq  # noqa: E402

import tickbus  # noqa: E402
from tickbus.arrays import decode_batch  # noqa: E402
from tickbus.layout import TRADE_FORMAT  # noqa: E402

TRADE = struct.Struct(TRADE_FORMAT)
SYMBOLS = [f"SYM{i:03d}" for i in range(100)]


def messages(count: int):
    """`count` trade messages over 100 symbols, sequences 1, 2, ... per topic."""
    out = []
    t0 = 1_704_205_800_000_000_000
    for n in range(count):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        record = TRADE.pack(128, 1, 1, 1, 0, 0, 7, 0, n // len(SYMBOLS) + 1, t0 + n * 1000, t0 + n * 1000 + 500,
                            symbol.encode().ljust(24, b"\0"), 189_120_000_000 + n % 1000 * 10_000_000,
                            100.0 + n % 7, n, 4, 3, 2, 12, 37, 0, 0, 0, str(n).encode().ljust(24, b"\0"))
        out.append(b"T." + symbol.encode() + b" " + record)
    return out


def publish(endpoint: str, form: str, count: int) -> None:
    items = messages(count)
    if form == "json":
        items = [tickbus.format_json(tickbus.decode(m)).encode() for m in items]
    context = zmq.Context()
    socket = context.socket(zmq.XPUB)
    socket.setsockopt(zmq.SNDHWM, 0)
    socket.setsockopt(zmq.LINGER, -1)
    socket.bind(endpoint)
    socket.recv()  # a subscription: the subscriber is there
    for item in items:
        socket.send(item)
    socket.close()
    context.term()


def free_endpoint() -> str:
    with socketlib.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def run(form: str, mode: str, count: int) -> float:
    """Records/s of `mode` reading `count` messages of `form` (binary or json) from a publisher
    process. The publisher sends everything first (nothing is dropped: unlimited queues), so the
    clock measures the subscriber alone, not the two processes sharing cores."""
    endpoint = free_endpoint()
    publisher = subprocess.Popen([sys.executable, __file__, "--publish", endpoint, form, str(count)])
    if mode in ("records", "numpy"):
        sub = tickbus.Subscriber(endpoint, ["T."], receive_hwm=0)
    else:
        socket = zmq.Context.instance().socket(zmq.SUB)
        socket.setsockopt(zmq.RCVHWM, 0)
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(endpoint)
    publisher.wait(300)
    time.sleep(0.5)  # the last bytes leave the kernel's buffers
    start = time.perf_counter()
    received = 0
    if mode == "raw":
        recv = socket.recv
        for _ in range(count):
            recv()
        received = count
    elif mode == "json":
        loads = json.loads
        recv = socket.recv
        for _ in range(count):
            loads(recv())
        received = count
    elif mode == "records":
        nxt = sub.next
        event = tickbus.Event
        while received < count:
            if not isinstance(nxt(), event):
                received += 1
    else:
        while received < count:
            received += len(sub.next_batch())
    elapsed = time.perf_counter() - start
    if mode in ("records", "numpy"):
        assert sub.counters.gaps == 0 and sub.counters.invalid_total == 0, sub.counters
        sub.close()
    else:
        socket.close()
    return received / elapsed


def in_memory(count: int) -> dict:
    items = messages(count)
    lines = [tickbus.format_json(tickbus.decode(m)).encode() for m in items]
    decode = tickbus.decode
    results = {}
    start = time.perf_counter()
    for m in items:
        decode(m)
    results["records"] = count / (time.perf_counter() - start)
    start = time.perf_counter()
    decode_batch(items)
    results["numpy"] = count / (time.perf_counter() - start)
    loads = json.loads
    start = time.perf_counter()
    for line in lines:
        loads(line)
    results["json"] = count / (time.perf_counter() - start)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--publish":
        publish(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="messages per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, the best is kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    # Best of --repeat runs, the modes interleaved: the machine's other load comes and goes.
    stream = {"raw": 0.0, "records": 0.0, "numpy": 0.0, "json": 0.0}
    memory = {"records": 0.0, "numpy": 0.0, "json": 0.0}
    for _ in range(args.repeat):
        for mode in stream:
            stream[mode] = max(stream[mode], run("json" if mode == "json" else "binary", mode, args.count))
        for mode, value in in_memory(min(args.count, 200_000)).items():
            memory[mode] = max(memory[mode], value)
    if args.json:
        print(json.dumps({"stream": stream, "memory": memory}))
        return
    print(f"bench python: {args.count:,} trade messages over tcp from a publisher process"
          f" (records/s, best of {args.repeat})")
    print(f"{'decoder':<44}{'stream':>12}{'in memory':>12}{'vs json':>9}")
    rows = [
        ("recv only (ceiling)", "raw", None),
        ("tickbus.Subscriber.next(): a dataclass each", "records", "records"),
        ("tickbus.Subscriber.next_batch(): numpy", "numpy", "numpy"),
        ("tap --json objects, json.loads each", "json", "json"),
    ]
    for label, key, mem in rows:
        memory_text = f"{memory[mem]:>12,.0f}" if mem else f"{'':>12}"
        ratio = f"{stream[key] / stream['json']:>8.1f}x" if key != "raw" else ""
        print(f"{label:<44}{stream[key]:>12,.0f}{memory_text}{ratio}")


if __name__ == "__main__":
    main()
