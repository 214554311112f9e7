"""The repository itself: paths every checkout can hold, and a CONTRIBUTING.md that
names only what exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Windows refuses these in a name, and a checkout there fails on the whole tree.
_NOT_PORTABLE = re.compile(r'["|:<>*?\\\x00-\x1f\x7f]')
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?", re.IGNORECASE)
_SKIPPED = {".git", ".venv", "__pycache__", "build", "dist"}


def _repository_paths() -> list[str]:
    """The tracked paths, or, outside a git clone (an sdist), every file under the root."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        return [os.fsdecode(path) for path in listed.split(b"\0") if path]
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIPPED and not d.endswith(".egg-info")]
        found += [(Path(folder) / name).relative_to(ROOT).as_posix() for name in files]
    return found


def portability_problem(path: str) -> str | None:
    """Why ``path`` cannot be checked out everywhere, or None."""
    for part in path.split("/"):
        if _NOT_PORTABLE.search(part):
            return f"{part!r} holds a character Windows refuses"
        if part.endswith((".", " ")):
            return f"{part!r} ends in a dot or space"
        if _RESERVED.fullmatch(part):
            return f"{part!r} is a reserved device name"
    return None


@pytest.mark.parametrize(
    ("path", "portable"),
    [
        ("rmpplan/plan.py", True),
        ('ith tarfile.open(fileobj=stream, mode="r|") as archive:', False),
        ("docs/a?b.md", False),
        ("tests/data/tab\there", False),
        ("docs/con.txt", False),
        ("docs/trailing.", False),
        ("docs/console.md", True),
    ],
)
def test_portability_rule(path: str, portable: bool) -> None:
    """The rule refuses the names that break a checkout, and only those."""
    assert (portability_problem(path) is None) == portable


def test_every_tracked_path_is_portable() -> None:
    """No file in the repository has a name a Windows or macOS checkout cannot create."""
    paths = _repository_paths()
    assert paths, "no files found"
    problems = [f"{path}: {why}" for path in paths if (why := portability_problem(path))]
    assert not problems, problems


def test_topologies_link_stays_inside() -> None:
    """./topologies is a relative link to the bundled topologies, never a copy that drifts."""
    link = ROOT / "topologies"
    assert link.is_symlink()
    assert str(link.readlink()) == "rmpplan/topologies"
    assert link.resolve() == (ROOT / "rmpplan" / "topologies").resolve()


CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
# `path/to/file.py`, `tests/`, `Makefile`-like names written in backticks.
_CITED_PATH = re.compile(r"`((?:rmpplan|tests|docs|bench|\.ci)/[\w./-]*|[\w.-]+\.(?:toml|md|in))`")
# "`NAME` in `path`" and "`NAME` of `path`": a name said to live in a file.
_CITED_NAME = re.compile(r"`(\w+)`(?: \([^)]*\))? (?:in|of) `((?:rmpplan|tests)/[\w./]+\.py)`")


def test_contributing_paths_exist() -> None:
    """Every file or folder CONTRIBUTING.md names is in the repository."""
    cited = {m for m in _CITED_PATH.findall(CONTRIBUTING) if "NAME" not in m and "VALUE" not in m}
    assert len(cited) > 10
    missing = sorted(path for path in cited if not (ROOT / path.split("::")[0]).exists())
    assert not missing, missing


def test_contributing_names_exist() -> None:
    """Every `NAME` in `module.py` that CONTRIBUTING.md cites is defined in that module."""
    cited = _CITED_NAME.findall(CONTRIBUTING)
    assert len(cited) >= 5
    missing = [
        f"{name} in {path}"
        for name, path in cited
        if not re.search(rf"\b{re.escape(name)}\b", (ROOT / path).read_text(encoding="utf-8"))
    ]
    assert not missing, missing


def test_contributing_tests_exist() -> None:
    """Every test function CONTRIBUTING.md names is defined in the suite."""
    suite = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    cited = set(re.findall(r"\b(test_\w+)\b(?!\.py)", CONTRIBUTING))
    assert cited
    missing = sorted(name for name in cited if f"def {name}(" not in suite)
    assert not missing, missing
