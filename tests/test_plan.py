"""Mask rules, leaders and handler strategies, against the kernel's definitions."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rmpplan.checks import verify
from rmpplan.cpuspec import CpuSpec, resolve_workers
from rmpplan.errors import InputError, MaskError, OptionError, ParameterError
from rmpplan.plan import HANDLERS, apic_primaries, dispatch, plan, rmpopt_cpumask
from rmpplan.terms import Case, Check, Rule, Strategy
from rmpplan.topology.machine import Cpu, Machine, build_machine
from tests.conftest import examples
from tests.machines import machines
from tests.oracle import handler


def smt2(offline: Collection[int] = (), apic: bool = True) -> Machine:
    """4 cores x 2 threads, smt-last: core k = {k, k + 4}, APIC id 2k + thread."""
    cpus = [
        Cpu(k + 4 * t, 0, 0, k, k + 4 * t not in offline, (2 * k + t) if apic else None)
        for k in range(4)
        for t in range(2)
    ]
    return build_machine("smt2", cpus)


def test_first_sibling_is_lowest_online_thread() -> None:
    """first-sibling takes each core's lowest online CPU, even a secondary."""
    assert rmpopt_cpumask(smt2()) == {0, 1, 2, 3}
    assert rmpopt_cpumask(smt2({1})) == {0, 5, 2, 3}
    assert rmpopt_cpumask(smt2({1, 5})) == {0, 2, 3}


def test_apic_primary_ignores_cpu_numbers_and_leaves_core_out() -> None:
    """apic-primary tests the APIC id, so an offline primary leaves its core out."""
    assert apic_primaries(smt2({1})) == {0, 1, 2, 3}
    assert rmpopt_cpumask(smt2({1}), Rule.APIC_PRIMARY) == {0, 2, 3}


def test_apic_primary_needs_apic_ids() -> None:
    """Without APIC ids the rule is bad input naming the first CPU that lacks one."""
    with pytest.raises(InputError, match="CPU 0 has none"):
        rmpopt_cpumask(smt2(apic=False), Rule.APIC_PRIMARY)


def test_v9_followers_for_primary_and_secondary_leaders() -> None:
    """v9: followers = mask andnot sibling(leader), the same from either thread of a core."""
    machine = smt2()
    mask = rmpopt_cpumask(machine)
    assert dispatch(machine, mask, 1).followers == {0, 2, 3}
    assert dispatch(machine, mask, 5).followers == {0, 2, 3}


def test_clear_cpu_on_secondary_keeps_own_core() -> None:
    """clear-cpu from a secondary thread sends its own core's primary an IPI too."""
    machine = smt2()
    step = dispatch(machine, rmpopt_cpumask(machine), 5, Strategy.CLEAR_CPU)
    assert step.followers == {0, 1, 2, 3}


def test_v8_cases() -> None:
    """v8: case 1 on a mask CPU, case 2 on its sibling, case 3 on an unprogrammed core."""
    machine = smt2({1})
    mask = rmpopt_cpumask(machine, Rule.APIC_PRIMARY)
    assert dispatch(machine, mask, 0, Strategy.V8_THREE_WAY).case is Case.CASE_1
    assert dispatch(machine, mask, 4, Strategy.V8_THREE_WAY).case is Case.CASE_2
    third = dispatch(machine, mask, 5, Strategy.V8_THREE_WAY)
    assert third.case is Case.CASE_3
    assert third.leader == 0
    assert third.followers == {2, 3}


def workers(machine: Machine, text: str) -> tuple[int, ...]:
    """The workers a --leader value names on ``machine``."""
    return resolve_workers(CpuSpec.parse(text, allow_all=True), machine)


def test_leader_specs() -> None:
    """Leaders are 'all' or a cpulist of online CPUs; N is the machine's last CPU."""
    machine = smt2({5})
    assert workers(machine, "all") == (0, 1, 2, 3, 4, 6, 7)
    assert workers(machine, "1-2,7") == (1, 2, 7)
    assert workers(machine, "N") == (7,)
    assert workers(machine, "6-N") == (6, 7)
    # The core names its parameter; the command line says --leader (test_api_equals_cli).
    with pytest.raises(ParameterError, match="workers: CPU 5 is offline") as caught:
        workers(machine, "5")
    assert caught.value.param == "workers"
    with pytest.raises(ParameterError, match="workers: CPU 8 is not a CPU of smt2"):
        workers(machine, "8")
    with pytest.raises(MaskError, match="EINVAL"):
        workers(machine, "1-")


def test_option_errors_do_not_blame_the_file() -> None:
    """A flag that does not fit the machine is not located in the topology file."""
    err = OptionError("--leader: CPU 9 is offline")
    assert err.located("topo.yaml") is err
    assert str(InputError("bad").located("topo.yaml")) == "topo.yaml: bad"


def test_every_strategy_has_one_handler() -> None:
    """HANDLERS defines every strategy, once."""
    assert set(HANDLERS) == set(Strategy)


def test_plan_per_core_reuse_matches_dispatch() -> None:
    """plan's per-core sharing gives each worker the same followers as dispatch."""
    machine = smt2()
    result = plan(machine, workers(machine, "all"))
    for item in result.plans:
        followers = result.mask - item.removed
        assert followers == dispatch(machine, result.mask, item.worker).followers
        assert item.cores_covered == 4


@settings(max_examples=examples(100), deadline=None)
@given(
    machine=machines(),
    rule=st.sampled_from(list(Rule)),
    strategy=st.sampled_from(list(Strategy)),
)
def test_plan_and_dispatch_agree_with_the_oracle(
    machine: Machine, rule: Rule, strategy: Strategy
) -> None:
    """The one definition per strategy, in both derived forms, equals the readable model."""
    result = plan(machine, tuple(sorted(machine.online)), rule, strategy)
    for item in result.plans:
        model = handler(machine, result.mask, item.worker, strategy, machine.online)
        quick = dispatch(machine, result.mask, item.worker, strategy)
        assert result.mask - item.removed == quick.followers == model.followers
        assert item.follower_count == len(model.followers)
        leaders = frozenset() if item.leader is None else {item.leader}
        assert leaders == model.leaders
        assert str(item.case) == str(quick.case) == model.case
        runs = {machine.core_index(c) for c in model.followers | model.leaders}
        programmed = {machine.core_index(c) for c in result.mask}
        assert item.cores_covered == len(runs & programmed)


@settings(max_examples=examples(100), deadline=None)
@given(machine=machines(), rule=st.sampled_from(list(Rule)))
def test_clear_cpu_fails_iff_worker_not_mask_cpu(machine: Machine, rule: Rule) -> None:
    """With every CPU online, clear-cpu double-runs exactly the workers not in the mask."""
    everyone = build_machine(
        "m", [Cpu(c.id, c.package, c.die, c.core, True, c.apic_id) for c in machine.cpus.values()]
    )
    mask = rmpopt_cpumask(everyone, rule)
    assume(len(mask) == len(everyone.cores))  # a core without an APIC primary: the next property
    verdict = verify(everyone, rule, Strategy.CLEAR_CPU)
    twice = {f.check: f.cpus for f in verdict.findings}.get(Check.CORE_RUN_TWICE, ())
    assert set(twice) == everyone.online - mask


@settings(max_examples=examples(100), deadline=None)
@given(machine=machines())
def test_rules_agree_iff_every_core_has_online_apic_primary(machine: Machine) -> None:
    """apic-primary and first-sibling cover the same cores exactly when every core with
    an online thread has an online APIC-primary thread."""
    first = {machine.core_index(c) for c in rmpopt_cpumask(machine, Rule.FIRST_SIBLING)}
    apic = {machine.core_index(c) for c in rmpopt_cpumask(machine, Rule.APIC_PRIMARY)}
    primaries = apic_primaries(machine)
    condition = all(
        any(t in primaries for t in core.online_threads)
        for core in machine.cores
        if core.online_threads
    )
    assert (first == apic) == condition


@settings(max_examples=examples(60), deadline=None)
@given(machine=machines(), rule=st.sampled_from(list(Rule)))
def test_v9_correct_under_both_rules_when_all_online_and_one_primary(
    machine: Machine, rule: Rule
) -> None:
    """v9 is correct for every worker under either rule when online == present and
    every core has exactly one APIC-primary thread."""
    everyone = build_machine(
        "m", [Cpu(c.id, c.package, c.die, c.core, True, c.apic_id) for c in machine.cpus.values()]
    )
    primaries = apic_primaries(everyone)
    assume(all(sum(t in primaries for t in core.threads) == 1 for core in everyone.cores))
    assert verify(everyone, rule, Strategy.V9_ANDNOT).ok
