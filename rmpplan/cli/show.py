"""``rmpplan show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmpplan.cli.options import (
    GRAPHML,
    HWLOC_XML,
    BadInput,
    GraphML,
    HwlocXml,
    display,
    emit,
    input_errors,
    input_format_option,
    kernel_option,
    rule_option,
    show_format_option,
    strategy_option,
)
from rmpplan.terms import NR_CPUS_MAX, InputFormat, Kernel, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    from rmpplan.overview import Overview


@click.command()
@click.argument("topo", type=click.Path(path_type=Path))
@click.option(
    "--cpus",
    "per_cpu",
    is_flag=True,
    help="One row per CPU, as lscpu -e: package, die, core, thread, APIC id, online, "
    "in the mask, and with --leader its role in that worker's pass.",
)
@click.option(
    "--leader",
    "worker",
    type=click.IntRange(0, NR_CPUS_MAX - 1),
    default=None,
    help="With --cpus or --format hwloc-xml: the worker whose pass gives each CPU's role.",
)
@show_format_option
@kernel_option
@rule_option
@strategy_option
@input_format_option
@input_errors
def show(
    *,
    topo: Path,
    per_cpu: bool,
    worker: int | None,
    fmt: OutputFormat | GraphML | HwlocXml,
    kernel: Kernel | None,
    rule: Rule | None,
    strategy: Strategy | None,
    input_format: InputFormat | None,
) -> None:
    """Offline CPUs are marked. For a sysfs root (a dump, or / for this
    machine) it also reports smt/control and whether SNP init would accept
    the CPUs as they are. --format graphml writes the machine graph instead,
    for graph tools and networkx scripts; --format hwloc-xml writes hwloc XML
    that `lstopo -i FILE` draws, each CPU coloured by its role with --leader
    (else the mask's CPUs). --cpus, --format hwloc-xml and --leader compute
    the mask under --kernel, --rule and --strategy, as plan does.
    """
    from rmpplan.inputs import input_format_of, load_machine
    from rmpplan.overview import overview
    from rmpplan.render import renderer

    modelled_output = per_cpu or fmt == HWLOC_XML
    if (worker is not None or kernel or rule or strategy) and not modelled_output:
        raise BadInput(
            "--leader, --kernel, --rule and --strategy go with --cpus or --format hwloc-xml"
        )
    if per_cpu and fmt in (GRAPHML, HWLOC_XML):
        raise BadInput(
            f"--cpus is a report: give --format table, json, text or markdown, not {fmt}"
        )
    kind = input_format_of(topo, input_format)
    machine = load_machine(topo, kind)
    # Every format, the graph too, refuses a file whose hotplug lists are wrong.
    view = overview(machine, topo, kind.source)
    if modelled_output:
        _modelled(view, fmt, worker, kernel=kernel, rule=rule, strategy=strategy)
    elif isinstance(fmt, OutputFormat):
        emit(renderer(fmt).render_show(view, display()))
    else:
        from rmpplan.render.graphml import render_graphml

        emit(render_graphml(machine))


def _modelled(
    view: Overview,
    fmt: OutputFormat | GraphML | HwlocXml,
    worker: int | None,
    *,
    kernel: Kernel | None,
    rule: Rule | None,
    strategy: Strategy | None,
) -> None:
    """The per-CPU table, or hwloc XML, under the model the flags name."""
    from rmpplan.cpu_rows import cpu_rows
    from rmpplan.errors import OptionError
    from rmpplan.kernel import modelled

    machine = view.machine
    if worker is not None and worker not in machine.cpus:
        raise OptionError(f"--leader: CPU {worker} is not a CPU of {machine.name}")
    table = cpu_rows(machine, modelled(kernel, rule, strategy), worker, view.hotplug)
    if fmt == HWLOC_XML:
        from rmpplan.render.hwloc import render_hwloc_xml

        emit(render_hwloc_xml(table))
    else:
        from rmpplan.render.cpus import render_cpus

        emit(render_cpus(table, view, OutputFormat(fmt)))
