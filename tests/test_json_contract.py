"""docs/json.md is the JSON contract: its key tables are read here and held against
what every command really prints, on the bundled topologies and docs/examples."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from rmpplan.cli.main import cli
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

JSON_DOC = ROOT / "docs" / "json.md"
SYSFS_DUMP = ROOT / "tests" / "sources" / "data" / "sysfs" / "nosmt"
FINDINGS = "Findings"
# docs/json.md's value types; "X or Y" and "array of Xs" are built from these.
CPULIST = re.compile(r"(?:[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*)?")
HEX_MASK = re.compile(r"[0-9a-f]{1,8}(?:,[0-9a-f]{8})*")
TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "cpulist": lambda v: isinstance(v, str) and CPULIST.fullmatch(v) is not None,
    "hex mask": lambda v: isinstance(v, str) and HEX_MASK.fullmatch(v) is not None,
    "finding": lambda v: isinstance(v, dict),  # its keys are the Findings table's
}
ALWAYS = "always"


@dataclass(frozen=True)
class Key:
    """One row of a key table."""

    name: str
    type: str
    present: str  # "always" (no present column) or the condition the table gives


# (section, what): section is the ## heading without backticks (plan, verify, ...,
# Findings); what is "" for the document (or the finding) itself, else the key whose
# value (or each element of whose array) the table describes.
Tables = dict[tuple[str, str], dict[str, Key]]


def parse_tables(text: str) -> Tables:
    """Every `| key | type | ... |` table of docs/json.md, by section and described key."""
    tables: Tables = {}
    section = ""
    intro = ""
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:].strip().strip("`")
        elif line.startswith("| key | type |"):
            header = [cell.strip() for cell in line.strip("|").split("|")]
            entry = re.fullmatch(r"Each entry of `(\w+)`:", intro) or re.match(
                r"`(\w+)`[,:]", intro
            )
            what = entry[1] if entry else ""
            assert (section, what) not in tables, f"two tables for {section} {what!r}"
            tables[section, what] = dict(_rows(lines, header))
        elif line.strip():
            intro = line.strip()
    return tables


def _rows(lines: Iterator[str], header: list[str]) -> Iterator[tuple[str, Key]]:
    next(lines)  # |---|---|
    for line in lines:
        if not line.startswith("|"):
            return
        cells = dict(
            zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=False)
        )
        name = re.fullmatch(r"`(\w+)`", cells["key"])
        assert name is not None, f"a key cell must be one `key`: {line}"
        yield name[1], Key(name[1], cells["type"], cells.get("present", ALWAYS))


def type_check(kind: str) -> Callable[[Any], bool]:
    """The test for one type word: ``X``, ``X or Y``, ``array of Xs or Ys``."""
    if kind.startswith("array of "):
        element = type_check(" or ".join(p.removesuffix("s") for p in kind[9:].split(" or ")))
        return lambda value: isinstance(value, list) and all(element(item) for item in value)
    parts = kind.split(" or ")
    unknown = [part for part in parts if part not in TYPES]
    assert not unknown, f"type {kind!r} uses {unknown}, not one of {sorted(TYPES)}"
    return lambda value: any(TYPES[part](value) for part in parts)


def opposite(condition: str) -> str | None:
    """``when not X`` for ``when X`` (and back); None for a condition with no opposite."""
    if condition.startswith("when not "):
        return "when " + condition[9:]
    if condition.startswith("when "):
        return "when not " + condition[5:]
    return None


@cache
def tables() -> Tables:
    """docs/json.md's tables, read once."""
    return parse_tables(JSON_DOC.read_text(encoding="utf-8"))


# Every command on the bundled topologies and docs/examples, plus the runs that reach
# the keys a plain run never prints (v2's null lead, case 3, verify's error entries,
# compare's skipped rules, show's live facts of a sysfs dump).
FILES = sorted(TOPOLOGIES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
SMALL = [path for path in FILES if path.stem != "max-8192"]
PRIMARY_OFFLINE = str(EXAMPLES / "primary-offline.yaml")
RUNS: list[tuple[str, ...]] = [
    *(("plan", str(path), "--leader", "all") for path in SMALL),
    ("plan", str(TOPOLOGIES / "max-8192.yaml"), "--leader", "0-3"),
    (
        "plan",
        PRIMARY_OFFLINE,
        "--leader",
        "9-10",
        "--rule",
        "apic-primary",
        "--strategy",
        "v8-three-way",
    ),
    ("plan", PRIMARY_OFFLINE, "--leader", "all", "--strategy", "v2-all-cpus"),
    ("verify", str(TOPOLOGIES), str(EXAMPLES), str(EXAMPLES / "missing.yaml")),
    ("verify", str(TOPOLOGIES / "power9-sparse.yaml"), "--rule", "apic-primary"),
    ("verify", str(EXAMPLES), "--strategy", "v8-three-way"),
    ("summary", str(ROOT / "tests" / "data" / "fleet" / "shard.jsonl")),
    *(("compare", str(path)) for path in SMALL),
    *(("schedule", str(path), "--leader", "0", "--memory", "0-2T") for path in FILES),
    ("schedule", str(TOPOLOGIES / "single-core.yaml"), "--leader", "0", "--memory", "1G-3T"),
    *(("show", str(path)) for path in FILES),
    ("show", str(SYSFS_DUMP)),
    ("show", str(EXAMPLES / "hotplug-offline-follower.yaml"), "--cpus", "--leader", "0"),
    ("show", PRIMARY_OFFLINE, "--cpus", "--kernel", "v2"),
    *(
        ("explain", str(path), "--leader", "0")
        for path in SMALL
        if path.stem != "hotplug-online-unprogrammed"
    ),
    ("explain", PRIMARY_OFFLINE, "--leader", "10", "--kernel", "v6"),
    ("explain", PRIMARY_OFFLINE, "--leader", "10", "--strategy", "v2-all-cpus"),
    (
        "schedule",
        str(TOPOLOGIES / "epyc-9654-2s.yaml"),
        "--leader",
        "0",
        "--memory",
        "0-1T",
        "--dmesg",
        str(ROOT / "tests" / "data" / "dmesg" / "capped-9654.log"),
    ),
]


@cache
def output(args: tuple[str, ...]) -> Any:
    """The JSON document a run prints (verify, explain and a schedule with --dmesg print
    one when a check fails too)."""
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    judged = args[0] in ("verify", "explain", "summary") or "--dmesg" in args
    assert result.exit_code in ((0, 1, 2) if judged else (0,)), result.stderr
    return json.loads(result.stdout)


# verify --format jsonl: its result lines and its trailer, on runs that reach every
# key of the trailer's settings (a kernel, both hotplug flags) and a configuration.
JSONL_RUNS: list[tuple[str, ...]] = [
    ("verify", str(TOPOLOGIES), str(EXAMPLES), str(EXAMPLES / "missing.yaml")),
    (
        "verify",
        str(EXAMPLES / "nosmt.yaml"),
        "--no-config",
        "--kernel",
        "v10",
        "--offline-after-setup",
        "1",
        "--online-after-setup",
        "8-9",
    ),
    ("verify", str(TOPOLOGIES), str(EXAMPLES), "--shard", "2/3"),
]


@cache
def jsonl_records(args: tuple[str, ...]) -> list[Any]:
    """The records a `verify --format jsonl` run prints, split on "\\n" alone."""
    result = CliRunner().invoke(cli, [*args, "--format", "jsonl"], catch_exceptions=False)
    assert result.exit_code in (0, 1, 2), result.stderr
    text = result.stdout
    assert text.endswith("\n")
    return [json.loads(line) for line in text[:-1].split("\n")]


def jsonl_keys(args: tuple[str, ...]) -> set[str]:
    """The keys seen walking each result line as a `results` entry, and the trailer."""
    *results, trailer = jsonl_records(args)
    seen: set[str] = set()
    for index, entry in enumerate(results):
        seen |= set(walk("verify", "results", entry, f"line {index + 1}"))
    return seen | set(walk("verify", "trailer", trailer, "trailer"))


def walk(section: str, what: str, value: dict[str, Any], where: str) -> Iterator[str]:
    """Every breach of the contract in one object and below it; yields the keys seen."""
    table = tables()[section, what]
    undocumented = sorted(set(value) - set(table))
    assert not undocumented, f"{where}: keys {undocumented} are not in docs/json.md"
    missing = sorted(
        key.name for key in table.values() if key.present == ALWAYS and key.name not in value
    )
    assert not missing, f"{where}: documented keys {missing} are missing"
    # Keys under one condition come together; "when X" and "when not X" never do.
    groups: dict[str, set[str]] = {}
    for key in table.values():
        if key.present != ALWAYS:
            groups.setdefault(key.present, set()).add(key.name)
    shown = {condition for condition, names in groups.items() if names & set(value)}
    for condition in shown:
        assert groups[condition] <= set(value), f"{where}: not all keys {condition!r}"
        assert opposite(condition) not in shown, f"{where}: keys {condition!r} and its opposite"
    for condition in groups:
        other = opposite(condition)
        if other in groups:
            assert condition in shown or other in shown, f"{where}: neither {condition!r} nor not"
    for name, item in value.items():
        key = table[name]
        assert type_check(key.type)(item), f"{where}.{name}: {item!r} is not {key.type}"
        yield f"{section}:{what}:{name}"
        elements = item if isinstance(item, list) else [item]
        if key.type == "array of findings":
            for index, element in enumerate(elements):
                yield from walk(FINDINGS, "", element, f"{where}.{name}[{index}]")
        elif (section, name) in tables():
            for index, element in enumerate(elements):
                yield from walk(section, name, element, f"{where}.{name}[{index}]")


@pytest.mark.parametrize("args", RUNS, ids=[" ".join(a).replace(str(ROOT) + "/", "") for a in RUNS])
def test_output_matches_the_documented_keys(args: tuple[str, ...]) -> None:
    """Every key a run prints is documented with its type; every always-present key is there."""
    seen = set(walk(args[0], "", output(args), args[0]))
    assert seen


@pytest.mark.parametrize("args", JSONL_RUNS, ids=[" ".join(a[1:2]) for a in JSONL_RUNS])
def test_jsonl_lines_and_trailer_match_the_documented_keys(args: tuple[str, ...]) -> None:
    """Each result line of `--format jsonl` is a documented `results` entry, and the last
    line is the documented trailer, whose summary counts the lines before it."""
    *results, trailer = jsonl_records(args)
    assert jsonl_keys(args)
    assert "kind" not in results[0] and trailer["kind"] == "trailer"
    assert trailer["summary"]["files"] == len(results)


def test_every_documented_key_is_printed_somewhere() -> None:
    """Each key of each table, conditional ones included, appears in at least one run."""
    seen: set[str] = set()
    for args in RUNS:
        seen |= set(walk(args[0], "", output(args), args[0]))
    for args in JSONL_RUNS:
        seen |= jsonl_keys(args)
    documented = {
        f"{section}:{what}:{name}" for (section, what), keys in tables().items() for name in keys
    }
    assert sorted(documented - seen) == []


def test_the_doc_has_a_table_for_every_command_and_nested_object() -> None:
    """Each command's document, the findings, and every object or array of objects have a table."""
    found = tables()
    for section in ("plan", "verify", "explain", "compare", "schedule", "show", FINDINGS):
        assert (section, "") in found, section
    for (section, _), keys in found.items():
        for key in keys.values():
            type_check(key.type)  # a type word the contract does not define fails here
            if key.type in ("object", "array"):
                assert (section, key.name) in found, f"{section}: no table for `{key.name}`"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("0-3,7", "cpulist", True),
        ("", "cpulist", True),
        ("0-3,", "cpulist", False),
        ("04fb", "hex mask", True),
        ("555555,55555555", "hex mask", True),
        ("0x4fb", "hex mask", False),
        (None, "integer or null", True),
        (True, "integer", False),
        (2.5, "number", True),
        ([0, None], "array of integers or nulls", True),
        (["0"], "array of integers", False),
        ({}, "array", False),
    ],
)
def test_type_words(value: Any, kind: str, expected: bool) -> None:
    """The type words of docs/json.md mean what a consumer would read them as."""
    assert type_check(kind)(value) is expected
