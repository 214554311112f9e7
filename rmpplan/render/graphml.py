"""``show --format graphml``: the machine graph, written by networkx's own GraphML writer.

The nodes, their attributes and the edges are the model's as they are
(:mod:`rmpplan.topology.machine` describes them); the graph attributes add
what lives beside the graph: ``source`` (when known), ``possible`` as a
kernel cpulist and ``nr_cpu_ids``. The graph is written as it was built, in
its canonical order, so the output does not depend on the input's order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import networkx as nx

from rmpplan.cpumask import format_cpulist
from rmpplan.errors import printable

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine


# XML 1.0 cannot hold these at all, not even escaped; a name may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    """``value`` with what XML cannot hold escaped as every format escapes it (``\\x01``)."""
    return _NOT_XML.sub(lambda match: printable(match.group()), value)


def render_graphml(machine: Machine) -> str:
    """The machine's graph as a GraphML document."""
    # A copy: the file's graph attributes are not the model's (and the writer
    # pops an ``id`` graph attribute from the graph it is given).
    export = nx.DiGraph(name=_xml_text(machine.name))
    if machine.source is not None:
        export.graph["source"] = _xml_text(machine.source)
    export.graph["possible"] = format_cpulist(machine.possible)
    export.graph["nr_cpu_ids"] = machine.nr_cpu_ids
    export.add_nodes_from(machine.graph.nodes(data=True))
    export.add_edges_from(machine.graph.edges)
    return "\n".join(nx.generate_graphml(export)) + "\n"
