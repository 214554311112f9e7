"""hwloc-gather-topology pairs with a half rmpplan cannot read: bad input naming it,
never a quieter check of the other half alone."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest

from tests.cli import one_error, run, run_child
from tests.sources.source_fixtures import DATA

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

HWLOC = DATA / "hwloc-linux"
NAME = "16em64t-4s2c2t-offlines"
GOOD_XML = (HWLOC / f"{NAME}-xml.xml").read_text(encoding="utf-8")


def folder_with_dump(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    folder.mkdir()
    shutil.copy(HWLOC / f"{NAME}.tar.bz2", folder / f"{NAME}.tar.bz2")
    return folder


def _fifo(xml: Path) -> None:
    os.mkfifo(xml)


def _directory(xml: Path) -> None:
    xml.mkdir()


def _link_out(xml: Path) -> None:
    outside = xml.parent.parent / "elsewhere.xml"
    outside.write_text(GOOD_XML, encoding="utf-8")
    xml.symlink_to(outside)


def _link_to_nothing(xml: Path) -> None:
    xml.symlink_to(xml.parent / "gone.xml")


def _not_xml(xml: Path) -> None:
    xml.write_text("CPU NODE SOCKET CORE\n0 0 0 0\n", encoding="utf-8")


def _not_hwloc(xml: Path) -> None:
    xml.write_text('<?xml version="1.0"?>\n<config/>\n', encoding="utf-8")


def _empty(xml: Path) -> None:
    xml.write_bytes(b"")


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (_directory, "is a directory"),
        (_link_out, "a symbolic link out of its folder"),
        (_link_to_nothing, "symbolic link"),
        (_not_xml, "invalid XML"),
        (_not_hwloc, "not hwloc's <topology>"),
        (_empty, "XML"),
    ],
)
def test_unreadable_xml_beside_a_dump_is_bad_input(
    tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    """Whatever NAME.xml is, the pair is one input and an XML that cannot be read is
    the error, naming the XML; the dump alone is never reported instead."""
    folder = folder_with_dump(tmp_path)
    xml = folder / f"{NAME}.xml"
    make(xml)
    line = one_error(run("verify", str(folder)), needle)
    assert str(xml) in line


def test_fifo_xml_beside_a_dump_is_bad_input(tmp_path: Path) -> None:
    """A FIFO named NAME.xml is never opened (no hang) and is the error."""
    folder = folder_with_dump(tmp_path)
    xml = folder / f"{NAME}.xml"
    os.mkfifo(xml)
    out = run_child("verify", str(folder), "--format", "json")
    assert out.returncode == 2
    assert f"{xml}: is a FIFO (named pipe), not a regular file" in out.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_xml_is_bad_input(tmp_path: Path) -> None:
    folder = folder_with_dump(tmp_path)
    xml = folder / f"{NAME}.xml"
    xml.write_text(GOOD_XML, encoding="utf-8")
    xml.chmod(0)
    line = one_error(run("verify", str(folder)), "ermission denied")
    assert str(xml) in line


def test_fifo_dump_beside_an_xml_is_bad_input(tmp_path: Path) -> None:
    """The other way round: NAME.xml found, NAME.tar.bz2 a FIFO; the XML is not checked
    alone (it would say it cannot judge, or pass an XML that hides nothing)."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    (folder / f"{NAME}.xml").write_text(GOOD_XML, encoding="utf-8")
    dump = folder / f"{NAME}.tar.bz2"
    os.mkfifo(dump)
    out = run_child("verify", str(folder), "--format", "json")
    assert out.returncode == 2
    assert f"{dump}: is a FIFO (named pipe), not a regular file" in out.stderr


def test_link_inside_the_folder_still_pairs(tmp_path: Path) -> None:
    """A link to a file in the same folder is read like the file: the pair is checked,
    and the dump's offline CPUs are the finding."""
    folder = folder_with_dump(tmp_path)
    # A hidden folder, so that the search does not find the XML again on its own.
    (folder / ".kept").mkdir()
    (folder / ".kept" / "real.xml").write_text(GOOD_XML, encoding="utf-8")
    (folder / f"{NAME}.xml").symlink_to(folder / ".kept" / "real.xml")
    out = run("verify", str(folder), "--format", "text")
    assert out.exit_code == 1, out.output
    assert "online-equals-present" in out.stdout
    assert out.stdout.count("FAIL") == 1


def test_no_xml_beside_the_dump_is_the_dump_alone(tmp_path: Path) -> None:
    """Nothing named NAME.xml: the dump is checked alone, as before."""
    folder = folder_with_dump(tmp_path)
    out = run("verify", str(folder), "--format", "text")
    assert out.exit_code == 1
    assert f"{NAME}.tar.bz2" in out.stdout
