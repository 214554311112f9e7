"""RAM-range parsing and the kernel's 1 GB RMPOPT window."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rmpplan.errors import InputError
from rmpplan.memory import (
    MAX_PHYS_ADDR,
    SZ_1G,
    SZ_2T,
    RamRange,
    Window,
    parse_iomem,
    parse_memory,
    rmpopt_window,
)
from rmpplan.schedule import schedule
from rmpplan.terms import Strategy
from rmpplan.topology.machine import Cpu, build_machine

SZ_1T = 1 << 40
SZ_4G = 4 * SZ_1G
TABLE_REGIONS = 2048  # one core's RMPOPT table covers 2 TB: 2048 one-GB regions (brief)


def window_of(spec: str) -> Window:
    """The window of a --memory spec."""
    return rmpopt_window(parse_memory(spec))


# The oracle, written from the v9 patch rather than from rmpplan.memory.


def kernel_loop(window: Window) -> range:
    """What the handler passes to RMPOPT: ``for (pa = start; pa < end; pa += SZ_1G)``."""
    return range(window.start, window.end, SZ_1G)


def in_table(pa: int, base: int) -> bool:
    """Whether ``pa`` lies in the 2 TB one core's table covers from RMPOPT_BASE ``base``."""
    return base <= pa < base + SZ_2T


# --- the brief's memory layouts -------------------------------------------------


def test_at_most_one_gb_is_one_region() -> None:
    """RAM that fits in the first GB gives one region [0, 1G)."""
    assert window_of("0x1000-0x3fffffff") == Window(0, SZ_1G, 1, False, None)
    assert window_of("0x1000-0x9ffff") == Window(0, SZ_1G, 1, False, None)


def test_max_not_gb_aligned_rounds_up() -> None:
    """A partial last GB is included: the end rounds up."""
    w = window_of("0-0x40000fff")  # one page into the second GB
    assert (w.start, w.end, w.regions) == (0, 2 * SZ_1G, 2)


def test_lowest_ram_above_zero_aligns_down() -> None:
    """RAM starting inside a GB (min_low_pfn > 0) pulls start down to that GB."""
    w = window_of("0x140100000-0x2ffffffff")  # 5 GiB + 1 MiB .. 12 GiB - 1
    assert (w.start, w.end, w.regions) == (5 * SZ_1G, 12 * SZ_1G, 7)


def test_exactly_two_tb_is_not_capped() -> None:
    """Exactly 2 TB is 2048 regions and is not cut."""
    assert window_of("0-2T") == Window(0, SZ_2T, TABLE_REGIONS, False, None)


def test_two_tb_plus_one_gb_is_capped() -> None:
    """2 TB + 1 GB is cut to 2 TB and reports the first unoptimized address."""
    w = window_of("1G-2T,2T-2050G")  # RAM [1G, 2050G): 2 TB + 1 GB, starting at 1 GB
    assert w.start == SZ_1G
    assert w.capped is True
    assert w.end == w.start + SZ_2T
    assert w.uncovered_from == w.start + SZ_2T
    assert w.regions == 2048


def test_two_tb_plus_one_gb_from_zero_is_capped() -> None:
    """RAM [0, 2T + 1G) leaves exactly the last GB uncovered."""
    w = window_of(f"0-{(SZ_2T + SZ_1G) >> 30}G")
    assert (w.end, w.regions, w.capped, w.uncovered_from) == (SZ_2T, 2048, True, SZ_2T)


def test_more_than_four_tb_two_sockets() -> None:
    """Over 4 TB (two NPS nodes per socket, two sockets) still covers only 2 TB."""
    w = window_of("0-2047M,4G-1T,1T-2T,2T-3T,3T-4T,4T-6T")
    assert w.start == 0
    assert w.capped is True
    assert w.end == SZ_2T
    assert w.uncovered_from == SZ_2T
    assert w.regions == 2048
    assert all(in_table(pa, w.start) for pa in kernel_loop(w))


def test_big_mmio_hole_below_4g_is_still_scanned() -> None:
    """The 2-4 GB MMIO hole stays in the window: nothing skips holes."""
    ranges = parse_memory("0-2G,4G-64G")
    assert ranges == (RamRange(0, 2 * SZ_1G - 1), RamRange(SZ_4G, 64 * SZ_1G - 1))
    w = rmpopt_window(ranges)
    assert w.regions == 64
    assert 2 * SZ_1G in kernel_loop(w)
    assert 3 * SZ_1G in kernel_loop(w)


def test_brief_layout_with_hole_and_large_top() -> None:
    """0x0-0x7fffffff,0x100000000-0x407fffffffff: 64 TB+ of RAM, capped at 2 TB."""
    ranges = parse_memory("0x0-0x7fffffff,0x100000000-0x407fffffffff")
    assert ranges == (RamRange(0, 0x7FFFFFFF), RamRange(0x100000000, 0x407FFFFFFFFF))
    w = rmpopt_window(ranges)
    assert (w.start, w.end, w.regions, w.capped) == (0, SZ_2T, 2048, True)
    assert w.uncovered_from == SZ_2T


# --- suffix semantics -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0-2T", RamRange(0, SZ_2T - 1)),
        ("1G-3G", RamRange(SZ_1G, 3 * SZ_1G - 1)),
        ("4G-6G", RamRange(SZ_4G, 6 * SZ_1G - 1)),
        ("1g-3g", RamRange(SZ_1G, 3 * SZ_1G - 1)),
        ("0-2t", RamRange(0, SZ_2T - 1)),
        ("1k-2k", RamRange(1024, 2047)),
        ("1M-2m", RamRange(1 << 20, (2 << 20) - 1)),
        ("0x0-0x7fffffff", RamRange(0, 0x7FFFFFFF)),
        ("0X10-0XFF", RamRange(0x10, 0xFF)),
        ("4096-8191", RamRange(4096, 8191)),
        ("0-0", RamRange(0, 0)),
        ("1G-0x7fffffff", RamRange(SZ_1G, 0x7FFFFFFF)),
        ("  0 - 1G  ", RamRange(0, SZ_1G - 1)),
    ],
)
def test_suffixes_and_bases(spec: str, expected: RamRange) -> None:
    """Binary suffixes scale; a suffixed end is the byte before; bare ends are inclusive."""
    assert parse_memory(spec) == (expected,)


def test_ranges_sorted_and_merged() -> None:
    """Unsorted, overlapping and touching ranges come back sorted and merged."""
    assert parse_memory("8G-9G,0-2G,1G-3G,3G-4G") == (
        RamRange(0, SZ_4G - 1),
        RamRange(8 * SZ_1G, 9 * SZ_1G - 1),
    )


def test_contained_range_is_absorbed() -> None:
    """A range inside another does not shrink the merged result."""
    assert parse_memory("0-8G,1G-2G") == (RamRange(0, 8 * SZ_1G - 1),)


# --- rejections -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0-1G,", "empty range"),
        ("0-1G,,2G-3G", "empty range"),
        ("2G-1G", "ends before it starts"),
        ("1G-1G", "ends before it starts"),  # suffixed end 1G means 1G - 1
        ("0-0G", "ends before it starts"),
        ("-1-5", "negative"),
        ("1--5", "negative"),
        ("5", "START-END"),
        ("1-2-3", "START-END"),
        ("abc-def", "bad address"),
        ("1G-2X", "bad address"),
        ("1.5G-2G", "bad address"),
        ("1GB-2GB", "bad address"),
        ("0x-1", "bad address"),
        ("1 G-2G", "bad address"),
        ("0-", "bad address"),
        ("0-8192T", "52-bit"),
        ("0-0x10000000000000", "52-bit"),
        ("0-" + "9" * 100, "too long"),
    ],
)
def test_parse_memory_rejects(spec: str, words: str) -> None:
    """Each malformed spec is an InputError naming what is wrong."""
    with pytest.raises(InputError, match=words):
        parse_memory(spec)


def test_error_never_echoes_huge_input() -> None:
    """A long bad spec is quoted clipped, on one line."""
    bad = "x" * 10_000 + "\n" + "y" * 10_000
    with pytest.raises(InputError) as info:
        parse_memory(bad + "-1G")
    message = str(info.value)
    assert "\n" not in message
    assert "\u2026" in message
    assert len(message) < 200


def test_largest_address_accepted() -> None:
    """The top of the 52-bit physical space is still an address."""
    assert parse_memory(f"0-{MAX_PHYS_ADDR:#x}") == (RamRange(0, MAX_PHYS_ADDR),)
    assert parse_memory("0-4096T") == (RamRange(0, MAX_PHYS_ADDR),)


def test_ram_range_validates() -> None:
    """A RamRange cannot be negative or end before it starts."""
    with pytest.raises(ValueError, match="bad RAM range"):
        RamRange(5, 4)
    with pytest.raises(ValueError, match="bad RAM range"):
        RamRange(-1, 4)


def test_window_needs_ranges() -> None:
    """An empty range list has no window."""
    with pytest.raises(ValueError, match="at least one"):
        rmpopt_window([])


# --- /proc/iomem ------------------------------------------------------------------

IOMEM = """\
00000000-00000fff : Reserved
00001000-0009ffff : System RAM
000a0000-000fffff : Reserved
  000a0000-000dffff : PCI Bus 0000:00
  000f0000-000fffff : System ROM
00100000-75ffffff : System RAM
  01000000-01ffffff : Kernel code
  02000000-0267ffff : Kernel rodata
  02800000-02a3ffff : Kernel data
  03000000-033fffff : Kernel bss
  5a000000-61ffffff : Crash kernel
76000000-7bffffff : Reserved
7c000000-7c0fffff : ACPI Tables
7c100000-7c1fffff : ACPI Non-volatile Storage
7c200000-7fffffff : System RAM
80000000-dfffffff : PCI Bus 0000:00
  c0000000-c7ffffff : PCI MMIO
e0000000-efffffff : PCI ECAM 0000 [bus 00-ff]
  e0000000-efffffff : Reserved
fed00000-fed003ff : HPET 0
fee00000-fee00fff : Local APIC
100000000-207fffffff : System RAM
  1f00000000-1f0fffffff : System RAM
2080000000-20ffffffff : Reserved
  2080000000-20bfffffff : RMP table
10000000000-3ffffffffff : PCI Bus 0000:80
"""


def test_parse_iomem_realistic_excerpt() -> None:
    """Only top-level System RAM lines count; nested and other names are ignored."""
    assert parse_iomem(IOMEM) == (
        RamRange(0x1000, 0x9FFFF),
        RamRange(0x100000, 0x75FFFFFF),
        RamRange(0x7C200000, 0x7FFFFFFF),
        RamRange(0x100000000, 0x207FFFFFFF),
    )


def test_iomem_window() -> None:
    """The iomem excerpt's window runs from 0 to 130 GB and is not capped."""
    w = rmpopt_window(parse_iomem(IOMEM))
    assert (w.start, w.end, w.regions, w.capped) == (0, 130 * SZ_1G, 130, False)


def test_iomem_adjacent_lines_merge() -> None:
    """Touching System RAM lines merge, as parse_memory does."""
    text = "00001000-0009ffff : System RAM\n000a0000-000fffff : System RAM\n"
    assert parse_iomem(text) == (RamRange(0x1000, 0xFFFFF),)


def test_iomem_crlf_and_uppercase_hex() -> None:
    """Windows line ends and uppercase hex are read too."""
    assert parse_iomem("00100000-7FFFFFFF : System RAM\r\n") == (RamRange(0x100000, 0x7FFFFFFF),)


def test_iomem_zeroed_addresses_say_read_as_root() -> None:
    """A non-root copy (all addresses zero) is refused with advice to use root."""
    text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n"
    with pytest.raises(InputError, match="root") as info:
        parse_iomem(text)
    assert info.value.line == 2


def test_iomem_without_system_ram() -> None:
    """A file with no top-level System RAM line is refused."""
    with pytest.raises(InputError, match="no top-level 'System RAM'"):
        parse_iomem("00000000-00000fff : Reserved\n  00100000-7fffffff : System RAM\n")
    with pytest.raises(InputError, match="no top-level 'System RAM'"):
        parse_iomem("")


def test_iomem_malformed_system_ram_line() -> None:
    """A mangled System RAM line is an error with its line number, not silently dropped."""
    with pytest.raises(InputError, match="unreadable") as info:
        parse_iomem("00001000-0009ffff : System RAM\n00100000-zz : System RAM\n")
    assert info.value.line == 2


def test_iomem_reversed_line() -> None:
    """A System RAM line that ends before it starts is refused."""
    with pytest.raises(InputError, match="ends before it starts") as info:
        parse_iomem("7fffffff-00100000 : System RAM\n")
    assert info.value.line == 1


def test_iomem_too_wide_address() -> None:
    """More than 16 hex digits cannot come from the kernel."""
    with pytest.raises(InputError, match="too long"):
        parse_iomem("0-" + "f" * 17 + " : System RAM\n")
    with pytest.raises(InputError, match="52-bit"):
        parse_iomem("0-" + "f" * 16 + " : System RAM\n")


# --- properties -------------------------------------------------------------------

ADDR = st.integers(min_value=0, max_value=MAX_PHYS_ADDR)


@st.composite
def ram_ranges(draw: st.DrawFn) -> list[RamRange]:
    count = draw(st.integers(min_value=1, max_value=6))
    out = []
    for _ in range(count):
        start = draw(ADDR)
        length = draw(st.integers(min_value=0, max_value=min(8 * SZ_1T, MAX_PHYS_ADDR - start)))
        out.append(RamRange(start, start + length))
    return out


@given(ram_ranges())
def test_window_properties(ranges: list[RamRange]) -> None:
    """The window is GB-aligned, holds all RAM unless capped, and fits one 2 TB table."""
    w = rmpopt_window(ranges)
    lowest = min(r.start for r in ranges)
    highest = max(r.end for r in ranges)
    assert w.start % SZ_1G == 0
    assert w.end % SZ_1G == 0
    assert w.start <= lowest < w.start + SZ_1G
    assert w.end - w.start <= SZ_2T
    assert 1 <= w.regions <= TABLE_REGIONS
    assert w.regions == (w.end - w.start) // SZ_1G
    if w.capped:
        assert w.end == w.start + SZ_2T
        assert w.uncovered_from == w.end
        assert highest >= w.end
    else:
        assert w.uncovered_from is None
        assert highest + 1 <= w.end < highest + 1 + SZ_1G
    addresses = kernel_loop(w)
    assert len(addresses) == w.regions
    assert all(pa % SZ_1G == 0 and in_table(pa, w.start) for pa in addresses)


@given(ram_ranges())
def test_window_ignores_order(ranges: list[RamRange]) -> None:
    """Shuffled or normalized input gives the same window."""
    assert rmpopt_window(ranges) == rmpopt_window(list(reversed(ranges)))


@given(ram_ranges())
def test_parse_memory_round_trips_hex(ranges: list[RamRange]) -> None:
    """Printing ranges as inclusive hex and parsing them gives the sorted, merged ranges."""
    spec = ",".join(f"{r.start:#x}-{r.end:#x}" for r in ranges)
    parsed = parse_memory(spec)
    assert list(parsed) == sorted(parsed, key=lambda r: r.start)
    assert all(a.end + 1 < b.start for a, b in itertools.pairwise(parsed))
    covered = {r.start for r in ranges} | {r.end for r in ranges}
    assert all(any(p.start <= x <= p.end for p in parsed) for x in covered)
    assert rmpopt_window(parsed) == rmpopt_window(ranges)


@given(st.integers(min_value=0, max_value=4095), st.integers(min_value=1, max_value=4096))
def test_suffixed_gb_ranges(first: int, count: int) -> None:
    """A range "aG-bG" is exactly [a GiB, b GiB - 1] and its window is b - a regions when small."""
    spec = f"{first}G-{first + count}G"
    (r,) = parse_memory(spec)
    assert (r.start, r.end) == (first * SZ_1G, (first + count) * SZ_1G - 1)
    w = rmpopt_window([r])
    assert w.regions == min(count, TABLE_REGIONS)
    assert w.capped == (count > TABLE_REGIONS)


ONE_CPU = build_machine("one", [Cpu(0, 0, 0, 0, True, 0)])


@given(
    st.integers(min_value=0, max_value=1 << 48),
    st.integers(min_value=0, max_value=2 * SZ_2T + 2 * SZ_1G),
)
@example(0, SZ_2T)
@example(0, SZ_2T + 1)
@example(SZ_1G + 5, SZ_2T)
def test_in_window_means_every_loop_address_is_in_the_table(start: int, length: int) -> None:
    """in_window holds iff every address the loop visits lies in the table based at start."""
    window = Window(start, start + length, len(range(start, start + length, SZ_1G)), False, None)
    (item,) = schedule(ONE_CPU, 0, window, strategies=[Strategy.V9_ANDNOT])
    assert item.in_window == all(in_table(pa, start) for pa in kernel_loop(window))


def test_reversed_window_is_not_in_window() -> None:
    """A window that ends before it starts visits nothing and is still reported broken."""
    window = Window(2 * SZ_1G, SZ_1G, 0, False, None)
    (item,) = schedule(ONE_CPU, 0, window, strategies=[Strategy.V9_ANDNOT])
    assert not item.in_window
