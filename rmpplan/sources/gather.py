"""``hwloc-gather-topology`` output: ``NAME.tar.bz2`` (a sysfs dump) beside ``NAME.xml``
(lstopo's view of the same machine), checked as one input.

The dump is what is verified: it alone knows the possible set and APIC ids, and
which CPUs are offline when the XML cannot tell them from CPUs outside the cgroup.
The XML is held against it, and a disagreement is bad input (a one-line error,
exit 2), not a finding: the two files claim to be one snapshot of one machine, so
when they differ the input cannot be trusted, and which of them is right is not
for ``verify`` to guess. The XML's present CPUs (its root's ``complete_cpuset``)
must be the dump's; its online CPUs must be the dump's when it can tell them,
and otherwise its PUs must be online in the dump; the CPUs it places must share
cores and packages as in the dump.

A pair found in a folder is a pair even when one half cannot be read: a
``NAME.xml`` beside the dump (or a ``NAME.tar.bz2`` beside the XML) that is a
FIFO, a link out of the folder, unreadable or not hwloc XML is an error naming
it, never a quieter check of the other half alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.terms import SourceFormat

if TYPE_CHECKING:
    from rmpplan.sources.hwloc_xml import HwlocView
    from rmpplan.topology.machine import Machine

DUMP_SUFFIX = ".tar.bz2"
"""What ``hwloc-gather-topology NAME`` names its dump; the XML is ``NAME.xml``."""
XML_SUFFIX = ".xml"


def _exists(path: Path) -> bool:
    """Whether anything has this name, a FIFO or a link to nothing included."""
    return os.path.lexists(path)


def companion(dump: Path) -> Path | None:
    """The ``NAME.xml`` gathered beside the dump ``NAME.tar.bz2``, when anything has that
    name (whatever it is: reading it tells)."""
    if not dump.name.lower().endswith(DUMP_SUFFIX):
        return None
    xml = dump.with_name(dump.name[: -len(DUMP_SUFFIX)] + XML_SUFFIX)
    return xml if _exists(xml) else None


def _dump_of(xml: Path) -> Path | None:
    """The ``NAME.tar.bz2`` beside ``NAME.xml``, when anything has that name."""
    if not xml.name.lower().endswith(XML_SUFFIX):
        return None
    dump = xml.with_name(xml.name[: -len(XML_SUFFIX)] + DUMP_SUFFIX)
    return dump if _exists(dump) else None


def pair(targets: Sequence[Path]) -> list[tuple[Path, Path | None]]:
    """``targets`` (found in a folder) with each gathered pair as one input (dump, xml),
    in order: a dump with a ``NAME.xml`` beside it, and an XML with a ``NAME.tar.bz2``
    beside it that is not among the targets (a FIFO, say), which then fails to read."""
    given = set(targets)
    folded: set[Path] = set()
    pairs: list[tuple[Path, Path | None]] = []
    for target in targets:
        xml = companion(target)
        if xml is not None:
            folded.add(xml)
            pairs.append((target, xml))
            continue
        dump = _dump_of(target)
        if dump is not None and dump not in given:
            pairs.append((dump, target))
        else:
            pairs.append((target, None))
    return [(target, xml) for target, xml in pairs if target not in folded]


def _outside(path: Path, folder: Path) -> bool:
    """Whether a link leads out of ``folder`` (or nowhere)."""
    if not path.is_symlink():
        return False
    try:
        return not path.resolve(strict=True).is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError):
        return True


def read_gathered(dump: Path, xml: Path) -> Machine:
    """The machine of the dump, once its XML agrees with it; a disagreement names the
    dump, a half that cannot be read names that half."""
    from rmpplan.sources.detect import read_source
    from rmpplan.sources.hwloc_xml import read_hwloc_view

    for half in (dump, xml):
        if _outside(half, dump.parent):
            raise InputError(
                "a symbolic link out of its folder (or to nothing); the two files "
                "hwloc-gather-topology writes sit side by side",
                path=str(half),
            )
    machine = read_source(dump, SourceFormat.TARBALL)
    try:
        view = read_hwloc_view(xml, machine.name)
    except InputError as err:
        raise err.located(str(xml)) from None
    problem = disagreement(machine, view)
    if problem is not None:
        raise InputError(
            f"disagrees with '{quote(xml.name)}' gathered beside it: {problem}", path=str(dump)
        )
    return machine


def disagreement(dump: Machine, view: HwlocView) -> str | None:
    """How the XML's view differs from the dump; None when it does not."""
    pus = view.pus
    if view.present is not None and view.present != dump.present:
        return _sets_differ("present", view.present, dump.present)
    if view.present is None or view.judged:
        # Without complete_cpuset the XML knows only its PUs, all online.
        mine = view.machine.online if view.present is not None else pus
        if mine != dump.online:
            return _sets_differ("online", mine, dump.online)
    elif not pus <= dump.online:
        return f"the XML has CPU(s) {format_cpulist(pus - dump.online)} as PUs, offline in the dump"
    online = view.machine.online
    for label, ours, theirs in (
        ("core", _cores(dump, online), _cores(view.machine, online)),
        ("package", _packages(dump, online), _packages(view.machine, online)),
    ):
        if ours != theirs:
            cpu = min(cpu for group in ours ^ theirs for cpu in group)
            mine_group = next(group for group in ours if cpu in group)
            other = next(group for group in theirs if cpu in group)
            return (
                f"CPU {cpu} shares a {label} with {format_cpulist(mine_group)} in the dump "
                f"but with {format_cpulist(other)} in the XML"
            )
    return None


def _sets_differ(what: str, xml: frozenset[int], dump: frozenset[int]) -> str:
    missing, extra = dump - xml, xml - dump
    where = "the XML's complete_cpuset" if what == "present" else "the XML"
    if missing:
        return f"{what} CPU(s) {format_cpulist(missing)} of the dump are not in {where}"
    return f"{where} has CPU(s) {format_cpulist(extra)}, which the dump has not {what}"


def _cores(machine: Machine, among: frozenset[int]) -> set[frozenset[int]]:
    """The cores' online threads among ``among`` (the CPUs the XML places)."""
    cores = (frozenset(core.online_threads) & among for core in machine.cores)
    return {threads for threads in cores if threads}


def _packages(machine: Machine, among: frozenset[int]) -> set[frozenset[int]]:
    found: dict[int, set[int]] = {}
    for cpu in machine.cpus.values():
        if cpu.online and cpu.id in among:
            found.setdefault(cpu.package, set()).add(cpu.id)
    return {frozenset(cpus) for cpus in found.values()}
