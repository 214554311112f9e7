"""CPU sets named on the command line (``--leader``, the hotplug flags).

A spec is checked for syntax once, when the command line is parsed, and
resolved against a machine later: ``N`` means the machine's last possible CPU
(``nr_cpu_ids - 1``), as the kernel parses these masks with ``nr_cpu_ids``
bits, and a CPU the machine lacks is the flag's fault, not the file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cpumask import parse_cpulist
from rmpplan.errors import MaskError, OptionError
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

    def resolve(self, machine: Machine, flag: str) -> frozenset[int]:
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
                raise OptionError(
                    f"{flag}: {err.message} (with nr_cpu_ids {machine.nr_cpu_ids})"
                ) from None
            raise OptionError(
                f"{flag}: CPU {beyond} is not a CPU of {machine.name} "
                f"(nr_cpu_ids {machine.nr_cpu_ids})"
            ) from None
        absent = sorted(cpus - machine.present)
        if absent:
            raise OptionError(f"{flag}: CPU {absent[0]} is not a present CPU of {machine.name}")
        return cpus


def resolve_workers(spec: CpuSpec, machine: Machine, flag: str = "--leader") -> tuple[int, ...]:
    """The workers ``spec`` names: online CPUs of ``machine``, ascending."""
    cpus = spec.resolve(machine, flag)
    if not cpus:
        raise OptionError(f"{flag} names no CPU")
    offline = sorted(cpus - machine.online)
    if offline:
        raise OptionError(f"{flag}: CPU {offline[0]} is offline in {machine.name}")
    return tuple(sorted(cpus))


def scenario(machine: Machine, offline: CpuSpec | None, online: CpuSpec | None) -> Hotplug:
    """The machine's hotplug scenario with the flags' lists replacing the file's."""
    return machine.hotplug.override(
        None if offline is None else offline.resolve(machine, "--offline-after-setup"),
        None if online is None else online.resolve(machine, "--online-after-setup"),
    )
