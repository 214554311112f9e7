"""What ``show`` reports about a machine beyond its CPUs: the file's hotplug
scenario and, for a sysfs root, what the live files say about SNP init."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.hotplug import NO_HOTPLUG, Hotplug
from rmpplan.terms import SourceFormat

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.sources.live import LiveFacts
    from rmpplan.topology.machine import Machine


@dataclass(frozen=True, slots=True)
class Overview:
    """A machine with the facts ``show`` adds to it."""

    machine: Machine
    hotplug: Hotplug = NO_HOTPLUG
    live: LiveFacts | None = None
    """Set for a sysfs root (a dump folder, or ``/``): smt/control and the SNP-init verdict."""


def overview(machine: Machine, path: Path, source: SourceFormat | None) -> Overview:
    """The overview of ``machine``, read from ``path`` as ``source`` (None: a topology file).

    A hotplug scenario is checked as ``verify`` would check it, so ``show``
    refuses what ``verify`` refuses.
    """
    if machine.hotplug:
        machine.hotplug.handler_online(machine)
    live = None
    if source is SourceFormat.SYSFS:
        from rmpplan.sources.live import live_facts

        live = live_facts(path)
    return Overview(machine, machine.hotplug, live)
