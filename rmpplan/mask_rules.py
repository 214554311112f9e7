"""The mask rules: which online CPUs program RMPOPT_BASE and receive the
followers' IPIs (``rmpopt_cpumask``).

Below both the planner (:mod:`rmpplan.plan`) and the kernel profiles
(:mod:`rmpplan.kernel`), which each build masks by these rules.
"""

from __future__ import annotations

from rmpplan.errors import InputError
from rmpplan.terms import Rule
from rmpplan.topology.machine import Machine


def rmpopt_cpumask(
    machine: Machine, rule: Rule = Rule.FIRST_SIBLING, online: frozenset[int] | None = None
) -> frozenset[int]:
    """The CPUs that program RMPOPT_BASE and receive the followers' IPIs.

    ``online`` is the online set when the mask is built (the machine's own by
    default).
    """
    if online is None:
        online = machine.online
    if rule is Rule.FIRST_SIBLING:
        firsts = (next((t for t in core.threads if t in online), None) for core in machine.cores)
        return frozenset(cpu for cpu in firsts if cpu is not None)
    return apic_primaries(machine) & online


def apic_primaries(machine: Machine) -> frozenset[int]:
    """``cpu_primary_thread_mask``: CPUs with ``apic_id & (max_threads - 1) == 0``.

    The kernel decides this from the APIC id alone, whatever the CPU's number
    or online state; the SMT width is the machine's widest core, a power of two
    on x86, so it is rounded up to one here.
    """
    missing = next((cpu.id for cpu in machine.cpus.values() if cpu.apic_id is None), None)
    if missing is not None:
        raise InputError(f"the apic-primary rule needs apic_id, and CPU {missing} has none")
    smt_mask = (1 << (machine.max_threads_per_core() - 1).bit_length()) - 1
    return frozenset(
        cpu.id
        for cpu in machine.cpus.values()
        if cpu.apic_id is not None and cpu.apic_id & smt_mask == 0
    )
