"""``--format table``: rich tables for reviewers (the default)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

# rich.console (and rich.tree, which needs it) is imported where a part needs rich to
# lay it out: off a terminal, plan, verify, compare, explain and schedule never do.
from rich import box
from rich.cells import cell_len
from rich.measure import Measurement
from rich.padding import Padding
from rich.style import StyleType
from rich.table import Column, Table
from rich.text import Text

from rmpplan.escaping import printable
from rmpplan.render.common import (
    config_line,
    cpulist,
    follower_lists,
    group_line,
    grouped,
    grouping,
    kernel_text,
    lead_note,
    machine_summary,
    mask_hex,
    rule_text,
    show_facts,
    summary_head,
    window_lines,
)
from rmpplan.render.display import PLAIN, Display
from rmpplan.render.outcome import STALE, verdict_label
from rmpplan.tally import summary_of

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console, RenderableType

    from rmpplan.checks import Checked, Comparison
    from rmpplan.explain import Explanation
    from rmpplan.overview import Overview
    from rmpplan.plan import PlanResult
    from rmpplan.schedule import ScheduleReport
    from rmpplan.tally import Summary
    from rmpplan.terms import Kernel
    from rmpplan.topology.machine import Core, Machine

# Wide enough that nothing wraps when the output is not a terminal (CI logs).
UNWRAPPED = 100_000

# Rich wraps lines only at whitespace. This control character is whitespace to it
# and zero cells wide, so one after each comma lets a cpulist wrap there, and one
# after a path's slash a path, and nowhere else; _to_text removes them all. Input
# never holds one: every value is escaped by printable() first.
_BREAK = "\x1f"


class _Escaped(Text):
    """Text that :func:`_text` made: escaped once, never again."""


def _text(value: str | Text) -> Text:
    """A value as rich Text: escaped to printable characters, breakable after commas
    and a path's slashes."""
    if isinstance(value, _Escaped):
        return value
    if isinstance(value, Text):
        plain, style = value.plain, value.style
    else:
        plain, style = value, ""
    return _Escaped(
        _SLASH.sub("/" + _BREAK, printable(plain).replace(",", "," + _BREAK)), style=style
    )


# A path may wrap after a slash; a ratio such as ``96/96`` may not.
_SLASH = re.compile(r"/(?=[^\d/\s])")


class _Table(Table):
    """A table whose cells are escaped and wrap only where a reader expects.

    Columns added by :meth:`add_free_column` hold free text (a note, what is
    wrong): on a terminal too narrow for the table, it goes under its row, full width.
    """

    free: tuple[Column, ...] = ()
    # A shorter header for a column of a table too wide for the terminal.
    short: tuple[tuple[Column, str], ...] = ()

    def add_free_column(self, header: str, style: str | None = None) -> None:
        self.add_column(header, overflow="fold", style=style)
        self.free = (*self.free, self.columns[-1])

    def add_cpu_column(self) -> None:
        """The counterexample CPUs: ``CPUs`` where ``Counterexample`` takes too much room."""
        self.add_column("Counterexample CPUs", overflow="fold")
        self.short = (*self.short, (self.columns[-1], "CPUs"))

    def add_row(
        self,
        *renderables: RenderableType | None,
        style: StyleType | None = None,
        end_section: bool = False,
    ) -> None:
        cells = [_text(cell) if isinstance(cell, str | Text) else cell for cell in renderables]
        super().add_row(*cells, style=style, end_section=end_section)


def _plain(cell: object) -> str | None:
    if isinstance(cell, Text):
        return cell.plain
    return cell if isinstance(cell, str) else None


def _widest(tokens: list[str]) -> int:
    # Whole strings at C speed: a long cell costs no Python step per token.
    if "".join(tokens).isascii():
        return max(map(len, tokens), default=0)
    return max(map(cell_len, tokens), default=0)


def _cell_texts(column: Column) -> list[str]:
    return [text for cell in column._cells if (text := _plain(cell)) is not None]


def _limits(column: Column) -> tuple[int, int]:
    """The least width ``column`` may have and the width its content wants.

    No token is split: a header word, a path segment, a name, a check name, a
    number, a cpulist piece such as ``384-767,``. Cells wrap only between them
    (at a space, after a comma, after a path's slash).
    """
    header = _plain(column.header) or ""
    natural, least = _widest(header.splitlines()), _widest(header.split())
    for text in _cell_texts(column):
        natural = max(natural, _widest(text.replace(_BREAK, "").splitlines()))
        least = max(least, _widest(text.split()))
    return max(least, 1), max(natural, 1)


def _fit(table: Table, console: Console, width: int) -> int:
    """Choose the column widths of ``table`` for a ``width``-wide terminal and
    return the width it will take.

    Rich would shrink columns below their content and cut values short with an
    ellipsis. Here the widest columns give way first, no column is narrower than
    what must not be split (_limits), and when those minimums do not fit, the
    table grows past the terminal instead of cutting anything.
    """

    limits = [_limits(column) for column in table.columns]
    for column in table.columns:
        column.overflow = "fold"
    naturals = [natural for _, natural in limits]
    # Padding and rules: what the table needs beyond its columns' content.
    unwrapped = console.options.update_width(UNWRAPPED)
    overhead = Measurement.get(console, unwrapped, table).maximum - sum(naturals)
    room = width - overhead
    if sum(naturals) <= room:
        return width

    def widths(cap: int) -> list[int]:
        return [max(least, min(natural, cap)) for least, natural in limits]

    low, high = 0, max(naturals)
    while low < high:  # the largest cap that fits
        middle = (low + high + 1) // 2
        low, high = (middle, high) if sum(widths(middle)) <= room else (low, middle - 1)
    chosen = widths(low)
    # What the cap leaves over goes, a cell at a time, to columns still short of content.
    short = [index for index, (_, natural) in enumerate(limits) if chosen[index] < natural]
    for index in short[: max(room - sum(chosen), 0)]:
        chosen[index] += 1
    for column, chosen_width in zip(table.columns, chosen, strict=True):
        column.width = chosen_width
    return max(width, sum(chosen) + overhead)


def _to_text(parts: Sequence[RenderableType], display: Display) -> str:
    plain = not display.color and display.width is None
    laid = [
        piece
        for part in parts
        for piece in (_arrange(part, display.width) if isinstance(part, _Table) else [part])
    ]
    if plain:
        texts = [_plain_part(part) for part in laid]
        if all(text is not None for text in texts):
            return _tidy("".join(text or "" for text in texts))
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=display.width or UNWRAPPED,
        force_terminal=display.color,
        no_color=not display.color,
        color_system="standard" if display.color else None,
        highlight=False,
        emoji=False,
        markup=False,
    )
    base = console.width
    for part in laid:
        fast = plain_table(part) if plain and isinstance(part, Table) else None
        if fast is not None:
            buffer.write(fast)
            continue
        if isinstance(part, Table) and display.width:
            console.width = _fit(part, console, display.width)
        console.print(_text(part) if isinstance(part, str | Text) else part, crop=False)
        console.width = base
    return _tidy(buffer.getvalue())


def _tidy(text: str) -> str:
    # Rich pads cells to the column width; trailing blanks only add noise.
    lines = text.replace(_BREAK, "").splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _plain_part(part: RenderableType) -> str | None:
    """``part`` as rich prints it without colour or wrapping, or None when rich must."""
    if isinstance(part, Table):
        return plain_table(part) if _simple(part) else plain_grid(part)
    if isinstance(part, Padding) and (part.top, part.right, part.bottom) == (0, 0, 0):
        # An indented line (a summary's group): the same text, indented, as rich puts it.
        inner = _plain_part(part.renderable)
        indent = " " * part.left
        return (
            None
            if inner is None
            else "".join(indent + line + "\n" for line in inner.split("\n")[:-1])
        )
    if isinstance(part, str | Text):
        lines = [_plain_cell(line) for line in _text(part).plain.split("\n")]
        if any(line is None or len(line) > UNWRAPPED for line in lines):
            return None
        return "\n".join(line or "" for line in lines) + "\n"
    return None


def plain_grid(table: Table) -> str | None:
    """A grid of facts (``_facts``) or a hanging note (``_hanging``) as rich prints it
    without colour or wrapping, laid out directly; None for a grid this does not
    cover. Tests hold it equal to rich's."""
    covered = (
        table.box is None
        and not (table.show_header or table.show_edge or table.pad_edge or table.show_footer)
        and table.collapse_padding
        and table.padding in ((0, 2, 0, 2), (0, 1, 0, 0))
        and table.title is None
        and table.caption is None
        and table.width is None
        and table.min_width is None
        and not (table.expand or table.leading or table.show_lines)
    )
    columns = _cells(table) if covered else None
    if columns is None:
        return None
    # Collapsed padding: two neighbours share the wider of their facing pads.
    _, right, _, left = table.padding
    gap = " " * max(right, left)
    widths = [max(map(len, cells), default=0) for cells in columns]
    if sum(widths) + len(gap) * (len(widths) - 1) > UNWRAPPED:
        return None
    justified = [
        [_justify(cell, size, column.justify) for cell in cells]
        for column, cells, size in zip(table.columns, columns, widths, strict=True)
    ]
    return "".join(gap.join(row) + "\n" for row in zip(*justified, strict=True))


# What separates two columns of a report table: a space of padding each side and the rule's.
_GAP = 3


def _span(columns: Sequence[Column], widths: Sequence[int]) -> int:
    return sum(widths) + _GAP * (len(columns) - 1)


def _equal(column: Column, *, empty: bool) -> bool:
    """Every cell of ``column`` is the same text (and not empty, unless ``empty``)."""
    texts = _cell_texts(column)
    return (
        len(texts) == len(column._cells)
        and bool(texts[0].strip() or empty)
        and texts.count(texts[0]) == len(texts)
    )


def _arrange(table: _Table, width: int | None) -> list[RenderableType]:
    """A report table laid out for a terminal ``width`` wide (None: never wrapped)."""
    if not table.show_header or table.box is not box.SIMPLE_HEAD or not table.row_count:
        return [table]
    hoisted, kept, under = _places(table, width)
    if not hoisted and not under:
        return [table]
    head: list[RenderableType] = []
    if table.title is not None:
        head.append(_text(table.title) if isinstance(table.title, str) else table.title)
    if hoisted:
        head.append(_hoisted(hoisted))
    if under:
        return [*head, *_rows_with_text_under(table, kept, under, width or UNWRAPPED)]
    if not kept:
        return head
    table.columns = kept
    for index, column in enumerate(kept):
        column._index = index  # rich pads a column by its place
    table.title = None
    return [*head, table]


def _places(table: _Table, width: int | None) -> tuple[list[Column], list[Column], list[Column]]:
    """The columns that go above the table, stay in it, and go under each row.

    A column equal on every row goes above (with one row, only when the table
    is too wide). When the table is too wide, its free text goes under each row,
    full width; when it is still too wide for its tokens whole, its short
    headers are used, then its last columns go under their row as ``Header: value``.
    """

    limits = {id(column): _limits(column) for column in table.columns} if width else {}

    def too_wide(chosen: Sequence[Column], pick: int) -> bool:
        return width is not None and _span(chosen, [limits[id(c)][pick] for c in chosen]) > width

    columns = list(table.columns)
    hoisted: list[Column] = []
    narrow = too_wide(columns, 1)
    if table.row_count > 1 or narrow:
        # An empty column goes too, but only where it costs room.
        hoisted = [column for column in columns if _equal(column, empty=narrow)]
    kept = [column for column in columns if all(column is not h for h in hoisted)]
    under: list[Column] = []
    if kept and too_wide(kept, 1):
        under = [column for column in kept if any(column is f for f in table.free)]
        kept = [column for column in kept if all(column is not u for u in under)]
        if too_wide(kept, 0):
            for column, short in table.short:
                column.header = short
                limits[id(column)] = _limits(column)
        while len(kept) > 1 and too_wide(kept, 0):
            under.insert(0, kept.pop())  # in column order, before the free text
    return hoisted, kept, under


def _hoisted(columns: list[Column]) -> Table:
    """Columns equal on every row as ``Header  value`` lines; empty ones left out."""
    facts = _Table.grid(padding=(0, 2))
    facts.add_column(style="bold", justify="right")
    facts.add_column(overflow="fold")
    for column in columns:
        cell = next(iter(column.cells))
        if (_plain(cell) or "").strip():
            facts.add_row(_plain(column.header) or "", _styled(column, cell))
    return facts


def _styled(column: Column, cell: RenderableType) -> Text:
    """A cell as Text in its column's style."""
    line = _Escaped(style=column.style if isinstance(column.style, str) else "")
    return line.append_text(_text(cell if isinstance(cell, str | Text) else str(cell)))


def _rows_with_text_under(
    table: _Table, kept: list[Column], under: list[Column], width: int
) -> list[RenderableType]:
    """The table's rows one at a time, each followed by its ``under`` cells."""
    limits = [_limits(column) for column in kept]
    room = width - _GAP * (len(kept) - 1)
    widths = [natural for _, natural in limits]
    if sum(widths) > room:
        probe = _copy(table, kept, widths, header=True)
        for column, source in zip(probe.columns, kept, strict=True):
            column._cells = list(source.cells)
        from rich.console import Console  # only a table too wide for the terminal needs it

        _fit(probe, Console(width=width), width)
        widths = [
            column.width or natural
            for column, (_, natural) in zip(probe.columns, limits, strict=True)
        ]
    # With every column above or under (one check on every row), only the text is left.
    out: list[RenderableType] = [_copy(table, kept, widths, header=True)] if kept else []
    cells = [list(column.cells) for column in kept]
    below = [list(column.cells) for column in under]
    for index in range(table.row_count):
        if kept:
            row = _copy(table, kept, widths, header=False)
            row.add_row(*(column[index] for column in cells))
            out.append(row)
        for column, values in zip(under, below, strict=True):
            value = values[index]
            if not (_plain(value) or "").strip():
                continue
            text = _styled(column, value)
            if all(column is not f for f in table.free):
                label = _Escaped(f"{_plain(column.header)}: ", style="bold")
                text = label.append_text(text)
            out.append(Padding(text, (0, 0, 0, 2), expand=False))
    return out


def _copy(table: _Table, columns: list[Column], widths: list[int], *, header: bool) -> _Table:
    """An empty table with ``columns``' headers and styles, ``widths`` wide."""
    copy = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=header)
    for column, size in zip(columns, widths, strict=True):
        copy.add_column(
            column.header,
            justify=column.justify,
            style=column.style,
            header_style=column.header_style,
            overflow="fold",
            width=size,
        )
    return copy


def _plain_cell(cell: RenderableType) -> str | None:
    text = _plain(cell)
    if text is None:
        return None
    text = text.replace(_BREAK, "")  # zero cells wide: it only lets rich wrap there
    # Printable ASCII is one terminal cell per character, as rich counts it.
    return text if text.isascii() and text.isprintable() else None


def _justify(text: str, width: int, how: str) -> str:
    return text.rjust(width) if how == "right" else text.ljust(width)


def plain_table(table: Table) -> str | None:
    """``table`` as rich prints it without colour or wrapping, laid out directly;
    None for a table this does not cover (rich lays that one out).

    Rich measures and renders every cell as an object, about 50 µs a cell:
    1.3 s for ``plan --leader all`` on 8192 CPUs. This covers the one kind of
    table the reports use (simple head, no edge, one space of padding, a
    left-justified title no wider than the table) with single-line ASCII
    cells; tests hold it equal to rich's output.
    """
    columns = _plain_columns(table) if _simple(table) else None
    if not columns:
        return None
    widths = [max(map(len, cells)) for cells in columns]
    width = sum(widths) + 3 * (len(widths) - 1)
    title = None if table.title is None else _plain_cell(table.title)
    if width > UNWRAPPED or (table.title is not None and (title is None or len(title) > width)):
        return None  # rich wraps a title wider than its table
    justified = [
        [_justify(cell, size, column.justify) for cell in cells]
        for column, cells, size in zip(table.columns, columns, widths, strict=True)
    ]
    rows = ["   ".join(row) for row in zip(*justified, strict=True)]
    head = [] if title is None else [_justify(title, width, table.title_justify)]
    return "\n".join([*head, rows[0], "\u2500" * width, *rows[1:]]) + "\n"


def _simple(table: Table) -> bool:
    """The table's own settings are those :func:`plain_table` lays out."""
    return (
        table.box is box.SIMPLE_HEAD
        and not (table.show_edge or table.pad_edge or table.show_footer)
        and table.show_header
        and table.caption is None
        and table.padding == (0, 1, 0, 1)
        and table.width is None
        and table.min_width is None
        and not (table.leading or table.show_lines)
        and (table.title is None or table.title_justify == "left")
    )


def _plain_columns(table: Table) -> list[list[str]] | None:
    """Each column's header and cells as text; None when one is not plain."""
    return _cells(table, header=True)


def _cells(table: Table, *, header: bool = False) -> list[list[str]] | None:
    """Each column's cells (after its header, with ``header``) as text; None when one
    is not plain or a column is sized or justified other than left or right."""
    columns: list[list[str]] = []
    for column in table.columns:
        sized = column.width or column.min_width or column.max_width or column.ratio
        if sized or column.justify not in ("left", "right"):
            return None
        heads = [column.header] if header else []
        cells = [_plain_cell(cell) for cell in [*heads, *column.cells]]
        if any(cell is None for cell in cells):
            return None
        columns.append([cell or "" for cell in cells])
    return columns


def _kernel_row(kernel: Kernel | None) -> list[tuple[str, str]]:
    text = kernel_text(kernel)
    return [("kernel", text)] if text else []


def _notes(notes: Sequence[str]) -> list[RenderableType]:
    return [_hanging("note:", note, style="yellow") for note in notes]


def _hanging(label: str, text: str, style: str) -> Table:
    """``label text`` whose wrapped lines start under the text, not under the label."""
    grid = _Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(style=style)
    grid.add_column(style=style, overflow="fold")
    grid.add_row(label, text)
    return grid


def _facts(rows: Sequence[tuple[str, str]]) -> Table:
    grid = _Table.grid(padding=(0, 2))
    grid.add_column(style="bold", justify="right")
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def render_plan(result: PlanResult, display: Display = PLAIN) -> str:
    machine = result.machine
    cores = result.programmed_cores
    followers = follower_lists(result)
    rows = grouped(result.plans)
    merged = grouping(rows, len(result.plans))
    title = Text(
        f"RMPOPT plan for {machine.name}" + (f" ({merged})" if merged else ""), style="bold"
    )
    facts = _facts(
        [
            ("machine", machine_summary(machine)),
            *_kernel_row(result.kernel),
            ("rule", rule_text(result.rule, result.strategy)),
            ("strategy", str(result.strategy)),
            ("rmpopt_cpumask", f"{cpulist(result.mask)} ({len(result.mask)} CPUs, {cores} cores)"),
            ("hex", mask_hex(machine, result.mask)),
        ]
    )
    table = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Leader", overflow="fold")
    table.add_column("Leader core", overflow="fold")
    table.add_column("Followers", overflow="fold")
    table.add_column("Count", justify="right")
    table.add_column("Cores covered", justify="right")
    notes = any(lead_note(item) for _, item in rows)
    if notes:
        table.add_free_column("Note")
    for leaders, item in rows:
        full = item.cores_covered == cores and item.leader_core_programmed
        cells: list[RenderableType] = [
            cpulist(leaders),
            cpulist(item.worker_core),
            followers(item) or "(none)",
            str(item.follower_count),
            Text(f"{item.cores_covered}/{cores}", style="green" if full else "red"),
        ]
        table.add_row(*cells, *([lead_note(item)] if notes else []))
    return _to_text([title, facts, *_notes(result.notes), Text(""), table], display)


def render_verify(
    results: Sequence[Checked], display: Display = PLAIN, *, config: Path | None = None
) -> str:
    summary = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    summary.add_column("Path", overflow="fold")
    summary.add_column("Topology", overflow="fold")
    summary.add_column("CPUs", justify="right")
    summary.add_column("Cores", justify="right")
    summary.add_column("Rule")
    summary.add_column("Strategy")
    summary.add_column("Verdict")
    parts: list[RenderableType] = [_text(Text(config_line(config), style="dim"))]
    shared = _shared_notes(results)
    parts += [_text(Text(f"note on every machine: {note}", style="dim")) for note in shared]
    parts.append(summary)
    for checked in results:
        machine, verdict, held = checked.facts, checked.verdict, checked.outcome
        if machine is None or verdict is None or held is None:
            summary.add_row(
                checked.path, "", "", "", "", "", Text(f"error: {checked.error}", style="red")
            )
            continue
        style = "bold red" if not held.ok else "yellow" if held.expected else "green"
        state = Text(verdict_label(held), style=style)
        summary.add_row(
            checked.path,
            machine.name,
            str(machine.present),
            str(machine.cores),
            rule_text(verdict.rule, verdict.strategy),
            str(verdict.strategy),
            state,
        )
        notes = [note for note in verdict.notes if note not in shared]
        if verdict.findings or notes or held.stale:
            detail = _Table(
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
                title_justify="left",
                title=_text(Text(f"{checked.path}: {machine.name}", style="bold")),
            )
            detail.add_column("Check", style="bold")
            detail.add_cpu_column()
            detail.add_free_column("What is wrong")
            for item, expected in held.findings:
                check = item.check + (" (expected)" if expected else "")
                detail.add_row(check, cpulist(item.cpus), item.message)
            for stale in held.stale:
                detail.add_row(f"{stale} (stale)", "", STALE)
            for note in notes:
                detail.add_row(Text("note", style="dim"), "", Text(note, style="dim"))
            parts += [Text(""), detail]
    if len(results) > 1:
        parts += [Text(""), *_summary(summary_of(results))]
    return _to_text(parts, display)


def _shared_notes(results: Sequence[Checked]) -> tuple[str, ...]:
    """The notes of every machine checked, when there are several: said once above the
    table, as a column equal on every row is, not in a detail table a machine (a fleet of
    10,000 hosts without APIC ids would repeat one note 10,000 times)."""
    checked = [c.verdict for c in results if c.verdict is not None]
    if len(checked) < 2:
        return ()
    first, *others = {id(verdict): verdict for verdict in checked}.values()  # shared by shape
    return tuple(note for note in first.notes if all(note in v.notes for v in others))


def _summary(summary: Summary) -> list[RenderableType]:
    return [
        Text(f"Summary: {summary_head(summary)}", style="bold"),
        # Padded, not indented with spaces: a wrapped line keeps the indent.
        *(
            Padding(Text(group_line(group), style="red"), (0, 0, 0, 2), expand=False)
            for group in summary.groups
        ),
    ]


def render_summary(summary: Summary, display: Display = PLAIN) -> str:
    return _to_text(_summary(summary), display)


def render_show(overview: Overview, display: Display = PLAIN) -> str:
    from rich.tree import Tree

    machine = overview.machine
    tree = Tree(_text(Text(f"{machine.name}: {machine_summary(machine)}", style="bold")))
    for package in machine.packages():
        package_tree = tree.add(f"package {package}")
        for die in machine.dies(package):
            die_tree = package_tree.add(f"die {die}")
            for core in machine.die_cores(package, die):
                die_tree.add(_core_label(machine, core))
    grid = _facts(
        [
            ("possible", cpulist(machine.possible)),
            ("offline", cpulist(machine.present - machine.online) or "(none)"),
            *([("source", machine.source)] if machine.source else []),
            *((label, value) for _, label, value in show_facts(overview)),
        ]
    )
    return _to_text([tree, grid], display)


def _core_label(machine: Machine, core: Core) -> Text:
    """``core N: 0 1(offline)``, offline threads in red."""
    label = Text(f"core {core.key[2]}: ")
    for index, cpu in enumerate(core.threads):
        if index:
            label.append(" ")
        if cpu in machine.online:
            label.append(str(cpu))
        else:
            label.append(f"{cpu}(offline)", style="red")
    return label


def render_compare(result: Comparison, display: Display = PLAIN) -> str:
    title = Text(f"Strategies and rules on {result.machine.name}", style="bold")
    table = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Strategy")
    table.add_column("Rule")
    table.add_column("Verdict")
    table.add_column("Check", overflow="fold")
    table.add_cpu_column()
    table.add_free_column("Notes", style="dim")
    for verdict in result.verdicts:
        notes = "; ".join(verdict.notes)
        rule = rule_text(verdict.rule, verdict.strategy)
        if verdict.ok:
            table.add_row(str(verdict.strategy), rule, Text("ok", style="green"), "", "", notes)
            continue
        for index, item in enumerate(verdict.findings):
            first = index == 0
            table.add_row(
                str(verdict.strategy) if first else "",
                rule if first else "",
                Text("FAIL", style="bold red") if first else "",
                item.check,
                cpulist(item.cpus),
                notes if first else "",
            )
    parts: list[RenderableType] = [title, *(_facts(_kernel_row(result.kernel)),), table]
    parts += _notes(result.skipped)
    return _to_text(parts, display)


def render_schedule(report: ScheduleReport, display: Display = PLAIN) -> str:
    title = Text(f"One RMPOPT pass on {report.machine.name} from CPU {report.worker}", style="bold")
    table = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, justify in [
        ("Strategy", "left"),
        ("Rule", "left"),
        ("Leaders", "left"),
        ("Followers", "right"),
        ("RMPOPTs", "right"),
        ("IPIs", "right"),
        ("Per core", "right"),
        ("In window", "left"),
        ("Estimate ms", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]  # str, not the Literal
    for item in report.strategies:
        even = item.per_core_min == item.per_core_max == report.window.regions
        table.add_row(
            str(item.strategy),
            rule_text(item.rule, item.strategy),
            cpulist(item.leaders) or "-",
            str(item.follower_count),
            str(item.rmpopt_executions),
            str(item.ipis),
            Text(f"{item.per_core_min}-{item.per_core_max}", style="green" if even else "red"),
            "yes" if item.in_window else Text("NO", style="red"),
            f"{item.cost.total_ms:.1f}",
        )
    lines = [Text(line) for line in window_lines(report.window)]
    kernel = [Text(f"kernel: {text}")] if (text := kernel_text(report.kernel)) else []
    found = [Text(f"{item.check}: {item.message}", style="bold red") for item in report.findings]
    parts = [title, *lines, *kernel, *_notes(report.notes), *found, Text(""), table]
    return _to_text(parts, display)


def render_explain(explanation: Explanation, display: Display = PLAIN) -> str:
    e = explanation
    title = Text(f"How the handler runs on CPU {e.worker} of {e.machine.name}", style="bold")
    facts = _facts(
        [
            *_kernel_row(e.kernel),
            ("rule", rule_text(e.rule, e.strategy)),
            ("strategy", str(e.strategy)),
            ("branch", str(e.case)),
        ]
    )
    steps = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    steps.add_column("#", justify="right")
    steps.add_column("Kernel operation", overflow="fold")
    steps.add_column("Result", overflow="fold")
    steps.add_free_column("Note", style="dim")
    for number, step in enumerate(e.steps, 1):
        steps.add_row(str(number), step.code, step.result or "(empty)", step.note)
    verdict = (
        Text("ok", style="green")
        if e.ok
        else Text(f"{len(e.findings)} finding(s)", style="bold red")
    )
    summary = _facts(
        [
            ("leader", "none" if e.leader is None else f"CPU {e.leader}"),
            ("followers", cpulist(e.followers) or "(none)"),
            ("cores run twice", cpulist(e.cores_twice) or "(none)"),
            ("cores missed", cpulist(e.cores_missed) or "(none)"),
        ]
    )
    summary.add_row("verdict", verdict)
    parts: list[RenderableType] = [title, facts, Text(""), steps, summary]
    if e.findings:
        found = _Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        found.add_column("Check", style="bold")
        found.add_column("CPUs", overflow="fold")
        found.add_free_column("What happens")
        for item in e.findings:
            found.add_row(item.check, cpulist(item.cpus), item.message)
        parts += [Text(""), found]
    return _to_text([*parts, *_notes(e.notes)], display)
