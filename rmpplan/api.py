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

import os
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from rmpplan.errors import InputError, MaskError, OptionError
from rmpplan.escaping import quote
from rmpplan.terms import Case, Check, InputFormat, Kernel, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    import networkx as nx

    from rmpplan.checks import Checked, Comparison, Finding, Verdict
    from rmpplan.explain import Explanation
    from rmpplan.hotplug import Hotplug
    from rmpplan.plan import PlanResult, WorkerPlan
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
    "Machine",
    "MaskError",
    "OptionError",
    "OutputFormat",
    "PlanResult",
    "Rule",
    "Strategy",
    "Verdict",
    "WorkerPlan",
    "bundled",
    "compare",
    "explain",
    "graph",
    "load",
    "plan",
    "render",
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
            raise OptionError(f"workers: CPU {beyond[0]} is not a CPU of {machine.name}")
        spec = CpuSpec(format_cpulist(cpus))
    return resolve_workers(spec, machine, "workers")


def plan(
    machine: Machine,
    workers: str | int | Iterable[int] = "all",
    rule: Rule | str = Rule.FIRST_SIBLING,
    strategy: Strategy | str = Strategy.V9_ANDNOT,
) -> PlanResult:
    """``rmpopt_cpumask`` and, for each worker CPU, its core, leader and followers.

    ``workers`` is ``"all"`` (every online CPU), a kernel cpulist such as
    ``"0-3,17"``, a CPU id or CPU ids; each must be an online CPU of ``machine``. The
    result's ``plans`` are in ascending worker order, and each worker's
    followers are ``result.mask - plan.removed``. As ``rmpplan plan``, this
    plans from the CPUs online at setup and judges nothing: see
    ``result.warnings`` and :func:`verify`.

    Raises :class:`OptionError` (an :class:`InputError`) for a worker that is
    not an online CPU, or an unknown rule or strategy; :class:`InputError`
    for a malformed cpulist, and when ``rule`` is ``apic-primary`` and the
    machine has no APIC ids.
    """
    from rmpplan.plan import plan as make_plan

    return make_plan(
        machine,
        _workers(machine, workers),
        _member(Rule, rule, "rule"),
        _member(Strategy, strategy, "strategy"),
    )


def verify(
    machine: Machine,
    rule: Rule | str = Rule.FIRST_SIBLING,
    strategy: Strategy | str = Strategy.V9_ANDNOT,
    hotplug: Hotplug | None = None,
) -> Verdict:
    """Prove the pass for every online CPU as the worker, as ``rmpplan verify`` does.

    ``hotplug`` is a scenario of CPUs changing state after setup; None
    keeps the one in the topology file (if any). The verdict is data:
    ``verdict.ok`` is true when ``verdict.findings`` is empty, and each
    :class:`Finding` names its :class:`Check` and counterexample CPUs.

    Raises :class:`InputError` when the machine cannot be judged under the
    given rule (``apic-primary`` without APIC ids) or the scenario is
    impossible (a CPU that is not present, or already in the state it
    would change to); a failed check is a finding, never an exception.
    """
    from rmpplan.checks import verify as prove

    return prove(
        machine, _member(Rule, rule, "rule"), _member(Strategy, strategy, "strategy"), hotplug
    )


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

    Raises :class:`OptionError` for a worker that is not online when the
    handler runs, or an unknown rule, strategy or kernel.
    """
    from rmpplan.explain import explain as replay
    from rmpplan.kernel import kernel_notes, modelled

    model = modelled(
        None if kernel is None else _member(Kernel, kernel, "kernel"),
        None if rule is None else _member(Rule, rule, "rule"),
        None if strategy is None else _member(Strategy, strategy, "strategy"),
    )
    if worker not in machine.cpus:
        raise OptionError(f"worker: CPU {worker} is not a CPU of {machine.name}")
    return replay(
        machine,
        worker,
        model.rule,
        model.strategy,
        hotplug,
        kernel=model.kernel,
        notes=kernel_notes(machine, model),
    )


def compare(
    machine: Machine,
    rules: Iterable[Rule | str] | None = None,
    strategies: Iterable[Strategy | str] | None = None,
    hotplug: Hotplug | None = None,
) -> Comparison:
    """:func:`verify` for every strategy under every rule, as ``rmpplan compare`` does.

    With ``rules`` None every rule is tried, and ``apic-primary`` is skipped
    (with the reason in ``result.skipped``) on a machine without APIC ids;
    rules that are named are required, so the missing ids raise
    :class:`InputError` instead. ``strategies`` None means every strategy.
    The verdicts are ordered by strategy, then rule.
    """
    from rmpplan.checks import compare as run_compare

    chosen = None if rules is None else tuple(_member(Rule, rule, "rules") for rule in rules)
    return run_compare(
        machine,
        chosen or tuple(Rule),
        tuple(Strategy)
        if strategies is None
        else tuple(_member(Strategy, strategy, "strategies") for strategy in strategies),
        hotplug,
        strict_rules=chosen is not None,
    )


def render(
    report: PlanResult | Comparison | Explanation | Checked | Sequence[Checked],
    fmt: OutputFormat | str = OutputFormat.JSON,
) -> str:
    """``report`` as the command line prints it in ``fmt``, without colour or wrapping.

    A :class:`PlanResult` renders as ``rmpplan plan``, a :class:`Comparison`
    as ``rmpplan compare``, an :class:`Explanation` as ``rmpplan explain``,
    and one :class:`Checked` or a sequence of them as ``rmpplan verify``;
    wrap a verdict as ``Checked(label, machine, verdict)``.
    ``json`` follows the contract of docs/json.md (with ``schema_version``).

    Raises :class:`OptionError` for an unknown format and :class:`TypeError`
    for a report of another type.
    """
    from rmpplan.checks import Checked, Comparison
    from rmpplan.explain import Explanation
    from rmpplan.plan import PlanResult
    from rmpplan.render import renderer

    out = renderer(_member(OutputFormat, fmt, "fmt"))
    if isinstance(report, PlanResult):
        return out.render_plan(report)
    if isinstance(report, Comparison):
        return out.render_compare(report)
    if isinstance(report, Explanation):
        return out.render_explain(report)
    if isinstance(report, Checked):
        return out.render_verify([report])
    if isinstance(report, Sequence) and all(isinstance(item, Checked) for item in report):
        return out.render_verify(report)
    raise TypeError(
        "render() takes a PlanResult, a Comparison, an Explanation, or Checked results "
        f"(wrap a Verdict as Checked(label, machine, verdict)); got {type(report).__name__}"
    )


def graph(machine: Machine) -> nx.DiGraph:
    """The machine's graph (machine → package → die → core → CPU), the one source
    of truth for its sibling sets. It is the machine's own object: do not modify it.
    """
    return machine.graph
