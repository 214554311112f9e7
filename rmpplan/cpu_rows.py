"""``show --cpus``: one row per CPU, as ``lscpu -e`` prints them, with the
RMPOPT facts beside the topology: in the mask, and the role of each CPU in
one worker's pass (:mod:`rmpplan.picture` computes the roles, so the table,
the SVG and hwloc's drawing agree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.plan import base_set, rmpopt_cpumask

if TYPE_CHECKING:
    from rmpplan.hotplug import Hotplug
    from rmpplan.kernel import Modelled
    from rmpplan.picture import Picture, Role
    from rmpplan.topology.machine import Machine


@dataclass(frozen=True, slots=True)
class CpuRow:
    """One present CPU."""

    cpu: int
    package: int
    die: int
    core: int
    thread: int
    """Its index among its core's present threads, lowest CPU first (0: the first sibling)."""
    apic_id: int | None
    online: bool
    """Online at setup."""
    in_mask: bool
    """Programs RMPOPT_BASE at setup: in rmpopt_cpumask (under v2-all-cpus, online then)."""
    role: Role | None
    """Its role in the pass of the given worker; None when no worker was given."""


@dataclass(frozen=True, slots=True)
class CpuRows:
    """Every present CPU of a machine, by ascending id, under one model."""

    machine: Machine
    model: Modelled
    worker: int | None
    rows: tuple[CpuRow, ...]
    picture: Picture | None
    """The worker's pass the roles come from; None when no worker was given."""


def cpu_rows(
    machine: Machine, model: Modelled, worker: int | None, hotplug: Hotplug | None = None
) -> CpuRows:
    """The rows of ``machine``; with ``worker``, each CPU's role in its pass
    (the hotplug scenario applied, as ``explain`` replays it)."""
    picture = None
    if worker is not None:
        from rmpplan.explain import explain
        from rmpplan.picture import explain_picture

        replayed = explain(
            machine, worker, model.rule, model.strategy, hotplug, kernel=model.kernel
        )
        picture = explain_picture(replayed)
    mask = base_set(model.strategy, rmpopt_cpumask(machine, model.rule), machine.online)
    rows = []
    for cpu, facts in sorted(machine.cpus.items()):
        core = machine.core_of(cpu)
        rows.append(
            CpuRow(
                cpu=cpu,
                package=facts.package,
                die=facts.die,
                core=facts.core,
                thread=core.threads.index(cpu),
                apic_id=facts.apic_id,
                online=cpu in machine.online,
                in_mask=cpu in mask,
                role=None if picture is None else picture.roles[cpu],
            )
        )
    return CpuRows(machine, model, worker, tuple(rows), picture)
