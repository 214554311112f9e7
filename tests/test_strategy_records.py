"""One record per strategy: plan, checks, explain and kernel derive from it.

The records' behaviour is held by the oracle tests (tests/oracle.py against
plan, checks and explain) and the golden files; these tests hold the shape:
every strategy has one record, no core module tests for a strategy by name,
and each consumer follows a change of the record's data (so explain reads
data, never another module's prose).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from rmpplan import strategies
from rmpplan.checks import checks_run, strategy_notes, verify
from rmpplan.explain import explain
from rmpplan.kernel import programming
from rmpplan.plan import HANDLERS, base_set, plan
from rmpplan.strategies import STRATEGIES, Base, Line, StrategyRecord
from rmpplan.terms import Case, Check, Rule, Strategy
from rmpplan.topology.machine import Cpu, Machine, build_machine

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ("plan.py", "checks.py", "explain.py", "kernel.py")


def smt2(cores: int = 2) -> Machine:
    """``cores`` two-thread cores, siblings numbered n and n + cores, all online."""
    cpus = [
        Cpu(cpu, 0, 0, cpu % cores, True, 2 * (cpu % cores) + cpu // cores)
        for cpu in range(2 * cores)
    ]
    return build_machine("smt2", cpus)


def test_every_strategy_has_one_record() -> None:
    """The records are total over Strategy, each under its own name, and the
    planner's handlers are the records' steps."""
    assert set(STRATEGIES) == set(Strategy)
    for name, item in STRATEGIES.items():
        assert item.strategy is name
        assert HANDLERS[name] is item.step
        for case, lines in item.lines.items():
            assert isinstance(case, Case)
            assert all(isinstance(line, Line) for line in lines)
        assert item.rare_branch is None or item.rare_branch in item.branches


def _strategy_tests(path: Path) -> list[str]:
    """Each comparison in ``path`` with a Strategy member (``strategy is Strategy.X``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                if (
                    isinstance(part, ast.Attribute)
                    and isinstance(part.value, ast.Name)
                    and part.value.id == "Strategy"
                ):
                    found.append(f"{path.name}:{node.lineno}: Strategy.{part.attr}")
    return found


@pytest.mark.parametrize("name", CONSUMERS)
def test_no_consumer_tests_for_a_strategy_by_name(name: str) -> None:
    """plan, checks, explain and kernel ask the record, never ``strategy is Strategy.X``."""
    assert _strategy_tests(ROOT / "rmpplan" / name) == []


def test_no_module_tests_for_a_strategy_by_name() -> None:
    """Nor does any other module (the renderers' ``rule`` under v2 included)."""
    found = [
        hit for path in sorted((ROOT / "rmpplan").rglob("*.py")) for hit in _strategy_tests(path)
    ]
    assert found == []


def test_the_ast_check_can_fail(tmp_path: Path) -> None:
    """The check above finds a comparison with a Strategy member."""
    sample = tmp_path / "sample.py"
    sample.write_text("if strategy is Strategy.V2_ALL_CPUS:\n    pass\n", encoding="utf-8")
    assert _strategy_tests(sample) == ["sample.py:1: Strategy.V2_ALL_CPUS"]


def test_explain_does_not_match_note_words() -> None:
    """explain decides from the verdict's branch counts, not by comparing note text."""
    tree = ast.parse((ROOT / "rmpplan" / "explain.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                assert not (isinstance(part, ast.Attribute) and part.attr == "notes"), node.lineno


@pytest.mark.parametrize("strategy", list(Strategy))
def test_checks_run_follows_the_record(strategy: Strategy) -> None:
    """The checks a strategy skips are the ones its record says do not apply."""
    ran = set(checks_run(strategy, log=True, landed=True))
    assert set(Check) - ran == STRATEGIES[strategy].skipped()
    if STRATEGIES[strategy].leads_elsewhere:
        assert Check.LEADER_ONLINE in ran


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> dict[Strategy, StrategyRecord]:
    """A writable copy of the records, put in place of the real ones for one test."""
    table = dict(STRATEGIES)
    for module in ("rmpplan.strategies", "rmpplan.plan", "rmpplan.checks"):
        monkeypatch.setattr(f"{module}.STRATEGIES", table)
    monkeypatch.setattr("rmpplan.explain.STRATEGIES", table)
    monkeypatch.setattr("rmpplan.kernel.STRATEGIES", table)
    return table


def test_a_records_note_reaches_verify_and_explain(
    patched: dict[Strategy, StrategyRecord],
) -> None:
    """A note set in the record is said by verify and by explain, whose own notes
    (v8's case 3 scenario) still come from the branch counts around it."""
    machine = smt2()
    before = explain(machine, 0, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY)
    note = "a note only the record holds"
    patched[Strategy.V8_THREE_WAY] = dataclasses.replace(
        STRATEGIES[Strategy.V8_THREE_WAY], note=note
    )
    verdict = verify(machine, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY)
    after = explain(machine, 0, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY)
    assert verdict.notes[0] == note
    assert after.notes == (note, *before.notes)
    assert any("smallest scenario" in said for said in after.notes)


def test_explain_shows_the_records_lines(patched: dict[Strategy, StrategyRecord]) -> None:
    """The handler lines explain shows are the record's, filled in for the worker."""
    machine = smt2()
    patched[Strategy.V9_ANDNOT] = dataclasses.replace(
        STRATEGIES[Strategy.V9_ANDNOT],
        lines={Case.ANDNOT: (Line("my_andnot({w}, {sib})", "{follow}", "from the record"),)},
    )
    steps = explain(machine, 1, Rule.FIRST_SIBLING, Strategy.V9_ANDNOT).steps
    codes = [item.code for item in steps]
    assert "my_andnot(1, topology_sibling_cpumask(1))" in codes
    assert not any(code.startswith("cpumask_andnot") for code in codes)
    mine = steps[codes.index("my_andnot(1, topology_sibling_cpumask(1))")]
    assert (mine.result, mine.note) == ("0", "from the record")


def test_base_and_programming_follow_the_record(
    patched: dict[Strategy, StrategyRecord],
) -> None:
    """A record whose base is every online CPU plans, programs and verifies that way."""
    machine = smt2()
    online = machine.online
    mask = frozenset({0, 1})
    assert base_set(Strategy.CLEAR_CPU, mask, online) == mask
    assert programming(None, Strategy.CLEAR_CPU, mask, online) == mask
    patched[Strategy.CLEAR_CPU] = dataclasses.replace(
        STRATEGIES[Strategy.CLEAR_CPU], base=Base.ONLINE, programs_online=True, has_mask=False
    )
    assert base_set(Strategy.CLEAR_CPU, mask, online) == online
    assert programming(None, Strategy.CLEAR_CPU, mask, online) == online
    assert plan(machine, (0,), Rule.FIRST_SIBLING, Strategy.CLEAR_CPU).mask == online
    verdict = verify(machine, Rule.FIRST_SIBLING, Strategy.CLEAR_CPU)
    assert not {item.check for item in verdict.findings} & {
        Check.ONE_MASK_CPU_PER_CORE,
        Check.MASK_WITHIN_ONLINE,
    }


def test_strategy_notes_count_the_records_branches() -> None:
    """The branch notes: taken by how many workers, or unreachable; the rare one
    left out on request (explain shows how to reach it instead)."""
    counts = ((Case.CASE_1, 3), (Case.CASE_2, 1), (Case.CASE_3, 0))
    said = strategy_notes(Strategy.V8_THREE_WAY, counts, 4)
    assert said == [
        "case 1 taken by 3 of 4 worker CPUs",
        "case 2 taken by 1 of 4 worker CPUs",
        "case 3 unreachable on this machine",
    ]
    assert strategy_notes(Strategy.V8_THREE_WAY, counts, 4, rare=False) == said[:2]
    assert strategy_notes(Strategy.V2_ALL_CPUS, (), 4) == [STRATEGIES[Strategy.V2_ALL_CPUS].note]


def test_verdict_keeps_the_branch_counts() -> None:
    """verify counts, per branch the record names, the workers that take it."""
    machine = smt2()
    verdict = verify(machine, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY)
    assert dict(verdict.branches) == {Case.CASE_1: 2, Case.CASE_2: 2, Case.CASE_3: 0}
    assert verify(machine).branches == ()


def test_records_module_imports_only_the_vocabulary() -> None:
    """The records sit below plan, checks, explain and kernel: no cycle can form."""
    tree = ast.parse(Path(strategies.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rmpplan")
    }
    assert imported == {"rmpplan.terms"}
