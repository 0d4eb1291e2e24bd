"""`python -m tickbus tap` prints exactly what `tickbus tap` prints (text and --json), records
and `!!` event lines alike, for the same scripted stream from a pyzmq publisher."""

import subprocess
import sys

import pytest

from helpers import BusPublisher
from test_subscriber import publish_scenario


def python_tap(args, out):
    return subprocess.Popen([sys.executable, "-m", "tickbus", "tap"] + args, stdout=out, stderr=subprocess.PIPE)


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_python_tap_prints_what_swift_tap_prints(json_mode, spawn, tmp_path):
    pub = BusPublisher()
    try:
        args = (["--json"] if json_mode else []) + ["--count", "6", "--endpoint", pub.endpoint, "Q.AAPL", "T.AAPL"]
        swift = spawn(["tap"] + args, "swift-tap")
        with open(tmp_path / "python.out", "wb") as out:
            python = python_tap(args, out)
            pub.wait_for([b"Q.AAPL ", b"T.AAPL ", b"H."], subscribers=2)
            publish_scenario(pub)
            assert python.wait(60) == 0
            python_err = python.stderr.read().decode()
        assert swift.wait(60) == 0, swift.stderr()
    finally:
        pub.close()
    swift_lines = swift.stdout().splitlines()
    python_lines = (tmp_path / "python.out").read_text().splitlines()
    assert len(swift_lines) == 9
    assert python_lines == swift_lines
    assert python_err.strip() == swift.stderr().strip().splitlines()[-1]
    assert "tap: 6 records, 1 gaps (3 lost), 1 restarts, 1 invalid" in python_err


def test_bad_topic_is_a_clear_error():
    run = subprocess.run([sys.executable, "-m", "tickbus", "tap", "X.AAPL"], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown topic kind" in run.stderr
