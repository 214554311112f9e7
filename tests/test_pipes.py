"""A closed pipe is not a finding: when the reader of stdout leaves early (``| head``),
every command stops writing quietly and exits with the code it has with a reader
that reads everything, whether the reader left before the first write or after it.
Real pipes, real processes: the outputs here are larger than a pipe's 64 KiB buffer
where the command can make them so."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOPOLOGIES

SINGLE = str(TOPOLOGIES / "single-core.yaml")
BIG = "max-8192"
TIMEOUT = 60

COMMANDS: dict[str, tuple[str, ...]] = {
    "plan json, 2 MB": ("plan", BIG, "--leader", "all", "--format", "json"),
    "plan table": ("plan", BIG, "--leader", "all"),
    "show graphml, 2.6 MB": ("show", BIG, "--format", "graphml"),
    "show text": ("show", BIG, "--format", "text"),
    "verify jsonl, all ok": ("verify", str(TOPOLOGIES), "--format", "jsonl"),
    "verify table, findings": ("verify", str(TOPOLOGIES), "--strategy", "clear-cpu"),
    "verify jsonl, findings": (
        "verify",
        str(TOPOLOGIES),
        "--strategy",
        "clear-cpu",
        "--format",
        "jsonl",
    ),
    "verify junit, bad input": ("verify", SINGLE, "missing.yaml", "--format", "junit"),
    "explain": ("explain", BIG, "--leader", "8191", "--format", "json"),
    "compare": ("compare", "epyc-9965-2s", "--format", "json"),
    "schedule": ("schedule", BIG, "--leader", "0", "--memory", "0-2T", "--format", "json"),
    "import to stdout": ("import", BIG, "-o", "-", "--explicit"),
    "summary": ("summary", str(ROOT / "tests" / "data" / "fleet" / "shard.jsonl")),
    "mask": ("mask", "0-8191", "--from", "list", "--to", "hex"),
    "schema": ("schema",),
    "help": ("--help",),
    "plan --help": ("plan", "--help"),
    "version": ("--version",),
}


def run(args: tuple[str, ...], reader: Callable[[int], None] | None, cwd: Path) -> tuple[int, str]:
    """rmpplan ``args`` writing into a real pipe; ``reader`` gets the read end (and
    closes it), None reads everything. The exit code and stderr."""
    read_end, write_end = os.pipe()
    if reader is not None and reader is close_first:
        os.close(read_end)  # gone before the child even starts
    with subprocess.Popen(
        [sys.executable, "-m", "rmpplan", *args],
        cwd=cwd,
        stdout=write_end,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as child:
        os.close(write_end)
        if reader is None:
            with os.fdopen(read_end, "rb") as pipe:
                pipe.read()
        elif reader is not close_first:
            reader(read_end)
        _, stderr = child.communicate(timeout=TIMEOUT)
    return child.returncode, stderr.decode()


def close_first(read_end: int) -> None:
    """The reader left before the first write (``run`` closes it before the start)."""
    raise AssertionError("never called")


def close_after_first_write(read_end: int) -> None:
    """The reader takes the first bytes written, then leaves (``| head -c 1``)."""
    os.read(read_end, 1)
    os.close(read_end)


READERS = {"closed before the first write": close_first, "after it": close_after_first_write}


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """Each command's exit code and stderr with a reader that reads everything."""
    where = tmp_path_factory.mktemp("baseline")
    return {name: run(args, None, where) for name, args in COMMANDS.items()}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_reader_leaving_early_changes_no_exit_code(
    name: str, reader: str, baselines: dict[str, tuple[int, str]], tmp_path: Path
) -> None:
    code, stderr = run(COMMANDS[name], READERS[reader], tmp_path)
    expected_code, expected_stderr = baselines[name]
    assert code == expected_code, stderr
    assert stderr == expected_stderr  # nothing about the pipe, no traceback
    assert expected_code in (0, 1, 2)


def test_the_baselines_cover_every_exit_code(baselines: dict[str, tuple[int, str]]) -> None:
    """The commands above end in 0, 1 and 2, so each code is seen to survive."""
    assert {code for code, _ in baselines.values()} == {0, 1, 2}


@pytest.mark.parametrize("reader", list(READERS))
def test_junit_is_written_whole_when_the_reader_left(reader: str, tmp_path: Path) -> None:
    """`verify --format jsonl --junit-xml j.xml | head -1`: every input checked,
    j.xml whole, and the exit code is the verdict's."""
    for strategy, verdict in (("v9-andnot", 0), ("clear-cpu", 1)):
        args = ("verify", str(TOPOLOGIES), "--strategy", strategy, "--format", "jsonl")
        whole, junit = tmp_path / "whole.xml", tmp_path / f"{strategy}.xml"
        assert run((*args, "--junit-xml", str(whole)), None, tmp_path) == (verdict, "")
        code, stderr = run((*args, "--junit-xml", str(junit)), READERS[reader], tmp_path)
        assert (code, stderr) == (verdict, "")
        assert cases(junit) == cases(whole)
        assert len(cases(junit)) >= len(list(TOPOLOGIES.glob("*.yaml")))


def cases(junit: Path) -> list[tuple[str, ...]]:
    """Every test case of a JUnit file and its outcome, timings left out."""
    return [
        (case.get("classname", ""), case.get("name", ""), *(child.tag for child in case))
        for case in ET.parse(junit).getroot().iter("testcase")
    ]


def test_a_closed_stderr_is_no_error_either(tmp_path: Path) -> None:
    """`rmpplan verify … 2>&1 | head -1`: the error lines meet a closed pipe too."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    child = subprocess.run(
        [sys.executable, "-m", "rmpplan", "verify", SINGLE, "missing.yaml", "--format", "json"],
        cwd=ROOT, stdout=write_end, stderr=write_end, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    os.close(write_end)
    assert child.returncode == 2


def test_a_reader_that_left_is_forgotten_by_the_next_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In one process (a program calling the command line twice), the first run's
    closed stdout does not silence the second."""
    from rmpplan.cli import streams
    from tests.cli import run as invoke

    monkeypatch.setattr(streams, "drop", lambda stream: None)  # keep pytest's capture
    streams.reader_left("stdout")
    assert streams.has_left("stdout")
    result = invoke("mask", "0-3", "--from", "list", "--to", "hex")
    assert result.exit_code == 0
    assert result.stdout == "0000000f\n"
