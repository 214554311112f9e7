"""verify's CI formats: every format reports the same findings; JUnit, GitHub and
JSON-lines specifics (escaping, line numbers, the annotation cap, streaming)."""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from rmpplan.checks import Finding
from rmpplan.cpumask import format_cpulist
from rmpplan.escaping import printable
from rmpplan.render import github
from rmpplan.render.outcome import STALE
from rmpplan.terms import Check, InputFormat, OutputFormat, VerifyFormat
from rmpplan.topology.load import topology_lines
from rmpplan.topology.machine import Machine
from tests.cli import run
from tests.conftest import ROOT
from tests.projects import NOSMT, every_kind, located_inputs, write

# What a report says, whatever its shape: (kind, path, check, counterexample cpulist),
# kind being expected, unexpected, stale (check only) or error (path only).
Item = tuple[str, str, str, str]

ANNOTATION = re.compile(r"::error (?P<props>[^:]*)::(?P<message>.*)")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with every kind of result: passed, expected, unexpected (a check
    twice), stale, a file that does not parse; the current directory is its root."""
    monkeypatch.chdir(tmp_path)
    return every_kind(tmp_path, my_box=True)


ARGS = ("topologies", "missing.yaml", "--rule", "apic-primary")


def from_entries(entries: list[dict[str, object]]) -> list[Item]:
    """Items of JSON result entries."""
    items: list[Item] = []
    for entry in entries:
        path = str(entry["path"])
        if "error" in entry:
            items.append(("error", path, "", ""))
            continue
        findings = entry["findings"]
        assert isinstance(findings, list)
        for found in findings:
            kind = "expected" if found["expected"] else "unexpected"
            items.append((kind, path, found["check"], format_cpulist(found["cpus"])))
        stale = entry["stale_expectations"]
        assert isinstance(stale, list)
        items += [("stale", path, check, "") for check in stale]
    return items


def parse_json(out: str) -> list[Item]:
    return from_entries(json.loads(out)["results"])


def parse_jsonl(out: str) -> list[Item]:
    records = [json.loads(line) for line in out.split("\n")[:-1]]
    assert records[-1]["kind"] == "trailer"  # the run's last line
    return from_entries(records[:-1])


def parse_text(out: str) -> list[Item]:
    items: list[Item] = []
    path = ""
    for line in out.splitlines():
        if line.startswith("summary: "):
            break  # the run's counts close the report
        if line.startswith("config: "):
            continue  # the header naming the configuration file
        if line.startswith("ERROR "):
            items.append(("error", line[6:].split(": ")[0], "", ""))
        elif line[:5] in ("ok   ", "FAIL ", "xfail"):
            path = line[6:].split(" (")[0]
        elif not line.startswith("  note: "):
            match = re.fullmatch(r"  (\S+)(?: \((expected|stale)\))?: .*?(?:\[cpus (.*)\])?", line)
            assert match, line
            check, mark, cpus = match.groups()
            items.append((mark or "unexpected", path, check, cpus or ""))
    return items


MARKDOWN_ROW = r"\| `(\S+)`(?: \((expected|stale)\))? \| `?([^`|]*?)`? ?\| .*"


def parse_markdown(out: str) -> list[Item]:
    items: list[Item] = []
    path = ""  # set by the first per-file section, after the summary table
    for line in out.splitlines():
        if heading := re.fullmatch(r"#### `(.*)`", line):
            path = heading.group(1)
        elif error := re.fullmatch(r"\| `(.*?)` \| \| \| \| error: .*", line):
            items.append(("error", error.group(1), "", ""))
        elif not path:
            continue
        elif row := re.fullmatch(MARKDOWN_ROW, line):
            check, mark, cpus = row.groups()
            items.append((mark or "unexpected", path, check, cpus.strip()))
    return items


def parse_table(out: str) -> list[Item]:
    items: list[Item] = []
    path = ""
    in_detail = False
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if line.startswith("config: "):
            continue  # the header naming the configuration file
        if not line:
            in_detail = False
        elif "error: " in line and not in_detail:
            items.append(("error", cells[0], "", ""))
        elif re.fullmatch(r"\S+: \S+", line):
            path, in_detail = line.split(": ")[0], True
        elif in_detail and cells[0] not in ("Check", "note") and not line.startswith("─"):
            check, _, mark = cells[0].partition(" ")
            kind = mark.strip("()") or "unexpected"
            items.append((kind, path, check, cells[1] if kind != "stale" else ""))
    return items


def parse_junit(out: str) -> list[Item]:
    items: list[Item] = []
    root = ET.fromstring(out)
    for suite in root.iter("testsuite"):
        path = suite.attrib["name"]
        for case in suite.iter("testcase"):
            for child in case:
                text = child.text or ""
                if child.tag == "error":
                    items.append(("error", path, "", ""))
                elif child.tag == "failure" and STALE in child.attrib["message"]:
                    items.append(("stale", path, case.attrib["name"], ""))
                else:
                    kind = "expected" if child.tag == "skipped" else "unexpected"
                    lines = text.splitlines()
                    for before, line in itertools.pairwise(lines):
                        if line.startswith("counterexample CPUs: "):
                            check = before.split(": ")[0]
                            items.append((kind, path, check, line.split(": ")[1]))
    return items


def parse_github(out: str) -> list[Item]:
    items: list[Item] = []
    path = ""

    def problem(title: str, message: str) -> None:
        if title == "rmpplan":
            items.append(("error", path, "", ""))
        elif STALE in message:
            items.append(("stale", path, title.split()[1], ""))
        else:
            cpus = re.search(r"\(CPUs ([^)]*)\)$", message)
            assert cpus, message
            items.append(("unexpected", path, title.split()[1], cpus.group(1)))

    for line in out.splitlines():
        if line.startswith("::group::"):
            path = unescape(line[len("::group::") :])
        elif annotation := ANNOTATION.fullmatch(line):
            props = dict(part.split("=", 1) for part in annotation.group("props").split(","))
            if "file" in props:
                problem(unescape(props["title"]), unescape(annotation.group("message")))
        elif plain := re.fullmatch(r"error: (\S+?):\d+: (rmpplan(?: \S+)?): (.*)", line):
            problem(plain.group(2), plain.group(3))
        elif expected := re.fullmatch(r"expected (\S+): .*\(CPUs ([^)]*)\)", line):
            items.append(("expected", path, expected.group(1), expected.group(2)))
    return items


CONCISE_LINE = re.compile(r"(?P<path>.*?):(?P<line>\d+): (?P<check>\S+): (?P<message>.*)")


def parse_concise(out: str) -> list[Item]:
    *lines, last = out.splitlines()
    assert last.startswith("rmpplan: ") and not CONCISE_LINE.fullmatch(last), last
    items: list[Item] = []
    for line in lines:
        match = CONCISE_LINE.fullmatch(line)
        assert match, line
        path, check, message = match["path"], match["check"], match["message"]
        if check == "error":
            items.append(("error", path, "", ""))
        elif STALE in message:
            items.append(("stale", path, check, ""))
        else:
            cpus = re.search(r"\(CPUs ([^)]*)\)$", message)
            assert cpus, message
            items.append(("unexpected", path, check, cpus.group(1)))
    return items


def unescape(text: str) -> str:
    """What GitHub's runner makes of an escaped value (its ActionCommand unescaping)."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


PARSERS: dict[VerifyFormat, Callable[[str], list[Item]]] = {
    VerifyFormat.TABLE: parse_table,
    VerifyFormat.JSON: parse_json,
    VerifyFormat.TEXT: parse_text,
    VerifyFormat.MARKDOWN: parse_markdown,
    VerifyFormat.JUNIT: parse_junit,
    VerifyFormat.GITHUB: parse_github,
    VerifyFormat.JSONL: parse_jsonl,
    VerifyFormat.CONCISE: parse_concise,
}


def test_verify_formats_cover_the_report_formats() -> None:
    """verify takes every report format, and this file parses every verify format."""
    assert {fmt.value for fmt in OutputFormat} <= {fmt.value for fmt in VerifyFormat}
    assert set(PARSERS) == set(VerifyFormat)


@pytest.mark.parametrize("fmt", list(VerifyFormat), ids=str)
def test_every_format_reports_the_same_findings(project: Path, fmt: VerifyFormat) -> None:
    """Each format, run over the same inputs, reports the same findings, expected ones,
    stale expectations and bad inputs as the JSON document, with the same exit code."""
    reference = run("verify", *ARGS, "--format", "json")
    expected = sorted(parse_json(reference.stdout))
    kinds = {item[0] for item in expected}
    assert kinds == {"expected", "unexpected", "stale", "error"}
    assert len([i for i in expected if i[2] == Check.ONE_MASK_CPU_PER_CORE]) == 2
    result = run("verify", *ARGS, "--format", fmt.value)
    assert result.exit_code == reference.exit_code == 2
    if fmt is VerifyFormat.CONCISE:  # a line per problem: an expected finding is none
        expected = [item for item in expected if item[0] != "expected"]
    assert sorted(PARSERS[fmt](result.stdout)) == expected


def test_junit_parses_back_with_consistent_counts(project: Path) -> None:
    """The JUnit report is well-formed XML whose counts add up, one suite per input,
    with rule and strategy properties and unique (classname, name) pairs."""
    out = run("verify", *ARGS, "topologies/twice.yaml", "--format", "junit").stdout
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert root.attrib["name"] == "rmpplan verify"
    suites = root.findall("testsuite")
    assert [s.attrib["name"] for s in suites] == [
        "topologies/broken.yaml",
        "topologies/my-box.json",
        "topologies/nosmt.yaml",
        "topologies/stale.yaml",
        "topologies/twice.yaml",
        "missing.yaml",
        "topologies/twice.yaml",
    ]
    pairs = []
    for element in (root, *suites):
        cases = list(element.iter("testcase"))
        assert int(element.attrib["tests"]) == len(cases)
        for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            if element is root and key == "skipped":  # not a testsuites attribute in junit-10.xsd
                assert key not in element.attrib
                continue
            assert int(element.attrib[key]) == len(list(element.iter(tag)))
        assert float(element.attrib["time"]) >= 0
    for suite in suites:
        for case in suite.iter("testcase"):
            pairs.append((case.attrib["classname"], case.attrib["name"]))
            assert "file" not in case.attrib  # xunit2 (tests/test_junit_schema.py)
        if suite.find("testcase/error") is None:
            properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
            assert properties == {
                "config": "rmpplan.toml",
                "rule": "apic-primary",
                "strategy": "v9-andnot",
            }
    assert len(pairs) == len(set(pairs))
    assert ("rmpplan.twice[2]", "core-run-twice") in pairs
    twice = next(s for s in suites if s.attrib["name"] == "topologies/twice.yaml")
    failure = twice.find("testcase[@name='one-mask-cpu-per-core']/failure")
    assert failure is not None and failure.text is not None
    # GitLab shows only the text: it holds both findings and their CPUs.
    assert "counterexample CPUs: 2-3" in failure.text
    assert "counterexample CPUs: 0-1" in failure.text
    skipped = root.find(".//testcase[@classname='rmpplan.nosmt']/skipped")
    assert skipped is not None and skipped.attrib["message"] == "expected finding"


def test_junit_v2_has_no_mask_checks(project: Path) -> None:
    """Under v2-all-cpus the two mask checks do not run, so they are no test cases."""
    out = run("verify", "topologies/nosmt.yaml", "--strategy", "v2-all-cpus", "--format", "junit")
    names = [case.attrib["name"] for case in ET.fromstring(out.stdout).iter("testcase")]
    assert Check.MASK_WITHIN_ONLINE not in names
    assert Check.ONE_MASK_CPU_PER_CORE not in names
    assert Check.CORE_RUN_TWICE in names


def test_junit_xml_beside_another_format(project: Path) -> None:
    """--junit-xml writes the JUnit report while stdout keeps the chosen format."""
    (project / "out").mkdir()
    result = run("verify", *ARGS, "--format", "text", "--junit-xml", "out/report.xml")
    assert result.exit_code == 2
    assert result.stdout.startswith("config: rmpplan.toml\nERROR topologies/broken.yaml")
    written = (project / "out" / "report.xml").read_text(encoding="utf-8")
    printed = run("verify", *ARGS, "--format", "junit").stdout
    assert untimed(written) == untimed(printed)


def test_junit_unwritable_file_is_one_error(project: Path) -> None:
    """A --junit-xml path that cannot be written is bad input, one line, exit 2."""
    result = run("verify", "topologies/nosmt.yaml", "--junit-xml", "nowhere/report.xml")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "rmpplan: error: nowhere/report.xml: cannot write here: No such file or directory"
    ]


def test_junit_survives_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path with characters XML cannot hold still gives a report that parses."""
    monkeypatch.chdir(tmp_path)
    name = 'odd\x01\x1b<&>".yaml'
    write(tmp_path / name, NOSMT)
    out = run("verify", name, "--format", "junit").stdout
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    assert suite.attrib["name"] == 'odd\\x01\\x1b<&>".yaml'


def untimed(report: str) -> str:
    """A JUnit report with its times blanked, which vary from run to run."""
    return re.sub(r'time="[0-9.]+"', 'time=""', report)


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("50%", "50%25", "50%25"),
        ("a\nb\r\nc", "a\\nb\\r\\nc", "a\\nb\\r\\nc"),  # escaped as every format escapes them
        ("##[error]x", "##\\[error]x", "##\\[error]x"),
        ("x:y,z", "x:y,z", "x%3Ay%2Cz"),
        ("%0A", "%250A", "%250A"),
        ("::error::no", "::error::no", "%3A%3Aerror%3A%3Ano"),
    ],
)
def test_github_escaping(text: str, data: str, prop: str) -> None:
    """Messages escape %; properties also : and , (GitHub's toolkit vectors); line
    breaks and the legacy ``##[`` never reach the runner."""
    assert github.escape_data(text) == data
    assert github.escape_property(text) == prop
    assert unescape(prop) == github.log_text(text)


def test_github_hostile_path_cannot_inject_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file name with newlines, colons and commas stays inside its own command:
    every output line is a known command or a plain line, and the file comes back escaped."""
    monkeypatch.chdir(tmp_path)
    name = "a,b:c%d\n::warning::x.yaml"
    write(tmp_path / name, NOSMT)
    out = run("verify", name, "--format", "github").stdout
    notice, *lines = out.splitlines()
    assert notice.startswith("::notice title=rmpplan verify::configuration: ")
    assert all(
        not line.startswith("::") or re.match(r"::(group|endgroup|error)[ :]", line)
        for line in lines
    )
    annotation = ANNOTATION.fullmatch(lines[2])
    assert annotation is not None
    props = dict(part.split("=", 1) for part in annotation.group("props").split(","))
    assert unescape(props["file"]) == printable(name)
    assert unescape(lines[0][len("::group::") :]) == printable(name)


def test_github_lines_point_into_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An annotation's line is the first counterexample CPU's entry in a cpus: list,
    else the key that causes the finding, else 1; a parse error keeps its own line."""
    monkeypatch.chdir(tmp_path)
    out = run("verify", *located_inputs(tmp_path), "--format", "github").stdout
    found = [
        (props["file"], props["title"], int(props["line"]))
        for annotation in map(ANNOTATION.fullmatch, out.splitlines())
        if annotation is not None
        for props in [dict(p.split("=", 1) for p in annotation.group("props").split(","))]
    ]
    assert found == [
        ("twice.yaml", "rmpplan one-mask-cpu-per-core", 5),  # CPU 2's entry: core 1 has none
        ("twice.yaml", "rmpplan one-mask-cpu-per-core", 3),  # CPU 0's: core 0 has two
        ("twice.yaml", "rmpplan unprogrammed-core", 5),
        ("twice.yaml", "rmpplan core-run-twice", 5),
        ("nosmt.yaml", "rmpplan online-equals-present", 8),  # offline:
        ("hotplug.yaml", "rmpplan mask-within-online", 3),  # offline_after_setup:
        ("hotplug.yaml", "rmpplan core-missed", 3),
        ("broken.yaml", "rmpplan", 3),  # the parser's own line
    ]


def test_topology_lines_for_json_and_unreadable_files(tmp_path: Path) -> None:
    """JSON files are indexed like YAML; a file that cannot be read has no lines."""
    index = topology_lines(ROOT / "docs" / "topologies" / "my-box.json")
    assert index.cpus[3] == 8
    assert index.keys["possible"] == 3
    broken = write(tmp_path / "broken.yaml", "cpus: [\n")
    assert topology_lines(broken) == topology_lines(tmp_path / "absent.yaml")
    assert topology_lines(broken).keys == {}
    assert github.finding_line(Finding(Check.CORE_MISSED, "m", (0,)), topology_lines(broken)) == 1


def test_github_caps_annotations_at_ten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With more than 10 problems, 9 are annotated and a tenth says how many more;
    every problem is still a line of the log. With 10 or fewer, all are annotated."""
    monkeypatch.chdir(tmp_path)
    for index in range(12):
        write(tmp_path / "many" / f"m{index:02}.yaml", NOSMT)
    out = run("verify", "many", "--format", "github").stdout
    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(annotations) == github.ANNOTATIONS_MAX
    assert annotations[-1] == (
        "::error title=rmpplan verify::3 more problem(s) not annotated (GitHub shows 10 per "
        "step); this step's log lists every one, and the job summary all that fit in 1 MiB"
    )
    assert len(parse_github(out)) == 12
    for extra in range(2, 12):
        (tmp_path / "many" / f"m{extra:02}.yaml").unlink()
    out = run("verify", "many", "--format", "github").stdout
    assert out.count("::error file=") == 2
    assert "more problem(s)" not in out


def test_github_is_the_default_under_github_actions(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GITHUB_ACTIONS=true makes github the default format; --format still wins."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    notice = "::notice title=rmpplan verify::configuration: rmpplan.toml\n::group::"
    assert run("verify", "topologies/nosmt.yaml").stdout.startswith(notice)
    text = run("verify", "topologies/nosmt.yaml", "--format", "text").stdout
    assert text.startswith("config: rmpplan.toml\nFAIL")
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    table = run("verify", "topologies/nosmt.yaml").stdout
    assert table.startswith("config: rmpplan.toml\nPath")


def test_jsonl_lines_are_the_json_entries(project: Path) -> None:
    """Each jsonl line is the JSON document's entry for the same input, in path order."""
    doc = json.loads(run("verify", *ARGS, "--format", "json").stdout)
    lines = run("verify", *ARGS, "--format", "jsonl").stdout.split("\n")[:-2]  # the trailer
    assert [json.loads(line) for line in lines] == doc["results"]


def test_jsonl_prints_each_result_before_the_next_input(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result's line is on stdout before the next input is even loaded."""
    import rmpplan.inputs

    load = rmpplan.inputs.load_machine
    seen: list[int] = []

    def watched(path: Path, input_format: InputFormat | None = None) -> Machine:
        captured = sys.stdout.buffer
        assert isinstance(captured, io.BytesIO)  # CliRunner keeps stdout in memory
        seen.append(len(captured.getvalue().splitlines()))
        return load(path, input_format)

    monkeypatch.setattr(rmpplan.inputs, "load_machine", watched)
    run("verify", "topologies", "--format", "jsonl", "--jobs", "1")
    assert seen == list(range(len(seen)))
    assert len(seen) == 5
