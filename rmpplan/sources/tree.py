"""A read-only file tree: a directory on disk or the inside of an archive.

The sysfs reader only ever asks three questions of a dump (read this file, list
this folder, is this a folder), so a directory, the live ``/`` and a tarball read
in memory all answer the same small protocol.  Paths are relative to the dump's
root and use ``/``; errors name the file inside the dump, and the reader's entry
point (``read_source``) names the dump.

A dump is a closed world.  Symbolic links are resolved by :class:`Links`, inside
the dump only: a link to an absolute path, above the dump's top or in a loop is
refused with a message naming the link, never its target's content.  Every file
is opened without blocking and read only if it is a regular file, up to
:func:`file_cap` bytes; a folder is listed up to :data:`MAX_DIR_ENTRIES` names.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Protocol

from rmpplan.errors import InputError
from rmpplan.files import MAX_FILE_BYTES, not_regular, read_capped, read_file_bytes, size_text
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CPU_DIR = "sys/devices/system/cpu"
CPUINFO = "proc/cpuinfo"

MAX_SYSFS_FILE_BYTES = 64 << 10
"""A sysfs attribute is at most a page (4 KiB on x86, 64 KiB on arm64 and POWER); the
cpulist files of an 8192-CPU kernel hold at most 28 KiB (CPULIST_FILE_MAX_BYTES)."""
MAX_CPUINFO_BYTES = 32 << 20
"""/proc/cpuinfo of an 8192-CPU x86 machine is about 12-16 MiB (1.5-2 KiB per CPU)."""
MAX_DIR_ENTRIES = 2 * NR_CPUS_MAX
"""sys/devices/system/cpu holds at most 8192 cpuN folders and a few dozen others."""
MAX_LINK_HOPS = 40
"""Linux's own limit on symbolic links followed in one path (MAXSYMLINKS)."""
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


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


def file_cap(rel: str) -> int:
    """The most a dump's file may hold: /proc/cpuinfo is big, a sysfs file a page at most."""
    return MAX_CPUINFO_BYTES if rel == CPUINFO else MAX_SYSFS_FILE_BYTES


def too_big(rel: str) -> InputError:
    """The error for a dump file over its cap."""
    what = "/proc/cpuinfo" if rel == CPUINFO else "a sysfs file (at most a page)"
    return InputError(f"{rel} is larger than {size_text(file_cap(rel))}, more than {what} holds")


class Links:
    """Resolves a path inside a dump, following symbolic links inside it only.

    ``readlink(path)`` gives the target of ``path`` when it is a symbolic link (its
    folders already resolved), else None.  The result has no link left in it; a
    link out of the dump or more than :data:`MAX_LINK_HOPS` links raise
    :class:`InputError` naming the link.  Resolved folders are cached.
    """

    def __init__(self, readlink: Callable[[str], str | None]) -> None:
        self._readlink = readlink
        self._folders: dict[str, str] = {"": ""}

    def folder(self, rel: str) -> str:
        """``rel`` resolved, every component included; cached, like its parents."""
        found = self._folders.get(rel)
        if found is None:
            found = self._folders[rel] = self.resolve(rel)
        return found

    def resolve(self, rel: str) -> str:
        """``rel`` resolved: its folder from the cache, then its last component."""
        parent, _, name = rel.rpartition("/")
        here = self.folder(parent)
        here = f"{here}/{name}" if here else name
        return here if self._readlink(here) is None else self.walk(here)

    def walk(self, rel: str) -> str:
        """``rel`` resolved component by component (the slow path, for links)."""
        pending = [part for part in reversed(rel.split("/")) if part not in ("", ".")]
        done: list[str] = []
        hops = 0
        last_link: str | None = None
        while pending:
            part = pending.pop()
            if part == "..":
                if not done:
                    raise _escape(last_link or rel, "above the dump's top")
                done.pop()
                continue
            done.append(part)
            here = "/".join(done)
            target = self._readlink(here)
            if target is None:
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise InputError(
                    f"{here}: more than {MAX_LINK_HOPS} symbolic links in a row (a loop?)"
                )
            if target.startswith("/"):
                raise _escape(here, "to an absolute path")
            last_link = here
            done.pop()
            pending.extend(part for part in reversed(target.split("/")) if part not in ("", "."))
        return "/".join(done)


def _escape(link: str, where: str) -> InputError:
    return InputError(
        f"{link} is a symbolic link out of the dump ({where}); only links inside it are followed"
    )


class DirTree:
    """A dump unpacked on disk, or the live machine when the root is ``/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = str(root).rstrip("/") + "/"
        self._links = Links(self._readlink)

    def _lstat(self, rel: str) -> os.stat_result | None:
        try:
            return os.lstat(self._base + rel)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            raise InputError(f"cannot read {rel}: {err.strerror}") from None

    def _readlink(self, rel: str) -> str | None:
        found = self._lstat(rel)
        if found is None or not stat.S_ISLNK(found.st_mode):
            return None
        try:
            return os.readlink(self._base + rel)  # noqa: PTH115  # str paths: see read()
        except OSError as err:
            raise InputError(f"cannot read the link {rel}: {err.strerror}") from None

    def read(self, rel: str) -> str | None:
        # The hot path of a big dump (three files a CPU): kept to a few syscalls.
        parent, _, name = rel.rpartition("/")
        real = self._links.folder(parent)
        real = f"{real}/{name}" if real else name
        found = self._lstat(real)
        if found is not None and stat.S_ISLNK(found.st_mode):
            real = self._links.walk(real)
            found = self._lstat(real)
        if found is None or stat.S_ISDIR(found.st_mode):
            return None
        why = not_regular(found.st_mode)
        if why is not None:
            raise InputError(f"{rel} {why}")
        # O_NOFOLLOW and a second check on what was opened: the file was a regular
        # file a moment ago, and a link or FIFO put there since is refused too.
        try:
            fd = os.open(self._base + real, _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            raise InputError(f"cannot read {rel}: {err.strerror}") from None
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise InputError(f"{rel} {not_regular(opened.st_mode)}")
            raw = read_capped(fd, file_cap(rel), opened.st_size)
        except OSError as err:
            raise InputError(f"cannot read {rel}: {err.strerror}") from None
        finally:
            os.close(fd)
        if raw is None:
            raise too_big(rel)
        return decode(raw)

    def listdir(self, rel: str) -> list[str] | None:
        real = self._links.folder(rel)
        names: list[str] = []
        try:
            with os.scandir(self._base + real) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if len(names) > MAX_DIR_ENTRIES:
                        raise InputError(
                            f"{rel} holds more than {MAX_DIR_ENTRIES} entries, more than "
                            "any kernel makes"
                        )
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            raise InputError(f"cannot list {rel}: {err.strerror}") from None
        return names

    def isdir(self, rel: str) -> bool:
        found = self._lstat(self._links.folder(rel))
        return found is not None and stat.S_ISDIR(found.st_mode)


def read_file_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """:func:`read_file_bytes` decoded (UTF-8, a leading BOM dropped, a stray byte replaced)."""
    return read_file_bytes(path, limit).decode("utf-8-sig", errors="replace")
