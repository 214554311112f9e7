"""``verify --format concise``: one line per problem, ``path:line: check: message``,
as ruff and mypy print, so that an editor's error list and grep jump to it.

A problem is what fails the run: an unexpected finding, a stale expectation, an
input that could not be read (its check is ``error``). An expected finding is
not one, so it has no line. Each problem's line is the one the github format
annotates (:func:`rmpplan.render.github.finding_line`). A last line, which no
``path:line:`` pattern matches, counts the problems.

No line is ever wrapped, and no input can add or start one: every name and
message is escaped as in the github format (:func:`rmpplan.render.github.log_text`:
a line break or control character becomes ``\\n``, ``##[`` is broken), and a
path that would put ``::`` or a blank at the start of a line (where CI runners
look for their commands) is written with ``./`` before it, the same file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from rmpplan.render.common import counted, cpulist
from rmpplan.render.github import finding_line, log_text
from rmpplan.render.outcome import STALE
from rmpplan.topology.parse import LineIndex

if TYPE_CHECKING:
    from rmpplan.checks import Checked

ERROR = "error"
"""The check named by the line of an input that could not be read."""


def line_path(path: str) -> str:
    """``path`` escaped for the start of a line: ``./`` before one whose first
    character is ``:`` or not visible, so no runner reads the line as a command."""
    text = log_text(path)
    if text[:1] in ("", ":") or not text[:1].strip():
        return "./" + text
    return text


def problems(checked: Checked, index: LineIndex | None = None) -> Iterator[tuple[int, str, str]]:
    """``(line, check, message)`` of each problem of one input, in report order."""
    machine, held = checked.facts, checked.outcome
    if held is None or machine is None:
        line = checked.error_line or 1
        error = checked.error or "cannot read"
        # The line is already the line's field; the message need not say it again.
        yield line, ERROR, error.removeprefix(f"line {checked.error_line}: ")
        return
    index = index or LineIndex()
    for item, expected in held.findings:
        if not expected:
            message = f"{item.message} (CPUs {cpulist(item.cpus)})"
            yield finding_line(item, index), str(item.check), message
    for stale in held.stale:
        yield 1, str(stale), f"{stale} {STALE}"


def render_verify(results: Sequence[Checked], lines: Mapping[str, LineIndex] | None = None) -> str:
    """Every problem of the run, one line each, then their count."""
    out: list[str] = []
    failing = 0
    for checked in results:
        found = [
            f"{line_path(checked.path)}:{line}: {log_text(check)}: {log_text(message)}"
            for line, check, message in problems(checked, (lines or {}).get(checked.path))
        ]
        failing += bool(found)
        out += found
    inputs = counted(len(results), "input")
    if out:
        out.append(f"rmpplan: {counted(len(out), 'problem')} in {failing} of {inputs}")
    else:
        out.append(f"rmpplan: no problems in {inputs}")
    return "".join(line + "\n" for line in out)
