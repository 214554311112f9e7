"""Tests that kill the mutants the other tests let through (bench/mutants.py).

Each pins one behaviour that a one-operator change of the core got past every
other test with; CONTRIBUTING.md ("Mutation testing") lists the survivors left.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan.checks import (
    LOG_CHECKS,
    Checked,
    MachineFacts,
    checks_run,
    compare,
    outcome,
    verify,
)
from rmpplan.cpumask import CpulistMinus, format_cpulist, parse_cpulist, parse_hexmask
from rmpplan.errors import InputError, MaskError
from rmpplan.explain import explain
from rmpplan.hotplug import Hotplug
from rmpplan.inputs import load_machine
from rmpplan.kernel import PROFILES, modelled
from rmpplan.plan import dispatch, plan
from rmpplan.strategies import STRATEGIES
from rmpplan.terms import Check, Kernel, Rule, Strategy
from rmpplan.topology.machine import Cpu, build_machine
from tests.conftest import EXAMPLES, examples

# --- cpumask ----------------------------------------------------------------------------


@settings(max_examples=examples(100))
@given(
    st.frozensets(st.integers(0, 64), max_size=40),
    st.frozensets(st.integers(0, 64), max_size=6),
)
def test_cpulist_minus_is_the_cpulist_of_the_difference(
    base: frozenset[int], removed: frozenset[int]
) -> None:
    """CpulistMinus(base)(removed) prints exactly format_cpulist(base - removed): a run
    left of a removed CPU is cut before it (never an empty run), the runs after the
    edited one follow once, in order."""
    minus = CpulistMinus(base)
    assert minus(removed) == format_cpulist(base - removed)
    assert minus(set(removed)) == format_cpulist(base - removed)


def test_cpulist_minus_edits_runs_in_order() -> None:
    """Removing from two runs of four keeps every other run once, in order."""
    minus = CpulistMinus({0, 1, 2, 3, 5, 6, 7, 9, 11, 12, 13})
    assert minus(frozenset({0, 6})) == "1-3,5,7,9,11-13"
    assert minus(frozenset({12, 13})) == "0-3,5-7,9,11"
    assert minus([5]) == "0-3,6-7,9,11-13"


def test_an_end_that_wraps_the_group_size_is_named_as_such() -> None:
    """A plain region ending at 4294967295 is refused for the wrap of its implied
    group size (end + 1 in 32 bits), not as a pattern whose group size is 0."""
    with pytest.raises(MaskError) as caught:
        parse_cpulist("4294967295", 8)
    assert "end 4294967295 wraps the kernel's 32-bit group size to 0" in str(caught.value)
    with pytest.raises(MaskError) as caught:
        parse_cpulist("0-3:1/0", 8)
    assert str(caught.value).endswith("group size is 0")


@pytest.mark.parametrize(
    ("text", "chunk"),
    [
        ("ff,123456789", "123456789"),
        ("1 , 123456789", "123456789"),
        ("123456789", "123456789"),
        ("ff,12x4", "12x4"),
        ("ab,cd,12x4", "12x4"),
    ],
)
def test_a_hex_chunk_error_quotes_the_whole_chunk(text: str, chunk: str) -> None:
    """A bad hex mask chunk is quoted whole, from the separator before it to its end."""
    with pytest.raises(MaskError) as caught:
        parse_hexmask(text, 64)
    assert f"hex mask chunk '{chunk}'" in str(caught.value)


def test_a_hex_mask_past_nbits_names_its_highest_bit() -> None:
    """The EOVERFLOW of a hex mask names the highest bit it sets and the last bit."""
    with pytest.raises(MaskError) as caught:
        parse_hexmask("100", 8)
    assert str(caught.value) == "EOVERFLOW: hex mask sets bit 8, past the last bit 7 (nbits 8)"
    with pytest.raises(MaskError) as caught:
        parse_hexmask("300,00000000", 40)
    assert "sets bit 41, past the last bit 39 (nbits 40)" in str(caught.value)


# --- plan -------------------------------------------------------------------------------


def test_a_dispatch_is_a_hashable_value() -> None:
    """A Dispatch is an immutable value: equal passes hash alike, fields cannot change."""
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    mask = machine.online
    one, again = dispatch(machine, mask, min(mask)), dispatch(machine, mask, min(mask))
    assert one == again and hash(one) == hash(again)
    assert len({one, again}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.worker = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", ["apic-primary-missing.yaml", "primary-offline.yaml"])
def test_a_leader_on_an_unprogrammed_core_is_flagged_and_warned(name: str) -> None:
    """A worker whose leader's core has no CPU in the mask is flagged
    (leader_core_programmed False) and named in the plan's #UD warning; a worker
    with no leader (the all-CPU loop) never is."""
    machine = load_machine(EXAMPLES / name)
    workers = tuple(sorted(machine.online))
    result = plan(machine, workers, Rule.APIC_PRIMARY)
    programmed = {machine.core_index(cpu) for cpu in result.mask}
    flagged = []
    for item in result.plans:
        assert item.leader is not None
        expected = machine.core_index(item.leader) in programmed
        assert item.leader_core_programmed == expected
        if not expected:
            flagged.append(item.worker)
    assert flagged
    (warning,) = [w for w in result.warnings if "raises #UD" in w]
    assert warning.startswith(f"leader CPU {format_cpulist(flagged)}: the core has no CPU")
    loop = plan(machine, workers, Rule.APIC_PRIMARY, Strategy.V2_ALL_CPUS)
    assert all(item.leader is None and item.leader_core_programmed for item in loop.plans)
    assert not any("raises #UD" in w for w in loop.warnings)


# --- kernel -----------------------------------------------------------------------------


def test_the_hotplug_guard_is_the_profiles() -> None:
    """A modelled kernel's hotplug guard is its profile's; with no kernel there is none."""
    assert modelled(None).hotplug_guard is None
    assert any(profile.hotplug_guard for profile in PROFILES.values())
    for kernel, profile in PROFILES.items():
        assert modelled(kernel).hotplug_guard == profile.hotplug_guard


# --- explain ----------------------------------------------------------------------------

HOTPLUG_STEP = "CPU hotplug after setup"


def test_explain_drops_the_hotplug_scenario_only_under_a_guarding_kernel() -> None:
    """The file's hotplug scenario is a step of the replay, except under a kernel
    whose profile makes CPU hotplug impossible after setup."""
    machine = load_machine(EXAMPLES / "hotplug-offline-follower.yaml")
    hotplug = machine.hotplug
    assert hotplug is not None
    assert hotplug.handler_online(machine) != machine.online
    for kernel in (None, *PROFILES):
        guarded = kernel is not None and PROFILES[kernel].hotplug_guard is not None
        told = explain(machine, 0, kernel=kernel)
        codes = [s.code for s in told.steps]
        assert any(code.startswith(HOTPLUG_STEP) for code in codes) is not guarded, kernel
        assert told.online == (machine.online if guarded else hotplug.handler_online(machine))


def test_explain_tells_how_to_reach_a_rare_branch_instead_of_calling_it_unreachable() -> None:
    """When no worker takes v8's case 3, explain gives the scenario that reaches it
    (or says none does) in place of verify's bare "unreachable" note, never both."""
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    verdict = verify(machine, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY)
    assert "case 3 unreachable on this machine" in verdict.notes
    notes = explain(machine, 0, strategy=Strategy.V8_THREE_WAY).notes
    (case3,) = [note for note in notes if note.startswith("case 3")]
    assert case3 != "case 3 unreachable on this machine"


def test_explain_of_the_all_cpu_loop_shows_its_loop() -> None:
    """Under v2 (no leader) explain still shows the loop that sends every region to
    every online CPU: a kernel line is hidden only when it is marked leader-only."""
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    steps = explain(machine, 0, strategy=Strategy.V2_ALL_CPUS).steps
    (loop,) = [s for s in steps if s.code.startswith("on_each_cpu_mask(cpu_online_mask")]
    assert loop.result == format_cpulist(machine.online)


# --- shared records ---------------------------------------------------------------------


def _records() -> list[object]:
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    result = plan(machine, (0,))
    told = explain(machine, 0)
    record = STRATEGIES[Strategy.V8_THREE_WAY]
    profile = PROFILES[Kernel.V10]
    return [
        dispatch(machine, result.mask, 0),
        result,
        result.plans[0],
        told,
        told.steps[0],
        record,
        record.step(0, frozenset({0}), result.mask, 0),
        record.loop or STRATEGIES[Strategy.V2_ALL_CPUS].loop,
        profile,
        profile.handler,
        modelled(Kernel.V10),
        outcome(verify(machine)),
        compare(machine),
        MachineFacts.of(machine),
        Checked("nosmt.yaml", machine, verify(machine)),
    ]


@pytest.mark.parametrize("value", _records(), ids=lambda v: type(v).__name__)
def test_the_cores_values_are_frozen(value: object) -> None:
    """The core's results and its module-level records (strategy records, kernel
    profiles) are immutable: no caller can change what another caller reads."""
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)


def test_only_a_strategy_that_leads_elsewhere_checks_its_leader_online() -> None:
    """leader-online is checked for v8-three-way alone (case 3 may pick another CPU
    to lead), and under v8 it finds the offline leader of case 3; every other
    strategy leads on the worker, which runs, so the check is not run for it."""
    for strategy in Strategy:
        ran = Check.LEADER_ONLINE in checks_run(strategy)
        assert ran is (strategy is Strategy.V8_THREE_WAY), strategy
    machine = load_machine(EXAMPLES / "case3-offline-leader.yaml")
    scenario = Hotplug(offline_after_setup=frozenset({0}), online_after_setup=frozenset())
    verdict = verify(machine, Rule.FIRST_SIBLING, Strategy.V8_THREE_WAY, scenario)
    assert Check.LEADER_ONLINE in {finding.check for finding in verdict.findings}


def test_explain_names_the_ud_of_a_leader_on_an_unprogrammed_core() -> None:
    """A leader whose core has no programmed CPU gets the #UD note; a leader that
    is not programmed itself but has a programmed sibling does not."""
    machine = load_machine(EXAMPLES / "apic-primary-missing.yaml")
    result = plan(machine, tuple(sorted(machine.online)), Rule.APIC_PRIMARY)
    ud = "#UD: no CPU of this core wrote RMPOPT_BASE"
    for item in result.plans:
        assert item.leader is not None
        notes = [s.note for s in explain(machine, item.worker, Rule.APIC_PRIMARY).steps]
        assert (ud in notes) is not item.leader_core_programmed, item.worker
    assert any(item.leader not in result.mask for item in result.plans)


def test_explain_restores_the_mask_only_where_the_kernel_does() -> None:
    """The step that puts the worker back into the mask is shown only for a kernel
    whose handler restores it, and only for a worker in the mask."""
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    assert 0 in machine.online
    for kernel, profile in PROFILES.items():
        codes = [s.code for s in explain(machine, 0, kernel=kernel).steps]
        restore = f"cpumask_set_cpu(0, &{profile.handler.mask})"
        assert (restore in codes) is profile.handler.restores, kernel


def test_a_verdict_without_a_kernel_log_does_not_claim_one() -> None:
    """Only a run given a kernel log (--dmesg) marks the verdict as log-checked, and
    only a run that judged the kernel as landed marks it landed-checked."""
    machine = load_machine(EXAMPLES / "nosmt.yaml")
    verdict = verify(machine)
    assert not verdict.log_checked
    assert not verdict.landed_checked


def test_checks_run_lists_log_and_landed_checks_only_when_asked() -> None:
    """By default a run lists neither the kernel-log checks nor landed-kernel; each
    is listed when its judgement was made."""
    for strategy in Strategy:
        plain = set(checks_run(strategy))
        assert not plain & {*LOG_CHECKS, Check.LANDED_KERNEL}
        assert set(LOG_CHECKS) <= set(checks_run(strategy, log=True))
        assert Check.LANDED_KERNEL in checks_run(strategy, landed=True)


def test_an_outcome_marks_each_finding_expected_or_not() -> None:
    """outcome() pairs every finding with whether its check was expected, in the
    verdict's order, as it splits them."""
    machine = load_machine(EXAMPLES / "primary-offline.yaml")
    verdict = verify(machine, Rule.APIC_PRIMARY)
    checks = [item.check for item in verdict.findings]
    assert len(set(checks)) > 1
    expect = frozenset(checks[:1])
    held = outcome(verdict, expect)
    assert [item for item, _ in held.findings] == list(verdict.findings)
    assert [flag for _, flag in held.findings] == [check in expect for check in checks]
    assert held.expected and held.unexpected


def test_explain_of_case_3_with_an_empty_mask_shows_no_leader_to_clear() -> None:
    """v8's case 3 on a machine whose mask is empty (the only primary thread is
    offline) shows every branch test and the empty pick, but no line that needs a
    leader (clearing it from the followers)."""
    machine = build_machine("empty-mask", [Cpu(0, 0, 0, 0, False, 0), Cpu(1, 0, 0, 0, True, 1)])
    told = explain(machine, 1, Rule.APIC_PRIMARY, Strategy.V8_THREE_WAY)
    assert told.leader is None
    codes = [s.code for s in told.steps]
    assert "cpumask_copy(follower_mask, rmpopt_cpumask)" in codes
    assert "cpumask_test_cpu(1, follower_mask)" in codes
    assert "leader = cpumask_first(follower_mask)" in codes
    assert not any(code.startswith("cpumask_clear_cpu") for code in codes)


def test_compare_skips_a_rule_the_machine_cannot_evaluate_unless_strict() -> None:
    """compare() skips apic-primary, with its reason, on a machine without APIC
    ids; with strict_rules that is bad input instead."""
    machine = build_machine("no-apic", [Cpu(0, 0, 0, 0, True, None), Cpu(1, 0, 0, 0, True, None)])
    loose = compare(machine)
    (reason,) = loose.skipped
    assert reason.startswith("apic-primary skipped: ")
    assert {verdict.rule for verdict in loose.verdicts} == {Rule.FIRST_SIBLING}
    with pytest.raises(InputError):
        compare(machine, strict_rules=True)


@pytest.mark.parametrize(
    ("apic_ids", "gone", "worker"),
    [
        ((0, 1, 2, 3), 0, 1),
        # Core 0 has two primary threads (APIC ids 0 and 2): one offline at boot
        # leaves the other in the mask (case 1), so the search moves on to core 1.
        ((0, 2, 4, 5), 2, 3),
    ],
)
def test_explain_reaches_case_3_under_apic_primary_by_a_boot_time_offline(
    apic_ids: tuple[int, ...], gone: int, worker: int
) -> None:
    """Under apic-primary, explain's way to v8's case 3 takes a core's primary thread
    offline at boot, every other CPU as it is, and names that CPU and the sibling
    whose handler then takes case 3."""
    cpus = [Cpu(cpu, 0, 0, cpu // 2, True, apic) for cpu, apic in enumerate(apic_ids)]
    machine = build_machine("two-cores", cpus)
    notes = explain(machine, 0, Rule.APIC_PRIMARY, Strategy.V8_THREE_WAY).notes
    (case3,) = [note for note in notes if note.startswith("case 3")]
    assert f"CPU {gone} offline at boot (maxcpus=)" in case3
    assert f"the handler on CPU {worker} takes case 3" in case3
