"""--dmesg: a saved kernel log checked against the prediction for the topology."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from rmpplan.dmesg import check_log, parse_log
from rmpplan.errors import MaskError
from rmpplan.inputs import load_machine
from rmpplan.memory import parse_memory, rmpopt_window
from rmpplan.terms import Check
from tests.cli import run
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

LOGS = ROOT / "tests" / "data" / "dmesg"
EPYC9654 = str(TOPOLOGIES / "epyc-9654-2s.yaml")
NOSMT = str(EXAMPLES / "nosmt.yaml")
PASS_1536G = (
    "SEV-SNP: Attempt RMP optimizations on physical address range @1GB alignment "
    "[0x0000000000000000 - 0x0000018000000000]"
)


def checks_of(result: Result) -> set[str]:
    """The check names of a one-topology verify --format json run."""
    return {item["check"] for item in json.loads(result.stdout)["results"][0]["findings"]}


@pytest.mark.parametrize(
    "line",
    [
        f"[  312.004211] {PASS_1536G}",
        f"Nov 20 09:14:05 host kernel: {PASS_1536G}",
        f"<6>[    3.1] {PASS_1536G}",
        f"MESSAGE={PASS_1536G}",
        json.dumps({"_TRANSPORT": "kernel", "MESSAGE": PASS_1536G}),
        PASS_1536G,
    ],
)
def test_lines_are_found_in_every_log_shape(line: str) -> None:
    """dmesg with or without timestamps, syslog text and journal exports all give the pass."""
    log = parse_log(f"noise\n{line}\nmore noise\n")
    assert [(entry[0].number, entry[1], entry[2]) for entry in log.passes] == [
        (2, 0, 0x18000000000)
    ]


def test_both_refusal_wordings_give_the_masks() -> None:
    """The landed and the older snp_prepare() messages both give online and present."""
    log = parse_log(
        "SEV-SNP: SNP init failed: not all CPUs online. (0-7 online <-> 0-15 present masks).\n"
        "Skipping SNP initialization. CPUs online 0-3, present 0-7\n"
    )
    assert [(r.line.number, r.online, r.present) for r in log.refusals] == [
        (1, frozenset(range(8)), frozenset(range(16))),
        (2, frozenset(range(4)), frozenset(range(8))),
    ]


def test_unreadable_masks_are_bad_input_naming_the_line() -> None:
    """A refusal line whose cpulist the kernel could not have printed is bad input."""
    with pytest.raises(MaskError, match="line 3: the masks of"):
        parse_log(
            "a\nb\nSNP init failed: not all CPUs online. (0-99999999999 online <-> 0 present masks)"
        )


def test_refused_boot_agrees_with_nosmt() -> None:
    """The nosmt boot's log agrees with the nosmt topology: a note, and only its own finding."""
    result = run("verify", NOSMT, "--dmesg", str(LOGS / "refused-nosmt.log"), "--format", "json")
    entry = json.loads(result.stdout)["results"][0]
    assert checks_of(result) == {"online-equals-present"}
    assert any("line 8" in note and "as predicted" in note for note in entry["notes"])


def test_refusal_contradicts_an_all_online_machine() -> None:
    """A log of a refused boot against a machine whose CPUs are all online: dmesg-snp-init."""
    result = run("verify", EPYC9654, "--dmesg", str(LOGS / "refused-nosmt.log"), "--format", "json")
    assert result.exit_code == 1
    assert checks_of(result) == {"dmesg-snp-init"}
    message = json.loads(result.stdout)["results"][0]["findings"][0]["message"]
    assert "line 8: 'SNP init failed: not all CPUs online." in message


def test_refusal_with_other_masks() -> None:
    """A refusal whose masks are not the topology's is dmesg-masks, naming the CPUs."""
    machine = load_machine(Path(NOSMT))
    log = parse_log("SNP init failed: not all CPUs online. (0-3 online <-> 0-15 present masks).")
    found = check_log(log, machine, None).findings
    assert [(f.check, f.cpus) for f in found] == [(Check.DMESG_MASKS, (4, 5, 6, 7))]


def test_pass_while_refusal_is_predicted() -> None:
    """A pass logged for a machine with present CPUs offline contradicts snp_prepare()."""
    machine = load_machine(Path(NOSMT))
    found = check_log(parse_log(PASS_1536G), machine, None).findings
    assert [f.check for f in found] == [Check.DMESG_SNP_INIT]
    assert found[0].cpus == tuple(range(8, 16))


def test_accepted_boot_and_window_agree() -> None:
    """The accepted 9654 boot matches a 1.5 TB window: exit 0, notes for both passes."""
    result = run(
        "verify",
        EPYC9654,
        "--dmesg",
        str(LOGS / "accepted-9654.log"),
        "--memory",
        "0-1536G",
        "--format",
        "json",
    )
    assert result.exit_code == 0
    notes = json.loads(result.stdout)["results"][0]["notes"]
    assert any("window matches the computed one (2 passes)" in note for note in notes)


def test_window_differs() -> None:
    """The same log against 1 TB of RAM: dmesg-window quoting the line."""
    result = run(
        "verify",
        EPYC9654,
        "--dmesg",
        str(LOGS / "accepted-9654.log"),
        "--memory",
        "0-1T",
        "--format",
        "json",
    )
    assert result.exit_code == 1
    assert checks_of(result) == {"dmesg-window"}


def test_window_not_compared_without_memory() -> None:
    """Without --memory the pass lines are noted as not compared, not judged."""
    result = run("verify", EPYC9654, "--dmesg", str(LOGS / "accepted-9654.log"), "--format", "json")
    assert result.exit_code == 0
    assert any("not compared" in n for n in json.loads(result.stdout)["results"][0]["notes"])


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        ("0-3T", set()),
        ("0-1T", {Check.DMESG_CAP, Check.DMESG_WINDOW}),
        ("1G-3T", {Check.DMESG_CAP, Check.DMESG_WINDOW}),
    ],
)
def test_cap_line_against_the_window(memory: str, expected: set[Check]) -> None:
    """The journal-JSON capped log agrees with 3 TB from 0 only."""
    machine = load_machine(Path(EPYC9654))
    log = parse_log((LOGS / "capped-9654.log").read_text(encoding="utf-8"))
    window = rmpopt_window(parse_memory(memory))
    assert {f.check for f in check_log(log, machine, window).findings} == expected


def test_missing_cap_line_is_a_finding() -> None:
    """A capped window whose passes are logged without the cap line: dmesg-cap."""
    machine = load_machine(Path(EPYC9654))
    log = parse_log(PASS_1536G.replace("0x0000018000000000", "0x0000020000000000"))
    window = rmpopt_window(parse_memory("0-3T"))
    assert [f.check for f in check_log(log, machine, window).findings] == [Check.DMESG_CAP]


def test_skipped_pass_and_empty_log_are_notes() -> None:
    """A skipped pass and a log with no RMPOPT line give notes, never findings."""
    machine = load_machine(Path(EPYC9654))
    skipped = check_log(parse_log((LOGS / "skipped-export.log").read_text()), machine, None)
    assert not skipped.findings and any("optimized nothing" in n for n in skipped.notes)
    empty = check_log(parse_log("[0.0] Linux version 6.19\n"), machine, None)
    assert not empty.findings and "none of the lines" in empty.notes[0]


def test_schedule_takes_dmesg_and_exits_one_on_contradiction() -> None:
    """schedule --dmesg reports the log's contradictions as findings and exits 1."""
    args = ["schedule", EPYC9654, "--leader", "0", "--dmesg", str(LOGS / "capped-9654.log")]
    assert run(*args, "--memory", "0-3T").exit_code == 0
    result = run(*args, "--memory", "0-1T", "--format", "json")
    assert result.exit_code == 1
    assert {f["check"] for f in json.loads(result.stdout)["findings"]} == {
        "dmesg-cap",
        "dmesg-window",
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["verify", EPYC9654, NOSMT, "--dmesg", str(LOGS / "refused-nosmt.log")], "exactly one"),
        (["verify", str(TOPOLOGIES), "--dmesg", str(LOGS / "refused-nosmt.log")], "exactly one"),
        (["verify", EPYC9654, "--memory", "0-1T"], "go with --dmesg"),
        (["verify", EPYC9654, "--dmesg", "absent.log"], "absent.log: no such file"),
        (["schedule", EPYC9654, "--leader", "0"], "give one of --memory or --memory-from"),
    ],
)
def test_dmesg_usage_errors(args: list[str], needle: str) -> None:
    """Misused log options are one line, exit 2."""
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
