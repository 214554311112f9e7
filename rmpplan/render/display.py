"""How the terminal wants output, which every renderer reads.

A module of its own so that the renderers need not import the package that
picks among them (:func:`rmpplan.render.renderer`), which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Display:
    """How the terminal wants output: colour, and a width for wrapping (None: never wrap)."""

    color: bool = False
    width: int | None = None


PLAIN = Display()
