"""The pandas parity tests: which pandas and numpy they compare against, and the tickbus binary."""
import os
import pathlib

import numpy
import pandas
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TICKBUS = os.environ.get("TICKBUS_BIN", str(ROOT / ".build" / "debug" / "tickbus"))


VERSIONS = f"pandas parity against pandas {pandas.__version__}, numpy {numpy.__version__}"


def pytest_report_header(config):
    return VERSIONS


def pytest_terminal_summary(terminalreporter):
    """The versions again after the results, where `pytest -q` shows them too."""
    terminalreporter.write_line(VERSIONS)


@pytest.fixture(scope="session")
def tickbus():
    """Path of the tickbus executable (TICKBUS_BIN, default .build/debug/tickbus)."""
    if not os.access(TICKBUS, os.X_OK):
        pytest.fail(f"{TICKBUS} not found: build it first (swift build) or set TICKBUS_BIN")
    return TICKBUS
