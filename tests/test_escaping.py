"""rmpplan.escaping: every escape keeps its promise for any text, and an echo
of input in an error is bounded."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan import escaping
from rmpplan.escaping import (
    QUOTE_MAX,
    printable,
    quote,
    quote_repr,
    unicode_json,
    unicode_text,
    xml_text,
)
from rmpplan.render import github
from rmpplan.render.json import dumps
from tests.cli import one_error, run

# Every code point, lone surrogates included (a path byte that is not UTF-8 is one).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
# Characters XML 1.0 holds (the Char production of the XML 1.0 specification).
_XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_C0 = re.compile("[\x00-\x1f]")
LONGEST_ESCAPE = len("\\U0010ffff")


def no_controls(text: str) -> bool:
    """Nothing a terminal or log could act on: every character printable."""
    return text.isprintable()


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_printable_leaves_only_printable_text(text: str) -> None:
    shown = printable(text)
    assert no_controls(shown)
    shown.encode("utf-8")  # raises on a lone surrogate
    if text.isprintable():
        assert shown == text
    else:
        assert shown != text


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.integers(2, 80))
def test_quote_is_printable_and_bounded(text: str, limit: int) -> None:
    shown = quote(text, limit)
    assert no_controls(shown)
    assert len(shown) <= limit * LONGEST_ESCAPE
    if len(text) <= limit:
        assert shown == printable(text)
    else:
        assert shown.endswith("\u2026")
        assert len(escaping.clip(text, limit)) == limit
        assert shown.startswith(printable(text[: limit - 1]))


@settings(max_examples=200, deadline=None)
@given(st.one_of(ANY_TEXT, st.integers(), st.text(min_size=500, max_size=3000)))
def test_quote_repr_is_printable_and_bounded(value: str | int) -> None:
    shown = quote_repr(value)
    assert no_controls(shown)
    assert len(shown) <= QUOTE_MAX * LONGEST_ESCAPE
    if len(repr(value)) <= QUOTE_MAX:
        assert shown == repr(value)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_github_escapes_leave_no_control_or_command(text: str) -> None:
    for escaped in (github.log_text(text), github.escape_data(text)):
        assert no_controls(escaped)
        assert "##[" not in escaped
    prop = github.escape_property(text)
    assert no_controls(prop)
    assert not {",", ":", "\r", "\n"} & set(prop)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_xml_text_holds_in_xml_and_reads_back(text: str) -> None:
    held = xml_text(text)
    assert _XML_CHAR.fullmatch(held)
    # The only control characters left are the three XML holds.
    assert set(_C0.findall(held)) <= {"\t", "\n", "\r"}
    if _XML_CHAR.fullmatch(text):
        assert held == text
    element = ET.Element("case", {"name": held})
    element.text = held
    back = ET.fromstring(ET.tostring(element, encoding="unicode"))
    assert back.get("name") == held
    # XML reads a raw carriage return in text as a line feed (end-of-line handling).
    assert (back.text or "") == held.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_unicode_text_is_utf8_and_json_holds_it(text: str) -> None:
    safe = unicode_text(text)
    safe.encode("utf-8")
    if not any("\ud800" <= c <= "\udfff" for c in text):
        assert safe == text
    written = dumps({"name": text})
    assert not _C0.search(written.replace("\n", ""))
    assert json.loads(written) == {"name": safe}


def path_bytes(shown: str) -> bytes:
    """The bytes of a path as JSON shows it: ``\\xNN`` (NN 80-ff) is the byte NN."""
    out = b""
    for part in re.split(r"(\\x[89a-f][0-9a-f])", shown):
        if re.fullmatch(r"\\x[89a-f][0-9a-f]", part):
            out += bytes([int(part[2:], 16)])
        else:
            out += part.encode("utf-8")
    return out


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_a_path_that_is_not_utf8_reads_back_as_its_bytes(raw: bytes) -> None:
    """The promise holds for every path that does not itself spell ``\\x80``-``\\xff``
    in ASCII, which would read the same as that byte."""
    if re.search(rb"\\x[89a-f][0-9a-f]", raw):
        return
    name = raw.decode("utf-8", "surrogateescape")  # how Python reads a path
    shown = json.loads(dumps({"path": name}))["path"]
    shown.encode("utf-8")
    assert path_bytes(shown) == raw


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        ANY_TEXT | st.integers() | st.booleans() | st.none(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
        max_leaves=10,
    )
)
def test_unicode_json_keeps_the_shape(value: object) -> None:
    safe = unicode_json(value)
    text = json.dumps(safe, ensure_ascii=False)
    text.encode("utf-8")
    assert json.loads(text) == json.loads(json.dumps(safe))
    if isinstance(value, dict):
        assert isinstance(safe, dict) and len(safe) <= len(value)
    if isinstance(value, list):
        assert isinstance(safe, list) and len(safe) == len(value)


def test_cpumask_errors_quote_as_every_error_does() -> None:
    digits = "9" * 3000
    line = one_error(run("mask", "--from", "list", "--to", "hex", digits), "EOVERFLOW")
    assert len(line) < 200
    assert quote(digits) in line


def write_topology(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_an_unknown_key_of_3000_characters_is_cut(tmp_path: Path) -> None:
    key = "k" * 3000
    path = write_topology(
        tmp_path,
        {"name": "big-key", "layout": {"packages": 1, "cores_per_die": 2}, key: 1},
    )
    for command in ("verify", "show"):
        line = one_error(run(command, str(path)), "unknown key")
        assert len(line) < len(str(path)) + 120
        assert "k" * QUOTE_MAX not in line
        assert "\u2026" in line


def test_an_unknown_key_in_a_cpu_entry_is_cut(tmp_path: Path) -> None:
    key = "\x1b[31m" + "x" * 3000
    path = write_topology(
        tmp_path, {"name": "big-key", "cpus": [{"id": 0, "core": 0, "package": 0, key: 1}]}
    )
    line = one_error(run("verify", str(path)), "unknown key")
    assert len(line) < len(str(path)) + 120
    assert "\x1b" not in line
    assert "\\x1b[31m" in line


def test_a_short_unknown_key_is_named_whole(tmp_path: Path) -> None:
    path = write_topology(
        tmp_path, {"name": "k", "layout": {"packages": 1, "cores_per_die": 2}, "colour": 1}
    )
    assert one_error(run("verify", str(path))).endswith("unknown key 'colour'")


def test_an_unknown_command_is_cut() -> None:
    line = one_error(run("p" * 3000), "No such command")
    assert len(line) < 200
