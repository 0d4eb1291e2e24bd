"""The Python examples of README.md and clients/python/README.md, run as written with this
checkout's client against real `tickbus sim` → `tickbus ingest` processes (the layout of
`make demo`, on free ports: the examples' endpoints are replaced by the test's, nothing else is
changed). The CURVE example runs in test_curve.py, against an ingest under CURVE."""

import os
import re
import subprocess
import sys
import time

import pytest

from conftest import REPO, wait_until
from tickbus import Bar, Subscriber
from test_live import Bus

CLIENT_README = REPO / "clients" / "python" / "README.md"
ROOT_README = REPO / "README.md"


def python_blocks(path):
    """`(heading, code)` of every ```python block, under the nearest `## ` heading."""
    blocks, heading = [], ""
    text = path.read_text()
    for match in re.finditer(r"^## ([^\n]*)$|^```python\n(.*?)^```", text, re.M | re.S):
        if match.group(1) is not None:
            heading = match.group(1)
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def pythonpath():
    """The source tree's `tickbus` first, so the examples run this checkout's client and not an
    installed copy of it."""
    return os.pathsep.join(p for p in (str(CLIENT_README.parent), os.environ.get("PYTHONPATH")) if p)


def run(code, bus, tmp_path, name, stop_after_lines=None, timeout=120):
    """Runs `code` with the demo's endpoints replaced by `bus`'s; its stdout. With
    `stop_after_lines`, an example that runs forever is stopped once it printed that many."""
    code = code.replace("tcp://127.0.0.1:7700", bus.bus).replace("tcp://127.0.0.1:7701", bus.control)
    if hasattr(bus, "replay"):
        code = code.replace("tcp://127.0.0.1:7710", bus.replay)
    out_path = tmp_path / f"{name}.out"
    with open(out_path, "w") as out, open(tmp_path / f"{name}.err", "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, cwd=tmp_path,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=pythonpath()))
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                lines = out_path.read_text().split("\n")[:-1]  # complete lines only
                if stop_after_lines is not None and len(lines) >= stop_after_lines:
                    proc.kill()
                    proc.wait()
                    return lines
                assert time.monotonic() < deadline, f"{name} still running after {timeout} s: {lines[-5:]}"
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, f"{name}: {(tmp_path / f'{name}.err').read_text()}"
    return out_path.read_text().splitlines()


@pytest.fixture(scope="module")
def examples():
    return dict(python_blocks(CLIENT_README)), python_blocks(ROOT_README)


def test_every_example_is_covered(examples):
    client, root = examples
    assert set(client) == {"Subscribe", "A DataFrame of live bars", "Decoding messages yourself", "Control",
                           "Across hosts: CURVE", "Journal files", "Replay and recovery"}  # the last run by test_curve.py, against a CURVE ingest
    assert [heading for heading, _ in root] == ["Python"]


def test_subscribe_and_asyncio_examples_print_bars(examples, spawn, tmp_path):
    bus = Bus(spawn, tmp_path)
    subscribe = python_blocks(CLIENT_README)
    blocks = [code for heading, code in subscribe if heading == "Subscribe"]
    assert len(blocks) == 2  # sync, then asyncio
    # Events (a Silent on a loaded machine, say) print as `!!` lines and count among the items.
    lines = run(blocks[0], bus, tmp_path, "subscribe")
    bars = [l for l in lines if not l.startswith("!!")]
    assert len(lines) == 11 and len(bars) >= 8 and all(l.split()[2] in ("AAPL", "MSFT") for l in bars), lines
    lines = run(blocks[1], bus, tmp_path, "asyncio")
    bars = [l for l in lines if l.startswith("('A.")]
    assert len(lines) == 5 and len(bars) >= 3, lines
    # The front page's example runs until interrupted: stopped after a few bars.
    lines = run(examples[1][0][1], bus, tmp_path, "front", stop_after_lines=4)
    assert all(l.split()[0] in ("AAPL", "MSFT") for l in lines if not l.startswith("!!")), lines


def test_dataframe_example_prints_the_last_closes(examples, spawn, tmp_path):
    bus = Bus(spawn, tmp_path)
    lines = [l for l in run(examples[0]["A DataFrame of live bars"], bus, tmp_path, "dataframe") if not l.startswith("!!")]
    assert lines[0].split() == ["symbol", "open", "high", "low", "close", "volume"], lines
    # groupby(...).last(): one close per symbol the simulator trades.
    closes = {l.split()[0]: float(l.split()[1]) for l in lines if re.match(r"^[A-Z]+\s+[0-9.]+$", l)}
    assert set(closes) <= {"AAPL", "MSFT", "SPY", "QQQ", "NVDA"} and len(closes) >= 2, lines


def test_decoding_example_decodes_one_message(examples, spawn, tmp_path):
    bus = Bus(spawn, tmp_path)
    lines = run(examples[0]["Decoding messages yourself"], bus, tmp_path, "decoding")
    assert len(lines) == 3, lines
    text, (topic, sequence, close), category = lines[0], lines[1].split(), lines[2]
    # tap's line for the bar, then the same bar through numpy, then the check a cut message fails.
    assert topic == "A.AAPL" and f" {topic} " in f" {text} " and f"#{sequence}" in text, lines
    assert float(close) > 0 and category == "length_mismatch", lines


def test_control_example_steers_ingest(examples, spawn, tmp_path):
    bus = Bus(spawn, tmp_path)
    # As on a demo that has been running a while: the first 1-second bars are out.
    with Subscriber(bus.bus, ["A."]) as sub:
        assert any(isinstance(sub.next(timeout=1), Bar) for _ in range(60)), "no A. bar within 60 s"
    lines = run(examples[0]["Control"], bus, tmp_path, "control")
    assert lines[0].startswith("{'ok': True, 'name': 'ingest'"), lines
    assert lines[1] == "streaming" and int(lines[2]) >= 1, lines
    assert lines[3] in ("queued", "running", "done") and lines[4] == "bad_topic", lines


def test_journal_example_reads_the_golden_journal(examples, tmp_path):
    """No process: the golden journal file, as it would lie in ingest's journal directory."""
    import shutil
    import types

    directory = tmp_path / ".tickbus" / "journal" / "ingest"
    directory.mkdir(parents=True)
    shutil.copy(REPO / "Tests" / "golden" / "journal-v1.tbj", directory / "20240102T142955Z-673fc980-0001.tbj")
    demo = types.SimpleNamespace(bus="tcp://127.0.0.1:7700", control="tcp://127.0.0.1:7701")
    lines = run(examples[0]["Journal files"], demo, tmp_path, "journal")
    assert lines[0] == "1732233600 1 14 True [] [('T.AAPL', 2, 4), ('Q.AAPL', 2, 2)]", lines
    assert lines[1] == "[1, 5, 6] [114.125, 114.125, 114.125]", lines
    assert lines[2] == "['EUR/USD', 'AAPL'] [1.09412, 189.98]", lines
    assert lines[3:5] == ["S.ingest", "S.bars"], lines
    assert lines[5] == "{'.tickbus/journal/ingest/20240102T142955Z-673fc980-0001.tbj': []}", lines


def test_replay_example_gets_the_journal_then_live(examples, spawn, tmp_path):
    from test_replay import ReplayBus
    from tickbus import journal

    bus = ReplayBus(spawn, tmp_path)  # ingest's replay endpoint at the bus's port + 10
    wait_until(lambda: bus.journal.exists() and sum(1 for _ in journal.messages(bus.journal, topics=["T.AAPL"])) >= 20,
               timeout=60)
    lines = [l for l in run(examples[0]["Replay and recovery"], bus, tmp_path, "replay") if not l.startswith("!!")]
    assert lines == ["[1, 2, 3] True True", "True"], lines
