"""A Dask preload for the tests' clusters: the worker process dies (as one the OOM
killer ends does) while it checks the input named in RMPPLAN_TEST_LOSE, each time,
or only the first time when RMPPLAN_TEST_LOSE_ONCE names a file to mark it by."""

from __future__ import annotations

import os
from pathlib import Path

from rmpplan.fleet import Checker, Done, Job


def dask_setup(worker: object) -> None:
    """Run by each worker process as it starts, a restarted one too."""
    lost = os.environ.get("RMPPLAN_TEST_LOSE")
    once = os.environ.get("RMPPLAN_TEST_LOSE_ONCE")
    check = Checker.check

    def dying(self: Checker, job: Job) -> Done:
        if job.label == lost and (once is None or not Path(once).exists()):
            if once is not None:
                Path(once).touch()
            os._exit(1)
        return check(self, job)

    Checker.check = dying  # type: ignore[method-assign]
