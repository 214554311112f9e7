"""No false pass from configuration: which file applies, what it may name, and
that every report says which one it was.

A configuration's ``expect`` turns findings into expected ones and its ``paths``
choose what is checked, so a file the project does not own must never apply
quietly. Each case here is run through the command line and asserts the exit
code and what the output says.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmpplan.config import (
    MAX_EXPECT,
    MAX_EXPECT_PARTS,
    MAX_PATHS,
    MAX_PATTERN_PARTS,
    Expectation,
)
from rmpplan.terms import Check
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

NOSMT = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
SINGLE = "name: single\nlayout: {packages: 1, cores_per_die: 1, threads_per_core: 1}\n"
# A sysfs dump whose online CPUs are not all present ones: it fails online-equals-present.
NOSMT_DUMP = ROOT / "tests" / "sources" / "data" / "sysfs" / "nosmt"
# What silences that finding, as a hostile configuration would write it.
SILENCE = '[expect]\n"**" = ["online-equals-present"]\n'


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def failing_project(root: Path) -> Path:
    """A project (a git checkout) whose topologies/ holds a failing file; the root."""
    (root / ".git").mkdir(parents=True)
    write(root / "topologies" / "nosmt.yaml", NOSMT)
    return root


def report(*args: str) -> tuple[int, Any]:
    """verify's exit code and JSON document."""
    result = run("verify", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


# --- where the search stops -------------------------------------------------------------


def test_rmpplan_toml_above_a_pyproject_is_not_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyproject.toml without [tool.rmpplan] is the project's root: an rmpplan.toml
    above it, silencing every finding, is never read."""
    write(tmp_path / "rmpplan.toml", SILENCE + 'paths = ["elsewhere"]\n')
    project = tmp_path / "project"
    write(project / "pyproject.toml", '[project]\nname = "x"\n')
    write(project / "topologies" / "nosmt.yaml", NOSMT)
    monkeypatch.chdir(project / "topologies")
    code, doc = report(".")
    assert code == 1
    assert doc["config"] is None
    assert run("verify", ".", "--format", "text").stdout.startswith("config: none\nFAIL ")


def test_rmpplan_toml_above_the_repository_root_is_not_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder holding .git (a folder, or a file in a worktree) is the last one looked in."""
    write(tmp_path / "rmpplan.toml", SILENCE)
    project = failing_project(tmp_path / "project")
    monkeypatch.chdir(project)
    code, doc = report()
    assert code == 1 and doc["config"] is None
    (project / ".git").rmdir()
    write(project / ".git", "gitdir: /somewhere/else\n")
    code, doc = report()
    assert code == 1 and doc["config"] is None


def test_nested_configuration_of_a_subfolder_is_not_applied_from_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the file found upwards from the current folder applies: one added in a
    subfolder (here beside the failing input) does not apply to a run from the root."""
    project = failing_project(tmp_path)
    write(project / "topologies" / "rmpplan.toml", SILENCE)
    monkeypatch.chdir(project)
    code, doc = report()
    assert code == 1 and doc["config"] is None


def test_world_writable_parent_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An rmpplan.toml found in a folder every user may write to (as /tmp) is refused,
    naming it; --config takes it on purpose, and --no-config leaves it out."""
    shared = tmp_path / "shared"
    write(shared / "rmpplan.toml", SILENCE)
    shared.chmod(0o1777)
    project = shared / "project"
    write(project / "topologies" / "nosmt.yaml", NOSMT)
    monkeypatch.chdir(project)
    line = one_error(run("verify"), "../rmpplan.toml: not used: its folder .. may be written")
    assert "--config" in line and "--no-config" in line
    assert run("verify").stdout == ""
    code, doc = report("--config", "../rmpplan.toml", "topologies")
    assert (code, doc["config"]) == (0, "../rmpplan.toml")
    assert report("--no-config")[0] == 1


def test_world_writable_configuration_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration file every user may write to is refused, in the project too."""
    project = failing_project(tmp_path)
    config = write(project / "rmpplan.toml", SILENCE)
    config.chmod(0o666)
    monkeypatch.chdir(project)
    one_error(run("verify"), "rmpplan.toml: not used: its file rmpplan.toml may be written by")
    config.chmod(0o644)
    assert report()[0] == 0


def test_configuration_owned_by_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration file owned by another user (not root) is refused; running as
    root, owners are not judged (CI containers run as root over a checkout)."""
    project = failing_project(tmp_path)
    config = write(project / "rmpplan.toml", SILENCE)
    monkeypatch.chdir(project)
    if os.geteuid() == 0:
        os.chown(config, 12345, 12345)
        assert report()[0] == 0  # root: the owner is not judged
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
    else:
        me = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: me + 1)
    one_error(run("verify"), "rmpplan.toml: not used: its file rmpplan.toml belongs to another")


def test_link_out_of_its_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An rmpplan.toml that is a link to a file outside its folder is refused; a link
    to a file inside the folder is read."""
    outside = write(tmp_path / "outside" / "evil.toml", SILENCE)
    project = failing_project(tmp_path / "project")
    (project / "rmpplan.toml").symlink_to(outside)
    monkeypatch.chdir(project)
    one_error(run("verify"), "rmpplan.toml: not used: it is a symbolic link leading out of")
    (project / "rmpplan.toml").unlink()
    write(project / "conf" / "real.toml", SILENCE)
    (project / "rmpplan.toml").symlink_to("conf/real.toml")
    code, doc = report()
    assert (code, doc["config"]) == (0, "rmpplan.toml")


def test_configuration_inside_a_dump_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dump is data gathered from a machine: an rmpplan.toml in it never applies to
    the project, and is refused when verify runs inside the dump."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    dump = project / "topologies" / "host1"
    shutil.copytree(NOSMT_DUMP, dump)
    write(dump / "rmpplan.toml", SILENCE + 'paths = ["."]\n')
    monkeypatch.chdir(project)
    code, doc = report()
    assert (code, doc["config"]) == (1, None)
    monkeypatch.chdir(dump)
    one_error(run("verify"), "rmpplan.toml: not used: it lies inside the sysfs dump .")
    monkeypatch.chdir(dump / "sys")
    one_error(run("verify", "."), "not used: it lies inside the sysfs dump ..")


# --- what the configuration may name ----------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("/", "paths: '/': an absolute path"),
        ("/etc", "paths: '/etc': an absolute path"),
        ("../outside", "paths: '../outside': '..' leaves this file's folder"),
        ("topologies/../../outside", "'..' leaves this file's folder"),
        ("escape", "paths: 'escape': leads out of this file's folder through a symbolic link"),
        ("escape/nosmt.yaml", "leads out of this file's folder through a symbolic link"),
    ],
)
def test_paths_may_not_leave_the_folder(
    entry: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configured paths are relative and stay inside the file's folder, links resolved:
    anything else is one error naming the key, before anything is checked."""
    write(tmp_path / "outside" / "nosmt.yaml", NOSMT)
    project = failing_project(tmp_path / "project")
    (project / "escape").symlink_to(tmp_path / "outside")
    write(project / "pyproject.toml", f"[tool.rmpplan]\npaths = [{json.dumps(entry)}]\n")
    monkeypatch.chdir(project)
    line = one_error(run("verify"), needle)
    assert line.startswith("rmpplan: error: pyproject.toml: [tool.rmpplan] paths: ")
    assert run("verify").stdout == ""


def test_a_link_found_below_a_configured_path_may_not_leave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An input the configured paths reach through a link out of the folder is an
    error naming it (exit 2), not an input the configuration vouches for."""
    write(tmp_path / "outside" / "nosmt.yaml", NOSMT)
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    write(project / "machines" / "single.yaml", SINGLE)
    (project / "machines" / "shared").symlink_to(tmp_path / "outside")
    write(project / "rmpplan.toml", 'paths = ["machines"]\n' + SILENCE)
    monkeypatch.chdir(project)
    result = run("verify", "--format", "text")
    assert result.exit_code == 2
    assert "ERROR machines/shared/nosmt.yaml: found through a symbolic link out of" in (
        result.stdout
    )
    assert "rmpplan: error: machines/shared/nosmt.yaml: found through a symbolic link" in (
        result.stderr
    )


def test_the_command_line_may_name_anything_but_is_not_silenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inputs outside the configuration's folder can be checked from the command line,
    and no expectation reaches them: not ``**``, not ``*`` matching ``..``, not a link
    inside the project that leads out."""
    write(tmp_path / "outside" / "nosmt.yaml", NOSMT)
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "topologies").mkdir()
    (project / "topologies" / "ext").symlink_to(tmp_path / "outside")
    write(
        project / "rmpplan.toml",
        '[expect]\n"**" = ["online-equals-present"]\n"*/outside" = ["online-equals-present"]\n',
    )
    monkeypatch.chdir(project)
    for target in ("../outside", str(tmp_path / "outside"), "topologies"):
        code, doc = report(target)
        assert code == 1, target
        assert doc["config"] == "rmpplan.toml"
        [entry] = doc["results"]
        assert [f["expected"] for f in entry["findings"]] == [False]
    write(project / "topologies" / "nosmt.yaml", NOSMT)
    (project / "topologies" / "ext").unlink()
    assert report("topologies")[0] == 0  # inside, the expectation holds


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("../outside/*.yaml", "without '..'"),
        ("topologies/../../x", "without '..'"),
        ("/etc/x.yaml", "relative to this file"),
        ("a/" * MAX_PATTERN_PARTS + "x.yaml", f"or {MAX_PATTERN_PARTS} parts"),
        ("x" * 1025, "longer than 1024 characters"),
    ],
)
def test_expect_patterns_stay_inside_and_are_bounded(
    pattern: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expect pattern is relative, without '..', and of bounded size: else one
    error naming the key."""
    project = failing_project(tmp_path)
    write(project / "rmpplan.toml", f'[expect]\n"{pattern}" = ["core-missed"]\n')
    monkeypatch.chdir(project)
    line = one_error(run("verify"), needle)
    assert line.startswith("rmpplan: error: rmpplan.toml: [expect] '")


def test_lists_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """paths and expect have a documented cap, an error naming the key past it; at
    the cap they are read."""
    project = failing_project(tmp_path)
    monkeypatch.chdir(project)
    entries = ", ".join(['"topologies"'] * (MAX_PATHS + 1))
    write(project / "rmpplan.toml", f"paths = [{entries}]\n")
    one_error(run("verify"), f"paths: {MAX_PATHS + 1} entries, at most {MAX_PATHS}")
    globs = "".join(f'"t{i}/*.yaml" = ["core-missed"]\n' for i in range(MAX_EXPECT + 1))
    write(project / "rmpplan.toml", "[expect]\n" + globs)
    one_error(run("verify"), f"[expect]: {MAX_EXPECT + 1} entries, at most {MAX_EXPECT}")
    globs = "".join(f'"t{i}/*.yaml" = ["core-missed"]\n' for i in range(MAX_EXPECT))
    write(project / "rmpplan.toml", "[expect]\n" + globs)
    assert run("verify").exit_code == 1
    deep = "/".join(["**", "a*"] * (MAX_PATTERN_PARTS // 2))
    count = MAX_EXPECT_PARTS // MAX_PATTERN_PARTS + 1
    globs = "".join(f'"{deep}{i}" = ["core-missed"]\n' for i in range(count))
    write(project / "rmpplan.toml", "[expect]\n" + globs)
    one_error(run("verify"), f"[expect]: the patterns with ** hold more than {MAX_EXPECT_PARTS}")


def test_oversized_or_deep_configuration_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration file over 1 MiB, or nested past the TOML reader's depth, is one
    error naming it."""
    project = failing_project(tmp_path)
    monkeypatch.chdir(project)
    write(project / "rmpplan.toml", "# " + "x" * (1 << 20) + "\n")
    one_error(run("verify"), "rmpplan.toml: a configuration file is at most 1 MiB: larger than")
    write(project / "rmpplan.toml", "paths = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_error(run("verify"), "rmpplan.toml: TOML nested too deeply")


# --- --config and --no-config ------------------------------------------------------------


def test_config_and_no_config_conflict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config and --no-config together are bad usage."""
    project = failing_project(tmp_path)
    write(project / "rmpplan.toml", SILENCE)
    monkeypatch.chdir(project)
    one_error(run("verify", "--config", "rmpplan.toml", "--no-config"), "conflict")


def test_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config reads the file it names instead of searching: the top level of any
    file, [tool.rmpplan] of a file named pyproject.toml; its paths are relative to
    it and stay inside its folder."""
    project = failing_project(tmp_path / "project")
    write(project / "pyproject.toml", '[tool.rmpplan]\nrule = "apic-primary"\n')
    write(tmp_path / "ci" / "strict.toml", 'paths = ["machines"]\n')
    write(tmp_path / "ci" / "machines" / "nosmt.yaml", NOSMT)
    write(tmp_path / "ci" / "pyproject.toml", '[project]\nname = "x"\n')
    monkeypatch.chdir(project)
    code, doc = report("--config", "../ci/strict.toml")
    assert (code, doc["config"]) == (1, "../ci/strict.toml")
    [entry] = doc["results"]
    assert (entry["path"], entry["rule"]) == ("../ci/machines/nosmt.yaml", "first-sibling")
    one_error(run("verify", "--config", "../ci/pyproject.toml"), "has no [tool.rmpplan] table")
    one_error(run("verify", "--config", "../ci/missing.toml"), "../ci/missing.toml: no such file")
    one_error(run("verify", "--config", "../ci"), "is a directory")
    write(tmp_path / "ci" / "strict.toml", 'paths = ["../project"]\n')
    one_error(run("verify", "--config", "../ci/strict.toml"), "'..' leaves this file's folder")


# --- every report names the configuration ---------------------------------------------


def test_every_format_names_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """table, text and Markdown have a header line, JSON a `config` key, JUnit a
    property on every suite, github a notice; with no configuration they say none."""
    project = failing_project(tmp_path)
    write(project / "rmpplan.toml", SILENCE)
    write(project / "topologies" / "broken.yaml", "cpus: [\n")
    monkeypatch.chdir(project)
    for config, shown in (((), "rmpplan.toml"), (("--no-config",), "none")):
        table = run("verify", *config).stdout
        assert table.splitlines()[0] == f"config: {shown}"
        text = run("verify", *config, "--format", "text").stdout
        assert text.splitlines()[0] == f"config: {shown}"
        markdown = run("verify", *config, "--format", "markdown").stdout.splitlines()
        assert markdown[2] == ("config: `rmpplan.toml`" if config == () else "config: none")
        code, doc = report(*config)
        assert code == 2
        assert doc["config"] == (None if config else "rmpplan.toml")
        junit = ET.fromstring(run("verify", *config, "--format", "junit").stdout)
        suites = junit.findall("testsuite")
        assert len(suites) == 2
        for suite in suites:
            assert suite[0].tag == "properties"  # the schemas want properties first
            values = {p.get("name"): p.get("value") for p in suite.iter("property")}
            assert values["config"] == shown
        github = run("verify", *config, "--format", "github").stdout.splitlines()
        assert github[0] == f"::notice title=rmpplan verify::configuration: {shown}"


def test_hostile_configuration_path_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration in a folder whose name holds a newline and a command stays on
    its notice line in github, and comes back whole from JUnit and JSON."""
    project = failing_project(tmp_path)
    folder = "x%0A\n::error::forged,50%"
    write(project / folder / "rmpplan.toml", "")
    monkeypatch.chdir(project)
    used = f"{folder}/rmpplan.toml"
    github = run("verify", "--config", used, "--format", "github").stdout.splitlines()
    assert github[0] == (
        "::notice title=rmpplan verify::configuration: x%250A\\n::error::forged,50%25/rmpplan.toml"
    )
    assert not any(line.startswith("::error::") for line in github)
    assert report("--config", used)[1]["config"] == used
    junit = ET.fromstring(run("verify", "--config", used, "--format", "junit").stdout)
    assert {p.get("value") for p in junit.iter("property") if p.get("name") == "config"} == {used}
    text = run("verify", "--config", used, "--format", "text").stdout
    assert text.splitlines()[0] == "config: x%0A\\n::error::forged,50%/rmpplan.toml"


# --- nothing to verify -----------------------------------------------------------------


def test_nothing_to_verify_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no PATH, no configured paths and no ./topologies, verify says what it
    looked for and how to configure paths, in one line (exit 2), whatever the format."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for fmt in ("table", "json", "junit", "github", "jsonl"):
        result = run("verify", "--format", fmt)
        line = one_error(result, "nothing to verify: no PATH was given, no configuration file")
        assert "./topologies" in line and "paths = [" in line
        assert result.stdout == ""
    write(tmp_path / "pyproject.toml", '[tool.rmpplan]\nrule = "apic-primary"\n')
    one_error(run("verify"), "no PATH was given, pyproject.toml sets no paths, and there is no")
    one_error(run("verify", "--no-config"), "no PATH was given, --no-config was given")
    assert run("verify", "--builtin", "--no-config").exit_code == 0
    write(tmp_path / "topologies" / "one.yaml", SINGLE)
    assert run("verify").exit_code == 0


# --- the matcher -------------------------------------------------------------------------


def reference_match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """The specification: try every split of ``**`` (exponential, for small cases)."""
    from fnmatch import fnmatchcase

    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(reference_match(rest, parts[start:]) for start in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and reference_match(rest, parts[1:])


SEGMENTS = st.sampled_from(["a", "b", "ab", "x.yaml"])
PATTERN_SEGMENTS = st.sampled_from(["a", "b", "*", "?", "**", "a*", "[ab]", "x.yaml", "*.yaml"])


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.lists(PATTERN_SEGMENTS, min_size=1, max_size=7),
    path=st.lists(SEGMENTS, min_size=1, max_size=7),
)
def test_matcher_agrees_with_the_specification(pattern: list[str], path: list[str]) -> None:
    """The automaton matches exactly when some leading part of the path matches the
    pattern by the backtracking definition."""
    expectation = Expectation("/".join(pattern), frozenset({Check.CORE_MISSED}))
    parts = tuple(path)
    want = any(reference_match(tuple(pattern), parts[:end]) for end in range(1, len(parts) + 1))
    assert expectation.matches(PurePosixPath(*path)) is want


def test_many_double_stars_match_like_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pattern that used to backtrack past a minute (eight ``**`` then a name that
    is not there) is checked, and decides as one ``**`` would."""
    project = tmp_path
    (project / ".git").mkdir()
    deep = project / "topologies" / "/".join("d" * 12)
    write(deep / "nosmt.yaml", NOSMT)
    write(project / "rmpplan.toml", '[expect]\n"**/**/**/**/**/**/**/**/x" = ["core-missed"]\n')
    monkeypatch.chdir(project)
    code, doc = report()
    assert code == 1
    [entry] = doc["results"]
    assert entry["stale_expectations"] == []  # x does not match nosmt.yaml
    write(
        project / "rmpplan.toml", '[expect]\n"**/**/**/**/nosmt.yaml" = ["online-equals-present"]\n'
    )
    assert report()[0] == 0
