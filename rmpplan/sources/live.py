"""Facts about a live machine that the topology alone does not carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmpplan.errors import InputError
from rmpplan.sources.assemble import show_cpus
from rmpplan.sources.sysfs import CPU_DIR, cpu_folders, online_cpus, present_cpus
from rmpplan.sources.tree import DirTree

if TYPE_CHECKING:
    from pathlib import Path

_REFUSAL = (
    "SNP init (snp_prepare) refuses a machine whose present CPUs are not all online, "
    "and booting with `nosmt` or `maxcpus=` leaves present CPUs offline"
)


@dataclass(frozen=True, slots=True)
class LiveFacts:
    """``smt/control`` and whether SNP init would accept the CPU set as it is now."""

    smt_control: str | None
    online_equals_present: bool
    explanation: str


def live_facts(root: Path) -> LiveFacts:
    """Read ``smt/control`` and compare online with present under ``root`` (``/`` when live).

    Every error names ``root``.
    """
    tree = DirTree(root)
    try:
        present = present_cpus(tree, cpu_folders(tree))
        online = online_cpus(tree, present, lambda cpu: tree.isdir(f"{CPU_DIR}/cpu{cpu}/topology"))
        control_text = tree.read(f"{CPU_DIR}/smt/control")
    except InputError as err:
        raise err.located(str(root)) from None
    control = control_text.split("\0", 1)[0].strip() if control_text is not None else None
    smt = f"; smt/control is '{control}'" if control else ""
    if online == present:
        explanation = (
            f"online equals present ({show_cpus(present)}){smt}: SNP init would accept this "
            f"machine. {_REFUSAL}."
        )
    else:
        offline = present - online
        explanation = (
            f"present CPUs {show_cpus(offline)} are offline (online {show_cpus(online)}, "
            f"present {show_cpus(present)}){smt}: SNP init would refuse. {_REFUSAL}; online "
            "them (or boot without those options) first."
        )
    return LiveFacts(control, online == present, explanation)
