"""tests/projects.py: the project the report tests share holds every kind of
result it promises, and the report tests take it from there, not from copies."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests import projects
from tests.cli import run

REPORT_TESTS = ("test_ci_formats.py", "test_junit_schema.py", "test_concise.py")
SHARED = {"NOSMT", "SINGLE", "TWICE", "EXPECT", "EXPECT_NOSMT", "write", "every_kind"}


@pytest.mark.parametrize("my_box", [False, True])
def test_every_kind_holds_every_kind_of_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, my_box: bool
) -> None:
    monkeypatch.chdir(projects.every_kind(tmp_path, my_box=my_box))
    result = run("verify", "topologies", "--rule", "apic-primary", "--format", "json")
    assert result.exit_code == 2  # broken.yaml does not parse
    rows = {row["path"]: row for row in json.loads(result.stdout)["results"]}
    box = {"topologies/my-box.json"} if my_box else set()
    assert (
        set(rows)
        == {f"topologies/{name}.yaml" for name in ("broken", "nosmt", "stale", "twice")} | box
    )
    assert "error" in rows["topologies/broken.yaml"]
    nosmt = rows["topologies/nosmt.yaml"]
    assert nosmt["ok"] and [f["expected"] for f in nosmt["findings"]] == [True]
    assert rows["topologies/stale.yaml"]["stale_expectations"] == ["core-missed"]
    checks = [f["check"] for f in rows["topologies/twice.yaml"]["findings"]]
    assert checks.count("one-mask-cpu-per-core") == 2 and not rows["topologies/twice.yaml"]["ok"]


@pytest.mark.parametrize("name", REPORT_TESTS)
def test_report_tests_define_no_copy_of_the_shared_project(name: str) -> None:
    tree = ast.parse((Path(__file__).parent / name).read_text(encoding="utf-8"))
    defined = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    } | {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert defined & SHARED == set()
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "tests.projects"
        for alias in node.names
    }
    assert imported
