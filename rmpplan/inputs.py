"""Every kind of topology input → :class:`Machine`, and finding inputs in folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rmpplan.errors import InputError
from rmpplan.topology.load import TOPOLOGY_SUFFIXES, load_topology_file
from rmpplan.topology.machine import Machine

TOPOLOGY = "topology"


def load_machine(path: Path, input_format: str | None = None) -> Machine:
    """Load a topology file, a sysfs tree or dump, hwloc XML or saved lscpu output."""
    if input_format == TOPOLOGY or (
        input_format is None and path.suffix.lower() in (".yaml", ".yml")
    ):
        return load_topology_file(path)
    from rmpplan.sources import SourceFormat, detect_format, read_source

    if input_format is not None:
        return read_source(path, SourceFormat(input_format))
    if not path.exists():
        raise InputError("no such file or directory", path=str(path))
    detected = detect_format(path)
    if detected is not None:
        return read_source(path, detected)
    if path.suffix.lower() in TOPOLOGY_SUFFIXES:
        return load_topology_file(path)
    if path.is_dir():
        raise InputError(
            "is a directory but not a sysfs root (no sys/devices/system/cpu)", path=str(path)
        )
    raise InputError(
        "unknown kind of input: expected a .yaml/.yml/.json topology, a sysfs root or dump "
        "tarball, hwloc XML, or saved lscpu output (or give --input-format)",
        path=str(path),
    )


def discover(paths: Iterable[Path]) -> list[Path]:
    """The inputs ``verify`` checks: files as given, folders searched recursively."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)  # a missing one is reported as "no such file" when loaded
            continue
        from rmpplan.sources import detect_format, find_sources

        if detect_format(path) is not None:
            found.append(path)  # a sysfs root is one machine
            continue
        topologies = {
            p for p in path.rglob("*") if p.suffix.lower() in TOPOLOGY_SUFFIXES and p.is_file()
        }
        inside = sorted(topologies | set(find_sources(path)))
        if not inside:
            raise InputError("no topology files in this directory", path=str(path))
        found += inside
    return found
