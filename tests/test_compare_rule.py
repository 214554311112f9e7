"""compare's v2-all-cpus row: v2 builds no mask, so it is one row whose rule is
``none`` (JSON null), in every format, as plan, verify, explain and schedule say."""

from __future__ import annotations

import json

import pytest

from rmpplan.terms import Rule, Strategy
from tests.cli import run

EPYC = "topologies/epyc-9654-2s.yaml"
MASKED = [str(strategy) for strategy in Strategy if strategy is not Strategy.V2_ALL_CPUS]


def _json(*flags: str) -> list[dict[str, object]]:
    result = run("compare", EPYC, *flags, "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)["results"]
    return rows


@pytest.mark.parametrize("rules", [(), ("first-sibling",), ("apic-primary",)])
def test_json_has_one_v2_row_with_a_null_rule(rules: tuple[str, ...]) -> None:
    flags = [arg for rule in rules for arg in ("--rule", rule)]
    rows = _json(*flags)
    v2 = [row for row in rows if row["strategy"] == "v2-all-cpus"]
    assert len(v2) == 1
    assert v2[0]["rule"] is None
    assert not v2[0]["ok"]  # still verified: every SMT core runs each region twice
    asked = list(rules) or [str(rule) for rule in Rule]
    masked = [(row["strategy"], row["rule"]) for row in rows if row is not v2[0]]
    assert masked == [(strategy, rule) for strategy in MASKED for rule in asked]


def _v2_lines(fmt: str) -> list[str]:
    result = run("compare", EPYC, "--format", fmt)
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if "v2-all-cpus" in line]


def test_table_says_none() -> None:
    (line,) = _v2_lines("table")
    assert line.split()[:3] == ["v2-all-cpus", "none", "FAIL"]
    assert not any(str(rule) in line for rule in Rule)


def test_text_says_none() -> None:
    assert _v2_lines("text") == ["v2-all-cpus none: 1 finding(s)"]


def test_markdown_says_none() -> None:
    (line,) = _v2_lines("markdown")
    assert line.startswith("| `v2-all-cpus` | `none` | **fails**")
    assert not any(str(rule) in line for rule in Rule)


def test_masked_strategies_keep_their_rules_in_text() -> None:
    result = run("compare", EPYC, "--format", "text")
    heads = [line.split(":")[0] for line in result.stdout.splitlines() if ": " in line]
    for strategy in MASKED:
        for rule in Rule:
            assert f"{strategy} {rule}" in heads
