"""Hostile topology files, saved lscpu output, hwloc XML, iomem and kernel logs: each is
refused with one line and exit 2, early, before it can cost much (docs/security.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import Result

from rmpplan.terms import NR_CPUS_MAX
from rmpplan.topology.parse import MAX_DEPTH, MAX_SCALAR_CHARS, MAX_VALUES
from tests.cli import one_error as refused
from tests.cli import run, run_child
from tests.conftest import TOPOLOGIES

if TYPE_CHECKING:
    from pathlib import Path

EPYC = str(TOPOLOGIES / "epyc-9965-2s.yaml")
LAYOUT_YAML = "layout: {packages: 1, cores_per_die: 1}\n"
LAYOUT_JSON = '"layout": {"packages": 1, "cores_per_die": 1}'


def plan(path: Path, *extra: str) -> Result:
    """``rmpplan plan PATH --leader 0``."""
    return run("plan", str(path), "--leader", "0", *extra)


def write(path: Path, text: str | bytes) -> Path:
    """Write text (UTF-8) or bytes."""
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- topology YAML ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cpus: [" + "0," * MAX_VALUES + "0]\n", f"more than {MAX_VALUES} values"),
        ("cpus:\n" + "- 0\n" * (MAX_VALUES + 1), f"more than {MAX_VALUES} values"),
        (LAYOUT_YAML + "extra: [" + "1," * MAX_VALUES + "1]\n", f"more than {MAX_VALUES}"),
        ("cpus: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "nested more than"),
        ("cpus:\n" + "- " * 100_000 + "0\n", "nested more than"),
        (LAYOUT_YAML + "name: " + "a" * (MAX_SCALAR_CHARS + 1) + "\n", "characters"),
        ("cpus:\n- {id: 0x" + "f" * 3600 + ", core: 0}\n", "has 3602 characters"),
        ("layout: {packages: " + "9" * 5000 + ", cores_per_die: 1}\n", "has 5000 characters"),
        ("cpus:\n- {id: !!int abc, core: 0}\n", "'abc' is not a valid !!int"),
        ('name: "\\ud800"\n' + LAYOUT_YAML, "YAML syntax error"),
    ],
    ids=[
        "flow-list",
        "block-list",
        "unknown-key-list",
        "deep-flow",
        "deep-block",
        "long-scalar",
        "hex-id-3600",
        "long-decimal",
        "bad-explicit-int",
        "surrogate-escape",
    ],
)
def test_hostile_yaml_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    """Too many values, too deep, too long, or a bad number: one line, exit 2."""
    line = refused(plan(write(tmp_path / "t.yaml", text)), needle)
    assert len(line) < 400


def test_values_are_counted_before_they_are_built(tmp_path: Path) -> None:
    """The refusal names the line of the first value past the cap, not the end of the file."""
    text = "cpus:\n" + "- 0\n" * (MAX_VALUES + 1000)
    line = refused(plan(write(tmp_path / "t.yaml", text)), "values")
    # Values 1-3 are the file's mapping, "cpus" and its list; item k is on line k + 1.
    assert f"t.yaml:{MAX_VALUES + 1 - 3 + 1}:" in line


def test_an_explicit_8192_cpu_file_fits(tmp_path: Path) -> None:
    """The largest real topology, every key given, is well inside the caps."""
    rows = "".join(
        f"- {{id: {cpu}, package: {cpu // 4096}, die: 0, core: {cpu % 4096 // 2}, "
        f"online: true, apic_id: {cpu}}}\n"
        for cpu in range(NR_CPUS_MAX)
    )
    result = plan(write(tmp_path / "t.yaml", "cpus:\n" + rows), "--format", "json")
    assert result.exit_code == 0, result.stderr


def test_topology_file_size_is_refused_from_its_size(tmp_path: Path) -> None:
    """A topology file over 16 MiB is refused without being read (a sparse file here)."""
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate((16 << 20) + 1)
    refused(plan(path), "larger than 16 MiB")


# --- topology JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"cpus": [' + "0," * MAX_VALUES + "0]}", f"more than {MAX_VALUES} values"),
        ("{" + ",".join(f'"k{i}": 0' for i in range(MAX_VALUES)) + "}", "values"),
        ('{"cpus": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than"),
        ('{"cpus": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}", "nested more than"),
        ('{"layout": {"packages": ' + "9" * 5000 + ', "cores_per_die": 1}}', "5000 characters"),
        ('{"name": "' + "a" * (MAX_SCALAR_CHARS + 1) + '", ' + LAYOUT_JSON + "}", "characters"),
        ('{"name": "\\ud800", ' + LAYOUT_JSON + "}", "lone UTF-16 surrogate"),
        ('{"name": "\\udc00\\ud800", ' + LAYOUT_JSON + "}", "lone UTF-16 surrogate"),
    ],
    ids=[
        "flow-list",
        "many-keys",
        "deep-100000",
        "deep-17",
        "long-number",
        "long-string",
        "lone-high-surrogate",
        "swapped-surrogates",
    ],
)
def test_hostile_json_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    """The JSON twins of the YAML cases: one line, exit 2."""
    refused(plan(write(tmp_path / "t.json", text)), needle)


def test_commas_inside_strings_do_not_count(tmp_path: Path) -> None:
    """The value count looks past separators inside strings before it refuses."""
    source = "," * (MAX_VALUES + 10)
    assert len(source) < MAX_SCALAR_CHARS * 3  # the count, not the length, is what is tested
    text = '{"source": "' + source[: MAX_SCALAR_CHARS - 1] + '", ' + LAYOUT_JSON + "}"
    text = text.replace('"source": "', '"name": "x", "source": "', 1)
    assert run("plan", str(write(tmp_path / "t.json", text)), "--leader", "0").exit_code == 0


def test_a_surrogate_pair_is_a_character(tmp_path: Path) -> None:
    """An escaped surrogate pair is one character (an emoji), not an error."""
    text = '{"name": "\\ud83d\\ude00", ' + LAYOUT_JSON + "}"
    result = plan(write(tmp_path / "t.json", text), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert '"topology": "\\ud83d\\ude00"' in result.stdout or "\U0001f600" in result.stdout


def test_lone_surrogate_names_its_line(tmp_path: Path) -> None:
    """The surrogate refusal carries the line of the escape."""
    text = "{\n" + LAYOUT_JSON + ',\n"name": "\\ud800"\n}'
    assert "t.json:3:" in refused(plan(write(tmp_path / "t.json", text)), "surrogate")


# --- saved lscpu output -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("l.json", '{"cpus": [{"cpu": ' + "[" * 100_000 + "]" * 100_000 + "}]}", "nested"),
        ("l.json", '{"cpus": [{"cpu": 0, "core": ' + "9" * 5000 + "}]}", "5000 characters"),
        (
            "l.json",
            '{"cpus": [' + ",".join(['{"cpu": 0, "core": 0}'] * (NR_CPUS_MAX + 1)) + "]}",
            f"lists {NR_CPUS_MAX + 1} CPUs",
        ),
        ("l.csv", "# CPU,Core\n" + "0,0\n" * (NR_CPUS_MAX + 1100), "lines"),
        ("l.csv", "# " + ",".join(["CPU"] * 100) + "\n0\n", "more than 64 columns"),
        ("l.csv", "# CPU,Core\n" + "9" * 5000 + ",0\n", "is not a number"),
        ("l.csv", "# CPU,Core\n" + "0," * 100_000 + "0\n", "fields where the header names 2"),
    ],
    ids=["json-deep", "json-long-number", "json-rows", "csv-lines", "csv-columns", "csv-number",
         "csv-long-line"],
)  # fmt: skip
def test_hostile_lscpu_is_one_line(tmp_path: Path, name: str, text: str, needle: str) -> None:
    """Saved lscpu output nested, numbered or sized past any machine: one line, exit 2."""
    fmt = "lscpu-json" if name.endswith(".json") else "lscpu-csv"
    refused(plan(write(tmp_path / name, text), "--input-format", fmt), needle)


# --- hwloc XML --------------------------------------------------------------------------

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
DOCTYPE = '<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n'


def hwloc(body: str, doctype: str = DOCTYPE) -> str:
    """A small hwloc 2.0 document around ``body`` (objects inside the Machine)."""
    return (
        f'{XML_HEAD}{doctype}<topology version="2.0">'
        f'<object type="Machine" os_index="0">{body}</object></topology>\n'
    )


PAIR = (
    '<object type="Core" os_index="0"><object type="PU" os_index="0"/>'
    '<object type="PU" os_index="1"/></object>'
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (hwloc(PAIR.replace('os_index="1"', 'os_index="1&foo;2"')), "entity references"),
        (hwloc(PAIR.replace('os_index="1"', 'os_index="&foo;"'), ""), "entity references"),
        (
            hwloc(
                PAIR.replace('"1"', '"1&foo;"'), '<!DOCTYPE topology PUBLIC "-//x//y" "z.dtd">\n'
            ),
            "entity references",
        ),
        (hwloc("&ext;" + PAIR), "entity references"),
        (hwloc(PAIR.replace('os_index="1"', 'os_index="8192"')), "outside 0-8191"),
        (hwloc(PAIR.replace('os_index="1"', 'os_index="0_1"')), "is not a number"),
        (hwloc(PAIR.replace('os_index="1"', 'os_index="\u0661"')), "is not a number"),
        (
            hwloc(
                '<object type="Core">'
                + "".join(f'<object type="PU" os_index="{i}"/>' for i in range(9))
                + "</object>"
            ),
            "no core has more than 8 threads",
        ),
    ],
    ids=[
        "entity-in-attribute-system-doctype",
        "entity-no-doctype",
        "entity-public-doctype",
        "entity-in-content",
        "os-index-8192",
        "os-index-underscore",
        "os-index-arabic-digit",
        "nine-threads",
    ],
)
def test_hostile_hwloc_xml_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    """Entities, ids past NR_CPUS and non-ASCII digits are refused, never read as a CPU."""
    refused(plan(write(tmp_path / "t.xml", text)), needle)


def test_long_xml_attribute_is_refused_before_parsing(tmp_path: Path) -> None:
    """expat is slow on long attribute values; one over 64 KiB is refused from a scan."""
    body = '<info name="x" value="' + "a" * (64 << 10) + '"/>' + PAIR
    refused(plan(write(tmp_path / "t.xml", hwloc(body))), "an attribute value longer than 64 KiB")


def test_xml_escapes_and_character_references_are_fine(tmp_path: Path) -> None:
    """The five XML escapes and &#N; are plain XML, not entities to refuse."""
    body = '<info name="a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;" value="x"/>' + PAIR
    result = plan(write(tmp_path / "t.xml", hwloc(body)), "--format", "json")
    assert result.exit_code == 0, result.stderr


def test_too_many_xml_elements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Elements are counted as expat reports them; past the cap the file is refused."""
    from rmpplan.sources import hwloc_xml

    monkeypatch.setattr(hwloc_xml, "MAX_ELEMENTS", 50)
    text = hwloc('<object type="Misc"/>' * 60 + PAIR)
    refused(plan(write(tmp_path / "t.xml", text)), "more than 50 elements")


def test_too_many_pus(tmp_path: Path) -> None:
    """8193 PUs are refused at the one past NR_CPUS, before any machine is built."""
    pus = "".join(f'<object type="PU" os_index="{i}"/>' for i in range(NR_CPUS_MAX + 1))
    refused(plan(write(tmp_path / "t.xml", hwloc(pus))), "outside 0-8191")


# --- --memory-from and --dmesg ----------------------------------------------------------


def test_iomem_over_its_cap(tmp_path: Path) -> None:
    """A saved /proc/iomem over 1 MiB is refused before its lines are split."""
    path = write(tmp_path / "iomem", "\n" * ((1 << 20) + 1))
    refused(run("verify", EPYC, "--memory-from", str(path)), "larger than 1 MiB")


def test_iomem_long_blank_run_is_linear(tmp_path: Path) -> None:
    """A line with a long run of blanks does not make the line pattern backtrack (it did:
    quadratic, minutes); a subprocess with a timeout fails instead of hanging."""
    path = write(tmp_path / "iomem", "0-1 :" + " " * 500_000 + "x\n")
    result = run_child("verify", EPYC, "--memory-from", str(path))
    assert result.returncode == 2, result.stderr
    assert "no top-level 'System RAM' line" in result.stderr


def test_dmesg_deep_json_line_is_plain_text(tmp_path: Path) -> None:
    """A journal JSON line nested 100,000 deep is read as plain text, not a traceback."""
    line = '{"MESSAGE": ' + "[" * 100_000 + "]" * 100_000 + "} SNP init failed\n"
    path = write(tmp_path / "log", line)
    result = run("verify", EPYC, "--dmesg", str(path))
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


def test_dmesg_with_too_many_lines_of_interest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More SNP/RMPOPT lines than any boot prints refuse the log."""
    from rmpplan import dmesg

    monkeypatch.setattr(dmesg, "MAX_LOG_LINES", 3)
    line = "RMP optimization pass skipped: cpumask allocation failed\n"
    path = write(tmp_path / "log", "noise\n" + line * 4)
    refused(run("verify", EPYC, "--dmesg", str(path)), "more than 3 lines about SNP")


def test_dmesg_line_numbers_count_every_line(tmp_path: Path) -> None:
    """Only lines with a message are cut out, but their numbers count every line."""
    from rmpplan.dmesg import parse_log

    log = parse_log(b"a\r\nb\n\nRMP optimization pass skipped: cpumask allocation failed\r\n")
    assert [line.number for line in log.skipped] == [4]
    assert log.skipped[0].text.endswith("failed")
