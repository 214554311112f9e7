"""``verify``'s options for fleets past one machine: --shard, --executor, --scheduler."""

from __future__ import annotations

import click

from rmpplan.cli.options import F
from rmpplan.shards import ShardSpec
from rmpplan.verify_run import DASK, PROCESSES


class ShardType(click.ParamType[ShardSpec]):
    """``K/N``, checked when the command line is read."""

    name = "K/N"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> ShardSpec:
        from rmpplan.errors import InputError

        if isinstance(value, ShardSpec):
            return value
        try:
            return ShardSpec.parse(str(value))
        except InputError as err:
            self.fail(err.message, param, ctx)


def distribute_options(func: F) -> F:
    func = click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="With --executor dask: the Dask scheduler to use, such as tcp://HOST:8786 "
        "(default: a local cluster of --jobs worker processes).",
    )(func)
    func = click.option(
        "--executor",
        type=click.Choice([PROCESSES, DASK]),
        default=PROCESSES,
        show_default=True,
        help="Where inputs are checked: processes on this machine (--jobs), or the workers "
        "of a Dask cluster (pip install 'rmpplan[dask]'). Dask's workers read the inputs "
        "themselves, at the paths verify lists here: they must see the same files at the "
        "same paths (a shared file system, workers started in this folder, or absolute "
        "paths). The output does not depend on it.",
    )(func)
    return click.option(
        "--shard",
        type=ShardType(),
        default=None,
        help="Check only shard K of N (K from 1 to N; a Kubernetes indexed Job's "
        "JOB_COMPLETION_INDEX is K - 1): the inputs whose path's SHA-256 modulo N is K - 1. "
        "Run every shard on the same PATHS from the same folder; `rmpplan summary` merges "
        "the shards' --format jsonl and refuses a missing or repeated one.",
    )(func)
