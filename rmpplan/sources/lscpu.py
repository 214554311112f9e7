"""Saved ``lscpu -J -e`` and ``lscpu -p=…`` output → :class:`Machine`.

- A core is a ``(SOCKET, CORE)`` tuple of online CPUs; its package is SOCKET
  (lscpu's logical socket number; 0 without the column), its die 0.
- online = the ONLINE column (``yes``/``no``, ``Y``/``N``, JSON true/false); without it,
  a CPU is online when it has a CORE.  An offline CPU (lscpu prints ``-`` or nothing
  for its CORE) stays present and offline, a core of its own in its SOCKET (else 0).
  present = the listed CPUs; possible = present (lscpu does not print it).
- lscpu 2.38 writes a bare ``-`` where JSON needs a value (``"core": -``).  That is
  accepted only in a document that is lscpu's: one top-level key ``"cpus"``, a list
  of objects with a ``"cpu"`` key.  Any other JSON stays strict.

Ambiguity.  lscpu numbers CORE separately for each CPU type on hybrid (big.LITTLE)
machines, so different cores can share a tuple.  Threads of one core share their
NUMA node, cluster, book, drawer, L1i and L2 cache and their max/min MHz (L1d is
left out: Bulldozer's two cores of a module have their own L1d but are one kernel
sibling set).  A tuple with more than one online CPU is refused when

1. those CPUs differ in any of those columns, or
2. it holds more than 8 CPUs (no core has more threads), or
3. the tuples with more than one CPU are not all the same size and the offline
   CPUs are too few to be the missing threads (a Cortex phone gives 4, 3 and 1).

What is left undetectable: two CPU types with equal counts and no MHz, cache or
cluster columns.  Read the sysfs tree when in doubt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.plain import PlainValue
from rmpplan.sources.assemble import MAX_THREADS_PER_CORE, Group, assemble, show_cpus
from rmpplan.sources.tree import read_file_text
from rmpplan.terms import NR_CPUS_MAX
from rmpplan.topology.parse import bounded_json

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.topology.machine import Machine

SHARED_BY_THREADS = ("node", "cluster", "book", "drawer", "l1i", "l2", "maxmhz", "minmhz")
MAX_LSCPU_BYTES = 16 << 20
"""Saved lscpu output: ``lscpu -J -e`` of 8192 CPUs with every column is about 4 MiB."""
MAX_JSON_VALUES = 64 * NR_CPUS_MAX
"""Values in ``lscpu -J -e`` output: one object a CPU, of at most about 30 keys and values."""
MAX_COLUMNS = 64
"""lscpu has about 25 columns."""
MAX_LINES = NR_CPUS_MAX + 1024
"""One line a CPU and a few comment lines."""
_MAX_CACHE_PARTS = 8  # the cache column's key is "l1d:l1i:l2:l3"

_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})
_LSCPU_JSON = re.compile(r'\A\s*\{\s*"cpus"\s*:\s*\[\s*(?:\]|\{[^{}]*"cpu"\s*:)')
# A JSON string (skipped whole), or a bare '-' standing where a value belongs.
_BARE_DASH = re.compile(r'"(?:[^"\\\n]++|\\.)*+"|-(?=\s*[,}\]])')
_HINT = (
    "lscpu numbers CORE separately for each CPU type on hybrid machines, so (SOCKET, CORE) "
    "need not be one core; read the sysfs tree instead (a dump folder or tarball)"
)


@dataclass(frozen=True, slots=True)
class Row:
    """One CPU line of lscpu output, columns lower-cased, ``-``/empty as None."""

    where: str
    line: int | None
    values: dict[str, str | None]


def looks_like_lscpu_json(head: str) -> bool:
    """Whether text starts like ``lscpu -J -e`` output (``{"cpus": [{"cpu": …``)."""
    return _LSCPU_JSON.match(head) is not None


def looks_like_lscpu_csv(head: str) -> bool:
    """Whether text starts like ``lscpu -p`` output: ``#`` comments, the last naming CPU."""
    lines = head.splitlines()
    comments = 0
    while comments < len(lines) and lines[comments].startswith("#"):
        comments += 1
    if comments == 0:
        return False
    columns = [c.strip().lower() for c in lines[comments - 1][1:].split(",")]
    if "cpu" not in columns:
        return False
    rest = [line for line in lines[comments:] if line.strip()]
    return not rest or rest[0].count(",") == len(columns) - 1


def _value(raw: object) -> str | None:
    """A cell as text: JSON booleans as yes/no; null, '-' and '' as None."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    text = str(raw).strip()
    return None if text in ("", "-") else text


def _json_rows(data: PlainValue) -> list[Row]:
    cpus = data.get("cpus") if isinstance(data, dict) else None
    # Every entry must be an object with "cpu": these are they, narrowed for the loop below.
    entries = (
        [entry for entry in cpus if isinstance(entry, dict) and "cpu" in entry]
        if isinstance(cpus, list)
        else []
    )
    if (
        not isinstance(data, dict)
        or set(data) != {"cpus"}
        or not isinstance(cpus, list)
        or len(entries) != len(cpus)
    ):
        hint = (
            " (use lscpu -J -e, not lscpu -J)" if isinstance(data, dict) and "lscpu" in data else ""
        )
        raise InputError(
            'not lscpu -J -e output: expected one top-level key "cpus" holding objects '
            f'with "cpu"{hint}'
        )
    if len(cpus) > NR_CPUS_MAX:
        raise InputError(f"lists {len(cpus)} CPUs; at most {NR_CPUS_MAX} exist (NR_CPUS)")
    rows = []
    for index, entry in enumerate(entries):
        values: dict[str, str | None] = {}
        for key, raw in entry.items():
            names = str(key).lower().split(":", _MAX_CACHE_PARTS)
            if len(names) > _MAX_CACHE_PARTS:
                raise InputError(f"cpus[{index}]: column '{quote(str(key))}' has too many parts")
            if len(names) > 1:  # the cache column: "l1d:l1i:l2:l3": "0:0:0:0"
                parts = _value(raw)
                split = parts.split(":") if parts is not None else []
                if len(split) != len(names):
                    split = [""] * len(names)
                values.update(zip(names, map(_value, split), strict=True))
            else:
                values[names[0]] = _value(raw)
        rows.append(Row(f"cpus[{index}]", None, values))
    return rows


def parse_lscpu_json(text: str) -> list[Row]:
    """The CPU rows of ``lscpu -J -e`` output, lscpu 2.38's bare ``-`` included."""
    try:
        data = bounded_json(text, MAX_JSON_VALUES, strict=False)
    except json.JSONDecodeError as err:
        if not looks_like_lscpu_json(text):
            raise InputError(f"invalid JSON: {err.msg}", line=err.lineno) from None
        fixed = _BARE_DASH.sub(lambda m: m[0] if m[0].startswith('"') else "null", text)
        try:
            data = bounded_json(fixed, MAX_JSON_VALUES, strict=False)
        except json.JSONDecodeError as again:
            raise InputError(f"invalid JSON: {again.msg}", line=again.lineno) from None
    return _json_rows(data)


def parse_lscpu_csv(text: str) -> list[Row]:
    """The CPU rows of ``lscpu -p=…`` output; the last ``#`` line before the data names
    the columns."""
    columns: list[str] | None = None
    header: list[str] | None = None
    rows = []
    # Split at most MAX_LINES times: the rest, if any, is one piece and refused.
    lines = text.split("\n", MAX_LINES)
    if len(lines) > MAX_LINES and lines[-1].strip():
        raise InputError(f"more than {MAX_LINES} lines; lscpu prints one line a CPU")
    for number, full in enumerate(lines, 1):
        line = full.removesuffix("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if columns is None:
                header = [c.strip().lower() for c in line[1:].split(",", MAX_COLUMNS)]
                if len(header) > MAX_COLUMNS:
                    raise InputError(f"more than {MAX_COLUMNS} columns", line=number)
            continue
        if columns is None:
            if header is None or "cpu" not in header:
                raise InputError(
                    "no '# CPU,Core,Socket,…' header comment before the data: save the whole "
                    "output of lscpu -p=CPU,CORE,SOCKET,ONLINE",
                    line=number,
                )
            columns = header
        fields = line.split(",", len(columns))
        if len(fields) != len(columns):
            raise InputError(
                f"{len(fields)} fields where the header names {len(columns)}", line=number
            )
        values = {name: _value(field) for name, field in zip(columns, fields, strict=True) if name}
        rows.append(Row(f"line {number}", number, values))
    return rows


def _number(row: Row, column: str) -> int | None:
    text = row.values.get(column)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise InputError(
            f"{row.where}: {column.upper()} '{quote(text)}' is not a number", line=row.line
        )
    return int(text)


def _online(row: Row) -> bool | None:
    text = row.values.get("online")
    if text is None:
        return None
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise InputError(f"{row.where}: ONLINE '{quote(text)}' is not yes or no", line=row.line)


TupleKey = tuple[int | None, str]


def _ambiguous(reason: str) -> InputError:
    return InputError(f"ambiguous lscpu output: {reason}; {_HINT}")


def _tuple_text(key: TupleKey) -> str:
    socket, core = key
    return f"SOCKET {'-' if socket is None else socket} CORE {core}"


def check_tuples(tuples: dict[TupleKey, list[int]], rows: dict[int, Row], offline: int) -> None:
    """Refuse (SOCKET, CORE) tuples that cannot be one core (the module docstring's rules)."""
    multi = {key: cpus for key, cpus in tuples.items() if len(cpus) > 1}
    for key, cpus in multi.items():
        for column in SHARED_BY_THREADS:
            seen = sorted({v for cpu in cpus if (v := rows[cpu].values.get(column)) is not None})
            if len(seen) > 1:
                raise _ambiguous(
                    f"{_tuple_text(key)} lists CPUs {show_cpus(cpus)} whose {column.upper()} "
                    f"differ ({quote(seen[0])} and {quote(seen[1])})"
                )
        if len(cpus) > MAX_THREADS_PER_CORE:
            raise _ambiguous(
                f"{_tuple_text(key)} lists {len(cpus)} online CPUs ({show_cpus(cpus)}), more "
                f"threads than any core has ({MAX_THREADS_PER_CORE})"
            )
    sizes = sorted({len(cpus) for cpus in multi.values()})
    if len(sizes) > 1:
        missing = sum(sizes[-1] - len(cpus) for cpus in multi.values())
        if missing > offline:
            small = min(multi, key=lambda key: (len(multi[key]), min(multi[key])))
            large = max(multi, key=lambda key: (len(multi[key]), -min(multi[key])))
            raise _ambiguous(
                f"{_tuple_text(large)} lists CPUs {show_cpus(multi[large])} but "
                f"{_tuple_text(small)} lists {show_cpus(multi[small])}, and {offline} offline "
                f"CPU(s) cannot account for the {missing} missing thread(s)"
            )


def machine_from_rows(rows: list[Row], name: str, source: str) -> Machine:
    """Group the rows into cores (the module docstring's rules) and build the machine."""
    if not rows:
        raise InputError("no CPU lines")
    if not any("core" in row.values for row in rows):
        raise InputError("no CORE column: save lscpu -p=CPU,CORE,SOCKET,ONLINE (or -J -e)")
    by_cpu: dict[int, Row] = {}
    tuples: dict[TupleKey, list[int]] = {}
    groups: list[Group] = []
    for row in rows:
        cpu = _number(row, "cpu")
        if cpu is None:
            raise InputError(f"{row.where}: no CPU number", line=row.line)
        if cpu in by_cpu:
            raise InputError(f"{row.where}: CPU {cpu} is listed twice", line=row.line)
        by_cpu[cpu] = row
        socket = _number(row, "socket")
        core = row.values.get("core")
        flag = _online(row)
        if flag is False or (flag is None and core is None):
            groups.append(Group((cpu,), socket or 0, 0))
        elif core is None:
            raise InputError(f"{row.where}: CPU {cpu} is online but has no CORE", line=row.line)
        else:
            tuples.setdefault((socket, core), []).append(cpu)
    online = frozenset(cpu for cpus in tuples.values() for cpu in cpus)
    check_tuples(tuples, by_cpu, len(by_cpu) - len(online))
    groups.extend(
        Group(tuple(sorted(cpus)), socket or 0, 0) for (socket, _), cpus in tuples.items()
    )
    return assemble(name, groups, online, source=source)


def read_lscpu_json(path: Path, name: str) -> Machine:
    """Read saved ``lscpu -J -e`` output."""
    rows = parse_lscpu_json(read_file_text(path, MAX_LSCPU_BYTES))
    return machine_from_rows(rows, name, f"lscpu JSON {path.name}")


def read_lscpu_csv(path: Path, name: str) -> Machine:
    """Read saved ``lscpu -p=…`` output."""
    rows = parse_lscpu_csv(read_file_text(path, MAX_LSCPU_BYTES))
    return machine_from_rows(rows, name, f"lscpu CSV {path.name}")
