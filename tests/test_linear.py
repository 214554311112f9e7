"""Work grows linearly with the machine, whatever its shape: one core of many
threads, many packages of one thread, sparse ids, a mask holding a whole core.

The measure is an operation count, not a time: the lines of rmpplan's own code
that run (counted with sys.settrace) for a machine of n and of 2n CPUs. Linear
work about doubles; work that grows with threads x threads about quadruples.
bench/shapes.py measures the same shapes in seconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import rmpplan
from rmpplan import api
from rmpplan.checks import Checked
from rmpplan.render import Display, table
from rmpplan.topology.load import parse_topology
from rmpplan.topology.machine import Machine

PACKAGE = str(Path(rmpplan.__file__).parent)
N = 128


def _layout(packages: int, cores: int, threads: int) -> dict[str, Any]:
    return {
        "layout": {
            "packages": packages,
            "dies_per_package": 1,
            "cores_per_die": cores,
            "threads_per_core": threads,
        }
    }


SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {
    "one core": lambda n: _layout(1, 1, n),
    "two cores": lambda n: _layout(1, 2, n // 2),
    "packages of one thread": lambda n: _layout(n, 1, 1),
    "sparse ids": lambda n: {
        "possible": "0-8191",
        "cpus": [
            {"id": i * (8192 // n), "package": 0, "die": 0, "core": i // 2, "apic_id": i}
            for i in range(n)
        ],
    },
    # Every APIC id a multiple of the SMT width: under apic-primary the mask is the core.
    "every thread primary": lambda n: {
        "cpus": [{"id": i, "package": 0, "die": 0, "core": 0, "apic_id": i * n} for i in range(n)]
    },
}

COMMANDS: dict[str, Callable[[Machine, str], object]] = {
    "compare": lambda m, rule: api.render(api.compare(m)),
    "verify": lambda m, rule: api.render(Checked("p", m, api.verify(m, rule))),
    "plan --leader all": lambda m, rule: api.render(api.plan(m, "all", rule)),
    "plan --format text": lambda m, rule: api.render(api.plan(m, "all", rule), "text"),
    "plan --format markdown": lambda m, rule: api.render(api.plan(m, "all", rule), "markdown"),
    "plan on a terminal": lambda m, rule: table.render_plan(
        api.plan(m, "all", rule), Display(width=80)
    ),
    "explain": lambda m, rule: api.explain(m, max(m.online), rule),
}


def lines_run(command: Callable[[Machine, str], object], machine: Machine, rule: str) -> int:
    """How many lines of rmpplan's code ``command`` runs on ``machine``."""
    count = 0

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    sys.settrace(calls)
    try:
        command(machine, rule)
    finally:
        sys.settrace(None)
    return count


def machine(shape: str, n: int) -> Machine:
    document = {"name": "shape", **SHAPES[shape](n)}
    return parse_topology(json.dumps(document), ".json", "shape")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_work_doubles_with_the_cpus(shape: str) -> None:
    """Every command's operation count on 2n CPUs is at most ~2x that on n CPUs."""
    rule = "apic-primary" if shape == "every thread primary" else "first-sibling"
    small, large = machine(shape, N), machine(shape, 2 * N)
    for name, command in COMMANDS.items():
        ratio = lines_run(command, large, rule) / lines_run(command, small, rule)
        assert ratio < 2.3, f"{name} on {shape}: {ratio:.2f}x the work for 2x the CPUs"
