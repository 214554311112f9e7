"""Realistic full sysfs dump tarballs, as ``hwloc-gather-topology`` or a plain ``tar`` of
``/sys/devices/system/cpu`` brings them, generated without touching the disk.

Per CPU (about 100 members, as on an EPYC): ``online``, the 16 ``topology/`` files (hex
masks as wide as the machine), four cache levels (``cache/index0-3``, 10 files each),
three C-states (``cpuidle/state0-2``, 10 files each), a ``cpufreq`` link to its
``cpufreq/policyN`` (8 files), ``acpi_cppc`` (6 files); beside them
``node/nodeK/{cpulist,cpumap,cpuN}`` and ``/proc/cpuinfo`` whose MHz line differs per
CPU and per host. Two threads a core, two packages. Headers are written by hand
(ustar, GNU tar's layout): :mod:`tarfile` is too slow for a million members.

Used by the tests (a few CPUs) and by ``bench/hostile.py`` (768 and 8192 CPUs).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

CPU = "sys/devices/system/cpu"
NODE = "sys/devices/system/node"
_CACHES = (("1", "Data", "32K", 8), ("1", "Instruction", "32K", 8), ("2", "Unified", "1024K", 8))
_L3 = ("3", "Unified", "32768K", 16)
_IDLE = (("POLL", "0"), ("C1", "1"), ("C2", "400"))
END_BLOCKS = bytes(1024)
"""The end of an archive: two zero blocks."""


def header(name: str, size: int = 0, kind: bytes = b"0", link: str = "") -> bytes:
    """One ustar header block (a name longer than 100 bytes goes in the prefix field)."""
    block = bytearray(512)
    raw = name.encode()
    prefix = b""
    if len(raw) > 100:
        cut = raw.rfind(b"/", 0, 156)
        prefix, raw = raw[:cut], raw[cut + 1 :]
    block[0:100] = raw.ljust(100, b"\0")
    block[100:108] = b"0000755\0" if kind == b"5" else b"0000444\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"14750537016\0"
    block[148:156] = b" " * 8
    block[156:157] = kind
    block[157:257] = link.encode().ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[265:297] = b"root".ljust(32, b"\0")
    block[297:329] = b"root".ljust(32, b"\0")
    block[345:500] = prefix.ljust(155, b"\0")
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


def member(name: str, text: str) -> bytes:
    data = text.encode()
    return header(name, len(data)) + data + bytes(-len(data) % 512)


def folder(name: str) -> bytes:
    return header(name + "/", kind=b"5")


def symlink(name: str, target: str) -> bytes:
    return header(name, kind=b"2", link=target)


def hexmask(cpus: range, nbits: int) -> str:
    """A kernel hex mask (``%*pb``): 32-bit words, comma separated, highest first."""
    value = sum(1 << cpu for cpu in cpus)
    words = (nbits + 31) // 32
    return ",".join(f"{value >> (32 * i) & 0xFFFFFFFF:08x}" for i in reversed(range(words)))


def cpulist(cpus: range) -> str:
    return f"{cpus.start}-{cpus.stop - 1}" if len(cpus) > 1 else f"{cpus.start}"


def _cpu_members(top: str, cpu: int, cpus: int, host: int) -> Iterator[bytes]:
    """Every member of one CPU's folder."""
    half = cpus // 2
    package = cpu // half if cpus > 1 else 0
    core = cpu // 2
    thread = range(core * 2, min(core * 2 + 2, cpus))
    pkg = range(package * half, package * half + half) if cpus > 1 else range(1)
    ccx = range(cpu - cpu % 16, min(cpu - cpu % 16 + 16, cpus))
    base = f"{top}/{CPU}/cpu{cpu}"
    yield folder(base)
    yield member(f"{base}/online", "1\n")
    yield folder(f"{base}/topology")
    topology = {
        "cluster_cpus": hexmask(thread, cpus),
        "cluster_cpus_list": cpulist(thread),
        "cluster_id": str(core),
        "core_cpus": hexmask(thread, cpus),
        "core_cpus_list": cpulist(thread),
        "core_id": str(core % (half // 2 or 1)),
        "core_siblings": hexmask(pkg, cpus),
        "core_siblings_list": cpulist(pkg),
        "die_cpus": hexmask(pkg, cpus),
        "die_cpus_list": cpulist(pkg),
        "die_id": "0",
        "package_cpus": hexmask(pkg, cpus),
        "package_cpus_list": cpulist(pkg),
        "physical_package_id": str(package),
        "thread_siblings": hexmask(thread, cpus),
        "thread_siblings_list": cpulist(thread),
    }
    for name, text in topology.items():
        yield member(f"{base}/topology/{name}", text + "\n")
    yield folder(f"{base}/cache")
    for index, (level, kind, size, ways) in enumerate((*_CACHES, _L3)):
        shared = ccx if level == "3" else thread
        path = f"{base}/cache/index{index}"
        yield folder(path)
        for name, text in (
            ("coherency_line_size", "64"),
            ("id", str(cpu // (16 if level == "3" else 2))),
            ("level", level),
            ("number_of_sets", "64"),
            ("physical_line_partition", "1"),
            ("shared_cpu_list", cpulist(shared)),
            ("shared_cpu_map", hexmask(shared, cpus)),
            ("size", size),
            ("type", kind),
            ("ways_of_associativity", str(ways)),
        ):
            yield member(f"{path}/{name}", text + "\n")
    yield folder(f"{base}/cpuidle")
    for index, (name, latency) in enumerate(_IDLE):
        path = f"{base}/cpuidle/state{index}"
        yield folder(path)
        for file, text in (
            ("above", str(host + cpu)),
            ("below", str(cpu * 7)),
            ("default_status", "enabled"),
            ("desc", f"ACPI FFH MWAIT 0x{index}"),
            ("disable", "0"),
            ("latency", latency),
            ("name", name),
            ("rejected", "0"),
            ("residency", str(int(latency) * 2)),
            ("usage", str((host * 7919 + cpu * 104729) % 10_000_000)),
        ):
            yield member(f"{path}/{file}", text + "\n")
    yield symlink(f"{base}/cpufreq", f"../cpufreq/policy{cpu}")
    yield folder(f"{base}/acpi_cppc")
    for name, text in (
        ("feedback_ctrs", f"ref:{host * 1000 + cpu} del:{cpu * 3}"),
        ("highest_perf", "196"),
        ("lowest_perf", "31"),
        ("nominal_perf", "120"),
        ("nominal_freq", "2250"),
        ("reference_perf", "120"),
    ):
        yield member(f"{base}/acpi_cppc/{name}", text + "\n")
    yield symlink(f"{base}/node{package}", f"../../node/node{package}")


def _policy_members(top: str, cpu: int, host: int) -> Iterator[bytes]:
    path = f"{top}/{CPU}/cpufreq/policy{cpu}"
    yield folder(path)
    for name, text in (
        ("affected_cpus", str(cpu)),
        ("cpuinfo_max_freq", "3700000"),
        ("cpuinfo_min_freq", "1500000"),
        ("related_cpus", str(cpu)),
        ("scaling_cur_freq", str(1500000 + (host * 31 + cpu * 977) % 2200000)),
        ("scaling_driver", "acpi-cpufreq"),
        ("scaling_governor", "performance"),
        ("scaling_max_freq", "3700000"),
    ):
        yield member(f"{path}/{name}", text + "\n")


def cpuinfo(cpus: int, host: int) -> str:
    """/proc/cpuinfo of an EPYC: one block per CPU, its MHz line differing per host."""
    half = cpus // 2 or 1
    flags = " ".join(f"flag{i}" for i in range(120))
    blocks = []
    for cpu in range(cpus):
        mhz = 1500 + (host * 131 + cpu * 17) % 2200
        blocks.append(
            f"processor\t: {cpu}\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 17\n"
            f"model name\t: AMD EPYC 9965 192-Core Processor\nstepping\t: 0\n"
            f"cpu MHz\t\t: {mhz}.{host % 1000:03d}\ncache size\t: 1024 KB\n"
            f"physical id\t: {cpu // half}\nsiblings\t: {half}\ncore id\t\t: {cpu // 2 % 96}\n"
            f"cpu cores\t: {half // 2}\napicid\t\t: {cpu}\ninitial apicid\t: {cpu}\n"
            f"fpu\t\t: yes\nflags\t\t: {flags}\nbogomips\t: 4493.{host % 100:02d}\n\n"
        )
    return "".join(blocks)


def full_dump(cpus: int, top: str = "dump", host: int = 0) -> Iterator[bytes]:
    """The tar stream (blocks) of a full dump of ``cpus`` CPUs, ending with its end blocks."""
    yield folder(top)
    yield folder(f"{top}/sys")
    yield folder(f"{top}/sys/devices")
    yield folder(f"{top}/sys/devices/system")
    yield folder(f"{top}/{CPU}")
    every = cpulist(range(cpus))
    for name in ("online", "possible", "present"):
        yield member(f"{top}/{CPU}/{name}", every + "\n")
    yield member(f"{top}/{CPU}/offline", "\n")
    yield member(f"{top}/{CPU}/kernel_max", "8191\n")
    yield folder(f"{top}/{CPU}/smt")
    yield member(f"{top}/{CPU}/smt/active", "1\n")
    yield member(f"{top}/{CPU}/smt/control", "on\n")
    yield folder(f"{top}/{CPU}/cpufreq")
    for cpu in range(cpus):
        yield from _cpu_members(top, cpu, cpus, host)
        yield from _policy_members(top, cpu, host)
    yield folder(f"{top}/{NODE}")
    half = cpus // 2 or 1
    for node in range(2 if cpus > 1 else 1):
        span = range(node * half, node * half + half)
        yield folder(f"{top}/{NODE}/node{node}")
        yield member(f"{top}/{NODE}/node{node}/cpulist", cpulist(span) + "\n")
        yield member(f"{top}/{NODE}/node{node}/cpumap", hexmask(span, cpus) + "\n")
        for cpu in span:
            yield symlink(f"{top}/{NODE}/node{node}/cpu{cpu}", f"../../cpu/cpu{cpu}")
    yield folder(f"{top}/proc")
    yield member(f"{top}/proc/cpuinfo", cpuinfo(cpus, host))
    yield END_BLOCKS


def write_full_dump(
    out: IO[bytes], cpus: int, compression: str, *, host: int = 0, level: int | None = None
) -> None:
    """Write a full dump to ``out``: compression ``tar``, ``gzip``, ``bzip2`` or ``xz``
    (``level`` as that tool takes it; its default when None)."""
    if compression == "tar":
        _write_blocks(out, full_dump(cpus, host=host))
        return
    with _compressor(out, compression, level) as stream:
        _write_blocks(stream, full_dump(cpus, host=host))


def _compressor(
    out: IO[bytes], compression: str, level: int | None
) -> gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level or 6, mtime=0)
    if compression == "bzip2":
        return bz2.BZ2File(out, mode="wb", compresslevel=level or 9)
    return lzma.LZMAFile(out, mode="wb", preset=6 if level is None else level)


def _write_blocks(
    stream: IO[bytes] | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, blocks: Iterator[bytes]
) -> None:
    """The blocks, written a MiB at a time."""
    pending: list[bytes] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size > 1 << 20:
            stream.write(b"".join(pending))
            pending, size = [], 0
    stream.write(b"".join(pending))
