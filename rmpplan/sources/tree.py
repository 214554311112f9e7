"""A read-only file tree: a directory on disk or the inside of an archive.

The sysfs reader only ever asks three questions of a dump (read this file, list
this folder, is this a folder), so a directory, the live ``/`` and a tarball read
in memory all answer the same small protocol.  Paths are relative to the dump's
root and use ``/``; errors name the file inside the dump, and the reader's entry
point (``read_source``) names the dump.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from rmpplan.errors import InputError
from rmpplan.files import MAX_FILE_BYTES, read_capped, read_file_bytes

"""The most we read of one file: sysfs files are a page or two; /proc/cpuinfo of an
8192-CPU machine is about 12 MiB."""


class Tree(Protocol):
    """What a reader may ask of a dump."""

    def read(self, rel: str) -> str | None:
        """The text of a regular file, or None when it does not exist."""
        ...

    def listdir(self, rel: str) -> list[str] | None:
        """The names in a folder, or None when it is not a folder."""
        ...

    def isdir(self, rel: str) -> bool:
        """Whether ``rel`` is a folder."""
        ...


def decode(raw: bytes) -> str:
    """sysfs and procfs text: ASCII in practice; never fail on a stray byte."""
    return raw.decode("utf-8", errors="replace")


class DirTree:
    """A dump unpacked on disk, or the live machine when the root is ``/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = str(root).rstrip("/") + "/"

    def read(self, rel: str) -> str | None:
        # os.open on a string: pathlib costs more than the read for a 4-byte sysfs file.
        try:
            fd = os.open(self._base + rel, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            raise InputError(f"cannot read {rel}: {err.strerror}") from None
        try:
            raw = read_capped(fd, MAX_FILE_BYTES)
        except IsADirectoryError:
            return None
        except OSError as err:
            raise InputError(f"cannot read {rel}: {err.strerror}") from None
        finally:
            os.close(fd)
        if raw is None:
            raise InputError(f"{rel} is larger than {MAX_FILE_BYTES >> 20} MiB")
        return decode(raw)

    def listdir(self, rel: str) -> list[str] | None:
        try:
            return [entry.name for entry in (self.root / rel).iterdir()]
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            raise InputError(f"cannot list {rel}: {err.strerror}") from None

    def isdir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()


def read_file_text(path: Path) -> str:
    """:func:`read_file_bytes` decoded (UTF-8, a leading BOM dropped, a stray byte replaced)."""
    return read_file_bytes(path).decode("utf-8-sig", errors="replace")
