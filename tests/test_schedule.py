"""The pass over the 1 GB window: counts per strategy, the window lines, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan.cli.main import cli
from rmpplan.memory import SZ_1G, RamRange, rmpopt_window
from rmpplan.plan import Rule, Strategy, rmpopt_cpumask
from rmpplan.schedule import schedule
from rmpplan.topology.machine import Cpu, Machine, build_machine
from tests.conftest import TOPOLOGIES, examples
from tests.machines import machines

EPYC = str(TOPOLOGIES / "epyc-9654-2s.yaml")


@settings(max_examples=examples(60), deadline=None)
@given(machine=machines(allow_offline=False), gigabytes=st.integers(1, 3000))
def test_correct_strategy_totals(machine: Machine, gigabytes: int) -> None:
    """v9 runs regions x programmed cores RMPOPTs, each core exactly once per region."""
    window = rmpopt_window([RamRange(0, gigabytes * SZ_1G - 1)])
    worker = max(machine.online)
    (item,) = schedule(machine, worker, window, strategies=[Strategy.V9_ANDNOT])
    cores = len(rmpopt_cpumask(machine, Rule.FIRST_SIBLING))
    assert item.rmpopt_executions == window.regions * cores
    assert item.per_core_min == item.per_core_max == window.regions
    assert item.ipis == window.regions * (cores - 1)
    assert item.in_window


def test_clear_cpu_on_secondary_runs_own_core_twice() -> None:
    """clear-cpu from a secondary thread runs its core 2 x regions times."""
    machine = build_machine("m", [Cpu(0, 0, 0, 0, True, 0), Cpu(1, 0, 0, 0, True, 1)])
    window = rmpopt_window([RamRange(0, 4 * SZ_1G - 1)])
    (item,) = schedule(machine, 1, window, strategies=[Strategy.CLEAR_CPU])
    assert (item.per_core_min, item.per_core_max) == (8, 8)
    assert item.rmpopt_executions == 8


def test_text_first_line_and_capped() -> None:
    """The text format starts with the window line and names the uncovered address."""
    args = ["schedule", EPYC, "--leader", "200", "--memory", "0x100000000-3T", "--format", "text"]
    result = CliRunner().invoke(cli, args)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert lines[0] == "window: 0x100000000-0x20100000000 (2048 regions)"
    assert lines[1].startswith("capped: memory from 0x20100000000")


def test_json_contract() -> None:
    """schedule --format json has the window and per-strategy counts."""
    args = ["schedule", EPYC, "--leader", "0", "--memory", "0-2T", "--format", "json"]
    doc = json.loads(CliRunner().invoke(cli, args).stdout)
    assert doc["window"] == {
        "start": 0,
        "end": 2 << 40,
        "regions": 2048,
        "capped": False,
        "uncovered_from": None,
    }
    by_name = {item["strategy"]: item for item in doc["strategies"]}
    assert set(by_name) == {s.value for s in Strategy}
    assert by_name["v9-andnot"]["rmpopt_executions"] == 2048 * 192
    assert by_name["v9-andnot"]["ipis"] == 2048 * 191
    assert by_name["v2-all-cpus"]["per_core_max"] == 2 * 2048
    assert 317 <= by_name["v9-andnot"]["estimate_ms"] <= 369
    assert 391 <= by_name["v2-all-cpus"]["estimate_ms"] <= 457


def test_memory_from_iomem(tmp_path: Path) -> None:
    """--memory-from reads the System RAM lines of a saved /proc/iomem."""
    iomem = tmp_path / "iomem"
    iomem.write_text(
        "00000000-00000fff : Reserved\n"
        "00001000-0009ffff : System RAM\n"
        "00100000-7fffffff : System RAM\n"
        "  01000000-01ffffff : Kernel code\n"
        "100000000-47fffffff : System RAM\n",
        encoding="utf-8",
    )
    args = ["schedule", EPYC, "--leader", "0", "--memory-from", str(iomem), "--format", "text"]
    result = CliRunner().invoke(cli, args)
    assert result.stdout.splitlines()[0] == "window: 0x0-0x480000000 (18 regions)"


def test_bad_memory_is_exit_two() -> None:
    """A malformed --memory, or neither memory option, is bad input."""
    for extra in (["--memory", "4T-4T"], [], ["--memory", "0-1G", "--memory-from", "x"]):
        result = CliRunner().invoke(cli, ["schedule", EPYC, "--leader", "0", *extra])
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
