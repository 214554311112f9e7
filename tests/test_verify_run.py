"""verify's run in the core (rmpplan.verify_run), without the command line: the
exit-code rule, configuration precedence, and that the environment matters only
through the request the command builds from it."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rmpplan.checks import Checked
from rmpplan.errors import InputError
from rmpplan.kernel import PROFILES, modelled
from rmpplan.terms import Kernel, Rule, Strategy, VerifyFormat
from rmpplan.verify_run import (
    Ending,
    VerifyRequest,
    VerifyRun,
    exit_code,
    model,
    output_format,
    start,
)
from tests.conftest import EXAMPLES, TOPOLOGIES

PASSING = TOPOLOGIES / "single-core.yaml"
FAILING = EXAMPLES / "nosmt.yaml"  # offline CPUs at setup: online-equals-present


def ignore(line: str) -> None:
    raise AssertionError(f"unexpected warning: {line}")


def started(request: VerifyRequest, warn: Callable[[str], None] = ignore) -> VerifyRun:
    return start(request, warn)


def completed(run: VerifyRun) -> tuple[list[str | None], Ending]:
    """Every JSON line the run streams, then its ending; the run closed."""
    try:
        lines = [result.line for result in run.results()]
        return lines, run.end()
    finally:
        run.close()


def checked(*paths: Path) -> list[Checked]:
    request = VerifyRequest(paths=paths, no_config=True, jobs=1)
    return list(completed(started(request))[1].results)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    """One result of each kind, from one real run: passing, failing, unreadable."""
    bad = tmp_path_factory.mktemp("bad") / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    passing, failing, unreadable = checked(PASSING, FAILING, bad)
    assert passing.ok and passing.error is None
    assert not failing.ok and failing.error is None
    assert unreadable.error is not None
    return {"pass": passing, "fail": failing, "bad": unreadable}


# ---- the exit code, decided once -------------------------------------------------


def test_exit_code_bad_input_outranks_a_failure_which_outranks_a_pass(
    kinds: dict[str, Checked],
) -> None:
    # Every mix of up to three results, in every order: the rule of docs/cli.md.
    for size in range(1, 4):
        for mix in itertools.product(kinds, repeat=size):
            code = exit_code(kinds[kind] for kind in mix)
            if "bad" in mix:
                assert code == 2, mix
            elif "fail" in mix:
                assert code == 1, mix
            else:
                assert code == 0, mix


def test_an_expected_failure_exits_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Expectations apply to what verify finds in folders: the failing file, expected to fail.
    (tmp_path / "topologies").mkdir()
    (tmp_path / "topologies" / "nosmt.yaml").write_bytes(FAILING.read_bytes())
    config = tmp_path / "rmpplan.toml"
    config.write_text('[expect]\n"**" = ["online-equals-present"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, ending = completed(started(VerifyRequest(config_file=config, jobs=1)))
    assert [result.path for result in ending.results] == ["topologies/nosmt.yaml"]
    assert ending.results[0].verdict is not None and ending.results[0].verdict.findings
    assert ending.exit_code == 0
    # The same file named on the command line is reported as it stands.
    _, named = completed(started(VerifyRequest(paths=(FAILING,), config_file=config, jobs=1)))
    assert named.exit_code == 1


def test_the_ending_carries_the_exit_code_of_its_results(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("layout: 3\n", encoding="utf-8")
    for paths, code in (((PASSING,), 0), ((PASSING, FAILING), 1), ((FAILING, bad), 2)):
        _, ending = completed(started(VerifyRequest(paths=paths, no_config=True, jobs=1)))
        assert ending.exit_code == exit_code(ending.results) == code, paths


# ---- configuration precedence ----------------------------------------------------


def config_file(folder: Path, text: str) -> Path:
    path = folder / "rmpplan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def modelled_by(request: VerifyRequest) -> tuple[Kernel | None, Rule, Strategy]:
    run = started(request)
    run.close()
    held = run.settings.model
    return held.kernel, held.rule, held.strategy


def test_the_flag_wins_over_the_file_which_wins_over_the_default(tmp_path: Path) -> None:
    default = modelled(None)
    unlike = {
        "rule": next(rule for rule in Rule if rule is not default.rule),
        "strategy": next(item for item in Strategy if item is not default.strategy),
    }
    file_says = config_file(
        tmp_path, f'rule = "{unlike["rule"]}"\nstrategy = "{unlike["strategy"]}"\n'
    )
    base = VerifyRequest(paths=(PASSING,), jobs=1)
    # Default: no file, no flag.
    no_file = VerifyRequest(paths=(PASSING,), jobs=1, no_config=True)
    assert modelled_by(no_file) == (None, default.rule, default.strategy)
    # The file fills what the flags left unset.
    from_file = VerifyRequest(paths=base.paths, jobs=1, config_file=file_says)
    assert modelled_by(from_file) == (None, unlike["rule"], unlike["strategy"])
    # A flag wins over the file, key by key.
    flagged = VerifyRequest(paths=base.paths, jobs=1, config_file=file_says, rule=default.rule)
    assert modelled_by(flagged) == (None, default.rule, unlike["strategy"])


def test_a_kernel_profile_from_the_file_yields_to_the_flags(tmp_path: Path) -> None:
    kernel = next(iter(PROFILES))
    profile = PROFILES[kernel]
    other = next(rule for rule in Rule if rule is not profile.rule)
    path = config_file(tmp_path, f'kernel = "{kernel}"\n')
    assert model(None, None, None, None).kernel is None
    from_file = VerifyRequest(paths=(PASSING,), jobs=1, config_file=path)
    assert modelled_by(from_file) == (kernel, profile.rule, profile.strategy)
    flagged = VerifyRequest(paths=(PASSING,), jobs=1, config_file=path, rule=other)
    assert modelled_by(flagged) == (kernel, other, profile.strategy)
    later = next(item for item in PROFILES if item is not kernel)
    replaced = VerifyRequest(paths=(PASSING,), jobs=1, config_file=path, kernel=later)
    assert modelled_by(replaced) == (later, PROFILES[later].rule, PROFILES[later].strategy)


def test_the_configuration_found_applies_unless_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    rule = next(rule for rule in Rule if rule is not modelled(None).rule)
    config_file(tmp_path, f'rule = "{rule}"\n')
    monkeypatch.chdir(tmp_path)
    found = started(VerifyRequest(paths=(PASSING,), jobs=1))
    found.close()
    assert found.settings.model.rule is rule
    assert found.report.config == Path("rmpplan.toml")
    refused = started(VerifyRequest(paths=(PASSING,), jobs=1, no_config=True))
    refused.close()
    assert refused.settings.model.rule is modelled(None).rule
    assert refused.report.config is None


def test_usage_errors_are_the_cores_input_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = VerifyRequest(paths=(PASSING,), config_file=tmp_path / "x.toml", no_config=True)
    with pytest.raises(InputError, match="conflict"):
        started(both)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="nothing to verify"):
        started(VerifyRequest(no_config=True))


# ---- the environment, through the request only -----------------------------------


def test_output_format_reads_only_its_arguments() -> None:
    assert output_format(None, None) is VerifyFormat.TABLE
    assert output_format(None, "false") is VerifyFormat.TABLE
    assert output_format(None, "true") is VerifyFormat.GITHUB
    for fmt in VerifyFormat:
        assert output_format(fmt, "true") is fmt


def test_the_environment_matters_only_through_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    plain = VerifyRequest(paths=(FAILING,), no_config=True, jobs=1)
    run = started(plain)
    completed(run)
    assert run.report.fmt is VerifyFormat.TABLE
    assert run.summary is None
    assert not summary.exists()

    monkeypatch.delenv("GITHUB_ACTIONS")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    told = VerifyRequest(
        paths=(FAILING,),
        no_config=True,
        jobs=1,
        github_actions="true",
        step_summary=str(summary),
    )
    run = started(told)
    _, ending = completed(run)
    assert run.report.fmt is VerifyFormat.GITHUB
    assert run.summary == summary
    assert "nosmt" in summary.read_text(encoding="utf-8")
    assert ending.exit_code == 1
    # The core prints nothing: the command writes what the run gives it.
    assert capsys.readouterr() == ("", "")


def test_an_empty_step_summary_is_none() -> None:
    run = started(VerifyRequest(paths=(PASSING,), no_config=True, jobs=1, step_summary=""))
    run.close()
    assert run.summary is None


# ---- the stream -------------------------------------------------------------------


def test_results_stream_in_order_and_the_trailer_seals_the_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("layout: 3\n", encoding="utf-8")
    paths = (FAILING, bad, PASSING)
    request = VerifyRequest(paths=paths, no_config=True, jobs=1, fmt=VerifyFormat.JSONL)
    lines, ending = completed(started(request))
    assert [result.path for result in ending.results] == [str(path) for path in paths]
    assert all(line is not None for line in lines)
    streamed = "".join(line for line in lines if line is not None)
    assert [json.loads(line)["path"] for line in streamed.splitlines()] == [
        str(path) for path in paths
    ]
    assert ending.trailer is not None
    trailer = json.loads(ending.trailer)
    assert trailer["kind"] == "trailer"
    assert trailer["sha256"] == hashlib.sha256(streamed.encode("utf-8")).hexdigest()
    assert trailer["summary"]["files"] == len(paths)
    assert ending.exit_code == 2


def test_other_formats_stream_no_lines_and_have_no_trailer() -> None:
    request = VerifyRequest(paths=(PASSING,), no_config=True, jobs=1, fmt=VerifyFormat.JSON)
    lines, ending = completed(started(request))
    assert lines == [None]
    assert ending.trailer is None
    assert len(ending.seconds) == len(ending.results) == 1


def test_too_many_jobs_is_a_warning_given_to_the_caller(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rmpplan.fleet import default_jobs

    told: list[str] = []
    cpus = default_jobs()
    run = started(VerifyRequest(paths=(PASSING,), no_config=True, jobs=cpus + 1), told.append)
    run.close()
    assert told == [
        f"jobs {cpus + 1} is more than the {cpus} CPUs this process may use; using {cpus}"
    ]
    assert capsys.readouterr() == ("", "")


def test_the_junit_side_file_is_written_by_the_run(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    request = VerifyRequest(paths=(FAILING,), no_config=True, jobs=1, junit_xml=junit)
    run = started(request)
    assert not junit.exists()  # refused or accepted before any work, written at the end
    completed(run)
    assert "online-equals-present" in junit.read_text(encoding="utf-8")
