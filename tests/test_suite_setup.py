"""The suite's own setup: CI runs every property at its full count, a developer's run
a smaller one, and `make pytest` spreads the tests over every core."""

from __future__ import annotations

import re

import pytest
from hypothesis import settings

from tests.conftest import ROOT, examples, profile_for

CI = settings.get_profile("ci")
DEV = settings.get_profile("dev")


@pytest.mark.parametrize(
    ("environ", "profile"),
    [({"CI": "true"}, "ci"), ({}, "dev"), ({"CI": "false"}, "dev"), ({"CI": ""}, "dev")],
)
def test_ci_true_selects_the_thorough_profile(environ: dict[str, str], profile: str) -> None:
    """CI=true, as GitHub Actions and .ci/run set it, loads the ci profile."""
    assert profile_for(environ) == profile


@pytest.mark.parametrize("full", [1, 5, 10, 25, 40, 50, 60, 80, 100, 150])
def test_ci_runs_every_property_at_its_full_count(full: int) -> None:
    """Under ci a property runs the count its test names; under dev no more than that,
    and at least 10 examples (or all of them when it names fewer)."""
    assert CI.max_examples >= 100  # Hypothesis's own default, for the tests that name none
    assert examples(full, CI) == full
    assert min(full, 10) <= examples(full, DEV) <= full
    assert DEV.max_examples < CI.max_examples


def test_ci_script_and_make_use_them() -> None:
    """.ci/run exports CI=true, and `make pytest` runs pytest-xdist over every core."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^export CI=true$", script, flags=re.MULTILINE)
    assert script.index("export CI=true") < script.index("make test")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^pytest:.*\n\t(.*)$", makefile, flags=re.MULTILINE)
    assert recipe is not None
    assert re.search(r"-m pytest\b.* -n auto\b", recipe.group(1))
