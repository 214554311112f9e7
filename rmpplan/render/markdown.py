"""``--format markdown``: tables to paste into a pull request or a bug."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.escaping import printable
from rmpplan.render.common import (
    cpulist,
    follower_lists,
    group_line,
    grouped,
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
from rmpplan.render.outcome import STALE, verdict_label
from rmpplan.tally import summary_of

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Comparison, Outcome
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult
    from rmpplan.schedule import ScheduleReport
    from rmpplan.tally import Summary
    from rmpplan.terms import Kernel


def _kernel_lines(kernel: Kernel | None, notes: Sequence[str]) -> list[str]:
    """Bullets naming the modelled kernel and the report's notes."""
    text = kernel_text(kernel)
    return ([f"- kernel: {text}"] if text else []) + [f"- note: {_cell(n)}" for n in notes]


def _code(text: str) -> str:
    """A cpulist in a table cell, or (none)."""
    return _literal(text) if text else "(none)"


def _literal(text: str, *, table: bool = True) -> str:
    """``text`` (a name, a path) as a code span that shows it exactly: escaped to one
    line, fenced with more backticks than it holds, and its ``|`` escaped when in a
    table (GitHub's tables split cells there even inside code)."""
    text = printable(text)
    if table:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    # CommonMark drops one space from each end of a span that has one at both ends.
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MARKUP = re.compile(r"([\\|`<>*\[\]])")


def _cell(text: str) -> str:
    """Prose (a message, a note, an error) on one line, where nothing in it can end
    the cell or start markup: ``|``, backticks, ``*``, brackets, ``<`` escaped."""
    return _MARKUP.sub(r"\\\1", printable(text))


def render_plan(result: PlanResult, display: Display = PLAIN) -> str:
    machine = result.machine
    cores = result.programmed_cores
    followers = follower_lists(result)
    rows = grouped(result.plans)
    lines = [
        f"### RMPOPT plan for {_literal(machine.name, table=False)}",
        "",
        f"{machine_summary(machine)}; rule `{rule_text(result.rule, result.strategy)}`, "
        f"strategy `{result.strategy}`.",
        "",
        f"- `rmpopt_cpumask`: {_code(cpulist(result.mask))} ({len(result.mask)} CPUs, "
        f"{cores} cores)",
        f"- hex: {_code(mask_hex(machine, result.mask))}",
        *_kernel_lines(result.kernel, result.notes),
        "",
        "| leader | leader core | followers | count | cores covered | note |",
        "|---|---|---|---:|---:|---|",
    ]
    for leaders, item in rows:
        lines.append(
            f"| {_code(cpulist(leaders))} | {_code(cpulist(item.worker_core))} "
            f"| {_code(followers(item))} | {item.follower_count} "
            f"| {item.cores_covered}/{cores} | {_cell(lead_note(item))} |"
        )
    return "\n".join(lines) + "\n"


def render_verify(
    results: Sequence[Checked],
    display: Display = PLAIN,
    *,
    config: Path | None = None,
    limit: int | None = None,
) -> str:
    """The report; ``config`` is the configuration file used (None: there was none);
    with ``limit``, at most that many bytes of UTF-8 (a job summary's cap): when the
    whole does not fit, see :func:`_capped`."""
    passed = sum(1 for checked in results if checked.ok)
    used = "none" if config is None else _literal(str(config), table=False)
    head = [f"### rmpplan verify: {passed} of {len(results)} passed", "", f"config: {used}", ""]
    table = ["| path | topology | rule | strategy | verdict |", "|---|---|---|---|---|"]
    rows: list[str] = []
    sections: list[list[str]] = []  # each input's findings, empty when it has none
    for checked in results:
        sections.append([])
        held = checked.outcome
        if held is None or checked.verdict is None or checked.facts is None:
            rows.append(f"| {_literal(checked.path)} | | | | error: {_cell(checked.error or '')} |")
            continue
        verdict = checked.verdict
        state = verdict_label(held)
        rows.append(
            f"| {_literal(checked.path)} | {_literal(checked.facts.name)} | "
            f"{rule_text(verdict.rule, verdict.strategy)} "
            f"| {verdict.strategy} | {state if held.ok else f'**{state}**'} |"
        )
        if verdict.findings or held.stale:
            sections[-1] = _findings(checked, held)
    tail = ["", *_summary(summary_of(results))] if len(results) > 1 else []
    lines = [*head, *table, *rows, *(line for section in sections for line in section), *tail]
    text = "\n".join(lines) + "\n"
    if limit is None or _size(text) <= limit:
        return text
    return _capped(results, _Parts(head, table, rows, sections, tail), limit)


def _findings(checked: Checked, held: Outcome) -> list[str]:
    heading = f"#### {_literal(checked.path, table=False)}"
    lines = ["", heading, "", "| check | CPUs | message |", "|---|---|---|"]
    for item, expected in held.findings:
        mark = " (expected)" if expected else ""
        lines.append(
            f"| `{item.check}`{mark} | {_code(cpulist(item.cpus))} | {_cell(item.message)} |"
        )
    lines += [f"| `{stale}` (stale) | | {_cell(STALE)} |" for stale in held.stale]
    return lines


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


_MORE = (
    "**{} more input(s) not shown here**: the summary of one step holds 1 MiB; "
    "the step's log lists every one."
)


@dataclass(frozen=True, slots=True)
class _Parts:
    """A verify report's lines, kept apart so that it can be cut by whole inputs."""

    head: list[str]
    table: list[str]
    rows: list[str]  # one per input
    sections: list[list[str]]  # one per input: its findings, or nothing
    tail: list[str]  # the fleet summary, after a blank line


def _capped(results: Sequence[Checked], parts: _Parts, limit: int) -> str:
    """The report within ``limit`` bytes: the counts first, then whole inputs (a
    row and its findings), those that failed before those that passed, each in
    input order, while they fit; then a line saying how many more there are."""
    counts = [*parts.tail[1:], ""] if parts.tail else []
    fixed = [*parts.head, *counts, *parts.table, "", _MORE.format(len(results))]
    budget = limit - _size("\n".join(fixed) + "\n")
    failed = [index for index, checked in enumerate(results) if not checked.ok]
    passed = [index for index, checked in enumerate(results) if checked.ok]
    chosen: list[int] = []
    for index in failed + passed:
        cost = sum(_size(line) + 1 for line in (parts.rows[index], *parts.sections[index]))
        if cost > budget:
            break
        budget -= cost
        chosen.append(index)
    chosen.sort()
    lines = [
        *parts.head,
        *counts,
        *parts.table,
        *(parts.rows[index] for index in chosen),
        *(line for index in chosen for line in parts.sections[index]),
        "",
        _MORE.format(len(results) - len(chosen)),
    ]
    return "\n".join(lines) + "\n"


def _summary(summary: Summary) -> list[str]:
    groups = [f"- {group_line(group)}" for group in summary.groups]
    return ["#### Summary", "", f"{summary_head(summary)}.", *([""] if groups else []), *groups]


def render_summary(summary: Summary, display: Display = PLAIN) -> str:
    return "\n".join(_summary(summary)) + "\n"


def render_show(overview: Overview, display: Display = PLAIN) -> str:
    machine = overview.machine
    facts = show_facts(overview)
    lines = [
        f"### Topology {_literal(machine.name, table=False)}",
        "",
        f"{machine_summary(machine)}.",
        "",
        *(f"- {label}: {_cell(value)}" for _, label, value in facts),
        *([""] if facts else []),
        "| package | die | core | CPUs | offline |",
        "|---:|---:|---:|---|---|",
    ]
    for core in machine.cores:
        offline = [cpu for cpu in core.threads if cpu not in machine.online]
        lines.append(
            f"| {core.key[0]} | {core.key[1]} | {core.key[2]} | {_code(cpulist(core.threads))} "
            f"| {_code(cpulist(offline)) if offline else ''} |"
        )
    return "\n".join(lines) + "\n"


def render_compare(result: Comparison, display: Display = PLAIN) -> str:
    lines = [
        f"### Strategies and rules on {_literal(result.machine.name, table=False)}",
        "",
        *_kernel_lines(result.kernel, ()),
        *([""] if result.kernel else []),
        "| strategy | rule | verdict | counterexample workers | notes |",
        "|---|---|---|---|---|",
    ]
    for verdict in result.verdicts:
        cpus = sorted({cpu for item in verdict.findings for cpu in item.cpus})
        checks = ", ".join(f"`{item.check}`" for item in verdict.findings)
        state = "ok" if verdict.ok else f"**fails**: {checks}"
        lines.append(
            f"| `{verdict.strategy}` | `{rule_text(verdict.rule, verdict.strategy)}` | {state} "
            f"| {_code(cpulist(cpus)) if cpus else ''} | {_cell('; '.join(verdict.notes))} |"
        )
    lines += ["", *(f"- {_cell(reason)}" for reason in result.skipped)] if result.skipped else []
    return "\n".join(lines) + "\n"


def render_schedule(report: ScheduleReport, display: Display = PLAIN) -> str:
    name = _literal(report.machine.name, table=False)
    lines = [
        f"### One RMPOPT pass on {name} from CPU {report.worker}",
        "",
        *(f"- {line}" for line in window_lines(report.window)),
        *_kernel_lines(report.kernel, report.notes),
        *(f"- **`{item.check}`**: {_cell(item.message)}" for item in report.findings),
        "",
        "| strategy | rule | leaders | followers | RMPOPTs | IPIs | per core | in window "
        "| estimate (ms) |",
        "|---|---|---|---:|---:|---:|---|---|---:|",
    ]
    for item in report.strategies:
        lines.append(
            f"| `{item.strategy}` | `{rule_text(item.rule, item.strategy)}` "
            f"| {_code(cpulist(item.leaders))} "
            f"| {item.follower_count} | {item.rmpopt_executions} | {item.ipis} "
            f"| {item.per_core_min}-{item.per_core_max} | {'yes' if item.in_window else 'NO'} "
            f"| {item.cost.total_ms:.1f} |"
        )
    return "\n".join(lines) + "\n"


def render_explain(explanation: Explanation, display: Display = PLAIN) -> str:
    e = explanation
    verdict = "ok" if e.ok else f"**{len(e.findings)} finding(s)**"
    leader = "none" if e.leader is None else f"CPU {e.leader}"
    lines = [
        f"### How the handler runs on CPU {e.worker} of {_literal(e.machine.name, table=False)}",
        "",
        f"Rule `{rule_text(e.rule, e.strategy)}`, strategy `{e.strategy}`, {e.case}; "
        f"verdict: {verdict}.",
        *_kernel_lines(e.kernel, ()),
        "",
        "| # | kernel operation | result | note |",
        "|---:|---|---|---|",
        *(
            f"| {n} | {_literal(step.code)} | {_code(step.result)} | {_cell(step.note)} |"
            for n, step in enumerate(e.steps, 1)
        ),
        "",
        f"- leader: {leader}; followers: {_code(cpulist(e.followers))}",
        f"- cores run twice: {_code(cpulist(e.cores_twice))}; "
        f"cores missed: {_code(cpulist(e.cores_missed))}",
        *(f"- `{item.check}`: {_cell(item.message)}" for item in e.findings),
        *(f"- note: {_cell(note)}" for note in e.notes),
    ]
    return "\n".join(lines) + "\n"
