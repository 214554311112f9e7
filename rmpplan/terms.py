"""The vocabulary shared by every layer, as enums.

This module imports nothing but :mod:`enum`, so the command line can build its
option choices from these members without loading the core (``--help`` stays
fast). docs/checks.md opens with the same glossary in prose:

* **worker**: the CPU the handler runs on (the workqueue is unbound, so any
  online CPU). The CLI calls it ``--leader``, as users do.
* **leader**: the CPU that runs the serial loop over every region: the worker,
  except in v8's case 3 (the mask's first CPU) and v2 (nobody).
* **followers**: the CPUs then sent one IPI per region.
* **programmed core**: a core one of whose threads wrote RMPOPT_BASE at setup.
"""

from __future__ import annotations

from enum import StrEnum

NR_CPUS_MAX = 8192
"""x86_64 ``NR_CPUS_RANGE_END``: CPU ids are in [0, 8191]."""


class Rule(StrEnum):
    """How ``rmpopt_cpumask`` picks one thread per core."""

    FIRST_SIBLING = "first-sibling"
    """cpumask_first(topology_sibling_cpumask(cpu)): the lowest online thread of each core."""
    APIC_PRIMARY = "apic-primary"
    """topology_is_primary_thread(): online CPUs whose APIC id has the SMT bits clear."""


class Strategy(StrEnum):
    """Which version of the handler runs the pass."""

    V9_ANDNOT = "v9-andnot"
    """followers = mask andnot topology_sibling_cpumask(worker); the worker leads."""
    V8_THREE_WAY = "v8-three-way"
    """clear_cpu, andnot or an explicit leader, depending on the worker (v6-v8)."""
    CLEAR_CPU = "clear-cpu"
    """followers = mask with only the worker cleared; the worker leads (v3-v5)."""
    V2_ALL_CPUS = "v2-all-cpus"
    """No leader: every online CPU runs every region."""


class Case(StrEnum):
    """The branch a strategy took for one worker."""

    ANDNOT = "andnot"
    CLEAR_CPU = "clear-cpu"
    ALL_CPUS = "all-cpus"
    CASE_1 = "case 1"
    """v8: the worker is in the mask; clear_cpu(worker)."""
    CASE_2 = "case 2"
    """v8: a sibling of the worker is in the mask; andnot its sibling mask."""
    CASE_3 = "case 3"
    """v8: no thread of the worker's core is in the mask; the mask's first CPU leads."""


class Check(StrEnum):
    """The invariants ``verify`` proves, in the order findings are reported."""

    ONLINE_EQUALS_PRESENT = "online-equals-present"
    ONE_MASK_CPU_PER_CORE = "one-mask-cpu-per-core"
    MASK_WITHIN_ONLINE = "mask-within-online"
    FOLLOWERS_WITHIN_MASK = "followers-within-mask"
    LEADER_ONLINE = "leader-online"
    UNPROGRAMMED_CORE = "unprogrammed-core"
    FOLLOWERS_EXCLUDE_LEADER_CORE = "followers-exclude-leader-core"
    CORE_MISSED = "core-missed"
    CORE_RUN_TWICE = "core-run-twice"
    LANDED_KERNEL = "landed-kernel"
    DMESG_SNP_INIT = "dmesg-snp-init"
    DMESG_MASKS = "dmesg-masks"
    DMESG_WINDOW = "dmesg-window"
    DMESG_CAP = "dmesg-cap"

    @property
    def summary(self) -> str:
        """The invariant in one sentence, as docs/checks.md states it."""
        return _CHECK_SUMMARIES[self]


_CHECK_SUMMARIES = {
    Check.ONLINE_EQUALS_PRESENT: "SNP init (snp_prepare) requires every present CPU to be online",
    Check.ONE_MASK_CPU_PER_CORE: "rmpopt_cpumask has exactly one CPU in each core with an "
    "online thread",
    Check.MASK_WITHIN_ONLINE: "every CPU of rmpopt_cpumask is online when the handler runs",
    Check.FOLLOWERS_WITHIN_MASK: "every IPI target is a CPU that programmed RMPOPT_BASE",
    Check.LEADER_ONLINE: "the CPU case 3 picks to run the leader loop is online when the "
    "handler runs",
    Check.UNPROGRAMMED_CORE: "no CPU runs RMPOPT on a core whose RMPOPT_BASE was never set (#UD)",
    Check.FOLLOWERS_EXCLUDE_LEADER_CORE: "the online followers hold no CPU of the leader's core",
    Check.CORE_MISSED: "the leader's core and the followers' cores are all the programmed cores",
    Check.CORE_RUN_TWICE: "no programmed core runs a region twice in one pass",
    Check.LANDED_KERNEL: "with no kernel, rule or strategy asked for, the kernel as landed (v10) "
    "passes the machine too",
    Check.DMESG_SNP_INIT: "the kernel log's SNP init outcome is the one online == present predicts",
    Check.DMESG_MASKS: "the online and present masks in the log are the topology's",
    Check.DMESG_WINDOW: "each logged RMPOPT pass covers the computed 1 GB window",
    Check.DMESG_CAP: "the log has the 2 TB cap line exactly when the window is capped, "
    "at its address",
}


class Kernel(StrEnum):
    """A version of the RMPOPT series, named by the first version of its behaviour
    (rmpplan.kernel has each one's profile)."""

    V2 = "v2"
    V3 = "v3"
    V4 = "v4"
    V6 = "v6"
    V8 = "v8"
    V9 = "v9"
    V10 = "v10"


class OutputFormat(StrEnum):
    """The ``--format`` values every report command takes."""

    TABLE = "table"
    JSON = "json"
    TEXT = "text"
    MARKDOWN = "markdown"


class SourceFormat(StrEnum):
    """A kind of real-machine input."""

    SYSFS = "sysfs"
    TARBALL = "tarball"
    HWLOC_XML = "hwloc-xml"
    LSCPU_JSON = "lscpu-json"
    LSCPU_CSV = "lscpu-csv"


class InputFormat(StrEnum):
    """The ``--input-format`` values: a topology file or one of the real-machine sources."""

    TOPOLOGY = "topology"
    SYSFS = SourceFormat.SYSFS.value
    TARBALL = SourceFormat.TARBALL.value
    HWLOC_XML = SourceFormat.HWLOC_XML.value
    LSCPU_JSON = SourceFormat.LSCPU_JSON.value
    LSCPU_CSV = SourceFormat.LSCPU_CSV.value

    @property
    def source(self) -> SourceFormat | None:
        """The real-machine reader for this input, or None for a topology file."""
        return None if self is InputFormat.TOPOLOGY else SourceFormat(self.value)


class VerifyFormat(StrEnum):
    """``verify``'s ``--format`` values: every report format, and four for CI."""

    TABLE = OutputFormat.TABLE.value
    JSON = OutputFormat.JSON.value
    TEXT = OutputFormat.TEXT.value
    MARKDOWN = OutputFormat.MARKDOWN.value
    JUNIT = "junit"
    """JUnit XML, for the test reports of GitLab, Jenkins and the like."""
    GITHUB = "github"
    """GitHub Actions workflow commands: a log group per input, an annotation per problem."""
    JSONL = "jsonl"
    """One JSON result per line, each printed as soon as it is known."""
    CONCISE = "concise"
    """``path:line: check: message``, one line per problem, as ruff and mypy print."""


class JunitFamily(StrEnum):
    """``--junit-family``: which attributes a test case has."""

    XUNIT2 = "xunit2"
    """Valid against junit-10.xsd (Jenkins' xunit plugin): no ``file`` or ``line``."""
    XUNIT1 = "xunit1"
    """Each test case also has ``file`` and ``line`` (GitLab links them)."""
