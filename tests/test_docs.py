"""The docs cannot drift: every console example is what its command prints, and
docs/cli.md documents every command and option."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rmpplan.cli.main import cli
from tests.conftest import ROOT, require_shared

DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
CLI_DOC = ROOT / "docs" / "cli.md"
FENCE = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PROMPT = "$ "
# The environment of the examples: this interpreter's rmpplan first, no colour, wide tables.
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "NO_COLOR": "1",
    "COLUMNS": "200",
}


@dataclass(frozen=True)
class Example:
    """One `$ command` line of a console block and the stdout shown under it."""

    command: str
    stdout: str

    @property
    def needs_shared(self) -> bool:
        return "../shared/" in self.command


@dataclass(frozen=True)
class Block:
    """A console block: its document, its index there, and its examples."""

    doc: Path
    index: int
    stray: str  # text before the first prompt, which no command printed
    examples: tuple[Example, ...]

    @property
    def id(self) -> str:
        return f"{self.doc.name}-block{self.index}"


def console_blocks(doc: Path) -> Iterator[Block]:
    """The ```console blocks of ``doc``, split into commands and their output."""
    text = doc.read_text(encoding="utf-8")
    for index, match in enumerate(FENCE.finditer(text)):
        stray: list[str] = []
        examples: list[tuple[str, list[str]]] = []
        for line in match.group(1).splitlines(keepends=True):
            if line.startswith(PROMPT):
                examples.append((line[len(PROMPT) :].rstrip("\n"), []))
            elif examples:
                examples[-1][1].append(line)
            else:
                stray.append(line)
        yield Block(
            doc,
            index,
            "".join(stray),
            tuple(Example(command, "".join(lines)) for command, lines in examples),
        )


BLOCKS = [block for doc in DOCS for block in console_blocks(doc)]
# A command holding one of these needs the shell (a pipe, a redirection, a variable,
# a glob): it runs through bash. Any other `rmpplan ...` line runs in-process, which
# prints the same stdout without the half second of a new interpreter.
SHELL = re.compile(r"[|&;<>()$`*?\[\]{}~\\]")


def run(command: str) -> tuple[str, str]:
    """One example's stdout and stderr, as a reader running it from the project root sees them."""
    words = shlex.split(command)
    if words[0] == "rmpplan" and not SHELL.search(command):
        result = CliRunner().invoke(
            cli, words[1:], env=ENV, prog_name="rmpplan", catch_exceptions=False
        )
        return result.stdout, result.stderr
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=ENV, capture_output=True, text=True, check=False
    )
    return done.stdout, done.stderr


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.id)
def test_console_example(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each console block's commands print exactly the output shown under them."""
    assert block.examples, "a console block holds at least one `$ command`"
    assert block.stray == "", "a console block starts with `$ command`"
    if any(example.needs_shared for example in block.examples):
        require_shared()
    monkeypatch.chdir(ROOT)
    for example in block.examples:
        stdout, stderr = run(example.command)
        assert stdout == example.stdout, (
            f"{block.doc.name}: `{example.command}` printed something else (stderr {stderr!r})"
        )


def test_readme_first_example_is_plan() -> None:
    """The README opens with the plan example that tests/test_cli.py also checks."""
    first = BLOCKS[0]
    assert first.doc.name == "README.md"
    assert first.index == 0
    assert [example.command for example in first.examples] == [
        "rmpplan plan topologies/epyc-9965-2s.yaml --leader 17"
    ]


def test_readme_links_every_doc() -> None:
    """README.md links every page in docs/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def cli_sections() -> dict[str, str]:
    """docs/cli.md's text under each `## \\`rmpplan <name>\\`` heading, by command name."""
    text = CLI_DOC.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        match = re.fullmatch(r"`rmpplan (\S+)`", heading.strip())
        if match:
            sections[match.group(1)] = body
    return sections


def command(name: str) -> click.Command:
    """The click command object of ``rmpplan <name>``."""
    found = cli.get_command(click.Context(cli), name)
    assert found is not None, name
    return found


COMMAND_NAMES = cli.list_commands(click.Context(cli))


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_cli_doc_lists_every_option(name: str) -> None:
    """docs/cli.md's section on a command names every option its --help lists."""
    section = cli_sections().get(name)
    assert section is not None, f"docs/cli.md has no section ## `rmpplan {name}`"
    names = [
        flag
        for param in command(name).params
        if isinstance(param, click.Option)
        for flag in (*param.opts, *param.secondary_opts)
    ]
    missing = [
        flag for flag in names if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", section)
    ]
    assert not missing, f"docs/cli.md, `rmpplan {name}`: options not documented: {missing}"


def test_cli_doc_has_no_unknown_command() -> None:
    """Every `rmpplan <name>` section of docs/cli.md is a real command, in the CLI's order."""
    assert list(cli_sections()) == COMMAND_NAMES
