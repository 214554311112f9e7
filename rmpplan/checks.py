"""The validator: proves a plan for every worker CPU, or returns counterexamples.

Pure functions returning :class:`Finding` data; nothing here formats for a
terminal or decides an exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import InputError
from rmpplan.plan import Rule, Strategy, rmpopt_cpumask, sibling_mask
from rmpplan.topology.machine import Machine


@dataclass(frozen=True, slots=True)
class Finding:
    """A violated invariant: which check, what went wrong, and the CPUs that show it."""

    check: str
    message: str
    cpus: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Hotplug:
    """CPUs that change state between setup (mask and MSRs) and the handler's run."""

    offline_after_setup: frozenset[int] = frozenset()
    online_after_setup: frozenset[int] = frozenset()

    def handler_online(self, machine: Machine) -> frozenset[int]:
        """The online set when the handler runs; refuses changes that are no change."""
        for cpu in sorted(self.offline_after_setup | self.online_after_setup):
            if cpu not in machine.cpus:
                raise InputError(f"hotplug: CPU {cpu} is not a present CPU")
        both = self.offline_after_setup & self.online_after_setup
        if both:
            raise InputError(f"hotplug: CPU {min(both)} is both onlined and offlined")
        not_online = sorted(self.offline_after_setup - machine.online)
        if not_online:
            raise InputError(f"hotplug: CPU {not_online[0]} is already offline at setup")
        not_offline = sorted(self.online_after_setup & machine.online)
        if not_offline:
            raise InputError(f"hotplug: CPU {not_offline[0]} is already online at setup")
        return (machine.online - self.offline_after_setup) | self.online_after_setup


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything :func:`verify` found about one machine, rule and strategy."""

    rule: Rule
    strategy: Strategy
    mask: frozenset[int]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.findings


# Check names, in the order findings are reported.
ONLINE_EQUALS_PRESENT = "online-equals-present"
ONE_MASK_CPU_PER_CORE = "one-mask-cpu-per-core"
MASK_WITHIN_ONLINE = "mask-within-online"
FOLLOWERS_WITHIN_MASK = "followers-within-mask"
UNPROGRAMMED_CORE = "unprogrammed-core"
FOLLOWERS_EXCLUDE_WORKER_CORE = "followers-exclude-worker-core"
CORE_MISSED = "core-missed"
CORE_RUN_TWICE = "core-run-twice"

CHECKS: dict[str, str] = {
    ONLINE_EQUALS_PRESENT: "SNP init (snp_prepare) requires every present CPU to be online",
    ONE_MASK_CPU_PER_CORE: "rmpopt_cpumask holds exactly one CPU of every core with an online thread",
    MASK_WITHIN_ONLINE: "every CPU of rmpopt_cpumask is online when the handler runs",
    FOLLOWERS_WITHIN_MASK: "every IPI target is a CPU that programmed RMPOPT_BASE",
    UNPROGRAMMED_CORE: "no CPU runs RMPOPT on a core whose RMPOPT_BASE was never set (#UD)",
    FOLLOWERS_EXCLUDE_WORKER_CORE: "the followers hold no CPU of the worker's core",
    CORE_MISSED: "every programmed core runs each region (leader core ∪ follower cores = all)",
    CORE_RUN_TWICE: "no core runs a region twice in one pass",
}


def verify(
    machine: Machine,
    rule: Rule = Rule.FIRST_SIBLING,
    strategy: Strategy = Strategy.V9_ANDNOT,
    hotplug: Hotplug | None = None,
) -> Verdict:
    """Prove the pass for every CPU the handler could run on.

    The cost is O(CPUs + cores), not O(CPUs × cores). Every strategy builds
    its followers as ``base − R(worker)``, where ``base`` is the same for all
    workers and ``R`` lies inside one core (or is one CPU), and its leaders
    are at most one CPU. So a worker changes the run count of at most three
    cores (its leader's, and those ``R`` touches); every other core runs
    exactly as often as it holds CPUs of ``base`` that receive IPIs. That
    baseline is computed once, and each worker only re-examines the cores it
    affects, which is the same verdict as recounting every core per worker.
    """
    setup_online = machine.online
    online = setup_online if hotplug is None else hotplug.handler_online(machine)
    all_cpus = strategy is Strategy.V2_ALL_CPUS
    mask = rmpopt_cpumask(machine, rule, setup_online)
    # v2 programmed RMPOPT_BASE on every online CPU and sent to every online CPU.
    programming = setup_online if all_cpus else mask
    base = online if all_cpus else mask
    core_index = machine.core_index
    programmed = {core_index(cpu) for cpu in programming}

    findings: list[Finding] = []
    offline = sorted(machine.present - setup_online)
    if offline:
        findings.append(
            Finding(
                ONLINE_EQUALS_PRESENT,
                f"SNP init refuses: {len(offline)} present CPU(s) offline at setup "
                f"({_cpus(offline)}); snp_prepare() needs online == present",
                tuple(offline),
            )
        )
    if not all_cpus:
        findings += _mask_per_core(machine, mask, setup_online)
        gone = sorted(mask - online)
        if gone:
            findings.append(
                Finding(
                    MASK_WITHIN_ONLINE,
                    f"rmpopt_cpumask CPU(s) {_cpus(gone)} are offline when the handler runs; "
                    "IPIs skip them, so their cores are not optimized",
                    tuple(gone),
                )
            )
    strays = sorted(base - programming)
    if strays:
        findings.append(
            Finding(
                FOLLOWERS_WITHIN_MASK,
                f"IPI target(s) {_cpus(strays)} never programmed RMPOPT_BASE",
                tuple(strays),
            )
        )
    per_worker, notes = _per_worker(machine, strategy, base, online, programmed)
    findings += per_worker
    return Verdict(rule, strategy, mask, tuple(findings), tuple(notes))


def _mask_per_core(
    machine: Machine, mask: frozenset[int], online: frozenset[int]
) -> list[Finding]:
    uncovered: list[int] = []
    doubled: list[int] = []
    first_uncovered = first_doubled = ""
    for core in machine.cores:
        live = [t for t in core.threads if t in online]
        if not live:
            continue
        chosen = [t for t in core.threads if t in mask]
        if not chosen:
            uncovered += live
            first_uncovered = first_uncovered or f"{core.label()} (online CPUs {_cpus(live)})"
        elif len(chosen) > 1:
            doubled += chosen
            first_doubled = first_doubled or f"{core.label()} (mask CPUs {_cpus(chosen)})"
    found = []
    if uncovered:
        found.append(
            Finding(
                ONE_MASK_CPU_PER_CORE,
                f"no rmpopt_cpumask CPU in {first_uncovered}; its online threads can run "
                "the handler on an unprogrammed core",
                tuple(sorted(uncovered)),
            )
        )
    if doubled:
        found.append(
            Finding(
                ONE_MASK_CPU_PER_CORE,
                f"more than one rmpopt_cpumask CPU in {first_doubled}",
                tuple(sorted(doubled)),
            )
        )
    return found


@dataclass
class _Failures:
    workers: list[int] = field(default_factory=list)
    first: str = ""

    def add(self, worker: int, detail: str) -> None:
        if not self.workers:
            self.first = detail
        self.workers.append(worker)


def _per_worker(
    machine: Machine,
    strategy: Strategy,
    base: frozenset[int],
    online: frozenset[int],
    programmed: set[int],
) -> tuple[list[Finding], list[str]]:
    core_index = machine.core_index
    cores = machine.cores
    delivered = base & online
    runs_base: Counter[int] = Counter(core_index(cpu) for cpu in delivered)
    in_base: Counter[int] = Counter(core_index(cpu) for cpu in base)

    def verdict_of(core: int, runs: int) -> str | None:
        if core in programmed:
            return None if runs == 1 else (CORE_MISSED if runs == 0 else CORE_RUN_TWICE)
        return UNPROGRAMMED_CORE if runs else None

    # The baseline: cores that are wrong unless a worker's own change mends them.
    baseline: dict[int, str] = {}
    for core in programmed | set(runs_base):
        problem = verdict_of(core, runs_base[core])
        if problem is not None:
            baseline[core] = problem

    failures = {name: _Failures() for name in (UNPROGRAMMED_CORE, FOLLOWERS_EXCLUDE_WORKER_CORE,
                                               CORE_MISSED, CORE_RUN_TWICE)}
    cases: Counter[str] = Counter()
    lowest = min(base) if base else None
    for worker in sorted(online):
        home = core_index(worker)
        siblings = sibling_mask(machine, worker, online)
        leader: int | None = worker
        removed: frozenset[int]
        if strategy is Strategy.V9_ANDNOT:
            removed = siblings & base
        elif strategy is Strategy.CLEAR_CPU:
            removed = frozenset({worker}) & base
        elif strategy is Strategy.V2_ALL_CPUS:
            leader, removed = None, frozenset()
        elif worker in base:
            cases["case 1"] += 1
            removed = frozenset({worker})
        elif siblings & base:
            cases["case 2"] += 1
            removed = siblings & base
        else:
            cases["case 3"] += 1
            leader = lowest
            removed = frozenset() if lowest is None else frozenset({lowest})

        runs: dict[int, int] = {}
        for cpu in removed:
            runs.setdefault(core_index(cpu), 0)
        if leader is not None:
            runs.setdefault(core_index(leader), 0)
        for core in runs:
            runs[core] = runs_base[core]
        for cpu in removed & online:
            runs[core_index(cpu)] -= 1
        if leader is not None:
            runs[core_index(leader)] += 1

        own_left = in_base[home] - sum(1 for cpu in removed if core_index(cpu) == home)
        # The all-CPU loop has no leader, so "the worker's core" has no special place.
        if leader is not None and own_left > 0:
            failures[FOLLOWERS_EXCLUDE_WORKER_CORE].add(
                worker, f"with the handler on CPU {worker}, the followers include CPUs "
                f"of its own {cores[home].label()}"
            )
        problems: dict[str, int] = {}
        for core, problem in baseline.items():
            if core not in runs:
                problems.setdefault(problem, core)
        for core in sorted(runs):
            problem = verdict_of(core, runs[core])
            if problem is not None:
                problems.setdefault(problem, core)
        for problem, core in problems.items():
            count = runs.get(core, runs_base[core])
            failures[problem].add(worker, _detail(machine, problem, worker, core, count))

    findings = [
        Finding(name, _summary(fail, len(online)), tuple(fail.workers))
        for name, fail in failures.items()
        if fail.workers
    ]
    notes: list[str] = []
    if strategy is Strategy.V8_THREE_WAY:
        for case in ("case 1", "case 2", "case 3"):
            if cases[case]:
                notes.append(f"{case} taken by {cases[case]} of {len(online)} worker CPUs")
            else:
                notes.append(f"{case} unreachable on this machine")
    if strategy is Strategy.V2_ALL_CPUS:
        notes.append("v2 programs and runs every online CPU; the rule does not apply")
    return findings, notes


def _detail(machine: Machine, problem: str, worker: int, core: int, runs: int) -> str:
    where = f"{machine.cores[core].label()} (CPUs {_cpus(machine.cores[core].threads)})"
    start = f"with the handler on CPU {worker}, "
    if problem == CORE_MISSED:
        return start + f"{where} is never optimized"
    if problem == CORE_RUN_TWICE:
        return start + f"{where} runs every region {runs} times"
    return start + f"RMPOPT runs on {where}, whose RMPOPT_BASE was never set (#UD)"


def _summary(fail: _Failures, workers: int) -> str:
    return f"{fail.first} ({len(fail.workers)} of {workers} worker CPUs fail)"


def _cpus(cpus: Iterable[int]) -> str:
    return format_cpulist(cpus)


@dataclass(frozen=True, slots=True)
class Checked:
    """One path given to ``verify``: its machine and verdict, or why it could not be read."""

    path: str
    machine: Machine | None = None
    verdict: Verdict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok
