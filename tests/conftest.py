"""Shared fixtures: paths to the bundled corpus and to the real-machine fixtures."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGIES = ROOT / "topologies"
EXAMPLES = ROOT / "docs" / "examples"
SHARED_REAL = ROOT.parent / "shared" / "fixtures" / "real"

# Under GitHub Actions `verify` defaults to --format github; the tests and the
# documented examples expect what a terminal gets, wherever they run.
os.environ.pop("GITHUB_ACTIONS", None)
# Nor may a test run under GitHub Actions append to that step's job summary.
os.environ.pop("GITHUB_STEP_SUMMARY", None)

# Hypothesis: CI (CI=true, as GitHub Actions and .ci/run set it) runs every property
# at its full count; a developer's run does a quarter of it, for a quick loop. Pick
# one with --hypothesis-profile=ci|dev.
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=25)


def profile_for(environ: Mapping[str, str]) -> str:
    """The Hypothesis profile a run in ``environ`` loads."""
    return "ci" if environ.get("CI") == "true" else "dev"


settings.load_profile(profile_for(os.environ))


def examples(full: int, profile: settings | None = None) -> int:
    """A property's example count: ``full`` under the ci profile (100 examples), scaled
    like the profile's own count in another (the loaded one by default), never below 10."""
    scaled = full * (profile or settings()).max_examples // 100
    return max(scaled, min(full, 10))


def require_shared(path: Path = SHARED_REAL) -> Path:
    """``path`` under ../shared, or skip (fail when RMPPLAN_REQUIRE_SHARED=1)."""
    if path.exists():
        return path
    reason = f"{path} is missing: the real-machine fixtures live beside the project in ../shared"
    if os.environ.get("RMPPLAN_REQUIRE_SHARED") == "1":
        pytest.fail(reason + " (RMPPLAN_REQUIRE_SHARED=1)")
    pytest.skip(reason)
