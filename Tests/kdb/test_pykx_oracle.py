"""KX's own deserializer (pykx, unlicensed) decodes every message tickbus's codec writes.

`tickbus kdb samples` prints each message with the value it must decode to; pykx.deserialize
(KX's C code) must accept the exact bytes (it rejects wrong lengths, truncation and trailing
bytes) and yield the same value, types included.
"""
import json
import math

import pykx as kx
import pytest

from conftest import run


def plain(o):
    """A pykx object in the plain JSON form of docs/kdb.md."""
    t = int(o.t)
    if t == 98:
        return {"table": [plain(o.keys()), plain(o.values())]}
    if t in (99, 127):
        return {"dict": [plain(o.keys()), plain(o.values())]}
    if t == 0:
        return [plain(x) for x in o]
    if t == 101:
        return "::"
    v = o.py(raw=True)
    if t == -10 and isinstance(v, int):  # a char atom comes back as its code
        v = bytes([v])
    return {"t": t, "v": norm(v)}


def norm(v):
    if isinstance(v, (bytes, bytearray)):
        return v.decode("latin-1")
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if hasattr(v, "tolist"):
        return norm(v.tolist())
    return v


def samples(tickbus):
    out = run([tickbus, "kdb", "samples"]).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_every_sample_decodes_with_kx(tickbus):
    items = samples(tickbus)
    names = [s["name"] for s in items]
    assert len(items) >= 40
    assert ".u.upd trade 1000 rows" in names and "upd quote table 1000 rows" in names
    for s in items:
        data = bytes.fromhex(s["hex"])
        expected = s["value"]
        if isinstance(expected, dict) and "error" in expected:
            with pytest.raises(kx.QError, match=expected["error"]):
                kx.deserialize(data)
            continue
        got = plain(kx.deserialize(data))
        assert got == expected, s["name"]


def test_compressed_sample_is_compressed(tickbus):
    s = next(x for x in samples(tickbus) if x["name"].endswith("(compressed)"))
    data = bytes.fromhex(s["hex"])
    assert data[2] == 1 and len(data) < 5000 * 8 // 2
    assert plain(kx.deserialize(data)) == s["value"]


def test_upd_batch_shape(tickbus):
    """The exact message a feed handler sends: (".u.upd";`trade;columns), every column a vector
    of 1000 rows (cond and id general lists), and no time column (the tickerplant adds it)."""
    s = next(x for x in samples(tickbus) if x["name"] == ".u.upd trade 1000 rows")
    msg = kx.deserialize(bytes.fromhex(s["hex"]))
    fn, table, cols = list(msg)
    assert fn.t == 10 and fn.py(raw=True) == b".u.upd"
    assert table.t == -11 and table.py(raw=True) == b"trade"
    cols = list(cols)
    assert [int(c.t) for c in cols] == [11, 12, 12, 9, 9, 5, 5, 0, 0, 7]
    assert all(len(c) == 1000 for c in cols)

