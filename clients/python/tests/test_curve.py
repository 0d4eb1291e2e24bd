"""CURVE (docs/security.md) from the Python client, against a real `tickbus ingest` whose bus and
control sockets are CURVE servers with an allow list: `curve_options` reads `tickbus keygen`'s
files; `Control` and `Subscriber` with them are served, without them or with a key not on the
list they hear nothing; and a `Control` keeps its keys when it replaces its socket after a
timeout (Lazy Pirate), which it once did with a plain socket that could never be answered."""

import shutil
import subprocess
import threading
from types import SimpleNamespace

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from conftest import tickbus_bin, wait_until
from ports import free_port
from test_readme import CLIENT_README, python_blocks, run
from tickbus import Control, ControlTimeout, Event, Subscriber, curve_options


@pytest.fixture
def keys(tmp_path):
    """`tickbus keygen` pairs for ingest, an allowed client and a stranger in the test's
    directory (where the README example runs); `clients/` is the allow list, with the client's
    public key only."""
    directory = tmp_path
    (directory / "clients").mkdir()
    for name in ("ingest", "alice", "stranger"):
        subprocess.run([tickbus_bin(), "keygen", name, "--directory", str(directory)], check=True,
                       capture_output=True)
    shutil.copy(directory / "alice.key", directory / "clients" / "alice.key")
    return directory


HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


def pings_after_a_refused_handshake(endpoint, options):
    """Two pings from a `Control` whose handshake the server has already refused, so that its
    REQ socket has no peer to send to ("timeout" or "reply" each). They ran on a thread of their
    own: a ping that blocks in its send (as it did) fails the test instead of hanging it."""
    results = []

    def run():
        try:
            with Control(endpoint, timeout=1, options=options) as ctl:
                monitor = ctl._socket.get_monitor_socket(HANDSHAKE_FAILED)
                assert monitor.poll(30_000), "no handshake failure within 30 s"
                recv_monitor_message(monitor)
                ctl._socket.disable_monitor()
                monitor.close(linger=0)
                for _ in range(2):
                    try:
                        ctl.ping()
                        results.append("reply")
                    except ControlTimeout:
                        results.append("timeout")
        except BaseException as error:  # noqa: B902  (reported by the test's thread)
            results.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f"a ping blocked for 60 s (timeout 1 s); so far {results}"
    return results


def test_curve_options_reads_keygen_files(keys):
    from zmq.auth import load_certificate

    public, secret = load_certificate(str(keys / "alice.key_secret"))
    server, _ = load_certificate(str(keys / "ingest.key"))
    options = curve_options(keys / "alice.key_secret", keys / "ingest.key")
    assert options == {zmq.CURVE_PUBLICKEY: public, zmq.CURVE_SECRETKEY: secret, zmq.CURVE_SERVERKEY: server}
    # The server key as --curve-server-key takes it: a file, a bare Z85 line, the 40 characters.
    (keys / "bare").write_text("# ingest\n" + server.decode() + "\n")
    for form in (str(keys / "ingest.key"), keys / "bare", server.decode(), server):
        assert curve_options(str(keys / "alice.key_secret"), form)[zmq.CURVE_SERVERKEY] == server
    with pytest.raises(ValueError, match="no secret key"):
        curve_options(keys / "alice.key", keys / "ingest.key")
    with pytest.raises(FileNotFoundError):
        curve_options(keys / "alice.key_secret", keys / "nothing.key")


def test_control_and_subscriber_under_curve_and_after_a_timeout(keys, spawn, tmp_path):
    sim_port, bus, control = free_port(), f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    alice = curve_options(keys / "alice.key_secret", keys / "ingest.key")
    with Control(control, timeout=0.5, options=alice) as ctl:
        # Nothing there yet: a timeout, and the REQ socket is replaced.
        with pytest.raises(ControlTimeout):
            ctl.ping()
        spawn(["sim", "--port", str(sim_port), "--rate", "500"], "sim")
        ingest = spawn([
            "ingest", "--url", f"ws://127.0.0.1:{sim_port}/stocks", "--subscribe", "T.*", "--bus", bus,
            "--control", control, "--state-file", str(tmp_path / "subs.json"),
            "--curve-secret-key", str(keys / "ingest.key_secret"), "--curve-allow", str(keys / "clients"),
        ], "ingest")

        def answers():
            try:
                return ctl.ping()
            except ControlTimeout:  # ingest still starting: each timeout replaces the socket again
                assert ingest.popen.poll() is None, ingest.stderr()
                return None

        # Only a replacement socket with alice's keys can be answered.
        assert wait_until(answers, timeout=60)["name"] == "ingest"
        ctl.timeout = 10
        assert ctl.status()["ok"] and ctl.subscriptions()["subscriptions"] == ["T.*"]

    # Without CURVE, or with a key not on the allow list: no reply.
    stranger = curve_options(keys / "stranger.key_secret", keys / "ingest.key")
    for options in ({}, stranger):
        with Control(control, timeout=1, options=options) as refused:
            with pytest.raises(ControlTimeout):
                refused.ping()
        assert pings_after_a_refused_handshake(control, options) == ["timeout", "timeout"]
    wait_until(lambda: "client key not allowed" in ingest.stderr())

    # The README's example, as written (endpoints aside), with its key files in its directory.
    example = dict(python_blocks(CLIENT_README))["Across hosts: CURVE"]
    assert "alice.key_secret" in example and "ingest.key" in example
    lines = run(example, SimpleNamespace(bus=bus, control=control), tmp_path, "curve-example", timeout=60)
    assert lines == ["ingest", "T."], lines

    # The same options serve a Subscriber on the CURVE bus.
    with Subscriber(bus, ["T."], options=alice) as sub:
        trades = []
        while len(trades) < 5:
            item = sub.next(timeout=30)
            assert item is not None, f"no trade through CURVE within 30 s: {ingest.stderr()[-2000:]}"
            if not isinstance(item, Event):
                trades.append(item)
        assert all(t.topic.startswith("T.") for t in trades)
