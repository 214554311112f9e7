"""The API is the command line's equal: the same arguments give the same JSON,
notes and errors, for every command, on several machines and kernels.

The only field allowed to differ is ``verify``'s ``shape`` (and the summary's
count of shapes): the fingerprint the command's fleet caches verdicts under,
which a verdict made by :func:`rmpplan.api.verify` has no fleet to key. And a
note names a parameter as each edge does (rmpplan.naming): the command line by
its flag (``--rule``), the API by its argument (``rule``); the command's flags
are read as the API's arguments before the two are compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rmpplan import api
from rmpplan.cli.options import spelled
from rmpplan.cpumask import parse_cpulist
from tests.cli import run

ROOT = Path(__file__).resolve().parents[1]
CASE3 = str(ROOT / "docs" / "examples" / "case3-offline-leader.yaml")
NOSMT = str(ROOT / "docs" / "examples" / "nosmt.yaml")
XEON = "xeon-2s-adjacent"

TOPOLOGIES = ("epyc-9654-2s", "power9-sparse", XEON, "epyc-7763-2s-smt-off", CASE3)
"""APIC ids and none, SMT and none, sparse CPU ids, and a file with a hotplug scenario."""

MODELS: tuple[tuple[str | None, str | None], ...] = (
    (None, None),  # the defaults, and the kernel as landed judged beside them
    ("v10", None),
    ("v6", None),
    ("v3", None),
    ("v2", None),
    ("v6", "first-sibling"),  # a what-if
    (None, "apic-primary"),  # an override without a kernel: the landed kernel is not judged
)


def _flags(kernel: str | None, rule: str | None) -> list[str]:
    return [*(["--kernel", kernel] if kernel else []), *(["--rule", rule] if rule else [])]


def _same(args: list[str], call: Callable[[], str]) -> None:
    """The command and the API agree: the same JSON, or both refuse the input."""
    result = run(*args, "--format", "json")
    try:
        made = call()
    except api.InputError as err:
        assert result.exit_code == 2, (args, str(err))
        return
    assert result.exit_code in {0, 1}, (args, result.stderr)
    cli = json.loads(result.stdout, object_hook=_as_arguments)
    assert _comparable(json.loads(made)) == _comparable(cli), args


NAMED = ("rule", "strategy", "kernel", "offline_after_setup", "online_after_setup")
"""The parameters the notes of these commands name."""


def _as_arguments(doc: dict[str, object]) -> dict[str, object]:
    """``doc`` with its notes' and messages' flags renamed to the API's arguments."""
    return {key: _argument_text(value) for key, value in doc.items()}


def _argument_text(value: object) -> object:
    if isinstance(value, list):
        return [_argument_text(item) for item in value]
    if not isinstance(value, str):
        return value
    for param in NAMED:
        value = value.replace(f"{spelled(param)} ", f"{api._argument(param)} ")
    return value


def _comparable(doc: dict[str, object]) -> dict[str, object]:
    """``doc`` without the fleet's cache keys (see the module's docstring)."""
    for item in doc.get("results", []):  # type: ignore[attr-defined]  # verify's results
        item.pop("shape", None)
    summary = doc.get("summary")
    if isinstance(summary, dict):
        summary.pop("shapes", None)
    return doc


def _first_online(machine: api.Machine) -> int:
    return min(machine.online)


@pytest.fixture(scope="module")
def machines() -> dict[str, api.Machine]:
    return {name: api.load(name) for name in TOPOLOGIES}


@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize(("kernel", "rule"), MODELS)
def test_plan(
    machines: dict[str, api.Machine], topo: str, kernel: str | None, rule: str | None
) -> None:
    """api.plan keeps the kernel notes and warnings of ``rmpplan plan``."""
    machine = machines[topo]
    _same(
        ["plan", topo, "--leader", "all", *_flags(kernel, rule)],
        lambda: api.render(api.plan(machine, "all", rule=rule, kernel=kernel)),
    )


@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize(("kernel", "rule"), MODELS)
def test_verify(
    machines: dict[str, api.Machine], topo: str, kernel: str | None, rule: str | None
) -> None:
    """api.verify judges the landed kernel by default, as ``rmpplan verify`` does."""
    machine = machines[topo]
    _same(
        ["verify", "--no-config", topo, *_flags(kernel, rule)],
        lambda: api.render(
            api.Checked(topo, machine, api.verify(machine, rule=rule, kernel=kernel))
        ),
    )


@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize(("kernel", "rule"), MODELS)
def test_explain(
    machines: dict[str, api.Machine], topo: str, kernel: str | None, rule: str | None
) -> None:
    machine = machines[topo]
    worker = _first_online(machine)
    _same(
        ["explain", topo, "--leader", str(worker), *_flags(kernel, rule)],
        lambda: api.render(api.explain(machine, worker, rule=rule, kernel=kernel)),
    )


@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize("kernel", [None, "v10", "v6", "v2"])
def test_compare(machines: dict[str, api.Machine], topo: str, kernel: str | None) -> None:
    machine = machines[topo]
    _same(
        ["compare", topo, *_flags(kernel, None)],
        lambda: api.render(api.compare(machine, kernel=kernel)),
    )


@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize(("kernel", "rule"), MODELS)
def test_schedule(
    machines: dict[str, api.Machine], topo: str, kernel: str | None, rule: str | None
) -> None:
    machine = machines[topo]
    worker = _first_online(machine)
    _same(
        ["schedule", topo, "--leader", str(worker), "--memory", "0-3T", *_flags(kernel, rule)],
        lambda: api.render(api.schedule(machine, worker, "0-3T", rule=rule, kernel=kernel)),
    )


@pytest.mark.parametrize("topo", TOPOLOGIES)
def test_show(topo: str) -> None:
    _same(["show", topo], lambda: api.render(api.show(topo)))


@pytest.mark.parametrize("kernel", [None, "v6", "v8", "v10"])
@pytest.mark.parametrize(("topo", "offline"), [(CASE3, "0"), (XEON, "2"), (XEON, "0,5")])
def test_a_hotplug_scenario_is_the_same_either_way(
    machines: dict[str, api.Machine], kernel: str | None, topo: str, offline: str
) -> None:
    """The hotplug flags and the API's ``hotplug`` argument model the same scenario."""
    machine = machines[topo]
    hotplug = machine.hotplug.override(offline=parse_cpulist(offline, machine.nr_cpu_ids))
    flags = ["--offline-after-setup", offline, *_flags(kernel, None)]
    _same(
        ["verify", "--no-config", topo, *flags],
        lambda: api.render(
            api.Checked(topo, machine, api.verify(machine, hotplug=hotplug, kernel=kernel))
        ),
    )
    _same(
        ["compare", topo, *flags],
        lambda: api.render(api.compare(machine, hotplug=hotplug, kernel=kernel)),
    )
    worker = max(machine.online - hotplug.offline_after_setup)
    _same(
        ["explain", topo, "--leader", str(worker), *flags],
        lambda: api.render(api.explain(machine, worker, hotplug=hotplug, kernel=kernel)),
    )


def test_power9_plan_has_the_landed_kernel_note() -> None:
    """The API's plan says, as the command's does, that the landed kernel cannot be judged."""
    doc = json.loads(api.render(api.plan(api.load("power9-sparse"))))
    assert any("kernel as landed" in note for note in doc["notes"]), doc["notes"]


def test_api_verify_judges_the_landed_kernel() -> None:
    """Without kernel, rule or strategy the landed kernel's failures are findings."""
    machine = api.load(str(ROOT / "docs" / "examples" / "primary-offline.yaml"))
    default = api.verify(machine)
    asked = api.verify(machine, rule="first-sibling")
    assert default.landed_checked and not asked.landed_checked
    assert api.Check.LANDED_KERNEL in {item.check for item in default.findings}
    assert api.Check.LANDED_KERNEL not in {item.check for item in asked.findings}


# Errors: the core names the parameter; the command line says its flag, the API its argument.


def test_explain_offline_worker_names_the_argument_or_the_flag() -> None:
    """The report's example: ``api.explain`` on an offline CPU names ``worker``."""
    machine = api.load(NOSMT)
    worker = min(machine.present - machine.online)
    with pytest.raises(api.ParameterError) as caught:
        api.explain(machine, worker)
    assert caught.value.param == "worker"
    assert str(caught.value).startswith(f"worker: CPU {worker} is not online when the handler")
    result = run("explain", NOSMT, "--leader", str(worker))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"rmpplan: error: --leader: {caught.value.reason}"


@pytest.mark.parametrize(
    ("flag", "cpus", "reason"),
    [
        ("--offline-after-setup", "8", "CPU 8 is not a present CPU"),
        ("--online-after-setup", "0", "CPU 0 is already online at setup"),
    ],
)
def test_hotplug_flag_errors_are_the_flags(flag: str, cpus: str, reason: str) -> None:
    """A hotplug flag that cannot happen is the flag's error, never the file's."""
    for command in (["verify", "--no-config"], ["compare"], ["explain", "--leader", "1"]):
        args = [command[0], NOSMT, *command[1:], flag, cpus]
        result = run(*args)
        assert result.exit_code == 2, args
        assert f"rmpplan: error: {flag}: " in result.stderr, (args, result.stderr)
        assert f"{NOSMT}: hotplug" not in result.stderr + result.stdout, args
        assert f"{NOSMT}: {flag}" not in result.stderr, args


def test_hotplug_flag_already_offline_is_the_flags() -> None:
    """The example of the report: an offline CPU given to --offline-after-setup."""
    machine = api.load(NOSMT)
    offline = min(machine.present - machine.online)
    result = run("verify", "--no-config", NOSMT, "--offline-after-setup", str(offline))
    assert result.exit_code == 2
    line = f"--offline-after-setup: CPU {offline} is already offline at setup"
    assert f"rmpplan: error: {line}" in result.stderr.splitlines()
    with pytest.raises(api.ParameterError) as caught:
        api.verify(machine, hotplug=api.Hotplug(frozenset({offline})))
    assert str(caught.value) == f"hotplug: CPU {offline} is already offline at setup"


def test_the_files_own_scenario_is_still_the_files(tmp_path: Path) -> None:
    """Without a flag, a file whose hotplug list is wrong is blamed on the file (its
    ``hotplug`` key); a flag for the other list does not take the blame."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\noffline_after_setup: '1'\ncpus:\n"
        "  - {id: 0, core: 0}\n  - {id: 1, core: 1, online: false}\n",
        encoding="utf-8",
    )
    for extra in ([], ["--online-after-setup", ""]):
        result = run("verify", "--no-config", str(bad), *extra)
        assert result.exit_code == 2, result.output
        assert f"{bad}: hotplug: CPU 1 is already offline at setup" in result.stderr
    with pytest.raises(api.InputError, match=r"^hotplug: CPU 1 is already offline") as caught:
        api.verify(api.load(bad))
    assert not isinstance(caught.value, api.ParameterError)


@pytest.mark.parametrize(
    ("args", "call", "name"),
    [
        (["plan", "single-core", "--leader", "5"], lambda m: api.plan(m, 5), "workers"),
        (["plan", "single-core", "--leader", "0-3"], lambda m: api.plan(m, "0-3"), "workers"),
    ],
)
def test_workers_errors(args: list[str], call: Callable[[api.Machine], object], name: str) -> None:
    """The workers' errors: ``--leader`` on the command line, ``workers`` in the API."""
    with pytest.raises(api.ParameterError) as caught:
        call(api.load("single-core"))
    assert caught.value.param == name
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("rmpplan: error: --leader: CPU ")
    assert result.stderr.strip().endswith(caught.value.reason)
