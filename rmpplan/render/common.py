"""Facts every renderer shows the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rmpplan.cpumask import CpulistMinus, format_cpulist, format_hexmask
from rmpplan.memory import Window
from rmpplan.plan import LeaderPlan, PlanResult
from rmpplan.topology.machine import Machine

SCHEMA_VERSION = 1


def cpulist(cpus: Iterable[int]) -> str:
    return format_cpulist(cpus)


def mask_hex(machine: Machine, cpus: Iterable[int]) -> str:
    """``%*pb`` of a mask sized like the kernel's: nr_cpu_ids bits."""
    return format_hexmask(cpus, machine.nr_cpu_ids)


def follower_lists(result: PlanResult) -> Callable[[LeaderPlan], str]:
    """Each plan's followers as a cpulist, without re-walking the mask per leader."""
    minus = CpulistMinus(result.base)
    return lambda item: minus(item.removed)


def lead_note(item: LeaderPlan) -> str:
    """Where the serial loop runs when not on the leader itself, and a #UD."""
    notes = []
    if item.lead is None:
        notes.append("no leader loop: every CPU runs every region")
    elif item.lead != item.leader:
        notes.append(f"loop runs on CPU {item.lead} ({item.case})")
    if not item.lead_core_programmed:
        notes.append("#UD: the leader's core never set RMPOPT_BASE")
    return "; ".join(notes)


def machine_summary(machine: Machine) -> str:
    return (
        f"{len(machine.present)} CPUs present, {len(machine.online)} online, "
        f"{len(machine.cores)} cores, nr_cpu_ids {machine.nr_cpu_ids}"
    )


def grouped(plans: Iterable[LeaderPlan]) -> list[tuple[list[int], LeaderPlan]]:
    """Leaders that share a core and followers, for a compact table."""
    Key = tuple[tuple[int, ...], frozenset[int], str, str]
    groups: dict[Key, list[int]] = {}
    first: dict[Key, LeaderPlan] = {}
    for item in plans:
        key = (item.leader_core, item.removed, item.case, lead_note(item))
        groups.setdefault(key, []).append(item.leader)
        first.setdefault(key, item)
    return [(leaders, first[key]) for key, leaders in groups.items()]


@dataclass(frozen=True, slots=True)
class Display:
    """How the terminal wants output: colour, and a width for wrapping (None: never wrap)."""

    color: bool = False
    width: int | None = None


PLAIN = Display()


def window_lines(window: Window) -> list[str]:
    """The window as the text format's first lines (end exclusive, as rmpopt_pa_end)."""
    lines = [f"window: 0x{window.start:x}-0x{window.end:x} ({window.regions} regions)"]
    if window.capped and window.uncovered_from is not None:
        lines.append(
            f"capped: memory from 0x{window.uncovered_from:x} up is not optimized "
            "(one RMPOPT table covers 2 TB from its base)"
        )
    return lines
