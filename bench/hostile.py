"""Feed rmpplan hostile and oversized inputs and measure what each one costs.

Every input the readers take (topology YAML and JSON, sysfs dump folders and
tarballs, hwloc XML, saved lscpu output, ``--memory-from`` and ``--dmesg``
files, the shards ``rmpplan summary`` merges) is generated here, in a temporary
folder, in the shapes that used to cost far more than their size: huge flat
lists, deep nesting, long lines and numbers, many archive members, FIFOs, links
out of a dump, and the largest *legitimate* inputs (8192 CPUs) beside them.
Each is run through the CLI in a fresh process, like a user would, and measured
against the baseline command
``rmpplan plan topologies/epyc-9965-2s.yaml --leader 17`` timed in the same run:

- wall time (a median over ``--runs``), as a ratio to the baseline's median;
- peak RSS of the child itself (``ru_maxrss`` from ``os.wait4``, so it is that
  process's own peak, not the largest of all children);
- the outcome: exit 0 (accepted) or 2 with one stderr line (refused) is right;
  a traceback, a second stderr line, any other exit code, a timeout, the memory
  limit, or the content of a file outside a dump in the message is a problem.

Targets (docs/performance.md, "Hostile inputs"): every case at most 3 times the
baseline's wall time and at most 300 MB peak RSS; a tarball instead costs at most 3 times
its *floor* plus the baseline (no amplification, whatever its compression): the floor is
what the standard library needs to inflate the same file and step over its 512-byte
headers with a minimal loop, measured here on the file. A child is killed after
``--timeout`` seconds and runs under an address-space limit (``--memory-limit``),
so a regression shows as a failed case instead of a hung or swapping machine.

Usage: ``python bench/hostile.py [--runs N] [--only TEXT] [--size MIB] [--check]``.
Exit 0 when measured (with ``--check``: 3 when a target is missed or a case
misbehaves), 2 on bad flags.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BASELINE = ["plan", "topologies/epyc-9965-2s.yaml", "--leader", "17"]
VERIFY = ["verify", "topologies/epyc-9965-2s.yaml"]
TIME_TARGET = 3.0
RSS_TARGET_MB = 300.0
SECRET = "SECRET-8d3f-do-not-print"
SINGLE_CORE = "name: one\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"
CPU = "sys/devices/system/cpu"

Build = Callable[[Path], list[str]]


@dataclass
class Case:
    """One hostile input: its class, a name, and how to make it (returns the CLI args)."""

    cls: str
    name: str
    build: Build
    walls: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    problem: str = ""
    outcome: str = ""
    floor: float | None = None  # a tarball's floor (CPU seconds), see floor_seconds()
    cpus: list[float] = field(default_factory=list)  # the child's user + system time
    must_fail: bool = False
    """A false-pass case: the input fails, so exit 1 (a finding) or 2 (refused) is
    right and exit 0 is the one defect a gate cannot have."""


@dataclass(frozen=True)
class Result:
    """One run of one command."""

    code: int | None  # None: killed at the timeout
    wall: float
    rss_kib: int
    stderr: str
    cpu: float = 0.0  # user + system seconds of the child itself


def run_once(args: list[str], timeout: float, memory_limit: int) -> Result:
    """Run ``python -m rmpplan args`` with cwd = ROOT and read the child's own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess_popen([PY, "-m", "rmpplan", *args], out, err, memory_limit)
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(proc, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - start > timeout:
                os.kill(proc, signal.SIGKILL)
                _, status, usage = os.wait4(proc, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read(1 << 16).decode(errors="replace")
    return Result(code, wall, usage.ru_maxrss, stderr, usage.ru_utime + usage.ru_stime)


def subprocess_popen(argv: list[str], out: IO[bytes], err: IO[bytes], memory_limit: int) -> int:
    """Start argv without waiting (os.wait4 reaps it); the pid.

    The address-space limit is set by a small shell that then execs argv, not by a
    ``preexec_fn``: with one, Python forks instead of using vfork, and a forked child's
    ``ru_maxrss`` starts at this (large) script's RSS.
    """
    limit_kib = memory_limit >> 10
    shell = ["/bin/sh", "-c", f'ulimit -v {limit_kib} && exec "$@"', "sh", *argv]
    proc = subprocess.Popen(shell, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return int(proc.pid)


# --- building blocks ---------------------------------------------------------------------


def write(path: Path, data: bytes | str) -> Path:
    """Write data (text as UTF-8), making folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def fill(unit: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """head, then unit repeated to about ``size`` bytes in all, then tail."""
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def dump(root: Path, cpus: int = 2, threads: int = 2, *, every_file: bool = False) -> Path:
    """A valid sysfs dump folder: ``cpus`` CPUs in cores of ``threads``, two packages
    when there are more than two CPUs; ``every_file``: all 16 files a kernel's
    ``topology/`` folder has, not only the three rmpplan reads."""
    base = root / CPU
    last = cpus - 1
    write(base / "online", f"0-{last}\n")
    write(base / "present", f"0-{last}\n")
    write(base / "possible", f"0-{last}\n")
    half = max(cpus // 2, 1)
    for cpu in range(cpus):
        first = cpu - cpu % threads
        siblings = f"{first}-{first + threads - 1}\n"
        package = cpu // half if cpus > 2 else 0
        files = {
            "core_cpus_list": siblings,
            "physical_package_id": f"{package}\n",
            "die_id": "0\n",
        }
        if every_file:
            span = f"{package * half}-{package * half + half - 1}\n"
            files |= {
                "core_cpus": "1\n",
                "core_id": f"{cpu % half // threads}\n",
                "core_siblings": "1\n",
                "core_siblings_list": span,
                "die_cpus": "1\n",
                "die_cpus_list": span,
                "package_cpus": "1\n",
                "package_cpus_list": span,
                "thread_siblings": "1\n",
                "thread_siblings_list": siblings,
                "cluster_cpus": "1\n",
                "cluster_cpus_list": siblings,
                "cluster_id": f"{cpu // threads}\n",
            }
        for name, text in files.items():
            write(base / f"cpu{cpu}" / "topology" / name, text)
    return root


def tar_header(name: str, size: int = 0, kind: bytes = b"0", link: str = "") -> bytes:
    """One ustar header block, built by hand (tarfile is too slow for a million)."""
    block = bytearray(512)
    block[0:100] = name.encode().ljust(100, b"\0")[:100]
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[156:157] = kind
    block[157:257] = link.encode().ljust(100, b"\0")[:100]
    block[257:265] = b"ustar\x0000"
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


def tar_member(name: str, data: bytes) -> bytes:
    """A regular member: header, data, padding to 512."""
    return tar_header(name, len(data)) + data + b"\0" * (-len(data) % 512)


END = b"\0" * 1024


def tar_of_dump(folder: Path) -> bytes:
    """A plain tar of a dump folder, as GNU tar writes it (no pax record a member)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname="dump/" + path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def small_dump_members() -> bytes:
    """The members of a valid two-CPU dump, for archives that add something hostile."""
    return b"".join(
        tar_member(f"dump/{CPU}/{rel}", text.encode())
        for rel, text in (
            ("online", "0-1\n"),
            ("cpu0/topology/core_cpus_list", "0-1\n"),
            ("cpu1/topology/core_cpus_list", "0-1\n"),
        )
    )


def gz_stream(chunks: Callable[[], list[bytes]], repeat: int) -> bytes:
    """gzip of the chunks repeated ``repeat`` times, compressed as a stream (no big buffer)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as stream:
        parts = chunks()
        for _ in range(repeat):
            for part in parts:
                stream.write(part)
    return out.getvalue()


def explicit_yaml(cpus: int, packages: int = 2, threads: int = 2) -> str:
    """An explicit-form topology of ``cpus`` CPUs with every key, one flow mapping per CPU."""
    per_package = cpus // packages
    lines = ["name: big", "cpus:"]
    for cpu in range(cpus):
        package = cpu // per_package
        core = (cpu % per_package) // threads
        lines.append(
            f"  - {{id: {cpu}, package: {package}, die: 0, core: {core}, online: true, "
            f"apic_id: {cpu}}}"
        )
    return "\n".join(lines) + "\n"


def explicit_json(cpus: int, packages: int = 2, threads: int = 2) -> str:
    """The same as :func:`explicit_yaml`, as indented JSON."""
    per_package = cpus // packages
    entries = [
        {
            "id": cpu,
            "package": cpu // per_package,
            "die": 0,
            "core": (cpu % per_package) // threads,
            "online": True,
            "apic_id": cpu,
        }
        for cpu in range(cpus)
    ]
    return json.dumps({"name": "big", "cpus": entries}, indent=2)


def hwloc_xml(pus: int, threads: int = 2, extra: str = "") -> str:
    """hwloc 2.x XML: one Package of cores of ``threads`` PUs."""
    cores = "".join(
        f'<object type="Core" os_index="{core}">'
        + "".join(f'<object type="PU" os_index="{core * threads + t}"/>' for t in range(threads))
        + "</object>"
        for core in range(pus // threads)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n'
        f'<topology version="2.0"><object type="Machine" os_index="0">{extra}'
        f'<object type="Package" os_index="0">{cores}</object></object></topology>\n'
    )


def lscpu_json(cpus: int) -> str:
    """``lscpu -J -e`` output for ``cpus`` CPUs, SMT 2."""
    rows = [
        {"cpu": cpu, "node": 0, "socket": 0, "core": cpu // 2, "online": True}
        for cpu in range(cpus)
    ]
    return json.dumps({"cpus": rows}, indent=3)


def lscpu_csv(cpus: int) -> str:
    """``lscpu -p=CPU,CORE,SOCKET,ONLINE`` output for ``cpus`` CPUs, SMT 2."""
    lines = ["# The following is the parsable format", "# CPU,Core,Socket,Online"]
    lines += [f"{cpu},{cpu // 2},0,Y" for cpu in range(cpus)]
    return "\n".join(lines) + "\n"


# --- the corpus --------------------------------------------------------------------------


# Each reader's cap on one file (docs/security.md); a "huge" input is generated just
# under the smaller of its cap and --size, so that the reader parses it instead of
# refusing it from its size, plus one input over the 64 MiB file cap.
CAPS = {
    "topology": 16 << 20,
    "lscpu": 16 << 20,
    "xml": 16 << 20,
    "log": 64 << 20,
    "iomem": 1 << 20,
    "cpuinfo": 32 << 20,
    "tar": 2 << 30,
    "gzip": 64 << 20,
    "xz": 64 << 20,
    "bzip2": 64 << 20,
    "shard": 16 << 20,
}
MARGIN = 4096


def corpus(size: int) -> list[Case]:  # noqa: PLR0915  # one flat list of cases reads best
    """Every case; ``size`` bounds every generated input (the 64 MiB file cap by default)."""
    cases: list[Case] = []

    def case(cls: str, name: str, *, must_fail: bool = False) -> Callable[[Build], Build]:
        def register(build: Build) -> Build:
            cases.append(Case(cls, name, build, must_fail=must_fail))
            return build

        return register

    def huge(kind: str) -> int:
        return min(size, CAPS[kind]) - MARGIN

    def topo(d: Path, name: str, data: bytes | str, *extra: str) -> list[str]:
        return ["plan", str(write(d / name, data)), "--leader", "0", *extra]

    top = huge("topology")

    # Topology YAML, each just under the 16 MiB topology cap.
    @case("yaml", "flow list of zeros (cpus: [0,0,...])")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"0,", top, b"cpus: [", b"0]\n"))

    @case("yaml", "1 MiB flow list of zeros")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"0,", 1 << 20, b"cpus: [", b"0]\n"))

    @case("yaml", "block list of zeros (- 0)")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"- 0\n", top, b"cpus:\n"))

    @case("yaml", "unknown key holding a huge list")
    def _(d: Path) -> list[str]:
        head = b"layout: {packages: 1, cores_per_die: 1}\nextra: ["
        return topo(d, "t.yaml", fill(b"1,", top, head, b"1]\n"))

    @case("yaml", "nested flow lists, deep")
    def _(d: Path) -> list[str]:
        depth = top // 2
        return topo(d, "t.yaml", b"cpus: " + b"[" * depth + b"]" * depth + b"\n")

    @case("yaml", "nested block lists, deep (- - - ...)")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"- ", top, b"cpus:\n", b"0\n"))

    @case("yaml", "many distinct keys")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", b"".join(b"k%d: 0\n" % i for i in range(top // 12)))

    @case("yaml", "one huge scalar (name)")
    def _(d: Path) -> list[str]:
        head = b"layout: {packages: 1, cores_per_die: 1}\nname: "
        return topo(d, "t.yaml", fill(b"a", top, head))

    @case("yaml", "one huge line of comment")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"-", top, b"layout: {packages: 1, cores_per_die: 1}\n# "))

    @case("yaml", "huge decimal number")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"9", top, b"layout: {cores_per_die: 1, packages: ", b"}\n"))

    @case("yaml", "3,600-digit hex id")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", "cpus:\n- {id: 0x" + "f" * 3600 + ", core: 0}\n")

    @case("yaml", "100,000 listed CPUs")
    def _(d: Path) -> list[str]:
        rows = "".join(f"- {{id: {i}, core: {i}}}\n" for i in range(100_000))
        return topo(d, "t.yaml", "cpus:\n" + rows)

    @case("yaml", "alias bomb (billion laughs)")
    def _(d: Path) -> list[str]:
        lines = ["a0: &a0 [0,0,0,0,0,0,0,0,0,0]"]
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
        return topo(d, "t.yaml", "\n".join(lines) + "\ncpus: *a9\n")

    @case("yaml", "topology over the 64 MiB file cap")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", fill(b"0,", size + MARGIN, b"cpus: [", b"0]\n"))

    @case("legit", "explicit YAML, 8192 CPUs")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", explicit_yaml(8192))

    @case("legit", "explicit YAML, 8192 packages of one CPU")
    def _(d: Path) -> list[str]:
        return topo(d, "t.yaml", explicit_yaml(8192, packages=8192, threads=1))

    @case("legit", "explicit YAML, sparse ids 0 and 8191")
    def _(d: Path) -> list[str]:
        text = "cpus:\n- {id: 0, core: 0}\n- {id: 8191, core: 1}\npossible: 0-8191\n"
        return topo(d, "t.yaml", text)

    # Topology JSON.
    @case("json", "flow list of zeros")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", fill(b"0,", top, b'{"cpus": [', b"0]}\n"))

    @case("json", "list of large ints")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", fill(b"123456789,", top, b'{"cpus": [', b"0]}\n"))

    @case("json", "unknown key holding a huge list")
    def _(d: Path) -> list[str]:
        head = b'{"layout": {"packages": 1, "cores_per_die": 1}, "extra": ['
        return topo(d, "t.json", fill(b"1,", top, head, b"1]}\n"))

    @case("json", "nested lists, deep")
    def _(d: Path) -> list[str]:
        depth = top // 2
        return topo(d, "t.json", b'{"cpus": ' + b"[" * depth + b"]" * depth + b"}")

    @case("json", "many distinct keys")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", b"{" + b",".join(b'"k%d":0' % i for i in range(top // 12)) + b"}")

    @case("json", "strings full of commas")
    def _(d: Path) -> list[str]:
        item = b'"' + b"," * 60_000 + b'",'
        return topo(d, "t.json", fill(item, top, b'{"extra": [', b'""]}'))

    @case("json", "one huge string")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", fill(b"a", top, b'{"name": "', b'"}'))

    @case("json", "one huge string with an emoji (4 bytes a character)")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", fill(b"a", top, '{"name": "\U0001f600'.encode(), b'"}'))

    @case("json", "huge number")
    def _(d: Path) -> list[str]:
        head = b'{"layout": {"cores_per_die": 1, "packages": '
        return topo(d, "t.json", fill(b"9", top, head, b"}}"))

    @case("json", "lone surrogate in the name")
    def _(d: Path) -> list[str]:
        text = '{"name": "\\ud800", "layout": {"packages": 1, "cores_per_die": 1}}'
        return topo(d, "t.json", text)

    @case("legit", "explicit JSON, 8192 CPUs")
    def _(d: Path) -> list[str]:
        return topo(d, "t.json", explicit_json(8192))

    # Special files as inputs.
    for label, extra in (
        ("topology .yaml", []),
        ("--input-format hwloc-xml", ["--input-format", "hwloc-xml"]),
        ("--input-format tarball", ["--input-format", "tarball"]),
        ("--input-format lscpu-csv", ["--input-format", "lscpu-csv"]),
    ):

        @case("special", f"a FIFO as {label}")
        def _(d: Path, extra: list[str] = extra) -> list[str]:
            os.mkfifo(d / "fifo.yaml")
            return ["plan", str(d / "fifo.yaml"), "--leader", "0", *extra]

    @case("false pass", "hwloc XML hiding offline CPUs in complete_cpuset")
    def _(d: Path) -> list[str]:
        hidden = hwloc_xml(4).replace(
            '<object type="Machine" os_index="0">',
            '<object type="Machine" os_index="0" cpuset="0x0000000f" '
            'complete_cpuset="0x000000ff" allowed_cpuset="0x0000000f">',
        )
        return ["verify", str(write(d / "hidden.xml", hidden))]

    @case("false pass", "gathered pair whose NAME.xml is a FIFO")
    def _(d: Path) -> list[str]:
        folder = d / "fleet"
        raw = small_dump_members() + END
        write(folder / "host.tar.bz2", bz2.compress(raw, 9))
        os.mkfifo(folder / "host.xml")
        return ["verify", str(folder)]

    @case("special", "/dev/zero as a topology")
    def _(d: Path) -> list[str]:
        return ["plan", "/dev/zero", "--input-format", "topology", "--leader", "0"]

    @case("special", "--memory-from a FIFO")
    def _(d: Path) -> list[str]:
        os.mkfifo(d / "iomem")
        return [*VERIFY, "--memory-from", str(d / "iomem")]

    @case("special", "--dmesg a FIFO")
    def _(d: Path) -> list[str]:
        os.mkfifo(d / "log")
        return [*VERIFY, "--dmesg", str(d / "log")]

    # --memory-from and --dmesg files.
    @case("iomem", "--memory-from: newlines only")
    def _(d: Path) -> list[str]:
        return [*VERIFY, "--memory-from", str(write(d / "iomem", b"\n" * huge("iomem")))]

    @case("iomem", "--memory-from: System RAM lines")
    def _(d: Path) -> list[str]:
        path = write(d / "iomem", fill(b"00001000-0009ffff : System RAM\n", huge("iomem")))
        return [*VERIFY, "--memory-from", str(path)]

    @case("iomem", "--memory-from: a line of blanks")
    def _(d: Path) -> list[str]:
        path = write(d / "iomem", fill(b" ", huge("iomem"), b"0-1 :", b"x\n"))
        return [*VERIFY, "--memory-from", str(path)]

    @case("iomem", "--memory-from: 16 MiB")
    def _(d: Path) -> list[str]:
        path = write(d / "iomem", fill(b"00001000-0009ffff : System RAM\n", top))
        return [*VERIFY, "--memory-from", str(path)]

    @case("dmesg", "--dmesg: newlines only")
    def _(d: Path) -> list[str]:
        return [*VERIFY, "--dmesg", str(write(d / "log", b"\n" * huge("log")))]

    @case("dmesg", "--dmesg: short lines, an emoji")
    def _(d: Path) -> list[str]:
        return [
            *VERIFY,
            "--dmesg",
            str(write(d / "log", fill(b"ab\n", huge("log"), "\U0001f600\n".encode()))),
        ]

    @case("dmesg", "--dmesg: deep journal JSON line")
    def _(d: Path) -> list[str]:
        depth = 100_000
        line = b'{"MESSAGE": "SNP init failed", "x": ' + b"[" * depth + b"]" * depth + b"}\n"
        return [*VERIFY, "--dmesg", str(write(d / "log", line))]

    @case("dmesg", "--dmesg: one huge line")
    def _(d: Path) -> list[str]:
        return [
            *VERIFY,
            "--dmesg",
            str(write(d / "log", fill(b"SEV-SNP: ", huge("log"), b"", b"\n"))),
        ]

    @case("dmesg", "--dmesg: every line a message")
    def _(d: Path) -> list[str]:
        line = b"RMP optimization pass skipped: cpumask allocation failed\n"
        return [*VERIFY, "--dmesg", str(write(d / "log", fill(line, huge("log"))))]

    # sysfs dump folders.
    @case("sysfs", "core_cpus_list of 64 MiB '0,'")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        write(root / CPU / "cpu0/topology/core_cpus_list", fill(b"0,", size - MARGIN, b"", b"0\n"))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "core_cpus_list just under a page cap (64 KiB of '0,')")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        write(root / CPU / "cpu0/topology/core_cpus_list", fill(b"0,", 60 << 10, b"", b"0-1\n"))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "huge physical_package_id")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        write(root / CPU / "cpu0/topology/physical_package_id", fill(b"9", 60 << 10))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "proc/cpuinfo of processor lines")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        write(root / "proc/cpuinfo", fill(b"processor\t: 1\napicid\t: 2\n", huge("cpuinfo")))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "proc/cpuinfo with an emoji")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        write(root / "proc/cpuinfo", fill(b"x", huge("cpuinfo"), "\U0001f600\n".encode()))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "cpu/online is a FIFO")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        (root / CPU / "online").unlink()
        os.mkfifo(root / CPU / "online")
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "physical_package_id links outside the dump")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        secret = write(d / "secret.txt", SECRET + "\n")
        link = root / CPU / "cpu0/topology/physical_package_id"
        link.unlink()
        link.symlink_to(secret)
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "topology/ folder links outside the dump")
    def _(d: Path) -> list[str]:
        root = dump(d / "box")
        outside = d / "elsewhere"
        write(outside / "core_cpus_list", "0-1\n")
        write(outside / "physical_package_id", SECRET + "\n")
        topo_dir = root / CPU / "cpu0/topology"
        for child in topo_dir.iterdir():
            child.unlink()
        topo_dir.rmdir()
        topo_dir.symlink_to(Path("../../../../../../elsewhere"))
        return ["plan", str(root), "--leader", "0"]

    @case("sysfs", "sibling lists naming all 8192 CPUs")
    def _(d: Path) -> list[str]:
        base = d / "box" / CPU
        write(base / "online", "0-8191\n")
        for cpu in range(8192):
            write(base / f"cpu{cpu}/topology/core_cpus_list", "0-8191\n")
        return ["plan", str(d / "box"), "--leader", "0"]

    @case("sysfs", "100,000 cpuN folders")
    def _(d: Path) -> list[str]:
        base = d / "box" / CPU
        for cpu in range(100_000):
            (base / f"cpu{cpu}").mkdir(parents=True)
        return ["plan", str(d / "box"), "--leader", "0"]

    @case("legit", "sysfs folder, 8192 CPUs, every topology file")
    def _(d: Path) -> list[str]:
        return ["plan", str(dump(d / "box", 8192, every_file=True)), "--leader", "0"]

    # Dump tarballs.
    @case("tarball", "61 KB .tar.gz: core_cpus_list of 60 MiB '0,'")
    def _(d: Path) -> list[str]:
        big = fill(b"0,", 60 << 20, b"", b"0\n")
        data = tar_member(f"dump/{CPU}/cpu0/topology/core_cpus_list", big)
        raw = small_dump_members() + data + END
        return ["plan", str(write(d / "bomb.tar.gz", gzip.compress(raw, 9))), "--leader", "0"]

    @case("tarball", "a million empty members (.tar.gz)")
    def _(d: Path) -> list[str]:
        head = small_dump_members()
        member = tar_header(f"dump/{CPU}/cpu0/x")
        data = gz_stream(lambda: [member * 1000], 1000)
        return ["plan", str(write(d / "many.tar.gz", gzip.compress(head) + data)), "--leader", "0"]

    @case("tarball", "a million empty members (.tar.bz2)")
    def _(d: Path) -> list[str]:
        member = tar_header(f"dump/{CPU}/cpu0/x")
        raw = small_dump_members() + member * (1 << 20) + END
        return ["plan", str(write(d / "many.tar.bz2", bz2.compress(raw, 9))), "--leader", "0"]

    @case("tarball", "plain tar of empty members up to the file cap")
    def _(d: Path) -> list[str]:
        member = tar_header(f"dump/{CPU}/cpu0/x")
        raw = small_dump_members() + member * (huge("tar") // 512 - 20) + END
        return ["plan", str(write(d / "many.tar", raw)), "--leader", "0"]

    @case("tarball", "members with distinct random names (.tar.bz2)")
    def _(d: Path) -> list[str]:
        names = (os.urandom(40).hex() for _ in range(70_000))
        raw = small_dump_members() + b"".join(tar_header(f"dump/{n}") for n in names) + END
        return ["plan", str(write(d / "names.tar.bz2", bz2.compress(raw, 9))), "--leader", "0"]

    @case("tarball", "1 GiB of zeros in one member (.tar.gz)")
    def _(d: Path) -> list[str]:
        zeros = b"\0" * (1 << 20)
        header = tar_header("dump/README", 1 << 30)
        data = gz_stream(lambda: [zeros], 1024)
        head = gzip.compress(small_dump_members() + header)
        return [
            "plan",
            str(write(d / "zeros.tar.gz", head + data + gzip.compress(END))),
            "--leader",
            "0",
        ]

    for kind, module, ext, alphabet in (
        ("bzip2", bz2, "bz2", bytes(range(256))),
        ("bzip2", bz2, "bz2", b"0123"),
        ("xz", lzma, "xz", b"0123456789abcdef"),
        ("gzip", gzip, "gz", b"0123456789abcdef"),
    ):

        @case("tarball", f"slowest data for {kind}, just under its cap ({len(alphabet)} symbols)")
        def _(
            d: Path,
            kind: str = kind,
            module: Any = module,
            ext: str = ext,
            alphabet: bytes = alphabet,
        ) -> list[str]:
            # Grow the member until the compressed archive nears the cap.
            target = huge(kind)
            ratio = {256: 1.0, 4: 3.6, 16: 1.8}[len(alphabet)]
            noise = bytes(
                alphabet[b % len(alphabet)] for b in os.urandom(int(target * ratio * 0.97))
            )
            raw = small_dump_members() + tar_member("dump/noise", noise) + END
            packed = module.compress(raw)
            return ["plan", str(write(d / f"noise.tar.{ext}", packed)), "--leader", "0"]

    @case("tarball", "kept members up to their cap, 300 bytes each (.tar.gz)")
    def _(d: Path) -> list[str]:
        text = ("1" * 299 + "\n").encode()
        names = (f"dump/{CPU}/cpu{i}/online" for i in range(24 * 8192 - 64))
        raw = small_dump_members() + b"".join(tar_member(name, text) for name in names) + END
        return ["plan", str(write(d / "kept.tar.gz", gzip.compress(raw, 6))), "--leader", "0"]

    @case("tarball", "kept links up to the cap in 8192 real cpuN folders (.tar.gz)")
    def _(d: Path) -> list[str]:
        # Links in a cpuN folder are kept (a read may pass through one): 23 in each of
        # 8192 CPUs stays under the kept cap, and no CPU id is out of range.
        links = (
            tar_header(f"dump/{CPU}/cpu{cpu}/link{n}", kind=b"2", link="../cpu0")
            for cpu in range(8192)
            for n in range(23)
        )
        raw = small_dump_members() + b"".join(links) + END
        return ["plan", str(write(d / "links.tar.gz", gzip.compress(raw, 6))), "--leader", "0"]

    @case("tarball", "physical_package_id links outside the archive")
    def _(d: Path) -> list[str]:
        secret = write(d / "secret.txt", SECRET + "\n")
        link = tar_header(
            f"dump/{CPU}/cpu0/topology/physical_package_id", kind=b"2", link=str(secret)
        )
        raw = small_dump_members() + link + END
        return ["plan", str(write(d / "escape.tar", raw)), "--leader", "0"]

    @case("tarball", "huge proc/cpuinfo member")
    def _(d: Path) -> list[str]:
        info = fill(b"processor\t: 1\napicid\t: 2\n", huge("cpuinfo"))
        raw = small_dump_members() + tar_member("dump/proc/cpuinfo", info) + END
        return ["plan", str(write(d / "cpuinfo.tar.gz", gzip.compress(raw, 1))), "--leader", "0"]

    for cpus, compression, ext in (
        (768, "gzip", "gz"),
        (768, "bzip2", "bz2"),
        (768, "xz", "xz"),
        (8192, "gzip", "gz"),
        (8192, "bzip2", "bz2"),
        (8192, "xz", "xz"),
    ):

        @case("legit", f"full dump tarball, {cpus} CPUs (.tar.{ext})")
        def _(
            d: Path, cpus: int = cpus, compression: str = compression, ext: str = ext
        ) -> list[str]:
            path = d / f"full{cpus}.tar.{ext}"
            full_dump_file(path, cpus, compression)
            return ["plan", str(path), "--leader", "0"]

    @case("legit", "tarball of a 2048-CPU dump, every topology file (.tar.gz)")
    def _(d: Path) -> list[str]:
        raw = tar_of_dump(dump(d / "box", 2048, every_file=True))
        return ["plan", str(write(d / "box.tar.gz", gzip.compress(raw, 6))), "--leader", "0"]

    @case("legit", "tarball of a 2048-CPU dump, every topology file (.tar.bz2)")
    def _(d: Path) -> list[str]:
        raw = tar_of_dump(dump(d / "box", 2048, every_file=True))
        return ["plan", str(write(d / "box.tar.bz2", bz2.compress(raw, 9))), "--leader", "0"]

    # hwloc XML, just under the 16 MiB cap.
    xml = huge("xml")

    @case("hwloc", "entity in os_index under an external DOCTYPE")
    def _(d: Path) -> list[str]:
        text = hwloc_xml(2).replace('os_index="1"', 'os_index="1&foo;2"')
        return topo(d, "t.xml", text)

    @case("hwloc", "entity reference without any DOCTYPE")
    def _(d: Path) -> list[str]:
        text = hwloc_xml(2).replace('<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n', "")
        return topo(d, "t.xml", text.replace('os_index="1"', 'os_index="&foo;"'))

    @case("hwloc", "many Misc elements")
    def _(d: Path) -> list[str]:
        return topo(d, "t.xml", hwloc_xml(2, extra='<object type="Misc"/>' * (xml // 22)))

    @case("hwloc", "deeply nested elements")
    def _(d: Path) -> list[str]:
        depth = xml // 30
        extra = '<object type="Misc">' * depth + "</object>" * depth
        return topo(d, "t.xml", hwloc_xml(2, extra=extra))

    @case("hwloc", "one huge attribute")
    def _(d: Path) -> list[str]:
        extra = '<info name="x" value="' + "a" * (xml - 1000) + '"/>'
        return topo(d, "t.xml", hwloc_xml(2, extra=extra))

    @case("hwloc", "one huge comment")
    def _(d: Path) -> list[str]:
        return topo(d, "t.xml", hwloc_xml(2, extra="<!--" + "a" * (xml - 1000) + "-->"))

    @case("hwloc", "one huge attribute, 4 bytes a character")
    def _(d: Path) -> list[str]:
        extra = '<info name="x" value="\U0001f600' + "a" * (xml - 1000) + '"/>'
        return topo(d, "t.xml", hwloc_xml(2, extra=extra))

    @case("hwloc", "100,000 PUs")
    def _(d: Path) -> list[str]:
        return topo(d, "t.xml", hwloc_xml(100_000))

    @case("hwloc", "huge os_index")
    def _(d: Path) -> list[str]:
        text = hwloc_xml(2).replace('os_index="1"', 'os_index="' + "9" * 5000 + '"')
        return topo(d, "t.xml", text)

    @case("legit", "hwloc XML, 8192 PUs")
    def _(d: Path) -> list[str]:
        return topo(d, "t.xml", hwloc_xml(8192))

    # Saved lscpu output, just under the 16 MiB cap.
    lscpu = huge("lscpu")

    @case("lscpu", "JSON nested 100,000 deep")
    def _(d: Path) -> list[str]:
        depth = 100_000
        text = '{"cpus": [{"cpu": ' + "[" * depth + "]" * depth + "}]}"
        return topo(d, "l.json", text)

    @case("lscpu", "JSON rows up to the cap")
    def _(d: Path) -> list[str]:
        row = b'{"cpu": 0, "core": 0},'
        return topo(d, "l.json", fill(row, lscpu, b'{"cpus": [', b'{"cpu": 0, "core": 0}]}'))

    @case("lscpu", "JSON: one key of many cache parts")
    def _(d: Path) -> list[str]:
        key = b":".join([b"l1"] * (lscpu // 4))
        return topo(d, "l.json", b'{"cpus": [{"cpu": 0, "core": 0, "' + key + b'": "0"}]}')

    @case("lscpu", "CSV rows up to the cap")
    def _(d: Path) -> list[str]:
        return topo(d, "l.csv", fill(b"0,0,0,Y\n", lscpu, b"# CPU,Core,Socket,Online\n"))

    @case("lscpu", "CSV: comment lines up to the cap")
    def _(d: Path) -> list[str]:
        return topo(
            d,
            "l.csv",
            fill(b"#\n", lscpu, b"# CPU,Core,Socket,Online\n0,0,0,Y\n"),
            "--input-format",
            "lscpu-csv",
        )

    @case("lscpu", "CSV: one huge line of fields")
    def _(d: Path) -> list[str]:
        text = fill(b"0,", lscpu, b"# CPU,Core,Socket,Online\n", b"0\n")
        return topo(d, "l.csv", text, "--input-format", "lscpu-csv")

    @case("lscpu", "CSV: huge CPU number")
    def _(d: Path) -> list[str]:
        text = fill(b"9", lscpu, b"# CPU,Core,Socket,Online\n", b",0,0,Y\n")
        return topo(d, "l.csv", text, "--input-format", "lscpu-csv")

    @case("legit", "lscpu JSON, 8192 CPUs")
    def _(d: Path) -> list[str]:
        return topo(d, "l.json", lscpu_json(8192))

    @case("legit", "lscpu CSV, 8192 CPUs")
    def _(d: Path) -> list[str]:
        return topo(d, "l.csv", lscpu_csv(8192))

    # Shards for `rmpplan summary`, up to the 64 MiB file cap.
    shard_size = huge("shard")

    def summary(d: Path, data: bytes) -> list[str]:
        return ["summary", str(write(d / "s.jsonl", data))]

    @case("shard", "one line of 60 MB")
    def _(d: Path) -> list[str]:
        return summary(d, fill(b"a", min(60_000_000, size), b'{"path":"', b'"}\n'))

    @case("shard", "one line up to the cap")
    def _(d: Path) -> list[str]:
        return summary(d, fill(b"a", shard_size, b'{"path":"', b'"}\n'))

    @case("shard", "JSON nested 100,000 deep")
    def _(d: Path) -> list[str]:
        return summary(d, b"[" * 100_000 + b"]" * 100_000 + b"\n" + sealed([result(0)]))

    @case("shard", "5,000-digit number")
    def _(d: Path) -> list[str]:
        return summary(d, b'{"ok":' + b"9" * 5000 + b"}\n" + sealed([result(0)]))

    @case("shard", "newlines up to the cap")
    def _(d: Path) -> list[str]:
        return summary(d, b"\n" * shard_size)

    @case("shard", "results up to the count cap, every path and shape new")
    def _(d: Path) -> list[str]:
        from rmpplan.shards import MAX_SHARD_RECORDS

        return summary(d, sealed([result(i) for i in range(MAX_SHARD_RECORDS)]))

    @case("shard", "1 MiB results of 200,000 CPUs each, up to the cap")
    def _(d: Path) -> list[str]:
        from rmpplan.shards import MAX_RECORD_BYTES

        cpus = (MAX_RECORD_BYTES - 400) // 5
        lines = [result(i, cpus) for i in range(shard_size // MAX_RECORD_BYTES - 1)]
        return summary(d, sealed(lines))

    # False passes: inputs a pull request or a broken job controls that once turned a
    # failing run into exit 0. Each must fail (exit 1) or be refused (exit 2), cheaply.
    examples = ROOT / "docs" / "examples"
    hwloc_linux = ROOT / "tests" / "sources" / "data" / "hwloc-linux"

    def failing(d: Path, name: str) -> Path:
        text = (examples / "nosmt.yaml").read_text(encoding="utf-8")
        return write(d / "in.yaml", text.replace("name: nosmt", f"name: {json.dumps(name)}", 1))

    @case("false-pass", "the landed kernel faults where the default rule passes", must_fail=True)
    def _(d: Path) -> list[str]:
        return ["verify", str(examples / "apic-primary-missing.yaml"), "--no-config"]

    @case("false-pass", "a name that stops GitHub's workflow commands", must_fail=True)
    def _(d: Path) -> list[str]:
        return ["verify", str(failing(d, "::stop-commands::x")), "--format", "github"]

    @case("false-pass", "a shard cut before its trailer", must_fail=True)
    def _(d: Path) -> list[str]:
        return summary(d, b"".join(result(i) for i in range(1000)))

    @case("false-pass", "a shard saying ok beside a finding", must_fail=True)
    def _(d: Path) -> list[str]:
        forged = result(0).replace(
            b'"findings":[]',
            b'"findings":[{"check":"core-missed","cpus":[1],"expected":false,"message":"m"}]',
        )
        return summary(d, sealed([forged, *(result(i) for i in range(1, 1000))]))

    @case("false-pass", "an offline case-3 leader under v6", must_fail=True)
    def _(d: Path) -> list[str]:
        topology = str(examples / "case3-offline-leader.yaml")
        return ["verify", topology, "--no-config", "--kernel", "v6", "--offline-after-setup", "0"]

    @case("false-pass", "hwloc XML hiding offline CPUs it cannot tell apart", must_fail=True)
    def _(d: Path) -> list[str]:
        return ["verify", str(hwloc_linux / "16amd64-8n2c-cpusets-xml.xml"), "--no-config"]

    @case("false-pass", "a gathered pair whose XML half is a FIFO", must_fail=True)
    def _(d: Path) -> list[str]:
        folder = d / "fleet"
        folder.mkdir()
        shutil.copy(hwloc_linux / "16em64t-4s2c2t-offlines.tar.bz2", folder / "host.tar.bz2")
        os.mkfifo(folder / "host.xml")
        return ["verify", str(folder), "--no-config"]

    @case("shard", "two shards of half the count cap holding one input")
    def _(d: Path) -> list[str]:
        from rmpplan.shards import MAX_SHARD_RECORDS

        half = MAX_SHARD_RECORDS // 2
        first = write(d / "a.jsonl", sealed([result(i) for i in range(half)]))
        second = write(d / "b.jsonl", sealed([result(i + half - 1) for i in range(half)]))
        return ["summary", str(first), str(second)]

    # verify's configuration (rmpplan.toml), named with --config since the cases run
    # from the project root; each checks the folder of inputs beside it.
    def configured(d: Path, toml: str, inputs: int = 1, depth: int = 1) -> list[str]:
        folder = d / "topologies" / "/".join(["d"] * depth)
        for index in range(inputs):
            write(folder / f"t{index}.yaml", SINGLE_CORE)
        config = write(d / "rmpplan.toml", toml)
        return ["verify", "--config", str(config), str(d / "topologies"), "--format", "text"]

    @case("config", "expect **/**/**/**/**/**/**/**/x, an input 16 folders deep")
    def _(d: Path) -> list[str]:
        return configured(d, '[expect]\n"**/**/**/**/**/**/**/**/x" = ["core-missed"]\n', 1, 16)

    @case("config", "expect at the caps: 64 patterns of 32 parts (**/d*), 100 inputs 12 deep")
    def _(d: Path) -> list[str]:
        deep = "/".join(["**", "d*"] * 16)
        globs = "".join(f'"{deep}{i}" = ["core-missed"]\n' for i in range(64))
        return configured(d, "[expect]\n" + globs, 100, 12)

    @case("config", "the same, each input in its own 12-deep folder")
    def _(d: Path) -> list[str]:
        deep = "/".join(["**", "d*"] * 16)
        globs = "".join(f'"{deep}{i}" = ["core-missed"]\n' for i in range(64))
        args = configured(d, "[expect]\n" + globs, 0)
        for index in range(100):
            write(d / "topologies" / "/".join(["d"] * 11) / f"d{index}" / "t.yaml", SINGLE_CORE)
        return args

    @case("config", "expect: 1,000 file names, 100 inputs")
    def _(d: Path) -> list[str]:
        globs = "".join(f'"topologies/d/x{i}.yaml" = ["core-missed"]\n' for i in range(1000))
        return configured(d, "[expect]\n" + globs, 100)

    @case("config", "expect: 35,000 patterns (970 KB)")
    def _(d: Path) -> list[str]:
        globs = "".join(f'"x{i}" = ["core-missed"]\n' for i in range(35_000))
        return configured(d, "[expect]\n" + globs)

    @case("config", "200,000 paths (800 KB)")
    def _(d: Path) -> list[str]:
        return configured(d, "paths = [" + '"t",' * 200_000 + "]\n")[:3]

    @case("config", "200,000 paths of 12 bytes (2.4 MB, over the file cap)")
    def _(d: Path) -> list[str]:
        return configured(d, "paths = [" + '"topologies",' * 200_000 + "]\n")[:3]

    @case("config", "paths at the cap: 1,000 files")
    def _(d: Path) -> list[str]:
        entries = ",".join(f'"topologies/d/t{i}.yaml"' for i in range(1000))
        return configured(d, f"paths = [{entries}]\n", 1000)[:3]

    @case("config", "a 1 MiB configuration of nested arrays")
    def _(d: Path) -> list[str]:
        depth = (1 << 19) - 16
        return configured(d, "paths = " + "[" * depth + "]" * depth + "\n")

    # JUnit test case names: inputs sharing a topology name, or one path given many
    # times, each get the next free classname (rmpplan.NAME[2], [3], ...).
    shared = "name: same\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"

    @case("junit", "4,000 files sharing one topology name")
    def _(d: Path) -> list[str]:
        for index in range(4000):
            write(d / "fleet" / f"t{index:04}.yaml", shared)
        return ["verify", str(d / "fleet"), "--jobs", "1", "--format", "junit"]

    @case("junit", "one path given 2,000 times")
    def _(d: Path) -> list[str]:
        path = str(write(d / "t.yaml", shared))
        return ["verify", *[path] * 2000, "--jobs", "1", "--format", "junit"]

    # Output files and flags: refused before any work, whatever the input costs.
    big = str(ROOT / "topologies" / "epyc-9965-2s.yaml")

    @case("output", "--junit-xml the topology it checks")
    def _(d: Path) -> list[str]:
        given = write(d / "in.yaml", Path(big).read_bytes())
        return ["verify", str(given), "--junit-xml", str(d / "." / "in.yaml")]

    @case("output", "--junit-xml a FIFO")
    def _(d: Path) -> list[str]:
        os.mkfifo(d / "fifo")
        return ["verify", big, "--junit-xml", str(d / "fifo")]

    @case("output", "--junit-xml /dev/stdout (a link)")
    def _(d: Path) -> list[str]:
        return ["verify", big, "--junit-xml", "/dev/stdout"]

    @case("output", "import -o its own source")
    def _(d: Path) -> list[str]:
        given = write(d / "in.yaml", Path(big).read_bytes())
        return ["import", str(given), "-o", str(given), "--force"]

    @case("flag", "schedule --ghz nan")
    def _(d: Path) -> list[str]:
        return ["schedule", big, "--leader", "17", "--memory", "0-2T", "--ghz", "nan"]

    @case("flag", "schedule --ghz 1e-320")
    def _(d: Path) -> list[str]:
        return ["schedule", big, "--leader", "17", "--memory", "0-2T", "--ghz", "1e-320"]

    def fleet(d: Path) -> Path:
        """120 machines of different shapes, each worth sending to the pool, and enough
        batches for 100 processes (``--jobs 100`` started 101 and took 10 times as long
        on 2 CPUs; the RSS here is the largest one process's, not their sum)."""
        for cores in range(4, 124):
            layout = f"layout:\n  packages: 1\n  cores_per_die: {cores}\n  threads_per_core: 2\n"
            write(d / "fleet" / f"m{cores:03}.yaml", f"name: m{cores}\n{layout}")
        return d / "fleet"

    @case("jobs", "verify a fleet, --jobs 2")
    def _(d: Path) -> list[str]:
        return ["verify", str(fleet(d)), "--jobs", "2"]

    @case("jobs", "verify a fleet, --jobs 100")
    def _(d: Path) -> list[str]:
        return ["verify", str(fleet(d)), "--jobs", "100"]

    @case("jobs", "verify a fleet, --jobs of 20 digits")
    def _(d: Path) -> list[str]:
        return ["verify", str(fleet(d)), "--jobs", "9" * 20]

    return cases


def result(index: int, cpus: int = 0) -> bytes:
    """One passing result as ``verify --format jsonl`` writes it; with ``cpus``, an
    expected finding listing that many CPUs."""
    finding = ""
    if cpus:
        listed = ",".join(["8191"] * cpus)
        finding = f'{{"check":"core-missed","cpus":[{listed}],"expected":true,"message":"m"}}'
    return (
        f'{{"findings":[{finding}],"kernel":null,"name":"host-{index}","notes":[],"ok":true,'
        f'"path":"fleet/host-{index:07d}.tar.xz","rule":"first-sibling",'
        f'"shape":"{index:024x}","stale_expectations":[],"strategy":"v9-andnot"}}\n'
    ).encode()


def sealed(lines: list[bytes]) -> bytes:
    """``lines`` and the trailer ``verify`` would have ended them with (all pass)."""
    import hashlib

    from rmpplan import __version__

    body = b"".join(lines)
    counts = {"bad_input": 0, "failed": 0, "files": len(lines), "ok": len(lines)}
    trailer = {
        "config": None,
        "kind": "trailer",
        "rmpplan_version": __version__,
        "schema_version": 2,
        "settings": {
            "kernel": None,
            "offline_after_setup": None,
            "online_after_setup": None,
            "rule": "first-sibling",
            "strategy": "v9-andnot",
        },
        "sha256": hashlib.sha256(body).hexdigest(),
        "summary": counts | {"shapes": len(lines)},
    }
    return body + json.dumps(trailer, sort_keys=True, separators=(",", ":")).encode() + b"\n"


# --- running and reporting ---------------------------------------------------------------


def judge(case: Case, result: Result, workdir: Path) -> None:
    """Record the outcome and any misbehaviour of one run."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.code is None:
        case.outcome, case.problem = "killed", "timeout"
        return
    if result.code == 0:
        case.outcome = "accepted"
    elif result.code == 2:
        case.outcome = "refused"
    elif result.code == 1 and case.must_fail:
        case.outcome = "fails, as it must"
    else:
        case.outcome = f"exit {result.code}"
    problems = []
    right = (1, 2) if case.must_fail else (0, 2)
    if "Traceback" in result.stderr:
        last = lines[-1] if lines else ""
        problems.append("MemoryError" if "MemoryError" in last else "traceback")
    elif result.code == 0 and case.must_fail:
        problems.append("false pass")
    elif result.code not in right:
        problems.append(f"exit {result.code}")
    elif result.code == 2 and len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines")
    if SECRET in result.stderr:
        problems.append("prints a file outside the dump")
    case.problem = ", ".join(problems)
    if result.code == 2 and lines and not case.problem:
        case.outcome = "refused: " + lines[0].replace(str(workdir) + "/", "")


def apart(work: Callable[[], bytes]) -> bytes:
    """Run ``work`` in a forked child and return what it returned.

    A child's ``ru_maxrss`` starts at the peak RSS of the process that spawned it (the
    kernel keeps the old memory's peak across exec), so this script must stay small:
    building the large inputs, and deleting them (listing 100,000 folders), happen in
    children that exit.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: work, send the result, exit without cleanup
        os.close(read_end)
        code = 1
        try:
            os.write(write_end, work())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("a child building or deleting inputs failed")
    return sent


def full_dump_file(path: Path, cpus: int, compression: str) -> None:
    """A realistic full sysfs dump (tests/sources/full_dump.py), compressed as the tools do
    by default (xz at preset 1 past 1024 CPUs: preset 6 takes minutes for 1.2 GB)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.sources.full_dump import write_full_dump

    level = 1 if compression == "xz" and cpus > 1024 else None
    with path.open("wb") as out:
        write_full_dump(out, cpus, compression, level=level)


_TAR_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def floor_seconds(path: Path) -> float:
    """What the standard library needs to inflate ``path`` and step over its tar headers
    with a minimal loop (no checksum, no names): the best of three runs."""
    with path.open("rb") as handle:
        head = handle.read(6)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()  # CPU time: other jobs on the cores do not count
        with contextlib.suppress(OSError, EOFError, lzma.LZMAError):
            _walk(_inflated(path, head))  # a corrupt stream: the floor is what it took to see
        best = min(best, time.process_time() - start)
    return best


def _inflated(path: Path, head: bytes) -> IO[bytes] | gzip.GzipFile:
    """The file through the standard library's decompressor for its first bytes."""
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(path, "rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(path, "rb")
    if head.startswith(b"\xfd7zXZ"):
        return lzma.LZMAFile(path, "rb")
    return path.open("rb")


def _walk(stream: IO[bytes] | gzip.GzipFile) -> None:
    with stream:
        buf = b""
        pos = skip = 0
        walking = True
        while chunk := stream.read(1 << 20):
            if not walking:
                continue
            buf = buf[pos:] + chunk
            pos = 0
            while True:
                step = min(skip, len(buf) - pos)
                pos += step
                skip -= step
                if skip or len(buf) - pos < 512:
                    break
                block = buf[pos : pos + 512]
                pos += 512
                if block == ZERO_BLOCK:
                    walking = False
                    break
                digits = block[124:136].split(b"\0", 1)[0].strip()
                size = int(digits, 8) if digits.isdigit() else 0
                if block[156:157] in (b"1", b"2", b"3", b"4", b"5", b"6"):
                    size = 0
                skip = size + (-size % 512)


ZERO_BLOCK = bytes(512)


def _floor_text(path: Path) -> bytes:
    return str(floor_seconds(path)).encode()


def build_apart(case: Case, workdir: Path) -> list[str]:
    """``case.build(workdir)`` in a child (:func:`apart`); the CLI args."""
    args: list[str] = json.loads(apart(lambda: json.dumps(case.build(workdir)).encode()))
    return args


def remove_apart(folder: Path) -> None:
    """Delete a folder of inputs in a child (:func:`apart`)."""

    def remove() -> bytes:
        shutil.rmtree(folder)
        return b""

    apart(remove)


def measure(
    cases: list[Case], runs: int, timeout: float, memory_limit: int
) -> tuple[list[float], list[float]]:
    """Build each case in a fresh folder and run it ``runs`` times; the baseline's walls
    and CPU times."""
    baseline: list[float] = []
    baseline_cpu: list[float] = []
    for index, case in enumerate(cases):
        base_run = run_once(BASELINE, timeout, memory_limit)
        baseline.append(base_run.wall)
        baseline_cpu.append(base_run.cpu)
        workdir = Path(tempfile.mkdtemp(prefix="rmpplan-hostile-"))
        try:
            args = build_apart(case, workdir)
            tarballs = [arg for arg in args if arg.lower().endswith(_TAR_NAMES)]
            if tarballs and Path(tarballs[0]).is_file():
                path = Path(tarballs[0])
                case.floor = float(apart(partial(_floor_text, path)))
            os.sync()  # the kernel writing the new files back must not slow the runs down
            for _ in range(runs):
                result = run_once(args, timeout, memory_limit)
                case.walls.append(result.wall)
                case.cpus.append(result.cpu)
                case.rss_kib.append(result.rss_kib)
                judge(case, result, workdir)
                if result.code is None:
                    break  # one timeout is enough
        finally:
            remove_apart(workdir)
        if sys.stderr.isatty():
            print(f"\r{index + 1}/{len(cases)} {case.name[:50]:50}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    return baseline, baseline_cpu


def report(
    cases: list[Case], baseline: list[float], baseline_rss: int, baseline_cpu: list[float]
) -> bool:
    """Print the table and the worst values; True when a target is missed or a case misbehaves.

    A tarball is held to its floor in CPU time (the child's user + system time against the
    floor's process time): other jobs on the cores stretch wall times, not CPU times."""
    base = statistics.median(baseline)
    base_cpu = statistics.median(baseline_cpu)
    print(
        f"rmpplan hostile inputs: {len(cases)} cases; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"baseline `rmpplan {' '.join(BASELINE)}`: median {base * 1000:.0f} ms over "
        f"{len(baseline)} runs ({base_cpu * 1000:.0f} ms CPU), "
        f"peak RSS {baseline_rss / 1024:.0f} MB"
    )
    print()
    header = ["class", "case", "wall", "ratio", "CPU", "floor", "x floor", "RSS MB", "result"]
    body = []
    bad = False
    worst_ratio: tuple[float, str] = (0.0, "")
    worst_rss: tuple[float, str] = (0.0, "")
    worst_floor: tuple[float, str] = (0.0, "")
    per_class: dict[str, tuple[float, float]] = {}
    for case in cases:
        wall = statistics.median(case.walls)
        ratio = wall / base
        rss = max(case.rss_kib) / 1024
        worst_ratio = max(worst_ratio, (ratio, case.name))
        worst_rss = max(worst_rss, (rss, case.name))
        old = per_class.get(case.cls, (0.0, 0.0))
        per_class[case.cls] = (max(old[0], ratio), max(old[1], rss))
        if case.floor is None:
            missed = ratio > TIME_TARGET or rss > RSS_TARGET_MB
            floor_cells = ["", "", ""]
        else:  # no amplification: at most 3 floors plus a plan, in CPU time
            cpu = statistics.median(case.cpus)
            over = (cpu - base_cpu) / case.floor if case.floor > 0 else 0.0
            missed = cpu > TIME_TARGET * case.floor + base_cpu or rss > RSS_TARGET_MB
            worst_floor = max(worst_floor, (over, case.name))
            floor_cells = [f"{cpu:.2f} s", f"{case.floor:.2f} s", f"{over:.1f}"]
        bad |= missed or bool(case.problem)
        result = f"PROBLEM: {case.problem}" if case.problem else case.outcome
        if missed and not case.problem:
            result = "OVER TARGET; " + result
        prefix = ">" if case.outcome == "killed" else ""
        body.append(
            [
                case.cls,
                case.name,
                f"{prefix}{wall:.2f} s",
                f"{prefix}{ratio:.1f}",
                *floor_cells,
                f"{rss:.0f}",
                result[:90],
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    for row in [header, *body]:
        cells = [
            row[i].rjust(widths[i]) if i in (2, 3, 4, 5, 6, 7) else row[i].ljust(widths[i])
            for i in range(len(header))
        ]
        print("  ".join(cells).rstrip())
    print()
    print("per class (worst ratio, worst RSS MB):")
    for cls, (ratio, rss) in per_class.items():
        print(f"  {cls:8} {ratio:5.1f}  {rss:6.0f}")
    print()
    print(f"worst time ratio: {worst_ratio[0]:.1f} ({worst_ratio[1]}); target <= {TIME_TARGET:g}")
    print(
        "worst tarball cost over its floor, CPU (rmpplan - baseline) / floor: "
        f"{worst_floor[0]:.1f} "
        f"({worst_floor[1]}); target <= {TIME_TARGET:g}"
    )
    print(f"worst peak RSS: {worst_rss[0]:.0f} MB ({worst_rss[1]}); target <= {RSS_TARGET_MB:g}")
    problems = [case for case in cases if case.problem]
    print(f"cases that misbehave: {len(problems)}")
    return bad


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build and run the corpus, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--only", default="", help="run only cases whose class or name has this")
    parser.add_argument("--size", type=int, default=64, help="MiB of the huge inputs (default 64)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a kill")
    parser.add_argument(
        "--memory-limit", type=int, default=4096, help="address-space limit per child, MiB"
    )
    parser.add_argument("--check", action="store_true", help="exit 3 when anything is off")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.size < 1:
        parser.error("--runs and --size must be at least 1")
    started = time.perf_counter()
    needle = args.only.lower()
    cases = [c for c in corpus(args.size << 20) if needle in f"{c.cls} {c.name}".lower()]
    if not cases:
        parser.error(f"no case matches {args.only!r}")
    limit = args.memory_limit << 20
    warm = run_once(BASELINE, args.timeout, limit)
    if warm.code != 0:
        print(f"hostile: error: the baseline failed: {warm.stderr.strip()}", file=sys.stderr)
        return 1
    baseline, baseline_cpu = measure(cases, args.runs, args.timeout, limit)
    baseline_rss = max(run_once(BASELINE, args.timeout, limit).rss_kib for _ in range(3))
    bad = report(cases, baseline, baseline_rss, baseline_cpu)
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    return 3 if bad and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
