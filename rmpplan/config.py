"""``verify``'s configuration: ``[tool.rmpplan]`` in a pyproject.toml, or an
``rmpplan.toml`` (the same keys at its top level).

The file is found as black and ruff find a project's: from the current
directory upwards, ``rmpplan.toml`` before ``pyproject.toml`` in each folder.
The search ends at the first pyproject.toml, whatever it holds (that folder
is the project), and at a folder holding ``.git`` (the repository's root);
nothing above a project applies to it. ``--config FILE`` names the file
instead. A file found by the search is refused (never silently used or
skipped) where someone else could have put it: see :func:`discover_config`.

Everything a configuration names stays inside its folder: ``paths`` and
``expect`` patterns are relative, without ``..``, and a path may not lead out
through a symbolic link. Keys are checked strictly: an unknown key, a wrong
value or a list over its cap is one error naming the file and the key.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TypeVar

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.files import read_file_bytes, size_text
from rmpplan.naming import named
from rmpplan.terms import Check, Kernel, Rule, Strategy

CONFIG_FILES = ("rmpplan.toml", "pyproject.toml")
"""The names looked for in each folder, in order."""

MAX_CONFIG_BYTES = 1 << 20
"""The largest configuration file read: a pyproject.toml is a few KiB."""
MAX_PATHS = 1000
"""The most entries of ``paths``: list folders, not every file in them."""
MAX_EXPECT = 1000
"""The most entries of ``expect``: a glob covers many files."""
MAX_PATTERN_CHARS = 1024
"""The longest ``expect`` pattern, in characters."""
MAX_PATTERN_PARTS = 32
"""The most ``/``-separated parts of an ``expect`` pattern."""
MAX_EXPECT_PARTS = 2048
"""The most parts of the ``expect`` patterns holding ``**``, together. Matching one
path segment costs a pattern without ``**`` one step, and one with it at most a
step for each of its parts: an input costs at most (patterns + this) steps a segment."""

_KEYS = ("paths", "kernel", "rule", "strategy", "expect")
_SYSFS_CPU = Path("sys", "devices", "system", "cpu")
E = TypeVar("E", Rule, Strategy, Check, Kernel)


@dataclass(frozen=True, slots=True)
class Expectation:
    """Inputs matching ``pattern`` are expected to fail ``checks``."""

    pattern: str
    """A file, a folder (everything below it) or a glob, relative to the config file's folder."""
    checks: frozenset[Check]

    def matches(self, relative: PurePosixPath) -> bool:
        """Whether the input at ``relative`` (to the config folder) or a folder above it matches."""
        return _match(self.pattern, relative.parts)


@dataclass(frozen=True, slots=True)
class Config:
    """What a configuration file says; unset keys are None or empty."""

    path: Path
    """The file it was read from, absolute."""
    paths: tuple[Path, ...] = ()
    """The inputs to check when none is given, absolute, inside the file's folder."""
    rule: Rule | None = None
    strategy: Strategy | None = None
    expect: tuple[Expectation, ...] = ()
    kernel: Kernel | None = None

    def contains(self, target: Path) -> bool:
        """Whether ``target`` (relative to the current directory, or absolute) lies
        inside the configuration's folder, as spelled and after every link is followed."""
        return _inside(self.path.parent, Path.cwd() / target)

    def expected(self, target: Path) -> frozenset[Check]:
        """The checks ``target`` (relative to the current directory, or absolute) is
        expected to fail: the union over every expectation that matches it. Nothing
        outside the configuration's folder is expected to fail anything."""
        if not self.expect or not self.contains(target):
            return frozenset()
        absolute = Path(os.path.normpath(Path.cwd() / target))
        relative = PurePosixPath(Path(os.path.relpath(absolute, self.path.parent)).as_posix())
        found: set[Check] = set()
        for expectation in self.expect:
            if expectation.matches(relative):
                found |= expectation.checks
        return frozenset(found)


def _inside(root: Path, target: Path) -> bool:
    """Whether ``target`` is ``root`` or below it, both as written and resolved."""
    spelled = Path(os.path.normpath(target))
    if not spelled.is_relative_to(os.path.normpath(root)):
        return False
    try:
        return target.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links leads nowhere inside
        return False


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A pattern as an automaton: one position a segment, bit ``i`` of a state set
    meaning "the first ``i`` segments matched"."""

    segments: tuple[str, ...]
    stars: int
    """The positions holding ``**``, as bits."""
    any_part: int
    """The positions holding ``*``, which match any one segment, as bits."""
    literal: int
    """The positions holding a plain name, compared as a string, as bits."""


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> _Compiled:
    """``pattern``'s automaton; runs of ``**`` collapse into one (they match the same)."""
    segments: list[str] = []
    for part in PurePosixPath(pattern).parts:
        if part != "**" or not segments or segments[-1] != "**":
            segments.append(part)
    stars = any_part = literal = 0
    for index, segment in enumerate(segments):
        if segment == "**":
            stars |= 1 << index
        elif segment == "*":
            any_part |= 1 << index
        elif not any(char in segment for char in "*?["):
            literal |= 1 << index
    return _Compiled(tuple(segments), stars, any_part, literal)


def _match(pattern: str, parts: Sequence[str]) -> bool:
    """Whether ``pattern`` matches ``parts`` or a leading part of them (a folder
    matches what is below it). ``*``, ``?`` and ``[...]`` match within one segment,
    ``**`` any number of segments.

    The pattern runs as an automaton over the segments, keeping the set of
    positions reached: each step costs at most the positions alive, so a match
    takes at most pattern length x path length steps, never the exponential
    backtracking of trying each split of ``**``. Only a ``**`` keeps a position
    alive without matching, so a pattern without one is dropped at its first
    mismatch. The files of one folder share the steps through the folder.
    """
    if not parts:
        return False
    states, matched = _through(pattern, tuple(parts[:-1]))
    if matched or not states:
        return matched
    compiled = _compiled(pattern)
    return bool(_step(compiled, states, parts[-1]) >> len(compiled.segments))


@lru_cache(maxsize=1 << 16)
def _through(pattern: str, folder: tuple[str, ...]) -> tuple[int, bool]:
    """The positions ``pattern`` reaches after the segments of ``folder``, and
    whether it matched the folder or one above it already (then no positions)."""
    compiled = _compiled(pattern)
    accept = 1 << len(compiled.segments)
    states = 1 | (compiled.stars & 1) << 1  # a leading ** may match no segment
    for part in folder:
        states = _step(compiled, states, part)
        if states & accept:
            return 0, True
        if not states:
            break
    return states, False


def _step(compiled: _Compiled, states: int, part: str) -> int:
    """The positions reached from ``states`` by matching one segment, ``part``."""
    segments, stars = compiled.segments, compiled.stars
    reached = states & stars  # ** takes this segment and stays
    pending = states & ~stars & ((1 << len(segments)) - 1)
    while pending:
        bit = pending & -pending
        pending ^= bit
        if bit & compiled.any_part:
            reached |= bit << 1
        elif bit & compiled.literal:
            if part == segments[bit.bit_length() - 1]:
                reached |= bit << 1
        elif fnmatchcase(part, segments[bit.bit_length() - 1]):
            reached |= bit << 1
    return reached | (reached & stars) << 1  # ** may also match nothing


def discover_config(start: Path | None = None) -> Config | None:
    """The configuration that applies in ``start`` (default: the current
    directory), or None.

    Upwards from ``start``, the first ``rmpplan.toml``, or the first
    ``pyproject.toml`` (its ``[tool.rmpplan]``, or None without one); a folder
    holding ``.git`` is the last one looked in. A file found is refused
    (:class:`InputError`) when another user may have put it there: a folder or
    file every user may write to, an owner other than this user or root (when
    not running as root), a link leading out of its folder, or a folder inside
    a sysfs dump (data gathered from a machine, not a project).
    """
    folder = Path.cwd() if start is None else start.absolute()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if not os.path.lexists(path):
                continue
            if name == "rmpplan.toml":
                _check_found(path)
                return _parse(path, _read(path), "")
            tool = _read(path).get("tool")
            if not isinstance(tool, dict) or "rmpplan" not in tool:
                return None  # a project without configuration: nothing above it applies
            _check_found(path)
            return _parse(path, tool["rmpplan"], "tool.rmpplan")
        if os.path.lexists(candidate / ".git"):
            return None
    return None


def load_config(path: Path) -> Config:
    """The configuration in ``path``, named by the user (``--config``): its
    ``[tool.rmpplan]`` when it is called pyproject.toml, else its top level."""
    path = path.absolute()
    document = _read(path)
    if path.name != "pyproject.toml":
        return _parse(path, document, "")
    tool = document.get("tool")
    if not isinstance(tool, dict) or "rmpplan" not in tool:
        raise InputError("has no [tool.rmpplan] table", path=_shown(path))
    return _parse(path, tool["rmpplan"], "tool.rmpplan")


def _check_found(path: Path) -> None:
    """Refuse a configuration file found by the search that the project may not own."""
    why = _untrusted(path)
    if why is not None:
        raise InputError(
            f"not used: {why}; name it with {named('config')} to use it anyway, "
            f"or give {named('no_config')}",
            path=_shown(path),
        )


def _untrusted(path: Path) -> str | None:
    """Why the file at ``path`` may have been put there by someone else, or None."""
    folder = path.parent
    if path.is_symlink() and not _inside(folder, path):
        return "it is a symbolic link leading out of its folder"
    dumps = _dump_roots(folder)
    if dumps:
        return f"it lies inside the sysfs dump {_shown(dumps[0])} (machine data, not a project)"
    me = os.geteuid()
    try:
        stats = [(what, what.stat()) for what in (folder, path, path.resolve().parent)]
    except OSError as err:
        return f"cannot be inspected ({err.strerror})"
    for what, info in stats:
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        if info.st_mode & stat.S_IWOTH:
            return f"its {kind} {_shown(what)} may be written by every user"
        if me != 0 and info.st_uid not in (me, 0):
            return f"its {kind} {_shown(what)} belongs to another user (uid {info.st_uid})"
    return None


def _dump_roots(folder: Path) -> list[Path]:
    """The sysfs dump roots (folders holding ``sys/devices/system/cpu``) that
    ``folder`` is in, the live root ``/`` aside."""
    return [
        where
        for where in (folder, *folder.parents)
        if where.parent != where and (where / _SYSFS_CPU).is_dir()
    ]


def _shown(path: Path) -> str:
    """A path for a message: relative to the current directory."""
    return os.path.relpath(path)


def _read(path: Path) -> dict[str, object]:
    shown = _shown(path)
    try:
        raw = read_file_bytes(path, MAX_CONFIG_BYTES)
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=shown) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"TOML syntax error: {err}", path=shown) from None
    except RecursionError:
        raise InputError("TOML nested too deeply", path=shown) from None
    except InputError as err:
        if err.message.startswith("larger than"):
            err = err.within(f"a configuration file is at most {size_text(MAX_CONFIG_BYTES)}")
        raise err.located(shown) from None


def _parse(path: Path, table: object, prefix: str) -> Config:
    try:
        return _config(path, table, prefix)
    except InputError as err:
        raise err.located(_shown(path)) from None


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
    listed = _strings(table.get("paths", []), key("paths"), MAX_PATHS)
    paths = tuple(_contained(root, item, key("paths")) for item in listed)
    rule = _member(Rule, table["rule"], key("rule")) if "rule" in table else None
    strategy = (
        _member(Strategy, table["strategy"], key("strategy")) if "strategy" in table else None
    )
    kernel = _member(Kernel, table["kernel"], key("kernel")) if "kernel" in table else None
    expect = _expectations(table.get("expect", {}), prefix)
    return Config(path, paths, rule, strategy, expect, kernel)


def _contained(root: Path, item: str, key: str) -> Path:
    """``item`` of ``paths`` as a path below ``root``, or why it may not be one."""
    where = f"{key}: {quote(repr(item))}"
    relative = PurePosixPath(item)
    if relative.is_absolute():
        raise InputError(f"{where}: an absolute path; paths are relative to this file's folder")
    if ".." in relative.parts:
        raise InputError(f"{where}: '..' leaves this file's folder; paths stay inside it")
    target = root / item
    if not _inside(root, target):
        raise InputError(f"{where}: leads out of this file's folder through a symbolic link")
    return target


def _expectations(table: object, prefix: str) -> tuple[Expectation, ...]:
    where = f"[{prefix}.expect]" if prefix else "[expect]"
    if not isinstance(table, dict):
        raise InputError(f"{where}: must be a table of paths or globs to lists of check names")
    if len(table) > MAX_EXPECT:
        raise InputError(f"{where}: {len(table)} entries, at most {MAX_EXPECT}; use globs")
    expectations = []
    total = 0
    for pattern, checks in table.items():
        key = f"{where} {quote(repr(pattern))}"
        relative = PurePosixPath(pattern)
        if not pattern or relative.is_absolute() or "\\" in pattern or ".." in relative.parts:
            raise InputError(
                f"{key}: a path or glob relative to this file, with / between parts, without '..'"
            )
        if len(pattern) > MAX_PATTERN_CHARS or len(relative.parts) > MAX_PATTERN_PARTS:
            raise InputError(
                f"{key}: longer than {MAX_PATTERN_CHARS} characters or {MAX_PATTERN_PARTS} parts"
            )
        total += len(relative.parts) if "**" in relative.parts else 0
        if total > MAX_EXPECT_PARTS:
            raise InputError(
                f"{where}: the patterns with ** hold more than {MAX_EXPECT_PARTS} parts "
                f"together (at {quote(repr(pattern))}); use fewer, shorter globs"
            )
        names = _strings(checks, key)
        if not names:
            raise InputError(f"{key}: name the checks it is expected to fail")
        expectations.append(
            Expectation(pattern, frozenset(_member(Check, name, key) for name in names))
        )
    return tuple(expectations)


def _strings(value: object, key: str, most: int | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InputError(f"{key}: must be a list of non-empty strings")
    if most is not None and len(value) > most:
        raise InputError(f"{key}: {len(value)} entries, at most {most}; list folders instead")
    return value


def _member(enum: type[E], value: object, key: str) -> E:
    names = [member.value for member in enum]
    if not isinstance(value, str) or value not in names:
        shown = quote(repr(value))
        raise InputError(f"{key}: {shown} is not one of {', '.join(names)}")
    return enum(value)
