"""``--format json``: the stable, documented contract (see docs/json.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from rmpplan.escaping import unicode_json
from rmpplan.render.common import (
    SCHEMA_VERSION,
    core_lists,
    cpulist,
    follower_lists,
    mask_hex,
    show_facts,
)
from rmpplan.render.display import PLAIN, Display
from rmpplan.tally import summary_of
from rmpplan.terms import Rule, Strategy

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Comparison, Finding
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plain import JSONValue
    from rmpplan.plan import PlanResult
    from rmpplan.schedule import ScheduleReport
    from rmpplan.tally import Summary
    from rmpplan.terms import Kernel


def dumps(document: JSONValue) -> str:
    """The document as UTF-8-ready JSON text. A lone surrogate (a path byte that is
    not UTF-8) is not Unicode, so it is written as ``\\xNN`` text (docs/json.md)."""
    text = (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    )
    return text if _encodes(text) else dumps(unicode_json(document))


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _rule(rule: Rule, strategy: Strategy) -> str | None:
    """The mask rule, or None under v2-all-cpus: v2 has no mask, so no rule applies."""
    from rmpplan.strategies import STRATEGIES

    return str(rule) if STRATEGIES[strategy].has_mask else None


def render_plan(result: PlanResult, display: Display = PLAIN) -> str:
    machine = result.machine
    followers = follower_lists(result)
    core_list = core_lists()
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": machine.name,
            "nr_cpu_ids": machine.nr_cpu_ids,
            "kernel": _kernel(result.kernel),
            "notes": list(result.notes),
            "rule": _rule(result.rule, result.strategy),
            "strategy": str(result.strategy),
            "rmpopt_cpumask": cpulist(result.mask),
            "rmpopt_cpumask_hex": mask_hex(machine, result.mask),
            "programmed_cores": result.programmed_cores,
            "plans": [
                {
                    "leader": item.worker,
                    "leader_core": core_list(item.worker_core),
                    "lead": item.leader,
                    "lead_core_programmed": item.leader_core_programmed,
                    "case": str(item.case),
                    "followers": followers(item),
                    "follower_count": item.follower_count,
                    "cores_covered": item.cores_covered,
                }
                for item in result.plans
            ],
        }
    )


def _kernel(kernel: Kernel | None) -> str | None:
    return None if kernel is None else str(kernel)


def finding(item: Finding) -> dict[str, JSONValue]:
    return {"check": item.check, "message": item.message, "cpus": list(item.cpus)}


def _verify_entry(checked: Checked) -> dict[str, JSONValue]:
    """One element of ``results``: also one line of ``--format jsonl``."""
    entry: dict[str, JSONValue] = {"path": checked.path, "ok": checked.ok}
    entry["name"] = None if checked.facts is None else checked.facts.name
    entry["shape"] = checked.shape
    held = checked.outcome
    if held is not None and checked.verdict is not None:
        entry["kernel"] = _kernel(checked.verdict.kernel)
        entry["rule"] = _rule(checked.verdict.rule, checked.verdict.strategy)
        entry["strategy"] = str(checked.verdict.strategy)
        entry["findings"] = [
            finding(item) | {"expected": expected} for item, expected in held.findings
        ]
        entry["notes"] = list(checked.verdict.notes)
        entry["stale_expectations"] = [str(check) for check in held.stale]
    else:
        entry["findings"] = []
        entry["error"] = checked.error
    return entry


def render_verify(
    results: Sequence[Checked], display: Display = PLAIN, *, config: Path | None = None
) -> str:
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "config": None if config is None else str(config),
            "ok": all(checked.ok for checked in results),
            "results": [_verify_entry(checked) for checked in results],
            "summary": summary_json(summary_of(results)),
        }
    )


def summary_json(summary: Summary) -> dict[str, int]:
    """The counts of ``verify``'s and ``summary``'s documents."""
    return {
        "files": summary.files,
        "ok": summary.ok,
        "failed": summary.failed,
        "bad_input": summary.bad_input,
        "shapes": summary.shapes,
    }


def render_summary(summary: Summary, display: Display = PLAIN) -> str:
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "ok": summary.exit_code == 0,
            "summary": summary_json(summary),
        }
    )


def verify_line(checked: Checked) -> str:
    """``checked``'s entry of ``results`` on one line, keys sorted, ending in a newline."""
    entry = _verify_entry(checked)
    line = json.dumps(
        entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    if not _encodes(line):
        line = json.dumps(
            unicode_json(entry),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
    return line + "\n"


def render_show(overview: Overview, display: Display = PLAIN) -> str:
    machine = overview.machine
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": machine.name,
            "source": machine.source,
            "nr_cpu_ids": machine.nr_cpu_ids,
            "present": cpulist(machine.present),
            "online": cpulist(machine.online),
            "possible": cpulist(machine.possible),
            "facts": {key: value for key, _, value in show_facts(overview)},
            "cores": [
                {
                    "package": core.key[0],
                    "die": core.key[1],
                    "core": core.key[2],
                    "cpus": cpulist(core.threads),
                    "online": cpulist(core.online_threads),
                    "apic_ids": [machine.cpus[cpu].apic_id for cpu in core.threads],
                }
                for core in machine.cores
            ],
        }
    )


def render_compare(result: Comparison, display: Display = PLAIN) -> str:
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": result.machine.name,
            "kernel": _kernel(result.kernel),
            "skipped": list(result.skipped),
            "results": [
                {
                    "strategy": str(verdict.strategy),
                    "rule": _rule(verdict.rule, verdict.strategy),
                    "ok": verdict.ok,
                    "rmpopt_cpumask": cpulist(verdict.mask),
                    "findings": [finding(item) for item in verdict.findings],
                    "notes": list(verdict.notes),
                }
                for verdict in result.verdicts
            ],
        }
    )


def render_schedule(report: ScheduleReport, display: Display = PLAIN) -> str:
    window = report.window
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": report.machine.name,
            "kernel": _kernel(report.kernel),
            "notes": list(report.notes),
            "findings": [finding(item) for item in report.findings],
            "leader": report.worker,
            "window": {
                "start": window.start,
                "end": window.end,
                "regions": window.regions,
                "capped": window.capped,
                "uncovered_from": window.uncovered_from,
            },
            "cost_model": asdict(report.model),
            "strategies": [
                {
                    "strategy": str(item.strategy),
                    "rule": _rule(item.rule, item.strategy),
                    "case": str(item.case),
                    "leaders": list(item.leaders),
                    "follower_count": item.follower_count,
                    "rmpopt_executions": item.rmpopt_executions,
                    "ipis": item.ipis,
                    "per_core_min": item.per_core_min,
                    "per_core_max": item.per_core_max,
                    "in_window": item.in_window,
                    "estimate_ms": round(item.cost.total_ms, 3),
                    "leader_ms": round(item.cost.leader_ms, 3),
                    "followers_ms": round(item.cost.followers_ms, 3),
                }
                for item in report.strategies
            ],
        }
    )


def render_explain(explanation: Explanation, display: Display = PLAIN) -> str:
    e = explanation
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": e.machine.name,
            "kernel": _kernel(e.kernel),
            "rule": _rule(e.rule, e.strategy),
            "strategy": str(e.strategy),
            "worker": e.worker,
            "case": str(e.case),
            "steps": [
                {"code": step.code, "result": step.result, "note": step.note} for step in e.steps
            ],
            "leader": e.leader,
            "followers": cpulist(e.followers),
            "cores_twice": cpulist(e.cores_twice),
            "cores_missed": cpulist(e.cores_missed),
            "ok": e.ok,
            "findings": [finding(item) for item in e.findings],
            "notes": list(e.notes),
        }
    )
