"""Running rmpplan in-process the way a user does, for the CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    """rmpplan in a child process from the project root with a 10 s timeout, so that
    a hang fails the test instead of stalling the suite."""
    return subprocess.run(
        [sys.executable, "-m", "rmpplan", *args],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
