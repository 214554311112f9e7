"""``verify --format junit`` and ``--junit-xml``: a JUnit XML test report.

One ``<testsuite>`` per input, one ``<testcase>`` per check that ran on it
(a passing check is a passed test case). A failing check holds a
``<failure>``, an expected one a ``<skipped>``, a stale expectation a
``<failure>`` too; an input that could not be read is one test case with an
``<error>``. GitLab shows only the element's text, not its ``message``, so
the text says everything: path, topology, check, message and counterexample CPUs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.checks import checks_run, outcome
from rmpplan.errors import printable
from rmpplan.render.common import cpulist, rule_text
from rmpplan.render.outcome import STALE
from rmpplan.terms import Check

if TYPE_CHECKING:
    from rmpplan.checks import Checked, Finding

# XML 1.0 cannot hold these at all, not even escaped; a path may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    # Escaped as every other format escapes them: a path byte that is not UTF-8 as \xNN.
    return _NOT_XML.sub(lambda match: printable(match.group()), value)


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

    def attributes(self, element: ET.Element, seconds: float) -> None:
        for key in ("tests", "failures", "errors", "skipped"):
            element.set(key, str(getattr(self, key)))
        element.set("time", _seconds(seconds))


def _body(checked: Checked, findings: Sequence[Finding]) -> str:
    head = checked.path + ("" if checked.facts is None else f" ({checked.facts.name})")
    lines = [head]
    for item in findings:
        lines += [f"{item.check}: {item.message}", f"counterexample CPUs: {cpulist(item.cpus)}"]
    return "\n".join(lines)


class _Names:
    """Test case names kept unique: (classname, name) identifies a test in CI
    history, and two files may share a topology name (or a path be given twice)."""

    def __init__(self) -> None:
        self.taken: set[tuple[str, str]] = set()

    def classname(self, base: str, names: Sequence[str]) -> str:
        """``base``, or ``base[2]``, ``base[3]``...: the first that is free for every name."""
        unique, copy = base, 1
        while any((unique, name) in self.taken for name in names):
            copy += 1
            unique = f"{base}[{copy}]"
        self.taken.update((unique, name) for name in names)
        return unique


def _case(suite: ET.Element, classname: str, name: str, path: str) -> ET.Element:
    attributes = {"classname": _text(classname), "name": _text(name), "file": _text(path)}
    return ET.SubElement(suite, "testcase", attributes)


def render_verify(results: Sequence[Checked], seconds: Sequence[float] | None = None) -> str:
    """The report; ``seconds`` is how long each input took (zero when not given).

    Checks are proved in one pass over each input, so each test case gets an
    equal share of its input's time.
    """
    times = list(seconds) if seconds is not None else [0.0] * len(results)
    root = ET.Element("testsuites", {"name": "rmpplan verify"})
    total = _Counts()
    names = _Names()
    for checked, elapsed in zip(results, times, strict=True):
        suite = ET.SubElement(root, "testsuite", {"name": _text(checked.path)})
        counts, cases = _suite(suite, checked, names)
        for element in cases:
            element.set("time", _seconds(elapsed / len(cases)))
        counts.attributes(suite, elapsed)
        total.add(counts)
    total.attributes(root, sum(times))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(suite: ET.Element, checked: Checked, names: _Names) -> tuple[_Counts, list[ET.Element]]:
    """Fill one input's suite; its counts and test cases."""
    counts = _Counts()
    verdict = checked.verdict
    if verdict is None:
        classname = names.classname("rmpplan.input", [checked.path])
        case = _case(suite, classname, checked.path, checked.path)
        message = checked.error or "cannot read"
        error = ET.SubElement(case, "error", {"message": _text(message), "type": "input"})
        error.text = _text(f"{checked.path}: {message}")
        counts.tests, counts.errors = 1, 1
        return counts, [case]
    properties = ET.SubElement(suite, "properties")
    rule = rule_text(verdict.rule, verdict.strategy)
    for key, value in (("rule", rule), ("strategy", verdict.strategy)):
        ET.SubElement(properties, "property", {"name": key, "value": str(value)})
    held = outcome(verdict, checked.expect)
    ran = {
        *checks_run(verdict.strategy, log=verdict.log_checked, landed=verdict.landed_checked),
        *held.stale,
    }
    checks = [check for check in Check if check in ran]
    machine = "" if checked.facts is None else checked.facts.name
    classname = names.classname(f"rmpplan.{machine}", checks)
    cases = []
    for check in checks:
        case = _case(suite, classname, check, checked.path)
        cases.append(case)
        counts.tests += 1
        found = [item for item in verdict.findings if item.check == check]
        if check in held.stale:
            counts.failures += 1
            failure = ET.SubElement(
                case, "failure", {"message": f"{check} {STALE}", "type": str(check)}
            )
            failure.text = _text(f"{_body(checked, [])}\n{check} {STALE}")
        elif found and check in checked.expect:
            counts.skipped += 1
            skipped = ET.SubElement(case, "skipped", {"message": "expected finding"})
            skipped.text = _text(_body(checked, found))
        elif found:
            counts.failures += 1
            message = "; ".join(item.message for item in found)
            failure = ET.SubElement(
                case, "failure", {"message": _text(message), "type": str(check)}
            )
            failure.text = _text(_body(checked, found))
    return counts, cases
