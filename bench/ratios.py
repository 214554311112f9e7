"""Measure rmpplan's performance ratios in one interleaved run.

Absolute times on a shared, noisy machine say little; the ratio of two
commands timed in the same run, round-robin, says much more. Every command
is run N times (``--runs``, default 15), interleaved with the others, and the
table reports each command's median wall time, median CPU time (user + sys
of the child) and peak RSS (the child's own ``ru_maxrss``, read with
``os.wait4``), then the ratios of medians with their targets, and where
the load of the two largest bundled topologies goes (graph build vs the
rest), timed inside fresh child processes.

Usage: ``python bench/ratios.py [--runs N] [--check]``
(``make bench`` runs it with the project's venv). Exit 1 when a measured
command fails; with ``--check``, exit 3 when a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REAL = Path("..") / "shared" / "fixtures" / "real"
ZEN4_XML = REAL / "hwxml-AMD-19h-Zen4-2xEpyc-9654" / "topology.xml"
HEAVY = ("networkx", "pydantic", "rich", "yaml")
MAX = "topologies/max-8192.yaml"
EPYC_9965 = "topologies/epyc-9965-2s.yaml"
# The floor under every command that reads a machine: importing the packages it depends on.
DEPENDENCIES = ("click", *HEAVY)

# Runs the CLI's own main() on --help, then reports which heavy modules it pulled in.
HELP_PROBE = f"""
import json, sys
from rmpplan.cli.main import main
try:
    main(["--help"])
except SystemExit:
    pass
print("@@" + json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))
"""

# Loads one topology file the way `plan` does, after the imports `plan` makes (so
# the garbage collector sees the same heap; networkx too, which build_machine
# imports on first use), and times build_machine (the checks, the graph and the
# Machine on it) apart from the rest (read, parse, validate, expand) and from
# the first plan on the machine (its first queries, which index the graph).
LOAD_PROBE = """
import json, sys, time
from pathlib import Path
import networkx
import rmpplan.cli.main, rmpplan.cli.plan, rmpplan.inputs, rmpplan.render.table
import rmpplan.topology.load as load
from rmpplan.plan import plan
build = load.build_machine
spent = []
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return build(*args, **kwargs)
    finally:
        spent.append(time.perf_counter() - start)
load.build_machine = timed
start = time.perf_counter()
machine = load.load_topology_file(Path(sys.argv[1]))
loaded = time.perf_counter()
plan(machine, (min(machine.online),))
done = time.perf_counter()
print("@@" + json.dumps({"load": loaded - start, "graph": sum(spent), "plan": done - loaded}))
"""
LOAD_FILES = (EPYC_9965, MAX)


class BenchError(Exception):
    """A measured command failed: the benchmark cannot be trusted."""


@dataclass
class Row:
    """One command to time, and its measurements."""

    key: str
    label: str
    argv: list[str]
    optional: bool = False
    skip: str | None = None
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def median_wall(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.walls)

    def median_cpu(self) -> float:
        """Median user + system CPU time in seconds."""
        return statistics.median(self.cpus)

    def peak_mib(self) -> float:
        """Largest peak RSS over all runs, in MiB."""
        return max(self.rss_kib) / 1024


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator of two rows' medians, with an optional target."""

    label: str
    num: str
    den: str
    target: float | None


@dataclass(frozen=True)
class Result:
    """What one run of a command did."""

    code: int
    wall: float
    cpu: float
    rss_kib: int
    stderr: str


def run_once(argv: list[str]) -> Result:
    """Run argv with cwd = ROOT, output to temp files, and read the child's own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Result(proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stderr)


def first_line(text: str) -> str:
    """The first non-blank line of text (a traceback's last line), or a placeholder."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "(no stderr)"
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def show_argv(argv: list[str]) -> str:
    """argv as a short shell-like string, for error messages."""
    return " ".join(argv).replace(PY, "python")


def check(row: Row, result: Result) -> None:
    """Fail loudly when a mandatory command exits non-zero."""
    if result.code != 0:
        raise BenchError(
            f"{row.label}: `{show_argv(row.argv)}` exited {result.code}: "
            f"{first_line(result.stderr)}"
        )


def largest_sysfs_dump() -> tuple[Path, int] | None:
    """The folder under REAL with the most cpuN directories, and that count."""
    if not (ROOT / REAL).is_dir():
        return None
    best: tuple[Path, int] | None = None
    for folder in sorted((ROOT / REAL).iterdir()):
        cpus = folder / "sys" / "devices" / "system" / "cpu"
        count = (
            sum(1 for p in cpus.iterdir() if re.fullmatch(r"cpu\d+", p.name))
            if cpus.is_dir()
            else 0
        )
        if count and (best is None or count > best[1]):
            best = (REAL / folder.name, count)
    return best


def build_rows() -> list[Row]:
    """Every command to time; optional ones carry a skip reason when their input is missing."""
    rmpplan = [PY, "-m", "rmpplan"]
    console = Path(PY).parent / "rmpplan"
    rows = [
        Row("click", "python -c 'import click'", [PY, "-c", "import click"]),
        Row("help_m", "python -m rmpplan --help", [*rmpplan, "--help"]),
        Row("help_script", "rmpplan --help (console script)", [str(console), "--help"]),
        Row(
            "deps",
            "python -c 'import click, networkx, ...'",
            [PY, "-c", "import " + ", ".join(DEPENDENCIES)],
        ),
        Row(
            "plan_9965",
            "plan epyc-9965-2s --leader 0",
            [*rmpplan, "plan", EPYC_9965, "--leader", "0"],
        ),
        Row("plan", "plan max-8192 --leader 0", [*rmpplan, "plan", MAX, "--leader", "0"]),
        Row("verify", "verify max-8192", [*rmpplan, "verify", MAX]),
        Row("verify_all", "verify topologies", [*rmpplan, "verify", "topologies"]),
        Row(
            "plan_all",
            "plan max-8192 --leader all --format json",
            [*rmpplan, "plan", MAX, "--leader", "all", "--format", "json"],
        ),
        Row(
            "plan_epyc",
            "plan epyc-9654-2s --leader 0",
            [*rmpplan, "plan", "topologies/epyc-9654-2s.yaml", "--leader", "0"],
        ),
        Row("networkx", "python -c 'import networkx'", [PY, "-c", "import networkx"]),
        Row(
            "plan_xml",
            "plan Zen4 2x9654 hwloc XML --leader 0",
            [*rmpplan, "plan", str(ZEN4_XML), "--leader", "0"],
            optional=True,
        ),
        Row(
            "hwloc_calc",
            "hwloc-calc -i <same XML> core:all.pu:0",
            ["hwloc-calc", "-i", str(ZEN4_XML), "--po", "-I", "pu", "core:all.pu:0"],
            optional=True,
        ),
    ]
    if not console.exists():
        rows[2].optional = True
        rows[2].skip = f"no console script at {console}"
    hwloc_calc = shutil.which("hwloc-calc")
    if not (ROOT / ZEN4_XML).is_file():
        rows[-2].skip = rows[-1].skip = f"missing {ZEN4_XML}"
    elif hwloc_calc is None:
        rows[-2].skip = rows[-1].skip = "hwloc-calc is not on PATH"
    else:
        rows[-1].argv[0] = hwloc_calc
    dump = largest_sysfs_dump()
    if dump is None:
        show = Row("show", "show <largest sysfs dump>", [], optional=True)
        load = Row("import", "import <largest sysfs dump>", [], optional=True)
        show.skip = load.skip = f"no sysfs dumps under {REAL}"
    else:
        path, count = dump
        show = Row("show", f"show {path.name} ({count} cpus)", [*rmpplan, "show", str(path)])
        load = Row(
            "import",
            f"import {path.name} -o -",
            [*rmpplan, "import", str(path), "-o", "-"],
        )
        show.optional = load.optional = True
    rows += [show, load]
    return rows


RATIOS = [
    Ratio("--help (-m rmpplan) / import click", "help_m", "click", 1.3),
    Ratio("--help (console script) / import click", "help_script", "click", None),
    Ratio("plan epyc-9965-2s / import all dependencies", "plan_9965", "deps", 1.3),
    Ratio("verify max-8192 / plan max-8192", "verify", "plan", 1.5),
    Ratio("plan epyc-9654-2s / import networkx", "plan_epyc", "networkx", None),
    Ratio("plan Zen4 XML / hwloc-calc same XML", "plan_xml", "hwloc_calc", None),
]
RSS_TARGET_MIB = 150.0


def warm_up(rows: list[Row]) -> None:
    """Run every fast row once, untimed: fills caches and finds unavailable optional rows."""
    for row in rows:
        if row.skip is not None:
            continue
        result = run_once(row.argv)
        if result.code == 0:
            continue
        if not row.optional:
            check(row, result)
        row.skip = f"not available: {first_line(result.stderr)}"
        if row.key == "plan_xml":  # its comparison is meaningless without it
            next(r for r in rows if r.key == "hwloc_calc").skip = "(plan on the XML failed)"


def measure(rows: list[Row], runs: int) -> None:
    """Time the rows round-robin, rotating the start each round."""
    live = [row for row in rows if row.skip is None]
    for i in range(runs):
        shift = i % len(live)
        for row in live[shift:] + live[:shift]:
            result = run_once(row.argv)
            if result.code != 0:
                if not row.optional:
                    check(row, result)
                row.skip = f"not available: {first_line(result.stderr)}"
                continue
            row.walls.append(result.wall)
            row.cpus.append(result.cpu)
            row.rss_kib.append(result.rss_kib)
        live = [row for row in live if row.skip is None]
        if sys.stderr.isatty():
            print(f"\rround {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("\r" + " " * 20 + "\r", end="", file=sys.stderr, flush=True)


@dataclass
class LoadSplit:
    """Where one file's load goes, per fresh process: build_machine, the rest, the first plan."""

    path: str
    graph: list[float] = field(default_factory=list)
    rest: list[float] = field(default_factory=list)
    plan: list[float] = field(default_factory=list)


def load_splits(runs: int) -> list[LoadSplit]:
    """Run LOAD_PROBE ``runs`` times on each of LOAD_FILES, alternating the files."""
    splits = [LoadSplit(path) for path in LOAD_FILES]
    for _ in range(runs):
        for split in splits:
            result = subprocess.run(
                [PY, "-c", LOAD_PROBE, split.path],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            marked = [line for line in result.stdout.splitlines() if line.startswith("@@")]
            if result.returncode != 0 or not marked:
                raise BenchError(f"load probe on {split.path} failed: {first_line(result.stderr)}")
            times: dict[str, float] = json.loads(marked[-1][2:])
            split.graph.append(times["graph"])
            split.rest.append(times["load"] - times["graph"])
            split.plan.append(times["plan"])
    return splits


def byte_compile() -> None:
    """Compile rmpplan's modules as installing it does. Under PYTHONDONTWRITEBYTECODE=1
    (or in a read-only checkout) every run would compile them from source again, a
    cost no installed copy pays: about a tenth of ``import click``."""
    if not compileall.compile_dir(ROOT / "rmpplan", quiet=1):
        raise BenchError("compileall failed on rmpplan/")


def help_imports() -> str:
    """Which heavy modules `rmpplan --help` imports, by running main(['--help']) in a child."""
    result = subprocess.run(
        [PY, "-c", HELP_PROBE], cwd=ROOT, capture_output=True, text=True, check=False
    )
    marked = [line for line in result.stdout.splitlines() if line.startswith("@@")]
    if result.returncode != 0 or not marked:
        raise BenchError(f"--help import probe failed: {first_line(result.stderr)}")
    loaded: dict[str, bool] = json.loads(marked[-1][2:])
    heavy = [name for name, yes in loaded.items() if yes]
    return "imports " + ", ".join(heavy) if heavy else "imports none of " + ", ".join(HEAVY)


def table(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    """Align columns; the columns in `right` are right-aligned."""
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
    lines = []
    for r in [header, *body]:
        cells = [
            r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c])
            for c in range(len(header))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return lines


def ms(seconds: float) -> str:
    """Seconds as a short millisecond string."""
    return f"{seconds * 1000:.0f} ms"


def ms3(seconds: float) -> str:
    """Seconds as milliseconds with one decimal, for times under a second."""
    return f"{seconds * 1000:.1f} ms"


def verdict(value: float, target: float | None) -> tuple[str, str, bool]:
    """The target and result columns, and whether the target is missed."""
    if target is None:
        return "-", "info", False
    met = value <= target
    return f"<= {target:g}", "met" if met else "MISSED", not met


def report(rows: list[Row], runs: int, probe: str, splits: list[LoadSplit]) -> bool:
    """Print the tables; True when any target was missed."""
    by_key = {row.key: row for row in rows}
    print(
        f"rmpplan bench: {runs} runs each, round-robin, "
        f"medians; {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        "rmpplan byte-compiled first"
    )
    print()
    body = []
    for row in rows:
        if row.skip is not None:
            body.append([row.label, "-", "-", "-", "-", f"skipped: {row.skip}"])
            continue
        body.append(
            [
                row.label,
                str(len(row.walls)),
                ms(row.median_wall()),
                ms(row.median_cpu()),
                f"{row.peak_mib():.0f} MiB",
                "",
            ]
        )
    header = ["command", "runs", "wall", "cpu", "peak RSS", ""]
    print("\n".join(table(header, body, {1, 2, 3, 4})))
    print()
    missed = False
    body = []
    for ratio in RATIOS:
        num, den = by_key[ratio.num], by_key[ratio.den]
        skipped = num.skip or den.skip
        if skipped is not None:
            body.append([ratio.label, "-", "-", "-", skipped])
            continue
        value = num.median_wall() / den.median_wall()
        cpu = num.median_cpu() / den.median_cpu()
        target, result, miss = verdict(value, ratio.target)
        missed |= miss
        body.append([ratio.label, f"{value:.2f}", f"{cpu:.2f}", target, result])
    verify = by_key["verify"]
    target, result, miss = verdict(verify.peak_mib(), RSS_TARGET_MIB)
    missed |= miss
    body.append(
        ["peak RSS of verify max-8192 (MiB)", f"{verify.peak_mib():.0f}", "", target, result]
    )
    print("\n".join(table(["ratio of medians", "wall", "cpu", "target", "result"], body, {1, 2})))
    print()
    body = [
        [
            Path(split.path).stem,
            ms3(statistics.median(split.graph)),
            ms3(statistics.median(split.rest)),
            ms3(statistics.median([g + r for g, r in zip(split.graph, split.rest, strict=True)])),
            ms3(statistics.median(split.plan)),
        ]
        for split in splits
    ]
    header = ["load in one process", "graph build", "the rest", "load", "first plan"]
    print("\n".join(table(header, body, {1, 2, 3, 4})))
    print()
    print(f"rmpplan --help {probe}")
    return missed


def main(argv: list[str] | None = None) -> int:
    """Parse flags, measure, print; exit 1 on a failed command, 3 on a missed target (--check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--check", action="store_true", help="exit 3 when a target is missed")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    started = time.perf_counter()
    try:
        byte_compile()
        rows = build_rows()
        probe = help_imports()
        warm_up(rows)
        measure(rows, args.runs)
        splits = load_splits(args.runs)
    except (BenchError, OSError) as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 1
    missed = report(rows, args.runs, probe, splits)
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    return 3 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
