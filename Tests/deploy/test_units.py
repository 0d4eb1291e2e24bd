"""deploy/: the systemd units and the example configuration, run as systemd would run them.

Each unit's ExecStart is expanded with deploy/tickbus.env.example and massive.env.example the way
systemd expands `$VAR` (split on whitespace), with the binary and /var/lib/tickbus moved into a
temporary directory. All five processes then run together as the one-host layout of
deploy/README.md: each serves its metrics on the example's port, the proxy forwards the
heartbeats of ingest's and bars' buses, and SIGTERM (the units' KillSignal) stops each with
status 0 within the units' TimeoutStopSec. `systemd-analyze verify` checks the unit files where
it is installed."""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest
import zmq

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TICKBUS = str((ROOT / os.environ.get("TICKBUS_BIN", ".build/debug/tickbus")).resolve())
SCALE = float(os.environ.get("TICKBUS_TEST_TIMEOUT_SCALE", "1"))


def env_file(path):
    """KEY=value lines of an EnvironmentFile (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def unit(path):
    """`key -> [values]` of a unit file's directives (repeatable keys keep every value)."""
    directives = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            directives.setdefault(key, []).append(value)
    return directives


def command(path, env, state):
    """The unit's ExecStart as argv, `$VAR` expanded as systemd does, paths moved to `state`."""
    argv = []
    for word in unit(path)["ExecStart"][0].split():
        if word.startswith("$"):
            argv += env.get(word[1:], "").split()
        else:
            argv.append(word.replace("/usr/local/bin/tickbus", TICKBUS).replace("/var/lib/tickbus", state))
    return argv


def test_units_follow_the_deployment_rules():
    assert {p.stem for p in UNITS} == {"tickbus-ingest", "tickbus-bars", "tickbus-archive", "tickbus-kdb", "tickbus-proxy"}
    for path in UNITS:
        d = unit(path)
        assert d["Restart"] == ["on-failure"], path.name
        assert d["User"] == ["tickbus"] and d["KillSignal"] == ["SIGTERM"], path.name
        assert "-/etc/tickbus/tickbus.env" in d["EnvironmentFile"], path.name
        assert d["ExecStart"][0].startswith("/usr/local/bin/tickbus "), path.name
    # Only ingest reads the API key.
    assert [p.name for p in UNITS if "/etc/tickbus/massive.env" in unit(p)["EnvironmentFile"]] == ["tickbus-ingest.service"]


def test_systemd_analyze_verifies_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for path in UNITS:
        (tmp_path / path.name).write_text(path.read_text().replace("/usr/local/bin/tickbus", TICKBUS))
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60 * SCALE)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5 * SCALE) as reply:
        return reply.read().decode()


def metric(text, name):
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")]
    return sum(values) if values else None


def port_in_use(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_example_configuration_runs_every_unit_together():
    # The example's own ports (and the defaults it relies on): a running `make demo` holds some.
    busy = [p for p in (7700, 7701, 7702, 7703, 7705, 7706, 9701, 9702, 9703, 9705, 9706) if port_in_use(p)]
    assert not busy, f"ports {busy} are in use on 127.0.0.1 (a running tickbus or make demo?): stop it first"
    env = env_file(DEPLOY / "tickbus.env.example")
    env.update(env_file(DEPLOY / "massive.env.example"))
    state = tempfile.mkdtemp(prefix="tickbus-deploy-")
    processes = {}
    try:
        for path in UNITS:
            argv = command(path, env, state)
            environment = dict(os.environ, **env)
            log = open(pathlib.Path(state) / f"{path.stem}.log", "w")
            # WorkingDirectory=/var/lib/tickbus, moved.
            processes[path.stem] = (subprocess.Popen(argv, cwd=state, env=environment, stdout=log, stderr=log), argv, log)
        ports = {name: int(re.search(r"--metrics-port (\d+)", " ".join(argv)).group(1))
                 for name, (_, argv, _) in processes.items()}
        assert len(set(ports.values())) == len(ports), ports
        # Each process's own counters appear on its port (exported from its first snapshot on).
        expected = {"tickbus-ingest": "tickbus_ingest_events_total", "tickbus-bars": "tickbus_bars_trades_total",
                    "tickbus-archive": "tickbus_archive_rows_total", "tickbus-kdb": "tickbus_kdb_connected",
                    "tickbus-proxy": "tickbus_proxy_frontend_messages_in_total"}
        seen = set()
        deadline = time.monotonic() + 120 * SCALE
        while seen != set(ports):
            for name, (proc, _, _) in processes.items():
                assert proc.poll() is None, f"{name} exited: {(pathlib.Path(state) / (name + '.log')).read_text()}"
            for name, port in ports.items():
                try:
                    if metric(scrape(port), expected[name]) is not None:
                        seen.add(name)
                except OSError:
                    pass
            assert time.monotonic() < deadline, f"no metrics from {set(ports) - seen}"
            time.sleep(0.2)
        # The ports of the example fit together: through the proxy's backend, a subscriber gets
        # the heartbeats of ingest's bus and of bars' bus (the proxy's two frontends).
        backend = re.search(r"--backend (\S+)", " ".join(processes["tickbus-proxy"][1])).group(1)
        context = zmq.Context()
        sub = context.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"H.")
        sub.setsockopt(zmq.RCVTIMEO, int(60_000 * SCALE))
        sub.connect(backend)
        publishers = set()
        try:
            while len(publishers) < 2:
                publishers.add(sub.recv().split(b" ", 1)[0])
        finally:
            sub.close(0)
            context.term()
        assert publishers == {b"H.ingest", b"H.bars"}
    finally:
        for proc, _, _ in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        statuses = {}
        for name, (proc, _, log) in processes.items():
            try:
                statuses[name] = proc.wait(20 * SCALE)  # the units' TimeoutStopSec
            except subprocess.TimeoutExpired:
                proc.kill()
                statuses[name] = "killed"
            log.close()
        logs = {name: (pathlib.Path(state) / f"{name}.log").read_text() for name in processes}
        shutil.rmtree(state, ignore_errors=True)
    assert all(s == 0 for s in statuses.values()), {n: (s, logs[n]) for n, s in statuses.items() if s != 0}
    assert "replace-with-your-key" not in "".join(logs.values())
