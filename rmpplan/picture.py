"""What a picture of the machine shows: each CPU's role and each core's verdict
in one pass, from one worker, and which runs of cores may be drawn as one.

Computed from the typed results (:class:`~rmpplan.plan.PlanResult`,
:class:`~rmpplan.explain.Explanation`); :mod:`rmpplan.render.svg` only draws
it. The role of a CPU and the verdict of a core are those the JSON reports
give (a test holds them equal).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from rmpplan.explain import PER_WORKER
from rmpplan.plan import base_set, rmpopt_cpumask

if TYPE_CHECKING:
    from rmpplan.checks import Verdict
    from rmpplan.explain import Explanation
    from rmpplan.plan import PlanResult
    from rmpplan.topology.machine import Core, Machine


class Role(StrEnum):
    """What one CPU does in the pass; each CPU has exactly one, the first that holds."""

    WORKER = "worker"
    """Runs the handler (and the leader loop, unless another CPU leads)."""
    LEADER = "leader"
    """Runs the leader loop for the worker (v8's case 3, work_on_cpu)."""
    FOLLOWER = "follower"
    """In follower_mask and online: sent the IPI."""
    MASK = "mask"
    """In rmpopt_cpumask but not sent the IPI (dropped from follower_mask)."""
    NOT_SENT = "not-sent"
    """Online, outside rmpopt_cpumask, sent nothing."""
    OFFLINE = "offline"
    """Online at setup, offline when the handler runs."""
    PRESENT_ONLY = "present-only"
    """Present, but offline at setup."""


ROLE_TEXT: Mapping[Role, str] = {
    Role.WORKER: "worker: runs the handler",
    Role.LEADER: "leader: runs the loop for the worker",
    Role.FOLLOWER: "follower: sent the IPI",
    Role.MASK: "in rmpopt_cpumask, not sent the IPI",
    Role.NOT_SENT: "online, not in the mask, not sent",
    Role.OFFLINE: "offline when the handler runs",
    Role.PRESENT_ONLY: "present, offline at setup",
}
"""Each role as the legend and the hover text say it."""


class Mark(StrEnum):
    """A core's verdict in the pass: how often it runs each region, and whether it may."""

    ONCE = "once"
    TWICE = "twice"
    """Runs every region more than once (the count is in :attr:`Picture.runs`)."""
    MISSED = "missed"
    """Programmed, never run: its memory is not optimized."""
    UNPROGRAMMED = "unprogrammed"
    """Runs RMPOPT with no RMPOPT_BASE set: #UD."""
    IDLE = "idle"
    """Not programmed and not run (an offline core): nothing to judge."""


MARK_TEXT: Mapping[Mark, str] = {
    Mark.ONCE: "runs every region once",
    Mark.TWICE: "runs every region more than once",
    Mark.MISSED: "programmed but never run (missed)",
    Mark.UNPROGRAMMED: "runs RMPOPT unprogrammed: #UD",
    Mark.IDLE: "not programmed, not run",
}

FINDINGS = frozenset({Mark.TWICE, Mark.MISSED, Mark.UNPROGRAMMED})
"""The marks that are findings; a core with one is never folded."""


@dataclass(frozen=True, slots=True)
class Picture:
    """One pass from one worker, per CPU and per core.

    ``runs`` and ``marks`` are indexed like :attr:`Machine.cores`; ``caption``
    is the lines written above the drawing (names unescaped: the writer escapes).
    """

    machine: Machine
    caption: tuple[str, ...]
    worker: int
    leader: int | None
    mask: frozenset[int]
    followers: frozenset[int]
    online: frozenset[int]
    roles: Mapping[int, Role]
    runs: tuple[int, ...]
    marks: tuple[Mark, ...]

    def core_title(self, index: int) -> str:
        """The hover text of one core."""
        core = self.machine.cores[index]
        mark = self.marks[index]
        said = MARK_TEXT[mark]
        if mark is Mark.TWICE:
            said = f"runs every region {self.runs[index]} times"
        return f"{core.label()}: {said}"

    def cpu_title(self, cpu: int) -> str:
        """The hover text of one CPU: its role and the facts behind it."""
        facts = [f"CPU {cpu}", ROLE_TEXT[self.roles[cpu]]]
        if cpu == self.worker and self.leader == cpu:
            facts.append("leads the loop")
        if cpu in self.mask:
            facts.append("in rmpopt_cpumask")
        if cpu in self.followers and self.roles[cpu] is not Role.FOLLOWER:
            facts.append("in follower_mask" + ("" if cpu in self.online else ", offline: no IPI"))
        apic = self.machine.cpus[cpu].apic_id
        if apic is not None:
            facts.append(f"APIC id {apic}")
        return "; ".join(facts)


def _roles(
    machine: Machine,
    *,
    worker: int,
    leader: int | None,
    mask: frozenset[int],
    followers: frozenset[int],
    online: frozenset[int],
) -> dict[int, Role]:
    roles: dict[int, Role] = {}
    for cpu in machine.cpus:
        if cpu == worker:
            role = Role.WORKER
        elif cpu == leader:
            role = Role.LEADER
        elif cpu not in online:
            role = Role.OFFLINE if cpu in machine.online else Role.PRESENT_ONLY
        elif cpu in followers:
            role = Role.FOLLOWER
        elif cpu in mask:
            role = Role.MASK
        else:
            role = Role.NOT_SENT
        roles[cpu] = role
    return roles


def _verdicts(
    machine: Machine,
    leader: int | None,
    programming: frozenset[int],
    followers: frozenset[int],
    online: frozenset[int],
) -> tuple[tuple[int, ...], tuple[Mark, ...]]:
    """How often each core runs each region, and its mark: the count explain makes."""
    core_index = machine.core_index
    counted: Counter[int] = Counter(core_index(cpu) for cpu in followers & online)
    if leader is not None:
        counted[core_index(leader)] += 1
    programmed = {core_index(cpu) for cpu in programming}
    runs = tuple(counted[index] for index in range(len(machine.cores)))
    marks = []
    for index, count in enumerate(runs):
        if index in programmed:
            mark = Mark.MISSED if count == 0 else Mark.ONCE if count == 1 else Mark.TWICE
        else:
            mark = Mark.UNPROGRAMMED if count else Mark.IDLE
        marks.append(mark)
    return runs, tuple(marks)


def _picture(
    machine: Machine,
    *,
    caption: Sequence[str],
    worker: int,
    leader: int | None,
    mask: frozenset[int],
    followers: frozenset[int],
    online: frozenset[int],
) -> Picture:
    runs, marks = _verdicts(machine, leader, mask, followers, online)
    counted = Counter(marks)
    cores = ", ".join(f"{counted[mark]} {MARK_TEXT[mark]}" for mark in Mark if counted[mark])
    return Picture(
        machine=machine,
        caption=(*caption, f"cores: {cores}"),
        worker=worker,
        leader=leader,
        mask=mask,
        followers=followers,
        online=online,
        roles=_roles(
            machine, worker=worker, leader=leader, mask=mask, followers=followers, online=online
        ),
        runs=runs,
        marks=marks,
    )


def plan_picture(result: PlanResult) -> Picture:
    """The plan of its one worker, on the machine as set up (no hotplug)."""
    if len(result.plans) != 1:
        raise ValueError("a picture shows one worker's pass")
    item = result.plans[0]
    machine = result.machine
    caption = (
        f"{machine.name}: rmpplan plan, worker CPU {item.worker}",
        f"{result.rule}, {result.strategy}"
        + (f", kernel {result.kernel}" if result.kernel else ""),
    )
    return _picture(
        machine,
        caption=caption,
        worker=item.worker,
        leader=item.leader,
        mask=result.mask,
        followers=result.mask - item.removed,
        online=machine.online,
    )


def explain_picture(explanation: Explanation, command: str = "explain") -> Picture:
    """The replayed pass, hotplug scenario included; ``command`` names the report."""
    e = explanation
    machine = e.machine
    # The CPUs that programmed RMPOPT_BASE at setup, as explain counts them.
    programming = base_set(e.strategy, rmpopt_cpumask(machine, e.rule), machine.online)
    checks = ", ".join(dict.fromkeys(str(item.check) for item in e.findings))
    verdict = f"findings: {checks}" if checks else "every check passes"
    caption = (
        f"{machine.name}: rmpplan {command}, worker CPU {e.worker}",
        f"{e.rule}, {e.strategy}, {e.case}" + (f", kernel {e.kernel}" if e.kernel else ""),
        verdict,
    )
    return _picture(
        machine,
        caption=caption,
        worker=e.worker,
        leader=e.leader,
        mask=programming,
        followers=e.followers,
        online=e.online,
    )


def counterexample(verdict: Verdict, online: frozenset[int]) -> int:
    """The worker a picture of ``verdict`` shows: the lowest worker that fails a
    per-worker check (those findings list the failing workers), else the
    lowest CPU of ``online``, the CPUs online when the handler runs."""
    failing = [
        min(item.cpus) for item in verdict.findings if item.check in PER_WORKER and item.cpus
    ]
    return min(failing) if failing else min(online)


@dataclass(frozen=True, slots=True)
class Fold:
    """A run of consecutive cores of one die drawn as one box ("xN")."""

    cores: tuple[int, ...]
    """Their indexes into :attr:`Machine.cores`."""


FOLD_ABOVE = 1024
"""Machines with more present CPUs than this fold runs of identical cores."""
FOLD_RUN = 4
"""The shortest run folded: its first and last cores stay drawn, as lstopo does."""


def die_items(picture: Picture, cores: Sequence[Core], *, fold: bool) -> list[int | Fold]:
    """One die's cores as drawn, in order: a core index, or a :class:`Fold` of
    the middle of a run of at least :data:`FOLD_RUN` identical cores (same
    thread count, same roles in order, same mark). A core with a finding, or
    holding the worker or the leader, is never folded."""
    core_index = picture.machine.core_index
    indexes = [core_index(core.first) for core in cores]
    if not fold:
        return list(indexes)
    items: list[int | Fold] = []
    run: list[int] = []

    def flush() -> None:
        if len(run) >= FOLD_RUN:
            items.extend((run[0], Fold(tuple(run[1:-1])), run[-1]))
        else:
            items.extend(run)
        run.clear()

    previous: tuple[object, ...] | None = None
    for index in indexes:
        shape = _shape(picture, index)
        if shape is None or shape != previous:
            flush()
        if shape is None:
            items.append(index)
        else:
            run.append(index)
        previous = shape
    flush()
    return items


def _shape(picture: Picture, index: int) -> tuple[object, ...] | None:
    """What makes cores identical in a picture; None for a core never folded."""
    mark = picture.marks[index]
    threads = picture.machine.cores[index].threads
    roles = tuple(picture.roles[cpu] for cpu in threads)
    if mark in FINDINGS or Role.WORKER in roles or Role.LEADER in roles:
        return None
    return (mark, roles)
