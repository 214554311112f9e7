"""``verify``'s configuration: ``[tool.rmpplan]`` in the nearest pyproject.toml,
or an ``rmpplan.toml`` (the same keys at its top level).

The file is searched for from the current directory upwards; in each folder
``rmpplan.toml`` comes first, and a pyproject.toml without ``[tool.rmpplan]``
is passed over, as ruff and mypy do. Keys are checked strictly: an unknown key
or a wrong value is one error naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import TypeVar

from rmpplan.errors import InputError, quote
from rmpplan.files import read_file_bytes
from rmpplan.terms import Check, Kernel, Rule, Strategy

CONFIG_FILES = ("rmpplan.toml", "pyproject.toml")
"""The names looked for in each folder, in order."""

_KEYS = ("paths", "kernel", "rule", "strategy", "expect")
E = TypeVar("E", Rule, Strategy, Check, Kernel)


@dataclass(frozen=True, slots=True)
class Expectation:
    """Inputs matching ``pattern`` are expected to fail ``checks``."""

    pattern: str
    """A file, a folder (everything below it) or a glob, relative to the config file's folder."""
    checks: frozenset[Check]

    def matches(self, relative: PurePosixPath) -> bool:
        """Whether the input at ``relative`` (to the config folder) or a folder above it matches."""
        pattern = PurePosixPath(self.pattern).parts
        parts = relative.parts
        return any(_match(pattern, parts[:end]) for end in range(len(parts), 0, -1))


@dataclass(frozen=True, slots=True)
class Config:
    """What a configuration file says; unset keys are None or empty."""

    path: Path
    """The file it was read from, absolute."""
    paths: tuple[Path, ...] = ()
    """The inputs to check when none is given, absolute."""
    rule: Rule | None = None
    strategy: Strategy | None = None
    expect: tuple[Expectation, ...] = ()
    kernel: Kernel | None = None

    def expected(self, target: Path) -> frozenset[Check]:
        """The checks ``target`` (relative to the current directory, or absolute) is
        expected to fail: the union over every expectation that matches it."""
        absolute = Path(os.path.normpath(Path.cwd() / target))
        relative = PurePosixPath(Path(os.path.relpath(absolute, self.path.parent)).as_posix())
        found: set[Check] = set()
        for expectation in self.expect:
            if expectation.matches(relative):
                found |= expectation.checks
        return frozenset(found)


def _match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Glob ``pattern`` against path segments: ``*``, ``?`` and ``[...]`` within
    one segment, ``**`` across any number of them."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, parts[start:]) for start in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match(rest, parts[1:])


def discover_config(start: Path | None = None) -> Config | None:
    """The configuration that applies in ``start`` (default: the current
    directory): the nearest file upwards, or None."""
    folder = Path.cwd() if start is None else start.absolute()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if not path.is_file():
                continue
            document = _read(path)
            if name == "rmpplan.toml":
                return _parse(path, document, "")
            tool = document.get("tool")
            if isinstance(tool, dict) and "rmpplan" in tool:
                return _parse(path, tool["rmpplan"], "tool.rmpplan")
    return None


def _read(path: Path) -> dict[str, object]:
    shown = os.path.relpath(path)
    try:
        return tomllib.loads(read_file_bytes(path).decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=shown) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"TOML syntax error: {err}", path=shown) from None
    except InputError as err:
        raise err.located(shown) from None


def _parse(path: Path, table: object, prefix: str) -> Config:
    try:
        return _config(path, table, prefix)
    except InputError as err:
        raise err.located(os.path.relpath(path)) from None


def _config(path: Path, table: object, prefix: str) -> Config:
    def key(name: str) -> str:
        return f"[{prefix}] {name}" if prefix else name

    if not isinstance(table, dict):
        raise InputError(f"[{prefix}]: must be a table")  # a whole file always is one

    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        known = ", ".join(_KEYS)
        raise InputError(f"{key(quote(unknown[0]))}: unknown key (known: {known})")
    root = path.parent
    paths = tuple(root / item for item in _strings(table.get("paths", []), key("paths")))
    rule = _member(Rule, table["rule"], key("rule")) if "rule" in table else None
    strategy = (
        _member(Strategy, table["strategy"], key("strategy")) if "strategy" in table else None
    )
    kernel = _member(Kernel, table["kernel"], key("kernel")) if "kernel" in table else None
    expect = _expectations(table.get("expect", {}), prefix)
    return Config(path, paths, rule, strategy, expect, kernel)


def _expectations(table: object, prefix: str) -> tuple[Expectation, ...]:
    where = f"[{prefix}.expect]" if prefix else "[expect]"
    if not isinstance(table, dict):
        raise InputError(f"{where}: must be a table of paths or globs to lists of check names")
    expectations = []
    for pattern, checks in table.items():
        key = f"{where} {quote(repr(pattern))}"
        if not pattern or PurePosixPath(pattern).is_absolute() or "\\" in pattern:
            raise InputError(f"{key}: a path or glob relative to this file, with / between parts")
        names = _strings(checks, key)
        if not names:
            raise InputError(f"{key}: name the checks it is expected to fail")
        expectations.append(
            Expectation(pattern, frozenset(_member(Check, name, key) for name in names))
        )
    return tuple(expectations)


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InputError(f"{key}: must be a list of non-empty strings")
    return value


def _member(enum: type[E], value: object, key: str) -> E:
    names = [member.value for member in enum]
    if not isinstance(value, str) or value not in names:
        shown = quote(repr(value))
        raise InputError(f"{key}: {shown} is not one of {', '.join(names)}")
    return enum(value)
