"""Which kind of real-machine source a path is, reading it, and finding sources in a folder."""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.files import not_regular, open_regular, os_error_text
from rmpplan.sources.hwloc_xml import read_hwloc_xml
from rmpplan.sources.lscpu import (
    looks_like_lscpu_csv,
    looks_like_lscpu_json,
    read_lscpu_csv,
    read_lscpu_json,
)
from rmpplan.sources.sysfs import CPU_DIR, read_sysfs_tree
from rmpplan.sources.tree import DirTree
from rmpplan.terms import SourceFormat

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine

_HEAD_BYTES = 4096
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_NOT_SOURCES = (".yaml", ".yml", ".json")  # topology files; the caller finds those
# The prolog (declaration, comments, a DOCTYPE with or without [subset]), then <topology.
_HWLOC_ROOT = re.compile(
    r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*<topology[\s>/]",
    re.DOTALL,
)


def _is_tar_name(path: Path) -> bool:
    return path.name.lower().endswith(_TAR_SUFFIXES)


def _head(path: Path) -> bytes:
    """The first bytes of a regular file (never blocking on a FIFO); nothing otherwise."""
    try:
        fd = open_regular(path)
    except (InputError, OSError):
        return b""
    try:
        return os.read(fd, _HEAD_BYTES)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _sniff(path: Path) -> SourceFormat | None:
    """A regular file's format from its first bytes."""
    head = _head(path)
    if head.startswith(_COMPRESSED_MAGIC) or head[257:262] == b"ustar":
        return SourceFormat.TARBALL
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if _HWLOC_ROOT.match(text):
        return SourceFormat.HWLOC_XML
    if looks_like_lscpu_json(text):
        return SourceFormat.LSCPU_JSON
    if looks_like_lscpu_csv(text):
        return SourceFormat.LSCPU_CSV
    return None


def detect_format(path: Path) -> SourceFormat | None:
    """The kind of source at ``path``; None when it is none of them (e.g. a YAML topology)."""
    if path.is_dir():
        return SourceFormat.SYSFS if (path / CPU_DIR).is_dir() else None
    if not path.is_file():
        return None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return None
    if _is_tar_name(path):
        return SourceFormat.TARBALL
    return _sniff(path)


def _name(path: Path) -> str:
    """The machine's name: the folder's name or the file's stem (``x.tar.gz`` → ``x``)."""
    if path.is_dir():
        name = path.resolve().name
        return name or socket.gethostname() or "localhost"
    lower = path.name.lower()
    for suffix in _TAR_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def read_source(path: Path, fmt: SourceFormat | None = None) -> Machine:
    """Read a real-machine source; ``fmt`` None means detect it.  Every error names ``path``."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("no such file or directory", path=str(path)) from None
    except OSError as err:
        raise InputError(os_error_text(err), path=str(path)) from None
    why = None if stat.S_ISDIR(mode) else not_regular(mode)
    if why is not None:
        raise InputError(why, path=str(path))
    if fmt is None:
        fmt = detect_format(path)
        if fmt is None:
            raise InputError(
                "not a sysfs root (no sys/devices/system/cpu), dump tarball, hwloc XML "
                "or saved lscpu -J -e / -p output",
                path=str(path),
            )
    try:
        return _read(path, fmt, _name(path))
    except InputError as err:
        raise err.located(str(path)) from None


def _read(path: Path, fmt: SourceFormat, name: str) -> Machine:
    if fmt is SourceFormat.SYSFS:
        if not path.is_dir():
            raise InputError("a sysfs root must be a directory")
        live = path.resolve() == Path("/")
        source = "live sysfs /" if live else f"sysfs dump {name}"
        return read_sysfs_tree(DirTree(path), name, source)
    if fmt is SourceFormat.TARBALL:
        from rmpplan.sources.archive import read_tarball  # tarfile and lzma only when needed

        return read_tarball(path, name, f"sysfs dump tarball {path.name}")
    if fmt is SourceFormat.HWLOC_XML:
        return read_hwloc_xml(path, name)
    if fmt is SourceFormat.LSCPU_JSON:
        return read_lscpu_json(path, name)
    return read_lscpu_csv(path, name)


def find_sources(directory: Path) -> list[Path]:
    """Real-machine sources below ``directory``, sorted: folders holding
    ``sys/devices/system/cpu`` (not searched further), dump tarballs, hwloc XML and
    lscpu ``-p`` output.  Not ``.yaml``/``.yml``/``.json`` files (the caller finds those),
    not hidden entries, and symbolic links to folders are not followed."""
    found: list[Path] = []
    for top, dirs, files in os.walk(directory):
        here = Path(top)
        if (here / CPU_DIR).is_dir():
            found.append(here)
            dirs.clear()
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            path = here / file
            if file.startswith(".") or path.suffix.lower() in _NOT_SOURCES:
                continue
            if _is_tar_name(path) or (path.is_file() and _sniff(path) is not None):
                found.append(path)
    return sorted(found)
