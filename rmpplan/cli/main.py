"""The ``rmpplan`` command group.

Subcommands are imported only when run, and their modules import the core
inside the command body, so ``rmpplan --help`` costs little more than click.
"""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.util
import inspect
import os
import sys
from typing import Any, NoReturn

import click

from rmpplan import __version__
from rmpplan.cli import streams

# name -> (module, summary). The summary is written only here: the listing shows
# it without importing the command, and a loaded command's short help and the
# first paragraph of its --help are set from it (see _load); the command's
# docstring holds the rest of its help.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("rmpplan.cli.plan", "Build rmpopt_cpumask and the followers of given leaders."),
    "verify": (
        "rmpplan.cli.verify",
        "Prove every core runs RMPOPT exactly once, for every leader.",
    ),
    "summary": (
        "rmpplan.cli.summary",
        "Merge the JSON Lines of verify shards into one summary.",
    ),
    "explain": ("rmpplan.cli.explain", "Replay one handler run on one CPU, step by step."),
    "compare": ("rmpplan.cli.compare", "Verify every handler strategy under every mask rule."),
    "schedule": ("rmpplan.cli.schedule", "Count and cost one RMPOPT pass over the 1 GB window."),
    "import": (
        "rmpplan.cli.import_cmd",
        "Write a topology file from sysfs, a dump, hwloc XML or lscpu.",
    ),
    "show": ("rmpplan.cli.show", "Show packages, dies, cores and threads of a topology."),
    "mask": ("rmpplan.cli.mask", "Convert between kernel cpulists and hex masks."),
    "schema": ("rmpplan.cli.schema", "Print the JSON Schema of topology files."),
}


class _Context(click.Context):
    """click's context, sizing the help without importing shutil (and with it zlib,
    bz2 and lzma), a tenth of what `rmpplan --help` costs beyond importing click."""

    def make_formatter(self) -> click.HelpFormatter:
        width = self.terminal_width
        if width is None and click.formatting.FORCED_WIDTH is None:
            width = max(min(_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


def _columns() -> int:
    """The terminal's width, as ``shutil.get_terminal_size().columns`` gives it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (stdout and os.get_terminal_size(stdout.fileno()).columns) or 80
    except (AttributeError, ValueError, OSError):
        return 80


class LazyGroup(click.Group):
    """A group whose commands are loaded on first use."""

    context_class = _Context

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _available(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(entry[0]):
            return None
        return _load(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Find the command, or fail naming the closest command when there is one."""
        name = args[0]
        # Completion resolves quietly, and an option-like word is click's to re-parse.
        unknown = not name.startswith("-") and self.get_command(ctx, name) is None
        if unknown and not ctx.resilient_parsing:
            import difflib

            from rmpplan.escaping import quote_repr

            message = f"No such command {quote_repr(name)}."
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                message += f" Did you mean {close[0]!r}?"
            raise click.UsageError(message, ctx)
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]  # click overloads main on standalone_mode; ours is int
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,  # Any: as in click's main(), which passes them to make_context
    ) -> int:
        """Run, turning every error into one line on stderr and an exit code."""
        from rmpplan.escaping import printable

        streams.reset()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as done:
            code = done.exit_code
        except click.exceptions.NoArgsIsHelpError as err:
            # `rmpplan` alone: the help is the answer, on stderr as usage errors are.
            code = err.exit_code
            _say(err.ctx.get_help() if err.ctx else err.format_message())
        except click.ClickException as err:
            code = err.exit_code
            message = printable(err.format_message())
            if isinstance(err, click.UsageError) and err.ctx is not None:
                message += f" (see '{err.ctx.command_path} --help')"
            _say(f"rmpplan: error: {message}")
        except click.Abort:
            _say("rmpplan: aborted")
            code = 2
        except Exception as err:  # the last line of defence: one line, never a traceback
            code = _unexpected(err)
        if standalone_mode:
            sys.exit(code)
        return code

    # click turns a broken pipe raised under it into exit 1, a code that means a
    # finding here; everything rmpplan writes goes through options.emit and
    # streams.say, which stop quietly instead, and these catch what click writes
    # itself (--help, --version), whose exit code is 0.
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,  # Any: click's own make_context signature
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            raise _left() from None

    def invoke(self, ctx: click.Context) -> Any:  # Any: what click's Group.invoke returns
        """Run the command, the core's notes and messages naming flags (``--rule``), not
        the core's parameters (``rule``): see rmpplan.naming."""
        from rmpplan.cli.options import spelled
        from rmpplan.naming import naming

        try:
            with naming(spelled):
                return super().invoke(ctx)
        except BrokenPipeError:
            raise _left() from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


DEBUG_VARIABLE = "RMPPLAN_DEBUG"
"""Set to 1 to see the traceback of an unexpected error as well as its one line."""


def _unexpected(err: Exception) -> int:
    """One line for an error no command turned into a message, and its exit code:
    2 when the system refused (an OSError: a path, a device, a full disk), else 3,
    a bug in rmpplan. The traceback only with RMPPLAN_DEBUG=1."""
    from rmpplan.errors import InputError
    from rmpplan.escaping import printable, quote

    if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    if isinstance(err, InputError):
        _say(f"rmpplan: error: {printable(str(err))}")
        return 2
    if isinstance(err, OSError) and err.strerror:
        where = "" if err.filename is None else f"{printable(os.fsdecode(err.filename))}: "
        _say(f"rmpplan: error: {where}{err.strerror}")
        return 2
    _say(
        f"rmpplan: internal error: {type(err).__name__}: {quote(str(err), 200)}; "
        f"please report it with {DEBUG_VARIABLE}=1 output"
    )
    return 3


def _say(line: str) -> None:
    """One line on stderr, quietly dropped when its reader left."""
    streams.say(line)


def _left() -> click.exceptions.Exit:
    """Click's own output (help, version) met a closed stdout: the reader has what
    it wanted, and the code is the one that output ends with."""
    streams.reader_left("stdout")
    return click.exceptions.Exit(0)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@functools.cache
def _load(name: str) -> click.Command:
    """Import the command ``name`` once and give it its summary from COMMANDS."""
    module_name, summary = COMMANDS[name]
    module = importlib.import_module(module_name)
    # `import` is a Python keyword, so its function is `import_`.
    attribute = name.replace("-", "_")
    command = getattr(module, attribute, None) or getattr(module, attribute + "_")
    assert isinstance(command, click.Command)
    body = inspect.cleandoc(command.help or "")
    command.short_help = summary
    command.help = f"{summary}\n\n{body}" if body else summary
    return command


EPILOG = """\b
Exit codes: 0 ok; 1 a check found a problem; 2 bad usage or bad input;
3 a bug in rmpplan (please report it with RMPPLAN_DEBUG=1 output).
A reader that leaves early (| head) changes none of them.
Docs: docs/cli.md, docs/topology-format.md."""


@click.group(
    name="rmpplan",
    cls=LazyGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="rmpplan")
def cli() -> None:
    """Plan and prove how AMD's RMPOPT instruction is spread over a machine's CPUs."""


def entry() -> NoReturn:
    """The console script and ``python -m rmpplan``: run, then end the process."""
    code = main()
    # Nothing made from here on is freed before the exit, so what is alive is frozen
    # and the interpreter's last collection has nothing to walk (collector.py).
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting."""
    try:
        return cli.main(args=argv, prog_name="rmpplan", standalone_mode=False)
    except BrokenPipeError:
        # Shell completion writes before any command runs: its reader left.
        streams.reader_left("stdout")
        return 0
