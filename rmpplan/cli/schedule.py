"""``rmpplan schedule``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    BadInput,
    FiniteFloat,
    display,
    dmesg_option,
    emit,
    format_option,
    input_errors,
    input_format_option,
    kernel_option,
    memory_options,
    ram_window,
    rule_option,
    worker_option,
)
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@worker_option
@memory_options
@click.option(
    "--ghz",
    type=FiniteFloat(0.1, 100, " GHz"),
    default=None,
    help="Core clock for the cost model, in GHz (0.1 to 100).",
)
@dmesg_option
@format_option
@kernel_option
@rule_option
@input_format_option
@input_errors
def schedule(
    *,
    input_format: InputFormat | None,
    topo: Path,
    worker: int,
    memory: str | None,
    memory_from: Path | None,
    ghz: float | None,
    dmesg: Path | None,
    fmt: OutputFormat,
    kernel: Kernel | None,
    rule: Rule | None,
) -> None:
    """For every strategy: the leader's serial loop, then one IPI round per
    region to the followers: RMPOPT executions, IPIs, executions per core,
    whether every address lies in each core's 2 TB table, and an estimate of
    the time (see docs/cost-model.md).
    """
    from dataclasses import replace

    from rmpplan.cost import CostModel
    from rmpplan.dmesg import check_log, read_log
    from rmpplan.errors import OptionError
    from rmpplan.inputs import load_machine
    from rmpplan.kernel import kernel_notes, modelled
    from rmpplan.render import renderer
    from rmpplan.schedule import ScheduleReport
    from rmpplan.schedule import schedule as lay_out

    window = ram_window(memory, memory_from)
    if window is None:
        raise BadInput("give one of --memory or --memory-from")
    log = None if dmesg is None else read_log(dmesg)
    machine = load_machine(topo, input_format)
    if worker not in machine.online:
        raise OptionError(f"--leader: CPU {worker} is not an online CPU of {machine.name}")
    model = CostModel() if ghz is None else replace(CostModel(), ghz=ghz)
    kernel_model = modelled(kernel, rule)
    said = None if log is None else check_log(log, machine, window)
    report = ScheduleReport(
        machine,
        worker,
        window,
        lay_out(machine, worker, window, rule=kernel_model.rule, model=model),
        model,
        kernel,
        (*kernel_notes(machine, kernel_model), *(() if said is None else said.notes)),
        () if said is None else tuple(said.findings),
    )
    emit(renderer(fmt).render_schedule(report, display()))
    click.get_current_context().exit(1 if report.findings else 0)
