"""The GitHub job summary: with GITHUB_STEP_SUMMARY set, verify appends its
markdown report there, within the 1 MiB GitHub keeps of a step's summary, and
refuses a target that is not a regular file the way every output is refused.
The composite action runs verify once and installs rmpplan from its own checkout."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from rmpplan.step_summary import MARGIN, STEP_SUMMARY_MAX
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT
from tests.test_ci_setup import ENV, load, verify_step

NOSMT = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
SINGLE = "name: single\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"
MORE = re.compile(r"^\*\*(\d+) more input\(s\) not shown here\*\*", re.MULTILINE)


@pytest.fixture
def summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The step's summary file, named by the environment, in a folder of its own."""
    path = tmp_path / "step" / "summary.md"
    path.parent.mkdir()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    monkeypatch.chdir(tmp_path)
    return path


def fleet(root: Path, failing: int, passing: int = 0, stem: str = "m") -> Path:
    for index in range(failing):
        (root / f"{stem}{index:05}-fail.yaml").write_text(NOSMT, encoding="utf-8")
    for index in range(passing):
        (root / f"{stem}{index:05}-ok.yaml").write_text(SINGLE, encoding="utf-8")
    return root


def rows(text: str) -> list[str]:
    """The paths of the report table's rows (the first table of the summary)."""
    return re.findall(r"^\| `([^`]*\.yaml)` \| `", text, flags=re.MULTILINE)


def test_summary_is_appended_and_is_the_markdown_report(summary: Path) -> None:
    """Whatever --format, the markdown report is appended after what the step wrote."""
    summary.write_text("earlier\n", encoding="utf-8")
    args = ("verify", str(EXAMPLES / "nosmt.yaml"), str(EXAMPLES / "maxcpus.yaml"), "--jobs", "1")
    assert run(*args, "--format", "github").exit_code == 1
    markdown = run(*args, "--format", "markdown").stdout
    assert summary.read_text(encoding="utf-8") == "earlier\n" + markdown + markdown
    assert markdown.startswith("### rmpplan verify: 0 of 2 passed\n")


def test_no_summary_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset or empty, nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "")
    assert run("verify", str(EXAMPLES / "nosmt.yaml"), "--format", "text").exit_code == 1
    assert list(tmp_path.iterdir()) == []


def check_capped(text: str, inputs: int) -> list[str]:
    """The capped report: the counts first, a line saying how many more there are,
    and every input either shown or counted there; the paths shown."""
    more = MORE.search(text)
    assert more is not None, text[-400:]
    shown = rows(text)
    assert len(shown) + int(more.group(1)) == inputs
    assert (
        f"{inputs} inputs: " in text.split("| path |", maxsplit=1)[0]
    )  # the counts, before the table
    return shown


def test_summary_is_capped_below_what_github_keeps(summary: Path) -> None:
    """A step whose summary already holds 900 KiB gets only what fits in the rest:
    the report stops at a whole input and says how many more there are."""
    before = "x" * (900 << 10) + "\n"
    summary.write_text(before, encoding="utf-8")
    root = Path("fleet")
    root.mkdir()
    fleet(root, failing=500)
    fleet(root, failing=0, passing=150, stem="p")
    result = run("verify", str(root), "--jobs", "1", "--format", "text")
    assert result.exit_code == 1
    written = summary.read_bytes()
    assert written.startswith(before.encode())
    assert len(written) <= STEP_SUMMARY_MAX - MARGIN
    shown = check_capped(written[len(before) :].decode(), 650)
    assert 0 < len(shown) < 500  # some failures, no passes: those come after every failure
    assert all(path.endswith("-fail.yaml") for path in shown)
    assert len(written) > STEP_SUMMARY_MAX - MARGIN - 2048  # it used the room it had


def test_many_failing_inputs_stay_under_one_mebibyte(summary: Path) -> None:
    """Failing inputs whose whole report is more than 1 MiB: the summary is cut to
    fit, and every failing input it shows comes before any that passed."""
    root = Path("f" * 200) / ("g" * 200)  # long paths: fewer inputs make a mebibyte
    root.mkdir(parents=True)
    fleet(root, failing=1300, passing=20)
    whole = run("verify", str(root), "--jobs", "1", "--format", "markdown").stdout
    assert len(whole.encode()) > STEP_SUMMARY_MAX
    summary.unlink()
    assert run("verify", str(root), "--jobs", "1", "--format", "json").exit_code == 1
    written = summary.read_text(encoding="utf-8")
    assert len(written.encode()) <= STEP_SUMMARY_MAX - MARGIN
    shown = check_capped(written, 1320)
    assert all(path.endswith("-fail.yaml") for path in shown)
    assert shown == sorted(shown)  # in input order


def test_a_fitting_report_is_whole(summary: Path) -> None:
    """Under the cap nothing is cut: no "more" line."""
    Path("few").mkdir()
    fleet(Path("few"), failing=3, passing=2)
    assert run("verify", "few", "--jobs", "1", "--format", "text").exit_code == 1
    written = summary.read_text(encoding="utf-8")
    assert MORE.search(written) is None
    assert written == run("verify", "few", "--jobs", "1", "--format", "markdown").stdout


@pytest.mark.parametrize("kind", ["link", "dangling link", "fifo", "directory", "device"])
def test_unsafe_targets_are_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A link (even to a regular file), a FIFO, a folder or a device as the summary:
    exit 2 naming it, one line, nothing printed, nothing written through it."""
    monkeypatch.chdir(tmp_path)
    real = tmp_path / "real.md"
    real.write_text("kept\n", encoding="utf-8")
    target = tmp_path / "summary.md"
    if kind == "link":
        target.symlink_to(real)
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "absent.md")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        target = Path(os.devnull)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    result = run("verify", str(EXAMPLES / "nosmt.yaml"), "--format", "text")
    line = one_error(result, f"GITHUB_STEP_SUMMARY {target}: ")
    assert "not a regular file" in line
    assert result.stdout == ""
    assert real.read_text(encoding="utf-8") == "kept\n"
    assert not (tmp_path / "absent.md").exists()


def test_an_input_is_never_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary named as one of the run's inputs (by another spelling) is
    refused, and the input keeps its bytes."""
    monkeypatch.chdir(tmp_path)
    topology = tmp_path / "t.yaml"
    topology.write_text(NOSMT, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "." / "t.yaml"))
    result = run("verify", "t.yaml", "--format", "text")
    one_error(result, "is an input of this run")
    assert topology.read_text(encoding="utf-8") == NOSMT


def test_action_runs_verify_once(tmp_path: Path) -> None:
    """The action's verify step calls rmpplan once, and the summary holds one report."""
    [step] = [s for s in load("action.yml")["runs"]["steps"] if s["name"] == "Verify"]
    commands = [line for line in step["run"].splitlines() if line.strip().startswith("rmpplan ")]
    assert len(commands) == 1
    assert not re.search(r">\s*\"?\$\{?GITHUB_STEP_SUMMARY", step["run"])  # verify appends to it
    code, _, summary = verify_step(tmp_path, "docs/examples/nosmt.yaml docs/examples/maxcpus.yaml")
    assert code == 1
    assert summary.count("### rmpplan verify: ") == 1


@pytest.mark.parametrize("version", ["", "0.1.0"])
def test_action_installs_its_own_checkout(tmp_path: Path, version: str) -> None:
    """Without `version` the action installs the checkout it runs from
    (`github.action_path`); with one it asks the index for that release."""
    [step] = [s for s in load("action.yml")["runs"]["steps"] if s["name"] == "Install rmpplan"]
    assert step["env"]["RMPPLAN_SOURCE"] == "${{ github.action_path }}"
    assert step["env"]["RMPPLAN_VERSION"] == "${{ inputs.version }}"
    # A python3 that makes a venv whose python records what pip was asked for.
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "pip.log"
    (fake / "python3").write_text(
        '#!/bin/sh\n[ "$1 $2" = "-m venv" ] || exit 9\nmkdir -p "$3/bin"\n'
        f'printf \'#!/bin/sh\\necho "$@" >> {log}\\n\' > "$3/bin/python"\n'
        'chmod +x "$3/bin/python"\n',
        encoding="utf-8",
    )
    (fake / "python3").chmod(0o755)
    github_path = tmp_path / "github_path"
    env = {
        **ENV,
        "PATH": f"{fake}{os.pathsep}{ENV['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_PATH": str(github_path),
        "RMPPLAN_VERSION": version,
        "RMPPLAN_SOURCE": str(ROOT),
    }
    subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                   env=env, check=True, cwd=tmp_path)  # fmt: skip
    asked = log.read_text(encoding="utf-8").split()
    assert asked[:3] == ["-m", "pip", "install"]
    assert asked[-1] == (f"rmpplan=={version}" if version else str(ROOT))
    assert github_path.read_text(encoding="utf-8") == f"{tmp_path / 'rmpplan-venv' / 'bin'}\n"
