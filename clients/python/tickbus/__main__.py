"""`python -m tickbus tap TOPIC…`: print records from the bus like `tickbus tap`.

    python -m tickbus tap T.AAPL 'A.*'              # text lines, !! lines for gaps etc.
    python -m tickbus tap --json --count 100 T.     # one JSON object per line
"""

from __future__ import annotations

import argparse
import signal
import sys

from .format import format_json, format_text
from .records import Record
from .subscriber import Subscriber
from .topics import TopicError, TopicFilter


def _tap(args) -> int:
    try:
        filters = [TopicFilter(t) for t in args.topics]
    except TopicError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    if args.heartbeat_timeout <= 0:
        print("Error: --heartbeat-timeout must be positive", file=sys.stderr)
        return 2
    stopping = []
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    format_line = format_json if args.json else format_text
    out = sys.stdout
    records = 0
    with Subscriber(args.endpoint or ["tcp://127.0.0.1:7700"], filters,
                    heartbeat_timeout=args.heartbeat_timeout) as subscriber:
        try:
            while not stopping:
                item = subscriber.next(timeout=0.2)
                if item is None:
                    continue
                out.write(format_line(item) + "\n")
                out.flush()
                if isinstance(item, Record):
                    records += 1
                    if args.count is not None and records >= args.count:
                        break
        except BrokenPipeError:
            pass
        c = subscriber.counters
        print(f"tap: {c.records} records, {c.gaps} gaps ({c.lost} lost), {c.restarts} restarts,"
              f" {c.invalid_total} invalid", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tickbus", description="The tickbus Python client.")
    commands = parser.add_subparsers(dest="command", required=True)
    tap = commands.add_parser(
        "tap", help="Print records from the bus, one per line, and report gaps, restarts and silence.",
        description="TOPIC is exact (T.AAPL is AAPL's trades, not AAPLW's), a kind prefix (T. or T.*), "
                    "a symbol prefix (T.AA*), or * for everything (the default). Lines starting with !! "
                    '(or JSON objects with an "event" key) report sequence gaps, publisher restarts, '
                    "silent publishers and invalid messages.")
    tap.add_argument("topics", nargs="*", metavar="TOPIC", help="Topics to print (default: everything).")
    tap.add_argument("--endpoint", action="append",
                     help="Bus endpoint to connect to; repeat for several publishers (default tcp://127.0.0.1:7700).")
    tap.add_argument("--json", action="store_true", help="One JSON object per line.")
    tap.add_argument("--count", type=int, help="Exit after this many records.")
    tap.add_argument("--heartbeat-timeout", type=float, default=3.0,
                     help="Report a publisher silent after this many seconds without a heartbeat (default 3).")
    args = parser.parse_args(argv)
    return _tap(args)


if __name__ == "__main__":
    sys.exit(main())
