"""``rmpplan plan``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.options import (
    CpuSpecType,
    display,
    emit,
    input_errors,
    input_format_option,
    kernel_option,
    rule_option,
    strategy_option,
    warn,
)
from rmpplan.cli.picture import (
    SVG,
    Svg,
    check_output,
    need_one_worker,
    picture_format_option,
    svg_option,
    write_picture,
)
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    from rmpplan.cpuspec import CpuSpec


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@click.option(
    "--leader",
    "workers",
    type=CpuSpecType(allow_all=True),
    required=True,
    metavar="SPEC",
    help="'all' (every online CPU) or a kernel cpulist of online CPUs, e.g. 17 or 0-3,192.",
)
@picture_format_option
@svg_option
@kernel_option
@rule_option
@strategy_option
@input_format_option
@input_errors
@paused
def plan(
    *,
    topo: Path,
    workers: CpuSpec,
    fmt: OutputFormat | Svg,
    svg: Path | None,
    kernel: Kernel | None,
    rule: Rule | None,
    strategy: Strategy | None,
    input_format: InputFormat | None,
) -> None:
    """TOPO is a topology file (YAML or JSON), a sysfs root or dump tarball,
    hwloc XML, saved lscpu output, or the name of a topology bundled with
    rmpplan, such as epyc-9965-2s (`rmpplan verify --builtin` lists them;
    a path that exists wins). The plan is what the kernel
    would compute from the CPUs that are online; use `rmpplan verify` to
    judge whether the machine meets the kernel's preconditions.
    """
    from rmpplan.cpuspec import resolve_workers
    from rmpplan.inputs import load_machine
    from rmpplan.kernel import kernel_notes, modelled
    from rmpplan.plan import plan as make_plan
    from rmpplan.render import renderer

    check_output(svg, [topo])
    model = modelled(kernel, rule, strategy)
    machine = load_machine(topo, input_format)
    result = make_plan(
        machine,
        resolve_workers(workers, machine),
        model.rule,
        model.strategy,
        kernel=model.kernel,
        notes=kernel_notes(machine, model),
    )
    picture = None
    if fmt == SVG or svg is not None:
        from rmpplan.picture import plan_picture
        from rmpplan.render.svg import render_picture

        need_one_worker(len(result.plans))  # before any warning: bad usage is one line
        picture = render_picture(plan_picture(result))
        if svg is not None:
            write_picture(svg, picture, [topo])
    for message in result.warnings:
        warn(message)
    if picture is not None and fmt == SVG:
        emit(picture)
    else:
        emit(renderer(OutputFormat(fmt)).render_plan(result, display()))
