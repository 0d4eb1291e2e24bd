"""Shared set-up for the kdb tests: the tickbus binary and pykx in unlicensed mode."""
import os
import pathlib
import subprocess

import pytest

os.environ.setdefault("PYKX_UNLICENSED", "true")

ROOT = pathlib.Path(__file__).resolve().parents[2]
TICKBUS = os.environ.get("TICKBUS_BIN", str(ROOT / ".build" / "debug" / "tickbus"))


@pytest.fixture(scope="session")
def tickbus():
    """Path of the tickbus executable (TICKBUS_BIN, default .build/debug/tickbus)."""
    if not os.access(TICKBUS, os.X_OK):
        pytest.fail(f"{TICKBUS} not found: build it first (swift build) or set TICKBUS_BIN")
    return TICKBUS


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)
