"""``rmpplan verify``."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.distribute import distribute_options, spread
from rmpplan.cli.options import (
    BadInput,
    EnumChoice,
    JobCount,
    display,
    dmesg_option,
    emit,
    finish,
    flag_names,
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
from rmpplan.cli.picture import svg_option
from rmpplan.cli.streams import say
from rmpplan.terms import (
    InputFormat,
    JunitFamily,
    Kernel,
    OutputFormat,
    Rule,
    Strategy,
    VerifyFormat,
)

if TYPE_CHECKING:
    from rmpplan.checks import Checked
    from rmpplan.config import Config
    from rmpplan.cpuspec import CpuSpec
    from rmpplan.dmesg import KernelLog
    from rmpplan.fleet import Done, Executor, Job, Settings
    from rmpplan.kernel import Modelled
    from rmpplan.memory import Window
    from rmpplan.shards import ShardSpec
    from rmpplan.topology.parse import LineIndex


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
    "markdown, or for CI junit, github, jsonl (one result per line, as each is known) and "
    "concise (path:line: check: message, one line per problem).",
)
@click.option(
    "--junit-xml",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="Also write a JUnit XML report to FILE, whatever the format.",
)
@click.option(
    "--junit-family",
    type=EnumChoice(JunitFamily),
    default=JunitFamily.XUNIT2.value,
    show_default=True,
    help="The JUnit form, as pytest's junit_family: xunit2 is valid against the schema "
    "Jenkins' xunit plugin validates with; xunit1 adds file and line to each testcase "
    "(GitLab links them).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    default=None,
    help="Read the configuration from FILE ([tool.rmpplan] of a file named pyproject.toml, "
    "else its top level) instead of searching for it.",
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
@svg_option
@distribute_options
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
    junit_family: JunitFamily,
    svg: Path | None,
    config_file: Path | None,
    no_config: bool,
    jobs: int | None,
    shard: ShardSpec | None,
    executor: str,
    scheduler: str | None,
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
    forbids while SNP is active; they show why. The nearest rmpplan.toml, or
    [tool.rmpplan] of the nearest pyproject.toml (searched upwards, never past
    a pyproject.toml or the folder holding .git), or --config FILE, sets paths,
    rule, strategy and the findings expected of the files verify finds in
    folders (docs/ci.md); every report names the file used.
    When GITHUB_STEP_SUMMARY names a file, the markdown report is also
    appended to it, within the 1 MiB GitHub keeps of a step's summary.
    Exit 0 when all pass (or fail as expected), 1 when a check found a
    problem, 2 when an input could not be read.
    """
    config = _configuration(config_file, no_config=no_config)
    model = _model(config, kernel, rule, strategy)
    _one_machine(paths, builtin=builtin, svg=svg)
    listed = list(_inputs(paths, config, builtin=builtin, no_config=no_config))
    _check_outputs((junit_xml, svg), listed, config, dmesg, memory_from)
    log, window = _machine_log(dmesg, memory, memory_from, paths, builtin=builtin)
    if fmt is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        fmt = VerifyFormat.GITHUB if github else VerifyFormat.TABLE
    from rmpplan import step_summary

    summary = step_summary.target(os.environ)
    if summary is not None:
        step_summary.check(summary)  # a link, FIFO or device is refused before any work

    from rmpplan.escaping import printable
    from rmpplan.fleet import Settings, default_jobs

    settings = Settings(
        model,
        input_format,
        offline_after_setup,
        online_after_setup,
        log=log,
        window=window,
        names=flag_names("offline_after_setup", "online_after_setup"),
    )
    # A log is one machine's, so there is one input: nothing to share out.
    fleet = spread(
        shard, executor, scheduler, jobs, 1 if log is not None else _processes(jobs, default_jobs())
    )
    results: list[Checked] = []
    seconds: list[float] = []
    lines = hashlib.sha256()  # of the JSON Lines, for their trailer
    # The report names the configuration it used, so a reviewer sees what set the rules.
    used = None if config is None else Path(os.path.relpath(config.path))
    report = _Report(fmt, input_format, junit_family, used)
    for done in _checked(fleet.inputs(listed), settings, fleet.processes, fleet.executor):
        if done.complaint is not None:
            say(f"rmpplan: error: {printable(done.complaint)}")
        results.append(done.checked)
        seconds.append(done.seconds)
        if fmt is VerifyFormat.JSONL:
            from rmpplan.render.jsonl import verify_line

            line = verify_line(done.checked)
            lines.update(line.encode("utf-8"))
            emit(line)  # flushed now: a long run can be watched and resumed
    if junit_xml is not None:
        from rmpplan.files import write_atomic

        write_atomic(junit_xml, _junit(report, results, seconds), force=True)
    if summary is not None:  # before stdout, which a reader may close early
        _summarize(summary, results, used)
    _picture(svg, paths, results, settings)
    if fmt is VerifyFormat.JSONL:
        from rmpplan.render.jsonl import trailer
        from rmpplan.shards import run_settings

        # Last, so that a run cut short has none and `rmpplan summary` refuses it.
        named = None if used is None else str(used)
        emit(trailer(results, lines.hexdigest(), named, run_settings(settings), fleet.mark))
    else:
        emit(_render(report, results, seconds))
    if any(checked.error is not None for checked in results):
        finish(2)
    finish(0 if all(checked.ok for checked in results) else 1)


@dataclass(frozen=True, slots=True)
class _Report:
    """How this run reports: its format, and what every report names."""

    fmt: VerifyFormat
    input_format: InputFormat | None
    junit_family: JunitFamily
    config: Path | None
    """The configuration file used, relative to the current folder; None: there was none."""


def _model(
    config: Config | None, kernel: Kernel | None, rule: Rule | None, strategy: Strategy | None
) -> Modelled:
    """What the run models: the command line wins over the configuration file,
    whose keys fill only what the command line left unset."""
    from rmpplan.kernel import modelled

    if config is not None:
        kernel = kernel or config.kernel
        rule = rule or config.rule
        strategy = strategy or config.strategy
    return modelled(kernel, rule, strategy)


def _machine_log(
    dmesg: Path | None,
    memory: str | None,
    memory_from: Path | None,
    paths: Sequence[Path],
    *,
    builtin: bool,
) -> tuple[KernelLog | None, Window | None]:
    """The kernel log to hold one machine to, and its RAM window, checked for sense."""
    from rmpplan.dmesg import read_log

    window = ram_window(memory, memory_from)
    log = None if dmesg is None else read_log(dmesg)
    if log is None and window is not None:
        raise BadInput("--memory and --memory-from go with --dmesg (the window is checked there)")
    if log is not None and (builtin or len(paths) != 1 or Path(paths[0]).is_dir()):
        raise BadInput("--dmesg is the log of one machine: give exactly one topology")
    return log, window


def _one_machine(paths: Sequence[Path], *, builtin: bool, svg: Path | None) -> None:
    """--svg draws one machine: exactly one topology, not a folder."""
    if svg is not None and (builtin or len(paths) != 1 or Path(paths[0]).is_dir()):
        raise BadInput("--svg draws one machine: give exactly one topology")


def _picture(
    svg: Path | None, paths: Sequence[Path], results: Sequence[Checked], settings: Settings
) -> None:
    """``--svg``: the one input's machine, read again, drawn from its first failing worker."""
    verdict = results[0].verdict if results else None
    if svg is None or verdict is None:
        return  # no picture asked for, or the input could not be read (exit 2)
    from rmpplan.cli.picture import verdict_svg, write_picture
    from rmpplan.cpuspec import scenario
    from rmpplan.inputs import load_machine

    machine = load_machine(paths[0], settings.input_format)
    hotplug = scenario(machine, settings.offline_after_setup, settings.online_after_setup)
    picture = verdict_svg(machine, verdict, hotplug, settings.model.kernel, "verify")
    write_picture(svg, picture, paths)


def _configuration(given: Path | None, *, no_config: bool) -> Config | None:
    """The configuration of this run: none with --no-config, the file --config
    names, else the one found from the current directory (rmpplan.config)."""
    from rmpplan.config import discover_config, load_config

    if given is not None and no_config:
        raise BadInput("--config and --no-config conflict: give one of them")
    if no_config:
        return None
    return discover_config() if given is None else load_config(given)


def _inputs(
    paths: Sequence[Path],
    config: Config | None,
    *,
    builtin: bool = False,
    no_config: bool = False,
) -> Iterator[Job | Done]:
    """Each input to check, in path order, or the result of a path that names none.

    Expectations apply to the inputs verify finds itself, in folders and in
    the configured paths; a file named on the command line is reported as it
    stands. A dump and its hwloc XML gathered beside it in a folder are one
    input (``rmpplan.sources.gather``). What the configured paths find stays
    inside the configuration's folder: an input reached through a link out of
    it is an error naming it.
    """
    from rmpplan.errors import InputError
    from rmpplan.fleet import Job, failure
    from rmpplan.inputs import discover
    from rmpplan.sources.gather import pair

    named = bool(paths)
    configured = not named and config is not None and bool(config.paths)
    if configured and config is not None:
        paths = tuple(Path(os.path.relpath(path)) for path in config.paths)
    elif not named and not builtin:
        if not os.path.lexists("topologies"):
            raise BadInput(_nothing_to_verify(config, no_config=no_config))
        paths = (Path("topologies"),)
    for path in paths:
        started = time.perf_counter()
        try:
            targets = discover([path])
        except InputError as err:
            yield failure(str(path), err, time.perf_counter() - started)
            continue
        as_named = named and targets == [path]
        for target, xml in pair(targets) if not as_named else ((path, None),):
            if configured and config is not None and not config.contains(target):
                why = InputError(
                    "found through a symbolic link out of the configuration's folder; "
                    "configured paths stay inside it (name it on the command line to check it)"
                )
                yield failure(str(target), why, 0.0)
                continue
            expect = frozenset() if config is None or as_named else config.expected(target)
            yield Job(str(target), target, expect, companion=xml)

    if builtin:
        from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies

        # Named builtin:NAME, never by where the package happens to be installed.
        for name, target in bundled_topologies().items():
            yield Job(BUILTIN_PREFIX + name, target)


def _nothing_to_verify(config: Config | None, *, no_config: bool) -> str:
    """The one line for a run with nothing to check: what was looked for, and how to say."""
    if no_config:
        where = "--no-config was given"
    elif config is None:
        where = "no configuration file was found"
    else:
        where = f"{os.path.relpath(config.path)} sets no paths"
    return (
        f"nothing to verify: no PATH was given, {where}, and there is no ./topologies; "
        "name topology files or folders (rmpplan verify PATH ...), or list them in "
        'pyproject.toml as [tool.rmpplan] paths = ["..."] (docs/ci.md)'
    )


def _processes(jobs: int | None, cpus: int) -> int:
    """``--jobs``, at most the CPUs this process may use: more processes than CPUs
    only cost memory (each holds its own copy of the checker), never time."""
    if jobs is None:
        return cpus
    if jobs > cpus:
        warn(f"--jobs {jobs} is more than the {cpus} CPUs this process may use; using {cpus}")
        return cpus
    return jobs


def _check_outputs(
    outputs: Sequence[Path | None],
    listed: Sequence[Job | Done],
    config: Config | None,
    *files: Path | None,
) -> None:
    """Refuse each output file before any input is read: it must not be one of
    the run's inputs (every file found, the configuration, the other files named
    by flags), a link or a special file (``rmpplan.files``)."""
    from rmpplan.files import check_output
    from rmpplan.fleet import Job

    inputs = [file for file in files if file is not None]
    for item in listed:
        if isinstance(item, Job):
            inputs += [item.target] if item.companion is None else [item.target, item.companion]
    if config is not None:
        inputs.append(config.path)
    for path in outputs:
        if path is not None:
            check_output(path, inputs)


def _checked(
    items: Iterable[Job | Done], settings: Settings, processes: int, runner: Executor | None
) -> Iterator[Done]:
    """Every item's result in order: the jobs checked by the fleet, the rest as they are."""
    from rmpplan.fleet import Done, run

    listed = list(items)
    jobs = [item for item in listed if not isinstance(item, Done)]
    results = run(jobs, settings, processes, executor=runner)
    for item in listed:
        yield item if isinstance(item, Done) else next(results)


def _summarize(path: Path, results: Sequence[Checked], config: Path | None) -> None:
    """Append the markdown report to the job summary, within what GitHub keeps."""
    from rmpplan import step_summary
    from rmpplan.inputs import BUILTIN_PREFIX
    from rmpplan.render import PLAIN, markdown

    def render(budget: int) -> str:
        return markdown.render_verify(results, PLAIN, config=config, limit=budget)

    inputs = (Path(c.path) for c in results if not c.path.startswith(BUILTIN_PREFIX))
    step_summary.append(path, render, inputs)


def _lines(results: Sequence[Checked], input_format: InputFormat | None) -> dict[str, LineIndex]:
    """Where each topology file's keys and CPUs are, for annotations and JUnit's
    ``line``; only files with findings to locate are read again."""
    from rmpplan.inputs import BUILTIN_PREFIX
    from rmpplan.topology.load import topology_lines

    return {
        checked.path: topology_lines(Path(checked.path))
        for checked in results
        if checked.verdict is not None
        and checked.verdict.findings
        and not checked.path.startswith(BUILTIN_PREFIX)
        and input_format in (None, InputFormat.TOPOLOGY)
    }


def _junit(report: _Report, results: Sequence[Checked], seconds: Sequence[float]) -> str:
    from rmpplan.render import junit

    family = report.junit_family
    lines = _lines(results, report.input_format) if family is JunitFamily.XUNIT1 else None
    return junit.render_verify(results, seconds, family=family, lines=lines, config=report.config)


def _render(report: _Report, results: Sequence[Checked], seconds: Sequence[float]) -> str:
    """The whole report (jsonl is printed line by line instead, as results come)."""
    fmt = report.fmt
    match fmt:
        case VerifyFormat.TABLE | VerifyFormat.JSON | VerifyFormat.TEXT | VerifyFormat.MARKDOWN:
            from rmpplan.render import renderer

            return renderer(OutputFormat(fmt.value)).render_verify(
                results, display(), config=report.config
            )
        case VerifyFormat.JUNIT:
            return _junit(report, results, seconds)
        case VerifyFormat.GITHUB:
            from rmpplan.render import github

            lines = _lines(results, report.input_format)
            return github.render_verify(results, lines, config=report.config)
        case VerifyFormat.CONCISE:
            from rmpplan.render import concise

            return concise.render_verify(results, _lines(results, report.input_format))
        case VerifyFormat.JSONL:
            raise AssertionError("jsonl is printed line by line, then its trailer")
    assert_never(fmt)
