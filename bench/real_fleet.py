"""Fleets of distinct bytes for ``bench/fleet.py --real``: one shape, every host's file its own.

A real fleet is not N copies of one file: each host's dump carries its own cpuinfo MHz
and bogomips lines and its own name. The 768-CPU host of the README (2 x EPYC 9965) is
written four ways:

- ``tar.gz``: a topology-only sysfs dump tarball (each ``cpuN/`` with ``online``, and
  ``topology/`` with the seven files a topology dump script copies: about 7,700 members,
  7.9 MB of tar), then ``/proc/cpuinfo`` with that host's MHz lines;
- ``folder``: the same dump unpacked (7,700 files a host, so fewer hosts);
- ``lscpu``: ``lscpu -J -e=CPU,NODE,SOCKET,CORE,ONLINE,MHZ`` output, the MHz per host;
- ``hwloc``: hwloc XML with the host's name and per-host CPU frequency info.

Generating 10,000 tarballs of 8 MB of tar each by compressing every one from scratch
would take far longer than checking them. Every host's tarball starts with the same
7.9 MB, so that prefix is compressed once and the compressor copied (``zlib``'s
``Compress.copy``) for each host's tail: the files are what ``gzip -6`` of the whole
stream gives, CRC and length included. Fleets are cached under the temporary directory,
keyed by this file's content, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.sources.full_dump import (  # noqa: E402  (the repository root, put on the path above)
    END_BLOCKS,
    cpuinfo,
    folder,
    full_dump,
    member,
)

CPUS = 768
KINDS = ("tar.gz", "folder", "lscpu", "hwloc")
TOPOLOGY_KEPT = frozenset(
    (
        "core_cpus_list",
        "thread_siblings_list",
        "core_cpus",
        "thread_siblings",
        "physical_package_id",
        "die_id",
        "core_id",
    )
)
_SKIPPED = frozenset(("cache", "cpuidle", "cpufreq", "acpi_cppc", "node", "smt"))


def cache_root() -> Path:
    """Where fleets are kept between runs: keyed by this generator's own bytes."""
    mine = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=6).hexdigest()
    return Path(tempfile.gettempdir()) / f"rmpplan-real-fleets-{mine}"


def _name_of(block: bytes) -> str:
    name = block[:100].split(b"\0", 1)[0].decode()
    prefix = block[345:500].split(b"\0", 1)[0].decode()
    return f"{prefix}/{name}" if prefix else name


def topology_prefix(cpus: int = CPUS) -> bytes:
    """The tar stream of a topology-only dump, up to (not including) /proc."""
    kept = []
    for block in full_dump(cpus):
        name = _name_of(block).rstrip("/")
        parts = name.split("/")
        if "proc" in parts or block == END_BLOCKS:
            break
        if _SKIPPED.intersection(parts) or parts[-1].startswith("node"):
            continue
        if len(parts) >= 2 and parts[-2] == "topology" and parts[-1] not in TOPOLOGY_KEPT:
            continue
        kept.append(block)
    return b"".join(kept)


def _tail(host: int, cpus: int = CPUS) -> bytes:
    return folder("dump/proc") + member("dump/proc/cpuinfo", cpuinfo(cpus, host)) + END_BLOCKS


def write_tarballs(where: Path, hosts: int) -> None:
    base = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip framing: header, CRC32, length
    head = base.compress(topology_prefix())
    for host in range(hosts):
        tail = base.copy()
        body = tail.compress(_tail(host)) + tail.flush()
        (where / f"host-{host:05d}.tar.gz").write_bytes(head + body)


def write_folders(where: Path, hosts: int) -> None:
    stream = topology_prefix() + _tail(0)
    files: list[tuple[str, bytes]] = []
    dirs: list[str] = []
    pos = 0
    while pos + 512 <= len(stream):
        block = stream[pos : pos + 512]
        if block == bytes(512):
            break
        size = int(block[124:136].split(b"\0", 1)[0] or b"0", 8)
        name = _name_of(block).removeprefix("dump/").rstrip("/")
        if block[156:157] == b"5":
            dirs.append(name)
        elif name != "proc/cpuinfo":
            files.append((name, stream[pos + 512 : pos + 512 + size]))
        pos += 512 + size + (-size % 512)
    for host in range(hosts):
        top = where / f"host-{host:05d}"
        for name in dirs:
            (top / name).mkdir(parents=True, exist_ok=True)
        for name, data in files:
            (top / name).write_bytes(data)
        (top / "proc" / "cpuinfo").write_text(cpuinfo(CPUS, host))


def lscpu_json(host: int, cpus: int = CPUS) -> str:
    half = cpus // 2
    rows = [
        {
            "cpu": cpu,
            "node": cpu // half,
            "socket": cpu // half,
            "core": cpu // 2,
            "online": True,
            "mhz": f"{1500 + (host * 131 + cpu * 17) % 2200}.{host % 1000:03d}",
        }
        for cpu in range(cpus)
    ]
    return json.dumps({"cpus": rows}, indent=3) + "\n"


def hwloc_xml(host: int, cpus: int = CPUS) -> str:
    half = cpus // 2
    packages = []
    for package in range(2):
        cores = "".join(
            f'<object type="Core" os_index="{core}">'
            + "".join(
                f'<object type="PU" os_index="{core * 2 + t}"/>'
                for t in range(2)
                if core * 2 + t < (package + 1) * half
            )
            + "</object>"
            for core in range(package * half // 2, (package + 1) * half // 2)
        )
        mhz = 1500 + (host * 131 + package) % 2200
        packages.append(
            f'<object type="Package" os_index="{package}">'
            f'<info name="CPUModel" value="AMD EPYC 9965 192-Core Processor"/>'
            f'<info name="CPUCurrentMHz" value="{mhz}"/>{cores}</object>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n'
        f'<topology version="2.0"><object type="Machine" os_index="0">'
        f'<info name="HostName" value="host-{host:05d}"/>{"".join(packages)}'
        "</object></topology>\n"
    )


def write_texts(where: Path, hosts: int, kind: str) -> None:
    for host in range(hosts):
        if kind == "lscpu":
            (where / f"host-{host:05d}.json").write_text(lscpu_json(host))
        else:
            (where / f"host-{host:05d}.xml").write_text(hwloc_xml(host))


def fleet(kind: str, hosts: int) -> Path:
    """The fleet of ``hosts`` hosts of ``kind``, generated once and cached."""
    where = cache_root() / f"{kind}-{hosts}"
    if (where / ".complete").exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    if kind == "tar.gz":
        write_tarballs(where, hosts)
    elif kind == "folder":
        write_folders(where, hosts)
    else:
        write_texts(where, hosts, kind)
    (where / ".complete").write_text("")
    return where


def floor_walk(folder: str) -> None:
    """The floor of a fleet of tarballs: each inflated with the standard library and its
    512-byte headers stepped over with a minimal loop (bench/hostile.py), once each, in
    one process, as ``verify`` meets them."""
    from hostile import _inflated, _walk

    for path in sorted(Path(folder).glob("*.tar.gz")):
        with path.open("rb") as handle:
            head = handle.read(6)
        _walk(_inflated(path, head))
