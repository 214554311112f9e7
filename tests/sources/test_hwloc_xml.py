"""hwloc XML 1.x/2.0/3.0: which objects make cores, and parsing that expands nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rmpplan.sources import SourceFormat, detect_format, read_source
from tests.sources.source_fixtures import DATA, first, read_error

if TYPE_CHECKING:
    from pathlib import Path

XML = DATA / "xml"


error = read_error


def write(tmp_path: Path, body: str, name: str = "t.xml") -> Path:
    """An hwloc XML file with ``body`` inside <topology version="2.0">."""
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<topology version="2.0">{body}</topology>\n')
    return path


def test_walks_through_groups_caches_and_numa() -> None:
    """Groups, NUMA nodes, caches are walked through; a PU below no Core is a core alone."""
    machine = read_source(XML / "v2-walkthrough.xml")
    assert [(core.threads, core.key) for core in machine.cores] == [
        ((0, 4), (0, 0, 0)),
        ((1, 5), (0, 0, 1)),
        ((2, 6), (1, 0, 0)),
        ((3,), (1, 1, 0)),
        ((7,), (1, 1, 1)),
    ]
    assert first(machine) == [0, 1, 2, 3, 7]
    assert machine.online == machine.present == machine.possible == set(range(8))
    assert all(cpu.apic_id is None for cpu in machine.cpus.values())
    assert machine.source == "hwloc XML 2.0 v2-walkthrough.xml"
    assert machine.name == "v2-walkthrough"


def test_version_3() -> None:
    """XML 3.0 (hwloc master) reads; the Core's os_index does not matter."""
    machine = read_source(XML / "v3-minimal.xml")
    assert [core.threads for core in machine.cores] == [(0, 2), (1, 3)]
    assert machine.source == "hwloc XML 3.0 v3-minimal.xml"


def test_version_1_socket() -> None:
    """XML 1.x: Socket is the package and Cache objects are walked through."""
    machine = read_source(XML / "v1-socket.xml")
    assert [(core.threads, core.key) for core in machine.cores] == [
        ((0, 1), (0, 0, 0)),
        ((2, 3), (1, 0, 0)),
    ]
    assert machine.source == "hwloc XML 1.x v1-socket.xml"


def test_billion_laughs_is_refused_at_once() -> None:
    """ENTITY declarations are refused before anything is expanded."""
    assert "ENTITY declarations are not allowed" in error(XML / "billion-laughs.xml")


def test_billion_laughs_in_utf16_is_refused_like_utf8(tmp_path: Path) -> None:
    """The same attack in UTF-16 is read as UTF-8 first, so it stops where UTF-8 does."""
    path = tmp_path / "laughs16.xml"
    text = (XML / "billion-laughs.xml").read_text(encoding="utf-8")
    path.write_bytes(text.replace('<?xml version="1.0"?>', "").encode("utf-16"))
    assert "ENTITY declarations are not allowed" in error(path, SourceFormat.HWLOC_XML)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("internal-subset.xml", ":2: DOCTYPE internal subsets are not allowed"),
        ("undeclared-entity.xml", ":3: entity references are not allowed"),
        ("not-hwloc.xml", ":2: root element is <svg>, not hwloc's <topology>"),
        ("pu-without-os-index.xml", ":2: a PU object has no os_index"),
        ("version-9.xml", ":2: hwloc XML version 9.0 is not supported (1.x-3.x)"),
    ],
)
def test_refused_documents(name: str, message: str) -> None:
    """Unsafe or foreign XML is refused with the file and line."""
    path = XML / name
    assert error(path, SourceFormat.HWLOC_XML).startswith(f"{path}{message}")


def test_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    """A DOCTYPE naming a DTD file (as hwloc's own does) is accepted and the DTD not read."""
    path = tmp_path / "t.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE topology SYSTEM "/nonexistent/evil.dtd">\n'
        '<topology version="2.0"><object type="PU" os_index="0"/></topology>\n'
    )
    assert read_source(path).present == {0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<object type="Machine"><object type="PU" os_index="0">', "invalid XML"),
        ('<object type="Machine"/>', "has no PU objects"),
        ('<object type="PU" os_index="x1"/>', "os_index 'x1' is not a number"),
        (
            '<object type="PU" os_index="1"/><object type="PU" os_index="1"/>',
            "PU os_index 1 appears twice",
        ),
        ('<object type="PU" os_index="8192"/>', "outside 0-8191"),
    ],
)
def test_bad_documents(tmp_path: Path, body: str, message: str) -> None:
    """Malformed XML, no PUs, bad or repeated os_index are InputErrors naming the file."""
    assert message in error(write(tmp_path, body))


def test_packages_without_os_index_number_in_document_order(tmp_path: Path) -> None:
    """Packages with no (or repeated) os_index are numbered in document order."""
    pkg = '<object type="Package" os_index="5"><object type="PU" os_index="{}"/></object>'
    machine = read_source(write(tmp_path, pkg.format(0) + pkg.format(1)))
    assert [core.key for core in machine.cores] == [(0, 0, 0), (1, 0, 0)]
    bare = '<object type="Package"><object type="PU" os_index="{}"/></object>'
    machine = read_source(write(tmp_path, bare.format(0) + pkg.format(1), "u.xml"))
    assert [core.key for core in machine.cores] == [(0, 0, 0), (1, 0, 0)]


def test_detection(tmp_path: Path) -> None:
    """hwloc XML is detected by content; other XML is not a source."""
    assert detect_format(XML / "v1-socket.xml") is SourceFormat.HWLOC_XML
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?>\n<svg/>\n')
    assert detect_format(other) is None
    assert detect_format(XML / "not-hwloc.xml") is None  # <topology/> below another root
    assert detect_format(XML / "billion-laughs.xml") is SourceFormat.HWLOC_XML
