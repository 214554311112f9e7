"""Slow, obvious models of the handlers, written apart from rmpplan's own.

The core defines each strategy once, as a change to a shared base set
(``rmpplan.plan.HANDLERS``); these are the handlers as the kernel code reads,
whole sets per worker, so property tests can hold the fast forms equal to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmpplan.terms import Strategy
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
