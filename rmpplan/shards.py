"""The shards of a sharded ``verify`` run, read back for ``rmpplan summary``.

A shard is what ``verify --format jsonl`` prints: one result a line, then one
trailer record (``"kind": "trailer"``) holding the run's summary, the SHA-256 of
every byte before it, the configuration file and the settings it checked under
(docs/json.md). Nothing a shard says is believed: each result's verdict is
computed again from its findings and expectations, and a shard is refused when
it has no trailer (a job killed midway leaves whole lines that look like a
complete run), when the lines before the trailer are not the ones it counted,
or when anything follows it.

A run may also be cut by ``verify --shard K/N`` (:class:`ShardSpec`): each
shard then checks the inputs whose path falls to it, and its trailer records
which shard it is and what the whole run's list of inputs was, so that
``summary`` refuses a missing or repeated shard and shards of other lists.

Records are split on ``\\n`` only: a name may hold U+2028, U+2029 or U+0085,
which :meth:`str.splitlines` would also split on. Every record is measured
before it is decoded or parsed, and a shard holds a bounded number of them, so
a shard costs at most about what the largest real one does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.files import size_text
from rmpplan.fleet import Done, Job
from rmpplan.tally import Summary, Tally, Totals, summarize
from rmpplan.terms import Check

if TYPE_CHECKING:
    from typing import BinaryIO

    from rmpplan.cpuspec import CpuSpec
    from rmpplan.fleet import Settings

TRAILER = "trailer"
"""The ``kind`` of the last record of ``verify --format jsonl``; a result has no ``kind``."""
STDIN = "-"
"""The shard name that reads standard input."""
STDIN_LABEL = "<stdin>"
MAX_RECORD_BYTES = 1 << 20
"""The longest record. An 8192-CPU machine, half of it offline, failing four checks
under hotplug flags makes a result of about 60 KiB; thirteen findings each listing
all 8192 CPUs, more than any machine fails, would make one of about 620 KiB."""
MAX_SHARD_RECORDS = 1 << 14
"""Results in one shard: a longer list is cut into more shards (64 shards of a
million machines hold 15,625 each)."""
MAX_SHARD_BYTES = 16 << 20
"""The largest shard: 1 KiB a result at its most numerous, where results average
400-600 bytes; reading it takes about as long as planning a large machine."""
SETTINGS = ("kernel", "rule", "strategy", "offline_after_setup", "online_after_setup")
"""What a trailer records of the flags and configuration that change verdicts."""
SUMMARY_KEYS = ("files", "ok", "failed", "bad_input", "shapes")
SHARD_KEYS = ("index", "count", "inputs", "inputs_sha256")
"""The keys of a trailer's ``shard`` (docs/json.md)."""
MAX_SHARDS = 1 << 16
"""The most shards a run is cut into (``--shard K/N``): 64 shards hold a million inputs."""
RESULT_KEYS = frozenset(
    (
        "path",
        "ok",
        "name",
        "shape",
        "kernel",
        "rule",
        "strategy",
        "findings",
        "notes",
        "stale_expectations",
        "error",
    )
)
"""The keys of a result line (docs/json.md, rmpplan.render.json): any other is refused."""
FINDING_KEYS = frozenset(("check", "message", "cpus", "expected"))
_NULLABLE = ("name", "kernel", "rule")  # rule: null under v2, which builds no mask
_INT = {int}
_SHA256 = re.compile("[0-9a-f]{64}")
_NOT_A_RESULT = "not a result of `rmpplan verify --format jsonl`"


def run_settings(settings: Settings) -> dict[str, str | None]:
    """The trailer's ``settings``: the modelled kernel, rule and strategy and the
    hotplug flags (as cpulists), the same however they were spelled."""
    from rmpplan.cpumask import format_cpulist, parse_cpulist

    model = settings.model

    def cpus(spec: CpuSpec | None) -> str | None:
        return None if spec is None else format_cpulist(parse_cpulist(spec.text))

    return {
        "kernel": None if model.kernel is None else str(model.kernel),
        "rule": str(model.rule),
        "strategy": str(model.strategy),
        "offline_after_setup": cpus(settings.offline_after_setup),
        "online_after_setup": cpus(settings.online_after_setup),
    }


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """``--shard K/N``: the K-th of N shards, K counted from 1 (as CI matrices and
    ``split`` number them; a Kubernetes indexed Job's 0-based index is K - 1).

    An input belongs to shard ``SHA-256(path) mod N``, the path as ``verify``
    names it. A hash of the path alone, rather than a range of the sorted list, puts
    each input in one shard whatever the other inputs are: shards that list the
    fleet at different moments still never share an input, and no input falls
    between two shards because a file appeared. Each shard gets N-th of the inputs
    up to a few standard deviations (sqrt(inputs / N)), and the same paths give the
    same shards on every machine, Python version and hash seed.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """``K/N``, with 1 <= K <= N <= :data:`MAX_SHARDS`."""
        index, slash, count = text.strip().partition("/")
        if not slash or not index.isdigit() or not count.isdigit():
            raise InputError(
                f"'{quote(text, 40)}' is not K/N: give the shard's number K (from 1) and the "
                "number of shards N, such as 1/4"
            )
        if len(count) > 6 or not 1 <= int(count) <= MAX_SHARDS:
            raise InputError(f"the number of shards N must be 1 to {MAX_SHARDS}")
        if len(index) > 6 or not 1 <= int(index) <= int(count):
            raise InputError(f"K must be 1 to {int(count)}: shards are counted from 1")
        return cls(int(index), int(count))

    def holds(self, path: str) -> bool:
        """Whether the input named ``path`` is this shard's."""
        # surrogateescape: a file name that is not UTF-8 hashes as its own bytes.
        digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True, slots=True)
class ShardMark:
    """What a shard's trailer says of the cut: which shard it is, and the whole run's
    inputs (their number and the SHA-256 of their paths, each with ``\\n``)."""

    index: int
    count: int
    inputs: int
    inputs_sha256: str

    def as_json(self) -> dict[str, int | str]:
        return {
            "index": self.index,
            "count": self.count,
            "inputs": self.inputs,
            "inputs_sha256": self.inputs_sha256,
        }

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _label(item: Job | Done) -> str:
    return item.label if isinstance(item, Job) else item.checked.path


def select(items: Iterable[Job | Done], spec: ShardSpec) -> tuple[list[Job | Done], ShardMark]:
    """The items of shard ``spec``, in their order, and the mark its trailer records.

    Every item counts, a path that names nothing too: each is one result of the
    whole run, so each is some shard's."""
    digest = hashlib.sha256()
    count = 0
    kept: list[Job | Done] = []
    for item in items:
        label = _label(item)
        digest.update(label.encode("utf-8", "surrogateescape") + b"\n")
        count += 1
        if spec.holds(label):
            kept.append(item)
    return kept, ShardMark(spec.index, spec.count, count, digest.hexdigest())


@dataclass(frozen=True, slots=True)
class Trailer:
    """What a shard's trailer says about the lines before it and how they were made."""

    summary: Mapping[str, int]
    sha256: str
    config: str | None
    settings: Mapping[str, str | None]
    version: str
    shard: ShardMark | None = None
    """Which shard of ``verify --shard K/N`` this is; None for a run not cut so."""

    def made(self) -> dict[str, object]:
        """How the shard was made: what every shard of one run shares."""
        return {"config": self.config, "rmpplan_version": self.version, **self.settings}


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard, checked against its trailer: its results and where each input is."""

    label: str
    tallies: tuple[Tally, ...]
    paths: tuple[tuple[str, int], ...]
    """Each result's ``path`` and line."""
    trailer: Trailer


def read_shard(name: str, stdin: BinaryIO | None = None) -> Shard:
    """The shard in file ``name`` (or in ``stdin`` for ``-``), checked against its trailer.

    Raises :class:`InputError` naming the shard (and the line) for anything that
    is not one whole run of ``verify --format jsonl``.
    """
    label = STDIN_LABEL if name == STDIN else name
    try:
        raw = _read(name, stdin)
        return _shard(label, raw)
    except InputError as err:
        raise err.located(label) from None


def _read(name: str, stdin: BinaryIO | None) -> bytes:
    from rmpplan.files import read_file_bytes

    if name != STDIN:
        return read_file_bytes(Path(name), MAX_SHARD_BYTES)
    if stdin is None:
        raise InputError("standard input is closed")
    raw = stdin.read(MAX_SHARD_BYTES + 1)
    if len(raw) > MAX_SHARD_BYTES:
        raise InputError(f"larger than {size_text(MAX_SHARD_BYTES)}")
    return raw


def _records(raw: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Each line's number, start offset and bytes (without its ``\\n``), each
    measured before it is used."""
    if raw.count(b"\n") > MAX_SHARD_RECORDS + 1:
        raise InputError(
            f"more than {MAX_SHARD_RECORDS} lines; a shard holds at most {MAX_SHARD_RECORDS} "
            "results: cut the list into more shards"
        )
    start, number = 0, 0
    while start < len(raw):
        number += 1
        end = raw.find(b"\n", start)
        stop = len(raw) if end < 0 else end
        if stop - start > MAX_RECORD_BYTES:
            raise InputError(
                f"a line of {stop - start} bytes; no record of `rmpplan verify --format jsonl` "
                f"is longer than {size_text(MAX_RECORD_BYTES)}",
                line=number,
            )
        if end < 0:
            raise InputError("ends inside a line: the shard was cut short", line=number)
        yield number, start, raw[start:end]
        start = end + 1


def _shard(label: str, raw: bytes) -> Shard:
    tallies: list[Tally] = []
    paths: list[tuple[str, int]] = []
    trailer: Trailer | None = None
    digest = b""
    for number, start, line in _records(raw):
        if trailer is not None:
            raise InputError("a line after the trailer, which ends a shard", line=number)
        if not line.strip():
            continue  # the trailer's SHA-256 says whether it belongs there
        record = _parse(line, number)
        if "kind" in record:
            trailer = _trailer(record, number)
            digest = hashlib.sha256(memoryview(raw)[:start]).digest()
        else:
            path, tally = _result(record, number)
            tallies.append(tally)
            paths.append((path, number))
    if trailer is None or (not tallies and trailer.shard is None):
        if not tallies:  # a shard of --shard K/N may hold none; its trailer says so
            raise InputError("holds no results of `rmpplan verify --format jsonl`")
        raise InputError(
            "has no trailer: the run that wrote it did not finish (killed or cut short?), "
            "or it is not `rmpplan verify --format jsonl` output"
        )
    counted = summarize(tallies)
    said = dict(trailer.summary)
    found = summary_counts(counted)
    if said != found:
        raise InputError(f"its trailer counts {_counts(said)}, but it holds {_counts(found)}")
    if digest.hex() != trailer.sha256:
        raise InputError(
            "its lines are not the ones its trailer counted (their SHA-256 differs): "
            "changed, reordered or spliced after `rmpplan verify` wrote them"
        )
    return Shard(label, tuple(tallies), tuple(paths), trailer)


def summary_counts(summary: Summary) -> dict[str, int]:
    """The counts of ``summary`` by the keys of the JSON ``summary`` object."""
    return {key: getattr(summary, key) for key in SUMMARY_KEYS}


def _counts(counts: Mapping[str, int]) -> str:
    return (
        f"{counts['files']} results ({counts['ok']} ok, {counts['failed']} failed, "
        f"{counts['bad_input']} bad input, {counts['shapes']} shapes)"
    )


def _parse(line: bytes, number: int) -> dict[str, object]:
    """One record: a JSON object."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte 0x{line[err.start]:02x})", line=number) from None
    try:
        # The C parser, with the record's length as the bound: nesting past Python's
        # limit is a RecursionError and a number past 4300 digits a ValueError.
        record = _DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", line=number) from None
    except RecursionError:
        raise InputError("not a record of `rmpplan verify`: nested too deep", line=number) from None
    except ValueError as err:
        if "digits" in str(err):  # int(): "Exceeds the limit (4300 digits) ..."
            raise InputError("a number of more than 4300 digits", line=number) from None
        raise InputError(f"not JSON: {quote(str(err), 80)}", line=number) from None
    if not isinstance(record, dict):
        raise InputError(_NOT_A_RESULT, line=number)
    return record


def _constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _once(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object whose keys are each there once: with two, which one counts would depend
    on the reader."""
    record = dict(pairs)
    if len(record) != len(pairs):
        raise ValueError("a key is repeated")
    return record


# One decoder for every record: making one is a large part of a small record's cost.
_DECODER = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_once)
_CHECKS = {str(check): check for check in Check}
_ORDER = {check: index for index, check in enumerate(Check)}


def _result(entry: Mapping[str, object], number: int) -> tuple[str, Tally]:
    """One result's path and tally, its verdict computed again from its findings and
    expectations. Only the keys of a result are taken, each of its type, so that a
    record holds nothing that costs more to read than what it says."""
    path, ok, shape = entry.get("path"), entry.get("ok"), entry.get("shape")
    findings, stale = entry.get("findings"), entry.get("stale_expectations", [])
    notes = entry.get("notes", [])
    if (
        not entry.keys() <= RESULT_KEYS
        or not isinstance(path, str)
        or not isinstance(ok, bool)
        or not (shape is None or isinstance(shape, str))
        or not isinstance(findings, list)
        or not isinstance(stale, list)
        or not isinstance(notes, list)
        or not all(isinstance(entry.get(key, ""), str) for key in ("strategy", "error"))
        or not all(entry.get(key) is None or isinstance(entry[key], str) for key in _NULLABLE)
        or not all(isinstance(note, str) for note in notes)
        or not all(_finding(item) for item in findings)
    ):
        raise InputError(_NOT_A_RESULT, line=number)
    if "error" in entry:
        if not isinstance(entry["error"], str) or findings:
            raise InputError(_NOT_A_RESULT, line=number)
        if ok:
            raise InputError("says ok, but the input could not be checked (`error`)", line=number)
        return path, Tally(False, True, None)
    failures: set[tuple[Check, bool]] = set()
    try:
        for item in findings:
            check = _CHECKS[item["check"]]  # KeyError, TypeError: not a finding
            # Only a finding marked expected, exactly so, leaves the verdict ok.
            if item.get("expected") is not True:
                failures.add((check, False))
        failures.update((_CHECKS[check], True) for check in stale)
    except (KeyError, TypeError, AttributeError):
        raise InputError("a finding names no check rmpplan knows", line=number) from None
    unique = tuple(sorted(failures, key=lambda item: (_ORDER[item[0]], item[1])))
    if ok and unique:
        check, is_stale = unique[0]
        what = "a stale expectation of" if is_stale else "an unexpected finding of"
        raise InputError(f"says ok, but it holds {what} {check}", line=number)
    if not ok and not unique:
        raise InputError("says not ok, but nothing fails it", line=number)
    return path, Tally(not unique, False, shape, unique)


def _finding(item: object) -> bool:
    """Whether ``item`` has the keys and types of a finding (its check is looked up later)."""
    if not isinstance(item, dict) or not item.keys() <= FINDING_KEYS:
        return False
    cpus = item.get("cpus", [])
    return (
        isinstance(item.get("message", ""), str)
        and isinstance(cpus, list)
        and set(map(type, cpus)) <= _INT
    )


def _trailer(record: Mapping[str, object], number: int) -> Trailer:
    bad = InputError("not a trailer of `rmpplan verify --format jsonl`", line=number)
    if record.get("kind") != TRAILER:
        raise InputError(
            f"a record of kind {quote(repr(record.get('kind')))}, which this rmpplan does not know",
            line=number,
        )
    summary, sha256 = record.get("summary"), record.get("sha256")
    config, settings = record.get("config"), record.get("settings")
    version = record.get("rmpplan_version")
    shard = _mark(record["shard"], bad) if "shard" in record else None
    if (
        record.get("schema_version") != 2
        or not isinstance(summary, dict)
        or sorted(summary) != sorted(SUMMARY_KEYS)
        or not all(type(value) is int and value >= 0 for value in summary.values())
        or not isinstance(sha256, str)
        or _SHA256.fullmatch(sha256) is None
        or not (config is None or isinstance(config, str))
        or not isinstance(settings, dict)
        or sorted(settings) != sorted(SETTINGS)
        or not all(value is None or isinstance(value, str) for value in settings.values())
        or not isinstance(version, str)
    ):
        raise bad
    counts = {str(key): int(value) for key, value in summary.items()}
    made = {str(key): None if value is None else str(value) for key, value in settings.items()}
    return Trailer(counts, sha256, config, made, version, shard)


def _mark(value: object, bad: InputError) -> ShardMark:
    """A trailer's ``shard``: present only in a run of ``verify --shard K/N``."""
    if not isinstance(value, dict) or sorted(value) != sorted(SHARD_KEYS):
        raise bad
    index, count = value["index"], value["count"]
    inputs, digest = value["inputs"], value["inputs_sha256"]
    if (
        not all(type(item) is int for item in (index, count, inputs))
        or not 1 <= index <= count <= MAX_SHARDS
        or inputs < 1
        or not isinstance(digest, str)
        or _SHA256.fullmatch(digest) is None
    ):
        raise bad
    return ShardMark(index, count, inputs, digest)


def merge(shards: Iterator[Shard]) -> Summary:
    """The summary of one run made of ``shards``, each input counted once.

    Raises :class:`InputError` naming the shard for one given twice, an input in
    two shards, or shards made under other settings than the first.
    """
    totals = Totals()
    first: Shard | None = None
    labels: list[str] = []
    digests: dict[str, int] = {}
    owner: dict[str, int] = {}
    marked: dict[int, int] = {}
    for index, shard in enumerate(shards):
        labels.append(shard.label)
        mark = shard.trailer.shard
        # Two empty shards of one cut have the same lines: their number tells them apart.
        key = shard.trailer.sha256 if mark is None else f"{shard.trailer.sha256} {mark.index}"
        same = digests.setdefault(key, index)
        if same != index:
            raise InputError(
                f"the same shard as {quote(labels[same], 200)}: given twice, it would be "
                "counted twice",
                path=shard.label,
            )
        if first is None:
            first = shard
        else:
            _same_settings(first, shard)
            _same_cut(first, shard)
        if mark is not None:
            held = marked.setdefault(mark.index, index)
            if held != index:
                raise InputError(
                    f"shard {mark} again: {quote(labels[held], 200)} is shard {mark} too; "
                    "each shard is merged once (a shard run again replaces its file)",
                    path=shard.label,
                )
        for path, line in shard.paths:
            held = owner.setdefault(path, index)
            if held != index:
                raise InputError(
                    f"'{quote(path, 200)}' is also in {quote(labels[held], 200)}: an input is "
                    "counted once, so it must be in one shard only (a shard run again "
                    "replaces its file)",
                    path=shard.label,
                    line=line,
                )
        for tally in shard.tallies:
            totals.add(tally)
    if first is not None and first.trailer.shard is not None:
        _whole_cut(first.trailer.shard, marked, totals.files)
    return totals.summary()


def _same_cut(first: Shard, shard: Shard) -> None:
    """``shard`` cut from the same run as ``first``: both by ``--shard`` or neither,
    into as many shards, from the same list of inputs."""
    mine, theirs = shard.trailer.shard, first.trailer.shard
    if mine is None and theirs is None:
        return
    where = quote(first.label, 200)
    if mine is None or theirs is None:
        what = "was not" if mine is None else f"is shard {mine}"
        other = f"is shard {theirs}" if theirs is not None else "was not"
        raise InputError(
            f"{what} cut by verify --shard, but {where} {other}: the shards of one run "
            "are all cut by --shard K/N or none is",
            path=shard.label,
        )
    if mine.count != theirs.count:
        raise InputError(
            f"is shard {mine}, but {where} is shard {theirs}: the shards of one run share N",
            path=shard.label,
        )
    if (mine.inputs, mine.inputs_sha256) != (theirs.inputs, theirs.inputs_sha256):
        raise InputError(
            f"was cut from another list of inputs than {where} ({mine.inputs} inputs, not "
            f"{theirs.inputs}, or other paths): run every shard on the same PATHS from the "
            "same folder, after the fleet's files are in place",
            path=shard.label,
        )


def _whole_cut(mark: ShardMark, marked: Mapping[int, int], files: int) -> None:
    """Every shard of the cut is there, and together they hold every input of the run."""
    missing = [index for index in range(1, mark.count + 1) if index not in marked]
    if missing:
        shown = ", ".join(f"{index}/{mark.count}" for index in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InputError(
            f"shard {shown}{more} missing: the run was cut into {mark.count} shards, and a "
            "shard that never arrived is not a passing one"
        )
    if files != mark.inputs:
        raise InputError(
            f"the shards hold {files} results, but the run they were cut from has "
            f"{mark.inputs} inputs"
        )


def _same_settings(first: Shard, shard: Shard) -> None:
    made, other = first.trailer.made(), shard.trailer.made()
    for key, value in made.items():
        if other[key] != value:
            raise InputError(
                f"made with {key} {_shown(other[key])}, but {quote(first.label, 200)} with "
                f"{_shown(value)}: the shards of one run share their configuration and settings",
                path=shard.label,
            )


def _shown(value: object) -> str:
    return "none" if value is None else f"'{quote(str(value), 200)}'"


def shard_names(names: Sequence[str]) -> list[str]:
    """``names`` as given, refusing standard input named twice (it can be read once)."""
    if list(names).count(STDIN) > 1:
        raise InputError("standard input (-) is given more than once; it can be read once")
    return list(names)
