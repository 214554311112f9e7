"""Sibling groups → :class:`Machine`: the one place every reader numbers cores.

A reader finds the cores itself (a sysfs sibling set, an hwloc ``Core``, an lscpu
``(SOCKET, CORE)`` tuple) and hands them here as :class:`Group` s.  The core
number is the group's index within its (package, die) when the groups are ordered
by their lowest CPU, so it is dense, starts at 0 in every die, and never comes
from the platform's ``core_id`` (which repeats and skips on real machines).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import InputError
from rmpplan.topology.machine import Cpu, Machine, build_machine

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Set

MAX_THREADS_PER_CORE = 8
"""No core has more hardware threads (POWER8-10 and SPARC T-series have 8)."""
_SHOW_MAX = 40


@dataclass(frozen=True, slots=True)
class Group:
    """One core: its present threads and where it sits."""

    threads: tuple[int, ...]
    package: int
    die: int


def show_cpus(cpus: Iterable[int]) -> str:
    """A CPU set for a one-line message: the kernel cpulist, cut at ~40 characters."""
    text = format_cpulist(cpus) or "(none)"
    if len(text) > _SHOW_MAX:
        cut = text.rfind(",", 0, _SHOW_MAX)
        text = text[: cut if cut > 0 else _SHOW_MAX] + ",\u2026"
    return text


def assemble(
    name: str,
    groups: Iterable[Group],
    online: Set[int],
    *,
    possible: Iterable[int] | None = None,
    apic_ids: Mapping[int, int] | None = None,
    source: str | None = None,
) -> Machine:
    """Number the cores and build the machine (``build_machine`` checks the structure)."""
    by_die: defaultdict[tuple[int, int], list[Group]] = defaultdict(list)
    for group in groups:
        if len(group.threads) > MAX_THREADS_PER_CORE:
            raise InputError(
                f"a core of {len(group.threads)} CPUs ({show_cpus(group.threads)}); no core has "
                f"more than {MAX_THREADS_PER_CORE} threads"
            )
        by_die[group.package, group.die].append(group)
    apic = apic_ids or {}
    cpus: list[Cpu] = []
    for (package, die), members in by_die.items():
        members.sort(key=lambda group: min(group.threads))
        for index, group in enumerate(members):
            cpus.extend(
                Cpu(cpu, package, die, index, cpu in online, apic.get(cpu)) for cpu in group.threads
            )
    return build_machine(name, cpus, possible, source)
