"""Facts every renderer shows the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rmpplan.cpumask import format_cpulist, format_hexmask
from rmpplan.memory import Window
from rmpplan.plan import LeaderPlan, PlanResult
from rmpplan.topology.machine import Machine

SCHEMA_VERSION = 1


def cpulist(cpus: Iterable[int]) -> str:
    return format_cpulist(cpus)


def mask_hex(machine: Machine, cpus: Iterable[int]) -> str:
    """``%*pb`` of a mask sized like the kernel's: nr_cpu_ids bits."""
    return format_hexmask(cpus, machine.nr_cpu_ids)


def programmed_cores(result: PlanResult) -> int:
    return len({result.machine.core_index(cpu) for cpu in result.mask})


def machine_summary(machine: Machine) -> str:
    return (
        f"{len(machine.present)} CPUs present, {len(machine.online)} online, "
        f"{len(machine.cores)} cores, nr_cpu_ids {machine.nr_cpu_ids}"
    )


def grouped(plans: Iterable[LeaderPlan]) -> list[tuple[list[int], LeaderPlan]]:
    """Leaders that share a core and followers, for a compact table."""
    groups: dict[tuple[tuple[int, ...], frozenset[int]], list[int]] = {}
    first: dict[tuple[tuple[int, ...], frozenset[int]], LeaderPlan] = {}
    for item in plans:
        key = (item.leader_core, item.followers)
        groups.setdefault(key, []).append(item.leader)
        first.setdefault(key, item)
    return [(leaders, first[key]) for key, leaders in groups.items()]


@dataclass(frozen=True, slots=True)
class Display:
    """How the terminal wants output: colour, and a width for wrapping (None: never wrap)."""

    color: bool = False
    width: int | None = None


PLAIN = Display()


def verdict_label(ok: bool, findings: int) -> str:
    return "ok" if ok else f"{findings} finding(s)"


def window_lines(window: Window) -> list[str]:
    """The window as the text format's first lines (end exclusive, as rmpopt_pa_end)."""
    lines = [f"window: 0x{window.start:x}-0x{window.end:x} ({window.regions} regions)"]
    if window.capped and window.uncovered_from is not None:
        lines.append(
            f"capped: memory from 0x{window.uncovered_from:x} up is not optimized "
            "(one RMPOPT table covers 2 TB from its base)"
        )
    return lines
