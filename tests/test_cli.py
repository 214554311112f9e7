"""The command line: exit codes, one-line errors, formats, and the README's example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rmpplan.cli.main import COMMANDS, cli, main
from tests.cli import run
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

EPYC = str(TOPOLOGIES / "epyc-9965-2s.yaml")


def assert_bad_input(result: Result, needle: str) -> None:
    """Exit 2, one line on stderr containing ``needle``, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.output + result.stderr


def test_plan_json_contract() -> None:
    """plan --format json has the documented keys, kernel cpulists and hex."""
    result = run("plan", EPYC, "--leader", "17,401", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 2
    assert doc["topology"] == "epyc-9965-2s"
    assert doc["nr_cpu_ids"] == 768
    assert doc["rule"] == "first-sibling"
    assert doc["rmpopt_cpumask"] == "0-383"
    assert doc["rmpopt_cpumask_hex"] == ",".join(["00000000"] * 12 + ["ffffffff"] * 12)
    assert [p["leader"] for p in doc["plans"]] == [17, 401]
    for item in doc["plans"]:
        assert item["leader_core"] == "17,401"
        assert item["followers"] == "0-16,18-383"
        assert item["follower_count"] == 383


def test_plan_secondary_leader_excludes_its_core() -> None:
    """A leader on a secondary thread drops its whole core from the followers."""
    doc = json.loads(run("plan", EPYC, "--leader", "384", "--format", "json").stdout)
    assert doc["plans"][0]["followers"] == "1-383"


def test_plan_leader_all() -> None:
    """--leader all plans every online CPU, in ascending order."""
    path = str(TOPOLOGIES / "xeon-2s-adjacent.yaml")
    doc = json.loads(run("plan", path, "--leader", "all", "--format", "json").stdout)
    assert [p["leader"] for p in doc["plans"]] == list(range(56))


def test_plan_warns_on_offline_but_exits_zero() -> None:
    """plan computes from online CPUs and warns on stderr when SNP init would refuse."""
    result = run(
        "plan", str(EXAMPLES / "primary-offline.yaml"), "--leader", "10", "--format", "json"
    )
    assert result.exit_code == 0
    assert "warning" in result.stderr
    assert json.loads(result.stdout)["rmpopt_cpumask"] == "0-1,3-7,10"


@pytest.mark.parametrize("fmt", ["table", "json", "text", "markdown"])
def test_every_format_renders_plan_verify_show(fmt: str) -> None:
    """Each --format renders plan, verify and show, with no colour off a terminal."""
    for args in (
        ["plan", EPYC, "--leader", "0-3"],
        ["verify", EPYC],
        ["show", str(TOPOLOGIES / "single-core.yaml")],
    ):
        result = run(*args, "--format", fmt)
        assert result.exit_code == 0, result.output
        assert "\x1b[" not in result.stdout
        assert result.stdout.strip()


def test_verify_default_directory_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify with no argument checks ./topologies, and every bundled machine passes."""
    monkeypatch.chdir(ROOT)
    result = run("verify", "--format", "json")
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert len(doc["results"]) == len(list(TOPOLOGIES.glob("*.yaml")))


def test_verify_failure_exits_one_with_json() -> None:
    """A failing machine exits 1 and still prints the JSON report."""
    result = run("verify", str(EXAMPLES / "nosmt.yaml"), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    finding = doc["results"][0]["findings"][0]
    assert finding["check"] == "online-equals-present"
    assert finding["cpus"] == list(range(8, 16))


def test_verify_bad_file_among_good_exits_two(tmp_path: Path) -> None:
    """Every path is checked; one unreadable input makes the exit code 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cpus: [\n", encoding="utf-8")
    result = run("verify", EPYC, str(bad), "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [r["ok"] for r in doc["results"]] == [True, False]
    assert "bad.yaml" in result.stderr


def test_verify_empty_directory(tmp_path: Path) -> None:
    """A directory with no topology files is bad input."""
    assert_bad_input(run("verify", str(tmp_path)), "no topology files")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "absent.yaml", "--leader", "0"], "no such file"),
        (["plan", EPYC, "--leader", "800"], "CPU 800 is not a CPU"),
        (["plan", EPYC, "--leader", "0-"], "EINVAL"),
        (["plan", EPYC, "--leader", "0", "--format", "xml"], "Invalid value for '--format'"),
        (["mask", "--from", "list", "--to", "hex", "--nr-cpus", "32", "--", "-1"], "EINVAL"),
        (["mask", "--from", "list", "--to", "hex", "--nr-cpus", "8", "0-31"], "ERANGE"),
        (["mask", "--from", "hex", "--to", "list", "--nr-cpus", "32", "1,0"], "EOVERFLOW"),
        (["mask", "--from", "hex", "--to", "list", "goodfood"], "EINVAL"),
        (["mask", "--from", "list", "--to", "hex", "--nr-cpus", "0", "1"], "--nr-cpus"),
    ],
)
def test_bad_input_is_one_line_exit_two(args: list[str], needle: str) -> None:
    """Bad usage and bad input give exit 2 and one line on stderr."""
    assert_bad_input(run(*args), needle)


def test_plan_offline_leader(tmp_path: Path) -> None:
    """A leader that is present but offline is refused."""
    result = run("plan", str(EXAMPLES / "nosmt.yaml"), "--leader", "9")
    assert_bad_input(result, "CPU 9 is offline")


@pytest.mark.parametrize(
    ("value", "args", "expected"),
    [
        (
            "0-31:1/4,32-63:2/4",
            ["--from", "list", "--to", "hex", "--nr-cpus", "64"],
            "33333333,11111111",
        ),
        ("0-31:1/4,32-63:2/4", ["--from", "list", "--to", "hex"], "33333333,11111111"),
        (
            "33333333,11111111",
            ["--from", "hex", "--to", "list"],
            "0,4,8,12,16,20,24,28,32-33,36-37,40-41,44-45,48-49,52-53,56-57,60-61",
        ),
        ("1,0", ["--from", "hex", "--to", "list", "--nr-cpus", "33"], "32"),
        ("0", ["--from", "list", "--to", "hex", "--nr-cpus", "80"], "0000,00000000,00000001"),
        ("", ["--from", "list", "--to", "hex"], "00000000"),
    ],
)
def test_mask_conversions(value: str, args: list[str], expected: str) -> None:
    """mask converts with the kernel's grammar and widths."""
    result = run("mask", *args, "--", value)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_schema_is_json_schema() -> None:
    """schema prints the topology JSON Schema with both forms."""
    doc = json.loads(run("schema").stdout)
    assert doc["title"] == "rmpplan topology"
    assert {"cpus", "layout", "possible"} <= set(doc["properties"])
    assert doc["additionalProperties"] is False


def test_show_marks_offline() -> None:
    """show marks offline CPUs."""
    result = run("show", str(EXAMPLES / "primary-offline.yaml"), "--format", "text")
    assert "core 2: 2[apic 4](offline),10[apic 5]" in result.stdout


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """main() returns the exit code rather than exiting."""
    assert main(["verify", str(EXAMPLES / "nosmt.yaml"), "--format", "json"]) == 1
    assert main(["plan", "absent.yaml", "--leader", "0"]) == 2
    assert "rmpplan: error:" in capsys.readouterr().err


def test_every_command_has_help_and_docs() -> None:
    """Every command has --help and a section in docs/cli.md."""
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in cli.list_commands(None):  # type: ignore[arg-type]  # LazyGroup ignores the context
        assert COMMANDS[name][1]
        assert run(name, "--help").exit_code == 0
        assert f"## `rmpplan {name}`" in cli_doc


def test_readme_example_is_real_output() -> None:
    """The README's plan example is exactly what the command prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```console\n\$ (rmpplan plan [^\n]+)\n(.*?)```", readme, re.S)
    assert match, "README has no plan example"
    args = match.group(1).split()[1:]
    result = run(*args)
    assert result.exit_code == 0
    assert result.stdout == match.group(2)


def test_import_keeps_existing_file_without_force(tmp_path: Path) -> None:
    """import refuses to replace a file unless --force, and leaves it untouched."""
    out = tmp_path / "topo.yaml"
    out.write_text("precious\n", encoding="utf-8")
    source = str(TOPOLOGIES / "power9-sparse.yaml")
    assert_bad_input(run("import", source, "-o", str(out)), "already exists")
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert run("import", source, "-o", str(out), "--force").exit_code == 0
    assert "power9-sparse" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["topo.yaml"]  # no temporary left over


def test_import_bad_output_extension(tmp_path: Path) -> None:
    """An output file that is neither YAML nor JSON is bad usage, and nothing is written."""
    out = tmp_path / "topo.txt"
    assert_bad_input(run("import", EPYC, "-o", str(out)), "unknown output extension")
    assert not out.exists()


def test_import_bad_source_writes_nothing(tmp_path: Path) -> None:
    """A source that fails to load leaves no output file behind."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cpus: [\n", encoding="utf-8")
    out = tmp_path / "out.yaml"
    assert_bad_input(run("import", str(bad), "-o", str(out)), "YAML syntax error")
    assert not out.exists()


def test_import_layout_round_trip(tmp_path: Path) -> None:
    """A regular machine is written in the compact form and plans the same."""
    out = tmp_path / "epyc.json"
    assert run("import", EPYC, "-o", str(out)).exit_code == 0
    assert "layout" in json.loads(out.read_text(encoding="utf-8"))
    before = run("plan", EPYC, "--leader", "all", "--format", "json").stdout
    after = run("plan", str(out), "--leader", "all", "--format", "json").stdout
    assert before == after


BAD_FILES = [
    ("name: x\ncpus:\n  - {id: 0, core: 0, colour: red}\n", "unknown key 'colour'", 3),
    ("cpus:\n  - {id: '0', core: 0}\n", "valid integer", 2),
    ("cpus:\n  - {id: 0, core: 0}\ncpus: []\n", "duplicate key 'cpus'", 3),
    ("cpus:\n  - {id: 4, core: 0}\n  - {id: 4, core: 0}\n", "CPU 4 is listed twice", None),
    ("cpus:\n  - {id: 4, core: 0}\n  - {id: 4, core: 1}\n", "CPU 4 is in two cores", None),
    ("cpus:\n  - {id: 8192, core: 0}\n", "cpus[0].id", 2),
    ("cpus:\n  - {id: -3, core: 0}\n", "cpus[0].id", 2),
    ("cpus: []\n", "no CPUs", None),
    ("cpus: [\n", "YAML syntax error", 2),
    ("possible: 0-3:0/0\ncpus:\n  - {id: 0, core: 0}\n", "possible: EINVAL", 1),
]


@pytest.mark.parametrize(("text", "needle", "line"), BAD_FILES, ids=[b[1] for b in BAD_FILES])
@pytest.mark.parametrize("command", ["plan", "verify", "show"])
def test_bad_topology_files(
    tmp_path: Path, command: str, text: str, needle: str, line: int | None
) -> None:
    """Every command reports a bad file as FILE[:LINE]: message, exit 2, one line."""
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    args = [command, str(path)] + (["--leader", "0"] if command == "plan" else [])
    result = run(*args)
    assert_bad_input(result, needle)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert where in result.stderr


def test_not_utf8_file(tmp_path: Path) -> None:
    """A file that is not UTF-8 is bad input naming the byte."""
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"\xff\xfe")
    assert_bad_input(run("show", str(path)), "not UTF-8")


def test_apic_rule_without_apic_ids_names_cpu() -> None:
    """--rule apic-primary on a file without APIC ids names the first CPU lacking one."""
    path = str(TOPOLOGIES / "power9-sparse.yaml")
    assert_bad_input(run("plan", path, "--leader", "0", "--rule", "apic-primary"), "CPU 0")


def test_verify_rule_and_strategy_exit_one() -> None:
    """verify --strategy clear-cpu fails on an SMT machine and names the workers."""
    result = run("verify", EPYC, "--strategy", "clear-cpu", "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["results"][0]["findings"]
    twice = next(f for f in findings if f["check"] == "core-run-twice")
    assert twice["cpus"] == list(range(384, 768))


def test_compare_contract() -> None:
    """compare: ok is false exactly with findings; case 3 unreachable; exit 0."""
    result = run("compare", EPYC, "--format", "json")
    assert result.exit_code == 0
    rows = {(r["strategy"], r["rule"]): r for r in json.loads(result.stdout)["results"]}
    assert len(rows) == 7  # v2-all-cpus has no mask: one row, rule null
    for row in rows.values():
        assert row["ok"] == (not row["findings"])
    assert "case 3 unreachable on this machine" in rows[("v8-three-way", "first-sibling")]["notes"]
    assert rows[("v9-andnot", "apic-primary")]["ok"]
    clear = rows[("clear-cpu", "first-sibling")]["findings"]
    assert {f["check"]: f["cpus"] for f in clear}["core-run-twice"] == list(range(384, 768))


def test_compare_skips_apic_rule_without_ids() -> None:
    """Without APIC ids compare skips apic-primary with a warning, unless asked for it."""
    path = str(TOPOLOGIES / "power9-sparse.yaml")
    result = run("compare", path, "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["results"]
    assert {r["rule"] for r in rows if r["strategy"] != "v2-all-cpus"} == {"first-sibling"}
    assert "apic-primary skipped" in result.stderr
    assert_bad_input(run("compare", path, "--rule", "apic-primary"), "CPU 0")


@pytest.mark.parametrize(
    ("flags", "check", "cpus"),
    [
        (["--offline-after-setup", "2"], "core-missed", [0, 1, 4, 5, 6, 7]),
        (["--offline-after-setup", "2"], "mask-within-online", [2]),
    ],
)
def test_verify_hotplug_flags(flags: list[str], check: str, cpus: list[int]) -> None:
    """Hotplug flags on verify give the named finding with its counterexample."""
    path = str(TOPOLOGIES / "xeon-2s-adjacent.yaml")
    result = run("verify", path, *flags, "--format", "json")
    assert result.exit_code == 1
    found = {f["check"]: f["cpus"] for f in json.loads(result.stdout)["results"][0]["findings"]}
    assert found[check][: len(cpus)] == cpus


def test_verify_hotplug_from_file(tmp_path: Path) -> None:
    """online_after_setup in a file: the onlined CPU's core was never programmed (#UD)."""
    path = tmp_path / "late.yaml"
    path.write_text(
        "offline: 3,7\nonline_after_setup: 7\n"
        "layout: {packages: 1, cores_per_die: 4, threads_per_core: 2}\n",
        encoding="utf-8",
    )
    result = run("verify", str(path), "--format", "json")
    found = {f["check"]: f["cpus"] for f in json.loads(result.stdout)["results"][0]["findings"]}
    assert found["unprogrammed-core"] == [7]
    assert found["online-equals-present"] == [3, 7]


def test_display_honours_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour only on a terminal and never with NO_COLOR; no wrapping off a terminal."""
    import sys

    from rmpplan.cli.options import display

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert display().color
    monkeypatch.setenv("NO_COLOR", "1")
    assert not display().color
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("NO_COLOR")
    assert display().color is False
    assert display().width is None


def test_no_command_prints_help_and_exits_two() -> None:
    """`rmpplan` alone is bad usage: the help goes to stderr, exit 2, no error prefix."""
    result = run()
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: rmpplan")
    assert "plan" in result.stderr
    assert result.stdout == ""


def test_mistyped_command_names_the_closest() -> None:
    """A mistyped command is one line on stderr naming the closest command, exit 2."""
    result = run("verfy")
    assert result.exit_code == 2
    assert result.stderr == (
        "rmpplan: error: No such command 'verfy'. Did you mean 'verify'? (see 'rmpplan --help')\n"
    )
    assert result.stdout == ""


def test_unknown_command_without_close_match() -> None:
    """An unknown command with no close match gets no guess."""
    result = run("frobnicate")
    assert result.exit_code == 2
    assert result.stderr == (
        "rmpplan: error: No such command 'frobnicate'. (see 'rmpplan --help')\n"
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_summary_comes_from_commands(name: str) -> None:
    """A command's --help opens with its COMMANDS summary, once, as the listing does."""
    summary = COMMANDS[name][1]
    for _ in range(2):  # loading the command twice must not repeat the summary
        text = run(name, "--help").stdout
        usage, first, *_rest = text.split("\n\n")
        assert usage.startswith(f"Usage: rmpplan {name}")
        assert first == f"  {summary}"
        assert text.count(summary) == 1
    listing = run("--help").stdout
    assert re.search(rf"^  {name} +{re.escape(summary)}$", listing, re.MULTILINE)


def complete(shell: str, words: str, cword: int) -> str:
    """What ``python -m rmpplan`` prints for a completion request of ``shell``."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "_RMPPLAN_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    result = subprocess.run(
        [sys.executable, "-m", "rmpplan"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


def test_bash_completion_completes_commands() -> None:
    """A bash completion request for `rmpplan ve` answers `verify`."""
    assert complete("bash", "rmpplan ve", 1) == "plain,verify\n"


def test_zsh_completion_describes_commands_with_their_summary() -> None:
    """zsh completion shows each command's COMMANDS summary as its description."""
    assert complete("zsh", "rmpplan sch", 1) == (
        f"plain\nschedule\n{COMMANDS['schedule'][1]}\nplain\nschema\n{COMMANDS['schema'][1]}\n"
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell: str) -> None:
    """`_RMPPLAN_COMPLETE=<shell>_source rmpplan` prints the shell's completion script."""
    result = CliRunner().invoke(
        cli, [], prog_name="rmpplan", env={"_RMPPLAN_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0, result.stderr
    assert f"_RMPPLAN_COMPLETE={shell}_complete" in result.stdout
    assert "_rmpplan_completion" in result.stdout
