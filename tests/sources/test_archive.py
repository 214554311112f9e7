"""Dump tarballs read in memory: compressions, layouts, truncation, and hostile members."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING

import pytest

import rmpplan.sources.archive as archive_module
from rmpplan.sources import SourceFormat, detect_format, read_source
from rmpplan.sources.sysfs import CPU_DIR
from tests.sources.source_fixtures import DATA, first, pack, read_error, sysfs

if TYPE_CHECKING:
    from pathlib import Path

TREE = DATA / "sysfs" / "offline-cpu0"  # has proc/cpuinfo, an offline CPU 0, possible 0-7


def same_as_folder(path: Path, folder: Path = TREE) -> None:
    """The tarball reads to the same machine as the folder it was made from."""
    packed = read_source(path)
    unpacked = read_source(folder)
    assert [c.threads for c in packed.cores] == [c.threads for c in unpacked.cores]
    assert packed.online == unpacked.online
    assert packed.possible == unpacked.possible
    assert dict(packed.cpus) == dict(unpacked.cpus)  # APIC ids from proc/cpuinfo included


def build(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """A plain tar of hand-made members."""
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file(name: str, text: str) -> tuple[tarfile.TarInfo, bytes]:
    """A regular-file member."""
    return tarfile.TarInfo(name), text.encode()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    """A symbolic (or hard) link member."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def pair(prefix: str = "") -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """A two-CPU SMT pair as members (sibling lists only)."""
    base = f"{prefix}{CPU_DIR}"
    return [
        file(f"{base}/online", "0-1\n"),
        file(f"{base}/cpu0/topology/thread_siblings_list", "0-1\n"),
        file(f"{base}/cpu1/topology/thread_siblings_list", "0-1\n"),
    ]


@pytest.mark.parametrize("mode", ["w:", "w:gz", "w:bz2", "w:xz"])
@pytest.mark.parametrize("top", ["dump", "", "."])
def test_compressions_and_layouts(tmp_path: Path, mode: str, top: str) -> None:
    """.tar/.tar.gz/.tar.bz2/.tar.xz, with sys/ at the top, below a folder, or below ./."""
    same_as_folder(pack(TREE, tmp_path / "x.tar", top, mode))


def test_name_source_and_detection(tmp_path: Path) -> None:
    """A tarball is named after its stem without .tar.*, found by name or by content."""
    path = pack(TREE, tmp_path / "box-7.tar.xz", mode="w:xz")
    machine = read_source(path)
    assert machine.name == "box-7"
    assert machine.source == "sysfs dump tarball box-7.tar.xz"
    renamed = path.rename(tmp_path / "box-7.bin")
    assert detect_format(renamed) is SourceFormat.TARBALL


@pytest.mark.parametrize(
    ("cut", "mode"),
    [(0.5, "w:gz"), (0.9, "w:gz"), (0.5, "w:bz2"), (0.5, "w:xz"), (0.5, "w:"), (0.1, "w:")],
)
def test_truncated_archive(tmp_path: Path, cut: float, mode: str) -> None:
    """A tarball cut short (inside its data) is an InputError naming it."""
    whole = pack(TREE, tmp_path / "whole.tar", mode=mode).read_bytes()
    path = tmp_path / "cut.tar"
    path.write_bytes(whole[: int(len(whole) * cut) + 100])
    assert "truncated" in read_error(path)


def test_truncated_at_a_member_boundary(tmp_path: Path) -> None:
    """A plain tar that stops right after a member (no end-of-archive block) is truncated."""
    whole = build(tmp_path / "whole.tar", pair()).read_bytes()
    path = tmp_path / "cut.tar"
    path.write_bytes(whole[: 512 * 4])  # two members: header + one data block each
    assert "ends without the end-of-archive block" in read_error(path)


def test_garbage_and_empty(tmp_path: Path) -> None:
    """Not a tar at all, or an empty file, is refused cleanly."""
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"this is not a tar archive\n" * 40)
    assert "truncated or corrupt archive" in read_error(garbage)
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    assert "archive" in read_error(empty)


def test_path_traversal_member_refuses_the_archive(tmp_path: Path) -> None:
    """A member named with '..' refuses the archive; nothing is written anywhere."""
    path = build(tmp_path / "evil.tar", [*pair(), file("../../evil", "x")])
    assert "climbs out of the archive" in read_error(path)
    assert not (tmp_path.parent / "evil").exists()


def test_long_hostile_member_name_is_quoted_clipped(tmp_path: Path) -> None:
    """A huge member name with '..' and a control character is echoed short and escaped."""
    path = build(tmp_path / "evil.tar", [*pair(), file("../\x1b" + "x" * 5000, "x")])
    message = read_error(path)
    assert "archive member '../\\x1bxxx" in message
    assert "\u2026' climbs out" in message
    assert len(message) < len(str(path)) + 200


def test_absolute_member_names_are_made_relative(tmp_path: Path) -> None:
    """Like GNU tar, a leading '/' is dropped from member names."""
    path = build(tmp_path / "abs.tar", pair("/"))
    assert [core.threads for core in read_source(path).cores] == [(0, 1)]


@pytest.mark.parametrize("escape", ["absolute", "relative"])
def test_symlink_out_of_the_archive_is_refused(tmp_path: Path, escape: str) -> None:
    """A link out of the archive that a read needs refuses it, naming the link, not its target."""
    outside = tmp_path / "outside_list"
    outside.write_text("0-3\n", encoding="utf-8")
    target = str(outside) if escape == "absolute" else "../" * 12 + str(outside).lstrip("/")
    members = [
        *pair(),
        link(f"{CPU_DIR}/cpu0/topology/core_cpus_list", target),
    ]
    message = read_error(build(tmp_path / "escape.tar", members))
    assert f"{CPU_DIR}/cpu0/topology/core_cpus_list is a symbolic link out of the dump" in message
    assert "outside_list" not in message


def test_symlinks_inside_the_archive_are_followed(tmp_path: Path) -> None:
    """Links inside the archive resolve, folders included (one topology/ folder shared)."""
    members = [
        file(f"{CPU_DIR}/online", "0-2\n"),
        file(f"{CPU_DIR}/store/core0/core_cpus_list", "0-2\n"),
        file(f"{CPU_DIR}/store/core0/physical_package_id", "3\n"),
        link(f"{CPU_DIR}/cpu0/topology", "../store/./core0"),
        link(f"{CPU_DIR}/cpu1", "cpu0"),
        link(f"{CPU_DIR}/cpu2", "../cpu/cpu1"),
    ]
    tree_path = build(tmp_path / "links.tar", members)
    machine = read_source(tree_path)
    assert [(core.threads, core.key) for core in machine.cores] == [((0, 1, 2), (3, 0, 0))]


def test_symlink_loop_is_refused_not_a_hang(tmp_path: Path) -> None:
    """A link loop is refused after 40 links, as the kernel does (ELOOP)."""
    members = [
        file(f"{CPU_DIR}/online", "0-1\n"),
        file(f"{CPU_DIR}/cpu0/topology/core_cpus_list", "0\n"),
        link(f"{CPU_DIR}/cpu1/topology", "loop"),
        link(f"{CPU_DIR}/cpu1/loop", "topology"),
    ]
    message = read_error(build(tmp_path / "loop.tar", members))
    assert "more than 40 symbolic links in a row" in message


def test_hard_links(tmp_path: Path) -> None:
    """A hard link reads the member it names."""
    members = [
        *pair()[:2],
        link(f"{CPU_DIR}/cpu1/topology/thread_siblings_list", "", tarfile.LNKTYPE),
    ]
    members[-1][0].linkname = f"{CPU_DIR}/cpu0/topology/thread_siblings_list"
    machine = read_source(build(tmp_path / "hard.tar", members))
    assert [core.threads for core in machine.cores] == [(0, 1)]


def test_two_trees_are_refused(tmp_path: Path) -> None:
    """One machine per archive."""
    path = build(tmp_path / "two.tar", [*pair("a/"), *pair("b/")])
    assert "more than one sys/devices/system/cpu tree ('a/' and 'b/')" in read_error(path)


def test_no_tree(tmp_path: Path) -> None:
    """An archive without sys/devices/system/cpu is refused."""
    path = build(tmp_path / "none.tar", [file("README", "hello\n")])
    assert "has no sys/devices/system/cpu folder" in read_error(path)


@pytest.mark.parametrize(
    ("cap", "value", "message"),
    [
        ("MAX_KEPT_MEMBERS", 2, "more than 2 CPU topology entries"),
        ("MAX_KEPT_BYTES", 6, "more than 6 bytes of sysfs text"),
        ("MAX_STREAM_BYTES", 2048, "expands to more than 2 KiB"),
    ],
)
def test_size_caps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: str, value: object, message: str
) -> None:
    """Member count, kept text and uncompressed size are capped."""
    monkeypatch.setattr(archive_module, cap, value)
    path = build(tmp_path / "big.tar", pair())
    assert message in read_error(path)


def test_old_dump_in_a_tarball(tmp_path: Path) -> None:
    """The hex-mask-only dump reads the same packed (cpuN/online and topology/ via the index)."""
    folder = DATA / "sysfs" / "old-hex-only"
    machine = read_source(pack(folder, tmp_path / "old.tar.bz2", mode="w:bz2"))
    assert first(machine) == first(sysfs("old-hex-only"))
    assert machine.online == sysfs("old-hex-only").online


def test_member_order_does_not_matter(tmp_path: Path) -> None:
    """Members packed in reverse order (files before their folders) read the same."""
    forward = pack(TREE, tmp_path / "forward.tar", mode="w:")
    backward = tmp_path / "backward.tar"
    with tarfile.open(forward) as source, tarfile.open(backward, "w") as target:
        for member in reversed(source.getmembers()):
            target.addfile(member, source.extractfile(member) if member.isreg() else None)
    same_as_folder(backward)
