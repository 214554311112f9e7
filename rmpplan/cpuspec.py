"""CPU sets given as parameters (the workers, the hotplug lists).

A spec is checked for syntax once, when it is given, and resolved against a
machine later: ``N`` means the machine's last possible CPU (``nr_cpu_ids -
1``), as the kernel parses these masks with ``nr_cpu_ids`` bits, and a CPU the
machine lacks is the parameter's fault, not the file's. Errors are
:class:`ParameterError` naming the parameter (``workers``,
``offline_after_setup``, ``online_after_setup``); the command line names its
flag instead, the API its argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cpumask import parse_cpulist
from rmpplan.errors import MaskError, ParameterError
from rmpplan.hotplug import Hotplug
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine


@dataclass(frozen=True, slots=True)
class CpuSpec:
    """A kernel cpulist, or ``all`` (every online CPU) where the flag allows it."""

    text: str
    all: bool = False

    @classmethod
    def parse(cls, text: str, *, allow_all: bool = False) -> CpuSpec:
        """Check the syntax; raises :class:`MaskError` with the kernel's errno."""
        if allow_all and text.strip().lower() == "all":
            return cls(text, all=True)
        parse_cpulist(text, NR_CPUS_MAX)
        return cls(text)

    def resolve(self, machine: Machine, param: str) -> frozenset[int]:
        """The CPUs this spec names on ``machine``, each a present CPU of it."""
        if self.all:
            return machine.online
        try:
            cpus = parse_cpulist(self.text, machine.nr_cpu_ids)
        except MaskError as err:
            # Valid with 8192 bits (checked when parsed), so almost always a CPU past
            # nr_cpu_ids; name it rather than the kernel's bit arithmetic.
            wide = parse_cpulist(self.text, NR_CPUS_MAX)
            beyond = min((cpu for cpu in wide if cpu >= machine.nr_cpu_ids), default=None)
            if beyond is None:
                raise ParameterError(
                    param, f"{err.message} (with nr_cpu_ids {machine.nr_cpu_ids})"
                ) from None
            raise ParameterError(
                param,
                f"CPU {beyond} is not a CPU of {machine.name} (nr_cpu_ids {machine.nr_cpu_ids})",
            ) from None
        absent = sorted(cpus - machine.present)
        if absent:
            raise ParameterError(param, f"CPU {absent[0]} is not a present CPU of {machine.name}")
        return cpus


def resolve_workers(spec: CpuSpec, machine: Machine, param: str = "workers") -> tuple[int, ...]:
    """The workers ``spec`` names: online CPUs of ``machine``, ascending."""
    cpus = spec.resolve(machine, param)
    if not cpus:
        raise ParameterError(param, "the list names no CPU")
    offline = sorted(cpus - machine.online)
    if offline:
        raise ParameterError(param, f"CPU {offline[0]} is offline in {machine.name}")
    return tuple(sorted(cpus))


OFFLINE_AFTER_SETUP = "offline_after_setup"
ONLINE_AFTER_SETUP = "online_after_setup"


def scenario(machine: Machine, offline: CpuSpec | None, online: CpuSpec | None) -> Hotplug:
    """The machine's hotplug scenario with the given lists replacing the file's.

    A given list that makes the scenario impossible is the parameter's fault
    and raises here, naming it; a fault of the file's own list is left to the
    checks, which blame the file (its ``hotplug`` key)."""
    hotplug = machine.hotplug.override(
        None if offline is None else offline.resolve(machine, OFFLINE_AFTER_SETUP),
        None if online is None else online.resolve(machine, ONLINE_AFTER_SETUP),
    )
    given = [
        name
        for name, spec in ((OFFLINE_AFTER_SETUP, offline), (ONLINE_AFTER_SETUP, online))
        if spec is not None
    ]
    found = hotplug.fault(machine) if given else None
    if found is not None:
        kind, reason = found
        if kind in given or (kind is None and given):
            raise ParameterError(kind or given[0], reason)
    return hotplug
