"""A dump is a closed world: links stay inside it, only regular files are opened, never
blocking, every file within its cap; the same for every other input file."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import Result

import rmpplan.sources.archive as archive_module
from rmpplan.files import read_file_bytes
from rmpplan.sources import SourceFormat, read_source
from rmpplan.sources.sysfs import CPU_DIR
from tests.cli import one_error, run, run_child
from tests.conftest import TOPOLOGIES
from tests.sources.source_fixtures import DATA, pack, read_error, write_tree

SECRET = "SECRET-do-not-print-0xdeadbeef"
EPYC = str(TOPOLOGIES / "epyc-9965-2s.yaml")
PAIR = {
    "online": "0-1\n",
    "cpu0/topology/core_cpus_list": "0-1\n",
    "cpu0/topology/physical_package_id": "0\n",
    "cpu1/topology/core_cpus_list": "0-1\n",
    "cpu1/topology/physical_package_id": "0\n",
}


def refused(result: Result, needle: str) -> str:
    """Exit 2, one stderr line holding ``needle``, no traceback, no secret; the line."""
    assert SECRET not in result.stderr + result.stdout
    return one_error(result, needle)


def refused_child(result: subprocess.CompletedProcess[str], needle: str) -> None:
    """The child's exit 2 and one stderr line holding ``needle``."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in lines[0]


def secret_file(tmp_path: Path) -> Path:
    """A file outside the dump whose content must never be printed."""
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


# --- links in a dump folder -------------------------------------------------------------


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_link_to_a_file_outside_the_dump(tmp_path: Path, how: str) -> None:
    """physical_package_id linked to a file outside is refused, naming the link only."""
    secret = secret_file(tmp_path)
    root = write_tree(tmp_path / "dump", PAIR)
    link = root / CPU_DIR / "cpu0/topology/physical_package_id"
    link.unlink()
    link.symlink_to(secret if how == "absolute" else Path("../" * 7 + "secret"))
    line = refused(run("show", str(root)), "symbolic link out of the dump")
    assert f"{CPU_DIR}/cpu0/topology/physical_package_id" in line
    assert "secret" not in line.replace(str(root), "")


def test_link_to_a_folder_outside_the_dump(tmp_path: Path) -> None:
    """A topology/ folder linked outside is refused before anything in it is opened."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "core_cpus_list").write_text("0-1\n", encoding="utf-8")
    (outside / "physical_package_id").write_text(SECRET + "\n", encoding="utf-8")
    root = write_tree(
        tmp_path / "dump", {"online": "0-1\n", "cpu1/topology/core_cpus_list": "0-1\n"}
    )
    (root / CPU_DIR / "cpu0").mkdir()
    (root / CPU_DIR / "cpu0/topology").symlink_to(outside)
    refused(run("show", str(root)), f"{CPU_DIR}/cpu0/topology is a symbolic link out of the dump")


def test_links_inside_the_dump_are_followed(tmp_path: Path) -> None:
    """Relative links that stay inside resolve, as in a tarball."""
    root = write_tree(tmp_path / "dump", {"online": "0-1\n", "store/core_cpus_list": "0-1\n"})
    cpus = root / CPU_DIR
    (cpus / "cpu0").mkdir()
    (cpus / "cpu0/topology").symlink_to("../store")
    (cpus / "cpu1").symlink_to("cpu0")
    machine = read_source(root)
    assert [core.threads for core in machine.cores] == [(0, 1)]


def test_link_loop_in_a_dump_folder(tmp_path: Path) -> None:
    """A loop of links is refused after 40, like the kernel's ELOOP, never a hang."""
    root = write_tree(tmp_path / "dump", {"online": "0\n", "cpu0/topology/core_cpus_list": "0\n"})
    (root / CPU_DIR / "cpu0/topology/core_cpus_list").unlink()
    (root / CPU_DIR / "cpu0/topology/core_cpus_list").symlink_to("loop")
    (root / CPU_DIR / "cpu0/topology/loop").symlink_to("core_cpus_list")
    assert "more than 40 symbolic links" in read_error(root)


def test_the_dump_root_itself_may_be_a_link(tmp_path: Path) -> None:
    """The path the user gives is theirs to choose: a link to a dump reads the dump."""
    root = write_tree(tmp_path / "dump", PAIR)
    (tmp_path / "alias").symlink_to(root)
    assert read_source(tmp_path / "alias").online == frozenset({0, 1})


# --- special files ----------------------------------------------------------------------


def test_fifo_in_a_dump_folder(tmp_path: Path) -> None:
    """cpu/online as a FIFO is refused at once, not waited on."""
    root = write_tree(tmp_path / "dump", PAIR)
    (root / CPU_DIR / "online").unlink()
    os.mkfifo(root / CPU_DIR / "online")
    refused_child(run_child("show", str(root)), "online is a FIFO (named pipe), not a regular file")


@pytest.mark.parametrize(
    "fmt", [None, "topology", "hwloc-xml", "lscpu-json", "lscpu-csv", "tarball"]
)
def test_fifo_as_an_input(tmp_path: Path, fmt: str | None) -> None:
    """A FIFO given as the input, with any --input-format, is refused without blocking."""
    fifo = tmp_path / "in.yaml"
    os.mkfifo(fifo)
    extra = [] if fmt is None else ["--input-format", fmt]
    refused_child(run_child("plan", str(fifo), "--leader", "0", *extra), "is a FIFO (named pipe)")


@pytest.mark.parametrize("flag", ["--memory-from", "--dmesg"])
def test_fifo_as_a_saved_file(tmp_path: Path, flag: str) -> None:
    """--memory-from and --dmesg refuse a FIFO too."""
    fifo = tmp_path / "saved"
    os.mkfifo(fifo)
    refused_child(run_child("verify", EPYC, flag, str(fifo)), "is a FIFO (named pipe)")


def test_device_as_a_topology() -> None:
    """A character device is refused before it is read (/dev/zero would never end)."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    refused(
        run("plan", "/dev/zero", "--input-format", "topology", "--leader", "0"), "character device"
    )


def test_socket_as_a_topology(tmp_path: Path) -> None:
    """A Unix socket is refused by name, not as a puzzling open() error."""
    path = tmp_path / "s.yaml"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        refused(run("plan", str(path), "--leader", "0"), "is a socket")
    finally:
        server.close()


def test_procfs_files_are_read_with_a_cap() -> None:
    """/proc files report size 0 and still read whole (the live machine's inputs)."""
    proc = Path("/proc/self/status")
    if not proc.exists():
        pytest.skip("no procfs here")
    assert proc.stat().st_size == 0
    assert b"Name:" in read_file_bytes(proc)


# --- strict sysfs values ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["0_0", "+1", "\u0661", "1" * 11, "0x1"])
def test_sysfs_ids_are_plain_ascii_digits(tmp_path: Path, value: str) -> None:
    """int() would take '0_0', '+1' and non-ASCII digits; sysfs never prints them."""
    root = write_tree(tmp_path / "dump", {**PAIR, "cpu0/topology/physical_package_id": value})
    refused(run("show", str(root)), "physical_package_id: '")
    refused(run("show", str(root)), "is not an integer")


def test_minus_one_is_still_read_as_zero(tmp_path: Path) -> None:
    """The kernel's -1 ("unknown") stays what it was: package 0."""
    root = write_tree(tmp_path / "dump", {**PAIR, "cpu0/topology/physical_package_id": "-1\n"})
    assert {cpu.package for cpu in read_source(root).cpus.values()} == {0}


def test_sibling_set_larger_than_any_core(tmp_path: Path) -> None:
    """A sibling list of 9 CPUs is refused at the first file, before the sets are compared."""
    files = {"online": "0-8\n"} | {f"cpu{i}/topology/core_cpus_list": "0-8\n" for i in range(9)}
    root = write_tree(tmp_path / "dump", files)
    refused(run("show", str(root)), "lists 9 CPUs (0-8); no core has more than 8 threads")


def test_cpu_folder_past_nr_cpus(tmp_path: Path) -> None:
    """A cpu8192 folder cannot be a CPU of any kernel."""
    root = write_tree(tmp_path / "dump", PAIR)
    (root / CPU_DIR / "cpu8192").mkdir()
    refused(run("show", str(root)), "cpu8192: CPU ids end at 8191")


def test_too_many_folder_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder is listed up to its cap, never whole."""
    from rmpplan.sources import tree

    monkeypatch.setattr(tree, "MAX_DIR_ENTRIES", 4)
    root = write_tree(tmp_path / "dump", {**PAIR, "a": "", "b": "", "c": ""})
    assert "holds more than 4 entries" in read_error(root)


def test_cpuinfo_with_more_processors_than_any_kernel(tmp_path: Path) -> None:
    """More than 8192 processor blocks, or an 11-digit number, give no APIC ids."""
    blocks = "".join(f"processor\t: {i % 8192}\napicid\t: {i}\n\n" for i in range(8193))
    root = write_tree(tmp_path / "a", PAIR)
    (root / "proc").mkdir()
    (root / "proc/cpuinfo").write_text(blocks, encoding="utf-8")
    assert all(cpu.apic_id is None for cpu in read_source(root).cpus.values())
    (root / "proc/cpuinfo").write_text(
        "processor\t: 0\napicid\t: 1\n\nprocessor\t: 1\napicid\t: 99999999999\n", encoding="utf-8"
    )
    assert read_source(root).cpus[0].apic_id == 1
    assert read_source(root).cpus[1].apic_id is None


# --- dump tarballs ----------------------------------------------------------------------


def tar_bytes(members: Sequence[tuple[tarfile.TarInfo, bytes | None]], fmt: int) -> bytes:
    """A plain tar in the given tarfile format."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def member(name: str, text: str) -> tuple[tarfile.TarInfo, bytes]:
    """A regular file member."""
    return tarfile.TarInfo(name), text.encode()


@pytest.mark.parametrize(
    "fmt",
    [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
    ids=["ustar", "gnu", "pax"],
)
@pytest.mark.parametrize("top", ["d", "d" * 110], ids=["short", "long"])
def test_tar_formats_and_long_names(tmp_path: Path, fmt: int, top: str) -> None:
    """ustar (prefix field), GNU (././@LongLink) and pax (path records) all read the same."""
    members = [member(f"{top}/{CPU_DIR}/{rel}", text) for rel, text in PAIR.items()]
    path = tmp_path / "x.tar"
    path.write_bytes(tar_bytes(members, fmt))
    machine = read_source(path)
    assert [core.threads for core in machine.cores] == [(0, 1)]


def test_tar_of_a_real_layout_reads_like_the_folder(tmp_path: Path) -> None:
    """A tarball made by tarfile from a test dump reads as the folder does."""
    folder = DATA / "sysfs" / "offline-cpu0"
    packed = read_source(pack(folder, tmp_path / "p.tar.xz", mode="w:xz"))
    assert dict(packed.cpus) == dict(read_source(folder).cpus)


def test_tarball_link_out_through_the_cli(tmp_path: Path) -> None:
    """A tarball's link to a file outside: exit 2, one line naming the link, no content."""
    secret = secret_file(tmp_path)
    link = tarfile.TarInfo(f"dump/{CPU_DIR}/cpu0/topology/physical_package_id")
    link.type = tarfile.SYMTYPE
    link.linkname = str(secret)
    members = [member(f"dump/{CPU_DIR}/{rel}", text) for rel, text in PAIR.items()]
    members = [m for m in members if not m[0].name.endswith("cpu0/topology/physical_package_id")]
    path = tmp_path / "escape.tar"
    path.write_bytes(tar_bytes([*members, (link, None)], tarfile.GNU_FORMAT))
    line = refused(run("show", str(path)), "is a symbolic link out of the dump")
    assert "secret" not in line.replace(str(tmp_path), "")


def test_sibling_list_bomb_in_a_tarball_through_the_cli(tmp_path: Path) -> None:
    """A few KB of gzip that expand to a 2 MiB sibling list: refused, not expanded."""
    big = "0," * (1 << 20) + "0\n"
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in {**PAIR, "cpu0/topology/core_cpus_list": big}.items():
            info, data = member(f"dump/{CPU_DIR}/{rel}", text)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert path.stat().st_size < 64 << 10
    refused(run("show", str(path)), "core_cpus_list is larger than 64 KiB")


def test_oversize_member_is_refused_when_read(tmp_path: Path) -> None:
    """A sysfs file bigger than a page inside a tarball: refused, and never kept whole."""
    big = "0," * (40 << 10) + "0\n"
    members = [member(f"{CPU_DIR}/{rel}", text) for rel, text in PAIR.items()]
    members.append(member(f"{CPU_DIR}/online", big))
    path = tmp_path / "big.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert "online is larger than 64 KiB" in read_error(path)


def test_bad_checksum_is_corrupt(tmp_path: Path) -> None:
    """A header whose checksum does not add up refuses the archive."""
    raw = bytearray(tar_bytes([member(f"{CPU_DIR}/online", "0\n")], tarfile.USTAR_FORMAT))
    raw[0] ^= 0x01  # the name changes, the stored checksum does not
    path = tmp_path / "bad.tar"
    path.write_bytes(bytes(raw))
    assert "wrong checksum" in read_error(path)


def test_sparse_member_is_refused(tmp_path: Path) -> None:
    """GNU sparse members never occur in a sysfs dump and are refused, not half-read."""
    info, data = member(f"{CPU_DIR}/online", "0\n")
    raw = bytearray(tar_bytes([(info, data)], tarfile.GNU_FORMAT))
    raw[156] = ord("S")
    raw[148:156] = b" " * 8
    raw[148:155] = f"{sum(raw[:512]):06o}\0".encode()
    path = tmp_path / "sparse.tar"
    path.write_bytes(bytes(raw))
    assert "a sparse member" in read_error(path)


@pytest.mark.parametrize(("mode", "kind"), [("w:bz2", "bzip2"), ("w:xz", "xz"), ("w:gz", "gzip")])
def test_file_cap_per_compression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, kind: str
) -> None:
    """Each compression has its own cap on the archive's size (how slowly it undoes)."""
    monkeypatch.setitem(archive_module.MAX_ARCHIVE_BYTES, kind, 64)
    path = tmp_path / "x.tar.any"
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in [member(f"{CPU_DIR}/{rel}", text) for rel, text in PAIR.items()]:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert f"larger than 64 bytes as {kind}; refusing it" in read_error(path, SourceFormat.TARBALL)


def test_archive_file_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive file itself is capped, from its size, before it is read."""
    monkeypatch.setitem(archive_module.MAX_ARCHIVE_BYTES, "tar", 1024)
    path = tmp_path / "x.tar"
    path.write_bytes(tar_bytes([member(f"{CPU_DIR}/online", "0\n")], tarfile.USTAR_FORMAT))
    assert "larger than 1 KiB" in read_error(path)
