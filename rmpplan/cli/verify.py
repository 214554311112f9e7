"""``rmpplan verify``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.options import (
    BadInput,
    EnumChoice,
    JobCount,
    display,
    dmesg_option,
    emit,
    finish,
    hotplug_options,
    input_errors,
    input_format_option,
    kernel_option,
    memory_options,
    ram_window,
    rule_option,
    strategy_option,
    warn,
)
from rmpplan.cli.streams import say
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule, Strategy, VerifyFormat

if TYPE_CHECKING:
    from rmpplan.checks import Checked
    from rmpplan.config import Config
    from rmpplan.cpuspec import CpuSpec
    from rmpplan.fleet import Done, Job, Settings


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--builtin",
    is_flag=True,
    help="Also verify every topology bundled with rmpplan, reported as builtin:NAME.",
)
@click.option(
    "--format",
    "fmt",
    type=EnumChoice(VerifyFormat),
    default=None,
    help="Output format: table (the default; github when GITHUB_ACTIONS=true), json, text, "
    "markdown, or for CI junit, github and jsonl (one result per line, as each is known).",
)
@click.option(
    "--junit-xml",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="Also write a JUnit XML report to FILE, whatever the format.",
)
@click.option(
    "--no-config",
    is_flag=True,
    help="Ignore [tool.rmpplan] in pyproject.toml and rmpplan.toml.",
)
@click.option(
    "--jobs",
    type=JobCount(),
    metavar="N",
    default=None,
    help="Check N inputs at a time, in N processes (default and most: the CPUs this "
    "process may use; a larger N is clamped to that, with a warning; 1 checks in this "
    "process). The output does not depend on it.",
)
@kernel_option
@rule_option
@strategy_option
@hotplug_options
@dmesg_option
@memory_options
@input_format_option
@input_errors
@paused
def verify(
    *,
    input_format: InputFormat | None,
    paths: tuple[Path, ...],
    builtin: bool,
    fmt: VerifyFormat | None,
    junit_xml: Path | None,
    no_config: bool,
    jobs: int | None,
    kernel: Kernel | None,
    rule: Rule | None,
    strategy: Strategy | None,
    offline_after_setup: CpuSpec | None,
    online_after_setup: CpuSpec | None,
    dmesg: Path | None,
    memory: str | None,
    memory_from: Path | None,
) -> None:
    """Every online CPU is tried as the worker. Also proves that no RMPOPT
    lands on an unprogrammed core (#UD), and checks the kernel's preconditions.

    PATHS are topology files or folders, searched recursively: links are
    followed, hidden folders and files (.git, .venv) are not searched, and
    one that cannot be read is an error. The default is the configured
    paths, else ./topologies (none with --builtin). The
    hotplug flags model CPUs changing state after setup, which the kernel
    forbids while SNP is active; they show why. The nearest pyproject.toml
    with [tool.rmpplan], or rmpplan.toml, sets paths, rule, strategy and the
    findings expected of the files verify finds in folders (docs/ci.md).
    Exit 0 when all pass (or fail as expected), 1 when a check found a
    problem, 2 when an input could not be read.
    """
    from rmpplan.config import discover_config
    from rmpplan.dmesg import read_log
    from rmpplan.kernel import modelled

    config = None if no_config else discover_config()
    if config is not None:
        # The command line wins over the file: only what it left unset is taken.
        kernel = kernel or config.kernel
        rule = rule or config.rule
        strategy = strategy or config.strategy
    model = modelled(kernel, rule, strategy)
    listed = list(_inputs(paths, config, builtin=builtin))
    if junit_xml is not None:
        _check_output(junit_xml, listed, config, dmesg, memory_from)
    window = ram_window(memory, memory_from)
    log = None if dmesg is None else read_log(dmesg)
    if log is None and window is not None:
        raise BadInput("--memory and --memory-from go with --dmesg (the window is checked there)")
    if log is not None and (builtin or len(paths) != 1 or Path(paths[0]).is_dir()):
        raise BadInput("--dmesg is the log of one machine: give exactly one topology")
    if fmt is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        fmt = VerifyFormat.GITHUB if github else VerifyFormat.TABLE

    from rmpplan.errors import printable
    from rmpplan.fleet import Settings, default_jobs

    settings = Settings(
        model, input_format, offline_after_setup, online_after_setup, log=log, window=window
    )
    # A log is one machine's, so there is one input: nothing to share out.
    processes = 1 if log is not None else _processes(jobs, default_jobs())
    results: list[Checked] = []
    seconds: list[float] = []
    for done in _checked(listed, settings, processes):
        if done.complaint is not None:
            say(f"rmpplan: error: {printable(done.complaint)}")
        results.append(done.checked)
        seconds.append(done.seconds)
        if fmt is VerifyFormat.JSONL:
            from rmpplan.render.jsonl import verify_line

            emit(verify_line(done.checked))  # flushed now: a long run can be watched and resumed
    if junit_xml is not None:
        from rmpplan.files import write_atomic
        from rmpplan.render import junit

        write_atomic(junit_xml, junit.render_verify(results, seconds), force=True)
    if fmt is not VerifyFormat.JSONL:
        emit(_render(fmt, results, seconds, input_format))
    if any(checked.error is not None for checked in results):
        finish(2)
    finish(0 if all(checked.ok for checked in results) else 1)


def _inputs(
    paths: Sequence[Path], config: Config | None, *, builtin: bool = False
) -> Iterator[Job | Done]:
    """Each input to check, in path order, or the result of a path that names none.

    Expectations apply to the inputs verify finds itself, in folders and in
    the configured paths; a file named on the command line is reported as it
    stands. A dump and its hwloc XML gathered beside it in a folder are one
    input (``rmpplan.sources.gather``).
    """
    from rmpplan.errors import InputError
    from rmpplan.fleet import Job, failure
    from rmpplan.inputs import discover
    from rmpplan.sources.gather import pair

    named = bool(paths)
    if not paths:
        paths = tuple(Path(os.path.relpath(path)) for path in config.paths) if config else ()
    for path in paths or (() if builtin else (Path("topologies"),)):
        started = time.perf_counter()
        try:
            targets = discover([path])
        except InputError as err:
            yield failure(str(path), err, time.perf_counter() - started)
            continue
        as_named = named and targets == [path]
        for target, xml in pair(targets) if not as_named else ((path, None),):
            expect = frozenset() if config is None or as_named else config.expected(target)
            yield Job(str(target), target, expect, companion=xml)

    if builtin:
        from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies

        # Named builtin:NAME, never by where the package happens to be installed.
        for name, target in bundled_topologies().items():
            yield Job(BUILTIN_PREFIX + name, target)


def _processes(jobs: int | None, cpus: int) -> int:
    """``--jobs``, at most the CPUs this process may use: more processes than CPUs
    only cost memory (each holds its own copy of the checker), never time."""
    if jobs is None:
        return cpus
    if jobs > cpus:
        warn(f"--jobs {jobs} is more than the {cpus} CPUs this process may use; using {cpus}")
        return cpus
    return jobs


def _check_output(
    path: Path,
    listed: Sequence[Job | Done],
    config: Config | None,
    *files: Path | None,
) -> None:
    """Refuse ``path`` as an output before any input is read: it must not be
    one of the run's inputs (every file found, the configuration, the other
    files named by flags), a link or a special file (``rmpplan.files``)."""
    from rmpplan.files import check_output
    from rmpplan.fleet import Job

    inputs = [file for file in files if file is not None]
    for item in listed:
        if isinstance(item, Job):
            inputs += [item.target] if item.companion is None else [item.target, item.companion]
    if config is not None:
        inputs.append(config.path)
    check_output(path, inputs)


def _checked(listed: Sequence[Job | Done], settings: Settings, processes: int) -> Iterator[Done]:
    """Every item's result in order: the jobs checked by the fleet, the rest as they are."""
    from rmpplan.fleet import Done, run

    results = run([item for item in listed if not isinstance(item, Done)], settings, processes)
    for item in listed:
        yield item if isinstance(item, Done) else next(results)


def _render(
    fmt: VerifyFormat,
    results: Sequence[Checked],
    seconds: Sequence[float],
    input_format: InputFormat | None,
) -> str:
    """The whole report (jsonl is printed line by line instead, as results come)."""
    match fmt:
        case VerifyFormat.TABLE | VerifyFormat.JSON | VerifyFormat.TEXT | VerifyFormat.MARKDOWN:
            from rmpplan.render import renderer

            return renderer(OutputFormat(fmt.value)).render_verify(results, display())
        case VerifyFormat.JUNIT:
            from rmpplan.render import junit

            return junit.render_verify(results, seconds)
        case VerifyFormat.GITHUB:
            from rmpplan.inputs import BUILTIN_PREFIX
            from rmpplan.render import github
            from rmpplan.topology.load import topology_lines

            # Only files with findings to annotate are read again for their lines.
            lines = {
                checked.path: topology_lines(Path(checked.path))
                for checked in results
                if checked.verdict is not None
                and checked.verdict.findings
                and not checked.path.startswith(BUILTIN_PREFIX)
                and input_format in (None, InputFormat.TOPOLOGY)
            }
            return github.render_verify(results, lines)
        case VerifyFormat.JSONL:
            from rmpplan.render import jsonl

            return jsonl.render_verify(results)
    assert_never(fmt)
