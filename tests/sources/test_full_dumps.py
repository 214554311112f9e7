"""Real full sysfs dumps (topology, caches, C-states, cpufreq, nodes, cpuinfo: about 100
members a CPU) are accepted in every compression: what is kept and what costs are
bounded, not the members stepped over. Big ones are measured in bench/hostile.py."""

from __future__ import annotations

import gzip
import json
import tarfile
from typing import TYPE_CHECKING

import pytest

from rmpplan.sources import archive as archive_module
from rmpplan.sources.archive import TarTree
from rmpplan.terms import NR_CPUS_MAX
from tests.cli import one_error, run
from tests.sources.full_dump import END_BLOCKS, full_dump, header, write_full_dump

if TYPE_CHECKING:
    from pathlib import Path

CPUS = 16
SUFFIX = {"tar": "tar", "gzip": "tar.gz", "bzip2": "tar.bz2", "xz": "tar.xz"}


def packed(tmp_path: Path, compression: str, cpus: int = CPUS, host: int = 0) -> Path:
    path = tmp_path / f"host{host}.{SUFFIX[compression]}"
    with path.open("wb") as out:
        write_full_dump(out, cpus, compression, host=host, level=1)
    return path


def unpacked(tmp_path: Path, tarball: Path) -> Path:
    """The same dump as a folder, read by the folder reader: the oracle."""
    target = tmp_path / "unpacked"
    with tarfile.open(tarball) as tar:
        tar.extractall(target, filter="tar")
    return target / "dump"


def shown(path: Path) -> dict[str, object]:
    out = run("show", str(path), "--format", "json")
    assert out.exit_code == 0, out.output
    document = json.loads(out.stdout)
    assert isinstance(document, dict)
    # The file's name and kind, and the facts only a folder reports, not the machine.
    for key in ("source", "name", "topology", "facts"):
        document.pop(key, None)
    return document


@pytest.mark.parametrize("compression", ["tar", "gzip", "bzip2", "xz"])
def test_full_dump_reads_as_its_folder(tmp_path: Path, compression: str) -> None:
    """A full dump is accepted, and says what the same files say as a folder."""
    tarball = packed(tmp_path, compression)
    assert shown(tarball) == shown(unpacked(tmp_path, tarball))
    out = run("verify", str(tarball), "--format", "json")
    assert out.exit_code == 0, out.output


def test_full_dump_members_per_cpu() -> None:
    """The generated dump is as big as a real one: about 100 members a CPU."""
    members = sum(1 for _ in full_dump(CPUS)) - 1  # the end blocks are no member
    assert 100 * CPUS <= members <= 130 * CPUS


def test_what_is_kept_fits_8192_cpus(tmp_path: Path) -> None:
    """Only what the reader needs is kept: at 8192 CPUs that stays under the caps."""
    tree = TarTree(packed(tmp_path, "gzip", cpus=64))
    assert tree.members > 100 * 64
    per_cpu = tree.kept / 64
    assert per_cpu * NR_CPUS_MAX < archive_module.MAX_KEPT_MEMBERS
    assert tree.kept_bytes / 64 * NR_CPUS_MAX < archive_module.MAX_KEPT_BYTES


def test_skipped_members_are_not_capped(tmp_path: Path) -> None:
    """More members than the old 65,536 cap, all stepped over: accepted."""
    dump = b"".join(block for block in full_dump(4))[: -len(END_BLOCKS)]
    extra = b"".join(header(f"dump/sys/devices/system/cpu/cpu0/cache/x{i}") for i in range(70_000))
    path = tmp_path / "many.tar.gz"
    path.write_bytes(gzip.compress(dump + extra + END_BLOCKS, 1))
    out = run("verify", str(path), "--format", "text")
    assert out.exit_code == 0, out.output


def test_kept_members_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What is kept is still bounded: more topology entries than the cap refuse it."""
    monkeypatch.setattr(archive_module, "MAX_KEPT_MEMBERS", 50)
    one_error(run("verify", str(packed(tmp_path, "gzip"))), "more than 50 CPU topology entries")


def test_inflated_bytes_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What costs is bounded: a dump that inflates past the stream cap is refused."""
    monkeypatch.setattr(archive_module, "MAX_STREAM_BYTES", 1 << 20)
    one_error(run("verify", str(packed(tmp_path, "xz"))), "expands to more than 1 MiB")


def test_distinct_hosts_differ_in_bytes_not_shape(tmp_path: Path) -> None:
    """Two hosts' dumps differ in their bytes (MHz, counters) but are one machine."""
    first, second = packed(tmp_path, "gzip", host=1), packed(tmp_path, "gzip", host=2)
    assert first.read_bytes() != second.read_bytes()
    assert shown(first) == shown(second)


def _corrupted(member_name: str) -> bytes:
    """A full dump whose header of ``member_name`` has a wrong checksum (its mtime changed)."""
    blocks = list(full_dump(4))
    for index, block in enumerate(blocks):
        if block[:100].rstrip(b"\0") == member_name.encode():
            header_block = bytearray(block[:512])
            header_block[140] ^= 0x01
            blocks[index] = bytes(header_block) + block[512:]
            return b"".join(blocks)
    raise AssertionError(member_name)


KEPT = "dump/sys/devices/system/cpu/cpu1/topology/core_cpus_list"
SKIPPED = "dump/sys/devices/system/cpu/cpu1/cache/index0/level"


@pytest.mark.parametrize("compression", ["plain", "gzip"])
def test_a_kept_member_with_a_wrong_checksum_is_refused(tmp_path: Path, compression: str) -> None:
    raw = _corrupted(KEPT)
    path = tmp_path / ("x.tar" if compression == "plain" else "x.tar.gz")
    path.write_bytes(raw if compression == "plain" else gzip.compress(raw, 1))
    one_error(run("verify", str(path)), "wrong checksum")


def test_a_skipped_member_is_checked_by_the_compression(tmp_path: Path) -> None:
    """A plain tar checks every header; gzip's CRC covers a member stepped over, so its own
    checksum is not recomputed there (the bytes are what was packed)."""
    raw = _corrupted(SKIPPED)
    plain = tmp_path / "x.tar"
    plain.write_bytes(raw)
    one_error(run("verify", str(plain)), "wrong checksum")
    packed_path = tmp_path / "x.tar.gz"
    packed_path.write_bytes(gzip.compress(raw, 1))
    assert run("verify", str(packed_path)).exit_code == 0
