"""A well-formed topology document is taken without pydantic: exactly when the schema
takes it as it is, and as the schema would read it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rmpplan.errors import InputError
from rmpplan.terms import NR_CPUS_MAX
from rmpplan.topology.document import well_formed
from rmpplan.topology.dump import to_document
from rmpplan.topology.load import parse_topology
from rmpplan.topology.machine import Machine
from rmpplan.topology.parse import load_yaml
from rmpplan.topology.schema import TopologyFile
from tests.conftest import EXAMPLES, TOPOLOGIES, examples
from tests.machines import machines

FILES = sorted(TOPOLOGIES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))

# Values at and around every bound and type the schema draws a line at.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-1, 0, 1, 2, 64, NR_CPUS_MAX - 1, NR_CPUS_MAX, NR_CPUS_MAX + 1]),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(["smt-last", "smt-adjacent", "0-3", "", "1", "x"]),
)


CPULIST = st.one_of(st.none(), st.sampled_from(["0", "0-1", ""]), st.integers(-1, 3))
VALID_LAYOUT = st.fixed_dictionaries(
    {"packages": st.integers(1, 4), "cores_per_die": st.integers(1, 4)},
    optional={
        "dies_per_package": st.integers(1, 3),
        "threads_per_core": st.integers(1, 4),
        "numbering": st.sampled_from(["smt-last", "smt-adjacent"]),
    },
)
VALID_ENTRY = st.fixed_dictionaries(
    {"id": st.integers(0, NR_CPUS_MAX - 1), "core": st.integers(0, 8)},
    optional={
        "package": st.integers(0, 3),
        "die": st.integers(0, 3),
        "online": st.booleans(),
        "apic_id": st.one_of(st.none(), st.integers(0, 99)),
    },
)
TOP = {
    "name": st.one_of(st.none(), st.text(max_size=3)),
    "source": st.one_of(st.none(), st.text(max_size=3)),
    "possible": CPULIST,
    "offline_after_setup": CPULIST,
    "online_after_setup": CPULIST,
}
VALID = st.one_of(
    st.fixed_dictionaries({"layout": VALID_LAYOUT}, optional={**TOP, "offline": CPULIST}),
    st.fixed_dictionaries({"cpus": st.lists(VALID_ENTRY, max_size=3)}, optional=TOP),
)


@st.composite
def documents(draw: st.DrawFn) -> object:
    """A valid document, then as often as not one value of it (at any depth) replaced
    by another scalar or a list, or a key added or removed."""
    data: Any = draw(VALID)
    if draw(st.booleans()):
        return data
    spots: list[Any] = [data]
    if isinstance(data.get("layout"), dict):
        spots.append(data["layout"])
    spots += data.get("cpus") or []
    spot = draw(st.sampled_from(spots))
    key = draw(st.sampled_from([*spot, "other", "cpus", "layout", "offline", "core", "packages"]))
    if draw(st.booleans()) and key in spot:
        del spot[key]
    else:
        spot[key] = draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)))
    return data


def schema_reading(data: object) -> dict[str, Any] | None:
    """What the schema reads ``data`` as, or None when it refuses it."""
    try:
        return TopologyFile.model_validate(data).model_dump()
    except ValidationError:
        return None


def taken(data: object) -> dict[str, Any] | None:
    document = well_formed(data)
    return None if document is None else dataclasses.asdict(document)


@settings(max_examples=examples(400), deadline=None)
@given(data=st.one_of(documents(), SCALARS))
def test_taken_only_as_the_schema_reads_it(data: object) -> None:
    """Never taken when the schema refuses it; when taken, read as the schema reads it."""
    document = taken(data)
    if document is not None:
        assert document == schema_reading(data)


@settings(max_examples=examples(100), deadline=None)
@given(machine=machines(), compact=st.booleans())
def test_a_written_machine_is_taken(machine: Machine, compact: bool) -> None:
    """A document rmpplan writes (either form) is taken, as the schema reads it."""
    data = to_document(machine, compact=compact)
    assert taken(data) is not None
    assert taken(data) == schema_reading(data)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_bundled_files_are_taken(path: Path) -> None:
    """Every bundled topology and example is taken as the schema reads it."""
    data = load_yaml(path.read_text(encoding="utf-8"))
    assert taken(data) is not None
    assert taken(data) == schema_reading(data)


@pytest.mark.parametrize(
    "text",
    [
        "layout: {packages: 1, cores_per_die: 2, threads_per_core: true}\n",
        "layout: {packages: 1, cores_per_die: 2}\ncpus: []\n",
        "cpus:\n  - {id: 0, core: 0, online: 1}\n",
        "cpus:\n  - {id: 8192, core: 0}\n",
        "layout: {packages: 2, cores_per_die: 4097, threads_per_core: 1}\n",
        "name: 7\nlayout: {packages: 1, cores_per_die: 2}\n",
    ],
)
def test_a_file_not_taken_still_gets_the_schema_error(text: str) -> None:
    """What is not well formed is refused with the schema's message, as before."""
    assert well_formed(load_yaml(text)) is None
    with pytest.raises(InputError, match=r"\S"):
        parse_topology(text, ".yaml", "t")


def test_the_fast_reader_knows_exactly_the_schemas_keys() -> None:
    """The pydantic-free reader takes only keys the schema takes, and all of them: a key
    it knew alone would be accepted unchecked, one it lacked would cost the slow path."""
    from rmpplan.topology import document
    from rmpplan.topology.schema import CpuEntry, Layout, TopologyFile

    assert set(TopologyFile.model_fields) == document._TOP
    assert set(Layout.model_fields) == document._LAYOUT
    assert set(CpuEntry.model_fields) == document._ENTRY
