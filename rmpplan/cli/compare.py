"""``rmpplan compare``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmpplan.cli.options import (
    EnumChoice,
    display,
    emit,
    format_option,
    hotplug_options,
    input_errors,
    input_format_option,
    kernel_option,
    warn,
)
from rmpplan.cli.picture import check_output, compare_svg, svg_option, write_picture
from rmpplan.terms import InputFormat, Kernel, OutputFormat, Rule

if TYPE_CHECKING:
    from rmpplan.cpuspec import CpuSpec


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@format_option
@click.option(
    "--rule",
    "rules",
    type=EnumChoice(Rule),
    multiple=True,
    help="Only these mask rules (repeatable); default: both, skipping apic-primary "
    "when the topology has no APIC ids.",
)
@svg_option
@kernel_option
@hotplug_options
@input_format_option
@input_errors
def compare(
    *,
    kernel: Kernel | None,
    input_format: InputFormat | None,
    topo: Path,
    fmt: OutputFormat,
    rules: tuple[Rule, ...],
    svg: Path | None,
    offline_after_setup: CpuSpec | None,
    online_after_setup: CpuSpec | None,
) -> None:
    """Shows, per strategy and rule, whether every worker CPU leads a correct
    pass, the counterexample workers when not, and notes such as which
    v8 branches are reachable. Exits 0 when it ran (the verdicts are data),
    2 on bad input.
    """
    from rmpplan.checks import compare as run_compare
    from rmpplan.cpuspec import scenario
    from rmpplan.inputs import load_machine
    from rmpplan.render import renderer

    check_output(svg, [topo])
    machine = load_machine(topo, input_format)
    hotplug = scenario(machine, offline_after_setup, online_after_setup)
    result = run_compare(
        machine, rules or tuple(Rule), hotplug=hotplug, strict_rules=bool(rules), kernel=kernel
    )
    for reason in result.skipped:
        warn(f"{machine.name}: {reason}")
    if svg is not None:
        write_picture(svg, compare_svg(result, hotplug), [topo])
    emit(renderer(fmt).render_compare(result, display()))
