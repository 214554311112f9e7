"""Shared fixtures: paths to the bundled corpus and to the real-machine fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGIES = ROOT / "topologies"
EXAMPLES = ROOT / "docs" / "examples"
SHARED_REAL = ROOT.parent / "shared" / "fixtures" / "real"

# Under GitHub Actions `verify` defaults to --format github; the tests and the
# documented examples expect what a terminal gets, wherever they run.
os.environ.pop("GITHUB_ACTIONS", None)
# Nor may a test run under GitHub Actions append to that step's job summary.
os.environ.pop("GITHUB_STEP_SUMMARY", None)


def require_shared(path: Path = SHARED_REAL) -> Path:
    """``path`` under ../shared, or skip (fail when RMPPLAN_REQUIRE_SHARED=1)."""
    if path.exists():
        return path
    reason = f"{path} is missing: the real-machine fixtures live beside the project in ../shared"
    if os.environ.get("RMPPLAN_REQUIRE_SHARED") == "1":
        pytest.fail(reason + " (RMPPLAN_REQUIRE_SHARED=1)")
    pytest.skip(reason)
