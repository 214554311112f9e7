"""``verify --format github``: GitHub Actions workflow commands.

Each input is a collapsible log group. Each problem (an unexpected finding, a
stale expectation, an input that could not be read) is an error annotation on
its file and line, so it shows in the pull request's diff. GitHub shows at most
:data:`ANNOTATIONS_MAX` error annotations per step; past that, the last one
says how many more there are. Every problem and every expected finding is also
a line in its group, so the log holds everything.

The runner reads a line as a command when it starts with ``::`` (after
whitespace) or, in the legacy form, holds ``##[`` anywhere. So no text from an
input ever starts a line: every line begins with a fixed word or a command of
rmpplan's own; ``##[`` in such text becomes ``##\\[``; control and invisible
characters are escaped as in every other format (:func:`rmpplan.escaping.printable`);
and a command's message and properties are escaped as GitHub's own toolkit
escapes them (actions/toolkit, packages/core/src/command.ts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.escaping import printable
from rmpplan.render.common import cpulist, machine_summary, rule_text
from rmpplan.render.outcome import STALE, verdict_label
from rmpplan.terms import Check
from rmpplan.topology.parse import LineIndex

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Finding

ANNOTATIONS_MAX = 10
"""Error annotations GitHub shows for one step; the rest are dropped silently."""

# The top-level key of a topology file that causes each check, for a file that
# does not list its CPUs: the first key the file has wins, else `layout`. After
# setup only hotplug changes what the handler sees, so the hotplug keys come first.
_HOTPLUG = ("offline_after_setup", "online_after_setup")
_CAUSES: Mapping[Check, tuple[str, ...]] = {
    Check.ONLINE_EQUALS_PRESENT: ("offline",),
    Check.ONE_MASK_CPU_PER_CORE: ("offline",),
    Check.MASK_WITHIN_ONLINE: ("offline_after_setup",),
    Check.FOLLOWERS_WITHIN_MASK: ("online_after_setup",),
}


_LEGACY = "##["
"""The runner's legacy command prefix, read anywhere on a line (``##[error]text``)."""


def log_text(text: str) -> str:
    """``text`` safe anywhere in a log line: every character that is not
    printable escaped (a line break, a zero-width or control character, a path
    byte that is not UTF-8), and ``##[`` broken so the runner never reads it."""
    return printable(text).replace(_LEGACY, "##\\[")


def escape_data(text: str) -> str:
    """A command's message: :func:`log_text` (which leaves no CR or LF), then
    ``%`` escaped, since the runner unescapes ``%25``, ``%0D`` and ``%0A``."""
    return log_text(text).replace("%", "%25")


def escape_property(text: str) -> str:
    """A command's property value: also ``:`` and ``,``, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, str] | None = None) -> str:
    """``::name key=value,key=value::message``, every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in (properties or {}).items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def finding_line(item: Finding, index: LineIndex) -> int:
    """The line an annotation of ``item`` points at: the entry of its first
    counterexample CPU in a ``cpus:`` list, else the key that caused it, else 1."""
    if item.cpus and item.cpus[0] in index.cpus:
        return index.cpus[item.cpus[0]]
    for key in (*_CAUSES.get(item.check, (*_HOTPLUG, "offline")), "layout"):
        if key in index.keys:
            return index.keys[key]
    return 1


@dataclass(frozen=True, slots=True)
class _Problem:
    """Something that fails the run, as one annotation."""

    path: str
    line: int
    title: str
    message: str

    def annotation(self) -> str:
        return command(
            "error", self.message, {"file": self.path, "line": str(self.line), "title": self.title}
        )

    def plain(self) -> str:
        return log_text(f"error: {self.path}:{self.line}: {self.title}: {self.message}")


def render_verify(
    results: Sequence[Checked],
    lines: Mapping[str, LineIndex] | None = None,
    *,
    config: Path | None = None,
) -> str:
    """The log of a run; ``lines`` locates findings in each path's file. A notice
    first names the configuration file used (``config``), or says there was none."""
    groups: list[list[str | _Problem]] = []
    for checked in results:
        group: list[str | _Problem] = []
        groups.append(group)
        machine, verdict, held = checked.facts, checked.verdict, checked.outcome
        if verdict is None or machine is None or held is None:
            line = checked.error_line or 1
            group.append(_Problem(checked.path, line, "rmpplan", checked.error or "cannot read"))
            continue
        group.append(  # "topology": no name ever starts a line
            f"topology {machine.name}: {machine_summary(machine)}; "
            f"rule {rule_text(verdict.rule, verdict.strategy)}, "
            f"strategy {verdict.strategy}: {verdict_label(held)}"
        )
        index = (lines or {}).get(checked.path, LineIndex())
        for item, expected in held.findings:
            message = f"{item.message} (CPUs {cpulist(item.cpus)})"
            if expected:
                group.append(f"expected {item.check}: {message}")
            else:
                line = finding_line(item, index)
                group.append(_Problem(checked.path, line, f"rmpplan {item.check}", message))
        for stale in held.stale:
            group.append(_Problem(checked.path, 1, f"rmpplan {stale}", f"{stale} {STALE}"))
        group += [f"note: {note}" for note in verdict.notes]

    problems = sum(isinstance(entry, _Problem) for group in groups for entry in group)
    budget = ANNOTATIONS_MAX if problems <= ANNOTATIONS_MAX else ANNOTATIONS_MAX - 1
    used = "none" if config is None else str(config)
    out = [command("notice", f"configuration: {used}", {"title": "rmpplan verify"})]
    for checked, group in zip(results, groups, strict=True):
        out.append(command("group", checked.path))
        for entry in group:
            if isinstance(entry, str):
                out.append(log_text(entry))
            elif budget > 0:
                out.append(entry.annotation())
                budget -= 1
            else:
                out.append(entry.plain())
        out.append(command("endgroup", ""))
    if problems > ANNOTATIONS_MAX:
        more = problems - (ANNOTATIONS_MAX - 1)
        out.append(
            command(
                "error",
                f"{more} more problem(s) not annotated (GitHub shows {ANNOTATIONS_MAX} per step); "
                "this step's log lists every one, and the job summary all that fit in 1 MiB",
                {"title": "rmpplan verify"},
            )
        )
    return "".join(line + "\n" for line in out)
