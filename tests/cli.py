"""Running rmpplan in-process the way a user does, for the CLI tests."""

from __future__ import annotations

from click.testing import CliRunner, Result

from rmpplan.cli.main import cli


def run(*args: str) -> Result:
    """Invoke rmpplan with stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_error(result: Result, needle: str = "") -> str:
    """The single stderr line of a bad-input run: exit 2, no traceback, holding ``needle``."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in lines[0]
    return lines[0]
