"""A small cost model for one RMPOPT pass, calibrated on the v2 measurements.

The model and the reasons for each number are in docs/cost-model.md. In short,
a pass has two phases that run one after the other:

* the leader's serial loop: ``leader_runs`` RMPOPTs on one CPU; when
  ``leader_scans`` is true, its first RMPOPT of each region reads the RMP for
  that GB (``scan_us_per_gb``), any further run is a cache hit;
* ``follower_rounds`` synchronous IPI rounds (``on_each_cpu_mask(wait=true)``),
  each sending one RMPOPT to ``followers_per_round`` CPUs that run
  concurrently, so a round costs its slowest CPU, not the sum.

A round whose region nobody has scanned yet pays the scan plus the contention
measured in v2 (114k cycles per RMPOPT when many run at once); a round whose
region the leader already scanned only pays one cache hit (5.6k cycles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class CostModel:
    """Timing parameters; every one must be a positive, finite number."""

    # The v2 worst case: 311 ms for full scans of 2 TB (2048 GB) on one CPU.
    scan_us_per_gb: float = 311_000 / 2048
    # One RMPOPT that finds the region's result cached, measured alone (v2).
    serial_rmpopt_cycles: float = 5600.0
    # The v2 average per RMPOPT when every CPU ran the same region at once.
    parallel_rmpopt_cycles: float = 114000.0
    # Cycles to time: 2.4 GHz is the nominal (TSC) clock of a Genoa-class EPYC.
    # The cycle figures were presumably read from the TSC, which ticks at the
    # nominal clock whatever the core's boost, so that is the rate to divide by.
    ghz: float = 2.4
    # One on_each_cpu_mask(wait=true) round to ~200 CPUs on two sockets: send,
    # run the handler, wait for every CPU to ack. Not measured; the one value
    # fitted so the 2 TB leader-first estimate lands inside the v2 range.
    ipi_round_us: float = 10.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"CostModel.{field.name} must be a number, not {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"CostModel.{field.name} must be positive, got {value!r}")

    @property
    def serial_us(self) -> float:
        """One cache-hit RMPOPT in microseconds."""
        return self.serial_rmpopt_cycles / (self.ghz * 1000.0)

    @property
    def parallel_us(self) -> float:
        """The contention one RMPOPT meets when many race a scan, in microseconds."""
        return self.parallel_rmpopt_cycles / (self.ghz * 1000.0)


@dataclass(frozen=True, slots=True)
class PhaseCost:
    """Estimated wall time of one pass; the two phases run back to back."""

    leader_ms: float
    followers_ms: float
    total_ms: float


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def estimate(
    model: CostModel,
    *,
    regions: int,
    leader_runs: int,
    follower_rounds: int,
    followers_per_round: int,
    leader_scans: bool = True,
) -> PhaseCost:
    """Estimate one pass over ``regions`` 1 GB regions.

    Each region is scanned once (the hardware is "designed to" let later
    RMPOPTs reuse the result): by the leader when ``leader_scans``, otherwise
    by the first CPU to reach it in a follower round. v9 (leader first) is
    ``leader_runs = follower_rounds = regions``, ``followers_per_round =
    cores - 1``; v2 (all CPUs every region) is ``leader_runs=0,
    leader_scans=False, followers_per_round = online CPUs``
    (:func:`rmpplan.schedule.schedule` derives these from each strategy's dispatch).
    """
    regions = _count("regions", regions)
    leader_runs = _count("leader_runs", leader_runs)
    follower_rounds = _count("follower_rounds", follower_rounds)
    followers_per_round = _count("followers_per_round", followers_per_round)

    leader_scanned = min(leader_runs, regions) if leader_scans else 0
    leader_us = (
        leader_scanned * model.scan_us_per_gb + (leader_runs - leader_scanned) * model.serial_us
    )

    followers_us = 0.0
    if followers_per_round > 0:  # an empty mask sends no IPI and waits for nothing
        scanning_rounds = min(follower_rounds, regions - leader_scanned)
        cached_rounds = follower_rounds - scanning_rounds
        # Racing a scan only costs extra when someone else is racing too.
        race_us = model.parallel_us if followers_per_round > 1 else 0.0
        followers_us = (
            follower_rounds * model.ipi_round_us
            + scanning_rounds * (model.scan_us_per_gb + race_us)
            + cached_rounds * model.serial_us
        )

    leader_ms = leader_us / 1000.0
    followers_ms = followers_us / 1000.0
    return PhaseCost(
        leader_ms=leader_ms, followers_ms=followers_ms, total_ms=leader_ms + followers_ms
    )
