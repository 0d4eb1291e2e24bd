"""Every q script in the repository (clients/q, deploy/, Tests/) against q's comment rules, since
no q runs here: a line that is exactly `/` opens a block comment that only a line that is
exactly `\\` closes, and a line that is exactly `\\` outside a block comment ends the script
(q ignores the rest of the file). clients/q/tickbus.q once had a lone `/` as its third line, so
real q ran none of it."""
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Where the project keeps q scripts; .build and other dot directories hold none of its own.
SCRIPT_DIRS = ("clients", "deploy", "Tests")


def q_scripts():
    found = []
    for top in SCRIPT_DIRS:
        found += [p for p in (ROOT / top).rglob("*.q") if not any(part.startswith(".") for part in p.parts)]
    return sorted(found)


def swallowed(text):
    """`(line number, line)` of every line of code q never runs because of a block comment or
    an end-of-script `\\`. Code is any line that is neither blank nor a `/` comment, so prose in a
    block comment or after an exit counts too: write it as `/` lines, which mean the same with
    or without the markers. A marker with trailing blanks counts as the marker (q's reading of
    such a line is not worth depending on)."""
    hidden = []
    state = "code"  # or "block" (inside a block comment) or "ended" (after an exit)
    for number, line in enumerate(text.splitlines(), 1):
        marker = line.rstrip()
        if state == "code":
            if marker == "/":
                state = "block"
            elif marker == "\\":
                state = "ended"
            continue
        if state == "block" and marker == "\\":
            state = "code"
            continue
        if line.strip() and not line.lstrip().startswith("/"):
            hidden.append((number, line))
    return hidden


@pytest.mark.parametrize("text, hidden", [
    ("/ a comment\nx:1\n", []),
    ("/ usage\n/\n/ more\nx:1\ny:2\n", [(4, "x:1"), (5, "y:2")]),           # never closed
    ("/\nthese notes are prose\n\\\nx:1\n", [(2, "these notes are prose")]),  # closed, but hides a line
    ("/\n/ only comments\n\\\nx:1\n", []),                                     # closed, hides nothing
    ("x:1\n\\\nnotes after the end\n/ a comment\n", [(3, "notes after the end")]),
    ("x:1\n\\l other.q\n", []),                                                # a system command
    ("x:1\n/ \ny:2\n", [(3, "y:2")]),                                          # trailing blank
    ("x:1  / a trailing comment\n", []),
])
def test_the_rules(text, hidden):
    assert swallowed(text) == hidden


def test_the_scan_finds_the_projects_scripts():
    names = {p.relative_to(ROOT).as_posix() for p in q_scripts()}
    assert {"clients/q/tickbus.q", "deploy/kdb/sym.q"} <= names, names


@pytest.mark.parametrize("path", q_scripts(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_code_is_swallowed_by_a_comment(path):
    hidden = swallowed(path.read_text())
    assert not hidden, f"{path.relative_to(ROOT)}: q never runs these lines: " + "; ".join(
        f"{n}: {line.strip()[:60]}" for n, line in hidden[:5]) + (f" (and {len(hidden) - 5} more)" if len(hidden) > 5 else "")
