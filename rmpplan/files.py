"""Reading input files with a size cap, and writing output files so that a
failure never leaves a user's file half-written."""

from __future__ import annotations

import os
import tempfile
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
    """Write ``text`` to ``path`` through a temporary file and a rename.

    An existing file is replaced only with ``force``; either way it is never
    truncated first, so an interrupted write leaves the old file whole.
    """
    if path.exists() and not force:
        raise InputError("already exists; give --force to replace it", path=str(path))
    if path.is_dir():
        raise InputError("is a directory", path=str(path))
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise InputError(f"cannot write here: {err.strerror}", path=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        staged = Path(temp)
        if path.exists():
            staged.chmod(path.stat().st_mode & 0o7777)
        else:
            # mkstemp makes 0600; a new file gets the permissions a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            staged.chmod(0o666 & ~umask)
        staged.replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
