"""The package's layers, read from its source: who may import whom.

Every import counts, at module level, under ``if TYPE_CHECKING:`` and inside
functions, since a deferred import still ties the two modules together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "rmpplan"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in it, as a dotted name."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            # ``from rmpplan import fleet`` imports the module rmpplan.fleet.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> nx.DiGraph[str]:
    """rmpplan's modules and, for each, every module it imports (rmpplan's or not)."""
    sources = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(sources)
    for name, path in sources.items():
        for target in imported(path):
            if target.startswith("rmpplan"):
                if target in sources and target != name:
                    graph.add_edge(name, target)
            else:
                graph.add_edge(name, target.split(".")[0])
    return graph


def rmpplan_modules(graph: nx.DiGraph[str]) -> list[str]:
    return sorted(node for node in graph if node.startswith("rmpplan"))


def in_layer(name: str, layer: str) -> bool:
    return name == layer or name.startswith(f"{layer}.")


def test_the_graph_sees_every_kind_of_import() -> None:
    # A walker that missed deferred or TYPE_CHECKING imports would pass vacuously.
    graph = import_graph()
    assert len(rmpplan_modules(graph)) > 40
    assert graph.has_edge("rmpplan.cli.main", "click")
    assert graph.has_edge("rmpplan.render.table", "rich")
    assert graph.has_edge("rmpplan.cli.verify", "rmpplan.fleet")  # imported in functions
    assert graph.has_edge("rmpplan.render.common", "rmpplan.tally")  # under TYPE_CHECKING


def test_no_import_cycles() -> None:
    graph = import_graph().subgraph(rmpplan_modules(import_graph()))
    cycles = list(nx.simple_cycles(graph))
    assert cycles == []


def test_renderers_import_neither_the_process_pool_nor_the_cli() -> None:
    graph = import_graph()
    bad = [
        (source, target)
        for source, target in graph.edges
        if in_layer(source, "rmpplan.render")
        and (in_layer(target, "rmpplan.fleet") or in_layer(target, "rmpplan.cli"))
    ]
    assert bad == []


def test_the_core_imports_neither_click_nor_rich() -> None:
    graph = import_graph()
    core = [
        name
        for name in rmpplan_modules(graph)
        if not in_layer(name, "rmpplan.cli") and not in_layer(name, "rmpplan.render")
    ]
    assert "rmpplan.checks" in core and "rmpplan.tally" in core
    bad = [(name, target) for name in core for target in graph[name] if target in ("click", "rich")]
    assert bad == []


def test_click_only_under_cli() -> None:
    graph = import_graph()
    users = {source for source, target in graph.edges if target == "click"}
    assert users
    assert sorted(name for name in users if not in_layer(name, "rmpplan.cli")) == []


def test_renderers_show_outcomes_without_working_them_out() -> None:
    """Each result carries its outcome; a renderer that called ``outcome()`` or
    held findings against ``expect`` itself could disagree with the exit code."""
    bad = []
    for path in sorted((PACKAGE / "render").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "rmpplan.checks":
                bad += [(path.name, alias.name) for alias in node.names if alias.name == "outcome"]
            if isinstance(node, ast.Attribute) and node.attr == "expect":
                bad.append((path.name, f"line {node.lineno}: .expect"))
    assert bad == []
