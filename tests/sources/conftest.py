"""pytest fixtures for the source readers: the shared real machines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.sources.source_fixtures import require_shared_real

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def shared_real() -> Path:
    """../shared/fixtures/real: skipped with a reason when missing, failed instead when
    RMPPLAN_REQUIRE_SHARED=1."""
    return require_shared_real()
