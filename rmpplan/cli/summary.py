"""``rmpplan summary``."""

from __future__ import annotations

from pathlib import Path

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.options import display, emit, finish, format_option, input_errors
from rmpplan.terms import OutputFormat


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option
@input_errors
@paused
def summary(*, files: tuple[Path, ...], fmt: OutputFormat) -> None:
    """FILES are the JSON Lines of `rmpplan verify --format jsonl`, such as one
    file per shard of a fleet checked by a batch system (docs/ci.md). Their
    results are counted as one run: the summary `verify` ends with, and its
    exit code: 0 when every result is ok, 1 when one failed, 2 when one could
    not be read. A FILE that is not verify's JSON Lines is an error (exit 2).
    """
    from rmpplan.fleet import read_results, summarize
    from rmpplan.render import renderer

    tallies = [tally for path in files for tally in read_results(path)]
    result = summarize(tallies)
    emit(renderer(fmt).render_summary(result, display()))
    finish(result.exit_code)
