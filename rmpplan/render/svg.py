"""``--svg FILE`` and ``--format svg``: the machine as lstopo draws it, with the RMPOPT roles.

Packages hold dies, dies hold cores, cores hold their threads (CPUs), as
nested boxes. Each CPU is filled by its role and carries a glyph letter
besides its number, so that the picture reads in greyscale and without
telling colours apart; each core carries its verdict as text, and a core with
a finding a thick dark red border. Every colour holds its text at WCAG AA
(4.5:1 or more; a test computes the ratios). Hovering shows a ``<title>`` per
CPU and per core. Machines above :data:`rmpplan.picture.FOLD_ABOVE` CPUs fold
runs of identical cores into one "xN" box, never a core with a finding.

Written with the standard library's ElementTree: it escapes every text and
attribute, and the picture needs nothing it lacks. Names are first made
printable (:func:`rmpplan.escaping.printable`), since XML 1.0 cannot hold
control characters even escaped. The same picture gives the same bytes:
integer coordinates, a fixed attribute order, nothing from the clock.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.cpumask import format_cpulist
from rmpplan.escaping import printable
from rmpplan.picture import (
    FINDINGS,
    FOLD_ABOVE,
    MARK_TEXT,
    ROLE_TEXT,
    Fold,
    Mark,
    Picture,
    Role,
    die_items,
)

if TYPE_CHECKING:
    from rmpplan.topology.machine import Machine

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"

INK = "#000000"
PAPER = "#FFFFFF"
PROBLEM = "#A00000"
"""The border and the verdict text of a core with a finding."""
PROBLEM_FILL = "#FFE0E0"
"""The box of a core with a finding."""
QUIET = "#555555"
"""The verdict of a core without a finding: there to read, not to catch the eye."""


@dataclass(frozen=True, slots=True)
class Look:
    """How one role is drawn: its fill, its text colour and its glyph."""

    fill: str
    text: str
    glyph: str


LOOKS: Mapping[Role, Look] = {
    # Okabe and Ito's colour-blind-safe palette, with greys for the CPUs that do nothing.
    Role.WORKER: Look("#D55E00", INK, "W"),
    Role.LEADER: Look("#CC79A7", INK, "L"),
    Role.FOLLOWER: Look("#56B4E9", INK, "F"),
    Role.MASK: Look("#F0E442", INK, "M"),
    Role.NOT_SENT: Look(PAPER, INK, "N"),
    Role.OFFLINE: Look("#555555", PAPER, "X"),
    Role.PRESENT_ONLY: Look("#BDBDBD", INK, "P"),
}
"""Each role's look; a test holds every text colour at 4.5:1 or more on its fill."""

PACKAGE_FILL = "#DCDCDC"
DIE_FILL = "#EBEBEB"
CORE_FILL = "#F7F7F7"
FOLD_FILL = "#FFFFFF"

# Sizes in pixels; DejaVu Sans Mono is 0.6 em wide.
CPU_FONT = 10
SMALL_FONT = 9
LABEL_FONT = 11
CAPTION_FONT = 13
CHAR = 6  # width of a character at CPU_FONT
CPU_H = 16
GAP = 2
PAD = 4
CORE_HEAD = 11
BOX_HEAD = 15
MAX_WIDTH = 1880
"""The drawing's widest row: one 1920-pixel screen."""


def mark_text(mark: Mark, runs: int) -> str:
    """The verdict written on a core: how often it runs, ``!`` when it is a finding."""
    if mark is Mark.UNPROGRAMMED:
        return "#UD!"
    if mark is Mark.IDLE:
        return "-"
    return f"{runs}x" + ("!" if mark in FINDINGS else "")


_EXAMPLE_RUNS = {Mark.ONCE: 1, Mark.TWICE: 2, Mark.MISSED: 0, Mark.UNPROGRAMMED: 1, Mark.IDLE: 0}
"""The run count the legend shows with each mark."""


def _columns(n: int, cw: int, ch: int, limit: int) -> int:
    """How many cores a die's rows hold: about four times wider than high, a
    count that leaves the last row as full as can be, never past ``limit``."""
    if n <= 8:
        return max(1, min(n, limit))
    guess = math.ceil(math.sqrt(n * 4 * ch / cw))
    near = range(max(1, guess - 3), guess + 4)
    best = min(near, key=lambda cols: (-(n % cols or cols) / cols, abs(cols - guess)))
    return max(1, min(best, limit))


def _text(value: str) -> str:
    return printable(value)


@dataclass(frozen=True, slots=True)
class _Sizes:
    cpu_w: int
    core_w: int
    core_h: int


def _sizes(machine: Machine) -> _Sizes:
    digits = len(str(max(machine.present)))
    cpu_w = 6 + CHAR * (digits + 2)  # glyph, space, number
    threads = machine.max_threads_per_core()
    core_w = threads * cpu_w + (threads - 1) * GAP + 2 * GAP
    return _Sizes(cpu_w, core_w, CORE_HEAD + CPU_H + GAP)


def _flow(sizes: Sequence[tuple[int, int]], width: int) -> tuple[list[tuple[int, int]], int, int]:
    """Place boxes left to right, wrapping at ``width``: their offsets and the total size."""
    places = []
    x = y = row_h = used = 0
    for w, h in sizes:
        if x and x + w > width:
            x, y, row_h = 0, y + row_h + PAD, 0
        places.append((x, y))
        x += w + PAD
        row_h = max(row_h, h)
        used = max(used, x - PAD)
    return places, used, y + row_h


def _el(parent: ET.Element, tag: str, **attrs: object) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {key.replace("_", "-"): str(v) for key, v in attrs.items()}
    )
    element.tail = "\n"
    return element


def _title(parent: ET.Element, text: str) -> None:
    title = ET.SubElement(parent, "title")
    title.text = _text(text)


def _label(
    parent: ET.Element, x: int, y: int, text: str, *, size: int = LABEL_FONT, **attrs: object
) -> ET.Element:
    element = _el(parent, "text", x=x, y=y, font_size=size, **attrs)
    element.tail = None
    element.text = _text(text)
    return element


class _Drawing:
    def __init__(self, picture: Picture) -> None:
        self.picture = picture
        self.machine = picture.machine
        self.sizes = _sizes(picture.machine)
        self.fold = len(picture.machine.present) > FOLD_ABOVE

    def cpu(self, parent: ET.Element, x: int, y: int, cpu: int) -> None:
        role = self.picture.roles[cpu]
        look = LOOKS[role]
        group = _el(parent, "g", data_cpu=cpu, data_role=role)
        _title(group, self.picture.cpu_title(cpu))
        w = self.sizes.cpu_w
        _el(group, "rect", x=x, y=y, width=w, height=CPU_H, fill=look.fill, stroke=INK)
        base = y + CPU_H - 4
        _label(group, x + 3, base, look.glyph, size=CPU_FONT, fill=look.text, font_weight="bold")
        _label(group, x + w - 3, base, str(cpu), size=CPU_FONT, fill=look.text, text_anchor="end")

    def core(self, parent: ET.Element, x: int, y: int, index: int) -> None:
        picture = self.picture
        core = self.machine.cores[index]
        mark = picture.marks[index]
        package, die, number = core.key
        group = _el(
            parent,
            "g",
            data_core=f"{package}.{die}.{number}",
            data_mark=mark,
            data_runs=picture.runs[index],
        )
        _title(group, picture.core_title(index))
        self._core_box(group, x, y, mark, picture.runs[index])
        for slot, cpu in enumerate(core.threads):
            self.cpu(group, x + GAP + slot * (self.sizes.cpu_w + GAP), y + CORE_HEAD, cpu)

    def _core_box(
        self, group: ET.Element, x: int, y: int, mark: Mark, runs: int, *, fold: int = 0
    ) -> None:
        """A core's box and its verdict; a fold's says how many cores it holds."""
        finding = mark in FINDINGS
        rect = _el(
            group,
            "rect",
            x=x,
            y=y,
            width=self.sizes.core_w,
            height=self.sizes.core_h,
            fill=PROBLEM_FILL if finding else FOLD_FILL if fold else CORE_FILL,
            stroke=PROBLEM if finding else INK,
            stroke_width=3 if finding else 1,
        )
        if fold:
            rect.set("stroke-dasharray", "4 2")
        weight = {"font_weight": "bold"} if finding else {}
        _label(
            group,
            x + self.sizes.core_w - GAP,
            y + CORE_HEAD - 2,
            mark_text(mark, runs),
            size=SMALL_FONT,
            fill=PROBLEM if finding else QUIET,
            text_anchor="end",
            **weight,
        )
        if fold:
            _label(
                group,
                x + GAP,
                y + CORE_HEAD - 2,
                f"{fold} cores",
                size=SMALL_FONT,
                fill=INK,
                font_weight="bold",
            )

    def folded(self, parent: ET.Element, x: int, y: int, fold: Fold) -> None:
        picture = self.picture
        cores = [self.machine.cores[index] for index in fold.cores]
        first = fold.cores[0]
        mark, runs = picture.marks[first], picture.runs[first]
        roles = [picture.roles[cpu] for cpu in cores[0].threads]
        cpus = [cpu for core in cores for cpu in core.threads]
        group = _el(
            parent,
            "g",
            data_fold=len(cores),
            data_cpus=format_cpulist(cpus),
            data_roles=" ".join(roles),
            data_mark=mark,
            data_runs=runs,
        )
        numbers = [core.key[2] for core in cores]
        _title(
            group,
            f"{len(cores)} identical cores (core {numbers[0]} to {numbers[-1]}), "
            f"CPUs {format_cpulist(cpus)}: each {MARK_TEXT[mark]}; threads: "
            + ", ".join(ROLE_TEXT[role] for role in roles),
        )
        self._core_box(group, x, y, mark, runs, fold=len(cores))
        for slot, role in enumerate(roles):
            look = LOOKS[role]
            left = x + GAP + slot * (self.sizes.cpu_w + GAP)
            top = y + CORE_HEAD
            w = self.sizes.cpu_w
            _el(group, "rect", x=left, y=top, width=w, height=CPU_H, fill=look.fill, stroke=INK)
            _label(
                group,
                left + w // 2,
                top + CPU_H - 4,
                look.glyph + "..",
                size=CPU_FONT,
                fill=look.text,
                text_anchor="middle",
                font_weight="bold",
            )

    def die(
        self, package: int, die: int, width: int
    ) -> tuple[int, int, list[tuple[int, int, int | Fold]]]:
        """A die's size and its items' offsets inside it."""
        cores = self.machine.die_cores(package, die)
        items = die_items(self.picture, cores, fold=self.fold)
        cw, ch = self.sizes.core_w, self.sizes.core_h
        n = len(items)
        cols = _columns(n, cw, ch, (width - 2 * PAD + GAP) // (cw + GAP))
        rows = math.ceil(n / cols)
        placed = [
            (PAD + (i % cols) * (cw + GAP), BOX_HEAD + (i // cols) * (ch + GAP), item)
            for i, item in enumerate(items)
        ]
        return (
            2 * PAD + cols * (cw + GAP) - GAP,
            BOX_HEAD + rows * (ch + GAP) - GAP + PAD,
            placed,
        )

    def package(self, parent: ET.Element, package: int, width: int) -> tuple[int, int]:
        dies = self.machine.dies(package)
        laid = [self.die(package, die, width - 2 * PAD) for die in dies]
        places, used, height = _flow([(w, h) for w, h, _ in laid], width - 2 * PAD)
        total_w, total_h = used + 2 * PAD, BOX_HEAD + height + PAD
        group = _el(parent, "g", data_package=package)
        cpus = self.machine.package_cpus(package)
        _title(group, f"package {package}: {len(cpus)} CPUs")
        _el(group, "rect", x=0, y=0, width=total_w, height=total_h, fill=PACKAGE_FILL, stroke=INK)
        _label(
            group, PAD, BOX_HEAD - 4, f"package {package} ({len(cpus)} CPUs)", font_weight="bold"
        )
        for (dx, dy), (w, h, items), die in zip(places, laid, dies, strict=True):
            x, y = PAD + dx, BOX_HEAD + dy
            inner = _el(group, "g", data_die=f"{package}.{die}")
            count = len(self.machine.die_cores(package, die))
            _title(inner, f"package {package} die {die}: {count} cores")
            _el(inner, "rect", x=x, y=y, width=w, height=h, fill=DIE_FILL, stroke=INK)
            _label(inner, x + PAD, y + BOX_HEAD - 4, f"die {die} ({count} cores)")
            for ix, iy, item in items:
                if isinstance(item, Fold):
                    self.folded(inner, x + ix, y + iy, item)
                else:
                    self.core(inner, x + ix, y + iy, item)
        return total_w, total_h

    def legend(self, parent: ET.Element, width: int) -> tuple[int, int]:
        group = _el(parent, "g", data_legend="roles and verdicts")
        entries: list[tuple[str, str, str, str, bool]] = [
            (LOOKS[role].glyph, LOOKS[role].fill, LOOKS[role].text, ROLE_TEXT[role], False)
            for role in Role
        ]
        entries += [
            (mark_text(mark, _EXAMPLE_RUNS[mark]), PROBLEM_FILL, PROBLEM, text, True)
            if mark in FINDINGS
            else (mark_text(mark, 1), CORE_FILL, QUIET, text, False)
            for mark, text in MARK_TEXT.items()
        ]
        swatch = 4 * CHAR + 6
        sizes = [(swatch + 6 + 7 * len(text), CPU_H) for *_, text, _ in entries]
        places, used, height = _flow(sizes, width)
        for (x, y), (glyph, fill, ink, text, finding) in zip(places, entries, strict=True):
            item = _el(group, "g")
            _el(
                item,
                "rect",
                x=x,
                y=y,
                width=swatch,
                height=CPU_H,
                fill=fill,
                stroke=PROBLEM if finding else INK,
                stroke_width=3 if finding else 1,
            )
            _label(
                item,
                x + swatch // 2,
                y + CPU_H - 4,
                glyph,
                size=CPU_FONT,
                fill=ink,
                text_anchor="middle",
                font_weight="bold",
            )
            _label(item, x + swatch + 6, y + CPU_H - 4, text, fill=INK)
        return used, height


def render_picture(picture: Picture) -> str:
    """The SVG document of ``picture``."""
    drawing = _Drawing(picture)
    machine = picture.machine
    root = ET.Element("svg", {"xmlns": SVG_NS})
    root.text = "\n"
    _title(root, " / ".join(picture.caption))
    body = ET.Element("g", {"font-family": FONT})
    body.text = body.tail = "\n"
    y = PAD
    for line in picture.caption:
        y += CAPTION_FONT + 4
        _label(body, PAD, y, line, size=CAPTION_FONT, fill=INK).tail = "\n"
    y += PAD
    packages = ET.Element("g")
    packages.text = "\n"
    laid = []
    for package in machine.packages():
        holder = ET.Element("g")
        holder.text = "\n"
        laid.append((holder, *drawing.package(holder, package, MAX_WIDTH)))
    places, used, height = _flow([(w, h) for _, w, h in laid], MAX_WIDTH)
    for (dx, dy), (holder, _, _) in zip(places, laid, strict=True):
        holder.set("transform", f"translate({PAD + dx},{y + dy})")
        holder.tail = "\n"
        packages.append(holder)
    body.append(packages)
    packages.tail = "\n"
    y += height + 2 * PAD
    legend = ET.Element("g", {"transform": f"translate({PAD},{y})"})
    legend.text = legend.tail = "\n"
    lw, lh = drawing.legend(legend, max(used, 900))
    body.append(legend)
    caption_w = max(len(line) for line in picture.caption) * 8  # 0.6 em of CAPTION_FONT
    width = max(used, lw, caption_w) + 2 * PAD
    total_h = y + lh + PAD
    root.attrib.update(
        {
            "width": str(width),
            "height": str(total_h),
            "viewBox": f"0 0 {width} {total_h}",
            "role": "img",
        }
    )
    background = ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": PAPER})
    background.tail = "\n"
    root.append(body)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
