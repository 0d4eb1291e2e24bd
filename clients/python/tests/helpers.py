"""A test publisher: a pyzmq XPUB sending golden-vector messages with chosen epochs and
sequence numbers (independent of the Swift publisher)."""

import json
import struct
import time

import zmq

from conftest import GOLDEN

CASES = {c["name"]: bytes.fromhex(c["message_hex"]) for c in json.loads(GOLDEN.read_text())["cases"]}
INVALID = {c["name"]: bytes.fromhex(c["message_hex"]) for c in json.loads(GOLDEN.read_text())["invalid"]}


def stamp(message: bytes, epoch: int, sequence: int) -> bytes:
    """`message` with its record's epoch and sequence number replaced."""
    start = message.index(b" ") + 1
    out = bytearray(message)
    struct.pack_into("<IIQ", out, start + 8, epoch, 0, sequence)
    return bytes(out)


class BusPublisher:
    """An XPUB on a random local port that can wait until subscribers have subscribed."""

    def __init__(self):
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.XPUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDHWM, 0)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.subscriptions = []

    def wait_for(self, prefixes, subscribers=1, timeout=20.0):
        """Reads subscription messages until every prefix in `prefixes` has been subscribed by
        `subscribers` subscribers (a hang guard after `timeout` s)."""
        deadline = time.monotonic() + timeout
        wanted = set(prefixes)
        while not all(self.subscriptions.count(p) >= subscribers for p in wanted):
            left = deadline - time.monotonic()
            assert left > 0, f"subscriptions {self.subscriptions}, waiting for {wanted}"
            if self.socket.poll(int(left * 1000)):
                message = self.socket.recv()
                if message[:1] == b"\x01":
                    self.subscriptions.append(message[1:])

    def send(self, *messages):
        for message in messages:
            self.socket.send(message)

    def close(self):
        self.socket.close(linger=0)
