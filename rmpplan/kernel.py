"""Kernel profiles: which mask rule, handler and hotplug semantics one version
of the RMPOPT series has, so a user can ask about "the kernel I run".

Every row is taken from the brief's history (section 2) and the hotplug
review (section 3); docs/checks.md shows the same table with the kernel
functions behind each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from rmpplan.naming import named
from rmpplan.strategies import STRATEGIES
from rmpplan.terms import Kernel, Rule, Strategy

__all__ = [
    "LANDED",
    "PROFILES",
    "Handler",
    "Kernel",
    "LeaderCall",
    "Modelled",
    "Profile",
    "case3_call",
    "kernel_notes",
    "modelled",
    "programming",
]

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine


LANDED = Kernel.V10
"""The version reported applied to the x86 tip tree (September 2026)."""


class LeaderCall(StrEnum):
    """How v8-three-way's case 3 runs the leader loop on the mask's first CPU."""

    IPI = "smp_call_function_single"
    """v6-v7: one IPI that waits. generic_exec_single() (kernel/smp.c) returns
    -ENXIO for an offline CPU, so the loop never runs."""
    WORK_ON_CPU = "work_on_cpu"
    """v8: queued on that CPU's per-CPU pool and waited for. The pool of an
    offline CPU is DISASSOCIATED, its workers "may be executing on any CPU"
    (kernel/workqueue.c), so the loop runs on a CPU nobody chose."""


@dataclass(frozen=True, slots=True)
class Handler:
    """How a version's handler spells its steps, for ``explain``: which mask it
    clears and sends to, whether it works on a local copy, and how it pins the
    worker for the leader loop."""

    mask: str = "rmpopt_cpumask"
    local_copy: bool = True
    """v6 on: cpumask_copy(follower_mask, ...); before, the global mask itself."""
    pin: str | None = "migrate_disable()"
    """What keeps the leader loop on the worker; None when nothing does."""
    restores: bool = False
    """The worker's bit is set again in the global mask after the pass (v4-v5)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """What one kernel does: its mask rule, its handler, and whether CPU
    hotplug can change the online set after the mask is built."""

    kernel: Kernel
    versions: str
    rule: Rule
    strategy: Strategy
    mask: str
    """How the kernel builds ``rmpopt_cpumask``, in its own words."""
    hotplug_guard: str | None
    """The kernel function that keeps every CPU online after setup; None when
    nothing does, so a hotplug scenario is judged as a real event."""
    case3: LeaderCall | None = None
    """How case 3 reaches its leader, for the versions that have a case 3."""
    handler: Handler = Handler()
    programs_online: bool = False
    """RMPOPT_BASE is written on every CPU online at setup, not only on the mask."""
    note: str | None = None
    """What a report under this profile should say about how well it is known."""


PROFILES: dict[Kernel, Profile] = {
    Kernel.V2: Profile(
        Kernel.V2,
        "v2",
        Rule.FIRST_SIBLING,  # unused: v2 programs and runs every online CPU
        Strategy.V2_ALL_CPUS,
        "every online CPU (no mask)",
        None,
    ),
    Kernel.V3: Profile(
        Kernel.V3,
        "v3",
        Rule.APIC_PRIMARY,
        Strategy.CLEAR_CPU,
        "online CPUs with topology_is_primary_thread() (primary_threads_cpumask), "
        "for the pass only",
        None,
        handler=Handler("primary_threads_cpumask", local_copy=False, pin=None),
        programs_online=True,
        note="v3 as modelled: the pass (v3 3/6: a delayed work item every 10 s; leader "
        "smp_processor_id(), cleared from a global primary_threads_cpumask built with "
        "topology_is_primary_thread()) is from the posting and the brief; which CPUs v3 2/6 "
        "programmed RMPOPT_BASE on could not be established from the posting. rmpplan "
        "models every CPU online at setup, as v2 did, since v4 is the first version whose "
        "rmpopt_cpumask programs the MSR as well as running the loop",
    ),
    Kernel.V4: Profile(
        Kernel.V4,
        "v4-v5",
        Rule.APIC_PRIMARY,
        Strategy.CLEAR_CPU,
        "online CPUs with topology_is_primary_thread()",
        None,
        handler=Handler(
            local_copy=False, pin="migrate_disable() in v5; v4 does not pin", restores=True
        ),
    ),
    Kernel.V6: Profile(
        Kernel.V6,
        "v6-v7",
        Rule.APIC_PRIMARY,
        Strategy.V8_THREE_WAY,
        "online CPUs with topology_is_primary_thread()",
        None,
        LeaderCall.IPI,
    ),
    Kernel.V8: Profile(
        Kernel.V8,
        "v8",
        Rule.APIC_PRIMARY,
        Strategy.V8_THREE_WAY,
        "online CPUs with topology_is_primary_thread()",
        "cpu_hotplug_disable() in the CCP driver once SNP_INIT succeeds, before "
        "snp_setup_rmpopt() builds the mask (v8 patch 3)",
        LeaderCall.WORK_ON_CPU,
    ),
    Kernel.V9: Profile(
        Kernel.V9,
        "v9",
        Rule.APIC_PRIMARY,
        Strategy.V9_ANDNOT,
        "online CPUs with topology_is_primary_thread()",
        "cpu_hotplug_disable() once SNP_INIT succeeds, before snp_setup_rmpopt() builds the mask",
    ),
    Kernel.V10: Profile(
        Kernel.V10,
        "v10",
        Rule.APIC_PRIMARY,
        Strategy.V9_ANDNOT,
        "online CPUs with topology_is_primary_thread()",
        "cpu_hotplug_disable() in snp_prepare(), before SNP is enabled and before the "
        "online == present check; re-enabled only on failure or in snp_shutdown()",
    ),
}


@dataclass(frozen=True, slots=True)
class Modelled:
    """The rule, strategy and hotplug semantics a command models, and why."""

    kernel: Kernel | None
    rule: Rule
    strategy: Strategy
    overrides: tuple[str, ...] = ()
    """What-if notes: a --rule or --strategy that replaced the profile's."""
    judge_landed: bool = False
    """Nothing was asked for (no kernel, rule or strategy): ``verify`` also judges
    the kernel as landed, so that the default rule cannot pass a machine on
    which the kernel people run fails (rmpplan.landed)."""

    @property
    def profile(self) -> Profile | None:
        return None if self.kernel is None else PROFILES[self.kernel]

    @property
    def hotplug_guard(self) -> str | None:
        """Why a hotplug scenario cannot happen here, or None when it can."""
        profile = self.profile
        return None if profile is None else profile.hotplug_guard


def modelled(
    kernel: Kernel | None, rule: Rule | None = None, strategy: Strategy | None = None
) -> Modelled:
    """Resolve ``--kernel``, ``--rule`` and ``--strategy``: the flags win over the
    profile (and say so), the profile over the defaults (first-sibling, v9-andnot)."""
    if kernel is None:
        asked = rule is not None or strategy is not None
        return Modelled(
            None,
            rule or Rule.FIRST_SIBLING,
            strategy or Strategy.V9_ANDNOT,
            judge_landed=not asked,
        )
    profile = PROFILES[kernel]
    overrides = []
    if rule is not None and rule is not profile.rule:
        overrides.append(f"{named('rule')} {rule} replaces {kernel}'s {profile.rule} (what-if)")
    if strategy is not None and strategy is not profile.strategy:
        overrides.append(
            f"{named('strategy')} {strategy} replaces {kernel}'s {profile.strategy} (what-if)"
        )
    return Modelled(kernel, rule or profile.rule, strategy or profile.strategy, tuple(overrides))


def programming(
    kernel: Kernel | None, strategy: Strategy, mask: frozenset[int], online: frozenset[int]
) -> frozenset[int]:
    """The CPUs that write RMPOPT_BASE at setup: the mask, or every CPU online then
    under a strategy that programs them all (v2's all-CPU handler, see its record)
    and under a profile that does (v3)."""
    everyone = kernel is not None and PROFILES[kernel].programs_online
    return online if everyone or STRATEGIES[strategy].programs_online else mask


def case3_call(kernel: Kernel | None) -> LeaderCall:
    """How case 3 reaches its leader under ``kernel``: the profile's own call,
    else ``work_on_cpu()`` of v8, whose handler the v8-three-way strategy is named for."""
    profile = None if kernel is None else PROFILES[kernel]
    if profile is None or profile.case3 is None:
        return LeaderCall.WORK_ON_CPU
    return profile.case3


def landed_mask_note(machine: Machine, rule: Rule) -> str | None:
    """Without ``--kernel``: a note when the kernel as landed would build another
    mask on this machine (naming the cores), or cannot be judged; None when the same."""
    if rule is PROFILES[LANDED].rule:
        return None
    from rmpplan.cpumask import format_cpulist
    from rmpplan.mask_rules import apic_primaries, rmpopt_cpumask

    if any(cpu.apic_id is None for cpu in machine.cpus.values()):
        return (
            f"the kernel as landed ({LANDED}) builds the mask from APIC primary threads; "
            "this input has no APIC ids, so whether its mask differs cannot be judged"
        )
    ours = rmpopt_cpumask(machine, rule)
    landed = apic_primaries(machine) & machine.online
    if ours == landed:
        return None
    cores = sorted({machine.core_index(cpu) for cpu in ours ^ landed})
    firsts = format_cpulist(machine.cores[index].first for index in cores)
    return (
        f"the kernel as landed ({LANDED}, {named('kernel')} {LANDED}) builds another mask here: "
        f"{format_cpulist(landed)} instead of {format_cpulist(ours)}; the {len(cores)} "
        f"core(s) that differ start at CPU(s) {firsts}"
    )


def kernel_notes(machine: Machine, model: Modelled) -> tuple[str, ...]:
    """The notes a report carries about the kernel it models: what-if overrides,
    and without ``--kernel`` whether the kernel as landed would differ here."""
    notes = list(model.overrides)
    profile = model.profile
    if profile is not None and profile.note is not None:
        notes.insert(0, profile.note)
    if model.kernel is None and STRATEGIES[model.strategy].has_mask:
        landed = landed_mask_note(machine, model.rule)
        if landed is not None:
            notes.append(landed)
    return tuple(notes)
