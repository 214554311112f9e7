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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rmpplan.errors import QUOTE_MAX, InputError, quote

# libyaml's parser is several times faster on an 8192-CPU explicit file. Only
# its composer is used: scalars are resolved and built by the code below.
_ParserBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

# YAML 1.2's core schema: `yes`, `on` and `0-15` stay strings; 017 is seventeen.
_PLAIN: Sequence[tuple[re.Pattern[str], str]] = (
    (re.compile(r"[-+]?[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+"), _INT),
    (re.compile(r"true|True|TRUE|false|False|FALSE"), _BOOL),
    (re.compile(r"~|null|Null|NULL|"), _NULL),
    (
        re.compile(
            r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
        ),
        _FLOAT,
    ),
)


class _Loader(_ParserBase):  # type: ignore[misc]  # the base is Any: CSafeLoader or SafeLoader
    """A YAML composer whose plain scalars resolve by YAML 1.2's core schema."""

    def resolve(self, kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for pattern, tag in _PLAIN:
                    if pattern.fullmatch(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


def _scalar(node: ScalarNode) -> Any:
    value: str = node.value
    tag = node.tag
    if tag == _STR:
        return value
    if tag == _INT:
        # The resolver lets hex and octal through unsigned only, as YAML 1.2 does.
        if value[:2] in ("0x", "0o"):
            return int(value[2:], 16 if value[1] == "x" else 8)
        return int(value, 10)
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _NULL:
        return None
    if tag == _FLOAT:
        lowered = value.lower()
        return float(lowered.replace(".", "") if lowered.endswith((".inf", ".nan")) else value)
    raise _bad_tag(node)


def _bad_tag(node: Node) -> InputError:
    tag = str(node.tag)
    shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag
    return InputError(
        f"YAML error: tag {quote(shown)} is not allowed (plain data only)",
        line=node.start_mark.line + 1,
    )


def _build(root: Node) -> Any:
    """Plain data from the node tree, refusing aliases, duplicate keys and odd tags.

    The composer shares an aliased node instead of copying it, so composing a
    "billion laughs" document is cheap; walking it as a tree is what would
    explode, and this stops at the first node reached twice.
    """
    seen: set[int] = set()

    def build(node: Node) -> Any:
        if id(node) in seen:
            raise InputError(
                "YAML aliases (*name) are not allowed in topology files "
                f"(the anchor is at line {node.start_mark.line + 1})",
                line=node.start_mark.line + 1,
            )
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return [build(item) for item in node.value]
        if isinstance(node, MappingNode) and node.tag == _MAP:
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = build(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, (str, int, bool, float, type(None))):
                    raise InputError("a mapping key must be a plain value", line=line)
                if key in result:
                    raise InputError(f"duplicate key {quote(repr(key))}", line=line)
                result[key] = build(value_node)
            return result
        raise _bad_tag(node)

    return build(root)


def decode(raw: bytes) -> str:
    """UTF-8 text of a file, or a one-line error saying where it is not."""
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
        node: Node | None = loader.get_single_node()
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    finally:
        loader.dispose()
    return node


def load_yaml(text: str) -> tuple[Any, Node | None]:
    """Parse YAML safely; return the data and its node tree."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _build(node)
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    except RecursionError:
        raise InputError("YAML nesting is too deep") from None
    finally:
        loader.dispose()
    return data, node


def _sentence(problem: str) -> str:
    """A parser's own message, on one line. It is a sentence, so it gets twice a value's
    room; the pure-Python YAML parser quotes input in it (an alias, a tag handle) whole."""
    return quote(" ".join(problem.split()), 2 * QUOTE_MAX)


def _yaml_error(err: yaml.YAMLError) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    line = None if mark is None else mark.line + 1
    return InputError(f"YAML syntax error: {_sentence(problem)}", line=line)


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
        raise InputError(f"duplicate key {quote(repr(err.key))}", line=line) from None
    except (ValueError, RecursionError) as err:
        raise InputError(f"JSON error: {_sentence(str(err))}") from None
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


@dataclass(frozen=True, slots=True)
class LineIndex:
    """Where a topology file's top-level keys and explicit CPU entries start
    (1-based lines), for reports that point into the file."""

    keys: Mapping[str, int] = field(default_factory=dict)
    cpus: Mapping[int, int] = field(default_factory=dict)


def index_lines(node: Node | None) -> LineIndex:
    """The :class:`LineIndex` of a composed topology document; entries it cannot
    read (not a mapping, an id that is not an integer) are left out."""
    if not isinstance(node, MappingNode):
        return LineIndex()
    keys: dict[str, int] = {}
    cpus: dict[int, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            continue
        keys.setdefault(key_node.value, key_node.start_mark.line + 1)
        if key_node.value == "cpus" and isinstance(value_node, SequenceNode):
            for entry in value_node.value:
                cpu = _entry_id(entry)
                if cpu is not None:
                    cpus.setdefault(cpu, entry.start_mark.line + 1)
    return LineIndex(keys, cpus)


def _entry_id(entry: Node) -> int | None:
    if not isinstance(entry, MappingNode):
        return None
    for key_node, value_node in entry.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "id":
            if isinstance(value_node, ScalarNode) and value_node.tag == _INT:
                value = _scalar(value_node)
                return value if isinstance(value, int) else None
            return None
    return None
