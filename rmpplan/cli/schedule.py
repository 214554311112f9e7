"""``rmpplan schedule``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    BadInput,
    display,
    emit,
    format_option,
    input_errors,
    input_format_option,
    kernel_option,
    rule_option,
)
from rmpplan.kernel import Kernel
from rmpplan.terms import NR_CPUS_MAX, InputFormat, OutputFormat, Rule


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@click.option(
    "--leader",
    "worker",
    type=click.IntRange(0, NR_CPUS_MAX - 1),
    required=True,
    help="The online CPU the handler runs on.",
)
@click.option(
    "--memory",
    metavar="RANGES",
    help="RAM as in /proc/iomem: A-B with B included, K/M/G/T binary suffixes "
    "(a suffixed end means the byte before it: 0-2T is 2 TB), comma-separated.",
)
@click.option(
    "--memory-from",
    type=click.Path(path_type=Path),
    help="A saved /proc/iomem; its top-level 'System RAM' lines are the RAM.",
)
@click.option(
    "--ghz",
    type=click.FloatRange(0, 1000, min_open=True),
    default=None,
    help="Core clock for the cost model.",
)
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
    from rmpplan.errors import InputError, OptionError
    from rmpplan.inputs import load_machine
    from rmpplan.kernel import kernel_notes, modelled
    from rmpplan.memory import parse_iomem, parse_memory, rmpopt_window
    from rmpplan.render import renderer
    from rmpplan.schedule import ScheduleReport
    from rmpplan.schedule import schedule as lay_out
    from rmpplan.topology.load import read_text

    if (memory is None) == (memory_from is None):
        raise BadInput("give exactly one of --memory or --memory-from")
    if memory is not None:
        try:
            ranges = parse_memory(memory)
        except InputError as err:
            raise err.within("--memory") from None
    else:
        assert memory_from is not None  # exactly one of the two is given
        try:
            ranges = parse_iomem(read_text(memory_from))
        except InputError as err:
            raise err.located(str(memory_from)) from None
    machine = load_machine(topo, input_format)
    if worker not in machine.online:
        raise OptionError(f"--leader: CPU {worker} is not an online CPU of {machine.name}")
    model = CostModel() if ghz is None else replace(CostModel(), ghz=ghz)
    window = rmpopt_window(ranges)
    kernel_model = modelled(kernel, rule)
    report = ScheduleReport(
        machine,
        worker,
        window,
        lay_out(machine, worker, window, rule=kernel_model.rule, model=model),
        model,
        kernel,
        kernel_notes(machine, kernel_model),
    )
    emit(renderer(fmt).render_schedule(report, display()))
