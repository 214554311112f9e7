"""Linux cpulist and hex cpumask text, parsed and printed exactly as the kernel does.

``parse_cpulist`` is ``bitmap_parselist`` and ``parse_hexmask`` is ``bitmap_parse``
(lib/bitmap-str.c); ``format_cpulist`` is ``%*pbl`` and ``format_hexmask`` is ``%*pb``
(``bitmap_list_string`` / ``bitmap_string`` in lib/vsprintf.c).  Bitmaps are Python ints
inside; callers see sets of CPU ids.  Where the kernel has a quirk the parsers keep it,
because the point of this module is to predict what the kernel would accept.

The kernel reads bytes, classed by its own Latin-1 ctype (lib/ctype.c), so the exact
scanners read the text's UTF-8 bytes the same way: byte 0xA0 is whitespace there, no byte
>= 0x80 is a digit or hex digit, and the hex mask's unchecked ninth character is one byte,
never a whole non-ASCII character.  A surrogate-escaped character (how Python decodes an
undecodable byte in argv or a file) stands for that raw byte.  Well-formed ASCII takes
regex fast paths instead.
"""

from __future__ import annotations

import bisect
import re
from itertools import chain, compress
from typing import TYPE_CHECKING, NoReturn

from rmpplan.errors import MaskError
from rmpplan.escaping import quote
from rmpplan.terms import NR_CPUS_MAX

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "NR_CPUS_MAX",
    "format_cpulist",
    "format_hexmask",
    "hex_nbits",
    "parse_cpulist",
    "parse_hexmask",
]


_U32_MAX = 0xFFFFFFFF
# Byte classes of the kernel's _ctype[] (lib/ctype.c): isspace() is the _S flag, which
# the Latin-1 no-break space 0xA0 has too.  Digits (_parse_integer) and hex digits
# (hex_to_bin) are ASCII only.  __end_of_region() adds ','.
_SPACE = frozenset(b"\t\n\v\f\r \xa0")
_SEP = _SPACE | frozenset(b",")
_DIGITS = re.compile(rb"[0-9]+")
_HEX = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}
_NEWLINE, _DASH, _COLON, _SLASH, _N = b"\n-:/N"
_ASCII_SPACE = "".join(filter(str.isspace, map(chr, range(128))))  # what str.strip() strips
# Fast paths for well-formed ASCII input (the classes are ASCII, so any other character
# fails them); everything else takes the byte-exact scanners.
_PLAIN_LIST = re.compile(r"[ \t\v\f\r,]*(?:[0-9]{1,10}(?:-[0-9]{1,10})?(?:[ \t\v\f\r,]+|\Z))*")
_PLAIN_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")
_HEX_LIST = re.compile(r"[ \t\v\f\r,]*(?:[0-9a-fA-F]{1,8}(?:[ \t\v\f\r,]+|\Z))*")
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_BIT_VALUE = bytes.maketrans(b"01", b"\x00\x01")


# --- shared helpers -------------------------------------------------------------------


def _kernel_bytes(text: str) -> bytes:
    """The bytes the kernel would read for ``text``: UTF-8, with a surrogate-escaped byte
    (how Python decodes argv and undecodable files) as that raw byte."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Any other lone surrogate never came from bytes: encode it as WTF-8, not fail.
        return b"".join(
            c.encode("utf-8", "surrogateescape" if "\udc80" <= c <= "\udcff" else "surrogatepass")
            for c in text
        )


def _char_span(data: bytes, pos: int) -> tuple[int, int]:
    """The UTF-8 character that byte ``pos`` belongs to, or just that byte when it is
    ASCII or part of no valid character."""
    if data[pos] < 0x80:
        return pos, pos + 1
    for start in range(pos, max(pos - 3, 0) - 1, -1):
        for end in range(max(start + 2, pos + 1), min(start + 4, len(data)) + 1):
            try:
                data[start:end].decode("utf-8")
            except UnicodeDecodeError:
                continue
            return start, end
    return pos, pos + 1


def _quote(data: bytes, start: int, end: int) -> str:
    """``data[start:end]`` widened to whole characters, for a one-line message."""
    if start < end:
        start = _char_span(data, start)[0]
        end = _char_span(data, end - 1)[1]
    return quote(data[start:end].decode("utf-8", "backslashreplace"))


def _describe(data: bytes, pos: int) -> str:
    """Name the byte at ``pos`` for an error message: its character, and for a non-ASCII
    character its UTF-8 bytes, since the kernel judges each byte on its own."""
    if pos >= len(data):
        return "end of input"
    if data[pos] == _NEWLINE:
        return "a newline"
    start, end = _char_span(data, pos)
    if end - start == 1:
        return f"'{_quote(data, start, end)}'"
    return f"'{_quote(data, start, end)}' (UTF-8 {data[start:end].hex(' ')})"


def _c_string(text: str) -> str:
    """The kernel reads a C string: nothing after a NUL can matter."""
    nul = text.find("\0")
    return text if nul < 0 else text[:nul]


def _check_nbits(nbits: int) -> None:
    if not 1 <= nbits <= NR_CPUS_MAX:
        raise ValueError(f"nbits must be in 1..{NR_CPUS_MAX}, not {nbits}")


def _bits_to_set(bits: int) -> frozenset[int]:
    if not bits:
        return frozenset()
    flags = bin(bits)[:1:-1].encode("ascii").translate(_BIT_VALUE)  # bit 0 first
    return frozenset(compress(range(len(flags)), flags))


def _sorted_ids(cpus: Iterable[int]) -> list[int]:
    ids = sorted(set(cpus))
    if ids and ids[0] < 0:
        raise ValueError(f"CPU id {ids[0]} is negative")
    return ids


# --- cpulist (bitmap_parselist) -------------------------------------------------------


def _stride_fill(first: int, stride: int, count: int, used: int, end: int) -> int:
    """Bits ``[first + k*stride, first + k*stride + used)`` for each ``k < count``,
    clipped at ``end``."""
    if used == 0:
        return 0
    last = first + (count - 1) * stride
    if count == 1 or used >= stride:  # the groups touch or overlap: one run
        top = min(last + used - 1, end)
        return ((1 << (top - first + 1)) - 1) << first
    # ``used`` ones every ``stride`` bits in one multiplication (no carries: used < stride).
    repeat = ((1 << (count * stride)) - 1) // ((1 << stride) - 1)
    pattern = (((1 << used) - 1) * repeat) << first
    return pattern & ((1 << (end + 1)) - 1)


def _region_bits(start: int, end: int, used: int, group: int) -> int:
    """What ``bitmap_set_region`` sets for a checked region (start <= end < nbits,
    group > 0, used <= group), in closed form so no input can make it slow."""
    if start + group > _U32_MAX:
        # The kernel's ``start += group_len`` is unsigned int and wraps: it goes back by
        # ``2**32 - group`` each step until below that, so "1-31:1/4294967295" is {0, 1}.
        back = _U32_MAX + 1 - group
        return _stride_fill(start % back, back, start // back + 1, used, end)
    return _stride_fill(start, group, (end - start) // group + 1, used, end)


class _Cpulist:
    """One ``bitmap_parselist`` run; ``pos`` indexes ``data`` like the kernel's ``str``."""

    __slots__ = ("data", "done", "lastbit", "n", "nbits", "pos", "region_start")

    def __init__(self, data: bytes, nbits: int) -> None:
        self.data = data
        self.n = len(data)
        self.nbits = nbits
        self.lastbit = nbits - 1
        self.pos = 0
        self.region_start = 0
        self.done = False

    def fail(self, errno: str, why: str) -> NoReturn:
        data, stop = self.data, self.region_start
        while stop < self.n and data[stop] not in _SEP:
            # Step over whole characters: U+00A0 is C2 A0, and the quote should show it.
            stop = _char_span(data, stop)[1]
        region = _quote(data, self.region_start, stop)
        raise MaskError(errno, f"cpulist region '{region}': {why}")

    def end_of_region(self) -> bool:
        return self.pos >= self.n or self.data[self.pos] in _SEP

    def end_of_str(self) -> bool:
        return self.pos >= self.n or self.data[self.pos] == _NEWLINE

    def number(self, what: str) -> int:
        """``bitmap_getnum``: 'N' or decimal digits that fit in 32 bits."""
        data, pos = self.data, self.pos
        if pos < self.n and data[pos] == _N:
            self.pos = pos + 1
            return self.lastbit
        match = _DIGITS.match(data, pos)
        if match is None:
            self.fail("EINVAL", f"expected {what} (decimal or N), found {_describe(data, pos)}")
        digits = match.group()
        significant = digits.lstrip(b"0") or b"0"
        # Length first: int() of a huge digit string is slow and may be refused.
        if len(significant) > 10 or int(significant) > _U32_MAX:
            self.fail("EOVERFLOW", f"{what} {quote(digits.decode())} is greater than {_U32_MAX}")
        self.pos = match.end()
        return int(significant)

    def parse(self) -> int:
        bits = 0
        while not self.done:
            # bitmap_find_region: ',' and all whitespace ('\n' and 0xA0 too) lead a region.
            while self.pos < self.n and self.data[self.pos] in _SEP:
                self.pos += 1
            if self.pos >= self.n:
                break
            self.region_start = self.pos
            bits |= self.region()
        return bits

    def region(self) -> int:
        """Parse, check and expand one region; sets ``done`` when the list ends there."""
        data = self.data
        # strncasecmp(str, "all", 3): the kernel's tolower() maps no byte >= 0x80 into ASCII.
        if data[self.pos : self.pos + 3].lower() == b"all":
            start, end = 0, self.lastbit
            self.pos += 3
        else:
            start = self.number("start")
            if self.end_of_region():
                return self.plain(start, start)
            if data[self.pos] != _DASH:
                if data[self.pos] == _COLON:
                    self.fail("EINVAL", "a single number takes no ':used/group' pattern")
                self.fail(
                    "EINVAL",
                    f"expected '-', ',' or whitespace after {start}, "
                    f"found {_describe(data, self.pos)}",
                )
            self.pos += 1
            end = self.number("end")
        if self.end_of_region():
            return self.plain(start, end)
        if data[self.pos] != _COLON:
            self.fail(
                "EINVAL",
                f"expected ':', ',' or whitespace after "
                f"'{_quote(data, self.region_start, self.pos)}', "
                f"found {_describe(data, self.pos)}",
            )
        self.pos += 1
        used = self.number("used-bit count")
        if self.pos >= self.n or data[self.pos] != _SLASH:
            self.fail(
                "EINVAL",
                f"expected '/' after used-bit count {used}, found {_describe(data, self.pos)}",
            )
        self.pos += 1
        group = self.number("group size")
        # The kernel does not look at what follows the group size: "0-3:1/2N" is two
        # regions and "0-3:1/2\n5" goes on to 5.
        return self.checked(start, end, used, group, implied=False)

    def plain(self, start: int, end: int) -> int:
        # A region without a pattern is one group of end+1 bits, in unsigned int, so
        # end 4294967295 wraps the group size to 0 and the kernel says EINVAL, not ERANGE.
        group = (end + 1) & _U32_MAX
        bits = self.checked(start, end, group, group, implied=True)
        # Directly after a plain region '\n' ends the list ("1\n5" is {1}).
        self.done = self.end_of_str()
        return bits

    def checked(self, start: int, end: int, used: int, group: int, *, implied: bool) -> int:
        """``bitmap_check_region`` (every EINVAL before ERANGE), then the region's bits."""
        if start > end:
            self.fail("EINVAL", f"start {start} is greater than end {end}")
        if group == 0:
            if implied:
                self.fail("EINVAL", f"end {end} wraps the kernel's 32-bit group size to 0")
            self.fail("EINVAL", "group size is 0")
        if used > group:
            self.fail("EINVAL", f"used-bit count {used} is greater than group size {group}")
        if end >= self.nbits:
            self.fail(
                "ERANGE",
                f"bit {end} is past the last bit {self.lastbit} (nbits {self.nbits})",
            )
        return _region_bits(start, end, used, group)


def parse_cpulist(text: str, nbits: int = NR_CPUS_MAX) -> frozenset[int]:
    """bitmap_parselist: the kernel's cpulist grammar (a-b:u/g strides, N, all, sep = ',' or
    whitespace, '\\n' ends the list directly after a plain region, else is a separator)."""
    _check_nbits(nbits)
    text = _c_string(text)
    # Fast path for what sysfs prints: only "a" and "a-b" regions in ASCII, every one
    # valid.  A final '\n' is harmless to the kernel wherever it stands.  Anything else,
    # every error included, goes through the exact scanner.
    body = text[:-1] if text.endswith("\n") else text
    if _PLAIN_LIST.fullmatch(body):
        ranges = [(int(a), int(b or a)) for a, b in _PLAIN_ITEM.findall(body)]
        if all(a <= b < nbits for a, b in ranges):
            return frozenset(chain.from_iterable(range(a, b + 1) for a, b in ranges))
    return _bits_to_set(_Cpulist(_kernel_bytes(text), nbits).parse())


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive ids, as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    i, n = 0, len(ids)
    while i < n:
        j = i
        while j + 1 < n and ids[j + 1] == ids[j] + 1:
            j += 1
        runs.append((ids[i], ids[j]))
        i = j + 1
    return runs


def _run_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def format_cpulist(cpus: Iterable[int]) -> str:
    """%*pbl: ascending, runs of two or more as a-b, comma separated, no spaces; empty set -> ''."""
    return ",".join(_run_text(first, last) for first, last in _runs(_sorted_ids(cpus)))


class CpulistMinus:
    """%*pbl of ``base - removed`` for many small ``removed`` sets.

    Printing every leader's followers (the mask less one core) would walk the
    whole mask per leader; this keeps the mask's runs as text and rewrites
    only the runs a removal touches.
    """

    def __init__(self, base: Iterable[int]) -> None:
        self._runs = _runs(_sorted_ids(base))
        self._firsts = [first for first, _ in self._runs]
        self._pieces = [_run_text(first, last) for first, last in self._runs]
        self._whole = ",".join(self._pieces)
        # A removal shared by many calls (the mask CPUs of one core, the same for
        # each of its threads) is split into runs once: O(CPUs) in all.
        self._split: dict[frozenset[int], list[tuple[int, list[str]]]] = {}

    def __call__(self, removed: Iterable[int]) -> str:
        if isinstance(removed, frozenset) and len(removed) > 1:
            edits = self._split.get(removed)
            if edits is None:
                edits = self._split[removed] = self._edits(removed)
        else:
            edits = self._edits(removed)
        if not edits:
            return self._whole
        out: list[str] = []
        done = 0
        for index, kept in edits:
            out += self._pieces[done:index]
            out += kept
            done = index + 1
        out += self._pieces[done:]
        return ",".join(out)

    def _edits(self, removed: Iterable[int]) -> list[tuple[int, list[str]]]:
        """For each run ``removed`` touches, in order: its index and what is left of it."""
        by_run: dict[int, list[int]] = {}
        for cpu in removed:
            index = bisect.bisect_right(self._firsts, cpu) - 1
            if index >= 0 and cpu <= self._runs[index][1]:
                by_run.setdefault(index, []).append(cpu)
        edits = []
        for index in sorted(by_run):
            first, last = self._runs[index]
            kept = []
            for cpu in sorted(by_run[index]):
                if first < cpu:
                    kept.append(_run_text(first, cpu - 1))
                first = cpu + 1
            if first <= last:
                kept.append(_run_text(first, last))
            edits.append((index, kept))
        return edits


# --- hex mask (bitmap_parse) ----------------------------------------------------------


def _chunk_text(data: bytes, right: int) -> str:
    """The separator-delimited chunk of ``data`` that ends at index ``right``."""
    left = right
    while left > 0 and data[left - 1] not in _SEP:
        left -= 1
    return _quote(data, left, right + 1)


def _hex_chunk(data: bytes, end: int) -> tuple[int, int]:
    """``bitmap_get_x32_reverse``: up to 8 hex digits read leftwards from ``end``.
    Returns the value and the index left of what was consumed."""
    right = end
    value = 0
    for shift in range(0, 32, 4):
        digit = _HEX.get(data[end], -1)
        if digit < 0:
            raise MaskError(
                "EINVAL",
                f"hex mask chunk '{_chunk_text(data, right)}': "
                f"{_describe(data, end)} is not a hex digit",
            )
        value |= digit << shift
        end -= 1
        if end < 0 or data[end] in _SEP:
            return value, end
    if data[end] in _HEX:
        raise MaskError(
            "EOVERFLOW",
            f"hex mask chunk '{_chunk_text(data, right)}' has more than 8 hex digits (32 bits)",
        )
    # bitmap_get_x32_reverse consumes a non-hex ninth byte without complaint ("x12345678"
    # is accepted as 0x12345678); kept so that we accept exactly what the kernel does.
    # One byte only: of "é12345678" it takes 0xA9 and then fails on 0xC3.
    return value, end - 1


def _too_many_chunks(text: str, max_chunks: int, nbits: int) -> MaskError:
    # Only ASCII spaces are stripped: a U+00A0 may be what made the extra chunk.
    return MaskError(
        "EOVERFLOW",
        f"hex mask '{quote(text.strip(_ASCII_SPACE))}' has more 32-bit chunks than the "
        f"{max_chunks} that nbits {nbits} allows",
    )


def parse_hexmask(text: str, nbits: int = NR_CPUS_MAX) -> frozenset[int]:
    """bitmap_parse: 32-bit hex chunks read from the right, empty groups skipped, text after
    '\\n' ignored; EOVERFLOW for too many chunks, a chunk over 8 digits or a bit >= nbits,
    EINVAL for a character that is not a hex digit."""
    _check_nbits(nbits)
    text = _c_string(text)
    newline = text.find("\n")
    if newline >= 0:
        text = text[:newline]
    max_chunks = (nbits + 31) // 32
    if _HEX_LIST.fullmatch(text):  # only 1-8 digit ASCII chunks: no quirk can apply
        chunks = _HEX_RUN.findall(text)
        if len(chunks) > max_chunks:
            raise _too_many_chunks(text, max_chunks, nbits)
        bits = int("".join(c.rjust(8, "0") for c in chunks) or "0", 16)
    else:
        data = _kernel_bytes(text)
        bits = 0
        chunk = 0
        end = len(data) - 1
        while True:
            while end >= 0 and data[end] in _SEP:
                end -= 1
            if end < 0:
                break
            # Counted before the chunk is read, as the kernel does.
            if chunk == max_chunks:
                shown = data.decode("utf-8", "backslashreplace")
                raise _too_many_chunks(shown, max_chunks, nbits)
            value, end = _hex_chunk(data, end)
            bits |= value << (32 * chunk)
            chunk += 1
    if bits >> nbits:
        raise MaskError(
            "EOVERFLOW",
            f"hex mask sets bit {bits.bit_length() - 1}, past the last bit {nbits - 1} "
            f"(nbits {nbits})",
        )
    return _bits_to_set(bits)


def format_hexmask(cpus: Iterable[int], nbits: int) -> str:
    """%*pb: most significant chunk first, lowercase, 8 digits per 32-bit chunk except the
    first whose width is ceil((nbits % 32 or 32)/4)."""
    if nbits < 0:
        raise ValueError(f"nbits must not be negative, not {nbits}")
    ids = _sorted_ids(cpus)
    if ids and ids[-1] >= nbits:
        raise MaskError(
            "EOVERFLOW", f"CPU {ids[-1]} needs a mask of at least {ids[-1] + 1} bits, not {nbits}"
        )
    if nbits == 0:
        return ""  # the kernel prints no chunk at all
    top = ids[-1] if ids else -1
    # Build the binary digits in one buffer: far cheaper than OR-ing in 1 << cpu per CPU.
    digits = bytearray(b"0") * (top + 2)
    for cpu in ids:
        digits[top + 1 - cpu] = 0x31  # '1'
    bits = int(digits, 2)
    first_width = ((nbits % 32 or 32) + 3) // 4
    width = first_width + 8 * ((nbits + 31) // 32 - 1)
    text = format(bits, f"0{width}x")
    chunks = [text[:first_width]]
    chunks.extend(text[i : i + 8] for i in range(first_width, width, 8))
    return ",".join(chunks)


def hex_nbits(cpus: Iterable[int]) -> int:
    """Width to print a mask when no nbits is given: whole 32-bit words, as many as the
    highest set bit needs (32 for the empty set)."""
    ids = _sorted_ids(cpus)
    top = ids[-1] if ids else 0
    return (top // 32 + 1) * 32
