"""A fleet of dump tarballs that differ in bytes (cpuinfo MHz, names) but not in shape:
each one is walked, and only the first of each content is read into a machine. These
tests hold that shortcut to the plain path's bytes and count the work it skips."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rmpplan.errors import InputError
from rmpplan.sources import archive, sysfs
from rmpplan.sources.archive import TarTree
from rmpplan.sources.tree import Tree
from rmpplan.topology.machine import Machine
from tests.cli import run
from tests.sources.full_dump import (
    CPU,
    END_BLOCKS,
    folder,
    full_dump,
    header,
    member,
    symlink,
    write_full_dump,
)

HOSTS = 5


def fleet(where: Path, hosts: int = HOSTS, cpus: int = 8) -> Path:
    """``hosts`` full dumps of one shape, each with its own MHz lines and name."""
    where.mkdir(exist_ok=True)
    for host in range(hosts):
        with (where / f"host-{host:03d}.tar.gz").open("wb") as out:
            write_full_dump(out, cpus, "gzip", host=host)
    return where


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the machines read from a sysfs tree, as they are read."""
    names: list[str] = []
    plain = sysfs.read_sysfs_tree

    def counted(tree: Tree, name: str, source: str | None = None) -> Machine:
        names.append(name)
        return plain(tree, name, source)

    monkeypatch.setattr(sysfs, "read_sysfs_tree", counted)
    monkeypatch.setattr(archive, "read_sysfs_tree", counted)
    return names


def test_one_read_per_content_and_every_host_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fleet(tmp_path / "fleet")
    with (folder / "wider.tar.gz").open("wb") as out:  # another shape: read on its own
        write_full_dump(out, 16, "gzip", host=9)
    reads = count_reads(monkeypatch)
    result = run("verify", str(folder), "--jobs", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert reads == ["host-000", "wider"]
    names = sorted(entry["name"] for entry in json.loads(result.stdout)["results"])
    assert names == [f"host-{host:03d}" for host in range(HOSTS)] + ["wider"]


def test_shortcut_output_is_byte_identical_to_reading_every_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fleet(tmp_path / "fleet")
    with (folder / "wider.tar.gz").open("wb") as out:
        write_full_dump(out, 16, "gzip", host=9)
    unique = itertools.count()
    for fmt in ("json", "table"):
        shared = run("verify", str(folder), "--jobs", "1", "--format", fmt)
        with monkeypatch.context() as patch:
            patch.setattr(TarTree, "content_key", lambda _self: f"unique-{next(unique)}")
            reads = count_reads(patch)
            plain = run("verify", str(folder), "--jobs", "1", "--format", fmt)
        assert len(reads) == HOSTS + 1  # the plain path did read every host
        assert (shared.exit_code, shared.stdout) == (plain.exit_code, plain.stdout)


def test_pool_gives_the_same_bytes(tmp_path: Path) -> None:
    folder = fleet(tmp_path / "fleet", hosts=8)
    one = run("verify", str(folder), "--jobs", "1", "--format", "json")
    two = run("verify", str(folder), "--jobs", "2", "--format", "json")
    assert one.exit_code == 0
    assert one.stdout == two.stdout


def dump(tail: bytes, cpus: int = 4, host: int = 0) -> bytes:
    """A full dump whose members after the CPU folders are replaced by ``tail``."""
    blocks = list(full_dump(cpus, host=host))
    assert blocks[-1] == END_BLOCKS
    return b"".join(blocks[:-1]) + tail + END_BLOCKS


def key_of(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return TarTree(path).content_key()


def test_key_ignores_mhz_but_not_apic_ids(tmp_path: Path) -> None:
    apic = "processor\t: 0\napicid\t\t: {}\ncpu MHz\t\t: {}\n\n"
    mhz_a = key_of(tmp_path / "b.tar", dump(b"", host=1))
    mhz_b = key_of(tmp_path / "c.tar", dump(b"", host=2))
    assert mhz_a == mhz_b  # the hosts' MHz and bogomips lines differ
    # Two cpuinfo files that differ only in an apicid line: two keys.
    first = key_of(tmp_path / "d.tar", dump(member("dump/proc/cpuinfo", apic.format(0, 1))))
    second = key_of(tmp_path / "e.tar", dump(member("dump/proc/cpuinfo", apic.format(2, 1))))
    assert first != second


def test_a_link_to_cpuinfo_keeps_cpuinfo_whole(tmp_path: Path) -> None:
    """cpuinfo read as another file through a link: its MHz lines then count."""
    link = symlink("dump/sys/devices/system/cpu/cpu0/topology/die_id", "../../../../../proc/x")
    keys = {
        key_of(tmp_path / f"{host}.tar", dump(link, host=host))
        for host in (1, 2)  # their cpuinfo differs only in MHz
    }
    assert len(keys) == 2


NAME_PARTS = st.sampled_from(
    [
        "dump",
        "sys",
        "devices",
        "system",
        "cpu",
        "cpu0",
        "cpu12",
        "topology",
        "online",
        "die_id",
        "core_cpus_list",
        "cache",
        "index0",
        "proc",
        "cpuinfo",
        "",
        ".",
        "..",
        "x y",
    ]
)


@given(st.lists(NAME_PARTS, min_size=1, max_size=9), st.sampled_from(b"01257"), st.booleans())
def test_fast_path_keeps_what_the_full_path_keeps(parts: list[str], kind: int, slash: bool) -> None:
    """The byte-level test of the fast path agrees with the full path's normalize-and-keep."""
    name = "/".join(parts) + ("/" if slash else "")
    fast = archive._keeps(name.encode(), kind)
    if fast is None:
        return  # the full path reads it
    assert fast == archive._kept(archive._normalize(name), kind)


def test_no_name_the_fast_path_looks_for_holds_a_digit() -> None:
    """Names are remembered by their shape, every digit a 0; that is exact only while no
    name the keep rule or the file caps look for holds a digit."""
    looked_for = (
        archive._INSIDE,
        *archive._ON_THE_WAY,
        *archive._READ_FILES,
        sysfs.CPUINFO,
        "topology",
    )
    assert not any(char.isdigit() for name in looked_for for char in name)


@given(
    st.lists(st.sampled_from(["cpu0", "cpu17", "index3", "node1", "1.", "..9"]) | NAME_PARTS),
    st.sampled_from(b"01257"),
)
def test_a_name_means_what_its_shape_means(parts: list[str], kind: int) -> None:
    raw = "/".join(parts).encode()
    shape = raw.translate(archive._DIGITS_AS_ZERO)
    assert archive._keeps(raw, kind) == archive._keeps(shape, kind)
    assert archive._cap(raw.decode()) == archive._cap(shape.decode())


def test_the_cpuinfo_lines_kept_in_the_key_are_the_ones_the_reader_matches() -> None:
    """The key keeps cpuinfo's lines that start with these words; the reader's pattern must
    match no other line, or two hosts it reads apart would share one key."""
    pattern = sysfs._CPUINFO_LINE.pattern
    assert pattern.startswith("^(processor|apicid)")
    assert archive._CPUINFO_READ.pattern == rb"\n(?:processor|apicid)[^\n]*"


def test_names_remembered_across_tarballs_give_the_same_tree(tmp_path: Path) -> None:
    """The fast path remembers what each raw name means; a tree read with a warm memory
    equals one read with a cold one."""
    path = tmp_path / "one.tar.gz"
    with path.open("wb") as out:
        write_full_dump(out, 8, "gzip", host=3)
    archive._PLAIN.clear()
    archive._SHAPES.clear()
    cold = TarTree(path)
    assert archive._PLAIN  # the walk did remember names
    warm = TarTree(path)
    assert (cold.files, cold.dirs, cold.symlinks, cold.members, cold.kept) == (
        warm.files,
        warm.dirs,
        warm.symlinks,
        warm.members,
        warm.kept,
    )


def test_a_nul_in_a_pax_name_cannot_shift_files_between_names(tmp_path: Path) -> None:
    """Names are joined with NULs in the key; a pax name holding a NUL must not make two
    different trees (``a\\0b`` + ``c`` against ``a`` + ``b\\0c``) hash alike."""
    tree = TarTree.__new__(TarTree)
    tree.prefix, tree.dirs, tree.oversize, tree.symlinks, tree.hardlinks = "", set(), set(), {}, {}
    tree.files = {"a\0b": b"1", "c": b"2"}
    first = tree.content_key()
    tree.files = {"a": b"1", "b\0c": b"2"}
    assert tree.content_key() != first


@given(st.binary(min_size=512, max_size=512), st.booleans())
def test_the_checksum_shortcut_is_the_byte_sum(block: bytes, ascii_only: bool) -> None:
    """The one-Adler-32 checksum of an ASCII block agrees with summing its bytes (the
    field counting as spaces), as does the general one of any block."""
    if ascii_only:
        block = bytes(byte & 0x7F for byte in block)
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    right = block[:148] + f"{unsigned:06o}\0 ".encode() + block[156:]
    wrong = block[:148] + f"{unsigned + 1:06o}\0 ".encode() + block[156:]
    assert archive._checksum_ok(right)
    assert not archive._checksum_ok(wrong)


def _never(self: TarTree, stream: object, every: bool) -> bool:
    return False


def _tree_or_error(raw: bytes, compressed: bool, *, full: bool = False) -> object:
    """What :class:`TarTree` makes of ``raw``: its state, or the error it gives; ``full``
    reads every header through the full path (no fast path), the oracle."""
    with tempfile.TemporaryDirectory() as where:
        path = Path(where) / ("x.tar.gz" if compressed else "x.tar")
        path.write_bytes(gzip.compress(raw, 1) if compressed else raw)
        with contextlib.ExitStack() as stack:
            if full:
                stack.enter_context(mock.patch.object(TarTree, "_fast", _never))
                stack.enter_context(mock.patch.object(TarTree, "_fast_across", _never))
            try:
                tree = TarTree(path)
            except InputError as err:
                return str(err).replace(str(path), "x")
    return (
        tree.files,
        tree.dirs,
        tree.symlinks,
        tree.hardlinks,
        tree.oversize,
        tree.kept,
        tree.kept_bytes,
        tree.members,
        tree.prefix,
    )


# The full path (every header parsed and checksummed one at a time) is the oracle; the
# fast path, on a plain tar (every checksum) and on its gzip (kept members' checksums),
# must agree with it member for member.
MEMBER = st.tuples(
    st.one_of(
        st.lists(NAME_PARTS, min_size=1, max_size=3).map(lambda parts: [*CPU.split("/"), *parts]),
        st.lists(NAME_PARTS, min_size=1, max_size=8),
    ),
    st.sampled_from(b"01257"),
    st.sampled_from([0, 1, 511, 512, 513, (64 << 10) + 1]),
)


@given(st.lists(MEMBER, max_size=12))
@example([([*CPU.split("/"), "cpu0", "online"], ord("0"), (64 << 10) + 1)])
@example([([*CPU.split("/"), "cpu1", "topology", "core_id"], ord("7"), 513)])
@example([([*CPU.split("/"), "cpu0"], ord("2"), 0), ([*CPU.split("/"), "cpu1"], ord("1"), 0)])
def test_the_fast_path_reads_an_archive_as_the_full_path_does(
    members: list[tuple[list[str], int, int]],
) -> None:
    blocks = [folder(f"dump/{CPU}")]
    for parts, kind, size in members:
        name = "dump/" + "/".join(parts)
        if kind in b"12":
            blocks.append(header(name, kind=bytes([kind]), link="dump/" + "/".join(parts[:2])))
        elif kind == ord("5"):
            blocks.append(header(name + "/", kind=b"5"))
        else:
            blocks.append(header(name, size, bytes([kind])) + b"7" * size + bytes(-size % 512))
    raw = b"".join(blocks) + END_BLOCKS
    oracle = _tree_or_error(raw, compressed=False, full=True)
    assert _tree_or_error(raw, compressed=False) == oracle
    assert _tree_or_error(raw, compressed=True) == oracle


CHECKSUM_FIELDS = ("{:06o}\0 ", "{:07o}\0", " {:06o}\0", "{:06o}  ", "{:o}", "{:07o} ", "0{:o}")


# Bytes written over the fields no reader of a plain header looks at: none, a user
# name in Latin-1, and 0xff wherever it can go, which sums past Adler-32's modulus.
FILLERS = ("", "latin", "heavy")


def _filled(block: bytearray, filler: str) -> None:
    if filler == "latin":
        block[265:270] = b"\xe9t\xe9\0\0"
    elif filler == "heavy":
        end = block.index(0)
        block[end + 1 : 100] = b"\xff" * (99 - end)
        block[157:257] = b"\xff" * 100
        block[265:345] = b"\xff" * 80
        block[500:512] = b"\xff" * 12


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("off", [0, 1, -1, 8, 65521, -65521])
@pytest.mark.parametrize("field", CHECKSUM_FIELDS)
def test_a_kept_header_s_checksum_is_judged_alike_compressed_or_not(
    field: str, off: int, filler: str, signed: bool
) -> None:
    """A kept member's header checksum, in any encoding a tar writer uses (or a wrong
    value), unsigned or signed, is refused or taken alike by both paths; the fast path's
    shortcut for the usual ``%06o\\0 `` never takes a wrong one, even where the byte
    sum passes 65521 and Adler-32 wraps."""
    block = bytearray(header(f"dump/{CPU}/cpu0/online", 2))
    _filled(block, filler)
    block[148:156] = b" " * 8
    value = sum(block) - (256 * sum(1 for byte in block if byte > 127) if signed else 0) + off
    block[148:156] = field.format(max(value, 0)).encode()[:8].ljust(8, b"\0")
    raw = folder("dump") + bytes(block) + b"1\n".ljust(512, b"\0") + END_BLOCKS
    plain = _tree_or_error(raw, compressed=False, full=True)
    assert _tree_or_error(raw, compressed=False) == plain
    assert _tree_or_error(raw, compressed=True) == plain
    if off:
        assert isinstance(plain, str)
        assert "wrong checksum" in plain
    elif not signed or filler == "":
        assert not isinstance(plain, str)
