"""Helpers shared by the source-reader tests: where the data is, and small builders."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rmpplan.errors import InputError
from rmpplan.sources import SourceFormat, read_source
from rmpplan.sources.sysfs import CPU_DIR
from tests.conftest import require_shared

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine

DATA = Path(__file__).resolve().parent / "data"
PROJECT = Path(__file__).resolve().parents[2]
SHARED_REAL = PROJECT.parent / "shared" / "fixtures" / "real"


def require_shared_real(path: Path = SHARED_REAL) -> Path:
    """The real-machine fixtures folder: skip, or fail under RMPPLAN_REQUIRE_SHARED=1."""
    return require_shared(path)


def first(machine: Machine) -> list[int]:
    """FIRST: the lowest online thread of every core that has one, sorted."""
    return sorted(core.online_threads[0] for core in machine.cores if core.online_threads)


def sysfs(name: str) -> Machine:
    """Read one of the generated sysfs trees."""
    return read_source(DATA / "sysfs" / name)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (paths relative to sys/devices/system/cpu) below ``root``."""
    base = root / CPU_DIR
    base.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def pack(tree: Path, archive: Path, top: str = "dump", mode: str = "w:gz") -> Path:
    """Pack a sysfs root into a tarball, below the folder ``top`` ("" for none)."""
    with tarfile.open(archive, mode) as tar:  # type: ignore[call-overload]  # mode is a str, not a Literal
        for path in sorted(tree.rglob("*")):
            rel = path.relative_to(tree).as_posix()
            tar.add(path, arcname=f"{top}/{rel}" if top else rel, recursive=False)
    return archive


def read_error(path: Path, fmt: SourceFormat | None = None) -> str:
    """The one-line message reading ``path`` gives; it names the file."""
    with pytest.raises(InputError) as caught:
        read_source(path, fmt)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(path))
    return text
