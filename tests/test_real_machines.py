"""Acceptance on the 14 real machines in ../shared: plan, verify and import agree with
the FIRST list the fixtures' README derives from the kernel's rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmpplan.cli.main import cli
from rmpplan.cpumask import parse_cpulist
from tests.conftest import SHARED_REAL, require_shared

# Machines with present-but-offline CPUs: SNP init refuses them.
REFUSED = {"ul-s390-lpar", "hw-16em64t-4s2c2t-offlines", "hw-offline-cpu0-node0"}

MACHINES = [
    "hw-128arm-2pa2n8cluster4co",
    "hw-16em64t-4s2c2t-offlines",
    "hw-20em64t-hybrid-1p6c2t+2ca4co1t",
    "hw-64amd64-4s2n4ca2co",
    "hw-nvidiagpunumanodes",
    "hw-offline-cpu0-node0",
    "hwxml-AMD-19h-Zen4-2xEpyc-9654",
    "ul-arm-A510-A710-A715-X3",
    "ul-ppc64-POWER7-64cpu",
    "ul-s390-lpar",
    "ul-vmware_fpe",
    "ul-x86_64-64cpu",
    "ul-x86_64-64cpu-linux6.2",
    "ul-x86_64-epyc_7451",
]


def expected_first() -> dict[str, frozenset[int]]:
    """The README's FIRST list of each machine (``a,b,…,z`` is an arithmetic run)."""
    readme = (require_shared() / "README.md").read_text(encoding="utf-8")
    found: dict[str, frozenset[int]] = {}
    for name, listed in re.findall(
        r"^### (\S+)\n(?:.*\n)*?- \*\*FIRST = ([^*]+)\*\*", readme, re.M
    ):
        if "…" in listed:
            parts = [int(part) for part in listed.split(",") if part.strip() != "…"]
            step = parts[1] - parts[0]
            found[name] = frozenset(range(parts[0], parts[-1] + 1, step))
        else:
            found[name] = parse_cpulist(listed.strip())
    return found


def sources(name: str) -> list[Path]:
    """The inputs of a machine: its sysfs folder, or both of its XML files."""
    folder = require_shared() / name
    if name.startswith("hwxml-"):
        return [folder / "topology.xml", folder / "topology-v3.xml"]
    return [folder]


def plan_mask(path: Path) -> frozenset[int]:
    """rmpopt_cpumask as `rmpplan plan --format json` prints it."""
    result = CliRunner().invoke(cli, ["plan", str(path), "--leader", "all", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return parse_cpulist(json.loads(result.stdout)["rmpopt_cpumask"])


def test_readme_lists_every_machine() -> None:
    """The README gives a FIRST list for each of the 14 machines."""
    assert sorted(expected_first()) == sorted(MACHINES)
    assert sorted(p.name for p in SHARED_REAL.iterdir() if p.is_dir()) == sorted(MACHINES)


@pytest.mark.parametrize("name", MACHINES)
def test_plan_matches_first(name: str) -> None:
    """plan's rmpopt_cpumask on the real dump equals the README's FIRST."""
    first = expected_first()[name]
    for path in sources(name):
        assert plan_mask(path) == first, path


@pytest.mark.parametrize("name", MACHINES)
def test_verify_verdict(name: str) -> None:
    """verify exits 1 with online-equals-present exactly on the three refused machines."""
    for path in sources(name):
        result = CliRunner().invoke(cli, ["verify", str(path), "--format", "json"])
        doc = json.loads(result.stdout)
        checks = [f["check"] for r in doc["results"] for f in r["findings"]]
        if name in REFUSED:
            assert result.exit_code == 1
            assert checks == ["online-equals-present"]
        else:
            assert result.exit_code == 0, checks


@pytest.mark.parametrize("name", MACHINES)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_import_round_trip(name: str, suffix: str, tmp_path: Path) -> None:
    """import writes a file that loads as the same machine and plans the same FIRST."""
    from rmpplan.inputs import load_machine
    from rmpplan.topology.dump import canonical

    for index, path in enumerate(sources(name)):
        out = tmp_path / f"m{index}{suffix}"
        result = CliRunner().invoke(cli, ["import", str(path), "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        original, again = load_machine(path), load_machine(out)
        assert canonical(again) == canonical(original)
        assert again.possible == original.possible
        assert plan_mask(out) == expected_first()[name]
