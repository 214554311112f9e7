"""How every format names the state of one ``verify`` result, so that a
finding reads the same in a table, a log line, an annotation and a test report."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rmpplan.checks import Outcome

STALE = "passed, but the configuration expects it to fail: remove the stale expectation"
"""What a stale expectation says, wherever it is shown."""


def verdict_label(held: Outcome) -> str:
    """``ok``, or the counts of what was found: ``2 finding(s)``, ``1 expected``,
    ``1 stale expectation(s)``, joined with commas."""
    parts = []
    if held.unexpected:
        parts.append(f"{len(held.unexpected)} finding(s)")
    if held.expected:
        parts.append(f"{len(held.expected)} expected")
    if held.stale:
        parts.append(f"{len(held.stale)} stale expectation(s)")
    return ", ".join(parts) or "ok"
