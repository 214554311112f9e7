"""Measure how rmpplan's work grows with the shape of the machine, in one run.

A machine's cost should be linear in its CPUs and cores whatever its shape:
one core of 8,192 threads, 8,192 packages of one thread, sparse CPU ids, or a
mask that holds every thread of a core. For each shape this writes a topology
file of N and of N/2 CPUs, then runs each command on it in a fresh child
process (``compare``, ``verify``, ``plan --leader all --format json`` and
``explain`` of the last CPU), and reports the child's time for the command
alone (after imports and loading), its peak RSS, and the ratio of the two
sizes' times: about 2 when the work is linear, about 4 when it is quadratic.

Usage: ``python bench/shapes.py [--cpus N] [--shape NAME ...] [--command NAME ...]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _layout(packages: int, cores: int, threads: int) -> dict[str, Any]:
    return {
        "layout": {
            "packages": packages,
            "dies_per_package": 1,
            "cores_per_die": cores,
            "threads_per_core": threads,
        }
    }


def _sparse(n: int) -> dict[str, Any]:
    # n CPUs, 2 threads a core, ids spread over 0..8191 (every eighth id at 8192).
    stride = max(8192 // n, 1)
    cpus = [
        {"id": i * stride, "package": 0, "die": 0, "core": i // 2, "apic_id": i} for i in range(n)
    ]
    return {"possible": "0-8191", "cpus": cpus}


def _all_primary(n: int) -> dict[str, Any]:
    # One core whose every thread's APIC id is a multiple of the SMT width: under
    # apic-primary the mask holds the whole core.
    return {
        "cpus": [{"id": i, "package": 0, "die": 0, "core": 0, "apic_id": i * n} for i in range(n)]
    }


SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {
    "1 core x N threads": lambda n: _layout(1, 1, n),
    "2 cores x N/2 threads": lambda n: _layout(1, 2, n // 2),
    "N packages x 1 thread": lambda n: _layout(n, 1, 1),
    "sparse ids, 2 threads a core": _sparse,
    "1 core, every thread primary": _all_primary,
}

# Runs one command on one file in this (child) process; prints seconds and peak RSS.
CHILD = """
import json, resource, sys, time
from pathlib import Path
from rmpplan import api
from rmpplan.checks import Checked
command, path = sys.argv[1], Path(sys.argv[2])
start = time.perf_counter()
machine = api.load(path)
loaded = time.perf_counter()
rule = "apic-primary" if machine.name.startswith("all-primary") else "first-sibling"
if command == "compare":
    out = api.render(api.compare(machine))
elif command == "verify":
    out = api.render(Checked(str(path), machine, api.verify(machine, rule)))
elif command == "plan --leader all":
    out = api.render(api.plan(machine, "all", rule))
else:
    from rmpplan.render import json as render_json
    out = render_json.render_explain(api.explain(machine, max(machine.online), rule))
done = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
took = {"load": loaded - start, "run": done - loaded, "rss": rss, "out": len(out)}
print("@@" + json.dumps(took))
"""

COMMANDS = ("compare", "verify", "plan --leader all", "explain")


def measure(command: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, command, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{command} {path}: failed\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("@@"))
    result: dict[str, float] = json.loads(line[2:])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpus", type=int, default=8192, help="N, the larger size (default 8192)")
    parser.add_argument("--shape", action="append", choices=list(SHAPES), help="only these")
    parser.add_argument("--command", action="append", choices=COMMANDS, help="only these")
    args = parser.parse_args()
    n = args.cpus
    print(f"rmpplan shapes: N = {n}; each command timed after imports and load, in its own child")
    head = f"{'shape':30} {'command':18} {'N/2 s':>8} {'N s':>8} {'ratio':>6}"
    print(head + f" {'N MiB':>7} {'N out':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shape or SHAPES:
            files: list[Path] = []
            for size in (n // 2, n):
                doc = {"name": f"{'all-primary' if 'primary' in shape else 'shape'}-{size}"}
                doc.update(SHAPES[shape](size))
                path = Path(folder) / f"{len(files)}-{size}.json"
                path.write_text(json.dumps(doc))
                files.append(path)
            for command in args.command or COMMANDS:
                half, full = (measure(command, path) for path in files)
                ratio = full["run"] / half["run"] if half["run"] > 0 else float("nan")
                print(
                    f"{shape:30} {command:18} {half['run']:8.3f} {full['run']:8.3f} "
                    f"{ratio:6.1f} {full['rss'] / 1024:7.0f} {int(full['out']):>10}",
                    flush=True,
                )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s; ratio ~2 is linear, ~4 quadratic)")
