"""clients/q/tickbus.q against `tickbus kdb serve`, without q: the test sends exactly the
messages the script sends (its handshake, one sync `(".u.sub";table;syms)` general list per
table, serialized by pykx as q would), creates the tables from the replies as the script's
`.tb.create` does, and checks that every async message is the `(`upd;`table;table)` the script's
`upd:{[t;x] t insert x}` can append to those tables: a table it created, the same columns and
types, and the rows the bus carried."""
import pathlib

import pykx as kx
import pytest

from helpers import Bus, expected_row, make_records, norm, table_of
from test_serve import RawClient, Serve, rows_of

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "clients" / "q" / "tickbus.q"

# The script's lines this test reproduces: if one changes, change the reproduction with it.
SCRIPT_LINES = [
    '.tb.tables:$[1<count .tb.args;`$","vs .tb.args 1;enlist`];',
    '.tb.syms:$[2<count .tb.args;`$","vs .tb.args 2;`];',
    'upd:{[t;x] t insert x};',
    '.tb.h:hopen `$":",.tb.tp;',
    '.tb.create:{[r] $[0h=type first r;{(x 0) set x 1} each r;(r 0) set r 1]};',
    '.tb.create each {.tb.h(".u.sub";x;.tb.syms)} each .tb.tables;',
]


def script_arguments(args):
    """`.tb.tables` and `.tb.syms` for `q tickbus.q args...` (`args` is `.z.x`): `enlist` `` ` ``
    and `` ` `` by default, else `` `$","vs `` of the argument (a symbol list, even of one)."""
    tables = [kx.SymbolAtom(t) for t in args[1].split(",")] if len(args) > 1 else [kx.SymbolAtom("")]
    syms = kx.SymbolVector(args[2].split(",")) if len(args) > 2 else kx.SymbolAtom("")
    return tables, syms


def subscribe_as_the_script(client, tables, syms):
    """`.tb.create each {.tb.h(".u.sub";x;.tb.syms)} each .tb.tables`: the tables created, name →
    (columns, types), from the replies' empty schemas."""
    created = {}

    def create(pair):  # (x 0) set x 1
        name, table = list(pair)
        assert name.t == -11 and table.t == 98, (name.t, table.t)
        created[name.py(raw=True).decode()] = (
            [c.decode() for c in table.keys().py(raw=True)], [int(c.t) for c in table.values()])
        assert len(table) == 0

    for table in tables:
        request = kx.toq([kx.CharVector(".u.sub"), table, syms])  # a general list, as q sends it
        reply = client.sync_message(request)
        if reply.t == 0 and list(reply)[0].t == 0:  # 0h=type first r: one pair per table
            for pair in reply:
                create(pair)
        else:
            create(reply)
    return created


class ScriptClient(RawClient):
    """hopen `:host:port: q sends the user's name, no password."""

    def __init__(self, port):
        super().__init__(port, credentials=b"quser")

    def sync_message(self, request):
        self.sock.sendall(bytes(kx.serialize(request, mode=3, wait=1).copy()))
        mtype, data = self.message()
        assert mtype == 2, f"message type {mtype}, not a response"
        return kx.deserialize(data)


@pytest.fixture
def bus():
    b = Bus()
    yield b
    b.close()


def test_the_script_has_the_lines_this_test_reproduces():
    lines = SCRIPT.read_text().splitlines()
    missing = [s for s in SCRIPT_LINES if not any(l.startswith(s) for l in lines)]  # trailing comments aside
    assert not missing, f"clients/q/tickbus.q changed: update this test's reproduction of {missing}"


@pytest.mark.parametrize("args, wanted", [
    ([], lambda f: True),
    (["localhost:5010", "trade,quote", "AAPL,MSFT"],
     lambda f: f["kind"] in ("trade", "quote") and f["symbol"] in ("AAPL", "MSFT")),
    (["localhost:5010", "bar", "BRK.B"], lambda f: f["kind"] == "bar" and f["symbol"] == "BRK.B"),
], ids=["every table and symbol", "trade,quote AAPL,MSFT", "bar BRK.B"])
def test_serve_gives_the_script_what_its_upd_appends(tickbus, bus, args, wanted):
    serve = Serve(tickbus, bus)
    try:
        client = ScriptClient(serve.port)
        tables, syms = script_arguments(args)
        created = subscribe_as_the_script(client, tables, syms)
        want_tables = set(args[1].split(",")) if len(args) > 1 else {"trade", "quote", "bar"}
        assert set(created) == want_tables

        bus.wait_subscribed("T.", "Q.", "A.", "AM.", "B")
        records = make_records(900)
        for f in records:
            bus.send(f)
        want = {}
        for f in records:
            if wanted(f):
                want.setdefault(table_of(f), []).append(norm(expected_row(f)))
        n = sum(len(v) for v in want.values())
        assert n > 0
        got = {}
        while sum(len(v) for v in got.values()) < n:
            mtype, data = client.message()
            assert mtype == 0, "an async message, as the script's handle receives upd"
            fn, name, table = list(kx.deserialize(data))
            assert fn.t == -11 and fn.py(raw=True) == b"upd"
            name = name.py(raw=True).decode()
            # `t insert x` into the table .tb.create made: same name, columns and types.
            assert name in created, f"upd for {name}, which the script never created"
            assert ([c.decode() for c in table.keys().py(raw=True)], [int(c.t) for c in table.values()]) == created[name]
            got.setdefault(name, []).extend(rows_of(data)[1])
        assert got == want
        assert serve.proc.poll() is None
    finally:
        serve.stop()
