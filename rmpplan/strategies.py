"""One record per handler strategy: everything the planner, the validator, the
replay and the kernel profiles need to know about it, in one place.

A record holds the strategy's step (the change its handler makes to a base set
shared by every worker), that base set, whether it programs every online CPU
and builds no mask (so the mask rule and the mask checks do not apply),
whether it can lead on another CPU than the worker (so ``leader-online``
applies), the branches worth counting, its notes, and the kernel lines
``explain`` shows for each branch. :mod:`rmpplan.plan`, :mod:`rmpplan.checks`,
:mod:`rmpplan.explain` and :mod:`rmpplan.kernel` read these records and never
test for a strategy by name. This module imports nothing but the vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from rmpplan.terms import Case, Check, Strategy

__all__ = [
    "STRATEGIES",
    "Base",
    "Line",
    "Step",
    "StepFn",
    "StrategyRecord",
    "record",
]


@dataclass(frozen=True, slots=True)
class Step:
    """A strategy's pass from one worker, as a change to the base set shared by
    all workers: ``leader`` runs the serial loop (None: nobody does), and the
    followers are ``base - removed``."""

    leader: int | None
    removed: frozenset[int]
    case: Case


StepFn = Callable[[int, frozenset[int], frozenset[int], "int | None"], Step]
"""(worker, its online siblings in base, base, ``min(base)``) -> the step.

The second argument, ``topology_sibling_cpumask(worker) & base``, is the same
for every worker of a core: callers compute it once per core
(:func:`rmpplan.plan.siblings_in`), so that a step costs O(1) whatever the
core's size and the workers of one core share one ``removed`` set.
"""


def _v9_andnot(worker: int, mine: frozenset[int], base: frozenset[int], first: int | None) -> Step:
    # cpumask_andnot(follower_mask, rmpopt_cpumask, topology_sibling_cpumask(this_cpu))
    return Step(worker, mine, Case.ANDNOT)


def _clear_cpu(worker: int, mine: frozenset[int], base: frozenset[int], first: int | None) -> Step:
    # v3-v5: cpumask_clear_cpu(this_cpu, mask); right only on the core's mask CPU.
    return Step(worker, frozenset({worker}) & base, Case.CLEAR_CPU)


def _v2_all_cpus(
    worker: int, mine: frozenset[int], base: frozenset[int], first: int | None
) -> Step:
    # v2: on_each_cpu_mask(cpu_online_mask) per region, no leader loop.
    return Step(None, frozenset(), Case.ALL_CPUS)


def _v8_three_way(
    worker: int, mine: frozenset[int], base: frozenset[int], first: int | None
) -> Step:
    if worker in base:  # (1) this_cpu is in the mask: clear it
        return Step(worker, frozenset({worker}), Case.CASE_1)
    if mine:  # (2) a sibling is: drop the whole core
        return Step(worker, mine, Case.CASE_2)
    # (3) neither: the mask's first CPU leads via work_on_cpu (nobody when it is empty).
    return Step(first, frozenset() if first is None else frozenset({first}), Case.CASE_3)


class Base(StrEnum):
    """Who a strategy sends IPIs to before it drops any."""

    MASK = "mask"
    """rmpopt_cpumask, built by the rule from the CPUs online at setup."""
    ONLINE = "online"
    """Every CPU online when the handler runs (cpu_online_mask)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One kernel line ``explain`` shows, as a template.

    ``code``, ``result`` and ``note`` are :meth:`str.format` templates over the
    names the replay supplies: ``w`` (the worker), ``sib``
    (``topology_sibling_cpumask(w)``), ``mask`` (the mask's name in this
    version), ``copy`` (the mask CPUs), ``follow`` (the followers), ``first``
    (the leader case 3 picks, in words), ``leader``, ``online`` and ``followers``
    (the name of the mask the followers are sent from).
    """

    code: str
    result: str = ""
    note: str = ""
    copy: bool | None = None
    """Shown only when the handler works on a local copy (True) or on the
    global mask itself (False); None: always."""
    leader: bool = False
    """Shown only when there is a leader."""


_COPY = Line("cpumask_copy(follower_mask, rmpopt_cpumask)", "{copy}")


@dataclass(frozen=True, slots=True)
class StrategyRecord:
    """Everything about one strategy; see the module's docstring."""

    strategy: Strategy
    step: StepFn
    base: Base = Base.MASK
    programs_online: bool = False
    """RMPOPT_BASE is written on every CPU online at setup, not only on the mask."""
    has_mask: bool = True
    """It builds rmpopt_cpumask, so the rule and the mask checks apply."""
    leads_elsewhere: bool = False
    """Its leader can be another CPU than the worker, which may be offline."""
    branches: tuple[Case, ...] = ()
    """Branches whose use the notes count (taken by how many workers, or unreachable)."""
    rare_branch: Case | None = None
    """A branch that ``explain`` shows how to reach when this machine never takes it."""
    note: str | None = None
    """What every verdict under this strategy says."""
    setup_note: str = ""
    """Why ``explain``'s setup programs every online CPU, when this strategy does."""
    lines: Mapping[Case, tuple[Line, ...]] = field(default_factory=dict)
    """The handler's lines for each branch, between the sibling mask and the leader loop."""
    loop: Line | None = None
    """The one line of a strategy with no leader loop and no follower IPIs (v2)."""
    twice: str = ""
    """Why a core runs twice when the leader's core keeps its mask CPU (a template)."""

    @property
    def mask_checks(self) -> frozenset[Check]:
        """The checks about the mask itself, which apply only when there is one."""
        if not self.has_mask:
            return frozenset()
        return frozenset({Check.ONE_MASK_CPU_PER_CORE, Check.MASK_WITHIN_ONLINE})

    def skipped(self) -> frozenset[Check]:
        """The checks that do not apply to this strategy."""
        skipped = {Check.ONE_MASK_CPU_PER_CORE, Check.MASK_WITHIN_ONLINE} - self.mask_checks
        if not self.leads_elsewhere:
            skipped.add(Check.LEADER_ONLINE)
        return frozenset(skipped)


STRATEGIES: Mapping[Strategy, StrategyRecord] = {
    Strategy.V9_ANDNOT: StrategyRecord(
        Strategy.V9_ANDNOT,
        _v9_andnot,
        lines={
            Case.ANDNOT: (Line("cpumask_andnot(follower_mask, rmpopt_cpumask, {sib})", "{follow}"),)
        },
    ),
    Strategy.V8_THREE_WAY: StrategyRecord(
        Strategy.V8_THREE_WAY,
        _v8_three_way,
        leads_elsewhere=True,
        branches=(Case.CASE_1, Case.CASE_2, Case.CASE_3),
        rare_branch=Case.CASE_3,
        lines={
            Case.CASE_1: (
                _COPY,
                Line("cpumask_test_cpu({w}, follower_mask)", "true", "case 1"),
                Line("cpumask_clear_cpu({w}, follower_mask)", "{follow}"),
            ),
            Case.CASE_2: (
                _COPY,
                Line("cpumask_test_cpu({w}, follower_mask)", "false"),
                Line("cpumask_intersects({sib}, follower_mask)", "true", "case 2"),
                Line("cpumask_andnot(follower_mask, follower_mask, {sib})", "{follow}"),
            ),
            Case.CASE_3: (
                _COPY,
                Line("cpumask_test_cpu({w}, follower_mask)", "false"),
                Line("cpumask_intersects({sib}, follower_mask)", "false", "case 3"),
                Line("leader = cpumask_first(follower_mask)", "{first}"),
                Line("cpumask_clear_cpu({leader}, follower_mask)", "{follow}", leader=True),
            ),
        },
    ),
    Strategy.CLEAR_CPU: StrategyRecord(
        Strategy.CLEAR_CPU,
        _clear_cpu,
        lines={
            Case.CLEAR_CPU: (
                # v3-v5 clear the worker from the global mask itself and send to what is left.
                Line(
                    "cpumask_clear_cpu({w}, &{mask})",
                    "{follow}",
                    "the global mask itself; only the worker is cleared, not its siblings",
                    copy=False,
                ),
                Line(_COPY.code, _COPY.result, copy=True),
                Line(
                    "cpumask_clear_cpu({w}, follower_mask)",
                    "{follow}",
                    "only the worker is cleared, not its siblings",
                    copy=True,
                ),
            )
        },
        twice="; cpumask_clear_cpu({leader}, {followers}) removed only the worker, "
        "not its core's mask CPU",
    ),
    Strategy.V2_ALL_CPUS: StrategyRecord(
        Strategy.V2_ALL_CPUS,
        _v2_all_cpus,
        base=Base.ONLINE,
        programs_online=True,
        has_mask=False,
        note="v2 programs and runs every online CPU; the rule does not apply",
        setup_note="v2 programs every online CPU; there is no rmpopt_cpumask",
        lines={Case.ALL_CPUS: ()},
        loop=Line(
            "on_each_cpu_mask(cpu_online_mask, rmpopt_smp, pa, true), every region",
            "{online}",
            "every online CPU runs every region; there is no leader loop",
        ),
    ),
}
"""Each strategy's record, defined once; a test holds it total over :class:`Strategy`."""


def record(strategy: Strategy) -> StrategyRecord:
    """The record of ``strategy``."""
    return STRATEGIES[strategy]
