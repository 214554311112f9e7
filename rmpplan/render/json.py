"""``--format json``: the stable, documented contract (see docs/json.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rmpplan.checks import Checked, Finding
from rmpplan.plan import PlanResult
from rmpplan.render.common import (
    PLAIN,
    SCHEMA_VERSION,
    Display,
    cpulist,
    mask_hex,
    programmed_cores,
)
from rmpplan.topology.machine import Machine


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_plan(result: PlanResult, display: Display = PLAIN) -> str:
    machine = result.machine
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": machine.name,
            "nr_cpu_ids": machine.nr_cpu_ids,
            "rule": str(result.rule),
            "strategy": str(result.strategy),
            "rmpopt_cpumask": cpulist(result.mask),
            "rmpopt_cpumask_hex": mask_hex(machine, result.mask),
            "programmed_cores": programmed_cores(result),
            "plans": [
                {
                    "leader": item.leader,
                    "leader_core": cpulist(item.leader_core),
                    "followers": cpulist(item.followers),
                    "follower_count": len(item.followers),
                    "cores_covered": item.cores_covered,
                }
                for item in result.plans
            ],
        }
    )


def finding(item: Finding) -> dict[str, Any]:
    return {"check": item.check, "message": item.message, "cpus": list(item.cpus)}


def render_verify(results: Sequence[Checked], display: Display = PLAIN) -> str:
    entries = []
    for checked in results:
        entry: dict[str, Any] = {"path": checked.path, "ok": checked.ok}
        if checked.machine is not None:
            entry["name"] = checked.machine.name
        else:
            entry["name"] = None
        if checked.verdict is not None:
            entry["rule"] = str(checked.verdict.rule)
            entry["strategy"] = str(checked.verdict.strategy)
            entry["findings"] = [finding(item) for item in checked.verdict.findings]
            entry["notes"] = list(checked.verdict.notes)
        else:
            entry["findings"] = []
            entry["error"] = checked.error
        entries.append(entry)
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "ok": all(checked.ok for checked in results),
            "results": entries,
        }
    )


def render_show(machine: Machine, display: Display = PLAIN) -> str:
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "topology": machine.name,
            "source": machine.source,
            "nr_cpu_ids": machine.nr_cpu_ids,
            "present": cpulist(machine.present),
            "online": cpulist(machine.online),
            "possible": cpulist(machine.possible),
            "cores": [
                {
                    "package": core.key[0],
                    "die": core.key[1],
                    "core": core.key[2],
                    "cpus": cpulist(core.threads),
                    "online": cpulist(core.online),
                }
                for core in machine.cores
            ],
        }
    )
