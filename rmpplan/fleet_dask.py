"""``verify --executor dask``: a fleet checked by the workers of a Dask cluster.

Dask's distributed scheduler does the scheduling; this module only sends it
batches of :class:`~rmpplan.fleet.Job` and takes their results back in order.

- The contract: ``verify`` lists the inputs where it runs, and the workers read
  them at those same paths. Relative paths are read from the worker's working
  folder, so a worker started elsewhere says so for each input (exit 2) instead
  of reading other files.
- A bounded window of batches is in flight and results are taken oldest first,
  so they stream in path order and the client holds a few batches, however many
  inputs there are.
- A batch whose worker dies is run again by Dask on another worker, up to the
  scheduler's ``allowed-failures``; past that it is reported: each of its inputs
  is an error naming it (exit 2), never a pass. A batch whose task raises is
  run again :data:`RETRIES` times (Dask's ``retries``); an error of rmpplan's
  own then stops the run (exit 3), as it does with ``--jobs``.

``distributed`` is an optional dependency (``pip install 'rmpplan[dask]'``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.escaping import quote
from rmpplan.fleet import Checker, Done, Job, Settings, failure
from rmpplan.naming import named

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

INSTALL = "pip install 'rmpplan[dask]'"
RETRIES = 2
"""Times a batch whose task raised is run again (an input's error is its result, not this)."""
AHEAD = 4
"""Batches in flight per worker thread: enough to keep every worker busy."""
CONNECT_SECONDS = 30


def require() -> None:
    """Refuse, in one line, when the ``dask`` extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(
            f"{named('executor')} dask needs Dask's distributed scheduler: {INSTALL}"
        ) from None


class DaskExecutor:
    """A connection to a Dask scheduler (or a local cluster it started)."""

    def __init__(self, client: Client, cluster: LocalCluster | None) -> None:
        self._client = client
        self._cluster = cluster

    @classmethod
    def start(cls, scheduler: str | None, workers: int) -> DaskExecutor:
        """Connect to ``scheduler``, or start a local cluster of ``workers`` processes."""
        require()
        from distributed import Client, LocalCluster

        if scheduler is None:
            try:
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: 8787 may be another cluster's
                    # A lost worker is reported as its inputs' errors, one line each.
                    silence_logs=logging.CRITICAL,
                )
            except (OSError, TimeoutError) as err:
                raise InputError(
                    f"cannot start a local Dask cluster of {workers} workers: "
                    f"{quote(str(err) or type(err).__name__, 200)}"
                ) from None
            return cls(Client(cluster, set_as_default=False), cluster)
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, ValueError, TypeError) as err:
            raise InputError(
                f"cannot reach the Dask scheduler at '{quote(scheduler, 200)}': "
                f"{quote(str(err) or type(err).__name__, 200)}"
            ) from None
        try:
            # Without a worker, every batch would wait for one, and the run would hang.
            client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as err:
            client.close()
            raise InputError(
                f"the Dask scheduler at '{quote(scheduler, 200)}' has no workers "
                f"after {CONNECT_SECONDS} s ({type(err).__name__})"
            ) from None
        return cls(client, None)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def results(self, jobs: Sequence[Job], settings: Settings) -> Iterator[Done]:
        if not jobs:
            return
        client = self._client
        threads = max(1, sum(client.nthreads().values()))
        # Sent with every batch, not scattered once: data scattered to a worker that dies
        # is lost for good, where a task's arguments are sent again with it.
        run = run_of(settings)
        here = str(Path.cwd())
        pending: deque[tuple[Sequence[Job], Future]] = deque()
        for batch in _batches(jobs, threads):
            future = client.submit(check_batch, batch, run, here, retries=RETRIES, pure=False)
            pending.append((batch, future))
            if len(pending) >= threads * AHEAD:
                yield from _taken(*pending.popleft())
        while pending:
            yield from _taken(*pending.popleft())


def _batches(jobs: Sequence[Job], threads: int) -> Iterator[Sequence[Job]]:
    """Batches small enough to keep every worker busy and results flowing, large
    enough that a task's round trip to the scheduler costs little."""
    size = max(1, min(16, len(jobs) // (threads * 8)))
    for start in range(0, len(jobs), size):
        yield jobs[start : start + size]


def _taken(batch: Sequence[Job], future: Future) -> list[Done]:
    """The results of ``batch``; each of its inputs an error when the cluster lost it."""
    from distributed import KilledWorker

    try:
        done: list[Done] = future.result()
    except (KilledWorker, CancelledError, OSError) as err:
        why = InputError(
            "not checked: the Dask cluster lost it "
            f"({type(err).__name__}: {quote(str(err), 160)}); it is not counted as ok"
        )
        return [failure(job.label, why, 0.0) for job in batch]
    finally:
        future.release()
    return done


@dataclass(frozen=True, slots=True)
class Run:
    """One run's settings, and a key that names them on every worker."""

    settings: Settings
    key: str


def run_of(settings: Settings) -> Run:
    return Run(settings, hashlib.blake2b(pickle.dumps(settings), digest_size=16).hexdigest())


# Each worker's checker per run, so that a shape is checked once per worker, not per batch.
_CHECKERS: dict[str, Checker] = {}
_KEPT = 4


def check_batch(jobs: Sequence[Job], run: Run, folder: str) -> list[Done]:
    """Run on a worker: each job's result, read from the worker's file system."""
    relative = any(
        not job.target.is_absolute()
        or (job.companion is not None and not job.companion.is_absolute())
        for job in jobs
    )
    if relative and str(Path.cwd()) != folder:
        why = InputError(
            f"not checked: the Dask worker runs in '{quote(str(Path.cwd()), 200)}', not in "
            f"'{quote(folder, 200)}' where verify listed it; start the workers there or "
            "give verify absolute paths"
        )
        return [failure(job.label, why, 0.0) for job in jobs]
    checker = _CHECKERS.get(run.key)
    if checker is None:
        while len(_CHECKERS) >= _KEPT:
            del _CHECKERS[next(iter(_CHECKERS))]
        checker = _CHECKERS[run.key] = Checker(run.settings)
    return [checker.check(job) for job in jobs]
