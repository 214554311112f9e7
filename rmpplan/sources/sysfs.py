"""A sysfs root (a dump folder, a tarball's inside, or the live ``/``) → :class:`Machine`.

The kernel's view, as ``/sys/devices/system/cpu`` shows it:

- present = ``cpu/present``, else the ``cpuN`` folders; possible = ``cpu/possible``,
  else present.  CPUs that are possible but not present only go into ``possible``.
- online = ``cpu/online``; else (old kernels) the present CPUs that have a
  ``topology/`` folder and whose ``cpuN/online`` is not ``0`` (CPU 0 often has no
  ``online`` file, and CPU 0 can be offline).
- A core is a sibling set: ``core_cpus_list``, else ``thread_siblings_list``, else the
  hex ``core_cpus`` / ``thread_siblings``.  Never ``core_id``: it repeats across
  sibling sets on VMware, s390, Bulldozer, Magny-Cours and RISC-V.
- package = ``physical_package_id`` (-1 → 0), die = ``die_id`` (missing or -1 → 0).
- A CPU with no sibling data of its own (an offline CPU has no ``topology/``
  folder) joins the sibling set that names it, else it is a core of its own, in
  the package its own files give, else package 0.
- ``apicid`` comes from ``proc/cpuinfo`` when every ``processor`` block is unique and
  no two CPUs share an APIC id; sysfs wins where the two disagree about which CPUs
  exist.

What cannot be a real machine is refused before it costs anything: a ``cpuN`` past
CPU 8191, a sibling set of more than 8 CPUs (no core has more threads), an id that
is not plain ASCII digits or has more than 10 of them.  File sizes are capped by
the tree (:mod:`rmpplan.sources.tree`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cpumask import parse_cpulist
from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.sources.assemble import MAX_THREADS_PER_CORE, Group, assemble, show_cpus
from rmpplan.sources.tree import CPU_DIR, CPUINFO
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from rmpplan.sources.tree import Tree
    from rmpplan.topology.machine import Machine

__all__ = ["CPUINFO", "CPU_DIR", "TOPOLOGY_FILES", "read_sysfs_tree"]

_CPU_NAME = re.compile(r"cpu(0|[1-9][0-9]{0,5})")
# Best first; the *_list files are decimal cpulists, the others hex masks.
_SIBLING_FILES = (
    ("core_cpus_list", False),
    ("thread_siblings_list", False),
    ("core_cpus", True),
    ("thread_siblings", True),
)
TOPOLOGY_FILES = frozenset((*(name for name, _ in _SIBLING_FILES), "physical_package_id", "die_id"))
"""The ``cpuN/topology/`` files read (a tarball keeps only these)."""
_HEX_WORD = re.compile(r"(?:0[xX])?([0-9a-fA-F]{1,8})")
# Ten digits at most: a longer number is no CPU or APIC id, and its line is no such line.
_CPUINFO_LINE = re.compile(
    r"^(processor|apicid)[ \t]*:[ \t]*([0-9]{1,10})[ \t]*$", re.MULTILINE | re.ASCII
)
# A sysfs id: the kernel prints an int, -1 for "unknown".
_SYSFS_INT = re.compile(r"-?[0-9]{1,10}", re.ASCII)


@dataclass(frozen=True, slots=True)
class CpuFiles:
    """What one CPU's ``topology/`` folder says (None: the file is missing)."""

    cpu: int
    has_topology: bool
    siblings: frozenset[int] | None = None
    sibling_file: str | None = None
    package: int | None = None
    die: int | None = None


def _clean(text: str) -> str:
    """A sysfs value: the first line, NUL padding dropped (Kunpeng dumps end in "\\n\\0")."""
    return text.split("\0", 1)[0].split("\n", 1)[0].strip()


def parse_hex_words(text: str) -> frozenset[int]:
    """A sysfs hex mask of any width: 32-bit words, most significant first.

    The width is never checked (old kernels print NR_CPUS-wide masks).  An empty
    word is skipped, as the kernel's ``bitmap_parse`` does, unless the words carry
    hwloc's ``0x`` prefix: hwloc prints a zero word as nothing (``0xff,,0xff``).
    """
    words = _clean(text).split(",")
    hwloc_style = any(word.strip()[:2].lower() == "0x" for word in words)
    bits = 0
    shift = 0
    for raw in reversed(words):
        word = raw.strip()
        if not word:
            if hwloc_style:
                shift += 32
            continue
        match = _HEX_WORD.fullmatch(word)
        if match is None:
            raise InputError(f"'{quote(word)}' is not a 32-bit hex word")
        bits |= int(match[1], 16) << shift
        shift += 32
    if bits >> NR_CPUS_MAX:
        raise InputError(f"the mask sets bit {bits.bit_length() - 1}, past CPU {NR_CPUS_MAX - 1}")
    return frozenset(i for i, bit in enumerate(reversed(bin(bits)[2:])) if bit == "1")


def _read_list(tree: Tree, rel: str) -> frozenset[int] | None:
    text = tree.read(f"{CPU_DIR}/{rel}")
    if text is None:
        return None
    try:
        return parse_cpulist(_clean(text))
    except InputError as err:
        raise err.within(rel) from None


def _read_int(tree: Tree, rel: str) -> int | None:
    text = tree.read(f"{CPU_DIR}/{rel}")
    if text is None:
        return None
    value = _clean(text)
    # Not int(): it takes '0_0', '+1' and non-ASCII digits, and is slow on huge ones.
    if _SYSFS_INT.fullmatch(value) is None:
        raise InputError(f"{rel}: '{quote(value)}' is not an integer")
    return max(int(value), 0)  # -1 means "unknown": one package/die


def read_cpu_files(tree: Tree, cpu: int) -> CpuFiles:
    """Read what a CPU's ``topology/`` folder holds; only the files needed."""
    base = f"cpu{cpu}/topology"
    siblings = None
    sibling_file = None
    for name, is_hex in _SIBLING_FILES:
        rel = f"{base}/{name}"
        text = tree.read(f"{CPU_DIR}/{rel}")
        if text is None:
            continue
        try:
            siblings = parse_hex_words(text) if is_hex else parse_cpulist(_clean(text))
        except InputError as err:
            raise err.within(rel) from None
        if len(siblings) > MAX_THREADS_PER_CORE:
            raise InputError(
                f"{rel} lists {len(siblings)} CPUs ({show_cpus(siblings)}); no core has more "
                f"than {MAX_THREADS_PER_CORE} threads"
            )
        sibling_file = rel
        break
    package = _read_int(tree, f"{base}/physical_package_id")
    die = _read_int(tree, f"{base}/die_id")
    has_topology = (
        siblings is not None
        or package is not None
        or die is not None
        or tree.isdir(f"{CPU_DIR}/{base}")
    )
    return CpuFiles(cpu, has_topology, siblings, sibling_file, package, die)


def cpu_folders(tree: Tree) -> frozenset[int]:
    """The ids of the ``cpuN`` folders."""
    names = tree.listdir(CPU_DIR)
    if names is None:
        raise InputError(f"no {CPU_DIR} directory")
    ids = frozenset(int(m[1]) for m in map(_CPU_NAME.fullmatch, names) if m is not None)
    if ids and max(ids) >= NR_CPUS_MAX:
        raise InputError(f"cpu{max(ids)}: CPU ids end at {NR_CPUS_MAX - 1} (NR_CPUS)")
    return ids


def present_cpus(tree: Tree, folders: frozenset[int]) -> frozenset[int]:
    """``cpu/present``, else the ``cpuN`` folders."""
    present = _read_list(tree, "present")
    return folders if present is None else present


def online_cpus(
    tree: Tree, present: frozenset[int], has_topology: Callable[[int], bool]
) -> frozenset[int]:
    """``cpu/online``, else the present CPUs with a ``topology/`` folder whose ``cpuN/online``
    is not 0."""
    online = _read_list(tree, "online")
    if online is not None:
        extra = online - present
        if extra:
            raise InputError(f"online lists CPU {min(extra)}, which is not present")
        return online
    derived = []
    for cpu in sorted(present):
        if not has_topology(cpu):
            continue
        flag = tree.read(f"{CPU_DIR}/cpu{cpu}/online")
        if flag is None or _clean(flag) != "0":
            derived.append(cpu)
    return frozenset(derived)


def _sibling_sets(
    files: Mapping[int, CpuFiles],
    folders: frozenset[int],
    online: frozenset[int],
) -> dict[frozenset[int], int]:
    """The distinct sibling sets, checked against each other, each with the lowest CPU whose
    file gives it; every CPU is in at most one."""
    own: dict[int, frozenset[int]] = {}
    for cpu, info in files.items():
        if info.siblings is None:
            continue
        if cpu not in info.siblings:
            if cpu in online:
                raise InputError(
                    f"{info.sibling_file} ({show_cpus(info.siblings)}) does not list "
                    f"cpu{cpu} itself"
                )
            continue  # an offline CPU's cleared mask says nothing
        own[cpu] = info.siblings
    holder: dict[frozenset[int], int] = {}
    for cpu in sorted(own):
        holder.setdefault(own[cpu], cpu)
    claimed: dict[int, int] = {}  # CPU without data of its own -> holder of the set naming it
    for siblings, cpu in holder.items():
        named_by = files[cpu].sibling_file
        for other in sorted(siblings):
            if other not in files:
                where = "not in cpu/present" if other in folders else f"no cpu{other} directory"
                raise InputError(f"{named_by} lists CPU {other}, which is not present ({where})")
            theirs = own.get(other)
            if theirs is None:
                first = claimed.setdefault(other, cpu)
                if first != cpu:
                    raise InputError(
                        f"CPU {other} is in two sibling sets: {files[first].sibling_file} "
                        f"({show_cpus(own[first])}) and {named_by} ({show_cpus(siblings)})"
                    )
            elif theirs != siblings:
                raise InputError(_disagreement(files, cpu, other, siblings, theirs))
    return holder


def _disagreement(
    files: Mapping[int, CpuFiles],
    cpu: int,
    other: int,
    mine: frozenset[int],
    theirs: frozenset[int],
) -> str:
    mine_file = files[cpu].sibling_file
    their_file = files[other].sibling_file
    if cpu not in theirs:
        return (
            f"sibling sets disagree: {mine_file} lists {other} but {their_file} does not list {cpu}"
        )
    return (
        f"sibling sets disagree: {mine_file} is {show_cpus(mine)} "
        f"but {their_file} is {show_cpus(theirs)}"
    )


def _placement(
    siblings: Iterable[int], named_by: str | None, files: Mapping[int, CpuFiles]
) -> Group:
    """A sibling set's package and die: its CPUs must agree where their files say."""
    threads = tuple(sorted(siblings))
    where: list[int] = []
    for field, file_name in (("package", "physical_package_id"), ("die", "die_id")):
        said = {cpu: value for cpu in threads if (value := getattr(files[cpu], field)) is not None}
        values = sorted(set(said.values()))
        if len(values) > 1:
            a = min(said, key=lambda cpu: (said[cpu], cpu))
            b = min(said, key=lambda cpu: (-said[cpu], cpu))
            raise InputError(
                f"cpu{a} and cpu{b} are siblings ({named_by}) "
                f"but their {file_name} differ: {said[a]} and {said[b]}"
            )
        where.append(values[0] if values else 0)
    return Group(threads, where[0], where[1])


def _groups(
    files: Mapping[int, CpuFiles], folders: frozenset[int], online: frozenset[int]
) -> list[Group]:
    sets = _sibling_sets(files, folders, online)
    groups = [
        _placement(siblings, files[cpu].sibling_file, files) for siblings, cpu in sets.items()
    ]
    covered = {cpu for group in groups for cpu in group.threads}
    for cpu, info in files.items():
        if cpu not in covered:
            groups.append(Group((cpu,), info.package or 0, info.die or 0))
    return groups


def apic_ids(tree: Tree, present: frozenset[int]) -> dict[int, int]:
    """``apicid`` per CPU from ``proc/cpuinfo``; empty when missing or inconsistent."""
    text = tree.read(CPUINFO)
    if text is None:
        return {}
    ids: dict[int, int] = {}
    processors: set[int] = set()
    current: int | None = None
    for match in _CPUINFO_LINE.finditer(text):
        key, number = match[1], int(match[2])
        if key == "processor":
            if number in processors or len(processors) >= NR_CPUS_MAX:
                return {}  # a repeat, or more CPUs than any kernel has: untrusted
            processors.add(number)
            current = number
        elif current is not None:
            if current in ids:
                return {}
            ids[current] = number
    kept = {cpu: apic for cpu, apic in ids.items() if cpu in present}
    if len(set(kept.values())) != len(kept):
        return {}
    return kept


def read_sysfs_tree(tree: Tree, name: str, source: str | None = None) -> Machine:
    """The machine a sysfs tree describes (see the module docstring for the rules)."""
    folders = cpu_folders(tree)
    present = present_cpus(tree, folders)
    files = {cpu: read_cpu_files(tree, cpu) for cpu in sorted(present)}
    online = online_cpus(tree, present, lambda cpu: files[cpu].has_topology)
    possible = _read_list(tree, "possible")
    if possible is None:
        possible = present
    elif not present <= possible:
        raise InputError(
            f"possible ({show_cpus(possible)}) lacks present CPU {min(present - possible)}"
        )
    groups = _groups(files, folders, online)
    return assemble(
        name, groups, online, possible=possible, apic_ids=apic_ids(tree, present), source=source
    )
