"""One ``verify`` run, decided without a command line.

:class:`VerifyRequest` holds what the flags and the environment say, as plain
values; :func:`start` turns it into a :class:`VerifyRun` (the configuration
found, the model, the inputs listed, every output refused before any input is
read, the pool started); :meth:`VerifyRun.results` gives each input's result
in input order, as it is known; :meth:`VerifyRun.end` writes the side files
and returns the :class:`Ending`, whose exit code :func:`exit_code` decides.
Nothing here prints: the command line writes what the run gives it, and the
environment matters only through the request it builds.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.naming import named
from rmpplan.terms import InputFormat, JunitFamily, VerifyFormat

if TYPE_CHECKING:
    from rmpplan.checks import Checked
    from rmpplan.config import Config
    from rmpplan.cpuspec import CpuSpec
    from rmpplan.dmesg import KernelLog
    from rmpplan.fleet import Done, Executor, Job, Settings
    from rmpplan.fleet_dask import DaskExecutor
    from rmpplan.kernel import Modelled
    from rmpplan.memory import Window
    from rmpplan.shards import ShardMark, ShardSpec
    from rmpplan.terms import Kernel, Rule, Strategy
    from rmpplan.topology.parse import LineIndex

PROCESSES = "processes"
"""The executor that checks inputs in a process pool on this machine."""
DASK = "dask"
"""The executor that sends inputs to the workers of a Dask cluster."""


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """What one ``verify`` is asked to do: its flags and its environment, as values."""

    paths: tuple[Path, ...] = ()
    builtin: bool = False
    fmt: VerifyFormat | None = None
    """None: the environment's default (:func:`output_format`)."""
    input_format: InputFormat | None = None
    junit_xml: Path | None = None
    junit_family: JunitFamily = JunitFamily.XUNIT2
    svg: Path | None = None
    config_file: Path | None = None
    no_config: bool = False
    kernel: Kernel | None = None
    rule: Rule | None = None
    strategy: Strategy | None = None
    offline_after_setup: CpuSpec | None = None
    online_after_setup: CpuSpec | None = None
    dmesg: Path | None = None
    memory: str | None = None
    memory_from: Path | None = None
    jobs: int | None = None
    shard: ShardSpec | None = None
    executor: str = PROCESSES
    scheduler: str | None = None
    github_actions: str | None = None
    """The value of ``GITHUB_ACTIONS``, None when unset."""
    step_summary: str | None = None
    """The value of ``GITHUB_STEP_SUMMARY``, None when unset."""
    names: tuple[tuple[str, str], ...] = ()
    """How the caller names each parameter in errors (the command line: its flags)."""


@dataclass(frozen=True, slots=True)
class Report:
    """How this run reports: its format, and what every report names."""

    fmt: VerifyFormat
    input_format: InputFormat | None
    junit_family: JunitFamily
    config: Path | None
    """The configuration file used, relative to the current folder; None: there was none."""


@dataclass(frozen=True, slots=True)
class Result:
    """One input's result, in input order: the piece a streaming report writes now."""

    done: Done
    line: str | None
    """Its JSON line (jsonl only), to be written at once: a long run can be watched."""


@dataclass(frozen=True, slots=True)
class Ending:
    """What is left to report once every input is checked, and how the run ends."""

    results: tuple[Checked, ...]
    seconds: tuple[float, ...]
    trailer: str | None
    """The JSON Lines trailer (jsonl only), written last so that a cut run has none."""
    exit_code: int


def exit_code(results: Iterable[Checked]) -> int:
    """The run's exit code, decided here only: 2 when any input could not be read
    (a broken input is never hidden behind another's finding), else 1 when any
    check found a problem not expected of its input, else 0."""
    listed = list(results)
    if any(checked.error is not None for checked in listed):
        return 2
    return 0 if all(checked.ok for checked in listed) else 1


def output_format(fmt: VerifyFormat | None, github_actions: str | None) -> VerifyFormat:
    """The format asked for, else github inside GitHub Actions, else the table."""
    if fmt is not None:
        return fmt
    return VerifyFormat.GITHUB if github_actions == "true" else VerifyFormat.TABLE


def configuration(given: Path | None, *, no_config: bool) -> Config | None:
    """The configuration of this run: none with --no-config, the file --config
    names, else the one found from the current directory (rmpplan.config)."""
    from rmpplan.config import discover_config, load_config

    if given is not None and no_config:
        raise InputError(f"{named('config')} and {named('no_config')} conflict: give one of them")
    if no_config:
        return None
    return discover_config() if given is None else load_config(given)


def model(
    config: Config | None, kernel: Kernel | None, rule: Rule | None, strategy: Strategy | None
) -> Modelled:
    """What the run models: the command line wins over the configuration file,
    whose keys fill only what the command line left unset (then the defaults)."""
    from rmpplan.kernel import modelled

    if config is not None:
        kernel = kernel or config.kernel
        rule = rule or config.rule
        strategy = strategy or config.strategy
    return modelled(kernel, rule, strategy)


def start(request: VerifyRequest, warn: Callable[[str], None]) -> VerifyRun:
    """Everything decided before the first input is checked, in this order, so
    that bad usage is refused (InputError) before any work or any output.

    ``warn`` is given each warning line (an over-large --jobs) as it arises."""
    from rmpplan import step_summary
    from rmpplan.fleet import Settings

    config = configuration(request.config_file, no_config=request.no_config)
    modelled = model(config, request.kernel, request.rule, request.strategy)
    _one_machine(request)
    listed = list(_inputs(request.paths, config, request.builtin, no_config=request.no_config))
    _check_outputs(request, listed, config)
    log, window = _machine_log(request)
    fmt = output_format(request.fmt, request.github_actions)
    summary = step_summary.target({step_summary.ENVIRONMENT: request.step_summary or ""})
    if summary is not None:
        step_summary.check(summary)  # a link, FIFO or device is refused before any work
    settings = Settings(
        modelled,
        request.input_format,
        request.offline_after_setup,
        request.online_after_setup,
        log=log,
        window=window,
        names=request.names,
    )
    # The report names the configuration it used, so a reviewer sees what set the rules.
    used = None if config is None else Path(os.path.relpath(config.path))
    report = Report(fmt, request.input_format, request.junit_family, used)
    spread = _spread(request, single=log is not None, warn=warn)
    return VerifyRun(request, report, settings, listed, summary, spread)


@dataclass(slots=True)
class _Spread:
    """How the run spreads its inputs: which shard it checks, and where."""

    shard: ShardSpec | None
    processes: int
    """The processes of this machine's pool, or the workers of a local Dask cluster."""
    executor: DaskExecutor | None
    """None: the process pool of :func:`rmpplan.fleet.run`."""
    mark: ShardMark | None = None
    """What the trailer records of the shard, known once the inputs are listed."""

    def inputs(self, items: Iterable[Job | Done]) -> Iterable[Job | Done]:
        """The items of this run's shard (all of them without a shard)."""
        if self.shard is None:
            return items
        from rmpplan.shards import select

        kept, self.mark = select(items, self.shard)
        return kept


@dataclass(slots=True)
class VerifyRun:
    """A started run: iterate :meth:`results`, then call :meth:`end`; :meth:`close` always."""

    request: VerifyRequest
    report: Report
    settings: Settings
    listed: list[Job | Done]
    summary: Path | None
    """The step summary to append the markdown report to; None: not in GitHub Actions."""
    _spread: _Spread
    _results: list[Checked] = field(default_factory=list)
    _seconds: list[float] = field(default_factory=list)
    _lines: hashlib._Hash = field(default_factory=hashlib.sha256)
    """The SHA-256 of the JSON Lines written, for their trailer."""

    def results(self) -> Iterator[Result]:
        """Every input's result in input order, each as soon as it and those before it are known."""
        spread = self._spread
        jsonl = self.report.fmt is VerifyFormat.JSONL
        for done in _checked(
            spread.inputs(self.listed), self.settings, spread.processes, spread.executor
        ):
            self._results.append(done.checked)
            self._seconds.append(done.seconds)
            line = None
            if jsonl:
                from rmpplan.render.jsonl import verify_line

                line = verify_line(done.checked)
                self._lines.update(line.encode("utf-8"))
            yield Result(done, line)

    def end(self) -> Ending:
        """Write the side files (--junit-xml, the step summary) and say how the run ends."""
        results, seconds = tuple(self._results), tuple(self._seconds)
        if self.request.junit_xml is not None:
            from rmpplan.files import write_atomic

            write_atomic(
                self.request.junit_xml, junit_report(self.report, results, seconds), force=True
            )
        if self.summary is not None:  # before stdout, which a reader may close early
            _summarize(self.summary, results, self.report.config)
        trailer = None
        if self.report.fmt is VerifyFormat.JSONL:
            from rmpplan.render.jsonl import trailer as jsonl_trailer
            from rmpplan.shards import run_settings

            named = None if self.report.config is None else str(self.report.config)
            settings = run_settings(self.settings)
            digest = self._lines.hexdigest()
            trailer = jsonl_trailer(results, digest, named, settings, self._spread.mark)
        return Ending(results, seconds, trailer, exit_code(results))

    def close(self) -> None:
        """Stop the executor the run started (a local Dask cluster never outlives it)."""
        executor = self._spread.executor
        if executor is not None:
            executor.close()


def _one_machine(request: VerifyRequest) -> None:
    """--svg draws one machine: exactly one topology, not a folder."""
    if request.svg is not None and not _one_topology(request):
        raise InputError(f"{named('svg')} draws one machine: give exactly one topology")


def _one_topology(request: VerifyRequest) -> bool:
    paths = request.paths
    return not request.builtin and len(paths) == 1 and not Path(paths[0]).is_dir()


def _machine_log(request: VerifyRequest) -> tuple[KernelLog | None, Window | None]:
    """The kernel log to hold one machine to, and its RAM window, checked for sense."""
    from rmpplan.dmesg import read_log
    from rmpplan.memory import ram_window

    window = ram_window(request.memory, request.memory_from)
    log = None if request.dmesg is None else read_log(request.dmesg)
    if log is None and window is not None:
        raise InputError(
            f"{named('memory')} and {named('memory_from')} go with {named('dmesg')} "
            "(the window is checked there)"
        )
    if log is not None and not _one_topology(request):
        raise InputError(f"{named('dmesg')} is the log of one machine: give exactly one topology")
    return log, window


def _inputs(
    paths: Sequence[Path], config: Config | None, builtin: bool, *, no_config: bool
) -> Iterator[Job | Done]:
    """Each input to check, in path order, or the result of a path that names none.

    Expectations apply to the inputs verify finds itself, in folders and in
    the configured paths; a file named on the command line is reported as it
    stands. A dump and its hwloc XML gathered beside it in a folder are one
    input (``rmpplan.sources.gather``). What the configured paths find stays
    inside the configuration's folder: an input reached through a link out of
    it is an error naming it.
    """
    from rmpplan.fleet import Job, failure
    from rmpplan.inputs import discover
    from rmpplan.sources.gather import pair

    named = bool(paths)
    configured = not named and config is not None and bool(config.paths)
    if configured and config is not None:
        paths = tuple(Path(os.path.relpath(path)) for path in config.paths)
    elif not named and not builtin:
        if not os.path.lexists("topologies"):
            raise InputError(_nothing_to_verify(config, no_config=no_config))
        paths = (Path("topologies"),)
    for path in paths:
        started = time.perf_counter()
        try:
            targets = discover([path])
        except InputError as err:
            yield failure(str(path), err, time.perf_counter() - started)
            continue
        as_named = named and targets == [path]
        for target, xml in pair(targets) if not as_named else ((path, None),):
            if configured and config is not None and not config.contains(target):
                why = InputError(
                    "found through a symbolic link out of the configuration's folder; "
                    "configured paths stay inside it (name it on the command line to check it)"
                )
                yield failure(str(target), why, 0.0)
                continue
            expect = frozenset() if config is None or as_named else config.expected(target)
            yield Job(str(target), target, expect, companion=xml)

    if builtin:
        from rmpplan.inputs import BUILTIN_PREFIX, bundled_topologies

        # Named builtin:NAME, never by where the package happens to be installed.
        for name, target in bundled_topologies().items():
            yield Job(BUILTIN_PREFIX + name, target)


def _nothing_to_verify(config: Config | None, *, no_config: bool) -> str:
    """The one line for a run with nothing to check: what was looked for, and how to say."""
    if no_config:
        where = f"{named('no_config')} was given"
    elif config is None:
        where = "no configuration file was found"
    else:
        where = f"{os.path.relpath(config.path)} sets no paths"
    return (
        f"nothing to verify: no PATH was given, {where}, and there is no ./topologies; "
        "name topology files or folders (rmpplan verify PATH ...), or list them in "
        'pyproject.toml as [tool.rmpplan] paths = ["..."] (docs/ci.md)'
    )


def _check_outputs(
    request: VerifyRequest, listed: Sequence[Job | Done], config: Config | None
) -> None:
    """Refuse each output file before any input is read: it must not be one of
    the run's inputs (every file found, the configuration, the other files named
    by flags), a link or a special file (``rmpplan.files``)."""
    from rmpplan.files import check_output
    from rmpplan.fleet import Job

    inputs = [file for file in (request.dmesg, request.memory_from) if file is not None]
    for item in listed:
        if isinstance(item, Job):
            inputs += [item.target] if item.companion is None else [item.target, item.companion]
    if config is not None:
        inputs.append(config.path)
    for path in (request.junit_xml, request.svg):
        if path is not None:
            check_output(path, inputs)


def _spread(request: VerifyRequest, *, single: bool, warn: Callable[[str], None]) -> _Spread:
    """The run's shard and executor, started. A kernel log is one machine's, so
    ``single`` runs have one input and nothing to share out."""
    from rmpplan.fleet import default_jobs

    processes = 1 if single else _processes(request.jobs, default_jobs(), warn)
    return _Spread(request.shard, processes, _executor(request, processes))


def _processes(jobs: int | None, cpus: int, warn: Callable[[str], None]) -> int:
    """``--jobs``, at most the CPUs this process may use: more processes than CPUs
    only cost memory (each holds its own copy of the checker), never time."""
    if jobs is None:
        return cpus
    if jobs > cpus:
        warn(
            f"{named('jobs')} {jobs} is more than the {cpus} CPUs this process may use; "
            f"using {cpus}"
        )
        return cpus
    return jobs


def _executor(request: VerifyRequest, processes: int) -> DaskExecutor | None:
    """The executor the request names, started (None: the process pool of ``run``)."""
    if request.executor == PROCESSES:
        if request.scheduler is not None:
            raise InputError(f"{named('scheduler')} goes with {named('executor')} dask")
        return None
    if request.scheduler is not None and request.jobs is not None:
        raise InputError(
            f"{named('jobs')} sets the workers of the local Dask cluster; "
            f"a {named('scheduler')}'s cluster has its own workers: give one of them"
        )
    from rmpplan.fleet_dask import DaskExecutor

    return DaskExecutor.start(request.scheduler, processes)


def _checked(
    items: Iterable[Job | Done], settings: Settings, processes: int, runner: Executor | None
) -> Iterator[Done]:
    """Every item's result in order: the jobs checked by the fleet, the rest as they are."""
    from rmpplan.fleet import Done, run

    listed = list(items)
    jobs = [item for item in listed if not isinstance(item, Done)]
    results = run(jobs, settings, processes, executor=runner)
    for item in listed:
        yield item if isinstance(item, Done) else next(results)


def _summarize(path: Path, results: Sequence[Checked], config: Path | None) -> None:
    """Append the markdown report to the job summary, within what GitHub keeps."""
    from rmpplan import step_summary
    from rmpplan.inputs import BUILTIN_PREFIX
    from rmpplan.render import PLAIN, markdown

    def render(budget: int) -> str:
        return markdown.render_verify(results, PLAIN, config=config, limit=budget)

    inputs = (Path(c.path) for c in results if not c.path.startswith(BUILTIN_PREFIX))
    step_summary.append(path, render, inputs)


def located_lines(
    results: Sequence[Checked], input_format: InputFormat | None
) -> dict[str, LineIndex]:
    """Where each topology file's keys and CPUs are, for annotations and JUnit's
    ``line``; only files with findings to locate are read again."""
    from rmpplan.inputs import BUILTIN_PREFIX
    from rmpplan.topology.load import topology_lines

    return {
        checked.path: topology_lines(Path(checked.path))
        for checked in results
        if checked.verdict is not None
        and checked.verdict.findings
        and not checked.path.startswith(BUILTIN_PREFIX)
        and input_format in (None, InputFormat.TOPOLOGY)
    }


def junit_report(report: Report, results: Sequence[Checked], seconds: Sequence[float]) -> str:
    """The JUnit XML report, in the run's family (xunit1 locates each finding's line)."""
    from rmpplan.render import junit

    family = report.junit_family
    lines = located_lines(results, report.input_format) if family is JunitFamily.XUNIT1 else None
    return junit.render_verify(results, seconds, family=family, lines=lines, config=report.config)
