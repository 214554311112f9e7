"""verify --executor dask on a real distributed.LocalCluster over loopback: the same
output as --jobs, in path order, a bounded window of work in flight, and an input
whose work the cluster lost reported (exit 2), never counted as ok."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from rmpplan.fleet import Checker, Done, Job, Settings
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT, TOPOLOGIES

PATHS = (str(TOPOLOGIES), str(EXAMPLES), str(EXAMPLES / "missing.yaml"))
LOST = str(EXAMPLES / "nosmt.yaml")  # an input whose work a test makes the cluster lose


def require_dask() -> None:
    """Skip with the reason where the dask extra is absent; fail in CI, which installs it."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        reason = "the dask extra is not installed (pip install 'rmpplan[dask]')"
        if os.environ.get("CI") == "true" or os.environ.get("RMPPLAN_REQUIRE_SHARED") == "1":
            pytest.fail(reason + ", and CI or RMPPLAN_REQUIRE_SHARED=1 needs it")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster of 2 single-threaded workers in this process, over TCP on loopback."""
    require_dask()
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        yield str(cluster.scheduler_address)


def jsonl(*args: str) -> tuple[str, int]:
    result = run("verify", *args, "--format", "jsonl")
    return result.stdout, result.exit_code


@pytest.fixture(scope="module")
def by_processes() -> tuple[str, int]:
    """What --jobs prints, the output every executor must print."""
    return jsonl(*PATHS, "--jobs", "2")


def test_the_output_is_that_of_jobs(scheduler: str, by_processes: tuple[str, int]) -> None:
    """Byte for byte, in path order, with the same exit code (a missing input: 2)."""
    out, code = jsonl(*PATHS, "--executor", "dask", "--scheduler", scheduler)
    assert (out, code) == by_processes
    assert code == 2
    table = run("verify", *PATHS, "--executor", "dask", "--scheduler", scheduler)
    assert table.stdout == run("verify", *PATHS, "--jobs", "1").stdout


def test_a_shard_on_the_cluster_is_that_shard(scheduler: str) -> None:
    assert jsonl(*PATHS, "--shard", "2/3", "--executor", "dask", "--scheduler", scheduler) == (
        jsonl(*PATHS, "--shard", "2/3", "--jobs", "1")
    )


def test_a_bounded_window_of_batches_is_in_flight(scheduler: str) -> None:
    """However many inputs, at most AHEAD batches per worker thread are submitted before
    the oldest is taken; results come one by one, in order."""
    from distributed import Client

    from rmpplan.fleet_dask import AHEAD, DaskExecutor
    from rmpplan.kernel import modelled

    target = TOPOLOGIES / "single-core.yaml"
    jobs = [Job(f"host{index:04}", target) for index in range(600)]
    client = Client(scheduler, set_as_default=False)
    submitted = 0
    real_submit = client.submit

    def submit(*args: object, **kwargs: object) -> object:
        nonlocal submitted
        submitted += 1
        return real_submit(*args, **kwargs)

    client.submit = submit
    executor = DaskExecutor(client, None)
    try:
        labels = []
        widest = 0
        for done in executor.results(jobs, Settings(modelled(None, None, None))):
            labels.append(done.checked.path)
            size = max(1, min(16, len(jobs) // (2 * 8)))
            taken = -(-len(labels) // size)
            widest = max(widest, submitted - taken)
            assert done.checked.ok
    finally:
        client.close()
    assert labels == [job.label for job in jobs]
    assert 1 < widest <= 2 * AHEAD
    assert submitted > 2 * AHEAD  # more batches than the window: the bound was reached


def lose(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """Make the cluster fail the batch holding LOST ``times`` times (as a worker lost
    under it does); returns the labels each failure hit."""
    from distributed import KilledWorker

    real_check = Checker.check
    hits: list[str] = []

    def check(self: Checker, job: Job) -> Done:
        if job.label == LOST and len(hits) < times:
            hits.append(job.label)
            worker = SimpleNamespace(address="tcp://127.0.0.1:1")  # the worker that died
            raise KilledWorker(task="check_batch", last_worker=worker, allowed_failures=3)
        return real_check(self, job)

    monkeypatch.setattr(Checker, "check", check)
    return hits


def test_a_lost_batch_is_retried(
    scheduler: str, by_processes: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lost twice, the batch is run again by Dask and its inputs checked as usual."""
    hits = lose(monkeypatch, 2)
    assert jsonl(*PATHS, "--executor", "dask", "--scheduler", scheduler) == by_processes
    assert hits == [LOST, LOST]


def test_a_batch_lost_for_good_is_exit_2_naming_the_input(
    scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lost past its retries: each input of the batch is an error, never ok, and the
    others are checked as usual."""
    # LOST alone in its batch: the fleet is small, so batches hold one input each.
    hits = lose(monkeypatch, 100)
    lost = run(
        "verify",
        LOST,
        str(TOPOLOGIES),
        "--format",
        "jsonl",
        "--executor",
        "dask",
        "--scheduler",
        scheduler,
    )
    assert len(hits) == 3  # the first run and RETRIES more
    assert lost.exit_code == 2
    assert f"rmpplan: error: {LOST}: not checked: the Dask cluster lost it" in lost.stderr
    records = [json.loads(line) for line in lost.stdout.splitlines()]
    first, *rest, trailer = records
    assert first["path"] == LOST and first["ok"] is False and "lost it" in first["error"]
    assert trailer["summary"]["bad_input"] == 1
    assert trailer["summary"]["ok"] == len(rest) == trailer["summary"]["files"] - 1


@pytest.fixture
def dying_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[bool], str]]:
    """A LocalCluster of one worker process under a nanny, whose process dies while it
    checks LOST (tests/dask_worker_loss.py), every time or only once."""
    require_dask()
    import dask
    from distributed import LocalCluster

    clusters: list[LocalCluster] = []

    def start(once: bool) -> str:
        monkeypatch.setenv("RMPPLAN_TEST_LOSE", LOST)
        if once:
            monkeypatch.setenv("RMPPLAN_TEST_LOSE_ONCE", str(tmp_path / "lost-once"))
        # A task whose worker dies twice is lost for good (Dask's default is 3 times).
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                protocol="tcp",
                host="127.0.0.1",
                dashboard_address=":0",
                preload=["tests.dask_worker_loss"],
            )
        clusters.append(cluster)
        return str(cluster.scheduler_address)

    yield start
    for cluster in clusters:
        cluster.close()


def test_a_worker_that_dies_is_replaced_and_its_inputs_checked(
    dying_cluster: Callable[[bool], str], by_processes: tuple[str, int]
) -> None:
    """The worker process dies under LOST once: Dask runs the batch again on the new one."""
    scheduler = dying_cluster(True)
    assert jsonl(*PATHS, "--executor", "dask", "--scheduler", scheduler) == by_processes


def test_a_worker_that_always_dies_is_exit_2_naming_the_input(
    dying_cluster: Callable[[bool], str],
) -> None:
    """Every worker dies under LOST: it is reported, never ok; the rest are checked."""
    scheduler = dying_cluster(False)
    lost = run("verify", LOST, str(TOPOLOGIES), "--format", "jsonl", *on(scheduler))
    assert lost.exit_code == 2
    assert lost.stderr.startswith(f"rmpplan: error: {LOST}: not checked: the Dask cluster lost")
    assert "KilledWorker" in lost.stderr
    first, *rest, trailer = map(json.loads, lost.stdout.splitlines())
    assert first["path"] == LOST and first["ok"] is False and "lost it" in first["error"]
    # A batch queued on a worker when it dies is suspected with it, and may be lost too:
    # reported as well, never ok.
    assert all(entry["ok"] or "lost it" in entry["error"] for entry in rest)
    counts = trailer["summary"]
    assert counts["files"] == len(rest) + 1 == len(list(TOPOLOGIES.glob("*.yaml"))) + 1
    assert counts["ok"] + counts["bad_input"] == counts["files"]
    assert counts["ok"] == sum(entry["ok"] for entry in rest)


def on(scheduler: str) -> tuple[str, ...]:
    return ("--executor", "dask", "--scheduler", scheduler)


def test_a_bug_on_a_worker_is_not_hidden(scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception of rmpplan's own (not a lost worker) is exit 3, a bug, as with --jobs."""

    def check(self: Checker, job: Job) -> Done:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(Checker, "check", check)
    result = run("verify", str(TOPOLOGIES), "--executor", "dask", "--scheduler", scheduler)
    assert result.exit_code == 3
    assert "internal error: ZeroDivisionError: a bug" in result.stderr


def test_a_worker_in_another_folder_reads_nothing() -> None:
    """Relative paths name other files from another working folder: refused, per input."""
    from rmpplan.fleet_dask import check_batch, run_of
    from rmpplan.kernel import modelled

    jobs = [Job("topologies/single-core.yaml", Path("topologies/single-core.yaml"))]
    done = check_batch(jobs, run_of(Settings(modelled(None, None, None))), "/elsewhere")
    assert [item.checked.ok for item in done] == [False]
    assert "the Dask worker runs in" in str(done[0].checked.error)
    assert "not in '/elsewhere'" in str(done[0].checked.error)


LOCAL = ("--format", "jsonl", "--executor", "dask", "--jobs", "2")


def test_a_local_cluster_when_no_scheduler_is_named(by_processes: tuple[str, int]) -> None:
    """verify starts (and stops) a LocalCluster of --jobs worker processes."""
    require_dask()
    child = subprocess.run(
        [sys.executable, "-m", "rmpplan", "verify", *PATHS, *LOCAL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert (child.stdout, child.returncode) == by_processes
    assert child.stderr.splitlines() == [f"rmpplan: error: {PATHS[2]}: no such file"]


def test_without_the_extra_one_line_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    one_error(run("verify", str(TOPOLOGIES), "--executor", "dask"), "pip install 'rmpplan[dask]'")


def test_an_unreachable_scheduler_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    require_dask()
    monkeypatch.setattr("rmpplan.fleet_dask.CONNECT_SECONDS", 1)
    one_error(
        run("verify", str(TOPOLOGIES), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"),
        "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'",
    )


def test_a_scheduler_without_workers_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run on a cluster with no worker would wait for one for ever."""
    require_dask()
    from distributed import LocalCluster

    monkeypatch.setattr("rmpplan.fleet_dask.CONNECT_SECONDS", 1)
    with LocalCluster(
        n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        address = str(cluster.scheduler_address)
        one_error(run("verify", str(TOPOLOGIES), *on(address)), "has no workers after 1 s")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--scheduler", "tcp://127.0.0.1:8786"), "--scheduler goes with --executor dask"),
        (
            ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"),
            "--jobs sets the workers of the local Dask cluster",
        ),
        (("--executor", "spark"), "'spark' is not one of"),
    ],
)
def test_options_that_do_not_go_together(args: tuple[str, ...], needle: str) -> None:
    one_error(run("verify", str(TOPOLOGIES), *args), needle)


def test_help_states_the_contract() -> None:
    out = " ".join(run("verify", "--help").stdout.split())
    assert "pip install 'rmpplan[dask]'" in out
    assert "same files at the same paths" in out
