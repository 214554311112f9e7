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
    """Offline CPUs are marked. For a sysfs root (a dump, or / for this
    machine) it also reports smt/control and whether SNP init would accept
    the CPUs as they are.
    """
    from rmpplan.checks import Hotplug
    from rmpplan.cli.render import renderer
    from rmpplan.cpumask import format_cpulist
    from rmpplan.inputs import load_machine
    from rmpplan.sources import SourceFormat, detect_format, live_facts

    machine = load_machine(topo, input_format)
    facts: list[tuple[str, str]] = []
    hotplug = Hotplug.of(machine)
    if hotplug is not None:
        hotplug.handler_online(machine)  # refuses a scenario verify would refuse
        for key, cpus in (
            ("offline after setup", hotplug.offline_after_setup),
            ("online after setup", hotplug.online_after_setup),
        ):
            if cpus:
                facts.append((key, format_cpulist(cpus)))
    if topo.is_dir() and detect_format(topo) is SourceFormat.SYSFS:
        live = live_facts(topo)
        facts.append(("smt/control", live.smt_control or "(not present)"))
        facts.append(("SNP init accepts", "yes" if live.online_equals_present else "no"))
        facts.append(("SNP init", live.explanation))
    emit(renderer(fmt).render_show(machine, display(), facts))
