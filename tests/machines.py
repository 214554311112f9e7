"""Hypothesis strategies and helpers that build machines for property tests."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from rmpplan.topology.machine import Cpu, Machine, build_machine


@st.composite
def machines(
    draw: st.DrawFn, *, max_cpus: int = 96, allow_offline: bool = True, apic: bool = True
) -> Machine:
    """A machine with 1-8 threads per core, several packages and dies, any numbering,
    sparse CPU and core ids, and (optionally) random offline CPUs."""
    packages = draw(st.integers(1, 3))
    dies = draw(st.integers(1, 2))
    cores_per_die = draw(st.integers(1, 6))
    threads = draw(st.integers(1, 8))
    ncores = packages * dies * cores_per_die
    total = ncores * threads
    if total > max_cpus:
        threads = max(1, max_cpus // ncores)
        total = ncores * threads
    numbering = draw(st.sampled_from(["smt-last", "smt-adjacent", "shuffled", "sparse"]))
    ids = list(range(total))
    if numbering == "shuffled":
        random.Random(draw(st.integers(0, 2**32))).shuffle(ids)
    elif numbering == "sparse":
        ids = sorted(draw(st.sets(st.integers(0, 8191), min_size=total, max_size=total)))
    core_stride = draw(st.sampled_from([1, 2, 7]))  # sparse core ids
    thread_bits = (threads - 1).bit_length()
    cpus: list[Cpu] = []
    k = 0
    for package in range(packages):
        for die in range(dies):
            for core in range(cores_per_die):
                for thread in range(threads):
                    smt_last = numbering == "smt-last"
                    index = thread * ncores + k if smt_last else k * threads + thread
                    cpu = ids[index]
                    # CPU 0 of the list stays online: a running machine has one.
                    offline = allow_offline and bool(cpus) and draw(st.booleans())
                    online = not (offline and draw(st.booleans()))
                    apic_id = (k << thread_bits | thread) if apic else None
                    cpus.append(Cpu(cpu, package, die, core * core_stride, online, apic_id))
                k += 1
    return build_machine("generated", cpus)


def rebuilt(machine: Machine, seed: int) -> Machine:
    """The same machine built from its CPUs in a shuffled order."""
    cpus = list(machine.cpus.values())
    random.Random(seed).shuffle(cpus)
    return build_machine(machine.name, cpus, machine.possible, machine.source)
