"""Saved lscpu output: -J -e (with lscpu 2.38's bare '-') and -p CSV, and ambiguous CORE."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rmpplan.sources import SourceFormat, detect_format, read_source
from rmpplan.sources.lscpu import parse_lscpu_json
from tests.sources.source_fixtures import DATA, first, read_error

if TYPE_CHECKING:
    from pathlib import Path

LSCPU = DATA / "lscpu"


error = read_error


def test_lscpu_238_json_with_bare_dashes() -> None:
    """lscpu 2.38's invalid JSON ("core": -) reads; offline CPUs are present, offline, alone."""
    machine = read_source(LSCPU / "lscpu-2.38-offline.json")
    assert machine.present == machine.possible == set(range(8))
    assert machine.online == {1, 2, 3, 4, 5, 7}
    assert [core.threads for core in machine.cores] == [(0,), (1, 5), (2,), (3, 7), (4,), (6,)]
    assert first(machine) == [1, 2, 3, 4]
    assert machine.source == "lscpu JSON lscpu-2.38-offline.json"


def test_csv_with_header_comments_matches_json() -> None:
    """-p output (# comments, a cache column group) gives the same machine as -J -e."""
    csv = read_source(LSCPU / "lscpu-p-offline.csv")
    json = read_source(LSCPU / "lscpu-2.38-offline.json")
    assert [c.threads for c in csv.cores] == [c.threads for c in json.cores]
    assert dict(csv.cpus) == dict(json.cpus)


def test_hybrid_arm_core_numbers_are_refused() -> None:
    """CORE restarting per CPU type (tuples of 3, 2 and 1 CPUs) is refused, with the reason."""
    text = error(LSCPU / "hybrid-arm.csv")
    assert "ambiguous lscpu output: SOCKET 0 CORE 0 lists CPUs 0,2,5 but SOCKET 0 CORE 1" in text
    assert "lscpu numbers CORE separately for each CPU type" in text
    assert "read the sysfs tree instead" in text


def test_hybrid_arm_different_max_mhz_is_refused() -> None:
    """Equal-sized tuples whose CPUs differ in MAXMHZ cannot be one core."""
    text = error(LSCPU / "hybrid-arm-maxmhz.json")
    assert "SOCKET 0 CORE 0 lists CPUs 0,2 whose MAXMHZ differ (1800.0 and 2800.0)" in text


def test_intel_hybrid_is_accepted() -> None:
    """SMT2 P-cores beside single-thread E-cores are not ambiguous."""
    machine = read_source(LSCPU / "intel-hybrid.csv")
    assert [core.threads for core in machine.cores] == [(0, 1), (2, 3), (4,), (5,)]


def test_one_offline_thread_explains_a_smaller_tuple() -> None:
    """SMT4 with one thread offline: tuples of 4 and 3 are fine when a CPU is offline."""
    machine = read_source(LSCPU / "smt4-one-offline.csv")
    assert [core.threads for core in machine.cores] == [(0, 1, 2), (3,), (4, 5, 6, 7)]
    assert first(machine) == [0, 4]


def test_more_than_eight_threads_in_a_tuple(tmp_path: Path) -> None:
    """No core has more than 8 threads: a 9-CPU tuple is refused."""
    path = tmp_path / "nine.csv"
    path.write_text("# CPU,Core,Socket\n" + "".join(f"{cpu},0,0\n" for cpu in range(9)))
    assert "lists 9 online CPUs (0-8), more threads than any core has (8)" in error(path)


def test_old_lscpu_json_with_strings() -> None:
    """Older lscpu printed every value as a string ("yes", "-")."""
    machine = read_source(LSCPU / "old-strings.json")
    assert [core.threads for core in machine.cores] == [(0, 1), (2,), (3,)]
    assert machine.online == {0, 1, 2}


def test_dash_is_strict_outside_lscpu_json() -> None:
    """A bare '-' in JSON that is not lscpu's stays invalid JSON."""
    path = LSCPU / "not-lscpu-dash.json"
    assert detect_format(path) is None
    assert error(path, SourceFormat.LSCPU_JSON) == f"{path}:3: invalid JSON: Expecting value"


def test_dash_inside_strings_is_left_alone() -> None:
    """Only a bare '-' becomes null; ': -,' inside a string is kept as written."""
    rows = parse_lscpu_json('{"cpus": [{"cpu": 0, "core": -, "note": "a: -, b"}]}')
    assert rows[0].values == {"cpu": "0", "core": None, "note": "a: -, b"}


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("lscpu-summary.json", SourceFormat.LSCPU_JSON, "(use lscpu -J -e, not lscpu -J)"),
        ("no-header.csv", SourceFormat.LSCPU_CSV, ":1: no '# CPU,Core,Socket,…' header comment"),
    ],
)
def test_not_the_right_lscpu_output(name: str, fmt: SourceFormat, message: str) -> None:
    """lscpu's summary JSON, or -p output without its header, is refused with a hint."""
    assert message in error(LSCPU / name, fmt)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# CPU,Core\n0,0\n1\n", ":3: 1 fields where the header names 2"),
        ("# CPU,Core,Online\n0,,Y\n", ":2: line 2: CPU 0 is online but has no CORE"),
        ("# CPU,Core\n0,0\n0,1\n", ":3: line 3: CPU 0 is listed twice"),
        ("# CPU,Socket\n0,0\n", "no CORE column"),
        ("# CPU,Core,Online\n0,0,maybe\n", "ONLINE 'maybe' is not yes or no"),
        ("# CPU,Core\nx,0\n", "CPU 'x' is not a number"),
        ("# CPU,Core\n\u00b2,0\n", "is not a number"),
        ("# CPU,Core\n", "no CPU lines"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, message: str) -> None:
    """Broken -p output is an InputError naming the file and line."""
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert message in error(path, SourceFormat.LSCPU_CSV)


def test_project_topology_json_is_not_lscpu(tmp_path: Path) -> None:
    """rmpplan's own {"cpus": [{"id": …}]} topology JSON is not mistaken for lscpu's."""
    path = tmp_path / "topo.json"
    path.write_text('{"cpus": [{"id": 0, "core": 0}]}\n')
    assert detect_format(path) is None
    assert detect_format(LSCPU / "lscpu-2.38-offline.json") is SourceFormat.LSCPU_JSON
    assert detect_format(LSCPU / "lscpu-p-offline.csv") is SourceFormat.LSCPU_CSV


def test_row_order_does_not_matter(tmp_path: Path) -> None:
    """The same rows in reverse order give the same cores, keys and CPUs."""
    text = (LSCPU / "lscpu-p-offline.csv").read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    path = tmp_path / "reversed.csv"
    path.write_text("\n".join(comments + rows[::-1]) + "\n", encoding="utf-8")
    forward = read_source(LSCPU / "lscpu-p-offline.csv")
    backward = read_source(path)
    assert [(c.key, c.threads) for c in forward.cores] == [
        (c.key, c.threads) for c in backward.cores
    ]
    assert dict(forward.cpus) == dict(backward.cpus)
