"""The 14 real machines of ../shared/fixtures/real: FIRST and the CPU sets from its README."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from rmpplan.cpumask import parse_cpulist
from rmpplan.errors import InputError
from rmpplan.sources import SourceFormat, read_source
from tests.sources.source_fixtures import first, pack

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Expected:
    """A README entry: FIRST and the CPU sets, as cpulists."""

    first: str
    online: str
    present: str | None = None  # None: same as online
    possible: str | None = None  # None: same as present


EXPECTED: dict[str, Expected] = {
    "ul-x86_64-epyc_7451": Expected("0-47", "0-95"),
    "ul-x86_64-64cpu": Expected("0-31", "0-63", possible="0-79"),
    "ul-x86_64-64cpu-linux6.2": Expected("0-3", "0-7"),
    "ul-ppc64-POWER7-64cpu": Expected("0-63:1/4", "0-63"),
    "ul-arm-A510-A710-A715-X3": Expected("0-7", "0-7"),
    "ul-s390-lpar": Expected("1-5,8-19", "1-5,8-19", "0-19", "0-63"),
    "ul-vmware_fpe": Expected("0-14:1/2", "0-15", possible="0-31"),
    "hw-16em64t-4s2c2t-offlines": Expected("0-1,3-4,6-7,10", "0-1,3-4,6-12,15", "0-15"),
    "hw-20em64t-hybrid-1p6c2t+2ca4co1t": Expected("0,2,4,6,8,10,12-19", "0-19"),
    "hw-offline-cpu0-node0": Expected("4-20", "4-20", "0-23", "0-191"),
    "hw-64amd64-4s2n4ca2co": Expected("0-62:1/2", "0-63"),
    "hw-128arm-2pa2n8cluster4co": Expected("0-127", "0-127"),
    "hw-nvidiagpunumanodes": Expected("0,4,8,12,88,92,96,100", "0-15,88-103", possible="0-175"),
    "hwxml-AMD-19h-Zen4-2xEpyc-9654/topology.xml": Expected("0-191", "0-383"),
    "hwxml-AMD-19h-Zen4-2xEpyc-9654/topology-v3.xml": Expected("0-191", "0-383"),
}
SYSFS_MACHINES = [name for name in EXPECTED if "/" not in name]


def check(machine_name: str, path: Path) -> None:
    """Read ``path`` and compare it with the README's entry for ``machine_name``."""
    expected = EXPECTED[machine_name]
    machine = read_source(path)
    present = expected.present or expected.online
    assert first(machine) == sorted(parse_cpulist(expected.first))
    assert machine.online == parse_cpulist(expected.online)
    assert machine.present == parse_cpulist(present)
    assert machine.possible == parse_cpulist(expected.possible or present)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_machine_first_and_sets(shared_real: Path, name: str) -> None:
    """Every real machine reads to the README's FIRST list and online/present/possible."""
    check(name, shared_real / name)


def test_every_real_machine_is_covered(shared_real: Path) -> None:
    """No folder of the shared set is left out of the table above."""
    folders = {p.name for p in shared_real.iterdir() if p.is_dir()}
    assert folders == {name.split("/")[0] for name in EXPECTED}


@pytest.mark.parametrize("name", ["hw-16em64t-4s2c2t-offlines", "ul-s390-lpar"])
@pytest.mark.parametrize("mode", ["w:", "w:gz", "w:bz2", "w:xz"])
def test_real_machine_as_tarball(shared_real: Path, tmp_path: Path, name: str, mode: str) -> None:
    """The same dump packed into a tarball (any compression) reads to the same machine."""
    archive = pack(shared_real / name, tmp_path / f"{name}.tar", mode=mode)
    check(name, archive)
    assert read_source(archive).name == name


def test_apic_ids_from_cpuinfo_follow_sysfs(shared_real: Path) -> None:
    """offline-cpu0-node0's cpuinfo lists 24 CPUs: each present CPU gets its apicid."""
    machine = read_source(shared_real / "hw-offline-cpu0-node0")
    assert all(cpu.apic_id is not None for cpu in machine.cpus.values())
    assert len({cpu.apic_id for cpu in machine.cpus.values()}) == 24


def test_core_id_is_never_the_core(shared_real: Path) -> None:
    """VMware's core_id repeats inside a package; the cores are still its sibling pairs."""
    machine = read_source(shared_real / "ul-vmware_fpe")
    assert [core.threads for core in machine.cores] == [(c, c + 1) for c in range(0, 16, 2)]


def _hwloc_first(args: list[str]) -> list[int]:
    out = subprocess.run(
        ["hwloc-calc", *args, "--po", "-I", "pu", "core:all.pu:0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted(int(cpu) for cpu in out.strip().split(","))


@pytest.mark.skipif(shutil.which("hwloc-calc") is None, reason="hwloc-calc is not on PATH")
@pytest.mark.parametrize(
    "name",
    [n for n in EXPECTED if n.startswith("hw-")] + ["hwxml-AMD-19h-Zen4-2xEpyc-9654/topology.xml"],
)
def test_agrees_with_hwloc_calc(shared_real: Path, name: str) -> None:
    """FIRST equals hwloc-calc's first PU of every core (sorted) on hwloc's own fixtures."""
    path = shared_real / name
    args = ["-i", str(path)] + (["--if", "fsroot"] if path.is_dir() else [])
    assert first(read_source(path)) == _hwloc_first(args)


def _lscpu(path: Path, options: list[str]) -> str:
    return subprocess.run(
        ["lscpu", "-s", str(path), *options], capture_output=True, text=True, check=True, timeout=60
    ).stdout


_LSCPU_COLUMNS = "CPU,CORE,SOCKET,BOOK,DRAWER,NODE,CLUSTER,ONLINE,MAXMHZ,MINMHZ,CACHE"
_LSCPU_OK = [n for n in SYSFS_MACHINES if n not in ("hw-16em64t-4s2c2t-offlines",)]


@pytest.mark.skipif(shutil.which("lscpu") is None, reason="lscpu is not on PATH")
@pytest.mark.parametrize("name", _LSCPU_OK)
@pytest.mark.parametrize(
    ("options", "fmt"),
    [
        (["-J", "-e=" + _LSCPU_COLUMNS], SourceFormat.LSCPU_JSON),
        (["-a", "-p=" + _LSCPU_COLUMNS], SourceFormat.LSCPU_CSV),
    ],
)
def test_saved_lscpu_output_agrees(
    shared_real: Path, tmp_path: Path, name: str, options: list[str], fmt: SourceFormat
) -> None:
    """lscpu's -J -e and -p output reads as the dump does; the hybrid ARM phone is refused."""
    saved = tmp_path / f"{name}.{'json' if fmt is SourceFormat.LSCPU_JSON else 'csv'}"
    saved.write_text(_lscpu(shared_real / name, options), encoding="utf-8")
    if name == "ul-arm-A510-A710-A715-X3":
        with pytest.raises(InputError, match="ambiguous lscpu output"):
            read_source(saved, fmt)
        return
    from_lscpu = read_source(saved, fmt)
    from_sysfs = read_source(shared_real / name)
    assert first(from_lscpu) == first(from_sysfs)
    assert from_lscpu.online == from_sysfs.online
    assert from_lscpu.present == from_sysfs.present
