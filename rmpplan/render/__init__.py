"""Renderers: one module per ``--format``; each returns a string, none prints."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    """The ``--format`` values; each has a renderer module of the same name."""

    TABLE = "table"
    JSON = "json"
    TEXT = "text"
    MARKDOWN = "markdown"
