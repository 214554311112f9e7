"""``rmpplan compare``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    RULES,
    display,
    emit,
    format_option,
    hotplug_of,
    hotplug_options,
    input_errors,
    input_format_option,
    warn,
)


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@format_option
@click.option(
    "--rule",
    "rules",
    type=click.Choice(RULES),
    multiple=True,
    help="Only these mask rules (repeatable); default: both, skipping apic-primary "
    "when the topology has no APIC ids.",
)
@hotplug_options
@input_format_option
@input_errors
def compare(
    *,
    input_format: str | None,
    topo: Path,
    fmt: str,
    rules: tuple[str, ...],
    offline_after_setup: str | None,
    online_after_setup: str | None,
) -> None:
    """Shows, per strategy and rule, whether every worker CPU leads a correct
    pass, the counterexample workers when not, and notes such as which
    v8 branches are reachable. Exits 0 when it ran (the verdicts are data),
    2 on bad input.
    """
    from rmpplan.checks import compare as run_compare
    from rmpplan.cli.render import renderer
    from rmpplan.inputs import load_machine
    from rmpplan.plan import Rule

    machine = load_machine(topo, input_format)
    hotplug = hotplug_of(machine, offline_after_setup, online_after_setup)
    chosen = tuple(Rule(rule) for rule in rules) or tuple(Rule)
    result = run_compare(machine, chosen, hotplug=hotplug, strict_rules=bool(rules))
    for reason in result.skipped:
        warn(f"{machine.name}: {reason}")
    emit(renderer(fmt).render_compare(result, display()))
