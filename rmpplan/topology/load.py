"""Topology files → :class:`Machine`: parse, validate with the schema, expand."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rmpplan.cpumask import parse_cpulist
from rmpplan.errors import InputError
from rmpplan.escaping import quote, quote_repr
from rmpplan.files import read_file_bytes
from rmpplan.hotplug import Hotplug
from rmpplan.plain import PlainValue, Scalar, expect_map
from rmpplan.terms import NR_CPUS_MAX
from rmpplan.topology.document import Document, LayoutSpec, well_formed
from rmpplan.topology.machine import Cpu, Machine, build_machine
from rmpplan.topology.parse import LineIndex, decode, index_lines, load_json, load_yaml, locate

if TYPE_CHECKING:
    # The schema's models are built (and pydantic's imported) only for a file that
    # is not well formed: validate() asks them what is wrong with it.
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

    from rmpplan.topology.schema import CpuEntry, Layout, TopologyFile

TOPOLOGY_SUFFIXES = (".yaml", ".yml", ".json")
ModelT = TypeVar("ModelT", bound="BaseModel")
MAX_TOPOLOGY_BYTES = 16 << 20
"""A topology file: an explicit 8192-CPU file with every key is about 1 MiB as JSON."""


def read_text(path: Path, limit: int = MAX_TOPOLOGY_BYTES) -> str:
    """A file's UTF-8 text; a decoding error has its line, the caller names the file."""
    return decode(read_file_bytes(path, limit))


def load_topology_file(path: Path) -> Machine:
    """Load a YAML or JSON topology file (``inputs.load_machine`` names it in errors)."""
    return parse_topology(read_text(path), path.suffix.lower(), path.stem)


class Lines:
    """Where a key path sits in the file: the text is read again (as YAML, a superset
    of JSON) only when an error needs a line."""

    def __init__(self, text: str) -> None:
        self._text = text

    def of(self, path: Sequence[int | str]) -> int | None:
        """The 1-based line of the deepest node along ``path``, None when unknown."""
        return locate(self._text, path)


def topology_lines(path: Path) -> LineIndex:
    """Where ``path``'s keys and CPU entries are, read again for a report that
    points into the file; empty when it is not a readable topology file.

    Loading does not keep this: only the github format needs it, and only for
    files with findings.
    """
    if path.suffix.lower() not in TOPOLOGY_SUFFIXES:
        return LineIndex()
    try:
        return index_lines(read_text(path))
    except InputError:
        return LineIndex()


def parse_topology(text: str, suffix: str, default_name: str) -> Machine:
    """Parse topology text of the given kind (``.json`` or YAML) into a machine."""
    data = load_json(text) if suffix == ".json" else load_yaml(text)
    lines = Lines(text)
    return expand(validate(data, lines), default_name, lines)


def validate(data: PlainValue, lines: Lines) -> TopologyFile | Document:
    """Check data against the schema; the first problem becomes a one-line error.

    A well-formed document is taken as it is (rmpplan.topology.document). Otherwise
    pydantic reports every error of a document, and a document of 131,072 wrong values
    has as many; so unknown keys, the number of CPUs and each CPU entry are checked
    first, in order, and the check stops at the first entry that fails.
    """
    document = well_formed(data)
    if document is not None:
        return document
    from rmpplan.topology.schema import Layout, TopologyFile

    file = expect_map(
        data, "the file must hold a mapping with 'cpus' (explicit) or 'layout' (compact)"
    )
    _no_unknown_keys(file, TopologyFile, (), lines)
    layout = file.get("layout")
    if isinstance(layout, dict):
        _no_unknown_keys(layout, Layout, ("layout",), lines)
    cpus = file.get("cpus")
    if not isinstance(cpus, list):
        return _validated(TopologyFile, file, (), lines)
    if len(cpus) > NR_CPUS_MAX:
        raise InputError(
            f"cpus lists {len(cpus)} CPUs; at most {NR_CPUS_MAX} exist (NR_CPUS)",
            line=lines.of(("cpus",)),
        )
    entries = [_entry(entry, index, lines) for index, entry in enumerate(cpus)]
    return _validated(TopologyFile, {**file, "cpus": entries}, (), lines)


def _no_unknown_keys(
    data: Mapping[Scalar, object],
    model: type[BaseModel],
    where: tuple[int | str, ...],
    lines: Lines,
) -> None:
    unknown = [key for key in data if key not in model.model_fields]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        parent = _path_text(where)
        raise InputError(
            f"unknown key {quote_repr(unknown[0])}" + (f" in {parent}" if parent else "") + more,
            line=lines.of((*where, str(unknown[0]))),
        )


def _entry(entry: PlainValue, index: int, lines: Lines) -> CpuEntry:
    """One CPU entry, validated on its own (a CpuEntry passes the file's check as is)."""
    from rmpplan.topology.schema import CpuEntry

    if isinstance(entry, dict):
        _no_unknown_keys(entry, CpuEntry, ("cpus", index), lines)
    return _validated(CpuEntry, entry, ("cpus", index), lines)


def _validated(
    model: type[ModelT], data: object, where: tuple[int | str, ...], lines: Lines
) -> ModelT:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        first = errors[0]
        first["loc"] = (*where, *first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(_describe(first) + more, line=lines.of(first["loc"])) from None


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    where = _path_text(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _path_text(loc[:-1])
        return f"unknown key {quote_repr(loc[-1])}" + (f" in {parent}" if parent else "")
    if kind == "missing":
        return f"missing key {loc[-1]!r}" + (f" in {_path_text(loc[:-1])}" if len(loc) > 1 else "")
    message = error["msg"].removeprefix("Value error, ")
    shown = "" if kind == "value_error" else f" (got {quote(repr(error['input']))})"
    return (f"{where}: " if where else "") + message + shown


def _path_text(loc: tuple[int | str, ...]) -> str:
    # Union members appear in pydantic's loc ('str', 'int'); a reader wants the key path.
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step not in ("str", "int"):
            text += ("." if text else "") + step
    return text


def expand(model: TopologyFile | Document, default_name: str, lines: Lines) -> Machine:
    """The machine a validated file describes; a bad cpulist names its key and line."""
    name = model.name if model.name is not None else default_name
    if model.layout is not None:
        offline = _cpulist(model.offline, "offline", lines)
        cpus = list(expand_layout(model.layout, offline))
        unknown = sorted(offline - {cpu.id for cpu in cpus})
        if unknown:
            raise InputError(
                f"offline: CPU {unknown[0]} is not in the layout", line=lines.of(("offline",))
            )
    else:
        assert model.cpus is not None  # the schema guarantees one form
        cpus = [Cpu(c.id, c.package, c.die, c.core, c.online, c.apic_id) for c in model.cpus]
    possible = None if model.possible is None else _cpulist(model.possible, "possible", lines)
    hotplug = Hotplug(
        _cpulist(model.offline_after_setup, "offline_after_setup", lines),
        _cpulist(model.online_after_setup, "online_after_setup", lines),
    )
    return build_machine(name, cpus, possible, model.source, hotplug)


def _cpulist(value: str | int | None, key: str, lines: Lines) -> frozenset[int]:
    if value is None:
        return frozenset()
    try:
        return parse_cpulist(str(value), NR_CPUS_MAX)
    except InputError as err:
        raise err.within(key).at(lines.of((key,))) from None


def _bits(count: int) -> int:
    """Bits an APIC id field needs for ``count`` values (x86 rounds up to a power of two)."""
    return (count - 1).bit_length()


def expand_layout(
    layout: Layout | LayoutSpec, offline: frozenset[int] = frozenset()
) -> Iterator[Cpu]:
    """The CPUs of a regular machine.

    APIC ids follow the x86 convention: thread, core, die and package fields
    packed from the low bits, each as wide as its count rounded up to a power
    of two. Thread 0 of every core therefore has the low bits zero, which is
    what ``topology_is_primary_thread()`` tests.
    """
    thread_bits = _bits(layout.threads_per_core)
    core_bits = _bits(layout.cores_per_die)
    die_bits = _bits(layout.dies_per_package)
    ncores = layout.ncores
    k = 0
    for package in range(layout.packages):
        for die in range(layout.dies_per_package):
            for core in range(layout.cores_per_die):
                for thread in range(layout.threads_per_core):
                    if layout.numbering == "smt-last":
                        cpu = thread * ncores + k
                    else:
                        cpu = k * layout.threads_per_core + thread
                    apic = (
                        (((package << die_bits) | die) << core_bits | core) << thread_bits
                    ) | thread
                    yield Cpu(cpu, package, die, core, cpu not in offline, apic)
                k += 1
