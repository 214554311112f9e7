"""Every kind of topology input → :class:`Machine`, and finding inputs in folders.

An input is a path or the name of a topology bundled with rmpplan
(``epyc-9965-2s``, or ``builtin:epyc-9965-2s`` as ``verify --builtin``
reports it); an existing path always wins over a name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from rmpplan.errors import InputError
from rmpplan.naming import named
from rmpplan.terms import InputFormat
from rmpplan.topology.load import TOPOLOGY_SUFFIXES, load_topology_file
from rmpplan.topology.machine import Machine

BUILTIN_PREFIX = "builtin:"
"""How ``verify --builtin`` names a bundled topology: stable on every machine."""


def bundled_topologies() -> dict[str, Path]:
    """The topology files shipped inside the package, by name (the file's stem), sorted."""
    from importlib import resources

    found: dict[str, Path] = {}
    for entry in (resources.files("rmpplan") / "topologies").iterdir():
        # pip always unpacks a wheel, so package data is a real file; an install
        # from a zip archive has no file to hand to the loaders and offers none.
        if isinstance(entry, Path) and entry.suffix == ".yaml":
            found[entry.stem] = entry
    return dict(sorted(found.items()))


def resolve_input(path: Path) -> Path:
    """The file ``path`` names: ``path`` itself when it exists, else the bundled
    topology of that name (with or without ``builtin:``).

    A missing bare name is an :class:`InputError` that lists the bundled
    names; any other missing path is left for its loader to report.
    """
    if os.path.lexists(path):
        return path
    text = str(path)
    bundled = bundled_topologies()
    name = text.removeprefix(BUILTIN_PREFIX)
    if name in bundled:
        return bundled[name]
    if bundled and (len(path.parts) == 1 or text.startswith(BUILTIN_PREFIX)):
        raise InputError(
            f"no such file or directory (bundled topologies: {', '.join(bundled)}; "
            f"see {named('builtin')})",
            path=text,
        )
    return path


def input_format_of(path: Path, given: InputFormat | None = None) -> InputFormat:
    """What ``path`` holds: ``given`` when set, else detected from its name and content."""
    if given is not None:
        return given
    path = resolve_input(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return InputFormat.TOPOLOGY
    from rmpplan.sources import detect_format

    if not path.exists():
        raise InputError("no such file or directory", path=str(path))
    from rmpplan.files import not_regular

    mode = path.stat().st_mode
    why = None if stat.S_ISDIR(mode) else not_regular(mode)
    if why is not None:
        raise InputError(why, path=str(path))  # a FIFO is never opened: it could block
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
        f"tarball, hwloc XML, or saved lscpu output (or give {named('input_format')})",
        path=str(path),
    )


def load_machine(path: Path, input_format: InputFormat | None = None) -> Machine:
    """Load a topology file, a sysfs tree or dump, hwloc XML or saved lscpu output.

    ``path`` may also name a bundled topology (:func:`resolve_input`). Every
    error names ``path`` (and its line, where known).
    """
    try:
        found = resolve_input(path)
        kind = input_format_of(found, input_format)
        if kind.source is None:
            return load_topology_file(found)
        from rmpplan.sources import read_source

        return read_source(found, kind.source)
    except InputError as err:
        raise err.located(str(path)) from None


def discover(paths: Iterable[Path]) -> list[Path]:
    """The inputs ``verify`` checks: files as given, folders searched recursively
    (see :func:`rmpplan.sources.find_sources`: links followed, hidden entries not
    searched, and a folder or file that cannot be read is an :class:`InputError`)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)  # a missing one is reported as "no such file" when loaded
            continue
        from rmpplan.sources import find_sources

        inside = find_sources(path, topologies=True)
        if not inside:
            raise InputError("no topology files in this directory", path=str(path))
        found += inside
    return found
