"""rmpplan.kernel directly: profile resolution, the notes it writes, and the
per-version facts explain and verify draw from it."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rmpplan.checks import verify
from rmpplan.explain import PER_WORKER, _Replay, explain
from rmpplan.hotplug import Hotplug
from rmpplan.inputs import load_machine
from rmpplan.kernel import (
    LANDED,
    PROFILES,
    Kernel,
    LeaderCall,
    case3_call,
    kernel_notes,
    modelled,
    programming,
)
from rmpplan.landed import with_landed
from rmpplan.plan import rmpopt_cpumask
from rmpplan.terms import Check, Rule, Strategy
from rmpplan.topology.machine import Machine
from tests.conftest import EXAMPLES
from tests.machines import machines

PRIMARY_OFFLINE = EXAMPLES / "primary-offline.yaml"


def test_a_rule_equal_to_the_profiles_is_no_what_if() -> None:
    assert modelled(Kernel.V10, Rule.APIC_PRIMARY).overrides == ()
    assert modelled(Kernel.V10, strategy=Strategy.V9_ANDNOT).overrides == ()
    (note,) = modelled(Kernel.V10, Rule.FIRST_SIBLING).overrides
    assert note == "rule first-sibling replaces v10's apic-primary (what-if)"
    (note,) = modelled(Kernel.V6, strategy=Strategy.V9_ANDNOT).overrides
    assert note == "strategy v9-andnot replaces v6's v8-three-way (what-if)"


def test_only_a_choice_of_nothing_judges_the_landed_kernel() -> None:
    assert modelled(None).judge_landed
    assert not modelled(None, Rule.FIRST_SIBLING).judge_landed
    assert not modelled(None, strategy=Strategy.V9_ANDNOT).judge_landed
    assert not modelled(LANDED).judge_landed


def test_the_landed_mask_note_is_not_written_under_v2() -> None:
    machine = load_machine(PRIMARY_OFFLINE)
    landed = [n for n in kernel_notes(machine, modelled(None)) if "kernel as landed" in n]
    assert len(landed) == 1
    v2 = modelled(None, strategy=Strategy.V2_ALL_CPUS)
    assert not any("kernel as landed" in n for n in kernel_notes(machine, v2))
    assert not any("kernel as landed" in n for n in kernel_notes(machine, modelled(Kernel.V2)))


def test_only_v3_carries_a_profile_note() -> None:
    machine = load_machine(PRIMARY_OFFLINE)
    noted = {
        k
        for k in Kernel
        if any("could not be established" in n for n in kernel_notes(machine, modelled(k)))
    }
    assert noted == {Kernel.V3}


def test_case3_calls() -> None:
    assert case3_call(Kernel.V6) is LeaderCall.IPI
    assert case3_call(Kernel.V8) is LeaderCall.WORK_ON_CPU
    assert case3_call(None) is LeaderCall.WORK_ON_CPU
    assert case3_call(Kernel.V10) is LeaderCall.WORK_ON_CPU


def test_programming() -> None:
    mask, online = frozenset({0}), frozenset({0, 1})
    assert programming(Kernel.V3, Strategy.CLEAR_CPU, mask, online) == online
    assert programming(Kernel.V4, Strategy.CLEAR_CPU, mask, online) == mask
    assert programming(None, Strategy.V2_ALL_CPUS, mask, online) == online
    assert programming(None, Strategy.V9_ANDNOT, mask, online) == mask
    assert [k for k in Kernel if PROFILES[k].programs_online] == [Kernel.V3]


def test_with_landed_adds_only_what_the_default_misses() -> None:
    machine = load_machine(PRIMARY_OFFLINE)
    default = verify(machine)
    judged = with_landed(machine, default)
    assert judged.landed_checked
    added = [item for item in judged.findings if item.check is Check.LANDED_KERNEL]
    assert len(judged.findings) == len(default.findings) + len(added)
    # online-equals-present is the same under both: not repeated.
    assert not any("fails online-equals-present" in item.message for item in added)
    assert {item.cpus for item in added} == {(10,)}


def test_explain_missed_core_says_offline_or_lost() -> None:
    """The two ways a programmed core is missed are told apart."""
    follower = load_machine(EXAMPLES / "hotplug-offline-follower.yaml")
    result = explain(follower, 0)
    (missed,) = [item for item in result.findings if item.check is Check.CORE_MISSED]
    assert "are offline when the handler runs, and on_each_cpu_mask() skips" in missed.message
    assert "lost" not in missed.message
    machine = load_machine(PRIMARY_OFFLINE)
    mask = rmpopt_cpumask(machine, Rule.FIRST_SIBLING)
    replay = _Replay(machine, 0, mask, machine.online, mask)
    lost = replay._missed(machine.core_index(3), frozenset(), None)
    assert "follower_mask lost its mask CPU(s) 3 and the leader runs on another core" in lost
    assert "offline" not in lost


@settings(max_examples=60, deadline=None)
@given(
    machine=machines(max_cpus=24, allow_offline=False),
    kernel=st.sampled_from([None, Kernel.V4, Kernel.V6]),
    rule=st.sampled_from(list(Rule)),
    data=st.data(),
)
def test_explain_agrees_with_verify_per_profile(
    machine: Machine, kernel: Kernel | None, rule: Rule, data: st.DataObject
) -> None:
    """Under each profile that allows hotplug, with a CPU offlined after setup, explain
    fails exactly the checks verify fails for that worker (offline leaders included)."""
    assume(len(machine.online) > 1)
    assume(rule is Rule.FIRST_SIBLING or all(c.apic_id is not None for c in machine.cpus.values()))
    gone = data.draw(st.sampled_from(sorted(machine.online)))
    scenario = Hotplug(offline_after_setup=frozenset({gone}))
    worker = data.draw(st.sampled_from(sorted(machine.online - {gone})))
    model = modelled(kernel, rule, Strategy.V8_THREE_WAY if kernel is None else None)
    verdict = verify(machine, model.rule, model.strategy, scenario, kernel=kernel)
    expected = {
        item.check
        for item in verdict.findings
        if item.check not in PER_WORKER or worker in item.cpus
    }
    result = explain(machine, worker, model.rule, model.strategy, scenario, kernel=kernel)
    assert {item.check for item in result.findings} == expected
