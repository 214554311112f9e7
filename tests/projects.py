"""Projects and inputs written for verify's report tests (the CI formats, the JUnit
schema, the concise lines): the same machines and configuration in each, so that
every report is held to the same kinds of result."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EXAMPLES, ROOT

NOSMT = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
"""Fails online-equals-present (a present CPU is offline)."""
SINGLE = "name: single\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"
"""Passes every check: an expectation of a finding on it is stale."""
TWICE = """name: twice
cpus:
  - {id: 0, core: 0, apic_id: 0}
  - {id: 1, core: 0, apic_id: 2}
  - {id: 2, core: 1, apic_id: 5}
  - {id: 3, core: 1, apic_id: 7}
"""
"""Under apic-primary one core gets two mask CPUs and the other none: one check, two findings."""
EXPECT_NOSMT = '[expect]\n"topologies/nosmt.yaml" = ["online-equals-present"]\n'
"""A configuration expecting nosmt's finding."""
EXPECT = EXPECT_NOSMT + '"topologies/stale.yaml" = ["core-missed"]\n'
"""The configuration of :func:`every_kind`: nosmt's finding expected, a stale one on single."""


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def every_kind(root: Path, *, my_box: bool = False) -> Path:
    """A project at ``root`` with every kind of result under ``--rule apic-primary``:
    expected (nosmt), unexpected with a check twice (twice), stale (stale), a file
    that does not parse (broken), and with ``my_box`` a JSON topology too; returns
    ``root``."""
    topologies = root / "topologies"
    write(topologies / "nosmt.yaml", NOSMT)
    write(topologies / "stale.yaml", SINGLE)
    write(topologies / "twice.yaml", TWICE)
    if my_box:
        box = (ROOT / "docs" / "topologies" / "my-box.json").read_text(encoding="utf-8")
        write(topologies / "my-box.json", box)
    write(topologies / "broken.yaml", "cpus: [\n")
    write(root / "rmpplan.toml", EXPECT)
    return root


def located_inputs(folder: Path) -> list[str]:
    """verify's arguments for inputs written to ``folder`` (the current directory) whose
    findings are located by a cpus: list and by a key, and a parse error with its line."""
    write(folder / "twice.yaml", TWICE)
    write(folder / "nosmt.yaml", NOSMT)
    write(
        folder / "hotplug.yaml",
        "name: h\nlayout: {packages: 1, cores_per_die: 4, threads_per_core: 2}\n"
        "offline_after_setup: 2\n",
    )
    write(folder / "broken.yaml", "name: b\ncpus: [\n")
    return ["twice.yaml", "nosmt.yaml", "hotplug.yaml", "broken.yaml", "--rule", "apic-primary"]
