"""The topology file schema (YAML and JSON share it), as pydantic models.

Strict on purpose: these files are reviewed as proofs, so a quoted number, a
float id or a ``"yes"`` boolean is a mistake to report, not to coerce.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rmpplan.terms import NR_CPUS_MAX

CpuId = Annotated[int, Field(ge=0, lt=NR_CPUS_MAX, description="A CPU number, 0-8191.")]
CpuListText = Annotated[
    str | int,
    Field(
        description="A kernel cpulist such as '0-15,32' (bitmap_parselist grammar); "
        "a single CPU may be written as a bare number."
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CpuEntry(_Strict):
    """One present CPU of the explicit form."""

    id: CpuId
    package: int = Field(0, ge=0, description="Physical package (socket).")
    die: int = Field(0, ge=0, description="Die within the package.")
    core: int = Field(ge=0, description="Core within the die; (package, die, core) is a core.")
    online: bool = Field(True, description="false: present but offline.")
    apic_id: int | None = Field(
        None, ge=0, description="Initial APIC id, used by the apic-primary rule."
    )


class Layout(_Strict):
    """A regular machine: every die has the same cores, every core the same threads."""

    packages: int = Field(ge=1, le=NR_CPUS_MAX)
    dies_per_package: int = Field(1, ge=1, le=NR_CPUS_MAX)
    cores_per_die: int = Field(ge=1, le=NR_CPUS_MAX)
    threads_per_core: int = Field(1, ge=1, le=NR_CPUS_MAX)
    # A Literal, not the enum: strict mode would otherwise demand an enum
    # instance rather than the string a YAML file holds.
    numbering: Literal["smt-last", "smt-adjacent"] = Field(
        "smt-last", description="smt-last (EPYC: sibling of N is N+cores) or smt-adjacent."
    )

    @property
    def ncores(self) -> int:
        return self.packages * self.dies_per_package * self.cores_per_die

    @property
    def ncpus(self) -> int:
        return self.ncores * self.threads_per_core

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.ncpus > NR_CPUS_MAX:
            raise ValueError(
                f"the layout has {self.ncpus} CPUs; at most {NR_CPUS_MAX} fit (NR_CPUS)"
            )
        return self


class TopologyFile(_Strict):
    """A topology file: either ``cpus`` (explicit form) or ``layout`` (compact form)."""

    model_config = ConfigDict(
        title="rmpplan topology",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            # What _one_form checks, said so that editors can check it too.
            "oneOf": [{"required": ["cpus"]}, {"required": ["layout"]}],
        },
    )

    name: str | None = Field(None, description="Defaults to the file's stem.")
    source: str | None = Field(None, description="Where the topology came from (free text).")
    possible: CpuListText | None = Field(
        None, description="The possible CPUs; defaults to the present ones."
    )
    cpus: list[CpuEntry] | None = Field(None, description="Explicit form: the present CPUs.")
    layout: Layout | None = Field(None, description="Compact form: a regular machine.")
    offline: CpuListText | None = Field(
        None, description="Compact form only: present CPUs that are offline."
    )

    offline_after_setup: CpuListText | None = Field(
        None, description="Hotplug scenario: online CPUs taken offline after setup."
    )
    online_after_setup: CpuListText | None = Field(
        None, description="Hotplug scenario: offline CPUs brought online after setup."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.cpus is None) == (self.layout is None):
            raise ValueError("give exactly one of 'cpus' (explicit form) or 'layout' (compact)")
        if self.offline is not None and self.layout is None:
            raise ValueError("'offline' belongs to the layout form; mark CPUs 'online: false'")
        return self
