"""``show --cpus``: the per-CPU table (:mod:`rmpplan.cpu_rows`) in every format.

The table and text formats are the aligned columns ``lscpu -e`` prints, under
one line naming the machine and what the mask and roles were computed under;
markdown is a table; JSON is ``show``'s document with the rows added
(docs/json.md). Cells are numbers and fixed words; the one name, the
topology's, is escaped (:func:`rmpplan.errors.printable`, and in markdown the
format's own cell escaping).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from rmpplan.escaping import printable
from rmpplan.render.common import rule_text
from rmpplan.terms import OutputFormat

if TYPE_CHECKING:
    from rmpplan.cpu_rows import CpuRow, CpuRows
    from rmpplan.overview import Overview
    from rmpplan.plain import JSONValue

HEADER = ("CPU", "PACKAGE", "DIE", "CORE", "THREAD", "APIC", "ONLINE", "MASK", "ROLE")


def _cells(row: CpuRow) -> tuple[str, ...]:
    return (
        str(row.cpu),
        str(row.package),
        str(row.die),
        str(row.core),
        str(row.thread),
        "-" if row.apic_id is None else str(row.apic_id),
        "yes" if row.online else "no",
        "yes" if row.in_mask else "no",
        "-" if row.role is None else str(row.role),
    )


def heading(table: CpuRows, name: str) -> str:
    """``NAME: rule R, strategy S[, kernel K], worker CPU N``, ``name`` as given."""
    model = table.model
    parts = [
        f"{name}: rule {rule_text(model.rule, model.strategy)}",
        f"strategy {model.strategy}",
    ]
    if model.kernel is not None:
        parts.append(f"kernel {model.kernel}")
    parts.append("no worker given" if table.worker is None else f"worker CPU {table.worker}")
    return ", ".join(parts)


def _columns(table: CpuRows) -> str:
    rows = [HEADER, *(_cells(row) for row in table.rows)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(HEADER))]
    lines = [heading(table, printable(table.machine.name))]
    for row in rows:
        # Numbers right-aligned, as lscpu -e prints them; the words left.
        cells = [
            cell.rjust(width) if index < 6 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "".join(line + "\n" for line in lines)


def _markdown(table: CpuRows) -> str:
    from rmpplan.render.markdown import _literal

    lines = [
        heading(table, _literal(table.machine.name, table=False)),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---:|" * 6 + "---|" * 3,
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in table.rows]
    return "".join(line + "\n" for line in lines)


def _json(table: CpuRows, overview: Overview) -> str:
    import json

    from rmpplan.render.json import dumps, render_show
    from rmpplan.strategies import STRATEGIES

    model = table.model
    # show's own document, read back (it is plain JSON), so the two never differ.
    document: dict[str, JSONValue] = json.loads(render_show(overview))
    rows: list[JSONValue] = [
        {
            "cpu": row.cpu,
            "package": row.package,
            "die": row.die,
            "core": row.core,
            "thread": row.thread,
            "apic_id": row.apic_id,
            "online": row.online,
            "in_mask": row.in_mask,
            "role": None if row.role is None else str(row.role),
        }
        for row in table.rows
    ]
    document.update(
        {
            "per_cpu": rows,
            "rule": str(model.rule) if STRATEGIES[model.strategy].has_mask else None,
            "strategy": str(model.strategy),
            "kernel": None if model.kernel is None else str(model.kernel),
            "leader": table.worker,
        }
    )
    return dumps(document)


def render_cpus(table: CpuRows, overview: Overview, fmt: OutputFormat) -> str:
    """The per-CPU table of ``overview``'s machine in ``fmt``."""
    match fmt:
        case OutputFormat.TABLE | OutputFormat.TEXT:
            return _columns(table)
        case OutputFormat.MARKDOWN:
            return _markdown(table)
        case OutputFormat.JSON:
            return _json(table, overview)
    assert_never(fmt)
