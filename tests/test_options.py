"""Flags are parsed once, at the edge, and blamed on the flag, never on a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rmpplan.terms import InputFormat, OutputFormat, Rule, SourceFormat, Strategy
from tests.cli import one_error, run
from tests.conftest import TOPOLOGIES

EPYC = str(TOPOLOGIES / "epyc-9965-2s.yaml")
SINGLE = str(TOPOLOGIES / "single-core.yaml")


def test_bad_hotplug_flag_is_one_error_for_a_folder() -> None:
    """A malformed flag given with a folder of seven files is reported once, naming the flag."""
    line = one_error(run("verify", str(TOPOLOGIES), "--offline-after-setup", "x"))
    assert "'--offline-after-setup'" in line and "EINVAL" in line
    assert "topologies" not in line


def test_overflowing_leader_blames_the_flag() -> None:
    """A number past 32 bits is the flag's EOVERFLOW, found before the file is read."""
    line = one_error(run("plan", "absent.yaml", "--leader", "999999999999"))
    assert "'--leader'" in line and "EOVERFLOW" in line
    assert "absent.yaml" not in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", SINGLE, "--leader", "5"], "rmpplan: error: --leader: CPU 5 is not a CPU of "),
        (["schedule", SINGLE, "--leader", "3", "--memory", "0-1G"], "--leader: CPU 3 is not an"),
        (["compare", SINGLE, "--online-after-setup", "2"], "--online-after-setup: CPU 2 is not"),
    ],
)
def test_machine_dependent_flag_errors_name_no_file(args: list[str], expected: str) -> None:
    """A flag that does not fit the machine names the flag and machine, not the file's path."""
    line = one_error(run(*args))
    assert line.startswith(expected) or expected in line
    assert "topologies/" not in line


def test_n_is_the_machines_last_cpu() -> None:
    """N in --leader means nr_cpu_ids - 1, as the kernel parses the mask, not 8191."""
    doc = json.loads(run("plan", EPYC, "--leader", "N", "--format", "json").stdout)
    assert [item["leader"] for item in doc["plans"]] == [767]


def test_choices_come_from_the_enums() -> None:
    """Every enum member is a valid choice of its option, and nothing else is."""
    help_text = {
        name: run(name, "--help").stdout.replace("\n", " ")
        for name in ("plan", "verify", "compare")
    }
    for member in [*Rule, *Strategy, *OutputFormat]:
        assert str(member) in help_text["plan"], member
    assert [f.value for f in InputFormat] == ["topology", *(f.value for f in SourceFormat)]
    assert InputFormat.TOPOLOGY.source is None
    assert InputFormat.SYSFS.source is SourceFormat.SYSFS


def test_mypy_catches_a_wrong_renderer_call(tmp_path: Path) -> None:
    """The command -> renderer boundary is typed: a bogus argument fails mypy --strict."""
    api = pytest.importorskip("mypy.api")
    bad = tmp_path / "bad_call.py"
    bad.write_text(
        "from rmpplan.render import renderer\n"
        "from rmpplan.terms import OutputFormat\n"
        "from rmpplan.topology.machine import Machine\n\n"
        "def f(machine: Machine) -> str:\n"
        "    return renderer(OutputFormat.JSON).render_plan(machine)\n",
        encoding="utf-8",
    )
    # No cache: nothing written into the project tree, which tests running beside
    # this one (pytest -n) or `make typecheck` may be reading.
    out, _, status = api.run(["--strict", "--cache-dir", os.devnull, "--no-incremental", str(bad)])
    assert status == 1
    assert 'incompatible type "Machine"; expected "PlanResult"' in out
