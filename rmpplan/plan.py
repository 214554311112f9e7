"""Mask rules and handler strategies: which CPU runs RMPOPT, and where.

Each strategy is defined once, in its record (:mod:`rmpplan.strategies`): the
change its handler makes to a base set shared by every worker, and that base
set; :func:`dispatch` (one worker) and :func:`plan` (many) are derived from it. The words worker,
leader and followers are those of :mod:`rmpplan.terms`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rmpplan.mask_rules import apic_primaries, rmpopt_cpumask
from rmpplan.naming import named
from rmpplan.strategies import STRATEGIES, Base, Step, StepFn
from rmpplan.terms import Case, Kernel, Rule, Strategy
from rmpplan.topology.machine import Machine

__all__ = [
    "HANDLERS",
    "Case",
    "Dispatch",
    "PlanResult",
    "Rule",
    "Step",
    "Strategy",
    "WorkerPlan",
    "apic_primaries",
    "base_set",
    "dispatch",
    "plan",
    "rmpopt_cpumask",
    "siblings_in",
    "step",
]


HANDLERS: Mapping[Strategy, StepFn] = {name: item.step for name, item in STRATEGIES.items()}
"""Each strategy's handler, from its record (:mod:`rmpplan.strategies`)."""


def base_set(strategy: Strategy, mask: frozenset[int], online: frozenset[int]) -> frozenset[int]:
    """Who a strategy sends IPIs to before it drops any: the mask, or (v2) every online CPU."""
    return online if STRATEGIES[strategy].base is Base.ONLINE else mask


def step(
    strategy: Strategy,
    worker: int,
    mine: frozenset[int],
    base: frozenset[int],
    first: int | None,
) -> Step:
    """What ``strategy``'s handler does on ``worker``; ``mine`` is the worker's
    online siblings that are in ``base`` (:func:`siblings_in`), ``first`` is ``min(base)``."""
    return HANDLERS[strategy](worker, mine, base, first)


def siblings_in(
    machine: Machine, online: frozenset[int], base: frozenset[int]
) -> Callable[[int], frozenset[int]]:
    """``topology_sibling_cpumask(worker) & base`` for a worker, with ``online``
    the online set: computed once per core, so that asking for every worker
    costs O(CPUs), not O(CPUs x threads per core)."""
    found: dict[int, frozenset[int]] = {}
    core_index, cores = machine.core_index, machine.cores

    def mine(worker: int) -> frozenset[int]:
        if worker not in online:
            return frozenset()  # the kernel clears an offline CPU's sibling mask
        index = core_index(worker)
        shared = found.get(index)
        if shared is None:
            threads = cores[index].threads
            shared = found[index] = frozenset(t for t in threads if t in online and t in base)
        return shared

    return mine


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One pass as a strategy runs it from one worker CPU."""

    worker: int
    leader: int | None
    followers: frozenset[int]
    case: Case


def dispatch(
    machine: Machine,
    mask: frozenset[int],
    worker: int,
    strategy: Strategy = Strategy.V9_ANDNOT,
    online: frozenset[int] | None = None,
) -> Dispatch:
    """What ``strategy`` does when its handler runs on ``worker``, as whole sets.

    ``online`` is the online set when the handler runs (the machine's own by
    default); it decides the sibling mask and, for the all-CPU loop, who runs.
    """
    if online is None:
        online = machine.online
    base = base_set(strategy, mask, online)
    mine = siblings_in(machine, online, base)(worker)
    move = step(strategy, worker, mine, base, min(base, default=None))
    return Dispatch(worker, move.leader, base - move.removed, move.case)


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """The pass as seen from one worker (a CPU given to ``--leader``).

    ``leader`` is the CPU that runs the serial loop: the worker itself, the
    mask's first CPU in v8's case 3, or None in the all-CPU loop. The
    followers are the result's ``mask`` less ``removed``.
    """

    worker: int
    worker_core: tuple[int, ...]
    leader: int | None
    removed: frozenset[int]
    case: Case
    follower_count: int
    cores_covered: int
    leader_core_programmed: bool


@dataclass(frozen=True, slots=True)
class PlanResult:
    """``rmpopt_cpumask`` (every online CPU under v2), the plan for each worker,
    and what a reader should be warned of."""

    machine: Machine
    rule: Rule
    strategy: Strategy
    mask: frozenset[int]
    programmed_cores: int
    plans: tuple[WorkerPlan, ...]
    warnings: tuple[str, ...] = ()
    """For stderr: what makes this plan not the whole story (see ``rmpplan verify``)."""
    kernel: Kernel | None = None
    notes: tuple[str, ...] = ()
    """Part of the report: the kernel modelled and how it differs."""


def plan(
    machine: Machine,
    workers: tuple[int, ...],
    rule: Rule = Rule.FIRST_SIBLING,
    strategy: Strategy = Strategy.V9_ANDNOT,
    *,
    kernel: Kernel | None = None,
    notes: Sequence[str] = (),
) -> PlanResult:
    """The mask and, for each worker, its core, its followers and the cores covered.

    The cost is O(CPUs + cores), whatever the machine's shape: the followers
    are kept as removals from the shared mask, the workers of a core share
    one removal (:func:`siblings_in`), and what a removal leaves of each core
    is counted once per removal, from per-core counts of the mask.
    """
    online = machine.online
    # A strategy whose base is every online CPU (v2) programs them all: that is its mask.
    mask = base_set(strategy, rmpopt_cpumask(machine, rule), online)
    core_index = machine.core_index
    # Every strategy sends IPIs only to CPUs that programmed RMPOPT_BASE, so the
    # mask's cores are programmed; a profile may program more (v3: every online CPU).
    in_mask: Counter[int] = Counter(core_index(cpu) for cpu in mask)
    from rmpplan.kernel import programming

    programmed = {core_index(cpu) for cpu in programming(kernel, strategy, mask, online)}
    first = min(mask, default=None)
    mine = siblings_in(machine, online, mask)
    # removed -> (mask CPUs it leaves in each core it touches, cores it empties)
    effects: dict[frozenset[int], tuple[dict[int, int], int]] = {}
    plans = []
    for worker in workers:
        move = step(strategy, worker, mine(worker), mask, first)
        effect = effects.get(move.removed)
        if effect is None:
            left = {core_index(cpu): in_mask[core_index(cpu)] for cpu in move.removed}
            for cpu in move.removed:
                left[core_index(cpu)] -= 1
            effect = effects[move.removed] = (left, sum(1 for n in left.values() if n == 0))
        left, emptied = effect
        covered = len(in_mask) - emptied
        leader_core = None if move.leader is None else core_index(move.leader)
        if leader_core in programmed and left.get(leader_core, in_mask[leader_core]) == 0:
            covered += 1
        plans.append(
            WorkerPlan(
                worker=worker,
                worker_core=machine.sibling_mask(worker),
                leader=move.leader,
                removed=move.removed,
                case=move.case,
                follower_count=len(mask) - len(move.removed),
                cores_covered=covered,
                leader_core_programmed=leader_core is None or leader_core in programmed,
            )
        )
    return PlanResult(
        machine,
        rule,
        strategy,
        mask,
        len(programmed),
        tuple(plans),
        _warnings(machine, rule, plans),
        kernel,
        tuple(notes),
    )


def _warnings(machine: Machine, rule: Rule, plans: list[WorkerPlan]) -> tuple[str, ...]:
    from rmpplan.cpumask import format_cpulist

    found = []
    offline = machine.present - machine.online
    if offline:
        found.append(
            f"{machine.name}: {len(offline)} present CPU(s) are offline; SNP init would "
            "refuse this machine (see `rmpplan verify`)"
        )
    if machine.hotplug:
        found.append(
            f"{machine.name}: the file's hotplug scenario is ignored here; the plan is the "
            "one made at setup (`rmpplan verify` checks the scenario)"
        )
    unprogrammed = [item.worker for item in plans if not item.leader_core_programmed]
    if unprogrammed:
        found.append(
            f"leader CPU {format_cpulist(unprogrammed)}: the core has no CPU in rmpopt_cpumask "
            f"under {rule}, so RMPOPT there raises #UD (see `verify` with {named('rule')} {rule})"
        )
    return tuple(found)
