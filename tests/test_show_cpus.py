"""show --cpus: one row per CPU (lscpu -e's habit), its facts those of the topology,
its mask and roles those plan and the picture compute, the same rows in every format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rmpplan.cpumask import parse_cpulist
from rmpplan.render.cpus import HEADER
from rmpplan.terms import OutputFormat
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, TOPOLOGIES

Row = tuple[str, ...]

PRIMARY_OFFLINE = str(EXAMPLES / "primary-offline.yaml")
# (topology, worker, model flags): v9 andnot, clear-cpu, v8's case 3 (another CPU leads).
CASES = [
    (str(TOPOLOGIES / "epyc-9654-2s.yaml"), 1, ()),
    (str(TOPOLOGIES / "xeon-2s-adjacent.yaml"), 3, ("--strategy", "clear-cpu")),
    (PRIMARY_OFFLINE, 10, ("--rule", "apic-primary", "--strategy", "v8-three-way")),
    (str(EXAMPLES / "nosmt.yaml"), 0, ("--kernel", "v8")),
]


def document(*args: str) -> dict[str, object]:
    result = run("show", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def rows_of_json(doc: dict[str, object]) -> list[Row]:
    """The rows as the columns print them."""
    rows = doc["per_cpu"]
    assert isinstance(rows, list)
    return [
        (
            str(row["cpu"]),
            str(row["package"]),
            str(row["die"]),
            str(row["core"]),
            str(row["thread"]),
            "-" if row["apic_id"] is None else str(row["apic_id"]),
            "yes" if row["online"] else "no",
            "yes" if row["in_mask"] else "no",
            row["role"] or "-",
        )
        for row in rows
    ]


def rows_of_columns(out: str) -> list[Row]:
    _heading, header, *lines = out.splitlines()
    assert tuple(header.split()) == HEADER
    return [tuple(line.split()) for line in lines]


def rows_of_markdown(out: str) -> list[Row]:
    lines = [line for line in out.splitlines() if line.startswith("| ")][1:]  # past the header
    return [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in lines]


PARSE = {
    OutputFormat.TABLE: rows_of_columns,
    OutputFormat.TEXT: rows_of_columns,
    OutputFormat.MARKDOWN: rows_of_markdown,
}


@pytest.mark.parametrize(("topo", "worker", "flags"), CASES, ids=lambda v: Path(str(v)).stem)
def test_rows_are_the_topologys_cpus(topo: str, worker: int, flags: tuple[str, ...]) -> None:
    """One row per present CPU, ascending; package, die, core and APIC id as show's cores
    say; the thread is the index in its core; online as the document's online set."""
    doc = document(topo, "--cpus", "--leader", str(worker), *flags)
    rows = doc["per_cpu"]
    assert isinstance(rows, list)
    assert [row["cpu"] for row in rows] == sorted(parse_cpulist(str(doc["present"])))
    by_cpu = {row["cpu"]: row for row in rows}
    cores = doc["cores"]
    assert isinstance(cores, list)
    for core in cores:
        threads = sorted(parse_cpulist(core["cpus"]))
        for index, cpu in enumerate(threads):
            row = by_cpu[cpu]
            assert (row["package"], row["die"], row["core"]) == (
                core["package"],
                core["die"],
                core["core"],
            )
            assert row["thread"] == index
            assert row["apic_id"] == core["apic_ids"][index]
    online = parse_cpulist(str(doc["online"]))
    assert {row["cpu"] for row in rows if row["online"]} == online
    assert doc["leader"] == worker


@pytest.mark.parametrize(("topo", "worker", "flags"), CASES, ids=lambda v: Path(str(v)).stem)
def test_mask_and_roles_are_plans(topo: str, worker: int, flags: tuple[str, ...]) -> None:
    """The mask is plan's rmpopt_cpumask; the worker, the leader and the followers are
    those plan reports for the same worker; every other online CPU is not sent."""
    doc = document(topo, "--cpus", "--leader", str(worker), *flags)
    planned = run("plan", topo, "--leader", str(worker), *flags, "--format", "json")
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    item = plan["plans"][0]
    rows = doc["per_cpu"]
    assert isinstance(rows, list)
    roles = {row["cpu"]: row["role"] for row in rows}
    assert {row["cpu"] for row in rows if row["in_mask"]} == parse_cpulist(plan["rmpopt_cpumask"])
    assert roles[worker] == "worker"
    if item["lead"] is not None and item["lead"] != worker:
        assert roles[item["lead"]] == "leader"
    assert {cpu for cpu, role in roles.items() if role == "follower"} == parse_cpulist(
        item["followers"]
    )
    online = parse_cpulist(str(doc["online"]))
    named = {"worker", "leader", "follower", "mask"}
    assert {cpu for cpu, role in roles.items() if role == "not-sent"} == {
        cpu for cpu in online if roles[cpu] not in named
    }
    assert {cpu for cpu, role in roles.items() if role == "present-only"} == (
        parse_cpulist(str(doc["present"])) - online
    )


def test_hotplug_offline_cpu_has_the_offline_role() -> None:
    """A CPU the file takes offline after setup is online at setup, in the mask, and offline."""
    doc = document(str(EXAMPLES / "hotplug-offline-follower.yaml"), "--cpus", "--leader", "0")
    rows = doc["per_cpu"]
    assert isinstance(rows, list)
    row = rows[2]
    assert (row["cpu"], row["online"], row["in_mask"], row["role"]) == (2, True, True, "offline")


def test_without_a_leader_there_are_no_roles() -> None:
    doc = document(str(EXAMPLES / "nosmt.yaml"), "--cpus")
    rows = doc["per_cpu"]
    assert isinstance(rows, list)
    assert {row["role"] for row in rows} == {None}
    assert doc["leader"] is None
    assert doc["rule"] == "first-sibling" and doc["kernel"] is None


@pytest.mark.parametrize("fmt", list(PARSE), ids=str)
@pytest.mark.parametrize(("topo", "worker", "flags"), CASES[2:], ids=lambda v: Path(str(v)).stem)
def test_every_format_has_the_same_rows(
    fmt: OutputFormat, topo: str, worker: int, flags: tuple[str, ...]
) -> None:
    args = (topo, "--cpus", "--leader", str(worker), *flags)
    expected = rows_of_json(document(*args))
    result = run("show", *args, "--format", fmt.value)
    assert result.exit_code == 0, result.stderr
    assert PARSE[fmt](result.stdout) == expected
    assert f"worker CPU {worker}" in result.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--leader", "0"), "go with --cpus"),
        (("--rule", "apic-primary"), "go with --cpus"),
        (("--cpus", "--format", "graphml"), "--cpus is a report"),
        (("--cpus", "--leader", "99"), "--leader: CPU 99 is not a CPU of nosmt"),
        (("--cpus", "--leader", "9"), "--leader: CPU 9 is not online"),
    ],
)
def test_bad_usage_is_one_line(args: tuple[str, ...], needle: str) -> None:
    one_error(run("show", str(EXAMPLES / "nosmt.yaml"), *args), needle)


def test_a_name_cannot_break_the_heading(tmp_path: Path) -> None:
    """A name holding a line break stays on the heading's one line, in every format."""
    topo = tmp_path / "t.yaml"
    topo.write_text(
        'name: "box\\n  0  0  0"\nlayout: {packages: 1, cores_per_die: 2, threads_per_core: 1}\n',
        encoding="utf-8",
    )
    for fmt, parse in PARSE.items():
        out = run("show", str(topo), "--cpus", "--format", fmt.value).stdout
        assert re.match(r"`?box\\n  0  0  0`?: rule", out.splitlines()[0]), out
        assert len(parse(out)) == 2
