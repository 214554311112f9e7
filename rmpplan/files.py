"""Reading input files safely, and writing output files so that a failure never
leaves a user's file half-written.

Every input is opened the same way: without blocking (a FIFO with no writer
would otherwise hang the open), then checked with ``fstat`` to be a regular file
before a byte is read, and read with a cap, never by its reported size (sysfs
reports 4096 bytes and procfs 0, whatever they hold). A file larger than its cap
is refused from its size alone when the size is known. docs/security.md lists
the caps and their reasons.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rmpplan.errors import InputError
from rmpplan.naming import named

MAX_FILE_BYTES = 64 << 20
"""The most rmpplan reads of any one file (a saved kernel log, a dump tarball).
Readers of smaller things pass their own, smaller cap."""
_CHUNK = 1 << 16
_PAGE = 4096
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
# What a special file is, for "is a FIFO, not a regular file".
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def size_text(size: int) -> str:
    """A byte count for a message: ``64 MiB``, ``64 KiB``, ``512 bytes``."""
    for shift, unit in ((20, "MiB"), (10, "KiB")):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def special_kind(mode: int) -> str | None:
    """What a file that is neither regular nor a folder is, or None."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None


def not_regular(mode: int) -> str | None:
    """Why a file of this mode cannot be read as input, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    return f"is {special_kind(mode) or 'not a regular file'}, not a regular file"


def open_regular(path: str | Path, *, dir_fd: int | None = None, follow: bool = True) -> int:
    """An fd open for reading on a regular file; anything else raises :class:`InputError`.

    ``stat`` comes first so that a device or FIFO is never opened at all; the open
    itself does not block and ``fstat`` checks again what was actually opened.
    Without ``follow`` a symbolic link as the last component is refused (ELOOP).
    """
    flags = _OPEN_FLAGS | (0 if follow else os.O_NOFOLLOW)
    why = not_regular(os.stat(path, dir_fd=dir_fd, follow_symlinks=follow).st_mode)
    if why is not None:
        raise InputError(why)
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        why = not_regular(os.fstat(fd).st_mode)
        if why is not None:
            raise InputError(why)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_capped(fd: int, limit: int = MAX_FILE_BYTES, size: int | None = None) -> bytes | None:
    """All of an open file, or None when it holds more than ``limit`` bytes.

    A regular file is read in one call of its size plus one (no second copy of a
    large file); a file that reports a wrong size (sysfs, procfs) is read on in
    chunks until its end, never past ``limit + 1`` bytes.  ``size`` is the file's
    ``st_size`` when the caller has just looked.
    """
    if size is None:
        size = os.fstat(fd).st_size
    if size > limit:
        return None
    want = min(size + 1 if size else _CHUNK, limit + 1)
    first = os.read(fd, want)
    # Fewer bytes than asked, and than a page, from a file with a size: its end (a
    # sysfs binary attribute returns at most a page a read, procfs files say size 0).
    if size and len(first) < want and len(first) < _PAGE:
        return first
    chunks = [first]
    total = len(first)
    while total <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - total))):
        total += len(chunk)
        chunks.append(chunk)
    if total > limit:
        return None
    return first if len(chunks) == 1 else b"".join(chunks)


def read_file_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A whole input file, at most ``limit`` bytes; failures name the file."""
    try:
        fd = open_regular(path)
        try:
            raw = read_capped(fd, limit)
        finally:
            os.close(fd)
    except InputError as err:
        raise err.located(str(path)) from None
    except OSError as err:
        raise InputError(os_error_text(err), path=str(path)) from None
    if raw is None:
        raise InputError(f"larger than {size_text(limit)}", path=str(path))
    return raw


def os_error_text(err: OSError) -> str:
    """An OSError as the tail of a one-line message about the file it names."""
    if err.errno == errno.ENOENT:
        return "no such file"
    if err.errno == errno.EISDIR:
        return "is a directory, not a file"
    if err.errno == errno.ENXIO:  # opening a socket
        return "is a socket, not a regular file"
    return f"cannot read: {err.strerror}"


# The parts of a sysfs root (a dump folder, or /) that the readers open.
_DUMP_PARTS = ("sys", "proc")


def check_output(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse, before any work, an output file whose writing could destroy something.

    An existing ``path`` must be a regular file: a symbolic link (``/dev/stdout``
    is one) is never followed, and a FIFO, socket or device is never replaced by
    a file. It must not be one of ``inputs`` (the same file, by device and inode,
    however it is spelled or linked), nor lie inside the ``sys`` or ``proc``
    part of an input that is a sysfs root. Raises :class:`InputError` naming
    ``path``.
    """
    info = _lstat(path)
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise InputError(
                "is a symbolic link; rmpplan never writes through a link (name a regular "
                "file, or the file the link points to)",
                path=str(path),
            )
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a directory, not a file", path=str(path))
        if not stat.S_ISREG(info.st_mode):
            kind = special_kind(info.st_mode) or "not a regular file"
            raise InputError(
                f"is {kind}; rmpplan writes only regular files, and never replaces another "
                "kind of file",
                path=str(path),
            )
    where = os.path.realpath(path)
    for given in inputs:
        try:
            seen = given.stat()
        except OSError:
            continue  # a missing input is its loader's to report
        if stat.S_ISDIR(seen.st_mode):
            inside = [os.path.realpath(given / part) for part in _DUMP_PARTS]
            if any(where.startswith(folder + os.sep) for folder in inside):
                raise InputError(
                    f"is inside the dump '{given}' that this run reads; write it elsewhere",
                    path=str(path),
                )
        elif info is not None and (seen.st_dev, seen.st_ino) == (info.st_dev, info.st_ino):
            same = "" if os.path.normpath(given) == os.path.normpath(path) else f" ('{given}')"
            raise InputError(
                f"is an input of this run{same}; rmpplan never writes over its inputs",
                path=str(path),
            )


def _lstat(path: Path) -> os.stat_result | None:
    """``path``'s own status (a link's, not its target's), None when it does not exist."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror}", path=str(path)) from None


def write_atomic(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it.

    Without ``force`` the temporary file is hard-linked to ``path``, which fails
    if ``path`` exists, so that two writers never both succeed; with ``force``
    it is renamed over ``path``. Either way the old file is never truncated
    first, and SIGINT or SIGTERM during the write leaves no temporary file:
    they are held until it is committed or removed, then delivered. A link or
    a file that is not regular is refused (:func:`check_output`), again just
    before the rename, so one put there meanwhile is not replaced either.
    """
    check_output(path)
    if _lstat(path) is not None and not force:
        raise InputError(f"already exists; give {named('force')} to replace it", path=str(path))
    directory = path.parent if str(path.parent) else Path()
    written = False
    with _signals_held() as held:
        try:
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        except OSError as err:
            raise InputError(f"cannot write here: {err.strerror}", path=str(path)) from None
        staged = Path(temp)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            staged.chmod(_mode(path, force))
            if not held:
                _commit(staged, path, force)
                written = True
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=str(path)) from None
        finally:
            staged.unlink(missing_ok=True)
    if not written:  # a signal came, and its handler returned: say so
        raise InputError("interrupted; not written", path=str(path))


def _mode(path: Path, force: bool) -> int:
    """The permissions of the file replaced, or those a plain open() would give."""
    if force:
        try:
            return path.stat().st_mode & 0o7777
        except FileNotFoundError:
            pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _commit(staged: Path, path: Path, force: bool) -> None:
    check_output(path)
    if force:
        staged.replace(path)
        return
    try:
        os.link(staged, path)
    except FileExistsError:
        raise InputError(
            f"already exists; give {named('force')} to replace it", path=str(path)
        ) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # No hard links here (FAT, some network file systems): claim the name, then fill it.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        staged.replace(path)


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM recorded instead of acted on inside the block, then
    delivered again to the handlers they had. Only the main thread has handlers
    to replace; other threads never see KeyboardInterrupt anyway. A signal the
    process ignores (started by nohup, or in the background of a script) stays
    ignored: holding it would make it interrupt the write."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: object) -> None:
        held.append(signum)

    previous = {
        number: signal.signal(number, hold)
        for number in _HELD
        if signal.getsignal(number) is not signal.SIG_IGN
    }
    try:
        yield held
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])
