"""Options and error handling shared by the subcommands (click only)."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "text", "markdown")
RULES = ("first-sibling", "apic-primary")
STRATEGIES = ("v9-andnot", "v8-three-way", "clear-cpu", "v2-all-cpus")


class BadInput(click.ClickException):
    """Bad input or usage: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"rmpplan: error: {self.format_message()}", err=True, file=file)


def input_errors(func: F) -> F:
    """Turn the core's InputError into BadInput, once, at the edge, naming the
    command's topology when the error does not name a file itself."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rmpplan.errors import InputError

        try:
            return func(*args, **kwargs)
        except InputError as err:
            topology = kwargs.get("topo", kwargs.get("source"))
            located = err.located(None if topology is None else str(topology))
            raise BadInput(str(located)) from None

    return wrapper  # type: ignore[return-value]


def format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format: rich table, stable JSON, plain text or Markdown.",
    )(func)


def rule_option(func: F) -> F:
    return click.option(
        "--rule",
        type=click.Choice(RULES),
        default="first-sibling",
        show_default=True,
        help="How rmpopt_cpumask picks one thread per core.",
    )(func)


def strategy_option(func: F) -> F:
    return click.option(
        "--strategy",
        type=click.Choice(STRATEGIES),
        default="v9-andnot",
        show_default=True,
        help="Which version of the RMPOPT handler to model.",
    )(func)


def display() -> Any:
    """Colour only on a terminal and without NO_COLOR; never wrap off a terminal."""
    from rmpplan.render.common import Display

    tty = sys.stdout.isatty()
    color = tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    width = shutil.get_terminal_size().columns if tty else None
    return Display(color=color, width=width)


def emit(text: str) -> None:
    click.echo(text, nl=False)


def warn(message: str) -> None:
    click.echo(f"rmpplan: warning: {message}", err=True)


def finish(code: int) -> None:
    """End the command with ``code`` (0 ok, 1 a check found a problem)."""
    click.get_current_context().exit(code)


def hotplug_options(func: F) -> F:
    func = click.option(
        "--online-after-setup",
        metavar="CPULIST",
        default=None,
        help="Offline CPUs that come online after the mask and MSRs are set up.",
    )(func)
    return click.option(
        "--offline-after-setup",
        metavar="CPULIST",
        default=None,
        help="Online CPUs that go offline after setup, before the handler runs.",
    )(func)


def hotplug_of(machine: Any, offline: str | None, online: str | None) -> Any:
    """The hotplug scenario: the topology file's, with each given flag replacing its list."""
    from rmpplan.checks import Hotplug
    from rmpplan.cpumask import parse_cpulist
    from rmpplan.errors import InputError

    if offline is None and online is None:
        return Hotplug.of(machine)
    # Each flag replaces the file's list of the same kind and keeps the other.
    from_file = Hotplug.of(machine) or Hotplug()

    def cpus(flag: str, value: str | None, default: frozenset[int]) -> frozenset[int]:
        if value is None:
            return default
        try:
            return parse_cpulist(value)
        except InputError as err:
            raise InputError(f"{flag}: {err.message}") from None

    return Hotplug(
        cpus("--offline-after-setup", offline, from_file.offline_after_setup),
        cpus("--online-after-setup", online, from_file.online_after_setup),
    )


INPUT_FORMATS = ("topology", "sysfs", "tarball", "hwloc-xml", "lscpu-json", "lscpu-csv")


def input_format_option(func: F) -> F:
    return click.option(
        "--input-format",
        type=click.Choice(INPUT_FORMATS),
        default=None,
        help="Force the kind of input instead of detecting it from its content.",
    )(func)


def note(message: str) -> None:
    """A status line for a person, on stderr so that stdout stays data."""
    click.echo(f"rmpplan: {message}", err=True)
