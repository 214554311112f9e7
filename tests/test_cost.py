"""The RMPOPT cost model against the v2 measurements for 2 TB."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmpplan.cost import CostModel, PhaseCost, all_cpus, estimate, leader_first

REGIONS_2T = 2048
CORES = 192

# The v2 measurements on 2 TB (brief section 1, from the v2 thread).
LEADER_FIRST_MS = (317.0, 369.0)
ALL_CPUS_MS = (391.0, 457.0)
FULL_SCAN_MS = 311.0


def test_leader_first_lands_in_v2_range() -> None:
    """Leader-first over 2 TB with 192 cores falls inside the measured 317-369 ms."""
    cost = leader_first(CostModel(), regions=REGIONS_2T, cores=CORES)
    low, high = LEADER_FIRST_MS
    assert low <= cost.total_ms <= high


def test_all_cpus_lands_in_v2_range() -> None:
    """The v2 all-CPU loop over 2 TB falls inside the measured 391-457 ms."""
    model = CostModel()
    low, high = ALL_CPUS_MS
    for cpus in (CORES, 2 * CORES):  # with or without SMT siblings
        assert low <= all_cpus(model, regions=REGIONS_2T, cpus=cpus).total_ms <= high


def test_leader_first_beats_all_cpus() -> None:
    """Leader-first is cheaper than the all-CPU loop, as v2 measured."""
    model = CostModel()
    first = leader_first(model, regions=REGIONS_2T, cores=CORES).total_ms
    every = all_cpus(model, regions=REGIONS_2T, cpus=2 * CORES).total_ms
    assert 0.10 < 1 - first / every < 0.30


def test_leader_phase_is_the_full_scan_figure() -> None:
    """The leader's 2048 scans cost the v2 worst case, 311 ms."""
    cost = leader_first(CostModel(), regions=REGIONS_2T, cores=CORES)
    assert math.isclose(cost.leader_ms, FULL_SCAN_MS)
    assert cost.followers_ms < cost.leader_ms


def test_default_parameters() -> None:
    """The documented defaults are the ones the model uses."""
    model = CostModel()
    assert math.isclose(model.scan_us_per_gb, 311_000 / 2048)
    assert model.serial_rmpopt_cycles == 5600.0
    assert model.parallel_rmpopt_cycles == 114000.0
    assert model.ghz == 2.4
    assert model.ipi_round_us == 10.0
    assert math.isclose(model.serial_us, 5600 / 2400)
    assert math.isclose(model.parallel_us, 114000 / 2400)


def test_estimate_formula_by_hand() -> None:
    """A small leader-first case matches the formula worked out by hand."""
    model = CostModel(scan_us_per_gb=100.0, serial_rmpopt_cycles=2000.0, ghz=2.0, ipi_round_us=5.0)
    cost = estimate(model, regions=4, leader_runs=4, follower_rounds=4, followers_per_round=7)
    assert math.isclose(cost.leader_ms, 4 * 100.0 / 1000)  # four scans
    assert math.isclose(cost.followers_ms, 4 * (5.0 + 2000 / 2000) / 1000)  # IPI + cache hit
    assert math.isclose(cost.total_ms, 0.424)


def test_all_cpus_formula_by_hand() -> None:
    """With no leader scan, each round pays IPI + scan + the parallel race."""
    model = CostModel(
        scan_us_per_gb=100.0, parallel_rmpopt_cycles=20000.0, ghz=2.0, ipi_round_us=5.0
    )
    cost = all_cpus(model, regions=3, cpus=8)
    assert cost.leader_ms == 0.0
    assert math.isclose(cost.followers_ms, 3 * (5.0 + 100.0 + 10.0) / 1000)
    assert cost.total_ms == cost.leader_ms + cost.followers_ms


def test_round_cost_does_not_scale_with_follower_count() -> None:
    """Followers run concurrently: 2 or 1000 followers per round cost the same."""
    model = CostModel()
    few = estimate(model, regions=64, leader_runs=64, follower_rounds=64, followers_per_round=2)
    many = estimate(model, regions=64, leader_runs=64, follower_rounds=64, followers_per_round=1000)
    assert few == many


def test_single_cpu_rounds_do_not_race() -> None:
    """One CPU per round scanning alone pays no parallel contention."""
    model = CostModel()
    alone = all_cpus(model, regions=10, cpus=1)
    racing = all_cpus(model, regions=10, cpus=2)
    assert math.isclose(racing.total_ms - alone.total_ms, 10 * model.parallel_us / 1000)


def test_one_core_has_no_follower_phase() -> None:
    """With one core the follower mask is empty and costs nothing."""
    cost = leader_first(CostModel(), regions=REGIONS_2T, cores=1)
    assert cost.followers_ms == 0.0
    assert math.isclose(cost.total_ms, FULL_SCAN_MS)


def test_zero_regions_cost_nothing() -> None:
    """An empty pass is free."""
    assert leader_first(CostModel(), regions=0, cores=CORES) == PhaseCost(0.0, 0.0, 0.0)


def test_extra_leader_runs_are_cache_hits() -> None:
    """Leader runs beyond one per region are charged a serial cache hit, not a scan."""
    model = CostModel()
    once = estimate(model, regions=8, leader_runs=8, follower_rounds=0, followers_per_round=0)
    twice = estimate(model, regions=8, leader_runs=16, follower_rounds=0, followers_per_round=0)
    assert math.isclose(twice.leader_ms - once.leader_ms, 8 * model.serial_us / 1000)


def test_leader_not_scanning_moves_scans_to_rounds() -> None:
    """With leader_scans=False the scans are paid inside the follower rounds."""
    model = CostModel()
    cost = estimate(
        model,
        regions=4,
        leader_runs=4,
        follower_rounds=4,
        followers_per_round=3,
        leader_scans=False,
    )
    assert math.isclose(cost.leader_ms, 4 * model.serial_us / 1000)
    expected = 4 * (model.ipi_round_us + model.scan_us_per_gb + model.parallel_us) / 1000
    assert math.isclose(cost.followers_ms, expected)


@given(
    st.integers(min_value=0, max_value=4096),
    st.integers(min_value=0, max_value=4096),
    st.integers(min_value=0, max_value=1024),
)
def test_monotonic_in_regions(a: int, b: int, cores: int) -> None:
    """More regions never cost less, in either shape."""
    model = CostModel()
    small, large = sorted((a, b))
    assert (
        leader_first(model, regions=small, cores=cores).total_ms
        <= leader_first(model, regions=large, cores=cores).total_ms
    )
    assert (
        all_cpus(model, regions=small, cpus=cores).total_ms
        <= all_cpus(model, regions=large, cpus=cores).total_ms
    )


@given(st.integers(min_value=1, max_value=4096), st.integers(min_value=2, max_value=1024))
def test_leader_first_never_worse(regions: int, cores: int) -> None:
    """Priming the cache with a leader never costs more than the all-CPU loop."""
    model = CostModel()
    first = leader_first(model, regions=regions, cores=cores).total_ms
    every = all_cpus(model, regions=regions, cpus=cores).total_ms
    assert first <= every


@pytest.mark.parametrize(
    "field",
    ["scan_us_per_gb", "serial_rmpopt_cycles", "parallel_rmpopt_cycles", "ghz", "ipi_round_us"],
)
@pytest.mark.parametrize("value", [0.0, -1.0, math.inf, math.nan])
def test_bad_model_parameters(field: str, value: float) -> None:
    """Zero, negative, infinite or NaN parameters are a ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        CostModel(**{field: value})


def test_non_number_parameter() -> None:
    """A parameter that is not a number is a ValueError, not a TypeError later."""
    with pytest.raises(ValueError, match="ghz"):
        CostModel(ghz="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ghz"):
        CostModel(ghz=True)


@pytest.mark.parametrize(
    "name", ["regions", "leader_runs", "follower_rounds", "followers_per_round"]
)
def test_bad_estimate_counts(name: str) -> None:
    """Negative counts are a ValueError naming the argument."""
    counts = {"regions": 1, "leader_runs": 1, "follower_rounds": 1, "followers_per_round": 1}
    counts[name] = -1
    with pytest.raises(ValueError, match=name):
        estimate(
            CostModel(),
            regions=counts["regions"],
            leader_runs=counts["leader_runs"],
            follower_rounds=counts["follower_rounds"],
            followers_per_round=counts["followers_per_round"],
        )


def test_bad_shape_counts() -> None:
    """The shape helpers refuse negative cores and CPUs."""
    with pytest.raises(ValueError, match="cores"):
        leader_first(CostModel(), regions=1, cores=-1)
    with pytest.raises(ValueError, match="cpus"):
        all_cpus(CostModel(), regions=1, cpus=-1)
