"""Readers of real machines: a sysfs root or dump tarball, hwloc XML, saved lscpu output.

Every reader returns the same :class:`~rmpplan.topology.machine.Machine`; every bad
input is an :class:`~rmpplan.errors.InputError` naming the file.  ``docs/sources.md``
describes the rules and the traps they avoid.
"""

from __future__ import annotations

from rmpplan.sources.detect import detect_format, find_sources, read_source
from rmpplan.sources.live import LiveFacts, live_facts
from rmpplan.terms import SourceFormat

__all__ = [
    "LiveFacts",
    "SourceFormat",
    "detect_format",
    "find_sources",
    "live_facts",
    "read_source",
]
