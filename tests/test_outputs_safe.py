"""Output files never destroy: never over an input of the same run (the file, not its
spelling), never through a link, never over a FIFO, socket or device; refused with
exit 2 naming the file before any work. Also: flags that would make a report hold
NaN, a killed pool worker, --jobs past the CPUs, and the API's exported errors."""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import rmpplan
from rmpplan import api
from rmpplan.errors import InputError
from tests.cli import one_error, run, run_child
from tests.conftest import ROOT, TOPOLOGIES

SINGLE = TOPOLOGIES / "single-core.yaml"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to work in, holding one topology file ``in.yaml``."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(SINGLE, tmp_path / "in.yaml")
    return tmp_path


def refused(needle: str, *args: str) -> str:
    """Run rmpplan; it must refuse with one line naming ``needle`` and print nothing."""
    result = run(*args)
    line = one_error(result, needle)
    assert result.stdout == ""
    return line


# --- the JUnit file over an input ------------------------------------------------------


@pytest.mark.parametrize("spelling", ["in.yaml", "./in.yaml", "sub/../in.yaml"])
def test_junit_over_the_topology_it_checks_is_refused(here: Path, spelling: str) -> None:
    (here / "sub").mkdir()
    before = (here / "in.yaml").read_bytes()
    line = refused(str(Path(spelling)), "verify", "in.yaml", "--junit-xml", spelling)
    assert "is an input of this run" in line
    assert (here / "in.yaml").read_bytes() == before


def test_an_input_is_the_file_not_its_name(here: Path) -> None:
    """A link to the input, or a hard link to it, is the same file."""
    (here / "link.yaml").symlink_to("in.yaml")
    os.link(here / "in.yaml", here / "hard.xml")
    before = (here / "in.yaml").read_bytes()
    assert "('link.yaml')" in refused("in.yaml", "verify", "link.yaml", "--junit-xml", "in.yaml")
    assert "('in.yaml')" in refused("hard.xml", "verify", "in.yaml", "--junit-xml", "hard.xml")
    assert (here / "in.yaml").read_bytes() == before
    assert (here / "hard.xml").read_bytes() == before


def test_a_file_found_in_a_named_folder_is_an_input(here: Path) -> None:
    (here / "fleet" / "deep").mkdir(parents=True)
    shutil.copy(SINGLE, here / "fleet" / "deep" / "a.yaml")
    before = (here / "fleet" / "deep" / "a.yaml").read_bytes()
    refused("fleet/deep/a.yaml", "verify", "fleet", "--junit-xml", "fleet/deep/a.yaml")
    assert (here / "fleet" / "deep" / "a.yaml").read_bytes() == before


def test_the_files_flags_name_and_the_config_are_inputs(here: Path) -> None:
    (here / "kernel.log").write_text("[    0.000000] Linux version 6.20\n")
    (here / "iomem").write_text("00000000-7fffffff : System RAM\n")
    (here / "rmpplan.toml").write_text('paths = ["in.yaml"]\n')
    refused("kernel.log", "verify", "in.yaml", "--dmesg", "kernel.log", "--junit-xml", "kernel.log")
    refused(
        "iomem",
        *("verify", "in.yaml", "--dmesg", "kernel.log", "--memory-from", "iomem"),
        *("--junit-xml", "iomem"),
    )
    refused("rmpplan.toml", "verify", "--junit-xml", "rmpplan.toml")
    assert (here / "rmpplan.toml").read_text() == 'paths = ["in.yaml"]\n'
    # --no-config reads no configuration, so it is no input then.
    assert run("verify", "--no-config", "in.yaml", "--junit-xml", "rmpplan.toml").exit_code == 0


def test_junit_inside_a_dump_that_is_read_is_refused(here: Path) -> None:
    cpu = here / "box" / "sys" / "devices" / "system" / "cpu"
    cpu.mkdir(parents=True)
    line = refused("box/sys/devices/system/cpu/online", "verify", "box", "--junit-xml",
                   "box/sys/devices/system/cpu/online")  # fmt: skip
    assert "inside the dump 'box'" in line
    assert not (cpu / "online").exists()


# --- links and special files -----------------------------------------------------------


@pytest.fixture
def specials(here: Path) -> Iterator[dict[str, Path]]:
    """A FIFO, a socket, a link to a file and a dangling link, by name."""
    os.mkfifo(here / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(here / "sock"))
    (here / "target.xml").write_text("keep\n")
    (here / "link.xml").symlink_to("target.xml")
    (here / "dangling.xml").symlink_to("nowhere.xml")
    try:
        yield {
            "fifo": here / "fifo",
            "sock": here / "sock",
            "link.xml": here / "link.xml",
            "dangling.xml": here / "dangling.xml",
        }
    finally:
        server.close()


KIND = {
    "fifo": "a FIFO (named pipe)",
    "sock": "a socket",
    "link.xml": "a symbolic link",
    "dangling.xml": "a symbolic link",
}


@pytest.mark.parametrize("name", list(KIND))
def test_junit_never_replaces_a_special_file_or_follows_a_link(
    here: Path, specials: dict[str, Path], name: str
) -> None:
    before = os.lstat(specials[name])
    line = refused(name, "verify", "in.yaml", "--junit-xml", name)
    assert f"is {KIND[name]}" in line
    after = os.lstat(specials[name])
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (
        before.st_ino,
        stat.S_IFMT(before.st_mode),
    )
    assert (here / "target.xml").read_text() == "keep\n"
    assert not (here / "nowhere.xml").exists()


@pytest.mark.parametrize("name", list(KIND))
def test_import_never_replaces_a_special_file_or_follows_a_link(
    here: Path, specials: dict[str, Path], name: str
) -> None:
    # import wants a .yaml or .json name: the same nodes under such names.
    renamed = specials[name].rename(here / f"{name}.yaml")
    line = refused(f"{name}.yaml", "import", "in.yaml", "-o", renamed.name, "--force")
    assert f"is {KIND[name]}" in line
    assert stat.S_IFMT(os.lstat(renamed).st_mode) == stat.S_IFMT(os.lstat(renamed).st_mode)
    assert (here / "target.xml").read_text() == "keep\n"


def test_a_device_is_never_replaced() -> None:
    """/dev/null as the JUnit file: refused, and still the device."""
    result = run("verify", str(SINGLE), "--junit-xml", "/dev/null")
    assert "is a character device" in one_error(result, "/dev/null")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_dev_stdout_is_a_link_and_refused() -> None:
    """In a real process: /dev/stdout is a link to the process's stdout."""
    for args in (
        ("verify", str(SINGLE), "--junit-xml", "/dev/stdout"),
        ("import", str(SINGLE), "-o", "/dev/stdout"),
    ):
        child = run_child(*args)
        assert child.returncode == 2, child.stderr
        assert child.stdout == ""
        assert "/dev/stdout" in child.stderr
        assert child.stderr.count("\n") == 1


def test_import_over_its_source_or_into_its_dump_is_refused(here: Path) -> None:
    before = (here / "in.yaml").read_bytes()
    refused("in.yaml", "import", "in.yaml", "-o", "in.yaml", "--force")
    refused("in.yaml", "import", "./in.yaml", "-o", "in.yaml", "--force")
    assert (here / "in.yaml").read_bytes() == before
    shutil.copytree(ROOT / "tests" / "sources" / "data" / "sysfs" / "nosmt", "box")
    line = refused("box/sys/x.yaml", "import", "box", "-o", "box/sys/x.yaml")
    assert "inside the dump" in line
    # Beside the dump's sys folder is fine: nothing there is read.
    assert run("import", "box", "-o", "box/topology.yaml").exit_code == 0


def test_an_existing_output_is_refused_before_the_source_is_read(here: Path) -> None:
    """Without --force, an existing file is refused first, even for a source that
    would take long to read (here, one that does not exist)."""
    (here / "out.yaml").write_text("mine\n")
    refused("out.yaml", "import", "missing-dump", "-o", "out.yaml")
    assert (here / "out.yaml").read_text() == "mine\n"


def test_a_regular_junit_file_is_still_replaced_atomically(here: Path) -> None:
    (here / "j.xml").write_text("old\n")
    (here / "j.xml").chmod(0o640)
    old = (here / "j.xml").stat().st_ino
    result = run("verify", "in.yaml", "--junit-xml", "j.xml")
    assert result.exit_code == 0, result.output
    text = (here / "j.xml").read_text()
    assert text.startswith("<?xml") and text.rstrip().endswith("</testsuites>")
    # A new file renamed over the old one, never the old one truncated; its mode kept.
    assert (here / "j.xml").stat().st_ino != old
    assert stat.S_IMODE((here / "j.xml").stat().st_mode) == 0o640
    assert sorted(p.name for p in here.iterdir()) == ["in.yaml", "j.xml"]


# --- flags that would hold NaN, and strict JSON ---------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e-320", "0", "-1", "1e309"])
def test_schedule_ghz_refuses_non_finite_and_absurd_values(value: str) -> None:
    result = run(
        "schedule", str(SINGLE), "--leader", "0", "--memory", "0-2G", "--ghz", value,
        "--format", "json",
    )  # fmt: skip
    line = one_error(result, "--ghz")
    assert result.stdout == ""
    assert "Traceback" not in line


@pytest.mark.parametrize("value", ["0.1", "2.4", "100"])
def test_schedule_ghz_takes_real_clocks(value: str) -> None:
    result = run(
        "schedule", str(SINGLE), "--leader", "0", "--memory", "0-2G", "--ghz", value,
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    strict_json(result.stdout)


def strict_json(text: str) -> object:
    """``text`` parsed as JSON proper: NaN, Infinity and -Infinity are refused."""

    def constant(name: str) -> object:
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=constant)


def float_options() -> list[tuple[str, str]]:
    """(command, flag) for every option of every command that takes a float."""
    import click

    from rmpplan.cli.main import COMMANDS, _load

    found = []
    for name in COMMANDS:
        for param in _load(name).params:
            if isinstance(param, click.Option) and isinstance(
                param.type, click.types.FloatParamType
            ):
                found.append((name, param.opts[0]))
    return found


def test_every_float_flag_refuses_nan() -> None:
    """A float flag added later gets the same guard: the test finds them all."""
    options = float_options()
    assert ("schedule", "--ghz") in options
    from rmpplan.cli.main import _load
    from rmpplan.cli.options import FiniteFloat

    for name, flag in options:
        param = next(p for p in _load(name).params if p.opts[0] == flag)
        assert isinstance(param.type, FiniteFloat), (name, flag)


JSON_COMMANDS = [
    ("plan", str(SINGLE), "--leader", "all"),
    ("verify", str(SINGLE)),
    ("explain", str(SINGLE), "--leader", "0"),
    ("compare", str(SINGLE)),
    ("schedule", str(SINGLE), "--leader", "0", "--memory", "0-2T", "--ghz", "0.1"),
    ("show", str(SINGLE)),
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda args: args[0])
def test_every_json_report_is_strict_json(args: tuple[str, ...]) -> None:
    result = run(*args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert isinstance(strict_json(result.stdout), dict)


def test_schema_jsonl_summary_and_imports_are_strict_json(tmp_path: Path) -> None:
    strict_json(run("schema").stdout)
    assert run("import", "epyc-9654-2s", "-o", str(tmp_path / "t.json")).exit_code == 0
    strict_json((tmp_path / "t.json").read_text())
    lines = run("verify", str(TOPOLOGIES), "--format", "jsonl").stdout
    for line in lines.splitlines():
        strict_json(line)
    (tmp_path / "shard.jsonl").write_text(lines)
    strict_json(run("summary", str(tmp_path / "shard.jsonl"), "--format", "json").stdout)


def test_json_writers_refuse_nan_rather_than_print_it() -> None:
    """A NaN that reached a report would be a bug in rmpplan: it is never printed."""
    from rmpplan.render.json import dumps

    with pytest.raises(ValueError, match="JSON compliant"):
        dumps({"x": math.nan})


# --- the pool ------------------------------------------------------------------------

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import rmpplan.fleet as fleet
    from rmpplan.cli.main import main

    parent = os.getpid()
    check = fleet.Checker.check

    def check_or_die(self, job):
        # In a pool worker (a child of this process), the input named "victim" kills it.
        if os.getpid() != parent and "victim" in job.label:
            os.kill(os.getpid(), signal.SIGKILL)
        return check(self, job)

    fleet.Checker.check = check_or_die
    fleet.PROBE = 0
    fleet.POOL_FROM_SECONDS = 0.0
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_killed_pool_worker_is_bad_input_naming_the_input(tmp_path: Path) -> None:
    """A worker killed by SIGKILL (as the out-of-memory killer does) is reported as
    that, on the input it was checking, exit 2; every other input is still checked."""
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    names = [f"m{index:02}" for index in range(12)]
    names[5] = "victim"
    for name in names:
        shutil.copy(SINGLE, fleet / f"{name}.yaml")
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    child = subprocess.run(
        [sys.executable, str(script), "verify", str(fleet), "--jobs", "2", "--format", "jsonl",
         "--junit-xml", str(tmp_path / "j.xml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == 2, child.stderr
    errors = child.stderr.strip().splitlines()
    assert len(errors) == 1, child.stderr
    assert "victim.yaml" in errors[0]
    assert "killed by SIGKILL" in errors[0]
    assert "internal error" not in child.stderr
    records = [json.loads(line) for line in child.stdout.splitlines()]
    results = [r for r in records if r.get("kind") != "trailer"]  # the run's trailer ends it
    assert len(records) == len(results) + 1
    assert [Path(r["path"]).stem for r in results] == sorted(names)
    assert [r["ok"] for r in results].count(True) == 11


# --- --jobs -------------------------------------------------------------------------


def test_jobs_past_the_cpus_are_clamped_with_a_notice() -> None:
    from rmpplan.fleet import default_jobs

    cpus = default_jobs()
    for jobs in (str(cpus + 1), "100", "9" * 20):
        result = run("verify", str(SINGLE), "--jobs", jobs)
        assert result.exit_code == 0, result.output
        assert f"using {cpus}" in result.stderr
        assert result.stderr.count("\n") == 1
    quiet = run("verify", str(SINGLE), "--jobs", str(cpus))
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


@pytest.mark.parametrize("jobs", ["0", "-1", "9" * 5000, "x"])
def test_jobs_that_are_no_count_are_refused(jobs: str) -> None:
    one_error(run("verify", str(SINGLE), "--jobs", jobs), "--jobs")


# --- the API's errors ---------------------------------------------------------------


def test_every_error_class_of_rmpplan_is_exported_from_the_api() -> None:
    """Every public error class (InputError and its subclasses, wherever defined) is
    importable from rmpplan.api, and listed in its __all__."""
    for module in pkgutil.walk_packages(rmpplan.__path__, "rmpplan."):
        importlib.import_module(module.name)
    pending, found = [InputError], set()
    while pending:
        cls = pending.pop()
        if not cls.__name__.startswith("_"):
            found.add(cls)
        pending += cls.__subclasses__()
    assert {cls.__name__ for cls in found} >= {"InputError", "OptionError", "MaskError"}
    for cls in found:
        assert getattr(api, cls.__name__) is cls
        assert cls.__name__ in api.__all__


def test_the_api_raises_only_what_it_exports() -> None:
    machine = api.load("single-core")
    calls: list[Callable[[], object]] = [
        lambda: api.plan(machine, "0-"),  # a malformed cpulist
        lambda: api.plan(machine, 5),  # no such CPU
        lambda: api.plan(machine, "0", rule="nonsense"),
        lambda: api.load("no-such-file.yaml"),
        lambda: api.explain(machine, 9),
        lambda: api.render(machine.name),  # type: ignore[arg-type]
    ]
    raised: list[type[BaseException]] = []
    for call in calls:
        with pytest.raises(Exception) as caught:  # the class is what is checked
            call()
        raised.append(type(caught.value))
    assert api.MaskError in raised
    for cls in raised:
        assert cls is TypeError or getattr(api, cls.__name__) is cls
