"""Facts every renderer shows the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from rmpplan.cpumask import CpulistMinus, format_cpulist, format_hexmask
from rmpplan.terms import Check, Rule, Strategy

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import MachineFacts
    from rmpplan.memory import Window
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult, WorkerPlan
    from rmpplan.tally import Group, Summary
    from rmpplan.terms import Kernel
    from rmpplan.topology.machine import Machine

SCHEMA_VERSION = 2
"""Bumped when a documented JSON value changes meaning (see docs/json.md)."""


def config_line(config: Path | None) -> str:
    """The header line of a verify report: the configuration file used, or none."""
    return f"config: {'none' if config is None else config}"


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


def machine_summary(machine: Machine | MachineFacts) -> str:
    """``N CPUs present, N online, N cores, nr_cpu_ids N`` of a machine or of
    the facts a ``verify`` result keeps about one."""
    from rmpplan.checks import MachineFacts  # the core, only when a report is made

    if not isinstance(machine, MachineFacts):
        machine = MachineFacts.of(machine)
    return (
        f"{machine.present} CPUs present, {machine.online} online, "
        f"{machine.cores} cores, nr_cpu_ids {machine.nr_cpu_ids}"
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


def grouping(rows: Sequence[tuple[list[int], WorkerPlan]], plans: int) -> str | None:
    """What a plan's title says when :func:`grouped` merged rows; None when it did not.

    Under the andnot strategies a leader's followers depend only on its core,
    so every row is a core; v8's branches can split a core's leaders.
    """
    if len(rows) == plans:
        return None
    if len({item.worker_core for _, item in rows}) == len(rows):
        return "one row per leader core"
    return "leaders that share a core and followers share a row"


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


def rule_text(rule: Rule, strategy: Strategy) -> str:
    """The mask rule as a report shows it: ``none`` under v2-all-cpus, which has no mask
    (JSON says null)."""
    from rmpplan.strategies import STRATEGIES

    return str(rule) if STRATEGIES[strategy].has_mask else "none"


def kernel_text(kernel: Kernel | None) -> str | None:
    """The modelled kernel for a report's header, or None without ``--kernel``."""
    if kernel is None:
        return None
    from rmpplan.kernel import PROFILES

    profile = PROFILES[kernel]
    return f"{kernel} ({profile.versions}: {profile.strategy}, mask from {profile.mask})"


# What most often causes each check to fail across a fleet: the hint a summary
# line ends with. The dmesg checks compare one log with one machine, so their
# invariant is the best hint.
_CAUSES = {
    Check.ONLINE_EQUALS_PRESENT: "present CPUs offline: nosmt, maxcpus= or a CPU taken offline?",
    Check.ONE_MASK_CPU_PER_CORE: "a core with no mask CPU, or two: offline primary threads?",
    Check.MASK_WITHIN_ONLINE: "mask CPUs offline when the handler runs: hotplug after setup",
    Check.FOLLOWERS_WITHIN_MASK: "IPIs to CPUs that never set RMPOPT_BASE: hotplug after setup",
    Check.LEADER_ONLINE: "case 3 leads on an offline CPU: hotplug after setup",
    Check.UNPROGRAMMED_CORE: "#UD: RMPOPT on a core that never set RMPOPT_BASE",
    Check.FOLLOWERS_EXCLUDE_LEADER_CORE: "the leader's core is also a follower's",
    Check.CORE_MISSED: "a programmed core is never optimized",
    Check.CORE_RUN_TWICE: "a core runs every region twice",
    Check.LANDED_KERNEL: "the kernel as landed (APIC primary threads) fails here",
}


def counted(count: int, noun: str) -> str:
    """``1 input``, ``3 inputs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_head(summary: Summary) -> str:
    """``1001 inputs: 1000 ok, 1 failed, 0 bad input; 2 shapes``."""
    return (
        f"{counted(summary.files, 'input')}: {summary.ok} ok, {summary.failed} failed, "
        f"{summary.bad_input} bad input; {counted(summary.shapes, 'shape')}"
    )


def group_line(group: Group) -> str:
    """``3 inputs, 1 shape: online-equals-present (present CPUs offline: ...)``."""
    cause = (
        "stale expectation: it passed, remove the expectation"
        if group.stale
        else _CAUSES.get(group.check, group.check.summary)
    )
    sizes = f"{counted(group.inputs, 'input')}, {counted(group.shapes, 'shape')}"
    return f"{sizes}: {group.check} ({cause})"
