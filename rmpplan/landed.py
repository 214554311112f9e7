"""The kernel people run, judged beside the default model.

Without ``--kernel``, ``--rule`` or ``--strategy``, ``verify`` models the
planner's specified rule (first-sibling) and the final handler. The kernel as
landed builds its mask from APIC primary threads instead, and on some
machines that leaves a core without a mask CPU: a handler run there raises
#UD. A gate that passed such a machine because the default rule is right
would be a false pass, so the landed kernel is judged too and each of its
failures the default model does not already report becomes a
``landed-kernel`` finding naming the check that fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rmpplan.checks import Finding, Verdict, verify
from rmpplan.kernel import LANDED, PROFILES, kernel_notes
from rmpplan.naming import named
from rmpplan.terms import Check

if TYPE_CHECKING:
    from rmpplan.hotplug import Hotplug
    from rmpplan.kernel import Modelled
    from rmpplan.topology.machine import Machine


def judged(machine: Machine, model: Modelled, hotplug: Hotplug | None = None) -> Verdict:
    """What ``verify`` says of ``machine`` under ``model``: its checks with the kernel's
    notes, and, when the model asked for nothing explicit, the landed kernel's own
    failures (:func:`with_landed`). The command line's fleet and the API both call it,
    so that the two never judge a machine differently."""
    verdict = verify(
        machine,
        model.rule,
        model.strategy,
        hotplug,
        kernel=model.kernel,
        notes=kernel_notes(machine, model),
    )
    return with_landed(machine, verdict, hotplug) if model.judge_landed else verdict


def with_landed(machine: Machine, verdict: Verdict, hotplug: Hotplug | None = None) -> Verdict:
    """``verdict`` with the landed kernel's own failures added as findings.

    An input without APIC ids cannot be judged under the landed rule; its
    verdict is returned as it is (a note already says so, see
    :func:`rmpplan.kernel.landed_mask_note`). A landed finding identical to
    one the default model reports (same check, same CPUs) is not repeated.
    """
    if any(cpu.apic_id is None for cpu in machine.cpus.values()):
        return verdict
    profile = PROFILES[LANDED]
    landed = verify(machine, profile.rule, profile.strategy, hotplug, kernel=LANDED)
    known = {(item.check, item.cpus) for item in verdict.findings}
    added = tuple(
        Finding(
            Check.LANDED_KERNEL,
            f"the kernel as landed ({LANDED}: {profile.rule}, {profile.strategy}) fails "
            f"{item.check} here: {item.message} (see {named('kernel')} {LANDED})",
            item.cpus,
        )
        for item in landed.findings
        if (item.check, item.cpus) not in known
    )
    order = list(Check)
    findings = sorted((*verdict.findings, *added), key=lambda item: order.index(item.check))
    return replace(verdict, findings=tuple(findings), landed_checked=True)
