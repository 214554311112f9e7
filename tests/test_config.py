"""verify's configuration: finding it, strict keys, globs, precedence, and expected findings."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan.checks import Checked, checks_run, outcome, verify
from rmpplan.config import Config, Expectation, discover_config
from rmpplan.errors import InputError
from rmpplan.terms import Check, Rule, Strategy
from rmpplan.topology.machine import Machine
from tests.cli import run
from tests.conftest import EXAMPLES, ROOT, examples
from tests.machines import machines

NOSMT = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
SINGLE = "name: single\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_error(result: Result) -> str:
    """Exit 2 with one line on stderr, nothing on stdout, no traceback; the line."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_nothing_found_is_none(tmp_path: Path) -> None:
    """A tree without configuration files has no configuration."""
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert discover_config(tmp_path) is None


def test_pyproject_without_table_ends_the_search(tmp_path: Path) -> None:
    """A pyproject.toml without [tool.rmpplan] is a project without configuration:
    nothing above it applies (as black finds a project's root)."""
    write(tmp_path / "pyproject.toml", '[tool.rmpplan]\nrule = "apic-primary"\n')
    inner = tmp_path / "sub"
    write(inner / "pyproject.toml", '[project]\nname = "x"\n')
    assert discover_config(inner) is None
    config = discover_config(tmp_path)
    assert config is not None
    assert config.path == tmp_path / "pyproject.toml"
    assert config.rule is Rule.APIC_PRIMARY


def test_nearest_wins_and_rmpplan_toml_first(tmp_path: Path) -> None:
    """The nearest folder's file wins, and there rmpplan.toml before pyproject.toml."""
    write(tmp_path / "rmpplan.toml", 'strategy = "clear-cpu"\n')
    inner = tmp_path / "a" / "b"
    write(inner / "pyproject.toml", '[tool.rmpplan]\nstrategy = "v8-three-way"\n')
    write(inner / "rmpplan.toml", 'strategy = "v2-all-cpus"\n')
    config = discover_config(inner)
    assert config is not None and config.strategy is Strategy.V2_ALL_CPUS
    config = discover_config(tmp_path / "a")
    assert config is not None and config.strategy is Strategy.CLEAR_CPU


def test_every_key_is_read(tmp_path: Path) -> None:
    """paths, rule, strategy and expect are read; paths are relative to the file."""
    write(
        tmp_path / "rmpplan.toml",
        'paths = ["topologies", "more/x.yaml"]\nrule = "apic-primary"\n'
        'strategy = "v8-three-way"\n'
        '[expect]\n"a/*.yaml" = ["core-missed", "online-equals-present"]\n',
    )
    config = discover_config(tmp_path / "deeper")
    assert config == Config(
        tmp_path / "rmpplan.toml",
        (tmp_path / "topologies", tmp_path / "more" / "x.yaml"),
        Rule.APIC_PRIMARY,
        Strategy.V8_THREE_WAY,
        (Expectation("a/*.yaml", frozenset({Check.CORE_MISSED, Check.ONLINE_EQUALS_PRESENT})),),
    )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            'kernel = "6.9"\n',
            "[tool.rmpplan] kernel: '6.9' is not one of v2, v3, v4, v6, v8, v9, v10",
        ),
        ('colour = "red"\n', "[tool.rmpplan] colour: unknown key"),
        ('rule = "primary"\n', "[tool.rmpplan] rule: 'primary' is not one of first-sibling"),
        ("strategy = 9\n", "[tool.rmpplan] strategy: 9 is not one of v9-andnot"),
        ('paths = "topologies"\n', "[tool.rmpplan] paths: must be a list of non-empty strings"),
        ('paths = [""]\n', "[tool.rmpplan] paths: must be a list of non-empty strings"),
        ('expect = "x"\n', "[tool.rmpplan.expect]: must be a table"),
        ('[tool.rmpplan.expect]\n"a.yaml" = []\n', "name the checks it is expected to fail"),
        ('[tool.rmpplan.expect]\n"a.yaml" = ["core-run-thrice"]\n', "'core-run-thrice' is not"),
        ('[tool.rmpplan.expect]\n"/abs.yaml" = ["core-missed"]\n', "relative to this file"),
        ('[tool.rmpplan.expect]\n"a.yaml" = "core-missed"\n', "must be a list"),
        ("[tool.rmpplan\n", "TOML syntax error"),
    ],
)
def test_bad_configuration_is_one_error(
    body: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every bad key or value is one line naming the file and the key, exit 2."""
    text = body if body.startswith("[tool.rmpplan") else "[tool.rmpplan]\n" + body
    write(tmp_path / "pyproject.toml", text)
    write(tmp_path / "topologies" / "one.yaml", SINGLE)
    monkeypatch.chdir(tmp_path)
    line = one_error(run("verify"))
    assert line.startswith("rmpplan: error: pyproject.toml: "), line
    assert needle in line


def test_rmpplan_toml_errors_name_bare_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In rmpplan.toml the keys are at the top level, and errors name them so."""
    write(tmp_path / "rmpplan.toml", '[expect]\n"a.yaml" = ["nope"]\n')
    monkeypatch.chdir(tmp_path)
    line = one_error(run("verify"))
    assert line.startswith("rmpplan: error: rmpplan.toml: [expect] 'a.yaml': 'nope' is not")


def test_no_config_skips_a_broken_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-config does not even read the configuration."""
    write(tmp_path / "rmpplan.toml", "this is not toml\n")
    write(tmp_path / "topologies" / "one.yaml", SINGLE)
    monkeypatch.chdir(tmp_path)
    one_error(run("verify"))
    assert run("verify", "--no-config").exit_code == 0


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("docs/examples/*.yaml", "docs/examples/nosmt.yaml", True),
        ("docs/examples/*.yaml", "docs/examples/sub/nosmt.yaml", False),
        ("docs/examples/*.yaml", "other/docs/examples/nosmt.yaml", False),
        ("*.yaml", "a/b.yaml", False),
        ("docs/**/*.yaml", "docs/a/b/c.yaml", True),
        ("docs/**/*.yaml", "docs/c.yaml", True),
        ("**", "any/thing.json", True),
        ("docs/examples", "docs/examples/sub/nosmt.yaml", True),
        ("docs/examples", "docs/examples-old/nosmt.yaml", False),
        ("[mn]osmt.yaml", "nosmt.yaml", True),
        ("n?smt.yaml", "nosmt.json", False),
        ("../shared/*.yaml", "../shared/x.yaml", True),
    ],
)
def test_expectation_globs(pattern: str, path: str, matches: bool) -> None:
    """Globs match whole path segments; a folder matches everything below it."""
    expectation = Expectation(pattern, frozenset({Check.CORE_MISSED}))
    assert expectation.matches(PurePosixPath(path)) is matches


def test_expected_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target named from a subfolder matches patterns written from the file's folder,
    and every matching pattern adds its checks."""
    config = Config(
        tmp_path / "rmpplan.toml",
        expect=(
            Expectation("a/*.yaml", frozenset({Check.CORE_MISSED})),
            Expectation("a", frozenset({Check.ONLINE_EQUALS_PRESENT})),
        ),
    )
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    both = frozenset({Check.CORE_MISSED, Check.ONLINE_EQUALS_PRESENT})
    assert config.expected(Path("x.yaml")) == both
    assert config.expected(tmp_path / "a" / "x.yaml") == both
    assert config.expected(Path("../b/x.yaml")) == frozenset()


def expect_nosmt(tmp_path: Path, checks: str) -> None:
    """A project whose topologies/ holds nosmt.yaml, expected to fail ``checks``."""
    write(tmp_path / "topologies" / "nosmt.yaml", NOSMT)
    write(tmp_path / "topologies" / "single.yaml", SINGLE)
    write(tmp_path / "rmpplan.toml", f'[expect]\n"topologies/nosmt.yaml" = [{checks}]\n')


def test_expected_finding_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding the configuration expects is reported as expected and exits 0."""
    expect_nosmt(tmp_path, '"online-equals-present"')
    monkeypatch.chdir(tmp_path)
    result = run("verify", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    nosmt = doc["results"][0]
    assert nosmt["ok"] is True
    assert [(f["check"], f["expected"]) for f in nosmt["findings"]] == [
        ("online-equals-present", True)
    ]
    assert nosmt["stale_expectations"] == []


def test_stale_expectation_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An expected check that passes is stale and exits 1, in every format."""
    expect_nosmt(tmp_path, '"online-equals-present", "core-missed"')
    monkeypatch.chdir(tmp_path)
    result = run("verify", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["results"][0]["stale_expectations"] == ["core-missed"]
    assert doc["results"][0]["findings"][0]["expected"] is True
    assert "core-missed (stale)" in run("verify", "--format", "text").stdout


def test_unexpected_finding_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding no expectation covers fails the run, expected ones beside it or not."""
    expect_nosmt(tmp_path, '"core-missed"')
    monkeypatch.chdir(tmp_path)
    result = run("verify", "--format", "text")
    assert result.exit_code == 1
    assert "FAIL  topologies/nosmt.yaml" in result.stdout
    assert "online-equals-present: SNP init refuses" in result.stdout


def test_named_file_is_reported_as_it_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expectations apply to what verify finds in folders, not to a file named on the
    command line, nor with --no-config."""
    expect_nosmt(tmp_path, '"online-equals-present"')
    monkeypatch.chdir(tmp_path)
    assert run("verify", "topologies").exit_code == 0
    assert run("verify", "topologies/nosmt.yaml").exit_code == 1
    assert run("verify", "topologies", "--no-config").exit_code == 1


def test_configured_paths_rule_and_strategy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no PATH the configured paths are checked from any subfolder, with the
    configured rule and strategy unless the command line names its own."""
    write(tmp_path / "machines" / "nosmt.yaml", NOSMT)
    write(
        tmp_path / "pyproject.toml",
        '[tool.rmpplan]\npaths = ["machines"]\nrule = "apic-primary"\nstrategy = "clear-cpu"\n',
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    doc = json.loads(run("verify", "--format", "json").stdout)
    [entry] = doc["results"]
    assert entry["path"] == "../machines/nosmt.yaml"
    assert (entry["rule"], entry["strategy"]) == ("apic-primary", "clear-cpu")
    doc = json.loads(run("verify", "--format", "json", "--rule", "first-sibling").stdout)
    assert (doc["results"][0]["rule"], doc["results"][0]["strategy"]) == (
        "first-sibling",
        "clear-cpu",
    )
    doc = json.loads(run("verify", "--format", "json", "--no-config", "../machines").stdout)
    assert (doc["results"][0]["rule"], doc["results"][0]["strategy"]) == (
        "first-sibling",
        "v9-andnot",
    )


def test_configured_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured kernel profile applies unless --kernel is given; its rule and
    strategy come with it."""
    write(tmp_path / "machines" / "nosmt.yaml", NOSMT)
    write(tmp_path / "pyproject.toml", '[tool.rmpplan]\npaths = ["machines"]\nkernel = "v3"\n')
    monkeypatch.chdir(tmp_path)
    [entry] = json.loads(run("verify", "--format", "json").stdout)["results"]
    assert (entry["kernel"], entry["rule"], entry["strategy"]) == (
        "v3",
        "apic-primary",
        "clear-cpu",
    )
    [entry] = json.loads(run("verify", "--format", "json", "--kernel", "v10").stdout)["results"]
    assert (entry["kernel"], entry["strategy"]) == ("v10", "v9-andnot")


def test_project_expectations_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """This project's pyproject.toml expects exactly the findings of docs/examples, so
    `verify topologies docs/examples` passes from the project root."""
    monkeypatch.chdir(ROOT)
    result = run("verify", "topologies", "docs/examples", "--format", "json")
    assert result.exit_code == 0, result.stdout
    results = json.loads(result.stdout)["results"]
    raw = json.loads(run("verify", "docs/examples", "--no-config", "--format", "json").stdout)
    failing = {entry["path"]: {f["check"] for f in entry["findings"]} for entry in raw["results"]}
    config = discover_config(ROOT)
    assert config is not None
    for entry in results:
        assert entry["stale_expectations"] == []
        if entry["path"].startswith("docs/examples/"):
            assert config.expected(Path(entry["path"])) == failing[entry["path"]]
            assert all(f["expected"] for f in entry["findings"])


@settings(max_examples=examples(60), deadline=None)
@given(
    machine=machines(max_cpus=32),
    strategy=st.sampled_from(Strategy),
    expect=st.frozensets(st.sampled_from(Check)),
)
def test_outcome_partitions_findings(
    machine: Machine, strategy: Strategy, expect: frozenset[Check]
) -> None:
    """Expected and unexpected findings split the verdict's findings in order, stale
    checks are the expected ones that did not fail, and every finding is of a check
    that ran under its strategy."""
    verdict = verify(machine, Rule.FIRST_SIBLING, strategy)
    held = outcome(verdict, expect)
    assert [f for f in verdict.findings if f in held.expected] == list(held.expected)
    assert sorted(held.expected + held.unexpected, key=verdict.findings.index) == list(
        verdict.findings
    )
    assert all(f.check in expect for f in held.expected)
    assert all(f.check not in expect for f in held.unexpected)
    failed = {f.check for f in verdict.findings}
    assert set(held.stale) == expect - failed
    assert held.ok == (not held.unexpected and not held.stale)
    assert {f.check for f in verdict.findings} <= set(checks_run(strategy))
    checked = Checked("x.yaml", machine, verdict, expect=expect)
    assert checked.ok == held.ok


def test_v2_runs_no_mask_checks() -> None:
    """v2 has no mask, so the two checks about the mask do not run under it."""
    assert Check.MASK_WITHIN_ONLINE not in checks_run(Strategy.V2_ALL_CPUS)
    assert Check.ONE_MASK_CPU_PER_CORE not in checks_run(Strategy.V2_ALL_CPUS)
    assert checks_run(Strategy.V8_THREE_WAY, log=True, landed=True) == tuple(Check)
    assert Check.DMESG_CAP not in checks_run(Strategy.V9_ANDNOT)


def test_input_error_names_config_file(tmp_path: Path) -> None:
    """A configuration error is an InputError that names the file."""
    write(tmp_path / "rmpplan.toml", 'rule = "x"\n')
    with pytest.raises(InputError) as caught:
        discover_config(tmp_path)
    assert caught.value.path is not None and caught.value.path.endswith("rmpplan.toml")
