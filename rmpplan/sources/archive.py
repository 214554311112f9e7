"""A sysfs dump packed as ``.tar``, ``.tar.gz``, ``.tar.bz2`` or ``.tar.xz``, read in memory.

Nothing is unpacked to disk.  The archive is read once, as a stream:

- Compression is found from the first bytes (gzip, bzip2, xz, else plain tar) and
  undone by the standard library, which notices a stream cut short.
- Only regular files under ``…/sys/devices/system/cpu/`` and ``…/proc/cpuinfo`` are
  kept, at most :data:`MAX_KEPT_BYTES` in all; at most :data:`MAX_MEMBERS` members and
  :data:`MAX_STREAM_BYTES` of uncompressed tar are read.
- A member name with a ``..`` component refuses the archive; a leading ``/`` is
  dropped, as GNU tar does.
- Symbolic links resolve inside the archive only: an absolute target, a ``..`` above
  the archive's top, or more than :data:`MAX_LINK_HOPS` links make the path missing.
  Hard links name an earlier member.  Devices and FIFOs are ignored.
- A tar that ends without its end-of-archive block, or whose member data runs past
  the end, is truncated: an :class:`InputError` naming the file.
- The ``sys/`` tree may sit below a top-level folder (``dump/sys/…``); two trees in
  one archive are refused.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections import defaultdict, deque
from typing import IO, TYPE_CHECKING, Protocol

from rmpplan.errors import InputError, quote
from rmpplan.sources.sysfs import CPU_DIR, CPUINFO, read_sysfs_tree
from rmpplan.sources.tree import decode

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.topology.machine import Machine

MAX_MEMBERS = 100_000
MAX_KEPT_BYTES = 64 << 20
MAX_STREAM_BYTES = 1 << 30
MAX_LINK_HOPS = 40

_BLOCK = 512
_TAIL = 64 << 10  # bytes of the stream kept to look at the end-of-archive block
_MARK = "/" + CPU_DIR
_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Counted:
    """The uncompressed tar stream: counts bytes against the cap and keeps its last chunks."""

    def __init__(self, raw: _Reader) -> None:
        self.raw = raw
        self.total = 0
        self.chunks: deque[tuple[int, bytes]] = deque()  # (offset, data), at least _TAIL long
        self.kept = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if not data:
            return data
        self.chunks.append((self.total, data))
        self.kept += len(data)
        while self.kept - len(self.chunks[0][1]) >= _TAIL:
            self.kept -= len(self.chunks.popleft()[1])
        self.total += len(data)
        if self.total > MAX_STREAM_BYTES:
            raise InputError(
                f"archive expands to more than {MAX_STREAM_BYTES >> 20} MiB; refusing it"
            )
        return data

    def block_at(self, offset: int) -> bytes:
        """The 512 bytes at ``offset`` (tarfile reads at most a record past it), or fewer
        when the stream ends first."""
        if not self.chunks or offset < self.chunks[0][0]:
            return b""
        tail = b"".join(data for _, data in self.chunks)
        start = offset - self.chunks[0][0]
        return tail[start : start + _BLOCK]


def _open_stream(handle: IO[bytes]) -> _Reader:
    head = handle.read(6)
    handle.seek(0)
    if head.startswith(_GZIP):
        import gzip

        return gzip.GzipFile(fileobj=handle, mode="rb")
    if head.startswith(_BZIP2):
        import bz2

        return bz2.BZ2File(handle, mode="rb")
    if head.startswith(_XZ):
        return lzma.LZMAFile(handle, mode="rb")
    return handle


def _normalize(name: str) -> str:
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InputError(
            f"archive member '{quote(name)}' climbs out of the archive ('..'); refusing the archive"
        )
    return "/".join(parts)


def _wanted(name: str) -> bool:
    slashed = "/" + name
    return f"{_MARK}/" in slashed or slashed.endswith("/" + CPUINFO)


class TarTree:
    """The kept files of an archive, answering the :class:`~rmpplan.sources.tree.Tree` protocol
    relative to the folder that holds ``sys/``."""

    def __init__(self, path: Path) -> None:
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = {""}
        self.symlinks: dict[str, str] = {}
        self.hardlinks: dict[str, str] = {}
        self._resolved: dict[str, str | None] = {}
        self._children: dict[str, set[str]] | None = None
        self.kept_bytes = 0
        try:
            with path.open("rb") as handle:
                self._load(handle)
        except FileNotFoundError:
            raise InputError("no such file") from None
        except IsADirectoryError:
            raise InputError("is a directory, not an archive") from None
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as err:
            raise InputError(f"truncated or corrupt archive: {_reason(err)}") from None
        self.prefix = self._find_prefix()

    # --- reading the archive ------------------------------------------------------------

    def _load(self, handle: IO[bytes]) -> None:
        stream = _Counted(_open_stream(handle))
        # "r|": one pass over a stream, never seeking back.
        with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]  # typeshed lacks the stream modes
            members = 0
            for member in archive:
                members += 1
                if members > MAX_MEMBERS:
                    raise InputError(f"archive has more than {MAX_MEMBERS} members; refusing it")
                self._add(archive, member)
            if members == 0:
                raise InputError("archive is empty")
            if stream.block_at(archive.offset) != bytes(_BLOCK):
                raise InputError("truncated archive: it ends without the end-of-archive block")
        while stream.read(1 << 16):  # the rest must decompress cleanly too
            pass

    def _add(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = _normalize(member.name)
        if member.isdir():
            self.dirs.add(name)
        elif member.issym():
            self.symlinks[name] = member.linkname
        elif member.islnk():
            self.hardlinks[name] = _normalize(member.linkname)
        elif member.isreg() and _wanted(name):
            self.kept_bytes += member.size
            if self.kept_bytes > MAX_KEPT_BYTES:
                raise InputError(
                    f"archive holds more than {MAX_KEPT_BYTES >> 20} MiB of sysfs text; refusing it"
                )
            extracted = archive.extractfile(member)
            data = extracted.read() if extracted is not None else b""
            if len(data) != member.size:
                raise InputError(f"truncated archive: member '{quote(name)}' is cut short")
            self.files[name] = data

    def _find_prefix(self) -> str:
        prefixes: set[str] = set()
        for name in (*self.files, *self.dirs, *self.symlinks, *self.hardlinks):
            slashed = f"/{name}/"
            at = slashed.find(f"{_MARK}/")
            if at >= 0:
                prefixes.add(slashed[1 : at + 1])
        if not prefixes:
            raise InputError(f"archive has no {CPU_DIR} folder")
        if len(prefixes) > 1:
            first, second = sorted(prefixes)[:2]
            raise InputError(
                f"archive holds more than one {CPU_DIR} tree ('{quote(first or '.')}' and "
                f"'{quote(second or '.')}'); pack one machine per archive"
            )
        return prefixes.pop()

    # --- resolving paths inside the archive ---------------------------------------------

    def _resolve(self, path: str) -> str | None:
        """``path`` with every symbolic link followed inside the archive; None if it escapes."""
        if not self.symlinks:
            return path
        if path in self._resolved:
            return self._resolved[path]
        pending = [part for part in reversed(path.split("/")) if part]
        done: list[str] = []
        hops = 0
        result: str | None = None
        while True:
            if not pending:
                result = "/".join(done)
                break
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if not done:
                    break  # above the archive's top
                done.pop()
                continue
            here = "/".join((*done, part))
            target = self.symlinks.get(here)
            if target is None:
                done.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS or target.startswith("/"):
                break  # a loop, or a link out of the archive: never followed
            pending.extend(part for part in reversed(target.split("/")) if part)
        self._resolved[path] = result
        return result

    def _real(self, rel: str) -> str | None:
        path = self._resolve(self.prefix + rel)
        hops = 0
        while path is not None and path in self.hardlinks and hops <= MAX_LINK_HOPS:
            path = self._resolve(self.hardlinks[path])
            hops += 1
        return path

    def read(self, rel: str) -> str | None:
        path = self._real(rel)
        data = self.files.get(path) if path is not None else None
        return None if data is None else decode(data)

    def _index(self) -> dict[str, set[str]]:
        if self._children is None:
            children: defaultdict[str, set[str]] = defaultdict(set)
            for name in (*self.files, *self.dirs, *self.symlinks, *self.hardlinks):
                path = name
                while path:
                    parent, _, leaf = path.rpartition("/")
                    children[parent].add(leaf)
                    path = parent
            self._children = dict(children)
        return self._children

    def listdir(self, rel: str) -> list[str] | None:
        path = self._real(rel)
        if path is None:
            return None
        names = self._index().get(path)
        if names is None:
            return [] if path in self.dirs else None
        return sorted(names)

    def isdir(self, rel: str) -> bool:
        path = self._real(rel)
        return path is not None and (path in self.dirs or path in self._index())


def _reason(err: BaseException) -> str:
    return quote(str(err) or type(err).__name__)


def read_tarball(path: Path, name: str, source: str | None = None) -> Machine:
    """The machine a sysfs dump tarball describes."""
    return read_sysfs_tree(TarTree(path), name, source)
