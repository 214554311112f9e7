"""One vocabulary: the glossary and the check summaries of rmpplan/terms.py are the
ones docs/checks.md states."""

from __future__ import annotations

import re

import rmpplan.terms
from rmpplan.terms import Check
from tests.conftest import ROOT

CHECKS_DOC = ROOT / "docs" / "checks.md"


def plain(text: str) -> str:
    """Text as a reader sees it: no code quotes, one space between words."""
    return " ".join(text.replace("`", "").split())


def section(doc: str, title: str) -> str:
    """The body of ``## title`` in a Markdown document."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no '## {title}' section"
    return match[1]


def entries(text: str, bullet: str) -> dict[str, str]:
    """``<bullet> **term**: definition`` items (definitions may wrap) as {term: definition}."""
    pattern = rf"^{re.escape(bullet)} \*\*(.+?)\*\*: (.*?)(?=^{re.escape(bullet)} |^\S|\Z)"
    return {
        term: plain(definition)
        for term, definition in re.findall(pattern, text, re.MULTILINE | re.DOTALL)
    }


def test_code_glossary_is_the_docs_glossary() -> None:
    """Every term rmpplan/terms.py defines opens docs/checks.md with the same definition."""
    code = entries(rmpplan.terms.__doc__ or "", "*")
    docs = entries(section(CHECKS_DOC.read_text(encoding="utf-8"), "Glossary"), "-")
    assert set(code) == {"worker", "leader", "followers", "programmed core"}
    for term, definition in code.items():
        assert docs.get(term) == definition, term
    assert {"mask", "setup", "case"} <= set(docs)


def test_checks_table_states_each_summary_in_order() -> None:
    """docs/checks.md's table lists the checks in reporting order, each with its summary."""
    table = section(CHECKS_DOC.read_text(encoding="utf-8"), "The checks")
    rows = re.findall(r"^\| `([a-z-]+)` \| (.*?) \|", table, re.MULTILINE)
    assert [name for name, _ in rows] == [str(check) for check in Check]
    for (_, invariant), check in zip(rows, Check, strict=True):
        assert plain(invariant).startswith(check.summary), check
