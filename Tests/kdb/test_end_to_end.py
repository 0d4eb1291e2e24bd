"""The whole path with real processes: tickbus sim → tickbus ingest → the bus, then at the same
time tickbus kdb publish → a fake tickerplant and tickbus kdb serve → a q client. Both kdb+
consumers see the same trades, in the same order, as kdb+ would store them."""
import subprocess
import tempfile

from helpers import FakeTickerplant, Lines, free_port, timeout
from test_publish import decode_upd
from test_serve import RawClient, Serve, rows_of


def start(args):
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    return proc, Lines(proc.stderr)


def test_sim_ingest_to_publish_and_serve(tickbus):
    sim_port, bus_port, control_port = free_port(), free_port(), free_port()
    bus = f"tcp://127.0.0.1:{bus_port}"
    procs = []
    tp = FakeTickerplant()
    try:
        procs.append(start([tickbus, "sim", "--port", str(sim_port), "--rate", "2000",
                            "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])[0])
        state = tempfile.mkdtemp() + "/subs.json"
        procs.append(start([tickbus, "ingest", "--url", f"ws://127.0.0.1:{sim_port}/stocks", "--subscribe", "T.*,Q.*",
                            "--bus", bus, "--control", f"tcp://127.0.0.1:{control_port}", "--state-file", state])[0])
        pub, _ = start([tickbus, "kdb", "publish", "--tickerplant", f"127.0.0.1:{tp.port}", "--bus", bus,
                        "--flush-ms", "20", "--status", "none", "T."])
        procs.append(pub)

        class FakeBus:
            endpoint = bus
        serve = Serve(tickbus, FakeBus)
        procs.append(serve.proc)
        client = RawClient(serve.port)
        client.sync(".u.sub[`trade;`]")

        served = []
        while len(served) < 400:
            mtype, data = client.message()
            name, rows = rows_of(data)
            assert name == "trade"
            served += rows
        published = []
        while len(published) < 400:
            ev = tp.event("message", 60)
            name, rows = decode_upd(ev["hex"])
            assert name == "trade"
            published += rows
        # Same trades in the same order over the window both consumers saw.
        common = next(r for r in served if r in published)
        a = served[served.index(common):]
        b = published[published.index(common):]
        n = min(len(a), len(b))
        assert n >= 100
        assert a[:n] == b[:n]
        for sym, event_time, recv_time, price, size, *_ in a[:n]:
            assert sym and price > 0 and size > 0
            assert 0 < event_time <= recv_time  # after 2000.01.01, received after the event
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout(20))
            except subprocess.TimeoutExpired:
                p.kill()
        tp.kill()
