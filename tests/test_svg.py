"""Machine pictures (--svg FILE, --format svg): valid SVG, every CPU drawn once or
counted in a fold, roles and core verdicts equal to the JSON reports', a legend,
text at WCAG AA contrast, hover titles, the same bytes for the same input, and
outputs that never destroy."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan.cpumask import parse_cpulist
from rmpplan.explain import explain
from rmpplan.inputs import load_machine
from rmpplan.picture import explain_picture
from rmpplan.render.svg import render_picture
from rmpplan.terms import Strategy
from rmpplan.topology.machine import Machine
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES
from tests.machines import machines, rebuilt

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
WCAG_AA = 4.5

# (command line of a one-worker report, its hotplug offline-after-setup list): plan
# and explain on the bundled machines, every strategy, offline CPUs, folds.
CASES = [
    ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "17"],
    ["plan", "topologies/epyc-9965-2s.yaml", "--leader", "401", "--strategy", "clear-cpu"],
    ["plan", "topologies/xeon-2s-adjacent.yaml", "--leader", "3", "--strategy", "v2-all-cpus"],
    ["plan", "topologies/power9-sparse.yaml", "--leader", "8", "--strategy", "v8-three-way"],
    ["plan", "docs/examples/primary-offline.yaml", "--leader", "10", "--rule", "apic-primary"],
    ["explain", "docs/examples/maxcpus.yaml", "--leader", "1", "--strategy", "clear-cpu"],
    [
        "explain",
        "docs/examples/hotplug-online-unprogrammed.yaml",
        "--leader",
        "7",
        "--strategy",
        "v8-three-way",
    ],
    ["explain", "docs/examples/hotplug-offline-follower.yaml", "--leader", "4"],
    [
        "explain",
        "topologies/max-8192.yaml",
        "--leader",
        "4113",
        "--strategy",
        "clear-cpu",
        "--offline-after-setup",
        "300,4500",
    ],
]
GOLDEN_CASES = [
    ("plan-xeon-17", ["plan", "topologies/xeon-2s-adjacent.yaml", "--leader", "17"]),
    (
        "explain-primary-offline-clear-cpu",
        ["explain", "docs/examples/primary-offline.yaml", "--leader", "9", "--kernel", "v3"],
    ),
]


def parsed(text: str) -> ET.Element:
    """The document, parsed by an XML parser (which refuses anything not well-formed)."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def groups(root: ET.Element, attribute: str) -> Iterator[ET.Element]:
    for element in root.iter(f"{SVG}g"):
        if attribute in element.attrib:
            yield element


def drawn(root: ET.Element) -> tuple[dict[int, str], dict[int, str]]:
    """Each CPU's role as drawn (a CPU or a fold's thread), and where: cpu or fold."""
    roles: dict[int, str] = {}
    where: dict[int, str] = {}

    def add(cpu: int, role: str, how: str) -> None:
        assert cpu not in roles, f"CPU {cpu} drawn twice"
        roles[cpu], where[cpu] = role, how

    for group in groups(root, "data-cpu"):
        add(int(group.attrib["data-cpu"]), group.attrib["data-role"], "cpu")
    for fold in groups(root, "data-fold"):
        cpus = parse_cpulist(fold.attrib["data-cpus"])
        count = int(fold.attrib["data-fold"])
        # The count drawn ("N cores") is the number of cores whose CPUs it holds.
        assert count * len(fold.attrib["data-roles"].split()) == len(cpus), fold.attrib
        assert count >= 2
        for cpu in cpus:
            add(cpu, "fold", "fold")
    return roles, where


def run_args(args: list[str], fmt: str) -> str:
    result = run(*args, "--format", fmt)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def offline_after(args: list[str]) -> set[int]:
    if "--offline-after-setup" in args:
        return set(parse_cpulist(args[args.index("--offline-after-setup") + 1]))
    return set()


def expected_roles(args: list[str], report: dict[str, Any]) -> dict[int, str]:
    """Each CPU's role from the JSON report and the machine, computed here on its own."""
    machine = load_machine(ROOT / args[1])
    if args[0] == "plan":
        [item] = report["plans"]
        worker, leader = item["leader"], item["lead"]
        followers = set(parse_cpulist(item["followers"]))
        mask = set(parse_cpulist(str(report["rmpopt_cpumask"])))
    else:
        worker, leader = report["worker"], report["leader"]
        followers = set(parse_cpulist(str(report["followers"])))
        mask = set(parse_cpulist(report["steps"][0]["result"]))
    # The hotplug scenario: the file's lists, the flag replacing the file's offline one.
    scenario = yaml.safe_load((ROOT / args[1]).read_text(encoding="utf-8"))
    offline = offline_after(args) or set(
        parse_cpulist(str(scenario.get("offline_after_setup", "")))
    )
    online = set(parse_cpulist(str(scenario.get("online_after_setup", ""))))
    online_then = (set(machine.online) - offline) | online
    roles = {}
    for cpu in machine.cpus:
        if cpu == worker:
            roles[cpu] = "worker"
        elif cpu == leader:
            roles[cpu] = "leader"
        elif cpu not in online_then:
            roles[cpu] = "offline" if cpu in machine.online else "present-only"
        elif cpu in followers:
            roles[cpu] = "follower"
        elif cpu in mask:
            roles[cpu] = "mask"
        else:
            roles[cpu] = "not-sent"
    return roles


@pytest.mark.parametrize("args", CASES, ids=lambda args: f"{args[0]}-{Path(args[1]).stem}")
def test_every_cpu_once_with_the_json_role(args: list[str]) -> None:
    """Valid SVG; every present CPU drawn exactly once (or counted in one fold),
    with the role the JSON report gives it; a fold holds only CPUs of one role
    per thread and never a CPU the JSON names as worker or leader."""
    root = parsed(run_args(args, "svg"))
    report = json.loads(run_args(args, "json"))
    roles, where = drawn(root)
    expected = expected_roles(args, report)
    assert set(roles) == set(expected)
    for cpu, role in roles.items():
        if where[cpu] == "cpu":
            assert role == expected[cpu], f"CPU {cpu}"
        else:
            assert expected[cpu] not in ("worker", "leader")
    machine = load_machine(ROOT / args[1])
    for fold in groups(root, "data-fold"):
        threads = fold.attrib["data-roles"].split()
        for cpu in parse_cpulist(fold.attrib["data-cpus"]):
            # A fold's cores are alike: the i-th thread of each has the i-th role.
            position = machine.core_of(cpu).threads.index(cpu)
            assert expected[cpu] == threads[position], f"CPU {cpu}"


def test_core_marks_equal_explain_json() -> None:
    """Cores marked twice, missed and #UD are those explain's JSON names."""
    for args in CASES:
        if args[0] != "explain":
            continue
        root = parsed(run_args(args, "svg"))
        report = json.loads(run_args(args, "json"))
        machine = load_machine(ROOT / args[1])
        firsts: dict[str, set[int]] = {}
        for core in groups(root, "data-core"):
            package, die, number = map(int, core.attrib["data-core"].split("."))
            first = machine.core((package, die, number)).first
            firsts.setdefault(core.attrib["data-mark"], set()).add(first)
        folded = {fold.attrib["data-mark"] for fold in groups(root, "data-fold")}
        assert folded <= {"once", "idle"}, "a core with a finding was folded"
        assert firsts.get("twice", set()) == set(parse_cpulist(report["cores_twice"]))
        assert firsts.get("missed", set()) == set(parse_cpulist(report["cores_missed"]))
        unprogrammed = {
            cpu
            for item in report["findings"]
            if item["check"] == "unprogrammed-core"
            for cpu in item["cpus"]
        }
        assert firsts.get("unprogrammed", set()) == unprogrammed


def test_findings_are_never_folded_on_8192_cpus() -> None:
    """max-8192 folds runs of alike cores ("N cores"), fits about one screen,
    and keeps every core with a finding and the worker's core drawn."""
    args = CASES[-1]
    root = parsed(run_args(args, "svg"))
    folds = list(groups(root, "data-fold"))
    assert folds
    assert sum(1 for _ in groups(root, "data-cpu")) < 1000
    cores = {
        core.attrib["data-core"]: core.attrib["data-mark"] for core in groups(root, "data-core")
    }
    # 4113 is the secondary thread of core 17: clear-cpu runs that core twice; CPU 300 is
    # the mask CPU of core 300, offline after setup: missed.
    assert cores["0.0.17"] == "twice"
    assert cores["0.2.44"] == "missed"
    width, height = int(root.attrib["width"]), int(root.attrib["height"])
    assert width <= 1920
    assert height <= 1080


def test_768_cpus_fit_one_screen_unfolded() -> None:
    root = parsed(run_args(CASES[1], "svg"))
    assert not list(groups(root, "data-fold"))
    assert int(root.attrib["width"]) <= 1920
    assert int(root.attrib["height"]) <= 1080


def test_legend_names_every_role_and_verdict() -> None:
    root = parsed(run_args(CASES[0], "svg"))
    [legend] = list(groups(root, "data-legend"))
    said = " ".join(text.text or "" for text in legend.iter(f"{SVG}text"))
    for phrase in (
        "worker",
        "leader",
        "sent the IPI",
        "in rmpopt_cpumask",
        "not sent",
        "offline when the handler runs",
        "offline at setup",
        "once",
        "more than once",
        "missed",
        "#UD",
    ):
        assert phrase in said


def test_every_cpu_and_core_has_a_title() -> None:
    root = parsed(run_args(CASES[5], "svg"))
    for attribute in ("data-cpu", "data-core", "data-fold", "data-package", "data-die"):
        for group in groups(root, attribute):
            title = group.find(f"{SVG}title")
            assert title is not None and title.text, group.attrib
            assert group[0] is title
    [cpu0] = [g for g in groups(root, "data-cpu") if g.attrib["data-cpu"] == "0"]
    title = cpu0.find(f"{SVG}title")
    assert title is not None and "CPU 0" in (title.text or "")


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two #RRGGBB colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def backgrounds(root: ET.Element) -> Iterator[tuple[ET.Element, str]]:
    """Each text and the fill under it: the last box drawn before it, in its own
    frame (a translated group), that holds the point where its letters stand;
    the page's white when none does."""
    page = "#FFFFFF"

    def walk(element: ET.Element, boxes: list[ET.Element]) -> Iterator[tuple[ET.Element, str]]:
        for child in element:
            if child.tag == f"{SVG}rect" and "x" in child.attrib:
                boxes.append(child)
            elif child.tag == f"{SVG}text":
                x, y = int(child.attrib["x"]), int(child.attrib["y"]) - 3
                x += {"end": -2, "middle": 0}.get(child.attrib.get("text-anchor", ""), 2)
                under = [
                    box
                    for box in boxes
                    if int(box.attrib["x"]) <= x <= int(box.attrib["x"]) + int(box.attrib["width"])
                    and int(box.attrib["y"])
                    <= y
                    <= int(box.attrib["y"]) + int(box.attrib["height"])
                ]
                yield child, under[-1].attrib["fill"] if under else page
            elif child.tag == f"{SVG}g":
                yield from walk(child, [] if "transform" in child.attrib else boxes)

    yield from walk(root, [])


@pytest.mark.parametrize("index", [0, 5, 6, 7, 8])
def test_text_meets_wcag_aa_on_its_box(index: int) -> None:
    """Every text (CPU numbers, glyphs, verdicts, labels, the legend, the caption)
    has 4.5:1 or more against the fill under it (text is black unless it says)."""
    root = parsed(run_args(CASES[index], "svg"))
    fills: set[tuple[str, str]] = set()
    for text, fill in backgrounds(root):
        ink = text.attrib.get("fill", "#000000")
        assert contrast(ink, fill) >= WCAG_AA, (text.text, text.attrib, fill)
        fills.add((ink, fill))
    # The legend alone draws every role's and every verdict's look.
    assert len(fills) >= 10


def test_same_bytes_whatever_the_input_order() -> None:
    """The picture does not depend on the order of the CPUs in the input."""
    machine = load_machine(TOPOLOGIES / "power9-sparse.yaml")
    first = render_picture(explain_picture(explain(machine, 8)))
    again = render_picture(explain_picture(explain(rebuilt(machine, 3), 8)))
    assert first == again


@settings(max_examples=40, deadline=None)
@given(machine=machines(max_cpus=48), strategy=st.sampled_from(list(Strategy)), pick=st.integers())
def test_any_machine_draws_each_cpu_once(machine: Machine, strategy: Strategy, pick: int) -> None:
    """For any machine, strategy and worker: every CPU once, with its role from
    the explanation, and the cores marked twice and missed are explain's."""
    online = sorted(machine.online)
    worker = online[pick % len(online)]
    replayed = explain(machine, worker, strategy=strategy)
    root = parsed(render_picture(explain_picture(replayed)))
    roles, _ = drawn(root)
    assert set(roles) == set(machine.cpus)
    assert roles[worker] == "worker"
    for cpu, role in roles.items():
        if role == "follower":
            assert cpu in replayed.followers and cpu in replayed.online
    marks = {
        machine.core(tuple(map(int, g.attrib["data-core"].split(".")))).first: g.attrib["data-mark"]  # type: ignore[arg-type]
        for g in groups(root, "data-core")
    }
    assert {cpu for cpu, mark in marks.items() if mark == "twice"} == set(replayed.cores_twice)
    assert {cpu for cpu, mark in marks.items() if mark == "missed"} == set(replayed.cores_missed)


@pytest.mark.parametrize(("name", "args"), GOLDEN_CASES, ids=[name for name, _ in GOLDEN_CASES])
def test_golden(name: str, args: list[str]) -> None:
    """The pictures match the reviewed golden files (RMPPLAN_REGEN_GOLDEN=1 rewrites)."""
    out = run_args(args, "svg")
    golden = GOLDEN / f"{name}.svg"
    if os.environ.get("RMPPLAN_REGEN_GOLDEN") == "1":
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


HOSTILE = "<a & b]]>\x01\x1b[31m\u2028'\"</title><script>"


def test_hostile_name_gives_valid_svg(tmp_path: Path) -> None:
    """A name with markup, ]]>, quotes and control bytes stays text in valid SVG."""
    topo = tmp_path / "evil.yaml"
    topo.write_text(
        yaml.safe_dump(
            {
                "name": HOSTILE,
                "layout": {"packages": 1, "cores_per_die": 2, "threads_per_core": 2},
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.svg"
    result = run("plan", str(topo), "--leader", "0", "--svg", str(out))
    assert result.exit_code == 0, result.output
    root = parsed(out.read_text(encoding="utf-8"))
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert title.text.startswith("<a & b]]>\\x01\\x1b[31m\\u2028'\"</title><script>")


def test_svg_beside_every_format_and_command(tmp_path: Path) -> None:
    """--svg writes the same picture beside any format; verify and compare draw one too."""
    beside = tmp_path / "beside.svg"
    args = ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "17"]
    result = run(*args, "--format", "json", "--svg", str(beside))
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert beside.read_text(encoding="utf-8") == run_args(args, "svg")
    verify_svg, compare_svg = tmp_path / "verify.svg", tmp_path / "compare.svg"
    topo = str(TOPOLOGIES / "xeon-2s-adjacent.yaml")
    verified = run("verify", topo, "--strategy", "clear-cpu", "--svg", str(verify_svg))
    assert verified.exit_code == 1
    compared = run("compare", topo, "--svg", str(compare_svg))
    assert compared.exit_code == 0
    for picture in (verify_svg, compare_svg):
        root = parsed(picture.read_text(encoding="utf-8"))
        marks = {g.attrib["data-mark"] for g in groups(root, "data-core")}
        # Both draw a failing worker: under clear-cpu a secondary thread runs its core twice.
        assert "twice" in marks
        assert re.search(r"findings: .*core-run-twice", root.findtext(f"{SVG}title") or "")


def test_refuses_what_it_must_not_write(tmp_path: Path) -> None:
    """Never over an input, through a link, or over a FIFO; one worker, one input."""
    topo = tmp_path / "t.yaml"
    topo.write_text((EXAMPLES / "maxcpus.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    before = topo.read_bytes()
    one_error(run("plan", str(topo), "--leader", "0", "--svg", str(topo)), "is an input")
    assert topo.read_bytes() == before
    target = tmp_path / "target.svg"
    target.write_text("kept", encoding="utf-8")
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    one_error(run("plan", str(topo), "--leader", "0", "--svg", str(link)), "symbolic link")
    assert target.read_text(encoding="utf-8") == "kept"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_error(run("explain", str(topo), "--leader", "0", "--svg", str(fifo)), "FIFO")
    one_error(run("plan", str(topo), "--leader", "all", "--format", "svg"), "--leader N")
    one_error(
        run("verify", str(TOPOLOGIES), "--svg", str(tmp_path / "v.svg")), "exactly one topology"
    )
    one_error(
        run("verify", str(topo), "--builtin", "--svg", str(tmp_path / "v.svg")),
        "exactly one topology",
    )
    assert not (tmp_path / "v.svg").exists()
    # A regular output file of an earlier run is replaced, as --junit-xml is.
    out = tmp_path / "out.svg"
    out.write_text("old", encoding="utf-8")
    assert run("plan", str(topo), "--leader", "0", "--svg", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<?xml")
