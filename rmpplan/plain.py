"""Plain data, typed: what the YAML and JSON readers build and what the writers take.

:data:`PlainValue` is what :mod:`rmpplan.topology.parse` returns: JSON's values, and
mappings keyed by any scalar, because YAML may key one by a number (``1: x``) and a
message must name that key as written. :data:`JSONValue` is what rmpplan writes (a
topology document, a JSON report): string keys, and read-only containers, so that a
``list[str]`` or a tuple is one without a copy. Readers narrow a value with the
``expect_*`` helpers (or ``isinstance``) before using it; neither type holds ``Any``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

from rmpplan.errors import InputError

# Strings, not expressions: Python 3.11 evaluates an alias at run time, before the
# name it refers to exists; mypy reads each string as the recursive type it spells.
Scalar: TypeAlias = "bool | int | float | str | None"
PlainValue: TypeAlias = "Scalar | list[PlainValue] | dict[Scalar, PlainValue]"
PlainList: TypeAlias = "list[PlainValue]"
PlainMap: TypeAlias = "dict[Scalar, PlainValue]"
JSONValue: TypeAlias = "Scalar | Sequence[JSONValue] | Mapping[str, JSONValue]"


def expect_map(value: PlainValue, problem: str, line: int | None = None) -> PlainMap:
    """``value`` when it is a mapping; otherwise an :class:`InputError` saying ``problem``
    (which names where the mapping was expected)."""
    if isinstance(value, dict):
        return value
    raise InputError(problem, line=line)


def expect_list(value: PlainValue, problem: str, line: int | None = None) -> PlainList:
    """``value`` when it is a list, else :class:`InputError` (``problem``)."""
    if isinstance(value, list):
        return value
    raise InputError(problem, line=line)


def expect_str(value: PlainValue, problem: str, line: int | None = None) -> str:
    """``value`` when it is a string, else :class:`InputError` (``problem``)."""
    if isinstance(value, str):
        return value
    raise InputError(problem, line=line)


def expect_int(value: PlainValue, problem: str, line: int | None = None) -> int:
    """``value`` when it is an integer (``true`` is a bool here, not 1), else
    :class:`InputError` (``problem``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InputError(problem, line=line)
