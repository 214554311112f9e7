"""Renderers: every format has one, golden outputs, and input order never shows."""

from __future__ import annotations

import importlib
import json
import os
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from rmpplan.cli.main import cli
from rmpplan.render import OutputFormat, Renderer, renderer
from rmpplan.topology.dump import dump_json, dump_yaml, to_document
from rmpplan.topology.machine import Machine
from tests.conftest import EXAMPLES, TOPOLOGIES, examples
from tests.machines import machines

GOLDEN = Path(__file__).parent / "golden"
# Every report the Renderer protocol promises, read from the protocol itself.
RENDERS = tuple(name for name in vars(Renderer) if name.startswith("render_"))

# (golden name, command line); paths are relative to the project root.
GOLDEN_CASES = [
    (
        "explain-9654-v6",
        ["explain", "topologies/epyc-9654-2s.yaml", "--leader", "200", "--kernel", "v6"],
    ),
    (
        "explain-clear-cpu-secondary",
        ["explain", "docs/examples/primary-offline.yaml", "--leader", "9", "--kernel", "v3"],
    ),
    (
        "plan-9654-v10",
        ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "200", "--kernel", "v10"],
    ),
    ("plan-epyc-9654", ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "0,17,209"]),
    ("plan-xeon-all", ["plan", "topologies/xeon-2s-adjacent.yaml", "--leader", "all"]),
    ("verify-nosmt", ["verify", "docs/examples/nosmt.yaml"]),
    ("verify-clear-cpu", ["verify", "topologies/xeon-2s-adjacent.yaml", "--strategy", "clear-cpu"]),
    ("compare-primary-offline", ["compare", "docs/examples/primary-offline.yaml"]),
    (
        "schedule-epyc-9654",
        [
            "schedule",
            "topologies/epyc-9654-2s.yaml",
            "--leader",
            "200",
            "--memory",
            "0x100000000-3T",
        ],
    ),
    ("show-power9", ["show", "topologies/power9-sparse.yaml"]),
]


def test_every_format_has_every_renderer() -> None:
    """The registry returns, for each OutputFormat member, its module with every report."""
    for fmt in OutputFormat:
        module = renderer(fmt)
        assert module is importlib.import_module(f"rmpplan.render.{fmt.value}")
        for name in RENDERS:
            assert callable(getattr(module, name, None)), f"{fmt}: no {name}"


@pytest.mark.parametrize("fmt", ["table", "text", "markdown", "json"])
@pytest.mark.parametrize(("name", "args"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_golden(name: str, args: list[str], fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendered reports match the reviewed golden files (RMPPLAN_REGEN_GOLDEN=1 rewrites)."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = CliRunner().invoke(cli, [*args, "--format", fmt])
    assert result.exit_code in (0, 1), result.stderr
    golden = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("RMPPLAN_REGEN_GOLDEN") == "1":
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def _outputs(path: Path) -> list[str]:
    """Every report of a topology file, in every format, and its graph as GraphML."""
    from rmpplan.inputs import load_machine

    outputs = []
    runner = CliRunner()
    for fmt in OutputFormat:
        for args in (
            ["explain", str(path), "--leader", str(min(load_machine(path).online))],
            ["plan", str(path), "--leader", "all"],
            ["verify", str(path)],
            ["show", str(path)],
            ["compare", str(path)],
        ):
            result = runner.invoke(cli, [*args, "--format", fmt.value])
            outputs.append(result.stdout.replace(str(path), "PATH"))
    outputs.append(runner.invoke(cli, ["show", str(path), "--format", "graphml"]).stdout)
    return outputs


def _shuffled_copy(machine: Machine, path: Path, seed: int, suffix: str) -> Path:
    """The machine written in the explicit form with its CPUs in random order."""
    doc = to_document(machine, compact=False)
    random.Random(seed).shuffle(doc["cpus"])
    out = path.with_suffix(suffix)
    out.write_text(dump_yaml(doc) if suffix == ".yaml" else dump_json(doc), encoding="utf-8")
    return out


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(machine=machines(max_cpus=48))
def test_shuffled_input_gives_identical_output(machine: Machine, tmp_path: Path) -> None:
    """A shuffled copy of a topology gives byte-identical output in every command and format."""
    ordered = _shuffled_copy(machine, tmp_path / "a", 0, ".yaml")
    doc = yaml.safe_load(ordered.read_text(encoding="utf-8"))
    doc["cpus"].sort(key=lambda entry: entry["id"])
    ordered.write_text(dump_yaml(doc), encoding="utf-8")
    shuffled = _shuffled_copy(machine, tmp_path / "b", 1, ".json")
    assert _outputs(ordered) == _outputs(shuffled)


@pytest.mark.parametrize(
    "path",
    [TOPOLOGIES / "power9-sparse.yaml", EXAMPLES / "primary-offline.yaml"],
    ids=lambda p: p.stem,
)
def test_bundled_shuffled(path: Path, tmp_path: Path) -> None:
    """Bundled topologies give the same reports when their CPUs are listed in any order."""
    from rmpplan.inputs import load_machine

    machine = load_machine(path)
    a = _shuffled_copy(machine, tmp_path / "a", 3, ".yaml")
    b = _shuffled_copy(machine, tmp_path / "b", 4, ".yaml")
    assert _outputs(a) == _outputs(b)


EXPECTED = GOLDEN / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_documented_examples(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each failing example in docs/examples gives its reviewed verify report, byte for byte."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    relative = f"docs/examples/{path.name}"
    result = CliRunner().invoke(cli, ["verify", relative, "--format", "json"])
    expected = EXPECTED / f"{path.stem}.json"
    if os.environ.get("RMPPLAN_REGEN_GOLDEN") == "1":
        expected.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == expected.read_text(encoding="utf-8")
    assert result.exit_code == (0 if json.loads(result.stdout)["ok"] else 1)
