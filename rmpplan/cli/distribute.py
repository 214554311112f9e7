"""``verify``'s options for fleets past one machine: --shard, --executor, --scheduler."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from rmpplan.cli.options import F
from rmpplan.shards import ShardMark, ShardSpec

if TYPE_CHECKING:
    from rmpplan.fleet import Done, Executor, Job

PROCESSES = "processes"
DASK = "dask"


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


@dataclass(slots=True)
class Spread:
    """How one ``verify`` spreads its inputs: which shard it checks, and where."""

    shard: ShardSpec | None
    processes: int
    """The processes of this machine's pool, or the workers of a local Dask cluster."""
    executor: Executor | None
    mark: ShardMark | None = None
    """What the trailer records of the shard, known once the inputs are listed."""

    def inputs(self, items: Iterable[Job | Done]) -> Iterable[Job | Done]:
        """The items of this run's shard (all of them without --shard)."""
        if self.shard is None:
            return items
        from rmpplan.shards import select

        kept, self.mark = select(items, self.shard)
        return kept


def spread(
    shard: ShardSpec | None, name: str, scheduler: str | None, jobs: int | None, processes: int
) -> Spread:
    """The options' :class:`Spread`, its executor started."""
    return Spread(shard, processes, executor_for(name, scheduler, jobs, processes))


def executor_for(
    name: str, scheduler: str | None, jobs: int | None, processes: int
) -> Executor | None:
    """The executor ``--executor`` names, started (None: the process pool of ``run``).

    Closed with the command's context, so that a local cluster never outlives it."""
    from rmpplan.cli.options import BadInput

    if name == PROCESSES:
        if scheduler is not None:
            raise BadInput("--scheduler goes with --executor dask")
        return None
    if scheduler is not None and jobs is not None:
        raise BadInput(
            "--jobs sets the workers of the local Dask cluster; a --scheduler's cluster "
            "has its own workers: give one of them"
        )
    from rmpplan.fleet_dask import DaskExecutor

    executor = DaskExecutor.start(scheduler, processes)
    click.get_current_context().call_on_close(executor.close)
    return executor
