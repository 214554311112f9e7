"""Standard output and error whose reader may leave (``rmpplan … | head``).

A reader that leaves early is not an error of rmpplan's: nothing more is written
to that stream, it is pointed at /dev/null so that the text Python still holds
is not flushed into the closed pipe at exit (the advice of Python's ``signal``
docs, "Note on SIGPIPE"), and the command goes on to its own exit code. The
state is per invocation: :func:`reset` starts each one afresh.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Literal

import click

Stream = Literal["stdout", "stderr"]

_LEFT: set[Stream] = set()


def reset() -> None:
    """A new invocation: both readers are there until a write finds otherwise."""
    _LEFT.clear()


def has_left(stream: Stream) -> bool:
    return stream in _LEFT


def reader_left(stream: Stream) -> None:
    """The reader of ``stream`` left: write no more there."""
    _LEFT.add(stream)
    drop(sys.stdout if stream == "stdout" else sys.stderr)


def drop(stream: IO[str] | None) -> None:
    """Point a standard stream at /dev/null, so that the text still buffered is
    not written again, and fails again, when Python exits."""
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def say(line: str) -> None:
    """One line on stderr; a reader of stderr that left is not an error either."""
    if "stderr" in _LEFT:
        return
    try:
        click.echo(line, err=True)
    except BrokenPipeError:
        reader_left("stderr")
