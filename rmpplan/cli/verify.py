"""``rmpplan verify``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmpplan.cli.options import (
    BadInput,
    display,
    dmesg_option,
    emit,
    finish,
    format_option,
    hotplug_options,
    input_errors,
    input_format_option,
    kernel_option,
    memory_options,
    ram_window,
    rule_option,
    strategy_option,
)
from rmpplan.kernel import Kernel
from rmpplan.terms import InputFormat, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    from rmpplan.cpuspec import CpuSpec


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--builtin",
    is_flag=True,
    help="Also verify every topology bundled with rmpplan, reported as builtin:NAME.",
)
@format_option
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
    fmt: OutputFormat,
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

    PATHS are topology files or folders (searched recursively); the default
    is ./topologies, or none with --builtin. The hotplug flags model CPUs
    changing state after setup, which the kernel forbids while SNP is
    active; they show why.
    Exit 0 when all pass, 1 when a check found a problem, 2 when an input
    could not be read.
    """
    from rmpplan.checks import Checked
    from rmpplan.checks import verify as prove
    from rmpplan.cpuspec import scenario
    from rmpplan.dmesg import read_log, with_log
    from rmpplan.errors import InputError, printable
    from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies, discover, load_machine
    from rmpplan.kernel import kernel_notes, modelled
    from rmpplan.render import renderer
    from rmpplan.topology.machine import Machine

    def failed(label: str, err: InputError, machine: Machine | None = None) -> Checked:
        located = err.located(label)
        click.echo(f"rmpplan: error: {printable(str(located))}", err=True)
        # A folder's error may be about a file or folder inside it: name that one.
        error = located.describe() if located.path == label else str(located)
        return Checked(label, machine, error=error)

    def check(label: str, target: Path) -> Checked:
        machine = None
        try:
            machine = load_machine(target, input_format)
            hotplug = scenario(machine, offline_after_setup, online_after_setup)
            verdict = prove(
                machine,
                model.rule,
                model.strategy,
                hotplug,
                kernel=model.kernel,
                notes=kernel_notes(machine, model),
            )
            if log is not None:
                verdict = with_log(verdict, log, machine, window)
        except InputError as err:
            return failed(label, err, machine)
        return Checked(label, machine, verdict)

    model = modelled(kernel, rule, strategy)
    window = ram_window(memory, memory_from)
    log = None if dmesg is None else read_log(dmesg)
    if log is None and window is not None:
        raise BadInput("--memory and --memory-from go with --dmesg (the window is checked there)")
    if log is not None and (builtin or len(paths) != 1 or Path(paths[0]).is_dir()):
        raise BadInput("--dmesg is the log of one machine: give exactly one topology")
    results: list[Checked] = []
    for path in paths or (() if builtin else (Path("topologies"),)):
        try:
            targets = discover([path])
        except InputError as err:
            results.append(failed(str(path), err))
            continue
        results += [check(str(target), target) for target in targets]
    if builtin:
        # Named builtin:NAME, never by where the package happens to be installed.
        results += [
            check(BUILTIN_PREFIX + name, target) for name, target in bundled_topologies().items()
        ]
    emit(renderer(fmt).render_verify(results, display()))
    if any(checked.error is not None for checked in results):
        finish(2)
    finish(0 if all(checked.ok for checked in results) else 1)
