"""The machine graph: its shape, every query against a brute-force recount from
the CPU list, canonical order, and GraphML that networkx reads back."""

from __future__ import annotations

import io
import random
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from rmpplan.cli.main import cli
from rmpplan.cpumask import parse_cpulist
from rmpplan.inputs import load_machine
from rmpplan.render.graphml import render_graphml
from rmpplan.terms import NR_CPUS_MAX
from rmpplan.topology.machine import CoreKey, Cpu, Machine, build_machine
from tests.conftest import ROOT, TOPOLOGIES
from tests.machines import machines, rebuilt


@st.composite
def cpu_lists(draw: st.DrawFn) -> list[Cpu]:
    """1-40 CPUs with sparse ids, put in random cores of random dies and
    packages, some offline (never the first), some without an APIC id."""
    ids = draw(st.lists(st.integers(0, 8191), min_size=1, max_size=40, unique=True))
    return [
        Cpu(
            cpu,
            draw(st.integers(0, 2)),
            draw(st.integers(0, 1)),
            draw(st.integers(0, 5)),
            index == 0 or draw(st.booleans()),
            draw(st.none() | st.integers(0, 1023)),
        )
        for index, cpu in enumerate(ids)
    ]


def _threads(cpus: list[Cpu]) -> dict[CoreKey, list[int]]:
    """Each core's threads, ascending, recounted from the CPU list."""
    cores: dict[CoreKey, list[int]] = {}
    for cpu in sorted(cpus, key=lambda c: c.id):
        cores.setdefault(cpu.core_key, []).append(cpu.id)
    return cores


@given(cpus=cpu_lists())
def test_queries_equal_a_recount_of_the_cpu_list(cpus: list[Cpu]) -> None:
    """Every query on the graph answers what counting the CPU list by hand answers."""
    machine = build_machine("m", cpus)
    online = {cpu.id for cpu in cpus if cpu.online}
    threads = _threads(cpus)
    order = sorted(threads, key=lambda key: threads[key][0])
    assert machine.present == {cpu.id for cpu in cpus}
    assert machine.online == online
    assert [core.key for core in machine.cores] == order
    assert [core.threads for core in machine.cores] == [tuple(threads[k]) for k in order]
    assert machine.cpus == {cpu.id: cpu for cpu in sorted(cpus, key=lambda c: c.id)}
    assert list(machine.cpus) == sorted(machine.present)
    assert machine.max_threads_per_core() == max(map(len, threads.values()))
    for cpu in cpus:
        core = threads[cpu.core_key]
        assert machine.core_index(cpu.id) == order.index(cpu.core_key)
        assert machine.core_of(cpu.id).key == cpu.core_key
        expected = tuple(t for t in core if t in online) if cpu.online else ()
        assert machine.sibling_mask(cpu.id) == expected
        assert machine.sibling_mask(cpu.id, frozenset(core)) == tuple(core)
    for key, members in threads.items():
        assert machine.core(key).threads == tuple(members)
        assert machine.core(key).online_threads == tuple(t for t in members if t in online)
    packages = sorted({cpu.package for cpu in cpus})
    assert machine.packages() == tuple(packages)
    for package in packages:
        dies = sorted({cpu.die for cpu in cpus if cpu.package == package})
        assert machine.dies(package) == tuple(dies)
        mine = sorted(cpu.id for cpu in cpus if cpu.package == package)
        assert machine.package_cpus(package) == tuple(mine)
        for die in dies:
            keys = sorted(key for key in threads if key[:2] == (package, die))
            assert [core.key for core in machine.die_cores(package, die)] == keys


@given(cpus=cpu_lists())
def test_graph_shape(cpus: list[Cpu]) -> None:
    """Nodes, their attributes and the parent-to-child edges are those the module documents."""
    graph = build_machine("m", cpus).graph
    keys = sorted(_threads(cpus))
    dies = sorted({key[:2] for key in keys})
    packages = sorted({key[0] for key in keys})
    assert graph.graph["name"] == "m"
    expected: dict[str, dict[str, object]] = {"machine": {"kind": "machine"}}
    expected |= {f"package{p}": {"kind": "package", "package": p} for p in packages}
    expected |= {f"die{p}.{d}": {"kind": "die", "package": p, "die": d} for p, d in dies}
    expected |= {
        f"core{p}.{d}.{c}": {"kind": "core", "package": p, "die": d, "core": c} for p, d, c in keys
    }
    for cpu in cpus:
        attrs: dict[str, object] = {"kind": "cpu", "cpu": cpu.id, "online": cpu.online}
        if cpu.apic_id is not None:
            attrs["apic_id"] = cpu.apic_id
        expected[f"cpu{cpu.id}"] = attrs
    assert dict(graph.nodes(data=True)) == expected
    edges = {("machine", f"package{p}") for p in packages}
    edges |= {(f"package{p}", f"die{p}.{d}") for p, d in dies}
    edges |= {(f"die{p}.{d}", f"core{p}.{d}.{c}") for p, d, c in keys}
    edges |= {(f"core{c.package}.{c.die}.{c.core}", f"cpu{c.id}") for c in cpus}
    assert set(graph.edges) == edges
    assert graph.number_of_edges() == len(edges)


@given(cpus=cpu_lists(), seed=st.integers(0, 2**32))
def test_graph_order_is_canonical(cpus: list[Cpu], seed: int) -> None:
    """CPUs in any order give the same nodes and edges in the same order: kind by kind, sorted."""
    graph = build_machine("m", cpus).graph
    shuffled = list(cpus)
    random.Random(seed).shuffle(shuffled)
    again = build_machine("m", shuffled).graph
    assert list(graph.nodes(data=True)) == list(again.nodes(data=True))
    assert list(graph.edges) == list(again.edges)
    kinds = [graph.nodes[node]["kind"] for node in graph]
    assert kinds == sorted(kinds, key=["machine", "package", "die", "core", "cpu"].index)
    cpu_ids = [graph.nodes[node]["cpu"] for node in graph if graph.nodes[node]["kind"] == "cpu"]
    assert cpu_ids == sorted(cpu_ids)


def _read(text: str) -> nx.DiGraph:
    """A GraphML document as networkx reads it."""
    return nx.read_graphml(io.BytesIO(text.encode("utf-8")))


@given(machine=machines(max_cpus=48))
def test_graphml_round_trips(machine: Machine) -> None:
    """networkx reads the GraphML back into a graph on which a Machine answers as the original."""
    graph = _read(render_graphml(machine))
    assert graph.graph["name"] == machine.name
    assert graph.graph["nr_cpu_ids"] == machine.nr_cpu_ids
    assert parse_cpulist(graph.graph["possible"], NR_CPUS_MAX) == machine.possible
    back = Machine(graph.graph["name"], graph, machine.possible)
    assert back.present == machine.present
    assert back.online == machine.online
    assert back.cores == machine.cores
    assert back.cpus == machine.cpus
    assert back.packages() == machine.packages()


@given(machine=machines(max_cpus=48), seed=st.integers(0, 2**32))
def test_graphml_does_not_depend_on_input_order(machine: Machine, seed: int) -> None:
    """The same machine built from its CPUs in another order writes byte-identical GraphML."""
    assert render_graphml(rebuilt(machine, seed)) == render_graphml(machine)


def test_graphml_attributes_are_scalars(tmp_path: Path) -> None:
    """source, possible and nr_cpu_ids are graph attributes; a CPU without an APIC id has none."""
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "name: t\nsource: hand-written\npossible: 0-7\ncpus:\n"
        "  - {id: 0, core: 0, apic_id: 0}\n  - {id: 4, core: 1, online: false}\n",
        encoding="utf-8",
    )
    graph = _read(render_graphml(load_machine(topo)))
    assert graph.graph == {
        "node_default": {},
        "edge_default": {},
        "name": "t",
        "source": "hand-written",
        "possible": "0-7",
        "nr_cpu_ids": 8,
    }
    assert graph.nodes["cpu0"] == {"kind": "cpu", "cpu": 0, "online": True, "apic_id": 0}
    assert graph.nodes["cpu4"] == {"kind": "cpu", "cpu": 4, "online": False}


def test_show_writes_graphml(monkeypatch: pytest.MonkeyPatch) -> None:
    """`show --format graphml` prints the writer's document; no other command takes graphml."""
    monkeypatch.chdir(ROOT)
    path = TOPOLOGIES / "power9-sparse.yaml"
    result = CliRunner().invoke(cli, ["show", str(path), "--format", "graphml"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_graphml(load_machine(path))
    refused = CliRunner().invoke(cli, ["plan", str(path), "--leader", "0", "--format", "graphml"])
    assert refused.exit_code == 2
    assert "'graphml' is not one of" in refused.stderr
    assert "Traceback" not in refused.stderr
