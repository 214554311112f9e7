"""verify --format concise: one `path:line: check: message` line per problem, on the
line the github format annotates, never wrapped, with no input able to add or start
a line; the exit code is verify's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run
from tests.conftest import EXAMPLES, ROOT
from tests.projects import EXPECT_NOSMT, NOSMT, located_inputs, write
from tests.test_ci_formats import ANNOTATION, unescape

LINE = re.compile(r"(?P<path>.*?):(?P<line>\d+): (?P<check>\S+): (?P<message>.*)")


def problems(out: str) -> list[tuple[str, int, str]]:
    """(path, line, check) of each problem line; the last line is the count."""
    *lines, last = out.splitlines()
    assert last.startswith("rmpplan: ") and LINE.fullmatch(last) is None
    found = []
    for line in lines:
        match = LINE.fullmatch(line)
        assert match, line
        found.append((match["path"], int(match["line"]), match["check"]))
    return found


def github_problems(out: str) -> list[tuple[str, int, str]]:
    """(file, line, check) of each error annotation of the github format."""
    found = []
    for line in out.splitlines():
        annotation = ANNOTATION.fullmatch(line)
        if annotation is None:
            continue
        props = dict(part.split("=", 1) for part in annotation.group("props").split(","))
        if "file" in props:
            title = unescape(props["title"])
            check = "error" if title == "rmpplan" else title.split()[1]
            found.append((unescape(props["file"]), int(props["line"]), check))
    return found


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Inputs with findings located by a cpus: list, by a key, and a parse error's line."""
    monkeypatch.chdir(tmp_path)
    return located_inputs(tmp_path)


def test_each_problem_is_on_the_line_github_annotates(inputs: list[str]) -> None:
    """Same problems, same files, same lines, same checks as the github annotations."""
    concise = run("verify", *inputs, "--format", "concise")
    github = run("verify", *inputs, "--format", "github")
    assert concise.exit_code == github.exit_code == 2
    found = problems(concise.stdout)
    assert found == github_problems(github.stdout)
    assert ("twice.yaml", 5, "core-run-twice") in found
    assert ("broken.yaml", 3, "error") in found
    assert concise.stdout.splitlines()[-1] == "rmpplan: 8 problems in 4 of 4 inputs"


def test_a_parse_error_names_its_line_once(inputs: list[str]) -> None:
    out = run("verify", "broken.yaml", "--format", "concise").stdout
    line = out.splitlines()[0]
    assert line.startswith("broken.yaml:3: error: ")
    assert "line 3" not in line


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((str(EXAMPLES / "nosmt.yaml"),), 1),
        (("topologies/single-core.yaml",), 0),
        ((str(EXAMPLES / "missing.yaml"),), 2),
    ],
)
def test_exit_code_is_verifys(args: tuple[str, ...], code: int) -> None:
    """The exit code is the one every format gives; a pass prints only the count."""
    concise = run("verify", *args, "--no-config", "--format", "concise")
    reference = run("verify", *args, "--no-config", "--format", "json")
    assert concise.exit_code == reference.exit_code == code
    assert len(problems(concise.stdout)) == (0 if code == 0 else 1)
    if code == 0:
        assert concise.stdout == "rmpplan: no problems in 1 input\n"


def test_an_expected_finding_is_not_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finding the configuration expects passes the run and has no line."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "topologies" / "nosmt.yaml", NOSMT)
    write(tmp_path / "rmpplan.toml", EXPECT_NOSMT)
    result = run("verify", "--format", "concise")
    assert result.exit_code == 0
    assert result.stdout == "rmpplan: no problems in 1 input\n"


@pytest.mark.parametrize("name", ["::error file=x::forged.yaml", " ::warning::x.yaml", "a\nb.yaml"])
def test_no_name_starts_or_adds_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A file name holding a line break or a runner command stays on its one line,
    and a line never starts with `::` or a blank (where runners read commands)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, NOSMT)
    result = run("verify", name, "--format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2  # the problem and the count
    assert not lines[0][:1].isspace() and not lines[0].startswith(":")
    assert lines[0].startswith(("./", "a\\nb.yaml:"))
    assert "\n" not in lines[0]


def test_lines_are_never_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrow terminal changes nothing: each problem stays one (long) line."""
    wide = run("verify", str(EXAMPLES / "nosmt.yaml"), "--no-config", "--format", "concise")
    monkeypatch.setenv("COLUMNS", "20")
    narrow = run("verify", str(EXAMPLES / "nosmt.yaml"), "--no-config", "--format", "concise")
    assert narrow.stdout == wide.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) > 80


def test_a_path_that_is_not_utf8_is_escaped(tmp_path: Path) -> None:
    """A path byte that is not UTF-8 is written as \\xff; the output is UTF-8."""
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/box\xff"))
    folder.mkdir()
    (folder / "nosmt.yaml").write_text(NOSMT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "rmpplan", "verify", os.fsencode(folder), "--format", "concise"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    first = done.stdout.decode("utf-8").splitlines()[0]
    assert first.startswith(f"{tmp_path}/box\\xff/nosmt.yaml:8: online-equals-present: ")
