"""Renderers: one module per ``--format``; each returns a string, none prints.

:func:`renderer` is the only way the command line reaches them: it imports
the one module a run needs (rich only for the table) and returns it typed as
:class:`Renderer`, so mypy checks every command's call against each module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, assert_never

from rmpplan.render.display import PLAIN, Display
from rmpplan.terms import OutputFormat

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Checked, Comparison
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult
    from rmpplan.schedule import ScheduleReport
    from rmpplan.tally import Summary

__all__ = ["PLAIN", "Display", "OutputFormat", "Renderer", "renderer"]


class Renderer(Protocol):
    """What every format module provides, one function per report."""

    def render_plan(self, result: PlanResult, display: Display = ...) -> str: ...

    def render_verify(
        self, results: Sequence[Checked], display: Display = ..., *, config: Path | None = ...
    ) -> str:
        """``config`` is the configuration file the run used (None: there was none),
        which every verify report names."""
        ...

    def render_show(self, overview: Overview, display: Display = ...) -> str: ...

    def render_compare(self, result: Comparison, display: Display = ...) -> str: ...

    def render_schedule(self, report: ScheduleReport, display: Display = ...) -> str: ...

    def render_explain(self, explanation: Explanation, display: Display = ...) -> str: ...

    def render_summary(self, summary: Summary, display: Display = ...) -> str: ...


def renderer(fmt: OutputFormat) -> Renderer:
    """The module that renders ``fmt``, imported now."""
    if fmt is OutputFormat.TABLE:
        from rmpplan.render import table

        return table
    if fmt is OutputFormat.JSON:
        from rmpplan.render import json

        return json
    if fmt is OutputFormat.TEXT:
        from rmpplan.render import text

        return text
    if fmt is OutputFormat.MARKDOWN:
        from rmpplan.render import markdown

        return markdown
    assert_never(fmt)
