"""A hotplug scenario: CPUs that change state between setup and the handler's run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from rmpplan.errors import InputError


class CpuStates(Protocol):
    """What a scenario is held against: the present CPUs and the online set.

    A :class:`~rmpplan.topology.machine.Machine` is one; naming it here would
    make this module and the machine's import each other.
    """

    @property
    def cpus(self) -> Mapping[int, object]: ...

    @property
    def online(self) -> frozenset[int]: ...


@dataclass(frozen=True, slots=True)
class Hotplug:
    """CPUs taken offline or brought online after the mask and MSRs are set up.

    A topology file may carry one; the command line's flags override it list
    by list (:meth:`override`). Empty means no change, and is falsy.
    """

    offline_after_setup: frozenset[int] = frozenset()
    online_after_setup: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.offline_after_setup or self.online_after_setup)

    def describe(self) -> str:
        """The scenario in words, e.g. ``offline after setup 3; online after setup 7``."""
        from rmpplan.cpumask import format_cpulist

        parts = [
            f"{what} after setup {format_cpulist(cpus)}"
            for what, cpus in (
                ("offline", self.offline_after_setup),
                ("online", self.online_after_setup),
            )
            if cpus
        ]
        return "; ".join(parts)

    def override(
        self, offline: frozenset[int] | None = None, online: frozenset[int] | None = None
    ) -> Hotplug:
        """This scenario with each given list replacing the one of the same kind."""
        return Hotplug(
            self.offline_after_setup if offline is None else offline,
            self.online_after_setup if online is None else online,
        )

    def handler_online(self, machine: CpuStates) -> frozenset[int]:
        """The online set when the handler runs; refuses changes that are no change
        (the error names the file's ``hotplug`` key: see :meth:`fault` for its list)."""
        found = self.fault(machine)
        if found is not None:
            raise InputError(f"hotplug: {found[1]}")
        return (machine.online - self.offline_after_setup) | self.online_after_setup

    def fault(self, machine: CpuStates) -> tuple[str | None, str] | None:
        """Why this scenario cannot happen on ``machine``, or None when it can: the
        list at fault (``offline_after_setup``, ``online_after_setup``, or None when
        it takes both) and the reason, so each edge can blame what its user gave."""
        offline, online = self.offline_after_setup, self.online_after_setup
        for cpu in sorted(offline | online):
            if cpu not in machine.cpus:
                kind = "offline_after_setup" if cpu in offline else "online_after_setup"
                return kind, f"CPU {cpu} is not a present CPU"
        both = offline & online
        if both:
            return None, f"CPU {min(both)} is both onlined and offlined"
        not_online = sorted(offline - machine.online)
        if not_online:
            return "offline_after_setup", f"CPU {not_online[0]} is already offline at setup"
        not_offline = sorted(online & machine.online)
        if not_offline:
            return "online_after_setup", f"CPU {not_offline[0]} is already online at setup"
        if not (machine.online - offline) | online:
            # cpu_down() refuses the last online CPU, so no kernel gets here.
            return None, "the scenario takes every CPU offline; Linux never offlines its last CPU"
        return None


NO_HOTPLUG = Hotplug()
"""The scenario of a file that has none."""
