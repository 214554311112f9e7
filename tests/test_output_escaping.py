"""Output that cannot be misread: names and paths escaped in text and Markdown, JSON
always UTF-8, cpulists on a terminal wrapped only after a comma and never cut."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan import api
from rmpplan.checks import Checked
from rmpplan.cli.main import cli
from rmpplan.cpumask import format_cpulist
from rmpplan.render import Display, markdown, table, text
from rmpplan.topology.load import expand_layout
from rmpplan.topology.machine import build_machine
from rmpplan.topology.schema import Layout
from tests.conftest import EXAMPLES, ROOT, examples

LAYOUT = '{"packages": 1, "dies_per_package": 1, "cores_per_die": 2, "threads_per_core": 2}'
NASTY = "evil\nname | with `ticks` and\x1b[31m\u2028\udcff"


def machine_named(name: str) -> api.Machine:
    """A 4-CPU machine called ``name``, built directly: topology files refuse a lone
    surrogate, but a source named after a path byte that is not UTF-8 carries one."""
    layout = Layout.model_validate(json.loads(LAYOUT))
    return build_machine(name, list(expand_layout(layout)))


def verified(name: str, path: str) -> list[Checked]:
    machine = machine_named(name)
    return [Checked(path, machine, api.verify(machine))]


# --- text and Markdown --------------------------------------------------------------


def test_text_keeps_one_line_per_entry() -> None:
    """A name with a newline and control characters stays on its line, escaped."""
    out = text.render_verify(verified(NASTY, NASTY))
    header, *lines = out.splitlines()
    assert header == "config: none"
    assert lines[0].startswith("ok    evil\\nname | with `ticks` and\\x1b[31m\\u2028\\xff (evil")
    assert len(lines) == 1
    assert all(line.isprintable() for line in lines)
    plan = text.render_plan(api.plan(machine_named(NASTY)))
    assert plan.splitlines()[0] == "topology: evil\\nname | with `ticks` and\\x1b[31m\\u2028\\xff"


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells, split where GitHub splits: at unescaped pipes."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_rows_keep_their_cells() -> None:
    """A name with |, backticks and a newline is one code span in one cell."""
    out = markdown.render_verify(verified(NASTY, "dir/" + NASTY))
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    header, row = rows[0], rows[1]
    assert len(_cells(row)) == len(_cells(header)) == 5
    path_cell = _cells(row)[0].strip()
    assert path_cell == "``dir/evil\\nname \\| with `ticks` and\\x1b[31m\\u2028\\xff``"
    heading = markdown.render_plan(api.plan(machine_named("a`b|c"))).splitlines()[0]
    assert heading == "### RMPOPT plan for ``a`b|c``"


def test_markdown_code_span_edges() -> None:
    """A backtick at either end is padded so that the span keeps it."""
    rows = markdown.render_verify(verified("`x`", "p"))
    assert "| `p` | `` `x` `` |" in rows


def test_markdown_error_cell_is_escaped() -> None:
    """An error message's pipes, backticks and markup cannot end the cell or format."""
    checked = [Checked("p", None, error="bad | `x` *y* [z](u) <b>")]
    row = next(line for line in markdown.render_verify(checked).splitlines() if "error" in line)
    assert len(_cells(row)) == 5
    assert "error: bad \\| \\`x\\` \\*y\\* \\[z\\](u) \\<b\\>" in row


def test_graphml_is_well_formed_for_any_name() -> None:
    """show --format graphml of a name with a control character and a stray byte parses."""
    import xml.etree.ElementTree as ET

    from rmpplan.render.graphml import render_graphml

    out = render_graphml(machine_named("a\x01b\udcff"))
    document = ET.fromstring(out.encode("utf-8"))
    assert "a\\x01b\\xff" in [element.text for element in document.iter()]


# --- JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "jsonl", "github", "junit", "text", "markdown", "table"])
def test_output_is_utf8_for_a_path_that_is_not(tmp_path: Path, fmt: str) -> None:
    """verify of a path holding byte 0xff: every format is valid UTF-8, the byte \\xff."""
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/box\xff"))
    folder.mkdir()
    (folder / "t.yaml").write_text("layout: " + LAYOUT + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "rmpplan", "verify", os.fsencode(folder), "--format", fmt],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8")
    if fmt in ("json", "jsonl"):
        document = json.loads(out.splitlines()[0] if fmt == "jsonl" else out)
        entry = document if fmt == "jsonl" else document["results"][0]
        assert entry["path"] == f"{tmp_path}/box\\xff/t.yaml"
    else:
        assert "box\\xff" in out


@settings(max_examples=examples(50), deadline=None)
@given(name=st.lists(st.characters() | st.characters(categories=["Cs"]), max_size=8).map("".join))
def test_json_always_encodes(name: str) -> None:
    """Any name, lone surrogates included, renders as JSON that encodes as UTF-8."""
    machine = machine_named(name)
    for out in (
        api.render(api.plan(machine)),
        api.render(Checked(name, machine, api.verify(machine))),
    ):
        out.encode("utf-8")
        json.loads(out)


# --- rich tables on a terminal ------------------------------------------------------


def column_fragments(out: str, title: str, following: str | None) -> list[list[str]]:
    """The text of column ``title`` in each row of the first table that has it (a row
    starts where the first column is not blank); ``following`` is the next header
    (None: ``title`` is the last)."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if title in line and (following or title) in line)
    start = lines[at].index(title)
    end = None if following is None else lines[at].index(following)
    rows: list[list[str]] = []
    for line in lines[at + 2 :]:
        if not line.strip():
            break
        if not line.startswith(" "):
            rows.append([])
        rows[-1].append(line[start:end].strip())
    return rows


@settings(max_examples=examples(40), deadline=None)
@given(width=st.integers(min_value=30, max_value=160))
def test_cpulists_wrap_only_after_a_comma(width: int) -> None:
    """At any terminal width a followers list breaks after commas, never in a number."""
    machine = api.load("xeon-2s-adjacent")  # SMT-adjacent: long lists of single CPUs
    result = api.plan(machine, "0-3")
    out = table.render_plan(result, Display(color=False, width=width))
    rows = column_fragments(out, "Followers", None)
    expected = [format_cpulist(result.mask - item.removed) for item in result.plans[::2]]
    assert ["".join(row) for row in rows] == expected
    for row in rows:
        assert all(fragment.endswith(",") for fragment in row[:-1]), (width, row)
    assert "\u2026" not in out


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_no_value_is_cut_short(width: int) -> None:
    """verify of the examples at a terminal width: nothing ends in an ellipsis, the
    rule and strategy (one for every input) are shown once above the table, whole,
    and only a path segment wider than the terminal makes a line wider."""
    checked = [
        # The rule and strategy named, so that the kernel as landed is not judged as
        # well: its findings name a strategy too, and the count below is one a row.
        Checked(str(path), machine, api.verify(machine, "first-sibling", "v9-andnot"))
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for machine in [api.load(path)]
    ]
    out = table.render_verify(checked, Display(color=False, width=width))
    assert "\u2026" not in out
    lines = out.splitlines()
    assert [line.split() for line in lines if "first-sibling" in line] == [
        ["Rule", "first-sibling"]
    ]
    assert [line.split() for line in lines if "v9-andnot" in line] == [["Strategy", "v9-andnot"]]
    segment = max(len(part) for path in EXAMPLES.glob("*.yaml") for part in path.parts)
    assert max(len(line) for line in lines) <= max(width, len("docs/") + segment)


def test_a_terminal_at_80_columns() -> None:
    """rmpplan on a real terminal (a pty, COLUMNS=80) wraps the mask after commas."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "xterm"}
    with subprocess.Popen(
        [sys.executable, "-m", "rmpplan", "plan", "xeon-2s-adjacent", "--leader", "0-3"],
        cwd=ROOT,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the pty reports EIO once the program has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait()
    os.close(leader)
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    assert process.returncode == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = column_fragments(out, "Followers", None)
    assert rows[0] == [
        "2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,",
        "42,44,46,48,50,52,54",
    ]


# --- colour ---------------------------------------------------------------------


def test_empty_no_color_keeps_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR disables colour only when it is not empty (no-color.org)."""
    from rmpplan.cli.options import display

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "")
    assert display().color
    monkeypatch.setenv("NO_COLOR", "0")
    assert not display().color


def test_cli_escapes_a_name_on_stderr(tmp_path: Path) -> None:
    """import's status line names the output escaped, on one line."""
    out = tmp_path / "a\nb.yaml"
    result = CliRunner().invoke(cli, ["import", "single-core", "-o", str(out)])
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1
    assert "a\\nb.yaml" in result.stderr
