"""How text meant for people names a parameter of the core.

The core knows its parameters by its own names (``rule``, ``kernel``,
``offline_after_setup``), not how an edge spells them: the command line by its
flags (``--rule``), the API by its arguments (``rule``). A note or message that
names one calls :func:`named`; the edge running the core chooses the spelling with
:func:`naming`, as it renames a :class:`~rmpplan.errors.ParameterError`. Unset, a
parameter is named as the core names it.

A context variable rather than an argument of every function: such text is made
deep in the checks (the landed kernel's note, a branch's smallest scenario), far
from the edge, and a process of a fleet sets it once from the names it was sent
(:func:`names_from`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeAlias

__all__ = ["Naming", "named", "names_from", "naming"]

Naming: TypeAlias = Callable[[str], str]
"""An edge's spelling of a core parameter's name."""


def _as_is(param: str) -> str:
    return param


_NAMING: ContextVar[Naming] = ContextVar("naming", default=_as_is)


def named(param: str) -> str:
    """``param`` as the edge running the core names it (``--rule``, or ``rule``)."""
    return _NAMING.get()(param)


@contextmanager
def naming(spelling: Naming) -> Iterator[None]:
    """Name every parameter with ``spelling`` inside the block."""
    token = _NAMING.set(spelling)
    try:
        yield
    finally:
        _NAMING.reset(token)


def names_from(pairs: tuple[tuple[str, str], ...]) -> Naming:
    """The spelling ``pairs`` (parameter, name) give, the current one for any other:
    how a fleet's process names what its caller sent it names for."""
    given = dict(pairs)
    current = _NAMING.get()
    return lambda param: given.get(param) or current(param)
