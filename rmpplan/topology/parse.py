"""Reading YAML and JSON text into plain data, with line numbers for errors.

YAML is read with a safe loader that also follows YAML 1.2's core schema for
scalars (``yes``/``on`` stay strings, ``017`` is seventeen), rejects duplicate
keys and aliases (a topology file never needs them, and aliases are how
"billion laughs" documents blow up). JSON is read strictly (no NaN, no
duplicate keys); its errors are located by reading the same text as YAML,
which is a superset of JSON for every document we accept.

Bounded by design: no document can cost much more than the largest real one.
YAML is built from libyaml's parser events, counted as they come, so a
document is refused at its :data:`MAX_VALUES` + 1st value or its
:data:`MAX_DEPTH` + 1st level of nesting, before any large object exists.
JSON is sized before :func:`json.loads` builds anything: every value but the
first follows a ``[``, ``,`` or ``:`` and every key a ``{`` or ``,``, so counting
those characters (outside strings, when it matters) bounds the values. A number
longer than :data:`MAX_NUMBER_CHARS` or a string longer than
:data:`MAX_SCALAR_CHARS` is refused, and so is a lone UTF-16 surrogate.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from rmpplan.errors import InputError
from rmpplan.escaping import QUOTE_MAX, quote
from rmpplan.plain import PlainList, PlainMap, PlainValue, Scalar
from rmpplan.terms import NR_CPUS_MAX

MAX_VALUES = 16 * NR_CPUS_MAX
"""Values (keys included) in a document: an explicit 8192-CPU topology with every key
has about 106,500."""
MAX_DEPTH = 16
"""Levels of nesting: a topology file has 4 (file, cpus, a CPU, its values)."""
MAX_SCALAR_CHARS = 64 << 10
"""The longest value: a cpulist of 8192 CPUs is at most 28 KiB."""
MAX_NUMBER_CHARS = 24
"""The longest number: 0x and 16 hex digits, 20 decimal digits, or 0o and 22 octal ones."""

# libyaml's parser is several times faster; only its events are used, the
# scalars are resolved and built by the code below.
_ParserBase: Any = getattr(  # Any: CSafeLoader when PyYAML has libyaml, else SafeLoader
    yaml, "CSafeLoader", yaml.SafeLoader
)
_GetEvent = Callable[[], Event]
"""A loader's ``get_event``: None only after the stream's end, which is never read past."""

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_NON_SPECIFIC = (None, "!")

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
_PATTERN = {tag: pattern for pattern, tag in _PLAIN}
# Only these first characters can start a non-string plain scalar.
_MAYBE_NOT_STR = frozenset("0123456789+-.~tTfFnN")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_JSON_LONG_NUMBER = re.compile(rf"[-0-9.eE+]{{{MAX_NUMBER_CHARS + 1}}}")
# A \uD800-\uDBFF escape not followed by a low one, or a low one not after a high one.
_JSON_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class _Loader(_ParserBase):  # type: ignore[misc]  # the base is Any: CSafeLoader or SafeLoader
    """libyaml's parser; nothing of PyYAML's composer or constructor is used."""


def _resolve_plain(value: str) -> str:
    """The tag of a plain scalar by YAML 1.2's core schema."""
    if value and value[0] not in _MAYBE_NOT_STR:
        return _STR
    for pattern, tag in _PLAIN:
        if pattern.fullmatch(value):
            return tag
    return _STR


def _line(event: Event) -> int:
    mark = event.start_mark
    return 0 if mark is None else int(mark.line) + 1


def _too_long(value: str, line: int | None) -> InputError:
    return InputError(
        f"a value of {len(value)} characters ('{quote(value)}'); none is longer than "
        f"{MAX_SCALAR_CHARS >> 10} KiB",
        line=line,
    )


def _long_number(value: str, line: int | None) -> InputError:
    return InputError(
        f"the number '{quote(value)}' has {len(value)} characters; no value needs more "
        f"than {MAX_NUMBER_CHARS}",
        line=line,
    )


def _too_many(max_values: int) -> str:
    return f"more than {max_values} values, more than a file about {NR_CPUS_MAX} CPUs holds"


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep; real files need 4"


def _surrogate(value: str, line: int | None) -> InputError:
    return InputError(
        f"'{quote(value)}' holds a lone UTF-16 surrogate, which is not a character", line=line
    )


def _scalar(event: ScalarEvent) -> Scalar:
    value: str = event.value
    if len(value) > MAX_SCALAR_CHARS:
        raise _too_long(value, _line(event))
    tag = event.tag
    if tag in _NON_SPECIFIC:
        tag = _resolve_plain(value) if event.implicit[0] else _STR
    elif tag in _PATTERN and not _PATTERN[tag].fullmatch(value):
        shown = "!!" + tag.removeprefix("tag:yaml.org,2002:")
        raise InputError(f"'{quote(value)}' is not a valid {shown}", line=_line(event))
    if tag == _STR:
        if not value.isascii() and _SURROGATE.search(value):
            raise _surrogate(value, _line(event))
        return value
    if tag in (_INT, _FLOAT) and len(value) > MAX_NUMBER_CHARS:
        raise _long_number(value, _line(event))
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
    raise _bad_tag(tag, _line(event))


def _bad_tag(tag: str | None, line: int) -> InputError:
    text = str(tag)
    shown = "!!" + text.removeprefix("tag:yaml.org,2002:") if text.startswith("tag:yaml") else text
    return InputError(f"YAML error: tag {quote(shown)} is not allowed (plain data only)", line=line)


class _Collection:
    """An open sequence or mapping while its events arrive."""

    __slots__ = ("items", "key", "mapping")

    def __init__(self, mapping: bool) -> None:
        self.mapping = mapping
        self.items: PlainMap | PlainList = {} if mapping else []
        self.key: Scalar | _NoKey = _NO_KEY


class _NoKey(enum.Enum):
    """An open mapping waiting for its next key (None is a key YAML can give)."""

    NO_KEY = enum.auto()


_NO_KEY: Final = _NoKey.NO_KEY


class _Builder:
    """Plain data from parser events, counting values and nesting as they come."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self.values = 0
        self.anchors: dict[str, int] = {}

    def build(self, loader: _Loader) -> PlainValue:
        get: _GetEvent = loader.get_event
        get()  # StreamStartEvent
        event = get()
        if isinstance(event, StreamEndEvent):
            return None
        root = self._document(get)
        event = get()
        if isinstance(event, DocumentStartEvent):
            raise InputError(
                "YAML syntax error: expected a single document, but found another",
                line=_line(event),
            )
        return root

    def _count(self, event: NodeEvent) -> None:
        self.values += 1
        if self.values > self.max_values:
            raise InputError(_too_many(self.max_values), line=_line(event))
        if event.anchor is not None:
            self.anchors[event.anchor] = _line(event)

    def _document(self, get: _GetEvent) -> PlainValue:
        stack: list[_Collection] = []
        root: PlainValue = None
        value: PlainValue
        while True:
            event = get()
            if isinstance(event, ScalarEvent):
                self._count(event)
                value = _scalar(event)
            elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                self._count(event)
                stack.append(_open(event, stack))
                continue
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                value = stack.pop().items
            elif isinstance(event, DocumentEndEvent):
                return root
            else:
                raise self._refuse(event)
            if stack:
                _attach(stack[-1], value, event)
            else:
                root = value

    def _refuse(self, event: Event) -> InputError:
        """An alias (or anything else libyaml might emit inside a document)."""
        if not isinstance(event, AliasEvent):
            return InputError(f"YAML error: unexpected {type(event).__name__}", line=_line(event))
        anchor = self.anchors.get(event.anchor or "")
        where = "" if anchor is None else f" (the anchor is at line {anchor})"
        return InputError(
            f"YAML aliases (*name) are not allowed in topology files{where}", line=_line(event)
        )


def _open(event: MappingStartEvent | SequenceStartEvent, stack: list[_Collection]) -> _Collection:
    """A new collection, checked: its tag, its depth, and that it is not a mapping key."""
    mapping = isinstance(event, MappingStartEvent)
    if event.tag not in (*_NON_SPECIFIC, _MAP if mapping else _SEQ):
        raise _bad_tag(event.tag, _line(event))
    if len(stack) >= MAX_DEPTH:
        raise InputError(_too_deep(), line=_line(event))
    if stack and stack[-1].mapping and stack[-1].key is _NO_KEY:
        raise InputError("a mapping key must be a plain value", line=_line(event))
    return _Collection(mapping)


def _attach(top: _Collection, value: PlainValue, event: Event) -> None:
    """Put a finished value into the open collection: an item, a key or a key's value."""
    items = top.items
    if isinstance(items, list):
        items.append(value)
    elif top.key is _NO_KEY:
        if isinstance(value, (list, dict)):  # _open refuses these first: a key is a scalar
            raise InputError("a mapping key must be a plain value", line=_line(event))
        if value in items:
            raise InputError(f"duplicate key {quote(repr(value))}", line=_line(event))
        top.key = value
    else:
        items[top.key] = value
        top.key = _NO_KEY


def decode(raw: bytes) -> str:
    """UTF-8 text of a file, or a one-line error saying where it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})", line=line
        ) from None


def load_yaml(text: str, max_values: int = MAX_VALUES) -> PlainValue:
    """Parse YAML safely into plain data (see the module docstring for the bounds)."""
    loader = _Loader(text)
    try:
        return _Builder(max_values).build(loader)
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    finally:
        loader.dispose()


def _sentence(problem: str) -> str:
    """A parser's own message, on one line. It is a sentence, so it gets twice a value's
    room; the pure-Python YAML parser quotes input in it (an alias, a tag handle) whole."""
    return quote(" ".join(problem.split()), 2 * QUOTE_MAX)


def _yaml_error(err: yaml.YAMLError) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    line = None if mark is None else mark.line + 1
    return InputError(f"YAML syntax error: {_sentence(problem)}", line=line)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _LongNumber(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _no_duplicates(pairs: list[tuple[str, PlainValue]]) -> PlainMap:
    result: PlainMap = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _json_number(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def convert(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _LongNumber(text)
        return kind(text)

    return convert


def _json_bound(text: str) -> int:
    """An upper bound on the values and keys of a JSON document (see the module docstring)."""
    return sum(map(text.count, "[{,:")) + 1


def check_json_size(text: str, max_values: int) -> None:
    """Refuse JSON with more than ``max_values`` values before anything is built."""
    if _json_bound(text) <= max_values:
        return
    # Every string is a key or a value: too many strings is too many values, and
    # otherwise there are few enough of them to set aside quickly and count again.
    if (text.count('"') - text.count('\\"')) // 2 > max_values:
        raise InputError(_too_many(max_values))
    if _json_bound(_JSON_STRING.sub('""', text)) > max_values:
        raise InputError(_too_many(max_values))


def check_plain_data(data: PlainValue) -> None:
    """Nesting, string lengths and lone surrogates of JSON data, walked without recursion."""
    pending: list[tuple[PlainValue, int]] = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if len(item) > MAX_SCALAR_CHARS:
                raise _too_long(item, None)
            if not item.isascii() and _SURROGATE.search(item):
                raise _surrogate(item, None)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InputError(_too_deep())
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((value, depth + 1) for value in item.values())
        else:
            pending.extend((value, depth + 1) for value in item)


def bounded_json(text: str, max_values: int = MAX_VALUES, *, strict: bool = True) -> PlainValue:
    """:func:`json.loads` with the module's bounds; a syntax error stays a JSONDecodeError.

    ``strict`` refuses duplicate keys (``_DuplicateKey``) and NaN/Infinity.
    """
    check_json_size(text, max_values)
    try:
        # json builds only dicts with str keys, lists, str, int, float, bool and None.
        data: PlainValue = json.loads(
            text,
            parse_int=_json_number(int),
            parse_float=_json_number(float),
            # None is json's own default: duplicates kept last, NaN and Infinity read.
            object_pairs_hook=_no_duplicates if strict else None,
            parse_constant=_reject_constant if strict else None,
        )
    except _LongNumber as err:
        found = _JSON_LONG_NUMBER.search(text)
        line = None if found is None else text.count("\n", 0, found.start()) + 1
        raise _long_number(err.text, line) from None
    except RecursionError:
        raise InputError(_too_deep()) from None
    try:
        check_plain_data(data)
    except InputError as err:
        found = _JSON_LONE_SURROGATE.search(text) if "surrogate" in err.message else None
        if found is None:
            raise
        raise err.at(text.count("\n", 0, found.start()) + 1) from None
    return data


def load_json(text: str) -> PlainValue:
    """Parse strict JSON into plain data, within the module's bounds."""
    try:
        return bounded_json(text)
    except json.JSONDecodeError as err:
        raise InputError(f"JSON syntax error: {err.msg}", line=err.lineno) from None
    except _DuplicateKey as err:
        line = None
        try:
            load_yaml(text)  # building finds the duplicate again, with its line
        except InputError as located:
            line = located.line
        raise InputError(f"duplicate key {quote(repr(err.key))}", line=line) from None
    except ValueError as err:
        raise InputError(f"JSON error: {_sentence(str(err))}") from None


def _skip(get: _GetEvent, event: Event) -> None:
    """Consume the rest of the node that ``event`` starts."""
    depth = 1 if isinstance(event, (MappingStartEvent, SequenceStartEvent)) else 0
    while depth:
        event = get()
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            depth += 1
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1


def _step(get: _GetEvent, event: Event, step: int | str) -> Event | None:
    """The event that starts the child ``step`` of the collection ``event`` starts."""
    if isinstance(event, MappingStartEvent):
        while not isinstance(key := get(), MappingEndEvent):
            _skip(get, key)
            value = get()
            if isinstance(key, ScalarEvent) and key.value == str(step):
                return value
            _skip(get, value)
    elif isinstance(event, SequenceStartEvent) and isinstance(step, int):
        index = 0
        while not isinstance(item := get(), SequenceEndEvent):
            if index == step:
                return item
            _skip(get, item)
            index += 1
    return None


def locate(text: str, path: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node along ``path`` (a pydantic ``loc``) in YAML or
    JSON text, read again from its events; None when the text does not parse as YAML."""
    loader = _Loader(text)
    try:
        get: _GetEvent = loader.get_event
        get()  # StreamStartEvent
        if not isinstance(get(), DocumentStartEvent):
            return None
        event = get()
        line = _line(event)
        for step in path:
            child = _step(get, event, step)
            if child is None:
                return line
            event = child
            line = _line(event)
        return line
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class LineIndex:
    """Where a topology file's top-level keys and explicit CPU entries start
    (1-based lines), for reports that point into the file."""

    keys: Mapping[str, int] = field(default_factory=dict)
    cpus: Mapping[int, int] = field(default_factory=dict)


def index_lines(text: str) -> LineIndex:
    """The :class:`LineIndex` of topology text (YAML or JSON), read from its events;
    entries it cannot read (not a mapping, an id that is not an integer) are left out,
    and text that does not parse gives an empty index."""
    keys: dict[str, int] = {}
    cpus: dict[int, int] = {}
    loader = _Loader(text)
    try:
        get: _GetEvent = loader.get_event
        get()  # StreamStartEvent
        if not isinstance(get(), DocumentStartEvent) or not isinstance(
            top := get(), MappingStartEvent
        ):
            return LineIndex()
        del top
        while not isinstance(key := get(), MappingEndEvent):
            value = get()
            if not isinstance(key, ScalarEvent):
                _skip(get, key)
                _skip(get, value)
                continue
            keys.setdefault(key.value, _line(key))
            if key.value == "cpus" and isinstance(value, SequenceStartEvent):
                while not isinstance(entry := get(), SequenceEndEvent):
                    cpu = _entry_id(get, entry)
                    if cpu is not None:
                        cpus.setdefault(cpu, _line(entry))
            else:
                _skip(get, value)
    except yaml.YAMLError:
        return LineIndex()
    finally:
        loader.dispose()
    return LineIndex(keys, cpus)


def _entry_id(get: _GetEvent, entry: Event) -> int | None:
    """The integer ``id`` of one ``cpus:`` entry, consuming the entry."""
    if not isinstance(entry, MappingStartEvent):
        _skip(get, entry)
        return None
    found = None
    while not isinstance(key := get(), MappingEndEvent):
        value = get()
        if (
            isinstance(key, ScalarEvent)
            and key.value == "id"
            and isinstance(value, ScalarEvent)
            and value.value.isascii()
            and value.value.isdigit()
            and len(value.value) <= 4
        ):
            found = int(value.value)
        _skip(get, key)
        _skip(get, value)
    return found
