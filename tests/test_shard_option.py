"""verify --shard K/N: a partition of the inputs by path that `rmpplan summary` merges
back into the unsharded run, refusing a missing, repeated or foreign shard."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

# Passing, failing and unreadable inputs: every kind of result line is cut and merged.
PATHS = (str(TOPOLOGIES), str(EXAMPLES), str(EXAMPLES / "missing.yaml"))


def jsonl(*args: str) -> tuple[list[str], dict[str, object], int]:
    """The result lines (each with its "\\n"), the trailer and the exit code of a run."""
    result = run("verify", *args, "--format", "jsonl", "--no-config")
    assert result.exit_code in (0, 1, 2), result.stderr
    lines = result.stdout.split("\n")
    assert lines.pop() == ""
    trailer = json.loads(lines.pop())
    return [line + "\n" for line in lines], trailer, result.exit_code


def write_shards(folder: Path, count: int, *paths: str) -> list[Path]:
    files = []
    for index in range(1, count + 1):
        result = run("verify", *paths, "--format", "jsonl", "--shard", f"{index}/{count}")
        assert result.exit_code in (0, 1, 2), result.stderr
        file = folder / f"shard-{index}.jsonl"
        file.write_text(result.stdout, encoding="utf-8")
        files.append(file)
    return files


def owner(path: str, count: int) -> int:
    """The documented rule, computed here apart from rmpplan: SHA-256 of the path mod N."""
    digest = hashlib.sha256(path.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_shards_together_are_the_unsharded_run(count: int) -> None:
    """Every result line of the unsharded run is in exactly one shard, byte for byte,
    each shard's lines in the run's order, and in the shard the rule names."""
    whole, _, _ = jsonl(*PATHS)
    union: Counter[str] = Counter()
    for index in range(1, count + 1):
        lines, trailer, _ = jsonl(*PATHS, "--shard", f"{index}/{count}")
        assert lines == [line for line in whole if line in lines]  # in path order
        for line in lines:
            assert owner(json.loads(line)["path"], count) == index
        assert trailer["shard"] == {
            "index": index,
            "count": count,
            "inputs": len(whole),
            "inputs_sha256": hashlib.sha256(
                "".join(json.loads(line)["path"] + "\n" for line in whole).encode()
            ).hexdigest(),
        }
        union.update(lines)
    assert union == Counter(whole)
    if count > 1:  # the inputs really are spread, not all in one shard
        assert max(union.values()) == 1


def test_summary_of_the_shards_is_that_of_the_unsharded_run(tmp_path: Path) -> None:
    whole = run("verify", *PATHS, "--format", "jsonl")
    (tmp_path / "whole.jsonl").write_text(whole.stdout, encoding="utf-8")
    expected = run("summary", str(tmp_path / "whole.jsonl"), "--format", "json")
    files = write_shards(tmp_path, 4, *PATHS)
    merged = run("summary", *map(str, files), "--expect-shards", "4", "--format", "json")
    assert merged.exit_code == expected.exit_code == 2  # missing.yaml is bad input
    assert merged.stdout == expected.stdout
    assert json.loads(merged.stdout)["summary"]["files"] == whole.stdout.count("\n") - 1


def test_empty_shards_merge(tmp_path: Path) -> None:
    """More shards than inputs: most are empty, and still merge into the whole run."""
    files = write_shards(tmp_path, 40, str(TOPOLOGIES))
    empty = [file for file in files if file.read_text().count("\n") == 1]
    assert empty
    merged = run("summary", *map(str, files), "--format", "json")
    assert merged.exit_code == 0, merged.stderr
    assert json.loads(merged.stdout)["summary"]["files"] == len(list(TOPOLOGIES.glob("*.yaml")))


def test_a_missing_shard_fails_the_merge(tmp_path: Path) -> None:
    """Without --expect-shards too: each trailer says how many shards there are."""
    files = write_shards(tmp_path, 3, *PATHS)
    one_error(run("summary", str(files[0]), str(files[2])), "shard 2/3 missing")
    one_error(
        run("summary", str(files[0]), str(files[2]), "--expect-shards", "3"),
        "2 shard file(s) given, but --expect-shards 3",
    )


def test_a_repeated_shard_fails_the_merge(tmp_path: Path) -> None:
    """A shard run twice into two files (or copied) is merged once, never counted twice."""
    files = write_shards(tmp_path, 2, *PATHS)
    again = tmp_path / "again.jsonl"
    again.write_bytes(files[0].read_bytes())
    one_error(run("summary", *map(str, files), str(again)), f"{again}: the same shard as")
    # The same shard number with other lines (here: the other shard relabelled).
    lines = files[1].read_text().split("\n")
    trailer = json.loads(lines[-2])
    trailer["shard"]["index"] = 1
    lines[-2] = json.dumps(trailer, sort_keys=True, separators=(",", ":"))
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(lines), encoding="utf-8")
    one_error(run("summary", str(files[0]), str(forged)), "shard 1/2 again")


def test_a_shard_relabelled_as_the_whole_run_fails_the_merge(tmp_path: Path) -> None:
    """Shard 1/2 edited into 1/1 still says how many inputs the run has: too few results."""
    files = write_shards(tmp_path, 2, *PATHS)
    lines = files[0].read_text().split("\n")
    trailer = json.loads(lines[-2])
    trailer["shard"]["count"] = 1
    lines[-2] = json.dumps(trailer, sort_keys=True, separators=(",", ":"))
    files[0].write_text("\n".join(lines), encoding="utf-8")
    held, inputs = trailer["summary"]["files"], trailer["shard"]["inputs"]
    assert held < inputs
    one_error(
        run("summary", str(files[0])),
        f"the shards hold {held} results, but the run they were cut from has {inputs} inputs",
    )


def test_shards_of_other_cuts_fail_the_merge(tmp_path: Path) -> None:
    for name in ("one", "two", "other"):
        (tmp_path / name).mkdir()
    one = write_shards(tmp_path / "one", 2, *PATHS)
    two = write_shards(tmp_path / "two", 3, *PATHS)
    other = write_shards(tmp_path / "other", 2, str(TOPOLOGIES))
    one_error(run("summary", str(one[0]), str(two[1])), "the shards of one run share N")
    one_error(run("summary", str(one[0]), str(other[1])), "was cut from another list of inputs")
    whole = tmp_path / "whole.jsonl"
    whole.write_text(run("verify", *PATHS, "--format", "jsonl").stdout, encoding="utf-8")
    one_error(run("summary", str(whole), str(one[1])), "cut by --shard K/N or none is")
    one_error(run("summary", str(one[1]), str(whole)), "was not cut by verify --shard")


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("0/4", "K must be 1 to 4"),
        ("5/4", "K must be 1 to 4"),
        ("1/0", "N must be 1 to 65536"),
        ("1/65537", "N must be 1 to 65536"),
        ("4", "is not K/N"),
        ("a/b", "is not K/N"),
        ("-1/4", "is not K/N"),
        ("", "is not K/N"),
        ("1/99999999999999999999", "N must be 1 to"),
    ],
)
def test_a_bad_shard_is_exit_2_at_the_flag(value: str, needle: str) -> None:
    line = one_error(run("verify", str(TOPOLOGIES), "--shard", value), needle)
    assert "--shard" in line


def test_help_says_shards_count_from_1() -> None:
    out = run("verify", "--help").stdout
    assert "--shard K/N" in out
    assert "K from 1 to N" in " ".join(out.split())


SHARD = ("--no-config", "--format", "jsonl", "--shard", "2/3")


def test_the_partition_does_not_depend_on_the_hash_seed() -> None:
    """The same shard on two interpreters with other string hash seeds."""

    def shard_with(seed: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "rmpplan", "verify", "topologies", "docs/examples", *SHARD],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert out.returncode in (0, 1), out.stderr
        return out.stdout

    first = shard_with("1")
    assert first.count("\n") > 1
    assert shard_with("2") == first


def test_the_trailer_keys_summary_takes_are_the_documented_ones() -> None:
    from rmpplan.shards import SHARD_KEYS
    from tests.test_json_contract import tables

    assert set(tables()["verify", "shard"]) == set(SHARD_KEYS)


def test_the_fleet_examples_of_ci_md_cut_and_merge_the_same_shards() -> None:
    """docs/ci.md's GitHub Actions matrix and Kubernetes indexed Job parse, and each
    checks shards 1 to N of N and merges N, with options verify and summary know."""
    import re

    import yaml

    from tests.test_ci_setup import blocks

    documents = [yaml.safe_load(block) for block in blocks("yaml")]
    workflow = next(doc for doc in documents if "shard" in doc.get("jobs", {}))
    indexed = next(doc for doc in documents if doc.get("kind") == "Job")

    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    steps = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["shard"]["steps"])
    merge = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["summary"]["steps"])
    count = len(matrix)
    assert matrix == list(range(1, count + 1))
    assert f"--shard ${{{{ matrix.shard }}}}/{count} " in steps
    assert f"rmpplan summary --expect-shards {count} " in merge
    assert workflow["jobs"]["summary"]["if"] == "always()"

    spec = indexed["spec"]
    assert spec["completionMode"] == "Indexed"
    script = " ".join(spec["template"]["spec"]["containers"][0]["args"])
    assert "k=$((JOB_COMPLETION_INDEX + 1))" in script
    assert f'--shard "$k/{spec["completions"]}"' in script
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert f"rmpplan summary --expect-shards {spec['completions']} /srv/results" in text
    # The Slurm array counts from 1 to N, as --shard does.
    array = re.search(r"#SBATCH --array=1-(\d+)", text)
    assert array is not None
    assert f'--shard "$SLURM_ARRAY_TASK_ID/{array[1]}"' in text
    assert f"rmpplan summary --expect-shards {array[1]} results/" in text
