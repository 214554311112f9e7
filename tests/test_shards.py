"""Shards of verify --format jsonl and `rmpplan summary`: the trailer, verdicts computed
again, and every way a cut, edited, repeated, mixed or hostile shard could pass."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rmpplan.cli.main import cli
from tests.cli import one_error, run, run_child
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES, examples

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

SINGLE = TOPOLOGIES / "single-core.yaml"
EPYC = TOPOLOGIES / "epyc-9654-2s.yaml"
NOSMT = EXAMPLES / "nosmt.yaml"  # fails online-equals-present
MISSING = EXAMPLES / "missing.yaml"


def dumps(record: dict[str, Any]) -> str:
    """A record as verify writes it: keys sorted, no spaces."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def records(text: str) -> list[dict[str, Any]]:
    """Every record of a run, split on "\\n" alone."""
    assert text.endswith("\n")
    return [json.loads(line) for line in text[:-1].split("\n")]


def jsonl(*args: str) -> str:
    """What `verify ARGS --format jsonl --no-config` prints."""
    return run("verify", *args, "--format", "jsonl", "--no-config").stdout


def shard(folder: Path, name: str, *args: str | Path) -> Path:
    path = folder / name
    path.write_text(jsonl(*map(str, args)), encoding="utf-8")
    return path


def reseal(results: list[dict[str, Any]], trailer: dict[str, Any], **counts: int) -> str:
    """A shard of ``results`` whose trailer a forger made consistent: the SHA-256 of the
    new lines and, with ``counts``, the counts the forger wants it to say."""
    body = "".join(dumps(entry) + "\n" for entry in results)
    sealed = dict(trailer, sha256=hashlib.sha256(body.encode()).hexdigest())
    sealed["summary"] = dict(trailer["summary"], **counts)
    return body + dumps(sealed) + "\n"


def summary(*args: str | Path) -> Any:
    return run("summary", *map(str, args), "--format", "json")


# --- the trailer -------------------------------------------------------------------


def test_trailer_counts_and_seals_the_lines_before_it() -> None:
    """The last line is the trailer: the run's summary, the SHA-256 of the exact bytes
    before it, no configuration with --no-config, and the settings."""
    text = jsonl(str(SINGLE), str(NOSMT), str(MISSING), "--kernel", "v10")
    *results, trailer = records(text)
    body = text[: text.rindex("\n", 0, len(text) - 1) + 1]
    assert trailer["kind"] == "trailer" and "path" not in trailer
    assert all("kind" not in entry for entry in results)
    assert trailer["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert trailer["summary"] == {"files": 3, "ok": 1, "failed": 1, "bad_input": 1, "shapes": 2}
    assert trailer["config"] is None
    assert trailer["settings"]["kernel"] == "v10"


def test_trailer_names_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run under a configuration file names it in the trailer; --no-config says null."""
    (tmp_path / "rmpplan.toml").write_text('rule = "apic-primary"\n')
    (tmp_path / "t.yaml").write_text(SINGLE.read_text())
    monkeypatch.chdir(tmp_path)
    configured = records(run("verify", "t.yaml", "--format", "jsonl").stdout)[-1]
    assert configured["config"] == "rmpplan.toml"
    assert configured["settings"]["rule"] == "apic-primary"
    assert records(jsonl("t.yaml"))[-1]["config"] is None


def test_hotplug_flags_are_settings_however_spelled(tmp_path: Path) -> None:
    """`--offline-after-setup 1,2` and `1-2` are one setting: the shards merge."""
    a = shard(tmp_path, "a.jsonl", EPYC, "--offline-after-setup", "1,2")
    b = shard(tmp_path, "b.jsonl", NOSMT, "--offline-after-setup", "1-2")
    assert records(a.read_text())[-1]["settings"]["offline_after_setup"] == "1-2"
    assert summary(a, b).exit_code == 1


# --- verdicts computed again -------------------------------------------------------


def test_ok_beside_an_unexpected_finding_is_refused(tmp_path: Path) -> None:
    """A failing result edited to say ok, its trailer resealed to match, is not counted ok."""
    *results, trailer = records(jsonl(str(NOSMT)))
    results[0]["ok"] = True
    path = tmp_path / "forged.jsonl"
    path.write_text(reseal(results, trailer, ok=1, failed=0))
    line = one_error(summary(path), f"{path}:1: says ok")
    assert "unexpected finding of online-equals-present" in line


def test_ok_beside_a_stale_expectation_is_refused(tmp_path: Path) -> None:
    *results, trailer = records(jsonl(str(SINGLE)))
    results[0]["stale_expectations"] = ["core-missed"]
    path = tmp_path / "forged.jsonl"
    path.write_text(reseal(results, trailer))
    one_error(summary(path), "says ok, but it holds a stale expectation of core-missed")


def test_ok_on_an_input_that_could_not_be_read_is_refused(tmp_path: Path) -> None:
    *results, trailer = records(jsonl(str(MISSING)))
    results[0]["ok"] = True
    path = tmp_path / "forged.jsonl"
    path.write_text(reseal(results, trailer, ok=1, bad_input=0))
    one_error(summary(path), "says ok, but the input could not be checked")


def test_expected_only_when_exactly_true(tmp_path: Path) -> None:
    """Only `"expected": true` leaves a finding's result ok; anything else fails it."""
    *results, trailer = records(jsonl(str(NOSMT)))
    results[0]["findings"][0]["expected"] = "true"
    path = tmp_path / "forged.jsonl"
    path.write_text(reseal(results, trailer))
    assert summary(path).exit_code == 1
    results[0]["findings"][0]["expected"] = True
    results[0]["ok"] = True
    path.write_text(reseal(results, trailer, ok=1, failed=0))
    assert summary(path).exit_code == 0


def test_a_duplicate_key_cannot_hide_a_finding(tmp_path: Path) -> None:
    """A second `findings` key (most JSON parsers keep the last; which one counts depends
    on the reader) is refused."""
    *results, trailer = records(jsonl(str(NOSMT)))
    results[0]["ok"] = True
    line = dumps(results[0])
    forged = line[:-1] + ',"findings":[]}'
    body = forged + "\n"
    sealed = dict(trailer, sha256=hashlib.sha256(body.encode()).hexdigest())
    sealed["summary"] = dict(trailer["summary"], ok=1, failed=0)
    path = tmp_path / "forged.jsonl"
    path.write_text(body + dumps(sealed) + "\n")
    one_error(summary(path), f"{path}:1: not JSON: a key is repeated")


@pytest.mark.parametrize(
    "edit",
    [
        {"extra": [{}] * 3},
        {"notes": [{"x": 1}]},
        {"findings": [{"check": "core-missed", "cpus": [{}], "expected": True, "message": ""}]},
        {"findings": [{"check": "core-missed", "expected": True, "more": 1}]},
        {"name": 7},
    ],
    ids=["unknown-key", "note-object", "cpu-object", "finding-key", "name-number"],
)
def test_a_result_holds_only_what_verify_writes(tmp_path: Path, edit: dict[str, Any]) -> None:
    """A key a result does not have, or a value of another type, is refused, sealed or not:
    nothing in a record costs more to read than what it says."""
    *results, trailer = records(jsonl(str(SINGLE)))
    path = tmp_path / "forged.jsonl"
    path.write_text(reseal([results[0] | edit], trailer))
    one_error(summary(path), f"{path}:1: not a result of `rmpplan verify --format jsonl`")


# --- a shard cut, edited or extended -----------------------------------------------


@pytest.fixture
def whole(tmp_path: Path) -> Path:
    """A shard of two passing inputs and one failing one, failing last."""
    return shard(tmp_path, "whole.jsonl", SINGLE, EPYC, NOSMT)


def test_a_shard_without_its_trailer_is_refused(whole: Path) -> None:
    """A job killed midway leaves whole lines: the passing ones alone are not a pass."""
    lines = whole.read_text().split("\n")
    whole.write_text("\n".join(lines[:2]) + "\n")
    one_error(summary(whole), f"{whole}: has no trailer")


def test_a_shard_cut_inside_a_line_is_refused(whole: Path) -> None:
    text = whole.read_text()
    whole.write_text(text[:-5])
    one_error(summary(whole), f"{whole}:4: ends inside a line")


def test_a_line_dropped_before_the_trailer_is_refused(whole: Path) -> None:
    lines = whole.read_text().split("\n")
    whole.write_text("\n".join(lines[:2] + lines[3:]))
    one_error(summary(whole), "its trailer counts 3 results (2 ok, 1 failed")


def test_a_line_changed_under_the_same_counts_is_refused(whole: Path) -> None:
    """Counts kept, bytes changed: the SHA-256 no longer matches."""
    text = whole.read_text()
    whole.write_text(text.replace('"path":"' + str(SINGLE), '"path":"' + str(SINGLE) + "x", 1))
    one_error(summary(whole), "SHA-256 differs")


@pytest.mark.parametrize(
    "tail",
    [
        '{"findings":[],"name":"x","ok":true,"path":"x","shape":null}\n',
        "\n",
        "   \n",
    ],
)
def test_anything_after_the_trailer_is_refused(whole: Path, tail: str) -> None:
    whole.write_text(whole.read_text() + tail)
    one_error(summary(whole), f"{whole}:5: a line after the trailer")


def test_two_runs_in_one_file_are_refused(tmp_path: Path, whole: Path) -> None:
    """Two shards concatenated (`cat a b > c`): the first trailer is not the end."""
    other = shard(tmp_path, "other.jsonl", MISSING)
    joined = tmp_path / "joined.jsonl"
    joined.write_text(whole.read_text() + other.read_text())
    one_error(summary(joined), f"{joined}:5: a line after the trailer")


def test_a_record_of_unknown_kind_is_refused(whole: Path) -> None:
    whole.write_text('{"kind":"note"}\n' + whole.read_text())
    one_error(summary(whole), f"{whole}:1: a record of kind 'note'")


def test_a_trailer_missing_a_key_is_refused(whole: Path) -> None:
    *lines, trailer = whole.read_text()[:-1].split("\n")
    record = json.loads(trailer)
    del record["settings"]
    whole.write_text("\n".join([*lines, dumps(record)]) + "\n")
    one_error(summary(whole), f"{whole}:4: not a trailer")


# --- shards repeated, overlapping, missing or mixed ----------------------------------


def test_the_same_shard_twice_is_refused(tmp_path: Path, whole: Path) -> None:
    """Named twice, or copied under another name: never counted twice."""
    one_error(summary(whole, whole), f"{whole}: the same shard as {whole}")
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(whole.read_bytes())
    one_error(summary(whole, copy), f"{copy}: the same shard as {whole}")


def test_one_input_in_two_shards_is_refused(tmp_path: Path) -> None:
    """A failing input checked again into a new file next to its old shard."""
    old = shard(tmp_path, "old.jsonl", NOSMT)
    new = shard(tmp_path, "new.jsonl", SINGLE, NOSMT)
    one_error(summary(old, new), f"{new}:2: '{NOSMT}' is also in {old}:")


def test_inputs_named_twice_in_one_run_count_as_verify_counts_them(tmp_path: Path) -> None:
    """Within one shard, a path named twice is what that one verify run counted."""
    single = shard(tmp_path, "a.jsonl", SINGLE, SINGLE)
    out = summary(single)
    assert out.exit_code == 0
    assert json.loads(out.stdout)["summary"]["files"] == 2


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (("--rule", "apic-primary"), "rule"),
        (("--kernel", "v6"), "kernel"),
        (("--strategy", "v8-three-way"), "strategy"),
        (("--offline-after-setup", "0"), "offline_after_setup"),
    ],
)
def test_shards_made_under_other_settings_are_refused(
    tmp_path: Path, flags: tuple[str, ...], key: str
) -> None:
    plain = shard(tmp_path, "a.jsonl", EPYC)
    other = shard(tmp_path, "b.jsonl", SINGLE, *flags)
    one_error(summary(plain, other), f"{other}: made with {key} ")


def test_shards_made_under_another_configuration_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One shard found a configuration whose expectations others did not apply."""
    (tmp_path / "rmpplan.toml").write_text('[expect]\n"n.yaml" = ["online-equals-present"]\n')
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "n.yaml").write_text(NOSMT.read_text())
    monkeypatch.chdir(tmp_path)
    configured = tmp_path / "a.jsonl"
    configured.write_text(run("verify", "f", "--format", "jsonl").stdout)
    plain = shard(tmp_path, "b.jsonl", SINGLE)
    one_error(summary(plain, configured), "made with config 'rmpplan.toml', but")


@pytest.mark.parametrize(("given", "code"), [(1, 2), (2, 1), (3, 2)])
def test_expect_shards(tmp_path: Path, given: int, code: int) -> None:
    """Fewer or more shard files than --expect-shards is exit 2, naming both numbers."""
    shards = [
        shard(tmp_path, "a.jsonl", SINGLE),
        shard(tmp_path, "b.jsonl", NOSMT),
        shard(tmp_path, "c.jsonl", EPYC),
    ][:given]
    out = summary(*shards, "--expect-shards", "2")
    assert out.exit_code == code
    if code == 2:
        line = one_error(out, f"{given} shard file(s) given, but --expect-shards 2")
        assert line.endswith("1 missing" if given == 1 else "1 more than expected")


def test_standard_input_twice_is_refused() -> None:
    one_error(run("summary", "-", "-"), "standard input (-) is given more than once")


# --- hostile shards ---------------------------------------------------------------


def hostile(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_text(line + "\n" + jsonl(str(SINGLE)))
    return path


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, ":1: not a record of `rmpplan verify`: nested too deep"),
        ('{"ok":' + "9" * 5000 + "}", ":1: a number of more than 4300 digits"),
        ('{"ok":1' + "0" * 5000 + ".5}", ":1: not a result"),
        ('{"ok":NaN}', ":1: not JSON: NaN is not JSON"),
        ("a" * ((1 << 20) + 1), ":1: a line of 1048577 bytes; no record"),
    ],
    ids=["deep", "5000-digit", "long-float", "nan", "long-line"],
)
def test_hostile_records_are_one_line_exit_2(tmp_path: Path, line: str, needle: str) -> None:
    """Nesting 100,000 deep, a 5,000-digit number, a line over 1 MiB: exit 2, one line."""
    path = hostile(tmp_path, line)
    one_error(summary(path), str(path) + needle)


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(b'{"path":"\xff"}\n' + jsonl(str(SINGLE)).encode())
    one_error(summary(path), f"{path}:1: not UTF-8 text (byte 0xff)")


def test_too_many_records_are_refused_before_parsing(tmp_path: Path) -> None:
    """More lines than a shard may hold is refused from the count of newlines."""
    from rmpplan.shards import MAX_SHARD_RECORDS

    path = tmp_path / "many.jsonl"
    path.write_bytes(b"x\n" * (MAX_SHARD_RECORDS + 2))
    one_error(summary(path), f"{path}: more than {MAX_SHARD_RECORDS} lines")


def test_the_largest_real_record_is_within_the_cap(tmp_path: Path) -> None:
    """An 8192-CPU machine, half of it offline, failing four checks under hotplug flags that
    list thousands of CPUs, fits a record many times over."""
    from rmpplan.shards import MAX_RECORD_BYTES

    topology = tmp_path / "big.yaml"
    topology.write_text((TOPOLOGIES / "max-8192.yaml").read_text() + "offline: 4096-8191\n")
    flags = ("--strategy", "v8-three-way", "--online-after-setup", "4096-8191")
    big = shard(tmp_path, "big.jsonl", topology, *flags, "--offline-after-setup", "1-4095")
    longest = max(len(line) for line in big.read_bytes().split(b"\n"))
    assert 40_000 < longest < MAX_RECORD_BYTES // 8
    assert summary(big).exit_code == 1


# --- standard input and names that break lines ----------------------------------------


def pipe(*verify_args: str) -> subprocess.CompletedProcess[str]:
    """`rmpplan verify ARGS --format jsonl | rmpplan summary -` through a real pipe."""
    python = [sys.executable, "-m", "rmpplan"]
    with subprocess.Popen(
        [*python, "verify", *verify_args, "--format", "jsonl", "--no-config"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as producer:
        assert producer.stdout is not None
        consumer = subprocess.run(
            [*python, "summary", "-", "--format", "text"],
            cwd=ROOT,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        producer.stdout.close()
    return consumer


@pytest.mark.parametrize(
    ("paths", "code"), [((SINGLE, EPYC), 0), ((SINGLE, NOSMT), 1), ((SINGLE, MISSING), 2)]
)
def test_a_run_piped_into_summary(paths: tuple[Path, ...], code: int) -> None:
    """`verify --format jsonl | summary -` exits as the verify run would have."""
    out = pipe(*map(str, paths))
    assert out.returncode == code, out.stderr
    assert out.stdout.startswith(f"summary: {len(paths)} inputs: ")


def test_a_run_cut_in_a_pipe_is_refused() -> None:
    """The failing input's line and the trailer never reach summary: exit 2, not 0."""
    script = (
        f'"{sys.executable}" -m rmpplan verify {SINGLE} {NOSMT} --format jsonl --no-config'
        f' | head -n 1 | "{sys.executable}" -m rmpplan summary -'
    )
    out = subprocess.run(
        ["/bin/sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert out.returncode == 2
    assert out.stderr == (
        "rmpplan: error: <stdin>: has no trailer: the run that wrote it did not finish "
        "(killed or cut short?), or it is not `rmpplan verify --format jsonl` output\n"
    )


@pytest.mark.parametrize("breaker", ["\u2028", "\u2029", "\u0085", "\x0b", "\x1c"])
def test_names_that_break_lines_survive_a_pipe(tmp_path: Path, breaker: str) -> None:
    """A name holding a character str.splitlines() splits on stays one record."""
    failing = tmp_path / "n.json"
    failing.write_text(json.dumps({"name": f"a{breaker}b", **yaml_of(NOSMT)}), encoding="utf-8")
    out = pipe(str(failing), str(SINGLE))
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("summary: 2 inputs: 1 ok, 1 failed")


def yaml_of(path: Path) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data.pop("name", None)
    return data


def test_standard_input_is_capped(tmp_path: Path) -> None:
    """Standard input is read up to the 16 MiB a shard file is capped at, then refused."""
    big = tmp_path / "big"
    with big.open("wb") as out:
        out.truncate((16 << 20) + 1)
    with big.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "rmpplan", "summary", "-"],
            cwd=ROOT,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr == "rmpplan: error: <stdin>: larger than 16 MiB\n"


# --- the property -----------------------------------------------------------------

NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)  # no lone surrogates


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=NAMES, failing=st.booleans())
@example(name="x\u2028y", failing=True)
@example(name="\u2029\x85\r\n", failing=False)
@example(name='{"kind":"trailer"}\n', failing=True)
def test_any_name_round_trips_through_jsonl_and_summary(
    tmp_path: Path, name: str, failing: bool
) -> None:
    """Whatever a topology is named, its jsonl line keeps the name and the verdict, and
    `summary -` of the run exits as verify did."""
    source = NOSMT if failing else SINGLE
    topology = tmp_path / "t.json"
    topology.write_text(json.dumps({**yaml_of(source), "name": name}), encoding="utf-8")
    verified = run("verify", str(topology), "--format", "jsonl", "--no-config")
    entry, trailer = records(verified.stdout)
    assert entry["name"] == name
    assert entry["ok"] is (not failing)
    assert verified.exit_code == (1 if failing else 0)
    merged = CliRunner().invoke(
        cli, ["summary", "-", "--format", "json"], input=verified.stdout.encode("utf-8")
    )
    assert merged.exit_code == verified.exit_code, merged.stderr
    assert json.loads(merged.stdout)["summary"] == trailer["summary"]


def test_run_child_summary_of_a_shard(tmp_path: Path) -> None:
    """A shard file read by summary in its own process, as a batch system would."""
    path = shard(tmp_path, "a.jsonl", SINGLE, NOSMT)
    out = run_child("summary", str(path), "--format", "text", "--expect-shards", "1")
    assert out.returncode == 1
    assert out.stdout.startswith("summary: 2 inputs: 1 ok, 1 failed")


def test_the_keys_summary_takes_are_the_documented_ones() -> None:
    """summary refuses any key a result does not have: its lists are docs/json.md's tables,
    so a key added to the results (and documented) cannot be refused by mistake."""
    from rmpplan.shards import FINDING_KEYS, RESULT_KEYS, SETTINGS, SUMMARY_KEYS
    from tests.test_json_contract import FINDINGS, tables

    documented = tables()
    assert set(documented["verify", "results"]) == RESULT_KEYS
    assert set(documented[FINDINGS, ""]) == FINDING_KEYS
    assert set(documented["verify", "settings"]) == set(SETTINGS)
    assert set(documented["verify", "summary"]) == set(SUMMARY_KEYS)


def test_a_v2_result_without_a_rule_merges(tmp_path: Path) -> None:
    """Under v2-all-cpus a result's rule is null (no mask): summary reads it, and its verdict."""
    shard = tmp_path / "v2.jsonl"
    result = run(
        "verify", "docs/examples/nosmt.yaml", "--strategy", "v2-all-cpus", "--format", "jsonl"
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[0])["rule"] is None
    shard.write_text(result.stdout, encoding="utf-8")
    merged = run("summary", str(shard), "--format", "json")
    assert merged.exit_code == 1, merged.stderr
