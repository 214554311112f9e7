"""The kernel profiles hold to what each version of the series does, and the
kernel people run is judged whenever nothing else was asked for: each case a
false pass once, held here through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rmpplan.terms import Check
from tests.cli import run
from tests.conftest import EXAMPLES, ROOT

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

MISSING = str(EXAMPLES / "apic-primary-missing.yaml")


def findings(stdout: str) -> list[dict[str, Any]]:
    """The findings of a one-input ``verify --format json`` report."""
    report = json.loads(stdout)
    (entry,) = report["results"]
    found: list[dict[str, Any]] = entry["findings"]
    return found


def checks(stdout: str) -> list[str]:
    return [item["check"] for item in findings(stdout)]


# The kernel people run (v10: APIC primary threads) ------------------------------------


def test_default_verify_fails_where_the_landed_kernel_faults() -> None:
    """Plain verify judges the landed kernel too: a core it leaves unprogrammed is exit 1,
    with findings that name the landed kernel and the check it fails."""
    result = run("verify", MISSING, "--format", "json")
    assert result.exit_code == 1, result.output
    landed = [item for item in findings(result.stdout) if item["check"] == "landed-kernel"]
    failed = {
        check for check in Check if any(f"fails {check} here" in i["message"] for i in landed)
    }
    assert failed == {Check.ONE_MASK_CPU_PER_CORE, Check.UNPROGRAMMED_CORE}
    assert all("v10" in item["message"] for item in landed)
    assert all(item["cpus"] == [6] for item in landed)


def test_default_verify_text_names_the_landed_kernel() -> None:
    result = run("verify", MISSING, "--format", "text")
    assert result.exit_code == 1
    assert "landed-kernel: the kernel as landed (v10: apic-primary, v9-andnot) fails" in (
        result.stdout
    )


@pytest.mark.parametrize(
    "asked",
    [
        ["--rule", "first-sibling"],
        ["--strategy", "v9-andnot"],
        ["--rule", "first-sibling", "--strategy", "v8-three-way"],
    ],
)
def test_an_explicit_rule_or_strategy_judges_only_what_was_asked(asked: list[str]) -> None:
    result = run("verify", MISSING, *asked, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "landed-kernel" not in checks(result.stdout)


def test_an_explicit_kernel_judges_only_that_kernel() -> None:
    """--kernel v10 reports the failure under its own checks, not as landed-kernel."""
    result = run("verify", MISSING, "--kernel", "v10", "--format", "json")
    assert result.exit_code == 1
    assert checks(result.stdout) == ["one-mask-cpu-per-core", "unprogrammed-core"]
    result = run("verify", MISSING, "--kernel", "v2", "--format", "json")
    assert "landed-kernel" not in checks(result.stdout)


def test_a_configured_rule_is_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configuration key is a choice too: it judges only what it names."""
    (tmp_path / "topologies").mkdir()
    (tmp_path / "topologies" / "m.yaml").write_bytes(Path(MISSING).read_bytes())
    (tmp_path / "rmpplan.toml").write_text('rule = "first-sibling"\n')
    monkeypatch.chdir(tmp_path)
    assert run("verify", "--format", "json").exit_code == 0
    (tmp_path / "rmpplan.toml").write_text('paths = ["topologies"]\n')
    result = run("verify", "--format", "json")
    assert result.exit_code == 1
    assert "landed-kernel" in checks(result.stdout)


def test_different_masks_that_both_pass_stay_a_note(tmp_path: Path) -> None:
    """Core 0's APIC primary is CPU 1, not its lowest thread: the masks differ, both pass."""
    topo = tmp_path / "swapped.yaml"
    topo.write_text(
        "name: swapped\ncpus:\n"
        "  - {id: 0, core: 0, apic_id: 1}\n  - {id: 1, core: 0, apic_id: 0}\n"
        "  - {id: 2, core: 1, apic_id: 2}\n  - {id: 3, core: 1, apic_id: 3}\n"
    )
    result = run("verify", str(topo), "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["findings"] == []
    assert any("builds another mask here: 1-2 instead of 0,2" in n for n in entry["notes"])


def test_plan_keeps_the_specified_default_rule() -> None:
    result = run("plan", MISSING, "--leader", "all", "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["rule"] == "first-sibling"
    assert report["rmpopt_cpumask"] == "0,2,4,6"


def test_summary_of_a_landed_failure_is_not_ok(tmp_path: Path) -> None:
    shard = tmp_path / "shard.jsonl"
    result = run("verify", MISSING, "--format", "jsonl")
    assert result.exit_code == 1
    shard.write_text(result.stdout)
    summary = run("summary", str(shard))
    assert summary.exit_code == 1
    assert "landed-kernel" in summary.stdout


def test_the_project_gate_expects_only_the_landed_failures_it_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`verify topologies docs/examples` exits 0 only because pyproject.toml expects
    the landed-kernel findings of the examples made to show them."""
    monkeypatch.chdir(ROOT)
    result = run("verify", "topologies", "docs/examples", "--format", "json")
    assert result.exit_code == 0, result.output
    landed = {
        entry["name"]
        for entry in json.loads(result.stdout)["results"]
        if any(item["check"] == "landed-kernel" for item in entry["findings"])
    }
    assert landed == {"apic-primary-missing", "maxcpus1-secondaries", "primary-offline"}
    for entry in json.loads(result.stdout)["results"]:
        assert all(item["expected"] for item in entry["findings"])


# An offline leader in case 3 ------------------------------------------------------------

TWO_THREADS = (
    "name: two-thread\ncpus:\n  - {id: 0, core: 0, apic_id: 0}\n  - {id: 1, core: 0, apic_id: 1}\n"
)


@pytest.fixture
def two_threads(tmp_path: Path) -> str:
    """One core of two threads: the mask is CPU 0; offline it and CPU 1 takes case 3."""
    topo = tmp_path / "two.yaml"
    topo.write_text(TWO_THREADS)
    return str(topo)


def finding(stdout: str, check: str) -> dict[str, Any]:
    (item,) = [item for item in findings(stdout) if item["check"] == check]
    return item


def test_v6_case3_on_an_offline_leader_fails_with_enxio(two_threads: str) -> None:
    """v6 reaches the leader with smp_call_function_single(): -ENXIO, the loop never runs."""
    result = run(
        "verify", two_threads, "--kernel", "v6", "--offline-after-setup", "0", "--format", "json"
    )
    assert result.exit_code == 1
    item = finding(result.stdout, "leader-online")
    assert "smp_call_function_single(0, rmpopt_leader_fn) returns -ENXIO" in item["message"]
    assert "generic_exec_single()" in item["message"]
    assert item["cpus"] == [1]
    assert finding(result.stdout, "core-missed")["cpus"] == [1]


def test_v8_case3_on_an_offline_leader_names_work_on_cpu(two_threads: str) -> None:
    """v8's work_on_cpu() runs the loop on a disassociated pool's worker: no core is sure."""
    result = run(
        "verify", two_threads, "--strategy", "v8-three-way", "--offline-after-setup", "0",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    item = finding(result.stdout, "leader-online")
    assert "work_on_cpu(0, rmpopt_leader_fn)" in item["message"]
    assert "disassociated" in item["message"]
    assert "-ENXIO" not in item["message"]


def test_v8_cannot_offline_the_leader(two_threads: str) -> None:
    """Under --kernel v8 hotplug is disabled before the mask is built: nothing to judge."""
    result = run(
        "verify", two_threads, "--kernel", "v8", "--offline-after-setup", "0", "--format", "json"
    )
    assert result.exit_code == 0
    assert findings(result.stdout) == []


def test_explain_shows_the_failed_call(two_threads: str) -> None:
    result = run(
        "explain", two_threads, "--leader", "1", "--kernel", "v6", "--offline-after-setup", "0",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    calls = [step["code"] for step in report["steps"]]
    assert any(code.startswith("smp_call_function_single(0, rmpopt_leader_fn") for code in calls)
    assert not any("work_on_cpu" in code for code in calls)
    (loop,) = [step for step in report["steps"] if step["code"].startswith("smp_call")]
    assert loop["result"] == "-ENXIO"
    checks_found = [item["check"] for item in report["findings"]]
    assert "leader-online" in checks_found
    assert "core-missed" in checks_found
    missed = next(item for item in report["findings"] if item["check"] == "core-missed")
    assert "its mask CPU 0 leads but is offline" in missed["message"]
    assert report["cores_missed"] == "0"


def test_explain_under_v8_three_way_shows_work_on_cpu(two_threads: str) -> None:
    result = run(
        "explain", two_threads, "--leader", "1", "--strategy", "v8-three-way",
        "--offline-after-setup", "0", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert any(step["code"].startswith("work_on_cpu(0,") for step in report["steps"])
    assert "leader-online" in [item["check"] for item in report["findings"]]


def test_compare_reports_the_offline_leader(two_threads: str) -> None:
    result = run(
        "compare", two_threads, "--kernel", "v6", "--offline-after-setup", "0", "--format", "json"
    )
    assert result.exit_code == 0  # compare's verdicts are data
    rows = json.loads(result.stdout)["results"]
    three_way = [row for row in rows if row["strategy"] == "v8-three-way"]
    assert three_way
    for row in three_way:
        leader = [item for item in row["findings"] if item["check"] == "leader-online"]
        assert leader
        assert "-ENXIO" in leader[0]["message"]
    others = [row for row in rows if row["strategy"] != "v8-three-way"]
    assert not any(item["check"] == "leader-online" for row in others for item in row["findings"])


# Each profile is its own version ---------------------------------------------------------

PRIMARY_OFFLINE = str(EXAMPLES / "primary-offline.yaml")


def verify_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("verify", *args, "--format", "json")
    (entry,) = json.loads(result.stdout)["results"]
    return result.exit_code, entry


def test_v3_is_not_v4() -> None:
    """v4 programs RMPOPT_BASE from the primary-thread mask, so CPU 10's core faults;
    v3 is modelled programming every online CPU, so the core is missed instead."""
    code, v4 = verify_json(PRIMARY_OFFLINE, "--kernel", "v4")
    assert code == 1
    assert "unprogrammed-core" in [item["check"] for item in v4["findings"]]
    code, v3 = verify_json(PRIMARY_OFFLINE, "--kernel", "v3")
    assert code == 1
    found = [item["check"] for item in v3["findings"]]
    assert "unprogrammed-core" not in found
    assert "core-missed" in found
    mask = next(item for item in v3["findings"] if item["check"] == "one-mask-cpu-per-core")
    assert "RMPOPT_BASE is written there, but the pass never reaches it" in mask["message"]


def test_v3_says_what_could_not_be_established() -> None:
    _, v3 = verify_json(PRIMARY_OFFLINE, "--kernel", "v3")
    assert any("could not be established" in note for note in v3["notes"])
    _, v4 = verify_json(PRIMARY_OFFLINE, "--kernel", "v4")
    assert not any("could not be established" in note for note in v4["notes"])


@pytest.mark.parametrize("command", ["verify", "plan", "explain"])
def test_v2_reports_no_rule(command: str) -> None:
    """v2 has no mask: its JSON says "rule": null, never a rule it does not use."""
    args = {"verify": [], "plan": ["--leader", "0"], "explain": ["--leader", "0"]}[command]
    result = run(command, PRIMARY_OFFLINE, *args, "--kernel", "v2", "--format", "json")
    report = json.loads(result.stdout)
    rule = report["results"][0]["rule"] if command == "verify" else report["rule"]
    assert rule is None
    result = run(command, PRIMARY_OFFLINE, *args, "--kernel", "v10", "--format", "json")
    report = json.loads(result.stdout)
    rule = report["results"][0]["rule"] if command == "verify" else report["rule"]
    assert rule == "apic-primary"


@pytest.mark.parametrize("fmt", ["text", "markdown", "junit", "github"])
def test_v2_reports_show_no_rule(fmt: str) -> None:
    result = run("verify", PRIMARY_OFFLINE, "--kernel", "v2", "--format", fmt)
    assert "first-sibling" not in result.stdout
    assert "none" in result.stdout


def steps(*args: str) -> list[str]:
    result = run("explain", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return [step["code"] for step in json.loads(result.stdout)["steps"]]


def test_explain_v3_shows_v3_calls() -> None:
    """No local copy (v6) and no migrate_disable() (v5) before they existed."""
    codes = steps(PRIMARY_OFFLINE, "--leader", "9", "--kernel", "v3")
    assert not any("cpumask_copy" in code or "migrate_disable" in code for code in codes)
    assert "cpumask_clear_cpu(9, &primary_threads_cpumask)" in codes
    assert any(code.startswith("for_each_online_cpu(cpu) wrmsrq_on_cpu") for code in codes)


def test_explain_v4_clears_and_restores_the_global_mask() -> None:
    codes = steps(PRIMARY_OFFLINE, "--leader", "9", "--kernel", "v4")
    assert not any("cpumask_copy" in code for code in codes)
    assert "cpumask_clear_cpu(9, &rmpopt_cpumask)" in codes
    assert any("migrate_disable() in v5" in code for code in codes)
    codes = steps(PRIMARY_OFFLINE, "--leader", "1", "--kernel", "v4")
    assert codes[-1] == "cpumask_set_cpu(1, &rmpopt_cpumask)"


@pytest.mark.parametrize(
    ("kernel", "call", "other"),
    [("v6", "smp_call_function_single(0,", "work_on_cpu"), ("v8", "work_on_cpu(0,", "smp_call")],
)
def test_explain_case3_call_is_the_versions(kernel: str, call: str, other: str) -> None:
    """CPU 10's core has no primary online: case 3, led by CPU 0 through the version's call."""
    codes = steps(PRIMARY_OFFLINE, "--leader", "10", "--kernel", kernel)
    assert "cpumask_copy(follower_mask, rmpopt_cpumask)" in codes
    assert any(code.startswith(call) for code in codes)
    assert not any(other in code for code in codes)


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "two.yaml", "--offline-after-setup", "0-1"],
        ["explain", "two.yaml", "--leader", "0", "--offline-after-setup", "0-1"],
        ["compare", "two.yaml", "--offline-after-setup", "0-1"],
        ["verify", "two.yaml", "--offline-after-setup", "0-1", "--kernel", "v10"],
    ],
)
def test_a_scenario_without_any_cpu_online_is_refused(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux never offlines its last CPU: a scenario that does is bad input, exit 2."""
    (tmp_path / "two.yaml").write_text(TWO_THREADS)
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert "Linux never offlines its last CPU" in result.stderr
    assert "Traceback" not in result.stderr
