"""rmpplan's Python API: load a machine, plan, verify, explain, compare, render.

The names in :data:`__all__` are the public, stable surface (docs/api.md);
every other module of the package is internal and may change. Bad input of
any kind raises :class:`InputError` (a one-line message naming the file, key
or argument), the same error the command line prints, or one of its subclasses
exported here (:class:`OptionError`, :class:`MaskError`); nothing here prints.

Importing this module is cheap: the enums load at once, while the core
(networkx, pydantic) loads on first use and rich only when a table is
rendered.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from rmpplan.errors import InputError, MaskError, OptionError, ParameterError
from rmpplan.escaping import quote
from rmpplan.naming import naming
from rmpplan.terms import Case, Check, InputFormat, Kernel, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    import networkx as nx

    from rmpplan.checks import Checked, Comparison, Finding, Verdict
    from rmpplan.explain import Explanation, KernelStep
    from rmpplan.hotplug import Hotplug
    from rmpplan.kernel import Modelled
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult, WorkerPlan
    from rmpplan.schedule import ScheduleReport, StrategySchedule
    from rmpplan.topology.machine import Core, Cpu, Machine

__all__ = [
    "Case",
    "Check",
    "Checked",
    "Comparison",
    "Core",
    "Cpu",
    "Explanation",
    "Finding",
    "Hotplug",
    "InputError",
    "InputFormat",
    "Kernel",
    "KernelStep",
    "Machine",
    "MaskError",
    "OptionError",
    "OutputFormat",
    "Overview",
    "ParameterError",
    "PlanResult",
    "Rule",
    "ScheduleReport",
    "Strategy",
    "StrategySchedule",
    "Verdict",
    "WorkerPlan",
    "bundled",
    "compare",
    "explain",
    "graph",
    "load",
    "plan",
    "render",
    "schedule",
    "show",
    "verify",
]

# The result types, imported when first asked for so that importing the API
# does not load networkx: name -> defining module.
_LAZY = {
    "Checked": "rmpplan.checks",
    "Comparison": "rmpplan.checks",
    "Finding": "rmpplan.checks",
    "Verdict": "rmpplan.checks",
    "Explanation": "rmpplan.explain",
    "KernelStep": "rmpplan.explain",
    "Overview": "rmpplan.overview",
    "ScheduleReport": "rmpplan.schedule",
    "StrategySchedule": "rmpplan.schedule",
    "Hotplug": "rmpplan.hotplug",
    "PlanResult": "rmpplan.plan",
    "WorkerPlan": "rmpplan.plan",
    "Core": "rmpplan.topology.machine",
    "Cpu": "rmpplan.topology.machine",
    "Machine": "rmpplan.topology.machine",
}

if not TYPE_CHECKING:  # mypy sees the imports above; at run time they come from here.

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_P = ParamSpec("_P")

NAMED = {"builtin": "bundled()"}
"""The core's parameters that this API's notes and messages name otherwise than as
the core does (rmpplan.naming): the bundled topologies are listed by :func:`bundled`."""


def _argument(param: str) -> str:
    """How this API names the core's parameter ``param`` in notes and messages: as its
    argument (``rule``, ``kernel``, a :class:`Hotplug`'s ``offline_after_setup``),
    where the command line names its flag."""
    return NAMED.get(param, param)


def _by_argument(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """``func`` with every note and message it makes naming this API's arguments."""

    @functools.wraps(func)
    def named_by_argument(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with naming(_argument):
            return func(*args, **kwargs)

    return named_by_argument


def _member(enum: type[_E], value: _E | str, what: str) -> _E:
    """``value`` as a member of ``enum``; a string is its value, as on the command line."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise OptionError(f"{what}: '{quote(str(value))}' is not one of {choices}") from None


def bundled() -> tuple[str, ...]:
    """The names of the topologies shipped with rmpplan, sorted; :func:`load` takes each.

    The same names ``rmpplan verify --builtin`` reports as ``builtin:NAME``.
    """
    from rmpplan.inputs import bundled_topologies

    return tuple(bundled_topologies())


@_by_argument
def load(source: str | os.PathLike[str], input_format: InputFormat | str | None = None) -> Machine:
    """Load a machine from ``source``, as every command's TOPO argument does.

    ``source`` is a topology file (YAML or JSON), a sysfs root (``/`` for
    this machine) or dump tarball, hwloc XML, saved lscpu output, or the name
    of a bundled topology (:func:`bundled`); a path that exists wins over a
    name. ``input_format`` forces the kind of input instead of detecting it.

    Raises :class:`InputError` naming the file (and line) when the input is
    missing, unreadable or invalid.
    """
    from pathlib import Path

    from rmpplan.inputs import load_machine

    kind = None if input_format is None else _member(InputFormat, input_format, "input_format")
    return load_machine(Path(source), kind)


ARGUMENTS = {
    "worker": "worker",
    "workers": "workers",
    "offline_after_setup": "hotplug",
    "online_after_setup": "hotplug",
}
"""The core's parameters by the name of the argument of this API that gives them."""


def _argument_errors(run: Callable[[], _T]) -> _T:
    """``run()``, with a :class:`ParameterError` of the core renamed to this API's argument."""
    try:
        return run()
    except ParameterError as err:
        raise err.named(ARGUMENTS.get(err.param, err.param)) from None


def _model(
    kernel: Kernel | str | None, rule: Rule | str | None, strategy: Strategy | str | None
) -> Modelled:
    """The kernel, rule and strategy modelled, as the command line resolves its flags:
    a given rule or strategy replaces the profile's (a what-if note says so), and
    nothing given at all also judges the kernel as landed (:func:`verify`)."""
    from rmpplan.kernel import modelled

    return modelled(
        None if kernel is None else _member(Kernel, kernel, "kernel"),
        None if rule is None else _member(Rule, rule, "rule"),
        None if strategy is None else _member(Strategy, strategy, "strategy"),
    )


def _hotplug(machine: Machine, hotplug: Hotplug | None) -> Hotplug | None:
    """``hotplug`` checked against ``machine``: an impossible scenario given here is
    the argument's fault (:class:`ParameterError` naming ``hotplug``); None keeps the
    file's, whose faults are the file's."""
    if hotplug is not None:
        found = hotplug.fault(machine)
        if found is not None:
            raise ParameterError("hotplug", found[1])
    return hotplug


def _workers(machine: Machine, workers: str | int | Iterable[int]) -> tuple[int, ...]:
    """The CPUs ``workers`` names, checked as ``--leader`` is (errors name ``workers``)."""
    from rmpplan.cpumask import format_cpulist
    from rmpplan.cpuspec import CpuSpec, resolve_workers

    if isinstance(workers, str):
        try:
            spec = CpuSpec.parse(workers, allow_all=True)
        except InputError as err:
            raise err.within("workers") from None
    else:
        cpus = sorted({workers} if isinstance(workers, int) else set(workers))
        beyond = [cpu for cpu in cpus if not 0 <= cpu < machine.nr_cpu_ids]
        if beyond:
            raise ParameterError(
                "workers",
                f"CPU {beyond[0]} is not a CPU of {machine.name} (nr_cpu_ids {machine.nr_cpu_ids})",
            )
        spec = CpuSpec(format_cpulist(cpus))
    return _argument_errors(lambda: resolve_workers(spec, machine, "workers"))


@_by_argument
def plan(
    machine: Machine,
    workers: str | int | Iterable[int] = "all",
    rule: Rule | str | None = None,
    strategy: Strategy | str | None = None,
    kernel: Kernel | str | None = None,
) -> PlanResult:
    """``rmpopt_cpumask`` and, for each worker CPU, its core, leader and followers,
    as ``rmpplan plan`` computes them.

    ``workers`` is ``"all"`` (every online CPU), a kernel cpulist such as
    ``"0-3,17"``, a CPU id or CPU ids; each must be an online CPU of ``machine``. The
    result's ``plans`` are in ascending worker order, and each worker's
    followers are ``result.mask - plan.removed``. ``kernel`` picks a profile
    of the series (its rule and strategy); ``rule`` and ``strategy`` replace
    that part of it, and without a kernel they default to ``first-sibling``
    and ``v9-andnot``. ``result.notes`` are the command's: what-if overrides,
    and without a kernel whether the kernel as landed builds another mask
    here. As ``rmpplan plan``, this plans from the CPUs online at setup and
    judges nothing: see ``result.warnings`` and :func:`verify`.

    Raises :class:`ParameterError` (an :class:`OptionError`) naming ``workers``
    for a worker that is not an online CPU; :class:`OptionError` for an
    unknown rule, strategy or kernel; :class:`InputError` for a malformed
    cpulist, and when the rule is ``apic-primary`` and the machine has no
    APIC ids.
    """
    from rmpplan.kernel import kernel_notes
    from rmpplan.plan import plan as make_plan

    model = _model(kernel, rule, strategy)
    return make_plan(
        machine,
        _workers(machine, workers),
        model.rule,
        model.strategy,
        kernel=model.kernel,
        notes=kernel_notes(machine, model),
    )


@_by_argument
def verify(
    machine: Machine,
    rule: Rule | str | None = None,
    strategy: Strategy | str | None = None,
    hotplug: Hotplug | None = None,
    kernel: Kernel | str | None = None,
) -> Verdict:
    """Prove the pass for every online CPU as the worker, as ``rmpplan verify`` does.

    ``kernel``, ``rule`` and ``strategy`` are resolved as for :func:`plan`.
    With none of them, the kernel as landed is judged too, as the command
    does: each of its failures the default model does not already report is
    a ``landed-kernel`` finding (``verdict.landed_checked`` says it was
    judged). ``hotplug`` is a scenario of CPUs changing state after setup;
    None keeps the one in the topology file (if any). The verdict is data:
    ``verdict.ok`` is true when ``verdict.findings`` is empty, and each
    :class:`Finding` names its :class:`Check` and counterexample CPUs.

    Raises :class:`ParameterError` naming ``hotplug`` when the scenario given
    is impossible (a CPU that is not present, or already in the state it
    would change to); :class:`InputError` when the machine cannot be judged
    under the rule (``apic-primary`` without APIC ids) or the file's own
    scenario is impossible. A failed check is a finding, never an exception.
    """
    from rmpplan.landed import judged

    return judged(machine, _model(kernel, rule, strategy), _hotplug(machine, hotplug))


@_by_argument
def explain(  # noqa: PLR0917  # mirrors verify()'s positional order, plus the worker
    machine: Machine,
    worker: int,
    rule: Rule | str | None = None,
    strategy: Strategy | str | None = None,
    hotplug: Hotplug | None = None,
    kernel: Kernel | str | None = None,
) -> Explanation:
    """One run of the handler on ``worker``, replayed, as ``rmpplan explain`` does.

    ``kernel`` picks a profile (its rule, strategy and hotplug semantics);
    ``rule`` and ``strategy`` replace that part of it, and without a kernel
    they default to ``first-sibling`` and ``v9-andnot``. The result's
    ``steps`` are the kernel operations with what each leaves, and its
    verdict (``ok``, ``findings``) is :func:`verify`'s for that worker.

    Raises :class:`ParameterError` naming ``worker`` for a worker that is not
    online when the handler runs, or ``hotplug`` for an impossible scenario;
    :class:`OptionError` for an unknown rule, strategy or kernel.
    """
    from rmpplan.explain import explain as replay
    from rmpplan.kernel import kernel_notes

    model = _model(kernel, rule, strategy)
    if worker not in machine.cpus:
        raise ParameterError("worker", f"CPU {worker} is not a CPU of {machine.name}")
    scenario = _hotplug(machine, hotplug)
    return _argument_errors(
        lambda: replay(
            machine,
            worker,
            model.rule,
            model.strategy,
            scenario,
            kernel=model.kernel,
            notes=kernel_notes(machine, model),
        )
    )


@_by_argument
def compare(
    machine: Machine,
    rules: Iterable[Rule | str] | None = None,
    strategies: Iterable[Strategy | str] | None = None,
    hotplug: Hotplug | None = None,
    kernel: Kernel | str | None = None,
) -> Comparison:
    """:func:`verify` for every strategy under every rule, as ``rmpplan compare`` does.

    With ``rules`` None every rule is tried, and ``apic-primary`` is skipped
    (with the reason in ``result.skipped``) on a machine without APIC ids;
    rules that are named are required, so the missing ids raise
    :class:`InputError` instead. ``strategies`` None means every strategy.
    ``kernel`` decides, as ``--kernel`` does, whether the hotplug scenario
    can happen. The verdicts are ordered by strategy, then rule.
    """
    from rmpplan.checks import compare as run_compare

    chosen = None if rules is None else tuple(_member(Rule, rule, "rules") for rule in rules)
    return run_compare(
        machine,
        chosen or tuple(Rule),
        tuple(Strategy)
        if strategies is None
        else tuple(_member(Strategy, strategy, "strategies") for strategy in strategies),
        _hotplug(machine, hotplug),
        strict_rules=chosen is not None,
        kernel=None if kernel is None else _member(Kernel, kernel, "kernel"),
    )


@_by_argument
def schedule(  # noqa: PLR0917  # the command's order
    machine: Machine,
    worker: int,
    memory: str,
    rule: Rule | str | None = None,
    kernel: Kernel | str | None = None,
    ghz: float | None = None,
) -> ScheduleReport:
    """One pass from ``worker`` over the RAM ``memory`` names, for every strategy:
    RMPOPT executions, IPIs and an estimate of the time, as ``rmpplan schedule`` does.

    ``memory`` is RAM as in /proc/iomem (``"0-2T"``, ``"0-1G,4G-8G"``); ``ghz``
    the core clock of the cost model (its default when None). ``kernel`` and
    ``rule`` are resolved as for :func:`plan`.

    Raises :class:`ParameterError` naming ``worker`` for a worker that is not an
    online CPU, or ``ghz`` for a clock that is not a number from 0.1 to 100;
    :class:`InputError` naming ``memory`` for RAM that does not parse.
    """
    import math
    from dataclasses import replace

    from rmpplan.cost import CostModel
    from rmpplan.kernel import kernel_notes
    from rmpplan.memory import parse_memory, rmpopt_window
    from rmpplan.schedule import ScheduleReport
    from rmpplan.schedule import schedule as lay_out

    model = _model(kernel, rule, None)
    if worker not in machine.online:
        raise ParameterError("worker", f"CPU {worker} is not an online CPU of {machine.name}")
    if ghz is not None and not (math.isfinite(ghz) and 0.1 <= ghz <= 100):
        raise ParameterError("ghz", f"{ghz} is not between 0.1 and 100 GHz")
    try:
        window = rmpopt_window(parse_memory(memory))
    except InputError as err:
        raise err.within("memory") from None
    cost = CostModel() if ghz is None else replace(CostModel(), ghz=ghz)
    return ScheduleReport(
        machine,
        worker,
        window,
        lay_out(machine, worker, window, rule=model.rule, model=cost),
        cost,
        model.kernel,
        kernel_notes(machine, model),
    )


@_by_argument
def show(source: str | os.PathLike[str], input_format: InputFormat | str | None = None) -> Overview:
    """The machine at ``source`` with what ``rmpplan show`` adds: the file's
    hotplug scenario (checked as :func:`verify` checks it) and, for a sysfs
    root, what its live files say about SNP init. ``source`` and
    ``input_format`` are those of :func:`load`."""
    from pathlib import Path

    from rmpplan.inputs import input_format_of, load_machine
    from rmpplan.overview import overview

    given = None if input_format is None else _member(InputFormat, input_format, "input_format")
    path = Path(source)
    kind = input_format_of(path, given)
    try:
        return overview(load_machine(path, kind), path, kind.source)
    except InputError as err:
        raise err.located(str(path)) from None


def render(
    report: PlanResult
    | Comparison
    | Explanation
    | ScheduleReport
    | Overview
    | Checked
    | Sequence[Checked],
    fmt: OutputFormat | str = OutputFormat.JSON,
) -> str:
    """``report`` as the command line prints it in ``fmt``, without colour or wrapping.

    A :class:`PlanResult` renders as ``rmpplan plan``, a :class:`Comparison`
    as ``rmpplan compare``, an :class:`Explanation` as ``rmpplan explain``, a
    :class:`ScheduleReport` as ``rmpplan schedule``, an :class:`Overview` as
    ``rmpplan show``, and one :class:`Checked` or a sequence of them as ``rmpplan verify``;
    wrap a verdict as ``Checked(label, machine, verdict)``.
    ``json`` follows the contract of docs/json.md (with ``schema_version``).

    Raises :class:`OptionError` for an unknown format and :class:`TypeError`
    for a report of another type.
    """
    from rmpplan.checks import Checked, Comparison
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult
    from rmpplan.render import renderer
    from rmpplan.schedule import ScheduleReport

    out = renderer(_member(OutputFormat, fmt, "fmt"))
    if isinstance(report, PlanResult):
        return out.render_plan(report)
    if isinstance(report, Comparison):
        return out.render_compare(report)
    if isinstance(report, Explanation):
        return out.render_explain(report)
    if isinstance(report, ScheduleReport | Overview):
        return (
            out.render_schedule(report)
            if isinstance(report, ScheduleReport)
            else out.render_show(report)
        )
    if isinstance(report, Checked):
        report = [report]
    if isinstance(report, Sequence) and all(isinstance(item, Checked) for item in report):
        return out.render_verify(report)
    raise TypeError(
        "render() takes a PlanResult, a Comparison, an Explanation, a ScheduleReport, "
        "an Overview, or Checked results "
        f"(wrap a Verdict as Checked(label, machine, verdict)); got {type(report).__name__}"
    )


def graph(machine: Machine) -> nx.DiGraph:
    """The machine's graph (machine → package → die → core → CPU), the one source
    of truth for its sibling sets. It is the machine's own object: do not modify it.
    """
    return machine.graph
