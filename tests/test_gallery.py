"""docs/gallery.md: every picture it shows exists, is small, and is what the command
beside it draws now; each is the picture of a command the gallery runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli import run_child
from tests.conftest import ROOT

GALLERY = ROOT / "docs" / "gallery.md"
IMAGE = re.compile(r"!\[[^\]]+\]\(img/([\w.-]+\.svg)\)")
DRAWN = re.compile(r"Drawn by `(rmpplan [^`]*--svg docs/img/([\w.-]+\.svg))`")
SMALL = 100_000
"""Bytes a gallery picture may take (the repository keeps them)."""


def sections() -> list[str]:
    return re.split(r"^## ", GALLERY.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]


def drawn() -> list[tuple[str, str, str]]:
    """(section heading, picture command, picture file) of every picture."""
    found = []
    for section in sections():
        heading = section.partition("\n")[0]
        found += [(heading, command, name) for command, name in DRAWN.findall(section)]
    return found


def test_every_scenario_has_one_picture_drawn_by_its_command() -> None:
    """Six scenarios; each shows one picture, and names the command that draws it."""
    assert len(sections()) == 6
    for section in sections():
        shown = IMAGE.findall(section)
        assert len(shown) == 1, section.partition("\n")[0]
        assert [name for _, name in DRAWN.findall(section)] == shown


@pytest.mark.parametrize(("heading", "command", "name"), drawn(), ids=lambda v: str(v)[:40])
def test_picture_is_what_the_command_draws_now(
    tmp_path: Path, heading: str, command: str, name: str
) -> None:
    """The committed picture is byte for byte what its command draws today, and small."""
    committed = ROOT / "docs" / "img" / name
    assert committed.is_file(), f"{heading}: docs/img/{name} is missing"
    assert committed.stat().st_size < SMALL
    args = shlex.split(command)[1:]
    fresh = tmp_path / name
    args[args.index(f"docs/img/{name}")] = str(fresh)
    done = run_child(*args)
    assert done.returncode in (0, 1), done.stderr
    assert fresh.read_bytes() == committed.read_bytes(), f"regenerate docs/img/{name}"


@pytest.mark.parametrize(("heading", "command", "name"), drawn(), ids=lambda v: str(v)[:40])
def test_picture_is_of_a_command_the_gallery_runs(heading: str, command: str, name: str) -> None:
    """The picture command is one of its section's console commands with --svg added;
    schedule draws nothing, so its picture is plan's of the same machine and worker."""
    section = next(s for s in sections() if s.startswith(heading))
    console = re.findall(r"^\$ (rmpplan .*)$", section, flags=re.MULTILINE)
    base = command.removesuffix(f" --svg docs/img/{name}")
    if base in console:
        return
    (scheduled,) = (line for line in console if line.startswith("rmpplan schedule "))
    match = re.fullmatch(r"rmpplan schedule (\S+) --leader (\S+) .*", scheduled)
    assert match is not None, scheduled
    assert base == f"rmpplan plan {match[1]} --leader {match[2]}"
