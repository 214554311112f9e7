"""hwloc XML (1.x, 2.0, 3.0) → :class:`Machine`.

Only ``Package`` (``Socket`` in 1.x), ``Die``, ``Core`` and ``PU`` and their ``os_index``
matter; every other object (Group, NUMANode, caches, Misc…) is walked through.

- A core is a ``Core`` object, never its ``os_index`` (hwloc copies the platform's
  ``core_id`` there, which repeats).  A PU not below a Core is a core of its own.
- package = the enclosing Package's ``os_index``, die = the enclosing Die's
  ``os_index``; when one is missing or repeats, packages (dies within a package) are
  numbered in document order instead.  No Package/Die → 0.
- hwloc XML has no offline PUs: every PU is present and online; possible = present.
  It has no APIC ids either, so none are set.

Parsing is done by expat with no entity expansion at all: an internal DTD subset,
an entity declaration or an external entity reference refuses the file at once
(this stops "billion laughs").  hwloc's own ``<!DOCTYPE topology SYSTEM
"hwloc2.dtd">`` carries no internal subset and is accepted; the DTD is never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn
from xml.parsers import expat

from rmpplan.errors import InputError, quote
from rmpplan.files import read_file_bytes
from rmpplan.sources.assemble import Group, assemble

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.topology.machine import Machine

_KNOWN_MAJORS = ("1", "2", "3")


class _Refused(Exception):
    """Raised from an expat handler; turned into an InputError with the line."""


@dataclass(slots=True)
class _Scope:
    """An open element: the kind of object and its ordinal (document order) among its kind."""

    kind: str  # "package", "die", "core" or "" (walked through)
    ordinal: int = -1


@dataclass(slots=True)
class _Collector:
    """SAX-style state while expat walks the document."""

    version: str | None = None
    saw_root: bool = False
    stack: list[_Scope] = field(default_factory=list)
    # By ordinal: each Package's os_index; each Die's (package ordinal, os_index).
    packages: list[int | None] = field(default_factory=list)
    dies: list[tuple[int, int | None]] = field(default_factory=list)
    cores: int = 0
    # (PU os_index, package ordinal, die ordinal, core ordinal); -1 when not below one.
    pus: list[tuple[int, int, int, int]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    def enclosing(self, kind: str) -> int:
        for scope in reversed(self.stack):
            if scope.kind == kind:
                return scope.ordinal
        return -1

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if not self.saw_root:
            if tag != "topology":
                raise _Refused(f"root element is <{quote(tag)}>, not hwloc's <topology>")
            self.saw_root = True
            self.version = attrs.get("version")
            if self.version is not None and self.version.split(".")[0] not in _KNOWN_MAJORS:
                raise _Refused(
                    f"hwloc XML version {quote(self.version)} is not supported (1.x-3.x)"
                )
            self.stack.append(_Scope(""))
            return
        if tag != "object":
            self.stack.append(_Scope(""))
            return
        kind = attrs.get("type", "")
        if kind in ("Package", "Socket"):
            self.packages.append(_os_index(attrs))
            self.stack.append(_Scope("package", len(self.packages) - 1))
        elif kind == "Die":
            self.dies.append((self.enclosing("package"), _os_index(attrs)))
            self.stack.append(_Scope("die", len(self.dies) - 1))
        elif kind == "Core":
            self.cores += 1
            self.stack.append(_Scope("core", self.cores - 1))
        elif kind == "PU":
            pu = _os_index(attrs)
            if pu is None:
                raise _Refused("a PU object has no os_index")
            if pu in self.seen:
                raise _Refused(f"PU os_index {pu} appears twice")
            self.seen.add(pu)
            self.pus.append(
                (pu, self.enclosing("package"), self.enclosing("die"), self.enclosing("core"))
            )
            self.stack.append(_Scope(""))
        else:
            self.stack.append(_Scope(""))

    def end(self, _tag: str) -> None:
        self.stack.pop()


def _os_index(attrs: dict[str, str]) -> int | None:
    text = attrs.get("os_index")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise _Refused(f"os_index '{quote(text)}' is not a number")
    return int(text)


def _refuse(what: str) -> NoReturn:
    raise _Refused(f"{what} are not allowed (no DTD is read, no entity expanded)")


def _parser(collector: _Collector) -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(_name: str, _sysid: str | None, _pubid: str | None, internal: int) -> None:
        if internal:
            _refuse("DOCTYPE internal subsets")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = lambda *_args: _refuse("ENTITY declarations")
    parser.UnparsedEntityDeclHandler = lambda *_args: _refuse("ENTITY declarations")
    parser.ExternalEntityRefHandler = lambda *_args: _refuse("external entities")
    # An undeclared &name; is skipped, not an error, when a DTD is named but not read.
    parser.SkippedEntityHandler = lambda *_args: _refuse("entity references")
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    return parser


def _numbering(os_indexes: list[int | None]) -> list[int]:
    """os_index when all are given and distinct, else document order."""
    given = [index for index in os_indexes if index is not None]
    if len(given) == len(os_indexes) and len(set(given)) == len(given):
        return given
    return list(range(len(os_indexes)))


def _groups(collector: _Collector) -> list[Group]:
    packages = _numbering(collector.packages)
    die_number: dict[int, int] = {}
    by_package: dict[int, list[int]] = {}
    for ordinal, (package, _index) in enumerate(collector.dies):
        by_package.setdefault(package, []).append(ordinal)
    for ordinals in by_package.values():
        for ordinal, number in zip(
            ordinals, _numbering([collector.dies[o][1] for o in ordinals]), strict=True
        ):
            die_number[ordinal] = number
    threads: dict[int, list[int]] = {}
    places: dict[int, tuple[int, int]] = {}
    groups: list[Group] = []
    for pu, package, die, core in collector.pus:
        place = (packages[package] if package >= 0 else 0, die_number.get(die, 0))
        if core < 0:
            groups.append(Group((pu,), *place))
        else:
            threads.setdefault(core, []).append(pu)
            places.setdefault(core, place)
    groups.extend(Group(tuple(sorted(pus)), *places[core]) for core, pus in threads.items())
    return groups


def parse_hwloc_xml(data: bytes, name: str, filename: str) -> Machine:
    """The machine of an hwloc XML document; errors name the line, not yet the file."""
    if b"<!ENTITY" in data:  # fast refusal; the handlers below catch every other spelling
        raise InputError("ENTITY declarations are not allowed (no DTD is read, no entity expanded)")
    collector = _Collector()
    parser = _parser(collector)
    try:
        parser.Parse(data, True)
    except _Refused as err:
        raise InputError(str(err), line=parser.CurrentLineNumber) from None
    except expat.ExpatError as err:
        raise InputError(f"invalid XML: {expat.ErrorString(err.code)}", line=err.lineno) from None
    if not collector.pus:
        raise InputError("the hwloc XML has no PU objects")
    version = collector.version or "1.x"
    return assemble(
        name, _groups(collector), collector.seen, source=f"hwloc XML {version} {filename}"
    )


def read_hwloc_xml(path: Path, name: str) -> Machine:
    """Read an hwloc XML file (see the module docstring)."""
    return parse_hwloc_xml(read_file_bytes(path), name, path.name)
