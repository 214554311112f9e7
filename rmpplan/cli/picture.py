"""The picture options: ``--svg FILE`` (beside any format) and ``--format svg``.

A picture shows one worker's pass (:mod:`rmpplan.picture`): ``plan`` needs
``--leader N``; ``verify`` (one input) and ``compare`` draw the first worker
that fails, else the lowest online CPU. ``svg`` is a value of ``--format``
only for ``plan`` and ``explain``, whose reports are one pass; it is not an
:class:`~rmpplan.terms.OutputFormat`, which every report renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import click

from rmpplan.cli.options import BadInput, EnumChoice
from rmpplan.terms import OutputFormat

if TYPE_CHECKING:
    from rmpplan.checks import Comparison, Verdict
    from rmpplan.hotplug import Hotplug
    from rmpplan.kernel import Kernel
    from rmpplan.topology.machine import Machine

F = TypeVar("F", bound=Callable[..., object])

Svg = Literal["svg"]
SVG: Svg = "svg"


class PictureFormatChoice(EnumChoice):
    """OutputFormat's values and ``svg``, for the reports of one pass."""

    def __init__(self) -> None:
        super().__init__(OutputFormat)
        self.choices = (*self.choices, SVG)

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        if value == SVG:
            return SVG
        return super().convert(value, param, ctx)


def picture_format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=PictureFormatChoice(),
        default=OutputFormat.TABLE.value,
        show_default=True,
        help="Output format: rich table, stable JSON, plain text, Markdown, or the "
        "machine with its roles as SVG.",
    )(func)


def svg_option(func: F) -> F:
    return click.option(
        "--svg",
        "svg",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="FILE",
        default=None,
        help="Also draw the machine with each CPU's role and each core's verdict "
        "as SVG to FILE, whatever the format.",
    )(func)


def write_picture(path: Path, text: str, inputs: Sequence[Path]) -> None:
    """Write ``text`` to ``path`` atomically, refusing what :func:`check_output` refuses."""
    from rmpplan.files import write_atomic

    check_output(path, inputs)
    write_atomic(path, text, force=True)


def check_output(path: Path | None, inputs: Sequence[Path]) -> None:
    """Refuse ``--svg`` to a link, a file that is not regular (a FIFO, a device)
    or any of this run's ``inputs`` (:func:`rmpplan.files.check_output`): asked
    before the run, so that a mistake costs nothing, and again when the file is
    written."""
    from rmpplan.files import check_output as refuse

    if path is not None:
        refuse(path, inputs)


def need_one_worker(count: int) -> None:
    """A picture is one worker's pass."""
    if count != 1:
        raise BadInput("--svg and --format svg draw one worker's pass: give --leader N")


def verdict_svg(
    machine: Machine,
    verdict: Verdict,
    hotplug: Hotplug | None,
    kernel: Kernel | None,
    command: str,
) -> str:
    """The picture of ``verdict``: the pass of its first failing worker, else of
    the lowest online CPU."""
    from rmpplan.explain import explain, handler_online
    from rmpplan.picture import counterexample, explain_picture
    from rmpplan.render.svg import render_picture

    worker = counterexample(verdict, handler_online(machine, hotplug, kernel))
    replayed = explain(machine, worker, verdict.rule, verdict.strategy, hotplug, kernel=kernel)
    return render_picture(explain_picture(replayed, command))


def compare_svg(result: Comparison, hotplug: Hotplug | None) -> str:
    """The picture of the first (strategy, rule) that fails, else of the first."""
    verdict = next((item for item in result.verdicts if not item.ok), result.verdicts[0])
    return verdict_svg(result.machine, verdict, hotplug, result.kernel, "compare")
