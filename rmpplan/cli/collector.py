"""The garbage collector during one command.

A command is a short-lived process that builds one large, acyclic object
graph (a machine, a plan, a report) and exits. The cyclic collector finds
nothing to free in it, yet walks all of it again and again as it grows: 10 to
60 % of a run (docs/performance.md). So automatic collection is paused while
a command runs; reference counting still frees everything as usual, and a
long ``verify`` collects its young generation itself every few hundred inputs
(``rmpplan.fleet.COLLECT_EVERY``).

When the command ends, the caller's setting is restored: a caller that runs
commands in its own process (tests, ``CliRunner``, the API) keeps collecting
everything made afterwards. Only the console entry point, whose process ends
next, freezes what is still alive (:func:`rmpplan.cli.main.entry`): the
interpreter's last collection at exit then has nothing to walk, which saves
about 80 ms of a 390 ms ``plan``.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with automatic garbage collection off."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return wrapper
