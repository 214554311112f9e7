"""verify's JUnit report as CI servers read it: valid against the schema Jenkins'
xunit plugin validates with (tests/data/junit/README.md says where it comes
from), read back whole by junitparser, in both ``--junit-family`` forms, with
(classname, name) unique however many inputs share a name."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junitparser import Error, Failure, JUnitXml, Skipped

from tests.cli import run
from tests.projects import NOSMT, every_kind, write

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit" / "junit-10.xsd")
ARGS = ("verify", "topologies", "missing.yaml", "--rule", "apic-primary", "--jobs", "1")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every kind of test case: passed, expected (skipped), unexpected, stale, an
    input that does not parse, and one that is missing; with a configuration, so
    that whatever the report says of it is held to the schema too."""
    monkeypatch.chdir(tmp_path)
    return every_kind(tmp_path)


def schema_errors(report: str) -> list[str]:
    return [f"{error.path}: {error.reason}" for error in SCHEMA.iter_errors(report)]


def untimed(report: str) -> str:
    return re.sub(r'time="[0-9.]+"', 'time=""', report)


def without_file_and_line(report: str) -> str:
    """An xunit1 report with each test case's ``file`` and ``line`` taken away."""
    root = ET.fromstring(report)
    for case in root.iter("testcase"):
        case.attrib.pop("file")
        case.attrib.pop("line")
    return ET.tostring(root, encoding="unicode")


def test_default_report_is_valid(project: Path) -> None:
    """`--format junit` and `--junit-xml` are xunit2 by default, and valid."""
    result = run(*ARGS, "--format", "junit", "--junit-xml", "report.xml")
    assert result.exit_code == 2  # the missing and broken inputs
    assert schema_errors(result.stdout) == []
    written = (project / "report.xml").read_text(encoding="utf-8")
    assert schema_errors(written) == []
    assert untimed(written) == untimed(result.stdout)
    assert "file=" not in result.stdout
    assert 'skipped="' not in result.stdout.split("<testsuite ", 1)[0]  # not on the root
    explicit = run(*ARGS, "--format", "junit", "--junit-family", "xunit2").stdout
    assert untimed(explicit) == untimed(result.stdout)


def test_xunit1_adds_file_and_line_only(project: Path) -> None:
    """xunit1 is xunit2 plus `file` and `line` on every test case: valid once they
    are taken away, which the schema refuses as they stand."""
    xunit1 = run(*ARGS, "--format", "junit", "--junit-family", "xunit1").stdout
    xunit2 = run(*ARGS, "--format", "junit").stdout
    assert any("'file'" in error for error in schema_errors(xunit1))
    stripped = without_file_and_line(xunit1)
    assert schema_errors(stripped) == []
    assert untimed(stripped) == untimed(ET.tostring(ET.fromstring(xunit2), encoding="unicode"))
    located = {
        (case.attrib["file"], case.attrib["name"]): int(case.attrib["line"])
        for case in ET.fromstring(xunit1).iter("testcase")
    }
    assert located[("topologies/nosmt.yaml", "online-equals-present")] == 8  # its offline: key
    assert located[("topologies/twice.yaml", "one-mask-cpu-per-core")] == 5  # CPU 2's entry
    assert located[("topologies/broken.yaml", "topologies/broken.yaml")] == 2  # the parse error
    assert located[("topologies/nosmt.yaml", "core-missed")] == 1  # passed: the file itself


@pytest.mark.parametrize("family", ["xunit2", "xunit1"])
def test_junitparser_reads_it_back(project: Path, family: str) -> None:
    """junitparser reads every suite and case, with counts that match its own
    count of the cases and the JSON report of the same run."""
    report = run(*ARGS, "--format", "junit", "--junit-family", family).stdout
    results = json.loads(run(*ARGS, "--format", "json").stdout)["results"]
    xml = JUnitXml.fromstring(report)
    suites = list(xml)
    assert [suite.name for suite in suites] == [result["path"] for result in results]
    totals: Counter[str] = Counter()
    for suite, result in zip(suites, results, strict=True):
        kinds = Counter(
            type(item).__name__ for case in suite for item in case.result
        )  # Failure, Skipped or Error
        assert suite.tests == len(list(suite))
        assert (suite.failures, suite.errors, suite.skipped) == (
            kinds["Failure"], kinds["Error"], kinds["Skipped"]
        )  # fmt: skip
        unexpected = {item["check"] for item in result["findings"] if not item["expected"]}
        expected = {item["check"] for item in result["findings"] if item["expected"]}
        failed = {case.name for case in suite if any(isinstance(r, Failure) for r in case.result)}
        assert failed == unexpected | set(result.get("stale_expectations", []))
        skipped = {case.name for case in suite if any(isinstance(r, Skipped) for r in case.result)}
        assert skipped == expected
        errors = [case for case in suite if any(isinstance(r, Error) for r in case.result)]
        assert len(errors) == (result.get("error") is not None)
        totals.update(tests=suite.tests, failures=suite.failures, errors=suite.errors)
    assert (xml.tests, xml.failures, xml.errors) == (
        totals["tests"], totals["failures"], totals["errors"]
    )  # fmt: skip


def test_names_stay_unique_across_copies(project: Path) -> None:
    """The same file three times, two files sharing a topology name, a topology
    named like a copy's classname and a missing path twice: every (classname, name)
    is one test, numbered [2], [3] in input order."""
    write(project / "other" / "nosmt.yaml", NOSMT)
    write(project / "other" / "copy.yaml", NOSMT.replace("name: nosmt", "name: 'nosmt[2]'"))
    nosmt = "topologies/nosmt.yaml"
    args = (nosmt, nosmt, "other/copy.yaml", "other/nosmt.yaml", nosmt, "gone.yaml", "gone.yaml")
    report = run("verify", *args, "--jobs", "1", "--format", "junit").stdout
    assert schema_errors(report) == []
    cases = [
        (c.attrib["classname"], c.attrib["name"]) for c in ET.fromstring(report).iter("testcase")
    ]
    assert len(cases) == len(set(cases))
    classes = list(dict.fromkeys(classname for classname, _ in cases))
    assert classes == [
        "rmpplan.nosmt", "rmpplan.nosmt[2]", "rmpplan.nosmt[2][2]", "rmpplan.nosmt[3]",
        "rmpplan.nosmt[4]", "rmpplan.input", "rmpplan.input[2]",
    ]  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(st.characters(codec="utf-8"), min_size=1, max_size=20))
def test_any_name_stays_valid(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    """A topology name and a file name of any characters (XML cannot hold some at
    all) still give a report valid in both families."""
    root = tmp_path_factory.mktemp("names")
    file = (name.replace("/", "_").replace("\x00", "0").lstrip(".") or "x")[:60] + ".yaml"
    write(root / file, NOSMT.replace("name: nosmt", "name: " + json.dumps(name)))
    for family in ("xunit2", "xunit1"):
        report = run(
            "verify", str(root), "--jobs", "1", "--format", "junit", "--junit-family", family
        )
        text = report.stdout if family == "xunit2" else without_file_and_line(report.stdout)
        assert schema_errors(text) == [], (family, name)
