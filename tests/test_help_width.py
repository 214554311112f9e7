"""`rmpplan --help` sizes its text as click would, without importing shutil."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from rmpplan.cli.main import cli


def width(context_class: type[click.Context]) -> int:
    """The width the help of ``rmpplan`` is wrapped at, under ``context_class``."""
    return context_class(cli).make_formatter().width


@pytest.mark.parametrize("columns", [None, "", "0", "-5", "abc", "40", "60", "79", "100", "300"])
def test_help_width_is_clicks(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever COLUMNS says (or without it), the width is the one click's own
    context takes from shutil.get_terminal_size()."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert click.formatting.FORCED_WIDTH is None
    assert cli.context_class is not click.Context
    assert width(cli.context_class) == width(click.Context)


def test_help_imports_no_shutil() -> None:
    """A fresh `rmpplan --help` prints its help and never imports shutil."""
    probe = (
        "import sys\n"
        "from rmpplan.cli.main import main\n"
        "code = main(['--help'])\n"
        "print('shutil' in sys.modules, code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stdout.startswith("Usage: rmpplan")
    assert done.stdout.splitlines()[-1] == "False 0"
