"""Telling sources apart, finding them in folders, live facts, and the fixtures' freshness."""

from __future__ import annotations

import filecmp
import importlib.util
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmpplan.cli.main import cli
from rmpplan.errors import InputError
from rmpplan.sources import (
    LiveFacts,
    SourceFormat,
    detect_format,
    find_sources,
    live_facts,
    read_source,
)
from rmpplan.sources.sysfs import CPU_DIR
from tests.sources.source_fixtures import DATA, pack, write_tree


@pytest.mark.parametrize("fmt", list(SourceFormat))
def test_every_format_is_an_input_format_spelling(tmp_path: Path, fmt: SourceFormat) -> None:
    """--input-format VALUE reads each kind of source as detection does."""
    path = {
        SourceFormat.SYSFS: DATA / "sysfs" / "bulldozer",
        SourceFormat.TARBALL: tmp_path / "bulldozer.bin",
        SourceFormat.HWLOC_XML: DATA / "xml" / "v3-minimal.xml",
        SourceFormat.LSCPU_JSON: DATA / "lscpu" / "old-strings.json",
        SourceFormat.LSCPU_CSV: DATA / "lscpu" / "intel-hybrid.csv",
    }[fmt]
    if fmt is SourceFormat.TARBALL:
        pack(DATA / "sysfs" / "bulldozer", path)
    args = ["show", str(path), "--format", "json"]
    forced = CliRunner().invoke(cli, [*args, "--input-format", fmt.value])
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout == CliRunner().invoke(cli, args).stdout


def test_detect_each_kind(tmp_path: Path) -> None:
    """Each kind is told apart; YAML, plain folders and other files are not sources."""
    assert detect_format(DATA / "sysfs" / "bulldozer") is SourceFormat.SYSFS
    assert detect_format(DATA / "xml" / "v3-minimal.xml") is SourceFormat.HWLOC_XML
    assert detect_format(DATA / "lscpu" / "intel-hybrid.csv") is SourceFormat.LSCPU_CSV
    assert detect_format(DATA / "lscpu" / "old-strings.json") is SourceFormat.LSCPU_JSON
    assert detect_format(pack(DATA / "sysfs" / "bulldozer", tmp_path / "b.tgz")) is (
        SourceFormat.TARBALL
    )
    yaml = tmp_path / "t.yaml"
    yaml.write_text("cpus: []\n")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    for path in (yaml, text, tmp_path, tmp_path / "missing"):
        assert detect_format(path) is None


def test_read_source_refuses_what_is_not_a_source(tmp_path: Path) -> None:
    """A missing path or an unknown file is one InputError line naming it."""
    with pytest.raises(InputError, match="no such file or directory"):
        read_source(tmp_path / "missing")
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(InputError, match=r"notes\.txt: not a sysfs root"):
        read_source(other)


def test_forced_format_that_does_not_fit(tmp_path: Path) -> None:
    """Forcing a file format on a folder, or sysfs on a file, names the path."""
    with pytest.raises(InputError, match="is a directory, not a file"):
        read_source(DATA / "sysfs" / "bulldozer", SourceFormat.HWLOC_XML)
    with pytest.raises(InputError, match="a sysfs root must be a directory"):
        read_source(DATA / "xml" / "v3-minimal.xml", SourceFormat.SYSFS)
    with pytest.raises(InputError, match="archive"):
        read_source(DATA / "xml" / "v3-minimal.xml", SourceFormat.TARBALL)


def test_find_sources(tmp_path: Path) -> None:
    """Sysfs roots (not entered), tarballs, hwloc XML, lscpu -p; not YAML/JSON or hidden."""
    root = write_tree(
        tmp_path / "a" / "box", {"online": "0\n", "cpu0/topology/core_cpus_list": "0\n"}
    )
    (root / "inside.xml").write_bytes((DATA / "xml" / "v3-minimal.xml").read_bytes())
    pack(DATA / "sysfs" / "bulldozer", tmp_path / "b.tar.gz")
    (tmp_path / "c.xml").write_bytes((DATA / "xml" / "v3-minimal.xml").read_bytes())
    (tmp_path / "d.xml").write_text('<?xml version="1.0"?><svg/>\n')
    (tmp_path / "e.yaml").write_text("cpus: []\n")
    (tmp_path / "f.json").write_bytes((DATA / "lscpu" / "old-strings.json").read_bytes())
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "saved.csv").write_bytes((DATA / "lscpu" / "intel-hybrid.csv").read_bytes())
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.xml").write_bytes((DATA / "xml" / "v3-minimal.xml").read_bytes())
    assert find_sources(tmp_path) == [
        tmp_path / "a" / "box",
        tmp_path / "b.tar.gz",
        tmp_path / "c.xml",
        tmp_path / "g" / "saved.csv",
    ]


def test_find_sources_on_a_root_itself() -> None:
    """A folder that is a sysfs root is its own only source."""
    folder = DATA / "sysfs" / "nosmt"
    assert find_sources(folder) == [folder]


def test_live_facts_of_a_nosmt_dump() -> None:
    """nosmt: smt/control is off and online != present, so SNP init would refuse."""
    facts = live_facts(DATA / "sysfs" / "nosmt")
    assert facts == LiveFacts(
        smt_control="off",
        online_equals_present=False,
        explanation=facts.explanation,
    )
    assert "present CPUs 4-7 are offline" in facts.explanation
    assert "`nosmt`" in facts.explanation
    assert "`maxcpus=`" in facts.explanation
    assert "SNP init would refuse" in facts.explanation


def test_live_facts_when_all_online() -> None:
    """All present CPUs online and no smt/ folder: SNP init would accept."""
    facts = live_facts(DATA / "sysfs" / "nul-endings")
    assert facts.smt_control is None
    assert facts.online_equals_present is True
    assert "SNP init would accept" in facts.explanation
    assert "`nosmt` or `maxcpus=`" in facts.explanation


def test_live_facts_of_an_old_dump() -> None:
    """Without cpu/online and cpu/present, the derived sets are compared."""
    facts = live_facts(DATA / "sysfs" / "old-hex-only")
    assert facts.online_equals_present is False
    assert "present CPUs 2 are offline" in facts.explanation


@pytest.mark.skipif(
    not Path("/", CPU_DIR).is_dir() or not os.access("/" + CPU_DIR, os.R_OK),
    reason="this machine has no readable /sys/devices/system/cpu",
)
def test_live_facts_of_this_machine() -> None:
    """The live machine gives a yes/no answer and a reason that names nosmt and maxcpus=."""
    facts = live_facts(Path("/"))
    assert isinstance(facts.online_equals_present, bool)
    assert "`nosmt` or `maxcpus=`" in facts.explanation


def test_fixtures_are_current(tmp_path: Path) -> None:
    """tests/sources/data matches what make_fixtures.py writes (regenerate after editing it)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for folder in ("sysfs", "xml", "lscpu"):
        assert _same_tree(tmp_path / folder, DATA / folder), f"{folder} differs: run make_fixtures"


def _same_tree(left: Path, right: Path) -> bool:
    compare = filecmp.dircmp(left, right)
    if compare.left_only or compare.right_only or compare.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compare.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / sub, right / sub) for sub in compare.common_dirs)
