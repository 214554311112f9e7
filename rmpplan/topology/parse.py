"""Reading YAML and JSON text into plain data, with line numbers for errors.

YAML is read with a safe loader that also follows YAML 1.2's core schema for
scalars (``yes``/``on`` stay strings, ``017`` is seventeen), rejects duplicate
keys and aliases (a topology file never needs them, and aliases are how
"billion laughs" documents blow up). JSON is read strictly (no NaN, no
duplicate keys); its errors are located by composing the same text as YAML,
which is a superset of JSON for every document we accept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rmpplan.errors import InputError

MAX_FILE_BYTES = 64 << 20


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, no aliases and no duplicate keys."""

    # Our own table (not SafeLoader's), filled below with YAML 1.2 core resolvers.
    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's own class table)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise InputError(
                "YAML aliases (*name) are not allowed in topology files",
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                raise InputError(
                    "a mapping key must be a plain value", line=key_node.start_mark.line + 1
                ) from None
            if duplicate:
                raise InputError(
                    f"duplicate key {_clip(repr(key))}", line=key_node.start_mark.line + 1
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _int12(loader: _Loader, node: Node) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if digits[:2] in ("0o", "0O"):
        return sign * int(digits[2:], 8)
    return sign * int(digits, 10)


_RESOLVERS: Sequence[tuple[str, str, str]] = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "tag:yaml.org,2002:int",
        r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+)$",
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
)
for _tag, _pattern, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# PyYAML looks up the empty scalar under the key "".
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
_Loader.add_constructor("tag:yaml.org,2002:int", _int12)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode(raw: bytes) -> str:
    """UTF-8 text of a file, or a one-line error saying where it is not."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})", line=line
        ) from None


def compose_yaml(text: str) -> Node | None:
    """The YAML node tree, for locating errors; refuses what :func:`load_yaml` refuses."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    finally:
        loader.dispose()


def load_yaml(text: str) -> tuple[Any, Node | None]:
    """Parse YAML safely; return the data and its node tree."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    except RecursionError:
        raise InputError("YAML nesting is too deep") from None
    finally:
        loader.dispose()
    return data, node


def _yaml_error(err: yaml.YAMLError) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    line = None if mark is None else mark.line + 1
    if isinstance(err, yaml.constructor.ConstructorError):
        tag = re.search(r"tag '(?:tag:yaml\.org,2002:)?([^']*)'", problem)
        if tag:
            problem = f"tag !!{_clip(tag.group(1))} is not allowed (plain data only)"
        return InputError(f"YAML error: {_clip(' '.join(problem.split()), 120)}", line=line)
    return InputError(f"YAML syntax error: {_clip(' '.join(problem.split()), 120)}", line=line)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def load_json(text: str) -> tuple[Any, Node | None]:
    """Parse strict JSON; the node tree comes from YAML only when needed."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise InputError(f"JSON syntax error: {err.msg}", line=err.lineno) from None
    except _DuplicateKey as err:
        line = None
        try:
            load_yaml(text)  # constructing finds the duplicate again, with its line
        except InputError as located:
            line = located.line
        raise InputError(f"duplicate key {_clip(repr(err.key))}", line=line) from None
    except (ValueError, RecursionError) as err:
        raise InputError(f"JSON error: {_clip(str(err), 80)}") from None
    return data, None


def locate(node: Node | None, path: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node along ``path`` (a pydantic ``loc``)."""
    line = None if node is None else node.start_mark.line + 1
    for step in path:
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(step):
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                return line
            node = node.value[step]
        else:
            return line
        line = node.start_mark.line + 1
    return line
