"""Packaging: one version, the license metadata, and an sdist that carries what the tests need."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
import subprocess
import tomllib
from typing import Any

import pytest

import rmpplan
from tests.conftest import ROOT

# The folders whose files the sdist must carry for `make test` to run from it.
SHIPPED = ("bench", "docs", "tests", "topologies")


def pyproject() -> dict[str, Any]:
    """pyproject.toml, parsed."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_version_is_written_once() -> None:
    """pyproject.toml reads the version from rmpplan.__version__, and the install agrees."""
    config = pyproject()
    assert "version" not in config["project"]
    assert config["project"]["dynamic"] == ["version"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rmpplan.__version__"}
    installed = importlib.metadata.version("rmpplan")
    assert installed == rmpplan.__version__, "reinstall rmpplan into .venv (make test does)"


def test_license_metadata() -> None:
    """An SPDX license expression with its file, and no License classifier beside it."""
    config = pyproject()
    project = config["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    assert "setuptools>=77" in config["build-system"]["requires"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 The rmpplan authors\n")


def test_py_typed_is_package_data() -> None:
    """rmpplan/py.typed exists and is declared as package data, so wheels carry it."""
    assert (ROOT / "rmpplan" / "py.typed").is_file()
    assert "py.typed" in pyproject()["tool"]["setuptools"]["package-data"]["rmpplan"]


def manifest() -> list[tuple[str, list[str]]]:
    """MANIFEST.in's directives as (action, arguments), comments and blank lines left out."""
    lines = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    return [
        (words[0], words[1:])
        for words in (line.split() for line in lines if not line.lstrip().startswith("#"))
        if words
    ]


def shipped(path: str, directives: list[tuple[str, list[str]]]) -> bool:
    """Whether MANIFEST.in puts ``path`` (relative, with /) into the sdist."""
    for action, args in directives:
        if action == "include" and path in args:
            return True
        if action == "graft" and path.startswith(args[0] + "/"):
            return True
        if action == "recursive-include" and path.startswith(args[0] + "/"):
            name = path.rsplit("/", 1)[-1]
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in args[1:]):
                return True
    return False


def test_manifest_names_existing_files() -> None:
    """Every file MANIFEST.in includes by name exists (a missing one warns on every build)."""
    for action, args in manifest():
        assert action in ("include", "graft", "recursive-include"), f"MANIFEST.in: {action}?"
        if action == "include":
            missing = [name for name in args if not (ROOT / name).is_file()]
            assert not missing, f"MANIFEST.in includes missing files: {missing}"


def test_sdist_carries_every_tracked_test_file() -> None:
    """Every tracked file under bench/, docs/, tests/ and topologies/ matches MANIFEST.in."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *SHIPPED],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout (an unpacked sdist holds what it holds)")
    # A tracked symlink (topologies -> rmpplan/topologies) ships through its target.
    files = [
        name
        for name in listed.stdout.decode().split("\0")
        if name and not (ROOT / name).is_symlink()
    ]
    assert files, "git ls-files found nothing"
    directives = manifest()
    left_out = [name for name in files if not shipped(name, directives)]
    assert not left_out, f"MANIFEST.in leaves these out of the sdist: {left_out[:10]}"


def test_changelog_has_the_current_version() -> None:
    """CHANGELOG.md has an Unreleased section, one for __version__, and a link for each."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = re.escape(rmpplan.__version__)
    assert "\n## [Unreleased]\n" in text
    assert re.search(rf"^## \[{version}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE)
    for heading in re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE):
        assert re.search(rf"^\[{re.escape(heading)}\]: https://", text, re.MULTILINE), heading
