"""The ``rmpplan`` command group.

Subcommands are imported only when run, and their modules import the core
inside the command body, so ``rmpplan --help`` costs little more than click.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from rmpplan import __version__

# name -> (module, short help). The help is here so that listing commands
# does not import them.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("rmpplan.cli.plan", "Build rmpopt_cpumask and the followers of given leaders."),
    "verify": (
        "rmpplan.cli.verify",
        "Prove every core runs RMPOPT exactly once, for every leader.",
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


class LazyGroup(click.Group):
    """A group whose commands are loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _available(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(entry[0]):
            return None
        module = importlib.import_module(entry[0])
        # `import` is a Python keyword, so its function is `import_`.
        attribute = cmd_name.replace("-", "_")
        command = getattr(module, attribute, None) or getattr(module, attribute + "_")
        assert isinstance(command, click.Command)
        return command

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        """Run, turning every click error into one line on stderr and an exit code."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as done:
            code = done.exit_code
        except click.exceptions.NoArgsIsHelpError as err:
            # `rmpplan` alone: the help is the answer, on stderr as usage errors are.
            code = err.exit_code
            click.echo(err.ctx.get_help() if err.ctx else err.format_message(), err=True)
        except click.ClickException as err:
            code = err.exit_code
            message = err.format_message()
            if isinstance(err, click.UsageError) and err.ctx is not None:
                message += f" (see '{err.ctx.command_path} --help')"
            click.echo(f"rmpplan: error: {message}", err=True)
        except click.Abort:
            click.echo("rmpplan: aborted", err=True)
            code = 2
        if standalone_mode:
            sys.exit(code)
        return code

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


EPILOG = """\b
Exit codes: 0 ok; 1 a check found a problem; 2 bad usage or bad input.
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting."""
    try:
        return cli.main(args=argv, prog_name="rmpplan", standalone_mode=False)
    except BrokenPipeError:
        # `rmpplan plan … | head`: the reader left, which is not an error of ours.
        sys.stderr.close()
        return 0
