"""Facts every renderer shows the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rmpplan.cpumask import CpulistMinus, format_cpulist, format_hexmask

if TYPE_CHECKING:
    from rmpplan.memory import Window
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult, WorkerPlan
    from rmpplan.terms import Kernel
    from rmpplan.topology.machine import Machine

SCHEMA_VERSION = 2
"""Bumped when a documented JSON value changes meaning (see docs/json.md)."""


def cpulist(cpus: Iterable[int]) -> str:
    return format_cpulist(cpus)


def mask_hex(machine: Machine, cpus: Iterable[int]) -> str:
    """``%*pb`` of a mask sized like the kernel's: nr_cpu_ids bits."""
    return format_hexmask(cpus, machine.nr_cpu_ids)


def follower_lists(result: PlanResult) -> Callable[[WorkerPlan], str]:
    """Each plan's followers as a cpulist, without re-walking the mask per worker."""
    minus = CpulistMinus(result.mask)
    return lambda item: minus(item.removed)


def core_lists() -> Callable[[tuple[int, ...]], str]:
    """The cpulist of a worker's core, written once per core: the workers of a
    core share its tuple, and writing it for each would cost threads x threads."""
    written: dict[int, tuple[tuple[int, ...], str]] = {}

    def text(threads: tuple[int, ...]) -> str:
        hit = written.get(id(threads))
        if hit is None or hit[0] is not threads:
            hit = written[id(threads)] = (threads, format_cpulist(threads))
        return hit[1]

    return text


def lead_note(item: WorkerPlan) -> str:
    """Where the serial loop runs when not on the worker itself, and a #UD."""
    notes = []
    if item.leader is None:
        notes.append("no leader loop: every CPU runs every region")
    elif item.leader != item.worker:
        notes.append(f"loop runs on CPU {item.leader} ({item.case})")
    if not item.leader_core_programmed:
        notes.append("#UD: the leader's core never set RMPOPT_BASE")
    return "; ".join(notes)


def machine_summary(machine: Machine) -> str:
    return (
        f"{len(machine.present)} CPUs present, {len(machine.online)} online, "
        f"{len(machine.cores)} cores, nr_cpu_ids {machine.nr_cpu_ids}"
    )


def grouped(plans: Iterable[WorkerPlan]) -> list[tuple[list[int], WorkerPlan]]:
    """Workers that share a core and followers, for a compact table."""
    Key = tuple[int, frozenset[int], str, str]
    groups: dict[Key, list[int]] = {}
    first: dict[Key, WorkerPlan] = {}
    # Each distinct core tuple hashed once (by identity), not once per worker.
    by_id: dict[int, int] = {}
    cores: dict[tuple[int, ...], int] = {}
    for item in plans:
        core = by_id.get(id(item.worker_core))
        if core is None:
            core = by_id[id(item.worker_core)] = cores.setdefault(item.worker_core, len(cores))
        key = (core, item.removed, item.case, lead_note(item))
        groups.setdefault(key, []).append(item.worker)
        first.setdefault(key, item)
    return [(leaders, first[key]) for key, leaders in groups.items()]


def window_lines(window: Window) -> list[str]:
    """The window as the text format's first lines (end exclusive, as rmpopt_pa_end)."""
    lines = [f"window: 0x{window.start:x}-0x{window.end:x} ({window.regions} regions)"]
    if window.capped and window.uncovered_from is not None:
        lines.append(
            f"capped: memory from 0x{window.uncovered_from:x} up is not optimized "
            "(one RMPOPT table covers 2 TB from its base)"
        )
    return lines


def show_facts(view: Overview) -> list[tuple[str, str, str]]:
    """``show``'s facts beyond the CPUs, as (JSON key, label, value)."""
    facts = []
    for key, cpus in (
        ("offline_after_setup", view.hotplug.offline_after_setup),
        ("online_after_setup", view.hotplug.online_after_setup),
    ):
        if cpus:
            facts.append((key, key.replace("_", " "), format_cpulist(cpus)))
    live = view.live
    if live is not None:
        facts += [
            ("smt_control", "smt/control", live.smt_control or "(not present)"),
            ("snp_init_accepts", "SNP init accepts", "yes" if live.online_equals_present else "no"),
            ("snp_init", "SNP init", live.explanation),
        ]
    return facts


def kernel_text(kernel: Kernel | None) -> str | None:
    """The modelled kernel for a report's header, or None without ``--kernel``."""
    if kernel is None:
        return None
    from rmpplan.kernel import PROFILES

    profile = PROFILES[kernel]
    return f"{kernel} ({profile.versions}: {profile.strategy}, mask from {profile.mask})"
