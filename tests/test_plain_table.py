"""The table format lays out its simple tables itself when output is plain (no colour,
no wrapping); that layout must be rich's, byte for byte."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from rich import box
from rich.table import Table
from rich.text import Text

from rmpplan.checks import Checked, compare, verify
from rmpplan.cli.collector import paused
from rmpplan.cli.main import main
from rmpplan.inputs import load_machine
from rmpplan.plan import plan
from rmpplan.render import PLAIN, Display
from rmpplan.render import table as render
from rmpplan.terms import Strategy
from rmpplan.topology.machine import Machine
from tests.conftest import EXAMPLES, TOPOLOGIES, examples
from tests.machines import machines

# A width that never wraps makes rich lay out every table itself.
RICH = Display(width=render.UNWRAPPED)
FILES = sorted(TOPOLOGIES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
SMALL = [path for path in FILES if path.stem != "max-8192"]


def reports(machine: Machine, strategy: Strategy) -> list[tuple[str, str]]:
    """Every table-format report of ``machine``, laid out both ways."""
    result = plan(machine, tuple(sorted(machine.online)), strategy=strategy)
    checked = [Checked("a.yaml", machine, verify(machine)), Checked("b.yaml", error="bad")]
    return [
        (render.render_plan(result, PLAIN), render.render_plan(result, RICH)),
        (render.render_verify(checked, PLAIN), render.render_verify(checked, RICH)),
        (
            render.render_compare(compare(machine), PLAIN),
            render.render_compare(compare(machine), RICH),
        ),
    ]


@pytest.mark.parametrize("path", SMALL, ids=lambda path: path.stem)
@pytest.mark.parametrize("strategy", list(Strategy))
def test_plain_layout_is_rich_layout(path: Path, strategy: Strategy) -> None:
    """plan, verify and compare tables of every bundled topology and example match rich's."""
    for plain, rich in reports(load_machine(path), strategy):
        assert plain == rich


@given(machine=machines())
@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_layout_of_any_machine(machine: Machine) -> None:
    """The same on generated machines, offline CPUs and odd numbering included."""
    for plain, rich in reports(machine, Strategy.V8_THREE_WAY):
        assert plain == rich


def test_tables_it_does_not_cover_are_left_to_rich() -> None:
    """A title, another box, or a cell that is not plain ASCII: rich lays it out."""
    titled = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="t")
    edged = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    wide = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    wide.add_column("name")
    wide.add_row(Text("caf\u00e9"))
    simple = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    simple.add_column("a")
    simple.add_column("bb", justify="right")
    simple.add_row("xyz", "1")
    assert [render.plain_table(t) for t in (titled, edged, wide)] == [None, None, None]
    assert render.plain_table(simple) == "a     bb\n" + "\u2500" * 8 + "\nxyz    1\n"


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_paused_for_a_command_and_restored(enabled: bool) -> None:
    """A command runs with collection off, restores the setting, and freezes nothing:
    an in-process caller keeps collecting what the command left."""
    seen: list[bool] = []

    @paused
    def command() -> None:
        seen.append(gc.isenabled())

    (gc.enable if enabled else gc.disable)()
    gc.unfreeze()
    try:
        command()
        assert seen == [False]
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_in_process_commands_freeze_nothing() -> None:
    """main() as tests and API users call it leaves no object frozen for good."""
    gc.unfreeze()
    assert main(["plan", "single-core", "--leader", "0", "--format", "json"]) == 0
    assert gc.get_freeze_count() == 0


def test_console_entry_freezes_before_exit() -> None:
    """The console entry point freezes what is alive, then exits with the run's code."""
    code = (
        "import gc, sys\n"
        "from rmpplan.cli import main as m\n"
        "sys.argv = ['rmpplan', 'plan', 'single-core', '--leader', '0']\n"
        "try:\n"
        "    m.entry()\n"
        "except SystemExit as done:\n"
        "    print(done.code, gc.get_freeze_count() > 0, file=sys.stderr)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=30
    )
    assert child.stderr.split() == ["0", "True"], child.stderr
