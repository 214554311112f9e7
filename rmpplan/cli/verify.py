"""``rmpplan verify``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.distribute import distribute_options
from rmpplan.cli.options import (
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

# The run's decisions live in the core; the JUnit and GitHub reports read lines as it does.
from rmpplan.verify_run import Report as _Report
from rmpplan.verify_run import junit_report as _junit
from rmpplan.verify_run import located_lines as _lines

if TYPE_CHECKING:
    from rmpplan.checks import Checked
    from rmpplan.cpuspec import CpuSpec
    from rmpplan.fleet import Settings
    from rmpplan.shards import ShardSpec


FLEET_PARAMETERS = (
    "offline_after_setup",
    "online_after_setup",
    "kernel",
    "memory",
    "memory_from",
    "input_format",
    "builtin",
)
"""The parameters a check in a process of the fleet may name (its errors, the landed
kernel's findings, a kernel log's notes): sent with their flags (rmpplan.naming)."""


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
    from rmpplan import verify_run
    from rmpplan.escaping import printable

    request = verify_run.VerifyRequest(
        paths=paths,
        builtin=builtin,
        fmt=fmt,
        input_format=input_format,
        junit_xml=junit_xml,
        junit_family=junit_family,
        svg=svg,
        config_file=config_file,
        no_config=no_config,
        kernel=kernel,
        rule=rule,
        strategy=strategy,
        offline_after_setup=offline_after_setup,
        online_after_setup=online_after_setup,
        dmesg=dmesg,
        memory=memory,
        memory_from=memory_from,
        jobs=jobs,
        shard=shard,
        executor=executor,
        scheduler=scheduler,
        # The environment is read here only; the run sees it through the request.
        github_actions=os.environ.get("GITHUB_ACTIONS"),
        step_summary=os.environ.get("GITHUB_STEP_SUMMARY"),
        names=flag_names(*FLEET_PARAMETERS),
    )
    run = verify_run.start(request, warn)
    click.get_current_context().call_on_close(run.close)
    for result in run.results():
        if result.done.complaint is not None:
            say(f"rmpplan: error: {printable(result.done.complaint)}")
        if result.line is not None:
            emit(result.line)  # flushed now: a long run can be watched and resumed
    ending = run.end()
    _picture(svg, paths, ending.results, run.settings)
    if ending.trailer is not None:
        emit(ending.trailer)
    else:
        emit(_render(run.report, ending.results, ending.seconds))
    finish(ending.exit_code)


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
