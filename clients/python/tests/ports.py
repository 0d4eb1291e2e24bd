"""Ports for the tests' servers; the kdb tests (Tests/kdb) use this module too."""

import random
import socket

_HANDED_OUT = set()


def free_port() -> int:
    """A TCP port for a test's server: free now, not handed out before in this run, and below
    the kernel's ephemeral range (32768 up), so no outgoing connection can take it first."""
    while True:
        port = random.randint(20_000, 32_000)
        if port in _HANDED_OUT:
            continue
        _HANDED_OUT.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
