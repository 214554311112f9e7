"""``rmpplan verify``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    BadInput,
    display,
    emit,
    finish,
    format_option,
    input_errors,
    rule_option,
    strategy_option,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
@rule_option
@strategy_option
@input_errors
def verify(paths: tuple[Path, ...], fmt: str, rule: str, strategy: str) -> None:
    """Prove, for every online CPU as the worker, that every core runs RMPOPT
    exactly once and never on an unprogrammed core; check the kernel's
    preconditions.

    PATHS are topology files or folders (searched recursively); the default
    is ./topologies. Exit 0 when all pass, 1 when a check found a problem,
    2 when an input could not be read.
    """
    from rmpplan.checks import Checked
    from rmpplan.checks import verify as prove
    from rmpplan.cli.render import renderer
    from rmpplan.errors import InputError
    from rmpplan.inputs import discover, load_machine
    from rmpplan.plan import Rule, Strategy

    targets = discover(paths or (Path("topologies"),))
    results: list[Checked] = []
    for target in targets:
        try:
            machine = load_machine(target)
            verdict = prove(machine, Rule(rule), Strategy(strategy))
        except InputError as err:
            located = err.located(str(target))
            click.echo(f"rmpplan: error: {located}", err=True)
            results.append(Checked(str(target), error=str(located)))
            continue
        results.append(Checked(str(target), machine, verdict))
    emit(renderer(fmt).render_verify(results, display()))
    if any(checked.error is not None for checked in results):
        finish(2)
    finish(0 if all(checked.ok for checked in results) else 1)


__all__ = ["BadInput", "verify"]
