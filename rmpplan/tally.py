"""A ``verify`` run's counts: each result as the summary counts it, and the summary.

Built from results in this process (:func:`summary_of`) and from the results of
shards read back (``rmpplan.shards``); renderers show a :class:`Summary` and
need nothing else of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.terms import Check

if TYPE_CHECKING:
    from rmpplan.checks import Checked


@dataclass(frozen=True, slots=True)
class Tally:
    """One result as the summary counts it: read or not, and what fails it
    (each check with an unexpected finding, and each stale expectation)."""

    ok: bool
    bad_input: bool
    shape: str | None
    failures: tuple[tuple[Check, bool], ...] = ()
    """(check, stale): ``stale`` when the check passed against an expectation."""

    @classmethod
    def of(cls, checked: Checked) -> Tally:
        held = checked.outcome
        if held is None:
            return cls(False, True, checked.shape)
        unexpected = {item.check for item in held.unexpected}
        failures = [(check, False) for check in Check if check in unexpected]
        failures += [(check, True) for check in held.stale]
        return cls(held.ok, False, checked.shape, tuple(failures))


@dataclass(frozen=True, slots=True)
class Group:
    """The failing inputs that fail one check (or hold one stale expectation)."""

    check: Check
    stale: bool
    inputs: int
    shapes: int


@dataclass(frozen=True, slots=True)
class Summary:
    """A run's counts, and its failures grouped by check and shape."""

    files: int
    ok: int
    failed: int
    bad_input: int
    shapes: int
    """Distinct fingerprints among the inputs that were read."""
    groups: tuple[Group, ...] = ()

    @property
    def exit_code(self) -> int:
        """``verify``'s: 2 when an input could not be read, else 1 when one failed, else 0."""
        return 2 if self.bad_input else 1 if self.failed else 0


class Totals:
    """Counts tallies as they come, so that a run over many shards keeps counts, not results."""

    def __init__(self) -> None:
        self.files = self.ok = self.failed = self.bad_input = 0
        self.shapes: set[str] = set()
        self.inputs: dict[tuple[Check, bool], int] = {}
        self.failing_shapes: dict[tuple[Check, bool], set[str]] = {}

    def add(self, tally: Tally) -> None:
        self.files += 1
        self.ok += tally.ok
        self.failed += not tally.ok and not tally.bad_input
        self.bad_input += tally.bad_input
        if tally.shape is not None:
            self.shapes.add(tally.shape)
        for failure in tally.failures:
            self.inputs[failure] = self.inputs.get(failure, 0) + 1
            if tally.shape is not None:
                self.failing_shapes.setdefault(failure, set()).add(tally.shape)

    def summary(self) -> Summary:
        """The counts; the groups are in check order, each stale one after its check."""
        order = list(Check)
        groups = tuple(
            Group(check, stale, count, len(self.failing_shapes.get((check, stale), ())))
            for (check, stale), count in sorted(
                self.inputs.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
            )
        )
        return Summary(
            files=self.files,
            ok=self.ok,
            failed=self.failed,
            bad_input=self.bad_input,
            shapes=len(self.shapes),
            groups=groups,
        )


def summarize(tallies: Sequence[Tally]) -> Summary:
    """Count ``tallies`` (:class:`Totals`)."""
    totals = Totals()
    for tally in tallies:
        totals.add(tally)
    return totals.summary()


def summary_of(results: Sequence[Checked]) -> Summary:
    """The summary of ``verify``'s results."""
    return summarize([Tally.of(checked) for checked in results])
