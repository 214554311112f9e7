"""show --format hwloc-xml: hwloc XML v2 that rmpplan's own reader and lstopo read back
as the same machine, each PU coloured (lstopoStyle) by the role show --cpus gives it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rmpplan.cpumask import parse_cpulist
from rmpplan.picture import FINDINGS, Mark, Role
from rmpplan.render.hwloc import bitmap
from rmpplan.render.svg import INK, LOOKS, PROBLEM_FILL
from tests.cli import run
from tests.conftest import EXAMPLES, TOPOLOGIES

LSTOPO = shutil.which("lstopo-no-graphics")
needs_lstopo = pytest.mark.skipif(
    LSTOPO is None, reason="lstopo-no-graphics is not on PATH (Debian's hwloc-nox)"
)

SMALL = sorted(
    path
    for path in (*TOPOLOGIES.glob("*.yaml"), *EXAMPLES.glob("*.yaml"))
    if path.stem != "max-8192"
)
CLEAR_CPU = (str(TOPOLOGIES / "epyc-9654-2s.yaml"), "--leader", "193", "--strategy", "clear-cpu")


def export(tmp_path: Path, *args: str) -> Path:
    """``show ARGS --format hwloc-xml`` written to a file."""
    result = run("show", *args, "--format", "hwloc-xml")
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "machine.xml"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def shape(*args: str) -> tuple[frozenset[int], frozenset[tuple[int, frozenset[int]]]]:
    """The online CPUs and, for each core with an online thread, (package, online threads):
    what hwloc XML can say of a machine (it has no offline PU, and numbers cores itself)."""
    result = run("show", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    cores = frozenset(
        (core["package"], frozenset(parse_cpulist(core["online"])))
        for core in doc["cores"]
        if core["online"]
    )
    return frozenset(parse_cpulist(doc["online"])), cores


def infos(element: ET.Element) -> dict[str, str]:
    """An object's own info attributes."""
    return {info.attrib["name"]: info.attrib["value"] for info in element.findall("info")}


def pus(path: Path) -> dict[int, dict[str, str]]:
    """Each PU's info attributes, by os_index."""
    root = ET.parse(path).getroot()
    return {
        int(pu.attrib["os_index"]): infos(pu)
        for pu in root.iter("object")
        if pu.attrib["type"] == "PU"
    }


@pytest.mark.parametrize("topo", SMALL, ids=lambda path: path.stem)
def test_round_trip_through_rmpplans_reader(tmp_path: Path, topo: Path) -> None:
    """Read back as hwloc XML: the same online CPUs, grouped into the same cores and packages."""
    path = export(tmp_path, str(topo))
    assert shape(str(path), "--input-format", "hwloc-xml") == shape(str(topo))


def test_roles_are_show_cpus_roles_in_lstopo_colours(tmp_path: Path) -> None:
    """Each PU's RMPOPTRole is its show --cpus role, its lstopoStyle that role's look."""
    path = export(tmp_path, *CLEAR_CPU)
    table = json.loads(run("show", *CLEAR_CPU, "--cpus", "--format", "json").stdout)
    roles = {row["cpu"]: row["role"] for row in table["per_cpu"]}
    found = pus(path)
    assert found.keys() == {cpu for cpu, role in roles.items() if role != "present-only"}
    for cpu, attributes in found.items():
        role = Role(roles[cpu])
        assert attributes["RMPOPTRole"] == role
        look = LOOKS[role]
        assert (
            attributes["lstopoStyle"] == f"Background={look.fill.lower()};Text={look.text.lower()}"
        )
    assert found[193]["RMPOPTRole"] == Role.WORKER


def test_a_core_run_twice_gets_the_problem_fill(tmp_path: Path) -> None:
    """clear-cpu on a secondary thread runs its core twice: that Core is marked and filled."""
    root = ET.parse(export(tmp_path, *CLEAR_CPU)).getroot()
    marked = {
        core.attrib["os_index"]: infos(core)
        for core in root.iter("object")
        if core.attrib["type"] == "Core" and "lstopoStyle" in infos(core)
    }
    assert len(marked) == 1
    (core,) = marked.values()
    assert Mark(core["RMPOPTCore"]) in FINDINGS
    assert core["RMPOPTCore"] == Mark.TWICE
    assert core["lstopoStyle"] == f"Background={PROBLEM_FILL.lower()};Text={INK.lower()}"


def test_without_a_leader_the_mask_is_coloured(tmp_path: Path) -> None:
    found = pus(export(tmp_path, str(EXAMPLES / "primary-offline.yaml")))
    mask = {cpu for cpu, pu in found.items() if pu.get("RMPOPTRole") == Role.MASK}
    planned = json.loads(
        run(
            "plan", str(EXAMPLES / "primary-offline.yaml"), "--leader", "0", "--format", "json"
        ).stdout
    )
    assert mask == parse_cpulist(planned["rmpopt_cpumask"])
    assert 2 not in found  # offline at setup: no PU, as hwloc writes it


def test_offline_cpus_are_only_in_the_complete_cpuset(tmp_path: Path) -> None:
    root = ET.parse(export(tmp_path, str(EXAMPLES / "nosmt.yaml"))).getroot()
    machine = root.find("object")
    assert machine is not None and machine.attrib["type"] == "Machine"
    assert machine.attrib["cpuset"] == bitmap(range(8))
    assert machine.attrib["complete_cpuset"] == bitmap(range(16))


@pytest.mark.parametrize(
    ("cpus", "text"),
    [
        ([0], "0x00000001"),
        (range(40), "0x000000ff,0xffffffff"),
        ([32], "0x00000001,0x00000000"),
        ([], "0x0"),
    ],
)
def test_bitmap_is_hwlocs_syntax(cpus: list[int], text: str) -> None:
    assert bitmap(cpus) == text


def test_a_hostile_name_stays_inside_its_attribute(tmp_path: Path) -> None:
    """Quotes, markup and a line break in the name neither break the XML nor add a line."""
    topo = tmp_path / "t.yaml"
    topo.write_text(
        'name: "a\\"/><object type=\\"PU\\" os_index=\\"9\\"/>\\n&x;"\n'
        "layout: {packages: 1, cores_per_die: 2, threads_per_core: 1}\n",
        encoding="utf-8",
    )
    path = export(tmp_path, str(topo))
    assert sorted(pus(path)) == [0, 1]
    root = ET.parse(path).getroot()
    names = [i.attrib["value"] for i in root.iter("info") if i.attrib["name"] == "RMPOPTTopology"]
    assert names == ['a"/><object type="PU" os_index="9"/>\\n&x;']


@needs_lstopo
@pytest.mark.parametrize(
    "topo", [TOPOLOGIES / "epyc-9965-2s.yaml", EXAMPLES / "nosmt.yaml"], ids=lambda p: p.stem
)
def test_lstopo_reads_it_as_the_same_machine(tmp_path: Path, topo: Path) -> None:
    """lstopo -i FILE loads the export; its own XML of it reads back as the same machine."""
    assert LSTOPO is not None
    path = export(tmp_path, str(topo), "--leader", "0")
    again = tmp_path / "again.xml"
    subprocess.run(
        [LSTOPO, "-i", str(path), "--of", "xml", str(again)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    machine = json.loads(run("show", str(topo), "--format", "json").stdout)
    if machine["present"] == machine["online"]:
        assert shape(str(again), "--input-format", "hwloc-xml") == shape(str(topo))
    else:
        # hwloc 2 drops online_cpuset when it writes: its file can no longer tell an
        # offline CPU from one outside a cgroup, and rmpplan refuses to guess.
        refused = run("show", str(again), "--input-format", "hwloc-xml")
        assert refused.exit_code == 2
        assert "cannot tell" in refused.stderr
    # hwloc keeps the info attributes, so the roles survive lstopo's own writer.
    assert {cpu: pu["RMPOPTRole"] for cpu, pu in pus(again).items()} == {
        cpu: pu["RMPOPTRole"] for cpu, pu in pus(path).items()
    }


@needs_lstopo
def test_lstopo_draws_the_roles_in_their_colours(tmp_path: Path) -> None:
    """lstopo --of svg fills the worker's PU with the worker's colour."""
    assert LSTOPO is not None
    path = export(tmp_path, *CLEAR_CPU)
    svg = tmp_path / "drawn.svg"
    subprocess.run(
        [LSTOPO, "-i", str(path), "--of", "svg", str(svg)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    drawn = svg.read_text(encoding="utf-8")
    fills = set(re.findall(r"fill='rgb\((\d+),(\d+),(\d+)\)'", drawn))
    for role in (Role.WORKER, Role.FOLLOWER, Role.NOT_SENT):
        colour = LOOKS[role].fill
        rgb = tuple(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
        assert rgb in fills, role
