"""`tickbus kdb serve` with q clients: pykx (KX's own client library) subscribes with .u.sub and
receives (`upd;`table;table) messages with the right rows; r.q's subscription form gets the reply
r.q expects; a slow client is disconnected without affecting others; bad peers are closed and
logged while the process goes on."""
import re
import socket
import struct
import subprocess
import threading
import time

import pykx as kx
import pytest

from helpers import (COLUMN_TYPES, Bus, Lines, expected_row, make_records, norm, table_of, timeout)

SCHEMAS = {
    "trade": ["time", "sym", "eventTime", "recvTime", "price", "size", "exchange", "tape", "cond", "id", "seq"],
    "quote": ["time", "sym", "eventTime", "recvTime", "bid", "ask", "bsize", "asize", "bex", "aex", "cond", "tape", "seq"],
    "bar": ["time", "sym", "eventTime", "recvTime", "span", "src", "open", "high", "low", "close", "volume", "vwap",
            "trades", "rev"],
}


class Serve:
    def __init__(self, tickbus, bus, *extra):
        self.proc = subprocess.Popen(
            [tickbus, "kdb", "serve", "--port", "0", "--bus", bus.endpoint, "--flush-ms", "20", "--flush-rows", "500",
             *extra], stderr=subprocess.PIPE, text=True)
        self.log = Lines(self.proc.stderr)
        line = self.log.until(lambda l: "serving q clients" in l, 60)
        self.port = int(re.search(r"port=(\d+)", line).group(1))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout(20))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


class RawClient:
    """A q IPC client on a plain socket: handshake, sync requests (serialized by pykx), and raw
    async messages decoded by pykx."""

    def __init__(self, port, credentials=b"", rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout(20))
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(credentials + b"\x06\x00")
        assert self.sock.recv(1) == b"\x03"

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def message(self):
        header = self.read_exact(8)
        (length,) = struct.unpack("<I", header[4:])
        return header[1], header + self.read_exact(length - 8)

    def sync(self, query):
        self.sock.sendall(bytes(kx.serialize(kx.CharVector(query), mode=3, wait=1).copy()))
        mtype, data = self.message()
        assert mtype == 2
        return kx.deserialize(data)

    def closed_by_server(self, within=20):
        self.sock.settimeout(timeout(within))
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def schema_of(pair):
    name, table = list(pair)
    cols = [c.decode() for c in table.keys().py(raw=True)]
    types = [int(c.t) for c in table.values()]
    return name.py(raw=True).decode(), cols, types


def rows_of(data):
    """(table, rows) of an async (`upd;`t;table) message, decoded by pykx."""
    fn, name, table = list(kx.deserialize(data))
    assert fn.t == -11 and fn.py(raw=True) == b"upd"
    assert table.t == 98
    name = name.py(raw=True).decode()
    cols = [c.decode() for c in table.keys().py(raw=True)]
    assert cols == SCHEMAS[name.removesuffix("Hist")]
    values = list(table.values())
    assert [int(c.t) for c in values] == [16] + COLUMN_TYPES[name.removesuffix("Hist")]
    plain = [norm(c.py(raw=True)) for c in values]
    return name, [list(r)[1:] for r in zip(*plain)]  # `time` is the server's stamp


def rows_in(data):
    """Rows of an upd message: the length of its first column."""
    return len(list(list(kx.deserialize(data))[2].values())[0])


def collect(client, want, within=60):
    got = {}
    n = 0
    deadline = time.monotonic() + timeout(within)
    while n < want:
        assert time.monotonic() < deadline, f"{n} of {want} rows"
        mtype, data = client.message()
        assert mtype == 0
        name, rows = rows_of(data)
        got.setdefault(name, []).extend(rows)
        n += len(rows)
    return got


@pytest.fixture
def bus():
    b = Bus()
    yield b
    b.close()


def test_pykx_subscribes_and_receives_rows(tickbus, bus):
    serve = Serve(tickbus, bus)
    try:
        # KX's own client: handshake and sync .u.sub through pykx's C library.
        conn = kx.SyncQConnection("127.0.0.1", serve.port, no_ctx=True)
        name, cols, types = schema_of(conn(".u.sub[`trade;`]"))
        assert (name, cols) == ("trade", SCHEMAS["trade"])
        assert types == [16] + COLUMN_TYPES["trade"]
        name, cols, _ = schema_of(conn(".u.sub[`quote;`AAPL`MSFT]"))
        assert (name, cols) == ("quote", SCHEMAS["quote"])
        with pytest.raises(kx.QError, match="nyi"):
            conn("select from trade")
        with pytest.raises(kx.QError, match="nosuch"):
            conn(".u.sub[`nosuch;`]")
        conn.close()

        # A raw client for the stream (pykx's sync API does not read async pushes).
        c = RawClient(serve.port)
        assert schema_of(c.sync(".u.sub[`trade;`]"))[0] == "trade"
        assert schema_of(c.sync(".u.sub[`quote;`AAPL`MSFT]"))[0] == "quote"
        bus.wait_subscribed("T.", "Q.", "A.", "AM.", "B")
        records = make_records(1200)
        for f in records:
            bus.send(f)
        want = {}
        for f in records:
            if f["kind"] == "trade" or (f["kind"] == "quote" and f["symbol"] in ("AAPL", "MSFT")):
                want.setdefault(table_of(f), []).append(norm(expected_row(f)))
        got = collect(c, sum(len(v) for v in want.values()))
        assert got == want
        assert serve.proc.poll() is None
    finally:
        serve.stop()


def test_pykx_with_default_arguments_connects_subscribes_and_receives_rows(tickbus, bus):
    """pykx's default connection (no `no_ctx=True`) asks at connect what `.q` is and for its
    names (pykx/ctx.py's context interface); answered as q answers, it connects, subscribes and
    reads the updates as pykx's tickerplant subscriber example does (RawQConnection.poll_recv)."""
    import asyncio
    serve = Serve(tickbus, bus, "T.")
    records = [f for f in make_records(300) if f["kind"] == "trade"]

    async def subscribe_and_read():
        async with kx.RawQConnection("127.0.0.1", serve.port) as conn:
            assert schema_of(await conn(".u.sub", "trade", ""))[:2] == ("trade", SCHEMAS["trade"])
            bus.wait_subscribed("T.")
            for f in records:
                bus.send(f)
            got = []
            deadline = time.monotonic() + timeout(60)
            while len(got) < len(records):
                assert time.monotonic() < deadline, f"{len(got)} of {len(records)} rows"
                message = conn.poll_recv()
                if message is None:
                    await asyncio.sleep(0.005)
                    continue
                fn, name, table = list(message)
                assert fn.py(raw=True) == b"upd" and name.py(raw=True) == b"trade"
                columns = [norm(c.py(raw=True)) for c in table.values()]
                got += [list(r)[1:] for r in zip(*columns)]
            return got

    try:
        assert asyncio.run(asyncio.wait_for(subscribe_and_read(), timeout(90))) == [
            norm(expected_row(f)) for f in records]
        # The synchronous connection with default arguments too.
        conn = kx.SyncQConnection("127.0.0.1", serve.port)
        assert schema_of(conn(".u.sub[`trade;`AAPL]"))[0] == "trade"
        conn.close()
        assert serve.proc.poll() is None
    finally:
        serve.stop()


def test_rq_subscription_form(tickbus, bus):
    serve = Serve(tickbus, bus)
    try:
        conn = kx.SyncQConnection("127.0.0.1", serve.port, no_ctx=True)
        schemas, log = list(conn("(.u.sub[`;`];`.u `i`L)"))
        assert [schema_of(p)[:2] for p in schemas] == [(n, SCHEMAS[n]) for n in ("trade", "quote", "bar")]
        count, path = list(log)
        assert count.t == -7 and count.py(raw=True) == -(2**63)  # 0N: r.q skips the log replay
        assert path.t == -11 and path.py(raw=True) == b""
        conn.close()
    finally:
        serve.stop()


def test_slow_client_is_disconnected_others_unaffected(tickbus, bus):
    serve = Serve(tickbus, bus, "--client-queue-kb", "256")
    try:
        slow = RawClient(serve.port, rcvbuf=4096)
        slow.sync(".u.sub[`trade;`]")
        fast = RawClient(serve.port)
        fast.sync(".u.sub[`trade;`]")
        bus.wait_subscribed("T.", "Q.", "A.", "AM.", "B")
        records = [f for f in make_records(3 * 60000) if f["kind"] == "trade"]
        # The fast client reads raw messages on its own thread while the records go out.
        raw = []
        total = [0]

        def read():
            while total[0] < len(records):
                mtype, data = fast.message()
                raw.append(data)
                total[0] += rows_in(data)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        for f in records:
            bus.send(f)
        reader.join(timeout(120))
        assert not reader.is_alive() and total[0] == len(records)
        got = []
        for data in raw:
            name, rows = rows_of(data)
            assert name == "trade"
            got += rows
        assert got == [norm(expected_row(f)) for f in records]
        serve.log.until(lambda l: "slow client disconnected" in l, 30)
        assert slow.closed_by_server()
        assert serve.proc.poll() is None
    finally:
        serve.stop()


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def drain(log, quiet=1.0):
    """Reads a process's log lines until none comes for `quiet` seconds."""
    try:
        while True:
            log.next(quiet / timeout(1))
    except AssertionError:
        pass
    return log.all


def test_unread_replies_count_against_the_client_queue(tickbus, bus):
    """200,000 pipelined .u.sub requests whose replies are never read: the replies fill the
    client's --client-queue-kb like updates do, the client is disconnected as slow, the process's
    memory stays bounded and its log says so in a few lines, not one per request."""
    serve = Serve(tickbus, bus, "--client-queue-kb", "256")
    try:
        c = RawClient(serve.port, rcvbuf=4096)
        before = rss_kb(serve.proc.pid)
        request = bytes(kx.serialize(kx.CharVector(".u.sub[`trade;`]"), mode=3, wait=1).copy())
        try:
            for _ in range(200):
                c.sock.sendall(request * 1000)
        except OSError:
            pass  # closed by the server mid-send
        assert c.closed_by_server()
        serve.log.until(lambda l: "slow client disconnected" in l, 30)
        assert rss_kb(serve.proc.pid) - before < 40_000
        lines = drain(serve.log)
        assert len([l for l in lines if "subscribed" in l]) < 100, len(lines)
        assert len(lines) < 200, len(lines)
        # Nothing else is affected.
        conn = kx.SyncQConnection("127.0.0.1", serve.port, no_ctx=True)
        assert schema_of(conn(".u.sub[`trade;`]"))[0] == "trade"
        conn.close()
        assert serve.proc.poll() is None
    finally:
        serve.stop()


BAD_PEERS = {
    "garbage": b"\xde\xad\xbe\xef" * 8,
    "wrong length": bytes([1, 1, 0, 0, 12, 0, 0, 0]) + bytes([0xF9, 1, 0, 0, 0, 0, 0, 0, 0]),
    "huge length": bytes([1, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]) + b"\x00" * 64,
    "unknown type": bytes([1, 1, 0, 0, 10, 0, 0, 0, 0x50, 0]),
    "mid-message disconnect": bytes([1, 1, 0, 0, 100, 0, 0, 0, 0x0A, 0, 80, 0, 0, 0]) + b"abc",
}


def test_bad_peers_are_closed_and_logged(tickbus, bus):
    serve = Serve(tickbus, bus)
    try:
        for name, data in BAD_PEERS.items():
            c = RawClient(serve.port)
            c.sock.sendall(data)
            if name == "mid-message disconnect":
                c.sock.close()
            else:
                assert c.closed_by_server(), name
            serve.log.until(lambda l: "bad message" in l or "peer closed in the middle" in l, 20)
        # A handshake that never ends, and one that is not terminated before the peer leaves.
        s = socket.create_connection(("127.0.0.1", serve.port))
        s.sendall(b"x" * 2000)
        s.settimeout(timeout(20))
        try:
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
        serve.log.until(lambda l: "bad handshake" in l, 20)
        s = socket.create_connection(("127.0.0.1", serve.port))
        s.sendall(b"user:pw")
        s.close()
        serve.log.until(lambda l: "bad handshake" in l, 20)
        # The process goes on and serves a good client.
        assert serve.proc.poll() is None
        conn = kx.SyncQConnection("127.0.0.1", serve.port, no_ctx=True)
        assert schema_of(conn(".u.sub[`bar;`]"))[0] == "bar"
        conn.close()
    finally:
        serve.stop()


def test_credentials_file(tickbus, bus, tmp_path):
    users = tmp_path / "users"
    users.write_text("# tickbus kdb serve users\nfeed:secret\n")
    serve = Serve(tickbus, bus, "--credentials", str(users))
    try:
        with pytest.raises(Exception):
            kx.SyncQConnection("127.0.0.1", serve.port, username="feed", password="wrong", no_ctx=True)
        serve.log.until(lambda l: "rejected credentials" in l, 20)
        conn = kx.SyncQConnection("127.0.0.1", serve.port, username="feed", password="secret", no_ctx=True)
        assert schema_of(conn(".u.sub[`trade;`]"))[0] == "trade"
        conn.close()
    finally:
        serve.stop()


def test_list_form_used_by_clients_q(tickbus, bus):
    """clients/q/tickbus.q sends h(".u.sub";`trade;syms), a general list: pykx sends the same."""
    serve = Serve(tickbus, bus)
    try:
        conn = kx.SyncQConnection("127.0.0.1", serve.port, no_ctx=True)
        assert schema_of(conn(".u.sub", kx.SymbolAtom("trade"), kx.SymbolVector(["AAPL", "MSFT"])))[:2] == (
            "trade", SCHEMAS["trade"])
        pairs = conn(".u.sub", kx.SymbolAtom(""), kx.SymbolAtom(""))
        assert [schema_of(p)[0] for p in pairs] == ["trade", "quote", "bar"]
        conn.close()
    finally:
        serve.stop()


def test_metrics_follow_clients_and_records(tickbus, bus):
    from test_publish import metrics_port, scrape_until
    serve = Serve(tickbus, bus, "--metrics-port", "0", "T.")
    try:
        port = metrics_port(serve.log)
        client = RawClient(serve.port)
        assert schema_of(client.sync(".u.sub[`trade;`]"))[0] == "trade"
        bus.wait_subscribed("T.")
        records = [f for f in make_records(300) if f["kind"] == "trade"]
        for f in records:
            bus.send(f)
        collect(client, len(records))
        values = scrape_until(port, lambda v: v.get("tickbus_kdb_records_total") == len(records))
        assert values["tickbus_kdb_clients"] == 1 and values["tickbus_kdb_client_connections_total"] == 1
        assert values["tickbus_kdb_messages_queued_total"] >= 1
        assert values["tickbus_kdb_slow_clients_total"] == 0 and values["tickbus_kdb_bad_peers_total"] == 0
        client.sock.close()
        scrape_until(port, lambda v: v.get("tickbus_kdb_clients") == 0)
    finally:
        serve.stop()


def test_async_subscription_as_a_feed_handler_sends_it(tickbus, bus):
    """`neg[h](".u.sub";`trade;`)`: no reply, as from tick.q, and the updates follow."""
    serve = Serve(tickbus, bus, "T.")
    try:
        client = RawClient(serve.port)
        request = kx.toq([kx.CharVector(".u.sub"), kx.SymbolAtom("trade"), kx.SymbolAtom("")])
        client.sock.sendall(bytes(kx.serialize(request, mode=3, wait=0).copy()))
        serve.log.until(lambda l: "subscribed" in l and "tables=trade" in l, 30)
        bus.wait_subscribed("T.")
        records = [f for f in make_records(90) if f["kind"] == "trade"]
        for f in records:
            bus.send(f)
        # The first message is an upd, not a response.
        assert collect(client, len(records)) == {"trade": [norm(expected_row(f)) for f in records]}
    finally:
        serve.stop()


def test_a_client_that_never_reads_does_not_slow_the_others(tickbus, bus):
    """One subscriber never reads (its kernel buffers fill and its backlog grows in the server,
    below --client-queue-kb); three others read as they go and each receives every row, in order,
    while the stuck one stays connected. The time the readers take is printed (pytest -s) for
    comparing builds; the bound is a hang guard only."""
    serve = Serve(tickbus, bus, "T.", "--client-queue-kb", "65536")
    try:
        stuck = RawClient(serve.port, rcvbuf=4096)
        stuck.sync(".u.sub[`trade;`]")
        readers = [RawClient(serve.port) for _ in range(3)]
        for r in readers:
            r.sync(".u.sub[`trade;`]")
        bus.wait_subscribed("T.")
        records = [f for f in make_records(3 * 60000) if f["kind"] == "trade"]
        raw = [[] for _ in readers]
        done = [None] * len(readers)

        def read(i):
            n = 0
            while n < len(records):
                _, data = readers[i].message()
                raw[i].append(data)
                n += rows_in(data)
            done[i] = time.monotonic()

        threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(readers))]
        for t in threads:
            t.start()
        start = time.monotonic()
        for f in records:
            bus.send(f)
        sent = time.monotonic()
        for t in threads:
            t.join(timeout(120))
        assert not any(t.is_alive() for t in threads)
        want = [norm(expected_row(f)) for f in records]
        for messages in raw:
            got = []
            for data in messages:
                name, rows = rows_of(data)
                assert name == "trade"
                got += rows
            assert got == want
        last = max(done) - start
        print(f"\n{len(records)} rows to each of {len(readers)} readers beside a client that never reads: "
              f"sent in {sent - start:.2f} s, all read {last:.2f} s after the first, "
              f"{max(done) - sent:.3f} s after the last ({len(records) / last:,.0f} rows/s per reader)")
        # The stuck client was held, not cut (its backlog stayed below its bound): once it reads,
        # every row reaches it too.
        n = 0
        while n < len(records):
            _, data = stuck.message()
            n += rows_in(data)
        assert n == len(records)
        assert not any("slow client disconnected" in l for l in drain(serve.log, quiet=0.5))
        assert serve.proc.poll() is None
    finally:
        serve.stop()
