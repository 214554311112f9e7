"""``show --format hwloc-xml``: the machine as hwloc XML v2, which ``lstopo -i FILE``
reads, with rmpplan's roles as lstopo's own colours.

lstopo colours an object whose ``lstopoStyle`` info attribute holds
``Background=#rrggbb;Text=#rrggbb`` (lstopo(1), "CUSTOM COLORS"); each PU gets
the look of its role in the SVG picture (:data:`rmpplan.render.svg.LOOKS`), and
a core with a finding (run twice, missed, unprogrammed) the picture's problem
fill. Without a worker, the CPUs of the mask get the mask's look. Each PU also
carries its role as an ``RMPOPTRole`` info, for scripts.

The objects are those hwloc writes: Machine, one NUMANode, Package, Die (only
when a package has more than one), Core and PU, each with its ``cpuset`` in
hwloc's bitmap syntax. As in hwloc, a CPU offline at setup has no PU object:
it is only in the Machine's ``complete_cpuset``. Every string (the topology's
name) goes through the XML writer's escaping, and the name through
:func:`rmpplan.errors.printable` first, so no control character reaches the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rmpplan.escaping import printable
from rmpplan.picture import FINDINGS, Role
from rmpplan.render.svg import INK, LOOKS, PROBLEM_FILL

if TYPE_CHECKING:
    from rmpplan.cpu_rows import CpuRows
    from rmpplan.picture import Picture
    from rmpplan.topology.machine import Core


def bitmap(cpus: Iterable[int]) -> str:
    """``cpus`` as hwloc writes a bitmap: 32-bit words, most significant first,
    each ``0x%08x``, joined by commas (``0x000000ff,0xffffffff``)."""
    value = 0
    for cpu in cpus:
        value |= 1 << cpu
    words = [f"0x{(value >> shift) & 0xFFFFFFFF:08x}" for shift in range(0, value.bit_length(), 32)]
    return ",".join(reversed(words)) or "0x0"


def _style(fill: str, text: str) -> str:
    return f"Background={fill.lower()};Text={text.lower()}"


def _object(parent: ET.Element, kind: str, index: int, cpus: Iterable[int]) -> ET.Element:
    cpuset = bitmap(cpus)
    return ET.SubElement(
        parent,
        "object",
        {
            "type": kind,
            "os_index": str(index),
            "cpuset": cpuset,
            "complete_cpuset": cpuset,
            "nodeset": "0x00000001",
            "complete_nodeset": "0x00000001",
        },
    )


def _info(element: ET.Element, name: str, value: str) -> None:
    ET.SubElement(element, "info", {"name": name, "value": value})


def render_hwloc_xml(table: CpuRows) -> str:
    """The machine of ``table`` as hwloc XML v2; its worker's pass colours the
    roles, else the mask is coloured."""
    machine, picture = table.machine, table.picture
    online = machine.online
    in_mask = {row.cpu for row in table.rows if row.in_mask}
    root = ET.Element("topology", {"version": "2.0"})
    top = ET.SubElement(
        root,
        "object",
        {
            "type": "Machine",
            "os_index": "0",
            "cpuset": bitmap(online),
            "complete_cpuset": bitmap(machine.present),
            "allowed_cpuset": bitmap(online),
            # hwloc 1.x's word for it: without it a present CPU with no PU could be
            # offline or outside a cgroup, and rmpplan's reader refuses to guess.
            # hwloc 2 ignores the attribute (and drops it when it writes the file again).
            "online_cpuset": bitmap(online),
            "nodeset": "0x00000001",
            "complete_nodeset": "0x00000001",
            "allowed_nodeset": "0x00000001",
        },
    )
    _info(top, "RMPOPTTopology", printable(machine.name))
    _info(top, "RMPOPTWorker", "none" if table.worker is None else str(table.worker))
    _object(top, "NUMANode", 0, online)  # hwloc 2 needs one to load the file
    for package in machine.packages():
        cores = [core for die in machine.dies(package) for core in machine.die_cores(package, die)]
        package_cpus = [cpu for core in cores for cpu in core.online_threads]
        if not package_cpus:
            continue  # hwloc has no object without an online PU
        holder = _object(top, "Package", package, package_cpus)
        dies = machine.dies(package)
        for die in dies:
            die_cores = machine.die_cores(package, die)
            parent = holder
            if len(dies) > 1:
                die_cpus = [cpu for core in die_cores for cpu in core.online_threads]
                if not die_cpus:
                    continue
                parent = _object(holder, "Die", die, die_cpus)
            for core in die_cores:
                _core(parent, core, picture, in_mask)
    ET.SubElement(root, "support", {"name": "discovery.pu"})
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n' + body + "\n"
    )


def _core(parent: ET.Element, core: Core, picture: Picture | None, in_mask: set[int]) -> None:
    threads = core.online_threads
    if not threads:
        return
    element = _object(parent, "Core", core.key[2], threads)
    if picture is not None:
        index = picture.machine.core_index(core.first)
        mark = picture.marks[index]
        _info(element, "RMPOPTCore", str(mark))
        if mark in FINDINGS:
            _info(element, "lstopoStyle", _style(PROBLEM_FILL, INK))
    for cpu in threads:
        pu = _object(element, "PU", cpu, (cpu,))
        role = None
        if picture is not None:
            role = picture.roles[cpu]
        elif cpu in in_mask:
            role = Role.MASK
        if role is not None:
            look = LOOKS[role]
            _info(pu, "RMPOPTRole", str(role))
            _info(pu, "lstopoStyle", _style(look.fill, look.text))
