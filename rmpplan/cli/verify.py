"""``rmpplan verify``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

import click

from rmpplan.cli.options import (
    BadInput,
    EnumChoice,
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
)
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule, Strategy, VerifyFormat

if TYPE_CHECKING:
    from rmpplan.checks import Checked, Verdict
    from rmpplan.config import Config
    from rmpplan.cpuspec import CpuSpec
    from rmpplan.topology.machine import Machine


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
@kernel_option
@rule_option
@strategy_option
@hotplug_options
@dmesg_option
@memory_options
@input_format_option
@input_errors
def verify(
    *,
    input_format: InputFormat | None,
    paths: tuple[Path, ...],
    builtin: bool,
    fmt: VerifyFormat | None,
    junit_xml: Path | None,
    no_config: bool,
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
    from rmpplan.dmesg import read_log, with_log
    from rmpplan.kernel import kernel_notes, modelled

    config = None if no_config else discover_config()
    if config is not None:
        # The command line wins over the file: only what it left unset is taken.
        kernel = kernel or config.kernel
        rule = rule or config.rule
        strategy = strategy or config.strategy
    model = modelled(kernel, rule, strategy)
    window = ram_window(memory, memory_from)
    log = None if dmesg is None else read_log(dmesg)
    if log is None and window is not None:
        raise BadInput("--memory and --memory-from go with --dmesg (the window is checked there)")
    if log is not None and (builtin or len(paths) != 1 or Path(paths[0]).is_dir()):
        raise BadInput("--dmesg is the log of one machine: give exactly one topology")
    if fmt is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        fmt = VerifyFormat.GITHUB if github else VerifyFormat.TABLE

    def load(target: Path) -> Machine:
        from rmpplan.inputs import load_machine

        return load_machine(target, input_format)

    def prove(machine: Machine) -> Verdict:
        from rmpplan.checks import verify as check
        from rmpplan.cpuspec import scenario

        hotplug = scenario(machine, offline_after_setup, online_after_setup)
        verdict = check(
            machine,
            model.rule,
            model.strategy,
            hotplug,
            kernel=model.kernel,
            notes=kernel_notes(machine, model),
        )
        return verdict if log is None else with_log(verdict, log, machine, window)

    results: list[Checked] = []
    seconds: list[float] = []
    for checked, elapsed in _gather(paths, config, load, prove, builtin=builtin):
        results.append(checked)
        seconds.append(elapsed)
        if fmt is VerifyFormat.JSONL:
            from rmpplan.render.jsonl import verify_line

            emit(verify_line(checked))  # flushed now: a long run can be watched and resumed
    if junit_xml is not None:
        from rmpplan.files import write_atomic
        from rmpplan.render import junit

        write_atomic(junit_xml, junit.render_verify(results, seconds), force=True)
    if fmt is not VerifyFormat.JSONL:
        emit(_render(fmt, results, seconds, input_format))
    if any(checked.error is not None for checked in results):
        finish(2)
    finish(0 if all(checked.ok for checked in results) else 1)


def _gather(
    paths: Sequence[Path],
    config: Config | None,
    load: Callable[[Path], Machine],
    prove: Callable[[Machine], Verdict],
    *,
    builtin: bool = False,
) -> Iterator[tuple[Checked, float]]:
    """Each input checked, in path order, with the seconds it took.

    Expectations apply to the inputs verify finds itself, in folders and in
    the configured paths; a file named on the command line is reported as it
    stands.
    """
    from rmpplan.checks import Checked
    from rmpplan.errors import InputError, printable
    from rmpplan.inputs import discover

    def failed(label: str, err: InputError, machine: Machine | None = None) -> Checked:
        located = err.located(label)
        click.echo(f"rmpplan: error: {printable(str(located))}", err=True)
        # A folder's error may be about a file or folder inside it: name that one.
        error = located.describe() if located.path == label else str(located)
        return Checked(label, machine, error=error, error_line=located.line)

    named = bool(paths)
    if not paths:
        paths = tuple(Path(os.path.relpath(path)) for path in config.paths) if config else ()
    for path in paths or (() if builtin else (Path("topologies"),)):
        started = time.perf_counter()
        try:
            targets = discover([path])
        except InputError as err:
            yield failed(str(path), err), time.perf_counter() - started
            continue
        as_named = named and targets == [path]
        for target in targets:
            started = time.perf_counter()
            expect = frozenset() if config is None or as_named else config.expected(target)
            machine = None
            try:
                machine = load(target)
                verdict = prove(machine)
            except InputError as err:
                yield failed(str(target), err, machine), time.perf_counter() - started
                continue
            checked = Checked(str(target), machine, verdict, expect=expect)
            yield checked, time.perf_counter() - started

    if builtin:
        from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies

        # Named builtin:NAME, never by where the package happens to be installed.
        for name, target in bundled_topologies().items():
            started = time.perf_counter()
            label = BUILTIN_PREFIX + name
            machine = None
            try:
                machine = load(target)
                verdict = prove(machine)
            except InputError as err:
                yield failed(label, err, machine), time.perf_counter() - started
                continue
            yield Checked(label, machine, verdict), time.perf_counter() - started


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
