"""RAM ranges and the 1 GB window the kernel runs RMPOPT over.

Ranges are inclusive at both ends, as ``/proc/iomem`` prints them. The window
follows the v9 patch (``snp_setup_rmpopt``): it starts at the lowest RAM byte
rounded down to 1 GB, ends at the highest RAM byte + 1 rounded up to 1 GB, and
is cut to 2 TB because that is all one core's RMPOPT table can cover. Holes
inside the window stay in it: the kernel's loop steps over every GB and never
skips MMIO or reserved space, those regions simply never optimize.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.naming import named

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

SZ_1G = 1 << 30
SZ_2T = 1 << 41
# x86-64 physical addresses are at most 52 bits wide (MAXPHYADDR); anything
# beyond cannot be RAM, so a larger number is a typo, not a machine.
MAX_PHYS_ADDR = (1 << 52) - 1

_SUFFIX = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)([kKmMgGtT]?)")
# The name is stripped afterwards: "(.*?)\s*" under fullmatch is quadratic in a long
# run of spaces.
_IOMEM_LINE = re.compile(r"([0-9a-fA-F]+)-([0-9a-fA-F]+)\s*:\s*(.*)")
MAX_IOMEM_CHARS = 1 << 20
"""A saved /proc/iomem: tens of KB on a large server (a line per resource)."""
_MAX_TOKEN = 40  # longer than any 52-bit address in any notation; bounds int() work


@dataclass(frozen=True, slots=True)
class RamRange:
    """RAM from ``start`` to ``end``, both bytes included (like /proc/iomem)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"bad RAM range {self.start:#x}-{self.end:#x}")


@dataclass(frozen=True, slots=True)
class Window:
    """The addresses RMPOPT is run on: ``[start, end)`` in 1 GB steps.

    ``capped`` says the RAM span was cut to 2 TB; ``uncovered_from`` is then
    the first RAM address left unoptimized (the new ``end``). Not validated on
    purpose: the checker must be able to build a broken window and catch it.
    """

    start: int
    end: int
    regions: int
    capped: bool
    uncovered_from: int | None


def _number(token: str, *, is_end: bool, item: str) -> int:
    """One address: decimal or 0x-hex, optionally times a binary K/M/G/T.

    A suffixed end names the byte *before* it, so "0-2T" is exactly 2 TB;
    an unsuffixed end is taken literally, as /proc/iomem writes it.
    """
    if len(token) > _MAX_TOKEN:
        raise InputError(f"address too long in memory range '{quote(item)}'")
    match = _NUMBER.fullmatch(token)
    if match is None:
        raise InputError(
            f"bad address '{quote(token)}' in memory range '{quote(item)}': "
            "use decimal or 0x-hex, optionally with K, M, G or T"
        )
    digits, suffix = match.groups()
    value = int(digits, 0) if digits[:2].lower() == "0x" else int(digits, 10)
    value *= _SUFFIX[suffix.lower()]
    if is_end and suffix:
        value -= 1
    if value > MAX_PHYS_ADDR:
        raise InputError(
            f"memory range '{quote(item)}' goes past the 52-bit physical address space"
        )
    return value


def _parse_item(item: str) -> RamRange:
    parts = item.split("-")
    if item.startswith("-") or "--" in item:
        raise InputError(f"negative address in memory range '{quote(item)}'")
    if len(parts) != 2:
        raise InputError(f"expected START-END, got '{quote(item)}'")
    start = _number(parts[0].strip(), is_end=False, item=item)
    end = _number(parts[1].strip(), is_end=True, item=item)
    if start > end:
        raise InputError(f"memory range '{quote(item)}' ends before it starts")
    return RamRange(start, end)


def _normalize(ranges: Iterable[RamRange]) -> tuple[RamRange, ...]:
    """Sort by start and merge ranges that overlap or touch.

    Merging loses nothing the window needs (it only looks at the lowest and
    highest byte), and it makes "0-4G,2G-6G" mean what the user meant rather
    than an error.
    """
    merged: list[RamRange] = []
    for r in sorted(ranges, key=lambda r: (r.start, r.end)):
        if merged and r.start <= merged[-1].end + 1:
            last = merged[-1]
            merged[-1] = RamRange(last.start, max(last.end, r.end))
        else:
            merged.append(r)
    return tuple(merged)


def parse_memory(spec: str) -> tuple[RamRange, ...]:
    """Parse comma-separated ranges such as ``0-2T`` or ``0x0-0x7fffffff,4G-6G``.

    Returns the ranges sorted, with overlapping or adjacent ones merged.
    Raises InputError for an empty spec, an empty item, a negative or
    malformed number, an address past 52 bits, or a range ending before it starts.
    """
    if not spec.strip():
        raise InputError("memory spec is empty: give ranges like 0-2T or 0x0-0x7fffffff")
    items = [item.strip() for item in spec.split(",")]
    if any(not item for item in items):
        raise InputError(f"empty range in memory spec '{quote(spec)}' (stray comma?)")
    return _normalize(_parse_item(item) for item in items)


def parse_iomem(text: str) -> tuple[RamRange, ...]:
    """The top-level "System RAM" ranges of a saved ``/proc/iomem``.

    Indented lines are children (kernel code, crash kernel, ...) and lie inside
    a top-level entry already, so they are skipped, as is every other name
    (Reserved, ACPI tables, PCI windows). Results are sorted and merged.
    """
    if len(text) > MAX_IOMEM_CHARS:
        raise InputError(
            f"larger than {MAX_IOMEM_CHARS >> 20} MiB; a saved /proc/iomem is tens of KB"
        )
    found: list[RamRange] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line[0].isspace():
            continue
        match = _IOMEM_LINE.fullmatch(line)
        if match is None:
            if "System RAM" in line:
                raise InputError(f"unreadable System RAM line '{quote(line)}'", line=number)
            continue
        first, last, name = match.groups()
        if name.rstrip() != "System RAM":
            continue
        if len(first) > 16 or len(last) > 16:  # wider than 64 bits: not a kernel line
            raise InputError(f"address too long in '{quote(line)}'", line=number)
        start, end = int(first, 16), int(last, 16)
        if start == 0 and end == 0:
            # The kernel hides addresses from non-root readers by printing zeros.
            raise InputError(
                "/proc/iomem shows zeroed addresses, as it does to non-root readers; "
                "save it as root (sudo cat /proc/iomem > iomem.txt)",
                line=number,
            )
        if start > end:
            raise InputError(f"range ends before it starts in '{quote(line)}'", line=number)
        if end > MAX_PHYS_ADDR:
            raise InputError(
                f"address past the 52-bit physical address space in '{quote(line)}'",
                line=number,
            )
        found.append(RamRange(start, end))
    if not found:
        raise InputError("no top-level 'System RAM' line: is this a saved /proc/iomem?")
    return _normalize(found)


def rmpopt_window(ranges: Sequence[RamRange]) -> Window:
    """The kernel's window for RAM ``ranges`` (which need not be sorted).

    start = ALIGN_DOWN(lowest byte, 1G) stands for ``PFN_PHYS(min_low_pfn)``;
    end = ALIGN(highest byte + 1, 1G) for ``ALIGN(PFN_PHYS(max_pfn), 1G)``
    (max_pfn is one past the last page, and 1G is a multiple of a page, so
    rounding the byte or the page gives the same end). A span over 2 TB is cut
    to [start, start + 2T), which is why the window is "up to 2 TB worth"
    rather than [0, 2T).
    """
    if not ranges:
        raise ValueError("rmpopt_window needs at least one RAM range")
    lowest = min(r.start for r in ranges)
    highest = max(r.end for r in ranges)
    start = lowest - lowest % SZ_1G
    end = -(-(highest + 1) // SZ_1G) * SZ_1G
    capped = end - start > SZ_2T
    if capped:
        end = start + SZ_2T
    return Window(
        start=start,
        end=end,
        regions=(end - start) // SZ_1G,
        capped=capped,
        uncovered_from=end if capped else None,
    )


def ram_window(memory: str | None, memory_from: Path | None) -> Window | None:
    """The RMPOPT window of the RAM ``--memory`` (ranges) or ``--memory-from`` (a saved
    /proc/iomem) gives; None when neither is given."""
    from rmpplan.errors import OptionError
    from rmpplan.topology.load import read_text

    if memory is not None and memory_from is not None:
        raise OptionError(f"give one of {named('memory')} or {named('memory_from')}, not both")
    if memory is not None:
        try:
            return rmpopt_window(parse_memory(memory))
        except InputError as err:
            raise err.within(named("memory")) from None
    if memory_from is not None:
        try:
            return rmpopt_window(parse_iomem(read_text(memory_from)))
        except InputError as err:
            raise err.located(str(memory_from)) from None
    return None
