"""``hwloc-gather-topology`` output: ``NAME.tar.bz2`` (a sysfs dump) beside ``NAME.xml``
(lstopo's view of the same machine), checked as one input.

The dump is what is verified: it alone knows offline CPUs, the possible set and
APIC ids. The XML is held against it, and a disagreement is bad input (a
one-line error, exit 2), not a finding: the two files claim to be one snapshot
of one machine, so when they differ the input cannot be trusted, and which of
them is right is not for ``verify`` to guess. hwloc lists only online PUs, so
the XML must hold exactly the dump's online CPUs, grouped into the same cores
and packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.terms import SourceFormat

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine

DUMP_SUFFIX = ".tar.bz2"
"""What ``hwloc-gather-topology NAME`` names its dump; the XML is ``NAME.xml``."""


def companion(dump: Path) -> Path | None:
    """The ``NAME.xml`` gathered beside the dump ``NAME.tar.bz2``, when there is one."""
    if not dump.name.lower().endswith(DUMP_SUFFIX):
        return None
    xml = dump.with_name(dump.name[: -len(DUMP_SUFFIX)] + ".xml")
    return xml if xml.is_file() else None


def pair(targets: Sequence[Path]) -> list[tuple[Path, Path | None]]:
    """``targets`` with each gathered XML folded into its dump, in order: a dump
    whose ``NAME.xml`` is also among the targets becomes one input (dump, xml)."""
    given = set(targets)
    xmls = {xml for target in targets if (xml := companion(target)) is not None and xml in given}
    return [(target, _partner(target, given)) for target in targets if target not in xmls]


def _partner(target: Path, given: set[Path]) -> Path | None:
    xml = companion(target)
    return xml if xml is not None and xml in given else None


def read_gathered(dump: Path, xml: Path) -> Machine:
    """The machine of the dump, once its XML agrees with it; errors name the dump."""
    from rmpplan.sources.detect import read_source

    machine = read_source(dump, SourceFormat.TARBALL)
    seen = read_source(xml, SourceFormat.HWLOC_XML)
    problem = disagreement(machine, seen)
    if problem is not None:
        raise InputError(
            f"disagrees with '{quote(xml.name)}' gathered beside it: {problem}", path=str(dump)
        )
    return machine


def disagreement(dump: Machine, xml: Machine) -> str | None:
    """How the XML's view differs from the dump's online CPUs; None when it does not."""
    if xml.present != dump.online:
        missing, extra = dump.online - xml.present, xml.present - dump.online
        if missing:
            return f"online CPU(s) {format_cpulist(missing)} of the dump are not in the XML"
        return f"the XML has CPU(s) {format_cpulist(extra)}, which the dump has not online"
    for label, ours, theirs in (
        ("core", _cores(dump), _cores(xml)),
        ("package", _packages(dump), _packages(xml)),
    ):
        if ours != theirs:
            cpu = min(cpu for group in ours ^ theirs for cpu in group)
            mine = next(group for group in ours if cpu in group)
            other = next(group for group in theirs if cpu in group)
            return (
                f"CPU {cpu} shares a {label} with {format_cpulist(mine)} in the dump "
                f"but with {format_cpulist(other)} in the XML"
            )
    return None


def _cores(machine: Machine) -> set[frozenset[int]]:
    return {frozenset(core.online_threads) for core in machine.cores if core.online_threads}


def _packages(machine: Machine) -> set[frozenset[int]]:
    found: dict[int, set[int]] = {}
    for cpu in machine.cpus.values():
        if cpu.online:
            found.setdefault(cpu.package, set()).add(cpu.id)
    return {frozenset(cpus) for cpus in found.values()}
