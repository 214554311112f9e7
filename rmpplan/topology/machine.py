"""The machine: a networkx graph of machine → package → die → core → CPU.

The graph (:attr:`Machine.graph`) is the model. Every question the planner,
the checker and the renderers ask of a machine is one documented query on
:class:`Machine`, answered from the graph; none of them reads the CPU list the
machine was built from. The queries asked per CPU in tight loops
(:meth:`Machine.core_index`, :meth:`Machine.core_of`,
:meth:`Machine.sibling_mask`) read an index that the first of them builds
from the graph and caches, so that they stay O(1).

The graph's shape, which ``rmpplan show --format graphml`` writes as it is:

* node ids are strings: ``"machine"``, ``"package0"``, ``"die0.1"`` (package
  0, die 1), ``"core0.1.3"`` (package 0, die 1, core 3) and ``"cpu17"``;
* every node has ``kind`` (``machine``, ``package``, ``die``, ``core`` or
  ``cpu``); package, die and core nodes have their numbers as ``package``,
  ``die`` and ``core``; CPU nodes have ``cpu`` (the Linux CPU number),
  ``online`` (a bool) and ``apic_id`` when it is known (absent otherwise);
* edges run from parent to child; the graph attribute ``name`` is the
  machine's name.

Nodes and edges are inserted in a canonical order (kind by kind, each sorted),
whatever order the CPUs came in, so that anything written from the graph is
deterministic.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.hotplug import NO_HOTPLUG, Hotplug
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    import networkx as nx

CoreKey = tuple[int, int, int]
"""A core's identity: (package, die, core)."""

MACHINE_NODE = "machine"
"""The graph's root node."""


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


def package_node(package: int) -> str:
    """The graph node of a package."""
    return f"package{package}"


def die_node(package: int, die: int) -> str:
    """The graph node of a die."""
    return f"die{package}.{die}"


def core_node(key: CoreKey) -> str:
    """The graph node of a core."""
    package, die, core = key
    return f"core{package}.{die}.{core}"


def cpu_node(cpu: int) -> str:
    """The graph node of a CPU."""
    return f"cpu{cpu}"


_CPU_NUMBER = itemgetter("cpu")


def _core_key(attrs: Mapping[str, int]) -> CoreKey:
    return (attrs["package"], attrs["die"], attrs["core"])


@dataclass(frozen=True, slots=True)
class _Index:
    """What the O(1) queries read, built once from the graph."""

    present: frozenset[int]
    online: frozenset[int]
    cores: tuple[Core, ...]
    core_of: dict[int, int]
    by_key: dict[CoreKey, Core]


class Machine:
    """A validated CPU topology: its graph and the queries asked of it.

    Build one with :func:`build_machine`; it refuses structurally broken input
    (no CPUs, a CPU twice, ids out of range) so that everything downstream may
    assume a well-formed machine. The possible set holds CPU ids that have no
    node (possible but not present), so it is kept beside the graph, as are
    the source and the file's hotplug scenario.

    One query per question, each answered from :attr:`graph`:

    * CPU sets: :attr:`present`, :attr:`online`, :attr:`possible`,
      :attr:`nr_cpu_ids`, and :attr:`cpus` (each CPU as a :class:`Cpu`);
    * cores: :attr:`cores` (by lowest CPU), :meth:`core` (by key),
      :meth:`core_index` and :meth:`core_of` (the core of a CPU),
      :meth:`sibling_mask` (its online threads), :meth:`max_threads_per_core`;
    * packages and dies: :meth:`packages`, :meth:`dies`, :meth:`die_cores`,
      :meth:`package_cpus`.
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

    @cached_property
    def _index(self) -> _Index:
        # One walk over the graph, on the first query that needs it.
        graph = self.graph
        with _collector_paused():
            nodes = dict(graph.nodes(data=True))
            cores = []
            for node, attrs in nodes.items():
                if attrs["kind"] == "core":
                    threads = sorted(
                        map(nodes.__getitem__, graph.successors(node)), key=_CPU_NUMBER
                    )
                    cores.append(
                        Core(
                            _core_key(attrs),
                            tuple(map(_CPU_NUMBER, threads)),
                            tuple(thread["cpu"] for thread in threads if thread["online"]),
                        )
                    )
            # Cores are ordered by their lowest CPU: the order a reader expects
            # and the one the kernel's ascending CPU walk meets them in.
            cores.sort(key=attrgetter("first"))
            cpus = [attrs for attrs in nodes.values() if attrs["kind"] == "cpu"]
            return _Index(
                present=frozenset(map(_CPU_NUMBER, cpus)),
                online=frozenset(attrs["cpu"] for attrs in cpus if attrs["online"]),
                cores=tuple(cores),
                core_of={cpu: index for index, core in enumerate(cores) for cpu in core.threads},
                by_key={core.key: core for core in cores},
            )

    @property
    def present(self) -> frozenset[int]:
        """The present CPUs: every CPU node."""
        return self._index.present

    @property
    def online(self) -> frozenset[int]:
        """The CPUs online at setup: CPU nodes whose ``online`` is true."""
        return self._index.online

    @property
    def nr_cpu_ids(self) -> int:
        """Highest possible CPU id + 1, as the kernel sizes its cpumasks."""
        return max(self.possible) + 1

    @property
    def cores(self) -> tuple[Core, ...]:
        """Every core with its present and online threads, ordered by lowest CPU.

        A core's position here is its index (:meth:`core_index`)."""
        return self._index.cores

    def core(self, key: CoreKey) -> Core:
        """The core with this (package, die, core) key; O(1)."""
        return self._index.by_key[key]

    def core_index(self, cpu: int) -> int:
        """Index into :attr:`cores` of the core that holds ``cpu``; O(1)."""
        return self._index.core_of[cpu]

    def core_of(self, cpu: int) -> Core:
        """The core that holds ``cpu`` (its node's parent); O(1)."""
        index = self._index
        return index.cores[index.core_of[cpu]]

    def sibling_mask(self, cpu: int, online: frozenset[int] | None = None) -> tuple[int, ...]:
        """``topology_sibling_cpumask(cpu)``: the online threads of cpu's core,
        cpu included; empty for an offline CPU, whose mask the kernel clears.

        ``online`` is the online set at that moment (the machine's own by default).
        """
        if online is None:
            index = self._index
            core = index.cores[index.core_of[cpu]]
            return core.online_threads if cpu in index.online else ()
        if cpu not in online:
            return ()
        return tuple(t for t in self.core_of(cpu).threads if t in online)

    def max_threads_per_core(self) -> int:
        """The widest core's thread count."""
        return max(len(core.threads) for core in self.cores)

    @cached_property
    def cpus(self) -> Mapping[int, Cpu]:
        """Every present CPU as a record, by ascending id: each CPU node with
        its core's package, die and core numbers."""
        nodes = self.graph.nodes
        cpus: dict[int, Cpu] = {}
        with _collector_paused():
            for core in self.cores:
                for cpu in core.threads:
                    attrs = nodes[cpu_node(cpu)]
                    cpus[cpu] = Cpu(cpu, *core.key, attrs["online"], attrs.get("apic_id"))
        return dict(sorted(cpus.items()))

    def packages(self) -> tuple[int, ...]:
        """The package numbers, ascending: the root's children."""
        nodes = self.graph.nodes
        return tuple(sorted(nodes[n]["package"] for n in self.graph.successors(MACHINE_NODE)))

    def dies(self, package: int) -> tuple[int, ...]:
        """The die numbers of ``package``, ascending."""
        nodes = self.graph.nodes
        children = self.graph.successors(package_node(package))
        return tuple(sorted(nodes[n]["die"] for n in children))

    def die_cores(self, package: int, die: int) -> tuple[Core, ...]:
        """The cores of one die, by ascending core number."""
        nodes = self.graph.nodes
        children = self.graph.successors(die_node(package, die))
        return tuple(map(self.core, sorted(_core_key(nodes[n]) for n in children)))

    def package_cpus(self, package: int) -> tuple[int, ...]:
        """The present CPUs of ``package``, ascending: the CPU nodes below it."""
        import networkx as nx

        nodes = self.graph.nodes
        below = nx.descendants(self.graph, package_node(package))
        return tuple(sorted(nodes[n]["cpu"] for n in below if nodes[n]["kind"] == "cpu"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while many containers are made.

    Every few hundred new dicts and tuples the collector runs, and now and
    then it traverses the whole heap, every imported module included (20-40
    ms after rmpplan's imports). The graph's dicts and tuples are not garbage,
    so those passes are pure cost while it is built; the collector meets
    them later, when it runs again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    return Machine(name, _machine_graph(name, seen.values()), possible_set, source, hotplug)


def _machine_graph(name: str, cpus: Iterable[Cpu]) -> nx.DiGraph:
    """The graph of checked CPUs (the module docstring describes its shape)."""
    # Imported where a graph is made, so that a file that fails to load does
    # not pay for it (about 100 ms, most of it networkx's algorithm modules).
    import networkx as nx

    with _collector_paused():
        ordered = sorted(cpus, key=attrgetter("id"))
        cpu_nodes = [cpu_node(cpu.id) for cpu in ordered]
        threads: dict[CoreKey, list[str]] = {}
        for cpu, node in zip(ordered, cpu_nodes, strict=True):
            threads.setdefault(cpu.core_key, []).append(node)
        keys = sorted(threads)
        dies = sorted({(package, die) for package, die, _ in keys})
        packages = sorted({package for package, _ in dies})
        package_nodes = {package: package_node(package) for package in packages}
        die_nodes = {key: die_node(*key) for key in dies}
        core_nodes = {key: core_node(key) for key in keys}

        graph = nx.DiGraph(name=name)
        graph.add_node(MACHINE_NODE, kind="machine")
        # add_nodes_from gives each node a copy of the shared keyword attributes
        # (a (node, dict) pair would cost it an exception and two more dicts per
        # node); the numbers are then set in place.
        graph.add_nodes_from(package_nodes.values(), kind="package")
        graph.add_nodes_from(die_nodes.values(), kind="die")
        graph.add_nodes_from(core_nodes.values(), kind="core")
        attrs = graph.nodes
        for package, node in package_nodes.items():
            attrs[node]["package"] = package
        for (package, die), node in die_nodes.items():
            data = attrs[node]
            data["package"], data["die"] = package, die
        for (package, die, core), node in core_nodes.items():
            data = attrs[node]
            data["package"], data["die"], data["core"] = package, die, core
        graph.add_nodes_from(cpu_nodes, kind="cpu")
        for node, cpu in zip(cpu_nodes, ordered, strict=True):
            data = attrs[node]
            data["cpu"], data["online"] = cpu.id, cpu.online
            if cpu.apic_id is not None:
                data["apic_id"] = cpu.apic_id

        graph.add_edges_from((MACHINE_NODE, node) for node in package_nodes.values())
        graph.add_edges_from((package_nodes[key[0]], node) for key, node in die_nodes.items())
        graph.add_edges_from((die_nodes[key[:2]], node) for key, node in core_nodes.items())
        graph.add_edges_from((core_nodes[key], child) for key in keys for child in threads[key])
        return graph


def _key_text(key: CoreKey) -> str:
    package, die, core = key
    return f"(package {package}, die {die}, core {core})"
