"""Inputs by name: the bundled topologies are package data, a bare name loads
one, an existing path always wins, and `verify --builtin` checks them all."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from rmpplan.errors import InputError
from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies, load_machine, resolve_input
from rmpplan.terms import InputFormat
from tests.cli import one_error, run
from tests.conftest import ROOT, TOPOLOGIES

PACKAGE_TOPOLOGIES = ROOT / "rmpplan" / "topologies"
NAMES = sorted(path.stem for path in PACKAGE_TOPOLOGIES.glob("*.yaml"))
MINE = "name: mine\ncpus:\n  - {id: 0, core: 0}\n  - {id: 1, core: 1}\n"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with no ./topologies, as after `pipx install rmpplan`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bundled_topologies_are_package_data() -> None:
    """importlib.resources finds every bundled file inside the package, and the
    wheel's package data and the repository's topologies/ hold the same files."""
    folder = resources.files("rmpplan") / "topologies"
    assert sorted(entry.name for entry in folder.iterdir()) == [f"{n}.yaml" for n in NAMES]
    assert len(NAMES) == 7
    assert list(bundled_topologies()) == NAMES
    for name, path in bundled_topologies().items():
        assert path.read_bytes() == (TOPOLOGIES / f"{name}.yaml").read_bytes()
    assert TOPOLOGIES.resolve() == PACKAGE_TOPOLOGIES.resolve()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "topologies/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["rmpplan"]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_loads_the_bundled_topology(elsewhere: Path, name: str) -> None:
    """A bare name, or builtin:NAME, loads the bundled file from any folder."""
    expected = load_machine(TOPOLOGIES / f"{name}.yaml")
    for given in (name, BUILTIN_PREFIX + name):
        machine = load_machine(Path(given))
        assert machine.name == expected.name
        assert machine.cpus == expected.cpus


def test_an_existing_path_wins_over_a_name(elsewhere: Path) -> None:
    """A file named like a bundled topology is read as given, never swapped for it."""
    (elsewhere / "single-core").write_text(MINE, encoding="utf-8")
    assert resolve_input(Path("single-core")) == Path("single-core")
    assert load_machine(Path("single-core"), InputFormat.TOPOLOGY).name == "mine"
    # Undetectable without --input-format: the local file's error, not the bundled machine.
    with pytest.raises(InputError, match=r"^single-core: unknown kind of input"):
        load_machine(Path("single-core"))
    (elsewhere / "builtin:single-core").write_text(MINE, encoding="utf-8")
    assert load_machine(Path("builtin:single-core"), InputFormat.TOPOLOGY).name == "mine"


def test_plan_by_name_from_any_folder(elsewhere: Path) -> None:
    """`rmpplan plan epyc-9965-2s --leader 17` works without a topologies/ folder."""
    result = run("plan", "epyc-9965-2s", "--leader", "17", "--format", "json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)["plans"]
    assert item["followers"] == "0-16,18-383"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "epyc-9965", "--leader", "0"],
        ["show", "builtin:epyc-9965"],
        ["compare", "absent.yaml"],
    ],
)
def test_a_missing_name_lists_the_bundled_names(elsewhere: Path, args: list[str]) -> None:
    """A missing bare name is one error line that lists every bundled name."""
    line = one_error(run(*args))
    assert "no such file or directory (bundled topologies: " in line
    assert ", ".join(NAMES) in line
    assert line.endswith("; see `rmpplan verify --builtin`)")


def test_a_missing_path_in_a_folder_gets_no_hint(elsewhere: Path) -> None:
    """A path with a folder is plainly a file, so it keeps the plain message."""
    line = one_error(run("plan", "topologies/epyc-9965-2s.yaml", "--leader", "0"))
    assert line == "rmpplan: error: topologies/epyc-9965-2s.yaml: no such file"


def test_verify_builtin_checks_every_bundled_topology(elsewhere: Path) -> None:
    """verify --builtin passes on every bundled file, each reported as builtin:NAME."""
    result = run("verify", "--builtin", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [entry["path"] for entry in doc["results"]] == [f"builtin:{n}" for n in NAMES]
    assert [entry["name"] for entry in doc["results"]] == NAMES


def test_verify_builtin_follows_the_paths(tmp_path: Path) -> None:
    """With PATHs, --builtin adds the bundled files after them, and a failure still counts."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cpus: [\n", encoding="utf-8")
    result = run("verify", str(bad), "--builtin", "--format", "json")
    assert result.exit_code == 2
    paths = [entry["path"] for entry in json.loads(result.stdout)["results"]]
    assert paths == [str(bad), *(f"builtin:{n}" for n in NAMES)]
