"""hwloc XML and offline CPUs: what the root's complete_cpuset holds beyond its PUs.

The data is hwloc's own (tests/sources/data/hwloc-linux, see its README): two sysfs
dumps with offline CPUs beside the XML hwloc made of each. The expected sets come from
the dump's files and the XML's attributes read here directly, not from rmpplan.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmpplan.cpumask import format_cpulist
from tests.cli import one_error, run
from tests.sources.source_fixtures import DATA

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

HWLOC = DATA / "hwloc-linux"
PAIRS = ("16em64t-4s2c2t-offlines", "16amd64-8n2c-cpusets")
_CPU = re.compile(r"sys/devices/system/cpu/cpu([0-9]+)(/|$)")
_ROOT = re.compile(r'<object type="Machine"[^>]*>')
_PU = re.compile(r'<object type="PU" os_index="([0-9]+)"')


@dataclass(frozen=True)
class Sets:
    present: frozenset[int]
    online: frozenset[int]


def _cpulist(text: str) -> frozenset[int]:
    cpus: set[int] = set()
    for part in filter(None, text.strip().split(",")):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return frozenset(cpus)


def dump_sets(name: str) -> Sets:
    """present and online as the dump's files say: cpu/online when it has a list, else
    every cpuN whose cpuN/online is not 0."""
    present: set[int] = set()
    offline: set[int] = set()
    online_list = ""
    with tarfile.open(HWLOC / f"{name}.tar.bz2") as tar:
        for member in tar.getmembers():
            path = member.name
            if path.endswith("sys/devices/system/cpu/online") and member.isfile():
                online_list = _read(tar, member)
            found = _CPU.search(path)
            if found is None:
                continue
            cpu = int(found.group(1))
            present.add(cpu)
            if path.endswith(f"cpu{cpu}/online") and _read(tar, member) == "0":
                offline.add(cpu)
    online = _cpulist(online_list) if online_list else frozenset(present - offline)
    return Sets(frozenset(present), online)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    assert handle is not None
    return handle.read().decode().strip()


def xml_text(name: str) -> str:
    return (HWLOC / f"{name}-xml.xml").read_text(encoding="utf-8")


def root_set(text: str, attribute: str) -> frozenset[int]:
    """A root attribute's CPUs, from hwloc's 32-bit hex words."""
    root = _ROOT.search(text)
    assert root is not None
    found = re.search(rf' {attribute}="([^"]*)"', root.group(0))
    assert found is not None
    value = int("".join(word.removeprefix("0x").rjust(8, "0") for word in found[1].split(",")), 16)
    return frozenset(bit for bit in range(value.bit_length()) if value >> bit & 1)


def pus(text: str) -> frozenset[int]:
    return frozenset(int(index) for index in _PU.findall(text))


def bitmap(cpus: frozenset[int]) -> str:
    """CPUs as hwloc writes them."""
    value = sum(1 << cpu for cpu in cpus)
    words = max(1, (max(cpus, default=0) + 32) // 32)
    return ",".join(f"0x{value >> (32 * i) & 0xFFFFFFFF:08x}" for i in reversed(range(words)))


def with_root(text: str, **sets: frozenset[int] | str) -> str:
    """The XML with root attributes set (a str as written, a set as a bitmap)."""
    root = _ROOT.search(text)
    assert root is not None
    tag = root.group(0)
    for attribute, value in sets.items():
        written = value if isinstance(value, str) else bitmap(value)
        if f" {attribute}=" in tag:
            tag = re.sub(rf' {attribute}="[^"]*"', f' {attribute}="{written}"', tag)
        else:
            tag = tag.replace(">", f' {attribute}="{written}">', 1)
    return text.replace(root.group(0), tag, 1)


def as_v1(text: str) -> str:
    """The same document as hwloc 1.x writes it: no version on <topology>."""
    return text.replace('<topology version="3.0">', "<topology>", 1)


def gathered(folder: Path, name: str, xml: str) -> Path:
    """NAME.tar.bz2 beside NAME.xml, as hwloc-gather-topology leaves them."""
    folder.mkdir(exist_ok=True)
    shutil.copy(HWLOC / f"{name}.tar.bz2", folder / f"{name}.tar.bz2")
    (folder / f"{name}.xml").write_text(xml, encoding="utf-8")
    return folder


def findings(*args: str) -> tuple[int, list[dict[str, object]]]:
    out = run("verify", *args, "--format", "json")
    results = json.loads(out.stdout)["results"]
    assert len(results) == 1, results
    assert "error" not in results[0], results[0]
    return out.exit_code, results[0]["findings"]


def offline_finding(found: list[dict[str, object]]) -> list[object]:
    (finding,) = [entry for entry in found if entry["check"] == "online-equals-present"]
    cpus = finding["cpus"]
    assert isinstance(cpus, list)
    return cpus


@pytest.mark.parametrize("name", PAIRS)
def test_upstream_xml_hides_the_offline_cpus(name: str) -> None:
    """The data holds the case: the XML's complete_cpuset is the dump's present set, its
    PUs are online in the dump, and every offline CPU is among the hidden ones."""
    dump, text = dump_sets(name), xml_text(name)
    complete = root_set(text, "complete_cpuset")
    assert complete == dump.present
    assert pus(text) <= dump.online
    assert dump.present - dump.online
    assert dump.present - dump.online <= complete - pus(text)
    assert root_set(text, "allowed_cpuset") == root_set(text, "cpuset")


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("command", [("verify",), ("plan", "--leader", "all"), ("show",)])
def test_xml_alone_says_it_cannot_judge(name: str, command: tuple[str, ...]) -> None:
    """complete_cpuset beyond cpuset, allowed_cpuset no help: exit 2 naming the hidden
    CPUs, never online == present."""
    text = xml_text(name)
    line = one_error(run(*command, str(HWLOC / f"{name}-xml.xml")), "cannot be judged")
    assert f"CPU(s) {format_cpulist(root_set(text, 'complete_cpuset') - pus(text))} " in line
    assert f"{name}-xml.xml" in line


@pytest.mark.parametrize("name", PAIRS)
def test_gathered_pair_agrees_and_the_dump_fails(tmp_path: Path, name: str) -> None:
    """The pair is one input, the XML consistent with the dump, and the dump's offline
    CPUs are the finding."""
    dump = dump_sets(name)
    code, found = findings(str(gathered(tmp_path, name, xml_text(name))))
    assert code == 1
    assert offline_finding(found) == sorted(dump.present - dump.online)


def test_v1_online_cpuset_tells_offline_cpus(tmp_path: Path) -> None:
    """hwloc 1.x writes online_cpuset: the XML alone then knows its offline CPUs."""
    name = PAIRS[0]
    dump = dump_sets(name)
    text = as_v1(with_root(xml_text(name), online_cpuset=dump.online))
    xml = tmp_path / "v1.xml"
    xml.write_text(text, encoding="utf-8")
    code, found = findings(str(xml))
    assert code == 1
    assert offline_finding(found) == sorted(dump.present - dump.online)
    shown = json.loads(run("show", str(xml), "--format", "json").stdout)
    assert {int(c) for core in shown["cores"] for c in _cpulist(core["cpus"])} == dump.present
    code, found = findings(str(gathered(tmp_path / "pair", name, text)))
    assert code == 1
    assert offline_finding(found) == sorted(dump.present - dump.online)


def test_v1_online_cpu_without_a_pu_cannot_be_placed(tmp_path: Path) -> None:
    """Online CPUs outside the cgroup have no PU: known online, but not where; exit 2."""
    name = PAIRS[1]
    dump = dump_sets(name)
    text = as_v1(with_root(xml_text(name), online_cpuset=dump.online))
    xml = tmp_path / "v1.xml"
    xml.write_text(text, encoding="utf-8")
    line = one_error(run("verify", str(xml)), "cannot be judged")
    assert format_cpulist(dump.present - pus(text)) in line


def test_disallowed_tree_tells_offline_cpus(tmp_path: Path) -> None:
    """lstopo --disallowed: allowed_cpuset smaller than cpuset, so every online CPU has a
    PU and the hidden ones are offline."""
    name = PAIRS[0]
    dump = dump_sets(name)
    text = xml_text(name)
    xml = tmp_path / "disallowed.xml"
    xml.write_text(with_root(text, allowed_cpuset=pus(text) - {min(pus(text))}), "utf-8")
    code, found = findings(str(xml))
    assert code == 1
    assert offline_finding(found) == sorted(dump.present - dump.online)


def test_xml_that_hides_nothing_disagrees_with_its_dump(tmp_path: Path) -> None:
    """An XML whose complete_cpuset was cut to its PUs passes alone (it claims no hidden
    CPU), but beside its dump the pair is bad input naming the CPUs it left out."""
    name = PAIRS[0]
    dump = dump_sets(name)
    text = xml_text(name)
    cut = with_root(text, complete_cpuset=pus(text))
    alone = tmp_path / "cut.xml"
    alone.write_text(cut, encoding="utf-8")
    assert run("verify", str(alone)).exit_code == 0
    folder = gathered(tmp_path / "pair", name, cut)
    line = one_error(run("verify", str(folder)), "disagrees with")
    assert f"{name}.tar.bz2" in line
    missing = format_cpulist(dump.present - pus(text))
    assert f"present CPU(s) {missing} of the dump are not in the XML's complete_cpuset" in line


def test_xml_that_claims_offline_cpus_online_disagrees(tmp_path: Path) -> None:
    """A 1.x XML whose online_cpuset names all its CPUs, beside a dump with offline ones."""
    name = PAIRS[0]
    dump = dump_sets(name)
    text = as_v1(with_root(xml_text(name), online_cpuset=dump.present, cpuset=dump.present))
    # Every CPU online, every CPU a PU: give the hidden ones PUs of their own.
    extra = "".join(
        f'<object type="PU" os_index="{cpu}"/>' for cpu in sorted(dump.present - pus(text))
    )
    text = text.replace("</topology>", "").rstrip()
    text = text[: text.rfind("</object>")] + extra + "</object></topology>\n"
    folder = gathered(tmp_path, name, text)
    line = one_error(run("verify", str(folder)), "disagrees with")
    assert f"has CPU(s) {format_cpulist(dump.present - dump.online)}, which the dump" in line


@pytest.mark.parametrize(
    ("complete", "needle"),
    [
        ("0x00000001," + ",".join(["0x00000000"] * 256), "past 8191"),
        ("0xf...f,0x00000003", "not an hwloc bitmap"),
        ("0x1", "PU(s) 1 are not in the root object's complete_cpuset"),
        ("0x1 0x3", "not an hwloc bitmap"),
    ],
)
def test_root_bitmaps_are_checked(tmp_path: Path, complete: str, needle: str) -> None:
    """A complete_cpuset rmpplan cannot read, or that leaves out a PU, is bad input."""
    xml = tmp_path / "bad.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<topology version="2.0">\n'
        f'<object type="Machine" os_index="0" cpuset="0x3" complete_cpuset="{complete}">\n'
        '<object type="PU" os_index="0"/>\n<object type="PU" os_index="1"/>\n'
        "</object>\n</topology>\n",
        encoding="utf-8",
    )
    one_error(run("verify", str(xml)), needle)
