"""Shipping for CI: the pre-commit hook and the GitHub Action load and run, and
docs/ci.md's configuration, workflow and report examples are real."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rmpplan.cli.main import cli
from tests.conftest import ROOT

CI_DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}


def load(name: str) -> Any:
    """A YAML manifest at the repository root."""
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def blocks(language: str) -> list[str]:
    """The fenced blocks of docs/ci.md in ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```$", CI_DOC, flags=re.MULTILINE | re.DOTALL)


def test_pre_commit_hook_runs_on_the_bundled_topologies() -> None:
    """The hook is rmpplan verify, a python hook on YAML and JSON changes, and its
    entry passes from the repository root, alone (as pre-commit runs it) and on the
    bundled folders, whose expected findings the project configures."""
    [hook] = load(".pre-commit-hooks.yaml")
    assert hook["id"] == "rmpplan-verify"
    assert hook["entry"] == "rmpplan verify"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["yaml", "json"]
    assert hook["pass_filenames"] is False
    for extra in ([], ["topologies", "docs/examples"]):
        command = [*shlex.split(hook["entry"]), *extra]
        result = subprocess.run(
            command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)


def test_action_manifest_passes_inputs_through_env() -> None:
    """action.yml is a composite action with the inputs paths, args and version, and
    no step's script contains an expression: inputs reach the shell as variables."""
    action = load("action.yml")
    assert set(action["inputs"]) == {"paths", "args", "version"}
    assert all(not spec.get("required", False) for spec in action["inputs"].values())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    for step in steps:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], step["name"]
    used = {
        name
        for step in steps
        for value in step.get("env", {}).values()
        for name in re.findall(r"\$\{\{\s*inputs\.(\w+)\s*\}\}", value)
    }
    assert used == {"paths", "args", "version"}


def verify_step(tmp_path: Path, paths: str, args: str = "") -> tuple[int, str, str]:
    """Run the action's verify step as a runner would: its exit code, stdout and summary."""
    [step] = [s for s in load("action.yml")["runs"]["steps"] if s["name"] == "Verify"]
    summary = tmp_path / "summary.md"
    env = {
        **ENV,
        "RMPPLAN_PATHS": paths,
        "RMPPLAN_ARGS": args,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout, summary.read_text(encoding="utf-8")


def test_action_writes_summary_and_annotates(tmp_path: Path) -> None:
    """The verify step writes the markdown report to the job summary and prints the
    github format, whose exit code is the step's."""
    code, out, summary = verify_step(tmp_path, "topologies\n  docs/examples ")
    assert code == 0
    assert summary.startswith("### rmpplan verify: 15 of 15 passed\n")
    assert out.startswith(
        "::notice title=rmpplan verify::configuration: pyproject.toml\n::group::topologies/"
    )
    code, out, _ = verify_step(tmp_path, "docs/examples/nosmt.yaml", "--strategy clear-cpu")
    assert code == 1
    assert "::error file=docs/examples/nosmt.yaml,line=8," in out
    assert "strategy clear-cpu" in out


def test_action_inputs_are_never_code(tmp_path: Path) -> None:
    """Command substitutions and globs in an input stay literal paths."""
    marker = tmp_path / "ran"
    code, out, _ = verify_step(tmp_path, f"$(touch {marker}) `touch {marker}` *")
    assert not marker.exists()
    assert code == 2
    assert "::group::*" in out
    assert "::group::$(touch" in out


def test_ci_doc_toml_is_the_project_configuration() -> None:
    """The configuration docs/ci.md shows is this project's [tool.rmpplan]."""
    [shown] = blocks("toml")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(shown)["tool"]["rmpplan"] == project["tool"]["rmpplan"]


def test_ci_doc_yaml_examples_are_yaml() -> None:
    """The pre-commit, workflow and GitLab examples parse, and use the real hook and inputs."""
    pre_commit, workflow, gitlab, *_fleets = (yaml.safe_load(block) for block in blocks("yaml"))
    assert pre_commit["repos"][0]["hooks"][0]["id"] == "rmpplan-verify"
    steps = workflow["jobs"]["verify"]["steps"]
    assert set(steps[-1]["with"]) <= set(load("action.yml")["inputs"])
    job = gitlab["rmpplan-verify"]
    assert job["artifacts"]["reports"]["junit"] in " ".join(job["script"])


def test_ci_doc_junit_example_is_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JUnit report docs/ci.md shows is what the command it names prints, but for times."""
    [shown] = blocks("xml")
    command = re.search(r"`rmpplan (verify [^`]*--format junit)`", CI_DOC)
    assert command is not None
    monkeypatch.chdir(ROOT)
    printed = CliRunner().invoke(cli, shlex.split(command.group(1))).stdout

    def untimed(report: str) -> str:
        return re.sub(r'time="[0-9.]+"', 'time=""', report)

    assert untimed(printed) == untimed(shown)
