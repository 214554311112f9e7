"""The validator: proves a plan for every worker CPU, or returns counterexamples.

Pure functions returning :class:`Finding` data; nothing here formats for a
terminal or decides an exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import InitVar, dataclass, field
from functools import partial

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import InputError
from rmpplan.hotplug import Hotplug
from rmpplan.kernel import PROFILES, Kernel, LeaderCall, case3_call, programming
from rmpplan.plan import base_set, rmpopt_cpumask, siblings_in, step
from rmpplan.strategies import STRATEGIES
from rmpplan.terms import Case, Check, Rule, Strategy
from rmpplan.topology.machine import Machine


@dataclass(frozen=True, slots=True)
class Finding:
    """A violated invariant: which check, what went wrong, and the CPUs that show it."""

    check: Check
    message: str
    cpus: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything :func:`verify` found about one machine, rule and strategy."""

    rule: Rule
    strategy: Strategy
    mask: frozenset[int]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())
    kernel: Kernel | None = None
    log_checked: bool = False
    """A kernel log was compared with this machine (``--dmesg``)."""
    landed_checked: bool = False
    """The kernel as landed was judged too (rmpplan.landed): nothing was asked for."""
    branches: tuple[tuple[Case, int], ...] = ()
    """How many workers took each branch the strategy's record counts (v8's cases)."""

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(
    machine: Machine,
    rule: Rule = Rule.FIRST_SIBLING,
    strategy: Strategy = Strategy.V9_ANDNOT,
    hotplug: Hotplug | None = None,
    *,
    kernel: Kernel | None = None,
    notes: Sequence[str] = (),
) -> Verdict:
    """Prove the pass for every CPU the handler could run on.

    ``hotplug`` (default: the scenario in the topology file) changes
    which CPUs are online when the handler runs; the mask and RMPOPT_BASE
    stay as they were set up. Under a ``kernel`` that disables hotplug
    before the mask is built, a scenario cannot happen: it is checked for
    sense, noted, and not judged. ``notes`` are passed through to the verdict.

    The cost is O(CPUs + cores), not O(CPUs * cores). Every strategy builds
    its followers as ``base - R(worker)``, where ``base`` is the same for all
    workers and ``R`` lies inside one core (or is one CPU), and its leaders
    are at most one CPU. So a worker changes the run count of at most three
    cores (its leader's, and those ``R`` touches); every other core runs
    exactly as often as it holds CPUs of ``base`` that receive IPIs. That
    baseline is computed once, and each worker only re-examines the cores it
    affects, which is the same verdict as recounting every core per worker.
    """
    setup_online = machine.online
    if hotplug is None:
        hotplug = machine.hotplug
    online = hotplug.handler_online(machine) if hotplug else setup_online
    said = list(notes)
    guard = None if kernel is None else PROFILES[kernel].hotplug_guard
    if hotplug and guard is not None:
        said.append(
            f"the hotplug scenario ({hotplug.describe()}) cannot happen under {kernel}: "
            f"{guard}; it is not judged"
        )
        online = setup_online
    mask_checks = STRATEGIES[strategy].mask_checks
    mask = rmpopt_cpumask(machine, rule, setup_online)
    # v2 programmed RMPOPT_BASE on every online CPU and sent to every online CPU.
    programmed_cpus = programming(kernel, strategy, mask, setup_online)
    base = base_set(strategy, mask, online)
    core_index = machine.core_index
    programmed = {core_index(cpu) for cpu in programmed_cpus}

    findings: list[Finding] = []
    offline = sorted(machine.present - setup_online)
    if offline:
        findings.append(
            Finding(
                Check.ONLINE_EQUALS_PRESENT,
                f"SNP init refuses: {len(offline)} present CPU(s) offline at setup "
                f"({_cpus(offline)}); snp_prepare() needs online == present",
                tuple(offline),
            )
        )
    if Check.ONE_MASK_CPU_PER_CORE in mask_checks:
        findings += _mask_per_core(machine, mask, setup_online, programmed_cpus)
    if Check.MASK_WITHIN_ONLINE in mask_checks:
        gone = sorted(mask - online)
        if gone:
            findings.append(
                Finding(
                    Check.MASK_WITHIN_ONLINE,
                    f"rmpopt_cpumask CPU(s) {_cpus(gone)} are offline when the handler runs; "
                    "IPIs skip them, so their cores are not optimized",
                    tuple(gone),
                )
            )
    strays = sorted(base - programmed_cpus)
    if strays:
        findings.append(
            Finding(
                Check.FOLLOWERS_WITHIN_MASK,
                f"IPI target(s) {_cpus(strays)} never programmed RMPOPT_BASE",
                tuple(strays),
            )
        )
    per_worker, branches = _per_worker(
        machine, strategy, base, online, programmed, call=case3_call(kernel)
    )
    findings += per_worker
    case_notes = strategy_notes(strategy, branches, len(online))
    return Verdict(
        rule,
        strategy,
        programmed_cpus,
        tuple(findings),
        (*said, *case_notes),
        kernel,
        branches=branches,
    )


def _mask_per_core(
    machine: Machine, mask: frozenset[int], online: frozenset[int], programmed: frozenset[int]
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
                Check.ONE_MASK_CPU_PER_CORE,
                f"no rmpopt_cpumask CPU in {first_uncovered}; "
                + (
                    "its online threads can run the handler on an unprogrammed core"
                    if programmed == mask
                    else "RMPOPT_BASE is written there, but the pass never reaches it"
                ),
                tuple(sorted(uncovered)),
            )
        )
    if doubled:
        found.append(
            Finding(
                Check.ONE_MASK_CPU_PER_CORE,
                f"more than one rmpopt_cpumask CPU in {first_doubled}",
                tuple(sorted(doubled)),
            )
        )
    return found


@dataclass
class _Failures:
    workers: list[int] = field(default_factory=list)
    first: str = ""

    def add(self, worker: int, detail: Callable[[], str]) -> None:
        """Count ``worker``; only the first worker's detail is written (and worth its cost)."""
        if not self.workers:
            self.first = detail()
        self.workers.append(worker)


class _Baseline:
    """How often each core runs when no worker changes anything, and which cores
    are wrong that way; a worker then only re-examines the cores it changes."""

    def __init__(self, runs: Counter[int], programmed: set[int]) -> None:
        self.runs = runs
        self.programmed = programmed
        self.wrong: dict[Check, list[int]] = {}
        for core in sorted(programmed | set(runs)):
            problem = self.verdict(core, runs[core])
            if problem is not None:
                self.wrong.setdefault(problem, []).append(core)

    def verdict(self, core: int, runs: int) -> Check | None:
        if core in self.programmed:
            return None if runs == 1 else (Check.CORE_MISSED if runs == 0 else Check.CORE_RUN_TWICE)
        return Check.UNPROGRAMMED_CORE if runs else None

    def problems(self, changed: dict[int, int]) -> dict[Check, int]:
        """Each problem with the lowest core that shows it, given a worker's changes."""
        found: dict[Check, int] = {}
        for problem, cores in self.wrong.items():
            # At most len(changed) + 1 steps: the loop stops at the first unchanged core.
            first = next((core for core in cores if core not in changed), None)
            if first is not None:
                found[problem] = first
        for core, runs in changed.items():
            verdict = self.verdict(core, runs)
            if verdict is not None and core < found.get(verdict, core + 1):
                found[verdict] = core
        return found


def _per_worker(
    machine: Machine,
    strategy: Strategy,
    base: frozenset[int],
    online: frozenset[int],
    programmed: set[int],
    *,
    call: LeaderCall = LeaderCall.WORK_ON_CPU,
) -> tuple[list[Finding], tuple[tuple[Case, int], ...]]:
    """The per-worker checks, and how many workers took each branch the strategy's
    record counts, in O(CPUs + cores) whatever the machine's shape: the
    workers of a core share one removal (plan.siblings_in), whose effect on the
    per-core counts is computed once, and a finding's text only for its first worker.

    A leader that is offline when the handler runs (v8-three-way's case 3
    after a mask CPU went offline) runs nothing on its core: ``call`` says
    why (see :class:`~rmpplan.kernel.LeaderCall`), and the loop is not counted."""
    core_index = machine.core_index
    baseline = _Baseline(Counter(core_index(cpu) for cpu in base & online), programmed)
    failures = {
        name: _Failures()
        for name in (
            Check.LEADER_ONLINE,
            Check.UNPROGRAMMED_CORE,
            Check.FOLLOWERS_EXCLUDE_LEADER_CORE,
            Check.CORE_MISSED,
            Check.CORE_RUN_TWICE,
        )
    }
    cases: Counter[Case] = Counter()
    first = min(base, default=None)
    mine = siblings_in(machine, online, base)
    # removed -> online CPUs it takes from each core it touches (0 for offline ones)
    taken: dict[frozenset[int], dict[int, int]] = {}
    for worker in sorted(online):
        move = step(strategy, worker, mine(worker), base, first)
        leader, removed = move.leader, move.removed
        cases[move.case] += 1
        counts = taken.get(removed)
        if counts is None:
            counts = taken[removed] = {core_index(cpu): 0 for cpu in removed}
            for cpu in removed & online:
                counts[core_index(cpu)] += 1
        changed = {core: baseline.runs[core] - count for core, count in counts.items()}
        if leader is not None and leader not in online:
            failures[Check.LEADER_ONLINE].add(
                worker, partial(_leader_offline, machine, worker, leader, call)
            )
            leader = None  # its loop never runs on the leader's core
        if leader is not None:
            home = core_index(leader)
            changed[home] = changed.get(home, baseline.runs[home]) + 1
            # The all-CPU loop has no leader, so no core has a special place in it.
            # An offline follower of the leader's core gets no IPI, so it does no harm.
            if baseline.runs[home] - counts.get(home, 0) > 0:
                failures[Check.FOLLOWERS_EXCLUDE_LEADER_CORE].add(
                    worker, partial(_own_core, machine, worker, home)
                )
        for problem, core in baseline.problems(changed).items():
            count = changed.get(core, baseline.runs[core])
            failures[problem].add(worker, partial(_detail, machine, problem, worker, core, count))

    findings = [
        Finding(name, _summary(fail, len(online)), tuple(fail.workers))
        for name, fail in failures.items()
        if fail.workers
    ]
    return findings, tuple((case, cases[case]) for case in STRATEGIES[strategy].branches)


def strategy_notes(
    strategy: Strategy, branches: tuple[tuple[Case, int], ...], workers: int, *, rare: bool = True
) -> list[str]:
    """What is worth knowing but not wrong: the strategy's own note, and which of
    the branches its record counts are live code here. ``rare`` False leaves out
    the note that the record's rare branch is unreachable (``explain`` says how to
    reach it instead)."""
    item = STRATEGIES[strategy]
    said = [] if item.note is None else [item.note]
    for case, count in branches:
        if count:
            said.append(f"{case} taken by {count} of {workers} worker CPUs")
        elif rare or case is not item.rare_branch:
            said.append(f"{case} unreachable on this machine")
    return said


def leader_offline_effect(call: LeaderCall, leader: int, where: str) -> str:
    """What ``call`` does when ``leader`` is offline, and what that leaves of ``where``."""
    if call is LeaderCall.IPI:
        return (
            f"smp_call_function_single({leader}, rmpopt_leader_fn) returns -ENXIO "
            "(generic_exec_single() refuses an offline CPU), so the leader loop never "
            f"runs and {where} is not optimized"
        )
    return (
        f"work_on_cpu({leader}, rmpopt_leader_fn) queues the loop on CPU {leader}'s "
        "disassociated worker pool, whose workers run on any CPU (kernel/workqueue.c), "
        f"so it runs on a CPU nobody chose and is counted on no core: {where} is not sure "
        "to be optimized, and an unprogrammed core may run it (#UD)"
    )


def _leader_offline(machine: Machine, worker: int, leader: int, call: LeaderCall) -> str:
    core = machine.core_of(leader)
    where = f"{core.label()} (CPUs {_cpus(core.threads)})"
    return (
        f"with the handler on CPU {worker}, case 3 picks CPU {leader} to lead, and it is "
        f"offline: " + leader_offline_effect(call, leader, where)
    )


def _own_core(machine: Machine, worker: int, home: int) -> str:
    return (
        f"with the handler on CPU {worker}, the followers include CPUs of the "
        f"leader's own {machine.cores[home].label()}"
    )


def _detail(machine: Machine, problem: Check, worker: int, core: int, runs: int) -> str:
    where = f"{machine.cores[core].label()} (CPUs {_cpus(machine.cores[core].threads)})"
    start = f"with the handler on CPU {worker}, "
    if problem == Check.CORE_MISSED:
        return start + f"{where} is never optimized"
    if problem == Check.CORE_RUN_TWICE:
        return start + f"{where} runs every region {runs} times"
    return start + f"RMPOPT runs on {where}, whose RMPOPT_BASE was never set (#UD)"


def _summary(fail: _Failures, workers: int) -> str:
    return f"{fail.first} ({len(fail.workers)} of {workers} worker CPUs fail)"


def _cpus(cpus: Iterable[int]) -> str:
    return format_cpulist(cpus)


LOG_CHECKS = (Check.DMESG_SNP_INIT, Check.DMESG_MASKS, Check.DMESG_WINDOW, Check.DMESG_CAP)
"""The checks of a kernel log; they run only when one is given (``--dmesg``)."""


def checks_run(strategy: Strategy, *, log: bool = False, landed: bool = False) -> tuple[Check, ...]:
    """The checks :func:`verify` evaluates under ``strategy``, in report order,
    those of a kernel log when one was checked, and ``landed-kernel`` when the
    kernel as landed was judged too.

    The strategy's record says which do not apply: the two checks about the
    mask itself to a strategy with no mask (v2-all-cpus), ``leader-online`` to
    one that always leads on the worker (all but v8-three-way).
    """
    skipped = {*(() if log else LOG_CHECKS), *STRATEGIES[strategy].skipped()}
    if not landed:
        skipped.add(Check.LANDED_KERNEL)
    return tuple(check for check in Check if check not in skipped)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verdict held against the checks its file is expected to fail."""

    expected: tuple[Finding, ...]
    unexpected: tuple[Finding, ...]
    stale: tuple[Check, ...]
    """Checks expected to fail that passed: the expectation no longer holds."""
    findings: tuple[tuple[Finding, bool], ...]
    """Every finding in the verdict's order, and whether it is expected: what a
    report lists, so that no renderer decides expectations again."""

    @property
    def ok(self) -> bool:
        return not self.unexpected and not self.stale


def outcome(verdict: Verdict, expect: frozenset[Check] = frozenset()) -> Outcome:
    """Split ``verdict``'s findings into expected and unexpected, and name the
    expected checks that passed."""
    failed = {item.check for item in verdict.findings}
    return Outcome(
        tuple(item for item in verdict.findings if item.check in expect),
        tuple(item for item in verdict.findings if item.check not in expect),
        tuple(check for check in Check if check in expect and check not in failed),
        tuple((item, item.check in expect) for item in verdict.findings),
    )


@dataclass(frozen=True, slots=True)
class MachineFacts:
    """What a ``verify`` report says about a machine: its name and sizes. A
    result keeps these, never the machine, so a fleet's results stay small."""

    name: str
    present: int
    online: int
    cores: int
    nr_cpu_ids: int

    @classmethod
    def of(cls, machine: Machine) -> MachineFacts:
        return cls(
            machine.name,
            len(machine.present),
            len(machine.online),
            len(machine.cores),
            machine.nr_cpu_ids,
        )


@dataclass(frozen=True, slots=True)
class Checked:
    """One path given to ``verify``: facts about its machine and its verdict, or
    why it could not be read.

    Built as ``Checked(label, machine, verdict)``: the machine is reduced to
    its :class:`MachineFacts` and not kept (``facts=`` gives them directly).
    ``expect`` holds the checks the configuration expects this path to fail
    (empty without a configuration); ``error_line`` is the line of ``error``
    in the file, when the parser knows it; ``shape`` is the fingerprint of
    what the checks read (``rmpplan.fleet.fingerprint``), when known.
    """

    path: str
    machine: InitVar[Machine | None] = None
    verdict: Verdict | None = None
    error: str | None = None
    expect: frozenset[Check] = frozenset()
    error_line: int | None = None
    facts: MachineFacts | None = None
    shape: str | None = None

    def __post_init__(self, machine: Machine | None) -> None:
        if machine is not None and self.facts is None:
            object.__setattr__(self, "facts", MachineFacts.of(machine))

    @property
    def outcome(self) -> Outcome | None:
        return None if self.verdict is None else outcome(self.verdict, self.expect)

    @property
    def ok(self) -> bool:
        """Checked, and nothing unexpected: every finding expected, no stale expectation."""
        held = self.outcome
        return held is not None and held.ok


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every strategy under every rule, for one machine."""

    machine: Machine
    verdicts: tuple[Verdict, ...]
    skipped: tuple[str, ...] = ()
    kernel: Kernel | None = None


def compare(
    machine: Machine,
    rules: Iterable[Rule] = tuple(Rule),
    strategies: Iterable[Strategy] = tuple(Strategy),
    hotplug: Hotplug | None = None,
    *,
    strict_rules: bool = False,
    kernel: Kernel | None = None,
) -> Comparison:
    """Verify each (strategy, rule) pair. A rule the machine cannot evaluate
    (apic-primary without APIC ids) is skipped with a reason, unless
    ``strict_rules``, when it is bad input. ``kernel`` decides whether a
    hotplug scenario can happen (see :func:`verify`). A strategy without a mask
    (v2-all-cpus) is verified once, under the first rule: no rule applies to it,
    so every rule would give the same verdict."""
    verdicts: list[Verdict] = []
    skipped: list[str] = []
    done: set[Strategy] = set()
    for rule in rules:
        try:
            for strategy in strategies:
                if strategy in done:
                    continue
                verdicts.append(verify(machine, rule, strategy, hotplug, kernel=kernel))
                if not STRATEGIES[strategy].has_mask:
                    done.add(strategy)
        except InputError as err:
            if strict_rules or rule is Rule.FIRST_SIBLING:
                raise
            skipped.append(f"{rule} skipped: {err.message}")
    verdicts.sort(key=lambda v: (list(Strategy).index(v.strategy), list(Rule).index(v.rule)))
    return Comparison(machine, tuple(verdicts), tuple(skipped), kernel)
