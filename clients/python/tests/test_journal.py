"""tickbus.journal against the golden journal (Tests/golden/journal-v1.tbj and its description
journal-v1.json, made by Tests/golden/make_journal.py) and against files written here by a small
writer packed with struct from docs/journal.md: topics, since, kinds, directories, repaired and
corrupt files, hostile headers, and random damage to the golden file."""

import json
import random
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timezone

import numpy as np
import pytest

import tickbus
from tickbus import journal
from tickbus.arrays import decode_batch, to_pandas
from tickbus.journal import CORRUPT, TORN_TAIL, Hole, JournalError

from conftest import REPO

GOLDEN = REPO / "Tests" / "golden" / "journal-v1.tbj"
GOLDEN_JSON = REPO / "Tests" / "golden" / "journal-v1.json"
WIRE = REPO / "Tests" / "golden" / "wire-v1.json"


# ---------------------------------------------------------------------------------------------
# A test writer (docs/journal.md), independent of tickbus.journal


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def file_header(epoch=0x5F3A9C01, created=1_700_000_000 * 10**9, day=20231114, part=1, publisher="ingest",
                version=1, wire_version=1):
    head = struct.pack("<8sHHIqIIH30s32s28s", b"TICKBUSJ", version, 128, epoch, created, day, part, wire_version,
                       bytes(30), publisher.encode().ljust(32, b"\0"), bytes(28))
    return head + struct.pack("<I", crc(head))


def block(kind, payload, count, first, last, flags=0, magic=0x4B4C4254):
    head = struct.pack("<IHHIIqqI", magic, kind, flags, len(payload), count, first, last, crc(payload))
    return head + struct.pack("<I", crc(head)) + payload


def messages_block(msgs, first, last):
    return block(1, b"".join(struct.pack("<I", len(m)) + m for m in msgs), len(msgs), first, last)


def hole_block(ranges, time, reason=1):
    payload = b"".join(struct.pack("<H", len(t)) + t.encode() + struct.pack("<QQ", a, b) for t, a, b in ranges)
    return block(2, payload, len(ranges), time, time, flags=reason)


def end_block(count, first, last, flags=0):
    return block(3, b"", count, first, last, flags=flags)


@pytest.fixture(scope="module")
def wire():
    cases = json.loads(WIRE.read_text())["cases"]
    return {c["name"]: bytes.fromhex(c["record_hex"]) for c in cases}


def trade(wire, symbol, sequence, ts_recv):
    """A valid trade message from the golden trade record with another symbol, sequence, ts_recv."""
    record = bytearray(wire["trade_stock_conditions_trade_id"])
    struct.pack_into("<Qqq24s", record, 16, sequence, struct.unpack_from("<q", record, 24)[0], ts_recv,
                     symbol.encode().ljust(24, b"\0"))
    return b"T." + symbol.encode() + b" " + bytes(record)


def quote(wire, symbol, sequence, ts_recv):
    record = bytearray(wire["quote_stock_nbbo"])
    struct.pack_into("<Q", record, 16, sequence)
    struct.pack_into("<q24s", record, 32, ts_recv, symbol.encode().ljust(24, b"\0"))
    return b"Q." + symbol.encode() + b" " + bytes(record)


T = 1_700_000_000 * 10**9


def simple_file(wire, path, blocks=3, per_block=4, end=True, epoch=7, start=T, symbols=("AAPL", "MSFT")):
    """`blocks` messages blocks of `per_block` messages (trades and quotes, ts_recv 1 ms apart),
    then an end block; returns the messages."""
    data = file_header(epoch=epoch)
    all_messages, clock, seq = [], start, {}
    for _ in range(blocks):
        msgs, first = [], clock
        for i in range(per_block):
            symbol = symbols[i % len(symbols)]
            make = trade if i % 3 else quote
            key = (make, symbol)
            seq[key] = seq.get(key, 0) + 1
            msgs.append(make(wire, symbol, seq[key], clock))
            clock += 1_000_000
        data += messages_block(msgs, first, clock)
        all_messages += msgs
        clock += 1_000_000
    if end:
        data += end_block(len(all_messages), start, clock)
    path.write_bytes(data)
    return all_messages


# ---------------------------------------------------------------------------------------------
# The golden file


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN_JSON.read_text())


def test_golden_file_is_current():
    result = subprocess.run([sys.executable, str(REPO / "Tests" / "golden" / "make_journal.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_golden_files_header_and_contents(golden):
    (f,) = journal.files(GOLDEN)
    h = golden["header"]
    assert (f.version, f.epoch, f.created, f.day, f.part, f.wire_version, f.publisher) == (
        h["version"], h["epoch"], h["created"], h["day"], h["part"], h["wire_version"], h["publisher"])
    assert f.size == golden["size"] and f.closed and not f.repaired and f.ok and f.problems == []
    assert f.messages == len(golden["messages"]) and f.blocks == len(golden["blocks"])
    assert (f.first_time, f.last_time) == (golden["first_time"], golden["last_time"])
    assert f.holes == [Hole(h["topic"], h["first"], h["last"], h["reason"]) for h in golden["holes"]]
    assert journal.verify(GOLDEN) == {str(GOLDEN): []}


def test_golden_messages_are_the_published_bytes(golden):
    got = list(journal.messages(GOLDEN))
    assert [m.hex() for m in got] == [m["message_hex"] for m in golden["messages"]]
    records = [tickbus.decode(m) for m in got]
    assert [(r.topic, r.sequence, r.kind, r.ts_recv) for r in records] == [
        (m["topic"], m["sequence"], m["kind"], m["ts_recv"]) for m in golden["messages"]]


@pytest.mark.parametrize("topics", [["T.AAPL"], ["T."], ["T.*", "A.*"], ["Q.AAPL", "S."], ["*"], [], ["T.AA*"],
                                    "B15s.AAPL"])
def test_topics_follow_the_bus_prefix_rules(golden, topics):
    prefixes = [tickbus.TopicFilter(t).prefix for t in ([topics] if isinstance(topics, str) else topics)]
    want = [bytes.fromhex(m["message_hex"]) for m in golden["messages"]]
    want = [m for m in want if m.startswith(tuple(prefixes))]
    assert list(journal.messages(GOLDEN, topics=topics)) == want


def test_read_kinds_equal_decode_batch(golden):
    msgs = list(journal.messages(GOLDEN))
    for kind in ("trade", "quote", "bar"):
        mine = [m for m in msgs if tickbus.decode(m).kind == kind]
        array = journal.read(GOLDEN, kind=kind)
        assert array.dtype == tickbus.arrays.DTYPES[kind]
        assert array.tobytes() == decode_batch(mine, kind).tobytes()
    assert len(journal.read(GOLDEN, kind="heartbeat")) == 0
    aapl = journal.read(GOLDEN, "trade", topics=["T.AAPL"])
    assert aapl["sequence"].tolist() == [1, 5, 6]
    with pytest.raises(ValueError):
        journal.read(GOLDEN, kind="status")


def test_read_pandas_is_to_pandas():
    pd = pytest.importorskip("pandas")
    frame = journal.read_pandas(GOLDEN, kind="trade", topics=["T.AAPL"])
    pd.testing.assert_frame_equal(frame, to_pandas(journal.read(GOLDEN, "trade", topics=["T.AAPL"])))
    assert list(frame["sequence"]) == [1, 5, 6]


def test_since_starts_at_the_block_and_skips_earlier_ts_recv(golden):
    msgs = golden["messages"]
    blocks = golden["blocks"]
    # The middle of the second messages block: its earlier messages by ts_recv are skipped.
    second = [m for m in msgs if m["block"] == 2]
    since = second[2]["ts_recv"]
    want = [m["message_hex"] for m in msgs if m["ts_recv"] >= since]
    assert [m.hex() for m in journal.messages(GOLDEN, since=since)] == want
    # A datetime (microseconds) and a time after everything.
    dt = datetime(2024, 1, 2, 14, 30, 0, 25000, tzinfo=timezone.utc)
    assert [m.hex() for m in journal.messages(GOLDEN, since=dt)] == [
        m["message_hex"] for m in msgs if m["ts_recv"] >= 1704205800025000000]
    assert list(journal.messages(GOLDEN, since=blocks[-1]["last_time"] + 1)) == []
    assert len(list(journal.messages(GOLDEN, since=0))) == len(msgs)
    naive = datetime(2024, 1, 2, 14, 30, 0, 25000)
    assert list(journal.messages(GOLDEN, since=naive)) == list(journal.messages(GOLDEN, since=dt))
    assert journal.read(GOLDEN, "trade", since=since)["ts_recv"].min() >= since


@pytest.mark.parametrize("index", range(9))
def test_malformed_variants(golden, tmp_path, index):
    v = golden["malformed"][index]
    data = bytearray(GOLDEN.read_bytes())
    if "flip" in v:
        data[v["flip"]] ^= 0xFF
    else:
        del data[v["truncate"]:]
    assert crc(bytes(data)) == v["crc32"]
    path = tmp_path / "v.tbj"
    path.write_bytes(data)
    (f,) = journal.files(path)
    if v["problem"] is None:
        assert f.problems == []
    else:
        assert [(p.kind, p.offset) for p in f.problems] == [(v["problem"]["kind"], v["problem"]["offset"])]
    assert f.closed == v["closed"] and f.messages == v["messages"]
    got = list(journal.messages(path))
    assert [m.hex() for m in got] == [m["message_hex"] for m in golden["messages"][:v["messages"]]]
    if v["problem"] is not None:
        with pytest.raises(JournalError) as error:
            list(journal.messages(path, strict=True))
        assert error.value.problem.kind == v["problem"]["kind"]
        assert journal.verify(path)[str(path)] == f.problems


def test_random_damage_never_crashes(golden, tmp_path):
    """Bytes flipped or the file cut at random offsets: problems, or a clean prefix of the
    messages; never an exception."""
    data = GOLDEN.read_bytes()
    want = [bytes.fromhex(m["message_hex"]) for m in golden["messages"]]
    boundaries = {b["offset"] for b in golden["blocks"]} | {len(data)}
    rng = random.Random(1234)
    path = tmp_path / "r.tbj"
    for n in range(400):
        bad = bytearray(data)
        if n % 4 == 0:
            cut = rng.randrange(len(data))
            del bad[cut:]
        else:
            for _ in range(rng.choice((1, 1, 2, 8))):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
        path.write_bytes(bad)
        (f,) = journal.files(path)
        got = list(journal.messages(path))
        assert got == want[:len(got)], n
        assert len(got) == f.messages
        if bytes(bad) == data:
            assert f.problems == []
        elif n % 4 == 0:
            assert (f.problems == []) == (cut in boundaries), (n, cut, f.problems)
            assert all(p.kind == TORN_TAIL for p in f.problems)
        else:
            assert len(f.problems) >= 1, n
        for kind in ("trade", "quote", "bar"):
            journal.read(path, kind)


# ---------------------------------------------------------------------------------------------
# Written here


def test_directories_expand_in_name_order_and_files_follow(wire, tmp_path):
    d = tmp_path / "journal"
    d.mkdir()
    second = simple_file(wire, d / "20231114T230000Z-00000007-0002.tbj", start=T + 10**12)
    first = simple_file(wire, d / "20231114T220000Z-00000007-0001.tbj")
    (d / "notes.txt").write_text("not a journal")
    assert [f.path.rsplit("/", 1)[1] for f in journal.files(d)] == [
        "20231114T220000Z-00000007-0001.tbj", "20231114T230000Z-00000007-0002.tbj"]
    assert list(journal.messages(d)) == first + second
    assert list(journal.messages([d / "20231114T230000Z-00000007-0002.tbj", str(d)])) == second + first + second
    assert len(journal.read(d, "quote")) == sum(1 for m in first + second if m.startswith(b"Q."))
    with pytest.raises(FileNotFoundError):
        journal.files(tmp_path / "missing")


def test_open_file_repaired_file_and_end_count(wire, tmp_path):
    path = tmp_path / "a.tbj"
    msgs = simple_file(wire, path, end=False)
    (f,) = journal.files(path)
    assert not f.closed and f.ok and f.messages == len(msgs)
    path.write_bytes(path.read_bytes() + end_block(len(msgs), T, T, flags=1))
    (f,) = journal.files(path)
    assert f.closed and f.repaired and f.ok
    path.write_bytes(path.read_bytes()[:-40] + end_block(len(msgs) + 1, T, T))
    (f,) = journal.files(path)
    assert [p.kind for p in f.problems] == [CORRUPT] and "end block counts" in f.problems[0].what
    path.write_bytes(path.read_bytes()[:-40] + end_block(len(msgs), T, T) + b"x" * 50)
    (f,) = journal.files(path)
    assert f.closed and [p.kind for p in f.problems] == [TORN_TAIL] and "after the end block" in f.problems[0].what


def test_hostile_headers_with_valid_crcs(wire, tmp_path):
    """CRCs are no defence against a crafted file: every field is still checked."""
    m = trade(wire, "AAPL", 1, T)
    good = messages_block([m], T, T)
    cases = {
        "huge count": block(1, struct.pack("<I", len(m)) + m, 0xFFFFFFFF, T, T),
        "huge length": struct.pack("<IHHIIqqI", 0x4B4C4254, 1, 0, 0xFFFFFFF0, 1, T, T, 0),
        "short message length": block(1, struct.pack("<I", 3) + m, 1, T, T),
        "long message length": block(1, struct.pack("<I", 60000) + m, 1, T, T),
        "trailing bytes": block(1, struct.pack("<I", len(m)) + m + b"\0\0", 1, T, T),
        "unknown kind": block(9, b"", 0, T, T),
        "end with payload": block(3, b"abc", 0, T, T),
        "bad hole": block(2, struct.pack("<H", 200) + b"T.A", 1, T, T),
        "hole first > last": hole_block([("T.A", 5, 4)], T),
    }
    for name, bad in cases.items():
        if name == "huge length":
            bad += struct.pack("<I", crc(bad))
        path = tmp_path / "h.tbj"
        path.write_bytes(file_header() + good + bad + good)
        (f,) = journal.files(path)
        assert [p.offset for p in f.problems] == [128 + len(good)], name
        assert f.messages == 1 and list(journal.messages(path)) == [m], name
    # Empty messages are valid framing (the journal does not judge records; read() drops them).
    path.write_bytes(file_header() + good + block(1, b"\0\0\0\0" * 1000, 1000, T, T) + good)
    (f,) = journal.files(path)
    assert f.ok and f.messages == 1002 and len(journal.read(path)) == 2
    # A bad file header version or wire version, with a valid CRC.
    for header in (file_header(version=2), file_header(wire_version=9)):
        path.write_bytes(header + good)
        (f,) = journal.files(path)
        assert [(p.offset, p.kind) for p in f.problems] == [(0, CORRUPT)] and f.messages == 0
    path.write_bytes(b"")
    assert [p.kind for p in journal.files(path)[0].problems] == [TORN_TAIL]


def test_invalid_records_are_left_out_of_read(wire, tmp_path):
    good = trade(wire, "AAPL", 1, T)
    mismatched = b"T.MSFT " + good[len(b"T.AAPL "):]          # topic_mismatch
    cut = good[:-1]                                           # length_mismatch
    path = tmp_path / "i.tbj"
    path.write_bytes(file_header() + messages_block([good, mismatched, cut, b"garbage", b""], T, T))
    assert journal.files(path)[0].ok
    assert journal.read(path)["symbol"].tolist() == [b"AAPL"]
    assert len(list(journal.messages(path))) == 5
    with pytest.raises(tickbus.WireError) as error:
        journal.read(path, strict=True)
    assert error.value.category == "topic_mismatch"


def test_since_over_files_and_blocks(wire, tmp_path):
    d = tmp_path / "j"
    d.mkdir()
    a = simple_file(wire, d / "1.tbj", blocks=4, per_block=5)
    b = simple_file(wire, d / "2.tbj", blocks=4, per_block=5, start=T + 10**9)
    everything = a + b
    for since in (T - 1, T, T + 7_000_000, T + 12_500_000, T + 10**9 + 3_000_000, T + 10**10):
        want = [m for m in everything if tickbus.decode(m).ts_recv >= since]
        assert list(journal.messages(d, since=since)) == want, since
        assert journal.read(d, "trade", since=since, topics=["T.MSFT"]).tobytes() == b"".join(
            m[len(b"T.MSFT "):] for m in want if m.startswith(b"T.MSFT "))


def write_big(path, count, per_block=470, symbols=("AAPL", "MSFT", "NVDA", "QQQX")):
    """`count` trades (topic `T.XXXX`, 135-byte messages) in blocks of `per_block`, built with
    numpy: [u32 length][topic][space][record] rows."""
    template = np.frombuffer(bytes.fromhex(json.loads(WIRE.read_text())["cases"][0]["record_hex"]), np.uint8)
    size = 7 + 128
    rows = np.zeros((count, 4 + size), np.uint8)
    rows[:, 0:4] = np.frombuffer(struct.pack("<I", size), np.uint8)
    rows[:, 4 + 7:] = template
    sym = np.array([np.frombuffer(s.encode(), np.uint8) for s in symbols])
    which = np.arange(count) % len(symbols)
    rows[:, 4:6] = np.frombuffer(b"T.", np.uint8)
    rows[:, 6:10] = sym[which]
    rows[:, 10] = 0x20
    rows[:, 11 + 40:11 + 44] = sym[which]
    rows[:, 11 + 44:11 + 64] = 0
    seq = np.arange(count, dtype=np.uint64) // len(symbols) + 1
    ts = T + np.arange(count, dtype=np.int64) * 1000
    rows[:, 11 + 16:11 + 24] = seq.view(np.uint8).reshape(count, 8)
    rows[:, 11 + 32:11 + 40] = ts.view(np.uint8).reshape(count, 8)
    with open(path, "wb") as f:
        f.write(file_header())
        for start in range(0, count, per_block):
            part = rows[start:start + per_block]
            f.write(block(1, part.tobytes(), len(part), int(ts[start]), int(ts[start + len(part) - 1])))
        f.write(end_block(count, T, int(ts[-1])))
    return ts


def test_a_large_file(tmp_path):
    path = tmp_path / "big.tbj"
    count = 200_000
    ts = write_big(path, count, per_block=333)
    (f,) = journal.files(path)
    assert f.ok and f.closed and f.messages == count
    trades = journal.read(path)
    assert len(trades) == count and (trades["ts_recv"] == ts).all()
    nvda = journal.read(path, topics=["T.NVDA"], since=int(ts[100_000]))
    assert len(nvda) == 25_000 and nvda["symbol"][0] == b"NVDA"
    # Messages blocks of many lengths: the walk over blocks of different counts.
    first = next(iter(journal.messages(path)))
    assert tickbus.decode(first).symbol == "AAPL"


def test_one_block_with_many_more_messages_than_the_others(wire, tmp_path):
    """The walk finishes a long block on its own: same messages, and a bad one found."""
    m = trade(wire, "AAPL", 1, T)
    many = [trade(wire, "AAPL", n, T) for n in range(1, 3001)]
    path = tmp_path / "m.tbj"
    path.write_bytes(file_header() + messages_block([m], T, T) + messages_block(many, T, T) + messages_block([m], T, T))
    assert list(journal.messages(path)) == [m] + many + [m]
    assert journal.read(path)["sequence"].tolist() == [1] + list(range(1, 3001)) + [1]
    payload = b"".join(struct.pack("<I", len(x)) + x for x in many)
    cut = block(1, payload[:-1], 3000, T, T)                         # the last message runs out
    path.write_bytes(file_header() + messages_block([m], T, T) + cut)
    (f,) = journal.files(path)
    assert f.messages == 1 and [p.kind for p in f.problems] == [TORN_TAIL]
    long = block(1, payload + b"\0\0\0\0" * 200_000, 3000 + 200_000, T, T)   # 200k empty messages
    path.write_bytes(file_header() + long)
    assert journal.files(path)[0].messages == 203_000
