"""One handler run replayed as the kernel code runs it, step by step.

``verify`` answers "is every worker right?"; :func:`explain` answers the
reviewer's "how does that happen?" for one worker: each kernel operation with
the mask it leaves, the branch taken, who runs RMPOPT on which core, and each
finding in words that name the operation behind it. Its verdict is the one
``verify`` reaches for that worker (a property test holds them equal).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.checks import Finding, Verdict, leader_offline_effect, strategy_notes, verify
from rmpplan.cpumask import format_cpulist
from rmpplan.errors import ParameterError
from rmpplan.hotplug import Hotplug
from rmpplan.kernel import PROFILES, Handler, Kernel, LeaderCall, case3_call, programming
from rmpplan.naming import named
from rmpplan.plan import dispatch, rmpopt_cpumask
from rmpplan.strategies import STRATEGIES, Line
from rmpplan.terms import Case, Check, Rule, Strategy

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine

PER_WORKER = frozenset(
    {
        Check.LEADER_ONLINE,
        Check.UNPROGRAMMED_CORE,
        Check.FOLLOWERS_EXCLUDE_LEADER_CORE,
        Check.CORE_MISSED,
        Check.CORE_RUN_TWICE,
    }
)
"""Checks judged per worker; the others hold for the machine whoever runs the handler."""


LATEST = Handler()
"""The handler's spelling without --kernel: a local follower_mask, migrate_disable()."""


@dataclass(frozen=True, slots=True)
class KernelStep:
    """One kernel operation: its code, what it leaves (a cpulist or value), and why it matters."""

    code: str
    result: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One pass from one worker, replayed."""

    machine: Machine
    kernel: Kernel | None
    rule: Rule
    strategy: Strategy
    worker: int
    case: Case
    steps: tuple[KernelStep, ...]
    leader: int | None
    followers: frozenset[int]
    cores_twice: tuple[int, ...]
    """The first CPU of each core that runs every region more than once."""
    cores_missed: tuple[int, ...]
    """The first CPU of each programmed core that runs no region."""
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    online: frozenset[int] = frozenset()
    """The CPUs online when the handler runs (after the hotplug scenario)."""

    @property
    def ok(self) -> bool:
        return not self.findings


def explain(
    machine: Machine,
    worker: int,
    rule: Rule = Rule.FIRST_SIBLING,
    strategy: Strategy = Strategy.V9_ANDNOT,
    hotplug: Hotplug | None = None,
    *,
    kernel: Kernel | None = None,
    notes: Sequence[str] = (),
) -> Explanation:
    """Replay the handler of ``strategy`` on ``worker``.

    Setup and the hotplug scenario are those :func:`rmpplan.checks.verify`
    models (the scenario is dropped, with a note, under a ``kernel`` that
    makes it impossible).
    """
    verdict = verify(machine, rule, strategy, hotplug, kernel=kernel, notes=notes)
    if hotplug is None:
        hotplug = machine.hotplug
    guarded = kernel is not None and PROFILES[kernel].hotplug_guard is not None
    online = handler_online(machine, hotplug, kernel)
    if worker not in online:
        raise ParameterError(
            "worker", f"CPU {worker} is not online when the handler runs on {machine.name}"
        )
    mask = rmpopt_cpumask(machine, rule, machine.online)
    programmed_cpus = programming(kernel, strategy, mask, machine.online)
    move = dispatch(machine, mask, worker, strategy, online)
    words = LATEST if kernel is None else PROFILES[kernel].handler
    replay = _Replay(
        machine,
        worker,
        mask,
        online,
        programmed_cpus,
        call=case3_call(kernel),
        words=words,
        programs_online=kernel is not None and PROFILES[kernel].programs_online,
    )
    steps = replay.setup(rule, strategy, hotplug if hotplug and not guarded else None)
    steps += replay.handler(strategy, move.case, move.leader, move.followers)

    runs = replay.runs(move.leader, move.followers)
    programmed = {machine.core_index(cpu) for cpu in programmed_cpus}
    twice = sorted(machine.cores[core].first for core, n in runs.items() if n > 1)
    missed = sorted(machine.cores[core].first for core in programmed if runs[core] == 0)
    findings = [item for item in verdict.findings if item.check not in PER_WORKER]
    findings += replay.findings(move.leader, move.followers, runs, programmed, strategy)
    order = list(Check)
    findings.sort(key=lambda item: order.index(item.check))
    said = list(_notes(machine, verdict, len(online)))
    return Explanation(
        machine=machine,
        kernel=kernel,
        rule=rule,
        strategy=strategy,
        worker=worker,
        case=move.case,
        steps=tuple(steps),
        leader=move.leader,
        followers=move.followers,
        cores_twice=tuple(twice),
        cores_missed=tuple(missed),
        findings=tuple(findings),
        notes=tuple(said),
        online=online,
    )


def _notes(machine: Machine, verdict: Verdict, workers: int) -> tuple[str, ...]:
    """The verdict's notes, except that a rare branch (v8's case 3) that no worker
    takes here is shown with the smallest scenario that reaches it, read from the
    verdict's branch counts and the strategy's record."""
    item = STRATEGIES[verdict.strategy]
    counted = len(verdict.branches) + (item.note is not None)
    given = verdict.notes[: len(verdict.notes) - counted]
    said = [*given, *strategy_notes(verdict.strategy, verdict.branches, workers, rare=False)]
    if item.rare_branch is not None and dict(verdict.branches).get(item.rare_branch) == 0:
        said.append(branch_scenario(machine, verdict.rule, verdict.strategy, item.rare_branch))
    return tuple(said)


def handler_online(
    machine: Machine, hotplug: Hotplug | None, kernel: Kernel | None
) -> frozenset[int]:
    """The CPUs online when the handler runs: after the hotplug scenario (the
    file's when ``hotplug`` is None), unless ``kernel`` makes it impossible."""
    if hotplug is None:
        hotplug = machine.hotplug
    guarded = kernel is not None and PROFILES[kernel].hotplug_guard is not None
    return hotplug.handler_online(machine) if hotplug and not guarded else machine.online


def _step(line: Line, fields: dict[str, str]) -> KernelStep:
    """A record's kernel line, filled in for one worker."""
    return KernelStep(
        line.code.format(**fields), line.result.format(**fields), line.note.format(**fields)
    )


class _Replay:
    """The kernel's operations for one worker, as steps and counted runs."""

    def __init__(
        self,
        machine: Machine,
        worker: int,
        mask: frozenset[int],
        online: frozenset[int],
        programming: frozenset[int],
        *,
        call: LeaderCall = LeaderCall.WORK_ON_CPU,
        words: Handler = LATEST,
        programs_online: bool = False,
    ) -> None:
        self.call = call
        self.words = words
        self.words_everyone = programs_online
        self.machine = machine
        self.worker = worker
        self.mask = mask
        self.online = online
        self.programming = programming
        self.siblings = frozenset(machine.sibling_mask(worker, online))

    @property
    def followers_name(self) -> str:
        """The mask the followers are sent from: a local copy from v6 on, else the global one."""
        return "follower_mask" if self.words.local_copy else self.words.mask

    def where(self, cpu: int) -> str:
        core = self.machine.core_of(cpu)
        return f"{core.label()} (CPUs {format_cpulist(core.threads)})"

    def setup(self, rule: Rule, strategy: Strategy, hotplug: Hotplug | None) -> list[KernelStep]:
        steps = []
        item = STRATEGIES[strategy]
        everyone = item.programs_online or self.words_everyone
        if everyone:
            why = (
                item.setup_note
                if item.programs_online
                else "every CPU online at setup (the profile's note says how well this is known)"
            )
            steps.append(
                KernelStep(
                    "for_each_online_cpu(cpu) wrmsrq_on_cpu(cpu, MSR_AMD64_RMPOPT_BASE, "
                    "pa_start | RMPOPT_EN)",
                    format_cpulist(self.programming),
                    why,
                )
            )
        if item.has_mask:
            test = (
                "cpu == cpumask_first(topology_sibling_cpumask(cpu))"
                if rule is Rule.FIRST_SIBLING
                else "topology_is_primary_thread(cpu)"
            )
            writes = (
                "the pass runs on these"
                if everyone
                else "each writes MSR_AMD64_RMPOPT_BASE for its core"
            )
            steps.append(
                KernelStep(
                    f"for_each_online_cpu(cpu) if ({test}) cpumask_set_cpu(cpu, {self.words.mask})",
                    format_cpulist(self.mask),
                    f"{len(self.mask)} CPUs; {writes}",
                )
            )
        if hotplug is not None:
            steps.append(
                KernelStep(
                    f"CPU hotplug after setup ({hotplug.describe()})",
                    format_cpulist(self.online),
                    "cpu_online_mask when the handler runs; the mask and MSRs stay as set up",
                )
            )
        return steps

    def handler(
        self, strategy: Strategy, case: Case, leader: int | None, followers: frozenset[int]
    ) -> list[KernelStep]:
        w = self.worker
        item = STRATEGIES[strategy]
        sib = f"topology_sibling_cpumask({w})"
        steps = [KernelStep("this_cpu = smp_processor_id()", str(w), "the worker")]
        fields = {
            "w": str(w),
            "sib": sib,
            "mask": self.words.mask,
            "copy": format_cpulist(self.mask),
            "follow": format_cpulist(followers),
            "first": "none (the mask is empty)" if leader is None else str(leader),
            "leader": str(leader),
            "online": format_cpulist(self.online),
            "followers": self.followers_name,
        }
        if item.loop is not None:  # no leader loop, no follower IPIs: one line says it all
            return [*steps, _step(item.loop, fields)]
        steps.append(KernelStep(sib, format_cpulist(self.siblings), "its online threads"))
        steps += [
            _step(line, fields)
            for line in item.lines[case]
            if line.copy in {None, self.words.local_copy}
            and (leader is not None or not line.leader)
        ]
        steps.append(self._leader_loop(leader))
        reached = followers & self.online
        skipped = followers - self.online
        target = "follower_mask" if self.words.local_copy else f"&{self.words.mask}"
        steps.append(
            KernelStep(
                f"on_each_cpu_mask({target}, rmpopt_smp, pa, true), every region",
                format_cpulist(reached),
                f"offline CPU(s) {format_cpulist(skipped)} get no IPI" if skipped else "",
            )
        )
        if self.words.restores and w in self.mask:
            steps.append(
                KernelStep(
                    f"cpumask_set_cpu({w}, &{self.words.mask})",
                    format_cpulist(self.mask),
                    "restored after the pass; in v4 the task may have migrated by then",
                )
            )
        return steps

    def _leader_loop(self, leader: int | None) -> KernelStep:
        if leader is None:
            return KernelStep("leader loop", "none", "the mask is empty: nothing runs")
        if leader == self.worker:
            pin = self.words.pin
            code = "rmpopt(pa) for every region, here" + ("" if pin is None else f" ({pin})")
        elif self.call is LeaderCall.IPI:
            code = (
                f"smp_call_function_single({leader}, rmpopt_leader_fn, NULL, true): "
                "rmpopt(pa) for every region"
            )
        else:
            code = f"work_on_cpu({leader}, rmpopt_leader_fn): rmpopt(pa) for every region"
        if leader not in self.online:
            effect = leader_offline_effect(self.call, leader, self.where(leader))
            result = "-ENXIO" if self.call is LeaderCall.IPI else "a CPU nobody chose"
            return KernelStep(code, result, f"CPU {leader} is offline: {effect}")
        programmed = leader in self.programming or any(
            cpu in self.programming for cpu in self.machine.core_of(leader).threads
        )
        note = "" if programmed else "#UD: no CPU of this core wrote RMPOPT_BASE"
        return KernelStep(code, f"CPU {leader}, {self.where(leader)}", note)

    def runs(self, leader: int | None, followers: frozenset[int]) -> Counter[int]:
        """How often each core runs each region in this pass."""
        core_index = self.machine.core_index
        counted: Counter[int] = Counter(core_index(cpu) for cpu in followers & self.online)
        if leader is not None and leader in self.online:  # an offline leader runs nothing
            counted[core_index(leader)] += 1
        return counted

    def findings(
        self,
        leader: int | None,
        followers: frozenset[int],
        runs: Counter[int],
        programmed: set[int],
        strategy: Strategy,
    ) -> list[Finding]:
        """One finding per check: the first core that shows it, in words, and the
        first CPU of every core that does."""
        machine = self.machine
        reached = followers & self.online
        cases: dict[Check, list[tuple[int, str]]] = {}
        for core, count in sorted(runs.items()):
            threads = machine.cores[core].threads
            if core not in programmed and count:
                who = [cpu for cpu in threads if cpu in reached or cpu == leader]
                cases.setdefault(Check.UNPROGRAMMED_CORE, []).append(
                    (
                        core,
                        f"CPU(s) {format_cpulist(who)} run RMPOPT on "
                        f"{self.where(threads[0])}, whose RMPOPT_BASE no CPU wrote: #UD",
                    )
                )
            elif count > 1:
                cases.setdefault(Check.CORE_RUN_TWICE, []).append(
                    (core, self._twice(core, count, leader, reached, strategy))
                )
        for core in sorted(programmed):
            if runs[core] == 0:
                cases.setdefault(Check.CORE_MISSED, []).append(
                    (core, self._missed(core, followers, leader))
                )
        if leader is not None and leader not in self.online:
            cases[Check.LEADER_ONLINE] = [
                (
                    machine.core_index(leader),
                    f"case 3 picks CPU {leader} to lead, and it is offline: "
                    + leader_offline_effect(self.call, leader, self.where(leader)),
                )
            ]
        elif leader is not None:
            stray = sorted(reached & set(machine.core_of(leader).threads))
            if stray:
                cases[Check.FOLLOWERS_EXCLUDE_LEADER_CORE] = [
                    (
                        machine.core_index(leader),
                        f"{self.followers_name} still holds CPU(s) {format_cpulist(stray)} of the "
                        f"leader's own {self.where(leader)}",
                    )
                ]
        found = []
        for check, items in cases.items():
            message = items[0][1]
            if len(items) > 1:
                message += f" (and {len(items) - 1} more core(s))"
            firsts = tuple(machine.cores[core].first for core, _ in items)
            found.append(Finding(check, message, firsts))
        return found

    def _twice(
        self,
        core: int,
        count: int,
        leader: int | None,
        reached: frozenset[int],
        strategy: Strategy,
    ) -> str:
        threads = self.machine.cores[core].threads
        parts = []
        if leader is not None and leader in threads:
            parts.append(f"the leader loop on CPU {leader}")
        ipis = [cpu for cpu in threads if cpu in reached]
        if ipis:
            parts.append(f"IPIs to CPU(s) {format_cpulist(ipis)}")
        why = ""
        twice = STRATEGIES[strategy].twice
        if twice and leader in threads:
            why = twice.format(leader=leader, followers=self.followers_name)
        return (
            f"{self.where(threads[0])} runs every region {count} times: "
            + " and ".join(parts)
            + why
        )

    def _missed(self, core: int, followers: frozenset[int], leader: int | None) -> str:
        threads = self.machine.cores[core].threads
        ours = [cpu for cpu in threads if cpu in self.mask]
        gone = [cpu for cpu in ours if cpu in followers and cpu not in self.online]
        if leader in threads and leader not in self.online:
            call = f"{self.call}({leader}, rmpopt_leader_fn)"
            why = f"its mask CPU {leader} leads but is offline, and {call} " + (
                "returns -ENXIO" if self.call is LeaderCall.IPI else "runs it elsewhere"
            )
        elif not ours:
            why = (
                f"RMPOPT_BASE was written there, but no CPU of it is in {self.words.mask}, "
                "so the pass never reaches it"
            )
        elif gone:
            why = (
                f"its mask CPU(s) {format_cpulist(gone)} are offline when the handler runs, "
                "and on_each_cpu_mask() skips offline CPUs"
            )
        else:
            why = (
                f"{self.followers_name} lost its mask CPU(s) {format_cpulist(ours)} and the leader "
                "runs on another core"
            )
        return f"{self.where(threads[0])} is never optimized: {why}"


def case3_scenario(machine: Machine, rule: Rule) -> str:
    """v8's case 3 is unreachable here: the smallest change of online state that
    reaches it (:func:`branch_scenario`)."""
    return branch_scenario(machine, rule, Strategy.V8_THREE_WAY, Case.CASE_3)


def branch_scenario(machine: Machine, rule: Rule, strategy: Strategy, case: Case) -> str:
    """``case``, a branch no worker takes here (a strategy record's rare branch):
    the smallest change of online state that reaches it, checked by running the
    handler on the changed machine."""
    from rmpplan.topology.machine import Cpu, build_machine

    base = f"{case} is unreachable on this machine"
    mask = rmpopt_cpumask(machine, rule)
    for core in machine.cores:
        live = list(core.online_threads)
        chosen = [cpu for cpu in live if cpu in mask]
        if len(live) < 2 or not chosen:
            continue
        gone, worker = chosen[0], next(cpu for cpu in live if cpu != chosen[0])
        if rule is Rule.APIC_PRIMARY:
            # Offline at boot (maxcpus=, as in Prateek's v8 example): the APIC rule
            # skips the core, whose online sibling then finds no mask CPU.
            booted = build_machine(
                machine.name,
                [
                    Cpu(c.id, c.package, c.die, c.core, c.online and c.id != gone, c.apic_id)
                    for c in machine.cpus.values()
                ],
                machine.possible,
            )
            changed = dispatch(booted, rmpopt_cpumask(booted, rule), worker, strategy)
            if changed.case is case:
                return (
                    f"{base}; the smallest scenario that reaches it: CPU {gone} offline at "
                    f"boot (maxcpus=), so apic-primary leaves {core.label()} out of the mask "
                    f"and the handler on CPU {worker} takes {case} (SNP init would refuse "
                    "that boot: online != present)"
                )
        online = machine.online - {gone}
        changed = dispatch(machine, mask, worker, strategy, online)
        if changed.case is case:
            return (
                f"{base}; the smallest scenario that reaches it: "
                f"{named('offline_after_setup')} {gone} "
                f"(the mask CPU of {core.label()}), then the handler on CPU {worker} takes "
                f"{case} (impossible from v8 on: CPU hotplug is disabled)"
            )
    for cpu in sorted(machine.present - machine.online):
        if not machine.core_of(cpu).online_threads:
            # Onlined after setup, its whole core was offline at setup: no mask CPU.
            return (
                f"{base}; the smallest scenario that reaches it: "
                f"{named('online_after_setup')} {cpu}, "
                f"then the handler on CPU {cpu} takes {case} (impossible from v8 on: CPU "
                "hotplug is disabled)"
            )
    return f"{base}, and no single CPU changing state reaches it"
