"""The validator: named findings with counterexamples, and agreement with brute force."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rmpplan import checks
from rmpplan.checks import verify
from rmpplan.errors import InputError
from rmpplan.hotplug import Hotplug
from rmpplan.terms import Check, Rule, Strategy
from rmpplan.topology.machine import Cpu, Machine, build_machine
from tests.conftest import examples
from tests.machines import machines
from tests.oracle import PER_WORKER, brute_force


def fast(verdict: checks.Verdict) -> dict[Check, list[int]]:
    """The per-worker findings of a verdict, in the brute-force shape."""
    found: dict[Check, list[int]] = {name: [] for name in PER_WORKER}
    for item in verdict.findings:
        if item.check in found:
            found[item.check] = list(item.cpus)
    return found


def machine_of(spec: list[tuple[int, int, bool, int]]) -> Machine:
    """A one-package machine from (cpu, core, online, apic_id) tuples."""
    return build_machine("m", [Cpu(c, 0, 0, k, on, a) for c, k, on, a in spec])


# 2 cores x 2 threads, smt-last: core 0 = {0, 2}, core 1 = {1, 3}.
SMT2 = [(0, 0, True, 0), (1, 1, True, 2), (2, 0, True, 1), (3, 1, True, 3)]


@settings(max_examples=examples(150), deadline=None)
@given(
    machine=machines(),
    rule=st.sampled_from(list(Rule)),
    strategy=st.sampled_from(list(Strategy)),
    data=st.data(),
)
def test_fast_verdict_equals_brute_force(
    machine: Machine, rule: Rule, strategy: Strategy, data: st.DataObject
) -> None:
    """The O(CPUs + cores) proof gives the same failing workers as recounting per worker."""
    offline = sorted(machine.present - machine.online)
    online = sorted(machine.online)
    onlined = data.draw(st.sets(st.sampled_from(offline)) if offline else st.just(set()))
    offlined = data.draw(st.sets(st.sampled_from(online)) if online else st.just(set()))
    hotplug = Hotplug(frozenset(offlined), frozenset(onlined))
    assume((machine.online - hotplug.offline_after_setup) | hotplug.online_after_setup)
    handler_online = hotplug.handler_online(machine)
    verdict = verify(machine, rule, strategy, hotplug)
    assert fast(verdict) == brute_force(machine, rule, strategy, handler_online)


@settings(max_examples=examples(100), deadline=None)
@given(machine=machines(), rule=st.sampled_from(list(Rule)))
def test_v9_exactly_once_for_every_worker(machine: Machine, rule: Rule) -> None:
    """With every CPU online, v9-andnot covers every core exactly once from any worker."""
    everyone = build_machine(
        machine.name,
        [Cpu(c.id, c.package, c.die, c.core, True, c.apic_id) for c in machine.cpus.values()],
    )
    verdict = verify(everyone, rule, Strategy.V9_ANDNOT)
    assert verdict.ok, verdict.findings


def test_all_online_passes() -> None:
    """An SMT2 machine with every CPU online has no finding under v9 and first-sibling."""
    verdict = verify(machine_of(SMT2))
    assert verdict.ok
    assert verdict.mask == {0, 1}


def test_online_not_present_names_offline_cpus() -> None:
    """A present-but-offline CPU fails SNP init's precondition; cpus are the offline CPUs."""
    spec = [(0, 0, True, 0), (1, 1, True, 2), (2, 0, False, 1), (3, 1, False, 3)]
    verdict = verify(machine_of(spec))
    assert [f.check for f in verdict.findings] == [Check.ONLINE_EQUALS_PRESENT]
    assert verdict.findings[0].cpus == (2, 3)
    assert "SNP init refuses" in verdict.findings[0].message


def test_offline_primary_first_sibling_covers_core() -> None:
    """With CPU 0 offline, first-sibling picks CPU 2; only online != present fails."""
    spec = [(0, 0, False, 0), (1, 1, True, 2), (2, 0, True, 1), (3, 1, True, 3)]
    verdict = verify(machine_of(spec), Rule.FIRST_SIBLING)
    assert verdict.mask == {1, 2}
    assert [f.check for f in verdict.findings] == [Check.ONLINE_EQUALS_PRESENT]


def test_offline_primary_apic_rule_misses_core_and_ud() -> None:
    """Under apic-primary the core of an offline primary is uncovered and its thread #UDs."""
    spec = [(0, 0, False, 0), (1, 1, True, 2), (2, 0, True, 1), (3, 1, True, 3)]
    verdict = verify(machine_of(spec), Rule.APIC_PRIMARY)
    by_check = {f.check: f for f in verdict.findings}
    assert verdict.mask == {1}
    assert by_check[Check.ONE_MASK_CPU_PER_CORE].cpus == (2,)
    assert by_check[Check.UNPROGRAMMED_CORE].cpus == (2,)


def test_clear_cpu_fails_exactly_on_non_mask_workers() -> None:
    """clear-cpu runs a core twice exactly when the worker is not its core's mask CPU."""
    verdict = verify(machine_of(SMT2), strategy=Strategy.CLEAR_CPU)
    by_check = {f.check: f for f in verdict.findings}
    assert by_check[Check.CORE_RUN_TWICE].cpus == (2, 3)
    assert "runs every region 2 times" in by_check[Check.CORE_RUN_TWICE].message


def test_v8_case_three_unreachable_when_all_online() -> None:
    """On an all-online machine, v8's case 3 is reported unreachable."""
    verdict = verify(machine_of(SMT2), strategy=Strategy.V8_THREE_WAY)
    assert verdict.ok
    assert "case 3 unreachable on this machine" in verdict.notes


def test_cpu_onlined_after_setup_on_unprogrammed_core_ud() -> None:
    """A CPU onlined after setup on a core that was never programmed #UDs as the worker."""
    spec = [(0, 0, True, 0), (1, 1, False, 2), (2, 0, True, 1), (3, 1, False, 3)]
    verdict = verify(machine_of(spec), hotplug=Hotplug(online_after_setup=frozenset({1})))
    by_check = {f.check: f for f in verdict.findings}
    assert by_check[Check.UNPROGRAMMED_CORE].cpus == (1,)


def test_follower_offlined_after_setup_misses_core() -> None:
    """A mask CPU taken offline after setup leaves its core unoptimized."""
    verdict = verify(machine_of(SMT2), hotplug=Hotplug(offline_after_setup=frozenset({1})))
    by_check = {f.check: f for f in verdict.findings}
    assert by_check[Check.MASK_WITHIN_ONLINE].cpus == (1,)
    assert by_check[Check.CORE_MISSED].cpus == (0, 2)


@pytest.mark.parametrize(
    ("hotplug", "message"),
    [
        (Hotplug(offline_after_setup=frozenset({9})), "not a present CPU"),
        (Hotplug(online_after_setup=frozenset({0})), "already online"),
        (Hotplug(frozenset({0}), frozenset({0})), "both"),
    ],
)
def test_hotplug_refuses_non_changes(hotplug: Hotplug, message: str) -> None:
    """Hotplug changes must name present CPUs and really change their state."""
    with pytest.raises(InputError, match=message):
        verify(machine_of(SMT2), hotplug=hotplug)


def test_every_check_is_described() -> None:
    """Each named check has a one-line summary, and docs/checks.md explains it."""
    doc = (Path(__file__).parent.parent / "docs" / "checks.md").read_text(encoding="utf-8")
    for check in Check:
        assert check.summary and "\n" not in check.summary
        assert f"`{check}`" in doc, check
