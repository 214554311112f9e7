"""sysfs roots: every trap of tests/sources/data/sysfs, and the rules for the kernel's view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rmpplan.errors import InputError, MaskError
from rmpplan.sources import read_source
from rmpplan.sources.sysfs import CPU_DIR, parse_hex_words
from tests.sources.source_fixtures import (
    DATA,
    first,
    require_shared_real,
    sysfs,
    write_tree,
)


def threads(name: str) -> list[tuple[int, ...]]:
    """The cores of a generated tree, as thread tuples."""
    return [core.threads for core in sysfs(name).cores]


def error(path: Path) -> InputError:
    """The InputError reading ``path`` raises."""
    with pytest.raises(InputError) as caught:
        read_source(path)
    return caught.value


def test_nul_after_newline_is_stripped() -> None:
    """Kunpeng's "0-1\\n\\0" files read like "0-1\\n"."""
    machine = sysfs("nul-endings")
    assert [core.threads for core in machine.cores] == [(0, 1), (2, 3)]
    assert machine.online == machine.present == machine.possible == {0, 1, 2, 3}


def test_old_dump_with_hex_masks_and_cpu_online_only() -> None:
    """Old dump: sets from cpuN/online, cores from hex masks; offline CPU 2's sibling 6 covers."""
    machine = sysfs("old-hex-only")
    assert machine.present == machine.possible == set(range(8))
    assert machine.online == {0, 1, 3, 4, 5, 6, 7}
    assert [core.threads for core in machine.cores] == [(0, 4), (1, 5), (2,), (3, 7), (6,)]
    assert first(machine) == [0, 1, 3, 6]
    assert machine.cpus[2].online is False


def test_wide_masks_and_empty_words() -> None:
    """NR_CPUS-wide masks, a 4-digit first word and empty words all read as the kernel does."""
    assert threads("wide-masks") == [(0, 2), (1, 3)]


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("00000005\n", {0, 2}),
        ("0000,00000000,00000001\n\0", {0}),
        ("00000001,,00000001\n", {0, 32}),  # the kernel skips empty words
        ("0x00000001,,0x00000001", {0, 64}),  # hwloc prints a zero word as nothing
        ("80000000," + "00000000," * 254 + "00000000\n", {8191}),
        ("\n", set()),
    ],
)
def test_hex_words(text: str, cpus: set[int]) -> None:
    """Hex masks: 32 bits a word, any width, kernel and hwloc empty-word conventions."""
    assert parse_hex_words(text) == cpus


@pytest.mark.parametrize(
    ("text", "message"),
    [("123456789", "not a 32-bit hex word"), ("1," + "0," * 256 + "0", "past CPU 8191")],
)
def test_hex_words_refused(text: str, message: str) -> None:
    """A word over 8 digits or a bit past CPU 8191 is refused."""
    with pytest.raises(InputError, match=message):
        parse_hex_words(text)


def test_physical_package_id_minus_one_is_package_0() -> None:
    """POWER's -1 package id means one package."""
    machine = sysfs("package-minus-one")
    assert {cpu.package for cpu in machine.cpus.values()} == {0}
    assert [core.threads for core in machine.cores] == [(0, 1, 2, 3), (4, 5, 6, 7)]


def test_offline_cpu0_without_topology() -> None:
    """CPU 0 offline with no topology/: present, offline, a core of its own in package 0."""
    machine = sysfs("offline-cpu0")
    assert machine.online == {1, 2, 3}
    assert machine.present == {0, 1, 2, 3}
    assert machine.possible == set(range(8))
    assert machine.cores[0].threads == (0,)
    assert machine.cores[0].online_threads == ()
    assert machine.cores[0].key == (0, 0, 0)
    assert first(machine) == [1, 2, 3]


def test_cpuinfo_apic_ids_only_for_cpus_sysfs_has() -> None:
    """cpuinfo lists CPUs 0-5; sysfs has 0-3, which get their apicid (offline CPU 0 too)."""
    machine = sysfs("offline-cpu0")
    assert {cpu.id: cpu.apic_id for cpu in machine.cpus.values()} == {0: 0, 1: 2, 2: 4, 3: 6}


def test_cpuinfo_with_duplicate_apic_ids_is_ignored() -> None:
    """Two CPUs with one APIC id: cpuinfo is not trusted, no APIC ids are set."""
    assert all(cpu.apic_id is None for cpu in sysfs("cpuinfo-duplicate-apic").cpus.values())


def test_core_id_repeating_across_sibling_sets() -> None:
    """VMware: core_id runs 0..3 twice in the package; the cores are the sibling pairs."""
    machine = sysfs("vmware-core-id")
    assert [core.threads for core in machine.cores] == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert first(machine) == [0, 2, 4, 6]


def test_bulldozer_pairs() -> None:
    """Bulldozer: one core_id per CPU, yet the kernel's sibling pairs are the cores."""
    assert threads("bulldozer") == [(0, 1), (2, 3), (4, 5), (6, 7)]


def test_die_ids_are_kept_and_cores_number_per_die() -> None:
    """die_id is kept; core numbers start at 0 in every (package, die)."""
    machine = sysfs("die-ids")
    keys = {core.threads: core.key for core in machine.cores}
    assert keys[(0, 8)] == (0, 0, 0)
    assert keys[(3, 11)] == (0, 1, 1)
    assert keys[(4, 12)] == (1, 0, 0)
    assert machine.cpus[15].die == 1


def test_nosmt_leaves_siblings_present_and_offline() -> None:
    """nosmt: the second threads are present, offline, each a core of its own."""
    machine = sysfs("nosmt")
    assert machine.online == {0, 1, 2, 3}
    assert machine.present == set(range(8))
    assert [core.threads for core in machine.cores] == [(cpu,) for cpu in range(8)]


def test_8192_possible() -> None:
    """possible 0-8191 with 4 present CPUs: nr_cpu_ids 8192 (its speed is in bench/)."""
    machine = sysfs("possible-8192")
    assert machine.nr_cpu_ids == 8192
    assert machine.present == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "siblings-disagree",
            "sibling sets disagree: cpu0/topology/core_cpus_list lists 1 "
            "but cpu1/topology/core_cpus_list does not list 0",
        ),
        (
            "sibling-in-two-sets",
            "CPU 1 is in two sibling sets: cpu0/topology/core_cpus_list (0-1) "
            "and cpu2/topology/core_cpus_list (1-2)",
        ),
        (
            "sibling-not-present",
            "cpu0/topology/core_cpus_list lists CPU 5, which is not present (no cpu5 directory)",
        ),
        (
            "package-disagree",
            "cpu0 and cpu1 are siblings (cpu0/topology/core_cpus_list) "
            "but their physical_package_id differ: 0 and 1",
        ),
        ("no-cpus", "the topology has no CPUs"),
    ],
)
def test_inconsistent_trees_are_refused(name: str, message: str) -> None:
    """Inconsistent sysfs data is one InputError line naming the dump and the file."""
    path = DATA / "sysfs" / name
    err = error(path)
    assert str(err) == f"{path}: {message}"
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "online": "0-2\n",
                "cpu0/topology/core_cpus_list": "0-1\n",
                "cpu1/topology/core_cpus_list": "0-2\n",
                "cpu2/topology/core_cpus_list": "1-2\n",
            },
            "cpu0/topology/core_cpus_list is 0-1 but cpu1/topology/core_cpus_list is 0-2",
        ),
        (
            {
                "online": "0-1\n",
                "cpu0/topology/core_cpus_list": "1\n",
                "cpu1/topology/core_cpus_list": "1\n",
            },
            "core_cpus_list (1) does not list cpu0 itself",
        ),
    ],
    ids=["overlap-but-differ", "online-cpu-not-in-its-own-set"],
)
def test_bad_sibling_sets(tmp_path: Path, files: dict[str, str], message: str) -> None:
    """Sets that overlap but differ, or an online CPU left out of its own set, are refused."""
    assert message in str(error(write_tree(tmp_path, files)))


def test_offline_cpu_with_a_cleared_mask_joins_nothing(tmp_path: Path) -> None:
    """An offline CPU that kept an empty topology mask is a core of its own, in its package."""
    root = write_tree(
        tmp_path,
        {
            "online": "0\n",
            "present": "0-1\n",
            "cpu0/topology/core_cpus_list": "0\n",
            "cpu1/topology/core_cpus_list": "\n",
            "cpu1/topology/physical_package_id": "1\n",
        },
    )
    machine = read_source(root)
    assert [(core.threads, core.key) for core in machine.cores] == [
        ((0,), (0, 0, 0)),
        ((1,), (1, 0, 0)),
    ]


def test_offline_cpu_named_by_an_online_sibling_joins_its_core(tmp_path: Path) -> None:
    """A sibling mask that still names an offline CPU (no topology/) places it in that core."""
    root = write_tree(
        tmp_path,
        {"online": "0\n", "present": "0-1\n", "cpu0/topology/core_cpus_list": "0-1\n"},
    )
    (tmp_path / CPU_DIR / "cpu1").mkdir()
    machine = read_source(root)
    assert [(core.threads, core.online_threads) for core in machine.cores] == [((0, 1), (0,))]


def test_derived_online_needs_a_topology_folder(tmp_path: Path) -> None:
    """Without cpu/online, a CPU with neither an online file nor topology/ is offline."""
    root = write_tree(tmp_path, {"cpu0/topology/thread_siblings": "1\n"})
    (tmp_path / CPU_DIR / "cpu1").mkdir()
    machine = read_source(root)
    assert machine.online == {0}
    assert machine.present == {0, 1}


def test_present_cpu_without_folder(tmp_path: Path) -> None:
    """cpu/present wins over the folders: a present CPU without cpuN is offline on its own."""
    root = write_tree(
        tmp_path,
        {"present": "0-1\n", "online": "0\n", "cpu0/topology/core_cpus_list": "0\n"},
    )
    machine = read_source(root)
    assert machine.present == {0, 1}
    assert machine.online == {0}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"online": "0-1\n", "present": "0\n"}, "online lists CPU 1, which is not present"),
        ({"present": "0-1\n", "possible": "0\n"}, "possible (0) lacks present CPU 1"),
        ({"online": "0-x\n"}, "online: EINVAL"),
        ({"cpu0/topology/physical_package_id": "zero\n"}, "'zero' is not an integer"),
        (
            {"cpu1/topology/core_cpus": "xyz\n"},
            "cpu1/topology/core_cpus: 'xyz' is not a 32-bit hex word",
        ),
    ],
)
def test_bad_set_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    """Set files that contradict each other or do not parse name the file."""
    files.setdefault("cpu0/topology/core_cpus_list", "0\n")
    (tmp_path / CPU_DIR / "cpu1").mkdir(parents=True)
    err = error(write_tree(tmp_path, files))
    assert message in str(err)
    assert str(err).startswith(f"{tmp_path}: ")


@pytest.mark.parametrize(
    ("rel", "text", "errno"),
    [
        ("online", "0-x\n", "EINVAL"),
        ("present", "0-9000\n", "ERANGE"),
        ("cpu0/topology/core_cpus_list", "0,1-\n", "EINVAL"),
    ],
)
def test_bad_cpulist_file_keeps_the_kernel_errno(
    tmp_path: Path, rel: str, text: str, errno: str
) -> None:
    """A cpulist file the kernel would refuse is a MaskError: DUMP: FILE: ERRNO: why."""
    files = {"cpu0/topology/core_cpus_list": "0\n", rel: text}
    err = error(write_tree(tmp_path, files))
    assert isinstance(err, MaskError)
    assert err.errno == errno
    assert str(err).startswith(f"{tmp_path}: {rel}: {errno}: cpulist region ")


def test_hostile_value_is_quoted_clipped(tmp_path: Path) -> None:
    """A huge package id with control characters is echoed escaped and clipped."""
    files = {"cpu0/topology/core_cpus_list": "0\n"}
    files["cpu0/topology/physical_package_id"] = "\x07" + "9" * 5000 + "\n"
    message = str(error(write_tree(tmp_path, files)))
    assert "physical_package_id: '\\x07999" in message
    assert "\u2026' is not an integer" in message
    assert len(message) < len(str(tmp_path)) + 120


def test_no_cpu_folder_at_all(tmp_path: Path) -> None:
    """A folder without sys/devices/system/cpu is not a sysfs root."""
    assert "not a sysfs root" in str(error(tmp_path))


def test_folder_name_and_source() -> None:
    """A dump is named after its folder and described as a sysfs dump."""
    machine = sysfs("bulldozer")
    assert machine.name == "bulldozer"
    assert machine.source == "sysfs dump bulldozer"


def test_huge_file_is_refused(tmp_path: Path) -> None:
    """A sysfs file above a page's cap (64 KiB) is refused, not read whole."""
    root = write_tree(tmp_path, {"online": "0" + "," * (64 << 10) + "\n"})
    assert "online is larger than 64 KiB" in str(error(root))


@pytest.mark.skipif(
    not Path("/", CPU_DIR).is_dir() or not os.access("/" + CPU_DIR, os.R_OK),
    reason="this machine has no readable /sys/devices/system/cpu",
)
def test_live_machine() -> None:
    """The live machine reads: online CPUs all sit in cores, named after the host."""
    machine = read_source(Path("/"))
    assert machine.online
    assert machine.source == "live sysfs /"
    assert all(cpu in machine.present for cpu in machine.online)


def test_require_shared_fails_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing shared folder fails (not skips) under RMPPLAN_REQUIRE_SHARED=1."""
    monkeypatch.setenv("RMPPLAN_REQUIRE_SHARED", "1")
    with pytest.raises(pytest.fail.Exception, match="RMPPLAN_REQUIRE_SHARED=1"):
        require_shared_real(tmp_path / "missing")
    monkeypatch.setenv("RMPPLAN_REQUIRE_SHARED", "0")
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        require_shared_real(tmp_path / "missing")
