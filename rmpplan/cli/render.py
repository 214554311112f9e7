"""Picking the renderer module for a ``--format`` value."""

from __future__ import annotations

import importlib
from types import ModuleType


def renderer(fmt: str) -> ModuleType:
    """The module that renders ``fmt``; every OutputFormat member has one."""
    from rmpplan.render import OutputFormat

    return importlib.import_module(f"rmpplan.render.{OutputFormat(fmt).value}")
