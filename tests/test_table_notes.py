"""A note every machine of a ``verify`` carries is said once above the table; a note of
some machines only, and every finding, stay in that machine's own detail table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rmpplan.inputs import bundled_topologies
from tests.cli import run

EVERY = "note on every machine: "
NO_APIC = "this input has no APIC ids"


def _copies(where: Path, name: str, count: int) -> list[str]:
    paths = []
    for index in range(count):
        path = where / f"{name}-{index}.yaml"
        shutil.copyfile(bundled_topologies()[name], path)
        paths.append(str(path))
    return paths


def test_a_note_on_every_machine_is_said_once(tmp_path: Path) -> None:
    paths = _copies(tmp_path, "power9-sparse", 3)
    result = run("verify", *paths, "--no-config")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    shared = [line for line in lines if line.startswith(EVERY)]
    assert len(shared) == 1
    assert NO_APIC in shared[0]
    assert result.output.count(NO_APIC) == 1
    assert "What is wrong" not in result.output  # no detail table for a note alone


def test_a_note_of_some_machines_stays_with_them(tmp_path: Path) -> None:
    paths = [*_copies(tmp_path, "power9-sparse", 2), *_copies(tmp_path, "epyc-9654-2s", 1)]
    result = run("verify", *paths, "--no-config")
    assert result.exit_code == 0
    assert EVERY not in result.output
    assert result.output.count(NO_APIC) == 2
    assert result.output.count("What is wrong") == 2


def test_findings_are_never_gathered(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "docs" / "examples" / "nosmt.yaml"
    paths = []
    for index in range(2):
        path = tmp_path / f"nosmt-{index}.yaml"
        shutil.copyfile(source, path)
        paths.append(str(path))
    result = run("verify", *paths, "--no-config")
    assert result.exit_code == 1
    assert result.output.count("online-equals-present   8-15") == 2


def test_json_keeps_every_machine_s_notes(tmp_path: Path) -> None:
    paths = _copies(tmp_path, "power9-sparse", 2)
    result = run("verify", *paths, "--no-config", "--format", "json")
    document = json.loads(result.output)
    notes = [entry["notes"] for entry in document["results"]]
    assert len(notes) == 2
    assert all(any(NO_APIC in note for note in entry) for entry in notes)
