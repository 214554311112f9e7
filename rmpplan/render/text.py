"""``--format text``: plain lines for logs and grep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rmpplan.escaping import printable
from rmpplan.render.common import (
    config_line,
    core_lists,
    cpulist,
    follower_lists,
    group_line,
    kernel_text,
    lead_note,
    machine_summary,
    mask_hex,
    rule_text,
    show_facts,
    summary_head,
    window_lines,
)
from rmpplan.render.display import PLAIN, Display
from rmpplan.render.outcome import STALE
from rmpplan.tally import summary_of

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Comparison
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult
    from rmpplan.schedule import ScheduleReport
    from rmpplan.tally import Summary
    from rmpplan.topology.machine import Machine


def render_plan(result: PlanResult, display: Display = PLAIN) -> str:
    machine = result.machine
    cores = result.programmed_cores
    followers = follower_lists(result)
    core_list = core_lists()
    lines = [
        f"topology: {machine.name}",
        f"machine: {machine_summary(machine)}",
        f"rule: {rule_text(result.rule, result.strategy)}",
        f"strategy: {result.strategy}",
        f"rmpopt_cpumask: {cpulist(result.mask)} ({len(result.mask)} CPUs, {cores} cores)",
        f"rmpopt_cpumask_hex: {mask_hex(machine, result.mask)}",
    ]
    kernel = kernel_text(result.kernel)
    if kernel:
        lines.insert(2, f"kernel: {kernel}")
    lines += [f"note: {note}" for note in result.notes]
    for item in result.plans:
        note = lead_note(item)
        lines.append(
            f"leader {item.worker}: leader_core {core_list(item.worker_core)}; "
            f"followers {followers(item) or '(none)'} ({item.follower_count}); "
            f"cores covered {item.cores_covered} of {cores}" + (f"; {note}" if note else "")
        )
    return _joined(lines)


def render_verify(
    results: Sequence[Checked], display: Display = PLAIN, *, config: Path | None = None
) -> str:
    lines = [config_line(config)]
    for checked in results:
        held = checked.outcome
        if held is None or checked.verdict is None or checked.facts is None:
            lines.append(f"ERROR {checked.path}: {checked.error}")
            continue
        verdict = checked.verdict
        # xfail: every finding was expected (pytest's word for it).
        head = "FAIL " if not held.ok else "xfail" if held.expected else "ok   "
        counts = f"{len(verdict.findings)} finding(s)"
        counts += f", {len(held.expected)} expected" if held.expected else ""
        counts += f", {len(held.stale)} stale expectation(s)" if held.stale else ""
        lines.append(
            f"{head} {checked.path} ({checked.facts.name}): {machine_summary(checked.facts)}; "
            f"rule {rule_text(verdict.rule, verdict.strategy)}, "
            f"strategy {verdict.strategy}; {counts}"
        )
        for item, expected in held.findings:
            mark = " (expected)" if expected else ""
            lines.append(f"  {item.check}{mark}: {item.message} [cpus {cpulist(item.cpus)}]")
        lines += [f"  {stale} (stale): {STALE}" for stale in held.stale]
        for note in verdict.notes:
            lines.append(f"  note: {note}")
    if len(results) > 1:
        lines += _summary(summary_of(results))
    return _joined(lines)


def _summary(summary: Summary) -> list[str]:
    return [f"summary: {summary_head(summary)}", *(f"  {group_line(g)}" for g in summary.groups)]


def render_summary(summary: Summary, display: Display = PLAIN) -> str:
    return "\n".join(_summary(summary)) + "\n"


def render_show(overview: Overview, display: Display = PLAIN) -> str:
    machine = overview.machine
    lines = [f"topology: {machine.name}", f"machine: {machine_summary(machine)}"]
    if machine.source:
        lines.append(f"source: {machine.source}")
    lines.append(f"possible: {cpulist(machine.possible)}")
    offline = machine.present - machine.online
    lines.append(f"offline: {cpulist(offline) or '(none)'}")
    lines += [f"{label}: {value}" for _, label, value in show_facts(overview)]
    for core in machine.cores:
        package, die, number = core.key
        marks = ",".join(_thread(machine, cpu) for cpu in core.threads)
        lines.append(f"package {package} die {die} core {number}: {marks}")
    return _joined(lines)


def render_compare(result: Comparison, display: Display = PLAIN) -> str:
    lines = [f"topology: {result.machine.name}"]
    kernel = kernel_text(result.kernel)
    if kernel:
        lines.append(f"kernel: {kernel}")
    lines += [f"skipped: {reason}" for reason in result.skipped]
    for verdict in result.verdicts:
        state = "ok" if verdict.ok else f"{len(verdict.findings)} finding(s)"
        lines.append(f"{verdict.strategy} {rule_text(verdict.rule, verdict.strategy)}: {state}")
        for item in verdict.findings:
            lines.append(f"  {item.check}: {item.message} [cpus {cpulist(item.cpus)}]")
        lines += [f"  note: {note}" for note in verdict.notes]
    return _joined(lines)


def render_schedule(report: ScheduleReport, display: Display = PLAIN) -> str:
    lines = window_lines(report.window)
    lines.append(f"topology: {report.machine.name}; worker CPU {report.worker}")
    kernel = kernel_text(report.kernel)
    if kernel:
        lines.append(f"kernel: {kernel}")
    lines += [f"note: {note}" for note in report.notes]
    lines += [f"{item.check}: {item.message}" for item in report.findings]
    for item in report.strategies:
        lines.append(
            f"{item.strategy} ({rule_text(item.rule, item.strategy)}, {item.case}): "
            f"leaders {cpulist(item.leaders) or '-'}; "
            f"followers {item.follower_count}; rmpopt_executions {item.rmpopt_executions}; "
            f"ipis {item.ipis}; per_core {item.per_core_min}-{item.per_core_max}; "
            f"in_window {'yes' if item.in_window else 'NO'}; "
            f"estimate_ms {item.cost.total_ms:.1f}"
        )
    return _joined(lines)


def _joined(lines: list[str]) -> str:
    """One report line per entry, whatever a name or path holds: a line break or
    control character in one is escaped (rmpplan.escaping.printable)."""
    return "".join(printable(line) + "\n" for line in lines)


def _thread(machine: Machine, cpu: int) -> str:
    """One CPU of ``show``: its number, APIC id when known, and offline state."""
    apic = machine.cpus[cpu].apic_id
    return (
        f"{cpu}"
        + ("" if apic is None else f"[apic {apic}]")
        + ("" if cpu in machine.online else "(offline)")
    )


def render_explain(explanation: Explanation, display: Display = PLAIN) -> str:
    e = explanation
    lines = [f"topology: {e.machine.name}"]
    kernel = kernel_text(e.kernel)
    if kernel:
        lines.append(f"kernel: {kernel}")
    lines.append(
        f"rule: {rule_text(e.rule, e.strategy)}; strategy: {e.strategy}; "
        f"worker: CPU {e.worker}; {e.case}"
    )
    for number, step in enumerate(e.steps, 1):
        lines.append(f"{number}. {step.code}")
        lines.append(
            f"   -> {step.result or '(empty)'}" + (f"  ({step.note})" if step.note else "")
        )
    leader = "none" if e.leader is None else f"CPU {e.leader}"
    lines.append(f"leader: {leader}; followers: {cpulist(e.followers) or '(none)'}")
    lines.append(
        f"cores run twice: {cpulist(e.cores_twice) or '(none)'}; "
        f"cores missed: {cpulist(e.cores_missed) or '(none)'}"
    )
    lines.append("verdict: ok" if e.ok else f"verdict: {len(e.findings)} finding(s)")
    for item in e.findings:
        lines.append(f"  {item.check}: {item.message} [cpus {cpulist(item.cpus)}]")
    lines += [f"note: {note}" for note in e.notes]
    return _joined(lines)
