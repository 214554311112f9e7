"""``verify`` over many inputs: each input's small result, shared work, in parallel.

A fleet is mostly copies of a few machines under many names. So:

- A result keeps :class:`~rmpplan.checks.MachineFacts`, never the machine,
  and the machine is dropped as soon as its verdict is known.
- Inputs are keyed by a :func:`fingerprint` of everything the checks read
  (each CPU's package, die, core, online state and APIC id, the possible set,
  the hotplug scenario, the modelled kernel, rule and strategy, and the
  kernel log), never by name or path, and each shape is verified once per
  process. Verdicts name no machine (their messages speak of CPUs and cores),
  so one verdict serves every input of its shape; with ``--dmesg``, whose
  findings name the machine, there is only one input and nothing is shared.
- A topology file is first keyed by its parsed content without ``name``: a
  file already seen that way is not even expanded into a machine again. A dump
  tarball is walked, then keyed by what the sysfs reader can read of it
  (:meth:`~rmpplan.sources.archive.TarTree.content_key`: cpuinfo's MHz lines
  are not read), and one already seen that way is not read into a machine.
- Inputs run in a process pool (:func:`run`); results come back in input
  order whatever the number of processes, each as soon as it and every input
  before it are known.
"""

from __future__ import annotations

import gc
import hashlib
import json
import signal
import statistics
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rmpplan.checks import Checked, MachineFacts, Verdict
from rmpplan.errors import InputError, ParameterError
from rmpplan.naming import named, names_from, naming
from rmpplan.terms import Check, InputFormat

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from rmpplan.cpuspec import CpuSpec
    from rmpplan.dmesg import KernelLog
    from rmpplan.hotplug import Hotplug
    from rmpplan.kernel import Modelled
    from rmpplan.memory import Window
    from rmpplan.topology.machine import Machine

COLLECT_EVERY = 256
"""Inputs between two collections of the young generation while automatic
collection is off (``rmpplan.cli.collector``): a long run stays flat."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What every input of one run is checked under (sent once to each process)."""

    model: Modelled
    input_format: InputFormat | None = None
    offline_after_setup: CpuSpec | None = None
    online_after_setup: CpuSpec | None = None
    log: KernelLog | None = None
    window: Window | None = None
    names: tuple[tuple[str, str], ...] = ()
    """How the caller names each parameter in errors and notes (the command line: its
    flags); see :mod:`rmpplan.naming`."""


@dataclass(frozen=True, slots=True)
class Job:
    """One input to check: the label it is reported under and the file to read.

    ``companion`` is the hwloc XML that ``hwloc-gather-topology`` wrote beside
    the dump tarball ``target`` (:mod:`rmpplan.sources.gather`).
    """

    label: str
    target: Path
    expect: frozenset[Check] = frozenset()
    companion: Path | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """One input's result, the seconds it took, and its error line for stderr."""

    checked: Checked
    seconds: float
    complaint: str | None = None


def _canonical(value: object) -> object:
    """``value`` as nested tuples that print the same for equal values (sets sorted)."""
    if is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(_canonical(getattr(value, item.name)) for item in fields(value)),
        )
    if isinstance(value, frozenset | set):
        return tuple(sorted((_canonical(item) for item in value), key=repr))
    if isinstance(value, tuple | list):
        return tuple(_canonical(item) for item in value)
    return value


def fingerprint(machine: Machine, settings: Settings, hotplug: Hotplug) -> str:
    """The shape of ``machine`` as the checks see it under ``settings``: equal for
    two machines exactly when every check reads the same facts of both.

    Not the name, source or path. The core a CPU is in (package, die, core)
    decides its sibling set and, through the core's label, the findings' text.
    """
    model = settings.model
    digest = hashlib.blake2b(digest_size=12)
    digest.update(
        repr(
            (
                (
                    str(model.kernel),
                    str(model.rule),
                    str(model.strategy),
                    model.overrides,
                    model.judge_landed,
                ),
                sorted(hotplug.offline_after_setup),
                sorted(hotplug.online_after_setup),
                sorted(machine.possible),
                _canonical(settings.log),
                _canonical(settings.window),
            )
        ).encode()
    )
    digest.update(
        repr(
            [
                (cpu.id, cpu.package, cpu.die, cpu.core, cpu.online, cpu.apic_id)
                for cpu in machine.cpus.values()
            ]
        ).encode()
    )
    return digest.hexdigest()


def _document(target: Path, settings: Settings) -> tuple[str, str] | None:
    """A topology file's key (its parsed content without ``name``) and the name
    it gives its machine; None for any other input or one that does not parse
    (loading it again then says what is wrong)."""
    from rmpplan.inputs import input_format_of, resolve_input
    from rmpplan.topology.load import read_text
    from rmpplan.topology.parse import load_json, load_yaml

    try:
        found = resolve_input(target)
        if input_format_of(found, settings.input_format) is not InputFormat.TOPOLOGY:
            return None
        text = read_text(found)
        data = load_json(text) if found.suffix.lower() == ".json" else load_yaml(text)
    except InputError:
        return None
    if not isinstance(data, dict):
        return None
    name = data.get("name")
    if name is None:
        name = found.stem
    if not isinstance(name, str):
        return None
    # Neither the name nor where it was read from changes what the checks see.
    content = {key: value for key, value in data.items() if key not in ("name", "source")}
    key = json.dumps(content, sort_keys=True, default=repr)
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest(), name


class Checker:
    """Checks inputs one at a time, sharing work between inputs of one shape."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.shared = settings.log is None  # a log's findings name its machine
        self.verdicts: dict[str, Verdict] = {}
        self.documents: dict[str, tuple[MachineFacts, str]] = {}
        self.count = 0
        self.tarballs = 0  # dump tarballs walked here (the tests count them)
        # A process of the pool or of a Dask cluster names parameters as its caller does.
        self.naming = names_from(settings.names)

    def check(self, job: Job) -> Done:
        started = time.perf_counter()
        self.count += 1
        if self.count % COLLECT_EVERY == 0 and not gc.isenabled():
            gc.collect(0)
        try:
            with naming(self.naming):
                checked = self._check(job)
        except InputError as err:
            return failure(job.label, err, time.perf_counter() - started)
        except _Unchecked as unchecked:
            return failure(
                job.label, unchecked.error, time.perf_counter() - started, unchecked.facts
            )
        return Done(checked, time.perf_counter() - started)

    def _check(self, job: Job) -> Checked:
        document = None
        if self.shared and job.companion is None:
            document = _document(job.target, self.settings)
        if document is not None and document[0] in self.documents:
            facts, shape = self.documents[document[0]]
            verdict = self.verdicts[shape]
            facts = replace(facts, name=document[1])
            return Checked(job.label, verdict=verdict, expect=job.expect, facts=facts, shape=shape)
        walked = None
        if self.shared and job.companion is None and document is None:
            tarball = self._tarball(job)
            if isinstance(tarball, Checked):
                return tarball
            walked = tarball
        if walked is not None:
            document, machine = walked
        else:
            machine = self._load(job)
        facts = MachineFacts.of(machine)
        try:
            verdict, shape = self._prove(machine)
        except InputError as err:
            # Read but not checkable (a flag naming a CPU it lacks): keep its name.
            raise _Unchecked(err, facts) from None
        if document is not None:
            self.documents[document[0]] = (facts, shape)
        return Checked(job.label, verdict=verdict, expect=job.expect, facts=facts, shape=shape)

    def _tarball(self, job: Job) -> Checked | tuple[tuple[str, str], Machine] | None:
        """A dump tarball's result when one of the same content (:meth:`TarTree.content_key`)
        was checked before; else its key and name, and its machine, read from the tree
        already walked; None for any other input (or one :func:`_load` reports on)."""
        from rmpplan.inputs import input_format_of, resolve_input
        from rmpplan.sources.archive import TarTree
        from rmpplan.sources.detect import _name
        from rmpplan.sources.sysfs import read_sysfs_tree

        try:
            found = resolve_input(job.target)
            if input_format_of(found, self.settings.input_format) is not InputFormat.TARBALL:
                return None
            if found.is_dir():
                return None  # the reader says what is wrong
            self.tarballs += 1
            tree = TarTree(found)
            key, name = "tar:" + tree.content_key(), _name(found)
            if key in self.documents:
                facts, shape = self.documents[key]
                return Checked(
                    job.label,
                    verdict=self.verdicts[shape],
                    expect=job.expect,
                    facts=replace(facts, name=name),
                    shape=shape,
                )
            machine = read_sysfs_tree(tree, name, f"sysfs dump tarball {found.name}")
        except InputError as err:
            raise err.located(str(job.target)) from None
        return (key, name), machine

    def _load(self, job: Job) -> Machine:
        from rmpplan.inputs import load_machine

        if job.companion is not None:
            from rmpplan.sources.gather import read_gathered

            return read_gathered(job.target, job.companion)
        return load_machine(job.target, self.settings.input_format)

    def _prove(self, machine: Machine) -> tuple[Verdict, str]:
        from rmpplan.cpuspec import scenario
        from rmpplan.dmesg import with_log
        from rmpplan.landed import judged

        settings = self.settings
        model = settings.model
        try:
            hotplug = scenario(machine, settings.offline_after_setup, settings.online_after_setup)
        except ParameterError as err:
            raise err.named(named(err.param)) from None  # as the caller names it (self.naming)
        shape = fingerprint(machine, settings, hotplug)
        known = self.verdicts.get(shape) if self.shared else None
        if known is not None:
            return known, shape
        verdict = judged(machine, model, hotplug)
        if settings.log is not None:
            verdict = with_log(verdict, settings.log, machine, settings.window)
        if self.shared:
            self.verdicts[shape] = verdict
        return verdict, shape


def failure(label: str, err: InputError, seconds: float, facts: MachineFacts | None = None) -> Done:
    """The result of an input that could not be read or checked, and its error line.

    The error names ``label``'s file when it names none; an error about another
    file (one inside a folder given as ``label``) keeps that file's name."""
    located = err.located(label)
    error = located.describe() if located.path == label else str(located)
    failed = Checked(label, error=error, error_line=located.line, facts=facts)
    return Done(failed, seconds, str(located))


class _Unchecked(Exception):
    """An input that was read but could not be checked: its error (of its own
    class: a flag's error names no file), and the facts of its machine."""

    def __init__(self, error: InputError, facts: MachineFacts) -> None:
        super().__init__(error.message)
        self.error = error
        self.facts = facts


# The checker of a pool's worker process, made once by its initializer.
_WORKER: dict[str, Checker] = {}


def _start_worker(settings: Settings) -> None:
    gc.disable()  # each batch ends with a young-generation collection instead
    _WORKER["checker"] = Checker(settings)


def _run_batch(jobs: Sequence[Job]) -> list[Done]:
    checker = _WORKER["checker"]
    done = [checker.check(job) for job in jobs]
    gc.collect(0)
    return done


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity), at least 1."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity (macOS): every CPU
        return max(1, os.cpu_count() or 1)


PROBE = 16
"""Inputs checked in this process before deciding whether a pool pays."""
POOL_FROM_SECONDS = 0.002
"""The median seconds per probed input from which the rest go to a pool: below
it, sending inputs and results between processes costs more than it saves
(a fleet of topology files already seen costs about 0.3 ms an input)."""


class Executor(Protocol):
    """Where jobs are checked, this machine's process pool or a cluster's workers
    (:mod:`rmpplan.fleet_dask`)."""

    def results(self, jobs: Sequence[Job], settings: Settings) -> Iterator[Done]:
        """Each job's result, in the order of ``jobs``, as soon as it and every job
        before it are done; a bounded number of jobs in flight."""
        ...


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool of ``processes`` processes on this machine."""

    processes: int

    def results(self, jobs: Sequence[Job], settings: Settings) -> Iterator[Done]:
        return _pooled(jobs, settings, self.processes)


def run(
    jobs: Sequence[Job],
    settings: Settings,
    processes: int = 1,
    *,
    probe: int | None = None,
    executor: Executor | None = None,
) -> Iterator[Done]:
    """Each job's result, in the order of ``jobs``, as soon as it and every job
    before it are done, the same whatever ``processes`` is.

    ``processes`` 1 checks every job in this process. With more, the first
    ``probe`` jobs (default :data:`PROBE`) are checked here too, and the rest go to a pool of that
    many processes when the probed jobs took :data:`POOL_FROM_SECONDS` or
    more each (the median: the first of each shape costs more than the rest).
    An ``executor`` checks every job, none here: the inputs are where it runs.
    """
    if executor is not None:
        verdicts: dict[str, Verdict] = {}
        for done in executor.results(jobs, settings):
            yield _shared(done, verdicts)
        return
    checker = Checker(settings)
    probed = len(jobs) if processes <= 1 else min(PROBE if probe is None else probe, len(jobs))
    seconds = []
    for job in jobs[:probed]:
        done = checker.check(job)
        seconds.append(done.seconds)
        yield done
    rest = jobs[probed:]
    if len(rest) > 1 and (not seconds or statistics.median(seconds) >= POOL_FROM_SECONDS):
        yield from Pool(processes).results(rest, settings)
        return
    for job in rest:
        yield checker.check(job)


def _batches(count: int, processes: int) -> list[range]:
    """Index ranges small enough to keep every process busy and results flowing,
    large enough that sending them costs little."""
    size = max(1, min(16, count // (processes * 8)))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def _pooled(jobs: Sequence[Job], settings: Settings, processes: int) -> Iterator[Done]:
    """The jobs' results from a pool. A worker that dies (SIGKILL, the out-of-memory
    killer) breaks the whole pool: the batch first in line is then checked again one
    job to a process, which finds the input that kills its process and reports it as
    an input that could not be checked, and a new pool takes the batches after it."""
    batches = _batches(len(jobs), processes)
    verdicts: dict[str, Verdict] = {}
    start = 0
    while start < len(batches):
        try:
            for done in _from_pool(jobs, batches[start:], settings, processes):
                if done is None:  # the first batch in line is complete
                    start += 1
                else:
                    yield _shared(done, verdicts)
        except BrokenProcessPool:
            for index in batches[start]:
                yield _shared(_isolated(jobs[index], settings), verdicts)
            start += 1


def _from_pool(
    jobs: Sequence[Job], batches: Sequence[range], settings: Settings, processes: int
) -> Iterator[Done | None]:
    """Each batch's results in order from one pool, then None once the batch is whole;
    BrokenProcessPool when a worker died before the batch first in line came back."""
    ahead = processes * 4  # batches in flight: bounded, so memory does not grow with the fleet
    with ProcessPoolExecutor(
        max_workers=min(processes, len(batches)),
        initializer=_start_worker,
        initargs=(settings,),
    ) as pool:
        pending: deque[Future[list[Done]]] = deque()
        for index, batch in enumerate(batches):
            pending.append(pool.submit(_run_batch, [jobs[i] for i in batch]))
            if len(pending) < ahead and index + 1 < len(batches):
                continue
            # Later batches finish meanwhile and wait in their futures: order is kept.
            yield from pending.popleft().result()
            yield None
        while pending:
            yield from pending.popleft().result()
            yield None


def _isolated(job: Job, settings: Settings) -> Done:
    """``job`` checked in a process of its own, or, when that process dies, the
    failure saying how it ended."""
    import multiprocessing

    started = time.perf_counter()
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(target=_check_and_send, args=(job, settings, send))
    child.start()
    send.close()
    try:
        done: Done = receive.recv()
    except EOFError:  # it died before it could answer
        child.join()
        error = InputError(f"{_ended(child.exitcode)}; it was not checked")
        return failure(job.label, error, time.perf_counter() - started)
    finally:
        receive.close()
    child.join()
    return done


def _check_and_send(job: Job, settings: Settings, send: Connection) -> None:
    send.send(Checker(settings).check(job))
    send.close()


def _ended(code: int | None) -> str:
    """How the process checking an input ended, from its exit code."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = " (as the out-of-memory killer does)" if -code == signal.SIGKILL else ""
        return f"the process checking it was killed by {name}{why}"
    return f"the process checking it ended with exit status {code}"


def _shared(done: Done, verdicts: dict[str, Verdict]) -> Done:
    """``done`` holding the one copy of its shape's verdict that this process keeps."""
    checked = done.checked
    if checked.shape is None or checked.verdict is None:
        return done
    known = verdicts.setdefault(checked.shape, checked.verdict)
    if known is checked.verdict or known != checked.verdict:
        return done
    return replace(done, checked=replace(checked, verdict=known))
