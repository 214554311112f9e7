"""Machine → topology document: the compact form when the machine is regular,
the explicit form otherwise; both load back to the same machine."""

from __future__ import annotations

import json
import re
from typing import NotRequired, Required, TypedDict

import yaml

from rmpplan.cpumask import format_cpulist
from rmpplan.escaping import printable, unicode_json, unicode_text
from rmpplan.plain import JSONValue
from rmpplan.topology.load import expand_layout
from rmpplan.topology.machine import Machine, build_machine
from rmpplan.topology.schema import Layout


class CpuDocument(TypedDict):
    """One entry of an explicit topology file's ``cpus``."""

    id: int
    package: int
    die: int
    core: int
    online: NotRequired[bool]
    apic_id: NotRequired[int]


class TopologyDocument(TypedDict, total=False):
    """A topology file as written: its name, then a ``layout`` or its ``cpus``."""

    name: Required[str]
    source: str
    possible: str
    offline: str
    layout: dict[str, JSONValue]
    cpus: list[CpuDocument]
    offline_after_setup: str
    online_after_setup: str


def canonical(machine: Machine) -> tuple[object, ...]:
    """What must survive a round trip: ids, sibling sets, package and die
    membership, online set and APIC ids (core numbers may change)."""
    cpus = machine.cpus.values()
    return (
        sorted(core.threads for core in machine.cores),
        sorted((c.id, c.package, c.die, c.online, c.apic_id) for c in cpus),
    )


def regular_layout(machine: Machine) -> Layout | None:
    """The layout that expands to exactly this machine, if there is one."""
    packages = sorted({cpu.package for cpu in machine.cpus.values()})
    dies = sorted({(cpu.package, cpu.die) for cpu in machine.cpus.values()})
    widths = {len(core.threads) for core in machine.cores}
    if len(widths) != 1 or packages != list(range(len(packages))):
        return None
    if len(dies) % len(packages) or len(machine.cores) % len(dies):
        return None
    dies_per_package = len(dies) // len(packages)
    if dies != [(p, d) for p in range(len(packages)) for d in range(dies_per_package)]:
        return None
    offline = machine.present - machine.online
    for numbering in ("smt-last", "smt-adjacent"):
        layout = Layout(
            packages=len(packages),
            dies_per_package=dies_per_package,
            cores_per_die=len(machine.cores) // len(dies),
            threads_per_core=next(iter(widths)),
            numbering=numbering,
        )
        expanded = list(expand_layout(layout, offline))
        if {cpu.id for cpu in expanded} != set(machine.cpus):
            continue
        candidate = build_machine(machine.name, expanded, machine.possible)
        if canonical(candidate) == canonical(machine):
            return layout
    return None


def to_document(machine: Machine, *, compact: bool = True) -> TopologyDocument:
    """The topology file for ``machine`` (keys in the order a reader expects)."""
    doc: TopologyDocument = {"name": machine.name}
    if machine.source is not None:
        doc["source"] = machine.source
    if machine.possible != machine.present:
        doc["possible"] = format_cpulist(machine.possible)
    layout = regular_layout(machine) if compact else None
    if layout is not None:
        offline = machine.present - machine.online
        if offline:
            doc["offline"] = format_cpulist(offline)
        doc["layout"] = layout.model_dump()
    else:
        doc["cpus"] = [_cpu_entry(machine, cpu_id) for cpu_id in machine.cpus]
    if machine.hotplug.offline_after_setup:
        doc["offline_after_setup"] = format_cpulist(machine.hotplug.offline_after_setup)
    if machine.hotplug.online_after_setup:
        doc["online_after_setup"] = format_cpulist(machine.hotplug.online_after_setup)
    return doc


def _cpu_entry(machine: Machine, cpu_id: int) -> CpuDocument:
    cpu = machine.cpus[cpu_id]
    entry: CpuDocument = {
        "id": cpu.id,
        "package": cpu.package,
        "die": cpu.die,
        # Cores are numbered in the machine's order (by lowest CPU): unique,
        # small, and the same whatever order the source listed them in.
        "core": machine.core_index(cpu.id),
    }
    if not cpu.online:
        entry["online"] = False
    if cpu.apic_id is not None:
        entry["apic_id"] = cpu.apic_id
    return entry


class _FlowDumper(yaml.SafeDumper):
    """Writes each CPU entry on one line: a long file stays readable and diffable."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, object]) -> yaml.Node:
    flow = "id" in data
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # A surrogate (a path byte that is not UTF-8) has no YAML form: it is written as
    # \xNN text, which every report also shows it as (rmpplan.escaping.unicode_text).
    text = unicode_text(data)
    # PyYAML folds U+0085, U+2028 and U+2029 into a single-quoted string as raw line
    # breaks, which read back as spaces; double quotes escape every such character.
    style = None if text.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_FlowDumper.add_representer(dict, _represent_dict)
_FlowDumper.add_representer(str, _represent_str)
# PyYAML quotes a string that YAML 1.1 would read as something else; rmpplan reads
# YAML 1.2's core schema (rmpplan.topology.parse), where 0o17 is an int and 1e5 a
# float, so those are quoted too: every string reads back as the same string.
_FlowDumper.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_FlowDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def yaml_comment(text: str) -> str:
    """``text`` as one comment line: nothing in it can end the comment (a line
    break, U+2028, a control character) or make the file unreadable (a byte
    that is not UTF-8); each is escaped."""
    return "# " + printable(text) + "\n"


def dump_yaml(doc: TopologyDocument, header: str = "") -> str:
    body = yaml.dump(doc, Dumper=_FlowDumper, sort_keys=False, width=100, allow_unicode=True)
    return header + body


def dump_json(doc: TopologyDocument) -> str:
    """JSON that rmpplan reads back: a lone surrogate (a path byte that is not UTF-8)
    is not Unicode, so, as in YAML, it is written as ``\\xNN`` text."""
    return json.dumps(unicode_json(doc), indent=2, allow_nan=False) + "\n"
