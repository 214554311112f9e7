"""``rmpplan explain``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    display,
    emit,
    hotplug_options,
    input_errors,
    input_format_option,
    kernel_option,
    rule_option,
    strategy_option,
    worker_option,
)
from rmpplan.cli.picture import (
    SVG,
    Svg,
    check_output,
    picture_format_option,
    svg_option,
    write_picture,
)
from rmpplan.cpuspec import CpuSpec
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule, Strategy


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@worker_option
@picture_format_option
@svg_option
@kernel_option
@rule_option
@strategy_option
@hotplug_options
@input_format_option
@input_errors
def explain(
    *,
    topo: Path,
    worker: int,
    fmt: OutputFormat | Svg,
    svg: Path | None,
    kernel: Kernel | None,
    rule: Rule | None,
    strategy: Strategy | None,
    offline_after_setup: CpuSpec | None,
    online_after_setup: CpuSpec | None,
    input_format: InputFormat | None,
) -> None:
    """Shows each kernel operation with the mask it leaves, the branch taken,
    who runs RMPOPT on which core, and the verdict, with every finding in
    words that name the operation behind it. The verdict is the one
    `rmpplan verify` reaches for that worker. Exit 0 when the pass is
    right, 1 when a check fails, 2 on bad input.
    """
    from rmpplan.cpuspec import scenario
    from rmpplan.errors import OptionError
    from rmpplan.explain import explain as replay
    from rmpplan.inputs import load_machine
    from rmpplan.kernel import kernel_notes, modelled
    from rmpplan.render import renderer

    check_output(svg, [topo])
    model = modelled(kernel, rule, strategy)
    machine = load_machine(topo, input_format)
    if worker not in machine.cpus:
        raise OptionError(f"--leader: CPU {worker} is not a CPU of {machine.name}")
    result = replay(
        machine,
        worker,
        model.rule,
        model.strategy,
        scenario(machine, offline_after_setup, online_after_setup),
        kernel=model.kernel,
        notes=kernel_notes(machine, model),
    )
    if fmt == SVG or svg is not None:
        from rmpplan.picture import explain_picture
        from rmpplan.render.svg import render_picture

        picture = render_picture(explain_picture(result))
        if svg is not None:
            write_picture(svg, picture, [topo])
        if fmt == SVG:
            emit(picture)
    if fmt != SVG:
        emit(renderer(OutputFormat(fmt)).render_explain(result, display()))
    click.get_current_context().exit(0 if result.ok else 1)
