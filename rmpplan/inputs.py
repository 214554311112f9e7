"""Every kind of topology input → :class:`Machine`, and finding inputs in folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rmpplan.errors import InputError
from rmpplan.terms import InputFormat
from rmpplan.topology.load import TOPOLOGY_SUFFIXES, load_topology_file
from rmpplan.topology.machine import Machine


def input_format_of(path: Path, given: InputFormat | None = None) -> InputFormat:
    """What ``path`` holds: ``given`` when set, else detected from its name and content."""
    if given is not None:
        return given
    if path.suffix.lower() in (".yaml", ".yml"):
        return InputFormat.TOPOLOGY
    from rmpplan.sources import detect_format

    if not path.exists():
        raise InputError("no such file or directory", path=str(path))
    detected = detect_format(path)
    if detected is not None:
        return InputFormat(detected.value)
    if path.suffix.lower() in TOPOLOGY_SUFFIXES:
        return InputFormat.TOPOLOGY
    if path.is_dir():
        raise InputError(
            "is a directory but not a sysfs root (no sys/devices/system/cpu)", path=str(path)
        )
    raise InputError(
        "unknown kind of input: expected a .yaml/.yml/.json topology, a sysfs root or dump "
        "tarball, hwloc XML, or saved lscpu output (or give --input-format)",
        path=str(path),
    )


def load_machine(path: Path, input_format: InputFormat | None = None) -> Machine:
    """Load a topology file, a sysfs tree or dump, hwloc XML or saved lscpu output.

    Every error names ``path`` (and its line, where known).
    """
    try:
        kind = input_format_of(path, input_format)
        if kind.source is None:
            return load_topology_file(path)
        from rmpplan.sources import read_source

        return read_source(path, kind.source)
    except InputError as err:
        raise err.located(str(path)) from None


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
