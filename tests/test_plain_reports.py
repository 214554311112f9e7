"""Off a terminal every table-format report is laid out without rich (rich is not even
imported for it); each must be rich's layout, byte for byte, for every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from rmpplan.cli.main import cli
from rmpplan.inputs import load_machine
from rmpplan.render import table
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

FILES = [
    path
    for path in sorted(TOPOLOGIES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
    if path.stem != "max-8192"
]
SHARD = ROOT / "tests" / "data" / "fleet" / "shard.jsonl"


def commands(path: Path) -> list[list[str]]:
    """Every table-format report of ``path``."""
    first = ["--leader", str(min(load_machine(path).online))]
    return [
        ["plan", str(path), "--leader", "all"],
        ["plan", str(path), *first, "--kernel", "v6"],
        ["verify", str(path)],
        ["verify", str(path), str(TOPOLOGIES / "single-core.yaml"), "missing.yaml"],
        ["compare", str(path)],
        ["compare", str(path), "--kernel", "v3"],
        ["explain", str(path), *first],
        ["explain", str(path), *first, "--kernel", "v6"],
        ["schedule", str(path), *first, "--memory", "0-2T"],
        ["show", str(path)],
    ]


def refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("rich laid out a report that needs no terminal")


def both_ways(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """stdout laid out directly, and by rich (every part handed to it)."""
    runner = CliRunner()
    with monkeypatch.context() as patched:
        if args[0] != "show":  # its tree is rich's to lay out
            patched.setattr(Console, "__init__", refuse)
        direct = runner.invoke(cli, [*args, "--format", "table"], catch_exceptions=False)
    with monkeypatch.context() as patched:
        patched.setattr(table, "_plain_part", lambda part: None)
        by_rich = runner.invoke(cli, [*args, "--format", "table"])
    assert (direct.exit_code, direct.stderr) == (by_rich.exit_code, by_rich.stderr)
    return direct.stdout, by_rich.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_report_off_a_terminal_is_rich_layout(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan, verify, compare, explain, schedule and show of every bundled topology and
    example print what rich would."""
    printed = []
    for args in commands(path):
        direct, by_rich = both_ways(args, monkeypatch)
        assert direct == by_rich, args
        printed.append(direct != "")
    # Only a kernel whose rule the machine cannot follow (no APIC ids) prints nothing.
    assert sum(printed) >= len(printed) - 3


def test_summary_is_rich_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary of a shard too."""
    direct, by_rich = both_ways(["summary", str(SHARD)], monkeypatch)
    assert direct == by_rich
    assert direct.startswith("Summary: ")


def test_grids_it_does_not_cover_are_left_to_rich() -> None:
    """A grid with a header, other padding, or a cell that is not plain ASCII: rich."""
    from rich.table import Table

    def grid(padding: tuple[int, int], cell: str = "x", **options: bool) -> Table:
        made = Table.grid(padding=padding, **options)
        made.add_column(justify="right")
        made.add_column()
        made.add_row("key", cell)
        return made

    covered = grid((0, 2))
    assert table.plain_grid(covered) == "key  x\n"
    others = [grid((0, 1)), grid((0, 2), "caf\u00e9"), grid((0, 2), expand=True)]
    assert [table.plain_grid(other) for other in others] == [None, None, None]
