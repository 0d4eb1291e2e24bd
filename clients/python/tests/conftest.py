"""Shared fixtures: the golden vectors, the tickbus binary, child processes."""

import json
import os
import pathlib
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
GOLDEN = REPO / "Tests" / "golden" / "wire-v1.json"


@pytest.fixture(scope="session")
def golden():
    return json.loads(GOLDEN.read_text())


def tickbus_bin() -> str:
    return os.environ.get("TICKBUS_BIN", str(REPO / ".build" / "debug" / "tickbus"))


class Proc:
    """A `tickbus` child process with its output in files (never a full pipe)."""

    def __init__(self, args, tmp_path, name):
        self.out_path = tmp_path / f"{name}.out"
        self.err_path = tmp_path / f"{name}.err"
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.popen = subprocess.Popen([tickbus_bin()] + args, stdout=self.out, stderr=self.err,
                                      cwd=tmp_path)

    def stdout(self) -> str:
        return self.out_path.read_text()

    def stderr(self) -> str:
        return self.err_path.read_text()

    def stop(self, timeout=20):
        """SIGINT, then `wait`."""
        if self.popen.poll() is None:
            self.popen.send_signal(2)
        return self.wait(timeout)

    def wait(self, timeout=60):
        """Waits for exit (a hang guard: killed after `timeout` s) and returns the status."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.out.close()
        self.err.close()
        return self.popen.returncode


@pytest.fixture
def spawn(tmp_path):
    """spawn(args, name) starts `tickbus args…`; every process is stopped after the test."""
    if not os.access(tickbus_bin(), os.X_OK):
        pytest.fail(f"no tickbus binary at {tickbus_bin()}: build it (swift build) or set TICKBUS_BIN")
    procs = []

    def start(args, name="tickbus"):
        proc = Proc(args, tmp_path, f"{name}{len(procs)}")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


def wait_until(predicate, timeout=30.0, interval=0.05):
    """Polls `predicate` until it is true; a hang guard, never a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
