"""Slow, obvious models of the handlers, written apart from rmpplan's own.

The core defines each strategy once, as a change to a shared base set
(``rmpplan.plan.HANDLERS``); these are the handlers as the kernel code reads,
whole sets per worker, so property tests can hold the fast forms equal to them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rmpplan.plan import rmpopt_cpumask
from rmpplan.terms import Check, Rule, Strategy
from rmpplan.topology.machine import Machine


@dataclass(frozen=True)
class Run:
    """Who runs RMPOPT in one pass from one worker: the serial leaders and the IPI targets."""

    leaders: frozenset[int]
    followers: frozenset[int]
    case: str


def handler(
    machine: Machine,
    mask: frozenset[int],
    worker: int,
    strategy: Strategy,
    online: frozenset[int],
) -> Run:
    """The handler of ``strategy`` run on ``worker`` with ``online`` CPUs online."""
    siblings = frozenset(t for t in machine.core_of(worker).threads if t in online)
    if worker not in online:
        siblings = frozenset()
    if strategy is Strategy.V9_ANDNOT:
        return Run(frozenset({worker}), mask - siblings, "andnot")
    if strategy is Strategy.CLEAR_CPU:
        return Run(frozenset({worker}), mask - {worker}, "clear-cpu")
    if strategy is Strategy.V2_ALL_CPUS:
        return Run(frozenset(), online, "all-cpus")
    if worker in mask:
        return Run(frozenset({worker}), mask - {worker}, "case 1")
    if siblings & mask:
        return Run(frozenset({worker}), mask - siblings, "case 2")
    leaders = frozenset({min(mask)}) if mask else frozenset()
    return Run(leaders, mask - leaders, "case 3")


PER_WORKER = (
    Check.LEADER_ONLINE,
    Check.UNPROGRAMMED_CORE,
    Check.FOLLOWERS_EXCLUDE_LEADER_CORE,
    Check.CORE_MISSED,
    Check.CORE_RUN_TWICE,
)


def brute_force(
    machine: Machine, rule: Rule, strategy: Strategy, online: frozenset[int]
) -> dict[Check, list[int]]:
    """Per-worker failures, recounting every core for every worker: O(CPUs x cores)."""
    mask = rmpopt_cpumask(machine, rule, machine.online)
    programming = machine.online if strategy is Strategy.V2_ALL_CPUS else mask
    programmed = {machine.core_index(cpu) for cpu in programming}
    failed: dict[Check, list[int]] = {name: [] for name in PER_WORKER}
    for worker in sorted(online):
        step = handler(machine, mask, worker, strategy, online)
        # An offline leader runs nothing where it was meant to (-ENXIO, or a stray worker).
        leaders = step.leaders & online
        runs = Counter(machine.core_index(cpu) for cpu in leaders)
        runs.update(machine.core_index(cpu) for cpu in step.followers & online)
        problems = {Check.LEADER_ONLINE} if step.leaders - online else set()
        for index in range(len(machine.cores)):
            count = runs[index]
            if index in programmed and count == 0:
                problems.add(Check.CORE_MISSED)
            elif index in programmed and count > 1:
                problems.add(Check.CORE_RUN_TWICE)
            elif index not in programmed and count:
                problems.add(Check.UNPROGRAMMED_CORE)
        for lead in leaders:
            home = set(machine.core_of(lead).threads)
            if step.followers & online & home:
                problems.add(Check.FOLLOWERS_EXCLUDE_LEADER_CORE)
        for name in problems:
            failed[name].append(worker)
    return failed
