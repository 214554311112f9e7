"""Text from inputs made safe for where it is shown, in one place.

Names, paths, keys and messages come from files a pull request controls, and
a path may hold bytes that are not UTF-8 (Python reads each as a lone
surrogate, U+DC80-U+DCFF). Every format escapes them the same way, so a name
reads the same in a terminal, a log, an XML report and a JSON document:

- :func:`printable`: one line of a terminal or log, unclipped;
- :func:`quote`: an error message's echo of input, clipped to :data:`QUOTE_MAX`;
- :func:`unicode_text` and :func:`unicode_json`: JSON and YAML output, which
  must be Unicode (only lone surrogates are escaped);
- :func:`xml_text`: XML 1.0 text and attribute values (what XML cannot hold
  at all, even as a character reference, is escaped; ElementTree escapes
  ``&``, ``<``, ``>`` and quotes).

Each escape is ``\\xNN`` for a path byte that is not UTF-8 and otherwise what a
Python string literal writes (``\\n``, ``\\x1b``, ``\\u2028``), so nothing is
ever dropped. GitHub's workflow commands add their own escaping on top
(:mod:`rmpplan.render.github`).
"""

from __future__ import annotations

import re
from typing import TypeVar, cast

QUOTE_MAX = 40
"""Never echo more than this much of (possibly huge, possibly hostile) input."""

_T = TypeVar("_T")

# XML 1.0 cannot hold these at all, not even escaped; a name or path may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(c: str) -> str:
    """One character that is not printable, as printable text."""
    if "\udc80" <= c <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{ord(c) - 0xDC00:02x}"
    return repr(c)[1:-1]


def printable(text: str) -> str:
    """``text`` safe on one line of a terminal, a log or a file header, unclipped:
    every character that is not printable (a line break, a control character,
    U+2028) escaped as in a Python string literal, and each byte of a path that
    was not UTF-8 (a surrogate escape, U+DC80-U+DCFF) as ``\\xNN``. Printable
    text, backslashes included, is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def clip(text: str, limit: int = QUOTE_MAX) -> str:
    """At most ``limit`` characters of ``text``, the last an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    """``text`` for a one-line message: clipped to ``limit`` characters with an
    ellipsis (:func:`clip`), then made :func:`printable`. Clipping first bounds
    the echo by the input's characters, so an escape is never cut in half."""
    return printable(clip(text, limit))


def quote_repr(value: object, limit: int = QUOTE_MAX) -> str:
    """``repr(value)`` quoted: a key or value of a file as Python would show it
    (``'name'``, ``17``), bounded however long it is."""
    return quote(repr(value), limit)


def unicode_text(text: str) -> str:
    """``text`` with only its lone surrogates escaped, as :func:`printable` does:
    what JSON and YAML output must hold, since a surrogate is not Unicode text
    (a path byte that is not UTF-8 reaches Python as one). Every other
    character, a control character too, is left for the format to escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape(c) if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def unicode_json(value: _T) -> _T:
    """``value`` (a JSON-like value: strings, numbers, lists, tuples and dicts,
    nested) with :func:`unicode_text` applied to every string, keys included;
    the same shape."""
    return cast("_T", _unicode_json(value))


def _unicode_json(value: object) -> object:
    if isinstance(value, str):
        return unicode_text(value)
    if isinstance(value, dict):
        return {_unicode_json(key): _unicode_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_unicode_json(item) for item in value)
    return value


def xml_text(text: str) -> str:
    """``text`` that XML 1.0 can hold, as text or an attribute value: each
    character it cannot (C0 controls but tab and line breaks, surrogates,
    U+FFFE and U+FFFF) escaped as :func:`printable` escapes it. ElementTree
    then escapes markup (``&``, ``<``, ``>``, quotes) as references."""
    return _NOT_XML.sub(lambda match: _escape(match.group()), text)
