"""A sysfs dump packed as ``.tar``, ``.tar.gz``, ``.tar.bz2`` or ``.tar.xz``, read in memory.

Nothing is unpacked to disk.  The archive is read once, as a stream, by a small tar
reader of its own (ustar, GNU long names, pax ``path``/``linkpath``/``size``) that
costs a few microseconds a member, where :mod:`tarfile` costs twenty:

- The file must be a regular file.  Compression is
  found from the first bytes (gzip, bzip2, xz, else plain tar) and undone by the
  standard library, which notices a stream cut short.
- What costs is bounded, not what is skipped: at most :data:`MAX_STREAM_BYTES` of
  uncompressed tar are inflated and walked (so at most one header per 512 of those
  bytes), each byte once, at the decompressor's own speed; members the reader does not
  need (caches, C-states, cpufreq, NUMA nodes: most of a full dump) are stepped over.
- What is kept is bounded: only what the sysfs reader reads (the folders down to
  ``…/sys/devices/system/cpu/``, the files in it, each ``cpuN/online`` and
  ``cpuN/topology/`` file it reads, ``…/proc/cpuinfo``), at most
  :data:`MAX_KEPT_MEMBERS` of them and :data:`MAX_KEPT_BYTES` in all, each file at most
  :func:`~rmpplan.sources.tree.file_cap` bytes (a bigger one is refused when read).
- A member name with a ``..`` component refuses the archive; a leading ``/`` is
  dropped, as GNU tar does.  A sparse member or a name longer than ``PATH_MAX`` refuses
  it too, and so does a bad header checksum: on every header of a plain tar; in a
  compressed one, whose CRC covers every byte, on the first header, the extended ones
  and every member kept (the members stepped over take a fast path that reads only
  their raw name, kind and size).
- The hot loop takes every plain member the buffer holds in a row, with no call a
  member; what a raw name means is remembered for the process, by the name and by its
  shape (every digit a 0: one dump's ``cpuN/cache/indexK`` names share a few shapes),
  so a fleet's dumps, and one dump's thousands of CPUs, classify each name once.
- Symbolic links resolve inside the archive only (:class:`~rmpplan.sources.tree.Links`):
  an absolute target, a ``..`` above the archive's top, or more than 40 links in a
  row refuse the path that needs them.  Hard links name an earlier member.  Devices
  and FIFOs are ignored.
- A tar that ends without its end-of-archive block, or whose member data runs past
  the end, is truncated: an :class:`InputError` naming the file.
- The ``sys/`` tree may sit below a top-level folder (``dump/sys/…``); two trees in
  one archive are refused.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import zlib
from array import array
from collections import defaultdict
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.files import MAX_FILE_BYTES, open_regular, os_error_text, size_text
from rmpplan.sources.sysfs import (
    CPU_DIR,
    CPUINFO,
    TOPOLOGY_FILES,
    read_sysfs_tree,
)
from rmpplan.sources.tree import Links, decode, file_cap, too_big
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.topology.machine import Machine

MAX_STREAM_BYTES = 2 << 30
"""Uncompressed tar inflated and walked.  A full dump (topology, caches, C-states,
cpufreq, nodes, cpuinfo: about 117 members a CPU) is 87 MB for 768 CPUs and 1.09 GB
for 8192, whose hex masks are 2.3 KB each (tests/sources/full_dump.py)."""
MAX_ARCHIVE_BYTES = {
    "tar": MAX_STREAM_BYTES,
    "gzip": MAX_FILE_BYTES,
    "xz": MAX_FILE_BYTES,
    "bzip2": MAX_FILE_BYTES,
}
"""The archive file, by compression.  Streamed, never held: the file's cost is inflating
and walking it, which the stream cap bounds; a real full dump of 8192 CPUs compresses to
a few MB."""
MAX_KEPT_MEMBERS = 24 * NR_CPUS_MAX
"""Members kept (folders, files and links the reader can need): about 10 a CPU, and the
links a real ``cpuN`` folder holds (``cpufreq``, ``nodeK``, ``subsystem``, ``driver``)."""
MAX_KEPT_BYTES = 64 << 20
"""The sysfs text and /proc/cpuinfo kept in memory, in all: two hex masks of 2.3 KB and
a cpuinfo block of about 1.5 KB a CPU at 8192 CPUs are about 50 MB."""
MAX_NAME_BYTES = 4096
"""PATH_MAX: the longest member name or link target (GNU long names, pax records)."""
MAX_PAX_BYTES = 1 << 20
"""A pax extended header: a few records, or extended attributes."""

_BLOCK = 512
_SIZES_KEPT = 4096
_ZERO = bytes(_BLOCK)
_READ = 1 << 20
_MARK = "/" + CPU_DIR
_INSIDE = _MARK + "/"
_CPUINFO_TAIL = "/" + CPUINFO
# The only lines of cpuinfo its reader can match (sysfs._CPUINFO_LINE), each with the
# newline before it.
_CPUINFO_READ = re.compile(rb"\n(?:processor|apicid)[^\n]*")
# The folders (or links) above the CPU folder and cpuinfo, the CPU folder, cpuinfo.
_ON_THE_WAY = ("/sys", "/sys/devices", "/sys/devices/system", _MARK, "/proc", "/" + CPUINFO)
_READ_FILES = frozenset(("online", *TOPOLOGY_FILES))
_INSIDE_BYTES = _INSIDE.encode()
_ON_THE_WAY_BYTES = tuple(path.encode() for path in _ON_THE_WAY)
_READ_FILES_BYTES = frozenset(name.encode() for name in _READ_FILES)
# Plain members the fast path reads: files, hard links, symlinks, folders, contiguous files.
_FAST_KINDS = frozenset(b"01257")
_HARDLINK, _SYMLINK, _FOLDER = b"125"
_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_USTAR = b"ustar\x0000"
_EXTENDED = frozenset(b"LKxg")
_GNU_NAME, _GNU_LINK, _PAX, _SPARSE = b"LKxS"
# Types whose data follows the header (tarfile's rule: regular files and unknown types).
_NO_DATA = frozenset(b"123456")
_REGULAR = frozenset(b"07\0")


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Stream:
    """The uncompressed tar stream in blocks, counted against its cap."""

    def __init__(self, raw: _Reader, cap: int) -> None:
        self.raw = raw
        self.cap = cap
        self.total = 0  # bytes taken from the decompressor
        self.offset = 0  # bytes handed out
        self._buf = b""
        self._pos = 0
        self.sizes: dict[bytes, int] = {}  # a header's size field → its value

    def _fill(self, want: int) -> bool:
        """Make ``want`` bytes available; False at the end of the stream."""
        while len(self._buf) - self._pos < want:
            chunk = self.raw.read(max(_READ, want))
            if not chunk:
                return False
            self.total += len(chunk)
            if self.total > self.cap:
                raise InputError(
                    f"archive expands to more than {size_text(self.cap)}; refusing it "
                    "(unpack it and give the folder)"
                )
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return True

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes, or fewer at the end of the stream."""
        pos = self._pos
        end = pos + size
        if end <= len(self._buf):  # the common case, kept cheap: a header in the buffer
            self._pos = end
            self.offset += size
            return self._buf[pos:end]
        self._fill(size)
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        self.offset += len(data)
        return data

    def unread(self, size: int = _BLOCK) -> None:
        """Give back the ``size`` bytes just taken (they are still in the buffer)."""
        self._pos -= size
        self.offset -= size

    def skip(self, size: int) -> bool:
        """Step over ``size`` bytes without keeping them; False when the stream ends first."""
        end = self._pos + size
        if end <= len(self._buf):  # the common case: a member's data in the buffer
            self._pos = end
            self.offset += size
            return True
        while size > 0:
            step = min(size, _READ)
            if not self._fill(step):
                left = len(self._buf) - self._pos
                self._pos += left
                self.offset += left
                return False
            self._pos += step
            self.offset += step
            size -= step
        return True

    def drain(self) -> None:
        """Read the rest: it must decompress cleanly (and within the cap) too."""
        self._buf = b""
        self._pos = 0
        while self._fill(_READ):
            self._buf = b""
            self._pos = 0


def _open_stream(handle: IO[bytes]) -> tuple[_Reader, str]:
    head = handle.read(6)
    handle.seek(0)
    if head.startswith(_GZIP):
        import gzip

        return gzip.GzipFile(fileobj=handle, mode="rb"), "gzip"
    if head.startswith(_BZIP2):
        import bz2

        return bz2.BZ2File(handle, mode="rb"), "bzip2"
    if head.startswith(_XZ):
        return lzma.LZMAFile(handle, mode="rb"), "xz"
    return handle, "tar"


def _normalize(name: str) -> str:
    if not (".." in name or "//" in name or "./" in name or name[:1] in "/." or name[-1:] in "/."):
        return name  # already plain: the common case, kept cheap
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InputError(
            f"archive member '{quote(name)}' climbs out of the archive ('..'); refusing the archive"
        )
    return "/".join(parts)


def _kept(name: str, kind: int) -> bool:
    """Whether the sysfs reader can need this member (a normalized name): a folder or
    link on the way down to the CPU folder or to cpuinfo; inside the CPU folder, its own
    entries, every link (a read may pass through it), ``topology`` folders, and files
    named as the reader's (``online``, the ``topology/`` files it reads) wherever a link
    may lead.  The rest of a full dump (caches, C-states, cpufreq) is stepped over."""
    slashed = "/" + name
    at = slashed.find(_INSIDE)
    if at < 0:
        return "/" not in name or slashed.endswith(_ON_THE_WAY)
    rel = slashed[at + len(_INSIDE) :]
    if "/" not in rel or kind == _SYMLINK:
        return True
    leaf = rel[rel.rfind("/") + 1 :]
    if kind == _FOLDER:
        return leaf == "topology"
    return leaf in _READ_FILES


def _keeps(name: bytes, kind: int) -> bool | None:
    """:func:`_kept` of a plain header's raw name, read as bytes (the markers are ASCII, so
    this is exact for any name ``surrogateescape`` decodes): the fast path of every member.
    A folder's one trailing slash (GNU tar's) is dropped first.  None when the name is not
    plain (``..``, ``//``, ``./``, a leading ``/`` or ``.``, a trailing ``.``): the full
    path then reads it, normalizes it, and refuses what a name may not hold."""
    if kind == _FOLDER and name.endswith(b"/"):
        name = name[:-1]
    if b".." in name or b"//" in name or b"./" in name or name[:1] in b"/." or name[-1:] in b"/.":
        return None
    slashed = b"/" + name
    at = slashed.find(_INSIDE_BYTES)
    if at < 0:
        return b"/" not in name or slashed.endswith(_ON_THE_WAY_BYTES)
    rel = slashed[at + len(_INSIDE_BYTES) :]
    cut = rel.rfind(b"/")
    if cut < 0 or kind == _SYMLINK:
        return True
    leaf = rel[cut + 1 :]
    if kind == _FOLDER:
        return leaf == b"topology"
    return leaf in _READ_FILES_BYTES


_PLAIN: dict[tuple[bytes, int], tuple[bool | None, str, int]] = {}
""":func:`_plain` of the names seen in this process: a fleet's dumps name the same paths."""
_SHAPES: dict[tuple[bytes, int], tuple[bool | None, int]] = {}
"""What a name means, by its shape (every digit a 0): one dump's ``cpuN/cache/indexK/…``
names differ only in their digits, and neither :func:`_keeps` nor :func:`_cap` looks at
a digit (none of the names they look for holds one: tests/test_fleet_cost.py)."""
_PLAIN_KEPT = 1 << 16
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _plain(raw: bytes, kind: int) -> tuple[bool | None, str, int]:
    """:func:`_keeps` of a plain header's raw name, the name decoded when kept (a folder's
    one trailing slash dropped), and the most a file of that name may hold, remembered in
    :data:`_PLAIN` and by the name's shape in :data:`_SHAPES`."""
    shape = raw.translate(_DIGITS_AS_ZERO)
    meant = _SHAPES.get((shape, kind))
    if meant is None:
        keep = _keeps(shape, kind)
        meant = keep, _cap(shape.decode("utf-8", "surrogateescape") if keep else "")
        if len(_SHAPES) >= _PLAIN_KEPT:
            _SHAPES.clear()
        _SHAPES[shape, kind] = meant
    keep, cap = meant
    name = raw[:-1] if kind == _FOLDER and raw.endswith(b"/") else raw
    known = keep, name.decode("utf-8", "surrogateescape") if keep else "", cap
    if len(_PLAIN) >= _PLAIN_KEPT:
        _PLAIN.clear()
    _PLAIN[raw, kind] = known
    return known


def _cap(name: str) -> int:
    """The most the file ``name`` (a normalized member name) may hold."""
    return file_cap(CPUINFO if name.endswith(CPUINFO) else name)


def _too_many_kept() -> InputError:
    return InputError(
        f"archive has more than {MAX_KEPT_MEMBERS} CPU topology entries, more than "
        f"{NR_CPUS_MAX} CPUs have; refusing it"
    )


def _too_much_kept() -> InputError:
    return InputError(
        f"archive holds more than {size_text(MAX_KEPT_BYTES)} of sysfs text; refusing it"
    )


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes, at: int) -> int:
    """A header's numeric field: octal digits (NUL/space padded) or GNU base-256."""
    if field[0] & 0x80:
        if field[0] == 0xFF:
            raise _corrupt("a negative size", at)
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip(b" ")
    if not digits:
        return 0
    if not digits.isdigit() or b"8" in digits or b"9" in digits:
        raise _corrupt("a size that is not octal", at)
    return int(digits, 8)


def _corrupt(what: str, at: int) -> InputError:
    return InputError(f"truncated or corrupt archive: {what} in the header at byte {at}")


def _byte_sum(block: bytes) -> int:
    """sum(block) for a 512-byte block, six times faster: Adler-32's low half is 1 + the
    byte sum mod 65521, exact for 256 bytes (at most 65280)."""
    return (zlib.adler32(block[:256]) & 0xFFFF) + (zlib.adler32(block[256:]) & 0xFFFF) - 2


def _checksum_ok(block: bytes) -> bool:
    field = block[148:156]
    stored = field.split(b"\0", 1)[0].strip(b" ")
    if not stored.isdigit():  # ASCII digits only, unlike int(), which takes "0_7"
        return False
    try:
        expected = int(stored, 8)
    except ValueError:  # an 8 or a 9
        return False
    if block.isascii():
        # Every byte under 128: the sum is under 65521, so one Adler-32 over the whole
        # block is exact (the hot loop of a big archive: every kept header).
        # ASCII only: the signed sum of old tars is the same.
        return (zlib.adler32(block) & 0xFFFF) - 1 - sum(field) + 256 == expected
    # _byte_sum inlined.
    unsigned = (
        (zlib.adler32(block[:256]) & 0xFFFF)
        + (zlib.adler32(block[256:]) & 0xFFFF)
        - 2
        - sum(field)
        + 256  # the field counts as 8 spaces
    )
    if unsigned == expected:
        return True
    # Some old tars summed signed chars.
    signed = unsigned - 256 * sum(1 for byte in block if byte > 127)
    signed += 256 * sum(1 for byte in block[148:156] if byte > 127)
    return signed == expected


def _pax(data: bytes, at: int) -> dict[str, str]:
    """The records of a pax extended header (``"<length> <key>=<value>\\n"``)."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 20)
        length_text = data[pos:space] if space > pos else b""
        if not length_text.isdigit():
            raise _corrupt("a malformed pax record", at)
        length = int(length_text)
        record = data[space + 1 : pos + length]
        if length <= 0 or pos + length > len(data) or not record.endswith(b"\n"):
            raise _corrupt("a malformed pax record", at)
        key, sep, value = record[:-1].partition(b"=")
        if not sep:
            raise _corrupt("a malformed pax record", at)
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


@dataclass(frozen=True, slots=True)
class _Member:
    """One member's header, its extended headers applied; ``size`` 0 when no data follows."""

    kind: int
    name: str
    link: str
    size: int


def _next_member(stream: _Stream, *, verify: bool) -> tuple[_Member, bytes, int] | None:
    """The next member, GNU long names and pax records applied, with its header block and
    where that starts; None at the end-of-archive block.  The hot loop of a big archive: a
    few microseconds a member.  Without ``verify`` the member's own checksum is left to
    the caller (extended headers and the first block are always checked)."""
    extended: dict[str, str] = {}
    while True:
        at = stream.offset
        block = stream.take(_BLOCK)
        if len(block) < _BLOCK:
            if at == 0 and not block:
                raise InputError("archive is empty")
            raise InputError("truncated archive: it ends without the end-of-archive block")
        if block == _ZERO:
            return None
        kind = block[156]
        if (verify or at == 0 or kind in _EXTENDED) and not _checksum_ok(block):
            raise _corrupt("a wrong checksum (not a tar archive?)", at)
        field = block[124:136]
        size = stream.sizes.get(field)  # sysfs files have a few sizes: parse each once
        if size is None:
            size = _number(field, at)
            if len(stream.sizes) < _SIZES_KEPT:
                stream.sizes[field] = size
        if kind not in _EXTENDED:
            break
        _read_extended(stream, kind, size, at, extended)
    if kind == _SPARSE:
        raise _corrupt("a sparse member (not in a sysfs dump)", at)
    name = block[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if block[257:265] == _USTAR and block[345]:
        name = _text(block[345:500]) + "/" + name
    link = _text(block[157:257]) if block[157] else ""
    if extended:
        name, link, size = _apply_extended(extended, name, link, size, at)
    return _Member(kind, name, link, 0 if kind in _NO_DATA else size), block, at


def _read_extended(
    stream: _Stream, kind: int, size: int, at: int, extended: dict[str, str]
) -> None:
    """Data that describes the next member: a GNU long name or link, or pax records."""
    if size > (MAX_PAX_BYTES if kind in b"xg" else MAX_NAME_BYTES):
        raise _corrupt(f"an extended header of {size} bytes", at)
    data = stream.take(size)
    if len(data) < size or not stream.skip(-size % _BLOCK):
        raise InputError("truncated archive: it ends inside an extended header")
    if kind == _GNU_NAME:
        extended["path"] = _text(data)
    elif kind == _GNU_LINK:
        extended["linkpath"] = _text(data)
    elif kind == _PAX:
        extended.update(_pax(data, at))


def _apply_extended(
    extended: dict[str, str], name: str, link: str, size: int, at: int
) -> tuple[str, str, int]:
    """The member's name, link and size once its extended headers say theirs."""
    if any(key.startswith("GNU.sparse") for key in extended):
        raise _corrupt("a sparse member (not in a sysfs dump)", at)
    if "size" in extended:
        if not extended["size"].isdigit() or len(extended["size"]) > 20:
            raise _corrupt("a pax size that is not a number", at)
        size = int(extended["size"])
    return extended.get("path", name), extended.get("linkpath", link), size


class TarTree:
    """The kept files of an archive, answering the :class:`~rmpplan.sources.tree.Tree` protocol
    relative to the folder that holds ``sys/``."""

    def __init__(self, path: Path) -> None:
        self.files: dict[str, bytes] = {}
        self.oversize: set[str] = set()
        self.dirs: set[str] = {""}
        self.symlinks: dict[str, str] = {}
        self.hardlinks: dict[str, str] = {}
        self._children: dict[str, list[str]] | None = None
        self._links = Links(self.symlinks.get)
        self.kept_bytes = 0
        self.kept = 0
        self.members = 0
        try:
            fd = open_regular(path)
        except OSError as err:
            raise InputError(os_error_text(err)) from None
        with os.fdopen(fd, "rb") as handle:
            try:
                self._load(handle, os.fstat(fd).st_size)
            except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as err:
                raise InputError(f"truncated or corrupt archive: {_reason(err)}") from None
        self.prefix = self._find_prefix()

    # --- reading the archive ------------------------------------------------------------

    def _load(self, handle: IO[bytes], size: int) -> None:
        raw, kind = _open_stream(handle)
        cap = MAX_ARCHIVE_BYTES[kind]
        if size > cap:
            what = "" if kind == "tar" else f" as {kind}"
            raise InputError(
                f"larger than {size_text(cap)}{what}; refusing it (unpack it and give the folder)"
            )
        stream = _Stream(raw, MAX_STREAM_BYTES)
        # gzip, bzip2 and xz check their own CRC over every byte, so a member stepped over
        # needs no header checksum of its own there; a member kept always has it checked,
        # and in a plain tar every member.
        verify = kind == "tar"
        while True:
            if self._fast(stream, verify) or self._fast_across(stream, verify):
                continue
            found = _next_member(stream, verify=verify)
            if found is None:
                break
            member, block, at = found
            self.members += 1
            skipping = self._add(stream, member, None if verify else (block, at))
            if skipping and not stream.skip(member.size + -member.size % _BLOCK):
                raise InputError(f"truncated archive: member '{quote(member.name)}' is cut short")
        stream.drain()

    def _fast(self, stream: _Stream, every: bool) -> bool:  # noqa: PLR0912, PLR0915  # one loop, no call a member
        """Plain ustar members (files, folders and links with a plain name and no prefix)
        taken from the buffer, as many in a row as it wholly holds: each stepped over (its
        checksum checked when ``every``: in a plain tar, which no CRC covers), or kept once
        its checksum is checked, with the same outcome as the full path; False when the
        first is not one of them (:meth:`_fast_across` or the full path then reads it).
        The hot loop of a dump, with the state in locals: one header parse a member and no
        call into the stream.  It keeps a member as :meth:`_keep` does, inline; the tests
        hold the two paths to one tree or one error (tests/test_fleet_cost.py)."""
        buf, pos = stream._buf, stream._pos
        if stream.offset == 0:
            return False  # the first header is always checked in full
        base = stream.offset - pos  # where buf[0] lies in the tar stream
        start = pos
        count = 0
        last = len(buf) - _BLOCK
        plain, sizes = _PLAIN, stream.sizes
        files, dirs, symlinks = self.files, self.dirs, self.symlinks
        kept, kept_bytes = self.kept, self.kept_bytes
        adler32 = zlib.adler32
        while pos <= last:
            kind = buf[pos + 156]
            if kind not in _FAST_KINDS or buf[pos + 345]:
                break
            cut = buf.find(0, pos, pos + 100)
            raw = buf[pos : cut if cut >= 0 else pos + 100]
            known = plain.get((raw, kind))
            if known is None:
                known = _plain(raw, kind)
            keep, name, cap = known
            if keep is None:
                break
            if keep or every:
                block = buf[pos : pos + _BLOCK]
                field = block[148:156]
                # The usual "%06o\0 " field of an ASCII header, compared as written (the
                # byte sums by Adler-32 are exact under 65521); anything else in full.
                if (
                    field != b"%06o\0 " % ((adler32(block) - adler32(field) + 256) & 0xFFFF)
                    or not block.isascii()
                ) and not _checksum_ok(block):
                    raise _corrupt("a wrong checksum (not a tar archive?)", base + pos)
            size = 0
            if kind not in _NO_DATA:
                field = buf[pos + 124 : pos + 136]
                size = sizes.get(field, -1)  # sysfs files have a few sizes: parse each once
                if size < 0:
                    size = _number(field, base + pos)
                    if len(sizes) < _SIZES_KEPT:
                        sizes[field] = size
            end = pos + _BLOCK + size + (-size % _BLOCK)
            if end > len(buf):
                break
            if keep:
                kept += 1
                if kept > MAX_KEPT_MEMBERS:
                    raise _too_many_kept()
                if kind == _FOLDER:
                    dirs.add(name)
                elif kind == _SYMLINK:
                    symlinks[name] = _text(buf[pos + 157 : pos + 257])
                elif kind == _HARDLINK:
                    self.hardlinks[name] = _normalize(_text(buf[pos + 157 : pos + 257]))
                elif size > cap:
                    self.oversize.add(name)
                else:
                    kept_bytes += size
                    if kept_bytes > MAX_KEPT_BYTES:
                        raise _too_much_kept()
                    files[name] = buf[pos + _BLOCK : pos + _BLOCK + size]
            pos = end
            count += 1
        self.members += count
        self.kept, self.kept_bytes = kept, kept_bytes
        stream._pos = pos
        stream.offset = base + pos
        return pos > start

    def _fast_across(self, stream: _Stream, every: bool) -> bool:
        """:meth:`_fast` for a member that the buffer does not wholly hold, through the stream."""
        if stream.offset == 0:
            return False
        block = stream.take(_BLOCK)
        kind = block[156] if len(block) == _BLOCK else -1
        if kind not in _FAST_KINDS or block[345]:
            stream.unread(len(block))
            return False
        raw = block[:100].split(b"\0", 1)[0]
        keep = _keeps(raw, kind)
        if keep is None:
            stream.unread(_BLOCK)
            return False
        if (keep or every) and not _checksum_ok(block):
            raise _corrupt("a wrong checksum (not a tar archive?)", stream.offset - _BLOCK)
        self.members += 1
        size = 0
        if kind not in _NO_DATA:
            size = _number(block[124:136], stream.offset - _BLOCK)
        if not keep:
            if size and not stream.skip(size + -size % _BLOCK):
                raise InputError("truncated archive: a member is cut short")
            return True
        if kind == _FOLDER and raw.endswith(b"/"):
            raw = raw[:-1]
        name = raw.decode("utf-8", "surrogateescape")
        link = _text(block[157:257]) if block[157] else ""
        self._take(stream, name, size, self._keep(kind, name, link, size))
        return True

    def _take(self, stream: _Stream, name: str, size: int, keep: bool) -> None:
        """Keep a file's data (``keep``) or step over it, and its padding."""
        if keep:
            data = stream.take(size)
            if len(data) == size:
                self.files[name] = data
            else:
                size = -1
        if size < 0 or not stream.skip((0 if keep else size) + -size % _BLOCK):
            raise InputError(f"truncated archive: member '{quote(name)}' is cut short")

    def _add(self, stream: _Stream, member: _Member, unchecked: tuple[bytes, int] | None) -> bool:
        """Record one member; True when its data is still to be skipped.  ``unchecked``: the
        header block (and where it starts) whose checksum is still to be checked, if kept."""
        kind_byte, name, link, size = member.kind, member.name, member.link, member.size
        regular = kind_byte in _REGULAR
        if regular and name.endswith("/"):  # V7 tar's folders
            kind_byte, regular = ord("5"), False
        name = _normalize(name)
        if len(name) > MAX_NAME_BYTES or len(link) > MAX_NAME_BYTES:
            raise InputError(
                f"archive member '{quote(name)}': a name or link longer than "
                f"{MAX_NAME_BYTES} bytes; refusing the archive"
            )
        if not _kept(name, kind_byte):
            return True
        if unchecked is not None and not _checksum_ok(unchecked[0]):
            raise _corrupt("a wrong checksum (not a tar archive?)", unchecked[1])
        if not self._keep(kind_byte, name, link, size):
            return True
        self._take(stream, name, size, keep=True)
        return False

    def _keep(self, kind_byte: int, name: str, link: str, size: int) -> bool:
        """Record one member the reader can need (a normalized name); True for a file whose
        data the caller is to keep under ``name`` (within every cap)."""
        self.kept += 1
        if self.kept > MAX_KEPT_MEMBERS:
            raise _too_many_kept()
        if kind_byte == ord("5"):
            self.dirs.add(name)
        elif kind_byte == ord("2"):
            self.symlinks[name] = link
        elif kind_byte == ord("1"):
            self.hardlinks[name] = _normalize(link)
        elif kind_byte in _REGULAR:
            if size > _cap(name):
                self.oversize.add(name)
                return False
            self.kept_bytes += size
            if self.kept_bytes > MAX_KEPT_BYTES:
                raise _too_much_kept()
            return True
        return False

    def _find_prefix(self) -> str:
        prefixes: set[str] = set()
        lead = ""  # the first prefix found, followed by the CPU folder's own path and "/"
        for name in (*self.files, *self.oversize, *self.dirs, *self.symlinks, *self.hardlinks):
            if lead and name.startswith(lead):
                continue  # the same first CPU folder, so the same prefix: one C call a name
            slashed = f"/{name}/"
            at = slashed.find(_INSIDE)
            if at >= 0:
                prefix = slashed[1 : at + 1]
                prefixes.add(prefix)
                lead = lead or prefix + _INSIDE[1:]
        if not prefixes:
            raise InputError(f"archive has no {CPU_DIR} folder")
        if len(prefixes) > 1:
            first, second = sorted(prefixes)[:2]
            raise InputError(
                f"archive holds more than one {CPU_DIR} tree ('{quote(first or '.')}' and "
                f"'{quote(second or '.')}'); pack one machine per archive"
            )
        return prefixes.pop()

    def content_key(self) -> str:
        """A digest of everything the sysfs reader can read here: every kept file, folder
        and link, where ``sys/`` sits, and of /proc/cpuinfo only the lines that start with
        ``processor`` or ``apicid`` (its reader matches nothing else), so a fleet's MHz
        lines do not part two hosts.  Two trees with one key describe one machine under
        any name.  When a link leads to ``proc`` or ``cpuinfo`` (cpuinfo could then be read
        as another file), cpuinfo is taken whole."""
        linked = (*self.symlinks.values(), *self.hardlinks.values())
        whole = any("proc" in target or "cpuinfo" in target for target in linked)
        files = self.files
        if not whole:
            files = dict(files)
            # endswith() alone first: one C call a name, for the thousands of sysfs files.
            for path in [path for path in files if path.endswith(CPUINFO)]:
                if path == CPUINFO or path.endswith(_CPUINFO_TAIL):
                    files[path] = b"".join(_CPUINFO_READ.findall(b"\n" + files[path]))
        digest = hashlib.blake2b(digest_size=32)  # 256 bits: no two dumps made to collide
        digest.update(
            repr(
                (
                    self.prefix,
                    whole,
                    sorted(self.dirs),
                    sorted(self.oversize),
                    sorted(self.symlinks.items()),
                    sorted(self.hardlinks.items()),
                    len(files),
                )
            ).encode()
        )
        # The files' names and lengths, then their bytes: no two trees give one stream.
        names = "\0".join(files)
        if names.count("\0") != max(len(files) - 1, 0):  # a name holds a NUL (pax): spelt out
            names = repr(list(files))
        digest.update(names.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(array("q", map(len, files.values())).tobytes())
        digest.update(b"".join(files.values()))
        return digest.hexdigest()

    # --- resolving paths inside the archive ---------------------------------------------

    def _real(self, rel: str) -> str:
        """``rel`` with every link followed inside the archive (hard links too)."""
        path = self._links.resolve(self.prefix + rel) if self.symlinks else self.prefix + rel
        hops = 0
        while path in self.hardlinks:
            hops += 1
            if hops > 40:
                raise InputError(f"{path}: more than 40 hard links in a row")
            target = self.hardlinks[path]
            path = self._links.resolve(target) if self.symlinks else target
        return path

    def read(self, rel: str) -> str | None:
        path = self._real(rel)
        if path in self.oversize:
            raise too_big(rel)
        data = self.files.get(path)
        return None if data is None else decode(data)

    def _index(self) -> dict[str, list[str]]:
        """Each folder's entries, a name perhaps more than once (a folder listed as a
        member and as the parent of others): lists, since a folder of one entry is the
        common case and a set of one costs three times the memory."""
        if self._children is None:
            children: defaultdict[str, list[str]] = defaultdict(list)
            folders = (name for name in self.dirs if name)  # not the top itself
            for name in (*self.files, *self.oversize, *folders, *self.symlinks, *self.hardlinks):
                parent, _, leaf = name.rpartition("/")
                children[parent].append(leaf)
            # Each folder holding entries is an entry of its own parent, up to the top.
            pending = [path for path in children if path]
            while pending:
                parent, _, leaf = pending.pop().rpartition("/")
                if parent and parent not in children:
                    pending.append(parent)
                children[parent].append(leaf)
            self._children = dict(children)
        return self._children

    def listdir(self, rel: str) -> list[str] | None:
        path = self._real(rel)
        names = self._index().get(path)
        if names is None:
            return [] if path in self.dirs else None
        return sorted(set(names))

    def isdir(self, rel: str) -> bool:
        path = self._real(rel)
        return path in self.dirs or path in self._index()


def _reason(err: BaseException) -> str:
    return quote(str(err) or type(err).__name__)


def read_tarball(path: Path, name: str, source: str | None = None) -> Machine:
    """The machine a sysfs dump tarball describes."""
    return read_sysfs_tree(TarTree(path), name, source)
