"""Mask rules and handler strategies: which CPU runs RMPOPT, and where.

Each strategy is a small model of what one version of the Linux handler did
for the worker CPU the (unbound) workqueue happened to run it on:

* ``v9-andnot``: followers = mask andnot topology_sibling_cpumask(worker);
  the worker leads locally.
* ``v8-three-way``: (1) worker in the mask → clear_cpu(worker); (2) a
  sibling in the mask → andnot; (3) neither → the mask's first CPU leads
  through work_on_cpu and is cleared from the followers.
* ``clear-cpu``: followers = mask with only the worker cleared; the worker
  leads locally (right only when the worker is its core's mask CPU).
* ``v2-all-cpus``: no leader; every online CPU runs every region.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from rmpplan.errors import InputError
from rmpplan.topology.machine import NR_CPUS_MAX, Machine


class Rule(StrEnum):
    """How ``rmpopt_cpumask`` picks one thread per core."""

    FIRST_SIBLING = "first-sibling"
    """cpumask_first(topology_sibling_cpumask(cpu)): the lowest online thread of each core."""
    APIC_PRIMARY = "apic-primary"
    """topology_is_primary_thread(): online CPUs whose APIC id has the SMT bits clear."""


class Strategy(StrEnum):
    """Which version of the handler runs the pass."""

    V9_ANDNOT = "v9-andnot"
    V8_THREE_WAY = "v8-three-way"
    CLEAR_CPU = "clear-cpu"
    V2_ALL_CPUS = "v2-all-cpus"


def rmpopt_cpumask(
    machine: Machine, rule: Rule = Rule.FIRST_SIBLING, online: frozenset[int] | None = None
) -> frozenset[int]:
    """The CPUs that program RMPOPT_BASE and receive the followers' IPIs.

    ``online`` is the online set when the mask is built (the machine's own by
    default).
    """
    if online is None:
        online = machine.online
    if rule is Rule.FIRST_SIBLING:
        firsts = (next((t for t in core.threads if t in online), None) for core in machine.cores)
        return frozenset(cpu for cpu in firsts if cpu is not None)
    return apic_primaries(machine) & online


def apic_primaries(machine: Machine) -> frozenset[int]:
    """``cpu_primary_thread_mask``: CPUs with ``apic_id & (max_threads - 1) == 0``.

    The kernel decides this from the APIC id alone, whatever the CPU's number
    or online state; the SMT width is the machine's widest core, a power of two
    on x86, so it is rounded up to one here.
    """
    missing = next((cpu.id for cpu in machine.cpus.values() if cpu.apic_id is None), None)
    if missing is not None:
        raise InputError(f"the apic-primary rule needs apic_id, and CPU {missing} has none")
    smt_mask = (1 << (machine.max_threads_per_core() - 1).bit_length()) - 1
    return frozenset(
        cpu.id
        for cpu in machine.cpus.values()
        if cpu.apic_id is not None and cpu.apic_id & smt_mask == 0
    )


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One pass as a strategy runs it from one worker CPU.

    ``leaders`` run the whole range serially first (one CPU, or none for the
    all-CPU loop); ``followers`` are then sent one IPI per region.
    """

    worker: int
    leaders: frozenset[int]
    followers: frozenset[int]
    case: str


def dispatch(
    machine: Machine,
    mask: frozenset[int],
    worker: int,
    strategy: Strategy = Strategy.V9_ANDNOT,
    online: frozenset[int] | None = None,
) -> Dispatch:
    """What ``strategy`` does when its handler runs on ``worker``.

    ``online`` is the online set when the handler runs (the machine's own by
    default); it decides the sibling mask and, for the all-CPU loop, who runs.
    """
    if online is None:
        online = machine.online
    siblings = frozenset(machine.sibling_mask(worker, online))
    if strategy is Strategy.V9_ANDNOT:
        return Dispatch(worker, frozenset({worker}), mask - siblings, "andnot")
    if strategy is Strategy.CLEAR_CPU:
        return Dispatch(worker, frozenset({worker}), mask - {worker}, "clear_cpu")
    if strategy is Strategy.V2_ALL_CPUS:
        return Dispatch(worker, frozenset(), online, "all-cpus")
    if worker in mask:
        return Dispatch(worker, frozenset({worker}), mask - {worker}, "case 1")
    if siblings & mask:
        return Dispatch(worker, frozenset({worker}), mask - siblings, "case 2")
    # Case 3: the mask's first CPU leads (none at all when the mask is empty).
    leaders = frozenset({min(mask)}) if mask else frozenset()
    return Dispatch(worker, leaders, mask - leaders, "case 3")


@dataclass(frozen=True, slots=True)
class Step:
    """A strategy's pass from one worker, as a change to a base set shared by
    all workers: the followers are ``base - removed``.

    This is :func:`dispatch` in the form that lets many workers be planned or
    proved without copying the mask for each; a property test holds the two
    equal.
    """

    lead: int | None
    removed: frozenset[int]
    case: str


def base_set(strategy: Strategy, mask: frozenset[int], online: frozenset[int]) -> frozenset[int]:
    """Who a strategy sends IPIs to before it drops any: the mask, or (v2) every CPU."""
    return online if strategy is Strategy.V2_ALL_CPUS else mask


def step(
    strategy: Strategy,
    worker: int,
    siblings: frozenset[int],
    base: frozenset[int],
    lowest: int | None,
) -> Step:
    """:func:`dispatch` as a change to ``base``; ``lowest`` is ``min(base)``."""
    if strategy is Strategy.V9_ANDNOT:
        return Step(worker, siblings & base, "andnot")
    if strategy is Strategy.CLEAR_CPU:
        return Step(worker, frozenset({worker}) & base, "clear_cpu")
    if strategy is Strategy.V2_ALL_CPUS:
        return Step(None, frozenset(), "all-cpus")
    if worker in base:
        return Step(worker, frozenset({worker}), "case 1")
    if siblings & base:
        return Step(worker, siblings & base, "case 2")
    return Step(lowest, frozenset() if lowest is None else frozenset({lowest}), "case 3")


@dataclass(frozen=True, slots=True)
class LeaderPlan:
    """The pass as seen from one requested leader (the CPU the handler runs on).

    ``lead`` is the CPU that runs the serial loop: the leader itself, the
    mask's first CPU in v8's case 3, or none in the all-CPU loop. The
    followers are the result's ``base`` less ``removed``.
    """

    leader: int
    leader_core: tuple[int, ...]
    lead: int | None
    removed: frozenset[int]
    case: str
    follower_count: int
    cores_covered: int
    lead_core_programmed: bool


@dataclass(frozen=True, slots=True)
class PlanResult:
    """``rmpopt_cpumask`` and the plan for each requested leader."""

    machine: Machine
    rule: Rule
    strategy: Strategy
    mask: frozenset[int]
    base: frozenset[int]
    programmed_cores: int
    plans: tuple[LeaderPlan, ...]

    def followers(self, item: LeaderPlan) -> frozenset[int]:
        return self.base - item.removed


def parse_leaders(machine: Machine, spec: str) -> tuple[int, ...]:
    """``all`` (every online CPU) or a kernel cpulist of online CPUs."""
    from rmpplan.cpumask import parse_cpulist

    if spec.strip().lower() == "all":
        return tuple(sorted(machine.online))
    try:
        leaders = parse_cpulist(spec, NR_CPUS_MAX)
    except InputError as err:
        raise InputError(f"--leader: {err.message}") from None
    if not leaders:
        raise InputError("--leader names no CPU")
    for cpu in sorted(leaders):
        if cpu not in machine.cpus:
            raise InputError(f"--leader: CPU {cpu} is not a CPU of {machine.name}")
        if cpu not in machine.online:
            raise InputError(f"--leader: CPU {cpu} is offline in {machine.name}")
    return tuple(sorted(leaders))


def plan(
    machine: Machine,
    leaders: tuple[int, ...],
    rule: Rule = Rule.FIRST_SIBLING,
    strategy: Strategy = Strategy.V9_ANDNOT,
) -> PlanResult:
    """The mask and, for each leader, its core, its followers and the cores covered.

    The cost is O(CPUs + the CPUs each leader removes), not O(leaders x
    mask): the followers are kept as removals from a shared base, and the
    covered cores are counted from per-core counts of that base.
    """
    online = machine.online
    # v2 programs every online CPU, so that is its mask; the others use the rule's.
    mask = base_set(strategy, rmpopt_cpumask(machine, rule), online)
    base = mask
    core_index = machine.core_index
    # Each strategy sends IPIs only to CPUs that programmed RMPOPT_BASE (the
    # mask, or every online CPU in v2), so the base's cores are the programmed ones.
    in_base: Counter[int] = Counter(core_index(cpu) for cpu in base)
    programmed = set(in_base)
    covered_by_base = len(programmed)
    lowest = min(base) if base else None
    plans = []
    for leader in leaders:
        siblings = machine.sibling_mask(leader)
        move = step(strategy, leader, frozenset(siblings), base, lowest)
        left = {core_index(cpu): in_base[core_index(cpu)] for cpu in move.removed}
        for cpu in move.removed:
            left[core_index(cpu)] -= 1
        covered = covered_by_base - sum(
            1 for core, count in left.items() if count == 0 and core in programmed
        )
        lead_core = None if move.lead is None else core_index(move.lead)
        if lead_core in programmed and left.get(lead_core, in_base[lead_core]) == 0:
            covered += 1
        plans.append(
            LeaderPlan(
                leader=leader,
                leader_core=siblings,
                lead=move.lead,
                removed=move.removed,
                case=move.case,
                follower_count=len(base) - len(move.removed),
                cores_covered=covered,
                lead_core_programmed=lead_core is None or lead_core in programmed,
            )
        )
    return PlanResult(machine, rule, strategy, mask, base, len(programmed), tuple(plans))
