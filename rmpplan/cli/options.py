"""Options, parameter types and error handling shared by the subcommands (click only).

Choices come from the enums in :mod:`rmpplan.terms`, and CPU specs are
checked as click parameter types, so a bad flag is one error naming the flag,
given once, before any input is read.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import click

from rmpplan.cli.streams import drop, has_left, reader_left, say
from rmpplan.cpuspec import CpuSpec
from rmpplan.terms import NR_CPUS_MAX, InputFormat, Kernel, OutputFormat, Rule, Strategy

if TYPE_CHECKING:
    from rmpplan.memory import Window
    from rmpplan.render import Display

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])
E = TypeVar("E", bound=StrEnum)


class EnumChoice(click.Choice[str]):
    """A choice among an enum's values (click's own Choice lists the member names)."""

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__([member.value for member in enum])
        self.enum = enum

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        if isinstance(value, self.enum):
            return value
        return self.enum(super().convert(value, param, ctx))


GraphML = Literal["graphml"]
"""``show``'s one extra format: the machine graph itself, not a report, so not an OutputFormat."""
GRAPHML: GraphML = "graphml"
HwlocXml = Literal["hwloc-xml"]
"""``show``'s other extra format: the machine as hwloc XML v2, for lstopo to draw."""
HWLOC_XML: HwlocXml = "hwloc-xml"


class ShowFormatChoice(EnumChoice):
    """OutputFormat's values, ``graphml`` and ``hwloc-xml``, which only ``show`` writes."""

    def __init__(self) -> None:
        super().__init__(OutputFormat)
        self.choices = (*self.choices, GRAPHML, HWLOC_XML)

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        if value in (GRAPHML, HWLOC_XML):
            return str(value)
        return super().convert(value, param, ctx)


class CpuSpecType(click.ParamType[CpuSpec]):
    """A kernel cpulist (and ``all`` where allowed), checked when the command line is read."""

    name = "cpulist"

    def __init__(self, *, allow_all: bool = False) -> None:
        self.allow_all = allow_all

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> CpuSpec:
        from rmpplan.errors import MaskError

        if isinstance(value, CpuSpec):
            return value
        try:
            return CpuSpec.parse(str(value), allow_all=self.allow_all)
        except MaskError as err:
            self.fail(err.message, param, ctx)


class FiniteFloat(click.FloatRange):
    """A number in a closed range, never NaN or infinite: every float flag uses it,
    so no report is computed from (or prints) a value that is not a number."""

    def __init__(self, low: float, high: float, unit: str = "") -> None:
        super().__init__(low, high)
        self.unit = unit

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        import math

        from rmpplan.escaping import quote

        try:
            number = float(value if isinstance(value, int | float) else str(value))
        except (TypeError, ValueError):
            self.fail(f"'{quote(str(value))}' is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"'{quote(str(value))}' is not a finite number", param, ctx)
        if not self.min <= number <= self.max:  # type: ignore[operator]  # both set in __init__
            self.fail(
                f"{quote(str(value))} is not between {self.min:g} and {self.max:g}{self.unit}",
                param,
                ctx,
            )
        return number


class JobCount(click.ParamType[int]):
    """``--jobs``: a count of processes, 1 or more; larger than the CPUs this process
    may use is taken as that many (the caller says so)."""

    name = "count"
    DIGITS = 20
    """More digits than any count of CPUs: a longer number is refused, not converted."""

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        from rmpplan.escaping import quote

        if isinstance(value, int):
            return value
        text = str(value)
        if not (text.isascii() and text.isdigit() and len(text) <= self.DIGITS) or int(text) < 1:
            self.fail(f"'{quote(text)}' is not a count of processes (1 or more)", param, ctx)
        return int(text)


class BadInput(click.ClickException):
    """Bad input or usage: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:  # Any: as in click's ClickException.show
        from rmpplan.escaping import printable

        line = f"rmpplan: error: {printable(self.format_message())}"
        if file is None:
            say(line)
        else:
            click.echo(line, file=file)


FLAGS = {"worker": "--leader", "workers": "--leader"}
"""The core's parameters whose flag is not their name with dashes: users say leader."""


def flag(param: str) -> str:
    """The flag that gives the core's parameter ``param`` (``offline_after_setup``
    is ``--offline-after-setup``, the workers ``--leader``)."""
    return FLAGS.get(param, "--" + param.replace("_", "-"))


SPELLED = {"builtin": "`rmpplan verify --builtin`"}
"""The core's parameters that notes name by a whole command: ``builtin`` is the list
of bundled topologies, which ``verify --builtin`` prints."""


def spelled(param: str) -> str:
    """How the command line names the core's parameter ``param`` in notes and
    messages (:mod:`rmpplan.naming`): its flag, or the command that gives it."""
    return SPELLED.get(param) or flag(param)


def flag_names(*params: str) -> tuple[tuple[str, str], ...]:
    """``params`` paired with their flags, for the core to name them in errors and notes."""
    return tuple((param, spelled(param)) for param in params)


def input_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the core's InputError into BadInput, once, at the edge, naming the
    command's input when the error names no file, and a parameter's flag when
    the error is about a parameter (:class:`~rmpplan.errors.ParameterError`)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from rmpplan.errors import InputError, ParameterError

        try:
            return func(*args, **kwargs)
        except ParameterError as err:
            raise BadInput(str(err.named(flag(err.param)))) from None
        except InputError as err:
            given = kwargs.get("topo", kwargs.get("source"))
            raise BadInput(str(err.located(None if given is None else str(given)))) from None

    return wrapper


def format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=EnumChoice(OutputFormat),
        default=OutputFormat.TABLE.value,
        show_default=True,
        help="Output format: rich table, stable JSON, plain text or Markdown.",
    )(func)


def kernel_option(func: F) -> F:
    return click.option(
        "--kernel",
        type=EnumChoice(Kernel),
        default=None,
        help="Model this version of the series: its mask rule, handler and hotplug "
        "semantics (v10 is the kernel as landed; see docs/checks.md).",
    )(func)


def show_format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=ShowFormatChoice(),
        default=OutputFormat.TABLE.value,
        show_default=True,
        help="Output format: rich table, stable JSON, plain text, Markdown, the machine "
        "graph as GraphML, or hwloc XML v2 for lstopo -i (roles coloured with --leader).",
    )(func)


def rule_option(func: F) -> F:
    return click.option(
        "--rule",
        type=EnumChoice(Rule),
        default=None,
        show_default=f"{Rule.FIRST_SIBLING}, or the --kernel profile's",
        help="How rmpopt_cpumask picks one thread per core.",
    )(func)


def strategy_option(func: F) -> F:
    return click.option(
        "--strategy",
        type=EnumChoice(Strategy),
        default=None,
        show_default=f"{Strategy.V9_ANDNOT}, or the --kernel profile's",
        help="Which version of the RMPOPT handler to model.",
    )(func)


def hotplug_options(func: F) -> F:
    func = click.option(
        "--online-after-setup",
        type=CpuSpecType(),
        metavar="CPULIST",
        default=None,
        help="Offline CPUs that come online after the mask and MSRs are set up.",
    )(func)
    return click.option(
        "--offline-after-setup",
        type=CpuSpecType(),
        metavar="CPULIST",
        default=None,
        help="Online CPUs that go offline after setup, before the handler runs.",
    )(func)


def input_format_option(func: F) -> F:
    return click.option(
        "--input-format",
        type=EnumChoice(InputFormat),
        default=None,
        help="Force the kind of input instead of detecting it from its content.",
    )(func)


def display() -> Display:
    """Colour only on a terminal and without NO_COLOR; never wrap off a terminal.

    NO_COLOR counts only when it is not empty, as https://no-color.org says.
    """
    from rmpplan.render import Display

    tty = sys.stdout is not None and sys.stdout.isatty()
    color = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    width = shutil.get_terminal_size().columns if tty else None
    return Display(color=color, width=width)


def emit(text: str) -> None:
    """Write the report to stdout; a closed or failing stdout is exit 2, one line.

    A reader that leaves early (``| head``) is not an error: the rest of the
    report is dropped and the command goes on to the exit code it would have
    had, so that code never depends on when the reader left (docs/cli.md).
    """
    if sys.stdout is None:
        raise BadInput("cannot write the report: standard output is closed")
    if has_left("stdout"):
        return
    try:
        click.echo(text, nl=False)
    except BrokenPipeError:
        reader_left("stdout")
    except OSError as err:
        drop(sys.stdout)
        raise BadInput(f"cannot write the report to standard output: {err.strerror}") from None


def _line(text: str) -> str:
    from rmpplan.escaping import printable

    return printable(text)


def warn(message: str) -> None:
    say(f"rmpplan: warning: {_line(message)}")


def note(message: str) -> None:
    """A status line for a person, on stderr so that stdout stays data."""
    say(f"rmpplan: {_line(message)}")


def finish(code: int) -> None:
    """End the command with ``code`` (0 ok, 1 a check found a problem)."""
    click.get_current_context().exit(code)


def memory_options(func: F) -> F:
    func = click.option(
        "--memory-from",
        type=click.Path(path_type=Path),
        help="A saved /proc/iomem; its top-level 'System RAM' lines are the RAM.",
    )(func)
    return click.option(
        "--memory",
        metavar="RANGES",
        help="RAM as in /proc/iomem: A-B with B included, K/M/G/T binary suffixes "
        "(a suffixed end means the byte before it: 0-2T is 2 TB), comma-separated.",
    )(func)


def ram_window(memory: str | None, memory_from: Path | None) -> Window | None:
    """The RMPOPT window of the RAM the memory options give; None when neither is given."""
    from rmpplan.memory import ram_window as window

    return window(memory, memory_from)


def dmesg_option(func: F) -> F:
    return click.option(
        "--dmesg",
        type=click.Path(path_type=Path),
        default=None,
        help="A saved kernel log (dmesg, journalctl, or a journal export) to check "
        "against the prediction; contradictions are dmesg-* findings.",
    )(func)


def worker_option(func: F) -> F:
    """``--leader N``: the one CPU the handler runs on (schedule, explain)."""
    return click.option(
        "--leader",
        "worker",
        type=click.IntRange(0, NR_CPUS_MAX - 1),
        required=True,
        help="The online CPU the handler runs on (the worker).",
    )(func)
