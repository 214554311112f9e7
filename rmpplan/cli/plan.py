"""``rmpplan plan``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.options import (
    emit,
    format_option,
    input_errors,
    input_format_option,
    rule_option,
    strategy_option,
    warn,
)


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@click.option(
    "--leader",
    "leader_spec",
    required=True,
    metavar="SPEC",
    help="'all' (every online CPU) or a kernel cpulist of online CPUs, e.g. 17 or 0-3,192.",
)
@format_option
@rule_option
@strategy_option
@input_format_option
@input_errors
def plan(
    *, topo: Path, leader_spec: str, fmt: str, rule: str, strategy: str, input_format: str | None
) -> None:
    """TOPO is a topology file (YAML or JSON), a sysfs root or dump tarball,
    hwloc XML, or saved lscpu output. The plan is what the kernel
    would compute from the CPUs that are online; use `rmpplan verify` to
    judge whether the machine meets the kernel's preconditions.
    """
    from rmpplan.cli.options import display
    from rmpplan.cli.render import renderer
    from rmpplan.cpumask import format_cpulist
    from rmpplan.inputs import load_machine
    from rmpplan.plan import Rule, Strategy, parse_leaders
    from rmpplan.plan import plan as make_plan

    machine = load_machine(topo, input_format)
    leaders = parse_leaders(machine, leader_spec)
    result = make_plan(machine, leaders, Rule(rule), Strategy(strategy))
    offline = machine.present - machine.online
    if offline:
        warn(
            f"{machine.name}: {len(offline)} present CPU(s) are offline; SNP init would "
            "refuse this machine (see `rmpplan verify`)"
        )
    if machine.offline_after_setup or machine.online_after_setup:
        warn(
            f"{machine.name}: the file's hotplug scenario is ignored here; the plan is the "
            "one made at setup (`rmpplan verify` checks the scenario)"
        )
    unprogrammed = [item.leader for item in result.plans if not item.lead_core_programmed]
    if unprogrammed:
        warn(
            f"leader CPU {format_cpulist(unprogrammed)}: the core has no CPU in rmpopt_cpumask "
            f"under {rule}, so RMPOPT there raises #UD (see `rmpplan verify --rule {rule}`)"
        )
    emit(renderer(fmt).render_plan(result, display()))
