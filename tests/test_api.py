"""The Python API: every public name exists and is documented, each function
does what its command does on the bundled topologies, and importing it is light."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from rmpplan import api
from rmpplan.topology.machine import cpu_node
from tests.conftest import TOPOLOGIES

FUNCTIONS = ("bundled", "compare", "graph", "load", "plan", "render", "verify")


@pytest.fixture(scope="module")
def epyc() -> api.Machine:
    """The bundled 2-socket EPYC 9965, loaded by name."""
    return api.load("epyc-9965-2s")


def test_every_public_name_exists_and_has_a_docstring() -> None:
    """Each name in __all__ is an attribute of rmpplan.api with its own docstring."""
    assert len(api.__all__) == len(set(api.__all__))
    for name in api.__all__:
        value = getattr(api, name)
        assert inspect.getdoc(value), f"rmpplan.api.{name} has no docstring"
    for name in FUNCTIONS:
        assert name in api.__all__
        assert inspect.isfunction(getattr(api, name))


def test_unknown_attribute_is_an_attribute_error() -> None:
    """The lazy re-exports do not turn a typo into something else."""
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        _ = api.lod  # type: ignore[attr-defined]  # the typo is the point


def test_import_loads_neither_rich_nor_the_core() -> None:
    """`import rmpplan.api` leaves rich, networkx, pydantic and click unimported."""
    probe = (
        "import sys, rmpplan.api\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'rich', 'networkx', 'pydantic', 'click', 'yaml'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out == "[]\n"


def test_bundled_names_load() -> None:
    """bundled() lists the shipped topologies, and load() takes each name."""
    names = api.bundled()
    assert names == tuple(sorted(path.stem for path in TOPOLOGIES.glob("*.yaml")))
    assert api.load(names[0]).name == names[0]


def test_load_a_path_and_a_forced_format() -> None:
    """load() takes a path (str or Path) and an --input-format value."""
    path = TOPOLOGIES / "single-core.yaml"
    assert api.load(path).name == "single-core"
    assert api.load(str(path), "topology").name == "single-core"
    assert api.load(path, api.InputFormat.TOPOLOGY).name == "single-core"


def test_load_errors_are_input_errors() -> None:
    """A missing input and an unknown input format are InputError, with one-line messages."""
    with pytest.raises(api.InputError, match=r"^no-such-machine: no such file or directory \("):
        api.load("no-such-machine")
    with pytest.raises(api.OptionError, match=r"^input_format: 'xml' is not one of topology"):
        api.load("single-core", "xml")


def test_plan_worker_17(epyc: api.Machine) -> None:
    """Worker 17 of the EPYC 9965 leads, and its followers are 0-16,18-383."""
    result = api.plan(epyc, [17])
    assert isinstance(result, api.PlanResult)
    (item,) = result.plans
    assert (item.worker, item.leader) == (17, 17)
    assert sorted(result.mask - item.removed) == [*range(17), *range(18, 384)]
    assert item.follower_count == 383
    assert item.cores_covered == 384


def test_plan_workers_forms(epyc: api.Machine) -> None:
    """workers may be 'all', a cpulist, one CPU id or CPU ids, giving the same plans."""
    assert len(api.plan(epyc).plans) == 768
    by_list = api.plan(epyc, "17,401", "first-sibling", "v9-andnot")
    assert [item.worker for item in by_list.plans] == [17, 401]
    assert api.plan(epyc, [401, 17, 17]) == by_list
    assert api.plan(epyc, 17).plans == by_list.plans[:1]


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        ([768], "workers: CPU 768 is not a CPU of epyc-9965-2s"),
        ([-1], "workers: CPU -1 is not a CPU of epyc-9965-2s"),
        ([], "workers: the list names no CPU"),
        ("0-", "workers: EINVAL"),
    ],
)
def test_plan_bad_workers(epyc: api.Machine, workers: str | list[int], message: str) -> None:
    """A worker that is not an online CPU, or a malformed cpulist, is an InputError
    naming `workers`."""
    with pytest.raises(api.InputError) as caught:
        api.plan(epyc, workers)
    assert str(caught.value).startswith(message)


def test_plan_bad_strategy(epyc: api.Machine) -> None:
    """An unknown strategy name is an OptionError listing the choices."""
    with pytest.raises(api.OptionError, match="strategy: 'v10' is not one of v9-andnot, "):
        api.plan(epyc, 0, strategy="v10")


def test_verify(epyc: api.Machine) -> None:
    """verify is ok under v9-andnot, and clear-cpu fails with counterexample CPUs."""
    verdict = api.verify(epyc)
    assert isinstance(verdict, api.Verdict)
    assert verdict.ok and verdict.findings == ()
    assert (verdict.rule, verdict.strategy) == (api.Rule.FIRST_SIBLING, api.Strategy.V9_ANDNOT)
    failing = api.verify(epyc, strategy=api.Strategy.CLEAR_CPU)
    assert not failing.ok
    checks = {finding.check: finding.cpus for finding in failing.findings}
    assert set(checks) == {api.Check.FOLLOWERS_EXCLUDE_LEADER_CORE, api.Check.CORE_RUN_TWICE}
    assert checks[api.Check.CORE_RUN_TWICE] == tuple(range(384, 768))


def test_verify_with_a_hotplug_scenario() -> None:
    """A Hotplug scenario is judged: an offline follower leaves its core missed."""
    machine = api.load(TOPOLOGIES / "epyc-9654-2s.yaml")
    verdict = api.verify(machine, hotplug=api.Hotplug(offline_after_setup=frozenset({5})))
    assert api.Check.MASK_WITHIN_ONLINE in {finding.check for finding in verdict.findings}
    with pytest.raises(api.InputError, match="not a present CPU"):
        api.verify(machine, hotplug=api.Hotplug(offline_after_setup=frozenset({9999})))


def test_compare(epyc: api.Machine) -> None:
    """compare gives every strategy under every rule, ordered by strategy then rule;
    v2-all-cpus, which has no mask, once (under the first rule)."""
    result = api.compare(epyc)
    assert isinstance(result, api.Comparison)
    pairs = [(verdict.strategy, verdict.rule) for verdict in result.verdicts]
    v2 = api.Strategy.V2_ALL_CPUS
    assert pairs == [
        *((strategy, rule) for strategy in api.Strategy if strategy is not v2 for rule in api.Rule),
        (v2, api.Rule.FIRST_SIBLING),
    ]
    ok = {verdict.strategy for verdict in result.verdicts if verdict.ok}
    assert ok == {api.Strategy.V9_ANDNOT, api.Strategy.V8_THREE_WAY}
    only = api.compare(epyc, rules=["first-sibling"], strategies=["v2-all-cpus"])
    assert [(v.strategy, v.rule) for v in only.verdicts] == [
        (api.Strategy.V2_ALL_CPUS, api.Rule.FIRST_SIBLING)
    ]


def test_compare_named_rule_is_required() -> None:
    """Without APIC ids apic-primary is skipped, unless it is named: then it is bad input."""
    machine = api.load(TOPOLOGIES / "power9-sparse.yaml")
    assert api.compare(machine).skipped
    with pytest.raises(api.InputError):
        api.compare(machine, rules=[api.Rule.APIC_PRIMARY])


@pytest.mark.parametrize("fmt", list(api.OutputFormat))
def test_render_every_report_in_every_format(epyc: api.Machine, fmt: api.OutputFormat) -> None:
    """render() gives each report type in each format, with no colour."""
    checked = api.Checked("builtin:epyc-9965-2s", epyc, api.verify(epyc))
    for report in (api.plan(epyc, 17), api.compare(epyc), checked, [checked, checked]):
        text = api.render(report, fmt)
        assert text.strip()
        assert "\x1b[" not in text
    assert api.render(checked, fmt.value) == api.render([checked], fmt)


def test_render_json_is_the_cli_contract(epyc: api.Machine) -> None:
    """render(..., 'json') parses, has schema_version, and matches `rmpplan plan`'s JSON."""
    doc = json.loads(api.render(api.plan(epyc, 17)))
    assert doc["schema_version"] == 2
    assert doc["plans"][0]["followers"] == "0-16,18-383"
    verify_doc = json.loads(api.render(api.Checked("x", epyc, api.verify(epyc)), "json"))
    assert verify_doc["ok"] is True
    assert verify_doc["schema_version"] == 2


def test_render_refuses_other_objects(epyc: api.Machine) -> None:
    """A bare Verdict (or an unknown format) is refused with a message that says what to do."""
    with pytest.raises(TypeError, match=r"Checked\(label, machine, verdict\)\); got Verdict"):
        api.render(api.verify(epyc))  # type: ignore[arg-type]  # the wrong type is the point
    with pytest.raises(api.OptionError, match="fmt: 'html' is not one of table, json"):
        api.render(api.plan(epyc, 0), "html")


def test_graph(epyc: api.Machine) -> None:
    """graph() is the machine's own graph, with a node for each of the 768 CPUs."""
    graph = api.graph(epyc)
    assert graph is epyc.graph
    assert len(epyc.cpus) == 768
    assert all(graph.has_node(cpu_node(cpu)) for cpu in epyc.cpus)


def test_explain_replays_one_worker() -> None:
    """api.explain under v6 takes case 2 from a secondary thread, with verify's verdict."""
    machine = api.load("epyc-9654-2s")
    result = api.explain(machine, 200, kernel="v6")
    assert result.case is api.Case.CASE_2
    assert result.ok and result.leader == 200
    assert api.render(result, "json").startswith("{")
    with pytest.raises(api.OptionError, match="kernel: 'v7' is not one of"):
        api.explain(machine, 200, kernel="v7")
