"""A saved kernel log checked against what rmpplan predicts for the machine.

The log is the only thing a running machine tells about RMPOPT (brief, v10):
SNP init refusing the CPUs, the 2 TB cap, each pass's address range, and a
pass skipped for want of memory. :func:`read_log` finds those lines in
``dmesg`` output (with or without timestamps), syslog-style journal text, or
a journal export (``-o export`` or ``-o json``); :func:`check_log` compares
them with the topology and, when given, the memory window.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rmpplan.checks import Finding
from rmpplan.cpumask import format_cpulist, parse_cpulist
from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.naming import named
from rmpplan.terms import Check

if TYPE_CHECKING:
    from pathlib import Path

    from rmpplan.checks import Verdict
    from rmpplan.memory import Window
    from rmpplan.plain import PlainValue
    from rmpplan.topology.machine import Machine

# A kernel line is at most 1024 bytes (printk), so a mask printed in one is shorter.
_LIST = r"[0-9,\-]{0,1024}"
_REFUSED = re.compile(
    rf"SNP init failed: not all CPUs online\. \(({_LIST}) online <-> ({_LIST}) present masks\)"
)
# The wording of "x86/sev: Do not initialize SNP if missing CPUs" before it landed.
_SKIPPING = re.compile(rf"Skipping SNP initialization\. CPUs online ({_LIST}), present ({_LIST})")
_CAP = re.compile(
    r"RMPOPT coverage limited to 2TB; memory above (0x[0-9a-fA-F]{1,16}) not optimized"
)
_PASS = re.compile(
    r"Attempt RMP optimizations on physical address range @1GB alignment "
    r"\[(0x[0-9a-fA-F]{1,16}) - (0x[0-9a-fA-F]{1,16})\]"
)
_SKIPPED = re.compile(r"RMP optimization pass skipped: cpumask allocation failed")
# Every line above contains one of these; only the lines that do are looked at.  Each
# is found with bytes.find (several GB/s), not one regex (about 150 MB/s).
_ANCHORS = (
    b"SNP init failed",
    b"Skipping SNP initialization",
    b"RMPOPT coverage limited",
    b"Attempt RMP optimizations",
    b"RMP optimization pass skipped",
)
_QUOTE = 160
MAX_LOG_LINES = 1 << 16
"""Lines about SNP init and RMPOPT in one log: a few a boot, even with every CPU hotplugged."""
MAX_JSON_LINE = 64 << 10
"""A journal JSON entry is a few KB (a kernel message is at most 1 KB); a longer line is
read as plain text, not parsed."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line of the log that rmpplan understands: where it is and what it says."""

    number: int
    text: str

    def cite(self) -> str:
        return f"line {self.number}: '{quote(self.text, _QUOTE)}'"


@dataclass(frozen=True, slots=True)
class Refusal:
    """``snp_prepare()`` refused SNP init; the masks it printed."""

    line: LogLine
    online: frozenset[int]
    present: frozenset[int]


@dataclass(frozen=True, slots=True)
class KernelLog:
    """The lines about SNP init and RMPOPT, in log order."""

    refusals: tuple[Refusal, ...] = ()
    caps: tuple[tuple[LogLine, int], ...] = ()
    passes: tuple[tuple[LogLine, int, int], ...] = ()
    skipped: tuple[LogLine, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.refusals or self.caps or self.passes or self.skipped)


def read_log(path: Path) -> KernelLog:
    """The lines about SNP init and RMPOPT in a saved log; bad input names the file."""
    from rmpplan.files import read_file_bytes

    return parse_log(read_file_bytes(path))


def parse_log(text: str | bytes) -> KernelLog:
    """:func:`read_log` on text (or the bytes of a file) already read.

    Lines end at ``\n`` (a ``\r`` before it is dropped).  The log stays bytes: only the
    lines holding one of the messages are cut out and decoded, so a huge log costs one
    scan and no copy.  A log may hold any bytes (a crashed line, a binary journal
    field); a byte that is not UTF-8 reads as U+FFFD.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    refusals: list[Refusal] = []
    caps: list[tuple[LogLine, int]] = []
    passes: list[tuple[LogLine, int, int]] = []
    skipped: list[LogLine] = []
    number = 1
    counted = 0  # newlines before this offset are in `number`
    pos = 0
    seen = 0
    ahead = [raw.find(anchor) for anchor in _ANCHORS]  # each anchor's next offset, or -1
    while (hit := _next_hit(raw, ahead, pos)) >= 0:
        seen += 1
        if seen > MAX_LOG_LINES:
            raise InputError(
                f"more than {MAX_LOG_LINES} lines about SNP init and RMPOPT; no boot prints "
                "that many"
            )
        start = raw.rfind(b"\n", 0, hit) + 1
        end = raw.find(b"\n", hit)
        end = len(raw) if end < 0 else end
        number += raw.count(b"\n", counted, start)
        counted = start
        pos = end + 1
        line = _message(raw[start:end].removesuffix(b"\r").decode("utf-8", "replace"))
        if (match := _REFUSED.search(line) or _SKIPPING.search(line)) is not None:
            here = LogLine(number, match.group(0))
            try:
                online, present = (parse_cpulist(group) for group in match.groups())
            except InputError as err:
                raise err.within(f"line {number}: the masks of {here.cite()}") from None
            refusals.append(Refusal(here, online, present))
        elif (match := _CAP.search(line)) is not None:
            caps.append((LogLine(number, match.group(0)), int(match.group(1), 16)))
        elif (match := _PASS.search(line)) is not None:
            start_address, end_address = (int(group, 16) for group in match.groups())
            passes.append((LogLine(number, match.group(0)), start_address, end_address))
        elif (match := _SKIPPED.search(line)) is not None:
            skipped.append(LogLine(number, match.group(0)))
    return KernelLog(tuple(refusals), tuple(caps), tuple(passes), tuple(skipped))


def _next_hit(raw: bytes, ahead: list[int], pos: int) -> int:
    """The first offset at or after ``pos`` where an anchor starts, or -1; ``ahead`` keeps
    each anchor's next offset, searched again only once ``pos`` has passed it."""
    for index, found in enumerate(ahead):
        if 0 <= found < pos:
            ahead[index] = raw.find(_ANCHORS[index], pos)
    live = [found for found in ahead if found >= 0]
    return min(live) if live else -1


def _message(line: str) -> str:
    """The message of a ``journalctl -o json`` line; any other line as it is."""
    if line.startswith("{") and '"MESSAGE"' in line and len(line) <= MAX_JSON_LINE:
        try:
            entry: PlainValue = json.loads(line)
        except (ValueError, RecursionError):
            return line
        message = entry.get("MESSAGE") if isinstance(entry, dict) else None
        return message if isinstance(message, str) else line
    return line


@dataclass(slots=True)
class LogVerdict:
    """What the log contradicts (findings) and what it confirms or leaves open (notes)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_log(log: KernelLog, machine: Machine, window: Window | None) -> LogVerdict:
    """Compare ``log`` with the prediction for ``machine`` (and ``window``, when known)."""
    verdict = LogVerdict()
    if log.empty:
        verdict.notes.append(
            "the kernel log has none of the lines SNP init and RMPOPT print "
            "(SNP init refused, the 2 TB cap, a pass's range, a skipped pass)"
        )
        return verdict
    _snp_init(log, machine, verdict)
    _window(log, window, verdict)
    for line in log.skipped:
        verdict.notes.append(f"dmesg {line.cite()}: that pass optimized nothing")
    return verdict


def _snp_init(log: KernelLog, machine: Machine, verdict: LogVerdict) -> None:
    predicted_refusal = machine.online != machine.present
    for refusal in log.refusals:
        cite = refusal.line.cite()
        if not predicted_refusal:
            verdict.findings.append(
                Finding(
                    Check.DMESG_SNP_INIT,
                    f"the log says SNP init was refused ({cite}), but every present CPU "
                    f"of {machine.name} is online",
                    (),
                )
            )
            continue
        wrong = [
            f"{what} {format_cpulist(logged) or '(none)'} in the log, "
            f"{format_cpulist(ours) or '(none)'} in the topology"
            for what, logged, ours in (
                ("online", refusal.online, machine.online),
                ("present", refusal.present, machine.present),
            )
            if logged != ours
        ]
        if wrong:
            verdict.findings.append(
                Finding(
                    Check.DMESG_MASKS,
                    f"the masks of {cite} are not the topology's: " + "; ".join(wrong),
                    tuple(
                        sorted(
                            (refusal.online ^ machine.online) | (refusal.present ^ machine.present)
                        )
                    ),
                )
            )
        else:
            verdict.notes.append(f"dmesg {cite}: SNP init refused, as predicted, with these masks")
    if predicted_refusal and not log.refusals:
        if log.passes:
            line = log.passes[0][0]
            offline = format_cpulist(machine.present - machine.online)
            verdict.findings.append(
                Finding(
                    Check.DMESG_SNP_INIT,
                    f"the log shows an RMPOPT pass ({line.cite()}), so SNP init succeeded, "
                    f"but present CPU(s) {offline} of {machine.name} are offline and "
                    "snp_prepare() would refuse",
                    tuple(sorted(machine.present - machine.online)),
                )
            )
        else:
            verdict.notes.append(
                "the log does not say whether SNP init ran; the topology predicts a refusal"
            )
    elif not predicted_refusal and log.passes and not log.refusals:
        verdict.notes.append(
            f"dmesg {log.passes[0][0].cite()}: SNP init succeeded, as predicted (online == present)"
        )


def _window(log: KernelLog, window: Window | None, verdict: LogVerdict) -> None:
    if window is None:
        if log.passes or log.caps:
            verdict.notes.append(
                "the logged RMPOPT window is not compared: "
                f"give {named('memory')} or {named('memory_from')}"
            )
        return
    for line, start, end in log.passes:
        if (start, end) != (window.start, window.end):
            verdict.findings.append(
                Finding(
                    Check.DMESG_WINDOW,
                    f"the logged range ({line.cite()}) is not the computed window "
                    f"[0x{window.start:016x} - 0x{window.end:016x}]",
                    (),
                )
            )
    if log.passes and all((s, e) == (window.start, window.end) for _, s, e in log.passes):
        verdict.notes.append(
            f"dmesg {log.passes[0][0].cite()}: the window matches the computed one"
            + (f" ({len(log.passes)} passes)" if len(log.passes) > 1 else "")
        )
    for line, above in log.caps:
        if not window.capped:
            verdict.findings.append(
                Finding(
                    Check.DMESG_CAP,
                    f"the log says coverage was capped ({line.cite()}), but the RAM given "
                    "spans at most 2 TB",
                    (),
                )
            )
        elif above == window.uncovered_from:
            verdict.notes.append(f"dmesg {line.cite()}: the 2 TB cap is where predicted")
        else:
            verdict.findings.append(
                Finding(
                    Check.DMESG_CAP,
                    f"the log caps coverage at 0x{above:x} ({line.cite()}), but the computed "
                    f"cap is at 0x{window.uncovered_from or 0:x}",
                    (),
                )
            )
    if window.capped and log.passes and not log.caps:
        verdict.findings.append(
            Finding(
                Check.DMESG_CAP,
                "the RAM given spans more than 2 TB, so the kernel would log 'RMPOPT coverage "
                f"limited to 2TB; memory above 0x{window.uncovered_from or 0:x} not optimized', "
                f"but the log has passes ({log.passes[0][0].cite()}) and no such line",
                (),
            )
        )


def with_log(verdict: Verdict, log: KernelLog, machine: Machine, window: Window | None) -> Verdict:
    """``verdict`` with what the log contradicts and confirms added."""
    from dataclasses import replace

    said = check_log(log, machine, window)
    return replace(
        verdict,
        findings=(*verdict.findings, *said.findings),
        notes=(*verdict.notes, *said.notes),
        log_checked=True,
    )
