"""explain: one handler run replayed, agreeing with verify for that worker."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rmpplan.checks import verify
from rmpplan.explain import PER_WORKER, case3_scenario, explain
from rmpplan.hotplug import Hotplug
from rmpplan.kernel import Kernel
from rmpplan.terms import Case, Check, Rule, Strategy
from rmpplan.topology.machine import Cpu, Machine, build_machine
from tests.cli import run
from tests.conftest import EXAMPLES, TOPOLOGIES, examples
from tests.machines import machines

EPYC9654 = str(TOPOLOGIES / "epyc-9654-2s.yaml")


def smt2(offline: tuple[int, ...] = ()) -> Machine:
    """4 cores x 2 threads, smt-last: core k = {k, k + 4}, APIC id 2k + thread."""
    return build_machine(
        "smt2",
        [
            Cpu(k + 4 * t, 0, 0, k, k + 4 * t not in offline, 2 * k + t)
            for k in range(4)
            for t in range(2)
        ],
    )


@settings(max_examples=examples(80), deadline=None)
@given(
    machine=machines(max_cpus=48),
    rule=st.sampled_from(list(Rule)),
    strategy=st.sampled_from(list(Strategy)),
    data=st.data(),
)
def test_explain_verdict_equals_verify_for_that_worker(
    machine: Machine, rule: Rule, strategy: Strategy, data: st.DataObject
) -> None:
    """For every worker, explain fails exactly the checks verify fails for it."""
    worker = data.draw(st.sampled_from(sorted(machine.online)))
    verdict = verify(machine, rule, strategy)
    expected = {
        item.check
        for item in verdict.findings
        if item.check not in PER_WORKER or worker in item.cpus
    }
    result = explain(machine, worker, rule, strategy)
    assert {item.check for item in result.findings} == expected
    assert result.ok == (not expected)


@settings(max_examples=examples(60), deadline=None)
@given(machine=machines(max_cpus=32, allow_offline=False), data=st.data())
def test_explain_follows_a_hotplug_scenario_like_verify(
    machine: Machine, data: st.DataObject
) -> None:
    """With a CPU offlined after setup, explain and verify still agree per worker."""
    gone = data.draw(st.sampled_from(sorted(machine.online)))
    assume(len(machine.online) > 1)
    scenario = Hotplug(offline_after_setup=frozenset({gone}))
    worker = data.draw(st.sampled_from(sorted(machine.online - {gone})))
    strategy = data.draw(st.sampled_from(list(Strategy)))
    verdict = verify(machine, Rule.FIRST_SIBLING, strategy, scenario)
    expected = {
        item.check
        for item in verdict.findings
        if item.check not in PER_WORKER or worker in item.cpus
    }
    result = explain(machine, worker, Rule.FIRST_SIBLING, strategy, scenario)
    assert {item.check for item in result.findings} == expected


def test_clear_cpu_on_a_secondary_names_the_operation() -> None:
    """The seed bug: clear_cpu from a secondary runs its core twice, and says why."""
    result = explain(smt2(), 5, Rule.FIRST_SIBLING, Strategy.CLEAR_CPU)
    assert result.cores_twice == (1,)
    twice = next(item for item in result.findings if item.check is Check.CORE_RUN_TWICE)
    assert "cpumask_clear_cpu(5, follower_mask) removed only the worker" in twice.message
    assert [step.code for step in result.steps][-4:-2] == [
        "cpumask_copy(follower_mask, rmpopt_cpumask)",
        "cpumask_clear_cpu(5, follower_mask)",
    ]


def test_v9_andnot_from_a_secondary_is_right() -> None:
    """The andnot form drops the worker's whole core, whichever thread it runs on."""
    result = explain(smt2(), 5, Rule.FIRST_SIBLING, Strategy.V9_ANDNOT)
    assert result.ok and result.case is Case.ANDNOT
    assert result.followers == {0, 2, 3}
    assert any(
        step.code == "cpumask_andnot(follower_mask, rmpopt_cpumask, topology_sibling_cpumask(5))"
        and step.result == "0,2-3"
        for step in result.steps
    )


def test_case3_under_apic_rule_with_an_offline_primary() -> None:
    """v8 case 3: the mask's first CPU leads via work_on_cpu; explain shows the branch."""
    result = explain(smt2(offline=(1,)), 5, Rule.APIC_PRIMARY, Strategy.V8_THREE_WAY)
    assert result.case is Case.CASE_3
    assert result.leader == 0
    codes = [step.code for step in result.steps]
    assert "leader = cpumask_first(follower_mask)" in codes
    assert "work_on_cpu(0, rmpopt_leader_fn): rmpopt(pa) for every region" in codes


def test_case3_unreachable_gives_the_smallest_scenario() -> None:
    """With every CPU online, case 3 is unreachable; the scenario found really reaches it."""
    machine = smt2()
    apic = case3_scenario(machine, Rule.APIC_PRIMARY)
    assert "CPU 0 offline at boot" in apic and "CPU 4 takes case 3" in apic
    first = case3_scenario(machine, Rule.FIRST_SIBLING)
    assert "offline_after_setup 0" in first and "CPU 4 takes case 3" in first
    reached = explain(
        machine,
        4,
        Rule.FIRST_SIBLING,
        Strategy.V8_THREE_WAY,
        Hotplug(offline_after_setup=frozenset({0})),
    )
    assert reached.case is Case.CASE_3
    lone = build_machine("one", [Cpu(0, 0, 0, 0, True, 0), Cpu(1, 0, 0, 1, True, 1)])
    assert case3_scenario(lone, Rule.FIRST_SIBLING).endswith(
        "no single CPU changing state reaches it"
    )


def test_explain_notes_the_scenario_under_v6() -> None:
    """explain of the 9654 under v6 takes case 2 and names a scenario for case 3."""
    doc = json.loads(
        run("explain", EPYC9654, "--leader", "200", "--kernel", "v6", "--format", "json").stdout
    )
    assert doc["case"] == "case 2" and doc["ok"] is True
    assert doc["kernel"] == "v6" and doc["rule"] == "apic-primary"
    assert any("smallest scenario" in note for note in doc["notes"])


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["explain", EPYC9654, "--leader", "200"], 0),
        (["explain", EPYC9654, "--leader", "200", "--strategy", "clear-cpu"], 1),
        (["explain", str(EXAMPLES / "primary-offline.yaml"), "--leader", "10"], 1),
    ],
)
def test_explain_exit_codes(args: list[str], code: int) -> None:
    """explain exits 0 for a right pass and 1 when a check fails."""
    assert run(*args).exit_code == code


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["explain", EPYC9654, "--leader", "999"], "--leader: CPU 999 is not a CPU of"),
        (["explain", str(EXAMPLES / "primary-offline.yaml"), "--leader", "2"], "is not online"),
        (["explain", EPYC9654], "Missing option '--leader'"),
    ],
)
def test_explain_bad_input(args: list[str], needle: str) -> None:
    """Bad workers are one line, exit 2."""
    result = run(*args)
    assert result.exit_code == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_kernel_v10_makes_hotplug_scenarios_impossible() -> None:
    """Under v10 a hotplug scenario yields no finding and a note naming snp_prepare()."""
    path = str(EXAMPLES / "hotplug-offline-follower.yaml")
    assert run("verify", path).exit_code == 1
    result = run("verify", path, "--kernel", "v10", "--rule", "first-sibling", "--format", "json")
    doc = json.loads(result.stdout)
    entry = doc["results"][0]
    assert entry["kernel"] == "v10" and entry["findings"] == []
    assert any("cpu_hotplug_disable() in snp_prepare()" in note for note in entry["notes"])
    assert any("--rule first-sibling replaces v10's apic-primary" in n for n in entry["notes"])
    assert result.exit_code == 0


def test_kernel_v6_still_judges_hotplug() -> None:
    """Before v8 hotplug can happen after setup, so the scenario is judged as without --kernel."""
    path = str(EXAMPLES / "hotplug-offline-follower.yaml")
    doc = json.loads(run("verify", path, "--kernel", "v6", "--format", "json").stdout)
    assert {item["check"] for item in doc["results"][0]["findings"]} >= {"mask-within-online"}


def test_without_kernel_a_note_says_when_the_landed_mask_differs() -> None:
    """No --kernel: verify notes that v10's APIC-primary mask differs, naming the core."""
    doc = json.loads(
        run("verify", str(EXAMPLES / "primary-offline.yaml"), "--format", "json").stdout
    )
    notes = doc["results"][0]["notes"]
    assert any("kernel as landed (v10" in note and "start at CPU(s) 2" in note for note in notes)
    same = json.loads(run("plan", EPYC9654, "--leader", "0", "--format", "json").stdout)
    assert same["notes"] == [] and same["kernel"] is None


@pytest.mark.parametrize("kernel", list(Kernel))
def test_every_profile_runs(kernel: Kernel) -> None:
    """Every profile plans and verifies a bundled machine, naming itself in JSON."""
    doc = json.loads(
        run("plan", EPYC9654, "--leader", "200", "--kernel", kernel, "--format", "json").stdout
    )
    assert doc["kernel"] == str(kernel)
