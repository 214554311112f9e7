"""GitHub Actions' job summary: the file named by ``GITHUB_STEP_SUMMARY``.

The runner creates that file for each step and shows its Markdown on the run's
page, refusing a step's summary larger than 1 MiB. rmpplan appends to it (other
commands of the same step may have written there first) and never replaces
it: it is the runner's file, not rmpplan's. Like every output, it is never
written through a link, into a FIFO or device, or over an input of the run.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from rmpplan.errors import InputError
from rmpplan.files import special_kind

ENVIRONMENT = "GITHUB_STEP_SUMMARY"
STEP_SUMMARY_MAX = 1 << 20
"""What GitHub keeps of one step's summary, in bytes; a larger one is dropped whole."""
MARGIN = 4096
"""Bytes left unused below :data:`STEP_SUMMARY_MAX`, for the runner's own accounting."""
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def target(environ: Mapping[str, str]) -> Path | None:
    """The summary file the environment names, or None (unset or empty)."""
    value = environ.get(ENVIRONMENT, "")
    return Path(value) if value else None


def _named(path: Path, why: str) -> InputError:
    return InputError(why, path=f"{ENVIRONMENT} {path}")


def _refusal(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a regular file"
    return f"is {special_kind(mode) or 'not a regular file'}, not a regular file"


def check(path: Path) -> None:
    """Refuse, before any work, a summary file that exists and is not a regular
    file (a link is refused too, not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise _named(path, f"cannot write: {err.strerror}") from None
    why = _refusal(mode)
    if why is not None:
        raise _named(path, why)


def append(path: Path, render: Callable[[int], str], inputs: Iterable[Path] = ()) -> None:
    """Append ``render(budget)`` to ``path``, ``budget`` being the bytes the step's
    summary still has room for; ``inputs`` are the files the run read, which the
    summary must not be. Every failure is an :class:`InputError` naming the file."""
    try:
        fd = os.open(path, _FLAGS, 0o666)
    except OSError as err:
        # O_NOFOLLOW: a link is ELOOP; O_NONBLOCK: a FIFO with no reader is ENXIO.
        if err.errno in (errno.ELOOP, errno.EMLINK):
            raise _named(path, "is a symbolic link, not a regular file") from None
        if err.errno == errno.ENXIO:
            raise _named(path, "is a FIFO (named pipe), not a regular file") from None
        raise _named(path, f"cannot write: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        why = _refusal(info.st_mode)
        if why is not None:
            raise _named(path, why)
        if any(_same(info, source) for source in inputs):
            raise _named(path, "is an input of this run; not written")
        budget = STEP_SUMMARY_MAX - MARGIN - info.st_size
        if budget <= MARGIN:
            raise _named(path, "already holds nearly 1 MiB, all GitHub keeps of a step's summary")
        data = render(budget).encode("utf-8", "replace")
        while data:
            data = data[os.write(fd, data) :]
    except OSError as err:
        raise _named(path, f"cannot write: {err.strerror}") from None
    finally:
        os.close(fd)


def _same(info: os.stat_result, source: Path) -> bool:
    try:
        other = source.stat()
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)
