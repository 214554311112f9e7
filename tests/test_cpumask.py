"""Tests for rmpplan.cpumask: the kernel's lib/test_bitmap.c tables, the brief's printing
and width examples, the kernel quirks kept on purpose, non-ASCII input read as the kernel
reads its bytes, and Hypothesis round trips."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan import cpumask
from rmpplan.cli.main import cli
from rmpplan.cpumask import (
    NR_CPUS_MAX,
    format_cpulist,
    format_hexmask,
    hex_nbits,
    parse_cpulist,
    parse_hexmask,
)
from rmpplan.errors import MaskError
from tests.conftest import examples

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

U32 = 1 << 32


def bits(value: int) -> frozenset[int]:
    """The set of bit numbers set in ``value``."""
    return frozenset(i for i in range(value.bit_length()) if value >> i & 1)


def kernel_region(start: int, end: int, used: int, group: int) -> frozenset[int]:
    """A literal port of bitmap_set_region, unsigned int wraparound included."""
    out: set[int] = set()
    while start <= end:
        out.update(range(start, start + min(end - start + 1, used)))
        start = (start + group) % U32
    return frozenset(out)


# --- lib/test_bitmap.c parselist_tests (the brief's list plus the rest of the table) ---

EVERY_OTHER_128 = frozenset(i for i in range(2048) if i % 256 < 128)

PARSELIST_ACCEPT: list[tuple[str, int, frozenset[int]]] = [
    ("0", 8, bits(0x1)),
    ("1", 8, bits(0x2)),
    ("0-15", 32, bits(0x0000FFFF)),
    ("16-31", 32, bits(0xFFFF0000)),
    ("0-31:1/2", 32, bits(0x55555555)),
    ("1-31:1/2", 32, bits(0xAAAAAAAA)),
    ("0-31:1/4", 32, bits(0x11111111)),
    ("1-31:1/4", 32, bits(0x22222222)),
    ("0-31:4/4", 32, bits(0xFFFFFFFF)),
    ("1-31:4/4", 32, bits(0xFFFFFFFE)),
    ("0-31:1/4,32-63:2/4", 64, bits(0x3333333311111111)),
    ("0-31:3/4,32-63:4/4", 64, bits(0xFFFFFFFF77777777)),
    ("  ,,  0-31:3/4  ,, 32-63:4/4  ,,  ", 64, bits(0xFFFFFFFF77777777)),
    (
        "0-31:1/4,32-63:2/4,64-95:3/4,96-127:4/4",
        128,
        bits(0xFFFFFFFF77777777 << 64 | 0x3333333311111111),
    ),
    ("0-2047:128/256", 2048, EVERY_OTHER_128),
    ("", 8, frozenset()),
    ("\n", 8, frozenset()),
    (",,  ,,  , ,  ,", 8, frozenset()),
    (" ,  ,,  , ,   ", 8, frozenset()),
    (" ,  ,,  , ,   \n", 8, frozenset()),
    ("0-0", 32, bits(0x1)),
    ("1-1", 32, bits(0x2)),
    ("15-15", 32, bits(0x8000)),
    ("31-31", 32, bits(0x80000000)),
    ("0-0:0/1", 32, frozenset()),
    ("0-0:1/1", 32, bits(0x1)),
    ("0-0:1/31", 32, bits(0x1)),
    ("0-0:31/31", 32, bits(0x1)),
    ("1-1:1/1", 32, bits(0x2)),
    ("0-15:16/31", 32, bits(0xFFFF)),
    ("15-15:1/2", 32, bits(0x8000)),
    ("15-15:31/31", 32, bits(0x8000)),
    ("15-31:1/31", 32, bits(0x8000)),
    ("16-31:16/31", 32, bits(0xFFFF0000)),
    ("31-31:31/31", 32, bits(0x80000000)),
    ("N-N", 32, bits(0x80000000)),
    ("0-0:1/N", 32, bits(0x1)),
    ("0-0:N/N", 32, bits(0x1)),
    ("0-15:16/N", 32, bits(0xFFFF)),
    ("15-15:N/N", 32, bits(0x8000)),
    ("15-N:1/N", 32, bits(0x8000)),
    ("16-N:16/N", 32, bits(0xFFFF0000)),
    ("N-N:N/N", 32, bits(0x80000000)),
    ("0-N:1/3,1-N:1/3,2-N:1/3", 32, bits(0xFFFFFFFF)),
    ("0-31:1/3,1-31:1/3,2-31:1/3", 32, bits(0xFFFFFFFF)),
    ("1-10:8/12,8-31:24/29,0-31:0/3", 32, bits(0xFFFFFFFE)),
    ("all", 32, bits(0xFFFFFFFF)),
    ("0, 1, all,  ", 32, bits(0xFFFFFFFF)),
    ("all:1/2", 32, bits(0x55555555)),
    ("ALL:1/2", 32, bits(0x55555555)),
]

PARSELIST_REJECT: list[tuple[str, int, str]] = [
    ("al", 8, "EINVAL"),
    ("alll", 8, "EINVAL"),
    ("-1", 8, "EINVAL"),
    ("-0", 8, "EINVAL"),
    ("10-1", 8, "EINVAL"),
    ("8-8", 8, "ERANGE"),
    ("0-31", 8, "ERANGE"),
    ("0-31:", 32, "EINVAL"),
    ("0-31:0", 32, "EINVAL"),
    ("0-31:0/", 32, "EINVAL"),
    ("0-31:0/0", 32, "EINVAL"),
    ("0-31:1/0", 32, "EINVAL"),
    ("0-31:10/1", 32, "EINVAL"),
    ("0-98765432123456789:10/1", 8, "EOVERFLOW"),
    ("a-31", 8, "EINVAL"),
    ("0-a1", 8, "EINVAL"),
    ("a-31:10/1", 8, "EINVAL"),
    ("0-31:a/1", 8, "EINVAL"),
    ("0-\n", 8, "EINVAL"),
    ("5:1/2", 8, "EINVAL"),  # the brief: a lone number takes no :u/g
]

# --- lib/test_bitmap.c parse_tests ---

BADF00D = bits(0x0BADF00DDEADBEEF << 64 | 1 << 32)

PARSE_ACCEPT: list[tuple[str, int, frozenset[int]]] = [
    ("", 32, frozenset()),
    (" ", 32, frozenset()),
    ("0", 32, frozenset()),
    ("0\n", 32, frozenset()),
    ("1", 32, bits(1)),
    ("deadbeef", 32, bits(0xDEADBEEF)),
    ("1,0", 33, bits(1 << 32)),
    ("deadbeef,\n,0,1", 96, bits(0xDEADBEEF)),
    ("deadbeef,1,0", 96, bits(0xDEADBEEF << 64 | 1 << 32)),
    ("baadf00d,deadbeef,1,0", 128, bits(0xBAADF00DDEADBEEF << 64 | 1 << 32)),
    ("badf00d,deadbeef,1,0", 124, BADF00D),
    ("  badf00d,deadbeef,1,0  ", 124, BADF00D),
    (" , badf00d,deadbeef,1,0 , ", 124, BADF00D),
    (" , badf00d, ,, ,,deadbeef,1,0 , ", 124, BADF00D),
]

PARSE_REJECT: list[tuple[str, int, str]] = [
    ("goodfood,deadbeef,1,0", 128, "EINVAL"),
    ("3,0", 33, "EOVERFLOW"),
    ("123badf00d,deadbeef,1,0", 128, "EOVERFLOW"),
    ("badf00d,deadbeef,1,0", 90, "EOVERFLOW"),
    ("fbadf00d,deadbeef,1,0", 95, "EOVERFLOW"),
    ("badf00d,deadbeef,1,0", 100, "EOVERFLOW"),
    ("00000000,00000001", 32, "EOVERFLOW"),  # the brief: chunks counted before values
]


@pytest.mark.parametrize(("text", "nbits", "expected"), PARSELIST_ACCEPT)
def test_parselist_accepts_kernel_vectors(text: str, nbits: int, expected: frozenset[int]) -> None:
    """Every accepted bitmap_parselist vector gives exactly the kernel's bits."""
    assert parse_cpulist(text, nbits) == expected


@pytest.mark.parametrize(("text", "nbits", "errno"), PARSELIST_REJECT)
def test_parselist_rejects_kernel_vectors(text: str, nbits: int, errno: str) -> None:
    """Every rejected bitmap_parselist vector fails with the kernel's errno."""
    with pytest.raises(MaskError) as info:
        parse_cpulist(text, nbits)
    assert info.value.errno == errno


@pytest.mark.parametrize(("text", "nbits", "expected"), PARSE_ACCEPT)
def test_parse_hex_accepts_kernel_vectors(text: str, nbits: int, expected: frozenset[int]) -> None:
    """Every accepted bitmap_parse vector gives exactly the kernel's bits."""
    assert parse_hexmask(text, nbits) == expected


@pytest.mark.parametrize(("text", "nbits", "errno"), PARSE_REJECT)
def test_parse_hex_rejects_kernel_vectors(text: str, nbits: int, errno: str) -> None:
    """Every rejected bitmap_parse vector fails with the kernel's errno."""
    with pytest.raises(MaskError) as info:
        parse_hexmask(text, nbits)
    assert info.value.errno == errno


# --- printing ---


def test_printlist_vector() -> None:
    """%*pbl of 0x3333333311111111 matches the brief."""
    assert format_cpulist(bits(0x3333333311111111)) == (
        "0,4,8,12,16,20,24,28,32-33,36-37,40-41,44-45,48-49,52-53,56-57,60-61"
    )


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [
        (set(), ""),
        ({7}, "7"),
        ({4, 5}, "4-5"),
        ([3, 1, 2, 2, 9], "1-3,9"),
        (range(32768), "0-32767"),  # test_bitmap_printlist: a full page of bits
    ],
)
def test_format_cpulist_shapes(cpus: Iterable[int], expected: str) -> None:
    """Runs of two or more print as a-b; input order and duplicates do not matter."""
    assert format_cpulist(cpus) == expected


@pytest.mark.parametrize(
    ("cpus", "nbits", "expected"),
    [
        (bits(0x3333333311111111), 64, "33333333,11111111"),
        ({0, 32}, 33, "1,00000001"),
        ({0, 32}, 80, "0000,00000001,00000001"),
        ({0, 32}, 64, "00000001,00000001"),
        (set(), 1, "0"),
        ({0}, 4, "1"),
        ({4}, 5, "10"),
        (set(), 32, "00000000"),
        (bits(0xDEADBEEF), 32, "deadbeef"),
        (set(), 0, ""),
    ],
)
def test_format_hexmask_widths(cpus: set[int] | frozenset[int], nbits: int, expected: str) -> None:
    """%*pb: first chunk ceil((nbits % 32 or 32)/4) digits, then 8 per chunk, lowercase."""
    assert format_hexmask(cpus, nbits) == expected


def test_format_hexmask_8192_bits() -> None:
    """A full NR_CPUS_MAX mask prints 256 chunks of ffffffff."""
    assert format_hexmask(range(NR_CPUS_MAX), NR_CPUS_MAX) == ",".join(["ffffffff"] * 256)


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [(set(), 32), ({0}, 32), ({31}, 32), ({32}, 64), ({5, 100}, 128), ({8191}, 8192)],
)
def test_hex_nbits(cpus: set[int], expected: int) -> None:
    """Whole 32-bit words, as many as the highest set bit needs."""
    assert hex_nbits(cpus) == expected


# --- newlines and other kernel corner cases ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1\n5", {1}),
        ("\n5", {5}),
        ("1,\n5", {1, 5}),
        ("1 \n5", {1, 5}),  # the '\n' follows a separator, not the region
        ("0-3:1/2\n5", {0, 2, 5}),  # nothing is checked after a group size
        ("2,4-31,32-63\n", {2, *range(4, 64)}),  # unmerged ranges, as `offline` prints
        ("1\0,5", {1}),  # the kernel sees a C string
    ],
)
def test_parselist_newlines(text: str, expected: set[int]) -> None:
    """'\\n' ends the list only directly after a plain region; elsewhere it separates."""
    assert parse_cpulist(text, 64) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        ("0-31:1/2N", 64, frozenset(range(0, 32, 2)) | {63}),
        ("1-31:1/4294967295", 32, frozenset({0, 1})),
        ("31-31:1/4294967295", 32, frozenset(range(32))),
        ("5-9:4294967295/4294967295", 16, frozenset(range(10))),
        ("007,0-N", 8, frozenset(range(8))),
        ("0" * 5000 + "7", 8, frozenset({7})),
        ("aLl", 4, frozenset(range(4))),
    ],
)
def test_parselist_kernel_quirks(text: str, nbits: int, expected: frozenset[int]) -> None:
    """Quirks of bitmap-str.c kept on purpose: no check after u/g, 32-bit start wrap."""
    assert parse_cpulist(text, nbits) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "errno"),
    [
        ("4294967294", 8, "ERANGE"),
        ("4294967295", 8, "EINVAL"),  # end + 1 wraps the group size to 0
        ("4294967296", 8, "EOVERFLOW"),
        ("9" * 100_000, 8, "EOVERFLOW"),
        ("9-8", 8, "EINVAL"),  # EINVAL wins over ERANGE within a region
        ("0-31:2/1", 8, "EINVAL"),
        ("0-31,a", 8, "ERANGE"),  # the first failing region decides
        ("a,0-31", 8, "EINVAL"),
        ("99999999999:x", 8, "EOVERFLOW"),  # errors come in parsing order
        ("n", 8, "EINVAL"),  # only capital N
        ("1-", 8, "EINVAL"),
        ("1-2:3", 8, "EINVAL"),
        ("0-31:1/2x", 64, "EINVAL"),
        ("\uff11", 8, "EINVAL"),  # a fullwidth digit is not a digit
        ("1\u00a02", 8, "EINVAL"),  # U+00A0 is C2 A0: 0xA0 separates, 0xC2 does not
    ],
)
def test_parselist_errno_edges(text: str, nbits: int, errno: str) -> None:
    """Kernel errno for wrap, overflow and precedence edge cases."""
    with pytest.raises(MaskError) as info:
        parse_cpulist(text, nbits)
    assert info.value.errno == errno


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        ("x12345678", 32, bits(0x12345678)),  # a non-hex 9th character is swallowed
        ("1x12345678", 64, bits(1 << 32 | 0x12345678)),
        ("DeadBeef", 32, bits(0xDEADBEEF)),
        ("1\nzz", 32, bits(1)),
        ("1\0zz", 32, bits(1)),
        ("\t1 \v2\f,\r", 64, bits(1 << 32 | 2)),
    ],
)
def test_parse_hex_quirks(text: str, nbits: int, expected: frozenset[int]) -> None:
    """bitmap_parse corner cases, including the swallowed ninth character."""
    assert parse_hexmask(text, nbits) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "errno"),
    [
        ("123456789", 64, "EOVERFLOW"),
        ("g,123456789", 64, "EOVERFLOW"),  # read from the right
        ("123456789,g", 64, "EINVAL"),
        ("g,0", 32, "EOVERFLOW"),  # the chunk count is checked before the chunk
        ("0x1", 32, "EINVAL"),
        ("-1", 32, "EINVAL"),
        ("2", 1, "EOVERFLOW"),
    ],
)
def test_parse_hex_errno_edges(text: str, nbits: int, errno: str) -> None:
    """bitmap_parse errno for digit count, order and bad characters."""
    with pytest.raises(MaskError) as info:
        parse_hexmask(text, nbits)
    assert info.value.errno == errno


# --- non-ASCII: the kernel reads UTF-8 bytes with lib/ctype.c's Latin-1 classes ---


def raw(byte: int) -> str:
    """The str Python gives for ``byte`` alone in argv: itself if ASCII, else escaped."""
    return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)


def outcome(parse: Callable[[str, int], frozenset[int]], text: str, nbits: int) -> object:
    """The set ``parse`` returns, or the errno it fails with."""
    try:
        return parse(text, nbits)
    except MaskError as err:
        return err.errno


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        ("1" + raw(0xA0) + "2", 8, {1, 2}),  # a raw 0xA0 is isspace() in lib/ctype.c
        (raw(0xA0) + "1," + raw(0xA0) + "3-4" + raw(0xA0), 8, {1, 3, 4}),
        ("all" + raw(0xA0) + "7", 8, set(range(8))),
        ("0-7:1/2" + raw(0xA0) + "1", 8, {0, 1, 2, 4, 6}),
        ("1\n\u00e9", 8, {1}),  # the list ends at the '\n' before the kernel reads 0xC3
        ("1\0\u00e9", 8, {1}),  # and at a NUL
        ("0-3\0" + raw(0xFF), 8, {0, 1, 2, 3}),
    ],
)
def test_parselist_non_ascii_accepted(text: str, nbits: int, expected: set[int]) -> None:
    """Raw 0xA0 bytes separate regions; nothing after the end of the list is read."""
    assert parse_cpulist(text, nbits) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "errno"),
    [
        # The vector: C2 A0 31.  bitmap_find_region skips no byte (0xC2 is _U, not
        # _S), strncasecmp fails, and _parse_integer reads no digit from 0xC2: len 0, so
        # bitmap_getnum returns EINVAL.  No number is ever read, so never EOVERFLOW.
        ("\u00a01", 8192, "EINVAL"),
        ("1,\u00a0", 8, "EINVAL"),  # 0xC2 starts a region
        ("\u0663", 8, "EINVAL"),  # ARABIC-INDIC DIGIT THREE: D9 A3, no ASCII digit
        ("1\uff12", 8, "EINVAL"),  # FULLWIDTH DIGIT TWO after a number
        ("0-\uff13", 8, "EINVAL"),
        ("0-3:1/2\u00e9", 8, "EINVAL"),  # after the group size 0xC3 starts a region
        ("\u00c0ll", 8, "EINVAL"),  # tolower(0xC3) is no 'a': not "all"
        ("1-" + raw(0xA0) + "2", 8, "EINVAL"),  # a separator where the end should be
        (raw(0xFF), 8, "EINVAL"),
        ("\ud800", 8, "EINVAL"),  # a lone surrogate not from surrogateescape: no crash
        ("0-31," + raw(0xA0) + "\u00e9", 8, "ERANGE"),  # regions fail in order
    ],
)
def test_parselist_non_ascii_errno(text: str, nbits: int, errno: str) -> None:
    """Non-ASCII characters are never digits or separators, whatever Unicode says."""
    with pytest.raises(MaskError) as info:
        parse_cpulist(text, nbits)
    assert info.value.errno == errno


def kernel_list_byte(byte: int) -> frozenset[int] | str:
    """What bitmap_parselist makes of "1", ``byte``, "2" with 256 bits, class by class."""
    if byte in b"\0\n":  # end of the C string; '\n' right after a plain region ends it
        return frozenset({1})
    if byte in b" \t\v\f\r,\xa0-":  # _S in lib/ctype.c, ',' and a range's '-'
        return frozenset({1, 2})
    if byte in b"0123456789":
        return frozenset({int(f"1{chr(byte)}2")})
    return "EINVAL"


def test_parselist_every_byte() -> None:
    """Each of the 256 bytes between two numbers acts as the kernel's ctype classes it."""
    got = {byte: outcome(parse_cpulist, "1" + raw(byte) + "2", 256) for byte in range(256)}
    assert got == {byte: kernel_list_byte(byte) for byte in range(256)}


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        ("1" + raw(0xA0) + "2", 64, bits(1 << 32 | 2)),  # a raw 0xA0 separates chunks
        (raw(0xA0) + "f" + raw(0xA0), 32, bits(0xF)),
        (raw(0xFF) + "12345678", 32, bits(0x12345678)),  # the ninth byte, swallowed
        ("1\n\u00e9", 32, bits(1)),
        ("1\0\u00e9", 32, bits(1)),
    ],
)
def test_parse_hex_non_ascii_accepted(text: str, nbits: int, expected: frozenset[int]) -> None:
    """Raw 0xA0 bytes separate chunks, a raw ninth byte is swallowed, '\\n' ends the mask."""
    assert parse_hexmask(text, nbits) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "errno"),
    [
        # The vector: C3 A9 then 8 digits.  bitmap_get_x32_reverse reads the 8
        # digits, then consumes 0xA9 unchecked; the next chunk starts at 0xC3, and
        # hex_to_bin(0xC3) < 0: EINVAL.
        ("\u00e900000001", 8192, "EINVAL"),
        ("\u00e912345678", 64, "EINVAL"),
        ("\u080012345678", 64, "EINVAL"),  # E0 A0 80: 0x80 swallowed, 0xA0 skipped, 0xE0
        # C2 A0 then 8 digits: 0xA0 ends the chunk, 0xC2 is a second chunk, which nbits 32
        # refuses before reading it (EOVERFLOW) and nbits 64 reads (EINVAL).
        ("\u00a000000001", 32, "EOVERFLOW"),
        ("\u00a000000001", 64, "EINVAL"),
        ("0000\u00a00000", 32, "EOVERFLOW"),
        ("1\u00e9", 64, "EINVAL"),  # 0xA9 is read first, from the right
        ("\uff11", 32, "EINVAL"),  # FULLWIDTH DIGIT ONE
        ("\u0663", 32, "EINVAL"),  # ARABIC-INDIC DIGIT THREE
        ("\ud800", 32, "EINVAL"),  # a lone surrogate not from surrogateescape: no crash
    ],
)
def test_parse_hex_non_ascii_errno(text: str, nbits: int, errno: str) -> None:
    """A non-ASCII character is read byte by byte, never as one swallowed ninth character."""
    with pytest.raises(MaskError) as info:
        parse_hexmask(text, nbits)
    assert info.value.errno == errno


def kernel_hex_byte(byte: int) -> frozenset[int] | str:
    """What bitmap_parse makes of "1", ``byte``, "2" with 64 bits, class by class."""
    if byte in b"\0\n":  # the mask ends there
        return bits(1)
    if byte in b" \t\v\f\r,\xa0":  # _S in lib/ctype.c, and ','
        return bits(1 << 32 | 2)
    if byte in b"0123456789abcdefABCDEF":
        return bits(int(f"1{chr(byte)}2", 16))
    return "EINVAL"


def test_parse_hex_every_byte() -> None:
    """Each of the 256 bytes between two hex digits acts as the kernel's classes it."""
    got = {byte: outcome(parse_hexmask, "1" + raw(byte) + "2", 64) for byte in range(256)}
    assert got == {byte: kernel_hex_byte(byte) for byte in range(256)}


@pytest.mark.parametrize(
    ("call", "text", "message"),
    [
        pytest.param(
            parse_hexmask,
            "\u00e900000001",
            "EINVAL: hex mask chunk '\u00e9': '\u00e9' (UTF-8 c3 a9) is not a hex digit",
            id="hex-ninth-e-acute",
        ),
        pytest.param(
            parse_cpulist,
            "1\u00a02",
            "EINVAL: cpulist region '1\\xa02': expected '-', ',' or whitespace after 1, "
            "found '\\xa0' (UTF-8 c2 a0)",
            id="list-no-break-space",
        ),
        pytest.param(
            parse_cpulist,
            "\u00e9" * 100,
            "EINVAL: cpulist region '" + "\u00e9" * 39 + "\u2026': expected start "
            "(decimal or N), found '\u00e9' (UTF-8 c3 a9)",
            id="list-clipped",
        ),
        pytest.param(
            parse_cpulist,
            raw(0xFF) + raw(0xFE),
            "EINVAL: cpulist region '\\xff\\xfe': expected start (decimal or N), found '\\xff'",
            id="list-raw-bytes",
        ),
        pytest.param(
            parse_hexmask,
            "\u00a0" + "0" * 8,
            "EINVAL: hex mask chunk '\\xa0': '\\xa0' (UTF-8 c2 a0) is not a hex digit",
            id="hex-no-break-space",
        ),
    ],
)
def test_non_ascii_messages(call: Callable[[str], object], text: str, message: str) -> None:
    """Messages quote whole characters, escape the unprintable and name the UTF-8 bytes."""
    with pytest.raises(MaskError) as info:
        call(text)
    assert str(info.value) == message


def test_cli_hex_non_ascii_ninth_character() -> None:
    """`rmpplan mask` refuses the issue's 'é00000001' with EINVAL instead of printing 0."""
    result = CliRunner().invoke(cli, ["mask", "--from", "hex", "--to", "list", "--", "é00000001"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "EINVAL" in result.stderr


# --- messages and programming errors ---


def test_message_names_region_and_reason() -> None:
    """The message quotes the failing region and says why."""
    with pytest.raises(MaskError) as info:
        parse_cpulist("0-3,10-1", 32)
    assert str(info.value) == "EINVAL: cpulist region '10-1': start 10 is greater than end 1"


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (parse_cpulist, "x" * 100_000),
        (parse_cpulist, "0-" + "1" * 100_000),
        (parse_hexmask, "g" * 100_000),
        (parse_hexmask, "1," * 100_000),
    ],
)
def test_message_never_echoes_huge_input(call: Callable[[str], object], text: str) -> None:
    """Huge input is quoted truncated with an ellipsis, never in full."""
    with pytest.raises(MaskError) as info:
        call(text)
    assert len(str(info.value)) < 200
    assert "\u2026" in str(info.value)


def test_message_escapes_control_characters() -> None:
    """A control character in a region is escaped, so the message stays one line."""
    with pytest.raises(MaskError) as info:
        parse_cpulist("1\x1b[2J", 8)
    assert "\\x1b" in str(info.value)
    assert "\x1b" not in str(info.value)


@pytest.mark.parametrize("nbits", [0, -1, NR_CPUS_MAX + 1])
def test_parsers_reject_bad_nbits(nbits: int) -> None:
    """nbits outside 1..NR_CPUS_MAX is a programming error."""
    with pytest.raises(ValueError, match="nbits"):
        parse_cpulist("0", nbits)
    with pytest.raises(ValueError, match="nbits"):
        parse_hexmask("0", nbits)


def test_formatters_reject_negative_ids() -> None:
    """A negative CPU id is a programming error in every formatter."""
    with pytest.raises(ValueError, match="negative"):
        format_cpulist([3, -1])
    with pytest.raises(ValueError, match="negative"):
        format_hexmask([-1], 32)
    with pytest.raises(ValueError, match="negative"):
        hex_nbits([-5])
    with pytest.raises(ValueError, match="nbits"):
        format_hexmask([], -1)


def test_format_hexmask_overflow() -> None:
    """A CPU that does not fit in nbits is EOVERFLOW (the CLI's --nr-cpus too small)."""
    with pytest.raises(MaskError) as info:
        format_hexmask({0, 64}, 64)
    assert info.value.errno == "EOVERFLOW"
    assert "64" in info.value.message


# --- big masks (their speed is measured in bench/, not here) ---


def test_big_masks_round_trip() -> None:
    """8192-bit masks parse and print back to the same bits in both forms."""
    half = parse_cpulist("0-8191:1/2")
    assert half == frozenset(range(0, NR_CPUS_MAX, 2))
    assert parse_cpulist(format_cpulist(half)) == half
    assert parse_hexmask(format_hexmask(half, NR_CPUS_MAX)) == half
    assert format_hexmask(half, NR_CPUS_MAX) == ",".join(["55555555"] * 256)


# --- properties ---

# Fewer examples than Hypothesis's default 100 keeps this file near a second in all.
FAST = settings(max_examples=examples(50))
NBITS = st.one_of(st.integers(1, 200), st.sampled_from([256, 1000, 1024, 4096, 8192]))


@st.composite
def masks(draw: st.DrawFn) -> tuple[int, frozenset[int]]:
    """An nbits and a subset of [0, nbits): scattered CPUs plus a few runs."""
    nbits = draw(NBITS)
    ids = st.integers(0, nbits - 1)
    cpus = set(draw(st.frozensets(ids, max_size=40)))
    for start, length in draw(st.lists(st.tuples(ids, st.integers(1, 300)), max_size=4)):
        cpus.update(range(start, min(start + length, nbits)))
    return nbits, frozenset(cpus)


@FAST
@given(masks())
def test_cpulist_round_trip(mask: tuple[int, frozenset[int]]) -> None:
    """parse_cpulist(format_cpulist(s)) == s, through the fast and the exact path."""
    nbits, cpus = mask
    text = format_cpulist(cpus)
    assert parse_cpulist(text, nbits) == cpus
    # A pattern region that sets nothing forces the character-exact scanner.
    assert parse_cpulist(text + ",0-0:0/1\n", nbits) == cpus


@FAST
@given(
    masks(),
    st.text(" \t,", max_size=4),
    st.text(" \t,", max_size=4),
    st.text("zg!0f, \n\x00\u00e9", max_size=8),
)
def test_hexmask_round_trip(
    mask: tuple[int, frozenset[int]], lead: str, trail: str, after_newline: str
) -> None:
    """parse_hexmask(format_hexmask(s)) == s, with padding and junk after a newline."""
    nbits, cpus = mask
    text = format_hexmask(cpus, nbits)
    assert parse_hexmask(text, nbits) == cpus
    assert parse_hexmask(lead + text + trail + "\n" + after_newline, nbits) == cpus
    assert parse_hexmask(text.upper(), nbits) == cpus
    if nbits % 32 == 0:
        # First chunk has 8 digits, so a 9th non-hex character is swallowed: this sends
        # the whole string through the character-exact scanner.
        assert parse_hexmask("g" + text, nbits) == cpus


@st.composite
def region_lists(draw: st.DrawFn) -> tuple[int, str, frozenset[int]]:
    """A valid cpulist of random regions, with the set a naive reading gives."""
    nbits = draw(NBITS)
    last = nbits - 1

    def num(value: int) -> str:
        if value == last and draw(st.booleans()):
            return "N"
        return "0" * draw(st.integers(0, 2)) + str(value)

    parts: list[str] = []
    expected: set[int] = set()
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["one", "range", "stride", "all"]))
        start = draw(st.integers(0, last))
        if kind == "one":
            parts.append(num(start))
            expected.add(start)
            continue
        if kind == "all":
            start, end, text = 0, last, draw(st.sampled_from(["all", "ALL", "All"]))
        else:
            end = draw(st.integers(start, last))
            text = f"{num(start)}-{num(end)}"
        if kind == "range" or (kind == "all" and draw(st.booleans())):
            parts.append(text)
            expected.update(range(start, end + 1))
            continue
        group = draw(st.integers(1, nbits + 8))
        used = draw(st.integers(0, group))
        parts.append(f"{text}:{num(used)}/{num(group) if group else '0'}")
        for first in range(start, end + 1, group):
            expected.update(range(first, min(first + used, end + 1)))
    seps = st.sampled_from([",", " ", ", ", "\t", ",,", ",\n", " \n\t"])
    text = draw(st.sampled_from(["", " ", ",", "\n"]))
    for i, part in enumerate(parts):
        text += (draw(seps) if i else "") + part
    text += draw(st.sampled_from(["", "\n", " ", ",\n"]))
    return nbits, text, frozenset(expected)


@FAST
@given(region_lists())
def test_parselist_matches_naive_regions(case: tuple[int, str, frozenset[int]]) -> None:
    """Parsing a generated region list equals building the set by hand."""
    nbits, text, expected = case
    assert parse_cpulist(text, nbits) == expected


@FAST
@given(
    st.integers(0, 127),
    st.integers(0, 127),
    st.integers(0, 130),
    st.integers(U32 - 300, U32 - 1),
)
def test_parselist_wraps_like_kernel(a: int, b: int, used: int, group: int) -> None:
    """Huge group sizes wrap start in 32 bits exactly as bitmap_set_region's loop does."""
    start, end = min(a, b), max(a, b)
    used = min(used, group)
    text = f"{start}-{end}:{used}/{group}"
    assert parse_cpulist(text, 128) == kernel_region(start, end, used, group)


# Cheap inputs: more examples than FAST, so rarer token mixes come up too.
WIDE = settings(max_examples=examples(150))
# Tokens rather than single characters, so that "all", "N" and 32-bit edges come up often.
LIST_TOKENS = ["0", "1", "7", "31", "63", "4294967295", "4294967296", "-", ",", ":", "/"]
LIST_TOKENS += ["N", " ", "\n", "\t", "all", "ALL", "al", "x", "\0"]
HEX_TOKENS = ["0", "1", "f", "A", "deadbeef", "12345678", "g", "x", ",", " ", "\n", "\t", "\0"]
NEVER = re.compile(r"(?!)")


def errno_or_bits(parse: Callable[[str, int], frozenset[int]], text: str, nbits: int) -> object:
    """The set ``parse`` returns, or its errno and message."""
    try:
        return parse(text, nbits)
    except MaskError as err:
        return err.errno, err.message


@WIDE
@given(st.lists(st.sampled_from(LIST_TOKENS), max_size=12).map("".join), NBITS)
def test_cpulist_fast_path_agrees_with_byte_scanner(text: str, nbits: int) -> None:
    """On ASCII the regex fast path and the byte scanner give the same bits or error."""
    fast = errno_or_bits(parse_cpulist, text, nbits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cpumask, "_PLAIN_LIST", NEVER)
        assert errno_or_bits(parse_cpulist, text, nbits) == fast


@WIDE
@given(st.lists(st.sampled_from(HEX_TOKENS), max_size=12).map("".join), NBITS)
def test_hexmask_fast_path_agrees_with_byte_scanner(text: str, nbits: int) -> None:
    """On ASCII the regex fast path and the byte scanner give the same bits or error."""
    fast = errno_or_bits(parse_hexmask, text, nbits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cpumask, "_HEX_LIST", NEVER)
        assert errno_or_bits(parse_hexmask, text, nbits) == fast


def kernel_bitmap_parse(data: bytes, nbits: int) -> frozenset[int] | str:
    """A literal port of bitmap_parse and bitmap_get_x32_reverse over bytes."""
    sep, hexdigits = b" \t\n\v\f\r\xa0,", b"0123456789abcdefABCDEF"
    data = data.split(b"\0")[0].split(b"\n")[0]
    end, chunks, value, chunk = len(data) - 1, (nbits + 31) // 32, 0, 0
    while True:
        while end >= 0 and data[end] in sep:
            end -= 1
        if end < 0:
            break
        if chunks == 0:
            return "EOVERFLOW"
        chunks -= 1
        num = 0
        for shift in range(0, 32, 4):
            if data[end] not in hexdigits:
                return "EINVAL"
            num |= int(chr(data[end]), 16) << shift
            end -= 1
            if end < 0 or data[end] in sep:
                break
        else:
            end -= 1
            if data[end + 1] in hexdigits:
                return "EOVERFLOW"
        value |= num << (32 * chunk)
        chunk += 1
    return "EOVERFLOW" if value >> nbits else bits(value)


NON_ASCII = ["\u00e9", "\u00a0", "\u0800", "\uff11", raw(0xA0), raw(0xFF), raw(0x80)]


@WIDE
@given(st.lists(st.sampled_from(HEX_TOKENS + NON_ASCII), max_size=10).map("".join), NBITS)
def test_hexmask_matches_kernel_port_on_any_text(text: str, nbits: int) -> None:
    """parse_hexmask gives the bits or errno of a literal byte-level bitmap_parse."""
    expected = kernel_bitmap_parse(text.encode("utf-8", "surrogateescape"), nbits)
    assert outcome(parse_hexmask, text, nbits) == expected
