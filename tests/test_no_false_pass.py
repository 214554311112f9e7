"""No false pass: whatever the output format, a machine the brute-force oracle finds a
problem on never exits 0, and neither does ``summary`` of its JSON Lines."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rmpplan.terms import Rule, Strategy, VerifyFormat
from rmpplan.topology.dump import dump_yaml, to_document
from rmpplan.topology.machine import Machine
from tests.cli import run
from tests.conftest import examples
from tests.machines import machines
from tests.oracle import brute_force

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass


def oracle_fails(machine: Machine, rule: Rule, strategy: Strategy) -> bool:
    """A problem the slow model sees: a CPU present but offline (SNP init refuses the
    machine) or a worker whose handler misses, repeats or faults on a core."""
    if machine.online != machine.present:
        return True
    found = brute_force(machine, rule, strategy, machine.online)
    return any(found.values())


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    machine=machines(max_cpus=24),
    rule=st.sampled_from(list(Rule)),
    strategy=st.sampled_from(list(Strategy)),
)
def test_oracle_problem_fails_every_format(
    machine: Machine, rule: Rule, strategy: Strategy
) -> None:
    """Every verify format exits 1 on an input the oracle fails, and so does summary."""
    assume(oracle_fails(machine, rule, strategy))
    with tempfile.TemporaryDirectory() as folder:
        topology = Path(folder) / "machine.yaml"
        topology.write_text(dump_yaml(to_document(machine)), encoding="utf-8")
        flags = ["--rule", rule.value, "--strategy", strategy.value, "--no-config"]
        for fmt in VerifyFormat:
            result = run("verify", str(topology), *flags, "--format", fmt.value)
            assert result.exit_code == 1, (fmt, result.stdout, result.stderr)
            if fmt is VerifyFormat.JSONL:
                shard = Path(folder) / "shard.jsonl"
                shard.write_text(result.stdout, encoding="utf-8")
                merged = run("summary", str(shard), "--format", "json")
                assert merged.exit_code == 1, (merged.stdout, merged.stderr)


FALSE_PASS_MODULES = (
    "test_config_trust.py",
    "test_shards.py",
    "test_github_commands.py",
    "test_kernel_fidelity.py",
    "sources/test_hwloc_offline.py",
    "sources/test_gather_pairs.py",
    "test_no_false_pass.py",
)


def test_false_pass_class_is_marked(request: pytest.FixtureRequest) -> None:
    """Each module holding false-pass tests carries the marker, so `-m false_pass` runs them."""
    root = Path(__file__).parent
    for name in FALSE_PASS_MODULES:
        text = (root / name).read_text(encoding="utf-8")
        assert "pytestmark = pytest.mark.false_pass" in text, name
    assert request.node.get_closest_marker("false_pass") is not None
