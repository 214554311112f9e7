"""The machine: a networkx graph of machine → package → die → core → CPU.

The graph is the one source of truth for sibling sets; every index on
:class:`Machine` is derived from it once, at construction, so that planning
and checking never walk the graph again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from rmpplan.errors import InputError
from rmpplan.hotplug import NO_HOTPLUG, Hotplug
from rmpplan.terms import NR_CPUS_MAX

CoreKey = tuple[int, int, int]
"""A core's identity: (package, die, core)."""

MACHINE_NODE = ("machine",)


@dataclass(frozen=True, slots=True)
class Cpu:
    """One present CPU (a hardware thread)."""

    id: int
    package: int
    die: int
    core: int
    online: bool = True
    apic_id: int | None = None

    @property
    def core_key(self) -> CoreKey:
        return (self.package, self.die, self.core)


@dataclass(frozen=True, slots=True)
class Core:
    """A core and its present threads, in ascending CPU order."""

    key: CoreKey
    threads: tuple[int, ...]
    online_threads: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.threads[0]

    def label(self) -> str:
        package, die, core = self.key
        return f"package {package} die {die} core {core}"


def cpu_node(cpu: int) -> tuple[str, int]:
    return ("cpu", cpu)


def core_node(key: CoreKey) -> tuple[str, int, int, int]:
    return ("core", *key)


class Machine:
    """A validated CPU topology with its derived sets.

    Build one with :func:`build_machine`; it refuses structurally broken input
    (no CPUs, a CPU twice, ids out of range) so that everything downstream may
    assume a well-formed machine.
    """

    def __init__(
        self,
        name: str,
        graph: nx.DiGraph,
        possible: frozenset[int],
        source: str | None = None,
        hotplug: Hotplug = NO_HOTPLUG,
    ) -> None:
        self.name = name
        self.graph = graph
        self.possible = possible
        self.source = source
        # The file's hotplug scenario (empty when it has none); verify judges it.
        self.hotplug = hotplug
        cpus: dict[int, Cpu] = {}
        cores: list[Core] = []
        core_of: dict[int, int] = {}
        for package_node in graph.successors(MACHINE_NODE):
            for die_node in graph.successors(package_node):
                for node in graph.successors(die_node):
                    key: CoreKey = (node[1], node[2], node[3])
                    threads = sorted(child[1] for child in graph.successors(node))
                    online = []
                    for cpu_id in threads:
                        attrs = graph.nodes[cpu_node(cpu_id)]
                        cpus[cpu_id] = Cpu(cpu_id, *key, attrs["online"], attrs["apic_id"])
                        if attrs["online"]:
                            online.append(cpu_id)
                    cores.append(Core(key, tuple(threads), tuple(online)))
        # Cores are ordered by their lowest CPU: the order a reader expects
        # and the one the kernel's ascending CPU walk meets them in.
        cores.sort(key=lambda core: core.first)
        for index, core in enumerate(cores):
            for cpu_id in core.threads:
                core_of[cpu_id] = index
        self.cpus: Mapping[int, Cpu] = dict(sorted(cpus.items()))
        self.cores: tuple[Core, ...] = tuple(cores)
        self._core_of = core_of

    @cached_property
    def present(self) -> frozenset[int]:
        return frozenset(self.cpus)

    @cached_property
    def online(self) -> frozenset[int]:
        return frozenset(cpu.id for cpu in self.cpus.values() if cpu.online)

    @property
    def nr_cpu_ids(self) -> int:
        """Highest possible CPU id + 1, as the kernel sizes its cpumasks."""
        return max(self.possible) + 1

    def core_index(self, cpu: int) -> int:
        """Index into :attr:`cores` of the core that holds ``cpu``."""
        return self._core_of[cpu]

    def core_of(self, cpu: int) -> Core:
        return self.cores[self._core_of[cpu]]

    def sibling_mask(self, cpu: int, online: frozenset[int] | None = None) -> tuple[int, ...]:
        """``topology_sibling_cpumask(cpu)``: the online threads of cpu's core,
        cpu included; empty for an offline CPU, whose mask the kernel clears.

        ``online`` is the online set at that moment (the machine's own by default).
        """
        if online is None:
            return self.core_of(cpu).online_threads if self.cpus[cpu].online else ()
        if cpu not in online:
            return ()
        return tuple(t for t in self.core_of(cpu).threads if t in online)

    def max_threads_per_core(self) -> int:
        return max(len(core.threads) for core in self.cores)


def build_machine(
    name: str,
    cpus: Iterable[Cpu],
    possible: Iterable[int] | None = None,
    source: str | None = None,
    hotplug: Hotplug = NO_HOTPLUG,
) -> Machine:
    """Check the CPUs' structure and build the graph.

    Raises :class:`InputError` for a CPU listed twice, ids outside
    [0, NR_CPUS_MAX), no CPUs at all, or a possible set missing a present CPU.
    """
    seen: dict[int, Cpu] = {}
    for cpu in cpus:
        if not 0 <= cpu.id < NR_CPUS_MAX:
            raise InputError(f"CPU id {cpu.id} is outside 0-{NR_CPUS_MAX - 1}")
        previous = seen.get(cpu.id)
        if previous is not None:
            if previous.core_key != cpu.core_key:
                raise InputError(
                    f"CPU {cpu.id} is in two cores: "
                    f"{_key_text(previous.core_key)} and {_key_text(cpu.core_key)}"
                )
            raise InputError(f"CPU {cpu.id} is listed twice")
        seen[cpu.id] = cpu
    if not seen:
        raise InputError("the topology has no CPUs")
    if not any(cpu.online for cpu in seen.values()):
        raise InputError("no CPU is online; a running machine has at least one")
    possible_set = frozenset(seen) if possible is None else frozenset(possible)
    missing = sorted(set(seen) - possible_set)
    if missing:
        raise InputError(f"present CPU {missing[0]} is not in the possible set")
    out_of_range = [cpu for cpu in possible_set if not 0 <= cpu < NR_CPUS_MAX]
    if out_of_range:
        raise InputError(f"possible CPU {min(out_of_range)} is outside 0-{NR_CPUS_MAX - 1}")

    graph = nx.DiGraph(name=name)
    graph.add_node(MACHINE_NODE, kind="machine")
    edges: list[tuple[tuple[object, ...], tuple[object, ...]]] = []
    nodes: list[tuple[tuple[object, ...], dict[str, object]]] = []
    for cpu in sorted(seen.values(), key=lambda c: c.id):
        package = ("package", cpu.package)
        die = ("die", cpu.package, cpu.die)
        core = core_node(cpu.core_key)
        this = cpu_node(cpu.id)
        nodes.append((package, {"kind": "package"}))
        nodes.append((die, {"kind": "die"}))
        nodes.append((core, {"kind": "core"}))
        nodes.append((this, {"kind": "cpu", "online": cpu.online, "apic_id": cpu.apic_id}))
        edges += [(MACHINE_NODE, package), (package, die), (die, core), (core, this)]
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return Machine(name, graph, possible_set, source, hotplug)


def _key_text(key: CoreKey) -> str:
    package, die, core = key
    return f"(package {package}, die {die}, core {core})"
