"""import is exact and atomic: any name reads back as the same report, a header
cannot inject keys, two writers never both win, and a signal leaves no temp file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rmpplan import api
from rmpplan.checks import Checked
from rmpplan.cli.main import cli
from rmpplan.errors import InputError
from rmpplan.escaping import unicode_text
from rmpplan.files import write_atomic
from rmpplan.topology.dump import dump_yaml, to_document, yaml_comment
from rmpplan.topology.load import parse_topology
from tests.conftest import ROOT, TOPOLOGIES, examples

SYSFS = ROOT / "tests" / "sources" / "data" / "sysfs"

LAYOUT = {"packages": 1, "dies_per_package": 1, "cores_per_die": 2, "threads_per_core": 2}

# Names that YAML or a one-line header could take for something else.
ODD_PIECES = [
    *"\n\r\t\x00\x07\x1b\x7f\x85\u2028\u2029\ufeff\ufffe\xa0'\"#:|`-?*&!%@{}[],>\\",
    "\udcff",  # a path byte that is not UTF-8
    "\ud800",  # any other lone surrogate
    "0o17",
    "1e5",
    ".5",
    "0x1F",
    "yes",
    "~",
    "null",
    "- a",
    "a: b",
    " #",
    "---",
    "...",
]
ODD = st.lists(st.one_of(st.characters(), st.sampled_from(ODD_PIECES)), max_size=6).map("".join)


def report(machine: api.Machine) -> tuple[str, str]:
    """The plan JSON and the verdict JSON of ``machine`` (the path label fixed)."""
    verdict = api.render(Checked("topology", machine, api.verify(machine)))
    return api.render(api.plan(machine)), verdict


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=ODD, suffix=st.sampled_from([".yaml", ".json"]))
@example(name="0o17", suffix=".yaml")  # YAML 1.2's int, a string to YAML 1.1
@example(name="1e5", suffix=".yaml")  # YAML 1.2's float
@example(name="a\nname: evil", suffix=".yaml")
def test_import_reads_back_as_the_same_report(tmp_path: Path, name: str, suffix: str) -> None:
    """import of any name a topology file can hold, then verify and plan of the file:
    the same JSON as the source's. (A lone surrogate cannot be in a topology file;
    a dump named with such a byte is the test below.)
    """
    assume(unicode_text(name) == name)
    source = tmp_path / "source.json"
    source.write_text(json.dumps({"name": name, "source": name, "layout": LAYOUT}))
    machine = api.load(source)  # JSON joins an escaped surrogate pair: compare with this
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(cli, ["import", str(source), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.stderr
    back = api.load(out)
    assert back.name == (machine.name if suffix == ".json" else unicode_text(machine.name))
    assert back.source == back.name
    assert report(back) == report(machine)


@settings(max_examples=examples(100), deadline=None)
@given(text=ODD)
def test_a_header_stays_one_comment(text: str) -> None:
    """Whatever a source path holds, the header is one comment line and adds no key."""
    machine = api.load(TOPOLOGIES / "single-core.yaml")
    header = yaml_comment(f"Imported by rmpplan from {text}; review it.")
    assert header.count("\n") == 1
    assert header.startswith("# ")
    back = parse_topology(dump_yaml(to_document(machine), header), ".yaml", "x")
    assert back.name == machine.name
    assert report(back) == report(machine)


def test_import_of_a_path_with_a_newline(tmp_path: Path) -> None:
    """A source path holding a newline and a key cannot inject that key."""
    source = tmp_path / "a\nname: evil\n.yaml"
    source.write_text((TOPOLOGIES / "single-core.yaml").read_text())
    out = tmp_path / "out.yaml"
    assert CliRunner().invoke(cli, ["import", str(source), "-o", str(out)]).exit_code == 0
    text = out.read_text()
    assert text.splitlines()[0].endswith(
        "a\\nname: evil\\n.yaml; `rmpplan show` this file to review it."
    )
    assert api.load(out).name == "single-core"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_import_of_a_dump_named_with_odd_bytes(tmp_path: Path, suffix: str) -> None:
    """A sysfs dump whose folder name holds a newline and a byte that is not UTF-8
    (the machine's name) imports to a file with the same plan and verdict."""
    dump = Path(os.fsdecode(bytes(tmp_path) + b"/box\n\xff|`"))
    shutil.copytree(SYSFS / "nosmt", dump)
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(cli, ["import", str(dump), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("\n") == 1
    machine, back = api.load(dump), api.load(out)
    assert report(back) == report(machine)
    assert json.loads(report(back)[0])["topology"] == "box\n\\xff|`"


# --- atomic ---------------------------------------------------------------------


def test_refusing_an_existing_file_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that appears after the first check, while writing, is still not replaced."""
    out = tmp_path / "out.yaml"
    real = os.fsync

    def another_writer_wins(fd: int) -> None:
        real(fd)
        out.write_text("theirs\n")

    monkeypatch.setattr(os, "fsync", another_writer_wins)
    with pytest.raises(InputError, match="already exists; give force"):
        write_atomic(out, "ours\n")
    assert out.read_text() == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_force_replaces_and_keeps_the_mode(tmp_path: Path) -> None:
    """--force renames over the old file, which keeps its permissions."""
    out = tmp_path / "out.yaml"
    out.write_text("old\n")
    out.chmod(0o640)
    write_atomic(out, "new\n", force=True)
    assert out.read_text() == "new\n"
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_concurrent_writers_one_wins(tmp_path: Path) -> None:
    """Eight writers of one new file at once: exactly one succeeds, its text is the file."""
    out = tmp_path / "out.yaml"
    start = threading.Barrier(8)
    won: list[int] = []
    lost: list[int] = []

    def writer(index: int) -> None:
        start.wait()
        try:
            write_atomic(out, f"writer {index}\n")
            won.append(index)
        except InputError:
            lost.append(index)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1, won
    assert len(lost) == 7
    assert out.read_text() == f"writer {won[0]}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


# The signal comes right after the temporary file is made: the moment that left one.
# The child sets the handlers a command started from a terminal has, whatever the
# test run inherited (a suite started in the background or by nohup ignores SIGINT),
# and raises the signal in its own thread: it is handled before mkstemp() returns,
# never later by another thread (os.kill() of the process may go to any thread).
SIGNALLED = """
import signal, sys, tempfile
signal.signal(signal.SIGINT, signal.{sigint})
signal.signal(signal.SIGTERM, signal.SIG_DFL)
made = tempfile.mkstemp
def mkstemp(*args, **kwargs):
    made_now = made(*args, **kwargs)
    sys.stderr.write("made " + made_now[1] + "\\n")
    signal.raise_signal(signal.{name})
    return made_now
tempfile.mkstemp = mkstemp
from rmpplan.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _signalled(out: Path, name: str, sigint: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``import -o out`` in a child that gets ``name`` once its temporary file exists,
    SIGINT's handler being ``sigint``; the child's result and that temporary file."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SIGNALLED.format(name=name, sigint=sigint),
            "import",
            str(TOPOLOGIES / "single-core.yaml"),
            "-o",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    made = [line for line in done.stderr.splitlines() if line.startswith("made ")]
    assert len(made) == 1, done.stderr  # the signal came while the file was written
    temporary = Path(made[0].removeprefix("made "))
    assert temporary.parent == out.parent
    return done, temporary


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_leaves_no_temporary_file(tmp_path: Path, name: str) -> None:
    """SIGINT or SIGTERM just after the temp file exists: it is removed, nothing written."""
    out = tmp_path / "out.yaml"
    done, temporary = _signalled(out, name, "default_int_handler")
    assert not temporary.exists()
    assert list(tmp_path.iterdir()) == [], done.stderr
    if name == "SIGTERM":
        assert done.returncode == -signal.SIGTERM
    else:
        assert done.returncode == 2
        assert done.stderr.strip().splitlines()[-1] == "rmpplan: aborted"


def test_an_ignored_sigint_does_not_interrupt_the_write(tmp_path: Path) -> None:
    """A process that ignores SIGINT (nohup, the background of a script) goes on
    ignoring it while it writes: the file is written whole, no temporary file stays."""
    out = tmp_path / "out.yaml"
    done, temporary = _signalled(out, "SIGINT", "SIG_IGN")
    assert done.returncode == 0, done.stderr
    assert not temporary.exists()
    assert list(tmp_path.iterdir()) == [out]
    printed = CliRunner().invoke(cli, ["import", str(TOPOLOGIES / "single-core.yaml"), "-o", "-"])
    assert printed.exit_code == 0
    assert out.read_text(encoding="utf-8") == printed.stdout
