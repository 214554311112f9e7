"""``verify --format junit`` and ``--junit-xml``: a JUnit XML test report.

One ``<testsuite>`` per input, one ``<testcase>`` per check that ran on it
(a passing check is a passed test case). A failing check holds a
``<failure>``, an expected one a ``<skipped>``, a stale expectation a
``<failure>`` too; an input that could not be read is one test case with an
``<error>``. GitLab shows only the element's text, not its ``message``, so
the text says everything: path, topology, check, message and counterexample CPUs.

Two families, as pytest's ``junit_family``: ``xunit2`` (the default) is valid
against the schema Jenkins' xunit plugin validates with (junit-10.xsd);
``xunit1`` adds ``file`` and ``line`` to each test case, which that schema
refuses but GitLab shows as a link to the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rmpplan.checks import checks_run
from rmpplan.escaping import xml_text
from rmpplan.render.common import cpulist, rule_text
from rmpplan.render.github import finding_line
from rmpplan.render.outcome import STALE
from rmpplan.terms import Check, JunitFamily
from rmpplan.topology.parse import LineIndex

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Finding


def _seconds(value: float) -> str:
    return f"{value:.3f}"


@dataclass
class _Counts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, other: _Counts) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped

    def attributes(self, element: ET.Element, seconds: float, *, skipped: bool = True) -> None:
        """The counts and time; ``skipped`` is not an attribute of ``<testsuites>``
        in junit-10.xsd, so the root goes without it."""
        for key in ("tests", "failures", "errors", *(("skipped",) if skipped else ())):
            element.set(key, str(getattr(self, key)))
        element.set("time", _seconds(seconds))


def _body(checked: Checked, findings: Sequence[Finding]) -> str:
    head = checked.path + ("" if checked.facts is None else f" ({checked.facts.name})")
    lines = [head]
    for item in findings:
        lines += [f"{item.check}: {item.message}", f"counterexample CPUs: {cpulist(item.cpus)}"]
    return "\n".join(lines)


@dataclass
class _Names:
    """Test case names kept unique: (classname, name) identifies a test in CI
    history, and two files may share a topology name (or a path be given twice)."""

    taken: set[tuple[str, str]] = field(default_factory=set)
    # The copy number to try next for a base and its names: the numbers below it
    # are taken, so n inputs sharing a name cost n tries, not n squared over 2.
    next_copy: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)

    def classname(self, base: str, names: Sequence[str]) -> str:
        """``base``, or ``base[2]``, ``base[3]``...: the first that is free for every name."""
        key = (base, tuple(names))
        copy = self.next_copy.get(key, 1)
        unique = base if copy == 1 else f"{base}[{copy}]"
        while any((unique, name) in self.taken for name in names):
            copy += 1
            unique = f"{base}[{copy}]"
        self.next_copy[key] = copy + 1
        self.taken.update((unique, name) for name in names)
        return unique


@dataclass(frozen=True, slots=True)
class _Suite:
    """What one input's suite is built from."""

    element: ET.Element
    properties: ET.Element
    checked: Checked
    family: JunitFamily
    index: LineIndex

    def case(self, classname: str, name: str, line: int = 1) -> ET.Element:
        attributes = {"classname": xml_text(classname), "name": xml_text(name)}
        if self.family is JunitFamily.XUNIT1:
            attributes |= {"file": xml_text(self.checked.path), "line": str(line)}
        return ET.SubElement(self.element, "testcase", attributes)


def render_verify(
    results: Sequence[Checked],
    seconds: Sequence[float] | None = None,
    *,
    family: JunitFamily = JunitFamily.XUNIT2,
    lines: Mapping[str, LineIndex] | None = None,
    config: Path | None = None,
) -> str:
    """The report; ``seconds`` is how long each input took (zero when not given),
    ``lines`` locates findings in each path's file for ``xunit1``'s ``line``,
    ``config`` is the configuration file used: a property of every suite (the
    schemas CI servers validate with allow properties on a testsuite only).

    Checks are proved in one pass over each input, so each test case gets an
    equal share of its input's time.
    """
    times = list(seconds) if seconds is not None else [0.0] * len(results)
    root = ET.Element("testsuites", {"name": "rmpplan verify"})
    total = _Counts()
    names = _Names()
    for checked, elapsed in zip(results, times, strict=True):
        element = ET.SubElement(root, "testsuite", {"name": xml_text(checked.path)})
        # First in the suite: the schema puts properties before the test cases.
        properties = ET.SubElement(element, "properties")
        used = "none" if config is None else xml_text(str(config))
        ET.SubElement(properties, "property", {"name": "config", "value": used})
        index = (lines or {}).get(checked.path, LineIndex())
        counts, cases = _suite(_Suite(element, properties, checked, family, index), names)
        for case in cases:
            case.set("time", _seconds(elapsed / len(cases)))
        counts.attributes(element, elapsed)
        total.add(counts)
    total.attributes(root, sum(times), skipped=False)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(suite: _Suite, names: _Names) -> tuple[_Counts, list[ET.Element]]:
    """Fill one input's suite; its counts and test cases."""
    counts = _Counts()
    checked = suite.checked
    verdict, held = checked.verdict, checked.outcome
    if verdict is None or held is None:
        classname = names.classname("rmpplan.input", [checked.path])
        case = suite.case(classname, checked.path, checked.error_line or 1)
        message = checked.error or "cannot read"
        error = ET.SubElement(case, "error", {"message": xml_text(message), "type": "input"})
        error.text = xml_text(f"{checked.path}: {message}")
        counts.tests, counts.errors = 1, 1
        return counts, [case]
    properties = suite.properties
    rule = rule_text(verdict.rule, verdict.strategy)
    for key, value in (("rule", rule), ("strategy", verdict.strategy)):
        ET.SubElement(properties, "property", {"name": key, "value": str(value)})
    ran = {
        *checks_run(verdict.strategy, log=verdict.log_checked, landed=verdict.landed_checked),
        *held.stale,
    }
    checks = [check for check in Check if check in ran]
    expected = {item.check for item in held.expected}
    machine = "" if checked.facts is None else checked.facts.name
    classname = names.classname(f"rmpplan.{machine}", checks)
    cases = []
    for check in checks:
        found = [item for item in verdict.findings if item.check == check]
        line = finding_line(found[0], suite.index) if found else 1
        case = suite.case(classname, check, line)
        cases.append(case)
        counts.tests += 1
        if check in held.stale:
            counts.failures += 1
            failure = ET.SubElement(
                case, "failure", {"message": f"{check} {STALE}", "type": str(check)}
            )
            failure.text = xml_text(f"{_body(checked, [])}\n{check} {STALE}")
        elif found and check in expected:
            counts.skipped += 1
            skipped = ET.SubElement(case, "skipped", {"message": "expected finding"})
            skipped.text = xml_text(_body(checked, found))
        elif found:
            counts.failures += 1
            message = "; ".join(item.message for item in found)
            failure = ET.SubElement(
                case, "failure", {"message": xml_text(message), "type": str(check)}
            )
            failure.text = xml_text(_body(checked, found))
    return counts, cases
