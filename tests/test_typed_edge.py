"""Parsed data is typed: the readers return PlainValue, consumers narrow it, and every
``Any`` left in rmpplan says on its line why a library forces it."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from rmpplan.errors import InputError
from rmpplan.plain import expect_int, expect_list, expect_map, expect_str
from tests.cli import one_error, run
from tests.conftest import ROOT

# A reason is "Any:" and a few words, in a comment on the line that uses Any.
_REASON = re.compile(r"#.*\bAny: \S+ \S+ \S+")


def _any_lines(source: str) -> list[int]:
    """The lines that use ``typing.Any`` in code, quoted annotations included; prose
    in docstrings and comments is not a use."""
    nodes = ast.walk(ast.parse(source))
    return sorted({node.lineno for node in nodes if isinstance(node, ast.expr) and _uses_any(node)})


def _uses_any(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "Any"
    if isinstance(node, ast.Attribute):
        return node.attr == "Any"  # typing.Any
    return isinstance(node, ast.Constant) and _quotes_any(node.value)


def _quotes_any(value: object) -> bool:
    """Whether a string constant is an expression naming Any (a quoted annotation)."""
    if not isinstance(value, str) or "Any" not in value:
        return False
    try:
        quoted = ast.parse(value, mode="eval")
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Name) and node.id == "Any" for node in ast.walk(quoted))


def _unexplained(source: str) -> list[int]:
    """The lines using Any without a reason comment."""
    comments = {
        token.start[0]: token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    return [line for line in _any_lines(source) if not _REASON.search(comments.get(line, ""))]


def test_the_counter_finds_an_unexplained_any() -> None:
    """The counter sees annotations, quoted ones and typing.Any, and only a reason clears one."""
    source = (
        '"""Any other text is prose."""\n'
        "import typing\n"
        "from typing import Any\n"
        "a: Any = 1\n"
        "b: 'dict[str, Any]' = {}\n"
        "c: typing.Any = 2\n"
        "d: Any = 3  # Any: the library's own signature takes it\n"
        "e: Any = 4  # Any\n"
        "# Any comment is prose too\n"
    )
    assert _any_lines(source) == [4, 5, 6, 7, 8]
    assert _unexplained(source) == [4, 5, 6, 8]


def test_every_any_in_rmpplan_says_why() -> None:
    """No Any without its reason: parsed data is PlainValue, written data JSONValue."""
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "rmpplan").rglob("*.py"))
        for line in _unexplained(path.read_text(encoding="utf-8"))
    }
    assert sorted(found) == []


def test_the_parsers_return_no_any() -> None:
    """The readers' signatures name the plain-data type, not Any."""
    text = (ROOT / "rmpplan" / "topology" / "parse.py").read_text(encoding="utf-8")
    for name in ("load_yaml", "load_json", "bounded_json"):
        signature = re.search(rf"^def {name}\(.*?\) -> (\w+):", text, re.M | re.S)
        assert signature is not None, name
        assert signature[1] == "PlainValue", name


def _mypy(tmp_path: Path, name: str, source: str) -> tuple[str, int]:
    api = pytest.importorskip("mypy.api")
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    out, _, status = api.run(
        ["--strict", "--cache-dir", str(ROOT / ".mypy_cache"), "--no-incremental", str(path)]
    )
    return out, status


def test_mypy_catches_a_stale_unpack_of_a_parser_result(tmp_path: Path) -> None:
    """A parser's result used as if it were a pair, or indexed before it is narrowed,
    fails mypy --strict; the same code after narrowing passes."""
    out, status = _mypy(
        tmp_path,
        "edge.py",
        "from rmpplan.plain import expect_map\n"
        "from rmpplan.topology.dump import to_document\n"
        "from rmpplan.topology.machine import Machine\n"
        "from rmpplan.topology.parse import bounded_json, load_json, load_yaml\n\n"
        "def stale(text: str) -> object:\n"
        "    data, lines = load_yaml(text)\n"  # line 7
        "    return data\n\n"
        "def unnarrowed(text: str) -> object:\n"
        '    return load_json(text)["cpus"]\n'  # line 11
        "\n"
        "def typo(machine: Machine) -> object:\n"
        '    return to_document(machine)["cpu"]\n'  # line 14
        "\n"
        "def narrowed(text: str) -> object:\n"
        '    return expect_map(bounded_json(text), "not a mapping").get("cpus")\n',
    )
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert {int(line.split(":")[1]) for line in errors} == {7, 11, 14}, out
    assert '"None" object is not iterable' in out
    assert "is not indexable" in out
    assert 'has no key "cpu"' in out


@pytest.mark.parametrize(
    ("helper", "good", "bad"),
    [
        (expect_map, {"a": 1}, [1]),
        (expect_list, [1], {"a": 1}),
        (expect_str, "x", 1),
        (expect_int, 7, True),
        (expect_int, 7, 7.0),
    ],
)
def test_expect_narrows_or_says_where(helper: object, good: object, bad: object) -> None:
    """Each helper gives back what it was given when it is the kind asked for, and
    otherwise raises the caller's one-line problem with its line."""
    assert callable(helper)
    assert helper(good, "unused") == good
    with pytest.raises(InputError) as caught:
        helper(bad, "cpus[3]: expected something else", 12)
    assert caught.value.message == "cpus[3]: expected something else"
    assert caught.value.line == 12


def test_a_file_that_is_not_a_mapping_is_one_error(tmp_path: Path) -> None:
    topology = tmp_path / "list.yaml"
    topology.write_text("- 1\n- 2\n", encoding="utf-8")
    line = one_error(run("show", str(topology)))
    assert line.endswith(
        "the file must hold a mapping with 'cpus' (explicit) or 'layout' (compact)"
    )


def test_a_yaml_number_key_is_named_as_written(tmp_path: Path) -> None:
    """YAML keys a mapping by any scalar: the key stays the number it was, not a string."""
    topology = tmp_path / "numbered.yaml"
    topology.write_text("layout: {packages: 1}\n17: x\n", encoding="utf-8")
    line = one_error(run("show", str(topology)))
    assert line.endswith("numbered.yaml:2: unknown key 17")


def test_an_lscpu_entry_that_is_not_an_object_is_one_error(tmp_path: Path) -> None:
    saved = tmp_path / "lscpu.json"
    saved.write_text('{"cpus": [{"cpu": 0, "core": 0}, 5]}\n', encoding="utf-8")
    line = one_error(run("show", str(saved)))
    assert 'not lscpu -J -e output: expected one top-level key "cpus"' in line
