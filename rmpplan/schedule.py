"""One RMPOPT pass laid out in time: the leader's serial loop, then one IPI
round per 1 GB region to the followers, counted and costed per strategy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cost import CostModel, PhaseCost, estimate
from rmpplan.memory import SZ_2T, Window
from rmpplan.plan import dispatch, rmpopt_cpumask
from rmpplan.terms import Case, Kernel, Rule, Strategy
from rmpplan.topology.machine import Machine

if TYPE_CHECKING:
    from rmpplan.checks import Finding


@dataclass(frozen=True, slots=True)
class StrategySchedule:
    """What one strategy does in one pass from one worker CPU."""

    strategy: Strategy
    rule: Rule
    case: Case
    leaders: tuple[int, ...]
    follower_count: int
    rmpopt_executions: int
    ipis: int
    per_core_min: int
    per_core_max: int
    in_window: bool
    cost: PhaseCost


def schedule(
    machine: Machine,
    worker: int,
    window: Window,
    *,
    rule: Rule = Rule.FIRST_SIBLING,
    strategies: Iterable[Strategy] = tuple(Strategy),
    model: CostModel | None = None,
) -> tuple[StrategySchedule, ...]:
    """Count and cost one pass over ``window`` for each strategy.

    Every core's RMPOPT_BASE is the window's start (v2-v9 program one base
    for all), so an address is covered when it lies in [start, start + 2 TB).
    """
    model = model or CostModel()
    mask = rmpopt_cpumask(machine, rule)
    regions = window.regions
    # Addresses run from start to end - 1 GB; both ends must be in the table.
    in_window = window.start <= window.end and window.end <= window.start + SZ_2T
    results = []
    for strategy in strategies:
        step = dispatch(machine, mask, worker, strategy)
        leaders = () if step.leader is None else (step.leader,)
        targets = step.followers & machine.online
        per_core: Counter[int] = Counter(
            {index: 0 for index, c in enumerate(machine.cores) if c.online_threads}
        )
        for cpu in leaders:
            per_core[machine.core_index(cpu)] += regions
        for cpu in targets:
            per_core[machine.core_index(cpu)] += regions
        # on_each_cpu_mask runs the function locally, without an IPI, on the
        # calling CPU when it is in the mask (only the all-CPU loop does that).
        ipis = len(targets - {worker}) * regions
        cost = estimate(
            model,
            regions=regions,
            leader_runs=len(leaders) * regions,
            follower_rounds=regions if targets else 0,
            followers_per_round=len(targets),
            leader_scans=bool(leaders),
        )
        results.append(
            StrategySchedule(
                strategy=strategy,
                rule=rule,
                case=step.case,
                leaders=leaders,
                follower_count=len(targets),
                rmpopt_executions=sum(per_core.values()),
                ipis=ipis,
                per_core_min=min(per_core.values(), default=0),
                per_core_max=max(per_core.values(), default=0),
                in_window=in_window,
                cost=cost,
            )
        )
    return tuple(results)


@dataclass(frozen=True, slots=True)
class ScheduleReport:
    """A pass from one worker over one memory window, for each strategy."""

    machine: Machine
    worker: int
    window: Window
    strategies: tuple[StrategySchedule, ...]
    model: CostModel
    kernel: Kernel | None = None
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    """What a saved kernel log (``--dmesg``) contradicts."""
