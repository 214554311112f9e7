"""``rmpplan show``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import display, emit, format_option, input_errors, input_format_option


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@format_option
@input_format_option
@input_errors
def show(*, topo: Path, fmt: str, input_format: str | None) -> None:
    """Show TOPO's packages, dies, cores and threads; offline CPUs are marked."""
    from rmpplan.cli.render import renderer
    from rmpplan.inputs import load_machine

    emit(renderer(fmt).render_show(load_machine(topo, input_format), display()))
