"""A topology document that is already valid, taken as it is without pydantic.

Importing pydantic's models and building their validators costs a run about a
fifth of what importing every dependency does, and nearly every file a run reads
is valid. :func:`well_formed` accepts only a document every value of which the
schema (:mod:`rmpplan.topology.schema`) accepts as it stands: the exact types its
strict mode takes, within its bounds, no other key, one form. Anything else, even
what the schema would accept, gives None, and the caller validates with the
schema, whose error is the one reported. tests/test_document.py holds the two
equal on generated documents, valid and not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from rmpplan.terms import NR_CPUS_MAX


@dataclass(frozen=True)
class Entry:
    """A valid :class:`~rmpplan.topology.schema.CpuEntry`."""

    id: int
    package: int = 0
    die: int = 0
    core: int = 0
    online: bool = True
    apic_id: int | None = None


@dataclass(frozen=True)
class LayoutSpec:
    """A valid :class:`~rmpplan.topology.schema.Layout`."""

    packages: int
    cores_per_die: int
    dies_per_package: int = 1
    threads_per_core: int = 1
    numbering: str = "smt-last"

    @property
    def ncores(self) -> int:
        return self.packages * self.dies_per_package * self.cores_per_die

    @property
    def ncpus(self) -> int:
        return self.ncores * self.threads_per_core


@dataclass(frozen=True)
class Document:
    """A valid :class:`~rmpplan.topology.schema.TopologyFile`."""

    name: str | None = None
    source: str | None = None
    possible: str | int | None = None
    cpus: list[Entry] | None = None
    layout: LayoutSpec | None = None
    offline: str | int | None = None
    offline_after_setup: str | int | None = None
    online_after_setup: str | int | None = None


_TEXTS = ("name", "source")
_CPULISTS = ("possible", "offline", "offline_after_setup", "online_after_setup")
_TOP = frozenset((*_TEXTS, *_CPULISTS, "cpus", "layout"))
_LAYOUT_COUNTS = ("packages", "dies_per_package", "cores_per_die", "threads_per_core")
_LAYOUT = frozenset((*_LAYOUT_COUNTS, "numbering"))
_NUMBERINGS = ("smt-last", "smt-adjacent")
_ENTRY_COUNTS = ("package", "die", "core")
_ENTRY = frozenset(("id", *_ENTRY_COUNTS, "online", "apic_id"))


def _int(value: object) -> TypeGuard[int]:
    return type(value) is int  # strict: a bool is not a number


def well_formed(data: object) -> Document | None:
    """``data`` as a :class:`Document` when the schema takes it exactly as it is;
    None when anything is off (the schema then says what)."""
    if not isinstance(data, dict) or not _TOP.issuperset(data):
        return None
    if any(data.get(key) is not None and type(data[key]) is not str for key in _TEXTS):
        return None
    for key in _CPULISTS:
        value = data.get(key)
        if value is not None and type(value) is not str and not _int(value):
            return None
    cpus, layout = data.get("cpus"), data.get("layout")
    if (cpus is None) == (layout is None) or (data.get("offline") is not None and layout is None):
        return None
    spec = None if layout is None else _layout(layout)
    entries = None if cpus is None else _entries(cpus)
    if spec is None and entries is None:
        return None
    return Document(**{**data, "cpus": entries, "layout": spec})


def _layout(data: object) -> LayoutSpec | None:
    if not isinstance(data, dict) or not _LAYOUT.issuperset(data):
        return None
    if "packages" not in data or "cores_per_die" not in data:
        return None
    for key in _LAYOUT_COUNTS:
        value = data.get(key, 1)
        if not (_int(value) and 1 <= value <= NR_CPUS_MAX):
            return None
    if data.get("numbering", "smt-last") not in _NUMBERINGS:
        return None
    spec = LayoutSpec(**data)
    return spec if spec.ncpus <= NR_CPUS_MAX else None


def _entries(data: object) -> list[Entry] | None:
    if type(data) is not list or len(data) > NR_CPUS_MAX:
        return None
    entries = []
    for item in data:
        entry = _entry(item)
        if entry is None:
            return None
        entries.append(entry)
    return entries


def _entry(item: object) -> Entry | None:
    if not isinstance(item, dict) or not _ENTRY.issuperset(item) or "core" not in item:
        return None
    number, apic = item.get("id"), item.get("apic_id")
    counts = [item.get(key, 0) for key in _ENTRY_COUNTS]
    valid = (
        _int(number)
        and 0 <= number < NR_CPUS_MAX
        and all(_int(count) and count >= 0 for count in counts)
        and type(item.get("online", True)) is bool
        and (apic is None or (_int(apic) and apic >= 0))
    )
    return Entry(**item) if valid else None
