"""verify over fleets: results without machines, --jobs, shapes, summaries, shards,
and the real-machine inputs a fleet brings (compressed dumps, sosreports, hwloc-gather)."""

from __future__ import annotations

import io
import json
import pickle
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import rmpplan.checks
import rmpplan.fleet
import rmpplan.landed
from rmpplan.checks import Checked, MachineFacts
from rmpplan.fleet import Done, Job, Settings, fingerprint, run
from rmpplan.hotplug import NO_HOTPLUG
from rmpplan.inputs import load_machine
from rmpplan.kernel import modelled
from rmpplan.sources.gather import pair
from rmpplan.topology.machine import Machine
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES
from tests.sources.source_fixtures import DATA, pack

NOSMT_DUMP = DATA / "sysfs" / "nosmt"
SINGLE = TOPOLOGIES / "single-core.yaml"
EPYC = TOPOLOGIES / "epyc-9654-2s.yaml"
FAILING = EXAMPLES / "nosmt.yaml"


def cli(*args: str) -> Result:
    from rmpplan.cli.main import cli as group

    return CliRunner().invoke(group, list(args), catch_exceptions=False)


def renamed(source: Path, target: Path, name: str, extra: str = "") -> Path:
    """``source`` under another ``name`` (and with ``extra`` lines), at ``target``."""
    lines = [line for line in source.read_text().splitlines() if not line.startswith("name:")]
    target.write_text("\n".join([f"name: {name}", *lines, extra]) + "\n")
    return target


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """Six hosts of two shapes, one failing host, and one file that does not parse."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    for index in range(4):
        renamed(EPYC, folder / f"epyc-{index}.yaml", f"epyc-host-{index}")
    renamed(SINGLE, folder / "tiny-a.yaml", "tiny-a")
    renamed(SINGLE, folder / "tiny-b.yaml", "tiny-b", "source: rack 7")
    renamed(FAILING, folder / "zz-nosmt.yaml", "nosmt-host")
    (folder / "zz-broken.yaml").write_text("name: [unclosed\n")
    return folder


def summary_of(result: Result) -> dict[str, int]:
    counts: dict[str, int] = json.loads(result.stdout)["summary"]
    return counts


@pytest.fixture
def pool_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every input to the pool: no probing in process first, however cheap."""
    monkeypatch.setattr(rmpplan.fleet, "PROBE", 0)
    monkeypatch.setattr(rmpplan.fleet, "POOL_FROM_SECONDS", 0.0)


@pytest.mark.parametrize("fmt", ["table", "json", "text", "markdown", "jsonl"])
@pytest.mark.usefixtures("pool_at_once")
def test_output_does_not_depend_on_jobs(fleet: Path, fmt: str) -> None:
    """--jobs 1 (in process) and --jobs 3 (a pool) print the same bytes and exit alike."""
    alone = cli("verify", str(fleet), "--format", fmt, "--jobs", "1")
    pooled = cli("verify", str(fleet), "--format", fmt, "--jobs", "3")
    assert alone.exit_code == pooled.exit_code == 2
    assert alone.stdout == pooled.stdout
    # Only the notice that --jobs was clamped to the CPUs there are may differ.
    assert alone.stderr == re.sub(r"rmpplan: warning: --jobs .*\n", "", pooled.stderr)


@pytest.mark.usefixtures("pool_at_once")
def test_jsonl_lines_come_in_path_order_from_a_pool(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's results are printed in path order, one line per input."""
    pools: list[int] = []
    pooled = rmpplan.fleet._pooled

    def spy(jobs: list[Job], settings: Settings, processes: int) -> Iterator[Done]:
        pools.append(processes)
        return pooled(jobs, settings, processes)

    monkeypatch.setattr(rmpplan.fleet, "_pooled", spy)
    out = cli("verify", str(fleet), "--format", "jsonl", "--jobs", "2")
    paths = [json.loads(line)["path"] for line in out.stdout.splitlines()[:-1]]  # the trailer
    assert paths == sorted(str(path) for path in fleet.iterdir())
    assert pools == [2]


def test_each_shape_is_verified_once(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven readable hosts of three shapes cost three verifications, and say so."""
    calls: list[str] = []
    check = rmpplan.landed.judged

    def counted(machine: Machine, *args: object, **kwargs: object) -> object:
        calls.append(machine.name)
        return check(machine, *args, **kwargs)  # type: ignore[arg-type]  # passed through as given

    monkeypatch.setattr(rmpplan.landed, "judged", counted)
    out = cli("verify", str(fleet), "--format", "json", "--jobs", "1")
    assert summary_of(out) == {"files": 8, "ok": 6, "failed": 1, "bad_input": 1, "shapes": 3}
    assert len(calls) == 3


def test_names_stay_per_input_when_a_verdict_is_shared(fleet: Path) -> None:
    """Hosts of one shape share a verdict, but each is reported under its own name."""
    out = json.loads(cli("verify", str(fleet), "--format", "json", "--jobs", "1").stdout)
    names = {entry["path"]: entry["name"] for entry in out["results"]}
    assert names[str(fleet / "epyc-2.yaml")] == "epyc-host-2"
    assert names[str(fleet / "tiny-b.yaml")] == "tiny-b"
    shapes = {entry["path"]: entry["shape"] for entry in out["results"]}
    assert shapes[str(fleet / "epyc-0.yaml")] == shapes[str(fleet / "epyc-3.yaml")]
    assert shapes[str(fleet / "tiny-a.yaml")] == shapes[str(fleet / "tiny-b.yaml")]
    assert shapes[str(fleet / "tiny-a.yaml")] != shapes[str(fleet / "epyc-0.yaml")]
    assert shapes[str(fleet / "zz-broken.yaml")] is None


def test_shape_is_the_machine_not_the_file(tmp_path: Path) -> None:
    """A layout file and the same machine written CPU by CPU have one shape; a flag changes it."""
    explicit = tmp_path / "explicit.json"
    cpus = [
        {"id": c.id, "package": c.package, "die": c.die, "core": c.core, "apic_id": c.apic_id}
        for c in load_machine(EPYC).cpus.values()
    ]
    explicit.write_text(json.dumps({"name": "spelled-out", "cpus": cpus}))
    out = json.loads(
        cli("verify", str(EPYC), str(explicit), "--format", "json", "--jobs", "1").stdout
    )
    assert summary_of_doc(out)["shapes"] == 1
    v8 = cli("verify", str(EPYC), "--strategy", "v8-three-way", "--format", "json")
    assert json.loads(v8.stdout)["results"][0]["shape"] != out["results"][0]["shape"]


def summary_of_doc(document: dict[str, dict[str, int]]) -> dict[str, int]:
    return document["summary"]


def test_fingerprint_ignores_name_and_source_only() -> None:
    """Renaming a machine keeps its fingerprint; taking a CPU offline changes it."""
    settings = Settings(modelled(None))
    machine = load_machine(FAILING)
    same = load_machine(EXAMPLES / "maxcpus.yaml")
    assert fingerprint(machine, settings, NO_HOTPLUG) != fingerprint(same, settings, NO_HOTPLUG)
    from rmpplan.topology.machine import build_machine

    copy = build_machine("other", machine.cpus.values(), machine.possible, "elsewhere")
    assert fingerprint(copy, settings, NO_HOTPLUG) == fingerprint(machine, settings, NO_HOTPLUG)


def test_results_are_small_and_picklable() -> None:
    """A result holds facts about its machine, not the machine, and crosses processes."""
    machine = load_machine(EPYC)
    checked = Checked("x", machine, rmpplan.checks.verify(machine))
    assert checked.facts == MachineFacts("epyc-9654-2s", 384, 384, 192, 384)
    assert not any(
        isinstance(getattr(checked, slot, None), type(machine)) for slot in Checked.__slots__
    )
    assert pickle.loads(pickle.dumps(checked)) == checked


def test_run_keeps_job_order_with_a_pool() -> None:
    """fleet.run yields one result per job, in job order, whatever the processes."""
    jobs = [Job(str(path), path) for path in (EPYC, SINGLE, FAILING, SINGLE, EPYC)]
    settings = Settings(modelled(None))
    alone = [done.checked for done in run(jobs, settings, 1)]
    pooled = [done.checked for done in run(jobs, settings, 2, probe=0)]
    probed = [done.checked for done in run(jobs, settings, 2, probe=2)]
    assert [checked.path for checked in pooled] == [job.label for job in jobs]
    assert pooled == alone == probed


def test_text_summary_groups_failures_by_check_and_shape(tmp_path: Path) -> None:
    """Three failing hosts of one shape make one summary line that counts them."""
    for index in range(3):
        renamed(FAILING, tmp_path / f"host-{index}.yaml", f"host-{index}")
    renamed(SINGLE, tmp_path / "fine.yaml", "fine")
    out = cli("verify", str(tmp_path), "--format", "text")
    assert out.exit_code == 1
    tail = out.stdout.splitlines()[-2:]
    assert tail[0] == "summary: 4 inputs: 1 ok, 3 failed, 0 bad input; 2 shapes"
    assert tail[1].startswith("  3 inputs, 1 shape: online-equals-present (present CPUs offline")


def test_one_input_has_no_summary_lines() -> None:
    """A report on one input is not followed by a summary of one."""
    out = cli("verify", str(SINGLE), "--format", "text")
    assert "summary" not in out.stdout


# --- rmpplan summary ---------------------------------------------------------------


def shard(tmp_path: Path, name: str, *paths: Path) -> Path:
    out = cli("verify", *map(str, paths), "--format", "jsonl", "--no-config")
    target = tmp_path / name
    target.write_text(out.stdout)
    return target


def test_summary_of_shards_is_the_summary_of_one_run(fleet: Path, tmp_path: Path) -> None:
    """Splitting a run into shards and merging them gives the same counts and exit code."""
    files = sorted(fleet.iterdir())
    shards = [shard(tmp_path, f"s{i}.jsonl", *files[i::3]) for i in range(3)]
    whole = cli("verify", *map(str, files), "--format", "json", "--no-config")
    merged = cli("summary", *map(str, shards), "--format", "json")
    assert merged.exit_code == whole.exit_code == 2
    assert json.loads(merged.stdout)["summary"] == summary_of(whole)
    assert json.loads(merged.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("paths", "code"),
    [((SINGLE, EPYC), 0), ((SINGLE, FAILING), 1), ((FAILING, ROOT / "missing.yaml"), 2)],
)
def test_summary_exit_codes(tmp_path: Path, paths: tuple[Path, ...], code: int) -> None:
    """0 when every result is ok, 1 when one failed, 2 when one could not be read."""
    out = cli("summary", str(shard(tmp_path, "a.jsonl", *paths)), "--format", "text")
    assert out.exit_code == code
    assert out.stdout.startswith(f"summary: {len(paths)} inputs: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json\n", ":1: not JSON"),
        ('{"ok": true}\n', ":1: not a result of `rmpplan verify --format jsonl`"),
        ("\n[1, 2]\n", ":2: not a result"),
        ('{"path": "x", "ok": false, "findings": [{"check": "nope"}]}\n', ":1: a finding names"),
        ("", ": holds no results"),
    ],
)
def test_summary_refuses_what_is_not_verify_jsonl(tmp_path: Path, text: str, message: str) -> None:
    """A file that is not verify's JSON Lines is one line on stderr and exit 2."""
    good = shard(tmp_path, "good.jsonl", SINGLE)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(text)
    out = cli("summary", str(good), str(bad))
    assert out.exit_code == 2
    assert out.stdout == ""
    assert out.stderr == f"rmpplan: error: {bad}{message}" + out.stderr.split(message, 1)[1]
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_summary_of_a_missing_file(tmp_path: Path) -> None:
    """A missing shard file is bad input, named in one line."""
    out = cli("summary", str(tmp_path / "none.jsonl"))
    assert out.exit_code == 2
    assert out.stderr == f"rmpplan: error: {tmp_path / 'none.jsonl'}: no such file\n"


# --- real-machine inputs of a fleet ------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "mode"), [(".tar.gz", "w:gz"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")]
)
def test_compressed_dumps_in_a_folder(tmp_path: Path, suffix: str, mode: str) -> None:
    """gzip, bzip2 and xz dumps found in a folder are read like the folder they came from."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    pack(NOSMT_DUMP, folder / f"host{suffix}", top="host", mode=mode)
    out = json.loads(cli("verify", str(folder), str(NOSMT_DUMP), "--format", "json").stdout)
    dump, tree = out["results"]
    assert dump["path"] == str(folder / f"host{suffix}") and dump["name"] == "host"
    assert dump["shape"] == tree["shape"]
    assert [item["check"] for item in dump["findings"]] == ["online-equals-present"]


def test_sosreport(tmp_path: Path) -> None:
    """A sosreport .tar.xz: its sysfs and cpuinfo are found below its top folder."""
    top = "sosreport-web01-2026-11-25-abcdef"
    report = tmp_path / f"{top}.tar.xz"
    with tarfile.open(report, "w:xz") as tar:
        for path in sorted(NOSMT_DUMP.rglob("*")):
            tar.add(
                path, arcname=f"{top}/{path.relative_to(NOSMT_DUMP).as_posix()}", recursive=False
            )
        for name in ("etc/hostname", "sos_commands/processor/lscpu", "sos_logs/sos.log"):
            info = tarfile.TarInfo(f"{top}/{name}")
            body = b"web01\n"
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    out = json.loads(cli("verify", str(tmp_path), str(NOSMT_DUMP), "--format", "json").stdout)
    sos, tree = out["results"]
    assert sos["name"] == top
    assert sos["shape"] == tree["shape"]
    assert out["summary"]["shapes"] == 1


def hwloc_xml(cores: list[list[int]]) -> str:
    """An hwloc 2.0 document: one package holding ``cores`` (lists of PU os_index)."""
    body = "".join(
        '<object type="Core">'
        + "".join(f'<object type="PU" os_index="{pu}"/>' for pu in core)
        + "</object>"
        for core in cores
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n'
        '<topology version="2.0"><object type="Machine" os_index="0">'
        f'<object type="Package" os_index="0">{body}</object></object></topology>\n'
    )


def test_gathered_pair_is_one_input(tmp_path: Path) -> None:
    """hwloc-gather-topology's NAME.tar.bz2 and NAME.xml in a folder: one input, the dump."""
    pack(NOSMT_DUMP, tmp_path / "node1.tar.bz2", top="node1", mode="w:bz2")
    (tmp_path / "node1.xml").write_text(hwloc_xml([[0], [1], [2], [3]]))
    out = json.loads(cli("verify", str(tmp_path), "--format", "json").stdout)
    assert [entry["path"] for entry in out["results"]] == [str(tmp_path / "node1.tar.bz2")]
    assert out["results"][0]["name"] == "node1"


@pytest.mark.parametrize(
    ("cores", "problem"),
    [
        ([[0, 1], [2], [3]], "CPU 0 shares a core with 0 in the dump but with 0-1 in the XML"),
        ([[0], [1], [2]], "online CPU(s) 3 of the dump are not in the XML"),
        ([[0], [1], [2], [3], [4]], "the XML has CPU(s) 4, which the dump has not online"),
    ],
)
def test_gathered_pair_that_disagrees(tmp_path: Path, cores: list[list[int]], problem: str) -> None:
    """An XML that does not match its dump makes the pair bad input: one line, exit 2."""
    dump = pack(NOSMT_DUMP, tmp_path / "node1.tar.bz2", top="node1", mode="w:bz2")
    (tmp_path / "node1.xml").write_text(hwloc_xml(cores))
    out = cli("verify", str(tmp_path), "--format", "text")
    assert out.exit_code == 2
    assert out.stderr == (
        f"rmpplan: error: {dump}: disagrees with 'node1.xml' gathered beside it: {problem}\n"
    )


def test_pairing_keeps_order_and_lone_files(tmp_path: Path) -> None:
    """Only a dump whose own NAME.xml is also listed takes it in; the rest stay as they are."""
    names = ["a.tar.bz2", "a.xml", "b.tar.bz2", "c.xml", "d.tar.gz", "d.xml"]
    for name in names:
        (tmp_path / name).write_text("")
    paths = [tmp_path / name for name in names]
    assert pair(paths) == [
        (tmp_path / "a.tar.bz2", tmp_path / "a.xml"),
        (tmp_path / "b.tar.bz2", None),
        (tmp_path / "c.xml", None),
        (tmp_path / "d.tar.gz", None),
        (tmp_path / "d.xml", None),
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_flag_that_does_not_fit_one_input(jobs: str, pool_at_once: None) -> None:
    """A flag naming a CPU one input lacks: its error keeps the name and blames the flag."""
    out = cli(
        "verify",
        str(SINGLE),
        str(EPYC),
        "--offline-after-setup",
        "300",
        "--format",
        "json",
        "--jobs",
        jobs,
    )
    assert out.exit_code == 2
    assert out.stderr == (
        "rmpplan: error: --offline-after-setup: CPU 300 is not a CPU of single-core "
        "(nr_cpu_ids 1)\n"
    )
    first, second = json.loads(out.stdout)["results"]
    assert first["name"] == "single-core" and first["error"].startswith("--offline-after-setup")
    assert "error" not in second and second["name"] == "epyc-9654-2s"
