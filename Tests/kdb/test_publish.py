"""`tickbus kdb publish` against a fake tickerplant in another process: the .u.upd messages,
decoded by KX's own deserializer (pykx), carry exactly the records published on the bus, in bus
order, with sym.q's column types; after the tickerplant restarts, the rows published while it
was away arrive once it is back."""
import json
import pathlib
import signal
import subprocess
import time

import pykx as kx

from helpers import (COLUMN_TYPES, Bus, FakeTickerplant, Lines, expected_row, free_port, make_records,
                     norm, table_of, timeout)


def start_publisher(tickbus, tp_port, bus, *extra):
    proc = subprocess.Popen(
        [tickbus, "kdb", "publish", "--tickerplant", f"127.0.0.1:{tp_port}", "--bus", bus.endpoint,
         "--flush-ms", "20", "--flush-rows", "64", "--status", "none", *extra],
        stderr=subprocess.PIPE, text=True)
    return proc, Lines(proc.stderr)


def decode_upd(hexdata):
    """(table, rows) of one .u.upd message, decoded by pykx."""
    fn, table, cols = list(kx.deserialize(bytes.fromhex(hexdata)))
    assert fn.t == 10 and fn.py(raw=True) == b".u.upd"
    assert table.t == -11
    cols = list(cols)
    name = table.py(raw=True).decode()
    base = name.removesuffix("Hist")
    assert [int(c.t) for c in cols] == COLUMN_TYPES[base], name
    values = [norm(c.py(raw=True)) for c in cols]
    assert len({len(v) for v in values}) == 1
    return name, [list(r) for r in zip(*values)]


def collect(tp, want_rows, within=60, compressed=None):
    got = {}
    n = 0
    while n < want_rows:
        ev = tp.event("message", within)
        assert ev["type"] == 0  # async
        if compressed is not None:
            compressed.append(bytes.fromhex(ev["hex"][:8])[2] == 1)
        name, rows = decode_upd(ev["hex"])
        got.setdefault(name, []).extend(rows)
        n += len(rows)
    return got


def expected(records, separate=False):
    out = {}
    for f in records:
        out.setdefault(table_of(f, separate), []).append(norm(expected_row(f)))
    return out


def assert_trades_still_go_out(bus, tp, n):
    """The trades among `n` sample records, sent on the bus, reach the tickerplant exactly: what a
    schema problem must not stop."""
    records = [f for f in make_records(n) if f["kind"] == "trade"]
    for f in records:
        bus.send(f)
    assert collect(tp, len(records)) == expected(records)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout(20))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_publish_rows_types_order_and_reconnect(tickbus):
    tp = FakeTickerplant()
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "T.", "Q.", "A.", "AM.", "B*")
    try:
        hello = bytes.fromhex(tp.event("connect")["hello"])
        assert hello[-2:] == b"\x03\x00"  # capability 3, NUL
        bus.wait_subscribed("T.", "Q.", "A.", "AM.", "B")
        first = make_records(900)
        for f in first:
            bus.send(f)
        assert collect(tp, len(first)) == expected(first)

        # The tickerplant goes away; records keep coming and wait in the buffer.
        tp.kill()
        log.until(lambda l: "connection lost" in l or "cannot reach" in l, 30)
        second = make_records(300, start=900)
        for f in second:
            bus.send(f)
        time.sleep(0.3)
        tp = FakeTickerplant(port=tp.port)
        tp.event("connect", 30)
        assert collect(tp, len(second)) == expected(second)
        assert proc.poll() is None
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def test_historical_tables_credentials_and_compression(tickbus):
    tp = FakeTickerplant(password="secret")
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "--historical-tables", "--user", "feed:secret", "--compress",
                                "T.", "Q.")
    try:
        hello = bytes.fromhex(tp.event("connect")["hello"])
        assert hello == b"feed:secret\x03\x00"
        bus.wait_subscribed("T.", "Q.")
        records = [f for f in make_records(400) if f["kind"] != "bar"]
        for f in records:
            bus.send(f)
        compressed = []
        got = collect(tp, len(records), compressed=compressed)
        assert any(compressed)  # large batches went compressed, and pykx decoded them
        assert set(got) == {"trade", "quote", "tradeHist", "quoteHist"}
        assert got == expected(records, separate=True)
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def test_rejected_credentials_are_logged_and_retried(tickbus):
    tp = FakeTickerplant(password="right")
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "--user", "feed:wrong")
    try:
        tp.event("rejected")
        log.until(lambda l: "rejected the handshake" in l, 30)
        tp.event("rejected")  # retried with backoff, process still alive
        assert proc.poll() is None
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def test_overflow_drops_oldest_counts_and_reports_on_status(tickbus):
    import zmq
    tp = FakeTickerplant()
    bus = Bus()
    status = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [tickbus, "kdb", "publish", "--tickerplant", f"127.0.0.1:{tp.port}", "--bus", bus.endpoint,
         "--flush-ms", "20", "--flush-rows", "50", "--buffer-rows", "200", "--status", status, "T."],
        stderr=subprocess.PIPE, text=True)
    log = Lines(proc.stderr)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"S.kdb ")
    sub.setsockopt(zmq.RCVTIMEO, int(timeout(30) * 1000))
    sub.connect(status)
    try:
        tp.event("connect")
        log.until(lambda l: "connected to the tickerplant" in l, 30)
        bus.wait_subscribed("T.")
        tp.kill()
        log.until(lambda l: "connection lost" in l, 30)
        records = [f for f in make_records(3000) if f["kind"] == "trade"]
        for f in records:
            bus.send(f)
        log.until(lambda l: "dropped the oldest" in l, 30)
        events = []
        while not any(e.get("event") == "dropped" for e in events):
            msg = sub.recv()
            events.append(json.loads(msg[len(b"S.kdb ") + 68:]))
        tp = FakeTickerplant(port=tp.port)
        tp.event("connect", 30)
        time.sleep(1.0)  # let the buffered rows arrive
        got = []
        while True:
            try:
                ev = tp.event("message", 2)
            except AssertionError:
                break
            got += decode_upd(ev["hex"])[1]
        want = [norm(expected_row(f)) for f in records]
        assert 0 < len(got) <= 200
        assert got == want[-len(got):]  # the newest rows, in order: the oldest were dropped
        dropped = [e for e in events if e["event"] == "dropped"]
        assert dropped and dropped[-1]["total"] <= len(records) - len(got)
        assert proc.poll() is None
    finally:
        stop(proc)
        tp.kill()
        bus.close()
        sub.close(0)
        ctx.term()


def test_records_without_a_table_are_counted_not_sent(tickbus):
    """With every topic forwarded ('*'), a status record has no kdb+ table: logged, not sent."""
    from helpers import mv
    tp = FakeTickerplant()
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "*")
    try:
        tp.event("connect")
        bus.wait_subscribed("")
        status = mv.base("status", "unknown", "ingest", 0, mv.T0, mv.T0)
        status.update(level="info", json='{"event":"test"}')
        trades = [f for f in make_records(30) if f["kind"] == "trade"]
        bus.send(status)
        for f in trades:
            bus.send(f)
        assert collect(tp, len(trades)) == expected(trades)
        log.until(lambda l: "1 records with no kdb+ table" in l, 30)
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def scrape(port):
    """`name -> value` of the Prometheus text at /metrics (samples of one name summed)."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout(5)) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
        text = reply.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            name = name.split("{")[0]
            values[name] = values.get(name, 0) + float(value)
    return values


def metrics_port(log):
    import re
    def found(line):
        return "metrics on http://127.0.0.1:" in line
    line = next((l for l in log.all if found(l)), None) or log.until(found, 60)
    return int(re.search(r"127\.0\.0\.1:(\d+)/metrics", line).group(1))


def scrape_until(port, predicate, within=30):
    deadline = time.monotonic() + timeout(within)
    values = {}
    while time.monotonic() < deadline:
        values = scrape(port)
        if predicate(values):
            return values
        time.sleep(0.2)
    raise AssertionError(f"metrics never matched: {values}")


def test_metrics_count_what_the_tickerplant_received(tickbus):
    tp = FakeTickerplant()
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "--metrics-port", "0", "T.", "Q.")
    try:
        port = metrics_port(log)
        tp.event("connect")
        bus.wait_subscribed("T.", "Q.")
        records = [f for f in make_records(600) if f["kind"] != "bar"]
        for f in records:
            bus.send(f)
        messages = 0
        rows = 0
        while rows < len(records):
            rows += len(decode_upd(tp.event("message", 60)["hex"])[1])
            messages += 1
        # Each thread shares its counters on its own tick: wait until both have.
        values = scrape_until(port, lambda v: v.get("tickbus_kdb_rows_sent_total") == rows
                              and v.get("tickbus_kdb_rows_confirmed_total") == rows
                              and v.get("tickbus_kdb_records_total") == len(records))
        assert values["tickbus_kdb_rows_unconfirmed_total"] == 0
        assert values["tickbus_kdb_records_total"] == len(records)
        assert values["tickbus_kdb_messages_sent_total"] == messages
        assert values["tickbus_kdb_connections_total"] == 1 and values["tickbus_kdb_connected"] == 1
        assert values["tickbus_kdb_rows_dropped_total"] == 0 and values["tickbus_kdb_buffered_rows"] == 0
        assert values["tickbus_kdb_input_gaps_total"] == 0
        # The fake answers the schema query from deploy/kdb/sym.q, as tick.q started with it would.
        assert values["tickbus_kdb_schema_verified"] == 1 and values["tickbus_kdb_schema_problems"] == 0
        assert any("tables match sym.q" in line for line in log.all)

        # The tickerplant goes away: connected drops to 0 and new rows wait in the buffer.
        tp.kill()
        log.until(lambda l: "connection lost" in l or "cannot reach" in l, 30)
        more = [f for f in make_records(100, start=600) if f["kind"] == "trade"]
        for f in more:
            bus.send(f)
        scrape_until(port, lambda v: v.get("tickbus_kdb_connected") == 0
                     and v.get("tickbus_kdb_buffered_rows") == len(more))
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def test_a_tickerplant_whose_tables_differ_is_reported_at_connect(tickbus, tmp_path):
    """A sym.q with a renamed trade column and no bar table: both found at connect, logged as
    errors, reported on S.kdb and counted; rows are still sent (a custom upd may take them)."""
    import zmq
    sym_q = (pathlib.Path(__file__).resolve().parents[2] / "deploy" / "kdb" / "sym.q").read_text()
    changed = sym_q.replace("size:`float$();exchange", "qty:`float$();exchange", 1)
    changed = "\n".join(l for l in changed.splitlines() if not l.startswith(("bar:", "barHist:")))
    assert changed != sym_q
    (tmp_path / "sym.q").write_text(changed)
    tp_port = free_port()
    bus = Bus()
    status = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"S.kdb ")
    sub.setsockopt(zmq.SUBSCRIBE, b"H.kdb ")
    sub.setsockopt(zmq.RCVTIMEO, int(timeout(30) * 1000))
    sub.connect(status)
    proc = subprocess.Popen(
        [tickbus, "kdb", "publish", "--tickerplant", f"127.0.0.1:{tp_port}", "--bus", bus.endpoint,
         "--flush-ms", "20", "--flush-rows", "64", "--status", status, "--metrics-port", "0", "T.", "Q.", "A."],
        stderr=subprocess.PIPE, text=True)
    log = Lines(proc.stderr)
    tp = None
    try:
        port = metrics_port(log)
        # The tickerplant comes up once this status subscriber hears the publisher's heartbeat,
        # so that the report made at connect reaches it.
        while not sub.recv().startswith(b"H.kdb "):
            pass
        tp = FakeTickerplant(port=tp_port, schema=tmp_path / "sym.q")
        query = tp.event("query")["text"]
        assert query.endswith("}`trade`quote`bar")
        deadline = time.monotonic() + timeout(30)
        while len([l for l in log.all if "differs from sym.q" in l]) < 2:
            log.next(deadline - time.monotonic())
        problems = [l for l in log.all if "differs from sym.q" in l]
        assert any("trade: columns are" in p and "qty" in p for p in problems), problems
        assert any("bar: no such table" in p for p in problems), problems
        scrape_until(port, lambda v: v.get("tickbus_kdb_schema_problems") == 2 and v.get("tickbus_kdb_schema_verified") == 1)
        events = []
        while not any(e.get("event") == "schema_mismatch" for e in events):
            events.append(json.loads(sub.recv()[len(b"S.kdb ") + 68:]))
        mismatch = next(e for e in events if e.get("event") == "schema_mismatch")
        assert len(mismatch["problems"]) == 2 and mismatch["tickerplant"] == f"127.0.0.1:{tp.port}"
        # A status reader that starts now learns the connection and schema state all the same.
        late_ctx, late = status_subscriber(status)
        try:
            state = next_status(late, "state", 30)
            assert state["connected"] is True and state["tickerplant"] == f"127.0.0.1:{tp.port}"
            assert state["schema"] == "mismatch" and state["problems"] == mismatch["problems"]
        finally:
            late.close(0)
            late_ctx.term()
        bus.wait_subscribed("T.", "Q.", "A.")
        assert_trades_still_go_out(bus, tp, 60)
    finally:
        stop(proc)
        if tp is not None:
            tp.kill()
        bus.close()
        sub.close(0)
        ctx.term()


def test_a_tickerplant_that_cannot_answer_leaves_the_schema_unverified(tickbus):
    tp = FakeTickerplant(schema="none")  # answers every sync query with an empty list
    bus = Bus()
    proc, log = start_publisher(tickbus, tp.port, bus, "T.")
    try:
        assert tp.event("query")["text"].endswith("}`trade")
        line = log.until(lambda l: "could not check the tickerplant's tables" in l, 30)
        assert "unexpected reply" in line
        bus.wait_subscribed("T.")
        assert_trades_still_go_out(bus, tp, 30)
    finally:
        stop(proc)
        tp.kill()
        bus.close()


def status_subscriber(endpoint, *prefixes):
    """A SUB socket on a publisher's --status endpoint (S.kdb by default)."""
    import zmq
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    for p in prefixes or (b"S.kdb ",):
        sub.setsockopt(zmq.SUBSCRIBE, p)
    sub.setsockopt(zmq.RCVTIMEO, int(timeout(30) * 1000))
    sub.connect(endpoint)
    return ctx, sub


def next_status(sub, event, within=30):
    """The JSON body of the next S.kdb status record with `"event": event`."""
    deadline = time.monotonic() + timeout(within)
    while time.monotonic() < deadline:
        msg = sub.recv()
        if msg.startswith(b"S.kdb "):
            body = json.loads(msg[len(b"S.kdb ") + 68:])  # strict JSON, or this raises
            if body.get("event") == event:
                return body
    raise AssertionError(f"no {event} status within {within}s")


def test_status_bodies_are_json_with_a_quote_in_the_host(tickbus):
    """The tickerplant host is the user's text: a `"` in it stays inside the JSON string. The
    `state` record (repeated, so this late reader gets one) and `unreachable` carry it."""
    bus = Bus()
    status = f"tcp://127.0.0.1:{free_port()}"
    ctx, sub = status_subscriber(status)
    host = 'no"such\\host'
    proc = subprocess.Popen(
        [tickbus, "kdb", "publish", "--tickerplant", f"{host}:5010", "--bus", bus.endpoint, "--status", status, "T."],
        stderr=subprocess.PIPE, text=True)
    log = Lines(proc.stderr)
    try:
        log.until(lambda l: "cannot reach the tickerplant" in l, 30)
        state = next_status(sub, "state", 30)
        assert state["tickerplant"] == f"{host}:5010"
        assert state["connected"] is False and state["schema"] == "unchecked"
        assert host in state["error"]
    finally:
        stop(proc)
        bus.close()
        sub.close(0)
        ctx.term()


def test_rows_in_flight_when_a_slow_tickerplant_dies_are_reported_unconfirmed(tickbus):
    """A slow tickerplant killed with SIGKILL: the rows it had not processed were written to the
    socket all the same. Delivery is confirmed by sync round trips, so every row sent ends up
    confirmed (and received) or reported unconfirmed, in the metrics and on S.kdb."""
    tp = FakeTickerplant(delay_ms=20)
    bus = Bus()
    status = f"tcp://127.0.0.1:{free_port()}"
    ctx, sub = status_subscriber(status)
    proc = subprocess.Popen(
        [tickbus, "kdb", "publish", "--tickerplant", f"127.0.0.1:{tp.port}", "--bus", bus.endpoint,
         "--flush-ms", "20", "--flush-rows", "50", "--status", status, "--metrics-port", "0", "T."],
        stderr=subprocess.PIPE, text=True)
    log = Lines(proc.stderr)
    try:
        port = metrics_port(log)
        tp.event("connect")
        bus.wait_subscribed("T.")
        records = [f for f in make_records(60_000) if f["kind"] == "trade"]
        for f in records:
            bus.send(f)
        # Let some rows be processed and many more pile up, then kill the tickerplant.
        received = 0
        while received < 1000:
            received += len(decode_upd(tp.event("message", 60)["hex"])[1])
        scrape_until(port, lambda v: v.get("tickbus_kdb_rows_confirmed_total", 0) > 0)
        time.sleep(1.0)
        tp.proc.send_signal(signal.SIGKILL)
        tp.proc.wait()
        while True:  # what it printed before it died
            try:
                line = tp.lines.next(5)
            except AssertionError:
                break
            event = json.loads(line)
            if event["event"] == "message":
                received += len(decode_upd(event["hex"])[1])
        lost = next_status(sub, "unconfirmed", 30)
        values = scrape_until(port, lambda v: v.get("tickbus_kdb_connected") == 0
                              and v.get("tickbus_kdb_rows_unconfirmed_total", 0) > 0)
        sent = values["tickbus_kdb_rows_sent_total"]
        confirmed = values["tickbus_kdb_rows_confirmed_total"]
        unconfirmed = values["tickbus_kdb_rows_unconfirmed_total"]
        assert lost["rows"] == unconfirmed == lost["total"]
        assert sent == confirmed + unconfirmed  # nothing sent is left unaccounted for
        assert confirmed <= received < sent  # rows were in flight; confirmed ones were received
        state = next_status(sub, "state", 30)
        assert state["rows_unconfirmed"] == unconfirmed and state["rows_in_flight"] == 0
        assert proc.poll() is None
    finally:
        stop(proc)
        tp.kill()
        bus.close()
        sub.close(0)
        ctx.term()
