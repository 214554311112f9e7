"""Reading input files with a size cap, and writing output files so that a
failure never leaves a user's file half-written."""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rmpplan.errors import InputError

MAX_FILE_BYTES = 64 << 20
"""No topology description is near this; a bigger input is a mistake or an attack."""
_CHUNK = 1 << 16


def read_capped(fd: int, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """All of an open file, or None when it holds more than ``limit`` bytes."""
    chunks = []
    size = 0
    while chunk := os.read(fd, _CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def read_file_bytes(path: Path) -> bytes:
    """A whole input file, at most :data:`MAX_FILE_BYTES`; failures name the file."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            raw = read_capped(fd)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path=str(path)) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=str(path)) from None
    if raw is None:
        raise InputError(f"larger than {MAX_FILE_BYTES >> 20} MiB", path=str(path))
    return raw


def write_atomic(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it.

    Without ``force`` the temporary file is hard-linked to ``path``, which fails
    if ``path`` exists, so that two writers never both succeed; with ``force``
    it is renamed over ``path``. Either way the old file is never truncated
    first, and SIGINT or SIGTERM during the write leaves no temporary file:
    they are held until it is committed or removed, then delivered.
    """
    if path.exists() and not force:
        raise InputError("already exists; give --force to replace it", path=str(path))
    if path.is_dir():
        raise InputError("is a directory", path=str(path))
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
    if force:
        staged.replace(path)
        return
    try:
        os.link(staged, path)
    except FileExistsError:
        raise InputError("already exists; give --force to replace it", path=str(path)) from None
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
    to replace; other threads never see KeyboardInterrupt anyway."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: object) -> None:
        held.append(signum)

    previous = {number: signal.signal(number, hold) for number in _HELD}
    try:
        yield held
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])
