"""hwloc XML (1.x, 2.0, 3.0) → :class:`Machine`.

Only ``Package`` (``Socket`` in 1.x), ``Die``, ``Core`` and ``PU`` and their ``os_index``
matter; every other object (Group, NUMANode, caches, Misc…) is walked through.

- A core is a ``Core`` object, never its ``os_index`` (hwloc copies the platform's
  ``core_id`` there, which repeats).  A PU not below a Core is a core of its own.
- package = the enclosing Package's ``os_index``, die = the enclosing Die's
  ``os_index``; when one is missing or repeats, packages (dies within a package) are
  numbered in document order instead.  No Package/Die → 0.
- Offline CPUs: hwloc leaves a CPU that exists but is not online out of the tree and
  keeps it only in the root object's ``complete_cpuset``; a CPU outside the process's
  cgroup is left out the same way.  The XML tells the two apart only when it says which
  CPUs are online (1.x writes ``online_cpuset``) or when its tree holds the CPUs outside
  the cgroup (``lstopo --disallowed``: the root's ``allowed_cpuset`` is smaller than its
  ``cpuset``); then the hidden CPUs are present and offline, each a core of its own in
  package 0 (as sysfs shows an offline CPU without ``topology/``).  When it cannot tell,
  whether online == present cannot be judged, and the XML is refused
  (:class:`HwlocView` keeps such a view for :mod:`rmpplan.sources.gather`, which holds
  it against a dump).  Without ``complete_cpuset`` every PU is present and online.
  possible = present.  hwloc XML has no APIC ids, so none are set.

Parsing is done by expat with no entity expansion at all: an internal DTD subset,
an entity declaration or any entity reference other than XML's five escapes
(``&amp;`` ``&lt;`` ``&gt;`` ``&quot;`` ``&apos;``) and character references refuses the
file at once (this stops "billion laughs", and ``os_index="1&x;2"``, which expat
would read as 12 below a DOCTYPE it does not load).  hwloc's own ``<!DOCTYPE topology
SYSTEM "hwloc2.dtd">`` carries no internal subset and is accepted; the DTD is never
loaded.

Bounded: at most :data:`MAX_XML_BYTES`, :data:`MAX_ELEMENTS` elements and 8192 PUs, each
``os_index`` plain ASCII digits (10 at most, a PU's below 8192), no attribute value
longer than :data:`MAX_ATTRIBUTE_BYTES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn
from xml.parsers import expat

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.files import read_file_bytes
from rmpplan.sources.assemble import Group, assemble, show_cpus
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.topology.machine import Machine

_KNOWN_MAJORS = ("1", "2", "3")
MAX_XML_BYTES = 16 << 20
"""hwloc XML of a 2 x 96-core EPYC (384 PUs) is 310 KB; of 8192 PUs about 7 MB.  expat
reads comments at about 16 ns a byte, so a file at the cap still parses in 0.3 s."""
MAX_ELEMENTS = 16 * NR_CPUS_MAX
"""hwloc writes about 5 elements a PU (PU, Core, caches, infos)."""
MAX_ATTRIBUTE_BYTES = 64 << 10
"""hwloc's longest attribute is a cpuset: 11 characters for every 32 PUs.  expat is slow
on attribute values (about 20 ns a byte), so a long one is refused before it parses."""
_LONG_ATTRIBUTE = re.compile(
    rb"""=[ \t\r\n]*(?:"[^"<]{%d}|'[^'<]{%d})""" % (MAX_ATTRIBUTE_BYTES, MAX_ATTRIBUTE_BYTES)
)
# UTF-32 before UTF-16, whose BOM starts UTF-32's little-endian one.
_WIDE_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
# hwloc's bitmap text: 32-bit hex words, the highest first ("0x0000ffff,0xffffffff").
_BITMAP_WORD = re.compile(r"(?:0x)?([0-9a-fA-F]{1,8})")
# The root object's CPU sets (online_cpuset: hwloc 1.x only).
_ROOT_SETS = ("cpuset", "complete_cpuset", "allowed_cpuset", "online_cpuset")
# '&' that starts none of XML's five escapes or a character reference.
_ENTITY_REF = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)")


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
    elements: int = 0
    # By ordinal: each Package's os_index; each Die's (package ordinal, os_index).
    packages: list[int | None] = field(default_factory=list)
    dies: list[tuple[int, int | None]] = field(default_factory=list)
    cores: int = 0
    # (PU os_index, package ordinal, die ordinal, core ordinal); -1 when not below one.
    pus: list[tuple[int, int, int, int]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    # The root object's CPU set attributes, as written.
    root: dict[str, str] | None = None

    def enclosing(self, kind: str) -> int:
        for scope in reversed(self.stack):
            if scope.kind == kind:
                return scope.ordinal
        return -1

    def count(self, tag: str, attrs: dict[str, str]) -> None:
        """Count the element, then :meth:`start` it."""
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise _Refused(
                f"more than {MAX_ELEMENTS} elements, more than hwloc writes for {NR_CPUS_MAX} PUs"
            )
        if self.root is None and tag == "object":  # the first object is the root
            self.root = {name: attrs[name] for name in _ROOT_SETS if name in attrs}
        self.start(tag, attrs)

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
            if pu >= NR_CPUS_MAX:
                raise _Refused(f"PU os_index {pu} is outside 0-{NR_CPUS_MAX - 1} (NR_CPUS)")
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


def _parser(collector: _Collector, encoding: str | None) -> expat.XMLParserType:
    parser = expat.ParserCreate(encoding)
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
    parser.StartElementHandler = collector.count
    parser.EndElementHandler = collector.end
    return parser


def _as_utf8(data: bytes) -> tuple[bytes, str | None]:
    """UTF-16 and UTF-32 documents (by BOM, or by a first '<' next to zero bytes) as UTF-8,
    with the encoding that overrides their declaration; any other document as it is.

    The entity check reads bytes, so a document must be ASCII-compatible for it."""
    codec = next((codec for prefix, codec in _WIDE_ENCODINGS if data.startswith(prefix)), None)
    if codec is None:
        return data, None
    try:
        return data.decode(codec).encode("utf-8"), "UTF-8"
    except UnicodeError as err:
        raise InputError(f"not valid {codec.upper()} text: {quote(str(err))}") from None


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


def _collect(data: bytes) -> _Collector:
    """Walk an hwloc XML document; errors name the line, not yet the file."""
    data, encoding = _as_utf8(data)
    if b"<!ENTITY" in data:  # fast refusal; the handlers below catch every other spelling
        raise InputError("ENTITY declarations are not allowed (no DTD is read, no entity expanded)")
    found = _ENTITY_REF.search(data)
    if found is not None:
        end = data.find(b";", found.start(), found.start() + 64)
        shown = data[found.start() : end + 1 if end > 0 else found.start() + 16]
        raise InputError(
            f"entity references are not allowed ('{quote(shown.decode('utf-8', 'replace'))}'; "
            "only &amp; &lt; &gt; &quot; &apos; and &#N; are)",
            line=data.count(b"\n", 0, found.start()) + 1,
        )
    found = _LONG_ATTRIBUTE.search(data)
    if found is not None:
        raise InputError(
            f"an attribute value longer than {MAX_ATTRIBUTE_BYTES >> 10} KiB; hwloc writes none",
            line=data.count(b"\n", 0, found.start()) + 1,
        )
    collector = _Collector()
    parser = _parser(collector, encoding)
    try:
        parser.Parse(data, True)
    except _Refused as err:
        raise InputError(str(err), line=parser.CurrentLineNumber) from None
    except expat.ExpatError as err:
        raise InputError(f"invalid XML: {expat.ErrorString(err.code)}", line=err.lineno) from None
    if not collector.pus:
        raise InputError("the hwloc XML has no PU objects")
    return collector


@dataclass(frozen=True, slots=True)
class HwlocView:
    """What an hwloc XML says of a machine's CPUs.

    ``machine`` holds the tree's PUs, and the hidden CPUs when the XML knows they are
    offline.  ``present`` is the root's ``complete_cpuset`` (None when not written);
    ``hidden`` its CPUs without a PU; ``judged`` whether the XML tells which of its CPUs
    are online (False: some hidden CPU is offline or outside the cgroup, it cannot say).
    """

    machine: Machine
    present: frozenset[int] | None
    hidden: frozenset[int]
    judged: bool

    @property
    def pus(self) -> frozenset[int]:
        """The CPUs that have a PU in the tree."""
        return self.machine.present - self.hidden


def parse_bitmap(text: str) -> frozenset[int]:
    """An hwloc bitmap (``0x0000ffff,0xffffffff``: 32-bit words, the highest first)."""
    words = text.strip().split(",")
    value = 0
    for word in words:
        found = _BITMAP_WORD.fullmatch(word.strip())
        if found is None:
            raise InputError(f"'{quote(text[:40])}' is not an hwloc bitmap of CPUs")
        value = (value << 32) | int(found.group(1), 16)
        if value >> NR_CPUS_MAX:  # checked at each word, so the number never grows long
            raise InputError(f"an hwloc bitmap names CPUs past {NR_CPUS_MAX - 1} (NR_CPUS)")
    bits = bin(value)[:1:-1]
    return frozenset(cpu for cpu, bit in enumerate(bits) if bit == "1")


def _root_set(collector: _Collector, name: str) -> frozenset[int] | None:
    text = (collector.root or {}).get(name)
    if text is None:
        return None
    try:
        return parse_bitmap(text)
    except InputError as err:
        raise InputError(f"the root object's {name}: {err.message}") from None


def _hidden_offline(collector: _Collector, complete: frozenset[int]) -> frozenset[int] | None:
    """The CPUs the XML shows offline, or None when it cannot tell them from CPUs outside
    the cgroup."""
    pus = frozenset(collector.seen)
    hidden = complete - pus
    online = _root_set(collector, "online_cpuset")
    if online is not None:  # hwloc 1.x: online_cpuset says it
        offline = complete - online
        return offline if hidden <= offline else None
    if not hidden:
        return frozenset()
    allowed = _root_set(collector, "allowed_cpuset")
    # A tree holding CPUs outside the cgroup (--disallowed) holds every online CPU.
    if allowed is not None and allowed & complete < pus:
        return hidden
    return None


def parse_hwloc_view(data: bytes, name: str, filename: str) -> HwlocView:
    """The view of an hwloc XML document; errors name the line, not yet the file."""
    collector = _collect(data)
    pus = frozenset(collector.seen)
    groups = _groups(collector)
    complete = _root_set(collector, "complete_cpuset")
    offline: frozenset[int] | None = frozenset()
    if complete is not None:
        outside = pus - complete
        if outside:
            raise InputError(
                f"PU(s) {show_cpus(outside)} are not in the root object's complete_cpuset"
            )
        offline = _hidden_offline(collector, complete)
    hidden = complete - pus if complete is not None else frozenset()
    if offline is not None:
        groups.extend(Group((cpu,), 0, 0) for cpu in sorted(hidden))
    online = pus - offline if offline is not None else pus
    version = collector.version or "1.x"
    machine = assemble(name, groups, online, source=f"hwloc XML {version} {filename}")
    return HwlocView(machine, complete, hidden, offline is not None)


def parse_hwloc_xml(data: bytes, name: str, filename: str) -> Machine:
    """The machine of an hwloc XML document; errors name the line, not yet the file.

    Refused when it hides CPUs it cannot tell offline or outside the cgroup."""
    view = parse_hwloc_view(data, name, filename)
    if not view.judged:
        raise InputError(
            f"CPU(s) {show_cpus(view.hidden)} are in the root's complete_cpuset but have no PU: "
            "offline or outside the cgroup, the XML cannot tell, so online == present cannot "
            "be judged; give this machine's sysfs dump (hwloc-gather-topology writes one)"
        )
    return view.machine


def read_hwloc_view(path: Path, name: str) -> HwlocView:
    """Read an hwloc XML file's view (see :func:`parse_hwloc_view`)."""
    return parse_hwloc_view(read_file_bytes(path, MAX_XML_BYTES), name, path.name)


def read_hwloc_xml(path: Path, name: str) -> Machine:
    """Read an hwloc XML file (see the module docstring)."""
    return parse_hwloc_xml(read_file_bytes(path, MAX_XML_BYTES), name, path.name)
