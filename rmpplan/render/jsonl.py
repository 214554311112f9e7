"""``verify --format jsonl``: one result per line, the same object as an entry
of the JSON document's ``results``, so that a long run can be piped, watched
and resumed. The command line prints each line as soon as its input is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rmpplan.render.json import verify_line

if TYPE_CHECKING:
    from rmpplan.checks import Checked

__all__ = ["render_verify", "verify_line"]


def render_verify(results: Sequence[Checked]) -> str:
    """Every result's line, in order."""
    return "".join(verify_line(checked) for checked in results)
