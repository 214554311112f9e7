"""Measure rmpplan on fleets and large reports, side by side in one run.

The fleets are folders of N copies of the bundled epyc-9965-2s topology
(768 CPUs), each under its own host name, plus one failing file (the nosmt
example): N = 100, 1,000 and 5,000. They are timed round-robin with
``verify`` of one copy, with ``plan max-8192 --leader all`` as a table and as
JSON, and with ``plan`` of max-8192 written CPU by CPU and ``verify`` of the
100-host fleet, each once with the garbage collector as rmpplan runs it
(paused) and once with it left on. Each command is a fresh process; the
table reports median wall and CPU time and the peak RSS, where CPU time and
RSS come from ``os.wait4`` and so cover the command and every process of its
pool (``ru_maxrss`` is then the largest of them, parent or child).

With ``--real``, it measures fleets of distinct bytes instead (bench/real_fleet.py: the
768-CPU host as topology-only ``.tar.gz`` dumps, unpacked folders, lscpu JSON and hwloc
XML, each host's cpuinfo MHz and name its own) with ``--jobs 1``, ``--jobs 2`` and a
2-worker Dask LocalCluster, against the tarballs' floor, and projects 100,000 hosts.

Usage: ``python bench/fleet.py [--runs N] [--check] [--source DIR]``,
``python bench/fleet.py --real [--runs N] [--real-hosts 1000,10000] [--folder-hosts N] [--check]``.
``--source`` runs the rmpplan of another checkout (its root put first on
PYTHONPATH), to measure a commit before this work. Exit 1 when a measured
command fails, 3 with ``--check`` when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # real_fleet, hostile
PY = sys.executable
HOST = ROOT / "rmpplan" / "topologies" / "epyc-9965-2s.yaml"
FAILING = ROOT / "docs" / "examples" / "nosmt.yaml"
MAX = ROOT / "rmpplan" / "topologies" / "max-8192.yaml"
SIZES = (100, 1_000, 5_000)
DISTINCT = 300
# main() of the CLI, as `rmpplan` runs it; GC_ON also keeps the collector running.
MAIN = "import sys; from rmpplan.cli.main import main; sys.exit(main(sys.argv[1:]))"
GC_ON = "import gc; gc.disable = lambda: None; " + MAIN
GC_OFF = "import gc; gc.disable(); gc.enable = lambda: None; " + MAIN
GC_ROWS = ("fleet100", "plan_table", "explicit", "explicit_verify")
EXPLICIT = (
    "import sys; from pathlib import Path; from rmpplan.inputs import load_machine; "
    "from rmpplan.topology.dump import dump_yaml, to_document; "
    "m = load_machine(Path(sys.argv[1])); "
    "Path(sys.argv[2]).write_text(dump_yaml(to_document(m, compact=False)))"
)
RSS_TARGET_MIB = 150.0


@dataclass
class Row:
    """One command to time, and its measurements."""

    key: str
    label: str
    argv: list[str]
    codes: tuple[int, ...] = (0,)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def wall(self) -> float:
        return statistics.median(self.walls)

    def cpu(self) -> float:
        return statistics.median(self.cpus)

    def peak_mib(self) -> float:
        return max(self.rss_kib) / 1024


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator of two rows' median wall times, with an optional target."""

    label: str
    num: str
    den: str
    target: float | None


RATIOS = [
    Ratio("verify 100 hosts / verify 1 host", "fleet100", "one", None),
    Ratio("verify 1,000 hosts / verify 1 host", "fleet1000", "one", 20.0),
    Ratio("verify 5,000 hosts / verify 1 host", "fleet5000", "one", None),
    Ratio("verify 1,000 hosts --jobs 1 / verify 1 host", "fleet1000_j1", "one", None),
    Ratio("verify 300 distinct shapes: default / --jobs 1", "distinct", "distinct_j1", None),
    Ratio("plan max-8192 --leader all: table / json", "plan_table", "plan_json", 3.0),
]


class BenchError(Exception):
    """A measured command failed: the benchmark cannot be trusted."""


def run_once(row: Row, env: dict[str, str], cwd: Path) -> None:
    """Run the row once in ``cwd`` (whose rmpplan `python -c` imports first), output
    discarded, and record its rusage and that of the processes it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        row.argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if code not in row.codes:
        last = stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        raise BenchError(f"{row.label}: exited {code}: {last[0]}")
    row.walls.append(wall)
    row.cpus.append(usage.ru_utime + usage.ru_stime)
    row.rss_kib.append(usage.ru_maxrss)


def make_inputs(where: Path, sizes: tuple[int, ...]) -> dict[str, Path]:
    """The fleets, the explicit 8192-CPU file, and one host; written once."""
    text = HOST.read_text().splitlines()
    body = "\n".join(line for line in text if not line.startswith("name:")) + "\n"
    paths: dict[str, Path] = {}
    for size in sizes:
        folder = where / f"fleet-{size}"
        folder.mkdir()
        for index in range(size):
            (folder / f"host-{index:05d}.yaml").write_text(f"name: host-{index:05d}\n{body}")
        (folder / "zz-failing.yaml").write_text(FAILING.read_text())
        paths[f"fleet{size}"] = folder
    paths["one"] = where / f"fleet-{sizes[0]}" / "host-00000.yaml"
    # Every host of another shape (one CPU offline, a different one each): no sharing.
    distinct = where / "distinct-300"
    distinct.mkdir()
    for index in range(DISTINCT):
        (distinct / f"host-{index:05d}.yaml").write_text(
            f"name: host-{index:05d}\n{body}offline: '{index}'\n"
        )
    paths["distinct"] = distinct
    paths["explicit"] = where / "explicit-8192.yaml"
    subprocess.run([PY, "-c", EXPLICIT, str(MAX), str(paths["explicit"])], check=True, cwd=ROOT)
    return paths


def build_rows(paths: dict[str, Path], sizes: tuple[int, ...], paused: bool) -> list[Row]:
    """Every command; each of GC_ROWS also with the collector the other way: on
    when the source pauses it (``paused``), else off for the whole run."""

    def cli(key: str, label: str, *args: str, codes: tuple[int, ...] = (0,)) -> Row:
        return Row(key, label, [PY, "-c", MAIN, *args], codes)

    def twin(row: Row) -> Row:
        label, code = (" (GC on)", GC_ON) if paused else (" (GC off)", GC_OFF)
        return Row(row.key + "_gc", row.label + label, [PY, "-c", code, *row.argv[3:]], row.codes)

    failing = (1,)
    rows = [cli("one", "verify 1 host", "verify", str(paths["one"]))]
    for size in sizes:
        folder = str(paths[f"fleet{size}"])
        rows.append(
            cli(f"fleet{size}", f"verify {size:,} hosts + 1", "verify", folder, codes=failing)
        )
    plan_all = ("plan", str(MAX), "--leader", "all")
    rows += [
        cli(
            "fleet1000_j1",
            "verify 1,000 hosts + 1 --jobs 1",
            "verify",
            str(paths["fleet1000"]),
            "--jobs",
            "1",
            codes=failing,
        ),
        cli("plan_table", "plan max-8192 --leader all (table)", *plan_all),
        cli("plan_json", "plan max-8192 --leader all --format json", *plan_all, "--format", "json"),
        cli(
            "explicit",
            "plan explicit-8192 --leader 0",
            "plan",
            str(paths["explicit"]),
            "--leader",
            "0",
        ),
        cli("explicit_verify", "verify explicit-8192", "verify", str(paths["explicit"])),
        cli(
            "distinct",
            "verify 300 distinct shapes",
            "verify",
            str(paths["distinct"]),
            codes=failing,
        ),
        cli(
            "distinct_j1",
            "verify 300 distinct shapes --jobs 1",
            "verify",
            str(paths["distinct"]),
            "--jobs",
            "1",
            codes=failing,
        ),
    ]
    by_key = {row.key: row for row in rows}
    return rows + [twin(by_key[key]) for key in GC_ROWS]


def table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
    lines = [
        "  ".join(
            r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c]) for c in range(len(header))
        ).rstrip()
        for r in [header, *body]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def report(rows: list[Row], runs: int, sizes: tuple[int, ...], paused: bool) -> bool:
    """Print the tables; True when a target is missed."""
    print(
        f"rmpplan fleet bench: {runs} runs each, round-robin, medians; "
        f"{len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}\n"
    )
    body = [
        [
            row.label,
            f"{row.wall() * 1000:.0f} ms",
            f"{row.cpu() * 1000:.0f} ms",
            f"{row.peak_mib():.0f} MiB",
        ]
        for row in rows
    ]
    print(table(["command", "wall", "cpu", "peak RSS"], body) + "\n")
    by_key = {row.key: row for row in rows}
    missed = False
    body = []
    for ratio in RATIOS:
        if ratio.num not in by_key or ratio.den not in by_key:
            continue
        num, den = by_key[ratio.num], by_key[ratio.den]
        value = num.wall() / den.wall()
        met = ratio.target is None or value <= ratio.target
        missed |= not met
        target = "-" if ratio.target is None else f"<= {ratio.target:g}"
        result = "info" if ratio.target is None else "met" if met else "MISSED"
        body.append([ratio.label, f"{value:.2f}", f"{num.cpu() / den.cpu():.2f}", target, result])
    for key in GC_ROWS:
        row, other = by_key[key], by_key[key + "_gc"]
        off, on = (row, other) if paused else (other, row)
        label = f"{row.label}: GC off / GC on"
        body.append(
            [label, f"{off.wall() / on.wall():.2f}", f"{off.cpu() / on.cpu():.2f}", "-", "info"]
        )
    for size in sizes:
        peak = by_key[f"fleet{size}"].peak_mib()
        met = peak <= RSS_TARGET_MIB
        missed |= not met
        body.append(
            [
                f"peak RSS, verify {size:,} hosts (MiB)",
                f"{peak:.0f}",
                "",
                f"<= {RSS_TARGET_MIB:g}",
                "met" if met else "MISSED",
            ]
        )
    print(table(["ratio of medians", "wall", "cpu", "target", "result"], body))
    return missed


PROJECTED_HOSTS = 100_000
# The floor of a fleet of tarballs, run as a command like the others (bench/real_fleet.py).
FLOOR = (
    "import sys; sys.path.insert(0, 'bench'); import real_fleet; real_fleet.floor_walk(sys.argv[1])"
)


def real_rows(sizes: tuple[int, ...], folder_hosts: int) -> tuple[list[Row], dict[str, Path]]:
    """``verify`` of each fleet of distinct bytes (bench/real_fleet.py) with ``--jobs 1`` and
    ``--jobs 2``, and the tarballs on a 2-worker Dask LocalCluster too."""
    import real_fleet

    rows: list[Row] = []
    fleets: dict[str, Path] = {}
    for size in sizes:
        for kind in real_fleet.KINDS:
            hosts = min(size, folder_hosts) if kind == "folder" else size
            key = f"{kind}-{hosts}"
            if key in fleets:
                continue
            fleets[key] = path = real_fleet.fleet(kind, hosts)
            base = [PY, "-c", MAIN, "verify", str(path)]
            rows.append(Row(f"{key} j1", f"{hosts:,} {kind} --jobs 1", [*base, "--jobs", "1"]))
            rows.append(Row(f"{key} j2", f"{hosts:,} {kind} --jobs 2", [*base, "--jobs", "2"]))
            if kind == "tar.gz":
                dask = [*base, "--executor", "dask", "--jobs", "2"]
                rows.append(Row(f"{key} dask", f"{hosts:,} {kind} dask, 2 workers", dask))
                floor = [PY, "-c", FLOOR, str(path)]
                rows.append(Row(f"{key} floor", f"{hosts:,} {kind} floor", floor))
    return rows, fleets


FLOOR_TARGET = 2.0  # a host's CPU against its floor
SPEEDUP_TARGET = 0.8  # --jobs N's wall speed-up over --jobs 1, as a share of N
JUDGED_FROM = 1_000


def real_targets(rows: list[Row], fleets: dict[str, Path]) -> bool:
    """Print each tarball fleet's cost against its floor and ``--jobs 2``'s speed-up
    against their targets; True when one is missed.  Fleets under :data:`JUDGED_FROM`
    hosts are shown, not judged: the start of the command and of the pool (and each
    worker's first machine) weigh on a few hundred hosts."""
    by_key = {row.key: row for row in rows}
    missed = False
    for key in fleets:
        if f"{key} floor" not in by_key:
            continue
        judged = int(key.rsplit("-", 1)[1]) >= JUDGED_FROM
        floor, one, two = (by_key[f"{key} {how}"] for how in ("floor", "j1", "j2"))
        times = one.cpu() / floor.cpu()
        share = one.wall() / two.wall() / 2
        for what, value, ok, target, why in (
            ("--jobs 1 CPU / floor", times, times <= FLOOR_TARGET, f"<= {FLOOR_TARGET:g}", ""),
            (
                "--jobs 2 speed-up / N",
                share,
                share >= SPEEDUP_TARGET,
                f">= {SPEEDUP_TARGET:g}",
                " (a wall-time figure: it needs 2 free cores)",
            ),
        ):
            missed |= judged and not ok
            verdict = "met" if ok else f"MISSED{why}"
            if not judged:
                verdict = f"not judged under {JUDGED_FROM:,} hosts"
            print(f"{key}: {what} {value:.2f}, target {target}: {verdict}")
    return missed


def real_report(rows: list[Row], fleets: dict[str, Path], runs: int) -> None:
    print(
        f"rmpplan real fleets: {runs} run(s) each, round-robin, medians; "
        f"{len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    by_key = {row.key: row for row in rows}
    floors = {
        key: by_key[f"{key} floor"].cpu() / int(key.rsplit("-", 1)[1])
        for key in fleets
        if f"{key} floor" in by_key
    }
    body = []
    for row in rows:
        key, how = row.key.rsplit(" ", 1)
        if how == "floor":
            continue
        hosts = int(key.rsplit("-", 1)[1])
        floor = floors.get(key)
        one = by_key[f"{key} j1"]
        wall_host, cpu_host = row.wall() / hosts, row.cpu() / hosts
        workers = 1 if how == "j1" else 2
        body.append(
            [
                row.label,
                f"{row.wall():.1f} s",
                f"{row.cpu():.1f} s",
                f"{wall_host * 1000:.1f} ms",
                f"{cpu_host * 1000:.1f} ms",
                "" if floor is None else f"{floor * 1000:.1f} ms",
                "" if floor is None else f"{cpu_host / floor:.2f}",
                f"{one.wall() / row.wall():.2f}",
                f"{row.peak_mib():.0f} MiB",
                f"{wall_host * PROJECTED_HOSTS / 3600:.2f} h",
                f"{cpu_host * PROJECTED_HOSTS / workers / 3600:.2f} h",
            ]
        )
    header = [
        "fleet",
        "wall",
        "cpu",
        "wall/host",
        "cpu/host",
        "floor",
        "x floor",
        "vs j1",
        "peak RSS",
        "100k wall",
        "100k cpu/N",
    ]
    print(table(header, body))
    print(
        "\nfloor: CPU per host of inflating every tarball with the standard library and"
        "\nstepping over its headers with a minimal loop, one process, in the same round-robin;"
        "\nx floor: CPU per host / the floor's CPU per host;"
        "\nvs j1: wall of --jobs 1 / wall of this row; 100k: 100,000 hosts at the measured"
        "\nwall per host, and at the CPU per host spread over N = its workers (free cores)."
    )


def real_main(args: argparse.Namespace, env: dict[str, str]) -> int:
    started = time.perf_counter()
    try:
        rows, fleets = real_rows(args.real_hosts, args.folder_hosts)
        print(f"fleets ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for i in range(args.runs):
            shift = i % len(rows)
            for row in rows[shift:] + rows[:shift]:
                run_once(row, env, ROOT)
    except (BenchError, OSError) as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 1
    real_report(rows, fleets, args.runs)
    print()
    missed = real_targets(rows, fleets)
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    return 3 if missed and args.check else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 3 when a target is missed")
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=SIZES,
        help="fleet sizes, comma-separated (default 100,1000,5000; must include 100 and 1000)",
    )
    parser.add_argument(
        "--source", type=Path, default=None, help="the checkout whose rmpplan to run"
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="measure fleets of distinct bytes instead (bench/real_fleet.py)",
    )
    parser.add_argument(
        "--real-hosts",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=(1_000,),
        help="with --real: fleet sizes, comma-separated (default 1000; e.g. 1000,10000)",
    )
    parser.add_argument(
        "--folder-hosts",
        type=int,
        default=100,
        help="with --real: at most this many unpacked folders (7,700 files each; default 100)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = dict(os.environ)
    if args.real:
        return real_main(args, env)
    if args.source is not None:
        env["PYTHONPATH"] = str(args.source.resolve())
    source = args.source.resolve() if args.source else ROOT
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rmpplan-fleet-") as where:
        try:
            paths = make_inputs(Path(where), args.sizes)
            paused = (source / "rmpplan" / "cli" / "collector.py").exists()
            rows = build_rows(paths, args.sizes, paused)
            if not (source / "rmpplan" / "fleet.py").exists():
                rows = [row for row in rows if "--jobs" not in row.argv]
            for row in rows:  # warm the page cache; not timed
                run_once(row, env, source)
                row.walls, row.cpus, row.rss_kib = [], [], []
            for i in range(args.runs):
                shift = i % len(rows)
                for row in rows[shift:] + rows[:shift]:
                    run_once(row, env, source)
        except (BenchError, OSError, subprocess.CalledProcessError) as err:
            print(f"bench: error: {err}", file=sys.stderr)
            return 1
    missed = report(rows, args.runs, args.sizes, paused)
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    return 3 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
