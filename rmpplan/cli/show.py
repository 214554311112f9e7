"""``rmpplan show``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import display, emit, format_option, input_errors, input_format_option
from rmpplan.terms import InputFormat, OutputFormat


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@format_option
@input_format_option
@input_errors
def show(*, topo: Path, fmt: OutputFormat, input_format: InputFormat | None) -> None:
    """Offline CPUs are marked. For a sysfs root (a dump, or / for this
    machine) it also reports smt/control and whether SNP init would accept
    the CPUs as they are.
    """
    from rmpplan.inputs import input_format_of, load_machine
    from rmpplan.overview import overview
    from rmpplan.render import renderer

    kind = input_format_of(topo, input_format)
    machine = load_machine(topo, kind)
    emit(renderer(fmt).render_show(overview(machine, topo, kind.source), display()))
