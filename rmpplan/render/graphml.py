"""``show --format graphml``: the machine graph, written by networkx's own GraphML writer.

The nodes, their attributes and the edges are the model's as they are
(:mod:`rmpplan.topology.machine` describes them); the graph attributes add
what lives beside the graph: ``source`` (when known), ``possible`` as a
kernel cpulist and ``nr_cpu_ids``. The graph is written as it was built, in
its canonical order, so the output does not depend on the input's order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from rmpplan.cpumask import format_cpulist
from rmpplan.escaping import xml_text

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine


def render_graphml(machine: Machine) -> str:
    """The machine's graph as a GraphML document."""
    # A copy: the file's graph attributes are not the model's (and the writer
    # pops an ``id`` graph attribute from the graph it is given).
    export = nx.DiGraph(name=xml_text(machine.name))
    if machine.source is not None:
        export.graph["source"] = xml_text(machine.source)
    export.graph["possible"] = format_cpulist(machine.possible)
    export.graph["nr_cpu_ids"] = machine.nr_cpu_ids
    export.add_nodes_from(machine.graph.nodes(data=True))
    export.add_edges_from(machine.graph.edges)
    return "\n".join(nx.generate_graphml(export)) + "\n"
