"""Tables as a person sees them on a real terminal of 80, 120 and 200 columns.

Each command runs in a pseudo-terminal whose window size is set, as a terminal
emulator sets it; what it prints is read whole and its ANSI escapes removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from rmpplan.cpumask import format_cpulist
from tests.cli import run

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = [80, 120, 200]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

# Every command that prints a report, on inputs whose tables do not fit 80 columns.
COMMANDS = {
    "plan": ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "0,17,209"],
    "plan-all": ["plan", "topologies/xeon-2s-adjacent.yaml", "--leader", "all"],
    "plan-notes": ["plan", "docs/examples/primary-offline.yaml", "--leader", "all"],
    "verify": ["verify", "topologies", "docs/examples/nosmt.yaml"],
    "verify-one": ["verify", "topologies/xeon-2s-adjacent.yaml", "--strategy", "clear-cpu"],
    "verify-notes": [
        "verify",
        *("docs/examples/apic-primary-missing.yaml", "docs/examples/nosmt.yaml"),
        *("--strategy", "v8-three-way"),
    ],
    "compare": ["compare", "docs/examples/primary-offline.yaml"],
    "explain": ["explain", "docs/examples/primary-offline.yaml", "--leader", "9", "--kernel", "v3"],
    "schedule": [
        "schedule",
        *("topologies/epyc-9654-2s.yaml", "--leader", "200", "--memory", "0x100000000-3T"),
    ],
    "show": ["show", "topologies/power9-sparse.yaml"],
    "summary": ["summary", "tests/data/fleet/shard.jsonl"],
    "mask": ["mask", "--from", "list", "--to", "hex", "0-3,8-11"],
}


def on_terminal(args: list[str], columns: int) -> str:
    """What ``rmpplan ARGS`` writes to a terminal ``columns`` wide, without escapes."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdout is the terminal
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            os.chdir(ROOT)
            # Warnings are one line each on purpose (grep); the reports are what wrap.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
            env.pop("NO_COLOR", None)
            os.execve(sys.executable, [sys.executable, "-m", "rmpplan", *args], env)
        finally:
            os._exit(127)
    chunks = []
    try:
        while select.select([fd], [], [], 60)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return _ANSI.sub("", text)


def _json_tokens(value: object, key: str = "") -> Iterator[str]:
    """Every path segment, name, check name and cpulist piece of a JSON report."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _json_tokens(item, name)
    elif isinstance(value, list):
        if value and all(isinstance(item, int) and not isinstance(item, bool) for item in value):
            yield from format_cpulist(value).split(",")
        else:
            for item in value:
                yield from _json_tokens(item, key)
    elif isinstance(value, str) and re.fullmatch(r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*", value):
        yield from value.split(",")  # a cpulist
    elif isinstance(value, str) and key == "path":
        yield from (segment for segment in value.split("/") if segment)
    elif isinstance(value, str) and key in ("name", "check", "rule", "strategy", "machine"):
        yield value


def _count(text: str, token: str) -> int:
    """How often ``token`` stands whole on one line of ``text``."""
    whole = re.compile(rf"(?<![\w.-]){re.escape(token)}(?![\w.-])")
    return sum(len(whole.findall(line)) for line in text.splitlines())


@pytest.fixture(scope="module")
def screens() -> dict[tuple[str, int], str]:
    return {
        (name, width): on_terminal(args, width)
        for name, args in COMMANDS.items()
        for width in WIDTHS
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_line_wider_than_the_terminal(
    name: str, width: int, screens: dict[tuple[str, int], str]
) -> None:
    screen = screens[name, width]
    assert screen.strip(), f"{name}: nothing shown"
    wide = [line for line in screen.splitlines() if cell_len(line) > width]
    assert not wide, f"{name} at {width} columns:\n" + "\n".join(wide)


@pytest.mark.parametrize("width", WIDTHS)
# mask prints one value, summary's JSON only counts (its check names: below).
@pytest.mark.parametrize("name", [name for name in COMMANDS if name not in ("mask", "summary")])
def test_no_token_split(
    name: str, width: int, screens: dict[tuple[str, int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each path segment, name, check name and cpulist piece of the run's JSON stands
    whole on the screen as often as in the report written off a terminal."""
    monkeypatch.chdir(ROOT)
    args = COMMANDS[name]
    tokens = set(_json_tokens(json.loads(run(*args, "--format", "json").stdout)))
    unwrapped = run(*args).stdout
    screen = screens[name, width]
    shown = [token for token in tokens if _count(unwrapped, token)]
    assert shown, f"{name}: no token to check among {tokens}"
    split = [token for token in shown if _count(screen, token) < _count(unwrapped, token)]
    assert not split, f"{name} at {width} columns splits {split}:\n{screen}"


def _free_texts(value: object, keys: tuple[str, ...], key: str = "") -> Iterator[str]:
    """Every string under one of ``keys`` in a JSON report."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _free_texts(item, keys, name)
    elif isinstance(value, list):
        for item in value:
            yield from _free_texts(item, keys, key)
    elif isinstance(value, str) and key in keys:
        yield value


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [name for name in COMMANDS if name not in ("mask", "summary")])
def test_no_text_lost(
    name: str, width: int, screens: dict[tuple[str, int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each message and note of the run's JSON is on the screen, whole and in order."""
    monkeypatch.chdir(ROOT)
    # compare's table shows each verdict's notes; its findings' messages are verify's.
    keys = ("notes",) if name == "compare" else ("message", "notes", "note")
    texts = set(_free_texts(json.loads(run(*COMMANDS[name], "--format", "json").stdout), keys))
    # Without blanks: a line may end after a comma or a slash where the text has none.
    screen = "".join(screens[name, width].split())
    lost = [text for text in texts if "".join(text.split()) not in screen]
    assert not lost, f"{name} at {width} columns lost {lost}:\n{screens[name, width]}"


def _rows_above(screen: str, header: str, value: str) -> list[str]:
    return [line for line in screen.splitlines() if re.fullmatch(rf"\s*{header}\s+{value}", line)]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_column_equal_on_every_row_is_shown_once_above(
    width: int, screens: dict[tuple[str, int], str]
) -> None:
    """verify's Rule and Strategy, schedule's In window: one line above the table, not a
    column (schedule's Rule differs on the v2-all-cpus row, which has no mask)."""
    verify, schedule = screens["verify", width], screens["schedule", width]
    for screen, header, value in [
        (verify, "Rule", "first-sibling"),
        (verify, "Strategy", "v9-andnot"),
        (schedule, "In window", "yes"),
    ]:
        assert len(_rows_above(screen, header, value)) == 1, screen
        assert _count(screen, value) == 1, screen
    heads = [line for line in verify.splitlines() if line.startswith("Path ")]
    assert heads, verify
    assert all("Rule" not in line and "Strategy" not in line for line in heads)
    # Where rows differ the column stays: schedule's strategies.
    assert any(line.startswith("Strategy ") for line in schedule.splitlines())


def test_free_text_takes_the_full_width_under_its_row(
    screens: dict[tuple[str, int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns compare's notes and explain's findings read as lines, not a
    narrow column: the first words of each stand together on one indented line."""
    monkeypatch.chdir(ROOT)
    compare = json.loads(run(*COMMANDS["compare"], "--format", "json").stdout)
    explain = json.loads(run(*COMMANDS["explain"], "--format", "json").stdout)
    # A verdict's notes share one cell, joined with "; ".
    texts = [("compare", result["notes"][0]) for result in compare["results"] if result["notes"]]
    texts += [("explain", finding["message"]) for finding in explain["findings"]]
    assert len(texts) >= 4
    for name, text in texts:
        opening = " ".join(text.split()[:6])
        lines = screens[name, 80].splitlines()
        assert any(line.startswith(f"  {opening}") for line in lines), (opening, lines)


def test_compare_check_names_whole_at_80(screens: dict[tuple[str, int], str]) -> None:
    """Each row of compare at 80 columns holds its check name whole on one line."""
    screen = screens["compare", 80]
    for check in ("followers-exclude-leader-core", "core-run-twice", "online-equals-present"):
        assert _count(screen, check) >= 1, screen
    assert "core-run-t\n" not in screen


def test_wrapped_summary_lines_keep_their_indent(screens: dict[tuple[str, int], str]) -> None:
    """A summary group line wider than the terminal goes on indented, under its start."""
    lines = screens["summary", 80].splitlines()
    assert lines[0].startswith("Summary: ")
    assert len(lines) > 2, lines  # the group line needed two lines at 80 columns
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[1:])
    assert len(screens["summary", 200].splitlines()) == 2
    for width in WIDTHS:
        assert _count(screens["summary", width], "online-equals-present") == 1
