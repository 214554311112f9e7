"""``rmpplan summary``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rmpplan.cli.collector import paused
from rmpplan.cli.options import (
    BadInput,
    display,
    emit,
    finish,
    format_option,
    input_errors,
)
from rmpplan.terms import OutputFormat


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--expect-shards",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Refuse (exit 2) unless exactly N shard files are given: a shard that never "
    "arrived is not a passing one.",
)
@format_option
@input_errors
@paused
def summary(*, files: tuple[Path, ...], expect_shards: int | None, fmt: OutputFormat) -> None:
    """FILES are the JSON Lines of `rmpplan verify --format jsonl`, such as one
    file per shard of a fleet checked by a batch system (docs/ci.md); `-` reads
    standard input. Their results are counted as one run: the summary `verify`
    ends with, and its exit code: 0 when every result is ok, 1 when one failed,
    2 when one could not be read. Each verdict is computed again from its
    findings. A FILE that is not one whole run of verify's JSON Lines (no
    trailer, lines that do not match it), a shard given twice, an input in two
    shards, or shards made with other settings is an error (exit 2), and so are
    the shards of `verify --shard K/N` unless each K from 1 to N is there once,
    cut from the same list of inputs.
    """
    from rmpplan.render import renderer
    from rmpplan.shards import merge, read_shard, shard_names

    names = shard_names([str(path) for path in files])
    if expect_shards is not None and len(names) != expect_shards:
        gap = expect_shards - len(names)
        what = f"{gap} missing" if gap > 0 else f"{-gap} more than expected"
        raise BadInput(
            f"{len(names)} shard file(s) given, but --expect-shards {expect_shards}: {what}"
        )
    stdin = None if sys.stdin is None else sys.stdin.buffer
    result = merge(read_shard(name, stdin) for name in names)
    emit(renderer(fmt).render_summary(result, display()))
    finish(result.exit_code)
