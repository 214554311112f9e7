"""pytest fixtures for the source readers: the shared real machines."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from source_fixtures import SHARED_REAL

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def shared_real() -> Path:
    """The real-machine fixtures beside the project; skipped when missing, but a failure
    when RMPPLAN_REQUIRE_SHARED=1 (CI must not skip them silently)."""
    if SHARED_REAL.is_dir():
        return SHARED_REAL
    reason = f"{SHARED_REAL} is missing (the real-machine fixtures live in <project>/../shared)"
    if os.environ.get("RMPPLAN_REQUIRE_SHARED") == "1":
        pytest.fail(reason + "; RMPPLAN_REQUIRE_SHARED=1 forbids skipping")
    pytest.skip(reason)
